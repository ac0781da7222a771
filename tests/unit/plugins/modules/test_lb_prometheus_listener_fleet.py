"""lb_prometheus_listener_fleet on scripted doubles of the SDK proxy: selection, limits,
per-load-balancer results, summary, labelled diffs and fail_on_error."""
import json

import pytest

from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import (
    WRITES,
    FakeNetwork,
    FakeProxy,
    Port,
    forbidden,
    run_module,
)

NAME = "lb_prometheus_listener_fleet"


def lb(n, **kw):
    base = {"id": f"{n:08d}-aaaa-4bbb-8ccc-000000000000", "name": f"lb-{n}", "vip_address": f"192.0.2.{n}",
            "vip_port_id": f"port-{n}", "project_id": "p1", "provider": "amphora",
            "availability_zone": None, "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
            "tags": []}
    base.update(kw)
    return base


def listener(n, **kw):
    base = {"id": f"l-{n}", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": "", "is_admin_state_up": True,
            "connection_limit": -1, "tags": [], "load_balancers": [{"id": lb(n)["id"]}],
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "project_id": "p1"}
    base.update(kw)
    return base


def args(**kw):
    base = {"allowed_cidrs": ["10.0.0.0/8"], "filters": {"name_pattern": "lb-*"}}
    base.update(kw)
    return base


def test_rollout_over_a_fleet_reports_each_load_balancer(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(1), lb(2), lb(3, provider="ovn"), lb(4, provisioning_status="ERROR")],
                      listeners=[listener(2)])
    result, opened = run_module(NAME, args(fail_on_error=False, concurrency=4), proxy, monkeypatch, capsys)
    assert "failed" not in result and result["changed"] is True
    assert [(r["load_balancer"]["name"], r["outcome"]) for r in result["results"]] == [
        ("lb-1", "changed"), ("lb-2", "unchanged"), ("lb-3", "skipped"), ("lb-4", "failed")]
    assert result["summary"] == {"total": 4, "changed": 1, "unchanged": 1, "skipped": 1, "failed": 1,
                                 "unconfirmed": 0, "actions": {"create": 1}}
    [diff] = result["diff"]
    assert diff["before_header"].startswith("load balancer 'lb-1' (")
    assert [r["diff"] for r in result["results"][1:]] == [{}, {}, {}]
    assert all(c.closed for c in opened)


def test_a_failure_fails_the_task_with_every_result(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(1), lb(2, provisioning_status="ERROR")])
    result, _opened = run_module(NAME, args(), proxy, monkeypatch, capsys)
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"].startswith("1 of 2 load balancers failed: lb-2 (00000002-aaaa-4bbb-8ccc-000000000000): "
                                    "Load balancer 'lb-2'")
    assert result["summary"]["failed"] == 1 and len(result["results"]) == 2


def test_check_mode_equals_the_real_run(no_sdk, monkeypatch, capsys):
    start = [listener(2, allowed_cidrs=["192.0.2.0/24"]), listener(3, protocol_port=9100)]
    lbs = [lb(1), lb(2), lb(3)]
    checked_proxy = FakeProxy(lbs=lbs, listeners=start)
    checked, _opened = run_module(NAME, args(_ansible_check_mode=True), checked_proxy, monkeypatch, capsys)
    applied, _opened = run_module(NAME, args(), FakeProxy(lbs=lbs, listeners=start), monkeypatch, capsys)
    assert not set(checked_proxy.ops()) & set(WRITES)
    assert checked["summary"] == applied["summary"] == {
        "total": 3, "changed": 3, "unchanged": 0, "skipped": 0, "failed": 0, "unconfirmed": 0,
        "actions": {"create": 1, "update": 1, "replace": 1}}
    assert checked["diff"] == applied["diff"] and checked["changed"] == applied["changed"]


def test_by_name_with_unknown_names(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(1), lb(2)], listeners=[listener(1), listener(2)])
    result, _opened = run_module(NAME, {"allowed_cidrs": ["10.0.0.0/8"], "load_balancers": ["lb-2", "ghost"],
                                        "fail_on_error": False}, proxy, monkeypatch, capsys)
    assert [r["requested"] for r in result["results"]] == ["lb-2", "ghost"]
    assert result["results"][1]["msg"].startswith("Load balancer 'ghost' was not found")


def test_an_empty_list_of_load_balancers_is_an_error(no_sdk, monkeypatch, capsys):
    """New (issue 15): load_balancers: [] used to succeed silently."""
    result, opened = run_module(NAME, {"allowed_cidrs": ["10.0.0.0/8"], "load_balancers": []},
                                FakeProxy(), monkeypatch, capsys)
    assert result["failed"] is True and result["msg"].startswith("load_balancers is empty;")
    assert opened == []


@pytest.mark.parametrize("concurrency", [0, 33, 1000])
def test_concurrency_is_capped(no_sdk, monkeypatch, capsys, concurrency):
    """New (issue 15): concurrency had no upper bound."""
    result, opened = run_module(NAME, args(concurrency=concurrency), FakeProxy(), monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(f"concurrency must be between 1 and 32, not {concurrency}")
    assert opened == []


def test_unknown_filter_keys_fail(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, args(filters={"name_patern": "lb-*"}), FakeProxy(), monkeypatch, capsys)
    assert result["failed"] is True and "name_patern" in result["msg"]


def test_filters_select_the_fleet(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(1), lb(2, project_id="p2"), lb(3, tags=["prod"])])
    result, _opened = run_module(NAME, args(filters={"project_ids": ["p1"]}, _ansible_check_mode=True), proxy,
                                 monkeypatch, capsys)
    assert [r["load_balancer"]["name"] for r in result["results"]] == ["lb-1", "lb-3"]
    assert json.dumps(result["summary"]).count('"total": 2') == 1


# --- issue 14: warnings, the guard and the quota through the fleet module -------------

def test_the_rollouts_warnings_reach_the_task(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(1, vip_sg_ids=["sg-1"]), lb(2), lb(3, project_id="p3")])
    proxy.quotas["p3"] = forbidden()
    network = FakeNetwork(ports=[Port("port-1", True), Port("port-2", False), Port("port-3", True)])
    result, _opened = run_module(NAME, args(), proxy, monkeypatch, capsys, network=network)
    assert "failed" not in result and result["summary"]["changed"] == 3
    warned = result["_warned"]
    assert len(warned) == 3
    assert warned[0].startswith("Load balancer 'lb-1' uses vip_sg_ids")
    assert warned[1].startswith("The VIP port of load balancer 'lb-2' has port security disabled")
    assert warned[2] == ("The listener quota of project p3 could not be read with these credentials, so it was "
                         "not checked before writing.")
    assert network.port_queries == [{"id": ["port-1", "port-2", "port-3"]}]      # one listing for the fleet


def test_allowed_cidrs_unenforced_fail_fails_those_load_balancers_and_does_the_others(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(1, vip_sg_ids=["sg-1"]), lb(2)])
    result, _opened = run_module(NAME, args(allowed_cidrs_unenforced="fail"), proxy, monkeypatch, capsys)
    assert result["failed"] is True and result["changed"] is True
    assert [(r["load_balancer"]["name"], r["outcome"]) for r in result["results"]] == [
        ("lb-1", "failed"), ("lb-2", "changed")]
    assert result["msg"].startswith("1 of 2 load balancers failed: lb-1 (00000001-aaaa-4bbb-8ccc-000000000000): "
                                    "Load balancer 'lb-1' uses vip_sg_ids")
    assert [w[1]["load_balancer_id"] for w in proxy.writes()] == [lb(2)["id"]]
    assert result["_warned"] == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_full_quota_skips_before_any_write_and_the_task_goes_on(no_sdk, monkeypatch, capsys, check_mode):
    proxy = FakeProxy(lbs=[lb(1), lb(2), lb(3, project_id="p2")], listeners=[listener(1)])
    proxy.quotas["p1"] = 1
    result, _opened = run_module(NAME, args(_ansible_check_mode=check_mode), proxy, monkeypatch, capsys)
    assert "failed" not in result
    assert [(r["load_balancer"]["name"], r["outcome"]) for r in result["results"]] == [
        ("lb-1", "unchanged"), ("lb-2", "skipped"), ("lb-3", "changed")]
    assert result["results"][1]["msg"].startswith("Project p1 is at its listener quota: the limit is 1 and "
                                                  "1 listeners exist")
    assert result["summary"]["skipped"] == 1 and result["results"][1]["diff"] == {}
    assert [w[1]["load_balancer_id"] for w in proxy.writes()] == ([] if check_mode else [lb(3)["id"]])
    # p1's usage came from the fleet listing: no listing of its own.
    assert ("listeners", {"project_id": "p1"}) not in proxy.calls
