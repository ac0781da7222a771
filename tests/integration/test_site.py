"""site.yml and teardown.yml end to end: the inventory plugin, the four roles, a real Prometheus.

One module-scoped fleet in a project of its own (VIPs in the lab's OCTAVIA_LAB_VIP_NET), so that
nobody else's load balancers in the lab become hosts: one serving HTTP through a pool, one bare, one
that already has a PROMETHEUS listener. The tests run in file order and share that state:
check mode predicts the first run and writes nothing, the first run makes every load balancer
an UP target and installs the octavia-exporter (foreground mode: the test starts its launcher,
and the exporter's HTTP SD lists the same targets), the second changes nothing, tags select one
part, and teardown refuses to run unconfirmed, then removes everything (the exporter too) and
is idempotent too. An inventory without load balancers (empty, or a source that failed to load)
stops site.yml at its start, unless octavia_listeners_allow_empty_fleet says that an empty fleet
is expected.
"""
import getpass
import grp
import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.prometheus_role import local_role_vars, start_bare_prometheus
from lab.backends import HttpBackend
from lab.factory import LoadBalancerFactory

FAST = "2s"
PROM_HOST = "site-prometheus"
GRAFANA_HOST = "site-grafana"
EXPORTER_HOST = "site-exporter"
EXPORTER_CLOUD_LABEL = "site-east"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def fleet(lab):
    conn = lab.connect()
    prefix = f"site-{uuid.uuid4().hex[:6]}"
    factory = LoadBalancerFactory(conn, name_prefix=prefix, timeout=90)
    backend = HttpBackend("127.0.0.1", 0, name=f"{prefix}-backend").start()
    try:
        web, bare, watched = (factory.create(name=f"{prefix}-{role}", vip_address=vip, project_id=prefix)
                              for role, vip in zip(("web", "bare", "watched"), factory.allocate_vips(3)))
        listener = conn.load_balancer.create_listener(loadbalancer_id=web.id, name=f"{prefix}-http",
                                                      protocol="HTTP", protocol_port=8080)
        factory.wait_active([web.id])
        pool = conn.load_balancer.create_pool(name=f"{prefix}-pool", listener_id=listener.id,
                                              protocol="HTTP", lb_algorithm="ROUND_ROBIN")
        factory.wait_active([web.id])
        conn.load_balancer.create_member(pool.id, name=f"{prefix}-member", address=backend.address,
                                         protocol_port=backend.port)
        conn.load_balancer.create_listener(loadbalancer_id=watched.id, name="prometheus",
                                           protocol="PROMETHEUS", protocol_port=8088,
                                           allowed_cidrs=["127.0.0.1/32"])
        factory.wait_active([web.id, watched.id])
        yield {"conn": conn, "project": prefix, "lbs": {lb.name: lb.id for lb in (web, bare, watched)}}
    finally:
        backend.stop()
        try:
            factory.cleanup()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    server = start_bare_prometheus(tmp_path_factory.mktemp("site-prom"), FAST)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def inventory(fleet, prom, lab, tmp_path_factory):
    """An inventory directory as a user writes one: the plugin file, and the two service hosts."""
    root = tmp_path_factory.mktemp("site-inventory")
    etc = prom.config_path.parent
    grafana = root / "grafana"
    exporter = root / "exporter"
    exporter_url = f"http://127.0.0.1:{_free_port()}"
    user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    (root / "fleet.octavia.yml").write_text(json.dumps({
        "plugin": "octavia.monitoring.loadbalancers", "clouds": [lab.cloud],
        "filters": {"project_ids": [fleet["project"]]}}))
    local = {"ansible_connection": "local", "ansible_host": "127.0.0.1",
             "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    (root / "hosts.yml").write_text(json.dumps({
        "prometheus": {"hosts": {PROM_HOST: local}, "vars": local_role_vars(
            prom, FAST,
            octavia_prometheus_sources=[{"cloud": lab.cloud, "filters": {"project_ids": [fleet["project"]]}}],
            octavia_prometheus_catalog_interval=FAST)},
        "grafana": {"hosts": {GRAFANA_HOST: local}, "vars": {
            "octavia_grafana_become": False,
            "octavia_grafana_file_owner": user, "octavia_grafana_file_group": group,
            "octavia_grafana_provisioning_dir": str(grafana / "provisioning"),
            "octavia_grafana_dashboards_dir": str(grafana / "dashboards"),
            "octavia_grafana_reload_method": "none"}},
        "octavia_exporter": {"hosts": {EXPORTER_HOST: local}, "vars": {
            "octavia_exporter_install_dir": str(exporter / "opt"),
            "octavia_exporter_config_dir": str(exporter / "etc"),
            "octavia_exporter_become": False, "octavia_exporter_create_user": False,
            "octavia_exporter_user": user, "octavia_exporter_group": group,
            "octavia_exporter_service_manager": "foreground",
            "octavia_exporter_listen_address": exporter_url.removeprefix("http://"),
            "octavia_exporter_interval": 2,
            "octavia_exporter_clouds": yaml.safe_load(lab.clouds_yaml.read_text())["clouds"],
            "octavia_exporter_sources": [{"name": "site", "cloud": lab.cloud,
                                          "labels": {"cloud": EXPORTER_CLOUD_LABEL},
                                          "filters": {"project_ids": [fleet["project"]]}}]}},
        "octavia_loadbalancers": {"vars": {"octavia_listeners_cloud": lab.cloud}},
    }))
    return {"path": root, "targets": etc / "file_sd" / "octavia.yml", "rules": etc / "rules",
            "grafana": grafana, "exporter": exporter, "exporter_url": exporter_url}


def run(lab, inventory, playbook="octavia.monitoring.site", **kwargs):
    return run_playbook(playbook, inventory=inventory["path"], env=lab.env, **kwargs)


def failures(result):
    """The failed tasks of a run, for an assertion message."""
    return [(host, name, res.get("msg")) for host in result.stats
            for name, res in result.task_results(host) if res.get("failed")] or result


def changed_tasks(result):
    """The changed tasks of a run by host, for an assertion message."""
    return {host: [name for name, res in result.task_results(host) if res.get("changed")]
            for host in result.stats if result.stats[host].get("changed")}


def changed_by_host(result):
    return {host: stats.get("changed", 0) for host, stats in result.stats.items()}


def prometheus_listeners(fleet):
    lbapi = fleet["conn"].load_balancer
    return {name: [lst.name for lst in lbapi.listeners(load_balancer_id=lb_id) if lst.protocol == "PROMETHEUS"]
            for name, lb_id in fleet["lbs"].items()}


def wait_for_targets(prom, want, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        targets = {t["labels"].get("loadbalancer_name"): t["health"] for t in prom.targets(job="octavia")}
        if targets == want or time.monotonic() > deadline:
            return targets
        time.sleep(1)


def test_check_mode_writes_nothing(lab, fleet, inventory, record):
    result = run(lab, inventory, check=True, diff=True)
    assert result.rc == 0, result
    assert sum(changed_by_host(result).values()) > 0, "a first run has something to do"
    assert prometheus_listeners(fleet) == {name: (["prometheus"] if name.endswith("-watched") else [])
                                           for name in fleet["lbs"]}
    assert not inventory["targets"].exists() and not inventory["grafana"].exists()
    assert not inventory["exporter"].exists()
    record["check"] = changed_by_host(result)


def test_first_run_matches_check_mode(lab, fleet, inventory, prom, record):
    result = run(lab, inventory)
    assert result.rc == 0, failures(result)
    assert changed_by_host(result) == record["check"], "check mode predicted another run"
    assert prometheus_listeners(fleet) == {name: ["prometheus"] for name in fleet["lbs"]}
    want = {name: "up" for name in fleet["lbs"]}
    assert wait_for_targets(prom, want) == want
    assert {p.name for p in (inventory["grafana"] / "dashboards").iterdir()} == {
        "octavia-fleet-overview.json", "octavia-lb-detail.json"}


def _sd_targets(url):
    with urllib.request.urlopen(url + "/sd/prometheus", timeout=5) as response:
        groups = json.loads(response.read().decode())
    return {(g["labels"]["loadbalancer_name"], g["labels"].get("cloud")): g["targets"] for g in groups}


def test_site_installs_the_exporter(fleet, inventory, prom):
    """The exporter play ran before Prometheus; its launcher serves the fleet the role found."""
    launcher = inventory["exporter"] / "opt" / "run-foreground"
    assert launcher.is_file()
    file_sd = {t["labels"]["loadbalancer_name"]: t["scrapeUrl"] for t in prom.targets(job="octavia")}
    proc = subprocess.Popen([str(launcher)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        want = {(name, EXPORTER_CLOUD_LABEL) for name in fleet["lbs"]}
        deadline = time.monotonic() + 60
        seen = {}
        while time.monotonic() < deadline and set(seen) != want:
            time.sleep(0.5)
            try:
                seen = _sd_targets(inventory["exporter_url"])
            except OSError:
                continue
        assert set(seen) == want, seen
        # The same address as the role's file_sd target, from the same address choice.
        for (name, _cloud), [target] in seen.items():
            assert file_sd[name] == f"http://{target}/metrics"
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def test_second_run_changes_nothing(lab, inventory):
    result = run(lab, inventory)
    assert result.rc == 0, result
    assert set(changed_by_host(result).values()) == {0}, changed_tasks(result)
    check = run(lab, inventory, check=True, diff=True)
    assert check.rc == 0 and set(changed_by_host(check).values()) == {0}, changed_tasks(check)


def test_tags_select_one_part(lab, fleet, inventory):
    (inventory["grafana"] / "dashboards" / "octavia-lb-detail.json").unlink()
    result = run(lab, inventory, tags=["grafana"])
    assert result.rc == 0, result
    assert changed_by_host(result).get(GRAFANA_HOST) == 1
    # Role argument validation is tagged `always` by Ansible itself; nothing else may run.
    ran = {host: [name for name, _result in result.task_results(host) if "Validating arguments" not in name]
           for host in result.stats}
    assert {host for host, names in ran.items() if names} == {GRAFANA_HOST}, ran


def test_teardown_needs_confirmation(lab, fleet, inventory):
    result = run(lab, inventory, playbook="octavia.monitoring.teardown")
    assert result.rc != 0
    assert "octavia_teardown_confirm=true" in json.dumps(result.data)
    assert sum(changed_by_host(result).values()) == 0
    assert inventory["targets"].exists()
    assert prometheus_listeners(fleet) == {name: ["prometheus"] for name in fleet["lbs"]}


def test_teardown_removes_everything_once(lab, fleet, inventory, prom):
    confirm = {"octavia_teardown_confirm": True}
    check = run(lab, inventory, playbook="octavia.monitoring.teardown", extra_vars=confirm,
                check=True, diff=True)
    assert check.rc == 0, check
    assert inventory["targets"].exists(), "check mode removed the targets file"
    result = run(lab, inventory, playbook="octavia.monitoring.teardown", extra_vars=confirm)
    assert result.rc == 0, result
    assert changed_by_host(result) == changed_by_host(check)
    assert prometheus_listeners(fleet) == {name: [] for name in fleet["lbs"]}
    assert not inventory["targets"].exists()
    assert not list(inventory["rules"].glob("octavia-*.yml"))
    assert not list((inventory["grafana"] / "dashboards").iterdir())
    assert not (inventory["exporter"] / "opt").exists() and not (inventory["exporter"] / "etc").exists()
    live = yaml.safe_load(prom.status_config())
    assert "octavia" not in {c["job_name"] for c in live.get("scrape_configs", [])}
    again = run(lab, inventory, playbook="octavia.monitoring.teardown", extra_vars=confirm)
    assert again.rc == 0 and set(changed_by_host(again).values()) == {0}, changed_by_host(again)


@pytest.fixture(scope="module")
def record():
    """What one test saw and a later one compares against."""
    return {}


EMPTY_FLEET_MESSAGE = "The inventory holds no load balancer (the group octavia_loadbalancers is empty)."


@pytest.mark.parametrize("source", ["no load balancer", "unknown key"])
def test_empty_inventory_stops_at_the_start(lab, tmp_path, source):
    """issue 15 #5: an inventory source that fails to load looks like an empty fleet; site.yml
    stops before its other plays instead of succeeding on no host."""
    fleet_file = {"plugin": "octavia.monitoring.loadbalancers", "clouds": [lab.cloud],
                  "filters": {"project_ids": [f"nobody-{uuid.uuid4().hex[:6]}"]}}
    if source == "unknown key":
        fleet_file["filters"] = {"name_patern": "web-*"}
    grafana = tmp_path / "grafana"
    user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    (tmp_path / "fleet.octavia.yml").write_text(json.dumps(fleet_file))
    (tmp_path / "hosts.yml").write_text(json.dumps({"grafana": {"hosts": {GRAFANA_HOST: {
        "ansible_connection": "local", "ansible_host": "127.0.0.1",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "octavia_grafana_become": False,
        "octavia_grafana_file_owner": user, "octavia_grafana_file_group": group,
        "octavia_grafana_provisioning_dir": str(grafana / "provisioning"),
        "octavia_grafana_dashboards_dir": str(grafana / "dashboards"),
        "octavia_grafana_reload_method": "none",
        # No prometheus group in this inventory to take the datasource address from.
        "octavia_grafana_datasource_url": "http://127.0.0.1:9090"}}}}))
    inventory = {"path": tmp_path}

    stopped = run(lab, inventory)
    assert stopped.rc != 0, stopped
    [failure] = [r for _name, r in stopped.task_results("localhost") if r.get("failed")]
    assert failure["msg"].startswith(EMPTY_FLEET_MESSAGE)
    assert "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true" in failure["msg"]
    assert "octavia_listeners_allow_empty_fleet=true" in failure["msg"]
    assert set(stopped.stats) == {"localhost"}, "a play after the check ran"
    assert not grafana.exists()

    expected = run(lab, inventory, extra_vars={"octavia_listeners_allow_empty_fleet": True})
    assert expected.rc == 0, expected
    assert changed_by_host(expected).get(GRAFANA_HOST, 0) > 0
    assert (grafana / "dashboards").is_dir()
