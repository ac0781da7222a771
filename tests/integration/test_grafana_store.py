"""The octavia_grafana datasource pointed at the global store: a real VictoriaMetrics behind basic auth.

No Grafana server is packaged for this machine, so the provisioned datasource is taken
at its word: its URL, user and secureJsonData password are used to query the store the
way Grafana's Prometheus datasource does (POST /api/v1/query), and must work, while the
same query without them is refused.
"""
import base64
import getpass
import grp
import json
import os
import urllib.parse

import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.store import VictoriaMetrics, http

PASSWORD = "store-s3cret"


@pytest.fixture
def store(tmp_path):
    with VictoriaMetrics(workdir=tmp_path / "vm", basic_auth=("grafana", PASSWORD)) as vm:
        vm.import_prometheus('octavia_member_status{job="octavia",state="DOWN",member="m-1"} 1\n')
        vm.flush()
        yield vm


def run_role(tmp_path, check=False, diff=False, **extra):
    playbook = tmp_path / "grafana.play"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                     "roles": [{"role": "octavia.monitoring.octavia_grafana"}]}]))
    variables = {
        "octavia_grafana_provisioning_dir": str(tmp_path / "provisioning"),
        "octavia_grafana_dashboards_dir": str(tmp_path / "dashboards"),
        "octavia_grafana_become": False,
        "octavia_grafana_file_owner": getpass.getuser(),
        "octavia_grafana_file_group": grp.getgrgid(os.getgid()).gr_name,
        "octavia_grafana_reload_method": "none",
        **extra,
    }
    return run_playbook(playbook, extra_vars=variables, check=check, diff=diff)


def query_as_grafana(datasource, expr):
    """POST /api/v1/query as Grafana's Prometheus datasource does with httpMethod POST."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if datasource.get("basicAuth"):
        user = datasource["basicAuthUser"]
        password = datasource.get("secureJsonData", {}).get("basicAuthPassword", "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return http("POST", f"{datasource['url']}/api/v1/query", data=urllib.parse.urlencode({"query": expr}).encode(),
                headers=headers)


def test_the_datasource_on_the_store_queries_it_with_basic_auth(tmp_path, store):
    extra = {"octavia_grafana_datasource_url": store.url,
             "octavia_grafana_datasource_basic_auth_user": "grafana",
             "octavia_grafana_datasource_basic_auth_password": PASSWORD,
             "octavia_grafana_datasource_tls_skip_verify": True}
    check = run_role(tmp_path, check=True, diff=True, **extra)
    assert check.rc == 0, check
    assert check.changed > 0
    assert not (tmp_path / "provisioning").exists(), "check mode wrote files"

    applied = run_role(tmp_path, diff=True, **extra)
    assert applied.rc == 0, applied
    assert PASSWORD not in check.stdout + check.stderr + applied.stdout + applied.stderr
    path = tmp_path / "provisioning" / "datasources" / "octavia-prometheus.yml"
    datasource = yaml.safe_load(path.read_text())["datasources"][0]
    assert datasource["basicAuth"] is True
    assert datasource["jsonData"]["tlsSkipVerify"] is True
    assert "tlsAuthWithCACert" not in datasource["jsonData"]
    assert oct(path.stat().st_mode & 0o777) == "0o640"

    status, body = query_as_grafana(datasource, 'octavia_member_status{state="DOWN"}')
    assert status == 200, body
    assert json.loads(body)["data"]["result"][0]["metric"]["member"] == "m-1"
    anonymous = {k: v for k, v in datasource.items() if k not in ("basicAuth", "secureJsonData")}
    assert query_as_grafana(anonymous, "up")[0] == 401

    for check_mode in (True, False):
        again = run_role(tmp_path, check=check_mode, diff=True, **extra)
        assert again.rc == 0 and again.changed == 0, again.stats


def test_a_ca_certificate_goes_to_secure_json_data(tmp_path):
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    run = run_role(tmp_path, octavia_grafana_datasource_url="https://store.example:8428",
                   octavia_grafana_datasource_tls_ca_cert=pem)
    assert run.rc == 0, run
    datasource = yaml.safe_load((tmp_path / "provisioning" / "datasources" / "octavia-prometheus.yml").read_text())
    datasource = datasource["datasources"][0]
    assert datasource["jsonData"]["tlsAuthWithCACert"] is True
    assert datasource["secureJsonData"] == {"tlsCACert": pem}
    assert "basicAuth" not in datasource


def test_a_password_without_a_user_is_refused_before_any_write(tmp_path):
    run = run_role(tmp_path, octavia_grafana_datasource_basic_auth_password=PASSWORD)
    assert run.rc != 0
    messages = " ".join(r.get("msg", "") for _n, r in run.task_results() if r.get("failed"))
    assert "octavia_grafana_datasource_basic_auth_user is empty" in messages
    assert PASSWORD not in run.stdout
    assert not (tmp_path / "provisioning").exists()
