# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The sources of the octavia_prometheus role that name a load balancer the cloud does not have.

Its documentation lives beside it in ``prometheus_missing_sources.yml``.
"""


def prometheus_missing_sources(discovery, name="octavia_prometheus_sources"):
    """Return one sentence per source whose load balancer was not found.

    lb_prometheus_listener_info never fails on "not found": a load balancer
    that does not exist (or that the source's filters leave out) gives an empty
    ``prometheus_listeners`` and an empty ``load_balancers_without_listener``,
    whereas one that exists without a PROMETHEUS listener is listed in the
    second. Only the first case is reported.

    :param discovery: the registered result of the looped discovery task
        (``{"results": [...]}``; skipped or ``None`` means no sources).
    :param name: the variable's name, to name each source.
    :returns: the sentences, in source order.
    """
    missing = []
    for index, result in enumerate((discovery or {}).get("results") or []):
        source = result.get("item") or {}
        wanted = source.get("load_balancer")
        if not wanted or result.get("skipped") or result.get("failed"):
            continue
        if result.get("prometheus_listeners") or result.get("load_balancers_without_listener"):
            continue
        where = f"cloud {source['cloud']}" if source.get("cloud") else "the controller's OS_* cloud"
        if source.get("region_name"):
            where += f", region {source['region_name']}"
        scope = " or is outside the source's filters" if source.get("filters") else ""
        missing.append(f"{name}[{index}] names load balancer {wanted!r}, which does not exist in {where}{scope}.")
    return missing


class FilterModule:
    """The octavia_prometheus role's check for missing load balancers."""

    def filters(self):
        return {"prometheus_missing_sources": prometheus_missing_sources}
