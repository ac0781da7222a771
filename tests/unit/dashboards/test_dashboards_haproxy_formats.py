"""The status panels show the same thing whichever HAProxy the amphora runs.

HAProxy 2.4 and later export a pool's or a member's status as one 0/1 series per
state, with a `state` label; HAProxy 2.0 to 2.3 (older amphora images) as one
series without it, whose value is the state's number. Two load balancers with the
same pools and members in the same states, one in each format, must give every
status query of the shipped dashboards the same result; promtool evaluates them.
"""
import re
import shutil
import subprocess

import pytest
import yaml

from dashboards import promql, queries

# HAProxy's own numbers for the older format (its exporter's help text before 2.4:
# "backend: 0=DOWN, 1=UP - server: 0=DOWN, 1=UP, 2=MAINT, 3=DRAIN, 4=NOLB").
# Written out here, not read from promql.HAPROXY_STATES, so that a wrong table fails.
SERVER_NUMBERS = {"DOWN": 0, "UP": 1, "MAINT": 2, "DRAIN": 3, "NOLB": 4}
BACKEND_NUMBERS = {"DOWN": 0, "UP": 1}
# What the panels' value mappings show for each code (panels.state_mapping).
SHOWN = {1: "DOWN", 2: "UP", 3: "MAINT", 4: "DRAIN", 5: "NOLB"}
MEMBERS = {"web-1": ("10.0.0.1", "DOWN"), "web-2": ("10.0.0.2", "UP"), "web-3": ("10.0.0.3", "MAINT")}
LOAD_BALANCERS = {"newer": ("127.4.0.10", "haproxy-2.4+"), "older": ("127.4.0.11", "haproxy-before-2.4")}
STATUS_RE = re.compile(r"\b(octavia_(?:member|pool)_status)\{([^}]*)\}")


def _series(name, labels):
    return name + "{" + ", ".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def _status(name, labels, numbers, state, form):
    """The input series of one object in state `state`, in the given HAProxy format."""
    if form == "haproxy-2.4+":
        return [{"series": _series(name, {**labels, "state": each}), "values": f"{int(each == state)}x5"}
                for each in numbers]
    return [{"series": _series(name, labels), "values": f"{numbers[state]}x5"}]


def input_series():
    """Both load balancers' status series and the name catalogue's series for them."""
    series = []
    for lb, (vip, form) in LOAD_BALANCERS.items():
        target = {"job": "octavia", "instance": f"{vip}:8088", "loadbalancer_id": f"id-{lb}", "loadbalancer_name": lb,
                  "vip_address": vip, "project_id": f"p-{lb}", "cloud": "lab", "region": "RegionOne"}
        scope = {key: target[key] for key in ("loadbalancer_name", "project_id", "cloud", "region")}
        pool = f"{lb}-pool:{lb}-listener"
        series += _status("octavia_pool_status", {**target, "pool": pool}, BACKEND_NUMBERS, "UP", form)
        series.append({"series": _series("octavia_pool_info", {**scope, "pool": pool, "pool_name": "web-pool",
                                                               "listener_name": "http"}), "values": "1x5"})
        for name, (address, state) in MEMBERS.items():
            member = f"{lb}-{name}"
            series += _status("octavia_member_status", {**target, "pool": pool, "member": member},
                              SERVER_NUMBERS, state, form)
            series.append({"series": _series("octavia_member_info", {
                **scope, "member": member, "member_name": name, "member_address": address, "pool_name": "web-pool"}),
                "values": "1x5"})
    return series


def code(state):
    return next(number for number, shown in SHOWN.items() if shown == state)


# (dashboard, panel title, ref) -> what the query returns for load balancer `lb`, in either format.
EXPECTED = {
    ("octavia-fleet-overview", "Members down", "A"): lambda lb: [({}, 1)],
    ("octavia-fleet-overview", "Load balancers", "H"): lambda lb: [
        ({"loadbalancer_name": lb, "project_id": f"p-{lb}", "vip_address": LOAD_BALANCERS[lb][0]}, 1)],
    ("octavia-fleet-overview", "Members down by pool", "A"): lambda lb: [({"pool_name": "web-pool"}, 1)],
    ("octavia-lb-detail", "Members down", "A"): lambda lb: [({}, 1)],
    ("octavia-lb-detail", "Pools", "A"): lambda lb: [({"pool_name": "web-pool", "listener_name": "http"}, code("UP"))],
    ("octavia-lb-detail", "Members", "A"): lambda lb: [
        ({"pool_name": "web-pool", "member_name": name, "member_address": address}, code(state))
        for name, (address, state) in MEMBERS.items()],
    ("octavia-lb-detail", "Member state", "A"): lambda lb: [
        ({"pool_name": "web-pool", "member_name": name}, code(state)) for name, (_address, state) in MEMBERS.items()],
}


def status_queries(committed):
    """(dashboard uid, query) for every panel target that reads a pool's or a member's status."""
    return [(uid, query) for uid, dashboard in committed.items() for query in queries.panel_queries(dashboard)
            if STATUS_RE.search(query.expr)]


def test_every_status_query_has_an_expectation(committed):
    found = {(uid, query.panel, query.ref) for uid, query in status_queries(committed)}
    assert found == set(EXPECTED)


def test_every_status_selector_has_its_older_format_twin(committed):
    """A selector of one state (2.4+) always comes with the same selector for series without `state`."""
    for uid, query in status_queries(committed):
        for name, matchers in STATUS_RE.findall(query.expr):
            parts = [m.strip() for m in matchers.split(",")]
            states = [m for m in parts if m.startswith("state=")]
            assert states, f"{uid} / {query.panel}: {name}{{{matchers}}} mixes both formats' series"
            twin = ", ".join([m for m in parts if not m.startswith("state=")] + ['state=""'])
            assert f"{name}{{{twin}}}" in query.expr, f"{uid} / {query.panel}: {name}{{{matchers}}} has no twin"


def test_state_mappings_show_haproxy_s_states(committed):
    members = next(p for p in queries.panels(committed["octavia-lb-detail"]) if p["title"] == "Member state")
    options = members["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert {int(key): value["text"] for key, value in options.items() if key != "0"} == SHOWN


def _labels(labels):
    return "{" + ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"


def test_both_formats_give_every_status_panel_the_same_result(committed, tmp_path):
    cases = []
    for uid, query in status_queries(committed):
        for lb in LOAD_BALANCERS:
            values = {"cloud": "lab", "region": "RegionOne", "project": f"p-{lb}", "loadbalancer": lb,
                      "listener": ".*", "pool": ".*", "topn": "10", "__rate_interval": "1m", "__range": "1h"}
            cases.append({"expr": queries.substitute(query.expr, values), "eval_time": "2m",
                          "exp_samples": [{"labels": _labels(labels), "value": value}
                                          for labels, value in EXPECTED[(uid, query.panel, query.ref)](lb)]})
    tests = {"rule_files": [], "evaluation_interval": "1m",
             "tests": [{"interval": "1m", "input_series": input_series(), "promql_expr_test": cases}]}
    path = tmp_path / "haproxy-formats_test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    result = subprocess.run([promtool, "test", "rules", path.name], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(cases) == 2 * len(status_queries(committed)) >= 2 * len(EXPECTED)


@pytest.mark.parametrize("name", sorted(promql.HAPROXY_STATES))
def test_haproxy_states_are_in_haproxy_s_order(name):
    numbers = SERVER_NUMBERS if name == "octavia_member_status" else BACKEND_NUMBERS
    assert promql.HAPROXY_STATES[name] == tuple(sorted(numbers, key=numbers.get))
