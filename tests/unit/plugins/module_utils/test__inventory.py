"""_inventory: config key checks, host names, host variables and default groups.

Migrated from test__fleet.py (host_names, host_vars, default_groups); check_keys is new
(issue 15 defect 4: an unknown key used to be ignored).
"""
import pytest

from ansible_collections.octavia.monitoring.plugins.module_utils import _inventory as inv
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError

LB_ID = "11111111-aaaa-4bbb-8ccc-000000000001"


def lb(**kw):
    base = {"id": LB_ID, "name": "web", "vip_address": "192.0.2.10",
            "vip_port_id": "port-1", "project_id": "p1", "provider": "amphora",
            "availability_zone": None, "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
            "tags": ["b", "a"], "created_at": "2026-01-01T00:00:00"}
    base.update(kw)
    return base


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": "", "is_admin_state_up": True,
            "connection_limit": -1, "tags": [], "load_balancers": [{"id": LB_ID}],
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE"}
    base.update(kw)
    return base


# --- check_keys ------------------------------------------------------------

def test_check_keys_accepts_known_keys():
    inv.check_keys({"plugin": "x", "filters": {}}, ("plugin", "filters", "clouds"), "the file x.yml")
    inv.check_keys({}, (), "the file x.yml")


def test_check_keys_names_one_unknown_key():
    with pytest.raises(PlanError) as err:
        inv.check_keys({"plugin": "x", "name_patern": "web-*"}, ("plugin", "filters"), "the file x.yml")
    assert str(err.value) == ("Unknown option name_patern in the file x.yml; the known options are "
                              "filters, plugin.")


def test_check_keys_names_every_unknown_key():
    with pytest.raises(PlanError, match=r"^Unknown options a, b in entry 1 of clouds; the known options are c\.$"):
        inv.check_keys({"b": 1, "a": 2, "c": 3}, ["c"], "entry 1 of clouds")


@pytest.mark.parametrize("given, kind", [(["a"], "list"), ("text", "str"), (None, "NoneType")])
def test_check_keys_wants_a_mapping(given, kind):
    with pytest.raises(PlanError) as err:
        inv.check_keys(given, ("a",), "the inventory source x.yml")
    assert str(err.value) == f"The inventory source x.yml must be a mapping of options, not {kind}."


# --- host names ------------------------------------------------------------

def rec(ident, name, created, cloud="c1", region="r1"):
    return {"id": ident, "name": name, "created_at": created, "cloud": cloud, "region": region}


def test_host_names_unique_names_are_kept():
    assert inv.host_names([rec("id-1", "web", "1"), rec("id-2", "db", "2")]) == ["web", "db"]
    assert inv.host_names([]) == []


def test_host_names_nameless_load_balancer_is_named_by_id():
    assert inv.host_names([rec("aaaa-1", "", "1"), rec("bbbb-2", None, "2")]) == ["aaaa-1", "bbbb-2"]


def test_host_names_oldest_namesake_keeps_the_name():
    records = [rec("bbbbbbbb-2", "web", "2026-02-01"), rec("aaaaaaaa-1", "web", "2026-01-01"),
               rec("cccccccc-3", "web", "2026-03-01")]
    assert inv.host_names(records) == ["web_bbbbbbbb", "web", "web_cccccccc"]


def test_host_names_a_new_namesake_does_not_rename_existing_hosts():
    before = inv.host_names([rec("aaaaaaaa-1", "web", "2026-01-01")])
    after = inv.host_names([rec("aaaaaaaa-1", "web", "2026-01-01"), rec("ffffffff-9", "web", "2026-05-01")])
    assert before == ["web"] and after == ["web", "web_ffffffff"]


def test_host_names_ties_are_broken_by_cloud_region_and_id():
    records = [rec("bbbbbbbb-2", "web", "t", cloud="c2"), rec("aaaaaaaa-1", "web", "t", cloud="c1", region="r2"),
               rec("aaaaaaaa-0", "web", "t", cloud="c1", region="r1")]
    assert inv.host_names(records) == ["web_bbbbbbbb", "web_aaaaaaaa", "web"]
    assert inv.host_names(list(reversed(records))) == ["web", "web_aaaaaaaa", "web_bbbbbbbb"]


def test_host_names_missing_created_at_cloud_and_region_sort_first():
    records = [{"id": "bbbbbbbb-2", "name": "web", "created_at": "2026"},
               {"id": "aaaaaaaa-1", "name": "web", "created_at": None, "cloud": None, "region": None}]
    assert inv.host_names(records) == ["web_bbbbbbbb", "web"]


def test_host_names_suffix_collisions_fall_back_to_the_full_id():
    # A load balancer literally named like another's suffixed host name.
    records = [rec("aaaaaaaa-1", "web", "1"), rec("aaaaaaaa-2", "web", "2"),
               rec("zzzz", "web_aaaaaaaa", "0")]
    assert inv.host_names(records) == ["web", "web_aaaaaaaa-2", "web_aaaaaaaa"]


def test_host_names_same_load_balancer_in_several_regions_stays_distinct():
    records = [rec("aaaaaaaa-1", "web", "1", region=r) for r in ("r1", "r2", "r3", "r4")]
    names = inv.host_names(records)
    assert names == ["web", "web_aaaaaaaa", "web_aaaaaaaa-1", "web_aaaaaaaa-1_2"]
    assert len(set(names)) == 4


# --- host variables and groups ---------------------------------------------

def test_listener_summary_keeps_only_the_documented_keys():
    summary = inv.listener_summary(listener(default_pool_id="p", insert_headers={}))
    assert set(summary) == set(inv.LISTENER_SUMMARY_KEYS)
    assert inv.listener_summary({"id": "x"})["name"] is None


def test_host_vars_shape():
    tcp = listener(id="l-0", name="app", protocol="HTTP", protocol_port=80)
    prom = listener()
    out = inv.host_vars(lb(), [tcp, prom], floating_ip="203.0.113.5", cloud="c1", region="r1")
    assert out["ansible_connection"] == "local"
    assert out["octavia_lb"] == {
        "id": LB_ID, "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
        "project_id": "p1", "provider": "amphora", "availability_zone": None,
        "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "floating_ip": "203.0.113.5",
        "tags": ["a", "b"]}
    assert [x["id"] for x in out["octavia_lb_listeners"]] == ["l-0", "l-1"]
    assert set(out["octavia_lb_listeners"][0]) == set(inv.LISTENER_SUMMARY_KEYS)
    [item] = out["octavia_lb_prometheus"]
    assert set(item) == {"listener", "load_balancer", "scrape_target", "labels", "scheme", "client_auth"}
    assert item["listener"] == prom
    assert item["scrape_target"] == "192.0.2.10:8088"
    assert item["labels"] == {"loadbalancer_id": LB_ID, "loadbalancer_name": "web",
                              "project_id": "p1", "listener_id": "l-1", "vip_address": "192.0.2.10",
                              "provider": "amphora", "availability_zone": "", "cloud": "c1",
                              "region": "r1"}
    assert (out["octavia_lb_cloud"], out["octavia_lb_region"]) == ("c1", "r1")


def test_host_vars_address_and_no_tags():
    out = inv.host_vars(lb(tags=None), [listener()], floating_ip="203.0.113.5", address="auto")
    assert out["octavia_lb"]["tags"] == []
    assert out["octavia_lb_prometheus"][0]["scrape_target"] == "203.0.113.5:8088"
    assert out["octavia_lb_cloud"] is None and out["octavia_lb_region"] is None


@pytest.mark.parametrize("listeners, project, provider, expected", [
    ([listener()], "p1", "amphora",
     ["octavia_loadbalancers", "octavia_project_p1", "octavia_provider_amphora", "octavia_with_prometheus_listener"]),
    ([listener(protocol="HTTP")], "p1", "ovn",
     ["octavia_loadbalancers", "octavia_project_p1", "octavia_provider_ovn", "octavia_without_prometheus_listener"]),
    ([], None, None, ["octavia_loadbalancers", "octavia_without_prometheus_listener"]),
])
def test_default_groups(listeners, project, provider, expected):
    assert inv.default_groups(inv.host_vars(lb(project_id=project, provider=provider), listeners)) == expected
