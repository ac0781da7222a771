"""Measure what the name catalogue costs at fleet scale (the figures in docs/names.md).

    .venv/bin/python tests/unit/rules/catalog_scale.py 1000 10000

For each fleet size: render the catalogue for N load balancers with 2 listeners,
2 pools and 6 members each (10 rules), time `promtool check rules`, load it into a
real Prometheus, and report the reload time, the head series and the resident memory
added. Not collected by pytest (no test_ prefix); test_catalog_cost.py checks the
one-series-per-object claim itself.
"""
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from rules_render import promtool, render  # noqa: E402
from helpers.prometheus_server import PrometheusServer  # noqa: E402

LISTENERS, POOLS, MEMBERS = 2, 2, 6


def fleet(count):
    """`count` load balancers in the item shape the role renders the catalogue from."""
    items = []
    for n in range(count):
        lb = f"{n:08x}-0000-4000-8000-00000000lb00"
        listeners = [{"id": f"{n:08x}-0000-4000-8000-0000000l{i:04d}", "name": f"listener-{n}-{i}",
                      "protocol": "HTTP", "protocol_port": 80 + i} for i in range(LISTENERS)]
        pools = [{"id": f"{n:08x}-0000-4000-8000-0000000p{i:04d}", "name": f"pool-{n}-{i}", "protocol": "HTTP",
                  "lb_algorithm": "ROUND_ROBIN", "listener_id": listeners[i % LISTENERS]["id"],
                  "listener_ids": [listeners[i % LISTENERS]["id"]]} for i in range(POOLS)]
        members = [{"id": f"{n:08x}-0000-4000-8000-0000000m{i:04d}", "name": f"member-{n}-{i}",
                    "address": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", "protocol_port": 8000 + i,
                    "pool_id": pools[i % POOLS]["id"]} for i in range(MEMBERS)]
        items.append({"scrape_target": f"127.5.{n // 256 % 256}.{n % 256}:8088",
                      "labels": {"loadbalancer_id": lb, "loadbalancer_name": f"lb-{n}", "project_id": "p",
                                 "cloud": "scale", "region": "RegionOne"},
                      "catalog": {"listeners": listeners, "pools": pools, "members": members}})
    return items


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(count, workdir):
    rules = workdir / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    names = rules / "octavia-names.yml"
    started = time.monotonic()
    names.write_text(render("octavia-names.yml.j2", __octavia_prometheus_found={"targets": fleet(count)},
                            octavia_prometheus_catalog_interval="1m"))
    render_s = time.monotonic() - started
    started = time.monotonic()
    check = promtool("check", "rules", str(names))
    check_s = time.monotonic() - started
    assert check.returncode == 0, check.stdout + check.stderr
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1m\nrule_files: []\n")
    with PrometheusServer(config_path=config, workdir=workdir / "run") as prom:
        time.sleep(2)
        before_rss = rss_kib(prom.pid)
        before_series = prom.self_metric("prometheus_tsdb_head_series")
        config.write_text(f"global:\n  evaluation_interval: 1m\nrule_files: [{names}]\n")
        started = time.monotonic()
        prom.reload()
        reload_s = time.monotonic() - started
        expected = count * (LISTENERS + POOLS + MEMBERS)
        prom.wait_for(lambda: prom.self_metric("prometheus_tsdb_head_series") - before_series >= expected,
                      timeout=180, interval=2, message=f"{expected} catalogue series")
        series = prom.self_metric("prometheus_tsdb_head_series") - before_series
        rss = rss_kib(prom.pid) - before_rss
        groups = prom.self_metric("prometheus_rule_group_rules")
    return {"lbs": count, "rules": count * (LISTENERS + POOLS + MEMBERS), "series": int(series),
            "file_kib": names.stat().st_size // 1024, "render_s": render_s, "check_s": check_s,
            "reload_s": reload_s, "rss_mib": rss / 1024, "sample_group_rules": groups}


def main():
    import tempfile
    sizes = [int(a) for a in sys.argv[1:]] or [1000]
    print("| load balancers | rules | new head series | file | render | promtool check rules | reload | RSS added |")
    print("|---|---|---|---|---|---|---|---|")
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="catalog-scale-") as tmp:
            r = measure(count, pathlib.Path(tmp))
        print(f"| {r['lbs']} | {r['rules']} | {r['series']} | {r['file_kib']} KiB | {r['render_s']:.1f} s "
              f"| {r['check_s']:.1f} s | {r['reload_s']:.1f} s | {r['rss_mib']:.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
