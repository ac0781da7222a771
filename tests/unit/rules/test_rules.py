"""The Octavia alert pack and the name catalogue, rendered as the role renders them and checked by promtool.

`promtool test rules` runs octavia-alerts_test.yml against the pack rendered with
TEST_VARS (short durations) and the catalogue rendered from sample_targets.yml, so
the alert annotations are checked with names coming through the real catalogue.
"""
import pathlib
import random

import pytest
import yaml

from haproxy_formats import older_form
from rules_render import HERE, alert_pack, promtool, render, sample_items

TEST_VARS = {
    "octavia_prometheus_alert_labels": {"team": "lb"},
    "octavia_prometheus_alert_rate_window": "2m",
    "octavia_prometheus_alert_endpoint_down_for": "3m",
    "octavia_prometheus_alert_http_5xx_for": "2m",
    "octavia_prometheus_alert_request_errors_for": "2m",
    "octavia_prometheus_alert_member_down_for": "2m",
    "octavia_prometheus_alert_pool_no_members_for": "1m",
    "octavia_prometheus_alert_cpu_for": "5m",
    "octavia_prometheus_alert_memory_for": "5m",
    "octavia_prometheus_alert_connections_for": "2m",
    "octavia_prometheus_alert_targets_file_window": "10m",
}
UNIT_TEST_FILE = HERE / "octavia-alerts_test.yml"


def write_rules(directory, with_catalog=True, **overrides):
    variables = {**TEST_VARS, **overrides}
    (directory / "octavia-alerts.yml").write_text(render("octavia-alerts.yml.j2", **variables))
    items = sample_items() if with_catalog else []
    (directory / "octavia-names.yml").write_text(
        render("octavia-names.yml.j2", __octavia_prometheus_found={"targets": items}, **variables))


def alert_names(text):
    return [r["alert"] for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "alert" in r]


# The same alert tests against both of HAProxy's status formats (issue 14, test 5): the file as
# written (HAProxy 2.4+, one 0/1 series per state) and its input series in the older format
# (before 2.4, one numeric series without the `state` label), from haproxy_formats.older_form.
HAPROXY_FORMATS = {
    "haproxy-2.4+": lambda tests: tests,
    "haproxy-before-2.4": older_form,
}


@pytest.mark.parametrize("haproxy_format", HAPROXY_FORMATS)
def test_promtool_unit_tests_pass(tmp_path, haproxy_format):
    write_rules(tmp_path)
    tests = HAPROXY_FORMATS[haproxy_format](yaml.safe_load(UNIT_TEST_FILE.read_text()))
    (tmp_path / UNIT_TEST_FILE.name).write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", UNIT_TEST_FILE.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_catalogue_joins_documented_in_names_md(tmp_path):
    write_rules(tmp_path)
    test_file = HERE / "octavia-names_test.yml"
    (tmp_path / test_file.name).write_text(test_file.read_text())
    result = promtool("test", "rules", test_file.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_not_firing(tmp_path):
    pack = alert_names(render("octavia-alerts.yml.j2", **TEST_VARS))
    cases = [case for test in yaml.safe_load(UNIT_TEST_FILE.read_text())["tests"]
             for case in test.get("alert_rule_test", [])]
    fires = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert set(pack) - fires == set(), f"alerts never shown firing: {sorted(set(pack) - fires)}"
    assert set(pack) - quiet == set(), f"alerts never shown not firing: {sorted(set(pack) - quiet)}"


def test_pack_is_the_list_the_role_validates_against():
    # preflight checks octavia_prometheus_alert_rules_disabled against this list.
    pack = alert_names(render("octavia-alerts.yml.j2"))
    assert pack == alert_pack()
    assert len(pack) == 10


def test_the_issue_s_alerts_are_all_there():
    pack = set(alert_names(render("octavia-alerts.yml.j2")))
    wanted = {
        "OctaviaMetricsEndpointDown",              # endpoint down for N minutes
        "OctaviaListenerHigh5xxRatio",             # 5xx ratio
        "OctaviaListenerRequestErrors",            # request errors rising
        "OctaviaMemberDown",                       # member down
        "OctaviaPoolNoActiveMembers",              # pool without active members
        "OctaviaAmphoraHighCpu",                   # amphora CPU
        "OctaviaListenerSessionsNearLimit",        # near the listener limit
        "OctaviaLoadBalancerConnectionsNearLimit",  # near the load balancer limit
        "OctaviaTargetsFileUnreadable",            # Prometheus cannot read the targets file
    }
    assert wanted <= pack


def test_role_defaults_render_valid_rules(tmp_path):
    path = tmp_path / "octavia-alerts.yml"
    path.write_text(render("octavia-alerts.yml.j2"))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 10 rules found" in result.stdout


def rule(text, name):
    return next(r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if r.get("alert") == name)


@pytest.mark.parametrize("variable, value, alert, field, expected", [
    ("octavia_prometheus_alert_endpoint_down_for", "7m", "OctaviaMetricsEndpointDown", "for", "7m"),
    ("octavia_prometheus_alert_http_5xx_ratio", 0.25, "OctaviaListenerHigh5xxRatio", "expr", "> 0.25"),
    ("octavia_prometheus_alert_http_5xx_min_rate", 3, "OctaviaListenerHigh5xxRatio", "expr", ">= 3"),
    ("octavia_prometheus_alert_http_5xx_for", "11m", "OctaviaListenerHigh5xxRatio", "for", "11m"),
    ("octavia_prometheus_alert_rate_window", "7m", "OctaviaListenerHigh5xxRatio", "expr", "[7m]"),
    ("octavia_prometheus_alert_request_errors_rate", 2.5, "OctaviaListenerRequestErrors", "expr", "> 2.5"),
    ("octavia_prometheus_alert_request_errors_for", "13m", "OctaviaListenerRequestErrors", "for", "13m"),
    ("octavia_prometheus_alert_member_down_for", "3m", "OctaviaMemberDown", "for", "3m"),
    ("octavia_prometheus_alert_pool_no_members_for", "4m", "OctaviaPoolNoActiveMembers", "for", "4m"),
    ("octavia_prometheus_alert_cpu_percent", 73, "OctaviaAmphoraHighCpu", "expr", "> 73"),
    ("octavia_prometheus_alert_cpu_for", "21m", "OctaviaAmphoraHighCpu", "for", "21m"),
    ("octavia_prometheus_alert_memory_percent", 77, "OctaviaAmphoraHighMemory", "expr", "> 77"),
    ("octavia_prometheus_alert_memory_for", "22m", "OctaviaAmphoraHighMemory", "for", "22m"),
    ("octavia_prometheus_alert_connections_ratio", 0.8, "OctaviaListenerSessionsNearLimit", "expr", "> 0.8"),
    ("octavia_prometheus_alert_connections_ratio", 0.8, "OctaviaLoadBalancerConnectionsNearLimit", "expr", "> 0.8"),
    ("octavia_prometheus_alert_connections_for", "6m", "OctaviaLoadBalancerConnectionsNearLimit", "for", "6m"),
    ("octavia_prometheus_alert_targets_file_window", "17m", "OctaviaTargetsFileUnreadable", "expr", "[17m]"),
    ("octavia_prometheus_alert_pool_no_members_severity", "page", "OctaviaPoolNoActiveMembers", "labels", "page"),
    ("octavia_prometheus_job_name", "lbaas", "OctaviaAmphoraHighCpu", "expr", 'job="lbaas"'),
])
def test_thresholds_and_durations_come_from_variables(tmp_path, variable, value, alert, field, expected):
    text = render("octavia-alerts.yml.j2", **{variable: value})
    got = rule(text, alert)[field]
    got = got.get("severity") if field == "labels" else str(got)
    assert expected in got
    default_text = render("octavia-alerts.yml.j2")
    default = rule(default_text, alert)[field]
    assert expected not in (default.get("severity") if field == "labels" else str(default))
    path = tmp_path / "rules.yml"
    path.write_text(text)
    check = promtool("check", "rules", str(path))
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_octavia_expression_selects_the_job():
    text = render("octavia-alerts.yml.j2", octavia_prometheus_job_name="lbaas")
    for group in yaml.safe_load(text)["groups"]:
        for r in group["rules"]:
            if "octavia_" in r["expr"].replace("octavia_listener_info", "").replace(
                    "octavia_pool_info", "").replace("octavia_member_info", ""):
                assert 'job="lbaas"' in r["expr"], r["alert"]


def test_alert_labels_and_severity_on_every_alert():
    text = render("octavia-alerts.yml.j2", octavia_prometheus_alert_labels={"team": "lb", "tier": 1})
    for group in yaml.safe_load(text)["groups"]:
        for r in group["rules"]:
            assert r["labels"]["team"] == "lb" and r["labels"]["tier"] == "1", r["alert"]
            assert r["labels"]["severity"] in ("critical", "warning"), r["alert"]
            assert {"summary", "description"} <= set(r["annotations"]), r["alert"]


@pytest.mark.parametrize("disabled", [["OctaviaAmphoraHighMemory"],
                                      ["OctaviaMemberDown", "OctaviaTargetsFileUnreadable"],
                                      "all"])
def test_disabled_alerts_are_left_out(tmp_path, disabled):
    names = alert_pack()
    disabled = names if disabled == "all" else disabled
    text = render("octavia-alerts.yml.j2", octavia_prometheus_alert_rules_disabled=disabled)
    assert alert_names(text) == [n for n in names if n not in disabled]
    path = tmp_path / "rules.yml"
    path.write_text(text)
    check = promtool("check", "rules", str(path))
    assert check.returncode == 0, check.stdout + check.stderr


def test_alerts_only_use_metrics_the_amphora_exports():
    """Every octavia_* metric in the pack is one Octavia's prometheus-proxy produces (or the catalogue's)."""
    import importlib.util
    import re
    proxy = pathlib.Path(importlib.util.find_spec("octavia").origin).parent / "cmd" / "prometheus_proxy.py"
    exported = set(re.findall(r"octavia_[a-z_]+", proxy.read_text()))
    catalogue = {"octavia_listener_info", "octavia_pool_info", "octavia_member_info"}
    used = set(re.findall(r"octavia_[a-z_]+", "\n".join(
        r["expr"] for g in yaml.safe_load(render("octavia-alerts.yml.j2"))["groups"] for r in g["rules"])))
    assert used, "no octavia metric found in the pack"
    assert used - exported - catalogue == set()


# The name catalogue

def catalogue(items, **overrides):
    return render("octavia-names.yml.j2", __octavia_prometheus_found={"targets": items}, **overrides)


def test_catalogue_passes_promtool_with_one_rule_per_object(tmp_path):
    path = tmp_path / "names.yml"
    path.write_text(catalogue(sample_items()))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    # web: 3 listeners + 2 (pool, listener) pairs + 2 members; edge, found twice: 2 listeners.
    assert "SUCCESS: 9 rules found" in result.stdout
    groups = yaml.safe_load(path.read_text())["groups"]
    assert [g["name"] for g in groups] == ["octavia-names-lb-edge", "octavia-names-lb-web"]
    assert all(g["interval"] == "1m" for g in groups)


def test_catalogue_empty_fleet_is_valid(tmp_path):
    path = tmp_path / "names.yml"
    path.write_text(catalogue([]))
    assert yaml.safe_load(path.read_text())["groups"] == []
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_catalogue_is_the_same_bytes_whatever_the_api_order():
    items = sample_items()
    expected = catalogue(items)
    rng = random.Random(5)
    for _round in range(5):
        shuffled = yaml.safe_load(yaml.safe_dump(items))
        rng.shuffle(shuffled)
        for item in shuffled:
            for key in ("listeners", "pools", "members"):
                rng.shuffle(item.get("catalog", {}).get(key, []))
        assert catalogue(shuffled) == expected


def test_catalogue_names_are_never_empty_and_survive_odd_characters(tmp_path):
    odd = 'we"b: {{ $labels.x }} \\ ünï #1'
    items = [{
        "scrape_target": "127.4.0.20:8088",
        "labels": {"loadbalancer_id": "lb-odd", "loadbalancer_name": odd},
        "catalog": {
            "listeners": [{"id": "l-1", "name": odd, "protocol": "HTTP", "protocol_port": 80},
                          {"id": "l-2", "name": None, "protocol": "TCP", "protocol_port": 22}],
            "pools": [{"id": "p-1", "name": "", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                       "listener_id": "l-1"}],
            "members": [{"id": "m-1", "name": odd, "address": "2001:db8::1", "protocol_port": 80,
                         "pool_id": "p-1"}],
        },
    }]
    path = tmp_path / "names.yml"
    path.write_text(catalogue(items))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    key = {"octavia_listener_info": "listener", "octavia_pool_info": "pool", "octavia_member_info": "member"}
    rules = {(r["record"], r["labels"][key[r["record"]]]): r["labels"]
             for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]}
    assert rules[("octavia_listener_info", "l-1")]["listener_name"] == odd
    assert rules[("octavia_listener_info", "l-1")]["loadbalancer_name"] == odd
    assert rules[("octavia_listener_info", "l-2")]["listener_name"] == "l-2"
    assert rules[("octavia_pool_info", "p-1:l-1")]["pool_name"] == "p-1"
    assert rules[("octavia_member_info", "m-1")]["member_name"] == odd
    assert rules[("octavia_member_info", "m-1")]["member_address"] == "2001:db8::1"
    assert rules[("octavia_member_info", "m-1")]["pool_name"] == "p-1"


def test_catalogue_interval_is_a_variable():
    groups = yaml.safe_load(catalogue(sample_items(), octavia_prometheus_catalog_interval="20s"))["groups"]
    assert {g["interval"] for g in groups} == {"20s"}
