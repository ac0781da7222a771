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


def test_state_code_numbers_states_from_one():
    assert promql.state_code("s", ("UP", "DOWN"), 'a="1"') == (
        'sum without (state) (s{a="1", state="UP"} * 1 or s{a="1", state="DOWN"} * 2)')
