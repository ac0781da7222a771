"""The octavia_listeners role's own rules: survey strings, one place for logic, one condition per assert.

The parts that hold for every role (defaults against argument_specs) are in test_argument_specs.py.
"""
import ast
import pathlib
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

# tests/unit/conftest.py makes the checkout importable as the collection.
from ansible_collections.octavia.monitoring.plugins.filter.as_list import as_list
from ansible_collections.octavia.monitoring.plugins.filter.rollout_batches import fleet_filters

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "octavia_listeners"
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
OPTIONS = SPECS["main"]["options"]
LIST_OPTIONS = sorted(name for name, spec in OPTIONS.items() if spec["type"] == "list")
FILTER_LIST_KEYS = sorted(key for key, spec in OPTIONS["octavia_listeners_filters"]["options"].items()
                          if spec["type"] == "list")
SURVEY_STRINGS = [("a, b", ["a", "b"]), ("a\nb", ["a", "b"]), ("a,b\n c ,", ["a", "b", "c"]), ("a", ["a"])]


def role_files(*parts):
    return sorted(path for part in parts for path in (ROLE / part).glob("*.yml"))


def validate(values):
    spec = {name: {k: v for k, v in option.items() if k not in ("description", "version_added")}
            for name, option in OPTIONS.items()}
    for option in spec.values():
        for sub in (option.get("options") or {}).values():
            sub.pop("description", None)
    return ArgumentSpecValidator(spec).validate(values, validate_role_argument_spec=True)


def test_the_role_has_list_variables_to_check():
    assert LIST_OPTIONS == ["octavia_listeners_allowed_cidrs", "octavia_listeners_listener_tags",
                            "octavia_listeners_load_balancers"]
    assert FILTER_LIST_KEYS == ["project_ids", "providers", "provisioning_statuses", "tags"]


@pytest.mark.parametrize("text, expected", SURVEY_STRINGS)
@pytest.mark.parametrize("name", LIST_OPTIONS)
def test_argument_specs_accept_survey_strings_for_every_list(name, text, expected):
    # Ansible's list check splits at commas without trimming, and "a\nb" stays one entry; the
    # role never uses the checked copy: it reads the variable itself through as_list.
    assert validate({name: text}).error_messages == []
    assert as_list(text, name=name) == expected


@pytest.mark.parametrize("text, expected", SURVEY_STRINGS)
@pytest.mark.parametrize("key", FILTER_LIST_KEYS)
def test_argument_specs_accept_survey_strings_for_every_filter_list(key, text, expected):
    assert validate({"octavia_listeners_filters": {key: text}}).error_messages == []
    assert fleet_filters({key: text}) == {key: expected}


def test_argument_specs_name_a_misspelt_filter():
    errors = validate({"octavia_listeners_filters": {"name_patern": "web-*"}}).error_messages
    assert len(errors) == 1 and "octavia_listeners_filters.name_patern" in errors[0]


def test_filters_are_the_collections_one_vocabulary():
    """The same keys and types as the `filters` doc fragment every module and plugin extends."""
    source = (ROLE.parents[1] / "plugins" / "doc_fragments" / "_filters.py").read_text()
    fragment = next(node for node in ast.walk(ast.parse(source))
                    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION")
    shared = yaml.safe_load(fragment.value.value)["options"]["filters"]["suboptions"]
    role = OPTIONS["octavia_listeners_filters"]["options"]
    assert {k: (v["type"], v.get("elements")) for k, v in role.items()} == {
        k: (v["type"], v.get("elements")) for k, v in shared.items()}


def test_old_filter_variables_are_gone():
    old = ("octavia_listeners_project_ids", "octavia_listeners_lb_tags", "octavia_listeners_name_pattern",
           "octavia_listeners_providers", "octavia_listeners_provisioning_statuses")
    for path in role_files("defaults", "vars", "tasks", "meta") + [ROLE / "README.md"]:
        text = path.read_text()
        if path.name == "argument_specs.yml" or path.name == "README.md":
            # Named once, where the renaming is documented.
            text = re.sub(r"Replaces the variables.*?of earlier versions\.", "", text, flags=re.S)
            text = re.sub(r"<!-- renamed -->.*?<!-- /renamed -->", "", text, flags=re.S)
        assert not [name for name in old if name in text], path


def test_entry_points_have_version_added():
    assert {name: spec.get("version_added") for name, spec in SPECS.items()} == {
        "main": "1.0.0", "fleet_check": "1.0.0"}


@pytest.mark.parametrize("path", role_files("vars", "tasks", "defaults"), ids=lambda p: p.name)
def test_no_jinja_programs(path):
    text = path.read_text()
    for construct in ("namespace(", "{% for", "{%- for", "{% set", "regex_findall", "groupby"):
        assert construct not in text, f"{path.name} has {construct!r}: that logic belongs in a filter plugin"


def test_every_list_variable_is_read_through_the_one_parser():
    text = (ROLE / "vars" / "main.yml").read_text()
    for name in LIST_OPTIONS:
        assert re.search(rf"{name}\s*\|\s*octavia\.monitoring\.as_list\(name='{name}'\)", text), name
    # octavia_listeners_filters and _load_balancers also go to rollout_batches, which parses them.
    assert "load_balancers=octavia_listeners_load_balancers" in text
    assert "filters=octavia_listeners_filters" in text


def asserts():
    for path in role_files("tasks"):
        for task in yaml.safe_load(path.read_text()) or []:
            if "ansible.builtin.assert" in task:
                yield path.name, task


@pytest.mark.parametrize("where, task", list(asserts()), ids=lambda v: v if isinstance(v, str) else v["name"])
def test_one_condition_per_assert_and_a_message_naming_a_variable(where, task):
    spec = task["ansible.builtin.assert"]
    assert len(spec["that"]) == 1, f"{where}: {task['name']} checks several conditions"
    assert spec.get("quiet") is True
    assert re.search(r"octavia_listeners_\w+", spec["fail_msg"]), task["name"]
    # argument_specs already checks choices and types; preflight must not repeat them.
    assert not re.search(r"\bin \[|choices|selections|states", spec["that"][0]), spec["that"][0]


def test_preflight_repeats_no_allowed_value():
    text = (ROLE / "tasks" / "preflight.yml").read_text() + (ROLE / "vars" / "main.yml").read_text()
    for option in OPTIONS.values():
        for choice in option.get("choices", []):
            assert not re.search(rf"['\[ ]{choice}[,\]]", text), choice


def test_only_one_task_runs_per_host():
    """Every task of the rollout runs once or is a meta task, but the per-host report."""
    per_host = []
    for path in role_files("tasks"):
        for task in yaml.safe_load(path.read_text()) or []:
            if "ansible.builtin.import_tasks" in task or "ansible.builtin.meta" in task:
                continue
            if task.get("run_once") is not True:
                per_host.append(task["name"])
    assert per_host == ["Report the outcome of each load balancer on its host"]


def test_every_tls_key_of_the_role_reaches_the_fleet_module_under_its_own_name():
    from ansible_collections.octavia.monitoring.plugins.module_utils._plan import LISTENER_SPEC
    keys = sorted(OPTIONS["octavia_listeners_tls"]["options"])
    task = yaml.safe_load((ROLE / "tasks" / "configure.yml").read_text())[0]
    args = task["octavia.monitoring.lb_prometheus_listener_fleet"]
    assert keys == sorted(k for k in LISTENER_SPEC if "tls" in k or k.startswith(("client_", "sni_", "alpn_")))
    for key in keys:
        assert args[key] == (f"{{{{ omit if (octavia_listeners_tls.{key} | default(none)) is none "
                             f"else octavia_listeners_tls.{key} }}}}")
    assert args["allowed_cidrs_unenforced"] == "{{ octavia_listeners_allowed_cidrs_unenforced }}"
