#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""Ansible module mdatp.endpoint.settings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
---
module: settings
short_description: Set or reset one mdatp setting over D-Bus
version_added: "1.0.0"
description:
  - Sets the local value of an mdatp setting, or resets it so that the managed policy or the
    built-in default applies, through C(com.microsoft.Mdatp1.Settings) on the system bus.
  - The setting is named by its dotted path in C(mdatp_managed.json), for example
    C(antivirusEngine.maximumOnDemandScanThreads) or C(cloudService.proxy). The list of settings
    with their types and allowed values is in the project's C(docs/settings.md).
  - The value is converted to the setting's D-Bus type, which the module learns from the
    variant C(Settings.Get) returns (b, i, s, as, a(ss) or a(ssbas)). The
    current effective value is read first and compared as a typed value, so the module reports
    C(changed) only when something changes.
  - Errors are the daemon's own messages, for example a setting that is managed by policy, a
    value outside the allowed range, or access denied by polkit.
author:
  - mdatp project
requirements:
  - python3-dbus on the managed host (run modules with C(/usr/bin/python3)).
  - mdatpd running on the system bus.
options:
  name:
    description:
      - Dotted name of the setting, as in C(mdatp_managed.json).
    type: str
    required: true
  value:
    description:
      - The value, when I(state=present). Booleans take C(true)/C(false); integers may be given
        as strings; string lists are YAML lists.
      - Key/value lists (C(antivirusEngine.threatTypeSettings), C(edr.tags)) take a mapping
        from key to value, or the file's list of objects with C(key) and C(value).
      - Exclusion lists take the file's exclusion objects, with C($type), C(path),
        C(extension) or C(name), C(isDirectory) and C(scopes).
      - Lists are compared without regard to order.
    type: raw
  state:
    description:
      - C(present) sets the local value; C(absent) removes it (C(Settings.Reset)), so the
        managed or default value applies.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode.
  - A setting that the managed policy sets cannot be changed locally; the module then fails with
    the daemon's C(ManagedByPolicy) message. Lists with the C(merge) merge policy take local
    items in addition to the managed ones; for exclusions and threat types prefer
    M(mdatp.endpoint.exclusion) and M(mdatp.endpoint.threat_policy), which work per item.
seealso:
  - module: mdatp.endpoint.health_info
  - module: mdatp.endpoint.exclusion
  - module: mdatp.endpoint.threat_policy
"""

EXAMPLES = r"""
- name: Four threads per on-demand scan
  mdatp.endpoint.settings:
    name: antivirusEngine.maximumOnDemandScanThreads
    value: 4

- name: On-demand scanning only
  mdatp.endpoint.settings:
    name: antivirusEngine.enforcementLevel
    value: on_demand

- name: Watch NFS too
  mdatp.endpoint.settings:
    name: antivirusEngine.unmonitoredFilesystems
    value: [fuse]

- name: Device tag
  mdatp.endpoint.settings:
    name: edr.tags
    value:
      - key: GROUP
        value: web-servers

- name: Back to the managed or default proxy
  mdatp.endpoint.settings:
    name: cloudService.proxy
    state: absent
"""

RETURN = r"""
name:
  description: The setting.
  returned: always
  type: str
  sample: antivirusEngine.maximumOnDemandScanThreads
type:
  description: Its D-Bus type.
  returned: always
  type: str
  sample: i
value:
  description: The effective value afterwards (in check mode, the value it would have).
  returned: always
  type: raw
  sample: 4
previous:
  description: The effective value before.
  returned: always
  type: raw
  sample: 2
managed:
  description: Whether the managed policy sets this setting.
  returned: always
  type: bool
source:
  description: Where the effective value comes from afterwards, C(default), C(local), C(managed) or C(merged).
  returned: always
  type: str
  sample: local
error:
  description: The kind of D-Bus error on failure (C(ManagedByPolicy), C(InvalidArgument), C(AccessDenied), ...).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mdatp.endpoint.plugins.module_utils.mdatp_dbus import (
    Client, MdatpError, equal, friendly)

LIST_TYPES = ("as", "a(ss)", "a(ssbas)")


def run(module, client):
    name = module.params["name"]
    state = module.params["state"]
    entry = client.setting(name)
    sig = entry["type"]
    before = entry["value"]
    result = {"changed": False, "name": name, "type": sig, "previous": friendly(sig, before),
              "value": friendly(sig, before), "managed": entry["managed"],
              "source": entry["source"]}

    if state == "present":
        desired = client.coerce(name, module.params["value"])
        if equal(sig, before, desired, name):
            return result
        result["changed"] = True
        if module.check_mode:
            if entry["managed"] and entry["source"] == "managed" and sig not in LIST_TYPES:
                raise MdatpError(
                    "The setting '%s' is managed by policy ('%s') and cannot be changed "
                    "locally; change it in that file (check mode)"
                    % (name, client.health_property("ManagedPolicyPath")),
                    "com.microsoft.Mdatp1.Error.ManagedByPolicy")
            if entry["managed"]:
                module.warn("the managed policy also sets '%s'; its items stay in effect" % name)
            after = desired
            result["source"] = "merged" if entry["managed"] else "local"
        else:
            client.set(name, desired)
            after_entry = client.setting(name)
            after = after_entry["value"]
            result["source"] = after_entry["source"]
            if not equal(sig, after, desired, name):
                module.warn("'%s' was set to %r but its effective value is %r%s"
                            % (name, friendly(sig, desired), friendly(sig, after),
                               " (the managed policy merges its own items)"
                               if after_entry["managed"] else ""))
        result["value"] = friendly(sig, after)
    else:
        if entry["source"] not in ("local", "merged"):
            return result
        result["changed"] = True
        if module.check_mode:
            result["source"] = "managed" if entry["managed"] else "default"
            result["value"] = None
        else:
            client.reset(name)
            after_entry = client.setting(name)
            result["value"] = friendly(sig, after_entry["value"])
            result["source"] = after_entry["source"]

    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {
            "before": {name: result["previous"], "source": entry["source"]},
            "after": {name: result["value"] if result["value"] is not None
                      else "(the managed or default value)", "source": result["source"]},
        }
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            value=dict(type="raw"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["value"])],
        supports_check_mode=True,
    )
    client = None
    try:
        client = Client()
        result = run(module, client)
    except MdatpError as exc:
        module.fail_json(msg=str(exc), error=exc.kind, dbus_error=exc.name,
                         name=module.params["name"])
    finally:
        if client is not None:
            client.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
