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


def blocks(template):
    """The alert names of a rule template, in the order of its `{%- if '<name>' ...` blocks."""
    text = (REPO / "roles" / "octavia_prometheus" / "templates" / template).read_text()
    return [line.split("'")[1] for line in text.splitlines() if line.startswith("{%- if '")]


def test_prometheus_alert_choices_are_the_alerts_of_the_templates():
    # Both rule files take their disabled alerts from octavia_prometheus_alert_rules_disabled.
    choices = specs("octavia_prometheus")["lists"]["options"]["octavia_prometheus_alert_rules_disabled"]["choices"]
    assert blocks("octavia-alerts.yml.j2") + blocks("octavia-state-alerts.yml.j2") == choices
    assert len(choices) == len(set(choices))


@pytest.mark.parametrize("template", ["octavia-alerts.yml.j2", "octavia-state-alerts.yml.j2"])
def test_each_rule_template_s_own_list_is_its_blocks(template):
    # The list that decides `rules: []` must name exactly the alerts the template has.
    text = (REPO / "roles" / "octavia_prometheus" / "templates" / template).read_text()
    listed = text.split("{%- set enabled = [", 1)[1].split("]", 1)[0]
    assert [name.strip().strip("'") for name in listed.split(",")] == blocks(template)
