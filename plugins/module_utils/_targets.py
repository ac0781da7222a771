# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Scrape targets: the load balancer summary, the address choice, labels, scrape items.

Pure: plain dicts in and out. The info module, the inventory plugin, the
listener modules, the Prometheus role (through its filter) and the exporter's
HTTP service discovery all build their targets here, so a target has one shape
and one set of labels wherever it comes from.
"""

import hashlib
import json

from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._select import prometheus_listeners

LB_SUMMARY_KEYS = ("id", "name", "vip_address", "vip_port_id", "project_id", "provider",
                   "availability_zone", "provisioning_status", "operating_status")
ADDRESS_CHOICES = ("vip", "floating_ip", "auto")
# The labels every target carries; cloud and region are added where known.
TARGET_LABEL_KEYS = ("loadbalancer_id", "loadbalancer_name", "project_id", "listener_id",
                     "vip_address", "provider", "availability_zone")


def merge_labels(layers):
    """Merge label dicts, later ones winning; drop empty values and write every value as a string.

    An empty label is no label to Prometheus, and file_sd and HTTP SD take only strings. A
    load balancer without a name is shown by its ID, never with an empty name. The
    Prometheus role's targets filter and the exporter's HTTP SD both merge here.
    """
    merged = {}
    for layer in layers:
        for key, value in sorted((layer or {}).items()):
            if value is not None and str(value) != "":
                merged[key] = str(value)
    if "loadbalancer_id" in merged and "loadbalancer_name" not in merged:
        merged["loadbalancer_name"] = merged["loadbalancer_id"]
    return merged


def lb_summary(lb, floating_ip=None):
    """The load balancer summary the modules return (``floating_ip`` may be ``None``)."""
    summary = {k: lb.get(k) for k in LB_SUMMARY_KEYS}
    summary["floating_ip"] = floating_ip
    return summary


def vip_addresses(lb):
    """Every VIP address of a load balancer dict (the main one and the additional ones)."""
    addresses = [lb["vip_address"]] if lb.get("vip_address") else []
    addresses += [extra["ip_address"] for extra in lb.get("additional_vips") or []
                  if extra.get("ip_address")]
    return addresses


def scrape_target(host, port):
    """``host:port`` as Prometheus expects it, with an IPv6 address in brackets."""
    host = str(host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def scrape_host(summary, address):
    """Pick the address Prometheus must scrape.

    :param summary: ``lb_summary()`` output.
    :param address: ``vip``, ``floating_ip`` or ``auto`` (the floating IP when
        there is one, else the VIP).
    :raises PlanError: ``floating_ip`` was asked for and the load balancer has none.
    """
    if address == "vip":
        return summary["vip_address"]
    if summary.get("floating_ip"):
        return summary["floating_ip"]
    if address == "auto":
        return summary["vip_address"]
    raise PlanError(f"Load balancer '{summary.get('name') or ''}' ({summary['id']}) has no floating "
                    f"IP on its VIP port {summary.get('vip_port_id')}; use address=vip or "
                    f"address=auto, or attach a floating IP.")


def target_labels(summary, listener, cloud=None, region=None):
    """The labels of one scrape target; ``cloud`` and ``region`` only where known."""
    labels = dict(
        loadbalancer_id=summary["id"],
        loadbalancer_name=summary.get("name") or "",
        project_id=summary.get("project_id") or "",
        listener_id=listener["id"],
        vip_address=summary.get("vip_address") or "",
        provider=summary.get("provider") or "",
        availability_zone=summary.get("availability_zone") or "",
    )
    if cloud:
        labels["cloud"] = cloud
    if region:
        labels["region"] = region
    return labels


def uses_tls(listener):
    """True when a listener (or a planned one) serves /metrics over TLS."""
    return bool(listener.get("default_tls_container_ref") or listener.get("sni_container_refs"))


def scrape_items(summary, listeners, cloud=None, region=None, address="vip", name=None):
    """The scrape targets of one load balancer: the one builder of scrape items.

    A listener with a certificate is scraped over HTTPS: its item says
    ``scheme: https`` and its labels carry ``__scheme__``, which Prometheus
    reads from service discovery, so one job can mix plain and TLS listeners.
    ``client_auth`` says whether the listener asks for a client certificate.

    :param summary: ``lb_summary()`` of the load balancer.
    :param listeners: the load balancer's listener dicts (any protocol).
    :param address: one of ``ADDRESS_CHOICES`` (see ``scrape_host``).
    :param name: only the PROMETHEUS listener with this name or ID.
    :returns: list of ``{listener, load_balancer, scrape_target, labels,
        scheme, client_auth}``, one per PROMETHEUS listener, sorted by port then ID.
    :raises PlanError: ``floating_ip`` asked for and the load balancer has none.
    """
    items = []
    for listener in prometheus_listeners(listeners):
        if name is not None and name not in (listener.get("name"), listener["id"]):
            continue
        host = scrape_host(summary, address)
        labels = target_labels(summary, listener, cloud, region)
        scheme = "https" if uses_tls(listener) else "http"
        if scheme == "https":
            labels["__scheme__"] = scheme
        items.append(dict(listener=listener, load_balancer=summary,
                          scrape_target=scrape_target(host, listener["protocol_port"]),
                          labels=labels, scheme=scheme,
                          client_auth=listener.get("client_authentication") or "NONE"))
    return items


# TLS of the scrape and of Prometheus' own web server. A profile names each piece of
# material either as a path on the Prometheus host (``*_file``) or as PEM text that the
# role writes into its credentials directory (the bare name).
TLS_MATERIAL = (("ca", "ca_file"), ("cert", "cert_file"), ("key", "key_file"))
TLS_SCRAPE_OPTIONS = ("server_name", "insecure_skip_verify", "min_version")
# Prometheus' web server (exporter-toolkit's tls_server_config); ca/ca_file is the client CA.
TLS_WEB_OPTIONS = ("client_auth_type", "min_version")
PEM_BEGIN = "-----BEGIN "


def tls_problems(profile, where, options=TLS_SCRAPE_OPTIONS, server=False, content=True):
    """Every fault of one TLS profile, one sentence each (an empty list when it is sound).

    :param profile: a dict with ``ca``/``ca_file``, ``cert``/``cert_file``,
        ``key``/``key_file`` and ``options``; ``None`` or ``{}`` is no TLS.
    :param where: the variable (or item) the sentences name.
    :param options: the other keys the profile may have.
    :param server: a server profile needs its certificate and key; a scrape
        profile may have neither (then there is no client certificate).
    :param content: whether PEM text is allowed; where it is not (a target's
        own ``tls``, which is logged like any target), only paths are.
    :returns: list of sentences; none of them quotes key material.
    """
    if profile in (None, {}):
        return []
    if not isinstance(profile, dict):
        return [f"{where} must be a mapping of TLS settings, not {type(profile).__name__}."]
    problems = []
    unknown = sorted(set(profile) - {k for pair in TLS_MATERIAL for k in pair} - set(options))
    if unknown:
        problems.append(f"{where} has unknown keys ({', '.join(unknown)}); it takes "
                        f"{', '.join(k for pair in TLS_MATERIAL for k in pair)}, "
                        f"{', '.join(options)}.")
    allow_text = content
    for content_key, file_key in TLS_MATERIAL:
        content, path = profile.get(content_key), profile.get(file_key)
        if content and not allow_text:
            problems.append(f"{where}.{content_key} cannot be PEM text here: name a file on the Prometheus host "
                            f"with {file_key}, or put the text in the role-wide setting, which is kept out of logs.")
        elif content and path:
            problems.append(f"{where} sets both {content_key} and {file_key}: give the PEM text or the path "
                            f"on the Prometheus host, not both.")
        if content and allow_text and not (isinstance(content, str) and PEM_BEGIN in content):
            # The value itself is never repeated: it may be a private key.
            problems.append(f"{where}.{content_key} must be PEM text (a '{PEM_BEGIN}...' block); "
                            f"to name a file, use {file_key}.")
        if path and not (isinstance(path, str) and path.startswith("/")):
            problems.append(f"{where}.{file_key} must be an absolute path on the Prometheus host (got {path!r}).")
    has_cert = bool(profile.get("cert") or profile.get("cert_file"))
    has_key = bool(profile.get("key") or profile.get("key_file"))
    if server and not (has_cert and has_key):
        problems.append(f"{where} needs the server certificate and its key (cert or cert_file, key or key_file) "
                        f"for Prometheus to serve HTTPS.")
    elif has_cert != has_key:
        problems.append(f"{where} needs a client certificate and its key together: "
                        f"it has {'a certificate without a key' if has_cert else 'a key without a certificate'}.")
    return problems


def tls_material(profile, files_dir, prefix):
    """Where each piece of a profile's material lives, and the files the role must write.

    :param profile: a TLS profile (see ``tls_problems``), already checked.
    :param files_dir: the directory for material given as PEM text.
    :param prefix: the file name prefix of this profile's files.
    :returns: ``(paths, files)``: ``paths`` maps ``ca_file``/``cert_file``/
        ``key_file`` to a path (the user's, or the role's file), ``files`` is a
        list of ``{path, content, secret}`` to write; ``secret`` marks the key.
    """
    paths, files = {}, []
    for content_key, file_key in TLS_MATERIAL:
        if (profile or {}).get(content_key):
            path = f"{files_dir}/{prefix}-{content_key}.pem"
            text = profile[content_key]
            files.append({"path": path, "content": text if text.endswith("\n") else text + "\n",
                          "secret": content_key == "key"})
            paths[file_key] = path
        elif (profile or {}).get(file_key):
            paths[file_key] = profile[file_key]
    return paths, files


def scrape_tls_config(profile, files_dir, prefix):
    """A Prometheus ``tls_config`` for one profile and the files it needs (see ``tls_material``)."""
    config, files = tls_material(profile, files_dir, prefix)
    for key in TLS_SCRAPE_OPTIONS:
        if (profile or {}).get(key) not in (None, ""):
            config[key] = profile[key]
    return config, files


def profile_key(profile):
    """A short name for a TLS profile that depends on its content only (not on the order of targets)."""
    text = json.dumps(profile or {}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def tls_groups(targets, default_profile, files_dir, job_name):
    """Split the scrape targets by TLS profile: one scrape job per profile that HTTPS targets use.

    A plain target, and an HTTPS target without a ``tls`` of its own (or with
    the default one), go to the main job, whose ``tls_config`` is the default
    profile's: Prometheus applies a job's ``tls_config`` to its HTTPS targets
    only, so one job mixes plain and TLS listeners. An HTTPS target with
    another profile goes to a job of that profile; its targets file lives in a
    directory of its own, outside the main job's glob.

    :param targets: items of ``prometheus_targets`` (``scrape_target``,
        ``labels``, optional ``scheme``, ``tls``, ``client_auth``).
    :param default_profile: the role-wide TLS profile (may be empty).
    :param files_dir: where material given as PEM text is written.
    :param job_name: the main job's name; other jobs are ``<job_name>-tls-<key>``.
    :returns: ``{"tls_config", "file_sd", "jobs": [{job_name, key, tls_config,
        file_sd}], "files": [{path, content, secret}], "warnings": [sentence]}``,
        jobs sorted by key, files by path.
    """
    default_profile = default_profile or {}
    main_config, files = scrape_tls_config(default_profile, files_dir, job_name)
    main, others, warnings = [], {}, []
    for target in targets or []:
        https = target.get("scheme") == "https" or (target.get("labels") or {}).get("__scheme__") == "https"
        profile = target.get("tls") or default_profile
        entry = {"targets": [target["scrape_target"]], "labels": target.get("labels") or {}}
        if https and profile != default_profile:
            others.setdefault(profile_key(profile), (profile, []))[1].append(entry)
        else:
            main.append(entry)
        if https and target.get("client_auth") == "MANDATORY" and not (profile.get("cert") or profile.get("cert_file")):
            warnings.append(f"Target {target['scrape_target']} (listener "
                            f"{(target.get('labels') or {}).get('listener_id', 'unknown')}) asks for a client "
                            f"certificate (client_authentication MANDATORY) but its TLS settings have none "
                            f"(cert or cert_file): Prometheus' scrape of it fails its TLS handshake.")
    jobs = []
    for key in sorted(others):
        profile, entries = others[key]
        config, profile_files = scrape_tls_config(profile, files_dir, f"{job_name}-{key}")
        files += profile_files
        jobs.append({"job_name": f"{job_name}-tls-{key}", "key": key, "tls_config": config, "file_sd": entries})
    return {"tls_config": main_config, "file_sd": main, "jobs": jobs,
            "files": sorted(files, key=lambda f: f["path"]), "warnings": warnings}


def web_config(tls, users, files_dir):
    """Prometheus' ``--web.config.file`` content and the material files it needs.

    :param tls: the server profile (``cert``/``cert_file``, ``key``/``key_file``,
        ``ca``/``ca_file`` as the client CA, ``TLS_WEB_OPTIONS``); empty for HTTP.
    :param users: user name to bcrypt hash; empty for no basic auth.
    :param files_dir: where material given as PEM text is written.
    :returns: ``{"config": dict, "files": [{path, content, secret}]}``.
    """
    config, files = {}, []
    if tls:
        paths, files = tls_material(tls, files_dir, "web")
        server = {"cert_file": paths["cert_file"], "key_file": paths["key_file"]}
        if paths.get("ca_file"):
            server["client_ca_file"] = paths["ca_file"]
        for key in TLS_WEB_OPTIONS:
            if tls.get(key):
                server[key] = tls[key]
        config["tls_server_config"] = server
    if users:
        config["basic_auth_users"] = {str(name): str(users[name]) for name in sorted(users)}
    return {"config": config, "files": files}


def web_client(username, password, ca_file, cert_file, key_file, files_dir):
    """How a scrape job reaches a secured Prometheus (its own self-scrape), and the password file.

    The password goes into a file of the role's (``password_file``), never
    into prometheus.yml, so a diff of prometheus.yml shows no secret.

    :returns: ``{"scrape": {basic_auth?, tls_config?}, "files": [{path, content, secret}]}``.
    """
    scrape, files = {}, []
    if username:
        path = f"{files_dir}/web-client-password"
        scrape["basic_auth"] = {"username": username, "password_file": path}
        files.append({"path": path, "content": password or "", "secret": True})
    tls = {key: value for key, value in (("ca_file", ca_file), ("cert_file", cert_file), ("key_file", key_file))
           if value}
    if tls:
        scrape["tls_config"] = tls
    return {"scrape": scrape, "files": files}
