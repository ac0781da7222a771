"""The octavia_grafana role, run for real with ansible-playbook on localhost.

No Grafana server is packaged for this machine, so the files the role writes are
checked as files, and the `api` reload method is pointed at a small recorder on
127.0.0.1 that answers Grafana's two provisioning reload endpoints and records
which were called, with which credentials.
"""
import getpass
import grp
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from helpers.ansible_run import REPO, run_playbook

ROLE_DASHBOARDS = REPO / "roles" / "octavia_grafana" / "files" / "dashboards"
SHIPPED = ("octavia-fleet-overview", "octavia-lb-detail")


class ReloadRecorder:
    """Answers POST /api/admin/provisioning/<kind>/reload with a chosen status and records each call."""

    def __init__(self, status=200):
        self.status = status
        self.calls = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                recorder.calls.append((self.path, self.headers.get("Authorization", "")))
                body = json.dumps({"message": "reloaded" if recorder.status == 200 else "denied"}).encode()
                self.send_response(recorder.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                """The test reads `calls`, not stderr."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def grafana(tmp_path):
    """Paths, inventory and a runner for the role, writing under tmp_path."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "hosts": {"localhost": {"ansible_connection": "local"}},
        "children": {"prometheus": {"hosts": {"prometheus-1": {"ansible_host": "127.0.0.9"}}}},
    }}))
    playbook = tmp_path / "grafana.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False,
                                     "roles": [{"role": "octavia.monitoring.octavia_grafana"}]}]))
    root = tmp_path / "grafana"
    base = {
        "octavia_grafana_provisioning_dir": str(root / "provisioning"),
        "octavia_grafana_dashboards_dir": str(root / "octavia-dashboards"),
        "octavia_grafana_become": False,
        "octavia_grafana_file_owner": getpass.getuser(),
        "octavia_grafana_file_group": grp.getgrgid(os.getgid()).gr_name,
        "octavia_grafana_reload_method": "none",
    }

    class Runner:
        datasource = root / "provisioning" / "datasources" / "octavia-prometheus.yml"
        provider = root / "provisioning" / "dashboards" / "octavia-dashboards.yml"
        dashboards = root / "octavia-dashboards"

        @staticmethod
        def run(check=False, diff=False, **extra):
            return run_playbook(playbook, inventory=inventory, check=check, diff=diff,
                                extra_vars={**base, **extra}, args=["--limit", "localhost"])

        def dashboard(self, uid):
            return json.loads((self.dashboards / f"{uid}.json").read_text())

    return Runner()


def _datasource_uids(dashboard):
    found = []

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("datasource"), dict):
                found.append(value["datasource"].get("uid"))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    walk(dashboard)
    return found


def test_check_apply_check_apply(grafana):
    checked = grafana.run(check=True, diff=True)
    assert checked.rc == 0, checked
    assert checked.changed > 0
    assert not grafana.datasource.exists() and not grafana.dashboards.exists(), "check mode wrote files"
    diff = checked.result("octavia.monitoring.octavia_grafana : Write the datasource provisioning file")["diff"]
    assert "uid: octavia-prometheus" in json.dumps(diff)

    applied = grafana.run()
    assert applied.rc == 0, applied
    assert applied.changed == checked.changed, "check mode and the real run disagree on what changes"

    datasource = yaml.safe_load(grafana.datasource.read_text())["datasources"][0]
    assert datasource["uid"] == "octavia-prometheus" and datasource["type"] == "prometheus"
    assert datasource["url"] == "http://127.0.0.9:9090", "the URL comes from the prometheus group"
    provider = yaml.safe_load(grafana.provider.read_text())["providers"][0]
    assert provider["folder"] == "Octavia" and provider["options"]["path"] == str(grafana.dashboards)
    for uid in SHIPPED:
        path = grafana.dashboards / f"{uid}.json"
        assert oct(path.stat().st_mode & 0o777) == "0o640"
        assert grafana.dashboard(uid) == json.loads((ROLE_DASHBOARDS / f"{uid}.json").read_text())
    assert oct(grafana.dashboards.stat().st_mode & 0o777) == "0o750"

    again = grafana.run(check=True, diff=True)
    assert again.rc == 0 and again.changed == 0, again
    second = grafana.run()
    assert second.rc == 0 and second.changed == 0, second


def test_a_datasource_of_your_own_is_written_into_the_dashboards(grafana):
    run = grafana.run(octavia_grafana_datasource_enabled=False, octavia_grafana_datasource_uid="lab-prometheus")
    assert run.rc == 0, run
    assert not grafana.datasource.exists(), "octavia_grafana_datasource_enabled: false writes no datasource"
    for uid in SHIPPED:
        dashboard = grafana.dashboard(uid)
        uids = set(_datasource_uids(dashboard))
        assert uids == {"lab-prometheus"}, uids
        assert dashboard["uid"] == uid, "the dashboard's own uid is left alone"


def test_extra_dashboards_and_pruning(grafana, tmp_path):
    extra = tmp_path / "mine.json"
    extra.write_text(json.dumps({"uid": "my-octavia", "title": "Mine", "panels": [], "schemaVersion": 41}))
    grafana.dashboards.mkdir(parents=True)
    stale = grafana.dashboards / "retired.json"
    stale.write_text("{}")

    kept = grafana.run(octavia_grafana_extra_dashboards=[str(extra)])
    assert kept.rc == 0, kept
    assert stale.exists(), "without octavia_grafana_prune_dashboards nothing is removed"
    assert grafana.dashboard("my-octavia")["title"] == "Mine"

    prune = {"octavia_grafana_extra_dashboards": [str(extra)], "octavia_grafana_dashboards": ["octavia-lb-detail"],
             "octavia_grafana_prune_dashboards": True}
    pruned_check = grafana.run(check=True, **prune)
    assert pruned_check.rc == 0 and pruned_check.changed == 1, pruned_check
    assert stale.exists(), "check mode removed a file"
    pruned = grafana.run(**prune)
    assert pruned.rc == 0, pruned
    assert sorted(p.name for p in grafana.dashboards.iterdir()) == ["my-octavia.json", "octavia-lb-detail.json"]


@pytest.mark.parametrize("extra_vars, message", [
    ({"octavia_grafana_reload_method": "reboot"}, "octavia_grafana_reload_method must be one of: restart, api, none"),
    ({"octavia_grafana_reload_method": "api"}, "octavia_grafana_api_token"),
    ({"octavia_grafana_prometheus_group": "nowhere"}, "set octavia_grafana_datasource_url"),
    ({"octavia_grafana_datasource_uid": "has spaces"}, "octavia_grafana_datasource_uid must be"),
    ({"octavia_grafana_dashboards_dir": "relative/dir"}, "octavia_grafana_dashboards_dir must be an absolute path"),
])
def test_preflight_names_the_variable_and_writes_nothing(grafana, extra_vars, message):
    run = grafana.run(**extra_vars)
    assert run.rc != 0
    assert message in run.stdout, run.stdout[-3000:]
    assert not grafana.datasource.exists()


def test_an_exported_dashboard_with_placeholders_is_refused(grafana, tmp_path):
    exported = tmp_path / "shared.json"
    exported.write_text(json.dumps({"__inputs": [{"name": "DS_PROMETHEUS"}], "uid": "shared", "title": "Shared",
                                    "panels": [{"datasource": "${DS_PROMETHEUS}"}]}))
    run = grafana.run(octavia_grafana_extra_dashboards=[str(exported)])
    assert run.rc != 0
    assert "octavia_grafana_extra_dashboards" in run.stdout and "__inputs" in run.stdout


def test_api_reload_runs_only_for_what_changed(grafana):
    recorder = ReloadRecorder()
    try:
        api = {"octavia_grafana_reload_method": "api", "octavia_grafana_api_url": recorder.url,
               "octavia_grafana_api_token": "glsa_test_token"}
        checked = grafana.run(check=True, **api)
        assert checked.rc == 0 and recorder.calls == [], "check mode called Grafana"

        first = grafana.run(**api)
        assert first.rc == 0, first
        assert sorted(recorder.calls) == [
            ("/api/admin/provisioning/dashboards/reload", "Bearer glsa_test_token"),
            ("/api/admin/provisioning/datasources/reload", "Bearer glsa_test_token"),
        ]
        recorder.calls.clear()
        assert grafana.run(**api).changed == 0
        assert recorder.calls == [], "nothing changed, yet Grafana was called"

        renamed = grafana.run(octavia_grafana_folder="Load balancers", **api)
        assert renamed.rc == 0, renamed
        assert recorder.calls == [("/api/admin/provisioning/dashboards/reload", "Bearer glsa_test_token")]
    finally:
        recorder.stop()


def test_api_reload_with_basic_auth_and_a_refusal(grafana):
    recorder = ReloadRecorder(status=403)
    try:
        run = grafana.run(octavia_grafana_reload_method="api", octavia_grafana_api_url=recorder.url,
                          octavia_grafana_api_user="admin", octavia_grafana_api_password="s3cret")
        assert run.rc != 0
        assert "answered HTTP 403" in run.stdout and "octavia_grafana_api_password" in run.stdout
        assert recorder.calls and recorder.calls[0][1].startswith("Basic ")
        assert "s3cret" not in run.stdout
    finally:
        recorder.stop()


def test_survey_strings_for_the_dashboard_lists(grafana, tmp_path):
    extra = tmp_path / "mine.json"
    extra.write_text(json.dumps({"uid": "my-octavia", "title": "Mine", "panels": [], "schemaVersion": 41}))
    run = grafana.run(octavia_grafana_dashboards="octavia-fleet-overview, octavia-lb-detail",
                      octavia_grafana_extra_dashboards=f"{extra}\n")
    assert run.rc == 0, run
    assert sorted(p.name for p in grafana.dashboards.iterdir()) == [
        "my-octavia.json", "octavia-fleet-overview.json", "octavia-lb-detail.json"]

    unknown = grafana.run(octavia_grafana_dashboards="octavia-lb-detail,\noctavia-nope")
    assert unknown.rc != 0
    failed = [(name, result) for name, result in unknown.task_results() if result.get("failed")]
    assert [name for name, _result in failed] == ["octavia.monitoring.octavia_grafana : Check octavia_grafana_dashboards"]
    assert "(unknown: octavia-nope)" in failed[0][1]["msg"]


def test_a_refused_reload_stays_owed_until_it_succeeds(grafana):
    refusing = ReloadRecorder(status=403)
    try:
        api = {"octavia_grafana_reload_method": "api", "octavia_grafana_api_url": refusing.url,
               "octavia_grafana_api_token": "glsa_test_token"}
        refused = grafana.run(**api)
        assert refused.rc != 0
        assert "answered HTTP 403" in refused.stdout and "the next run of the role calls the reload again" in refused.stdout
        assert "glsa_test_token" not in refused.stdout
        assert grafana.datasource.exists(), "the files were written before the reload"
    finally:
        refusing.stop()

    recorder = ReloadRecorder()
    try:
        api["octavia_grafana_api_url"] = recorder.url
        checked = grafana.run(check=True, **api)
        assert checked.rc == 0 and recorder.calls == [], "check mode called Grafana"
        assert checked.result("octavia.monitoring.octavia_grafana : Show what Grafana would reload")["changed"]
        healed = grafana.run(**api)
        assert healed.rc == 0, healed
        # No file changed in this run, and yet both reloads the refused run owed are made.
        assert not healed.result("octavia.monitoring.octavia_grafana : Write the datasource provisioning file")["changed"]
        assert sorted(path for path, _auth in recorder.calls) == [
            "/api/admin/provisioning/dashboards/reload", "/api/admin/provisioning/datasources/reload"]
        assert checked.changed == healed.changed, "check mode predicted another outcome"
        recorder.calls.clear()
        settled = grafana.run(**api)
        assert settled.rc == 0 and settled.changed == 0, settled
        assert recorder.calls == []
    finally:
        recorder.stop()


def test_a_grafana_that_does_not_answer_is_one_sentence(grafana):
    from helpers.prometheus_server import free_port
    nowhere = f"http://127.0.0.1:{free_port()}"
    run = grafana.run(octavia_grafana_reload_method="api", octavia_grafana_api_url=nowhere,
                      octavia_grafana_api_token="glsa_test_token")
    assert run.rc != 0
    failed = [result for _name, result in run.task_results() if result.get("failed")]
    assert len(failed) == 1, failed
    # A looped assert reports "One or more items failed"; the item carries the message.
    messages = [item["msg"] for item in failed[0]["results"] if item.get("failed")]
    assert messages and all(f"Grafana at {nowhere} did not answer POST /api/admin/provisioning/" in m
                            for m in messages), messages
    assert "Connection refused" in messages[0]
    assert "Status code was" not in run.stdout
    assert "glsa_test_token" not in run.stdout
