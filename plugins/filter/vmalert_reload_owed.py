# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Whether vmalert runs the rule files on disk, for the octavia_vmalert role.

Its documentation lives beside it in ``vmalert_reload_owed.yml``.
"""

import base64
import re

import yaml

_DURATION_RE = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _seconds(duration):
    """A Prometheus duration ('1h30m', '5m', 0 or missing) in seconds."""
    if not duration:
        return 0.0
    if isinstance(duration, (int, float)):
        return float(duration)
    return float(sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_RE.findall(str(duration))))


def _on_disk(text):
    """{group name: [(rule name, expr, for seconds)]} of one rule file's text."""
    doc = yaml.safe_load(text) or {}
    return {
        group["name"]: [(rule.get("alert") or rule.get("record"), str(rule["expr"]).strip(), _seconds(rule.get("for")))
                        for rule in group.get("rules") or []]
        for group in doc.get("groups") or []
        # An empty group evaluates nothing; whether vmalert lists it does not matter.
        if group.get("rules")
    }


def _loaded(group):
    return [(rule["name"], str(rule.get("query", "")).strip(), float(rule.get("duration") or 0))
            for rule in group.get("rules") or []]


def vmalert_reload_owed(groups, files):
    """Return why vmalert does not run the rule files on disk; an empty list when it does.

    :param groups: ``data.groups`` of vmalert's ``GET /api/v1/rules``: each
        group has ``name``, ``file`` and ``rules`` (``name``, ``query``,
        ``duration`` in seconds).
    :param files: the rule files vmalert should run, as dicts with ``path``
        and ``content`` (the text), or the results of ``ansible.builtin.slurp``
        (``source``, ``content`` and ``encoding: base64``). A file that should
        no longer be loaded is simply not in this list.
    :returns: one sentence per difference, sorted: a file or group vmalert
        lacks, one it still runs, or a group whose rules (names, expressions,
        ``for``) differ.
    """
    want = {}
    for item in files or []:
        text = item["content"]
        if item.get("encoding") == "base64":
            text = base64.b64decode(text).decode()
        want[item.get("path") or item["source"]] = _on_disk(text)
    have = {}
    for group in groups or []:
        if not group.get("rules"):
            continue
        have.setdefault(group.get("file", ""), {})[group["name"]] = _loaded(group)
    reasons = []
    for path in sorted(set(want) | set(have)):
        if path not in have:
            if want[path]:
                reasons.append(f"vmalert has not loaded {path}.")
            continue
        if path not in want:
            reasons.append(f"vmalert still runs {path}, which is gone.")
            continue
        for name in sorted(set(want[path]) | set(have[path])):
            if name not in have[path]:
                reasons.append(f"vmalert has not loaded group {name} of {path}.")
            elif name not in want[path]:
                reasons.append(f"vmalert still runs group {name}, which {path} no longer has.")
            elif want[path][name] != have[path][name]:
                reasons.append(f"vmalert runs other rules in group {name} of {path} than the file holds.")
    return reasons


class FilterModule:
    """The octavia_vmalert role's owed reloads."""

    def filters(self):
        return {"vmalert_reload_owed": vmalert_reload_owed}
