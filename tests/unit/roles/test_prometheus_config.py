"""The managed prometheus.yml and the state alerts, rendered by Ansible itself and checked by promtool.

A play on localhost loads the role's defaults and vars and renders the role's templates with
the template lookup that tasks/configure.yml and tasks/validate.yml use, so the expressions of
vars/main.yml (the scrape jobs) are Ansible's, not a copy. Nothing outside tmp_path is written.
"""
import json
import pathlib
import shutil
import subprocess

import pytest
import yaml

from helpers.ansible_run import run_playbook

REPO = pathlib.Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "octavia_prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def render_role(tmp_path, templates, **extra_vars):
    """Render {template: destination} with the role's defaults and vars plus extra_vars."""
    play = [{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars_files": [str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
        "vars": {"role_path": str(ROLE)},
        "tasks": [{
            "name": f"render {template}",
            "ansible.builtin.copy": {
                "content": "{{ lookup('ansible.builtin.template', '%s') }}" % (ROLE / "templates" / template),
                "dest": str(dest), "mode": "0600",
            },
        } for template, dest in templates.items()],
    }]
    playbook = tmp_path / "render.yml"
    playbook.write_text(json.dumps(play))
    run = run_playbook(playbook, extra_vars=extra_vars, timeout=300)
    assert run.rc == 0, run
    return {template: dest.read_text() for template, dest in templates.items()}


def promtool(*args, cwd=None):
    """Run promtool; return the CompletedProcess."""
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


@pytest.fixture(name="managed", scope="module")
def fixture_managed(tmp_path_factory):
    """prometheus.yml with the exporter job and HTTP SD, plus the state alerts it loads, with the role's defaults."""
    tmp_path = tmp_path_factory.mktemp("managed")
    (tmp_path / "rules").mkdir()
    (tmp_path / "file_sd").mkdir()
    texts = render_role(
        tmp_path,
        {"prometheus.yml.j2": tmp_path / "prometheus.yml",
         "octavia-state-alerts.yml.j2": tmp_path / "rules" / "octavia-state-alerts.yml"},
        octavia_prometheus_rules_dir=str(tmp_path / "rules"),
        octavia_prometheus_file_sd_dir=str(tmp_path / "file_sd"),
        # One a list, one a survey string: both reach prometheus.yml as lists.
        octavia_prometheus_exporter_targets=["127.0.0.1:9878", "127.0.0.2:9878"],
        octavia_prometheus_http_sd_urls="http://127.0.0.1:9878/sd/prometheus, http://127.0.0.2:9878/sd/prometheus",
    )
    return tmp_path, yaml.safe_load(texts["prometheus.yml.j2"])


def job(config, name):
    return next(j for j in config["scrape_configs"] if j["job_name"] == name)


def test_managed_config_with_exporter_and_http_sd_passes_promtool(managed):
    path, _config = managed
    result = promtool("check", "config", str(path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    # promtool also checked the state alerts, which the rule_files glob loads.
    assert "octavia-state-alerts.yml" in result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout + result.stderr


def test_the_exporter_job_scrapes_the_exporter_targets(managed):
    _path, config = managed
    assert job(config, "octavia-exporter")["static_configs"] == [{"targets": ["127.0.0.1:9878", "127.0.0.2:9878"]}]


def test_the_octavia_job_reads_http_sd_besides_file_sd(managed):
    path, config = managed
    octavia = job(config, "octavia")
    assert octavia["http_sd_configs"] == [
        {"url": "http://127.0.0.1:9878/sd/prometheus", "refresh_interval": "1m"},
        {"url": "http://127.0.0.2:9878/sd/prometheus", "refresh_interval": "1m"},
    ]
    assert octavia["file_sd_configs"] == [{"files": [f"{path}/file_sd/octavia*.yml"], "refresh_interval": "1m"}]


def test_without_the_variables_neither_appears(tmp_path):
    text = render_role(tmp_path, {"prometheus.yml.j2": tmp_path / "prometheus.yml"})["prometheus.yml.j2"]
    config = yaml.safe_load(text)
    assert [j["job_name"] for j in config["scrape_configs"]] == ["octavia", "prometheus"]
    assert "http_sd_configs" not in job(config, "octavia")


def test_absent_drops_the_exporter_job(tmp_path):
    text = render_role(tmp_path, {"prometheus.yml.j2": tmp_path / "prometheus.yml"},
                       octavia_prometheus_state="absent",
                       octavia_prometheus_exporter_targets=["127.0.0.1:9878"])["prometheus.yml.j2"]
    assert [j["job_name"] for j in yaml.safe_load(text)["scrape_configs"]] == ["prometheus"]


def test_state_alerts_with_the_role_s_defaults_pass_promtool(managed):
    path, _config = managed
    rules = path / "rules" / "octavia-state-alerts.yml"
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout


def test_state_alerts_rendered_by_ansible_pass_the_promtool_test_file(tmp_path):
    # The test file's durations are test_state_alerts.STATE_VARS (the role's defaults are minutes
    # to hours); here the same file runs on Ansible's rendering rather than plain Jinja's.
    from test_state_alerts import STATE_VARS, TEST_FILE
    render_role(tmp_path, {"octavia-state-alerts.yml.j2": tmp_path / "octavia-state-alerts.yml"}, **STATE_VARS)
    shutil.copy(TEST_FILE, tmp_path / TEST_FILE.name)
    result = promtool("test", "rules", TEST_FILE.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
