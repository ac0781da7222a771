# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The stats_exposition filter: lb_stats_info results in the Prometheus text exposition format.

Its documentation is stats_exposition.yml beside this file; its code is in
plugins/plugin_utils/_stats_render.py, shared with the other statistics filters.
"""

from ansible_collections.octavia.monitoring.plugins.plugin_utils._stats_render import stats_exposition


class FilterModule:
    """Provides stats_exposition only, so that the file is named after the one filter it holds."""

    def filters(self):
        return {"stats_exposition": stats_exposition}
