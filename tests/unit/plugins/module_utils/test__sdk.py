"""_sdk: reading SDK exceptions, one sentence per fault, plain dicts, and connect().

Migrated from test__base.py (fault_text, http_status, api_error, to_plain, the missing
SDK). Most tests run with the ``no_sdk`` fixture, as on a host without openstacksdk; the
branches that need openstacksdk's or keystoneauth's exception classes and
``openstack.connect`` run with ``fake_sdk``, which puts small stand-ins of those modules in
``sys.modules`` (openstacksdk itself is never imported).
"""
import importlib
import json
import sys
import types

import pytest
import requests

PREFIX = "ansible_collections.octavia.monitoring.plugins."
SDK = PREFIX + "module_utils._sdk"
ERRORS = PREFIX + "module_utils._errors"


@pytest.fixture
def sdk(no_sdk):
    return importlib.import_module(SDK)


def errors():
    return importlib.import_module(ERRORS)


def http_error(status, body, content_type="application/json"):
    """A real requests HTTPError carrying a real Response, as keystoneauth raises them."""
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response.headers["Content-Type"] = content_type
    return requests.HTTPError(f"HTTP {status}", response=response)


class DetailedError(Exception):
    """An HTTP error read through status_code and details, with no response body."""

    def __init__(self, status_code, details):
        super().__init__(f"HttpException: {status_code}")
        self.status_code = status_code
        self.details = details


class SdkShapedError(requests.HTTPError):
    """The shape of openstacksdk's HttpException: an SDKException and a requests HTTPError.

    requests' exceptions derive from IOError, so every openstacksdk HTTP error (400, 404,
    409, 501 ...) is an OSError too.
    """

    def __init__(self, status_code, details):
        super().__init__(f"HttpException: {status_code}: {details}")
        self.status_code = status_code
        self.details = details


# --- without openstacksdk --------------------------------------------------

def test_connect_without_sdk_says_what_to_install(sdk):
    assert sdk.HAS_OPENSTACKSDK is False and "import openstack" in sdk.OPENSTACKSDK_IMPORT_ERROR
    with pytest.raises(errors().OctaviaError) as err:
        sdk.connect({"cloud": "x"})
    assert str(err.value) == ("The Python library openstacksdk is required but could not be imported on "
                              "the host that runs this task; install it (pip install openstacksdk).")


def test_default_api_timeout_is_finite(sdk):
    assert sdk.DEFAULT_API_TIMEOUT == 30


@pytest.mark.parametrize("cloud, phrase", [
    (None, "the cloud from the OS_* environment or clouds.yaml"),
    ("prod", "the cloud 'prod'"),
    ({"auth": {}}, "the cloud given as a dict"),
])
def test_describe_source(sdk, cloud, phrase):
    assert sdk.describe_source(cloud) == phrase


def test_fault_text_prefers_octavia_faultstring(sdk):
    exc = http_error(409, {"faultcode": "Client", "debuginfo": None,
                           "faultstring": "Load Balancer 1 is immutable and cannot be updated."})
    assert sdk.http_status(exc) == 409
    assert sdk.fault_text(exc) == "Load Balancer 1 is immutable and cannot be updated"
    assert not sdk.is_not_found(exc)


@pytest.mark.parametrize("body, text", [
    ({"error": {"message": "The request you have made requires authentication.", "code": 401}},
     "The request you have made requires authentication"),
    ({"message": "Quota   exceeded\n for listeners."}, "Quota exceeded for listeners"),
    ({"faultstring": ""}, "HTTP 401"),        # an empty faultstring is no explanation
])
def test_fault_text_reads_other_bodies(sdk, body, text):
    assert sdk.fault_text(http_error(401, body)) == text


def test_fault_text_falls_back_to_details_then_message(sdk):
    assert sdk.fault_text(DetailedError(404, "Load Balancer x not found.\n")) == "Load Balancer x not found"
    assert sdk.fault_text(ValueError("plain   failure.")) == "plain failure"
    assert sdk.fault_text(http_error(500, "<html>oops</html>", "text/html")) == "HTTP 500"
    assert sdk.fault_text(http_error(500, "[1, 2]")) == "HTTP 500"      # JSON, but not a dict
    assert sdk.fault_text(KeyError()) == "KeyError"

    class WithMessage(Exception):
        message = "from the message attribute."
    assert sdk.fault_text(WithMessage("ignored")) == "from the message attribute"


def test_http_status_sources(sdk):
    class Legacy(Exception):
        http_status = 503
    assert sdk.http_status(ValueError("x")) is None
    assert sdk.http_status(Legacy()) == 503
    assert sdk.http_status(DetailedError(404, "gone")) == 404
    assert sdk.is_not_found(DetailedError(404, "gone"))
    assert not sdk.is_not_found(ValueError("x"))


@pytest.mark.parametrize("exc, connection, transient", [
    (ConnectionResetError(104, "Connection reset by peer"), True, True),
    (ConnectionRefusedError(111, "Connection refused"), True, True),
    (BrokenPipeError(32, "Broken pipe"), True, True),
    (TimeoutError("timed out"), False, False),
    (ValueError("x"), False, False),
    (DetailedError(500, "Internal"), False, True),
    (DetailedError(502, "Bad gateway"), False, True),
    (DetailedError(503, "Unavailable"), False, True),
    (DetailedError(504, "Gateway timeout"), False, True),
    (DetailedError(400, "Bad"), False, False),
    (DetailedError(404, "Gone"), False, False),
    (DetailedError(409, "Conflict"), False, False),
    (DetailedError(501, "Not implemented"), False, False),
])
def test_is_connection_fault_and_is_transient(sdk, exc, connection, transient):
    assert sdk.is_connection_fault(exc) is connection
    assert sdk.is_transient(exc) is transient


def test_requests_connection_errors_are_connection_faults(sdk):
    """keystoneauth is absent here; a requests ConnectionError (no answer) is still one."""
    exc = requests.ConnectionError("Max retries exceeded ([Errno 111] Connection refused)")
    assert sdk.is_connection_fault(exc) and sdk.is_transient(exc)
    assert sdk.api_error(exc, "list load balancers").extra["kind"] == "connection"


def test_own_errors_are_not_connection_faults(sdk):
    assert not sdk.is_connection_fault(errors().OctaviaError("x", kind="timeout"))


def test_api_error_http_is_one_sentence_naming_object_and_fault(sdk):
    """Kept from test__base.py. keystoneauth raises requests' HTTPError, an OSError; an error that
    carries an HTTP status had an answer, so it is never 'could not be reached'."""
    exc = http_error(409, {"faultstring": "Another Listener on this Load Balancer is already using "
                                          "protocol PROMETHEUS and protocol_port 8088"})
    err = sdk.api_error(exc, "create listener 'prometheus' on load balancer 'web'")
    assert str(err) == ("Could not create listener 'prometheus' on load balancer 'web': the API "
                        "answered HTTP 409: Another Listener on this Load Balancer is already using "
                        "protocol PROMETHEUS and protocol_port 8088.")
    assert err.extra == {"status": 409, "kind": "http"}
    assert isinstance(err, errors().OctaviaError)


def test_api_error_http_from_details(sdk):
    err = sdk.api_error(DetailedError(400, "Invalid input for field/attribute description."), "update x")
    assert str(err) == ("Could not update x: the API answered HTTP 400: Invalid input for "
                        "field/attribute description.")
    assert err.extra == {"status": 400, "kind": "http"}


def test_api_error_connection(sdk):
    err = sdk.api_error(ConnectionResetError(104, "Connection reset by peer"), "list load balancers")
    assert str(err) == ("Could not list load balancers: the API endpoint could not be reached "
                        "([Errno 104] Connection reset by peer).")
    assert err.extra == {"status": None, "kind": "connection"}


def test_api_error_without_status(sdk):
    err = sdk.api_error(ValueError("boom"), "list load balancers")
    assert str(err) == "Could not list load balancers: boom."
    assert err.extra == {"status": None, "kind": "other"}


def test_api_error_timeout_gets_the_attempt_in_front(sdk):
    timeout = errors().OctaviaError("the API at http://127.0.0.1:9876/v2.0/lbaas/loadbalancers did "
                                    "not answer within 10 s", kind="timeout")
    err = sdk.api_error(timeout, "list load balancers")
    assert str(err) == ("Could not list load balancers: the API at http://127.0.0.1:9876/v2.0/lbaas/"
                        "loadbalancers did not answer within 10 s.")
    assert err.extra == {"kind": "timeout"}
    assert sdk.api_error(err, "something else") is err      # said once, not twice


def test_api_error_passes_own_errors_through(sdk):
    own = errors().OctaviaError("already clear", candidates=[1])
    assert sdk.api_error(own, "x") is own
    plan_error = errors().PlanError("bad", a=1)
    assert sdk.api_error(plan_error, "x") is plan_error


def test_to_plain(sdk):
    assert sdk.to_plain(None) is None
    assert sdk.to_plain({"a": 1}) == {"a": 1}

    class Resource(dict):
        def to_dict(self, computed=True):
            return {"id": "x", "location": {"cloud": "c"}} if computed else {"id": "x", "location": None}

    assert sdk.to_plain(Resource(junk=1)) == {"id": "x"}


@pytest.mark.parametrize("status", [400, 404, 409, 501])
def test_sdk_http_errors_are_http_not_connection_faults(sdk, status):
    """openstacksdk's HttpException is an OSError. A 400 must read as an HTTP answer and must not
    be retried (found here: write() retried it, and a 501, until the deadline, and the message
    said 'the API endpoint could not be reached (...)' after 'the API answered HTTP 400')."""
    exc = SdkShapedError(status, "Invalid input for field/attribute description.")
    assert not sdk.is_connection_fault(exc)
    assert not sdk.is_transient(exc)
    err = sdk.api_error(exc, "create listener 'p'")
    assert str(err) == (f"Could not create listener 'p': the API answered HTTP {status}: Invalid input "
                        "for field/attribute description.")
    assert err.extra["kind"] == "http"


# --- with stand-ins of openstacksdk and keystoneauth ------------------------


def _stand_ins():
    """Modules shaped like openstack, openstack.exceptions, keystoneauth1 and its exceptions."""
    sdk_exc = types.ModuleType("openstack.exceptions")

    class SDKException(Exception):
        pass

    for name in ("ConfigException", "EndpointNotFound", "NotFoundException", "ResourceNotFound"):
        setattr(sdk_exc, name, type(name, (SDKException,), {}))
    ksa_exc = types.ModuleType("keystoneauth1.exceptions")
    ksa_exc.ConnectionError = type("ConnectionError", (Exception,), {})
    ksa_exc.ConnectTimeout = type("ConnectTimeout", (ksa_exc.ConnectionError,), {})
    ksa_exc.ConnectFailure = type("ConnectFailure", (ksa_exc.ConnectionError,), {})
    ksa_exc.EndpointNotFound = type("EndpointNotFound", (Exception,), {})
    openstack = types.ModuleType("openstack")
    openstack.exceptions = sdk_exc
    keystoneauth1 = types.ModuleType("keystoneauth1")
    keystoneauth1.exceptions = ksa_exc
    return openstack, sdk_exc, keystoneauth1, ksa_exc


class Session:
    """A keystoneauth session whose request() does what ``behaviour`` says."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.behaviour = None

    def request(self, url, method, *args, **kwargs):
        if self.behaviour is not None:
            raise self.behaviour
        return ("answer", url, method)


class Connection:
    def __init__(self, kwargs):
        self.kwargs = kwargs
        self.config = types.SimpleNamespace(config={"api_timeout": kwargs.get("api_timeout")})
        self.session = Session(kwargs.get("api_timeout"))


def _forget_collection_modules():
    for name in [n for n in sys.modules if n.startswith(PREFIX)]:
        del sys.modules[name]


@pytest.fixture
def fake_sdk(monkeypatch):
    """_sdk imported with stand-ins of openstacksdk and keystoneauth; ``connect`` records its kwargs."""
    _forget_collection_modules()
    openstack, sdk_exc, keystoneauth1, ksa_exc = _stand_ins()
    made = []

    def connect(**kwargs):
        if "fail" in openstack.__dict__:
            raise openstack.fail
        made.append(Connection(kwargs))
        return made[-1]

    openstack.connect = connect
    for name, module in (("openstack", openstack), ("openstack.exceptions", sdk_exc),
                         ("keystoneauth1", keystoneauth1), ("keystoneauth1.exceptions", ksa_exc)):
        monkeypatch.setitem(sys.modules, name, module)
    yield types.SimpleNamespace(sdk=importlib.import_module(SDK), openstack=openstack, exc=sdk_exc,
                                ksa=ksa_exc, made=made)
    _forget_collection_modules()


def test_connect_maps_options_to_openstack_keywords(fake_sdk):
    conn = fake_sdk.sdk.connect({"cloud": "prod", "validate_certs": False, "ca_cert": "/ca.pem",
                                 "client_cert": None, "region_name": "R1", "interface": "internal",
                                 "wait": True, "api_timeout": 12})
    assert conn.kwargs == {"app_name": "octavia.monitoring", "cloud": "prod", "verify": False,
                           "cacert": "/ca.pem", "region_name": "R1", "interface": "internal",
                           "api_timeout": 12}
    assert conn.session.timeout == 12 and conn.config.config["api_timeout"] == 12


def test_connect_without_options_leaves_everything_to_openstacksdk_but_the_timeout(fake_sdk):
    """Issue 10: no default API timeout hung AWX inventory updates forever."""
    conn = fake_sdk.sdk.connect({})
    assert conn.kwargs == {"app_name": "octavia.monitoring"}
    assert conn.config.config["api_timeout"] == 30 and conn.session.timeout == 30


def test_connect_cloud_as_a_dict(fake_sdk):
    conn = fake_sdk.sdk.connect({"cloud": {"auth": {"auth_url": "u"}, "region_name": "R"}})
    assert conn.kwargs == {"app_name": "octavia.monitoring", "auth": {"auth_url": "u"},
                           "region_name": "R", "interface": "public"}
    conn = fake_sdk.sdk.connect({"cloud": {"auth": {}}, "interface": "admin"})
    assert conn.kwargs["interface"] == "admin"


def test_connect_cloud_dict_cannot_be_combined_with_auth_options(fake_sdk):
    with pytest.raises(Exception) as err:
        fake_sdk.sdk.connect({"cloud": {"auth": {}}, "region_name": "R", "auth_type": "password",
                              "interface": "internal"})
    assert str(err.value) == ("The option cloud was given as a dict of connection settings, so it cannot "
                              "be combined with auth_type, region_name; put those settings into the dict.")
    assert fake_sdk.made == []


def test_connect_failure_is_one_sentence(fake_sdk):
    fake_sdk.openstack.fail = fake_sdk.exc.ConfigException("Cloud nope was not found.")
    with pytest.raises(Exception) as err:
        fake_sdk.sdk.connect({"cloud": "nope"})
    assert str(err.value) == ("Could not connect to the cloud 'nope': the cloud configuration is unusable "
                              "(Cloud nope was not found).")
    assert err.value.extra == {"status": None, "kind": "config"}


def test_connect_names_a_timeout_as_a_timeout(fake_sdk):
    """Issue 10: a timeout used to read 'Unable to find a version discovery document'."""
    conn = fake_sdk.sdk.connect({"api_timeout": 10})
    assert conn.session.request("http://127.0.0.1:9876/", "GET") == ("answer", "http://127.0.0.1:9876/", "GET")
    conn.session.behaviour = fake_sdk.ksa.ConnectTimeout("Request to http://127.0.0.1:9876/ timed out")
    with pytest.raises(Exception) as err:
        conn.session.request("http://127.0.0.1:9876/", "GET")
    assert str(err.value) == "the API at http://127.0.0.1:9876/ did not answer within 10 s"
    assert err.value.extra == {"kind": "timeout"}
    assert isinstance(err.value.__cause__, fake_sdk.ksa.ConnectTimeout)
    assert str(fake_sdk.sdk.api_error(err.value, "list load balancers")) == (
        "Could not list load balancers: the API at http://127.0.0.1:9876/ did not answer within 10 s.")
    wrapped = conn.session.request
    fake_sdk.sdk._name_timeouts(conn.session)
    assert conn.session.request is wrapped          # wrapped once only


def test_a_refused_connection_is_named_and_stays_a_connection_fault(fake_sdk):
    """keystoneauth's version discovery swallows ConnectFailure ("Unable to find a version discovery
    document"); the session wrapper raises EndpointUnreachable, a ConnectionError, instead."""
    conn = fake_sdk.sdk.connect({})
    conn.session.behaviour = fake_sdk.ksa.ConnectFailure("Connection refused")
    with pytest.raises(fake_sdk.sdk.EndpointUnreachable) as err:
        conn.session.request("http://127.0.0.1:9876/", "GET")
    assert fake_sdk.sdk.is_transient(err.value)
    assert str(fake_sdk.sdk.api_error(err.value, "list load balancers")) == (
        "Could not list load balancers: the API at http://127.0.0.1:9876/ could not be reached "
        "(Connection refused).")


def test_a_timeout_in_whole_seconds_reads_without_a_fraction(fake_sdk):
    """keystoneauth may hold the timeout as a float; 10.0 reads as "10 s", 2.5 as "2.5 s"."""
    conn = fake_sdk.sdk.connect({})
    conn.session.behaviour = fake_sdk.ksa.ConnectTimeout("timed out")
    for seconds, shown in ((10.0, "10"), (2.5, "2.5")):
        conn.session.timeout = seconds
        with pytest.raises(Exception) as err:
            conn.session.request("http://127.0.0.1:9876/", "GET")
        assert str(err.value) == f"the API at http://127.0.0.1:9876/ did not answer within {shown} s"


def test_other_session_errors_pass_unchanged(fake_sdk):
    conn = fake_sdk.sdk.connect({})
    conn.session.behaviour = fake_sdk.ksa.EndpointNotFound("none")
    with pytest.raises(fake_sdk.ksa.EndpointNotFound):
        conn.session.request("http://127.0.0.1:9876/", "GET")


def test_sdk_exception_classes(fake_sdk):
    sdk = fake_sdk.sdk
    assert sdk.HAS_OPENSTACKSDK is True
    assert sdk.is_not_found(fake_sdk.exc.NotFoundException("gone"))
    assert sdk.is_not_found(fake_sdk.exc.ResourceNotFound("gone"))
    assert sdk.is_connection_fault(fake_sdk.ksa.ConnectionError("refused"))
    assert not sdk.is_connection_fault(fake_sdk.ksa.ConnectTimeout("slow"))


@pytest.mark.parametrize("make, reason", [
    (lambda f: f.ksa.EndpointNotFound("no octavia"), "the service catalog has no matching endpoint (no octavia)"),
    (lambda f: f.exc.EndpointNotFound("none"), "the service catalog has no matching endpoint (none)"),
    (lambda f: f.exc.ConfigException("bad yaml"), "the cloud configuration is unusable (bad yaml)"),
])
def test_api_error_config(fake_sdk, make, reason):
    err = fake_sdk.sdk.api_error(make(fake_sdk), "list load balancers")
    assert str(err) == f"Could not list load balancers: {reason}."
    assert err.extra == {"status": None, "kind": "config"}


def test_api_error_keystoneauth_connection(fake_sdk):
    err = fake_sdk.sdk.api_error(fake_sdk.ksa.ConnectionError("Unable to establish connection"), "read x")
    assert str(err) == "Could not read x: the API endpoint could not be reached (Unable to establish connection)."
    assert err.extra["kind"] == "connection"


# --- with openstacksdk itself: the listener resource ---------------------------


def test_the_listener_resource_sends_and_reads_client_authentication():
    """Issue 14: openstacksdk 4.x's Listener has no client authentication attributes, so its own
    create and update leave them out of the request body without a word. ``_sdk.Listener`` is that
    class plus the three; this is the one unit test that imports openstacksdk, since what is under
    test is how the SDK's resource machinery serialises the subclass (no request is made)."""
    _forget_collection_modules()
    sdk = importlib.import_module(SDK)
    from openstack.load_balancer.v2 import listener as sdk_listener
    assert sdk.HAS_OPENSTACKSDK and issubclass(sdk.Listener, sdk_listener.Listener)
    attrs = dict(load_balancer_id="lb-1", protocol="PROMETHEUS", protocol_port=8088, default_tls_container_ref="c",
                 client_ca_tls_container_ref="ca", client_authentication="MANDATORY", client_crl_container_ref="crl")
    body = sdk.Listener.new(**attrs)._prepare_request(requires_id=False, prepend_key=True).body["listener"]
    assert {k: body.get(k) for k in ("client_ca_tls_container_ref", "client_authentication",
                                     "client_crl_container_ref", "loadbalancer_id")} == {
        "client_ca_tls_container_ref": "ca", "client_authentication": "MANDATORY",
        "client_crl_container_ref": "crl", "loadbalancer_id": "lb-1"}
    # The SDK's own class drops them: the reason for the subclass (fails once openstacksdk has them).
    plain = sdk_listener.Listener.new(**attrs)._prepare_request(requires_id=False, prepend_key=True).body
    assert "client_authentication" not in plain["listener"]
    # An update sends what changed, a cleared reference as null.
    update = sdk.Listener.existing(id="l-1", client_ca_tls_container_ref="ca")
    update._update(client_ca_tls_container_ref=None, client_authentication="NONE")
    assert update._prepare_request(prepend_key=True, patch=False).body == {
        "listener": {"client_ca_tls_container_ref": None, "client_authentication": "NONE"}}
    # A read keeps them, so to_plain() shows them.
    read = sdk.Listener.existing(id="l-1", client_authentication="OPTIONAL", client_ca_tls_container_ref="ca",
                                 client_crl_container_ref=None)
    plain_read = sdk.to_plain(read)
    assert (plain_read["client_authentication"], plain_read["client_ca_tls_container_ref"]) == ("OPTIONAL", "ca")
    assert "client_crl_container_ref" in plain_read
    _forget_collection_modules()
