"""Plain HTTP servers that act as pool members, so traffic through a lab load balancer is real.

    GET /              -> 200 "ok <name>"
    GET /status/NNN    -> NNN (any code from 200 to 599)
    anything else      -> the backend's default status (404 unless chosen otherwise)

HEAD, POST, PUT and DELETE answer the same way. Each backend counts what it answered.
"""
import collections
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "octavia-lab-backend"

    def _answer(self, with_body=True):
        backend = self.server.backend
        path = self.path.split("?", 1)[0]
        status = backend.default_status
        if path == "/":
            status = 200
        elif path.startswith("/status/") and path[8:].isdigit() and 200 <= int(path[8:]) <= 599:
            status = int(path[8:])
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = f"{'ok' if status < 400 else 'status'} {status} from {backend.name}\n".encode()
        backend.record(self.command, path, status)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self._answer()

    def do_HEAD(self):
        self._answer(with_body=False)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, *_args):
        """Tests count requests through `HttpBackend.hits`, not stderr."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """haproxy's health checks hang up early; that is not worth a traceback on stderr."""


class HttpBackend:
    """One HTTP server on address:port (port 0: the kernel picks a free one)."""

    def __init__(self, address="127.0.0.1", port=0, default_status=404, name=None):
        self.default_status = default_status
        self._server = _Server((address, port), _Handler)
        self._server.backend = self
        self.address, self.port = self._server.server_address[:2]
        self.name = name or f"{self.address}:{self.port}"
        self._lock = threading.Lock()
        self.hits = collections.Counter()
        self._thread = None

    @property
    def url(self):
        return f"http://{self.address}:{self.port}"

    def record(self, method, path, status):
        with self._lock:
            self.hits[(method, path, status)] += 1

    def count(self, status=None):
        """How many requests were answered (with `status`, if given)."""
        with self._lock:
            return sum(n for (_m, _p, code), n in self.hits.items() if status in (None, code))

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"backend-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
