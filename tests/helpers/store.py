"""Run the Debian VictoriaMetrics, vmalert and Alertmanager binaries for tests and demos.

Standard library only. Every process listens on 127.0.0.1, on a free port unless one
is given, and keeps its data, log and pid file in its own work directory:

    from helpers.store import VictoriaMetrics, VMAlert, Alertmanager

    with VictoriaMetrics() as vm:
        vm.import_prometheus('octavia_member_up{member="m1"} 0')
        vm.wait_for(lambda: vm.query("octavia_member_up"), message="the imported sample")
        with Alertmanager(config_text=AM_YAML) as am, \\
             VMAlert(rules=["/etc/prometheus/rules/*.yml"], datasource_url=vm.url,
                     remote_write_url=vm.url, remote_read_url=vm.url,
                     notifier_urls=[am.url]) as ruler:
            ruler.wait_for(lambda: ruler.alerts(name="OctaviaMemberDown", state="firing"))

Each class takes `args` (extra command line flags) and `workdir` (kept when given,
a temporary directory removed on stop otherwise). `stop()` sends TERM, then KILL.

As a script it keeps one process in the foreground until SIGTERM or Ctrl-C (for demos):

    python tests/helpers/store.py victoria-metrics --port 8428 --workdir DIR
    python tests/helpers/store.py alertmanager --port 9093 --config alertmanager.yml
    python tests/helpers/store.py vmalert --port 8880 --datasource http://127.0.0.1:8428 \\
        --notifier http://127.0.0.1:9093 --rule '/etc/prometheus/rules/*.yml'
    python tests/helpers/store.py vmalert --port 8880 --args-file /etc/default/vmalert

(`--args-file` reads the ARGS= line that roles/octavia_vmalert writes.)
"""
import argparse
import json
import pathlib
import shlex
import shutil
import urllib.error
import urllib.parse
import urllib.request

try:
    from helpers.server_process import ServerProcess, metric_from_text, serve_in_foreground, wait_until
except ImportError:  # run as a script: tests/helpers itself is on sys.path
    from server_process import ServerProcess, metric_from_text, serve_in_foreground, wait_until  # pylint: disable=import-error


class StoreError(RuntimeError):
    """A process did not start, refused a request, or answered with an error."""


def http(method, url, data=None, headers=None, timeout=30):
    """Send one request; return (status, body text). HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def wait_for(predicate, timeout=60, interval=0.5, message="condition"):
    """Call predicate until it returns something truthy; return that, or raise TimeoutError."""
    return wait_until(predicate, timeout=timeout, interval=interval, message=message,
                      errors=(StoreError, OSError))


class _Process(ServerProcess):
    """A store process: the shared lifecycle, and requests that send its basic_auth."""

    binary = ""
    error = StoreError

    def get(self, path, params=None):
        """GET a path; return the body, or raise StoreError on a non-200 answer."""
        url = self.url + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        status, body = http("GET", url, headers=self.headers())
        if status != 200:
            raise StoreError(f"{self.name} GET {path} {params or ''} -> {status}: {body.strip()}")
        return body

    def get_json(self, path, params=None):
        return json.loads(self.get(path, params))

    def reload(self):
        """POST /-/reload; raise StoreError with the server's answer unless it is 200."""
        status, body = http("POST", f"{self.url}/-/reload", data=b"", headers=self.headers())
        if status != 200:
            raise StoreError(f"{self.name} refused the reload ({status}): {body.strip()}")
        return body

    def metric(self, name):
        """A value of the process' own /metrics (the first series of that name), or None."""
        return metric_from_text(self.get("/metrics"), name)


class VictoriaMetrics(_Process):
    """Single-node VictoriaMetrics: Prometheus remote write in, Prometheus query API out.

    basic_auth=(user, password) makes it refuse requests without them (-httpAuth.*);
    this helper's own requests send them.
    """

    name = "victoria-metrics"
    binary = "/usr/bin/victoria-metrics"
    ready_path = "/health"

    def __init__(self, port=None, workdir=None, args=(), retention="1d", host="127.0.0.1", basic_auth=None):
        super().__init__(port=port, workdir=workdir, args=args, host=host, basic_auth=basic_auth)
        self.retention = retention

    @property
    def remote_write_url(self):
        """Where Prometheus' remote_write sends to."""
        return f"{self.url}/api/v1/write"

    def command(self):
        return [
            shutil.which("victoria-metrics") or self.binary,
            f"-httpListenAddr={self.address}",
            f"-storageDataPath={self.workdir / 'data'}",
            f"-retentionPeriod={self.retention}",
            # Imported and written samples become searchable at once, not after the
            # default one-second cache window, and the latest sample is found without
            # waiting for the 30s "search latency offset" meant for late remote writes.
            "-search.latencyOffset=0s",
            "-search.cacheTimestampOffset=0s",
            "-loggerLevel=WARN",
            *([f"-httpAuth.username={self.basic_auth[0]}", f"-httpAuth.password={self.basic_auth[1]}"]
              if self.basic_auth else []),
            *self.args,
        ]

    def import_prometheus(self, text, timestamp_ms=None):
        """Import samples in the Prometheus text format (`name{labels} value [ts]` lines).

        timestamp_ms applies to lines without their own timestamp (VM's default is now).
        """
        params = {"timestamp": str(timestamp_ms)} if timestamp_ms is not None else {}
        url = f"{self.url}/api/v1/import/prometheus"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        status, body = http("POST", url, data=text.encode(), headers=self.headers())
        if status not in (200, 204):
            raise StoreError(f"victoria-metrics refused the import ({status}): {body.strip()}")

    def flush(self):
        """Make everything written so far visible to queries now."""
        http("GET", f"{self.url}/internal/force_flush", headers=self.headers())

    def api(self, path, params=None):
        """GET /api/v1/<path>; return `data` or raise with VictoriaMetrics' error."""
        doc = self.get_json(f"/api/v1/{path}", params)
        if doc.get("status") != "success":
            raise StoreError(f"{path}: {doc.get('errorType')}: {doc.get('error')}")
        return doc["data"]

    def query(self, expr, time_=None):
        """Instant query; return the list of result samples ({metric, value})."""
        params = {"query": expr}
        if time_ is not None:
            params["time"] = str(time_)
        return self.api("query", params)["result"]

    def query_value(self, expr):
        """The float value of a query that returns at most one sample, or None."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) > 1:
            raise StoreError(f"{expr!r} returned {len(result)} series")
        return float(result[0]["value"][1])

    def series(self, match, start=None):
        params = {"match[]": match}
        if start is not None:
            params["start"] = str(start)
        return self.api("series", params)


class VMAlert(_Process):
    """vmalert evaluating rule files against a Prometheus-API datasource.

    Either give the options (rules, datasource_url, ...), or `args_file`: the file with
    the ARGS="..." line that roles/octavia_vmalert writes, which is then the whole
    command line except -httpListenAddr (this helper's port wins).
    """

    name = "vmalert"
    binary = "/usr/bin/vmalert"
    ready_path = "/health"

    def __init__(self, rules=(), datasource_url=None, remote_write_url=None, remote_read_url=None,
                 notifier_urls=(), evaluation_interval="2s", port=None, workdir=None, args=(),
                 args_file=None, host="127.0.0.1"):
        super().__init__(port=port, workdir=workdir, args=args, host=host)
        if args_file is None and not datasource_url:
            raise ValueError("vmalert needs a datasource_url or an args_file")
        self.rules = list(rules)
        self.datasource_url = datasource_url
        self.remote_write_url = remote_write_url
        self.remote_read_url = remote_read_url
        self.notifier_urls = list(notifier_urls)
        self.evaluation_interval = evaluation_interval
        self.args_file = args_file

    def file_args(self):
        """The arguments in args_file's ARGS= line, without any -httpListenAddr."""
        for line in pathlib.Path(self.args_file).read_text().splitlines():
            if line.startswith("ARGS="):
                # systemd splits $ARGS on white space once the quotes are gone.
                words = " ".join(shlex.split(line[len("ARGS="):])).split()
                return [a for a in words if not a.startswith("-httpListenAddr")]
        raise StoreError(f"{self.args_file} has no ARGS= line")

    def command(self):
        binary = shutil.which("vmalert") or self.binary
        if self.args_file is not None:
            return [binary, f"-httpListenAddr={self.address}", *self.file_args(), *self.args]
        return [
            binary,
            f"-httpListenAddr={self.address}",
            f"-datasource.url={self.datasource_url}",
            f"-evaluationInterval={self.evaluation_interval}",
            *(f"-rule={r}" for r in self.rules),
            *([f"-remoteWrite.url={self.remote_write_url}"] if self.remote_write_url else []),
            # Written state and recording results go out at once instead of every 5s.
            *(["-remoteWrite.flushInterval=1s"] if self.remote_write_url else []),
            *([f"-remoteRead.url={self.remote_read_url}"] if self.remote_read_url else []),
            *(f"-notifier.url={u}" for u in self.notifier_urls),
            *self.args,
        ]

    def rule_groups(self):
        """Rule groups as vmalert's /api/v1/rules returns them."""
        return self.get_json("/api/v1/rules")["data"]["groups"]

    def rule_names(self):
        return [r["name"] for g in self.rule_groups() for r in g["rules"]]

    def alerts(self, name=None, state=None):
        """Pending and firing alerts, optionally filtered by alertname and state."""
        found = self.get_json("/api/v1/alerts")["data"]["alerts"] or []
        if name is not None:
            found = [a for a in found if a["labels"].get("alertname") == name]
        if state is not None:
            found = [a for a in found if a.get("state") == state]
        return found

    def config_reloads(self):
        """vmalert_config_last_reload_total (how often it reloaded its rule files)."""
        return self.metric("vmalert_config_last_reload_total")


class Alertmanager(_Process):
    """Debian's prometheus-alertmanager, alone (no cluster peers)."""

    name = "alertmanager"
    binary = "/usr/bin/prometheus-alertmanager"

    def __init__(self, config_path=None, config_text=None, port=None, workdir=None, args=(),
                 host="127.0.0.1"):
        super().__init__(port=port, workdir=workdir, args=args, host=host)
        if config_path is None:
            config_path = self.workdir / "alertmanager.yml"
            config_path.write_text(config_text if config_text is not None else MINIMAL_ALERTMANAGER)
        self.config_path = pathlib.Path(config_path)

    def command(self):
        return [
            shutil.which("prometheus-alertmanager") or self.binary,
            f"--config.file={self.config_path}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address={self.address}",
            # Alone: no gossip port (it would default to 0.0.0.0:9094 and collide).
            "--cluster.listen-address=",
            "--log.level=info",
            *self.args,
        ]

    def alerts(self, name=None):
        """The alerts Alertmanager holds (API v2), optionally those with one alertname."""
        found = self.get_json("/api/v2/alerts")
        if name is not None:
            found = [a for a in found if a["labels"].get("alertname") == name]
        return found

    def config_hash(self):
        """alertmanager_config_hash: changes when a reload loads a different file."""
        return self.metric("alertmanager_config_hash")

    def reload_ok(self):
        """alertmanager_config_last_reload_successful as a bool."""
        return self.metric("alertmanager_config_last_reload_successful") == 1.0


MINIMAL_ALERTMANAGER = """\
route:
  receiver: "null"
receivers:
  - name: "null"
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["victoria-metrics", "vmalert", "alertmanager"])
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--config", default=None, help="alertmanager.yml (alertmanager)")
    parser.add_argument("--datasource", default=None, help="datasource URL (vmalert)")
    parser.add_argument("--remote-write", default=None, help="remote write URL (vmalert)")
    parser.add_argument("--remote-read", default=None, help="remote read URL (vmalert)")
    parser.add_argument("--notifier", action="append", default=[], help="Alertmanager URL (vmalert)")
    parser.add_argument("--rule", action="append", default=[], help="rule file or glob (vmalert)")
    parser.add_argument("--args-file", default=None, help="ARGS= file written by octavia_vmalert")
    parser.add_argument("--url-file", default=None, help="write the URL here once it is ready")
    opts = parser.parse_args()
    common = {"port": opts.port, "workdir": opts.workdir}
    if opts.kind == "victoria-metrics":
        server = VictoriaMetrics(**common)
    elif opts.kind == "alertmanager":
        server = Alertmanager(config_path=opts.config, **common)
    else:
        server = VMAlert(rules=opts.rule, datasource_url=opts.datasource,
                         remote_write_url=opts.remote_write, remote_read_url=opts.remote_read,
                         notifier_urls=opts.notifier, args_file=opts.args_file, **common)
    serve_in_foreground(server, url_file=opts.url_file)


if __name__ == "__main__":
    main()
