# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The remote_write section of a managed prometheus.yml, and the inline secrets in it.

Its documentation lives beside it in ``prometheus_remote_write.yml``.
"""

import re

from ansible.errors import AnsibleFilterError

# The keys of Prometheus' HTTP client configuration that hold a secret inline; each
# has a *_file twin that keeps the secret out of prometheus.yml.
SECRET_PATHS = (
    ("basic_auth", "password"),
    ("authorization", "credentials"),
    ("bearer_token",),
    ("oauth2", "client_secret"),
    ("sigv4", "secret_key"),
)
URL_RE = re.compile(r"^https?://[^/\s]+")


def _secret_paths(entry):
    """The dotted paths of the inline secrets one entry holds."""
    found = []
    for path in SECRET_PATHS:
        node = entry
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        if node not in (None, ""):
            found.append(".".join(path))
    return found


def prometheus_remote_write(entries, queue_config=None, name="octavia_prometheus_remote_write"):
    """Return the remote_write entries with the fleet's queue settings, and where secrets are inline.

    Each entry is in Prometheus' own shape. ``queue_config`` supplies every queue
    setting an entry does not set itself (the entry's own ``queue_config`` wins key
    by key), so one default serves every endpoint.

    :param entries: the list of remote_write entries (dicts with at least ``url``).
    :param queue_config: the default ``queue_config`` (a dict; empty adds nothing).
    :param name: the variable's name, to name a bad entry.
    :returns: ``{"remote_write": [...], "inline_secrets": ["<name>[i].basic_auth.password", ...]}``.
    :raises AnsibleFilterError: ``entries`` is not a list of dicts, or an entry has no
        http(s) ``url``.
    """
    if not isinstance(entries, list):
        raise AnsibleFilterError(f"{name} must be a list of remote_write entries, not {entries!r}.")
    defaults = dict(queue_config or {})
    out, secrets = [], []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise AnsibleFilterError(
                f"{name}[{index}] must be a dict in Prometheus' remote_write shape, not {entry!r}.")
        url = entry.get("url")
        if not isinstance(url, str) or not URL_RE.match(url):
            raise AnsibleFilterError(
                f"{name}[{index}] needs a url such as http://127.0.0.1:8428/api/v1/write (got {url!r}).")
        merged = dict(entry)
        own = entry.get("queue_config") or {}
        if defaults or own:
            merged["queue_config"] = {**defaults, **own}
        out.append(merged)
        secrets.extend(f"{name}[{index}].{path}" for path in _secret_paths(entry))
    return {"remote_write": out, "inline_secrets": secrets}


class FilterModule:
    """The octavia_prometheus role's remote_write section."""

    def filters(self):
        return {"prometheus_remote_write": prometheus_remote_write}
