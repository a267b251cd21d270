#!/usr/bin/env bash
# The daemon's own scan (scanAfterDefinitionUpdate) never refuses a client's: a client's scan
# started while it runs succeeds, the daemon's scan is recorded as cancelled and runs again
# afterwards; an update while a client's scan runs queues the daemon's scan behind it; two
# clients' scans still exclude each other.
. "$(dirname "$0")/lib.sh"

src=$(cd "$(dirname "$0")/../.." && pwd)
pack_tool="$MDATP_BUILD_DIR/tools/mdatp-pack/mdatp-pack"
work="$MDATP_SANDBOX_DIR/yield"
mirror="$work/mirror"
mkdir -p "$work/exes" "$work/clean" "$work/big"
echo "just text" >"$work/clean/a.txt"

publish() {     # publish VERSION: a pack of the default rules in the directory mirror
        rm -rf "${mirror:?}" "$work/pack"
        "$pack_tool" build --key "$MDATP_DEFINITIONS_SIGNING_KEY" --version "$1" --out "$work/pack" \
                "$src/definitions/default" >/dev/null && cp -r "$work/pack" "$mirror"
}
running() { busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Running | awk '{ print $2 }' | tr -d '"'; }
scan_prop() { busctl --system get-property com.microsoft.Mdatp1 "$1" com.microsoft.Mdatp1.Scan "$2" | cut -d' ' -f2- | tr -d '"'; }
no_scan() { [ "$(running)" = / ]; }
# scans_after ID: "id kind state" of every scan newer than ID, oldest first.
scans_after() {
        mdatp scan list --output json | /usr/bin/python3 -c '
import json, sys
for s in sorted(json.load(sys.stdin), key=lambda s: s["id"]):
    if s["id"] > int(sys.argv[1]): print(s["id"], s["kind"].lower(), s["state"].lower())' "$1"
}

busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
        antivirusEngine.enforcementLevel s real_time >/dev/null || fail "real_time mode"
run mdatp config set --name cloudService.definitionUpdateUrl --value "$mirror"
expect_rc "a directory mirror as the update source" 0

# The post-update scan reads the executables of running processes: these, padded (sparse) to
# 64 MiB each, keep it busy for seconds.
pids=()
for i in $(seq 1 "${MDATP_YIELD_PROCESSES:-60}"); do
        cp /bin/sleep "$work/exes/sleep$i"
        truncate -s 64M "$work/exes/sleep$i"
        "$work/exes/sleep$i" 600 &
        pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT

# ---- a client's scan while the daemon's post-update scan runs
publish 2.0.0.0
run mdatp definitions update
expect_eq "update from the mirror" "$OUT" "Security intelligence updated to version 2.0.0.0"
daemon_scan=$(running)
if [ "$daemon_scan" != / ]; then pass "the post-update scan runs ($daemon_scan)"; else fail "no post-update scan running"; fi
daemon_id=${daemon_scan##*/}
run timeout 120 mdatp scan custom --path "$work/clean"
expect_rc "a client's scan during the daemon's succeeds" 0
expect_contains "and finishes" "$OUT" "Scan has finished"
expect_not_contains "not refused as already running" "$OUT" "already running"
wait_until 10 sh -c "[ \"\$(busctl --system get-property com.microsoft.Mdatp1 '$daemon_scan' com.microsoft.Mdatp1.Scan State)\" != 's \"running\"' ]"
expect_eq "the daemon's scan gave way: cancelled" "$(scan_prop "$daemon_scan" State)" "cancelled"
expect_contains "its Error says why" "$(scan_prop "$daemon_scan" Error)" "gave way to scan"
if wait_until 120 no_scan; then pass "all scans end"; else fail "a scan still runs: $(running)"; fi
list=$(scans_after "$((daemon_id - 1))")
# the daemon's (cancelled), the client's (succeeded), the daemon's again (succeeded)
expect_eq "scan list: the daemon's scan cancelled, the client's, the daemon's again" \
        "$(echo "$list" | awk '{ print $2, $3 }' | tr '\n' ';')" \
        "custom cancelled;custom succeeded;custom succeeded;"
expect_contains "the log says it starts again" "$(cat "$MDATP_SANDBOX_DIR/mdatpd.log")" \
        "Scan $daemon_id starts again, as scan"

# ---- an update while a client's scan runs: the daemon's scan waits for it
for i in $(seq 1 1000); do truncate -s 64M "$work/big/f$i"; done
last=$(mdatp scan list --output json | /usr/bin/python3 -c 'import json,sys; print(max(s["id"] for s in json.load(sys.stdin)))')
busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Start 'sasa{sv}' custom 1 "$work/big" 0 >/dev/null
client_scan=$(running)
run busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Start 'sasa{sv}' custom 1 "$work/clean" 0
expect_contains "two clients' scans: the second is Busy" "$OUT" "already running"
publish 3.0.0.0
run mdatp definitions update
expect_eq "update during a client's scan" "$OUT" "Security intelligence updated to version 3.0.0.0"
expect_eq "the client's scan keeps running" "$(running)" "$client_scan"
run mdatp scan cancel
expect_eq "the client cancels its scan" "$OUT" "Scan cancelled"
if wait_until 120 no_scan; then pass "all scans end"; else fail "a scan still runs: $(running)"; fi
expect_eq "scan list: the client's scan cancelled, then the daemon's queued one" \
        "$(scans_after "$last" | awk '{ print $2, $3 }' | tr '\n' ';')" \
        "custom cancelled;custom succeeded;"

finish
