# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The PROMETHEUS listener's validation, plan and prediction. Pure: plain dicts in and out.

Everything Octavia would refuse and that can be known beforehand is checked
here, before any write, so check mode predicts it. A plan is a list of steps
in the order they are carried out; a replacement creates the new listener
before it deletes the old one, so a refused create never loses a listener.
"""

import ipaddress
import re

from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._select import (
    prometheus_listeners,
    unsupported_provider_message,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._targets import uses_tls, vip_addresses

OPEN_NETWORKS = ("0.0.0.0/0", "::/0")
# Octavia added the PROMETHEUS protocol with API version 2.25, in its Xena
# release (9.0.0, October 2021); the API has no per-request microversions, so
# the versions list at GET / is the only way to tell.
PROMETHEUS_MIN_VERSION = (2, 25)
PROMETHEUS_RELEASE = "Octavia 9.0.0 (OpenStack Xena, October 2021)"
# Listener protocols whose ports share the TCP space of a PROMETHEUS
# listener on the same load balancer (Octavia's L4_PROTOCOL_MAP).
TCP_BASED_PROTOCOLS = ("TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "PROXY", "PROXYV2",
                       "PROMETHEUS")
# Octavia's own limits (octavia/api/v2/types/listener.py, octavia/common/constants.py).
MAX_TEXT = 255
MAX_TIMEOUT_MS = 31536000000
TIMEOUT_KEYS = ("timeout_client_data", "timeout_member_connect", "timeout_member_data",
                "timeout_tcp_inspect")

# TLS on /metrics (Octavia API v2.25+ takes them on a PROMETHEUS listener);
# every one of them can be updated in place.
TLS_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
ALPN_PROTOCOLS = ("h2", "http/1.1", "http/1.0")
CLIENT_AUTH_MODES = ("NONE", "OPTIONAL", "MANDATORY")
TLS_REF_KEYS = ("default_tls_container_ref", "client_ca_tls_container_ref", "client_crl_container_ref")
TLS_KEYS = ("default_tls_container_ref", "sni_container_refs", "client_ca_tls_container_ref",
            "client_authentication", "client_crl_container_ref", "tls_versions", "tls_ciphers",
            "alpn_protocols")

# Everything the module manages, in diff order. protocol_port cannot be
# updated by Octavia, so changing it replaces the listener.
LISTENER_KEYS = ("name", "protocol_port", "allowed_cidrs", "description", "is_admin_state_up",
                 "connection_limit", "tags") + TIMEOUT_KEYS + TLS_KEYS
IMMUTABLE_KEYS = ("protocol_port",)
# The optional listener settings both listener modules take, documented once in the
# octavia.monitoring._listener doc fragment.
LISTENER_SETTINGS_SPEC = dict(
    description=dict(type="str"),
    is_admin_state_up=dict(type="bool", aliases=["admin_state_up"]),
    connection_limit=dict(type="int"),
    tags=dict(type="list", elements="str"),
    **{key: dict(type="int") for key in TIMEOUT_KEYS},
    default_tls_container_ref=dict(type="str"),
    sni_container_refs=dict(type="list", elements="str"),
    client_ca_tls_container_ref=dict(type="str"),
    client_authentication=dict(type="str", choices=list(CLIENT_AUTH_MODES)),
    client_crl_container_ref=dict(type="str"),
    tls_versions=dict(type="list", elements="str", choices=list(TLS_VERSIONS)),
    tls_ciphers=dict(type="str"),
    alpn_protocols=dict(type="list", elements="str", choices=list(ALPN_PROTOCOLS)),
)
# The options that say which listener and what it must be, shared by both listener modules.
LISTENER_SPEC = dict(
    name=dict(type="str", default="prometheus"),
    protocol_port=dict(type="int", default=8088, aliases=["port"]),
    allowed_cidrs=dict(type="list", elements="str"),
    **LISTENER_SETTINGS_SPEC,
    state=dict(type="str", default="present", choices=["present", "absent"]),
    allowed_cidrs_unenforced=dict(type="str", default="warn", choices=["warn", "fail"]),
)


def desired(params, keys):
    """Return ``{key: params[key]}`` for the keys whose value is not ``None``.

    An option the task does not set is ``None`` and must leave the object's
    value alone, so it is not part of what is wanted.
    """
    return {k: params[k] for k in keys if params.get(k) is not None}


# ---------------------------------------------------------------------------
# Validation (all of it runs before any write, in check mode too)
# ---------------------------------------------------------------------------

def normalise_cidrs(values):
    """Return ``(networks, widened)`` for a list of CIDRs.

    ``networks`` is a sorted list of unique canonical networks; ``widened``
    lists ``(given, network)`` for entries with host bits set, which Octavia
    (and this function) widen to their network: ``10.0.0.1/8`` allows all of
    ``10.0.0.0/8``.

    :raises PlanError: naming every entry that is not a CIDR.
    """
    nets, bad, widened = set(), [], []
    for value in values:
        text = str(value).strip()
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            bad.append(text)
            continue
        if "/" in text and str(net) != text and ipaddress.ip_interface(text).ip != net.network_address:
            widened.append((text, str(net)))
        nets.add(net)
    if bad:
        verb = "is" if len(bad) == 1 else "are"
        raise PlanError(f"allowed_cidrs has {', '.join(repr(b) for b in bad)} that {verb} not valid "
                        "CIDR notation (expected e.g. 192.0.2.0/24 or 2001:db8::/64).")
    return [str(n) for n in sorted(nets, key=lambda n: (n.version, n))], widened


def check_text(key, value):
    """Fail when a name, description or tag would be refused or mangled by Octavia.

    Octavia takes at most 255 characters, and its database stores 3-byte
    UTF-8, so a character outside the Basic Multilingual Plane (an emoji) is
    refused, with a misleading message about the protocol.
    """
    if value is None:
        return
    if len(value) > MAX_TEXT:
        raise PlanError(f"{key} is {len(value)} characters long; Octavia takes at most {MAX_TEXT}.")
    wide = sorted({ch for ch in value if ord(ch) > 0xFFFF})
    if wide:
        raise PlanError(f"{key} contains {', '.join(f'U+{ord(ch):X}' for ch in wide)}, which Octavia "
                        "cannot store (characters outside the Basic Multilingual Plane, such as "
                        "emoji); remove them.")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", value):
        raise PlanError(f"{key} contains control characters; remove them.")


def check_listener_options(params):
    """Validate the listener options before anything else runs.

    :param params: the module parameters (``LISTENER_SPEC`` keys).
    :returns: ``(allowed_cidrs, warnings)``: the normalised CIDR list (or
        ``None`` for state=absent) and warning texts.
    :raises PlanError: on the first invalid option.
    """
    if not params.get("name"):
        raise PlanError("name must not be empty: it is how the listener is found again.")
    check_text("name", params["name"])
    if params["state"] == "absent":
        return None, []
    port = params["protocol_port"]
    if port is None or not 1 <= int(port) <= 65535:
        raise PlanError(f"protocol_port {port} is outside the TCP port range 1-65535.")
    check_text("description", params.get("description"))
    check_tls_options(params)
    for tag in params.get("tags") or []:
        check_text(f"The tag '{tag[:40]}'", tag)
    if params.get("connection_limit") is not None and params["connection_limit"] < -1:
        raise PlanError("connection_limit must be -1 (unlimited) or a positive number, not "
                        f"{params['connection_limit']}.")
    for key in TIMEOUT_KEYS:
        if params.get(key) is not None and not 0 <= params[key] <= MAX_TIMEOUT_MS:
            raise PlanError(f"{key} must be between 0 and {MAX_TIMEOUT_MS} milliseconds, not "
                            f"{params[key]}.")
    if params.get("allowed_cidrs") is None:
        raise PlanError(
            "allowed_cidrs is required with state=present: without it Octavia serves /metrics "
            "to every address that reaches the VIP, which is the whole internet once a floating "
            "IP is attached; list your Prometheus servers' networks, or give 0.0.0.0/0 "
            "explicitly to allow everyone.")
    cidrs, widened = normalise_cidrs(params["allowed_cidrs"])
    if not cidrs:
        raise PlanError("allowed_cidrs is empty; Octavia treats an empty list as 'allow "
                        "everyone', so list your Prometheus servers' networks, or give "
                        "0.0.0.0/0 explicitly to allow everyone.")
    warnings = [f"allowed_cidrs entry {given} has host bits set, so it allows the whole network "
                f"{net}; write {net} (or the host as a /32 or /128) to say what you mean."
                for given, net in widened]
    wide = [c for c in cidrs if c in OPEN_NETWORKS]
    if wide:
        warnings.append(f"allowed_cidrs contains {' and '.join(wide)}, so /metrics of this load "
                        "balancer is open to every address that can reach its VIP.")
    return cidrs, warnings


def check_tls_options(params):
    """Fail on TLS option values that Octavia refuses, or that it would not keep as given.

    Octavia refuses an empty ``tls_versions`` or ``alpn_protocols`` list, and
    replaces a cleared ``tls_ciphers`` (``null`` in an update) with the
    cloud's default cipher string, so a task that clears it would change the
    listener on every run.

    :raises PlanError: naming the option and what to give instead.
    """
    for key in ("tls_versions", "alpn_protocols"):
        if params.get(key) == []:
            raise PlanError(f"{key} is an empty list, which Octavia refuses; list at least one, or "
                            "leave the option out to keep the listener's current setting.")
    if params.get("tls_ciphers") is not None and not params["tls_ciphers"].strip():
        raise PlanError("tls_ciphers is empty; Octavia cannot clear it (it puts the cloud's default "
                        "cipher string in its place), so give an OpenSSL cipher string, or leave the "
                        "option out to keep the listener's current ciphers.")
    for key in TLS_REF_KEYS:
        check_text(key, params.get(key))
    for ref in params.get("sni_container_refs") or []:
        if not ref:
            raise PlanError("sni_container_refs has an empty entry; give each certificate's reference, "
                            "or an empty list for none.")
        check_text("sni_container_refs", ref)


def check_cidr_family(cidrs, lb):
    """Fail when a CIDR's IP version matches none of the load balancer's VIPs (Octavia's rule)."""
    addresses = vip_addresses(lb)
    families = {ipaddress.ip_address(a).version for a in addresses}
    if not families:
        return
    wrong = [c for c in cidrs if ipaddress.ip_network(c).version not in families]
    if wrong:
        verb = "is" if len(wrong) == 1 else "are"
        have = "/IPv".join(str(f) for f in sorted(families))
        raise PlanError(
            f"allowed_cidrs {', '.join(wrong)} {verb} IPv{ipaddress.ip_network(wrong[0]).version} but "
            f"load balancer '{lb.get('name') or lb.get('id')}' has only IPv{have} VIPs "
            f"({', '.join(addresses)}); a listener can only filter the IP version it receives.")


def parse_version(text):
    """Return ``"v2.25"`` as ``(2, 25)``; ``None`` for anything else."""
    match = re.match(r"^v?(\d+)\.(\d+)$", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_api_versions(versions):
    """Fail unless the Octavia API offers PROMETHEUS listeners (v2.25 or later).

    :param versions: the ``versions`` list of ``GET /`` on the Octavia endpoint.
    :returns: the highest version found as a string, e.g. ``"v2.30"``.
    :raises PlanError: naming the release that added PROMETHEUS.
    """
    found = [parse_version(v.get("id")) for v in versions or []
             if v.get("status", "").upper() in ("CURRENT", "SUPPORTED")]
    found = [v for v in found if v]
    need = "v%d.%d" % PROMETHEUS_MIN_VERSION
    if not found:
        raise PlanError("The Octavia endpoint did not list any API version at GET /, so it is not "
                        f"possible to tell whether it offers PROMETHEUS listeners (API {need} or "
                        f"later, added in {PROMETHEUS_RELEASE}).")
    newest = max(found)
    if newest < PROMETHEUS_MIN_VERSION:
        raise PlanError(f"This Octavia API is at v{newest[0]}.{newest[1]}, but PROMETHEUS listeners "
                        f"need API {need}, added in {PROMETHEUS_RELEASE}; upgrade Octavia, or use "
                        "octavia.monitoring.lb_stats_info to read statistics through the API.")
    return f"v{newest[0]}.{newest[1]}"


def port_conflict(listeners, port, own_ids=()):
    """Return the listener (other than ``own_ids``) already using ``port`` over TCP, or ``None``."""
    for item in listeners:
        if (item.get("id") not in own_ids and item.get("protocol_port") == port
                and item.get("protocol") in TCP_BASED_PROTOCOLS):
            return item
    return None


def check_port_free(listeners, port, lb, own_ids=()):
    """Fail when another listener of the load balancer already uses ``port`` over TCP."""
    other = port_conflict(listeners, port, own_ids)
    if other:
        raise PlanError(f"Port {port} on load balancer '{lb.get('name') or lb.get('id')}' is already "
                        f"used by the {other.get('protocol')} listener '{other.get('name') or ''}' "
                        f"({other['id']}); choose another protocol_port.")


def unenforced_cidrs_reason(lb, port_security=None):
    """Why ``allowed_cidrs`` cannot take effect on this load balancer, or ``None``.

    Octavia enforces ``allowed_cidrs`` with the security group it manages on
    the VIP port. A load balancer created with ``vip_sg_ids`` keeps the user's
    security groups instead, and Octavia adds no listener rule (its
    add_vip_sg_ids_amphora_driver release note); a VIP port without port
    security filters nothing at all.

    :param port_security: the VIP port's ``port_security_enabled`` where the
        network API could tell, else ``None`` (not known).
    """
    name = lb.get("name") or lb.get("id")
    if lb.get("vip_sg_ids"):
        return (f"Load balancer '{name}' uses vip_sg_ids, so Octavia leaves its VIP's security "
                "groups to you and does not enforce allowed_cidrs (Octavia 19 refuses them on its "
                "listeners); its listener goes without them, and /metrics is open to whatever those "
                "groups allow: add a rule for the Prometheus servers to them.")
    if port_security is False:
        return (f"The VIP port of load balancer '{name}' has port security disabled, so nothing "
                "enforces allowed_cidrs and /metrics is open to every address that reaches the VIP.")
    return None


def new_listeners(plan):
    """The most listeners a plan adds at any moment (what counts against the quota)."""
    peak = extra = 0
    for step in plan["steps"]:
        extra += 1 if step["op"] == "create" else -1 if step["op"] == "delete" else 0
        peak = max(peak, extra)
    return peak


def allot_quota(needs, limits, usage):
    """Give each load balancer that needs new listeners its share of its project's quota.

    :param needs: list of ``(key, project_id, count)`` in the order to serve them.
    :param limits: project ID -> listener quota (``-1`` unlimited; a project
        missing here is not checked).
    :param usage: project ID -> listeners the project has now.
    :returns: dict key -> sentence for each load balancer that would exceed
        its project's quota; they must be skipped before any write.
    """
    free = {p: (None if limit == -1 else limit - usage.get(p, 0)) for p, limit in limits.items()}
    refused = {}
    for key, project, count in needs:
        if project not in free or free[project] is None or count == 0:
            continue
        if count <= free[project]:
            free[project] -= count
            continue
        in_use = limits[project] - free[project]
        refused[key] = (f"Project {project} is at its listener quota: the limit is {limits[project]} "
                        f"and {in_use} listeners exist or are being made by this run, so there is no "
                        "room for this load balancer's PROMETHEUS listener; it was skipped before any "
                        "write. Raise the project's listener quota, or free listeners.")
    return refused


# ---------------------------------------------------------------------------
# Octavia's answers, in the collection's words
# ---------------------------------------------------------------------------

def disabled_protocol_message():
    """The sentence for a deployment whose operator turned PROMETHEUS listeners off."""
    return ("The operator of this cloud has disabled PROMETHEUS listeners "
            "(octavia.conf [api_settings] allow_prometheus_listeners = False), so none can be "
            "created; ask them to enable it, or use octavia.monitoring.lb_stats_info to read "
            "statistics through the Octavia API.")


def disabled_tls_message():
    """The sentence for a deployment whose operator turned TLS-terminated listeners off."""
    return ("The operator of this cloud has disabled TLS-terminated listeners "
            "(octavia.conf [api_settings] allow_tls_terminated_listeners = False), so a PROMETHEUS "
            "listener cannot serve /metrics over TLS here; leave default_tls_container_ref and "
            "sni_container_refs out, or ask the operator to enable it.")


def listener_fault_translator(lb):
    """The ``translate`` hook of ``_octavia.write()`` for a PROMETHEUS listener write on ``lb``.

    :returns: a function ``(status, faultstring) -> sentence or None`` that puts the API's answers
        for a disabled protocol, disabled TLS and an unsupported provider (HTTP 501) in the
        collection's words;
        ``None`` keeps the API's own message.
    """
    def clearer(status, fault):
        fault = fault or ""
        if status == 400 and "not allowed in this deployment" in fault and "PROMETHEUS with TLS" in fault:
            return disabled_tls_message()
        if status == 400 and "not allowed in this deployment" in fault and "PROMETHEUS" in fault:
            return disabled_protocol_message()
        if status == 501 and "does not support" in fault:
            return unsupported_provider_message(lb, fault)
        return None
    return clearer


# ---------------------------------------------------------------------------
# Identify, compare and plan
# ---------------------------------------------------------------------------

# Compared as sets: Octavia keeps neither the order nor duplicates of the first three, and
# the TLS versions a listener accepts are a set whatever order they are stored in.
# alpn_protocols is not one: Octavia keeps its order, and HAProxy offers them in it.
SET_KEYS = ("allowed_cidrs", "tags", "sni_container_refs", "tls_versions")


def check_tls_settings(after, want):
    """Fail when the TLS settings a listener would end up with are ones Octavia refuses.

    Octavia's own rules (octavia/api/v2/controllers/listener.py), checked on
    the listener as it would be after the run, so check mode predicts them.

    :param after: the listener's managed settings after the plan (comparable form).
    :param want: what the task sets; a TLS-only setting is refused only when
        the task gives it (Octavia reports default ``tls_versions`` on every
        listener).
    :raises PlanError: naming the setting and what it needs.
    """
    certificate = uses_tls(after)
    client_ca = after.get("client_ca_tls_container_ref")
    mode = after.get("client_authentication") or "NONE"
    if client_ca and not certificate:
        raise PlanError("client_ca_tls_container_ref needs a certificate to go with it: give "
                        "default_tls_container_ref (or sni_container_refs) too.")
    if mode != "NONE" and not client_ca:
        raise PlanError(f"client_authentication {mode} needs client_ca_tls_container_ref, the CA "
                        "that signs the certificates of the Prometheus servers.")
    if after.get("client_crl_container_ref") and not client_ca:
        raise PlanError("client_crl_container_ref needs client_ca_tls_container_ref: a revocation "
                        "list belongs to a client CA.")
    if not certificate:
        for key in ("tls_versions", "tls_ciphers", "alpn_protocols"):
            if want.get(key):
                raise PlanError(f"{key} applies only to a listener that serves TLS: give "
                                "default_tls_container_ref (or sni_container_refs) too.")


# Octavia's TLS versions before 1.3 (octavia.common.constants.TLS_PRE_1_3_VERSIONS).
TLS_PRE_1_3 = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2")


def check_renderable(after):
    """Fail when Octavia's amphora driver could not render the HAProxy configuration of ``after``.

    Octavia 19's ``jinja_cfg._transform_listener`` treats every PROMETHEUS
    listener as TLS-capable: it splits ``tls_ciphers`` into pre-1.3 and 1.3
    ciphers, then drops the half that ``tls_versions`` leaves out. With
    ``tls_ciphers`` null (what a PROMETHEUS listener gets unless it is given;
    Octavia sets no default for it) there is nothing to drop, and the driver
    fails with a KeyError when ``tls_versions`` lacks TLS 1.3 or lacks every
    older version. Every listener of the load balancer then goes without a
    configuration (seen in the lab, whose amphorae render with that code).

    :param after: the listener's managed settings after a plan that writes.
    :raises PlanError: naming the settings and the ways out.
    """
    versions = after.get("tls_versions")
    if versions is None or after.get("tls_ciphers"):
        return
    missing = []
    if not any(v in TLS_PRE_1_3 for v in versions):
        missing.append("a version before TLSv1.3")
    if "TLSv1.3" not in versions:
        missing.append("TLSv1.3")
    if missing:
        raise PlanError(
            f"tls_versions {', '.join(versions) or '[]'} without tls_ciphers would leave the load "
            "balancer without a working configuration: Octavia's amphora driver cannot render the "
            f"listener when tls_versions lacks {' or '.join(missing)} and no cipher string is set; give "
            "tls_ciphers as well, or list both TLSv1.3 and an older version in tls_versions.")


def select_listener(listeners, name, port=None, adopt=True):
    """Find the load balancer's PROMETHEUS listener the modules manage, and any leftovers.

    Identity is protocol PROMETHEUS plus ``name``. When no listener has that
    name and ``adopt`` is true, a single PROMETHEUS listener under another
    name is adopted (and renamed) rather than duplicated. Two listeners with
    the name are what an interrupted replacement leaves (the new one on the
    wanted ``port``, the old one on another): the one on ``port`` is the
    listener, the others are leftovers to delete once it is ACTIVE.

    :param listeners: all listener dicts of one load balancer.
    :param port: the wanted ``protocol_port`` (``None`` with state=absent).
    :returns: ``(listener or None, leftovers)``.
    :raises PlanError: several listeners carry the name and none, or more
        than one, is on the wanted port.
    """
    proms = prometheus_listeners(listeners)
    named = [item for item in proms if item.get("name") == name]
    if len(named) > 1:
        if port is None:
            return named[0], named[1:]
        on_port = [item for item in named if item.get("protocol_port") == port]
        if len(on_port) == 1:
            return on_port[0], [item for item in named if item is not on_port[0]]
        ids = sorted(i["id"] for i in named)
        raise PlanError(
            f"{len(named)} PROMETHEUS listeners on this load balancer are named '{name}' (IDs "
            f"{', '.join(ids)}); rename or delete all but one.",
            candidates=[dict(id=i, name=name) for i in ids])
    if named:
        return named[0], []
    if adopt and len(proms) == 1:
        return proms[0], []
    return None, []


def comparable(key, value):
    """Return ``value`` in the form used to compare and to show it in a diff.

    A TLS reference given as the empty string means "none" (Octavia shows
    ``null``), which is how a task removes it. ``tls_versions`` and
    ``alpn_protocols`` stay ``null`` where Octavia shows that (a PROMETHEUS
    listener created without them: HAProxy's defaults apply), which differs
    from any list.
    """
    if key == "allowed_cidrs":
        return normalise_cidrs(value or [])[0]
    if key in ("tls_versions", "alpn_protocols") and value is None:
        return None
    if key in SET_KEYS:
        return sorted(set(value or []))
    if key == "description":
        return value or ""
    if key in TLS_REF_KEYS or key == "tls_ciphers":
        return value or None
    if key == "alpn_protocols":
        return list(value or [])
    return value


def listener_view(listener):
    """The managed keys of a listener dict, in comparable form (for diffs)."""
    view = {k: comparable(k, listener.get(k)) for k in LISTENER_KEYS if k in listener}
    if listener.get("id"):
        view["id"] = listener["id"]
    return view


def create_body(settings):
    """The settings a create sends: no ``id``, nothing unset, no empty TLS list.

    A listener without TLS shows ``tls_versions`` and ``alpn_protocols`` as
    ``null``; sent back as ``[]`` they would be stored empty, and Octavia's
    haproxy template then fails on the listener (a KeyError in its TLS 1.3
    cipher handling), so a replacement or repair copies only what is set.
    """
    return {k: v for k, v in settings.items()
            if k != "id" and v is not None and not (k in TLS_KEYS and v == [])}


_HEADERS = {
    "create": ("no PROMETHEUS listener", "listener to create"),
    "update": ("listener {id}", "listener {id}, updated in place"),
    "replace": ("listener {id} (deleted once its replacement is ACTIVE)",
                "new listener (protocol_port cannot be updated: create, then delete the old one)"),
    "repair": ("listener {id} (provisioning status {status})",
               "new listener (the broken one is deleted, then created again)"),
    "delete": ("listener {id}", "listener deleted"),
}


def plan_listener(state, current, want, leftovers=()):
    """Plan what the listener modules must do on one load balancer; no API calls.

    :param state: ``present`` or ``absent``.
    :param current: the managed listener dict, or ``None``.
    :param want: the options the task sets (``desired()`` output; allowed_cidrs
        already normalised).
    :param leftovers: other listeners of the same identity (``select_listener``),
        deleted last.
    :returns: dict with ``action`` (``create``, ``update``, ``replace``,
        ``repair``, ``delete`` or ``None``), ``changed``, ``steps`` (each
        ``{"op": "create", "body": ...}``, ``{"op": "update", "id": ...,
        "delta": ...}`` or ``{"op": "delete", "id": ...}``, in order),
        ``diff`` (``before``/``after``, with headers that name the action) and
        ``tls_change`` (``tls_change()``).
    """
    cleanup = [dict(op="delete", id=item["id"]) for item in leftovers]
    if state == "absent":
        before = listener_view(current) if current else {}
        steps = ([dict(op="delete", id=current["id"])] if current else []) + cleanup
        return _plan("delete" if steps else None, steps, before, {})
    want = {k: comparable(k, v) for k, v in want.items()}
    if current is None:
        check_tls_settings(want, want)
        return _plan("create", [dict(op="create", body=create_body(want))], {}, dict(want))
    before = listener_view(current)
    after = dict(before, **want)
    check_tls_settings(after, want)
    body = create_body(after)
    if current.get("provisioning_status") == "ERROR":
        # Octavia lets a broken listener be deleted but not updated; it serves
        # nothing, so deleting it first loses nothing, and frees its port.
        steps = [dict(op="delete", id=current["id"]), dict(op="create", body=body)] + cleanup
        return _plan("repair", steps, before, body, status="ERROR")
    delta = {k: v for k, v in want.items() if before.get(k) != v}
    if any(k in delta for k in IMMUTABLE_KEYS):
        # The new port differs, so both listeners can exist: the old one keeps
        # serving until its replacement is ACTIVE.
        steps = [dict(op="create", body=body), dict(op="delete", id=current["id"])] + cleanup
        return _plan("replace", steps, before, body)
    steps = ([dict(op="update", id=current["id"], delta=delta)] if delta else []) + cleanup
    if not steps:
        return _plan(None, [], before, after)
    return _plan("update" if delta else "replace", steps, before, after)


# What a run does to the transport of an existing listener's /metrics, for the result.
_TLS_CHANGES = {
    "added": "TLS added: /metrics is served over HTTPS from now on",
    "removed": "TLS removed: /metrics is served over plain HTTP from now on",
}


def tls_change(action, before, after):
    """``"added"`` or ``"removed"`` when a plan turns TLS on or off on an existing listener, else ``None``.

    With action ``update`` this happens in place, on the same listener:
    Octavia lets a PROMETHEUS listener gain or lose its certificate with an
    update (and refuses no such update); a replacement or repair carries it
    to the new listener.
    """
    if action in (None, "create", "delete"):
        return None
    was, will = uses_tls(before), uses_tls(after)
    if was == will:
        return None
    return "added" if will else "removed"


def _plan(action, steps, before, after, status=None):
    if action not in (None, "delete"):
        # Every write to a listener re-renders its load balancer's configuration.
        check_renderable(after)
    diff = dict(before=before, after=after)
    change = tls_change(action, before, after)
    if action:
        heads = _HEADERS[action]
        ident = dict(id=before.get("id", ""), status=status)
        diff["before_header"] = heads[0].format(**ident)
        diff["after_header"] = heads[1].format(**ident)
        if change:
            diff["after_header"] += f"; {_TLS_CHANGES[change]}"
    return dict(action=action, changed=action is not None, steps=steps, diff=diff, tls_change=change)


def predicted_listener(current, plan):
    """The listener a plan leads to, as far as it is known without writing (check mode).

    A listener that is created has no ID yet; its status is the one Octavia
    gives it once the write is confirmed.
    """
    if plan["action"] is None:
        return current
    if plan["action"] == "delete":
        return None
    listener = dict(current or {}, protocol="PROMETHEUS", **plan["diff"]["after"])
    if any(step["op"] == "create" for step in plan["steps"]):
        listener.pop("id", None)
    listener.update(provisioning_status="ACTIVE")
    return listener
