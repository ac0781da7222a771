"""Render the octavia_prometheus role's templates outside Ansible, as Ansible would.

The rule templates use plain Jinja plus the collection's own filters, so they can be
rendered here with the role's own defaults plus a test's overrides. The `#jinja2:`
first line (delimiters, trim_blocks) is honoured the way Ansible's template module
honours it, and the internal variables the role derives in vars/main.yml (the pack's
alert names from meta/argument_specs.yml, the survey-split disabled list) are derived
here the same way.

Test modules import these helpers from here, not from conftest: several test
directories have a conftest.py, and `from conftest import` would find whichever
was imported first when the whole unit suite runs.
"""
import ast
import pathlib
import shutil
import subprocess
import sys

import jinja2
import yaml
from ansible.plugins.filter.core import to_nice_yaml

from helpers.ansible_run import COLLECTIONS, ansible_env

ansible_env()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.octavia.monitoring.plugins.filter.as_list import as_list  # noqa: E402
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_catalog import prometheus_catalog  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "octavia_prometheus"
HERE = pathlib.Path(__file__).resolve().parent
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def role_defaults():
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def alert_pack():
    """The pack's alert names: the choices of octavia_prometheus_alert_rules_disabled in argument_specs
    that the pack's template (octavia-alerts.yml.j2) has a block for; the others are the state alerts."""
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    choices = specs["lists"]["options"]["octavia_prometheus_alert_rules_disabled"]["choices"]
    text = (ROLE / "templates" / "octavia-alerts.yml.j2").read_text()
    return [name for name in choices if f"{{%- if '{name}'" in text]


def render(template, **overrides):
    """Render roles/octavia_prometheus/templates/<template> with defaults + overrides."""
    source = (ROLE / "templates" / template).read_text()
    # Ansible's defaults for its template module.
    options = {"trim_blocks": True, "keep_trailing_newline": True}
    if source.startswith("#jinja2:"):
        header, source = source.split("\n", 1)
        for pair in header[len("#jinja2:"):].split(","):
            key, value = (part.strip() for part in pair.split(":", 1))
            options[key] = ast.literal_eval(value)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, **options)
    env.filters["octavia.monitoring.prometheus_catalog"] = prometheus_catalog
    env.filters["ansible.builtin.to_nice_yaml"] = to_nice_yaml
    context = role_defaults()
    context.update(overrides)
    context["__octavia_prometheus_alert_names"] = alert_pack()
    context["__octavia_prometheus_alert_rules_disabled"] = as_list(context["octavia_prometheus_alert_rules_disabled"])
    return env.from_string(source).render(**context)


def promtool(*args, cwd=None):
    """Run promtool; return the CompletedProcess (stdout and stderr kept for messages)."""
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


def sample_items():
    """Targets in the shape the role builds them from lb_prometheus_listener_info results."""
    return yaml.safe_load((HERE / "sample_targets.yml").read_text())
