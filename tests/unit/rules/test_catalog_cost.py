"""The name catalogue costs one rule and one series per object, in a real Prometheus.

A fleet of 50 load balancers (2 listeners, 2 pools, 6 members each) is rendered and
loaded; Prometheus must then hold exactly 500 catalogue rules and 500 new series, and
a load balancer removed from the file must lose its series at the next reload.
"""
import time

import pytest

from catalog_scale import LISTENERS, MEMBERS, POOLS, fleet
from rules_render import render
from helpers.prometheus_server import PrometheusServer

LBS = 50


@pytest.fixture
def prom(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1s\n")
    with PrometheusServer(config_path=config, workdir=tmp_path / "run") as server:
        yield server


def load(prom, items, path):
    path.write_text(render("octavia-names.yml.j2", __octavia_prometheus_found={"targets": items},
                           octavia_prometheus_catalog_interval="1s"))
    prom.write_config(f"global:\n  evaluation_interval: 1s\nrule_files: [{path}]\n")


def test_one_rule_and_one_series_per_object(prom, tmp_path):
    time.sleep(1)
    before = prom.self_metric("prometheus_tsdb_head_series")
    items = fleet(LBS)
    load(prom, items, tmp_path / "names.yml")
    objects = LBS * (LISTENERS + POOLS + MEMBERS)
    assert len(prom.rule_names()) == objects
    assert len(prom.rules()) == LBS
    prom.wait_for(lambda: prom.query_value("count({__name__=~\"octavia_(listener|pool|member)_info\"})") == objects,
                  timeout=30, message=f"{objects} catalogue series")
    assert prom.query_value("count(octavia_listener_info)") == LBS * LISTENERS
    assert prom.query_value("count(octavia_pool_info)") == LBS * POOLS
    assert prom.query_value("count(octavia_member_info)") == LBS * MEMBERS
    prom.wait_for(lambda: prom.self_metric("prometheus_tsdb_head_series") - before == objects, timeout=30,
                  message="no series beyond one per object")


def test_a_removed_load_balancer_loses_its_series_at_the_reload(prom, tmp_path):
    items = fleet(3)
    load(prom, items, tmp_path / "names.yml")
    gone = items[0]["labels"]["loadbalancer_id"]
    prom.wait_for(lambda: prom.query(f'octavia_member_info{{loadbalancer_id="{gone}"}}'), timeout=30,
                  message="the first load balancer's names")
    load(prom, items[1:], tmp_path / "names.yml")
    # Staleness markers from the dropped group, not the 5 minute lookback, make them vanish.
    prom.wait_for(lambda: not prom.query(f'{{__name__=~"octavia_.*_info", loadbalancer_id="{gone}"}}'),
                  timeout=10, message="the removed load balancer's series marked stale")
    assert prom.query_value("count(octavia_member_info)") == 2 * MEMBERS


def test_a_rename_shows_at_once(prom, tmp_path):
    items = fleet(1)
    load(prom, items, tmp_path / "names.yml")
    member = items[0]["catalog"]["members"][0]["id"]
    prom.wait_for(lambda: prom.query(f'octavia_member_info{{member="{member}", member_name="member-0-0"}}'),
                  timeout=30, message="the member under its first name")
    items[0]["catalog"]["members"][0]["name"] = "renamed"
    load(prom, items, tmp_path / "names.yml")
    prom.wait_for(lambda: [s["metric"]["member_name"] for s in prom.query(f'octavia_member_info{{member="{member}"}}')]
                  == ["renamed"], timeout=10, message="only the new name left")
