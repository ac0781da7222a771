"""Every branch of the pure plan, diff and validation code, on plain dicts."""
import pytest

from ansible_collections.octavia.monitoring.plugins.module_utils import _compare as c

LB = {"id": "lb-1", "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
      "project_id": "proj", "provider": "amphora", "availability_zone": None,
      "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "tags": ["a", "b"]}


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": "", "is_admin_state_up": True,
            "connection_limit": -1, "tags": [], "timeout_client_data": 50000,
            "timeout_member_connect": 5000, "timeout_member_data": 50000, "timeout_tcp_inspect": 0,
            "load_balancers": [{"id": "lb-1"}], "provisioning_status": "ACTIVE"}
    base.update(kw)
    return base


def params(**kw):
    base = {"state": "present", "protocol_port": 8088, "allowed_cidrs": ["10.0.0.0/8"],
            "connection_limit": None, "timeout_client_data": None, "timeout_member_connect": None,
            "timeout_member_data": None, "timeout_tcp_inspect": None}
    base.update(kw)
    return base


# --- generic helpers -------------------------------------------------------

def test_desired_drops_unset_options():
    assert c.desired({"a": 1, "b": None, "c": "", "d": False}, ("a", "b", "c", "d", "e")) == \
        {"a": 1, "c": "", "d": False}


@pytest.mark.parametrize("value, expected", [
    ("id-2", "id-2"),       # by ID
    ("two", "id-2"),        # by unique name
    ("id-1", "id-1"),       # an ID wins over a name equal to it
    ("nope", None),
])
def test_select_by_name_or_id(value, expected):
    items = [{"id": "id-1", "name": "one"}, {"id": "id-2", "name": "two"},
             {"id": "id-3", "name": "id-1"}]
    found = c.select_by_name_or_id(items, value, "listener")
    assert (found["id"] if found else None) == expected


def test_select_by_name_or_id_ambiguous_lists_candidates():
    items = [{"id": "b", "name": "dup"}, {"id": "a", "name": "dup"}]
    with pytest.raises(c.PlanError) as err:
        c.select_by_name_or_id(items, "dup", "load balancer", "in this cloud")
    assert str(err.value) == ("The name 'dup' matches 2 load balancers in this cloud (IDs a, b); "
                              "give the ID instead.")
    assert err.value.extra["candidates"] == [{"id": "a", "name": "dup"}, {"id": "b", "name": "dup"}]


def test_select_by_name_or_id_ambiguous_without_scope():
    with pytest.raises(c.PlanError, match=r"^The name 'x' matches 2 listeners \(IDs"):
        c.select_by_name_or_id([{"id": "1", "name": "x"}, {"id": "2", "name": "x"}], "x", "listener")


@pytest.mark.parametrize("item, expected", [
    ({"load_balancer_id": "lb-9", "load_balancers": [{"id": "lb-1"}]}, "lb-9"),
    ({"load_balancer_id": None, "load_balancers": [{"id": "lb-1"}]}, "lb-1"),
    ({"load_balancers": []}, None),
    ({}, None),
])
def test_parent_lb_id(item, expected):
    assert c.parent_lb_id(item) == expected


# --- validation ------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    (["10.0.0.1/8"], ["10.0.0.0/8"]),
    (["192.168.0.0/16", "10.0.0.0/8", "10.1.2.3/8"], ["10.0.0.0/8", "192.168.0.0/16"]),
    ([" 2001:db8::1/32 ", "10.0.0.0/8"], ["10.0.0.0/8", "2001:db8::/32"]),
    (["192.0.2.7"], ["192.0.2.7/32"]),
    ([], []),
])
def test_normalise_cidrs(given, expected):
    assert c.normalise_cidrs(given) == expected


def test_normalise_cidrs_names_one_bad_entry():
    with pytest.raises(c.PlanError) as err:
        c.normalise_cidrs(["10.0.0.0/8", "10.0.0.0/33"])
    assert str(err.value).startswith("allowed_cidrs has '10.0.0.0/33' that is not valid CIDR")


def test_normalise_cidrs_names_every_bad_entry():
    with pytest.raises(c.PlanError, match="'foo', '300.1.1.1/8' that are not valid"):
        c.normalise_cidrs(["foo", "300.1.1.1/8"])


@pytest.mark.parametrize("port", [1, 8088, 65535])
def test_check_port_accepts(port):
    c.check_port(port)


@pytest.mark.parametrize("port", [0, -1, 65536, None])
def test_check_port_rejects(port):
    with pytest.raises(c.PlanError, match="outside the TCP port range 1-65535"):
        c.check_port(port)


def test_check_listener_options_absent_skips_everything():
    assert c.check_listener_options(params(state="absent", protocol_port=0, allowed_cidrs=None)) == (None, [])


def test_check_listener_options_requires_allowed_cidrs_and_says_why():
    with pytest.raises(c.PlanError) as err:
        c.check_listener_options(params(allowed_cidrs=None))
    assert "allowed_cidrs is required with state=present" in str(err.value)
    assert "whole internet" in str(err.value) and "0.0.0.0/0" in str(err.value)


def test_check_listener_options_rejects_empty_list():
    with pytest.raises(c.PlanError, match="allowed_cidrs is empty"):
        c.check_listener_options(params(allowed_cidrs=[]))


def test_check_listener_options_port_checked_first():
    with pytest.raises(c.PlanError, match="protocol_port 70000"):
        c.check_listener_options(params(protocol_port=70000, allowed_cidrs=None))


@pytest.mark.parametrize("cidrs, wide", [
    (["0.0.0.0/0"], "0.0.0.0/0"),
    (["::/0", "10.0.0.0/8"], "::/0"),
    (["0.0.0.0/0", "::/0"], "0.0.0.0/0 and ::/0"),
    (["0.0.0.1/0"], "0.0.0.0/0"),   # normalised before the check
])
def test_check_listener_options_warns_on_open_networks(cidrs, wide):
    cidrs_out, warnings = c.check_listener_options(params(allowed_cidrs=cidrs))
    assert warnings == ["allowed_cidrs contains %s, so /metrics of this load balancer is open to "
                        "every address that can reach its VIP." % wide]
    assert cidrs_out == c.normalise_cidrs(cidrs)


def test_check_listener_options_plain_cidrs_no_warning():
    assert c.check_listener_options(params(allowed_cidrs=["10.0.0.5/8"])) == (["10.0.0.0/8"], [])


@pytest.mark.parametrize("limit, ok", [(-2, False), (-1, True), (0, True), (100, True)])
def test_check_listener_options_connection_limit(limit, ok):
    if ok:
        c.check_listener_options(params(connection_limit=limit))
    else:
        with pytest.raises(c.PlanError, match="connection_limit must be -1"):
            c.check_listener_options(params(connection_limit=limit))


@pytest.mark.parametrize("key", ["timeout_client_data", "timeout_member_connect",
                                 "timeout_member_data", "timeout_tcp_inspect"])
@pytest.mark.parametrize("value, ok", [(-1, False), (0, True), (31536000000, True), (31536000001, False)])
def test_check_listener_options_timeouts(key, value, ok):
    if ok:
        c.check_listener_options(params(**{key: value}))
    else:
        with pytest.raises(c.PlanError, match="%s must be between 0 and 31536000000" % key):
            c.check_listener_options(params(**{key: value}))


def test_vip_addresses_includes_additional_vips():
    lb = dict(LB, additional_vips=[{"ip_address": "2001:db8::10"}, {"subnet_id": "x"}])
    assert c.vip_addresses(lb) == ["192.0.2.10", "2001:db8::10"]
    assert c.vip_addresses({"vip_address": None}) == []


def test_check_cidr_family_accepts_matching_version():
    c.check_cidr_family(["10.0.0.0/8"], LB)


def test_check_cidr_family_rejects_other_version():
    with pytest.raises(c.PlanError) as err:
        c.check_cidr_family(["10.0.0.0/8", "2001:db8::/32"], LB)
    assert str(err.value) == ("allowed_cidrs 2001:db8::/32 is IPv6 but load balancer 'web' has only "
                              "IPv4 VIPs (192.0.2.10); a listener can only filter the IP version it "
                              "receives.")


def test_check_cidr_family_plural_and_nameless_lb():
    lb = {"id": "lb-7", "vip_address": "2001:db8::1"}
    with pytest.raises(c.PlanError, match=r"10.0.0.0/8, 192.0.2.0/24 are IPv4 but load balancer 'lb-7' has only IPv6"):
        c.check_cidr_family(["10.0.0.0/8", "192.0.2.0/24"], lb)


def test_check_cidr_family_dual_stack_accepts_both():
    lb = dict(LB, additional_vips=[{"ip_address": "2001:db8::10"}])
    c.check_cidr_family(["10.0.0.0/8", "2001:db8::/32"], lb)


def test_check_cidr_family_without_vip_does_not_guess():
    c.check_cidr_family(["2001:db8::/32"], {"id": "x", "vip_address": None})


@pytest.mark.parametrize("text, expected", [
    ("v2.25", (2, 25)), ("2.3", (2, 3)), ("v2", None), ("", None), (None, None), ("vX.1", None),
])
def test_parse_version(text, expected):
    assert c.parse_version(text) == expected


def test_check_api_versions_accepts_new_api():
    versions = [{"id": "v2.0", "status": "SUPPORTED"}, {"id": "v2.25", "status": "SUPPORTED"},
                {"id": "v2.30", "status": "CURRENT"}]
    assert c.check_api_versions(versions) == "v2.30"


def test_check_api_versions_names_the_release():
    versions = [{"id": "v2.0", "status": "SUPPORTED"}, {"id": "v2.24", "status": "CURRENT"}]
    with pytest.raises(c.PlanError) as err:
        c.check_api_versions(versions)
    assert str(err.value) == (
        "This Octavia API is at v2.24, but PROMETHEUS listeners need API v2.25, added in "
        "Octavia 9.0.0 (OpenStack Xena, October 2021); upgrade Octavia, or use "
        "octavia.monitoring.lb_stats_info to read statistics through the API.")


def test_check_api_versions_ignores_deprecated_entries():
    versions = [{"id": "v2.30", "status": "DEPRECATED"}, {"id": "v2.10", "status": "CURRENT"}]
    with pytest.raises(c.PlanError, match="at v2.10"):
        c.check_api_versions(versions)


@pytest.mark.parametrize("versions", [[], None, [{"id": "v1", "status": "CURRENT"}]])
def test_check_api_versions_without_versions(versions):
    with pytest.raises(c.PlanError, match="did not list any API version"):
        c.check_api_versions(versions)


def test_check_provider_ovn_points_to_stats_module():
    with pytest.raises(c.PlanError) as err:
        c.check_provider(dict(LB, provider="ovn"))
    assert str(err.value) == ("Load balancer 'web' uses the provider 'ovn', which does not support "
                              "PROMETHEUS listeners; use octavia.monitoring.lb_stats_info to read its "
                              "statistics through the Octavia API instead.")


@pytest.mark.parametrize("provider", ["amphora", "amphorav2", None, ""])
def test_check_provider_accepts_others(provider):
    c.check_provider(dict(LB, provider=provider))


def test_unsupported_provider_message_keeps_api_detail():
    msg = c.unsupported_provider_message({"id": "x", "provider": "acme"}, "Provider 'acme' does not support it.")
    assert "'x' uses the provider 'acme'" in msg and "(Provider 'acme' does not support it)" in msg


def test_disabled_protocol_message_names_the_setting():
    assert "allow_prometheus_listeners = False" in c.disabled_protocol_message()


@pytest.mark.parametrize("status, fault, disabled, provider, immutable", [
    (400, "The selected protocol is not allowed in this deployment: PROMETHEUS", True, False, False),
    (400, "The selected protocol is not allowed in this deployment: TERMINATED_HTTPS", False, False, False),
    (501, "Provider 'ovn' does not support a requested option: PROMETHEUS", False, True, False),
    (409, "Load Balancer x is immutable and cannot be updated.", False, False, True),
    (409, "Another Listener on this Load Balancer is already using protocol_port 8088", False, False, False),
    (400, None, False, False, False),
])
def test_fault_classifiers(status, fault, disabled, provider, immutable):
    assert c.is_disabled_protocol_fault(status, fault) is disabled
    assert c.is_unsupported_provider_fault(status, fault) is provider
    assert c.is_immutable_fault(status, fault) is immutable


# --- identify the managed listener -----------------------------------------

HTTP = listener(id="h-1", name="prometheus", protocol="HTTP", protocol_port=80)


def test_select_listener_by_name_ignores_other_protocols():
    mine = listener()
    assert c.select_listener([HTTP, mine], "prometheus") is mine


def test_select_listener_adopts_single_other_name():
    other = listener(name="metrics")
    assert c.select_listener([HTTP, other], "prometheus") is other


def test_select_listener_does_not_adopt_for_absent():
    assert c.select_listener([listener(name="metrics")], "prometheus", adopt=False) is None


def test_select_listener_does_not_guess_between_several():
    two = [listener(id="a", name="m1"), listener(id="b", name="m2", protocol_port=9100)]
    assert c.select_listener(two, "prometheus") is None


def test_select_listener_none_when_lb_has_no_prometheus_listener():
    assert c.select_listener([HTTP], "prometheus") is None


def test_select_listener_duplicate_names_fail():
    dup = [listener(id="b"), listener(id="a", protocol_port=9100)]
    with pytest.raises(c.PlanError) as err:
        c.select_listener(dup, "prometheus")
    assert str(err.value).startswith("2 PROMETHEUS listeners on this load balancer are named "
                                     "'prometheus' (IDs a, b)")
    assert [x["id"] for x in err.value.extra["candidates"]] == ["a", "b"]


@pytest.mark.parametrize("other, port, own, conflict", [
    (listener(id="h", protocol="HTTP", protocol_port=8088), 8088, None, True),
    (listener(id="h", protocol="TCP", protocol_port=8088), 8088, None, True),
    (listener(id="h", protocol="UDP", protocol_port=8088), 8088, None, False),
    (listener(id="h", protocol="SCTP", protocol_port=8088), 8088, None, False),
    (listener(id="h", protocol="HTTP", protocol_port=80), 8088, None, False),
    (listener(id="own", protocol="PROMETHEUS", protocol_port=8088), 8088, "own", False),
])
def test_port_conflict(other, port, own, conflict):
    assert (c.port_conflict([other], port, own) is other) is conflict


def test_check_port_free_names_the_other_listener():
    with pytest.raises(c.PlanError) as err:
        c.check_port_free([listener(id="h-9", name="web-in", protocol="HTTP")], 8088, LB)
    assert str(err.value) == ("Port 8088 on load balancer 'web' is already used by the HTTP listener "
                              "'web-in' (h-9); choose another protocol_port.")
    c.check_port_free([listener(id="h-9", protocol="HTTP")], 9100, LB)


# --- compare and plan -------------------------------------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("allowed_cidrs", ["10.0.0.1/8", "10.0.0.0/8"], ["10.0.0.0/8"]),
    ("allowed_cidrs", None, []),
    ("tags", ["b", "a", "b"], ["a", "b"]),
    ("tags", None, []),
    ("description", None, ""),
    ("description", "x", "x"),
    ("protocol_port", 8088, 8088),
])
def test_comparable(key, value, expected):
    assert c.comparable(key, value) == expected


def test_listener_view_keeps_managed_keys_and_id():
    view = c.listener_view(listener(tags=["z", "a"], default_pool_id=None))
    assert view["id"] == "l-1" and view["tags"] == ["a", "z"]
    assert "default_pool_id" not in view and "provisioning_status" not in view
    assert set(view) == set(c.LISTENER_KEYS) | {"id"}


def want(**kw):
    base = {"name": "prometheus", "protocol_port": 8088, "allowed_cidrs": ["10.0.0.0/8"]}
    base.update(kw)
    return base


def test_plan_create():
    plan = c.plan_listener("present", None, want(description="m"))
    assert plan["action"] == "create" and plan["changed"] is True
    assert plan["body"] == want(description="m") and plan["delta"] == want(description="m")
    assert plan["diff"]["before"] == {} and plan["diff"]["after"] == want(description="m")
    assert plan["diff"]["before_header"] == "no PROMETHEUS listener"


def test_plan_no_change_with_equivalent_values():
    current = listener(allowed_cidrs=["10.0.0.0/8"], tags=["b", "a"])
    plan = c.plan_listener("present", current, want(allowed_cidrs=["10.9.9.9/8"], tags=["a", "b"]))
    assert plan["action"] is None and plan["changed"] is False and plan["delta"] == {}
    assert plan["diff"]["before"] == plan["diff"]["after"]
    assert "before_header" not in plan["diff"]


def test_plan_update_only_sends_what_differs():
    current = listener()
    plan = c.plan_listener("present", current, want(allowed_cidrs=["10.0.0.0/8", "192.168.0.0/16"],
                                                    connection_limit=-1))
    assert plan["action"] == "update"
    assert plan["delta"] == {"allowed_cidrs": ["10.0.0.0/8", "192.168.0.0/16"]}
    assert plan["diff"]["before"]["allowed_cidrs"] == ["10.0.0.0/8"]
    assert plan["diff"]["after"]["allowed_cidrs"] == ["10.0.0.0/8", "192.168.0.0/16"]
    assert plan["diff"]["after"]["id"] == "l-1"
    assert plan["diff"]["after_header"] == "listener l-1, updated in place"


def test_plan_update_renames_adopted_listener():
    plan = c.plan_listener("present", listener(name="metrics"), want())
    assert plan["action"] == "update" and plan["delta"] == {"name": "prometheus"}


def test_plan_unset_options_are_left_alone():
    current = listener(description="kept", tags=["t"], connection_limit=100)
    plan = c.plan_listener("present", current, want())
    assert plan["action"] is None
    assert plan["diff"]["after"]["description"] == "kept"


def test_plan_port_change_replaces_and_carries_settings():
    current = listener(description="kept", tags=["t"], timeout_client_data=1000)
    plan = c.plan_listener("present", current, want(protocol_port=9100))
    assert plan["action"] == "replace" and plan["delta"] == {"protocol_port": 9100}
    assert plan["body"]["protocol_port"] == 9100
    assert plan["body"]["description"] == "kept" and plan["body"]["tags"] == ["t"]
    assert plan["body"]["timeout_client_data"] == 1000 and "id" not in plan["body"]
    assert plan["diff"]["before"]["id"] == "l-1" and "id" not in plan["diff"]["after"]
    assert "delete, then create" in plan["diff"]["after_header"]
    assert plan["diff"]["before_header"] == "listener l-1 (to delete)"


def test_plan_port_change_with_other_changes_sends_them_too():
    plan = c.plan_listener("present", listener(), want(protocol_port=9100, allowed_cidrs=["192.0.2.0/24"]))
    assert plan["action"] == "replace"
    assert plan["body"]["allowed_cidrs"] == ["192.0.2.0/24"]


def test_plan_delete():
    plan = c.plan_listener("absent", listener(), {})
    assert plan["action"] == "delete" and plan["changed"] is True
    assert plan["diff"]["before"]["id"] == "l-1" and plan["diff"]["after"] == {}
    assert plan["diff"]["after_header"] == "listener deleted"


def test_plan_absent_and_missing():
    plan = c.plan_listener("absent", None, {})
    assert plan == {"action": None, "changed": False, "delta": {}, "body": {},
                    "diff": {"before": {}, "after": {}}}


# --- targets, labels, summaries ---------------------------------------------

def test_lb_summary():
    summary = c.lb_summary(LB, "203.0.113.7")
    assert summary == {"id": "lb-1", "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
                       "project_id": "proj", "provider": "amphora", "availability_zone": None,
                       "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
                       "floating_ip": "203.0.113.7"}
    assert c.lb_summary(LB)["floating_ip"] is None


@pytest.mark.parametrize("host, port, expected", [
    ("192.0.2.10", 8088, "192.0.2.10:8088"),
    ("2001:db8::10", 8088, "[2001:db8::10]:8088"),
    ("[2001:db8::10]", 9100, "[2001:db8::10]:9100"),
    ("lb.example.org", 80, "lb.example.org:80"),
])
def test_scrape_target(host, port, expected):
    assert c.scrape_target(host, port) == expected


@pytest.mark.parametrize("fip, address, expected", [
    ("203.0.113.7", "vip", "192.0.2.10"),
    ("203.0.113.7", "auto", "203.0.113.7"),
    (None, "auto", "192.0.2.10"),
    ("203.0.113.7", "floating_ip", "203.0.113.7"),
])
def test_scrape_host(fip, address, expected):
    assert c.scrape_host(c.lb_summary(LB, fip), address) == expected


def test_scrape_host_floating_ip_missing_fails_clearly():
    with pytest.raises(c.PlanError) as err:
        c.scrape_host(c.lb_summary(LB), "floating_ip")
    assert str(err.value) == ("Load balancer 'web' (lb-1) has no floating IP on its VIP port port-1; use "
                              "address=vip or address=auto, or attach a floating IP.")


def test_target_labels_with_and_without_cloud():
    summary = c.lb_summary(LB)
    labels = c.target_labels(summary, listener(), "mycloud", "RegionOne")
    assert labels == {"loadbalancer_id": "lb-1", "loadbalancer_name": "web", "project_id": "proj",
                      "listener_id": "l-1", "vip_address": "192.0.2.10", "provider": "amphora",
                      "availability_zone": "", "cloud": "mycloud", "region": "RegionOne"}
    bare = c.target_labels(dict(summary, name=None), listener(), None, None)
    assert "cloud" not in bare and "region" not in bare and bare["loadbalancer_name"] == ""


@pytest.mark.parametrize("kw, expected", [
    ({}, True),
    ({"name": "web"}, True), ({"name": "lb-1"}, True), ({"name": "db"}, False),
    ({"project_id": "proj"}, True), ({"project_id": "other"}, False),
    ({"tags": ["a"]}, True), ({"tags": ["a", "b"]}, True), ({"tags": ["a", "c"]}, False),
    ({"tags": []}, True),
])
def test_match_filters(kw, expected):
    assert c.match_filters(LB, **kw) is expected


def test_catalog_entry_sorted_with_pool_listeners_and_members():
    listeners = [listener(id="l-2", name="web-in", protocol="HTTP", protocol_port=80, connection_limit=10),
                 listener(id="l-1", name=None)]
    pools = [{"id": "p-2", "name": "", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "listeners": []},
             {"id": "p-1", "name": "web", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS",
              "listeners": [{"id": "l-3"}, {"id": "l-2"}]}]
    members = {"p-1": [{"id": "m-2", "name": "b", "address": "10.0.0.2", "protocol_port": 80, "weight": 1},
                       {"id": "m-1", "name": None, "address": "10.0.0.1", "protocol_port": 80, "weight": 5}]}
    entry = c.catalog_entry(listeners, pools, members)
    assert entry["listeners"] == [
        {"id": "l-1", "name": "", "protocol": "PROMETHEUS", "protocol_port": 8088, "connection_limit": -1},
        {"id": "l-2", "name": "web-in", "protocol": "HTTP", "protocol_port": 80, "connection_limit": 10}]
    assert entry["pools"] == [
        {"id": "p-1", "name": "web", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS",
         "listener_id": "l-2", "listener_ids": ["l-2", "l-3"]},
        {"id": "p-2", "name": "", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
         "listener_id": None, "listener_ids": []}]
    assert entry["members"] == [
        {"id": "m-1", "name": "", "address": "10.0.0.1", "protocol_port": 80, "weight": 5, "pool_id": "p-1"},
        {"id": "m-2", "name": "b", "address": "10.0.0.2", "protocol_port": 80, "weight": 1, "pool_id": "p-1"}]


def test_catalog_entry_empty():
    assert c.catalog_entry([], [], {}) == {"listeners": [], "pools": [], "members": []}


# --- statistics -------------------------------------------------------------

def test_stats_fields_ints_and_missing_zero():
    assert c.stats_fields({"bytes_in": "12", "bytes_out": 3.0, "active_connections": None, "id": None}) == \
        {"active_connections": 0, "bytes_in": 12, "bytes_out": 3, "request_errors": 0, "total_connections": 0}
    assert c.stats_fields(None) == dict.fromkeys(c.STATS_KEYS, 0)


def test_sum_stats():
    a = c.stats_fields({"bytes_in": 1, "total_connections": 2})
    b = c.stats_fields({"bytes_in": 10, "request_errors": 4})
    assert c.sum_stats([a, b]) == {"active_connections": 0, "bytes_in": 11, "bytes_out": 0,
                                   "request_errors": 4, "total_connections": 2}
    assert c.sum_stats([]) == dict.fromkeys(c.STATS_KEYS, 0)


def test_lb_stats_item_without_listeners():
    item = c.lb_stats_item(LB, {"bytes_in": 5})
    assert set(item) == set(c.LB_STATS_KEYS) | {"stats"}
    assert item["stats"]["bytes_in"] == 5 and "listeners" not in item


def test_lb_stats_item_with_listeners_sorted_by_port():
    pairs = [(listener(id="b", protocol_port=9100), {"bytes_out": 2}),
             (listener(id="a", name=None, protocol="UDP", protocol_port=53), {"bytes_out": 1})]
    item = c.lb_stats_item(LB, {}, pairs)
    assert [x["id"] for x in item["listeners"]] == ["a", "b"]
    assert item["listeners"][0] == {"id": "a", "name": "", "protocol": "UDP", "protocol_port": 53,
                                    "stats": c.stats_fields({"bytes_out": 1})}
    assert c.lb_stats_item(LB, {}, [])["listeners"] == []


def test_stats_report_skips_deleted_and_sums_what_is_returned():
    lb_a = dict(LB, id="a", name="a")
    lb_b = dict(LB, id="b", name="b")
    lb_gone = dict(LB, id="gone", name="gone")
    listeners = [listener(id="la", load_balancers=[{"id": "a"}]),
                 listener(id="lgone", load_balancers=[{"id": "a"}]),
                 listener(id="lb", load_balancers=[{"id": "b"}])]
    stats = {"a": {"bytes_in": 10, "total_connections": 1}, "b": {"bytes_in": 5},
             "la": {"bytes_in": 10}, "lb": {"bytes_in": 5}}
    items, totals = c.stats_report([lb_a, lb_gone, lb_b], listeners, stats)
    assert [i["id"] for i in items] == ["a", "b"]
    assert [x["id"] for x in items[0]["listeners"]] == ["la"]
    assert [x["id"] for x in items[1]["listeners"]] == ["lb"]
    assert totals == {"active_connections": 0, "bytes_in": 15, "bytes_out": 0, "request_errors": 0,
                      "total_connections": 1}


def test_stats_report_without_listeners_and_empty():
    items, totals = c.stats_report([dict(LB, id="a")], None, {"a": {"bytes_out": 3}})
    assert "listeners" not in items[0] and totals["bytes_out"] == 3
    assert c.stats_report([], None, {}) == ([], dict.fromkeys(c.STATS_KEYS, 0))


@pytest.mark.parametrize("status,fault,expected", [
    (400, "The selected protocol is not allowed in this deployment: PROMETHEUS", "allow_prometheus_listeners"),
    (501, "Provider 'ovn' does not support a requested option: PROMETHEUS", "lb_stats_info"),
    (409, "Another Listener on this Load Balancer is already using protocol PROMETHEUS", None),
])
def test_listener_fault_translator(status, fault, expected):
    sentence = c.listener_fault_translator({"id": "x", "name": "web", "provider": "ovn"})(status, fault)
    if expected is None:
        assert sentence is None
    else:
        assert expected in sentence
