"""The benchmark's load balancers in the shared lab: create N, check, reset and delete them.

Setup and cleanup talk to the lab directly (not through the counting relay), so they never
show up in the figures. Bench objects use VIPs in 127.6.0.0/17 (or the lower half of
OCTAVIA_LAB_VIP_NET when a lab of one's own sets it) and a unique name prefix.
"""
import ipaddress
import os
import time
import uuid

from lab.factory import LoadBalancerFactory
from lab.settings import vip_net


def bench_ranges(environ=None):
    """(VIP range, relay /24 as its first three octets) of the benchmark.

    In the shared lab: 127.6.0.0/17 and 127.6.255. A lab with its own OCTAVIA_LAB_VIP_NET
    (two labs must not share VIPs): the lower half of that range and its last /24.
    """
    env = os.environ if environ is None else environ
    if not env.get("OCTAVIA_LAB_VIP_NET"):
        return "127.6.0.0/17", "127.6.255"
    net = vip_net(env)
    lower = next(net.subnets(prefixlen_diff=1))
    last = ipaddress.ip_network(f"{net.broadcast_address - 255}/24")
    return str(lower), ".".join(str(last.network_address).split(".")[:3])


VIP_RANGE, RELAY_NET = bench_ranges()
PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")


class BenchFleet:
    """N load balancers named <prefix>-NNN in project <prefix>, each on its own VIP in VIP_RANGE."""

    def __init__(self, conn, count, timeout_per_lb=3.0):
        self.conn = conn
        self.count = count
        self.prefix = f"bench-{uuid.uuid4().hex[:6]}"
        self.project = self.prefix
        self.timeout = 60 + timeout_per_lb * count
        self.factory = LoadBalancerFactory(conn, name_prefix=self.prefix, timeout=self.timeout,
                                           vip_range=VIP_RANGE)
        self.lbs = []

    def create(self):
        vips = self.factory.allocate_vips(self.count)
        ids = []
        for number, vip in enumerate(vips, start=1):
            lb = self.factory.create(name=f"{self.prefix}-{number:03d}", vip_address=vip,
                                     project_id=self.project, wait=False)
            ids.append(lb.id)
        self.lbs = self.factory.wait_active(ids, timeout=self.timeout)
        return self.lbs

    def delete(self):
        self.factory.cleanup()

    # ------------------------------------------------------------------------------------
    def _listeners(self):
        """All listeners of the bench project, grouped by load balancer ID (one listing)."""
        grouped = {}
        for item in self.conn.load_balancer.listeners(project_id=self.project):
            for lb in item.load_balancers or []:
                grouped.setdefault(lb["id"], []).append(item)
        return grouped

    def prometheus_listeners(self):
        """{load balancer id: [its PROMETHEUS listeners]} for every bench load balancer."""
        grouped = self._listeners()
        return dict((lb.id, [x for x in grouped.get(lb.id, []) if x.protocol == "PROMETHEUS"])
                    for lb in self.lbs)

    def check_one_listener_each(self, port=8088, allowed_cidrs=None):
        """Raise unless every bench load balancer has exactly one PROMETHEUS listener on `port`."""
        wrong = {}
        for lb_id, items in self.prometheus_listeners().items():
            if (len(items) != 1 or items[0].protocol_port != port
                    or (allowed_cidrs is not None and sorted(items[0].allowed_cidrs or []) != sorted(allowed_cidrs))):
                wrong[lb_id] = [(x.name, x.protocol_port, x.allowed_cidrs) for x in items]
        if wrong:
            raise RuntimeError(f"{len(wrong)} of {len(self.lbs)} load balancers do not have exactly one "
                               f"PROMETHEUS listener on {port}: {dict(list(wrong.items())[:5])}")

    def wait_idle(self):
        """Wait until no bench load balancer or listener is PENDING_* (one listing per poll)."""
        deadline = time.monotonic() + self.timeout
        while True:
            lbs = list(self.conn.load_balancer.load_balancers(project_id=self.project))
            busy = [lb.id for lb in lbs if lb.provisioning_status in PENDING]
            busy += [x.id for x in self.conn.load_balancer.listeners(project_id=self.project)
                     if x.provisioning_status in PENDING]
            errors = [lb.id for lb in lbs if lb.provisioning_status == "ERROR"]
            if errors:
                raise RuntimeError(f"bench load balancers went ERROR: {errors[:5]}")
            if not busy:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(busy)} bench objects still PENDING after {self.timeout:.0f}s")
            time.sleep(1.0)

    def reset(self):
        """Delete every PROMETHEUS listener of the bench load balancers, then wait until idle."""
        self.wait_idle()
        pending = [x for items in self.prometheus_listeners().values() for x in items]
        while pending:
            retry = []
            for item in pending:
                try:
                    self.conn.load_balancer.delete_listener(item.id, ignore_missing=True)
                except Exception as exc:   # 409 while its load balancer is still busy: next pass
                    if getattr(exc, "status_code", None) != 409:
                        raise
                    retry.append(item)
            pending = retry
            if pending:
                time.sleep(1.0)
        self.wait_idle()
        left = sum(len(items) for items in self.prometheus_listeners().values())
        if left:
            raise RuntimeError(f"{left} PROMETHEUS listeners survived the reset")
