# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""Salt execution module for mdatp: settings, exclusions, threat policy, scans and health,
over D-Bus (com.microsoft.Mdatp1 on the system bus) with python3-dbus.

The D-Bus client is salt/_utils/mdatp_dbus.py (sync it with saltutil.sync_all), reached through
__utils__; it is a byte-identical copy of the Ansible collection's module_utils/mdatp_dbus.py.

    salt '*' mdatp.health
    salt '*' mdatp.get antivirusEngine.maximumOnDemandScanThreads
    salt '*' mdatp.set antivirusEngine.maximumOnDemandScanThreads 4
    salt '*' mdatp.reset cloudService.proxy
    salt '*' mdatp.exclusion_add folder /var/log/ scope=epp
    salt '*' mdatp.exclusion_remove folder /var/log/
    salt '*' mdatp.exclusion_list
    salt '*' mdatp.threat_policy_set potentially_unwanted_application block
    salt '*' mdatp.scan custom paths='[/srv]'
"""

from __future__ import absolute_import, print_function, unicode_literals

try:
    from salt.exceptions import CommandExecutionError
except ImportError:  # loaded without Salt (tests/integration/cm/test_salt.py)
    class CommandExecutionError(Exception):
        """Stands in for salt.exceptions.CommandExecutionError."""

__virtualname__ = "mdatp"


__func_alias__ = {"set_": "set"}


def __virtual__():
    try:
        import dbus  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return (False, "mdatp: python3-dbus is not importable by the minion's Python")
    if "mdatp_dbus.client" not in __utils__:  # noqa: F821
        return (False, "mdatp: salt/_utils/mdatp_dbus.py is not synced (saltutil.sync_utils)")
    return __virtualname__


def _client(mainloop=False):
    return _run(__utils__["mdatp_dbus.client"], mainloop=mainloop)  # noqa: F821


def _run(func, *args, **kwargs):
    """Calls func, turning the daemon's errors into CommandExecutionError with its message."""
    try:
        return func(*args, **kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        if getattr(exc, "mdatp_error", False):
            raise CommandExecutionError("%s [%s]" % (exc, exc.kind))
        raise


def _friendly(sig, value):
    return __utils__["mdatp_dbus.friendly"](sig, value)  # noqa: F821


def _with_client(func, mainloop=False):
    client = _client(mainloop)
    try:
        return _run(func, client)
    finally:
        client.close()


def health():
    """Every Health property, by its D-Bus name.

    CLI Example: salt '*' mdatp.health
    """
    return _with_client(lambda c: c.health())


def settings():
    """Every setting: value (mdatp_managed.json shape), D-Bus type, managed flag and source.

    CLI Example: salt '*' mdatp.settings
    """
    def body(c):
        return dict((name, {"value": _friendly(e["type"], e["value"]), "type": e["type"],
                            "managed": e["managed"], "source": e["source"]})
                    for name, e in c.list_settings().items())
    return _with_client(body)


def get(name):
    """One setting: value, type, managed, source.

    CLI Example: salt '*' mdatp.get antivirusEngine.enforcementLevel
    """
    def body(c):
        e = c.setting(name)
        return {"name": name, "value": _friendly(e["type"], e["value"]), "type": e["type"],
                "managed": e["managed"], "source": e["source"]}
    return _with_client(body)


def set_(name, value, test=False):
    """Sets a setting's local value, converted to its D-Bus type. Nothing is sent when the
    effective value is already that (compared typed; lists regardless of order). With test=True,
    only reports. Returns {"name", "changed", "old", "new", "managed", "source"}.

    CLI Example: salt '*' mdatp.set antivirusEngine.maximumOnDemandScanThreads 4
    """
    def body(c):
        e = c.setting(name)
        sig = e["type"]
        desired = c.coerce(name, value)
        ret = {"name": name, "changed": False, "old": _friendly(sig, e["value"]),
               "new": _friendly(sig, e["value"]), "managed": e["managed"], "source": e["source"]}
        if __utils__["mdatp_dbus.equal"](sig, e["value"], desired, name):  # noqa: F821
            return ret
        ret["changed"] = True
        ret["new"] = _friendly(sig, desired)
        if test:
            return ret
        c.set(name, desired)
        after = c.setting(name)
        ret["new"] = _friendly(sig, after["value"])
        ret["source"] = after["source"]
        return ret
    return _with_client(body)


def reset(name, test=False):
    """Removes a setting's local value, so the managed or default one applies. Returns
    {"name", "changed", "old", "new", "source"}; changed only when there was a local value.

    CLI Example: salt '*' mdatp.reset cloudService.proxy
    """
    def body(c):
        e = c.setting(name)
        ret = {"name": name, "changed": e["source"] in ("local", "merged"),
               "old": _friendly(e["type"], e["value"]), "new": _friendly(e["type"], e["value"]),
               "source": e["source"]}
        if ret["changed"] and not test:
            c.reset(name)
            after = c.setting(name)
            ret["new"] = _friendly(e["type"], after["value"])
            ret["source"] = after["source"]
        elif ret["changed"]:
            ret["new"] = None
        return ret
    return _with_client(body)


def exclusion_list():
    """Exclusions in effect: kind, value, scope, managed.

    CLI Example: salt '*' mdatp.exclusion_list
    """
    return _with_client(lambda c: c.exclusions())


def exclusion_add(kind, value, scope="epp", test=False):
    """Adds a local exclusion (kind: extension, file, folder, process; scope: epp, global)
    unless it is in effect already. Returns {"changed", "exclusion"}.

    CLI Example: salt '*' mdatp.exclusion_add folder /var/log/ scope=epp
    """
    def body(c):
        current = c.find_exclusion(kind, value, scope)
        if current is not None:
            return {"changed": False, "exclusion": current}
        if not test:
            c.exclusion_add(kind, value, scope)
        return {"changed": True, "exclusion": c.find_exclusion(kind, value, scope) or
                {"kind": kind, "value": value, "scope": scope, "managed": False}}
    return _with_client(body)


def exclusion_remove(kind, value, scope="epp", test=False):
    """Removes a local exclusion if it is in effect. Managed ones are refused by the daemon.
    Returns {"changed", "exclusion"}.

    CLI Example: salt '*' mdatp.exclusion_remove folder /var/log/
    """
    def body(c):
        current = c.find_exclusion(kind, value, scope)
        if current is None:
            return {"changed": False, "exclusion": None}
        if test and current["managed"]:
            raise __utils__["mdatp_dbus.error"](  # noqa: F821
                "The exclusion '%s' comes from the managed policy; only that file can remove "
                "it" % value, "com.microsoft.Mdatp1.Error.ManagedByPolicy")
        if not test:
            c.exclusion_remove(kind, value, scope)  # the daemon refuses managed ones
        return {"changed": True, "exclusion": current}
    return _with_client(body)


def threat_policy():
    """Action per threat type in effect.

    CLI Example: salt '*' mdatp.threat_policy
    """
    return _with_client(lambda c: c.threat_policy())


def threat_policy_set(threat_type, action, test=False):
    """Sets one threat type's action (block, audit, off), keeping the others.
    Returns {"changed", "old", "new"}.

    CLI Example: salt '*' mdatp.threat_policy_set archive_bomb block
    """
    def body(c):
        before = c.threat_policy()
        if before.get(threat_type) == action:
            return {"changed": False, "old": before, "new": before}
        if test:
            after = dict(before)
            after[threat_type] = action
        else:
            after = c.set_threat_policy(threat_type, action)
        return {"changed": True, "old": before, "new": after}
    return _with_client(body)


def policy_applied(policy=None):
    """Whether the daemon shows every setting of a managed policy (default: the pillar's
    mdatp:managed_policy) as managed. Returns {"applied", "pending", "health_issues"}.

    CLI Example: salt '*' mdatp.policy_applied
    """
    if policy is None:
        policy = (__pillar__.get("mdatp") or {}).get("managed_policy") or {}  # noqa: F821

    def body(c):
        entries = c.list_settings()
        names = __utils__["mdatp_dbus.flatten_policy"](policy, set(entries))  # noqa: F821
        pending = sorted(n for n in names if not entries[n]["managed"])
        return {"applied": not pending, "pending": pending,
                "health_issues": c.health_property("HealthIssues")}
    return _with_client(body)


def scan(kind="quick", paths=None, ignore_exclusions=False, timeout=3600):
    """Runs an on-demand scan (quick, full or custom with paths) and waits for it. Returns the
    scan's properties with the threats it found; raises when the scan fails.

    CLI Example: salt '*' mdatp.scan custom paths='[/srv/uploads]'
    """
    if isinstance(paths, str):
        paths = [paths]
    props = _with_client(lambda c: c.run_scan(kind, paths or [], ignore_exclusions, timeout),
                         mainloop=True)
    if props.get("State") != "succeeded":
        raise CommandExecutionError("The %s scan %s: %s" % (
            kind, props.get("State"), props.get("Error") or "no reason given"))
    return props
