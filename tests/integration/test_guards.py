"""The guards a cautious operator expects, against the real lab (issue 14).

- The quota preflight reads each project's listener quota through Octavia's real quota API
  (PUT/GET /v2/lbaas/quotas/{project}) and skips, before any write, the load balancers whose
  new listener would not fit. (Octavia itself enforces no quota under the lab's noauth
  strategy; the preflight is the collection's own, which is exactly what is tested.)
- The allowed_cidrs guard: a load balancer created with vip_sg_ids (the lab's noop network
  driver takes them) gets a warning, or with allowed_cidrs_unenforced=fail fails before any
  write. The port-security half needs a network API the lab does not run; it is covered by the
  unit tests on plain dicts.
"""
import uuid

from helpers.ansible_run import run_lab_module

LISTENER = "octavia.monitoring.lb_prometheus_listener"
FLEET = "octavia.monitoring.lb_prometheus_listener_fleet"
CIDRS = ["127.0.0.0/8"]


def module(lab, args, name=FLEET, **kw):
    return run_lab_module(lab, name, args, **kw)


def prometheus_ports(conn, lb_id):
    return sorted(x.protocol_port for x in conn.load_balancer.listeners(load_balancer_id=lb_id)
                  if x.protocol == "PROMETHEUS")


def test_a_full_project_is_skipped_with_the_reason_before_any_write(lab, lb_factory, conn):
    full, roomy = "qf-" + uuid.uuid4().hex[:8], "qr-" + uuid.uuid4().hex[:8]
    in_full = lb_factory.create_many(3, project_id=full)
    in_roomy = lb_factory.create_many(2, project_id=roomy)
    # The full project: one listener already there (an HTTP one), and a quota of 2: one of the
    # three load balancers fits, the other two are skipped.
    conn.load_balancer.create_listener(load_balancer_id=in_full[0].id, protocol="HTTP", protocol_port=80)
    lb_factory.wait_active([in_full[0].id])
    conn.load_balancer.update_quota(full, listeners=2)
    try:
        ids = [lb.id for lb in in_full + in_roomy]
        args = dict(load_balancers=ids, allowed_cidrs=CIDRS, fail_on_error=False)
        checked, applied = module(lab, args, check=True), module(lab, args)
        for result in (checked, applied):
            outcome = {item["load_balancer"]["id"]: item["outcome"] for item in result["results"]}
            assert sorted(outcome[lb.id] for lb in in_full) == ["changed", "skipped", "skipped"]
            assert [outcome[lb.id] for lb in in_roomy] == ["changed", "changed"]
            skipped = [item for item in result["results"] if item["outcome"] == "skipped"]
            assert all(item["msg"] == (
                f"Project {full} is at its listener quota: the limit is 2 and 2 listeners exist or are "
                "being made by this run, so there is no room for this load balancer's PROMETHEUS "
                "listener; it was skipped before any write. Raise the project's listener quota, or "
                "free listeners.") for item in skipped)
            assert all(item["action"] is None for item in skipped)
        done = [lb for lb in in_full if prometheus_ports(conn, lb.id)]
        assert len(done) == 1 and all(prometheus_ports(conn, lb.id) == [8088] for lb in in_roomy)
        # Nothing was written for the skipped ones, and a second run still says why.
        again = module(lab, args)
        assert again["summary"]["skipped"] == 2 and again["summary"]["changed"] == 0
    finally:
        conn.load_balancer.update_quota(full, listeners=-1)


def test_vip_sg_ids_warns_or_fails_before_any_write(lab, lb_factory, conn):
    guarded = lb_factory.create(vip_sg_ids=[str(uuid.uuid4())])
    plain = lb_factory.create()
    # Octavia refuses allowed_cidrs next to vip_sg_ids; with the default (warn) the listener is made
    # without them, the warning names the load balancer, and the next run is unchanged.
    warned = module(lab, dict(load_balancer=guarded.id, allowed_cidrs=CIDRS), name=LISTENER)
    assert warned["changed"] is True and not warned["listener"]["allowed_cidrs"]
    assert any(f"Load balancer '{guarded.name}' uses vip_sg_ids" in w and "does not enforce allowed_cidrs" in w
               for w in warned.get("warnings", [])), warned.get("warnings")
    assert module(lab, dict(load_balancer=guarded.id, allowed_cidrs=CIDRS), name=LISTENER)["changed"] is False
    module(lab, dict(load_balancer=guarded.id, state="absent"), name=LISTENER)
    strict = dict(load_balancers=[guarded.id, plain.id], allowed_cidrs=CIDRS,
                  allowed_cidrs_unenforced="fail", fail_on_error=False)
    for check in (True, False):
        result = module(lab, strict, check=check)
        outcome = {item["load_balancer"]["id"]: item for item in result["results"]}
        assert outcome[guarded.id]["outcome"] == "failed"
        assert outcome[guarded.id]["msg"].endswith("Nothing was written (allowed_cidrs_unenforced=fail).")
        assert outcome[plain.id]["outcome"] == "changed"
    assert prometheus_ports(conn, guarded.id) == [] and prometheus_ports(conn, plain.id) == [8088]
