"""The local Octavia lab does what issue 2 promises: real API, real /metrics, real statistics.

Every VIP and client address here lies in the lab fixture's own range (OCTAVIA_LAB_VIP_NET,
default 127.1.0.0/16).
"""
import http.client
import ipaddress
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from lab import apiload, procs
from lab.factory import VIP_RANGE
from lab.settings import REPO

LABCTL = [sys.executable, str(REPO / "tests" / "lab" / "labctl.py")]
OPENSTACK = str(REPO / ".venv" / "bin" / "openstack")
METRIC = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
REACT = 10.0   # the lab promises: API changes reach the amphora within 10 seconds
# Client source networks for the allowed_cidrs test: the second and third /24 from the top of
# the VIP range (127.1.254.0/24 and 127.1.253.0/24 by default).
SOURCE_NETS = [ipaddress.ip_network(f"{VIP_RANGE.broadcast_address - 255 - 256 * k}/24")
               for k in (1, 2)]


# Helpers ----------------------------------------------------------------------------------
def http_get(host, port, path="/", source=None, timeout=3.0):
    """(status, body) of one GET, or (None, error text) if the connection failed or was cut."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def parse_metrics(text):
    """[(name, {label: value}, float)] for every sample line of a Prometheus text exposition."""
    samples = []
    for line in text.splitlines():
        match = METRIC.match(line)
        if match and not line.startswith("#"):
            labels = dict(LABEL.findall(match["labels"] or ""))
            samples.append((match["name"], labels, float(match["value"])))
    return samples


def eventually(check, what, timeout=REACT):
    """Poll check() until it returns something true; return that, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout:.0f}s (last: {last!r:.300})")


def metrics_of(vip, port=8088, source=None):
    status, body = http_get(vip, port, "/metrics", source=source)
    return parse_metrics(body) if status == 200 else None


def add_listener(conn, factory, lb, **attrs):
    listener = conn.load_balancer.create_listener(loadbalancer_id=lb.id, **attrs)
    factory.wait_active([lb.id])
    return conn.load_balancer.get_listener(listener.id)


def prometheus_listener(conn, factory, lb, cidrs=("127.0.0.0/8",), port=8088):
    return add_listener(conn, factory, lb, name=f"{factory.prefix}-prom", protocol="PROMETHEUS",
                        protocol_port=port, allowed_cidrs=list(cidrs))


def listener_ids(samples):
    return {labels["listener"] for name, labels, _v in samples
            if name.startswith("octavia_listener_") and "listener" in labels}


def run(argv, env=None, check=True):
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(argv[:4])}... exited {result.returncode}: {result.stderr[-800:]}")
    return result


# Issue 2, "Done when" steps 2-4 --------------------------------------------------------------
def test_load_balancer_with_requested_vip_is_active_within_seconds(conn, lb_factory):
    vip = lb_factory.allocate_vips(1)[0]
    started = time.monotonic()
    lb = lb_factory.create(vip_address=vip)
    elapsed = time.monotonic() - started
    assert lb.provisioning_status == "ACTIVE"
    assert lb.vip_address == vip
    assert lb.project_id == "lab-project"
    assert elapsed < 10, f"ACTIVE only after {elapsed:.1f}s"


def test_prometheus_listener_serves_octavia_metrics_then_goes_away(conn, lb_factory):
    lb = lb_factory.create()
    listener = prometheus_listener(conn, lb_factory, lb)
    assert listener.provisioning_status == "ACTIVE"
    assert listener.allowed_cidrs == ["127.0.0.0/8"]

    samples = eventually(lambda: metrics_of(lb.vip_address), "the listener's /metrics")
    names = {name for name, _l, _v in samples}
    assert listener_ids(samples) == {listener.id}
    assert {"octavia_listener_bytes_in_total", "octavia_listener_connections_total",
            "octavia_loadbalancer_cpu", "octavia_loadbalancer_memory"} <= names
    assert not [n for n in names if n.startswith("haproxy_")], "untranslated haproxy_* series"

    conn.load_balancer.delete_listener(listener.id)
    lb_factory.wait_active([lb.id])
    eventually(lambda: http_get(lb.vip_address, 8088, "/metrics")[0] is None,
               "the endpoint going away after the listener was deleted")


# Behaviour other tests rely on -------------------------------------------------------------
def test_allowed_cidrs_are_enforced_and_follow_updates(conn, lb_factory):
    inside_net, outside_net = SOURCE_NETS
    inside, outside = str(inside_net.network_address + 10), str(outside_net.network_address + 10)
    lb = lb_factory.create()
    listener = prometheus_listener(conn, lb_factory, lb, cidrs=[str(inside_net)])

    eventually(lambda: metrics_of(lb.vip_address, source=inside), "metrics for an allowed source")
    assert http_get(lb.vip_address, 8088, "/metrics", source=outside)[0] is None
    assert http_get(lb.vip_address, 8088, "/metrics")[0] is None, "127.0.0.1 is not allowed"

    conn.load_balancer.update_listener(listener.id, allowed_cidrs=[str(outside_net)])
    lb_factory.wait_active([lb.id])
    eventually(lambda: metrics_of(lb.vip_address, source=outside),
               "metrics for the newly allowed source")
    assert http_get(lb.vip_address, 8088, "/metrics", source=inside)[0] is None


def test_two_load_balancers_serve_their_own_metrics_at_once(conn, lb_factory):
    first, second = lb_factory.create_many(2)
    listeners = {lb.id: prometheus_listener(conn, lb_factory, lb) for lb in (first, second)}
    for lb in (first, second):
        samples = eventually(lambda lb=lb: metrics_of(lb.vip_address), f"metrics of {lb.id}")
        assert listener_ids(samples) == {listeners[lb.id].id}


def test_http_listener_sends_real_traffic_and_member_metrics(conn, lb_factory, http_backend):
    backend = http_backend()
    lb = lb_factory.create()
    web = add_listener(conn, lb_factory, lb, name=f"{lb_factory.prefix}-web", protocol="HTTP",
                       protocol_port=8080)
    pool = conn.load_balancer.create_pool(name=f"{lb_factory.prefix}-pool", listener_id=web.id,
                                          protocol="HTTP", lb_algorithm="ROUND_ROBIN")
    lb_factory.wait_active([lb.id])
    member = conn.load_balancer.create_member(pool.id, address=backend.address,
                                              protocol_port=backend.port)
    lb_factory.wait_active([lb.id])
    conn.load_balancer.create_health_monitor(pool_id=pool.id, type="HTTP", delay=1, timeout=1,
                                             max_retries=1, url_path="/", expected_codes="200")
    lb_factory.wait_active([lb.id])
    prometheus_listener(conn, lb_factory, lb)
    # Traffic only once the config with both listeners runs: a reload starts a new haproxy,
    # whose counters start from zero (as in an amphora).
    eventually(lambda: metrics_of(lb.vip_address), "the PROMETHEUS listener")

    def ok_through_vip():
        status, body = http_get(lb.vip_address, 8080, "/")
        return body if status == 200 else None

    body = eventually(ok_through_vip, "a 200 through the VIP")
    assert backend.name in body
    assert http_get(lb.vip_address, 8080, "/status/503")[0] == 503
    assert http_get(lb.vip_address, 8080, "/missing")[0] == 404
    assert backend.count(200) >= 1 and backend.count(503) == 1 and backend.count(404) == 1

    backend_name = f"{pool.id}:{web.id}"

    def member_metrics():
        samples = metrics_of(lb.vip_address) or []
        responses = {labels.get("code"): value for name, labels, value in samples
                     if name == "octavia_member_http_responses_total"
                     and labels.get("member") == member.id and labels.get("pool") == backend_name}
        return samples if responses.get("5xx", 0) >= 1 and responses.get("2xx", 0) >= 1 else None

    samples = eventually(member_metrics, "octavia_member_* series counting the responses")
    pools = {labels.get("pool") for name, labels, _v in samples if name.startswith("octavia_pool_")}
    assert backend_name in pools
    up = [value for name, labels, value in samples if name == "octavia_member_status"
          and labels.get("member") == member.id and labels.get("state") == "UP"]
    assert up == [1.0], "the health monitor should see the backend UP"
    assert web.id in listener_ids(samples)


def test_amphora_can_be_stopped_and_started(lab, conn, lb_factory):
    lb = lb_factory.create()
    prometheus_listener(conn, lb_factory, lb)
    eventually(lambda: metrics_of(lb.vip_address), "metrics before the stop")

    state = lab.amphora_stop(lb.id)
    assert state["state"] == "stopped" and state["haproxy_pid"] is None
    assert http_get(lb.vip_address, 8088, "/metrics")[0] is None

    state = lab.amphora_start(lb.id)
    assert state["state"] == "running" and state["haproxy_pid"]
    eventually(lambda: metrics_of(lb.vip_address), "metrics after the start")


def test_deleting_a_load_balancer_stops_its_haproxy(lab, conn, lb_factory):
    lb = lb_factory.create()
    prometheus_listener(conn, lb_factory, lb)
    eventually(lambda: metrics_of(lb.vip_address), "metrics")
    pid = eventually(lambda: (lab.amphora_state(lb.id) or {}).get("haproxy_pid"), "a haproxy pid")

    conn.load_balancer.delete_load_balancer(lb.id, cascade=True)
    eventually(lambda: lab.amphora_state(lb.id) is None, "the amphora leaving the agent's state")
    assert not procs.is_running(pid), f"haproxy {pid} still runs"
    assert http_get(lb.vip_address, 8088, "/metrics")[0] is None


def test_a_vip_outside_loopback_is_never_bound(lab, conn, lb_factory):
    lb = lb_factory.create(vip_address="192.0.2.10")
    prometheus_listener(conn, lb_factory, lb)
    state = eventually(lambda: lab.amphora_state(lb.id), "the agent noticing the load balancer")
    assert state["state"] == "skipped"
    assert "127.0.0.0/8" in state["error"]
    assert not state.get("haproxy_pid")


# Statistics --------------------------------------------------------------------------------
def test_seeded_statistics_come_back_through_sdk_and_cli(lab, conn, lb_factory):
    lb = lb_factory.create()
    first = add_listener(conn, lb_factory, lb, protocol="TCP", protocol_port=9001)
    second = add_listener(conn, lb_factory, lb, protocol="TCP", protocol_port=9002)
    a = {"bytes_in": 1000, "bytes_out": 2000, "active_connections": 3, "total_connections": 40,
         "request_errors": 5}
    b = {"bytes_in": 7, "bytes_out": 11, "active_connections": 1, "total_connections": 2,
         "request_errors": 0}
    lab.seed_listener_stats(first.id, **a)
    run(LABCTL + ["seed-stats", "--listener", second.id] + [f"{k}={v}" for k, v in b.items()])

    got = conn.load_balancer.get_listener_statistics(first.id)
    assert {k: getattr(got, k) for k in a} == a
    total = {k: a[k] + b[k] for k in a}
    got = conn.load_balancer.get_load_balancer_statistics(lb.id)
    assert {k: getattr(got, k) for k in a} == total

    env = {**os.environ, **lab.env}
    cli = run([OPENSTACK, "loadbalancer", "stats", "show", lb.id, "-f", "json"], env=env)
    assert {k: json.loads(cli.stdout)[k] for k in a} == total
    cli = run([OPENSTACK, "loadbalancer", "listener", "stats", "show", second.id, "-f", "json"],
              env=env)
    assert {k: json.loads(cli.stdout)[k] for k in b} == b


# API request counting ----------------------------------------------------------------------
def test_api_requests_are_counted_from_the_api_log(lab, conn):
    name = f"labcount-{uuid.uuid4().hex[:8]}"
    marker = lab.api_request_marker()
    assert list(conn.load_balancer.load_balancers(name=name)) == []
    mine = [r for r in lab.api_requests_since(marker) if name in r["path"]]
    assert [(r["method"], r["status"]) for r in mine] == [("GET", 200)]
    assert mine[0]["path"].startswith("/v2/lbaas/loadbalancers?")

    cli = run(LABCTL + ["api-requests", "--since-line", str(marker), "--json"])
    report = json.loads(cli.stdout)
    assert any(name in r["path"] for r in report["requests"])
    assert report["marker"] > marker


# labctl itself -----------------------------------------------------------------------------
def test_status_lists_every_component_healthy(lab):
    result = run(LABCTL + ["status", "--json"])
    rows = json.loads(result.stdout)["components"]
    assert [r["name"] for r in rows] == ["mariadb", "epmd", "rabbitmq", "octavia-api",
                                         "amphora-agent", "octavia-worker"]
    assert all(r["healthy"] and r["pid"] for r in rows), rows


def _free_ports(count):
    socks = [socket.socket() for _index in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


@pytest.fixture
def scratch_dir():
    """A lab directory short enough for UNIX socket paths (pytest's tmp_path is too deep)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="lab-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _scratch_env(scratch, **extra):
    api, mysql, amqp, epmd, dist = _free_ports(5)
    env = {**os.environ, "OCTAVIA_LAB_DIR": str(scratch / "lab"),
           "OCTAVIA_LAB_API_PORT": str(api), "OCTAVIA_LAB_MYSQL_PORT": str(mysql),
           "OCTAVIA_LAB_AMQP_PORT": str(amqp), "OCTAVIA_LAB_EPMD_PORT": str(epmd),
           "OCTAVIA_LAB_ERL_DIST_PORT": str(dist)}
    env.update(extra)
    return env


def test_a_port_in_use_is_reported_in_one_sentence(scratch_dir):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = _scratch_env(scratch_dir, OCTAVIA_LAB_MYSQL_PORT=str(port))
        result = run(LABCTL + ["up"], env=env, check=False)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert f"port {port}" in message and "OCTAVIA_LAB_MYSQL_PORT" in message
    assert f"pid {os.getpid()}" in message


def test_a_missing_binary_names_the_package_to_install(scratch_dir):
    env = _scratch_env(scratch_dir, OCTAVIA_LAB_HAPROXY_BIN=str(scratch_dir / "no-haproxy"))
    result = run(LABCTL + ["up"], env=env, check=False)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "haproxy was not found" in message
    assert "apt-get install -y --no-install-recommends haproxy" in message


def test_a_service_that_dies_is_named_with_its_last_log_lines(scratch_dir):
    failing = scratch_dir / "epmd-that-fails"
    failing.write_text("#!/bin/sh\nfor i in $(seq 1 30); do echo \"epmd line $i\"; done\nexit 3\n")
    failing.chmod(0o755)
    env = _scratch_env(scratch_dir, OCTAVIA_LAB_EPMD_BIN=str(failing),
                       OCTAVIA_LAB_MARIADBD_BIN=str(failing))
    (scratch_dir / "lab" / "mysql" / "mysql").mkdir(parents=True)   # skip mariadb-install-db
    try:
        result = run(LABCTL + ["up"], env=env, check=False)
    finally:
        run(LABCTL + ["down"], env=env, check=False)
    assert result.returncode == 2
    first, *rest = result.stderr.strip().splitlines()
    assert first.startswith("labctl up: epmd exited during start-up")
    assert "epmd line 30" in rest and "epmd line 11" in rest and "epmd line 10" not in rest


# The API as a cloud serves it (issue 10) ------------------------------------------------------
def _component_row(name):
    rows = json.loads(run(LABCTL + ["status", "--json"], check=False).stdout)["components"]
    return next(row for row in rows if row["name"] == name)


def test_api_runs_under_several_gunicorn_workers_with_a_real_listen_queue(lab):
    record = procs.Record.load(lab.s.run_dir / "octavia-api.json")
    members = record.members()
    assert len(members) >= 3, f"a gunicorn master and several workers, not {members}"
    assert all("gunicorn" in procs.cmdline(pid) for pid in members)
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{lab.s.ports['api'].value}"],
                               capture_output=True, text=True, check=True).stdout.split()
    assert listening[0] == "LISTEN" and int(listening[2]) >= 1024, listening


def test_64_parallel_openstacksdk_clients_get_no_error_and_every_get_is_counted(lab):
    marker = lab.api_request_marker()
    result = apiload.parallel_gets(lab, clients=64, total=1280)
    assert result["errors"] == [], sorted(set(result["errors"]))[:5]
    mine = [r for r in lab.api_requests_since(marker) if result["name"] in r["path"]]
    # Every client's warm-up GET plus the 1,280 timed ones, each logged once, all answered.
    assert len(mine) == 64 + 1280
    assert {(r["method"], r["status"]) for r in mine} == {("GET", 200)}


def test_the_worker_runs_flows_with_octavias_default_concurrency(lab):
    # The lab's octavia.conf must not narrow what a production worker runs at once.
    probe = ("import json, sys\n"
             "from oslo_config import cfg\n"
             "from octavia.common import config\n"
             "config.init(['--config-file', sys.argv[1]])\n"
             "print(json.dumps({f'{g}.{o}': [getattr(getattr(cfg.CONF, g), o),\n"
             "                  cfg.CONF._get_opt_info(o, g)['opt'].default]\n"
             "                  for g, o in (('controller_worker', 'workers'),\n"
             "                               ('task_flow', 'engine'),\n"
             "                               ('task_flow', 'max_workers'))}))\n")
    values = json.loads(run([sys.executable, "-c", probe, str(lab.conf)]).stdout)
    assert values == {"controller_worker.workers": [1, 1], "task_flow.engine": ["parallel", "parallel"],
                      "task_flow.max_workers": [5, 5]}


# Fault hooks for tests (issue 15) -------------------------------------------------------------
def test_a_killed_worker_shows_down_then_starts_and_works_again(lab, lb_factory):
    worker = _component_row("octavia-worker")
    pids = procs.Record.load(lab.s.run_dir / "octavia-worker.json").members()
    with lab.component_down("octavia-worker", how="kill"):
        assert not any(procs.is_running(pid) for pid in pids)
        row = _component_row("octavia-worker")
        assert not row["healthy"] and row["pid"] is None and row["detail"] == "not running"
        assert _component_row("octavia-api")["healthy"], "only the worker went down"
    row = _component_row("octavia-worker")
    assert row["healthy"] and row["pid"] != worker["pid"]
    assert lb_factory.create().provisioning_status == "ACTIVE"


def test_a_stopped_api_refuses_connections_then_answers_again(lab):
    port = lab.s.ports["api"].value
    assert http_get("127.0.0.1", port, "/")[0] == 200
    with lab.component_down("octavia-api"):
        status, error = http_get("127.0.0.1", port, "/")
        assert status is None and "ConnectionRefusedError" in error
        assert not _component_row("octavia-api")["healthy"]
    assert http_get("127.0.0.1", port, "/")[0] == 200


def test_a_paused_api_accepts_connections_but_does_not_answer(lab):
    port = lab.s.ports["api"].value
    with lab.component_down("octavia-api", how="pause"):
        status, error = http_get("127.0.0.1", port, "/", timeout=2.0)
        assert status is None and "timed out" in error
        assert _component_row("octavia-api")["detail"] == "paused (SIGSTOP)"
    assert http_get("127.0.0.1", port, "/")[0] == 200


def test_labctl_stops_and_starts_rabbitmq_and_the_worker_reconnects(lab):
    try:
        assert "rabbitmq stopped" in run(LABCTL + ["component", "stop", "rabbitmq"]).stdout
        assert run(LABCTL + ["status"], check=False).returncode == 1
        assert not _component_row("rabbitmq")["healthy"]
        assert not procs.port_accepts(lab.s.ports["amqp"].value)
        again = run(LABCTL + ["component", "stop", "rabbitmq"]).stdout
        assert "was not running" in again
    finally:
        started = run(LABCTL + ["component", "start", "rabbitmq"]).stdout
    assert "rabbitmq started and healthy" in started
    lab.wait_healthy(timeout=60)
    assert _component_row("octavia-worker")["healthy"]


def test_labctl_kills_the_whole_api_process_group_and_refuses_unknown_names(lab):
    members = procs.Record.load(lab.s.run_dir / "octavia-api.json").members()
    try:
        assert "octavia-api killed" in run(LABCTL + ["component", "kill", "octavia-api"]).stdout
        assert not any(procs.is_running(pid) for pid in members), "a gunicorn worker survived"
    finally:
        run(LABCTL + ["component", "start", "octavia-api"])
    assert http_get("127.0.0.1", lab.s.ports["api"].value, "/")[0] == 200
    refused = run(LABCTL + ["component", "stop", "amphora-agent"], check=False)
    assert refused.returncode == 2 and "invalid choice" in refused.stderr


def test_db_execute_puts_a_listener_into_error_as_a_failed_worker_would(lab, conn, lb_factory):
    lb = lb_factory.create()
    listener = prometheus_listener(conn, lb_factory, lb)
    # Behind the API's back, on purpose: this is the state a failed flow leaves.
    changed = lab.db_execute("UPDATE listener SET provisioning_status = 'ERROR' WHERE id = %s",
                             (listener.id,))
    assert changed == 1
    assert conn.load_balancer.get_listener(listener.id).provisioning_status == "ERROR"
    rows = lab.db_query("SELECT provisioning_status FROM listener WHERE id = %s", (listener.id,))
    assert rows == [{"provisioning_status": "ERROR"}]
    assert lab.db_execute("UPDATE load_balancer SET provisioning_status = 'ERROR' WHERE id = %s",
                          (lb.id,)) == 1
    assert conn.load_balancer.get_load_balancer(lb.id).provisioning_status == "ERROR"
