"""The exporter against the lab: the real Octavia API, the real amphorae, a real Prometheus.

No mock of the API. The exporter runs as its own process (the command a service
manager starts), reads only this test's load balancers (a name_pattern filter on the
factory's prefix) and cycles every 2 s.
"""
import importlib.util
import pathlib
import time

import pymysql
import pytest

from exporter_proc import ExporterProcess
from helpers.prometheus_server import PrometheusServer
from lab import procs
from lab.control import Lab
from lab.factory import DEFAULT_PROJECT

INTERVAL = 2


@pytest.fixture
def exporter(lab, lb_factory, tmp_path):
    """start(exporter_settings=None, **source settings) -> a running ExporterProcess scoped to this test's load balancers."""
    started = []

    def start(exporter_settings=None, **source):
        settings = dict(name="lab", cloud=lab.cloud,
                        filters=dict(name_pattern=f"{lb_factory.prefix}-*",
                                     project_ids=[DEFAULT_PROJECT]))
        settings.update(source)
        proc = ExporterProcess(tmp_path, [settings], lab.clouds_yaml, interval=INTERVAL,
                               **(exporter_settings or {})).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def db_execute(lab, sql, params=()):
    """Run one statement on the lab's Octavia database (tests change states Octavia owns)."""
    settings = lab.s
    conn = pymysql.connect(host="127.0.0.1", port=settings.ports["mysql"].value,
                           user=settings.db_url.split("//")[1].split(":")[0],
                           password=settings.db_url.split(":")[2].split("@")[0],
                           database=settings.db_url.rsplit("/", 1)[1], autocommit=True)
    try:
        with conn.cursor() as cursor:
            return cursor.execute(sql, params)
    finally:
        conn.close()


def prometheus_listener(conn, lb_id, port=9100, name="metrics"):
    listener = conn.load_balancer.create_listener(
        loadbalancer_id=lb_id, protocol="PROMETHEUS", protocol_port=port, name=name,
        allowed_cidrs=["127.0.0.0/8"])
    conn.load_balancer.wait_for_load_balancer(lb_id, wait=60)
    return listener


def sd_listener_ids(proc):
    return sorted(g["labels"]["listener_id"] for g in proc.sd())


def test_discovery_without_a_run(lab, lb_factory, exporter, tmp_path):
    """A PROMETHEUS listener made with plain openstacksdk is discovered and scraped; deleting it removes it."""
    conn = lb_factory.conn
    proc = exporter()
    config = f"""
global: {{scrape_interval: 2s, evaluation_interval: 2s}}
scrape_configs:
  - job_name: octavia
    http_sd_configs: [{{url: "{proc.url}/sd/prometheus", refresh_interval: 2s}}]
  - job_name: octavia-exporter
    static_configs: [{{targets: ["127.0.0.1:{proc.port}"]}}]
"""
    with PrometheusServer(config_text=config, workdir=tmp_path / "prom") as prom:
        lb = lb_factory.create()
        listener = prometheus_listener(conn, lb.id)
        proc.wait_for(lambda: sd_listener_ids(proc) == [listener.id], 3 * INTERVAL + 5,
                      "the new listener in the SD answer")
        (group,) = proc.sd()
        assert group["targets"] == [f"{lb.vip_address}:9100"]
        assert group["labels"]["loadbalancer_name"] == lb.name
        assert group["labels"]["cloud"] == lab.cloud
        # One SD refresh, one scrape: the amphora target is UP with the file_sd labels.
        up = prom.wait_for(lambda: prom.targets(job="octavia", health="up"), timeout=30,
                           message="the discovered amphora target UP")
        assert up[0]["labels"]["listener_id"] == listener.id
        # The amphora's own series carry the SD labels (names without a role run).
        prom.wait_for(lambda: prom.query(
            f'octavia_listener_status{{loadbalancer_name="{lb.name}",listener_id="{listener.id}"}}'),
            timeout=20, message="amphora series with the SD labels")
        assert prom.query_value('openstack_octavia_api_source_up{job="octavia-exporter"}') == 1

        conn.load_balancer.delete_listener(listener.id)
        conn.load_balancer.wait_for_load_balancer(lb.id, wait=60)
        proc.wait_for(lambda: sd_listener_ids(proc) == [], 3 * INTERVAL + 5,
                      "the deleted listener gone from the SD answer")
        prom.wait_for(lambda: not prom.targets(job="octavia"), timeout=30,
                      message="the deleted target gone from Prometheus")


def _state_rules():
    """octavia-state-alerts.yml.j2 rendered as the role renders it, with short for: durations."""
    spec = importlib.util.spec_from_file_location(
        "rules_render", pathlib.Path(__file__).parents[2] / "tests" / "unit" / "rules" / "rules_render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    durations = {f"octavia_prometheus_alert_{name}_for": "4s" for name in (
        "lb_provisioning_error", "lb_stuck_pending", "lb_operating_status", "amphora_error",
        "amphora_cert_expiring", "lb_unmonitored", "listener_quota", "exporter_down",
        "api_source_failing")}
    return module.render("octavia-state-alerts.yml.j2", octavia_prometheus_exporter_job_name="octavia-exporter",
                         octavia_prometheus_alert_amphora_cert_expiring_days=14,
                         octavia_prometheus_alert_listener_quota_ratio=0.9, **durations)


def test_state_follows_the_database(lab, lb_factory, exporter, tmp_path):
    """The state set follows a provisioning status changed to ERROR (through the lab's DB:
    Octavia's API has no call that sets ERROR) within one cycle, the alert fires in a real
    Prometheus, and both follow the status back."""
    lb = lb_factory.create()
    proc = exporter()
    name = "openstack_octavia_api_loadbalancer_provisioning_status"
    assert proc.state(name, loadbalancer_id=lb.id) == "ACTIVE"
    rules = tmp_path / "octavia-state-alerts.yml"
    rules.write_text(_state_rules())
    config = f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{rules}"]
scrape_configs:
  - job_name: octavia-exporter
    static_configs: [{{targets: ["127.0.0.1:{proc.port}"]}}]
"""
    with PrometheusServer(config_text=config, workdir=tmp_path / "prom") as prom:
        try:
            assert db_execute(lab, "UPDATE load_balancer SET provisioning_status=%s WHERE id=%s",
                              ("ERROR", lb.id)) == 1
            proc.wait_for(lambda: proc.state(name, loadbalancer_id=lb.id) == "ERROR", 2 * INTERVAL + 5,
                          "the state set at ERROR")
            statuses = proc.samples(name, loadbalancer_id=lb.id)
            assert len(statuses) == 6 and sum(s.value for s in statuses) == 1
            firing = prom.wait_for(lambda: [a for a in prom.alerts("OctaviaLoadBalancerProvisioningError",
                                                                   state="firing")
                                            if a["labels"]["loadbalancer_id"] == lb.id],
                                   timeout=40, message="OctaviaLoadBalancerProvisioningError firing")
            assert firing[0]["labels"]["loadbalancer_name"] == lb.name
        finally:
            db_execute(lab, "UPDATE load_balancer SET provisioning_status=%s WHERE id=%s",
                       ("ACTIVE", lb.id))
        proc.wait_for(lambda: proc.state(name, loadbalancer_id=lb.id) == "ACTIVE", 2 * INTERVAL + 5,
                      "the state set back at ACTIVE")
        prom.wait_for(lambda: not prom.alerts("OctaviaLoadBalancerProvisioningError", state="firing"),
                      timeout=40, message="the alert resolved")


def test_live_udp_statistics(lab, lb_factory, exporter):
    """A UDP listener's statistics, seeded through Octavia's stats driver, appear as counters."""
    conn = lb_factory.conn
    lb = lb_factory.create()
    udp = conn.load_balancer.create_listener(loadbalancer_id=lb.id, protocol="UDP",
                                             protocol_port=5353, name="dns")
    conn.load_balancer.wait_for_load_balancer(lb.id, wait=60)
    proc = exporter()
    metric = "openstack_octavia_api_listener_bytes_in_total"
    assert proc.value(metric, listener_id=udp.id) == 0
    lab.seed_listener_stats(udp.id, bytes_in=4096, bytes_out=1024, total_connections=7,
                            active_connections=2)
    proc.wait_for(lambda: proc.value(metric, listener_id=udp.id) == 4096, 2 * INTERVAL + 5,
                  "the seeded bytes_in")
    (sample,) = proc.samples(metric, listener_id=udp.id)
    assert sample.labels["protocol"] == "UDP" and sample.labels["listener_name"] == "dns"
    assert proc.value("openstack_octavia_api_listener_connections_total", listener_id=udp.id) == 7
    assert proc.value("openstack_octavia_api_listener_active_connections", listener_id=udp.id) == 2
    assert proc.value("openstack_octavia_api_loadbalancer_bytes_out_total", loadbalancer_id=lb.id) == 1024


def test_api_outage_keeps_last_values_and_recovers(lab, lb_factory, exporter):
    """With octavia-api stopped (through the lab's own PID record) the exporter keeps serving
    the last values, marks the source down once in its log, and recovers by itself."""
    lb = lb_factory.create()
    proc = exporter(exporter_settings=dict(api_timeout=3))
    info = "openstack_octavia_api_loadbalancer_info"
    assert proc.value("openstack_octavia_api_source_up", source="lab") == 1
    control = Lab(lab.s)
    api = control.services["octavia-api"]
    procs.stop(api.record(), timeout=api.stop_timeout)
    api.record_path.unlink(missing_ok=True)
    try:
        proc.wait_for(lambda: proc.value("openstack_octavia_api_source_up", source="lab") == 0,
                      3 * INTERVAL + 10, "source_up 0 during the outage")
        assert proc.value(info, loadbalancer_id=lb.id) == 1, "the last values are kept"
        assert proc.get("/-/healthy")[0] == 200
        time.sleep(2 * INTERVAL)
        errors = {s.labels["kind"]: s.value
                  for s in proc.samples("openstack_octavia_api_source_errors_total", source="lab")}
        assert errors["connection"] >= 1 and errors["connection"] + errors["timeout"] >= 2, errors
    finally:
        control.up()
    proc.wait_for(lambda: proc.value("openstack_octavia_api_source_up", source="lab") == 1,
                  3 * INTERVAL + 10, "source_up 1 after the outage")
    log = proc.log_text()
    assert log.count("source lab failed") == 1, log
    assert "source lab recovered" in log


def test_names_are_live(lab, lb_factory, exporter):
    """A renamed listener shows its new name within one cycle."""
    conn = lb_factory.conn
    lb = lb_factory.create()
    listener = prometheus_listener(conn, lb.id, name="before")
    proc = exporter()
    info = "openstack_octavia_api_listener_info"
    assert proc.samples(info, listener_id=listener.id)[0].labels["listener_name"] == "before"
    conn.load_balancer.update_listener(listener.id, name="after")
    proc.wait_for(lambda: [s.labels["listener_name"] for s in proc.samples(info, listener_id=listener.id)]
                  == ["after"], 2 * INTERVAL + 5, "the new listener name")


def test_bad_credentials_fail_the_source_not_the_process(lab, exporter, tmp_path):
    """A cloud that cannot authenticate: one clear log line, source_up 0, the process keeps serving."""
    clouds = tmp_path / "bad-clouds.yaml"
    clouds.write_text(f"""clouds:
  bad:
    auth_type: password
    auth: {{auth_url: "{lab.api_url}/identity/v3", username: reader, password: s3cret-Value,
            project_name: p, user_domain_name: Default, project_domain_name: Default}}
""")
    clouds.chmod(0o600)
    proc = ExporterProcess(tmp_path, [dict(name="bad", cloud="bad")], clouds, interval=1)
    with proc:
        assert proc.value("openstack_octavia_api_source_up", source="bad") == 0
        time.sleep(3)
        assert proc.value("openstack_octavia_api_exporter_cycles_total") >= 3
        text = proc.metrics_text()
    log = proc.log_text()
    assert log.count("source bad failed") == 1, log
    assert "s3cret-Value" not in log and "s3cret-Value" not in text


def test_amphorae_and_quotas(lab, lb_factory, exporter):
    """Amphorae (the lab's credential is admin) with their role; the project's quota with its usage."""
    lb = lb_factory.create()
    proc = exporter()
    amps = proc.samples("openstack_octavia_api_amphora_info", loadbalancer_id=lb.id)
    assert amps and amps[0].labels["role"] in ("STANDALONE", "MASTER", "BACKUP")
    assert proc.state("openstack_octavia_api_amphora_status",
                      amphora_id=amps[0].labels["amphora_id"]) == "ALLOCATED"
    assert proc.value("openstack_octavia_api_source_amphorae_visible", source="lab") == 1
    usage = proc.value("openstack_octavia_api_quota_usage", project_id=DEFAULT_PROJECT,
                       resource="loadbalancer")
    assert usage is not None and usage >= 1
    assert proc.value("openstack_octavia_api_quota_limit", project_id=DEFAULT_PROJECT,
                      resource="loadbalancer") is not None


def test_members_of_every_pool(lab, lb_factory, exporter):
    """Members come from the status tree (pools a listener uses) and from their own listing
    (a pool no listener uses), with their pool and load balancer."""
    conn = lb_factory.conn
    lb = lb_factory.create(listeners=[{
        "protocol": "UDP", "protocol_port": 53, "name": "dns", "default_pool": {
            "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN", "name": "dns-pool",
            "members": [{"address": "127.0.0.1", "protocol_port": 5353, "name": "dns-1"}]}}])
    spare = conn.load_balancer.create_pool(loadbalancer_id=lb.id, protocol="TCP",
                                           lb_algorithm="ROUND_ROBIN", name="spare")
    conn.load_balancer.wait_for_load_balancer(lb.id, wait=60)
    conn.load_balancer.create_member(spare.id, address="127.0.0.2", protocol_port=80, name="spare-1")
    conn.load_balancer.wait_for_load_balancer(lb.id, wait=60)
    proc = exporter()
    members = {s.labels["member_name"]: s.labels
               for s in proc.samples("openstack_octavia_api_member_info", loadbalancer_id=lb.id)}
    assert sorted(members) == ["dns-1", "spare-1"]
    assert members["spare-1"]["pool_id"] == spare.id and members["spare-1"]["member_port"] == "80"
    assert proc.state("openstack_octavia_api_member_operating_status",
                      member_id=members["dns-1"]["member_id"]) == "NO_MONITOR"
