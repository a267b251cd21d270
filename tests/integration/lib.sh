# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for integration tests. Source it from a test run inside scripts/sandbox.sh.
# Each check prints "ok - ..." or "not ok - ..."; finish prints "N passed, N failed" and sets
# the exit code.
set -u

PASSED=0
FAILED=0
OUT=
RC=0

[ "$(id -u)" = 0 ] || { echo "not ok - integration tests must run as root (they drop to nobody themselves)"; exit 1; }
[ -n "${MDATP_SANDBOX_DIR:-}" ] || { echo "not ok - run this test through scripts/sandbox.sh"; exit 1; }

pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# run CMD...: runs it, keeping stdout+stderr in $OUT and the exit code in $RC.
run() {
        RC=0
        OUT=$("$@" 2>&1) || RC=$?
}

# run_nobody CMD...: the same, as the unprivileged user nobody.
run_nobody() {
        run setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
                env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" PATH="$PATH" "$@"
}

expect_rc() {   # expect_rc DESCRIPTION EXPECTED_RC  (checks $RC)
        if [ "$RC" = "$2" ]; then pass "$1"; else fail "$1: exit code $RC, expected $2; output: $OUT"; fi
}

expect_eq() {   # expect_eq DESCRIPTION ACTUAL EXPECTED
        if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi
}

expect_contains() {     # expect_contains DESCRIPTION HAYSTACK NEEDLE
        case "$2" in
        *"$3"*) pass "$1" ;;
        *) fail "$1: '$3' not found in: $2" ;;
        esac
}

expect_not_contains() {
        case "$2" in
        *"$3"*) fail "$1: '$3' unexpectedly found in: $2" ;;
        *) pass "$1" ;;
        esac
}

# wait_until SECONDS CMD...: true once CMD succeeds, false after SECONDS.
wait_until() {
        local deadline
        deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
        shift
        until "$@" >/dev/null 2>&1; do
                [ $(($(date +%s%N) / 1000000)) -lt "$deadline" ] || return 1
                sleep 0.05
        done
}

daemon_up() {
        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                NameHasOwner s com.microsoft.Mdatp1 2>/dev/null | grep -q true
}

# restart_daemon: stops mdatpd with SIGTERM and waits for the sandbox to start it again.
restart_daemon() {
        local old
        old=$(cat "$MDATPD_PID_FILE")
        kill -TERM "$old"
        wait_until 20 sh -c "[ \"\$(cat '$MDATPD_PID_FILE')\" != '$old' ]" || return 1
        wait_until 30 daemon_up
}

health_field() { mdatp health --field "$1" 2>&1; }

write_managed() {       # write_managed JSON: installs the managed policy atomically
        printf '%s\n' "$1" >"$MDATP_MANAGED_DIR/.tmp.json"
        chmod 0644 "$MDATP_MANAGED_DIR/.tmp.json"
        mv -f "$MDATP_MANAGED_DIR/.tmp.json" "$MDATP_MANAGED_DIR/mdatp_managed.json"
}

# Samples are assembled at run time: no file of the tree is one (tests/README.md).
eicar() { printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*'; }
threat_count() { mdatp threat list --output json | grep -o '"tracking_id"' | wc -l; }
quarantined_count() { mdatp threat quarantine list --output json | grep -o '"originalPath"' | wc -l; }
# rtp_prop NAME: a RealTimeProtection property, as busctl prints it.
rtp_prop() {
        busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection \
                com.microsoft.Mdatp1.RealTimeProtection "$1"
}
# rtp_counter NAME: one of RealTimeProtection.GetCounters' counters.
rtp_counter() {
        busctl --system --json=short call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection \
                com.microsoft.Mdatp1.RealTimeProtection GetCounters |
                /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0][sys.argv[1]])' "$1"
}

finish() {
        echo "$PASSED passed, $FAILED failed"
        [ "$FAILED" = 0 ]
}
