# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!


class ModuleDocFragment:

    # The one vocabulary for selecting load balancers (_select.FILTERS_OPTIONS), shared by every
    # module, the inventory plugin and the roles.
    DOCUMENTATION = r"""
options:
  filters:
    description:
      - Select load balancers by their attributes. Every filter given must match; an empty or
        missing filter does not restrict anything.
      - The same keys mean the same thing in every module, the C(octavia.monitoring.loadbalancers)
        inventory plugin and the roles; an unknown key is an error.
    type: dict
    suboptions:
      project_ids:
        description: Only load balancers of these projects (any of them).
        type: list
        elements: str
      tags:
        description: Only load balancers that carry all these tags (filtered by the API).
        type: list
        elements: str
      name_pattern:
        description: Only load balancers whose name matches this shell-style pattern, such as V(web-*).
        type: str
      providers:
        description: Only load balancers of these providers, such as V(amphora) or V(ovn).
        type: list
        elements: str
      provisioning_statuses:
        description: Only load balancers in these provisioning states, such as V(ACTIVE) or V(ERROR).
        type: list
        elements: str
"""
