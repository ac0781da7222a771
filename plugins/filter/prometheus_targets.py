# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The octavia_prometheus role's targets: discovered and listed ones, merged, labelled, de-duplicated.

Its documentation lives beside it in ``prometheus_targets.yml``.
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._targets import merge_labels


def _entries(discovery, targets):
    """(target, its source) pairs: the listed targets first (no source), then each source's findings."""
    for target in targets or []:
        yield target, {}
    for result in (discovery or {}).get("results") or []:
        source = result.get("item") or {}
        for target in result.get("prometheus_listeners") or []:
            yield target, source


def prometheus_targets(discovery, targets=None, target_labels=None):
    """Combine discovery results and explicit targets into the items and the file_sd list.

    :param discovery: the registered result of the role's looped
        ``lb_prometheus_listener_info`` task (``{"results": [...]}``, each
        result with its ``item``, the source); a skipped task or ``None``
        stands for no discovery.
    :param targets: explicit targets, in the module's item shape.
    :param target_labels: labels for every target; the target's own labels
        win over them, and a source's ``labels`` over both. A source's ``tls``
        (a TLS profile) goes onto each of its targets.
    :returns: ``{"targets": [{scrape_target, labels, catalog?, scheme?, tls?,
        client_auth?}], "file_sd":
        [{targets: [scrape_target], labels}]}``, sorted by scrape target. A
        target found twice (overlapping sources) is kept once, the first time,
        keyed by its PROMETHEUS listener ID (or its scrape target without one).
    """
    seen = set()
    items = []
    for target, source in _entries(discovery, targets):
        labels = merge_labels([target_labels, target.get("labels"), source.get("labels") or {}])
        key = labels.get("listener_id") or target["scrape_target"]
        if key in seen:
            continue
        seen.add(key)
        # An explicit target says scheme: https; a discovered one carries __scheme__ already.
        if target.get("scheme") == "https":
            labels["__scheme__"] = "https"
        item = {"scrape_target": target["scrape_target"], "labels": labels}
        if labels.get("__scheme__") == "https":
            item["scheme"] = "https"
        for key in ("catalog", "tls", "client_auth"):
            if target.get(key):
                item[key] = target[key]
        if source.get("tls") and "tls" not in item:
            item["tls"] = source["tls"]
        items.append(item)
    items.sort(key=lambda item: item["scrape_target"])
    return {"targets": items,
            "file_sd": [{"targets": [item["scrape_target"]], "labels": item["labels"]} for item in items]}


class FilterModule:
    """The octavia_prometheus role's target merge."""

    def filters(self):
        return {"prometheus_targets": prometheus_targets}
