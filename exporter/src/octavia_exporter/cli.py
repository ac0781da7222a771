"""The ``octavia-exporter`` command."""

import argparse
import logging
import os
import signal
import stat
import sys

from prometheus_client import generate_latest

from octavia_exporter import __version__
from octavia_exporter.config import ConfigError, load
from octavia_exporter.service import LOG, Exporter, parse_listen_address, serve

DEFAULT_CONFIG = "/etc/octavia-exporter/config.yml"
DEFAULT_LISTEN = ":9878"


def parse_args(argv):
    """The command line; flags are spelled like node_exporter's."""
    parser = argparse.ArgumentParser(prog="octavia-exporter", description=(
        "Read-only Prometheus exporter for the OpenStack Octavia API: state sets, names, "
        "quotas, listener statistics, and HTTP service discovery of PROMETHEUS listeners."))
    parser.add_argument("--config.file", dest="config", default=DEFAULT_CONFIG,
                        help=f"configuration file (default {DEFAULT_CONFIG})")
    parser.add_argument("--web.listen-address", dest="listen", default=DEFAULT_LISTEN,
                        help=f"address to serve /metrics, /sd/prometheus and /-/healthy on "
                             f"(default {DEFAULT_LISTEN})")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=("debug", "info", "warning", "error"))
    parser.add_argument("--check-config", action="store_true",
                        help="validate the configuration file and exit (0 when it is usable)")
    parser.add_argument("--once", action="store_true",
                        help="run one cycle, print the metrics to standard output and exit")
    parser.add_argument("--version", action="version", version=f"octavia-exporter {__version__}")
    return parser.parse_args(argv)


def _setup_logging(level):
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The SDK's debug logs show request headers and bodies; they stay out of our log
    # whatever --log.level says, so a token or password can never reach it.
    for name in ("keystoneauth", "openstack", "urllib3", "stevedore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _check_clouds_file(path):
    if not path:
        return
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ConfigError(f"Cannot read the clouds file {path}: {exc.strerror}.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        LOG.warning("the clouds file %s is readable by others (mode %o); it holds credentials: "
                    "chmod 0600 it", path, stat.S_IMODE(mode))


def main(argv=None):
    """Run the exporter; returns the process exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _setup_logging(args.log_level)
    try:
        cfg = load(args.config)
        parse_listen_address(args.listen)
        _check_clouds_file(cfg["clouds_file"])
    except (ConfigError, ValueError) as exc:
        LOG.error("%s", exc)
        return 2
    if args.check_config:
        print(f"{args.config}: {len(cfg['sources'])} source(s), configuration OK")
        return 0
    if cfg["clouds_file"]:
        os.environ["OS_CLIENT_CONFIG_FILE"] = cfg["clouds_file"]
    exporter = Exporter(cfg)
    if args.once:
        exporter.run_cycle()
        sys.stdout.write(generate_latest(exporter.registry).decode())
        return 0 if all(s.up for s in exporter.states) else 1
    try:
        server = serve(exporter, args.listen)
    except OSError as exc:
        LOG.error("cannot listen on %s: %s", args.listen, exc.strerror or exc)
        return 1

    def stop(signum, _frame):
        LOG.info("stopping on signal %s", signum)
        exporter.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    LOG.info("octavia-exporter %s serving on %s:%s (%d source(s), every %ss)", __version__, host,
             port, len(cfg["sources"]), cfg["interval"])
    exporter.run_forever()
    server.shutdown()
    return 0
