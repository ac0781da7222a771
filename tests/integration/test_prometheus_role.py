"""The octavia_prometheus role end to end: the lab, the role through ansible-playbook, a real Prometheus.

One module-scoped fleet of two load balancers in a project of their own (so other
people's load balancers in the shared lab never become targets), VIPs in the lab's range,
and one Prometheus (the Debian binary, tests/helpers/prometheus_server.py) whose
prometheus.yml the role owns. The tests run in file order and share that state:

1. every PROMETHEUS listener is an UP target with the documented labels; a second run
   and a check-mode run change nothing;
2. octavia_listener_* series are found by load balancer name and, through the name
   catalogue, by listener, pool and member name;
3. stopping one lab amphora fires OctaviaMetricsEndpointDown (a 10s `for:`);
4. deleting a load balancer and re-running removes its target and its names;
5. an invalid extra scrape config fails the run with promtool's message and leaves the
   old prometheus.yml live, on disk and in Prometheus;
6. a source that names a load balancer that does not exist fails the run before anything
   is written, or warns when octavia_prometheus_missing_load_balancer says so.

The tests after them need no lab: each has a Prometheus of its own and explicit targets.
They cover issue 15's faults: a config promtool rejects replaces nothing and the next
run puts the threshold live; a reload that a failed run owed is done by the next run;
a refused reload reads as a sentence; explicit targets are checked in full before any
write; survey strings.
"""
import getpass
import grp
import json
import os
import pathlib
import uuid

import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.prometheus_role import local_role_vars, start_bare_prometheus
from helpers.prometheus_server import PrometheusServer
from lab.backends import HttpBackend
from lab.factory import LoadBalancerFactory

PLAYBOOK = pathlib.Path(__file__).resolve().parent / "playbooks" / "prometheus_role.yml"
FAST = "2s"
TARGET_LABELS = ("loadbalancer_id", "loadbalancer_name", "project_id", "listener_id", "vip_address",
                 "provider", "cloud", "region")


@pytest.fixture(scope="module")
def fleet(lab):
    """Two load balancers, each with a PROMETHEUS listener; the first also serves HTTP through a pool."""
    conn = lab.connect()
    prefix = f"prome2e-{uuid.uuid4().hex[:6]}"
    project = prefix
    factory = LoadBalancerFactory(conn, name_prefix=prefix, timeout=90)
    backend = HttpBackend("127.0.0.1", 0, name=f"{prefix}-backend").start()
    try:
        lbs = []
        for index, vip in enumerate(factory.allocate_vips(2), start=1):
            lb = factory.create(name=f"{prefix}-lb{index}", vip_address=vip, project_id=project)
            metrics = conn.load_balancer.create_listener(
                loadbalancer_id=lb.id, name=f"{prefix}-metrics{index}", protocol="PROMETHEUS",
                protocol_port=8088, allowed_cidrs=["127.0.0.0/8"])
            factory.wait_active([lb.id])
            lbs.append({"id": lb.id, "name": lb.name, "vip": vip, "metrics_listener": metrics.id,
                        "metrics_name": metrics.name})
        first = lbs[0]
        web = conn.load_balancer.create_listener(loadbalancer_id=first["id"], name=f"{prefix}-web",
                                                 protocol="HTTP", protocol_port=8080)
        factory.wait_active([first["id"]])
        pool = conn.load_balancer.create_pool(name=f"{prefix}-pool", listener_id=web.id, protocol="HTTP",
                                              lb_algorithm="ROUND_ROBIN")
        factory.wait_active([first["id"]])
        member = conn.load_balancer.create_member(pool.id, name=f"{prefix}-member", address=backend.address,
                                                  protocol_port=backend.port)
        factory.wait_active([first["id"]])
        first.update(web=web.name, web_id=web.id, pool=pool.name, pool_id=pool.id, member=member.name,
                     member_id=member.id)
        yield {"conn": conn, "factory": factory, "project": project, "prefix": prefix, "lbs": lbs,
               "backend": backend}
    finally:
        backend.stop()
        try:
            factory.cleanup()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    """A Prometheus on a free port with a bare prometheus.yml, which the role then takes over."""
    server = start_bare_prometheus(tmp_path_factory.mktemp("prom-role-e2e"), FAST)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def role_vars(fleet, prom, lab):
    return local_role_vars(
        prom, FAST,
        octavia_prometheus_sources=[{"cloud": lab.cloud, "filters": {"project_ids": [fleet["project"]]}}],
        octavia_prometheus_reload_method="http",
        octavia_prometheus_catalog_interval=FAST,
        octavia_prometheus_alert_endpoint_down_for="10s")


def run_role(lab, variables, **kwargs):
    return run_playbook(PLAYBOOK, extra_vars=variables, env=lab.env, **kwargs)


def task(run, name):
    """The result of one of the role's tasks in a run."""
    return run.result(f"octavia.monitoring.octavia_prometheus : {name}")


def rule_file(run, file_name):
    """The result of writing one rule file: an item of the role's "Write the rule files" loop."""
    items = [r for r in task(run, "Write the rule files")["results"] if r["item"]["name"] == file_name]
    assert len(items) == 1, f"{file_name} was written {len(items)} times"
    return items[0]


def octavia_targets(prom):
    return prom.targets(job="octavia")


def targets_if(prom, lb_ids, health=None):
    """The Octavia job's targets if they are exactly these load balancers (all with `health`), else None."""
    found = octavia_targets(prom)
    if sorted(t["labels"]["loadbalancer_id"] for t in found) != sorted(lb_ids):
        return None
    if health is not None and any(t["health"] != health for t in found):
        return None
    return found


@pytest.fixture(scope="module")
def converged(lab, fleet, prom, role_vars):
    run = run_role(lab, role_vars)
    assert run.rc == 0, run
    assert run.changed > 0
    return run


def test_every_prometheus_listener_is_an_up_target_with_its_labels(lab, fleet, prom, role_vars, converged):
    lbs = {lb["id"]: lb for lb in fleet["lbs"]}
    up = prom.wait_for(lambda: targets_if(prom, sorted(lbs), health="up"), timeout=60,
                       message="both load balancers UP in /api/v1/targets")
    for target in up:
        labels = target["labels"]
        lb = lbs[labels["loadbalancer_id"]]
        api = fleet["conn"].load_balancer.get_load_balancer(lb["id"])
        assert set(TARGET_LABELS) <= set(labels), labels
        assert labels["loadbalancer_name"] == api.name == lb["name"]
        assert labels["project_id"] == fleet["project"]
        assert labels["listener_id"] == lb["metrics_listener"]
        assert labels["vip_address"] == lb["vip"] == api.vip_address
        assert labels["provider"] == api.provider
        assert labels["cloud"] == lab.cloud
        assert labels["region"]
        assert labels["instance"] == f"{lb['vip']}:8088"
        assert target["scrapeUrl"] == f"http://{lb['vip']}:8088/metrics"

    again = run_role(lab, role_vars)
    assert again.rc == 0 and again.changed == 0, again
    checked = run_role(lab, role_vars, check=True, diff=True)
    assert checked.rc == 0 and checked.changed == 0, checked


def test_check_mode_reports_a_change_and_makes_none(lab, prom, role_vars, converged):
    rules = pathlib.Path(role_vars["octavia_prometheus_rules_dir"]) / "octavia-alerts.yml"
    before = rules.read_text()
    run = run_role(lab, {**role_vars, "octavia_prometheus_alert_cpu_percent": 61}, check=True, diff=True)
    assert run.rc == 0, run
    result = rule_file(run, "octavia-alerts.yml")
    assert result["changed"]
    assert "> 61" in result["diff"][0]["after"] and "> 80" in result["diff"][0]["before"]
    assert rules.read_text() == before
    assert 'octavia_loadbalancer_cpu{job="octavia"} > 80' in [
        r["query"] for g in prom.rules() for r in g["rules"] if r["name"] == "OctaviaAmphoraHighCpu"]


def test_series_are_found_by_load_balancer_and_object_names(fleet, prom, converged):
    first = fleet["lbs"][0]
    by_lb = prom.wait_for(lambda: prom.query(
        f'octavia_listener_bytes_in_total{{loadbalancer_name="{first["name"]}"}}'),
        timeout=60, message="listener series by loadbalancer_name")
    assert {s["metric"]["listener"] for s in by_lb} == {first["web_id"], first["metrics_listener"]}

    by_listener = prom.wait_for(lambda: prom.query(
        'octavia_listener_bytes_in_total * on (listener) group_left (listener_name) '
        f'octavia_listener_info{{listener_name="{first["web"]}"}}'),
        timeout=60, message="listener series joined to the catalogue by listener name")
    assert [s["metric"]["listener"] for s in by_listener] == [first["web_id"]]
    assert by_listener[0]["metric"]["loadbalancer_name"] == first["name"]

    pools = prom.wait_for(lambda: prom.query(
        'octavia_pool_active_members * on (pool) group_left (pool_name, listener_name) '
        f'octavia_pool_info{{pool_name="{first["pool"]}"}}'), timeout=60, message="pool by name")
    assert pools[0]["metric"]["pool"] == f'{first["pool_id"]}:{first["web_id"]}'
    assert pools[0]["metric"]["listener_name"] == first["web"]
    assert float(pools[0]["value"][1]) == 1

    members = prom.wait_for(lambda: prom.query(
        '(octavia_member_status{state="UP"} == 1) * on (member) group_left (member_name, member_address) '
        f'octavia_member_info{{member_name="{first["member"]}"}}'), timeout=60, message="member by name")
    assert members[0]["metric"]["member"] == first["member_id"]
    assert members[0]["metric"]["member_address"] == fleet["backend"].address


def test_stopping_an_amphora_fires_the_endpoint_down_alert(lab, fleet, prom, converged):
    second = fleet["lbs"][1]
    prom.wait_for(lambda: prom.query_value(f'up{{loadbalancer_id="{second["id"]}"}}') == 1, timeout=60,
                  message="the second load balancer scraped")
    assert not prom.alerts("OctaviaMetricsEndpointDown")
    lab.amphora_stop(second["id"])
    try:
        firing = prom.wait_for(lambda: prom.alerts("OctaviaMetricsEndpointDown", state="firing"), timeout=90,
                               message="OctaviaMetricsEndpointDown firing")
        assert len(firing) == 1
        labels, annotations = firing[0]["labels"], firing[0]["annotations"]
        assert labels["loadbalancer_name"] == second["name"]
        assert labels["listener_name"] == second["metrics_name"]
        assert labels["severity"] == "critical"
        assert annotations["summary"] == f"Metrics endpoint of load balancer {second['name']} is down"
        assert f"PROMETHEUS listener {second['metrics_name']} of load balancer {second['name']}" in \
            annotations["description"]
        # The other load balancer is still scraped: the alert names one endpoint, not the job.
        assert prom.query_value(f'up{{loadbalancer_id="{fleet["lbs"][0]["id"]}"}}') == 1
    finally:
        lab.amphora_start(second["id"])
    prom.wait_for(lambda: not prom.alerts("OctaviaMetricsEndpointDown"), timeout=60,
                  message="the alert resolved once the amphora runs again")


def test_a_deleted_load_balancer_loses_its_target_and_names(lab, fleet, prom, role_vars, converged):
    second = fleet["lbs"][1]
    prom.wait_for(lambda: prom.query(f'octavia_listener_info{{loadbalancer_id="{second["id"]}"}}'), timeout=60,
                  message="the second load balancer in the catalogue")
    conn = fleet["conn"]
    conn.load_balancer.delete_load_balancer(second["id"], cascade=True)
    prom.wait_for(lambda: second["id"] not in {lb.id for lb in conn.load_balancer.load_balancers()},
                  timeout=60, message="the load balancer deleted")

    run = run_role(lab, role_vars)
    assert run.rc == 0, run
    assert task(run, "Write the targets file")["changed"]
    assert rule_file(run, "octavia-names.yml")["changed"]
    remaining = prom.wait_for(lambda: targets_if(prom, [fleet["lbs"][0]["id"]]), timeout=30,
                              message="only the first load balancer left in /api/v1/targets")
    assert remaining[0]["health"] == "up"
    # The reload drops the catalogue group, and Prometheus marks its series stale at once.
    prom.wait_for(lambda: not prom.query(f'octavia_listener_info{{loadbalancer_id="{second["id"]}"}}'),
                  timeout=30, message="the deleted load balancer's names gone")
    assert prom.query(f'octavia_listener_info{{loadbalancer_id="{fleet["lbs"][0]["id"]}"}}')


def test_an_invalid_extra_scrape_config_fails_and_keeps_the_old_config(lab, prom, role_vars, converged):
    config = prom.config_path
    before_file = config.read_bytes()
    before_live = prom.status_config()
    bad = {**role_vars, "octavia_prometheus_extra_scrape_configs": [{
        "job_name": "broken", "scrape_interval": "5s", "scrape_timeout": "30s",
        "static_configs": [{"targets": ["127.0.0.1:9"]}]}]}
    run = run_role(lab, bad)
    assert run.rc != 0, run
    message = task(run, "Report the configuration that promtool rejected")["msg"]
    assert "scrape timeout greater than scrape interval" in message
    assert 'job name "broken"' in message
    assert "left as it was" in message
    assert config.read_bytes() == before_file
    assert prom.status_config() == before_live
    assert prom.self_metric("prometheus_config_last_reload_successful") == 1
    assert not list(config.parent.glob("*.tmp")) and not list(config.parent.glob(".ansible*"))

    # The same extra job, valid, goes live through a reload.
    good = {**role_vars, "octavia_prometheus_extra_scrape_configs": [{
        "job_name": "extra", "static_configs": [{"targets": ["127.0.0.1:9"]}]}]}
    run = run_role(lab, good)
    assert run.rc == 0, run
    assert "job_name: extra" in prom.status_config()
    assert prom.self_metric("prometheus_config_last_reload_successful") == 1


def test_a_source_naming_a_missing_load_balancer_fails_before_anything_is_written(
        lab, fleet, role_vars, converged):
    targets_file = pathlib.Path(role_vars["octavia_prometheus_file_sd_dir"]) / "octavia.yml"
    before = targets_file.read_bytes()
    assert yaml.safe_load(before), "the fleet's targets are in the file"
    gone = f"{fleet['prefix']}-no-such-lb"
    sources = role_vars["octavia_prometheus_sources"] + [{"cloud": lab.cloud, "load_balancer": gone}]
    run = run_role(lab, {**role_vars, "octavia_prometheus_sources": sources,
                         "octavia_prometheus_alert_cpu_percent": 62})
    assert run.rc != 0, run
    failed = [(name, result) for name, result in run.task_results() if result.get("failed")]
    assert [name for name, _result in failed] == [
        "octavia.monitoring.octavia_prometheus : Check that every load balancer a source names exists"]
    message = failed[0][1]["msg"]
    assert f"octavia_prometheus_sources[1] names load balancer '{gone}', which does not exist in cloud {lab.cloud}" \
        in message
    assert "Nothing was written" in message and "octavia_prometheus_missing_load_balancer: warn" in message
    assert targets_file.read_bytes() == before
    rules = pathlib.Path(role_vars["octavia_prometheus_rules_dir"]) / "octavia-alerts.yml"
    assert "> 62" not in rules.read_text()

    # A load balancer that exists without a PROMETHEUS listener is not "missing".
    bare = fleet["factory"].create(name=f"{fleet['prefix']}-bare", project_id=fleet["project"])
    run = run_role(lab, {**role_vars, "octavia_prometheus_sources": role_vars["octavia_prometheus_sources"]
                         + [{"cloud": lab.cloud, "load_balancer": bare.name}]})
    assert run.rc == 0, run
    assert not task(run, "Write the targets file")["changed"]
    assert targets_file.read_bytes() == before


def test_a_missing_load_balancer_only_warns_when_asked_to(lab, fleet, role_vars, converged):
    targets_file = pathlib.Path(role_vars["octavia_prometheus_file_sd_dir"]) / "octavia.yml"
    before = targets_file.read_bytes()
    assert yaml.safe_load(before), "the fleet's targets are in the file"
    gone = f"{fleet['prefix']}-no-such-lb"
    sources = [{"cloud": lab.cloud, "load_balancer": gone}] + role_vars["octavia_prometheus_sources"]
    run = run_role(lab, {**role_vars, "octavia_prometheus_sources": sources,
                         "octavia_prometheus_missing_load_balancer": "warn"})
    assert run.rc == 0, run
    warning = task(run, "Warn about sources whose load balancer does not exist")["msg"]
    assert f"octavia_prometheus_sources[0] names load balancer '{gone}'" in warning
    assert "left out of the targets file" in warning
    # The other source's targets stay: nothing else changed.
    assert run.changed == 0, run
    assert targets_file.read_bytes() == before


# Preflight: mistakes are caught before anything is written, by a message that names the
# variable and the fix. No lab needed.

@pytest.mark.parametrize("override, needle", [
    ({"octavia_prometheus_targets_file_name": "lbs.yml"}, "octavia_prometheus_targets_file_name (lbs.yml)"),
    ({"octavia_prometheus_extra_scrape_configs": [{"job_name": "octavia", "static_configs": []}]},
     "job names must be unique: octavia, prometheus, octavia"),
    ({"octavia_prometheus_target_labels": {"bad-label": "x"}}, "octavia_prometheus_target_labels must be a mapping"),
    ({"octavia_prometheus_catalog_interval": "10m"}, "octavia_prometheus_catalog_interval (10m)"),
    ({"octavia_prometheus_alert_cpu_for": "15 minutes"}, "octavia_prometheus_alert_cpu_for must be a Prometheus duration"),
    ({"octavia_prometheus_alert_rules_disabled": ["OctaviaNoSuchAlert"]}, "unknown: OctaviaNoSuchAlert"),
    ({"octavia_prometheus_targets": [{"scrape_target": "127.4.0.1"}]}, "octavia_prometheus_targets[0] must look like"),
    ({"octavia_prometheus_promtool_path": "/nonexistent/promtool"}, "promtool was not found at octavia_prometheus_promtool_path"),
    ({"octavia_prometheus_rules_dir": "rules"}, "octavia_prometheus_rules_dir must be an absolute path"),
    ({"octavia_prometheus_targets": [{"scrape_target": "127.4.0.1:99999"}]},
     "octavia_prometheus_targets[0].scrape_target '127.4.0.1:99999' has port 99999, outside 1-65535."),
    ({"octavia_prometheus_targets": [{"scrape_target": "127.4.0.1:8088", "catalog": {"listeners": [{"id": "l"}]}}]},
     "octavia_prometheus_targets[0] has a catalog but no labels.loadbalancer_id"),
    ({"octavia_prometheus_targets": [{"scrape_target": "2001:db8::1:8088"}]}, "IPv6 address in brackets"),
    ({"octavia_prometheus_alert_rules_disabled": "OctaviaMemberDown, OctaviaNoSuchAlert"},
     "unknown: OctaviaNoSuchAlert."),
    ({"octavia_prometheus_sources": [{"cloud": "x", "labels": {"bad-label": "x"}}]},
     "octavia_prometheus_sources[0].labels must map Prometheus label names"),
    ({"octavia_prometheus_alert_cpu_percent": 0}, "octavia_prometheus_alert_cpu_percent must be a percentage above 0 (got 0)."),
    ({"octavia_prometheus_promtool_path": "NOT_EXECUTABLE"}, "but is not an executable file"),
], ids=["glob", "job-names", "label-name", "catalog-interval", "duration", "disabled-alert", "target",
        "promtool", "relative-path", "port-range", "catalog-without-lb-id", "ipv6-brackets", "survey-string",
        "source-label", "threshold", "promtool-not-executable"])
def test_preflight_names_the_variable_and_writes_nothing(tmp_path, override, needle):
    if override.get("octavia_prometheus_promtool_path") == "NOT_EXECUTABLE":
        promtool = tmp_path / "promtool"
        promtool.write_text("#!/bin/sh\n")
        promtool.chmod(0o644)
        override = {**override, "octavia_prometheus_promtool_path": str(promtool)}
    variables = {
        "octavia_prometheus_config_file": str(tmp_path / "etc" / "prometheus.yml"),
        "octavia_prometheus_file_sd_dir": str(tmp_path / "etc" / "file_sd"),
        "octavia_prometheus_rules_dir": str(tmp_path / "etc" / "rules"),
        "octavia_prometheus_become": False,
        "octavia_prometheus_manage_config": True,
        "octavia_prometheus_reload_method": "none",
        **override,
    }
    run = run_playbook(PLAYBOOK, extra_vars=variables)
    assert run.rc != 0, run
    failed = [(name, result) for name, result in run.task_results() if result.get("failed")]
    assert len(failed) == 1, failed
    name, result = failed[0]
    assert name.startswith("octavia.monitoring.octavia_prometheus : Check"), name
    # A looped assert reports "One or more items failed"; the item carries the message.
    message = " ".join([result.get("msg", "")] + [r.get("msg", "") for r in result.get("results", [])
                                                  if r.get("failed")])
    assert needle in message, message
    # One message for the one condition that failed, not a list of every rule.
    assert message.count(" must ") <= 2, message
    assert not (tmp_path / "etc").exists()


def test_a_source_with_an_option_the_module_does_not_have_is_refused_by_the_argument_spec(tmp_path):
    """project_id and tags are gone: a source selects load balancers with `filters`."""
    run = run_playbook(PLAYBOOK, extra_vars={
        "octavia_prometheus_rules_dir": str(tmp_path / "rules"), "octavia_prometheus_become": False,
        "octavia_prometheus_sources": [{"cloud": "lab", "project_id": "p1"}]})
    assert run.rc != 0, run
    assert "project_id" in run.stdout and "octavia_prometheus_sources" in run.stdout
    assert not (tmp_path / "rules").exists()


# Faults and bad input with a Prometheus of the test's own and explicit targets (no lab).

EXPLICIT = [{"scrape_target": "127.0.0.1:1", "labels": {"loadbalancer_id": "lb-local", "loadbalancer_name": "local"},
             "catalog": {"listeners": [{"id": "l-local", "name": "metrics", "protocol": "PROMETHEUS",
                                        "protocol_port": 1}]}}]


class Local:
    """A Prometheus of one test's own, the role's variables for it, and a runner."""

    def __init__(self, tmp_path, lifecycle=True):
        self.etc = tmp_path / "etc"
        self.etc.mkdir()
        self.config = self.etc / "prometheus.yml"
        self.config.write_text(f"global:\n  scrape_interval: {FAST}\n  evaluation_interval: {FAST}\n")
        self.prom = PrometheusServer(config_path=self.config, workdir=tmp_path / "run", lifecycle=lifecycle).start()
        self.rules = self.etc / "rules" / "octavia-alerts.yml"
        self.targets = self.etc / "file_sd" / "octavia.yml"
        self.vars = {
            "octavia_prometheus_config_file": str(self.config),
            "octavia_prometheus_file_sd_dir": str(self.etc / "file_sd"),
            "octavia_prometheus_rules_dir": str(self.etc / "rules"),
            "octavia_prometheus_become": False,
            "octavia_prometheus_file_owner": getpass.getuser(),
            "octavia_prometheus_file_group": grp.getgrgid(os.getgid()).gr_name,
            "octavia_prometheus_manage_config": True,
            "octavia_prometheus_web_url": self.prom.url,
            "octavia_prometheus_pid_file": str(self.prom.pid_path),
            # The self-scrape job names web_url: keep prometheus.yml the same when a test points it elsewhere.
            "octavia_prometheus_scrape_self": False,
            "octavia_prometheus_global": {"scrape_interval": FAST, "scrape_timeout": FAST,
                                          "evaluation_interval": FAST},
            "octavia_prometheus_targets": EXPLICIT,
        }

    def run(self, check=False, diff=False, **extra):
        return run_playbook(PLAYBOOK, extra_vars={**self.vars, **extra}, check=check, diff=diff)

    def cpu_query(self):
        """What Prometheus evaluates for OctaviaAmphoraHighCpu (not what the file says)."""
        return [r["query"] for g in self.prom.rules() for r in g["rules"] if r["name"] == "OctaviaAmphoraHighCpu"]


@pytest.fixture
def local(tmp_path):
    env = Local(tmp_path)
    try:
        yield env
    finally:
        env.prom.stop()


def test_a_config_promtool_rejects_replaces_nothing_and_the_threshold_goes_live_next_run(local):
    """Issue 15 #3, as reported: threshold 85 plus a scrape config with scrape_interval 5x, then the threshold alone."""
    first = local.run()
    assert first.rc == 0, first
    assert local.cpu_query() == ['octavia_loadbalancer_cpu{job="octavia"} > 80']
    before = {path: path.read_bytes() for path in (local.config, local.rules, local.targets)}

    bad = local.run(octavia_prometheus_alert_cpu_percent=85, octavia_prometheus_extra_scrape_configs=[
        {"job_name": "broken", "scrape_interval": "5x", "static_configs": [{"targets": ["127.0.0.1:9"]}]}])
    assert bad.rc != 0, bad
    failed = bad.failed()
    assert [name for name, _result in failed][-1] == \
        "octavia.monitoring.octavia_prometheus : Report the configuration that promtool rejected"
    message = failed[-1][1]["msg"]
    assert 'not a valid duration string: "5x"' in message
    assert "before any live file was written" in message and "left as it was" in message
    # Nothing live was replaced: not the rules (which were valid), not the config, not the targets.
    assert {path: path.read_bytes() for path in before} == before
    assert "> 80" in local.rules.read_text()
    assert local.cpu_query() == ['octavia_loadbalancer_cpu{job="octavia"} > 80']
    assert not [name for name, result in bad.task_results() if result.get("changed")], "the failed run changed something"

    healed = local.run(octavia_prometheus_alert_cpu_percent=85)
    assert healed.rc == 0, healed
    assert local.cpu_query() == ['octavia_loadbalancer_cpu{job="octavia"} > 85']
    assert local.prom.self_metric("prometheus_config_last_reload_successful") == 1
    again = local.run(octavia_prometheus_alert_cpu_percent=85)
    assert again.rc == 0 and again.changed == 0, again


def test_a_reload_that_a_failed_run_owed_is_done_by_the_next_run(local, tmp_path):
    assert local.run().rc == 0
    from helpers.prometheus_server import free_port
    nowhere = f"http://127.0.0.1:{free_port()}"
    lost = local.run(octavia_prometheus_alert_cpu_percent=87, octavia_prometheus_web_url=nowhere)
    assert lost.rc != 0, lost
    (name, result), = lost.failed()
    assert name == "octavia.monitoring.octavia_prometheus : Check that Prometheus answered"
    assert f"Prometheus at {nowhere} (octavia_prometheus_web_url) did not answer GET /metrics" in result["msg"]
    assert "Connection refused" in result["msg"]
    assert "Status code was" not in json.dumps(lost.data)
    assert "the next run reloads Prometheus" in result["msg"]
    # The file went live on disk; Prometheus still runs the old rule.
    assert "> 87" in local.rules.read_text()
    assert local.cpu_query() == ['octavia_loadbalancer_cpu{job="octavia"} > 80']

    # Nothing differs on disk now, yet the next run reloads: Prometheus did not run the files.
    checked = local.run(check=True, octavia_prometheus_alert_cpu_percent=87)
    assert checked.rc == 0, checked
    assert task(checked, "Show that Prometheus would be reloaded")["changed"]
    assert local.cpu_query() == ['octavia_loadbalancer_cpu{job="octavia"} > 80'], "check mode reloaded"
    healed = local.run(octavia_prometheus_alert_cpu_percent=87)
    assert healed.rc == 0, healed
    assert not rule_file(healed, "octavia-alerts.yml")["changed"]
    assert task(healed, "Reload Prometheus through its HTTP lifecycle API")["changed"]
    assert checked.changed == healed.changed, "check mode predicted another outcome"
    assert local.cpu_query() == ['octavia_loadbalancer_cpu{job="octavia"} > 87']
    settled = local.run(octavia_prometheus_alert_cpu_percent=87)
    assert settled.rc == 0 and settled.changed == 0, settled


def test_a_refused_http_reload_is_a_sentence_and_stays_owed(tmp_path):
    env = Local(tmp_path, lifecycle=False)
    try:
        refused = env.run(octavia_prometheus_alert_cpu_percent=88)
        assert refused.rc != 0, refused
        (name, result), = refused.failed()
        assert name == "octavia.monitoring.octavia_prometheus : Check that Prometheus accepted the HTTP reload"
        assert f"Prometheus at {env.prom.url} answered HTTP 403 to POST /-/reload" in result["msg"]
        assert "Start Prometheus with --web.enable-lifecycle" in result["msg"]
        assert "the next run reloads it again" in result["msg"]
        assert env.cpu_query() == []
        # The same files, reloaded another way: the owed reload is not lost.
        signalled = env.run(octavia_prometheus_alert_cpu_percent=88, octavia_prometheus_reload_method="signal")
        assert signalled.rc == 0, signalled
        assert task(signalled, "Send SIGHUP to Prometheus")["changed"]
        assert env.cpu_query() == ['octavia_loadbalancer_cpu{job="octavia"} > 88']
    finally:
        env.prom.stop()


def test_check_mode_fails_where_the_run_fails_and_writes_nothing(local):
    bad = {"octavia_prometheus_extra_scrape_configs": [
        {"job_name": "broken", "scrape_interval": "5s", "scrape_timeout": "30s",
         "static_configs": [{"targets": ["127.0.0.1:9"]}]}]}
    checked = local.run(check=True, diff=True, **bad)
    assert checked.rc != 0, checked
    assert "scrape timeout greater than scrape interval" in checked.failed()[-1][1]["msg"]
    assert not (local.etc / "rules").exists() and not (local.etc / "file_sd").exists()

    checked = local.run(check=True, diff=True)
    assert checked.rc == 0, checked
    assert not (local.etc / "rules").exists() and not (local.etc / "file_sd").exists(), "check mode wrote files"
    applied = local.run()
    assert applied.rc == 0, applied
    assert applied.changed == checked.changed, "check mode and the real run disagree on what changes"


def test_survey_strings_for_the_list_variables(local):
    survey = "OctaviaAmphoraHighMemory, OctaviaMemberDown\nOctaviaAmphoraHighCpu\n"
    run = local.run(octavia_prometheus_alert_rules_disabled=survey)
    assert run.rc == 0, run
    loaded = local.prom.rule_names()
    assert "OctaviaMetricsEndpointDown" in loaded
    assert not {"OctaviaAmphoraHighMemory", "OctaviaMemberDown", "OctaviaAmphoraHighCpu"} & set(loaded)
    assert len([n for n in loaded if n.startswith("Octavia")]) == 7

    extra_rules = local.etc / "mine.yml"
    extra_rules.write_text("groups:\n  - name: mine\n    rules:\n      - record: mine_up\n        expr: vector(1)\n")
    run = local.run(octavia_prometheus_extra_rule_files=f" {extra_rules} ,\n")
    assert run.rc == 0, run
    assert "mine_up" in local.prom.rule_names()


def test_an_explicit_target_with_only_an_address_is_scraped_and_not_catalogued(local):
    """Issue 15 #6: a target with only scrape_target crashed the catalogue after the targets file was rewritten."""
    run = local.run(octavia_prometheus_targets=[{"scrape_target": "127.0.0.1:2"}])
    assert run.rc == 0, run
    assert yaml.safe_load(local.targets.read_text()) == [{"targets": ["127.0.0.1:2"], "labels": {}}]
    names = yaml.safe_load((local.etc / "rules" / "octavia-names.yml").read_text())
    assert names == {"groups": []}
