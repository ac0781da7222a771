"""What tests and scripts use against a running lab: connections, statistics, API request counts,
switching one load balancer's amphora off and on, taking one component down, and the database."""
import contextlib
import json
import re
import time

from lab import apilog, stats
from lab.agent import STOP_MARKER
from lab.control import Lab
from lab.errors import LabError
from lab.services import PROBE_SOURCE
from lab.settings import CLOUD_NAME, DB_NAME, DB_PASSWORD, DB_USER, REPO, Settings

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

    # Certificate containers (Octavia's local_cert_manager; see lab.tls) -----------------
    def store_tls_container(self, certificate, private_key, intermediates=None):
        """Store a bundle (PEM text) as `labctl.py tls-container create` does; return its ref."""
        from lab import tls
        return tls.store_bundle(self.s, certificate, private_key, intermediates)

    def store_ca_container(self, ca, crl=None):
        """Store a client CA and an optional CRL (PEM text); return (ca_ref, crl_ref or None)."""
        from lab import tls
        return tls.store_ca(self.s, ca, crl)

    def delete_container(self, ref):
        """Remove a stored bundle, CA or CRL; True if it existed."""
        from lab import tls
        return tls.delete(self.s, ref)

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

    # Components (faults for tests) -----------------------------------------------------
    def _component(self, action, name):
        return Lab(self.s, out=lambda *_args: None).component(action, name)

    def stop_component(self, name):
        """SIGTERM one component (octavia-api, octavia-worker, rabbitmq, mariadb) and wait."""
        return self._component("stop", name)

    def kill_component(self, name):
        """SIGKILL one component's whole process group at once, as a crash would."""
        return self._component("kill", name)

    def start_component(self, name):
        """Start one stopped or killed component; returns once it is healthy."""
        return self._component("start", name)

    def pause_component(self, name):
        """SIGSTOP one component's processes: its port accepts connections, nothing answers."""
        return self._component("pause", name)

    def resume_component(self, name):
        """SIGCONT a paused component; returns once it is healthy."""
        return self._component("resume", name)

    @contextlib.contextmanager
    def component_down(self, name, how="stop"):
        """Take one component down for the `with` block, then always bring it back healthy.

        how: "stop" (SIGTERM), "kill" (SIGKILL) or "pause" (SIGSTOP; restored with SIGCONT).
        """
        if how not in ("stop", "kill", "pause"):
            raise LabError(f"component_down(how={how!r}): use stop, kill or pause.")
        self._component(how, name)
        try:
            yield
        finally:
            self._component("resume" if how == "pause" else "start", name)
            # What depends on it (the worker on RabbitMQ) reconnects on its own, shortly after.
            self.wait_healthy()

    def wait_healthy(self, timeout=None):
        """Wait until every component of the lab is healthy; raise LabError naming what is not."""
        lab = Lab(self.s, out=lambda *_args: None)
        deadline = time.monotonic() + (timeout or self.s.start_timeout)
        while True:
            down = [f"{row['name']} ({row['detail']})" for row in lab.status_rows()
                    if not row["healthy"]]
            if not down:
                return
            if time.monotonic() > deadline:
                raise LabError(f"the lab is not healthy: {', '.join(down)}.")
            time.sleep(0.5)

    # Database --------------------------------------------------------------------------
    def _db(self):
        import pymysql
        return pymysql.connect(host="127.0.0.1", port=self.s.ports["mysql"].value, user=DB_USER,
                               password=DB_PASSWORD, database=DB_NAME, autocommit=True,
                               connect_timeout=5, cursorclass=pymysql.cursors.DictCursor)

    def db_execute(self, sql, params=None):
        """Run one statement on the lab's Octavia database; return the number of rows it changed.

        This changes state the way a failed worker would (for example
        `UPDATE listener SET provisioning_status = 'ERROR' WHERE id = %s`), behind the API's
        back; tests that use it say so. `params` are PyMySQL parameters (%s placeholders).
        """
        conn = self._db()
        try:
            with conn.cursor() as cursor:
                return cursor.execute(sql, params)
        finally:
            conn.close()

    def db_query(self, sql, params=None):
        """Run one SELECT on the lab's Octavia database; return its rows as dicts."""
        conn = self._db()
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            conn.close()
