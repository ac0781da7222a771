"""The pure half of _fleet (filters, host names, host variables, selection, per-LB plans) on plain dicts.

The Fleet class is exercised with ``conn=None`` where the code must not touch the API at all
(check mode, no-change runs, skips, failures found while planning): any API call would raise.
"""
import pytest

from ansible_collections.octavia.monitoring.plugins.module_utils import _fleet as f
from ansible_collections.octavia.monitoring.plugins.module_utils._compare import PlanError


def lb(**kw):
    base = {"id": "11111111-aaaa-4bbb-8ccc-000000000001", "name": "web", "vip_address": "192.0.2.10",
            "vip_port_id": "port-1", "project_id": "p1", "provider": "amphora",
            "availability_zone": None, "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
            "tags": ["b", "a"], "created_at": "2026-01-01T00:00:00"}
    base.update(kw)
    return base


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": "", "is_admin_state_up": True,
            "connection_limit": -1, "tags": [], "timeout_client_data": 50000,
            "timeout_member_connect": 5000, "timeout_member_data": 50000, "timeout_tcp_inspect": 0,
            "load_balancers": [{"id": "11111111-aaaa-4bbb-8ccc-000000000001"}],
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE"}
    base.update(kw)
    return base


def params(**kw):
    base = {"state": "present", "name": "prometheus", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": None, "is_admin_state_up": None,
            "connection_limit": None, "tags": None, "timeout_client_data": None,
            "timeout_member_connect": None, "timeout_member_data": None,
            "timeout_tcp_inspect": None, "wait": True, "timeout": 30}
    base.update(kw)
    return base


# --- filters ---------------------------------------------------------------

def test_normalise_filters_drops_empty_values():
    assert f.normalise_filters({"project_ids": [], "tags": None, "name_pattern": "",
                                "providers": ["amphora"], "provisioning_statuses": ()}) == \
        {"providers": ["amphora"]}
    assert f.normalise_filters(None) == {}


def test_normalise_filters_rejects_unknown_keys():
    with pytest.raises(PlanError, match="Unknown load balancer filter project_id, tag;"):
        f.normalise_filters({"project_id": "x", "tag": "y"})


@pytest.mark.parametrize("filters, expected", [
    ({}, {"project_id": None, "tags": None}),
    ({"project_ids": ["p1"]}, {"project_id": "p1", "tags": None}),
    # Octavia filters on one project only; several are filtered client-side.
    ({"project_ids": ["p1", "p2"]}, {"project_id": None, "tags": None}),
    ({"tags": ["a", "b"]}, {"project_id": None, "tags": ["a", "b"]}),
])
def test_server_side_query(filters, expected):
    assert f.server_side_query(filters) == expected


@pytest.mark.parametrize("filters, matches", [
    ({}, True),
    ({"project_ids": ["p1", "p2"]}, True),
    ({"project_ids": ["p2"]}, False),
    ({"tags": ["a"]}, True),
    ({"tags": ["a", "c"]}, False),
    ({"name_pattern": "w?b"}, True),
    ({"name_pattern": "web-*"}, False),
    ({"name_pattern": "WEB"}, False),            # case-sensitive, like Octavia's names
    ({"providers": ["AMPHORA"]}, True),
    ({"providers": ["ovn"]}, False),
    ({"provisioning_statuses": ["active"]}, True),
    ({"provisioning_statuses": ["ERROR"]}, False),
    ({"project_ids": ["p1"], "providers": ["ovn"]}, False),
])
def test_lb_matches(filters, matches):
    assert f.lb_matches(lb(), filters) is matches


def test_lb_matches_a_load_balancer_without_name_or_tags():
    bare = lb(name=None, tags=None, provider=None)
    assert f.lb_matches(bare, {"name_pattern": "*"})
    assert not f.lb_matches(bare, {"tags": ["a"]})
    assert not f.lb_matches(bare, {"providers": ["amphora"]})


# --- grouping and host names -----------------------------------------------

def test_listeners_by_lb_groups_and_sorts():
    items = [listener(id="c", protocol_port=9000, load_balancers=[{"id": "lb-a"}]),
             listener(id="b", protocol_port=80, load_balancers=[{"id": "lb-a"}]),
             listener(id="a", protocol_port=80, load_balancers=[{"id": "lb-a"}]),
             listener(id="d", load_balancers=[{"id": "lb-b"}])]
    grouped = f.listeners_by_lb(items)
    assert [i["id"] for i in grouped["lb-a"]] == ["a", "b", "c"]
    assert [i["id"] for i in grouped["lb-b"]] == ["d"]


def rec(ident, name, created, cloud="c1", region="r1"):
    return {"id": ident, "name": name, "created_at": created, "cloud": cloud, "region": region}


def test_host_names_unique_names_are_kept():
    assert f.host_names([rec("id-1", "web", "1"), rec("id-2", "db", "2")]) == ["web", "db"]


def test_host_names_nameless_load_balancer_is_named_by_id():
    assert f.host_names([rec("aaaa-1", "", "1"), rec("bbbb-2", None, "2")]) == ["aaaa-1", "bbbb-2"]


def test_host_names_oldest_namesake_keeps_the_name():
    records = [rec("bbbbbbbb-2", "web", "2026-02-01"), rec("aaaaaaaa-1", "web", "2026-01-01"),
               rec("cccccccc-3", "web", "2026-03-01")]
    assert f.host_names(records) == ["web_bbbbbbbb", "web", "web_cccccccc"]


def test_host_names_a_new_namesake_does_not_rename_existing_hosts():
    before = f.host_names([rec("aaaaaaaa-1", "web", "2026-01-01")])
    after = f.host_names([rec("aaaaaaaa-1", "web", "2026-01-01"), rec("ffffffff-9", "web", "2026-05-01")])
    assert before == ["web"] and after == ["web", "web_ffffffff"]


def test_host_names_ties_are_broken_by_cloud_region_and_id():
    records = [rec("bbbbbbbb-2", "web", "t", cloud="c2"), rec("aaaaaaaa-1", "web", "t", cloud="c1", region="r2"),
               rec("aaaaaaaa-0", "web", "t", cloud="c1", region="r1")]
    assert f.host_names(records) == ["web_bbbbbbbb", "web_aaaaaaaa", "web"]
    assert f.host_names(list(reversed(records))) == ["web", "web_aaaaaaaa", "web_bbbbbbbb"]


def test_host_names_suffix_collisions_fall_back_to_the_full_id():
    # A load balancer literally named like another's suffixed host name.
    records = [rec("aaaaaaaa-1", "web", "1"), rec("aaaaaaaa-2", "web", "2"),
               rec("zzzz", "web_aaaaaaaa", "0")]
    assert f.host_names(records) == ["web", "web_aaaaaaaa-2", "web_aaaaaaaa"]


def test_host_names_same_load_balancer_in_several_regions_stays_distinct():
    records = [rec("aaaaaaaa-1", "web", "1", region=r) for r in ("r1", "r2", "r3", "r4")]
    names = f.host_names(records)
    assert names == ["web", "web_aaaaaaaa", "web_aaaaaaaa-1", "web_aaaaaaaa-1_2"]
    assert len(set(names)) == 4


# --- host variables and groups ---------------------------------------------

def test_host_vars_shape():
    tcp = listener(id="l-0", name="app", protocol="HTTP", protocol_port=80)
    prom = listener()
    out = f.host_vars(lb(), [tcp, prom], floating_ip="203.0.113.5", cloud="c1", region="r1")
    assert out["ansible_connection"] == "local"
    assert out["octavia_lb"] == {
        "id": lb()["id"], "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
        "project_id": "p1", "provider": "amphora", "availability_zone": None,
        "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "floating_ip": "203.0.113.5",
        "tags": ["a", "b"]}
    assert [x["id"] for x in out["octavia_lb_listeners"]] == ["l-0", "l-1"]
    assert set(out["octavia_lb_listeners"][0]) == set(f.LISTENER_SUMMARY_KEYS)
    [item] = out["octavia_lb_prometheus"]
    assert set(item) == {"listener", "load_balancer", "scrape_target", "labels"}
    assert item["listener"] == prom
    assert item["scrape_target"] == "192.0.2.10:8088"
    assert item["labels"] == {"loadbalancer_id": lb()["id"], "loadbalancer_name": "web",
                              "project_id": "p1", "listener_id": "l-1", "vip_address": "192.0.2.10",
                              "provider": "amphora", "availability_zone": "", "cloud": "c1",
                              "region": "r1"}
    assert (out["octavia_lb_cloud"], out["octavia_lb_region"]) == ("c1", "r1")


@pytest.mark.parametrize("address, fip, target", [
    ("vip", "203.0.113.5", "192.0.2.10:8088"),
    ("auto", "203.0.113.5", "203.0.113.5:8088"),
    ("auto", None, "192.0.2.10:8088"),
    ("floating_ip", "203.0.113.5", "203.0.113.5:8088"),
])
def test_prometheus_items_address_choice(address, fip, target):
    summary = f.lb_summary(lb(), fip)
    [item] = f.prometheus_items(summary, [listener()], address=address)
    assert item["scrape_target"] == target


def test_prometheus_items_floating_ip_missing_fails():
    with pytest.raises(PlanError, match="has no floating IP"):
        f.prometheus_items(f.lb_summary(lb(), None), [listener()], address="floating_ip")


def test_prometheus_items_ipv6_and_order_and_no_cloud_labels():
    summary = f.lb_summary(lb(vip_address="2001:db8::10"))
    items = f.prometheus_items(summary, [listener(id="l-9", protocol_port=9100), listener(id="l-2"),
                                         listener(id="l-3", protocol="TCP")])
    assert [i["listener"]["id"] for i in items] == ["l-2", "l-9"]
    assert items[0]["scrape_target"] == "[2001:db8::10]:8088"
    assert "cloud" not in items[0]["labels"] and "region" not in items[0]["labels"]


@pytest.mark.parametrize("listeners, project, provider, expected", [
    ([listener()], "p1", "amphora",
     ["octavia_loadbalancers", "octavia_project_p1", "octavia_provider_amphora", "octavia_with_prometheus_listener"]),
    ([listener(protocol="HTTP")], "p1", "ovn",
     ["octavia_loadbalancers", "octavia_project_p1", "octavia_provider_ovn", "octavia_without_prometheus_listener"]),
    ([], None, None, ["octavia_loadbalancers", "octavia_without_prometheus_listener"]),
])
def test_default_groups(listeners, project, provider, expected):
    assert f.default_groups(f.host_vars(lb(project_id=project, provider=provider), listeners)) == expected


# --- selection --------------------------------------------------------------

LBS = [lb(), lb(id="22222222-aaaa-4bbb-8ccc-000000000002", name="twin"),
       lb(id="33333333-aaaa-4bbb-8ccc-000000000003", name="twin")]


def test_select_by_id_and_name_without_duplicates():
    selected, errors = f.select_load_balancers(LBS, ["web", LBS[0]["id"], LBS[1]["id"]])
    assert [(req, x["id"]) for req, x in selected] == [("web", LBS[0]["id"]), (LBS[1]["id"], LBS[1]["id"])]
    assert errors == []


def test_select_reports_missing_and_ambiguous_names_per_entry():
    selected, errors = f.select_load_balancers(LBS, ["nope", "twin", "web"])
    assert [req for req, _x in selected] == ["web"]
    assert errors[0][0] == "nope" and "was not found" in errors[0][1] and errors[0][2] == {}
    assert errors[1][0] == "twin" and "matches 2 load balancers" in errors[1][1]
    assert [c["id"] for c in errors[1][2]["candidates"]] == [LBS[1]["id"], LBS[2]["id"]]


# --- per-load-balancer plans --------------------------------------------------

def test_provider_without_prometheus_and_skip_message():
    assert f.provider_lacks_prometheus(lb(provider="OVN"))
    assert not f.provider_lacks_prometheus(lb())
    assert not f.provider_lacks_prometheus(lb(provider=None))
    msg = f.skip_message("It is not supported.")
    assert msg.startswith("It is not supported; ") and "octavia.monitoring.stats" in msg
    assert "octavia_stats_exposition_path" in msg and msg.endswith(".prom.")


@pytest.mark.parametrize("listeners, kw, action, delta", [
    ([], {}, "create", None),
    ([listener()], {}, None, {}),
    ([listener(allowed_cidrs=["192.0.2.0/24"])], {}, "update", {"allowed_cidrs": ["10.0.0.0/8"]}),
    ([listener(name="old")], {}, "update", {"name": "prometheus"}),        # adopted and renamed
    ([listener(protocol_port=9100)], {}, "replace", {"protocol_port": 8088}),
    ([listener()], {"state": "absent"}, "delete", {}),
    ([listener(name="old")], {"state": "absent"}, None, {}),              # no adoption on delete
    ([], {"state": "absent"}, None, {}),
])
def test_plan_load_balancer_actions(listeners, kw, action, delta):
    p = params(**kw)
    cidrs = ["10.0.0.0/8"] if p["state"] == "present" else None
    current, plan = f.plan_load_balancer(lb(), listeners, p, cidrs)
    assert plan["action"] == action
    assert plan["changed"] is (action is not None)
    if delta is not None and action != "create":
        assert plan["delta"] == delta
    assert (current is None) is (not listeners or (p["state"] == "absent" and action is None))


def test_plan_load_balancer_port_taken_by_another_listener():
    with pytest.raises(PlanError, match="Port 8088 on load balancer 'web' is already used by the TCP listener 'app'"):
        f.plan_load_balancer(lb(), [listener(id="t", name="app", protocol="TCP")], params(), ["10.0.0.0/8"])


def test_plan_load_balancer_cidr_of_the_wrong_family():
    with pytest.raises(PlanError, match="IPv6 but load balancer 'web' has only IPv4 VIPs"):
        f.plan_load_balancer(lb(), [], params(), ["2001:db8::/64"])


@pytest.mark.parametrize("action, expected", [
    (None, {"id": "l-1", "name": "prometheus"}),
    ("delete", None),
    ("create", {"protocol": "PROMETHEUS", "name": "prometheus", "protocol_port": 8088}),
    ("update", {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 9100}),
    ("replace", {"name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 9100}),
])
def test_predicted_listener(action, expected):
    current = None if action == "create" else {"id": "l-1", "name": "prometheus"}
    after = {"name": "prometheus", "protocol_port": 8088 if action == "create" else 9100}
    if action == "update":
        after["id"] = "l-1"
    plan = {"action": action, "diff": {"after": after}}
    assert f.predicted_listener(current, plan) == expected


def test_labelled_diff_names_the_load_balancer_and_keeps_the_original():
    diff = {"before": {}, "after": {"a": 1}, "before_header": "x", "after_header": "y"}
    out = f.labelled_diff(lb(), diff)
    assert out["before_header"] == "load balancer 'web' (%s): x" % lb()["id"]
    assert out["after_header"].endswith("): y")
    assert diff["before_header"] == "x"
    assert f.labelled_diff(lb(), {"before": {}, "after": {}}) == {"before": {}, "after": {}}


def test_summarise_failure_message_and_labels():
    results = [
        {"changed": True, "action": "create", "load_balancer": {"id": "i1", "name": "a"}},
        {"changed": True, "action": "create", "load_balancer": {"id": "i2", "name": ""}},
        {"changed": True, "action": "update", "load_balancer": {"id": "i3", "name": "c"}},
        {"changed": False, "load_balancer": {"id": "i4", "name": "d"}},
        {"changed": False, "skipped": True, "load_balancer": {"id": "i5", "name": "e"}},
        {"changed": True, "failed": True, "msg": "half done", "load_balancer": {"id": "i6", "name": "f"}},
        {"changed": False, "failed": True, "msg": "not found", "load_balancer": None, "requested": "zz"},
    ]
    assert f.summarise(results) == {"total": 7, "changed": 3, "unchanged": 1, "skipped": 1, "failed": 2,
                                    "actions": {"create": 2, "update": 1}}
    assert f.failure_message(results) == "2 of 7 load balancers failed: f (i6): half done; zz: not found"
    assert f.failure_message(results[:5]) is None
    assert f.lb_label(results[1]) == "i2"


# --- Fleet without the API ------------------------------------------------------

def cloud_of(lbs, listeners=(), fips=None):
    return {"load_balancers": lbs, "listeners": f.listeners_by_lb(list(listeners)),
            "floating_ips": fips or {}}


def test_fleet_no_change_run_touches_nothing():
    ok = lb()
    fleet = f.Fleet(None, params(), ["10.0.0.0/8"], check_mode=False, concurrency=4)
    [item] = fleet.run(cloud_of([ok], [listener()]), [("web", ok)], [])
    assert item == {"requested": "web", "load_balancer": f.lb_summary(ok), "changed": False,
                    "action": None, "diff": {}, "listener": listener(), "scrape_target": "192.0.2.10:8088",
                    "failed": False, "skipped": False, "msg": ""}


def test_fleet_check_mode_reports_without_writing():
    a = lb()
    b = lb(id="22222222-aaaa-4bbb-8ccc-000000000002", name="api", vip_address="192.0.2.11")
    fleet = f.Fleet(None, params(allowed_cidrs=["10.0.0.0/8"]), ["10.0.0.0/8"], check_mode=True, concurrency=2)
    stale = listener(id="l-2", allowed_cidrs=["192.0.2.0/24"], load_balancers=[{"id": b["id"]}])
    results = fleet.run(cloud_of([a, b], [listener(), stale]), [("web", a), ("api", b)], [])
    assert [r["load_balancer"]["name"] for r in results] == ["api", "web"]
    api = results[0]
    assert api["changed"] and api["action"] == "update"
    assert api["diff"]["before"]["allowed_cidrs"] == ["192.0.2.0/24"]
    assert api["diff"]["after"]["allowed_cidrs"] == ["10.0.0.0/8"]
    assert api["diff"]["after_header"].startswith("load balancer 'api'")
    assert api["listener"]["allowed_cidrs"] == ["10.0.0.0/8"] and api["listener"]["id"] == "l-2"
    assert not results[1]["changed"]


def test_fleet_skips_providers_without_prometheus_and_fails_bad_plans_alone():
    ovn = lb(id="44444444-aaaa-4bbb-8ccc-000000000004", name="l4", provider="ovn")
    busy = lb(id="55555555-aaaa-4bbb-8ccc-000000000005", name="busy")
    fine = lb()
    tcp = listener(id="t", name="app", protocol="TCP", load_balancers=[{"id": busy["id"]}])
    fleet = f.Fleet(None, params(), ["10.0.0.0/8"], check_mode=False, concurrency=8)
    results = fleet.run(cloud_of([ovn, busy, fine], [tcp, listener()]),
                        [("l4", ovn), ("busy", busy), ("web", fine)], [("ghost", "Not found.", {})])
    by_name = dict((r["requested"], r) for r in results)
    assert [r["requested"] for r in results] == ["busy", "l4", "web", "ghost"]
    assert by_name["l4"]["skipped"] and not by_name["l4"]["failed"] and not by_name["l4"]["changed"]
    assert "provider 'ovn', which does not support PROMETHEUS listeners" in by_name["l4"]["msg"]
    assert "octavia.monitoring.stats" in by_name["l4"]["msg"]
    assert by_name["busy"]["failed"] and "already used by the TCP listener 'app'" in by_name["busy"]["msg"]
    assert by_name["ghost"]["failed"] and by_name["ghost"]["load_balancer"] is None
    assert not by_name["web"]["failed"] and not by_name["web"]["changed"]
    assert all(not set(r) & {"_plan", "_current", "_lb", "_writes"} for r in results)


def test_fleet_state_absent_does_not_skip_other_providers():
    ovn = lb(provider="ovn")
    fleet = f.Fleet(None, params(state="absent"), None, check_mode=True, concurrency=1)
    [item] = fleet.run(cloud_of([ovn]), [("web", ovn)], [])
    assert not item["skipped"] and not item["changed"] and item["listener"] is None


class Refused(Exception):
    def __init__(self, status):
        super(Refused, self).__init__("refused")
        self.extra = {"status": status}


def planned_item():
    fleet = f.Fleet(None, params(), ["10.0.0.0/8"], check_mode=False, concurrency=1)
    stale = listener(allowed_cidrs=["192.0.2.0/24"])
    return fleet, fleet.plan(cloud_of([lb()], [stale]), "web", lb())


def test_fleet_fail_a_refused_provider_is_a_skip():
    fleet, item = planned_item()
    fleet.fail(item, Refused(501))
    assert item["skipped"] and not item["failed"] and not item["changed"] and item["diff"] == {}
    assert "octavia.monitoring.stats" in item["msg"]


def test_fleet_fail_without_a_write_keeps_the_current_listener():
    fleet, item = planned_item()
    fleet.fail(item, Refused(500))
    assert item["failed"] and not item["changed"] and item["diff"] == {}
    assert item["listener"]["allowed_cidrs"] == ["192.0.2.0/24"]
    assert item["scrape_target"] == "192.0.2.10:8088" and item["msg"] == "refused"


def test_fleet_fail_after_a_write_reports_the_change():
    fleet, item = planned_item()
    item["_writes"] = 1
    fleet.fail(item, Refused(501))
    assert item["failed"] and item["changed"] and item["diff"]["after"]["allowed_cidrs"] == ["10.0.0.0/8"]
