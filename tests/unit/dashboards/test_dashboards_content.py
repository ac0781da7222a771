"""What the dashboards show: the issue's panels and variables, real metric names,
the name catalogue's documented labels, and PromQL that Prometheus' own parser accepts."""
import re
import shutil
import subprocess

import pytest
import yaml
from octavia.cmd import prometheus_proxy

from dashboards import queries
from dashboards.promql import CATALOGUE
from dashboards.generate import REPO

FLEET, DETAIL = "octavia-fleet-overview", "octavia-lb-detail"
METRIC_RE = re.compile(r"\b(octavia_[a-z_]+)\b")
# Sample values for Grafana's and the dashboards' variables (the end-to-end test uses the lab's).
SAMPLE_VALUES = {"cloud": "lab", "region": "RegionOne", "project": ".*", "loadbalancer": "web", "listener": ".*",
                 "pool": ".*", "topn": "10", "__rate_interval": "1m", "__range": "1h"}


def exported_metrics():
    """Metric names Octavia's prometheus-proxy serves (its rename map plus the two it computes)."""
    names = {target.strip().rstrip("{") for target, *_rest in prometheus_proxy.METRIC_MAP.values()}
    return names | {"octavia_loadbalancer_cpu", "octavia_loadbalancer_memory"}


def documented_catalogue():
    """{info metric: labels} from the series listed in docs/names.md."""
    text = (REPO / "docs" / "names.md").read_text()
    found = {}
    for name, labels in re.findall(r"^(octavia_[a-z]+_info)\{([^}]*)\}", text, re.M):
        found[name] = {label.split("=")[0].strip() for label in labels.split(",") if label.strip()}
    return found


def titles(dashboard):
    return {panel["title"] for panel in queries.panels(dashboard)}


def exprs(dashboard, title):
    return [q.expr for q in queries.panel_queries(dashboard) if q.panel == title]


def units(dashboard):
    found = set()
    for panel in queries.panels(dashboard):
        found.add(panel["fieldConfig"]["defaults"]["unit"])
        for override in panel["fieldConfig"].get("overrides", []):
            found |= {p["value"] for p in override["properties"] if p["id"] == "unit"}
    return found


def test_every_metric_is_one_octavia_exports_or_the_catalogue_records(committed):
    known = exported_metrics() | set(documented_catalogue())
    for uid, dashboard in committed.items():
        for query in queries.panel_queries(dashboard) + [
                queries.PanelQuery("variable " + v.name, "", v.selector, True, "")
                for v in queries.variable_queries(dashboard)]:
            unknown = set(METRIC_RE.findall(query.expr)) - known
            assert not unknown, f"{uid} / {query.panel} {query.ref}: {sorted(unknown)}"


def test_catalogue_joins_use_documented_labels(committed):
    documented = documented_catalogue()
    assert set(documented) == {info for _on, _names, info in CATALOGUE.values()}
    for on, names, info in CATALOGUE.values():
        assert set(on) | set(names) <= documented[info], info
    join = re.compile(r"on \(([^)]*)\) group_left \(([^)]*)\) (octavia_[a-z]+_info)\{([^}]*)\}")
    seen = 0
    for dashboard in committed.values():
        for query in queries.panel_queries(dashboard):
            for on, names, info, matchers in join.findall(query.expr):
                used = {x.strip() for x in (on + "," + names).split(",")}
                used |= {m.split("=")[0].rstrip("!~").strip() for m in matchers.split(", ")}
                assert used <= documented[info], (query.panel, used - documented[info])
                seen += 1
    assert seen > 20


def test_fleet_overview_covers_the_issue(committed):
    fleet = committed[FLEET]
    variables = {v["name"]: v for v in fleet["templating"]["list"]}
    assert {"cloud", "region", "project"} <= set(variables)
    rows = [p for p in fleet["panels"] if p["type"] == "row" and p.get("repeat") == "loadbalancer"]
    assert rows and rows[0]["title"] == "$loadbalancer", "one row per load balancer, titled by name"
    assert variables["loadbalancer"]["query"].endswith("loadbalancer_name)")
    row_exprs = " ".join(q.expr for q in queries.panel_queries(fleet) if 'loadbalancer_name="$loadbalancer"' in q.expr)
    for needle in ("up{", "octavia_loadbalancer_current_connections", "rate(octavia_listener_connections_total",
                   "octavia_listener_bytes_in_total", "octavia_listener_bytes_out_total",
                   "sum by (code) (rate(octavia_listener_http_responses_total", "octavia_listener_request_errors_total",
                   'octavia_member_status{', 'state="DOWN"'):
        assert needle in row_exprs, needle
    assert any("* 8" in e for e in exprs(fleet, "Traffic")), "bytes become bits per second"
    assert "topk($topn" in exprs(fleet, "Top $topn load balancers by traffic")[0]
    assert "topk($topn" in exprs(fleet, "Top $topn load balancers by errors")[0]
    assert "Load balancers" in titles(fleet)


def test_detail_covers_the_issue(committed):
    detail = committed[DETAIL]
    variables = {v.name: v for v in queries.variable_queries(detail)}
    assert variables["loadbalancer"].label == "loadbalancer_name"
    assert variables["listener"].label == "listener_name" and "octavia_listener_info" in variables["listener"].selector
    assert variables["pool"].label == "pool_name" and "octavia_pool_info" in variables["pool"].selector
    text = " ".join(q.expr for q in queries.panel_queries(detail))
    for needle in ("octavia_listener_limit_sessions", "octavia_listener_current_sessions",
                   "octavia_listener_http_responses_total", "octavia_pool_status", "octavia_member_status",
                   "octavia_member_weight", "octavia_pool_queue_time_average_seconds",
                   "octavia_pool_connect_time_average_seconds", "octavia_pool_response_time_average_seconds",
                   "octavia_member_check_failures_total", "octavia_loadbalancer_cpu", "octavia_loadbalancer_memory",
                   'listener_name=~"$listener"', 'pool_name=~"$pool"'):
        assert needle in text, needle


def test_units_cover_bits_bytes_seconds_percent(committed):
    assert {"bps", "bytes", "s", "percent"} <= units(committed[FLEET]) | units(committed[DETAIL])
    for title in ("Traffic", "Traffic in", "Top $topn load balancers by traffic"):
        panel = next(p for p in queries.panels(committed[FLEET]) if p["title"] == title)
        assert panel["fieldConfig"]["defaults"]["unit"] == "bps", title


def test_legends_show_names(committed):
    legends = [q.legend for d in committed.values() for q in queries.panel_queries(d)]
    assert any("{{listener_name}}" in legend for legend in legends)
    assert any("{{member_name}}" in legend for legend in legends)
    assert any("{{pool_name}}" in legend for legend in legends)
    assert any("{{loadbalancer_name}}" in legend for legend in legends)


def test_every_query_parses_in_promtool(committed, tmp_path):
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    rules = []
    for uid, dashboard in committed.items():
        for index, query in enumerate(queries.panel_queries(dashboard)):
            rules.append({"record": f"dashboard_check:{uid.replace('-', '_')}:{index}",
                          "expr": queries.substitute(query.expr, SAMPLE_VALUES)})
        for variable in queries.variable_queries(dashboard):
            rules.append({"record": f"dashboard_check:{uid.replace('-', '_')}:{variable.name}",
                          "expr": queries.substitute(variable.selector, SAMPLE_VALUES)})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


@pytest.mark.parametrize("text, expected", [
    ("rate(x[$__rate_interval])", "rate(x[1m])"),
    ('x{a=~"${cloud:regex}"}', 'x{a=~"lab"}'),
    ("topk($topn, x)", "topk(10, x)"),
])
def test_substitute(text, expected):
    assert queries.substitute(text, SAMPLE_VALUES) == expected


def test_substitute_refuses_unknown_variables():
    with pytest.raises(KeyError):
        queries.substitute("x{a=\"$nope\"}", SAMPLE_VALUES)
