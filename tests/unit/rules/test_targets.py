"""The targets the role writes to file_sd, from discovery results and the explicit list.

The prometheus_targets filter is called here exactly as the role's set_fact calls it,
with plain dicts in the shape of registered lb_prometheus_listener_info results.
"""
import json

import yaml

from rules_render import sample_items

from ansible_collections.octavia.monitoring.plugins.filter.prometheus_targets import prometheus_targets


def build(sources=(), targets=(), extra_labels=None):
    """The role's targets for discovery results [(source, prometheus_listeners)] and a list."""
    discovery = {"results": [{"item": source, "prometheus_listeners": found, "changed": False}
                             for source, found in sources]}
    # Through JSON, as Ansible hands a fact on: the result must be plain data.
    return json.loads(json.dumps(prometheus_targets(discovery, list(targets), extra_labels or {})))


def found(lb_id, target, **labels):
    base = {"loadbalancer_id": lb_id, "loadbalancer_name": lb_id.upper(), "listener_id": f"l-{lb_id}",
            "project_id": "p1", "vip_address": target.split(":")[0], "provider": "amphora",
            "availability_zone": None, "cloud": "lab", "region": "RegionOne"}
    base.update(labels)
    return {"scrape_target": target, "labels": base, "listener": {"id": f"l-{lb_id}"},
            "load_balancer": {"id": lb_id}}


def test_file_sd_shape_and_labels():
    result = build(sources=[({"cloud": "lab"}, [found("a", "127.4.0.1:8088")])])
    assert result["file_sd"] == [{
        "targets": ["127.4.0.1:8088"],
        "labels": {"loadbalancer_id": "a", "loadbalancer_name": "A", "listener_id": "l-a", "project_id": "p1",
                   "vip_address": "127.4.0.1", "provider": "amphora", "cloud": "lab", "region": "RegionOne"},
    }]


def test_empty_label_values_are_dropped_and_values_are_strings():
    item = found("a", "127.4.0.1:8088", availability_zone="", region=None, weight=3)
    labels = build(sources=[({}, [item])])["file_sd"][0]["labels"]
    assert "availability_zone" not in labels and "region" not in labels
    assert labels["weight"] == "3"


def test_several_clouds_and_regions_end_in_one_file_sorted():
    result = build(sources=[
        ({"cloud": "east", "labels": {"cloud": "east"}}, [found("z", "127.4.0.9:8088"), found("b", "127.4.0.2:8088")]),
        ({"cloud": "west", "region_name": "R2", "labels": {"cloud": "west", "region": "R2"}},
         [found("c", "127.4.0.3:8088")]),
    ])
    assert [t["targets"][0] for t in result["file_sd"]] == ["127.4.0.2:8088", "127.4.0.3:8088", "127.4.0.9:8088"]
    assert [(t["labels"]["cloud"], t["labels"]["region"]) for t in result["file_sd"]] == [
        ("east", "RegionOne"), ("west", "R2"), ("east", "RegionOne")]


def test_label_precedence_global_then_target_then_source():
    result = build(sources=[({"labels": {"team": "source"}}, [found("a", "127.4.0.1:8088", team="target")])],
                   extra_labels={"team": "global", "env": "prod"})
    labels = result["file_sd"][0]["labels"]
    assert labels["team"] == "source" and labels["env"] == "prod"
    result = build(targets=[{"scrape_target": "127.4.0.5:8088", "labels": {"env": "dev"}}],
                   extra_labels={"env": "prod", "dc": "x"})
    assert result["file_sd"][0]["labels"] == {"env": "dev", "dc": "x"}


def test_overlapping_sources_do_not_duplicate_a_target():
    same = found("a", "127.4.0.1:8088")
    result = build(sources=[({"filters": {"project_ids": ["p1"]}}, [same]), ({}, [same, found("b", "127.4.0.2:8088")])])
    assert [t["targets"] for t in result["file_sd"]] == [["127.4.0.1:8088"], ["127.4.0.2:8088"]]


def test_explicit_and_discovered_targets_combine():
    result = build(sources=[({}, [found("a", "127.4.0.1:8088")])],
                   targets=[{"scrape_target": "127.4.0.7:8088", "labels": {"loadbalancer_id": "x"}}])
    assert [t["targets"][0] for t in result["file_sd"]] == ["127.4.0.1:8088", "127.4.0.7:8088"]
    # A load balancer without a name is shown by id, never with an empty name.
    assert result["file_sd"][1]["labels"] == {"loadbalancer_id": "x", "loadbalancer_name": "x"}


def test_gone_load_balancers_are_gone_from_the_file():
    before = build(sources=[({}, [found("a", "127.4.0.1:8088"), found("b", "127.4.0.2:8088")])])
    after = build(sources=[({}, [found("b", "127.4.0.2:8088")])])
    assert len(before["file_sd"]) == 2
    assert [t["labels"]["loadbalancer_id"] for t in after["file_sd"]] == ["b"]


def test_catalogue_is_carried_only_where_discovered():
    items = sample_items()
    result = build(targets=items)
    with_catalog = [t["scrape_target"] for t in result["targets"] if "catalog" in t]
    assert with_catalog == ["127.4.0.10:8088", "127.4.0.11:8088", "127.4.0.11:9100"]
    assert "catalog" not in json.dumps(result["file_sd"])


def test_skipped_discovery_and_no_targets_give_an_empty_file():
    result = prometheus_targets({"skipped": True, "results": []}, [], {})
    assert result == {"targets": [], "file_sd": []}
    assert yaml.safe_load(yaml.safe_dump(result["file_sd"])) == []
