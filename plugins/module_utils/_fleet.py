# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Fleet-wide work: one read of a cloud, selection, host naming, per-LB plans and writes.

Used by the inventory plugin ``octavia.monitoring.loadbalancers`` and by the
module ``lb_prometheus_listener_fleet``. The first half is pure (plain dicts
in and out, unit tested in tests/unit/plugins/module_utils/test__fleet.py);
the second half talks to the API only through ``_octavia`` (its listings, its
one wait and its retried ``write``), and plans only with ``_compare``, the
code lb_prometheus_listener uses, so one load balancer is planned and written
the same way whichever module handles it.
"""

import fnmatch
import time

from ansible_collections.octavia.monitoring.plugins.module_utils._base import OctaviaError, to_plain
from ansible_collections.octavia.monitoring.plugins.module_utils._compare import (
    LISTENER_KEYS,
    PROVIDERS_WITHOUT_PROMETHEUS,
    PlanError,
    check_api_versions,
    check_cidr_family,
    check_port_free,
    desired,
    lb_summary,
    listener_fault_translator,
    parent_lb_id,
    plan_listener,
    prometheus_listeners,
    scrape_host,
    scrape_target,
    select_by_name_or_id,
    select_listener,
    target_labels,
    unsupported_provider_message,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import (
    Deadline,
    api_versions,
    describe,
    floating_ips_by_port,
    list_listeners,
    list_load_balancers,
    map_bounded,
    wait_lb_idle,
    write,
)

# Where a load balancer whose provider has no PROMETHEUS listener gets its
# figures into Prometheus instead: Octavia's statistics API, written by the
# stats playbook as a node_exporter textfile.
STATS_EXPOSITION_HINT = (
    "its statistics can still reach Prometheus through the stats playbook's exposition: "
    "ansible-playbook octavia.monitoring.stats -e octavia_stats_exposition_path="
    "<node_exporter textfile directory>/octavia_api_stats.prom")

# The listener attributes an inventory host carries for each of its listeners.
LISTENER_SUMMARY_KEYS = ("id", "name", "protocol", "protocol_port", "allowed_cidrs",
                         "connection_limit", "is_admin_state_up", "provisioning_status",
                         "operating_status", "tags")

# Load balancer states in which Octavia refuses every write for good (not a
# transient PENDING_*): check mode reports them as the real run would.
TERMINAL_STATES = ("ERROR", "PENDING_DELETE", "DELETED")

FILTER_KEYS = ("project_ids", "tags", "name_pattern", "providers", "provisioning_statuses")


# ---------------------------------------------------------------------------
# Pure: filters, grouping, host names, host variables
# ---------------------------------------------------------------------------

def normalise_filters(filters):
    """Return the fleet filters with empty values removed.

    :param filters: dict with any of ``FILTER_KEYS``; ``None``, ``""`` and
        ``[]`` mean "no filter".
    :returns: a new dict holding only the filters that restrict something.
    :raises PlanError: an unknown filter key.
    """
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise PlanError("Unknown load balancer filter %s; the filters are %s."
                        % (", ".join(unknown), ", ".join(FILTER_KEYS)))
    return dict((k, v) for k, v in filters.items() if v not in (None, "", [], ()))


def server_side_query(filters):
    """The part of the filters Octavia applies itself in the listing request.

    Octavia filters on one ``project_id`` and on a set of tags that must all
    be present; several projects are filtered here instead (one listing
    still serves them all).

    :returns: dict with ``project_id`` and ``tags`` (each possibly ``None``).
    """
    projects = filters.get("project_ids") or []
    return dict(project_id=projects[0] if len(projects) == 1 else None,
                tags=list(filters.get("tags") or []) or None)


def lb_matches(lb, filters):
    """True when a load balancer dict passes every filter of ``normalise_filters()``.

    ``name_pattern`` is a shell-style pattern (``web-*``, ``db-?``), matched
    case-sensitively against the whole name; ``providers`` and
    ``provisioning_statuses`` compare case-insensitively; ``tags`` must all be
    present.
    """
    if filters.get("project_ids") and lb.get("project_id") not in filters["project_ids"]:
        return False
    if filters.get("tags") and not set(filters["tags"]) <= set(lb.get("tags") or []):
        return False
    if filters.get("name_pattern") and not fnmatch.fnmatchcase(lb.get("name") or "",
                                                               filters["name_pattern"]):
        return False
    if filters.get("providers") and (lb.get("provider") or "").lower() not in \
            set(p.lower() for p in filters["providers"]):
        return False
    if filters.get("provisioning_statuses") and (lb.get("provisioning_status") or "").upper() not in \
            set(s.upper() for s in filters["provisioning_statuses"]):
        return False
    return True


def listeners_by_lb(listeners):
    """Group listener dicts by the ID of their load balancer.

    :returns: dict load balancer ID -> list of its listeners, sorted by port then ID.
    """
    grouped = {}
    for item in listeners:
        grouped.setdefault(parent_lb_id(item), []).append(item)
    for items in grouped.values():
        items.sort(key=lambda x: (x.get("protocol_port") or 0, x["id"]))
    return grouped


def host_names(records):
    """Give every load balancer an inventory host name.

    The rule, stable as load balancers are added:

    - the host name is the load balancer's name;
    - a load balancer without a name is named by its ID;
    - when several load balancers (in any of the clouds and regions read)
      share a name, the oldest (``created_at``, then cloud, region and ID)
      keeps the plain name and each other one becomes
      ``<name>_<first 8 characters of its ID>``, or ``<name>_<ID>`` if that is
      taken too (then ``<name>_<ID>_2`` and so on). A newly created namesake
      therefore never renames an existing host.

    :param records: dicts with ``id``, ``name``, ``created_at``, ``cloud`` and
        ``region``.
    :returns: list of host names, in the order of ``records``.
    """
    def age(index):
        rec = records[index]
        return (rec.get("created_at") or "", rec.get("cloud") or "", rec.get("region") or "", rec["id"])

    names = [None] * len(records)
    by_name = {}
    for index, rec in enumerate(records):
        by_name.setdefault(rec.get("name") or rec["id"], []).append(index)
    taken = set(by_name)
    for name, indexes in by_name.items():
        ordered = sorted(indexes, key=age)
        names[ordered[0]] = name
        for index in ordered[1:]:
            ident = records[index]["id"]
            candidate = "%s_%s" % (name, ident[:8])
            if candidate in taken:
                candidate = "%s_%s" % (name, ident)
            number = 2
            while candidate in taken:
                # Only the same load balancer seen through two regions of one endpoint
                # gets this far; the order above keeps the numbering stable.
                candidate = "%s_%s_%d" % (name, ident, number)
                number += 1
            taken.add(candidate)
            names[index] = candidate
    return names


def listener_summary(listener):
    """The listener attributes an inventory host carries (``LISTENER_SUMMARY_KEYS``)."""
    return dict((k, listener.get(k)) for k in LISTENER_SUMMARY_KEYS)


def prometheus_items(summary, listeners, cloud=None, region=None, address="vip"):
    """The scrape targets of one load balancer, shaped as lb_prometheus_listener_info's items.

    :param summary: ``_compare.lb_summary()`` of the load balancer.
    :param listeners: all listener dicts of that load balancer.
    :param address: ``vip``, ``floating_ip`` or ``auto`` (see ``_compare.scrape_host``).
    :returns: list of ``{listener, load_balancer, scrape_target, labels}``,
        one per PROMETHEUS listener, sorted by port then ID.
    :raises PlanError: ``floating_ip`` asked for and the load balancer has none.
    """
    items = []
    for listener in sorted(prometheus_listeners(listeners),
                           key=lambda x: (x.get("protocol_port") or 0, x["id"])):
        host = scrape_host(summary, address)
        items.append(dict(listener=listener, load_balancer=summary,
                          scrape_target=scrape_target(host, listener["protocol_port"]),
                          labels=target_labels(summary, listener, cloud, region)))
    return items


def host_vars(lb, listeners, floating_ip=None, cloud=None, region=None, address="vip"):
    """The variables of one inventory host (one load balancer).

    :returns: dict with ``ansible_connection`` (``local``: every task for a
        load balancer talks to the API from the controller), ``octavia_lb``
        (the modules' load balancer summary plus ``tags``),
        ``octavia_lb_listeners`` (every listener, summarised),
        ``octavia_lb_prometheus`` (the scrape targets, as
        lb_prometheus_listener_info's items), ``octavia_lb_cloud`` and
        ``octavia_lb_region`` (``None`` where not known).
    """
    summary = lb_summary(lb, floating_ip)
    octavia_lb = dict(summary, tags=sorted(lb.get("tags") or []))
    return dict(
        ansible_connection="local",
        octavia_lb=octavia_lb,
        octavia_lb_listeners=[listener_summary(item) for item in listeners],
        octavia_lb_prometheus=prometheus_items(summary, listeners, cloud, region, address),
        octavia_lb_cloud=cloud,
        octavia_lb_region=region,
    )


def default_groups(hostvars):
    """The groups the inventory plugin puts a host in unless told not to.

    ``octavia_loadbalancers`` (every host), ``octavia_project_<project ID>``,
    ``octavia_provider_<provider>``, and either ``octavia_with_prometheus_listener``
    or ``octavia_without_prometheus_listener``.
    """
    lb = hostvars["octavia_lb"]
    groups = ["octavia_loadbalancers"]
    if lb.get("project_id"):
        groups.append("octavia_project_%s" % lb["project_id"])
    if lb.get("provider"):
        groups.append("octavia_provider_%s" % lb["provider"])
    groups.append("octavia_with_prometheus_listener" if hostvars["octavia_lb_prometheus"]
                  else "octavia_without_prometheus_listener")
    return groups


# ---------------------------------------------------------------------------
# Pure: selection and per-load-balancer planning for lb_prometheus_listener_fleet
# ---------------------------------------------------------------------------

def select_load_balancers(lbs, wanted):
    """Resolve names and IDs against one listing of load balancers.

    :param lbs: every load balancer dict of the listing.
    :param wanted: names or IDs as the user gave them.
    :returns: ``(selected, errors)``: ``selected`` is a list of
        ``(requested, lb)`` without duplicates (the same load balancer asked
        for twice is handled once); ``errors`` is a list of
        ``(requested, message, extra)`` for names that match nothing or
        several load balancers.
    """
    selected, errors, seen = [], [], set()
    for value in wanted:
        try:
            lb = select_by_name_or_id(lbs, value, "load balancer")
        except PlanError as exc:
            errors.append((value, str(exc), exc.extra))
            continue
        if lb is None:
            errors.append((value, "Load balancer '%s' was not found (no load balancer has that "
                                  "name or ID among those these credentials can see)." % value, {}))
        elif lb["id"] not in seen:
            seen.add(lb["id"])
            selected.append((value, lb))
    return selected, errors


def provider_lacks_prometheus(lb):
    """True when the load balancer's provider is known to have no PROMETHEUS listeners."""
    return (lb.get("provider") or "").lower() in PROVIDERS_WITHOUT_PROMETHEUS


def skip_message(reason):
    """Why a load balancer is skipped (a sentence), plus where its figures can come from instead."""
    return "%s; %s." % (reason.rstrip("."), STATS_EXPOSITION_HINT)


def plan_load_balancer(lb, listeners, params, cidrs):
    """Plan one load balancer exactly as lb_prometheus_listener does; no API calls.

    The same identity (``select_listener``), the same checks before any
    write (``check_cidr_family``, ``check_port_free``) and the same
    ``plan_listener``. The API version check is the caller's, once per cloud.

    :param listeners: all listener dicts of ``lb``.
    :param params: the listener options (``LISTENER_KEYS`` plus ``state``).
    :param cidrs: ``allowed_cidrs`` as ``_compare.check_listener_options`` normalised them.
    :returns: ``(current, plan)``.
    :raises PlanError: a check failed; nothing must be written for this load balancer.
    """
    state = params["state"]
    current = select_listener(listeners, params["name"], adopt=state == "present")
    want = desired(dict(params, allowed_cidrs=cidrs), LISTENER_KEYS)
    plan = plan_listener(state, current, want)
    if state == "present":
        check_cidr_family(cidrs, lb)
        check_port_free(listeners, params["protocol_port"], lb,
                        own_id=current["id"] if current else None)
    return current, plan


def predicted_listener(current, plan):
    """The listener a plan leads to, as far as it is known without writing (check mode)."""
    if plan["action"] is None:
        return current
    if plan["action"] == "delete":
        return None
    listener = dict(current or {}, protocol="PROMETHEUS", **plan["diff"]["after"])
    if plan["action"] == "replace":
        listener.pop("id", None)
    return listener


def labelled_diff(lb, diff):
    """A plan's diff with headers naming the load balancer, for a list of diffs."""
    diff = dict(diff)
    where = describe(lb, "load balancer")
    for key in ("before_header", "after_header"):
        if key in diff:
            diff[key] = "%s: %s" % (where, diff[key])
    return diff


def summarise(results):
    """Count per-load-balancer results.

    :returns: dict with ``total``, ``changed``, ``unchanged``, ``skipped``,
        ``failed`` and ``actions`` (action -> count of changed load balancers).
    """
    summary = dict(total=len(results), changed=0, unchanged=0, skipped=0, failed=0, actions={})
    for item in results:
        if item.get("failed"):
            summary["failed"] += 1
        elif item.get("skipped"):
            summary["skipped"] += 1
        elif item.get("changed"):
            summary["changed"] += 1
            summary["actions"][item["action"]] = summary["actions"].get(item["action"], 0) + 1
        else:
            summary["unchanged"] += 1
    return summary


def failure_message(results):
    """One sentence naming every failed load balancer and why (``None`` if none failed)."""
    failed = [item for item in results if item.get("failed")]
    if not failed:
        return None
    return "%d of %d load balancers failed: %s" % (
        len(failed), len(results),
        "; ".join("%s: %s" % (lb_label(item), item["msg"]) for item in failed))


def lb_label(item):
    """``name (id)`` of a per-load-balancer result, or what was asked for when it was not found."""
    lb = item.get("load_balancer") or {}
    if lb.get("id"):
        return "%s (%s)" % (lb.get("name") or "", lb["id"]) if lb.get("name") else lb["id"]
    return item.get("requested") or ""


# ---------------------------------------------------------------------------
# API: reading a cloud with a handful of listings, writing one plan
# ---------------------------------------------------------------------------

def read_cloud(conn, filters=None):
    """Read what a fleet needs from one cloud and region with a few listings.

    One listing of load balancers (filtered server-side where Octavia can),
    one of listeners, one of floating IPs: never one request per load
    balancer.

    :param filters: ``normalise_filters()`` output; the load balancers are
        filtered with ``lb_matches``.
    :returns: dict with ``load_balancers`` (filtered, sorted by name then
        ID), ``listeners`` (load balancer ID -> its listeners) and
        ``floating_ips`` (VIP port ID -> floating IP).
    :raises OctaviaError: an API failure.
    """
    filters = filters or {}
    query = server_side_query(filters)
    lbs = [lb for lb in list_load_balancers(conn, project_id=query["project_id"], tags=query["tags"])
           if lb_matches(lb, filters)]
    listeners = {}
    fips = {}
    if lbs:
        wanted = set(lb["id"] for lb in lbs)
        listeners = dict((k, v) for k, v in listeners_by_lb(
            list_listeners(conn, project_id=query["project_id"])).items() if k in wanted)
        fips = floating_ips_by_port(conn)[0]
    return dict(load_balancers=lbs, listeners=listeners, floating_ips=fips)


def apply_plan(conn, lb, current, plan, params, deadline, wrote=lambda: None):
    """Carry out one load balancer's plan through ``_octavia.write`` and its wait.

    Never called in check mode. A replacement deletes, then creates; each
    write first waits for the load balancer to be idle and retries Octavia's
    409 "immutable".

    :param wrote: called after each write the API accepted, so that a caller
        whose replacement fails half-way can still report the change.

    :returns: ``(listener, load balancer)`` re-read after the write when
        ``params["wait"]``, else as the API answered (load balancer ``None``).
    :raises OctaviaError: the write failed or the wait timed out.
    """
    action, lbapi, listener = plan["action"], conn.load_balancer, None
    busy = dict(lb, provisioning_status="PENDING_UPDATE")
    if action in ("delete", "replace"):
        write(conn, lb, "delete %s" % describe(current, "listener"),
              lambda: lbapi.delete_listener(current["id"], ignore_missing=True), deadline)
        wrote()
        lb = busy
    if action in ("create", "replace"):
        listener = to_plain(write(
            conn, lb, "create listener '%s' on %s" % (params["name"], describe(lb, "load balancer")),
            lambda: lbapi.create_listener(load_balancer_id=lb["id"], protocol="PROMETHEUS", **plan["body"]),
            deadline, translate=listener_fault_translator(lb)))
        wrote()
    if action == "update":
        listener = to_plain(write(
            conn, lb, "update %s" % describe(current, "listener"),
            lambda: lbapi.update_listener(current["id"], **plan["delta"]), deadline))
        wrote()
    if not params["wait"]:
        return listener, None
    lb, listener = wait_lb_idle(conn, busy, deadline, listener_id=listener["id"] if listener else None)
    return listener, lb


class Fleet(object):
    """Plan and converge the PROMETHEUS listener of many load balancers of one cloud.

    :param conn: an openstacksdk connection (``_base.connect``).
    :param params: the listener options (``LISTENER_KEYS``, ``state``,
        ``wait``, ``timeout``).
    :param cidrs: normalised ``allowed_cidrs`` (``None`` for state=absent).
    :param check_mode: plan and report, never write.
    :param concurrency: at most this many load balancers are written at once.
    """

    def __init__(self, conn, params, cidrs, check_mode, concurrency, clock=time.monotonic):
        self.conn = conn
        self.params = params
        self.cidrs = cidrs
        self.check_mode = check_mode
        self.concurrency = concurrency
        self.clock = clock

    def run(self, cloud, selected, errors):
        """Plan every selected load balancer, then apply the plans.

        :param cloud: ``read_cloud()`` output.
        :param selected: list of ``(requested, lb)``.
        :param errors: list of ``(requested, message, extra)`` from the selection.
        :returns: the per-load-balancer results, failures included, sorted
            by load balancer name then ID (unresolved names last).
        :raises PlanError: the API is too old for PROMETHEUS listeners (only
            read when a listener must be created).
        """
        results = [dict(requested=value, load_balancer=None, changed=False, action=None, diff={},
                        listener=None, scrape_target=None, failed=True, skipped=False, msg=msg, **extra)
                   for value, msg, extra in errors]
        planned = []
        for requested, lb in selected:
            item = self.plan(cloud, requested, lb)
            results.append(item)
            if item.get("_plan"):
                planned.append(item)
        if any(item["_plan"]["action"] in ("create", "replace") for item in planned):
            # One check for the cloud: an existing PROMETHEUS listener anywhere
            # would prove support, but a fleet creating one needs the answer once.
            check_api_versions(api_versions(self.conn))
        if self.check_mode:
            for item in planned:
                self.check_terminal(item)
        else:
            for item, _value, exc in map_bounded(self.apply, planned, self.concurrency):
                if exc is not None:
                    self.fail(item, exc)
        for item in results:
            for key in ("_plan", "_current", "_lb", "_writes"):
                item.pop(key, None)
        return sorted(results, key=lambda r: (r["load_balancer"] is None,
                                              (r["load_balancer"] or {}).get("name") or "",
                                              (r["load_balancer"] or {}).get("id") or r["requested"]))

    def plan(self, cloud, requested, lb):
        listeners = cloud["listeners"].get(lb["id"], [])
        summary = lb_summary(lb, cloud["floating_ips"].get(lb.get("vip_port_id")))
        item = dict(requested=requested, load_balancer=summary, changed=False, action=None, diff={},
                    listener=None, scrape_target=None, failed=False, skipped=False, msg="")
        if self.params["state"] == "present" and provider_lacks_prometheus(lb):
            item.update(skipped=True, msg=skip_message(unsupported_provider_message(lb)))
            return item
        try:
            current, plan = plan_load_balancer(lb, listeners, self.params, self.cidrs)
        except PlanError as exc:
            item.update(failed=True, msg=str(exc), **exc.extra)
            return item
        listener = predicted_listener(current, plan)
        item.update(changed=plan["changed"], action=plan["action"],
                    diff=labelled_diff(lb, plan["diff"]) if plan["changed"] else {},
                    listener=listener, _plan=plan, _current=current, _lb=lb)
        self.set_target(item, listener)
        return item

    def set_target(self, item, listener):
        summary = item["load_balancer"]
        item["scrape_target"] = (scrape_target(summary["vip_address"], listener["protocol_port"])
                                 if listener and listener.get("protocol_port") else None)

    def check_terminal(self, item):
        """In check mode, report a load balancer the real run could not write to as failed."""
        lb = item["_lb"]
        if item["changed"] and lb.get("provisioning_status") in TERMINAL_STATES:
            try:
                wait_lb_idle(self.conn, lb, Deadline(self.params["timeout"], self.clock))
            except OctaviaError as exc:
                self.fail(item, exc)

    def apply(self, item):
        """Write one load balancer's plan (runs in a worker thread)."""
        if not item["changed"]:
            return
        deadline = Deadline(self.params["timeout"], self.clock)
        listener, lb = apply_plan(self.conn, item["_lb"], item["_current"], item["_plan"],
                                  self.params, deadline, wrote=lambda: item.update(_writes=item.get("_writes", 0) + 1))
        if lb is not None:
            fip = item["load_balancer"].get("floating_ip")
            item["load_balancer"] = lb_summary(lb, fip)
        item["listener"] = listener
        self.set_target(item, listener)

    def fail(self, item, exc):
        """Record a failed write or wait.

        A provider that refuses PROMETHEUS listeners (HTTP 501) is a skip, not
        a failure. ``changed`` stays true only when a write went through
        before the failure (the delete half of a replacement).
        """
        extra = getattr(exc, "extra", {}) or {}
        wrote = bool(item.get("_writes"))
        if extra.get("status") == 501 and self.params["state"] == "present" and not wrote:
            item.update(skipped=True, changed=False, action=None, diff={}, listener=None,
                        scrape_target=None, msg=skip_message(str(exc)))
            return
        item.update(failed=True, changed=wrote, msg=str(exc))
        if not wrote:
            item.update(diff={}, listener=item["_current"])
            self.set_target(item, item["_current"])
