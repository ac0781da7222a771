"""AWX job slicing, run the way AWX runs it, with the targets from the exporter's HTTP SD (issue 12).

AWX syncs the inventory source once and gives each slice of a sliced job an inventory of its
own: the hosts sorted by name, slice k of n holding every n-th host from the k-th on, each
group holding only that slice's hosts (group variables stay), and no awx_job_slice_number.
So the Prometheus host is in one slice, and which one changes with the host count. Its
OpenStack credential is a clouds.yaml (OS_CLIENT_CONFIG_FILE) whose one cloud is `devstack`.

The inventory here follows the README's guidance ("AWX job slicing"): Prometheus discovers
nothing itself (octavia_prometheus_sources: []) and reads its targets from the real
octavia-exporter's HTTP SD (exporter/tests/exporter_proc.py), whose source sets the cloud
label; octavia_listeners_allowed_cidrs is set for every slice. Two rounds of two slices, run
in parallel as AWX runs them: after each, every load balancer has one PROMETHEUS listener and
is exactly one UP target of the real Prometheus, labelled cloud="east", and nothing else is a
target (the load balancer deleted between the rounds is gone). Between the rounds the host
count changes, which moves the Prometheus host to the other slice.
"""
import concurrent.futures
import json
import subprocess
import sys
import time
import uuid

import pytest
import yaml

from helpers.ansible_run import REPO, VENV_BIN, ansible_env, run_playbook
from helpers.prometheus_role import local_role_vars, start_bare_prometheus
from lab.factory import LoadBalancerFactory

# The exporter's test helper (its real command in the foreground) sits beside its tests.
if str(REPO / "exporter" / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "exporter" / "tests"))

from exporter_proc import ExporterProcess  # noqa: E402 - exporter/tests is on the path above

FAST = "2s"
PROM_HOST = "zz-prometheus"
CLOUD_LABEL = "east"
ALLOWED = ["127.0.0.1/32"]
SLICES = 2


@pytest.fixture(scope="module")
def awx_clouds(lab, tmp_path_factory):
    """The lab's credential as AWX injects one: a clouds.yaml whose one cloud is `devstack`."""
    [entry] = yaml.safe_load(lab.clouds_yaml.read_text())["clouds"].values()
    path = tmp_path_factory.mktemp("awx-credential") / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"devstack": entry}}))
    path.chmod(0o600)
    # The lab's own OS_CLOUD would name a cloud this file does not have.
    env = {key: value for key, value in lab.env.items() if key != "OS_CLOUD"}
    return {"path": path, "env": dict(env, OS_CLIENT_CONFIG_FILE=str(path))}


@pytest.fixture(scope="module")
def fleet(lab):
    conn = lab.connect()
    prefix = f"slc-{uuid.uuid4().hex[:6]}"
    factory = LoadBalancerFactory(conn, name_prefix=prefix, timeout=90)
    try:
        vips = iter(factory.allocate_vips(6))
        lbs = {}

        def create(number):
            lb = factory.create(name=f"{prefix}-lb{number}", vip_address=next(vips), project_id=prefix)
            lbs[lb.name] = lb.id

        for number in range(1, 5):
            create(number)
        yield {"conn": conn, "factory": factory, "project": prefix, "lbs": lbs, "create": create}
    finally:
        try:
            factory.cleanup()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def exporter(fleet, awx_clouds, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slicing-exporter")
    sources = [{"name": "awx", "cloud": "devstack", "labels": {"cloud": CLOUD_LABEL},
                "filters": {"project_ids": [fleet["project"]]}}]
    proc = ExporterProcess(workdir, sources, awx_clouds["path"], interval=2)
    with proc:
        yield proc


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    server = start_bare_prometheus(tmp_path_factory.mktemp("slicing-prom"), FAST)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def inventory(fleet, prom, exporter, tmp_path_factory):
    """The whole inventory, as the user keeps it in the project AWX syncs from."""
    root = tmp_path_factory.mktemp("slicing-inventory")
    # No clouds: the plugin reads the one cloud of the credential AWX injects.
    (root / "fleet.octavia.yml").write_text(json.dumps({
        "plugin": "octavia.monitoring.loadbalancers",
        "filters": {"project_ids": [fleet["project"]]}}))
    (root / "hosts.yml").write_text(json.dumps({
        "prometheus": {"hosts": {PROM_HOST: {
            "ansible_connection": "local", "ansible_host": "127.0.0.1",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}, "vars": local_role_vars(
                prom, FAST,
                octavia_prometheus_sources=[],
                octavia_prometheus_http_sd_urls=[f"{exporter.url}/sd/prometheus"],
                octavia_prometheus_exporter_targets=[exporter.url.removeprefix("http://")],
                octavia_prometheus_catalog_interval=FAST)},
        "octavia_loadbalancers": {"vars": {"octavia_listeners_allowed_cidrs": ALLOWED}},
    }))
    return {"path": root, "targets": prom.config_path.parent / "file_sd" / "octavia.yml"}


def synced_inventory(inventory, env):
    """What AWX stores when it syncs the source: every host, group and variable."""
    proc = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(inventory["path"]), "--list",
                           "--export"], capture_output=True, text=True, env=ansible_env(env), check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def job_slices(synced, count):
    """Each slice's inventory as AWX builds it: hosts by name, every count-th, groups kept.

    Returns ``[(hosts of the slice, YAML inventory)]``.
    """
    hostvars = synced.get("_meta", {}).get("hostvars", {})
    every = set(hostvars)
    for name, group in synced.items():
        if name != "_meta":
            every.update(group.get("hosts", []))
    ordered = sorted(every)

    def node(name, keep):
        group = synced.get(name, {})
        out = {}
        hosts = [host for host in group.get("hosts", []) if host in keep]
        if hosts:
            out["hosts"] = {host: hostvars.get(host) or {} for host in hosts}
        if group.get("vars"):
            out["vars"] = group["vars"]
        if group.get("children"):
            out["children"] = {child: node(child, keep) for child in group["children"]}
        return out

    slices = []
    for index in range(count):
        keep = set(ordered[index::count])
        slices.append((keep, {"all": node("all", keep)}))
    return slices


def run_slices(inventory, awx_clouds, tmp_path, extra_vars=None):
    """Both slices of one site.yml job, in parallel; returns ``[(hosts, result)]`` by slice."""
    slices = job_slices(synced_inventory(inventory, awx_clouds["env"]), SLICES)
    paths = []
    for number, (_hosts, data) in enumerate(slices, 1):
        path = tmp_path / f"slice{number}.yml"
        path.write_text(json.dumps(data))
        paths.append(path)
    with concurrent.futures.ThreadPoolExecutor(SLICES) as pool:
        results = list(pool.map(lambda path: run_playbook("octavia.monitoring.site", inventory=path,
                                                          env=awx_clouds["env"], extra_vars=extra_vars),
                                paths))
    return [(hosts, result) for (hosts, _data), result in zip(slices, results)]


def prometheus_listeners(fleet):
    lbapi = fleet["conn"].load_balancer
    return {lb_id: [(lst.name, sorted(lst.allowed_cidrs or [])) for lst in lbapi.listeners(load_balancer_id=lb_id)
                    if lst.protocol == "PROMETHEUS"]
            for lb_id in fleet["lbs"].values()}


def octavia_targets(prom):
    return [(t["labels"].get("loadbalancer_id"), t["labels"].get("cloud"), t["health"], t["scrapeUrl"])
            for t in prom.targets(job="octavia")]


def wait_for_fleet(prom, fleet, timeout=90):
    """Wait until the octavia job's targets are the fleet, each once, UP, labelled cloud=east."""
    want = sorted((lb_id, CLOUD_LABEL, "up") for lb_id in fleet["lbs"].values())
    deadline = time.monotonic() + timeout
    while True:
        targets = octavia_targets(prom)
        if sorted(t[:3] for t in targets) == want or time.monotonic() > deadline:
            return targets, want
        time.sleep(1)


def assert_fleet_scraped_once(prom, fleet, inventory):
    targets, want = wait_for_fleet(prom, fleet)
    assert sorted(t[:3] for t in targets) == want, targets
    assert len({t[3] for t in targets}) == len(targets), "two targets scrape one address"
    # The targets file holds nothing: no slice's run writes a target a later one must remove.
    assert yaml.safe_load(inventory["targets"].read_text()) in (None, [])
    assert prometheus_listeners(fleet) == {lb_id: [("prometheus", ALLOWED)] for lb_id in fleet["lbs"].values()}


def slice_of(results, host):
    [number] = [number for number, (hosts, _result) in enumerate(results, 1) if host in hosts]
    return number


def test_a_slice_without_prometheus_needs_allowed_cidrs(fleet, inventory, awx_clouds, tmp_path):
    """The README says so: without octavia_listeners_allowed_cidrs a slice that does not hold
    the Prometheus host has nobody to allow, and stops before it writes anything."""
    results = run_slices(inventory, awx_clouds, tmp_path, extra_vars={"octavia_listeners_allowed_cidrs": []})
    with_prometheus = slice_of(results, PROM_HOST)
    for number, (_hosts, result) in enumerate(results, 1):
        if number == with_prometheus:
            continue
        assert result.rc != 0, result
        [message] = {res.get("msg") for host in result.stats for _name, res in result.task_results(host)
                     if res.get("failed")}
        assert "nobody to allow" in message and "In a sliced AWX job" in message, message
    # The failed slice's load balancers got no listener (the other slice's did, allowed from
    # the prometheus group it holds: 127.0.0.1/32, what the next tests set too).
    failed = [hosts for number, (hosts, _result) in enumerate(results, 1) if number != with_prometheus]
    listeners = prometheus_listeners(fleet)
    for hosts in failed:
        for name in hosts & set(fleet["lbs"]):
            assert listeners[fleet["lbs"][name]] == [], name


def test_two_slices_scrape_every_load_balancer_once(fleet, inventory, awx_clouds, prom, tmp_path):
    results = run_slices(inventory, awx_clouds, tmp_path)
    for _hosts, result in results:
        assert result.rc == 0, result
    # Sorted by name, the five hosts put the Prometheus host (the last) in the first slice.
    assert slice_of(results, PROM_HOST) == 1
    assert_fleet_scraped_once(prom, fleet, inventory)


def test_next_job_after_the_fleet_changed(fleet, inventory, awx_clouds, prom, tmp_path):
    """One load balancer deleted, two created: six load balancers and the Prometheus host, which
    is now in the second slice. The deleted one is no target any more, the new ones are, once."""
    gone = fleet["lbs"].pop(f"{fleet['project']}-lb1")
    fleet["conn"].load_balancer.delete_load_balancer(gone, cascade=True)
    fleet["create"](5)
    fleet["create"](6)
    deadline = time.monotonic() + 90
    while any(lb.id == gone for lb in fleet["conn"].load_balancer.load_balancers(project_id=fleet["project"])):
        assert time.monotonic() < deadline, f"load balancer {gone} was not deleted"
        time.sleep(1)

    results = run_slices(inventory, awx_clouds, tmp_path)
    for _hosts, result in results:
        assert result.rc == 0, result
    assert slice_of(results, PROM_HOST) == 2
    assert_fleet_scraped_once(prom, fleet, inventory)
    assert gone not in {t[0] for t in octavia_targets(prom)}


def test_a_second_job_changes_nothing(fleet, inventory, awx_clouds, tmp_path):
    results = run_slices(inventory, awx_clouds, tmp_path)
    for _hosts, result in results:
        assert result.rc == 0 and result.changed == 0, result.stats
