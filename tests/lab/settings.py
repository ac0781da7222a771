"""Where the lab keeps its state and which ports and binaries it uses.

Everything is read from the environment once, so `labctl.py`, the amphora agent and
the pytest fixtures agree as long as they see the same OCTAVIA_LAB_* variables.
"""
import dataclasses
import ipaddress
import os
import pathlib
import shutil
import sys

from lab.errors import LabError

REPO = pathlib.Path(__file__).resolve().parents[2]
CLOUD_NAME = "octavia-lab"

# Defaults sit away from the ports a distro MariaDB (3306), RabbitMQ (5672, 25672)
# or epmd (4369) would take, so the lab can run next to them.
PORTS = (
    # attribute, variable, default, component
    ("api", "OCTAVIA_LAB_API_PORT", 9876, "octavia-api"),
    ("mysql", "OCTAVIA_LAB_MYSQL_PORT", 13306, "MariaDB"),
    ("amqp", "OCTAVIA_LAB_AMQP_PORT", 15673, "RabbitMQ (AMQP)"),
    ("epmd", "OCTAVIA_LAB_EPMD_PORT", 14369, "epmd"),
    ("erl_dist", "OCTAVIA_LAB_ERL_DIST_PORT", 25673, "RabbitMQ (Erlang distribution)"),
)

# name -> (Debian package, where Debian installs it when it is not on PATH)
SYSTEM_BINARIES = {
    "mariadbd": ("mariadb-server", "/usr/sbin"),
    "mariadb-install-db": ("mariadb-server", "/usr/bin"),
    "epmd": ("erlang-base", "/usr/bin"),
    "rabbitmq-server": ("rabbitmq-server", "/usr/lib/rabbitmq/bin"),
    "haproxy": ("haproxy", "/usr/sbin"),
}
VENV_BINARIES = ("gunicorn", "octavia-api", "octavia-worker", "octavia-db-manage")

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
DEFAULT_VIP_NET = "127.1.0.0/16"
DEFAULT_AMP_NET = "127.255.0.0/16"

# octavia-api under gunicorn (lab/services.py explains the choice for a two-core host).
API_WORKERS = 4
API_THREADS = 1
API_BACKLOG = 1024

# Credentials of a throw-away database that listens on 127.0.0.1 only.
DB_NAME = "octavia"
DB_USER = "octavia"
DB_PASSWORD = "octavia-lab"


@dataclasses.dataclass(frozen=True)
class Port:
    """One configurable TCP port on 127.0.0.1."""

    key: str
    variable: str
    default: int
    component: str
    value: int


def _env_int(environ, variable, default, low, high):
    raw = environ.get(variable, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise LabError(f"{variable} must be a whole number from {low} to {high}, not {raw!r}: "
                       f"fix or unset it.")
    return value


def _loopback_net(environ, variable, default, largest, smallest):
    """A network inside 127.0.0.0/8 from `variable`, with a prefix from /largest to /smallest."""
    raw = environ.get(variable) or default
    try:
        net = ipaddress.ip_network(raw)
    except ValueError:
        net = None
    if net is None or not net.subnet_of(LOOPBACK) or not largest <= net.prefixlen <= smallest:
        raise LabError(f"{variable} must be a network inside 127.0.0.0/8 from /{largest} to "
                       f"/{smallest} (for example {default}), not {raw!r}: fix or unset it.")
    return net


def vip_net(environ=None):
    """The lab's VIP range (OCTAVIA_LAB_VIP_NET, default 127.1.0.0/16): where lb_factory picks VIPs.

    Two labs on one host must not share VIPs (each haproxy binds its VIP:port), so a second
    lab gets its own range. At least a /22, so that tests find distinct /24s inside it.
    """
    env = os.environ if environ is None else environ
    return _loopback_net(env, "OCTAVIA_LAB_VIP_NET", DEFAULT_VIP_NET, 8, 22)


def _binary_env_name(name):
    return "OCTAVIA_LAB_" + name.upper().replace("-", "_") + "_BIN"


class Settings:
    """The lab's paths, ports and knobs, resolved from OCTAVIA_LAB_* variables."""

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.environ = dict(env)
        self.dir = pathlib.Path(env.get("OCTAVIA_LAB_DIR") or REPO / ".lab").resolve()
        self.ports = {}
        for key, variable, default, component in PORTS:
            value = _env_int(env, variable, default, 1, 65535)
            self.ports[key] = Port(key, variable, default, component, value)
        seen = {}
        for port in self.ports.values():
            if port.value in seen:
                raise LabError(f"{port.variable} and {seen[port.value]} are both {port.value}: "
                               f"give each lab port its own number.")
            seen[port.value] = port.variable
        self.amp_net = _loopback_net(env, "OCTAVIA_LAB_AMP_NET", DEFAULT_AMP_NET, 8, 30)
        self.vip_net = vip_net(env)
        if self.vip_net.overlaps(self.amp_net):
            raise LabError(f"OCTAVIA_LAB_VIP_NET ({self.vip_net}) overlaps OCTAVIA_LAB_AMP_NET "
                           f"({self.amp_net}): give the VIPs and the amphorae' internal addresses "
                           f"separate ranges.")
        self.haproxy_maxconn = _env_int(env, "OCTAVIA_LAB_HAPROXY_MAXCONN", 4096, 64, 1000000)
        self.api_workers = _env_int(env, "OCTAVIA_LAB_API_WORKERS", API_WORKERS, 1, 64)
        self.api_threads = _env_int(env, "OCTAVIA_LAB_API_THREADS", API_THREADS, 1, 64)
        self.poll_interval = _env_int(env, "OCTAVIA_LAB_POLL_MS", 1000, 100, 10000) / 1000.0
        self.start_timeout = _env_int(env, "OCTAVIA_LAB_START_TIMEOUT", 120, 5, 3600)
        self.venv_bin = pathlib.Path(sys.executable).parent
        self.python = pathlib.Path(sys.executable)

    # Paths -----------------------------------------------------------------------------
    @property
    def conf(self):
        return self.dir / "octavia.conf"

    @property
    def clouds_yaml(self):
        return self.dir / "clouds.yaml"

    @property
    def run_dir(self):
        return self.dir / "run"

    @property
    def log_dir(self):
        return self.dir / "logs"

    @property
    def mysql_dir(self):
        return self.dir / "mysql"

    @property
    def mysql_socket(self):
        return self.run_dir / "mysqld.sock"

    @property
    def rabbit_dir(self):
        return self.dir / "rabbitmq"

    @property
    def cert_dir(self):
        return self.dir / "certs"

    @property
    def tls_store(self):
        """Octavia's local_cert_manager storage_path: <ref>.crt, .key, .int, .pass."""
        return self.dir / "tls-store"

    @property
    def amp_dir(self):
        return self.dir / "amphorae"

    @property
    def amp_cert_dir(self):
        """[haproxy_amphora] base_cert_dir of the lab amphorae."""
        return self.amp_dir / "certs"

    @property
    def amp_state(self):
        return self.amp_dir / "state.json"

    @property
    def amp_log_socket(self):
        return self.amp_dir / "log.sock"

    @property
    def lock_file(self):
        return self.run_dir / "labctl.lock"

    def log(self, name):
        return self.log_dir / f"{name}.log"

    # URLs ------------------------------------------------------------------------------
    @property
    def api_url(self):
        return f"http://127.0.0.1:{self.ports['api'].value}"

    @property
    def db_url(self):
        return (f"mysql+pymysql://{DB_USER}:{DB_PASSWORD}@127.0.0.1:"
                f"{self.ports['mysql'].value}/{DB_NAME}")

    @property
    def transport_url(self):
        return f"rabbit://guest:guest@127.0.0.1:{self.ports['amqp'].value}/"

    # Binaries --------------------------------------------------------------------------
    def binary(self, name):
        """Return the absolute path of a system or venv binary, or raise LabError naming the fix."""
        override = self.environ.get(_binary_env_name(name))
        if name in VENV_BINARIES:
            path = pathlib.Path(override) if override else self.venv_bin / name
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
            raise LabError(f"{path} was not found: create the virtualenv with `make venv` "
                           f"(it installs octavia and gunicorn from tests/requirements.txt).")
        package, debian_dir = SYSTEM_BINARIES[name]
        if override:
            found = override if os.path.isfile(override) and os.access(override, os.X_OK) else None
        else:
            # Debian's own location first: /usr/sbin/rabbitmq-server, which PATH finds,
            # is a wrapper that switches to the rabbitmq user and forks.
            search = os.pathsep.join([debian_dir, self.environ.get("PATH", os.defpath),
                                      "/usr/sbin", "/sbin"])
            found = shutil.which(name, path=search)
        if found:
            return found
        where = f" at {override} ({_binary_env_name(name)})" if override else ""
        command = f"apt-get install -y --no-install-recommends {package}"
        if os.geteuid() == 0:
            raise LabError(f"{name} was not found{where}: install it with `{command}`.")
        raise LabError(f"{name} was not found{where}: install it with `sudo {command}` "
                       f"(installing packages needs root, and you are not root).")

    def unix_socket_paths(self):
        """Every UNIX socket path the lab creates (the kernel limits them to 107 bytes)."""
        sample_lb = "00000000-0000-0000-0000-000000000000"
        return [self.mysql_socket, self.amp_log_socket,
                self.amp_dir / sample_lb / "sock"]
