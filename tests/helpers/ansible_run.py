"""Run real ansible / ansible-playbook from tests and read their results as data.

The json stdout callback turns a run into one JSON document, so tests assert on
module results rather than on scraped console text.
"""
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
COLLECTIONS = REPO / ".build" / "collections"


def ansible_env(extra=None):
    """Environment for an ansible subprocess: this checkout as the collection, JSON output."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_STDOUT_CALLBACK": "results_json",
        "ANSIBLE_CALLBACK_PLUGINS": str(pathlib.Path(__file__).resolve().parent / "callback_plugins"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    link = COLLECTIONS / "ansible_collections" / "octavia" / "monitoring"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    if extra:
        env.update(extra)
    return env


class PlaybookRun:
    """The outcome of one ansible-playbook or ad-hoc run."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        try:
            self.data = json.loads(proc.stdout)
        except ValueError:
            self.data = {}

    @property
    def stats(self):
        return self.data.get("stats", {})

    def task_results(self, host="localhost"):
        """[(task name, result dict)] in execution order, for one host."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                res = task.get("hosts", {}).get(host)
                if res is not None:
                    out.append((task["task"]["name"], res))
        return out

    def failed(self, host="localhost"):
        """[(task name, result dict)] of the tasks that failed on one host, in execution order."""
        return [(name, result) for name, result in self.task_results(host) if result.get("failed")]

    def failed_messages(self, host="localhost"):
        """The message of every failed task, and of every failed item of a looped one."""
        out = []
        for _name, result in self.failed(host):
            out.append(result.get("msg", ""))
            out += [item.get("msg", "") for item in result.get("results") or [] if item.get("failed")]
        return out

    def result(self, task_name, host="localhost"):
        """The result of the last task with this name."""
        matches = [r for n, r in self.task_results(host) if n == task_name]
        if not matches:
            raise KeyError(f"no task {task_name!r} ran on {host}; ran: "
                           f"{[name for name, _result in self.task_results(host)]}")
        return matches[-1]

    @property
    def changed(self):
        return sum(s.get("changed", 0) for s in self.stats.values())

    def __repr__(self):
        return f"<PlaybookRun rc={self.rc} stats={self.stats} stderr={self.stderr[-2000:]!r}>"


def run_playbook(playbook, extra_vars=None, inventory=None, check=False, diff=False,
                 tags=None, env=None, args=(), timeout=900):
    cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook)]
    cmd += ["-i", str(inventory) if inventory else "localhost,"]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if tags:
        cmd += ["--tags", ",".join(tags)]
    cmd += list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(env),
                          cwd=REPO, timeout=timeout, check=False)
    return PlaybookRun(proc)


def run_module(module, module_args, check=False, diff=False, env=None, timeout=600):
    """Run one module on localhost through a one-task playbook; return its result dict.

    A playbook rather than ad-hoc `ansible -m` so that check and diff mode and
    module_defaults behave exactly as they do for users.
    """
    play = [{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "tasks": [{"name": "module under test", module: module_args}],
    }]
    path = REPO / ".build" / f"run_module_{os.getpid()}_{abs(hash(json.dumps(module_args, sort_keys=True, default=str)))}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(play))
    try:
        run = run_playbook(path, check=check, diff=diff, env=env, timeout=timeout)
    finally:
        path.unlink(missing_ok=True)
    try:
        return run.result("module under test")
    except KeyError as err:
        raise AssertionError(f"module did not run: {run!r}") from err


def run_lab_module(lab, module, module_args, **kwargs):
    """run_module against the lab: its cloud (unless module_args names one) and its environment."""
    return run_module(module, {"cloud": lab.cloud, **module_args}, env=lab.env, **kwargs)
