# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Octavia API access: scoped finders, fleet listings, the one wait, the one write.

Every function takes an openstacksdk ``Connection`` and returns plain dicts
(``_sdk.to_plain``); API failures leave here as ``OctaviaError``. This is the
only module that waits or retries. It imports openstacksdk only through
``_sdk`` and never imports Ansible, so the exporter service uses it too.
"""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError, PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._sdk import (
    Listener,
    api_error,
    fault_text,
    http_status,
    is_not_found,
    is_transient,
    to_plain,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._select import (
    lb_matches,
    listeners_by_lb,
    not_found_message,
    select_by_name_or_id,
    server_side_query,
)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class Deadline:
    """One time budget shared by every wait and retry of one load balancer's work."""

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
        return f"{kind} '{obj['name']}' ({obj['id']})"
    return f"{kind} {obj['id']}"


# ---------------------------------------------------------------------------
# Finders and listings
# ---------------------------------------------------------------------------

def find_load_balancer(conn, name_or_id, ignore_missing=False):
    """Find one load balancer by ID or name.

    A UUID-shaped value is tried as an ID first (one GET); otherwise, or when
    no such ID exists, the name is looked up with one filtered listing.

    :returns: the load balancer dict, or ``None`` when missing and ``ignore_missing``.
    :raises OctaviaError: not found (unless ``ignore_missing``), the name is
        ambiguous (the message and ``candidates`` list the IDs), or the API failed.
    """
    if _UUID.match(name_or_id):
        try:
            return to_plain(conn.load_balancer.get_load_balancer(name_or_id))
        except Exception as exc:
            if not is_not_found(exc):
                raise api_error(exc, f"read load balancer {name_or_id}") from None
    found = list_load_balancers(conn, name=name_or_id)
    lb = select_by_name_or_id(found, name_or_id, "load balancer")
    if lb is None and not ignore_missing:
        raise OctaviaError(not_found_message(name_or_id))
    return lb


def _listing(conn, doing, method, **query):
    # ``method`` names a proxy method, or is a function of the connection; either way the
    # proxy is looked up inside the try: its first use runs version discovery, which is
    # where an unreachable endpoint shows first.
    try:
        query = {k: v for k, v in query.items() if v}
        found = method(conn, **query) if callable(method) else getattr(conn.load_balancer, method)(**query)
        return [to_plain(item) for item in found]
    except Exception as exc:
        raise api_error(exc, doing) from None


# ---------------------------------------------------------------------------
# Listener requests: every read and write of a listener goes through these
# ---------------------------------------------------------------------------
# openstacksdk 4.x's own listener calls (create_listener, update_listener,
# get_listener, listeners) use a resource without client authentication: a
# write drops client_ca_tls_container_ref, client_authentication and
# client_crl_container_ref without a word and a read leaves them out. These
# make the same requests through the proxy with _sdk.Listener, which has them.
# They return plain dicts and let SDK exceptions through, for write() to retry
# or to put into one sentence.

def listener_list(conn, **query):
    """List listeners (SDK query keys, e.g. ``load_balancer_id``, ``protocol``) as plain dicts."""
    return [to_plain(item) for item in conn.load_balancer._list(Listener, **query)]


def listener_get(conn, listener_id):
    """Read one listener as a plain dict."""
    return to_plain(conn.load_balancer._get(Listener, listener_id))


def listener_create(conn, lb_id, body):
    """Create a PROMETHEUS listener on load balancer ``lb_id`` from ``body``; the answer as a plain dict."""
    return to_plain(conn.load_balancer._create(Listener, load_balancer_id=lb_id, protocol="PROMETHEUS",
                                               **body))


def listener_update(conn, listener_id, delta):
    """Send ``delta`` (only what changes; ``None`` clears a value) to a listener; the answer as a plain dict."""
    return to_plain(conn.load_balancer._update(Listener, listener_id, **delta))


def listener_delete(conn, listener_id):
    """Delete a listener; one that is gone already is not an error."""
    conn.load_balancer.delete_listener(listener_id, ignore_missing=True)


def list_load_balancers(conn, project_id=None, tags=None, name=None):
    """List load balancers with server-side filters, in a stable order (name, then ID)."""
    found = _listing(conn, "list load balancers", "load_balancers",
                     project_id=project_id, tags=list(tags or []), name=name)
    return sorted(found, key=lambda lb: (lb.get("name") or "", lb["id"]))


def list_listeners(conn, lb_id=None, protocol=None, project_id=None):
    """List listeners with one filtered listing.

    openstacksdk silently ignores ``loadbalancer_id``; the query key Octavia
    honours is ``load_balancer_id``.
    """
    scope = f" of load balancer {lb_id}" if lb_id else ""
    return _listing(conn, f"list the listeners{scope}", listener_list,
                    load_balancer_id=lb_id, protocol=protocol, project_id=project_id)


def list_pools(conn, lb_id=None, project_id=None):
    """List pools with one filtered listing (the SDK's key here is ``loadbalancer_id``)."""
    scope = f" of load balancer {lb_id}" if lb_id else ""
    return _listing(conn, f"list the pools{scope}", "pools",
                    loadbalancer_id=lb_id, project_id=project_id)


def list_members(conn, pool):
    """List the members of one pool dict; a pool deleted meanwhile has none."""
    try:
        return [to_plain(item) for item in conn.load_balancer.members(pool["id"])]
    except Exception as exc:
        if is_not_found(exc):
            return []
        raise api_error(exc, f"list the members of {describe(pool, 'pool')}") from None


def find_child(conn, kind, name_or_id, parent, ignore_missing=False):
    """Find a listener or pool by name or ID inside its load balancer.

    :param kind: ``"listener"`` or ``"pool"``.
    :param parent: the load balancer dict that scopes the lookup.
    :returns: the object dict, or ``None`` when missing and ``ignore_missing``.
    :raises OctaviaError: not found, ambiguous name (``candidates``), API failure.
    """
    lister = {"listener": list_listeners, "pool": list_pools}[kind]
    scope = f"on {describe(parent, 'load balancer')}"
    item = select_by_name_or_id(lister(conn, lb_id=parent["id"]), name_or_id, kind, scope)
    if item is None and not ignore_missing:
        raise OctaviaError(f"The {kind} '{name_or_id}' was not found {scope}.")
    return item


def api_versions(conn):
    """Return the ``versions`` list of ``GET /`` on the Octavia endpoint."""
    try:
        endpoint = conn.load_balancer.get_endpoint()
        root = re.sub(r"/v2(\.0)?/?$", "/", endpoint.rstrip("/") + "/")
        return conn.load_balancer.get(root).json().get("versions") or []
    except Exception as exc:
        raise api_error(exc, "read the Octavia API versions at GET /") from None


def _network_unavailable(exc):
    # No catalog entry, a disabled service, or (auth_type none with one
    # endpoint for every service, as in the test lab) a 404 on the collection.
    return (exc.__class__.__name__ in ("EndpointNotFound", "EmptyCatalog", "ServiceDisabledException",
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
        mapping = {}
        for fip in conn.network.ips(**({"port_id": port_id} if port_id else {})):
            if fip.port_id and fip.floating_ip_address:
                mapping.setdefault(fip.port_id, fip.floating_ip_address)
        return mapping, None
    except Exception as exc:
        if _network_unavailable(exc):
            return {}, f"no usable network endpoint ({fault_text(exc)})"
        raise api_error(exc, "list floating IPs") from None


# VIP port IDs per ports request: the IDs travel in the query string.
PORTS_PER_REQUEST = 100


def port_security_by_port(conn, port_ids):
    """Map VIP port IDs to their ``port_security_enabled`` through the network service.

    One listing of ports by ID per ``PORTS_PER_REQUEST`` IDs (a VIP port may
    be one the user made, so the ports Octavia owns are not enough); ``{}``
    when the cloud has no usable network endpoint, so the check is made
    where it can be and skipped where it cannot.

    :raises OctaviaError: the network service answered with another error.
    """
    port_ids = sorted({p for p in port_ids if p})
    found = {}
    try:
        if not port_ids or not conn.has_service("network"):
            return {}
        for start in range(0, len(port_ids), PORTS_PER_REQUEST):
            chunk = port_ids[start:start + PORTS_PER_REQUEST]
            query = {"id": chunk[0] if len(chunk) == 1 else chunk}
            found.update({port.id: port.is_port_security_enabled for port in conn.network.ports(**query)})
        return found
    except Exception as exc:
        if _network_unavailable(exc):
            return {}
        raise api_error(exc, "list the VIP ports") from None


def listener_quota(conn, project_id):
    """The project's listener quota (``-1`` is unlimited), or ``None`` when it may not be read.

    Octavia answers with the project's own quota or the configured default.
    Credentials without the right to read quotas (HTTP 401/403) get ``None``,
    and the caller goes on without the check.

    :raises OctaviaError: any other API failure.
    """
    try:
        return conn.load_balancer.get_quota(project_id).listeners
    except Exception as exc:
        if http_status(exc) in (401, 403):
            return None
        raise api_error(exc, f"read the listener quota of project {project_id}") from None


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


def read_fleet(conn, filters=None, floating_ips=True, port_security=False):
    """Read what a fleet needs from one cloud and region with a few listings.

    One listing of load balancers (filtered server-side where Octavia can),
    one of listeners, one of floating IPs and, when asked, one of the VIP
    ports: never one request per load balancer.

    :param filters: ``_select.normalise_filters()`` output.
    :param port_security: also read the VIP ports' port security (for the
        ``allowed_cidrs`` guard), where the network API answers.
    :returns: dict with ``load_balancers`` (matching, sorted by name then ID),
        ``listeners`` (load balancer ID -> its listeners), ``floating_ips``
        (VIP port ID -> floating IP), ``port_security`` (VIP port ID ->
        ``port_security_enabled``, where the network API tells) and
        ``listener_usage`` (project ID -> its listeners; projects whose
        listeners were not all listed are missing).
    :raises OctaviaError: an API failure.
    """
    filters = filters or {}
    query = server_side_query(filters)
    lbs = [lb for lb in list_load_balancers(conn, project_id=query["project_id"], tags=query["tags"])
           if lb_matches(lb, filters)]
    fleet = dict(load_balancers=lbs, listeners={}, floating_ips={}, port_security={},
                 listener_usage={})
    if lbs:
        wanted = {lb["id"] for lb in lbs}
        every = list_listeners(conn, project_id=query["project_id"])
        fleet["listeners"] = {k: v for k, v in listeners_by_lb(every).items() if k in wanted}
        # Every listener of a listed project counts against its quota, not only the selected ones.
        for item in every:
            project = item.get("project_id")
            fleet["listener_usage"][project] = fleet["listener_usage"].get(project, 0) + 1
        if floating_ips or port_security:
            fips, missing = floating_ips_by_port(conn)
            fleet["floating_ips"] = fips if floating_ips else {}
            if port_security and not missing:
                fleet["port_security"] = port_security_by_port(conn, [lb.get("vip_port_id") for lb in lbs])
    return fleet


def read_load_balancer(conn, name_or_id, ignore_missing=False, floating_ip=True, port_security=False):
    """Read one load balancer in the shape of ``read_fleet()``: the fleet path for one.

    One lookup of the load balancer, one listing of its listeners and, when
    asked and it has a VIP port, one small lookup of that port's floating IP.

    :returns: the ``read_fleet()``-shaped dict, or ``None`` when the load
        balancer is missing and ``ignore_missing``.
    :raises OctaviaError: not found (unless ``ignore_missing``), ambiguous, API failure.
    """
    lb = find_load_balancer(conn, name_or_id, ignore_missing=ignore_missing)
    if lb is None:
        return None
    fleet = dict(load_balancers=[lb], listeners={lb["id"]: list_listeners(conn, lb["id"])},
                 floating_ips={}, port_security={}, listener_usage={})
    if (floating_ip or port_security) and lb.get("vip_port_id"):
        fips, missing = floating_ips_by_port(conn, lb["vip_port_id"])
        fleet["floating_ips"] = fips if floating_ip else {}
        if port_security and not missing:
            fleet["port_security"] = port_security_by_port(conn, [lb["vip_port_id"]])
    return fleet


# ---------------------------------------------------------------------------
# The one wait, and the one write
# ---------------------------------------------------------------------------

BROKEN_LB_STATES = ("ERROR", "DELETED", "PENDING_DELETE")


def status_error(obj, kind, **extra):
    """The sentence for an object Octavia will not change in its current status."""
    what = describe(obj, kind)
    return OctaviaError(
        f"{what[:1].upper()}{what[1:]} is in provisioning status {obj.get('provisioning_status')} "
        f"(operating status {obj.get('operating_status')}), so Octavia will not change it; "
        f"repair or delete it first.", provisioning_status=obj.get("provisioning_status"), **extra)


def wait_lb_idle(conn, lb, deadline, listener_id=None, sleep=time.sleep):
    """Wait until the load balancer (and a listener of it) is ACTIVE.

    Octavia locks the load balancer (``PENDING_*``) while it or any child
    changes, and answers every write in that window with 409 "immutable";
    every write waits here first. ``ERROR`` fails at once.

    :param lb: the load balancer dict; when it is already ``ACTIVE`` and no
        listener is awaited, it is trusted without a new read (a race is
        caught by the 409 retry in ``write``).
    :param listener_id: also wait for this listener, and return it re-read.
    :param sleep: the pause between reads (tests pass a fake clock's sleep).
    :returns: ``(load balancer dict, listener dict or None)``, freshly read.
    :raises OctaviaError: ERROR or deleted status (``provisioning_status``
        in ``extra``), timeout (``kind="stuck"``), API failure.
    """
    if listener_id is None and lb.get("provisioning_status") == "ACTIVE":
        return lb, None
    delay, listener = 0.2, None
    status = lb.get("provisioning_status")
    while True:
        reading = describe(lb, "load balancer")
        try:
            lb = to_plain(conn.load_balancer.get_load_balancer(lb["id"]))
            status = lb.get("provisioning_status")
            if status in BROKEN_LB_STATES:
                raise status_error(lb, "load balancer")
            if status == "ACTIVE":
                if listener_id is None:
                    return lb, None
                reading = f"listener {listener_id}"
                listener = listener_get(conn, listener_id)
                if listener.get("provisioning_status") == "ACTIVE":
                    return lb, listener
                if listener.get("provisioning_status") == "ERROR":
                    raise status_error(listener, "listener", listener=listener)
        except OctaviaError:
            raise
        except Exception as exc:
            # A poll that met a reset or a 5xx is simply made again, within the deadline.
            if not is_transient(exc) or deadline.expired():
                raise api_error(exc, f"read {reading}") from None
        if deadline.expired():
            waiting = describe(lb, "load balancer")
            state = status
            if status == "ACTIVE" and listener is not None:
                waiting, state = describe(listener, "listener"), listener.get("provisioning_status")
            raise OctaviaError(
                f"Timed out after {deadline.timeout}s waiting for {waiting} to become ACTIVE; it "
                f"is still {state}. If it stays there, the Octavia worker that held it may have "
                f"died: look at the worker, then raise timeout or repair the object.",
                kind="stuck", provisioning_status=state)
        sleep(min(delay, max(deadline.remaining(), 0.01)))
        delay = min(delay * 1.5, 2.0)


def is_immutable_fault(status, fault):
    """True for Octavia's 409 while the load balancer is busy (PENDING_*)."""
    return status == 409 and "immutable" in (fault or "")


def write(conn, lb, doing, call, deadline, translate=None, recover=None, sleep=time.sleep):
    """Run one write once the load balancer is idle; retry what is worth retrying.

    Retried within ``deadline``, with backoff: Octavia's 409 "immutable" (the
    load balancer changed between our read and the write), a connection that
    was refused or reset, and HTTP 500/502/503/504. A request that got no
    clear answer may still have been carried out, so before a retry
    ``recover()`` is asked whether it was; a create is therefore never sent
    twice for one listener.

    :param lb: the load balancer dict the write locks.
    :param doing: verb phrase naming the object, for error messages.
    :param call: callable doing the SDK write; its return value is returned.
    :param translate: optional ``(status, faultstring) -> sentence or None``
        that puts known API answers in clearer words.
    :param recover: optional callable returning the object the write made
        if it did take effect, else ``None``.
    :raises OctaviaError: the write failed, or the deadline ran out.
    """
    delay = 0.5
    while True:
        lb = wait_lb_idle(conn, lb, deadline, sleep=sleep)[0]
        try:
            return call()
        except Exception as exc:
            status, fault = http_status(exc), fault_text(exc)
            busy = is_immutable_fault(status, fault)
            if (busy or is_transient(exc)) and not deadline.expired():
                sleep(min(delay, max(deadline.remaining(), 0.01)))
                delay = min(delay * 2, 8.0)
                lb = dict(lb, provisioning_status="PENDING_UPDATE")
                if not busy and recover is not None:
                    done = _recovered(recover, doing, deadline, sleep)
                    if done is not None:
                        return done
                continue
            message = translate(status, fault) if translate else None
            if message:
                raise OctaviaError(message, status=status, kind="http") from None
            raise api_error(exc, doing) from None


def _recovered(recover, doing, deadline, sleep):
    """Ask ``recover()`` whether a write went through, until it can tell.

    A transient fault of its own read is no answer: sending the write again
    then could duplicate it, so the question is asked again (with backoff,
    within the deadline) instead.

    :returns: the object the write made, or ``None`` when it was not made.
    :raises OctaviaError: ``recover()`` failed for good, or the deadline ran out.
    """
    delay = 0.5
    while True:
        try:
            return recover()
        except Exception as exc:
            if not is_transient(exc) or deadline.expired():
                raise api_error(exc, doing) from None
        sleep(min(delay, max(deadline.remaining(), 0.01)))
        delay = min(delay * 2, 8.0)


# ---------------------------------------------------------------------------
# Bounded concurrency, one connection per worker thread
# ---------------------------------------------------------------------------

# Octavia changes each load balancer one write at a time, and every worker
# thread holds a connection of its own: beyond this many, more threads only
# queue on the API and multiply sessions.
MAX_CONCURRENCY = 32


def check_concurrency(value):
    """Fail unless ``value`` is an allowed number of worker threads (1 to ``MAX_CONCURRENCY``)."""
    if not 1 <= value <= MAX_CONCURRENCY:
        raise PlanError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, not {value}: the "
                        "API serves each load balancer one change at a time, so more threads only "
                        "queue on it.")


def map_bounded(func, items, workers, connect=None, inline_conn=None):
    """Call ``func(item)`` (or ``func(item, conn)``) for every item with at most ``workers`` threads.

    :param connect: optional zero-argument factory; each worker thread then
        opens its own connection once and passes it as ``func``'s second
        argument. openstacksdk documents no thread safety for one
        ``Connection``, so none is shared between threads; every connection
        opened here is closed before returning.
    :param inline_conn: with ``connect``: when one item or one worker leaves
        nothing to run in parallel, the items run in the calling thread with
        this connection instead (no thread, no second connection).
    :returns: ``[(item, result, exception)]`` in the order of ``items``;
        exactly one of result/exception is meaningful.
    """
    items = list(items)
    if not items:
        return []
    if connect is not None and inline_conn is not None and (len(items) == 1 or workers <= 1):
        out = []
        for item in items:
            try:
                out.append((item, func(item, inline_conn), None))
            except Exception as exc:
                out.append((item, None, exc))
        return out
    local, opened, lock = threading.local(), [], threading.Lock()

    def guarded(item):
        try:
            if connect is None:
                return item, func(item), None
            if getattr(local, "conn", None) is None:
                local.conn = connect()
                with lock:
                    opened.append(local.conn)
            return item, func(item, local.conn), None
        except Exception as exc:
            return item, None, exc

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
            return list(pool.map(guarded, items))
    finally:
        for conn in opened:
            try:
                conn.close()
            except Exception:
                pass
