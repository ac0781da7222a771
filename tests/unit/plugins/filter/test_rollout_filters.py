"""The octavia_listeners role's filters, on plain dicts shaped like the fleet module's results."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.octavia.monitoring.plugins.filter import (
    host_cidrs as host_cidrs_file,
    rollout_batches as batches_file,
    rollout_outcomes as outcomes_file,
    rollout_summary as summary_file,
)
from ansible_collections.octavia.monitoring.plugins.filter.host_cidrs import host_cidrs
from ansible_collections.octavia.monitoring.plugins.filter.rollout_batches import fleet_filters, rollout_batches
from ansible_collections.octavia.monitoring.plugins.filter.rollout_outcomes import (
    outcome_of,
    rollout_items,
    rollout_outcomes,
)
from ansible_collections.octavia.monitoring.plugins.filter.rollout_summary import rollout_summary


def item(name, changed=False, failed=False, skipped=False, action=None, msg="", outcome=None, diff=None,
         target=None, found=True):
    out = {"requested": f"id-{name}", "load_balancer": {"id": f"id-{name}", "name": name} if found else None,
           "changed": changed, "failed": failed, "skipped": skipped, "action": action, "msg": msg,
           "diff": diff or {}, "scrape_target": target, "listener": None}
    if outcome is not None:
        out["outcome"] = outcome
    return out


# ---------------------------------------------------------------------------------- outcome_of
@pytest.mark.parametrize("flags, expected", [
    ({}, "unchanged"),
    ({"changed": True}, "changed"),
    ({"skipped": True}, "skipped"),
    ({"failed": True}, "failed"),
    ({"failed": True, "changed": True}, "unconfirmed"),
    ({"failed": True, "skipped": True}, "failed"),
])
def test_outcome_derived_from_flags(flags, expected):
    assert outcome_of(item("a", **flags)) == expected


@pytest.mark.parametrize("outcome", ["changed", "unchanged", "skipped", "failed", "unconfirmed"])
def test_outcome_given_by_the_module_wins(outcome):
    # Flags that would derive something else: the module's word is the one that counts.
    assert outcome_of(item("a", changed=True, failed=True, outcome=outcome)) == outcome


def test_unknown_outcome_is_refused():
    with pytest.raises(AnsibleFilterError, match=r"a \(id-a\) has the outcome 'lost'"):
        outcome_of(item("a", outcome="lost"))


def test_item_must_be_a_dict():
    with pytest.raises(AnsibleFilterError, match="must be a dict"):
        outcome_of(["a"])


# ---------------------------------------------------------------------------------- rollout_items
def test_items_from_a_registered_loop():
    registered = {"changed": False, "results": [
        {"results": [item("a"), item("b")], "summary": {}, "item": {}},
        {"skipped": True, "item": {}},
        {"results": [item("c")], "summary": {}},
    ]}
    assert [i["requested"] for i in rollout_items(registered)] == ["id-a", "id-b", "id-c"]


def test_a_failed_call_fails_each_of_its_load_balancers():
    # failed_when: false on the task leaves `failed` false; the missing `results` says it.
    registered = {"results": [
        {"failed": False, "msg": "description must be at most 255 characters.", "changed": False,
         "item": {"load_balancers": ["id-1", "id-2"], "label": "c: 2 load balancer(s)"}},
        {"failed": True, "changed": True, "msg": "connection reset",
         "item": {"load_balancers": None, "label": "c: selected by filters"}},
        {"results": [item("ok")]},
    ]}
    items = rollout_items(registered)
    assert [(i["requested"], outcome_of(i), i["msg"]) for i in items] == [
        ("id-1", "failed", "description must be at most 255 characters."),
        ("id-2", "failed", "description must be at most 255 characters."),
        ("c: selected by filters", "unconfirmed", "connection reset"),
        ("id-ok", "unchanged", "")]
    report = rollout_outcomes(registered)
    assert report["by_load_balancer"]["id-2"]["failed"] and report["overall"]["outcome"] == "unconfirmed"
    assert rollout_summary(registered)[0] == (
        "4 load balancer(s): 0 changed, 1 unchanged, 0 skipped, 2 failed, 1 unconfirmed")
    assert rollout_summary(registered)[1] == "failed: id-1: description must be at most 255 characters."


def test_items_from_one_module_result_or_a_list():
    assert len(rollout_items({"results": [item("a")], "summary": {}})) == 1
    assert len(rollout_items([item("a"), item("b")])) == 2
    assert rollout_items(None) == [] and rollout_items({"results": []}) == []


@pytest.mark.parametrize("value", [{"msg": "x"}, "text", 3])
def test_items_refuse_other_shapes(value):
    with pytest.raises(AnsibleFilterError):
        rollout_items(value)


# ---------------------------------------------------------------------------------- rollout_outcomes
def test_outcomes_per_load_balancer():
    diff = {"before": {}, "after": {"protocol_port": 8088}}
    report = rollout_outcomes([
        item("new", changed=True, action="create", diff=diff, target="192.0.2.1:8088"),
        item("same", target="192.0.2.2:8088"),
        item("ovn", skipped=True, msg="provider ovn has no PROMETHEUS listeners"),
        item("bad", failed=True, msg="in ERROR"),
        item("lost", failed=True, changed=True, action="replace", msg="did not become ACTIVE", diff=diff),
        item("gone", failed=True, msg="not found", found=False),
    ])
    by_lb = report["by_load_balancer"]
    assert {k: v["outcome"] for k, v in by_lb.items()} == {
        "id-new": "changed", "id-same": "unchanged", "id-ovn": "skipped", "id-bad": "failed",
        "id-lost": "unconfirmed", "id-gone": "failed"}
    assert {k: (v["changed"], v["failed"]) for k, v in by_lb.items()} == {
        "id-new": (True, False), "id-same": (False, False), "id-ovn": (False, False),
        "id-bad": (False, True), "id-lost": (True, True), "id-gone": (False, True)}
    assert by_lb["id-new"]["msg"] == "create: scrape target 192.0.2.1:8088"
    assert by_lb["id-new"]["diff"] == diff and by_lb["id-same"]["diff"] == {}
    assert by_lb["id-same"]["msg"] == "unchanged: scrape target 192.0.2.2:8088"
    assert by_lb["id-bad"]["msg"] == "in ERROR"
    assert by_lb["id-lost"]["msg"] == "replace sent but not confirmed: did not become ACTIVE"
    assert by_lb["id-lost"]["diff"] == diff
    overall = report["overall"]
    assert overall["outcome"] == "unconfirmed" and overall["changed"] and overall["failed"]
    assert overall["msg"] == ["bad (id-bad): in ERROR",
                              "lost (id-lost): replace sent but not confirmed: did not become ACTIVE",
                              "id-gone: not found"]


@pytest.mark.parametrize("items, expected", [
    ([], "unchanged"),
    ([item("a")], "unchanged"),
    ([item("a"), item("b", skipped=True)], "unchanged"),
    ([item("a", skipped=True)], "skipped"),
    ([item("a"), item("b", changed=True)], "changed"),
    ([item("a", changed=True), item("b", failed=True)], "failed"),
    ([item("a", failed=True), item("b", failed=True, changed=True)], "unconfirmed"),
])
def test_overall_outcome(items, expected):
    assert rollout_outcomes(items)["overall"]["outcome"] == expected


def test_overall_lists_the_changes_when_nothing_failed():
    overall = rollout_outcomes([item("a", changed=True, action="update", target="t:1"), item("b")])["overall"]
    assert overall["msg"] == ["a (id-a): update: scrape target t:1"]
    assert rollout_outcomes([item("a"), item("b")])["overall"]["msg"] == "2 load balancer(s) unchanged"


@pytest.mark.parametrize("items, expected", [
    ([], True),
    ([item("a"), item("b")], True),
    ([item("a"), item("b", skipped=True)], False),
    ([item("a"), item("b", changed=True)], False),
    ([item("a", failed=True)], False),
])
def test_nothing_to_report_only_when_every_outcome_is_unchanged(items, expected):
    assert rollout_outcomes(items)["nothing_to_report"] is expected


# ---------------------------------------------------------------------------------- rollout_summary
def test_summary_lines():
    items = [
        item("web-1", changed=True, action="create", target="192.0.2.50:8088"),
        item("web-2", changed=True, action="update", target="192.0.2.51:8088"),
        item("web-3", changed=True, action="create", target="192.0.2.52:8088"),
        item("same"),
        item("edge", skipped=True, msg="uses the provider 'ovn'"),
        item("db-1", failed=True, msg="is in provisioning status ERROR"),
        item("db-2", failed=True, changed=True, action="replace", msg="did not become ACTIVE"),
        item("nope", failed=True, msg="was not found", found=False),
    ]
    assert rollout_summary({"results": [{"results": items}]}) == [
        "8 load balancer(s): 3 changed (create: 2, update: 1), 1 unchanged, 1 skipped, 2 failed, 1 unconfirmed",
        "changed (create): web-1 (id-web-1), scrape target 192.0.2.50:8088",
        "changed (update): web-2 (id-web-2), scrape target 192.0.2.51:8088",
        "changed (create): web-3 (id-web-3), scrape target 192.0.2.52:8088",
        "skipped: edge (id-edge): uses the provider 'ovn'",
        "failed: db-1 (id-db-1): is in provisioning status ERROR",
        "unconfirmed (replace, sent but not confirmed): db-2 (id-db-2): did not become ACTIVE",
        "failed: id-nope: was not found",
    ]


def test_summary_in_check_mode_and_empty():
    assert rollout_summary([item("a", changed=True, action="delete")], check_mode=True) == [
        "1 load balancer(s): 1 would change (delete: 1), 0 unchanged, 0 skipped, 0 failed, 0 unconfirmed",
        "would change (delete): a (id-a), scrape target none"]
    assert rollout_summary([]) == [
        "0 load balancer(s): 0 changed, 0 unchanged, 0 skipped, 0 failed, 0 unconfirmed"]


def test_summary_and_outcomes_agree_with_the_module_outcome():
    # A module that says `outcome` is believed by both filters, whatever the flags say.
    items = [item("a", changed=True, failed=True, outcome="failed", msg="refused")]
    assert rollout_summary(items)[0].endswith("1 failed, 0 unconfirmed")
    assert rollout_outcomes(items)["by_load_balancer"]["id-a"]["changed"] is False


# ---------------------------------------------------------------------------------- rollout_batches
def lb_host(lb_id, cloud=None, region=None):
    return {"octavia_lb": {"id": lb_id, "name": f"name-{lb_id}"}, "octavia_lb_cloud": cloud,
            "octavia_lb_region": region}


def test_batches_group_inventory_hosts_by_cloud_and_region():
    hostvars = {"h1": lb_host("1", "east", "r1"), "h2": lb_host("2", "west"), "h3": lb_host("3", "east", "r1"),
                "h4": lb_host("4"), "h5": lb_host("3", "east", "r1")}
    plan = rollout_batches(["h1", "h2", "h3", "h4", "h5"], hostvars)
    assert plan["mode"] == "inventory" and plan["not_load_balancers"] == []
    assert plan["calls"] == [
        {"cloud": "east", "region_name": "r1", "load_balancers": ["1", "3"], "filters": None,
         "hosts": ["h1", "h3", "h5"], "label": "east / r1: 2 load balancer(s)"},
        {"cloud": "west", "region_name": "", "load_balancers": ["2"], "filters": None, "hosts": ["h2"],
         "label": "west: 1 load balancer(s)"},
        {"cloud": "", "region_name": "", "load_balancers": ["4"], "filters": None, "hosts": ["h4"],
         "label": "default cloud: 1 load balancer(s)"},
    ]


def test_batches_cloud_and_region_variables_override_the_hosts():
    hostvars = {"h1": lb_host("1", "east", "r1"), "h2": lb_host("2", "west", "r2")}
    plan = rollout_batches(["h1", "h2"], hostvars, cloud="central", region_name=" r9 ")
    assert [(c["cloud"], c["region_name"], c["load_balancers"]) for c in plan["calls"]] == [
        ("central", "r9", ["1", "2"])]


def test_batches_name_the_hosts_that_are_not_load_balancers():
    hostvars = {"h1": lb_host("1"), "web": {"ansible_host": "192.0.2.1"}, "odd": {"octavia_lb": "text"}}
    plan = rollout_batches(["h1", "web", "odd"], hostvars, selection="inventory")
    assert plan["not_load_balancers"] == ["web", "odd"]
    assert [c["load_balancers"] for c in plan["calls"]] == [["1"]]


@pytest.mark.parametrize("selection", ["auto", "filters"])
def test_batches_filters_mode(selection):
    class Unread(dict):
        def __getitem__(self, key):
            raise AssertionError("the filters mode reads no host's variables but the first's")
    hostvars = Unread()
    dict.__setitem__(hostvars, "localhost", {})
    plan = rollout_batches(["localhost"], hostvars if selection == "filters" else {"localhost": {}},
                           selection=selection,
                           filters={"project_ids": "p1, p2", "tags": ["a", " "], "name_pattern": " web-* ",
                                    "providers": "amphora\n", "provisioning_statuses": []})
    assert plan == {"mode": "filters", "not_load_balancers": [], "calls": [{
        "cloud": "", "region_name": "", "load_balancers": None, "hosts": [],
        "filters": {"project_ids": ["p1", "p2"], "tags": ["a"], "name_pattern": "web-*",
                    "providers": ["amphora"]},
        "label": "default cloud: selected by filters"}]}


def test_batches_filters_mode_with_names():
    plan = rollout_batches(["localhost"], {}, selection="filters", load_balancers="web-1,\nweb-2", cloud="c")
    [call] = plan["calls"]
    assert call["load_balancers"] == ["web-1", "web-2"] and call["filters"] is None
    assert call["label"] == "c: 2 load balancer(s)"
    both = rollout_batches(["localhost"], {}, selection="filters", load_balancers=["web-1"],
                           filters={"tags": "x"})
    assert both["calls"][0]["filters"] == {"tags": ["x"]} and both["calls"][0]["load_balancers"] == ["web-1"]


def test_batches_with_nothing_selects_everything():
    [call] = rollout_batches(["localhost"], {"localhost": {}}, load_balancers="", filters={})["calls"]
    assert call["load_balancers"] is None and call["filters"] == {}


def test_batches_refuse_unknown_selection():
    with pytest.raises(AnsibleFilterError, match="'everything' is none of"):
        rollout_batches(["h"], {}, selection="everything")


def test_fleet_filters_refuse_bad_values():
    with pytest.raises(AnsibleFilterError, match="octavia_listeners_filters must be a dict"):
        fleet_filters("project_ids=x")
    with pytest.raises(AnsibleFilterError, match=r"octavia_listeners_filters\.tags must be a list"):
        fleet_filters({"tags": 3})
    assert fleet_filters(None) == {} and fleet_filters({"name_pattern": None}) == {}


# ---------------------------------------------------------------------------------- host_cidrs
def test_host_cidrs():
    hostvars = {
        "p1": {"ansible_host": "192.0.2.10"},
        "p2": {"ansible_host": "2001:db8::5"},
        "p3": {"ansible_host": "10.0.0.1", "octavia_listeners_prometheus_address": "198.51.100.0/24"},
        "p4": {"ansible_host": "192.0.2.10"},
        "127.0.0.5": {},
        "prom.example": {},
        "p6": {"ansible_host": "not-an-ip"},
        "p7": {"ansible_host": "", "octavia_listeners_prometheus_address": None},
    }
    hosts = list(hostvars)
    assert host_cidrs(hosts, hostvars) == ["192.0.2.10/32", "2001:db8::5/128", "198.51.100.0/24", "127.0.0.5/32"]
    assert host_cidrs(hosts, hostvars, invalid=True) == {
        "prom.example": "prom.example", "p6": "not-an-ip", "p7": "p7"}
    assert host_cidrs([], {}) == [] and host_cidrs(None, {}, invalid=True) == {}


def test_every_filter_is_registered_under_its_file_name():
    for module, name in ((host_cidrs_file, "host_cidrs"), (batches_file, "rollout_batches"),
                         (outcomes_file, "rollout_outcomes"), (summary_file, "rollout_summary")):
        assert list(module.FilterModule().filters()) == [name]
