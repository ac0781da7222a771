"""The octavia_listeners role against the lab, on inventory hosts and on the controller.

A rollout over several load balancers where one is in ERROR and one has its port taken:
the others converge, each failing host is marked failed with its reason, the summary names
both, the exit code is non-zero; --check --diff predicts exactly what the real run does; the
second run changes nothing and writes nothing (counted in the lab API's log). Credentials come
from OS_CLIENT_CONFIG_FILE alone: no cloud name, no OS_CLOUD.
"""
import json
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

# This collection's test range in the shared lab (bench objects use 127.6.0.0/16; the molecule
# scenario 127.7.250.0/24; the relays' source addresses 127.7.255.0/24).
VIP_RANGE = "127.7.0.0/17"
FLEET_TASK = "Give the selected load balancers their PROMETHEUS listener"
SUMMARY_TASK = "Summarise the rollout"
WRITES = ("POST", "PUT", "DELETE")


def force_error(lab, lb_id):
    """Provisioning status ERROR, as a failed worker flow leaves a load balancer (no API for it)."""
    db = pymysql.connect(host="127.0.0.1", port=lab.s.ports["mysql"].value, user=DB_USER,
                         password=DB_PASSWORD, database=DB_NAME)
    try:
        with db.cursor() as cur:
            cur.execute("UPDATE load_balancer SET provisioning_status = 'ERROR' WHERE id = %s", (lb_id,))
        db.commit()
    finally:
        db.close()


@pytest.fixture(scope="module")
def relay(lab, tmp_path_factory):
    with SourceRelay(lab.api_url, "127.7.255") as running:
        running.clouds_yaml = relayed_clouds_yaml(lab.clouds_yaml, lab.cloud, running.url,
                                                  tmp_path_factory.mktemp("relay") / "clouds.yaml")
        running.requests_since = lambda marker: own_requests(lab.api_requests_since(marker), running.source)
        yield running


@pytest.fixture(scope="module")
def fleet(lab):
    """ok-1..3 without listener, `stale` with a PROMETHEUS listener open to all under another
    name, `taken` with a TCP listener on 8088, `broken` in ERROR."""
    conn = lab.connect()
    factory = LoadBalancerFactory(conn, name_prefix=f"fxrole-{uuid.uuid4().hex[:6]}", vip_range=VIP_RANGE)
    p = factory.prefix
    names = ["ok-1", "ok-2", "ok-3", "stale", "taken", "broken"]
    try:
        lbs = dict((name, factory.create(name=f"{p}-{name}", vip_address=vip, project_id=f"{p}-proj"))
                   for name, vip in zip(names, factory.allocate_vips(len(names))))
        conn.load_balancer.create_listener(load_balancer_id=lbs["stale"].id, name="metrics",
                                           protocol="PROMETHEUS", protocol_port=8088,
                                           allowed_cidrs=["0.0.0.0/0"])
        conn.load_balancer.create_listener(load_balancer_id=lbs["taken"].id, name="app",
                                           protocol="TCP", protocol_port=8088)
        factory.wait_active([lbs["stale"].id, lbs["taken"].id])
        force_error(lab, lbs["broken"].id)
        yield dict(prefix=p, lbs=lbs, conn=conn)
    finally:
        try:
            factory.cleanup()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def project(fleet, tmp_path_factory):
    """An inventory directory (the plugin for this fleet, a prometheus group) and two playbooks."""
    root = tmp_path_factory.mktemp("role")
    inv = root / "inventory"
    inv.mkdir()
    (inv / "fleet.octavia.yml").write_text(yaml.safe_dump({
        "plugin": "octavia.monitoring.loadbalancers", "name_pattern": fleet["prefix"] + "-*"}))
    (inv / "prometheus.yml").write_text(yaml.safe_dump({
        "prometheus": {"hosts": {"prom-1": {"ansible_host": "127.0.0.1"}}}}))
    (root / "hosts.yml").write_text(yaml.safe_dump([{
        "name": "Listeners on inventory hosts", "hosts": "octavia_loadbalancers", "gather_facts": False,
        "roles": ["octavia.monitoring.octavia_listeners"]}]))
    (root / "controller.yml").write_text(yaml.safe_dump([{
        "name": "Listeners chosen on the controller", "hosts": "localhost", "gather_facts": False,
        "connection": "local",
        "vars": {"octavia_listeners_selection": "filters",
                 "octavia_listeners_name_pattern": fleet["prefix"] + "-*"},
        "roles": ["octavia.monitoring.octavia_listeners"]}]))
    return root


def play(project, relay, playbook, **kw):
    env = {"OS_CLIENT_CONFIG_FILE": str(relay.clouds_yaml), "OS_CLOUD": ""}
    return run_playbook(project / playbook, inventory=project / "inventory", env=env, **kw)


def task_result(run, suffix):
    """The result of the task whose name ends with `suffix` (role tasks carry the role's prefix)."""
    for play_data in run.data.get("plays", []):
        for task in play_data["tasks"]:
            if task["task"]["name"].endswith(suffix) and task["hosts"]:
                return next(iter(task["hosts"].values()))
    raise AssertionError(f"no task {suffix!r} in {run!r}")


def per_lb(run):
    """{short name: (changed, action, diff, failed, skipped, msg)} from the fleet task's results."""
    fleet_result = task_result(run, FLEET_TASK)
    out = {}
    for batch in fleet_result["results"]:
        for item in batch["results"]:
            name = item["load_balancer"]["name"].split("-", 2)[-1]
            out[name] = (item["changed"], item["action"], item["diff"], item["failed"], item["skipped"], item["msg"])
    return out


def host(fleet, name):
    return f"{fleet['prefix']}-{name}"


def listeners_of(conn, lb):
    return sorted(conn.load_balancer.listeners(load_balancer_id=lb.id), key=lambda x: x.protocol_port)


def test_rollout_on_inventory_hosts(lab, relay, fleet, project):
    lbs, conn = fleet["lbs"], fleet["conn"]
    good = ["ok-1", "ok-2", "ok-3", "stale"]

    marker = lab.api_request_marker()
    check = play(project, relay, "hosts.yml", check=True, diff=True)
    assert [r for r in relay.requests_since(marker) if r["method"] in WRITES] == []
    predicted = per_lb(check)
    assert check.rc != 0, check

    marker = lab.api_request_marker()
    real = play(project, relay, "hosts.yml", diff=True)
    writes = [r for r in relay.requests_since(marker) if r["method"] in WRITES]
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
    assert sorted(r["method"] for r in writes) == ["POST", "POST", "POST", "PUT"], writes
    for name in good:
        [listener] = listeners_of(conn, lbs[name])
        assert (listener.name, listener.protocol, listener.protocol_port, listener.allowed_cidrs) == \
            ("prometheus", "PROMETHEUS", 8088, ["127.0.0.1/32"])
    assert [x.protocol for x in listeners_of(conn, lbs["taken"])] == ["TCP"]
    assert listeners_of(conn, lbs["broken"]) == []

    # Each failing load balancer's host is failed with its reason; the others are not.
    failed_hosts = set(h for h, s in real.stats.items() if s.get("failures"))
    assert failed_hosts == {host(fleet, "taken"), host(fleet, "broken")}
    summary = task_result(real, SUMMARY_TASK)["msg"]
    assert summary[0] == "6 load balancer(s): 4 changed (create: 3, update: 1), 0 unchanged, 0 skipped, 2 failed"
    assert any(line.startswith("failed: " + host(fleet, "taken")) and "already used" in line for line in summary)
    assert any(line.startswith("failed: " + host(fleet, "broken")) and "ERROR" in line for line in summary)

    # Second run: nothing changes, nothing is written; the broken ones still fail.
    marker = lab.api_request_marker()
    again = play(project, relay, "hosts.yml", diff=True)
    assert [r for r in relay.requests_since(marker) if r["method"] in WRITES] == []
    assert again.changed == 0, again
    assert dict((n, v[:2]) for n, v in per_lb(again).items() if n in good) == dict((n, (False, None)) for n in good)
    assert set(h for h, s in again.stats.items() if s.get("failures")) == failed_hosts
    assert again.rc != 0

    # The failing ones left out, the run is clean.
    limited = play(project, relay, "hosts.yml",
                   args=("--limit", "all:!%s:!%s" % (host(fleet, "taken"), host(fleet, "broken"))))
    assert limited.rc == 0, limited
    assert limited.changed == 0


def test_rollout_selected_by_filters_on_the_controller(lab, relay, fleet, project):
    lbs, conn = fleet["lbs"], fleet["conn"]
    removed = play(project, relay, "controller.yml", extra_vars={"octavia_listeners_state": "absent"})
    assert removed.rc == 0, removed
    for lb in lbs.values():
        assert not [x for x in listeners_of(conn, lb) if x.protocol == "PROMETHEUS"]
    gone = per_lb(removed)
    assert set(n for n, v in gone.items() if v[0]) <= {"ok-1", "ok-2", "ok-3", "stale"}

    check = play(project, relay, "controller.yml", check=True, diff=True)
    marker = lab.api_request_marker()
    real = play(project, relay, "controller.yml", diff=True)
    assert per_lb(real) == per_lb(check)
    assert sum(1 for r in relay.requests_since(marker) if r["method"] == "POST") == 4
    # On the controller one host carries the run: it fails once, listing every failure.
    assert real.rc != 0
    failure = real.result("octavia.monitoring.octavia_listeners : Fail the run when a load balancer failed")
    assert len(failure["msg"]) == 2
    assert any("already used by the TCP listener 'app'" in m for m in failure["msg"])
    assert any("provisioning status ERROR" in m for m in failure["msg"])

    marker = lab.api_request_marker()
    again = play(project, relay, "controller.yml", check=True)
    assert again.changed == 0 and [r for r in relay.requests_since(marker) if r["method"] in WRITES] == []
    assert json.dumps(task_result(again, FLEET_TASK)["results"][0]["summary"], sort_keys=True) == json.dumps(
        {"actions": {}, "changed": 0, "failed": 2, "skipped": 0, "total": 6, "unchanged": 4}, sort_keys=True)


def test_nobody_to_allow_stops_before_any_change(lab, relay, fleet, project, tmp_path):
    empty = tmp_path / "inventory"
    empty.mkdir()
    (empty / "fleet.octavia.yml").write_text((project / "inventory" / "fleet.octavia.yml").read_text())
    marker = lab.api_request_marker()
    run = run_playbook(project / "hosts.yml", inventory=empty,
                       env={"OS_CLIENT_CONFIG_FILE": str(relay.clouds_yaml), "OS_CLOUD": ""})
    assert run.rc != 0
    assert "octavia_listeners_allowed_cidrs is empty" in run.stdout
    assert [r for r in relay.requests_since(marker) if r["method"] in WRITES] == []


@pytest.fixture
def own_factory(lab):
    """Like lb_factory, with VIPs from this collection's range."""
    conn = lab.connect()
    factory = LoadBalancerFactory(conn, name_prefix=f"fxmod-{uuid.uuid4().hex[:6]}", vip_range=VIP_RANGE)
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

    def four_ways(args, action):
        outcomes = []
        for check in (True, False, True, False):
            marker = lab.api_request_marker()
            result = run_module("octavia.monitoring.lb_prometheus_listener_fleet", args, check=check,
                                diff=True, env=env)
            writes = [r for r in relay.requests_since(marker) if r["method"] in WRITES]
            assert not result.get("failed"), result
            outcomes.append((result, writes))
        (c1, w1), (a1, w2), (c2, w3), (a2, w4) = outcomes
        assert w1 == [] and w3 == [] and w4 == [] and w2, (w1, w2, w3, w4)
        assert [r["action"] for r in c1["results"]] == [r["action"] for r in a1["results"]] == [action] * 2
        assert [r["diff"] for r in c1["results"]] == [r["diff"] for r in a1["results"]]
        assert c1["changed"] and a1["changed"] and not c2["changed"] and not a2["changed"]
        assert a1["diff"] == [r["diff"] for r in a1["results"]]
        assert c2["summary"] == a2["summary"] == {"total": 2, "changed": 0, "unchanged": 2,
                                                  "skipped": 0, "failed": 0, "actions": {}}
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
    assert refused.get("failed") and refused["msg"] == "concurrency must be 1 or more, not 0."
