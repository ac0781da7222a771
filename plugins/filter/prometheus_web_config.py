# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Prometheus' web config (TLS and basic auth) and how the role's own clients reach it.

Its documentation lives beside it in ``prometheus_web_config.yml``.
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._targets import web_client, web_config


def prometheus_web_config(tls, users=None, files_dir="/etc/prometheus/credentials", client=None):
    """The ``--web.config.file`` content, its material files and the self-scrape's settings.

    :param tls: ``octavia_prometheus_web_tls`` (empty: plain HTTP).
    :param users: ``octavia_prometheus_web_users`` (empty: no basic auth).
    :param files_dir: where material given as PEM text, and the client password, are written.
    :param client: ``{username, password, ca_file, cert_file, key_file}``, the
        role's own credentials (the self-scrape job uses them too).
    :returns: ``{"config": dict, "files": [{path, content, secret}], "scrape":
        {basic_auth?, tls_config?}}``; ``files`` holds the server's material
        and the client's password file.
    """
    client = client or {}
    server = web_config(tls, users, files_dir)
    own = web_client(client.get("username"), client.get("password"), client.get("ca_file"),
                     client.get("cert_file"), client.get("key_file"), files_dir)
    return {"config": server["config"], "files": sorted(server["files"] + own["files"], key=lambda f: f["path"]),
            "scrape": own["scrape"]}


class FilterModule:
    """The octavia_prometheus role's web config."""

    def filters(self):
        return {"prometheus_web_config": prometheus_web_config}
