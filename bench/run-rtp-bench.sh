#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run-rtp-bench.sh [-r RUNS] [-b RUNS] [-c RUNS] [-C] [-M] [-n] [-k]
#
# What real-time protection costs the processes it watches, in one run, on the tmpfs that
# scripts/sandbox.sh mounts and mdatpd alone watches ($MDATP_RTP_MOUNTS), against the same work
# with RTP off (antivirusEngine.enforcementLevel on_demand) and with ClamAV's on-access scanner
# (clamd + clamonacc --fdpass, OnAccessPrevention yes; mdatpd on_demand meanwhile):
#   first pass   open+read 20,000 small files (200–600 bytes) never opened since they were
#                written: a fresh tree before every timed run (bench/rtp-files.c)
#   second pass  the same files again (each timed run after its own untimed first pass)
#   build        untar this repository's HEAD (git archive), meson setup -Dtests=false + ninja
# and the worst single open(): the reader's own clock around every open(), and mdatpd's
# GetCounters max_latency_us. The small-file cases run once more under bench/rtp-floor.c, a
# minimal one-thread responder (allow + ignore mark, no scan): the least any fanotify
# permission-event scanner can cost on this machine. Then, with mdatp only, 70,000 files (more
# than the daemon keeps ignore marks for) read three times: what a working set past that limit
# costs. Both products get the same detections: the EICAR string anywhere in a file, and the
# small corpus' hash list of ../shared/bench (mdatpd: a signed pack of small.yar's EICAR rule +
# the hashes; ClamAV: a private DB of the corpus' bench.ndb + bench.hsb).
#
#   -r RUNS  timed runs of each small-file case, RTP off and mdatp (median reported), default 5
#   -b RUNS  timed builds, RTP off and mdatp, default 3
#   -c RUNS  timed runs of each clamonacc case, default 1 (a pass over 20,000 files takes it ~35 s)
#   -C       leave clamonacc out
#   -M       leave the ignore-mark limit check out (~40 s)
#   -n       do not apt-get install missing tools
#   -k       keep the sandbox directory (daemon log, state) after the run
# env: BENCH_ROOT (default /tmp/bench-corpus): pack, ClamAV DB, source tarball and results live
#      there. MDATP_BUILD_DIR (default build/ of this repository), RTP_FILES (20000),
#      BENCH_MARKS_FILES (70000, the ignore-mark limit check),
#      CASE_TIMEOUT (s per case, 300), QUIET_WAIT (30), OTHER_MAX (0.10), RETRIES (1: a small-file
#      case of RTP off or mdatp where others took more than OTHER_MAX of the machine runs once
#      more; builds and clamonacc never do), BENCH_BUDGET (360 s of the sandboxed part, after
#      which nothing waits or retries any more).
#
# Results: $BENCH_ROOT/results/rtp-<UTC time>/results.md (+ summary.json, hyperfine JSON, the
# reader's lines, mdatpd's counters and log, clamd's and clamonacc's config and logs). Needs root
# (sandbox.sh does). freshclam is never run. clamd, clamonacc and rtp-floor are stopped by PID at
# the end, and the sandbox tears down the rest.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=$(cd "$REPO/../shared/bench" 2>/dev/null && pwd) ||
        { echo "run-rtp-bench.sh: ../shared/bench not found beside the repository" >&2; exit 1; }
ROOT=${BENCH_ROOT:-/tmp/bench-corpus}
BUILD=$(realpath "${MDATP_BUILD_DIR:-$REPO/build}")
RUNS=5 BRUNS=3 CRUNS=1 CLAM=1 MARKS=1 INSTALL=1 KEEP=()
while getopts "r:b:c:CMnkh" o; do
        case $o in
        r) RUNS=$OPTARG ;; b) BRUNS=$OPTARG ;; c) CRUNS=$OPTARG ;; C) CLAM=0 ;; M) MARKS=0 ;;
        n) INSTALL=0 ;; k) KEEP=(--keep) ;;
        *) sed -n '3,41p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
        esac
done
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "run-rtp-bench.sh: must run as root" >&2; exit 1; }
T0=$SECONDS

# ---- tools -----------------------------------------------------------------------------------
need=()
for t in hyperfine:hyperfine busctl:systemd cc:gcc meson:meson ninja:ninja-build git:git; do
        command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t#*:}")
done
if [ "$CLAM" = 1 ]; then
        for t in clamd:clamav-daemon clamdscan:clamav-daemon clamonacc:clamav-daemon; do
                command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t#*:}")
        done
fi
if [ ${#need[@]} -gt 0 ]; then
        if [ "$INSTALL" = 1 ]; then
                log "installing: ${need[*]} (freshclam is NOT run; the bench uses its own ClamAV DB)"
                apt-get update -qq >/dev/null 2>&1 || true
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
                        { log "apt-get install ${need[*]} failed"; exit 1; }
        else
                log "missing tools: ${need[*]} (apt-get install them, or drop -n)"; exit 1
        fi
fi
# Debian's package enables clamav-daemon and clamav-freshclam: this bench starts its own clamd.
# A system clamd or clamonacc already running would watch other paths; they are left alone.

# ---- the product -----------------------------------------------------------------------------
if command -v ninja >/dev/null && [ -f "$BUILD/build.ninja" ]; then
        ninja -C "$BUILD" >/dev/null || log "ninja -C $BUILD failed: measuring the binaries already there"
fi
for f in service/mdatpd cli/mdatp tools/mdatp-pack/mdatp-pack; do
        [ -x "$BUILD/$f" ] || { log "no $BUILD/$f: build first (meson setup build && ninja -C build)"; exit 1; }
done

# ---- the reader, the signatures, the pack, the source -----------------------------------------
mkdir -p "$ROOT/bin" "$ROOT/results"
READER=$ROOT/bin/rtp-files FLOOR=$ROOT/bin/rtp-floor
cc -O2 -Wall -o "$READER" "$HERE/rtp-files.c"
cc -O2 -Wall -o "$FLOOR" "$HERE/rtp-floor.c"

C=small SIGS=$ROOT/small/sigs
if [ ! -s "$SIGS/hashes.sha256" ] || [ ! -s "$SIGS/clamav/bench.ndb" ]; then
        log "building corpus $C in $ROOT (for its signature lists)"
        "$SHARED/make-corpus.sh" "$C" "$ROOT" >/dev/null
fi
# ClamAV: the corpus' hash list and its EICAR body signature, nothing else.
CLAMDB=$ROOT/rtp-clamdb
rm -rf "$CLAMDB"; mkdir -p "$CLAMDB"
cp "$SIGS/clamav/bench.hsb" "$SIGS/clamav/bench.ndb" "$CLAMDB/"

# mdatp: a pack of the same content: small.yar's EICAR rule (the EICAR string anywhere in a file,
# as bench.ndb) and the same hash list. Not all of small.yar as in run-scan-bench.sh: ClamAV would
# have no equivalent of its other 20 rules, and one of them (Bench_XMRig_Miner) flags this
# project's own definitions/default/rules/miners.yar, so the build would fail under mdatp alone.
mkdir -p "$ROOT/rules"
awk '/^rule Bench_EICAR_Test_File/ { on = 1 } on { print } on && /^}/ { exit }' \
        "$SHARED/rules/small.yar" > "$ROOT/rules/rtp-eicar.yar"
grep -q '^rule Bench_EICAR_Test_File' "$ROOT/rules/rtp-eicar.yar" ||
        { log "no Bench_EICAR_Test_File rule in $SHARED/rules/small.yar"; exit 1; }
PSRC=$ROOT/rtp-pack-src PACK=$ROOT/rtp-pack
rm -rf "$PSRC"; mkdir -p "$PSRC/rules" "$PSRC/hashes"
cp "$ROOT/rules/rtp-eicar.yar" "$PSRC/rules/eicar.yar"
{
        printf '# generated by bench/run-rtp-bench.sh from %s\n' "$SIGS/hashes.sha256"
        awk '!seen[$1]++ { n = $3; sub(/^Bench\./, "", n); printf "%s\tVirus:Bench/%s\tvirus\n", $1, n }' \
                "$SIGS/hashes.sha256"
} > "$PSRC/hashes/bench.tsv"
SOURCE_DATE_EPOCH=1700000000 "$BUILD/tools/mdatp-pack/mdatp-pack" build \
        --key "$REPO/definitions/keys/test-signing-key.pem" --version 9.0.0.1 \
        --out "$PACK" "$PSRC" >&2
"$BUILD/tools/mdatp-pack/mdatp-pack" verify --key "$REPO/definitions/keys/test-signing-key.pub.pem" \
        "$PACK" >/dev/null

RES=$ROOT/results/rtp-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RES"

# The build case's source: this repository at HEAD (what is committed, not the work tree), less
# every line that holds the whole EICAR string: both products' EICAR signatures match it anywhere
# in a file, so such a line makes the build fail under either (the file is denied and moved away).
# The lines taken out are listed in $RES/source-edits.txt.
TAR=$ROOT/rtp-src.tar SRC=$ROOT/rtp-src
E1='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR' E2='-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
rm -rf "$SRC"; mkdir -p "$SRC"
git -C "$REPO" archive --format=tar HEAD | tar -x -C "$SRC"
: > "$RES/source-edits.txt"
{ grep -rlF -- "$E1$E2" "$SRC" || true; } | sort | while read -r f; do
        grep -nF -- "$E1$E2" "$f" | cut -d: -f1 | sed "s|^|${f#"$SRC"/}:|" >> "$RES/source-edits.txt"
        grep -vF -- "$E1$E2" "$f" > "$f.tmp" || true
        chmod --reference="$f" "$f.tmp"
        mv "$f.tmp" "$f"
done
[ -s "$RES/source-edits.txt" ] && log "build source: lines with the EICAR string taken out: $(tr '\n' ' ' < "$RES/source-edits.txt")"
tar -cf "$TAR" -C "$SRC" .
rm -rf "$SRC"
log "results: $RES (setup took $((SECONDS - T0)) s)"

# ---- everything else runs inside one sandbox -------------------------------------------------
export BENCH_MARKS_FILES=${BENCH_MARKS_FILES:-70000}
export BENCH_RES=$RES BENCH_FILES=${RTP_FILES:-20000} BENCH_RUNS=$RUNS BENCH_BUILD_RUNS=$BRUNS
export BENCH_CLAM_RUNS=$CRUNS BENCH_CLAM=$CLAM BENCH_READER=$READER BENCH_SRC_TAR=$TAR
export BENCH_FLOOR=$FLOOR BENCH_CLAMDB=$CLAMDB BENCH_MARKS=$MARKS CASE_TIMEOUT=${CASE_TIMEOUT:-300}
export MDATP_BUILD_DIR=$BUILD MDATP_SHIPPED_DEFINITIONS=$PACK
export MDATP_DEFINITIONS_KEY=$REPO/definitions/keys/test-signing-key.pub.pem
unset MDATP_RTP_MOUNTS          # the sandbox's own tmpfs, and nothing else, is watched
rc=0
"$REPO/scripts/sandbox.sh" "${KEEP[@]}" -- "$HERE/rtp-bench-inner.sh" run || rc=$?
log "done in $((SECONDS - T0)) s (exit $rc); results: $RES/results.md"
exit "$rc"
