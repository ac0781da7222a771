"""The PromQL building blocks, on plain strings."""
import pytest

from dashboards import promql


@pytest.mark.parametrize("matchers, expected", [
    ((), ""),
    (('a="1"',), '{a="1"}'),
    (('a="1"', 'b=~"x|y"'), '{a="1", b=~"x|y"}'),
])
def test_sel(matchers, expected):
    assert promql.sel(*matchers) == expected


def test_rate_and_increase_windows():
    assert promql.rate("m", 'a="1"') == 'rate(m{a="1"}[$__rate_interval])'
    assert promql.increase("m", window="$__range") == "increase(m[$__range])"


@pytest.mark.parametrize("by, expected", [
    ((), "sum (x)"),
    (("pool_name",), "sum by (pool_name) (x)"),
    (("a", "b"), "sum by (a, b) (x)"),
])
def test_agg(by, expected):
    assert promql.agg("sum", by, "x") == expected


@pytest.mark.parametrize("kind, expected", [
    ("listener", 'm * on (listener) group_left (listener_name) octavia_listener_info{a="1"}'),
    ("pool", 'm * on (pool) group_left (pool_name, listener_name) octavia_pool_info{a="1"}'),
    ("member", 'm * on (member) group_left (member_name, member_address, pool_name) octavia_member_info{a="1"}'),
])
def test_named_joins_the_catalogue(kind, expected):
    assert promql.named("m", kind, 'a="1"') == expected


def test_named_rejects_unknown_kinds():
    with pytest.raises(KeyError):
        promql.named("m", "amphora")


def test_state_code_reads_both_haproxy_formats():
    # HAProxy's numbers plus one: the 2.4+ state series times their code, the older number plus one.
    assert promql.state_code("octavia_pool_status", 'a="1"') == (
        'sum without (state) (octavia_pool_status{a="1", state="DOWN"} * 1'
        ' or octavia_pool_status{a="1", state="UP"} * 2 or octavia_pool_status{a="1", state=""} + 1)')


def test_in_state_reads_both_haproxy_formats():
    assert promql.in_state("octavia_member_status", "MAINT", 'a="1"') == (
        '(octavia_member_status{a="1", state="MAINT"} or '
        'label_replace(octavia_member_status{a="1", state=""} == bool 2, "state", "MAINT", "", ""))')


@pytest.mark.parametrize("call", [
    lambda: promql.state_code("octavia_listener_http_responses_total"),
    lambda: promql.in_state("octavia_listener_http_responses_total", "UP"),
])
def test_state_helpers_refuse_metrics_without_states(call):
    with pytest.raises(KeyError):
        call()


def test_in_state_refuses_a_state_haproxy_does_not_have():
    with pytest.raises(ValueError):
        promql.in_state("octavia_pool_status", "MAINT")
