#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""Ansible module mdatp.endpoint.health_info."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
---
module: health_info
short_description: Read mdatp health, settings, exclusions and threat policy over D-Bus
version_added: "1.0.0"
description:
  - Reads every property of C(com.microsoft.Mdatp1.Health), every setting from
    C(Settings.List) with its value, D-Bus type, managed flag and source, the exclusions in
    effect and the threat type policy.
  - The results are returned and also set as facts C(mdatp_health), C(mdatp_settings),
    C(mdatp_exclusions) and C(mdatp_threat_policy).
  - With I(managed_policy), it also tells whether the daemon has applied that policy (every
    setting it names shows as managed), which a play can wait for after writing
    C(mdatp_managed.json).
author:
  - mdatp project
requirements:
  - python3-dbus on the managed host (run modules with C(/usr/bin/python3)).
  - mdatpd running on the system bus.
options:
  managed_policy:
    description:
      - The content of C(mdatp_managed.json) as a mapping; sets C(policy_applied) and
        C(policy_pending).
    type: dict
notes:
  - Read-only; supports check mode.
seealso:
  - module: mdatp.endpoint.settings
"""

EXAMPLES = r"""
- name: Gather mdatp health
  mdatp.endpoint.health_info:
  register: mdatp

- name: Real-time protection must be on
  ansible.builtin.assert:
    that:
      - mdatp.health.Healthy
      - mdatp.health.RealTimeProtectionEnabled
    fail_msg: "{{ mdatp.health.HealthIssues }}"

- name: Is the proxy managed?
  ansible.builtin.debug:
    msg: "{{ mdatp_settings['cloudService.proxy'].managed }}"
"""

RETURN = r"""
health:
  description: Every Health property by its D-Bus name (Healthy, HealthIssues, AppVersion, EnforcementLevel, DefinitionsStatus, ManagedPolicyPath, ...).
  returned: always
  type: dict
healthy:
  description: The Healthy property.
  returned: always
  type: bool
settings:
  description: Per setting name, its C(value) (in the mdatp_managed.json shape), C(type) (D-Bus signature), C(managed) and C(source).
  returned: always
  type: dict
  sample: {"antivirusEngine.maximumOnDemandScanThreads": {"value": 4, "type": "i", "managed": false, "source": "local"}}
exclusions:
  description: Exclusions in effect, each with kind, value, scope and managed.
  returned: always
  type: list
  elements: dict
threat_policy:
  description: Action per threat type in effect.
  returned: always
  type: dict
policy_applied:
  description: Whether every setting in I(managed_policy) shows as managed.
  returned: when managed_policy is given
  type: bool
policy_pending:
  description: Settings of I(managed_policy) that do not show as managed yet.
  returned: when managed_policy is given
  type: list
  elements: str
ansible_facts:
  description: C(mdatp_health), C(mdatp_settings), C(mdatp_exclusions), C(mdatp_threat_policy).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mdatp.endpoint.plugins.module_utils.mdatp_dbus import (
    Client, MdatpError, flatten_policy, friendly)


def main():
    module = AnsibleModule(argument_spec=dict(managed_policy=dict(type="dict")),
                           supports_check_mode=True)
    client = None
    try:
        client = Client()
        health = client.health()
        settings = {}
        for name, entry in client.list_settings().items():
            settings[name] = {"value": friendly(entry["type"], entry["value"]),
                              "type": entry["type"], "managed": entry["managed"],
                              "source": entry["source"]}
        exclusions = client.exclusions()
        threat_policy = client.threat_policy()
    except MdatpError as exc:
        module.fail_json(msg=str(exc), error=exc.kind, dbus_error=exc.name)
    finally:
        if client is not None:
            client.close()

    result = dict(changed=False, health=health, healthy=bool(health.get("Healthy")),
                  settings=settings, exclusions=exclusions, threat_policy=threat_policy,
                  ansible_facts=dict(mdatp_health=health, mdatp_settings=settings,
                                     mdatp_exclusions=exclusions,
                                     mdatp_threat_policy=threat_policy))
    policy = module.params["managed_policy"]
    if policy is not None:
        names = flatten_policy(policy, set(settings))
        pending = sorted(n for n in names if not settings[n]["managed"])
        result["policy_pending"] = pending
        result["policy_applied"] = not pending
    module.exit_json(**result)


if __name__ == "__main__":
    main()
