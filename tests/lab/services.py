"""The lab's long-running components: how each starts, how it proves it is healthy, how it stops.

Start order: MariaDB and epmd, then RabbitMQ (needs epmd); the schema migrations once
MariaDB answers; octavia-api and the amphora agent (need the schema); octavia-worker
(needs the schema and the broker).
"""
import http.client
import json
import os
import pathlib
import socket
import struct
import subprocess
import time

from lab import procs
from lab.errors import LabError
from lab.settings import API_BACKLOG, DB_NAME, DB_PASSWORD, DB_USER

LABCTL = pathlib.Path(__file__).resolve().parent / "labctl.py"
GUNICORN_CONF = pathlib.Path(__file__).resolve().parent / "gunicorn_conf.py"
WORKER_QUEUE = "octavia_provisioning_v2"   # octavia.common.constants.TOPIC_AMPHORA_V2
HEARTBEAT_MAX_AGE = 10.0
# The lab's own health probes connect from this address, so that counting the API's
# requests (apilog.py) can leave them out. It lies in the fixture's 127.1.0.0/16 range
# and the fixture never hands it out as a VIP.
PROBE_SOURCE = "127.1.255.254"


def probe_api(port, timeout=2.0):
    """GET / on octavia-api from PROBE_SOURCE. Returns (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(PROBE_SOURCE, 0))
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Service:
    """One lab component. Subclasses set `name`, `ports` and implement argv() and health()."""

    name = ""
    ports = ()
    binaries = ()
    stop_timeout = 20.0

    def __init__(self, settings):
        self.s = settings

    @property
    def record_path(self):
        return self.s.run_dir / f"{self.name}.json"

    @property
    def log_path(self):
        return self.s.log(self.name)

    def record(self):
        return procs.Record.load(self.record_path)

    def running(self):
        record = self.record()
        return record if record and record.alive() else None

    def argv(self):
        raise NotImplementedError

    def env(self):
        env = dict(os.environ)
        for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            env.pop(key, None)
        return env

    def prepare(self):
        """Work to do once before the first start (e.g. create a data directory)."""

    def health(self):
        """Return (healthy, detail). Must be cheap: `status` calls it for every component."""
        raise NotImplementedError

    def start(self):
        self.prepare()
        _proc, record = procs.spawn(self.argv(), self.log_path, env=self.env(), cwd=self.s.dir)
        record.save(self.record_path)
        return record

    def port_text(self):
        return ",".join(str(self.s.ports[key].value) for key in self.ports) or "-"


class MariaDB(Service):
    name = "mariadb"
    ports = ("mysql",)
    binaries = ("mariadbd", "mariadb-install-db")
    stop_timeout = 30.0

    def prepare(self):
        if (self.s.mysql_dir / "mysql").is_dir():
            return
        self.s.mysql_dir.mkdir(parents=True, exist_ok=True)
        log = self.s.log("mariadb-install")
        with open(log, "ab") as out:
            result = subprocess.run(
                [self.s.binary("mariadb-install-db"), "--no-defaults", f"--user={_user()}",
                 f"--datadir={self.s.mysql_dir}", "--auth-root-authentication-method=normal",
                 "--skip-test-db"], stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise LabError(f"mariadb-install-db failed (exit {result.returncode}) creating "
                           f"{self.s.mysql_dir}: read {log}, or delete that directory and retry.",
                           procs.tail(log))

    def argv(self):
        return [self.s.binary("mariadbd"), "--no-defaults", f"--user={_user()}",
                f"--datadir={self.s.mysql_dir}", "--bind-address=127.0.0.1",
                f"--port={self.s.ports['mysql'].value}", f"--socket={self.s.mysql_socket}",
                f"--pid-file={self.s.run_dir / 'mariadbd.pid'}",
                f"--init-file={self.s.run_dir / 'mysql-init.sql'}",
                "--skip-name-resolve", "--skip-log-bin", "--performance-schema=OFF",
                "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
                "--max-connections=300"]

    def health(self):
        import pymysql   # the venv has it (requirements.txt); imported late to keep `status` quick
        try:
            conn = pymysql.connect(host="127.0.0.1", port=self.s.ports["mysql"].value,
                                   user=DB_USER, password=DB_PASSWORD, database=DB_NAME,
                                   connect_timeout=2)
        except pymysql.MySQLError as exc:
            return False, str(exc.args[-1] if exc.args else exc)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            conn.close()
        return True, "accepts queries"


class Epmd(Service):
    name = "epmd"
    ports = ("epmd",)
    binaries = ("epmd",)

    def argv(self):
        # Without -daemon epmd stays in the foreground, so this PID is the one to stop.
        return [self.s.binary("epmd"), "-address", "127.0.0.1",
                "-port", str(self.s.ports["epmd"].value)]

    def health(self):
        port = self.s.ports["epmd"].value
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                # NAMES_REQ: epmd answers with its own port number, then the registered nodes.
                sock.sendall(b"\x00\x01n")
                sock.settimeout(2)
                reply = sock.recv(4096)
        except OSError as exc:
            return False, exc.strerror or str(exc)
        if len(reply) >= 4 and struct.unpack(">I", reply[:4])[0] == port:
            names = reply[4:].decode(errors="replace").count("\n")
            return True, f"{names} node(s) registered"
        return False, "no NAMES reply"


class RabbitMQ(Service):
    name = "rabbitmq"
    ports = ("amqp", "erl_dist")
    binaries = ("rabbitmq-server",)
    stop_timeout = 30.0

    def argv(self):
        return [self.s.binary("rabbitmq-server")]

    def env(self):
        env = super().env()
        base = self.s.rabbit_dir
        for sub in ("home", "mnesia", "log"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        env.update({
            "HOME": str(base / "home"),                 # the Erlang cookie lands here
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_PID_FILE": str(self.s.run_dir / "rabbitmq.pid"),
            "RABBITMQ_NODENAME": "octavia-lab@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.s.ports["amqp"].value),
            "RABBITMQ_DIST_PORT": str(self.s.ports["erl_dist"].value),
            "ERL_EPMD_PORT": str(self.s.ports["epmd"].value),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            # With ALLOW_INPUT the script execs the VM instead of waiting on it in a
            # shell, so the recorded PID is beam.smp itself and SIGTERM stops it cleanly;
            # -noinput then keeps the VM off stdin.
            "RABBITMQ_ALLOW_INPUT": "1",
            # epmd is the lab's own process; the VM must not start a daemonised one.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                "-noinput -start_epmd false -kernel inet_dist_use_interface {127,0,0,1} "
                "+sbwt none +sbwtdcpu none +sbwtdio none"),
        })
        return env

    def health(self):
        port = self.s.ports["amqp"].value
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"AMQP\x00\x00\x09\x01")
                sock.settimeout(2)
                frame = sock.recv(8)
        except OSError as exc:
            return False, exc.strerror or str(exc)
        # A broker that is up answers the protocol header with a Connection.Start method frame.
        if frame[:1] == b"\x01":
            return True, "AMQP handshake ok"
        return False, "no AMQP Connection.Start"


class OctaviaApi(Service):
    """Octavia's own WSGI application (octavia.wsgi.api) under gunicorn, as a cloud serves it.

    wsgiref, which `octavia-api` uses, serves one request at a time from a listen queue of 5:
    parallel clients got `Connection reset by peer`. Here a gunicorn master forks
    OCTAVIA_LAB_API_WORKERS processes (default 4) that share one listening socket with a
    queue of API_BACKLOG connections. Sync workers, because a request spends most of its time
    in Python (pecan, WSME, SQLAlchemy) under one interpreter lock per process: two cores need
    processes, and twice as many as cores keeps both busy while some wait on MariaDB.
    OCTAVIA_LAB_API_THREADS > 1 switches to gthread workers with that many threads each.
    """

    name = "octavia-api"
    ports = ("api",)
    binaries = ("gunicorn",)
    # gunicorn's graceful shutdown lets running requests finish, up to --graceful-timeout.
    stop_timeout = 20.0
    # One access line per request in the shape wsgiref wrote, which apilog.py reads:
    # client - - [time] "METHOD PATH HTTP/x" status size
    ACCESS_FORMAT = '%(h)s - - %(t)s "%(r)s" %(s)s %(b)s'

    def argv(self):
        workers, threads = self.s.api_workers, self.s.api_threads
        worker_class = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 \
            else ["--worker-class", "sync"]
        # Access and error log both go to stdout/stderr, which the lab appends to one file,
        # next to what oslo.log writes to stderr: logs/octavia-api.log is the API's whole log.
        return [self.s.binary("gunicorn"), "--config", str(GUNICORN_CONF),
                "--bind", f"127.0.0.1:{self.s.ports['api'].value}",
                "--workers", str(workers), *worker_class,
                "--backlog", str(API_BACKLOG), "--timeout", "120", "--graceful-timeout", "10",
                # Each lab is its own gunicorn: the default control socket, one per user in
                # ~/.gunicorn, would be shared by every lab on the host.
                "--no-control-socket",
                "--name", "octavia-api", "--access-logfile", "-",
                "--access-logformat", self.ACCESS_FORMAT, "--error-logfile", "-",
                "octavia.wsgi.api:application"]

    def env(self):
        env = super().env()
        env["OCTAVIA_LAB_CONF"] = str(self.s.conf)   # read by gunicorn_conf.post_fork
        return env

    def health(self):
        try:
            status, body = probe_api(self.s.ports["api"].value)
        except (OSError, http.client.HTTPException) as exc:
            return False, str(exc)
        record = self.record()
        workers = len(record.members()) - 1 if record else 0
        if status == 200 and b"versions" in body:
            return True, f"GET / -> {status}, {workers} gunicorn worker(s)"
        return False, f"GET / -> {status}"


class OctaviaWorker(Service):
    name = "octavia-worker"
    stop_timeout = 30.0

    def argv(self):
        return [self.s.binary("octavia-worker"), "--config-file", str(self.s.conf)]

    def health(self):
        import kombu   # oslo.messaging's own AMQP library, in the venv
        url = self.s.transport_url.replace("rabbit://", "amqp://", 1)
        try:
            with kombu.Connection(url, connect_timeout=2) as conn:
                with conn.channel() as channel:
                    _name, _messages, consumers = channel.queue_declare(
                        queue=WORKER_QUEUE, passive=True)
        except Exception as exc:   # kombu raises broker, socket and channel errors alike
            return False, f"queue {WORKER_QUEUE}: {exc}"
        if consumers:
            return True, f"consuming {WORKER_QUEUE}"
        return False, f"queue {WORKER_QUEUE} has no consumer"


class AmphoraAgent(Service):
    name = "amphora-agent"

    def argv(self):
        return [str(self.s.python), str(LABCTL), "amphora-agent"]

    def health(self):
        try:
            state = json.loads(self.s.amp_state.read_text())
        except (OSError, ValueError):
            return False, "no state file yet"
        record = self.record()
        age = time.time() - state.get("heartbeat", 0)
        if record is None or state.get("agent_pid") != record.pid:
            return False, "state file is from another agent"
        if age > HEARTBEAT_MAX_AGE:
            return False, f"heartbeat {age:.0f}s old"
        lbs = state.get("loadbalancers", {})
        serving = sum(1 for lb in lbs.values() if lb.get("state") == "running")
        return True, f"heartbeat {age:.1f}s ago, serving {serving} load balancer(s)"


def _user():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


def all_services(settings):
    """Every component in start order."""
    return [cls(settings) for cls in (MariaDB, Epmd, RabbitMQ, OctaviaApi, AmphoraAgent,
                                      OctaviaWorker)]
