"""What the tests of the octavia_prometheus role share: a Prometheus of the test's own for the role
to take over, and the variables that point the role at it.

    from helpers.prometheus_role import local_role_vars, start_bare_prometheus

    prom = start_bare_prometheus(tmp_path / "prom", "1s")     # root/etc/prometheus.yml, root/run
    variables = local_role_vars(prom, "1s", octavia_prometheus_targets=[...])
"""
import getpass
import grp
import os

from helpers.prometheus_server import PrometheusServer


def write_bare_config(etc, interval):
    """A prometheus.yml with only its global intervals, in `etc`; returns its path."""
    etc.mkdir(parents=True, exist_ok=True)
    path = etc / "prometheus.yml"
    path.write_text(f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n")
    return path


def start_bare_prometheus(root, interval, cls=PrometheusServer, **kwargs):
    """A started Prometheus on a free port: a bare prometheus.yml in root/etc, its data in root/run."""
    return cls(config_path=write_bare_config(root / "etc", interval), workdir=root / "run", **kwargs).start()


def local_role_vars(prom, interval, **more):
    """octavia_prometheus variables for `prom`: its files beside its prometheus.yml, written by this
    user without become, prometheus.yml managed, everything scraped, evaluated and re-read every
    `interval`; `more` is merged over them."""
    etc = prom.config_path.parent
    return {
        "octavia_prometheus_config_file": str(prom.config_path),
        "octavia_prometheus_file_sd_dir": str(etc / "file_sd"),
        "octavia_prometheus_rules_dir": str(etc / "rules"),
        "octavia_prometheus_become": False,
        "octavia_prometheus_file_owner": getpass.getuser(),
        "octavia_prometheus_file_group": grp.getgrgid(os.getgid()).gr_name,
        "octavia_prometheus_manage_config": True,
        "octavia_prometheus_web_url": prom.url,
        "octavia_prometheus_global": {"scrape_interval": interval, "scrape_timeout": interval,
                                      "evaluation_interval": interval},
        "octavia_prometheus_scrape_interval": interval,
        "octavia_prometheus_scrape_timeout": interval,
        "octavia_prometheus_file_sd_refresh_interval": interval,
        **more,
    }
