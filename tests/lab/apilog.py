"""Count the requests octavia-api served, from its own log.

The lab's octavia-api runs under gunicorn, whose access log (one line per request, in the
shape wsgiref writes for a plain `octavia-api`) goes with every other line of the API to
<lab>/logs/octavia-api.log. Both shapes are read:

    127.0.0.1 - - [01/Dec/2026:20:21:48 +0000] "GET /v2/lbaas/loadbalancers HTTP/1.1" 200 1234
    127.0.0.1 - - [26/Nov/2026 07:56:22] "GET /v2/lbaas/loadbalancers HTTP/1.1" 200 1234

A marker is the number of lines the log had at some moment; the requests after it are what
happened since.
"""
import re
import time

ACCESS_LINE = re.compile(
    r'^(?P<client>\S+) - - \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" '
    r'(?P<status>\d{3}) (?P<size>\S+)$')


def marker(log_path):
    """The current number of lines in the API log (0 if it does not exist yet)."""
    try:
        with open(log_path, "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))
    except FileNotFoundError:
        return 0


def _settle(log_path, quiet=0.3, limit=3.0):
    """Wait until the log stops growing: a request is logged after its response was sent."""
    deadline = time.monotonic() + limit
    last = marker(log_path)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = marker(log_path)
        if now == last:
            return
        last = now


def requests_since(log_path, since_line, settle=True, exclude_client=None):
    """Requests logged after line `since_line`: a list of dicts (method, path, status, client, line).

    exclude_client: leave out requests from this address (the lab's health probes).
    """
    if settle:
        _settle(log_path)
    found = []
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if number <= since_line:
                    continue
                match = ACCESS_LINE.match(line.rstrip("\n"))
                if match and match["client"] != exclude_client:
                    found.append({"method": match["method"], "path": match["path"],
                                  "status": int(match["status"]), "client": match["client"],
                                  "line": number})
    except FileNotFoundError:
        pass
    return found
