"""_stats: statistics items and totals of lb_stats_info (migrated from test__compare.py)."""
from ansible_collections.octavia.monitoring.plugins.module_utils import _stats as st

LB = {"id": "lb-1", "name": "web", "vip_address": "192.0.2.10", "project_id": "proj",
      "provider": "amphora", "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
      "tags": ["not", "reported"]}


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "load_balancers": [{"id": "lb-1"}]}
    base.update(kw)
    return base


def test_stats_fields_ints_and_missing_zero():
    assert st.stats_fields({"bytes_in": "12", "bytes_out": 3.0, "active_connections": None, "id": None}) == \
        {"active_connections": 0, "bytes_in": 12, "bytes_out": 3, "request_errors": 0, "total_connections": 0}
    assert st.stats_fields(None) == dict.fromkeys(st.STATS_KEYS, 0)


def test_sum_stats():
    a = st.stats_fields({"bytes_in": 1, "total_connections": 2})
    b = st.stats_fields({"bytes_in": 10, "request_errors": 4})
    assert st.sum_stats([a, b]) == {"active_connections": 0, "bytes_in": 11, "bytes_out": 0,
                                    "request_errors": 4, "total_connections": 2}
    assert st.sum_stats([]) == dict.fromkeys(st.STATS_KEYS, 0)


def test_lb_stats_item_without_listeners():
    item = st.lb_stats_item(LB, {"bytes_in": 5})
    assert set(item) == set(st.LB_STATS_KEYS) | {"stats"}
    assert item["stats"]["bytes_in"] == 5 and "listeners" not in item


def test_lb_stats_item_with_listeners_sorted_by_port():
    pairs = [(listener(id="b", protocol_port=9100), {"bytes_out": 2}),
             (listener(id="a", name=None, protocol="UDP", protocol_port=53), {"bytes_out": 1})]
    item = st.lb_stats_item(LB, {}, pairs)
    assert [x["id"] for x in item["listeners"]] == ["a", "b"]
    assert item["listeners"][0] == {"id": "a", "name": "", "protocol": "UDP", "protocol_port": 53,
                                    "stats": st.stats_fields({"bytes_out": 1})}
    assert st.lb_stats_item(LB, {}, [])["listeners"] == []


def test_stats_report_skips_deleted_and_sums_what_is_returned():
    lb_a = dict(LB, id="a", name="a")
    lb_b = dict(LB, id="b", name="b")
    lb_gone = dict(LB, id="gone", name="gone")
    listeners = [listener(id="la", load_balancers=[{"id": "a"}]),
                 listener(id="lgone", load_balancers=[{"id": "a"}]),
                 listener(id="lb", load_balancers=[{"id": "b"}])]
    stats = {"a": {"bytes_in": 10, "total_connections": 1}, "b": {"bytes_in": 5},
             "la": {"bytes_in": 10}, "lb": {"bytes_in": 5}}
    items, totals = st.stats_report([lb_a, lb_gone, lb_b], listeners, stats)
    assert [i["id"] for i in items] == ["a", "b"]
    assert [x["id"] for x in items[0]["listeners"]] == ["la"]
    assert [x["id"] for x in items[1]["listeners"]] == ["lb"]
    assert totals == {"active_connections": 0, "bytes_in": 15, "bytes_out": 0, "request_errors": 0,
                      "total_connections": 1}


def test_stats_report_without_listeners_and_empty():
    items, totals = st.stats_report([dict(LB, id="a")], None, {"a": {"bytes_out": 3}})
    assert "listeners" not in items[0] and totals["bytes_out"] == 3
    assert st.stats_report([], None, {}) == ([], dict.fromkeys(st.STATS_KEYS, 0))
