"""labctl: the local Octavia lab's command line (see tests/lab/README.md).

    labctl.py up | down | status [--json] | memory
    labctl.py seed-stats --listener ID [--amphora ID] bytes_in=N bytes_out=N ...
    labctl.py api-requests [--since-line N] [--json]
    labctl.py api-load [--clients N] [--requests N] [--json]
    labctl.py component stop | start | kill | pause | resume NAME
    labctl.py amphora list | stop LB_ID | start LB_ID
    labctl.py tls-container create --cert FILE --key FILE [--intermediates FILE] | delete REF
    labctl.py ca-container create --ca FILE [--crl FILE] [--json] | delete REF
    labctl.py backend [--address A] [--port P] [--default-status N]

Run it with the project's virtualenv: .venv/bin/python tests/lab/labctl.py ...
"""
import argparse
import json
import pathlib
import signal
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from lab import apilog, client  # noqa: E402  (needs the sys.path entry above)
from lab.control import COMPONENT_ACTIONS, FAULT_COMPONENTS, Lab  # noqa: E402
from lab.errors import LabError  # noqa: E402
from lab.services import PROBE_SOURCE  # noqa: E402
from lab.settings import PORTS, Settings  # noqa: E402
from lab.stats import FIGURES  # noqa: E402


def cmd_up(lab, _args):
    lab.up()
    return 0


def cmd_down(lab, _args):
    lab.down()
    return 0


def cmd_status(lab, args):
    rows = lab.status_rows()
    state = lab.amphora_state()
    if args.json:
        print(json.dumps({"lab_dir": str(lab.s.dir), "clouds_yaml": str(lab.s.clouds_yaml),
                          "api_url": lab.s.api_url, "components": rows, "amphorae": state},
                         indent=1))
    else:
        print(f"lab {lab.s.dir}  API {lab.s.api_url}  clouds.yaml {lab.s.clouds_yaml}")
        print(f"{'component':<16}{'pid':>8}  {'port':<12}{'health':<8}detail")
        for row in rows:
            pid = str(row["pid"]) if row["pid"] else "-"
            health = "ok" if row["healthy"] else "DOWN"
            print(f"{row['name']:<16}{pid:>8}  {row['port']:<12}{health:<8}{row['detail']}")
        lbs = state.get("loadbalancers", {}) if state.get("agent_pid") else {}
        if lbs:
            print(f"amphorae ({len(lbs)}):")
            for lb_id, amp in sorted(lbs.items()):
                print("  " + _amphora_line(lb_id, amp))
    down = [row["name"] for row in rows if not row["healthy"]]
    if down:
        print(f"lab is not fully up ({', '.join(down)} down): run `make lab-up`", file=sys.stderr)
        return 1
    return 0


def _amphora_line(lb_id, amp):
    listeners = ", ".join(f"{l['protocol']}:{l['port']}" for l in amp.get("listeners", []))
    parts = [lb_id, amp.get("state", "?"), "VIP " + ",".join(amp.get("vips", []))]
    if amp.get("haproxy_pid"):
        parts.append(f"haproxy {amp['haproxy_pid']}")
    if amp.get("proxy"):
        parts.append(f"proxy {amp['proxy']}")
    if listeners:
        parts.append(f"listeners {listeners}")
    if amp.get("error"):
        parts.append(f"({amp['error']})")
    return "  ".join(parts)


def cmd_memory(lab, _args):
    usage = lab.memory()
    total_rss = total_pss = count = 0
    print(f"{'component':<24}{'procs':>6}{'RSS MiB':>10}{'PSS MiB':>10}")
    for name, (procs, rss, pss) in usage.items():
        print(f"{name:<24}{procs:>6}{rss / 1024:>10.1f}{pss / 1024:>10.1f}")
        total_rss, total_pss, count = total_rss + rss, total_pss + pss, count + procs
    print(f"{'total':<24}{count:>6}{total_rss / 1024:>10.1f}{total_pss / 1024:>10.1f}")
    return 0


def cmd_seed_stats(lab, args):
    figures = {}
    for item in args.figures:
        name, sep, value = item.partition("=")
        if not sep or name not in FIGURES or not value.isdigit():
            raise LabError(f"{item!r} is not NAME=COUNT with NAME one of {', '.join(FIGURES)}.")
        figures[name] = int(value)
    amphora = client.LabClient(lab.s).seed_listener_stats(args.listener, amphora_id=args.amphora,
                                                          **figures)
    print(f"listener {args.listener}: statistics written for amphora {amphora}: "
          + " ".join(f"{k}={figures.get(k, 0)}" for k in FIGURES))
    return 0


def cmd_api_requests(lab, args):
    log = lab.s.log("octavia-api")
    if args.since_line is None:
        print(apilog.marker(log))
        return 0
    found = apilog.requests_since(log, args.since_line, exclude_client=PROBE_SOURCE)
    if args.json:
        print(json.dumps({"marker": apilog.marker(log), "count": len(found), "requests": found},
                         indent=1))
    else:
        for req in found:
            print(f"{req['method']} {req['path']} {req['status']}")
        print(f"{len(found)} request(s) after line {args.since_line}")
    return 0


def cmd_api_load(lab, args):
    from lab import apiload
    if args.clients < 1 or args.requests < args.clients:
        raise LabError("api-load needs --clients of 1 or more and at least one request per client.")
    result = apiload.parallel_gets(client.LabClient(lab.s), clients=args.clients,
                                   total=args.requests)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"{result['requests']} GETs from {result['clients']} openstacksdk clients in "
              f"{result['seconds']}s: {result['per_second']} requests/s, "
              f"{len(result['errors'])} error(s)")
        for text in sorted(set(result["errors"]))[:10]:
            print(f"  {text}")
    return 1 if result["errors"] else 0


def cmd_component(lab, args):
    print(lab.component(args.action, args.name))
    return 0


def cmd_amphora(lab, args):
    lab_client = client.LabClient(lab.s)
    if args.action == "list":
        lbs = lab.amphora_state().get("loadbalancers", {})
        for lb_id, amp in sorted(lbs.items()):
            print(_amphora_line(lb_id, amp))
        return 0
    if not args.lb_id:
        raise LabError(f"`amphora {args.action}` needs a load balancer id.")
    t0 = time.monotonic()
    if args.action == "stop":
        lab_client.amphora_stop(args.lb_id, timeout=args.timeout)
    else:
        lab_client.amphora_start(args.lb_id, timeout=args.timeout)
    done = {"stop": "stopped", "start": "started"}[args.action]
    print(f"amphora of {args.lb_id} {done} in {time.monotonic() - t0:.1f}s")
    return 0


def _read(path, option):
    try:
        return pathlib.Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabError(f"cannot read {option} {path}: {exc}.") from exc


def _delete_ref(lab, args):
    from lab import tls
    if not args.ref:
        raise LabError(f"`{args.command} delete` needs a reference.")
    if not tls.delete(lab.s, args.ref):
        raise LabError(f"{args.ref} is not in the lab's certificate store {lab.s.tls_store}.")
    print(f"{args.ref} deleted")
    return 0


def cmd_tls_container(lab, args):
    from lab import tls
    if args.action == "delete":
        return _delete_ref(lab, args)
    if not args.cert or not args.key:
        raise LabError("`tls-container create` needs --cert FILE and --key FILE.")
    intermediates = _read(args.intermediates, "--intermediates") if args.intermediates else None
    print(tls.store_bundle(lab.s, _read(args.cert, "--cert"), _read(args.key, "--key"),
                           intermediates))
    return 0


def cmd_ca_container(lab, args):
    from lab import tls
    if args.action == "delete":
        return _delete_ref(lab, args)
    if not args.ca:
        raise LabError("`ca-container create` needs --ca FILE.")
    crl = _read(args.crl, "--crl") if args.crl else None
    ca_ref, crl_ref = tls.store_ca(lab.s, _read(args.ca, "--ca"), crl)
    if args.json:
        print(json.dumps({"client_ca_tls_container_ref": ca_ref,
                          "client_crl_container_ref": crl_ref}))
    else:
        print(ca_ref)
        if crl_ref:
            print(crl_ref)
    return 0


def cmd_agent(lab, _args):
    from lab import agent
    return agent.main(lab.s)


def cmd_backend(_lab, args):
    from lab import backends
    server = backends.HttpBackend(args.address, args.port, default_status=args.default_status)
    server.start()
    print(f"backend on {server.url} (/ -> 200, /status/NNN -> NNN, other paths -> "
          f"{args.default_status}); Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


def parser():
    ports = "; ".join(f"{var} (default {default}, {what})" for _k, var, default, what in PORTS)
    top = argparse.ArgumentParser(
        prog="labctl.py", description="Run the local Octavia lab.",
        epilog=f"State lives in OCTAVIA_LAB_DIR (default <repo>/.lab). Ports: {ports}.")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("up", help="start the lab, or reuse the running one").set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop every lab process").set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="each component with PID, port, health; exit 1 if not up")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    sub.add_parser("memory", help="RSS and PSS of every lab process").set_defaults(func=cmd_memory)
    seed = sub.add_parser("seed-stats", help="write listener statistics through Octavia's stats driver")
    seed.add_argument("--listener", required=True)
    seed.add_argument("--amphora", help="amphora id (default: the load balancer's amphora)")
    seed.add_argument("figures", nargs="*", metavar="NAME=COUNT", help=", ".join(FIGURES))
    seed.set_defaults(func=cmd_seed_stats)
    api = sub.add_parser("api-requests",
                         help="print the API log's line count (a marker), or the requests after one")
    api.add_argument("--since-line", type=int)
    api.add_argument("--json", action="store_true")
    api.set_defaults(func=cmd_api_requests)
    load = sub.add_parser("api-load",
                          help="parallel openstacksdk clients making GETs: errors and requests/s")
    load.add_argument("--clients", type=int, default=64)
    load.add_argument("--requests", type=int, default=1280)
    load.add_argument("--json", action="store_true")
    load.set_defaults(func=cmd_api_load)
    comp = sub.add_parser("component",
                          help="stop, start, kill, pause or resume one component (test faults)")
    comp.add_argument("action", choices=COMPONENT_ACTIONS)
    comp.add_argument("name", choices=tuple(FAULT_COMPONENTS))
    comp.set_defaults(func=cmd_component)
    amp = sub.add_parser("amphora", help="list the lab amphorae, or stop/start one load balancer's")
    amp.add_argument("action", choices=("list", "stop", "start"))
    amp.add_argument("lb_id", nargs="?")
    amp.add_argument("--timeout", type=float, default=15.0)
    amp.set_defaults(func=cmd_amphora)
    tls_cmd = sub.add_parser(
        "tls-container", help="store a certificate bundle in Octavia's local_cert_manager and "
                              "print its reference (default_tls_container_ref)")
    tls_cmd.add_argument("action", choices=("create", "delete"))
    tls_cmd.add_argument("ref", nargs="?", help="the reference to delete")
    tls_cmd.add_argument("--cert", metavar="FILE", help="the server certificate (PEM)")
    tls_cmd.add_argument("--key", metavar="FILE", help="its private key (PEM, no passphrase)")
    tls_cmd.add_argument("--intermediates", metavar="FILE", help="the chain (PEM)")
    tls_cmd.set_defaults(func=cmd_tls_container)
    ca_cmd = sub.add_parser(
        "ca-container", help="store a client CA (and a CRL) and print the reference(s): "
                             "the CA's first, then the CRL's")
    ca_cmd.add_argument("action", choices=("create", "delete"))
    ca_cmd.add_argument("ref", nargs="?", help="the reference to delete")
    ca_cmd.add_argument("--ca", metavar="FILE", help="the CA certificate(s) (PEM)")
    ca_cmd.add_argument("--crl", metavar="FILE", help="a certificate revocation list (PEM)")
    ca_cmd.add_argument("--json", action="store_true")
    ca_cmd.set_defaults(func=cmd_ca_container)
    # No help text: internal (labctl up starts it), so it stays out of the command list.
    agent = sub.add_parser("amphora-agent")
    agent.set_defaults(func=cmd_agent)
    backend = sub.add_parser("backend", help="run a test HTTP backend in the foreground")
    backend.add_argument("--address", default="127.0.0.1")
    backend.add_argument("--port", type=int, default=0)
    backend.add_argument("--default-status", type=int, default=404)
    backend.set_defaults(func=cmd_backend)
    return top


def main(argv=None):
    # Behave like other command-line tools when piped into `head`.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = parser().parse_args(argv)
    try:
        lab = Lab(Settings())
        return args.func(lab, args)
    except LabError as exc:
        print(f"labctl {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
