"""The octavia_prometheus role's filters, on plain dicts: targets, catalogue, target checks, missing sources."""
import pytest

from ansible_collections.octavia.monitoring.plugins.filter.prometheus_catalog import FilterModule as CatalogModule
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_catalog import prometheus_catalog
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_missing_sources import (
    FilterModule as MissingModule,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_missing_sources import (
    prometheus_missing_sources,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_target_problems import (
    FilterModule as ProblemsModule,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_target_problems import (
    prometheus_target_problems,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_targets import FilterModule as TargetsModule
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_targets import prometheus_targets


@pytest.mark.parametrize("module, name", [
    (TargetsModule, "prometheus_targets"), (CatalogModule, "prometheus_catalog"),
    (ProblemsModule, "prometheus_target_problems"), (MissingModule, "prometheus_missing_sources"),
])
def test_each_file_holds_the_filter_it_is_named_after(module, name):
    assert list(module().filters()) == [name]


# prometheus_targets

def discovered(*pairs):
    return {"results": [{"item": source, "prometheus_listeners": found} for source, found in pairs]}


def target(address, **labels):
    return {"scrape_target": address, "labels": labels}


def test_no_discovery_and_no_targets_is_empty():
    for discovery in (None, {}, {"skipped": True, "results": []}, {"skipped": True}):
        assert prometheus_targets(discovery) == {"targets": [], "file_sd": []}


def test_labels_most_specific_wins_empty_dropped_values_strings():
    found = discovered(({"labels": {"team": "source", "region": ""}},
                        [target("127.0.0.2:8088", team="target", listener_id="l2", weight=3, zone=None)]))
    result = prometheus_targets(found, [], {"team": "global", "env": "prod"})
    assert result["file_sd"] == [{"targets": ["127.0.0.2:8088"],
                                  "labels": {"team": "source", "env": "prod", "listener_id": "l2", "weight": "3"}}]


def test_a_load_balancer_without_a_name_is_named_by_its_id():
    result = prometheus_targets(None, [target("127.0.0.1:8088", loadbalancer_id="x", loadbalancer_name="")])
    assert result["targets"][0]["labels"] == {"loadbalancer_id": "x", "loadbalancer_name": "x"}


def test_first_seen_wins_and_output_is_sorted():
    one = target("127.0.0.9:8088", listener_id="l1", team="first")
    again = target("127.0.0.9:8088", listener_id="l1", team="second")
    other = target("127.0.0.3:8088", listener_id="l3")
    result = prometheus_targets(discovered(({}, [again, other])), [one])
    assert [t["scrape_target"] for t in result["targets"]] == ["127.0.0.3:8088", "127.0.0.9:8088"]
    assert result["targets"][1]["labels"]["team"] == "first"


def test_targets_without_listener_id_are_keyed_by_address():
    result = prometheus_targets(None, [target("127.0.0.1:1"), target("127.0.0.1:1"), target("127.0.0.1:2")])
    assert [t["scrape_target"] for t in result["targets"]] == ["127.0.0.1:1", "127.0.0.1:2"]


def test_catalog_is_kept_only_where_there_is_one():
    with_catalog = {**target("127.0.0.1:1", loadbalancer_id="a"), "catalog": {"listeners": [{"id": "l"}]}}
    empty_catalog = {**target("127.0.0.1:2", loadbalancer_id="b"), "catalog": {}}
    result = prometheus_targets(None, [with_catalog, empty_catalog])
    assert [("catalog" in t) for t in result["targets"]] == [True, False]
    assert all("catalog" not in entry for entry in result["file_sd"])


def test_input_is_not_modified():
    labels = {"loadbalancer_id": "a"}
    prometheus_targets(None, [{"scrape_target": "127.0.0.1:1", "labels": labels}], {"env": "x"})
    assert labels == {"loadbalancer_id": "a"}


# prometheus_catalog

def lb(lb_id, **catalog):
    return {"scrape_target": "127.0.0.1:8088", "labels": {"loadbalancer_id": lb_id, "cloud": "c", "region": ""},
            "catalog": catalog}


def test_catalogue_one_group_per_load_balancer_and_one_rule_per_object():
    item = lb("lb-1",
              listeners=[{"id": "l2", "name": "", "protocol": "HTTP", "protocol_port": 80},
                         {"id": "l1", "name": "web", "protocol": "PROMETHEUS", "protocol_port": 8088}],
              pools=[{"id": "p1", "name": "pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                      "listener_id": "l2", "listener_ids": ["l2", "l1", "l2"]}],
              members=[{"id": "m1", "name": None, "address": "10.0.0.1", "protocol_port": 80, "pool_id": "p1"},
                       {"id": "m2", "name": "b", "address": "10.0.0.2", "protocol_port": 80, "pool_id": "gone"}])
    doc = prometheus_catalog([item, item], "20s")
    assert [g["name"] for g in doc["groups"]] == ["octavia-names-lb-1"]
    group = doc["groups"][0]
    assert group["interval"] == "20s"
    rules = [(r["record"], r["labels"]) for r in group["rules"]]
    assert [(r, labels.get("listener") or labels.get("member")) for r, labels in rules] == [
        ("octavia_listener_info", "l1"), ("octavia_listener_info", "l2"),
        ("octavia_pool_info", "l1"), ("octavia_pool_info", "l2"),
        ("octavia_member_info", "m1"), ("octavia_member_info", "m2")]
    assert rules[1][1]["listener_name"] == "l2"
    assert rules[2][1]["pool"] == "p1:l1" and rules[2][1]["listener_name"] == "web"
    assert rules[4][1]["member_name"] == "m1" and rules[4][1]["pool_name"] == "pool"
    assert rules[5][1]["pool_name"] == "gone"
    for _record, labels in rules:
        assert labels["cloud"] == "c" and "region" not in labels
        assert labels["loadbalancer_name"] == "lb-1"
        assert all(isinstance(value, str) for value in labels.values())


def test_catalogue_pool_with_only_listener_id_and_unused_pool():
    item = lb("a", pools=[{"id": "p", "name": "x", "listener_id": "l"},
                          {"id": "q", "name": "y", "listener_id": None, "listener_ids": []}])
    rules = prometheus_catalog([item])["groups"][0]["rules"]
    assert [r["labels"]["pool"] for r in rules] == ["p:l"]


@pytest.mark.parametrize("items", [
    [], [target("127.0.0.1:1")], [{**target("127.0.0.1:1"), "catalog": {"listeners": [{"id": "l"}]}}],
    [lb("a")], [lb("a", listeners=[], pools=[], members=[])],
])
def test_catalogue_skips_items_it_cannot_use(items):
    assert prometheus_catalog(items) == {"groups": []}


def test_catalogue_groups_are_sorted_by_load_balancer():
    items = [lb(name, listeners=[{"id": f"l-{name}"}]) for name in ("b", "c", "a")]
    assert [g["name"] for g in prometheus_catalog(items)["groups"]] == [
        "octavia-names-a", "octavia-names-b", "octavia-names-c"]


# prometheus_target_problems

@pytest.mark.parametrize("targets", [
    [],
    [{"scrape_target": "127.4.0.1:8088"}],
    [{"scrape_target": "lb.example.com:1", "labels": {"a_b": 1}}],
    [{"scrape_target": "[2001:db8::1]:65535", "labels": {}}],
    [{"scrape_target": "127.0.0.1:8088", "labels": {"loadbalancer_id": "x"},
      "catalog": {"listeners": [{"id": "l"}], "pools": [], "members": []}}],
])
def test_good_targets_have_no_problem(targets):
    assert prometheus_target_problems(targets) == []


@pytest.mark.parametrize("target, needle", [
    ("127.4.0.1:8088", "octavia_prometheus_targets[0] must look like"),
    ({"labels": {}}, "it has no scrape_target"),
    ({"scrape_target": "127.4.0.1"}, "octavia_prometheus_targets[0] must look like"),
    ({"scrape_target": "127.4.0.1:99999"}, "has port 99999, outside 1-65535"),
    ({"scrape_target": "127.4.0.1:0"}, "has port 0, outside 1-65535"),
    ({"scrape_target": "127.4.0.1:http"}, "must end in a port number"),
    ({"scrape_target": "2001:db8::1:8088"}, "IPv6 address in brackets"),
    ({"scrape_target": ":8088"}, "not a host name or an IP address"),
    ({"scrape_target": "[lb.example.com]:8088"}, "not a host name or an IP address"),
    ({"scrape_target": "http://x:80"}, "not a host name or an IP address"),
    ({"scrape_target": "127.0.0.1:80", "labels": ["a"]}, "labels must be a mapping"),
    ({"scrape_target": "127.0.0.1:80", "labels": {"bad-name": 1, "__x": 2}}, "invalid Prometheus label names (__x, bad-name)"),
    ({"scrape_target": "127.0.0.1:80", "catalog": {"listeners": [{"id": "l"}]}}, "no labels.loadbalancer_id"),
    ({"scrape_target": "127.0.0.1:80", "labels": {"loadbalancer_id": "x"}, "catalog": {"pools": [{"name": "p"}]}},
     "catalog.pools must be a list of objects that each have an id"),
    ({"scrape_target": "127.0.0.1:80", "catalog": ["x"]}, "catalog must be a mapping"),
])
def test_each_fault_is_one_sentence_naming_the_item(target, needle):
    problems = prometheus_target_problems([target])
    assert len(problems) == 1, problems
    assert needle in problems[0]
    assert problems[0].startswith("octavia_prometheus_targets[0]")


def test_faults_of_several_items_are_named_each():
    problems = prometheus_target_problems([{"scrape_target": "a:1"}, {"scrape_target": "b:70000"},
                                           {"scrape_target": "c"}], name="mine")
    assert [p.split(" ", maxsplit=1)[0].split(".", maxsplit=1)[0] for p in problems] == ["mine[1]", "mine[2]"]


def test_not_a_list():
    assert prometheus_target_problems({"scrape_target": "a:1"}) == [
        "octavia_prometheus_targets must be a list of targets, not dict."]


# prometheus_missing_sources

def result(source, listeners=(), without=()):
    return {"item": source, "prometheus_listeners": list(listeners), "load_balancers_without_listener": list(without)}


def test_missing_only_when_a_named_load_balancer_is_in_neither_list():
    discovery = {"results": [
        result({"cloud": "lab", "load_balancer": "gone"}),
        result({"cloud": "lab", "load_balancer": "bare"}, without=[{"id": "b"}]),
        result({"cloud": "lab", "load_balancer": "web"}, listeners=[{"scrape_target": "x:1"}]),
        result({"cloud": "lab"}),
        result({"load_balancer": "gone2", "region_name": "R2", "filters": {"tags": ["t"]}}),
    ]}
    assert prometheus_missing_sources(discovery) == [
        "octavia_prometheus_sources[0] names load balancer 'gone', which does not exist in cloud lab.",
        "octavia_prometheus_sources[4] names load balancer 'gone2', which does not exist in the controller's "
        "OS_* cloud, region R2 or is outside the source's filters.",
    ]


@pytest.mark.parametrize("discovery", [None, {}, {"skipped": True}, {"results": []},
                                       {"results": [{"item": {"load_balancer": "x"}, "skipped": True}]}])
def test_no_discovery_has_nothing_missing(discovery):
    assert prometheus_missing_sources(discovery) == []
