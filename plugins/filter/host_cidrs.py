# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The networks of a group of hosts, for a listener's allowed_cidrs.

Documentation: ``host_cidrs.yml``.
"""

import ipaddress

ADDRESS_VARIABLE = "octavia_listeners_prometheus_address"


def _address(host, host_vars):
    for key in (ADDRESS_VARIABLE, "ansible_host"):
        value = host_vars.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return host


def _cidr(address):
    """``address`` as a CIDR (a bare address becomes /32 or /128), or None when it is no IP."""
    try:
        if "/" in address:
            ipaddress.ip_network(address, strict=False)
            return address
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return f"{ip}/{ip.max_prefixlen}"


def host_cidrs(hosts, hostvars, invalid=False):
    """Return the networks of ``hosts``, or the hosts whose address is not an IP.

    A host's address is its ``octavia_listeners_prometheus_address`` (an
    address or a CIDR, for a server behind NAT) when set, else its
    ``ansible_host``, else its inventory name.

    :param hosts: host names (for example ``groups['prometheus']``).
    :param hostvars: ``hostvars``.
    :param invalid: return ``{host: address}`` for the hosts whose address is
        neither an IP address nor a CIDR, instead of the networks.
    :returns: the CIDRs in host order without repeats (a bare address as /32
        or /128, a CIDR as written); hosts without an IP are left out of it.
    """
    cidrs, bad = [], {}
    for host in hosts or []:
        address = _address(host, hostvars[host])
        cidr = _cidr(address)
        if cidr is None:
            bad[host] = address
        elif cidr not in cidrs:
            cidrs.append(cidr)
    return bad if invalid else cidrs


class FilterModule:
    """Allowed networks from inventory hosts."""

    def filters(self):
        return {"host_cidrs": host_cidrs}
