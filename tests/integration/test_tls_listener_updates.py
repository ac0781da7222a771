"""TLS updates and TLS removal on a PROMETHEUS listener in the lab (issue 14, test 2).

One listener goes through every TLS change the modules make in place, each run four ways
(check, apply, check, apply) with check mode predicting the real run:

1. created with a certificate, a client CA and client_authentication MANDATORY: the
   client authentication settings reach Octavia (openstacksdk's own Listener would drop
   them) and come back on every read, so the single module, the fleet module and the info
   module all see MANDATORY and a second run changes nothing;
2. tls_versions changed: an update of the same listener ID, and the amphora then refuses a
   TLS 1.3 client while a TLS 1.2 client still gets /metrics;
3. the certificate removed while the client CA stays: refused before any write;
4. TLS removed (certificate and client CA cleared, client_authentication NONE): Octavia takes
   this as an update, so it is made in place on the same listener, the result says
   tls_change "removed" and the diff names it, and the amphora serves /metrics over plain
   HTTP on the same port.

Certificates come from tests/lab/pki.py, issued for the load balancer's VIP; containers are
stored in the lab's local_cert_manager through LabClient. curl is Debian's.
"""
import os
import subprocess
import time
import uuid

import openstack
import pytest

from helpers.ansible_run import run_module
from lab import pki

LISTENER = "octavia.monitoring.lb_prometheus_listener"
FLEET = "octavia.monitoring.lb_prometheus_listener_fleet"
INFO = "octavia.monitoring.lb_prometheus_listener_info"
PORT = 9643
SERVE_TIMEOUT = 30.0
# P-256 certificates: the TLS 1.2 ciphers must be ECDSA ones.
TLS12_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"


def curl(url, *args):
    """One request with Debian's curl, no proxy, a short timeout: (exit code, body)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run(["/usr/bin/curl", "-sS", "--noproxy", "*", "--max-time", "10", *args, url],
                          capture_output=True, text=True, env=env, timeout=30, check=False)
    return done.returncode, done.stdout


def until(what, check, timeout=SERVE_TIMEOUT):
    """Poll ``check()`` until it is true (the lab amphora renders a change within a poll or two)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.5)


def metrics(code_body):
    code, body = code_body
    return code == 0 and "\noctavia_" in "\n" + body


class Setup:
    """A load balancer of a project of its own, a PKI for its VIP, the stored containers."""

    def __init__(self, lab, lb_factory, directory):
        self.lab = lab
        vip = lb_factory.allocate_vips(1)[0]
        self.lb = lb_factory.create(vip_address=vip, project_id=f"tlsu-{uuid.uuid4().hex[:8]}")
        ca = pki.make_ca("tls updates test CA")
        server = pki.issue(ca, "metrics", ips=[vip])
        client = pki.issue(ca, "prometheus", client=True)
        self.files = {}
        for name, text in (("ca.pem", ca.cert_pem), ("client.pem", client.cert_pem),
                           ("client.key", client.key_pem)):
            path = directory / name
            path.write_text(text)
            path.chmod(0o600)
            self.files[name] = str(path)
        self.refs = [lab.store_tls_container(server.cert_pem, server.key_pem)]
        self.cert = self.refs[0]
        self.ca = lab.store_ca_container(ca.cert_pem)[0]
        self.refs.append(self.ca)
        self.https = f"https://{vip}:{PORT}/metrics"
        self.http = f"http://{vip}:{PORT}/metrics"

    def client(self, *extra):
        return ["--cacert", self.files["ca.pem"], "--cert", self.files["client.pem"],
                "--key", self.files["client.key"], *extra]

    def run(self, args, check=False, module=LISTENER):
        full = dict(cloud=self.lab.cloud, allowed_cidrs=["127.0.0.0/8"], protocol_port=PORT)
        if module == FLEET:
            full["load_balancers"] = [self.lb.id]
        else:
            full["load_balancer"] = self.lb.id
        full.update(args)
        return run_module(module, full, check=check, diff=True, env=self.lab.env)

    def four_way(self, args, action):
        """check, apply, check, apply: the first two change with ``action`` and agree, the last two do not."""
        checked = self.run(args, check=True)
        applied = self.run(args)
        for result in (checked, applied):
            assert not result.get("failed"), result.get("msg")
        assert (checked["changed"], checked["action"]) == (True, action), checked
        for key in ("changed", "action", "outcome", "diff", "tls_change"):
            assert checked[key] == applied[key], key
        for again in (self.run(args, check=True), self.run(args)):
            assert (bool(again.get("failed")), again["changed"], again["action"]) == (False, False, None), again
        return applied


@pytest.fixture
def setup(lab, lb_factory, tmp_path):
    made = Setup(lab, lb_factory, tmp_path)
    try:
        yield made
    finally:
        # The listeners go with their load balancer, before the containers they name.
        lb_factory.cleanup()
        for ref in made.refs:
            lab.delete_container(ref)


def test_tls_versions_update_in_place_and_tls_removal_reported(setup):
    tls = dict(default_tls_container_ref=setup.cert, client_ca_tls_container_ref=setup.ca,
               client_authentication="MANDATORY")

    # 1. Created with client authentication; every read path shows it.
    created = setup.four_way(tls, "create")
    listener_id = created["listener"]["id"]
    assert created["tls_change"] is None
    assert {k: created["listener"][k] for k in tls} == tls
    until("the amphora serves /metrics to the client certificate", lambda: metrics(curl(setup.https, *setup.client())))
    assert not metrics(curl(setup.https, "--cacert", setup.files["ca.pem"]))
    conn = openstack.connect(cloud=setup.lab.cloud)
    try:
        # Why the collection has a listener resource of its own: the SDK's leaves it out.
        assert getattr(conn.load_balancer.get_listener(listener_id), "client_authentication", None) is None
    finally:
        conn.close()
    fleet = setup.run(dict(tls), module=FLEET)
    assert [(i["outcome"], i["listener"]["client_authentication"]) for i in fleet["results"]] == [
        ("unchanged", "MANDATORY")]
    info = run_module(INFO, dict(cloud=setup.lab.cloud, load_balancer=setup.lb.id), env=setup.lab.env)
    assert [(x["listener"]["id"], x["listener"]["client_ca_tls_container_ref"], x["scheme"], x["client_auth"])
            for x in info["prometheus_listeners"]] == [(listener_id, setup.ca, "https", "MANDATORY")]

    # 2. Other TLS versions: the same listener, updated in place, and the amphora follows.
    only12 = dict(tls, tls_versions=["TLSv1.2"], tls_ciphers=TLS12_CIPHERS)
    updated = setup.four_way(only12, "update")
    assert updated["listener"]["id"] == listener_id and updated["tls_change"] is None
    assert updated["diff"]["before"]["tls_versions"] is None
    assert updated["diff"]["after"]["tls_versions"] == ["TLSv1.2"]
    until("a TLS 1.3 client is refused", lambda: not metrics(curl(setup.https, *setup.client("--tlsv1.3"))))
    assert metrics(curl(setup.https, *setup.client("--tls-max", "1.2")))

    # 3. The certificate cannot go while the client CA stays: refused before any write.
    kept_ca = setup.run(dict(default_tls_container_ref=""))
    assert kept_ca["failed"] is True and kept_ca["changed"] is False
    assert kept_ca["msg"].startswith("client_ca_tls_container_ref needs a certificate"), kept_ca["msg"]
    assert metrics(curl(setup.https, *setup.client("--tls-max", "1.2")))

    # 4. TLS removed: in place, and the result says so.
    plain = dict(default_tls_container_ref="", client_ca_tls_container_ref="", client_authentication="NONE")
    removed = setup.four_way(plain, "update")
    assert removed["listener"]["id"] == listener_id and removed["tls_change"] == "removed"
    assert removed["diff"]["after_header"] == (f"listener {listener_id}, updated in place; TLS removed: "
                                               "/metrics is served over plain HTTP from now on")
    assert (removed["listener"]["default_tls_container_ref"], removed["listener"]["client_ca_tls_container_ref"],
            removed["listener"]["client_authentication"]) == (None, None, "NONE")
    until("the amphora serves /metrics over plain HTTP on the same port", lambda: metrics(curl(setup.http)))
    assert not metrics(curl(setup.https, *setup.client()))
