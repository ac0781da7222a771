"""Count one client's Octavia API requests in a shared lab.

The lab's octavia-api logs every request with the client's address (lab.apilog reads that
log), but every process on this machine connects from 127.0.0.1, so a benchmark or a test
cannot tell its own requests from those of whoever else uses the lab at the same time.
SourceRelay is a plain TCP relay: clients connect to 127.0.0.1:<relay port> and the relay
connects to the API from a source address of our choosing inside 127.0.0.0/8. The API's log
then names that address for exactly the requests that went through the relay.

The relay is its own process with one selector loop: relaying from threads of the measuring
process made every request wait for that process's interpreter lock (6x slower under 8
concurrent clients), which would have distorted the figures it exists to collect.

Used by bench/rollout and by tests/integration/test_inventory.py and test_listeners_role.py.
"""
import pathlib
import random
import selectors
import socket
import subprocess
import sys
import urllib.parse

import yaml

CHUNK = 65536


# Every relay holds a listening socket on <its source address>:CLAIM_PORT for its lifetime, so
# two relays (two test sessions, two benchmarks) never share a source address.
CLAIM_PORT = 1


class SourceRelay:
    """Relay TCP connections to `upstream_url`'s host and port, from a source address of its own.

    `source_net` is a /24 given as its first three octets ("127.6.255"); the relay claims a free
    address in it, available as `.source` once started.
    """

    def __init__(self, upstream_url, source_net):
        parsed = urllib.parse.urlsplit(upstream_url)
        self.upstream = (parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
        self.scheme = parsed.scheme
        self.source_net = source_net
        self.source = None
        self.port = None
        self._proc = None

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self):
        self._proc = subprocess.Popen(
            [sys.executable, __file__, self.upstream[0], str(self.upstream[1]), self.source_net],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self._proc.stdout.readline().split()
        if len(line) != 4 or line[0] != "PORT" or line[2] != "SOURCE":
            self.stop()
            raise RuntimeError(f"the relay in {self.source_net}.0/24 did not start (it said {line!r})")
        self.port, self.source = int(line[1]), line[3]
        return self

    def stop(self):
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Pipe:
    """One direction of a relayed connection: bytes read from `src` wait in `buf` for `dst`."""

    def __init__(self, src, dst):
        self.src, self.dst, self.buf, self.eof = src, dst, b"", False


def claim_source(source_net):
    """Claim a free address of `source_net`.0/24; return (address, claim socket to keep open)."""
    hosts = list(range(1, 255))
    random.shuffle(hosts)
    for host in hosts:
        address = f"{source_net}.{host}"
        claim = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            claim.bind((address, CLAIM_PORT))
            claim.listen(1)
            return address, claim
        except OSError:
            claim.close()
    raise RuntimeError(f"every address of {source_net}.0/24 is claimed by another relay")


def serve(upstream_host, upstream_port, source_net):
    """Relay until terminated; prints "PORT <n> SOURCE <address>" once listening."""
    source, _claim = claim_source(source_net)
    sel = selectors.DefaultSelector()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, None)
    print("PORT", listener.getsockname()[1], "SOURCE", source, flush=True)
    # socket -> (pipe that reads from it, pipe that writes to it)
    ends = {}
    connecting = set()

    def interest(sock):
        reading, writing = ends[sock]
        events = 0
        if sock in connecting:
            events = selectors.EVENT_WRITE
            sel.modify(sock, events) if sock in sel.get_map() else sel.register(sock, events)
            return
        if not reading.eof and len(reading.buf) < 4 * CHUNK:
            events |= selectors.EVENT_READ
        if writing.buf:
            events |= selectors.EVENT_WRITE
        if events:
            sel.modify(sock, events) if sock in sel.get_map() else sel.register(sock, events)
        elif sock in sel.get_map():
            sel.unregister(sock)

    def close_pair(a, b):
        for sock in (a, b):
            if sock in sel.get_map():
                sel.unregister(sock)
            ends.pop(sock, None)
            connecting.discard(sock)
            sock.close()

    while True:
        for key, events in sel.select():
            sock = key.fileobj
            if sock is listener:
                try:
                    client, _addr = listener.accept()
                except OSError:
                    continue
                # A non-blocking connect: the lab API's listen queue is short, and a dropped
                # SYN (retried after 1 s) must delay that one connection, not the whole loop.
                upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                for s in (client, upstream):
                    s.setblocking(False)
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    upstream.bind((source, 0))
                    upstream.connect_ex((upstream_host, upstream_port))
                except OSError:
                    client.close()
                    upstream.close()
                    continue
                connecting.add(upstream)
                up, down = _Pipe(client, upstream), _Pipe(upstream, client)
                ends[client] = (up, down)
                ends[upstream] = (down, up)
                interest(client)
                interest(upstream)
                continue
            if sock not in ends:
                continue
            reading, writing = ends[sock]
            other = reading.dst
            if sock in connecting:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    close_pair(sock, other)
                    continue
                connecting.discard(sock)
                interest(sock)
                continue
            try:
                if events & selectors.EVENT_READ:
                    data = sock.recv(CHUNK)
                    if data:
                        reading.buf += data
                    else:
                        reading.eof = True
                if events & selectors.EVENT_WRITE and writing.buf:
                    sent = sock.send(writing.buf)
                    writing.buf = writing.buf[sent:]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                close_pair(sock, other)
                continue
            # Pass a finished direction's end on, once its bytes are out.
            for pipe in (reading, writing):
                if pipe.eof and not pipe.buf:
                    try:
                        pipe.dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
            if reading.eof and writing.eof and not reading.buf and not writing.buf:
                close_pair(sock, other)
                continue
            interest(sock)
            if other in ends:
                interest(other)


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


if __name__ == "__main__":
    try:
        serve(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    except KeyboardInterrupt:
        pass
