"""Make every unit test import this checkout as ansible_collections.octavia.monitoring.

Two runners use this tree, and neither may depend on the other's set-up:
- `make unit` (plain pytest with pytest.ini): a symlink tree under .build/collections gives the
  checkout the import path Ansible itself uses, so a test cannot pass on a module Ansible would
  not load;
- `ansible-test units`, which runs pytest with its own configuration (so without pytest.ini's
  `pythonpath`) on a copy already placed at ansible_collections/octavia/monitoring, and whose
  pytest plugin makes that copy importable.
Nothing here imports tests/helpers. Two folders go on sys.path for suites that need them, as
pytest.ini and pytest's default import mode give them under plain pytest: tests/, because the
rules suites start a real Prometheus through tests/helpers, and tests/unit/rules, whose test
files import their sibling modules (rules_render, catalog_scale) by bare name, which ansible-test's
package-style imports would not find.
"""
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"


def collections_root():
    """The folder that holds ansible_collections/octavia/monitoring for this checkout.

    A checkout already at that path (ansible-test's copy) is used as it is; otherwise the
    symlink tree under .build/collections is created when it is missing.
    """
    if REPO.parent.name == "octavia" and REPO.parents[1].name == "ansible_collections":
        return REPO.parents[2]
    root = REPO / ".build" / "collections"
    link = root / "ansible_collections" / "octavia" / "monitoring"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(REPO)
        except FileExistsError:
            pass  # another run created it first
    return root


for _path in (str(collections_root()), str(TESTS), str(TESTS / "unit" / "rules")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
