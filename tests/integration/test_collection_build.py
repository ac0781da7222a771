"""The collection as a user gets it: built by ansible-galaxy, installed, documented by ansible-doc."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The built tarball installed into an empty collections path; that path only is searched."""
    root = tmp_path_factory.mktemp("galaxy")
    target = root / "collections"
    # Only the fresh install may be found: `make` exports a collections path that holds this
    # checkout, and with it ansible-galaxy would call the collection installed already.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(target), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", root, REPO],
                   env=env, check=True, capture_output=True, text=True)
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    tarball = root / f"octavia-monitoring-{version}.tar.gz"
    assert tarball.exists(), sorted(p.name for p in root.iterdir())
    subprocess.run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", target, tarball],
                   env=env, check=True, capture_output=True, text=True)
    return {"path": target / "ansible_collections" / "octavia" / "monitoring", "env": env}


def plugin_names(kind):
    folder = REPO / "plugins" / kind
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))


def test_tarball_holds_the_collection_and_not_the_work_tree(installed):
    path = installed["path"]
    # An installed collection carries MANIFEST.json in place of galaxy.yml.
    for wanted in ("MANIFEST.json", "README.md", "meta/runtime.yml", "playbooks/site.yml",
                   "roles/octavia_prometheus/tasks/main.yml", "roles/octavia_grafana/files/dashboards"):
        assert (path / wanted).exists(), wanted
    for unwanted in (".venv", ".lab", ".build", ".demo", "bench", "demo"):
        assert not (path / unwanted).exists(), f"{unwanted} must not ship"


def test_action_group_lists_every_module():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert sorted(runtime["action_groups"]["octavia"]) == plugin_names("modules")


@pytest.mark.parametrize("module", plugin_names("modules"))
def test_ansible_doc_renders_every_module(installed, module):
    out = subprocess.run([BIN / "ansible-doc", "--json", f"octavia.monitoring.{module}"],
                         env=installed["env"], check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)[f"octavia.monitoring.{module}"]
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"]
    assert {"check_mode", "diff_mode", "idempotent"} <= set(doc["doc"].get("attributes", {}))


@pytest.mark.parametrize("kind,name", [("inventory", "loadbalancers")]
                         + [("role", r.name) for r in sorted((REPO / "roles").iterdir())])
def test_ansible_doc_renders_plugins_and_roles(installed, kind, name):
    out = subprocess.run([BIN / "ansible-doc", "--json", "-t", kind, f"octavia.monitoring.{name}"],
                         env=installed["env"], check=True, capture_output=True, text=True).stdout
    assert json.loads(out)[f"octavia.monitoring.{name}"]
