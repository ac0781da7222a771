"""Create the demo load balancers in the local lab, idempotently, and start their backends.

    demo-shop   127.0.0.51  HTTP:80 -> shop-pool (shop-1, shop-2 up), and a PROMETHEUS
                            listener already: the "already monitored" case
    demo-api    127.0.0.52  HTTP:80 -> api-pool (api-1 up, api-2 with no server: DOWN)
    demo-dns    127.0.0.54  UDP:53 (no pool): only the API statistics can see it
    demo-admin  127.0.0.53  no listener at all

Every object is found by name first, so a second run creates nothing. API statistics are
seeded for every listener so that the stats table has figures.
"""
import os
import pathlib
import socket
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from lab.client import LabClient  # noqa: E402  (needs the sys.path entry above)

PROJECT = "demo-project"
# The noop network driver accepts any subnet UUID; a fixed one keeps the demo reproducible.
DEMO_SUBNET = "5e1d0c2a-7b1e-4c55-9a63-0c7d3a1f0de0"
STATE = pathlib.Path(os.environ.get("OCTAVIA_DEMO_DIR", REPO / ".demo"))
BACKENDS = {"shop-1": 18081, "shop-2": 18082, "api-1": 18083}
DEAD_MEMBER_PORT = 18084
LOAD_BALANCERS = [
    {"name": "demo-shop", "vip": "127.0.0.51", "prometheus": True,
     "listeners": [{"name": "shop-http", "protocol": "HTTP", "port": 80,
                    "pool": "shop-pool", "members": [("shop-1", 18081), ("shop-2", 18082)],
                    "stats": dict(bytes_in=2236722, bytes_out=100973832, active_connections=3,
                                  total_connections=3606, request_errors=2)}]},
    {"name": "demo-api", "vip": "127.0.0.52", "prometheus": False,
     "listeners": [{"name": "api-http", "protocol": "HTTP", "port": 80,
                    "pool": "api-pool", "members": [("api-1", 18083), ("api-2", DEAD_MEMBER_PORT)],
                    "stats": dict(bytes_in=89012, bytes_out=4501237, active_connections=1,
                                  total_connections=412, request_errors=7)}]},
    {"name": "demo-dns", "vip": "127.0.0.54", "prometheus": False,
     "listeners": [{"name": "dns-udp", "protocol": "UDP", "port": 53,
                    "stats": dict(bytes_in=51200, bytes_out=98304, active_connections=0,
                                  total_connections=800, request_errors=0)}]},
    {"name": "demo-admin", "vip": "127.0.0.53", "prometheus": False, "listeners": []},
]


def port_open(port, host="127.0.0.1"):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start_backends():
    """Each backend is a `labctl.py backend` process; its PID file lets `make demo-down` stop it."""
    run = STATE / "backends"
    run.mkdir(parents=True, exist_ok=True)
    for name, port in BACKENDS.items():
        if port_open(port):
            continue
        log = open(run / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "lab" / "labctl.py"), "backend",
                                 "--address", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (run / f"{name}.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 15
    while not all(port_open(p) for p in BACKENDS.values()):
        if time.monotonic() > deadline:
            raise SystemExit(f"demo backends did not start; see {run}")
        time.sleep(0.2)


def wait_active(lbapi, lb_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        lb = lbapi.get_load_balancer(lb_id)
        if lb.provisioning_status == "ACTIVE":
            return lb
        if lb.provisioning_status == "ERROR" or time.monotonic() > deadline:
            raise SystemExit(f"load balancer {lb.name} is {lb.provisioning_status}")
        time.sleep(0.2)


def ensure_lb(lbapi, spec):
    """The load balancer and its children, created where missing; returns {listener name: id}."""
    lb = lbapi.find_load_balancer(spec["name"], ignore_missing=True)
    if lb is None:
        lb = lbapi.create_load_balancer(name=spec["name"], vip_address=spec["vip"],
                                        vip_subnet_id=DEMO_SUBNET, project_id=PROJECT,
                                        description="octavia.monitoring demo")
    lb = wait_active(lbapi, lb.id)
    existing = {l.name: l for l in lbapi.listeners(load_balancer_id=lb.id)}
    listener_ids = {}
    for want in spec["listeners"]:
        listener = existing.get(want["name"])
        if listener is None:
            listener = lbapi.create_listener(name=want["name"], loadbalancer_id=lb.id,
                                             protocol=want["protocol"],
                                             protocol_port=want["port"])
            wait_active(lbapi, lb.id)
        listener_ids[want["name"]] = listener.id
        if "pool" in want:
            ensure_pool(lbapi, lb, listener, want)
    if spec["prometheus"] and not any(l.protocol == "PROMETHEUS" for l in existing.values()):
        lbapi.create_listener(name="prometheus", loadbalancer_id=lb.id, protocol="PROMETHEUS",
                              protocol_port=8088, allowed_cidrs=["127.0.0.1/32"])
        wait_active(lbapi, lb.id)
    return listener_ids


def ensure_pool(lbapi, lb, listener, want):
    pool = next((p for p in lbapi.pools(loadbalancer_id=lb.id) if p.name == want["pool"]), None)
    if pool is None:
        pool = lbapi.create_pool(name=want["pool"], listener_id=listener.id, protocol="HTTP",
                                 lb_algorithm="ROUND_ROBIN")
        wait_active(lbapi, lb.id)
        lbapi.create_health_monitor(pool_id=pool.id, type="HTTP", delay=2, timeout=1,
                                    max_retries=1, url_path="/", expected_codes="200")
        wait_active(lbapi, lb.id)
    members = {m.name for m in lbapi.members(pool.id)}
    for name, port in want["members"]:
        if name not in members:
            lbapi.create_member(pool.id, name=name, address="127.0.0.1", protocol_port=port)
            wait_active(lbapi, lb.id)


def main():
    client = LabClient()
    conn = client.connect()
    start_backends()
    for spec in LOAD_BALANCERS:
        ids = ensure_lb(conn.load_balancer, spec)
        for want in spec["listeners"]:
            current = conn.load_balancer.get_listener_statistics(ids[want["name"]])
            if any(getattr(current, key) != value for key, value in want["stats"].items()):
                client.seed_listener_stats(ids[want["name"]], **want["stats"])
        served = ", ".join(f"{l['protocol']}:{l['port']}" for l in spec["listeners"])
        extra = "  + PROMETHEUS:8088 (already monitored)" if spec["prometheus"] else ""
        print(f"  {spec['name']:<11} VIP {spec['vip']:<11} {served or 'no listener'}{extra}")
    conn.close()


if __name__ == "__main__":
    main()
