"""The octavia_prometheus role at scale, against real Debian Prometheus and VictoriaMetrics processes.

Three Prometheus servers (tests/helpers/prometheus_server.py), one per inventory host of
the group `prometheus`, each owning its prometheus.yml through the role; one
VictoriaMetrics (tests/helpers/store.py) as the global store they remote-write into.
The fleet is one list of explicit targets, one PROMETHEUS listener per load balancer,
all scraping VictoriaMetrics' own /metrics so that every target is up. In file order:

1. three shards from the role over one target list: each target is an active target of
   exactly one shard (each Prometheus' /api/v1/targets), every shard has a share, their
   union is the fleet; each shard carries its shard label; in VictoriaMetrics
   `count by (loadbalancer_id) (up{job="octavia"})` is 1 for every load balancer;
2. a second run and a check-mode run change nothing, and check mode writes nothing;
3. removing a shard from the inventory and re-running leaves every target on exactly one
   of the remaining two;
4. central rule evaluation removes the rule files a local run wrote, and Prometheus
   evaluates none of them;
5. Alertmanagers given as host:port reach Prometheus' alerting section and a real
   Alertmanager is discovered;
6. an inline remote-write password never appears in the output of a --diff run;
7. agent mode: the role's configuration has neither rule_files nor alerting, the agent
   (--enable-feature=agent) loads it and its samples arrive in VictoriaMetrics; agent
   mode with Alertmanagers fails before any write with one sentence.

The last test uses the lab: load balancers discovered through the API are shared by two
shards, each kept by exactly one.
"""
import getpass
import grp
import os
import uuid

import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.prometheus_server import PrometheusServer
from helpers.store import Alertmanager, VictoriaMetrics
from lab.factory import LoadBalancerFactory

FAST = "2s"
FLEET = 30
SHARDS = ("shard-a", "shard-b", "shard-c")
PLAY = [{
    "name": "Octavia targets for every Prometheus of the group",
    "hosts": "prometheus",
    "gather_facts": False,
    "roles": [{"role": "octavia.monitoring.octavia_prometheus"}],
}]


class AgentServer(PrometheusServer):
    """Prometheus in agent mode: its own storage flag instead of the TSDB ones, which an agent refuses."""

    def command(self):
        return [
            self.binary,
            f"--config.file={self.config_path}",
            "--enable-feature=agent",
            f"--storage.agent.path={self.data_dir}",
            f"--web.listen-address={self.address}",
            "--web.enable-lifecycle",
            "--log.level=info",
        ]


def of_length(result, length):
    """``result`` when it has ``length`` entries, else ``None`` (a wait_for condition)."""
    return result if len(result) == length else None


def common_vars():
    return {
        "ansible_connection": "local",
        "octavia_prometheus_become": False,
        "octavia_prometheus_file_owner": getpass.getuser(),
        "octavia_prometheus_file_group": grp.getgrgid(os.getgid()).gr_name,
        "octavia_prometheus_manage_config": True,
        "octavia_prometheus_reload_method": "http",
        "octavia_prometheus_global": {"scrape_interval": FAST, "scrape_timeout": FAST, "evaluation_interval": FAST},
        "octavia_prometheus_scrape_interval": FAST,
        "octavia_prometheus_scrape_timeout": FAST,
        "octavia_prometheus_file_sd_refresh_interval": FAST,
        "octavia_prometheus_catalog_interval": FAST,
    }


def host_vars(server):
    etc = server.config_path.parent
    return {
        "octavia_prometheus_config_file": str(server.config_path),
        "octavia_prometheus_file_sd_dir": str(etc / "file_sd"),
        "octavia_prometheus_rules_dir": str(etc / "rules"),
        "octavia_prometheus_web_url": server.url,
    }


def write_inventory(path, servers, group_vars):
    """An inventory whose group `prometheus` holds one host per server, in the given order."""
    inventory = {"all": {"children": {"prometheus": {
        "hosts": {name: host_vars(server) for name, server in servers.items()},
        "vars": {**common_vars(), **group_vars},
    }}}}
    path.write_text(yaml.safe_dump(inventory))
    return path


def start_server(root, name, cls=PrometheusServer):
    etc = root / name / "etc"
    etc.mkdir(parents=True)
    (etc / "prometheus.yml").write_text(f"global:\n  scrape_interval: {FAST}\n  evaluation_interval: {FAST}\n")
    return cls(config_path=etc / "prometheus.yml", workdir=root / name / "run").start()


def fleet_targets(address, count=FLEET, prefix="lb"):
    return [{"scrape_target": address,
             "labels": {"loadbalancer_id": f"{prefix}-{index:03d}", "loadbalancer_name": f"{prefix}{index}",
                        "listener_id": f"{prefix}-listener-{index:03d}"}}
            for index in range(count)]


def kept(server, job="octavia"):
    """The loadbalancer_id of every active target of the job, as Prometheus reports them."""
    return sorted(t["labels"].get("loadbalancer_id", "") for t in server.targets(job=job))


def shares(servers, expected, timeout=60):
    """Wait until the shards' active targets add up to `expected` ids; return {name: [ids]}."""
    def settled():
        found = {name: kept(server) for name, server in servers.items()}
        together = sorted(i for ids in found.values() for i in ids)
        return found if together == sorted(expected) else None
    try:
        return PrometheusServer.wait_for(settled, timeout=timeout, message="the shards to hold the fleet once")
    except TimeoutError:
        found = {name: kept(server) for name, server in servers.items()}
        pytest.fail(f"the shards never held each of the {len(expected)} targets exactly once: {found}")


def play(tmp_path, servers, group_vars, extra_vars=None, **kwargs):
    playbook = tmp_path / f"play-{uuid.uuid4().hex[:6]}.yml"
    playbook.write_text(yaml.safe_dump(PLAY))
    inventory = write_inventory(tmp_path / f"inventory-{uuid.uuid4().hex[:6]}.yml", servers, group_vars)
    return run_playbook(playbook, extra_vars=extra_vars, inventory=inventory, **kwargs)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with VictoriaMetrics(workdir=tmp_path_factory.mktemp("vm")) as vm:
        yield vm


@pytest.fixture(scope="module")
def shard_servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    servers = {}
    try:
        for name in SHARDS:
            servers[name] = start_server(root, name)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def fleet_vars(store):
    return {
        "octavia_prometheus_targets": fleet_targets(store.address),
        "octavia_prometheus_remote_write": [{"url": store.remote_write_url, "name": "global"}],
        "octavia_prometheus_remote_write_queue_config": {"batch_send_deadline": "1s", "max_samples_per_send": 2000,
                                                         "capacity": 10000, "max_shards": 4},
        "octavia_prometheus_external_labels": {"region": "lab"},
    }


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("scale-runs")


def expected_ids(count=FLEET, prefix="lb"):
    return [f"{prefix}-{index:03d}" for index in range(count)]


def test_three_shards_scrape_every_target_exactly_once(module_tmp, shard_servers, fleet_vars, store):
    run = play(module_tmp, shard_servers, fleet_vars)
    assert run.rc == 0, run
    found = shares(shard_servers, expected_ids())
    assert all(found.values()), f"a shard without a share: {found}"
    for ids in found.values():
        assert len(ids) == len(set(ids))
    for name, server in shard_servers.items():
        config = yaml.safe_load(server.status_config())
        assert config["global"]["external_labels"] == {"region": "lab", "shard": name}
        assert config["remote_write"][0]["queue_config"]["max_shards"] == 4
        # Only the Octavia job is sharded: each shard still scrapes itself.
        assert len(server.targets(job="prometheus")) == 1
    # In the global store: one `up` series per load balancer, from the shard that kept it.
    per_lb = store.wait_for(
        lambda: of_length(store.query('count by (loadbalancer_id) (up{job="octavia"})'), FLEET),
        timeout=60, message="every load balancer's up series in VictoriaMetrics")
    assert {s["metric"]["loadbalancer_id"] for s in per_lb} == set(expected_ids())
    assert {s["value"][1] for s in per_lb} == {"1"}
    by_shard = store.query('count by (shard) (up{job="octavia"})')
    assert {s["metric"]["shard"]: int(s["value"][1]) for s in by_shard} == {n: len(i) for n, i in found.items()}


def test_second_run_and_check_mode_change_nothing(module_tmp, shard_servers, fleet_vars):
    files = [p for server in shard_servers.values() for p in server.config_path.parent.rglob("*") if p.is_file()]
    before = {p: p.stat().st_mtime_ns for p in files}
    again = play(module_tmp, shard_servers, fleet_vars)
    assert again.rc == 0, again
    assert again.changed == 0, again.stats
    check = play(module_tmp, shard_servers, fleet_vars, check=True, diff=True)
    assert check.rc == 0, check
    assert check.changed == 0, check.stats
    assert {p: p.stat().st_mtime_ns for p in files} == before


def test_a_changed_shard_group_is_predicted_by_check_mode_and_writes_nothing(module_tmp, shard_servers, fleet_vars):
    two = {name: shard_servers[name] for name in SHARDS[:2]}
    configs = {name: server.config_path.read_text() for name, server in two.items()}
    check = play(module_tmp, two, fleet_vars, check=True)
    assert check.rc == 0, check
    assert all(check.stats[name]["changed"] >= 1 for name in two), check.stats
    assert {name: server.config_path.read_text() for name, server in two.items()} == configs


def test_removing_a_shard_leaves_every_target_on_one_of_the_others(module_tmp, shard_servers, fleet_vars, store):
    two = {name: shard_servers[name] for name in SHARDS[:2]}
    run = play(module_tmp, two, fleet_vars)
    assert run.rc == 0, run
    # The removed host is decommissioned: it scrapes nothing any more.
    shard_servers[SHARDS[2]].stop(remove=False)
    found = shares(two, expected_ids())
    assert all(found.values()), found
    for server in two.values():
        assert 'modulus: 2' in server.config_path.read_text()
    again = play(module_tmp, two, fleet_vars)
    assert again.changed == 0, again.stats


@pytest.fixture
def single(tmp_path):
    server = start_server(tmp_path, "single")
    try:
        yield {"prom-1": server}
    finally:
        server.stop()


def test_one_host_hashes_nothing(tmp_path, single, store):
    run = play(tmp_path, single, {"octavia_prometheus_targets": fleet_targets(store.address, 3)})
    assert run.rc == 0, run
    server = single["prom-1"]
    config = yaml.safe_load(server.config_path.read_text())
    octavia = next(job for job in config["scrape_configs"] if job["job_name"] == "octavia")
    assert "relabel_configs" not in octavia
    assert "external_labels" not in config["global"]
    shares(single, expected_ids(3))


def test_central_rule_evaluation_removes_the_rule_files(tmp_path, single, store):
    server = single["prom-1"]
    rules = server.config_path.parent / "rules"
    base = {"octavia_prometheus_targets": fleet_targets(store.address, 2)}
    local = play(tmp_path, single, base)
    assert local.rc == 0, local
    assert sorted(p.name for p in rules.iterdir()) == ["octavia-alerts.yml", "octavia-names.yml"]
    assert server.rule_names()
    central = {**base, "octavia_prometheus_rule_evaluation": "central"}
    check = play(tmp_path, single, central, check=True)
    assert check.rc == 0 and check.changed >= 1, check
    assert sorted(p.name for p in rules.iterdir()) == ["octavia-alerts.yml", "octavia-names.yml"]
    run = play(tmp_path, single, central)
    assert run.rc == 0, run
    assert list(rules.iterdir()) == []
    assert server.rule_names() == []
    assert play(tmp_path, single, central).changed == 0


def test_alertmanagers_reach_the_alerting_section(tmp_path, single, store):
    server = single["prom-1"]
    with Alertmanager(workdir=tmp_path / "am",
                      config_text="route:\n  receiver: none\nreceivers:\n  - name: none\n") as am:
        run = play(tmp_path, single, {"octavia_prometheus_targets": fleet_targets(store.address, 1),
                                      "octavia_prometheus_alertmanagers": [am.address]})
        assert run.rc == 0, run
        config = yaml.safe_load(server.config_path.read_text())
        assert config["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": [am.address]}]}]}
        found = server.wait_for(lambda: server.api("alertmanagers")["activeAlertmanagers"], timeout=30,
                                message="the Alertmanager in Prometheus' list")
        assert [a["url"] for a in found] == [f"http://{am.address}/api/v2/alerts"]


def test_a_bad_alertmanager_fails_before_any_write(tmp_path, single, store):
    server = single["prom-1"]
    run = play(tmp_path, single, {"octavia_prometheus_targets": fleet_targets(store.address, 1),
                                  "octavia_prometheus_alertmanagers": ["http://127.0.0.1:9093"]})
    assert run.rc != 0
    assert "octavia_prometheus_alertmanagers[0] must be host:port" in run.stdout
    assert not (server.config_path.parent / "file_sd").exists()


def test_an_inline_remote_write_password_stays_out_of_the_output(tmp_path, single, store):
    secret = f"pw-{uuid.uuid4().hex}"
    group = {"octavia_prometheus_targets": fleet_targets(store.address, 1),
             "octavia_prometheus_remote_write": [{"url": store.remote_write_url,
                                                  "basic_auth": {"username": "shard", "password": secret}}]}
    for check in (True, False):
        run = play(tmp_path, single, group, check=check, diff=True, args=("-v",))
        assert run.rc == 0, run
        assert secret not in run.stdout + run.stderr
    assert secret in single["prom-1"].config_path.read_text()


def test_agent_mode_forwards_and_evaluates_nothing(tmp_path, store):
    agent = start_server(tmp_path, "agent", cls=AgentServer)
    try:
        servers = {"agent-1": agent}
        group = {"octavia_prometheus_targets": fleet_targets(store.address, 3, prefix="agent"),
                 "octavia_prometheus_agent_mode": True,
                 "octavia_prometheus_remote_write": [{"url": store.remote_write_url}]}
        run = play(tmp_path, servers, group)
        assert run.rc == 0, run
        config = yaml.safe_load(agent.config_path.read_text())
        assert "rule_files" not in config and "alerting" not in config
        assert not (agent.config_path.parent / "rules").exists()
        assert agent.self_metric("prometheus_config_last_reload_successful") == 1
        arrived = store.wait_for(
            lambda: of_length(store.query('up{job="octavia",loadbalancer_id=~"agent-.*"}'), 3),
            timeout=60, message="the agent's samples in VictoriaMetrics")
        assert len(arrived) == 3
        assert play(tmp_path, servers, group).changed == 0

        before = agent.config_path.read_text()
        refused = play(tmp_path, servers, {**group, "octavia_prometheus_alertmanagers": ["127.0.0.1:9093"]})
        assert refused.rc != 0
        assert "Prometheus refuses rule_files and alerting in agent mode" in refused.stdout
        assert agent.config_path.read_text() == before

        alone = play(tmp_path, servers, {**group, "octavia_prometheus_remote_write": []})
        assert alone.rc != 0
        assert "needs at least one octavia_prometheus_remote_write entry" in alone.stdout
    finally:
        agent.stop()


@pytest.fixture
def lab_fleet(lab):
    """Six load balancers with a PROMETHEUS listener each, in a project of their own."""
    conn = lab.connect()
    prefix = f"shard-{uuid.uuid4().hex[:6]}"
    factory = LoadBalancerFactory(conn, name_prefix=prefix, timeout=120)
    try:
        ids = []
        for index, vip in enumerate(factory.allocate_vips(6)):
            lb = factory.create(name=f"{prefix}-lb{index}", vip_address=vip, project_id=prefix)
            conn.load_balancer.create_listener(loadbalancer_id=lb.id, name=f"{prefix}-metrics{index}",
                                               protocol="PROMETHEUS", protocol_port=8088,
                                               allowed_cidrs=["127.0.0.0/8"])
            ids.append(lb.id)
        factory.wait_active(ids)
        yield {"project": prefix, "ids": ids}
    finally:
        try:
            factory.cleanup()
        finally:
            conn.close()


def test_discovered_load_balancers_are_shared_by_two_shards(tmp_path, lab, lab_fleet):
    servers = {name: start_server(tmp_path, name) for name in ("lab-shard-1", "lab-shard-2")}
    try:
        group = {"octavia_prometheus_sources": [{"cloud": lab.cloud,
                                                 "filters": {"project_ids": [lab_fleet["project"]]}}]}
        run = play(tmp_path, servers, group)
        assert run.rc == 0, run
        found = shares(servers, lab_fleet["ids"])
        assert sorted(i for ids in found.values() for i in ids) == sorted(lab_fleet["ids"])
        for server in servers.values():
            assert all(t["labels"]["project_id"] == lab_fleet["project"] for t in server.targets(job="octavia"))
    finally:
        for server in servers.values():
            server.stop()
