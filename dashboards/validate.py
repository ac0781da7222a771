"""Structural validation of dashboard JSON with grafana-foundation-sdk's own models.

Three layers, each returning a list of readable problems (empty: valid):

* `sdk_round_trip`: the JSON is decoded into the SDK's Dashboard model and encoded
  back; any key the models do not know (a typo, a field from another Grafana
  version) is lost on the way and reported with its path.
* `sdk_types`: every decoded value is checked against the models' type hints:
  enums, literals, numbers, strings, nested models. Panel types and query types
  must be ones the SDK has models for (a Prometheus query, a known panel plugin).
* `house_rules`: what this collection promises on top: pinned uid and datasource
  uid, current schemaVersion, no import placeholders, a description and a unit on
  every panel, names (never UUID labels) in legends and tables, every variable a
  query uses is defined.

`python -m dashboards.validate FILE...` prints the problems and exits 1 if any.
"""
import enum
import json
import re
import sys
import types
import typing

from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus, units

from .panels import DATASOURCE_UID
from .promql import ID_LABELS

# The schemaVersion the SDK's models were generated for (Grafana 11.6).
SCHEMA_VERSION = model.Dashboard().schema_version
UNITS = frozenset(value for name, value in vars(units).items() if not name.startswith("_") and isinstance(value, str))
UID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
# Grafana's own variables; any other $name must be a dashboard variable.
BUILTIN_VARIABLES = frozenset({"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                               "__range_ms", "__all", "__value", "__url_time_range", "__data", "__field",
                               "__series", "__from", "__to", "__dashboard", "__org", "__user", "__name"})
VARIABLE_RE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)(?:[:.][^}]*)?\}|([A-Za-z0-9_]+))")
BY_RE = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
LEGEND_LABEL_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

register_default_plugins()


def _encode(obj):
    return json.loads(JSONEncoder(sort_keys=True).encode(obj))


def _diff(original, decoded, path, problems):
    """Report what the SDK models lost or changed between original and decoded JSON."""
    if isinstance(original, dict) and isinstance(decoded, dict):
        for key in original:
            if key not in decoded:
                problems.append(f"{path}.{key}: not a field of the Grafana {SCHEMA_VERSION} schema")
            else:
                _diff(original[key], decoded[key], f"{path}.{key}", problems)
        for key in decoded:
            if key not in original:
                problems.append(f"{path}.{key}: missing (the SDK adds {json.dumps(decoded[key])[:60]})")
    elif isinstance(original, list) and isinstance(decoded, list):
        if len(original) != len(decoded):
            problems.append(f"{path}: {len(original)} items became {len(decoded)}")
        for index, (left, right) in enumerate(zip(original, decoded)):
            _diff(left, right, f"{path}[{index}]", problems)
    elif original != decoded or type(original) is not type(decoded):
        problems.append(f"{path}: {original!r} decodes as {decoded!r}")


def decode(dashboard):
    """The SDK's Dashboard model of a dashboard dict."""
    return model.Dashboard.from_json(dashboard)


def sdk_round_trip(dashboard):
    """Problems where decoding into the SDK models and encoding back changes the JSON."""
    problems = []
    _diff(dashboard, _encode(decode(dashboard)), "$", problems)
    return problems


def _short(value):
    text = json.dumps(_encode(value)) if hasattr(value, "to_json") else repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _name(hint):
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _check_value(value, hint, path, problems):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is typing.Any or hint is object:
        if hasattr(value, "to_json"):
            _check_model(value, path, problems)
        return
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        arms = [arm for arm in args if arm is not type(None)]
        # A decoded model picks its arm; report that arm's problems, not a vague mismatch.
        exact = [arm for arm in arms if isinstance(arm, type) and hasattr(arm, "from_json") and isinstance(value, arm)]
        attempts = []
        for arm in exact or arms:
            attempt = []
            _check_value(value, arm, path, attempt)
            if not attempt:
                return
            attempts.append(attempt)
        if len(attempts) == 1:
            problems.extend(attempts[0])
        else:
            problems.append(f"{path}: {_short(value)} is none of {', '.join(_name(arm) for arm in arms)}")
        return
    if origin is typing.Literal:
        if value not in args:
            problems.append(f"{path}: {value!r} is not one of {list(args)}")
        return
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {_short(value)}")
            return
        for index, item in enumerate(value):
            _check_value(item, args[0], f"{path}[{index}]", problems)
        return
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {_short(value)}")
            return
        for key, item in value.items():
            _check_value(item, args[1], f"{path}.{key}", problems)
        return
    if not isinstance(hint, type):
        return
    if issubclass(hint, enum.Enum):
        try:
            hint(value)
        except ValueError:
            problems.append(f"{path}: {value!r} is not a {hint.__name__} ({[m.value for m in hint]})")
        return
    if hint is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true/false, got {_short(value)}")
        return
    if hint in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (hint is int and isinstance(value, float)):
            problems.append(f"{path}: expected a number ({hint.__name__}), got {_short(value)}")
        return
    if hint is str:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {_short(value)}")
        return
    if hint is cogvariants.Dataquery:
        if not isinstance(value, prometheus.Dataquery):
            problems.append(f"{path}: not a Prometheus query (datasource type must be prometheus)")
            return
        _check_model(value, path, problems)
        return
    if hasattr(hint, "from_json"):
        if isinstance(value, dict):
            # Some fields (links, transformations) stay raw dicts when decoded: decode them here.
            _diff(value, _encode(hint.from_json(value)), path, problems)
            value = hint.from_json(value)
        if not isinstance(value, hint):
            problems.append(f"{path}: expected a {hint.__name__}, got {_short(value)}")
            return
        _check_model(value, path, problems)


def _check_model(obj, path, problems):
    for name, hint in typing.get_type_hints(type(obj)).items():
        _check_value(getattr(obj, name, None), hint, f"{path}.{name}", problems)


def sdk_types(dashboard):
    """Problems where a decoded value does not have the type the SDK models declare."""
    problems = []
    decoded = decode(dashboard)
    _check_model(decoded, "$", problems)
    for panel in _panels(dashboard):
        if panel.get("type") != "row" and cogruntime.panelcfg_config(panel.get("type", "")) is None:
            problems.append(f"panel {panel.get('title')!r}: the SDK has no model for panel type {panel.get('type')!r}")
    return problems


def _panels(dashboard):
    """Every panel, rows and the panels inside collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _walk(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key, item
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _used_variables(text):
    return {braced or bare for braced, bare in VARIABLE_RE.findall(text)}


def _grouping_labels(expr):
    return {label.strip() for group in BY_RE.findall(expr) for label in group.split(",") if label.strip()}


def house_rules(dashboard, uid):
    """Problems with this collection's rules for a provisioned dashboard with the given uid."""
    problems = []
    if dashboard.get("uid") != uid or not UID_PATTERN.match(str(dashboard.get("uid"))):
        problems.append(f"uid is {dashboard.get('uid')!r}, expected the pinned {uid!r}")
    if dashboard.get("schemaVersion") != SCHEMA_VERSION:
        problems.append(f"schemaVersion is {dashboard.get('schemaVersion')!r}, current is {SCHEMA_VERSION}")
    if not dashboard.get("title"):
        problems.append("the dashboard has no title")
    for key in ("__inputs", "__requires", "__elements"):
        if key in dashboard:
            problems.append(f"{key} is an import-only section; a provisioned dashboard must not have it")
    if "${DS_" in json.dumps(dashboard):
        problems.append("a ${DS_...} placeholder remains; reference the datasource by its pinned uid")
    for path, key, value in _walk(dashboard):
        if key == "datasource" and value != {"type": "prometheus", "uid": DATASOURCE_UID}:
            problems.append(f"{path}: datasource {value!r} is not the pinned prometheus uid {DATASOURCE_UID!r}")
        if key == "unit" and value not in UNITS:
            problems.append(f"{path}: unit {value!r} is not a Grafana unit")
        if key == "properties" and isinstance(value, list):
            for prop in value:
                if prop.get("id") == "unit" and prop.get("value") not in UNITS:
                    problems.append(f"{path}: override unit {prop.get('value')!r} is not a Grafana unit")

    defined = {variable.get("name") for variable in dashboard.get("templating", {}).get("list", [])}
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query" and not variable.get("datasource"):
            problems.append(f"variable {variable.get('name')!r} has no datasource")
        if not variable.get("description"):
            problems.append(f"variable {variable.get('name')!r} has no description")
        query = variable.get("query") or ""
        for name in _used_variables(query if isinstance(query, str) else json.dumps(query)) - defined - BUILTIN_VARIABLES:
            problems.append(f"variable {variable.get('name')!r} uses undefined ${name}")

    seen_ids = set()
    for panel in _panels(dashboard):
        title = panel.get("title") or "<untitled>"
        where = f"panel {title!r}"
        if panel.get("id") in seen_ids:
            problems.append(f"{where}: id {panel.get('id')} is not unique")
        seen_ids.add(panel.get("id"))
        for name in _used_variables(title) - defined - BUILTIN_VARIABLES:
            problems.append(f"{where}: title uses undefined ${name}")
        if panel.get("repeat") and panel["repeat"] not in defined:
            problems.append(f"{where}: repeats over undefined variable {panel['repeat']!r}")
        if panel.get("type") == "row":
            continue
        grid = panel.get("gridPos", {})
        if all(isinstance(grid.get(k), int) for k in "xw") and grid["x"] + grid["w"] > 24:
            problems.append(f"{where}: wider than the 24-column grid")
        if not panel.get("title"):
            problems.append(f"{where}: no title")
        if not panel.get("description"):
            problems.append(f"{where}: no description")
        if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            problems.append(f"{where}: no unit")
        if not panel.get("datasource"):
            problems.append(f"{where}: no datasource")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"{where}: no queries")
        refs = [target.get("refId") for target in targets]
        if len(set(refs)) != len(refs):
            problems.append(f"{where}: duplicate refIds {refs}")
        for target in targets:
            label = f"{where} query {target.get('refId')}"
            expr = target.get("expr", "")
            if not expr.strip():
                problems.append(f"{label}: empty expression")
            if not target.get("datasource"):
                problems.append(f"{label}: no datasource")
            for name in _used_variables(expr) - defined - BUILTIN_VARIABLES:
                problems.append(f"{label}: uses undefined ${name}")
            for name in sorted(_grouping_labels(expr) & set(ID_LABELS)):
                problems.append(f"{label}: groups by the UUID label {name!r}; group by names")
            for name in sorted(set(LEGEND_LABEL_RE.findall(target.get("legendFormat", ""))) & set(ID_LABELS)):
                problems.append(f"{label}: legend shows the UUID label {name!r}; show names")
        for transformation in panel.get("transformations") or []:
            shown = (transformation.get("options") or {}).get("includeByName") or {}
            for name in sorted(set(shown) & set(ID_LABELS)):
                problems.append(f"{where}: table shows the UUID column {name!r}; show names")
    return problems


def validate(dashboard, uid):
    """Every problem the three layers find."""
    return sdk_round_trip(dashboard) + sdk_types(dashboard) + house_rules(dashboard, uid)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    failed = False
    for path in argv:
        with open(path, encoding="utf-8") as handle:
            dashboard = json.load(handle)
        problems = validate(dashboard, dashboard.get("uid"))
        for problem in problems:
            print(f"{path}: {problem}")
        failed = failed or bool(problems)
        if not problems:
            print(f"{path}: valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
