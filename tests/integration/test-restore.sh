#!/usr/bin/env bash
# Restores asked by a polkit grantee who is not root, and the messages of refused restores.
# With manage-threats granted to nobody by a rule (as the shipped example grants it to a group),
# nobody restores its own quarantined setuid script: into a root-only directory, a world-writable
# directory below a directory nobody cannot search, and a read-only mount (all refused, nothing
# written, the copy kept); into its own directory (allowed, owned by nobody, setuid bit dropped).
# Then each refusal names what was wrong: a destination with '..', a missing destination, a
# vanished original directory, /sys as root, ignore_exclusions of the wrong type.
. "$(dirname "$0")/lib.sh"

samples="$MDATP_SANDBOX_DIR/restore-samples"
mkdir -p "$samples"
chmod 0755 "$samples"
threat_id() {        # threat_id PATH: of the newest threat with that path
        mdatp threat list --output json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["threats"]["scans"]:
    for t in s["threats"]:
        if t["threat"]["path"] == sys.argv[1]:
            print(t["threat"]["tracking_id"]); sys.exit(0)' "$1"
}
quarantined() { mdatp threat quarantine list --output json | grep -q "\"$1\""; }
quarantine_sample() {   # quarantine_sample PATH [OWNER MODE]: plants EICAR, scans, prints the id
        eicar >"$1"
        [ $# -lt 3 ] || { chown "$2" "$1"; chmod "$3" "$1"; }
        timeout 60 mdatp scan custom --path "$1" >/dev/null 2>&1
        threat_id "$1"
}

rule="$MDATP_SANDBOX_DIR/rules.d/50-restore-test.rules"
printf '%s\n' 'polkit.addRule(function(a, s) { if (a.id == "com.microsoft.mdatp1.manage-threats" && s.user == "nobody") return polkit.Result.YES; });' >"$rule"
chmod 0644 "$rule"

# ---- nobody's own setuid script, quarantined
mine="$samples/nobody"
mkdir -p "$mine" "$samples/rootonly" "$samples/private/open" "$samples/ro"
chown nobody:nogroup "$mine"
chmod 0700 "$samples/private"
chmod 0777 "$samples/private/open"
f="$mine/evil.sh"
id=$(quarantine_sample "$f" nobody:nogroup 4755)
[ -n "$id" ] && [ ! -e "$f" ] && pass "nobody's script is quarantined" || fail "sample not quarantined"
wait_until 10 sh -c "setpriv --reuid=nobody --regid=nogroup --clear-groups env DBUS_SYSTEM_BUS_ADDRESS='$DBUS_SYSTEM_BUS_ADDRESS' PATH='$PATH' mdatp threat quarantine restore threat-id --id '$id' --destination-path '$samples/rootonly' 2>&1 | grep -q 'may not create files'" \
        && pass "the rule grants manage-threats to nobody" || fail "polkit rule not in force"

run_nobody mdatp threat quarantine restore threat-id --id "$id" --destination-path "$samples/rootonly"
expect_rc "nobody may not restore into a root-only directory" 1
expect_contains "... saying why" "$OUT" "may not create files in '$samples/rootonly'"
[ -z "$(ls -A "$samples/rootonly")" ] && pass "... and nothing appeared there" || fail "file created in root-only dir: $(ls -la "$samples/rootonly")"
run_nobody mdatp threat quarantine restore threat-id --id "$id" --destination-path "$samples/private/open"
expect_rc "nobody may not restore below a directory it cannot search" 1
[ -z "$(ls -A "$samples/private/open")" ] && pass "... and nothing appeared there" || fail "file created below a 0700 dir"
mount -t tmpfs -o size=1m,mode=0777,ro tmpfs "$samples/ro"
run_nobody mdatp threat quarantine restore threat-id --id "$id" --destination-path "$samples/ro"
expect_rc "nobody may not restore onto a read-only mount" 1
expect_contains "... saying so" "$OUT" "read-only file system"
umount "$samples/ro"
run_nobody mdatp threat quarantine restore threat-id --id "$id"
expect_rc "nobody's own original directory: allowed" 0
expect_eq "... owned by nobody, setuid bit dropped" "$(stat -c '%U %a' "$f" 2>&1)" "nobody 755"
expect_eq "... the same bytes" "$(cat "$f")" "$(eicar)"
run timeout 60 mdatp scan custom --path "$samples/rootonly"
id=$(quarantine_sample "$samples/rootonly/root.sh")
run_nobody mdatp threat quarantine restore threat-id --id "$id"
expect_rc "nobody may not restore root's file to its root-only original place" 1
quarantined "$samples/rootonly/root.sh" && pass "... and the copy stays in the quarantine" || fail "copy lost"
rm -f "$rule"

# ---- refusals that say what was wrong and what to do (as root)
run mdatp threat quarantine restore threat-id --id "$id" --destination-path "$samples/rootonly/../nobody"
expect_rc "a destination with '..' is refused" 1
expect_contains "... naming the '..'" "$OUT" "contains '..'"
run mdatp threat quarantine restore threat-id --id "$id" --destination-path "$samples/missing"
expect_rc "a missing destination is refused" 1
expect_contains "... naming the missing directory" "$OUT" "the destination directory '$samples/missing' does not exist"
run mdatp threat quarantine restore threat-id --id "$id" --destination-path /sys
expect_rc "/sys is refused as root" 1
expect_contains "... as a virtual file system" "$OUT" "virtual file system"
mkdir -p "$samples/gone"
id2=$(quarantine_sample "$samples/gone/x.com")
rmdir "$samples/gone"
run mdatp threat quarantine restore threat-id --id "$id2"
expect_rc "a vanished original directory is refused" 1
expect_contains "... naming it" "$OUT" "its original directory '$samples/gone' does not exist"
expect_contains "... and the way out" "$OUT" "--destination-path"
run busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager \
        Start sasa{sv} custom 1 "$samples" 1 ignore_exclusions s yes
expect_rc "ignore_exclusions as a string is refused" 1
expect_contains "... as not a boolean" "$OUT" "must be a boolean"
expect_not_contains "... not as a bare errno" "$OUT" "No such device"

finish
