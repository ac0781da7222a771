"""The exporter's configuration file: reading and validating it, before anything starts.

Pure apart from reading the file. Every error is one sentence that names the key, so
the octavia_exporter role (which runs ``octavia-exporter --check-config`` on the file it
is about to install) and a person starting the exporter by hand read the same message.
"""

import re

import yaml

from ansible_collections.octavia.monitoring.plugins.module_utils._errors import PlanError
from ansible_collections.octavia.monitoring.plugins.module_utils._select import normalise_filters
from ansible_collections.octavia.monitoring.plugins.module_utils._targets import ADDRESS_CHOICES

DEFAULTS = dict(
    interval=60,
    concurrency=8,
    api_timeout=30,
    clouds_file=None,
)
SOURCE_DEFAULTS = dict(
    cloud=None,
    region_name=None,
    labels={},
    filters={},
    address="vip",
    amphorae=True,
    members=True,
    statistics=True,
    quotas=True,
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# A source's labels go onto its HTTP SD targets (as the octavia_prometheus role's source
# labels go onto its file_sd targets); cloud and region also name the source on every
# series the exporter serves (AWX calls every injected cloud "devstack").


class ConfigError(PlanError):
    """The configuration file is unusable; the message names the key and the fix."""


def _positive_int(value, key, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer of at least {minimum}, not {value!r}.")
    return value


def _bool(value, key):
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, not {value!r}.")
    return value


def _source(raw, index):
    where = f"sources[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping with at least name and cloud.")
    unknown = sorted(set(raw) - set(SOURCE_DEFAULTS) - {"name"})
    if unknown:
        raise ConfigError(f"{where} has unknown keys {', '.join(unknown)}; the keys are name, "
                          f"{', '.join(SOURCE_DEFAULTS)}.")
    src = dict(SOURCE_DEFAULTS, **raw)
    name = src.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}.name must be a short name (letters, digits, '_.:-'), not {name!r}.")
    where = f"source '{name}'"
    if not isinstance(src["cloud"], str) or not src["cloud"]:
        raise ConfigError(f"{where} needs cloud: the name of its entry in the clouds.yaml file.")
    if src["region_name"] is not None and not isinstance(src["region_name"], str):
        raise ConfigError(f"{where}: region_name must be a string.")
    if not isinstance(src["labels"], dict):
        raise ConfigError(f"{where}: labels must be a mapping of label name to value.")
    bad = sorted(str(k) for k in src["labels"] if not isinstance(k, str) or not _LABEL.match(k)
                 or k.startswith("__"))
    if bad:
        raise ConfigError(f"{where}: labels: {', '.join(bad)} is not a valid label name "
                          f"([a-zA-Z_][a-zA-Z0-9_]*, not starting with __).")
    src["labels"] = {k: str(v) for k, v in src["labels"].items() if v not in (None, "")}
    if src["address"] not in ADDRESS_CHOICES:
        raise ConfigError(f"{where}: address must be one of {', '.join(ADDRESS_CHOICES)}, "
                          f"not {src['address']!r}.")
    try:
        src["filters"] = normalise_filters(src["filters"])
    except PlanError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    for key in ("amphorae", "members", "statistics", "quotas"):
        _bool(src[key], f"{where}: {key}")
    return src


def validate(raw):
    """Check a parsed configuration and fill in the defaults.

    :param raw: the mapping read from the YAML file.
    :returns: a new dict: ``interval``, ``concurrency``, ``api_timeout``,
        ``clouds_file`` and ``sources`` (each with every key of ``SOURCE_DEFAULTS``).
    :raises ConfigError: the first problem, as one sentence naming the key.
    """
    if not isinstance(raw, dict):
        raise ConfigError("The configuration must be a mapping with a sources list.")
    unknown = sorted(set(raw) - set(DEFAULTS) - {"sources"})
    if unknown:
        raise ConfigError(f"Unknown configuration keys {', '.join(unknown)}; the keys are "
                          f"sources, {', '.join(DEFAULTS)}.")
    cfg = dict(DEFAULTS, **raw)
    _positive_int(cfg["interval"], "interval")
    _positive_int(cfg["concurrency"], "concurrency")
    _positive_int(cfg["api_timeout"], "api_timeout")
    if cfg["clouds_file"] is not None and not isinstance(cfg["clouds_file"], str):
        raise ConfigError("clouds_file must be the path of a clouds.yaml file.")
    sources = cfg.get("sources")
    if not isinstance(sources, list) or not sources:
        raise ConfigError("sources must be a non-empty list; each source names a cloud of the "
                          "clouds.yaml file.")
    cfg["sources"] = [_source(item, i) for i, item in enumerate(sources)]
    names = [s["name"] for s in cfg["sources"]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"Source names must be unique; {', '.join(twice)} appears more than once.")
    return cfg


def load(path):
    """Read and validate the configuration file at ``path``.

    :raises ConfigError: unreadable file, invalid YAML, or a failed check.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"Cannot read the configuration file {path}: {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"The configuration file {path} is not valid YAML: "
                          f"{' '.join(str(exc).split())}.") from None
    return validate(raw)
