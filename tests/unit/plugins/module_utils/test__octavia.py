"""_octavia on scripted doubles of the SDK proxy: the one wait, the one write, bounded concurrency,
the finders and the fleet reads (issue 10 item 5).

The doubles (octavia_fakes) are plain Python objects with the proxy's methods; the clock is
fake and its sleep advances it, so every timeout is exercised without waiting. openstacksdk
is never imported (``no_sdk``).
"""
import importlib
import threading
import time
import types

import pytest
import requests

from ansible_collections.octavia.monitoring.tests.unit.plugins.module_utils.octavia_fakes import (
    FakeClock,
    FakeConfig,
    FakeConn,
    FakeNetwork,
    FakeProxy,
    FloatingIP,
    HttpError,
    Lost,
    Port,
    forbidden,
    immutable,
)

MU = "ansible_collections.octavia.monitoring.plugins.module_utils."
LB_ID = "11111111-aaaa-4bbb-8ccc-000000000001"


@pytest.fixture
def o(no_sdk):
    """_octavia and the exception classes it raises, imported as on a host without openstacksdk."""
    octavia = importlib.import_module(MU + "_octavia")
    errors = importlib.import_module(MU + "_errors")
    return types.SimpleNamespace(octavia=octavia, OctaviaError=errors.OctaviaError,
                                 PlanError=errors.PlanError)


def lb(**kw):
    base = {"id": LB_ID, "name": "web", "vip_address": "192.0.2.10", "vip_port_id": "port-1",
            "project_id": "p1", "provider": "amphora", "provisioning_status": "ACTIVE",
            "operating_status": "ONLINE", "tags": ["a"]}
    base.update(kw)
    return base


def listener(**kw):
    base = {"id": "l-1", "name": "prometheus", "protocol": "PROMETHEUS", "protocol_port": 8088,
            "load_balancers": [{"id": LB_ID}], "provisioning_status": "ACTIVE",
            "operating_status": "ONLINE", "project_id": "p1"}
    base.update(kw)
    return base


def setup(lbs=None, listeners=()):
    proxy = FakeProxy(lbs=[lb()] if lbs is None else lbs, listeners=listeners)
    return proxy, FakeConn(proxy), FakeClock()


# --- Deadline and describe -------------------------------------------------

def test_deadline_counts_down_and_expires(o):
    clock = FakeClock(100.0)
    deadline = o.octavia.Deadline(10, clock=clock)
    assert deadline.remaining() == 10 and not deadline.expired() and deadline.timeout == 10
    clock.now += 9.5
    assert deadline.remaining() == pytest.approx(0.5)
    clock.now += 1
    assert deadline.remaining() == 0 and deadline.expired()


def test_deadline_zero_is_expired_at_once(o):
    assert o.octavia.Deadline(0, clock=FakeClock()).expired()


def test_deadline_uses_the_monotonic_clock_by_default(o):
    deadline = o.octavia.Deadline(60)
    assert 59 < deadline.remaining() <= 60


@pytest.mark.parametrize("obj, expected", [
    ({"id": "1", "name": "web"}, "load balancer 'web' (1)"),
    ({"id": "1", "name": ""}, "load balancer 1"),
    ({"id": "1"}, "load balancer 1"),
])
def test_describe(o, obj, expected):
    assert o.octavia.describe(obj, "load balancer") == expected


# --- wait_lb_idle ----------------------------------------------------------

def test_wait_active_load_balancer_is_trusted_without_a_read(o):
    proxy, conn, clock = setup()
    given = lb()
    assert o.octavia.wait_lb_idle(conn, given, o.octavia.Deadline(10, clock), sleep=clock.sleep) == (given, None)
    assert proxy.calls == [] and clock.sleeps == []


def test_wait_pending_then_active_reads_until_active_with_growing_pauses(o):
    proxy, conn, clock = setup()
    proxy.statuses[LB_ID] = ["PENDING_UPDATE", "PENDING_UPDATE", "PENDING_UPDATE", "ACTIVE"]
    found, found_listener = o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"),
                                                   o.octavia.Deadline(60, clock), sleep=clock.sleep)
    assert found["provisioning_status"] == "ACTIVE" and found_listener is None
    assert proxy.ops() == ["get_load_balancer"] * 4
    assert clock.sleeps == pytest.approx([0.2, 0.3, 0.45])


def test_wait_pauses_never_exceed_two_seconds(o):
    proxy, conn, clock = setup()
    proxy.statuses[LB_ID] = ["PENDING_UPDATE"] * 12 + ["ACTIVE"]
    o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"), o.octavia.Deadline(600, clock),
                           sleep=clock.sleep)
    assert max(clock.sleeps) == 2.0 and clock.sleeps == sorted(clock.sleeps)


def test_wait_error_fails_at_once_without_a_pause(o):
    proxy, conn, clock = setup()
    proxy.statuses[LB_ID] = ["ERROR"]
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"), o.octavia.Deadline(60, clock),
                               sleep=clock.sleep)
    assert str(err.value) == (f"Load balancer 'web' ({LB_ID}) is in provisioning status ERROR (operating "
                              "status ONLINE), so Octavia will not change it; repair or delete it first.")
    assert err.value.extra == {"provisioning_status": "ERROR"}
    assert clock.sleeps == [] and proxy.ops() == ["get_load_balancer"]


@pytest.mark.parametrize("status", ["PENDING_DELETE", "DELETED"])
def test_wait_deleted_load_balancer_fails_at_once(o, status):
    proxy, conn, clock = setup()
    proxy.statuses[LB_ID] = [status]
    with pytest.raises(o.OctaviaError, match=f"is in provisioning status {status} ") as err:
        o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"), o.octavia.Deadline(60, clock),
                               sleep=clock.sleep)
    assert err.value.extra["provisioning_status"] == status and clock.sleeps == []


def test_wait_an_error_in_the_given_dict_is_read_again(o):
    """The dict may be stale; only a fresh read decides that the load balancer is broken."""
    proxy, conn, clock = setup()
    found, _listener = o.octavia.wait_lb_idle(conn, lb(provisioning_status="ERROR"), o.octavia.Deadline(60, clock),
                                              sleep=clock.sleep)
    assert found["provisioning_status"] == "ACTIVE" and proxy.ops() == ["get_load_balancer"]


def test_wait_listener_pending_then_active(o):
    proxy, conn, clock = setup(listeners=[listener()])
    proxy.statuses["l-1"] = ["PENDING_CREATE", "ACTIVE"]
    found, found_listener = o.octavia.wait_lb_idle(conn, lb(), o.octavia.Deadline(60, clock),
                                                   listener_id="l-1", sleep=clock.sleep)
    assert found["provisioning_status"] == "ACTIVE"
    assert found_listener == dict(listener(), provisioning_status="ACTIVE")
    assert proxy.ops() == ["get_load_balancer", "get_listener"] * 2
    assert clock.sleeps == [0.2]


def test_wait_listener_is_read_only_once_the_load_balancer_is_active(o):
    proxy, conn, clock = setup(listeners=[listener()])
    proxy.statuses[LB_ID] = ["PENDING_UPDATE", "ACTIVE"]
    o.octavia.wait_lb_idle(conn, lb(), o.octavia.Deadline(60, clock), listener_id="l-1", sleep=clock.sleep)
    assert proxy.ops() == ["get_load_balancer", "get_load_balancer", "get_listener"]


def test_wait_listener_error_fails_at_once_and_carries_the_listener(o):
    proxy, conn, clock = setup(listeners=[listener()])
    proxy.statuses["l-1"] = ["ERROR"]
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.wait_lb_idle(conn, lb(), o.octavia.Deadline(60, clock), listener_id="l-1", sleep=clock.sleep)
    assert str(err.value).startswith("Listener 'prometheus' (l-1) is in provisioning status ERROR")
    assert err.value.extra["provisioning_status"] == "ERROR"
    assert err.value.extra["listener"] == dict(listener(), provisioning_status="ERROR")
    assert clock.sleeps == []


def test_wait_timeout_names_the_load_balancer_and_says_stuck(o):
    proxy, conn, clock = setup()
    proxy.statuses[LB_ID] = ["PENDING_UPDATE"]
    start = clock.now
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"), o.octavia.Deadline(10, clock),
                               sleep=clock.sleep)
    assert str(err.value) == (
        f"Timed out after 10s waiting for load balancer 'web' ({LB_ID}) to become ACTIVE; it is still "
        "PENDING_UPDATE. If it stays there, the Octavia worker that held it may have died: look at the "
        "worker, then raise timeout or repair the object.")
    assert err.value.extra == {"kind": "stuck", "provisioning_status": "PENDING_UPDATE"}
    assert clock.now - start == pytest.approx(10)          # never sleeps past the deadline


def test_wait_timeout_on_a_listener_names_the_listener(o):
    proxy, conn, clock = setup(listeners=[listener()])
    proxy.statuses["l-1"] = ["PENDING_CREATE"]
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.wait_lb_idle(conn, lb(), o.octavia.Deadline(5, clock), listener_id="l-1", sleep=clock.sleep)
    assert str(err.value).startswith("Timed out after 5s waiting for listener 'prometheus' (l-1) to become "
                                     "ACTIVE; it is still PENDING_CREATE.")
    assert err.value.extra == {"kind": "stuck", "provisioning_status": "PENDING_CREATE"}


def test_wait_read_failure_is_one_sentence(o):
    proxy, conn, clock = setup()
    proxy.faults["get_load_balancer"] = [HttpError(403, "Policy does not allow this request.")]
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"), o.octavia.Deadline(10, clock),
                               sleep=clock.sleep)
    assert str(err.value) == (f"Could not read load balancer 'web' ({LB_ID}): the API answered HTTP 403: "
                              "Policy does not allow this request.")


def test_wait_listener_read_failure_is_one_sentence(o):
    proxy, conn, clock = setup(listeners=[listener()])
    proxy.faults["get_listener"] = [HttpError(404, "Listener l-1 not found.")]
    with pytest.raises(o.OctaviaError, match=r"^Could not read listener l-1: the API answered HTTP 404: "):
        o.octavia.wait_lb_idle(conn, lb(), o.octavia.Deadline(10, clock), listener_id="l-1", sleep=clock.sleep)


@pytest.mark.parametrize("fault", [ConnectionResetError(104, "Connection reset by peer"),
                                   HttpError(503, "Service Unavailable")])
def test_wait_retries_a_transient_read_failure(o, fault):
    """Issue 15: retry connection resets and 5xx with backoff, within the deadline. The polls of
    the wait are most of the requests a rollout makes, so they meet most of the resets."""
    proxy, conn, clock = setup()
    proxy.faults["get_load_balancer"] = [fault]
    found, _listener = o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"),
                                              o.octavia.Deadline(60, clock), sleep=clock.sleep)
    assert found["provisioning_status"] == "ACTIVE"


def test_wait_gives_up_on_transient_read_failures_at_the_deadline(o):
    proxy, conn, clock = setup()
    proxy.faults["get_load_balancer"] = [ConnectionResetError(104, "Connection reset by peer")] * 100
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"), o.octavia.Deadline(10, clock),
                               sleep=clock.sleep)
    assert str(err.value) == (f"Could not read load balancer 'web' ({LB_ID}): the API endpoint could not be "
                              "reached ([Errno 104] Connection reset by peer).")
    assert clock.now - 1000.0 == pytest.approx(10)


def test_wait_retries_a_transient_listener_read(o):
    proxy, conn, clock = setup(listeners=[listener()])
    proxy.faults["get_listener"] = [HttpError(502, "Bad Gateway")]
    _lb, found = o.octavia.wait_lb_idle(conn, lb(), o.octavia.Deadline(10, clock), listener_id="l-1",
                                        sleep=clock.sleep)
    assert found["id"] == "l-1" and proxy.ops().count("get_listener") == 2


# --- write -----------------------------------------------------------------

def test_is_immutable_fault(o):
    assert o.octavia.is_immutable_fault(409, "Load Balancer x is immutable and cannot be updated")
    assert not o.octavia.is_immutable_fault(409, "Another Listener is already using protocol_port 8088")
    assert not o.octavia.is_immutable_fault(400, "immutable")
    assert not o.octavia.is_immutable_fault(409, None)


def scripted(*outcomes):
    """A write callable: each call raises or returns the next outcome; ``calls`` counts them."""
    queue = list(outcomes)

    def call():
        call.calls += 1
        outcome = queue.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    call.calls = 0
    return call


def test_write_on_an_idle_load_balancer_calls_once(o):
    proxy, conn, clock = setup()
    call = scripted({"id": "x"})
    assert o.octavia.write(conn, lb(), "update x", call, o.octavia.Deadline(10, clock),
                           sleep=clock.sleep) == {"id": "x"}
    assert call.calls == 1 and proxy.calls == [] and clock.sleeps == []


def test_write_waits_for_a_busy_load_balancer_first(o):
    proxy, conn, clock = setup()
    proxy.statuses[LB_ID] = ["PENDING_UPDATE", "ACTIVE"]
    call = scripted("done")
    o.octavia.write(conn, lb(provisioning_status="PENDING_UPDATE"), "update x", call,
                    o.octavia.Deadline(10, clock), sleep=clock.sleep)
    assert proxy.ops() == ["get_load_balancer"] * 2 and call.calls == 1


def test_write_409_immutable_backs_off_with_growing_delays(o):
    proxy, conn, clock = setup()
    call = scripted(*[immutable()] * 6, "done")
    assert o.octavia.write(conn, lb(), "update x", call, o.octavia.Deadline(120, clock),
                           sleep=clock.sleep) == "done"
    assert call.calls == 7
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    # Before each retry the load balancer is read again: it was busy.
    assert proxy.ops() == ["get_load_balancer"] * 6


def test_write_409_immutable_never_asks_recover(o):
    """A 409 means Octavia did not carry the write out: nothing to recover."""
    proxy, conn, clock = setup()
    asked = []
    o.octavia.write(conn, lb(), "x", scripted(immutable(), "done"), o.octavia.Deadline(60, clock),
                    recover=lambda: asked.append(1), sleep=clock.sleep)
    assert asked == []


@pytest.mark.parametrize("fault", [
    ConnectionResetError(104, "Connection reset by peer"),
    ConnectionRefusedError(111, "Connection refused"),
    HttpError(500, "Internal Server Error"),
    HttpError(502, "Bad Gateway"),
    HttpError(503, "Service Unavailable"),
    HttpError(504, "Gateway Timeout"),
])
def test_write_retries_resets_and_5xx(o, fault):
    """New (issue 15): a connection reset or a 5xx is retried within the deadline."""
    proxy, conn, clock = setup()
    call = scripted(fault, fault, "done")
    assert o.octavia.write(conn, lb(), "x", call, o.octavia.Deadline(60, clock), sleep=clock.sleep) == "done"
    assert call.calls == 3 and clock.sleeps == [0.5, 1.0]


def test_write_reset_asks_recover_before_retrying_and_returns_what_it_found(o):
    """A create whose answer was lost is found again instead of being sent twice."""
    proxy, conn, clock = setup()
    proxy.faults["create_listener"] = [Lost(ConnectionResetError(104, "Connection reset by peer"))]
    order = []

    def recover():
        order.append(("recover", clock.now))
        found = [x for x in proxy._list(None, load_balancer_id=LB_ID) if x["name"] == "prometheus"]
        return found[0] if found else None

    def create():
        order.append(("create", clock.now))
        return proxy._create(None, load_balancer_id=LB_ID, name="prometheus", protocol_port=8088)

    start = clock.now
    made = o.octavia.write(conn, lb(), "create listener", create, o.octavia.Deadline(60, clock),
                           recover=recover, sleep=clock.sleep)
    assert made["id"] == "new-1" and list(proxy.store) == ["new-1"]
    assert [c for c in proxy.ops() if c == "create_listener"] == ["create_listener"]
    assert order == [("create", start), ("recover", start + 0.5)]      # after the pause


def test_write_reset_retries_when_recover_finds_nothing(o):
    proxy, conn, clock = setup()
    asked = []
    call = scripted(ConnectionResetError(104, "reset"), HttpError(503, "busy"), "done")
    result = o.octavia.write(conn, lb(), "x", call, o.octavia.Deadline(60, clock),
                             recover=lambda: asked.append(call.calls), sleep=clock.sleep)
    assert result == "done" and call.calls == 3 and asked == [1, 2]


def test_write_a_reset_while_recovering_is_handled_like_the_write(o):
    """Found by these tests: a reset of recover()'s own listing left write() as a raw exception.
    A transient fault there means "not known yet": the write is tried again."""
    proxy, conn, clock = setup()
    answers = [ConnectionResetError(104, "Connection reset by peer"), None]

    def recover():
        answer = answers.pop(0) if answers else None
        if answer is not None:
            raise answer
        return None

    call = scripted(ConnectionResetError(104, "reset"), "done")
    assert o.octavia.write(conn, lb(), "create listener 'p'", call, o.octavia.Deadline(60, clock),
                           recover=recover, sleep=clock.sleep) == "done"
    assert call.calls == 2


def test_write_asks_recover_again_before_sending_a_create_twice(o):
    """A create went through, its answer was lost, and the listing recover() makes to find it
    met a reset too: the create must not be sent again until recover() has answered."""
    proxy, conn, clock = setup()
    answers = [ConnectionResetError(104, "Connection reset by peer"), {"id": "made"}]

    def recover():
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    call = scripted(ConnectionResetError(104, "reset"), {"id": "made twice"})
    assert o.octavia.write(conn, lb(), "create listener 'p'", call, o.octavia.Deadline(60, clock),
                           recover=recover, sleep=clock.sleep) == {"id": "made"}
    assert call.calls == 1


def test_write_a_refused_recovery_read_is_one_sentence(o):
    proxy, conn, clock = setup()

    def recover():
        raise HttpError(403, "Policy does not allow this request to be performed.")

    call = scripted(ConnectionResetError(104, "reset"), "done")
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.write(conn, lb(), "create listener 'p'", call, o.octavia.Deadline(60, clock),
                        recover=recover, sleep=clock.sleep)
    assert str(err.value) == ("Could not create listener 'p': the API answered HTTP 403: Policy does not "
                              "allow this request to be performed.")
    assert call.calls == 1


def test_write_non_retryable_error_is_one_sentence_without_retry(o):
    proxy, conn, clock = setup()
    call = scripted(HttpError(400, "Invalid input for field/attribute description. Value: 'x'."))
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.write(conn, lb(), "create listener 'prometheus' on load balancer 'web'", call,
                        o.octavia.Deadline(60, clock), recover=lambda: pytest.fail("recover asked"),
                        sleep=clock.sleep)
    assert str(err.value) == ("Could not create listener 'prometheus' on load balancer 'web': the API "
                              "answered HTTP 400: Invalid input for field/attribute description. Value: 'x'.")
    assert err.value.extra == {"status": 400, "kind": "http"}
    assert call.calls == 1 and clock.sleeps == []


def test_write_translate_hook_words_known_answers(o):
    proxy, conn, clock = setup()
    seen = []

    def translate(status, fault):
        seen.append((status, fault))
        return "PROMETHEUS listeners are disabled here." if status == 400 else None

    with pytest.raises(o.OctaviaError) as err:
        o.octavia.write(conn, lb(), "x", scripted(HttpError(400, "not allowed in this deployment.")),
                        o.octavia.Deadline(60, clock), translate=translate, sleep=clock.sleep)
    assert str(err.value) == "PROMETHEUS listeners are disabled here."
    assert err.value.extra == {"status": 400, "kind": "http"}
    assert seen == [(400, "not allowed in this deployment")]
    with pytest.raises(o.OctaviaError, match=r"^Could not x: the API answered HTTP 404: gone\.$"):
        o.octavia.write(conn, lb(), "x", scripted(HttpError(404, "gone")), o.octavia.Deadline(60, clock),
                        translate=translate, sleep=clock.sleep)


def test_write_gives_up_when_the_deadline_is_spent(o):
    proxy, conn, clock = setup()
    call = scripted(*[immutable()] * 100)
    start = clock.now
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.write(conn, lb(), "update listener 'p'", call, o.octavia.Deadline(20, clock), sleep=clock.sleep)
    assert str(err.value) == ("Could not update listener 'p': the API answered HTTP 409: Load Balancer "
                              "lb-1 is immutable and cannot be updated.")
    assert clock.now - start == pytest.approx(20)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 4.5]


def test_write_expired_deadline_writes_once_and_does_not_retry(o):
    proxy, conn, clock = setup()
    call = scripted(ConnectionResetError(104, "reset"))
    with pytest.raises(o.OctaviaError, match="could not be reached"):
        o.octavia.write(conn, lb(), "x", call, o.octavia.Deadline(0, clock), sleep=clock.sleep)
    assert call.calls == 1 and clock.sleeps == []


def test_one_deadline_is_shared_by_several_waits_and_writes(o):
    """One budget per load balancer: what the first wait and write spend, the next ones lack."""
    proxy, conn, clock = setup()
    deadline = o.octavia.Deadline(12, clock)
    proxy.statuses[LB_ID] = ["PENDING_UPDATE"] * 7 + ["ACTIVE"]       # about 6.2 s of polling
    o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"), deadline, sleep=clock.sleep)
    spent = clock.now - 1000.0
    assert 5 < spent < 7
    o.octavia.write(conn, lb(), "first", scripted(immutable(), immutable(), "ok"), deadline, sleep=clock.sleep)
    assert deadline.remaining() == pytest.approx(12 - spent - 1.5)
    with pytest.raises(o.OctaviaError, match="^Could not second: the API answered HTTP 409"):
        o.octavia.write(conn, lb(), "second", scripted(*[immutable()] * 50), deadline, sleep=clock.sleep)
    assert clock.now - 1000.0 == pytest.approx(12)
    proxy.statuses[LB_ID] = ["PENDING_UPDATE"]
    with pytest.raises(o.OctaviaError, match="^Timed out after 12s"):
        o.octavia.wait_lb_idle(conn, lb(provisioning_status="PENDING_UPDATE"), deadline, sleep=clock.sleep)


def test_write_pauses_only_through_the_sleep_hook(o, monkeypatch):
    proxy, conn, clock = setup()
    monkeypatch.setattr(time, "sleep", lambda s: pytest.fail("time.sleep called"))
    o.octavia.write(conn, lb(provisioning_status="PENDING_UPDATE"), "x", scripted(immutable(), "ok"),
                    o.octavia.Deadline(60, clock), sleep=clock.sleep)
    assert clock.sleeps == [0.5]


def test_write_does_not_retry_an_sdk_shaped_400(o):
    class SdkShapedError(requests.HTTPError):
        def __init__(self, status_code, details):
            super().__init__(f"HttpException: {status_code}")
            self.status_code, self.details = status_code, details

    proxy, conn, clock = setup()
    call = scripted(*[SdkShapedError(400, "Invalid input for field/attribute name.")] * 100)
    with pytest.raises(o.OctaviaError):
        o.octavia.write(conn, lb(), "x", call, o.octavia.Deadline(180, clock), sleep=clock.sleep)
    assert call.calls == 1 and clock.sleeps == []


# --- bounded concurrency ----------------------------------------------------

@pytest.mark.parametrize("value, ok", [(1, True), (8, True), (32, True), (0, False), (33, False), (-1, False)])
def test_check_concurrency_is_capped_at_32(o, value, ok):
    """New (issue 15): fleet concurrency had no upper bound."""
    assert o.octavia.MAX_CONCURRENCY == 32
    if ok:
        o.octavia.check_concurrency(value)
    else:
        with pytest.raises(o.PlanError, match=f"^concurrency must be between 1 and 32, not {value}: "):
            o.octavia.check_concurrency(value)


def test_map_bounded_keeps_order_and_bound(o):
    active, peak, lock = [0], [0], threading.Lock()

    def work(n):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01 * (10 - n % 10))   # later items finish first
        with lock:
            active[0] -= 1
        return n * n

    out = o.octavia.map_bounded(work, range(30), 4)
    assert [entry[0] for entry in out] == list(range(30))
    assert [entry[1] for entry in out] == [n * n for n in range(30)]
    assert 1 < peak[0] <= 4


def test_map_bounded_returns_exceptions_per_item(o):
    def work(n):
        if n == 2:
            raise KeyError(n)
        return n

    out = o.octavia.map_bounded(work, [1, 2, 3], 8)
    assert [(i, r) for i, r, e in out if e is None] == [(1, 1), (3, 3)]
    assert isinstance(out[1][2], KeyError) and out[1][1] is None


def test_map_bounded_empty_and_zero_workers(o):
    assert o.octavia.map_bounded(lambda x: x, [], 8) == []
    assert o.octavia.map_bounded(lambda x: x, [5], 0) == [(5, 5, None)]


class Connections:
    """A connect= factory that records the connections it opens."""

    def __init__(self, fail_close=False):
        self.opened = []
        self.fail_close = fail_close
        self.lock = threading.Lock()

    def __call__(self):
        conn = FakeConn(FakeProxy())
        if self.fail_close:
            def close():
                conn.closed = True
                raise OSError("already gone")
            conn.close = close
        with self.lock:
            self.opened.append(conn)
        return conn


def test_map_bounded_one_connection_per_worker_thread_all_closed(o):
    """Issue 10 item 7: no openstacksdk connection is shared between threads."""
    connect, seen, lock = Connections(), [], threading.Lock()
    barrier = threading.Barrier(4, timeout=10)

    def work(n, conn):
        if n < 4:
            barrier.wait()      # the first four items run on four threads at once
        with lock:
            seen.append((threading.get_ident(), id(conn), conn.closed))
        return n

    out = o.octavia.map_bounded(work, range(20), 4, connect=connect)
    assert [r for _i, r, _e in out] == list(range(20))
    threads = {t for t, _c, _s in seen}
    by_thread = {}
    for thread, conn, _closed in seen:
        by_thread.setdefault(thread, set()).add(conn)
    assert len(threads) == 4 and all(len(conns) == 1 for conns in by_thread.values())
    assert len({c for _t, c, _s in seen}) == len(connect.opened) == 4
    assert not any(closed for _t, _c, closed in seen)
    assert all(conn.closed for conn in connect.opened)


def test_map_bounded_closes_connections_even_when_work_or_close_fails(o):
    connect = Connections(fail_close=True)

    def work(n, conn):
        raise ValueError(n)

    out = o.octavia.map_bounded(work, [1, 2, 3], 2, connect=connect)
    assert all(isinstance(e, ValueError) for _i, _r, e in out)
    assert connect.opened and all(conn.closed for conn in connect.opened)


def test_map_bounded_a_failed_connect_fails_the_item(o):
    def connect():
        raise OSError("no route")

    out = o.octavia.map_bounded(lambda n, conn: n, [1, 2], 2, connect=connect)
    assert [str(e) for _i, _r, e in out] == ["no route", "no route"]


@pytest.mark.parametrize("items, workers", [([7], 8), ([1, 2, 3], 1)])
def test_map_bounded_inline_path_uses_the_callers_connection_and_thread(o, items, workers):
    connect, inline, seen = Connections(), FakeConn(FakeProxy()), []

    def work(n, conn):
        seen.append((threading.get_ident(), conn))
        if n == 2:
            raise KeyError(n)
        return n * 10

    out = o.octavia.map_bounded(work, items, workers, connect=connect, inline_conn=inline)
    assert [(i, r) for i, r, e in out if e is None] == [(n, n * 10) for n in items if n != 2]
    assert all(isinstance(e, KeyError) for i, _r, e in out if i == 2)
    assert connect.opened == [] and not inline.closed
    assert {t for t, _c in seen} == {threading.get_ident()} and {c for _t, c in seen} == {inline}


# --- finders and listings ---------------------------------------------------

def test_find_load_balancer_by_id_is_one_get(o):
    proxy, conn, _clock = setup()
    assert o.octavia.find_load_balancer(conn, LB_ID)["name"] == "web"
    assert proxy.ops() == ["get_load_balancer"]


def test_find_load_balancer_by_name_is_one_filtered_listing(o):
    proxy, conn, _clock = setup()
    assert o.octavia.find_load_balancer(conn, "web")["id"] == LB_ID
    assert proxy.calls == [("load_balancers", {"name": "web"})]


def test_find_load_balancer_a_uuid_shaped_name_falls_back_to_the_name(o):
    uuid_name = "22222222-aaaa-4bbb-8ccc-000000000002"
    proxy, conn, _clock = setup(lbs=[lb(name=uuid_name)])
    assert o.octavia.find_load_balancer(conn, uuid_name)["id"] == LB_ID
    assert proxy.ops() == ["get_load_balancer", "load_balancers"]


def test_find_load_balancer_missing(o):
    proxy, conn, _clock = setup()
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.find_load_balancer(conn, "nope")
    assert str(err.value) == ("Load balancer 'nope' was not found (no load balancer has that name or ID "
                              "among those these credentials can see).")
    assert o.octavia.find_load_balancer(conn, "nope", ignore_missing=True) is None


def test_find_load_balancer_ambiguous_name_lists_candidates(o):
    twin = lb(id="22222222-aaaa-4bbb-8ccc-000000000002")
    proxy, conn, _clock = setup(lbs=[lb(), twin])
    with pytest.raises(o.PlanError) as err:
        o.octavia.find_load_balancer(conn, "web")
    assert [c["id"] for c in err.value.extra["candidates"]] == [LB_ID, twin["id"]]


def test_find_load_balancer_api_failure_is_one_sentence(o):
    proxy, conn, _clock = setup()
    proxy.faults["get_load_balancer"] = [HttpError(401, "Authentication required")]
    with pytest.raises(o.OctaviaError, match=f"^Could not read load balancer {LB_ID}: the API answered HTTP 401"):
        o.octavia.find_load_balancer(conn, LB_ID)
    proxy.faults["load_balancers"] = [HttpError(503, "down")]
    with pytest.raises(o.OctaviaError, match="^Could not list load balancers: the API answered HTTP 503: down.$"):
        o.octavia.find_load_balancer(conn, "web")


def test_list_load_balancers_sorted_and_empty_filters_left_out(o):
    proxy, conn, _clock = setup(lbs=[lb(id="b", name="web"), lb(id="a", name="web"), lb(id="c", name="api")])
    assert [x["id"] for x in o.octavia.list_load_balancers(conn, tags=[])] == ["c", "a", "b"]
    assert proxy.calls == [("load_balancers", {})]
    o.octavia.list_load_balancers(conn, project_id="p1", tags=["a"])
    assert proxy.calls[-1] == ("load_balancers", {"project_id": "p1", "tags": ["a"]})


def test_list_listeners_uses_the_key_octavia_honours(o):
    proxy, conn, _clock = setup(listeners=[listener(), listener(id="other", load_balancers=[{"id": "x"}])])
    assert [x["id"] for x in o.octavia.list_listeners(conn, LB_ID, protocol="PROMETHEUS")] == ["l-1"]
    assert proxy.calls == [("listeners", {"load_balancer_id": LB_ID, "protocol": "PROMETHEUS"})]
    proxy.faults["listeners"] = [HttpError(500, "boom")]
    with pytest.raises(o.OctaviaError, match=f"^Could not list the listeners of load balancer {LB_ID}: "):
        o.octavia.list_listeners(conn, LB_ID)


def test_list_pools_and_members(o):
    pool = {"id": "p-1", "name": "web", "loadbalancers": [{"id": LB_ID}]}
    proxy = FakeProxy(pools=[pool], members={"p-1": [{"id": "m-1"}]})
    conn = FakeConn(proxy)
    assert o.octavia.list_pools(conn, lb_id=LB_ID) == [pool]
    assert proxy.calls[-1] == ("pools", {"loadbalancer_id": LB_ID})
    assert o.octavia.list_members(conn, pool) == [{"id": "m-1"}]
    assert o.octavia.list_members(conn, {"id": "gone", "name": ""}) == []     # deleted meanwhile
    proxy.faults["members"] = [HttpError(500, "boom")]
    with pytest.raises(o.OctaviaError, match="^Could not list the members of pool 'web' \\(p-1\\): "):
        o.octavia.list_members(conn, pool)


def test_find_child_is_scoped_to_its_load_balancer(o):
    proxy, conn, _clock = setup(listeners=[listener(), listener(id="elsewhere", name="metrics",
                                                                load_balancers=[{"id": "x"}])])
    assert o.octavia.find_child(conn, "listener", "prometheus", lb())["id"] == "l-1"
    with pytest.raises(o.OctaviaError) as err:
        o.octavia.find_child(conn, "listener", "metrics", lb())
    assert str(err.value) == f"The listener 'metrics' was not found on load balancer 'web' ({LB_ID})."
    assert o.octavia.find_child(conn, "listener", "metrics", lb(), ignore_missing=True) is None


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9876/v2.0", "http://127.0.0.1:9876/v2/",
                                      "http://127.0.0.1:9876"])
def test_api_versions_reads_the_root(o, endpoint):
    proxy = FakeProxy(endpoint=endpoint, versions=("v2.0", "v2.25"))
    assert [v["id"] for v in o.octavia.api_versions(FakeConn(proxy))] == ["v2.0", "v2.25"]
    assert proxy.calls == [("get", "http://127.0.0.1:9876/")]


def test_api_versions_failure_is_one_sentence(o):
    proxy = FakeProxy()
    proxy.faults["get"] = [HttpError(500, "boom")]
    with pytest.raises(o.OctaviaError, match=r"^Could not read the Octavia API versions at GET /: "):
        o.octavia.api_versions(FakeConn(proxy))


def test_floating_ips_by_port(o):
    network = FakeNetwork([FloatingIP("port-1", "203.0.113.5"), FloatingIP("port-1", "203.0.113.6"),
                           FloatingIP(None, "203.0.113.7"), FloatingIP("port-2", None)])
    conn = FakeConn(FakeProxy(), network=network)
    assert o.octavia.floating_ips_by_port(conn) == ({"port-1": "203.0.113.5"}, None)
    assert o.octavia.floating_ips_by_port(conn, "port-1")[0] == {"port-1": "203.0.113.5"}
    assert network.queries == [{}, {"port_id": "port-1"}]


def test_floating_ips_without_a_network_service(o):
    assert o.octavia.floating_ips_by_port(FakeConn(FakeProxy())) == (
        {}, "the cloud has no network service in its catalog")


@pytest.mark.parametrize("fault", [type("EndpointNotFound", (Exception,), {})("no neutron"),
                                   HttpError(404, "The resource could not be found.")])
def test_floating_ips_with_an_unusable_network_endpoint(o, fault):
    mapping, reason = o.octavia.floating_ips_by_port(FakeConn(FakeProxy(), network=FakeNetwork(fault=fault)))
    assert mapping == {} and reason.startswith("no usable network endpoint (")


def test_floating_ips_other_network_errors_fail(o):
    conn = FakeConn(FakeProxy(), network=FakeNetwork(fault=HttpError(500, "neutron down")))
    with pytest.raises(o.OctaviaError, match="^Could not list floating IPs: the API answered HTTP 500"):
        o.octavia.floating_ips_by_port(conn)


@pytest.mark.parametrize("params, config, expected", [
    ({"cloud": "prod", "region_name": "R2"}, FakeConfig("other", "R1"), ("prod", "R2")),
    ({}, FakeConfig("devstack", "RegionOne"), ("devstack", "RegionOne")),
    ({}, FakeConfig("envvars", None), (None, None)),
    ({}, FakeConfig("defaults", ""), (None, None)),
    ({"cloud": {"auth": {}}}, None, (None, None)),
])
def test_cloud_and_region(o, params, config, expected):
    assert o.octavia.cloud_and_region(FakeConn(FakeProxy(), config=config), params) == expected


def test_read_fleet_is_a_few_listings(o):
    other = lb(id="b", name="api", project_id="p2", vip_port_id="port-2")
    proxy = FakeProxy(lbs=[lb(), other], listeners=[listener(), listener(id="l-2", load_balancers=[{"id": "b"}],
                                                                         project_id="p2")])
    network = FakeNetwork([FloatingIP("port-1", "203.0.113.5")])
    fleet = o.octavia.read_fleet(FakeConn(proxy, network=network), {"project_ids": ["p1"]})
    assert [x["id"] for x in fleet["load_balancers"]] == [LB_ID]
    assert list(fleet["listeners"]) == [LB_ID] and fleet["floating_ips"] == {"port-1": "203.0.113.5"}
    assert proxy.calls == [("load_balancers", {"project_id": "p1"}), ("listeners", {"project_id": "p1"})]
    assert network.queries == [{}]
    # Port security is read only when asked; the project's listeners are counted from the one listing.
    assert fleet["port_security"] == {} and network.port_queries == []
    assert fleet["listener_usage"] == {"p1": 1}


def test_read_fleet_filters_client_side_and_skips_listings_when_nothing_matches(o):
    proxy, conn, _clock = setup()
    empty = {"load_balancers": [], "listeners": {}, "floating_ips": {}, "port_security": {},
             "listener_usage": {}}
    assert o.octavia.read_fleet(conn, {"name_pattern": "db-*"}) == empty
    assert proxy.ops() == ["load_balancers"]
    fleet = o.octavia.read_fleet(FakeConn(proxy, network=FakeNetwork()), None, floating_ips=False)
    assert len(fleet["load_balancers"]) == 1 and fleet["floating_ips"] == {}


def test_read_load_balancer_is_the_fleet_shape_for_one(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    network = FakeNetwork([FloatingIP("port-1", "203.0.113.5")])
    got = o.octavia.read_load_balancer(FakeConn(proxy, network=network), "web")
    assert got == {"load_balancers": [lb()], "listeners": {LB_ID: [listener()]},
                   "floating_ips": {"port-1": "203.0.113.5"}, "port_security": {}, "listener_usage": {}}
    assert network.queries == [{"port_id": "port-1"}]
    assert o.octavia.read_load_balancer(FakeConn(proxy), "nope", ignore_missing=True) is None
    got = o.octavia.read_load_balancer(FakeConn(proxy, network=network), "web", floating_ip=False)
    assert got["floating_ips"] == {} and len(network.queries) == 1


# --- issue 14: port security of the VIP ports, listener quota and usage ----------------

def test_port_security_by_port_lists_the_vip_ports_by_id(o):
    """By ID, not by device_owner: a VIP port may be one the user made (vip_port_id)."""
    network = FakeNetwork(ports=[Port("port-1", True), Port("port-2", False), Port("mine", False, "compute:nova"),
                                 Port("other", False)])
    conn = FakeConn(FakeProxy(), network=network)
    assert o.octavia.port_security_by_port(conn, ["port-2", "port-1", "mine", None]) == \
        {"port-1": True, "port-2": False, "mine": False}
    assert o.octavia.port_security_by_port(conn, ["port-2"]) == {"port-2": False}
    assert o.octavia.port_security_by_port(conn, []) == {}
    assert network.port_queries == [{"id": ["mine", "port-1", "port-2"]}, {"id": "port-2"}]


def test_port_security_by_port_asks_in_chunks(o):
    ids = [f"p-{n:03d}" for n in range(o.octavia.PORTS_PER_REQUEST + 1)]
    network = FakeNetwork(ports=[Port(i, True) for i in ids])
    assert len(o.octavia.port_security_by_port(FakeConn(FakeProxy(), network=network), ids)) == len(ids)
    assert [len(q["id"]) if isinstance(q["id"], list) else 1 for q in network.port_queries] == \
        [o.octavia.PORTS_PER_REQUEST, 1]


@pytest.mark.parametrize("network", [None, FakeNetwork(port_fault=HttpError(404, "The resource could not be found.")),
                                     FakeNetwork(port_fault=type("EndpointNotFound", (Exception,), {})("none"))])
def test_port_security_without_a_usable_network_service_is_not_known(o, network):
    assert o.octavia.port_security_by_port(FakeConn(FakeProxy(), network=network), ["port-1"]) == {}


def test_port_security_other_network_errors_are_one_sentence(o):
    conn = FakeConn(FakeProxy(), network=FakeNetwork(port_fault=HttpError(500, "neutron down")))
    with pytest.raises(o.OctaviaError, match="^Could not list the VIP ports: the API answered HTTP 500"):
        o.octavia.port_security_by_port(conn, ["port-1"])


@pytest.mark.parametrize("quota", [-1, 0, 5])
def test_listener_quota_is_the_projects_listener_limit(o, quota):
    proxy = FakeProxy()
    proxy.quotas["p1"] = quota
    assert o.octavia.listener_quota(FakeConn(proxy), "p1") == quota
    assert proxy.calls == [("get_quota", "p1")]


def test_listener_quota_defaults_to_what_the_cloud_answers(o):
    proxy = FakeProxy()
    assert o.octavia.listener_quota(FakeConn(proxy), "p9") == -1
    proxy.default_quota = 10
    assert o.octavia.listener_quota(FakeConn(proxy), "p9") == 10


@pytest.mark.parametrize("status", [401, 403])
def test_listener_quota_that_may_not_be_read_is_none(o, status):
    proxy = FakeProxy()
    proxy.quotas["p1"] = HttpError(status, "Policy does not allow this request to be performed.")
    assert o.octavia.listener_quota(FakeConn(proxy), "p1") is None


def test_listener_quota_other_failures_name_the_project(o):
    proxy = FakeProxy()
    proxy.quotas["p1"] = HttpError(500, "database gone")
    with pytest.raises(o.OctaviaError, match=r"^Could not read the listener quota of project p1: the API "
                                             r"answered HTTP 500: database gone"):
        o.octavia.listener_quota(FakeConn(proxy), "p1")


def test_listener_quota_forbidden_by_policy_is_none(o):
    proxy = FakeProxy()
    proxy.faults["get_quota"] = [forbidden()]
    assert o.octavia.listener_quota(FakeConn(proxy), "p1") is None
    assert o.octavia.listener_quota(FakeConn(proxy), "p1") == -1          # the fault was played once


def test_read_fleet_reads_port_security_with_one_listing_and_counts_every_listener_per_project(o):
    other = lb(id="b", name="api", project_id="p2", vip_port_id="port-2")
    # A TCP listener and a listener of a load balancer outside the selection count too:
    # the quota counts every listener of the project.
    listeners = [listener(), listener(id="t", protocol="TCP", protocol_port=80),
                 listener(id="l-2", load_balancers=[{"id": "b"}], project_id="p2"),
                 listener(id="x", load_balancers=[{"id": "elsewhere"}], project_id="p2")]
    proxy = FakeProxy(lbs=[lb(), other], listeners=listeners)
    network = FakeNetwork([FloatingIP("port-1", "203.0.113.5")],
                          ports=[Port("port-1", True), Port("port-2", False)])
    fleet = o.octavia.read_fleet(FakeConn(proxy, network=network), {"name_pattern": "*"}, port_security=True)
    assert fleet["port_security"] == {"port-1": True, "port-2": False}
    assert network.port_queries == [{"id": ["port-1", "port-2"]}] and network.queries == [{}]
    assert fleet["listener_usage"] == {"p1": 2, "p2": 2}
    assert set(fleet["listeners"]) == {LB_ID, "b"}            # the selection's, not "elsewhere"
    assert proxy.ops() == ["load_balancers", "listeners"]


def test_read_fleet_port_security_without_floating_ips_and_without_a_network(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    network = FakeNetwork([FloatingIP("port-1", "203.0.113.5")], ports=[Port("port-1", False)])
    fleet = o.octavia.read_fleet(FakeConn(proxy, network=network), None, floating_ips=False, port_security=True)
    assert fleet["floating_ips"] == {} and fleet["port_security"] == {"port-1": False}
    # No network service: neither is known, and nothing fails.
    fleet = o.octavia.read_fleet(FakeConn(proxy), None, port_security=True)
    assert fleet["floating_ips"] == {} and fleet["port_security"] == {}


def test_read_load_balancer_reads_the_port_security_of_its_vip_port(o):
    proxy = FakeProxy(lbs=[lb()], listeners=[listener()])
    network = FakeNetwork(ports=[Port("port-1", False), Port("port-2", True)])
    got = o.octavia.read_load_balancer(FakeConn(proxy, network=network), "web", port_security=True)
    assert got["port_security"] == {"port-1": False} and network.port_queries == [{"id": "port-1"}]
    # The single path lists only the load balancer's listeners: the project's usage is not known.
    assert got["listener_usage"] == {}
