# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The auth options: openstack.cloud's names and meanings, as data. Pure.

The modules take them through ``_base``, the inventory plugin checks its
``clouds`` entries against them, and ``_sdk.connect`` maps them to
``openstack.connect()`` keywords.
"""

AUTH_ARGUMENT_SPEC = dict(
    cloud=dict(type="raw"),
    auth=dict(type="dict", no_log=True),
    auth_type=dict(type="str"),
    region_name=dict(type="str"),
    validate_certs=dict(type="bool", aliases=["verify"]),
    ca_cert=dict(type="str", aliases=["cacert"]),
    client_cert=dict(type="str", aliases=["cert"]),
    client_key=dict(type="str", no_log=True, aliases=["key"]),
    api_timeout=dict(type="int"),
    interface=dict(type="str", default="public", choices=["public", "internal", "admin"],
                   aliases=["endpoint_type"]),
)

# Option name -> openstack.connect() keyword. These are the names openstack.cloud
# passes on, so a task moved from openstack.cloud keeps its meaning.
AUTH_OPTIONS = (
    ("auth", "auth"),
    ("auth_type", "auth_type"),
    ("region_name", "region_name"),
    ("validate_certs", "verify"),
    ("ca_cert", "cacert"),
    ("client_cert", "cert"),
    ("client_key", "key"),
    ("api_timeout", "api_timeout"),
    ("interface", "interface"),
)

# The Python types a value read from a file (an inventory source) must have, per spec type.
_PY_TYPES = dict(str=(str,), dict=(dict,), bool=(bool,), int=(int,), raw=(str, dict))


def check_auth_values(options, where):
    """Fail when an auth option read from a file has the wrong type or value.

    Module options are checked by Ansible's argument spec; an inventory
    source's ``clouds`` entries are not, so they are checked here with the
    same spec.

    :param options: dict of auth option names to values.
    :param where: phrase naming the place, for the message.
    :returns: ``None``.
    :raises ValueError: one sentence naming the key, what it must be and what it
        is (only the type of a secret option, never its value).
    """
    for key, value in options.items():
        spec = AUTH_ARGUMENT_SPEC.get(key)
        if spec is None or value is None:
            continue
        wanted = _PY_TYPES[spec["type"]]
        if not isinstance(value, wanted) or (spec["type"] == "int" and isinstance(value, bool)):
            names = " or ".join({"str": "a string", "dict": "a mapping", "bool": "true or false",
                                 "int": "a whole number"}[t.__name__] for t in wanted)
            given = type(value).__name__ if spec.get("no_log") else repr(value)
            raise ValueError(f"{key} in {where} must be {names}, not {given}.")
        if spec.get("choices") and value not in spec["choices"]:
            raise ValueError(f"{key} in {where} must be one of {', '.join(spec['choices'])}, not "
                             f"{value!r}.")
