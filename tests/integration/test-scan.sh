#!/usr/bin/env bash
# On-demand scans through the CLI against the real daemon and the shipped definition pack:
# each scan kind finds exactly the planted samples, archives, hash and PUA policies, exclusions
# (and --ignore-exclusions), cancel, history, cache across restarts, a definitions swap during a
# scan, hostile files, and nobody refused.
. "$(dirname "$0")/lib.sh"

# Passive mode: detections stay where they are, so that rescans find them again. What happens
# to them in real_time mode (quarantine) is test-threats.sh's business.
busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
        antivirusEngine.enforcementLevel s passive >/dev/null || fail "passive mode"

samples="$MDATP_SANDBOX_DIR/samples"
mkdir -p "$samples/tree/sub" "$samples/quick" "$samples/full"
# The EICAR test string, assembled here so this file is not itself a test file.

eicar >"$samples/tree/eicar.com"
eicar >"$samples/tree/sub/eicar.txt"
printf 'MDATP-%s-TEST-FILE\n' HASH >"$samples/tree/hash-test.bin"
echo "just text" >"$samples/tree/clean.txt"
head -c 100000 /dev/urandom >"$samples/tree/random.bin"
(cd "$samples/tree/sub" && zip -q ../sample.zip eicar.txt)
tar -C "$samples/tree" -czf "$samples/tree/sample.tar.gz" sub
(cd "$samples/tree" && zip -q nested.zip sample.tar.gz)
ln -s /etc/passwd "$samples/tree/link-out"            # never followed
ln -s "$samples/tree/eicar.com" "$samples/tree/link-eicar"
mkfifo "$samples/tree/fifo"                            # must not block the scan
: >"$samples/tree/empty"
truncate -s 10G "$samples/tree/sparse.img"             # huge, sparse

threat_paths() {
        mdatp threat list --output json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["threats"]["scans"]:
    for t in s["threats"]: print(t["threat"]["path"], t["threat"]["name"], sep="|")' | sort
}

# ---- custom scan: exactly these detections
run timeout 120 mdatp scan custom --path "$samples/tree"
expect_rc "custom scan succeeds" 0
expect_contains "scan summary" "$OUT" "Scan has finished"
expect_contains "threat count" "$OUT" "	6 threat(s) detected"
expected="$samples/tree/eicar.com|Virus:DOS/EICAR_Test_File
$samples/tree/hash-test.bin|Virus:Linux/MdatpHashTest
$samples/tree/nested.zip->sample.tar.gz->sub/eicar.txt|Virus:DOS/EICAR_Test_File
$samples/tree/sample.tar.gz->sub/eicar.txt|Virus:DOS/EICAR_Test_File
$samples/tree/sample.zip->eicar.txt|Virus:DOS/EICAR_Test_File
$samples/tree/sub/eicar.txt|Virus:DOS/EICAR_Test_File"
expect_eq "exactly the planted samples, archive members named" "$(threat_paths)" "$expected"
run mdatp threat list
expect_contains "threat list text" "$OUT" 'Name: "Virus:DOS/EICAR_Test_File"'

# ---- the verdict cache: an unchanged rescan skips clean files, also after a restart
restart_daemon || fail "restart"
run timeout 120 mdatp scan custom --path "$samples/tree"
expect_contains "rescan finds the same threats" "$OUT" "	6 threat(s) detected"
scan=$(busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Running)
last=$(mdatp scan list --output json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
cached=$(busctl --system get-property com.microsoft.Mdatp1 "/com/microsoft/Mdatp1/Scans/$last" com.microsoft.Mdatp1.Scan FilesCached | awk '{print $2}')
if [ "${cached:-0}" -ge 3 ]; then pass "clean files come from the cache after a restart ($cached)"; else fail "cache not used: FilesCached=$cached"; fi
expect_eq "no scan running after the end" "$scan" 'o "/"'
eicar >"$samples/tree/clean.txt"           # same inode, new content: the cache must not answer
run timeout 120 mdatp scan custom --path "$samples/tree"
expect_contains "a file changed after a clean verdict is scanned again" "$OUT" "	7 threat(s) detected"
echo "just text" >"$samples/tree/clean.txt"
n=$(threat_paths | grep -c "$samples/tree/eicar.com|")
expect_eq "repeated detections of the same content are one history record" "$n" "1"

# ---- threat type policy: PUA audit (default) records, off ignores
printf 'MDATP-%s-TEST-FILE\n' PUA >"$samples/pua.txt"
run timeout 60 mdatp scan custom --path "$samples/pua.txt"
expect_contains "PUA detected under audit" "$OUT" "	1 threat(s) detected"
expect_contains "PUA recorded as audited" "$(mdatp threat list)" 'Status: "audited"'
busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
        antivirusEngine.threatTypeSettings 'a(ss)' 1 potentially_unwanted_application off
run timeout 60 mdatp scan custom --path "$samples/pua.txt"
expect_contains "PUA ignored when the policy is off" "$OUT" "	0 threat(s) detected"

# ---- exclusions: honoured, and ignored on request
run mdatp exclusion folder add --path "$samples/tree/sub/"
expect_eq "folder exclusion added" "$OUT" "Folder exclusion configured successfully"
run mdatp exclusion extension add --name .com
expect_eq "extension exclusion added" "$OUT" "Extension exclusion configured successfully"
run mdatp exclusion file add --path "$samples/tree/hash-test.bin"
expect_rc "file exclusion added" 0
run mdatp exclusion list
expect_contains "exclusion list shows the folder" "$OUT" "$samples/tree/sub/"
run timeout 120 mdatp scan custom --path "$samples/tree"
expect_contains "exclusions honoured" "$OUT" "	3 threat(s) detected"
run timeout 120 mdatp scan custom --path "$samples/tree" --ignore-exclusions
expect_contains "--ignore-exclusions scans everything" "$OUT" "	6 threat(s) detected"
run mdatp exclusion folder remove --path "$samples/tree/sub/"
expect_eq "folder exclusion removed" "$OUT" "Folder exclusion removed successfully"
run mdatp exclusion folder remove --path "$samples/tree/sub/"
expect_rc "removing it again: not found" 1
run mdatp exclusion folder add --path '/var/*/x' --scope global
expect_rc "wildcards refused in global scope" 1
expect_contains "the reason is given" "$OUT" "wildcard"
write_managed '{ "antivirusEngine": { "exclusionsMergePolicy": "admin_only", "exclusions": [ { "$type": "excludedPath", "path": "/srv/data/", "isDirectory": true } ] } }'
wait_until 2 sh -c "mdatp exclusion list | grep -q /srv/data/"
run mdatp exclusion extension add --name .log
expect_rc "admin_only refuses local adds" 1
expect_contains "admin_only is named" "$OUT" "admin_only"
run mdatp exclusion list --output json
expect_contains "managed exclusion marked" "$OUT" '"isManaged":true'
run mdatp exclusion folder remove --path /srv/data/
expect_contains "managed exclusions cannot be removed locally" "$OUT" "managed policy"
rm -f "$MDATP_MANAGED_DIR/mdatp_managed.json"
wait_until 2 sh -c "! mdatp exclusion list | grep -q /srv/data/"

# ---- exclusionSettings.mergePolicy admin_only: no local exclusion counts, whatever its scope or
# the list the CLI keeps it in (an epp folder exclusion once hid a sample under it)
mkdir -p "$samples/adminonly"
eicar >"$samples/adminonly/hidden.com"
run mdatp exclusion folder add --path "$samples/adminonly/"
expect_rc "a local epp folder exclusion before the policy" 0
write_managed '{ "exclusionSettings": { "mergePolicy": "admin_only" } }'
wait_until 5 sh -c "! mdatp exclusion list | grep -qF '$samples/adminonly/'" ||
        fail "admin_only: the local exclusion is still listed as effective"
run mdatp scan custom --path "$samples/adminonly"
expect_contains "admin_only: the local exclusion no longer hides the sample" "$OUT" "1 threat(s) detected"
run mdatp exclusion folder add --path "$samples/other/"
expect_rc "admin_only: a local epp exclusion is refused" 1
expect_contains "... naming admin_only" "$OUT" "admin_only"
run mdatp exclusion folder add --path "$samples/other/" --scope global
expect_rc "admin_only: a local global exclusion is refused" 1
rm -f "$MDATP_MANAGED_DIR/mdatp_managed.json"
wait_until 5 sh -c "mdatp exclusion folder add --path '$samples/probe-merge/' >/dev/null 2>&1" ||
        fail "local exclusions allowed again once the policy is gone"
mdatp exclusion folder remove --path "$samples/probe-merge/" >/dev/null 2>&1
mdatp exclusion folder remove --path "$samples/adminonly/" >/dev/null 2>&1
rm -rf "$samples/adminonly"

# ---- quick and full scans cover their places (pointed at test directories)
eicar >"$samples/quick/q.sh"
eicar >"$samples/full/f.bin"
printf 'MDATP_SCAN_QUICK_PATHS=%s\nMDATP_SCAN_FULL_ROOTS=%s\n' "$samples/quick" "$samples/full" \
        >"$MDATP_SANDBOX_DIR/daemon.env"
restart_daemon || fail "restart"
run timeout 120 mdatp scan quick
expect_contains "quick scan finds its sample" "$OUT" "	1 threat(s) detected"
run timeout 120 mdatp scan full
expect_contains "full scan finds its sample" "$OUT" "	1 threat(s) detected"
run mdatp scan list
expect_contains "history lists the quick scan" "$OUT" "Quick"
expect_contains "history lists the full scan" "$OUT" "Full"
run mdatp health --field last_on_demand_scan_type
expect_eq "health shows the last scan" "$OUT" '"full"'

# ---- cancel, progress, and a definitions swap while a scan runs
big="$MDATP_SANDBOX_DIR/big"
mkdir -p "$big"
for i in $(seq 1 2000); do truncate -s 64M "$big/f$i"; done    # sparse: slow to scan, free on disk
out=$(busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Start 'sasa{sv}' custom 1 "$big" 0)
path=$(echo "$out" | awk '{ print $2 }' | tr -d '"')
run busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Start 'sasa{sv}' custom 1 "$big" 0
expect_contains "a second scan while one runs is Busy" "$OUT" "already running"
# A newer pack installed in the store, then SIGHUP: the swap happens under the running scan.
"$MDATP_BUILD_DIR/tools/mdatp-pack/mdatp-pack" build --key "$MDATP_DEFINITIONS_SIGNING_KEY" \
        --version 1.0.0.1 --out "$MDATP_STATE_DIR/definitions/current" "$(dirname "$0")/../../definitions/default" >/dev/null
kill -HUP "$(cat "$MDATPD_PID_FILE")"
if wait_until 5 sh -c "[ \"\$(mdatp health --field definitions_version)\" = '\"1.0.0.1\"' ]"; then pass "definitions swapped while a scan runs"; else fail "no swap: $(mdatp health --field definitions_version)"; fi
state=$(busctl --system get-property com.microsoft.Mdatp1 "$path" com.microsoft.Mdatp1.Scan State)
files_scanned() { busctl --system get-property com.microsoft.Mdatp1 "$path" com.microsoft.Mdatp1.Scan FilesScanned | awk '{print $2}'; }
files1=$(files_scanned)
wait_until 60 sh -c "[ \$(busctl --system get-property com.microsoft.Mdatp1 '$path' com.microsoft.Mdatp1.Scan FilesScanned | awk '{print \$2}') -gt $files1 ]"
files2=$(files_scanned)
if [ "$state" = 's "running"' ] && [ "$files2" -gt "$files1" ]; then pass "progress properties change while running ($files1 -> $files2)"; else fail "progress: state $state, $files1 -> $files2"; fi
run mdatp scan cancel
expect_eq "scan cancel" "$OUT" "Scan cancelled"
wait_until 10 sh -c "busctl --system get-property com.microsoft.Mdatp1 '$path' com.microsoft.Mdatp1.Scan State | grep -q cancelled"
expect_eq "cancelled scan recorded as such" "$(busctl --system get-property com.microsoft.Mdatp1 "$path" com.microsoft.Mdatp1.Scan State)" 's "cancelled"'
expect_contains "history shows it cancelled" "$(mdatp scan list)" "Cancelled"
run mdatp scan cancel
expect_eq "cancel with nothing running" "$OUT" "No scan is running"

# Ctrl-C in the CLI cancels the scan it started.
mdatp scan custom --path "$big" >"$MDATP_SANDBOX_DIR/ctrlc.out" 2>&1 &
cli=$!
wait_until 10 sh -c "busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Running | grep -q Scans/"
kill -INT "$cli"
RC=0; wait "$cli" || RC=$?
OUT=$(cat "$MDATP_SANDBOX_DIR/ctrlc.out")
expect_rc "Ctrl-C: the CLI exits 1" 1
expect_contains "Ctrl-C: the scan was cancelled" "$OUT" "Scan was cancelled"
expect_eq "Ctrl-C: no scan left running" "$(busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Running)" 'o "/"' 

# ---- errors
run mdatp scan custom --path /no/such/path
expect_rc "missing path refused" 1
expect_contains "the path is named" "$OUT" "/no/such/path"
run_nobody mdatp scan custom --path /tmp
expect_rc "nobody cannot start a scan" 1
expect_contains "nobody: administrator privileges" "$OUT" "requires administrator privileges"
run_nobody mdatp scan list
expect_rc "nobody can read the scan history" 0

# ---- the daemon survived everything above
run mdatp health --field engine_load_status
expect_eq "engine still loaded" "$OUT" '"Engine load succeeded"'
finish
