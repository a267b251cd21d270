#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/profile-scan.sh [-n RUNS]
#
# Where a cold on-demand scan of the small corpus spends its time, for bench/README.md. Run
# bench/run-scan-bench.sh once first (it builds the corpus and the bench pack). As root; ~3 min.
#
# 1. Variant packs, same corpus, archives on and off, mdatpd's CPU (all threads, /proc/PID/stat)
#    and wall time of `mdatp scan custom`, median of RUNS cold scans (cache file deleted and
#    daemon restarted before each):
#      full       small.yar + 1,012 hashes (the bench pack)
#      nohash     small.yar only: the engine computes no SHA-256 (empty block list)
#      noyara     hashes only: libyara scans every buffer with an empty rule set
#      floor      one string-less rule, no hashes: walk, open, read, D-Bus, a near-empty YARA
#    yara -C -r -p 2 with the same rules, user+sys, for reference.
# 2. perf stat and perf record (cpu-clock, no hardware counters in this VM) of mdatpd during one
#    cold scan with the full pack, archives on and off, and of yara: share per library; libyara's
#    Aho-Corasick loop (_yr_scanner_scan_mem_block, found by address since Debian strips
#    libyara) apart from the rest of libyara; CPU per thread (main, walker, workers).
# 3. strace -c -f of mdatpd during one cold scan: syscalls per file.
# Output: $BENCH_ROOT/results/profile-<UTC time>/profile.md and the raw files.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
ROOT=${BENCH_ROOT:-/tmp/bench-corpus}
BUILD=$(realpath "${MDATP_BUILD_DIR:-$REPO/build}")
RUNS=5
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "${1:-}" = --inner ]; then
        # ---- inside the sandbox: $2 = variant name ------------------------------------------
        V=$2 RES=$PROFILE_RES TREE=$ROOT/small/tree RUNS=$PROFILE_RUNS
        hz=$(getconf CLK_TCK)
        has_owner() {
                busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                        NameHasOwner s com.microsoft.Mdatp1 2>/dev/null | grep -q true
        }
        cold() {        # restart mdatpd with an empty verdict cache
                local old
                old=$(cat "$MDATPD_PID_FILE")
                kill -TERM "$old"
                while kill -0 "$old" 2>/dev/null; do sleep 0.01; done
                rm -f "$MDATP_STATE_DIR/scan-cache.bin"
                until [ "$(cat "$MDATPD_PID_FILE")" != "$old" ] && has_owner; do sleep 0.02; done
                PID=$(cat "$MDATPD_PID_FILE")
        }
        quiet() {       # wait (up to 60 s) until the machine is < 10 % busy for a second
                local i a b
                for ((i = 0; i < 30; i++)); do
                        a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat); sleep 1
                        b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat)
                        [ $(((b - a) * 10)) -lt $((hz * $(nproc))) ] && return 0
                        sleep 1
                done
        }
        dticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
        grep -q "Definitions .* loaded" "$MDATP_SANDBOX_DIR/mdatpd.log" ||
                { log "$V: no definitions loaded"; tail "$MDATP_SANDBOX_DIR/mdatpd.log" >&2; exit 1; }
        mdatp config maximum-on-demand-scan-threads --value 2 >/dev/null
        for arc in enabled disabled; do
                mdatp config scan-archives --value "$arc" >/dev/null
                mdatp scan custom --path "$TREE" >/dev/null       # warm the page cache
                for ((i = 0; i < RUNS; i++)); do
                        cold; quiet
                        k0=$(dticks); t0=$(date +%s.%N)
                        mdatp scan custom --path "$TREE" >/dev/null
                        t1=$(date +%s.%N); k1=$(dticks)
                        echo "$V $arc $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}') $(awk -v a="$k0" -v b="$k1" -v hz="$hz" 'BEGIN{printf "%.2f", (b - a) / hz}')" >> "$RES/variants.txt"
                done
                [ "$V" = full ] || continue
                # perf stat, per-thread CPU, perf record, strace on the full pack.
                cold; quiet
                perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p "$PID" \
                        -o "$RES/perf-stat-$arc.txt" & ps=$!
                sleep 0.2
                /usr/bin/time -f "%e" -o "$RES/perf-stat-$arc.wall" mdatp scan custom --path "$TREE" >/dev/null
                kill -INT $ps; wait $ps || true
                cold; quiet
                echo "$PID" > "$RES/perf-$arc.pid"
                perf record -F 1999 -g -p "$PID" -o "$RES/perf-$arc.data" 2>/dev/null & ps=$!
                sleep 0.2
                mdatp scan custom --path "$TREE" >/dev/null
                kill -INT $ps; wait $ps || true
                cold
                strace -c -f -p "$PID" -o "$RES/strace-$arc.txt" & ps=$!
                sleep 0.5
                mdatp scan custom --path "$TREE" >/dev/null
                kill -INT $ps; wait $ps || true
        done
        exit 0
fi

while getopts "n:h" o; do
        case $o in n) RUNS=$OPTARG ;; *) sed -n '3,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "profile-scan.sh: must run as root" >&2; exit 1; }
command -v perf >/dev/null && command -v strace >/dev/null ||
        { echo "profile-scan.sh: needs perf and strace (apt-get install linux-perf strace)" >&2; exit 1; }
SRC=$ROOT/mdatp-pack-src
[ -s "$SRC/hashes/bench.tsv" ] && [ -s "$ROOT/rules/S-small.yarc" ] ||
        { echo "profile-scan.sh: run bench/run-scan-bench.sh first" >&2; exit 1; }
RES=$ROOT/results/profile-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RES"
KEY=$REPO/definitions/keys/test-signing-key.pem

# ---- variant packs ----------------------------------------------------------------------------
mkpack() {      # mkpack NAME RULES(0|1|floor) HASHES(0|1)
        local d=$RES/pack-src-$1
        mkdir -p "$d/rules" "$d/hashes"
        case $2 in
        1) cp "$SRC/rules/small.yar" "$d/rules/" ;;
        floor) printf 'rule Bench_Floor { condition: false }\n' > "$d/rules/floor.yar" ;;
        esac
        [ "$3" = 1 ] && cp "$SRC/hashes/bench.tsv" "$d/hashes/"
        SOURCE_DATE_EPOCH=1700000000 "$BUILD/tools/mdatp-pack/mdatp-pack" build --key "$KEY" \
                --version 9.0.0.1 --out "$RES/pack-$1" "$d" >/dev/null
}
mkpack full 1 1; mkpack nohash 1 0; mkpack noyara 0 1; mkpack floor floor 0

export PROFILE_RES=$RES PROFILE_RUNS=$RUNS BENCH_ROOT=$ROOT MDATP_BUILD_DIR=$BUILD
export MDATP_DEFINITIONS_KEY=$REPO/definitions/keys/test-signing-key.pub.pem
for v in full nohash noyara floor; do
        log "variant $v"
        MDATP_SHIPPED_DEFINITIONS=$RES/pack-$v "$REPO/scripts/sandbox.sh" -- "$0" --inner "$v"
done

# ---- yara, same rules ---------------------------------------------------------------------------
TREE=$ROOT/small/tree
for ((i = 0; i < RUNS; i++)); do
        /usr/bin/time -f "%e %U %S" -o "$RES/yara.time" yara -C -r -p 2 "$ROOT/rules/S-small.yarc" "$TREE" >/dev/null
        echo "yara - $(awk '{printf "%.3f %.2f", $1, $2 + $3}' "$RES/yara.time")" >> "$RES/variants.txt"
done
perf stat -e task-clock -o "$RES/perf-stat-yara.txt" yara -C -r -p 2 "$ROOT/rules/S-small.yarc" "$TREE" >/dev/null
perf record -F 1999 -g -o "$RES/perf-yara.data" yara -C -r -p 2 "$ROOT/rules/S-small.yarc" "$TREE" >/dev/null 2>&1

# ---- report -------------------------------------------------------------------------------------
/usr/bin/python3 - "$RES" <<'PYEOF'
import collections, os, re, statistics, subprocess, sys
res = sys.argv[1]
out = []
rows = collections.defaultdict(list)
for l in open(os.path.join(res, "variants.txt")):
    v, arc, wall, cpu = l.split()
    rows[(v, arc)].append((float(wall), float(cpu)))
out.append("## Variant packs: median of cold scans (mdatpd CPU = all threads)\n")
out.append("| pack | archives | runs | wall s | mdatpd CPU s |")
out.append("|---|---|---|---|---|")
for (v, arc), l in rows.items():
    out.append(f"| {v} | {arc} | {len(l)} | {statistics.median(w for w, _ in l):.3f} | "
               f"{statistics.median(c for _, c in l):.2f} |")

# libyara's Aho-Corasick loop: the address range of the hot loop in _yr_scanner_scan_mem_block
# (static, so no symbol in Debian's stripped libyara): found by `objdump -d` between the
# exported yr_rule_enable and yr_scanner_destroy; see bench/README.md.
lib = "/usr/lib/x86_64-linux-gnu/libyara.so.9.0.1"
def ac_range():
    d = subprocess.run(["objdump", "-d", lib], capture_output=True, text=True).stdout
    # the loop: "and $0x1ff" on the transition, "test $0xfff" for the timeout check
    m = re.search(r"\n\s*([0-9a-f]+):\s[^\n]*test\s+\$0xfff,%r\w+d?\n", d)
    if not m:
        return None
    start = int(m.group(1), 16)
    return start, start + 0xa0
rng = ac_range()
def perf_split(data):
    txt = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym",
                          "-g", "none", "-n", "--stdio"], capture_output=True, text=True).stdout
    dso, total, ac = collections.Counter(), 0, 0
    ksym = collections.Counter()
    for l in txt.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(\S+)", l)
        if not m:
            continue
        n, d, kind, sym = int(m.group(2)), m.group(3), m.group(4), m.group(5)
        total += n; dso[d] += n
        if d.startswith("libyara") and rng and sym.startswith("0x") and rng[0] <= int(sym, 16) < rng[1]:
            ac += n
        if kind == "k":
            ksym[sym] += n
    return total, dso, ac, ksym
for name in ("perf-enabled", "perf-disabled", "perf-yara"):
    p = os.path.join(res, name + ".data")
    if not os.path.exists(p):
        continue
    total, dso, ac, ksym = perf_split(p)
    out.append(f"\n## {name}: {total} samples at 1999 Hz (~{total / 1999:.2f} CPU s)\n")
    out.append("| where | samples | share | ~CPU s |")
    out.append("|---|---|---|---|")
    for d, n in dso.most_common(8):
        out.append(f"| {d} | {n} | {100 * n / total:.1f} % | {n / 1999:.2f} |")
    if rng:
        out.append(f"| of which libyara Aho-Corasick loop (0x{rng[0]:x}-0x{rng[1]:x}) | {ac} | {100 * ac / total:.1f} % | {ac / 1999:.2f} |")
    out.append("\nkernel, top symbols: " + ", ".join(f"{s} {100 * n / total:.1f} %" for s, n in ksym.most_common(6)))
    pidf = os.path.join(res, name + ".pid")
    if os.path.exists(pidf):
        # Threads: the main thread's tid is the PID; the scan job creates its walker first,
        # then the workers, so the lowest other tid is the walker.
        pid = int(open(pidf).read())
        tids = collections.Counter(int(l) for l in subprocess.run(
            ["perf", "script", "-i", p, "-F", "tid"], capture_output=True, text=True).stdout.split())
        others = sorted(t for t in tids if t != pid)
        label = {pid: "main (D-Bus, threat records)"}
        if others:
            label[others[0]] = "walker"
            for i, t in enumerate(others[1:]):
                label[t] = f"worker {i + 1}"
        out.append("\nper thread: " + ", ".join(
            f"{label.get(t, t)} {n / 1999:.2f} s" for t, n in sorted(tids.items())))
for arc in ("enabled", "disabled"):
    for f, title in ((f"perf-stat-{arc}.txt", "perf stat"), (f"strace-{arc}.txt", "strace -c -f")):
        p = os.path.join(res, f)
        if os.path.exists(p):
            body = open(p).read().strip().splitlines()
            if f.startswith("strace"):
                body = body[:14]
            out.append(f"\n### {title}, archives {arc}\n\n    " + "\n    ".join(body))
text = "\n".join(out) + "\n"
open(os.path.join(res, "profile.md"), "w").write(text)
print(text)
PYEOF
log "profile: $RES/profile.md"
