# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!


class ModuleDocFragment(object):

    # Descriptions only; each module states its own support level.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and predict C(changed) and the diff without changing anything.
  diff_mode:
    description: Returns C(before) and C(after) of what changed, or would change in check mode.
  idempotent:
    description:
      - When run twice in a row with the same options, the second run reports C(changed=false)
        and makes no change.
"""

    ACTIONGROUP_OCTAVIA = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/octavia.monitoring.octavia) in C(module_defaults) to set the auth options once.
    support: full
    membership:
      - octavia.monitoring.octavia
"""

    # For modules that only read.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: This module only reads, so it behaves the same in check mode.
  diff_mode:
    support: N/A
    details: This module only reads.
  idempotent:
    support: full
"""
