# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The human_bytes filter: a byte count with a readable unit (IEC or SI).

Its documentation is human_bytes.yml beside this file; its code is in
plugins/plugin_utils/_stats_render.py, shared with the other statistics filters.
"""

from ansible_collections.octavia.monitoring.plugins.plugin_utils._stats_render import human_bytes


class FilterModule:
    """Provides human_bytes only, so that the file is named after the one filter it holds."""

    def filters(self):
        return {"human_bytes": human_bytes}
