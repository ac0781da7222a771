# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The name catalogue rule file of the octavia_prometheus role (design and queries: docs/names.md).

One recording rule, and so one series, per listener, pool (per listener that
uses it) and member. Its documentation lives beside it in ``prometheus_catalog.yml``.
"""

# Labels of the load balancer copied onto every catalogue series, where known.
_SCOPE_LABELS = ("cloud", "region", "project_id")


def _common(labels):
    """The load balancer's labels every series of its catalogue carries."""
    out = {key: str(labels[key]) for key in _SCOPE_LABELS if labels.get(key) not in (None, "")}
    out["loadbalancer_id"] = str(labels["loadbalancer_id"])
    out["loadbalancer_name"] = str(labels.get("loadbalancer_name") or labels["loadbalancer_id"])
    return out


def _rule(record, labels, common):
    return {"record": record, "expr": "vector(1)", "labels": {**labels, **common}}


def _named(obj):
    """An object's name, or its ID when it has none: a catalogue name is never empty."""
    return str(obj.get("name") or obj["id"])


def _by_id(objects):
    return sorted(objects or [], key=lambda obj: obj["id"])


def _rules(catalog, common):
    listeners = _by_id(catalog.get("listeners"))
    pools = _by_id(catalog.get("pools"))
    listener_names = {item["id"]: _named(item) for item in listeners}
    pool_names = {item["id"]: _named(item) for item in pools}
    rules = [_rule("octavia_listener_info", {
        "listener": str(item["id"]), "listener_name": _named(item),
        "protocol": str(item.get("protocol")), "protocol_port": str(item.get("protocol_port")),
    }, common) for item in listeners]
    for pool in pools:
        # haproxy runs one backend per (pool, listener) pair, so the metrics
        # label pools "<pool>:<listener>": one series per listener of the pool.
        used_by = pool.get("listener_ids") or ([pool["listener_id"]] if pool.get("listener_id") else [])
        for listener_id in sorted(set(used_by)):
            rules.append(_rule("octavia_pool_info", {
                "pool": f"{pool['id']}:{listener_id}", "pool_id": str(pool["id"]), "pool_name": _named(pool),
                "protocol": str(pool.get("protocol")), "lb_algorithm": str(pool.get("lb_algorithm")),
                "listener": str(listener_id), "listener_name": listener_names.get(listener_id, str(listener_id)),
            }, common))
    for member in _by_id(catalog.get("members")):
        rules.append(_rule("octavia_member_info", {
            "member": str(member["id"]), "member_name": _named(member),
            "member_address": str(member.get("address")), "member_port": str(member.get("protocol_port")),
            "pool_id": str(member.get("pool_id")),
            "pool_name": pool_names.get(member.get("pool_id"), str(member.get("pool_id"))),
        }, common))
    return rules


def prometheus_catalog(targets, interval="1m"):
    """Build the catalogue rule file from the role's merged targets.

    :param targets: the ``targets`` of ``prometheus_targets``; only items with
        a non-empty ``catalog`` and a ``loadbalancer_id`` label count. A load
        balancer found through several PROMETHEUS listeners is named once, from
        its first item.
    :param interval: evaluation interval of every group.
    :returns: ``{"groups": [...]}``, one group per load balancer, sorted by
        load balancer ID, with every object sorted by ID, so an unchanged fleet
        gives the same document whatever order the API answered in.
    """
    first = {}
    for item in targets or []:
        labels = item.get("labels") or {}
        catalog = item.get("catalog") or {}
        lb_id = labels.get("loadbalancer_id")
        if not lb_id or not any(catalog.get(key) for key in ("listeners", "pools", "members")):
            continue
        first.setdefault(str(lb_id), item)
    groups = []
    for lb_id in sorted(first):
        item = first[lb_id]
        groups.append({"name": f"octavia-names-{lb_id}", "interval": interval,
                       "rules": _rules(item["catalog"], _common(item["labels"]))})
    return {"groups": groups}


class FilterModule:
    """The octavia_prometheus role's name catalogue."""

    def filters(self):
        return {"prometheus_catalog": prometheus_catalog}
