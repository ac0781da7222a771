"""Every role's meta/argument_specs.yml documents defaults/main.yml exactly.

The house style asks for a CI check that fails on drift between the two files:
same keys, same default values, an `elements` on every list, and defaults of
the declared type. It runs over every role under roles/, whoever wrote it.
"""
import pathlib

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
ROLES = sorted(p for p in (REPO / "roles").iterdir() if (p / "defaults" / "main.yml").exists())

PYTHON_TYPES = {
    "str": (str,),
    "bool": (bool,),
    "int": (int,),
    "float": (int, float),
    "list": (list,),
    "dict": (dict,),
    "path": (str,),
    "raw": (object,),
}


def load(role):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return defaults, specs["argument_specs"]["main"]["options"]


def walk_options(options, path=""):
    """Yield (dotted name, spec) for every option and suboption."""
    for name, spec in options.items():
        yield f"{path}{name}", spec
        if spec.get("options"):
            yield from walk_options(spec["options"], f"{path}{name}.")


@pytest.fixture(params=ROLES, ids=[r.name for r in ROLES])
def role(request):
    return request.param


def test_there_are_roles_to_check():
    assert ROLES, "no role with defaults/main.yml under roles/"


def test_every_default_is_documented(role):
    defaults, options = load(role)
    missing = sorted(set(defaults) - set(options))
    assert not missing, f"{role.name}: in defaults/main.yml but not in meta/argument_specs.yml: {missing}"


def test_every_documented_default_is_in_defaults(role):
    defaults, options = load(role)
    extra = sorted(k for k, spec in options.items() if "default" in spec and k not in defaults)
    assert not extra, f"{role.name}: a default in meta/argument_specs.yml but not in defaults/main.yml: {extra}"


def test_default_values_agree(role):
    defaults, options = load(role)
    drift = {k: (defaults[k], options[k].get("default", "<no default in spec>"))
             for k in defaults if k in options and options[k].get("default", object()) != defaults[k]}
    assert not drift, f"{role.name}: defaults/main.yml vs meta/argument_specs.yml: {drift}"


def test_defaults_have_the_declared_type(role):
    defaults, options = load(role)
    wrong = {}
    for key, value in defaults.items():
        declared = options.get(key, {}).get("type", "str")
        ok = PYTHON_TYPES.get(declared, (object,))
        # bool is an int subclass in Python; a bool default for an int option is still wrong.
        if not isinstance(value, ok) or (declared in ("int", "float") and isinstance(value, bool)):
            wrong[key] = (declared, type(value).__name__)
    assert not wrong, f"{role.name}: defaults whose type disagrees with the spec: {wrong}"


def test_lists_declare_elements(role):
    options = load(role)[1]
    bare = [name for name, spec in walk_options(options)
            if spec.get("type") == "list" and "elements" not in spec]
    assert not bare, f"{role.name}: list options without elements: {bare}"


def test_options_are_described(role):
    options = load(role)[1]
    undocumented = [name for name, spec in walk_options(options) if not spec.get("description")]
    assert not undocumented, f"{role.name}: options without a description: {undocumented}"


def test_role_prefix(role):
    defaults = load(role)[0]
    prefix = role.name + "_"
    bad = sorted(k for k in defaults if not k.startswith(prefix))
    assert not bad, f"{role.name}: defaults without the role prefix {prefix}: {bad}"
