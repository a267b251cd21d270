#!/usr/bin/env bash
# The managed policy: live reload, locking, bad files that change nothing, legacy keys,
# files that are not trustworthy.
. "$(dirname "$0")/lib.sh"

field_is() { [ "$(health_field "$1")" = "$2" ]; }
managed_file="$MDATP_MANAGED_DIR/mdatp_managed.json"

# A local value first, so we can see the policy override it and the local value return after.
run mdatp config cloud --value disabled
expect_rc "local cloud disabled" 0
expect_eq "local value applies" "$(health_field cloud_enabled)" "false"

start=$(date +%s%N)
write_managed '{
  "antivirusEngine": {
    "enforcementLevel": "passive",
    "maximumOnDemandScanThreads": 4,
    "info": "pseudo-keys like this one in the sample file are ignored"
  },
  "cloudService": { "enabled": true, "automaticSampleSubmissionConsent": "none" }
}'
if wait_until 2 field_is passive_mode_enabled true; then
        pass "policy applied live within 2 s ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
else
        fail "policy not applied within 2 s"
fi
run mdatp health
expect_contains "managed value is marked" "$OUT" "passive_mode_enabled                        : true [managed]"
expect_contains "managed cloud overrides local" "$OUT" "cloud_enabled                               : true [managed]"
expect_contains "managed consent shown" "$OUT" "cloud_automatic_sample_submission_consent   : \"none\" [managed]"
expect_contains "rtp follows enforcement level" "$OUT" "real_time_protection_enabled                : false [managed]"
run mdatp health --output json
expect_contains "json isManaged" "$OUT" '"passiveModeEnabled":{"displayValue":true,"isManaged":true,"value":true}'

run mdatp config real-time-protection --value enabled
expect_rc "config of a managed setting fails" 1
expect_contains "the error says managed by policy" "$OUT" "managed by policy"
run busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv antivirusEngine.maximumOnDemandScanThreads i 8
expect_contains "Set over the bus gets Error.ManagedByPolicy" "$OUT" "managed by policy"
run busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Reset s antivirusEngine.enforcementLevel
expect_contains "Reset of a managed setting is refused too" "$OUT" "managed by policy"
run mdatp config behavior-monitoring --value enabled
expect_rc "unmanaged settings can still be changed" 0

# A file that does not parse changes nothing and says where it is wrong.
printf '{\n  "antivirusEngine": {\n    "enforcementLevel": "on_demand",\n  }\n}\n' >"$MDATP_MANAGED_DIR/.t"
mv "$MDATP_MANAGED_DIR/.t" "$managed_file"
issue_has() { mdatp health --field health_issues | grep -q -- "$1"; }
if wait_until 2 issue_has "line 4"; then pass "syntax error reported with its line"; else fail "syntax error not reported: $(health_field health_issues)"; fi
expect_eq "old policy stays after a syntax error" "$(health_field passive_mode_enabled)" "true"
expect_contains "the issue names the file" "$(health_field health_issues)" "$managed_file"

# A file that parses but does not validate: line, column and key.
write_managed '{
  "antivirusEngine": {
    "enforcementLevel": "real_time",
    "maximumOnDemandScanThreads": 100
  }
}'
if wait_until 2 issue_has "antivirusEngine.maximumOnDemandScanThreads"; then pass "validation error names the key"; else fail "validation error: $(health_field health_issues)"; fi
issues=$(health_field health_issues)
expect_contains "validation error has line and column" "$issues" "line 4, column 35"
expect_contains "validation error says the range" "$issues" "1..64"
expect_eq "old policy stays after a validation error" "$(health_field passive_mode_enabled)" "true"
expect_eq "health is not healthy" "$(health_field healthy)" "false"

# Wrong JSON type.
write_managed '{ "cloudService": { "enabled": "yes" } }'
if wait_until 2 issue_has "cloudService.enabled"; then pass "wrong type names the key"; else fail "wrong type: $(health_field health_issues)"; fi

# Fixing the file clears the issue and applies it.
write_managed '{ "antivirusEngine": { "enforcementLevel": "on_demand" } }'
issue_gone() { ! issue_has "mdatp_managed.json"; }
if wait_until 2 issue_gone; then pass "fixed file clears the issue"; else fail "issue stays: $(health_field health_issues)"; fi
run mdatp health
expect_contains "on_demand: rtp off and managed" "$OUT" "real_time_protection_enabled                : false [managed]"
expect_contains "on_demand: passive off" "$OUT" "passive_mode_enabled                        : false [managed]"
expect_contains "keys the new policy dropped fall back to local" "$OUT" "cloud_enabled                               : false"

# Legacy keys map onto enforcementLevel.
write_managed '{ "antivirusEngine": { "passiveMode": true } }'
if wait_until 2 field_is passive_mode_enabled true; then pass "legacy passiveMode maps to passive"; else fail "legacy passiveMode: $(health_field passive_mode_enabled)"; fi
write_managed '{ "antivirusEngine": { "enableRealTimeProtection": false } }'
level_is() { [ "$(busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s antivirusEngine.enforcementLevel)" = "v s \"$1\"" ]; }
if wait_until 2 level_is on_demand; then pass "legacy enableRealTimeProtection=false maps to on_demand"; else fail "legacy rtp: $(health_field passive_mode_enabled)"; fi
expect_eq "rtp is off under the legacy key" "$(health_field real_time_protection_enabled)" "false"

# Unknown keys are ignored and the rest applies, but each is a health issue with its position:
# a misspelt or look-alike group name silently dropped every setting under it, so healthy
# follows (an administrator must see that the policy is not what was meant). The reference's
# "info" and "possible values" comment keys are not reported.
printf '{\n  "antivirusEngine": { "enforcementLevel": "passive", "someFutureKey": 1, "info": "x" },\n  "cloudSevrice": { "enabled": false },\n  "edr": { "groupIds": "g\xd0\xb0" }, "\xd0\xb5dr": { "groupIds": "x" }\n}\n' >"$MDATP_MANAGED_DIR/.tmp.json"
chmod 0644 "$MDATP_MANAGED_DIR/.tmp.json"
mv -f "$MDATP_MANAGED_DIR/.tmp.json" "$managed_file"
if wait_until 2 field_is passive_mode_enabled true; then pass "unknown keys ignored, the rest applies"; else fail "unknown keys: $(health_field health_issues)"; fi
if wait_until 2 issue_has "cloudSevrice (line 3, column 19)"; then pass "a misspelt section is a health issue with line and column"; else fail "misspelt section: $(health_field health_issues)"; fi
issues=$(health_field health_issues)
expect_contains "an unknown key in a known section is reported" "$issues" "antivirusEngine.someFutureKey (line 2"
expect_contains "a look-alike section name is reported as non-ASCII" "$issues" "non-ASCII"
expect_not_contains "comment keys are not reported" "$issues" "antivirusEngine.info"
expect_eq "unknown keys make health unhealthy" "$(health_field healthy)" "false"
run_nobody mdatp health --field health_issues
expect_contains "nobody reads the unknown-key issues too" "$OUT" "cloudSevrice"

# A refused proxy with credentials: the issue names the problem, never the password.
write_managed '{ "cloudService": { "proxy": "http://user:Pa55word@proxy.example:3128/" } }'
if wait_until 2 issue_has "is not a proxy URL"; then pass "a proxy with credentials is refused"; else fail "proxy: $(health_field health_issues)"; fi
run_nobody mdatp health --field health_issues
expect_not_contains "the refusal does not quote the password to nobody" "$OUT" "Pa55word"
expect_contains "the refusal shows the redacted URL" "$OUT" "http://***@proxy.example:3128/"
write_managed '{ "antivirusEngine": { "enforcementLevel": "passive" } }'
if wait_until 2 field_is healthy true; then pass "a clean policy is healthy again"; else fail "clean policy: $(health_field health_issues)"; fi

# Untrustworthy files: writable by others, or a symlink.
chmod 0666 "$managed_file"
if wait_until 2 issue_has "owned by root"; then pass "world-writable policy refused"; else fail "world-writable: $(health_field health_issues)"; fi
expect_eq "refused file changes nothing" "$(health_field passive_mode_enabled)" "true"
printf '{ "antivirusEngine": { "enforcementLevel": "real_time" } }\n' >"$MDATP_SANDBOX_DIR/elsewhere.json"
rm -f "$managed_file"
ln -s "$MDATP_SANDBOX_DIR/elsewhere.json" "$managed_file"
if wait_until 2 issue_has "symbolic link"; then pass "symlinked policy refused"; else fail "symlink: $(health_field health_issues)"; fi
expect_eq "symlinked file changes nothing" "$(health_field passive_mode_enabled)" "true"

# Removing the policy unlocks everything.
rm -f "$managed_file"
if wait_until 2 field_is passive_mode_enabled false; then pass "removed policy: defaults and local values return"; else fail "removal: $(health_field passive_mode_enabled)"; fi
run mdatp health
expect_not_contains "nothing managed after removal" "$OUT" "[managed]"
run mdatp config real-time-protection --value disabled
expect_rc "unlocked setting can be changed again" 0

# A huge file is refused, not read whole.
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$MDATP_MANAGED_DIR/.big"
mv "$MDATP_MANAGED_DIR/.big" "$managed_file"
if wait_until 2 issue_has "mdatp_managed.json"; then pass "oversized policy refused with a health issue"; else fail "oversized: $(health_field health_issues)"; fi
run mdatp health --field healthy
expect_rc "daemon still answers after hostile files" 0
rm -f "$managed_file"

# The policy directory removed and created again (as a package reinstall may do): the daemon
# polls for it and watches it again.
rm -rf "$MDATP_MANAGED_DIR"
sleep 3                                 # more than one poll interval: the poll must re-arm
mkdir -p "$MDATP_MANAGED_DIR"
write_managed '{ "antivirusEngine": { "enforcementLevel": "passive" } }'
if wait_until 8 field_is passive_mode_enabled true; then pass "a re-created policy directory is watched again"; else fail "re-created directory not watched"; fi
rm -f "$MDATP_MANAGED_DIR/mdatp_managed.json"
wait_until 4 field_is passive_mode_enabled false

# Merged pair lists: local pairs add to managed ones, but may not contradict them.
write_managed '{ "antivirusEngine": { "threatTypeSettings": [ { "key": "archive_bomb", "value": "off" } ] } }'
tts_has() { busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s antivirusEngine.threatTypeSettings | grep -q "$1"; }
wait_until 2 tts_has '"archive_bomb" "off"'
run busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv antivirusEngine.threatTypeSettings 'a(ss)' 1 archive_bomb block
expect_contains "a local pair contradicting the managed one is refused" "$OUT" "managed by policy"
run busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv antivirusEngine.threatTypeSettings 'a(ss)' 1 potentially_unwanted_application block
expect_rc "a local pair for another key is merged" 0
if tts_has '"potentially_unwanted_application" "block"' && tts_has '"archive_bomb" "off"'; then pass "merged pairs: managed and local"; else fail "merge: $(busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s antivirusEngine.threatTypeSettings)"; fi
busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Reset s antivirusEngine.threatTypeSettings >/dev/null
rm -f "$MDATP_MANAGED_DIR/mdatp_managed.json"

# SIGHUP also reloads.
write_managed '{ "antivirusEngine": { "scanArchives": false } }'
kill -HUP "$(cat "$MDATPD_PID_FILE")"
if wait_until 2 sh -c "mdatp health --details antivirus | grep -q 'scan_archives.*false \[managed\]'"; then pass "policy applied (inotify or SIGHUP)"; else fail "SIGHUP reload"; fi

finish
