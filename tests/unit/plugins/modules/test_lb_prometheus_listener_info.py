"""lb_prometheus_listener_info on scripted doubles of the SDK proxy: scrape items, the
load balancers without a listener, filters, a missing load balancer, the catalogue."""
import pytest

from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import (
    FakeConfig,
    FakeNetwork,
    FakeProxy,
    FloatingIP,
    run_module,
)

NAME = "lb_prometheus_listener_info"
A = "00000001-aaaa-4bbb-8ccc-000000000000"
B = "00000002-aaaa-4bbb-8ccc-000000000000"


def lb(ident, name, **kw):
    base = {"id": ident, "name": name, "vip_address": "192.0.2.10", "vip_port_id": f"port-{name}",
            "project_id": "p1", "provider": "amphora", "availability_zone": None,
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "tags": []}
    base.update(kw)
    return base


def listener(ident, lb_id, **kw):
    base = {"id": ident, "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "load_balancers": [{"id": lb_id}], "provisioning_status": "ACTIVE", "project_id": "p1"}
    base.update(kw)
    return base


def fleet():
    return FakeProxy(lbs=[lb(A, "web"), lb(B, "api", vip_address="192.0.2.11")],
                     listeners=[listener("l-a", A), listener("h-a", A, protocol="HTTP", protocol_port=80),
                                listener("h-b", B, protocol="HTTP", protocol_port=80)])


def test_items_and_load_balancers_without_listener(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {"cloud": "lab"}, fleet(), monkeypatch, capsys, config=FakeConfig("lab", "R1"))
    assert result["changed"] is False
    [item] = result["prometheus_listeners"]
    assert item["scrape_target"] == "192.0.2.10:8088" and item["listener"]["id"] == "l-a"
    assert item["labels"]["cloud"] == "lab" and item["labels"]["region"] == "R1"
    assert [x["name"] for x in result["load_balancers_without_listener"]] == ["api"]


def test_filters_and_one_load_balancer(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {"filters": {"name_pattern": "a*"}}, fleet(), monkeypatch, capsys)
    assert result["prometheus_listeners"] == []
    assert [x["name"] for x in result["load_balancers_without_listener"]] == ["api"]
    result, _opened = run_module(NAME, {"load_balancer": "web"}, fleet(), monkeypatch, capsys)
    assert [x["listener"]["id"] for x in result["prometheus_listeners"]] == ["l-a"]


def test_a_missing_load_balancer_is_an_empty_answer(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {"load_balancer": "nope"}, fleet(), monkeypatch, capsys)
    assert "failed" not in result
    assert result["prometheus_listeners"] == [] and result["load_balancers_without_listener"] == []


def test_unknown_filter_fails(no_sdk, monkeypatch, capsys):
    """In a module the argument spec refuses it, before normalise_filters would."""
    result, opened = run_module(NAME, {"filters": {"tag": ["x"]}}, fleet(), monkeypatch, capsys)
    assert result["failed"] is True and "filters.tag" in result["msg"] and opened == []


@pytest.mark.parametrize("address, network, target", [
    ("auto", FakeNetwork([FloatingIP("port-web", "203.0.113.5")]), "203.0.113.5:8088"),
    ("auto", None, "192.0.2.10:8088"),
    ("floating_ip", FakeNetwork([FloatingIP("port-web", "203.0.113.5")]), "203.0.113.5:8088"),
])
def test_address_choice(no_sdk, monkeypatch, capsys, address, network, target):
    result, _opened = run_module(NAME, {"address": address, "load_balancer": "web"}, fleet(), monkeypatch, capsys,
                                 network=network)
    assert result["prometheus_listeners"][0]["scrape_target"] == target


def test_floating_ip_without_a_network_service_says_so(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {"address": "floating_ip"}, fleet(), monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"] == ("address=floating_ip needs the network service to look up floating IPs, but "
                             "the cloud has no network service in its catalog; use address=vip or "
                             "address=auto.")


def test_catalog(no_sdk, monkeypatch, capsys):
    proxy = fleet()
    proxy.pool_store = [{"id": "p-1", "name": "pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "listeners": [{"id": "h-a"}], "loadbalancers": [{"id": A}]},
                        {"id": "p-2", "name": "other", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "listeners": [], "loadbalancers": [{"id": B}]}]
    proxy.member_store = {"p-1": [{"id": "m-1", "name": "a", "address": "10.0.0.1", "protocol_port": 80,
                                   "weight": 1}], "p-2": []}
    result, _opened = run_module(NAME, {"catalog": True}, proxy, monkeypatch, capsys)
    [item] = result["prometheus_listeners"]
    assert [x["id"] for x in item["catalog"]["listeners"]] == ["h-a", "l-a"]
    assert [x["id"] for x in item["catalog"]["pools"]] == ["p-1"]
    assert [x["id"] for x in item["catalog"]["members"]] == ["m-1"]
