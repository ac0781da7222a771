#!/usr/bin/python
# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: lb_prometheus_listener_fleet
short_description: Give many Octavia load balancers their PROMETHEUS listener in one task
version_added: 1.0.0
description:
  - Does for a list of load balancers what M(octavia.monitoring.lb_prometheus_listener) does for
    one, in a single module run. It creates, updates or deletes the listener of protocol C(PROMETHEUS)
    through which each load balancer serves its metrics at C(/metrics).
  - B(Why this module exists beside lb_prometheus_listener.) A rollout that calls the single module
    once per load balancer pays, for every load balancer, a module start (AnsiballZ, the Python
    interpreter, the openstacksdk import, authentication) and its own lookups, which is slow for
    hundreds of load balancers. This module reads the whole fleet with a few listing requests (load
    balancers, listeners, floating IPs) regardless of its size, plans every load balancer with the
    same code as M(octavia.monitoring.lb_prometheus_listener) (one write path serves both), and
    writes only the load balancers that need a change, several at a time, each worker thread with
    a connection of its own. A run that changes nothing makes no write at all.
  - Every load balancer gets its own result. One that fails (not found, ambiguous name, C(ERROR)
    state, a port taken by another listener, an API error) does not stop the others; see
    O(fail_on_error).
  - Load balancers whose provider has no C(PROMETHEUS) listeners (C(ovn)) are reported as skipped,
    with a pointer to the statistics exposition of the C(octavia.monitoring.stats) playbook.
  - Options the task does not set are left as they are.
  - Every load balancer's result has an C(outcome) - changed, unchanged, skipped, failed (nothing
    was written) or unconfirmed (a write went through, its result could not be confirmed) - so a
    caller can tell what needs a look.
author:
  - octavia.monitoring contributors (@octavia-monitoring)
extends_documentation_fragment:
  - octavia.monitoring._listener
  - octavia.monitoring._filters
  - octavia.monitoring._auth
  - octavia.monitoring._attributes
  - octavia.monitoring._attributes.actiongroup_octavia
attributes:
  check_mode:
    support: full
    details:
      - Check mode reports the same per-load-balancer C(changed), C(action), C(diff) and failures
        as the real run, without writing. It makes the same reads, so a load balancer in C(ERROR),
        or one still C(PENDING_*) after O(timeout), is reported as failed in check mode too.
      - As with M(octavia.monitoring.lb_prometheus_listener), an operator who disabled
        C(PROMETHEUS) listeners is only discovered by the real create.
  diff_mode:
    support: full
    details: The diff is a list with one entry per changed load balancer, its headers naming it.
  idempotent:
    support: full
options:
  load_balancers:
    description:
      - Names or IDs of the load balancers to handle.
      - A name that matches several load balancers, or nothing, is a failure of that entry only.
      - When O(filters) is also set, only load balancers that pass the filters can be selected.
      - At least one of O(load_balancers) and O(filters) is required. An empty O(filters) without
        O(load_balancers) selects every load balancer the credentials can see.
      - An empty list is an error, so that a variable that came out empty never reads as "all".
    type: list
    elements: str
    aliases: [loadbalancers]
  concurrency:
    description:
      - How many load balancers are worked on at the same time, from 1 to 32.
      - Octavia locks each load balancer while it changes, but different load balancers change
        independently; the writes of one load balancer always run one after the other.
      - Each worker thread opens a connection of its own (openstacksdk does not promise that one
        connection is safe to share between threads), so this is also the number of API sessions.
    type: int
    default: 8
  fail_on_error:
    description:
      - Whether the task fails when at least one load balancer failed. Either way every load
        balancer is attempted and C(results) lists each one's outcome.
      - Set V(false) when a later task decides what a failure means, as the
        C(octavia.monitoring.octavia_listeners) role does to mark each failed load balancer's
        inventory host failed.
    type: bool
    default: true
notes:
  - O(timeout) applies to each load balancer separately, from the moment its first write starts.
  - The fleet is read with one listing of load balancers, one of listeners and one of floating IPs
    per run, and the API versions list once when a listener must be created; the listings are
    paginated by the API for very large fleets.
seealso:
  - module: octavia.monitoring.lb_prometheus_listener
  - module: octavia.monitoring.lb_prometheus_listener_info
  - module: octavia.monitoring.lb_stats_info
"""

EXAMPLES = r"""
- name: Give three load balancers a metrics endpoint for the Prometheus network
  octavia.monitoring.lb_prometheus_listener_fleet:
    cloud: mycloud
    load_balancers:
      - web-lb
      - api-lb
      - 0f6c2a53-8d3e-4f7e-9a51-6c1b2d3e4f50
    allowed_cidrs:
      - 192.0.2.10/32

- name: Every amphora load balancer of one project, ten at a time, without failing the play
  octavia.monitoring.lb_prometheus_listener_fleet:
    filters:
      project_ids:
        - 5b3f0c8f1e2d4a6b9c7d8e9f0a1b2c3d
      providers:
        - amphora
    allowed_cidrs:
      - 192.0.2.0/24
    concurrency: 10
    fail_on_error: false

- name: Remove the metrics endpoints of every load balancer tagged monitored
  octavia.monitoring.lb_prometheus_listener_fleet:
    filters:
      tags:
        - monitored
    state: absent
"""

RETURN = r"""
results:
  description:
    - One item per load balancer, sorted by load balancer name then ID; entries of
      O(load_balancers) that matched nothing or several load balancers come last.
  returned: always
  type: list
  elements: dict
  contains:
    requested:
      description: The entry of O(load_balancers) this item answers, or the load balancer ID when selected by O(filters).
      type: str
    load_balancer:
      description:
        - Summary of the load balancer, as M(octavia.monitoring.lb_prometheus_listener) returns it
          (id, name, vip_address, vip_port_id, project_id, provider, availability_zone,
          provisioning_status, operating_status, floating_ip).
        - V(null) when the entry matched no single load balancer.
      type: dict
    changed:
      description: Whether this load balancer was (or in check mode would be) changed.
      type: bool
    action:
      description:
        - V(create), V(update), V(replace), V(repair), V(delete), or V(null) when nothing changes;
          see RV(octavia.monitoring.lb_prometheus_listener#module:action).
      type: str
    outcome:
      description:
        - V(changed), V(unchanged), V(skipped), V(failed) (nothing was written for this load
          balancer) or V(unconfirmed) (a write went through but its result could not be confirmed;
          then C(failed) and C(changed) are both V(true)).
      type: str
      version_added: 1.0.0
    diff:
      description: C(before) and C(after) of the managed listener settings; empty when unchanged.
      type: dict
    listener:
      description:
        - The listener after the run, as the API shows it; in check mode the settings it would have.
        - V(null) when there is none (deleted, skipped, or never created).
      type: dict
    scrape_target:
      description: C(host:port) where Prometheus scrapes the listener (IPv6 in brackets), or V(null).
      type: str
    tls_change:
      description:
        - V(added) or V(removed) when TLS is turned on or off on an existing listener, V(null)
          otherwise; see RV(octavia.monitoring.lb_prometheus_listener#module:tls_change).
      type: str
      version_added: 1.0.0
    skipped:
      description: True when the provider has no C(PROMETHEUS) listeners; RV(results[].msg) says where to get the figures instead.
      type: bool
    failed:
      description: True when this load balancer failed; the others are unaffected.
      type: bool
    msg:
      description: Why the load balancer failed or was skipped; empty otherwise.
      type: str
  sample:
    - requested: web-lb
      load_balancer:
        id: 0f6c2a53-8d3e-4f7e-9a51-6c1b2d3e4f50
        name: web-lb
        vip_address: 192.0.2.50
        vip_port_id: 6a0e5d4c-3b2a-4f1e-8d7c-6b5a4f3e2d1c
        project_id: 5b3f0c8f1e2d4a6b9c7d8e9f0a1b2c3d
        provider: amphora
        availability_zone: null
        provisioning_status: ACTIVE
        operating_status: ONLINE
        floating_ip: null
      changed: true
      action: create
      outcome: changed
      diff:
        before: {}
        after: {name: prometheus, protocol_port: 8088, allowed_cidrs: [192.0.2.10/32]}
      listener:
        id: 4f1c2b9e-3a57-4c8d-9b1e-2f6a7c8d9e01
        name: prometheus
        protocol: PROMETHEUS
        protocol_port: 8088
        allowed_cidrs: [192.0.2.10/32]
      scrape_target: 192.0.2.50:8088
      tls_change: null
      skipped: false
      failed: false
      msg: ""
summary:
  description: Counts over C(results).
  returned: always
  type: dict
  contains:
    total:
      description: Number of items in C(results).
      type: int
    changed:
      description: Load balancers changed (or that would be, in check mode).
      type: int
    unchanged:
      description: Load balancers already as wanted.
      type: int
    skipped:
      description: Load balancers whose provider has no C(PROMETHEUS) listeners.
      type: int
    failed:
      description: Load balancers that failed before anything was written for them.
      type: int
    unconfirmed:
      description: Load balancers written to whose result could not be confirmed.
      type: int
      version_added: 1.0.0
    actions:
      description: Number of changed load balancers per action.
      type: dict
  sample:
    total: 3
    changed: 1
    unchanged: 1
    skipped: 0
    failed: 1
    unconfirmed: 0
    actions: {create: 1}
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._base import OctaviaModule
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError, PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import check_concurrency, read_fleet
from ansible_collections.octavia.monitoring.plugins.module_utils._plan import LISTENER_SPEC, check_listener_options
from ansible_collections.octavia.monitoring.plugins.module_utils._rollout import (
    Rollout,
    failure_message,
    labelled_diff,
    summarise,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._select import (
    FILTERS_SPEC,
    normalise_filters,
    select_load_balancers,
)


class FleetModule(OctaviaModule):
    argument_spec = dict(
        load_balancers=dict(type="list", elements="str", aliases=["loadbalancers"]),
        filters=FILTERS_SPEC,
        **LISTENER_SPEC,
        concurrency=dict(type="int", default=8),
        fail_on_error=dict(type="bool", default=True),
    )
    module_kwargs = dict(required_one_of=[("load_balancers", "filters")])

    def run(self):
        params = self.params
        check_concurrency(params["concurrency"])
        if params["load_balancers"] is not None and not params["load_balancers"]:
            raise PlanError("load_balancers is empty; name at least one load balancer, or leave "
                            "load_balancers out and select them with filters.")
        cidrs, warnings = check_listener_options(params)
        for warning in warnings:
            self.warn(warning)
        fleet = read_fleet(self.conn, normalise_filters(params["filters"]),
                           port_security=params["state"] == "present")
        if params["load_balancers"] is None:
            selected, errors = [(lb["id"], lb) for lb in fleet["load_balancers"]], []
        else:
            selected, errors = select_load_balancers(fleet["load_balancers"], params["load_balancers"])
        rollout = Rollout(self.conn, self.connect, params, cidrs, self.check_mode, params["concurrency"])
        results = rollout.run(fleet, selected, errors)
        for warning in rollout.warnings:
            self.warn(warning)
        for item in results:
            item["diff"] = labelled_diff(item["load_balancer"], item["diff"]) if item["changed"] else {}
        result = dict(changed=any(item["changed"] for item in results), results=results,
                      summary=summarise(results), diff=[item["diff"] for item in results if item["changed"]])
        message = failure_message(results)
        if message and params["fail_on_error"]:
            raise OctaviaError(message, **result)
        return result


def main():
    FleetModule().execute()


if __name__ == "__main__":
    main()
