# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Everything wrong with the octavia_prometheus role's explicit targets, one sentence per fault.

Its documentation lives beside it in ``prometheus_target_problems.yml``.
"""

import re

from ansible_collections.octavia.monitoring.plugins.module_utils._targets import scrape_target

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_HOST = re.compile(r"^[A-Za-z0-9_.-]+$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$")
_SHAPE = '{scrape_target: "host:port", labels: {name: value}}'
_CATALOG_KEYS = ("listeners", "pools", "members")


def _address_problem(where, value):
    """The fault of a scrape address, or None; the format is _targets.scrape_target's own."""
    if not isinstance(value, str) or ":" not in value:
        return (f"{where} must look like {_SHAPE} (the item shape lb_prometheus_listener_info returns): "
                f"scrape_target {value!r} has no port.")
    host, _sep, port = value.rpartition(":")
    if not port.isdigit():
        return f"{where}.scrape_target {value!r} must end in a port number (host:port)."
    if not 1 <= int(port) <= 65535:
        return f"{where}.scrape_target {value!r} has port {int(port)}, outside 1-65535."
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if _IPV6.match(bare) and scrape_target(bare, int(port)) != value:
        return (f"{where}.scrape_target {value!r} must write its IPv6 address in brackets "
                f"(for example [2001:db8::1]:8088).")
    if not (_HOST.match(bare) or _IPV6.match(bare)) or scrape_target(bare, int(port)) != value:
        return f"{where}.scrape_target {value!r} has a host that is not a host name or an IP address."
    return None


def _label_problems(where, labels):
    if not isinstance(labels, dict):
        return [f"{where}.labels must be a mapping of label names to values, not {labels!r}."]
    bad = sorted(str(key) for key in labels if not _LABEL_NAME.match(str(key)) or str(key).startswith("__"))
    if bad:
        return [f"{where}.labels has invalid Prometheus label names ({', '.join(bad)}): use "
                f"[a-zA-Z_][a-zA-Z0-9_]*, not starting with __."]
    return []


def _catalog_problems(where, catalog, labels):
    if not isinstance(catalog, dict):
        return [f"{where}.catalog must be a mapping with listeners, pools and members, not {catalog!r}."]
    problems = []
    if isinstance(labels, dict) and labels.get("loadbalancer_id") in (None, ""):
        problems.append(f"{where} has a catalog but no labels.loadbalancer_id: the name catalogue is keyed by "
                        f"it. Add the load balancer's ID, or drop the catalog.")
    for key in _CATALOG_KEYS:
        objects = catalog.get(key) or []
        if not isinstance(objects, list) or not all(isinstance(obj, dict) and obj.get("id") for obj in objects):
            problems.append(f"{where}.catalog.{key} must be a list of objects that each have an id.")
    return problems


def prometheus_target_problems(targets, name="octavia_prometheus_targets"):
    """Return one sentence per fault of the explicit targets, or an empty list.

    :param targets: the explicit targets (the item shape of
        lb_prometheus_listener_info: ``scrape_target``, ``labels``, ``catalog``).
    :param name: the variable's name, to name each item in the sentences.
    :returns: the faults, in the order of the items: a scrape address that is
        not ``host:port`` (IPv6 in brackets), a port outside 1-65535, labels
        that are not a mapping of valid label names, and a catalogue the name
        catalogue cannot use (no ``loadbalancer_id`` label, objects without IDs).
    """
    if not isinstance(targets, list):
        return [f"{name} must be a list of targets, not {type(targets).__name__}."]
    problems = []
    for index, target in enumerate(targets):
        where = f"{name}[{index}]"
        if not isinstance(target, dict):
            problems.append(f"{where} must look like {_SHAPE}, not {target!r}.")
            continue
        if "scrape_target" not in target:
            problems.append(f"{where} must look like {_SHAPE} (the item shape lb_prometheus_listener_info "
                            f"returns): it has no scrape_target.")
        else:
            address = _address_problem(where, target["scrape_target"])
            if address:
                problems.append(address)
        labels = target.get("labels", {})
        problems += _label_problems(where, labels)
        if target.get("catalog"):
            problems += _catalog_problems(where, target["catalog"], labels)
    return problems


class FilterModule:
    """Validation of the octavia_prometheus role's explicit targets."""

    def filters(self):
        return {"prometheus_target_problems": prometheus_target_problems}
