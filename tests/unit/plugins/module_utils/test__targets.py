"""_targets: the load balancer summary, the scrape address, labels and scrape items.

Migrated from test__compare.py (lb_summary, scrape_target, scrape_host, target_labels,
vip_addresses) and test__fleet.py (prometheus_items, now scrape_items).
"""
import pytest

from ansible_collections.octavia.monitoring.plugins.module_utils import _targets as t
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError

LB = {"id": "lb-1", "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
      "project_id": "proj", "provider": "amphora", "availability_zone": None,
      "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "tags": ["a", "b"]}


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088}
    base.update(kw)
    return base


def test_lb_summary():
    summary = t.lb_summary(LB, "203.0.113.7")
    assert summary == {"id": "lb-1", "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
                       "project_id": "proj", "provider": "amphora", "availability_zone": None,
                       "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
                       "floating_ip": "203.0.113.7"}
    assert t.lb_summary(LB)["floating_ip"] is None
    assert t.lb_summary({"id": "x"})["name"] is None


def test_vip_addresses_includes_additional_vips():
    lb = dict(LB, additional_vips=[{"ip_address": "2001:db8::10"}, {"subnet_id": "x"}])
    assert t.vip_addresses(lb) == ["192.0.2.10", "2001:db8::10"]
    assert t.vip_addresses({"vip_address": None}) == []
    assert t.vip_addresses({"additional_vips": None}) == []


@pytest.mark.parametrize("host, port, expected", [
    ("192.0.2.10", 8088, "192.0.2.10:8088"),
    ("2001:db8::10", 8088, "[2001:db8::10]:8088"),
    ("[2001:db8::10]", 9100, "[2001:db8::10]:9100"),
    ("lb.example.org", 80, "lb.example.org:80"),
])
def test_scrape_target(host, port, expected):
    assert t.scrape_target(host, port) == expected


@pytest.mark.parametrize("fip, address, expected", [
    ("203.0.113.7", "vip", "192.0.2.10"),
    (None, "vip", "192.0.2.10"),
    ("203.0.113.7", "auto", "203.0.113.7"),
    (None, "auto", "192.0.2.10"),
    ("203.0.113.7", "floating_ip", "203.0.113.7"),
])
def test_scrape_host(fip, address, expected):
    assert t.scrape_host(t.lb_summary(LB, fip), address) == expected


def test_scrape_host_floating_ip_missing_fails_clearly():
    with pytest.raises(PlanError) as err:
        t.scrape_host(t.lb_summary(LB), "floating_ip")
    assert str(err.value) == ("Load balancer 'web' (lb-1) has no floating IP on its VIP port port-1; use "
                              "address=vip or address=auto, or attach a floating IP.")
    with pytest.raises(PlanError, match=r"^Load balancer '' \(lb-1\)"):
        t.scrape_host(t.lb_summary(dict(LB, name=None)), "floating_ip")


def test_target_labels_with_and_without_cloud():
    summary = t.lb_summary(LB)
    labels = t.target_labels(summary, listener(), "mycloud", "RegionOne")
    assert labels == {"loadbalancer_id": "lb-1", "loadbalancer_name": "web", "project_id": "proj",
                      "listener_id": "l-1", "vip_address": "192.0.2.10", "provider": "amphora",
                      "availability_zone": "", "cloud": "mycloud", "region": "RegionOne"}
    assert set(labels) == set(t.TARGET_LABEL_KEYS) | {"cloud", "region"}
    bare = t.target_labels(dict(summary, name=None, project_id=None, vip_address=None, provider=None),
                           listener(), None, None)
    assert "cloud" not in bare and "region" not in bare
    assert bare["loadbalancer_name"] == bare["project_id"] == bare["vip_address"] == bare["provider"] == ""
    assert set(bare) == set(t.TARGET_LABEL_KEYS)


@pytest.mark.parametrize("address, fip, target", [
    ("vip", "203.0.113.5", "192.0.2.10:8088"),
    ("auto", "203.0.113.5", "203.0.113.5:8088"),
    ("auto", None, "192.0.2.10:8088"),
    ("floating_ip", "203.0.113.5", "203.0.113.5:8088"),
])
def test_scrape_items_address_choice(address, fip, target):
    summary = t.lb_summary(LB, fip)
    [item] = t.scrape_items(summary, [listener()], address=address)
    assert item["scrape_target"] == target
    assert set(item) == {"listener", "load_balancer", "scrape_target", "labels", "scheme", "client_auth"}
    assert (item["scheme"], item["client_auth"]) == ("http", "NONE") and "__scheme__" not in item["labels"]
    assert item["load_balancer"] is summary


def test_scrape_items_floating_ip_missing_fails():
    with pytest.raises(PlanError, match="has no floating IP"):
        t.scrape_items(t.lb_summary(LB, None), [listener()], address="floating_ip")


def test_scrape_items_without_prometheus_listener_needs_no_address():
    # No target, so no floating IP is needed either.
    assert t.scrape_items(t.lb_summary(LB), [listener(protocol="HTTP")], address="floating_ip") == []


def test_scrape_items_ipv6_and_order_and_no_cloud_labels():
    summary = t.lb_summary(dict(LB, vip_address="2001:db8::10"))
    items = t.scrape_items(summary, [listener(id="l-9", protocol_port=9100), listener(id="l-2"),
                                     listener(id="l-3", protocol="TCP")])
    assert [i["listener"]["id"] for i in items] == ["l-2", "l-9"]
    assert items[0]["scrape_target"] == "[2001:db8::10]:8088"
    assert "cloud" not in items[0]["labels"] and "region" not in items[0]["labels"]


def test_scrape_items_cloud_and_region_labels():
    [item] = t.scrape_items(t.lb_summary(LB), [listener()], "c1", "r1")
    assert (item["labels"]["cloud"], item["labels"]["region"]) == ("c1", "r1")


@pytest.mark.parametrize("name, ids", [
    (None, ["l-1", "l-2"]),
    ("metrics", ["l-2"]),       # by name
    ("l-1", ["l-1"]),           # by ID
    ("nope", []),
])
def test_scrape_items_one_listener_by_name_or_id(name, ids):
    listeners = [listener(), listener(id="l-2", name="metrics", protocol_port=9100)]
    assert [i["listener"]["id"] for i in t.scrape_items(t.lb_summary(LB), listeners, name=name)] == ids


def test_tls_listeners_are_scraped_over_https_and_say_whether_they_want_a_client_certificate():
    """Issue 14: one job can mix plain and TLS listeners through the __scheme__ SD label."""
    summary = t.lb_summary(LB)
    plain = listener()
    tls = listener(id="l-tls", protocol_port=9443, default_tls_container_ref="ref://cert",
                   client_authentication="MANDATORY")
    items = t.scrape_items(summary, [tls, plain])
    assert [(i["listener"]["id"], i["scheme"], i["client_auth"], i["labels"].get("__scheme__"))
            for i in items] == [(plain["id"], "http", "NONE", None), ("l-tls", "https", "MANDATORY", "https")]
    assert t.uses_tls(dict(sni_container_refs=["ref://sni"])) and not t.uses_tls(plain)
