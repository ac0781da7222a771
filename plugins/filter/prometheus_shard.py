# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Which share of the Octavia targets one Prometheus of a sharded group scrapes.

Its documentation lives beside it in ``prometheus_shard.yml``.
"""

from ansible.errors import AnsibleFilterError

# Prometheus computes hashmod into a label of its own; names starting with __tmp
# are the ones its documentation keeps free for such steps.
SHARD_LABEL = "__tmp_octavia_shard"


def prometheus_shard(hosts, host, key="loadbalancer_id"):
    """Return this host's place in the shard group and the relabelling that keeps its share.

    The group is sorted and repeats are dropped, so every host of the group computes
    the same order whatever order its inventory lists them in. Each target's ``key``
    label is hashed modulo the number of shards (Prometheus' ``hashmod``); the shard
    whose index is the remainder keeps it, so every target is kept by exactly one
    shard and all the listeners of one load balancer by the same one. A target
    without the label hashes the empty string and still lands on exactly one shard.

    :param hosts: the names of the hosts in the shard group (a list of strings).
    :param host: this host's name; it must be in ``hosts``.
    :param key: the target label hashed to choose the shard.
    :returns: ``{"host", "index", "count", "relabel_configs"}``; with one shard the
        relabelling is empty (every target is kept, no hashing).
    :raises AnsibleFilterError: ``hosts`` is not a list of names, or ``host`` is not in it.
    """
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"the shard group must be a list of host names, not {hosts!r}.")
    group = sorted({str(name) for name in hosts})
    if str(host) not in group:
        raise AnsibleFilterError(
            f"{host} is not in its shard group ({', '.join(group) or 'empty'}): set octavia_prometheus_shard_group "
            "to the inventory group of the Prometheus hosts, which must include this host.")
    index = group.index(str(host))
    count = len(group)
    relabel = [] if count == 1 else [
        {"source_labels": [key], "modulus": count, "target_label": SHARD_LABEL, "action": "hashmod"},
        {"source_labels": [SHARD_LABEL], "regex": str(index), "action": "keep"},
    ]
    return {"host": str(host), "index": index, "count": count, "relabel_configs": relabel}


class FilterModule:
    """The octavia_prometheus role's shard computation."""

    def filters(self):
        return {"prometheus_shard": prometheus_shard}
