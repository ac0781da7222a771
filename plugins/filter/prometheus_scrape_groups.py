# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The octavia_prometheus role's scrape groups: the targets split by TLS profile, with their jobs.

Its documentation lives beside it in ``prometheus_scrape_groups.yml``.
"""

from ansible_collections.octavia.monitoring.plugins.module_utils._targets import tls_groups


def prometheus_scrape_groups(targets, default_tls=None, files_dir="/etc/prometheus/credentials",
                             job_name="octavia", base_job=None, sd_dir="/etc/prometheus/file_sd"):
    """Group the targets by TLS profile and build the extra scrape jobs.

    :param targets: ``prometheus_targets(...).targets``.
    :param default_tls: the role-wide TLS profile (``octavia_prometheus_tls``).
    :param files_dir: where material given as PEM text is written.
    :param job_name: the main job's name; every job keeps ``job=<job_name>``.
    :param base_job: the main scrape job; each extra job is a copy of it with
        its own name, targets file and ``tls_config``, without HTTP SD (whose
        targets belong to the main job), relabelled to ``job=<job_name>``.
    :param sd_dir: the directory of the main targets file; the extra jobs' files
        live in ``<sd_dir>/<job_name>-tls/``, outside the main job's glob.
    :returns: ``tls_groups()``'s dict, each job with ``file`` (its targets file)
        and ``scrape_config``, plus ``tls_dir`` (the extra jobs' directory).
    """
    groups = tls_groups(targets, default_tls, files_dir, job_name)
    tls_dir = f"{sd_dir}/{job_name}-tls"
    base = {key: value for key, value in (base_job or {}).items() if key not in ("http_sd_configs", "tls_config")}
    refresh = ((base.get("file_sd_configs") or [{}])[0]).get("refresh_interval")
    for job in groups["jobs"]:
        job["file"] = f"{tls_dir}/{job['key']}.yml"
        file_sd = {"files": [job["file"]]}
        if refresh:
            file_sd["refresh_interval"] = refresh
        job["scrape_config"] = {
            **base,
            "job_name": job["job_name"],
            "file_sd_configs": [file_sd],
            "tls_config": job["tls_config"],
            "relabel_configs": list(base.get("relabel_configs") or [])
            + [{"target_label": "job", "replacement": job_name}],
        }
    groups["tls_dir"] = tls_dir
    return groups


class FilterModule:
    """The octavia_prometheus role's TLS grouping of targets."""

    def filters(self):
        return {"prometheus_scrape_groups": prometheus_scrape_groups}
