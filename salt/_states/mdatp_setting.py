# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""Salt states for mdatp settings, over D-Bus through the mdatp execution module.

    antivirusEngine.maximumOnDemandScanThreads:
      mdatp_setting.present:
        - value: 4

    cloudService.proxy:
      mdatp_setting.absent

    mdatp-policy-applied:
      mdatp_setting.policy_applied:
        - timeout: 30
"""

from __future__ import absolute_import, print_function, unicode_literals

import time

try:
    from salt.exceptions import CommandExecutionError
except ImportError:  # loaded without Salt (tests/integration/cm/test_salt.py)
    CommandExecutionError = Exception


def __virtual__():
    if "mdatp.set" in __salt__:  # noqa: F821
        return "mdatp_setting"
    return (False, "mdatp_setting: the mdatp execution module is not available")


def _ret(name):
    return {"name": name, "changes": {}, "result": True, "comment": ""}


def present(name, value):
    """The setting NAME (dotted, as in mdatp_managed.json) has the effective value VALUE."""
    ret = _ret(name)
    test = bool(__opts__.get("test"))  # noqa: F821
    try:
        res = __salt__["mdatp.set"](name, value, test=test)  # noqa: F821
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
        return ret
    if not res["changed"]:
        ret["comment"] = "%s is already %r" % (name, res["old"])
        return ret
    ret["changes"] = {"old": res["old"], "new": res["new"]}
    if test:
        ret["result"] = None
        ret["comment"] = "%s would be set to %r" % (name, res["new"])
    else:
        ret["comment"] = "%s set to %r" % (name, res["new"])
    return ret


def absent(name):
    """The setting NAME has no local value (the managed or default value applies)."""
    ret = _ret(name)
    test = bool(__opts__.get("test"))  # noqa: F821
    try:
        res = __salt__["mdatp.reset"](name, test=test)  # noqa: F821
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
        return ret
    if not res["changed"]:
        ret["comment"] = "%s has no local value" % name
        return ret
    ret["changes"] = {"old": res["old"], "new": res["new"]}
    if test:
        ret["result"] = None
        ret["comment"] = "%s would be reset" % name
    else:
        ret["comment"] = "%s reset to %r (%s)" % (name, res["new"], res["source"])
    return ret


def policy_applied(name, timeout=30):
    """Waits until the daemon shows every setting of the pillar's mdatp:managed_policy as
    managed (it applies the file on its own shortly after it changes). Changes nothing."""
    ret = _ret(name)
    deadline = time.time() + float(timeout)
    res = None
    while True:
        try:
            res = __salt__["mdatp.policy_applied"]()  # noqa: F821
        except CommandExecutionError as exc:
            res = {"applied": False, "pending": [], "health_issues": [str(exc)]}
        if res["applied"] or time.time() >= deadline or __opts__.get("test"):  # noqa: F821
            break
        time.sleep(0.5)
    if res["applied"]:
        ret["comment"] = "the managed policy is in effect"
    elif __opts__.get("test"):  # noqa: F821
        ret["result"] = None
        ret["comment"] = "the managed policy is not in effect yet: %s" % ", ".join(res["pending"])
    else:
        ret["result"] = False
        ret["comment"] = "the managed policy is not in effect after %ss: pending %s; health " \
                         "issues: %s" % (timeout, ", ".join(res["pending"]),
                                         "; ".join(res["health_issues"]) or "none")
    return ret
