# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The stats_table filter: lb_stats_info results as a boxed text table.

Its documentation is stats_table.yml beside this file; its code is in
plugins/plugin_utils/_stats_render.py, shared with the other statistics filters.
"""

from ansible_collections.octavia.monitoring.plugins.plugin_utils._stats_render import stats_table


class FilterModule:
    """Provides stats_table only, so that the file is named after the one filter it holds."""

    def filters(self):
        return {"stats_table": stats_table}
