"""_plan: validation Octavia would do, listener identity, comparison, step plans and prediction.

Migrated from test__compare.py (validation, select_listener, plan_listener,
fault messages) and test__fleet.py (predicted_listener). Where the redesign changed
behaviour on purpose, the test's docstring says so.
"""
import re

import pytest

from ansible_collections.octavia.monitoring.plugins.module_utils import _plan as p
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError

LB = {"id": "lb-1", "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
      "project_id": "proj", "provider": "amphora", "availability_zone": None,
      "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "tags": ["a", "b"]}


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": "", "is_admin_state_up": True,
            "connection_limit": -1, "tags": [], "timeout_client_data": 50000,
            "timeout_member_connect": 5000, "timeout_member_data": 50000, "timeout_tcp_inspect": 0,
            "load_balancers": [{"id": "lb-1"}], "provisioning_status": "ACTIVE",
            # What Octavia 19 answers for a PROMETHEUS listener without TLS (seen in the lab:
            # no default TLS versions, ciphers or ALPN protocols, unlike TERMINATED_HTTPS).
            "default_tls_container_ref": None, "sni_container_refs": [],
            "client_ca_tls_container_ref": None, "client_authentication": "NONE",
            "client_crl_container_ref": None, "tls_versions": None,
            "tls_ciphers": None, "alpn_protocols": None}
    base.update(kw)
    return base


def params(**kw):
    base = {"name": "prometheus", "state": "present", "protocol_port": 8088,
            "allowed_cidrs": ["10.0.0.0/8"], "description": None, "connection_limit": None,
            "tags": None, "timeout_client_data": None, "timeout_member_connect": None,
            "timeout_member_data": None, "timeout_tcp_inspect": None}
    base.update(kw)
    return base


def want(**kw):
    base = {"name": "prometheus", "protocol_port": 8088, "allowed_cidrs": ["10.0.0.0/8"]}
    base.update(kw)
    return base


# --- specs -----------------------------------------------------------------

def test_listener_spec_defaults_and_osc_aliases():
    assert p.LISTENER_SPEC["name"]["default"] == "prometheus"
    assert p.LISTENER_SPEC["protocol_port"] == {"type": "int", "default": 8088, "aliases": ["port"]}
    assert p.LISTENER_SPEC["state"]["choices"] == ["present", "absent"]
    assert p.LISTENER_SPEC["is_admin_state_up"]["aliases"] == ["admin_state_up"]
    assert set(p.LISTENER_KEYS) - {"name", "protocol_port", "allowed_cidrs"} == set(p.LISTENER_SETTINGS_SPEC)


def test_desired_drops_unset_options():
    assert p.desired({"a": 1, "b": None, "c": "", "d": False}, ("a", "b", "c", "d", "e")) == \
        {"a": 1, "c": "", "d": False}


# --- CIDRs -----------------------------------------------------------------

@pytest.mark.parametrize("given, expected, widened", [
    (["10.0.0.1/8"], ["10.0.0.0/8"], [("10.0.0.1/8", "10.0.0.0/8")]),
    (["192.168.0.0/16", "10.0.0.0/8", "10.1.2.3/8"], ["10.0.0.0/8", "192.168.0.0/16"],
     [("10.1.2.3/8", "10.0.0.0/8")]),
    ([" 2001:db8::1/32 ", "10.0.0.0/8"], ["10.0.0.0/8", "2001:db8::/32"],
     [("2001:db8::1/32", "2001:db8::/32")]),
    (["192.0.2.7"], ["192.0.2.7/32"], []),                 # a bare address is a /32, not widened
    (["2001:DB8::/32"], ["2001:db8::/32"], []),             # only spelled differently
    ([], [], []),
])
def test_normalise_cidrs(given, expected, widened):
    """normalise_cidrs now also returns the entries it widened (host bits set), for a warning."""
    assert p.normalise_cidrs(given) == (expected, widened)


def test_normalise_cidrs_names_one_bad_entry():
    with pytest.raises(PlanError) as err:
        p.normalise_cidrs(["10.0.0.0/8", "10.0.0.0/33"])
    assert str(err.value) == ("allowed_cidrs has '10.0.0.0/33' that is not valid CIDR notation "
                              "(expected e.g. 192.0.2.0/24 or 2001:db8::/64).")


def test_normalise_cidrs_names_every_bad_entry():
    with pytest.raises(PlanError, match="'foo', '300.1.1.1/8' that are not valid"):
        p.normalise_cidrs(["foo", "300.1.1.1/8"])


# --- text ------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "", "x" * 255, "caf\u00e9 \u4e2d\u6587", "tab\tand\nnewline"])
def test_check_text_accepts(value):
    p.check_text("description", value)


@pytest.mark.parametrize("value, message", [
    ("x" * 256, "description is 256 characters long; Octavia takes at most 255."),
    ("metrics \U0001F4C8\U0001F4C8 \U0001F600", "description contains U+1F4C8, U+1F600, which Octavia cannot store"),
    ("bell\x07", "description contains control characters; remove them."),
])
def test_check_text_refuses_what_octavia_refuses(value, message):
    """Issue 15 defect 1: these made Octavia refuse the create after the old listener was gone."""
    with pytest.raises(PlanError) as err:
        p.check_text("description", value)
    assert str(err.value).startswith(message)


# --- listener options ------------------------------------------------------

def test_check_listener_options_absent_skips_everything_but_the_name():
    assert p.check_listener_options(params(state="absent", protocol_port=0, allowed_cidrs=None)) == (None, [])
    with pytest.raises(PlanError, match="name is 300 characters long"):
        p.check_listener_options(params(state="absent", name="n" * 300))


@pytest.mark.parametrize("name", ["", None])
def test_check_listener_options_requires_a_name(name):
    with pytest.raises(PlanError, match="^name must not be empty: it is how the listener is found again.$"):
        p.check_listener_options(params(name=name))


def test_check_listener_options_checks_name_description_and_tags():
    with pytest.raises(PlanError, match="^name contains U\\+1F600"):
        p.check_listener_options(params(name="prom\U0001F600"))
    with pytest.raises(PlanError, match="^description is 256 characters long"):
        p.check_listener_options(params(description="d" * 256))
    with pytest.raises(PlanError, match="^The tag 'tttttttttttttttttttttttttttttttttttttttt' is 300 characters"):
        p.check_listener_options(params(tags=["ok", "t" * 300]))


def test_check_listener_options_requires_allowed_cidrs_and_says_why():
    with pytest.raises(PlanError) as err:
        p.check_listener_options(params(allowed_cidrs=None))
    assert "allowed_cidrs is required with state=present" in str(err.value)
    assert "whole internet" in str(err.value) and "0.0.0.0/0" in str(err.value)


def test_check_listener_options_rejects_empty_list():
    with pytest.raises(PlanError, match="allowed_cidrs is empty"):
        p.check_listener_options(params(allowed_cidrs=[]))


def test_check_listener_options_port_checked_first():
    with pytest.raises(PlanError, match="protocol_port 70000"):
        p.check_listener_options(params(protocol_port=70000, allowed_cidrs=None))


@pytest.mark.parametrize("port", [1, 8088, 65535])
def test_check_listener_options_accepts_ports(port):
    """check_port is gone; the port range is checked by check_listener_options."""
    p.check_listener_options(params(protocol_port=port))


@pytest.mark.parametrize("port", [0, -1, 65536, None])
def test_check_listener_options_rejects_ports(port):
    with pytest.raises(PlanError, match="outside the TCP port range 1-65535"):
        p.check_listener_options(params(protocol_port=port))


@pytest.mark.parametrize("cidrs, wide", [
    (["0.0.0.0/0"], "0.0.0.0/0"),
    (["::/0", "10.0.0.0/8"], "::/0"),
    (["0.0.0.0/0", "::/0"], "0.0.0.0/0 and ::/0"),
])
def test_check_listener_options_warns_on_open_networks(cidrs, wide):
    cidrs_out, warnings = p.check_listener_options(params(allowed_cidrs=cidrs))
    assert warnings == [f"allowed_cidrs contains {wide}, so /metrics of this load balancer is open to "
                        "every address that can reach its VIP."]
    assert cidrs_out == p.normalise_cidrs(cidrs)[0]


def test_check_listener_options_warns_on_host_bits():
    """Deliberate change (issue 15, smaller defects): a CIDR with host bits is still widened,
    as Octavia does, but now with a warning; before it was widened silently."""
    assert p.check_listener_options(params(allowed_cidrs=["10.0.0.5/8"])) == (["10.0.0.0/8"], [
        "allowed_cidrs entry 10.0.0.5/8 has host bits set, so it allows the whole network 10.0.0.0/8; "
        "write 10.0.0.0/8 (or the host as a /32 or /128) to say what you mean."])
    cidrs, warnings = p.check_listener_options(params(allowed_cidrs=["0.0.0.1/0"]))
    assert cidrs == ["0.0.0.0/0"] and len(warnings) == 2 and "host bits" in warnings[0]
    assert "open to every address" in warnings[1]


def test_check_listener_options_plain_cidrs_no_warning():
    assert p.check_listener_options(params(allowed_cidrs=["10.0.0.0/8", "192.0.2.7"])) == \
        (["10.0.0.0/8", "192.0.2.7/32"], [])


@pytest.mark.parametrize("limit, ok", [(-2, False), (-1, True), (0, True), (100, True)])
def test_check_listener_options_connection_limit(limit, ok):
    if ok:
        p.check_listener_options(params(connection_limit=limit))
    else:
        with pytest.raises(PlanError, match="connection_limit must be -1"):
            p.check_listener_options(params(connection_limit=limit))


@pytest.mark.parametrize("key", list(p.TIMEOUT_KEYS))
@pytest.mark.parametrize("value, ok", [(-1, False), (0, True), (31536000000, True), (31536000001, False)])
def test_check_listener_options_timeouts(key, value, ok):
    if ok:
        p.check_listener_options(params(**{key: value}))
    else:
        with pytest.raises(PlanError, match=f"{key} must be between 0 and 31536000000"):
            p.check_listener_options(params(**{key: value}))


# --- rules that need the load balancer -----------------------------------

def test_check_cidr_family_accepts_matching_version():
    p.check_cidr_family(["10.0.0.0/8"], LB)


def test_check_cidr_family_rejects_other_version():
    with pytest.raises(PlanError) as err:
        p.check_cidr_family(["10.0.0.0/8", "2001:db8::/32"], LB)
    assert str(err.value) == ("allowed_cidrs 2001:db8::/32 is IPv6 but load balancer 'web' has only "
                              "IPv4 VIPs (192.0.2.10); a listener can only filter the IP version it "
                              "receives.")


def test_check_cidr_family_plural_and_nameless_lb():
    lb = {"id": "lb-7", "vip_address": "2001:db8::1"}
    with pytest.raises(PlanError, match=r"10.0.0.0/8, 192.0.2.0/24 are IPv4 but load balancer 'lb-7' has only IPv6"):
        p.check_cidr_family(["10.0.0.0/8", "192.0.2.0/24"], lb)


def test_check_cidr_family_dual_stack_accepts_both():
    lb = dict(LB, additional_vips=[{"ip_address": "2001:db8::10"}])
    p.check_cidr_family(["10.0.0.0/8", "2001:db8::/32"], lb)


def test_check_cidr_family_without_vip_does_not_guess():
    p.check_cidr_family(["2001:db8::/32"], {"id": "x", "vip_address": None})


@pytest.mark.parametrize("text, expected", [
    ("v2.25", (2, 25)), ("2.3", (2, 3)), ("v2", None), ("", None), (None, None), ("vX.1", None),
])
def test_parse_version(text, expected):
    assert p.parse_version(text) == expected


def test_check_api_versions_accepts_new_api():
    versions = [{"id": "v2.0", "status": "SUPPORTED"}, {"id": "v2.25", "status": "SUPPORTED"},
                {"id": "v2.30", "status": "CURRENT"}]
    assert p.check_api_versions(versions) == "v2.30"


def test_check_api_versions_names_the_release():
    versions = [{"id": "v2.0", "status": "SUPPORTED"}, {"id": "v2.24", "status": "CURRENT"}]
    with pytest.raises(PlanError) as err:
        p.check_api_versions(versions)
    assert str(err.value) == (
        "This Octavia API is at v2.24, but PROMETHEUS listeners need API v2.25, added in "
        "Octavia 9.0.0 (OpenStack Xena, October 2021); upgrade Octavia, or use "
        "octavia.monitoring.lb_stats_info to read statistics through the API.")


def test_check_api_versions_ignores_deprecated_entries():
    versions = [{"id": "v2.30", "status": "DEPRECATED"}, {"id": "v2.10", "status": "CURRENT"}]
    with pytest.raises(PlanError, match="at v2.10"):
        p.check_api_versions(versions)


@pytest.mark.parametrize("versions", [[], None, [{"id": "v1", "status": "CURRENT"}], [{"id": "v2.30"}]])
def test_check_api_versions_without_versions(versions):
    with pytest.raises(PlanError, match="did not list any API version"):
        p.check_api_versions(versions)


@pytest.mark.parametrize("other, port, own, conflict", [
    (listener(id="h", protocol="HTTP", protocol_port=8088), 8088, (), True),
    (listener(id="h", protocol="TCP", protocol_port=8088), 8088, (), True),
    (listener(id="h", protocol="TERMINATED_HTTPS", protocol_port=8088), 8088, (), True),
    (listener(id="h", protocol="UDP", protocol_port=8088), 8088, (), False),
    (listener(id="h", protocol="SCTP", protocol_port=8088), 8088, (), False),
    (listener(id="h", protocol="HTTP", protocol_port=80), 8088, (), False),
    (listener(id="own", protocol="PROMETHEUS", protocol_port=8088), 8088, ("own",), False),
    (listener(id="own", protocol="PROMETHEUS", protocol_port=8088), 8088, {"own", "left"}, False),
    (listener(id="other", protocol="PROMETHEUS", protocol_port=8088), 8088, ("own",), True),
])
def test_port_conflict(other, port, own, conflict):
    """own_ids is now a collection: the managed listener and the leftovers of a replace."""
    assert (p.port_conflict([other], port, own) is other) is conflict


def test_check_port_free_names_the_other_listener():
    with pytest.raises(PlanError) as err:
        p.check_port_free([listener(id="h-9", name="web-in", protocol="HTTP")], 8088, LB)
    assert str(err.value) == ("Port 8088 on load balancer 'web' is already used by the HTTP listener "
                              "'web-in' (h-9); choose another protocol_port.")
    p.check_port_free([listener(id="h-9", protocol="HTTP")], 9100, LB)
    with pytest.raises(PlanError, match=r"^Port 8088 on load balancer 'lb-1' is already used by the TCP listener '' \(t\)"):
        p.check_port_free([listener(id="t", name=None, protocol="TCP")], 8088, dict(LB, name=""))


# --- Octavia's answers in the collection's words ---------------------------

def test_disabled_protocol_message_names_the_setting():
    assert "allow_prometheus_listeners = False" in p.disabled_protocol_message()


@pytest.mark.parametrize("status, fault, expected", [
    (400, "The selected protocol is not allowed in this deployment: PROMETHEUS", p.disabled_protocol_message()),
    (400, "The selected protocol is not allowed in this deployment: PROMETHEUS with TLS",
     p.disabled_tls_message()),
    (501, "Provider 'ovn' does not support a requested option: PROMETHEUS",
     "Load balancer 'web' uses the provider 'ovn', which does not support PROMETHEUS listeners (Provider "
     "'ovn' does not support a requested option: PROMETHEUS); use octavia.monitoring.lb_stats_info to read "
     "its statistics through the Octavia API instead."),
    (400, "The selected protocol is not allowed in this deployment: TERMINATED_HTTPS", None),
    (409, "Another Listener on this Load Balancer is already using protocol PROMETHEUS", None),
    (409, "Load Balancer x is immutable and cannot be updated.", None),
    (501, None, None),
    (400, None, None),
])
def test_listener_fault_translator(status, fault, expected):
    """The fault classifiers of _compare became the translate hook of _octavia.write()."""
    assert p.listener_fault_translator({"id": "x", "name": "web", "provider": "ovn"})(status, fault) == expected


# --- identify the managed listener -----------------------------------------

HTTP = listener(id="h-1", name="prometheus", protocol="HTTP", protocol_port=80)


def test_select_listener_by_name_ignores_other_protocols():
    """select_listener now returns (listener, leftovers)."""
    mine = listener()
    assert p.select_listener([HTTP, mine], "prometheus", 8088) == (mine, [])


def test_select_listener_by_name_on_another_port():
    mine = listener(protocol_port=9100)
    found, leftovers = p.select_listener([mine], "prometheus", 8088)
    assert found is mine and leftovers == []


def test_select_listener_adopts_single_other_name():
    other = listener(name="metrics")
    assert p.select_listener([HTTP, other], "prometheus", 8088)[0] is other


def test_select_listener_does_not_adopt_for_absent():
    assert p.select_listener([listener(name="metrics")], "prometheus", adopt=False) == (None, [])


def test_select_listener_does_not_guess_between_several():
    two = [listener(id="a", name="m1"), listener(id="b", name="m2", protocol_port=9100)]
    assert p.select_listener(two, "prometheus", 8088) == (None, [])


def test_select_listener_none_when_lb_has_no_prometheus_listener():
    assert p.select_listener([HTTP], "prometheus", 8088) == (None, [])


def test_select_listener_leftovers_of_an_interrupted_replace():
    """Deliberate change: two listeners with the name are what an interrupted replace leaves
    (new one on the wanted port, old one elsewhere); the one on the port is the listener and
    the other a leftover to delete. Before, any two namesakes failed."""
    old, new = listener(id="old", protocol_port=9100), listener(id="new", protocol_port=8088)
    assert p.select_listener([old, new], "prometheus", 8088) == (new, [old])
    assert p.select_listener([old, new], "prometheus", 9100) == (old, [new])


def test_select_listener_absent_takes_every_namesake():
    a, b = listener(id="a", protocol_port=8088), listener(id="b", protocol_port=9100)
    assert p.select_listener([b, a], "prometheus", None, adopt=False) == (a, [b])


@pytest.mark.parametrize("ports, port", [
    ((8088, 8088), 8088),     # both on the wanted port
    ((9100, 9200), 8088),     # neither on it
])
def test_select_listener_duplicate_names_fail_when_the_port_does_not_decide(ports, port):
    dup = [listener(id="b", protocol_port=ports[0]), listener(id="a", protocol_port=ports[1])]
    with pytest.raises(PlanError) as err:
        p.select_listener(dup, "prometheus", port)
    assert str(err.value) == ("2 PROMETHEUS listeners on this load balancer are named 'prometheus' (IDs "
                              "a, b); rename or delete all but one.")
    assert [x["id"] for x in err.value.extra["candidates"]] == ["a", "b"]


# --- compare ---------------------------------------------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("allowed_cidrs", ["10.0.0.1/8", "10.0.0.0/8"], ["10.0.0.0/8"]),
    ("allowed_cidrs", None, []),
    ("tags", ["b", "a", "b"], ["a", "b"]),
    ("tags", None, []),
    ("description", None, ""),
    ("description", "x", "x"),
    ("protocol_port", 8088, 8088),
    ("tls_versions", ["TLSv1.3", "TLSv1.2", "TLSv1.3"], ["TLSv1.2", "TLSv1.3"]),
    ("tls_versions", None, None),
    ("alpn_protocols", ["http/1.1", "h2"], ["http/1.1", "h2"]),       # an order of preference
    ("alpn_protocols", None, None),
    ("sni_container_refs", ["b", "a"], ["a", "b"]),
    ("sni_container_refs", None, []),
    ("default_tls_container_ref", "", None),
    ("client_ca_tls_container_ref", None, None),
    ("client_authentication", "NONE", "NONE"),
    ("tls_ciphers", "A:B", "A:B"),
])
def test_comparable(key, value, expected):
    assert p.comparable(key, value) == expected


def test_listener_view_keeps_managed_keys_and_id():
    view = p.listener_view(listener(tags=["z", "a"], default_pool_id=None))
    assert view["id"] == "l-1" and view["tags"] == ["a", "z"]
    assert "default_pool_id" not in view and "provisioning_status" not in view
    assert set(view) == set(p.LISTENER_KEYS) | {"id"}
    assert p.listener_view({"name": "x"}) == {"name": "x"}


# --- plan ------------------------------------------------------------------

def test_plan_create():
    plan = p.plan_listener("present", None, want(description="m"))
    assert plan["action"] == "create" and plan["changed"] is True
    assert plan["steps"] == [{"op": "create", "body": want(description="m")}]
    assert plan["diff"]["before"] == {} and plan["diff"]["after"] == want(description="m")
    assert plan["diff"]["before_header"] == "no PROMETHEUS listener"
    assert plan["diff"]["after_header"] == "listener to create"


def test_plan_create_normalises_what_it_sends():
    plan = p.plan_listener("present", None, want(allowed_cidrs=["10.0.0.1/8"], tags=["b", "a"]))
    assert plan["steps"][0]["body"]["allowed_cidrs"] == ["10.0.0.0/8"]
    assert plan["steps"][0]["body"]["tags"] == ["a", "b"]


def test_plan_no_change_with_equivalent_values():
    current = listener(allowed_cidrs=["10.0.0.0/8"], tags=["b", "a"])
    plan = p.plan_listener("present", current, want(allowed_cidrs=["10.9.9.9/8"], tags=["a", "b"]))
    assert plan["action"] is None and plan["changed"] is False and plan["steps"] == []
    assert plan["diff"]["before"] == plan["diff"]["after"]
    assert "before_header" not in plan["diff"]


def test_plan_update_only_sends_what_differs():
    plan = p.plan_listener("present", listener(), want(allowed_cidrs=["10.0.0.0/8", "192.168.0.0/16"],
                                                       connection_limit=-1))
    assert plan["action"] == "update"
    assert plan["steps"] == [{"op": "update", "id": "l-1",
                              "delta": {"allowed_cidrs": ["10.0.0.0/8", "192.168.0.0/16"]}}]
    assert plan["diff"]["before"]["allowed_cidrs"] == ["10.0.0.0/8"]
    assert plan["diff"]["after"]["allowed_cidrs"] == ["10.0.0.0/8", "192.168.0.0/16"]
    assert plan["diff"]["after"]["id"] == "l-1"
    assert plan["diff"]["before_header"] == "listener l-1"
    assert plan["diff"]["after_header"] == "listener l-1, updated in place"


def test_plan_update_renames_adopted_listener():
    plan = p.plan_listener("present", listener(name="metrics"), want())
    assert plan["action"] == "update" and plan["steps"][0]["delta"] == {"name": "prometheus"}


def test_plan_unset_options_are_left_alone():
    current = listener(description="kept", tags=["t"], connection_limit=100)
    plan = p.plan_listener("present", current, want())
    assert plan["action"] is None
    assert plan["diff"]["after"]["description"] == "kept"


def test_plan_port_change_creates_first_then_deletes_and_carries_settings():
    """Deliberate change (issue 15 defect 1): a replace creates the new listener first and
    deletes the old one only after that; before, it deleted first."""
    current = listener(description="kept", tags=["t"], timeout_client_data=1000)
    plan = p.plan_listener("present", current, want(protocol_port=9100))
    assert plan["action"] == "replace"
    assert [step["op"] for step in plan["steps"]] == ["create", "delete"]
    body = plan["steps"][0]["body"]
    assert body["protocol_port"] == 9100 and body["name"] == "prometheus"
    assert body["description"] == "kept" and body["tags"] == ["t"]
    assert body["timeout_client_data"] == 1000 and "id" not in body
    assert plan["steps"][1] == {"op": "delete", "id": "l-1"}
    assert plan["diff"]["before"]["id"] == "l-1" and "id" not in plan["diff"]["after"]
    assert plan["diff"]["before_header"] == "listener l-1 (deleted once its replacement is ACTIVE)"
    assert "create, then delete the old one" in plan["diff"]["after_header"]


def test_plan_port_change_with_other_changes_sends_them_too():
    plan = p.plan_listener("present", listener(), want(protocol_port=9100, allowed_cidrs=["192.0.2.0/24"]))
    assert plan["action"] == "replace"
    assert plan["steps"][0]["body"]["allowed_cidrs"] == ["192.0.2.0/24"]


@pytest.mark.parametrize("wanted", [want(), want(protocol_port=9100), want(description="new")])
def test_plan_repairs_a_listener_in_error(wanted):
    """New: a listener in provisioning ERROR is never "unchanged" (issue 15 defect 2); Octavia
    deletes it but will not update it, so it is deleted, then created again, whatever changed."""
    current = listener(provisioning_status="ERROR", description="kept")
    plan = p.plan_listener("present", current, wanted)
    assert plan["action"] == "repair" and plan["changed"] is True
    assert plan["steps"][0] == {"op": "delete", "id": "l-1"}
    assert plan["steps"][1]["op"] == "create" and len(plan["steps"]) == 2
    body = plan["steps"][1]["body"]
    assert "id" not in body and body == plan["diff"]["after"]
    assert body["protocol_port"] == wanted["protocol_port"]
    assert body["description"] == wanted.get("description", "kept")
    assert plan["diff"]["before_header"] == "listener l-1 (provisioning status ERROR)"
    assert plan["diff"]["after_header"] == "new listener (the broken one is deleted, then created again)"


def test_plan_deletes_leftovers_last():
    """New: leftovers of an interrupted replace are deleted after everything else."""
    left = listener(id="left", protocol_port=9100)
    plan = p.plan_listener("present", listener(), want(protocol_port=9200), [left])
    assert [(s["op"], s.get("id")) for s in plan["steps"]] == [
        ("create", None), ("delete", "l-1"), ("delete", "left")]
    plan = p.plan_listener("present", listener(allowed_cidrs=["192.0.2.0/24"]), want(), [left])
    assert plan["action"] == "update"
    assert [(s["op"], s.get("id")) for s in plan["steps"]] == [("update", "l-1"), ("delete", "left")]


def test_plan_leftovers_alone_still_change():
    """The listener is as wanted, but the old one of an interrupted replace is still there."""
    left = listener(id="left", protocol_port=9100)
    plan = p.plan_listener("present", listener(), want(), [left])
    assert plan["changed"] is True and plan["action"] == "replace"
    assert plan["steps"] == [{"op": "delete", "id": "left"}]
    assert plan["diff"]["before"] == plan["diff"]["after"]


def test_plan_delete():
    plan = p.plan_listener("absent", listener(), {})
    assert plan["action"] == "delete" and plan["changed"] is True
    assert plan["steps"] == [{"op": "delete", "id": "l-1"}]
    assert plan["diff"]["before"]["id"] == "l-1" and plan["diff"]["after"] == {}
    assert plan["diff"]["after_header"] == "listener deleted"


def test_plan_delete_with_leftovers_and_leftovers_alone():
    left = listener(id="left", protocol_port=9100)
    assert [s["id"] for s in p.plan_listener("absent", listener(), {}, [left])["steps"]] == ["l-1", "left"]
    plan = p.plan_listener("absent", None, {}, [left])
    assert plan["action"] == "delete" and plan["steps"] == [{"op": "delete", "id": "left"}]


def test_plan_absent_and_missing():
    assert p.plan_listener("absent", None, {}) == {"action": None, "changed": False, "steps": [],
                                                   "diff": {"before": {}, "after": {}}, "tls_change": None}


# --- prediction ------------------------------------------------------------

def test_predicted_listener_unchanged_is_the_current_one():
    current = listener()
    plan = p.plan_listener("present", current, want())
    assert p.predicted_listener(current, plan) is current


def test_predicted_listener_deleted_is_none():
    assert p.predicted_listener(listener(), p.plan_listener("absent", listener(), {})) is None


def test_predicted_listener_create_has_no_id_and_is_active():
    plan = p.plan_listener("present", None, want())
    assert p.predicted_listener(None, plan) == dict(want(), protocol="PROMETHEUS", provisioning_status="ACTIVE")


def test_predicted_listener_update_keeps_the_id():
    current = listener(allowed_cidrs=["192.0.2.0/24"], provisioning_status="PENDING_UPDATE")
    predicted = p.predicted_listener(current, p.plan_listener("present", current, want()))
    assert predicted["id"] == "l-1" and predicted["allowed_cidrs"] == ["10.0.0.0/8"]
    assert predicted["provisioning_status"] == "ACTIVE" and predicted["protocol"] == "PROMETHEUS"


@pytest.mark.parametrize("current, wanted", [
    (listener(), want(protocol_port=9100)),                      # replace
    (listener(provisioning_status="ERROR"), want()),             # repair
])
def test_predicted_listener_replaced_has_no_id(current, wanted):
    predicted = p.predicted_listener(current, p.plan_listener("present", current, wanted))
    assert "id" not in predicted and predicted["protocol_port"] == wanted["protocol_port"]
    assert predicted["provisioning_status"] == "ACTIVE"


# --- TLS on /metrics (issue 14) ------------------------------------------------

CERT, CA, CRL = "ref://cert", "ref://ca", "ref://crl"
C13 = "TLS_AES_256_GCM_SHA384"


def test_tls_is_added_in_place_and_compared_idempotently():
    wanted = want(default_tls_container_ref=CERT, client_ca_tls_container_ref=CA,
                  client_authentication="MANDATORY", tls_versions=["TLSv1.3", "TLSv1.2"])
    plan = p.plan_listener("present", listener(), wanted)
    assert plan["action"] == "update"
    assert plan["steps"] == [dict(op="update", id="l-1", delta=dict(
        default_tls_container_ref=CERT, client_ca_tls_container_ref=CA, client_authentication="MANDATORY",
        tls_versions=["TLSv1.2", "TLSv1.3"]))]
    assert plan["tls_change"] == "added" and plan["diff"]["after_header"] == (
        "listener l-1, updated in place; TLS added: /metrics is served over HTTPS from now on")
    done = listener(default_tls_container_ref=CERT, client_ca_tls_container_ref=CA,
                    client_authentication="MANDATORY", tls_versions=["TLSv1.2", "TLSv1.3"])
    assert p.plan_listener("present", done, wanted)["action"] is None


def test_tls_versions_change_is_an_update():
    current = listener(default_tls_container_ref=CERT, tls_ciphers=C13)
    plan = p.plan_listener("present", current, want(tls_versions=["TLSv1.3"]))
    assert plan["steps"] == [dict(op="update", id="l-1", delta=dict(tls_versions=["TLSv1.3"]))]


def test_an_empty_reference_removes_tls():
    current = listener(default_tls_container_ref=CERT)
    plan = p.plan_listener("present", current, want(default_tls_container_ref=""))
    assert plan["steps"] == [dict(op="update", id="l-1", delta=dict(default_tls_container_ref=None))]
    assert p.plan_listener("present", listener(), want(default_tls_container_ref=""))["action"] is None


def test_create_with_tls_sends_no_empty_references():
    plan = p.plan_listener("present", None, want(default_tls_container_ref=CERT, client_crl_container_ref=""))
    body = plan["steps"][0]["body"]
    assert body["default_tls_container_ref"] == CERT and "client_crl_container_ref" not in body


@pytest.mark.parametrize("current, wanted, message", [
    (None, dict(client_ca_tls_container_ref=CA), "client_ca_tls_container_ref needs a certificate"),
    (None, dict(default_tls_container_ref=CERT, client_authentication="MANDATORY"),
     "client_authentication MANDATORY needs client_ca_tls_container_ref"),
    (None, dict(default_tls_container_ref=CERT, client_crl_container_ref=CRL),
     "client_crl_container_ref needs client_ca_tls_container_ref"),
    (None, dict(tls_versions=["TLSv1.3"]), "tls_versions applies only to a listener that serves TLS"),
    # Removing the certificate of a listener that still asks for client certificates.
    (dict(default_tls_container_ref=CERT, client_ca_tls_container_ref=CA, client_authentication="MANDATORY"),
     dict(default_tls_container_ref=""), "client_ca_tls_container_ref needs a certificate"),
])
def test_tls_settings_octavia_refuses_fail_before_any_write(current, wanted, message):
    with pytest.raises(p.PlanError, match=message):
        p.plan_listener("present", listener(**current) if current else None, want(**wanted))


@pytest.mark.parametrize("options, message", [
    (dict(tls_versions=[]), "tls_versions is an empty list, which Octavia refuses"),
    (dict(alpn_protocols=[]), "alpn_protocols is an empty list, which Octavia refuses"),
    (dict(tls_ciphers=""), "tls_ciphers is empty; Octavia cannot clear it"),
    (dict(tls_ciphers="  "), "tls_ciphers is empty"),
    (dict(sni_container_refs=["ref://a", ""]), "sni_container_refs has an empty entry"),
    (dict(default_tls_container_ref="x" * 256), "default_tls_container_ref is 256 characters long"),
    (dict(client_crl_container_ref="r\x01"), "client_crl_container_ref contains control characters"),
])
def test_tls_values_octavia_refuses_or_would_not_keep_fail_first(options, message):
    with pytest.raises(p.PlanError, match=message):
        p.check_listener_options(params(**options))


def test_tls_values_octavia_takes_pass_the_first_checks():
    given = params(default_tls_container_ref=CERT, sni_container_refs=[], client_ca_tls_container_ref=CA,
                   client_authentication="OPTIONAL", client_crl_container_ref=CRL, tls_versions=["TLSv1.3"],
                   tls_ciphers="ECDHE-ECDSA-AES256-GCM-SHA384", alpn_protocols=["h2"])
    assert p.check_listener_options(given) == (["10.0.0.0/8"], [])
    # Removing a reference is the empty string, which is not an error.
    assert p.check_listener_options(params(default_tls_container_ref="", client_ca_tls_container_ref=""))[1] == []


@pytest.mark.parametrize("action, before, after, change", [
    ("update", {}, dict(default_tls_container_ref=CERT), "added"),
    ("update", dict(default_tls_container_ref=CERT), dict(default_tls_container_ref=None), "removed"),
    ("update", dict(sni_container_refs=[CERT]), dict(sni_container_refs=[]), "removed"),
    ("update", dict(default_tls_container_ref=CERT), dict(default_tls_container_ref=CA), None),
    ("update", {}, {}, None),
    ("replace", dict(default_tls_container_ref=CERT), {}, "removed"),
    ("repair", {}, dict(default_tls_container_ref=CERT), "added"),
    ("create", {}, dict(default_tls_container_ref=CERT), None),
    ("delete", dict(default_tls_container_ref=CERT), {}, None),
    (None, dict(default_tls_container_ref=CERT), dict(default_tls_container_ref=CERT), None),
])
def test_tls_change(action, before, after, change):
    assert p.tls_change(action, before, after) == change


def test_removing_tls_with_client_authentication_is_one_update_in_place_that_says_so():
    current = listener(default_tls_container_ref=CERT, client_ca_tls_container_ref=CA,
                       client_authentication="MANDATORY", client_crl_container_ref=CRL, tls_versions=["TLSv1.3"],
                       tls_ciphers=C13)
    plan = p.plan_listener("present", current, want(default_tls_container_ref="", client_ca_tls_container_ref="",
                                                    client_crl_container_ref="", client_authentication="NONE"))
    assert (plan["action"], plan["tls_change"]) == ("update", "removed")
    assert plan["steps"] == [dict(op="update", id="l-1", delta=dict(
        default_tls_container_ref=None, client_ca_tls_container_ref=None, client_crl_container_ref=None,
        client_authentication="NONE"))]
    assert plan["diff"]["after_header"].endswith("TLS removed: /metrics is served over plain HTTP from now on")
    # The TLS versions Octavia keeps on the listener are not compared when the task leaves them out.
    done = dict(current, default_tls_container_ref=None, client_ca_tls_container_ref=None,
                client_crl_container_ref=None, client_authentication="NONE")
    assert p.plan_listener("present", done, want(default_tls_container_ref="", client_ca_tls_container_ref="",
                                                 client_crl_container_ref="", client_authentication="NONE"))[
        "action"] is None


def test_removing_tls_on_a_new_port_is_a_replace_that_says_so():
    current = listener(default_tls_container_ref=CERT)
    plan = p.plan_listener("present", current, want(protocol_port=9100, default_tls_container_ref=""))
    assert (plan["action"], plan["tls_change"]) == ("replace", "removed")
    assert "default_tls_container_ref" not in plan["steps"][0]["body"]


@pytest.mark.parametrize("current, wanted, message", [
    # A CRL kept while its client CA goes.
    (dict(default_tls_container_ref=CERT, client_ca_tls_container_ref=CA, client_crl_container_ref=CRL),
     dict(client_ca_tls_container_ref=""), "client_crl_container_ref needs client_ca_tls_container_ref"),
    # Client authentication kept while its client CA goes: Octavia's update would take it.
    (dict(default_tls_container_ref=CERT, client_ca_tls_container_ref=CA, client_authentication="OPTIONAL"),
     dict(client_ca_tls_container_ref=""), "client_authentication OPTIONAL needs client_ca_tls_container_ref"),
    # TLS versions given while the certificate goes.
    (dict(default_tls_container_ref=CERT), dict(default_tls_container_ref="", tls_versions=["TLSv1.3"]),
     "tls_versions applies only to a listener that serves TLS"),
])
def test_updates_octavia_would_take_but_leave_a_broken_listener_fail_before_any_write(current, wanted, message):
    """Octavia checks these rules on a create only; its update would store the broken combination."""
    with pytest.raises(p.PlanError, match=message):
        p.plan_listener("present", listener(**current), want(**wanted))


@pytest.mark.parametrize("versions, ciphers, missing", [
    (["TLSv1.3"], None, "a version before TLSv1.3"),
    (["TLSv1.2"], None, "TLSv1.3"),
    (["TLSv1.1", "TLSv1.2"], None, "TLSv1.3"),
    ([], None, "a version before TLSv1.3 or TLSv1.3"),
])
def test_tls_versions_octavias_amphora_driver_cannot_render_fail_before_any_write(versions, ciphers, missing):
    """Octavia 19's jinja_cfg drops the cipher half that tls_versions leaves out, and fails (KeyError)
    when tls_ciphers is null, as it is on a PROMETHEUS listener unless given (seen in the lab)."""
    with pytest.raises(p.PlanError, match=f"lacks {missing} and no cipher string is set"):
        p.check_renderable(dict(tls_versions=versions, tls_ciphers=ciphers))
    # Whatever writes the listener checks it, the create, the update and a replace alike ...
    for current, wanted in ((None, want(default_tls_container_ref=CERT, tls_versions=versions or ["SSLv3"])),
                            (listener(default_tls_container_ref=CERT), want(tls_versions=versions or ["SSLv3"])),
                            (listener(default_tls_container_ref=CERT, tls_versions=versions),
                             want(protocol_port=9100))):
        if versions:
            with pytest.raises(p.PlanError, match="without tls_ciphers"):
                p.plan_listener("present", current, wanted)
    # ... and nothing that does not write.
    unchanged = listener(default_tls_container_ref=CERT, tls_versions=versions)
    assert p.plan_listener("present", unchanged, want())["action"] is None
    assert p.plan_listener("absent", unchanged, {})["action"] == "delete"


@pytest.mark.parametrize("versions, ciphers", [
    (None, None),
    (["TLSv1.2", "TLSv1.3"], None),
    (["SSLv3", "TLSv1.3"], None),
    (["TLSv1.3"], C13),
    (["TLSv1.2"], "ECDHE-ECDSA-AES256-GCM-SHA384"),
])
def test_tls_versions_the_amphora_driver_renders_pass(versions, ciphers):
    p.check_renderable(dict(tls_versions=versions, tls_ciphers=ciphers))
    plan = p.plan_listener("present", None, want(default_tls_container_ref=CERT, tls_versions=versions,
                                                 tls_ciphers=ciphers))
    assert plan["action"] == "create"


def test_uses_tls():
    assert p.uses_tls(dict(default_tls_container_ref=CERT))
    assert p.uses_tls(dict(sni_container_refs=[CERT]))
    assert not p.uses_tls(listener())


# --- the allowed_cidrs guard (issue 14) -------------------------------------------

def test_allowed_cidrs_unenforced_option_is_warn_or_fail_and_warns_by_default():
    assert p.LISTENER_SPEC["allowed_cidrs_unenforced"] == {
        "type": "str", "default": "warn", "choices": ["warn", "fail"]}


def test_unenforced_cidrs_reason_with_vip_sg_ids_names_the_load_balancer():
    reason = p.unenforced_cidrs_reason(dict(LB, vip_sg_ids=["sg-1"]))
    assert reason.startswith("Load balancer 'web' uses vip_sg_ids, so Octavia leaves its VIP's security "
                             "groups to you and does not enforce allowed_cidrs")
    assert reason.endswith("/metrics is open to whatever those groups allow: add a rule for the "
                           "Prometheus servers to them.")
    # vip_sg_ids is the stronger reason: it is given even where the port security is known and on.
    assert p.unenforced_cidrs_reason(dict(LB, vip_sg_ids=["sg-1"]), True) == reason
    assert p.unenforced_cidrs_reason(dict(LB, vip_sg_ids=["sg-1"]), False) == reason


def test_unenforced_cidrs_reason_with_port_security_off():
    assert p.unenforced_cidrs_reason(LB, False) == (
        "The VIP port of load balancer 'web' has port security disabled, so nothing enforces "
        "allowed_cidrs and /metrics is open to every address that reaches the VIP.")
    # A load balancer without a name is named by its ID.
    assert "load balancer 'lb-1' has port security" in p.unenforced_cidrs_reason(dict(LB, name=""), False)


@pytest.mark.parametrize("lb, port_security", [
    (LB, True),
    (LB, None),                                   # not known (no network API): no warning
    (dict(LB, vip_sg_ids=[]), True),              # Octavia shows an empty list when none were given
    (dict(LB, vip_sg_ids=None), None),
])
def test_unenforced_cidrs_reason_is_none_where_octavia_enforces_them_or_it_is_not_known(lb, port_security):
    assert p.unenforced_cidrs_reason(lb, port_security) is None


# --- the quota preflight (issue 14) -------------------------------------------------

@pytest.mark.parametrize("current, leftovers, wanted, action, count", [
    (None, [], {}, "create", 1),
    (listener(allowed_cidrs=["192.0.2.0/24"]), [], {}, "update", 0),
    (listener(), [], {}, None, 0),
    # Create first, delete once it is ACTIVE: for a moment there is one listener more.
    (listener(protocol_port=9100), [], {}, "replace", 1),
    # Delete the broken one first, then create it again: never one more.
    (listener(provisioning_status="ERROR"), [], {}, "repair", 0),
    # What an interrupted replace left: only deletes.
    (listener(id="new"), [listener(id="old", protocol_port=9100)], {}, "replace", 0),
])
def test_new_listeners_is_the_peak_of_listeners_a_plan_adds(current, leftovers, wanted, action, count):
    plan = p.plan_listener("present", current, want(**wanted), leftovers)
    assert plan["action"] == action
    assert p.new_listeners(plan) == count


def test_new_listeners_of_deletes_and_of_plain_step_lists():
    assert p.new_listeners(p.plan_listener("absent", listener(), {})) == 0
    assert p.new_listeners({"steps": []}) == 0
    assert p.new_listeners({"steps": [{"op": "create"}, {"op": "create"}, {"op": "delete"}]}) == 2
    assert p.new_listeners({"steps": [{"op": "delete"}, {"op": "create"}, {"op": "create"}]}) == 1


def quota_sentence(project, limit, in_use):
    """allot_quota's reason; ``in_use`` counts the listeners this run already gives the project."""
    return (f"Project {project} is at its listener quota: the limit is {limit} and {in_use} listeners "
            "exist or are being made by this run, so there is no room for this load balancer's "
            "PROMETHEUS listener; it was skipped before any write. Raise the project's listener "
            "quota, or free listeners.")


def test_allot_quota_unlimited_refuses_nothing():
    needs = [(n, "p1", 1) for n in range(50)]
    assert p.allot_quota(needs, {"p1": -1}, {"p1": 1000}) == {}


def test_allot_quota_exactly_at_the_limit_fits_and_one_more_does_not():
    assert p.allot_quota([("a", "p1", 1)], {"p1": 5}, {"p1": 4}) == {}
    assert p.allot_quota([("a", "p1", 1)], {"p1": 5}, {"p1": 5}) == {"a": quota_sentence("p1", 5, 5)}


def test_allot_quota_over_the_limit_and_a_zero_quota():
    assert p.allot_quota([("a", "p1", 1)], {"p1": 3}, {"p1": 7}) == {"a": quota_sentence("p1", 3, 7)}
    # A project with no listeners yet (missing from usage) and a quota of 0.
    assert p.allot_quota([("a", "p1", 1)], {"p1": 0}, {}) == {"a": quota_sentence("p1", 0, 0)}


def test_allot_quota_serves_the_load_balancers_of_a_project_in_order_until_it_runs_out():
    needs = [("a", "p1", 1), ("b", "p1", 1), ("c", "p1", 1), ("d", "p1", 1)]
    refused = p.allot_quota(needs, {"p1": 4}, {"p1": 2})
    assert list(refused) == ["c", "d"]
    assert all(text.startswith("Project p1 is at its listener quota: the limit is 4 ") for text in refused.values())
    # The order of needs decides who gets the room.
    assert list(p.allot_quota(list(reversed(needs)), {"p1": 4}, {"p1": 2})) == ["b", "a"]


def test_allot_quota_keeps_each_project_to_its_own_room():
    needs = [("a1", "p1", 1), ("b1", "p2", 1), ("a2", "p1", 1), ("b2", "p2", 1), ("c1", "p3", 1)]
    refused = p.allot_quota(needs, {"p1": 1, "p2": 10, "p3": -1}, {"p1": 0, "p2": 9, "p3": 99})
    # The sentence counts the listeners this run already gives the project's earlier load balancers.
    assert refused == {"a2": quota_sentence("p1", 1, 1), "b2": quota_sentence("p2", 10, 10)}


def test_allot_quota_ignores_projects_without_a_limit_and_load_balancers_that_add_nothing():
    # p2's quota could not be read: Octavia decides at the create. A count of 0 (update,
    # repair, cleanup) needs no room, even in a project over its quota, and takes none.
    needs = [("u", "p1", 0), ("x", "p2", 1), ("a", "p1", 1), ("none", None, 1)]
    assert p.allot_quota(needs, {"p1": 2}, {"p1": 1, "p2": 500}) == {}
    assert p.allot_quota([("u", "p1", 0)], {"p1": 0}, {"p1": 3}) == {}


def test_allot_quota_sentence_of_a_later_load_balancer_shows_why_there_is_no_room():
    refused = p.allot_quota([("a", "p1", 1), ("b", "p1", 1)], {"p1": 2}, {"p1": 1})
    [text] = list(refused.values())
    limit, usage = map(int, re.search(r"the limit is (\d+) and (\d+) listeners", text).groups())
    assert usage + 1 > limit, text


def test_a_repair_or_replace_of_a_listener_without_tls_sends_no_empty_tls_lists():
    """Octavia shows tls_versions and alpn_protocols as null on a listener without TLS; sent back as
    [] on the create of a repair or replace they are stored empty, and Octavia's haproxy template
    then fails on the listener (found in the lab: the repaired listener served no /metrics)."""
    current = listener(tls_versions=None, alpn_protocols=None, sni_container_refs=[], tls_ciphers=None)
    for plan in (p.plan_listener("present", dict(current, provisioning_status="ERROR"), want()),
                 p.plan_listener("present", current, want(protocol_port=9100))):
        body = [step for step in plan["steps"] if step["op"] == "create"][0]["body"]
        assert not {"tls_versions", "alpn_protocols", "sni_container_refs", "tls_ciphers"} & set(body), body
