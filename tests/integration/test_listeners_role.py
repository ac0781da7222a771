"""The octavia_listeners role against the lab, on inventory hosts and on the controller.

A rollout over several load balancers where one is in ERROR, one has its port taken and one
uses a provider without PROMETHEUS listeners (ovn): the others converge, every host reports its
own load balancer's outcome in the recap (changed, ok, failed or skipped), the summary names
each, the exit code is non-zero; --check --diff predicts exactly what the real run does; the
second run changes nothing and writes nothing (counted in the lab API's log), and a run with
nothing to report runs no task per host. A port change that Octavia refuses loses no listener.
Survey strings work for every list variable; each failed preflight condition has its own
message. Credentials come from OS_CLIENT_CONFIG_FILE alone: no cloud name, no OS_CLOUD.
"""
import sys
import uuid

import pymysql
import pytest
import yaml

from helpers.ansible_run import REPO, run_module, run_playbook
from lab.factory import LoadBalancerFactory
from lab.settings import DB_NAME, DB_PASSWORD, DB_USER

sys.path.insert(0, str(REPO / "bench"))
from rollout_relay import SourceRelay, own_requests, relayed_clouds_yaml  # noqa: E402

ROLE = "octavia.monitoring.octavia_listeners : "
FLEET_TASK = "Give the selected load balancers their PROMETHEUS listener"
SUMMARY_TASK = "Summarise the rollout"
REPORT_TASK = "Report the outcome of each load balancer on its host"
WRITES = ("POST", "PUT", "DELETE")


def sql(lab, statement, args):
    """Change what no API can: a failed flow's ERROR, a provider the lab has no driver for."""
    db = pymysql.connect(host="127.0.0.1", port=lab.s.ports["mysql"].value, user=DB_USER,
                         password=DB_PASSWORD, database=DB_NAME)
    try:
        with db.cursor() as cur:
            cur.execute(statement, args)
        db.commit()
    finally:
        db.close()


def force_error(lab, lb_id):
    sql(lab, "UPDATE load_balancer SET provisioning_status = 'ERROR' WHERE id = %s", (lb_id,))


def set_provider(lab, lb_id, provider):
    sql(lab, "UPDATE load_balancer SET provider = %s WHERE id = %s", (provider, lb_id))


@pytest.fixture(scope="module")
def relay(lab, tmp_path_factory):
    with SourceRelay(lab.api_url, "127.7.255") as running:
        running.clouds_yaml = relayed_clouds_yaml(lab.clouds_yaml, lab.cloud, running.url,
                                                  tmp_path_factory.mktemp("relay") / "clouds.yaml")
        running.requests_since = lambda marker: own_requests(lab.api_requests_since(marker), running.source)
        yield running


@pytest.fixture(scope="module")
def fleet(lab):
    """ok-1..3 (tagged role-t1) without listener, `stale` with a PROMETHEUS listener open to all
    under another name, `taken` with a TCP listener on 8088, `broken` in ERROR, `edge` of the
    provider ovn (set in the database; put back before the cleanup, which needs its driver)."""
    conn = lab.connect()
    factory = LoadBalancerFactory(conn, name_prefix=f"fxrole-{uuid.uuid4().hex[:6]}")
    p = factory.prefix
    names = ["ok-1", "ok-2", "ok-3", "stale", "taken", "broken", "edge"]
    lbs = {}
    try:
        for name, vip in zip(names, factory.allocate_vips(len(names))):
            tags = ["role-t1"] if name.startswith("ok-") else []
            lbs[name] = factory.create(name=f"{p}-{name}", vip_address=vip, project_id=f"{p}-proj", tags=tags)
        conn.load_balancer.create_listener(load_balancer_id=lbs["stale"].id, name="metrics",
                                           protocol="PROMETHEUS", protocol_port=8088,
                                           allowed_cidrs=["0.0.0.0/0"])
        conn.load_balancer.create_listener(load_balancer_id=lbs["taken"].id, name="app",
                                           protocol="TCP", protocol_port=8088)
        factory.wait_active([lbs["stale"].id, lbs["taken"].id])
        force_error(lab, lbs["broken"].id)
        set_provider(lab, lbs["edge"].id, "ovn")
        yield dict(prefix=p, lbs=lbs, conn=conn)
    finally:
        try:
            if "edge" in lbs:
                set_provider(lab, lbs["edge"].id, lbs["edge"].provider)
            factory.cleanup()
        finally:
            conn.close()


def write_project(root, prefix, prometheus_hosts=None):
    """An inventory directory (the plugin for this prefix, a prometheus group) and two playbooks."""
    inv = root / "inventory"
    inv.mkdir(parents=True)
    (inv / "fleet.octavia.yml").write_text(yaml.safe_dump({
        "plugin": "octavia.monitoring.loadbalancers", "filters": {"name_pattern": prefix + "-*"}}))
    (inv / "prometheus.yml").write_text(yaml.safe_dump({
        "prometheus": {"hosts": prometheus_hosts or {"prom-1": {"ansible_host": "127.0.0.1"}}}}))
    (root / "hosts.yml").write_text(yaml.safe_dump([{
        "name": "Listeners on inventory hosts", "hosts": "octavia_loadbalancers", "gather_facts": False,
        "roles": ["octavia.monitoring.octavia_listeners"]}]))
    (root / "controller.yml").write_text(yaml.safe_dump([{
        "name": "Listeners chosen on the controller", "hosts": "localhost", "gather_facts": False,
        "connection": "local",
        "vars": {"octavia_listeners_selection": "filters",
                 "octavia_listeners_filters": {"name_pattern": prefix + "-*"}},
        "roles": ["octavia.monitoring.octavia_listeners"]}]))
    return root


@pytest.fixture(scope="module")
def project(fleet, tmp_path_factory):
    return write_project(tmp_path_factory.mktemp("role"), fleet["prefix"])


def play(project, relay, playbook, **kw):
    env = {"OS_CLIENT_CONFIG_FILE": str(relay.clouds_yaml), "OS_CLOUD": ""}
    return run_playbook(project / playbook, inventory=project / "inventory", env=env, **kw)


def task_hosts(run, suffix):
    """{host: result} of the task whose name ends with `suffix`, across plays ({} if it ran on none)."""
    out = {}
    for play_data in run.data.get("plays", []):
        for task in play_data["tasks"]:
            if task["task"]["name"].endswith(suffix):
                out.update(task["hosts"])
    return out


def task_result(run, suffix):
    hosts = task_hosts(run, suffix)
    assert hosts, f"no task {suffix!r} in {run!r}"
    return next(iter(hosts.values()))


def per_lb(run):
    """{short name: (outcome-ish flags, action, diff, msg)} from the fleet task's results."""
    out = {}
    for batch in task_result(run, FLEET_TASK)["results"]:
        for item in batch["results"]:
            name = item["load_balancer"]["name"].split("-", 2)[-1] if item["load_balancer"] else item["requested"]
            out[name] = (item["changed"], item["action"], item["diff"], item["failed"], item["skipped"], item["msg"])
    return out


def recap(run):
    """Each host's outcome as the play recap shows it (AWX's per-host view reads the same)."""
    def outcome(stats):
        if stats.get("failures") or stats.get("unreachable"):
            return "failed"
        if stats.get("changed"):
            return "changed"
        if stats.get("skipped"):
            return "skipped"
        return "ok"
    return {host: outcome(stats) for host, stats in run.stats.items()}


def host(fleet, name):
    return f"{fleet['prefix']}-{name}"


def short(fleet, hosts):
    return {h[len(fleet["prefix"]) + 1:]: v for h, v in hosts.items()}


def listeners_of(conn, lb):
    return sorted(conn.load_balancer.listeners(load_balancer_id=lb.id), key=lambda x: x.protocol_port)


def writes_since(relay, marker):
    return [r for r in relay.requests_since(marker) if r["method"] in WRITES]


def test_rollout_on_inventory_hosts(lab, relay, fleet, project):
    lbs, conn = fleet["lbs"], fleet["conn"]
    good = ["ok-1", "ok-2", "ok-3", "stale"]
    expected_recap = {"ok-1": "changed", "ok-2": "changed", "ok-3": "changed", "stale": "changed",
                      "taken": "failed", "broken": "failed", "edge": "skipped"}

    marker = lab.api_request_marker()
    check = play(project, relay, "hosts.yml", check=True, diff=True)
    assert writes_since(relay, marker) == []
    predicted = per_lb(check)
    assert check.rc != 0, check
    assert short(fleet, recap(check)) == expected_recap

    marker = lab.api_request_marker()
    real = play(project, relay, "hosts.yml", diff=True)
    writes = writes_since(relay, marker)
    assert real.rc != 0, real
    done = per_lb(real)
    assert done == predicted

    # What happened to each load balancer, and what the API shows now.
    assert dict((n, done[n][:2]) for n in good) == {
        "ok-1": (True, "create"), "ok-2": (True, "create"), "ok-3": (True, "create"), "stale": (True, "update")}
    assert done["stale"][2]["before"]["name"] == "metrics" and done["stale"][2]["after"]["name"] == "prometheus"
    assert done["stale"][2]["before"]["allowed_cidrs"] == ["0.0.0.0/0"]
    assert done["stale"][2]["after"]["allowed_cidrs"] == ["127.0.0.1/32"]
    assert done["taken"][3] and "Port 8088 on load balancer" in done["taken"][5] and "TCP listener 'app'" in done["taken"][5]
    assert done["broken"][3] and "provisioning status ERROR" in done["broken"][5]
    assert done["edge"][4] and "provider 'ovn'" in done["edge"][5]
    assert sorted(r["method"] for r in writes) == ["POST", "POST", "POST", "PUT"], writes
    for name in good:
        [listener] = listeners_of(conn, lbs[name])
        assert (listener.name, listener.protocol, listener.protocol_port, listener.allowed_cidrs) == \
            ("prometheus", "PROMETHEUS", 8088, ["127.0.0.1/32"])
    assert [x.protocol for x in listeners_of(conn, lbs["taken"])] == ["TCP"]
    assert listeners_of(conn, lbs["broken"]) == [] and listeners_of(conn, lbs["edge"]) == []

    # Every host reports its own load balancer's outcome, through the one per-host task; the
    # fleet task (run once, on the first host) claims no change of its own.
    assert short(fleet, recap(real)) == expected_recap
    reports = short(fleet, task_hosts(real, REPORT_TASK))
    assert {n: (r.get("changed", False), r.get("failed", False), r.get("skipped", False))
            for n, r in reports.items()} == {
        "ok-1": (True, False, False), "ok-2": (True, False, False), "ok-3": (True, False, False),
        "stale": (True, False, False), "taken": (False, True, False), "broken": (False, True, False),
        "edge": (False, False, True)}
    assert reports["ok-1"]["msg"][0] == f"create: scrape target {lbs['ok-1'].vip_address}:8088"
    assert reports["ok-1"]["msg"][1]["after"]["protocol_port"] == 8088
    assert "provisioning status ERROR" in reports["broken"]["msg"]
    assert task_result(real, FLEET_TASK)["changed"] is False
    summary = task_result(real, SUMMARY_TASK)["msg"]
    assert summary[0] == "7 load balancer(s): 4 changed (create: 3, update: 1), 0 unchanged, 1 skipped, 2 failed, 0 unconfirmed"
    assert any(line.startswith("failed: " + host(fleet, "taken")) and "already used" in line for line in summary)
    assert any(line.startswith("failed: " + host(fleet, "broken")) and "ERROR" in line for line in summary)
    assert any(line.startswith("skipped: " + host(fleet, "edge")) for line in summary)

    # Second run: nothing changes, nothing is written; the unchanged hosts report ok, the
    # broken ones still fail, the ovn one is still skipped.
    marker = lab.api_request_marker()
    again = play(project, relay, "hosts.yml", diff=True)
    assert writes_since(relay, marker) == []
    assert again.changed == 0, again
    assert dict((n, v[:2]) for n, v in per_lb(again).items() if n in good) == dict((n, (False, None)) for n in good)
    assert short(fleet, recap(again)) == dict(expected_recap, **{n: "ok" for n in good})
    assert sorted(short(fleet, task_hosts(again, REPORT_TASK))) == sorted(expected_recap)
    assert short(fleet, task_hosts(again, REPORT_TASK))["ok-1"]["msg"] == \
        f"unchanged: scrape target {lbs['ok-1'].vip_address}:8088"
    assert again.rc != 0

    # The failing and skipped ones left out, nothing to report: no task ran per host but
    # Ansible's own argument validation; the report ran once, for the whole rollout.
    limited = play(project, relay, "hosts.yml",
                   args=("--limit", "all:!{}:!{}:!{}".format(*(host(fleet, n) for n in ("taken", "broken", "edge")))))
    assert limited.rc == 0, limited
    assert limited.changed == 0 and set(recap(limited).values()) == {"ok"}
    per_host = {}
    for play_data in limited.data["plays"]:
        for task in play_data["tasks"]:
            if len(task["hosts"]) > 1:
                per_host[task["task"]["name"]] = sorted(task["hosts"])
    assert list(per_host) == [t for t in per_host if t.startswith(ROLE + "Validating arguments")], per_host
    reports = task_hosts(limited, REPORT_TASK)
    assert len(reports) == 1, reports
    report = next(iter(reports.values()))
    assert report["msg"] == "4 load balancer(s) unchanged" and not report.get("changed"), report


def test_rollout_selected_by_filters_on_the_controller(lab, relay, fleet, project):
    lbs, conn = fleet["lbs"], fleet["conn"]
    removed = play(project, relay, "controller.yml", extra_vars={"octavia_listeners_state": "absent"})
    assert removed.rc == 0, removed
    for lb in lbs.values():
        assert not [x for x in listeners_of(conn, lb) if x.protocol == "PROMETHEUS"]
    gone = per_lb(removed)
    assert set(n for n, v in gone.items() if v[0]) <= {"ok-1", "ok-2", "ok-3", "stale"}
    assert removed.stats["localhost"]["changed"] == 1

    check = play(project, relay, "controller.yml", check=True, diff=True)
    marker = lab.api_request_marker()
    real = play(project, relay, "controller.yml", diff=True)
    assert per_lb(real) == per_lb(check)
    assert sum(1 for r in relay.requests_since(marker) if r["method"] == "POST") == 4
    # On the controller one host carries the run: it fails once, listing every failure.
    assert real.rc != 0 and recap(real) == recap(check) == {"localhost": "failed"}
    # In diff mode the report is [the failures, the diffs of what changed beside them].
    failures, diffs = real.result(ROLE + REPORT_TASK)["msg"]
    assert len(failures) == 2 and len(diffs) == 4
    assert any("Port 8088 on load balancer" in m and "TCP listener 'app'" in m for m in failures), failures
    assert any("provisioning status ERROR" in m for m in failures)

    marker = lab.api_request_marker()
    again = play(project, relay, "controller.yml", check=True)
    assert again.changed == 0 and writes_since(relay, marker) == []
    counts = task_result(again, FLEET_TASK)["results"][0]["summary"]
    assert {k: counts[k] for k in ("total", "changed", "unchanged", "skipped", "failed", "actions")} == {
        "total": 7, "changed": 0, "unchanged": 4, "skipped": 1, "failed": 2, "actions": {}}


def test_survey_strings_for_every_list_variable(lab, relay, fleet, project):
    """Every list variable as one string, the way an AWX survey hands it over."""
    lbs, conn = fleet["lbs"], fleet["conn"]
    p = fleet["prefix"]
    survey = {
        "octavia_listeners_selection": "filters",
        "octavia_listeners_load_balancers": f"{p}-ok-1,\n {p}-ok-2 ,{p}-taken",
        "octavia_listeners_filters": {"project_ids": f"{p}-proj, someone-else", "tags": "role-t1",
                                      "providers": "amphora,\nnoop_driver", "provisioning_statuses": "ACTIVE, ERROR",
                                      "name_pattern": f"{p}-*"},
        "octavia_listeners_allowed_cidrs": "127.0.0.1,\n127.0.0.3/32 ",
        "octavia_listeners_listener_tags": "scraped, team-a\nprod",
    }
    run = play(project, relay, "controller.yml", extra_vars=survey)
    assert run.rc != 0, run  # `taken` is named, but not tagged: it fails alone as not found
    assert sorted(per_lb(run)) == sorted(["ok-1", "ok-2", f"{p}-taken"])
    for name in ("ok-1", "ok-2"):
        [listener] = listeners_of(conn, lbs[name])
        assert sorted(listener.allowed_cidrs) == ["127.0.0.1/32", "127.0.0.3/32"]
        assert sorted(listener.tags) == ["prod", "scraped", "team-a"]
    [untouched] = listeners_of(conn, lbs["ok-3"])
    assert untouched.allowed_cidrs == ["127.0.0.1/32"]

    # The same strings on inventory hosts (allowed networks and tags only: the hosts select).
    hosts = play(project, relay, "hosts.yml", check=True, extra_vars={
        k: survey[k] for k in ("octavia_listeners_allowed_cidrs", "octavia_listeners_listener_tags")},
        args=("--limit", f"{p}-ok-1,{p}-ok-2"))
    assert hosts.rc == 0 and hosts.changed == 0, hosts


@pytest.mark.parametrize("case", ["filters on hosts", "names on hosts", "hosts are not load balancers",
                                  "prometheus host without an IP", "nobody to allow"])
def test_one_message_per_failed_preflight_condition(lab, relay, fleet, project, tmp_path, case):
    extra, playbook, root = {}, "hosts.yml", project
    if case == "filters on hosts":
        extra = {"octavia_listeners_filters": {"tags": "x"}}
        want = 'octavia_listeners_filters ({"tags": "x"}) only applies with octavia_listeners_selection=filters'
    elif case == "names on hosts":
        extra = {"octavia_listeners_load_balancers": "a, b"}
        want = "octavia_listeners_load_balancers (a, b) only applies with octavia_listeners_selection=filters"
    elif case == "hosts are not load balancers":
        extra = {"octavia_listeners_selection": "inventory"}
        playbook = "controller.yml"
        want = ("The load balancers are the play's hosts (octavia_listeners_selection is inventory), "
                "but localhost has no octavia_lb variable.")
    elif case == "prometheus host without an IP":
        root = write_project(tmp_path / "p", fleet["prefix"], {"prom-1": {"ansible_host": "127.0.0.1"},
                                                               "prom-2": {"ansible_host": "prom.invalid"}})
        want = "but the address of prom-2 (prom.invalid) is not an IP address."
    else:
        root = write_project(tmp_path / "p", fleet["prefix"], {})
        (root / "inventory" / "prometheus.yml").unlink()
        want = "octavia_listeners_allowed_cidrs is empty and the inventory group 'prometheus'"
    marker = lab.api_request_marker()
    run = play(root, relay, playbook, extra_vars=extra)
    assert run.rc != 0
    assert writes_since(relay, marker) == []
    failed = [(task["task"]["name"], result) for play_data in run.data["plays"] for task in play_data["tasks"]
              for result in task["hosts"].values() if result.get("failed")]
    assert len(failed) == 1, failed
    name, result = failed[0]
    assert name.startswith(ROLE + "Check"), name
    assert want in result["msg"], result["msg"]
    # One condition, one message: none of the other checks' sentences.
    others = ("only applies with", "no octavia_lb variable", "is not an IP address", "nobody to allow")
    assert sum(1 for sentence in others if sentence in result["msg"]) == 1, result["msg"]


def test_refused_port_change_loses_no_listener(lab, relay, tmp_path):
    """issue 15 #1: a port change whose new listener Octavia refuses (a 256-character
    description) leaves every old listener in place and reports each load balancer failed."""
    conn = lab.connect()
    factory = LoadBalancerFactory(conn, name_prefix=f"fxport-{uuid.uuid4().hex[:6]}")
    try:
        lbs = [factory.create(name=f"{factory.prefix}-{i}", vip_address=vip, project_id=f"{factory.prefix}-proj")
               for i, vip in enumerate(factory.allocate_vips(4))]
        root = write_project(tmp_path, factory.prefix)
        first = play(root, relay, "hosts.yml")
        assert first.rc == 0 and set(recap(first).values()) == {"changed"}, first
        before = {lb.id: [(x.id, x.protocol_port) for x in listeners_of(conn, lb)] for lb in lbs}
        assert all(len(v) == 1 and v[0][1] == 8088 for v in before.values()), before

        refused = {"octavia_listeners_protocol_port": 9100, "octavia_listeners_description": "d" * 256}
        check = play(root, relay, "hosts.yml", check=True, extra_vars=refused)
        marker = lab.api_request_marker()
        real = play(root, relay, "hosts.yml", extra_vars=refused)
        deletes = [r for r in writes_since(relay, marker) if r["method"] == "DELETE"]
        assert real.rc != 0
        assert deletes == []
        assert {lb.id: [(x.id, x.protocol_port) for x in listeners_of(conn, lb)] for lb in lbs} == before
        assert all(x.provisioning_status == "ACTIVE" for lb in lbs for x in listeners_of(conn, lb))
        assert set(recap(real).values()) == {"failed"} and recap(check) == recap(real)
        reports = task_hosts(real, REPORT_TASK)
        assert len(reports) == len(lbs) and all(r["failed"] for r in reports.values())
        summary = task_result(real, SUMMARY_TASK)["msg"]
        assert summary[0] == f"{len(lbs)} load balancer(s): 0 changed, 0 unchanged, 0 skipped, {len(lbs)} failed, 0 unconfirmed"
        # Refused before any write, so check mode says the same, host by host.
        messages = {h: r["msg"] for h, r in reports.items()}
        assert {h: r["msg"] for h, r in task_hosts(check, REPORT_TASK).items()} == messages
        assert all("description" in m for m in messages.values()), messages

        # The next run with valid settings finds everything as the first run left it.
        marker = lab.api_request_marker()
        healed = play(root, relay, "hosts.yml")
        assert healed.rc == 0 and healed.changed == 0 and writes_since(relay, marker) == []
    finally:
        try:
            factory.cleanup()
        finally:
            conn.close()


@pytest.fixture
def own_factory(lab):
    conn = lab.connect()
    factory = LoadBalancerFactory(conn, name_prefix=f"fxmod-{uuid.uuid4().hex[:6]}")
    try:
        yield factory
    finally:
        try:
            factory.cleanup()
        finally:
            conn.close()


def test_fleet_module_four_ways_replace_absent_and_failure(lab, relay, own_factory):
    """lb_prometheus_listener_fleet on its own: check, apply, check, apply for a create, a port
    change (replace) and absent; an unknown name fails the task but not the others."""
    conn = own_factory.conn
    prefix = own_factory.prefix
    lbs = [own_factory.create(name=f"{prefix}-{i}", project_id=f"{prefix}-proj") for i in (1, 2)]
    env = {"OS_CLIENT_CONFIG_FILE": str(relay.clouds_yaml), "OS_CLOUD": ""}
    base = {"load_balancers": [lb.name for lb in lbs], "allowed_cidrs": ["127.0.0.1"]}
    counts = ("total", "changed", "unchanged", "skipped", "failed", "actions")

    def four_ways(args, action):
        outcomes = []
        for check in (True, False, True, False):
            marker = lab.api_request_marker()
            result = run_module("octavia.monitoring.lb_prometheus_listener_fleet", args, check=check,
                                diff=True, env=env)
            assert not result.get("failed"), result
            outcomes.append((result, writes_since(relay, marker)))
        (c1, w1), (a1, w2), (c2, w3), (a2, w4) = outcomes
        assert w1 == [] and w3 == [] and w4 == [] and w2, (w1, w2, w3, w4)
        assert [r["action"] for r in c1["results"]] == [r["action"] for r in a1["results"]] == [action] * 2
        assert [r["diff"] for r in c1["results"]] == [r["diff"] for r in a1["results"]]
        assert c1["changed"] and a1["changed"] and not c2["changed"] and not a2["changed"]
        assert a1["diff"] == [r["diff"] for r in a1["results"]]
        assert {k: c2["summary"][k] for k in counts} == {k: a2["summary"][k] for k in counts} == {
            "total": 2, "changed": 0, "unchanged": 2, "skipped": 0, "failed": 0, "actions": {}}
        return a1

    created = four_ways(base, "create")
    for item, lb in zip(created["results"], lbs):
        assert item["listener"]["allowed_cidrs"] == ["127.0.0.1/32"]
        assert item["listener"]["provisioning_status"] == "ACTIVE"
        assert item["scrape_target"] == f"{lb.vip_address}:8088"
        assert item["load_balancer"]["id"] == lb.id

    replaced = four_ways(dict(base, protocol_port=9100), "replace")
    assert [r["scrape_target"] for r in replaced["results"]] == [f"{lb.vip_address}:9100" for lb in lbs]
    for lb in lbs:
        assert [(x.protocol, x.protocol_port) for x in listeners_of(conn, lb)] == [("PROMETHEUS", 9100)]

    four_ways(dict(base, state="absent", allowed_cidrs=None), "delete")
    for lb in lbs:
        assert listeners_of(conn, lb) == []

    failing = run_module("octavia.monitoring.lb_prometheus_listener_fleet",
                         dict(base, load_balancers=base["load_balancers"] + [prefix + "-nope"]), env=env)
    assert failing.get("failed") and failing["changed"]
    assert failing["msg"].startswith(f"1 of 3 load balancers failed: {prefix}-nope: Load balancer '{prefix}-nope' was not found")
    assert [r["action"] for r in failing["results"]] == ["create", "create", None]

    refused = run_module("octavia.monitoring.lb_prometheus_listener_fleet", dict(base, concurrency=0), env=env)
    assert refused.get("failed") and refused["msg"].startswith("concurrency must be")
