"""The lab's amphora agent: makes every ACTIVE loopback load balancer serve what its amphora would.

With the noop amphora driver nothing runs for a load balancer. This process fills that
gap from the outside: it polls the Octavia DB, and for each ACTIVE load balancer with
listeners and a VIP in 127.0.0.0/8 it runs one Debian haproxy with the configuration
Octavia's own template renders (render.py), plus an instance of Octavia's own
prometheus-proxy (proxyhub.py) when a PROMETHEUS listener exists. Changes made through
the API reach haproxy within one poll interval plus a reload.

One haproxy per load balancer, as in an amphora; one Python process for all proxies.
State for `labctl.py status` goes to <lab>/amphorae/state.json on every poll.
"""
import dataclasses
import errno
import hashlib
import ipaddress
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time

from lab import procs, render
from lab.proxyhub import ProxyHub

LOG = logging.getLogger("lab.agent")
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
STOP_MARKER = "stopped"
RETIRE_GRACE = 10.0        # an old haproxy may finish its connections this long after a reload
RESTART_BACKOFF = 5.0      # wait before starting a haproxy that crashed after running a while
EARLY_EXIT = 3.0           # an exit this soon after start is a config or bind error: no retry
UUID_LEN = 36
STATE_EVERY = 2.0          # seconds between state.json writes during a long reconcile pass


class BindConflict(Exception):
    """A VIP:port of the rendered config is held by a process that is not this amphora."""


@dataclasses.dataclass
class LbRow:
    """What one poll learned about a load balancer."""

    id: str
    status: str
    created: str
    vips: list
    has_listeners: bool
    fingerprint: str


def snapshot():
    """Read every load balancer and a fingerprint of everything its haproxy.cfg depends on.

    The fingerprint hashes whole rows of every table the template reads, so any change
    made through the API (even two within the same second, which updated_at cannot tell
    apart) leads to a new render; an unchanged render does not reload haproxy.
    """
    from sqlalchemy import select
    from octavia.db import api as db_api
    from octavia.db import models

    with db_api.session().begin() as session:
        def rows(model):
            return session.execute(select(model.__table__)).all()

        lbs = rows(models.LoadBalancer)
        parts = {lb.id: [repr(tuple(lb))] for lb in lbs}
        vips = {lb.id: [] for lb in lbs}

        def add(lb_id, row):
            if lb_id in parts:
                parts[lb_id].append(repr(tuple(row)))

        for row in rows(models.Vip):
            add(row.load_balancer_id, row)
            if row.load_balancer_id in vips and row.ip_address:
                vips[row.load_balancer_id].insert(0, row.ip_address)
        for row in rows(models.AdditionalVip):
            add(row.load_balancer_id, row)
            if row.load_balancer_id in vips and row.ip_address:
                vips[row.load_balancer_id].append(row.ip_address)
        for row in rows(models.Amphora):
            add(row.load_balancer_id, row)
        listener_lb, pool_lb, policy_lb = {}, {}, {}
        for row in rows(models.Listener):
            listener_lb[row.id] = row.load_balancer_id
            add(row.load_balancer_id, row)
        for row in rows(models.Pool):
            pool_lb[row.id] = row.load_balancer_id
            add(row.load_balancer_id, row)
        for model in (models.ListenerCidr, models.SNI):
            for row in rows(model):
                add(listener_lb.get(row.listener_id), row)
        for model in (models.Member, models.HealthMonitor, models.SessionPersistence):
            for row in rows(model):
                add(pool_lb.get(row.pool_id), row)
        for row in rows(models.L7Policy):
            policy_lb[row.id] = listener_lb.get(row.listener_id)
            add(policy_lb[row.id], row)
        for row in rows(models.L7Rule):
            add(policy_lb.get(row.l7policy_id), row)

    with_listeners = set(listener_lb.values())
    result = {}
    for lb in lbs:
        digest = hashlib.sha256("\n".join(sorted(parts[lb.id])).encode()).hexdigest()
        result[lb.id] = LbRow(id=lb.id, status=lb.provisioning_status, created=str(lb.created_at),
                              vips=vips[lb.id], has_listeners=lb.id in with_listeners,
                              fingerprint=digest)
    return result


class Amphora:
    """One load balancer's haproxy (and proxy) on this host."""

    def __init__(self, agent, lb_id, slot):
        self.agent = agent
        self.lb_id = lb_id
        self.slot = slot
        self.ip = str(agent.s.amp_net.network_address + slot)
        self.dir = agent.s.amp_dir / lb_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.record_path = None
        self.retiring = []          # (Popen, record path, deadline)
        self.config = None
        self.fingerprint = None
        self.proxy = False
        self.state = "pending"
        self.error = ""
        self.info = {}
        self.vips = []
        self.restart_at = None
        self.started_at = 0.0

    @property
    def cfg_path(self):
        return self.dir / "haproxy.cfg"

    @property
    def stopped_by_user(self):
        return (self.dir / STOP_MARKER).exists()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _spawn(self, extra=()):
        argv = [self.agent.haproxy, "-db", "-f", str(self.cfg_path), *extra]
        proc, record = procs.spawn(argv, self.dir / "haproxy.log")
        path = self.dir / f"haproxy-{proc.pid}.json"
        record.save(path)
        return proc, path

    def apply(self, text, info):
        """Make haproxy run `text` (None: no listener needs haproxy). Reloads only on change."""
        self.info = info
        if text is None:
            self.stop_processes()
            self.config = None
            self.state, self.error = "idle", "no listener that haproxy serves"
            return
        wants_proxy = "prometheus-exporter-internal-endpoint" in text
        if text == self.config and self.running() and self.proxy == wants_proxy:
            return
        # haproxy binds with SO_REUSEPORT, so an address some other process (another lab,
        # a stray haproxy) already listens on would be shared silently instead of failing.
        for bind in set(render.binds(text)) - set(render.binds(self.config or "")):
            host, _sep, port = bind.rpartition(":")
            if not procs.port_is_free(int(port), host):
                owner = procs.port_owner(int(port))
                holder = f" by pid {owner[0]} ({owner[1][:60]})" if owner else ""
                raise BindConflict(f"{bind} is already in use{holder}")
        candidate = self.dir / "haproxy.cfg.new"
        candidate.write_text(text)
        if self.running():
            # Check before a reload so that a bad config leaves the running one alone. A
            # first start skips the check (it costs as much as the start): haproxy refuses
            # a bad config by exiting at once, which supervise() reports.
            check = subprocess.run([self.agent.haproxy, "-c", "-q", "-f", str(candidate)],
                                   capture_output=True, text=True, check=False)
            if check.returncode != 0:
                self.state = "error"
                self.error = ("haproxy rejected the new config, the previous one still runs: "
                              + (check.stdout + check.stderr).strip()[-600:])
                LOG.error("%s: %s", self.lb_id, self.error)
                return
        # The proxy first: if its address cannot be bound, nothing changes and the next
        # poll tries again (OSError goes to the caller).
        self._ensure_proxy(wants_proxy)
        candidate.replace(self.cfg_path)
        if text == self.config and self.running():
            return
        self.config = text
        if self.running():
            self._reload()
        else:
            self._start()

    def _ensure_proxy(self, wanted):
        if wanted and not self.proxy:
            self.agent.hub.add(self.lb_id, (self.ip, 9102), f"http://{self.ip}:9101/metrics")
            self.proxy = True
        elif not wanted and self.proxy:
            self.agent.hub.remove(self.lb_id)
            self.proxy = False

    def _start(self):
        self.proc, self.record_path = self._spawn()
        self.started_at = time.monotonic()
        self.state, self.error, self.restart_at = "running", "", None
        LOG.info("%s: haproxy %s started (VIP %s)", self.lb_id, self.proc.pid, ", ".join(self.vips))

    def _reload(self):
        from octavia.amphorae.backends.utils import haproxy_query
        # As the amphora agent does before a reload: keep member health across it.
        haproxy_query.HAProxyQuery(str(self.dir / "sock")).save_state(
            str(self.dir / "servers-state"))
        old, old_path = self.proc, self.record_path
        # -sf: the new process binds (SO_REUSEPORT), then tells the old one to stop
        # listening and finish its connections, as a systemd reload in an amphora does.
        self.proc, self.record_path = self._spawn(("-sf", str(old.pid)))
        self.started_at = time.monotonic()
        self.retiring.append((old, old_path, time.monotonic() + RETIRE_GRACE))
        self.state, self.error = "running", ""
        LOG.info("%s: haproxy reloaded, %s -> %s", self.lb_id, old.pid, self.proc.pid)

    def supervise(self):
        """Reap retired processes; notice a haproxy that died and restart it after a pause."""
        now = time.monotonic()
        for item in list(self.retiring):
            proc, path, deadline = item
            if proc.poll() is not None:
                path.unlink(missing_ok=True)
                self.retiring.remove(item)
            elif now > deadline:
                proc.terminate()
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            early = now - self.started_at < EARLY_EXIT
            self.record_path.unlink(missing_ok=True)
            self.proc = None
            self.state = "error"
            self.error = (f"haproxy exited with code {code}: "
                          + procs.tail(self.dir / "haproxy.log", 5).replace("\n", " | "))
            # A config or bind error repeats until something changes through the API
            # (a new fingerprint re-renders), so only a later crash is retried.
            self.restart_at = None if early else now + RESTART_BACKOFF
            LOG.error("%s: %s", self.lb_id, self.error)
            if early and self.retiring and self.retiring[-1][0].poll() is None:
                # haproxy -sf signals the old process only once it runs itself, so the
                # previous haproxy still serves the previous config: keep it.
                self.proc, self.record_path, _deadline = self.retiring.pop()
                self.error += " (the previous haproxy keeps serving the previous config)"
        if (self.proc is None and self.restart_at and now >= self.restart_at
                and self.config and not self.stopped_by_user):
            self._start()

    def stop_processes(self):
        """Stop haproxy (hard stop: listeners and connections close now) and the proxy."""
        procs_to_stop = [(self.proc, self.record_path)] if self.proc else []
        procs_to_stop += [(proc, path) for proc, path, _deadline in self.retiring]
        for proc, _path in procs_to_stop:
            if proc.poll() is None:
                proc.terminate()
        for proc, path in procs_to_stop:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            path.unlink(missing_ok=True)
        self.proc, self.record_path, self.retiring = None, None, []
        self._ensure_proxy(False)

    def as_state(self):
        return {
            "state": self.state, "error": self.error, "vips": self.vips,
            "internal_ip": self.ip,
            "haproxy_pid": self.proc.pid if self.running() else None,
            "retiring_pids": [proc.pid for proc, _p, _d in self.retiring if proc.poll() is None],
            "proxy": f"{self.ip}:9102" if self.proxy else None,
            "config": str(self.cfg_path) if self.config else None,
            "listeners": self.info.get("listeners", []),
            "not_served": self.info.get("not_served", []),
            "binds": render.binds(self.config) if self.config else [],
        }


class Agent:
    """Polls the DB and reconciles one Amphora per load balancer until SIGTERM."""

    def __init__(self, settings):
        self.s = settings
        self.haproxy = settings.binary("haproxy")
        self.versions = render.haproxy_version(self.haproxy)
        self.amphorae = {}
        self.skipped = {}
        self.db_error = ""
        self.stop_event = threading.Event()
        self.hub = None
        self.state_written = 0.0

    # Lifecycle -----------------------------------------------------------------------------
    def run(self):
        from octavia.common import config
        config.init(["--config-file", str(self.s.conf)])
        for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            os.environ.pop(key, None)   # Octavia's proxy scrapes with urllib, which honours them
        signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop_event.set())
        self.s.amp_dir.mkdir(parents=True, exist_ok=True)
        render.load_driver_in_background()
        self._stop_orphans()
        self.hub = ProxyHub(self.s.amp_log_socket, self.s.log("haproxy-traffic"))
        self.hub.start()
        LOG.info("amphora agent %s up: haproxy %s, polling every %.1fs", os.getpid(),
                 ".".join(self.versions), self.s.poll_interval)
        first = True
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                rows = snapshot()
                self.db_error = ""
            except Exception as exc:   # a DB hiccup must not take every amphora down
                rows = None
                if not self.db_error:
                    LOG.exception("cannot read the Octavia DB")
                self.db_error = f"{type(exc).__name__}: {exc}"[:300]
            if rows is not None:
                self.reconcile(rows)
                if first:
                    self._remove_stale_dirs(rows)
                    first = False
            for amp in self.amphorae.values():
                amp.supervise()
            self.write_state()
            self.stop_event.wait(max(0.0, self.s.poll_interval - (time.monotonic() - started)))
        LOG.info("stopping %d amphorae", len(self.amphorae))
        for amp in self.amphorae.values():
            amp.stop_processes()
        self.hub.stop()
        self.write_state(final=True)

    def _stop_orphans(self):
        """haproxy processes left by an agent that was killed: ours, recorded, stop them."""
        for path in self.s.amp_dir.glob("*/haproxy-*.json"):
            record = procs.Record.load(path)
            if record and record.alive():
                LOG.warning("stopping orphaned haproxy %s (%s)", record.pid, path.parent.name)
                procs.stop(record, timeout=5)
            path.unlink(missing_ok=True)

    def _remove_stale_dirs(self, rows):
        for parent in (self.s.amp_dir, self.s.amp_cert_dir):
            if not parent.is_dir():
                continue
            for path in parent.iterdir():
                if path.is_dir() and len(path.name) == UUID_LEN and path.name not in rows:
                    shutil.rmtree(path, ignore_errors=True)

    # Reconcile -----------------------------------------------------------------------------
    def _free_slot(self):
        used = {amp.slot for amp in self.amphorae.values()}
        for slot in range(1, self.s.amp_net.num_addresses - 1):
            if slot in used:
                continue
            # Another lab on this host (other OCTAVIA_LAB_DIR) may hold the same internal
            # address; haproxy binds with SO_REUSEPORT and would silently share it.
            ip = str(self.s.amp_net.network_address + slot)
            if procs.port_is_free(9101, ip) and procs.port_is_free(9102, ip):
                return slot
        raise RuntimeError(f"OCTAVIA_LAB_AMP_NET {self.s.amp_net} has no free address left")

    def _why_not_served(self, row):
        for vip in row.vips:
            address = ipaddress.ip_address(vip)
            if address not in LOOPBACK:
                return f"VIP {vip} is outside 127.0.0.0/8; the lab never binds other addresses"
            if address in self.s.amp_net:
                return f"VIP {vip} lies in OCTAVIA_LAB_AMP_NET {self.s.amp_net}, reserved for amphora internals"
        if not row.vips:
            return "it has no VIP address"
        return ""

    def reconcile(self, rows):
        gone = ("DELETED", "PENDING_DELETE")
        for lb_id in list(self.amphorae):
            row = rows.get(lb_id)
            if row is None or row.status in gone:
                amp = self.amphorae.pop(lb_id)
                amp.stop_processes()
                shutil.rmtree(amp.dir, ignore_errors=True)
                shutil.rmtree(self.s.amp_cert_dir / lb_id, ignore_errors=True)
                LOG.info("%s: load balancer deleted, amphora stopped", lb_id)
        for lb_id in list(self.skipped):
            if lb_id not in rows or rows[lb_id].status in gone:
                del self.skipped[lb_id]
        taken = {}
        for amp in self.amphorae.values():
            for bind in render.binds(amp.config or ""):
                taken[bind] = amp.lb_id
        for row in sorted(rows.values(), key=lambda r: (r.created, r.id)):
            if row.status in gone or (not row.has_listeners and row.id not in self.amphorae):
                continue
            why = self._why_not_served(row)
            if why:
                if row.id not in self.skipped:
                    LOG.warning("%s: not served: %s", row.id, why)
                self.skipped[row.id] = {"state": "skipped", "error": why, "vips": row.vips}
                continue
            self.skipped.pop(row.id, None)
            amp = self.amphorae.get(row.id)
            if amp is None:
                amp = self.amphorae[row.id] = Amphora(self, row.id, self._free_slot())
            amp.vips = row.vips
            if amp.stopped_by_user:
                if amp.running() or amp.proxy:
                    amp.stop_processes()
                    LOG.info("%s: amphora stopped on request", row.id)
                amp.state, amp.error, amp.fingerprint = "stopped", "stopped by `labctl.py amphora stop`", None
                continue
            if amp.state == "stopped":
                amp.state = "pending"
            if row.status != "ACTIVE" or row.fingerprint == amp.fingerprint:
                continue
            if time.monotonic() - self.state_written > STATE_EVERY:
                self.write_state()   # a long pass (many new load balancers) keeps the heartbeat fresh
            try:
                self._render_and_apply(amp, row, taken)
            except Exception as exc:   # one broken load balancer must not stop the others
                LOG.exception("%s: cannot configure", row.id)
                amp.state, amp.error = "error", f"{type(exc).__name__}: {exc}"[:300]
                amp.fingerprint = row.fingerprint   # retry on the next change, not every poll

    def _render_and_apply(self, amp, row, taken):
        paths = {"base_amp_path": str(self.s.amp_dir), "base_crt_dir": str(self.s.amp_cert_dir),
                 "socket_path": str(amp.dir / "sock"), "log_socket": str(self.s.amp_log_socket)}
        try:
            text, info = render.render_loadbalancer(row.id, paths, self.versions)
            if text is not None:
                cidrs = {l["id"]: l["allowed_cidrs"] for l in info["listeners"] if l["allowed_cidrs"]}
                text = render.adapt(text, amp.ip, self.s.haproxy_maxconn, cidrs)
        except render.RenderError as exc:
            amp.state, amp.error = "pending", str(exc)
            return
        clashes = sorted({f"{b} (load balancer {taken[b]})" for b in render.binds(text or "")
                          if taken.get(b, row.id) != row.id})
        if clashes:
            # No fingerprint: retried on every poll, so it starts once the other one is gone.
            if amp.error != "address already served: " + ", ".join(clashes):
                LOG.error("%s: address already served: %s", row.id, ", ".join(clashes))
            amp.stop_processes()
            amp.config = None
            amp.state, amp.error = "error", "address already served: " + ", ".join(clashes)
            return
        try:
            amp.apply(text, info)
        except BindConflict as exc:
            # No fingerprint: retried on every poll, so it starts once the address is free.
            if amp.error != str(exc):
                LOG.error("%s: %s", row.id, exc)
            amp.state, amp.error = "error", str(exc)
            return
        except OSError as exc:
            message = f"cannot start: {exc}"
            if amp.error != message:
                LOG.error("%s: %s", row.id, message)
            amp.state, amp.error = "error", message
            if exc.errno == errno.EADDRINUSE:
                # Someone else (another lab on this host?) took the internal address since
                # it was chosen: move to a free one; the next poll renders with it.
                amp.slot = self._free_slot()
                amp.ip = str(self.s.amp_net.network_address + amp.slot)
            return
        amp.fingerprint = row.fingerprint
        for bind in render.binds(text or ""):
            taken[bind] = row.id

    # State ---------------------------------------------------------------------------------
    def write_state(self, final=False):
        lbs = {lb_id: amp.as_state() for lb_id, amp in self.amphorae.items()}
        lbs.update(self.skipped)
        state = {"agent_pid": None if final else os.getpid(), "heartbeat": time.time(),
                 "poll_interval": self.s.poll_interval, "db_error": self.db_error,
                 "loadbalancers": lbs}
        tmp = self.s.amp_state.with_name("state.json.tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
        tmp.replace(self.s.amp_state)
        self.state_written = time.monotonic()


def main(settings):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    Agent(settings).run()
    return 0
