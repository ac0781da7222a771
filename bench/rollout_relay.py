"""Count one client's Octavia API requests in a shared lab.

The lab's octavia-api logs every request with the client's address (lab.apilog reads that
log), but every process on this machine connects from 127.0.0.1, so a benchmark or a test
cannot tell its own requests from those of whoever else uses the lab at the same time.
SourceRelay is a plain TCP relay: clients connect to 127.0.0.1:<relay port> and the relay
connects to the API from a source address of our choosing inside 127.0.0.0/8. The API's log
then names that address for exactly the requests that went through the relay.

Used by bench/rollout and by tests/integration/test_inventory.py and test_listeners_role.py.
"""
import pathlib
import socket
import threading
import urllib.parse

import yaml


class SourceRelay:
    """Relay TCP connections to `upstream_url`'s host and port, from `source` (an IPv4 address)."""

    def __init__(self, upstream_url, source):
        parsed = urllib.parse.urlsplit(upstream_url)
        self.upstream = (parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
        self.scheme = parsed.scheme
        self.source = source
        self._listener = None
        self._threads = []
        self._stopping = threading.Event()

    @property
    def url(self):
        host, port = self._listener.getsockname()
        return f"{self.scheme}://{host}:{port}"

    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._spawn(self._accept)
        return self

    def stop(self):
        self._stopping.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self):
        while not self._stopping.is_set():
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=30,
                                                    source_address=(self.source, 0))
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # Half-close so the other direction can finish its response, then let go.
            for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
                try:
                    sock.shutdown(how)
                except OSError:
                    pass


def relayed_clouds_yaml(clouds_yaml, cloud, relay_url, path):
    """Write a clouds.yaml whose `cloud` reaches its API through the relay; return its path.

    Only endpoint URLs change (auth.endpoint and *_endpoint_override), so the cloud keeps its
    name, region and auth type.
    """
    data = yaml.safe_load(pathlib.Path(clouds_yaml).read_text())
    entry = data["clouds"][cloud]
    if "endpoint" in (entry.get("auth") or {}):
        entry["auth"]["endpoint"] = relay_url
    for key in list(entry):
        if key.endswith("_endpoint_override"):
            entry[key] = relay_url
    data["clouds"] = {cloud: entry}
    path = pathlib.Path(path)
    path.write_text("# Written by bench/rollout_relay.py: the lab's cloud, through a SourceRelay.\n"
                    + yaml.safe_dump(data, sort_keys=False))
    return path


def own_requests(requests, source):
    """The requests (lab.apilog dicts) that came through the relay with this source address."""
    return [r for r in requests if r["client"] == source]
