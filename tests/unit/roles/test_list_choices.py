"""The `lists` entry point of the octavia_prometheus and octavia_grafana roles.

The allowed entries of a list variable are written there once (the `main` entry
point takes survey strings, which Ansible's own choice check would split wrongly),
and preflight reads them from there. Each one names a variable of `main`, and the
choices are what the role actually ships.
"""
import pathlib

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
ROLES = ("octavia_prometheus", "octavia_grafana")


def specs(role):
    return yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


@pytest.mark.parametrize("role", ROLES)
def test_each_list_names_a_list_variable_of_main_without_choices_there(role):
    entry = specs(role)
    for name, spec in entry["lists"]["options"].items():
        main = entry["main"]["options"][name]
        assert main["type"] == "list" and main["elements"] == "str", name
        assert "choices" not in main, f"{name}: the choices are written twice"
        assert spec["choices"], name


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_point_has_version_added(role):
    for name, entry in specs(role).items():
        assert entry.get("version_added") == "1.0.0", name


def test_grafana_dashboard_choices_are_the_shipped_files():
    shipped = sorted(p.stem for p in (REPO / "roles" / "octavia_grafana" / "files" / "dashboards").glob("*.json"))
    assert sorted(specs("octavia_grafana")["lists"]["options"]["octavia_grafana_dashboards"]["choices"]) == shipped


def test_grafana_default_dashboards_are_all_choices():
    entry = specs("octavia_grafana")
    default = entry["main"]["options"]["octavia_grafana_dashboards"]["default"]
    assert set(default) <= set(entry["lists"]["options"]["octavia_grafana_dashboards"]["choices"])


def test_prometheus_alert_choices_are_the_alerts_of_the_template():
    template = (REPO / "roles" / "octavia_prometheus" / "templates" / "octavia-alerts.yml.j2").read_text()
    choices = specs("octavia_prometheus")["lists"]["options"]["octavia_prometheus_alert_rules_disabled"]["choices"]
    blocks = [line.split("'")[1] for line in template.splitlines() if line.startswith("{%- if '")]
    assert blocks == choices
