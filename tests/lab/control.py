"""Bring the whole lab up, down, and report on it. Used by labctl.py and the pytest fixtures."""
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import time

from lab import files, procs, services
from lab.errors import LabError
from lab.settings import CLOUD_NAME

MAX_UNIX_SOCKET = 107


@contextlib.contextmanager
def _locked(settings):
    """Serialise up/down: pytest sessions and `make` may call them at the same time."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_healthy(service, deadline):
    detail = ""
    while time.monotonic() < deadline:
        if not service.running():
            record = service.record()
            log = record.log if record else service.log_path
            raise LabError(f"{service.name} exited during start-up: read {log} "
                           f"(last lines below) and fix the cause, then run `labctl.py up` again.",
                           procs.tail(log))
        healthy, detail = service.health()
        if healthy:
            return
        time.sleep(0.2)
    raise LabError(f"{service.name} did not come up within {service.s.start_timeout}s ({detail}): "
                   f"read {service.log_path} (last lines below); `labctl.py down` stops what started.",
                   procs.tail(service.log_path))


class Lab:
    """The lab as a whole. All methods are safe to call from several processes at once."""

    def __init__(self, settings, out=print):
        self.s = settings
        self.out = out
        self.services = {svc.name: svc for svc in services.all_services(settings)}

    # Checks ----------------------------------------------------------------------------
    def _check_socket_paths(self):
        for path in self.s.unix_socket_paths():
            if len(str(path).encode()) > MAX_UNIX_SOCKET:
                raise LabError(f"the lab directory {self.s.dir} is too deep for UNIX socket paths "
                               f"such as {path}: point OCTAVIA_LAB_DIR at a shorter path.")

    def _check_binaries(self, to_start):
        for svc in to_start:
            for name in svc.binaries:
                self.s.binary(name)
        if to_start:
            for name in ("octavia-api", "octavia-worker", "octavia-db-manage"):
                self.s.binary(name)
            self.s.binary("haproxy")

    def _check_ports(self, to_start):
        for svc in to_start:
            for key in svc.ports:
                port = self.s.ports[key]
                if procs.port_is_free(port.value):
                    continue
                owner = procs.port_owner(port.value)
                holder = (f" by pid {owner[0]} ({owner[1][:80]})" if owner
                          else " by a process this user cannot see")
                raise LabError(f"port {port.value} for {port.component} is already in use{holder}: "
                               f"stop that process or move the lab with {port.variable}=<free port>.")

    # Lifecycle -------------------------------------------------------------------------
    def is_up(self):
        """True if every component runs and answers its health check."""
        return all(row["healthy"] for row in self.status_rows())

    def up(self):
        """Start what is not running, reuse what is. Returns the names of the components started."""
        t0 = time.monotonic()
        with _locked(self.s):
            self._check_socket_paths()
            files.write_all(self.s)
            svc = self.services
            running = {name: bool(s.running()) for name, s in svc.items()}
            if all(running.values()) and all(s.health()[0] for s in svc.values()):
                self.out(f"lab already up, reused in {time.monotonic() - t0:.1f}s; "
                         f"clouds.yaml: {self.s.clouds_yaml} (cloud {CLOUD_NAME})")
                return []
            to_start = [s for name, s in svc.items() if not running[name]]
            self._check_binaries(to_start)
            self._check_ports(to_start)
            deadline = time.monotonic() + self.s.start_timeout
            started = []

            def launch(name):
                if not running[name]:
                    svc[name].start()
                    started.append(name)

            launch("mariadb")
            launch("epmd")
            _wait_healthy(svc["epmd"], deadline)
            launch("rabbitmq")
            _wait_healthy(svc["mariadb"], deadline)
            # The schema only has to be at head before the API or the worker start.
            if not (running["octavia-api"] and running["octavia-worker"]):
                self._migrate()
            launch("octavia-api")
            launch("amphora-agent")
            _wait_healthy(svc["rabbitmq"], deadline)
            launch("octavia-worker")
            for name in ("octavia-api", "amphora-agent", "octavia-worker"):
                _wait_healthy(svc[name], deadline)
            self.out(f"lab up in {time.monotonic() - t0:.1f}s (started: {', '.join(started)}); "
                     f"clouds.yaml: {self.s.clouds_yaml} (cloud {CLOUD_NAME}); API {self.s.api_url}")
            return started

    def _migrate(self):
        log = self.s.log("db-manage")
        with open(log, "ab") as out:
            result = subprocess.run(
                [self.s.binary("octavia-db-manage"), "--config-file", str(self.s.conf),
                 "upgrade", "head"], stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise LabError(f"octavia-db-manage upgrade head failed (exit {result.returncode}): "
                           f"read {log} (last lines below).", procs.tail(log))

    def down(self):
        """Stop everything the lab started, by recorded PID, and wait until it is gone."""
        t0 = time.monotonic()
        with _locked(self.s):
            svc = self.services
            # The agent stops its haproxy processes; the broker and the database go last.
            for wave in (("amphora-agent", "octavia-api", "octavia-worker"),
                         ("rabbitmq", "mariadb"), ("epmd",)):
                records = [(name, svc[name].record()) for name in wave]
                for _name, record in records:
                    if record and record.alive():
                        os.kill(record.pid, signal.SIGTERM)
                for name, record in records:
                    if record:
                        killed = procs.stop(record, timeout=svc[name].stop_timeout, sig=None)
                        if killed:
                            self.out(f"{name} ignored SIGTERM; killed pids {killed}")
                        svc[name].record_path.unlink(missing_ok=True)
            self._stop_haproxy_leftovers()
            left = self.leftovers()
            if left:
                raise LabError("some lab processes are still running after `down`: "
                               + ", ".join(f"{pid} ({cmd[:60]})" for pid, cmd in left) + ".")
            self.out(f"lab down in {time.monotonic() - t0:.1f}s; no lab process is running")

    def _haproxy_records(self):
        for path in sorted(self.s.amp_dir.glob("*/haproxy*.json")):
            record = procs.Record.load(path)
            if record:
                yield path, record

    def _stop_haproxy_leftovers(self):
        """haproxy processes the agent recorded but did not stop (e.g. the agent was killed)."""
        for path, record in self._haproxy_records():
            if record.alive():
                procs.stop(record, timeout=5)
                self.out(f"stopped a leftover haproxy, pid {record.pid}")
            path.unlink(missing_ok=True)

    def leftovers(self):
        """(pid, cmdline) of every recorded lab process that is still alive."""
        found = []
        for svc in self.services.values():
            record = svc.record()
            if record:
                found += [(pid, procs.cmdline(pid)) for pid in record.members()]
        for _path, record in self._haproxy_records():
            if record.alive():
                found.append((record.pid, procs.cmdline(record.pid)))
        return found

    # Reporting -------------------------------------------------------------------------
    def status_rows(self):
        rows = []
        for name, svc in self.services.items():
            record = svc.running()
            if record is None:
                healthy, detail = False, "not running"
            else:
                healthy, detail = svc.health()
            rows.append({"name": name, "pid": record.pid if record else None,
                         "port": svc.port_text(), "healthy": healthy, "detail": detail})
        return rows

    def amphora_state(self):
        try:
            return json.loads(self.s.amp_state.read_text())
        except (OSError, ValueError):
            return {}

    def memory(self):
        """{component: (processes, RSS KiB, PSS KiB)} over every live lab process."""
        usage = {}
        for name, svc in self.services.items():
            record = svc.running()
            pids = record.members() if record else []
            usage[name] = _sum_memory(pids)
        haproxies = [record.pid for _path, record in self._haproxy_records() if record.alive()]
        usage["haproxy (all amphorae)"] = _sum_memory(haproxies)
        return usage


def _sum_memory(pids):
    """(process count, RSS KiB, PSS KiB) summed over `pids`."""
    rss = pss = 0
    for pid in pids:
        one_rss, one_pss = procs.rss_kib(pid)
        rss, pss = rss + one_rss, pss + one_pss
    return len(pids), rss, pss
