"""_catalog: the names of a load balancer's listeners, pools and members (migrated from test__compare.py)."""
from ansible_collections.octavia.monitoring.plugins.module_utils._catalog import catalog_entry


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "connection_limit": -1}
    base.update(kw)
    return base


def test_catalog_entry_sorted_with_pool_listeners_and_members():
    listeners = [listener(id="l-2", name="web-in", protocol="HTTP", protocol_port=80, connection_limit=10),
                 listener(id="l-1", name=None)]
    pools = [{"id": "p-2", "name": "", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "listeners": []},
             {"id": "p-1", "name": "web", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS",
              "listeners": [{"id": "l-3"}, {"id": "l-2"}]}]
    members = {"p-1": [{"id": "m-2", "name": "b", "address": "10.0.0.2", "protocol_port": 80, "weight": 1},
                       {"id": "m-1", "name": None, "address": "10.0.0.1", "protocol_port": 80, "weight": 5}]}
    entry = catalog_entry(listeners, pools, members)
    assert entry["listeners"] == [
        {"id": "l-1", "name": "", "protocol": "PROMETHEUS", "protocol_port": 8088, "connection_limit": -1},
        {"id": "l-2", "name": "web-in", "protocol": "HTTP", "protocol_port": 80, "connection_limit": 10}]
    assert entry["pools"] == [
        {"id": "p-1", "name": "web", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS",
         "listener_id": "l-2", "listener_ids": ["l-2", "l-3"]},
        {"id": "p-2", "name": "", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
         "listener_id": None, "listener_ids": []}]
    assert entry["members"] == [
        {"id": "m-1", "name": "", "address": "10.0.0.1", "protocol_port": 80, "weight": 5, "pool_id": "p-1"},
        {"id": "m-2", "name": "b", "address": "10.0.0.2", "protocol_port": 80, "weight": 1, "pool_id": "p-1"}]


def test_catalog_entry_pool_without_listeners_key_or_members():
    entry = catalog_entry([], [{"id": "p", "protocol": "TCP", "lb_algorithm": "SOURCE_IP"}], {"p": None})
    assert entry["pools"] == [{"id": "p", "name": "", "protocol": "TCP", "lb_algorithm": "SOURCE_IP",
                               "listener_id": None, "listener_ids": []}]
    assert entry["members"] == []


def test_catalog_entry_empty():
    assert catalog_entry([], [], {}) == {"listeners": [], "pools": [], "members": []}
