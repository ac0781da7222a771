# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Octavia API access: scoped finders, the one wait-for-idle, retried writes.

Every function takes an openstacksdk ``Connection`` and returns plain dicts
(``_base.to_plain``); API failures leave here as ``_base.OctaviaError``.
This is the only module that waits or retries.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.octavia.monitoring.plugins.module_utils._base import (
    OctaviaError,
    api_error,
    fault_text,
    http_status,
    is_not_found,
    to_plain,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._compare import (
    is_immutable_fault,
    select_by_name_or_id,
)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class Deadline(object):
    """One time budget shared by every wait and retry of a module run."""

    def __init__(self, timeout, clock=time.monotonic):
        self.timeout = timeout
        self._clock = clock
        self._end = clock() + timeout

    def remaining(self):
        """Seconds left, never negative."""
        return max(0.0, self._end - self._clock())

    def expired(self):
        """True once the budget is spent."""
        return self.remaining() <= 0


def describe(obj, kind):
    """``load balancer 'web' (uuid)``-style phrase for messages."""
    if obj.get("name"):
        return "%s '%s' (%s)" % (kind, obj["name"], obj["id"])
    return "%s %s" % (kind, obj["id"])


# ---------------------------------------------------------------------------
# Finders
# ---------------------------------------------------------------------------

def find_load_balancer(conn, name_or_id, ignore_missing=False):
    """Find one load balancer by ID or name.

    A UUID-shaped value is tried as an ID first (one GET); otherwise, or when
    no such ID exists, the name is looked up with one filtered listing.

    :returns: the load balancer dict, or ``None`` when missing and
        ``ignore_missing``.
    :raises OctaviaError: not found (unless ``ignore_missing``), the name is
        ambiguous (the message and ``candidates`` list the IDs), or the API failed.
    """
    lbapi = conn.load_balancer
    if _UUID.match(name_or_id):
        try:
            return to_plain(lbapi.get_load_balancer(name_or_id))
        except Exception as exc:
            if not is_not_found(exc):
                raise api_error(exc, "read load balancer %s" % name_or_id)
    try:
        found = [to_plain(lb) for lb in lbapi.load_balancers(name=name_or_id)]
    except Exception as exc:
        raise api_error(exc, "look up load balancer '%s'" % name_or_id)
    lb = select_by_name_or_id(found, name_or_id, "load balancer")
    if lb is None and not ignore_missing:
        raise OctaviaError("Load balancer '%s' was not found (no load balancer has that name or ID "
                           "among those these credentials can see)." % name_or_id)
    return lb


def list_load_balancers(conn, project_id=None, tags=None, name=None):
    """List load balancers with server-side filters, in a stable order (name, then ID)."""
    query = {}
    if project_id:
        query["project_id"] = project_id
    if tags:
        query["tags"] = list(tags)
    if name:
        query["name"] = name
    try:
        found = [to_plain(lb) for lb in conn.load_balancer.load_balancers(**query)]
    except Exception as exc:
        raise api_error(exc, "list load balancers")
    return sorted(found, key=lambda lb: (lb.get("name") or "", lb["id"]))


def list_listeners(conn, lb_id=None, protocol=None, project_id=None):
    """List listeners with one filtered listing.

    openstacksdk silently ignores ``loadbalancer_id``; the query key Octavia
    honours is ``load_balancer_id``.
    """
    query = {}
    if lb_id:
        query["load_balancer_id"] = lb_id
    if protocol:
        query["protocol"] = protocol
    if project_id:
        query["project_id"] = project_id
    try:
        return [to_plain(item) for item in conn.load_balancer.listeners(**query)]
    except Exception as exc:
        raise api_error(exc, "list the listeners%s" % (" of load balancer %s" % lb_id if lb_id else ""))


def list_pools(conn, lb_id=None, project_id=None):
    """List pools with one filtered listing (the SDK's key here is ``loadbalancer_id``)."""
    query = {}
    if lb_id:
        query["loadbalancer_id"] = lb_id
    if project_id:
        query["project_id"] = project_id
    try:
        return [to_plain(item) for item in conn.load_balancer.pools(**query)]
    except Exception as exc:
        raise api_error(exc, "list the pools%s" % (" of load balancer %s" % lb_id if lb_id else ""))


def list_members(conn, pool):
    """List the members of one pool dict; a pool deleted meanwhile has none."""
    try:
        return [to_plain(item) for item in conn.load_balancer.members(pool["id"])]
    except Exception as exc:
        if is_not_found(exc):
            return []
        raise api_error(exc, "list the members of %s" % describe(pool, "pool"))


def find_child(conn, kind, name_or_id, parent=None, ignore_missing=False):
    """Find a listener or pool by name or ID, inside ``parent`` when given.

    With a parent, its children are listed once and matched by ID or name;
    without one, a UUID-shaped value is tried as an ID, then the name is
    looked up with one filtered listing.

    :param kind: ``"listener"`` or ``"pool"``.
    :param parent: the load balancer dict that scopes the lookup, or ``None``
        to search everything the credentials can see.
    :returns: the object dict, or ``None`` when missing and ``ignore_missing``.
    :raises OctaviaError: not found, ambiguous name (``candidates``), API failure.
    """
    lbapi = conn.load_balancer
    # openstacksdk drops query keys it does not know without a word, and
    # spells the parent filter differently for listeners and pools.
    lister, getter, parent_key = {
        "listener": (lbapi.listeners, lbapi.get_listener, "load_balancer_id"),
        "pool": (lbapi.pools, lbapi.get_pool, "loadbalancer_id")}[kind]
    scope = "on %s" % describe(parent, "load balancer") if parent else "in this cloud"
    found = []
    try:
        if parent:
            found = [to_plain(item) for item in lister(**{parent_key: parent["id"]})]
        else:
            if _UUID.match(name_or_id):
                try:
                    found = [to_plain(getter(name_or_id))]
                except Exception as exc:
                    if not is_not_found(exc):
                        raise
            if not found:
                found = [to_plain(item) for item in lister(name=name_or_id)]
    except Exception as exc:
        raise api_error(exc, "look up %s '%s' %s" % (kind, name_or_id, scope))
    item = select_by_name_or_id(found, name_or_id, kind, scope)
    if item is None and not ignore_missing:
        raise OctaviaError("The %s '%s' was not found %s." % (kind, name_or_id, scope))
    return item


def api_versions(conn):
    """Return the ``versions`` list of ``GET /`` on the Octavia endpoint."""
    try:
        endpoint = conn.load_balancer.get_endpoint()
        root = re.sub(r"/v2(\.0)?/?$", "/", endpoint.rstrip("/") + "/")
        response = conn.load_balancer.get(root)
        return response.json().get("versions") or []
    except Exception as exc:
        raise api_error(exc, "read the Octavia API versions at GET /")


# ---------------------------------------------------------------------------
# Network service (floating IPs); optional, clouds without Neutron exist
# ---------------------------------------------------------------------------

def _network_unavailable(exc):
    # No catalog entry, a disabled service, or (auth_type none with one
    # endpoint for every service, as in the test lab) a 404 on the collection.
    name = exc.__class__.__name__
    return (name in ("EndpointNotFound", "EmptyCatalog", "ServiceDisabledException",
                     "ServiceDiscoveryException", "CatalogException")
            or is_not_found(exc))


def floating_ips_by_port(conn, port_id=None):
    """Map VIP port IDs to floating IP addresses through the network service.

    :param port_id: limit the listing to one port (one small request).
    :returns: ``(mapping, None)``, or ``({}, reason)`` when the cloud has no
        usable network endpoint.
    :raises OctaviaError: the network service answered with another error.
    """
    try:
        if not conn.has_service("network"):
            return {}, "the cloud has no network service in its catalog"
        query = {"port_id": port_id} if port_id else {}
        mapping = {}
        for fip in conn.network.ips(**query):
            if fip.port_id and fip.floating_ip_address:
                mapping.setdefault(fip.port_id, fip.floating_ip_address)
        return mapping, None
    except Exception as exc:
        if _network_unavailable(exc):
            return {}, "no usable network endpoint (%s)" % fault_text(exc)
        raise api_error(exc, "list floating IPs")


def cloud_and_region(conn, params):
    """Return ``(cloud, region)`` labels where known, else ``None`` each."""
    cloud = params.get("cloud") if isinstance(params.get("cloud"), str) else None
    config = getattr(conn, "config", None)
    if cloud is None and config is not None:
        name = getattr(config, "name", None)
        if name and name not in ("envvars", "defaults"):
            cloud = name
    region = params.get("region_name") or (getattr(config, "region_name", None) if config else None)
    return cloud or None, region or None


# ---------------------------------------------------------------------------
# The one wait, and writes that wait and retry
# ---------------------------------------------------------------------------

def _status_error(obj, kind):
    what = describe(obj, kind)
    return OctaviaError(
        "%s%s is in provisioning status %s (operating status %s), so Octavia will not change it; "
        "repair or delete it first." % (what[:1].upper(), what[1:], obj.get("provisioning_status"),
                                        obj.get("operating_status")),
        provisioning_status=obj.get("provisioning_status"))


def wait_lb_idle(conn, lb, deadline, listener_id=None, sleep=time.sleep):
    """Wait until the load balancer (and a listener of it) is ACTIVE.

    Octavia locks the load balancer (``PENDING_*``) while it or any child
    changes, and answers every write in that window with 409 "immutable";
    every write waits here first. ``ERROR`` fails at once.

    :param lb: the load balancer dict; when it is already ``ACTIVE`` and no
        listener is awaited, it is trusted without a new read (a race is
        caught by the 409 retry in ``write``).
    :param listener_id: also wait for this listener, and return it re-read.
    :returns: ``(load balancer dict, listener dict or None)``, freshly read.
    :raises OctaviaError: ERROR or deleted status, timeout, API failure.
    """
    if listener_id is None and lb.get("provisioning_status") == "ACTIVE":
        return lb, None
    delay = 0.2
    lbapi = conn.load_balancer
    while True:
        try:
            lb = to_plain(lbapi.get_load_balancer(lb["id"]))
        except Exception as exc:
            raise api_error(exc, "read %s" % describe(lb, "load balancer"))
        status = lb.get("provisioning_status")
        if status in ("ERROR", "DELETED", "PENDING_DELETE"):
            raise _status_error(lb, "load balancer")
        if status == "ACTIVE":
            if listener_id is None:
                return lb, None
            try:
                listener = to_plain(lbapi.get_listener(listener_id))
            except Exception as exc:
                raise api_error(exc, "read listener %s" % listener_id)
            if listener.get("provisioning_status") == "ACTIVE":
                return lb, listener
            if listener.get("provisioning_status") == "ERROR":
                raise _status_error(listener, "listener")
        if deadline.expired():
            raise OctaviaError(
                "Timed out after %ss waiting for %s to become ACTIVE; it is still %s. Raise "
                "timeout, or look at the Octavia worker." % (deadline.timeout, describe(lb, "load balancer"), status))
        sleep(min(delay, max(deadline.remaining(), 0.01)))
        delay = min(delay * 1.5, 2.0)


def write(conn, lb, doing, call, deadline, translate=None, sleep=time.sleep):
    """Run one write once the load balancer is idle, retrying 409 "immutable".

    :param lb: the load balancer dict the write locks.
    :param doing: verb phrase naming the object, for error messages.
    :param call: callable doing the SDK write; its return value is returned.
    :param translate: optional callable ``(status, faultstring) -> message or
        None`` that turns known API answers into a clearer sentence.
    :raises OctaviaError: the write failed, or ``timeout`` ran out.
    """
    delay = 0.5
    while True:
        lb = wait_lb_idle(conn, lb, deadline, sleep=sleep)[0]
        try:
            return call()
        except Exception as exc:
            status, fault = http_status(exc), fault_text(exc)
            if is_immutable_fault(status, fault) and not deadline.expired():
                # Another client (or the previous step) changed the load balancer
                # between our read and this write; wait for it to settle again.
                sleep(min(delay, max(deadline.remaining(), 0.01)))
                delay = min(delay * 2, 8.0)
                lb = dict(lb, provisioning_status="PENDING_UPDATE")
                continue
            message = translate(status, fault) if translate else None
            if message:
                raise OctaviaError(message, status=status)
            raise api_error(exc, doing)


# ---------------------------------------------------------------------------
# Bounded concurrency (Octavia has no bulk statistics or members endpoint)
# ---------------------------------------------------------------------------

def map_bounded(func, items, workers):
    """Call ``func(item)`` for every item with at most ``workers`` threads.

    :returns: ``[(item, result, exception)]`` in the order of ``items``;
        exactly one of result/exception is meaningful.
    """
    items = list(items)
    if not items:
        return []

    def guarded(item):
        try:
            return item, func(item), None
        except Exception as exc:
            return item, None, exc

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        return list(pool.map(guarded, items))
