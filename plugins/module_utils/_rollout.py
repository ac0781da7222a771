# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The PROMETHEUS listener of N load balancers: plan, settle, apply, report.

This is the one write path. ``lb_prometheus_listener`` runs it for one load
balancer, ``lb_prometheus_listener_fleet`` (and through it the
octavia_listeners role) for many; both return the items built here, so check
mode, diffs, results and failures mean the same thing in every entry point.

Each load balancer goes through:

1. plan (pure, ``_plan``): nothing is written for a load balancer whose
   options or state fail a check;
2. settle (reads only, so check mode does it too): a load balancer or
   listener that is not ACTIVE is waited for; one in ERROR is repaired
   (listener) or reported as failed (load balancer), never "unchanged";
3. apply (not in check mode): the plan's steps in order, each through
   ``_octavia.write`` (idle wait, retries); a created listener is confirmed
   ACTIVE before anything is deleted;
4. report: one item with an ``outcome`` of ``changed``, ``unchanged``,
   ``skipped``, ``failed`` (nothing was written) or ``unconfirmed`` (a write
   went through, its result could not be confirmed).
"""

import time

from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError, PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import (
    Deadline,
    api_versions,
    describe,
    list_listeners,
    listener_create,
    listener_delete,
    listener_list,
    listener_quota,
    listener_update,
    map_bounded,
    wait_lb_idle,
    write,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._plan import (
    LISTENER_KEYS,
    OPEN_NETWORKS,
    allot_quota,
    check_api_versions,
    check_cidr_family,
    check_port_free,
    desired,
    listener_fault_translator,
    new_listeners,
    plan_listener,
    predicted_listener,
    select_listener,
    unenforced_cidrs_reason,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._select import lacks_prometheus
from ansible_collections.octavia.monitoring.plugins.module_utils._targets import lb_summary, scrape_target

OUTCOMES = ("changed", "unchanged", "skipped", "failed", "unconfirmed")

# Where a load balancer whose provider has no PROMETHEUS listener gets its
# figures into Prometheus instead: Octavia's statistics API, written by the
# stats playbook as a node_exporter textfile.
STATS_EXPOSITION_HINT = (
    "its statistics can still reach Prometheus through the stats playbook's exposition: "
    "ansible-playbook octavia.monitoring.stats -e octavia_stats_exposition_path="
    "<node_exporter textfile directory>/octavia_api_stats.prom")


def skip_message(reason):
    """Why a load balancer is skipped (a sentence), plus where its figures can come from instead."""
    return f"{reason.rstrip('.')}; {STATS_EXPOSITION_HINT}."


def new_item(requested, summary=None, **values):
    """A per-load-balancer result with every documented key."""
    item = dict(requested=requested, load_balancer=summary, changed=False, action=None,
                outcome="unchanged", diff={}, listener=None, scrape_target=None, tls_change=None,
                skipped=False, failed=False, msg="")
    item.update(values)
    return item


def labelled_diff(lb, diff):
    """A plan's diff with headers naming the load balancer, for a list of diffs."""
    diff = dict(diff)
    where = describe(lb, "load balancer")
    for key in ("before_header", "after_header"):
        if key in diff:
            diff[key] = f"{where}: {diff[key]}"
    return diff


def summarise(results):
    """Count per-load-balancer results by outcome.

    :returns: dict with ``total``, one count per outcome (``changed``,
        ``unchanged``, ``skipped``, ``failed``, ``unconfirmed``) and
        ``actions`` (action -> count of load balancers changed by it, the
        unconfirmed ones included).
    """
    summary = dict(total=len(results), actions={}, **dict.fromkeys(OUTCOMES, 0))
    for item in results:
        summary[item["outcome"]] += 1
        if item["outcome"] in ("changed", "unconfirmed"):
            summary["actions"][item["action"]] = summary["actions"].get(item["action"], 0) + 1
    return summary


def lb_label(item):
    """``name (id)`` of a per-load-balancer result, or what was asked for when it was not found."""
    lb = item.get("load_balancer") or {}
    if lb.get("id"):
        return f"{lb['name']} ({lb['id']})" if lb.get("name") else lb["id"]
    return item.get("requested") or ""


def failure_message(results):
    """One sentence naming every failed load balancer and why (``None`` if none failed)."""
    failed = [item for item in results if item["failed"]]
    if not failed:
        return None
    return f"{len(failed)} of {len(results)} load balancers failed: " + "; ".join(
        f"{lb_label(item)}: {item['msg']}" for item in failed)


def single_result(item):
    """The result of lb_prometheus_listener from its one item.

    :returns: dict with ``changed``, ``action``, ``outcome``, ``diff``,
        ``listener``, ``load_balancer``, ``scrape_target`` and ``tls_change``.
    :raises OctaviaError: the item failed or was skipped (a single listener
        that cannot exist is an error); the exception's ``extra`` carries the
        same keys, so a written-but-unconfirmed change still reports ``changed``.
    """
    result = {k: item[k] for k in ("changed", "action", "outcome", "diff", "listener",
                                   "load_balancer", "scrape_target", "tls_change")}
    if item["failed"] or item["skipped"]:
        extra = {k: item[k] for k in item if k not in new_item(None) and k != "msg"}
        raise OctaviaError(item["msg"], **result, **extra)
    return result


class Rollout:
    """Plan and converge the PROMETHEUS listener of load balancers of one cloud and region.

    :param conn: the caller's openstacksdk connection (reads, and the work of
        a single load balancer).
    :param connect: zero-argument factory of further connections, one per
        worker thread (``map_bounded``).
    :param params: the listener options (``_plan.LISTENER_SPEC`` keys plus
        ``wait`` and ``timeout``).
    :param cidrs: normalised ``allowed_cidrs`` (``None`` for state=absent).
    :param check_mode: plan, settle and report; never write.
    :param concurrency: at most this many load balancers are worked on at once.
    """

    def __init__(self, conn, connect, params, cidrs, check_mode, concurrency=1,
                 clock=time.monotonic, sleep=time.sleep):
        self.conn = conn
        self.connect = connect
        self.params = params
        self.cidrs = cidrs
        self.check_mode = check_mode
        self.concurrency = concurrency
        self.clock = clock
        self.sleep = sleep
        self.present = params["state"] == "present"
        self.warnings = []

    def run(self, fleet, selected, errors=()):
        """Plan every selected load balancer, then settle and apply the plans.

        :param fleet: ``_octavia.read_fleet()``-shaped dict.
        :param selected: list of ``(requested, lb)``.
        :param errors: list of ``(requested, message, extra)`` from the selection.
        :returns: the per-load-balancer items, failures included, sorted by
            load balancer name then ID (unresolved names last).
        :raises PlanError: the API is too old for PROMETHEUS listeners (read
            only when a listener must be created).
        """
        results = [new_item(value, failed=True, outcome="failed", msg=msg, **extra)
                   for value, msg, extra in errors]
        work = []
        for requested, lb in selected:
            item, state = self.plan(fleet, requested, lb)
            results.append(item)
            if state is not None:
                work.append((item, state))
        work = self.within_quota(fleet, work)
        if any(step["op"] == "create" for _item, state in work for step in state["plan"]["steps"]):
            # One check for the cloud: an existing PROMETHEUS listener would
            # prove support, but a run that creates one needs the answer once.
            check_api_versions(api_versions(self.conn))
        for (item, state), _value, exc in map_bounded(self.converge, work, self.concurrency,
                                                      connect=self.connect, inline_conn=self.conn):
            if exc is not None:
                self.fail(item, state, exc)
        return sorted(results, key=lambda r: (r["load_balancer"] is None,
                                              (r["load_balancer"] or {}).get("name") or "",
                                              (r["load_balancer"] or {}).get("id") or r["requested"]))

    # -- 1. plan (pure) ---------------------------------------------------------------

    def plan(self, fleet, requested, lb):
        """Plan one load balancer; returns ``(item, state)``, ``state`` ``None`` when done."""
        listeners = fleet["listeners"].get(lb["id"], [])
        summary = lb_summary(lb, fleet["floating_ips"].get(lb.get("vip_port_id")))
        item = new_item(requested, summary)
        if self.present and lacks_prometheus(lb):
            item.update(skipped=True, outcome="skipped", msg=skip_message(lacks_prometheus(lb)))
            return item, None
        try:
            state = self.plan_listener(lb, listeners, fleet["port_security"].get(lb.get("vip_port_id")))
        except PlanError as exc:
            item.update(failed=True, outcome="failed", msg=str(exc), **exc.extra)
            return item, None
        self.report_plan(item, state)
        return item, state

    def plan_listener(self, lb, listeners, port_security=None):
        params = self.params
        port = params["protocol_port"] if self.present else None
        current, leftovers = select_listener(listeners, params["name"], port, adopt=self.present)
        cidrs = self.cidrs
        if self.present:
            self.guard_cidrs(lb, port_security)
            if lb.get("vip_sg_ids"):
                # The user's security groups decide who reaches the VIP; Octavia refuses
                # allowed_cidrs next to them, so they are neither sent nor compared.
                cidrs = None
            else:
                check_cidr_family(cidrs, lb)
            own = {x["id"] for x in ([current] if current else []) + leftovers}
            check_port_free(listeners, port, lb, own_ids=own)
        want = desired(dict(params, allowed_cidrs=cidrs), LISTENER_KEYS)
        plan = plan_listener(params["state"], current, want, leftovers)
        if self.present and lb.get("vip_sg_ids"):
            # A replacement copies the old listener's settings, which may hold allowed_cidrs
            # from before the security groups were set; Octavia would refuse them.
            for step in plan["steps"]:
                step.get("body", {}).pop("allowed_cidrs", None)
        return dict(lb=lb, current=current, leftovers=leftovers, want=want, plan=plan, writes=0)

    def guard_cidrs(self, lb, port_security):
        """Warn, or fail before any write, when allowed_cidrs cannot take effect on ``lb``."""
        reason = unenforced_cidrs_reason(lb, port_security)
        if reason is None or set(self.cidrs or ()) <= set(OPEN_NETWORKS):
            # Allowing everyone needs no enforcing.
            return
        if self.params.get("allowed_cidrs_unenforced") == "fail":
            raise PlanError(f"{reason} Nothing was written (allowed_cidrs_unenforced=fail).")
        self.warnings.append(reason)

    def within_quota(self, fleet, work):
        """Skip, before any write, the load balancers whose project has no listener quota left.

        The project's quota and its listeners are read once per project, only
        for projects where this run would add a listener.

        :returns: the work that fits.
        """
        needs = [(id(item), state["lb"].get("project_id"), new_listeners(state["plan"]))
                 for item, state in work]
        projects = sorted({project for _key, project, count in needs if count and project})
        if not projects:
            return work
        limits, usage = {}, dict(fleet.get("listener_usage") or {})
        for project in projects:
            limit = listener_quota(self.conn, project)
            if limit is None:
                self.warnings.append(f"The listener quota of project {project} could not be read with "
                                     "these credentials, so it was not checked before writing.")
                continue
            limits[project] = limit
            if project not in usage and limit != -1:
                usage[project] = len(list_listeners(self.conn, project_id=project))
        refused = allot_quota(needs, limits, usage)
        kept = []
        for item, state in work:
            if id(item) in refused:
                item.update(skipped=True, changed=False, outcome="skipped", action=None, diff={},
                            tls_change=None, listener=state["current"], msg=refused[id(item)],
                            scrape_target=self.target(item, state["current"]))
            else:
                kept.append((item, state))
        return kept

    def report_plan(self, item, state):
        plan = state["plan"]
        listener = predicted_listener(state["current"], plan)
        item.update(changed=plan["changed"], action=plan["action"], tls_change=plan["tls_change"],
                    outcome="changed" if plan["changed"] else "unchanged", diff=plan["diff"],
                    listener=listener, scrape_target=self.target(item, listener))

    def target(self, item, listener):
        summary = item["load_balancer"]
        if not listener or not listener.get("protocol_port"):
            return None
        return scrape_target(summary["vip_address"], listener["protocol_port"])

    # -- 2. settle and 3. apply (a worker thread each) --------------------------------

    def converge(self, work, conn):
        """Settle one load balancer, then (outside check mode) apply its plan."""
        item, state = work
        deadline = Deadline(self.params["timeout"], self.clock)
        self.settle(item, state, conn, deadline)
        if item["changed"] and not self.check_mode:
            self.apply(item, state, conn, deadline)

    def settle(self, item, state, conn, deadline):
        """Wait out PENDING states; turn a listener found in ERROR into a repair.

        Only reads, so check mode predicts what the real run meets.
        """
        lb, current = state["lb"], state["current"]
        needs_lb = self.present or state["plan"]["changed"]
        lb_ok = lb.get("provisioning_status") == "ACTIVE"
        listener_ok = current is None or current.get("provisioning_status") in ("ACTIVE", "ERROR")
        if (lb_ok or not needs_lb) and listener_ok:
            return
        listener_id = current["id"] if current and not listener_ok else None
        try:
            lb, listener = wait_lb_idle(conn, lb, deadline, listener_id=listener_id, sleep=self.sleep)
        except OctaviaError as exc:
            broken = exc.extra.get("listener")
            if broken is None:
                raise
            listener = broken
            lb = dict(lb, provisioning_status="ACTIVE")
        state["lb"] = lb
        item["load_balancer"] = lb_summary(lb, item["load_balancer"].get("floating_ip"))
        if listener is not None and listener_id is not None:
            state["current"] = listener
            state["plan"] = plan_listener(self.params["state"], listener, state["want"],
                                          state["leftovers"])
            self.report_plan(item, state)

    def apply(self, item, state, conn, deadline):
        """Carry out the plan's steps in order (never in check mode)."""
        lb = state["lb"]
        # What stays when no step makes a new one: an update's or a cleanup's listener.
        listener = None if state["plan"]["action"] == "delete" else state["current"]
        confirmed = False
        for step in state["plan"]["steps"]:
            state["step"] = step
            if step["op"] == "create":
                lb, listener = self.create(conn, lb, step["body"], deadline, state)
                confirmed = True
                continue
            if step["op"] == "update":
                listener = write(
                    conn, lb, f"update {describe(state['current'], 'listener')}",
                    lambda step=step: listener_update(conn, step["id"], step["delta"]),
                    deadline, sleep=self.sleep)
            else:
                write(conn, lb, f"delete listener {step['id']}",
                      lambda step=step: listener_delete(conn, step["id"]), deadline, sleep=self.sleep)
            state["writes"] += 1
            lb, confirmed = dict(lb, provisioning_status="PENDING_UPDATE"), False
        state.pop("step", None)
        if self.params["wait"] and not confirmed:
            lb, listener = wait_lb_idle(conn, lb, deadline, sleep=self.sleep,
                                        listener_id=listener["id"] if listener else None)
        if self.params["wait"]:
            item["load_balancer"] = lb_summary(lb, item["load_balancer"].get("floating_ip"))
        item["listener"] = listener
        item["scrape_target"] = self.target(item, listener)

    def create(self, conn, lb, body, deadline, state):
        """Create the listener and wait until it is ACTIVE, whatever ``wait`` says.

        The old listener of a replacement is deleted only after this returns.
        A create whose answer was lost is found again by name and port
        instead of being sent twice.

        :returns: ``(load balancer, listener)``, both re-read and ACTIVE.
        """
        name, port = body["name"], body["protocol_port"]

        def recover():
            for item in listener_list(conn, load_balancer_id=lb["id"], protocol="PROMETHEUS"):
                if item.get("name") == name and item.get("protocol_port") == port:
                    return item
            return None

        listener = write(
            conn, lb, f"create listener '{name}' on {describe(lb, 'load balancer')}",
            lambda: listener_create(conn, lb["id"], body),
            deadline, translate=listener_fault_translator(lb), recover=recover, sleep=self.sleep)
        state["writes"] += 1
        busy = dict(lb, provisioning_status="PENDING_UPDATE")
        return wait_lb_idle(conn, busy, deadline, listener_id=listener["id"], sleep=self.sleep)

    # -- 4. failures ------------------------------------------------------------------

    def fail(self, item, state, exc):
        """Record a failure with its honest outcome.

        A provider that refuses PROMETHEUS listeners (HTTP 501) before any
        write is a skip. A failure before any write leaves everything as it
        was (``failed``); after a write it is ``unconfirmed`` and changed.
        """
        extra = getattr(exc, "extra", {}) or {}
        msg = str(exc) if isinstance(exc, OctaviaError) else f"Unexpected error: {exc!r}."
        # A write whose request timed out may have been carried out all the same.
        maybe = extra.get("kind") == "timeout" and state.get("step") is not None
        wrote = state["writes"] > 0 or maybe
        if extra.get("status") == 501 and self.present and not wrote:
            item.update(skipped=True, changed=False, outcome="skipped", action=None, diff={},
                        tls_change=None, listener=None, scrape_target=None, msg=skip_message(msg))
            return
        step, current = state.get("step"), state["current"]
        if step is not None and step["op"] == "create" and current is not None \
                and state["plan"]["action"] == "replace":
            msg = (f"{msg.rstrip('.')}; the existing {describe(current, 'listener')} on port "
                   f"{current.get('protocol_port')} was kept and still serves /metrics.")
        item.update(failed=True, msg=msg, changed=wrote,
                    outcome="unconfirmed" if wrote else "failed",
                    **{k: v for k, v in extra.items() if k not in ("listener", "kind") and v is not None})
        if not wrote:
            item.update(diff={}, tls_change=None, listener=current, scrape_target=self.target(item, current))
