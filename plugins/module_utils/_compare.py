# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure plan, diff and validation code: plain dicts in, plain dicts out.

Nothing here imports Ansible or openstacksdk or talks to an API, so every
branch is unit tested with plain dicts (tests/unit/plugins/module_utils).
Objects are the dicts ``_base.to_plain`` makes of SDK resources (attribute
names as openstacksdk spells them: ``is_admin_state_up``, ``load_balancers``).

Errors are raised as ``PlanError``; ``_base.OctaviaModule`` reports them
exactly like ``OctaviaError``.
"""

import ipaddress
import re


class PlanError(Exception):
    """An input or a state that makes the requested change impossible.

    The text is one readable sentence; ``extra`` holds result keys such as
    ``candidates`` for the failure result.
    """

    def __init__(self, message, **extra):
        super(PlanError, self).__init__(message)
        self.extra = extra


# ---------------------------------------------------------------------------
# Generic helpers
# ---------------------------------------------------------------------------

def desired(params, keys):
    """Return ``{key: params[key]}`` for the keys whose value is not ``None``.

    An option the task does not set is ``None`` and must leave the object's
    value alone, so it is not part of what is wanted.
    """
    return dict((k, params[k]) for k in keys if params.get(k) is not None)


def select_by_name_or_id(items, value, kind, scope=None):
    """Return the one item whose ``id`` or ``name`` is ``value``, or ``None``.

    An ID match wins over name matches (IDs are unique, names are not).

    :param items: list of dicts with ``id`` and ``name``.
    :param kind: noun for messages, e.g. ``"listener"``.
    :param scope: phrase for messages, e.g. ``"on load balancer 'web'"``.
    :raises PlanError: several items carry that name; ``candidates`` lists them.
    """
    for item in items:
        if item.get("id") == value:
            return item
    named = [item for item in items if item.get("name") == value]
    if len(named) > 1:
        raise PlanError(
            "The name '%s' matches %d %ss%s (IDs %s); give the ID instead."
            % (value, len(named), kind, " " + scope if scope else "",
               ", ".join(sorted(i["id"] for i in named))),
            candidates=sorted((dict(id=i["id"], name=i.get("name")) for i in named),
                              key=lambda c: c["id"]))
    return named[0] if named else None


def parent_lb_id(listener):
    """Return the load balancer ID of a listener dict (the API lists it in ``load_balancers``)."""
    if listener.get("load_balancer_id"):
        return listener["load_balancer_id"]
    lbs = listener.get("load_balancers") or []
    return lbs[0].get("id") if lbs else None


# ---------------------------------------------------------------------------
# Validation of listener options (all of it runs before any write)
# ---------------------------------------------------------------------------

OPEN_NETWORKS = ("0.0.0.0/0", "::/0")
# Octavia added the PROMETHEUS protocol with API version 2.25, in its Xena
# release (9.0.0, October 2021); the API has no per-request microversions, so
# the versions list at GET / is the only way to tell.
PROMETHEUS_MIN_VERSION = (2, 25)
PROMETHEUS_RELEASE = "Octavia 9.0.0 (OpenStack Xena, October 2021)"
# Providers known to reject PROMETHEUS listeners. OVN load balancers are
# L4 only (TCP, UDP, SCTP) and have no metrics endpoint at all.
PROVIDERS_WITHOUT_PROMETHEUS = ("ovn",)
# Listener protocols whose ports share the TCP space of a PROMETHEUS
# listener on the same load balancer (Octavia's L4_PROTOCOL_MAP).
TCP_BASED_PROTOCOLS = ("TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "PROXY", "PROXYV2",
                       "PROMETHEUS")


def normalise_cidrs(values):
    """Return ``values`` as a sorted list of unique canonical networks.

    ``10.0.0.1/8`` becomes ``10.0.0.0/8``; order and duplicates do not matter.

    :raises PlanError: naming every entry that is not a CIDR.
    """
    nets, bad = set(), []
    for value in values:
        try:
            nets.add(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            bad.append(str(value))
    if bad:
        raise PlanError("allowed_cidrs has %s that %s not valid CIDR notation "
                        "(expected e.g. 192.0.2.0/24 or 2001:db8::/64)."
                        % (", ".join("'%s'" % b for b in bad), "is" if len(bad) == 1 else "are"))
    return [str(n) for n in sorted(nets, key=lambda n: (n.version, n))]


def check_port(port):
    """Fail unless ``port`` is a TCP port number (1-65535)."""
    if port is None or not 1 <= int(port) <= 65535:
        raise PlanError("protocol_port %s is outside the TCP port range 1-65535." % port)


def check_listener_options(params):
    """Validate the options of lb_prometheus_listener before anything else runs.

    :param params: the module parameters.
    :returns: ``(allowed_cidrs, warnings)``: the normalised CIDR list (or
        ``None`` for state=absent) and warning texts.
    :raises PlanError: on the first invalid option.
    """
    if params["state"] == "absent":
        return None, []
    check_port(params["protocol_port"])
    if params.get("allowed_cidrs") is None:
        raise PlanError(
            "allowed_cidrs is required with state=present: without it Octavia serves /metrics "
            "to every address that reaches the VIP, which is the whole internet once a floating "
            "IP is attached; list your Prometheus servers' networks, or give 0.0.0.0/0 "
            "explicitly to allow everyone.")
    cidrs = normalise_cidrs(params["allowed_cidrs"])
    if not cidrs:
        raise PlanError("allowed_cidrs is empty; Octavia treats an empty list as 'allow "
                        "everyone', so list your Prometheus servers' networks, or give "
                        "0.0.0.0/0 explicitly to allow everyone.")
    warnings = []
    wide = [c for c in cidrs if c in OPEN_NETWORKS]
    if wide:
        warnings.append("allowed_cidrs contains %s, so /metrics of this load balancer is open "
                        "to every address that can reach its VIP." % " and ".join(wide))
    if params.get("connection_limit") is not None and params["connection_limit"] < -1:
        raise PlanError("connection_limit must be -1 (unlimited) or a positive number, not %s."
                        % params["connection_limit"])
    for key in ("timeout_client_data", "timeout_member_connect", "timeout_member_data",
                "timeout_tcp_inspect"):
        if params.get(key) is not None and not 0 <= params[key] <= 31536000000:
            raise PlanError("%s must be between 0 and 31536000000 milliseconds, not %s."
                            % (key, params[key]))
    return cidrs, warnings


def vip_addresses(lb):
    """Return every VIP address of a load balancer dict (the main and the additional ones)."""
    addresses = [lb["vip_address"]] if lb.get("vip_address") else []
    for extra in lb.get("additional_vips") or []:
        if extra.get("ip_address"):
            addresses.append(extra["ip_address"])
    return addresses


def check_cidr_family(cidrs, lb):
    """Fail when a CIDR's IP version matches none of the load balancer's VIPs.

    This is Octavia's own rule, checked here so that nothing is sent.
    """
    addresses = vip_addresses(lb)
    families = set(ipaddress.ip_address(a).version for a in addresses)
    if not families:
        return
    wrong = [c for c in cidrs if ipaddress.ip_network(c).version not in families]
    if wrong:
        raise PlanError(
            "allowed_cidrs %s %s IPv%d but load balancer '%s' has only IPv%s VIPs (%s); "
            "a listener can only filter the IP version it receives."
            % (", ".join(wrong), "is" if len(wrong) == 1 else "are",
               ipaddress.ip_network(wrong[0]).version, lb.get("name") or lb.get("id"),
               "/IPv".join(str(f) for f in sorted(families)), ", ".join(addresses)))


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
    if not found:
        raise PlanError("The Octavia endpoint did not list any API version at GET /, so it is not "
                        "possible to tell whether it offers PROMETHEUS listeners (API v%d.%d or "
                        "later, added in %s)." % (PROMETHEUS_MIN_VERSION + (PROMETHEUS_RELEASE,)))
    newest = max(found)
    if newest < PROMETHEUS_MIN_VERSION:
        raise PlanError("This Octavia API is at v%d.%d, but PROMETHEUS listeners need API v%d.%d, "
                        "added in %s; upgrade Octavia, or use "
                        "octavia.monitoring.lb_stats_info to read statistics through the API."
                        % (newest + PROMETHEUS_MIN_VERSION + (PROMETHEUS_RELEASE,)))
    return "v%d.%d" % newest


def check_provider(lb):
    """Fail when the load balancer's provider is known to lack PROMETHEUS listeners."""
    provider = (lb.get("provider") or "").lower()
    if provider in PROVIDERS_WITHOUT_PROMETHEUS:
        raise PlanError(unsupported_provider_message(lb))


def unsupported_provider_message(lb, detail=None):
    """The sentence for a provider without PROMETHEUS support, pointing to lb_stats_info."""
    return ("Load balancer '%s' uses the provider '%s', which does not support PROMETHEUS "
            "listeners%s; use octavia.monitoring.lb_stats_info to read its statistics through "
            "the Octavia API instead." % (lb.get("name") or lb.get("id"), lb.get("provider"),
                                          " (%s)" % detail.rstrip(".") if detail else ""))


def disabled_protocol_message():
    """The sentence for a deployment whose operator turned PROMETHEUS listeners off."""
    return ("The operator of this cloud has disabled PROMETHEUS listeners "
            "(octavia.conf [api_settings] allow_prometheus_listeners = False), so none can be "
            "created; ask them to enable it, or use octavia.monitoring.lb_stats_info to read "
            "statistics through the Octavia API.")


def is_disabled_protocol_fault(status, fault):
    """True when an API error is Octavia's answer for a disabled PROMETHEUS protocol."""
    return (status == 400 and "not allowed in this deployment" in (fault or "")
            and "PROMETHEUS" in (fault or ""))


def is_unsupported_provider_fault(status, fault):
    """True when an API error says the provider driver rejects the listener (HTTP 501)."""
    return status == 501 and "does not support" in (fault or "")


def listener_fault_translator(lb):
    """The ``translate`` hook of ``_octavia.write()`` for a PROMETHEUS listener write on ``lb``.

    :returns: a function ``(status, faultstring) -> sentence or None`` that puts the API's answers
        for a disabled protocol and an unsupported provider in the collection's words; ``None``
        keeps the API's own message.
    """
    def clearer(status, fault):
        if is_disabled_protocol_fault(status, fault):
            return disabled_protocol_message()
        if is_unsupported_provider_fault(status, fault):
            return unsupported_provider_message(lb, fault)
        return None
    return clearer


def is_immutable_fault(status, fault):
    """True for Octavia's 409 while the load balancer is busy (PENDING_*)."""
    return status == 409 and "immutable" in (fault or "")


# ---------------------------------------------------------------------------
# lb_prometheus_listener: identify, compare and plan
# ---------------------------------------------------------------------------

# Everything the module manages, in diff order. protocol_port cannot be
# updated by Octavia, so changing it replaces the listener.
LISTENER_KEYS = ("name", "protocol_port", "allowed_cidrs", "description", "is_admin_state_up",
                 "connection_limit", "tags", "timeout_client_data", "timeout_member_connect",
                 "timeout_member_data", "timeout_tcp_inspect")
IMMUTABLE_KEYS = ("protocol_port",)
# The optional listener settings both listener modules take, documented once in the
# octavia.monitoring._listener doc fragment.
LISTENER_SETTINGS_SPEC = dict(
    description=dict(type="str"),
    is_admin_state_up=dict(type="bool", aliases=["admin_state_up"]),
    connection_limit=dict(type="int"),
    tags=dict(type="list", elements="str"),
    timeout_client_data=dict(type="int"),
    timeout_member_connect=dict(type="int"),
    timeout_member_data=dict(type="int"),
    timeout_tcp_inspect=dict(type="int"),
)
# Compared as sets; Octavia keeps neither their order nor duplicates.
SET_KEYS = ("allowed_cidrs", "tags")


def prometheus_listeners(listeners):
    """The PROMETHEUS listeners among a load balancer's listeners."""
    return [item for item in listeners if item.get("protocol") == "PROMETHEUS"]


def select_listener(listeners, name, adopt=True):
    """Find the load balancer's PROMETHEUS listener the module manages.

    Identity is protocol PROMETHEUS plus ``name``. When no listener has that
    name and ``adopt`` is true, a single PROMETHEUS listener under another
    name is adopted (the module then renames it) rather than duplicated.

    :param listeners: all listener dicts of one load balancer.
    :returns: the listener dict, or ``None``.
    :raises PlanError: several PROMETHEUS listeners carry that name.
    """
    proms = prometheus_listeners(listeners)
    named = [item for item in proms if item.get("name") == name]
    if len(named) > 1:
        raise PlanError(
            "%d PROMETHEUS listeners on this load balancer are named '%s' (IDs %s); rename or "
            "delete all but one." % (len(named), name, ", ".join(sorted(i["id"] for i in named))),
            candidates=sorted((dict(id=i["id"], name=i.get("name")) for i in named),
                              key=lambda c: c["id"]))
    if named:
        return named[0]
    if adopt and len(proms) == 1:
        return proms[0]
    return None


def port_conflict(listeners, port, own_id=None):
    """Return the listener (other than ``own_id``) already using ``port`` over TCP, or ``None``."""
    for item in listeners:
        if (item.get("id") != own_id and item.get("protocol_port") == port
                and item.get("protocol") in TCP_BASED_PROTOCOLS):
            return item
    return None


def check_port_free(listeners, port, lb, own_id=None):
    """Fail when another listener of the load balancer already uses ``port`` over TCP."""
    other = port_conflict(listeners, port, own_id)
    if other:
        raise PlanError("Port %d on load balancer '%s' is already used by the %s listener '%s' "
                        "(%s); choose another protocol_port."
                        % (port, lb.get("name") or lb.get("id"), other.get("protocol"),
                           other.get("name") or "", other["id"]))


def comparable(key, value):
    """Return ``value`` in the form used to compare and to show it in a diff."""
    if key == "allowed_cidrs":
        return normalise_cidrs(value or [])
    if key == "tags":
        return sorted(set(value or []))
    if key == "description":
        return value or ""
    return value


def listener_view(listener):
    """The managed keys of a listener dict, in comparable form (for diffs)."""
    view = dict((k, comparable(k, listener.get(k))) for k in LISTENER_KEYS if k in listener)
    if listener.get("id"):
        view["id"] = listener["id"]
    return view


def plan_listener(state, current, want):
    """Plan what lb_prometheus_listener must do; no API calls.

    :param state: ``present`` or ``absent``.
    :param current: the managed listener dict, or ``None``.
    :param want: the options the task sets (``desired()`` output; allowed_cidrs
        already normalised).
    :returns: dict with ``action`` (``create``, ``update``, ``replace``,
        ``delete`` or ``None``), ``changed``, ``delta`` (the keys to send on an
        update), ``body`` (the full set to send on a create or replace) and
        ``diff`` (``before``/``after``, plus headers that name the action).
    """
    if state == "absent":
        before = listener_view(current) if current else {}
        return _plan("delete" if current else None, {}, {}, before, {})
    want = dict((k, comparable(k, v)) for k, v in want.items())
    if current is None:
        body = dict(want)
        return _plan("create", body, body, {}, dict(want))
    before = listener_view(current)
    delta = dict((k, v) for k, v in want.items() if before.get(k) != v)
    after = dict(before)
    after.update(want)
    if any(k in delta for k in IMMUTABLE_KEYS):
        # Octavia cannot change these in place: the replacement carries every
        # managed value of the old listener that the task does not override.
        body = dict((k, v) for k, v in after.items() if k != "id")
        after.pop("id", None)
        return _plan("replace", delta, body, before, after)
    return _plan("update" if delta else None, delta, {}, before, after)


_HEADERS = {
    "create": ("no PROMETHEUS listener", "listener to create"),
    "update": ("listener %(id)s", "listener %(id)s, updated in place"),
    "replace": ("listener %(id)s (to delete)",
                "new listener (protocol_port cannot be updated: delete, then create)"),
    "delete": ("listener %(id)s", "listener deleted"),
}


def _plan(action, delta, body, before, after):
    diff = dict(before=before, after=after)
    if action:
        heads = _HEADERS[action]
        ident = dict(id=before.get("id", ""))
        diff["before_header"] = heads[0] % ident
        diff["after_header"] = heads[1] % ident
    return dict(action=action, changed=action is not None, delta=delta, body=body, diff=diff)


# ---------------------------------------------------------------------------
# Scrape targets, labels and summaries (lb_prometheus_listener(_info))
# ---------------------------------------------------------------------------

LB_SUMMARY_KEYS = ("id", "name", "vip_address", "vip_port_id", "project_id", "provider",
                   "availability_zone", "provisioning_status", "operating_status")


def lb_summary(lb, floating_ip=None):
    """The load balancer summary the modules return (``floating_ip`` may be ``None``)."""
    summary = dict((k, lb.get(k)) for k in LB_SUMMARY_KEYS)
    summary["floating_ip"] = floating_ip
    return summary


def scrape_target(host, port):
    """``host:port`` as Prometheus expects it, with an IPv6 address in brackets."""
    host = str(host)
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "%s:%s" % (host, port)


def scrape_host(summary, address):
    """Pick the address Prometheus must scrape.

    :param summary: ``lb_summary()`` output.
    :param address: ``vip``, ``floating_ip`` or ``auto`` (floating IP when
        there is one, else the VIP).
    :raises PlanError: ``floating_ip`` was asked for and the load balancer has none.
    """
    if address == "vip":
        return summary["vip_address"]
    if summary.get("floating_ip"):
        return summary["floating_ip"]
    if address == "auto":
        return summary["vip_address"]
    raise PlanError("Load balancer '%s' (%s) has no floating IP on its VIP port %s; use "
                    "address=vip or address=auto, or attach a floating IP."
                    % (summary.get("name") or "", summary["id"], summary.get("vip_port_id")))


def target_labels(summary, listener, cloud=None, region=None):
    """The file_sd labels of one scrape target; ``cloud``/``region`` only where known."""
    labels = dict(
        loadbalancer_id=summary["id"],
        loadbalancer_name=summary.get("name") or "",
        project_id=summary.get("project_id") or "",
        listener_id=listener["id"],
        vip_address=summary.get("vip_address") or "",
        provider=summary.get("provider") or "",
        availability_zone=summary.get("availability_zone") or "",
    )
    if cloud:
        labels["cloud"] = cloud
    if region:
        labels["region"] = region
    return labels


def match_filters(item, name=None, project_id=None, tags=None):
    """True when a load balancer dict passes the info modules' filters.

    ``name`` matches the name or the ID; ``tags`` must all be present.
    """
    if name is not None and name not in (item.get("name"), item.get("id")):
        return False
    if project_id is not None and item.get("project_id") != project_id:
        return False
    if tags and not set(tags) <= set(item.get("tags") or []):
        return False
    return True


# ---------------------------------------------------------------------------
# Catalogue of a load balancer's objects (lb_prometheus_listener_info catalog=true)
# ---------------------------------------------------------------------------

def catalog_entry(listeners, pools, members):
    """Names of every listener, pool and member of one load balancer.

    :param listeners: that load balancer's listener dicts.
    :param pools: its pool dicts.
    :param members: dict pool ID -> list of member dicts.
    """
    out_pools = []
    for pool in sorted(pools, key=lambda p: p["id"]):
        # haproxy runs one backend per (pool, listener) pair, so the metrics
        # label pools as "<pool>:<listener>"; keep every listener of the pool.
        listener_ids = sorted(item.get("id") for item in pool.get("listeners") or [])
        out_pools.append(dict(id=pool["id"], name=pool.get("name") or "",
                              protocol=pool.get("protocol"), lb_algorithm=pool.get("lb_algorithm"),
                              listener_id=listener_ids[0] if listener_ids else None,
                              listener_ids=listener_ids))
    out_members = []
    for pool in out_pools:
        for member in sorted(members.get(pool["id"]) or [], key=lambda m: m["id"]):
            out_members.append(dict(id=member["id"], name=member.get("name") or "",
                                    address=member.get("address"),
                                    protocol_port=member.get("protocol_port"),
                                    weight=member.get("weight"), pool_id=pool["id"]))
    return dict(
        listeners=[dict(id=item["id"], name=item.get("name") or "", protocol=item.get("protocol"),
                        protocol_port=item.get("protocol_port"),
                        connection_limit=item.get("connection_limit"))
                   for item in sorted(listeners, key=lambda x: x["id"])],
        pools=out_pools,
        members=out_members,
    )


# ---------------------------------------------------------------------------
# Statistics (lb_stats_info)
# ---------------------------------------------------------------------------

STATS_KEYS = ("active_connections", "bytes_in", "bytes_out", "request_errors",
              "total_connections")


def stats_fields(stats):
    """The five statistics of an API answer as integers (missing ones are 0)."""
    return dict((k, int((stats or {}).get(k) or 0)) for k in STATS_KEYS)


def sum_stats(items):
    """Sum the five statistics over a list of ``stats_fields()`` dicts."""
    total = dict((k, 0) for k in STATS_KEYS)
    for item in items:
        for k in STATS_KEYS:
            total[k] += item[k]
    return total


LB_STATS_KEYS = ("id", "name", "project_id", "vip_address", "provider", "provisioning_status",
                 "operating_status")


def lb_stats_item(lb, stats, listeners=None):
    """One item of lb_stats_info's ``load_balancers``.

    :param listeners: ``None`` (not requested) or a list of ``(listener dict,
        stats dict)`` pairs, reported sorted by protocol port then ID.
    """
    item = dict((k, lb.get(k)) for k in LB_STATS_KEYS)
    item["stats"] = stats_fields(stats)
    if listeners is not None:
        item["listeners"] = [
            dict(id=lst["id"], name=lst.get("name") or "", protocol=lst.get("protocol"),
                 protocol_port=lst.get("protocol_port"), stats=stats_fields(st))
            for lst, st in sorted(listeners, key=lambda p: (p[0].get("protocol_port") or 0,
                                                            p[0]["id"]))]
    return item


def stats_report(lbs, listeners, stats):
    """Assemble lb_stats_info's result from what was fetched.

    :param lbs: the load balancer dicts in scope, in the order to report.
    :param listeners: listener dicts to report under their load balancer, or
        ``None`` when listeners were not asked for.
    :param stats: object ID -> statistics dict; an object missing here was
        deleted while the statistics were read and is left out.
    :returns: ``(load_balancers, totals)``.
    """
    items = []
    for lb in lbs:
        if lb["id"] not in stats:
            continue
        pairs = None
        if listeners is not None:
            pairs = [(x, stats[x["id"]]) for x in listeners
                     if parent_lb_id(x) == lb["id"] and x["id"] in stats]
        items.append(lb_stats_item(lb, stats[lb["id"]], pairs))
    return items, sum_stats(item["stats"] for item in items)
