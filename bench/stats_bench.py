"""Benchmark: lb_stats_info against the seed's loop of `openstack loadbalancer stats show`.

On the running lab (make lab-up) this creates COUNT load balancers (default 100) with VIPs in
127.3.0.0/17, each with a UDP listener and every other one with an SCTP listener too (UDP and
SCTP are what the API statistics are for, and the lab runs no haproxy for them, so 100 load
balancers stay cheap), seeds distinct figures through the lab's stats command, then times:

  1. octavia.monitoring.lb_stats_info over all of them (a whole ansible run, start-up included),
     at the default concurrency and at concurrency 1;
  2. the seed's way: `openstack loadbalancer list`, then `openstack loadbalancer stats show ID`
     for each load balancer, one after the other.

It checks that both ways read the same figures, prints the timings side by side with the ratio,
and deletes everything it created (unless --keep).

Read the concurrency figure with the server in mind: the lab runs the octavia package's own
`octavia-api`, a wsgiref server that answers one request at a time, so there the bounded pool
cannot overlap requests; it pays off against an API with several workers, as deployments run it.
The gap to the CLI loop comes from one process and one connection for all requests instead of
one `openstack` start-up per load balancer.

    .venv/bin/python bench/stats_bench.py [--count 100] [--concurrency 8] [--repeat 1]
"""
import argparse
import ipaddress
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import time
import uuid
import warnings

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.ansible_run import run_module  # noqa: E402 - needs tests/ on sys.path
from lab.client import LabClient  # noqa: E402
from lab.errors import LabError  # noqa: E402
from lab.factory import LoadBalancerFactory  # noqa: E402

VIP_RANGE = ipaddress.ip_network("127.3.0.0/17")
OPENSTACK = str(pathlib.Path(sys.executable).parent / "openstack")
FIELDS = ("active_connections", "bytes_in", "bytes_out", "request_errors", "total_connections")


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_vips(conn, count):
    in_use = {lb.vip_address for lb in conn.load_balancer.load_balancers()}
    hosts = [h for h in range(1, VIP_RANGE.num_addresses - 1)
             if str(VIP_RANGE.network_address + h) not in in_use and h % 256 not in (0, 255)]
    if len(hosts) < count:
        raise SystemExit(f"only {len(hosts)} free addresses left in {VIP_RANGE}")
    return [str(VIP_RANGE.network_address + h) for h in sorted(random.sample(hosts, count))]


def build(lab, factory, count):
    """Create the fleet and seed it; return {lb_id: expected stats}."""
    conn = factory.conn
    tag = factory.prefix
    ids = []
    for index, vip in enumerate(free_vips(conn, count)):
        lb = factory.create(name=f"{factory.prefix}-{index:03d}", vip_address=vip,
                            project_id=factory.prefix, tags=[tag], wait=False)
        ids.append(lb.id)
    factory.wait_active(ids, timeout=300)
    listeners = {lb_id: [] for lb_id in ids}
    # One child write per load balancer at a time: all first listeners, then all second ones.
    for protocol, port, every in (("UDP", 5353, 1), ("SCTP", 3868, 2)):
        batch = ids[::every]
        for lb_id in batch:
            listener = conn.load_balancer.create_listener(
                loadbalancer_id=lb_id, name=f"{factory.prefix}-{protocol.lower()}",
                protocol=protocol, protocol_port=port)
            listeners[lb_id].append(listener.id)
        factory.wait_active(batch, timeout=300)
    expected = {}
    rng = random.Random(factory.prefix)
    for lb_id, listener_ids in listeners.items():
        total = dict.fromkeys(FIELDS, 0)
        for listener_id in listener_ids:
            figures = {"active_connections": rng.randint(0, 50),
                       "bytes_in": rng.randint(0, 10 ** 11), "bytes_out": rng.randint(0, 10 ** 12),
                       "request_errors": rng.randint(0, 100), "total_connections": rng.randint(0, 10 ** 6)}
            lab.seed_listener_stats(listener_id, **figures)
            for field in FIELDS:
                total[field] += figures[field]
        expected[lb_id] = total
    return expected, sum(len(v) for v in listeners.values())


def time_module(lab, tag, concurrency):
    started = time.monotonic()
    result = run_module("octavia.monitoring.lb_stats_info",
                        {"cloud": lab.cloud, "tags": [tag], "concurrency": concurrency}, env=lab.env)
    elapsed = time.monotonic() - started
    if result.get("failed"):
        raise SystemExit(f"lb_stats_info failed: {result.get('msg')}")
    return elapsed, {item["id"]: item["stats"] for item in result["load_balancers"]}


def openstack(lab, *args):
    proc = subprocess.run([OPENSTACK, "--os-cloud", lab.cloud, *args, "-f", "json"],
                          capture_output=True, text=True, env={**os.environ, **lab.env}, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"openstack {' '.join(args)} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def time_cli_loop(lab, tag):
    started = time.monotonic()
    ids = [row["id"] for row in openstack(lab, "loadbalancer", "list", "--tags", tag)]
    listed = time.monotonic() - started
    figures = {lb_id: openstack(lab, "loadbalancer", "stats", "show", lb_id) for lb_id in ids}
    return time.monotonic() - started, listed, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="load balancers to create")
    parser.add_argument("--concurrency", type=int, default=8, help="lb_stats_info concurrency")
    parser.add_argument("--repeat", type=int, default=1,
                        help="timed runs of each way (the median is reported)")
    parser.add_argument("--keep", action="store_true", help="leave the load balancers in place")
    args = parser.parse_args()

    # Seeding loads Octavia's oslo/eventlet stack in this process; its deprecation notices
    # would bury the figures this script exists to print.
    warnings.simplefilter("ignore", DeprecationWarning)
    lab = LabClient()
    try:
        conn = lab.connect()
        next(iter(conn.load_balancer.load_balancers()), None)
    except Exception as exc:  # noqa: BLE001 - any failure here means "no lab"; say how to fix it
        raise SystemExit(f"the lab does not answer ({exc}); start it with `make lab-up`") from exc
    factory = LoadBalancerFactory(conn, name_prefix=f"bench-stats-{uuid.uuid4().hex[:6]}",
                                  timeout=600)
    try:
        t0 = time.monotonic()
        log(f"creating {args.count} load balancers ({factory.prefix}-*, VIPs in {VIP_RANGE}) ...")
        expected, listener_count = build(lab, factory, args.count)
        log(f"fleet ready in {time.monotonic() - t0:.1f}s: {args.count} load balancers, "
            f"{listener_count} listeners, figures seeded")

        runs = {"module": [], "module1": [], "cli": [], "cli_list": []}
        for attempt in range(args.repeat):
            log(f"run {attempt + 1}/{args.repeat}: lb_stats_info (concurrency {args.concurrency}) ...")
            elapsed, got = time_module(lab, factory.prefix, args.concurrency)
            check("lb_stats_info", got, expected)
            runs["module"].append(elapsed)
            log(f"run {attempt + 1}/{args.repeat}: lb_stats_info (concurrency 1) ...")
            elapsed, got = time_module(lab, factory.prefix, 1)
            check("lb_stats_info concurrency 1", got, expected)
            runs["module1"].append(elapsed)
            log(f"run {attempt + 1}/{args.repeat}: openstack CLI loop ...")
            elapsed, listed, got = time_cli_loop(lab, factory.prefix)
            check("openstack loadbalancer stats show", got, expected)
            runs["cli"].append(elapsed)
            runs["cli_list"].append(listed)
        report(args, runs, listener_count)
    except LabError as exc:
        raise SystemExit(str(exc)) from exc
    finally:
        if args.keep:
            log(f"kept {len(factory.created)} load balancers named {factory.prefix}-*")
        else:
            log("deleting the load balancers ...")
            factory.cleanup()
        conn.close()


def check(way, got, expected):
    if got != expected:
        wrong = sorted(set(got) ^ set(expected)) or [k for k in expected if got.get(k) != expected[k]]
        raise SystemExit(f"{way} read other figures than were seeded, e.g. for {wrong[:3]}")


def report(args, runs, listener_count):
    module = statistics.median(runs["module"])
    module1 = statistics.median(runs["module1"])
    cli = statistics.median(runs["cli"])
    cli_list = statistics.median(runs["cli_list"])
    n = args.count
    rows = [
        (f"lb_stats_info, concurrency {args.concurrency} (one ansible run)", module),
        ("lb_stats_info, concurrency 1 (one ansible run)", module1),
        (f"openstack loadbalancer list + {n} x stats show", cli),
    ]
    print(f"Statistics of {n} load balancers ({listener_count} listeners) on the lab, "
          f"median of {args.repeat} run(s), {os.cpu_count()} CPUs:")
    width = max(len(row[0]) for row in rows)
    print(f"  {'way'.ljust(width)}  {'wall time':>10}  {'per LB':>9}")
    for label, seconds in rows:
        print(f"  {label.ljust(width)}  {seconds:9.2f}s  {seconds / n * 1000:7.1f}ms")
    print(f"  (of the CLI loop, the list call took {cli_list:.2f}s)")
    print(f"ratio: the CLI loop took {cli / module:.1f}x as long as lb_stats_info "
          f"(concurrency {args.concurrency}); concurrency {args.concurrency} vs 1: "
          f"{module1 / module:.1f}x")


if __name__ == "__main__":
    main()
