#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/rtp-bench-inner.sh run | warm-prepare MODE DIR
#
# The part of bench/run-rtp-bench.sh that runs inside scripts/sandbox.sh (private bus, real mdatpd
# loaded with the bench pack, watching only the sandbox's tmpfs $MDATP_RTP_MOUNTS). Not meant to
# be started by hand: it needs the sandbox's environment (MDATPD_PID_FILE, MDATP_SANDBOX_DIR,
# MDATP_RTP_MOUNTS, DBUS_SYSTEM_BUS_ADDRESS) and run-rtp-bench.sh's (BENCH_RES, BENCH_FILES,
# BENCH_RUNS, BENCH_BUILD_RUNS, BENCH_CLAM_RUNS, BENCH_READER, BENCH_SRC_TAR, BENCH_CLAMDB,
# BENCH_CLAM).
#
# Modes, in this order: "off" (enforcementLevel on_demand: no fanotify group), "mdatp"
# (real_time), "floor" (on_demand, bench/rtp-floor answering every event at once; small-file
# cases only), "clam" (on_demand, clamd + clamonacc --fdpass watching the same tmpfs), and "off"
# again at the end for the small-file cases ("off2"; the VM's speed drifts). Cases per mode:
#   cold    hyperfine --prepare writes a fresh tree of BENCH_FILES small files (new inodes, never
#           opened for reading), the timed command reads every file once
#   warm    --prepare (warm-prepare) writes a fresh tree and reads it once, untimed; the timed
#           command reads it again: every timed run is a true second pass
#   build   --prepare untars the project's source; timed: meson setup -Dtests=false + ninja
# and, unless BENCH_MARKS=0, the ignore-mark limit: BENCH_MARKS_FILES (70,000) files, more than
# the daemon's old ignore-mark limit (65,536), read three times with mdatp on (not timed with hyperfine).
#
#   warm-prepare MODE DIR   hyperfine's --prepare of the warm case; for MODE mdatp it also
#                           appends GetCounters before and after to $RES/mdatp-warm.cur.counters.jsonl,
#                           so the events of each timed pass are known
# Everything this script starts (clamd, clamonacc, rtp-floor) is stopped by PID on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

case "${1:-}" in
run) ;;
warm-prepare) [ $# = 3 ] || exit 2 ;;
*) sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
RES=${BENCH_RES:?run from bench/run-rtp-bench.sh}

T=${MDATP_RTP_MOUNTS:?no watched mount}
mountpoint -q "$T" || { log "$T is not a mount point"; exit 1; }
N=$BENCH_FILES RUNS=$BENCH_RUNS BRUNS=$BENCH_BUILD_RUNS CRUNS=$BENCH_CLAM_RUNS
READER=$BENCH_READER TAR=$BENCH_SRC_TAR SELF=$HERE/rtp-bench-inner.sh
TO=${CASE_TIMEOUT:-300}
QUIET_WAIT=${QUIET_WAIT:-30} OTHER_MAX=${OTHER_MAX:-0.10} TRIES=$((${RETRIES:-1} + 1))
BUDGET=${BENCH_BUDGET:-360}    # s of this script after which nothing waits or retries any more
hz=$(getconf CLK_TCK) ncpu=$(nproc)
RTP_OBJ=/com/microsoft/Mdatp1/RealTimeProtection RTP_IF=com.microsoft.Mdatp1.RealTimeProtection

# ---- the daemon ------------------------------------------------------------------------------
set_level() {
        busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings \
                Set sv antivirusEngine.enforcementLevel s "$1" >/dev/null
}
rtp_enabled() {
        busctl --system get-property com.microsoft.Mdatp1 "$RTP_OBJ" "$RTP_IF" Enabled | awk '{print $2}'
}
wait_enabled() {        # wait_enabled true|false
        local i
        for ((i = 0; i < 200; i++)); do
                [ "$(rtp_enabled)" = "$1" ] && return 0
                sleep 0.05
        done
        log "real-time protection did not become Enabled=$1"; return 1
}
counters() {            # counters FILE: GetCounters as one JSON object
        busctl --system --json=short call com.microsoft.Mdatp1 "$RTP_OBJ" "$RTP_IF" GetCounters |
                $PY -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"][0]))' > "$1"
}
counters_line() {        # counters_line FILE: appends GetCounters as one JSON line
        busctl --system --json=short call com.microsoft.Mdatp1 "$RTP_OBJ" "$RTP_IF" GetCounters |
                $PY -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"][0]))' >> "$1"
}
# Off and on again: a new fanotify group, so the counters (max_latency_us too) start from 0 and
# no ignore mark is left. The verdict cache stays (fresh trees have new inodes and times).
rtp_fresh() {
        set_level on_demand; wait_enabled false
        set_level real_time; wait_enabled true
}
rtp_off() { set_level on_demand; wait_enabled false; }

# ---- clamd + clamonacc -----------------------------------------------------------------------
CLAMD_PID= ONACC_PID= CD= AFTER= FLOOR_PID=
clam_stop() {
        local p
        for p in $ONACC_PID $CLAMD_PID; do
                kill -0 "$p" 2>/dev/null || continue
                kill -TERM "$p" 2>/dev/null
                for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null || true
        done
        ONACC_PID= CLAMD_PID=
        if [ -n "$CD" ]; then
                cp "$CD"/clamd.conf "$CD"/*.log "$CD"/*.out "$RES/" 2>/dev/null || true
                rm -rf "$CD"; CD=
        fi
}
floor_stop() {
        [ -n "$FLOOR_PID" ] || return 0
        kill -TERM "$FLOOR_PID" 2>/dev/null
        wait "$FLOOR_PID" 2>/dev/null || true
        FLOOR_PID=
}
cleanup() { set +e; clam_stop; floor_stop; }
trap cleanup EXIT

eicar() { printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*'; }
# probe DIR SECONDS: writes an EICAR file in DIR and tries to read it until that fails with
# EPERM (true; PROBE_MS = ms from writing it to the first denied read) or SECONDS pass (false).
# Removes the file when it is still there.
probe() {
        local f=$1/probe-eicar-$$-$RANDOM.com deadline=$((SECONDS + $2)) ok=1 err t0
        t0=$(date +%s%N)
        eicar > "$f"
        while :; do
                err=$(cat "$f" 2>&1 >/dev/null) || true
                case $err in *"Operation not permitted"*) ok=0; break ;; esac
                [ "$SECONDS" -lt "$deadline" ] || break
                sleep 0.05
        done
        PROBE_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
        rm -f "$f"
        return $ok
}

clam_start() {
        CD=$(mktemp -d /tmp/rtp-bench-clamd.XXXXXX)
        mkdir -p "$CD/tmp"
        # clamonacc refuses to start unless some UID is excluded (its own scanner's opens must not
        # raise events for it to wait on). The usual setup: clamd drops to the clamav user and
        # that user is excluded. clamonacc passes each event's descriptor to clamd (--fdpass), so
        # clamd opens nothing on the watched tmpfs anyway. OnAccessExcludeRootUID would exempt
        # this benchmark itself, which runs as root.
        chown -R clamav: "$CD"
        cat > "$CD/clamd.conf" <<EOF
LocalSocket $CD/clamd.sock
LocalSocketMode 660
FixStaleSocket yes
User clamav
DatabaseDirectory $BENCH_CLAMDB
TemporaryDirectory $CD/tmp
LogFile $CD/clamd.log
LogTime yes
Foreground yes
MaxThreads 10
OnAccessIncludePath $T
OnAccessPrevention yes
OnAccessExcludeUname clamav
EOF
        clamd -c "$CD/clamd.conf" > "$CD/clamd.out" 2>&1 &
        CLAMD_PID=$!
        local i
        for ((i = 0; i < 600; i++)); do          # up to ~60 s (the bench DB loads in < 1 s)
                [ -S "$CD/clamd.sock" ] && clamdscan --config-file="$CD/clamd.conf" --ping 1 >/dev/null 2>&1 && break
                kill -0 "$CLAMD_PID" 2>/dev/null || break
                sleep 0.1
        done
        clamdscan --config-file="$CD/clamd.conf" --ping 1 >/dev/null 2>&1 ||
                { log "clamd did not start (see $RES/clamd.out)"; return 1; }
        # Debug output (-v) would log every event; without it the log has detections only.
        clamonacc --foreground --config-file="$CD/clamd.conf" --fdpass --log="$CD/clamonacc.log" \
                > "$CD/clamonacc.out" 2>&1 &
        ONACC_PID=$!
        CLAM_T0=$(date +%s%N)
}

# ---- other load on the machine (as in scan-bench-inner.sh) ------------------------------------
# Whole-machine busy time minus ours: this script with its reaped children (hyperfine, readers,
# builds), the sandbox's dbus-daemon and polkitd, mdatpd, clamd and clamonacc.
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
STACK_PIDS=$(ps -o pid=,comm= --ppid "$PPID" | awk '$2 == "dbus-daemon" || $2 == "polkitd" {print $1}')
self_ticks() {
        local p t=0
        for p in $$ $STACK_PIDS "$(cat "$MDATPD_PID_FILE")" $CLAMD_PID $ONACC_PID $FLOOR_PID; do
                [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")))
        done
        echo "$t"
}
wait_quiet() {
        local t0=$SECONDS b0 b1
        while :; do
                b0=$(busy_ticks); sleep 1; b1=$(busy_ticks)
                [ $(( (b1 - b0) * 10 )) -lt $(( hz * ncpu )) ] && return 0
                if [ $((SECONDS - t0)) -ge "$QUIET_WAIT" ]; then
                        log "machine still busy after ${QUIET_WAIT}s ($(( (b1 - b0) * 100 / (hz * ncpu) ))%); going on"
                        return 0
                fi
                [ "$SECONDS" -lt "$BUDGET" ] || return 0
                sleep 1
        done
}

# timed NAME TRIES HYPERFINE-ARGS...: hyperfine into $RES/NAME.json; the files the commands write
# as $RES/NAME.cur.* are kept, of the attempt kept, as $RES/NAME.* (e.g. the reader's lines in
# NAME.jsonl). $AFTER, when set, runs after each attempt's hyperfine. Up to TRIES attempts
# while others took more than OTHER_MAX of the machine and the budget lasts; keeps the attempt
# with the least interference. Sets OTHER.
timed() {
        local name=$1 tries=$2 attempt b0 b1 s0 s1 w0 w1 best=
        shift 2
        for ((attempt = 1; attempt <= tries; attempt++)); do
                wait_quiet
                rm -f "$RES/$name".cur.*
                s0=$(self_ticks); b0=$(busy_ticks); w0=$(date +%s.%N)
                timeout "$TO" hyperfine --style basic --export-json "$RES/$name.cur.json" \
                        --command-name "$name" "$@" > "$RES/$name.hf" 2>&1 ||
                        log "hyperfine failed for $name (see $RES/$name.hf)"
                w1=$(date +%s.%N); b1=$(busy_ticks); s1=$(self_ticks)
                [ -z "$AFTER" ] || $AFTER
                OTHER=$(awk -v b=$((b1 - b0)) -v s=$((s1 - s0)) -v hz="$hz" -v n="$ncpu" \
                        -v w0="$w0" -v w1="$w1" 'BEGIN { o = (b - s) / hz / n / (w1 - w0);
                                                       printf "%.3f", o < 0 ? 0 : o }')
                echo "$name attempt $attempt: others took $OTHER of the machine" >> "$RES/load.txt"
                if [ -z "$best" ] || awk -v o="$OTHER" -v b="$best" 'BEGIN { exit !(o < b) }'; then
                        best=$OTHER
                        for f in "$RES/$name".cur.*; do
                                [ -e "$f" ] && mv "$f" "$RES/$name.${f##*/"$name".cur.}"
                        done
                fi
                rm -f "$RES/$name".cur.*
                awk -v o="$OTHER" -v m="$OTHER_MAX" 'BEGIN { exit !(o <= m) }' && break
                [ "$SECONDS" -lt "$BUDGET" ] || { log "$name: time budget spent, no more attempts"; break; }
                [ "$attempt" -lt "$tries" ] &&
                        log "$name: other processes took $(awk -v o="$OTHER" 'BEGIN{printf "%.0f", o * 100}')% of the machine; again"
        done
        OTHER=$best
        echo "$name $OTHER" >> "$RES/others.txt"
}

# ---- the cases -------------------------------------------------------------------------------
# files MODE RUNS TRIES: cold then warm on $T/files-MODE
files() {
        local m=$1 runs=$2 tries=$3 d=$T/files-$1
        log "$m: first pass over $N fresh files, $runs run(s)"
        timed "$m-cold" "$tries" -N --runs "$runs" \
                --prepare "sh -c 'rm -rf $d && $READER make $d $N'" \
                "$READER read $d $N --out $RES/$m-cold.cur.jsonl"
        [ "$m" = mdatp ] && counters "$RES/mdatp-cold.counters.json"
        log "$m: second pass (a fresh tree read once untimed, then again), $runs run(s)"
        [ "$m" = mdatp ] && rtp_fresh   # the ignore-mark count starts from 0, as for the cold case
        # mdatp: GetCounters at the end of the last timed pass too (warm-prepare took the others)
        [ "$m" = mdatp ] && AFTER="counters_line $RES/mdatp-warm.cur.counters.jsonl"
        timed "$m-warm" "$tries" -N --runs "$runs" --prepare "$SELF warm-prepare $m $d" \
                "$READER read $d $N --out $RES/$m-warm.cur.jsonl"
        AFTER=
        [ "$m" = mdatp ] && counters "$RES/mdatp-warm.counters.json"
        rm -rf "$d"
}
warm_prepare() {        # warm_prepare MODE DIR, from hyperfine: a tree read once
        local m=$1 d=$2
        if [ "$m" = mdatp ]; then counters_line "$RES/mdatp-warm.cur.counters.jsonl"; fi
        rm -rf "$d"
        "$READER" make "$d" "$N"
        "$READER" read "$d" "$N" --out "$RES/$m-warm.cur.first.jsonl" > /dev/null
        if [ "$m" = mdatp ]; then counters_line "$RES/mdatp-warm.cur.counters.jsonl"; fi
}
# The ignore-mark limit: a working set larger than the old fixed limit (65,536), read 3 times.
marks_check() {
        local d=$T/marks n=${BENCH_MARKS_FILES:-70000} i
        log "ignore-mark limit: $n files, written with RTP off, read 3 times with mdatp on"
        rtp_off
        "$READER" make "$d" "$n"
        rtp_fresh
        for i in 1 2 3; do
                "$READER" read "$d" "$n" --out "$RES/marks.jsonl" > /dev/null
                counters_line "$RES/marks.counters.jsonl"
        done
        rtp_off
        rm -rf "$d"
}
build() {
        local m=$1 runs=$2 b=$T/build-$1
        log "$m: meson setup + ninja of the project on the watched tmpfs, $runs run(s)"
        timed "$m-build" 1 -N --runs "$runs" \
                --prepare "sh -c 'rm -rf $b && mkdir -p $b/src && tar -xf $TAR -C $b/src'" \
                "sh -c 'meson setup $b/out $b/src -Dtests=false > $b.setup.log 2>&1 && ninja -C $b/out > $b.ninja.log 2>&1'"
        [ "$m" = mdatp ] && counters "$RES/mdatp-build.counters.json"
        rm -rf "$b" "$b".*.log
}

if [ "$1" = warm-prepare ]; then
        trap - EXIT
        warm_prepare "$2" "$3"
        exit 0
fi

rtp_off
{
        echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
        echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') x $ncpu, RAM $(free -g | awk '/^Mem/{print $2}') GiB; watched: $(findmnt -no FSTYPE,OPTIONS -T "$T")"
        echo "Versions: mdatp $(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo '?'), $(clamd --version | cut -d/ -f1), meson $(meson --version), ninja $(ninja --version), $(cc --version | head -1), hyperfine $(hyperfine --version | cut -d' ' -f2)"
        echo "Definitions: mdatp $(grep -o 'Definitions [^ ]* loaded' "$MDATP_SANDBOX_DIR/mdatpd.log" | tail -1); ClamAV DB: $(ls "$BENCH_CLAMDB" | tr '\n' ' ')"
        echo "fanotify groups at the start (RTP off): $($PY "$HERE/rtp-bench.py" groups --self "$(cat "$MDATPD_PID_FILE")")"
} > "$RES/meta.txt"
cat "$RES/meta.txt" >&2

# Warm the host's caches (compiler, headers, meson) and check that the build works at all.
log "untimed build (caches, and a check that it builds)"
mkdir -p "$T/build-check/src"
tar -xf "$TAR" -C "$T/build-check/src"
if ! { meson setup "$T/build-check/out" "$T/build-check/src" -Dtests=false &&
       ninja -C "$T/build-check/out"; } > "$RES/build-check.log" 2>&1; then
        log "the project does not build on the tmpfs: see $RES/build-check.log"; exit 1
fi
rm -rf "$T/build-check"

# ---- RTP off ---------------------------------------------------------------------------------
files off "$RUNS" "$TRIES"
build off "$BRUNS"

# ---- mdatp RTP on ----------------------------------------------------------------------------
rtp_fresh
mkdir -p "$T/probe"
if probe "$T/probe" 10; then echo "mdatp enforcing: yes (EICAR on $T denied, $PROBE_MS ms after it was written)" >> "$RES/enforce.txt"
else echo "mdatp enforcing: NO (EICAR on $T readable)" >> "$RES/enforce.txt"; log "mdatp does not block EICAR"; fi
echo "fanotify groups, mdatp on: $($PY "$HERE/rtp-bench.py" groups --self "$(cat "$MDATPD_PID_FILE")")" >> "$RES/enforce.txt"
rtp_fresh       # counters of the cases only
files mdatp "$RUNS" "$TRIES"
rtp_fresh
build mdatp "$BRUNS"
[ "${BENCH_MARKS:-1}" = 1 ] && marks_check
rtp_off

# ---- the floor: a minimal responder (bench/rtp-floor.c) -----------------------------------------
# What any fanotify permission-event scanner costs at least here: allow + ignore mark, one thread.
if [ "${BENCH_FLOOR:-}" ]; then
        rm -f "$RES/floor.ready"
        "$BENCH_FLOOR" "$T" "$RES/floor.ready" 2> "$RES/floor.log" &
        FLOOR_PID=$!
        for ((i = 0; i < 100; i++)); do [ -s "$RES/floor.ready" ] && break; sleep 0.05; done
        if [ -s "$RES/floor.ready" ]; then
                files floor "$RUNS" "$TRIES"
        else
                log "rtp-floor did not start (see $RES/floor.log)"
        fi
        floor_stop
fi

# ---- clamonacc -------------------------------------------------------------------------------
if [ "$BENCH_CLAM" = 1 ]; then
        log "starting clamd and clamonacc on $T"
        mkdir -p "$T/probe"
        if clam_start && probe "$T/probe" 60; then
                CLAM_START_MS=$(( ($(date +%s%N) - CLAM_T0) / 1000000 ))
                echo "clamonacc enforcing: yes (EICAR on $T denied $PROBE_MS ms after it was written, $CLAM_START_MS ms after clamonacc was started)" >> "$RES/enforce.txt"
                echo "fanotify groups, clamonacc on: $($PY "$HERE/rtp-bench.py" groups --self "$ONACC_PID")" >> "$RES/enforce.txt"
                mkdir -p "$T/probe/new-dir"
                probe "$T/probe/new-dir" 10 &&
                        echo "clamonacc enforcing in a directory made after it started: yes ($PROBE_MS ms after the file was written)" >> "$RES/enforce.txt" ||
                        echo "clamonacc enforcing in a directory made after it started: NO within 10 s" >> "$RES/enforce.txt"
                files clam "$CRUNS" 1
                build clam "$CRUNS"
                # The cold trees were made while clamonacc ran: check it watched their directories.
                mkdir -p "$T/probe/after"
                probe "$T/probe/after" 10 &&
                        echo "clamonacc still enforcing after its cases: yes ($PROBE_MS ms)" >> "$RES/enforce.txt" ||
                        echo "clamonacc still enforcing after its cases: NO" >> "$RES/enforce.txt"
        else
                echo "clamonacc enforcing: NO (EICAR on $T still readable 60 s after start; see clamonacc.log)" >> "$RES/enforce.txt"
                log "clamonacc does not enforce here; its cases are skipped"
        fi
        clam_stop
fi
rm -rf "$T/probe"

# ---- RTP off again (drift) -------------------------------------------------------------------
files off2 "$RUNS" "$TRIES"

cp "$MDATP_SANDBOX_DIR/mdatpd.log" "$RES/mdatpd.log" 2>/dev/null || true
$PY "$HERE/rtp-bench.py" table --res "$RES" --files "$N"
