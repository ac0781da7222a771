# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Everything wrong with the octavia_prometheus role's TLS and web settings, one sentence per fault.

Its documentation lives beside it in ``prometheus_tls_problems.yml``.
"""

import re

from ansible_collections.octavia.monitoring.plugins.module_utils._targets import (
    TLS_WEB_OPTIONS,
    tls_problems,
)

# What Prometheus' web server (golang.org/x/crypto/bcrypt) accepts: $2a$, $2b$ or $2y$, cost, 53 characters.
_BCRYPT = re.compile(r"^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$")


def prometheus_tls_problems(tls, targets=None, web_tls=None, web_users=None, web_client=None, sources=None):
    """Return one sentence per fault, or an empty list.

    :param tls: ``octavia_prometheus_tls``, the scrape profile of the main job.
    :param targets: ``octavia_prometheus_targets``; a target's own ``tls`` may
        name files and options only (a target is logged like any variable).
    :param web_tls: ``octavia_prometheus_web_tls``, Prometheus' server profile.
    :param web_users: ``octavia_prometheus_web_users``, user name to bcrypt hash.
    :param web_client: ``{username, password}`` the role uses against Prometheus.
    :param sources: ``octavia_prometheus_sources``; a source's ``tls`` goes onto each of
        its targets, so it too may name files and options only.
    :returns: the faults, in that order. No sentence repeats a secret.
    """
    problems = tls_problems(tls, "octavia_prometheus_tls")
    for index, target in enumerate(targets or []):
        if isinstance(target, dict) and target.get("tls"):
            problems += tls_problems(target["tls"], f"octavia_prometheus_targets[{index}].tls", content=False)
    for index, source in enumerate(sources or []):
        if isinstance(source, dict) and source.get("tls"):
            problems += tls_problems(source["tls"], f"octavia_prometheus_sources[{index}].tls", content=False)
    problems += tls_problems(web_tls, "octavia_prometheus_web_tls", options=TLS_WEB_OPTIONS, server=True)
    for name, digest in sorted((web_users or {}).items()):
        if not (isinstance(digest, str) and _BCRYPT.match(digest)):
            problems.append(f"octavia_prometheus_web_users['{name}'] must be a bcrypt hash ($2b$12$ followed by "
                            f"53 characters), never the password itself; make one with "
                            f"python3 -c 'import bcrypt, getpass; "
                            f"print(bcrypt.hashpw(getpass.getpass().encode(), bcrypt.gensalt()).decode())'.")
    client = web_client or {}
    if web_users and not client.get("username"):
        problems.append("octavia_prometheus_web_users turns on basic auth, so the role needs "
                        "octavia_prometheus_web_client_username and octavia_prometheus_web_client_password to "
                        "reload and check Prometheus: set them to one of those users.")
    elif web_users and client.get("username") not in web_users:
        problems.append(f"octavia_prometheus_web_client_username ({client.get('username')}) is not one of "
                        f"octavia_prometheus_web_users ({', '.join(sorted(web_users))}): Prometheus would refuse "
                        f"the role's own requests.")
    if client.get("username") and not client.get("password"):
        problems.append("octavia_prometheus_web_client_username is set without "
                        "octavia_prometheus_web_client_password: set both, or neither.")
    return problems


class FilterModule:
    """Validation of the octavia_prometheus role's TLS and web settings."""

    def filters(self):
        return {"prometheus_tls_problems": prometheus_tls_problems}
