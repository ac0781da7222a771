# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""vmalert's connections and their password files, for the octavia_vmalert role.

The function lives in ``vmalert_args.py``, which names the same files on the command
line; its documentation lives beside it in ``vmalert_connections.yml``.
"""

from ansible_collections.octavia.monitoring.plugins.filter.vmalert_args import vmalert_connections


class FilterModule:
    """The octavia_vmalert role's password files."""

    def filters(self):
        return {"vmalert_connections": vmalert_connections}
