"""Read a dashboard's queries and fill in template variables the way Grafana does.

Used by the tests that run every query against a real Prometheus: promtool in the
unit tests, the lab's Prometheus in the end-to-end test.
"""
import re
from dataclasses import dataclass

from .validate import VARIABLE_RE

LABEL_VALUES_RE = re.compile(r"^label_values\((?:(?P<selector>.*),\s*)?(?P<label>[A-Za-z_][A-Za-z0-9_]*)\)$", re.S)


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel."""

    panel: str
    ref: str
    expr: str
    instant: bool
    legend: str


@dataclass(frozen=True)
class VariableQuery:
    """A label_values() variable: which label, from which series."""

    name: str
    selector: str
    label: str


def panels(dashboard):
    """Every non-row panel, including those inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") != "row":
            yield panel
        yield from (inner for inner in panel.get("panels", []) if inner.get("type") != "row")


def panel_queries(dashboard):
    """Every target of every panel, in dashboard order."""
    return [PanelQuery(panel=panel.get("title", ""), ref=target.get("refId", ""), expr=target.get("expr", ""),
                       instant=bool(target.get("instant")), legend=target.get("legendFormat", ""))
            for panel in panels(dashboard) for target in panel.get("targets", [])]


def variable_queries(dashboard):
    """Every query variable, parsed; raises ValueError for a query that is not label_values()."""
    found = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else query or ""
        match = LABEL_VALUES_RE.match(text.strip())
        if not match:
            raise ValueError(f"variable {variable.get('name')!r}: not a label_values() query: {text!r}")
        found.append(VariableQuery(variable["name"], match.group("selector") or "", match.group("label")))
    return found


def substitute(text, values):
    """Replace $name and ${name} (with or without a :format) by values[name]; KeyError if one is missing."""
    def replace(match):
        name = match.group(1) or match.group(2)
        return str(values[name])
    return VARIABLE_RE.sub(replace, text)
