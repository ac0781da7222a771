"""The state alerts on the octavia-exporter's series (octavia-state-alerts.yml.j2), with promtool.

Rendered with short durations (STATE_VARS) and run with `promtool test rules`
(octavia-state-alerts_test.yml): every alert has a case where it fires and one where it
must not. STATE_VARS overrides the role's own defaults (defaults/main.yml), which
test_role_defaults_render_valid_rules checks as they ship.
"""
import re

import pytest
import yaml

from rules_render import HERE, promtool, render, role_defaults

TEMPLATE = "octavia-state-alerts.yml.j2"
TEST_FILE = HERE / "octavia-state-alerts_test.yml"
ALERTS = ("OctaviaLoadBalancerProvisioningError", "OctaviaLoadBalancerStuckPending",
          "OctaviaLoadBalancerOperatingStatus", "OctaviaAmphoraError",
          "OctaviaAmphoraCertificateExpiring", "OctaviaLoadBalancerUnmonitored",
          "OctaviaListenerQuotaNearLimit", "OctaviaExporterDown", "OctaviaApiSourceFailing")
# Short durations for the promtool test file, over the role's defaults (defaults/main.yml, the one place).
STATE_VARS = dict(
    octavia_prometheus_alert_lb_provisioning_error_for="2m",
    octavia_prometheus_alert_lb_stuck_pending_for="10m",
    octavia_prometheus_alert_lb_operating_status_for="2m",
    octavia_prometheus_alert_amphora_error_for="2m",
    octavia_prometheus_alert_amphora_cert_expiring_for="0m",
    octavia_prometheus_alert_amphora_cert_expiring_days=7,
    octavia_prometheus_alert_lb_unmonitored_for="3m",
    octavia_prometheus_alert_listener_quota_for="2m",
    octavia_prometheus_alert_listener_quota_ratio=0.8,
    octavia_prometheus_alert_exporter_down_for="2m",
    octavia_prometheus_alert_api_source_failing_for="3m",
)


def rendered(**overrides):
    return render(TEMPLATE, **dict(STATE_VARS, **overrides))


def alert_names(text):
    return [r["alert"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]]


def test_promtool_unit_tests_pass(tmp_path):
    (tmp_path / "octavia-state-alerts.yml").write_text(rendered())
    (tmp_path / TEST_FILE.name).write_text(TEST_FILE.read_text())
    result = promtool("test", "rules", TEST_FILE.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_issue_s_state_alerts_are_all_there():
    assert alert_names(rendered()) == list(ALERTS)


def test_every_alert_is_tested_firing_and_not_firing():
    tests = yaml.safe_load(TEST_FILE.read_text())["tests"]
    cases = [c for t in tests for c in t.get("alert_rule_test", [])]
    for name in ALERTS:
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name} never fires in the test"
        assert any(not c["exp_alerts"] for c in mine), f"{name} is never expected silent"


def test_the_test_variables_are_variables_of_the_role():
    assert set(STATE_VARS) <= set(role_defaults())


def test_role_defaults_render_valid_rules(tmp_path):
    path = tmp_path / "state.yml"
    path.write_text(render(TEMPLATE))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


@pytest.mark.parametrize("variable, alert", [
    ("octavia_prometheus_alert_lb_provisioning_error_for", "OctaviaLoadBalancerProvisioningError"),
    ("octavia_prometheus_alert_lb_stuck_pending_for", "OctaviaLoadBalancerStuckPending"),
    ("octavia_prometheus_alert_lb_operating_status_for", "OctaviaLoadBalancerOperatingStatus"),
    ("octavia_prometheus_alert_amphora_error_for", "OctaviaAmphoraError"),
    ("octavia_prometheus_alert_amphora_cert_expiring_for", "OctaviaAmphoraCertificateExpiring"),
    ("octavia_prometheus_alert_lb_unmonitored_for", "OctaviaLoadBalancerUnmonitored"),
    ("octavia_prometheus_alert_listener_quota_for", "OctaviaListenerQuotaNearLimit"),
    ("octavia_prometheus_alert_exporter_down_for", "OctaviaExporterDown"),
    ("octavia_prometheus_alert_api_source_failing_for", "OctaviaApiSourceFailing"),
])
def test_every_for_is_configurable(variable, alert):
    rules = {r["alert"]: r for g in yaml.safe_load(rendered(**{variable: "17m"}))["groups"]
             for r in g["rules"]}
    assert rules[alert]["for"] == "17m"
    # How long it lasted is part of the text, except where the expiry date says more.
    assert "17m" in rules[alert]["annotations"]["description"] or alert == "OctaviaAmphoraCertificateExpiring"


def test_every_expression_selects_the_exporter_job():
    text = rendered(octavia_prometheus_exporter_job_name="lbaas-exporter")
    for group in yaml.safe_load(text)["groups"]:
        for rule in group["rules"]:
            selectors = re.findall(r"\b(?:openstack_octavia_api_\w+|up)\{([^}]*)\}", rule["expr"])
            assert selectors and all('job="lbaas-exporter"' in s for s in selectors), rule["alert"]


@pytest.mark.parametrize("disabled", [["OctaviaExporterDown"], list(ALERTS)])
def test_disabled_alerts_are_left_out(tmp_path, disabled):
    text = rendered(octavia_prometheus_alert_rules_disabled=disabled)
    assert set(alert_names(text)) == set(ALERTS) - set(disabled)
    path = tmp_path / "state.yml"
    path.write_text(text)
    assert promtool("check", "rules", str(path)).returncode == 0
