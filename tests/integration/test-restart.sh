#!/usr/bin/env bash
# Local settings, the persisted log level and the machine id survive a daemon restart; a
# corrupt local settings file is kept aside and reported, never silently lost.
. "$(dirname "$0")/lib.sh"

run mdatp config maximum-on-demand-scan-threads --value 7
expect_rc "set threads" 0
expect_eq "prints the reference's success text" "$OUT" "Configuration property updated."
run mdatp config passive-mode --value enabled
expect_rc "set passive mode" 0
run mdatp config proxy set --value http://proxy.example:3128/
expect_rc "set proxy" 0
run mdatp log level persist --level debug
expect_rc "persist log level" 0
expect_eq "log level success text" "$OUT" "Log level configured successfully"
guid=$(health_field machine_guid)

restart_daemon || fail "daemon did not come back"
expect_eq "threads survive restart" "$(mdatp health --field maximum_on_demand_scan_threads)" "7"
expect_eq "passive mode survives restart" "$(health_field passive_mode_enabled)" "true"
expect_eq "log level persisted" "$(health_field log_level)" '"debug"'
expect_eq "machine guid is stable" "$(health_field machine_guid)" "$guid"
run busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s cloudService.proxy
expect_eq "proxy survives restart" "$OUT" 'v s "http://proxy.example:3128/"'

# A level set without persist lasts until restart only.
run mdatp log level set --level error
expect_eq "runtime level applies" "$(health_field log_level)" '"error"'
restart_daemon || fail "daemon did not come back"
expect_eq "non-persisted level is gone after restart" "$(health_field log_level)" '"debug"'

# The state file is written atomically and privately.
settings_file="$MDATP_STATE_DIR/settings.json"
expect_eq "local settings file is 0600" "$(stat -c %a "$settings_file")" "600"
if /usr/bin/python3 -m json.tool "$settings_file" >/dev/null; then pass "local settings file is valid JSON"; else fail "settings.json is not JSON"; fi
left=$(find "$MDATP_STATE_DIR" -name '.#*' | wc -l)
expect_eq "no temp files left behind" "$left" "0"

# Corrupt it while the daemon is down (kill, then write before the restart can read it).
old=$(cat "$MDATPD_PID_FILE")
printf '{ "antivirusEngine": { "maximumOnDemandScanThreads": ' >"$settings_file.new"
mv "$settings_file.new" "$settings_file"
kill -TERM "$old"
wait_until 10 sh -c "[ \"\$(cat '$MDATPD_PID_FILE')\" != '$old' ]"
wait_until 10 daemon_up || fail "daemon did not start with a corrupt settings file"
run mdatp health --field health_issues
expect_contains "corrupt local settings reported" "$OUT" "could not be read"
kept=$(ls "$MDATP_STATE_DIR" | grep -c 'settings.json.invalid-')
expect_eq "corrupt file kept aside" "$kept" "1"
expect_eq "defaults apply after a corrupt file" "$(mdatp health --field maximum_on_demand_scan_threads)" "2"

finish
