# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""openstacksdk plumbing: the connection, reading SDK exceptions, one sentence per fault.

Imports openstacksdk (when present) but not Ansible, so controller plugins,
modules and the exporter service share it. Public surface:

- ``DEFAULT_API_TIMEOUT``: seconds one API request may take when ``api_timeout`` is not set.
- ``connect(options)``: an openstacksdk ``Connection`` from a dict of those options.
- ``api_error(exc, doing)``: any SDK, keystoneauth or HTTP exception as one ``OctaviaError``.
- ``http_status``, ``fault_text``, ``is_not_found``, ``is_transient``: read an SDK exception.
- ``to_plain(resource)``: an SDK resource as a plain dict of its API attributes.
- ``Listener``: openstacksdk's listener resource with the client authentication attributes
  it lacks (``None`` without openstacksdk).
"""

import traceback

try:
    import openstack
    from openstack import exceptions as sdk_exc
    HAS_OPENSTACKSDK = True
    OPENSTACKSDK_IMPORT_ERROR = None
except ImportError:
    HAS_OPENSTACKSDK = False
    OPENSTACKSDK_IMPORT_ERROR = traceback.format_exc()

try:
    from keystoneauth1 import exceptions as ksa_exc
except ImportError:
    ksa_exc = None

try:
    from requests import exceptions as requests_exc
except ImportError:
    requests_exc = None

from ansible_collections.octavia.monitoring.plugins.module_utils._auth import AUTH_OPTIONS
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError, PlanError


def _listener_class():
    """openstacksdk's listener resource plus what it lacks, or ``None`` without openstacksdk."""
    if not HAS_OPENSTACKSDK:
        return None
    try:
        from openstack import resource as sdk_resource
        from openstack.load_balancer.v2 import listener as sdk_listener
    except ImportError:
        return None

    class Listener(sdk_listener.Listener):
        """openstacksdk's listener, plus the client authentication attributes it lacks.

        openstacksdk 4.x's ``Listener`` declares no ``client_ca_tls_container_ref``,
        ``client_authentication`` or ``client_crl_container_ref``, so its proxy's
        ``create_listener``/``update_listener`` leave them out of the request without a word
        and its reads leave them out of the resource. Octavia (API v2.8 and later) takes and
        shows all three; ``_octavia`` makes every listener request with this class.
        """

        client_ca_tls_container_ref = sdk_resource.Body("client_ca_tls_container_ref")
        client_authentication = sdk_resource.Body("client_authentication")
        client_crl_container_ref = sdk_resource.Body("client_crl_container_ref")

    return Listener


Listener = _listener_class()

APP_NAME = "octavia.monitoring"
# openstacksdk waits forever by default. An endpoint that accepts connections
# and never answers then hangs an AWX inventory update (whose own timeout
# defaults to 0, none) and the job; a finite default makes it an error.
DEFAULT_API_TIMEOUT = 30

# Answers worth another try within the deadline: the API (or a proxy in front
# of it) was momentarily unable to serve.
TRANSIENT_STATUSES = (500, 502, 503, 504)


def describe_source(cloud):
    """Name the cloud a connection is made to, for messages."""
    if cloud is None:
        return "the cloud from the OS_* environment or clouds.yaml"
    if isinstance(cloud, dict):
        return "the cloud given as a dict"
    return f"the cloud '{cloud}'"


def connect(options):
    """Open an openstacksdk connection from a dict of the auth options.

    ``options`` uses the option names of ``AUTH_OPTIONS`` plus ``cloud``;
    missing keys and ``None`` values are left to openstacksdk, so with no
    ``cloud`` the ``OS_*`` environment and ``OS_CLIENT_CONFIG_FILE`` (how AWX
    injects credentials) are honoured. ``cloud`` is a cloud name or a dict of
    connection settings; a dict cannot be combined with the other auth options
    (the rule of openstack.cloud). Without ``api_timeout`` in the options or
    the cloud's configuration, ``DEFAULT_API_TIMEOUT`` applies.

    :returns: ``openstack.connection.Connection`` whose requests fail with an
        ``OctaviaError`` naming the URL and the timeout when they time out.
    :raises OctaviaError: openstacksdk is missing, or the configuration is
        unusable (unknown cloud, bad combination of options).
    """
    if not HAS_OPENSTACKSDK:
        raise OctaviaError("The Python library openstacksdk is required but could not be imported "
                           "on the host that runs this task; install it (pip install openstacksdk).")
    cloud = options.get("cloud")
    kwargs = {kw: options[opt] for opt, kw in AUTH_OPTIONS if options.get(opt) is not None}
    if isinstance(cloud, dict):
        clash = sorted(opt for opt, _kw in AUTH_OPTIONS
                       if opt != "interface" and options.get(opt) is not None)
        if clash:
            raise OctaviaError("The option cloud was given as a dict of connection settings, so it "
                               f"cannot be combined with {', '.join(clash)}; put those settings into "
                               "the dict.")
        kwargs = dict(cloud)
        kwargs.setdefault("interface", options.get("interface") or "public")
    elif cloud is not None:
        kwargs["cloud"] = str(cloud)
    try:
        conn = openstack.connect(app_name=APP_NAME, **kwargs)
    except Exception as exc:
        raise api_error(exc, f"connect to {describe_source(cloud)}") from None
    if conn.config.config.get("api_timeout") is None:
        conn.config.config["api_timeout"] = DEFAULT_API_TIMEOUT
        conn.session.timeout = DEFAULT_API_TIMEOUT
    _name_timeouts(conn.session)
    return conn


class EndpointUnreachable(ConnectionError):
    """A request that got no answer at all: the connection was refused or reset."""

    def __init__(self, url, cause):
        super().__init__(f"the API at {url} could not be reached ({_strip(cause)})")
        self.url = url


def _name_timeouts(session):
    """Make a timed-out or refused request fail as such, whatever catches it on the way.

    keystoneauth turns a request timeout into ``ConnectTimeout`` and a refused
    connection into ``ConnectFailure``, which its version discovery then
    swallows: the user would read "Unable to find a version discovery
    document". Raising our own errors here, from the one place every request
    passes, keeps the cause.
    """
    if ksa_exc is None or getattr(session, "_octavia_timeouts_named", False):
        return
    original = session.request

    def request(url, method, *args, **kwargs):
        try:
            return original(url, method, *args, **kwargs)
        except ksa_exc.ConnectTimeout as exc:
            seconds = session.timeout
            if isinstance(seconds, float) and seconds.is_integer():
                seconds = int(seconds)
            raise OctaviaError(f"the API at {url} did not answer within {seconds} s",
                               kind="timeout") from exc
        except ksa_exc.ConnectFailure as exc:
            # Refused or reset: still a connection fault (retried by writes), but one
            # that discovery cannot turn into "no version discovery document".
            raise EndpointUnreachable(url, exc) from exc

    session.request = request
    session._octavia_timeouts_named = True


def _strip(text):
    return " ".join(str(text).split()).rstrip(" .")


def http_status(exc):
    """Return the HTTP status code carried by ``exc``, or ``None``."""
    for attr in ("status_code", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def fault_text(exc):
    """Return the server's own explanation inside ``exc`` (Octavia's faultstring).

    Octavia answers errors with ``{"faultcode", "faultstring", "debuginfo"}``;
    openstacksdk copies the faultstring into ``details``. The response body is
    read as a fallback for exceptions raised elsewhere (keystoneauth).
    """
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            body = response.json()
        except Exception:
            body = None
        if isinstance(body, dict):
            for key in ("faultstring", "message", "error"):
                value = body.get(key)
                if isinstance(value, dict):
                    value = value.get("message")
                if value:
                    return _strip(value)
    details = getattr(exc, "details", None)
    if details:
        return _strip(details)
    message = getattr(exc, "message", None) or str(exc)
    return _strip(message) if message else exc.__class__.__name__


def is_not_found(exc):
    """True when ``exc`` says the object does not exist (HTTP 404)."""
    if HAS_OPENSTACKSDK and isinstance(exc, (sdk_exc.NotFoundException, sdk_exc.ResourceNotFound)):
        return True
    return http_status(exc) == 404


def is_connection_fault(exc):
    """True when the request never got an HTTP answer (refused, reset, broken pipe).

    openstacksdk's HTTP errors derive from requests' exceptions, and so from
    ``OSError``: an exception that carries an HTTP status had an answer.
    """
    if isinstance(exc, OctaviaError) or http_status(exc) is not None:
        return False
    if ksa_exc is not None and isinstance(exc, ksa_exc.ConnectTimeout):
        return False
    if ksa_exc is not None and isinstance(exc, ksa_exc.ConnectionError):
        return True
    if requests_exc is not None and isinstance(exc, requests_exc.ConnectionError):
        return True
    return isinstance(exc, ConnectionError)


def is_transient(exc):
    """True for a fault worth retrying: no answer at all, or HTTP 500/502/503/504."""
    return is_connection_fault(exc) or http_status(exc) in TRANSIENT_STATUSES


def api_error(exc, doing):
    """Turn an SDK, keystoneauth or HTTP exception into one ``OctaviaError``.

    :param exc: the caught exception.
    :param doing: what was attempted, naming the object, as a verb phrase,
        e.g. ``"create listener 'prometheus' on load balancer 'web'"``.
    :returns: ``OctaviaError`` whose text is one sentence: the attempt, the
        HTTP status where there is one, and the server's faultstring;
        ``extra`` has ``status`` and ``kind`` (``http``, ``timeout``,
        ``connection``, ``config`` or ``other``).
    """
    if isinstance(exc, PlanError):
        return exc
    if isinstance(exc, OctaviaError):
        if exc.extra.get("kind") == "timeout" and not str(exc).startswith("Could not"):
            return OctaviaError(f"Could not {doing}: {exc}.", **exc.extra)
        return exc
    status = http_status(exc)
    reason = fault_text(exc)
    kind = "http" if status else "other"
    if isinstance(exc, EndpointUnreachable):
        reason, kind = str(exc), "connection"
    elif is_connection_fault(exc):
        reason, kind = f"the API endpoint could not be reached ({reason})", "connection"
    elif ((ksa_exc is not None and isinstance(exc, ksa_exc.EndpointNotFound))
          or (HAS_OPENSTACKSDK and isinstance(exc, sdk_exc.EndpointNotFound))):
        reason, kind = f"the service catalog has no matching endpoint ({reason})", "config"
    elif HAS_OPENSTACKSDK and isinstance(exc, sdk_exc.ConfigException):
        reason, kind = f"the cloud configuration is unusable ({reason})", "config"
    if status:
        return OctaviaError(f"Could not {doing}: the API answered HTTP {status}: {reason}.",
                            status=status, kind=kind)
    return OctaviaError(f"Could not {doing}: {reason}.", status=None, kind=kind)


def to_plain(resource):
    """Return an SDK resource (or dict) as a plain dict of its API attributes.

    ``location`` and other client-side computed attributes are dropped, so the
    result is what the API stores and safe to return from a module.
    """
    if resource is None:
        return None
    # openstacksdk resources are dict subclasses too, so test for to_dict first.
    if not hasattr(resource, "to_dict"):
        return dict(resource)
    data = resource.to_dict(computed=False)
    data.pop("location", None)
    return data
