"""Issue 13, a secured Prometheus: the octavia_prometheus role manages --web.config.file.

A real Prometheus (Debian) runs with --web.config.file. Before the role it serves HTTPS
with a certificate of the test's own CA and no users; the role then writes the web config
(the server certificate and key as PEM text, a bcrypt user), and from there on it reads,
reloads and self-scrapes Prometheus with the client credentials:

1. an unauthenticated request gets 401, a plain HTTP one no answer; the role's reload
   works with the credentials and its self-scrape job is UP;
2. a second run and check mode change nothing; check and diff mode are honest for a new
   user and show no secret;
3. a wrong password fails the run in preflight with one sentence, before any write: every
   live file keeps its checksum;
4. a web config that promtool rejects (a key that does not match its certificate) never
   goes live, and Prometheus keeps answering with the old one.
No password, hash or key appears in any run's output.
"""
import base64
import hashlib
import pathlib
import ssl
import stat
import urllib.error
import urllib.parse
import urllib.request

import bcrypt
import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.prometheus_role import local_role_vars, start_bare_prometheus
from helpers.prometheus_server import PrometheusError, PrometheusServer
from helpers.tls_certs import CertificateAuthority

PLAYBOOK = pathlib.Path(__file__).resolve().parent / "playbooks" / "prometheus_role.yml"
FAST = "2s"
USER, PASSWORD = "octavia-admin", "correct horse battery staple"
EXPLICIT = [{"scrape_target": "127.0.0.1:1", "labels": {"loadbalancer_id": "lb-local", "loadbalancer_name": "local"}}]


class SecuredPrometheus(PrometheusServer):
    """The test helper's Prometheus, spoken to over HTTPS with basic auth."""

    def __init__(self, *args, ca_file, **kwargs):
        super().__init__(*args, **kwargs)
        self.context = ssl.create_default_context(cafile=ca_file)
        self.credentials = None

    @property
    def url(self):
        return f"https://{self.host}:{self.port}"

    def request(self, path, method="GET", credentials=None, data=None):
        """(status, body) of one request; credentials=None uses the test's current ones."""
        req = urllib.request.Request(f"{self.url}{path}", method=method, data=data)
        user_password = credentials if credentials is not None else self.credentials
        if user_password:
            token = base64.b64encode(":".join(user_password).encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def ready(self):
        # Up as soon as it answers at all: a 401 is Prometheus asking for the password.
        return self.request("/-/ready")[0] in (200, 401)

    def _get(self, path, params=None):
        status, body = self.request(path + ("?" + urllib.parse.urlencode(params) if params else ""))
        if status != 200:
            raise PrometheusError(f"GET {path} -> {status}: {body}")
        return body


def checksums(*roots):
    found = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("prom-secured")
    pki, etc = root / "pki", root / "etc"
    pki.mkdir()
    etc.mkdir()
    ca = CertificateAuthority("web CA")
    server = ca.issue("127.0.0.1")
    (pki / "ca.pem").write_text(ca.cert_pem)
    (pki / "server-cert.pem").write_text(server.cert_pem)
    (pki / "server-key.pem").write_text(server.key_pem)
    web = etc / "web.yml"
    web.write_text(yaml.safe_dump({"tls_server_config": {"cert_file": str(pki / "server-cert.pem"),
                                                         "key_file": str(pki / "server-key.pem")}}))
    prom = start_bare_prometheus(root, FAST, cls=SecuredPrometheus, ca_file=str(pki / "ca.pem"),
                                 extra_args=[f"--web.config.file={web}"])
    digest = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    variables = local_role_vars(
        prom, FAST,
        octavia_prometheus_credentials_dir=str(etc / "credentials"),
        octavia_prometheus_targets=EXPLICIT,
        octavia_prometheus_web_config_manage=True,
        octavia_prometheus_web_config_file=str(web),
        octavia_prometheus_web_tls={"cert": server.cert_pem, "key": server.key_pem},
        octavia_prometheus_web_users={USER: digest},
        octavia_prometheus_web_client_username=USER,
        octavia_prometheus_web_client_password=PASSWORD,
        octavia_prometheus_web_client_ca_file=str(pki / "ca.pem"))
    try:
        yield {"root": root, "etc": etc, "pki": pki, "web": web, "prom": prom, "vars": variables,
               "ca": ca, "server": server, "secrets": [PASSWORD, digest, server.key_pem.splitlines()[1]]}
    finally:
        prom.stop()


def run(env, check=False, diff=False, **extra):
    result = run_playbook(PLAYBOOK, extra_vars={**env["vars"], **extra}, check=check, diff=diff)
    leaked = [secret for secret in env["secrets"] + [str(v) for k, v in extra.items() if "password" in k]
              if secret in result.stdout or secret in result.stderr]
    assert not leaked, f"a secret appears in the run's output: {leaked}"
    return result


def live_files(env):
    return checksums(env["etc"])


def cpu_query(prom):
    return [r["query"] for g in prom.rules() for r in g["rules"] if r["name"] == "OctaviaAmphoraHighCpu"]


def test_the_role_secures_prometheus_and_still_reloads_it(env):
    prom = env["prom"]
    first = run(env)
    assert first.rc == 0, first
    assert prom.request("/-/ready", credentials=())[0] == 401, "an unauthenticated request was answered"
    assert prom.request("/-/ready", credentials=(USER, "wrong"))[0] == 401
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{prom.port}/-/ready", timeout=5)  # noqa: S310 - a plain request
    prom.credentials = (USER, PASSWORD)
    assert prom.request("/-/ready")[0] == 200
    assert cpu_query(prom) == ['octavia_loadbalancer_cpu{job="octavia"} > 80']
    # The web config names the role's own copy of the server material.
    web = yaml.safe_load(env["web"].read_text())
    creds = env["etc"] / "credentials"
    assert web["tls_server_config"] == {"cert_file": str(creds / "web-cert.pem"),
                                        "key_file": str(creds / "web-key.pem")}
    assert list(web["basic_auth_users"]) == [USER]
    for name in ("web-key.pem", "web-client-password"):
        assert stat.S_IMODE((creds / name).stat().st_mode) == 0o640, name
    assert stat.S_IMODE(env["web"].stat().st_mode) == 0o640

    reloaded = run(env, octavia_prometheus_alert_cpu_percent=85)
    assert reloaded.rc == 0, reloaded
    reload_task = "octavia.monitoring.octavia_prometheus : Reload Prometheus through its HTTP lifecycle API"
    assert reloaded.result(reload_task)["changed"]
    assert cpu_query(prom) == ['octavia_loadbalancer_cpu{job="octavia"} > 85']


def test_the_self_scrape_uses_the_credentials(env):
    prom = env["prom"]
    found = prom.wait_for(lambda: prom.targets(job="prometheus", health="up"), timeout=30,
                          message="the self-scrape job UP over HTTPS with basic auth")
    assert found[0]["scrapeUrl"].startswith("https://127.0.0.1:")
    config = yaml.safe_load((env["etc"] / "prometheus.yml").read_text())
    (own,) = [job for job in config["scrape_configs"] if job["job_name"] == "prometheus"]
    password_file = env["etc"] / "credentials" / "web-client-password"
    assert own["basic_auth"] == {"username": USER, "password_file": str(password_file)}
    assert own["tls_config"] == {"ca_file": str(env["pki"] / "ca.pem")}
    assert PASSWORD not in (env["etc"] / "prometheus.yml").read_text()


def test_a_second_run_and_check_mode_change_nothing(env):
    again = run(env, octavia_prometheus_alert_cpu_percent=85)
    assert again.rc == 0 and again.changed == 0, again
    checked = run(env, check=True, diff=True, octavia_prometheus_alert_cpu_percent=85)
    assert checked.rc == 0 and checked.changed == 0, checked


def test_check_and_diff_mode_are_honest_for_a_new_user(env):
    second = bcrypt.hashpw(b"another secret", bcrypt.gensalt(rounds=10)).decode()
    env["secrets"].append(second)
    users = {**env["vars"]["octavia_prometheus_web_users"], "grafana": second}
    before = live_files(env)
    checked = run(env, check=True, diff=True, octavia_prometheus_alert_cpu_percent=85,
                  octavia_prometheus_web_users=users)
    assert checked.rc == 0, checked
    assert checked.result("octavia.monitoring.octavia_prometheus : Write the web config")["changed"]
    assert live_files(env) == before, "check mode wrote a file"
    applied = run(env, octavia_prometheus_alert_cpu_percent=85, octavia_prometheus_web_users=users)
    assert applied.rc == 0, applied
    assert applied.changed == checked.changed, "check mode and the real run disagree"
    assert env["prom"].request("/-/ready", credentials=("grafana", "another secret"))[0] == 200
    settled = run(env, octavia_prometheus_alert_cpu_percent=85, octavia_prometheus_web_users=users)
    assert settled.rc == 0 and settled.changed == 0, settled
    back = run(env, octavia_prometheus_alert_cpu_percent=85)
    assert back.rc == 0, back
    assert env["prom"].request("/-/ready", credentials=("grafana", "another secret"))[0] == 401


def test_a_wrong_password_fails_before_any_write(env):
    before = live_files(env)
    wrong = run(env, octavia_prometheus_alert_cpu_percent=86, octavia_prometheus_web_client_password="not the password")
    assert wrong.rc != 0, wrong
    (name, result), = wrong.failed()
    assert name == "octavia.monitoring.octavia_prometheus : Check that Prometheus accepts the role's credentials"
    assert (f"Prometheus at {env['prom'].url} refused the credentials of octavia_prometheus_web_client_username "
            f"{USER} (HTTP 401 to GET /-/ready), so nothing was written") in result["msg"]
    assert not [n for n, r in wrong.task_results() if r.get("changed")], "the failed run changed something"
    assert live_files(env) == before
    assert cpu_query(env["prom"]) == ['octavia_loadbalancer_cpu{job="octavia"} > 85']


def test_a_web_config_promtool_rejects_never_goes_live(env):
    before = live_files(env)
    stranger = env["ca"].issue("127.0.0.1")
    env["secrets"].append(stranger.key_pem.splitlines()[1])
    bad = run(env, octavia_prometheus_alert_cpu_percent=86,
              octavia_prometheus_web_tls={"cert": env["server"].cert_pem, "key": stranger.key_pem})
    assert bad.rc != 0, bad
    name, result = bad.failed()[-1]
    assert name == "octavia.monitoring.octavia_prometheus : Report the configuration that promtool rejected"
    assert "Check the staged web config failed before any live file was written" in result["msg"]
    assert "private key does not match public key" in result["msg"]
    assert live_files(env) == before
    assert env["prom"].request("/-/ready")[0] == 200
    assert cpu_query(env["prom"]) == ['octavia_loadbalancer_cpu{job="octavia"} > 85']
