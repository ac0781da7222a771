"""Benchmark: one octavia-exporter cycle against a per-object loop, for N load balancers.

On the running lab (make lab-up) this grows a fleet to each N (default 25, 100 and 200)
load balancers, each made in one call with a UDP listener, a pool and one member (UDP needs
no haproxy in the lab, so 200 stay cheap), then for each N:

  1. runs `octavia-exporter --once` (one complete cycle, the real command) and reads, from
     the lab API's own access log, how many requests it made; its peak memory (max RSS) is
     the process's own;
  2. runs the per-object loop openstack-exporter's Octavia collector is reported to make:
     list the load balancers, then for each one list its listeners and its pools, read each
     listener's statistics and list each pool's members, one request after the other.

It prints both side by side with the growth from the smallest N, and deletes what it
created (unless --keep).

    .venv/bin/python bench/exporter_bench.py [--sizes 25,100,200] [--concurrency 8] [--keep]
"""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid
import warnings

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from lab.client import LabClient  # noqa: E402 - needs tests/ on sys.path
from lab.factory import LoadBalancerFactory  # noqa: E402

PROJECT = "bench-exporter"


def log(message):
    print(message, file=sys.stderr, flush=True)


def graph(index):
    """One listener, one pool, one member: created with the load balancer in one call."""
    return [{"protocol": "UDP", "protocol_port": 53, "name": f"dns-{index}", "default_pool": {
        "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN", "name": f"pool-{index}",
        "members": [{"address": "127.0.0.1", "protocol_port": 5353, "name": f"m-{index}"}]}}]


def grow(factory, conn, target):
    have = len([lb for lb in conn.load_balancer.load_balancers(project_id=PROJECT)
                if lb.name.startswith(factory.prefix)])
    if have >= target:
        return
    log(f"creating {target - have} load balancers (to {target}) ...")
    started = time.monotonic()
    ids = []
    for index, vip in enumerate(factory.allocate_vips(target - have), start=have):
        lb = conn.load_balancer.create_load_balancer(
            name=f"{factory.prefix}-{index}", project_id=PROJECT, vip_address=vip,
            vip_subnet_id="1ab0c0de-0000-4000-8000-000000000001", listeners=graph(index))
        factory.track(lb.id)
        ids.append(lb.id)
    factory.wait_active(ids)
    log(f"  done in {time.monotonic() - started:.0f}s")


def exporter_cycle(lab, prefix, concurrency, workdir):
    config = pathlib.Path(workdir) / "exporter.yml"
    config.write_text(yaml.safe_dump(dict(
        interval=60, concurrency=concurrency, clouds_file=str(lab.clouds_yaml),
        sources=[dict(name="bench", cloud=lab.cloud,
                      filters=dict(project_ids=[PROJECT], name_pattern=f"{prefix}-*"))])))
    code = ("import resource, sys\n"
            "from octavia_exporter.cli import main\n"
            "rc = main(['--config.file', sys.argv[1], '--once', '--log.level', 'warning'])\n"
            "print('maxrss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "raise SystemExit(rc)\n")
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'exporter' / 'src'}:{REPO / '.build' / 'collections'}")
    marker = lab.api_request_marker()
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True, text=True,
                          env=env, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"the exporter cycle failed:\n{done.stderr[-3000:]}")
    rss = int(done.stderr.rsplit("maxrss_kib", 1)[1].split()[0])
    duration = [line for line in done.stdout.splitlines()
                if line.startswith("openstack_octavia_api_source_cycle_duration_seconds{")]
    cycle = float(duration[0].rsplit(" ", 1)[1])
    series = sum(1 for line in done.stdout.splitlines() if line and not line.startswith("#"))
    return dict(requests=len(lab.api_requests_since(marker)), seconds=elapsed, cycle=cycle,
                rss_mib=rss / 1024, series=series)


def per_object_loop(lab, conn, prefix):
    """What a collector that asks per object does (one request after the other)."""
    marker = lab.api_request_marker()
    started = time.monotonic()
    lbapi = conn.load_balancer
    lbs = [lb for lb in lbapi.load_balancers(project_id=PROJECT) if lb.name.startswith(prefix)]
    for lb in lbs:
        for listener in lbapi.listeners(load_balancer_id=lb.id):
            lbapi.get_listener_statistics(listener.id)
        for pool in lbapi.pools(loadbalancer_id=lb.id):
            list(lbapi.members(pool.id))
    return dict(requests=len(lab.api_requests_since(marker)), seconds=time.monotonic() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="25,100,200")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="leave the load balancers in the lab")
    args = parser.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    warnings.simplefilter("ignore")
    lab = LabClient()
    conn = lab.connect()
    factory = LoadBalancerFactory(conn, name_prefix=f"benchexp-{uuid.uuid4().hex[:6]}")
    rows = []
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for size in sizes:
                grow(factory, conn, size)
                exp = exporter_cycle(lab, factory.prefix, args.concurrency, workdir)
                loop = per_object_loop(lab, conn, factory.prefix)
                rows.append((size, exp, loop))
                log(f"N={size}: exporter {exp['requests']} requests in {exp['cycle']:.2f}s "
                    f"(process {exp['seconds']:.2f}s, {exp['rss_mib']:.0f} MiB); per-object loop "
                    f"{loop['requests']} requests in {loop['seconds']:.2f}s")
    finally:
        if not args.keep:
            log("deleting the benchmark's load balancers ...")
            factory.cleanup()
        conn.close()
    base = rows[0]
    print(f"Exporter cycle vs per-object loop, each load balancer with 1 listener, 1 pool, 1 member "
          f"(concurrency {args.concurrency}; the lab API serves one request at a time)")
    print(f"{'N':>5} | {'exporter req':>12} {'cycle s':>8} {'MiB':>5} {'series':>7} | "
          f"{'loop req':>8} {'loop s':>7} | {'req growth exp/loop':>20}")
    for size, exp, loop in rows:
        growth = (f"x{exp['requests'] / base[1]['requests']:.1f} / "
                  f"x{loop['requests'] / base[2]['requests']:.1f}")
        print(f"{size:>5} | {exp['requests']:>12} {exp['cycle']:>8.2f} {exp['rss_mib']:>5.0f} "
              f"{exp['series']:>7} | {loop['requests']:>8} {loop['seconds']:>7.2f} | {growth:>20}")


if __name__ == "__main__":
    main()
