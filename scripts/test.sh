#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the whole test suite, as root: installs dependencies, builds twice (plain -Werror, and
# with ASan+UBSan), runs unit, fuzz-corpus and integration tests in both, then valgrind on the
# unit tests, then tests/systemd/run.sh (the product installed under real systemd). Prints
# meson's and Check's lines and a final "N passed, N failed".
# scripts/test.sh [MESON-TEST-ARGS...]: with arguments (e.g. --suite integration), only the plain
# build runs, with `meson test` narrowed by them.
# Everything the tests write goes under one temporary root ($TMPDIR); when an mdatpd already owns
# com.microsoft.Mdatp1 on the system bus (scripts/setup.sh), that root and the build directories
# are excluded from it for the run, and exactly those exclusions are removed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (integration tests start a private bus and polkitd)" >&2; exit 1; }
scripts/deps.sh --tests || exit 1

# Everything the tests write (samples included) goes under one root: $TMPDIR for unit tests,
# scripts/sandbox.sh's directory and the tmpfs it mounts for real-time protection.
test_root=$(mktemp -d /tmp/mdatp-test.XXXXXX) || exit 1
chmod 0755 "$test_root"
export TMPDIR="$test_root" MDATP_TEST_ROOT="$test_root"
build_dirs=(build)
[ $# -gt 0 ] || build_dirs+=(build-asan)
mkdir -p "${build_dirs[@]}"

# An mdatpd installed on this machine (scripts/setup.sh) would quarantine those samples and deny
# opens in that tmpfs. When one owns com.microsoft.Mdatp1 on the system bus, exclude the test
# root and the build directories there for the run (a folder exclusion over a mount point also
# unmarks that mount), and remove exactly the exclusions added here afterwards.
exclusions_call() {     # exclusions_call METHOD [ARGS...]: com.microsoft.Mdatp1.Exclusions
        local method=$1
        shift
        busctl --system --json=short call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Exclusions \
                com.microsoft.Mdatp1.Exclusions "$method" "$@"
}
has_folder_exclusion() {        # has_folder_exclusion DIR/: a local epp folder exclusion of DIR/
        exclusions_call List | python3 -c '
import json, sys
sys.exit(0 if [ "folder", sys.argv[1], "epp", False ] in json.load(sys.stdin)["data"][0] else 1)' "$1"
}
added=()
remove_exclusions() {
        local d rc=0
        for d in "${added[@]}"; do
                if out=$(exclusions_call Remove sss folder "$d" epp 2>&1); then
                        echo "test.sh: removed the folder exclusion '$d' from the installed mdatpd"
                else
                        echo "test.sh: FAILED to remove the folder exclusion '$d' from the installed mdatpd ($out); remove it with: mdatp exclusion folder remove --path '$d'" >&2
                        rc=1
                fi
        done
        added=()
        return "$rc"
}
cleanup() {
        local rc=$?
        trap - EXIT INT TERM
        remove_exclusions || rc=1
        rm -rf --one-file-system "$test_root"
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        NameHasOwner s com.microsoft.Mdatp1 2>/dev/null | grep -q true; then
        echo "=== an mdatpd owns com.microsoft.Mdatp1 on the system bus: excluding what the tests write"
        # Also the systemd stage's cached root: a 400 MB tarball an installed daemon would
        # audit as an archive bomb, and scan, at every run.
        mkdir -p "${MDATP_TEST_CACHE:-/var/cache/mdatp-test}"
        for d in "$test_root/" "${build_dirs[@]/#/$PWD/}" "${MDATP_TEST_CACHE:-/var/cache/mdatp-test}/"; do
                d=${d%/}/
                if has_folder_exclusion "$d"; then
                        echo "test.sh: '$d' is already excluded in the installed mdatpd; leaving it as it is"
                        continue
                fi
                if ! out=$(exclusions_call Add sss folder "$d" epp 2>&1); then
                        echo "test.sh: the installed mdatpd refused a folder exclusion of '$d': $out" >&2
                        echo "test.sh: its real-time protection would quarantine the tests' samples; allow local exclusions in its managed policy (antivirusEngine.exclusionsMergePolicy: merge), or stop it, then run the tests again" >&2
                        exit 1
                fi
                added+=("$d")
                echo "test.sh: added the folder exclusion '$d' to the installed mdatpd"
        done
fi

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

test_args=("$@")
run_suite() {   # run_suite BUILDDIR MESON-OPTIONS...
        local dir=$1
        shift
        echo "=== $dir: $*"
        if [ ! -f "$dir/build.ninja" ]; then
                meson setup "$dir" "$@" || { failed=$((failed + 1)); return; }
        fi
        ninja -C "$dir" || { failed=$((failed + 1)); return; }
        meson test -C "$dir" -v --num-processes 2 "${test_args[@]}" 2>&1 | tee "$dir/test-run.log"
        count "$dir/test-run.log"
}

run_suite build -Dwerror=true
if [ ${#test_args[@]} -gt 0 ]; then
        echo "$passed passed, $failed failed"
        [ "$failed" = 0 ]
        exit
fi
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
