#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""Ansible module mdatp.endpoint.threat_policy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
---
module: threat_policy
short_description: Set the action for one threat type in mdatp over D-Bus
version_added: "1.0.0"
description:
  - Sets what mdatp does with one threat type, as C(mdatp threat policy set) does, by updating
    the setting C(antivirusEngine.threatTypeSettings) through C(com.microsoft.Mdatp1.Settings).
  - The other threat types keep the action they have in effect (the list is merged per key).
  - When the managed policy sets that threat type, the local action does not apply; the module
    then fails with a C(ManagedByPolicy) message naming the policy file.
author:
  - mdatp project
requirements:
  - python3-dbus on the managed host (run modules with C(/usr/bin/python3)).
  - mdatpd running on the system bus.
options:
  type:
    description:
      - The threat type.
    type: str
    required: true
    choices: [potentially_unwanted_application, archive_bomb]
  action:
    description:
      - C(block) quarantines, C(audit) records only, C(off) ignores.
      - Quote C("off") in YAML, where a bare C(off) is the boolean false.
    type: str
    required: true
    choices: [block, audit, "off"]
notes:
  - Supports check mode and diff mode.
seealso:
  - module: mdatp.endpoint.settings
"""

EXAMPLES = r"""
- name: Quarantine potentially unwanted applications
  mdatp.endpoint.threat_policy:
    type: potentially_unwanted_application
    action: block

- name: Only record archive bombs
  mdatp.endpoint.threat_policy:
    type: archive_bomb
    action: audit
"""

RETURN = r"""
policy:
  description: The action per threat type in effect afterwards (in check mode, as it would be).
  returned: always
  type: dict
  sample: {"potentially_unwanted_application": "block", "archive_bomb": "audit"}
previous:
  description: The action per threat type before.
  returned: always
  type: dict
error:
  description: The kind of D-Bus error on failure (C(ManagedByPolicy), C(AccessDenied), ...).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mdatp.endpoint.plugins.module_utils.mdatp_dbus import (
    Client, MdatpError, THREAT_ACTIONS, THREAT_TYPES)


def run(module, client):
    threat_type, action = module.params["type"], module.params["action"]
    before = client.threat_policy()
    result = {"changed": False, "previous": dict(before), "policy": dict(before)}
    if before.get(threat_type) == action:
        return result
    result["changed"] = True
    if module.check_mode:
        entry = client.setting("antivirusEngine.threatTypeSettings")
        if entry["managed"]:
            module.warn("the managed policy sets antivirusEngine.threatTypeSettings; if it sets "
                        "'%s', the local action will not apply" % threat_type)
        result["policy"][threat_type] = action
    else:
        result["policy"] = client.set_threat_policy(threat_type, action)
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": {threat_type: before.get(threat_type)},
                          "after": {threat_type: action}}
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            type=dict(type="str", required=True, choices=list(THREAT_TYPES)),
            action=dict(type="str", required=True, choices=list(THREAT_ACTIONS)),
        ),
        supports_check_mode=True,
    )
    client = None
    try:
        client = Client()
        result = run(module, client)
    except MdatpError as exc:
        module.fail_json(msg=str(exc), error=exc.kind, dbus_error=exc.name)
    finally:
        if client is not None:
            client.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
