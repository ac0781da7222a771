"""The collection as a release: built by ansible-galaxy, checked by the ecosystem's own tools.

`make packaging` runs these tests (marker `packaging`; they need no lab), from a tarball built
afresh from this checkout:
- what the tarball ships, and that it ships all the content;
- galaxy-importer with Automation Hub's settings, and what Galaxy would list;
- antsibull-docs lint-collection-docs --plugin-docs;
- ansible-doc of every plugin and role from an empty collections path;
- antsibull-changelog lint, the recorded release and the generated CHANGELOG.rst;
- one SDK requirement everywhere.
ansible-builder's view (introspect, create) is in test_execution_environment.py.
Each failure message carries the tool's own output.
"""
import fnmatch
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

pytestmark = pytest.mark.packaging

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
VERSION = GALAXY["version"]
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"

# What may sit at the top of the tarball. A new top-level file or folder of the checkout fails
# test_tarball_ships_content_only until it is either listed here (it is content) or added to
# galaxy.yml's build_ignore (it is not).
SHIPPED_TOP = {
    "MANIFEST.json", "FILES.json",            # written by ansible-galaxy
    "README.md", "LICENSE", "CHANGELOG.rst",
    "requirements.txt", "bindep.txt",         # read through meta/execution-environment.yml
    "plugins", "roles", "playbooks", "meta", "docs", "changelogs",
    "exporter",                               # the exporter package, without its tests
}
REQUIRED = ("LICENSE", "README.md", "CHANGELOG.rst", "requirements.txt", "bindep.txt",
            "meta/runtime.yml", "meta/execution-environment.yml", "changelogs/changelog.yaml",
            "changelogs/config.yaml")
# Development files, wherever they are.
NEVER_SHIPPED = ("tests/*", "*/tests/*", "roles/*/molecule/*", "*.pyc", "*/__pycache__/*",
                 "dashboards/*", "scripts/*", "bench/*", "demo/*", "Makefile", "pytest.ini",
                 ".*", "*/.*", "execution-environment.yml", "*.egg-info/*")

# Automation Hub's importer settings: releases must be 1.0.0 or later and carry one of its
# required tags; ansible-doc and ansible-lint (production profile) run on the content;
# ansible-test does not (the sanity stage runs it). Its flake8 pass stays off, as on Galaxy
# and Automation Hub: it would parse the filters' YAML documentation files as Python, and
# pep8 and pylint run in ansible-test sanity.
IMPORTER_CFG = """\
[galaxy-importer]
LOG_LEVEL_MAIN = INFO
REQUIRE_V1_OR_GREATER = True
CHECK_REQUIRED_TAGS = True
CHECK_CHANGELOG = True
RUN_ANSIBLE_DOC = True
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_ANSIBLE_TEST = False
RUN_FLAKE8 = False
"""


def run(cmd, **kwargs):
    """Run a tool; return the CompletedProcess with text output (never raises on its exit code)."""
    kwargs.setdefault("timeout", 600)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False, **kwargs)


def output(proc):
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tarball, built afresh from this checkout, and its member names."""
    root = tmp_path_factory.mktemp("dist")
    # Only the fresh build and install may be found: `make` exports a collections path that
    # holds this checkout, and with it ansible-galaxy would call the collection installed already.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(root / "none"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = run([BIN / "ansible-galaxy", "collection", "build", "--output-path", root, REPO], env=env)
    assert proc.returncode == 0, output(proc)
    tarball = root / f"{GALAXY['namespace']}-{GALAXY['name']}-{VERSION}.tar.gz"
    assert tarball.exists(), sorted(p.name for p in root.iterdir())
    with tarfile.open(tarball) as tar:
        members = sorted(m.name for m in tar.getmembers() if m.isfile())
    return {"tarball": tarball, "members": members, "env": env}


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """The tarball installed into an empty collections path; that path only is searched."""
    target = tmp_path_factory.mktemp("galaxy") / "collections"
    env = dict(built["env"], ANSIBLE_COLLECTIONS_PATH=str(target))
    proc = run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", target,
                built["tarball"]], env=env)
    assert proc.returncode == 0, output(proc)
    return {"path": target.joinpath("ansible_collections", *FQCN.split(".")), "env": env,
            "collections": target}


@pytest.fixture(scope="module")
def metadata(installed):
    """ansible-doc --metadata-dump of the installed collection: {type: {fqcn: data}}."""
    proc = run([BIN / "ansible-doc", "--metadata-dump", "--no-fail-on-errors", FQCN],
               env=installed["env"])
    assert proc.returncode == 0, output(proc)
    dump = json.loads(proc.stdout)
    erred = {kind: sorted(items) for kind, items in dump.get("erred", {}).items() if items}
    assert not erred, f"ansible-doc cannot read the documentation of {erred}:\n{proc.stderr}"
    return dump["all"]


def tracked_files():
    proc = run(["git", "-C", REPO, "ls-files", "--cached", "--others", "--exclude-standard"])
    assert proc.returncode == 0, output(proc)
    return [f for f in proc.stdout.splitlines() if (REPO / f).is_file()]


def plugin_names(kind):
    folder = REPO / "plugins" / kind
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))


def role_names():
    return sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


# --- the tarball ---------------------------------------------------------------------------


def test_tarball_ships_content_only(built):
    members = built["members"]
    tops = {m.split("/", 1)[0] for m in members}
    assert tops <= SHIPPED_TOP, (f"not content, add to galaxy.yml's build_ignore (or to SHIPPED_TOP "
                                 f"if it is content): {sorted(tops - SHIPPED_TOP)}")
    for wanted in REQUIRED:
        assert wanted in members, f"{wanted} must ship"
    unwanted = [m for m in members if any(fnmatch.fnmatch(m, p) for p in NEVER_SHIPPED)]
    assert not unwanted, f"development files in the tarball: {unwanted}"


def test_tarball_ships_all_the_content(built):
    # The other direction: build_ignore drops nothing a user needs.
    members = set(built["members"])
    content = [f for f in tracked_files()
               if f.split("/", 1)[0] in SHIPPED_TOP and "/" in f
               and not any(fnmatch.fnmatch(f, p) for p in NEVER_SHIPPED)]
    content += [f for f in tracked_files() if f in SHIPPED_TOP]
    assert content
    missing = sorted(set(content) - members)
    assert not missing, f"content left out of the tarball: {missing}"


# --- Galaxy and Automation Hub ---------------------------------------------------------------


@pytest.fixture(scope="module")
def importer(built, tmp_path_factory):
    """galaxy-importer on the tarball: (its log, its importer_result.json)."""
    work = tmp_path_factory.mktemp("importer")
    cfg = work / "galaxy-importer.cfg"
    cfg.write_text(IMPORTER_CFG)
    env = dict(built["env"], GALAXY_IMPORTER_CONFIG=str(cfg))
    proc = run([sys.executable, "-m", "galaxy_importer.main", built["tarball"]], cwd=work, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, output(proc)
    return log, json.loads((work / "importer_result.json").read_text())


def test_galaxy_importer_with_automation_hub_settings_reports_nothing(importer):
    log, _result = importer
    assert "Importer processing completed successfully" in log, log
    # It logs every finding (ansible-lint's included) at WARNING or ERROR level.
    findings = [line for line in log.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)]
    assert not findings, "galaxy-importer findings:\n" + "\n".join(findings)


def test_galaxy_lists_only_documented_plugins(importer):
    # Galaxy lists one plugin per file; a file without documentation shows as an empty page.
    _log, result = importer
    undocumented = sorted(f"{c['content_type']} {c['content_name']}"
                          for c in result["docs_blob"]["contents"]
                          if c["content_type"] in ("module", "inventory", "filter", "test", "lookup")
                          and not c.get("doc_strings"))
    assert not undocumented, f"Galaxy would list these without documentation: {undocumented}"
    filters = {c["content_name"] for c in result["docs_blob"]["contents"] if c["content_type"] == "filter"}
    assert filters == set(plugin_names("filter"))


def test_antsibull_docs_lint_with_plugin_docs(installed):
    proc = run([BIN / "antsibull-docs", "lint-collection-docs", "--plugin-docs", installed["path"]],
               env=installed["env"])
    assert proc.returncode == 0 and not proc.stdout.strip(), output(proc)


# --- ansible-doc from an empty collections path --------------------------------------------


@pytest.mark.parametrize("module", plugin_names("modules"))
def test_ansible_doc_renders_every_module(installed, module):
    proc = run([BIN / "ansible-doc", "--json", f"{FQCN}.{module}"], env=installed["env"])
    assert proc.returncode == 0, output(proc)
    doc = json.loads(proc.stdout)[f"{FQCN}.{module}"]
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"]
    assert {"check_mode", "diff_mode", "idempotent"} <= set(doc["doc"].get("attributes", {}))


@pytest.mark.parametrize("kind,name", [("inventory", n) for n in plugin_names("inventory")]
                         + [("filter", n) for n in plugin_names("filter")]
                         + [("role", r) for r in role_names()])
def test_ansible_doc_renders_plugins_and_roles(installed, kind, name):
    proc = run([BIN / "ansible-doc", "--json", "-t", kind, f"{FQCN}.{name}"], env=installed["env"])
    assert proc.returncode == 0, output(proc)
    data = json.loads(proc.stdout)[f"{FQCN}.{name}"]
    if kind == "role":
        assert data["entry_points"]["main"]["short_description"]
    else:
        assert data["doc"]["short_description"], f"{kind} {name} has no documentation"


def test_action_group_lists_every_module():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert sorted(runtime["action_groups"]["octavia"]) == plugin_names("modules")


def test_every_plugin_and_role_says_since_when(metadata):
    missing = sorted(f"{kind} {name}" for kind, items in metadata.items() if kind != "keyword"
                     for name, data in items.items()
                     if not version_added(kind, data))
    assert not missing, f"no version_added: {missing}"


def test_one_sdk_requirement_everywhere(metadata):
    # requirements.txt holds the range; every plugin that needs the SDK names its lower bound.
    spec = next(line for line in (REPO / "requirements.txt").read_text().splitlines()
                if line.startswith("openstacksdk"))
    lower = re.search(r">=\s*([0-9.]+)", spec).group(1)
    wanted = f"openstacksdk >= {lower}"
    found = {}
    for kind, items in metadata.items():
        for name, data in items.items():
            for req in (data.get("doc") or {}).get("requirements") or []:
                if "openstacksdk" in req:
                    found[f"{kind} {name}"] = req
    assert found
    assert {k: v for k, v in found.items() if v != wanted} == {}, f"requirements.txt says {spec!r}"


# --- changelog ------------------------------------------------------------------------------


def version_added(kind, data):
    if kind == "role":
        return (data.get("entry_points") or {}).get("main", {}).get("version_added")
    return (data.get("doc") or {}).get("version_added")


def changelog():
    return yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text())


def test_antsibull_changelog_lint():
    for cmd in (["lint"], ["lint-changelog-yaml", "changelogs/changelog.yaml"]):
        proc = run([BIN / "antsibull-changelog", *cmd], cwd=REPO)
        assert proc.returncode == 0 and not proc.stdout.strip(), output(proc)


def test_release_is_recorded_with_a_summary():
    releases = changelog()["releases"]
    assert VERSION in releases, f"galaxy.yml's {VERSION} is not released in changelogs/changelog.yaml"
    assert releases[VERSION]["changes"].get("release_summary", "").strip()


def test_release_lists_exactly_its_new_plugins_and_roles(metadata):
    # antsibull-changelog lists what `version_added` says is new; `make changelog` records it.
    release = changelog()["releases"][VERSION]
    recorded = {("module", m["name"]) for m in release.get("modules", [])}
    recorded |= {(kind, p["name"]) for kind, items in release.get("plugins", {}).items() for p in items}
    recorded |= {("role", r["name"]) for r in release.get("objects", {}).get("role", [])}
    new = {(kind, name[len(FQCN) + 1:]) for kind, items in metadata.items()
           for name, data in items.items() if version_added(kind, data) == VERSION}
    assert recorded == new, (f"release {VERSION} in changelogs/changelog.yaml is out of date "
                             f"(run `make changelog`): missing {sorted(new - recorded)}, "
                             f"extra {sorted(recorded - new)}")


def test_every_playbook_is_announced_once():
    announced = [p["name"] for release in changelog()["releases"].values()
                 for p in release.get("objects", {}).get("playbook", [])]
    announced += [p["name"] for f in (REPO / "changelogs" / "fragments").glob("*.y*ml")
                  for p in (yaml.safe_load(f.read_text()) or {}).get("add object.playbook", [])]
    assert sorted(announced) == sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))


def test_fragments_do_not_announce_new_plugins_or_roles():
    # antsibull-changelog lists them from version_added already; a fragment would list them twice.
    pattern = re.compile(r"\bnew (module|role|plugin|inventory plugin|filters?|lookup)\b", re.I)
    offending = []
    for fragment in sorted((REPO / "changelogs" / "fragments").glob("*.y*ml")):
        for section, entries in (yaml.safe_load(fragment.read_text()) or {}).items():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, str) and pattern.search(entry):
                    offending.append(f"{fragment.name} ({section}): {entry[:80]}")
    assert not offending, "\n".join(offending)


def test_changelog_rst_is_generated_from_changelog_yaml(tmp_path):
    # Only released versions are rendered, so pending fragments never make this fail.
    work = tmp_path / "collection"
    shutil.copytree(REPO / "changelogs", work / "changelogs",
                    ignore=shutil.ignore_patterns("fragments"))
    (work / "changelogs" / "fragments").mkdir()
    shutil.copy(REPO / "galaxy.yml", work)
    proc = run([BIN / "antsibull-changelog", "generate"], cwd=work)
    assert proc.returncode == 0, output(proc)
    assert (work / "CHANGELOG.rst").read_text() == (REPO / "CHANGELOG.rst").read_text(), \
        "CHANGELOG.rst differs from `antsibull-changelog generate`: run `make changelog`"
