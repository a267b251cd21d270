#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon's polkit checks against the real polkitd in scripts/sandbox.sh.

- interactive authorization: for an action a rule answers with auth_admin, a call that does not
  allow interaction is refused with InteractiveAuthorizationRequired; one that does (busctl's
  flag, or mdatp at a terminal) is not told that;
- many concurrent calls from several unprivileged callers, some granted and some not, are all
  answered, each with its own caller's verdict.
Prints "ok - ..." per check and "N passed, N failed" at the end.
"""

import json
import os
import subprocess
import sys
import time

import dbus

from tap import finish, ok

NAME = "com.microsoft.Mdatp1"
ROOT = "/com/microsoft/Mdatp1"
SETTINGS = NAME + ".Settings"
IRQ = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
DENIED = "org.freedesktop.DBus.Error.AccessDenied"
SECRET_URL = "https://updater:s3cr3tPW@127.0.0.1:9/mdatp/?sig=T0KEN"
MDATP = os.path.join(os.environ["MDATP_BUILD_DIR"], "cli", "mdatp")
RULE = os.path.join(os.environ["MDATP_SANDBOX_DIR"], "rules.d", "50-polkit-test.rules")



def as_user(user, cmd, timeout=60):
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin"}
    group = "nogroup" if user == "nobody" else user
    return subprocess.run(["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups",
                           "--inh-caps=-all", *cmd],
                          capture_output=True, text=True, env=env, timeout=timeout)


SETTER = r"""
import dbus, json, sys
s = dbus.Interface(dbus.SystemBus().get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1"),
                   "com.microsoft.Mdatp1.Settings")
try:
    s.Set("edr.tags", dbus.Array([dbus.Struct(("GROUP", sys.argv[1]))], signature="(ss)",
                                 variant_level=1))
    print(json.dumps(["ok", ""]))
except dbus.DBusException as e:
    print(json.dumps([e.get_dbus_name(), e.get_dbus_message()]))
"""


def set_as_nobody(value):
    p = as_user("nobody", ["/usr/bin/python3", "-c", SETTER, value])
    if p.returncode != 0:
        return ["crashed", p.stderr]
    return json.loads(p.stdout)


def write_rule(text):
    with open(RULE, "w") as f:
        f.write(text)
    os.chmod(RULE, 0o644)


def test_interactive():
    # nobody may change settings after authenticating as an administrator.
    write_rule('polkit.addRule(function(a, s) {\n'
               '  if (a.id == "com.microsoft.mdatp1.manage-settings" && s.user == "nobody")\n'
               '    return polkit.Result.AUTH_ADMIN;\n'
               '});\n')
    res = None
    for _ in range(100):            # polkitd reloads its rules on its own schedule
        res = set_as_nobody("irq")
        if res[0] == IRQ:
            break
        time.sleep(0.1)
    ok(res[0] == IRQ, "auth_admin without the interactive flag: InteractiveAuthorizationRequired", res)
    ok("requires administrator privileges" in res[1] and "authentication" in res[1]
       and "manage-settings" in res[1], "the message says authentication was needed and for what", res)

    # The same call allowing interaction: polkitd is asked with AllowUserInteraction; with no
    # agent to answer it refuses, but it does not say that interaction is required.
    p = as_user("nobody", ["busctl", "--system", "--allow-interactive-authorization=yes",
                           "call", NAME, ROOT, SETTINGS, "Set", "sv", "edr.tags",
                           "a(ss)", "1", "GROUP", "interactive"])
    # (busctl prints any AccessDenied as "Access denied", whatever the message.)
    ok(p.returncode != 0 and "Access denied" in p.stderr and "not allow" not in p.stderr,
       "auth_admin with the interactive flag and no agent: refused, not asked to allow interaction",
       p.stderr)
    p = as_user("nobody", ["busctl", "--system", "--allow-interactive-authorization=no",
                           "call", NAME, ROOT, SETTINGS, "Set", "sv", "edr.tags",
                           "a(ss)", "1", "GROUP", "interactive"])
    ok(p.returncode != 0 and "not allow" in p.stderr,
       "busctl without the flag: told interaction was needed", p.stderr)

    # mdatp sets the flag only at a terminal.
    p = as_user("nobody", [MDATP, "config", "cloud", "--value", "enabled"], timeout=60)
    ok(p.returncode == 1 and "not allow" in p.stderr, "mdatp without a terminal: told authentication "
       "was needed", p.stderr)
    p = as_user("nobody", ["script", "-qec", f"{MDATP} config cloud --value enabled", "/dev/null"],
                timeout=60)
    out = p.stdout + p.stderr
    ok(p.returncode != 0 and "requires administrator privileges" in out and "not allow" not in out,
       "mdatp at a terminal: allows interaction (refused without an agent, not told to allow it)", out)

    # A rule that says yes: granted, with or without the flag.
    write_rule('polkit.addRule(function(a, s) {\n'
               '  if (a.id == "com.microsoft.mdatp1.manage-settings" && s.user == "nobody")\n'
               '    return polkit.Result.YES;\n'
               '});\n')
    for _ in range(100):
        res = set_as_nobody("granted")
        if res[0] == "ok":
            break
        time.sleep(0.1)
    ok(res[0] == "ok", "a rule saying yes grants the call without interaction", res)
    os.unlink(RULE)


# Each caller sends N Settings.Get at once, then waits for every reply.
READER = r"""
import dbus, dbus.mainloop.glib, json, sys
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
n = int(sys.argv[1])
s = dbus.Interface(dbus.SystemBus().get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1"),
                   "com.microsoft.Mdatp1.Settings")
loop = GLib.MainLoop()
out = {"full": 0, "redacted": 0, "other": [], "errors": []}
def done():
    if out["full"] + out["redacted"] + len(out["other"]) + len(out["errors"]) == n:
        loop.quit()
def reply(v):
    v = str(v)
    if "s3cr3tPW" in v:
        out["full"] += 1
    elif "***" in v:
        out["redacted"] += 1
    else:
        out["other"].append(v)
    done()
def error(e):
    out["errors"].append(e.get_dbus_name())
    done()
for _ in range(n):
    s.Get("cloudService.definitionUpdateUrl", reply_handler=reply, error_handler=error, timeout=60)
GLib.timeout_add(60000, loop.quit)
loop.run()
print(json.dumps(out))
"""


def test_concurrent():
    settings = dbus.Interface(dbus.SystemBus().get_object(NAME, ROOT), SETTINGS)
    settings.Set("cloudService.definitionUpdateUrl", dbus.String(SECRET_URL, variant_level=1))
    granted_users = ("daemon", "bin")
    write_rule('polkit.addRule(function(a, s) {\n'
               '  if (a.id == "com.microsoft.mdatp1.read-details" &&\n'
               '      (s.user == "daemon" || s.user == "bin"))\n'
               '    return polkit.Result.YES;\n'
               '});\n')
    # Wait until polkitd has the rule.
    for _ in range(100):
        p = as_user("daemon", ["/usr/bin/python3", "-c", READER, "1"])
        if p.returncode == 0 and json.loads(p.stdout)["full"] == 1:
            break
        time.sleep(0.1)

    # Below dbus-daemon's 128 pending replies per connection; together above what mdatpd has
    # in flight to polkitd at once, so some wait in its queue.
    n = 100
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin"}
    procs = {}
    for user in ("nobody", "daemon", "bin", "sys"):
        group = "nogroup" if user == "nobody" else user
        procs[user] = subprocess.Popen(["setpriv", f"--reuid={user}", f"--regid={group}",
                                        "--clear-groups", "--inh-caps=-all",
                                        "/usr/bin/python3", "-c", READER, str(n)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env=env)
    for user, proc in procs.items():
        o, e = proc.communicate(timeout=120)
        try:
            res = json.loads(o)
        except ValueError:
            ok(False, f"{user}: {n} concurrent reads answered", e)
            continue
        answered = res["full"] + res["redacted"] + len(res["other"]) + len(res["errors"])
        ok(answered == n and not res["errors"] and not res["other"],
           f"{user}: all {n} concurrent reads answered", res)
        if user in granted_users:
            ok(res["full"] == n, f"{user} (granted): every reply in full", res)
        else:
            ok(res["redacted"] == n, f"{user} (not granted): every reply redacted", res)
    os.unlink(RULE)

    # The daemon still answers, and a verdict does not outlive its rule.
    for _ in range(100):
        p = as_user("daemon", ["/usr/bin/python3", "-c", READER, "1"])
        if p.returncode == 0 and json.loads(p.stdout)["redacted"] == 1:
            break
        time.sleep(0.1)
    ok(p.returncode == 0 and json.loads(p.stdout)["redacted"] == 1,
       "after the rule is gone the same caller reads redacted", p.stdout + p.stderr)
    settings.Reset("cloudService.definitionUpdateUrl")


if os.geteuid() != 0:
    print("not ok - must run as root")
    sys.exit(1)
test_interactive()
test_concurrent()
finish()
