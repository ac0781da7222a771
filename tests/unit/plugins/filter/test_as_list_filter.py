"""The one survey-string list parser (plugins/filter/as_list.py)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.octavia.monitoring.plugins.filter.as_list import FilterModule, as_list


@pytest.mark.parametrize("value, expected", [
    (None, []),
    ("", []),
    ("a", ["a"]),
    ("octavia-fleet-overview, octavia-lb-detail", ["octavia-fleet-overview", "octavia-lb-detail"]),
    ("a,b", ["a", "b"]),
    ("a\nb\n", ["a", "b"]),
    ("a,\n, b ,,", ["a", "b"]),
    ("  \n ", []),
    ([" a", "b ", ""], ["a", "b"]),
    (("x",), ["x"]),
    ([], []),
    (["a", "a"], ["a", "a"]),
])
def test_as_list(value, expected):
    assert as_list(value) == expected


@pytest.mark.parametrize("value", [{"a": 1}, 3, True, 1.5])
def test_as_list_refuses_other_types(value):
    with pytest.raises(AnsibleFilterError, match="octavia_x must be a list"):
        as_list(value, name="octavia_x")


def test_as_list_refuses_non_string_entries():
    with pytest.raises(AnsibleFilterError, match=r"holds 5 \(int\)"):
        as_list(["a", 5], name="octavia_x")


def test_filter_is_registered():
    assert FilterModule().filters()["as_list"] is as_list
