"""_errors: the two exceptions every layer raises."""
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError, PlanError


def test_octavia_error_is_its_message_and_keeps_extra_keys():
    err = OctaviaError("Load balancer 'web' was not found.", candidates=[1], status=None)
    assert str(err) == "Load balancer 'web' was not found."
    assert err.extra == {"candidates": [1], "status": None}
    assert OctaviaError("plain").extra == {}


def test_plan_error_is_an_octavia_error():
    err = PlanError("bad input", candidates=[])
    assert isinstance(err, OctaviaError) and err.extra == {"candidates": []}
