# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Selecting load balancers: the one ``filters`` vocabulary, the matcher, the provider check.

Pure: plain dicts in and out. Every entry point that selects load balancers
(the inventory plugin, the fleet and info modules, lb_stats_info, the roles)
takes the same ``filters`` dict and hands it to ``normalise_filters``, so one
key means one thing everywhere.
"""

import fnmatch

from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError

# The argument spec of the ``filters`` option, shared by every module (and
# documented once, in the octavia.monitoring._filters doc fragment).
FILTERS_OPTIONS = dict(
    project_ids=dict(type="list", elements="str"),
    tags=dict(type="list", elements="str"),
    name_pattern=dict(type="str"),
    providers=dict(type="list", elements="str"),
    provisioning_statuses=dict(type="list", elements="str"),
)
FILTERS_SPEC = dict(type="dict", options=FILTERS_OPTIONS)
FILTER_KEYS = tuple(FILTERS_OPTIONS)

# Providers known to reject PROMETHEUS listeners. OVN load balancers are
# L4 only (TCP, UDP, SCTP) and have no metrics endpoint at all.
PROVIDERS_WITHOUT_PROMETHEUS = ("ovn",)


def normalise_filters(filters):
    """Return the filters with the empty ones removed and the list ones as lists.

    :param filters: dict with any of ``FILTER_KEYS``; ``None``, ``""`` and
        ``[]`` mean "no filter". A list filter given as one string is one entry.
    :returns: a new dict holding only the filters that restrict something.
    :raises PlanError: an unknown key, or a value of the wrong type, named.
    """
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise PlanError(f"Unknown load balancer filter {', '.join(unknown)}; the filters are "
                        f"{', '.join(FILTER_KEYS)}.")
    out = {}
    for key, value in filters.items():
        if value in (None, "", [], ()):
            continue
        if FILTERS_OPTIONS[key]["type"] == "list":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise PlanError(f"The load balancer filter {key} must be a list of strings, not {value!r}.")
            value = list(value)
        elif not isinstance(value, str):
            raise PlanError(f"The load balancer filter {key} must be a string, not {value!r}.")
        out[key] = value
    return out


def server_side_query(filters):
    """The part of normalised filters Octavia applies itself in the listing request.

    Octavia filters on one ``project_id`` and on a set of tags that must all
    be present; several projects are filtered here instead (one listing
    still serves them all).

    :returns: dict with ``project_id`` and ``tags`` (each possibly ``None``).
    """
    projects = filters.get("project_ids") or []
    return dict(project_id=projects[0] if len(projects) == 1 else None,
                tags=list(filters.get("tags") or []) or None)


def lb_matches(lb, filters):
    """True when a load balancer dict passes every normalised filter.

    ``name_pattern`` is a shell-style pattern (``web-*``, ``db-?``) matched
    case-sensitively against the whole name; ``providers`` and
    ``provisioning_statuses`` compare case-insensitively; ``tags`` must all
    be present; ``project_ids`` is any of.
    """
    if filters.get("project_ids") and lb.get("project_id") not in filters["project_ids"]:
        return False
    if filters.get("tags") and not set(filters["tags"]) <= set(lb.get("tags") or []):
        return False
    if filters.get("name_pattern") and not fnmatch.fnmatchcase(lb.get("name") or "",
                                                               filters["name_pattern"]):
        return False
    if filters.get("providers") and (lb.get("provider") or "").lower() not in {
            p.lower() for p in filters["providers"]}:
        return False
    if filters.get("provisioning_statuses") and (lb.get("provisioning_status") or "").upper() not in {
            s.upper() for s in filters["provisioning_statuses"]}:
        return False
    return True


def select_by_name_or_id(items, value, kind, scope=None):
    """Return the one item whose ``id`` or ``name`` is ``value``, or ``None``.

    An ID match wins over name matches (IDs are unique, names are not).

    :param items: list of dicts with ``id`` and ``name``.
    :param kind: noun for messages, e.g. ``"listener"``.
    :param scope: phrase for messages, e.g. ``"on load balancer 'web'"``.
    :raises PlanError: several items carry that name; ``candidates`` lists them.
    """
    for item in items:
        if item.get("id") == value:
            return item
    named = [item for item in items if item.get("name") == value]
    if len(named) > 1:
        ids = sorted(i["id"] for i in named)
        raise PlanError(
            f"The name '{value}' matches {len(named)} {kind}s{' ' + scope if scope else ''} "
            f"(IDs {', '.join(ids)}); give the ID instead.",
            candidates=[dict(id=i, name=value) for i in ids])
    return named[0] if named else None


def not_found_message(value, kind="load balancer"):
    """The one sentence for a name or ID that matches nothing the credentials can see."""
    return (f"{kind[:1].upper()}{kind[1:]} '{value}' was not found (no {kind} has that name or ID "
            f"among those these credentials can see).")


def select_load_balancers(lbs, wanted):
    """Resolve names and IDs against one listing of load balancers.

    :param lbs: every load balancer dict of the listing.
    :param wanted: names or IDs as the user gave them.
    :returns: ``(selected, errors)``: ``selected`` is a list of
        ``(requested, lb)`` without duplicates (the same load balancer asked
        for twice is handled once); ``errors`` is a list of
        ``(requested, message, extra)`` for values that match nothing or
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
            errors.append((value, not_found_message(value), {}))
        elif lb["id"] not in seen:
            seen.add(lb["id"])
            selected.append((value, lb))
    return selected, errors


def lacks_prometheus(lb):
    """Why the load balancer's provider has no PROMETHEUS listeners (a sentence), or ``None``."""
    if (lb.get("provider") or "").lower() in PROVIDERS_WITHOUT_PROMETHEUS:
        return unsupported_provider_message(lb)
    return None


def unsupported_provider_message(lb, detail=None):
    """The sentence for a provider without PROMETHEUS support, pointing to lb_stats_info."""
    why = f" ({detail.rstrip('.')})" if detail else ""
    return (f"Load balancer '{lb.get('name') or lb.get('id')}' uses the provider "
            f"'{lb.get('provider')}', which does not support PROMETHEUS listeners{why}; use "
            f"octavia.monitoring.lb_stats_info to read its statistics through the Octavia API "
            f"instead.")


def parent_lb_id(listener):
    """The load balancer ID of a listener or pool dict (the API lists it in ``load_balancers``)."""
    if listener.get("load_balancer_id"):
        return listener["load_balancer_id"]
    lbs = listener.get("load_balancers") or listener.get("loadbalancers") or []
    return lbs[0].get("id") if lbs else None


def prometheus_listeners(listeners):
    """The PROMETHEUS listeners among a load balancer's listeners, sorted by port then ID."""
    return sorted((item for item in listeners if item.get("protocol") == "PROMETHEUS"),
                  key=lambda x: (x.get("protocol_port") or 0, x["id"]))


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
