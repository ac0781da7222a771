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
