"""Issue 14, scraping over TLS: the octavia_prometheus role against real haproxy and Prometheus.

haproxy (Debian) serves its own Prometheus exporter, as an amphora's PROMETHEUS listener
does, on three frontends of one process on 127.0.0.1:

- `tls`: HTTPS with a certificate of CA one and `verify required` (a listener with
  client_authentication MANDATORY): a client without a certificate fails the handshake;
- `other`: the same under CA two, scraped through an explicit target's own `tls`
  (paths on the Prometheus host), which gets a scrape job of its own;
- `plain`: plain HTTP, in the same job as `tls`.

The role writes the role-wide CA, client certificate and key given as PEM text, with the
key at mode 0640 and nowhere in the output. Every target is UP under job="octavia";
check mode and a second run change nothing.
"""
import pathlib
import socket
import ssl
import stat
import subprocess
import time
import urllib.request

import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.prometheus_role import local_role_vars, start_bare_prometheus
from helpers.prometheus_server import free_port
from helpers.tls_certs import CertificateAuthority

PLAYBOOK = pathlib.Path(__file__).resolve().parent / "playbooks" / "prometheus_role.yml"
FAST = "2s"


class Haproxy:
    """One haproxy process in the foreground (-db) with the given config."""

    def __init__(self, workdir, config):
        self.config = workdir / "haproxy.cfg"
        self.config.write_text(config)
        self.log = open(workdir / "haproxy.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(self.config)],  # noqa: S603,S607
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_listening(self, ports, timeout=20):
        deadline = time.monotonic() + timeout
        for port in ports:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"haproxy exited: {(self.log.name and open(self.log.name).read())}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Certificates, haproxy with the three frontends, and a Prometheus whose prometheus.yml the role owns."""
    root = tmp_path_factory.mktemp("tls-scrape")
    pki = root / "pki"
    pki.mkdir()
    one, two = CertificateAuthority("CA one"), CertificateAuthority("CA two")
    material = {
        "ca1.pem": one.cert_pem, "ca2.pem": two.cert_pem,
        "server1.pem": one.issue("127.0.0.1").bundle_pem, "server2.pem": two.issue("127.0.0.1").bundle_pem,
    }
    client1, client2 = one.issue("prometheus", server=False), two.issue("prometheus", server=False)
    material.update({"client2-cert.pem": client2.cert_pem, "client2-key.pem": client2.key_pem})
    for name, text in material.items():
        (pki / name).write_text(text)
    ports = {"tls": free_port(), "other": free_port(), "plain": free_port()}
    config = f"""\
global
    maxconn 200
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend tls
    bind 127.0.0.1:{ports['tls']} ssl crt {pki}/server1.pem ca-file {pki}/ca1.pem verify required
    http-request use-service prometheus-exporter if {{ path /metrics }}
frontend other
    bind 127.0.0.1:{ports['other']} ssl crt {pki}/server2.pem ca-file {pki}/ca2.pem verify required
    http-request use-service prometheus-exporter if {{ path /metrics }}
frontend plain
    bind 127.0.0.1:{ports['plain']}
    http-request use-service prometheus-exporter if {{ path /metrics }}
"""
    haproxy = Haproxy(root, config)
    etc = root / "etc"
    prom = None
    try:
        haproxy.wait_listening(ports.values())
        prom = start_bare_prometheus(root, FAST)
        yield {"root": root, "pki": pki, "etc": etc, "ports": ports, "prom": prom, "one": one,
               "client1": client1, "haproxy": haproxy}
    finally:
        if prom is not None:
            prom.stop()
        haproxy.stop()


def targets(ports, pki):
    def labels(name):
        return {"loadbalancer_id": f"lb-{name}", "loadbalancer_name": name, "listener_id": f"listener-{name}"}
    return [
        {"scrape_target": f"127.0.0.1:{ports['tls']}", "scheme": "https", "client_auth": "MANDATORY",
         "labels": labels("tls")},
        {"scrape_target": f"127.0.0.1:{ports['other']}", "scheme": "https", "client_auth": "MANDATORY",
         "labels": labels("other"),
         "tls": {"ca_file": str(pki / "ca2.pem"), "cert_file": str(pki / "client2-cert.pem"),
                 "key_file": str(pki / "client2-key.pem")}},
        {"scrape_target": f"127.0.0.1:{ports['plain']}", "labels": labels("plain")},
    ]


@pytest.fixture(scope="module")
def role_vars(fleet):
    return local_role_vars(
        fleet["prom"], FAST,
        octavia_prometheus_credentials_dir=str(fleet["etc"] / "credentials"),
        octavia_prometheus_targets=targets(fleet["ports"], fleet["pki"]),
        octavia_prometheus_tls={"ca": fleet["one"].cert_pem, "cert": fleet["client1"].cert_pem,
                                "key": fleet["client1"].key_pem})


def run(variables, **kwargs):
    return run_playbook(PLAYBOOK, extra_vars=variables, **kwargs)


def up_by_lb(prom):
    return {s["metric"]["loadbalancer_name"]: s["value"][1] for s in prom.query('up{job="octavia"}')}


def scraped_lbs(prom):
    """The load balancers of the targets Prometheus scrapes now."""
    return {t["labels"]["loadbalancer_name"] for t in prom.targets() if "loadbalancer_name" in t["labels"]}


def changed_tasks(run_):
    """The names of the tasks that changed, the reload counted as one (check mode only predicts it)."""
    names = [name.split(" : ", 1)[-1] for name, result in run_.task_results() if result.get("changed")]
    return sorted("reload" if name in ("Show that Prometheus would be reloaded",
                                       "Reload Prometheus through its HTTP lifecycle API") else name for name in names)


def assert_no_key_in(run_, fleet):
    body = fleet["client1"].key_pem.splitlines()[1]
    assert body not in run_.stdout and body not in run_.stderr, "the client key appears in the run's output"


def test_a_listener_that_demands_a_client_certificate_refuses_one_without(fleet):
    context = ssl.create_default_context(cafile=str(fleet["pki"] / "ca1.pem"))
    with pytest.raises((ssl.SSLError, ConnectionResetError, urllib.error.URLError)):
        with urllib.request.urlopen(f"https://127.0.0.1:{fleet['ports']['tls']}/metrics", context=context,
                                    timeout=5) as answer:
            answer.read()
    context.load_cert_chain(*_client_files(fleet))
    with urllib.request.urlopen(f"https://127.0.0.1:{fleet['ports']['tls']}/metrics", context=context,
                                timeout=5) as answer:
        assert b"haproxy_process" in answer.read()


def _client_files(fleet):
    path = fleet["root"] / "client1.pem"
    path.write_text(fleet["client1"].cert_pem + fleet["client1"].key_pem)
    return (str(path),)


def test_check_mode_first_writes_nothing_and_predicts_the_run(fleet, role_vars):
    checked = run(role_vars, check=True, diff=True)
    assert checked.rc == 0, checked
    assert not (fleet["etc"] / "credentials").exists() and not (fleet["etc"] / "file_sd").exists()
    assert_no_key_in(checked, fleet)
    applied = run(role_vars)
    assert applied.rc == 0, applied
    assert_no_key_in(applied, fleet)
    assert changed_tasks(applied) == changed_tasks(checked), "check mode and the real run disagree on what changes"


def test_every_target_is_up_under_one_job_label(fleet, role_vars):
    prom = fleet["prom"]
    want = {"tls": "1", "other": "1", "plain": "1"}
    found = prom.wait_for(lambda: want if up_by_lb(prom) == want else None,
                          timeout=60, message="the three targets UP under job=octavia")
    assert found
    pools = {t["labels"]["loadbalancer_name"]: t for t in prom.targets() if "loadbalancer_name" in t["labels"]}
    assert pools["tls"]["scrapePool"] == pools["plain"]["scrapePool"] == "octavia"
    assert pools["other"]["scrapePool"].startswith("octavia-tls-")
    assert pools["tls"]["scrapeUrl"].startswith("https://") and pools["plain"]["scrapeUrl"].startswith("http://")
    # haproxy's own series came over the client-authenticated TLS connection.
    assert prom.query('haproxy_process_nbthread{job="octavia", loadbalancer_name="tls"}')


def test_the_role_writes_the_material_with_tight_modes_and_keeps_keys_out_of_prometheus_yml(fleet, role_vars):
    creds = fleet["etc"] / "credentials"
    key = creds / "octavia-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o640
    assert stat.S_IMODE(creds.stat().st_mode) == 0o750
    assert key.read_text() == fleet["client1"].key_pem
    config = yaml.safe_load((fleet["etc"] / "prometheus.yml").read_text())
    (main,) = [job for job in config["scrape_configs"] if job["job_name"] == "octavia"]
    assert main["tls_config"] == {"ca_file": str(creds / "octavia-ca.pem"),
                                  "cert_file": str(creds / "octavia-cert.pem"),
                                  "key_file": str(key)}
    (other,) = [job for job in config["scrape_configs"] if job["job_name"].startswith("octavia-tls-")]
    assert other["tls_config"]["ca_file"] == str(fleet["pki"] / "ca2.pem")
    assert other["relabel_configs"][-1] == {"target_label": "job", "replacement": "octavia"}
    assert "BEGIN" not in (fleet["etc"] / "prometheus.yml").read_text()


def test_a_second_run_and_check_mode_change_nothing(fleet, role_vars):
    again = run(role_vars)
    assert again.rc == 0 and again.changed == 0, again
    checked = run(role_vars, check=True, diff=True)
    assert checked.rc == 0 and checked.changed == 0, checked
    assert_no_key_in(checked, fleet)


def test_a_key_that_does_not_match_its_certificate_never_goes_live(fleet, role_vars):
    live = {path: path.read_bytes() for path in (fleet["etc"] / "credentials").iterdir()}
    live[fleet["etc"] / "prometheus.yml"] = (fleet["etc"] / "prometheus.yml").read_bytes()
    stranger = fleet["one"].issue("someone-else", server=False)
    bad = run({**role_vars, "octavia_prometheus_tls": {**role_vars["octavia_prometheus_tls"], "key": stranger.key_pem}})
    assert bad.rc != 0, bad
    failed = [(name, result) for name, result in bad.task_results() if result.get("failed")]
    assert failed[-1][0] == "octavia.monitoring.octavia_prometheus : Report the configuration that promtool rejected"
    assert "private key does not match public key" in failed[-1][1]["msg"]
    assert stranger.key_pem.splitlines()[1] not in bad.stdout
    assert {path: path.read_bytes() for path in live} == live
    assert up_by_lb(fleet["prom"]) == {"tls": "1", "other": "1", "plain": "1"}


def test_removing_the_extra_profile_removes_its_job_and_file(fleet, role_vars):
    ports, pki = fleet["ports"], fleet["pki"]
    without = [t for t in targets(ports, pki) if t["labels"]["loadbalancer_name"] != "other"]
    applied = run({**role_vars, "octavia_prometheus_targets": without})
    assert applied.rc == 0, applied
    assert list((fleet["etc"] / "file_sd" / "octavia-tls").iterdir()) == []
    config = yaml.safe_load((fleet["etc"] / "prometheus.yml").read_text())
    assert [job["job_name"] for job in config["scrape_configs"]] == ["octavia", "prometheus"]
    # The targets Prometheus scrapes, not `up`: a reload that removes a whole scrape config stops its
    # pool without staleness markers, so the old `up` series can stay queryable for the lookback.
    fleet["prom"].wait_for(lambda: scraped_lbs(fleet["prom"]) == {"tls", "plain"}, timeout=30,
                           message="the other job gone")
    back = run(role_vars)
    assert back.rc == 0, back


def test_state_absent_removes_the_octavia_jobs_material_and_nothing_else(fleet, role_vars):
    """The keys and certificates of the Octavia jobs and the TLS jobs' targets go; a file of the
    user's in the same directory stays; check mode predicts it and a second run changes nothing."""
    creds, tls_dir = fleet["etc"] / "credentials", fleet["etc"] / "file_sd" / "octavia-tls"
    assert sorted(p.name for p in creds.glob("octavia-*.pem")), "the present run wrote no material"
    assert list(tls_dir.iterdir()), "the present run wrote no TLS job targets"
    theirs = creds / "my-own.pem"
    theirs.write_text("not the role's\n")
    absent = {**role_vars, "octavia_prometheus_state": "absent"}
    checked = run(absent, check=True)
    assert checked.rc == 0, checked
    assert sorted(p.name for p in creds.glob("octavia-*.pem")) and list(tls_dir.iterdir()), "check mode removed files"
    applied = run(absent)
    assert applied.rc == 0, applied
    assert changed_tasks(applied) == changed_tasks(checked), "check mode and the real run disagree on what changes"
    assert sorted(p.name for p in creds.iterdir()) == ["my-own.pem"]
    assert list(tls_dir.iterdir()) == []
    config = yaml.safe_load((fleet["etc"] / "prometheus.yml").read_text())
    assert [job["job_name"] for job in config["scrape_configs"]] == ["prometheus"]
    fleet["prom"].wait_for(lambda: not scraped_lbs(fleet["prom"]), timeout=30, message="the Octavia jobs gone")
    again = run(absent)
    assert again.rc == 0 and again.changed == 0, again
    assert theirs.read_text() == "not the role's\n"
