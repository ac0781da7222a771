"""What bench/shards reads from a Prometheus shard and from VictoriaMetrics, and how it adds up.

A Shard reads its own /metrics and its own query API (over TLS with basic auth, as the role
configures it) and its process from /proc. snapshot() is one reading; window() turns two
readings into rates; summary() and table() put the shard counts side by side.
"""
import re
import time

import topology

# Prometheus' own remote-write counters, summed over its queues (one queue per endpoint).
REMOTE = {
    "sent": "prometheus_remote_storage_samples_total",
    "failed": "prometheus_remote_storage_samples_failed_total",
    "retried": "prometheus_remote_storage_samples_retried_total",
    "dropped": "prometheus_remote_storage_samples_dropped_total",
    "bytes": "prometheus_remote_storage_bytes_total",
    "batch_s": "prometheus_remote_storage_sent_batch_duration_seconds_sum",
    "batches": "prometheus_remote_storage_sent_batch_duration_seconds_count",
}


def seconds(duration):
    """Seconds of a Prometheus duration such as 5s, 1m, 1m30s."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(number) * units[unit] for number, unit in parts)


class Shard:
    """One running shard: its URL, the Service that runs it, its credentials and CA."""

    def __init__(self, name, url, service, auth, cafile):
        self.name = name
        self.url = url
        self.service = service
        self.auth = auth
        self.cafile = cafile

    def query_value(self, expr, default=0.0):
        """The value of a query that returns at most one sample."""
        result = topology.query(self.url, expr, auth=self.auth, cafile=self.cafile)
        return float(result[0]["value"][1]) if result else default

    def targets_up(self):
        """How many Octavia targets this shard scrapes successfully right now."""
        try:
            return int(self.query_value('count(up{job="octavia"} == 1)'))
        except topology.TopologyError:
            return 0

    def metrics(self):
        """Its own /metrics, parsed."""
        status, body = topology.http_get(f"{self.url}/metrics", auth=self.auth, cafile=self.cafile)
        if status != 200:
            raise topology.TopologyError(f"{self.name} answered {status} on /metrics")
        return topology.parse_metrics(body.decode())

    def snapshot(self):
        """One reading: counters, gauges, the Octavia job's scrape figures, RSS and CPU time."""
        samples = self.metrics()
        reading = {key: topology.metric_sum(samples, name) for key, name in REMOTE.items()}
        newest_in = topology.metric_sum(samples, "prometheus_remote_storage_highest_timestamp_in_seconds")
        newest_sent = max((value for (name, _labels), value in samples.items()
                           if name == "prometheus_remote_storage_queue_highest_sent_timestamp_seconds"), default=0.0)
        reading.update({
            "at": time.time(),
            "lag_s": max(0.0, newest_in - newest_sent) if newest_sent else None,
            "head_series": topology.metric_sum(samples, "prometheus_tsdb_head_series"),
            "queue_shards": topology.metric_sum(samples, "prometheus_remote_storage_shards"),
            "targets": int(self.query_value('count(up{job="octavia"})')),
            "octavia_series": int(self.query_value('count({job="octavia"})')),
            "samples_per_scrape": self.query_value('sum(scrape_samples_scraped{job="octavia"})'),
            "scrape_mean_s": self.query_value('avg(scrape_duration_seconds{job="octavia"})'),
            "scrape_max_s": self.query_value('max(max_over_time(scrape_duration_seconds{job="octavia"}[1m]))'),
            "rss_bytes": self.service.rss_bytes(),
            "cpu_s": self.service.cpu_seconds(),
        })
        return reading


def window(before, after, shard, opts):
    """The figures of one shard over the window between two snapshots."""
    span = after["at"] - before["at"]
    sent = after["sent"] - before["sent"]
    batches = after["batches"] - before["batches"]
    interval = seconds(opts.interval)
    return {
        "targets": after["targets"],
        "head_series": after["head_series"],
        "octavia_series": after["octavia_series"],
        "samples_per_s": after["samples_per_scrape"] / interval,
        "scrape_mean_ms": after["scrape_mean_s"] * 1000,
        "scrape_max_ms": after["scrape_max_s"] * 1000,
        "rss_mib": (after["rss_bytes"] or 0) / 2**20,
        "cpu_percent": 100 * (after["cpu_s"] - before["cpu_s"]) / span,
        "sent": sent,
        "sent_per_s": sent / span,
        "failed": after["failed"] - before["failed"],
        "retried": after["retried"] - before["retried"],
        "dropped": after["dropped"] - before["dropped"],
        "bytes_per_sample": (after["bytes"] - before["bytes"]) / sent if sent else None,
        "batches": batches,
        "samples_per_batch": sent / batches if batches else None,
        "batch_ms": 1000 * (after["batch_s"] - before["batch_s"]) / batches if batches else None,
        "queue_shards": after["queue_shards"],
        "lag_s": after["lag_s"],
        "span_s": span,
        "shard": shard.name,
    }


def store_rows(url):
    """Rows VictoriaMetrics has inserted from Prometheus remote write since it started."""
    status, body = topology.http_get(f"{url}/metrics")
    if status != 200:
        raise topology.TopologyError(f"VictoriaMetrics answered {status} on /metrics")
    samples = topology.parse_metrics(body.decode())
    return sum(value for (name, labels), value in samples.items()
               if name == "vm_rows_inserted_total" and ("type", "promremotewrite") in labels)


def store_bytes_per_row(url):
    """Bytes on disk per stored row (vm_data_size_bytes over vm_rows), after a flush."""
    status, body = topology.http_get(f"{url}/metrics")
    samples = topology.parse_metrics(body.decode()) if status == 200 else {}
    size = topology.metric_sum(samples, "vm_data_size_bytes")
    rows = topology.metric_sum(samples, "vm_rows")
    return {"bytes": size, "rows": rows, "bytes_per_sample": size / rows if rows else None}


def summary(count, per_shard, stored, store_url, opts):
    """One shard count: every shard's figures, and the delivery of the window to the store."""
    sent = sum(s["sent"] for s in per_shard.values())
    return {
        "shards": count,
        "per_shard": per_shard,
        "targets": sum(s["targets"] for s in per_shard.values()),
        "sent": sent,
        "stored": stored,
        "stored_ratio": stored / sent if sent else None,
        "failed": sum(s["failed"] for s in per_shard.values()),
        "dropped": sum(s["dropped"] for s in per_shard.values()),
        "max_lag_s": max((s["lag_s"] or 0.0) for s in per_shard.values()),
        "store_url": store_url,
        "window_s": opts.window,
    }


def _row(label, values):
    return f"{label:<34}" + "".join(f"{v:>14}" for v in values)


def table(report):
    """The shard counts side by side: per-shard figures as min-max over the shards."""
    runs = report["runs"]

    def spread(run, key, fmt="{:.0f}"):
        values = [s[key] for s in run["per_shard"].values() if s[key] is not None]
        if not values:
            return "-"
        low, high = min(values), max(values)
        return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}-{fmt.format(high)}"

    lines = [f"fleet {report['fleet']} load balancers ({report['targets']} targets), scrape every "
             f"{report['interval']}, window {report['window_s']:.0f}s, load average "
             f"{', '.join(f'{x:.1f}' for x in report['load_average'])} on {report['cpus']} CPUs",
             "", _row("", [f"{r['shards']} shard(s)" for r in runs])]
    rows = [("targets per shard", "targets", "{:.0f}"), ("head series per shard", "head_series", "{:.0f}"),
            ("samples scraped/s per shard", "samples_per_s", "{:.0f}"),
            ("scrape duration mean (ms)", "scrape_mean_ms", "{:.1f}"),
            ("scrape duration max (ms)", "scrape_max_ms", "{:.1f}"),
            ("RSS per shard (MiB)", "rss_mib", "{:.0f}"), ("CPU per shard (%)", "cpu_percent", "{:.1f}"),
            ("remote-write samples/s per shard", "sent_per_s", "{:.0f}"),
            ("remote-write bytes per sample", "bytes_per_sample", "{:.2f}"),
            ("remote-write samples per batch", "samples_per_batch", "{:.0f}"),
            ("remote-write batch send (ms)", "batch_ms", "{:.1f}"),
            ("remote-write queue shards", "queue_shards", "{:.0f}"),
            ("remote-write lag (s)", "lag_s", "{:.1f}")]
    for label, key, fmt in rows:
        lines.append(_row(label, [spread(run, key, fmt) for run in runs]))
    lines.append(_row("targets, all shards", [str(r["targets"]) for r in runs]))
    lines.append(_row("samples sent in window", [f"{r['sent']:.0f}" for r in runs]))
    lines.append(_row("rows stored by VM in window", [f"{r['stored']:.0f}" for r in runs]))
    lines.append(_row("stored / sent", [f"{r['stored_ratio']:.4f}" if r["stored_ratio"] else "-" for r in runs]))
    lines.append(_row("failed + dropped samples", [f"{r['failed'] + r['dropped']:.0f}" for r in runs]))
    storage = report["store_bytes_per_sample"]
    if storage.get("bytes_per_sample"):
        lines.append(f"\nVictoriaMetrics on disk: {storage['bytes']:.0f} bytes for {storage['rows']:.0f} rows "
                     f"= {storage['bytes_per_sample']:.2f} bytes per sample (after a flush, before later merges)")
    return "\n".join(lines)
