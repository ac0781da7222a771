"""Each module's documented options agree with its argument spec (plus its doc fragments).

ansible-test's validate-modules checks this too; here a drift fails the fast unit run,
and the message names the option.
"""
import importlib

import pytest
import yaml

PKG = "ansible_collections.octavia.monitoring.plugins"
MODULES = ["lb_prometheus_listener", "lb_prometheus_listener_fleet", "lb_prometheus_listener_info",
           "lb_stats_info"]


def fragment_options(reference):
    """Options of a fragment such as octavia.monitoring._auth or octavia.monitoring._attributes.foo."""
    name, _dot, variable = reference.split(".", 2)[2].partition(".")
    fragment = importlib.import_module(PKG + ".doc_fragments." + name).ModuleDocFragment
    return yaml.safe_load(getattr(fragment, (variable or "documentation").upper()))["options"] or {}


def documented_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = {}
    for reference in doc.get("extends_documentation_fragment") or []:
        options.update(fragment_options(reference))
    options.update(doc.get("options") or {})
    return doc, options


def module_class(module):
    from ansible_collections.octavia.monitoring.plugins.module_utils._base import OctaviaModule
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, OctaviaModule) and v is not OctaviaModule]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("name", MODULES)
def test_options_match_argument_spec(no_sdk, name):
    module = importlib.import_module("%s.modules.%s" % (PKG, name))
    from ansible_collections.octavia.monitoring.plugins.module_utils._base import auth_argument_spec
    spec = auth_argument_spec(**module_class(module).argument_spec)
    doc, options = documented_options(module)
    assert sorted(spec) == sorted(options)
    for option, entry in spec.items():
        documented = options[option]
        where = "%s: option %s" % (name, option)
        assert documented.get("type", "str") == entry.get("type", "str"), where
        assert documented.get("default") == entry.get("default"), where
        assert bool(documented.get("required")) == bool(entry.get("required")), where
        assert documented.get("choices") == entry.get("choices"), where
        assert sorted(documented.get("aliases") or []) == sorted(entry.get("aliases") or []), where
        assert documented.get("elements") == entry.get("elements"), where
        assert documented.get("description"), where


@pytest.mark.parametrize("name", MODULES)
def test_docs_are_complete(no_sdk, name):
    module = importlib.import_module("%s.modules.%s" % (PKG, name))
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == name
    assert "octavia.monitoring._attributes" in doc["extends_documentation_fragment"]
    assert "octavia.monitoring._attributes.actiongroup_octavia" in doc["extends_documentation_fragment"]
    examples = yaml.safe_load(module.EXAMPLES)
    assert examples and all("octavia.monitoring.%s" % name in task or "ansible.builtin.debug" in task
                            for task in examples)
    returns = yaml.safe_load(module.RETURN)
    assert all(entry.get("description") and entry.get("returned") for entry in returns.values())


def test_every_module_is_in_the_action_group():
    import pathlib
    runtime = yaml.safe_load((pathlib.Path(__file__).resolve().parents[4] / "meta" / "runtime.yml").read_text())
    assert set(MODULES) <= set(runtime["action_groups"]["octavia"])


def test_the_filters_fragment_documents_the_filters_spec(no_sdk):
    """One vocabulary, documented once: the _filters fragment's sub-options are FILTERS_OPTIONS."""
    from ansible_collections.octavia.monitoring.plugins.module_utils._select import FILTERS_OPTIONS
    documented = fragment_options("octavia.monitoring._filters")["filters"]["suboptions"]
    assert sorted(documented) == sorted(FILTERS_OPTIONS)
    for key, entry in FILTERS_OPTIONS.items():
        assert documented[key].get("type", "str") == entry["type"], key
        assert documented[key].get("elements") == entry.get("elements"), key
        assert documented[key].get("description"), key


# Issue 14: the TLS settings and the allowed_cidrs guard's choice, on both listener modules.
ISSUE_14_OPTIONS = {
    "default_tls_container_ref": dict(type="str"),
    "sni_container_refs": dict(type="list", elements="str"),
    "client_ca_tls_container_ref": dict(type="str"),
    "client_authentication": dict(type="str", choices=["NONE", "OPTIONAL", "MANDATORY"]),
    "client_crl_container_ref": dict(type="str"),
    "tls_versions": dict(type="list", elements="str", choices=["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
    "tls_ciphers": dict(type="str"),
    "alpn_protocols": dict(type="list", elements="str", choices=["h2", "http/1.1", "http/1.0"]),
    "allowed_cidrs_unenforced": dict(type="str", choices=["warn", "fail"], default="warn"),
}


@pytest.mark.parametrize("name", ["lb_prometheus_listener", "lb_prometheus_listener_fleet"])
@pytest.mark.parametrize("option", sorted(ISSUE_14_OPTIONS))
def test_the_tls_options_and_the_guard_are_in_the_spec_and_the_docs(no_sdk, name, option):
    """test_options_match_argument_spec passes too when an option is missing from both: this
    one says which options must be there, with Octavia's values."""
    module = importlib.import_module("%s.modules.%s" % (PKG, name))
    spec = module_class(module).argument_spec
    _doc, options = documented_options(module)
    assert option in spec and option in options
    expected = ISSUE_14_OPTIONS[option]
    for key in ("type", "elements", "choices", "default"):
        assert spec[option].get(key) == expected.get(key), key
        assert options[option].get(key, "str" if key == "type" else None) == expected.get(key), key
    assert not spec[option].get("required")
