# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""Salt states for mdatp exclusions, over D-Bus through the mdatp execution module.

    /var/log/:
      mdatp_exclusion.present:
        - kind: folder
        - scope: epp

    mute-rsync:
      mdatp_exclusion.present:
        - kind: process
        - value: /usr/bin/rsync
        - scope: global

    .bak:
      mdatp_exclusion.absent:
        - kind: extension
"""

from __future__ import absolute_import, print_function, unicode_literals

try:
    from salt.exceptions import CommandExecutionError
except ImportError:  # loaded without Salt (tests/integration/cm/test_salt.py)
    CommandExecutionError = Exception


def __virtual__():
    if "mdatp.exclusion_add" in __salt__:  # noqa: F821
        return "mdatp_exclusion"
    return (False, "mdatp_exclusion: the mdatp execution module is not available")


def _apply(name, kind, value, scope, add):
    value = value if value is not None else name
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    test = bool(__opts__.get("test"))  # noqa: F821
    func = "mdatp.exclusion_add" if add else "mdatp.exclusion_remove"
    label = "%s exclusion %s (scope %s)" % (kind, value, scope)
    try:
        res = __salt__[func](kind, value, scope=scope, test=test)  # noqa: F821
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
        return ret
    if not res["changed"]:
        ret["comment"] = "%s is %s" % (label, "in effect" if add else "not in effect")
        return ret
    ret["changes"] = {"old": None if add else label, "new": label if add else None}
    verb = "added" if add else "removed"
    if test:
        ret["result"] = None
        ret["comment"] = "%s would be %s" % (label, verb)
    else:
        ret["comment"] = "%s %s" % (label, verb)
    return ret


def present(name, kind, value=None, scope="epp"):
    """The exclusion (kind extension|file|folder|process; value, default NAME; scope
    epp|global) is in effect, locally or from the managed policy."""
    return _apply(name, kind, value, scope, True)


def absent(name, kind, value=None, scope="epp"):
    """The local exclusion is not in effect (managed ones can only go from the policy file)."""
    return _apply(name, kind, value, scope, False)
