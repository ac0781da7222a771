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
# The components a test may take down on purpose (issue 15's faults), with what each needs
# running before it can start again.
FAULT_COMPONENTS = {
    "octavia-api": ("mariadb",),
    "octavia-worker": ("mariadb", "rabbitmq"),
    "rabbitmq": ("epmd",),
    "mariadb": (),
}
COMPONENT_ACTIONS = ("stop", "start", "kill", "pause", "resume")
PAUSED = "T"   # the /proc state of a process stopped by SIGSTOP


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
            for name in ("gunicorn", "octavia-worker", "octavia-db-manage"):
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
            for name in self._paused():
                procs.signal_members(svc[name].record(), signal.SIGCONT)
                self.out(f"{name} was paused (SIGSTOP): resumed it")
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
                        # A paused (SIGSTOPped) process acts on SIGTERM only once continued.
                        procs.signal_members(record, signal.SIGCONT)
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

    # One component (fault hooks for tests) -------------------------------------------------
    def _paused(self):
        """Names of the components whose recorded process is stopped by SIGSTOP."""
        return [name for name, svc in self.services.items()
                if (record := svc.running()) and procs.state(record.pid) == PAUSED]

    def _fault_target(self, name):
        if name not in FAULT_COMPONENTS:
            raise LabError(f"{name!r} is not a component that can be stopped on its own: "
                           f"use one of {', '.join(FAULT_COMPONENTS)}.")
        return self.services[name]

    def component(self, action, name):
        """Run one of COMPONENT_ACTIONS on one component; return a sentence saying what happened.

        stop: SIGTERM to the component's process group, SIGKILL what is left after its stop
        timeout. kill: SIGKILL to the whole group at once (a crash). pause/resume: SIGSTOP and
        SIGCONT to the group (a hung process: its port still accepts connections, nothing
        answers). start: only this component, once what it needs is healthy, and waits until
        it is healthy itself. resume also waits for health. Each is a no-op, said so, when
        the component is already in that state.
        """
        if action not in COMPONENT_ACTIONS:
            raise LabError(f"{action!r} is not one of {', '.join(COMPONENT_ACTIONS)}.")
        svc = self._fault_target(name)
        t0 = time.monotonic()
        with _locked(self.s):
            done = getattr(self, f"_component_{action}")(svc)
        return f"{name} {done} in {time.monotonic() - t0:.1f}s"

    def _component_stop(self, svc):
        record = svc.running()
        if record is None:
            svc.record_path.unlink(missing_ok=True)
            return "was not running"
        os.kill(record.pid, signal.SIGTERM)
        procs.signal_members(record, signal.SIGCONT)
        killed = procs.stop(record, timeout=svc.stop_timeout, sig=None)
        svc.record_path.unlink(missing_ok=True)
        return f"stopped (SIGKILL for pids {killed} after {svc.stop_timeout:.0f}s)" if killed \
            else "stopped"

    def _component_kill(self, svc):
        record = svc.record()
        if record is None or not record.members():
            svc.record_path.unlink(missing_ok=True)
            return "was not running"
        pids = procs.signal_members(record, signal.SIGKILL)
        procs.stop(record, timeout=5.0, sig=None)
        left = record.members()
        svc.record_path.unlink(missing_ok=True)
        if left:
            raise LabError(f"{svc.name} pids {left} survived SIGKILL: look at them with `ps`.")
        return f"killed (SIGKILL to pids {pids})"

    def _component_pause(self, svc):
        record = svc.running()
        if record is None:
            raise LabError(f"{svc.name} is not running, so it cannot be paused: "
                           f"`labctl.py component start {svc.name}` first.")
        if procs.state(record.pid) == PAUSED:
            return "was already paused"
        pids = procs.signal_members(record, signal.SIGSTOP)
        deadline = time.monotonic() + 5.0
        while any(procs.state(pid) not in (PAUSED, None) for pid in pids):
            if time.monotonic() > deadline:
                raise LabError(f"{svc.name} did not stop within 5s after SIGSTOP.")
            time.sleep(0.05)
        return f"paused (SIGSTOP to pids {pids})"

    def _component_resume(self, svc):
        record = svc.running()
        if record is None:
            raise LabError(f"{svc.name} is not running, so it cannot be resumed: "
                           f"`labctl.py component start {svc.name}` instead.")
        if procs.state(record.pid) != PAUSED:
            return "was not paused"
        procs.signal_members(record, signal.SIGCONT)
        _wait_healthy(svc, time.monotonic() + self.s.start_timeout)
        return "resumed and healthy"

    def _component_start(self, svc):
        record = svc.running()
        if record is not None:
            if procs.state(record.pid) == PAUSED:
                raise LabError(f"{svc.name} is paused, not stopped: "
                               f"`labctl.py component resume {svc.name}`.")
            _wait_healthy(svc, time.monotonic() + self.s.start_timeout)
            return "was already running"
        for need in FAULT_COMPONENTS[svc.name]:
            healthy, detail = self.services[need].health() if self.services[need].running() \
                else (False, "not running")
            if not healthy:
                raise LabError(f"{svc.name} needs {need}, which is down ({detail}): "
                               f"start {need} first (`labctl.py component start {need}`).")
        files.write_all(self.s)
        self._check_binaries([svc])
        self._check_ports([svc])
        svc.start()
        _wait_healthy(svc, time.monotonic() + self.s.start_timeout)
        return "started and healthy"

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
            elif procs.state(record.pid) == PAUSED:
                healthy, detail = False, "paused (SIGSTOP)"
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
