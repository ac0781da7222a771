"""Run the Debian `prometheus` binary for tests: 127.0.0.1 only, a private data dir.

Standard library only, so any helper or test can import it:

    from helpers.prometheus_server import PrometheusServer   # pytest.ini puts tests/ on sys.path

    with PrometheusServer(config_text=yaml_text) as prom:
        prom.wait_for(lambda: prom.targets(health="up"), timeout=30)
        prom.query('up{job="octavia"}')

The server runs with `--web.enable-lifecycle` (so POST /-/reload works, which is
what the role's `http` reload method uses; `lifecycle=False` leaves it out, to see
a refused reload), a short retention and its own data directory. A pid file is written so the `signal` reload method can be tested too.

As a script it keeps a server in the foreground (used by demos):

    python tests/helpers/prometheus_server.py --config prometheus.yml --port 9090

It stops Prometheus on SIGTERM or Ctrl-C, and exits when Prometheus exits.
"""
import argparse
import json
import pathlib
import shutil
import urllib.error
import urllib.parse
import urllib.request

try:
    from helpers.server_process import ServerProcess, free_port, metric_from_text, serve_in_foreground
except ImportError:  # run as a script: tests/helpers itself is on sys.path
    from server_process import ServerProcess, free_port, metric_from_text, serve_in_foreground  # pylint: disable=import-error

# free_port is part of this module's interface (tests import it from here).
__all__ = ["MINIMAL_CONFIG", "PrometheusError", "PrometheusServer", "free_port"]

DEFAULT_BINARY = "prometheus"

# Evaluate and scrape fast so that tests see results in seconds, not minutes.
MINIMAL_CONFIG = """\
global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs: []
"""


class PrometheusError(RuntimeError):
    """Prometheus did not start, rejected a request, or answered with an error."""


class PrometheusServer(ServerProcess):
    """One Prometheus process on 127.0.0.1.

    config_path: an existing prometheus.yml to run with (the role under test
        may own and rewrite it). If not given, `config_text` (or a minimal
        config) is written to <workdir>/prometheus.yml.
    port: fixed port, or None for a free one.
    workdir: where data/, prometheus.yml, prometheus.log and prometheus.pid
        live; a temporary directory (removed on stop) when None.
    """

    name = "prometheus"
    ready_path = "/-/ready"
    error = PrometheusError
    poll_interval = 1.0

    def __init__(self, config_path=None, config_text=None, port=None, workdir=None,
                 binary=None, retention="2h", extra_args=(), host="127.0.0.1", lifecycle=True):
        super().__init__(port=port, workdir=workdir, args=extra_args, host=host)
        self.binary = binary or shutil.which(DEFAULT_BINARY) or "/usr/bin/prometheus"
        self.retention = retention
        self.lifecycle = lifecycle
        self.data_dir = self.workdir / "data"
        if config_path is None:
            config_path = self.workdir / "prometheus.yml"
            config_path.write_text(config_text if config_text is not None else MINIMAL_CONFIG)
        self.config_path = pathlib.Path(config_path)

    def command(self):
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--storage.tsdb.retention.time={self.retention}",
            f"--web.listen-address={self.address}",
            *(["--web.enable-lifecycle"] if self.lifecycle else []),
            "--log.level=info",
            *self.args,
        ]

    def prepare(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)

    # configuration

    def write_config(self, text, reload=True):
        """Replace the config file and (by default) reload it."""
        self.config_path.write_text(text)
        if reload:
            self.reload()

    def reload(self):
        """POST /-/reload. Raises PrometheusError with Prometheus' message if it rejects the config."""
        req = urllib.request.Request(f"{self.url}/-/reload", method="POST", data=b"")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()
        except urllib.error.HTTPError as err:
            raise PrometheusError(f"reload rejected ({err.code}): "
                                  f"{err.read().decode(errors='replace').strip()}") from err

    # HTTP API

    def _get(self, path, params=None):
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return resp.read().decode()
        except urllib.error.HTTPError as err:
            body = err.read().decode(errors="replace")
            raise PrometheusError(f"GET {path} {params or ''} -> {err.code}: {body}") from err

    def api(self, path, params=None):
        """GET /api/v1/<path>; return `data` or raise with Prometheus' error."""
        doc = json.loads(self._get(f"/api/v1/{path}", params))
        if doc.get("status") != "success":
            raise PrometheusError(f"{path}: {doc.get('errorType')}: {doc.get('error')}")
        return doc["data"]

    def query(self, promql, time_=None):
        """Instant query; return the list of result samples ({metric, value})."""
        params = {"query": promql}
        if time_ is not None:
            params["time"] = str(time_)
        return self.api("query", params)["result"]

    def query_value(self, promql):
        """The float value of a query expected to return at most one sample (or a scalar), or None."""
        data = self.api("query", {"query": promql})
        result = data["result"]
        if data["resultType"] == "scalar":
            return float(result[1])
        if not result:
            return None
        if len(result) > 1:
            raise PrometheusError(f"{promql!r} returned {len(result)} series")
        return float(result[0]["value"][1])

    def series(self, match):
        return self.api("series", {"match[]": match})

    def label_values(self, label):
        return self.api(f"label/{label}/values")

    def targets(self, state="active", job=None, health=None):
        """Active (or dropped) targets, optionally filtered by scrapePool and health."""
        data = self.api("targets", {"state": state})
        key = "droppedTargets" if state == "dropped" else "activeTargets"
        found = data.get(key, [])
        if job is not None:
            found = [t for t in found if t.get("scrapePool") == job]
        if health is not None:
            found = [t for t in found if t.get("health") == health]
        return found

    def rules(self, type_=None):
        """Rule groups as /api/v1/rules returns them."""
        return self.api("rules", {"type": type_} if type_ else None)["groups"]

    def rule_names(self):
        return [r["name"] for g in self.rules() for r in g["rules"]]

    def alerts(self, name=None, state=None):
        """Pending and firing alerts, optionally filtered by alertname and state."""
        found = self.api("alerts")["alerts"]
        if name is not None:
            found = [a for a in found if a["labels"].get("alertname") == name]
        if state is not None:
            found = [a for a in found if a.get("state") == state]
        return found

    def status_config(self):
        """The YAML of the config Prometheus is running with (not what is on disk)."""
        return self.api("status/config")["yaml"]

    def self_metric(self, name):
        """A metric from Prometheus' own /metrics, e.g. prometheus_config_last_reload_successful."""
        return metric_from_text(self._get("/metrics"), name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="prometheus.yml to run with")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--retention", default="2h")
    parser.add_argument("--url-file", default=None,
                        help="write the server's URL here once it is ready")
    args = parser.parse_args()
    serve_in_foreground(PrometheusServer(config_path=args.config, port=args.port, workdir=args.workdir,
                                         retention=args.retention), url_file=args.url_file)


if __name__ == "__main__":
    main()
