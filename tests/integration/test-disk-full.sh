#!/usr/bin/env bash
# A full state file system loses no detection (run with MDATP_SANDBOX_STATE_SIZE: the state
# directory is a small tmpfs). With it full, a custom scan of 20 samples and a real-time
# detection are kept in memory: health names them, the scan's result says they are not recorded
# yet (and `mdatp scan` fails), the history's file holds none of them, the files stay where they
# are. Once space is freed, within a
# bounded wait, every detection is in `mdatp threat list`, every file is quarantined, the scan
# history has the scan and the health issue is gone.
. "$(dirname "$0")/lib.sh"

mountpoint -q "$MDATP_STATE_DIR" || { fail "the state directory is no tmpfs: set MDATP_SANDBOX_STATE_SIZE"; finish; exit 1; }
rtp="$MDATP_RTP_MOUNTS"
samples="$MDATP_SANDBOX_DIR/full-samples"
filler="$MDATP_STATE_DIR/filler"
mkdir -p "$samples"
on_disk_count() { grep -o '"sha256"' "$MDATP_STATE_DIR/threats.json" 2>/dev/null | wc -l; }
samples_left() { find "$samples" "$rtp" -maxdepth 1 -name 'e*.com' | wc -l; }
all_remediated() {
        [ "$(threat_count)" = 21 ] && [ "$(quarantined_count)" = 21 ] && [ "$(samples_left)" = 0 ] &&
                [ "$(health_field health_issues)" = "[]" ]
}

for i in $(seq -w 1 20); do eicar >"$samples/e$i.com"; done
eicar >"$rtp/e-rtp.com"
expect_eq "healthy before" "$(health_field healthy)" "true"

# ---- fill the state file system
dd if=/dev/zero of="$filler" bs=1M status=none 2>/dev/null
dd if=/dev/zero of="$filler" bs=4k oflag=append conv=notrunc status=none 2>/dev/null
if printf x >>"$filler" 2>/dev/null; then fail "the state directory is not full"; else pass "the state directory is full"; fi

# ---- (a) a scan finds 20 threats it cannot record
run timeout 120 mdatp scan custom --path "$samples"
expect_contains "scan finds the samples" "$OUT" "	20 threat(s) detected"
expect_contains "... and says they are not recorded yet" "$OUT" "20 threat(s) not yet recorded or remediated"
expect_rc "... and does not report plain success" 1
expect_eq "the samples are still there" "$(find "$samples" -name 'e*.com' | wc -l)" 20
# The records are made in memory and their write, which failed, waits for the retry.
expect_eq "nothing recorded on disk yet" "$(on_disk_count)" 0
issues=$(health_field health_issues)
expect_contains "health names the unrecorded detections" "$issues" "20 detection(s) could not be recorded: No space left on device; retrying"
expect_contains "... and the unsaved scan history" "$issues" "the scan history could not be saved"
expect_eq "... and is not healthy" "$(health_field healthy)" "false"

# ---- (b) a real-time detection: denied, kept
run cat "$rtp/e-rtp.com"
expect_rc "open of the sample denied" 1
wait_until 10 sh -c "mdatp health --field health_issues | grep -q '21 detection(s) could not be recorded'" &&
        pass "health counts the real-time detection too" ||
        fail "health does not count the real-time detection: $(health_field health_issues)"
[ -e "$rtp/e-rtp.com" ] && pass "the real-time sample is still there" || fail "the real-time sample is gone"

# ---- free the space: everything is recorded, quarantined, and health clears
rm -f "$filler"
if wait_until 90 all_remediated; then
        pass "within 90 s every detection is recorded and quarantined, and health is clear"
else
        fail "not caught up: $(threat_count) threat(s), $(quarantined_count) quarantined, $(samples_left) sample(s) left, issues $(health_field health_issues)"
fi
mdatp threat list --output json | /usr/bin/python3 -c '
import json, sys
st = [t["history"][-1]["value"] for s in json.load(sys.stdin)["threats"]["scans"] for t in s["threats"]]
print(" ".join(sorted(set(st))))' >"$MDATP_SANDBOX_DIR/statuses" 2>&1
expect_eq "every record is quarantined" "$(cat "$MDATP_SANDBOX_DIR/statuses")" "quarantined"
expect_eq "the history on disk has every record" "$(on_disk_count)" 21
expect_contains "the scan history on disk has the scan" "$(cat "$MDATP_STATE_DIR/scans.json")" '"succeeded"'
expect_eq "healthy again" "$(health_field healthy)" "true"

finish
