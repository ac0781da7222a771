# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The stats_csv filter: lb_stats_info results as CSV.

Its documentation is stats_csv.yml beside this file; its code is in
plugins/plugin_utils/_stats_render.py, shared with the other statistics filters.
"""

from ansible_collections.octavia.monitoring.plugins.plugin_utils._stats_render import stats_csv


class FilterModule:
    """Provides stats_csv only, so that the file is named after the one filter it holds."""

    def filters(self):
        return {"stats_csv": stats_csv}
