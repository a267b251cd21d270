#!/usr/bin/env bash
# mdatp health while a monitored mount does not answer: a FUSE filesystem (tests/helpers/
# test-fuse-fs) is the one mount real-time protection watches; its server is stopped with
# SIGSTOP, then exclusions covering its mount point come and go (each moves the marks and makes
# the self-check probe that mount again, on the marks thread) and a setting changes while
# `mdatp health` is called 100 times and timed: p99 must stay under 50 ms. After SIGCONT the
# daemon must recover on its own (the marks re-applied, the self-check passing on that mount)
# and an open on the mount must come back. The server is always continued and unmounted at the
# end, whatever failed.
. "$(dirname "$0")/lib.sh"

fs=${MDATP_TEST_FUSE_FS:-}
if [ -z "$fs" ] || [ ! -x "$fs" ] || [ ! -e /dev/fuse ]; then
        fail "no FUSE helper or /dev/fuse (scripts/deps.sh --tests installs libfuse3-dev and fuse3; then rebuild)"
        finish
        exit 1
fi

fuse="$MDATP_SANDBOX_DIR/fuse"
fs_pid=
cleanup() {
        if [ -n "$fs_pid" ]; then
                kill -CONT "$fs_pid" 2>/dev/null
        fi
        if mountpoint -q "$fuse" 2>/dev/null; then
                fusermount3 -u "$fuse" 2>/dev/null || umount -l "$fuse" 2>/dev/null
        fi
        if [ -n "$fs_pid" ]; then
                kill -TERM "$fs_pid" 2>/dev/null
                wait "$fs_pid" 2>/dev/null
        fi
        rm -f "$MDATP_SANDBOX_DIR/daemon.env"
}
trap cleanup EXIT
# Killed by meson's timeout: still continue and unmount (the sandbox then removes the directory).
trap 'exit 130' INT TERM

# Through the bus, not the CLI: nothing here may stat a path on the frozen mount.
exclusion() {   # exclusion Add|Remove
        timeout 30 busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Exclusions \
                com.microsoft.Mdatp1.Exclusions "$1" sss folder "$fuse/" epp
}
set_noexec_policy() {
        timeout 30 busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
                antivirusEngine.nonExecMountPolicy s "$1" >/dev/null
}
marked_is() { [ "$(rtp_prop MarkedMounts)" = "$1" ]; }
rtp_error_is_empty() { [ "$(rtp_prop Error)" = 's ""' ]; }
counter_above() { [ "$(rtp_counter "$1")" -gt "$2" ]; }
now_us() { echo $(($(date +%s%N) / 1000)); }
# health_times N [CHANGE_AT]: runs `mdatp health` N times, timing each (µs, one a line, sorted);
# at call CHANGE_AT changes a setting first. Stops after 3 calls out of time (5 s each).
health_times() {
        local i t0 t1 bad=0 times=()
        for i in $(seq 1 "$1"); do
                [ "$i" = "${2:-0}" ] && set_noexec_policy mute
                t0=$(now_us)
                timeout 5 mdatp health >/dev/null 2>&1 || bad=$((bad + 1))
                t1=$(now_us)
                times+=($((t1 - t0)))
                [ "$bad" -lt 3 ] || return 1
        done
        [ "$bad" = 0 ] || return 1
        printf '%s\n' "${times[@]}" | sort -n
}
ms() { echo "$(($1 / 1000)).$((($1 % 1000) / 100))"; }

# ---- the mount, watched alone, proven by the self-check before anything freezes
mkdir -p "$fuse"
"$fs" "$fuse" &
fs_pid=$!
if wait_until 10 mountpoint -q "$fuse"; then pass "the FUSE filesystem is mounted"; else fail "the FUSE filesystem did not mount"; finish; exit 1; fi
printf 'clean\n' >"$fuse/clean.txt"
echo "MDATP_RTP_MOUNTS=$fuse" >"$MDATP_SANDBOX_DIR/daemon.env"
restart_daemon || { fail "the daemon did not come back with the FUSE mount to watch"; finish; exit 1; }
if wait_until 10 marked_is "as 1 \"$fuse\""; then pass "the FUSE mount is marked"; else fail "marked mounts: $(rtp_prop MarkedMounts)"; fi
if wait_until 10 rtp_error_is_empty; then pass "the self-check passed on the FUSE mount"; else fail "real-time protection error: $(rtp_prop Error)"; fi
expect_eq "healthy before the freeze" "$(health_field healthy)" "true"

# The same calls before anything freezes, for comparison.
if base=$(health_times 100); then pass "health answers before the freeze"; else fail "health does not answer before the freeze"; fi
base_p99=$(sed -n 99p <<<"$base")
base_p99=${base_p99:-0}
echo "# mdatp health before the freeze (100 calls): p50 $(ms "$(sed -n 50p <<<"$base")") ms, p99 $(ms "$base_p99") ms"

# ---- frozen: the marks move twice and the self-check probes the mount that does not answer
kill -STOP "$fs_pid"
reconf_before=$(rtp_counter reconfigurations)
syncs_before=$(rtp_counter mark_syncs)
t0=$(now_us)
run exclusion Add
expect_rc "an exclusion of the frozen mount point is accepted" 0
run exclusion Remove
expect_rc "and removed" 0
t1=$(now_us)
set_ms=$(((t1 - t0) / 1000))
if [ "$set_ms" -lt 1000 ]; then pass "both changes answered in ${set_ms} ms"; else fail "the changes took ${set_ms} ms"; fi

if ! sorted=$(health_times 100 50); then
        fail "mdatp health does not answer while the mount is frozen"
        finish
        exit 1
fi
pass "every health call succeeded while frozen"
p50=$(sed -n 50p <<<"$sorted")
p99=$(sed -n 99p <<<"$sorted")
echo "# mdatp health while the FUSE server is stopped (100 calls): p50 $(ms "$p50") ms, p99 $(ms "$p99") ms, max $(ms "$(sed -n 100p <<<"$sorted")") ms"
# Each call starts the CLI, whose start-up the machine's load can stretch beyond the daemon's
# answer: the bound is 50 ms (150 ms with sanitizers), or twice the p99 of the same calls before
# the freeze when the machine is slower than that. A hang (the calls waiting for the mount) is
# seconds.
limit=$((${MDATP_HEALTH_P99_MS:-50} * 1000))
[ "$base_p99" -gt $((limit / 2)) ] && limit=$((base_p99 * 2))
if [ "$p99" -lt "$limit" ]; then
        pass "mdatp health p99 under $(ms "$limit") ms while frozen ($(ms "$p99") ms)"
else
        fail "mdatp health p99 $(ms "$p99") ms while frozen (limit $(ms "$limit") ms)"
fi

# The daemon's own share, without starting a process per call: 100 GetAll of Health from one
# client, under 50 ms each at p99 in every build, while the mount is still frozen.
run /usr/bin/python3 - <<'PY'
import dbus, time
bus = dbus.SystemBus()
health = dbus.Interface(bus.get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1"),
                        "org.freedesktop.DBus.Properties")
t = []
for _ in range(100):
    s = time.monotonic()
    health.GetAll("com.microsoft.Mdatp1.Health", timeout=10)
    t.append((time.monotonic() - s) * 1000)
t.sort()
print("%.1f %.1f %.1f" % (t[49], t[98], t[99]))
PY
expect_rc "100 Health GetAll calls answered while frozen" 0
read -r g50 g99 gmax <<<"$OUT"
echo "# Health GetAll while the FUSE server is stopped (100 calls, one client): p50 $g50 ms, p99 $g99 ms, max $gmax ms"
if /usr/bin/python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 50 else 1)" "${g99:-999}"; then
        pass "Health GetAll p99 under 50 ms while frozen"
else
        fail "Health GetAll p99 $g99 ms while frozen"
fi
echo "# while frozen: reconfigurations $reconf_before -> $(rtp_counter reconfigurations), mark_syncs $syncs_before -> $(rtp_counter mark_syncs), error: $(rtp_prop Error)"

# ---- continued: the daemon follows on its own, and a new re-mark proves itself again
kill -CONT "$fs_pid"
# Three requests while the marks thread may be held: applied as one to three (they coalesce).
if wait_until 20 counter_above reconfigurations "$reconf_before"; then
        pass "the reconfigurations made while frozen were applied"
else
        fail "reconfigurations: $reconf_before -> $(rtp_counter reconfigurations)"
fi
set_noexec_policy unmute
run exclusion Add
run exclusion Remove
if wait_until 20 marked_is "as 1 \"$fuse\""; then pass "the FUSE mount is marked again"; else fail "marked mounts: $(rtp_prop MarkedMounts)"; fi
if wait_until 20 rtp_error_is_empty; then pass "the self-check passes again after the freeze"; else fail "real-time protection error: $(rtp_prop Error)"; fi
if wait_until 10 sh -c '[ "$(mdatp health --field healthy)" = true ]'; then pass "healthy again"; else fail "health: $(mdatp health 2>&1 | grep -i -e healthy -e issue)"; fi
run timeout 10 cat "$fuse/clean.txt"
expect_rc "an open on the mount comes back after the freeze" 0
expect_eq "and reads the file" "$OUT" "clean"

finish
