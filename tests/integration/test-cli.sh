#!/usr/bin/env bash
# The mdatp CLI: every config command, exit codes and one-line messages for each kind of error.
. "$(dirname "$0")/lib.sh"

# config commands: name, value, health field (or setting) and the value it must then show.
check_config() {        # check_config "ARGS" FIELD EXPECTED
        run mdatp config $1
        expect_rc "mdatp config $1" 0
        expect_eq "mdatp config $1 prints success" "$OUT" "Configuration property updated."
        run mdatp health --field "$2"
        expect_eq "mdatp config $1 shows in $2" "$OUT" "$3"
}
check_config "real-time-protection --value disabled" real_time_protection_enabled false
check_config "real-time-protection --value enabled" real_time_protection_enabled true
check_config "passive-mode --value enabled" passive_mode_enabled true
check_config "passive-mode --value disabled" real_time_protection_enabled true
check_config "behavior-monitoring --value enabled" behavior_monitoring '"enabled"'
check_config "cloud --value disabled" cloud_enabled false
check_config "cloud-diagnostic --value enabled" cloud_diagnostic_enabled true
check_config "cloud-automatic-sample-submission --value disabled" cloud_automatic_sample_submission_consent '"none"'
check_config "maximum-on-demand-scan-threads --value 5" maximum_on_demand_scan_threads 5
check_config "scan-after-definition-update --value disabled" scan_after_definition_update false
check_config "scan-archives --value disabled" scan_archives false
check_config "enable-file-hash-computation --value enabled" enable_file_hash_computation true
check_config "real-time-protection-statistics --value enabled" real_time_protection_statistics_enabled true
check_config "ebpf-supplementary-event-provider --value disabled" ebpf_supplementary_event_provider '"disabled"'
check_config "network-protection enforcement-level --value audit" network_protection_enforcement_level '"audit"'

config_get() { busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s "$1"; }
run mdatp config proxy set --value http://127.0.0.1:3128
expect_rc "config proxy set" 0
expect_eq "proxy stored" "$(config_get cloudService.proxy)" 'v s "http://127.0.0.1:3128"'
run mdatp config proxy clear
expect_rc "config proxy clear" 0
expect_eq "proxy cleared" "$(config_get cloudService.proxy)" 'v s ""'
run mdatp config log-rotation-parameters max-current-size --size 20
expect_rc "config log-rotation-parameters" 0
expect_eq "log rotation stored" "$(config_get logRotation.maxCurrentSizeMb)" 'v i 20'
run mdatp edr tag set --name GROUP --value db-servers
expect_rc "edr tag set" 0
expect_eq "edr tag shown" "$(health_field edr_device_tags)" '[{"key":"GROUP","value":"db-servers"}]'
run mdatp edr tag remove --tag-name GROUP
expect_eq "edr tag removed" "$(health_field edr_device_tags)" '[]'
run mdatp edr group-ids --group-id team-7
expect_eq "edr group id" "$(health_field edr_group_ids)" '"team-7"'
run mdatp edr early-preview enabled
expect_rc "edr early-preview" 0
expect_eq "edr early preview" "$(health_field edr_early_preview_enabled)" '"enabled"'

# The generic form used by automation.
run mdatp config set --name antivirusEngine.unmonitoredFilesystems --value nfs,fuse,cifs
expect_rc "config set of a list" 0
expect_eq "list stored" "$(config_get antivirusEngine.unmonitoredFilesystems)" 'v as 3 "nfs" "fuse" "cifs"'
run mdatp config reset --name antivirusEngine.unmonitoredFilesystems
expect_rc "config reset" 0
run mdatp config list
expect_contains "config list shows settings" "$OUT" "antivirusEngine.enforcementLevel"

# Invalid values: exit 2, the allowed values listed, nothing sent.
run mdatp config real-time-protection --value maybe
expect_rc "invalid enum value is a usage error" 2
expect_contains "invalid value lists what is allowed" "$OUT" "enabled, disabled"
run mdatp config maximum-on-demand-scan-threads --value 65
expect_rc "out-of-range value refused" 2
expect_contains "range is named" "$OUT" "64"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] && pass "error is one line" || fail "error is not one line: $OUT"
run mdatp config set --name cloudService.proxy --value 'ftp://x'
expect_rc "daemon-side validation error exits 1" 1
expect_contains "daemon's message printed" "$OUT" "cloudService.proxy"

# Usage errors.
run mdatp config
expect_rc "missing subcommand" 2
expect_contains "lists the subcommands" "$OUT" "Expected one of:"
run mdatp no-such-group
expect_rc "unknown group" 2
run mdatp config cloud
expect_rc "missing --value" 2

# Not authorised.
run_nobody mdatp config cloud --value enabled
expect_rc "nobody: config fails" 1
expect_contains "nobody: says administrator privileges" "$OUT" "requires administrator privileges"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] && pass "not-authorised error is one line" || fail "multi-line: $OUT"
run_nobody mdatp log level set --level debug
expect_rc "nobody: log level fails" 1
expect_contains "nobody: log level needs privileges" "$OUT" "requires administrator privileges"

# Managed by policy.
write_managed '{ "cloudService": { "enabled": true } }'
wait_until 2 sh -c "mdatp health | grep -q 'cloud_enabled.*\[managed\]'"
run mdatp config cloud --value disabled
expect_rc "managed: exit 1" 1
expect_contains "managed: message" "$OUT" "managed by policy"
rm -f "$MDATP_MANAGED_DIR/mdatp_managed.json"

# Legacy syntax still works.
run mdatp --health healthy
expect_rc "legacy --health FIELD" 0
expect_eq "legacy --health prints the value" "$OUT" "true"

# Daemon not reachable: no bus at all, and a bus without the daemon.
RC=0; OUT=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/socket mdatp health 2>&1) || RC=$?
expect_rc "no bus: exit 3" 3
expect_contains "no bus: says the daemon is not running" "$OUT" "not running"
empty="$MDATP_SANDBOX_DIR/empty-bus"
mkdir -p "$empty"
sed -e "s|<listen>.*</listen>|<listen>unix:path=$empty/socket</listen>|" \
    -e "/system.d<\/includedir>/d" "$MDATP_SANDBOX_DIR/bus.conf" >"$empty/bus.conf"
dbus-daemon --config-file="$empty/bus.conf" --nofork --nopidfile >/dev/null 2>&1 &
empty_pid=$!
wait_until 5 test -S "$empty/socket"
RC=0; OUT=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$empty/socket mdatp health 2>&1) || RC=$?
expect_rc "bus without daemon: exit 3" 3
expect_contains "bus without daemon: says not running" "$OUT" "not running"
RC=0; OUT=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$empty/socket mdatp config cloud --value enabled 2>&1) || RC=$?
expect_rc "config without daemon: exit 3" 3
kill "$empty_pid"; wait "$empty_pid" 2>/dev/null

finish
