"""Structural validation: the SDK's models and the house rules accept the shipped
dashboards and reject each kind of breakage."""
import copy

import pytest

from dashboards import validate
from dashboards.panels import DATASOURCE_UID


def test_shipped_dashboards_are_valid(committed):
    for uid, dashboard in committed.items():
        assert validate.validate(dashboard, uid) == [], uid


def test_schema_version_is_the_sdk_current_one(committed):
    assert validate.SCHEMA_VERSION >= 41
    assert {d["schemaVersion"] for d in committed.values()} == {validate.SCHEMA_VERSION}


def _first(dashboard, panel_type):
    return next(p for p in dashboard["panels"] if p["type"] == panel_type)


def _table(dashboard):
    return next(p for p in dashboard["panels"] if p.get("transformations"))


BREAKAGE = [
    ("unknown panel key", lambda d: _first(d, "stat").update(colour="red"), "colour: not a field"),
    ("unknown dashboard key", lambda d: d.update(__inputs=[]), "__inputs"),
    ("enum out of range", lambda d: _first(d, "timeseries")["options"]["legend"].update(displayMode="grid"),
     "is not a LegendDisplayMode"),
    ("cursor sync", lambda d: d.update(graphTooltip=7), "is not a DashboardCursorSync"),
    ("string where a number goes", lambda d: _first(d, "stat")["gridPos"].update(w="6"), "expected a number"),
    ("number where a string goes",
     lambda d: _first(d, "stat")["fieldConfig"]["defaults"]["thresholds"]["steps"][0].update(color=3),
     "expected a string"),
    ("unknown panel type", lambda d: _first(d, "stat").update(type="piechartz"), "no model for panel type"),
    ("literal out of range", lambda d: _table(d)["transformations"][0].update(topic="logs"), "is not one of"),
    ("variable sort", lambda d: d["templating"]["list"][0].update(sort=42), "is not a VariableSort"),
    ("dashboard link type", lambda d: d["links"][0].update(type="folder"), "is not a DashboardLinkType"),
    ("other uid", lambda d: d.update(uid="something-else"), "expected the pinned"),
    ("old schema", lambda d: d.update(schemaVersion=36), "schemaVersion is 36"),
    ("import placeholder", lambda d: _first(d, "stat")["targets"][0].update(expr="up{x=\"${DS_PROMETHEUS}\"}"),
     "${DS_...} placeholder"),
    ("datasource by name", lambda d: _first(d, "stat").update(datasource={"type": "prometheus", "uid": "prom"}),
     "is not the pinned prometheus uid"),
    ("not prometheus", lambda d: _first(d, "timeseries")["targets"][0].update(datasource={"type": "loki", "uid": DATASOURCE_UID}),
     "is not the pinned prometheus uid"),
    ("no description", lambda d: _first(d, "timeseries").pop("description"), "no description"),
    ("no unit", lambda d: _first(d, "timeseries")["fieldConfig"]["defaults"].pop("unit"), "no unit"),
    ("made-up unit", lambda d: _first(d, "timeseries")["fieldConfig"]["defaults"].update(unit="bitz"),
     "is not a Grafana unit"),
    ("made-up override unit", lambda d: _table(d)["fieldConfig"]["overrides"][0]["properties"][0].update(value="kbit"),
     "override unit"),
    ("UUID in a legend", lambda d: _first(d, "timeseries")["targets"][0].update(legendFormat="{{listener}}"),
     "legend shows the UUID label 'listener'"),
    ("grouped by UUID", lambda d: _first(d, "timeseries")["targets"][0].update(expr="sum by (member) (up)"),
     "groups by the UUID label 'member'"),
    ("UUID column", lambda d: _table(d)["transformations"][1]["options"]["includeByName"].update(loadbalancer_id=True),
     "UUID column"),
    ("undefined variable", lambda d: _first(d, "timeseries")["targets"][0].update(expr="up{x=\"$nothing\"}"),
     "undefined $nothing"),
    ("duplicate refId", lambda d: _first(d, "timeseries")["targets"].append(
        copy.deepcopy(_first(d, "timeseries")["targets"][0])), "duplicate refIds"),
]


@pytest.mark.parametrize("uid", ["octavia-fleet-overview", "octavia-lb-detail"])
@pytest.mark.parametrize("breakage", BREAKAGE, ids=[b[0] for b in BREAKAGE])
def test_each_breakage_is_reported(committed, uid, breakage):
    _name, mutate, expected = breakage
    dashboard = copy.deepcopy(committed[uid])
    mutate(dashboard)
    problems = validate.validate(dashboard, uid)
    assert any(expected in problem for problem in problems), problems


def test_command_line_exit_codes(committed, tmp_path, capsys):
    import json
    good = tmp_path / "good.json"
    good.write_text(json.dumps(committed["octavia-lb-detail"]))
    bad = tmp_path / "bad.json"
    broken = copy.deepcopy(committed["octavia-lb-detail"])
    broken["schemaVersion"] = 30
    bad.write_text(json.dumps(broken))
    assert validate.main([str(good)]) == 0
    assert validate.main([str(good), str(bad)]) == 1
    assert "schemaVersion is 30" in capsys.readouterr().out
