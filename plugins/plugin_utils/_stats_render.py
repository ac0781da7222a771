# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Render the result of octavia.monitoring.lb_stats_info for people and for Prometheus.

The code of the filters human_bytes, stats_table, stats_csv and stats_exposition. Each filter
is pure: it takes the ``load_balancers`` list the module returns (plain dicts) and gives back
text. Each has its own file in plugins/filter/ (named after it, with its documentation in the
``.yml`` beside it), as Galaxy lists one filter per file; they share the input checks here.
"""

import csv
import io
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.octavia.monitoring.plugins.module_utils._stats import STATS_METRICS

# The order Octavia's `loadbalancer stats show` prints them in.
STAT_FIELDS = ("active_connections", "bytes_in", "bytes_out", "request_errors", "total_connections")

IEC_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
SI_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")

DEFAULT_PREFIX = "openstack_octavia_api"
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

# The series names and HELP texts, shared with the exporter.
METRICS = STATS_METRICS

CSV_COLUMNS = ("kind", "loadbalancer_id", "loadbalancer_name", "project_id", "provider",
               "listener_id", "listener_name", "protocol", "protocol_port") + STAT_FIELDS


def _is_int(value):
    # bool is an int subclass; a True where a byte count belongs is a bug upstream.
    return isinstance(value, int) and not isinstance(value, bool)


def human_bytes(value, unit_system="iec", precision=1):
    """Return a byte count as text with a unit, e.g. 2236722 -> '2.1 MiB'.

    unit_system: 'iec' (powers of 1024, KiB/MiB/...) or 'si' (powers of 1000, kB/MB/...).
    precision: digits after the decimal point once a unit above bytes is used.
    Raises AnsibleFilterError for anything but a non-negative integer (or its
    decimal string, as a template may hand over).
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not _is_int(value) or value < 0:
        raise AnsibleFilterError(f"human_bytes expects a non-negative integer, got {value!r}")
    if unit_system == "iec":
        base, units = 1024, IEC_UNITS
    elif unit_system == "si":
        base, units = 1000, SI_UNITS
    else:
        raise AnsibleFilterError(f"human_bytes: unit_system must be 'iec' or 'si', got {unit_system!r}")
    if not _is_int(precision) or precision < 0:
        raise AnsibleFilterError(f"human_bytes: precision must be a non-negative integer, got {precision!r}")
    if value < base:
        return f"{value} B"
    exponent = 0
    scaled = float(value)
    while scaled >= base and exponent < len(units) - 1:
        scaled /= base
        exponent += 1
    text = f"{scaled:.{precision}f}"
    # Rounding can carry into the next unit (1023.96 KiB -> "1024.0 KiB"); step up instead.
    if float(text) >= base and exponent < len(units) - 1:
        scaled /= base
        exponent += 1
        text = f"{scaled:.{precision}f}"
    return f"{text} {units[exponent]}"


def _stats_of(item, what):
    stats = item.get("stats") if isinstance(item, dict) else None
    if not isinstance(stats, dict):
        raise AnsibleFilterError(f"{what} has no 'stats' dict; pass the load_balancers list "
                                 f"returned by octavia.monitoring.lb_stats_info")
    out = {}
    for field in STAT_FIELDS:
        value = stats.get(field)
        if not _is_int(value):
            raise AnsibleFilterError(f"{what}: stats.{field} must be an integer, got {value!r}")
        out[field] = value
    return out


def _label(item, key):
    value = item.get(key)
    return "" if value is None else str(value)


def _load_balancers(value, filter_name):
    """Validate the filter input; return [(lb, lb_stats, [(listener, listener_stats)])]."""
    if isinstance(value, dict) and "load_balancers" in value:
        value = value["load_balancers"]
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError(f"{filter_name} expects the load_balancers list returned by "
                                 f"octavia.monitoring.lb_stats_info, got {type(value).__name__}")
    rows = []
    for index, lb in enumerate(value):
        if not isinstance(lb, dict):
            raise AnsibleFilterError(f"{filter_name}: item {index} is not a dict")
        what = f"load balancer {lb.get('name') or lb.get('id') or index!s}"
        listeners = []
        for lindex, listener in enumerate(lb.get("listeners") or []):
            lwhat = (f"listener {listener.get('name') or listener.get('id') or lindex!s} of {what}"
                     if isinstance(listener, dict) else f"listener {lindex} of {what}")
            listeners.append((listener, _stats_of(listener, lwhat)))
        rows.append((lb, _stats_of(lb, what), listeners))
    return rows


def _check_bool(name, value, filter_name):
    if not isinstance(value, bool):
        raise AnsibleFilterError(f"{filter_name}: {name} must be a boolean, got {value!r}")


# --- stats_table --------------------------------------------------------------------------


def _bytes_cell(raw, human):
    return (str(raw), f"({human})")


def _format_row(cells, widths, aligns):
    parts = []
    for cell, width, align in zip(cells, widths, aligns):
        if isinstance(cell, tuple):
            raw, human = cell
            raw_w, human_w = width
            text = f"{raw.rjust(raw_w)} {human.ljust(human_w)}"
        elif align == "r":
            text = cell.rjust(width)
        else:
            text = cell.ljust(width)
        parts.append(text)
    return "| " + " | ".join(parts) + " |"


def _cell_width(width):
    return width[0] + 1 + width[1] if isinstance(width, tuple) else width


def stats_table(load_balancers, listeners=True, totals=True, unit_system="iec"):
    """Return a boxed text table: one row per load balancer, its listeners under it, a total row.

    Byte columns show the raw integer and the human-readable size side by side;
    the total row is left out when no load balancer matched.
    """
    _check_bool("listeners", listeners, "stats_table")
    _check_bool("totals", totals, "stats_table")
    rows = _load_balancers(load_balancers, "stats_table")
    header = ("Name", "ID", "Protocol", "Active conns", "Total conns", "Bytes in", "Bytes out",
              "Request errors")
    aligns = ("l", "l", "l", "r", "r", "r", "r", "r")

    def stat_cells(stats):
        return (str(stats["active_connections"]), str(stats["total_connections"]),
                _bytes_cell(stats["bytes_in"], human_bytes(stats["bytes_in"], unit_system)),
                _bytes_cell(stats["bytes_out"], human_bytes(stats["bytes_out"], unit_system)),
                str(stats["request_errors"]))

    body = []
    sums = dict.fromkeys(STAT_FIELDS, 0)
    for lb, lb_stats, lb_listeners in rows:
        body.append((_label(lb, "name"), _label(lb, "id"), "") + stat_cells(lb_stats))
        for field in STAT_FIELDS:
            sums[field] += lb_stats[field]
        if listeners:
            for listener, listener_stats in lb_listeners:
                port = f"{_label(listener, 'protocol')}:{_label(listener, 'protocol_port')}"
                body.append((f"  - {_label(listener, 'name')}", _label(listener, "id"), port)
                            + stat_cells(listener_stats))
    footer = None
    if totals and rows:
        count = len(rows)
        footer = ("Total", f"{count} load balancer{'' if count == 1 else 's'}", "") + stat_cells(sums)

    widths = []
    for col, title in enumerate(header):
        cells = [row[col] for row in body] + ([footer[col]] if footer else [])
        tuples = [c for c in cells if isinstance(c, tuple)]
        if tuples:
            raw_w = max(len(c[0]) for c in tuples)
            human_w = max(len(c[1]) for c in tuples)
            # A header wider than its figures widens the human part, keeping raw figures aligned.
            human_w = max(human_w, len(title) - raw_w - 1)
            widths.append((raw_w, human_w))
        else:
            widths.append(max([len(title)] + [len(c) for c in cells]))

    rule = "+" + "+".join("-" * (_cell_width(w) + 2) for w in widths) + "+"
    head = "| " + " | ".join(title.ljust(_cell_width(w)) for title, w in zip(header, widths)) + " |"
    lines = [rule, head, rule]
    if body:
        lines += [_format_row(row, widths, aligns) for row in body]
    else:
        empty = "No load balancer matched."
        inner = len(rule) - 4
        lines.append("| " + empty.ljust(inner) + " |")
    lines.append(rule)
    if footer:
        lines += [_format_row(footer, widths, aligns), rule]
    return "\n".join(lines)


# --- stats_csv ----------------------------------------------------------------------------


def stats_csv(load_balancers, listeners=True):
    """Return CSV text: a header, one row per load balancer, then a row per listener if present."""
    _check_bool("listeners", listeners, "stats_csv")
    rows = _load_balancers(load_balancers, "stats_csv")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for lb, lb_stats, lb_listeners in rows:
        base = [_label(lb, "id"), _label(lb, "name"), _label(lb, "project_id"), _label(lb, "provider")]
        writer.writerow(["loadbalancer"] + base + ["", "", "", ""]
                        + [lb_stats[f] for f in STAT_FIELDS])
        if listeners:
            for listener, listener_stats in lb_listeners:
                writer.writerow(["listener"] + base
                                + [_label(listener, "id"), _label(listener, "name"),
                                   _label(listener, "protocol"), _label(listener, "protocol_port")]
                                + [listener_stats[f] for f in STAT_FIELDS])
    return buf.getvalue()


# --- stats_exposition ---------------------------------------------------------------------


def _escape_label_value(value):
    # Text exposition format: backslash, double quote and line feed must be escaped.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(pairs):
    return "{" + ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in pairs) + "}"


def stats_exposition(load_balancers, prefix=DEFAULT_PREFIX, listeners=True):
    """Return the figures in the Prometheus text exposition format (version 0.0.4).

    Series carry no timestamps: node_exporter's textfile collector rejects them,
    and leaving them out keeps the text identical while the figures are, so a
    file written from it only changes when a figure does.
    """
    _check_bool("listeners", listeners, "stats_exposition")
    if not isinstance(prefix, str) or not METRIC_NAME_RE.match(prefix):
        raise AnsibleFilterError(f"stats_exposition: prefix {prefix!r} is not a valid Prometheus "
                                 f"metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)")
    if prefix.rstrip("_") == "octavia":
        raise AnsibleFilterError("stats_exposition: prefix 'octavia' would mix these series with the "
                                 "amphora's own octavia_loadbalancer_*/octavia_listener_* metrics; "
                                 f"use another namespace such as {DEFAULT_PREFIX!r}")
    prefix = prefix.rstrip("_")
    rows = _load_balancers(load_balancers, "stats_exposition")

    lb_series = []
    listener_series = []
    for lb, lb_stats, lb_listeners in rows:
        lb_labels = [("loadbalancer_id", _label(lb, "id")), ("loadbalancer_name", _label(lb, "name")),
                     ("project_id", _label(lb, "project_id"))]
        lb_series.append((_labels(lb_labels), lb_stats))
        if listeners:
            for listener, listener_stats in lb_listeners:
                # protocol_port, not port: octavia_listener_info (docs/names.md) uses that name,
                # so one label name means one thing across the collection's series.
                labels = lb_labels + [("listener_id", _label(listener, "id")),
                                      ("listener_name", _label(listener, "name")),
                                      ("protocol", _label(listener, "protocol")),
                                      ("protocol_port", _label(listener, "protocol_port"))]
                listener_series.append((_labels(labels), listener_stats))

    lines = []
    for scope, series, what in (("loadbalancer", lb_series, "Load balancer (sum of its listeners)"),
                                ("listener", listener_series, "Listener")):
        if not series:
            continue
        for field, suffix, mtype, help_text in METRICS:
            name = f"{prefix}_{scope}_{suffix}"
            lines.append(f"# HELP {name} {_escape_help(what + ': ' + help_text)}")
            lines.append(f"# TYPE {name} {mtype}")
            lines += [f"{name}{labels} {stats[field]}" for labels, stats in series]
    return "".join(line + "\n" for line in lines)
