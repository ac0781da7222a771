"""_auth: the auth options as data, and the type check of auth options read from a file."""
import pytest

from ansible_collections.octavia.monitoring.plugins.module_utils import _auth as a


def test_auth_options_map_every_spec_option_but_cloud():
    assert {opt for opt, _kw in a.AUTH_OPTIONS} == set(a.AUTH_ARGUMENT_SPEC) - {"cloud"}
    assert dict(a.AUTH_OPTIONS)["validate_certs"] == "verify"
    assert dict(a.AUTH_OPTIONS)["ca_cert"] == "cacert"
    assert dict(a.AUTH_OPTIONS)["client_key"] == "key"


def test_auth_spec_uses_openstack_cloud_names():
    spec = a.AUTH_ARGUMENT_SPEC
    assert spec["validate_certs"]["aliases"] == ["verify"]
    assert spec["interface"]["aliases"] == ["endpoint_type"]
    assert spec["auth"]["no_log"] is True and spec["client_key"]["no_log"] is True
    assert spec["cloud"]["type"] == "raw" and spec["api_timeout"]["type"] == "int"


def test_check_auth_values_accepts_right_types_none_and_keys_it_does_not_know():
    a.check_auth_values({"cloud": "prod", "auth": {"auth_url": "u"}, "validate_certs": False,
                         "api_timeout": 10, "interface": "internal", "region_name": "R",
                         "ca_cert": None, "regions": ["ignored here"]}, "entry 1 of clouds")
    a.check_auth_values({"cloud": {"auth": {}}}, "entry 1 of clouds")
    a.check_auth_values({}, "entry 1 of clouds")


@pytest.mark.parametrize("options, message", [
    ({"cloud": 5}, "cloud in entry 1 of clouds must be a string or a mapping, not 5."),
    ({"auth": ["x"]}, "auth in entry 1 of clouds must be a mapping, not list."),  # a secret: its type only
    ({"validate_certs": "no"}, "validate_certs in entry 1 of clouds must be true or false, not 'no'."),
    ({"api_timeout": "10"}, "api_timeout in entry 1 of clouds must be a whole number, not '10'."),
    ({"api_timeout": True}, "api_timeout in entry 1 of clouds must be a whole number, not True."),
    ({"region_name": 1}, "region_name in entry 1 of clouds must be a string, not 1."),
    ({"interface": "private"}, "interface in entry 1 of clouds must be one of public, internal, admin, "
                               "not 'private'."),
])
def test_check_auth_values_names_key_wanted_and_given(options, message):
    with pytest.raises(ValueError) as err:
        a.check_auth_values(options, "entry 1 of clouds")
    assert str(err.value) == message


@pytest.mark.parametrize("key", ["auth", "client_key"])
def test_check_auth_values_does_not_echo_secrets(key):
    """A password written where a mapping (auth) or a path (client_key) belongs must not reach
    the inventory's error message, which AWX shows and logs."""
    value = "s3cret-password" if key == "auth" else {"password": "s3cret-password"}
    with pytest.raises(ValueError) as err:
        a.check_auth_values({key: value}, "entry 1 of clouds")
    assert key in str(err.value)
    assert "s3cret-password" not in str(err.value)
