"""Turn promtool test fixtures written in HAProxy 2.4+'s status format into the older one.

HAProxy 2.4 and later export a status as one 0/1 series per state, with a `state`
label (1 for the current state); HAProxy 2.0 to 2.3, on older amphora images,
export one series without that label whose value is the state's number. Octavia's
prometheus-proxy renames both forms alike (octavia_member_status, octavia_pool_status).
The numbers are dashboards.promql.HAPROXY_STATES, the one table the dashboards use.

older_form() rewrites only a test file's input_series, so the alert tests run
unchanged against both formats: the alerts must not be able to tell them apart.
"""
import copy
import re
import sys

from rules_render import REPO

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dashboards import promql  # noqa: E402 - needs the path above

HAPROXY_STATES = promql.HAPROXY_STATES

SERIES_RE = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*\{(.*)\}\s*$", re.S)
LABEL_RE = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)', re.S)
VALUE_RE = re.compile(r"^(?P<start>-?[0-9.]+|_)(?:(?P<sign>[+-])(?P<step>[0-9.]+))?(?:x(?P<times>[0-9]+))?$")


def parse_series(text):
    """Split promtool's `name{a="1", b="2"}` into (name, [(label, raw quoted value), ...]).

    Values keep their escapes, so the series can be written back as it was.
    Raises ValueError for text this parser does not understand.
    """
    match = SERIES_RE.match(text)
    if not match:
        raise ValueError(f"not a series with labels: {text!r}")
    name, body = match.groups()
    labels, position = [], 0
    body = body.strip()
    while position < len(body):
        label = LABEL_RE.match(body, position)
        if not label:
            raise ValueError(f"cannot read the labels of {text!r} at {body[position:]!r}")
        labels.append((label.group(1), label.group(2)))
        position = label.end()
    return name, labels


def expand(values):
    """promtool's value notation (`1 0`, `1x5`, `0+6x10`, `_`, `_x3`) as a list of floats and None (missing).

    Raises ValueError for notation it does not handle (`stale`, for one).
    """
    expanded = []
    for word in str(values).split():
        match = VALUE_RE.match(word)
        if not match:
            raise ValueError(f"unsupported value notation {word!r} in {values!r}")
        times = int(match["times"]) if match["times"] else None
        if match["start"] == "_":
            if match["step"]:
                raise ValueError(f"a missing sample has no step: {word!r}")
            expanded.extend([None] * (times or 1))
            continue
        start = float(match["start"])
        step = float(match["step"] or 0) * (-1 if match["sign"] == "-" else 1)
        expanded.extend(start + step * index for index in range((times or 0) + 1))
    return expanded


def _number(value):
    return "_" if value is None else str(int(value))


def older_series(name, samples_by_state):
    """One older-format value list from {state: [samples]} of one object: the current state's number per step.

    Raises ValueError when a step has no state at 1, or more than one, or a state
    HAProxy does not have for this metric: such a fixture would not be HAProxy's.
    """
    states = HAPROXY_STATES[name]
    unknown = set(samples_by_state) - set(states)
    if unknown:
        raise ValueError(f"{name}: states {sorted(unknown)} are not HAProxy's {states}")
    steps = max(len(samples) for samples in samples_by_state.values())
    numbers = []
    for step in range(steps):
        at_step = {state: samples[step] if step < len(samples) else None
                   for state, samples in samples_by_state.items()}
        if all(value is None for value in at_step.values()):
            numbers.append(None)
            continue
        current = [state for state, value in at_step.items() if value == 1]
        if len(current) != 1 or any(value not in (0, 1) for value in at_step.values()):
            raise ValueError(f"{name}: step {step} has {at_step}, not exactly one state at 1")
        numbers.append(states.index(current[0]))
    return " ".join(_number(value) for value in numbers)


def older_input_series(input_series):
    """input_series with every status state set replaced by one numeric series per object, in place of its first."""
    groups, order = {}, []
    for index, entry in enumerate(input_series):
        name, labels = parse_series(entry["series"])
        state = dict(labels).get("state")
        if name not in HAPROXY_STATES or state is None:
            order.append(("keep", index))
            continue
        key = (name, tuple(label for label in labels if label[0] != "state"))
        if key not in groups:
            groups[key] = {}
            order.append(("group", key))
        if state in groups[key]:
            raise ValueError(f"{entry['series']!r}: state {state} given twice")
        groups[key][state] = expand(entry["values"])
    converted = []
    for kind, what in order:
        if kind == "keep":
            converted.append(copy.deepcopy(input_series[what]))
            continue
        name, labels = what
        series = name + "{" + ",".join(f'{label}="{value}"' for label, value in labels) + "}"
        converted.append({"series": series, "values": older_series(name, groups[what])})
    return converted


def older_form(test_file):
    """A copy of a promtool test file (a dict) whose input series use the pre-2.4 status format."""
    converted = copy.deepcopy(test_file)
    for test in converted["tests"]:
        test["input_series"] = older_input_series(test.get("input_series", []))
    return converted
