# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Which kinds of Grafana provisioning the octavia_grafana role still has to reload.

Its documentation lives beside it in ``grafana_reload_owed.yml``.
"""


def _mtime(result):
    stat = result.get("stat") or {}
    return float(stat["mtime"]) if stat.get("exists") else None


def grafana_reload_owed(stats, changed=()):
    """Return the kinds whose files are newer than their last reload, or that changed in this run.

    :param stats: the registered results of a looped ``ansible.builtin.stat``
        whose loop items are ``{kind, path, stamp}``: for each kind
        (``datasources``, ``dashboards``) the files and directories Grafana
        reads, and one item with ``stamp: true``, the file the role touches
        after each successful reload of that kind. A directory counts, because
        its mtime moves when a file in it is added, replaced or removed.
    :param changed: kinds whose files this run changed (in check mode, would change).
    :returns: the owed kinds, sorted. A kind without a stamp is owed when any
        of its files exists: no reload is known to have read them.
    """
    kinds = {}
    for result in (stats or {}).get("results") or []:
        item = result.get("item") or {}
        entry = kinds.setdefault(item["kind"], {"stamp": None, "newest": None})
        mtime = _mtime(result)
        if item.get("stamp"):
            entry["stamp"] = mtime
        elif mtime is not None:
            entry["newest"] = mtime if entry["newest"] is None else max(entry["newest"], mtime)
    owed = set(changed or ())
    for kind, entry in kinds.items():
        if entry["newest"] is not None and (entry["stamp"] is None or entry["newest"] > entry["stamp"]):
            owed.add(kind)
    return sorted(owed)


class FilterModule:
    """The octavia_grafana role's owed reloads."""

    def filters(self):
        return {"grafana_reload_owed": grafana_reload_owed}
