#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the whole test suite, as root: installs dependencies, builds twice (plain -Werror, and
# with ASan+UBSan), runs unit, fuzz-corpus and integration tests in both, then valgrind on the
# unit tests, then tests/systemd/run.sh (the product installed under real systemd). Prints
# meson's and Check's lines and a final "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (integration tests start a private bus and polkitd)" >&2; exit 1; }
scripts/deps.sh --tests || exit 1

passed=0 failed=0
count() {       # count LOGFILE: adds meson's Ok/Fail summary to the totals
        local ok fail
        ok=$(awk '/^Ok:/ { print $2 }' "$1" | tail -n 1)
        fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ { s += $NF } END { print s + 0 }' "$1")
        passed=$((passed + ${ok:-0}))
        failed=$((failed + fail))
        [ -n "$ok" ] || failed=$((failed + 1))  # the build or meson itself failed
}

count_lines() { # count_lines LOGFILE: adds a script's last "N passed, N failed" line to the totals
        local line
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1)
        if [ -z "$line" ]; then
                failed=$((failed + 1))  # the script died before its summary
                return
        fi
        set -- $line
        passed=$((passed + $1))
        failed=$((failed + $3))
}

run_suite() {   # run_suite BUILDDIR MESON-OPTIONS...
        local dir=$1
        shift
        echo "=== $dir: $*"
        if [ ! -f "$dir/build.ninja" ]; then
                meson setup "$dir" "$@" || { failed=$((failed + 1)); return; }
        fi
        ninja -C "$dir" || { failed=$((failed + 1)); return; }
        meson test -C "$dir" -v --num-processes 2 2>&1 | tee "$dir/test-run.log"
        count "$dir/test-run.log"
}

run_suite build -Dwerror=true
ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_suite build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false

echo "=== valgrind: unit suites"
# No forking under valgrind: each test runs in the one process valgrind watches.
CK_FORK=no meson test -C build --suite unit --timeout-multiplier 4 --wrapper 'valgrind --leak-check=full --error-exitcode=1 -q' \
        --test-args '' -v 2>&1 | tee build/valgrind-run.log
count build/valgrind-run.log

# The product as installed: a fresh Debian 12 booted with real systemd in a container, mdatp
# installed into it, ~100 checks. Run here rather than as a meson test: it builds and installs its
# Debian package (or a release build with prefix /usr), never runs under ASan or valgrind,
# and its checks count one by one from its own "N passed, N failed" line.
echo "=== tests/systemd: the product installed under real systemd"
mkdir -p build
timeout 900 tests/systemd/run.sh 2>&1 | tee build/systemd-run.log
count_lines build/systemd-run.log

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
