# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The name catalogue of a load balancer's objects (lb_prometheus_listener_info catalog=true).

Pure: plain dicts in and out.
"""


def catalog_entry(listeners, pools, members):
    """Names of every listener, pool and member of one load balancer.

    :param listeners: that load balancer's listener dicts.
    :param pools: its pool dicts.
    :param members: dict pool ID -> list of member dicts.
    :returns: dict with ``listeners``, ``pools`` and ``members``, each sorted by ID.
    """
    out_pools = []
    for pool in sorted(pools, key=lambda p: p["id"]):
        # haproxy runs one backend per (pool, listener) pair, so the metrics
        # label pools as "<pool>:<listener>"; keep every listener of the pool.
        listener_ids = sorted(item.get("id") for item in pool.get("listeners") or [])
        out_pools.append(dict(id=pool["id"], name=pool.get("name") or "",
                              protocol=pool.get("protocol"), lb_algorithm=pool.get("lb_algorithm"),
                              listener_id=listener_ids[0] if listener_ids else None,
                              listener_ids=listener_ids))
    out_members = [
        dict(id=member["id"], name=member.get("name") or "", address=member.get("address"),
             protocol_port=member.get("protocol_port"), weight=member.get("weight"),
             pool_id=pool["id"])
        for pool in out_pools
        for member in sorted(members.get(pool["id"]) or [], key=lambda m: m["id"])]
    return dict(
        listeners=[dict(id=item["id"], name=item.get("name") or "", protocol=item.get("protocol"),
                        protocol_port=item.get("protocol_port"),
                        connection_limit=item.get("connection_limit"))
                   for item in sorted(listeners, key=lambda x: x["id"])],
        pools=out_pools,
        members=out_members,
    )
