# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The inventory plugin's pure half: host names, host variables, default groups, config checks.

Plain dicts in and out; the plugin (plugins/inventory/loadbalancers.py)
reads the clouds and hands the listings here.
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._targets import lb_summary, scrape_items

# The listener attributes an inventory host carries for each of its listeners.
LISTENER_SUMMARY_KEYS = ("id", "name", "protocol", "protocol_port", "allowed_cidrs",
                         "connection_limit", "is_admin_state_up", "provisioning_status",
                         "operating_status", "tags")


def check_keys(given, allowed, where):
    """Fail naming every key of ``given`` that is not in ``allowed``.

    :param given: a dict read from the user's configuration.
    :param allowed: the keys that mean something there.
    :param where: phrase naming the place, e.g. ``"the inventory file x.yml"``.
    :raises PlanError: one sentence with the unknown keys and the known ones.
    """
    if not isinstance(given, dict):
        raise PlanError(f"{where[:1].upper()}{where[1:]} must be a mapping of options, not "
                        f"{type(given).__name__}.")
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise PlanError(f"Unknown option{plural} {', '.join(unknown)} in {where}; the known options "
                        f"are {', '.join(sorted(allowed))}.")


def host_names(records):
    """Give every load balancer an inventory host name.

    The rule, stable as load balancers are added:

    - the host name is the load balancer's name;
    - a load balancer without a name is named by its ID;
    - when several load balancers (in any of the clouds and regions read)
      share a name, the oldest (``created_at``, then cloud, region and ID)
      keeps the plain name and each other one becomes
      ``<name>_<first 8 characters of its ID>``, or ``<name>_<ID>`` if that is
      taken too (then ``<name>_<ID>_2`` and so on). A newly created namesake
      therefore never renames an existing host.

    :param records: dicts with ``id``, ``name``, ``created_at``, ``cloud`` and ``region``.
    :returns: list of host names, in the order of ``records``.
    """
    def age(index):
        rec = records[index]
        return (rec.get("created_at") or "", rec.get("cloud") or "", rec.get("region") or "", rec["id"])

    names = [None] * len(records)
    by_name = {}
    for index, rec in enumerate(records):
        by_name.setdefault(rec.get("name") or rec["id"], []).append(index)
    taken = set(by_name)
    for name, indexes in by_name.items():
        ordered = sorted(indexes, key=age)
        names[ordered[0]] = name
        for index in ordered[1:]:
            ident = records[index]["id"]
            candidate = f"{name}_{ident[:8]}"
            if candidate in taken:
                candidate = f"{name}_{ident}"
            number = 2
            while candidate in taken:
                # Only the same load balancer seen through two regions of one endpoint
                # gets this far; the order above keeps the numbering stable.
                candidate = f"{name}_{ident}_{number}"
                number += 1
            taken.add(candidate)
            names[index] = candidate
    return names


def listener_summary(listener):
    """The listener attributes an inventory host carries (``LISTENER_SUMMARY_KEYS``)."""
    return {k: listener.get(k) for k in LISTENER_SUMMARY_KEYS}


def host_vars(lb, listeners, floating_ip=None, cloud=None, region=None, address="vip"):
    """The variables of one inventory host (one load balancer).

    :returns: dict with ``ansible_connection`` (``local``: every task for a
        load balancer talks to the API from the controller), ``octavia_lb``
        (the modules' load balancer summary plus ``tags``),
        ``octavia_lb_listeners`` (every listener, summarised),
        ``octavia_lb_prometheus`` (the scrape targets, as
        lb_prometheus_listener_info's items), ``octavia_lb_cloud`` and
        ``octavia_lb_region`` (``None`` where not known).
    """
    summary = lb_summary(lb, floating_ip)
    return dict(
        ansible_connection="local",
        octavia_lb=dict(summary, tags=sorted(lb.get("tags") or [])),
        octavia_lb_listeners=[listener_summary(item) for item in listeners],
        octavia_lb_prometheus=scrape_items(summary, listeners, cloud, region, address),
        octavia_lb_cloud=cloud,
        octavia_lb_region=region,
    )


def default_groups(hostvars):
    """The groups the inventory plugin puts a host in unless told not to.

    ``octavia_loadbalancers`` (every host), ``octavia_project_<project ID>``,
    ``octavia_provider_<provider>``, and either ``octavia_with_prometheus_listener``
    or ``octavia_without_prometheus_listener``.
    """
    lb = hostvars["octavia_lb"]
    groups = ["octavia_loadbalancers"]
    if lb.get("project_id"):
        groups.append(f"octavia_project_{lb['project_id']}")
    if lb.get("provider"):
        groups.append(f"octavia_provider_{lb['provider']}")
    groups.append("octavia_with_prometheus_listener" if hostvars["octavia_lb_prometheus"]
                  else "octavia_without_prometheus_listener")
    return groups
