"""Pure parts of the exporter: configuration, metric families, HTTP SD groups, error kinds."""
import pathlib

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from octavia_exporter import config, metrics
from octavia_exporter.collect import error_kind, usage_by_project
from octavia_exporter.service import parse_listen_address

LB = dict(id="lb-1", name="web", project_id="p1", vip_address="127.9.0.10", vip_port_id="port-1",
          provider="amphora", flavor_id="", availability_zone=None, admin_state_up=True,
          provisioning_status="ACTIVE", operating_status="ONLINE")
LISTENERS = [
    dict(id="l-prom", name="metrics", protocol="PROMETHEUS", protocol_port=9100, project_id="p1",
         load_balancers=[{"id": "lb-1"}], provisioning_status="ACTIVE", operating_status="ONLINE"),
    dict(id="l-udp", name="dns", protocol="UDP", protocol_port=53, project_id="p1",
         load_balancers=[{"id": "lb-1"}], provisioning_status="ACTIVE", operating_status="ONLINE"),
]


def snapshot(**over):
    snap = dict(source="lab", cloud="prod", region="r1", load_balancers=[LB], listeners=LISTENERS,
                pools=[dict(id="pool-1", name="", protocol="UDP", lb_algorithm="ROUND_ROBIN",
                            project_id="p1", loadbalancers=[{"id": "lb-1"}],
                            provisioning_status="ACTIVE", operating_status="ONLINE")],
                healthmonitors=[dict(id="hm-1", name="hm", type="UDP-CONNECT", pools=[{"id": "pool-1"}],
                                     provisioning_status="ACTIVE", operating_status="ONLINE")],
                members=[dict(id="m-1", name="a", address="127.0.0.5", protocol_port=53,
                              pool_id="pool-1", loadbalancer_id="lb-1",
                              provisioning_status="ACTIVE", operating_status="ERROR")],
                amphorae=[dict(id="amp-1", loadbalancer_id="lb-1", role="STANDALONE", status="ALLOCATED",
                               cert_expiration="2027-01-01T00:00:00", compute_id="c", lb_network_ip="x")],
                quotas={"p1": dict(load_balancers=10, listeners=-1, pools=None, health_monitors=5)},
                usage={"p1": dict(load_balancers=1, listeners=2, pools=1, health_monitors=1)},
                stats={"l-udp": dict(active_connections=1, bytes_in=10, bytes_out=20, request_errors=0,
                                     total_connections=3),
                       "l-prom": dict(active_connections=0, bytes_in=1, bytes_out=2, request_errors=0,
                                      total_connections=1)},
                floating_ips={}, warnings=[])
    snap.update(over)
    return snap


class _Static:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def exposition(families):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(families))
    return generate_latest(registry).decode()


def samples(text, name):
    return [line for line in text.splitlines() if line.startswith(name + "{") or line == name
            or line.startswith(name + " ")]


# -- configuration ------------------------------------------------------------------------------
def test_config_defaults_filled():
    cfg = config.validate({"sources": [{"name": "a", "cloud": "c"}]})
    assert cfg["interval"] == 60 and cfg["concurrency"] == 8
    assert cfg["sources"][0]["address"] == "vip" and cfg["sources"][0]["filters"] == {}


@pytest.mark.parametrize("raw, needle", [
    ({}, "sources must be a non-empty list"),
    ({"sources": [{"name": "a"}]}, "needs cloud"),
    ({"sources": [{"name": "a", "cloud": "c", "address": "public"}]}, "address must be one of vip"),
    ({"sources": [{"name": "a", "cloud": "c", "filters": {"colour": "x"}}]}, "Unknown load balancer filter"),
    ({"sources": [{"name": "a", "cloud": "c", "labels": {"bad-name": "x"}}]}, "not a valid label name"),
    ({"sources": [{"name": "a", "cloud": "c"}, {"name": "a", "cloud": "d"}]}, "unique"),
    ({"sources": [{"name": "a", "cloud": "c"}], "interval": 0}, "interval must be an integer"),
    ({"sources": [{"name": "a", "cloud": "c"}], "password": "x"}, "Unknown configuration keys password"),
    ({"sources": [{"name": "a", "cloud": "c", "amphorae": "yes"}]}, "amphorae must be true or false"),
])
def test_config_errors_name_the_key(raw, needle):
    with pytest.raises(config.ConfigError, match=needle):
        config.validate(raw)


def test_config_load_reports_bad_yaml(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("sources: [\n")
    with pytest.raises(config.ConfigError, match="not valid YAML"):
        config.load(str(path))
    with pytest.raises(config.ConfigError, match="Cannot read"):
        config.load(str(tmp_path / "missing.yml"))


# -- metric families ----------------------------------------------------------------------------
def test_state_sets_have_one_series_per_state_and_one_current():
    text = exposition(metrics.object_families([snapshot()]))
    prov = samples(text, "openstack_octavia_api_loadbalancer_provisioning_status")
    assert len(prov) == len(metrics.PROVISIONING_STATUSES)
    assert [line for line in prov if line.endswith(" 1.0")] == [
        'openstack_octavia_api_loadbalancer_provisioning_status{loadbalancer_id="lb-1",status="ACTIVE"} 1.0']
    member = samples(text, "openstack_octavia_api_member_operating_status")
    assert any('status="ERROR"' in line and line.endswith(" 1.0") for line in member)


def test_unknown_state_still_gets_its_series():
    lb = dict(LB, provisioning_status="PENDING_FAILOVER")
    text = exposition(metrics.object_families([snapshot(load_balancers=[lb])]))
    prov = samples(text, "openstack_octavia_api_loadbalancer_provisioning_status")
    assert len(prov) == len(metrics.PROVISIONING_STATUSES) + 1
    assert any('status="PENDING_FAILOVER"' in line and line.endswith(" 1.0") for line in prov)


def test_info_series_carry_names_and_fall_back_to_ids():
    text = exposition(metrics.object_families([snapshot()]))
    (info,) = samples(text, "openstack_octavia_api_loadbalancer_info")
    assert 'loadbalancer_name="web"' in info and 'cloud="prod"' in info and 'region="r1"' in info
    (pool,) = samples(text, "openstack_octavia_api_pool_info")
    assert 'pool_name="pool-1"' in pool
    assert samples(text, "openstack_octavia_api_amphora_cert_expiration_timestamp_seconds")[0].endswith(
        " 1.7987616e+09")


def test_statistics_use_the_textfile_names():
    # The textfile's names, as the stats playbook writes them (one table, in _stats).
    text = exposition(metrics.object_families([snapshot()]))
    for suffix, mtype in (("active_connections", "gauge"), ("connections_total", "counter"),
                          ("bytes_in_total", "counter"), ("bytes_out_total", "counter"),
                          ("request_errors_total", "counter")):
        assert f"# TYPE openstack_octavia_api_listener_{suffix} {mtype}" in text
    (udp,) = [x for x in samples(text, "openstack_octavia_api_listener_bytes_in_total") if "l-udp" in x]
    assert 'protocol="UDP"' in udp and udp.endswith(" 10.0")
    (lb,) = samples(text, "openstack_octavia_api_loadbalancer_bytes_out_total")
    assert lb.endswith(" 22.0")


def test_quota_limit_and_usage():
    text = exposition(metrics.object_families([snapshot()]))
    assert 'openstack_octavia_api_quota_limit{project_id="p1",resource="listener"} -1.0' in text
    assert 'openstack_octavia_api_quota_usage{project_id="p1",resource="listener"} 2.0' in text
    assert 'resource="pool"' not in "\n".join(samples(text, "openstack_octavia_api_quota_limit"))


def test_unmonitored_load_balancer_counts_zero_prometheus_listeners():
    text = exposition(metrics.object_families([snapshot(listeners=LISTENERS[1:])]))
    assert ('openstack_octavia_api_loadbalancer_prometheus_listeners{loadbalancer_id="lb-1",'
            'provider="amphora"} 0.0') in text


def test_overlapping_sources_export_each_object_once():
    text = exposition(metrics.object_families([snapshot(), snapshot(source="again")]))
    assert len(samples(text, "openstack_octavia_api_loadbalancer_info")) == 1
    assert len(samples(text, "openstack_octavia_api_listener_bytes_in_total")) == 2


def test_usage_counts_per_project():
    usage = usage_by_project([LB], LISTENERS, [], [])
    assert usage == {"p1": dict(load_balancers=1, listeners=2, pools=0, health_monitors=0)}


# -- HTTP SD --------------------------------------------------------------------------------------
def test_sd_lists_prometheus_listeners_with_file_sd_labels():
    groups, problems = metrics.sd_groups([snapshot()], lambda _s: "vip")
    assert problems == []
    assert groups == [dict(targets=["127.9.0.10:9100"], labels=dict(
        loadbalancer_id="lb-1", loadbalancer_name="web", project_id="p1", listener_id="l-prom",
        vip_address="127.9.0.10", provider="amphora", cloud="prod", region="r1"))]


@pytest.mark.parametrize("address, fips, target, problem", [
    ("auto", {}, "127.9.0.10:9100", False),
    ("auto", {"port-1": "127.8.0.1"}, "127.8.0.1:9100", False),
    ("floating_ip", {"port-1": "127.8.0.1"}, "127.8.0.1:9100", False),
    ("floating_ip", {}, None, True),
])
def test_sd_address_choice(address, fips, target, problem):
    groups, problems = metrics.sd_groups([snapshot(floating_ips=fips)], lambda _s: address)
    assert [g["targets"][0] for g in groups] == ([target] if target else [])
    assert bool(problems) is problem


def test_sd_source_labels_win_and_empty_ones_are_dropped():
    groups = metrics.sd_groups([snapshot(labels=dict(cloud="east", team="lb", region=""))],
                               lambda _s: "vip")[0]
    labels = groups[0]["labels"]
    assert labels["cloud"] == "east" and labels["team"] == "lb" and labels["region"] == "r1"


def test_sd_deduplicates_and_names_nameless():
    lb = dict(LB, name="")
    groups = metrics.sd_groups([snapshot(load_balancers=[lb]), snapshot()], lambda _s: "vip")[0]
    assert len(groups) == 1 and groups[0]["labels"]["loadbalancer_name"] == "lb-1"


# -- self metrics, errors, flags ------------------------------------------------------------------
def test_self_families():
    text = exposition(metrics.self_families([dict(
        name="lab", cloud="c", region="", up=False, last_success=None, duration=0.5, requests=7,
        errors={"connection": 2, "auth": 0}, amphorae_visible=False, targets=3)], 4, "1.0.0"))
    assert 'openstack_octavia_api_source_up{cloud="c",region="",source="lab"} 0.0' in text
    assert 'openstack_octavia_api_source_errors_total{cloud="c",kind="connection",region="",source="lab"} 2.0' in text
    assert "openstack_octavia_api_exporter_cycles_total 4.0" in text
    assert "last_success" not in text


class _HttpError(Exception):
    def __init__(self, status):
        super().__init__(f"HTTP {status}")
        self.status_code = status


@pytest.mark.parametrize("exc, kind", [
    (_HttpError(401), "auth"), (_HttpError(403), "forbidden"), (_HttpError(503), "server"),
    (_HttpError(409), "http"), (ConnectionRefusedError(), "connection"), (ValueError("x"), "other"),
])
def test_error_kind(exc, kind):
    assert error_kind(exc) == kind


@pytest.mark.parametrize("value, expected", [
    (":9878", ("0.0.0.0", 9878)), ("127.0.0.1:1", ("127.0.0.1", 1)), ("[::1]:80", ("::1", 80)),
])
def test_parse_listen_address(value, expected):
    assert parse_listen_address(value) == expected


@pytest.mark.parametrize("value", ["9878", "host:", "h:70000"])
def test_parse_listen_address_rejects(value):
    with pytest.raises(ValueError, match="web.listen-address"):
        parse_listen_address(value)


def test_the_exporter_imports_no_ansible():
    """The installed exporter has the collection's module_utils but no Ansible."""
    import subprocess
    import sys
    repo = pathlib.Path(__file__).resolve().parents[2]
    code = ("import sys; sys.modules['ansible'] = None; import octavia_exporter.cli, "
            "octavia_exporter.collect; print(sorted(m for m in sys.modules if m.startswith('ansible.')))")
    env = {"PYTHONPATH": f"{repo / 'exporter' / 'src'}:{repo / '.build' / 'collections'}",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _imports(path):
    import ast
    tree = ast.parse(path.read_text())
    prefix = "ansible_collections.octavia.monitoring.plugins.module_utils"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == prefix:
                found |= {alias.name for alias in node.names}
            elif node.module.startswith(prefix + "."):
                found.add(node.module.rsplit(".", 1)[1])
    return found


def test_the_role_stages_exactly_the_module_utils_the_exporter_imports():
    import yaml
    repo = pathlib.Path(__file__).resolve().parents[2]
    utils = repo / "plugins" / "module_utils"
    todo = set().union(*(_imports(p) for p in (repo / "exporter" / "src" / "octavia_exporter").glob("*.py")))
    closure = set()
    while todo:
        name = todo.pop()
        if name not in closure:
            closure.add(name)
            todo |= _imports(utils / f"{name}.py")
    role_vars = yaml.safe_load((repo / "roles" / "octavia_exporter" / "vars" / "main.yml").read_text())
    assert sorted(role_vars["__octavia_exporter_module_utils_names"]) == sorted(f"{n}.py" for n in closure)
