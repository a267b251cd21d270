#!/usr/bin/env bash
# The commit pipeline seen from outside, against the real daemon: changing automatic updates,
# their interval or the enforcement level moves the update timer at once (Definitions.NextUpdate,
# with PropertiesChanged) and real-time protection follows the level without a restart;
# changing edr.tags touches nothing of real-time protection (its mark_syncs and self_checks
# counters stay), while an RTP setting does move them; a SIGHUP with a new pack in place emits
# PropertiesChanged on the Definitions object; a scan the daemon starts after an update is
# announced like a client's; daemons started with the same settings pick different update
# delays.
. "$(dirname "$0")/lib.sh"

src=$(cd "$(dirname "$0")/../.." && pwd)
DEFS=/com/microsoft/Mdatp1/Definitions
RTP=/com/microsoft/Mdatp1/RealTimeProtection

set_setting() {         # set_setting NAME SIGNATURE VALUE...
        busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 \
                com.microsoft.Mdatp1.Settings Set sv "$@" >/dev/null
}
next_update() {
        busctl --system get-property com.microsoft.Mdatp1 $DEFS com.microsoft.Mdatp1.Definitions \
                NextUpdate | cut -d' ' -f2
}
rtp_enabled() {
        busctl --system get-property com.microsoft.Mdatp1 $RTP com.microsoft.Mdatp1.RealTimeProtection \
                Enabled | cut -d' ' -f2
}
now_usec() { echo $(($(date +%s%N) / 1000)); }
# in_range DESCRIPTION VALUE LOW HIGH
in_range() {
        if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then pass "$1"; else fail "$1: $2 not in [$3, $4]"; fi
}

# props_changed PATH IFACE PROPERTY CMD...: runs CMD once subscribed to PropertiesChanged on
# PATH, true when one for IFACE naming PROPERTY ('*': any) arrives within $PROPS_WAIT s (10).
props_changed() {
        /usr/bin/python3 - "$@" <<'PY'
import subprocess, sys
import dbus, dbus.mainloop.glib
from gi.repository import GLib
import os
path, iface, prop, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
wait_ms = int(float(os.environ.get("PROPS_WAIT", "10")) * 1000)
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus(private=True)
loop = GLib.MainLoop()
seen = []
def on_props(i, changed, invalidated):
    if i == iface:
        seen.extend(str(k) for k in list(changed) + list(invalidated))
        if prop in seen or (prop == "*" and seen):
            loop.quit()
bus.add_signal_receiver(on_props, "PropertiesChanged", "org.freedesktop.DBus.Properties",
                        "com.microsoft.Mdatp1", path)
GLib.idle_add(lambda: subprocess.run(cmd, check=True) and False)
GLib.timeout_add(wait_ms, loop.quit)
loop.run()
print(" ".join(sorted(set(seen))))
sys.exit(0 if prop in seen or (prop == "*" and seen) else 1)
PY
}

mirror="$MDATP_SANDBOX_DIR/pipeline-mirror"
mkdir -p "$mirror"
set_setting cloudService.definitionUpdateUrl s "$mirror"
set_setting antivirusEngine.enforcementLevel s real_time
wait_until 10 sh -c "[ \"\$(busctl --system get-property com.microsoft.Mdatp1 $RTP com.microsoft.Mdatp1.RealTimeProtection Enabled)\" = 'b true' ]" ||
        fail "real-time protection does not run in real_time mode"

# ---- the update timer follows its settings without a restart
set_setting cloudService.automaticDefinitionUpdateEnabled b false
expect_eq "automatic updates off: no update scheduled" "$(next_update)" 0
t=$(now_usec)
run props_changed $DEFS com.microsoft.Mdatp1.Definitions NextUpdate \
        busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 \
        com.microsoft.Mdatp1.Settings Set sv cloudService.automaticDefinitionUpdateEnabled b true
expect_rc "enabling automatic updates emits PropertiesChanged for NextUpdate" 0
in_range "  ... due in the default interval (8 h) plus at most a tenth" "$(next_update)" \
        $((t + 28800000000)) $(($(now_usec) + 31680000000))
t=$(now_usec)
run props_changed $DEFS com.microsoft.Mdatp1.Definitions NextUpdate \
        busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 \
        com.microsoft.Mdatp1.Settings Set sv cloudService.definitionUpdatesInterval i 120
expect_rc "a new interval emits PropertiesChanged for NextUpdate" 0
in_range "  ... and the timer is re-armed for 120 s (plus at most 12 s)" "$(next_update)" \
        $((t + 120000000)) $(($(now_usec) + 132000000))
set_setting antivirusEngine.enforcementLevel s passive
expect_eq "passive: no timer (updates come before scans)" "$(next_update)" 0
[ "$(rtp_enabled)" = true ] && pass "passive: real-time protection reports" ||
        fail "passive: real-time protection is not running"
expect_eq "  ... in audit mode" "$(busctl --system get-property com.microsoft.Mdatp1 $RTP \
        com.microsoft.Mdatp1.RealTimeProtection Mode)" 's "audit"'
set_setting antivirusEngine.enforcementLevel s on_demand
expect_eq "on_demand: real-time protection stops at once" "$(rtp_enabled)" false
expect_eq "  ... and no timer" "$(next_update)" 0
t=$(now_usec)
set_setting antivirusEngine.enforcementLevel s real_time
in_range "real_time again: the timer is armed at once" "$(next_update)" \
        $((t + 120000000)) $(($(now_usec) + 132000000))
expect_eq "  ... and real-time protection runs again" "$(rtp_enabled)" true
expect_eq "  ... blocking" "$(busctl --system get-property com.microsoft.Mdatp1 $RTP \
        com.microsoft.Mdatp1.RealTimeProtection Mode)" 's "block"'

# ---- edr.tags touches nothing of real-time protection; an RTP setting does
settled() {     # the marks and the self-check are quiet for a second
        local a b
        a="$(rtp_counter mark_syncs) $(rtp_counter self_checks)"
        sleep 1
        b="$(rtp_counter mark_syncs) $(rtp_counter self_checks)"
        [ "$a" = "$b" ]
}
wait_until 20 settled || fail "real-time protection does not settle"
syncs=$(rtp_counter mark_syncs)
[ "$syncs" -ge 1 ] && pass "the marks were synced at least once ($syncs)" || fail "mark_syncs is $syncs"
# A change that reapplies RTP at all announces it (PropertiesChanged on RealTimeProtection),
# even when RTP finds its marks unaffected. Any change of the mount table (another test
# mounting a tmpfs on this machine) also re-marks and self-checks, so one quiet window is
# enough: a change that reapplied RTP would show in every attempt.
quiet=0
for attempt in 1 2 3 4 5; do
        wait_until 20 settled || break
        syncs=$(rtp_counter mark_syncs)
        checks=$(rtp_counter self_checks)
        PROPS_WAIT=1.5 run props_changed $RTP com.microsoft.Mdatp1.RealTimeProtection '*' \
                busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 \
                com.microsoft.Mdatp1.Settings Set sv edr.tags 'a(ss)' 1 GROUP "pipeline-test-$attempt"
        announced=$RC
        if [ "$announced" != 0 ] && [ "$(rtp_counter mark_syncs)" = "$syncs" ] &&
           [ "$(rtp_counter self_checks)" = "$checks" ]; then
                quiet=1
                break
        fi
        echo "# attempt $attempt: RTP moved (announced: $([ "$announced" = 0 ] && echo yes || echo no)," \
             "mark_syncs $syncs -> $(rtp_counter mark_syncs), self_checks $checks -> $(rtp_counter self_checks))"
done
expect_contains "edr.tags is set" "$(busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 \
        com.microsoft.Mdatp1.Settings Get s edr.tags)" "pipeline-test-"
[ "$quiet" = 1 ] && pass "edr.tags: RTP not reapplied (no PropertiesChanged on it; mark_syncs and self_checks unchanged)" ||
        fail "edr.tags reapplied RTP, or moved its counters, in every attempt"
# The same observations can fail: an RTP setting is announced, and an exclusion over the
# mount point re-marks.
PROPS_WAIT=5 run props_changed $RTP com.microsoft.Mdatp1.RealTimeProtection '*' \
        busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1 \
        com.microsoft.Mdatp1.Settings Set sv antivirusEngine.scanArchives b false
expect_rc "an RTP setting (scanArchives) reapplies RTP: PropertiesChanged on RealTimeProtection" 0
set_setting antivirusEngine.scanArchives b true
syncs=$(rtp_counter mark_syncs)
run mdatp exclusion folder add --path "$MDATP_RTP_MOUNTS/"
expect_rc "an exclusion over the RTP mount point" 0
wait_until 10 sh -c "[ \$(busctl --system --json=short call com.microsoft.Mdatp1 $RTP com.microsoft.Mdatp1.RealTimeProtection GetCounters | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][0][\"mark_syncs\"])') -gt $syncs ]" &&
        pass "  ... re-marks: mark_syncs moves ($syncs -> $(rtp_counter mark_syncs))" ||
        fail "  ... mark_syncs still $(rtp_counter mark_syncs)"
run mdatp exclusion folder remove --path "$MDATP_RTP_MOUNTS/"
expect_rc "  ... removed again" 0

# ---- SIGHUP with a new pack in place: PropertiesChanged on the Definitions object
"$MDATP_BUILD_DIR/tools/mdatp-pack/mdatp-pack" build --key "$MDATP_DEFINITIONS_SIGNING_KEY" \
        --version 1.0.0.9 --out "$MDATP_STATE_DIR/definitions/current" \
        "$src/definitions/default" >/dev/null || fail "building a pack"
run props_changed $DEFS com.microsoft.Mdatp1.Definitions Version \
        kill -HUP "$(cat "$MDATPD_PID_FILE")"
expect_rc "SIGHUP with new definitions emits PropertiesChanged on Definitions" 0
expect_contains "  ... naming Version" "$OUT" "Version"
expect_eq "  ... which is the new one" "$(busctl --system get-property com.microsoft.Mdatp1 $DEFS \
        com.microsoft.Mdatp1.Definitions Version)" 's "1.0.0.9"'

# ---- a scan the daemon starts itself (after an update, real_time mode) is announced
"$MDATP_BUILD_DIR/tools/mdatp-pack/mdatp-pack" build --key "$MDATP_DEFINITIONS_SIGNING_KEY" \
        --version 1.0.0.10 --out "$MDATP_SANDBOX_DIR/pipeline-pack" "$src/definitions/default" \
        >/dev/null && cp -r "$MDATP_SANDBOX_DIR/pipeline-pack/." "$mirror/" || fail "building a pack"
set_setting antivirusEngine.scanAfterDefinitionUpdate b true
scans_before=$(busctl --system tree com.microsoft.Mdatp1 2>/dev/null | grep -c "/Scans/")
run props_changed /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Running \
        mdatp definitions update
expect_rc "the daemon's own scan after an update emits PropertiesChanged for Running" 0
scans_after=$(busctl --system tree com.microsoft.Mdatp1 2>/dev/null | grep -c "/Scans/")
[ "$scans_after" -gt "$scans_before" ] && pass "  ... and its Scans object appears" ||
        fail "Scans objects: $scans_before before, $scans_after after"

# ---- daemons started with the same settings pick different delays
set_setting cloudService.definitionUpdatesInterval i 28800
delays=()
for i in 1 2 3; do
        before=$(grep -c "Next automatic definition update in" "$MDATP_SANDBOX_DIR/mdatpd.log")
        restart_daemon || { fail "restart $i"; break; }
        wait_until 10 sh -c "[ \$(grep -c 'Next automatic definition update in' '$MDATP_SANDBOX_DIR/mdatpd.log') -gt $before ]" ||
                { fail "restart $i logged no delay"; break; }
        delays+=("$(grep -o 'Next automatic definition update in [0-9.]* s' "$MDATP_SANDBOX_DIR/mdatpd.log" |
                tail -n 1 | awk '{print $6}')")
done
echo "# delays chosen: ${delays[*]}"
distinct=$(printf '%s\n' "${delays[@]}" | sort -u | wc -l)
[ "${#delays[@]}" = 3 ] && [ "$distinct" -ge 2 ] &&
        pass "three daemons with the same settings chose $distinct different delays" ||
        fail "delays: ${delays[*]}"
for d in "${delays[@]}"; do
        awk -v d="$d" 'BEGIN { exit !(d >= 28800 && d <= 31680) }' ||
                fail "delay $d outside [28800, 31680] s"
done

finish
