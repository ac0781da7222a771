"""The running exporter: the cycle loop, the last completed snapshots, the HTTP endpoints.

``/metrics`` and ``/sd/prometheus`` are rendered from what the last cycle of each source
left behind; a scrape never calls the API. A failed cycle keeps the source's previous
snapshot (its series keep their last values) and sets its ``source_up`` to 0.
"""

import json
import logging
import socket
import socketserver
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from octavia_exporter import __version__
from octavia_exporter.collect import ERROR_KINDS, CycleError, Source
from octavia_exporter.metrics import object_families, sd_groups, self_families

LOG = logging.getLogger("octavia_exporter")
SD_PATH = "/sd/prometheus"


class SourceState:
    """What the exporter knows about one source between cycles."""

    def __init__(self, source):
        self.source = source
        self.snapshot = None
        self.up = False
        self.last_success = None
        self.duration = None
        self.requests = 0
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.failure = None
        self.warned = set()

    def as_dict(self, targets):
        """The source's health for ``metrics.self_families``."""
        snap = self.snapshot or {}
        return dict(name=self.source.name, cloud=snap.get("cloud") or self.source.settings["cloud"],
                    region=snap.get("region") or self.source.settings["region_name"] or "",
                    up=self.up, last_success=self.last_success, duration=self.duration,
                    requests=self.requests, errors=self.errors, targets=targets,
                    amphorae_visible=(None if not self.source.settings["amphorae"] or not snap
                                      else snap.get("amphorae") is not None))


class Exporter:
    """Holds the sources and their last snapshots; runs cycles; renders the endpoints."""

    def __init__(self, cfg, connect=None):
        kwargs = {} if connect is None else {"connect": connect}
        self.cfg = cfg
        self.states = [SourceState(Source(s, cfg["api_timeout"], cfg["concurrency"], **kwargs))
                       for s in cfg["sources"]]
        self.cycles = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    # -- cycles -------------------------------------------------------------------------
    def run_cycle(self):
        """Read every source once; log a failure when it starts and when it ends, not in between."""
        for state in self.states:
            started = time.monotonic()
            try:
                snap = state.source.collect()
            except CycleError as exc:
                with self._lock:
                    state.up = False
                    state.duration = time.monotonic() - started
                    state.requests += state.source.requests.take()
                    state.errors[exc.kind] = state.errors.get(exc.kind, 0) + 1
                # One line per outage, however many cycles it lasts and however its
                # symptom changes (refused, then timing out while the API restarts).
                if state.failure is None:
                    LOG.error("source %s failed (%s), its series keep their last values: %s",
                              state.source.name, exc.kind, exc)
                elif state.failure != str(exc):
                    LOG.debug("source %s still failing (%s): %s", state.source.name, exc.kind, exc)
                state.failure = str(exc)
                continue
            for key, message in snap["warnings"]:
                if key not in state.warned:
                    state.warned.add(key)
                    LOG.warning("source %s: %s", state.source.name, message)
            with self._lock:
                state.snapshot = snap
                state.up = True
                state.last_success = time.time()
                state.duration = snap["duration"]
                state.requests += snap["requests"]
            if state.failure is not None:
                LOG.info("source %s recovered", state.source.name)
                state.failure = None
        with self._lock:
            self.cycles += 1

    def run_forever(self):
        """Start a cycle every ``interval`` seconds (counted from the start of the last one)."""
        while not self._stop.is_set():
            started = time.monotonic()
            self.run_cycle()
            self._stop.wait(max(0.0, self.cfg["interval"] - (time.monotonic() - started)))

    def stop(self):
        """Make ``run_forever`` return after the current cycle."""
        self._stop.set()

    # -- rendering (never calls the API) ------------------------------------------------
    def _snapshots(self):
        with self._lock:
            return [s.snapshot for s in self.states if s.snapshot is not None], list(self.states)

    def sd(self):
        """The HTTP SD groups of the last completed cycles (logs an address problem once)."""
        snapshots = self._snapshots()[0]
        address = {s.source.name: s.source.settings["address"] for s in self.states}
        groups, problems = sd_groups(snapshots, address.get)
        for source, message in problems:
            state = next(s for s in self.states if s.source.name == source)
            if ("address", message) not in state.warned:
                state.warned.add(("address", message))
                LOG.warning("source %s: %s", source, message)
        return groups

    def collect(self):
        """prometheus_client collector interface: every family, from the last snapshots."""
        snapshots, states = self._snapshots()
        targets = {}
        address = {s.source.name: s.source.settings["address"] for s in states}
        for snap in snapshots:
            targets[snap["source"]] = len(sd_groups([snap], address.get)[0])
        with self._lock:
            health = [s.as_dict(targets.get(s.source.name, 0)) for s in states]
            cycles = self.cycles
        yield from self_families(health, cycles, __version__)
        yield from object_families(snapshots)

    def healthy(self):
        """Can it serve? True once the HTTP server runs; the API's state is in source_up."""
        return not self._stop.is_set()

    # -- HTTP ---------------------------------------------------------------------------
    def wsgi_app(self):
        """The WSGI application: /metrics, /sd/prometheus, /-/healthy and an index page."""
        metrics_app = make_wsgi_app(self.registry)

        def app(environ, start_response):
            path = environ.get("PATH_INFO") or "/"
            if path == "/metrics":
                return metrics_app(environ, start_response)
            if path == SD_PATH:
                body = json.dumps(self.sd(), indent=1).encode()
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
                return [body]
            if path == "/-/healthy":
                ok = self.healthy()
                body = b"OK\n" if ok else b"stopping\n"
                start_response("200 OK" if ok else "503 Service Unavailable",
                               [("Content-Type", "text/plain")])
                return [body]
            if path == "/":
                body = (f"<html><head><title>Octavia exporter</title></head><body>"
                        f"<h1>Octavia exporter {__version__}</h1><p><a href='/metrics'>Metrics</a>"
                        f"</p><p><a href='{SD_PATH}'>HTTP service discovery</a></p>"
                        f"</body></html>").encode()
                start_response("200 OK", [("Content-Type", "text/html")])
                return [body]
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found\n"]
        return app


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the name is the base class's)
        LOG.debug("%s %s", self.address_string(), format % args)


def parse_listen_address(value):
    """``host:port``, ``:port`` or ``[v6]:port`` -> ``(host, port)``; an empty host is every address."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--web.listen-address must be host:port, not {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(exporter, listen_address):
    """Start the HTTP server in a thread; returns the server (``server_address`` has the port)."""
    host, port = parse_listen_address(listen_address)
    server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
    server = make_server(host, port, exporter.wsgi_app(), server_class, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
