#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""Ansible module mdatp.endpoint.exclusion."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
---
module: exclusion
short_description: Add or remove an mdatp exclusion over D-Bus
version_added: "1.0.0"
description:
  - Adds or removes a local exclusion through C(com.microsoft.Mdatp1.Exclusions) on the system
    bus, as C(mdatp exclusion ... add/remove) does.
  - The exclusions in effect (managed and local) are read first; an exclusion that is already in
    effect, from the managed policy or locally, is left alone.
  - Exclusions from the managed policy cannot be removed locally, and local exclusions cannot be
    added when the merge policy is C(admin_only); the module then fails with the daemon's message.
author:
  - mdatp project
requirements:
  - python3-dbus on the managed host (run modules with C(/usr/bin/python3)).
  - mdatpd running on the system bus.
options:
  kind:
    description:
      - C(extension) (for example C(.log)), C(file) (a path), C(folder) (a path; a trailing
        C(/) is kept as given) or C(process) (a name or full path).
    type: str
    required: true
    choices: [extension, file, folder, process]
  value:
    description:
      - The extension, path or process. Matched exactly as the daemon lists it.
    type: str
    required: true
    aliases: [path]
  scope:
    description:
      - C(epp) (antivirus scans and real-time protection) or C(global) (muted before any
        processing; no wildcards, no extensions, and a file must exist).
    type: str
    choices: [epp, global]
    default: epp
  state:
    description:
      - Whether the exclusion should be in effect.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode.
seealso:
  - module: mdatp.endpoint.health_info
"""

EXAMPLES = r"""
- name: Do not scan the database files
  mdatp.endpoint.exclusion:
    kind: folder
    value: /var/lib/postgresql/
    scope: epp

- name: Mute rsync everywhere
  mdatp.endpoint.exclusion:
    kind: process
    value: /usr/bin/rsync
    scope: global

- name: Scan .log files again
  mdatp.endpoint.exclusion:
    kind: extension
    value: .log
    state: absent
"""

RETURN = r"""
exclusion:
  description: The exclusion, and whether it comes from the managed policy (absent afterwards when removed).
  returned: always
  type: dict
  sample: {"kind": "folder", "value": "/var/lib/postgresql/", "scope": "epp", "managed": false}
exclusions:
  description: Every exclusion in effect afterwards (in check mode, before).
  returned: always
  type: list
  elements: dict
error:
  description: The kind of D-Bus error on failure (C(ManagedByPolicy), C(InvalidArgument), C(NotFound), C(AccessDenied), ...).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mdatp.endpoint.plugins.module_utils.mdatp_dbus import (
    Client, MdatpError)


def run(module, client):
    kind, value, scope = (module.params["kind"], module.params["value"], module.params["scope"])
    state = module.params["state"]
    current = client.find_exclusion(kind, value, scope)
    wanted = {"kind": kind, "value": value, "scope": scope}
    result = {"changed": False, "exclusion": current or dict(wanted, managed=False)}

    if state == "present" and current is None:
        result["changed"] = True
        if not module.check_mode:
            client.exclusion_add(kind, value, scope)
            result["exclusion"] = client.find_exclusion(kind, value, scope) or \
                dict(wanted, managed=False)
    elif state == "absent" and current is not None:
        if current["managed"] and module.check_mode:
            raise MdatpError(
                "The exclusion '%s' comes from the managed policy ('%s'); only that file "
                "can remove it (check mode)"
                % (value, client.health_property("ManagedPolicyPath")),
                "com.microsoft.Mdatp1.Error.ManagedByPolicy")
        result["changed"] = True
        if not module.check_mode:
            client.exclusion_remove(kind, value, scope)  # the daemon refuses managed ones
    result["exclusions"] = client.exclusions()

    if module._diff:  # pylint: disable=protected-access
        text = "%s %s (scope %s)\n" % (kind, value, scope)
        result["diff"] = {
            "before": text if current is not None else "",
            "after": text if state == "present" else "",
            "before_header": "exclusions", "after_header": "exclusions",
        }
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kind=dict(type="str", required=True,
                      choices=["extension", "file", "folder", "process"]),
            value=dict(type="str", required=True, aliases=["path"]),
            scope=dict(type="str", choices=["epp", "global"], default="epp"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
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
