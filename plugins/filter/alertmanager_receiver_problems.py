# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Email receivers without a sender or smarthost, for the octavia_alertmanager role's preflight.

The function lives in ``alertmanager_config.py`` beside the receivers it checks; its
documentation lives in ``alertmanager_receiver_problems.yml``.
"""

from ansible_collections.octavia.monitoring.plugins.filter.alertmanager_config import alertmanager_receiver_problems


class FilterModule:
    """The octavia_alertmanager role's receiver check."""

    def filters(self):
        return {"alertmanager_receiver_problems": alertmanager_receiver_problems}
