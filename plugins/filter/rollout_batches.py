# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Which fleet module calls a rollout of the octavia_listeners role makes.

Documentation: ``rollout_batches.yml``. Every list the role takes may be a
survey string; ``as_list`` is the one parser for that.
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.octavia.monitoring.plugins.filter.as_list import as_list

SELECTIONS_BY_INVENTORY = ("inventory", "auto")
# The one key of the fleet module's `filters` that is a string, not a list.
TEXT_FILTERS = ("name_pattern",)


def _text(value):
    return "" if value is None else str(value).strip()


def fleet_filters(filters, name="octavia_listeners_filters"):
    """Return the fleet module's ``filters`` from the role's variable.

    :param filters: a dict (or ``None``) with the fleet module's filter keys;
        each list key may be a list or one comma/newline separated string.
    :param name: the variable's name, for error messages.
    :returns: a new dict without empty entries; list keys parsed by ``as_list``,
        ``name_pattern`` stripped. Keys are passed on as they are: the role's
        argument spec and the module reject unknown ones.
    :raises AnsibleFilterError: ``filters`` is not a dict, or a list key holds
        something ``as_list`` refuses.
    """
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise AnsibleFilterError(f"{name} must be a dict of filters, not {type(filters).__name__} {filters!r}.")
    out = {}
    for key, value in filters.items():
        value = _text(value) if key in TEXT_FILTERS else as_list(value, name=f"{name}.{key}")
        if value:
            out[key] = value
    return out


def _label(cloud, region, load_balancers):
    where = (cloud or "default cloud") + (f" / {region}" if region else "")
    what = f"{len(load_balancers)} load balancer(s)" if load_balancers is not None else "selected by filters"
    return f"{where}: {what}"


def rollout_batches(hosts, hostvars, selection="auto", cloud="", region_name="", load_balancers=None,
                    filters=None):
    """Plan the fleet module calls of one rollout.

    :param hosts: the play's hosts (``ansible_play_batch``).
    :param hostvars: ``hostvars``; each host's variables are read once.
    :param selection: ``inventory``, ``filters`` or ``auto`` (inventory when
        the first host has ``octavia_lb``, else filters).
    :param cloud: ``octavia_listeners_cloud``; when set it replaces every
        host's ``octavia_lb_cloud``.
    :param region_name: ``octavia_listeners_region_name``; the same for
        ``octavia_lb_region``.
    :param load_balancers: names or IDs for the filters mode (list or survey string).
    :param filters: ``octavia_listeners_filters`` for the filters mode.
    :returns: ``{"mode", "calls", "not_load_balancers"}``. In the inventory
        mode, one call per cloud and region (in the order of first
        appearance), each ``{"cloud", "region_name", "load_balancers": [ids],
        "filters": None, "hosts", "label"}``, and the hosts that have no
        ``octavia_lb``. In the filters mode, one call with the parsed
        ``load_balancers`` (``None`` when empty) and ``filters`` (``None``
        when empty and load balancers are named, so that they alone select).
    :raises AnsibleFilterError: an unknown selection, or a list that
        ``as_list`` refuses.
    """
    if selection not in SELECTIONS_BY_INVENTORY + ("filters",):
        raise AnsibleFilterError(f"octavia_listeners_selection {selection!r} is none of inventory, filters, auto.")
    hosts = list(hosts or [])
    cloud, region_name = _text(cloud), _text(region_name)
    mode = selection
    rows = []
    if selection in SELECTIONS_BY_INVENTORY:
        for index, host in enumerate(hosts):
            host_vars = hostvars[host]
            lb = host_vars.get("octavia_lb")
            if index == 0 and selection == "auto":
                mode = "inventory" if lb is not None else "filters"
                if mode == "filters":
                    break
            rows.append((host, lb, host_vars.get("octavia_lb_cloud"), host_vars.get("octavia_lb_region")))
        if selection == "auto" and not hosts:
            mode = "filters"
    if mode == "filters":
        names = as_list(load_balancers, name="octavia_listeners_load_balancers") or None
        wanted = fleet_filters(filters)
        selected_by = wanted if wanted or names is None else None
        return {"mode": mode, "not_load_balancers": [], "calls": [{
            "cloud": cloud, "region_name": region_name, "load_balancers": names, "filters": selected_by,
            "hosts": [], "label": _label(cloud, region_name, names)}]}
    calls = {}
    strangers = []
    for host, lb, host_cloud, host_region in rows:
        if not isinstance(lb, dict) or not lb.get("id"):
            strangers.append(host)
            continue
        key = (cloud or _text(host_cloud), region_name or _text(host_region))
        call = calls.setdefault(key, {"cloud": key[0], "region_name": key[1], "load_balancers": [],
                                      "filters": None, "hosts": []})
        if lb["id"] not in call["load_balancers"]:
            call["load_balancers"].append(lb["id"])
        call["hosts"].append(host)
    for call in calls.values():
        call["label"] = _label(call["cloud"], call["region_name"], call["load_balancers"])
    return {"mode": "inventory", "calls": list(calls.values()), "not_load_balancers": strangers}


class FilterModule:
    """The fleet calls of a rollout."""

    def filters(self):
        return {"rollout_batches": rollout_batches}
