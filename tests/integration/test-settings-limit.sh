#!/usr/bin/env bash
# Local settings that could not be read back are never written: a Set of 40,000 allowed
# threats (the file would pass the 1 MiB read limit) is refused with a clear message and
# changes nothing, and after a restart the previous settings (passive mode, exclusions) are all
# there. 5,000 exclusions added one by one are all accepted, persisted and survive a restart;
# the time they took is printed (see tests/README.md for figures), not asserted. Adds go to a
# journal beside settings.json: a SIGKILL in the middle of a burst loses at most the add that
# had not been answered, and the journal is folded into settings.json at the next start.
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
[ ! -e "$MDATP_STATE_DIR/settings.json.journal" ] && pass "  ... and the journal was folded in" ||
        fail "a journal is left after a clean start"

# SIGKILL at a random moment of a burst of adds, three rounds: every answered add survives,
# at most the one in flight besides, never anything else; the journal (a torn last line
# included) is read back and folded into settings.json.
for round in 1 2 3; do
        old_pid=$(cat "$MDATPD_PID_FILE")
        run "$py" - "$round" "$old_pid" <<'PY'
import dbus, os, random, signal, sys, threading, time
rnd, pid = sys.argv[1], int(sys.argv[2])
bus = dbus.SystemBus()
ex = dbus.Interface(bus.get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1/Exclusions"),
                    "com.microsoft.Mdatp1.Exclusions")
def kill():
    time.sleep(0.3 + random.random() * 1.5)
    os.kill(pid, signal.SIGKILL)
threading.Thread(target=kill, daemon=True).start()
done = 0
try:
    for i in range(1000000):
        ex.Add("folder", "/srv/crash%s/d%06d/" % (rnd, i), "epp", timeout=120)
        done = i + 1
except dbus.DBusException:
    pass
print(done)
PY
        answered=$(echo "$OUT" | tail -n 1)
        wait_until 20 sh -c "[ \"\$(cat '$MDATPD_PID_FILE')\" != '$old_pid' ]"
        wait_until 30 daemon_up || fail "round $round: the daemon did not come back"
        run "$py" - "$round" "$answered" <<'PY'
import dbus, sys
rnd, answered = sys.argv[1], int(sys.argv[2])
bus = dbus.SystemBus()
ex = dbus.Interface(bus.get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1/Exclusions"),
                    "com.microsoft.Mdatp1.Exclusions")
prefix = "/srv/crash%s/d" % rnd
got = sorted(int(str(e[1])[len(prefix):].rstrip("/")) for e in ex.List()
             if str(e[1]).startswith(prefix))
if got[:answered] != list(range(answered)):
    print("missing answered adds: %d of %d there" % (len(got), answered))
elif len(got) > answered + 1 or got != list(range(len(got))):
    print("unexpected adds: %d there, %d answered" % (len(got), answered))
else:
    print("ok %d answered, %d there" % (answered, len(got)))
PY
        expect_contains "round $round: a SIGKILL mid-burst loses no answered add ($answered)" "$OUT" "ok "
done
restart_daemon || fail "restart"
expect_eq "after the crashes and a restart the 5,000 are still there" \
        "$(mdatp exclusion list | grep -c "/srv/data/dir")" "5000"
[ ! -e "$MDATP_STATE_DIR/settings.json.journal" ] && pass "  ... and the journal was folded in" ||
        fail "a journal is left after a clean start"

finish
