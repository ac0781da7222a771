# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Statistics items and totals (lb_stats_info). Pure: plain dicts in and out."""

from ansible_collections.octavia.monitoring.plugins.module_utils._select import parent_lb_id

STATS_KEYS = ("active_connections", "bytes_in", "bytes_out", "request_errors",
              "total_connections")
# (stats field, metric suffix, type, HELP text) of the statistics as Prometheus series: the
# textfile of the stats playbook and the exporter both name them from this table. The
# suffixes follow the amphora's own octavia_listener_* names (bytes_in_total,
# request_errors_total) so that a dashboard author recognises them; the namespace
# (openstack_octavia_api_ by default) differs so that the two sources never collide.
STATS_METRICS = (
    ("active_connections", "active_connections", "gauge",
     "Connections currently open, as reported by the Octavia statistics API."),
    ("total_connections", "connections_total", "counter",
     "Connections handled since the object was created, as reported by the Octavia statistics API."),
    ("bytes_in", "bytes_in_total", "counter",
     "Bytes received, as reported by the Octavia statistics API."),
    ("bytes_out", "bytes_out_total", "counter",
     "Bytes sent, as reported by the Octavia statistics API."),
    ("request_errors", "request_errors_total", "counter",
     "Requests that failed or were denied, as reported by the Octavia statistics API."),
)
LB_STATS_KEYS = ("id", "name", "project_id", "vip_address", "provider", "provisioning_status",
                 "operating_status")


def stats_fields(stats):
    """The five statistics of an API answer as integers (missing ones are 0)."""
    return {k: int((stats or {}).get(k) or 0) for k in STATS_KEYS}


def sum_stats(items):
    """Sum the five statistics over a list of ``stats_fields()`` dicts."""
    return {k: sum(item[k] for item in items) for k in STATS_KEYS}


def lb_stats_item(lb, stats, listeners=None):
    """One item of lb_stats_info's ``load_balancers``.

    :param listeners: ``None`` (not requested) or a list of ``(listener dict,
        stats dict)`` pairs, reported sorted by protocol port then ID.
    """
    item = {k: lb.get(k) for k in LB_STATS_KEYS}
    item["stats"] = stats_fields(stats)
    if listeners is not None:
        item["listeners"] = [
            dict(id=lst["id"], name=lst.get("name") or "", protocol=lst.get("protocol"),
                 protocol_port=lst.get("protocol_port"), stats=stats_fields(st))
            for lst, st in sorted(listeners, key=lambda p: (p[0].get("protocol_port") or 0,
                                                            p[0]["id"]))]
    return item


def stats_report(lbs, listeners, stats):
    """Assemble lb_stats_info's result from what was fetched.

    :param lbs: the load balancer dicts in scope, in the order to report.
    :param listeners: listener dicts to report under their load balancer, or
        ``None`` when listeners were not asked for.
    :param stats: object ID -> statistics dict; an object missing here was
        deleted while the statistics were read and is left out.
    :returns: ``(load_balancers, totals)``.
    """
    items = []
    for lb in lbs:
        if lb["id"] not in stats:
            continue
        pairs = None
        if listeners is not None:
            pairs = [(x, stats[x["id"]]) for x in listeners
                     if parent_lb_id(x) == lb["id"] and x["id"] in stats]
        items.append(lb_stats_item(lb, stats[lb["id"]], pairs))
    return items, sum_stats([item["stats"] for item in items])
