# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The alerting section of a managed prometheus.yml, from a list of Alertmanagers.

Its documentation lives beside it in ``prometheus_alertmanagers.yml``.
"""

import re

from ansible.errors import AnsibleFilterError

HOST_PORT_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")


def prometheus_alertmanagers(entries, alerting=None, name="octavia_prometheus_alertmanagers"):
    """Return the ``alerting`` section: the user's own, plus these Alertmanagers.

    A ``host:port`` string is an Alertmanager reached over plain HTTP; all of them
    share one ``static_configs`` entry, which Prometheus sends every alert to (each
    one, not one of them: Alertmanagers of a cluster deduplicate). A dict is a full
    alertmanager config in Prometheus' shape (scheme, TLS, service discovery) and is
    appended as it is.

    :param entries: a list of ``host:port`` strings and alertmanager config dicts.
    :param alerting: the user's ``alerting`` section (a dict), kept; its
        ``alertmanagers`` come first.
    :param name: the variable's name, to name a bad entry.
    :returns: the ``alerting`` dict, or ``{}`` when there is nothing to alert to.
    :raises AnsibleFilterError: an entry is neither a ``host:port`` string (port
        1-65535) nor a dict.
    """
    if not isinstance(entries, list):
        raise AnsibleFilterError(
            f"{name} must be a list of host:port strings or alertmanager configs, not {entries!r}.")
    hosts, configs = [], []
    for index, entry in enumerate(entries):
        if isinstance(entry, dict):
            configs.append(entry)
            continue
        match = HOST_PORT_RE.match(entry) if isinstance(entry, str) else None
        if not match or not 1 <= int(match.group(2)) <= 65535:
            raise AnsibleFilterError(
                f"{name}[{index}] must be host:port such as 127.0.0.1:9093 (port 1-65535) or an alertmanager config "
                f"dict (got {entry!r}).")
        if entry not in hosts:
            hosts.append(entry)
    result = dict(alerting or {})
    managers = list(result.get("alertmanagers") or [])
    if hosts:
        managers.append({"static_configs": [{"targets": hosts}]})
    managers.extend(configs)
    if managers:
        result["alertmanagers"] = managers
    return result


class FilterModule:
    """The octavia_prometheus role's alerting section."""

    def filters(self):
        return {"prometheus_alertmanagers": prometheus_alertmanagers}
