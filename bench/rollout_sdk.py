#!/usr/bin/env python
"""Approach (d) of bench/rollout: the same PROMETHEUS listeners from a plain openstacksdk script.

    rollout_sdk.py --lbs LBS_JSON --project ID --concurrency N [--rerun]

What a person would write without this collection: a pool of N threads, each with its own
openstacksdk Connection (cloud from OS_CLOUD and OS_CLIENT_CONFIG_FILE), creates one listener
per load balancer and waits with the SDK's own waiter until the load balancer is ACTIVE
again. The re-run lists the project's listeners once and creates only what is missing.
It is the yardstick for the collection's first rollout: the same writes at the same
concurrency, with nothing else around them.
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import sys
import threading

import openstack

ALLOWED = "127.0.0.1/32"
PORT = 8088
NAME = "prometheus"
WAIT = 600
# The SDK waiter's default interval is 2 s; a shorter one keeps this yardstick a fair one,
# since the lab turns a listener ACTIVE within a second or two.
INTERVAL = 0.5


def missing(conn, lb_ids, project):
    """The load balancers among `lb_ids` that have no PROMETHEUS listener on PORT (one listing)."""
    have = set()
    for listener in conn.load_balancer.listeners(project_id=project):
        if listener.protocol == "PROMETHEUS" and listener.protocol_port == PORT:
            have.update(lb["id"] for lb in listener.load_balancers or [])
    return [lb_id for lb_id in lb_ids if lb_id not in have]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--lbs", required=True, help="JSON file: {\"bench_lbs\": [{\"id\": ...}]}")
    parser.add_argument("--project", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rerun", action="store_true")
    args = parser.parse_args()
    lb_ids = [lb["id"] for lb in json.loads(pathlib.Path(args.lbs).read_text())["bench_lbs"]]
    cloud = os.environ.get("OS_CLOUD")
    local = threading.local()
    connections = []
    lock = threading.Lock()

    def connection():
        if not hasattr(local, "conn"):
            local.conn = openstack.connect(cloud=cloud)
            with lock:
                connections.append(local.conn)
        return local.conn

    def create(lb_id):
        conn = connection()
        conn.load_balancer.create_listener(loadbalancer_id=lb_id, name=NAME, protocol="PROMETHEUS",
                                           protocol_port=PORT, allowed_cidrs=[ALLOWED])
        conn.load_balancer.wait_for_load_balancer(lb_id, status="ACTIVE", failures=["ERROR"],
                                                  interval=INTERVAL, wait=WAIT)

    todo = missing(openstack.connect(cloud=cloud), lb_ids, args.project) if args.rerun else lb_ids
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        futures = {pool.submit(create, lb_id): lb_id for lb_id in todo}
        for future in concurrent.futures.as_completed(futures):
            if future.exception() is not None:
                failed.append(f"{futures[future]}: {future.exception()}")
    for conn in connections:
        conn.close()
    print(f"{len(todo) - len(failed)} listener(s) created, {len(lb_ids) - len(todo)} already "
          f"there, {len(failed)} failed")
    for line in failed:
        print(f"  {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
