"""lb_stats_info on scripted doubles of the SDK proxy: scope, totals, listeners, objects
deleted while reading, the concurrency cap."""
from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import (
    FakeProxy,
    HttpError,
    run_module,
)

NAME = "lb_stats_info"
A = "00000001-aaaa-4bbb-8ccc-000000000000"
B = "00000002-aaaa-4bbb-8ccc-000000000000"


def proxy():
    fake = FakeProxy(
        lbs=[{"id": A, "name": "web", "project_id": "p1", "provider": "ovn", "provisioning_status": "ACTIVE"},
             {"id": B, "name": "api", "project_id": "p2", "provider": "amphora", "provisioning_status": "ACTIVE"}],
        listeners=[{"id": "l-a", "name": "http", "protocol": "HTTP", "protocol_port": 80,
                    "load_balancers": [{"id": A}], "project_id": "p1"}])
    fake.stats = {A: {"bytes_in": 10, "total_connections": 2}, B: {"bytes_in": 5}, "l-a": {"bytes_in": 10}}
    return fake


def test_every_load_balancer_and_totals(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {}, proxy(), monkeypatch, capsys)
    assert [x["name"] for x in result["load_balancers"]] == ["api", "web"]
    assert result["totals"]["bytes_in"] == 15 and result["totals"]["total_connections"] == 2
    assert "listeners" not in result["load_balancers"][0]


def test_with_listeners_and_filters(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {"include_listeners": True, "filters": {"providers": ["OVN"]}}, proxy(),
                                 monkeypatch, capsys)
    [item] = result["load_balancers"]
    assert item["name"] == "web" and [x["id"] for x in item["listeners"]] == ["l-a"]


def test_one_listener_found_anywhere(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {"listener": "http"}, proxy(), monkeypatch, capsys)
    [item] = result["load_balancers"]
    assert item["id"] == A and [x["id"] for x in item["listeners"]] == ["l-a"]


def test_a_load_balancer_deleted_while_reading_is_left_out_with_a_warning(no_sdk, monkeypatch, capsys):
    fake = proxy()
    del fake.stats[B]
    result, _opened = run_module(NAME, {}, fake, monkeypatch, capsys)
    assert [x["name"] for x in result["load_balancers"]] == ["web"]
    assert result["_warned"] == [f"Skipped load balancer 'api' ({B}): it was deleted while its statistics "
                                 "were read."]


def test_a_statistics_failure_names_the_object(no_sdk, monkeypatch, capsys):
    fake = proxy()
    fake.faults["get_listener_statistics"] = [HttpError(500, "boom")]
    result, _opened = run_module(NAME, {"load_balancer": "web", "include_listeners": True}, fake, monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"] == (f"Could not read the statistics of listener 'http' (l-a) on load balancer 'web' "
                             f"({A}): the API answered HTTP 500: boom.")


def test_a_missing_load_balancer_is_an_empty_answer(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {"load_balancer": "nope"}, proxy(), monkeypatch, capsys)
    assert result["load_balancers"] == [] and "failed" not in result


def test_concurrency_is_capped(no_sdk, monkeypatch, capsys):
    result, _opened = run_module(NAME, {"concurrency": 64}, proxy(), monkeypatch, capsys)
    assert result["failed"] is True and result["msg"].startswith("concurrency must be between 1 and 32")
