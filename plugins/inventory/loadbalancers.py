# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
name: loadbalancers
short_description: Octavia load balancers as inventory hosts
version_added: 0.1.0
description:
  - Makes one inventory host per Octavia load balancer, across one or more clouds and regions.
  - Reads each cloud and region with a handful of listing requests (load balancers, listeners,
    floating IPs), never one request per load balancer.
  - Every host has C(ansible_connection=local), because tasks for a load balancer talk to the
    Octavia API from the controller, and C(ansible_python_interpreter) set to the Python running
    Ansible on the controller (the one that has openstacksdk). O(compose) can override both.
  - "Host variables: C(octavia_lb) (the load balancer summary the modules return: id, name,
    vip_address, vip_port_id, project_id, provider, availability_zone, provisioning_status,
    operating_status, floating_ip, plus tags), C(octavia_lb_listeners) (every listener: id, name,
    protocol, protocol_port, allowed_cidrs, connection_limit, is_admin_state_up,
    provisioning_status, operating_status, tags), C(octavia_lb_prometheus) (one item per
    C(PROMETHEUS) listener, in the same shape as the items of
    M(octavia.monitoring.lb_prometheus_listener_info): listener, load_balancer, scrape_target,
    labels), C(octavia_lb_cloud) and C(octavia_lb_region)."
  - "Host names: the load balancer's name, or its ID when it has none. When several load
    balancers of the clouds and regions read share a name, the oldest (by C(created_at), then
    cloud, region and ID) keeps the plain name and every other one is named
    C(<name>_<first 8 characters of its ID>) (C(<name>_<ID>) should that be taken too). A new
    namesake therefore never renames an existing host; when the oldest is deleted, the next
    oldest takes the plain name."
  - "Groups (unless O(default_groups=false)): C(octavia_loadbalancers) (every host),
    C(octavia_project_<project ID>), C(octavia_provider_<provider>), and either
    C(octavia_with_prometheus_listener) or C(octavia_without_prometheus_listener)."
  - The configuration file name must end in C(octavia.yml) or C(octavia.yaml), for example
    C(inventory/prod.octavia.yml). It works as an AWX or Automation Controller inventory source
    (sourced from a project), with credentials injected through E(OS_CLIENT_CONFIG_FILE).
author:
  - octavia.monitoring contributors (@octavia-monitoring)
extends_documentation_fragment:
  - constructed
  - inventory_cache
requirements:
  - openstacksdk
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [octavia.monitoring.loadbalancers]
  clouds:
    description:
      - The clouds and regions to read.
      - A string is the name of a cloud in C(clouds.yaml); every region that entry lists under
        C(regions) is read.
      - A dict holds the auth options of the collection's modules (C(cloud), C(auth),
        C(auth_type), C(region_name), C(validate_certs), C(ca_cert), C(client_cert),
        C(client_key), C(api_timeout), C(interface)), and optionally C(regions), a list of
        region names to read one after the other.
      - When empty, the one cloud that E(OS_CLOUD), the C(OS_*) variables or the C(clouds.yaml)
        named by E(OS_CLIENT_CONFIG_FILE) describe is read.
    type: list
    elements: raw
    default: []
  project_ids:
    description: Only load balancers of these projects.
    type: list
    elements: str
    default: []
  tags:
    description: Only load balancers that carry all these tags (filtered by the API).
    type: list
    elements: str
    default: []
  name_pattern:
    description: Only load balancers whose name matches this shell-style pattern, such as V(web-*).
    type: str
  providers:
    description: Only load balancers of these providers, such as V(amphora) or V(ovn).
    type: list
    elements: str
    default: []
  provisioning_statuses:
    description: Only load balancers in these provisioning states, such as V(ACTIVE) or V(ERROR).
    type: list
    elements: str
    default: []
  address:
    description:
      - Which address the scrape targets in C(octavia_lb_prometheus) use.
      - V(vip) is the VIP; V(floating_ip) the floating IP of the VIP port (a load balancer
        without one fails the inventory); V(auto) the floating IP when there is one, else the VIP.
    type: str
    choices: [vip, floating_ip, auto]
    default: vip
  default_groups:
    description: Whether to create the groups by project, by provider and by PROMETHEUS listener.
    type: bool
    default: true
  fail_on_errors:
    description:
      - Whether a cloud or region that cannot be read fails the inventory.
      - With V(false) it is skipped with a warning and the other clouds still produce hosts.
    type: bool
    default: true
"""

EXAMPLES = r"""
# inventory/lab.octavia.yml: the cloud from OS_CLIENT_CONFIG_FILE, every load balancer
plugin: octavia.monitoring.loadbalancers

---
# inventory/prod.octavia.yml: two clouds, amphora load balancers of the web-* family, cached
plugin: octavia.monitoring.loadbalancers
clouds:
  - prod
  - cloud: dr
    regions: [RegionOne, RegionTwo]
name_pattern: web-*
providers: [amphora]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/octavia-inventory
cache_timeout: 600
compose:
  scrape_target: octavia_lb_prometheus[0].scrape_target if octavia_lb_prometheus else ''
keyed_groups:
  - key: octavia_lb_region
    prefix: region
  - key: octavia_lb.operating_status | lower
    prefix: operating
groups:
  octavia_degraded: octavia_lb.operating_status != 'ONLINE'
"""

import sys

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.octavia.monitoring.plugins.module_utils._base import (
    HAS_OPENSTACKSDK,
    OctaviaError,
    connect,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._compare import PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._fleet import (
    default_groups,
    host_names,
    host_vars,
    normalise_filters,
    read_cloud,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import cloud_and_region

display = Display()

# Options a dict entry of `clouds` may carry (the modules' auth options, and `regions`).
CLOUD_KEYS = ("cloud", "auth", "auth_type", "region_name", "validate_certs", "ca_cert", "client_cert",
              "client_key", "api_timeout", "interface", "regions")


def expand_clouds(entries, regions_of):
    """Turn the `clouds` option into a list of connection option dicts, one per region.

    :param entries: the option's value.
    :param regions_of: callable cloud name -> list of the region names its
        clouds.yaml entry lists (empty when it lists none).
    :raises AnsibleParserError: an entry that is neither a name nor a dict of known keys.
    """
    if not entries:
        return [{}]
    expanded = []
    for entry in entries:
        if isinstance(entry, str):
            regions = regions_of(entry)
            if len(regions) > 1:
                expanded.extend(dict(cloud=entry, region_name=region) for region in regions)
            else:
                expanded.append(dict(cloud=entry))
        elif isinstance(entry, dict):
            unknown = sorted(set(entry) - set(CLOUD_KEYS))
            if unknown:
                raise AnsibleParserError(
                    "An entry of clouds has the unknown key(s) %s; the keys are %s."
                    % (", ".join(unknown), ", ".join(CLOUD_KEYS)))
            options = dict((k, v) for k, v in entry.items() if k != "regions")
            regions = entry.get("regions") or []
            if not isinstance(regions, list):
                raise AnsibleParserError("regions in an entry of clouds must be a list of region names.")
            if regions:
                expanded.extend(dict(options, region_name=region) for region in regions)
            else:
                expanded.append(options)
        else:
            raise AnsibleParserError("Each entry of clouds must be a cloud name or a dict of auth "
                                     "options, not %r." % (entry,))
    return expanded


def clouds_yaml_regions(name):
    """The region names the clouds.yaml entry ``name`` lists (openstacksdk's own reading)."""
    from openstack import config as os_config
    try:
        regions = os_config.OpenStackConfig().get_all_clouds()
    except Exception as exc:
        raise AnsibleError("Could not read clouds.yaml to find the regions of cloud '%s': %s"
                           % (name, to_native(exc)))
    return sorted(set(r.region_name for r in regions if r.name == name and r.region_name))


def describe_source(options):
    """A phrase naming a cloud entry for messages."""
    name = options.get("cloud")
    where = ("cloud '%s'" % name) if isinstance(name, str) else (
        "the cloud given as a dict" if isinstance(name, dict) else "the cloud from the OS_* environment or clouds.yaml")
    if options.get("region_name"):
        where += " region '%s'" % options["region_name"]
    return where


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "octavia.monitoring.loadbalancers"

    def verify_file(self, path):
        """Accept only files named *octavia.yml / *octavia.yaml."""
        return super(InventoryModule, self).verify_file(path) and \
            path.endswith(("octavia.yml", "octavia.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if not HAS_OPENSTACKSDK:
            raise AnsibleError("The octavia.monitoring.loadbalancers inventory needs the Python library "
                               "openstacksdk on the controller; install it (pip install openstacksdk).")
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        records = None
        if use_cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if records is None:
            records = self.fetch()
        if update_cache:
            self._cache[cache_key] = records
        self.populate(records)

    def fetch(self):
        """Read every cloud and region; return host records (JSON-serialisable, cacheable)."""
        try:
            filters = normalise_filters(dict(
                project_ids=self.get_option("project_ids"), tags=self.get_option("tags"),
                name_pattern=self.get_option("name_pattern"), providers=self.get_option("providers"),
                provisioning_statuses=self.get_option("provisioning_statuses")))
        except PlanError as exc:
            raise AnsibleParserError(to_native(exc))
        records = []
        for options in expand_clouds(self.get_option("clouds"), clouds_yaml_regions):
            try:
                records.extend(self.read_one(options, filters))
            except (OctaviaError, PlanError) as exc:
                message = "Could not read the load balancers of %s: %s" % (describe_source(options),
                                                                           to_native(exc))
                if self.get_option("fail_on_errors"):
                    raise AnsibleError(message)
                display.warning(message)
        return records

    def read_one(self, options, filters):
        conn = connect(options)
        try:
            cloud = read_cloud(conn, filters)
            cloud_name, region = cloud_and_region(conn, options)
        finally:
            conn.close()
        records = []
        for lb in cloud["load_balancers"]:
            records.append(dict(
                id=lb["id"], name=lb.get("name") or "", created_at=lb.get("created_at") or "",
                cloud=cloud_name, region=region,
                vars=host_vars(lb, cloud["listeners"].get(lb["id"], []),
                               cloud["floating_ips"].get(lb.get("vip_port_id")),
                               cloud_name, region, self.get_option("address"))))
        return records

    def populate(self, records):
        strict = self.get_option("strict")
        for name, record in zip(host_names(records), records):
            self.inventory.add_host(name)
            # The inventory is parsed by the Python that runs the playbook, the one with
            # openstacksdk; inventory values are never templated, so no ansible_playbook_python.
            self.inventory.set_variable(name, "ansible_python_interpreter", sys.executable)
            for key, value in record["vars"].items():
                self.inventory.set_variable(name, key, value)
            if self.get_option("default_groups"):
                for group in default_groups(record["vars"]):
                    group = self.inventory.add_group(self._sanitize_group_name(group))
                    self.inventory.add_child(group, name)
            self._set_composite_vars(self.get_option("compose"), self.inventory.get_host(name).get_vars(),
                                     name, strict=strict)
            hostvars = self.inventory.get_host(name).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
