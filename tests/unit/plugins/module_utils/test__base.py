"""_base: the argument spec and OctaviaModule's connection and failure handling, without openstacksdk.

Migrated from the old test__base.py: the spec tests are kept; the error-reading tests moved
to test__sdk.py with the code; ``converge`` is gone (the check-mode/real-run parity it
tested is now Rollout's, see test__rollout.py).
"""
import importlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

MU = "ansible_collections.octavia.monitoring.plugins.module_utils."


@pytest.fixture
def base(no_sdk):
    return importlib.import_module(MU + "_base")


def test_auth_spec_uses_openstack_cloud_names(base):
    spec = base.auth_argument_spec()
    assert set(spec) == {"cloud", "auth", "auth_type", "region_name", "validate_certs", "ca_cert",
                         "client_cert", "client_key", "api_timeout", "interface", "wait", "timeout"}
    assert spec["validate_certs"]["aliases"] == ["verify"]
    assert spec["interface"]["aliases"] == ["endpoint_type"]
    assert spec["auth"]["no_log"] is True and spec["client_key"]["no_log"] is True
    assert spec["timeout"]["default"] == 180 and spec["wait"]["default"] is True


def test_auth_spec_is_a_fresh_copy_and_extra_wins(base):
    spec = base.auth_argument_spec(timeout=dict(type="int", default=5), name=dict())
    spec["cloud"]["type"] = "changed"
    assert importlib.import_module(MU + "_auth").AUTH_ARGUMENT_SPEC["cloud"]["type"] == "raw"
    assert spec["timeout"]["default"] == 5 and "name" in spec


class Conn:
    def __init__(self, fail_close=False):
        self.closed = False
        self.fail_close = fail_close

    def close(self):
        self.closed = True
        if self.fail_close:
            raise OSError("already gone")


def execute(base, monkeypatch, capsys, run, args=None, fail_close=False):
    """Run an OctaviaModule whose run() is ``run``; return (result, connections opened)."""
    opened = []

    def connect(params):
        opened.append(Conn(fail_close))
        return opened[-1]

    monkeypatch.setattr(base, "HAS_OPENSTACKSDK", True)
    monkeypatch.setattr(base, "connect", connect)

    class Module(base.OctaviaModule):
        argument_spec = dict(name=dict(type="str"))

    Module.run = run
    with patch_module_args(args or {}):
        with pytest.raises(SystemExit):
            Module().execute()
    return json.loads(capsys.readouterr().out), opened


def test_execute_returns_the_result_with_changed_false_by_default(base, monkeypatch, capsys):
    result, opened = execute(base, monkeypatch, capsys, lambda self: {"thing": self.params["name"]},
                             {"name": "x"})
    assert result["changed"] is False and result["thing"] == "x" and opened == []


def test_execute_of_nothing(base, monkeypatch, capsys):
    result, _opened = execute(base, monkeypatch, capsys, lambda self: None)
    assert result["changed"] is False


def test_the_connection_opens_on_first_use_once_and_is_closed(base, monkeypatch, capsys):
    def run(self):
        first = self.conn
        assert self.conn is first
        extra = self.connect()            # a second one, for a worker thread
        assert extra is not first
        warned = []
        self.ansible.warn = warned.append     # warn() is AnsibleModule.warn
        self.warn("careful")
        return {"changed": True, "warned": warned}

    result, opened = execute(base, monkeypatch, capsys, run)
    assert result["changed"] is True and result["warned"] == ["careful"]
    assert len(opened) == 2 and opened[0].closed


def test_an_octavia_error_fails_with_its_extra_keys_and_closes(base, monkeypatch, capsys):
    errors = importlib.import_module(MU + "_errors")

    def run(self):
        self.conn
        raise errors.OctaviaError("Load balancer 'x' was not found.", candidates=[1], status=None)

    result, opened = execute(base, monkeypatch, capsys, run)
    assert result["failed"] is True and result["msg"] == "Load balancer 'x' was not found."
    assert result["candidates"] == [1] and "status" not in result
    assert opened[0].closed


def test_an_unexpected_exception_is_still_one_sentence(base, monkeypatch, capsys):
    def run(self):
        self.conn
        raise KeyError("boom")

    result, opened = execute(base, monkeypatch, capsys, run, fail_close=True)
    assert result["failed"] is True and result["msg"] == "Could not complete the task: 'boom'."
    assert opened[0].closed


def test_run_must_be_implemented(base, monkeypatch, capsys):
    result, _opened = execute(base, monkeypatch, capsys, base.OctaviaModule.run)
    assert result["failed"] is True and result["msg"] == "Could not complete the task: NotImplementedError."


def test_without_openstacksdk_the_module_says_what_to_install(base, capsys):
    class Module(base.OctaviaModule):
        def run(self):
            raise AssertionError("must not run")

    with patch_module_args({}):
        with pytest.raises(SystemExit):
            Module().execute()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert result["msg"].startswith("Failed to import the required Python library (openstacksdk)")
