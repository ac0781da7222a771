"""Create load balancers in the lab for a test, and delete everything they hold afterwards.

Octavia with auth_strategy = noauth needs a project_id on every create. The noop network
driver accepts any VIP subnet id and uses the requested vip_address, so a VIP is simply a
free address in the lab's VIP range: OCTAVIA_LAB_VIP_NET, default 127.1.0.0/16 (the range
this factory owns in the shared lab; a second lab beside it sets its own).
"""
import ipaddress
import random
import time
import uuid

from openstack.exceptions import ConflictException

from lab.errors import LabError
from lab.services import PROBE_SOURCE
from lab.settings import vip_net

DEFAULT_PROJECT = "lab-project"
# Any id works with the noop network driver; a fixed one makes lab objects easy to spot.
LAB_VIP_SUBNET_ID = "1ab0c0de-0000-4000-8000-000000000001"
VIP_RANGE = vip_net()
PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")
# The worker's flows share two cores with everything else on the host, so waiting for many
# load balancers needs time in proportion (about 1 s each on a busy 2-core host).
SECONDS_PER_LB = 2.0


class LoadBalancerFactory:
    """Creates load balancers through openstacksdk and remembers them for cleanup()."""

    def __init__(self, conn, name_prefix=None, timeout=60.0, vip_range=VIP_RANGE):
        """`vip_range`: where allocate_vips() picks from; each suite owns a range of the shared lab."""
        self.conn = conn
        self.vip_range = ipaddress.ip_network(vip_range)
        self.prefix = name_prefix or f"labfx-{uuid.uuid4().hex[:8]}"
        self.timeout = timeout
        self.created = []
        self._handed_out = set()
        self._count = 0

    # VIPs ------------------------------------------------------------------------------
    def _vips_in_use(self):
        return {lb.vip_address for lb in self.conn.load_balancer.load_balancers()} | self._handed_out

    def allocate_vips(self, count):
        """`count` addresses in the factory's range that no load balancer in the lab uses."""
        in_use = self._vips_in_use() | {PROBE_SOURCE}
        chosen = []
        while len(chosen) < count:
            # Random rather than sequential, so parallel test sessions rarely pick the same one.
            host = random.randint(1, self.vip_range.num_addresses - 2)
            address = str(self.vip_range.network_address + host)
            if address.endswith((".0", ".255")) or address in in_use:
                continue
            in_use.add(address)
            chosen.append(address)
        self._handed_out.update(chosen)
        return chosen

    # Create ----------------------------------------------------------------------------
    def _attrs(self, name, vip_address, project_id, attrs):
        self._count += 1
        body = {"name": name or f"{self.prefix}-{self._count}", "project_id": project_id,
                "vip_address": vip_address}
        if not any(key in attrs for key in ("vip_subnet_id", "vip_network_id", "vip_port_id")):
            body["vip_subnet_id"] = LAB_VIP_SUBNET_ID
        body.update(attrs)
        return body

    def create(self, name=None, vip_address=None, project_id=DEFAULT_PROJECT, wait=True, **attrs):
        """Create one load balancer (ACTIVE when wait=True) and return it."""
        vip = vip_address or self.allocate_vips(1)[0]
        lb = self.conn.load_balancer.create_load_balancer(
            **self._attrs(name, vip, project_id, attrs))
        self.created.append(lb.id)
        return self.wait_active([lb.id])[0] if wait else lb

    def create_many(self, count, project_id=DEFAULT_PROJECT, wait=True, **attrs):
        """Create `count` load balancers, each on its own VIP, then wait for all of them."""
        vips = self.allocate_vips(count)
        ids = []
        for vip in vips:
            lb = self.conn.load_balancer.create_load_balancer(
                **self._attrs(None, vip, project_id, attrs))
            self.created.append(lb.id)
            ids.append(lb.id)
        if not wait:
            return [self.conn.load_balancer.get_load_balancer(i) for i in ids]
        return self.wait_active(ids)

    def track(self, lb_id):
        """Also delete `lb_id` at cleanup (for load balancers created some other way)."""
        self.created.append(lb_id)

    # Wait ------------------------------------------------------------------------------
    def _by_id(self):
        return {lb.id: lb for lb in self.conn.load_balancer.load_balancers()}

    def _allowance(self, count, timeout=None):
        return timeout or self.timeout + SECONDS_PER_LB * max(0, count - 1)

    @staticmethod
    def _pause(count):
        # Each poll lists every load balancer; with many of them, poll the API less often so
        # the creates and deletes being waited for are not slowed down.
        time.sleep(0.2 if count <= 5 else 1.0)

    def wait_active(self, ids, timeout=None):
        """Wait until every id is ACTIVE (one list call per poll); return them in order.

        The default timeout grows with the number of ids (SECONDS_PER_LB each).
        """
        timeout = self._allowance(len(ids), timeout)
        deadline = time.monotonic() + timeout
        while True:
            current = self._by_id()
            missing = [i for i in ids if i not in current]
            failed = [i for i in ids if i in current and current[i].provisioning_status == "ERROR"]
            if missing or failed:
                raise LabError(f"load balancers went ERROR or vanished: {failed + missing}.")
            if all(current[i].provisioning_status == "ACTIVE" for i in ids):
                return [current[i] for i in ids]
            if time.monotonic() > deadline:
                waiting = {i: current[i].provisioning_status for i in ids
                           if current[i].provisioning_status != "ACTIVE"}
                raise LabError(f"load balancers not ACTIVE after {timeout:.0f}s: {waiting}.")
            self._pause(len(ids))

    # Cleanup ---------------------------------------------------------------------------
    def cleanup(self):
        """Delete (cascade) everything created, wait until it is gone; raise if anything stays."""
        remaining = list(dict.fromkeys(self.created))
        timeout = self._allowance(len(remaining))
        deadline = time.monotonic() + timeout
        requested = set()
        while remaining:
            current = self._by_id()
            remaining = [i for i in remaining if i in current]
            for lb_id in remaining:
                status = current[lb_id].provisioning_status
                # A load balancer that is PENDING_* answers 409 to a delete: wait for it.
                if lb_id not in requested and status not in PENDING:
                    try:
                        self.conn.load_balancer.delete_load_balancer(lb_id, cascade=True,
                                                                     ignore_missing=True)
                        requested.add(lb_id)
                    except ConflictException:
                        pass   # it went PENDING_* since the listing; retried on the next pass
            if not remaining:
                break
            if time.monotonic() > deadline:
                raise LabError(f"load balancers still present {timeout:.0f}s after cleanup "
                               f"started: {remaining}.")
            self._pause(len(remaining))
        self.created.clear()
