"""Test-only stdout callback: the whole run as one JSON document.

ansible-core ships no JSON callback (it lives in ansible.posix), and the tests
must not depend on a collection the product does not need.
"""
import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: results_json
type: stdout
short_description: the run as one JSON document (tests only)
description: Collects every task result per host and prints them with the stats at the end.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "results_json"

    def __init__(self):
        super().__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def _task_entry(self, task):
        tasks = self.plays[-1]["tasks"]
        if not tasks or tasks[-1]["task"]["uuid"] != task._uuid:
            tasks.append({"task": {"name": task.get_name(), "uuid": task._uuid}, "hosts": {}})
        return tasks[-1]

    def _record(self, result, **extra):
        entry = self._task_entry(result._task)
        data = dict(result._result)
        data.update(extra)
        entry["hosts"][result._host.get_name()] = data

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {h: stats.summarize(h) for h in sorted(stats.processed.keys())}
        self._display.display(json.dumps({"plays": self.plays, "stats": summary},
                                         default=str, sort_keys=True))
