"""The octavia_vmalert role's filters (plugins/filter/vmalert_*.py), on plain dicts."""
import base64

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.octavia.monitoring.plugins.filter.vmalert_args import FilterModule as ArgsModule
from ansible_collections.octavia.monitoring.plugins.filter.vmalert_args import vmalert_args, vmalert_connections
from ansible_collections.octavia.monitoring.plugins.filter.vmalert_connections import FilterModule as ConnModule
from ansible_collections.octavia.monitoring.plugins.filter.vmalert_reload_owed import FilterModule as OwedModule
from ansible_collections.octavia.monitoring.plugins.filter.vmalert_reload_owed import vmalert_reload_owed

STORE = "http://127.0.0.1:8428"


def settings(**over):
    base = {"listen_address": "127.0.0.1:8880", "rules": ["/r/*.yml"], "evaluation_interval": "1m",
            "datasource": {"url": STORE}, "remote_write": {"url": STORE}, "remote_read": {"url": ""},
            "notifiers": [{"url": "http://127.0.0.1:9093"}], "external_labels": {}, "external_url": "",
            "extra_args": []}
    base.update(over)
    return base


@pytest.mark.parametrize("module, name", [(ArgsModule, "vmalert_args"), (ConnModule, "vmalert_connections"),
                                          (OwedModule, "vmalert_reload_owed")])
def test_each_file_holds_the_filter_it_is_named_after(module, name):
    assert list(module().filters()) == [name]


def test_the_plain_command_line():
    assert vmalert_args(settings(), "/s") == [
        "-httpListenAddr=127.0.0.1:8880", "-rule=/r/*.yml", "-evaluationInterval=1m",
        f"-datasource.url={STORE}", f"-remoteWrite.url={STORE}", "-notifier.url=http://127.0.0.1:9093"]


def test_passwords_are_files_and_tls_options_flags():
    args = vmalert_args(settings(datasource={"url": STORE, "username": "u", "password": "pw",
                                             "tls_ca_file": "/ca.pem", "tls_insecure_skip_verify": True},
                                 remote_read={"url": STORE}, external_labels={"ruler": "central"},
                                 external_url="http://ruler", extra_args=["-rule.validateTemplates=false"]), "/s/")
    assert "pw" not in " ".join(args)
    assert args[3:8] == [f"-datasource.url={STORE}", "-datasource.basicAuth.username=u",
                         "-datasource.basicAuth.passwordFile=/s/datasource.password",
                         "-datasource.tlsCAFile=/ca.pem", "-datasource.tlsInsecureSkipVerify=true"]
    assert f"-remoteRead.url={STORE}" in args
    assert args[-3:] == ["-external.label=ruler=central", "-external.url=http://ruler", "-rule.validateTemplates=false"]


def test_notifier_options_carry_one_value_per_notifier_in_order():
    args = vmalert_args(settings(notifiers=[
        {"url": "http://a:9093"},
        {"url": "https://b:9093", "username": "bob", "password": "x", "tls_insecure_skip_verify": True}]), "/s")
    notifier = [a for a in args if a.startswith("-notifier.")]
    assert notifier == ["-notifier.url=http://a:9093,https://b:9093", "-notifier.basicAuth.username=,bob",
                        "-notifier.basicAuth.passwordFile=,/s/notifier1.password",
                        "-notifier.tlsInsecureSkipVerify=false,true"]


@pytest.mark.parametrize("over, needle", [
    ({"datasource": {"url": ""}}, "the datasource needs a url"),
    ({"extra_args": ["-a=b c"]}, "holds white space"),
    ({"notifiers": [{"url": "http://a,b"}]}, "holds a comma"),
])
def test_command_lines_vmalert_would_misread_are_refused(over, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        vmalert_args(settings(**over), "/s")


def test_connections_name_each_password_file():
    conns = vmalert_connections(settings(datasource={"url": STORE, "username": "u", "password": "pw"},
                                         notifiers=[{"url": "http://a"}, {"url": "http://b", "password": "p2"}]), "/s")
    assert [(c["key"], c["name"], c["path"], c["password"]) for c in conns] == [
        ("datasource", "octavia_vmalert_datasource", "/s/datasource.password", "pw"),
        ("remote_write", "octavia_vmalert_remote_write", "/s/remote_write.password", ""),
        ("remote_read", "octavia_vmalert_remote_read", "/s/remote_read.password", ""),
        ("notifier0", "notifier http://a", "/s/notifier0.password", ""),
        ("notifier1", "notifier http://b", "/s/notifier1.password", "p2")]
    assert conns[4]["username"] == ""


RULES = """groups:
  - name: octavia-alerts
    rules:
      - alert: OctaviaMemberDown
        expr: |-
          octavia_member_status == 1
        for: 1m30s
      - record: octavia_member_info
        expr: vector(1)
  - name: empty
    rules: []
"""


def loaded(query="octavia_member_status == 1", duration=90, name="octavia-alerts", path="/r/a.yml"):
    return {"name": name, "file": path, "rules": [
        {"name": "OctaviaMemberDown", "query": query, "duration": duration},
        {"name": "octavia_member_info", "query": "vector(1)", "duration": 0}]}


def slurped(text, path="/r/a.yml"):
    return {"source": path, "encoding": "base64", "content": base64.b64encode(text.encode()).decode()}


@pytest.mark.parametrize("groups, files, reasons", [
    ([loaded()], [{"path": "/r/a.yml", "content": RULES}], []),
    ([loaded()], [slurped(RULES)], []),
    ([loaded(query="octavia_member_status == 2")], [slurped(RULES)],
     ["vmalert runs other rules in group octavia-alerts of /r/a.yml than the file holds."]),
    ([loaded(duration=60)], [slurped(RULES)],
     ["vmalert runs other rules in group octavia-alerts of /r/a.yml than the file holds."]),
    ([], [slurped(RULES)], ["vmalert has not loaded /r/a.yml."]),
    ([loaded()], [], ["vmalert still runs /r/a.yml, which is gone."]),
    ([loaded(name="old")], [slurped(RULES)],
     ["vmalert has not loaded group octavia-alerts of /r/a.yml.",
      "vmalert still runs group old, which /r/a.yml no longer has."]),
    # Empty groups and files that hold no rules do not count, wherever they are.
    ([loaded(), {"name": "empty", "file": "/r/a.yml", "rules": []}], [slurped(RULES), slurped("groups: []\n", "/r/b.yml")], []),
])
def test_reload_owed_when_vmalert_does_not_run_the_files(groups, files, reasons):
    assert vmalert_reload_owed(groups, files) == reasons
