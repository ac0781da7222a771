"""lb_stats_info, the stats filters and playbooks/stats.yml against the lab (issue 4).

Figures are written with the lab's stats command (Octavia's own StatsUpdateDb), read back
through the module, the openstack CLI, a real node_exporter textfile collector scraped by
a real Prometheus, and the playbook's table and reports.

Every VIP here lies in 127.3.0.0/16, the range the stats work owns in the shared lab; every
object name starts with a random prefix and the module-scoped fleet is deleted afterwards.
"""
import concurrent.futures
import csv
import io
import ipaddress
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import urllib.request
import uuid

import pytest

from helpers.ansible_run import REPO, run_playbook
from helpers.prometheus_server import PrometheusServer
from helpers.server_process import ServerProcess
from lab.factory import LoadBalancerFactory

VENV_BIN = pathlib.Path(sys.executable).parent
OPENSTACK = str(VENV_BIN / "openstack")
PLAYBOOK = REPO / "playbooks" / "stats.yml"
VIP_RANGE = ipaddress.ip_network("127.3.128.0/17")
FIELDS = ("active_connections", "bytes_in", "bytes_out", "request_errors", "total_connections")
LB_KEYS = {"id", "name", "project_id", "vip_address", "provider", "provisioning_status",
           "operating_status", "stats"}
LISTENER_KEYS = {"id", "name", "protocol", "protocol_port", "stats"}
PREFIX_METRIC = "openstack_octavia_api"


def figures(active, bytes_in, bytes_out, errors, total):
    return {"active_connections": active, "bytes_in": bytes_in, "bytes_out": bytes_out,
            "request_errors": errors, "total_connections": total}


def summed(items):
    return {f: sum(item[f] for item in items) for f in FIELDS}


class Fleet:
    """The load balancers, listeners and seeded figures every test here reads."""

    def __init__(self, lab, factory):
        self.lab = lab
        self.factory = factory
        self.conn = factory.conn
        self.prefix = factory.prefix
        self.tag = self.prefix
        self.project_a = f"{self.prefix}-proj-a"
        self.project_b = f"{self.prefix}-proj-b"
        self.lbs = {}          # key -> LB resource
        self.listeners = {}    # key -> (lb key, listener resource)
        self.seeded = {}       # listener key -> figures

    def vips(self, count):
        in_use = {lb.vip_address for lb in self.conn.load_balancer.load_balancers()}
        chosen = set()
        while len(chosen) < count:
            address = str(VIP_RANGE.network_address + random.randint(1, VIP_RANGE.num_addresses - 2))
            if address not in in_use and not address.endswith((".0", ".255")):
                chosen.add(address)
        return sorted(chosen)

    def build(self):
        plan = {
            # key: (name suffix, project, extra tags, listeners [(key, name, protocol, port)])
            "web": ("a-web", self.project_a, ["web"], [
                ("web-front", "front", "HTTP", 8080),
                ("web-api", "api", "TCP", 8443),
            ]),
            "dns": ("b-dns", self.project_b, [], [
                ("dns-front", "front", "UDP", 5353),
                ("dns-diameter", "diameter", "SCTP", 3868),
            ]),
            "idle": ("c-idle", self.project_a, [], []),
        }
        for (key, (suffix, project, tags, dummy)), vip in zip(plan.items(), self.vips(len(plan))):
            self.lbs[key] = self.factory.create(name=f"{self.prefix}-{suffix}", vip_address=vip,
                                                project_id=project, tags=[self.tag] + tags,
                                                wait=False)
        self.factory.wait_active([lb.id for lb in self.lbs.values()])
        # A load balancer takes one child write at a time: add listeners round by round.
        for index in range(max(len(spec[3]) for spec in plan.values())):
            batch = []
            for key, spec in plan.items():
                listeners = spec[3]
                if index < len(listeners):
                    lkey, name, protocol, port = listeners[index]
                    listener = self.conn.load_balancer.create_listener(
                        loadbalancer_id=self.lbs[key].id, name=f"{self.prefix}-{name}",
                        protocol=protocol, protocol_port=port)
                    self.listeners[lkey] = (key, listener)
                    batch.append(self.lbs[key].id)
            self.factory.wait_active(batch)
        # Above 2**32 on purpose: a 32-bit truncation anywhere would show.
        self.seed({
            "web-front": figures(3, 2236722, 100973832, 2, 3606),
            "web-api": figures(0, 5_000_000_123, 123_456_789_012, 0, 42),
            "dns-front": figures(1, 89, 237, 0, 1),
            "dns-diameter": figures(0, 7, 11, 1, 5),
        })
        return self

    def seed(self, values):
        for lkey, figs in values.items():
            self.lab.seed_listener_stats(self.listeners[lkey][1].id, **figs)
            self.seeded[lkey] = dict(figs)

    def listener_keys(self, lb_key):
        return [k for k, pair in self.listeners.items() if pair[0] == lb_key]

    def expected_lb(self, lb_key):
        return summed([self.seeded[k] for k in self.listener_keys(lb_key)])

    def expected_totals(self, lb_keys=None):
        return summed([self.expected_lb(k) for k in (self.lbs if lb_keys is None else lb_keys)])

    def lb_key_of(self, lb_id):
        return next(k for k, lb in self.lbs.items() if lb.id == lb_id)

    def listener_key_of(self, listener_id):
        return next(k for k, pair in self.listeners.items() if pair[1].id == listener_id)

    def listener_name(self, lkey):
        return self.listeners[lkey][1].name

    def sorted_lb_keys(self, keys=None):
        keys = list(self.lbs if keys is None else keys)
        return sorted(keys, key=lambda k: (self.lbs[k].name, self.lbs[k].id))


@pytest.fixture(scope="module")
def fleet(lab):
    conn = lab.connect()
    factory = LoadBalancerFactory(conn, name_prefix=f"stx-{uuid.uuid4().hex[:8]}")
    try:
        yield Fleet(lab, factory).build()
    finally:
        try:
            factory.cleanup()
        finally:
            conn.close()


def module_cases(f):
    """Every lb_stats_info call the module tests assert on: name -> (arguments, check mode)."""
    front = f.listener_name("web-front")
    return {
        "all": ({"filters": {"tags": [f.tag]}, "include_listeners": True}, False),
        "all-check": ({"filters": {"tags": [f.tag]}, "include_listeners": True}, True),
        "all-no-listeners": ({"filters": {"tags": [f.tag]}}, False),
        "project-a": ({"filters": {"project_ids": [f.project_a]}}, False),
        "project-b": ({"filters": {"project_ids": [f.project_b]}}, False),
        "tags": ({"filters": {"tags": [f.tag, "web"]}}, False),
        "name": ({"name": f.lbs["dns"].name}, False),
        "name-and-other-project": ({"name": f.lbs["dns"].name, "filters": {"project_ids": [f.project_a]}}, False),
        "lb-by-name": ({"load_balancer": f.lbs["web"].name}, False),
        "lb-by-id": ({"load_balancer": f.lbs["idle"].id}, False),
        "lb-missing": ({"load_balancer": f"{f.prefix}-no-such-lb"}, False),
        "idle": ({"load_balancer": f.lbs["idle"].name, "include_listeners": True}, False),
        "listener-id": ({"listener": f.listeners["dns-diameter"][1].id}, False),
        "listener-unique-name": ({"listener": f.listener_name("dns-diameter")}, False),
        "listener-in-lb": ({"load_balancer": f.lbs["dns"].name, "listener": front}, False),
        "listener-of-another-lb": ({"load_balancer": f.lbs["dns"].name,
                                    "listener": f.listener_name("web-api")}, False),
        "listener-ambiguous": ({"listener": front}, False),
    }


@pytest.fixture(scope="module")
def runs(lab, fleet, tmp_path_factory):
    """Every module case in one playbook: one ansible start-up instead of one per case."""
    cases = module_cases(fleet)
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [
        {"name": name, "octavia.monitoring.lb_stats_info": {"cloud": lab.cloud, **args},
         "check_mode": check, "ignore_errors": True}
        for name, (args, check) in cases.items()]}]
    path = tmp_path_factory.mktemp("stats-cases") / "cases.yml"
    path.write_text(json.dumps(play))
    run = run_playbook(path, env=lab.env)
    assert run.rc == 0, run
    return {name: run.result(name) for name in cases}


def ok(result):
    assert not result.get("failed"), result.get("msg", result)
    assert result["changed"] is False
    return result


# The module -------------------------------------------------------------------------------
def test_figures_per_listener_per_load_balancer_and_in_totals(runs, fleet):
    result = ok(runs["all"])
    items = result["load_balancers"]
    assert [fleet.lb_key_of(i["id"]) for i in items] == fleet.sorted_lb_keys()
    for item in items:
        key = fleet.lb_key_of(item["id"])
        lb = fleet.lbs[key]
        assert set(item) == LB_KEYS | {"listeners"}
        assert (item["name"], item["project_id"], item["vip_address"]) == (
            lb.name, lb.project_id, lb.vip_address)
        assert item["provider"] == "amphora" and item["provisioning_status"] == "ACTIVE"
        assert item["stats"] == fleet.expected_lb(key), f"{lb.name} is the sum of its listeners"
        # bool is an int too; the API figures must be plain integers.
        assert all(isinstance(v, int) and not isinstance(v, bool) for v in item["stats"].values())
        got = {}
        for listener in item["listeners"]:
            assert set(listener) == LISTENER_KEYS
            lkey = fleet.listener_key_of(listener["id"])
            source = fleet.listeners[lkey][1]
            assert (listener["name"], listener["protocol"], listener["protocol_port"]) == (
                source.name, source.protocol, source.protocol_port)
            got[lkey] = listener["stats"]
        assert got == {k: fleet.seeded[k] for k in fleet.listener_keys(key)}
        ports = [x["protocol_port"] for x in item["listeners"]]
        assert ports == sorted(ports)
    assert result["totals"] == fleet.expected_totals()
    assert result["totals"]["bytes_out"] == 100973832 + 123_456_789_012 + 237 + 11


def test_without_include_listeners_there_is_no_listener_key(runs, fleet):
    result = ok(runs["all-no-listeners"])
    assert all(set(item) == LB_KEYS for item in result["load_balancers"])
    assert result["totals"] == fleet.expected_totals()


def test_check_mode_returns_the_same(runs):
    real, checked = ok(runs["all"]), ok(runs["all-check"])
    assert checked["load_balancers"] == real["load_balancers"]
    assert checked["totals"] == real["totals"]


def openstack_json(lab, *args):
    proc = subprocess.run([OPENSTACK, "--os-cloud", lab.cloud, *args, "-f", "json"],
                          capture_output=True, text=True, env={**os.environ, **lab.env},
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_openstack_cli_reads_the_same_figures(lab, runs):
    result = ok(runs["all"])
    calls = [("loadbalancer", "stats", "show", item["id"]) for item in result["load_balancers"]]
    calls += [("loadbalancer", "listener", "stats", "show", listener["id"])
              for item in result["load_balancers"] for listener in item["listeners"]]
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        cli = dict(zip([c[-1] for c in calls], pool.map(lambda c: openstack_json(lab, *c), calls)))
    for item in result["load_balancers"]:
        assert cli[item["id"]] == item["stats"], item["name"]
        for listener in item["listeners"]:
            assert cli[listener["id"]] == listener["stats"], listener["name"]
    assert len(cli) == 3 + 4


# Filters and scope ------------------------------------------------------------------------
@pytest.mark.parametrize("case, expected", [
    ("project-a", ["web", "idle"]),
    ("project-b", ["dns"]),
    ("tags", ["web"]),
    ("name", ["dns"]),
    ("name-and-other-project", []),
    ("lb-by-name", ["web"]),
    ("lb-by-id", ["idle"]),
    ("lb-missing", []),
])
def test_filters(runs, fleet, case, expected):
    result = ok(runs[case])
    assert [fleet.lb_key_of(i["id"]) for i in result["load_balancers"]] == fleet.sorted_lb_keys(expected)
    assert result["totals"] == fleet.expected_totals(expected)
    for item in result["load_balancers"]:
        assert item["stats"] == fleet.expected_lb(fleet.lb_key_of(item["id"]))


def test_idle_load_balancer_reports_zeros(runs):
    [item] = ok(runs["idle"])["load_balancers"]
    assert item["stats"] == dict.fromkeys(FIELDS, 0)
    assert item["listeners"] == []


@pytest.mark.parametrize("case", ["listener-id", "listener-unique-name"])
def test_listener_alone(runs, fleet, case):
    listener = fleet.listeners["dns-diameter"][1]
    [item] = ok(runs[case])["load_balancers"]
    assert item["id"] == fleet.lbs["dns"].id
    assert [x["id"] for x in item["listeners"]] == [listener.id]
    assert item["listeners"][0]["stats"] == fleet.seeded["dns-diameter"]
    # The load balancer's own figures are still the whole load balancer's, not the listener's.
    assert item["stats"] == fleet.expected_lb("dns")


def test_listener_name_is_looked_up_inside_the_load_balancer(runs, fleet):
    assert fleet.listener_name("web-front") == fleet.listener_name("dns-front")
    [item] = ok(runs["listener-in-lb"])["load_balancers"]
    assert [x["id"] for x in item["listeners"]] == [fleet.listeners["dns-front"][1].id]
    assert item["listeners"][0]["stats"] == fleet.seeded["dns-front"]
    # A listener of another load balancer is not found through this one.
    assert ok(runs["listener-of-another-lb"])["load_balancers"] == []


def test_ambiguous_listener_name_fails_and_lists_the_candidates(runs, fleet):
    result = runs["listener-ambiguous"]
    assert result.get("failed"), result
    for lkey in ("web-front", "dns-front"):
        assert fleet.listeners[lkey][1].id in result["msg"]
    assert not result.get("load_balancers")


# The playbook -----------------------------------------------------------------------------
def playbook(lab, fleet, check=False, **extra):
    return run_playbook(PLAYBOOK, extra_vars={"octavia_stats_cloud": lab.cloud,
                                              "octavia_stats_filters": {"tags": [fleet.tag]}, **extra},
                        check=check, env=lab.env)


def table_rows(run):
    lines = run.result("Show the statistics")["msg"]
    assert len({len(line) for line in lines}) == 1, "every table line has the same width"
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("|")]


def test_playbook_table(lab, fleet):
    run = playbook(lab, fleet, octavia_stats_include_listeners=True)
    assert run.rc == 0, run
    assert run.changed == 0
    rows = table_rows(run)
    assert rows[0][:2] == ["Name", "ID"]
    by_id = {row[1]: row for row in rows[1:]}
    for key, lb in fleet.lbs.items():
        exp = fleet.expected_lb(key)
        row = by_id[lb.id]
        assert row[0] == lb.name
        assert row[3:] == [str(exp["active_connections"]), str(exp["total_connections"]),
                           f"{exp['bytes_in']} ({human(exp['bytes_in'])})",
                           f"{exp['bytes_out']} ({human(exp['bytes_out'])})",
                           str(exp["request_errors"])]
    for lkey, (dummy, listener) in fleet.listeners.items():
        row = by_id[listener.id]
        assert row[0] == f"- {listener.name}"
        assert row[2] == f"{listener.protocol}:{listener.protocol_port}"
        assert row[6] == f"{fleet.seeded[lkey]['bytes_out']} ({human(fleet.seeded[lkey]['bytes_out'])})"
    total = rows[-1]
    assert total[:2] == ["Total", "3 load balancers"]
    assert total[5].startswith(f"{fleet.expected_totals()['bytes_in']} (")
    # Listener rows follow their load balancer, load balancers in the module's order.
    order = [row[1] for row in rows[1:-1]]
    assert order.index(fleet.lbs["web"].id) < order.index(fleet.listeners["web-api"][1].id) \
        < order.index(fleet.lbs["dns"].id)


def human(value):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def test_playbook_reports_and_idempotence(lab, fleet, tmp_path):
    json_path, csv_path = tmp_path / "stats.json", tmp_path / "stats.csv"
    checked = playbook(lab, fleet, check=True, octavia_stats_report_path=str(json_path))
    assert checked.rc == 0, checked
    assert checked.result("Write the report")["changed"] is True
    assert not json_path.exists(), "check mode wrote the report"

    first = playbook(lab, fleet, octavia_stats_report_path=str(json_path),
                     octavia_stats_include_listeners=True)
    assert first.rc == 0, first
    assert first.result("Write the report")["changed"] is True
    report = json.loads(json_path.read_text())
    module = first.result("Read the statistics from the Octavia API")
    assert report == {"load_balancers": module["load_balancers"], "totals": module["totals"]}
    assert report["totals"] == fleet.expected_totals()
    assert json_path.read_text().endswith("}\n")

    again = playbook(lab, fleet, octavia_stats_report_path=str(json_path),
                     octavia_stats_include_listeners=True)
    assert again.rc == 0 and again.changed == 0, again
    assert playbook(lab, fleet, check=True, octavia_stats_report_path=str(json_path),
                    octavia_stats_include_listeners=True).changed == 0

    as_csv = playbook(lab, fleet, octavia_stats_report_path=str(csv_path),
                      octavia_stats_report_format="csv", octavia_stats_include_listeners=True)
    assert as_csv.rc == 0, as_csv
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    lb_rows = {r["loadbalancer_id"]: r for r in rows if r["kind"] == "loadbalancer"}
    listener_rows = {r["listener_id"]: r for r in rows if r["kind"] == "listener"}
    assert len(lb_rows) == 3 and len(listener_rows) == 4
    for key, lb in fleet.lbs.items():
        assert {f: int(lb_rows[lb.id][f]) for f in FIELDS} == fleet.expected_lb(key)
    for lkey, (dummy, listener) in fleet.listeners.items():
        row = listener_rows[listener.id]
        assert {f: int(row[f]) for f in FIELDS} == fleet.seeded[lkey]
        assert (row["protocol"], row["protocol_port"]) == (listener.protocol, str(listener.protocol_port))


@pytest.mark.parametrize("extra, message, creates", [
    ({"octavia_stats_report_format": "xml"}, "octavia_stats_report_format must be json or csv", None),
    ({"octavia_stats_exposition_path": "{tmp}/stats.txt"}, "must end in .prom", "stats.txt"),
    ({"octavia_stats_exposition_path": "{tmp}/missing/stats.prom"}, "is not a directory", "missing"),
], ids=["format", "suffix", "directory"])
def test_playbook_rejects_bad_variables(lab, fleet, tmp_path, extra, message, creates):
    extra = {k: v.format(tmp=tmp_path) for k, v in extra.items()}
    run = playbook(lab, fleet, **extra)
    assert run.rc != 0
    assert message in run.stdout, run
    if creates:
        assert not (tmp_path / creates).exists()


# The exposition: promtool and a real scrape -----------------------------------------------
class NodeExporter(ServerProcess):
    """Debian's prometheus-node-exporter with only the textfile collector, on 127.0.0.1."""

    name = "node_exporter"
    ready_path = "/metrics"

    def __init__(self, directory, workdir):
        super().__init__(workdir=workdir)
        self.directory = directory

    def command(self):
        return [shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter",
                "--collector.disable-defaults", "--collector.textfile",
                f"--collector.textfile.directory={self.directory}", f"--web.listen-address={self.address}"]

    def get(self):
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as resp:
            return resp.read().decode()


def test_exposition_is_valid_and_a_real_scrape_shows_the_seeded_figures(lab, fleet, tmp_path, request):
    original = dict(fleet.seeded["dns-front"])
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    prom_file = textfiles / "octavia_api_stats.prom"
    run = playbook(lab, fleet, octavia_stats_include_listeners=True,
                   octavia_stats_exposition_path=str(prom_file))
    assert run.rc == 0, run
    assert run.result("Write the Prometheus textfile")["changed"] is True
    # Only the file itself: the staging directory went away with the task.
    assert sorted(p.name for p in textfiles.iterdir()) == [prom_file.name]

    promtool = subprocess.run(["promtool", "check", "metrics"], input=prom_file.read_text(),
                              capture_output=True, text=True, check=False)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    assert promtool.stdout.strip() == "" and promtool.stderr.strip() == ""

    exporter = NodeExporter(textfiles, tmp_path).start()
    try:
        assert "node_textfile_scrape_error 0" in exporter.get()
        config = ("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                  "scrape_configs:\n  - job_name: octavia-api-stats\n    static_configs:\n"
                  f"      - targets: ['127.0.0.1:{exporter.port}']\n")
        with PrometheusServer(config_text=config) as prom:
            prom.wait_for(lambda: prom.query(f'{PREFIX_METRIC}_listener_bytes_in_total{{loadbalancer_id='
                                             f'"{fleet.lbs["web"].id}"}}'),
                          timeout=60, message="the textfile series in Prometheus")
            for key, lb in fleet.lbs.items():
                exp = fleet.expected_lb(key)
                for field, suffix in (("active_connections", "active_connections"),
                                      ("total_connections", "connections_total"),
                                      ("bytes_in", "bytes_in_total"), ("bytes_out", "bytes_out_total"),
                                      ("request_errors", "request_errors_total")):
                    [sample] = prom.query(f'{PREFIX_METRIC}_loadbalancer_{suffix}'
                                          f'{{loadbalancer_id="{lb.id}"}}')
                    assert float(sample["value"][1]) == exp[field], (lb.name, field)
                    assert sample["metric"]["loadbalancer_name"] == lb.name
                    assert sample["metric"]["project_id"] == lb.project_id
            for lkey, (lb_key, listener) in fleet.listeners.items():
                [sample] = prom.query(f'{PREFIX_METRIC}_listener_bytes_out_total'
                                      f'{{listener_id="{listener.id}"}}')
                assert float(sample["value"][1]) == fleet.seeded[lkey]["bytes_out"]
                labels = sample["metric"]
                assert (labels["protocol"], labels["protocol_port"], labels["loadbalancer_id"]) == (
                    listener.protocol, str(listener.protocol_port), fleet.lbs[lb_key].id)
                assert labels["listener_name"] == listener.name
            # What Prometheus stored adds up like the API does.
            total = prom.query_value(f'sum({PREFIX_METRIC}_listener_bytes_in_total'
                                     f'{{loadbalancer_name=~"{fleet.prefix}-.*"}})')
            assert total == fleet.expected_totals()["bytes_in"]
            assert not prom.query('{__name__=~"octavia_.*", job="octavia-api-stats"}')

            # New figures: the playbook rewrites the file, and the next scrape shows them.
            fleet.seed({"dns-front": figures(4, 1089, 2237, 3, 11)})
            request.addfinalizer(lambda: fleet.seed({"dns-front": original}))
            changed = playbook(lab, fleet, octavia_stats_include_listeners=True,
                               octavia_stats_exposition_path=str(prom_file))
            assert changed.rc == 0 and changed.result("Write the Prometheus textfile")["changed"], changed
            listener_id = fleet.listeners["dns-front"][1].id
            prom.wait_for(lambda: prom.query_value(f'{PREFIX_METRIC}_listener_request_errors_total'
                                                   f'{{listener_id="{listener_id}"}}') == 3,
                          timeout=30, message="the new figure in Prometheus")
            assert prom.query_value(f'{PREFIX_METRIC}_loadbalancer_bytes_out_total'
                                    f'{{loadbalancer_id="{fleet.lbs["dns"].id}"}}') == 2237 + 11
    finally:
        exporter.stop()

    unchanged = playbook(lab, fleet, octavia_stats_include_listeners=True,
                         octavia_stats_exposition_path=str(prom_file))
    assert unchanged.rc == 0 and unchanged.changed == 0, unchanged
    before = prom_file.read_text()
    checked = playbook(lab, fleet, check=True, octavia_stats_include_listeners=True,
                       octavia_stats_exposition_path=str(prom_file), octavia_stats_metric_prefix="other_ns")
    assert checked.rc == 0 and checked.result("Write the Prometheus textfile")["changed"] is True
    assert prom_file.read_text() == before, "check mode rewrote the textfile"
    assert sorted(p.name for p in textfiles.iterdir()) == [prom_file.name]
