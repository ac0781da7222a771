"""The inventory plugin's configuration handling, without any cloud (the lab tests read clouds)."""
import pytest
from ansible.errors import AnsibleParserError

from ansible_collections.octavia.monitoring.plugins.inventory import loadbalancers as inv


def regions(table):
    return lambda name: table.get(name, [])


def test_no_clouds_means_the_environment_cloud():
    assert inv.expand_clouds([], regions({})) == [{}]
    assert inv.expand_clouds(None, regions({})) == [{}]


def test_a_cloud_name_is_read_in_every_region_clouds_yaml_lists():
    table = {"prod": ["RegionOne", "RegionTwo"], "lab": ["RegionOne"], "bare": []}
    assert inv.expand_clouds(["prod", "lab", "bare"], regions(table)) == [
        {"cloud": "prod", "region_name": "RegionOne"},
        {"cloud": "prod", "region_name": "RegionTwo"},
        {"cloud": "lab"},
        {"cloud": "bare"},
    ]


def test_a_dict_entry_passes_auth_options_and_expands_regions():
    entry = {"cloud": "dr", "interface": "internal", "regions": ["A", "B"]}
    assert inv.expand_clouds([entry], regions({})) == [
        {"cloud": "dr", "interface": "internal", "region_name": "A"},
        {"cloud": "dr", "interface": "internal", "region_name": "B"},
    ]
    plain = {"auth": {"auth_url": "https://keystone.invalid/v3"}, "auth_type": "password"}
    assert inv.expand_clouds([plain], regions({})) == [plain]


@pytest.mark.parametrize("entry, message", [
    ({"cloud": "x", "region": "A"}, "unknown key\\(s\\) region;"),
    ({"cloud": "x", "regions": "A"}, "regions in an entry of clouds must be a list"),
    (42, "must be a cloud name or a dict of auth options, not 42"),
])
def test_bad_entries_are_refused(entry, message):
    with pytest.raises(AnsibleParserError, match=message):
        inv.expand_clouds([entry], regions({}))


@pytest.mark.parametrize("options, phrase", [
    ({}, "the cloud from the OS_* environment or clouds.yaml"),
    ({"cloud": "prod"}, "cloud 'prod'"),
    ({"cloud": "prod", "region_name": "B"}, "cloud 'prod' region 'B'"),
    ({"cloud": {"auth": {}}}, "the cloud given as a dict"),
])
def test_describe_source(options, phrase):
    assert inv.describe_source(options) == phrase


@pytest.mark.parametrize("name, accepted", [
    ("lab.octavia.yml", True),
    ("octavia.yaml", True),
    ("prod.octavia.yaml", True),
    ("octavia.yml.bak", False),
    ("lab.openstack.yml", False),
    ("hosts.yml", False),
])
def test_verify_file_accepts_only_octavia_yml_names(tmp_path, name, accepted):
    path = tmp_path / name
    path.write_text("plugin: octavia.monitoring.loadbalancers\n")
    assert bool(inv.InventoryModule().verify_file(str(path))) is accepted
