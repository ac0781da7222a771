"""Run the real octavia-exporter command for a test: its own config, a free port, its log."""
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = pathlib.Path(__file__).resolve().parents[2]


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ExporterProcess:
    """``octavia-exporter`` in the foreground, from exporter/src, against the lab's clouds.yaml."""

    def __init__(self, workdir, sources, clouds_file, interval=2, **settings):
        self.workdir = pathlib.Path(workdir)
        self.port = _free_port()
        self.config = self.workdir / "exporter.yml"
        self.config.write_text(yaml.safe_dump(dict(interval=interval, clouds_file=str(clouds_file),
                                                   sources=sources, **settings)))
        self.log = self.workdir / "exporter.log"
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO / "exporter" / "src"), str(REPO / ".build" / "collections")]))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "octavia_exporter", "--config.file", str(self.config),
                 f"--web.listen-address=127.0.0.1:{self.port}"], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.wait_for(lambda: self.value("openstack_octavia_api_exporter_cycles_total") >= 1,
                      timeout, "the first completed cycle")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return response.status, response.read().decode()

    def metrics_text(self):
        return self.get("/metrics")[1]

    def samples(self, name, **labels):
        """Samples of ``name`` whose labels include ``labels``."""
        out = []
        for family in text_string_to_metric_families(self.metrics_text()):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    out.append(sample)
        return out

    def value(self, name, **labels):
        """The value of the one matching sample, or ``None``."""
        found = self.samples(name, **labels)
        return found[0].value if len(found) == 1 else None

    def state(self, name, **labels):
        """The current value of a state set (the status whose series is 1)."""
        current = [s.labels["status"] for s in self.samples(name, **labels) if s.value == 1]
        return current[0] if len(current) == 1 else None

    def sd(self):
        return json.loads(self.get("/sd/prometheus")[1])

    def wait_for(self, predicate, timeout=30, what="the condition"):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the exporter exited ({self.proc.returncode}):\n{self.log_text()}")
            try:
                last = predicate()
                if last:
                    return last
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r});"
                             f" exporter log:\n{self.log_text()[-3000:]}")
