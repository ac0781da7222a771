"""_rollout: the one write path, end to end on scripted doubles of the SDK proxy.

Plan, settle, apply and report for one load balancer (lb_prometheus_listener) and for
several (the fleet module and the role). Migrated from test__fleet.py (Fleet, summarise,
failure_message, skip_message, labelled_diff, fail); the rest is new and covers issue 15:
a replace creates first and never loses the listener, broken objects are repaired or
failed (never unchanged), outcomes are honest, check mode predicts the real run and
writes nothing. openstacksdk is never imported (``no_sdk``); the clock is fake.
"""
import importlib
import types

import pytest

from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import (
    WRITES,
    FakeClock,
    FakeConn,
    FakeProxy,
    FakeNetwork,
    HttpError,
    Port,
    forbidden,
    immutable,
)

MU = "ansible_collections.octavia.monitoring.plugins.module_utils."
LB_ID = "11111111-aaaa-4bbb-8ccc-000000000001"
LB2_ID = "22222222-aaaa-4bbb-8ccc-000000000002"


@pytest.fixture
def o(no_sdk):
    """The modules of the write path, imported as on a host without openstacksdk."""
    names = ("_rollout", "_octavia", "_plan", "_errors", "_targets")
    return types.SimpleNamespace(**{n.strip("_"): importlib.import_module(MU + n) for n in names})


def lb(**kw):
    base = {"id": LB_ID, "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
            "project_id": "p1", "provider": "amphora", "availability_zone": None,
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "tags": []}
    base.update(kw)
    return base


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": "", "is_admin_state_up": True,
            "connection_limit": -1, "tags": [], "timeout_client_data": 50000,
            "timeout_member_connect": 5000, "timeout_member_data": 50000, "timeout_tcp_inspect": 0,
            "load_balancers": [{"id": LB_ID}], "provisioning_status": "ACTIVE",
            "operating_status": "ONLINE"}
    base.update(kw)
    return base


def params(**kw):
    base = {"state": "present", "name": "prometheus", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": None, "is_admin_state_up": None,
            "connection_limit": None, "tags": None, "timeout_client_data": None,
            "timeout_member_connect": None, "timeout_member_data": None,
            "timeout_tcp_inspect": None, "wait": True, "timeout": 30,
            # Issue 14: every module run carries the TLS options and the guard's choice.
            "default_tls_container_ref": None, "sni_container_refs": None,
            "client_ca_tls_container_ref": None, "client_authentication": None,
            "client_crl_container_ref": None, "tls_versions": None, "tls_ciphers": None,
            "alpn_protocols": None, "allowed_cidrs_unenforced": "warn"}
    base.update(kw)
    return base


class Run:
    """One Rollout on a proxy, as lb_prometheus_listener (one) or the fleet module (several) runs it."""

    def __init__(self, o, proxy, check_mode=False, concurrency=1, network=None, **options):
        self.o, self.proxy, self.clock = o, proxy, FakeClock()
        self.conn = FakeConn(proxy, network=network)
        self.opened = []
        self.params = params(**options)
        cidrs, _warnings = o.plan.check_listener_options(self.params)
        self.rollout = o.rollout.Rollout(self.conn, self.connect, self.params, cidrs, check_mode,
                                         concurrency, clock=self.clock, sleep=self.clock.sleep)

    @property
    def present(self):
        # As the modules do: port security matters only where a listener is wanted.
        return self.params["state"] == "present"

    def connect(self):
        self.opened.append(FakeConn(self.proxy))
        return self.opened[-1]

    def one(self, requested="web"):
        """The single module's path: read_load_balancer, then the rollout of that one."""
        fleet = self.o.octavia.read_load_balancer(self.conn, requested, port_security=self.present)
        self.proxy.calls.clear()        # what follows is the rollout's own work
        [item] = self.rollout.run(fleet, [(requested, fleet["load_balancers"][0])])
        return item

    def fleet(self, wanted=None, filters=None):
        """The fleet module's path: read_fleet, select, roll out."""
        fleet = self.o.octavia.read_fleet(self.conn, filters or {}, port_security=self.present)
        select = importlib.import_module(MU + "_select")
        if wanted is None:
            selected, errors = [(x["id"], x) for x in fleet["load_balancers"]], []
        else:
            selected, errors = select.select_load_balancers(fleet["load_balancers"], wanted)
        self.proxy.calls.clear()
        return self.rollout.run(fleet, selected, errors)


def ops(proxy):
    """The calls made, with their object IDs, without the listing queries."""
    out = []
    for call in proxy.calls:
        if call[0] == "create_listener":
            out.append(("create_listener", call[1]["protocol_port"]))
        elif call[0] in ("get_load_balancer", "get_listener", "update_listener", "delete_listener"):
            out.append((call[0], call[1]))
        else:
            out.append((call[0],))
    return out


# --- create, update, unchanged, delete ------------------------------------------

def test_create(o):
    proxy = FakeProxy(lbs=[lb()])
    item = Run(o, proxy, description="metrics").one()
    assert (item["changed"], item["action"], item["outcome"], item["failed"]) == (True, "create", "changed", False)
    [create] = proxy.writes()
    assert create[1] == {"load_balancer_id": LB_ID, "protocol": "PROMETHEUS", "name": "prometheus",
                         "protocol_port": 8088, "allowed_cidrs": ["10.0.0.0/8"], "description": "metrics"}
    assert item["listener"]["id"] == "new-1" and item["listener"]["provisioning_status"] == "ACTIVE"
    assert item["scrape_target"] == "192.0.2.10:8088"
    assert item["diff"]["before"] == {} and item["diff"]["after"]["protocol_port"] == 8088
    # The project's listener quota (unlimited here, so no listing), then the API version are
    # read once each, because a listener is created; both before the write.
    assert ops(proxy)[:3] == [("get_quota",), ("get",), ("create_listener", 8088)]
    assert item["load_balancer"]["id"] == LB_ID and item["msg"] == "" and item["requested"] == "web"


def test_create_waits_until_the_new_listener_is_active(o):
    proxy = FakeProxy(lbs=[lb()])
    proxy.statuses["new-1"] = ["PENDING_CREATE", "PENDING_CREATE", "ACTIVE"]
    run = Run(o, proxy)
    item = run.one()
    assert item["outcome"] == "changed" and item["listener"]["provisioning_status"] == "ACTIVE"
    assert ops(proxy).count(("get_listener", "new-1")) >= 3 and run.clock.sleeps


def test_update_sends_only_the_delta_and_returns_the_listener_read_again(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(allowed_cidrs=["192.0.2.0/24"])])
    item = Run(o, proxy).one()
    assert (item["changed"], item["action"], item["outcome"]) == (True, "update", "changed")
    assert proxy.writes() == [("update_listener", "l-1", {"allowed_cidrs": ["10.0.0.0/8"]})]
    assert item["listener"]["allowed_cidrs"] == ["10.0.0.0/8"] and item["listener"]["id"] == "l-1"
    assert item["diff"]["before"]["allowed_cidrs"] == ["192.0.2.0/24"]
    assert ("get",) not in ops(proxy)             # no create, no version check


def test_update_without_wait_returns_the_api_answer(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(allowed_cidrs=["192.0.2.0/24"])])
    item = Run(o, proxy, wait=False).one()
    assert item["outcome"] == "changed" and item["listener"]["provisioning_status"] == "PENDING_UPDATE"
    assert ops(proxy) == [("update_listener", "l-1")]


def test_unchanged_touches_nothing(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    item = Run(o, proxy).one()
    assert item == {"requested": "web", "load_balancer": o.targets.lb_summary(lb()), "changed": False,
                    "action": None, "outcome": "unchanged", "diff": item["diff"], "listener": listener(),
                    "scrape_target": "192.0.2.10:8088", "tls_change": None, "skipped": False, "failed": False,
                    "msg": ""}
    assert item["diff"]["before"] == item["diff"]["after"]
    assert proxy.calls == []


def test_delete(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    item = Run(o, proxy, state="absent").one()
    assert (item["changed"], item["action"], item["outcome"]) == (True, "delete", "changed")
    assert proxy.writes() == [("delete_listener", "l-1")] and proxy.store == {}
    assert item["listener"] is None and item["scrape_target"] is None


def test_absent_and_missing_is_unchanged_even_on_a_busy_load_balancer(o):
    proxy = FakeProxy(lbs=[lb(provisioning_status="PENDING_UPDATE")])
    item = Run(o, proxy, state="absent").one()
    assert (item["changed"], item["outcome"]) == (False, "unchanged") and proxy.calls == []


# --- replace: create first, then delete -----------------------------------------

def test_replace_creates_waits_active_then_deletes(o):
    """Issue 15 defect 1: the old listener goes only once its replacement is ACTIVE."""
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(protocol_port=9100, description="kept")])
    proxy.statuses["new-1"] = ["PENDING_CREATE", "ACTIVE"]
    item = Run(o, proxy).one()
    assert (item["changed"], item["action"], item["outcome"]) == (True, "replace", "changed")
    calls = ops(proxy)
    create = calls.index(("create_listener", 8088))
    active = [i for i, c in enumerate(calls) if c == ("get_listener", "new-1")][1]      # read as ACTIVE
    delete = calls.index(("delete_listener", "l-1"))
    assert create < active < delete
    assert [w[0] for w in proxy.writes()] == ["create_listener", "delete_listener"]
    assert proxy.writes()[0][1]["description"] == "kept"
    assert list(proxy.store) == ["new-1"]
    assert item["listener"]["id"] == "new-1" and item["scrape_target"] == "192.0.2.10:8088"


def test_replace_whose_create_is_refused_keeps_the_old_listener(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(protocol_port=9100)])
    proxy.faults["create_listener"] = [HttpError(400, "Invalid input for field/attribute protocol_port.")]
    item = Run(o, proxy).one()
    assert (item["failed"], item["changed"], item["outcome"]) == (True, False, "failed")
    assert item["msg"] == (
        f"Could not create listener 'prometheus' on load balancer 'web' ({LB_ID}): the API answered HTTP "
        "400: Invalid input for field/attribute protocol_port; the existing listener 'prometheus' (l-1) "
        "on port 9100 was kept and still serves /metrics.")
    assert [w[0] for w in proxy.writes()] == ["create_listener"] and list(proxy.store) == ["l-1"]
    assert item["listener"]["id"] == "l-1" and item["scrape_target"] == "192.0.2.10:9100"
    assert item["diff"] == {}


def test_replace_whose_new_listener_goes_to_error_is_unconfirmed_and_keeps_the_old_one(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(protocol_port=9100)])
    proxy.new_listener_status = "ERROR"
    item = Run(o, proxy).one()
    assert (item["failed"], item["changed"], item["outcome"]) == (True, True, "unconfirmed")
    assert item["msg"].startswith("Listener 'prometheus' (new-1) is in provisioning status ERROR")
    assert item["msg"].endswith("the existing listener 'prometheus' (l-1) on port 9100 was kept and still "
                                "serves /metrics.")
    assert "delete_listener" not in proxy.ops() and "l-1" in proxy.store
    assert item["diff"]["after"]["protocol_port"] == 8088       # what was written is reported


def test_create_accepted_then_listener_error_is_unconfirmed(o):
    """Issue 15: a write that went through but whose wait failed is not plain 'failed'."""
    proxy = FakeProxy(lbs=[lb()])
    proxy.new_listener_status = "ERROR"
    item = Run(o, proxy).one()
    assert (item["failed"], item["changed"], item["outcome"]) == (True, True, "unconfirmed")
    assert "is in provisioning status ERROR" in item["msg"] and "was kept" not in item["msg"]


def test_interrupted_replace_is_finished_on_the_next_run(o):
    """The next run after a replace that died between create and delete converges: the
    listener on the wanted port stays, the leftover is deleted."""
    new, old = listener(id="new", protocol_port=8088), listener(id="old", protocol_port=9100)
    proxy = FakeProxy(lbs=[lb()], listeners=[old, new])
    item = Run(o, proxy).one()
    assert (item["changed"], item["outcome"]) == (True, "changed")
    assert proxy.writes() == [("delete_listener", "old")] and list(proxy.store) == ["new"]
    second = Run(o, proxy).one()
    assert (second["changed"], second["outcome"]) == (False, "unchanged")


def test_interrupted_replace_reports_the_listener_that_stays(o):
    new, old = listener(id="new", protocol_port=8088), listener(id="old", protocol_port=9100)
    checked = Run(o, FakeProxy(lbs=[lb()], listeners=[old, new]), check_mode=True).one()
    item = Run(o, FakeProxy(lbs=[lb()], listeners=[old, new])).one()
    assert checked["listener"]["id"] == "new"
    assert item["listener"] is not None and item["listener"]["id"] == "new"
    assert item["scrape_target"] == checked["scrape_target"] == "192.0.2.10:8088"


# --- broken objects: repaired or failed, never unchanged -------------------------

def test_listener_in_error_is_repaired_delete_then_create(o):
    """Issue 15 defect 2: a listener in ERROR used to count as unchanged."""
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(provisioning_status="ERROR", description="kept")])
    item = Run(o, proxy).one()
    assert (item["changed"], item["action"], item["outcome"], item["failed"]) == (True, "repair", "changed", False)
    assert [(w[0], w[1] if w[0] == "delete_listener" else w[1]["protocol_port"]) for w in proxy.writes()] == \
        [("delete_listener", "l-1"), ("create_listener", 8088)]
    assert proxy.writes()[1][1]["description"] == "kept"
    assert list(proxy.store) == ["new-1"] and item["listener"]["provisioning_status"] == "ACTIVE"


def test_listener_found_pending_that_turns_to_error_is_repaired(o):
    """A listener stuck in PENDING_CREATE (worker killed mid-rollout) is awaited; once it is
    in ERROR, the plan becomes a repair."""
    proxy = FakeProxy(lbs=[lb(provisioning_status="PENDING_UPDATE")],
                      listeners=[listener(provisioning_status="PENDING_CREATE")])
    proxy.statuses[LB_ID] = ["PENDING_UPDATE", "ACTIVE"]
    proxy.statuses["l-1"] = ["ERROR"]
    item = Run(o, proxy).one()
    assert (item["action"], item["outcome"]) == ("repair", "changed")
    assert [w[0] for w in proxy.writes()] == ["delete_listener", "create_listener"]


def test_listener_found_pending_that_becomes_active_is_unchanged(o):
    proxy = FakeProxy(lbs=[lb(provisioning_status="PENDING_UPDATE")],
                      listeners=[listener(provisioning_status="PENDING_UPDATE")])
    proxy.statuses[LB_ID] = ["PENDING_UPDATE", "ACTIVE"]
    proxy.statuses["l-1"] = ["ACTIVE"]
    item = Run(o, proxy).one()
    assert (item["changed"], item["outcome"]) == (False, "unchanged") and proxy.writes() == []
    assert item["listener"]["provisioning_status"] == "ACTIVE"
    assert item["load_balancer"]["provisioning_status"] == "ACTIVE"


@pytest.mark.parametrize("check_mode", [False, True])
def test_load_balancer_in_error_fails_and_is_never_unchanged(o, check_mode):
    proxy = FakeProxy(lbs=[lb(provisioning_status="ERROR")], listeners=[listener()])
    item = Run(o, proxy, check_mode=check_mode).one()
    assert (item["failed"], item["changed"], item["outcome"]) == (True, False, "failed")
    assert item["msg"].startswith(f"Load balancer 'web' ({LB_ID}) is in provisioning status ERROR")
    assert proxy.writes() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_load_balancer_stuck_pending_fails_after_the_timeout(o, check_mode):
    proxy = FakeProxy(lbs=[lb(provisioning_status="PENDING_UPDATE")], listeners=[listener()])
    run = Run(o, proxy, check_mode=check_mode, timeout=45)
    item = run.one()
    assert (item["failed"], item["changed"], item["outcome"]) == (True, False, "failed")
    assert item["msg"].startswith(f"Timed out after 45s waiting for load balancer 'web' ({LB_ID}) to become "
                                  "ACTIVE; it is still PENDING_UPDATE.")
    assert run.clock.now - 1000.0 == pytest.approx(45) and proxy.writes() == []


def test_listener_stuck_pending_fails_after_the_timeout(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(provisioning_status="PENDING_CREATE")])
    item = Run(o, proxy, timeout=10).one()
    assert item["outcome"] == "failed"
    assert item["msg"].startswith("Timed out after 10s waiting for listener 'prometheus' (l-1)")


def test_a_busy_load_balancer_is_waited_for_then_written(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(allowed_cidrs=["192.0.2.0/24"])])
    proxy.faults["update_listener"] = [immutable(), immutable()]
    run = Run(o, proxy)
    item = run.one()
    assert item["outcome"] == "changed" and run.clock.sleeps[:2] == [0.5, 1.0]
    assert [w[0] for w in proxy.writes()] == ["update_listener"] * 3


def test_a_reset_before_the_create_took_effect_sends_it_again(o):
    """recover() looks for the new name and port: the old listener of a replace (same name,
    other port) is not mistaken for the new one."""
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(protocol_port=9100)])
    proxy.faults["create_listener"] = [ConnectionResetError(104, "Connection reset by peer")]
    item = Run(o, proxy).one()
    assert item["outcome"] == "changed" and item["action"] == "replace"
    assert proxy.ops().count("create_listener") == 2 and list(proxy.store) == ["new-1"]
    assert item["listener"]["protocol_port"] == 8088


def test_a_lost_create_answer_and_a_reset_while_recovering_still_make_one_listener(o):
    from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import Lost
    proxy = FakeProxy(lbs=[lb()])
    proxy.faults["create_listener"] = [Lost(ConnectionResetError(104, "Connection reset by peer"))]
    # The first listing is the module's read; the second is recover()'s.
    proxy.faults["listeners"] = [None, ConnectionResetError(104, "Connection reset by peer")]
    item = Run(o, proxy).one()
    assert proxy.ops().count("create_listener") == 1 and list(proxy.store) == ["new-1"]
    assert (item["outcome"], item["changed"], item["failed"]) == ("changed", True, False)


def test_a_busy_load_balancer_with_an_active_listener_is_awaited_and_unchanged(o):
    proxy = FakeProxy(lbs=[lb(provisioning_status="PENDING_UPDATE")], listeners=[listener()])
    proxy.statuses[LB_ID] = ["PENDING_UPDATE", "ACTIVE"]
    item = Run(o, proxy).one()
    assert (item["changed"], item["outcome"]) == (False, "unchanged")
    assert item["load_balancer"]["provisioning_status"] == "ACTIVE"
    assert proxy.ops() == ["get_load_balancer", "get_load_balancer"] and proxy.writes() == []


def test_a_lost_create_answer_is_recovered_not_sent_twice(o):
    from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import Lost
    proxy = FakeProxy(lbs=[lb()])
    proxy.faults["create_listener"] = [Lost(ConnectionResetError(104, "Connection reset by peer"))]
    item = Run(o, proxy).one()
    assert item["outcome"] == "changed" and item["listener"]["id"] == "new-1"
    assert proxy.ops().count("create_listener") == 1 and list(proxy.store) == ["new-1"]


# --- check mode ------------------------------------------------------------------

SCENARIOS = {
    "create": dict(listeners=[], options={}),
    "update": dict(listeners=[listener(allowed_cidrs=["192.0.2.0/24"], tags=["x"])], options={"tags": ["y"]}),
    "rename": dict(listeners=[listener(name="metrics")], options={}),
    "replace": dict(listeners=[listener(protocol_port=9100)], options={}),
    "repair": dict(listeners=[listener(provisioning_status="ERROR")], options={}),
    "leftovers": dict(listeners=[listener(id="old", protocol_port=9100), listener(id="new")], options={}),
    "unchanged": dict(listeners=[listener()], options={}),
    "delete": dict(listeners=[listener()], options={"state": "absent"}),
    "absent": dict(listeners=[], options={"state": "absent"}),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_check_mode_predicts_the_real_run_and_writes_nothing(o, name):
    scenario = SCENARIOS[name]
    checked_proxy = FakeProxy(lbs=[lb()], listeners=scenario["listeners"])
    checked = Run(o, checked_proxy, check_mode=True, **scenario["options"]).one()
    real = Run(o, FakeProxy(lbs=[lb()], listeners=scenario["listeners"]), **scenario["options"]).one()
    assert not set(checked_proxy.ops()) & set(WRITES)
    for key in ("changed", "action", "outcome", "diff", "failed", "skipped", "msg"):
        assert checked[key] == real[key], key
    if real["listener"] is None:
        assert checked["listener"] is None
    else:
        keys = set(o.plan.LISTENER_KEYS) | {"protocol", "provisioning_status"}
        assert {k: checked["listener"].get(k) for k in keys} == {k: real["listener"].get(k) for k in keys}
        assert checked["scrape_target"] == real["scrape_target"]


def test_check_mode_with_a_pending_listener_predicts_after_waiting(o):
    proxy = FakeProxy(lbs=[lb(provisioning_status="PENDING_UPDATE")],
                      listeners=[listener(provisioning_status="PENDING_UPDATE")])
    proxy.statuses[LB_ID] = ["PENDING_UPDATE", "ACTIVE"]
    proxy.statuses["l-1"] = ["ERROR"]
    item = Run(o, proxy, check_mode=True).one()
    assert (item["action"], item["outcome"]) == ("repair", "changed") and proxy.writes() == []


# --- skips, old APIs, plan failures ------------------------------------------------

def test_provider_without_prometheus_is_skipped_without_any_call(o):
    proxy = FakeProxy(lbs=[lb(provider="ovn")])
    item = Run(o, proxy).one()
    assert (item["skipped"], item["failed"], item["changed"], item["outcome"]) == (True, False, False, "skipped")
    assert "provider 'ovn', which does not support PROMETHEUS listeners" in item["msg"]
    assert "octavia.monitoring.stats" in item["msg"] and proxy.calls == []


def test_state_absent_does_not_skip_other_providers(o):
    proxy = FakeProxy(lbs=[lb(provider="ovn")])
    item = Run(o, proxy, state="absent", check_mode=True).one()
    assert not item["skipped"] and not item["changed"] and item["listener"] is None


def test_501_on_create_is_a_skip(o):
    proxy = FakeProxy(lbs=[lb(provider="acme")])
    proxy.faults["create_listener"] = [HttpError(501, "Provider 'acme' does not support a requested "
                                                      "option: PROMETHEUS")]
    item = Run(o, proxy).one()
    assert (item["skipped"], item["failed"], item["changed"], item["outcome"]) == (True, False, False, "skipped")
    assert item["msg"].startswith("Load balancer 'web' uses the provider 'acme', which does not support "
                                  "PROMETHEUS listeners (Provider 'acme' does not support a requested option: "
                                  "PROMETHEUS); use octavia.monitoring.lb_stats_info")
    assert "octavia_stats_exposition_path" in item["msg"]
    assert (item["action"], item["diff"], item["listener"], item["scrape_target"]) == (None, {}, None, None)


def test_disabled_prometheus_protocol_is_said_in_the_collections_words(o):
    proxy = FakeProxy(lbs=[lb()])
    proxy.faults["create_listener"] = [HttpError(400, "The selected protocol is not allowed in this "
                                                      "deployment: PROMETHEUS")]
    item = Run(o, proxy).one()
    assert item["outcome"] == "failed" and item["msg"] == o.plan.disabled_protocol_message()


def test_an_api_too_old_for_prometheus_fails_before_any_write(o):
    proxy = FakeProxy(lbs=[lb()], versions=("v2.0", "v2.24"))
    with pytest.raises(o.errors.PlanError, match="^This Octavia API is at v2.24"):
        Run(o, proxy).one()
    assert proxy.writes() == []


def test_plan_failures_fail_that_load_balancer_alone(o):
    busy = lb(id=LB2_ID, name="busy")
    tcp = listener(id="t", name="app", protocol="TCP", load_balancers=[{"id": LB2_ID}])
    proxy = FakeProxy(lbs=[lb(), busy], listeners=[tcp])
    results = Run(o, proxy).fleet()
    by_name = {r["requested"]: r for r in results}
    assert by_name[LB2_ID]["failed"] and by_name[LB2_ID]["outcome"] == "failed"
    assert "already used by the TCP listener 'app'" in by_name[LB2_ID]["msg"]
    assert by_name[LB_ID]["outcome"] == "changed"
    assert [w[1]["load_balancer_id"] for w in proxy.writes()] == [LB_ID]


def test_plan_failure_carries_its_candidates(o):
    dup = [listener(id="a", protocol_port=9100), listener(id="b", protocol_port=9200)]
    item = Run(o, FakeProxy(lbs=[lb()], listeners=dup)).one()
    assert item["outcome"] == "failed" and [c["id"] for c in item["candidates"]] == ["a", "b"]
    with pytest.raises(o.errors.OctaviaError) as err:
        o.rollout.single_result(item)
    assert err.value.extra["candidates"] == item["candidates"] and err.value.extra["outcome"] == "failed"


def test_cidr_of_the_wrong_family_fails_before_any_write(o):
    proxy = FakeProxy(lbs=[lb()])
    item = Run(o, proxy, allowed_cidrs=["2001:db8::/64"]).one()
    assert item["outcome"] == "failed" and "IPv6 but load balancer 'web' has only IPv4 VIPs" in item["msg"]
    assert proxy.calls == []


def test_an_unexpected_exception_is_still_one_sentence(o):
    class Broken(FakeProxy):
        def _create(self, resource_type, **body):
            super()._create(resource_type, **body)
            return None             # an answer without a listener

    item = Run(o, Broken(lbs=[lb()])).one()
    assert item["outcome"] == "unconfirmed" and item["msg"].startswith("Unexpected error: TypeError(")


# --- several load balancers ---------------------------------------------------------

def test_fleet_runs_each_load_balancer_on_its_own_connection_and_sorts_results(o):
    lbs = [lb(id=f"{n:08d}-aaaa-4bbb-8ccc-000000000000", name=f"lb-{n:02d}", vip_address=f"192.0.2.{n}")
           for n in range(1, 9)]
    proxy = FakeProxy(lbs=lbs)
    run = Run(o, proxy, concurrency=4)
    results = run.fleet()
    assert [r["load_balancer"]["name"] for r in results] == [f"lb-{n:02d}" for n in range(1, 9)]
    assert all(r["outcome"] == "changed" for r in results)
    assert 1 <= len(run.opened) <= 4 and all(c.closed for c in run.opened)
    assert not run.conn.closed          # the caller's connection is the caller's to close
    assert len(proxy.store) == 8 and ops(proxy).count(("get",)) == 1
    assert proxy.ops().count("get_quota") == 1            # one project: its quota is read once


def test_fleet_check_mode_reports_without_writing(o):
    a = lb()
    b = lb(id=LB2_ID, name="api", vip_address="192.0.2.11")
    stale = listener(id="l-2", allowed_cidrs=["192.0.2.0/24"], load_balancers=[{"id": LB2_ID}])
    proxy = FakeProxy(lbs=[a, b], listeners=[listener(), stale])
    results = Run(o, proxy, check_mode=True, concurrency=2).fleet(["web", "api"])
    assert [r["load_balancer"]["name"] for r in results] == ["api", "web"]
    api = results[0]
    assert api["changed"] and api["action"] == "update" and api["outcome"] == "changed"
    assert api["diff"]["before"]["allowed_cidrs"] == ["192.0.2.0/24"]
    assert api["diff"]["after"]["allowed_cidrs"] == ["10.0.0.0/8"]
    assert api["listener"]["allowed_cidrs"] == ["10.0.0.0/8"] and api["listener"]["id"] == "l-2"
    assert not results[1]["changed"] and proxy.writes() == []


def test_fleet_unresolved_names_fail_alone_and_come_last(o):
    ovn = lb(id=LB2_ID, name="l4", provider="ovn")
    proxy = FakeProxy(lbs=[lb(), ovn], listeners=[listener()])
    results = Run(o, proxy).fleet(["ghost", "l4", "web"])
    assert [r["requested"] for r in results] == ["l4", "web", "ghost"]
    ghost = results[-1]
    assert ghost["failed"] and ghost["outcome"] == "failed" and ghost["load_balancer"] is None
    assert ghost["msg"].startswith("Load balancer 'ghost' was not found")
    assert results[0]["outcome"] == "skipped" and results[1]["outcome"] == "unchanged"


# --- fail() -------------------------------------------------------------------------

def planned(o, **options):
    run = Run(o, FakeProxy(lbs=[lb()], listeners=[listener(allowed_cidrs=["192.0.2.0/24"])]), **options)
    fleet = {"load_balancers": [lb()], "listeners": {LB_ID: [listener(allowed_cidrs=["192.0.2.0/24"])]},
             "floating_ips": {}, "port_security": {}, "listener_usage": {}}
    item, state = run.rollout.plan(fleet, "web", lb())
    return run.rollout, item, state


def test_fail_a_refused_provider_is_a_skip(o):
    rollout, item, state = planned(o)
    rollout.fail(item, state, o.errors.OctaviaError("Provider says no.", status=501))
    assert item["skipped"] and not item["failed"] and not item["changed"] and item["diff"] == {}
    assert item["outcome"] == "skipped" and "octavia.monitoring.stats" in item["msg"]


def test_fail_a_501_after_a_write_is_not_a_skip(o):
    rollout, item, state = planned(o)
    state["writes"] = 1
    rollout.fail(item, state, o.errors.OctaviaError("refused", status=501))
    assert item["failed"] and item["changed"] and item["outcome"] == "unconfirmed"
    assert item["diff"]["after"]["allowed_cidrs"] == ["10.0.0.0/8"]


def test_fail_without_a_write_keeps_the_current_listener(o):
    rollout, item, state = planned(o)
    rollout.fail(item, state, o.errors.OctaviaError("refused", status=500))
    assert item["failed"] and not item["changed"] and item["diff"] == {} and item["outcome"] == "failed"
    assert item["listener"]["allowed_cidrs"] == ["192.0.2.0/24"]
    assert item["scrape_target"] == "192.0.2.10:8088" and item["msg"] == "refused"


def test_fail_a_501_with_state_absent_is_a_failure(o):
    rollout, item, state = planned(o, state="absent")
    rollout.fail(item, state, o.errors.OctaviaError("no", status=501))
    assert item["failed"] and not item["skipped"]


# --- results --------------------------------------------------------------------------

def test_new_item_has_every_documented_key(o):
    assert o.rollout.new_item("web") == {
        "requested": "web", "load_balancer": None, "changed": False, "action": None, "outcome": "unchanged",
        "diff": {}, "listener": None, "scrape_target": None, "tls_change": None, "skipped": False,
        "failed": False, "msg": ""}


def test_skip_message(o):
    msg = o.rollout.skip_message("It is not supported.")
    assert msg.startswith("It is not supported; ") and "octavia.monitoring.stats" in msg
    assert "octavia_stats_exposition_path" in msg and msg.endswith(".prom.")


def test_labelled_diff_names_the_load_balancer_and_keeps_the_original(o):
    diff = {"before": {}, "after": {"a": 1}, "before_header": "x", "after_header": "y"}
    out = o.rollout.labelled_diff(lb(), diff)
    assert out["before_header"] == f"load balancer 'web' ({LB_ID}): x"
    assert out["after_header"].endswith("): y")
    assert diff["before_header"] == "x"
    assert o.rollout.labelled_diff(lb(), {"before": {}, "after": {}}) == {"before": {}, "after": {}}


def result(outcome, action=None, name="a", ident="i", msg="", requested=None):
    item = {"outcome": outcome, "action": action, "changed": outcome in ("changed", "unconfirmed"),
            "failed": outcome in ("failed", "unconfirmed"), "skipped": outcome == "skipped", "msg": msg,
            "load_balancer": {"id": ident, "name": name} if ident else None, "requested": requested}
    return item


def test_summarise_counts_outcomes_and_actions(o):
    """summarise now counts by outcome (unconfirmed is new) and counts unconfirmed actions too."""
    results = [result("changed", "create", "a", "i1"), result("changed", "create", "", "i2"),
               result("changed", "update", "c", "i3"), result("unchanged", None, "d", "i4"),
               result("skipped", None, "e", "i5"), result("unconfirmed", "replace", "f", "i6", "half done"),
               result("failed", "update", None, None, "not found", requested="zz")]
    assert o.rollout.summarise(results) == {
        "total": 7, "changed": 3, "unchanged": 1, "skipped": 1, "failed": 1, "unconfirmed": 1,
        "actions": {"create": 2, "update": 1, "replace": 1}}
    assert o.rollout.summarise([]) == {"total": 0, "changed": 0, "unchanged": 0, "skipped": 0, "failed": 0,
                                       "unconfirmed": 0, "actions": {}}


def test_failure_message_and_labels(o):
    results = [result("changed", "create", "a", "i1"), result("unconfirmed", "replace", "f", "i6", "half done"),
               result("failed", None, None, None, "not found", requested="zz"),
               result("failed", None, "", "i7", "broken")]
    assert o.rollout.failure_message(results) == (
        "3 of 4 load balancers failed: f (i6): half done; zz: not found; i7: broken")
    assert o.rollout.failure_message(results[:1]) is None
    assert o.rollout.lb_label({"load_balancer": None, "requested": None}) == ""


def test_single_result_of_a_success(o):
    item = o.rollout.new_item("web", {"id": "x"}, changed=True, action="create", outcome="changed")
    assert o.rollout.single_result(item) == {
        "changed": True, "action": "create", "outcome": "changed", "diff": {}, "listener": None,
        "load_balancer": {"id": "x"}, "scrape_target": None, "tls_change": None}


@pytest.mark.parametrize("values", [
    {"failed": True, "outcome": "failed", "msg": "no"},
    {"skipped": True, "outcome": "skipped", "msg": "no"},
    {"failed": True, "outcome": "unconfirmed", "changed": True, "action": "replace", "msg": "no"},
])
def test_single_result_of_a_failure_or_skip_raises_with_the_result_keys(o, values):
    item = o.rollout.new_item("web", {"id": "x"}, **values)
    with pytest.raises(o.errors.OctaviaError) as err:
        o.rollout.single_result(item)
    assert str(err.value) == "no"
    assert err.value.extra["changed"] is values.get("changed", False)
    assert err.value.extra["outcome"] == values["outcome"]
    assert set(err.value.extra) == {"changed", "action", "outcome", "diff", "listener", "load_balancer",
                                    "scrape_target", "tls_change"}


# --- issue 14: the quota preflight --------------------------------------------------

LB3_ID = "33333333-aaaa-4bbb-8ccc-000000000003"


def quota_sentence(project, limit, in_use):
    """allot_quota's reason; ``in_use`` counts the listeners this run already gives the project."""
    return (f"Project {project} is at its listener quota: the limit is {limit} and {in_use} listeners "
            "exist or are being made by this run, so there is no room for this load balancer's "
            "PROMETHEUS listener; it was skipped before any write. Raise the project's listener "
            "quota, or free listeners.")


def quota_fleet():
    """web (p1, needs a create), db (p1, needs an update), api (p2, needs a create)."""
    lbs = [lb(), lb(id=LB3_ID, name="db", vip_address="192.0.2.13", vip_port_id="port-3"),
           lb(id=LB2_ID, name="api", vip_address="192.0.2.11", vip_port_id="port-2", project_id="p2")]
    listeners = [listener(id="l-db", allowed_cidrs=["192.0.2.0/24"], load_balancers=[{"id": LB3_ID}],
                          project_id="p1")]
    proxy = FakeProxy(lbs=lbs, listeners=listeners)
    proxy.quotas["p1"] = 1                # p1 is at its limit: its one listener is db's
    return proxy


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_project_at_its_quota_is_skipped_before_any_write_and_the_others_are_done(o, check_mode):
    proxy = quota_fleet()
    results = Run(o, proxy, check_mode=check_mode).fleet()
    by_name = {r["load_balancer"]["name"]: r for r in results}
    web = by_name["web"]
    assert (web["outcome"], web["skipped"], web["failed"], web["changed"]) == ("skipped", True, False, False)
    assert web["msg"] == quota_sentence("p1", 1, 1)
    assert (web["diff"], web["listener"], web["scrape_target"]) == ({}, None, None)
    # An update needs no room, even in a project at its quota; another project is not held back.
    assert (by_name["db"]["outcome"], by_name["db"]["action"]) == ("changed", "update")
    assert (by_name["api"]["outcome"], by_name["api"]["action"]) == ("changed", "create")
    # Only the projects where a listener would be added are asked, each once, before any write.
    assert sorted(c[1] for c in proxy.calls if c[0] == "get_quota") == ["p1", "p2"]
    if check_mode:
        assert proxy.writes() == []
    else:
        assert [(w[0], w[1] if w[0] == "update_listener" else w[1]["load_balancer_id"])
                for w in sorted(proxy.writes(), key=lambda w: w[0])] == [
            ("create_listener", LB2_ID), ("update_listener", "l-db")]
        last_read = max(i for i, c in enumerate(proxy.calls) if c[0] == "get_quota")
        assert last_read < min(i for i, c in enumerate(proxy.calls) if c[0] in WRITES)


def test_check_mode_predicts_the_quota_skips(o):
    checked = Run(o, quota_fleet(), check_mode=True).fleet()
    real = Run(o, quota_fleet()).fleet()
    for a, b in zip(checked, real):
        for key in ("requested", "changed", "action", "outcome", "diff", "failed", "skipped", "msg"):
            assert a[key] == b[key], (a["requested"], key)


def test_a_load_balancer_skipped_for_its_quota_has_no_action(o):
    results = Run(o, quota_fleet()).fleet(["web"])
    assert results[0]["outcome"] == "skipped" and results[0]["action"] is None


def test_the_load_balancers_of_one_project_get_its_room_in_order(o):
    lbs = [lb(id=f"{n:08d}-aaaa-4bbb-8ccc-000000000000", name=f"lb-{n}", vip_address=f"192.0.2.{n}",
              vip_port_id=f"port-{n}") for n in range(1, 5)]
    other = listener(id="tcp", protocol="TCP", protocol_port=80, load_balancers=[{"id": lbs[0]["id"]}],
                     project_id="p1")
    proxy = FakeProxy(lbs=lbs, listeners=[other])
    proxy.quotas["p1"] = 3                # one listener exists: room for two more
    results = Run(o, proxy, concurrency=2).fleet()
    assert [(r["load_balancer"]["name"], r["outcome"]) for r in results] == [
        ("lb-1", "changed"), ("lb-2", "changed"), ("lb-3", "skipped"), ("lb-4", "skipped")]
    assert sorted(w[1]["load_balancer_id"] for w in proxy.writes()) == [lbs[0]["id"], lbs[1]["id"]]
    assert results[2]["msg"].startswith("Project p1 is at its listener quota: the limit is 3 ")
    assert proxy.ops().count("get_quota") == 1


def test_a_replace_needs_room_for_a_moment_and_a_repair_does_not(o):
    replace = listener(protocol_port=9100, project_id="p1")
    broken = listener(id="l-2", provisioning_status="ERROR", load_balancers=[{"id": LB2_ID}], project_id="p1")
    proxy = FakeProxy(lbs=[lb(), lb(id=LB2_ID, name="api", vip_address="192.0.2.11")],
                      listeners=[replace, broken])
    proxy.quotas["p1"] = 2
    by_name = {r["load_balancer"]["name"]: r for r in Run(o, proxy).fleet()}
    assert (by_name["web"]["outcome"], by_name["web"]["msg"]) == ("skipped", quota_sentence("p1", 2, 2))
    assert "l-1" in proxy.store                        # the old listener still serves /metrics
    assert (by_name["api"]["action"], by_name["api"]["outcome"]) == ("repair", "changed")


def test_an_unreadable_quota_is_a_warning_and_the_rollout_goes_on(o):
    proxy = FakeProxy(lbs=[lb()])
    proxy.quotas["p1"] = forbidden()
    run = Run(o, proxy)
    item = run.one()
    assert item["outcome"] == "changed" and [w[0] for w in proxy.writes()] == ["create_listener"]
    assert run.rollout.warnings == ["The listener quota of project p1 could not be read with these "
                                    "credentials, so it was not checked before writing."]
    assert ("listeners",) not in ops(proxy)          # no usage to count without a limit


def test_another_quota_failure_fails_the_run_before_any_write_in_one_sentence(o):
    proxy = FakeProxy(lbs=[lb()])
    proxy.quotas["p1"] = HttpError(500, "database gone")
    with pytest.raises(o.errors.OctaviaError, match=r"^Could not read the listener quota of project p1: "
                                                    r"the API answered HTTP 500: database gone"):
        Run(o, proxy).one()
    assert proxy.writes() == []


def test_usage_comes_from_the_fleet_listing_and_else_one_listing_per_project(o):
    """read_fleet's listener_usage serves p1 (it has listeners); p2 has none there, so its
    listeners are listed once; an unlimited p3 is not counted at all."""
    lbs = [lb(), lb(id=LB2_ID, name="api", vip_address="192.0.2.11", vip_port_id="port-2", project_id="p2"),
           lb(id=LB3_ID, name="db", vip_address="192.0.2.13", vip_port_id="port-3", project_id="p3")]
    tcp = listener(id="tcp", protocol="TCP", protocol_port=80, project_id="p1")
    proxy = FakeProxy(lbs=lbs, listeners=[tcp])
    proxy.quotas.update(p1=5, p2=5)
    results = Run(o, proxy).fleet()
    assert [r["outcome"] for r in results] == ["changed"] * 3
    listings = [c for c in proxy.calls if c[0] == "listeners"]
    assert listings == [("listeners", {"project_id": "p2"})]


def test_the_single_path_counts_the_projects_listeners_with_one_listing(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(id="t", protocol="TCP", protocol_port=80, project_id="p1")])
    proxy.quotas["p1"] = 1
    item = Run(o, proxy).one()
    assert item["outcome"] == "skipped" and item["msg"] == quota_sentence("p1", 1, 1)
    assert [c for c in proxy.calls if c[0] in ("listeners", "get_quota")] == [
        ("get_quota", "p1"), ("listeners", {"project_id": "p1"})]
    assert proxy.writes() == []


def test_no_quota_is_read_when_nothing_is_added(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(allowed_cidrs=["192.0.2.0/24"], project_id="p1")])
    proxy.quotas["p1"] = 0
    item = Run(o, proxy).one()
    assert item["action"] == "update" and item["outcome"] == "changed"
    assert "get_quota" not in proxy.ops()
    delete = Run(o, FakeProxy(lbs=[lb()], listeners=[listener()]), state="absent").one()
    assert delete["outcome"] == "changed"


# --- issue 14: the allowed_cidrs guard ----------------------------------------------

def guard_fleet():
    """web has vip_sg_ids; api is a plain load balancer of the same project."""
    return FakeProxy(lbs=[lb(vip_sg_ids=["sg-1"]),
                          lb(id=LB2_ID, name="api", vip_address="192.0.2.11", vip_port_id="port-2")])


def test_vip_sg_ids_warn_names_the_load_balancer_and_the_write_happens(o):
    proxy = guard_fleet()
    run = Run(o, proxy)
    results = run.fleet()
    assert [(r["load_balancer"]["name"], r["outcome"]) for r in results] == [("api", "changed"), ("web", "changed")]
    [warning] = run.rollout.warnings
    assert warning.startswith("Load balancer 'web' uses vip_sg_ids") and "allowed_cidrs" in warning
    bodies = {w[1]["load_balancer_id"]: w[1] for w in proxy.writes()}
    # Octavia refuses allowed_cidrs next to vip_sg_ids: web's listener goes without them.
    assert "allowed_cidrs" not in bodies[LB_ID] and bodies[LB2_ID]["allowed_cidrs"] == ["10.0.0.0/8"]
    # ... and the next run is unchanged, with the warning again.
    again = Run(o, proxy)
    assert [r["outcome"] for r in again.fleet()] == ["unchanged", "unchanged"]
    assert again.rollout.warnings == [warning]


@pytest.mark.parametrize("check_mode", [False, True])
def test_vip_sg_ids_fail_fails_that_load_balancer_before_any_write(o, check_mode):
    proxy = guard_fleet()
    run = Run(o, proxy, check_mode=check_mode, allowed_cidrs_unenforced="fail")
    by_name = {r["load_balancer"]["name"]: r for r in run.fleet()}
    web = by_name["web"]
    assert (web["outcome"], web["failed"], web["changed"], web["diff"]) == ("failed", True, False, {})
    assert web["msg"].startswith("Load balancer 'web' uses vip_sg_ids")
    assert web["msg"].endswith("Nothing was written (allowed_cidrs_unenforced=fail).")
    assert by_name["api"]["outcome"] == "changed" and run.rollout.warnings == []
    assert all(w[1]["load_balancer_id"] == LB2_ID for w in proxy.writes())
    assert len(proxy.writes()) == (0 if check_mode else 1)


@pytest.mark.parametrize("security, warned", [(False, True), (True, False)])
def test_port_security_off_on_the_vip_port_warns_and_keeps_allowed_cidrs(o, security, warned):
    proxy = FakeProxy(lbs=[lb()])
    network = FakeNetwork(ports=[Port("port-1", security)])
    run = Run(o, proxy, network=network)
    item = run.one()
    assert item["outcome"] == "changed" and proxy.writes()[0][1]["allowed_cidrs"] == ["10.0.0.0/8"]
    assert network.port_queries == [{"id": "port-1"}]
    expected = ["The VIP port of load balancer 'web' has port security disabled, so nothing enforces "
                "allowed_cidrs and /metrics is open to every address that reaches the VIP."]
    assert run.rollout.warnings == (expected if warned else [])


def test_port_security_off_with_fail_fails_before_any_write_in_the_fleet(o):
    proxy = FakeProxy(lbs=[lb(), lb(id=LB2_ID, name="api", vip_address="192.0.2.11", vip_port_id="port-2")])
    network = FakeNetwork(ports=[Port("port-1", False), Port("port-2", True)])
    run = Run(o, proxy, network=network, allowed_cidrs_unenforced="fail")
    by_name = {r["load_balancer"]["name"]: r for r in run.fleet()}
    assert by_name["web"]["outcome"] == "failed"
    assert by_name["web"]["msg"].startswith("The VIP port of load balancer 'web' has port security disabled")
    assert by_name["api"]["outcome"] == "changed"
    assert [w[1]["load_balancer_id"] for w in proxy.writes()] == [LB2_ID]
    assert network.port_queries == [{"id": ["port-1", "port-2"]}]      # one listing for the fleet


def test_the_guard_does_not_apply_to_state_absent(o):
    proxy = FakeProxy(lbs=[lb(vip_sg_ids=["sg-1"])], listeners=[listener(allowed_cidrs=None)])
    run = Run(o, proxy, state="absent", allowed_cidrs_unenforced="fail")
    item = run.one()
    assert item["outcome"] == "changed" and item["action"] == "delete" and run.rollout.warnings == []


def test_a_replace_on_a_load_balancer_with_vip_sg_ids_sends_no_allowed_cidrs(o):
    proxy = FakeProxy(lbs=[lb(vip_sg_ids=["sg-1"])], listeners=[listener(protocol_port=9100)])
    item = Run(o, proxy).one()
    assert item["outcome"] == "changed" and item["action"] == "replace"
    assert not proxy.writes()[0][1].get("allowed_cidrs")


# --- issue 14: TLS through the one write path ------------------------------------------

CERT, CA, CRL, SNI = "ref://cert", "ref://ca", "ref://crl", "ref://sni"
C13 = "TLS_AES_256_GCM_SHA384"


def tls_listener(**kw):
    """A PROMETHEUS listener as Octavia 19 shows it, with the TLS keys (no TLS unless given).

    Seen in the lab: unlike TERMINATED_HTTPS, a PROMETHEUS listener gets no default TLS
    versions, ciphers or ALPN protocols, with or without a certificate; those stay null.
    """
    base = listener(default_tls_container_ref=None, sni_container_refs=[], client_ca_tls_container_ref=None,
                    client_authentication="NONE", client_crl_container_ref=None,
                    tls_versions=None, tls_ciphers=None, alpn_protocols=None)
    base.update(kw)
    return base


def test_a_create_with_tls_sends_the_tls_options_and_a_second_run_is_unchanged(o):
    proxy = FakeProxy(lbs=[lb()])
    options = dict(default_tls_container_ref=CERT, sni_container_refs=[SNI, SNI], client_ca_tls_container_ref=CA,
                   client_authentication="MANDATORY", client_crl_container_ref=CRL,
                   tls_versions=["TLSv1.3", "TLSv1.2"], tls_ciphers="ECDHE-ECDSA-AES256-GCM-SHA384",
                   alpn_protocols=["h2", "http/1.1"])
    item = Run(o, proxy, **options).one()
    assert item["outcome"] == "changed" and item["action"] == "create"
    [create] = proxy.writes()
    assert create[1] == {
        "load_balancer_id": LB_ID, "protocol": "PROMETHEUS", "name": "prometheus", "protocol_port": 8088,
        "allowed_cidrs": ["10.0.0.0/8"], "default_tls_container_ref": CERT, "sni_container_refs": [SNI],
        "client_ca_tls_container_ref": CA, "client_authentication": "MANDATORY",
        "client_crl_container_ref": CRL, "tls_versions": ["TLSv1.2", "TLSv1.3"],
        "tls_ciphers": "ECDHE-ECDSA-AES256-GCM-SHA384", "alpn_protocols": ["h2", "http/1.1"]}
    assert item["diff"]["after"]["client_authentication"] == "MANDATORY"
    again = Run(o, proxy, **options).one()
    assert (again["changed"], again["outcome"]) == (False, "unchanged") and proxy.writes() == []


def test_a_change_of_tls_versions_is_an_update_in_place_with_only_that_delta(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[tls_listener(default_tls_container_ref=CERT, tls_ciphers=C13,
                                                          tls_versions=["TLSv1.3", "TLSv1.2"])])
    item = Run(o, proxy, default_tls_container_ref=CERT, tls_versions=["TLSv1.3"]).one()
    assert (item["action"], item["outcome"]) == ("update", "changed")
    assert proxy.writes() == [("update_listener", "l-1", {"tls_versions": ["TLSv1.3"]})]
    assert item["listener"]["id"] == "l-1" and item["listener"]["tls_versions"] == ["TLSv1.3"]
    assert item["diff"]["before"]["tls_versions"] == ["TLSv1.2", "TLSv1.3"]


def test_the_empty_string_removes_the_certificate_in_place(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[tls_listener(default_tls_container_ref=CERT)])
    item = Run(o, proxy, default_tls_container_ref="").one()
    assert (item["action"], item["outcome"]) == ("update", "changed")
    assert proxy.writes() == [("update_listener", "l-1", {"default_tls_container_ref": None})]
    assert item["listener"]["default_tls_container_ref"] is None
    again = Run(o, proxy, default_tls_container_ref="").one()
    assert again["outcome"] == "unchanged" and proxy.writes() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_client_ca_without_a_certificate_fails_before_any_write(o, check_mode):
    proxy = FakeProxy(lbs=[lb()])
    item = Run(o, proxy, check_mode=check_mode, client_ca_tls_container_ref=CA,
               client_authentication="MANDATORY").one()
    assert (item["outcome"], item["failed"], item["changed"]) == ("failed", True, False)
    assert item["msg"].startswith("client_ca_tls_container_ref needs a certificate to go with it")
    assert proxy.calls == []                  # not even the quota or the API version is read


@pytest.mark.parametrize("name, listeners, options", [
    ("create", [], dict(default_tls_container_ref=CERT, tls_versions=["TLSv1.3"], tls_ciphers=C13)),
    ("update", [tls_listener(default_tls_container_ref=CERT, tls_ciphers=C13)],
     dict(default_tls_container_ref=CERT, tls_versions=["TLSv1.3"])),
    ("client authentication", [tls_listener(default_tls_container_ref=CERT)],
     dict(client_ca_tls_container_ref=CA, client_authentication="MANDATORY", client_crl_container_ref=CRL)),
    ("remove", [tls_listener(default_tls_container_ref=CERT)], dict(default_tls_container_ref="")),
])
def test_check_mode_predicts_the_tls_changes(o, name, listeners, options):
    checked_proxy = FakeProxy(lbs=[lb()], listeners=listeners)
    checked = Run(o, checked_proxy, check_mode=True, **options).one()
    real = Run(o, FakeProxy(lbs=[lb()], listeners=listeners), **options).one()
    assert checked_proxy.writes() == []
    for key in ("changed", "action", "outcome", "diff", "failed", "msg"):
        assert checked[key] == real[key], key
    keys = [k for k in o.plan.TLS_KEYS if k in real["listener"]]
    assert {k: checked["listener"].get(k) for k in keys} == {k: real["listener"][k] for k in keys}


def test_a_vip_port_the_user_made_is_checked_on_the_single_path(o):
    """A load balancer created on the user's own port (vip_port_id): Octavia leaves its
    device_owner alone (allowed_address_pairs.py deletes only ports it owns)."""
    network = FakeNetwork(ports=[Port("port-1", False, device_owner="")])
    run = Run(o, FakeProxy(lbs=[lb()]), network=network)
    run.one()
    assert len(run.rollout.warnings) == 1 and "port security disabled" in run.rollout.warnings[0]


def test_a_vip_port_the_user_made_is_checked_on_the_fleet_path_too(o):
    network = FakeNetwork(ports=[Port("port-1", False, device_owner="")])
    run = Run(o, FakeProxy(lbs=[lb()]), network=network)
    run.fleet()
    assert len(run.rollout.warnings) == 1 and "port security disabled" in run.rollout.warnings[0]


def test_the_allowed_cidrs_guard_is_quiet_when_everyone_is_allowed(o):
    """Nothing to enforce with 0.0.0.0/0, so neither a warning nor (with fail) a failure."""
    proxy = FakeProxy(lbs=[lb(vip_sg_ids=["sg-1"])])
    run = Run(o, proxy, allowed_cidrs=["0.0.0.0/0"], allowed_cidrs_unenforced="fail")
    item = run.one()
    assert item["outcome"] == "changed" and run.rollout.warnings == []


def test_a_create_whose_request_timed_out_is_unconfirmed_not_failed(o):
    """The POST may have been carried out: that is 'written, not confirmed', never 'nothing written'."""
    proxy = FakeProxy(lbs=[lb()])
    proxy.faults["create_listener"] = [o.errors.OctaviaError("the API at http://x/v2 did not answer within 30 s",
                                                             kind="timeout")]
    item = Run(o, proxy).one()
    assert (item["outcome"], item["changed"], item["failed"]) == ("unconfirmed", True, True)


@pytest.mark.parametrize("options, delta", [
    (dict(client_ca_tls_container_ref=CA, client_authentication="MANDATORY"),
     {"client_ca_tls_container_ref": CA, "client_authentication": "MANDATORY"}),
    (dict(client_ca_tls_container_ref=CA, client_authentication="OPTIONAL", client_crl_container_ref=CRL),
     {"client_ca_tls_container_ref": CA, "client_authentication": "OPTIONAL", "client_crl_container_ref": CRL}),
    (dict(sni_container_refs=[SNI]), {"sni_container_refs": [SNI]}),
    (dict(tls_ciphers="ECDHE-ECDSA-AES256-GCM-SHA384"), {"tls_ciphers": "ECDHE-ECDSA-AES256-GCM-SHA384"}),
    (dict(alpn_protocols=["http/1.1", "h2"]), {"alpn_protocols": ["http/1.1", "h2"]}),
])
def test_client_authentication_and_the_other_tls_settings_are_updated_in_place(o, options, delta):
    """Issue 14: each TLS setting goes into one update of the same listener, with only what changes."""
    proxy = FakeProxy(lbs=[lb()], listeners=[tls_listener(default_tls_container_ref=CERT)])
    item = Run(o, proxy, default_tls_container_ref=CERT, **options).one()
    assert (item["action"], item["outcome"], item["tls_change"]) == ("update", "changed", None)
    assert proxy.writes() == [("update_listener", "l-1", delta)]
    assert item["listener"]["id"] == "l-1"
    again = Run(o, proxy, default_tls_container_ref=CERT, **options).one()
    assert again["outcome"] == "unchanged" and proxy.writes() == []
