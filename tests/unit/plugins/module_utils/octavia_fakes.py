"""Unit-test doubles of the openstacksdk objects that _octavia and _rollout call: no server, no SDK.

``FakeProxy`` stands for ``conn.load_balancer``: it holds load balancer and listener dicts
and each project's listener quota (``quotas``, unlimited by default), answers the proxy
methods the collection calls and records every call in ``calls``.

Listeners are read and written as the collection does it, through the proxy's generic
``_list``/``_get``/``_create``/``_update`` with ``_sdk.Listener`` (openstacksdk's own
``listeners``/``get_listener``/``create_listener``/``update_listener`` drop client
authentication, so the fake has none of them: a call of one fails the test). Those calls are
recorded under the names of the requests they make (``listeners``, ``get_listener``,
``create_listener``, ``update_listener``), and the fake plays two scripts by those names:

- ``statuses[id]``: the provisioning statuses that successive ``get_load_balancer`` /
  ``get_listener`` reads of that object return (the last one stays);
- ``faults[method]``: what successive calls of that method do first: an exception is raised
  before anything happens, ``None`` lets the call through, ``Lost(exc)`` carries the call
  out and then raises ``exc``, as when the answer is lost on the way back.

``FakeNetwork`` stands for ``conn.network``: floating IPs and ports (with their port security).

Nothing here imports the collection or openstacksdk, so the doubles survive the ``no_sdk``
fixture's re-imports.
"""
import importlib
import itertools
import json
import threading

WRITES = ("create_listener", "update_listener", "delete_listener")


class HttpError(Exception):
    """An HTTP error answer as ``_sdk.http_status``/``fault_text`` read it: status_code and details."""

    def __init__(self, status_code, details):
        super().__init__(f"HttpException: {status_code}")
        self.status_code = status_code
        self.details = details


def immutable(lb_id="lb-1"):
    """Octavia's 409 for a write while the load balancer is PENDING_*."""
    return HttpError(409, f"Load Balancer {lb_id} is immutable and cannot be updated.")


def forbidden():
    """Octavia's 403 for credentials whose role may not do something (here: read a quota)."""
    return HttpError(403, "Policy does not allow this request to be performed.")


class Quota:
    """A quota as ``get_quota`` returns it; the collection reads ``listeners`` only."""

    def __init__(self, project_id, listeners):
        self.project_id = project_id
        self.listeners = listeners


class Lost:
    """A fault script entry: the call takes effect, then ``exc`` is raised instead of its answer."""

    def __init__(self, exc):
        self.exc = exc


class FakeClock:
    """A monotonic clock whose ``sleep`` advances it and records each pause."""

    def __init__(self, now=1000.0):
        self.now = now
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Response:
    """The part of a requests Response that ``_octavia.api_versions`` reads."""

    def __init__(self, body):
        self._body = body

    def json(self):
        return self._body


def lb_of(listener):
    """The load balancer ID of a stored listener."""
    return listener["load_balancers"][0]["id"]


class FakeProxy:
    """A scripted stand-in for openstacksdk's load_balancer proxy (see the module docstring)."""

    def __init__(self, lbs=(), listeners=(), pools=(), members=None,
                 versions=("v2.0", "v2.27"), endpoint="http://127.0.0.1:9876/v2.0"):
        self.lbs = {item["id"]: dict(item) for item in lbs}
        self.store = {item["id"]: dict(item) for item in listeners}
        self.pool_store = [dict(item) for item in pools]
        self.member_store = dict(members or {})
        self.stats = {}
        self.versions = [dict(id=v, status="SUPPORTED") for v in versions]
        self.endpoint = endpoint
        self.statuses = {}
        self.faults = {}
        self.calls = []
        # The status a created or updated listener reads as unless ``statuses`` says otherwise.
        self.new_listener_status = "ACTIVE"
        # Project ID -> its listener quota (-1 is unlimited), or an exception that
        # get_quota raises for that project; a project not listed has default_quota.
        self.quotas = {}
        self.default_quota = -1
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # -- what the tests read ------------------------------------------------------

    def ops(self):
        """The names of the methods called, in order."""
        return [call[0] for call in self.calls]

    def writes(self):
        """The write calls, in order."""
        return [call for call in self.calls if call[0] in WRITES]

    # -- plumbing -------------------------------------------------------------------

    def _enter(self, method, *args):
        with self._lock:
            self.calls.append((method,) + args)
            queue = self.faults.get(method)
            fault = queue.pop(0) if queue else None
        if isinstance(fault, BaseException):
            raise fault
        return fault

    def _read(self, objects, obj_id, kind):
        with self._lock:
            if obj_id not in objects:
                raise HttpError(404, f"{kind} {obj_id} not found.")
            obj = objects[obj_id]
            script = self.statuses.get(obj_id)
            if script:
                obj["provisioning_status"] = script.pop(0) if len(script) > 1 else script[0]
            return dict(obj)

    @staticmethod
    def _done(fault, answer):
        if isinstance(fault, Lost):
            raise fault.exc
        return answer

    # -- reads ----------------------------------------------------------------------

    def get_load_balancer(self, lb_id):
        self._enter("get_load_balancer", lb_id)
        return self._read(self.lbs, lb_id, "Load Balancer")

    def _get(self, resource_type, listener_id):
        self._enter("get_listener", listener_id)
        return self._read(self.store, listener_id, "Listener")

    def load_balancers(self, **query):
        self._enter("load_balancers", dict(query))
        tags = set(query.pop("tags", None) or [])
        with self._lock:
            return [dict(lb) for lb in self.lbs.values()
                    if all(lb.get(k) == v for k, v in query.items()) and tags <= set(lb.get("tags") or [])]

    def _list(self, resource_type, **query):
        self._enter("listeners", dict(query))
        with self._lock:
            return [dict(item) for item in self.store.values()
                    if query.get("load_balancer_id") in (None, lb_of(item))
                    and query.get("protocol") in (None, item.get("protocol"))
                    and query.get("project_id") in (None, item.get("project_id"))]

    def pools(self, **query):
        self._enter("pools", dict(query))
        return [dict(pool) for pool in self.pool_store
                if query.get("loadbalancer_id") in (None, pool["loadbalancers"][0]["id"])]

    def members(self, pool_id):
        self._enter("members", pool_id)
        if pool_id not in self.member_store:
            raise HttpError(404, f"Pool {pool_id} not found.")
        return [dict(member) for member in self.member_store[pool_id]]

    def get_load_balancer_statistics(self, lb_id):
        self._enter("get_load_balancer_statistics", lb_id)
        if lb_id not in self.stats:
            raise HttpError(404, f"Load Balancer {lb_id} not found.")
        return dict(self.stats[lb_id])

    def get_listener_statistics(self, listener_id):
        self._enter("get_listener_statistics", listener_id)
        if listener_id not in self.stats:
            raise HttpError(404, f"Listener {listener_id} not found.")
        return dict(self.stats[listener_id])

    def get_quota(self, project_id):
        self._enter("get_quota", project_id)
        value = self.quotas.get(project_id, self.default_quota)
        if isinstance(value, BaseException):
            raise value
        return Quota(project_id, value)

    def get_endpoint(self):
        return self.endpoint

    def get(self, url):
        self._enter("get", url)
        return Response({"versions": self.versions})

    # -- writes ---------------------------------------------------------------------

    def _create(self, resource_type, **body):
        fault = self._enter("create_listener", dict(body))
        with self._lock:
            if body.get("allowed_cidrs") and (self.lbs.get(body["load_balancer_id"]) or {}).get("vip_sg_ids"):
                # Octavia's rule (listener.py, _validate_cidr_compatible_with_vip).
                raise HttpError(400, "Validation failure: Allowed CIDRs are not allowed when using "
                                     "custom VIP Security Groups.")
            for item in self.store.values():
                # Octavia's rule: one listener per port of a load balancer (TCP-based protocols).
                if lb_of(item) == body["load_balancer_id"] and item.get("protocol_port") == body.get("protocol_port"):
                    raise HttpError(409, "Another Listener on this Load Balancer is already using "
                                         f"protocol_port {body.get('protocol_port')}")
            new = dict(body, id=f"new-{next(self._ids)}", provisioning_status=self.new_listener_status,
                       operating_status="ONLINE", load_balancers=[{"id": body["load_balancer_id"]}])
            del new["load_balancer_id"]
            self.store[new["id"]] = new
        return self._done(fault, dict(new, provisioning_status="PENDING_CREATE"))

    def _update(self, resource_type, listener_id, **delta):
        fault = self._enter("update_listener", listener_id, dict(delta))
        with self._lock:
            lb = self.lbs.get(lb_of(self.store[listener_id])) or {}
            if delta.get("allowed_cidrs") and lb.get("vip_sg_ids"):
                raise HttpError(400, "Validation failure: Allowed CIDRs are not allowed when using "
                                     "custom VIP Security Groups.")
            self.store[listener_id].update(delta, provisioning_status=self.new_listener_status)
            answer = dict(self.store[listener_id], provisioning_status="PENDING_UPDATE")
        return self._done(fault, answer)

    def delete_listener(self, listener_id, ignore_missing=True):
        fault = self._enter("delete_listener", listener_id)
        with self._lock:
            if listener_id not in self.store and not ignore_missing:
                raise HttpError(404, f"Listener {listener_id} not found.")
            self.store.pop(listener_id, None)
        return self._done(fault, None)


class FloatingIP:
    """A floating IP as the network proxy lists it."""

    def __init__(self, port_id, address):
        self.port_id = port_id
        self.floating_ip_address = address


class Port:
    """A port as the network proxy lists it: what port_security_by_port reads."""

    def __init__(self, port_id, port_security=True, device_owner="Octavia"):
        self.id = port_id
        self.is_port_security_enabled = port_security
        self.device_owner = device_owner


class FakeNetwork:
    """A stand-in for the network proxy.

    ``ips()`` lists floating IPs and records its query in ``queries``; ``ports()`` lists
    ports by ``id`` or ``device_owner`` and records its query in ``port_queries``.
    ``fault`` is raised by both (the network service is down or missing);
    ``port_fault`` by ``ports()`` alone.
    """

    def __init__(self, fips=(), fault=None, ports=(), port_fault=None):
        self.fips = list(fips)
        self.fault = fault
        self.port_list = list(ports)
        self.port_fault = port_fault
        self.queries = []
        self.port_queries = []

    def ips(self, **query):
        self.queries.append(query)
        if self.fault is not None:
            raise self.fault
        return [fip for fip in self.fips if query.get("port_id") in (None, fip.port_id)]

    def ports(self, **query):
        self.port_queries.append(query)
        for fault in (self.fault, self.port_fault):
            if fault is not None:
                raise fault
        ids = query.get("id")
        ids = [ids] if isinstance(ids, str) else ids
        return [port for port in self.port_list
                if (ids is None or port.id in ids)
                and query.get("device_owner") in (None, port.device_owner)]


class FakeConfig:
    """The part of an openstacksdk CloudRegion that cloud_and_region reads."""

    def __init__(self, name=None, region_name=None):
        self.name = name
        self.region_name = region_name


class FakeConn:
    """A connection: ``load_balancer`` (a ``FakeProxy``), ``network``, ``config``, ``close()``."""

    def __init__(self, proxy, network=None, config=None):
        self.load_balancer = proxy
        self.network = network
        self.config = config
        self.closed = False

    def has_service(self, name):
        return name == "network" and self.network is not None

    def close(self):
        self.closed = True


PKG = "ansible_collections.octavia.monitoring.plugins."


def run_module(name, args, proxy, monkeypatch, capsys, network=None, config=None):
    """Run ``plugins/modules/<name>.py`` as a module process would, on FakeConns of ``proxy``.

    openstacksdk is reported present and ``_sdk.connect`` is replaced by a factory of
    ``FakeConn``; use it under the ``no_sdk`` fixture.

    The task warnings are recorded at ``OctaviaModule.warn`` and returned as the result key
    ``_warned``: once controller code (``ansible.utils.display``) is imported in the process,
    as other tests do, ansible-core 2.19 sends module warnings to the display instead of the
    result's ``warnings``.

    :returns: ``(result dict, connections opened)``.
    """
    from ansible.module_utils.testing import patch_module_args
    base = importlib.import_module(PKG + "module_utils._base")
    opened, warned = [], []
    monkeypatch.setattr(base.OctaviaModule, "warn", lambda self, message: warned.append(message))

    def connect(params):
        opened.append(FakeConn(proxy, network=network, config=config))
        return opened[-1]

    monkeypatch.setattr(base, "HAS_OPENSTACKSDK", True)
    monkeypatch.setattr(base, "connect", connect)
    module = importlib.import_module(PKG + "modules." + name)
    with patch_module_args(args):
        try:
            module.main()
        except SystemExit:
            pass
    return dict(json.loads(capsys.readouterr().out), _warned=warned), opened
