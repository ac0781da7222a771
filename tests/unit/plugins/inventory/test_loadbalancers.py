"""The inventory plugin without any cloud (the lab tests read clouds).

Migrated: expand_clouds (it now raises OctaviaError, turned into AnsibleParserError by
parse(), and names the entry), describe_source, verify_file. New: the configuration checks
of issue 15 defects 4 and 5 (unknown keys and wrong types fail, a cloud that cannot be read
fails unless fail_on_errors is false), read_one on a scripted SDK double, populate.
"""
import importlib
import json
import pathlib
import subprocess
import sys
import textwrap

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import (
    FakeConfig,
    FakeConn,
    FakeProxy,
)

PLUGIN = "ansible_collections.octavia.monitoring.plugins.inventory.loadbalancers"
LB_ID = "11111111-aaaa-4bbb-8ccc-000000000001"


@pytest.fixture
def inv(no_sdk):
    return importlib.import_module(PLUGIN)


def regions(table):
    return lambda name: table.get(name, [])


# --- expand_clouds -----------------------------------------------------------

def test_no_clouds_means_the_environment_cloud(inv):
    assert inv.expand_clouds([], regions({})) == [{}]
    assert inv.expand_clouds(None, regions({})) == [{}]


def test_a_cloud_name_is_read_in_every_region_clouds_yaml_lists(inv):
    table = {"prod": ["RegionOne", "RegionTwo"], "lab": ["RegionOne"], "bare": []}
    assert inv.expand_clouds(["prod", "lab", "bare"], regions(table)) == [
        {"cloud": "prod", "region_name": "RegionOne"},
        {"cloud": "prod", "region_name": "RegionTwo"},
        {"cloud": "lab"},
        {"cloud": "bare"},
    ]


def test_a_dict_entry_passes_auth_options_and_expands_regions(inv):
    entry = {"cloud": "dr", "interface": "internal", "regions": ["A", "B"]}
    assert inv.expand_clouds([entry], regions({})) == [
        {"cloud": "dr", "interface": "internal", "region_name": "A"},
        {"cloud": "dr", "interface": "internal", "region_name": "B"},
    ]
    plain = {"auth": {"auth_url": "https://keystone.invalid/v3"}, "auth_type": "password"}
    assert inv.expand_clouds([plain], regions({})) == [plain]


@pytest.mark.parametrize("entry, message", [
    ({"cloud": "x", "region": "A"},
     "^Unknown option region in entry 1 of clouds; the known options are api_timeout, auth, "),
    ({"cloud": "x", "regions": "A"},
     r"^regions in entry 1 of clouds must be a list of region names, not 'A'\.$"),
    ({"cloud": "x", "regions": ["A", 1]}, r"^regions in entry 1 of clouds must be a list of region names"),
    ({"cloud": "x", "api_timeout": "10"},
     r"^api_timeout in entry 1 of clouds must be a whole number, not '10'\.$"),
    ({"cloud": "x", "interface": "private"}, "^interface in entry 1 of clouds must be one of public"),
    (42, r"^Each entry of clouds must be a cloud name or a dict of auth options, not 42\.$"),
])
def test_bad_entries_are_refused_naming_the_key(inv, entry, message):
    """Deliberate change (issue 15 defect 5): wrong types are refused too, and the error is an
    OctaviaError that parse() turns into AnsibleParserError."""
    errors = importlib.import_module("ansible_collections.octavia.monitoring.plugins.module_utils._errors")
    with pytest.raises(errors.OctaviaError, match=message):
        inv.expand_clouds([entry], regions({}))


def test_the_entry_number_is_named(inv):
    errors = importlib.import_module("ansible_collections.octavia.monitoring.plugins.module_utils._errors")
    with pytest.raises(errors.OctaviaError, match="^Unknown option regoins in entry 2 of clouds;"):
        inv.expand_clouds(["prod", {"cloud": "x", "regoins": ["A"]}], regions({}))


@pytest.mark.parametrize("options, phrase", [
    ({}, "the cloud from the OS_* environment or clouds.yaml"),
    ({"cloud": "prod"}, "cloud 'prod'"),
    ({"cloud": "prod", "region_name": "B"}, "cloud 'prod' region 'B'"),
    ({"cloud": {"auth": {}}}, "the cloud given as a dict"),
])
def test_describe_source(inv, options, phrase):
    assert inv.describe_source(options) == phrase


@pytest.mark.parametrize("name, accepted", [
    ("lab.octavia.yml", True),
    ("octavia.yaml", True),
    ("prod.octavia.yaml", True),
    ("octavia.yml.bak", False),
    ("lab.openstack.yml", False),
    ("hosts.yml", False),
])
def test_verify_file_accepts_only_octavia_yml_names(inv, tmp_path, name, accepted):
    path = tmp_path / name
    path.write_text("plugin: octavia.monitoring.loadbalancers\n")
    assert bool(inv.InventoryModule().verify_file(str(path))) is accepted


# --- the plugin as Ansible loads it ------------------------------------------

def test_documentation_is_valid_yaml_and_documents_the_cloud_keys(inv):
    doc = yaml.safe_load(inv.DOCUMENTATION)
    assert doc["name"] == "loadbalancers"
    options = doc["options"]
    assert {"plugin", "clouds", "address", "fail_on_errors", "default_groups"} <= set(options)
    assert options["fail_on_errors"].get("type") == "bool"
    # filters is documented once, in the fragment every module uses too.
    assert "octavia.monitoring._filters" in doc["extends_documentation_fragment"]


LOAD = textwrap.dedent("""
    import json, sys
    # As on a controller without openstacksdk: the checks must all run before it is needed.
    for name in ("openstack", "openstack.exceptions", "keystoneauth1", "keystoneauth1.exceptions"):
        sys.modules[name] = None
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([sys.argv[1]])
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader
    out = {}
    for path in sys.argv[2:]:
        plugin = inventory_loader.get("octavia.monitoring.loadbalancers")
        try:
            plugin.parse(InventoryData(), DataLoader(), path, cache=False)
            out[path] = ["ok", ""]
        except Exception as exc:
            out[path] = [type(exc).__name__, str(exc)]
    print(json.dumps(out))
""")

CONFIGS = {
    "top_level_typo": ("name_patern: web-*\n", "Unknown option name_patern in the inventory source "),
    "filter_typo": ("filters:\n  name_patern: web-*\n", "Unknown load balancer filter name_patern;"),
    "filter_type": ("filters:\n  tags: 5\n", "The load balancer filter tags must be a list of strings, not 5."),
    "cloud_key": ("clouds:\n  - cloud: lab\n    region: A\n", "Unknown option region in entry 1 of clouds;"),
    "cloud_type": ("clouds:\n  - cloud: lab\n    api_timeout: soon\n",
                   "api_timeout in entry 1 of clouds must be a whole number, not 'soon'."),
    "valid": ("filters:\n  name_pattern: web-*\n", "needs the Python library openstacksdk on the controller"),
}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """Parse every CONFIGS file with the plugin as Ansible's loader loads it, in one child process
    (the loader installs Ansible's collection finder, which must not leak into this one)."""
    root = pathlib.Path(importlib.import_module(PLUGIN).__file__).parents[5]
    folder = tmp_path_factory.mktemp("inventory")
    paths = {}
    for case, (body, _message) in CONFIGS.items():
        paths[case] = folder / f"{case}.octavia.yml"
        paths[case].write_text("plugin: octavia.monitoring.loadbalancers\n" + body)
    proc = subprocess.run([sys.executable, "-c", LOAD, str(root)] + [str(p) for p in paths.values()],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {case: out[str(path)] for case, path in paths.items()}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_configuration_errors_fail_the_source_naming_the_key(parsed, case):
    """Issue 15 defect 4: a typo such as name_patern selected the whole cloud."""
    kind, message = parsed[case]
    assert kind == "AnsibleParserError" and CONFIGS[case][1] in message


# --- fetch, read_one and populate on doubles ----------------------------------

def plugin_with(inv, **options):
    plugin = inv.InventoryModule()
    values = dict(strict=False, default_groups=True, compose={}, groups={}, keyed_groups=[], address="vip",
                  fail_on_errors=True)
    values.update(options)
    plugin.get_option = values.__getitem__
    return plugin


def test_a_cloud_that_cannot_be_read_fails_the_inventory(inv):
    """Issue 15 defect 5: an unreadable cloud looked like an empty fleet."""
    errors = importlib.import_module("ansible_collections.octavia.monitoring.plugins.module_utils._errors")
    plugin = plugin_with(inv)
    plugin.sources = [{"cloud": "down", "region_name": "R"}]

    def read_one(options):
        raise errors.OctaviaError("Could not list load balancers: the API endpoint could not be reached.")

    plugin.read_one = read_one
    with pytest.raises(AnsibleParserError) as err:
        plugin.fetch()
    assert str(err.value) == ("Could not read the load balancers of cloud 'down' region 'R': Could not list "
                              "load balancers: the API endpoint could not be reached.")


def test_fail_on_errors_false_skips_the_cloud_with_a_warning(inv, monkeypatch):
    errors = importlib.import_module("ansible_collections.octavia.monitoring.plugins.module_utils._errors")
    plugin = plugin_with(inv, fail_on_errors=False)
    plugin.sources = [{"cloud": "down"}, {"cloud": "up"}]
    warned = []
    monkeypatch.setattr(inv.display, "warning", warned.append)

    def read_one(options):
        if options["cloud"] == "down":
            raise errors.OctaviaError("no answer")
        return [{"id": "x"}]

    plugin.read_one = read_one
    assert plugin.fetch() == [{"id": "x"}]
    assert warned == ["Could not read the load balancers of cloud 'down': no answer"]


def lb(**kw):
    base = {"id": LB_ID, "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
            "project_id": "p1", "provider": "amphora", "availability_zone": None,
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "tags": [],
            "created_at": "2026-01-01T00:00:00"}
    base.update(kw)
    return base


def test_read_one_reads_the_fleet_and_closes_the_connection(inv, monkeypatch):
    proxy = FakeProxy(lbs=[lb(), lb(id="other", name="db", created_at=None)],
                      listeners=[{"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS",
                                  "protocol_port": 8088, "load_balancers": [{"id": LB_ID}]}])
    opened = []

    def connect(options):
        opened.append(FakeConn(proxy, config=FakeConfig("lab", "R1")))
        return opened[-1]

    monkeypatch.setattr(inv, "connect", connect)
    plugin = plugin_with(inv)
    plugin.filters = {}
    records = plugin.read_one({"cloud": "lab"})
    assert [(r["name"], r["cloud"], r["region"], r["created_at"]) for r in records] == [
        ("db", "lab", "R1", ""), ("web", "lab", "R1", "2026-01-01T00:00:00")]
    web = records[1]["vars"]
    assert web["octavia_lb_prometheus"][0]["scrape_target"] == "192.0.2.10:8088"
    assert web["octavia_lb_prometheus"][0]["labels"]["cloud"] == "lab"
    assert opened[0].closed
    json.dumps(records)         # cacheable


def test_populate_adds_hosts_variables_and_default_groups(inv):
    plugin = plugin_with(inv)
    plugin.inventory = InventoryData()
    plugin.templar = Templar(loader=DataLoader())
    host_vars = importlib.import_module("ansible_collections.octavia.monitoring.plugins.module_utils._inventory")
    records = [dict(id=LB_ID, name="web", created_at="1", cloud=None, region=None,
                    vars=host_vars.host_vars(lb(), [])),
               dict(id="22222222-aaaa", name="web", created_at="2", cloud=None, region=None,
                    vars=host_vars.host_vars(lb(id="22222222-aaaa", provider="ovn"), []))]
    plugin.populate(records)
    assert sorted(plugin.inventory.hosts) == ["web", "web_22222222"]
    assert plugin.inventory.get_host("web").vars["ansible_python_interpreter"] == sys.executable
    assert plugin.inventory.get_host("web").vars["octavia_lb"]["id"] == LB_ID
    groups = plugin.inventory.groups
    assert {h.name for h in groups["octavia_loadbalancers"].hosts} == {"web", "web_22222222"}
    assert [h.name for h in groups["octavia_provider_ovn"].hosts] == ["web_22222222"]
    assert "octavia_without_prometheus_listener" in groups


def test_populate_without_default_groups(inv):
    plugin = plugin_with(inv, default_groups=False)
    plugin.inventory = InventoryData()
    plugin.templar = Templar(loader=DataLoader())
    host_vars = importlib.import_module("ansible_collections.octavia.monitoring.plugins.module_utils._inventory")
    plugin.populate([dict(id=LB_ID, name="web", created_at="1", cloud=None, region=None,
                          vars=host_vars.host_vars(lb(), []))])
    assert set(plugin.inventory.groups) == {"all", "ungrouped"}
