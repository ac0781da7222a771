"""_base without openstacksdk: argument spec, error sentences, converge, missing SDK."""
import importlib
import json

import pytest
import requests

BASE = "ansible_collections.octavia.monitoring.plugins.module_utils._base"


@pytest.fixture
def base(no_sdk):
    return importlib.import_module(BASE)


def http_error(status, body, content_type="application/json"):
    """A real requests HTTPError carrying a real Response, as keystoneauth raises them."""
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response.headers["Content-Type"] = content_type
    return requests.HTTPError("HTTP %s" % status, response=response)


class DetailedError(Exception):
    """Shape of openstacksdk's HttpException: status_code and details, no response body."""

    def __init__(self, status_code, details):
        super(DetailedError, self).__init__("HttpException: %s" % status_code)
        self.status_code = status_code
        self.details = details


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
    assert base.AUTH_ARGUMENT_SPEC["cloud"]["type"] == "raw"
    assert spec["timeout"]["default"] == 5 and "name" in spec


def test_connect_without_sdk_says_what_to_install(base):
    assert base.HAS_OPENSTACKSDK is False
    with pytest.raises(base.OctaviaError, match="openstacksdk is required"):
        base.connect({"cloud": "x"})


def test_fault_text_prefers_octavia_faultstring(base):
    exc = http_error(409, {"faultcode": "Client", "debuginfo": None,
                           "faultstring": "Load Balancer 1 is immutable and cannot be updated."})
    assert base.http_status(exc) == 409
    assert base.fault_text(exc) == "Load Balancer 1 is immutable and cannot be updated"
    assert base.is_conflict(exc) and not base.is_not_found(exc)


def test_fault_text_reads_nested_error_message(base):
    exc = http_error(401, {"error": {"message": "The request you have made requires authentication.",
                                     "code": 401}})
    assert base.fault_text(exc) == "The request you have made requires authentication"


def test_fault_text_falls_back_to_details_then_message(base):
    assert base.fault_text(DetailedError(404, "Load Balancer x not found.\n")) == "Load Balancer x not found"
    assert base.fault_text(ValueError("plain   failure.")) == "plain failure"
    assert base.fault_text(http_error(500, "<html>oops</html>", "text/html")) == "HTTP 500"


def test_http_status_absent(base):
    assert base.http_status(ValueError("x")) is None
    assert base.is_not_found(DetailedError(404, "gone"))


def test_api_error_is_one_sentence_naming_object_and_fault(base):
    exc = http_error(409, {"faultstring": "Another Listener on this Load Balancer is already using "
                                          "protocol PROMETHEUS and protocol_port 8088"})
    err = base.api_error(exc, "create listener 'prometheus' on load balancer 'web'")
    assert str(err) == ("Could not create listener 'prometheus' on load balancer 'web': the API "
                        "answered HTTP 409: Another Listener on this Load Balancer is already using "
                        "protocol PROMETHEUS and protocol_port 8088.")
    assert err.extra == {"status": 409}


def test_api_error_without_status(base):
    err = base.api_error(ValueError("boom"), "list load balancers")
    assert str(err) == "Could not list load balancers: boom."


def test_api_error_passes_own_errors_through(base):
    own = base.OctaviaError("already clear", candidates=[1])
    assert base.api_error(own, "x") is own
    plan_error = importlib.import_module(
        "ansible_collections.octavia.monitoring.plugins.module_utils._compare").PlanError("bad", a=1)
    converted = base.api_error(plan_error, "x")
    assert str(converted) == "bad" and converted.extra == {"a": 1}


def test_to_plain(base):
    assert base.to_plain(None) is None
    assert base.to_plain({"a": 1}) == {"a": 1}

    class Resource(dict):
        def to_dict(self, computed=True):
            return {"id": "x", "location": {"cloud": "c"}} if computed else {"id": "x", "location": None}

    assert base.to_plain(Resource(junk=1)) == {"id": "x"}


class Recorder(object):
    def __init__(self):
        self.calls = []

    def __call__(self, plan):
        self.calls.append(plan["action"])
        return {"listener": {"id": "new"}}


def make_module(base, check_mode):
    module = base.OctaviaModule.__new__(base.OctaviaModule)
    module.check_mode = check_mode
    return module


@pytest.mark.parametrize("changed", [True, False])
def test_converge_reports_same_in_check_and_real_mode(base, changed):
    plan = {"action": "update" if changed else None, "changed": changed,
            "diff": {"before": {"a": 1}, "after": {"a": 2 if changed else 1}}}
    check, real = Recorder(), Recorder()
    checked = make_module(base, True).converge(plan, check)
    applied = make_module(base, False).converge(plan, real)
    assert check.calls == []
    assert real.calls == (["update"] if changed else [])
    assert (checked["changed"], checked["diff"]) == (applied["changed"], applied["diff"]) == (changed, plan["diff"])
    assert ("listener" in applied) is changed and "listener" not in checked
