#!/usr/bin/env bash
# Who may hold the update slot, and whether the schedule survives it: nobody may not run the
# connectivity test; a slow connectivity test neither refuses `mdatp definitions update` nor
# stops the automatic timer (a loop of them used to hold the one update slot, so that every
# automatic update found it busy and was never rescheduled); an update that cannot succeed for
# two intervals shows as overdue in health, and the next success clears it.
# The timer runs every MDATP_UPDATE_INTERVAL=3 seconds here (the setting's minimum is 60).
. "$(dirname "$0")/lib.sh"

src=$(cd "$(dirname "$0")/../.." && pwd)
pack_tool="$MDATP_BUILD_DIR/tools/mdatp-pack/mdatp-pack"
work="$MDATP_SANDBOX_DIR/update-schedule"
mirror="$work/mirror"
mkdir -p "$work" "$mirror"
"$pack_tool" build --key "$MDATP_DEFINITIONS_SIGNING_KEY" --version 2.0.0.0 --out "$work/pack" \
        "$src/definitions/default" >/dev/null && cp -r "$work/pack/." "$mirror/" || fail "pack"

# A plain HTTP mirror. While the file 'slow' holds N > 0, the next N requests for manifest.json
# wait 'delay' seconds each (N = -1: all of them); it prints its port, and logs each request.
echo 0 >"$work/slow"
echo 4 >"$work/delay"
/usr/bin/python3 - "$mirror" "$work" >"$work/port" 2>"$work/server.log" <<'PY' &
import functools, http.server, os, sys, threading, time
d, work = sys.argv[1:3]
lock = threading.Lock()
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("manifest.json"):
            with lock:
                n = int(open(os.path.join(work, "slow")).read())
                if n > 0:
                    open(os.path.join(work, "slow"), "w").write(str(n - 1))
            if n != 0:
                sys.stderr.write("slow request\n"); sys.stderr.flush()
                time.sleep(int(open(os.path.join(work, "delay")).read()))
        return super().do_GET()
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(H, directory=d))
print(s.server_address[1], flush=True)
s.serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_until 10 test -s "$work/port" || fail "the test HTTP server did not start"
url="http://127.0.0.1:$(cat "$work/port")/"

status() { mdatp health --field definitions_status; }
last_update() {
        busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Definitions \
                com.microsoft.Mdatp1.Definitions LastUpdate | cut -d' ' -f2
}
slow_requests() { grep -c "slow request" "$work/server.log"; }

run mdatp config set --name cloudService.definitionUpdateUrl --value "$url"
expect_rc "update URL set" 0

# nobody may not make the daemon open connections, nor take an update slot.
run_nobody mdatp connectivity test
expect_rc "nobody cannot run the connectivity test" 1
expect_contains "nobody: administrator privileges" "$OUT" "requires administrator privileges"
run_nobody busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Definitions \
        com.microsoft.Mdatp1.Definitions TestConnectivity
expect_contains "nobody: TestConnectivity is AccessDenied" "$OUT" "Access denied"

# A slow connectivity test does not refuse an update. (No timer yet: on_demand mode.)
run mdatp config set --name antivirusEngine.enforcementLevel --value on_demand
echo 1 >"$work/slow"
mdatp connectivity test >"$work/conn.out" 2>&1 &
conn=$!
wait_until 10 sh -c "[ \$(grep -c 'slow request' '$work/server.log') -ge 1 ]" ||
        fail "the connectivity test did not reach the server"
run mdatp definitions update
expect_rc "an update while a connectivity test runs" 0
expect_eq "it installs" "$OUT" "Security intelligence updated to version 2.0.0.0"
kill -0 "$conn" 2>/dev/null && pass "the connectivity test was still running meanwhile" ||
        fail "the connectivity test ended before the update (the server was not slow)"
run mdatp connectivity test
expect_rc "a second connectivity test at once is refused" 1
expect_contains "  ... as busy" "$OUT" "connectivity test is already running"
wait "$conn"
expect_eq "the slow connectivity test passes" "$?" 0
expect_contains "  ... with its line" "$(cat "$work/conn.out")" "[OK]"

# The timer: every 3 s in real_time mode, while connectivity tests hold their slot all along.
printf 'MDATP_UPDATE_INTERVAL=3\n' >"$MDATP_SANDBOX_DIR/daemon.env"
run mdatp config set --name antivirusEngine.enforcementLevel --value real_time
restart_daemon || fail "restart"
echo -1 >"$work/slow"
echo 2 >"$work/delay"
( while [ ! -e "$work/stop" ]; do mdatp connectivity test >/dev/null 2>&1; done ) &
loop=$!
before=$(last_update)
advances=0
prev=$before
for _ in $(seq 1 40); do         # 20 s: about five rounds of 3-3.3 s plus 2 s each
        sleep 0.5
        cur=$(last_update)
        [ "$cur" != "$prev" ] && advances=$((advances + 1))
        prev=$cur
done
touch "$work/stop"
wait "$loop"
[ "$advances" -ge 2 ] && pass "automatic updates go on under a connectivity-test loop ($advances in 20 s)" ||
        fail "automatic updates under a connectivity-test loop: $advances in 20 s, expected >= 2"
expect_eq "up to date meanwhile" "$(status)" '"up_to_date"'
echo 0 >"$work/slow"

# Overdue: the mirror goes away; after two intervals (6 s) health says so.
run mdatp config set --name cloudService.definitionUpdateUrl --value "http://127.0.0.1:1/"
wait_until 20 sh -c "mdatp health --field definitions_status | grep -q overdue" &&
        pass "definitions_status is overdue after two intervals without a success" ||
        fail "definitions_status: $(status), expected overdue"
issues=$(mdatp health --field health_issues)
expect_contains "a health issue says so" "$issues" "definition updates are overdue"
expect_contains "  ... with the reason" "$issues" "the last one failed"
expect_eq "healthy is false" "$(mdatp health --field healthy)" "false"

# The mirror is back: the next automatic update clears it.
run mdatp config set --name cloudService.definitionUpdateUrl --value "$url"
wait_until 20 sh -c "mdatp health --field definitions_status | grep -q up_to_date" &&
        pass "the next success clears overdue" || fail "definitions_status: $(status)"
expect_not_contains "the health issue is gone" "$(mdatp health --field health_issues)" "overdue"

: >"$MDATP_SANDBOX_DIR/daemon.env"
finish
