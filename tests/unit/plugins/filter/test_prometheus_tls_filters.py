"""The TLS grouping, the web config and the TLS checks of the octavia_prometheus role, on plain dicts."""
import pytest

from ansible_collections.octavia.monitoring.plugins.filter.prometheus_scrape_groups import (
    FilterModule as GroupsModule,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_scrape_groups import prometheus_scrape_groups
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_targets import prometheus_targets
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_tls_problems import (
    FilterModule as ProblemsModule,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_tls_problems import prometheus_tls_problems
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_web_config import (
    FilterModule as WebModule,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_web_config import prometheus_web_config

CA = "-----BEGIN CERTIFICATE-----\nMIIca\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIcert\n-----END CERTIFICATE-----"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIkey-secret\n-----END PRIVATE KEY-----\n"
HASH = "$2b$12$" + "a" * 53
BASE_JOB = {"job_name": "octavia", "scheme": "http", "metrics_path": "/metrics",
            "file_sd_configs": [{"files": ["/sd/octavia*.yml"], "refresh_interval": "1m"}],
            "http_sd_configs": [{"url": "http://127.0.0.1:9180/sd"}],
            "relabel_configs": [{"source_labels": ["loadbalancer_id"], "action": "hashmod", "modulus": 2,
                                 "target_label": "__tmp_shard"}]}


@pytest.mark.parametrize("module, name", [
    (GroupsModule, "prometheus_scrape_groups"), (ProblemsModule, "prometheus_tls_problems"),
    (WebModule, "prometheus_web_config"),
])
def test_each_file_holds_the_filter_it_is_named_after(module, name):
    assert list(module().filters()) == [name]


def item(address, scheme="http", client_auth="NONE", **extra):
    labels = {"loadbalancer_id": f"lb-{address}", "listener_id": f"l-{address}"}
    if scheme == "https":
        labels["__scheme__"] = "https"
    return {"scrape_target": address, "labels": labels, "scheme": scheme, "client_auth": client_auth, **extra}


# prometheus_targets keeps what the grouping needs

def test_an_explicit_https_target_gets_the_scheme_label_and_keeps_its_tls():
    found = prometheus_targets(None, [{"scrape_target": "10.0.0.1:8443", "scheme": "https",
                                       "tls": {"ca_file": "/etc/ca.pem"}, "client_auth": "MANDATORY"},
                                      {"scrape_target": "10.0.0.2:8088"}])
    https, plain = found["targets"]
    assert https["labels"] == {"__scheme__": "https"} and https["scheme"] == "https"
    assert https["tls"] == {"ca_file": "/etc/ca.pem"} and https["client_auth"] == "MANDATORY"
    assert plain == {"scrape_target": "10.0.0.2:8088", "labels": {}}
    assert found["file_sd"][0] == {"targets": ["10.0.0.1:8443"], "labels": {"__scheme__": "https"}}


def test_a_discovered_tls_listener_keeps_scheme_and_client_auth():
    discovery = {"results": [{"item": {}, "prometheus_listeners": [item("10.0.0.3:8443", "https", "MANDATORY")]}]}
    (found,) = prometheus_targets(discovery)["targets"]
    assert found["scheme"] == "https" and found["client_auth"] == "MANDATORY"
    assert found["labels"]["__scheme__"] == "https"


def test_a_sources_tls_goes_onto_each_of_its_targets_and_a_job_of_its_own():
    other_ca = {"ca_file": "/etc/prometheus/other-ca.pem", "server_name": "metrics.other"}
    discovery = {"results": [
        {"item": {"cloud": "one"}, "prometheus_listeners": [item("10.0.0.1:8443", "https")]},
        {"item": {"cloud": "two", "tls": other_ca},
         "prometheus_listeners": [item("10.0.0.2:8443", "https"), item("10.0.0.3:8088")]},
    ]}
    found = {t["scrape_target"]: t for t in prometheus_targets(discovery)["targets"]}
    assert "tls" not in found["10.0.0.1:8443"]
    assert found["10.0.0.2:8443"]["tls"] == other_ca and found["10.0.0.3:8088"]["tls"] == other_ca
    groups = prometheus_scrape_groups(list(found.values()), {"ca": CA}, "/creds", "octavia", BASE_JOB, "/sd")
    (job,) = groups["jobs"]
    # Only the HTTPS target moves; the source's plain target stays in the main job.
    assert [entry["targets"] for entry in job["file_sd"]] == [["10.0.0.2:8443"]]
    assert job["tls_config"] == {"ca_file": "/etc/prometheus/other-ca.pem", "server_name": "metrics.other"}
    assert sorted(t for entry in groups["file_sd"] for t in entry["targets"]) == ["10.0.0.1:8443", "10.0.0.3:8088"]


def test_an_explicit_targets_own_tls_wins_over_nothing_and_sources_do_not_touch_it():
    mine = {"ca_file": "/etc/mine.pem"}
    discovery = {"results": [{"item": {"tls": {"ca_file": "/etc/source.pem"}},
                              "prometheus_listeners": [item("10.0.0.5:8443", "https")]}]}
    found = prometheus_targets(discovery, [{"scrape_target": "10.0.0.4:8443", "scheme": "https", "tls": mine}])
    assert [t.get("tls") for t in found["targets"]] == [mine, {"ca_file": "/etc/source.pem"}]


# prometheus_scrape_groups

def test_plain_and_default_tls_targets_share_the_main_job():
    tls = {"ca": CA, "cert": CERT, "key": KEY, "server_name": "metrics.example"}
    groups = prometheus_scrape_groups([item("10.0.0.1:8088"), item("10.0.0.2:8443", "https", "MANDATORY")],
                                      tls, "/creds", "octavia", BASE_JOB, "/sd")
    assert groups["jobs"] == [] and groups["warnings"] == []
    assert [entry["targets"] for entry in groups["file_sd"]] == [["10.0.0.1:8088"], ["10.0.0.2:8443"]]
    assert groups["tls_config"] == {"ca_file": "/creds/octavia-ca.pem", "cert_file": "/creds/octavia-cert.pem",
                                    "key_file": "/creds/octavia-key.pem", "server_name": "metrics.example"}
    files = {f["path"]: f for f in groups["files"]}
    assert sorted(files) == ["/creds/octavia-ca.pem", "/creds/octavia-cert.pem", "/creds/octavia-key.pem"]
    assert [path for path, f in files.items() if f["secret"]] == ["/creds/octavia-key.pem"]
    # Every file ends with a new line, as PEM tools expect.
    assert files["/creds/octavia-cert.pem"]["content"] == CERT + "\n"


def test_paths_are_used_as_given_and_nothing_is_written():
    groups = prometheus_scrape_groups([item("10.0.0.2:8443", "https")],
                                      {"ca_file": "/etc/pki/ca.pem", "insecure_skip_verify": False},
                                      "/creds", "octavia", BASE_JOB, "/sd")
    assert groups["tls_config"] == {"ca_file": "/etc/pki/ca.pem", "insecure_skip_verify": False}
    assert groups["files"] == []


def test_no_tls_at_all_is_an_empty_tls_config():
    groups = prometheus_scrape_groups([item("10.0.0.1:8088")], {}, "/creds", "octavia", BASE_JOB, "/sd")
    assert groups["tls_config"] == {} and groups["files"] == [] and groups["jobs"] == []


def test_a_target_with_its_own_profile_gets_a_job_that_keeps_the_job_label():
    own = {"ca_file": "/etc/pki/other-ca.pem", "cert_file": "/etc/pki/c.pem", "key_file": "/etc/pki/k.pem"}
    targets = [item("10.0.0.1:8088"), item("10.0.0.2:8443", "https"), item("10.0.0.3:8443", "https", tls=own),
               item("10.0.0.4:8443", "https", tls=dict(own))]
    groups = prometheus_scrape_groups(targets, {"ca_file": "/etc/pki/ca.pem"}, "/creds", "octavia", BASE_JOB, "/sd")
    assert [entry["targets"][0] for entry in groups["file_sd"]] == ["10.0.0.1:8088", "10.0.0.2:8443"]
    (job,) = groups["jobs"]
    assert job["job_name"] == f"octavia-tls-{job['key']}"
    assert [entry["targets"][0] for entry in job["file_sd"]] == ["10.0.0.3:8443", "10.0.0.4:8443"]
    assert job["file"] == f"/sd/octavia-tls/{job['key']}.yml" and groups["tls_dir"] == "/sd/octavia-tls"
    config = job["scrape_config"]
    assert config["tls_config"] == own
    assert config["file_sd_configs"] == [{"files": [job["file"]], "refresh_interval": "1m"}]
    assert "http_sd_configs" not in config, "HTTP SD targets belong to the main job only"
    # The base job's relabelling (a shard's hashmod) stays, and job=octavia comes last.
    assert config["relabel_configs"][0] == BASE_JOB["relabel_configs"][0]
    assert config["relabel_configs"][-1] == {"target_label": "job", "replacement": "octavia"}
    assert config["metrics_path"] == "/metrics" and BASE_JOB["job_name"] == "octavia", "the base job is not changed"


def test_the_job_key_depends_on_the_profile_not_on_the_order_of_targets():
    one = {"ca_file": "/a.pem"}
    two = {"ca_file": "/b.pem"}
    first = prometheus_scrape_groups([item("1.1.1.1:1", "https", tls=one), item("2.2.2.2:2", "https", tls=two)],
                                     {}, "/c", "octavia", BASE_JOB, "/sd")
    second = prometheus_scrape_groups([item("2.2.2.2:2", "https", tls=two), item("1.1.1.1:1", "https", tls=one)],
                                      {}, "/c", "octavia", BASE_JOB, "/sd")
    assert [job["job_name"] for job in first["jobs"]] == [job["job_name"] for job in second["jobs"]]
    assert len(first["jobs"]) == 2


def test_a_plain_target_with_a_tls_of_its_own_stays_in_the_main_job():
    groups = prometheus_scrape_groups([item("10.0.0.1:8088", tls={"ca_file": "/x.pem"})], {}, "/c", "octavia",
                                      BASE_JOB, "/sd")
    assert groups["jobs"] == [] and len(groups["file_sd"]) == 1


def test_a_listener_that_demands_a_client_certificate_without_one_is_warned_about():
    groups = prometheus_scrape_groups([item("10.0.0.2:8443", "https", "MANDATORY")], {"ca_file": "/ca.pem"},
                                      "/c", "octavia", BASE_JOB, "/sd")
    (warning,) = groups["warnings"]
    assert "10.0.0.2:8443" in warning and "l-10.0.0.2:8443" in warning and "MANDATORY" in warning
    optional = prometheus_scrape_groups([item("10.0.0.2:8443", "https", "OPTIONAL")], {}, "/c", "octavia",
                                        BASE_JOB, "/sd")
    assert optional["warnings"] == []


# prometheus_tls_problems

def test_sound_settings_have_no_problems():
    assert prometheus_tls_problems({"ca": CA, "cert": CERT, "key": KEY}, [{"scrape_target": "a:1"}],
                                   {"cert_file": "/w/c.pem", "key": KEY,
                                    "client_auth_type": "RequireAndVerifyClientCert"},
                                   {"admin": HASH}, {"username": "admin", "password": "pw"}) == []
    assert prometheus_tls_problems({}) == []


@pytest.mark.parametrize("tls, needle", [
    ({"ca": CA, "ca_file": "/ca.pem"}, "sets both ca and ca_file"),
    ({"key": "not pem at all", "cert": CERT}, "octavia_prometheus_tls.key must be PEM text"),
    ({"cert": CERT}, "a certificate without a key"),
    ({"key_file": "/k.pem"}, "a key without a certificate"),
    ({"ca_file": "relative/ca.pem"}, "must be an absolute path"),
    ({"cafile": "/ca.pem"}, "unknown keys (cafile)"),
    ("yes", "must be a mapping"),
])
def test_each_fault_of_the_scrape_profile_is_one_sentence(tls, needle):
    problems = prometheus_tls_problems(tls)
    assert len(problems) == 1, problems
    assert needle in problems[0]


def test_no_sentence_repeats_key_material():
    problems = prometheus_tls_problems({"key": "secret-key-text", "cert": CERT, "ca_file": "x"},
                                       web_users={"u": "plain-password"}, web_client={"username": "u", "password": "p"})
    assert problems and not [p for p in problems if "secret-key-text" in p or "plain-password" in p]


def test_a_target_may_name_files_but_not_carry_pem_text():
    problems = prometheus_tls_problems({}, [{"scrape_target": "a:1", "tls": {"ca_file": "/ca.pem"}},
                                            {"scrape_target": "b:1", "tls": {"key": KEY, "cert_file": "/c.pem"}}])
    assert problems == [
        "octavia_prometheus_targets[1].tls.key cannot be PEM text here: name a file on the Prometheus host with "
        "key_file, or put the text in the role-wide setting, which is kept out of logs."]


def test_a_source_may_name_files_but_not_carry_pem_text_and_its_paths_are_checked():
    problems = prometheus_tls_problems({}, sources=[
        {"cloud": "one", "tls": {"ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"}},
        {"cloud": "two"},
        {"cloud": "three", "tls": {"ca": CA, "cert_file": "relative.pem", "key_file": "/k.pem"}}])
    assert problems == [
        "octavia_prometheus_sources[2].tls.ca cannot be PEM text here: name a file on the Prometheus host with "
        "ca_file, or put the text in the role-wide setting, which is kept out of logs.",
        "octavia_prometheus_sources[2].tls.cert_file must be an absolute path on the Prometheus host "
        "(got 'relative.pem')."]


def test_the_web_server_needs_a_certificate_and_a_key():
    (problem,) = prometheus_tls_problems({}, web_tls={"ca_file": "/ca.pem"})
    assert problem.startswith("octavia_prometheus_web_tls needs the server certificate and its key")
    (problem,) = prometheus_tls_problems({}, web_tls={"cert_file": "/c", "key_file": "/k", "server_name": "x"})
    assert "unknown keys (server_name)" in problem


def test_basic_auth_users_must_be_bcrypt_hashes_and_the_client_one_of_them():
    (problem,) = prometheus_tls_problems({}, web_users={"admin": "hunter2"},
                                         web_client={"username": "admin", "password": "hunter2"})
    assert "octavia_prometheus_web_users['admin'] must be a bcrypt hash" in problem and "hunter2" not in problem
    (problem,) = prometheus_tls_problems({}, web_users={"admin": HASH})
    assert "needs octavia_prometheus_web_client_username" in problem
    (problem,) = prometheus_tls_problems({}, web_users={"admin": HASH}, web_client={"username": "bob", "password": "x"})
    assert "(bob) is not one of octavia_prometheus_web_users (admin)" in problem
    (problem,) = prometheus_tls_problems({}, web_client={"username": "bob"})
    assert "without octavia_prometheus_web_client_password" in problem


# prometheus_web_config

def test_web_config_with_tls_content_and_users():
    web = prometheus_web_config({"cert": CERT, "key": KEY, "ca_file": "/etc/pki/clients.pem",
                                 "client_auth_type": "VerifyClientCertIfGiven"},
                                {"zed": HASH, "admin": HASH}, "/creds",
                                {"username": "admin", "password": "s3cret", "ca_file": "/etc/pki/ca.pem"})
    assert web["config"] == {
        "tls_server_config": {"cert_file": "/creds/web-cert.pem", "key_file": "/creds/web-key.pem",
                              "client_ca_file": "/etc/pki/clients.pem", "client_auth_type": "VerifyClientCertIfGiven"},
        "basic_auth_users": {"admin": HASH, "zed": HASH}}
    assert list(web["config"]["basic_auth_users"]) == ["admin", "zed"], "sorted, so the file is stable"
    assert [(f["path"], f["secret"]) for f in web["files"]] == [
        ("/creds/web-cert.pem", False), ("/creds/web-client-password", True), ("/creds/web-key.pem", True)]
    assert web["scrape"] == {"basic_auth": {"username": "admin", "password_file": "/creds/web-client-password"},
                             "tls_config": {"ca_file": "/etc/pki/ca.pem"}}
    assert "s3cret" not in repr(web["scrape"]) and "s3cret" not in repr(web["config"])


def test_web_config_without_anything_is_empty():
    assert prometheus_web_config({}, {}, "/creds", {}) == {"config": {}, "files": [], "scrape": {}}


def test_web_config_with_users_only_and_a_client_certificate():
    web = prometheus_web_config({}, {"admin": HASH}, "/creds",
                                {"username": "admin", "password": "pw", "cert_file": "/c.pem", "key_file": "/k.pem"})
    assert web["config"] == {"basic_auth_users": {"admin": HASH}}
    assert web["scrape"]["tls_config"] == {"cert_file": "/c.pem", "key_file": "/k.pem"}


# The role's argument spec and _targets name the same keys (the spec is where no_log lives).

def test_the_argument_spec_and_the_profile_keys_agree():
    import pathlib

    import yaml

    from ansible_collections.octavia.monitoring.plugins.module_utils._targets import (
        TLS_MATERIAL,
        TLS_SCRAPE_OPTIONS,
        TLS_WEB_OPTIONS,
    )
    spec = pathlib.Path(__file__).resolve().parents[4] / "roles" / "octavia_prometheus" / "meta" / "argument_specs.yml"
    options = yaml.safe_load(spec.read_text())["argument_specs"]["main"]["options"]
    material = {key for pair in TLS_MATERIAL for key in pair}
    assert set(options["octavia_prometheus_tls"]["options"]) == material | set(TLS_SCRAPE_OPTIONS)
    assert set(options["octavia_prometheus_web_tls"]["options"]) == material | set(TLS_WEB_OPTIONS)
    for name in ("octavia_prometheus_tls", "octavia_prometheus_web_tls"):
        assert options[name]["options"]["key"].get("no_log") is True, name
    assert options["octavia_prometheus_web_users"].get("no_log") is True
    assert options["octavia_prometheus_web_client_password"].get("no_log") is True
