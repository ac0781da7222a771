"""The scale topology of issue 13 against the real components: tests 1, 2 and 4 of its list.

A fleet of 12 load balancers in a project of its own (the demo has 34; 12 keeps the lab's
haproxies and the API within a CI run on two cores and still gives every shard a share), the
site playbook over three TLS and basic-auth Prometheus shards on free ports that remote-write
to a real VictoriaMetrics, a real vmalert evaluating the name catalogue and the alert pack on
the store, a real Alertmanager with the webhook receiver. It is the topology of `make demo-scale`
(demo/scale/topology.py and the demo's group_vars), on ports of its own. Two load balancers
carry an HTTP listener, a pool with a health monitor and a live and a dead member, and get
traffic, so that every dashboard panel has something to show; the octavia-exporter feeds the
fleet-state panels, scraped by one shard.

    1. every PROMETHEUS listener is scraped by exactly one shard, seen from VictoriaMetrics:
       count by (instance) (up{job="octavia"}) is 1 for each, each shard has a share, and the
       union is the fleet;
    2. removing a shard from the inventory and re-running leaves every target scraped by one
       of the remaining two (the last test: it changes the topology);
    4. every dashboard query returns data from VictoriaMetrics.

The second run of the site playbook changes nothing.
"""
import json
import subprocess
import sys
import time
import uuid

import pytest

from lab.backends import HttpBackend
from lab.settings import REPO, vip_net

for path in (REPO, REPO / "demo" / "scale", REPO / "exporter" / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import topology  # noqa: E402  (demo/scale, on the path above)
from dashboards import generate, queries  # noqa: E402
from exporter_proc import ExporterProcess  # noqa: E402
from helpers.ansible_run import ansible_env  # noqa: E402
from test_grafana_dashboards_e2e import _dead_port, _send_traffic  # noqa: E402

FLEET = 12
RICH = 2
SCRAPE = "2s"
RATE_INTERVAL = "20s"
RANGE = "5m"
TRAFFIC_SECONDS = 20
USER = "octavia"


def _site(scale, log):
    """The site playbook over the topology (default callback: the recap is what a user reads)."""
    proc = subprocess.run(scale.site_argv(), capture_output=True, text=True, cwd=REPO, timeout=1200,
                          env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default"}), check=False)
    log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, ("the site playbook failed; its output ends:\n"
                                  f"{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
    return proc.stdout[proc.stdout.rfind("PLAY RECAP"):]


def _rich(conn, factory_lb, prefix, index):
    """An HTTP listener, a pool with a health monitor, a live and a dead member on one load balancer."""
    lb_api = conn.load_balancer
    web = lb_api.create_listener(loadbalancer_id=factory_lb.id, name=f"{prefix}-web{index}", protocol="HTTP",
                                 protocol_port=8080)
    lb_api.wait_for_load_balancer(factory_lb.id)
    pool = lb_api.create_pool(name=f"{prefix}-pool{index}", listener_id=web.id, protocol="HTTP",
                              lb_algorithm="ROUND_ROBIN")
    lb_api.wait_for_load_balancer(factory_lb.id)
    live = HttpBackend("127.0.0.1", 0, name=f"{prefix}-backend{index}").start()
    lb_api.create_member(pool.id, name=f"{prefix}-member{index}a", address=live.address, protocol_port=live.port)
    lb_api.wait_for_load_balancer(factory_lb.id)
    lb_api.create_member(pool.id, name=f"{prefix}-member{index}b", address="127.0.0.1",
                         protocol_port=_dead_port(), weight=3)
    lb_api.wait_for_load_balancer(factory_lb.id)
    lb_api.create_health_monitor(pool_id=pool.id, type="HTTP", delay=1, timeout=1, max_retries=1,
                                 url_path="/", expected_codes="200")
    lb_api.wait_for_load_balancer(factory_lb.id)
    return live, {"id": factory_lb.id, "name": factory_lb.name, "vip": factory_lb.vip_address,
                  "listener": web.name, "pool": pool.name}


@pytest.fixture(scope="module")
def scale(lab, tmp_path_factory):
    """The fleet, the topology and one site run; everything is stopped and deleted afterwards."""
    conn = lab.connect()
    prefix = f"scale-{uuid.uuid4().hex[:6]}"
    project = prefix
    root = tmp_path_factory.mktemp("scale")
    # The test's own /24 of the lab's VIP range (the bench takes the lower half, lb_factory picks at random).
    vips = list(vip_net().subnets(new_prefix=24))[-2]
    fleet = topology.Fleet(conn, count=FLEET, prefix=prefix, project=project, vip_range=vips)
    backends, exporter, scale = [], None, None
    try:
        lbs = fleet.ensure()
        rich = []
        for index, lb in enumerate(lbs[:RICH], start=1):
            backend, details = _rich(conn, lb, prefix, index)
            backends.append(backend)
            rich.append(details)
        conn.load_balancer.update_quota(project, listeners=100)
        exporter = ExporterProcess(root, [dict(name="scale", cloud=lab.cloud, filters=dict(project_ids=[project]))],
                                   lab.clouds_yaml, interval=2).start(timeout=120)
        scale = topology.Topology(
            root / "topology", cloud=lab.cloud, project=project, user=USER, password=uuid.uuid4().hex,
            shards={f"shard-{n}": topology.free_port() for n in (1, 2, 3)},
            ports={name: topology.free_port() for name in ("store", "vmalert", "alertmanager", "webhook")},
            exporter_port=exporter.port, extra_vars={"octavia_scale_scrape_interval": SCRAPE},
            env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default"}))
        scale.start()
        scale.start_vmalert()
        first = _site(scale, root / "first-run.log")
        expected = topology.prometheus_targets(conn, project)
        assert len(expected) == FLEET, \
            f"the site playbook gave {len(expected)} of {FLEET} load balancers a PROMETHEUS listener"
        scraped = scale.wait_scraped(expected.values(), timeout=240)
        sent = _send_traffic(rich, TRAFFIC_SECONDS)
        time.sleep(4)
        yield {"scale": scale, "expected": expected, "scraped": scraped, "rich": rich, "root": root,
               "project": project, "cloud": lab.cloud, "sent": sent, "first_recap": first}
    finally:
        if scale is not None:
            scale.stop()
        if exporter is not None:
            exporter.stop()
        for backend in backends:
            backend.stop()
        try:
            conn.load_balancer.update_quota(project, listeners=-1)
            fleet.delete()
        finally:
            conn.close()


def test_every_listener_is_scraped_by_exactly_one_shard(scale):
    store = scale["scale"].store_url
    counts = {s["metric"]["instance"]: float(s["value"][1])
              for s in topology.query(store, 'count by (instance) (last_over_time(up{job="octavia"}[15s]))')}
    assert set(counts) == set(scale["expected"].values()), "the union of the shards' targets is not the fleet"
    assert set(counts.values()) == {1.0}, {i: c for i, c in counts.items() if c != 1.0}
    shares = {s["metric"]["shard"]: float(s["value"][1])
              for s in topology.query(store, 'count by (shard) (last_over_time(up{job="octavia"}[15s]))')}
    assert set(shares) == {"shard-1", "shard-2", "shard-3"}, shares
    assert all(share >= 1 for share in shares.values()), shares
    assert sum(shares.values()) == FLEET
    up = topology.query(store, 'min(last_over_time(up{job="octavia"}[15s]))')
    assert float(up[0]["value"][1]) == 1.0, "a target is down"


def test_a_load_balancer_stays_on_its_shard(scale):
    """The shard key is the load balancer id: every series of one load balancer comes from one shard."""
    store = scale["scale"].store_url
    spread = topology.query(store, 'count by (loadbalancer_id) (count by (loadbalancer_id, shard) '
                                   '(last_over_time({job="octavia", loadbalancer_id!=""}[15s])))')
    assert len(spread) == FLEET
    assert {float(s["value"][1]) for s in spread} == {1.0}


def test_the_shards_refuse_an_unauthenticated_request(scale):
    topo = scale["scale"]
    for name in topo.shards:
        url = topo.shard_url(name)
        assert url.startswith("https://"), f"{name} does not serve TLS: {url}"
        assert topology.http_get(f"{url}/api/v1/status/config", cafile=topo.tls["cert"])[0] == 401
        assert topology.http_get(f"{url}/api/v1/status/config", auth=(USER, topo.password),
                                 cafile=topo.tls["cert"])[0] == 200


def test_the_second_site_run_changes_nothing(scale):
    recap = _site(scale["scale"], scale["root"] / "second-run.log")
    hosts = [line for line in recap.splitlines()[1:] if ":" in line and "ok=" in line]
    assert hosts, recap
    assert not [line for line in hosts if "changed=0" not in line or "failed=0" not in line], recap


def _values(scale):
    first = scale["rich"][0]
    region = topology.query(scale["scale"].store_url, f'up{{loadbalancer_name="{first["name"]}"}}')
    region = region[0]["metric"].get("region", "") if region else ""
    return {"cloud": scale["cloud"], "region": region or ".*", "project": scale["project"],
            "loadbalancer": first["name"], "listener": first["listener"], "pool": first["pool"],
            "topn": "5", "__rate_interval": RATE_INTERVAL, "__range": RANGE}


@pytest.mark.parametrize("uid", [module.UID for module in generate.DASHBOARDS])
def test_every_dashboard_query_returns_data_from_the_store(scale, uid):
    dashboard = json.loads((generate.OUTPUT_DIR / f"{uid}.json").read_text())
    values = _values(scale)
    store = scale["scale"].store_url
    empty, errors = {}, {}
    for panel_query in queries.panel_queries(dashboard):
        expr = queries.substitute(panel_query.expr, values)
        try:
            if panel_query.instant:
                result = topology.query(store, expr)
            else:
                end = time.time()
                result = topology.query_range(store, expr, end - 120, end, "4s")
        except topology.TopologyError as exc:
            errors.setdefault(panel_query.panel, []).append(f"{panel_query.ref}: {exc}")
            continue
        if not result:
            empty.setdefault(panel_query.panel, []).append(f"{panel_query.ref}: {expr}")
    assert not errors, "queries VictoriaMetrics rejected, by panel:\n" + json.dumps(errors, indent=2)
    assert not empty, ("panels that show no data from the store (title: empty queries):\n"
                       + "\n".join(f"- {title}: {refs}" for title, refs in empty.items()))
    assert len(queries.panel_queries(dashboard)) > 10
    assert scale["sent"] > 50


def test_removing_a_shard_leaves_every_target_scraped_by_one_of_the_others(scale):
    """Last in the module: it changes the topology for good."""
    topo = scale["scale"]
    topo.remove_shard("shard-3")
    _site(topo, scale["root"] / "reshard-run.log")
    # A window shorter than the time since shard-3 stopped: its series have no fresh sample.
    time.sleep(8)
    scraped = topo.wait_scraped(scale["expected"].values(), timeout=120, window="6s")
    shards = {shard for owners in scraped.values() for shard in owners}
    assert shards == {"shard-1", "shard-2"}, shards
    assert set(scraped) == set(scale["expected"].values())
