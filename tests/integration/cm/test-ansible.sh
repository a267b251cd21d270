#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Ansible collection mdatp.endpoint against the real daemon, bus and polkitd of
# scripts/sandbox.sh, with ansible-playbook -c local: a play that sets settings, exclusions and
# threat policy changes things once and nothing the second time; check mode changes nothing
# (verified over D-Bus); state absent resets and removes; a setting locked by the managed policy
# fails with the daemon's "managed by policy" text; the scan module finds an EICAR file made at
# run time; the install role writes mdatp_managed.json and waits for the daemon to apply it (its
# install and service tasks are switched off: the sandbox takes no package and has no systemd);
# ansible-doc renders every module and ansible-lint passes.
. "$(dirname "$0")/../lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
collections="$src/ansible/collections"
collection="$collections/ansible_collections/mdatp/endpoint"
plays="$here/ansible"
MODULES="settings exclusion threat_policy scan health_info"

for tool in ansible-playbook ansible-doc ansible-lint; do
        command -v "$tool" >/dev/null || {
                echo "not ok - $tool is not installed (apt-get install ansible-core ansible-lint)"
                echo "0 passed, 1 failed"
                exit 1
        }
done
/usr/bin/python3 -c 'import dbus' 2>/dev/null || {
        echo "not ok - /usr/bin/python3 cannot import dbus (apt-get install python3-dbus)"
        echo "0 passed, 1 failed"
        exit 1
}

work="$MDATP_SANDBOX_DIR/ansible"
mkdir -p "$work/tmp"
export XDG_CACHE_HOME="$work/cache" PYTHONDONTWRITEBYTECODE=1  # ansible-lint caches there; no __pycache__ in the tree
export ANSIBLE_COLLECTIONS_PATH="$collections" ANSIBLE_LOCAL_TEMP="$work/tmp" \
        ANSIBLE_REMOTE_TEMP="$work/tmp" ANSIBLE_HOME="$work/home" ANSIBLE_NOCOLOR=1 \
        ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_DEPRECATION_WARNINGS=0 \
        ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
        ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_FORCE_COLOR=0
unset ANSIBLE_CONFIG

B() { busctl --system "$@"; }
setting() {     # setting NAME: the effective value, as busctl prints it ("i 4")
        B call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Get s "$1" |
                sed 's/^v //'
}
exclusions() { B call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Exclusions com.microsoft.Mdatp1.Exclusions List; }

# play NAME PLAYBOOK [ARGS...]: runs it with the default callback; sets $RC, $OUT (the output) and
# $STATS ("ok=N changed=N failures=N", from the recap); the output stays in $work/NAME.log.
STATS=
play() {
        local name=$1 book=$2
        shift 2
        RC=0
        ansible-playbook -c local -i localhost, -e ansible_python_interpreter=/usr/bin/python3 \
                "$plays/$book" "$@" >"$work/$name.log" 2>&1 || RC=$?
        OUT=$(cat "$work/$name.log")
        STATS=$(sed -n 's/^localhost *: ok=\([0-9]*\) *changed=\([0-9]*\) .*failed=\([0-9]*\) .*/ok=\1 changed=\2 failures=\3/p' \
                "$work/$name.log")
        [ -n "$STATS" ] || STATS="no recap"
}
# failed_msgs NAME: "msg [error]" of every failed task in $work/NAME.log
failed_msgs() {
        /usr/bin/python3 - "$work/$1.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("fatal: [localhost]: FAILED! => "):
        try:
            r = json.loads(line.split("=> ", 1)[1])
        except ValueError:
            print(line.strip()); continue
        print("%s [%s]" % (r.get("msg"), r.get("error")))
PY
}
# show NAME: the end of a run's output, for a failure message
show() { echo; tail -n 40 "$work/$1.log"; }

# ---- ansible-doc and ansible-lint
for m in $MODULES; do
        run ansible-doc -t module "mdatp.endpoint.$m"
        if [ "$RC" = 0 ] && [[ "$OUT" == *"MDATP.ENDPOINT.${m^^}"* ]] && [[ "$OUT" == *EXAMPLES* ]] &&
                [[ "$OUT" != *WARNING* ]]; then
                pass "ansible-doc renders mdatp.endpoint.$m"
        else
                fail "ansible-doc mdatp.endpoint.$m: rc $RC: $(printf '%s' "$OUT" | head -c 600)"
        fi
done
run sh -c "cd '$collection' && ansible-lint --offline --nocolor -p roles/install"
expect_rc "ansible-lint passes on the install role" 0
run sh -c "cd '$plays' && ansible-lint --offline --nocolor -p *.yml '$src/ansible/examples/site.yml'"
expect_rc "ansible-lint passes on the test and example playbooks" 0
run ansible-playbook -c local -i localhost, --syntax-check "$src/ansible/examples/site.yml"
expect_rc "the example playbook passes --syntax-check" 0

# ---- apply: changes once, then nothing
play apply1 apply.yml
if [ "$RC" = 0 ] && [ "$STATS" = "ok=12 changed=8 failures=0" ]; then
        pass "first run changes the 8 things that differ ($STATS)"
else
        fail "first run: rc $RC, $STATS $(show apply1)"
fi
play apply2 apply.yml
if [ "$RC" = 0 ] && [ "$STATS" = "ok=12 changed=0 failures=0" ]; then
        pass "second run changes nothing ($STATS)"
else
        fail "second run: rc $RC, $STATS $(show apply2)"
fi
expect_eq "threads set, over D-Bus" "$(setting antivirusEngine.maximumOnDemandScanThreads)" "i 4"
expect_eq "scanArchives set, over D-Bus" "$(setting antivirusEngine.scanArchives)" "b false"
expect_eq "unmonitoredFilesystems set, over D-Bus" "$(setting antivirusEngine.unmonitoredFilesystems)" 'as 1 "fuse"'
expect_eq "edr.tags set, over D-Bus" "$(setting edr.tags)" 'a(ss) 1 "GROUP" "web-servers"'
expect_eq "threat types merged per key, over D-Bus" "$(setting antivirusEngine.threatTypeSettings)" \
        'a(ss) 2 "potentially_unwanted_application" "block" "archive_bomb" "off"'
expect_contains "folder exclusion added, over D-Bus" "$(exclusions)" '"folder" "/var/log/" "epp" false'
expect_contains "global process exclusion added, over D-Bus" "$(exclusions)" '"process" "/usr/bin/rsync" "global" false'

# ---- check mode: changes reported, none applied
before_excl=$(exclusions)
play check check.yml --check --diff
if [ "$RC" = 0 ] && [ "$STATS" = "ok=6 changed=6 failures=0" ]; then
        pass "check mode reports the 6 would-be changes ($STATS)"
else
        fail "check mode: rc $RC, $STATS $(show check)"
fi
expect_contains "check mode gives a diff" "$OUT" '+    "antivirusEngine.maximumOnDemandScanThreads": 8'
expect_eq "check mode left the threads alone" "$(setting antivirusEngine.maximumOnDemandScanThreads)" "i 4"
expect_eq "check mode did not reset scanArchives" "$(setting antivirusEngine.scanArchives)" "b false"
expect_eq "check mode added and removed no exclusion" "$(exclusions)" "$before_excl"
expect_contains "check mode left the threat policy alone" "$(setting antivirusEngine.threatTypeSettings)" '"potentially_unwanted_application" "block"'
expect_eq "check mode started no scan" \
        "$(B call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager List)" \
        "a(usstttt) 0"

# ---- absent: reset and remove, then nothing more to do
play absent1 absent.yml
if [ "$RC" = 0 ] && [ "$STATS" = "ok=3 changed=2 failures=0" ]; then
        pass "state absent resets the setting and removes the exclusion ($STATS)"
else
        fail "absent: rc $RC, $STATS $(show absent1)"
fi
expect_eq "threads back to the default, over D-Bus" "$(setting antivirusEngine.maximumOnDemandScanThreads)" "i 2"
expect_not_contains "logs exclusion gone, over D-Bus" "$(exclusions)" '"/var/log/"'
play absent2 absent.yml
expect_eq "state absent again changes nothing" "$STATS" "ok=3 changed=0 failures=0"

# ---- the managed policy wins, and the module says so
write_managed '{ "antivirusEngine": { "maximumOnDemandScanThreads": 3,
  "threatTypeSettings": [ { "key": "archive_bomb", "value": "off" } ],
  "exclusions": [ { "$type": "excludedFileExtension", "extension": ".iso" } ] } }'
managed_now() {
        B --json=short call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings List |
                grep -q '\["antivirusEngine.maximumOnDemandScanThreads",{"type":"i","data":3},true,"managed"\]'
}
if wait_until 10 managed_now; then pass "the daemon shows the policy's setting as managed"; else fail "policy not applied"; fi
play managed managed-setting.yml
msgs=$(failed_msgs managed)
if [ "$RC" = 2 ] && [ "$STATS" = "ok=0 changed=0 failures=1" ]; then
        pass "changing a managed setting fails the play ($STATS)"
else
        fail "managed setting: rc $RC, $STATS $(show managed)"
fi
expect_contains "the failure carries the daemon's text" "$msgs" "is managed by policy"
expect_contains "and its error name" "$msgs" "[ManagedByPolicy]"
expect_not_contains "no traceback" "$OUT" "Traceback"
expect_eq "the managed value stands" "$(setting antivirusEngine.maximumOnDemandScanThreads)" "i 3"
play managed-others managed-others.yml
if [ "$RC" = 0 ] && [[ "$STATS" == *"failures=0"* ]]; then
        pass "managed exclusion, managed threat type, bad values: refused with the daemon's reasons"
else
        fail "managed-others: rc $RC, $STATS $(show managed-others)"
fi
expect_contains "the managed threat type kept its action" "$(setting antivirusEngine.threatTypeSettings)" '"archive_bomb" "off"'
rm -f "$MDATP_MANAGED_DIR/mdatp_managed.json"
wait_until 10 sh -c '! busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Exclusions com.microsoft.Mdatp1.Exclusions List | grep -q .iso' ||
        fail "policy removal not applied"

# ---- scan: an EICAR file made now (two halves, so that no file in the repository is one)
scan_dir="$MDATP_SANDBOX_DIR/ansible-scan"
mkdir -p "$scan_dir"
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' >"$scan_dir/eicar.com"
echo "nothing to see" >"$scan_dir/clean.txt"
# Passive: the EICAR file stays in place for the later scans of the play (real_time would
# quarantine it at the first).
B call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Settings Set sv \
        antivirusEngine.enforcementLevel s passive
play scan scan.yml -e "scan_dir=$scan_dir"
if [ "$RC" = 0 ] && [[ "$STATS" == *"failures=0"* ]]; then
        pass "scan module: finds the EICAR file, passes a clean one, gates on threats, reports a failed start"
else
        fail "scan: rc $RC, $STATS $(show scan)"
fi
n=$(B --json=short call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager List |
        /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"][0]))')
expect_eq "three scans ran, in the daemon's history" "$n" "3"

# ---- the install role: policy file and health check (install and service tasks off)
policy='{"antivirusEngine": {"enforcementLevel": "on_demand", "scanHistoryMaximumItems": 6000},
         "cloudService": {"automaticSampleSubmissionConsent": "none"}}'
play role1 role.yml -e "managed_dir=$MDATP_MANAGED_DIR" -e "{\"policy\": $policy}"
if [ "$RC" = 0 ] && [[ "$STATS" == *"failures=0"* ]] && [[ "$STATS" != *"changed=0"* ]]; then
        pass "role writes the policy and passes its health check ($STATS)"
else
        fail "role: rc $RC, $STATS $(show role1)"
fi
file="$MDATP_MANAGED_DIR/mdatp_managed.json"
expect_eq "policy file is root:root 0644" "$(stat -c '%U:%G %a' "$file" 2>&1)" "root:root 644"
same=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])) == json.loads(sys.argv[2]))' "$file" "$policy" 2>&1)
expect_eq "policy file holds the variables' policy" "$same" "True"
expect_eq "the daemon applied it" "$(setting cloudService.automaticSampleSubmissionConsent)" 's "none"'
expect_eq "health is good under it" "$(B get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1 com.microsoft.Mdatp1.Health Healthy)" "b true"
play role2 role.yml -e "managed_dir=$MDATP_MANAGED_DIR" -e "{\"policy\": $policy}"
if [ "$RC" = 0 ] && [[ "$STATS" == *"changed=0 failures=0"* ]]; then
        pass "role again changes nothing ($STATS)"
else
        fail "role again: rc $RC, $STATS $(show role2)"
fi
bad='{"antivirusEngine": {"maximumOnDemandScanThreads": 999}}'
play role3 role.yml -e "managed_dir=$MDATP_MANAGED_DIR" -e "{\"policy\": $bad}" -e health_retries=4
if [ "$RC" = 2 ] && [[ "$OUT" == *"mdatp is not healthy"* ]] &&
        [[ "$OUT" == *"999 is out of range 1..64; the previous policy stays in force"* ]]; then
        pass "role fails its health check on a policy the daemon rejects, with the daemon's reason"
else
        fail "role with a bad policy: rc $RC, $STATS $(show role3)"
fi
rm -f "$file"

finish
