# SPDX-License-Identifier: GPL-2.0-or-later
"""The Salt modules of salt/ against the real daemon of scripts/sandbox.sh, without Salt.

Salt is not installable here (not in Debian 12), so the modules are loaded as Salt's loader
would load them, with __utils__, __salt__, __opts__ and __pillar__ injected; every call goes over
the real system bus to the real mdatpd (nothing mocks D-Bus), and the results are checked
independently with busctl. The formula salt/mdatp/init.sls is rendered with Jinja2 and parsed
as YAML. Run by test-salt.sh: /usr/bin/python3 -m unittest -v tests/integration/cm/test_salt.py
"""
import copy
import filecmp
import importlib.util
import json
import os
import subprocess
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.realpath(os.path.join(HERE, "..", "..", ".."))
SALT = os.path.join(SRC, "salt")
ANSIBLE_UTILS = os.path.join(SRC, "ansible", "collections", "ansible_collections", "mdatp",
                             "endpoint", "plugins", "module_utils", "mdatp_dbus.py")
MANAGED_DIR = os.environ.get("MDATP_MANAGED_DIR", "")
THREADS = "antivirusEngine.maximumOnDemandScanThreads"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def busctl(*args):
    """busctl --system --json=short ..., parsed: independent of the code under test."""
    out = subprocess.run(["busctl", "--system", "--json=short"] + list(args),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else None


def effective(name):
    return busctl("call", "com.microsoft.Mdatp1", "/com/microsoft/Mdatp1",
                  "com.microsoft.Mdatp1.Settings", "Get", "s", name)["data"][0]


def exclusions():
    return busctl("call", "com.microsoft.Mdatp1", "/com/microsoft/Mdatp1/Exclusions",
                  "com.microsoft.Mdatp1.Exclusions", "List")["data"][0]


def write_policy(doc):
    tmp = os.path.join(MANAGED_DIR, ".tmp.json")
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(MANAGED_DIR, "mdatp_managed.json"))


def wait_for(predicate, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class SaltModules(unittest.TestCase):
    """Loads salt/_utils, salt/_modules and salt/_states as Salt would, per test."""

    def setUp(self):
        utils_mod = load(os.path.join(SALT, "_utils", "mdatp_dbus.py"), "mdatp_dbus_utils")
        # Salt's utils loader exposes a module's public functions as "<module>.<function>".
        self.utils = dict(("mdatp_dbus." + n, getattr(utils_mod, n)) for n in dir(utils_mod)
                          if not n.startswith("_") and callable(getattr(utils_mod, n))
                          and getattr(getattr(utils_mod, n), "__module__", "") == utils_mod.__name__)
        self.opts = {"test": False}
        self.pillar = {}
        self.mdatp = load(os.path.join(SALT, "_modules", "mdatp.py"), "salt_mod_mdatp")
        self.mdatp.__utils__ = self.utils
        self.mdatp.__opts__ = self.opts
        self.mdatp.__pillar__ = self.pillar
        aliases = getattr(self.mdatp, "__func_alias__", {})
        self.salt = {}
        for n in dir(self.mdatp):
            fn = getattr(self.mdatp, n)
            if n.startswith("_") or not callable(fn) or getattr(fn, "__module__", "") != \
                    self.mdatp.__name__:
                continue
            self.salt["mdatp." + aliases.get(n, n)] = fn
        self.mdatp.__salt__ = self.salt
        self.states = {}
        for state in ("mdatp_setting", "mdatp_exclusion"):
            mod = load(os.path.join(SALT, "_states", state + ".py"), "salt_state_" + state)
            mod.__salt__ = self.salt
            mod.__opts__ = self.opts
            mod.__pillar__ = self.pillar
            self.states[state] = mod
        self.cleanup_policy = False

    def tearDown(self):
        if self.cleanup_policy:
            os.unlink(os.path.join(MANAGED_DIR, "mdatp_managed.json"))
            self.assertTrue(wait_for(lambda: not any(
                s[2] for s in busctl("call", "com.microsoft.Mdatp1", "/com/microsoft/Mdatp1",
                                     "com.microsoft.Mdatp1.Settings", "List")["data"][0])),
                "the daemon did not drop the removed policy")
        for name in (THREADS, "antivirusEngine.scanArchives", "edr.tags",
                     "antivirusEngine.threatTypeSettings"):
            busctl("call", "com.microsoft.Mdatp1", "/com/microsoft/Mdatp1",
                   "com.microsoft.Mdatp1.Settings", "Reset", "s", name)
        for kind, value, scope, managed in exclusions():
            if not managed:
                busctl("call", "com.microsoft.Mdatp1", "/com/microsoft/Mdatp1/Exclusions",
                       "com.microsoft.Mdatp1.Exclusions", "Remove", "sss", kind, value, scope)

    # -- the helper ----------------------------------------------------------------------

    def test_helper_is_one_implementation(self):
        self.assertTrue(filecmp.cmp(ANSIBLE_UTILS, os.path.join(SALT, "_utils", "mdatp_dbus.py"),
                                    shallow=False),
                        "salt/_utils/mdatp_dbus.py differs from the Ansible module_utils copy; "
                        "copy it again")

    def test_virtual(self):
        self.assertEqual(self.mdatp.__virtual__(), "mdatp")
        self.assertEqual(self.states["mdatp_setting"].__virtual__(), "mdatp_setting")
        self.assertEqual(self.states["mdatp_exclusion"].__virtual__(), "mdatp_exclusion")
        self.mdatp.__utils__ = {}
        self.assertFalse(self.mdatp.__virtual__()[0])

    # -- execution module ----------------------------------------------------------------

    def test_health(self):
        h = self.salt["mdatp.health"]()
        self.assertIsInstance(h["Healthy"], bool)
        self.assertIsInstance(h["HealthIssues"], list)
        self.assertTrue(h["AppVersion"])
        self.assertEqual(h["ManagedPolicyPath"], os.path.join(MANAGED_DIR, "mdatp_managed.json"))
        self.assertIn("DefinitionsStatus", h)

    def test_get_is_typed(self):
        self.assertEqual(self.salt["mdatp.get"](THREADS),
                         {"name": THREADS, "value": 2, "type": "i", "managed": False,
                          "source": "default"})
        self.assertIs(self.salt["mdatp.get"]("antivirusEngine.scanArchives")["value"], True)
        self.assertEqual(self.salt["mdatp.get"]("antivirusEngine.threatTypeSettings")["value"],
                         [{"key": "potentially_unwanted_application", "value": "audit"},
                          {"key": "archive_bomb", "value": "audit"}])

    def test_set_and_reset(self):
        r = self.salt["mdatp.set"](THREADS, "4")
        self.assertEqual((r["changed"], r["old"], r["new"], r["source"]), (True, 2, 4, "local"))
        self.assertEqual(effective(THREADS), {"type": "i", "data": 4})
        self.assertFalse(self.salt["mdatp.set"](THREADS, 4)["changed"])
        r = self.salt["mdatp.set"]("edr.tags", {"GROUP": "db"})
        self.assertTrue(r["changed"])
        self.assertEqual(effective("edr.tags"), {"type": "a(ss)", "data": [["GROUP", "db"]]})
        self.assertFalse(self.salt["mdatp.set"]("edr.tags", [{"key": "GROUP", "value": "db"}])
                         ["changed"])
        r = self.salt["mdatp.reset"](THREADS)
        self.assertEqual((r["changed"], r["new"], r["source"]), (True, 2, "default"))
        self.assertEqual(effective(THREADS), {"type": "i", "data": 2})
        self.assertFalse(self.salt["mdatp.reset"](THREADS)["changed"])

    def test_set_test_mode_applies_nothing(self):
        r = self.salt["mdatp.set"](THREADS, 9, test=True)
        self.assertEqual((r["changed"], r["new"]), (True, 9))
        self.assertEqual(effective(THREADS), {"type": "i", "data": 2})

    def test_errors_carry_the_daemons_text(self):
        err = self.mdatp.CommandExecutionError
        with self.assertRaisesRegex(err, r"99 is out of range 1\.\.64 \[InvalidArgument\]"):
            self.salt["mdatp.set"](THREADS, 99)
        with self.assertRaisesRegex(err, r"Unknown setting 'nope\.nope'"):
            self.salt["mdatp.get"]("nope.nope")
        with self.assertRaisesRegex(err, r"takes a boolean"):
            self.salt["mdatp.set"]("antivirusEngine.scanArchives", "maybe")
        with self.assertRaisesRegex(err, r"is not one of: real_time, on_demand, passive"):
            self.salt["mdatp.set"]("antivirusEngine.enforcementLevel", "bogus")
        with self.assertRaisesRegex(err, r"needs an existing regular file"):
            self.salt["mdatp.exclusion_add"]("file", "/nonexistent/file", scope="global")

    def test_access_denied_for_nobody(self):
        # The shared helper, run as nobody: polkit refuses, and the error says so.
        code = ("import importlib.util, sys\n"
                "spec = importlib.util.spec_from_file_location('h', sys.argv[1])\n"
                "h = importlib.util.module_from_spec(spec); spec.loader.exec_module(h)\n"
                "c = h.Client()\n"
                "print(c.get(sys.argv[2])[1])\n"
                "try:\n"
                "    c.set(sys.argv[2], 5)\n"
                "except h.MdatpError as e:\n"
                "    print(e.kind, '|', e)\n")
        out = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
             "env", "PYTHONDONTWRITEBYTECODE=1",
             "DBUS_SYSTEM_BUS_ADDRESS=" + os.environ["DBUS_SYSTEM_BUS_ADDRESS"],
             "/usr/bin/python3", "-c", code, os.path.join(SALT, "_utils", "mdatp_dbus.py"), THREADS],
            capture_output=True, text=True, check=False)
        lines = out.stdout.splitlines()
        self.assertEqual(lines[:1], ["2"], out.stdout + out.stderr)  # reading is open to all
        self.assertEqual(len(lines), 2, out.stdout + out.stderr)
        self.assertTrue(lines[1].startswith("AccessDenied | "), lines[1])
        self.assertIn("requires administrator privileges", lines[1])
        self.assertEqual(effective(THREADS), {"type": "i", "data": 2})

    def test_exclusions(self):
        r = self.salt["mdatp.exclusion_add"]("folder", "/srv/salt-test/", scope="epp")
        self.assertTrue(r["changed"])
        self.assertIn(["folder", "/srv/salt-test/", "epp", False], exclusions())
        self.assertFalse(self.salt["mdatp.exclusion_add"]("folder", "/srv/salt-test/")["changed"])
        self.assertIn({"kind": "folder", "value": "/srv/salt-test/", "scope": "epp",
                       "managed": False}, self.salt["mdatp.exclusion_list"]())
        self.assertTrue(self.salt["mdatp.exclusion_remove"]("folder", "/srv/salt-test/")["changed"])
        self.assertNotIn(["folder", "/srv/salt-test/", "epp", False], exclusions())
        self.assertFalse(self.salt["mdatp.exclusion_remove"]("folder", "/srv/salt-test/")
                         ["changed"])

    def test_threat_policy(self):
        r = self.salt["mdatp.threat_policy_set"]("archive_bomb", "block")
        self.assertEqual(r["new"], {"potentially_unwanted_application": "audit",
                                    "archive_bomb": "block"})
        self.assertFalse(self.salt["mdatp.threat_policy_set"]("archive_bomb", "block")["changed"])
        self.assertIn(["archive_bomb", "block"],
                      effective("antivirusEngine.threatTypeSettings")["data"])

    def test_scan_finds_eicar(self):
        d = os.path.join(os.environ["MDATP_SANDBOX_DIR"], "salt-scan")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "sample.com"), "w") as f:   # EICAR, from two halves
            f.write("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!$H+H*")
        with open(os.path.join(d, "clean.txt"), "w") as f:
            f.write("clean\n")
        r = self.salt["mdatp.scan"]("custom", paths=d, timeout=120)
        self.assertEqual((r["State"], r["ThreatsFound"], r["FilesScanned"]), ("succeeded", 1, 2))
        self.assertEqual([t["path"] for t in r["threats"]], [os.path.join(d, "sample.com")])
        with self.assertRaisesRegex(self.mdatp.CommandExecutionError, "No such file"):
            self.salt["mdatp.scan"]("custom", paths=[os.path.join(d, "missing")])

    # -- states --------------------------------------------------------------------------

    def test_setting_present_twice(self):
        present = self.states["mdatp_setting"].present
        r = present(THREADS, 6)
        self.assertEqual((r["result"], r["changes"]), (True, {"old": 2, "new": 6}))
        r = present(THREADS, "6")
        self.assertEqual((r["result"], r["changes"]), (True, {}))
        self.assertIn("already", r["comment"])
        r = present("antivirusEngine.scanArchives", False)
        self.assertEqual(r["changes"], {"old": True, "new": False})
        self.assertEqual(present("antivirusEngine.scanArchives", "false")["changes"], {})

    def test_setting_test_mode(self):
        self.opts["test"] = True
        r = self.states["mdatp_setting"].present(THREADS, 7)
        self.assertIsNone(r["result"])
        self.assertEqual(r["changes"], {"old": 2, "new": 7})
        self.assertEqual(effective(THREADS), {"type": "i", "data": 2})
        self.opts["test"] = False
        self.states["mdatp_setting"].present(THREADS, 7)
        self.opts["test"] = True
        r = self.states["mdatp_setting"].absent(THREADS)
        self.assertIsNone(r["result"])
        self.assertEqual(r["changes"], {"old": 7, "new": None})
        self.assertEqual(effective(THREADS), {"type": "i", "data": 7})
        self.opts["test"] = False
        r = self.states["mdatp_setting"].absent(THREADS)
        self.assertEqual((r["result"], r["changes"]), (True, {"old": 7, "new": 2}))
        self.assertEqual(self.states["mdatp_setting"].absent(THREADS)["changes"], {})

    def test_exclusion_states(self):
        st = self.states["mdatp_exclusion"]
        self.opts["test"] = True
        r = st.present(".salt", kind="extension")
        self.assertIsNone(r["result"])
        self.assertTrue(r["changes"])
        self.assertNotIn(["extension", ".salt", "epp", False], exclusions())
        self.opts["test"] = False
        r = st.present(".salt", kind="extension")
        self.assertEqual(r["result"], True)
        self.assertTrue(r["changes"])
        self.assertIn(["extension", ".salt", "epp", False], exclusions())
        self.assertEqual(st.present(".salt", kind="extension")["changes"], {})
        r = st.present("mute-rsync", kind="process", value="/usr/bin/rsync", scope="global")
        self.assertTrue(r["changes"])
        self.assertIn(["process", "/usr/bin/rsync", "global", False], exclusions())
        self.opts["test"] = True
        self.assertIsNone(st.absent(".salt", kind="extension")["result"])
        self.assertIn(["extension", ".salt", "epp", False], exclusions())
        self.opts["test"] = False
        self.assertTrue(st.absent(".salt", kind="extension")["changes"])
        self.assertEqual(st.absent(".salt", kind="extension")["changes"], {})
        self.assertNotIn(["extension", ".salt", "epp", False], exclusions())

    def test_managed_policy(self):
        policy = {"antivirusEngine": {"maximumOnDemandScanThreads": 3, "exclusions": [
            {"$type": "excludedFileExtension", "extension": ".iso"}]}}
        self.pillar["mdatp"] = {"managed_policy": policy}
        r = self.states["mdatp_setting"].policy_applied("policy", timeout=0)
        self.assertFalse(r["result"])
        self.assertIn(THREADS, r["comment"])
        write_policy(policy)
        self.cleanup_policy = True
        r = self.states["mdatp_setting"].policy_applied("policy", timeout=10)
        self.assertEqual((r["result"], r["changes"]), (True, {}), r["comment"])
        self.assertEqual(self.salt["mdatp.get"](THREADS)["managed"], True)
        r = self.states["mdatp_setting"].present(THREADS, 5)
        self.assertIs(r["result"], False)
        self.assertIn("is managed by policy", r["comment"])
        self.assertIn("[ManagedByPolicy]", r["comment"])
        self.assertEqual(self.states["mdatp_setting"].present(THREADS, 3)["changes"], {})
        r = self.states["mdatp_exclusion"].absent(".iso", kind="extension")
        self.assertIs(r["result"], False)
        self.assertIn("managed policy", r["comment"])
        self.opts["test"] = True
        r = self.states["mdatp_exclusion"].absent(".iso", kind="extension")
        self.assertIs(r["result"], False)
        self.assertIn("managed policy", r["comment"])

    # -- the formula ---------------------------------------------------------------------

    def render_formula(self, pillar):
        import jinja2  # pylint: disable=import-outside-toplevel
        import yaml  # pylint: disable=import-outside-toplevel

        def pillar_get(key, default=None):
            value = pillar
            for part in key.split(":"):
                if not isinstance(value, dict) or part not in value:
                    return default
                value = value[part]
            return value

        env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(SALT, "mdatp")),
                                 undefined=jinja2.StrictUndefined)
        text = env.get_template("init.sls").render(salt={"pillar.get": pillar_get},
                                                   pillar=pillar)
        return yaml.safe_load(text)

    def test_formula_renders_from_pillar(self):
        import yaml  # pylint: disable=import-outside-toplevel
        with open(os.path.join(SALT, "mdatp", "pillar.example")) as f:
            pillar = yaml.safe_load(f)
        sls = self.render_formula(pillar)
        # The example installs from an apt repository: the source line in mdatp.list, then
        # the package from it, after it.
        self.assertEqual(sls["mdatp-repository"]["pkgrepo.managed"],
                         [{"name": pillar["mdatp"]["apt_source"]},
                          {"file": "/etc/apt/sources.list.d/mdatp.list"}])
        self.assertEqual(sls["mdatp-package"]["pkg.installed"],
                         [{"name": "mdatp"}, {"refresh": True},
                          {"require": [{"pkgrepo": "mdatp-repository"}]}])
        from_file = copy.deepcopy(pillar)
        del from_file["mdatp"]["apt_source"]
        from_file["mdatp"]["package_path"] = "/tmp/mdatp_0.1.0_amd64.deb"
        self.assertEqual(self.render_formula(from_file)["mdatp-package"]["pkg.installed"],
                         [{"sources": [{"mdatp": "/tmp/mdatp_0.1.0_amd64.deb"}]}])
        policy = dict((k, v) for d in sls["mdatp-managed-policy"]["file.serialize"]
                      for k, v in d.items())
        self.assertEqual(policy["name"], "/etc/opt/microsoft/mdatp/managed/mdatp_managed.json")
        self.assertEqual(policy["dataset"], pillar["mdatp"]["managed_policy"])
        self.assertEqual((policy["mode"], policy["user"], policy["serializer"]),
                         ("0644", "root", "json"))
        self.assertIn({"name": "mdatp"}, sls["mdatp-service"]["service.running"])
        self.assertIn({"value": 4},
                      sls["mdatp-setting-" + THREADS]["mdatp_setting.present"])
        self.assertIn({"kind": "extension"},
                      sls["mdatp-exclusion-extension-epp-.bak"]["mdatp_exclusion.absent"])
        self.assertIn({"scope": "global"},
                      sls["mdatp-exclusion-process-global-/usr/bin/rsync"]
                      ["mdatp_exclusion.present"])
        self.assertIn("mdatp-policy-applied", sls)

        minimal = copy.deepcopy(pillar)
        minimal["mdatp"].update(install=False, manage_service=False)
        sls = self.render_formula(minimal)
        self.assertNotIn("mdatp-package", sls)
        self.assertNotIn("mdatp-service", sls)
        sls = self.render_formula({})
        self.assertEqual(dict((k, v) for d in sls["mdatp-managed-policy"]["file.serialize"]
                              for k, v in d.items())["dataset"], {})
        self.assertEqual(sls["mdatp-package"]["pkg.installed"], [{"name": "mdatp"}])

    def test_formula_policy_applies_in_the_daemon(self):
        # What file.serialize would write (the pillar's policy as JSON), the daemon applies,
        # and mdatp.policy_applied (reading __pillar__) sees it.
        policy = {"antivirusEngine": {"enforcementLevel": "on_demand"},
                  "cloudService": {"automaticSampleSubmissionConsent": "none"}}
        self.pillar["mdatp"] = {"managed_policy": policy}
        write_policy(policy)
        self.cleanup_policy = True
        self.assertTrue(wait_for(lambda: self.salt["mdatp.policy_applied"]()["applied"]))
        self.assertEqual(effective("cloudService.automaticSampleSubmissionConsent"),
                         {"type": "s", "data": "none"})


if __name__ == "__main__":
    unittest.main()
