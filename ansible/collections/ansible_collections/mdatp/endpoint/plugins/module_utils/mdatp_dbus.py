# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
"""A small typed client for mdatpd's D-Bus API (com.microsoft.Mdatp1 on the system bus).

One implementation for the Ansible collection (as module_utils) and the Salt modules (a
byte-identical copy in salt/_utils/mdatp_dbus.py; tests/integration/cm/test-salt.sh fails if
they drift). It depends only on the standard library and python3-dbus (dbus-python), plus
python3-gi when present to wait for a scan's Finished signal (it polls without it).

Values cross the API in a canonical plain-Python form, by D-Bus signature:
  b -> bool, i/u/t/x/n/q/y -> int, d -> float, s/o -> str, as -> [str],
  a(ss) -> [[key, value]], a(ssbas) -> [[$type, value, isDirectory, [scopes]]].
coerce() turns what a user writes (YAML/JSON scalars, the mdatp_managed.json shapes such as
{"key": ..., "value": ...} or {"$type": "excludedPath", "path": ...}) into that form, checked
against the setting's signature, which is learned from the variant Settings.Get returns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import os
import time

try:
    import dbus
    HAS_DBUS = True
    DBUS_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - depends on the host
    dbus = None
    HAS_DBUS = False
    DBUS_IMPORT_ERROR = str(_exc)

BUS_NAME = "com.microsoft.Mdatp1"
ROOT_PATH = "/com/microsoft/Mdatp1"
EXCLUSIONS_PATH = ROOT_PATH + "/Exclusions"
SCANS_PATH = ROOT_PATH + "/Scans"
THREATS_PATH = ROOT_PATH + "/Threats"
SETTINGS_IFACE = BUS_NAME + ".Settings"
HEALTH_IFACE = BUS_NAME + ".Health"
EXCLUSIONS_IFACE = BUS_NAME + ".Exclusions"
SCAN_MANAGER_IFACE = BUS_NAME + ".ScanManager"
SCAN_IFACE = BUS_NAME + ".Scan"
THREATS_IFACE = BUS_NAME + ".Threats"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"

THREAT_TYPE_SETTING = "antivirusEngine.threatTypeSettings"
THREAT_TYPES = ("potentially_unwanted_application", "archive_bomb")
THREAT_ACTIONS = ("audit", "block", "off")
EXCLUSION_KINDS = ("extension", "file", "folder", "process")
EXCLUSION_SCOPES = ("epp", "global")
SCAN_KINDS = ("quick", "full", "custom")

# The scope an exclusion entry without "scopes" gets, per setting (docs/settings.md).
_DEFAULT_SCOPES = {
    "antivirusEngine.exclusions": ["epp"],
    "exclusionSettings.exclusions": ["global"],
}
# Value field of an exclusion entry in mdatp_managed.json, per $type.
_EXCLUSION_FIELDS = {
    "excludedPath": "path",
    "excludedFileExtension": "extension",
    "excludedFileName": "name",
}

_NO_DAEMON_ERRORS = (
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoServer",
    "org.freedesktop.DBus.Error.FileNotFound",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
)


class MdatpError(Exception):
    """A D-Bus error from mdatpd (or from reaching it), with the service's own message.

    name: the D-Bus error name (com.microsoft.Mdatp1.Error.ManagedByPolicy, ...);
    kind: its last component (ManagedByPolicy, AccessDenied, InvalidArgument, NotFound, Busy,
    ...); message: the daemon's text, meant to be shown to the admin as it is.
    """

    mdatp_error = True  # lets Salt modules recognise it without importing this class

    def __init__(self, message, name="com.microsoft.Mdatp1.Error.Failed"):
        Exception.__init__(self, message)
        self.message = message
        self.name = name or "com.microsoft.Mdatp1.Error.Failed"
        self.kind = self.name.rsplit(".", 1)[-1]

    def __str__(self):
        return self.message


def _from_dbus_exception(exc):
    name = exc.get_dbus_name() or ""
    message = exc.get_dbus_message() or str(exc)
    if name in _NO_DAEMON_ERRORS:
        message = ("mdatpd is not reachable on the system bus (%s: %s); is the mdatp service "
                   "running?" % (name, message))
    return MdatpError(message, name)


def require_dbus():
    """Raises MdatpError when python3-dbus cannot be imported by this interpreter."""
    if not HAS_DBUS:
        raise MdatpError(
            "python3-dbus (dbus-python) is not importable by this Python (%s): install "
            "python3-dbus and run the module with /usr/bin/python3 (Ansible: "
            "ansible_python_interpreter=/usr/bin/python3)" % DBUS_IMPORT_ERROR,
            "com.microsoft.Mdatp1.Error.MissingDependency")


# ---------------------------------------------------------------------------------------------
# Signatures and values


def split_signature(sig):
    """Splits a D-Bus signature into its complete types: 'sa(ss)b' -> ['s', 'a(ss)', 'b']."""
    out = []
    i = 0
    while i < len(sig):
        j = _complete_type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _complete_type_end(sig, i):
    c = sig[i]
    if c == "a":
        return _complete_type_end(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        depth = 0
        j = i
        while j < len(sig):
            if sig[j] in "({":
                depth += 1
            elif sig[j] in ")}":
                depth -= 1
                if depth == 0:
                    if sig[j] != close:
                        raise ValueError("bad D-Bus signature %r" % sig)
                    return j + 1
            j += 1
        raise ValueError("bad D-Bus signature %r" % sig)
    return i + 1


def signature_of(value):
    """The D-Bus signature of a value returned by dbus-python (for variants from Get)."""
    if isinstance(value, dbus.Boolean):
        return "b"
    for cls, sig in ((dbus.Byte, "y"), (dbus.Int16, "n"), (dbus.UInt16, "q"), (dbus.Int32, "i"),
                     (dbus.UInt32, "u"), (dbus.Int64, "x"), (dbus.UInt64, "t"),
                     (dbus.Double, "d"), (dbus.ObjectPath, "o"), (dbus.Signature, "g"),
                     (dbus.String, "s")):
        if isinstance(value, cls):
            return sig
    if isinstance(value, dbus.Dictionary):
        return "a{%s}" % value.signature
    if isinstance(value, dbus.Array):
        if value.signature is None:
            raise ValueError("cannot tell the signature of an untyped array")
        return "a" + str(value.signature)
    if isinstance(value, dbus.Struct):
        return "(" + "".join(signature_of(v) for v in value) + ")"
    raise ValueError("cannot tell the D-Bus signature of %r" % (value,))


def to_python(value):
    """dbus-python value -> plain Python (bool, int, float, str, list, dict)."""
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Byte, dbus.Int16, dbus.UInt16, dbus.Int32, dbus.UInt32,
                          dbus.Int64, dbus.UInt64)):
        return int(value)
    if isinstance(value, dbus.Double):
        return float(value)
    if isinstance(value, (dbus.String, dbus.ObjectPath, dbus.Signature)):
        return str(value)
    if isinstance(value, dict):
        return dict((to_python(k), to_python(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
    return value


def to_dbus(sig, value):
    """Canonical plain value -> dbus-python object of exactly that signature."""
    c = sig[0]
    if c == "b":
        return dbus.Boolean(value)
    simple = {"y": dbus.Byte, "n": dbus.Int16, "q": dbus.UInt16, "i": dbus.Int32,
              "u": dbus.UInt32, "x": dbus.Int64, "t": dbus.UInt64, "d": dbus.Double,
              "s": dbus.String, "o": dbus.ObjectPath, "g": dbus.Signature}
    if c in simple:
        return simple[c](value)
    if sig.startswith("a{"):
        kv = split_signature(sig[2:-1])
        return dbus.Dictionary(dict((to_dbus(kv[0], k), to_dbus(kv[1], v))
                                    for k, v in value.items()),
                               signature=sig[2:-1])
    if c == "a":
        return dbus.Array([to_dbus(sig[1:], v) for v in value], signature=sig[1:])
    if c == "(":
        members = split_signature(sig[1:-1])
        if len(members) != len(value):
            raise ValueError("expected %d fields for %s, got %r" % (len(members), sig, value))
        return dbus.Struct([to_dbus(s, v) for s, v in zip(members, value)], signature=sig[1:-1])
    if c == "v":
        raise ValueError("nested variants are not supported")
    raise ValueError("unsupported D-Bus signature %r" % sig)


_TRUE = ("true", "yes", "on", "1", "enabled")
_FALSE = ("false", "no", "off", "0", "disabled")


def _coerce_bool(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("%s takes a boolean (true/false), not %r" % (what, value))


def _coerce_int(value, what):
    if isinstance(value, bool):
        raise ValueError("%s takes an integer, not the boolean %r" % (what, value))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    raise ValueError("%s takes an integer, not %r" % (what, value))


def _coerce_str(value, what):
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError("%s takes a string, not the boolean %r (quote it)" % (what, value))
    if isinstance(value, (int, float)):
        return str(value)
    raise ValueError("%s takes a string, not %r" % (what, value))


def _coerce_list(value, what):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError("%s takes a list, not %r" % (what, value))


def _coerce_pairs(value, what):
    """a(ss): {k: v}, [{"key": k, "value": v}], or [[k, v]] -> [[k, v]]."""
    if value is None:
        return []
    if isinstance(value, dict):
        if set(value.keys()) == set(["key", "value"]):
            value = [value]
        else:
            return [[_coerce_str(k, what), _coerce_str(v, what)] for k, v in value.items()]
    out = []
    for item in _coerce_list(value, what):
        if isinstance(item, dict):
            if "key" not in item or "value" not in item:
                raise ValueError("%s: each entry needs 'key' and 'value', got %r" % (what, item))
            out.append([_coerce_str(item["key"], what), _coerce_str(item["value"], what)])
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out.append([_coerce_str(item[0], what), _coerce_str(item[1], what)])
        else:
            raise ValueError("%s: entries are {key: ..., value: ...}, not %r" % (what, item))
    return out


def _coerce_exclusions(value, what, name):
    """a(ssbas): managed-file entries or [$type, value, isDirectory, scopes] lists."""
    default_scopes = _DEFAULT_SCOPES.get(name, [])
    out = []
    for item in _coerce_list(value, what):
        if isinstance(item, dict):
            etype = _coerce_str(item.get("$type", ""), what)
            field = _EXCLUSION_FIELDS.get(etype)
            if field is None:
                raise ValueError("%s: '$type' must be one of %s, got %r"
                                 % (what, ", ".join(sorted(_EXCLUSION_FIELDS)), etype))
            if field not in item:
                raise ValueError("%s: a %s entry needs '%s'" % (what, etype, field))
            entry = [etype, _coerce_str(item[field], what),
                     _coerce_bool(item.get("isDirectory", False), what),
                     [_coerce_str(s, what) for s in _coerce_list(item.get("scopes"), what)]]
        elif isinstance(item, (list, tuple)) and len(item) == 4:
            entry = [_coerce_str(item[0], what), _coerce_str(item[1], what),
                     _coerce_bool(item[2], what),
                     [_coerce_str(s, what) for s in _coerce_list(item[3], what)]]
        else:
            raise ValueError("%s: entries are mdatp_managed.json exclusion objects, not %r"
                             % (what, item))
        if not entry[3]:
            entry[3] = list(default_scopes)
        out.append(entry)
    return out


def coerce(sig, value, name="value"):
    """User value -> canonical plain value for signature sig; ValueError when it cannot be."""
    what = "'%s' (D-Bus type %s)" % (name, sig)
    if sig == "b":
        return _coerce_bool(value, what)
    if sig in ("y", "n", "q", "i", "u", "x", "t"):
        return _coerce_int(value, what)
    if sig == "d":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError("%s takes a number, not %r" % (what, value))
    if sig in ("s", "o"):
        return _coerce_str(value, what)
    if sig == "as":
        return [_coerce_str(v, what) for v in _coerce_list(value, what)]
    if sig == "a(ss)":
        return _coerce_pairs(value, what)
    if sig == "a(ssbas)":
        return _coerce_exclusions(value, what, name)
    raise ValueError("%s: values of D-Bus type %s are not supported" % (what, sig))


def normalize(sig, value, name=""):
    """A comparable form: lists whose order carries no meaning are sorted."""
    if sig == "as":
        return sorted(value)
    if sig == "a(ss)":
        return sorted([list(p) for p in value])
    if sig == "a(ssbas)":
        default_scopes = _DEFAULT_SCOPES.get(name, [])
        return sorted([[e[0], e[1], bool(e[2]), sorted(e[3] or default_scopes)] for e in value])
    return value


def equal(sig, a, b, name=""):
    """Whether two canonical values of signature sig mean the same setting."""
    return normalize(sig, a, name) == normalize(sig, b, name)


def friendly(sig, value):
    """Canonical value -> the shape mdatp_managed.json uses (for reports and diffs)."""
    if sig == "a(ss)":
        return [{"key": k, "value": v} for k, v in value]
    if sig == "a(ssbas)":
        out = []
        for etype, val, isdir, scopes in value:
            entry = {"$type": etype, _EXCLUSION_FIELDS.get(etype, "value"): val}
            if etype == "excludedPath":
                entry["isDirectory"] = bool(isdir)
            entry["scopes"] = list(scopes)
            out.append(entry)
        return out
    return value


def flatten_policy(policy, known, prefix=""):
    """Dotted setting names a managed-policy dict sets, among the known names."""
    names = []
    if not isinstance(policy, dict):
        return names
    for key, value in policy.items():
        dotted = prefix + key
        if dotted in known:
            names.append(dotted)
        elif isinstance(value, dict):
            names.extend(flatten_policy(value, known, dotted + "."))
    if prefix == "" and isinstance(policy.get("antivirusEngine"), dict):
        legacy = policy["antivirusEngine"]
        if ("enableRealTimeProtection" in legacy or "passiveMode" in legacy) and \
                "antivirusEngine.enforcementLevel" in known and \
                "antivirusEngine.enforcementLevel" not in names:
            names.append("antivirusEngine.enforcementLevel")
    return names


# ---------------------------------------------------------------------------------------------
# The client


class Client:
    """Typed access to mdatpd. Every method raises MdatpError with the daemon's message."""

    def __init__(self, bus=None, mainloop=False):
        require_dbus()
        self._glib = None
        try:
            if bus is not None:
                self.bus = bus
            elif mainloop:
                self._glib = _glib_mainloop()
                if self._glib is not None:
                    self.bus = dbus.SystemBus(private=True, mainloop=self._glib[0])
                else:
                    self.bus = dbus.SystemBus(private=True)
            else:
                self.bus = dbus.SystemBus(private=True)
        except dbus.DBusException as exc:
            raise MdatpError("cannot connect to the system bus (%s): %s" % (
                os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "the default socket"),
                exc.get_dbus_message() or exc), exc.get_dbus_name())
        self._signatures = {}

    def close(self):
        try:
            self.bus.close()
        except Exception:  # pylint: disable=broad-except
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, path, iface, method, *args, **kwargs):
        try:
            obj = self.bus.get_object(BUS_NAME, path, introspect=False)
            return obj.get_dbus_method(method, iface)(*args, **kwargs)
        except dbus.DBusException as exc:
            raise _from_dbus_exception(exc)

    # -- settings --------------------------------------------------------------------------

    def get_raw(self, name):
        """(signature, dbus value) of a setting's effective value."""
        value = self._call(ROOT_PATH, SETTINGS_IFACE, "Get", dbus.String(name))
        sig = signature_of(value)
        self._signatures[name] = sig
        return sig, value

    def get(self, name):
        """(signature, canonical value) of a setting's effective value."""
        sig, value = self.get_raw(name)
        return sig, to_python(value)

    def signature(self, name):
        if name not in self._signatures:
            self.get_raw(name)
        return self._signatures[name]

    def list_settings(self):
        """{name: {"type", "value" (canonical), "managed", "source"}} for every setting."""
        out = {}
        for name, value, managed, source in self._call(ROOT_PATH, SETTINGS_IFACE, "List"):
            name = str(name)
            sig = signature_of(value)
            self._signatures[name] = sig
            out[name] = {"type": sig, "value": to_python(value), "managed": bool(managed),
                         "source": str(source)}
        return out

    def setting(self, name):
        """One entry of list_settings(), or MdatpError(InvalidArgument) for an unknown name."""
        entry = self.list_settings().get(name)
        if entry is None:
            self.get_raw(name)  # raises the daemon's own "Unknown setting" error
            raise MdatpError("Unknown setting '%s'" % name,
                             "com.microsoft.Mdatp1.Error.InvalidArgument")
        return entry

    def coerce(self, name, value):
        """A user value for setting name, converted per the setting's signature."""
        sig = self.signature(name)
        try:
            return coerce(sig, value, name)
        except ValueError as exc:
            raise MdatpError(str(exc), "com.microsoft.Mdatp1.Error.InvalidArgument")

    def set(self, name, value):
        """Sets the local value (canonical or user form) with the setting's own signature."""
        sig = self.signature(name)
        canonical = self.coerce(name, value)
        self._call(ROOT_PATH, SETTINGS_IFACE, "Set", dbus.String(name),
                   to_dbus(sig, canonical), signature="sv")
        return canonical

    def reset(self, name):
        self._call(ROOT_PATH, SETTINGS_IFACE, "Reset", dbus.String(name))

    # -- threat type policy ----------------------------------------------------------------

    def threat_policy(self):
        """{threat type: action} from the effective antivirusEngine.threatTypeSettings."""
        _, value = self.get(THREAT_TYPE_SETTING)
        return dict((k, v) for k, v in value)

    def set_threat_policy(self, threat_type, action):
        """Sets one threat type's action, keeping the others as they are in effect.

        Raises MdatpError(ManagedByPolicy) when the managed policy keeps another action for
        that type (the daemon takes local items under merge but the managed key wins)."""
        if threat_type not in THREAT_TYPES:
            raise MdatpError("Unknown threat type '%s': expected %s"
                             % (threat_type, " or ".join(THREAT_TYPES)),
                             "com.microsoft.Mdatp1.Error.InvalidArgument")
        if action not in THREAT_ACTIONS:
            raise MdatpError("Unknown threat action '%s': expected %s"
                             % (action, ", ".join(THREAT_ACTIONS)),
                             "com.microsoft.Mdatp1.Error.InvalidArgument")
        current = self.threat_policy()
        current[threat_type] = action
        self.set(THREAT_TYPE_SETTING, [[k, v] for k, v in current.items()])
        after = self.threat_policy()
        if after.get(threat_type) != action:
            raise MdatpError(
                "The threat type '%s' is managed by policy ('%s') with action '%s'; the local "
                "action '%s' does not apply; change it in that file"
                % (threat_type, self.health_property("ManagedPolicyPath"),
                   after.get(threat_type), action),
                "com.microsoft.Mdatp1.Error.ManagedByPolicy")
        return after

    # -- exclusions ------------------------------------------------------------------------

    def exclusions(self):
        """[{"kind", "value", "scope", "managed"}] in effect."""
        return [{"kind": str(k), "value": str(v), "scope": str(s), "managed": bool(m)}
                for k, v, s, m in self._call(EXCLUSIONS_PATH, EXCLUSIONS_IFACE, "List")]

    def find_exclusion(self, kind, value, scope):
        for entry in self.exclusions():
            if (entry["kind"], entry["value"], entry["scope"]) == (kind, value, scope):
                return entry
        return None

    def exclusion_add(self, kind, value, scope="epp"):
        self._call(EXCLUSIONS_PATH, EXCLUSIONS_IFACE, "Add",
                   dbus.String(kind), dbus.String(value), dbus.String(scope))

    def exclusion_remove(self, kind, value, scope="epp"):
        self._call(EXCLUSIONS_PATH, EXCLUSIONS_IFACE, "Remove",
                   dbus.String(kind), dbus.String(value), dbus.String(scope))

    # -- health ----------------------------------------------------------------------------

    def health(self):
        """Every Health property, as plain Python."""
        props = self._call(ROOT_PATH, PROPERTIES_IFACE, "GetAll", dbus.String(HEALTH_IFACE))
        return dict((str(k), to_python(v)) for k, v in props.items())

    def health_property(self, name):
        return to_python(self._call(ROOT_PATH, PROPERTIES_IFACE, "Get",
                                    dbus.String(HEALTH_IFACE), dbus.String(name)))

    # -- scans and threats -----------------------------------------------------------------

    def scans(self):
        keys = ("id", "kind", "state", "start_time", "end_time", "files_scanned",
                "threats_found")
        return [dict(zip(keys, to_python(row)))
                for row in self._call(SCANS_PATH, SCAN_MANAGER_IFACE, "List")]

    def threats(self):
        keys = ("id", "name", "type", "path", "sha256", "detection_time", "source", "status")
        return [dict(zip(keys, to_python(row)))
                for row in self._call(THREATS_PATH, THREATS_IFACE, "List")]

    def scan_properties(self, path):
        props = self._call(path, PROPERTIES_IFACE, "GetAll", dbus.String(SCAN_IFACE))
        return dict((str(k), to_python(v)) for k, v in props.items())

    def start_scan(self, kind, paths=None, ignore_exclusions=False):
        options = dbus.Dictionary({}, signature="sv")
        if ignore_exclusions:
            options["ignore_exclusions"] = dbus.Boolean(True, variant_level=1)
        path = self._call(SCANS_PATH, SCAN_MANAGER_IFACE, "Start", dbus.String(kind),
                          dbus.Array([dbus.String(p) for p in (paths or [])], signature="s"),
                          options, signature="sasa{sv}")
        return str(path)

    def run_scan(self, kind, paths=None, ignore_exclusions=False, timeout=3600):
        """Starts a scan and waits for its Finished signal (its State is polled too, as a safety
        net). Returns the scan's properties plus "path" and "threats": the threat records of
        the ThreatDetected signals (source on_demand) seen while it ran (one on-demand scan runs
        at a time), including threats found again. Without python3-gi there are no signals;
        threats are then the records first detected during the scan."""
        finished = {}
        detected = []

        def on_finished(state, path=None):
            finished[str(path)] = str(state)

        def on_threat(threat_id, name, threat_type, path, source):
            if str(source) == "on_demand":
                detected.append({"id": str(threat_id), "name": str(name),
                                 "type": str(threat_type), "path": str(path),
                                 "source": str(source)})

        receivers = []
        if self._glib is not None:
            receivers.append(self.bus.add_signal_receiver(
                on_finished, signal_name="Finished", dbus_interface=SCAN_IFACE,
                bus_name=BUS_NAME, path_keyword="path"))
            receivers.append(self.bus.add_signal_receiver(
                on_threat, signal_name="ThreatDetected", dbus_interface=THREATS_IFACE,
                bus_name=BUS_NAME, path=THREATS_PATH))
        try:
            path = self.start_scan(kind, paths, ignore_exclusions)
            deadline = time.time() + timeout
            while path not in finished:
                if self.scan_properties(path).get("State") != "running":
                    # Finished is sent right after the last change: take in what is queued.
                    self._wait(1.0 if self._glib is not None else 0, lambda: path in finished)
                    break
                if time.time() >= deadline:
                    try:
                        self._call(path, SCAN_IFACE, "Cancel")
                    except MdatpError:
                        pass
                    raise MdatpError("the %s scan %s did not finish within %d s; cancelled"
                                     % (kind, path, timeout),
                                     "com.microsoft.Mdatp1.Error.Timeout")
                self._wait(min(1.0, max(0.05, deadline - time.time())),
                           lambda: path in finished)
        finally:
            for receiver in receivers:
                receiver.remove()
        props = self.scan_properties(path)
        props["path"] = path
        records = self.threats()
        if self._glib is not None:
            by_id = dict((t["id"], t) for t in records)
            seen = set()
            props["threats"] = []
            for t in detected:
                if t["id"] not in seen:
                    seen.add(t["id"])
                    props["threats"].append(by_id.get(t["id"], t))
        else:
            start = props.get("StartTime", 0)
            end = props.get("EndTime", 0) or int(time.time() * 1e6)
            props["threats"] = [t for t in records if t["source"] == "on_demand"
                                and start <= t["detection_time"] <= end]
        return props

    def _wait(self, seconds, done):
        """Dispatches bus messages (signals) for up to seconds, or until done() is true."""
        deadline = time.time() + seconds
        if self._glib is None:
            time.sleep(seconds)
            return
        context = self._glib[1].MainContext.default()
        while not done() and time.time() < deadline:
            if not context.iteration(False):
                time.sleep(0.01)


def _glib_mainloop():
    try:
        from dbus.mainloop.glib import DBusGMainLoop  # pylint: disable=import-outside-toplevel
        from gi.repository import GLib  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return DBusGMainLoop(), GLib


# Module-level entry points, for Salt's __utils__ loader ("mdatp_dbus.client" etc.).


def client(mainloop=False):
    """A connected Client."""
    return Client(mainloop=mainloop)


def error(message, name="com.microsoft.Mdatp1.Error.Failed"):
    """An MdatpError (so callers need not import the class)."""
    return MdatpError(message, name)
