#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/test-compose.sh [-- COMMAND [ARG...]]
#
# Proves that scripts/setup.sh and scripts/test.sh compose: the tests pass on a machine where an
# installed mdatpd runs in real_time over every local mount, and leave it as they found it. As
# root, without touching the host:
#   - a release build (like setup.sh's) is installed with DESTDIR into $MDATP_COMPOSE_ROOT
#     (default /var/tmp/compose-root), never into /usr;
#   - in a private mount namespace (unshare -m --propagation private), so that its fanotify mount
#     marks only see this namespace's copies of the mounts, that mdatpd runs from there with its
#     own state directory, on a private bus that stands in for the system bus (the same pattern
#     as scripts/sandbox.sh), in real_time over all local mounts;
#   - a probe checks that it bites (an EICAR file in /var/tmp cannot be opened);
#   - COMMAND (default: scripts/test.sh --suite unit --suite integration) runs with that bus as
#     DBUS_SYSTEM_BUS_ADDRESS;
#   - afterwards the installed daemon's exclusions must equal those before the run, and it must
#     have detected nothing but the probe; a sandbox daemon must report itself healthy and list
#     the installed daemon among conflicting_applications;
#   - with a managed policy that refuses local exclusions (admin_only), scripts/test.sh must stop
#     before any test with a message saying why.
# Exit code: COMMAND's if it failed, else 1 if a check after it failed, else 0.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=${MDATP_COMPOSE_ROOT:-/var/tmp/compose-root}
release=${MDATP_COMPOSE_BUILD:-/var/tmp/compose-build-release}

die() { echo "test-compose.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (mount namespace, fanotify)"

if [ "${1:-}" != --inner ]; then
        [ "${1:-}" = -- ] && shift
        if [ ! -f "$release/build.ninja" ]; then
                nice meson setup "$release" "$src" --prefix=/usr --sysconfdir=/etc \
                        --localstatedir=/var --buildtype=release -Dtests=false >/dev/null
        fi
        nice ninja -C "$release" -j2 >/dev/null
        rm -rf "$root"
        DESTDIR="$root" meson install -C "$release" --quiet >/dev/null
        echo "=== installed a release build into $root"
        [ $# -gt 0 ] || set -- "$src/scripts/test.sh" --suite unit --suite integration
        exec unshare -m --propagation private "$BASH" "${BASH_SOURCE[0]}" --inner "$@"
fi
shift

work=$(mktemp -d /var/tmp/mdatp-compose.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work/system.d" "$work/state" "$work/managed"
cp "$root/usr/share/dbus-1/system.d/com.microsoft.Mdatp1.conf" "$work/system.d/"
cat >"$work/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=$work/system_bus_socket</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
  </policy>
  <includedir>$work/system.d</includedir>
</busconfig>
XML

bus_pid= daemon_pid=
teardown() {
        local rc=$?
        set +e
        [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
        [ -n "$bus_pid" ] && kill -TERM "$bus_pid" 2>/dev/null && wait "$bus_pid" 2>/dev/null
        rm -rf --one-file-system "$work"
        exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$work/system_bus_socket"
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile >"$work/dbus.log" 2>&1 &
bus_pid=$!
for _ in $(seq 100); do [ -S "$work/system_bus_socket" ] && break; sleep 0.1; done

has_owner() {
        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                NameHasOwner s com.microsoft.Mdatp1 2>/dev/null | grep -q true
}
# No MDATP_RTP_MOUNTS: every local mount of this namespace, as on an installed machine.
env -u MDATP_RTP_MOUNTS "$root/usr/sbin/mdatpd" --state-dir="$work/state" --managed-dir="$work/managed" \
        --shipped-definitions="$root/usr/share/mdatp/definitions/default" \
        --definitions-key="$root/usr/share/mdatp/definitions-signing-key.pub.pem" \
        >"$work/mdatpd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 150); do has_owner && break; sleep 0.1; done
has_owner || die "the installed mdatpd did not start; its log: $(cat "$work/mdatpd.log")"

installed_mdatp() { "$root/usr/bin/mdatp" "$@"; }
rtp_level=$(installed_mdatp health --field real_time_protection_enabled)
marked=$(busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/RealTimeProtection \
        com.microsoft.Mdatp1.RealTimeProtection MarkedMounts | awk '{ print $2 }')
echo "=== installed mdatpd (pid $daemon_pid) on $DBUS_SYSTEM_BUS_ADDRESS: real_time_protection_enabled $rtp_level, $marked mounts marked"
[ "$rtp_level" = true ] && [ "${marked:-0}" -gt 1 ] || die "the installed mdatpd does not watch the mounts"

# The probe: an EICAR file outside every exclusion cannot be opened.
mkdir -p "$work/probe"
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' >"$work/probe/eicar.com"
if cat "$work/probe/eicar.com" >/dev/null 2>&1; then
        die "the installed mdatpd let an EICAR file be opened: it would prove nothing"
fi
echo "=== the installed mdatpd denies opening an EICAR file in $work/probe"

exclusions_before=$(installed_mdatp exclusion list)
set +e
(cd "$src" && "$@")
rc=$?
set -e
echo "=== COMMAND exited with $rc"

checks=0
if [ "$(installed_mdatp exclusion list)" = "$exclusions_before" ]; then
        echo "ok - the installed mdatpd's exclusions are as before the run"
else
        echo "not ok - the installed mdatpd's exclusions changed: before:"
        echo "$exclusions_before"
        echo "after:"
        installed_mdatp exclusion list
        checks=1
fi
detected=$(installed_mdatp threat list --output json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["threats"]["scans"]:
    for t in s["threats"]: print(t["threat"]["path"], t["threat"]["name"], sep=" : ")' |
        grep -v -F "$work/probe/" || true)
if [ -z "$detected" ]; then
        echo "ok - the installed mdatpd detected nothing of the run"
else
        echo "not ok - the installed mdatpd detected (and quarantined) files of the run:"
        echo "$detected"
        checks=1
fi
if [ -x "$src/build/service/mdatpd" ]; then
        health=$(MDATP_BUILD_DIR="$src/build" "$src/scripts/sandbox.sh" -- sh -c \
                'mdatp health --field healthy; mdatp health --field conflicting_applications' 2>&1)
        case "$health" in
        true*"(pid $daemon_pid)"*)
                echo "ok - a sandbox daemon is healthy and lists the installed mdatpd as a conflicting application" ;;
        *)
                echo "not ok - sandbox health beside the installed mdatpd (pid $daemon_pid): $health"
                checks=1 ;;
        esac
fi

# A managed policy that refuses local exclusions: scripts/test.sh stops before any test, saying why.
printf '{"antivirusEngine": {"exclusionsMergePolicy": "admin_only"}}\n' >"$work/managed/.tmp.json"
mv -f "$work/managed/.tmp.json" "$work/managed/mdatp_managed.json"
for _ in $(seq 50); do
        installed_mdatp config list 2>/dev/null | grep -q 'admin_only.*managed' && break
        sleep 0.1
done
refused=$(cd "$src" && scripts/test.sh --suite unit 2>&1) && refused_rc=0 || refused_rc=$?
case "$refused_rc:$refused" in
[1-9]*"refused a folder exclusion"*"exclusionsMergePolicy"*)
        echo "ok - under admin_only scripts/test.sh stops at once and says why:"
        printf '%s\n' "$refused" | grep '^test.sh:' | sed 's/^/    /' ;;
*)
        echo "not ok - under admin_only scripts/test.sh exited $refused_rc: $refused"
        checks=1 ;;
esac
case "$refused" in
*"=== build"*) echo "not ok - ... but it ran tests anyway"; checks=1 ;;
esac
[ "$rc" = 0 ] || exit "$rc"
exit "$checks"
