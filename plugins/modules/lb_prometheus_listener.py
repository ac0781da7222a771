#!/usr/bin/python
# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: lb_prometheus_listener
short_description: Give an Octavia load balancer its PROMETHEUS listener
version_added: 1.0.0
description:
  - Creates, updates or deletes the listener of protocol C(PROMETHEUS) through which an Octavia
    load balancer serves its own metrics at C(/metrics), so that Prometheus can scrape it.
  - The listener is identified inside its load balancer by protocol C(PROMETHEUS) plus O(name).
  - Options the task does not set are left as they are on an existing listener.
  - This module is M(octavia.monitoring.lb_prometheus_listener_fleet) applied to one load
    balancer, with the same checks, plan, writes and result items, through one code path.
author:
  - octavia.monitoring contributors (@octavia-monitoring)
extends_documentation_fragment:
  - octavia.monitoring._listener
  - octavia.monitoring._auth
  - octavia.monitoring._attributes
  - octavia.monitoring._attributes.actiongroup_octavia
attributes:
  check_mode:
    support: full
    details: Check mode makes the same checks and reads as the real run (it also waits for a load balancer
      that is C(PENDING_*)) and reports the same C(changed), C(action), C(outcome) and C(diff), without writing.
  diff_mode:
    support: full
    details: The diff shows the managed listener settings before and after, and names a replacement.
  idempotent:
    support: full
options:
  load_balancer:
    description:
      - Name or ID of the load balancer.
      - A name that matches several load balancers fails and lists their IDs.
    type: str
    required: true
    aliases: [loadbalancer]
notes:
  - For providers without C(PROMETHEUS) support (such as C(ovn)) use
    M(octavia.monitoring.lb_stats_info) to read statistics through the Octavia API.
seealso:
  - module: octavia.monitoring.lb_prometheus_listener_fleet
  - module: octavia.monitoring.lb_prometheus_listener_info
  - module: octavia.monitoring.lb_stats_info
  - name: Octavia monitoring guide
    description: Upstream description of the PROMETHEUS listener and its metrics.
    link: https://docs.openstack.org/octavia/latest/user/guides/monitoring.html
"""

EXAMPLES = r"""
- name: Serve /metrics of load balancer web-lb to the Prometheus network
  octavia.monitoring.lb_prometheus_listener:
    cloud: mycloud
    load_balancer: web-lb
    allowed_cidrs:
      - 192.0.2.0/24

- name: Move the metrics endpoint to port 9100 (replaces the listener)
  octavia.monitoring.lb_prometheus_listener:
    cloud: mycloud
    load_balancer: web-lb
    protocol_port: 9100
    allowed_cidrs:
      - 192.0.2.0/24
      - 2001:db8:100::/64
    tags:
      - monitoring

- name: Serve /metrics over TLS, only to clients with a certificate from the Prometheus CA
  octavia.monitoring.lb_prometheus_listener:
    cloud: mycloud
    load_balancer: web-lb
    allowed_cidrs:
      - 192.0.2.0/24
    default_tls_container_ref: https://key-manager.example.net/v1/containers/5d5c1f0c-6a3e-4b4e-9d1e-0c2a7f3b8e41
    client_ca_tls_container_ref: https://key-manager.example.net/v1/secrets/8f2b7a64-1c3d-4e5f-a6b7-c8d9e0f1a2b3
    client_authentication: MANDATORY
    tls_versions:
      - TLSv1.2
      - TLSv1.3

- name: Serve /metrics over plain HTTP again (in place, same listener)
  octavia.monitoring.lb_prometheus_listener:
    cloud: mycloud
    load_balancer: web-lb
    allowed_cidrs:
      - 192.0.2.0/24
    default_tls_container_ref: ""
    client_ca_tls_container_ref: ""
    client_authentication: NONE

- name: Remove the metrics endpoint
  octavia.monitoring.lb_prometheus_listener:
    cloud: mycloud
    load_balancer: web-lb
    state: absent
"""

RETURN = r"""
listener:
  description:
    - The listener as the API shows it after the run, with openstacksdk's attribute names.
    - In check mode, the settings the listener would have (without C(id) when it would be created).
    - V(null) with O(state=absent).
  returned: always
  type: dict
  sample:
    id: 4f1c2b9e-3a57-4c8d-9b1e-2f6a7c8d9e01
    name: prometheus
    protocol: PROMETHEUS
    protocol_port: 8088
    allowed_cidrs: [192.0.2.0/24]
    connection_limit: -1
    description: ""
    is_admin_state_up: true
    provisioning_status: ACTIVE
    operating_status: ONLINE
    tags: []
    timeout_client_data: 50000
    timeout_member_connect: 5000
    timeout_member_data: 50000
    timeout_tcp_inspect: 0
load_balancer:
  description: Summary of the load balancer; V(null) when it does not exist and O(state=absent).
  returned: always
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
      description: Provider driver, for example V(amphora).
      type: str
    availability_zone:
      description: Availability zone, if any.
      type: str
    provisioning_status:
      description: Provisioning status after the run.
      type: str
    operating_status:
      description: Operating status after the run.
      type: str
    floating_ip:
      description:
        - Floating IP attached to the VIP port, looked up through the network service.
        - V(null) when there is none, or when the cloud has no network service.
      type: str
  sample:
    id: 0b9f6a47-5a2b-4d0e-8c3f-7d1e2a3b4c5d
    name: web-lb
    vip_address: 192.0.2.10
    vip_port_id: 6c1d0e2f-3a4b-4c5d-8e9f-0a1b2c3d4e5f
    project_id: 8d3c6a1e0f2b4c5d9e7f1a2b3c4d5e6f
    provider: amphora
    availability_zone: null
    provisioning_status: ACTIVE
    operating_status: ONLINE
    floating_ip: 203.0.113.7
scrape_target:
  description:
    - Where Prometheus scrapes the listener, C(host:port) with the VIP address; an IPv6 address is
      put in brackets.
    - V(null) with O(state=absent).
  returned: always
  type: str
  sample: 192.0.2.10:8088
diff:
  description: Managed settings before and after; C(before_header) and C(after_header) name the action.
  returned: always
  type: dict
  contains:
    before:
      description: Settings before the run (empty when the listener is created).
      type: dict
    after:
      description: Settings after the run (empty when the listener is deleted).
      type: dict
action:
  description:
    - What the run did (or, in check mode, would do) to the listener.
    - V(create), V(update) (in place), V(replace) (a new O(protocol_port), or leftovers of an
      interrupted replacement removed), V(repair) (a listener in C(ERROR) deleted and created
      again), V(delete), or V(null) when nothing was to be done.
  returned: always
  type: str
  sample: create
  version_added: 1.0.0
tls_change:
  description:
    - V(added) or V(removed) when the run turns TLS on or off on an existing listener (a
      certificate in O(default_tls_container_ref) or O(sni_container_refs) appears or goes), so
      Prometheus must change between HTTPS and plain HTTP; V(null) otherwise, and for a listener
      that is created or deleted.
    - With RV(action=update) the change is made in place, on the same listener ID; Octavia lets
      a C(PROMETHEUS) listener gain and lose its certificate by an update. With V(replace) or
      V(repair) the new listener carries it.
    - The diff's C(after_header) says the same in words.
  returned: always
  type: str
  sample: removed
  version_added: 1.0.0
outcome:
  description:
    - V(changed) or V(unchanged) on success. A failed run reports C(outcome) V(failed) when
      nothing was written and V(unconfirmed) when a write went through but its result could not
      be confirmed (then C(changed) is V(true)).
  returned: always
  type: str
  sample: changed
  version_added: 1.0.0
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._base import OctaviaModule
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import read_load_balancer
from ansible_collections.octavia.monitoring.plugins.module_utils._plan import LISTENER_SPEC, check_listener_options
from ansible_collections.octavia.monitoring.plugins.module_utils._rollout import Rollout, single_result


class ListenerModule(OctaviaModule):
    argument_spec = dict(
        load_balancer=dict(type="str", required=True, aliases=["loadbalancer"]),
        **LISTENER_SPEC,
    )

    def run(self):
        cidrs, warnings = check_listener_options(self.params)
        for warning in warnings:
            self.warn(warning)
        present = self.params["state"] == "present"
        requested = self.params["load_balancer"]
        lb = read_load_balancer(self.conn, requested, ignore_missing=not present, floating_ip=present,
                                port_security=present)
        if lb is None:
            return dict(changed=False, action=None, outcome="unchanged", listener=None,
                        load_balancer=None, scrape_target=None, tls_change=None,
                        diff=dict(before={}, after={}))
        rollout = Rollout(self.conn, self.connect, self.params, cidrs, self.check_mode)
        [item] = rollout.run(lb, [(requested, lb["load_balancers"][0])])
        for warning in rollout.warnings:
            self.warn(warning)
        return single_result(item)


def main():
    ListenerModule().execute()


if __name__ == "__main__":
    main()
