"""From snapshots to Prometheus: metric families and HTTP service discovery groups.

Pure: takes the snapshot dicts ``collect.read`` returns (one per source, the last
completed cycle of each) and builds what ``/metrics`` and ``/sd/prometheus`` serve.
Nothing here calls the API, so a scrape never does.
"""

from datetime import datetime, timezone

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._select import (
    listeners_by_lb,
    parent_lb_id,
    prometheus_listeners,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._stats import STATS_METRICS, sum_stats
from ansible_collections.octavia.monitoring.plugins.module_utils._targets import (
    lb_summary,
    merge_labels,
    scrape_items,
)

PREFIX = "openstack_octavia_api"

# Every value Octavia 19 sets (octavia.common.constants); a value outside these still
# gets its series, so the current state always has a 1.
PROVISIONING_STATUSES = ("ACTIVE", "DELETED", "ERROR", "PENDING_CREATE", "PENDING_UPDATE",
                         "PENDING_DELETE")
OPERATING_STATUSES = ("ONLINE", "DRAINING", "OFFLINE", "DEGRADED", "ERROR", "NO_MONITOR")
AMPHORA_STATUSES = ("BOOTING", "ALLOCATED", "READY", "PENDING_CREATE", "PENDING_DELETE",
                    "DELETED", "ERROR", "FAILOVER_STOPPED")

QUOTA_RESOURCES = ("load_balancers", "listeners", "pools", "health_monitors", "members")
# Octavia's quota key -> the resource label value (singular, as Octavia's quota API names them).
QUOTA_LABEL = dict(load_balancers="loadbalancer", listeners="listener", pools="pool",
                   health_monitors="healthmonitor", members="member")


def _s(value):
    return "" if value is None else str(value)


class _Families:
    """Metric families by name, created on first use, in a stable order."""

    def __init__(self):
        self._families = {}

    def gauge(self, name, doc, labels):
        key = f"{PREFIX}_{name}"
        if key not in self._families:
            self._families[key] = GaugeMetricFamily(key, doc, labels=labels)
        return self._families[key]

    def counter(self, name, doc, labels):
        # prometheus_client appends _total itself; the name is given without it.
        key = f"{PREFIX}_{name}"
        if key not in self._families:
            self._families[key] = CounterMetricFamily(key, doc, labels=labels)
        return self._families[key]

    def all(self):
        return list(self._families.values())


def _state_set(fam, name, what, id_labels, ids, current, states):
    family = fam.gauge(name, f"{what}: 1 for the current value of status, 0 for the others.",
                       list(id_labels) + ["status"])
    values = list(states) if current in states or not current else list(states) + [current]
    for value in values:
        family.add_metric(list(ids) + [value], 1 if value == current else 0)


def object_families(snapshots):
    """The families of the Octavia objects, statistics and quotas of every snapshot.

    An object seen by two sources (overlapping scopes) is exported once, from the first.

    :param snapshots: list of snapshot dicts, in the order of the configured sources.
    :returns: list of prometheus_client metric families.
    """
    fam = _Families()
    seen = set()
    for snap in snapshots:
        cloud, region = _s(snap.get("cloud")), _s(snap.get("region"))
        lbs = {}
        for lb in snap["load_balancers"]:
            if ("lb", lb["id"]) in seen:
                continue
            seen.add(("lb", lb["id"]))
            lbs[lb["id"]] = lb
            fam.gauge("loadbalancer_info", "Load balancer names and attributes (value 1).",
                      ["loadbalancer_id", "loadbalancer_name", "project_id", "vip_address",
                       "vip_port_id", "provider", "flavor_id", "availability_zone", "cloud",
                       "region", "source"]).add_metric(
                [lb["id"], _s(lb.get("name")) or lb["id"], _s(lb.get("project_id")),
                 _s(lb.get("vip_address")), _s(lb.get("vip_port_id")), _s(lb.get("provider")),
                 _s(lb.get("flavor_id")), _s(lb.get("availability_zone")), cloud, region,
                 snap["source"]], 1)
            ids = ["loadbalancer_id"], [lb["id"]]
            _state_set(fam, "loadbalancer_provisioning_status", "Load balancer provisioning status",
                       *ids, lb.get("provisioning_status"), PROVISIONING_STATUSES)
            _state_set(fam, "loadbalancer_operating_status", "Load balancer operating status",
                       *ids, lb.get("operating_status"), OPERATING_STATUSES)
            fam.gauge("loadbalancer_admin_state_up", "1 when the load balancer is administratively up.",
                      ["loadbalancer_id"]).add_metric([lb["id"]], 1 if lb.get("admin_state_up") else 0)
            by_lb = listeners_by_lb(snap["listeners"]).get(lb["id"], [])
            fam.gauge("loadbalancer_prometheus_listeners",
                      "PROMETHEUS listeners of the load balancer (0: its amphora metrics are not "
                      "scraped).", ["loadbalancer_id", "provider"]).add_metric(
                [lb["id"], _s(lb.get("provider"))], len(prometheus_listeners(by_lb)))

        listener_stats = []
        for lst in snap["listeners"]:
            lb = lbs.get(parent_lb_id(lst))
            if lb is None or ("listener", lst["id"]) in seen:
                continue
            seen.add(("listener", lst["id"]))
            fam.gauge("listener_info", "Listener names and attributes (value 1).",
                      ["listener_id", "listener_name", "protocol", "protocol_port",
                       "loadbalancer_id", "project_id", "cloud", "region"]).add_metric(
                [lst["id"], _s(lst.get("name")) or lst["id"], _s(lst.get("protocol")),
                 _s(lst.get("protocol_port")), lb["id"], _s(lst.get("project_id")), cloud, region], 1)
            ids = ["listener_id", "loadbalancer_id"], [lst["id"], lb["id"]]
            _state_set(fam, "listener_provisioning_status", "Listener provisioning status", *ids,
                       lst.get("provisioning_status"), PROVISIONING_STATUSES)
            _state_set(fam, "listener_operating_status", "Listener operating status", *ids,
                       lst.get("operating_status"), OPERATING_STATUSES)
            if lst["id"] in snap["stats"]:
                listener_stats.append((lb, lst, snap["stats"][lst["id"]]))

        for pool in snap["pools"]:
            lb_id = parent_lb_id(pool)
            if lb_id not in lbs or ("pool", pool["id"]) in seen:
                continue
            seen.add(("pool", pool["id"]))
            fam.gauge("pool_info", "Pool names and attributes (value 1).",
                      ["pool_id", "pool_name", "protocol", "lb_algorithm", "loadbalancer_id",
                       "project_id", "cloud", "region"]).add_metric(
                [pool["id"], _s(pool.get("name")) or pool["id"], _s(pool.get("protocol")),
                 _s(pool.get("lb_algorithm")), lb_id, _s(pool.get("project_id")), cloud, region], 1)
            ids = ["pool_id", "loadbalancer_id"], [pool["id"], lb_id]
            _state_set(fam, "pool_provisioning_status", "Pool provisioning status", *ids,
                       pool.get("provisioning_status"), PROVISIONING_STATUSES)
            _state_set(fam, "pool_operating_status", "Pool operating status", *ids,
                       pool.get("operating_status"), OPERATING_STATUSES)

        for member in snap["members"] or []:
            if member.get("loadbalancer_id") not in lbs or ("member", member["id"]) in seen:
                continue
            seen.add(("member", member["id"]))
            fam.gauge("member_info", "Member names and addresses (value 1).",
                      ["member_id", "member_name", "member_address", "member_port", "pool_id",
                       "loadbalancer_id", "cloud", "region"]).add_metric(
                [member["id"], _s(member.get("name")) or member["id"], _s(member.get("address")),
                 _s(member.get("protocol_port")), _s(member.get("pool_id")),
                 member["loadbalancer_id"], cloud, region], 1)
            ids = ["member_id", "pool_id", "loadbalancer_id"], [
                member["id"], _s(member.get("pool_id")), member["loadbalancer_id"]]
            _state_set(fam, "member_provisioning_status", "Member provisioning status", *ids,
                       member.get("provisioning_status"), PROVISIONING_STATUSES)
            _state_set(fam, "member_operating_status", "Member operating status", *ids,
                       member.get("operating_status"), OPERATING_STATUSES)

        pool_lb = {p["id"]: parent_lb_id(p) for p in snap["pools"]}
        for hm in snap["healthmonitors"]:
            pools = [p.get("id") for p in hm.get("pools") or []]
            lb_id = next((pool_lb.get(p) for p in pools if pool_lb.get(p) in lbs), None)
            if lb_id is None or ("hm", hm["id"]) in seen:
                continue
            seen.add(("hm", hm["id"]))
            fam.gauge("healthmonitor_info", "Health monitor names and attributes (value 1).",
                      ["healthmonitor_id", "healthmonitor_name", "type", "pool_id",
                       "loadbalancer_id", "cloud", "region"]).add_metric(
                [hm["id"], _s(hm.get("name")) or hm["id"], _s(hm.get("type")), _s(pools[0]),
                 lb_id, cloud, region], 1)
            ids = ["healthmonitor_id", "loadbalancer_id"], [hm["id"], lb_id]
            _state_set(fam, "healthmonitor_provisioning_status", "Health monitor provisioning status",
                       *ids, hm.get("provisioning_status"), PROVISIONING_STATUSES)
            _state_set(fam, "healthmonitor_operating_status", "Health monitor operating status",
                       *ids, hm.get("operating_status"), OPERATING_STATUSES)

        for amp in snap["amphorae"] or []:
            if ("amphora", amp["id"]) in seen:
                continue
            seen.add(("amphora", amp["id"]))
            fam.gauge("amphora_info", "Amphora attributes (value 1).",
                      ["amphora_id", "loadbalancer_id", "role", "compute_id", "lb_network_ip",
                       "cloud", "region"]).add_metric(
                [amp["id"], _s(amp.get("loadbalancer_id")), _s(amp.get("role")),
                 _s(amp.get("compute_id")), _s(amp.get("lb_network_ip")), cloud, region], 1)
            _state_set(fam, "amphora_status", "Amphora status", ["amphora_id", "loadbalancer_id"],
                       [amp["id"], _s(amp.get("loadbalancer_id"))], amp.get("status"),
                       AMPHORA_STATUSES)
            expiry = cert_expiry_seconds(amp.get("cert_expiration"))
            if expiry is not None:
                fam.gauge("amphora_cert_expiration_timestamp_seconds",
                          "When the amphora's agent certificate expires (Unix time).",
                          ["amphora_id", "loadbalancer_id"]).add_metric(
                    [amp["id"], _s(amp.get("loadbalancer_id"))], expiry)

        _stats_families(fam, listener_stats)
        _quota_families(fam, snap, seen)
    return fam.all()


def _stats_families(fam, listener_stats):
    """Listener statistics, and their sums per load balancer, with the textfile's labels."""
    per_lb = {}
    for lb, lst, stats in listener_stats:
        labels = [lb["id"], _s(lb.get("name")), _s(lb.get("project_id")), lst["id"],
                  _s(lst.get("name")), _s(lst.get("protocol")), _s(lst.get("protocol_port"))]
        per_lb.setdefault(lb["id"], (lb, []))[1].append(stats)
        _add_stats(fam, "listener", "Listener", ["loadbalancer_id", "loadbalancer_name", "project_id",
                                                 "listener_id", "listener_name", "protocol",
                                                 "protocol_port"], labels, stats)
    for lb, items in per_lb.values():
        _add_stats(fam, "loadbalancer", "Load balancer (sum of its listeners)",
                   ["loadbalancer_id", "loadbalancer_name", "project_id"],
                   [lb["id"], _s(lb.get("name")), _s(lb.get("project_id"))], sum_stats(items))


def _add_stats(fam, scope, what, label_names, labels, stats):
    for field, suffix, mtype, help_text in STATS_METRICS:
        if mtype == "counter":
            family = fam.counter(f"{scope}_{suffix[:-len('_total')]}", f"{what}: {help_text}",
                                 label_names)
        else:
            family = fam.gauge(f"{scope}_{suffix}", f"{what}: {help_text}", label_names)
        family.add_metric(labels, stats[field])


def _quota_families(fam, snap, seen):
    for project, quota in sorted((snap.get("quotas") or {}).items()):
        if ("quota", project) in seen:
            continue
        seen.add(("quota", project))
        used = (snap.get("usage") or {}).get(project, {})
        for key in QUOTA_RESOURCES:
            if quota.get(key) is None:
                continue
            labels = [project, QUOTA_LABEL[key]]
            fam.gauge("quota_limit", "Octavia quota of the project (-1: unlimited).",
                      ["project_id", "resource"]).add_metric(labels, int(quota[key]))
            if key in used:
                fam.gauge("quota_usage", "Objects of the project that count against the quota.",
                          ["project_id", "resource"]).add_metric(labels, used[key])


def cert_expiry_seconds(value):
    """An amphora's ``cert_expiration`` (ISO 8601, UTC when no zone is given) as Unix time, or ``None``."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def sd_groups(snapshots, address_of):
    """The HTTP service discovery answer: one group per PROMETHEUS listener.

    Built by ``_targets.scrape_items``, the builder of the file_sd targets, so the
    address choice and the labels are the same. Labels with empty values are left out
    (to Prometheus an empty label is no label), the source's ``labels`` win over the
    target's; a listener seen by two sources is listed once; groups are sorted by target.

    :param address_of: callable ``source name -> address choice`` (vip, floating_ip, auto).
    :returns: ``(groups, problems)``; ``problems`` lists ``(source, message)`` for load
        balancers whose address cannot be chosen (``floating_ip`` without one).
    """
    groups, problems, seen = [], [], set()
    for snap in snapshots:
        by_lb = listeners_by_lb(snap["listeners"])
        for lb in snap["load_balancers"]:
            listeners = by_lb.get(lb["id"], [])
            fip = snap.get("floating_ips", {}).get(lb.get("vip_port_id"))
            try:
                items = scrape_items(lb_summary(lb, fip), listeners, snap.get("cloud") or None,
                                     snap.get("region") or None, address_of(snap["source"]))
            except PlanError as exc:
                problems.append((snap["source"], str(exc)))
                continue
            for item in items:
                if item["listener"]["id"] in seen:
                    continue
                seen.add(item["listener"]["id"])
                labels = merge_labels([item["labels"], snap.get("labels")])
                groups.append(dict(targets=[item["scrape_target"]], labels=labels))
    groups.sort(key=lambda g: (g["targets"][0], g["labels"]["listener_id"]))
    return groups, problems


def self_families(sources_state, cycles, build_version):
    """The exporter's own health series.

    :param sources_state: list of dicts with ``name``, ``cloud``, ``region``, ``up``
        (bool), ``last_success`` (Unix time or ``None``), ``duration`` (seconds of
        the last cycle or ``None``), ``requests`` (total so far), ``errors`` (kind ->
        count), ``amphorae_visible`` (bool or ``None``) and ``targets`` (SD targets).
    :param cycles: completed cycles so far.
    """
    fam = _Families()
    fam.gauge("exporter_build_info", "The exporter's version (value 1).", ["version"]).add_metric(
        [build_version], 1)
    fam.counter("exporter_cycles", "Collection cycles completed.", []).add_metric([], cycles)
    for st in sources_state:
        src = [st["name"], _s(st.get("cloud")), _s(st.get("region"))]
        names = ["source", "cloud", "region"]
        fam.gauge("source_up", "1 when the last cycle read the source completely, else 0 (the "
                  "series of the source then keep their last values).", names).add_metric(
            src, 1 if st["up"] else 0)
        if st.get("last_success") is not None:
            fam.gauge("source_last_success_timestamp_seconds",
                      "When a cycle last read the source completely (Unix time).",
                      names).add_metric(src, st["last_success"])
        if st.get("duration") is not None:
            fam.gauge("source_cycle_duration_seconds", "How long the last cycle of the source took.",
                      names).add_metric(src, st["duration"])
        fam.counter("source_requests", "HTTP requests the exporter made to the API of the source.",
                    names).add_metric(src, st.get("requests", 0))
        errors = fam.counter("source_errors", "Failed cycles of the source by kind of fault.",
                             names + ["kind"])
        for kind, count in sorted(st.get("errors", {}).items()):
            errors.add_metric(src + [kind], count)
        if st.get("amphorae_visible") is not None:
            fam.gauge("source_amphorae_visible", "1 when the credential may list amphorae.",
                      names).add_metric(src, 1 if st["amphorae_visible"] else 0)
        fam.gauge("source_sd_targets", "Scrape targets the source contributes to the HTTP SD.",
                  names).add_metric(src, st.get("targets", 0))
    return fam.all()
