#!/usr/bin/env bash
# Local settings that could not be read back are never written: a Set of 40,000 allowed
# threats (the file would pass the 1 MiB read limit) is refused with a clear message and
# changes nothing, and after a restart the previous settings (passive mode, exclusions) are all
# there. 5,000 exclusions added one by one are all accepted, persisted and survive a restart;
# the time they took is printed (see tests/README.md for figures), not asserted.
. "$(dirname "$0")/lib.sh"

py=/usr/bin/python3
run mdatp config set --name antivirusEngine.enforcementLevel --value passive
expect_rc "passive set" 0
run mdatp exclusion folder add --path /srv/keep/ --scope epp
expect_rc "an exclusion added" 0

# 40,000 allowed threat names: about 1.4 MB of JSON.
run "$py" - <<'PY'
import dbus, sys
bus = dbus.SystemBus()
s = dbus.Interface(bus.get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1"),
                   "com.microsoft.Mdatp1.Settings")
names = dbus.Array(["Trojan:Linux/Sample%05d.A" % i for i in range(40000)], signature="s")
try:
    s.Set("antivirusEngine.allowedThreats", dbus.Array(names, signature="s", variant_level=1),
          timeout=120)
    print("accepted")
except dbus.DBusException as e:
    print(e.get_dbus_name(), e.get_dbus_message())
PY
expect_contains "a Set past the file limit is refused" "$OUT" "org.freedesktop.DBus.Error.LimitsExceeded"
expect_contains "  ... saying it could not be read back" "$OUT" "can be read back at the next start"
expect_contains "  ... and that nothing changed" "$OUT" "nothing was changed"
expect_eq "allowed threats unchanged" "$(mdatp threat allowed list 2>&1 | grep -c Sample)" "0"
size=$(stat -c %s "$MDATP_STATE_DIR/settings.json")
[ "$size" -le 1048576 ] && pass "settings.json stays within the read limit ($size bytes)" ||
        fail "settings.json is $size bytes"

restart_daemon || fail "restart"
expect_eq "after a restart: still passive" "$(health_field passive_mode_enabled)" "true"
expect_contains "after a restart: the exclusion is there" "$(mdatp exclusion list)" "/srv/keep/"
expect_not_contains "after a restart: no settings health issue" "$(health_field health_issues)" "could not be read"

# 5,000 exclusions, one call each.
run "$py" - <<'PY'
import dbus, time
bus = dbus.SystemBus()
ex = dbus.Interface(bus.get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1/Exclusions"),
                    "com.microsoft.Mdatp1.Exclusions")
t0 = t = time.time()
for i in range(5000):
    ex.Add("folder", "/srv/data/dir%06d/" % i, "epp", timeout=120)
    if (i + 1) % 1000 == 0:
        now = time.time()
        print("%d: %.1f s for the last 1000" % (i + 1, now - t)); t = now
print("total %.1f s" % (time.time() - t0))
PY
expect_rc "5,000 exclusions added" 0
echo "# $OUT" | tr '\n' ' '; echo
restart_daemon || fail "restart"
n=$(mdatp exclusion list | grep -c "/srv/data/dir")
expect_eq "after a restart all 5,000 are there" "$n" "5000"
expect_eq "  ... and the mode too" "$(health_field passive_mode_enabled)" "true"
expect_not_contains "  ... without a settings health issue" "$(health_field health_issues)" "could not be read"

finish
