# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Plumbing shared by every octavia.monitoring module and plugin.

Public surface (everything else is internal):

- ``AUTH_ARGUMENT_SPEC`` and ``auth_argument_spec(**extra)``: the openstack.cloud
  auth options (same names, aliases and meanings) plus ``wait`` and ``timeout``.
- ``connect(options)``: a plain function taking a dict of those options and
  returning an openstacksdk ``Connection``; usable from modules and from
  controller-side plugins (inventory, lookup).
- ``OctaviaError``: the one exception the collection's code raises on purpose;
  its text is a single readable sentence.
- ``api_error(exc, doing)``: turns an openstacksdk/keystoneauth exception into
  an ``OctaviaError`` that names the object and keeps Octavia's faultstring.
- ``is_not_found(exc)``, ``is_conflict(exc)``, ``http_status(exc)``,
  ``fault_text(exc)``: read an SDK exception without importing openstacksdk.
- ``to_plain(resource)``: an SDK resource as a plain dict of API attributes.
- ``OctaviaModule``: the base class of every module (see its docstring).
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

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.octavia.monitoring.plugins.module_utils._compare import PlanError


AUTH_ARGUMENT_SPEC = dict(
    cloud=dict(type="raw"),
    auth=dict(type="dict", no_log=True),
    auth_type=dict(type="str"),
    region_name=dict(type="str"),
    validate_certs=dict(type="bool", aliases=["verify"]),
    ca_cert=dict(type="str", aliases=["cacert"]),
    client_cert=dict(type="str", aliases=["cert"]),
    client_key=dict(type="str", no_log=True, aliases=["key"]),
    api_timeout=dict(type="int"),
    interface=dict(type="str", default="public", choices=["public", "internal", "admin"],
                   aliases=["endpoint_type"]),
    wait=dict(type="bool", default=True),
    timeout=dict(type="int", default=180),
)

# Option name -> openstack.connect() keyword. These are the names openstack.cloud
# passes on, so a task moved from openstack.cloud keeps its meaning.
_CONNECT_KEYWORDS = (
    ("auth", "auth"),
    ("auth_type", "auth_type"),
    ("region_name", "region_name"),
    ("validate_certs", "verify"),
    ("ca_cert", "cacert"),
    ("client_cert", "cert"),
    ("client_key", "key"),
    ("api_timeout", "api_timeout"),
    ("interface", "interface"),
)

APP_NAME = "octavia.monitoring"


class OctaviaError(Exception):
    """A failure worth telling the user about, as one readable sentence.

    ``extra`` holds additional result keys (for example ``candidates``) that a
    module adds to its ``fail_json`` result.
    """

    def __init__(self, message, **extra):
        super(OctaviaError, self).__init__(message)
        self.extra = extra


def auth_argument_spec(**extra):
    """Return a fresh argument spec: the auth options plus ``extra`` options.

    :param extra: module-specific options (name -> spec dict); they win over
        the auth options on a name clash.
    :returns: a new dict, safe to mutate.
    """
    spec = dict((k, dict(v)) for k, v in AUTH_ARGUMENT_SPEC.items())
    spec.update(extra)
    return spec


def connect(options):
    """Open an openstacksdk connection from a dict of the auth options.

    ``options`` uses the option names of ``AUTH_ARGUMENT_SPEC``; missing keys
    and ``None`` values are left to openstacksdk, so with no ``cloud`` the
    ``OS_*`` environment and ``OS_CLIENT_CONFIG_FILE`` (how AWX injects
    credentials) are honoured, and a clouds.yaml with a single cloud is used.
    ``cloud`` is a cloud name or a dict of connection settings; a dict cannot
    be combined with the other auth options (same rule as openstack.cloud).

    :returns: ``openstack.connection.Connection``.
    :raises OctaviaError: openstacksdk is missing, or the configuration is
        unusable (unknown cloud, bad combination of options).
    """
    if not HAS_OPENSTACKSDK:
        raise OctaviaError("The Python library openstacksdk is required but could not be imported "
                           "on the host that runs this task; install it (pip install openstacksdk).")
    cloud = options.get("cloud")
    kwargs = dict((kw, options.get(opt)) for opt, kw in _CONNECT_KEYWORDS
                  if options.get(opt) is not None)
    if isinstance(cloud, dict):
        clash = sorted(opt for opt, kw in _CONNECT_KEYWORDS
                       if opt != "interface" and options.get(opt) is not None)
        if clash:
            raise OctaviaError("The option cloud was given as a dict of connection settings, so it "
                               "cannot be combined with %s; put those settings into the dict."
                               % ", ".join(clash))
        kwargs = dict(cloud)
        kwargs.setdefault("interface", options.get("interface") or "public")
    elif cloud is not None:
        kwargs["cloud"] = str(cloud)
    if cloud is None:
        source = "the cloud from the OS_* environment or clouds.yaml"
    elif isinstance(cloud, dict):
        source = "the cloud given as a dict"
    else:
        source = "the cloud '%s'" % cloud
    try:
        return openstack.connect(app_name=APP_NAME, **kwargs)
    except Exception as exc:
        raise api_error(exc, "connect to %s" % source)


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


def is_conflict(exc):
    """True when ``exc`` is an HTTP 409 (Octavia: object busy or duplicate)."""
    return http_status(exc) == 409


def api_error(exc, doing):
    """Turn an SDK, keystoneauth or HTTP exception into one ``OctaviaError``.

    :param exc: the caught exception.
    :param doing: what was attempted, naming the object, as a verb phrase,
        e.g. ``"create listener 'prometheus' on load balancer 'web'"``.
    :returns: ``OctaviaError`` whose text is one sentence: the attempt, the
        HTTP status where there is one, and the server's faultstring.
    """
    if isinstance(exc, OctaviaError):
        return exc
    if isinstance(exc, PlanError):
        return OctaviaError(str(exc), **exc.extra)
    status = http_status(exc)
    reason = fault_text(exc)
    if ksa_exc is not None and isinstance(exc, ksa_exc.ConnectionError):
        reason = "the API endpoint could not be reached (%s)" % reason
    elif ((ksa_exc is not None and isinstance(exc, ksa_exc.EndpointNotFound))
          or (HAS_OPENSTACKSDK and isinstance(exc, sdk_exc.EndpointNotFound))):
        reason = "the service catalog has no matching endpoint (%s)" % reason
    elif HAS_OPENSTACKSDK and isinstance(exc, sdk_exc.ConfigException):
        reason = "the cloud configuration is unusable (%s)" % reason
    if status:
        message = "Could not %s: the API answered HTTP %s: %s." % (doing, status, reason)
    else:
        message = "Could not %s: %s." % (doing, reason)
    return OctaviaError(message, status=status)


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


class OctaviaModule(object):
    """Base class of every octavia.monitoring module.

    Subclasses set class attributes and implement ``run()``:

    - ``argument_spec``: module options; the auth options are added.
    - ``module_kwargs``: extra ``AnsibleModule`` keywords (``required_if``...).
    - ``run()``: returns the result dict (without ``changed`` it is False);
      raises ``OctaviaError`` (or ``_compare.PlanError``) to fail.

    ``main()`` of a module is ``ListenerModule().execute()``. The connection
    opens on first use of ``self.conn`` (validation runs before any call) and
    is closed afterwards. ``converge()`` turns a plan from ``_compare`` into
    the result, applying it only outside check mode, so check mode and the
    real run report the same ``changed`` and ``diff``.
    """

    argument_spec = {}
    module_kwargs = {}

    def __init__(self):
        self.ansible = AnsibleModule(argument_spec=auth_argument_spec(**self.argument_spec),
                                     supports_check_mode=True, **self.module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self._conn = None

    @property
    def conn(self):
        """The openstacksdk connection, opened on first use."""
        if self._conn is None:
            self._conn = connect(self.params)
        return self._conn

    def warn(self, message):
        """Emit a task warning."""
        self.ansible.warn(message)

    def run(self):
        """Do the module's work; return the result dict. Subclasses implement it."""
        raise NotImplementedError

    def converge(self, plan, apply):
        """Report and, outside check mode, carry out a plan.

        :param plan: dict with ``changed`` (bool) and ``diff``
            (``{"before": ..., "after": ...}``), as built by ``_compare``.
        :param apply: callable taking ``plan`` and returning a dict of result
            keys; called only when ``plan["changed"]`` and not in check mode.
        :returns: the result dict: ``changed``, ``diff`` and ``apply``'s keys.
        """
        result = dict(changed=bool(plan["changed"]), diff=plan["diff"])
        if plan["changed"] and not self.check_mode:
            result.update(apply(plan))
        return result

    def execute(self):
        """Run the module and exit with its result or a readable failure."""
        if not HAS_OPENSTACKSDK:
            self.ansible.fail_json(msg=missing_required_lib("openstacksdk"),
                                   exception=OPENSTACKSDK_IMPORT_ERROR)
        try:
            result = self.run() or {}
        except (OctaviaError, PlanError) as exc:
            extra = dict((k, v) for k, v in exc.extra.items() if v is not None)
            self._close()
            self.ansible.fail_json(msg=str(exc), **extra)
        except Exception as exc:
            # The last resort still names what failed instead of a bare traceback.
            self._close()
            self.ansible.fail_json(msg=str(api_error(exc, "complete the task")),
                                   exception=traceback.format_exc())
        self._close()
        result.setdefault("changed", False)
        self.ansible.exit_json(**result)

    def _close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None
