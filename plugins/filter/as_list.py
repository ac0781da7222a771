# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The one parser for list variables that may also arrive as one string.

AWX and Automation Controller surveys hand a "text" or "textarea" answer to a
play as a single string. Every list variable of the collection's roles
therefore also takes ``"a, b"`` or ``"a\\nb"``; this filter is the only place
that turns such a string into a list, so every role reads it the same way.
Its documentation lives beside it in ``as_list.yml``.
"""

import re

from ansible.errors import AnsibleFilterError

_SEPARATORS = re.compile(r"[,\n]")


def as_list(value, name="the value"):
    """Return ``value`` as a list of non-empty, stripped strings.

    :param value: a list (or tuple) of strings, one string of entries
        separated by commas or new lines, or ``None`` / ``""`` (an empty list).
    :param name: the variable's name, used in the error message.
    :returns: a new list; entries keep their order and duplicates stay (a
        caller that needs a set says so itself).
    :raises AnsibleFilterError: ``value`` is a mapping, a number or a boolean,
        or a list entry is not a string.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in _SEPARATORS.split(value) if part.strip()]
    if isinstance(value, (list, tuple)):
        out = []
        for entry in value:
            if not isinstance(entry, str):
                raise AnsibleFilterError(
                    f"{name} must be a list of strings or one string of entries separated by "
                    f"commas or new lines, but it holds {entry!r} ({type(entry).__name__}).")
            if entry.strip():
                out.append(entry.strip())
        return out
    raise AnsibleFilterError(
        f"{name} must be a list or one string of entries separated by commas or new lines, "
        f"not {type(value).__name__} {value!r}.")


class FilterModule:
    """The survey-friendly list parser."""

    def filters(self):
        return {"as_list": as_list}
