#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Puppet module puppet/mdatp against the real daemon of scripts/sandbox.sh: puppet apply
# --detailed-exitcodes changes things once (2) and then nothing (0), --noop changes nothing
# (verified over D-Bus), ensure => absent removes an exclusion and a local value, and a setting
# the managed policy locks fails with the daemon's message. The providers talk to the daemon
# with busctl --json=short (D-Bus, typed). The class's package and service resources are
# switched off: the sandbox takes no package and has no systemd.
. "$(dirname "$0")/../lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
manifests="$here/puppet"

for tool in puppet ruby busctl; do
        command -v "$tool" >/dev/null || {
                echo "not ok - $tool is not installed (apt-get install puppet ruby)"
                echo "0 passed, 1 failed"
                exit 1
        }
done

work="$MDATP_SANDBOX_DIR/puppet"
mkdir -p "$work"/{conf,var,code,log,run}
export FACTER_mdatp_managed_dir="$MDATP_MANAGED_DIR"

B() { busctl --system "$@"; }
setting() { B call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s "$1" | sed 's/^v //'; }
exclusions() { B call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Exclusions com.microsoft.Mdatp1.Exclusions List; }

# papply MANIFEST [ARGS...]: puppet apply --detailed-exitcodes; $RC and $OUT. (Every run prints
# "Error: Facter: Permission denied @ rb_sysopen - /proc/1/environ" here: noise, not checked.)
papply() {
        local manifest=$1
        shift
        run puppet apply --detailed-exitcodes --color=false --modulepath="$src/puppet" \
                --confdir="$work/conf" --vardir="$work/var" --codedir="$work/code" \
                --logdir="$work/log" --rundir="$work/run" "$@" "$manifests/$manifest"
}
shown() { printf '%s' "$OUT" | grep -v 'Facter: Permission denied' | tail -n 30; }

# ---- one helper for Puppet and Chef
if cmp -s "$src/puppet/mdatp/lib/puppet_x/mdatp/dbus_helper.rb" "$src/chef/mdatp/libraries/dbus_helper.rb"; then
        pass "the Puppet and Chef D-Bus helpers are the same file"
else
        fail "puppet/mdatp/lib/puppet_x/mdatp/dbus_helper.rb differs from chef/mdatp/libraries/dbus_helper.rb; copy it again"
fi

# ---- syntax
for pp in "$src"/puppet/mdatp/manifests/*.pp "$src"/puppet/mdatp/examples/*.pp "$manifests"/*.pp; do
        run puppet parser validate --color=false --confdir="$work/conf" --vardir="$work/var" "$pp"
        expect_rc "puppet parser validate ${pp#"$src"/}" 0
done
for rb in $(find "$src/puppet" -name '*.rb'); do
        run ruby -wc "$rb"
        if [ "$RC" = 0 ] && [ "$OUT" = "Syntax OK" ]; then pass "ruby -wc ${rb#"$src"/}"; else fail "ruby -wc $rb: $OUT"; fi
done

# ---- apply: changes (2), then none (0)
papply apply.pp
if [ "$RC" = 2 ]; then pass "first apply changes things (exit 2)"; else fail "first apply: exit $RC: $(shown)"; fi
expect_contains "the setting change is reported typed" "$OUT" "value changed 2 to 4"
expect_not_contains "no resource failed" "$OUT" "Error: /Stage"
expect_eq "threads set, over D-Bus" "$(setting antivirusEngine.maximumOnDemandScanThreads)" "i 4"
expect_eq "scanArchives set, over D-Bus" "$(setting antivirusEngine.scanArchives)" "b false"
expect_eq "unmonitoredFilesystems set, over D-Bus" "$(setting antivirusEngine.unmonitoredFilesystems)" 'as 1 "fuse"'
expect_eq "edr.tags set, over D-Bus" "$(setting edr.tags)" 'a(ss) 1 "GROUP" "web-servers"'
expect_eq "threat types merged per key, over D-Bus" "$(setting antivirusEngine.threatTypeSettings)" \
        'a(ss) 2 "potentially_unwanted_application" "block" "archive_bomb" "off"'
expect_contains "folder exclusion added, over D-Bus" "$(exclusions)" '"folder" "/var/log/" "epp" false'
expect_contains "process exclusion added, over D-Bus" "$(exclusions)" '"process" "/usr/bin/rsync" "global" false'
expect_eq "scanResultsRetentionDays untouched (its default)" \
        "$(B --json=short call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings List | grep -o '"antivirusEngine.scanResultsRetentionDays",[^]]*\]')" \
        '"antivirusEngine.scanResultsRetentionDays",{"type":"i","data":90},false,"default"]'
file="$MDATP_MANAGED_DIR/mdatp_managed.json"
expect_eq "policy file is root:root 0644" "$(stat -c '%U:%G %a' "$file" 2>&1)" "root:root 644"
same=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])) == {"cloudService": {"automaticSampleSubmissionConsent": "none"}})' "$file" 2>&1)
expect_eq "policy file holds the class's policy" "$same" "True"
if wait_until 10 sh -c "busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s cloudService.automaticSampleSubmissionConsent | grep -q none"; then
        pass "the daemon applied the policy file"
else
        fail "the policy file was not applied"
fi
papply apply.pp
if [ "$RC" = 0 ]; then pass "second apply changes nothing (exit 0)"; else fail "second apply: exit $RC: $(shown)"; fi

# ---- noop
before_excl=$(exclusions)
papply noop.pp --noop
if [ "$RC" = 0 ] || [ "$RC" = 2 ]; then pass "--noop run succeeds (exit $RC)"; else fail "--noop: exit $RC: $(shown)"; fi
expect_contains "--noop reports the would-be change" "$OUT" "current_value 4, should be 8 (noop)"
expect_contains "--noop reports the exclusion" "$OUT" "current_value 'absent', should be 'present' (noop)"
expect_eq "--noop left the threads alone" "$(setting antivirusEngine.maximumOnDemandScanThreads)" "i 4"
expect_eq "--noop added no exclusion" "$(exclusions)" "$before_excl"
expect_contains "--noop left the threat policy alone" "$(setting antivirusEngine.threatTypeSettings)" '"potentially_unwanted_application" "block"'

# ---- ensure => absent
papply absent.pp
if [ "$RC" = 2 ]; then pass "ensure => absent changes things (exit 2)"; else fail "absent: exit $RC: $(shown)"; fi
expect_not_contains "the exclusion is gone, over D-Bus" "$(exclusions)" '"/var/log/"'
expect_contains "the rsync exclusion stays" "$(exclusions)" '"/usr/bin/rsync"'
expect_eq "the threads are back to the default, over D-Bus" "$(setting antivirusEngine.maximumOnDemandScanThreads)" "i 2"
papply absent.pp
if [ "$RC" = 0 ]; then pass "ensure => absent again changes nothing (exit 0)"; else fail "absent again: exit $RC: $(shown)"; fi

# ---- the managed policy wins, with the daemon's message
write_managed '{ "antivirusEngine": { "maximumOnDemandScanThreads": 3,
  "exclusions": [ { "$type": "excludedFileExtension", "extension": ".iso" } ] } }'
if wait_until 10 sh -c "busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s antivirusEngine.maximumOnDemandScanThreads | grep -q 'i 3'"; then
        pass "the managed policy is in effect"
else
        fail "the managed policy was not applied"
fi
papply locked.pp
if [ "$RC" = 4 ] || [ "$RC" = 6 ]; then pass "a locked setting fails the run (exit $RC)"; else fail "locked: exit $RC: $(shown)"; fi
expect_contains "with the daemon's message" "$OUT" "The setting 'antivirusEngine.maximumOnDemandScanThreads' is managed by policy"
expect_not_contains "and no Ruby backtrace" "$OUT" "dbus_helper.rb:"
expect_eq "the managed value stands" "$(setting antivirusEngine.maximumOnDemandScanThreads)" "i 3"
papply managed-exclusion.pp
if [ "$RC" = 4 ] || [ "$RC" = 6 ]; then pass "removing a managed exclusion fails (exit $RC)"; else fail "managed exclusion: exit $RC: $(shown)"; fi
expect_contains "with the daemon's message" "$OUT" "comes from the managed policy"
rm -f "$MDATP_MANAGED_DIR/mdatp_managed.json"

finish
