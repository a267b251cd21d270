#!/usr/bin/env bash
# File names that hold the archive member separator "->", and archive members with hostile
# names, against the real daemon: a custom scan run by root in a world-writable sticky directory
# must quarantine exactly the file that holds the sample and never the clean file of another user
# whose name is a prefix of the sample's. Then: the threat history and the D-Bus API keep the file
# and the member apart, and a file put in place of a detected one is never acted on.
. "$(dirname "$0")/lib.sh"

d="$MDATP_SANDBOX_DIR/member-names"
mkdir -p "$d"
chmod 1777 "$d"
sha() { sha256sum "$1" | cut -d' ' -f1; }
quarantined_paths() {
        mdatp threat quarantine list --output json | /usr/bin/python3 -c '
import json, sys
for q in json.load(sys.stdin)["quarantinedFiles"]: print(q["originalPath"])' | sort
}
threat_list_paths() {
        mdatp threat list --output json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["threats"]["scans"]:
    for t in s["threats"]: print(t["threat"]["path"])' | sort
}
# victim NAME: a clean file of another user (uid 1234), 0644, in the sticky directory.
victim() {
        printf 'clean file of user 1234: %s\n' "$1" >"$d/$1"
        chown 1234:1234 "$d/$1"
        chmod 0644 "$d/$1"
}
# sample NAME: the test string, written by another user (uid 4321) as a user would.
sample() {
        eicar | setpriv --reuid=4321 --regid=4321 --clear-groups tee "$d/$1" >/dev/null
}

run mdatp config passive-mode --value disabled
expect_rc "on-demand remediation on" 0

# The cases, each a clean victim and a sample whose name starts with the victim's name.
victim victim.txt;  sample 'victim.txt->x'            # the finding as reported
victim x;           sample '->x'                      # "->" at the start of a name
victim v2.txt;      sample 'v2.txt->'                 # at the end
victim v3.txt;      sample 'v3.txt->a->b'             # twice
victim v4.txt                                         # in a directory name
mkdir "$d/v4.txt->dir"
chown 4321:4321 "$d/v4.txt->dir"
sample 'v4.txt->dir/sample.com'
victim v5.txt                                         # an archive member named ../v5.txt
mkdir "$d/sub"
chown 4321:4321 "$d/sub"
eicar | /usr/bin/python3 -c '
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("../v5.txt", sys.stdin.buffer.read())' "$d/sub/a.zip"
declare -A want
for v in victim.txt x v2.txt v3.txt v4.txt v5.txt; do want[$v]=$(sha "$d/$v"); done
samples=("$d/victim.txt->x" "$d/->x" "$d/v2.txt->" "$d/v3.txt->a->b" "$d/v4.txt->dir/sample.com"
         "$d/sub/a.zip")

run timeout 120 mdatp scan custom --path "$d"
expect_contains "the scan finds the six samples" "$OUT" "	6 threat(s) detected"
for v in victim.txt x v2.txt v3.txt v4.txt v5.txt; do
        if [ -f "$d/$v" ] && [ "$(sha "$d/$v")" = "${want[$v]}" ] &&
           [ "$(stat -c %u "$d/$v")" = 1234 ]; then
                pass "the clean file '$v' is untouched"
        else
                fail "the clean file '$v' was acted on"
        fi
done
for s in "${samples[@]}"; do
        [ ! -e "$s" ] && pass "the sample '${s#"$d/"}' left its place" || fail "the sample '$s' is still there"
done
expect_eq "the quarantine holds exactly the samples, names whole" "$(quarantined_paths)" \
        "$(printf '%s\n' "${samples[@]}" | sort)"
[ -d "$d/v4.txt->dir" ] && pass "the directory whose name holds '->' stays" || fail "directory gone"
expect_eq "the history names the samples; the archive member is shown after its archive" \
        "$(threat_list_paths)" \
        "$(printf '%s\n' "${samples[@]/%a.zip/a.zip->../v5.txt}" | sort)"

# D-Bus: the file and the member apart.
run busctl --system --json=short call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Threats \
        com.microsoft.Mdatp1.Threats ListLocations
locations=$(printf '%s' "$OUT" | /usr/bin/python3 -c '
import json, sys
for i, f, m in json.load(sys.stdin)["data"][0]: print(f + "|" + m)' | sort)
expect_contains "ListLocations: the archive is the file, the member apart" "$locations" "$d/sub/a.zip|../v5.txt"
expect_contains "ListLocations: a name with '->' is a file with no member" "$locations" "$d/v3.txt->a->b|"
run mdatp threat quarantine restore threat-path --path "$d/victim.txt->x"
expect_rc "restoring a name with '->' puts back that file" 0
expect_eq "... with its bytes" "$(sha "$d/victim.txt->x")" "$(eicar | sha256sum | cut -d' ' -f1)"
expect_eq "... and the victim is still untouched" "$(sha "$d/victim.txt")" "${want[victim.txt]}"
rm -f "$d/victim.txt->x"

# A file put in place of the detected one (the same bytes even) is not the detected file.
run mdatp config passive-mode --value enabled
expect_rc "passive mode on" 0
sample 'swap->x'
run timeout 60 mdatp scan custom --path "$d/swap->x"
expect_contains "passive scan detects" "$OUT" "	1 threat(s) detected"
id=$(mdatp threat list --output json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["threats"]["scans"]:
    for t in s["threats"]:
        if t["threat"]["path"] == sys.argv[1]: print(t["threat"]["tracking_id"]); sys.exit(0)' "$d/swap->x")
sample 'swap.new'
mv "$d/swap.new" "$d/swap->x"
inode=$(stat -c %i "$d/swap->x")
run mdatp threat quarantine add --id "$id"
expect_rc "quarantine of a replaced file is refused" 1
expect_contains "... saying why" "$OUT" "changed since it was detected"
expect_eq "... and the file in its place is untouched" "$(stat -c %i "$d/swap->x")" "$inode"
rm -f "$d/swap->x"
run mdatp config passive-mode --value disabled

finish
