"""The scale topology on this machine: a fleet of lab load balancers, Prometheus shards, the store.

One module for the three users of that topology, so that they stand up the same thing:
`make demo-scale` (demo/scale/up.py), tests/integration/test_scale_e2e.py and bench/shards.

    Fleet          N load balancers named <prefix>-NNN in one project, found by name first
                   (a second run creates nothing); the site playbook gives them their
                   PROMETHEUS listeners.
    Topology       all of it together, as the demo, the test and the bench run it.
    Service        one Debian binary in the foreground mode the demo uses: its own session,
                   a PID file and a log in its directory, readiness polled over HTTP(S).
    make_tls()     a self-signed certificate for 127.0.0.1 (openssl, Debian's), so the shards
                   can serve TLS.
    shard_service()                a Prometheus shard (Debian's binary, run directly so that its RSS
                   and CPU can be read from /proc).
    store_service(), vmalert_service(), alertmanager_service()
                   VictoriaMetrics, vmalert, Alertmanager through tests/helpers/store.py in
                   its foreground mode; webhook_service() the tests' webhook receiver.
    write_inventory()
                   the topology as an Ansible inventory for the site playbook: the hosts, their
                   ports and directories; the roles' variables are in
                   demo/scale/inventory/group_vars, shared by the demo and the test.
"""
import base64
import getpass
import grp
import ipaddress
import json
import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
GROUP_VARS = pathlib.Path(__file__).resolve().parent / "inventory" / "group_vars"
LAB_VIP_SUBNET_ID = "1ab0c0de-0000-4000-8000-000000000001"


class TopologyError(RuntimeError):
    """A component did not start, or the fleet could not be created."""


def free_port(host="127.0.0.1"):
    """A TCP port that was free on `host` a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    """Whether something accepts TCP connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# TLS -------------------------------------------------------------------------------------------
def make_tls(directory):
    """A self-signed certificate and key for 127.0.0.1 in `directory` (kept when present).

    Returns {"cert": path, "key": path}. The certificate is its own CA: clients trust it by
    naming it as their CA file.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "shard.crt", directory / "shard.key"
    if not (cert.exists() and key.exists()):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        key.chmod(0o600)
    return {"cert": str(cert), "key": str(key)}


# HTTP ------------------------------------------------------------------------------------------
def http_get(url, auth=None, cafile=None, timeout=10):
    """GET `url` and return (status, body bytes); status 0 when nothing answered."""
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, ssl.SSLError):
        return 0, b""


def query(base_url, expr, auth=None, cafile=None, at=None):
    """An instant PromQL query against a Prometheus-compatible API; returns the result list."""
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    status, body = http_get(f"{base_url}/api/v1/query?{urllib.parse.urlencode(params)}",
                            auth=auth, cafile=cafile)
    if status != 200:
        raise TopologyError(f"{base_url} answered {status} to {expr!r}: {body[:300]!r}")
    return json.loads(body)["data"]["result"]


def query_range(base_url, expr, start, end, step, auth=None, cafile=None):
    """A range query; returns the series that hold at least one value."""
    params = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                     "step": step})
    status, body = http_get(f"{base_url}/api/v1/query_range?{params}", auth=auth, cafile=cafile)
    if status != 200:
        raise TopologyError(f"{base_url} answered {status} to {expr!r}: {body[:300]!r}")
    return [series for series in json.loads(body)["data"]["result"] if series["values"]]


def wait_for(predicate, timeout, message, interval=1.0):
    """Poll `predicate` until it returns something true; raise TopologyError after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TopologyError(f"timed out after {timeout:.0f}s waiting for {message} (last: {last!r})")


# Processes -------------------------------------------------------------------------------------
class Service:
    """One binary on 127.0.0.1 in its own session, with <dir>/<name>.pid and <dir>/<name>.log.

    start() reuses a process whose PID file names a live process that answers its readiness
    URL (a second `make demo-scale` starts nothing); stop() ends it by its PID file only.
    """

    def __init__(self, name, argv, directory, ready_url, auth=None, cafile=None, ready_status=200):
        self.name = name
        self.argv = [str(arg) for arg in argv]
        self.dir = pathlib.Path(directory)
        self.ready_url = ready_url
        self.auth = auth
        self.cafile = cafile
        self.ready_status = ready_status
        self.pid_file = self.dir / f"{name}.pid"
        self.log_file = self.dir / f"{name}.log"

    @property
    def pid(self):
        """The PID in the PID file when that process is alive, else None."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def url(self):
        """The readiness URL."""
        return self.ready_url

    def ready(self):
        """Whether the readiness URL answers as expected."""
        return http_get(self.url(), auth=self.auth, cafile=self.cafile, timeout=3)[0] == self.ready_status

    def start(self, timeout=60):
        """Start the process unless it runs already; wait until it is ready. Returns self."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.pid is None:
            if not shutil.which(self.argv[0]):
                raise TopologyError(f"{self.argv[0]} is not installed (make system-packages)")
            with open(self.log_file, "ab") as log:
                proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.dir)
            self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.pid is None or time.monotonic() > deadline:
                tail = self.log_file.read_text(errors="replace").splitlines()[-15:] if self.log_file.exists() else []
                raise TopologyError(f"{self.name} did not become ready at {self.url()}; "
                                    f"its log ({self.log_file}) ends:\n" + "\n".join(tail))
            time.sleep(0.3)
        return self

    def stop(self, timeout=20):
        """SIGTERM the process of the PID file, wait for it, remove the PID file."""
        pid = self.pid
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.2)
            else:
                os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def rss_bytes(self):
        """Resident memory of the process (VmRSS), or None when it does not run."""
        pid = self.pid
        if pid is None:
            return None
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def cpu_seconds(self):
        """User + system CPU seconds the process has used so far, or None."""
        pid = self.pid
        if pid is None:
            return None
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def shard_service(name, port, directory, web_config=None, tls=None, agent=False, auth=None, retention="1d"):
    """A Prometheus shard on 127.0.0.1:port, its files in `directory` (the role writes them).

    The process starts with a minimal prometheus.yml until the role writes the real one. With
    `web_config` and `tls` ({"cert", "key"}) it serves HTTPS from the start: Prometheus decides
    at start whether it serves TLS at all (a web config that gains TLS later is not picked up
    until a restart), so the first web config names the certificate; the role's version adds
    the basic auth users, which Prometheus reads again on every request.
    """
    directory = pathlib.Path(directory)
    (directory / "data").mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    if not config.exists():
        config.write_text("global:\n  scrape_interval: 5s\n")
    argv = ["prometheus", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle"]
    if agent:
        argv += ["--enable-feature=agent", f"--storage.agent.path={directory / 'data'}"]
    else:
        argv += [f"--storage.tsdb.path={directory / 'data'}", f"--storage.tsdb.retention.time={retention}"]
    scheme = "http"
    if web_config:
        web_config = pathlib.Path(web_config)
        if not web_config.exists():
            server = {"tls_server_config": {"cert_file": tls["cert"], "key_file": tls["key"]}} if tls else {}
            web_config.write_text(json.dumps(server) + "\n")
        argv.append(f"--web.config.file={web_config}")
        scheme = "https" if tls else "http"
    return Service(name, argv, directory, f"{scheme}://127.0.0.1:{port}/-/ready", auth=auth,
                   cafile=tls["cert"] if tls else None)


def _launcher(kind, port, directory, *args):
    """tests/helpers/store.py in its foreground mode for `kind`, on 127.0.0.1:port."""
    return [sys.executable, str(REPO / "tests" / "helpers" / "store.py"), kind, "--port", str(port),
            "--workdir", str(pathlib.Path(directory) / "work"), *args]


def store_service(port, directory):
    """VictoriaMetrics (single node) on 127.0.0.1:port, its data under `directory`."""
    return Service("victoria-metrics", _launcher("victoria-metrics", port, directory), directory,
                   f"http://127.0.0.1:{port}/health")


def alertmanager_service(port, directory, config):
    """Alertmanager on 127.0.0.1:port, alone, with the alertmanager.yml at `config` (the role's)."""
    config = pathlib.Path(config)
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
    return Service("alertmanager", _launcher("alertmanager", port, directory, "--config", str(config)),
                   directory, f"http://127.0.0.1:{port}/-/ready")


def vmalert_service(port, directory, args_file):
    """vmalert on 127.0.0.1:port with the command line the octavia_vmalert role wrote to `args_file`."""
    return Service("vmalert", _launcher("vmalert", port, directory, "--args-file", str(args_file)),
                   directory, f"http://127.0.0.1:{port}/health")


def webhook_service(port, directory):
    """The tests' webhook receiver (tests/helpers/webhook_receiver.py) on 127.0.0.1:port."""
    directory = pathlib.Path(directory)
    argv = [sys.executable, str(REPO / "tests" / "helpers" / "webhook_receiver.py"),
            "--port", str(port), "--out", str(directory / "received.jsonl")]
    return Service("webhook", argv, directory, f"http://127.0.0.1:{port}/")


# The fleet -------------------------------------------------------------------------------------
class Fleet:
    """`count` load balancers <prefix>-001.. in `project`, on VIPs of `vip_range`.

    ensure() creates the missing ones (found by name, so a second run creates nothing) and
    waits until all are ACTIVE; delete() removes them, cascade.
    """

    def __init__(self, conn, count, prefix, project, vip_range, timeout_per_lb=3.0):
        self.conn = conn
        self.count = count
        self.prefix = prefix
        self.project = project
        self.vip_range = ipaddress.ip_network(vip_range)
        self.timeout = 60 + timeout_per_lb * count

    def names(self):
        """The names of the fleet's load balancers, in order."""
        return [f"{self.prefix}-{number:03d}" for number in range(1, self.count + 1)]

    def existing(self):
        """{name: load balancer} of the fleet's load balancers that exist now."""
        wanted = set(self.names())
        return {lb.name: lb for lb in self.conn.load_balancer.load_balancers(project_id=self.project)
                if lb.name in wanted}

    def ensure(self):
        """Create what is missing, wait for ACTIVE; returns the load balancers in name order."""
        have = self.existing()
        in_use = {lb.vip_address for lb in self.conn.load_balancer.load_balancers()}
        hosts = (str(address) for address in self.vip_range.hosts())
        for name in self.names():
            if name in have:
                continue
            vip = next(address for address in hosts
                       if address not in in_use and not address.endswith((".0", ".255")))
            in_use.add(vip)
            self.conn.load_balancer.create_load_balancer(
                name=name, vip_address=vip, vip_subnet_id=LAB_VIP_SUBNET_ID, project_id=self.project,
                description="octavia.monitoring scale demo")
        return self.wait(lambda lb: lb.provisioning_status == "ACTIVE", "ACTIVE")

    def ensure_prometheus_listeners(self, port=8088):
        """A PROMETHEUS listener on every load balancer that lacks one (the bench's setup; the
        demo and the test leave that to the site playbook). Returns {lb id: "vip:port"}."""
        have = prometheus_targets(self.conn, self.project)
        for lb in self.existing().values():
            if lb.id not in have:
                self.conn.load_balancer.create_listener(
                    loadbalancer_id=lb.id, name=f"{lb.name}-metrics", protocol="PROMETHEUS",
                    protocol_port=port, allowed_cidrs=["127.0.0.0/8"])
        self.wait(lambda lb: lb.provisioning_status == "ACTIVE", "ACTIVE")
        return prometheus_targets(self.conn, self.project)

    def wait(self, predicate, what):
        """Wait until every load balancer of the fleet satisfies `predicate`; returns them."""
        deadline = time.monotonic() + self.timeout
        while True:
            have = self.existing()
            failed = [name for name, lb in have.items() if lb.provisioning_status == "ERROR"]
            if failed:
                raise TopologyError(f"load balancers went ERROR: {failed}")
            if len(have) == self.count and all(predicate(lb) for lb in have.values()):
                return [have[name] for name in self.names()]
            if time.monotonic() > deadline:
                raise TopologyError(f"the fleet {self.prefix} is not {what} after {self.timeout:.0f}s")
            time.sleep(1.0)

    def delete(self):
        """Delete every load balancer of the fleet (cascade) and wait until they are gone."""
        for lb in self.existing().values():
            if lb.provisioning_status in ("ACTIVE", "ERROR"):
                self.conn.load_balancer.delete_load_balancer(lb.id, cascade=True)
        deadline = time.monotonic() + self.timeout
        while self.existing():
            if time.monotonic() > deadline:
                raise TopologyError(f"the fleet {self.prefix} was not deleted after {self.timeout:.0f}s")
            for lb in self.existing().values():
                if lb.provisioning_status in ("ACTIVE", "ERROR"):
                    self.conn.load_balancer.delete_load_balancer(lb.id, cascade=True)
            time.sleep(1.0)


def prometheus_targets(conn, project):
    """{loadbalancer id: "vip:port"} of every PROMETHEUS listener of the project's load balancers."""
    lbs = {lb.id: lb for lb in conn.load_balancer.load_balancers(project_id=project)}
    found = {}
    for listener in conn.load_balancer.listeners(project_id=project):
        if listener.protocol != "PROMETHEUS":
            continue
        for ref in listener.load_balancers or []:
            lb = lbs.get(ref["id"])
            if lb is not None:
                found[lb.id] = f"{lb.vip_address}:{listener.protocol_port}"
    return found


def parse_metrics(text):
    """{(name, frozenset of label pairs): value} from the Prometheus text exposition format."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _brace, rest = line.rpartition("}") if "}" in line else (None, None, line)
        if head is None:
            name, value = line.split()[:2]
            labels = frozenset()
        else:
            name, _brace, body = head.partition("{")
            value = rest.split()[0]
            labels = frozenset(tuple(pair.split("=", 1)) for pair in _label_pairs(body))
        samples[(name, labels)] = float(value)
    return samples


def _label_pairs(body):
    """name="value" pairs of a label set (values may hold commas and escaped quotes)."""
    pairs, current, quoted, escaped = [], "", False, False
    for char in body:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            pairs.append(current)
            current = ""
        else:
            current += char
    if current:
        pairs.append(current)
    return [pair.strip() for pair in pairs if pair.strip()]


def metric_sum(samples, name):
    """The sum of every series of `name` in parse_metrics() output (0.0 when absent)."""
    return sum(value for (metric, _labels), value in samples.items() if metric == name)


# The inventory ---------------------------------------------------------------------------------
def _password_hash(hosts_file, password):
    """A bcrypt hash of `password` for the shards' web config: the one `hosts_file` holds when it
    matches (a new salt on every run would rewrite the web config and break idempotence)."""
    import bcrypt  # noqa: PLC0415 - only the inventory needs it (openstack's oslo.middleware brings it)
    try:
        old = json.loads(pathlib.Path(hosts_file).read_text())["all"]["vars"]["octavia_scale_password_hash"]
        if bcrypt.checkpw(password.encode(), old.encode()):
            return old
    except (OSError, ValueError, KeyError):
        pass
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def write_inventory(directory, *, cloud, project, root, shards, store_port, vmalert_port,
                    alertmanager_port, webhook_port, tls, user, password, exporter_port=None,
                    extra_vars=None):
    """The topology as an inventory in `directory`: hosts.yml, the fleet source, group_vars.

    shards: {host name: port} of the Prometheus shards (the group `prometheus`, in that order).
    root: where every component's files live (<root>/<host name>/, <root>/vmalert/, ...).
    The roles' variables come from demo/scale/inventory/group_vars (copied beside hosts.yml, so
    the demo and the test use the same ones); this function only places the hosts and ports.
    extra_vars: more variables of the group all (the bench sets the scrape interval).
    Returns the list of inventory sources to pass with -i.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    local = {"ansible_host": "127.0.0.1", "ansible_connection": "local",
             "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    shard_hosts = {name: dict(local, octavia_scale_port=port) for name, port in shards.items()}
    first = next(iter(shard_hosts))
    if exporter_port is not None:
        # One shard scrapes the exporter: its series are fleet-wide, not per load balancer.
        shard_hosts[first]["octavia_scale_exporter_targets"] = [f"127.0.0.1:{exporter_port}"]
    hosts = {"all": {
        "vars": {"octavia_scale_root": str(root), "octavia_scale_cloud": cloud,
                 "octavia_scale_owner": getpass.getuser(), "octavia_scale_group": grp.getgrgid(os.getgid()).gr_name,
                 "octavia_scale_password_hash": _password_hash(directory / "hosts.yml", password),
                 "octavia_scale_project": project, "octavia_scale_store_port": store_port,
                 "octavia_scale_vmalert_port": vmalert_port,
                 "octavia_scale_alertmanager_port": alertmanager_port,
                 "octavia_scale_webhook_port": webhook_port,
                 "octavia_scale_tls_cert": tls["cert"], "octavia_scale_tls_key": tls["key"],
                 "octavia_scale_user": user, "octavia_scale_password": password,
                 **(extra_vars or {})},
        "children": {
            "prometheus": {"hosts": shard_hosts},
            "vmalert": {"hosts": {"scale-vmalert": dict(local)}},
            "alertmanager": {"hosts": {"scale-alertmanager": dict(local)}},
            "grafana": {"hosts": {"scale-grafana": dict(local)}},
        }}}
    (directory / "hosts.yml").write_text(json.dumps(hosts, indent=2) + "\n")
    (directory / "fleet.octavia.yml").write_text(json.dumps({
        "plugin": "octavia.monitoring.loadbalancers", "clouds": [cloud],
        "filters": {"project_ids": [project]}}, indent=2) + "\n")
    target = directory / "group_vars"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(GROUP_VARS, target)
    return [str(directory / "fleet.octavia.yml"), str(directory / "hosts.yml")]


class Topology:
    """The whole scale topology on 127.0.0.1: shards, store, Alertmanager, webhook, vmalert.

    ports: {"store", "vmalert", "alertmanager", "webhook"} -> port; shards: {host: port}.
    The demo gives fixed ports, the test and the bench free ones; everything else is the same.
    playbook: what site_argv() runs, by default OCTAVIA_SCALE_PLAYBOOK or else
    octavia.monitoring.site (an operator's own site playbook that imports it works too).
    """

    def __init__(self, root, *, cloud, project, shards, ports, user, password, exporter_port=None,
                 extra_vars=None, env=None, playbook=None):
        self.root = pathlib.Path(root)
        self.cloud = cloud
        self.project = project
        self.shards = dict(shards)
        self.ports = dict(ports)
        self.user = user
        self.password = password
        self.exporter_port = exporter_port
        self.extra_vars = dict(extra_vars or {})
        self.env = env
        self.playbook = playbook or os.environ.get("OCTAVIA_SCALE_PLAYBOOK") or "octavia.monitoring.site"
        self.tls = make_tls(self.root / "tls")

    @property
    def store_url(self):
        """VictoriaMetrics' URL, which answers the Prometheus query API."""
        return f"http://127.0.0.1:{self.ports['store']}"

    def shard_url(self, name):
        """A shard's URL (HTTPS once the role has written its web config)."""
        return self.services()[name].url().rsplit("/-/", 1)[0]

    def inventory(self):
        """Write the inventory for the current shards; returns the -i sources."""
        return write_inventory(
            self.root / "inventory", cloud=self.cloud, project=self.project, root=self.root,
            shards=self.shards, store_port=self.ports["store"], vmalert_port=self.ports["vmalert"],
            alertmanager_port=self.ports["alertmanager"], webhook_port=self.ports["webhook"],
            tls=self.tls, user=self.user, password=self.password, exporter_port=self.exporter_port,
            extra_vars=self.extra_vars)

    def services(self, shards=None):
        """{name: Service} of every component, in start order; vmalert last (it needs the role's args)."""
        found = {"store": store_service(self.ports["store"], self.root / "victoria-metrics"),
                 "webhook": webhook_service(self.ports["webhook"], self.root / "webhook"),
                 "alertmanager": alertmanager_service(self.ports["alertmanager"], self.root / "alertmanager",
                                                      self.root / "alertmanager" / "alertmanager.yml")}
        for name, port in (self.shards if shards is None else shards).items():
            found[name] = shard_service(name, port, self.root / name, web_config=self.root / name / "web.yml",
                                        tls=self.tls, auth=(self.user, self.password))
        found["vmalert"] = vmalert_service(self.ports["vmalert"], self.root / "vmalert",
                                           self.root / "vmalert" / "vmalert.args")
        return found

    def start(self):
        """Start (or reuse) everything but vmalert (start_vmalert()); returns the started services."""
        started = {}
        for name, service in self.services().items():
            if name != "vmalert":
                started[name] = service.start()
        return started

    def start_vmalert(self):
        """Start vmalert with the command line the octavia_vmalert role writes.

        The role reloads a running vmalert, and vmalert needs the role's arguments file to
        start: so, once, the role runs alone with reload_method none to write that file (the
        way the demo's Prometheus starts from a minimal prometheus.yml), and vmalert starts
        from it. The site playbook then finds vmalert running what is on disk.
        """
        service = self.services()["vmalert"]
        args_file = self.root / "vmalert" / "vmalert.args"
        if service.pid is None and not args_file.exists():
            playbook = self.root / "vmalert-bootstrap.yml"
            playbook.write_text(json.dumps([{"name": "Write vmalert's arguments and rules", "hosts": "vmalert",
                                             "gather_facts": False,
                                             "roles": [{"role": "octavia.monitoring.octavia_vmalert"}]}]))
            argv = ["ansible-playbook"]
            for source in self.inventory():
                argv += ["-i", source]
            log = self.root / "vmalert-bootstrap.log"
            with open(log, "w") as out:
                proc = subprocess.run([*argv, "-e", "octavia_vmalert_reload_method=none", str(playbook)],
                                      stdout=out, stderr=subprocess.STDOUT, env=self.env, check=False)
            if proc.returncode != 0:
                raise TopologyError(f"the octavia_vmalert role could not write vmalert's arguments; see {log}")
        return service.start()

    def stop(self, names=None):
        """Stop the named components (all, in reverse start order, by default) by their PID files."""
        services = self.services()
        for name in reversed(list(services)):
            if names is None or name in names:
                services[name].stop()

    def remove_shard(self, name):
        """Take a shard out of the inventory and stop it (the resharding case)."""
        self.stop([name])
        del self.shards[name]

    def site_argv(self):
        """ansible-playbook octavia.monitoring.site over this topology's inventory."""
        argv = ["ansible-playbook"]
        for source in self.inventory():
            argv += ["-i", source]
        return [*argv, self.playbook]

    def scraped(self, window="15s"):
        """{instance: {shard, ...}} of the Octavia targets with a sample in the last `window`, from the store."""
        found = {}
        for series in query(self.store_url, f'last_over_time(up{{job="octavia"}}[{window}])'):
            found.setdefault(series["metric"].get("instance"), set()).add(series["metric"].get("shard"))
        return found

    def wait_scraped(self, expected, timeout=180, window="15s"):
        """Wait until the store holds exactly `expected` instances, each from one shard; returns scraped()."""
        expected = set(expected)

        def settled():
            now = self.scraped(window)
            return now if set(now) == expected and all(len(s) == 1 for s in now.values()) else None
        return wait_for(settled, timeout, f"{len(expected)} targets, each from exactly one shard, in the store",
                        interval=2)
