#!/usr/bin/env bash
# Threat handling through the CLI against the real daemon: remediation by enforcement level and
# type policy, the quarantine (neutralised, restored exactly, never overwriting, no symlinked
# destinations), allowed names, type policies, disallowedThreatActions, retention with the
# quarantined copies, and history across restarts. nobody is refused every mutating method
# (here for the CLI; test_bus.py checks every method by introspection).
. "$(dirname "$0")/lib.sh"

samples="$MDATP_SANDBOX_DIR/threat-samples"
qdir="$MDATP_STATE_DIR/quarantine"
mkdir -p "$samples/dest"
sha() { sha256sum "$1" | cut -d' ' -f1; }
threat_field() {        # threat_field PATH FIELD: of the newest threat with that path
        mdatp threat list --output json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["threats"]["scans"]:
    for t in s["threats"]:
        if t["threat"]["path"] == sys.argv[1]:
            print(t["threat"][sys.argv[2]] if sys.argv[2] != "status" else t["history"][-1]["value"]); sys.exit(0)' "$1" "$2"
}
quarantined_paths() {
        mdatp threat quarantine list --output json | /usr/bin/python3 -c '
import json, sys
for q in json.load(sys.stdin)["quarantinedFiles"]: print(q["originalPath"])' | sort
}

# ---- real_time: an on-demand scan quarantines what it finds
f="$samples/eicar.com"
eicar >"$f"
chown 1234:1234 "$f"
chmod 4750 "$f"
touch -d '2020-02-02 02:02:02' "$f"
want_sha=$(sha "$f")
run timeout 60 mdatp scan custom --path "$samples"
expect_contains "scan finds the sample" "$OUT" "	1 threat(s) detected"
[ ! -e "$f" ] && pass "the file left its place" || fail "the file is still at $f"
id=$(threat_field "$f" tracking_id)
expect_eq "status quarantined" "$(threat_field "$f" status)" "quarantined"
expect_eq "quarantine list names the original path" "$(quarantined_paths)" "$f"
expect_eq "quarantine directory is root-only" "$(stat -c %a "$qdir")" "700"
data=$(ls "$qdir"/*.data 2>/dev/null | head -1)
expect_eq "quarantined copy is read-only for root" "$(stat -c %a "$data")" "400"
if grep -rq 'EICAR-STANDARD' "$qdir"; then fail "the quarantine holds the original bytes"; else pass "the quarantined bytes are neutralised"; fi
run mdatp threat quarantine list
expect_contains "quarantine list text" "$OUT" "Id: \"$id\""

# ---- restore by id into another directory: bytes, mode, owner, times
run mdatp threat quarantine restore threat-id --id "$id" --destination-path "$samples/dest"
expect_rc "restore threat-id succeeds" 0
expect_contains "restore says where" "$OUT" "$samples/dest/eicar.com"
r="$samples/dest/eicar.com"
expect_eq "restored bytes" "$(sha "$r")" "$want_sha"
expect_eq "restored mode, owner, mtime" "$(stat -c '%a %u:%g %Y' "$r")" "4750 1234:1234 $(date -d '2020-02-02 02:02:02' +%s)"
expect_eq "status restored" "$(threat_field "$f" status)" "restored"
expect_eq "quarantine empty after restore" "$(quarantined_paths)" ""
run timeout 60 mdatp scan custom --path "$samples/dest"
expect_contains "a restored file is left alone during its grace time" "$OUT" "	0 threat(s) detected"
echo " " >>"$r"
run timeout 60 mdatp scan custom --path "$samples/dest"
expect_contains "... but not once it changed" "$OUT" "	1 threat(s) detected"
[ ! -e "$r" ] && pass "the changed file is quarantined again" || fail "changed restored file still in place"

# ---- restore in place by original path; never over an existing file
eicar >"$f"
run timeout 60 mdatp scan custom --path "$f"
expect_contains "new sample detected" "$OUT" "	1 threat(s) detected"
echo "someone else's file" >"$f"
run mdatp threat quarantine restore threat-path --path "$f"
expect_rc "restore over an existing file fails" 1
expect_contains "... saying why" "$OUT" "already exists"
expect_eq "... and the other file is untouched" "$(cat "$f")" "someone else's file"
expect_contains "... and the copy stays in the quarantine" "$(quarantined_paths)" "$f"
rm -f "$f"
ln -s "$samples/dest" "$samples/link"
run mdatp threat quarantine restore threat-path --path "$f" --destination-path "$samples/link"
expect_rc "restore through a symlinked destination fails" 1
expect_contains "... saying why" "$OUT" "symbolic link"
[ ! -e "$samples/dest/eicar.com" ] && pass "... and nothing appeared there" || fail "restored through a symlink"
run mdatp threat quarantine restore threat-path --path "$f" --destination-path relative/dir
expect_rc "restore to a relative destination fails" 1
pct="$samples/100%41.com"                       # a '%' that is part of the name, not an escape
eicar >"$pct"
run timeout 60 mdatp scan custom --path "$pct"
run mdatp threat quarantine restore threat-path --path "$pct"
expect_rc "restore by a path holding '%41' takes it literally" 0
[ -e "$pct" ] && pass "... and the file is back under its own name" || fail "'%' path not restored: $OUT"
rm -f "$pct"
run mdatp threat quarantine restore --id "$(threat_field "$f" tracking_id)" --path "$samples/dest"
expect_rc "the older restore form (--id, --path folder) works" 0
[ -e "$samples/dest/eicar.com" ] && pass "... and the file is there" || fail "older form restored nothing"
rm -f "$samples/dest/eicar.com"

# ---- passive: detections stay in place; quarantine add moves them; remove deletes the copy
run mdatp config passive-mode --value enabled
expect_rc "passive mode on" 0
eicar >"$f"
run timeout 60 mdatp scan custom --path "$f"
expect_contains "passive scan detects" "$OUT" "	1 threat(s) detected"
[ -e "$f" ] && pass "passive mode moves nothing" || fail "passive mode moved the file"
id=$(threat_field "$f" tracking_id)
expect_eq "passive detection is active" "$(threat_field "$f" status)" "active"
run_nobody mdatp threat quarantine add --id "$id"
expect_rc "nobody may not quarantine" 1
run mdatp threat quarantine add --id "$id"
expect_eq "quarantine add" "$OUT" "Threat $id quarantined"
[ ! -e "$f" ] && pass "quarantine add moved the file" || fail "quarantine add left the file"
run mdatp threat quarantine add --id "$id"
expect_rc "quarantining twice fails" 1
run_nobody mdatp threat quarantine remove --id "$id"
expect_rc "nobody may not remove" 1
run mdatp threat quarantine remove --id "$id"
expect_rc "quarantine remove" 0
expect_eq "status removed" "$(threat_field "$f" status)" "removed"
run mdatp threat quarantine remove --id "$id"
expect_rc "removing twice fails" 1
expect_contains "... not found" "$OUT" "No quarantined file"

# ---- allowed names: never acted on
run_nobody mdatp threat allowed add --name "Virus:DOS/EICAR_Test_File"
expect_rc "nobody may not allow" 1
run mdatp threat allowed add --name "Virus:DOS/EICAR_Test_File"
expect_rc "allowed add" 0
run mdatp threat allowed list
expect_eq "allowed list" "$OUT" "Virus:DOS/EICAR_Test_File"
run mdatp config real-time-protection --value enabled
eicar >"$f"
run timeout 60 mdatp scan custom --path "$f"
[ -e "$f" ] && pass "an allowed threat stays in place in real_time" || fail "allowed threat moved"
expect_eq "status allowed" "$(threat_field "$f" status)" "allowed"
run mdatp threat allowed remove --name "Virus:DOS/EICAR_Test_File"
expect_rc "allowed remove" 0
run mdatp threat allowed remove --name "Virus:DOS/EICAR_Test_File"
expect_rc "removing an absent name fails" 1
run mdatp threat allowed list --output json
expect_eq "allowed list empty (json)" "$OUT" '{"allowedThreats":[]}'

# ---- type policies
run mdatp threat policy list
expect_contains "policy list" "$OUT" "potentially_unwanted_application: audit"
printf 'MDATP-%s-TEST-FILE\n' PUA >"$samples/pua.txt"
run timeout 60 mdatp scan custom --path "$samples/pua.txt"
[ -e "$samples/pua.txt" ] && pass "audit policy: PUA not moved" || fail "audited PUA moved"
run mdatp threat policy set --type potentially_unwanted_application --action block
expect_eq "policy set" "$OUT" "Configuration property updated"
run mdatp threat policy set --type potentially_unwanted_application --action maybe
expect_rc "bad action is a usage error" 2
run timeout 60 mdatp scan custom --path "$samples/pua.txt"
[ ! -e "$samples/pua.txt" ] && pass "block policy: PUA quarantined" || fail "blocked PUA not moved"
run mdatp threat policy list --output json
expect_contains "policy list json" "$OUT" '{"key":"potentially_unwanted_application","value":"block","managed":false}'

# ---- disallowedThreatActions from the managed policy
eicar >"$f"
run timeout 60 mdatp scan custom --path "$f"
write_managed '{"antivirusEngine":{"disallowedThreatActions":["allow","restore"]}}'
wait_until 10 sh -c 'mdatp threat allowed add --name X 2>&1 | grep -q disallowed' && pass "allow refused when disallowed" || fail "allow not refused: $(mdatp threat allowed add --name X 2>&1)"
run mdatp threat quarantine restore threat-path --path "$f"
expect_rc "restore refused when disallowed" 1
expect_contains "... as ActionDisallowed" "$OUT" "disallowed"
[ ! -e "$f" ] && pass "... and nothing restored" || fail "restored although disallowed"
write_managed '{}'
wait_until 10 sh -c "mdatp threat quarantine restore threat-path --path '$f' --destination-path '$samples/dest'" && pass "restore allowed again" || fail "restore still refused"

# ---- history and quarantine survive a restart; retention purges old records and their copies
eicar >"$f"
run timeout 60 mdatp scan custom --path "$f"
id=$(threat_field "$f" tracking_id)
before=$(mdatp threat list --output json)
restart_daemon || fail "restart"
expect_eq "threat history survives a restart" "$(mdatp threat list --output json)" "$before"
expect_contains "quarantine survives a restart" "$(quarantined_paths)" "$f"
busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
                antivirusEngine.scanResultsRetentionDays i 1
/usr/bin/python3 - "$MDATP_STATE_DIR/threats.json" "$id" <<'EOF'
import json, sys, time
path, tid = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
old = int((time.time() - 3 * 86400) * 1e6)
for t in doc["threats"]:
    if t["id"] == tid:
        t["detected"] = old
        for h in t["history"]: h["time"] = old
with open(path + ".tmp", "w") as f: json.dump(doc, f)
import os; os.rename(path + ".tmp", path)
EOF
restart_daemon || fail "restart"
run mdatp threat get --id "$id"
expect_rc "a record past retention is gone after the start" 1
expect_not_contains "... and its quarantined copy with it" "$(quarantined_paths)" "$f"
ls "$qdir" | grep -q "$id" && fail "quarantine files of $id remain" || pass "no file of the purged entry remains"

# ---- remove-all
for i in 1 2 3; do eicar >"$samples/r$i.com"; done
run timeout 60 mdatp scan custom --path "$samples"
run_nobody mdatp threat quarantine remove-all
expect_rc "nobody may not empty the quarantine" 1
run mdatp threat quarantine remove-all
expect_contains "remove-all" "$OUT" "quarantined file(s) removed"
expect_eq "quarantine empty" "$(quarantined_paths)" ""
run mdatp threat quarantine list
expect_eq "empty quarantine text" "$OUT" "No quarantined files"

finish
