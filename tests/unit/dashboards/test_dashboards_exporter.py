"""The fleet overview's state panels use series the octavia-exporter serves, with their labels."""
import re
import sys

from dashboards import queries
from dashboards.generate import REPO

for path in (REPO / "exporter" / "src", REPO / ".build" / "collections"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from octavia_exporter import metrics  # noqa: E402 - needs the paths above

API_RE = re.compile(r"\b(openstack_octavia_api_[a-z_]+)\b")
LB = dict(id="lb", name="web", project_id="p", provider="amphora", provisioning_status="ACTIVE",
          operating_status="ONLINE", admin_state_up=True)
SNAPSHOT = dict(
    source="s", cloud="c", region="r", labels={}, load_balancers=[LB], listeners=[], pools=[],
    healthmonitors=[], members=[],
    amphorae=[dict(id="a", loadbalancer_id="lb", status="ALLOCATED", cert_expiration="2030-01-01T00:00:00")],
    quotas={"p": dict(listeners=10)}, usage={"p": dict(listeners=1)}, stats={}, floating_ips={},
    warnings=[])
HEALTH = dict(name="s", cloud="c", region="r", up=True, last_success=1.0, duration=1.0, requests=1,
              errors={"auth": 0}, amphorae_visible=True, targets=0)


def served():
    """{series name: label names} the exporter serves (from its own family builders)."""
    found = {}
    for family in metrics.object_families([SNAPSHOT]) + metrics.self_families([HEALTH], 1, "x"):
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


def test_every_exporter_series_on_the_dashboards_is_served(committed):
    known = served()
    used = 0
    for uid, dashboard in committed.items():
        for query in queries.panel_queries(dashboard):
            for name in API_RE.findall(query.expr):
                used += 1
                assert name in known, f"{uid} / {query.panel}: {name} is not served by the exporter"
    assert used, "no panel uses the exporter's series"


def test_state_panels_filter_on_labels_the_series_carry(committed):
    known = served()
    for query in queries.panel_queries(committed["octavia-fleet-overview"]):
        for name, selector in re.findall(r"\b(openstack_octavia_api_[a-z_]+)\{([^}]*)\}", query.expr):
            labels = {m.split("=")[0].rstrip("!~").strip() for m in selector.split(",") if m.strip()}
            assert labels <= known[name], f"{query.panel}: {name} has no {sorted(labels - known[name])}"


def test_fleet_overview_shows_the_state_of_the_fleet(committed):
    titles = {panel["title"] for panel in queries.panels(committed["octavia-fleet-overview"])}
    assert {"Provisioning ERROR", "Pending", "Unmonitored", "Amphorae in ERROR", "Exporter sources down",
            "Load balancers by provisioning status", "Load balancers by operating status",
            "Listener quota used"} <= titles
