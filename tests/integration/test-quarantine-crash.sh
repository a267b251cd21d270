#!/usr/bin/env bash
# Quarantine and restore are transactions: the daemon is killed with SIGKILL at random moments
# while it quarantines (an on-demand scan in real_time mode) or restores (restore threat-path)
# hundreds of files, and restarted. After every restart each file is in exactly one place: at
# its path with its exact bytes, or in the quarantine under that original path. At the end every
# file is restored and every SHA-256 matches.
#
# Bounded for CI: MDATP_CRASH_FILES (default 150) files, MDATP_CRASH_ROUNDS (default 10) kills.
# A longer run: MDATP_CRASH_FILES=1000 MDATP_CRASH_ROUNDS=200 scripts/sandbox.sh -- $0
. "$(dirname "$0")/lib.sh"

n_files=${MDATP_CRASH_FILES:-150}
rounds=${MDATP_CRASH_ROUNDS:-10}
dir="$MDATP_SANDBOX_DIR/crash"
qdir="$MDATP_STATE_DIR/quarantine"
manifest="$MDATP_SANDBOX_DIR/crash.manifest"
mkdir -p "$dir"

busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
        antivirusEngine.threatRestorationExclusionTime i 0 >/dev/null || fail "setting the restore grace"

# n distinct EICAR files: the test string followed by a unique run of blanks (still detected).
/usr/bin/python3 - "$dir" "$n_files" "$manifest" <<'EOF'
import hashlib, os, sys
d, n, manifest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
eicar = b'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-' + b'ANTIVIRUS-TEST-FILE!$H+H*'
with open(manifest, "w") as m:
    for i in range(n):
        tail = bytes(b" \t\r\n"[(i >> (2 * k)) & 3] for k in range(5))
        data = eicar + tail
        p = os.path.join(d, "s%04d.com" % i)
        with open(p, "wb") as f: f.write(data)
        os.chmod(p, 0o640 | (i % 2) * 0o4000)
        m.write("%s %s\n" % (p, hashlib.sha256(data).hexdigest()))
EOF

quarantined() {
        mdatp threat quarantine list --output json | /usr/bin/python3 -c '
import json, sys
for q in json.load(sys.stdin)["quarantinedFiles"]: print(q["originalPath"])'
}

# Every file in exactly one place; prints the problems, returns 1 if any.
check_one_place() {
        local q
        q=$(quarantined) || { echo "quarantine list failed"; return 1; }
        /usr/bin/python3 - "$manifest" "$dir" <<EOF
import hashlib, os, sys
q = """$q""".split("\n")
bad = 0
for line in open(sys.argv[1]):
    p, want = line.split()
    here = os.path.lexists(p)
    if here:
        got = hashlib.sha256(open(p, "rb").read()).hexdigest()
        if got != want:
            print("wrong bytes at", p); bad += 1
    n = q.count(p)
    if here + n != 1:
        print(p, "in place" if here else "not in place", "and", n, "time(s) in the quarantine"); bad += 1
for name in os.listdir(sys.argv[2]):
    if not name.startswith("s"):
        print("stray file", name); bad += 1
sys.exit(1 if bad else 0)
EOF
}

restore_all() {
        quarantined | while read -r p; do
                mdatp threat quarantine restore threat-path --path "$p" >/dev/null 2>&1 || true
        done
}

kills=0
for round in $(seq 1 "$rounds"); do
        if [ $((round % 2)) = 1 ]; then
                timeout 120 mdatp scan custom --path "$dir" >/dev/null 2>&1 &
        else
                restore_all &
        fi
        op=$!
        # A random moment inside the operation: 50 ms to 1.5 s.
        sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
        [ $((RANDOM % 3)) = 0 ] && sleep 0.5
        pid=$(cat "$MDATPD_PID_FILE")
        kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
        wait_until 20 sh -c "[ \"\$(cat '$MDATPD_PID_FILE')\" != '$pid' ]" || fail "round $round: no new daemon"
        wait_until 20 daemon_up || fail "round $round: daemon not back"
        wait "$op" 2>/dev/null
        if out=$(check_one_place); then
                pass "round $round: after SIGKILL every file is in exactly one place"
        else
                fail "round $round: $out"
        fi
done
expect_eq "the daemon was killed every round" "$kills" "$rounds"

# Bring everything back and compare.
restore_all
left=$(quarantined | wc -l)
expect_eq "everything restored at the end" "$left" "0"
if out=$(check_one_place); then pass "every file back with its exact bytes"; else fail "$out"; fi
modes=$(stat -c %a "$dir"/s0000.com "$dir"/s0001.com | tr '\n' ' ')
expect_eq "modes restored (setuid bit included)" "$modes" "640 4640 "
leftovers=$(find "$qdir" -type f | wc -l)
expect_eq "no file left in the quarantine directory" "$leftovers" "0"

finish
