"""The octavia_vmalert role: the Octavia rules evaluated centrally by a real vmalert on a real store.

tests/helpers/store.py runs Debian's victoria-metrics, vmalert and prometheus-alertmanager
on free 127.0.0.1 ports. vmalert is started from the arguments file the role writes,
with the rule files the role writes (through octavia_prometheus' `rules` entry point);
Alertmanager runs the configuration octavia_alertmanager writes, routing to a webhook
receiver (tests/helpers/webhook_receiver.py). Samples are imported into VictoriaMetrics
through its Prometheus text import endpoint, as a shard's remote write would store them.
"""
import getpass
import grp
import hashlib
import json
import os
import threading
import time

import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.prometheus_server import free_port
from helpers.store import Alertmanager, VictoriaMetrics, VMAlert
from helpers.webhook_receiver import WebhookReceiver

LB = "9f1b2c3d-0000-4000-8000-000000000001"
MEMBER = "5a5a5a5a-0000-4000-8000-0000000000m1"
POOL = "7b7b7b7b-0000-4000-8000-0000000000p1"
LISTENER = "3c3c3c3c-0000-4000-8000-0000000000l1"

# An explicit target with its catalogue, in the item shape lb_prometheus_listener_info returns:
# the name catalogue then holds recording rules for this load balancer's objects.
TARGET = {
    "scrape_target": "127.0.0.1:2",
    "labels": {"loadbalancer_id": LB, "loadbalancer_name": "web-lb", "listener_id": LISTENER},
    "catalog": {
        "listeners": [{"id": LISTENER, "name": "metrics", "protocol": "PROMETHEUS", "protocol_port": 9100,
                       "connection_limit": -1}],
        "pools": [{"id": POOL, "name": "web-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "listener_id": LISTENER, "listener_ids": [LISTENER]}],
        "members": [{"id": MEMBER, "name": "web-1", "address": "127.0.0.5", "protocol_port": 80, "weight": 1,
                     "pool_id": POOL}],
    },
}
MEMBER_DOWN = (f'octavia_member_status{{job="octavia",state="DOWN",loadbalancer_id="{LB}",'
               f'pool="{POOL}:{LISTENER}",member="{MEMBER}",instance="127.0.0.1:2"}} 1\n')


def play(path, role):
    path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                 "roles": [{"role": f"octavia.monitoring.{role}"}]}]))
    return path


def digest(paths):
    """Checksums of every file under the given paths, to prove that nothing was written."""
    out = {}
    for root in paths:
        for item in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if item.is_file():
                out[str(item)] = hashlib.sha256(item.read_bytes()).hexdigest()
    return out


class Central:
    """VictoriaMetrics, Alertmanager with the role's configuration, and vmalert from the role's files."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.owner = getpass.getuser()
        self.group = grp.getgrgid(os.getgid()).gr_name
        self.hook = WebhookReceiver().start()
        self.vm = VictoriaMetrics(workdir=tmp / "vm").start()
        am_config = tmp / "alertmanager.yml"
        am_config.write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
        self.am = Alertmanager(config_path=am_config, workdir=tmp / "am").start()
        am_run = run_playbook(play(tmp / "am.play", "octavia_alertmanager"), extra_vars={
            "octavia_alertmanager_become": False, "octavia_alertmanager_file_owner": self.owner,
            "octavia_alertmanager_file_group": self.group, "octavia_alertmanager_config_file": str(am_config),
            "octavia_alertmanager_url": self.am.url,
            "octavia_alertmanager_receivers": [{"name": "octavia-hook", "webhook_url": self.hook.url}],
            "octavia_alertmanager_group_wait": "1s", "octavia_alertmanager_group_interval": "1s"})
        assert am_run.rc == 0, am_run
        self.port = free_port()
        self.rules_dir = tmp / "vmalert" / "rules"
        self.secrets_dir = tmp / "vmalert" / "secrets"
        self.args_file = tmp / "vmalert" / "vmalert.args"
        self.playbook = play(tmp / "vmalert.play", "octavia_vmalert")
        self.vars = {
            "octavia_vmalert_become": False,
            "octavia_vmalert_file_owner": self.owner,
            "octavia_vmalert_file_group": self.group,
            "octavia_vmalert_rules_dir": str(self.rules_dir),
            "octavia_vmalert_secrets_dir": str(self.secrets_dir),
            "octavia_vmalert_args_file": str(self.args_file),
            "octavia_vmalert_listen_address": f"127.0.0.1:{self.port}",
            "octavia_vmalert_url": f"http://127.0.0.1:{self.port}",
            "octavia_vmalert_evaluation_interval": "2s",
            "octavia_vmalert_datasource": {"url": self.vm.url},
            "octavia_vmalert_remote_write": {"url": self.vm.url},
            "octavia_vmalert_remote_read": {"url": self.vm.url},
            "octavia_vmalert_notifiers": [{"url": self.am.url}],
            "octavia_vmalert_extra_args": ["-remoteWrite.flushInterval=1s"],
            # The pack's own variables, read as set for the vmalert host.
            "octavia_prometheus_targets": [TARGET],
            "octavia_prometheus_catalog_interval": "2s",
            "octavia_prometheus_alert_member_down_for": "2s",
        }
        first = self.run(octavia_vmalert_reload_method="none")
        assert first.rc == 0, first
        self.ruler = VMAlert(args_file=self.args_file, port=self.port, workdir=tmp / "vmalert-run").start()
        self._feeding = threading.Event()
        self._feeder = None

    def run(self, check=False, diff=False, **extra):
        return run_playbook(self.playbook, extra_vars={**self.vars, **extra}, check=check, diff=diff)

    def feed(self, text):
        """Import `text` every second (a shard's remote write), until stop_feeding()."""
        self.stop_feeding()
        self._feeding.clear()

        def loop():
            while not self._feeding.is_set():
                self.vm.import_prometheus(text)
                self._feeding.wait(1)
        self._feeder = threading.Thread(target=loop, daemon=True)
        self._feeder.start()

    def stop_feeding(self):
        if self._feeder is not None:
            self._feeding.set()
            self._feeder.join(10)
            self._feeder = None

    def rule(self, name):
        return next(r for g in self.ruler.rule_groups() for r in g["rules"] if r["name"] == name)

    def stop(self):
        self.stop_feeding()
        for proc in (self.ruler, self.am, self.vm):
            proc.stop()
        self.hook.stop()


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    site = Central(tmp_path_factory.mktemp("central"))
    try:
        yield site
    finally:
        site.stop()


def failed_messages(run):
    """The messages of every failed task, and of every failed item of a looped one, in one string."""
    return " ".join(run.failed_messages())


def test_vmalert_runs_the_pack_and_the_catalogue_from_the_roles_files(central):
    names = central.ruler.rule_names()
    assert "OctaviaMemberDown" in names
    assert "octavia_member_info" in names
    files = {g["file"] for g in central.ruler.rule_groups()}
    assert files <= {str(p) for p in central.rules_dir.glob("*.yml")}
    args = central.args_file.read_text()
    assert f"-datasource.url={central.vm.url}" in args
    assert f"-notifier.url={central.am.url}" in args
    for check in (True, False):
        again = central.run(check=check, diff=True)
        assert again.rc == 0, failed_messages(again)
        assert again.changed == 0, f"a second run (check={check}) changed something: {again.stats}"


def test_a_recording_rule_is_written_back_to_the_store(central):
    found = central.vm.wait_for(
        lambda: central.vm.query(f'octavia_member_info{{member="{MEMBER}"}}'), timeout=60,
        message="the catalogue's octavia_member_info in VictoriaMetrics")
    assert found[0]["metric"]["member_name"] == "web-1"


def test_a_member_down_fires_once_centrally_and_reaches_the_webhook(central):
    central.feed(MEMBER_DOWN)
    try:
        central.ruler.wait_for(lambda: central.ruler.alerts(name="OctaviaMemberDown", state="firing"),
                               timeout=90, message="OctaviaMemberDown firing in vmalert")
        got = central.hook.wait_for(lambda: central.hook.alerts(name="OctaviaMemberDown", status="firing"),
                                    timeout=60, message="OctaviaMemberDown at the webhook")
        # Joined with the catalogue: the member's name, evaluated on the store.
        assert got[0]["labels"]["member"] == MEMBER
        assert got[0]["labels"]["member_name"] == "web-1"
        assert got[0]["receiver"] == "octavia-hook"
        time.sleep(6)
        firing = central.hook.alerts(name="OctaviaMemberDown", status="firing")
        assert len({a["fingerprint"] for a in firing}) == 1
        assert len(firing) == 1, "the alert was notified more than once"
        assert len(central.ruler.alerts(name="OctaviaMemberDown", state="firing")) == 1
    finally:
        central.stop_feeding()


def test_check_mode_writes_nothing_and_a_rule_change_is_reloaded(central):
    watched = [central.rules_dir, central.args_file]
    before = digest(watched)
    assert central.rule("OctaviaMemberDown")["duration"] == 2
    check = central.run(check=True, diff=True, octavia_prometheus_alert_member_down_for="3s")
    assert check.rc == 0, failed_messages(check)
    assert check.changed > 0
    assert digest(watched) == before, "check mode wrote a file"
    assert central.rule("OctaviaMemberDown")["duration"] == 2, "check mode reloaded vmalert"

    applied = central.run(octavia_prometheus_alert_member_down_for="3s")
    assert applied.rc == 0, failed_messages(applied)
    assert central.rule("OctaviaMemberDown")["duration"] == 3
    assert central.run(octavia_prometheus_alert_member_down_for="3s").changed == 0

    # A reload that a run did not do (reload_method none) is owed and done by the next.
    written = central.run(octavia_vmalert_reload_method="none")
    assert written.rc == 0 and written.changed > 0
    assert central.rule("OctaviaMemberDown")["duration"] == 3
    owed = central.run()
    assert owed.rc == 0, failed_messages(owed)
    assert owed.changed == 1, owed.stats
    assert central.rule("OctaviaMemberDown")["duration"] == 2


def test_an_unreachable_vmalert_is_one_sentence(central):
    run = central.run(octavia_vmalert_url="http://127.0.0.1:9")
    assert run.rc != 0
    assert "vmalert at http://127.0.0.1:9 (octavia_vmalert_url) did not answer GET /api/v1/rules" in failed_messages(run)


@pytest.mark.parametrize("override, needle", [
    ({"octavia_vmalert_notifiers": []}, "octavia_vmalert_notifiers must list at least one Alertmanager"),
    ({"octavia_vmalert_remote_write": {"url": ""}}, "octavia_vmalert_remote_write.url must be an http(s) URL"),
    ({"octavia_vmalert_datasource": {"url": "127.0.0.1:8428"}}, "octavia_vmalert_datasource.url must be the http(s) URL"),
    ({"octavia_vmalert_datasource": {"url": "http://127.0.0.1:8428", "password": "pw"}},
     "octavia_vmalert_datasource: a password without a username"),
    ({"octavia_vmalert_evaluation_interval": "often"}, "octavia_vmalert_evaluation_interval must be a duration"),
    ({"octavia_vmalert_binary_path": "/nonexistent/vmalert"}, "/nonexistent/vmalert (octavia_vmalert_binary_path)"),
])
def test_preflight_names_the_variable_and_writes_nothing(tmp_path, override, needle):
    args_file = tmp_path / "vmalert.args"
    run = run_playbook(play(tmp_path / "vmalert.play", "octavia_vmalert"), extra_vars={
        "octavia_vmalert_become": False, "octavia_vmalert_args_file": str(args_file),
        "octavia_vmalert_rules_dir": str(tmp_path / "rules"), "octavia_vmalert_secrets_dir": str(tmp_path / "secrets"),
        "octavia_vmalert_reload_method": "none", **override})
    assert run.rc != 0
    assert needle in failed_messages(run), failed_messages(run)
    assert not args_file.exists() and not (tmp_path / "rules").exists()


def test_passwords_go_to_files_never_to_the_command_line_or_the_output(tmp_path):
    owner, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    args_file = tmp_path / "vmalert.args"
    secrets = tmp_path / "secrets"
    extra = {
        "octavia_vmalert_become": False, "octavia_vmalert_file_owner": owner, "octavia_vmalert_file_group": group,
        "octavia_vmalert_args_file": str(args_file), "octavia_vmalert_rules_dir": str(tmp_path / "rules"),
        "octavia_vmalert_secrets_dir": str(secrets), "octavia_vmalert_reload_method": "none",
        "octavia_vmalert_datasource": {"url": "https://store.example:8428", "username": "ruler",
                                       "password": "ds-s3cret", "tls_ca_file": "/etc/ssl/store-ca.pem"},
        "octavia_vmalert_notifiers": [{"url": "http://127.0.0.1:9093"},
                                      {"url": "http://127.0.0.1:9094", "username": "am", "password": "am-s3cret"}],
    }
    run = run_playbook(play(tmp_path / "vmalert.play", "octavia_vmalert"), extra_vars=extra, diff=True)
    assert run.rc == 0, failed_messages(run)
    assert "s3cret" not in run.stdout + run.stderr
    args = args_file.read_text()
    assert "s3cret" not in args
    assert f"-datasource.basicAuth.passwordFile={secrets}/datasource.password" in args
    assert "-datasource.tlsCAFile=/etc/ssl/store-ca.pem" in args
    # One value per notifier, in order: the first has no basic auth.
    assert f"-notifier.basicAuth.passwordFile=,{secrets}/notifier1.password" in args
    assert "-notifier.basicAuth.username=,am" in args
    assert (secrets / "datasource.password").read_text() == "ds-s3cret"
    assert oct((secrets / "notifier1.password").stat().st_mode & 0o777) == "0o640"
    again = run_playbook(tmp_path / "vmalert.play", extra_vars=extra)
    assert again.rc == 0 and again.changed == 0, again.stats

    # Without its password, the connection's file goes.
    extra["octavia_vmalert_notifiers"] = [{"url": "http://127.0.0.1:9093"}]
    dropped = run_playbook(tmp_path / "vmalert.play", extra_vars=extra)
    assert dropped.rc == 0
    assert not (secrets / "notifier1.password").exists()
    assert "notifier.basicAuth" not in args_file.read_text()

    check = run_playbook(tmp_path / "vmalert.play", extra_vars={**extra, "octavia_vmalert_state": "absent"}, check=True)
    assert check.rc == 0 and check.changed > 0 and args_file.exists()
    gone = run_playbook(tmp_path / "vmalert.play", extra_vars={**extra, "octavia_vmalert_state": "absent"})
    assert gone.rc == 0 and gone.changed > 0
    assert not args_file.exists() and not secrets.exists() and not (tmp_path / "rules").exists()
    assert run_playbook(tmp_path / "vmalert.play",
                        extra_vars={**extra, "octavia_vmalert_state": "absent"}).changed == 0


def test_the_rule_files_are_the_shards_rule_files(central):
    """The same pack, not a copy: what vmalert loads is what octavia_prometheus renders for a shard."""
    alerts = yaml.safe_load((central.rules_dir / "octavia-alerts.yml").read_text())
    assert [g["name"] for g in alerts["groups"]] == ["octavia-alerts"]
    loaded = {g["name"]: [r["name"] for r in g["rules"]] for g in central.ruler.rule_groups()}
    assert loaded["octavia-alerts"] == [r["alert"] for r in alerts["groups"][0]["rules"]]
