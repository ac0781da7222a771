"""`no_sdk`: import collection code as on a host without openstacksdk.

The unit tests cover pure logic only. Blocking openstacksdk (and keystoneauth)
proves that nothing under test needs it, and that _base degrades to a clear
error when it is missing, as it must on a host without the SDK. The import path
of the collection is set up by tests/unit/conftest.py.
"""
import sys

import pytest

PREFIX = "ansible_collections.octavia.monitoring.plugins."


def _forget_collection_modules():
    for name in [n for n in sys.modules if n.startswith(PREFIX)]:
        del sys.modules[name]


@pytest.fixture
def no_sdk(monkeypatch):
    """Import collection code as on a host without openstacksdk; undo afterwards."""
    _forget_collection_modules()
    for name in ("openstack", "openstack.exceptions", "keystoneauth1", "keystoneauth1.exceptions"):
        monkeypatch.setitem(sys.modules, name, None)
    yield
    _forget_collection_modules()
