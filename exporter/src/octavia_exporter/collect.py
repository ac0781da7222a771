"""One collection cycle of one source: everything the exporter reads from the API.

The requests a cycle makes, for a source whose filters name at most one project:

- one listing each of load balancers, listeners, pools and health monitors
  (``project_id`` and ``tags`` are filtered by Octavia itself);
- one listing of amphorae (admin API; a credential without it gets one warning);
- one listing of floating IPs, only when the source's ``address`` is not ``vip``;
- one quota read per project in scope;
- one status tree per load balancer that has a pool: Octavia 19 lists members only
  below one pool (``GET /v2/lbaas/pools/{id}/members``); the status tree
  (``GET /v2/lbaas/loadbalancers/{id}/status``) is the cheapest way to read them, one
  request for every pool of a load balancer that a listener uses (a pool that no
  listener uses is listed on its own);
- one statistics read per listener (Octavia has no bulk statistics endpoint).

The per-object reads run with at most ``concurrency`` requests in flight.
"""

import threading
import time

from openstack import exceptions as sdk_exceptions

from ansible_collections.octavia.monitoring.plugins.module_utils import _octavia, _sdk
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError
from ansible_collections.octavia.monitoring.plugins.module_utils._select import (
    lb_matches,
    parent_lb_id,
    server_side_query,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._stats import stats_fields

# Error kinds of openstack_octavia_api_errors_total (one label value per kind of fault).
ERROR_KINDS = ("auth", "forbidden", "not_found", "server", "http", "timeout", "connection",
               "config", "other")


def error_kind(exc):
    """Classify an exception (raw or already an ``OctaviaError``) into one of ``ERROR_KINDS``."""
    status = _sdk.http_status(exc)
    if status is None and isinstance(exc, OctaviaError):
        status = exc.extra.get("status")
    if status == 401:
        return "auth"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "not_found"
    if isinstance(status, int) and status >= 500:
        return "server"
    if status:
        return "http"
    kind = exc.extra.get("kind") if isinstance(exc, OctaviaError) else None
    if kind in ERROR_KINDS:
        return kind
    name = exc.__class__.__name__
    if "Unauthorized" in name or "AuthorizationFailure" in name or "MissingAuth" in name:
        return "auth"
    # keystoneauth's version discovery swallows the refused connection and reports
    # only "Unable to find a version discovery document": an endpoint that does not answer.
    if name == "DiscoveryFailure":
        return "connection"
    cause, depth = exc, 0
    while cause is not None and depth < 10:
        if "Timeout" in cause.__class__.__name__:
            return "timeout"
        if _sdk.is_connection_fault(cause):
            return "connection"
        cause, depth = cause.__cause__ or cause.__context__, depth + 1
    return "other"


class CycleError(Exception):
    """The cycle of a source failed; ``kind`` is one of ``ERROR_KINDS``."""

    def __init__(self, message, kind):
        super().__init__(message)
        self.kind = kind


class RequestCounter:
    """Counts the HTTP answers of connections it is attached to (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    def attach(self, conn):
        """Count every response of ``conn`` from now on (a requests response hook)."""
        def hook(response, *args, **kwargs):
            with self._lock:
                self.count += 1
            return response
        conn.session.session.hooks.setdefault("response", []).append(hook)

    def take(self):
        """Return the count so far and start again from 0."""
        with self._lock:
            count, self.count = self.count, 0
        return count


class Source:
    """One configured source: its connection (kept across cycles) and how to read it."""

    def __init__(self, settings, api_timeout, concurrency, connect=_sdk.connect):
        self.settings = settings
        self.name = settings["name"]
        self.api_timeout = api_timeout
        self.concurrency = concurrency
        self._connect = connect
        self._conn = None
        self.requests = RequestCounter()

    def open(self):
        """A new connection to the source, its requests counted."""
        conn = self._connect(dict(cloud=self.settings["cloud"], region_name=self.settings["region_name"],
                                  api_timeout=self.api_timeout))
        self.requests.attach(conn)
        return conn

    def connection(self):
        """The source's connection, opened on first use (and again after a failure)."""
        if self._conn is None:
            self._conn = self.open()
        return self._conn

    def reset(self):
        """Drop the connection, so the next cycle authenticates again."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken session must not hide the fault that broke it
                pass

    def labels(self, conn):
        """``(cloud, region)`` label values: the source's ``labels`` win over the connection's."""
        region = self.settings["region_name"] or getattr(conn.config, "region_name", None)
        return (self.settings["labels"].get("cloud") or self.settings["cloud"],
                self.settings["labels"].get("region") or region or "")

    def collect(self):
        """Run one cycle.

        :returns: the snapshot dict (see ``read``), with ``duration`` and ``requests``.
        :raises CycleError: the source could not be read; the connection is dropped.
        """
        started = time.monotonic()
        try:
            snapshot = read(self.connection(), self.settings, self.concurrency, self.labels, self.open)
        except Exception as exc:
            self.reset()
            kind = error_kind(exc)
            message = str(_sdk.api_error(exc, f"read the Octavia API of source '{self.name}'"))
            raise CycleError(message, kind) from None
        finally:
            requests = self.requests.take()
        snapshot.update(duration=time.monotonic() - started, requests=requests)
        return snapshot


def _plain_list(doing, call, **query):
    try:
        return [_sdk.to_plain(item) for item in call(**query)]
    except Exception as exc:
        raise _sdk.api_error(exc, doing) from None


def _optional(what, call, warnings, key):
    """Run an optional read; a refusal (401/403/404) becomes a warning and ``None``."""
    try:
        return call()
    except Exception as exc:
        if error_kind(exc) in ("forbidden", "auth", "not_found"):
            warnings.append((key, f"{what} are not exported: {_sdk.api_error(exc, 'list ' + what)}"))
            return None
        raise


def _status_tree(lb_id, conn):
    """Members (with pool and load balancer IDs) from one load balancer's status tree."""
    response = conn.load_balancer.get(f"/lbaas/loadbalancers/{lb_id}/status")
    if response.status_code == 404:
        return []
    sdk_exceptions.raise_from_response(response)
    tree = (response.json().get("statuses") or {}).get("loadbalancer") or {}
    members, seen = [], set()
    for listener in tree.get("listeners") or []:
        for pool in listener.get("pools") or []:
            for member in pool.get("members") or []:
                if member.get("id") in seen:
                    continue
                seen.add(member.get("id"))
                members.append(dict(member, pool_id=pool.get("id"), loadbalancer_id=lb_id))
    return members


def _listener_stats(listener_id, conn):
    try:
        return stats_fields(_sdk.to_plain(conn.load_balancer.get_listener_statistics(listener_id)))
    except Exception as exc:
        if _sdk.is_not_found(exc):
            return None
        raise


def _bounded(func, items, workers, doing, conn, connect):
    """``{item: result}`` of ``func(item, conn)`` with bounded concurrency; the first fault raises.

    Each worker thread gets its own connection from ``connect`` (``_octavia.map_bounded``):
    openstacksdk documents no thread safety for one connection.
    """
    out = {}
    for item, result, exc in _octavia.map_bounded(func, items, workers, connect=connect,
                                                  inline_conn=conn):
        if exc is not None:
            raise _sdk.api_error(exc, doing(item)) from None
        if result is not None:
            out[item] = result
    return out


def read(conn, settings, concurrency, labels, connect):
    """Read one source's objects from the API.

    :param settings: the validated source (``config.SOURCE_DEFAULTS`` keys plus ``name``).
    :param labels: callable ``conn -> (cloud, region)``.
    :param connect: zero-argument factory of further connections to the same source,
        one per worker thread of the per-object reads.
    :returns: dict with ``source``, ``cloud``, ``region``, ``load_balancers`` (those
        that pass the filters), their ``listeners``, ``pools``, ``healthmonitors``,
        ``members`` (or ``None`` when not read), ``amphorae`` (``None`` when not
        readable), ``quotas`` (project ID -> quota dict, ``None`` when not readable),
        ``usage`` (project ID -> counts), ``stats`` (listener ID -> statistics),
        ``floating_ips`` (VIP port ID -> address) and ``warnings`` (``(key, message)``).
    :raises Exception: a listing failed (the caller turns it into a ``CycleError``).
    """
    filters = settings["filters"]
    query = server_side_query(filters)
    warnings = []
    all_lbs = _octavia.list_load_balancers(conn, project_id=query["project_id"], tags=query["tags"])
    lbs = [lb for lb in all_lbs if lb_matches(lb, filters)]
    wanted = {lb["id"] for lb in lbs}
    project = query["project_id"]
    project_query = {"project_id": project} if project else {}
    all_listeners = _octavia.list_listeners(conn, project_id=project)
    all_pools = _octavia.list_pools(conn, project_id=project)
    all_hms = _plain_list("list the health monitors", conn.load_balancer.health_monitors,
                          **project_query)
    listeners = [x for x in all_listeners if parent_lb_id(x) in wanted]
    pools = [x for x in all_pools if parent_lb_id(x) in wanted]
    pool_ids = {p["id"] for p in pools}
    hms = [h for h in all_hms if any(p.get("id") in pool_ids for p in h.get("pools") or [])]

    amphorae = None
    if settings["amphorae"]:
        amphorae = _optional("amphorae", lambda: [
            _sdk.to_plain(a) for a in conn.load_balancer.amphorae()], warnings, "amphorae")
        if amphorae is not None:
            amphorae = [a for a in amphorae if a.get("loadbalancer_id") in wanted]

    floating_ips = {}
    if settings["address"] != "vip":
        floating_ips, reason = _octavia.floating_ips_by_port(conn)
        if reason:
            warnings.append(("floating_ips", f"floating IPs are not read: {reason}"))

    projects = sorted(set(filters.get("project_ids") or []) | {lb.get("project_id") for lb in lbs}
                      - {None, ""})
    quotas = None
    if settings["quotas"] and projects:
        quotas = _optional("quotas", lambda: {
            p: _sdk.to_plain(conn.load_balancer.get_quota(p)) for p in projects}, warnings, "quotas")

    members = None
    if settings["members"]:
        with_pools = sorted({parent_lb_id(p) for p in pools if p.get("listeners")} - {None})
        trees = _bounded(_status_tree, with_pools, concurrency,
                         lambda lb_id: f"read the status tree of load balancer {lb_id}", conn, connect)
        members = [m for lb_id in with_pools for m in trees.get(lb_id, [])]
        # The status tree walks listeners, so a pool no listener uses is not in it:
        # those few pools are listed one by one.
        orphans = {p["id"]: p for p in pools if not p.get("listeners")}
        listed = _bounded(lambda pool_id, c: _octavia.list_members(c, orphans[pool_id]),
                          sorted(orphans), concurrency,
                          lambda pool_id: f"list the members of pool {pool_id}", conn, connect)
        members += [dict(m, pool_id=pool_id, loadbalancer_id=parent_lb_id(orphans[pool_id]))
                    for pool_id, found in sorted(listed.items()) for m in found]

    stats = {}
    if settings["statistics"]:
        stats = _bounded(_listener_stats, [x["id"] for x in listeners], concurrency,
                         lambda listener_id: f"read the statistics of listener {listener_id}",
                         conn, connect)

    cloud, region = labels(conn)
    return dict(source=settings["name"], cloud=cloud, region=region, labels=settings["labels"],
                load_balancers=lbs,
                listeners=listeners, pools=pools, healthmonitors=hms, members=members,
                amphorae=amphorae, quotas=quotas,
                usage=usage_by_project(all_lbs, all_listeners, all_pools, all_hms),
                stats=stats, floating_ips=floating_ips, warnings=warnings,
                collected_at=time.time())


def usage_by_project(lbs, listeners, pools, healthmonitors):
    """Objects per project and quota resource, counted from the unfiltered listings.

    :returns: dict project ID -> ``{"load_balancers": n, "listeners": n, "pools": n,
        "health_monitors": n}`` (the quota's own key names).
    """
    usage = {}
    for key, items in (("load_balancers", lbs), ("listeners", listeners), ("pools", pools),
                       ("health_monitors", healthmonitors)):
        for item in items:
            counts = usage.setdefault(item.get("project_id") or "", dict.fromkeys(
                ("load_balancers", "listeners", "pools", "health_monitors"), 0))
            counts[key] += 1
    return usage
