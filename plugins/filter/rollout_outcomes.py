# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""What happened to each load balancer of a rollout, in one vocabulary.

The fleet module (octavia.monitoring.lb_prometheus_listener_fleet) returns one
item per load balancer. This file holds the one function that names an item's
outcome (``outcome_of``) and the one that collects the items of a role run
(``rollout_items``); the octavia_listeners role reads both through the
``rollout_outcomes`` and ``rollout_summary`` filters. Documentation:
``rollout_outcomes.yml``.
"""

from ansible.errors import AnsibleFilterError

# changed: written and confirmed; unchanged: nothing to do; skipped: the provider has no
# PROMETHEUS listeners; failed: nothing was written; unconfirmed: a write went through but
# its result could not be confirmed (the item then also says failed and changed).
OUTCOMES = ("changed", "unchanged", "skipped", "failed", "unconfirmed")


def outcome_of(item):
    """Return the outcome of one fleet result item.

    :param item: one entry of the fleet module's ``results``.
    :returns: one of ``OUTCOMES``. The item's own ``outcome`` when it has one;
        otherwise (a fleet module from before ``outcome`` existed) derived from
        its flags: failed and changed is ``unconfirmed``, failed is ``failed``,
        skipped is ``skipped``, changed is ``changed``, else ``unchanged``.
    :raises AnsibleFilterError: the item is not a dict, or names an unknown outcome.
    """
    if not isinstance(item, dict):
        raise AnsibleFilterError(f"a fleet result item must be a dict, not {type(item).__name__} {item!r}.")
    outcome = item.get("outcome")
    if outcome is None:
        if item.get("failed"):
            outcome = "unconfirmed" if item.get("changed") else "failed"
        elif item.get("skipped"):
            outcome = "skipped"
        else:
            outcome = "changed" if item.get("changed") else "unchanged"
    if outcome not in OUTCOMES:
        raise AnsibleFilterError(
            f"fleet result item for {label_of(item)} has the outcome {outcome!r}, which is none of "
            f"{', '.join(OUTCOMES)}.")
    return outcome


def label_of(item):
    """``name (id)`` of an item's load balancer, or what was requested when none matched."""
    lb = item.get("load_balancer")
    if lb:
        return f"{lb.get('name')} ({lb.get('id')})"
    return str(item.get("requested"))


def _failed_call_items(entry):
    """Items for a fleet call that returned no ``results`` (the module itself failed).

    Each load balancer the call was for gets the module's message, so that every host of the
    call reports the failure, not only the host the call ran on. ``unconfirmed`` when the
    module says it changed something before it failed, else ``failed``.
    """
    call = entry.get("item") if isinstance(entry.get("item"), dict) else {}
    requested = call.get("load_balancers") or [call.get("label") or "the selected load balancers"]
    msg = entry.get("msg") or "the fleet module returned no results"
    outcome = "unconfirmed" if entry.get("changed") else "failed"
    return [{"requested": name, "load_balancer": None, "changed": outcome == "unconfirmed", "failed": True,
             "skipped": False, "action": None, "diff": {}, "listener": None, "scrape_target": None,
             "msg": msg, "outcome": outcome} for name in requested]


def rollout_items(value):
    """Return the per-load-balancer items of a rollout as one list.

    :param value: a list of fleet result items; or one fleet module result (a
        dict with ``results``); or the registered result of a fleet task run in
        a loop (a dict whose ``results`` are module results, each with its own
        ``results``). A skipped loop entry contributes nothing; a loop entry
        without ``results`` (the module itself failed, for example on an
        option Octavia would refuse) contributes one failed item per load
        balancer of its call (``item.load_balancers``), or one for the whole
        call when it selected by filters.
    :returns: the items, in their order.
    :raises AnsibleFilterError: on any other shape.
    """
    if value is None:
        return []
    if isinstance(value, dict):
        if "results" not in value:
            raise AnsibleFilterError(
                "expected the fleet module's result or the registered result of its loop, "
                f"a dict with 'results'; got the keys {sorted(value)}.")
        value = value["results"]
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError(f"expected a list of fleet result items, not {type(value).__name__}.")
    items = []
    for entry in value:
        if isinstance(entry, dict) and "requested" not in entry and "load_balancer" not in entry:
            # One loop iteration's module result.
            if "results" in entry:
                items.extend(rollout_items(entry["results"]))
            elif not entry.get("skipped"):
                items.extend(_failed_call_items(entry))
        else:
            items.append(entry)
    return items


def _host_report(item):
    outcome = outcome_of(item)
    target = item.get("scrape_target") or "none"
    if outcome == "changed":
        msg = f"{item.get('action')}: scrape target {target}"
    elif outcome == "unchanged":
        msg = f"unchanged: scrape target {target}"
    elif outcome == "unconfirmed":
        msg = f"{item.get('action')} sent but not confirmed: {item.get('msg')}"
    else:
        msg = item.get("msg") or outcome
    return {"outcome": outcome, "changed": outcome in ("changed", "unconfirmed"),
            "failed": outcome in ("failed", "unconfirmed"), "msg": msg,
            "diff": (item.get("diff") or {}) if outcome in ("changed", "unconfirmed") else {}}


def _overall(reports, items):
    outcomes = [r["outcome"] for r in reports]
    for outcome in ("unconfirmed", "failed", "changed"):
        if outcome in outcomes:
            break
    else:
        outcome = "skipped" if outcomes and set(outcomes) == {"skipped"} else "unchanged"
    wanted = ("failed", "unconfirmed") if outcome in ("failed", "unconfirmed") else ("changed",)
    lines = [f"{label_of(item)}: {report['msg']}" for item, report in zip(items, reports)
             if report["outcome"] in wanted]
    return {"outcome": outcome, "changed": any(r["changed"] for r in reports),
            "failed": any(r["failed"] for r in reports),
            "msg": lines or f"{outcomes.count('unchanged')} load balancer(s) unchanged",
            "diff": [r["diff"] for r in reports if r["diff"]]}


def rollout_outcomes(value):
    """Return each load balancer's outcome, and the rollout's as a whole.

    :param value: what ``rollout_items`` accepts.
    :returns: ``{"by_load_balancer": {requested: report}, "overall": report,
        "nothing_to_report": bool}``; the last is true when every outcome is
        unchanged (or there is none), so that no host has its own to show.
        A report is ``{"outcome", "changed", "failed", "msg", "diff"}``:
        ``changed`` is true for changed and unconfirmed, ``failed`` for failed
        and unconfirmed, ``msg`` one sentence for the load balancer's host and
        ``diff`` the item's diff when something was (or would be) written.
        ``overall`` is unconfirmed, failed or changed when any item is (in
        that order), skipped when every item is, else unchanged; its ``msg``
        lists the failed items (or, without failures, the changed ones).
    :raises AnsibleFilterError: as ``rollout_items`` and ``outcome_of``.
    """
    items = rollout_items(value)
    reports = [_host_report(item) for item in items]
    by_lb = {}
    for item, report in zip(items, reports):
        by_lb[str(item.get("requested"))] = report
    return {"by_load_balancer": by_lb, "overall": _overall(reports, items),
            "nothing_to_report": all(r["outcome"] == "unchanged" for r in reports)}


class FilterModule:
    """The outcome of each load balancer of a rollout."""

    def filters(self):
        return {"rollout_outcomes": rollout_outcomes}
