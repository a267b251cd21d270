#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""Ansible module mdatp.endpoint.scan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
---
module: scan
short_description: Run an mdatp on-demand scan over D-Bus and wait for it
version_added: "1.0.0"
description:
  - Starts a quick, full or custom scan with C(com.microsoft.Mdatp1.ScanManager.Start), waits
    for the scan object's C(Finished) signal and reports the files scanned and threats found.
  - Fails when the scan fails or is cancelled (with the scan's C(Error) text), when the daemon
    refuses to start it (for example C(Busy) while another scan runs), or after I(timeout).
  - A scan that ran reports C(changed), since it adds to the scan history and may quarantine
    files. In check mode nothing is started.
author:
  - mdatp project
requirements:
  - python3-dbus on the managed host (run modules with C(/usr/bin/python3)); python3-gi to
    wait on the signal (without it the module polls the scan's State).
  - mdatpd running on the system bus.
options:
  kind:
    description:
      - The kind of scan.
    type: str
    choices: [quick, full, custom]
    default: quick
  paths:
    description:
      - Absolute files or directories; required for, and only for, I(kind=custom).
    type: list
    elements: path
    aliases: [path]
  ignore_exclusions:
    description:
      - Scan excluded files too (as C(mdatp scan custom --ignore-exclusions)).
    type: bool
    default: false
  fail_on_threats:
    description:
      - Fail when the scan finds threats (for example to gate a deployment).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the scan; it is cancelled after that and the module fails.
    type: int
    default: 3600
notes:
  - Supports check mode.
seealso:
  - module: mdatp.endpoint.health_info
"""

EXAMPLES = r"""
- name: Quick scan
  mdatp.endpoint.scan:
    kind: quick

- name: Scan the upload area and fail if anything is found
  mdatp.endpoint.scan:
    kind: custom
    paths: [/srv/uploads]
    fail_on_threats: true
"""

RETURN = r"""
scan:
  description: The scan object's properties (Id, Kind, Paths, State, FilesScanned, BytesScanned, ThreatsFound, FilesCached, FilesFailed, StartTime, EndTime, Error) and its D-Bus path.
  returned: when a scan ran
  type: dict
state:
  description: succeeded, failed or cancelled.
  returned: when a scan ran
  type: str
  sample: succeeded
files_scanned:
  description: Files scanned.
  returned: when a scan ran
  type: int
threats_found:
  description: Threats found.
  returned: when a scan ran
  type: int
threats:
  description: Threat records detected during the scan (id, name, type, path, sha256, detection_time, source, status).
  returned: when a scan ran
  type: list
  elements: dict
error:
  description: The kind of D-Bus error on failure (C(Busy), C(InvalidArgument), C(AccessDenied), C(Timeout), ...).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mdatp.endpoint.plugins.module_utils.mdatp_dbus import (
    Client, MdatpError)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kind=dict(type="str", choices=["quick", "full", "custom"], default="quick"),
            paths=dict(type="list", elements="path", aliases=["path"]),
            ignore_exclusions=dict(type="bool", default=False),
            fail_on_threats=dict(type="bool", default=False),
            timeout=dict(type="int", default=3600),
        ),
        required_if=[("kind", "custom", ["paths"])],
        supports_check_mode=True,
    )
    kind, paths = module.params["kind"], module.params["paths"] or []
    if kind != "custom" and paths:
        module.fail_json(msg="paths are only for kind=custom")
    if module.check_mode:
        module.exit_json(changed=True, msg="check mode: a %s scan would run" % kind)

    client = None
    try:
        client = Client(mainloop=True)
        props = client.run_scan(kind, paths, module.params["ignore_exclusions"],
                                module.params["timeout"])
    except MdatpError as exc:
        module.fail_json(msg=str(exc), error=exc.kind, dbus_error=exc.name)
    finally:
        if client is not None:
            client.close()

    threats = props.pop("threats")
    result = dict(changed=True, scan=props, state=props.get("State"),
                  files_scanned=props.get("FilesScanned", 0),
                  threats_found=props.get("ThreatsFound", 0), threats=threats)
    if result["state"] != "succeeded":
        module.fail_json(msg="The %s scan %s: %s" % (kind, result["state"],
                                                     props.get("Error") or "no reason given"),
                         error="ScanFailed", **result)
    if module.params["fail_on_threats"] and result["threats_found"]:
        module.fail_json(msg="The %s scan found %d threat(s): %s" % (
            kind, result["threats_found"],
            ", ".join("%s (%s)" % (t["path"], t["name"]) for t in threats) or "see threats"),
            error="ThreatsFound", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
