#!/usr/bin/python
# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: lb_prometheus_listener_info
short_description: Find the PROMETHEUS listeners of Octavia load balancers and their scrape targets
version_added: 1.0.0
description:
  - Lists the listeners of protocol C(PROMETHEUS) of the load balancers in scope, with their load
    balancer, the C(host:port) Prometheus must scrape and the labels to put on that target.
  - Also lists the load balancers in scope that have no such listener, so a rollout can see what
    is missing.
  - Reads the listeners of every load balancer with one filtered listing, not one request per load
    balancer. Floating IPs come from one listing of the network service, when the cloud has one.
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
      - Name or ID of one load balancer to look at.
      - When it does not exist the result is empty. A name that matches several load balancers fails
        and lists their IDs.
      - When not set, every load balancer the credentials can see is in scope, after O(filters).
      - A load balancer that does not pass O(filters) is not in scope either.
    type: str
    aliases: [loadbalancer]
  name:
    description:
      - Only listeners with this name or ID.
      - A load balancer whose C(PROMETHEUS) listeners all have other names is then reported in
        RV(load_balancers_without_listener).
    type: str
  address:
    description:
      - Which address RV(prometheus_listeners[].scrape_target) uses.
      - V(vip) is the VIP address, for a Prometheus server inside the cloud network.
      - V(floating_ip) is the floating IP attached to the VIP port; the module fails, naming the
        load balancer, when one has none or when the cloud has no network service to ask.
      - V(auto) is the floating IP where there is one, else the VIP.
    type: str
    choices: [vip, floating_ip, auto]
    default: vip
  catalog:
    description:
      - Also return, for each item, the names of every listener, pool and member of its load
        balancer in RV(prometheus_listeners[].catalog).
      - The metrics of the C(PROMETHEUS) endpoint carry only IDs; the octavia_prometheus role turns
        this catalogue into recording rules that give them names.
      - Costs one listing of all listeners, one of pools and one request per pool for its members
        (at most 8 at a time).
    type: bool
    default: false
notes:
  - The labels match what the octavia_prometheus role writes into its file_sd targets.
seealso:
  - module: octavia.monitoring.lb_prometheus_listener
  - module: octavia.monitoring.lb_stats_info
"""

EXAMPLES = r"""
- name: Scrape targets of every PROMETHEUS listener in a project
  octavia.monitoring.lb_prometheus_listener_info:
    cloud: mycloud
    project_id: 8d3c6a1e0f2b4c5d9e7f1a2b3c4d5e6f

- name: Targets through floating IPs where attached, with the name catalogue
  octavia.monitoring.lb_prometheus_listener_info:
    cloud: mycloud
    tags:
      - monitored
    address: auto
    catalog: true

- name: Load balancers that still miss their metrics listener
  octavia.monitoring.lb_prometheus_listener_info:
    cloud: mycloud
  register: prometheus_scan

- name: Report them
  ansible.builtin.debug:
    msg: "{{ prometheus_scan.load_balancers_without_listener | map(attribute='name') }}"
"""

RETURN = r"""
prometheus_listeners:
  description:
    - One item per C(PROMETHEUS) listener in scope, sorted by load balancer name, load balancer ID,
      port and listener ID.
    - Each item has the keys M(octavia.monitoring.lb_prometheus_listener) returns, plus RV(prometheus_listeners[].labels).
  returned: always
  type: list
  elements: dict
  contains:
    listener:
      description: The listener as the API shows it, with openstacksdk's attribute names.
      type: dict
    load_balancer:
      description: Summary of its load balancer.
      type: dict
      contains:
        id:
          description: Load balancer ID.
          type: str
        name:
          description: Load balancer name.
          type: str
        vip_address:
          description: Address of the VIP.
          type: str
        vip_port_id:
          description: Network port of the VIP.
          type: str
        project_id:
          description: Project that owns the load balancer.
          type: str
        provider:
          description: Provider driver.
          type: str
        availability_zone:
          description: Availability zone, if any.
          type: str
        provisioning_status:
          description: Provisioning status.
          type: str
        operating_status:
          description: Operating status.
          type: str
        floating_ip:
          description: Floating IP on the VIP port; V(null) when none or when there is no network service.
          type: str
    scrape_target:
      description: C(host:port) to scrape, chosen by O(address); an IPv6 address is in brackets.
      type: str
      sample: 192.0.2.10:8088
    scheme:
      description:
        - V(https) for a listener that serves C(/metrics) over TLS (it has a certificate), else V(http).
      type: str
      sample: http
      version_added: 1.0.0
    client_auth:
      description:
        - The listener's C(client_authentication); with V(MANDATORY) only a scraper with a client
          certificate signed by its client CA gets through the TLS handshake.
      type: str
      sample: NONE
      version_added: 1.0.0
    labels:
      description:
        - Labels for the scrape target. C(cloud) and C(region) are present only where known.
        - A TLS listener's labels also carry C(__scheme__=https), which Prometheus reads from
          service discovery, so one scrape job can mix plain and TLS listeners.
      type: dict
      sample:
        loadbalancer_id: 0b9f6a47-5a2b-4d0e-8c3f-7d1e2a3b4c5d
        loadbalancer_name: web-lb
        project_id: 8d3c6a1e0f2b4c5d9e7f1a2b3c4d5e6f
        listener_id: 4f1c2b9e-3a57-4c8d-9b1e-2f6a7c8d9e01
        vip_address: 192.0.2.10
        provider: amphora
        availability_zone: ""
        cloud: mycloud
        region: RegionOne
    catalog:
      description: Names of every object of the load balancer; only with O(catalog=true).
      type: dict
      returned: when O(catalog=true)
      contains:
        listeners:
          description: Every listener, each with C(id), C(name), C(protocol), C(protocol_port), C(connection_limit).
          type: list
          elements: dict
        pools:
          description:
            - Every pool, each with C(id), C(name), C(protocol), C(lb_algorithm), C(listener_ids) (every
              listener that uses the pool, sorted) and C(listener_id) (the first of them, or V(null)).
          type: list
          elements: dict
        members:
          description: Every member, each with C(id), C(name), C(address), C(protocol_port), C(weight), C(pool_id).
          type: list
          elements: dict
load_balancers_without_listener:
  description: Summaries (as in RV(prometheus_listeners[].load_balancer)) of the load balancers in scope without a matching C(PROMETHEUS) listener.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._base import OctaviaModule
from ansible_collections.octavia.monitoring.plugins.module_utils._catalog import catalog_entry
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import (
    cloud_and_region,
    find_load_balancer,
    floating_ips_by_port,
    list_listeners,
    list_load_balancers,
    list_members,
    list_pools,
    map_bounded,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._select import (
    FILTERS_SPEC,
    lb_matches,
    listeners_by_lb,
    normalise_filters,
    parent_lb_id,
    server_side_query,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._targets import (
    ADDRESS_CHOICES,
    lb_summary,
    scrape_items,
)

CATALOG_WORKERS = 8


class ListenerInfoModule(OctaviaModule):
    argument_spec = dict(
        load_balancer=dict(type="str", aliases=["loadbalancer"]),
        name=dict(type="str"),
        filters=FILTERS_SPEC,
        address=dict(type="str", default="vip", choices=list(ADDRESS_CHOICES)),
        catalog=dict(type="bool", default=False),
    )

    def run(self):
        self.filters = normalise_filters(self.params["filters"])
        self.query = server_side_query(self.filters)
        lbs = self.load_balancers()
        listeners = self.listeners(lbs) if lbs else []
        summaries = self.summaries(lbs)
        cloud, region = cloud_and_region(self.conn, self.params)
        by_lb = listeners_by_lb(listeners)
        items = [item for summary in summaries
                 for item in scrape_items(summary, by_lb.get(summary["id"], []), cloud, region,
                                          self.params["address"], self.params["name"])]
        if self.params["catalog"] and items:
            self.add_catalog(items, listeners)
        covered = {item["load_balancer"]["id"] for item in items}
        return dict(prometheus_listeners=items,
                    load_balancers_without_listener=[s for s in summaries if s["id"] not in covered])

    def load_balancers(self):
        if self.params["load_balancer"]:
            lb = find_load_balancer(self.conn, self.params["load_balancer"], ignore_missing=True)
            return [lb] if lb and lb_matches(lb, self.filters) else []
        return [lb for lb in list_load_balancers(self.conn, **self.query) if lb_matches(lb, self.filters)]

    def listeners(self, lbs):
        """All listeners of the load balancers in scope, from one listing."""
        # The catalogue needs every listener; without it only PROMETHEUS ones are fetched.
        protocol = None if self.params["catalog"] else "PROMETHEUS"
        lb_id = lbs[0]["id"] if self.params["load_balancer"] else None
        wanted = {lb["id"] for lb in lbs}
        return [item for item in list_listeners(self.conn, lb_id=lb_id, protocol=protocol,
                                                project_id=self.query["project_id"])
                if parent_lb_id(item) in wanted]

    def summaries(self, lbs):
        """Load balancer summaries with floating IPs, in a stable order."""
        if not lbs:
            return []
        port = lbs[0].get("vip_port_id") if len(lbs) == 1 else None
        fips, missing = floating_ips_by_port(self.conn, port)
        if missing and self.params["address"] == "floating_ip":
            raise OctaviaError("address=floating_ip needs the network service to look up floating "
                               f"IPs, but {missing}; use address=vip or address=auto.")
        return [lb_summary(lb, fips.get(lb.get("vip_port_id")))
                for lb in sorted(lbs, key=lambda lb: (lb.get("name") or "", lb["id"]))]

    def add_catalog(self, items, listeners):
        """Attach the names of every listener, pool and member of each item's load balancer."""
        lb_ids = {item["load_balancer"]["id"] for item in items}
        single = items[0]["load_balancer"]["id"] if self.params["load_balancer"] else None
        pools = [pool for pool in list_pools(self.conn, lb_id=single, project_id=self.query["project_id"])
                 if {lb["id"] for lb in pool.get("loadbalancers") or []} & lb_ids]
        members = {}
        for pool, found, exc in map_bounded(list_members_of, pools, CATALOG_WORKERS,
                                            connect=self.connect, inline_conn=self.conn):
            if exc is not None:
                raise exc
            members[pool["id"]] = found
        for item in items:
            lb_id = item["load_balancer"]["id"]
            item["catalog"] = catalog_entry(
                [x for x in listeners if parent_lb_id(x) == lb_id],
                [p for p in pools if lb_id in {lb["id"] for lb in p.get("loadbalancers") or []}],
                members)


def list_members_of(pool, conn):
    """``list_members`` with the argument order of ``map_bounded``'s callback."""
    return list_members(conn, pool)


def main():
    ListenerInfoModule().execute()


if __name__ == "__main__":
    main()
