"""The octavia_exporter role, run for real with ansible-playbook on localhost, against the lab.

The role installs the exporter from this checkout into a new virtualenv (pip resolves
its dependencies from the host's package index), writes its configuration and
clouds.yaml, and, in foreground mode (no systemd in the test), a launcher that the
test runs: the installed exporter then serves the lab's load balancers.
"""
import getpass
import grp
import json
import os
import socket
import stat
import subprocess
import time
import urllib.request

import pytest
import yaml

from helpers.ansible_run import run_playbook


SECRET = "s3cret-Value-8f2e"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def role(tmp_path, lab, lb_factory):
    playbook = tmp_path / "exporter.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                     "roles": [{"role": "octavia.monitoring.octavia_exporter"}]}]))
    clouds = yaml.safe_load(lab.clouds_yaml.read_text())["clouds"]
    # A credential the exporter never uses, to prove no secret reaches the output.
    clouds["unused"] = {"auth_type": "password", "auth": {"auth_url": "http://127.0.0.1:1/v3",
                                                          "username": "u", "password": SECRET}}
    port = _free_port()
    base = dict(
        octavia_exporter_install_dir=str(tmp_path / "opt"),
        octavia_exporter_config_dir=str(tmp_path / "etc"),
        octavia_exporter_become=False,
        octavia_exporter_create_user=False,
        octavia_exporter_user=getpass.getuser(),
        octavia_exporter_group=grp.getgrgid(os.getgid()).gr_name,
        octavia_exporter_service_manager="foreground",
        octavia_exporter_listen_address=f"127.0.0.1:{port}",
        octavia_exporter_interval=2,
        octavia_exporter_clouds=clouds,
        octavia_exporter_sources=[dict(name="lab", cloud=lab.cloud, labels=dict(cloud="lab-east"),
                                       filters=dict(name_pattern=f"{lb_factory.prefix}-*"))],
    )

    class Runner:
        install_dir = tmp_path / "opt"
        config_dir = tmp_path / "etc"
        url = f"http://127.0.0.1:{port}"

        @staticmethod
        def run(check=False, **extra):
            return run_playbook(playbook, extra_vars=dict(base, **extra), check=check, diff=True)

    return Runner


def _metrics(url):
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        return response.read().decode()


def test_install_configure_run_and_remove(role, lb_factory):
    lb = lb_factory.create()

    predicted = role.run(check=True)
    assert predicted.rc == 0, predicted
    assert predicted.changed > 0
    assert not role.install_dir.exists() and not role.config_dir.exists(), "check mode wrote nothing"

    first = role.run()
    assert first.rc == 0, first
    clouds = role.config_dir / "clouds.yaml"
    assert stat.S_IMODE(clouds.stat().st_mode) == 0o600
    assert "load_balancer_endpoint_override" in clouds.read_text() and SECRET in clouds.read_text()
    # The credentials never reach the output, not even in diff mode.
    assert SECRET not in predicted.stdout and SECRET not in first.stdout
    config = yaml.safe_load((role.config_dir / "config.yml").read_text())
    assert config["sources"][0]["cloud"] == lb_factory.conn.config.name
    assert config["interval"] == 2

    for check in (False, True):
        again = role.run(check=check)
        assert again.rc == 0 and again.changed == 0, again

    launcher = role.install_dir / "run-foreground"
    proc = subprocess.Popen([str(launcher)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline and f'loadbalancer_id="{lb.id}"' not in text:
            time.sleep(0.5)
            try:
                text = _metrics(role.url)
            except OSError:
                continue
        assert f'loadbalancer_id="{lb.id}"' in text, text[-2000:]
        assert 'openstack_octavia_api_source_up{cloud="lab-east",region="RegionOne",source="lab"} 1.0' in text
    finally:
        proc.terminate()
        proc.wait(15)

    # A bad value is refused before anything is written, and the live configuration stays.
    before = (role.config_dir / "config.yml").read_text()
    bad = role.run(octavia_exporter_sources=[dict(name="lab", cloud="octavia-lab", address="public")])
    assert bad.rc != 0 and "address" in bad.stdout
    unknown = role.run(octavia_exporter_sources=[dict(name="lab", cloud="nowhere")])
    assert unknown.rc != 0 and "nowhere" in unknown.stdout
    assert (role.config_dir / "config.yml").read_text() == before

    removal = role.run(check=True, octavia_exporter_state="absent")
    assert removal.rc == 0 and removal.changed > 0 and role.install_dir.exists(), removal
    removed = role.run(octavia_exporter_state="absent")
    assert removed.rc == 0 and removed.changed > 0, removed
    assert not role.install_dir.exists() and not role.config_dir.exists()
    gone = role.run(octavia_exporter_state="absent")
    assert gone.rc == 0 and gone.changed == 0, gone
