# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
name: loadbalancers
short_description: Octavia load balancers as inventory hosts
version_added: 1.0.0
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
  - A cloud that cannot be read (API down, bad credentials, an API timeout) fails the inventory
    unless O(fail_on_errors=false); it is never an empty fleet. Ansible itself reports a failed
    inventory source as a warning and goes on with no hosts unless
    E(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true) (C([inventory] any_unparsed_is_failed)) is
    set, which is recommended for AWX and Automation Controller; the C(octavia.monitoring.site)
    playbook also stops when it finds no load balancer.
  - The configuration file name must end in C(octavia.yml) or C(octavia.yaml), for example
    C(inventory/prod.octavia.yml). It works as an AWX or Automation Controller inventory source
    (sourced from a project), with credentials injected through E(OS_CLIENT_CONFIG_FILE).
author:
  - octavia.monitoring contributors (@octavia-monitoring)
extends_documentation_fragment:
  - octavia.monitoring._filters
  - constructed
  - inventory_cache
requirements:
  - openstacksdk >= 4.22
seealso:
  - module: octavia.monitoring.lb_prometheus_listener_fleet
    description: Gives the load balancers of this inventory their PROMETHEUS listener in one task.
  - module: octavia.monitoring.lb_prometheus_listener_info
    description: The same scrape targets, read by a task instead of an inventory source.
  - plugin: ansible.builtin.constructed
    plugin_type: inventory
    description: How O(compose), O(groups) and O(keyed_groups) build variables and groups.
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
      - An unknown key or a value of the wrong type in an entry fails the inventory with a sentence
        that names it, as does an unknown top-level option of the file, so that a misspelt filter
        never selects the whole cloud.
    type: list
    elements: raw
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
filters:
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

from ansible_collections.octavia.monitoring.plugins.module_utils._auth import AUTH_ARGUMENT_SPEC, check_auth_values
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError
from ansible_collections.octavia.monitoring.plugins.module_utils._inventory import (
    check_keys,
    default_groups,
    host_names,
    host_vars,
)
from ansible_collections.octavia.monitoring.plugins.module_utils._octavia import cloud_and_region, read_fleet
from ansible_collections.octavia.monitoring.plugins.module_utils._sdk import HAS_OPENSTACKSDK, connect
from ansible_collections.octavia.monitoring.plugins.module_utils._select import normalise_filters

display = Display()

# Options a dict entry of `clouds` may carry: the modules' auth options, and `regions`.
CLOUD_KEYS = tuple(AUTH_ARGUMENT_SPEC) + ("regions",)


def expand_clouds(entries, regions_of):
    """Turn the `clouds` option into a list of connection option dicts, one per region.

    :param entries: the option's value.
    :param regions_of: callable cloud name -> list of the region names its
        clouds.yaml entry lists (empty when it lists none).
    :raises OctaviaError: an entry that is neither a name nor a dict of known
        keys with values of the right types.
    """
    if not entries:
        return [{}]
    expanded = []
    for number, entry in enumerate(entries, 1):
        where = f"entry {number} of clouds"
        if isinstance(entry, str):
            regions = regions_of(entry)
            if len(regions) > 1:
                expanded.extend(dict(cloud=entry, region_name=region) for region in regions)
            else:
                expanded.append(dict(cloud=entry))
            continue
        if not isinstance(entry, dict):
            raise OctaviaError(f"Each entry of clouds must be a cloud name or a dict of auth options, "
                               f"not {entry!r}.")
        check_keys(entry, CLOUD_KEYS, where)
        options = {k: v for k, v in entry.items() if k != "regions"}
        try:
            check_auth_values(options, where)
        except ValueError as exc:
            raise OctaviaError(str(exc)) from None
        regions = entry.get("regions") or []
        if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
            raise OctaviaError(f"regions in {where} must be a list of region names, not {regions!r}.")
        if regions:
            expanded.extend(dict(options, region_name=region) for region in regions)
        else:
            expanded.append(options)
    return expanded


def clouds_yaml_regions(name):
    """The region names the clouds.yaml entry ``name`` lists (openstacksdk's own reading)."""
    from openstack import config as os_config
    try:
        regions = os_config.OpenStackConfig().get_all_clouds()
    except Exception as exc:
        raise AnsibleError(f"Could not read clouds.yaml to find the regions of cloud '{name}': "
                           f"{to_native(exc)}") from None
    return sorted({r.region_name for r in regions if r.name == name and r.region_name})


def describe_source(options):
    """A phrase naming a cloud entry for messages."""
    name = options.get("cloud")
    if isinstance(name, str):
        where = f"cloud '{name}'"
    elif isinstance(name, dict):
        where = "the cloud given as a dict"
    else:
        where = "the cloud from the OS_* environment or clouds.yaml"
    if options.get("region_name"):
        where += f" region '{options['region_name']}'"
    return where


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "octavia.monitoring.loadbalancers"

    def verify_file(self, path):
        """Accept only files named *octavia.yml / *octavia.yaml."""
        return super().verify_file(path) and path.endswith(("octavia.yml", "octavia.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        try:
            # Ansible ignores keys a plugin does not document; a misspelt filter would
            # then select the whole cloud, which a rollout would go on to change.
            check_keys(config or {}, self._options, f"the inventory source {path}")
            self.filters = normalise_filters(self.get_option("filters"))
            self.sources = expand_clouds(self.get_option("clouds"), clouds_yaml_regions)
        except OctaviaError as exc:
            raise AnsibleParserError(to_native(exc)) from None
        if not HAS_OPENSTACKSDK:
            raise AnsibleParserError("The octavia.monitoring.loadbalancers inventory needs the Python "
                                     "library openstacksdk on the controller; install it (pip install "
                                     "openstacksdk).")
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
        records = []
        for options in self.sources:
            try:
                records.extend(self.read_one(options))
            except OctaviaError as exc:
                message = f"Could not read the load balancers of {describe_source(options)}: {to_native(exc)}"
                if self.get_option("fail_on_errors"):
                    raise AnsibleParserError(message) from None
                display.warning(message)
        return records

    def read_one(self, options):
        conn = connect(options)
        try:
            fleet = read_fleet(conn, self.filters)
            cloud_name, region = cloud_and_region(conn, options)
        finally:
            conn.close()
        return [dict(id=lb["id"], name=lb.get("name") or "", created_at=lb.get("created_at") or "",
                     cloud=cloud_name, region=region,
                     vars=host_vars(lb, fleet["listeners"].get(lb["id"], []),
                                    fleet["floating_ips"].get(lb.get("vip_port_id")),
                                    cloud_name, region, self.get_option("address")))
                for lb in fleet["load_balancers"]]

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
