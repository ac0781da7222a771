"""/metrics over TLS in the lab (issue 14): certificates, client certificates, the four-way cycle.

The lab stores containers in Octavia's own local_cert_manager (`labctl.py tls-container
create`, `ca-container create`), the API validates the references through it, and the lab
amphora places the files with the amphora driver's own code and renders Octavia's TLS
frontend. Debian's curl is the client: with the client certificate and the CA it gets
octavia_* series over HTTPS; without a client certificate, or with one the CA did not sign
or the CRL revokes, the TLS handshake fails and no byte of /metrics arrives.

Test certificates come from tests/lab/pki.py (cryptography, P-256), issued for the
load balancer's VIP so that curl and Prometheus verify the server by its address.
"""
import json
import os
import pathlib
import subprocess
import sys
import time
import uuid

import pytest

from helpers.ansible_run import run_module, run_playbook
from helpers.prometheus_role import local_role_vars, start_bare_prometheus
from lab import pki

LISTENER = "octavia.monitoring.lb_prometheus_listener"
PLAYBOOK = pathlib.Path(__file__).resolve().parent / "playbooks" / "prometheus_role.yml"
FAST = "2s"
LABCTL = pathlib.Path(__file__).resolve().parents[1] / "lab" / "labctl.py"
CURL = "/usr/bin/curl"
PORT = 9443
# An agent that just started may still be importing the amphora driver (a minute when busy).
SERVE_TIMEOUT = 90.0
# curl's exit codes: 35 the TLS handshake failed; 56 the peer ended the connection with
# an alert (TLS 1.3 sends "certificate required" after the client's Finished).
HANDSHAKE_REFUSED = (35, 56)


def labctl(lab, *args):
    env = dict(os.environ)
    env.update(lab.env)
    return subprocess.run([sys.executable, str(LABCTL), *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def curl(url, *args):
    """Debian's curl, no proxy, a short timeout; the CompletedProcess."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([CURL, "-sS", "--noproxy", "*", "--max-time", "10", *args, url],
                          capture_output=True, text=True, env=env, timeout=30, check=False)


def store_files(lab):
    return sorted(p.name for p in lab.s.tls_store.iterdir())


class Pki:
    """A CA, a server certificate for one VIP, client certificates good and bad, on disk."""

    def __init__(self, directory, vip):
        self.dir = directory
        self.ca = pki.make_ca("octavia-lab TLS test CA")
        self.server = pki.issue(self.ca, "metrics", ips=[vip])
        self.client = pki.issue(self.ca, "prometheus", client=True)
        self.revoked = pki.issue(self.ca, "revoked prometheus", client=True)
        other_ca = pki.make_ca("someone else's CA")
        self.stranger = pki.issue(other_ca, "stranger", client=True)
        self.crl = pki.make_crl(self.ca, revoked=[self.revoked])
        for name, pair in (("ca", self.ca), ("server", self.server), ("client", self.client),
                           ("revoked", self.revoked), ("stranger", self.stranger)):
            self.write(f"{name}.pem", pair.cert_pem)
            self.write(f"{name}.key", pair.key_pem)
        self.write("crl.pem", self.crl)

    def write(self, name, text):
        path = self.dir / name
        path.write_text(text)
        path.chmod(0o600)
        return path

    def path(self, name):
        return str(self.dir / name)

    def client_args(self, who="client"):
        return ["--cacert", self.path("ca.pem"), "--cert", self.path(f"{who}.pem"),
                "--key", self.path(f"{who}.key")]


@pytest.fixture
def tls(lab, lb_factory, tmp_path):
    """A load balancer, a PKI for its VIP and the containers stored through labctl.py.

    The containers are removed after the load balancer is gone (cascade), so that no
    listener in the lab names a reference that no longer exists.
    """
    vip = lb_factory.allocate_vips(1)[0]
    # A project of its own, so that a Prometheus source selecting it sees this one only.
    project = f"tls-{uuid.uuid4().hex[:8]}"
    lb = lb_factory.create(vip_address=vip, project_id=project)
    certs = Pki(tmp_path, vip)
    refs = []
    try:
        made = labctl(lab, "tls-container", "create", "--cert", certs.path("server.pem"),
                      "--key", certs.path("server.key"))
        assert made.returncode == 0, made.stderr
        cert_ref = made.stdout.strip()
        refs.append(cert_ref)
        made = labctl(lab, "ca-container", "create", "--ca", certs.path("ca.pem"),
                      "--crl", certs.path("crl.pem"), "--json")
        assert made.returncode == 0, made.stderr
        ca = json.loads(made.stdout)
        refs += [ca["client_ca_tls_container_ref"], ca["client_crl_container_ref"]]
        yield {"lb": lb, "vip": vip, "project": project, "pki": certs, "cert_ref": cert_ref,
               "ca_ref": ca["client_ca_tls_container_ref"],
               "crl_ref": ca["client_crl_container_ref"], "url": f"https://{vip}:{PORT}/metrics"}
    finally:
        lb_factory.cleanup()
        for ref in refs:
            lab.delete_container(ref)


def served(url, args, timeout=SERVE_TIMEOUT):
    """curl `url` until it answers with octavia_* series (the agent renders within a poll)."""
    deadline = time.monotonic() + timeout
    while True:
        result = curl(url, *args)
        if result.returncode == 0 and "\noctavia_" in "\n" + result.stdout:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} served no octavia_* series within {timeout}s: rc "
                                 f"{result.returncode}, {result.stderr.strip()[:300]}")
        time.sleep(0.5)


def assert_refused(url, args, codes=HANDSHAKE_REFUSED):
    result = curl(url, *args)
    assert result.returncode in codes, (result.returncode, result.stderr, result.stdout[:200])
    assert "octavia_" not in result.stdout
    return result


def assert_mandatory_client_auth(lab, tls):
    """The amphora serves /metrics to the client certificate only, and its files are private."""
    certs, url = tls["pki"], tls["url"]
    body = served(url, certs.client_args()).stdout
    assert "octavia_listener_" in body or "octavia_loadbalancer_" in body, body[:500]
    # No client certificate: the handshake fails (TLS 1.3: an alert after it; 1.2: in it).
    assert_refused(url, ["--cacert", certs.path("ca.pem")])
    tls12 = assert_refused(url, ["--cacert", certs.path("ca.pem"), "--tls-max", "1.2"], codes=(35, 56))
    assert "alert" in tls12.stderr or "handshake" in tls12.stderr, tls12.stderr
    # A certificate from another CA, and one the CRL revokes, fare no better.
    assert_refused(url, certs.client_args("stranger"))
    assert_refused(url, certs.client_args("revoked"))
    # Plain HTTP on the TLS port gets no metrics either.
    plain = curl(f"http://{tls['vip']}:{PORT}/metrics")
    assert "octavia_" not in plain.stdout
    cfg = (lab.s.amp_dir / tls["lb"].id / "haproxy.cfg").read_text()
    bind = next(line for line in cfg.splitlines() if line.strip().startswith(f"bind {tls['vip']}:{PORT}"))
    assert " ssl crt-list " in bind and " verify required" in bind and " crl-file " in bind, bind
    cert_dir = lab.s.amp_cert_dir / tls["lb"].id
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in cert_dir.iterdir()}
    assert modes and set(modes.values()) == {"0o600"}, modes


# --- the lab's certificate store ------------------------------------------------------------

def test_store_refuses_bad_input_before_writing(lab, tmp_path):
    certs = Pki(tmp_path, "127.0.0.1")
    before = store_files(lab)
    cases = [
        (["tls-container", "create", "--cert", certs.path("server.pem"), "--key", certs.path("client.key")],
         "the private key does not belong to the certificate"),
        (["tls-container", "create", "--cert", certs.path("server.key"), "--key", certs.path("server.key")],
         "the certificate holds no PEM certificate"),
        (["tls-container", "create", "--cert", str(tmp_path / "missing.pem"), "--key", certs.path("server.key")],
         "cannot read --cert"),
        (["ca-container", "create", "--ca", certs.path("ca.pem"), "--crl", certs.path("ca.pem")],
         "the CRL is not a PEM certificate revocation list"),
        (["ca-container", "create", "--ca", certs.path("client.key")],
         "the CA file holds no PEM certificate"),
    ]
    for args, message in cases:
        result = labctl(lab, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert result.stdout == ""
    assert store_files(lab) == before


def test_store_puts_files_where_octavia_reads_them(lab, tmp_path):
    certs = Pki(tmp_path, "127.0.0.1")
    certs.write("chain.pem", pki.make_ca("an intermediate", issuer=certs.ca).cert_pem)
    made = labctl(lab, "tls-container", "create", "--cert", certs.path("server.pem"),
                  "--key", certs.path("server.key"), "--intermediates", certs.path("chain.pem"))
    assert made.returncode == 0, made.stderr
    ref = made.stdout.strip()
    try:
        uuid.UUID(ref)
        # LocalCertManager's layout: <ref>.crt, .key, .int in storage_path, owner-only.
        files = {p.name: oct(p.stat().st_mode & 0o777) for p in lab.s.tls_store.glob(f"{ref}.*")}
        assert files == {f"{ref}.crt": "0o600", f"{ref}.key": "0o600", f"{ref}.int": "0o600"}
        assert (lab.s.tls_store / f"{ref}.key").read_text() == certs.server.key_pem
        assert f"storage_path = {lab.s.tls_store}" in lab.s.conf.read_text()
    finally:
        assert lab.delete_container(ref)
    assert not list(lab.s.tls_store.glob(f"{ref}.*"))


def test_api_validates_references_through_the_cert_manager(lab, tls):
    conn = lab.connect()
    try:
        missing = str(uuid.uuid4())
        body = {"listener": {"loadbalancer_id": tls["lb"].id, "protocol": "PROMETHEUS",
                             "protocol_port": PORT, "default_tls_container_ref": missing}}
        refused = conn.load_balancer.post("/lbaas/listeners", json=body)
        assert refused.status_code == 400, refused.text
        assert missing in refused.text
        body["listener"]["default_tls_container_ref"] = tls["cert_ref"]
        body["listener"]["client_ca_tls_container_ref"] = missing
        refused = conn.load_balancer.post("/lbaas/listeners", json=body)
        assert refused.status_code == 400 and missing in refused.text, refused.text
        assert list(conn.load_balancer.listeners(load_balancer_id=tls["lb"].id)) == []
    finally:
        conn.close()


# --- the lab amphora's TLS frontend, through the API itself -----------------------------------

def test_amphora_serves_tls_with_mandatory_client_certificate(lab, tls):
    """Through the API itself; then a tls_versions update reaches the running amphora."""
    conn = lab.connect()
    try:
        created = conn.load_balancer.post("/lbaas/listeners", json={"listener": {
            "loadbalancer_id": tls["lb"].id, "protocol": "PROMETHEUS", "protocol_port": PORT,
            "allowed_cidrs": ["127.0.0.0/8"], "default_tls_container_ref": tls["cert_ref"],
            "client_ca_tls_container_ref": tls["ca_ref"], "client_authentication": "MANDATORY",
            "client_crl_container_ref": tls["crl_ref"]}})
        assert created.status_code == 201, created.text
        conn.load_balancer.wait_for_load_balancer(tls["lb"].id, wait=60)
        assert_mandatory_client_auth(lab, tls)
        state = lab.amphora_state(tls["lb"].id)
        assert [(x["port"], x["tls"], x["client_authentication"]) for x in state["listeners"]] == \
            [(PORT, True, "MANDATORY")], state

        client, url = tls["pki"].client_args(), tls["url"]
        assert curl(url, *client, "--tls-max", "1.2").returncode == 0
        # TLS 1.3 only (with a cipher string: Octavia 19's template needs one then).
        updated = conn.load_balancer.put(f"/lbaas/listeners/{created.json()['listener']['id']}", json={
            "listener": {"tls_versions": ["TLSv1.3"], "tls_ciphers": "ECDHE-ECDSA-AES256-GCM-SHA384"}})
        assert updated.status_code == 200, updated.text
        conn.load_balancer.wait_for_load_balancer(tls["lb"].id, wait=60)
    finally:
        conn.close()
    deadline = time.monotonic() + SERVE_TIMEOUT
    while curl(url, *client, "--tls-max", "1.2").returncode != 35:
        assert time.monotonic() < deadline, "TLS 1.2 is still accepted after the update"
        time.sleep(0.5)
    refused = curl(url, *client, "--tls-max", "1.2")
    assert "protocol version" in refused.stderr, refused.stderr
    served(url, client + ["--tlsv1.3"])


# --- the module's four-way cycle ----------------------------------------------------------------

def four_way(lab, args):
    """check, apply, check, apply with diff; the four results after the usual agreement checks."""
    full = dict(cloud=lab.cloud, **args)
    runs = [run_module(LISTENER, full, check=check, diff=True, env=lab.env)
            for check in (True, False, True, False)]
    check, apply, check_again, apply_again = runs
    for result in runs:
        assert not result.get("failed"), result.get("msg")
    assert check["changed"] and apply["changed"], (check, apply)
    assert check["diff"] == apply["diff"]
    assert apply["diff"]["before"] != apply["diff"]["after"]
    assert not check_again["changed"] and not apply_again["changed"], (check_again, apply_again)
    assert check_again["diff"] == apply_again["diff"]
    assert apply_again["diff"]["before"] == apply_again["diff"]["after"]
    assert apply_again["listener"] == check_again["listener"]
    return runs


def test_four_way_with_a_certificate(lab, tls):
    certs, url = tls["pki"], tls["url"]
    _check, apply, _check_again, _apply_again = four_way(lab, {
        "load_balancer": tls["lb"].name, "name": "tls-metrics", "protocol_port": PORT,
        "allowed_cidrs": ["127.0.0.0/8"], "default_tls_container_ref": tls["cert_ref"]})
    assert apply["listener"]["default_tls_container_ref"] == tls["cert_ref"]
    assert apply["diff"]["after"]["default_tls_container_ref"] == tls["cert_ref"]
    served(url, ["--cacert", certs.path("ca.pem")])
    # The server is verified: a client that trusts another CA refuses it.
    wrong = curl(url, "--cacert", certs.path("stranger.pem"))
    assert wrong.returncode == 60, (wrong.returncode, wrong.stderr)


@pytest.fixture
def prom(tmp_path):
    """A Prometheus on a free port with a bare prometheus.yml, which the role then takes over."""
    server = start_bare_prometheus(tmp_path / "prom", FAST)
    try:
        yield server
    finally:
        server.stop()


def role_vars(lab, tls, prom):
    """The octavia_prometheus role for this test's project, scraping with the client certificate.

    The client key goes in as PEM text (the role writes it, and must never show it); the CA
    and the certificate as paths on the Prometheus host.
    """
    etc = prom.config_path.parent
    certs = tls["pki"]
    return local_role_vars(
        prom, FAST,
        octavia_prometheus_sources=[{"cloud": lab.cloud, "filters": {"project_ids": [tls["project"]]}}],
        octavia_prometheus_credentials_dir=str(etc / "credentials"),
        octavia_prometheus_reload_method="http",
        octavia_prometheus_tls={"ca_file": certs.path("ca.pem"), "cert_file": certs.path("client.pem"),
                                "key": certs.client.key_pem})


def test_four_way_with_mandatory_client_authentication(lab, tls, prom):
    """Issue 14, test 1: certificate, client CA and MANDATORY through the module, then Prometheus."""
    _check, apply, _check_again, _apply_again = four_way(lab, {
        "load_balancer": tls["lb"].name, "name": "mtls-metrics", "protocol_port": PORT,
        "allowed_cidrs": ["127.0.0.0/8"], "default_tls_container_ref": tls["cert_ref"],
        "client_ca_tls_container_ref": tls["ca_ref"], "client_authentication": "MANDATORY",
        "client_crl_container_ref": tls["crl_ref"]})
    listener = apply["listener"]
    assert (listener["client_ca_tls_container_ref"], listener["client_authentication"],
            listener["client_crl_container_ref"]) == (tls["ca_ref"], "MANDATORY", tls["crl_ref"])
    assert_mandatory_client_auth(lab, tls)

    # The role's Prometheus scrapes it with the client certificate: the target is UP.
    variables = role_vars(lab, tls, prom)
    run = run_playbook(PLAYBOOK, extra_vars=variables, env=lab.env)
    assert run.rc == 0, run
    key = tls["pki"].client.key_pem.strip().splitlines()[1]
    assert key not in run.stdout and key not in run.stderr, "the client key shows in the run's output"
    url = tls["url"]
    up = prom.wait_for(lambda: [t for t in prom.targets(health="up") if t["scrapeUrl"] == url],
                       timeout=60, message=f"{url} UP in /api/v1/targets")
    assert up[0]["labels"]["listener_id"] == listener["id"], up
    assert prom.wait_for(lambda: prom.query(f'octavia_loadbalancer_cpu{{loadbalancer_id="{tls["lb"].id}"}}'),
                         timeout=30, message="a series scraped over mutual TLS")
    again = run_playbook(PLAYBOOK, extra_vars=variables, env=lab.env)
    assert again.rc == 0 and again.changed == 0, again

    # The same listener through a source's own TLS profile (paths on the Prometheus host) and no
    # role-wide one: its target moves to a job of that profile, keeps job="octavia", and is UP.
    certs = tls["pki"]
    by_source = {**variables, "octavia_prometheus_tls": {}, "octavia_prometheus_sources": [
        {**variables["octavia_prometheus_sources"][0],
         "tls": {"ca_file": certs.path("ca.pem"), "cert_file": certs.path("client.pem"),
                 "key_file": certs.path("client.key")}}]}
    moved = run_playbook(PLAYBOOK, extra_vars=by_source, env=lab.env)
    assert moved.rc == 0, moved

    def scraped_by_the_source_job():
        return [t for t in prom.targets(health="up")
                if t["scrapeUrl"] == url and t["scrapePool"].startswith("octavia-tls-")
                and t["labels"]["job"] == "octavia"]
    prom.wait_for(scraped_by_the_source_job, timeout=60, message=f"{url} UP in the source's TLS job")
    settled = run_playbook(PLAYBOOK, extra_vars=by_source, env=lab.env)
    assert settled.rc == 0 and settled.changed == 0, settled


def test_the_listeners_role_rolls_out_mandatory_client_authentication(lab, tls, tmp_path):
    """octavia_listeners with octavia_listeners_tls: check mode predicts the rollout, the run makes
    a listener the amphora serves to the client certificate only, and a second run changes nothing."""
    playbook = tmp_path / "listeners.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "roles": [{"role": "octavia.monitoring.octavia_listeners"}]}]))
    variables = {
        "octavia_listeners_cloud": lab.cloud, "octavia_listeners_selection": "filters",
        "octavia_listeners_load_balancers": [tls["lb"].name], "octavia_listeners_protocol_port": PORT,
        "octavia_listeners_allowed_cidrs": ["127.0.0.0/8"],
        "octavia_listeners_tls": {"default_tls_container_ref": tls["cert_ref"],
                                  "client_ca_tls_container_ref": tls["ca_ref"],
                                  "client_crl_container_ref": tls["crl_ref"],
                                  "client_authentication": "MANDATORY"}}

    def role(check=False):
        return run_playbook(playbook, extra_vars=variables, env=lab.env, check=check)

    def listeners():
        """The PROMETHEUS listeners of the load balancer, as the API shows them (openstacksdk's
        Listener lacks the client authentication fields)."""
        conn = lab.connect()
        try:
            answer = conn.load_balancer.get(f"/lbaas/listeners?loadbalancer_id={tls['lb'].id}").json()
        finally:
            conn.close()
        return [x for x in answer["listeners"] if x["protocol"] == "PROMETHEUS"]

    checked = role(check=True)
    assert checked.rc == 0 and checked.changed > 0, checked
    assert listeners() == [], "check mode created a listener"
    applied = role()
    assert applied.rc == 0 and applied.changed == checked.changed, (checked.stats, applied)
    (listener,) = listeners()
    assert (listener["protocol_port"], listener["default_tls_container_ref"], listener["client_ca_tls_container_ref"],
            listener["client_crl_container_ref"], listener["client_authentication"]) == \
        (PORT, tls["cert_ref"], tls["ca_ref"], tls["crl_ref"], "MANDATORY")
    assert_mandatory_client_auth(lab, tls)
    again = role()
    assert again.rc == 0 and again.changed == 0, again
    assert role(check=True).changed == 0
