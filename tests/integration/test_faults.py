"""Faults and bad input against the real lab: nothing lost, nothing hidden (issue 15).

Each defect the held-out campaign found in the write path has its regression test here, with
the case that broke and proof that nothing was lost. Faults come from the lab's own processes
(a killed worker, a stopped or paused API) and are always restored; states the API cannot be
asked to produce (a listener in ERROR, a load balancer stuck in PENDING_UPDATE) are written into
the lab's database, as a failed worker leaves them, and each test that does so says so.
"""
import time
import urllib.request

import pytest

from helpers.ansible_run import run_lab_module
from helpers.private_api import PrivateApi

LISTENER = "octavia.monitoring.lb_prometheus_listener"
FLEET = "octavia.monitoring.lb_prometheus_listener_fleet"
CIDRS = ["127.0.0.0/8"]


def module(lab, args, name=LISTENER, **kw):
    return run_lab_module(lab, name, args, **kw)


def proms(conn, lb_id):
    """(id, name, port, provisioning status) of every PROMETHEUS listener of a load balancer."""
    return sorted((x.id, x.name, x.protocol_port, x.provisioning_status)
                  for x in conn.load_balancer.listeners(load_balancer_id=lb_id) if x.protocol == "PROMETHEUS")


def metrics_answer(address, port):
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/metrics", timeout=5) as response:
            return response.status, response.read().decode()
    except OSError as exc:
        return None, str(exc)


def wait_metrics(address, port, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = metrics_answer(address, port)
        if status == 200 and "octavia_" in body:
            return True
        time.sleep(0.5)
    return False


def four_ways(lab, args, name=LISTENER):
    """check, apply, check, apply; returns the four results."""
    return [module(lab, args, name=name, check=check) for check in (True, False, True, False)]


# --- defect 1: a port change never loses the listener ---------------------------------------

def test_port_change_with_a_too_long_description_is_refused_before_any_write(lab, lb_factory, conn):
    """The campaign's reproduction: protocol_port 9100 plus a 256-character description used to
    delete the listener, then fail the create, and report changed=false."""
    lb = lb_factory.create()
    created = module(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS))
    before = proms(conn, lb.id)
    args = dict(load_balancer=lb.id, allowed_cidrs=CIDRS, protocol_port=9100, description="d" * 256)
    checked, applied = module(lab, args, check=True), module(lab, args)
    for result in (checked, applied):
        assert result.get("failed") is True
        assert result["msg"] == "description is 256 characters long; Octavia takes at most 255."
    assert proms(conn, lb.id) == before and before[0][0] == created["listener"]["id"]


@pytest.mark.parametrize("field, value, message", [
    ("name", "n" * 256, "name is 256 characters long; Octavia takes at most 255."),
    ("name", "metrics-\U0001F4CA", "name contains U+1F4CA, which Octavia cannot store"),
    ("description", "\U0001F600 ok", "description contains U+1F600, which Octavia cannot store"),
])
def test_text_octavia_would_refuse_fails_in_check_mode_too(lab, lb_factory, conn, field, value, message):
    lb = lb_factory.create()
    module(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS))
    before = proms(conn, lb.id)
    args = dict(load_balancer=lb.id, allowed_cidrs=CIDRS, protocol_port=9100, **{field: value})
    for check in (True, False):
        result = module(lab, args, check=check)
        assert result.get("failed") is True and message in result["msg"], result["msg"]
        assert result.get("changed") is not True
    assert proms(conn, lb.id) == before


@pytest.fixture
def restricted_api(lab, tmp_path):
    """A second API on the lab's database whose operator disallows PROMETHEUS listeners: the one
    refusal of a create that no client can predict (the lab runs noauth, where Octavia skips
    quotas, so the quota cannot serve)."""
    api = PrivateApi(lab, tmp_path, "restricted", allow_prometheus_listeners="False")
    yield api
    api.stop()


def test_replace_creates_first_and_keeps_the_old_listener_when_octavia_refuses(
        lab, lb_factory, conn, restricted_api):
    """A port change whose create Octavia refuses: the old listener stays, keeps serving, and the
    result says so. It used to be deleted first, and lost."""
    lb = lb_factory.create()
    old = module(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS))["listener"]
    assert wait_metrics(lb.vip_address, 8088)
    result = restricted_api.run(dict(load_balancer=lb.id, allowed_cidrs=CIDRS, protocol_port=9100))
    assert result.get("failed") is True
    assert (result["changed"], result["outcome"], result["action"]) == (False, "failed", "replace")
    assert result["msg"].startswith("The operator of this cloud has disabled PROMETHEUS listeners")
    assert result["msg"].endswith(f"the existing listener 'prometheus' ({old['id']}) on port 8088 "
                                  "was kept and still serves /metrics."), result["msg"]
    assert result["listener"]["id"] == old["id"]
    assert proms(conn, lb.id) == [(old["id"], "prometheus", 8088, "ACTIVE")]
    assert metrics_answer(lb.vip_address, 8088)[0] == 200
    # Where creates are allowed, the next run converges: create first, then delete the old one.
    runs = four_ways(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS, protocol_port=9100))
    assert [r["changed"] for r in runs] == [True, True, False, False]
    assert runs[0]["action"] == runs[1]["action"] == "replace"
    assert [x[2] for x in proms(conn, lb.id)] == [9100]


def test_fleet_replace_refused_for_many_loses_no_listener(lab, lb_factory, conn, restricted_api):
    """Through the fleet path (what the role runs): the campaign lost 30 listeners in one run."""
    lbs = lb_factory.create_many(4)
    ids = [lb.id for lb in lbs]
    module(lab, dict(load_balancers=ids, allowed_cidrs=CIDRS), name=FLEET)
    before = {lb.id: proms(conn, lb.id) for lb in lbs}
    args = dict(load_balancers=ids, allowed_cidrs=CIDRS, protocol_port=9100, fail_on_error=False)
    checked = restricted_api.run(args, module=FLEET, check=True)
    result = restricted_api.run(args, module=FLEET)
    assert checked["summary"]["changed"] == 4
    assert result["summary"]["failed"] == 4 and result["summary"]["changed"] == 0, result["summary"]
    assert {item["outcome"] for item in result["results"]} == {"failed"}
    assert all("was kept and still serves /metrics" in item["msg"] for item in result["results"])
    assert {lb.id: proms(conn, lb.id) for lb in lbs} == before


# --- defect 2: broken objects are repaired or reported, never "unchanged" --------------------

def test_listener_in_error_is_repaired(lab, lb_factory, conn):
    """The listener's ERROR is written into the lab's database, as a failed worker flow leaves it."""
    lb = lb_factory.create()
    first = module(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS, description="kept"))["listener"]
    lab.db_execute("UPDATE listener SET provisioning_status = 'ERROR' WHERE id = %s", (first["id"],))
    runs = four_ways(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS))
    assert [r["changed"] for r in runs] == [True, True, False, False]
    assert [r["action"] for r in runs] == ["repair", "repair", None, None]
    assert runs[0]["diff"] == runs[1]["diff"]
    assert "provisioning status ERROR" in runs[1]["diff"]["before_header"]
    [(new_id, name, port, status)] = proms(conn, lb.id)
    assert new_id != first["id"] and (name, port, status) == ("prometheus", 8088, "ACTIVE")
    assert runs[1]["listener"]["id"] == new_id and runs[1]["listener"]["description"] == "kept"
    assert wait_metrics(lb.vip_address, 8088)


def test_stuck_listener_and_load_balancer_fail_and_recover(lab, lb_factory, conn):
    """A worker killed mid-flow leaves the listener PENDING_CREATE on a load balancer stuck in
    PENDING_UPDATE (both written into the lab's database); the module fails, in check mode too,
    and once the objects are ACTIVE again the next run is clean."""
    lb = lb_factory.create()
    listener = module(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS))["listener"]
    lab.db_execute("UPDATE listener SET provisioning_status = 'PENDING_CREATE' WHERE id = %s", (listener["id"],))
    lab.db_execute("UPDATE load_balancer SET provisioning_status = 'PENDING_UPDATE' WHERE id = %s", (lb.id,))
    try:
        for check in (True, False):
            result = module(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS, timeout=3), check=check)
            assert result.get("failed") is True and result["outcome"] == "failed"
            assert result["msg"].startswith(f"Timed out after 3s waiting for load balancer '{lb.name}'")
    finally:
        lab.db_execute("UPDATE load_balancer SET provisioning_status = 'ACTIVE' WHERE id = %s", (lb.id,))
        lab.db_execute("UPDATE listener SET provisioning_status = 'ACTIVE' WHERE id = %s", (listener["id"],))
    assert module(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS))["changed"] is False


def test_worker_killed_mid_rollout_is_unconfirmed_then_converges(lab, lb_factory, conn):
    """The real fault: the worker is SIGKILLed, the API accepts the creates and the load
    balancers stay PENDING_UPDATE. Those are reported unconfirmed (written, not confirmed), never
    unchanged; once the worker is back the next run converges with one listener each."""
    lbs = lb_factory.create_many(3)
    ids = [lb.id for lb in lbs]
    args = dict(load_balancers=ids, allowed_cidrs=CIDRS, fail_on_error=False, timeout=8)
    with lab.component_down("octavia-worker", how="kill"):
        result = module(lab, args, name=FLEET)
        assert result["summary"]["unconfirmed"] == 3, result["summary"]
        assert all(item["failed"] and item["changed"] for item in result["results"])
        again = module(lab, args, name=FLEET)
        assert again["summary"]["failed"] + again["summary"]["unconfirmed"] == 3
        assert again["summary"]["unchanged"] == 0
    lb_factory.wait_active(ids, timeout=120)
    settled = module(lab, dict(args, timeout=120), name=FLEET)
    assert settled["summary"]["failed"] == settled["summary"]["unconfirmed"] == 0, settled["results"]
    assert module(lab, dict(args, timeout=120), name=FLEET)["changed"] is False
    for lb in lbs:
        assert [(x[1], x[2], x[3]) for x in proms(conn, lb.id)] == [("prometheus", 8088, "ACTIVE")]


def test_load_balancer_in_error_fails_in_the_fleet_too(lab, lb_factory, conn):
    """The load balancer's ERROR is written into the lab's database."""
    good, broken = lb_factory.create_many(2)
    module(lab, dict(load_balancers=[good.id, broken.id], allowed_cidrs=CIDRS), name=FLEET)
    lab.db_execute("UPDATE load_balancer SET provisioning_status = 'ERROR' WHERE id = %s", (broken.id,))
    try:
        for check in (True, False):
            result = module(lab, dict(load_balancers=[good.id, broken.id], allowed_cidrs=CIDRS,
                                      fail_on_error=False), name=FLEET, check=check)
            outcomes = {item["load_balancer"]["id"]: item["outcome"] for item in result["results"]}
            assert outcomes == {good.id: "unchanged", broken.id: "failed"}
    finally:
        lab.db_execute("UPDATE load_balancer SET provisioning_status = 'ACTIVE' WHERE id = %s", (broken.id,))


# --- the API down, paused or slow: errors, never an empty fleet ------------------------------

def test_api_down_is_one_readable_sentence(lab, lb_factory):
    lb = lb_factory.create()
    with lab.component_down("octavia-api"):
        result = module(lab, dict(load_balancers=[lb.id], allowed_cidrs=CIDRS), name=FLEET)
    assert result.get("failed") is True
    assert "could not be reached" in result["msg"], result["msg"]


def test_an_api_that_never_answers_times_out_as_a_timeout(lab, lb_factory):
    """SIGSTOPped API: the port accepts connections and nothing answers (the AWX hang)."""
    lb = lb_factory.create()
    with lab.component_down("octavia-api", how="pause"):
        result = module(lab, dict(load_balancer=lb.id, allowed_cidrs=CIDRS, api_timeout=3))
    assert result.get("failed") is True
    assert "did not answer within 3 s" in result["msg"], result["msg"]
    assert "version discovery" not in result["msg"]


# --- defect 8: the smaller ones --------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (dict(load_balancers=[]), "load_balancers is empty; name at least one load balancer"),
    (dict(load_balancers=["x"], concurrency=100), "concurrency must be between 1 and 32, not 100"),
    (dict(load_balancers=["x"], concurrency=0), "concurrency must be between 1 and 32, not 0"),
])
def test_fleet_options_refused_before_anything(lab, args, message):
    result = module(lab, dict(args, allowed_cidrs=CIDRS), name=FLEET)
    assert result.get("failed") is True and message in result["msg"]


def test_host_bits_are_widened_with_a_warning(lab, lb_factory):
    lb = lb_factory.create()
    result = module(lab, dict(load_balancer=lb.id, allowed_cidrs=["127.0.0.1/8"]))
    assert result["listener"]["allowed_cidrs"] == ["127.0.0.0/8"]
    assert any("127.0.0.1/8 has host bits set, so it allows the whole network 127.0.0.0/8" in w
               for w in result.get("warnings", [])), result.get("warnings")
