# Copyright (c) octavia.monitoring contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The minimal Alertmanager configuration the octavia_alertmanager role writes.

Its documentation lives beside it in ``alertmanager_config.yml``.
"""

from ansible.errors import AnsibleFilterError

# The role's email options and Alertmanager's email_configs keys.
_EMAIL_KEYS = (("email_to", "to"), ("email_from", "from"), ("smarthost", "smarthost"),
               ("auth_username", "auth_username"), ("auth_password", "auth_password"))


def _receiver(spec):
    """One Alertmanager receiver from the role's flat receiver options."""
    name = spec.get("name")
    if not name:
        raise AnsibleFilterError("alertmanager_config: every receiver needs a name")
    out = {"name": name}
    resolved = bool(spec.get("send_resolved", True))
    if spec.get("webhook_url"):
        out["webhook_configs"] = [{"url": spec["webhook_url"], "send_resolved": resolved}]
    if spec.get("email_to"):
        email = {key: spec[option] for option, key in _EMAIL_KEYS if spec.get(option)}
        email["send_resolved"] = resolved
        if spec.get("require_tls") is not None:
            email["require_tls"] = bool(spec["require_tls"])
        out["email_configs"] = [email]
    return out


def alertmanager_receiver_problems(receivers, global_config=None):
    """Return the names of email receivers that Alertmanager would refuse for want of a sender or smarthost.

    :param receivers: the role's receivers (see alertmanager_config).
    :param global_config: Alertmanager's ``global`` section, whose
        ``smtp_from`` and ``smtp_smarthost`` stand in for a receiver's own.
    :returns: the names, in list order.
    """
    glob = global_config or {}
    return [spec.get("name") for spec in receivers or [] if spec.get("email_to") and (
        not (spec.get("email_from") or glob.get("smtp_from")) or not (spec.get("smarthost") or glob.get("smtp_smarthost")))]


def alertmanager_config(receivers, route, global_config=None, routes=None):
    """Return the Alertmanager configuration as a dict, ready for to_nice_yaml.

    :param receivers: list of dicts ``name`` and any of ``webhook_url``,
        ``email_to``, ``email_from``, ``smarthost``, ``auth_username``,
        ``auth_password``, ``require_tls``, ``send_resolved`` (default true).
        A receiver with neither a webhook nor an email drops what it gets.
    :param route: dict ``receiver`` (the default receiver's name; empty means
        the first receiver), ``group_by``, ``group_wait``, ``group_interval``,
        ``repeat_interval``.
    :param global_config: Alertmanager's ``global`` section, as is (optional).
    :param routes: child routes of the top route, as is (optional).
    :returns: the configuration dict.
    :raises AnsibleFilterError: no receivers, two with one name, or a route
        that names no receiver of the list.
    """
    if not receivers:
        raise AnsibleFilterError("alertmanager_config: at least one receiver is needed")
    built = [_receiver(spec) for spec in receivers]
    names = [r["name"] for r in built]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise AnsibleFilterError(f"alertmanager_config: receiver names must be unique: {', '.join(twice)}")
    default = route.get("receiver") or names[0]
    for wanted in [default] + [r.get("receiver") for r in routes or [] if r.get("receiver")]:
        if wanted not in names:
            raise AnsibleFilterError(f"alertmanager_config: a route names receiver {wanted}, which is not in the list")
    top = {"receiver": default}
    for key in ("group_by", "group_wait", "group_interval", "repeat_interval"):
        if route.get(key) not in (None, "", []):
            top[key] = list(route[key]) if key == "group_by" else route[key]
    if routes:
        top["routes"] = list(routes)
    config = {}
    if global_config:
        config["global"] = dict(global_config)
    config["route"] = top
    config["receivers"] = built
    return config


class FilterModule:
    """The octavia_alertmanager role's configuration."""

    def filters(self):
        return {"alertmanager_config": alertmanager_config}
