"""The cloud label under AWX (issue 12), on plain dicts: a source's ``labels`` set it.

AWX injects every OpenStack credential as a clouds.yaml entry named ``devstack``, so the
modules label their targets ``cloud="devstack"`` and the exporter names its source's cloud
so too. A source's ``labels: {cloud: ...}`` replaces it on the file_sd targets (the
octavia_prometheus role's ``prometheus_targets`` filter) and on the exporter's HTTP SD
targets, and both give one load balancer the same label set, so neither discovery path
changes what the alerts and dashboards see.
"""
import pathlib
import sys

import pytest

from ansible_collections.octavia.monitoring.plugins.filter.prometheus_targets import prometheus_targets
from ansible_collections.octavia.monitoring.plugins.module_utils._targets import lb_summary, scrape_items

REPO = pathlib.Path(__file__).resolve().parents[4]
for path in (REPO / "exporter" / "src", REPO / ".build" / "collections"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from octavia_exporter import metrics  # noqa: E402 - needs the paths above

LB = dict(id="lb-1", name="web", vip_address="127.9.0.10", vip_port_id="port-1", project_id="p1",
          provider="amphora", availability_zone=None, provisioning_status="ACTIVE",
          operating_status="ONLINE")
LISTENERS = [dict(id="lst-1", name="prometheus", protocol="PROMETHEUS", protocol_port=8088,
                  load_balancers=[{"id": "lb-1"}]),
             dict(id="lst-2", name="http", protocol="HTTP", protocol_port=80, load_balancers=[{"id": "lb-1"}])]
AWX_CLOUD = "devstack"


def file_sd_labels(source_labels, target_labels=None):
    """The labels the octavia_prometheus role writes for LB, discovered under AWX's credential."""
    # lb_prometheus_listener_info names the cloud the connection came from: AWX's devstack.
    found = scrape_items(lb_summary(LB), LISTENERS, AWX_CLOUD, "RegionOne", "vip")
    source = {"labels": source_labels} if source_labels is not None else {}
    discovery = {"results": [{"item": source, "prometheus_listeners": found}]}
    [entry] = prometheus_targets(discovery, None, target_labels)["file_sd"]
    return entry["labels"]


def http_sd_labels(source_labels):
    """The labels the exporter's HTTP SD serves for LB from a source on AWX's credential."""
    snapshot = dict(source="awx", cloud=(source_labels or {}).get("cloud") or AWX_CLOUD, region="RegionOne",
                    labels=source_labels or {}, load_balancers=[LB], listeners=LISTENERS, floating_ips={})
    groups, problems = metrics.sd_groups([snapshot], lambda _source: "vip")
    assert problems == []
    [group] = groups
    return group["labels"]


def test_without_a_label_every_target_is_devstack():
    assert file_sd_labels(None)["cloud"] == AWX_CLOUD
    assert http_sd_labels(None)["cloud"] == AWX_CLOUD


@pytest.mark.parametrize("labels", [{"cloud": "east"}, {"cloud": "east", "region": "dc1"}])
def test_a_sources_labels_set_the_cloud_on_both_paths(labels):
    file_sd, http_sd = file_sd_labels(labels), http_sd_labels(labels)
    assert file_sd["cloud"] == http_sd["cloud"] == "east"
    assert file_sd["region"] == http_sd["region"] == labels.get("region", "RegionOne")
    assert file_sd == http_sd


def test_the_role_wide_target_labels_do_not_replace_the_discovered_cloud():
    """octavia_prometheus_target_labels is a default under the target's own labels: the
    cloud the connection named stays; a source's labels are the way to set it."""
    assert file_sd_labels(None, {"cloud": "east", "team": "lb"}) == dict(
        file_sd_labels(None), team="lb")
    assert file_sd_labels({"cloud": "east"}, {"cloud": "west"})["cloud"] == "east"


def test_the_exporter_names_its_series_by_the_sources_cloud_label():
    """The state and info series carry the same cloud as the targets (Source.labels)."""
    from octavia_exporter import collect

    class Config:
        region_name = "RegionOne"

    class Conn:
        config = Config()

    def source(labels):
        return collect.Source(dict(name="awx", cloud=AWX_CLOUD, region_name=None, labels=labels),
                              api_timeout=30, concurrency=1, connect=None)

    assert source({"cloud": "east"}).labels(Conn()) == ("east", "RegionOne")
    assert source({}).labels(Conn()) == (AWX_CLOUD, "RegionOne")
