# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The base of every octavia.monitoring module: arguments, connection, one failure sentence.

- ``auth_argument_spec(**extra)``: openstack.cloud's auth options (same names,
  aliases and meanings), ``wait`` and ``timeout``, plus the module's own.
- ``OctaviaModule``: the class every module derives from (see its docstring).

Connection and error plumbing live in ``_sdk`` (shared with the plugins and
the exporter); this file adds only what needs Ansible.
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.octavia.monitoring.plugins.module_utils._auth import AUTH_ARGUMENT_SPEC
from ansible_collections.octavia.monitoring.plugins.module_utils._errors import OctaviaError
from ansible_collections.octavia.monitoring.plugins.module_utils._sdk import (
    HAS_OPENSTACKSDK,
    OPENSTACKSDK_IMPORT_ERROR,
    api_error,
    connect,
)

WAIT_SPEC = dict(
    wait=dict(type="bool", default=True),
    timeout=dict(type="int", default=180),
)


def auth_argument_spec(**extra):
    """Return a fresh argument spec: the auth options, ``wait``/``timeout`` and ``extra``.

    :param extra: module-specific options (name -> spec dict); they win over
        the common options on a name clash.
    :returns: a new dict, safe to mutate.
    """
    spec = {k: dict(v) for k, v in {**AUTH_ARGUMENT_SPEC, **WAIT_SPEC}.items()}
    spec.update(extra)
    return spec


class OctaviaModule:
    """Base class of every octavia.monitoring module.

    Subclasses set class attributes and implement ``run()``:

    - ``argument_spec``: module options; the auth options are added.
    - ``module_kwargs``: extra ``AnsibleModule`` keywords (``required_if``...).
    - ``run()``: returns the result dict (without ``changed`` it is False);
      raises ``OctaviaError`` (``PlanError`` included) to fail, with the
      error's ``extra`` as further result keys.

    ``main()`` of a module is ``ListenerModule().execute()``. The connection
    opens on first use of ``self.conn`` (validation runs before any call) and
    is closed afterwards; ``self.connect()`` opens another one, for a worker
    thread.
    """

    argument_spec = {}
    module_kwargs = {}

    def __init__(self):
        self.ansible = AnsibleModule(argument_spec=auth_argument_spec(**self.argument_spec),
                                     supports_check_mode=True, **self.module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self._conn = None

    @property
    def conn(self):
        """The openstacksdk connection, opened on first use."""
        if self._conn is None:
            self._conn = self.connect()
        return self._conn

    def connect(self):
        """A new openstacksdk connection from the module's auth options."""
        return connect(self.params)

    def warn(self, message):
        """Emit a task warning."""
        self.ansible.warn(message)

    def run(self):
        """Do the module's work; return the result dict. Subclasses implement it."""
        raise NotImplementedError

    def execute(self):
        """Run the module and exit with its result or a readable failure."""
        if not HAS_OPENSTACKSDK:
            self.ansible.fail_json(msg=missing_required_lib("openstacksdk"),
                                   exception=OPENSTACKSDK_IMPORT_ERROR)
        try:
            result = self.run() or {}
        except OctaviaError as exc:
            extra = {k: v for k, v in exc.extra.items() if v is not None}
            self._close()
            self.ansible.fail_json(msg=str(exc), **extra)
        except Exception as exc:
            # The last resort still names what failed instead of a bare traceback.
            self._close()
            self.ansible.fail_json(msg=str(api_error(exc, "complete the task")),
                                   exception=traceback.format_exc())
        self._close()
        result.setdefault("changed", False)
        self.ansible.exit_json(**result)

    def _close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None
