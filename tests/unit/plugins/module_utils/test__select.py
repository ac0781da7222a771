"""_select: the one filters vocabulary, the matcher, name-or-ID selection, the provider check.

Migrated from test__compare.py and test__fleet.py (match_filters, lb_matches,
check_provider, provider_lacks_prometheus, select_load_balancers).
"""
import pytest

from ansible_collections.octavia.monitoring.plugins.module_utils import _select as s
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError


def lb(**kw):
    base = {"id": "11111111-aaaa-4bbb-8ccc-000000000001", "name": "web", "vip_address": "192.0.2.10",
            "vip_port_id": "port-1", "project_id": "p1", "provider": "amphora",
            "availability_zone": None, "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
            "tags": ["b", "a"]}
    base.update(kw)
    return base


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "load_balancers": [{"id": "lb-1"}]}
    base.update(kw)
    return base


# --- filters ---------------------------------------------------------------

def test_filter_keys_are_the_argument_spec_keys():
    assert s.FILTER_KEYS == ("project_ids", "tags", "name_pattern", "providers", "provisioning_statuses")
    assert s.FILTERS_SPEC == {"type": "dict", "options": s.FILTERS_OPTIONS}


def test_normalise_filters_drops_empty_values():
    assert s.normalise_filters({"project_ids": [], "tags": None, "name_pattern": "",
                                "providers": ["amphora"], "provisioning_statuses": ()}) == \
        {"providers": ["amphora"]}
    assert s.normalise_filters(None) == {}
    assert s.normalise_filters({}) == {}


def test_normalise_filters_rejects_unknown_keys_and_lists_the_known_ones():
    with pytest.raises(PlanError) as err:
        s.normalise_filters({"project_id": "x", "tag": "y", "tags": ["a"]})
    assert str(err.value) == ("Unknown load balancer filter project_id, tag; the filters are "
                              "project_ids, tags, name_pattern, providers, provisioning_statuses.")


@pytest.mark.parametrize("given, expected", [
    ({"tags": "a"}, {"tags": ["a"]}),                       # one string is one entry
    ({"providers": ("ovn", "amphora")}, {"providers": ["ovn", "amphora"]}),
    ({"name_pattern": "web-*"}, {"name_pattern": "web-*"}),
])
def test_normalise_filters_makes_lists(given, expected):
    assert s.normalise_filters(given) == expected


@pytest.mark.parametrize("given, message", [
    ({"tags": [1]}, "The load balancer filter tags must be a list of strings, not [1]."),
    ({"project_ids": 7}, "The load balancer filter project_ids must be a list of strings, not 7."),
    ({"name_pattern": ["a"]}, "The load balancer filter name_pattern must be a string, not ['a']."),
])
def test_normalise_filters_rejects_wrong_types(given, message):
    with pytest.raises(PlanError) as err:
        s.normalise_filters(given)
    assert str(err.value) == message


@pytest.mark.parametrize("filters, expected", [
    ({}, {"project_id": None, "tags": None}),
    ({"project_ids": ["p1"]}, {"project_id": "p1", "tags": None}),
    # Octavia filters on one project only; several are filtered client-side.
    ({"project_ids": ["p1", "p2"]}, {"project_id": None, "tags": None}),
    ({"tags": ["a", "b"]}, {"project_id": None, "tags": ["a", "b"]}),
])
def test_server_side_query(filters, expected):
    assert s.server_side_query(filters) == expected


@pytest.mark.parametrize("filters, matches", [
    ({}, True),
    ({"project_ids": ["p1", "p2"]}, True),
    ({"project_ids": ["p1"]}, True),
    ({"project_ids": ["p2"]}, False),
    ({"project_ids": ["other"]}, False),
    ({"tags": ["a"]}, True),
    ({"tags": ["a", "b"]}, True),
    ({"tags": ["a", "c"]}, False),
    ({"tags": []}, True),
    ({"name_pattern": "web"}, True),
    ({"name_pattern": "w?b"}, True),
    ({"name_pattern": "db"}, False),
    ({"name_pattern": "web-*"}, False),
    ({"name_pattern": "WEB"}, False),            # case-sensitive, like Octavia's names
    ({"providers": ["AMPHORA"]}, True),
    ({"providers": ["ovn"]}, False),
    ({"provisioning_statuses": ["active"]}, True),
    ({"provisioning_statuses": ["ERROR"]}, False),
    ({"project_ids": ["p1"], "providers": ["ovn"]}, False),
])
def test_lb_matches(filters, matches):
    """match_filters(name=..., project_id=..., tags=...) became lb_matches with the filters vocabulary.

    Deliberate change: ``name`` was an exact name or an ID; it is now ``name_pattern``, a
    shell pattern over the name only (a load balancer given by ID is selected with
    ``select_by_name_or_id``), and a single ``project_id`` is now ``project_ids``.
    """
    assert s.lb_matches(lb(), filters) is matches


def test_lb_matches_a_load_balancer_without_name_tags_provider_or_status():
    bare = lb(name=None, tags=None, provider=None, provisioning_status=None)
    assert s.lb_matches(bare, {"name_pattern": "*"})
    assert not s.lb_matches(bare, {"tags": ["a"]})
    assert not s.lb_matches(bare, {"providers": ["amphora"]})
    assert not s.lb_matches(bare, {"provisioning_statuses": ["ACTIVE"]})


# --- selection by name or ID -----------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("id-2", "id-2"),       # by ID
    ("two", "id-2"),        # by unique name
    ("id-1", "id-1"),       # an ID wins over a name equal to it
    ("nope", None),
])
def test_select_by_name_or_id(value, expected):
    items = [{"id": "id-1", "name": "one"}, {"id": "id-2", "name": "two"},
             {"id": "id-3", "name": "id-1"}]
    found = s.select_by_name_or_id(items, value, "listener")
    assert (found["id"] if found else None) == expected


def test_select_by_name_or_id_ambiguous_lists_candidates():
    items = [{"id": "b", "name": "dup"}, {"id": "a", "name": "dup"}]
    with pytest.raises(PlanError) as err:
        s.select_by_name_or_id(items, "dup", "load balancer", "in this cloud")
    assert str(err.value) == ("The name 'dup' matches 2 load balancers in this cloud (IDs a, b); "
                              "give the ID instead.")
    assert err.value.extra["candidates"] == [{"id": "a", "name": "dup"}, {"id": "b", "name": "dup"}]


def test_select_by_name_or_id_ambiguous_without_scope():
    with pytest.raises(PlanError, match=r"^The name 'x' matches 2 listeners \(IDs"):
        s.select_by_name_or_id([{"id": "1", "name": "x"}, {"id": "2", "name": "x"}], "x", "listener")


@pytest.mark.parametrize("kind, expected", [
    ("load balancer", "Load balancer 'web' was not found (no load balancer has that name or ID among "
                      "those these credentials can see)."),
    ("pool", "Pool 'web' was not found (no pool has that name or ID among those these credentials "
             "can see)."),
])
def test_not_found_message_is_one_sentence(kind, expected):
    assert s.not_found_message("web", kind) == expected


LBS = [lb(), lb(id="22222222-aaaa-4bbb-8ccc-000000000002", name="twin"),
       lb(id="33333333-aaaa-4bbb-8ccc-000000000003", name="twin")]


def test_select_load_balancers_by_id_and_name_without_duplicates():
    selected, errors = s.select_load_balancers(LBS, ["web", LBS[0]["id"], LBS[1]["id"]])
    assert [(req, x["id"]) for req, x in selected] == [("web", LBS[0]["id"]), (LBS[1]["id"], LBS[1]["id"])]
    assert errors == []


def test_select_load_balancers_reports_missing_and_ambiguous_names_per_entry():
    selected, errors = s.select_load_balancers(LBS, ["nope", "twin", "web"])
    assert [req for req, _x in selected] == ["web"]
    assert errors[0] == ("nope", s.not_found_message("nope"), {})
    assert errors[1][0] == "twin" and "matches 2 load balancers" in errors[1][1]
    assert [c["id"] for c in errors[1][2]["candidates"]] == [LBS[1]["id"], LBS[2]["id"]]


def test_select_load_balancers_of_nothing():
    assert s.select_load_balancers(LBS, []) == ([], [])


# --- provider check --------------------------------------------------------

def test_lacks_prometheus_ovn_points_to_stats_module():
    """check_provider raised; lacks_prometheus returns the sentence (None when supported)."""
    assert s.lacks_prometheus(lb(provider="ovn")) == (
        "Load balancer 'web' uses the provider 'ovn', which does not support PROMETHEUS listeners; "
        "use octavia.monitoring.lb_stats_info to read its statistics through the Octavia API instead.")
    assert s.lacks_prometheus(lb(provider="OVN")) is not None


@pytest.mark.parametrize("provider", ["amphora", "amphorav2", None, ""])
def test_lacks_prometheus_accepts_others(provider):
    assert s.lacks_prometheus(lb(provider=provider)) is None


def test_unsupported_provider_message_keeps_api_detail_and_names_by_id():
    msg = s.unsupported_provider_message({"id": "x", "provider": "acme"}, "Provider 'acme' does not support it.")
    assert "'x' uses the provider 'acme'" in msg and "(Provider 'acme' does not support it)" in msg
    assert "()" not in s.unsupported_provider_message({"id": "x", "provider": "acme"})


# --- listeners -------------------------------------------------------------

@pytest.mark.parametrize("item, expected", [
    ({"load_balancer_id": "lb-9", "load_balancers": [{"id": "lb-1"}]}, "lb-9"),
    ({"load_balancer_id": None, "load_balancers": [{"id": "lb-1"}]}, "lb-1"),
    ({"loadbalancers": [{"id": "lb-2"}]}, "lb-2"),           # pools say loadbalancers
    ({"load_balancers": []}, None),
    ({}, None),
])
def test_parent_lb_id(item, expected):
    assert s.parent_lb_id(item) == expected


def test_prometheus_listeners_sorted_by_port_then_id():
    items = [listener(id="c", protocol_port=9100), listener(id="h", protocol="HTTP", protocol_port=1),
             listener(id="b"), listener(id="a"), listener(id="z", protocol_port=None)]
    assert [x["id"] for x in s.prometheus_listeners(items)] == ["z", "a", "b", "c"]


def test_listeners_by_lb_groups_and_sorts():
    items = [listener(id="c", protocol_port=9000, load_balancers=[{"id": "lb-a"}]),
             listener(id="b", protocol_port=80, load_balancers=[{"id": "lb-a"}]),
             listener(id="a", protocol_port=80, load_balancers=[{"id": "lb-a"}]),
             listener(id="d", load_balancers=[{"id": "lb-b"}])]
    grouped = s.listeners_by_lb(items)
    assert [i["id"] for i in grouped["lb-a"]] == ["a", "b", "c"]
    assert [i["id"] for i in grouped["lb-b"]] == ["d"]
    assert s.listeners_by_lb([]) == {}
