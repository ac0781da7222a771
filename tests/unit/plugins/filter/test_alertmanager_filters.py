"""The octavia_alertmanager role's filters (plugins/filter/alertmanager_*.py), on plain dicts."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.octavia.monitoring.plugins.filter.alertmanager_config import FilterModule as ConfigModule
from ansible_collections.octavia.monitoring.plugins.filter.alertmanager_config import (
    alertmanager_config,
    alertmanager_receiver_problems,
)
from ansible_collections.octavia.monitoring.plugins.filter.alertmanager_receiver_problems import (
    FilterModule as ProblemsModule,
)

ROUTE = {"receiver": "", "group_by": ["alertname", "loadbalancer_id"], "group_wait": "30s",
         "group_interval": "5m", "repeat_interval": "4h"}


@pytest.mark.parametrize("module, name", [(ConfigModule, "alertmanager_config"),
                                          (ProblemsModule, "alertmanager_receiver_problems")])
def test_each_file_holds_the_filter_it_is_named_after(module, name):
    assert list(module().filters()) == [name]


def test_a_webhook_receiver_is_the_default_route():
    assert alertmanager_config([{"name": "hook", "webhook_url": "http://127.0.0.1:9095/alerts"}], ROUTE) == {
        "route": {"receiver": "hook", "group_by": ["alertname", "loadbalancer_id"], "group_wait": "30s",
                  "group_interval": "5m", "repeat_interval": "4h"},
        "receivers": [{"name": "hook", "webhook_configs": [{"url": "http://127.0.0.1:9095/alerts",
                                                            "send_resolved": True}]}],
    }


def test_email_global_routes_and_a_chosen_default():
    receivers = [{"name": "hook", "webhook_url": "http://h"},
                 {"name": "mail", "email_to": "ops@example.org", "email_from": "am@example.org",
                  "smarthost": "mx:25", "auth_username": "am", "auth_password": "pw", "require_tls": False,
                  "send_resolved": False},
                 {"name": "drop"}]
    routes = [{"receiver": "drop", "matchers": ["severity=info"]}]
    config = alertmanager_config(receivers, {**ROUTE, "receiver": "mail", "group_wait": ""},
                                 {"resolve_timeout": "5m"}, routes)
    assert list(config) == ["global", "route", "receivers"]
    assert config["route"]["receiver"] == "mail"
    assert "group_wait" not in config["route"]
    assert config["route"]["routes"] == routes
    assert config["receivers"][1] == {"name": "mail", "email_configs": [{
        "to": "ops@example.org", "from": "am@example.org", "smarthost": "mx:25", "auth_username": "am",
        "auth_password": "pw", "send_resolved": False, "require_tls": False}]}
    assert config["receivers"][2] == {"name": "drop"}


@pytest.mark.parametrize("receivers, route, routes, needle", [
    ([], ROUTE, None, "at least one receiver"),
    ([{"name": "a"}, {"name": "a"}], ROUTE, None, "unique: a"),
    ([{"name": "a"}], {**ROUTE, "receiver": "b"}, None, "names receiver b"),
    ([{"name": "a"}], ROUTE, [{"receiver": "c"}], "names receiver c"),
    ([{"webhook_url": "http://h"}], ROUTE, None, "needs a name"),
])
def test_configurations_that_cannot_route_are_refused(receivers, route, routes, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        alertmanager_config(receivers, route, None, routes)


@pytest.mark.parametrize("receivers, glob, names", [
    ([{"name": "m", "email_to": "a@b"}], {}, ["m"]),
    ([{"name": "m", "email_to": "a@b", "email_from": "c@d"}], {}, ["m"]),
    ([{"name": "m", "email_to": "a@b", "email_from": "c@d", "smarthost": "mx:25"}], {}, []),
    ([{"name": "m", "email_to": "a@b"}], {"smtp_from": "c@d", "smtp_smarthost": "mx:25"}, []),
    ([{"name": "h", "webhook_url": "http://h"}], {}, []),
])
def test_email_receivers_without_sender_or_smarthost(receivers, glob, names):
    assert alertmanager_receiver_problems(receivers, glob) == names
