"""The haproxy.cfg a lab amphora runs: Octavia's own template, plus what the host does around it.

`render_loadbalancer` asks Octavia's JinjaTemplater for exactly the text the amphora
driver would upload. `adapt` then changes only what a real amphora provides outside
haproxy.cfg, each change marked in the file:

* the exporter (127.0.0.1:9101) and the prometheus-proxy (127.0.0.1:9102) addresses
  are fixed in Octavia because each amphora has its own network namespace; here every
  load balancer gets its own internal address in OCTAVIA_LAB_AMP_NET instead;
* `allowed_cidrs` is enforced on an amphora by the VIP port's security group (or by
  nftables inside the amphora for SR-IOV VIPs), never by haproxy.cfg; here a
  `tcp-request connection reject` rule in the listener's frontend stands in for it;
* `daemon` and `user nobody` go (the agent supervises haproxy in the foreground and
  may not run as root), and the global `maxconn 50000` is lowered because it needs
  about 125k file descriptors per process.
"""
import re

EXPORTER_BIND = "    bind 127.0.0.1:9101\n"
PROXY_SERVER = "    server prometheus-internal 127.0.0.1:9102\n"
MARK = "# lab:"


class RenderError(Exception):
    """The load balancer cannot be rendered (yet); the message says why."""


def adapt(text, internal_ip, maxconn, allowed_cidrs):
    """Return Octavia's rendered `text` adapted to run on this host.

    internal_ip: this load balancer's address for the exporter and the proxy.
    maxconn: the ceiling for the global maxconn.
    allowed_cidrs: {listener_id: [cidr, ...]} for listeners that restrict their sources.
    """
    lines = text.splitlines(keepends=True)
    out = [f"{MARK} rendered by Octavia's combined_listeners JinjaTemplater; lines after "
           f"'{MARK}' comments are the lab's changes (tests/lab/render.py)\n"]
    section = None
    for line in lines:
        stripped = line.strip()
        if line[:1] not in (" ", "\t", "\n", "#") and stripped:
            section = stripped
        if section == "global" and stripped in ("daemon", "user nobody"):
            continue
        if section == "global" and stripped.startswith("maxconn "):
            value = int(stripped.split()[1])
            if value > maxconn:
                out.append(f"    {MARK} maxconn {value} lowered to fit the file descriptor limit\n")
                line = f"    maxconn {maxconn}\n"
        elif line == EXPORTER_BIND:
            out.append(f"    {MARK} 127.0.0.1:9101 inside an amphora's own namespace\n")
            line = f"    bind {internal_ip}:9101\n"
        elif line == PROXY_SERVER:
            out.append(f"    {MARK} 127.0.0.1:9102 inside an amphora's own namespace\n")
            line = f"    server prometheus-internal {internal_ip}:9102\n"
        out.append(line)
        if line.startswith("frontend "):
            listener_id = line.split()[1]
            cidrs = allowed_cidrs.get(listener_id)
            if cidrs:
                out.append(f"    {MARK} allowed_cidrs, enforced on an amphora by the VIP port's "
                           f"security group\n")
                out.append(f"    tcp-request connection reject if !{{ src {' '.join(cidrs)} }}\n")
    result = "".join(out)
    if "prometheus-exporter-internal-endpoint" in result and (
            f"bind {internal_ip}:9101" not in result
            or f"prometheus-internal {internal_ip}:9102" not in result):
        raise RenderError("Octavia's template no longer has the exporter lines tests/lab/render.py "
                          "rewrites; update EXPORTER_BIND and PROXY_SERVER")
    return result


def binds(text):
    """Every 'address:port' a rendered config binds, excluding the internal exporter."""
    found = []
    frontend = None
    for line in text.splitlines():
        if line.startswith("frontend "):
            frontend = line.split()[1]
        elif line.strip().startswith("bind ") and frontend != "prometheus-exporter-internal-endpoint":
            found.append(line.split()[1])
    return found


def haproxy_version(haproxy_binary):
    """('2', '6') for `HAProxy version 2.6.12-...`: the two fields the amphora API reports."""
    import subprocess
    output = subprocess.run([haproxy_binary, "-v"], capture_output=True, text=True,
                            check=True).stdout
    match = re.search(r"version (\d+)\.(\d+)", output)
    if not match:
        raise RenderError(f"cannot read the haproxy version from: {output.strip()[:80]}")
    return match.group(1), match.group(2)


def render_loadbalancer(lb_id, paths, haproxy_versions):
    """Render one load balancer from the Octavia DB with Octavia's own template.

    paths: dict with base_amp_path, base_crt_dir, socket_path, log_socket.
    Returns (text or None when no listener needs haproxy, info dict). Raises RenderError.
    Needs octavia.common.config.init() to have run in this process.
    """
    from octavia.common import constants
    from octavia.common.config import cfg
    from octavia.common.jinja.haproxy.combined_listeners import jinja_cfg
    from octavia.db import api as db_api
    from octavia.db import repositories

    with db_api.session().begin() as session:
        lb = repositories.LoadBalancerRepository().get(session, id=lb_id)
    if lb is None:
        raise RenderError("the load balancer is gone")
    amphora = next((amp for amp in lb.amphorae if amp.status == constants.AMPHORA_ALLOCATED), None)
    if amphora is None:
        raise RenderError("it has no ALLOCATED amphora")
    skipped = [l for l in lb.listeners if l.protocol in constants.LVS_PROTOCOLS]
    # As the amphora driver does: UDP/SCTP go to keepalived/LVS, everything else to
    # one haproxy process with all of the load balancer's listeners.
    listeners = [l for l in lb.listeners
                 if l.protocol not in constants.LVS_PROTOCOLS
                 and l.provisioning_status not in (constants.PENDING_DELETE, constants.DELETED)]
    info = {
        "listeners": [{"id": l.id, "protocol": l.protocol, "port": l.protocol_port,
                       "allowed_cidrs": [c.cidr for c in (l.allowed_cidrs or [])]}
                      for l in listeners],
        "not_served": [{"id": l.id, "protocol": l.protocol, "port": l.protocol_port,
                        "why": "UDP/SCTP listeners run in LVS, not haproxy; the lab has no LVS"}
                       for l in skipped],
    }
    if not listeners:
        return None, info
    templater = jinja_cfg.JinjaTemplater(
        base_amp_path=paths["base_amp_path"], base_crt_dir=paths["base_crt_dir"],
        log_http=paths["log_socket"], log_server=paths["log_socket"],
        connection_logging=cfg.CONF.haproxy_amphora.connection_logging)
    text = templater.build_config(host_amphora=amphora, listeners=listeners, tls_certs={},
                                  haproxy_versions=haproxy_versions, amp_details=None,
                                  socket_path=paths["socket_path"])
    return text, info
