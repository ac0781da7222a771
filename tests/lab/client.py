"""What tests and scripts use against a running lab: connections, statistics, API request counts,
and switching one load balancer's amphora off and on."""
import json
import re
import time

from lab import apilog, stats
from lab.agent import STOP_MARKER
from lab.errors import LabError
from lab.services import PROBE_SOURCE
from lab.settings import CLOUD_NAME, REPO, Settings

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class LabClient:
    """A handle on the lab described by `settings` (default: the OCTAVIA_LAB_* environment)."""

    def __init__(self, settings=None):
        self.s = settings or Settings()

    @property
    def api_url(self):
        return self.s.api_url

    @property
    def clouds_yaml(self):
        return self.s.clouds_yaml

    @property
    def conf(self):
        return self.s.conf

    @property
    def cloud(self):
        return CLOUD_NAME

    @property
    def env(self):
        """Variables a subprocess (openstack CLI, ansible-playbook) needs to reach the lab."""
        return {"OS_CLIENT_CONFIG_FILE": str(self.s.clouds_yaml), "OS_CLOUD": CLOUD_NAME,
                "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections")}

    def connect(self):
        """A new openstacksdk Connection to cloud octavia-lab, from the lab's clouds.yaml only."""
        import openstack.connection
        from openstack import config as os_config
        region = os_config.OpenStackConfig(config_files=[str(self.s.clouds_yaml)],
                                           vendor_files=[]).get_one(cloud=CLOUD_NAME)
        return openstack.connection.Connection(config=region)

    # Statistics ------------------------------------------------------------------------
    def seed_listener_stats(self, listener_id, amphora_id=None, **figures):
        """Write one listener's statistics through Octavia's StatsUpdateDb; see lab.stats."""
        try:
            return stats.seed_listener_stats(self.s.conf, listener_id, amphora_id, **figures)
        except (LookupError, ValueError) as exc:
            raise LabError(f"cannot seed statistics: {exc}.") from exc

    # API request counting --------------------------------------------------------------
    def api_request_marker(self):
        return apilog.marker(self.s.log("octavia-api"))

    def api_requests_since(self, marker):
        """Requests octavia-api logged after `marker`, without the lab's own health probes."""
        return apilog.requests_since(self.s.log("octavia-api"), marker, exclude_client=PROBE_SOURCE)

    # Amphorae --------------------------------------------------------------------------
    def amphora_state(self, lb_id=None):
        try:
            state = json.loads(self.s.amp_state.read_text())
        except (OSError, ValueError):
            state = {}
        lbs = state.get("loadbalancers", {})
        return lbs if lb_id is None else lbs.get(lb_id)

    def wait_amphora(self, lb_id, predicate, timeout=15.0, what="the expected state"):
        """Poll the agent's state until predicate(state of lb_id or None) is true; return it."""
        deadline = time.monotonic() + timeout
        current = None
        while time.monotonic() < deadline:
            current = self.amphora_state(lb_id)
            if predicate(current):
                return current
            time.sleep(0.2)
        raise LabError(f"the amphora of {lb_id} did not reach {what} within {timeout:.0f}s "
                       f"(now: {current}); see {self.s.log('amphora-agent')}.")

    def _lb_dir(self, lb_id):
        if not _UUID.match(lb_id or ""):
            raise LabError(f"{lb_id!r} is not a load balancer id.")
        return self.s.amp_dir / lb_id

    def amphora_stop(self, lb_id, timeout=15.0):
        """Stop one load balancer's haproxy and proxy until amphora_start; returns its state."""
        lb_dir = self._lb_dir(lb_id)
        lb_dir.mkdir(parents=True, exist_ok=True)
        (lb_dir / STOP_MARKER).write_text("stopped by labctl\n")
        return self.wait_amphora(lb_id, lambda st: bool(st) and st.get("state") == "stopped"
                                 and not st.get("haproxy_pid"), timeout, "state stopped")

    def amphora_start(self, lb_id, timeout=15.0):
        """Undo amphora_stop; returns once haproxy runs again (or the LB has nothing to run)."""
        (self._lb_dir(lb_id) / STOP_MARKER).unlink(missing_ok=True)
        state = self.wait_amphora(
            lb_id, lambda st: bool(st) and st.get("state") in ("running", "idle", "error"),
            timeout, "state running")
        if state["state"] == "error":
            raise LabError(f"the amphora of {lb_id} failed to start: {state['error']}.")
        return state
