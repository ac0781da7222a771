"""A small HTTP receiver that records every Alertmanager webhook POST it gets.

Standard library only. As a library:

    from helpers.webhook_receiver import WebhookReceiver

    with WebhookReceiver() as hook:             # 127.0.0.1, a free port
        ...  # point an Alertmanager webhook receiver at hook.url
        hook.wait_for(lambda: hook.alerts(name="OctaviaMemberDown", status="firing"))
        hook.posts                               # every POST body, parsed, in arrival order

As a script (demos), it appends one JSON document per line to FILE for each POST:

    python tests/helpers/webhook_receiver.py --port 9095 --out /tmp/webhook.jsonl

Every POST is answered 200, whatever its path; a body that is not JSON is recorded as
{"invalid": "<text>"}, so a test sees it rather than losing it. GET / answers with the
number of POSTs received so far (a readiness probe).
"""
import argparse
import json
import pathlib
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server_version = "octavia-webhook-receiver/1"

    def do_POST(self):  # noqa: N802 - the name http.server calls
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode(errors="replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"invalid": raw}
        self.server.receiver.record(self.path, body)
        self._answer(200, b"ok\n")

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self._answer(200, f"{len(self.server.receiver.posts)}\n".encode())

    def _answer(self, status, payload):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # noqa: A002 - the signature http.server uses
        """Quiet: tests read what was received, not an access log."""


class WebhookReceiver:
    """Record the webhook POSTs of an Alertmanager.

    host/port: where to listen (127.0.0.0/8 only; port 0 picks a free one).
    out: a file to append each POST to as one line of JSON (optional).
    """

    def __init__(self, host="127.0.0.1", port=0, out=None):
        if not host.startswith("127."):
            raise ValueError("tests only listen on 127.0.0.0/8")
        self.host = host
        self.port = port
        self.out = pathlib.Path(out) if out else None
        self.posts = []
        self.paths = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    @property
    def url(self):
        """The URL to give Alertmanager's webhook_configs."""
        return f"http://{self.host}:{self.port}/alerts"

    def record(self, path, body):
        """Keep one POST (called by the handler thread)."""
        with self._lock:
            self.posts.append(body)
            self.paths.append(path)
            if self.out is not None:
                with self.out.open("a") as handle:
                    handle.write(json.dumps(body, sort_keys=True) + "\n")

    def start(self):
        """Listen and serve in a background thread. Returns self."""
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def alerts(self, name=None, status=None):
        """Every alert of every POST, in arrival order, optionally of one alertname and status.

        Each item is the alert as Alertmanager sent it (status, labels, annotations,
        startsAt, fingerprint, ...) plus `receiver`, the receiver name of its POST.
        """
        with self._lock:
            posts = list(self.posts)
        found = []
        for post in posts:
            for alert in post.get("alerts") or []:
                if name is not None and alert.get("labels", {}).get("alertname") != name:
                    continue
                if status is not None and alert.get("status") != status:
                    continue
                found.append({**alert, "receiver": post.get("receiver")})
        return found

    @staticmethod
    def wait_for(predicate, timeout=60, interval=0.5, message="a webhook POST"):
        """Call predicate until it returns something truthy; return that, or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
            time.sleep(interval)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True, help="append each POST here, one JSON document per line")
    opts = parser.parse_args()
    receiver = WebhookReceiver(opts.host, opts.port, opts.out).start()
    print(f"webhook receiver on {receiver.url}, recording to {opts.out}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
