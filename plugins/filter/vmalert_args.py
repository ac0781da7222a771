# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""vmalert's command line for the octavia_vmalert role.

Its documentation lives beside it in ``vmalert_args.yml``.
"""

from ansible.errors import AnsibleFilterError

# vmalert's flag prefix of each stand-alone connection, and the role's key for it.
_ENDPOINTS = (("datasource", "datasource"), ("remoteWrite", "remote_write"), ("remoteRead", "remote_read"))

# Connection options (the role's sub-option name) and vmalert's flag suffix.
_TLS_FLAGS = (("tls_ca_file", "tlsCAFile"), ("tls_cert_file", "tlsCertFile"),
              ("tls_key_file", "tlsKeyFile"), ("tls_server_name", "tlsServerName"))


def _connection_flags(prefix, conn, password_file):
    """Flags for one stand-alone connection (datasource, remote write, remote read)."""
    values = _connection_values(conn, password_file)
    return [f"-{prefix}.url={conn['url']}"] + [f"-{prefix}.{flag}={value}" for flag, value in values.items() if value]


def _connection_values(conn, password_file):
    """vmalert's flag suffix -> value for one connection; '' where the option is unset."""
    values = {"basicAuth.username": conn.get("username") or "", "basicAuth.passwordFile": password_file or ""}
    values.update({flag: conn.get(key) or "" for key, flag in _TLS_FLAGS})
    values["tlsInsecureSkipVerify"] = "true" if conn.get("tls_insecure_skip_verify") else ""
    return values


def _notifier_flags(notifiers, password_files):
    """Flags for the notifiers. vmalert pairs the i-th value of each -notifier.* flag with the
    i-th -notifier.url, so a flag that any notifier uses carries one value per notifier, joined
    by commas in one flag: vmalert drops an empty value given as a flag of its own, which
    would pair the next value with the wrong notifier."""
    values = [{"url": conn["url"], **_connection_values(conn, password_files.get(f"notifier{index}"))}
              for index, conn in enumerate(notifiers)]
    flags = []
    for flag in (values[0] if values else {}):
        column = [v[flag] for v in values]
        if flag != "url" and not any(column):
            continue
        if flag == "tlsInsecureSkipVerify":
            column = [v or "false" for v in column]
        commas = [v for v in column if "," in v]
        if commas:
            raise AnsibleFilterError(f"vmalert_args: a notifier's {flag} holds a comma ({commas[0]}), "
                                     "which vmalert reads as the next notifier's value")
        flags.append(f"-notifier.{flag}={','.join(column)}")
    return flags


def vmalert_connections(settings, secrets_dir):
    """Every connection vmalert makes, with the file that holds its password.

    :param settings: as for vmalert_args.
    :param secrets_dir: the directory of the password files.
    :returns: a list of dicts ``key`` (``datasource``, ``remote_write``,
        ``remote_read``, ``notifier0``, ``notifier1``, ...), ``name`` (how the
        role's variables name it: ``octavia_vmalert_datasource``, or ``notifier
        <url>``), ``username``, ``path`` (the password file,
        ``<secrets_dir>/<key>.password``) and ``password`` (empty when the
        connection has none: its file is then removed).
    """
    conns = [(key, f"octavia_vmalert_{key}", settings.get(key) or {}) for _prefix, key in _ENDPOINTS]
    conns += [(f"notifier{index}", f"notifier {conn.get('url')}", conn)
              for index, conn in enumerate(settings.get("notifiers") or [])]
    return [{"key": key, "name": name, "username": conn.get("username") or "",
             "path": f"{secrets_dir.rstrip('/')}/{key}.password", "password": conn.get("password") or ""}
            for key, name, conn in conns]


def vmalert_args(settings, secrets_dir):
    """Return vmalert's arguments, one flag per item, in a stable order.

    :param settings: dict with ``listen_address``, ``rules`` (list of files or
        globs), ``evaluation_interval``, ``datasource``, ``remote_write``,
        ``remote_read`` (dicts with ``url`` and the connection options
        ``username``, ``tls_*``; an empty ``url`` leaves that connection out;
        datasource must have one), ``notifiers`` (list of such dicts),
        ``external_labels`` (dict), ``external_url`` and ``extra_args`` (list).
    :param secrets_dir: the directory where each connection with a
        ``password`` has it in a file (see vmalert_connections). Passwords
        never appear in the arguments, which a process listing shows.
    :returns: the list of arguments.
    :raises AnsibleFilterError: a value holds white space (systemd splits the
        arguments line on it) or the datasource has no url.
    """
    if not (settings.get("datasource") or {}).get("url"):
        raise AnsibleFilterError("vmalert_args: the datasource needs a url")
    password_files = {c["key"]: c["path"] for c in vmalert_connections(settings, secrets_dir) if c["password"]}
    args = [f"-httpListenAddr={settings['listen_address']}"]
    args += [f"-rule={rule}" for rule in settings.get("rules") or []]
    args.append(f"-evaluationInterval={settings['evaluation_interval']}")
    for prefix, key in _ENDPOINTS:
        conn = settings.get(key) or {}
        if conn.get("url"):
            args += _connection_flags(prefix, conn, password_files.get(key))
    args += _notifier_flags(settings.get("notifiers") or [], password_files)
    for name, value in sorted((settings.get("external_labels") or {}).items()):
        args.append(f"-external.label={name}={value}")
    if settings.get("external_url"):
        args.append(f"-external.url={settings['external_url']}")
    args += list(settings.get("extra_args") or [])
    spaced = [arg for arg in args if any(ch.isspace() for ch in arg)]
    if spaced:
        raise AnsibleFilterError(
            f"vmalert_args: {', '.join(spaced)} holds white space, which the service's ARGS line cannot carry")
    return args


class FilterModule:
    """The octavia_vmalert role's command line."""

    def filters(self):
        return {"vmalert_args": vmalert_args}
