"""Both HAProxy status formats: the fixture converter, and the pack reading them as the dashboards do."""
import re

import pytest
import yaml

from haproxy_formats import HAPROXY_STATES, expand, older_form, older_input_series, older_series, parse_series, promql
from rules_render import HERE, render

UNIT_TEST_FILE = HERE / "octavia-alerts_test.yml"


@pytest.mark.parametrize("values, expected", [
    ("1 0 1", [1, 0, 1]),
    ("1x3", [1, 1, 1, 1]),
    ("0+6x2", [0, 6, 12]),
    ("10-2x2", [10, 8, 6]),
    ("_ 1 _x2", [None, 1, None, None]),
    (7, [7]),
])
def test_expand_follows_promtool_notation(values, expected):
    assert expand(values) == expected


@pytest.mark.parametrize("values", ["stale", "1 x", "_+1x2"])
def test_expand_refuses_what_it_does_not_handle(values):
    with pytest.raises(ValueError):
        expand(values)


def test_parse_series_keeps_escaped_values():
    name, labels = parse_series('octavia_member_status{job="octavia", loadbalancer_name="edge \\"east\\"",\n state="UP"}')
    assert name == "octavia_member_status"
    assert labels == [("job", "octavia"), ("loadbalancer_name", 'edge \\"east\\"'), ("state", "UP")]


@pytest.mark.parametrize("text", ["octavia_member_status", 'm{a="1" b="2"}', "m{a=1}"])
def test_parse_series_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        parse_series(text)


def test_older_series_is_the_number_of_the_state_at_one():
    # HAProxy's server numbers: 0=DOWN, 1=UP, 2=MAINT, 3=DRAIN, 4=NOLB.
    assert older_series("octavia_member_status", {
        "UP": expand("1 0 0 0 0 _"), "DOWN": expand("0 1 0 0 0 _"), "MAINT": expand("0 0 1 0 0 _"),
        "DRAIN": expand("0 0 0 1 0 _"), "NOLB": expand("0 0 0 0 1 _"),
    }) == "1 0 2 3 4 _"
    assert older_series("octavia_pool_status", {"UP": [1, 0], "DOWN": [0, 1]}) == "1 0"


@pytest.mark.parametrize("states", [
    {"UP": [1], "DOWN": [1]},          # two current states
    {"UP": [0], "DOWN": [0]},          # none
    {"UP": [1], "DOWN": [None]},       # a state missing at a step where another is there
    {"UP": [2]},                       # not 0 or 1
    {"FULL": [1]},                     # not a server state
])
def test_older_series_refuses_what_haproxy_would_not_export(states):
    with pytest.raises(ValueError):
        older_series("octavia_member_status", states)


def test_older_input_series_keeps_other_series_and_the_order():
    series = [
        {"series": 'up{job="octavia"}', "values": "1 1"},
        {"series": 'octavia_member_status{member="m-1",state="DOWN"}', "values": "0 1"},
        {"series": 'octavia_pool_active_members{pool="p"}', "values": "1 0"},
        {"series": 'octavia_member_status{member="m-1",state="UP"}', "values": "1 0"},
    ]
    assert older_input_series(series) == [
        {"series": 'up{job="octavia"}', "values": "1 1"},
        {"series": 'octavia_member_status{member="m-1"}', "values": "1 0"},
        {"series": 'octavia_pool_active_members{pool="p"}', "values": "1 0"},
    ]


def test_older_input_series_refuses_a_state_given_twice():
    series = [{"series": 'octavia_member_status{member="m-1",state="UP"}', "values": "1"}] * 2
    with pytest.raises(ValueError):
        older_input_series(series)


def status_series(tests):
    return [entry for test in tests["tests"] for entry in test.get("input_series", [])
            if parse_series(entry["series"])[0] in HAPROXY_STATES]


def test_the_alert_tests_really_have_both_formats():
    """The older copy of the alert tests has the same tests and no `state` label left, and numbers where
    the written file has state sets; the member-down test covers DOWN, UP and MAINT."""
    written = yaml.safe_load(UNIT_TEST_FILE.read_text())
    older = older_form(written)
    assert [t["alert_rule_test"] for t in older["tests"]] == [t["alert_rule_test"] for t in written["tests"]]
    newer_status, older_status = status_series(written), status_series(older)
    assert newer_status and all("state" in dict(parse_series(e["series"])[1]) for e in newer_status)
    assert older_status and not any("state" in dict(parse_series(e["series"])[1]) for e in older_status)
    numbers = {dict(parse_series(e["series"])[1])["member"]: e["values"] for e in older_status}
    assert numbers == {"m-1": "1 1 0 0 0 0 0", "m-2": "2 2 2 2 2 2 2", "m-new": "1 1 1 0 0 0 0"}


def squeeze(text):
    return re.sub(r"\s+", "", text)


def test_the_pack_reads_a_state_as_the_dashboards_do():
    """OctaviaMemberDown's test of DOWN is promql.in_state, the dashboards' one expression for it."""
    text = render("octavia-alerts.yml.j2", octavia_prometheus_job_name="lbaas")
    rule = next(r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if r["alert"] == "OctaviaMemberDown")
    expected = promql.in_state("octavia_member_status", "DOWN", 'job="lbaas"')
    assert squeeze(expected) in squeeze(rule["expr"])


def test_no_alert_reads_a_status_in_one_format_only():
    """Every selector of a status metric with a state in the pack comes with its older-format twin."""
    text = render("octavia-alerts.yml.j2")
    exprs = "\n".join(r["expr"] for g in yaml.safe_load(text)["groups"] for r in g["rules"])
    found = 0
    for name in HAPROXY_STATES:
        for matchers in re.findall(re.escape(name) + r"\{([^}]*)\}", exprs):
            others = [m for m in matchers.split(",") if not m.strip().startswith("state=")]
            assert "state=" in matchers, f"{name}{{{matchers}}} reads both formats' series as one"
            twin = ",".join(others + ['state=""'])
            assert f"{name}{{{twin}}}" in exprs, f"{name}{{{matchers}}} has no older-format twin"
            found += 1
    assert found
