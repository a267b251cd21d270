#!/usr/bin/env bash
# mdatp health over the real bus: text, --field, --output json, --details; typed properties
# over busctl.
. "$(dirname "$0")/lib.sh"

run mdatp health
expect_rc "mdatp health succeeds" 0
expect_contains "text shows healthy" "$OUT" "healthy                                     : "
expect_contains "text shows app_version quoted" "$OUT" "app_version                                 : \""
expect_contains "default enforcement is real_time" "$OUT" "real_time_protection_enabled                : true"
expect_contains "passive mode off by default" "$OUT" "passive_mode_enabled                        : false"
expect_contains "missing values read unavailable" "$OUT" "edr_machine_id                              : unavailable"
expect_contains "engine loaded" "$OUT" "engine_load_status                          : \"Engine load succeeded\""
expect_contains "shipped definitions loaded" "$OUT" "definitions_version                         : \"1.0.0.0\""
expect_contains "definitions up to date" "$OUT" "definitions_status                          : \"up_to_date\""
expect_contains "real-time protection available" "$OUT" "real_time_protection_available              : true"
expect_contains "real-time protection subsystem" "$OUT" "real_time_protection_subsystem              : \"fanotify\""
expect_not_contains "nothing is managed without a policy" "$OUT" "[managed]"
# The sandbox trusts the build's own key, never the published test key (test-test-key.sh).
expect_contains "healthy with the build's key" "$OUT" "healthy                                     : true"
# Every line is `key<pad to 44>: value`.
bad=$(printf '%s\n' "$OUT" | grep -v -E '^[a-z_]{1,43} +: .+$' | head -n 3)
expect_eq "every text line is aligned key : value" "$bad" ""
col=$(printf '%s\n' "$OUT" | awk '{ print index($0, ":") }' | sort -u)
expect_eq "the colon is at column 45 on every line" "$col" "45"

run mdatp health --field healthy
expect_rc "--field healthy succeeds" 0
expect_eq "healthy with everything running" "$OUT" "true"
run mdatp health --field app_version
expect_eq "--field prints the value only, quoted" "$OUT" "\"0.1.0\""
run mdatp health --field no_such_field
expect_rc "--field with an unknown name is a usage error" 2
expect_contains "unknown field is named" "$OUT" "no_such_field"

run mdatp health --output json
expect_rc "json health succeeds" 0
json=$OUT
check_json() { printf '%s' "$json" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }
if check_json 'd["$type"] == "getHealthAllResult"'; then pass "json has \$type getHealthAllResult"; else fail "json \$type: $json"; fi
if check_json 'd["healthy"] is True and d["healthIssues"] == []'; then pass "json healthy/healthIssues"; else fail "json healthy: $json"; fi
if check_json 'd["realTimeProtectionEnabled"] == {"displayValue": True, "isManaged": False, "value": True}'; then pass "json setting wrapper"; else fail "json wrapper: $json"; fi
if check_json 'd["definitionsStatus"] == {"$type": "upToDate"}'; then pass "json status tag"; else fail "json definitionsStatus: $json"; fi
if check_json 'd["appVersion"] == "0.1.0" and d["licensed"] is True'; then pass "json plain facts"; else fail "json facts: $json"; fi
if check_json 'd["edrMachineId"] is None and d["definitionsVersion"] == "1.0.0.0"'; then pass "json unavailable is null, versions are strings"; else fail "json null: $json"; fi

for view in antivirus definitions edr features; do
        run mdatp health --details "$view"
        expect_rc "--details $view succeeds" 0
done
run mdatp health --details antivirus
expect_contains "antivirus view shows maximum_on_demand_scan_threads" "$OUT" "maximum_on_demand_scan_threads              : 2"
expect_contains "antivirus view shows enforcement_level" "$OUT" "enforcement_level                           : \"real_time\""
run mdatp health --details definitions
expect_contains "definitions view says DEPRECATED" "$OUT" "offline_definition_update_verify_sig        : \"DEPRECATED\""
run mdatp health --details bogus
expect_rc "--details with an unknown view is a usage error" 2

# Typed properties straight from the bus.
run busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Health RealTimeProtectionEnabled
expect_eq "RealTimeProtectionEnabled is a typed bool" "$OUT" "b true"
run busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Health MachineGuid
case "$OUT" in
s\ \"????????-????-????-????-????????????\") pass "MachineGuid is a GUID" ;;
*) fail "MachineGuid: $OUT" ;;
esac

# Reading needs no privileges.
run_nobody mdatp health --field real_time_protection_enabled
expect_rc "nobody can read health" 0
expect_eq "nobody sees the same value" "$OUT" "true"

# A tampered, newer pack in the store is refused with the reason in health; the shipped pack
# keeps protecting.
src=$(cd "$(dirname "$0")/../.." && pwd)
"$MDATP_BUILD_DIR/tools/mdatp-pack/mdatp-pack" build --key "$MDATP_DEFINITIONS_SIGNING_KEY" \
        --version 2.0.0.0 --out "$MDATP_STATE_DIR/definitions/current" "$src/definitions/default" >/dev/null
echo "rule x { condition: true }" >>"$MDATP_STATE_DIR/definitions/current/rules/eicar.yar"
kill -HUP "$(cat "$MDATPD_PID_FILE")"
issue_says() { mdatp health --field health_issues | grep -q "refused"; }
if wait_until 5 issue_says; then pass "tampered pack reported in health"; else fail "no issue: $(mdatp health --field health_issues)"; fi
expect_contains "the reason names the file" "$(mdatp health --field health_issues)" "eicar.yar"
expect_eq "the shipped pack stays in force" "$(mdatp health --field definitions_version)" '"1.0.0.0"'
rm -rf "$MDATP_STATE_DIR/definitions/current"

run mdatp version
expect_eq "mdatp version" "$OUT" "Product version: 0.1.0"

finish
