"""`make demo-scale`: the sharded topology on the lab, the site playbook twice, what runs where.

    python demo/scale/up.py [--fleet 30]      (scripts/demo-scale.sh runs it)
    python demo/scale/up.py --down            (make demo-scale-down)

Every process is a Debian binary on 127.0.0.1 in its own session with a PID file under
OCTAVIA_DEMO_SCALE_DIR (default .demo/scale); a second run reuses the ones that answer.
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests"))

import topology  # noqa: E402  (needs the sys.path entries above)
from lab.client import LabClient  # noqa: E402

REPO = topology.REPO
ROOT = pathlib.Path(os.environ.get("OCTAVIA_DEMO_SCALE_DIR", REPO / ".demo" / "scale"))
SHARDS = {"shard-1": 9101, "shard-2": 9102, "shard-3": 9103}
STORE_PORT, VMALERT_PORT, ALERTMANAGER_PORT, WEBHOOK_PORT = 8428, 8880, 9093, 9096
# The demo's own load balancers (demo/setup_lab.py) live in this project; the generated ones join them.
PROJECT = "demo-project"
PREFIX = "scale"
VIP_RANGE = "127.1.200.0/24"
USER = "octavia"
# A demo password, written into the demo's inventory only; the shards store its bcrypt hash.
PASSWORD = "scale-demo-password"


def say(text):
    """A section title, as scripts/demo.sh prints them."""
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def demo_topology(cloud):
    """The demo's topology on its fixed ports."""
    return topology.Topology(ROOT, cloud=cloud, project=PROJECT, shards=SHARDS, user=USER, password=PASSWORD,
                             ports={"store": STORE_PORT, "vmalert": VMALERT_PORT,
                                    "alertmanager": ALERTMANAGER_PORT, "webhook": WEBHOOK_PORT})


def run_site(scale, log):
    """ansible-playbook octavia.monitoring.site on the topology; returns the recap lines."""
    argv = scale.site_argv()
    with open(log, "w") as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    text = pathlib.Path(log).read_text()
    recap = text[text.rfind("PLAY RECAP"):] if "PLAY RECAP" in text else text[-3000:]
    print(recap.rstrip())
    if proc.returncode != 0:
        raise SystemExit(f"the site playbook failed (exit {proc.returncode}); see {log}")
    return recap


def changed_hosts(recap):
    """Hosts of a PLAY RECAP with changed or failed tasks."""
    return [line.split()[0] for line in recap.splitlines()
            if re.search(r"(changed|failed)=[1-9]", line)]


def down():
    """Stop every process of the demo by its PID file, delete the generated load balancers."""
    client = LabClient()
    demo_topology(client.cloud).stop()
    try:
        conn = client.connect()
        topology.Fleet(conn, count=_fleet_size(), prefix=PREFIX, project=PROJECT, vip_range=VIP_RANGE).delete()
        conn.close()
    except Exception as exc:  # noqa: BLE001 - a lab that is down has nothing left to delete
        print(f"the generated load balancers were not deleted: {exc}")


def _fleet_size():
    stamp = ROOT / "fleet-size"
    return int(stamp.read_text()) if stamp.exists() else 30


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=int, default=30, help="generated load balancers (besides the demo's own)")
    parser.add_argument("--down", action="store_true", help="stop everything the demo started")
    opts = parser.parse_args()
    if opts.down:
        down()
        return
    ROOT.mkdir(parents=True, exist_ok=True)
    (ROOT / "fleet-size").write_text(f"{opts.fleet}\n")

    say(f"2. {opts.fleet} more load balancers in {PROJECT} ({PREFIX}-001..), VIPs in {VIP_RANGE}")
    client = LabClient()
    conn = client.connect()
    fleet = topology.Fleet(conn, count=opts.fleet, prefix=PREFIX, project=PROJECT, vip_range=VIP_RANGE)
    fleet.ensure()
    total = len(list(conn.load_balancer.load_balancers(project_id=PROJECT)))
    print(f"  {total} load balancers in {PROJECT}")

    say("3. The store, Alertmanager with the webhook receiver, three Prometheus shards")
    scale = demo_topology(client.cloud)
    scale.inventory()
    for name, service in scale.start().items():
        print(f"  {name:<13} pid {service.pid:<8} {service.url().rsplit('/-/', 1)[0]}")

    # vmalert runs with the command line the octavia_vmalert role writes.
    vmalert = scale.start_vmalert()
    print(f"  vmalert       pid {vmalert.pid:<8} http://127.0.0.1:{VMALERT_PORT}")

    say("4. ansible-playbook octavia.monitoring.site (first run)")
    run_site(scale, ROOT / "first-run.log")

    say("5. Every PROMETHEUS listener scraped by exactly one shard, as VictoriaMetrics sees it")
    expected = topology.prometheus_targets(conn, PROJECT)
    scraped = scale.wait_scraped(expected.values())
    for shard in sorted({next(iter(s)) for s in scraped.values()}):
        print(f"  {shard:<10} {sum(1 for s in scraped.values() if shard in s)} targets")
    print(f"  {len(expected)} PROMETHEUS listeners, each scraped by exactly one shard")

    say("6. ansible-playbook octavia.monitoring.site again: nothing left to change")
    recap = run_site(scale, ROOT / "second-run.log")
    if changed_hosts(recap):
        raise SystemExit(f"the second run changed something on {changed_hosts(recap)}; see {ROOT / 'second-run.log'}")

    shards = "\n".join(f"  Prometheus {name}  https://127.0.0.1:{port}   (user {USER}, CA {scale.tls['cert']}, "
                       f"config {ROOT / name / 'prometheus.yml'})" for name, port in SHARDS.items())
    print(f"""
Done. What is running and where:
  Octavia API        {client.api_url}   (cloud {client.cloud}, OS_CLIENT_CONFIG_FILE={client.clouds_yaml})
  Load balancers     {total} in project {PROJECT}, each with a PROMETHEUS listener on :8088
{shards}
  VictoriaMetrics    {scale.store_url}   (every shard remote-writes here; query it like Prometheus)
  vmalert            http://127.0.0.1:{VMALERT_PORT}   (the alert pack and the name catalogue, once, on the store)
  Alertmanager       http://127.0.0.1:{ALERTMANAGER_PORT}   (routes to the webhook receiver)
  Webhook receiver   http://127.0.0.1:{WEBHOOK_PORT}/   (what Alertmanager sent: {ROOT / "webhook" / "received.jsonl"})
  Grafana tree       {ROOT / 'grafana'}   (datasource: the store)
  Inventory          {ROOT / 'inventory'}
Stop everything with: make demo-scale-down""")
    conn.close()


if __name__ == "__main__":
    main()
