"""Render the octavia_prometheus role's templates outside Ansible, as Ansible would.

The rule and target templates use plain Jinja only, so they can be rendered here
with the role's own defaults plus a test's overrides. The `#jinja2:` first line
(delimiters, trim_blocks) is honoured the way Ansible's template module honours it.
"""
import ast
import pathlib
import shutil
import subprocess

import jinja2
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "octavia_prometheus"
HERE = pathlib.Path(__file__).resolve().parent
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def role_defaults():
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def role_vars():
    return yaml.safe_load((ROLE / "vars" / "main.yml").read_text())


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
    context = role_defaults()
    context.update(overrides)
    return env.from_string(source).render(**context)


def promtool(*args, cwd=None):
    """Run promtool; return the CompletedProcess (stdout and stderr kept for messages)."""
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


def sample_items():
    """Targets in the shape the role builds them from lb_prometheus_listener_info results."""
    return yaml.safe_load((HERE / "sample_targets.yml").read_text())


@pytest.fixture
def rules_dir(tmp_path):
    return tmp_path
