#!/usr/bin/python
# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: lb_stats_info
short_description: Read Octavia load balancer and listener statistics through the API
version_added: 1.0.0
description:
  - Returns the statistics Octavia keeps for load balancers and, optionally, their listeners
    (active_connections, bytes_in, bytes_out, request_errors, total_connections), as
    C(openstack loadbalancer stats show) and C(openstack loadbalancer listener stats show) do.
  - These figures also cover what a C(PROMETHEUS) listener does not, such as UDP and SCTP listeners
    and providers without C(PROMETHEUS) support (for example C(ovn)).
  - Octavia has no bulk statistics endpoint, so the requests run concurrently, at most
    O(concurrency) at a time; the result keeps a stable order.
  - A load balancer (or listener) deleted between the listing and its statistics request is skipped
    with a warning. Any other error fails the task, naming the load balancer and the API's message.
  - Never changes anything. Nothing found is an empty list, not a failure.
author:
  - octavia.monitoring contributors (@octavia-monitoring)
extends_documentation_fragment:
  - octavia.monitoring._filters
  - octavia.monitoring._auth
  - octavia.monitoring._attributes
  - octavia.monitoring._attributes.actiongroup_octavia
  - octavia.monitoring._attributes.info_module
options:
  load_balancer:
    description:
      - Name or ID of one load balancer.
      - When it does not exist the result is empty. A name that matches several load balancers fails
        and lists their IDs (use O(name) to report every load balancer of a name).
    type: str
    aliases: [loadbalancer]
  listener:
    description:
      - Name or ID of one listener; its load balancer is reported, with only this listener in
        RV(load_balancers[].listeners) (whatever O(include_listeners) says).
      - Looked up only inside O(load_balancer) when both are given.
      - Alone, it must be an ID or a name that is unique among the listeners the credentials can see;
        an ambiguous name fails and lists the candidates.
    type: str
  name:
    description:
      - Only load balancers with exactly this name (every one of them, unlike O(load_balancer)).
    type: str
  include_listeners:
    description:
      - Also return each load balancer's listeners with their own statistics.
    type: bool
    default: false
  concurrency:
    description:
      - Maximum number of statistics requests in flight at once, from 1 to 32.
      - Each worker thread opens a connection of its own.
    type: int
    default: 8
notes:
  - The statistics of a load balancer are the sums over its listeners, as Octavia computes them.
    RV(totals) sums the load balancer figures of the returned items.
seealso:
  - module: octavia.monitoring.lb_prometheus_listener
  - module: octavia.monitoring.lb_prometheus_listener_info
  - name: Octavia monitoring guide
    description: The API statistics and what they count.
    link: https://docs.openstack.org/octavia/latest/user/guides/monitoring.html
"""

EXAMPLES = r"""
- name: Statistics of every load balancer the credentials can see
  octavia.monitoring.lb_stats_info:
    cloud: mycloud

- name: One load balancer, with per-listener figures
  octavia.monitoring.lb_stats_info:
    cloud: mycloud
    load_balancer: web-lb
    include_listeners: true

- name: A project's load balancers, 16 requests at a time
  octavia.monitoring.lb_stats_info:
    cloud: mycloud
    project_id: 8d3c6a1e0f2b4c5d9e7f1a2b3c4d5e6f
    concurrency: 16
"""

RETURN = r"""
load_balancers:
  description: One item per load balancer in scope, sorted by name, then ID.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Load balancer ID.
      type: str
    name:
      description: Load balancer name.
      type: str
    project_id:
      description: Project that owns the load balancer.
      type: str
    vip_address:
      description: Address of the VIP.
      type: str
    provider:
      description: Provider driver.
      type: str
    provisioning_status:
      description: Provisioning status.
      type: str
    operating_status:
      description: Operating status.
      type: str
    stats:
      description: The load balancer's statistics, as integers.
      type: dict
      contains:
        active_connections:
          description: Connections open now.
          type: int
        bytes_in:
          description: Bytes received.
          type: int
        bytes_out:
          description: Bytes sent.
          type: int
        request_errors:
          description: Requests that failed.
          type: int
        total_connections:
          description: Connections handled in total.
          type: int
    listeners:
      description:
        - Listeners with C(id), C(name), C(protocol), C(protocol_port) and C(stats) (the same five
          integers), sorted by port, then ID.
      returned: when O(include_listeners=true) or O(listener) is set
      type: list
      elements: dict
  sample:
    - id: 0b9f6a47-5a2b-4d0e-8c3f-7d1e2a3b4c5d
      name: web-lb
      project_id: 8d3c6a1e0f2b4c5d9e7f1a2b3c4d5e6f
      vip_address: 192.0.2.10
      provider: amphora
      provisioning_status: ACTIVE
      operating_status: ONLINE
      stats:
        active_connections: 3
        bytes_in: 2236722
        bytes_out: 100973832
        request_errors: 0
        total_connections: 3606
totals:
  description: The five statistics summed over RV(load_balancers[].stats).
  returned: always
  type: dict
  sample:
    active_connections: 3
    bytes_in: 2236722
    bytes_out: 100973832
    request_errors: 0
    total_connections: 3606
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._base import OctaviaModule
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import (
    check_concurrency,
    describe,
    find_child,
    find_load_balancer,
    list_listeners,
    list_load_balancers,
    map_bounded,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._sdk import api_error, is_not_found, to_plain
from ansible_collections.octavia.monitoring.plugins.module_utils._select import (
    FILTERS_SPEC,
    lb_matches,
    normalise_filters,
    parent_lb_id,
    select_by_name_or_id,
    server_side_query,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._stats import stats_report


class StatsInfoModule(OctaviaModule):
    argument_spec = dict(
        load_balancer=dict(type="str", aliases=["loadbalancer"]),
        listener=dict(type="str"),
        name=dict(type="str"),
        filters=FILTERS_SPEC,
        include_listeners=dict(type="bool", default=False),
        concurrency=dict(type="int", default=8),
    )

    def run(self):
        check_concurrency(self.params["concurrency"])
        self.filters = normalise_filters(self.params["filters"])
        lbs, listeners = self.scope()
        items, totals = stats_report(lbs, listeners, self.fetch(lbs, listeners))
        return dict(load_balancers=items, totals=totals)

    def scope(self):
        """Return (load balancers, listeners or None) to read, in a stable order."""
        p = self.params
        lb = None
        if p["load_balancer"]:
            lb = find_load_balancer(self.conn, p["load_balancer"], ignore_missing=True)
            if lb is None:
                return [], None
        if p["listener"]:
            if lb is None:
                listener = self.find_listener_anywhere(p["listener"])
            else:
                listener = find_child(self.conn, "listener", p["listener"], lb, ignore_missing=True)
            if listener is None:
                return [], None
            if lb is None:
                lb = find_load_balancer(self.conn, parent_lb_id(listener), ignore_missing=True)
            lbs, listeners = ([lb] if lb else []), [listener]
        elif lb is not None:
            lbs = [lb]
            listeners = list_listeners(self.conn, lb_id=lb["id"]) if p["include_listeners"] else None
        else:
            query = server_side_query(self.filters)
            lbs = list_load_balancers(self.conn, name=p["name"], **query)
            listeners = None
            if p["include_listeners"] and lbs:
                wanted = {x["id"] for x in lbs}
                listeners = [x for x in list_listeners(self.conn, project_id=query["project_id"])
                             if parent_lb_id(x) in wanted]
        lbs = [x for x in lbs if lb_matches(x, self.filters)
               and (p["name"] is None or x.get("name") == p["name"])]
        return lbs, listeners

    def find_listener_anywhere(self, name_or_id):
        """A listener by ID, or by a name unique among every listener the credentials can see."""
        found = [x for x in list_listeners(self.conn) if name_or_id in (x["id"], x.get("name"))]
        return select_by_name_or_id(found, name_or_id, "listener", "in this cloud")

    def fetch(self, lbs, listeners):
        """Statistics by object ID, fetched with bounded concurrency; deleted objects are left out."""
        lb_by_id = {lb["id"]: lb for lb in lbs}
        jobs = [("load balancer", lb) for lb in lbs]
        jobs += [("listener", x) for x in listeners or [] if parent_lb_id(x) in lb_by_id]

        def read(job, conn):
            kind, obj = job
            getter = (conn.load_balancer.get_load_balancer_statistics if kind == "load balancer"
                      else conn.load_balancer.get_listener_statistics)
            return to_plain(getter(obj["id"]))

        stats = {}
        for (kind, obj), result, exc in map_bounded(read, jobs, self.params["concurrency"],
                                                    connect=self.connect, inline_conn=self.conn):
            if exc is None:
                stats[obj["id"]] = result
            elif is_not_found(exc):
                self.warn(f"Skipped {describe(obj, kind)}: it was deleted while its statistics were read.")
            else:
                lb = obj if kind == "load balancer" else lb_by_id[parent_lb_id(obj)]
                doing = f"read the statistics of {describe(obj, kind)}"
                if kind == "listener":
                    doing += f" on {describe(lb, 'load balancer')}"
                raise api_error(exc, doing)
        return stats


def main():
    StatsInfoModule().execute()


if __name__ == "__main__":
    main()
