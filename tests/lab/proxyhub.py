"""Every lab amphora's prometheus-proxy, served from one thread of the amphora agent.

Each load balancer gets its own instance of Octavia's module octavia.cmd.prometheus_proxy
(loaded afresh, so its module-level METRICS_URL is its own) and an HTTP server built
from that module's unmodified `PrometheusProxy` handler. One selector thread accepts for
all of them, and each request is handled on its own short-lived thread, as
ThreadingHTTPServer does in the amphora. That keeps 200 load balancers at one process
and a few MiB, instead of 200 Python processes.

The same thread drains haproxy's syslog datagrams (the template's `log` target) into
one traffic log, standing in for the amphora's rsyslog.
"""
import importlib.util
import logging
import os
import queue
import selectors
import socket
import threading
from http.server import ThreadingHTTPServer

LOG = logging.getLogger("lab.proxyhub")
PROXY_MODULE = "octavia.cmd.prometheus_proxy"


def load_proxy_module(metrics_url):
    """A private copy of Octavia's prometheus-proxy module that scrapes `metrics_url`."""
    spec = importlib.util.find_spec(PROXY_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.METRICS_URL = metrics_url
    return module


class ProxyHub(threading.Thread):
    """Owns the proxies' listening sockets and the haproxy log socket.

    add() and remove() are called from the agent's main thread; the sockets are only
    touched by this thread, so both hand their work over through a queue.
    """

    def __init__(self, log_socket_path, traffic_log_path):
        super().__init__(name="proxyhub", daemon=True)
        self._selector = selectors.DefaultSelector()
        self._commands = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._servers = {}
        self._stopping = False
        self._log_path = str(log_socket_path)
        try:
            os.unlink(self._log_path)
        except FileNotFoundError:
            pass
        self._log_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._log_sock.bind(self._log_path)
        os.chmod(self._log_path, 0o666)
        self._log_sock.setblocking(False)
        self._selector.register(self._log_sock, selectors.EVENT_READ, "log")
        self._traffic = open(traffic_log_path, "a", encoding="utf-8", errors="replace")

    # Called from the main thread -----------------------------------------------------------
    def add(self, key, address, metrics_url):
        """Start serving Octavia's proxy for `key` on `address`. Raises OSError if it cannot bind."""
        module = load_proxy_module(metrics_url)
        server = ThreadingHTTPServer(address, module.PrometheusProxy)
        server.daemon_threads = True
        # Closing a proxy must not wait for a scrape in flight (Octavia's urlopen has no timeout).
        server.block_on_close = False
        server.timeout = 0
        self._call("add", key, server)

    def remove(self, key):
        """Stop serving `key` and close its socket; returns once the port is released."""
        self._call("remove", key, None)

    def stop(self):
        self._call("stop", None, None)
        self.join(timeout=5)

    def keys(self):
        return set(self._servers)

    def _call(self, action, key, server):
        done = threading.Event()
        self._commands.put((action, key, server, done))
        self._wake_w.send(b"x")
        if not done.wait(timeout=10):
            LOG.error("proxy hub did not answer %s %s within 10s", action, key)

    # The hub thread ------------------------------------------------------------------------
    def run(self):
        while not self._stopping:
            for selected, _mask in self._selector.select(timeout=1.0):
                try:
                    self._dispatch(selected.data, selected.fileobj)
                except Exception:   # one bad request or datagram must not stop every proxy
                    LOG.exception("proxy hub: error while handling %s", selected.data)
        for server in self._servers.values():
            server.server_close()
        self._servers.clear()
        self._log_sock.close()
        self._traffic.close()
        try:
            os.unlink(self._log_path)
        except FileNotFoundError:
            pass

    def _dispatch(self, what, fileobj):
        if what == "wake":
            self._wake_r.recv(4096)
            self._run_commands()
        elif what == "log":
            self._drain_log()
        else:
            # handle_request() with timeout 0 accepts the one pending connection and hands
            # it to ThreadingHTTPServer's per-request thread.
            self._servers[what].handle_request()

    def _run_commands(self):
        while True:
            try:
                action, key, server, done = self._commands.get_nowait()
            except queue.Empty:
                return
            if action == "add":
                old = self._servers.pop(key, None)
                if old:
                    self._selector.unregister(old)
                    old.server_close()
                self._servers[key] = server
                self._selector.register(server, selectors.EVENT_READ, key)
            elif action == "remove":
                old = self._servers.pop(key, None)
                if old:
                    self._selector.unregister(old)
                    old.server_close()
            elif action == "stop":
                self._stopping = True
            done.set()

    def _drain_log(self):
        while True:
            try:
                data = self._log_sock.recv(65536)
            except BlockingIOError:
                break
            line = data.decode("utf-8", errors="replace").rstrip("\n")
            self._traffic.write(line + "\n")
        self._traffic.flush()
