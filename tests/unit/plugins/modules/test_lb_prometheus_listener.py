"""lb_prometheus_listener as a module process sees it, without openstacksdk and without any API."""
import importlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

PKG = "ansible_collections.octavia.monitoring.plugins"


def run_main(name, args, capsys):
    module = importlib.import_module("%s.modules.%s" % (PKG, name))
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name, args", [
    ("lb_prometheus_listener", {"load_balancer": "web", "allowed_cidrs": ["10.0.0.0/8"]}),
    ("lb_prometheus_listener_info", {}),
    ("lb_stats_info", {}),
])
def test_missing_openstacksdk_fails_with_install_hint(no_sdk, capsys, name, args):
    result = run_main(name, args, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("Failed to import the required Python library (openstacksdk)")


def test_argument_errors_come_from_the_spec(no_sdk, capsys):
    result = run_main("lb_prometheus_listener", {"allowed_cidrs": ["10.0.0.0/8"]}, capsys)
    assert result["failed"] is True and "load_balancer" in result["msg"]


def test_aliases_of_osc_names(no_sdk):
    module = importlib.import_module(PKG + ".modules.lb_prometheus_listener")
    spec = module.ListenerModule.argument_spec
    assert spec["load_balancer"]["aliases"] == ["loadbalancer"]
    assert spec["protocol_port"]["aliases"] == ["port"]
    assert spec["protocol_port"]["default"] == 8088 and spec["name"]["default"] == "prometheus"
