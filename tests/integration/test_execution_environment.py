"""The collection as ansible-builder sees it (marker `packaging`; `make packaging` runs it).

- `ansible-builder introspect` on the installed collection lists its runtime requirements only:
  exactly requirements.txt and bindep.txt, which meta/execution-environment.yml names, and none
  of the test, lab or tooling packages of tests/requirements.txt.
- `ansible-builder create` with the project's execution-environment.yml, from a tarball built as
  `make ee-context` builds it, gives a context that installs this collection on the controller
  that meta/runtime.yml asks for. No container engine runs here, so `ansible-builder build`
  (`make ee`) is not run; the context is what it would build.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.packaging

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
EE_FILE = REPO / "execution-environment.yml"
VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


def run(cmd, **kwargs):
    kwargs.setdefault("timeout", 300)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False, **kwargs)


def output(proc):
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def requirement_lines(path):
    """The requirement lines of a pip or bindep file, comments and includes left out."""
    lines = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def requirement_name(line):
    return re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower().replace("_", "-")


def build_tarball(out_dir, env):
    proc = run([BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", out_dir, REPO],
               env=env)
    assert proc.returncode == 0, output(proc)
    return out_dir / f"octavia-monitoring-{VERSION}.tar.gz"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    # Only what the test installs may be found, not the checkout that `make` links.
    empty = tmp_path_factory.mktemp("none")
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(empty), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def test_meta_execution_environment_names_the_runtime_files():
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}


def test_runtime_requirements_hold_no_development_package():
    runtime = {requirement_name(line) for line in requirement_lines(REPO / "requirements.txt")}
    development = {requirement_name(line) for line in requirement_lines(REPO / "tests" / "requirements.txt")}
    assert runtime
    assert not runtime & development, "listed in both requirements.txt and tests/requirements.txt"
    assert "ansible-core" not in runtime  # the EE and the controller bring their own


def test_ansible_builder_introspect_lists_runtime_needs_only(tmp_path, env):
    tarball = build_tarball(tmp_path / "dist", env)
    collections = tmp_path / "collections"
    proc = run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", collections, tarball],
               env=dict(env, ANSIBLE_COLLECTIONS_PATH=str(collections)))
    assert proc.returncode == 0, output(proc)
    proc = run([BIN / "ansible-builder", "introspect", "--sanitize", collections])
    assert proc.returncode == 0, output(proc)
    found = yaml.safe_load(proc.stdout.split("---", 1)[1])
    from_us = "  # from collection octavia.monitoring"  # as ansible-builder writes it
    assert found["python"] == [f"{line}{from_us}" for line in requirement_lines(REPO / "requirements.txt")], \
        proc.stdout
    assert found["system"] == [f"{line}{from_us}" for line in requirement_lines(REPO / "bindep.txt")], \
        proc.stdout


def test_ansible_builder_create(tmp_path, env):
    definition = yaml.safe_load(EE_FILE.read_text())
    assert definition["version"] == 3
    # The definition refers to .build/dist relative to itself, as `make ee-context` builds it;
    # a copy of that layout in tmp_path keeps the test off the repository's .build.
    work = tmp_path / "ee"
    work.mkdir()
    shutil.copy(EE_FILE, work / EE_FILE.name)
    tarball = build_tarball(work / ".build" / "dist", env)
    [build_file] = definition["additional_build_files"]
    assert build_file["src"] == f".build/dist/{tarball.name}", "execution-environment.yml names another version than galaxy.yml"

    context = tmp_path / "context"
    proc = run([BIN / "ansible-builder", "create", "-f", work / EE_FILE.name, "-c", context,
                "--output-filename", "Containerfile"], cwd=work)
    assert proc.returncode == 0, output(proc)
    containerfile = (context / "Containerfile").read_text()

    # The controller: meta/runtime.yml's ansible-core, on a Python it supports.
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    floor = re.match(r">=\s*([0-9]+\.[0-9]+)", runtime["requires_ansible"]).group(1)
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M).group(1).split()
    assert f"ansible-core>={floor},<2.{int(floor.split('.')[1]) + 1}" in refs
    assert re.search(r'^ARG PYCMD="/usr/bin/python3\.1[1-9]"', containerfile, re.M)
    # The collection's own requirements come from its meta/execution-environment.yml alone:
    # nothing is declared beside them, and nothing of the collection is excluded.
    assert not (context / "_build" / "requirements.txt").exists()
    assert not (context / "_build" / "exclude-collections.txt").exists()

    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    [entry] = galaxy["collections"]
    assert entry == {"name": f"/build/collections/{tarball.name}", "type": "file"}
    assert (context / "_build" / "collections" / tarball.name).read_bytes() == tarball.read_bytes()
    # ansible-builder copies _build/ to /build before installing the galaxy requirements.
    assert "COPY _build /build" in containerfile
