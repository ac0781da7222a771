"""The octavia_prometheus role's scale filters on plain data: shards, remote write, Alertmanagers."""
import hashlib
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.octavia.monitoring.plugins.filter.prometheus_alertmanagers import (
    FilterModule as AlertmanagersModule,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_alertmanagers import prometheus_alertmanagers
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_remote_write import (
    FilterModule as RemoteWriteModule,
)
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_remote_write import prometheus_remote_write
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_shard import FilterModule as ShardModule
from ansible_collections.octavia.monitoring.plugins.filter.prometheus_shard import prometheus_shard


@pytest.mark.parametrize("module, name", [
    (ShardModule, "prometheus_shard"), (RemoteWriteModule, "prometheus_remote_write"),
    (AlertmanagersModule, "prometheus_alertmanagers"),
])
def test_each_file_holds_the_filter_it_is_named_after(module, name):
    assert list(module().filters()) == [name]


# prometheus_shard

def hashmod(value, modulus):
    """Prometheus' hashmod: the last 8 bytes of the md5 of the value, big-endian, modulo."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus  # noqa: S324 - Prometheus' hash


def keeps(shard, labels):
    """Apply the shard's relabelling to one target's labels the way Prometheus does."""
    labels = dict(labels)
    for step in shard["relabel_configs"]:
        value = ";".join(labels.get(name, "") for name in step["source_labels"])
        if step["action"] == "hashmod":
            labels[step["target_label"]] = str(hashmod(value, step["modulus"]))
        elif step["action"] == "keep" and not re.fullmatch(step["regex"], value):
            return False
    return True


def test_one_host_keeps_everything_without_hashing():
    assert prometheus_shard(["prom"], "prom") == {"host": "prom", "index": 0, "count": 1, "relabel_configs": []}


def test_the_index_is_the_place_in_the_sorted_group_whatever_the_order():
    for order in (["c", "a", "b"], ["b", "c", "a"], ["a", "b", "c", "a"]):
        assert [prometheus_shard(order, h)["index"] for h in ("a", "b", "c")] == [0, 1, 2]
        assert prometheus_shard(order, "b")["count"] == 3


def test_the_relabelling_hashes_the_load_balancer_id_and_keeps_this_index():
    shard = prometheus_shard(["a", "b", "c"], "c")
    assert shard["relabel_configs"] == [
        {"source_labels": ["loadbalancer_id"], "modulus": 3, "target_label": "__tmp_octavia_shard",
         "action": "hashmod"},
        {"source_labels": ["__tmp_octavia_shard"], "regex": "2", "action": "keep"},
    ]
    assert prometheus_shard(["a", "b"], "a", key="instance")["relabel_configs"][0]["source_labels"] == ["instance"]


@pytest.mark.parametrize("hosts", [["a", "b"], ["a", "b", "c"], ["p1", "p2", "p3", "p4", "p5"]])
def test_every_target_is_kept_by_exactly_one_shard(hosts):
    shards = [prometheus_shard(hosts, h) for h in hosts]
    targets = [{"loadbalancer_id": f"{i:08x}-lb", "listener_id": f"l{i}"} for i in range(300)]
    for target in targets:
        assert sum(keeps(shard, target) for shard in shards) == 1
    assert all(any(keeps(shard, t) for t in targets) for shard in shards), "a shard with no share"


def test_listeners_of_one_load_balancer_stay_together():
    shards = [prometheus_shard(["a", "b", "c"], h) for h in ("a", "b", "c")]
    for lb in range(50):
        owners = {next(s["host"] for s in shards if keeps(s, {"loadbalancer_id": str(lb), "listener_id": str(n)}))
                  for n in range(4)}
        assert len(owners) == 1


def test_removing_a_shard_leaves_no_target_unscraped():
    targets = [{"loadbalancer_id": str(i)} for i in range(200)]
    remaining = [prometheus_shard(["a", "c"], h) for h in ("a", "c")]
    assert all(sum(keeps(s, t) for s in remaining) == 1 for t in targets)


def test_a_target_without_the_label_still_lands_once():
    shards = [prometheus_shard(["a", "b", "c"], h) for h in ("a", "b", "c")]
    assert sum(keeps(s, {}) for s in shards) == 1


@pytest.mark.parametrize("hosts, host, words", [
    (["a", "b"], "z", "z is not in its shard group (a, b)"),
    ([], "z", "(empty)"),
    ("a,b", "a", "must be a list"),
])
def test_a_host_outside_its_group_is_one_sentence(hosts, host, words):
    with pytest.raises(AnsibleFilterError, match=re.escape(words)):
        prometheus_shard(hosts, host)


# prometheus_remote_write

QUEUE = {"capacity": 10000, "max_samples_per_send": 2000, "max_shards": 50}


def test_the_queue_defaults_fill_in_what_an_entry_does_not_set():
    out = prometheus_remote_write([{"url": "http://127.0.0.1:8428/api/v1/write"},
                                   {"url": "https://store:443/w", "queue_config": {"max_shards": 5}}], QUEUE)
    assert out["remote_write"][0]["queue_config"] == QUEUE
    assert out["remote_write"][1]["queue_config"] == {**QUEUE, "max_shards": 5}
    assert out["inline_secrets"] == []


def test_no_queue_defaults_adds_no_queue_config():
    out = prometheus_remote_write([{"url": "http://127.0.0.1:8428/api/v1/write", "name": "vm"}], {})
    assert out["remote_write"] == [{"url": "http://127.0.0.1:8428/api/v1/write", "name": "vm"}]


def test_the_input_is_not_changed():
    entries = [{"url": "http://x:1/w"}]
    prometheus_remote_write(entries, QUEUE)
    assert entries == [{"url": "http://x:1/w"}]


def test_inline_secrets_are_named_and_files_are_not():
    out = prometheus_remote_write([
        {"url": "http://a:1/w", "basic_auth": {"username": "u", "password_file": "/etc/p"}},
        {"url": "http://b:1/w", "basic_auth": {"username": "u", "password": "s3cret"}},
        {"url": "http://c:1/w", "authorization": {"credentials": "t"}, "bearer_token": "x"},
        {"url": "http://d:1/w", "oauth2": {"client_id": "i", "client_secret": "s"}, "sigv4": {"secret_key": "k"}},
    ])
    assert out["inline_secrets"] == [
        "octavia_prometheus_remote_write[1].basic_auth.password",
        "octavia_prometheus_remote_write[2].authorization.credentials",
        "octavia_prometheus_remote_write[2].bearer_token",
        "octavia_prometheus_remote_write[3].oauth2.client_secret",
        "octavia_prometheus_remote_write[3].sigv4.secret_key",
    ]


@pytest.mark.parametrize("entries, words", [
    ({"url": "http://a:1/w"}, "must be a list"),
    (["http://a:1/w"], "[0] must be a dict"),
    ([{"url": "http://a:1/w"}, {"name": "x"}], "[1] needs a url"),
    ([{"url": "ftp://a/w"}], "[0] needs a url"),
])
def test_bad_entries_are_one_sentence(entries, words):
    with pytest.raises(AnsibleFilterError, match=re.escape(words)):
        prometheus_remote_write(entries, QUEUE)


# prometheus_alertmanagers

def test_host_port_strings_share_one_static_config():
    assert prometheus_alertmanagers(["127.0.0.1:9093", "[::1]:9094", "am.example:9093", "127.0.0.1:9093"]) == {
        "alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093", "[::1]:9094", "am.example:9093"]}]}]}


def test_full_configs_are_appended_after_the_users_own():
    full = {"scheme": "https", "static_configs": [{"targets": ["am:9093"]}]}
    own = {"alert_relabel_configs": [{"action": "labeldrop", "regex": "shard"}],
           "alertmanagers": [{"static_configs": [{"targets": ["old:9093"]}]}]}
    out = prometheus_alertmanagers(["127.0.0.1:9093", full], own)
    assert out["alert_relabel_configs"] == own["alert_relabel_configs"]
    assert out["alertmanagers"] == [own["alertmanagers"][0], {"static_configs": [{"targets": ["127.0.0.1:9093"]}]},
                                    full]
    assert own["alertmanagers"] == [{"static_configs": [{"targets": ["old:9093"]}]}], "input changed"


def test_nothing_to_alert_to_is_empty():
    assert prometheus_alertmanagers([], {}) == {}
    assert prometheus_alertmanagers([], {"alertmanagers": []}) == {"alertmanagers": []}


@pytest.mark.parametrize("entry", ["127.0.0.1", "http://127.0.0.1:9093", "127.0.0.1:0", "127.0.0.1:70000", 9093])
def test_a_bad_alertmanager_is_one_sentence(entry):
    with pytest.raises(AnsibleFilterError, match=r"octavia_prometheus_alertmanagers\[1\] must be host:port"):
        prometheus_alertmanagers(["127.0.0.1:9093", entry])
