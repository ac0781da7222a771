# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The text the octavia_listeners role prints after a rollout.

Documentation: ``rollout_summary.yml``. The outcome of each item comes from
``rollout_outcomes.outcome_of``, so the summary and the per-host report never
disagree.
"""

from ansible_collections.octavia.monitoring.plugins.filter.rollout_outcomes import (
    OUTCOMES,
    label_of,
    outcome_of,
    rollout_items,
)


def rollout_summary(value, check_mode=False):
    """Return the rollout summary as a list of lines.

    :param value: what ``rollout_outcomes.rollout_items`` accepts (the
        registered result of the role's fleet task, one module result, or a
        list of items).
    :param check_mode: say "would change" instead of "changed".
    :returns: one line of counts (every outcome, and the changed ones per
        action), then one line per load balancer that is not unchanged, in
        the order of the results.
    :raises AnsibleFilterError: as ``rollout_items`` and ``outcome_of``.
    """
    items = rollout_items(value)
    verb = "would change" if check_mode else "changed"
    outcomes = [outcome_of(item) for item in items]
    counts = dict.fromkeys(OUTCOMES, 0)
    actions = {}
    for item, outcome in zip(items, outcomes):
        counts[outcome] += 1
        if outcome == "changed":
            actions[item.get("action")] = actions.get(item.get("action"), 0) + 1
    per_action = ", ".join(f"{action}: {count}" for action, count in actions.items())
    lines = [f"{len(items)} load balancer(s): {counts['changed']} {verb}"
             + (f" ({per_action})" if per_action else "")
             + f", {counts['unchanged']} unchanged, {counts['skipped']} skipped, {counts['failed']} failed, "
             f"{counts['unconfirmed']} unconfirmed"]
    for item, outcome in zip(items, outcomes):
        label = label_of(item)
        if outcome == "changed":
            lines.append(f"{verb} ({item.get('action')}): {label}, scrape target {item.get('scrape_target') or 'none'}")
        elif outcome == "unconfirmed":
            lines.append(f"unconfirmed ({item.get('action')}, sent but not confirmed): {label}: {item.get('msg')}")
        elif outcome in ("failed", "skipped"):
            lines.append(f"{outcome}: {label}: {item.get('msg')}")
    return lines


class FilterModule:
    """The rollout summary."""

    def filters(self):
        return {"rollout_summary": rollout_summary}
