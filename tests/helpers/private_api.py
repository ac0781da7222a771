"""A private octavia-api of the lab, with its own [api_settings], its own log and clouds.yaml.

Some answers of Octavia depend on the operator's settings (for example
``allow_prometheus_listeners = False``); a second API process on the lab's
database, configured that way, gives them without touching the shared lab API.
"""
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from helpers.ansible_run import run_module
from helpers.prometheus_server import free_port
from lab import apilog

LISTENER = "octavia.monitoring.lb_prometheus_listener"


class PrivateApi:
    """``PrivateApi(lab, workdir, name, **api_settings)``: started at once, ``stop()`` to end it."""

    def __init__(self, lab, workdir, name, **api_settings):
        self.lab, self.name = lab, name
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        settings = dict(bind_port=port, **api_settings)
        override = workdir / ("%s.conf" % name)
        override.write_text("[api_settings]\n" + "".join("%s = %s\n" % kv for kv in settings.items()))
        self.log_path = workdir / ("%s.log" % name)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([lab.s.binary("octavia-api"), "--config-file", str(lab.conf),
                                      "--config-file", str(override)], stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        clouds = workdir / ("%s-clouds.yaml" % name)
        clouds.write_text("clouds:\n  %s:\n    auth_type: none\n    auth:\n      endpoint: %s\n"
                          "    load_balancer_endpoint_override: %s\n    region_name: RegionOne\n"
                          % (name, self.url, self.url))
        self.env = {"OS_CLIENT_CONFIG_FILE": str(clouds)}
        self._wait_up()

    def _wait_up(self):
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("octavia-api %s did not start, see %s" % (self.name, self.log_path))
            time.sleep(0.2)

    def run(self, args, module=LISTENER, **kw):
        """Run a module of the collection against this API (cloud ``name``)."""
        return run_module(module, dict(dict(cloud=self.name), **args), env=self.env, **kw)

    def marker(self):
        return apilog.marker(self.log_path)

    def requests_since(self, marker):
        return apilog.requests_since(self.log_path, marker)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        self._log.close()
