"""The four ways of giving N load balancers a PROMETHEUS listener that bench/rollout compares.

(a) this collection: the loadbalancers inventory plugin + the octavia_listeners role
    (one lb_prometheus_listener_fleet call for the whole fleet);
(b) a loop of openstack.cloud.lb_listener over the load balancers, from the `ansible` 12.x
    package in a separate virtualenv (.build/bench-venv), one listener name per load
    balancer because its lookup by name is not scoped to the load balancer;
(c) a shell loop of `openstack loadbalancer listener create`, the seed guide's way; its
    re-run lists each load balancer's listeners first (the plain loop would fail with 409);
(d) a plain openstacksdk script (bench/rollout_sdk.py): the same creates at the same
    concurrency as (a), one connection per thread, the yardstick for (a)'s first rollout.

Each approach writes its files under its own work directory and returns the command to run;
bench/rollout runs and measures it.
"""
import json
import os
import pathlib
import shlex
import subprocess
import sys

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
BENCH_VENV = REPO / ".build" / "bench-venv"
# `ansible` 12.x bundles openstack.cloud 2.5 and requires ansible-core 2.19. openstack.cloud 2.5
# reads openstack.version without importing it, which openstacksdk stopped importing for it in
# 4.15 ("module 'openstack' has no attribute 'version'"), so (b) runs with 4.14.
BENCH_REQUIREMENTS = ("ansible>=12,<13", "openstacksdk>=4.0,<4.15")
ALLOWED = "127.0.0.1/32"
PORT = 8088


def clean_env(extra):
    """The environment of a measured command: no Ansible or OpenStack settings leak in from outside."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(("ANSIBLE_", "OS_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH"))
    env.update({"ANSIBLE_HOST_KEY_CHECKING": "false", "ANSIBLE_RETRY_FILES_ENABLED": "false",
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "false"})
    env.update(extra)
    return env


def ensure_bench_venv(log):
    """Create .build/bench-venv with `ansible` 12.x once; return its bin directory."""
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {BENCH_VENV} with {' '.join(BENCH_REQUIREMENTS)} (once)")
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    # A no-op when the venv is already right; repairs one made with other versions.
    subprocess.run([str(python), "-m", "pip", "install", "-q", *BENCH_REQUIREMENTS], check=True)
    probe = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('ansible'))"],
                           capture_output=True, text=True, check=True)
    if not probe.stdout.startswith("12."):
        raise RuntimeError(f"{BENCH_VENV} has ansible {probe.stdout.strip()}, not 12.x; delete it to recreate")
    return BENCH_VENV / "bin"


class Approach:
    key = ""
    title = ""

    def __init__(self, workdir, fleet, clouds_yaml, cloud):
        self.dir = pathlib.Path(workdir) / self.key
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fleet = fleet
        self.clouds_yaml = clouds_yaml
        self.cloud = cloud

    def command(self, rerun):
        """(argv, env) of one run."""
        raise NotImplementedError

    def allowed_cidrs(self):
        """What every listener's allowed_cidrs must be afterwards (None: not checked)."""
        return [ALLOWED]


class CollectionRollout(Approach):
    key = "a"
    title = "octavia.monitoring (inventory + octavia_listeners)"

    def __init__(self, workdir, fleet, clouds_yaml, cloud, concurrency=8):
        super().__init__(workdir, fleet, clouds_yaml, cloud)
        inventory = self.dir / "inventory"
        inventory.mkdir(exist_ok=True)
        (inventory / "bench.octavia.yml").write_text(yaml.safe_dump({
            "plugin": "octavia.monitoring.loadbalancers",
            "filters": {"name_pattern": fleet.prefix + "-*"}}))
        (inventory / "prometheus.yml").write_text(yaml.safe_dump({
            "prometheus": {"hosts": {"bench-prometheus": {"ansible_host": ALLOWED.split("/", maxsplit=1)[0]}}}}))
        (self.dir / "rollout.yml").write_text(yaml.safe_dump([{
            "name": "PROMETHEUS listeners for every load balancer", "hosts": "octavia_loadbalancers",
            "gather_facts": False, "vars": {"octavia_listeners_concurrency": concurrency},
            "roles": ["octavia.monitoring.octavia_listeners"]}]))

    def command(self, rerun):
        env = clean_env({"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml),
                         "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
                         "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"})
        return [str(VENV_BIN / "ansible-playbook"), "-i", str(self.dir / "inventory"),
                str(self.dir / "rollout.yml")], env


class OpenstackCloudLoop(Approach):
    key = "b"
    title = "loop of openstack.cloud.lb_listener"

    def __init__(self, workdir, fleet, clouds_yaml, cloud, bench_bin):
        super().__init__(workdir, fleet, clouds_yaml, cloud)
        self.bin = bench_bin
        (self.dir / "lbs.json").write_text(json.dumps({"bench_lbs": [
            {"id": lb.id, "name": lb.name} for lb in fleet.lbs]}))
        (self.dir / "rollout.yml").write_text(yaml.safe_dump([{
            "name": "PROMETHEUS listeners, one module call per load balancer", "hosts": "localhost",
            "connection": "local", "gather_facts": False,
            "module_defaults": {"openstack.cloud.lb_listener": {"cloud": cloud}},
            "tasks": [{
                "name": "Create the listener",
                "openstack.cloud.lb_listener": {
                    "load_balancer": "{{ item.id }}",
                    # Its find_listener() looks the name up across the whole cloud.
                    "name": "prometheus-{{ item.name }}",
                    "protocol": "PROMETHEUS",
                    "protocol_port": PORT,
                },
                "loop": "{{ bench_lbs }}",
                "loop_control": {"label": "{{ item.name }}"},
            }],
        }]))

    def command(self, rerun):
        env = clean_env({"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml),
                         "ANSIBLE_PYTHON_INTERPRETER": str(self.bin / "python"),
                         "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"})
        return [str(self.bin / "ansible-playbook"), "-i", "localhost,", str(self.dir / "rollout.yml"),
                "-e", "@" + str(self.dir / "lbs.json")], env

    def allowed_cidrs(self):
        # openstack.cloud.lb_listener has no allowed_cidrs option: its listeners are open.
        return None


class CliLoop(Approach):
    key = "c"
    title = "loop of `openstack loadbalancer listener create`"

    def __init__(self, workdir, fleet, clouds_yaml, cloud):
        super().__init__(workdir, fleet, clouds_yaml, cloud)
        ids = " ".join(lb.id for lb in fleet.lbs)
        create = (f"openstack loadbalancer listener create --name prometheus --protocol PROMETHEUS "
                  f"--protocol-port {PORT} --allowed-cidr {ALLOWED} \"$lb\" >/dev/null")
        (self.dir / "first.sh").write_text(
            "set -eu\n"
            f"for lb in {ids}; do\n  {create}\ndone\n")
        (self.dir / "rerun.sh").write_text(
            "set -eu\n"
            f"for lb in {ids}; do\n"
            "  if ! openstack loadbalancer listener list --loadbalancer \"$lb\" -f value -c protocol"
            " | grep -qx PROMETHEUS; then\n"
            f"    {create}\n  fi\ndone\n")

    def command(self, rerun):
        env = clean_env({"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), "OS_CLOUD": self.cloud,
                         "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
        script = self.dir / ("rerun.sh" if rerun else "first.sh")
        return ["bash", str(script)], env


class SdkScript(Approach):
    key = "d"
    title = "plain openstacksdk script, a connection per thread"

    def __init__(self, workdir, fleet, clouds_yaml, cloud, concurrency=8):
        super().__init__(workdir, fleet, clouds_yaml, cloud)
        self.concurrency = concurrency
        (self.dir / "lbs.json").write_text(json.dumps({"bench_lbs": [
            {"id": lb.id, "name": lb.name} for lb in fleet.lbs]}))

    def command(self, rerun):
        env = clean_env({"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), "OS_CLOUD": self.cloud})
        argv = [str(VENV_BIN / "python"), str(REPO / "bench" / "rollout_sdk.py"),
                "--lbs", str(self.dir / "lbs.json"), "--project", self.fleet.project,
                "--concurrency", str(self.concurrency)]
        return argv + (["--rerun"] if rerun else []), env


def describe(argv):
    return " ".join(shlex.quote(a) for a in argv)
