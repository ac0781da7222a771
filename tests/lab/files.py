"""The files the lab writes before anything starts: octavia.conf, clouds.yaml, the CA, broker config."""
import datetime
import os
import pathlib

from lab.settings import CLOUD_NAME, DB_NAME, DB_PASSWORD, DB_USER

OCTAVIA_CONF = """\
# Written by tests/lab/labctl.py; rewritten on every `up`, edit OCTAVIA_LAB_* variables instead.
[DEFAULT]
transport_url = {transport_url}
host = octavia-lab
debug = False

[api_settings]
bind_host = 127.0.0.1
bind_port = {api_port}
# Every request is admin; the project comes from the body's project_id.
auth_strategy = noauth
enabled_provider_drivers = amphora:The Octavia Amphora driver (lab: noop compute and network).
default_provider_driver = amphora

[database]
connection = {db_url}

[controller_worker]
amphora_driver = amphora_noop_driver
compute_driver = compute_noop_driver
network_driver = network_noop_driver
image_driver = image_noop_driver
volume_driver = volume_noop_driver
loadbalancer_topology = SINGLE
# Flow concurrency is Octavia's production default, set nowhere here: [controller_worker]
# workers (1 process), [task_flow] engine (parallel) and max_workers (5 task threads), and
# oslo.messaging's executor_thread_pool_size (64 flows at once).
# The create flow signs an amphora certificate even with noop drivers.
client_ca = {cert_dir}/ca_01.pem

[task_flow]
# The jobboard needs Redis or ZooKeeper; plain taskflow runs the flows in the worker.
jobboard_enabled = False

[certificates]
ca_certificate = {cert_dir}/ca_01.pem
ca_private_key = {cert_dir}/ca_01.key
# Octavia's own file-based store instead of Barbican: `labctl.py tls-container create` and
# `ca-container create` put bundles and CAs here, the API validates listener refs against
# it and the amphora agent reads them from it, as the amphora driver would.
cert_manager = local_cert_manager
storage_path = {tls_store}

[haproxy_amphora]
# Where the lab amphorae keep the certificate files the amphora driver would upload
# (<base_cert_dir>/<load balancer id>/<name>.pem); the template names them from here.
base_cert_dir = {amp_cert_dir}

[oslo_concurrency]
lock_path = {lock_dir}
"""

CLOUDS_YAML = """\
# Written by tests/lab/labctl.py. Use with OS_CLIENT_CONFIG_FILE={path}
clouds:
  {cloud}:
    auth_type: none
    auth:
      endpoint: {api_url}
    load_balancer_endpoint_override: {api_url}
    region_name: RegionOne
"""

# Runs at every MariaDB start, so a wiped or fresh data directory always has the account.
MYSQL_INIT = f"""\
CREATE DATABASE IF NOT EXISTS {DB_NAME} CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}';
GRANT ALL PRIVILEGES ON {DB_NAME}.* TO '{DB_USER}'@'127.0.0.1';
"""

RABBIT_CONF = """\
listeners.tcp.1 = 127.0.0.1:{amqp_port}
loopback_users.guest = true
disk_free_limit.absolute = 50MB
"""


def _write(path, text, mode=0o644):
    path = pathlib.Path(path)
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    tmp.replace(path)


def make_ca(cert_dir):
    """Write a throw-away self-signed CA for Octavia's local certificate generator (once)."""
    cert_dir = pathlib.Path(cert_dir)
    if (cert_dir / "ca_01.pem").exists() and (cert_dir / "ca_01.key").exists():
        return
    # Imported here: only a first `up` needs it, and it is slow to import.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    cert_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "octavia-lab throw-away CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    _write(cert_dir / "ca_01.key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode(), mode=0o600)
    _write(cert_dir / "ca_01.pem", cert.public_bytes(serialization.Encoding.PEM).decode())


def write_all(settings):
    """Create the lab directory tree and (re)write every generated file."""
    for directory in (settings.dir, settings.run_dir, settings.log_dir, settings.amp_dir,
                      settings.rabbit_dir, settings.dir / "lock"):
        directory.mkdir(parents=True, exist_ok=True)
    # Private keys live in both: only the lab's user may read them.
    for directory in (settings.tls_store, settings.amp_cert_dir):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    make_ca(settings.cert_dir)
    _write(settings.conf, OCTAVIA_CONF.format(
        transport_url=settings.transport_url, api_port=settings.ports["api"].value,
        db_url=settings.db_url, cert_dir=settings.cert_dir, lock_dir=settings.dir / "lock",
        tls_store=settings.tls_store, amp_cert_dir=settings.amp_cert_dir),
        mode=0o600)
    _write(settings.clouds_yaml, CLOUDS_YAML.format(
        path=settings.clouds_yaml, cloud=CLOUD_NAME, api_url=settings.api_url))
    _write(settings.run_dir / "mysql-init.sql", MYSQL_INIT, mode=0o600)
    _write(settings.rabbit_dir / "rabbitmq.conf",
           RABBIT_CONF.format(amqp_port=settings.ports["amqp"].value))
    # No plugins: the management UI would open another port.
    _write(settings.rabbit_dir / "enabled_plugins", "[].\n")
    _write(settings.rabbit_dir / "rabbitmq-env.conf", "")
