"""The octavia_alertmanager role against a real Debian Alertmanager (tests/helpers/store.py).

Each test runs its own Alertmanager on a free 127.0.0.1 port, with the configuration
file the role writes, and a webhook receiver (tests/helpers/webhook_receiver.py).
"""
import getpass
import grp
import json
import os
import time

import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.store import Alertmanager, http
from helpers.webhook_receiver import WebhookReceiver


class Site:
    """An Alertmanager, a webhook receiver, and a runner for the role pointed at both."""

    def __init__(self, tmp_path, hook):
        self.tmp_path = tmp_path
        self.hook = hook
        self.config = tmp_path / "alertmanager.yml"
        self.am = Alertmanager(config_path=self.config, workdir=tmp_path / "am")
        self.config.write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
        self.am.start()
        self.playbook = tmp_path / "alertmanager.yml.play"
        self.playbook.write_text(json.dumps([{
            "hosts": "localhost", "gather_facts": False, "connection": "local",
            "roles": [{"role": "octavia.monitoring.octavia_alertmanager"}]}]))
        self.vars = {
            "octavia_alertmanager_become": False,
            "octavia_alertmanager_file_owner": getpass.getuser(),
            "octavia_alertmanager_file_group": grp.getgrgid(os.getgid()).gr_name,
            "octavia_alertmanager_config_file": str(self.config),
            "octavia_alertmanager_url": self.am.url,
            "octavia_alertmanager_receivers": [{"name": "octavia-hook", "webhook_url": hook.url}],
            "octavia_alertmanager_group_wait": "1s",
            "octavia_alertmanager_group_interval": "1s",
        }

    def run(self, check=False, diff=False, **extra):
        return run_playbook(self.playbook, extra_vars={**self.vars, **extra}, check=check, diff=diff)

    def stop(self):
        self.am.stop()


@pytest.fixture
def site(tmp_path):
    with WebhookReceiver() as hook:
        s = Site(tmp_path, hook)
        try:
            yield s
        finally:
            s.stop()


def test_check_apply_check_apply(site):
    before = site.config.read_text()
    hash_before = site.am.config_hash()

    check = site.run(check=True, diff=True)
    assert check.rc == 0, check.failed_messages()
    assert check.changed > 0
    assert site.config.read_text() == before, "check mode wrote the configuration"
    assert site.am.config_hash() == hash_before, "check mode reloaded Alertmanager"

    applied = site.run()
    assert applied.rc == 0, applied
    assert applied.changed > 0
    written = yaml.safe_load(site.config.read_text())
    assert written["route"] == {"receiver": "octavia-hook", "group_by": ["alertname", "loadbalancer_id"],
                                "group_wait": "1s", "group_interval": "1s", "repeat_interval": "4h"}
    assert written["receivers"] == [{"name": "octavia-hook",
                                     "webhook_configs": [{"url": site.hook.url, "send_resolved": True}]}]
    assert site.am.config_hash() != hash_before, "Alertmanager was not reloaded"
    assert site.am.reload_ok()

    for check_mode in (True, False):
        again = site.run(check=check_mode, diff=True)
        assert again.rc == 0, again
        assert again.changed == 0, f"second run (check={check_mode}) changed something: {again.stats}"


def test_the_configuration_routes_an_alert_to_the_webhook(site):
    assert site.run().rc == 0
    alert = [{"labels": {"alertname": "OctaviaMemberDown", "loadbalancer_id": "lb-1", "member": "m-1"},
              "annotations": {"summary": "member m-1 is down"}}]
    status, body = http("POST", f"{site.am.url}/api/v2/alerts", data=json.dumps(alert).encode(),
                        headers={"Content-Type": "application/json"})
    assert status == 200, body
    got = site.hook.wait_for(lambda: site.hook.alerts(name="OctaviaMemberDown", status="firing"), timeout=30)
    assert got[0]["labels"]["member"] == "m-1"
    assert got[0]["receiver"] == "octavia-hook"


@pytest.mark.parametrize("override, reason", [
    ({"octavia_alertmanager_routes": [{"receiver": "octavia-hook", "matchers": ["severity=~("]}]},
     "error parsing regexp"),
    ({"octavia_alertmanager_receivers": [{"name": "octavia-hook", "webhook_url": "not-a-url"}]},
     "unsupported scheme"),
])
def test_a_configuration_amtool_rejects_never_goes_live(site, override, reason):
    assert site.run().rc == 0
    live = site.config.read_text()
    live_hash = site.am.config_hash()
    for check in (True, False):
        run = site.run(check=check, **override)
        assert run.rc != 0, f"check={check}: {run}"
        messages = " ".join(run.failed_messages())
        assert "amtool check-config rejected the Alertmanager configuration" in messages, messages
        assert reason in messages, messages
        assert str(site.config) in messages
        assert site.config.read_text() == live
        assert site.am.config_hash() == live_hash
    assert not list(site.tmp_path.glob("octavia-alertmanager-*")), "a staging directory was left behind"


def test_a_reload_the_last_run_did_not_do_is_done_by_the_next(site):
    hash_before = site.am.config_hash()
    written = site.run(octavia_alertmanager_reload_method="none")
    assert written.rc == 0 and written.changed > 0
    assert site.am.config_hash() == hash_before
    # The file is unchanged now, but Alertmanager loaded it before it was written.
    time.sleep(1.1)
    owed = site.run(check=True)
    assert owed.rc == 0 and owed.changed == 1, owed.stats
    done = site.run()
    assert done.rc == 0 and done.changed == 1, done.stats
    assert site.am.config_hash() != hash_before
    assert site.run().changed == 0


def test_an_unreachable_alertmanager_is_one_sentence(site):
    run = site.run(octavia_alertmanager_url="http://127.0.0.1:9")
    assert run.rc != 0
    messages = " ".join(run.failed_messages())
    assert "Alertmanager at http://127.0.0.1:9 (octavia_alertmanager_url) did not answer GET /metrics" in messages


@pytest.mark.parametrize("override, needle", [
    ({"octavia_alertmanager_receivers": []}, "octavia_alertmanager_receivers is empty"),
    ({"octavia_alertmanager_default_receiver": "pager"}, "octavia_alertmanager_default_receiver (pager) must be"),
    ({"octavia_alertmanager_group_wait": "soon"}, "octavia_alertmanager_group_wait must be a duration"),
    ({"octavia_alertmanager_receivers": [{"name": "a"}, {"name": "a"}]}, "must name each receiver once (got a, a)"),
    ({"octavia_alertmanager_receivers": [{"name": "mail", "email_to": "ops@example.org"}]},
     "Receiver mail (octavia_alertmanager_receivers) has an email_to but no email_from or smarthost"),
    ({"octavia_alertmanager_amtool_path": "/nonexistent/amtool"}, "/nonexistent/amtool (octavia_alertmanager_amtool_path)"),
])
def test_preflight_names_the_variable_and_writes_nothing(site, override, needle):
    before = site.config.read_text()
    run = site.run(**override)
    assert run.rc != 0
    messages = " ".join(run.failed_messages())
    assert needle in messages, messages
    assert site.config.read_text() == before


def test_email_receiver_with_a_password_shows_no_secret(site):
    receivers = [{"name": "mail", "email_to": "ops@example.org", "email_from": "am@example.org",
                  "smarthost": "127.0.0.1:25", "auth_username": "am", "auth_password": "s3cret-pw"}]
    run = site.run(diff=True, octavia_alertmanager_receivers=receivers)
    assert run.rc == 0, run
    assert "s3cret-pw" not in run.stdout + run.stderr
    assert yaml.safe_load(site.config.read_text())["receivers"][0]["email_configs"][0]["auth_password"] == "s3cret-pw"
    assert site.am.reload_ok()


def test_absent_removes_the_file(site):
    assert site.run().rc == 0
    check = site.run(check=True, octavia_alertmanager_state="absent", octavia_alertmanager_reload_method="none")
    assert check.rc == 0 and check.changed == 1
    assert site.config.exists()
    gone = site.run(octavia_alertmanager_state="absent", octavia_alertmanager_reload_method="none")
    assert gone.rc == 0 and gone.changed == 1
    assert not site.config.exists()
    assert site.run(octavia_alertmanager_state="absent", octavia_alertmanager_reload_method="none").changed == 0
