"""Every dashboard query returns data from the Octavia lab through a real Prometheus.

Issue 6, Proof part 2. Two demo load balancers in the lab get an HTTP listener, a
pool with a health monitor and two members (one of them a dead port, so a member
is really DOWN), and a PROMETHEUS listener. The octavia_prometheus role writes the
scrape targets, the name catalogue and prometheus.yml; a real Prometheus scrapes
the lab amphorae while real HTTP traffic (2xx, 4xx, 5xx and malformed requests)
goes through the VIPs. Then, for both dashboards:

- every label_values() variable returns the demo objects' names;
- every query of every panel, with the variables set to the demo's values, parses
  in Prometheus and returns a non-empty result; the test lists the panels that
  would show no data, by title;
- legends that show names show the demo objects' names, never UUIDs.

The demo objects use VIPs in 127.5.0.0/16 and a name prefix of their own.
"""
import getpass
import grp
import http.client
import json
import os
import random
import socket
import sys
import time
import urllib.request
import uuid

import pytest
import yaml

from lab.settings import REPO

# The dashboards package sits at the repository root, outside pytest's pythonpath.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
# The exporter's test helper (its real command in the foreground) sits beside its tests.
if str(REPO / "exporter" / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "exporter" / "tests"))

from dashboards import generate, queries  # noqa: E402 - needs the path above
from exporter_proc import ExporterProcess  # noqa: E402 - exporter/tests is on the path above
from helpers.ansible_run import run_playbook  # noqa: E402
from helpers.prometheus_server import PrometheusServer  # noqa: E402
from lab.backends import HttpBackend  # noqa: E402
from lab.factory import LoadBalancerFactory  # noqa: E402

PROJECT = "grafana-e2e"
SCRAPE = "2s"
# What Grafana would send for these with a 2s scrape interval and a few minutes' range.
RATE_INTERVAL = "20s"
RANGE = "5m"
TRAFFIC_SECONDS = 24


def _free_vips(conn, count):
    in_use = {lb.vip_address for lb in conn.load_balancer.load_balancers()}
    vips = []
    while len(vips) < count:
        address = f"127.5.{random.randint(1, 254)}.{random.randint(1, 254)}"
        if address not in in_use and address not in vips:
            vips.append(address)
    return vips


def _dead_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(vip, port, raw=None, path="/"):
    """One request through the VIP; raw bytes are sent as they are (malformed requests)."""
    try:
        if raw is not None:
            with socket.create_connection((vip, port), timeout=3) as sock:
                sock.sendall(raw)
                sock.recv(4096)
            return
        conn = http.client.HTTPConnection(vip, port, timeout=3)
        conn.request("GET", path)
        conn.getresponse().read()
        conn.close()
    except OSError:
        pass


def _send_traffic(lbs, seconds):
    """Bounded traffic through every demo VIP: mostly 200s, some 404s and 503s, a few malformed requests."""
    deadline = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < deadline and sent < 20000:
        for lb in lbs:
            _request(lb["vip"], 8080, path="/")
            _request(lb["vip"], 8080, path="/missing" if sent % 3 else "/status/503")
            if sent % 5 == 0:
                _request(lb["vip"], 8080, raw=b"NOT HTTP AT ALL\r\n\r\n")
            sent += 1
        time.sleep(0.05)
    return sent


@pytest.fixture(scope="module")
def demo(lab, tmp_path_factory):
    """The demo load balancers, scraped by a Prometheus the octavia_prometheus role configured."""
    conn = lab.connect()
    prefix = f"grafe2e-{uuid.uuid4().hex[:6]}"
    tag = prefix
    factory = LoadBalancerFactory(conn, name_prefix=prefix, timeout=90)
    backends = []
    prom = exporter = None
    try:
        lbs = []
        for index, vip in enumerate(_free_vips(conn, 2), start=1):
            lb = factory.create(name=f"{prefix}-lb{index}", vip_address=vip, project_id=PROJECT, tags=[tag])
            web = conn.load_balancer.create_listener(loadbalancer_id=lb.id, name=f"{prefix}-web{index}",
                                                     protocol="HTTP", protocol_port=8080)
            factory.wait_active([lb.id])
            pool = conn.load_balancer.create_pool(name=f"{prefix}-pool{index}", listener_id=web.id,
                                                  protocol="HTTP", lb_algorithm="ROUND_ROBIN")
            factory.wait_active([lb.id])
            live = HttpBackend("127.0.0.1", 0, name=f"{prefix}-backend{index}").start()
            backends.append(live)
            members = [conn.load_balancer.create_member(pool.id, name=f"{prefix}-member{index}a",
                                                        address=live.address, protocol_port=live.port)]
            factory.wait_active([lb.id])
            # Nothing listens there: health checks fail and the member is really DOWN.
            members.append(conn.load_balancer.create_member(pool.id, name=f"{prefix}-member{index}b",
                                                            address="127.0.0.1", protocol_port=_dead_port(),
                                                            weight=3))
            factory.wait_active([lb.id])
            conn.load_balancer.create_health_monitor(pool_id=pool.id, type="HTTP", delay=1, timeout=1,
                                                     max_retries=1, url_path="/", expected_codes="200")
            factory.wait_active([lb.id])
            conn.load_balancer.create_listener(loadbalancer_id=lb.id, name=f"{prefix}-metrics{index}",
                                               protocol="PROMETHEUS", protocol_port=8088,
                                               allowed_cidrs=["127.0.0.0/8"])
            factory.wait_active([lb.id])
            lbs.append({"id": lb.id, "name": lb.name, "vip": vip, "listener": f"{prefix}-web{index}",
                        "pool": f"{prefix}-pool{index}", "members": [m.name for m in members]})

        root = tmp_path_factory.mktemp("grafana-e2e")
        # The fleet-state panels read octavia-exporter's series: the real exporter, scoped to these
        # load balancers, scraped through the role's exporter job; the quota panel needs a limit.
        conn.load_balancer.update_quota(PROJECT, listeners=100)
        exporter = ExporterProcess(root, [dict(name="e2e", cloud=lab.cloud, filters=dict(tags=[tag]))],
                                   lab.clouds_yaml, interval=2).start(timeout=120)
        run = run_playbook(_role_playbook(root), env=lab.env, extra_vars={
            "octavia_prometheus_exporter_targets": [f"127.0.0.1:{exporter.port}"],
            "octavia_prometheus_sources": [{"cloud": lab.cloud, "filters": {"tags": [tag]}}],
            "octavia_prometheus_config_file": str(root / "prometheus.yml"),
            "octavia_prometheus_file_sd_dir": str(root / "file_sd"),
            "octavia_prometheus_rules_dir": str(root / "rules"),
            "octavia_prometheus_become": False,
            "octavia_prometheus_file_owner": getpass.getuser(),
            "octavia_prometheus_file_group": grp.getgrgid(os.getgid()).gr_name,
            "octavia_prometheus_manage_config": True,
            "octavia_prometheus_reload_method": "none",
            "octavia_prometheus_scrape_self": False,
            "octavia_prometheus_global": {"scrape_interval": SCRAPE, "scrape_timeout": SCRAPE,
                                          "evaluation_interval": SCRAPE},
            "octavia_prometheus_scrape_interval": SCRAPE,
            "octavia_prometheus_scrape_timeout": SCRAPE,
            "octavia_prometheus_file_sd_refresh_interval": SCRAPE,
            "octavia_prometheus_catalog_interval": SCRAPE,
        })
        assert run.rc == 0, run
        prom = PrometheusServer(config_path=root / "prometheus.yml", workdir=root / "prometheus").start()
        prom.wait_for(lambda: len(prom.targets(health="up")) >= len(lbs), timeout=60,
                      message="Prometheus scraping both demo load balancers")
        prom.wait_for(lambda: prom.query(f'octavia_member_info{{loadbalancer_name=~"{prefix}-.*"}}'), timeout=60,
                      message="the name catalogue's series")
        prom.wait_for(lambda: prom.query('openstack_octavia_api_quota_limit{resource="listener"}'), timeout=60,
                      message="the exporter's series")
        sent = _send_traffic(lbs, TRAFFIC_SECONDS)
        # One more scrape after the last request, so rates end on real samples.
        time.sleep(4)
        region = prom.query(f'up{{loadbalancer_name="{lbs[0]["name"]}"}}')[0]["metric"].get("region", "")
        yield {"prom": prom, "lbs": lbs, "prefix": prefix, "cloud": lab.cloud, "region": region, "sent": sent,
               "catalogue": (root / "rules" / "octavia-names.yml").read_text()}
    finally:
        if prom is not None:
            prom.stop()
        if exporter is not None:
            exporter.stop()
        conn.load_balancer.update_quota(PROJECT, listeners=-1)
        for backend in backends:
            backend.stop()
        try:
            factory.cleanup()
        finally:
            conn.close()


def _role_playbook(root):
    path = root / "octavia_prometheus.yml"
    path.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "roles": [{"role": "octavia.monitoring.octavia_prometheus"}],
    }]))
    return path


def _values(demo):
    """Template variable values as Grafana would send them for the first demo load balancer."""
    first = demo["lbs"][0]
    return {"cloud": demo["cloud"], "region": demo["region"] or ".*", "project": PROJECT,
            "loadbalancer": first["name"], "listener": first["listener"], "pool": first["pool"],
            "topn": "5", "__rate_interval": RATE_INTERVAL, "__range": RANGE}


def _run(prom, query, expr):
    """The samples a panel target returns: an instant query, or a range over the last two minutes."""
    if query.instant:
        return prom.query(expr)
    end = time.time()
    data = prom.api("query_range", {"query": expr, "start": end - 120, "end": end, "step": "4s"})
    return [series for series in data["result"] if series["values"]]


DASHBOARDS = [module.UID for module in generate.DASHBOARDS]


@pytest.mark.parametrize("uid", DASHBOARDS)
def test_every_panel_shows_data(demo, uid):
    dashboard = json.loads((generate.OUTPUT_DIR / f"{uid}.json").read_text())
    values = _values(demo)
    empty, errors, checked = {}, {}, 0
    for query in queries.panel_queries(dashboard):
        expr = queries.substitute(query.expr, values)
        try:
            result = _run(demo["prom"], query, expr)
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its panel
            errors.setdefault(query.panel, []).append(f"{query.ref}: {exc}")
            continue
        checked += 1
        if not result:
            empty.setdefault(query.panel, []).append(f"{query.ref}: {expr}")
    assert not errors, "queries Prometheus rejected, by panel:\n" + json.dumps(errors, indent=2)
    assert not empty, ("panels that show no data (title: empty queries):\n"
                       + "\n".join(f"- {title}: {refs}" for title, refs in empty.items()))
    assert checked == len(queries.panel_queries(dashboard)) > 10


@pytest.mark.parametrize("uid", DASHBOARDS)
def test_variables_list_the_demo_names(demo, uid):
    dashboard = json.loads((generate.OUTPUT_DIR / f"{uid}.json").read_text())
    values = _values(demo)
    first = demo["lbs"][0]
    prom = demo["prom"]
    end = time.time()
    listed = {}
    for variable in queries.variable_queries(dashboard):
        selector = queries.substitute(variable.selector, values)
        listed[variable.name] = set(prom.api(f"label/{variable.label}/values",
                                             {"match[]": selector, "start": end - 600, "end": end}))
    assert {lb["name"] for lb in demo["lbs"]} <= listed["loadbalancer"], listed["loadbalancer"]
    assert demo["cloud"] in listed["cloud"]
    assert PROJECT in listed["project"]
    if demo["region"]:
        assert demo["region"] in listed["region"]
    if "listener" in listed:
        assert listed["listener"] == {first["listener"]}, "the listener variable lists the web listener by name"
    if "pool" in listed:
        assert listed["pool"] == {first["pool"]}


def test_legends_show_the_demo_names(demo):
    """Series behind {{listener_name}}, {{pool_name}}, {{member_name}} legends carry real names."""
    values = _values(demo)
    first = demo["lbs"][0]
    names = {"listener_name": {first["listener"]}, "pool_name": {first["pool"]},
             "member_name": set(first["members"]),
             "loadbalancer_name": {lb["name"] for lb in demo["lbs"]}}
    seen = {label: set() for label in names}
    for uid in DASHBOARDS:
        dashboard = json.loads((generate.OUTPUT_DIR / f"{uid}.json").read_text())
        for query in queries.panel_queries(dashboard):
            for label in names:
                if "{{" + label + "}}" in query.legend:
                    result = _run(demo["prom"], query, queries.substitute(query.expr, values))
                    seen[label] |= {series["metric"].get(label) for series in result}
    for label, expected in names.items():
        assert seen[label], f"no legend shows {label}"
        if label == "loadbalancer_name":
            # Top-N panels rank the whole project; the demo load balancers must be among them.
            assert expected <= seen[label], (label, seen[label])
        else:
            assert seen[label] <= expected, (label, seen[label] - expected)


def test_a_member_is_down_and_traffic_was_counted(demo):
    """The demo really exercised what the panels show: a DOWN member, 5xx, 404 and malformed requests."""
    prom = demo["prom"]
    first = demo["lbs"][0]
    selector = f'loadbalancer_name="{first["name"]}"'
    assert prom.query_value(f'sum(octavia_member_status{{{selector}, state="DOWN"}})') == 1.0
    codes = {s["metric"]["code"]: float(s["value"][1])
             for s in prom.query(f"sum by (code) (octavia_listener_http_responses_total{{{selector}}})")}
    assert codes.get("2xx", 0) > 0 and codes.get("4xx", 0) > 0 and codes.get("5xx", 0) > 0, codes
    assert prom.query_value(f"sum(octavia_listener_request_errors_total{{{selector}}})") > 0
    assert demo["sent"] > 50


def test_the_provisioned_datasource_reaches_this_prometheus(demo, tmp_path):
    """The role's provisioning tree, pointed at the demo Prometheus through the inventory, queries it."""
    prom = demo["prom"]
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {
        "hosts": {"localhost": {"ansible_connection": "local"}},
        "children": {"prometheus": {"hosts": {"prometheus-demo": {"ansible_host": prom.host}}}},
    }}))
    playbook = tmp_path / "grafana.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False,
                                     "roles": [{"role": "octavia.monitoring.octavia_grafana"}]}]))
    tree = tmp_path / "grafana"
    run = run_playbook(playbook, inventory=inventory, args=["--limit", "localhost"], extra_vars={
        "octavia_grafana_provisioning_dir": str(tree / "provisioning"),
        "octavia_grafana_dashboards_dir": str(tree / "dashboards"),
        "octavia_grafana_become": False,
        "octavia_grafana_file_owner": getpass.getuser(),
        "octavia_grafana_file_group": grp.getgrgid(os.getgid()).gr_name,
        "octavia_grafana_prometheus_port": prom.port,
        "octavia_grafana_reload_method": "none",
    })
    assert run.rc == 0, run
    datasource = yaml.safe_load((tree / "provisioning" / "datasources" / "octavia-prometheus.yml").read_text())
    url = datasource["datasources"][0]["url"]
    assert url == prom.url
    with urllib.request.urlopen(f"{url}/api/v1/query?query=count(up%7Bloadbalancer_id!%3D%22%22%7D)",
                                timeout=10) as response:
        answer = json.load(response)
    assert answer["status"] == "success" and float(answer["data"]["result"][0]["value"][1]) >= len(demo["lbs"])
    for uid in DASHBOARDS:
        provisioned = json.loads((tree / "dashboards" / f"{uid}.json").read_text())
        assert provisioned == json.loads((generate.OUTPUT_DIR / f"{uid}.json").read_text())
