"""The process lifecycle the test servers share (Prometheus, VictoriaMetrics, vmalert, Alertmanager).

Standard library only. A ServerProcess listens on 127.0.0.0/8, on a free port unless one is
given, and keeps its log and pid file in its own work directory (a temporary one, removed on
stop, unless one is given). Subclasses say what to run (`command()`), where readiness is read
(`ready_path`) and which exception their failures raise (`error`).
"""
import base64
import os
import pathlib
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port(host="127.0.0.1"):
    """Return a TCP port that was free on `host` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout=60, interval=0.5, message="condition", errors=(OSError,)):
    """Call predicate until it returns something truthy; return that, or raise TimeoutError.

    An exception of `errors` counts as "not yet"; the last one is named in the timeout.
    """
    deadline = time.monotonic() + timeout
    last_err = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except errors as err:
            last_err = err
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_err})" if last_err else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}{detail}")
        time.sleep(interval)


def metric_from_text(text, name):
    """The value of the first series called `name` in a Prometheus text exposition, or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _sep, value = line.rpartition(" ")
        if metric == name or metric.startswith(name + "{"):
            return float(value)
    return None


class ServerProcess:
    """One server process with a work directory, a log and a pid file."""

    name = "process"
    ready_path = "/-/ready"
    error = RuntimeError
    # The pause between two calls of wait_for's predicate.
    poll_interval = 0.5

    def __init__(self, port=None, workdir=None, args=(), host="127.0.0.1", basic_auth=None):
        if not host.startswith("127."):
            raise ValueError("tests only listen on 127.0.0.0/8")
        self.basic_auth = basic_auth
        self.host = host
        self.port = port
        self.args = list(args)
        self._own_workdir = workdir is None
        self.workdir = pathlib.Path(workdir or tempfile.mkdtemp(prefix=f"{self.name}-test-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self.pid_path = self.workdir / f"{self.name}.pid"
        self.proc = None
        self._log = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def headers(self):
        """The Authorization header of basic_auth=(user, password), if any."""
        if not self.basic_auth:
            return {}
        token = base64.b64encode(":".join(self.basic_auth).encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def command(self):
        """The argv to run; subclasses build it from their options."""
        raise NotImplementedError

    def prepare(self):
        """Called before each start: subclasses create what the process expects to find."""

    def start(self, timeout=60):
        """Start the process and wait until its readiness URL answers 200. Returns self."""
        if self.running():
            return self
        fixed = self.port is not None
        # A free port can be taken between the probe and the bind: retry a few times.
        for _attempt in range(1 if fixed else 5):
            if not fixed:
                self.port = free_port(self.host)
            self._spawn()
            if self._wait_ready(timeout):
                return self
            if fixed or "address already in use" not in self.log_tail().lower():
                break
        tail = self.log_tail()
        self.stop(remove=False)
        raise self.error(f"{self.name} did not become ready on {self.address}; log {self.log_path}:\n{tail}")

    def _spawn(self):
        self.stop(remove=False)
        self.prepare()
        argv = self.command()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self._log.write(f"+ {shlex.join(argv)}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=self.workdir)
        self.pid_path.write_text(f"{self.proc.pid}\n")

    def ready(self):
        """True when the readiness URL answers 200; an exception or False means not yet."""
        request = urllib.request.Request(self.url + self.ready_path, headers=self.headers())
        with urllib.request.urlopen(request, timeout=2) as resp:
            return resp.status == 200

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.ready():
                    return True
            except OSError:  # refused, reset, timed out, an HTTP or TLS error: not yet
                pass
            time.sleep(0.2)
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, remove=None, timeout=20):
        """Stop the process (TERM, then KILL). Removes a temporary workdir unless remove=False."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self.pid_path.unlink(missing_ok=True)
        if remove if remove is not None else self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, lines=40):
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def sighup(self):
        """Reload the way a `signal` reload method does."""
        os.kill(self.proc.pid, signal.SIGHUP)

    @classmethod
    def wait_for(cls, predicate, timeout=60, interval=None, message="condition"):
        """wait_until, with this server's errors counted as "not yet"."""
        return wait_until(predicate, timeout=timeout, message=message,
                          interval=cls.poll_interval if interval is None else interval,
                          errors=(cls.error, OSError))


def serve_in_foreground(server, url_file=None):
    """Start `server`, print where it listens, and keep it until SIGTERM, Ctrl-C or its exit.

    The scripts' (and demos') way to run one server; `url_file` gets its URL once it is ready.
    """
    server.start()
    if url_file:
        pathlib.Path(url_file).write_text(server.url + "\n")
    print(f"{server.name} ready on {server.url} (pid {server.pid}, workdir {server.workdir})", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *args: stop.append(1))
    try:
        while not stop and server.running():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
