"""lb_prometheus_listener as a module process sees it: without openstacksdk, and on scripted
doubles of the SDK proxy (octavia_fakes) instead of a cloud.

The single module is the fleet rollout applied to one load balancer; these tests check what
the module adds: validation before any connection, the missing load balancer, and the
result or failure built from the one item (the rollout itself is tested in test__rollout.py).
"""
import importlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import (
    WRITES,
    FakeNetwork,
    FakeProxy,
    HttpError,
    Port,
    forbidden,
    run_module,
)

PKG = "ansible_collections.octavia.monitoring.plugins"
LB_ID = "11111111-aaaa-4bbb-8ccc-000000000001"
NAME = "lb_prometheus_listener"
RESULT_KEYS = {"changed", "action", "outcome", "diff", "listener", "load_balancer", "scrape_target",
               "tls_change"}


def run_main(name, args, capsys):
    module = importlib.import_module(f"{PKG}.modules.{name}")
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name, args", [
    ("lb_prometheus_listener", {"load_balancer": "web", "allowed_cidrs": ["10.0.0.0/8"]}),
    ("lb_prometheus_listener_fleet", {"load_balancers": ["web"], "allowed_cidrs": ["10.0.0.0/8"]}),
    ("lb_prometheus_listener_info", {}),
    ("lb_stats_info", {}),
])
def test_missing_openstacksdk_fails_with_install_hint(no_sdk, capsys, name, args):
    result = run_main(name, args, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("Failed to import the required Python library (openstacksdk)")


def test_argument_errors_come_from_the_spec(no_sdk, capsys):
    result = run_main("lb_prometheus_listener", {"allowed_cidrs": ["10.0.0.0/8"]}, capsys)
    assert result["failed"] is True and "load_balancer" in result["msg"]


def test_aliases_of_osc_names(no_sdk):
    module = importlib.import_module(PKG + ".modules.lb_prometheus_listener")
    spec = module.ListenerModule.argument_spec
    assert spec["load_balancer"]["aliases"] == ["loadbalancer"]
    assert spec["protocol_port"]["aliases"] == ["port"]
    assert spec["protocol_port"]["default"] == 8088 and spec["name"]["default"] == "prometheus"


# --- on a scripted proxy -------------------------------------------------------

def lb(**kw):
    base = {"id": LB_ID, "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
            "project_id": "p1", "provider": "amphora", "availability_zone": None,
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "tags": []}
    base.update(kw)
    return base


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": "", "is_admin_state_up": True,
            "connection_limit": -1, "tags": [], "load_balancers": [{"id": LB_ID}],
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE"}
    base.update(kw)
    return base


def args(**kw):
    base = {"load_balancer": "web", "allowed_cidrs": ["10.0.0.0/8"]}
    base.update(kw)
    return base


@pytest.mark.parametrize("start, options, action", [
    ([], {}, "create"),
    ([listener(allowed_cidrs=["192.0.2.0/24"])], {}, "update"),
    ([listener(protocol_port=9100)], {}, "replace"),
    ([listener(provisioning_status="ERROR")], {}, "repair"),
    ([listener()], {"state": "absent"}, "delete"),
])
def test_four_way_check_apply_check_apply(no_sdk, monkeypatch, capsys, start, options, action):
    """check, apply, check again (unchanged), apply again (unchanged); check == apply."""
    proxy = FakeProxy(lbs=[lb()], listeners=start)
    checked, _opened = run_module(NAME, args(_ansible_check_mode=True, **options), proxy, monkeypatch, capsys)
    assert not set(proxy.ops()) & set(WRITES)
    applied, _opened = run_module(NAME, args(**options), proxy, monkeypatch, capsys)
    assert RESULT_KEYS <= set(applied) and "failed" not in applied
    for key in ("changed", "action", "outcome", "diff"):
        assert checked[key] == applied[key], key
    assert (applied["changed"], applied["action"], applied["outcome"]) == (True, action, "changed")
    if options.get("state") == "absent":
        assert applied["listener"] is None and checked["listener"] is None
    else:
        assert applied["listener"]["provisioning_status"] == "ACTIVE"
        assert checked["scrape_target"] == applied["scrape_target"] == "192.0.2.10:8088"
    writes = len(proxy.writes())
    again_checked, _opened = run_module(NAME, args(_ansible_check_mode=True, **options), proxy, monkeypatch, capsys)
    again, _opened = run_module(NAME, args(**options), proxy, monkeypatch, capsys)
    for result in (again_checked, again):
        assert (result["changed"], result["action"], result["outcome"]) == (False, None, "unchanged")
    assert len(proxy.writes()) == writes


def test_result_shape(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    result, opened = run_module(NAME, args(), proxy, monkeypatch, capsys)
    assert set(result) - {"invocation", "_warned"} == RESULT_KEYS
    assert result["load_balancer"]["id"] == LB_ID and result["load_balancer"]["floating_ip"] is None
    assert result["listener"]["id"] == "l-1"
    assert len(opened) == 1 and opened[0].closed          # one connection, closed at the end


def test_invalid_options_fail_before_connecting(no_sdk, monkeypatch, capsys):
    """Issue 15 defect 1: a 256-character description was refused by Octavia mid-replace."""
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    result, opened = run_module(NAME, args(protocol_port=9100, description="d" * 256), proxy,
                                monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"] == "description is 256 characters long; Octavia takes at most 255."
    assert opened == [] and proxy.calls == []


def test_host_bits_warn(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    result, _opened = run_module(NAME, args(allowed_cidrs=["10.1.2.3/8"]), proxy, monkeypatch, capsys)
    assert result["changed"] is False
    assert result["_warned"] == ["allowed_cidrs entry 10.1.2.3/8 has host bits set, so it allows the whole "
                                 "network 10.0.0.0/8; write 10.0.0.0/8 (or the host as a /32 or /128) to say "
                                 "what you mean."]


def test_a_missing_load_balancer_fails_with_state_present(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, args(load_balancer="nope"), FakeProxy(lbs=[lb()]), monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"] == ("Load balancer 'nope' was not found (no load balancer has that name or ID "
                             "among those these credentials can see).")


def test_a_missing_load_balancer_is_unchanged_with_state_absent(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, args(load_balancer="nope", state="absent"), FakeProxy(lbs=[lb()]),
                                 monkeypatch, capsys)
    assert "failed" not in result
    assert {k: result[k] for k in RESULT_KEYS} == {
        "changed": False, "action": None, "outcome": "unchanged", "listener": None, "load_balancer": None,
        "scrape_target": None, "tls_change": None, "diff": {"before": {}, "after": {}}}


def test_a_refused_replace_fails_unchanged_and_keeps_the_listener(no_sdk, monkeypatch, capsys):
    """Issue 15 defect 1: the single module reported changed=false after losing the listener."""
    proxy = FakeProxy(lbs=[lb()], listeners=[listener(protocol_port=9100)])
    proxy.faults["create_listener"] = [HttpError(400, "PROMETHEUS is not a valid option for protocol")]
    result, _opened = run_module(NAME, args(), proxy, monkeypatch, capsys)
    assert result["failed"] is True and result["changed"] is False and result["outcome"] == "failed"
    assert result["msg"].endswith("the existing listener 'prometheus' (l-1) on port 9100 was kept and still "
                                  "serves /metrics.")
    assert result["listener"]["id"] == "l-1" and list(proxy.store) == ["l-1"]


def test_an_unconfirmed_write_fails_but_reports_changed(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb()])
    proxy.new_listener_status = "ERROR"
    result, _opened = run_module(NAME, args(), proxy, monkeypatch, capsys)
    assert result["failed"] is True and result["changed"] is True and result["outcome"] == "unconfirmed"


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_load_balancer_in_error_fails(no_sdk, monkeypatch, capsys, check_mode):
    """Issue 15 defect 2: reported 'unchanged' with rc 0 before."""
    proxy = FakeProxy(lbs=[lb(provisioning_status="ERROR")], listeners=[listener()])
    result, _opened = run_module(NAME, args(_ansible_check_mode=check_mode), proxy, monkeypatch, capsys)
    assert result["failed"] is True and result["changed"] is False
    assert "is in provisioning status ERROR" in result["msg"]


def test_a_stuck_load_balancer_fails_after_the_timeout(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(provisioning_status="PENDING_UPDATE")], listeners=[listener()])
    result, _opened = run_module(NAME, args(timeout=0), proxy, monkeypatch, capsys)
    assert result["failed"] is True and result["outcome"] == "failed"
    assert result["msg"].startswith("Timed out after 0s waiting for load balancer 'web'")


def test_a_provider_without_prometheus_fails_the_single_module(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, args(), FakeProxy(lbs=[lb(provider="ovn")]), monkeypatch, capsys)
    assert result["failed"] is True and result["outcome"] == "skipped" and result["changed"] is False
    assert "lb_stats_info" in result["msg"]


# --- issue 14: the guard's and the quota's warnings, TLS ----------------------------

def test_vip_sg_ids_warns_in_the_task_and_the_listener_is_created(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(vip_sg_ids=["sg-1"])])
    result, _opened = run_module(NAME, args(), proxy, monkeypatch, capsys)
    assert "failed" not in result and result["outcome"] == "changed"
    [warning] = result["_warned"]
    assert warning.startswith("Load balancer 'web' uses vip_sg_ids")
    assert [w[0] for w in proxy.writes()] == ["create_listener"]


def test_vip_sg_ids_with_fail_fails_the_task_before_any_write(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb(vip_sg_ids=["sg-1"])])
    result, _opened = run_module(NAME, args(allowed_cidrs_unenforced="fail"), proxy, monkeypatch, capsys)
    assert result["failed"] is True and result["changed"] is False and result["outcome"] == "failed"
    assert result["msg"].startswith("Load balancer 'web' uses vip_sg_ids")
    assert result["msg"].endswith("Nothing was written (allowed_cidrs_unenforced=fail).")
    assert proxy.writes() == [] and result["_warned"] == []


def test_port_security_off_is_read_from_the_vip_port_and_warned(no_sdk, monkeypatch, capsys):
    network = FakeNetwork(ports=[Port("port-1", False)])
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    result, _opened = run_module(NAME, args(), proxy, monkeypatch, capsys, network=network)
    assert result["outcome"] == "unchanged"
    assert result["_warned"] == ["The VIP port of load balancer 'web' has port security disabled, so nothing "
                                 "enforces allowed_cidrs and /metrics is open to every address that reaches "
                                 "the VIP."]
    assert network.port_queries == [{"id": "port-1"}]
    # state=absent reads no port.
    run_module(NAME, args(state="absent"), proxy, monkeypatch, capsys, network=network)
    assert network.port_queries == [{"id": "port-1"}]


def test_an_unreadable_quota_warns_in_the_task(no_sdk, monkeypatch, capsys):
    proxy = FakeProxy(lbs=[lb()])
    proxy.quotas["p1"] = forbidden()
    result, _opened = run_module(NAME, args(), proxy, monkeypatch, capsys)
    assert result["outcome"] == "changed"
    assert result["_warned"] == ["The listener quota of project p1 could not be read with these credentials, "
                                 "so it was not checked before writing."]


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_project_at_its_quota_fails_the_single_module_before_any_write(no_sdk, monkeypatch, capsys, check_mode):
    proxy = FakeProxy(lbs=[lb()])
    proxy.quotas["p1"] = 0
    result, _opened = run_module(NAME, args(_ansible_check_mode=check_mode), proxy, monkeypatch, capsys)
    assert result["failed"] is True and result["changed"] is False and result["outcome"] == "skipped"
    assert result["msg"].startswith("Project p1 is at its listener quota: the limit is 0 and 0 listeners exist")
    assert proxy.writes() == []


def test_tls_four_way_and_removal(no_sdk, monkeypatch, capsys):
    """check, apply, check, apply with a certificate, client CA and MANDATORY; then TLS removed."""
    proxy = FakeProxy(lbs=[lb()])
    tls = dict(default_tls_container_ref="ref://cert", client_ca_tls_container_ref="ref://ca",
               client_authentication="MANDATORY", tls_versions=["TLSv1.3"], tls_ciphers="TLS_AES_256_GCM_SHA384")
    checked, _opened = run_module(NAME, args(_ansible_check_mode=True, **tls), proxy, monkeypatch, capsys)
    applied, _opened = run_module(NAME, args(**tls), proxy, monkeypatch, capsys)
    assert (checked["action"], checked["diff"]) == (applied["action"], applied["diff"]) and proxy.writes()
    [create] = proxy.writes()
    assert {k: create[1].get(k) for k in tls} == tls
    for again in (run_module(NAME, args(_ansible_check_mode=True, **tls), proxy, monkeypatch, capsys)[0],
                  run_module(NAME, args(**tls), proxy, monkeypatch, capsys)[0]):
        assert (again["changed"], again["outcome"]) == (False, "unchanged")
    # The certificate cannot go while the client CA stays: refused before any write.
    refused, _opened = run_module(NAME, args(default_tls_container_ref=""), proxy, monkeypatch, capsys)
    assert refused["failed"] is True and refused["msg"].startswith("client_ca_tls_container_ref needs a certificate")
    assert proxy.writes() == [create]                 # the calls of every run so far: still the one create
    off = dict(default_tls_container_ref="", client_ca_tls_container_ref="", client_authentication="NONE")
    removed, _opened = run_module(NAME, args(**off), proxy, monkeypatch, capsys)
    assert (removed["action"], removed["outcome"], removed["tls_change"]) == ("update", "changed", "removed")
    assert removed["diff"]["after_header"] == ("listener new-1, updated in place; TLS removed: /metrics is "
                                               "served over plain HTTP from now on")
    assert proxy.writes()[1:] == [("update_listener", "new-1", {
        "default_tls_container_ref": None, "client_ca_tls_container_ref": None, "client_authentication": "NONE"})]
