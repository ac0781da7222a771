"""The exporter's tests: the package from exporter/src, the collection's module_utils from
.build/collections (`make collection`), and the lab fixtures of tests/integration."""
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
for path in (REPO / "exporter" / "src", REPO / ".build" / "collections", REPO / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# One definition of the lab fixtures: tests/integration/conftest.py's.
from integration.conftest import lab, lb_factory, pytest_collection_modifyitems  # noqa: E402

# pytest finds fixtures and hooks by name in this module.
__all__ = ("lab", "lb_factory", "pytest_collection_modifyitems")
