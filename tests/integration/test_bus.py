#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""D-Bus contract tests against the real daemon, bus and polkitd in scripts/sandbox.sh.

- the introspection XML in dbus/ matches what the running daemon publishes;
- every setting can be set, read back and reset, and bad values are refused with clear errors;
- every state-changing method, found by introspection so that none can slip through, is refused
  for nobody and allowed for root; a polkit rule can grant it; without polkitd the answer is no;
- Set emits Settings.Changed and PropertiesChanged for exactly the affected properties;
- nobody reads no path, hash, process list or credential (methods, properties, the
  ThreatDetected signal), root does, a read-details grant does; health stays readable.
Prints "ok - ..." per check and "N passed, N failed" at the end.
"""
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

from tap import finish, ok

NAME = "com.microsoft.Mdatp1"
ROOT = "/com/microsoft/Mdatp1"
SRC = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
STANDARD_IFACES = {
    "org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Introspectable",
    "org.freedesktop.DBus.Properties", "org.freedesktop.DBus.ObjectManager",
}
# Methods that only read and show nothing private; everything else must be polkit-gated (the
# threat lists and per-process statistics too: they need read-details).
READ_ONLY = {
    "com.microsoft.Mdatp1.Settings.Get", "com.microsoft.Mdatp1.Settings.List",
    "com.microsoft.Mdatp1.ScanManager.List", "com.microsoft.Mdatp1.Exclusions.List",
    "com.microsoft.Mdatp1.Threats.ListAllowed",
    "com.microsoft.Mdatp1.Threats.ListTypePolicies",
    "com.microsoft.Mdatp1.RealTimeProtection.GetCounters",
}
SCAN_DIR = os.path.join(os.environ.get("MDATP_SANDBOX_DIR", "/tmp"), "bus-test-scan")
# Valid arguments for every state-changing method, so that the call reaches the polkit check
# (bad arguments are refused earlier). A method missing here fails the test.
SAMPLE_ARGS = {
    "com.microsoft.Mdatp1.Settings.Set":
        ("antivirusEngine.scanArchives", dbus.Boolean(False, variant_level=1)),
    "com.microsoft.Mdatp1.Settings.Reset": ("antivirusEngine.scanArchives",),
    "com.microsoft.Mdatp1.Diagnostics.SetLogLevel": ("info", False),
    "com.microsoft.Mdatp1.Diagnostics.CreateBundle": (),
    "com.microsoft.Mdatp1.ScanManager.Start": ("custom", [SCAN_DIR], {}),
    "com.microsoft.Mdatp1.ScanManager.CancelRunning": (),
    "com.microsoft.Mdatp1.Scan.Cancel": (),
    "com.microsoft.Mdatp1.Exclusions.Add": ("extension", ".bak", "epp"),
    "com.microsoft.Mdatp1.Exclusions.Remove": ("extension", ".bak", "epp"),
    "com.microsoft.Mdatp1.Definitions.Update": (),
    "com.microsoft.Mdatp1.Definitions.Restore": (),
    "com.microsoft.Mdatp1.Definitions.TestConnectivity": (),
    "com.microsoft.Mdatp1.Threats.Quarantine": ("00000000-0000-4000-8000-000000000000",),
    "com.microsoft.Mdatp1.Threats.Remove": ("00000000-0000-4000-8000-000000000000",),
    "com.microsoft.Mdatp1.Threats.RemoveAll": (),
    "com.microsoft.Mdatp1.Threats.Restore": ("00000000-0000-4000-8000-000000000000", ""),
    "com.microsoft.Mdatp1.Threats.RestoreByPath": ("/nonexistent/sample", ""),
    "com.microsoft.Mdatp1.Threats.AllowName": ("Test:Sample/Allowed",),
    "com.microsoft.Mdatp1.Threats.DisallowName": ("Test:Sample/Allowed",),
    "com.microsoft.Mdatp1.Threats.SetTypePolicy": ("archive_bomb", "audit"),
    "com.microsoft.Mdatp1.Threats.List": (),
    "com.microsoft.Mdatp1.Threats.Get": ("00000000-0000-4000-8000-000000000000",),
    "com.microsoft.Mdatp1.Threats.ListHistory": (),
    "com.microsoft.Mdatp1.Threats.ListLocations": (),
    "com.microsoft.Mdatp1.Threats.ListQuarantined": (),
    "com.microsoft.Mdatp1.RealTimeProtection.GetStatistics": (),
}
# A valid value, different from the default, for every setting.
S = dbus.String
SAMPLE_VALUES = {
    "antivirusEngine.enforcementLevel": S("passive"),
    "antivirusEngine.behaviorMonitoring": S("enabled"),
    "antivirusEngine.scanAfterDefinitionUpdate": False,
    "antivirusEngine.scanArchives": False,
    "antivirusEngine.maximumOnDemandScanThreads": dbus.Int32(64),
    "antivirusEngine.exclusionsMergePolicy": S("admin_only"),
    "antivirusEngine.exclusions": dbus.Array(
        [dbus.Struct((S("excludedPath"), S("/var/log/"), True, dbus.Array([S("epp")], signature="s"))),
         dbus.Struct((S("excludedFileExtension"), S(".pdf"), False, dbus.Array([S("epp")], signature="s")))],
        signature="(ssbas)"),
    "antivirusEngine.nonExecMountPolicy": S("mute"),
    "antivirusEngine.unmonitoredFilesystems": dbus.Array([S("fuse")], signature="s"),
    "antivirusEngine.enableFileHashComputation": True,
    "antivirusEngine.allowedThreats": dbus.Array([S("EICAR-Test-File (not a virus)")], signature="s"),
    "antivirusEngine.disallowedThreatActions": dbus.Array([S("allow"), S("restore")], signature="s"),
    "antivirusEngine.threatTypeSettings": dbus.Array(
        [dbus.Struct((S("potentially_unwanted_application"), S("block"))),
         dbus.Struct((S("archive_bomb"), S("off")))], signature="(ss)"),
    "antivirusEngine.threatTypeSettingsMergePolicy": S("admin_only"),
    "antivirusEngine.scanResultsRetentionDays": dbus.Int32(180),
    "antivirusEngine.scanHistoryMaximumItems": dbus.Int32(5000),
    "antivirusEngine.threatRestorationExclusionTime": dbus.Int32(30),
    "antivirusEngine.scanFileModifyPermissions": True,
    "antivirusEngine.scanFileModifyOwnership": True,
    "antivirusEngine.scanNetworkSocketEvent": True,
    "antivirusEngine.offlineDefinitionUpdate": S("enabled"),
    "antivirusEngine.offlineDefinitionUpdateUrl": S("https://mirror.example/linux/production/"),
    "antivirusEngine.offlineDefinitionUpdateFallbackToCloud": True,
    "antivirusEngine.realTimeProtectionStatistics": True,
    "exclusionSettings.mergePolicy": S("admin_only"),
    "exclusionSettings.exclusions": dbus.Array(
        [dbus.Struct((S("excludedFileName"), S("/usr/bin/rsync"), False, dbus.Array([S("global")], signature="s")))],
        signature="(ssbas)"),
    "cloudService.enabled": False,
    "cloudService.diagnosticLevel": S("optional"),
    "cloudService.cloudBlockLevel": S("zero_tolerance"),
    "cloudService.automaticSampleSubmissionConsent": S("all"),
    "cloudService.automaticDefinitionUpdateEnabled": False,
    "cloudService.proxy": S("http://proxy.example:8080/"),
    "cloudService.definitionUpdatesInterval": dbus.Int32(3600),
    "cloudService.definitionUpdateUrl": S("https://updates.example/mdatp/"),
    "cloudService.definitionsMaxAgeDays": dbus.Int32(30),
    "features.moduleLoad": S("enabled"),
    "features.enableAntivirusEngineCache": S("enabled"),
    "features.ebpfSupplementaryEventProvider": S("disabled"),
    "features.offlineDefinitionUpdateVerifySig": S("disabled"),
    "features.remediateInfectedFile": S("enabled"),
    "networkProtection.enforcementLevel": S("block"),
    "networkProtection.disableIcmpInspection": False,
    "edr.groupIds": S("group-42"),
    "edr.tags": dbus.Array([dbus.Struct((S("GROUP"), S("database-servers")))], signature="(ss)"),
    "edr.earlyPreview": S("enabled"),
    "logRotation.maxCurrentSizeMb": dbus.Int32(20),
    "logRotation.maxRotatedSizeMb": dbus.Int32(500),
}
for sensor in ("enableFilePermissionEvents", "enableFileOwnershipEvents", "enableRawSocketEvent",
               "enableBootLoaderCalls", "enableProcessCalls", "enablePseudofsCalls",
               "enableEbpfModuleLoadEvents", "enableOtherFsOpenEvents",
               "enableEbpfSourceEnrichment", "sendLowfiEvents"):
    SAMPLE_VALUES["features.supplementarySensorConfigurations." + sensor] = S("enabled")
# Values each type must refuse, with a word the error message must contain.
BAD_VALUES = [
    ("antivirusEngine.maximumOnDemandScanThreads", dbus.Int32(0), "1..64"),
    ("antivirusEngine.maximumOnDemandScanThreads", dbus.Int32(65), "1..64"),
    ("antivirusEngine.enforcementLevel", S("fast"), "real_time"),
    ("antivirusEngine.scanResultsRetentionDays", dbus.Int32(181), "1..180"),
    ("antivirusEngine.disallowedThreatActions", dbus.Array([S("delete")], signature="s"), "restore"),
    ("antivirusEngine.threatTypeSettings", dbus.Array([dbus.Struct((S("virus"), S("off")))], signature="(ss)"), "archive_bomb"),
    ("cloudService.proxy", S("not a url"), "http://"),
    ("edr.tags", dbus.Array([dbus.Struct((S("OWNER"), S("x")))], signature="(ss)"), "GROUP"),
    ("exclusionSettings.exclusions", dbus.Array(
        [dbus.Struct((S("excludedPath"), S("/var/*/log"), False, dbus.Array([S("global")], signature="s")))],
        signature="(ssbas)"), "wildcard"),
    ("antivirusEngine.exclusions", dbus.Array(
        [dbus.Struct((S("excludedPath"), S("relative/path"), False, dbus.Array([S("epp")], signature="s")))],
        signature="(ssbas)"), "absolute"),
]



bus = dbus.SystemBus()
settings = dbus.Interface(bus.get_object(NAME, ROOT), "com.microsoft.Mdatp1.Settings")


def introspect_tree():
    """{(path, interface): Element} for every object the daemon publishes."""
    found = {}
    todo = ["/"]
    while todo:
        path = todo.pop()
        xml = bus.get_object(NAME, path).Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")
        node = ET.fromstring(str(xml))
        for iface in node.findall("interface"):
            if iface.get("name") not in STANDARD_IFACES:
                found[(path, iface.get("name"))] = iface
        for child in node.findall("node"):
            todo.append(path.rstrip("/") + "/" + child.get("name"))
    return found


def members(iface):
    out = set()
    for m in iface.findall("method"):
        out.add(("method", m.get("name"),
                 tuple((a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg"))))
    for p in iface.findall("property"):
        out.add(("property", p.get("name"), p.get("type"), p.get("access")))
    for s in iface.findall("signal"):
        out.add(("signal", s.get("name"), tuple((a.get("name"), a.get("type")) for a in s.findall("arg"))))
    return out


def wait_no_scan():
    mgr = bus.get_object(NAME, ROOT + "/Scans")
    for _ in range(200):
        if str(mgr.Get("com.microsoft.Mdatp1.ScanManager", "Running",
                       dbus_interface="org.freedesktop.DBus.Properties")) == "/":
            return
        time.sleep(0.05)


def run_one_scan():
    """A scan object must exist for introspection to show com.microsoft.Mdatp1.Scan."""
    os.makedirs(SCAN_DIR, exist_ok=True)
    with open(os.path.join(SCAN_DIR, "clean.txt"), "w") as f:
        f.write("clean\n")
    mgr = dbus.Interface(bus.get_object(NAME, ROOT + "/Scans"), "com.microsoft.Mdatp1.ScanManager")
    mgr.Start("custom", [SCAN_DIR], dbus.Dictionary({}, signature="sv"))
    wait_no_scan()


def test_introspection_matches_xml():
    live = introspect_tree()
    xml_ifaces = {}
    for f in sorted(os.listdir(os.path.join(SRC, "dbus"))):
        if f.endswith(".xml"):
            for iface in ET.parse(os.path.join(SRC, "dbus", f)).getroot().findall("interface"):
                xml_ifaces[iface.get("name")] = iface
    live_names = {i for (_, i) in live}
    ok(live_names == set(xml_ifaces), "every published interface has XML in dbus/ and vice versa",
       f"live {sorted(live_names)} xml {sorted(xml_ifaces)}")
    for (path, name), iface in sorted(live.items()):
        if name in xml_ifaces:
            a, b = members(iface), members(xml_ifaces[name])
            ok(a == b, f"{name} on {path} matches dbus/ XML", f"only live: {a - b}; only xml: {b - a}")
    return live


def state_changing_methods(live):
    out = []
    for (path, name), iface in sorted(live.items()):
        for m in iface.findall("method"):
            full = f"{name}.{m.get('name')}"
            if full not in READ_ONLY:
                out.append((path, name, m.get("name"), full))
    return out


NOBODY_CALLER = r'''
import dbus, json, sys
req = json.load(sys.stdin)
bus = dbus.SystemBus()
res = {}
for path, iface, method, args in req:
    try:
        getattr(dbus.Interface(bus.get_object("com.microsoft.Mdatp1", path), iface), method)(*args)
        res[iface + "." + method] = ["ok", ""]
    except dbus.DBusException as e:
        res[iface + "." + method] = [e.get_dbus_name(), e.get_dbus_message()]
json.dump(res, sys.stdout)
'''


def call_as_nobody(calls):
    """Calls each (path, iface, method, json-able args) as nobody; returns {full: [error, msg]}."""
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin"}
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "--inh-caps=-all", "/usr/bin/python3", "-c", NOBODY_CALLER],
                       input=json.dumps(calls), capture_output=True, text=True, env=env, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return json.loads(p.stdout)


def jsonable(args):
    # Only simple sample arguments cross to the child; variants become typed there.
    return [bool(a) if isinstance(a, dbus.Boolean) else a for a in args]


def nobody_calls(methods):
    calls = []
    for path, iface, method, full in methods:
        args = SAMPLE_ARGS[full]
        calls.append([path, iface, method, jsonable(args)])
    return calls


def test_polkit(live):
    methods = state_changing_methods(live)
    ok(len(methods) >= 3, f"found {len(methods)} state-changing methods by introspection")
    missing = [full for (_, _, _, full) in methods if full not in SAMPLE_ARGS]
    ok(not missing, "every state-changing method has sample arguments in this test", missing)
    methods = [m for m in methods if m[3] in SAMPLE_ARGS]

    res = call_as_nobody(nobody_calls(methods))
    for _, _, _, full in methods:
        err, msg = res[full]
        ok(err == "org.freedesktop.DBus.Error.AccessDenied" and "requires administrator privileges" in msg,
           f"nobody is refused {full}", f"{err}: {msg}")

    for path, iface, method, full in methods:
        # Root passes authorisation; the call may still fail for its own reasons (no update
        # source is configured here), just never with AccessDenied.
        try:
            getattr(dbus.Interface(bus.get_object(NAME, path), iface), method)(*SAMPLE_ARGS[full])
            ok(True, f"root may call {full}")
            wait_no_scan()
        except dbus.DBusException as e:
            ok(e.get_dbus_name() != "org.freedesktop.DBus.Error.AccessDenied",
               f"root may call {full}", e)

    # A polkit rule, read by the real polkitd, can grant an action.
    rule = os.path.join(os.environ["MDATP_SANDBOX_DIR"], "rules.d", "50-test.rules")
    with open(rule, "w") as f:
        f.write('polkit.addRule(function(a, s) { if (a.id == "com.microsoft.mdatp1.manage-settings"'
                ' && s.user == "nobody") return polkit.Result.YES; });\n')
    os.chmod(rule, 0o644)
    setter = [m for m in methods if m[3] == "com.microsoft.Mdatp1.Settings.Set"]
    granted = False
    for _ in range(60):
        if call_as_nobody(nobody_calls(setter))["com.microsoft.Mdatp1.Settings.Set"][0] == "ok":
            granted = True
            break
        time.sleep(0.1)
    ok(granted, "a polkit rule granting manage-settings lets nobody Set")
    os.unlink(rule)
    denied = False
    for _ in range(60):
        if call_as_nobody(nobody_calls(setter))["com.microsoft.Mdatp1.Settings.Set"][0] != "ok":
            denied = True
            break
        time.sleep(0.1)
    ok(denied, "removing the rule denies again")

    # Without polkitd: no, with a clear reason; root still passes.
    pk = bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
    pid = int(pk.GetConnectionUnixProcessID("org.freedesktop.PolicyKit1", dbus_interface="org.freedesktop.DBus"))
    os.kill(pid, 15)
    for _ in range(100):
        if not pk.NameHasOwner("org.freedesktop.PolicyKit1", dbus_interface="org.freedesktop.DBus"):
            break
        time.sleep(0.05)
    res = call_as_nobody(nobody_calls(setter))["com.microsoft.Mdatp1.Settings.Set"]
    ok(res[0] == "org.freedesktop.DBus.Error.AccessDenied" and "polkit" in res[1] and "unavailable" in res[1],
       "polkit unreachable: nobody refused, saying polkit is unavailable", res)
    try:
        settings.Set(*SAMPLE_ARGS["com.microsoft.Mdatp1.Settings.Set"])
        ok(True, "polkit unreachable: root still allowed")
    except dbus.DBusException as e:
        ok(False, "polkit unreachable: root still allowed", e)


def plain(v):
    """dbus types -> plain Python, for comparisons."""
    if isinstance(v, (dbus.Array, list, dbus.Struct, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Int32, dbus.Int64, dbus.UInt32)):
        return int(v)
    if isinstance(v, dbus.String):
        return str(v)
    return v


def test_every_setting():
    listed = settings.List()
    names = [str(n) for (n, _, _, _) in listed]
    defaults = {str(n): plain(v) for (n, v, _, _) in listed}
    ok(len(names) >= 50, f"List returns {len(names)} settings")
    ok(set(names) == set(SAMPLE_VALUES), "this test has a sample value for every setting",
       f"untested: {sorted(set(names) - set(SAMPLE_VALUES))}; unknown: {sorted(set(SAMPLE_VALUES) - set(names))}")
    for n, _, managed, source in listed:
        if managed or source != "default":
            ok(False, f"{n} starts at its default", source)
    for name in names:
        if name not in SAMPLE_VALUES:
            continue
        value = SAMPLE_VALUES[name]
        try:
            settings.Set(name, value)
            got = plain(settings.Get(name))
            ok(got == plain(value) and got != defaults[name], f"Set/Get {name}", f"got {got!r}")
            src = {str(n): str(s) for (n, _, _, s) in settings.List()}[name]
            ok(src in ("local", "merged"), f"{name} source is local after Set", src)
            settings.Reset(name)
            ok(plain(settings.Get(name)) == defaults[name], f"Reset {name} restores the default")
        except dbus.DBusException as e:
            ok(False, f"Set/Get/Reset {name}", e)

    for name, value, word in BAD_VALUES:
        try:
            settings.Set(name, value)
            ok(False, f"{name} refuses {plain(value)!r}")
        except dbus.DBusException as e:
            ok(e.get_dbus_name() == "com.microsoft.Mdatp1.Error.InvalidArgument" and word in e.get_dbus_message(),
               f"{name} refuses {plain(value)!r} naming '{word}'", f"{e.get_dbus_name()}: {e.get_dbus_message()}")
    for name, value, what in [("antivirusEngine.scanArchives", S("yes"), "wrong variant type"),
                              ("no.such.setting", True, "unknown setting")]:
        try:
            settings.Set(name, value)
            ok(False, f"Set refuses a {what}")
        except dbus.DBusException as e:
            ok(e.get_dbus_name() == "com.microsoft.Mdatp1.Error.InvalidArgument", f"Set refuses a {what}",
               e.get_dbus_message())


def test_change_signals():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    sbus = dbus.SystemBus(private=True)
    loop = GLib.MainLoop()
    got = {"props": None, "changed": None}

    def on_props(iface, changed, invalidated):
        if iface == "com.microsoft.Mdatp1.Health":
            got["props"] = sorted(str(k) for k in changed)
            if got["changed"] is not None:
                loop.quit()

    def on_changed(names):
        got["changed"] = sorted(str(n) for n in names)
        if got["props"] is not None:
            loop.quit()

    sbus.add_signal_receiver(on_props, "PropertiesChanged", "org.freedesktop.DBus.Properties", NAME, ROOT)
    sbus.add_signal_receiver(on_changed, "Changed", "com.microsoft.Mdatp1.Settings", NAME, ROOT)
    obj = dbus.Interface(sbus.get_object(NAME, ROOT), "com.microsoft.Mdatp1.Settings")
    GLib.timeout_add(3000, loop.quit)
    GLib.idle_add(lambda: obj.Set("cloudService.enabled", dbus.Boolean(False, variant_level=1)) and False)
    loop.run()
    ok(got["changed"] == ["cloudService.enabled"], "Settings.Changed names the setting", got["changed"])
    ok(got["props"] is not None and "CloudEnabled" in got["props"] and "EnforcementLevel" not in got["props"],
       "PropertiesChanged carries CloudEnabled and not unrelated properties", got["props"])
    settings.Reset("cloudService.enabled")


PRIVATE_DIR = os.path.join(os.environ.get("MDATP_SANDBOX_DIR", "/tmp"), "private-0700")
SECRET_URL = "https://updater:s3cr3tPW@127.0.0.1:9/mdatp/?sig=T0KEN"
SECRETS = ("s3cr3tPW", "T0KEN")

# nobody's view: every protected read, the properties, and ThreatDetected while root scans.
NOBODY_READER = r"""
import dbus, json, sys
bus = dbus.SystemBus()
N = "com.microsoft.Mdatp1"
out = {}
def call(key, path, iface, method, *args):
    try:
        out[key] = ["ok", json.dumps(getattr(dbus.Interface(bus.get_object(N, path), iface), method)(*args))]
    except dbus.DBusException as e:
        out[key] = [e.get_dbus_name(), e.get_dbus_message()]
T = "/com/microsoft/Mdatp1/Threats"
call("List", T, N + ".Threats", "List")
call("Get", T, N + ".Threats", "Get", sys.argv[1])
call("ListHistory", T, N + ".Threats", "ListHistory")
call("ListQuarantined", T, N + ".Threats", "ListQuarantined")
call("GetStatistics", "/com/microsoft/Mdatp1/RealTimeProtection", N + ".RealTimeProtection", "GetStatistics")
call("Paths", sys.argv[2], "org.freedesktop.DBus.Properties", "Get", N + ".Scan", "Paths")
call("Settings.Get", "/com/microsoft/Mdatp1", N + ".Settings", "Get", "cloudService.definitionUpdateUrl")
call("Settings.List", "/com/microsoft/Mdatp1", N + ".Settings", "List")
call("Health", "/com/microsoft/Mdatp1", "org.freedesktop.DBus.Properties", "GetAll", N + ".Health")
call("Definitions", "/com/microsoft/Mdatp1/Definitions", "org.freedesktop.DBus.Properties", "GetAll", N + ".Definitions")
json.dump(out, sys.stdout)
"""

SIGNAL_LISTENER = r"""
import dbus, dbus.mainloop.glib, json, sys
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
got = []
bus.add_signal_receiver(lambda *a: got.append([str(x) for x in a]), "ThreatDetected",
                        "com.microsoft.Mdatp1.Threats", "com.microsoft.Mdatp1")
loop = GLib.MainLoop()
GLib.timeout_add(int(float(sys.argv[1]) * 1000), loop.quit)
print("ready", flush=True)
loop.run()
print(json.dumps(got), flush=True)
"""


def as_nobody(code, *args, stdin=None, wait=True):
    env = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin"}
    cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
           "/usr/bin/python3", "-c", code, *args]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return json.loads(p.stdout)


def grant_rule(action, user="nobody"):
    rule = os.path.join(os.environ["MDATP_SANDBOX_DIR"], "rules.d", "50-read.rules")
    with open(rule, "w") as f:
        f.write(f'polkit.addRule(function(a, s) {{ if (a.id == "{action}" && s.user == "{user}") '
                'return polkit.Result.YES; });\n')
    os.chmod(rule, 0o644)
    return rule


def test_read_protection():
    """Finding: nobody read paths, hashes, process lists and credentials."""
    os.makedirs(PRIVATE_DIR, mode=0o700, exist_ok=True)
    os.chmod(PRIVATE_DIR, 0o700)
    sample = os.path.join(PRIVATE_DIR, "payroll-eicar.com")
    with open(sample, "w") as f:
        f.write("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*")
    settings.Set("cloudService.definitionUpdateUrl", dbus.String(SECRET_URL, variant_level=1))

    # Listen as nobody and as root while root scans the private directory.
    listener = as_nobody(SIGNAL_LISTENER, "6", wait=False)
    ok(listener.stdout.readline().strip() == "ready", "nobody subscribed to ThreatDetected")
    root_listener = subprocess.Popen(["/usr/bin/python3", "-c", SIGNAL_LISTENER, "6"],
                                     stdout=subprocess.PIPE, text=True)
    ok(root_listener.stdout.readline().strip() == "ready", "root subscribed to ThreatDetected")
    mgr = dbus.Interface(bus.get_object(NAME, ROOT + "/Scans"), "com.microsoft.Mdatp1.ScanManager")
    scan_path = str(mgr.Start("custom", [PRIVATE_DIR], dbus.Dictionary({}, signature="sv")))
    wait_no_scan()
    nobody_got = json.loads(listener.communicate(timeout=30)[0].strip().splitlines()[-1])
    root_got = json.loads(root_listener.communicate(timeout=30)[0].strip().splitlines()[-1])
    ok(any(sample in sig for sig in root_got), "root receives ThreatDetected with the path", root_got)
    ok(not nobody_got, "nobody receives no ThreatDetected (the bus policy)", nobody_got)

    threats = dbus.Interface(bus.get_object(NAME, ROOT + "/Threats"), "com.microsoft.Mdatp1.Threats")
    mine = [t for t in threats.List() if str(t[3]) == sample]
    ok(len(mine) == 1, "root lists the threat with its path", [list(map(str, t)) for t in threats.List()])
    tid = str(mine[0][0]) if mine else "00000000-0000-4000-8000-000000000000"
    sha = str(mine[0][4]) if mine else "no-hash"
    ok(any(str(q[2]) == sample for q in threats.ListQuarantined()), "root lists the quarantined path")
    paths = bus.get_object(NAME, scan_path).Get("com.microsoft.Mdatp1.Scan", "Paths",
                                                dbus_interface="org.freedesktop.DBus.Properties")
    ok([str(p) for p in paths] == [PRIVATE_DIR], "root reads the custom scan's Paths", paths)
    ok(str(settings.Get("cloudService.definitionUpdateUrl")) == SECRET_URL,
       "root reads the update URL in full (configuration management compares it)")

    seen = as_nobody(NOBODY_READER, tid, scan_path)
    leaks = (sample, "payroll", sha) + SECRETS
    for key in ("List", "Get", "ListHistory", "ListQuarantined", "GetStatistics"):
        err, text = seen[key]
        ok(err == "org.freedesktop.DBus.Error.AccessDenied" and "com.microsoft.mdatp1.read-details" in text
           and not any(x in text for x in leaks), f"nobody is refused {key}, naming read-details", seen[key])
    for key in ("Paths", "Settings.Get", "Settings.List", "Health", "Definitions"):
        err, text = seen[key]
        ok(err == "ok" and not any(x in text for x in leaks), f"nobody reads {key} without paths or secrets",
           seen[key])
    ok("***@127.0.0.1:9/mdatp/?***" in seen["Settings.Get"][1], "nobody sees the URL redacted, host and path kept",
       seen["Settings.Get"][1])
    ok("***@127.0.0.1:9" in seen["Health"][1], "health shows the update source redacted", seen["Health"][1])

    lines, _ = dbus.Interface(bus.get_object(NAME, ROOT + "/Definitions"),
                              "com.microsoft.Mdatp1.Definitions").TestConnectivity(timeout=120)
    text = "\n".join(map(str, lines))
    ok("127.0.0.1:9" in text and not any(x in text for x in SECRETS), "connectivity lines are redacted", text)

    # mdatp health as nobody: every field, nothing that leaks.
    env = dict(os.environ)
    for args in (["health"], ["health", "--details", "definitions"], ["health", "--output", "json"]):
        p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "--inh-caps=-all", "mdatp", *args], capture_output=True, text=True, env=env,
                           timeout=60)
        ok(p.returncode == 0 and not any(x in p.stdout + p.stderr for x in SECRETS),
           f"mdatp {' '.join(args)} works for nobody, nothing secret", p.stdout + p.stderr)
        if args[-1] == "definitions":
            ok("***@127.0.0.1:9/mdatp/?***" in p.stdout, "nobody's health details show the redacted URL",
               p.stdout)
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
                        "mdatp", "threat", "list"], capture_output=True, text=True, env=env, timeout=60)
    ok(p.returncode != 0 and "com.microsoft.mdatp1.read-details" in (p.stdout + p.stderr)
       and "root" in (p.stdout + p.stderr), "mdatp threat list as nobody names root or the polkit action",
       p.stdout + p.stderr)

    # A read-details grant lets nobody read it all.
    rule = grant_rule("com.microsoft.mdatp1.read-details")
    granted = None
    for _ in range(60):
        granted = as_nobody(NOBODY_READER, tid, scan_path)
        if granted["List"][0] == "ok":
            break
        time.sleep(0.1)
    for key in ("List", "Get", "ListQuarantined"):
        ok(granted[key][0] == "ok" and sample in granted[key][1], f"granted nobody reads {key} with the path",
           granted[key])
    ok(granted["GetStatistics"][0] == "ok", "granted nobody reads GetStatistics", granted["GetStatistics"])
    ok(SECRET_URL in granted["Settings.Get"][1], "granted nobody reads the update URL in full",
       granted["Settings.Get"])
    os.unlink(rule)
    settings.Reset("cloudService.definitionUpdateUrl")
    for t in mine:
        try:
            threats.Remove(str(t[0]))
        except dbus.DBusException:
            pass


if os.geteuid() != 0:
    print("not ok - must run as root")
    sys.exit(1)
run_one_scan()
live = test_introspection_matches_xml()
test_every_setting()
test_change_signals()
test_read_protection()
test_polkit(live)       # last: it stops polkitd
finish()
