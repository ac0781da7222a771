"""octavia_prometheus_sources: its keys are written once, in meta/argument_specs.yml.

The discovery task maps each source key onto lb_prometheus_listener_info. These
tests keep the three in step: every documented source key reaches the module (or
is the role's own `labels`), the task passes nothing the spec does not document,
and the module accepts every key the task passes, including the whole `filters`
vocabulary of the collection.
"""
import pathlib
import sys

import yaml

from helpers.ansible_run import COLLECTIONS, ansible_env

ansible_env()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

REPO = pathlib.Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "octavia_prometheus"
MODULE = "octavia.monitoring.lb_prometheus_listener_info"
ROLE_ONLY = {"labels", "tls"}   # set on the targets by the role, not module options
ROLE_SET = {"catalog"}          # the role passes octavia_prometheus_catalog_enabled


def source_options():
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return specs["main"]["options"]["octavia_prometheus_sources"]["options"]


def discovery_args():
    tasks = yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())
    found = [t for t in tasks if MODULE in t]
    assert len(found) == 1, "one discovery task in configure.yml"
    return found[0][MODULE]


def module_spec():
    from ansible_collections.octavia.monitoring.plugins.module_utils._base import auth_argument_spec
    from ansible_collections.octavia.monitoring.plugins.modules.lb_prometheus_listener_info import (
        ListenerInfoModule,
    )
    return auth_argument_spec(**ListenerInfoModule.argument_spec)


def test_every_source_key_reaches_the_module():
    missing = set(source_options()) - ROLE_ONLY - set(discovery_args())
    assert not missing, f"documented source keys the discovery task drops: {sorted(missing)}"


def test_the_task_passes_only_documented_keys():
    extra = set(discovery_args()) - set(source_options()) - ROLE_SET
    assert not extra, f"discovery task options that octavia_prometheus_sources does not document: {sorted(extra)}"


def test_each_key_is_read_from_the_source():
    for key, value in discovery_args().items():
        if key in ROLE_SET:
            continue
        assert f"item.{key}" in value, f"{key}: {value}"


def test_the_module_accepts_every_key_the_task_passes():
    unknown = set(discovery_args()) - set(module_spec())
    assert not unknown, f"lb_prometheus_listener_info has no option {sorted(unknown)}"


def test_the_filters_are_the_collection_vocabulary():
    from ansible_collections.octavia.monitoring.plugins.module_utils._select import FILTERS_OPTIONS
    documented = source_options()["filters"]["options"]
    assert {k: (v["type"], v.get("elements")) for k, v in documented.items()} == {
        k: (v["type"], v.get("elements")) for k, v in FILTERS_OPTIONS.items()}


def test_source_address_choices_are_the_collection_address_choices():
    from ansible_collections.octavia.monitoring.plugins.module_utils._targets import ADDRESS_CHOICES
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert tuple(source_options()["address"]["choices"]) == ADDRESS_CHOICES
    assert tuple(specs["octavia_prometheus_address"]["choices"]) == ADDRESS_CHOICES
