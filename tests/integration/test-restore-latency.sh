#!/usr/bin/env bash
# A restore runs off the daemon's main loop: while a quarantined 2 GB file is restored (decoded,
# written and synced), 50 Health GetAll calls on one connection keep a p99 under 50 ms; a second
# restore and a removal of the same entry are refused with Busy meanwhile; the restore then
# answers with the restored path, the file is whole and the entry gone. A caller that hangs up
# before its answer does not stop the restore, and the daemon goes on answering. A daemon stopped
# during a restore finishes it and exits cleanly. The manual
# quarantine (`mdatp threat quarantine add`) answers when its copy is done, as before.
. "$(dirname "$0")/lib.sh"

bound_ms=${MDATP_HEALTH_P99_MS:-50}    # more under sanitizers (tests/meson.build)

work="$MDATP_SANDBOX_DIR/restore-latency"
lat="$work/latencies"
mkdir -p "$work/big" "$work/small"
threat_id() {        # threat_id PATH: of the newest threat with that path
        mdatp threat list --output json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["threats"]["scans"]:
    for t in s["threats"]:
        if t["threat"]["path"] == sys.argv[1]:
            print(t["threat"]["tracking_id"]); sys.exit(0)' "$1"
}
quarantined() { mdatp threat quarantine list --output json | grep -q "\"$1\""; }
# A sparse XMRig-like ELF of SIZE at PATH (YARA reads the first bytes only), quarantined by a
# scan; prints its threat id.
quarantine_big() {      # quarantine_big PATH SIZE
        printf '\177ELF\002\001\001\000 xmrig stratum+tcp://pool.example:3333 --donate-level randomx cryptonight\n' >"$1"
        truncate -s "$2" "$1"
        timeout 300 mdatp scan custom --path "$1" >"$work/scan.out" 2>&1
        threat_id "$1"
}
restoring() { compgen -G "$1/.mdatp-restore-*" >/dev/null; }
# Restore ID on a connection of its own with a long timeout (a 2 GB copy may outlast sd-bus's
# default 25 s on a slow disk); prints the path the answer gives, or the error.
restore_call() {
        /usr/bin/python3 -c '
import dbus, sys
bus = dbus.SystemBus()
threats = dbus.Interface(bus.get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1/Threats"),
                         "com.microsoft.Mdatp1.Threats")
try:
    print(threats.Restore(sys.argv[1], "", timeout=600))
except dbus.DBusException as e:
    print("error:", e.get_dbus_name(), e.get_dbus_message())' "$1"
}

# ---- a 2 GB restore, health answering meanwhile
big="$work/big/xmrig"
id=$(quarantine_big "$big" 2G)
[ -n "$id" ] && quarantined "$id" && [ ! -e "$big" ] && pass "the 2 GB file is quarantined" ||
        fail "the 2 GB file was not quarantined: $(cat "$work/scan.out")"
restore_call "$id" >"$work/restore.out" 2>&1 &
restore_pid=$!
wait_until 60 restoring "$work/big" && pass "the restore's copy started" ||
        fail "no restore copy seen: $(cat "$work/restore.out")"

# While it runs: the same entry is busy.
run mdatp threat quarantine restore threat-id --id "$id"
[ "$RC" != 0 ] && pass "a second restore of it is refused ($RC)" ||
        fail "a second restore of it succeeded: $OUT"
expect_contains "... as being restored" "$OUT" "being restored"
run mdatp threat quarantine remove --id "$id"
[ "$RC" != 0 ] && pass "its removal is refused ($RC)" || fail "its removal succeeded: $OUT"
expect_contains "... as being restored" "$OUT" "being restored"

overlap=no
restoring "$work/big" && overlap=start
/usr/bin/python3 -u -c '
import dbus, time
bus = dbus.SystemBus()
health = dbus.Interface(bus.get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1"),
                        "org.freedesktop.DBus.Properties")
for _ in range(50):
    t = time.monotonic_ns()
    health.GetAll("com.microsoft.Mdatp1.Health", timeout=30)
    print((time.monotonic_ns() - t) // 1000)
    time.sleep(0.01)
' | sort -n >"$lat"
[ "$overlap" = start ] && restoring "$work/big" && overlap=yes
p50=$(sed -n 25p "$lat"); p99=$(sed -n 50p "$lat")
echo "# 2 GB restore: Health GetAll p50 $((p50 / 1000)) ms, p99 (max of 50) $((p99 / 1000)) ms, all during the copy: $overlap"
expect_eq "50 answers" "$(wc -l <"$lat")" 50
[ -n "$p99" ] && [ "$p99" -lt $((bound_ms * 1000)) ] &&
        pass "health p99 under $bound_ms ms during the restore" ||
        fail "health p99 ${p99:-?} µs during the restore, not under $bound_ms ms"
[ "$overlap" = yes ] && pass "every call ran during the restore's copy" ||
        fail "the restore did not last the 50 calls: the test proves little"

wait "$restore_pid"
expect_eq "the restore answers with the path" "$(cat "$work/restore.out")" "$big"
expect_eq "the file is whole" "$(stat -c %s "$big" 2>&1)" 2147483648
quarantined "$id" && fail "the entry is still in the quarantine" ||
        pass "the entry left the quarantine"
restoring "$work/big" && fail "a temp file is left" || pass "no temp file left"
run mdatp threat quarantine restore threat-id --id "$id"
[ "$RC" != 0 ] && pass "a restore after it finished is refused ($RC)" ||
        fail "a restore after it finished succeeded: $OUT"
expect_contains "... the entry is not found" "$OUT" "No quarantined file"
rm -f "$big"

# ---- a caller that hangs up before the answer: the restore finishes all the same
small="$work/small/xmrig"
id=$(quarantine_big "$small" 512M)
[ -n "$id" ] && quarantined "$id" && pass "a 512 MB file is quarantined" ||
        fail "the 512 MB file was not quarantined: $(cat "$work/scan.out")"
# The caller sends the call and waits; once the restore's copy runs, it is killed.
/usr/bin/python3 -c '
import dbus, dbus.lowlevel, sys, time
bus = dbus.SystemBus()
m = dbus.lowlevel.MethodCallMessage("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1/Threats",
                                    "com.microsoft.Mdatp1.Threats", "Restore")
m.append(sys.argv[1], "", signature="ss")
bus.send_message(m)
bus.flush()
time.sleep(600)' "$id" &
caller_pid=$!
wait_until 60 restoring "$work/small" && pass "the restore of the 512 MB file started" ||
        fail "no restore copy seen for the 512 MB file"
kill "$caller_pid"
wait "$caller_pid" 2>/dev/null
wait_until 120 sh -c "[ -e '$small' ] && ! ls -a '$work/small' | grep -q '^.mdatp-restore-'" &&
        pass "the restore finished after its caller left" ||
        fail "the restore of a caller that left did not finish"
expect_eq "... the file is whole" "$(stat -c %s "$small" 2>&1)" 536870912
wait_until 10 sh -c "! mdatp threat quarantine list --output json | grep -q '\"$id\"'" &&
        pass "... and the entry left the quarantine" || fail "the entry is still quarantined"
run mdatp health --field healthy
expect_rc "the daemon answers afterwards" 0
rm -f "$small"

# ---- the daemon stopped (SIGTERM) while a restore runs: the restore finishes first, the daemon
# exits cleanly, and after the restart the file is in place and the entry gone
id=$(quarantine_big "$small" 1G)
[ -n "$id" ] && quarantined "$id" && pass "a 1 GB file is quarantined" ||
        fail "the 1 GB file was not quarantined: $(cat "$work/scan.out")"
restore_call "$id" >"$work/restore-stop.out" 2>&1 &
restore_pid=$!
wait_until 60 restoring "$work/small" && pass "the restore of the 1 GB file started" ||
        fail "no restore copy seen for the 1 GB file"
restart_daemon && pass "the daemon stopped and came back" || fail "the daemon did not come back"
expect_eq "... it exited cleanly" "$(cat "$MDATP_SANDBOX_DIR/mdatpd.status")" 0
wait "$restore_pid"
echo "# the caller of the interrupted restore got: $(cat "$work/restore-stop.out")"
expect_eq "the restored file is whole" "$(stat -c %s "$small" 2>&1)" 1073741824
quarantined "$id" && fail "the entry is still in the quarantine" ||
        pass "the entry left the quarantine"
restoring "$work/small" && fail "a temp file is left" || pass "no temp file left"
rm -f "$small"

# ---- the manual quarantine answers when its copy is done
run mdatp config passive-mode --value enabled
expect_rc "passive mode on: detections stay in place" 0
sample="$work/small/eicar.com"
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' >"$sample"
timeout 60 mdatp scan custom --path "$sample" >/dev/null 2>&1
id=$(threat_id "$sample")
[ -n "$id" ] && [ -e "$sample" ] && pass "a passive detection stays in place" ||
        fail "no passive detection of $sample"
run mdatp threat quarantine add --id "$id"
expect_eq "quarantine add answers when done" "$OUT" "Threat $id quarantined"
[ ! -e "$sample" ] && quarantined "$id" && pass "... the file is in the quarantine" ||
        fail "the file was not quarantined"
run mdatp threat quarantine add --id "$id"
[ "$RC" != 0 ] && pass "a second quarantine add is refused ($RC)" ||
        fail "a second quarantine add succeeded: $OUT"
run mdatp threat quarantine restore threat-id --id "$id"
expect_eq "and restored again" "$OUT" "Threat restored to \"$sample\""

finish
