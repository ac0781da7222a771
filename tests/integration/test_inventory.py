"""The octavia.monitoring.loadbalancers inventory plugin against the lab.

Hosts, host variables and default groups; every filter; compose/groups/keyed_groups; the
host-name rule for namesakes; several clouds and regions; the cache; and the cost: a handful of
listing requests per cloud, counted in the lab API's own log, never one request per load balancer.
Credentials come from OS_CLIENT_CONFIG_FILE only (no cloud name anywhere, no OS_CLOUD).

Everything reaches the API through a SourceRelay (bench/rollout_relay.py) with its own source
address, so the requests counted are this module's even while others use the shared lab.
"""
import json
import subprocess
import sys
import time
import uuid

import pymysql
import pytest
import yaml

from helpers.ansible_run import REPO, VENV_BIN, ansible_env, run_module
from lab.factory import LoadBalancerFactory
from lab.settings import DB_NAME, DB_PASSWORD, DB_USER

sys.path.insert(0, str(REPO / "bench"))
from rollout_relay import SourceRelay, own_requests, relayed_clouds_yaml  # noqa: E402

# This collection's test range in the shared lab (bench objects use 127.6.0.0/16; the molecule
# scenario 127.7.250.0/24; the relays' source addresses 127.7.255.0/24).
VIP_RANGE = "127.7.0.0/17"


def force_error(lab, lb_id):
    """Put a load balancer into provisioning status ERROR, as a failed worker flow leaves it.

    Octavia has no API for that; the lab's database is the only way to reach the state.
    """
    db = pymysql.connect(host="127.0.0.1", port=lab.s.ports["mysql"].value, user=DB_USER,
                         password=DB_PASSWORD, database=DB_NAME)
    try:
        with db.cursor() as cur:
            cur.execute("UPDATE load_balancer SET provisioning_status = 'ERROR' WHERE id = %s", (lb_id,))
        db.commit()
    finally:
        db.close()


def plain(value):
    """ansible-inventory marks plugin data untrusted ({"__ansible_unsafe": v}); unwrap it."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class Inventory:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        data = plain(json.loads(proc.stdout)) if proc.returncode == 0 else {}
        self.hostvars = data.get("_meta", {}).get("hostvars", {})
        self.groups = dict((name, set(body.get("hosts", []))) for name, body in data.items()
                           if name != "_meta")

    @property
    def hosts(self):
        return set(self.hostvars)

    def group(self, name):
        return self.groups.get(name, set())


@pytest.fixture(scope="module")
def fleet(lab):
    """Six load balancers in two projects: one with a PROMETHEUS and an HTTP listener, two
    namesakes (created one after the other), one in ERROR."""
    conn = lab.connect()
    factory = LoadBalancerFactory(conn, name_prefix=f"fxinv-{uuid.uuid4().hex[:6]}", vip_range=VIP_RANGE)
    p = factory.prefix
    proj_a, proj_b = f"{p}-proj-a", f"{p}-proj-b"
    vips = factory.allocate_vips(6)
    try:
        web1 = factory.create(name=f"{p}-web-1", vip_address=vips[0], project_id=proj_a, tags=["fx", "front"])
        web2 = factory.create(name=f"{p}-web-2", vip_address=vips[1], project_id=proj_a)
        db1 = factory.create(name=f"{p}-db-1", vip_address=vips[2], project_id=proj_b, tags=["fx"])
        dup_old = factory.create(name=f"{p}-dup", vip_address=vips[3], project_id=proj_b)
        # created_at has a resolution of one second, and the lab's API now answers within one:
        # without the pause the two namesakes could share it, and "the older" would be a tie.
        time.sleep(1.2)
        dup_new = factory.create(name=f"{p}-dup", vip_address=vips[4], project_id=proj_b)
        broken = factory.create(name=f"{p}-broken", vip_address=vips[5], project_id=proj_b)
        prom = conn.load_balancer.create_listener(load_balancer_id=web1.id, name="prometheus",
                                                  protocol="PROMETHEUS", protocol_port=8088,
                                                  allowed_cidrs=["127.0.0.1/32"])
        factory.wait_active([web1.id])
        http = conn.load_balancer.create_listener(load_balancer_id=web1.id, name="app",
                                                  protocol="HTTP", protocol_port=80)
        factory.wait_active([web1.id])
        force_error(lab, broken.id)
        yield dict(prefix=p, proj_a=proj_a, proj_b=proj_b, web1=web1, web2=web2, db1=db1,
                   dup_old=dup_old, dup_new=dup_new, broken=broken, prom=prom, http=http,
                   ids={web1.id, web2.id, db1.id, dup_old.id, dup_new.id, broken.id})
    finally:
        try:
            factory.cleanup()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def relay(lab, tmp_path_factory):
    """The lab's cloud through a relay; .clouds_yaml, .source, .requests_since(marker)."""
    with SourceRelay(lab.api_url, "127.7.255") as running:
        running.clouds_yaml = relayed_clouds_yaml(lab.clouds_yaml, lab.cloud, running.url,
                                                  tmp_path_factory.mktemp("relay") / "clouds.yaml")
        running.requests_since = lambda marker: own_requests(lab.api_requests_since(marker), running.source)
        yield running


@pytest.fixture
def inventory(relay, tmp_path):
    """inventory(config dict, env=None, file_name=...) -> Inventory from `ansible-inventory --list`."""
    def run(config, env=None, file_name="fleet.octavia.yml", extra_args=()):
        path = tmp_path / file_name
        path.write_text(yaml.safe_dump(dict({"plugin": "octavia.monitoring.loadbalancers"}, **config)))
        environ = ansible_env({"OS_CLIENT_CONFIG_FILE": str(relay.clouds_yaml)})
        environ.pop("OS_CLOUD", None)
        environ.update(env or {})
        proc = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(path), "--list", *extra_args],
                              capture_output=True, text=True, env=environ, timeout=120, check=False)
        return Inventory(proc)
    return run


def scoped(fleet, filters=None, **config):
    """A source limited to this fleet: its name pattern, plus further filters and options."""
    return dict(filters=dict({"name_pattern": fleet["prefix"] + "-*"}, **(filters or {})), **config)


def test_one_host_per_load_balancer_with_its_variables(fleet, inventory):
    inv = inventory(scoped(fleet))
    assert inv.rc == 0, inv.stderr
    p = fleet["prefix"]
    newer = fleet["dup_new"].id[:8]
    assert inv.hosts == {f"{p}-web-1", f"{p}-web-2", f"{p}-db-1", f"{p}-dup", f"{p}-dup_{newer}", f"{p}-broken"}
    web1 = inv.hostvars[f"{p}-web-1"]
    assert web1["ansible_connection"] == "local"
    assert web1["octavia_lb"] == {
        "id": fleet["web1"].id, "name": f"{p}-web-1", "vip_address": fleet["web1"].vip_address,
        "vip_port_id": fleet["web1"].vip_port_id, "project_id": fleet["proj_a"], "provider": "amphora",
        "availability_zone": None, "provisioning_status": "ACTIVE",
        "operating_status": web1["octavia_lb"]["operating_status"], "floating_ip": None,
        "tags": ["front", "fx"]}
    assert [(x["name"], x["protocol"], x["protocol_port"]) for x in web1["octavia_lb_listeners"]] == \
        [("app", "HTTP", 80), ("prometheus", "PROMETHEUS", 8088)]
    assert web1["octavia_lb_cloud"] == "octavia-lab" and web1["octavia_lb_region"] == "RegionOne"
    assert inv.hostvars[f"{p}-broken"]["octavia_lb"]["provisioning_status"] == "ERROR"
    assert inv.hostvars[f"{p}-web-2"]["octavia_lb_listeners"] == []
    assert inv.hostvars[f"{p}-web-2"]["octavia_lb_prometheus"] == []


def test_scrape_target_has_the_info_module_item_shape(fleet, inventory, relay):
    inv = inventory(scoped(fleet))
    [item] = inv.hostvars[fleet["prefix"] + "-web-1"]["octavia_lb_prometheus"]
    info = run_module("octavia.monitoring.lb_prometheus_listener_info",
                      {"load_balancer": fleet["web1"].id},
                      env={"OS_CLIENT_CONFIG_FILE": str(relay.clouds_yaml)})
    assert not info.get("failed"), info
    [expected] = info["prometheus_listeners"]
    assert item == expected
    assert item["scrape_target"] == f"{fleet['web1'].vip_address}:8088"
    assert item["listener"]["id"] == fleet["prom"].id


def test_default_groups(fleet, inventory):
    inv = inventory(scoped(fleet))
    p = fleet["prefix"]
    everyone = inv.hosts
    assert inv.group("octavia_loadbalancers") == everyone
    assert inv.group("octavia_provider_amphora") == everyone
    assert inv.group(f"octavia_project_{fleet['proj_a']}".replace("-", "_")) == {f"{p}-web-1", f"{p}-web-2"}
    assert inv.group(f"octavia_project_{fleet['proj_b']}".replace("-", "_")) == everyone - {f"{p}-web-1", f"{p}-web-2"}
    assert inv.group("octavia_with_prometheus_listener") & everyone == {f"{p}-web-1"}
    assert inv.group("octavia_without_prometheus_listener") & everyone == everyone - {f"{p}-web-1"}
    off = inventory(scoped(fleet, default_groups=False))
    assert off.hosts == everyone
    assert not [g for g in off.groups if g.startswith("octavia_")]


@pytest.mark.parametrize("config, expected", [
    ({"project_ids": ["{proj_a}"]}, {"web-1", "web-2"}),
    ({"project_ids": ["{proj_a}", "{proj_b}"], "name_pattern": "{prefix}-d*"}, {"db-1", "dup", "dup_{newer}"}),
    ({"tags": ["fx"]}, {"web-1", "db-1"}),
    ({"tags": ["fx", "front"]}, {"web-1"}),
    ({"name_pattern": "{prefix}-web-*"}, {"web-1", "web-2"}),
    ({"providers": ["ovn"]}, set()),
    ({"providers": ["amphora"], "name_pattern": "{prefix}-web-?"}, {"web-1", "web-2"}),
    ({"provisioning_statuses": ["ERROR"]}, {"broken"}),
])
def test_filters(fleet, inventory, config, expected):
    values = dict(fleet, newer=fleet["dup_new"].id[:8])
    config = dict((k, [v.format(**values) for v in val] if isinstance(val, list) else val.format(**values))
                  for k, val in config.items())
    inv = inventory(scoped(fleet, filters=config))
    assert inv.rc == 0, inv.stderr
    assert inv.hosts == set(f"{fleet['prefix']}-{name.format(**values)}" for name in expected)


def test_compose_groups_and_keyed_groups(fleet, inventory):
    inv = inventory(scoped(fleet, strict=True, compose={
        "ansible_host": "octavia_lb.vip_address",
        "metrics_target": "octavia_lb_prometheus[0].scrape_target if octavia_lb_prometheus else 'none'",
    }, groups={
        "fx_tagged": "'fx' in octavia_lb.tags",
        "broken_lbs": "octavia_lb.provisioning_status == 'ERROR'",
    }, keyed_groups=[
        {"key": "octavia_lb.provisioning_status | lower", "prefix": "state"},
        {"key": "octavia_lb_region", "prefix": "region"},
    ]))
    assert inv.rc == 0, inv.stderr
    p = fleet["prefix"]
    web1 = inv.hostvars[f"{p}-web-1"]
    assert web1["ansible_host"] == fleet["web1"].vip_address
    assert web1["metrics_target"] == f"{fleet['web1'].vip_address}:8088"
    assert inv.hostvars[f"{p}-web-2"]["metrics_target"] == "none"
    assert inv.group("fx_tagged") == {f"{p}-web-1", f"{p}-db-1"}
    assert inv.group("broken_lbs") == {f"{p}-broken"}
    assert inv.group("state_error") == {f"{p}-broken"}
    assert inv.group("state_active") == inv.hosts - {f"{p}-broken"}
    assert inv.group("region_RegionOne") == inv.hosts


def test_namesakes_oldest_keeps_the_name_and_names_are_stable(fleet, inventory):
    p = fleet["prefix"]
    first = inventory(scoped(fleet))
    second = inventory(scoped(fleet, filters=dict(name_pattern=f"{p}-dup")))
    for inv in (first, second):
        assert inv.hostvars[f"{p}-dup"]["octavia_lb"]["id"] == fleet["dup_old"].id
        assert inv.hostvars[f"{p}-dup_{fleet['dup_new'].id[:8]}"]["octavia_lb"]["id"] == fleet["dup_new"].id


def test_cost_is_a_handful_of_listings_not_one_request_per_load_balancer(lab, fleet, inventory, relay):
    counts = {}
    for label, pattern in (("one", f"{fleet['prefix']}-web-1"), ("all", f"{fleet['prefix']}-*")):
        marker = lab.api_request_marker()
        inv = inventory({"filters": {"name_pattern": pattern}})
        requests = relay.requests_since(marker)
        assert inv.rc == 0, inv.stderr
        assert {r["method"] for r in requests} == {"GET"}
        assert not [r for r in requests if any(i in r["path"] for i in fleet["ids"])], requests
        counts[label] = len(requests)
        paths = sorted({r["path"].split("?")[0] for r in requests})
        assert paths == ["/", "/v2/floatingips", "/v2/lbaas/listeners", "/v2/lbaas/loadbalancers"], requests
    assert counts["one"] == counts["all"] <= 6, counts


def test_cache_serves_the_second_run_without_requests(lab, fleet, inventory, relay, tmp_path):
    config = scoped(fleet, cache=True, cache_plugin="ansible.builtin.jsonfile",
                    cache_connection=str(tmp_path / "cache"), cache_timeout=600)
    marker = lab.api_request_marker()
    first = inventory(config)
    assert first.rc == 0, first.stderr
    assert len(relay.requests_since(marker)) > 0
    marker = lab.api_request_marker()
    second = inventory(config)
    assert second.rc == 0, second.stderr
    assert relay.requests_since(marker) == []
    assert second.hostvars == first.hostvars and second.groups == first.groups
    marker = lab.api_request_marker()
    flushed = inventory(config, extra_args=("--flush-cache",))
    assert flushed.hosts == first.hosts and len(relay.requests_since(marker)) > 0


def test_several_clouds_and_regions(fleet, inventory, relay, tmp_path):
    lab_cloud = yaml.safe_load(relay.clouds_yaml.read_text())["clouds"]["octavia-lab"]
    two_regions = dict(lab_cloud, regions=["RegionOne", "RegionTwo"])
    two_regions.pop("region_name", None)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"fx-east": two_regions, "fx-west": lab_cloud}}))
    inv = inventory(scoped(fleet, clouds=["fx-east", {"cloud": "fx-west"}],
                           filters=dict(name_pattern=fleet["prefix"] + "-web-1")),
                    env={"OS_CLIENT_CONFIG_FILE": str(clouds)})
    assert inv.rc == 0, inv.stderr
    seen = sorted((v["octavia_lb_cloud"], v["octavia_lb_region"], v["octavia_lb_prometheus"][0]["labels"]["region"])
                  for v in inv.hostvars.values())
    assert seen == [("fx-east", "RegionOne", "RegionOne"), ("fx-east", "RegionTwo", "RegionTwo"),
                    ("fx-west", "RegionOne", "RegionOne")]
    # The same load balancer seen three times still gives three distinct, predictable hosts.
    name, short = fleet["prefix"] + "-web-1", fleet["web1"].id[:8]
    assert inv.hosts == {f"{name}", f"{name}_{short}", f"{name}_{fleet['web1'].id}"}


def test_an_unreadable_cloud_fails_or_is_skipped(fleet, inventory):
    config = scoped(fleet, clouds=["fx-no-such-cloud", "octavia-lab"])
    # Ansible turns a source that fails to parse into a warning unless told otherwise
    # (AWX inventory updates are); either way no host of that source is kept.
    failed = inventory(config, env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})
    assert failed.rc != 0
    assert "Could not read the load balancers of cloud 'fx-no-such-cloud'" in failed.stderr
    warned = inventory(config)
    assert warned.rc == 0 and not warned.hosts & {fleet["prefix"] + "-web-1"}
    assert "Could not read the load balancers of cloud 'fx-no-such-cloud'" in warned.stderr
    tolerant = inventory(dict(config, fail_on_errors=False))
    assert tolerant.rc == 0, tolerant.stderr
    assert "fx-no-such-cloud" in tolerant.stderr
    assert fleet["prefix"] + "-web-1" in tolerant.hosts


def test_only_octavia_yml_files_are_read(fleet, inventory):
    inv = inventory(scoped(fleet), file_name="fleet.openstack.yml")
    assert fleet["prefix"] + "-web-1" not in inv.hosts


# --- configuration errors and unreadable clouds fail loudly (issue 15, defects 4 and 5) ------

UNPARSED_FAILS = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}


@pytest.mark.parametrize("config, message", [
    # A misspelt filter used to be ignored, and the source then selected the whole cloud.
    ({"name_patern": "x-*"}, "Unknown option name_patern in the inventory source "),
    ({"filters": {"name_patern": "x-*"}}, "Unknown load balancer filter name_patern; the filters are "
                                          "project_ids, tags, name_pattern, providers, provisioning_statuses."),
    ({"filters": {"tags": {"a": 1}}}, "The load balancer filter tags must be a list of strings"),
    ({"clouds": [{"cloud": "octavia-lab", "regoin_name": "RegionOne"}]},
     "Unknown option regoin_name in entry 1 of clouds; the known options are "),
    ({"clouds": [{"cloud": "octavia-lab", "api_timeout": "soon"}]},
     "api_timeout in entry 1 of clouds must be a whole number, not 'soon'."),
    ({"clouds": [{"cloud": "octavia-lab", "regions": "RegionOne"}]},
     "regions in entry 1 of clouds must be a list of region names, not 'RegionOne'."),
])
def test_bad_configuration_fails_with_a_sentence_naming_the_key(fleet, inventory, config, message):
    failed = inventory(config, env=UNPARSED_FAILS)
    assert failed.rc != 0 and message in " ".join(failed.stderr.split()), failed.stderr
    # Ansible's default turns a failed source into a warning: still no host, still the sentence.
    warned = inventory(config)
    assert not warned.hosts and message in " ".join(warned.stderr.split()), warned.stderr


def test_api_down_is_an_error_not_an_empty_fleet(lab, fleet, inventory):
    """The inventory of a cloud whose API is down fails; it never reads as a fleet of 0."""
    with lab.component_down("octavia-api"):
        failed = inventory(scoped(fleet), env=UNPARSED_FAILS)
    assert failed.rc != 0
    text = " ".join(failed.stderr.split())
    assert "Could not read the load balancers of the cloud from the OS_* environment or clouds.yaml" in text, text
    assert "could not be reached" in text, text
