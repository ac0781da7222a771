"""execution-environment.yml: `ansible-builder create` succeeds and the context holds what AWX needs.

No container engine runs here, so the test checks the build context ansible-builder writes: the
Python requirements are exactly the collection's runtime requirements, ansible-core matches them,
the collection's own requirements.txt (test tools, the lab) is kept out, and the collection
tarball the context installs is this checkout's, installable with ansible-galaxy.
"""
import re
import shutil
import subprocess

import yaml

from helpers.ansible_run import REPO, VENV_BIN, ansible_env

EE_FILE = REPO / "execution-environment.yml"


def runtime_requirements():
    """The block of requirements.txt under its '# Runtime:' comment, up to the next blank line."""
    lines = (REPO / "requirements.txt").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# Runtime:"))
    block = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        if not line.startswith("#"):
            block.append(line.split("#")[0].strip())
    return block


def build_collection(out_dir):
    proc = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force",
                           "--output-path", str(out_dir), str(REPO)],
                          capture_output=True, text=True, env=ansible_env(), check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [tarball] = out_dir.glob("octavia-monitoring-*.tar.gz")
    return tarball


def test_ansible_builder_create(tmp_path):
    definition = yaml.safe_load(EE_FILE.read_text())
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    assert definition["version"] == 3

    # The definition refers to .build/dist relative to itself; give it a copy of the checkout's
    # layout in tmp_path so the test neither needs nor touches the repository's .build.
    work = tmp_path / "ee"
    work.mkdir()
    shutil.copy(EE_FILE, work / EE_FILE.name)
    tarball = build_collection(work / ".build" / "dist")
    assert tarball.name == f"octavia-monitoring-{version}.tar.gz"
    [build_file] = definition["additional_build_files"]
    assert build_file["src"] == f".build/dist/{tarball.name}", "execution-environment.yml names another version than galaxy.yml"

    context = tmp_path / "context"
    proc = subprocess.run([str(VENV_BIN / "ansible-builder"), "create", "-f", str(work / EE_FILE.name),
                           "-c", str(context), "--output-filename", "Containerfile"],
                          capture_output=True, text=True, cwd=work, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (context / "Containerfile").read_text()

    runtime = runtime_requirements()
    core = [r for r in runtime if r.startswith("ansible-core")]
    others = [r for r in runtime if not r.startswith("ansible-core")]
    assert core and others
    assert (context / "_build" / "requirements.txt").read_text().split() == others
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M).group(1).split()
    assert core[0] in refs
    assert "octavia.monitoring" in (context / "_build" / "exclude-collections.txt").read_text().split()
    assert re.search(r'^ARG PYCMD="/usr/bin/python3\.1[1-9]"', containerfile, re.M)

    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    [entry] = galaxy["collections"]
    assert entry == {"name": f"/build/collections/{tarball.name}", "type": "file"}
    assert (context / "_build" / "collections" / tarball.name).read_bytes() == tarball.read_bytes()
    # ansible-builder copies _build/ to /build before installing the galaxy requirements.
    assert "COPY _build /build" in containerfile

    installed = tmp_path / "installed"
    proc = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline", "--force",
                           "-p", str(installed), str(context / "_build" / "collections" / tarball.name)],
                          capture_output=True, text=True, env=ansible_env(), check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    root = installed / "ansible_collections" / "octavia" / "monitoring"
    for path in ("plugins/inventory/loadbalancers.py", "plugins/modules/lb_prometheus_listener_fleet.py",
                 "plugins/module_utils/_fleet.py", "roles/octavia_listeners/tasks/main.yml"):
        assert (root / path).is_file(), path
    assert not (root / "bench").exists() and not (root / ".venv").exists()
