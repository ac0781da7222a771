# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!


class ModuleDocFragment(object):

    # The listener settings that lb_prometheus_listener and lb_prometheus_listener_fleet share,
    # with the same argument spec (_compare.LISTENER_SETTINGS_SPEC). Left out: a setting the task
    # does not give is left as it is on an existing listener.
    DOCUMENTATION = r"""
options:
  description:
    description:
      - Description of the listener.
    type: str
  is_admin_state_up:
    description:
      - Whether the listener is administratively up.
    type: bool
    aliases: [admin_state_up]
  connection_limit:
    description:
      - Maximum number of concurrent connections; V(-1) means unlimited.
    type: int
  tags:
    description:
      - Tags of the listener, compared as a set.
    type: list
    elements: str
  timeout_client_data:
    description:
      - Frontend client inactivity timeout in milliseconds.
    type: int
  timeout_member_connect:
    description:
      - Backend member connection timeout in milliseconds.
    type: int
  timeout_member_data:
    description:
      - Backend member inactivity timeout in milliseconds.
    type: int
  timeout_tcp_inspect:
    description:
      - Time in milliseconds to wait for additional TCP packets for content inspection.
    type: int
"""
