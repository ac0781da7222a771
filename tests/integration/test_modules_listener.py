"""lb_prometheus_listener and lb_prometheus_listener_info against the local Octavia lab.

The four-way lifecycle, scoping and info-module checks live in the ansible-native target
tests/integration/targets/lb_prometheus_listener; this file runs it against the lab and
adds what needs the lab's insides: every bad input with proof that nothing was created, a
load balancer that is still PENDING, an operator who disabled PROMETHEUS, a real scrape of
the amphora's /metrics, and the API request counts of one create and one no-change run.
"""
import json
import sys
import time
import urllib.request
import uuid

import pytest

from helpers.ansible_run import COLLECTIONS, REPO, ansible_env, run_lab_module, run_playbook
from helpers.private_api import PrivateApi

LISTENER = "octavia.monitoring.lb_prometheus_listener"
INFO = "octavia.monitoring.lb_prometheus_listener_info"
TARGET = REPO / "tests" / "integration" / "targets" / "lb_prometheus_listener"
FIGURES = REPO / ".build" / "listener-request-counts.json"


def prefix():
    return "modt-%s" % uuid.uuid4().hex[:8]


def module(lab, args, name=LISTENER, **kw):
    return run_lab_module(lab, name, args, **kw)


def listeners_of(conn, lb_id):
    return sorted((x.id, x.name, x.protocol, x.protocol_port)
                  for x in conn.load_balancer.listeners(load_balancer_id=lb_id))


def failed_tasks(run):
    return [(name, res.get("msg")) for name, res in run.task_results() if res.get("failed")]


# --- the ansible-native target ---------------------------------------------------------

def test_target_lb_prometheus_listener(lab, lb_factory, tmp_path):
    first, second = lb_factory.create_many(2)
    playbook = tmp_path / "target.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "roles": [{"role": str(TARGET)}]}]))
    run = run_playbook(playbook, env=lab.env, extra_vars={
        "lb_prometheus_listener_cloud": lab.cloud,
        "lb_prometheus_listener_lb_one": first.name,
        "lb_prometheus_listener_lb_two": second.name,
        "lb_prometheus_listener_prefix": prefix(),
    })
    assert run.rc == 0 and not failed_tasks(run), (failed_tasks(run), run.stderr[-3000:])
    names = [name for name, _result in run.task_results()]
    assert sum("Four-way cycle, results agree" in name for name in names) == 4, names
    conn = lab.connect()
    try:
        assert [x for x in listeners_of(conn, first.id) + listeners_of(conn, second.id)
                if x[2] == "PROMETHEUS"] == []
    finally:
        conn.close()


# --- every bad input: the message, and nothing new in the API -----------------------------

BAD_INPUTS = [
    ("bad CIDR", {"allowed_cidrs": ["10.0.0.0/33"]},
     "allowed_cidrs has '10.0.0.0/33' that is not valid CIDR notation"),
    ("missing allowed_cidrs", {},
     "allowed_cidrs is required with state=present: without it Octavia serves /metrics to every "
     "address that reaches the VIP, which is the whole internet once a floating IP is attached"),
    ("port 0", {"protocol_port": 0, "allowed_cidrs": ["10.0.0.0/8"]},
     "protocol_port 0 is outside the TCP port range 1-65535."),
    ("port 65536", {"protocol_port": 65536, "allowed_cidrs": ["10.0.0.0/8"]},
     "protocol_port 65536 is outside the TCP port range 1-65535."),
    ("IPv6 CIDR on IPv4 VIP", {"allowed_cidrs": ["10.0.0.0/8", "2001:db8::/32"]},
     "allowed_cidrs 2001:db8::/32 is IPv6 but load balancer '{lb}' has only IPv4 VIPs"),
]


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize("case, args, message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_fails_before_any_write(lab, lb_factory, conn, own_api, case, args, message, check):
    lb = lb_factory.create()
    before = listeners_of(conn, lb.id)
    marker = own_api.marker()
    result = own_api.run(dict(load_balancer=lb.name, **args), check=check)
    assert result.get("failed") is True, result
    assert message.format(lb=lb.name) in result["msg"]
    assert listeners_of(conn, lb.id) == before
    sent = own_api.requests_since(marker)
    assert [r for r in sent if r["method"] not in ("GET", "HEAD")] == []
    if case != "IPv6 CIDR on IPv4 VIP":
        # Option checks need no load balancer, so they run before the first request.
        assert sent == []


def test_load_balancer_not_found(lab, conn):
    name = prefix() + "-missing"
    result = module(lab, dict(load_balancer=name, allowed_cidrs=["10.0.0.0/8"]))
    assert result.get("failed") is True
    assert result["msg"] == ("Load balancer '%s' was not found (no load balancer has that name or ID "
                             "among those these credentials can see)." % name)
    assert not list(conn.load_balancer.load_balancers(name=name))


def test_absent_on_missing_load_balancer_is_unchanged(lab):
    result = module(lab, dict(load_balancer=prefix() + "-gone", state="absent"))
    assert result.get("failed") is not True and result["changed"] is False
    assert result["listener"] is None and result["load_balancer"] is None


def test_ambiguous_load_balancer_name_lists_ids(lab, lb_factory, conn):
    name = prefix() + "-twin"
    twins = [lb_factory.create(name=name), lb_factory.create(name=name)]
    result = module(lab, dict(load_balancer=name, allowed_cidrs=["10.0.0.0/8"]))
    assert result.get("failed") is True
    for lb in twins:
        assert lb.id in result["msg"] and listeners_of(conn, lb.id) == []
    assert sorted(c["id"] for c in result["candidates"]) == sorted(lb.id for lb in twins)


def test_port_used_by_another_listener(lab, lb_factory, conn):
    lb = lb_factory.create()
    http = conn.load_balancer.create_listener(load_balancer_id=lb.id, protocol="HTTP",
                                              protocol_port=8088, name="web-in")
    lb_factory.wait_active([lb.id])
    before = listeners_of(conn, lb.id)
    for check in (True, False):
        result = module(lab, dict(load_balancer=lb.name, allowed_cidrs=["10.0.0.0/8"]), check=check)
        assert result.get("failed") is True
        assert result["msg"] == ("Port 8088 on load balancer '%s' is already used by the HTTP listener "
                                 "'web-in' (%s); choose another protocol_port." % (lb.name, http.id))
    assert listeners_of(conn, lb.id) == before


def test_wide_open_cidr_is_accepted_with_a_warning(lab, lb_factory):
    lb = lb_factory.create()
    result = module(lab, dict(load_balancer=lb.name, allowed_cidrs=["0.0.0.0/0"]))
    assert result["changed"] is True and result["listener"]["allowed_cidrs"] == ["0.0.0.0/0"]
    assert result["warnings"] == ["allowed_cidrs contains 0.0.0.0/0, so /metrics of this load "
                                  "balancer is open to every address that can reach its VIP."]


def test_provider_without_prometheus_points_to_stats(lab, lb_factory, conn):
    """A load balancer owned by the ovn provider (set in the lab's DB: the OVN driver is not installed)."""
    lb = lb_factory.create()
    set_provider(lab, lb.id, "ovn")
    try:
        result = module(lab, dict(load_balancer=lb.name, allowed_cidrs=["10.0.0.0/8"]))
        assert result.get("failed") is True
        assert result["msg"] == ("Load balancer '%s' uses the provider 'ovn', which does not support "
                                 "PROMETHEUS listeners; use octavia.monitoring.lb_stats_info to read its "
                                 "statistics through the Octavia API instead; its statistics can still "
                                 "reach Prometheus through the stats playbook's exposition: "
                                 "ansible-playbook octavia.monitoring.stats -e "
                                 "octavia_stats_exposition_path=<node_exporter textfile directory>/"
                                 "octavia_api_stats.prom." % lb.name)
        assert result["outcome"] == "skipped"
        assert listeners_of(conn, lb.id) == []
    finally:
        set_provider(lab, lb.id, "amphora")


def set_provider(lab, lb_id, provider):
    set_column(lab, lb_id, "provider", provider)


def set_column(lab, lb_id, column, value):
    """Change one column of our own load balancer in the lab's database (a state the API
    cannot be asked to produce: another provider, a stuck or failed load balancer)."""
    import sqlalchemy
    assert column in ("provider", "provisioning_status")
    engine = sqlalchemy.create_engine(lab.s.db_url)
    try:
        with engine.begin() as db:
            db.execute(sqlalchemy.text("UPDATE load_balancer SET %s = :v WHERE id = :i" % column),
                       {"v": value, "i": lb_id})
    finally:
        engine.dispose()


# --- octavia-api processes of our own --------------------------------------------------------
# A second octavia-api on the lab's database and message queue is the lab API with its own
# access log (so requests are attributed exactly, whatever else uses the shared lab) and, when
# asked, its own [api_settings] (how an operator configures a deployment).

@pytest.fixture(scope="module")
def own_api(lab, tmp_path_factory):
    api = PrivateApi(lab, tmp_path_factory.mktemp("own-api"), "own-api")
    yield api
    api.stop()


@pytest.fixture
def restricted_api(lab, tmp_path):
    """An operator who disallows PROMETHEUS listeners ([api_settings] allow_prometheus_listeners)."""
    api = PrivateApi(lab, tmp_path, "restricted", allow_prometheus_listeners="False")
    yield api
    api.stop()


def test_operator_disabled_prometheus(lab, lb_factory, conn, restricted_api):
    lb = lb_factory.create()
    marker = restricted_api.marker()
    result = restricted_api.run(dict(load_balancer=lb.name, allowed_cidrs=["10.0.0.0/8"]))
    assert result.get("failed") is True
    # The API is the only one that knows: the module asked it once, and it refused.
    assert [(r["method"], r["status"]) for r in restricted_api.requests_since(marker)
            if r["method"] == "POST"] == [("POST", 400)]
    assert result["msg"] == (
        "The operator of this cloud has disabled PROMETHEUS listeners (octavia.conf [api_settings] "
        "allow_prometheus_listeners = False), so none can be created; ask them to enable it, or use "
        "octavia.monitoring.lb_stats_info to read statistics through the Octavia API.")
    assert listeners_of(conn, lb.id) == []


# --- waiting -----------------------------------------------------------------------------

def test_listener_right_after_load_balancer_create(lab, lb_factory, conn, tmp_path):
    """One playbook: create the load balancer through the API, then at once the listener."""
    name = prefix() + "-pending"
    vip = lb_factory.allocate_vips(1)[0]
    playbook = tmp_path / "pending.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "tasks": [
            {"name": "create load balancer", "ansible.builtin.uri": {
                "url": lab.api_url + "/v2/lbaas/loadbalancers", "method": "POST", "status_code": 201,
                "body_format": "json", "body": {"loadbalancer": {
                    "name": name, "vip_address": vip, "project_id": "lab-project",
                    "vip_subnet_id": "1ab0c0de-0000-4000-8000-000000000001"}}},
             "register": "created"},
            {"name": "listener", LISTENER: {"cloud": lab.cloud, "load_balancer": name,
                                            "allowed_cidrs": ["10.0.0.0/8"]}},
        ]}]))
    marker = lab.api_request_marker()
    run = run_playbook(playbook, env=lab.env)
    created = run.result("create load balancer")
    lb_factory.track(created["json"]["loadbalancer"]["id"])
    assert created["json"]["loadbalancer"]["provisioning_status"] == "PENDING_CREATE"
    result = run.result("listener")
    assert result.get("failed") is not True, result
    assert result["listener"]["provisioning_status"] == "ACTIVE"
    assert result["load_balancer"]["provisioning_status"] == "ACTIVE"
    lb_id = created["json"]["loadbalancer"]["id"]
    polls = [r for r in lab.api_requests_since(marker)
             if r["method"] == "GET" and r["path"] == "/v2/lbaas/loadbalancers/" + lb_id]
    assert len(polls) >= 2, "the module did not wait for the PENDING load balancer"
    assert [x[2] for x in listeners_of(conn, lb_id)] == ["PROMETHEUS"]


def test_load_balancer_in_error_fails_at_once(lab, lb_factory, conn):
    lb = lb_factory.create()
    set_column(lab, lb.id, "provisioning_status", "ERROR")
    try:
        started = time.monotonic()
        result = module(lab, dict(load_balancer=lb.name, allowed_cidrs=["10.0.0.0/8"], timeout=120))
        elapsed = time.monotonic() - started
        assert result.get("failed") is True
        assert result["msg"].startswith("Load balancer '%s' (%s) is in provisioning status ERROR "
                                        "(operating status " % (lb.name, lb.id))
        assert result["provisioning_status"] == "ERROR"
        assert elapsed < 60, "an ERROR load balancer must fail at once, not after the timeout"
        assert listeners_of(conn, lb.id) == []
    finally:
        set_column(lab, lb.id, "provisioning_status", "ACTIVE")


def test_stuck_load_balancer_times_out(lab, lb_factory, conn):
    lb = lb_factory.create()
    set_column(lab, lb.id, "provisioning_status", "PENDING_UPDATE")
    try:
        result = module(lab, dict(load_balancer=lb.name, allowed_cidrs=["10.0.0.0/8"], timeout=3))
        assert result.get("failed") is True
        # A stuck load balancer is a failure, never "unchanged", and the message says why.
        assert result["msg"] == ("Timed out after 3s waiting for load balancer '%s' (%s) to become "
                                 "ACTIVE; it is still PENDING_UPDATE. If it stays there, the Octavia "
                                 "worker that held it may have died: look at the worker, then raise "
                                 "timeout or repair the object." % (lb.name, lb.id))
        assert result["outcome"] == "failed" and result["changed"] is False
        assert listeners_of(conn, lb.id) == []
    finally:
        set_column(lab, lb.id, "provisioning_status", "ACTIVE")


def test_write_retries_while_the_load_balancer_is_immutable(lab, lb_factory, conn):
    """_octavia.write against the real API: the first POST meets a busy load balancer (409)."""
    ansible_env()
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    from ansible_collections.octavia.monitoring.plugins.module_utils._sdk import http_status, to_plain
    from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import Deadline, write

    lb = lb_factory.create()
    seen_idle = to_plain(lb)   # what a reader saw a moment before another client wrote
    conn.load_balancer.create_listener(load_balancer_id=lb.id, protocol="HTTP", protocol_port=80)
    answers = []

    def create():
        try:
            created = conn.load_balancer.create_listener(
                load_balancer_id=lb.id, protocol="PROMETHEUS", protocol_port=8088,
                allowed_cidrs=["10.0.0.0/8"])
        except Exception as exc:
            answers.append(http_status(exc))
            raise
        answers.append(201)
        return created

    listener = write(conn, seen_idle, "create the listener", create, Deadline(60))
    assert answers[0] == 409 and answers[-1] == 201 and set(answers[1:-1]) <= {409}, answers
    assert listener.protocol == "PROMETHEUS"
    lb_factory.wait_active([lb.id])


# --- the endpoint really serves metrics ----------------------------------------------------

def test_scrape_target_serves_octavia_metrics(lab, lb_factory):
    lb = lb_factory.create()
    result = module(lab, dict(load_balancer=lb.name, allowed_cidrs=["127.0.0.0/8"]))
    assert result["changed"] is True
    url = "http://%s/metrics" % result["scrape_target"]
    # The lab's amphora agent starts haproxy and Octavia's prometheus-proxy within a few seconds.
    deadline, body, error = time.monotonic() + 30, "", None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as answer:
                body = answer.read().decode()
            if "octavia_listener_" in body:
                break
        except OSError as exc:
            error = exc
        time.sleep(0.5)
    assert "octavia_listener_" in body, (url, error, lab.amphora_state(lb.id), body[:500])
    names = {line.split("{")[0].split(" ")[0] for line in body.splitlines()
             if line and not line.startswith("#")}
    assert {"octavia_loadbalancer_cpu", "octavia_listener_bytes_in_total"} <= names
    # The metrics name the PROMETHEUS listener the module returned.
    assert 'listener="%s"' % result["listener"]["id"] in body

    # allowed_cidrs is enforced: without this host's network the amphora drops the scrape.
    closed = module(lab, dict(load_balancer=lb.name, allowed_cidrs=["192.0.2.0/24"]))
    assert closed["changed"] is True and closed["listener"]["id"] == result["listener"]["id"]
    deadline, refused = time.monotonic() + 30, None
    while time.monotonic() < deadline and refused is None:
        try:
            urllib.request.urlopen(url, timeout=3).read()
        except OSError as exc:
            refused = getattr(exc, "reason", exc)   # urllib wraps socket errors in URLError
        time.sleep(0.5)
    assert refused is not None, "the amphora still serves /metrics to 127.0.0.1"
    # haproxy still listens and drops the connection; refused would mean it is simply down.
    assert not isinstance(refused, ConnectionRefusedError), refused


# --- the info module ----------------------------------------------------------------------

def test_info_catalog_and_address(lab, lb_factory, conn, http_backend):
    lb = lb_factory.create()
    module(lab, dict(load_balancer=lb.name, allowed_cidrs=["10.0.0.0/8"], name="metrics"))
    web = conn.load_balancer.create_listener(load_balancer_id=lb.id, protocol="HTTP", protocol_port=80,
                                             name="web")
    lb_factory.wait_active([lb.id])
    pool = conn.load_balancer.create_pool(listener_id=web.id, protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                                          name="web-pool")
    lb_factory.wait_active([lb.id])
    backend = http_backend()
    member = conn.load_balancer.create_member(pool.id, address="127.0.0.1", protocol_port=backend.port,
                                              name="web-1")
    lb_factory.wait_active([lb.id])

    result = module(lab, dict(load_balancer=lb.id, catalog=True, address="auto"), name=INFO)
    assert result["changed"] is False
    [item] = result["prometheus_listeners"]
    assert item["scrape_target"] == "%s:8088" % lb.vip_address   # no network service: auto is the VIP
    assert item["load_balancer"]["floating_ip"] is None
    catalog = item["catalog"]
    assert sorted((x["name"], x["protocol"], x["protocol_port"]) for x in catalog["listeners"]) == \
        [("metrics", "PROMETHEUS", 8088), ("web", "HTTP", 80)]
    assert catalog["pools"] == [{"id": pool.id, "name": "web-pool", "protocol": "HTTP",
                                 "lb_algorithm": "ROUND_ROBIN", "listener_id": web.id,
                                 "listener_ids": [web.id]}]
    assert catalog["members"] == [{"id": member.id, "name": "web-1", "address": "127.0.0.1",
                                   "protocol_port": backend.port, "weight": 1, "pool_id": pool.id}]

    failed = module(lab, dict(load_balancer=lb.id, address="floating_ip"), name=INFO)
    assert failed.get("failed") is True
    assert failed["msg"].startswith("address=floating_ip needs the network service to look up "
                                    "floating IPs, but no usable network endpoint")


def test_info_empty_results_never_fail(lab):
    missing = module(lab, dict(load_balancer=prefix() + "-none"), name=INFO)
    assert missing.get("failed") is not True
    assert missing["prometheus_listeners"] == [] and missing["load_balancers_without_listener"] == []
    filtered = module(lab, dict(filters=dict(project_ids=[prefix()])), name=INFO)
    assert filtered["prometheus_listeners"] == [] and filtered["load_balancers_without_listener"] == []


def test_info_lists_with_one_listing(lab, lb_factory):
    lbs = lb_factory.create_many(3, project_id="modt-" + uuid.uuid4().hex[:6])
    name = prefix()
    for lb in lbs[:2]:
        module(lab, dict(load_balancer=lb.id, name=name, allowed_cidrs=["10.0.0.0/8"]))
    marker = lab.api_request_marker()
    result = module(lab, dict(filters=dict(project_ids=[lbs[0].project_id])), name=INFO)
    requests = [r for r in lab.api_requests_since(marker) if lbs[0].project_id in r["path"]]
    assert sorted(x["load_balancer"]["id"] for x in result["prometheus_listeners"]) == \
        sorted(lb.id for lb in lbs[:2])
    assert [x["id"] for x in result["load_balancers_without_listener"]] == [lbs[2].id]
    # One listing of load balancers and one of listeners, whatever the number of load balancers.
    assert sorted(r["path"].split("?")[0] for r in requests) == \
        ["/v2/lbaas/listeners", "/v2/lbaas/loadbalancers"]


# --- how many API requests a run costs (figures for the project notes) -----------------------

def test_request_counts_create_and_no_change(lab, lb_factory, own_api):
    lb = lb_factory.create()
    args = dict(load_balancer=lb.name, allowed_cidrs=["10.0.0.0/8"])
    figures = {}
    for run in ("create", "no-change"):
        marker = own_api.marker()
        started = time.monotonic()
        result = own_api.run(args)
        elapsed = time.monotonic() - started
        assert result["changed"] is (run == "create")
        sent = own_api.requests_since(marker)
        figures[run] = {"requests": len(sent), "seconds": round(elapsed, 2),
                        "calls": ["%s %s %s" % (r["method"], r["path"], r["status"]) for r in sent]}
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    calls = figures["no-change"]["calls"]
    # openstacksdk's version discovery, the load balancer by name, its listeners, and the VIP
    # port's floating IP (404: the lab has no network service); nothing else when nothing changes.
    assert calls == ["GET / 200", "GET /v2/lbaas/loadbalancers?name=%s 200" % lb.name,
                     "GET /v2/lbaas/listeners?load_balancer_id=%s 200" % lb.id,
                     "GET /v2/floatingips?port_id=%s 404" % lb.vip_port_id], figures
    create = figures["create"]["calls"]
    assert create[:3] == calls[:3] and create.count("POST /v2/lbaas/listeners 201") == 1
    assert [c for c in create if not c.startswith("GET ")] == ["POST /v2/lbaas/listeners 201"]
    assert len(create) <= 12, figures
