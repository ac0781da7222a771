"""The pure parts of _octavia: the time budget and bounded concurrency."""
import importlib
import threading
import time

import pytest

OCTAVIA = "ansible_collections.octavia.monitoring.plugins.module_utils._octavia"


@pytest.fixture
def octavia(no_sdk):
    return importlib.import_module(OCTAVIA)


class Clock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_deadline_counts_down_and_expires(octavia):
    clock = Clock()
    deadline = octavia.Deadline(10, clock=clock)
    assert deadline.remaining() == 10 and not deadline.expired()
    clock.now += 9.5
    assert deadline.remaining() == pytest.approx(0.5)
    clock.now += 1
    assert deadline.remaining() == 0 and deadline.expired()


def test_deadline_zero_is_expired_at_once(octavia):
    assert octavia.Deadline(0, clock=Clock()).expired()


@pytest.mark.parametrize("name, expected", [
    ({"id": "1", "name": "web"}, "load balancer 'web' (1)"),
    ({"id": "1", "name": ""}, "load balancer 1"),
])
def test_describe(octavia, name, expected):
    assert octavia.describe(name, "load balancer") == expected


def test_map_bounded_keeps_order_and_bound(octavia):
    active, peak, lock = [0], [0], threading.Lock()

    def work(n):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01 * (10 - n % 10))   # later items finish first
        with lock:
            active[0] -= 1
        return n * n

    out = octavia.map_bounded(work, range(30), 4)
    assert [entry[0] for entry in out] == list(range(30))
    assert [entry[1] for entry in out] == [n * n for n in range(30)]
    assert 1 < peak[0] <= 4


def test_map_bounded_returns_exceptions_per_item(octavia):
    def work(n):
        if n == 2:
            raise KeyError(n)
        return n

    out = octavia.map_bounded(work, [1, 2, 3], 8)
    assert [(i, r) for i, r, e in out if e is None] == [(1, 1), (3, 3)]
    assert isinstance(out[1][2], KeyError) and out[1][1] is None


def test_map_bounded_empty_and_zero_workers(octavia):
    assert octavia.map_bounded(lambda x: x, [], 8) == []
    assert octavia.map_bounded(lambda x: x, [5], 0) == [(5, 5, None)]
