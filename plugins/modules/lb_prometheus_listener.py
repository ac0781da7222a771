#!/usr/bin/python
# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: lb_prometheus_listener
short_description: Give an Octavia load balancer its PROMETHEUS listener
version_added: 0.1.0
description:
  - Creates, updates or deletes the listener of protocol C(PROMETHEUS) through which an Octavia
    load balancer serves its own metrics at C(/metrics), so that Prometheus can scrape it.
  - The listener is identified inside its load balancer by protocol C(PROMETHEUS) plus O(name).
    When the load balancer already has exactly one C(PROMETHEUS) listener under another name,
    that listener is adopted and renamed to O(name) instead of creating a second one.
  - Every option is validated before anything is written, including the IP version of
    O(allowed_cidrs) against the VIP, a port already used by another listener, the API version
    and a provider known not to support C(PROMETHEUS) listeners.
  - Options the task does not set are left as they are on an existing listener.
  - Octavia cannot change O(protocol_port) of a listener; changing it replaces the listener
    (delete, then create with the same settings), and the diff says so.
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
    details: Check mode reports the same C(changed) and C(diff) as the real run, without writing.
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
  name:
    description:
      - Name of the C(PROMETHEUS) listener on that load balancer.
      - Listeners are looked up only inside O(load_balancer), so several load balancers can each
        have a listener of the same name.
    type: str
    default: prometheus
  protocol_port:
    description:
      - TCP port on the VIP where C(/metrics) is served.
      - This attribute cannot be updated. A different value replaces the listener
        (delete, then create), which interrupts scraping for a moment.
      - Must not be used by another TCP-based listener of the same load balancer.
    type: int
    default: 8088
    aliases: [port]
  allowed_cidrs:
    description:
      - Networks allowed to connect to the listener, as CIDRs such as V(192.0.2.0/24).
      - Required with O(state=present). Without it Octavia would serve C(/metrics) to everyone who
        reaches the VIP, which is the whole internet once a floating IP is attached.
      - V(0.0.0.0/0) or V(::/0) given explicitly is accepted with a warning.
      - Compared as a set of normalised networks, so V(10.0.0.1/8) equals V(10.0.0.0/8) and the
        order does not matter.
      - Every CIDR must be of an IP version that one of the load balancer's VIPs has.
    type: list
    elements: str
  state:
    description:
      - V(present) creates or updates the listener, V(absent) deletes it.
      - With V(absent) only a C(PROMETHEUS) listener named O(name) is deleted; a load balancer
        that does not exist (any more) has no listener, so that is not an error.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Octavia offers C(PROMETHEUS) listeners from API version 2.25 on (Octavia 9.0.0, OpenStack Xena).
  - Octavia locks a load balancer while it changes. The module waits until the load balancer is
    C(ACTIVE) before writing, retries a write refused as "immutable" (HTTP 409) until O(timeout), and
    with O(wait=true) returns the listener only after it and the load balancer are C(ACTIVE) again.
  - The API does not publish whether the operator allows C(PROMETHEUS) listeners, so check mode
    cannot predict it. When the operator has disabled them
    (C([api_settings] allow_prometheus_listeners = False) in C(octavia.conf)), the API refuses
    the create, nothing is created, and the module says so.
  - For providers without C(PROMETHEUS) support (such as C(ovn)) use
    M(octavia.monitoring.lb_stats_info) to read statistics through the Octavia API.
seealso:
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
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._base import OctaviaModule, to_plain
from ansible_collections.octavia.monitoring.plugins.module_utils._compare import (
    LISTENER_KEYS,
    LISTENER_SETTINGS_SPEC,
    check_api_versions,
    check_cidr_family,
    check_listener_options,
    check_port_free,
    check_provider,
    desired,
    lb_summary,
    listener_fault_translator,
    plan_listener,
    scrape_target,
    select_listener,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import (
    Deadline,
    api_versions,
    describe,
    find_load_balancer,
    floating_ips_by_port,
    list_listeners,
    wait_lb_idle,
    write,
)


class ListenerModule(OctaviaModule):
    argument_spec = dict(
        load_balancer=dict(type="str", required=True, aliases=["loadbalancer"]),
        name=dict(type="str", default="prometheus"),
        protocol_port=dict(type="int", default=8088, aliases=["port"]),
        allowed_cidrs=dict(type="list", elements="str"),
        **LISTENER_SETTINGS_SPEC,
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )

    def run(self):
        self.deadline = Deadline(self.params["timeout"])
        present = self.params["state"] == "present"
        cidrs = self.validate_options()
        lb = find_load_balancer(self.conn, self.params["load_balancer"], ignore_missing=not present)
        if lb is None:
            return dict(listener=None, load_balancer=None, scrape_target=None,
                        **self.converge(plan_listener("absent", None, {}), None))
        listeners = list_listeners(self.conn, lb["id"])
        current = select_listener(listeners, self.params["name"], adopt=present)
        plan = self.plan(lb, listeners, current, cidrs)
        result = self.converge(plan, lambda p: self.apply(lb, current, p))
        return self.report(lb, current, plan, result)

    def validate_options(self):
        cidrs, warnings = check_listener_options(self.params)
        for warning in warnings:
            self.warn(warning)
        return cidrs

    def plan(self, lb, listeners, current, cidrs):
        """Plan the change and run every check that needs the load balancer, before any write."""
        state = self.params["state"]
        want = desired(dict(self.params, allowed_cidrs=cidrs), LISTENER_KEYS)
        plan = plan_listener(state, current, want)
        if state == "present":
            check_provider(lb)
            check_cidr_family(cidrs, lb)
            check_port_free(listeners, self.params["protocol_port"], lb,
                            own_id=current["id"] if current else None)
        if plan["action"] in ("create", "replace"):
            # An existing PROMETHEUS listener already proves API support, so the
            # versions list is read only when one must be created.
            check_api_versions(api_versions(self.conn))
        return plan

    def apply(self, lb, current, plan):
        """Carry out a plan (never called in check mode); return listener and load balancer."""
        action, lbapi, listener = plan["action"], self.conn.load_balancer, None
        busy = dict(lb, provisioning_status="PENDING_UPDATE")
        if action in ("delete", "replace"):
            write(self.conn, lb, "delete %s" % describe(current, "listener"),
                  lambda: lbapi.delete_listener(current["id"], ignore_missing=True), self.deadline)
            lb = busy
        if action in ("create", "replace"):
            listener = to_plain(write(
                self.conn, lb, "create listener '%s' on %s" % (self.params["name"], describe(lb, "load balancer")),
                lambda: lbapi.create_listener(load_balancer_id=lb["id"], protocol="PROMETHEUS", **plan["body"]),
                self.deadline, translate=listener_fault_translator(lb)))
        if action == "update":
            listener = to_plain(write(
                self.conn, lb, "update %s" % describe(current, "listener"),
                lambda: lbapi.update_listener(current["id"], **plan["delta"]), self.deadline))
        if not self.params["wait"]:
            return dict(listener=listener, load_balancer=None)
        lb, listener = wait_lb_idle(self.conn, busy, self.deadline,
                                    listener_id=listener["id"] if listener else None)
        return dict(listener=listener, load_balancer=lb)

    def report(self, lb, current, plan, result):
        """Add listener, load_balancer and scrape_target to the result."""
        if "listener" in result:
            # Without wait the load balancer is reported as read before the write.
            lb, listener = result["load_balancer"] or lb, result["listener"]
        elif plan["action"] in (None, "delete"):
            listener = current if plan["action"] is None else None
        else:
            listener = dict(current or {}, **plan["diff"]["after"])
            if plan["action"] == "replace":
                listener.pop("id", None)
        floating_ip = None
        if self.params["state"] == "present" and lb.get("vip_port_id"):
            floating_ip = floating_ips_by_port(self.conn, lb["vip_port_id"])[0].get(lb["vip_port_id"])
        result.update(
            listener=listener,
            load_balancer=lb_summary(lb, floating_ip),
            scrape_target=scrape_target(lb["vip_address"], listener["protocol_port"]) if listener else None,
        )
        return result


def main():
    ListenerModule().execute()


if __name__ == "__main__":
    main()
