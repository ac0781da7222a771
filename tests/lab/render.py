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

Certificates come from the amphora driver's own code (`CertificateFiles`): the same
files, names and contents it would upload to an amphora, written where the template
points haproxy (`[haproxy_amphora] base_cert_dir`).
"""
import hashlib
import os
import re
import threading

EXPORTER_BIND = "    bind 127.0.0.1:9101\n"
PROXY_SERVER = "    server prometheus-internal 127.0.0.1:9102\n"
MARK = "# lab:"


class RenderError(Exception):
    """The load balancer cannot be rendered (yet); the message says why."""


class DriverLoading(RenderError):
    """Octavia's amphora driver is still being imported: render this load balancer later."""


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


_CERT_FILES = {}
_DRIVER = {"module": None, "error": None, "thread": None}


def _import_driver():
    try:
        from octavia.amphorae.drivers.haproxy import rest_api_driver
        _DRIVER["module"] = rest_api_driver
    except ImportError as exc:
        _DRIVER["error"] = exc


def load_driver_in_background():
    """Start importing Octavia's amphora driver in a thread of its own.

    The import takes seconds on an idle host and a minute on a busy one; done in the
    agent's poll loop, it would stall every load balancer and the heartbeat with it.
    Until it is done, load balancers with certificates wait (DriverLoading).
    """
    if _DRIVER["thread"] is None:
        _DRIVER["thread"] = threading.Thread(target=_import_driver, name="amphora-driver-import",
                                             daemon=True)
        _DRIVER["thread"].start()


def _driver_module():
    thread = _DRIVER["thread"]
    if thread is None:
        _import_driver()      # no agent started the import: a direct caller waits for it
    elif thread.is_alive():
        raise DriverLoading("waiting for Octavia's amphora driver to load (it places the "
                            "certificate files)")
    if _DRIVER["module"] is None:
        # Octavia 19 imports pyroute2 there without declaring it (an amphora image has it).
        raise RenderError(f"Octavia's amphora driver cannot be imported ({_DRIVER['error']}), so "
                          f"TLS listeners get no certificates: run `make venv` (tests/"
                          f"requirements.txt has pyroute2)")
    return _DRIVER["module"]


def certificate_files(base_cert_dir):
    """The one CertificateFiles of this process for `base_cert_dir` (made on first use)."""
    if base_cert_dir not in _CERT_FILES:
        rest_api_driver = _driver_module()

        class CertificateFiles(rest_api_driver.HaproxyAmphoraLoadBalancerDriver):
            """Octavia's amphora driver with its certificate upload written to local files.

            _process_tls_certificates, _process_secret and _process_listener_pool_certs
            are the driver's own: they read the containers through the configured cert
            manager and build the combined PEM (certificate, key, intermediates), the
            crt-list and the CA/CRL files. Only the transport differs: where the driver
            sends upload_cert_pem to the amphora's REST API, this writes the file the way
            the amphora agent's upload_certificate does (owner-only mode), atomically so a
            reloading haproxy never reads half a file.
            """

            def __init__(self, directory):
                super().__init__()
                self.base_cert_dir = directory

            def _upload_cert(self, amp, listener_id, pem, md5sum, name):
                # The driver passes the load balancer id as `listener_id` here.
                directory = os.path.join(self.base_cert_dir, listener_id)
                path = os.path.join(directory, name)
                try:
                    with open(path, "rb") as handle:
                        if hashlib.md5(handle.read(), usedforsecurity=False).hexdigest() == md5sum:
                            return
                except FileNotFoundError:
                    pass
                os.makedirs(directory, mode=0o700, exist_ok=True)
                tmp = path + ".tmp"
                with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                               "wb") as handle:
                    handle.write(pem)
                os.replace(tmp, path)

        _CERT_FILES[base_cert_dir] = CertificateFiles(base_cert_dir)
    return _CERT_FILES[base_cert_dir]


def _pools_of(listener):
    pools = list(listener.pools or [])
    pools += [policy.redirect_pool for policy in listener.l7policies or [] if policy.redirect_pool]
    return pools


def needs_certificates(listener):
    """True if the listener, or a pool it sends to, names any certificate container."""
    if (listener.tls_certificate_id or listener.sni_containers
            or listener.client_ca_tls_certificate_id or listener.client_crl_container_id):
        return True
    return any(pool.tls_certificate_id or pool.ca_tls_certificate_id or pool.crl_container_id
               for pool in _pools_of(listener))


def place_certificates(base_cert_dir, lb, amphora, listeners):
    """Write every certificate file `listeners` need, as update_amphora_listeners does.

    Returns (tls_certs for the template, served listeners, [(listener, why)] for the
    ones whose containers cannot be read; the amphora driver would set those to ERROR
    and leave them out of haproxy.cfg, the lab leaves them out and reports why).
    Without any container the driver is not even imported.
    """
    if not any(needs_certificates(listener) for listener in listeners):
        return {}, listeners, []
    try:
        files, missing = certificate_files(base_cert_dir), ""
    except DriverLoading:
        raise
    except RenderError as exc:
        files, missing = None, str(exc)
    certs, served, failed = {}, [], []
    for listener in listeners:
        if not needs_certificates(listener):
            served.append(listener)
            continue
        if files is None:
            failed.append((listener, missing))
            continue
        try:
            found = {listener.tls_certificate_id:
                     files._process_tls_certificates(listener, amphora, lb.id)["tls_cert"]}
            found[listener.client_ca_tls_certificate_id] = files._process_secret(
                listener, listener.client_ca_tls_certificate_id, amphora, lb.id)
            found[listener.client_crl_container_id] = files._process_secret(
                listener, listener.client_crl_container_id, amphora, lb.id)
            found.update(files._process_listener_pool_certs(listener, amphora, lb.id))
        except Exception as exc:   # the driver, too, skips only this listener
            failed.append((listener, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        certs.update(found)
        served.append(listener)
    return certs, served, failed


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
    if cfg.CONF.haproxy_amphora.base_cert_dir != paths["base_crt_dir"]:
        raise RenderError(f"octavia.conf's [haproxy_amphora] base_cert_dir is "
                          f"{cfg.CONF.haproxy_amphora.base_cert_dir}, not {paths['base_crt_dir']}: "
                          f"restart the lab (`labctl.py down` and `up`)")
    tls_certs, listeners, failed = place_certificates(paths["base_crt_dir"], lb, amphora,
                                                      listeners)
    lvs_why = "UDP/SCTP listeners run in LVS, not haproxy; the lab has no LVS"
    unserved = [(item, lvs_why) for item in skipped]
    unserved += [(item, f"its certificates cannot be read: {why}") for item, why in failed]
    info = {
        "listeners": [{"id": item.id, "protocol": item.protocol, "port": item.protocol_port,
                       "allowed_cidrs": [c.cidr for c in (item.allowed_cidrs or [])],
                       "tls": bool(item.tls_certificate_id),
                       "client_authentication": item.client_authentication}
                      for item in listeners],
        "not_served": [{"id": item.id, "protocol": item.protocol, "port": item.protocol_port,
                        "why": why} for item, why in unserved],
    }
    if not listeners:
        return None, info
    templater = jinja_cfg.JinjaTemplater(
        base_amp_path=paths["base_amp_path"], base_crt_dir=paths["base_crt_dir"],
        log_http=paths["log_socket"], log_server=paths["log_socket"],
        connection_logging=cfg.CONF.haproxy_amphora.connection_logging)
    text = templater.build_config(host_amphora=amphora, listeners=listeners, tls_certs=tls_certs,
                                  haproxy_versions=haproxy_versions, amp_details=None,
                                  socket_path=paths["socket_path"])
    return text, info
