#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# scripts/sandbox.sh [--keep] -- COMMAND [ARG...]
#
# Runs COMMAND against a private copy of the whole product stack, leaving the host untouched:
#   - a private system bus (dbus-daemon) whose policy includes the build's com.microsoft.Mdatp1.conf
#   - a real polkitd in a private mount namespace, where the build's .policy file is bind-mounted
#     over /usr/share/polkit-1/actions and $MDATP_SANDBOX_DIR/rules.d over /etc/polkit-1/rules.d
#   - mdatpd from the build tree with temporary state and managed-policy directories, restarted
#     like systemd's Restart=always when it exits (tests kill it on purpose)
# COMMAND runs with DBUS_SYSTEM_BUS_ADDRESS set and the build's mdatp first on PATH; the exit code
# is COMMAND's, or 1 if COMMAND passed but mdatpd did not stop cleanly at the end (e.g. a
# sanitizer report). Everything started is stopped by PID on exit.
#
# Environment: TMPDIR (where the sandbox directory, and the tmpfs under it, go; default /tmp:
# scripts/test.sh points it at a root it excludes in an installed mdatpd),
# MDATP_BUILD_DIR (default: build/ in the source tree), MDATP_SANDBOX_STATE_SIZE (when set, the
# daemon's state directory is a tmpfs of that size, e.g. "16m", that a test can fill up),
# MDATP_MANAGED_DIR (the
# managed policy directory; default a temp dir), MDATP_RTP_MOUNTS (default: a tmpfs the sandbox
# mounts at $MDATP_SANDBOX_DIR/rtp, so real-time protection never watches the whole machine;
# tests write the files they want watched there), MDATP_SCAN_QUICK_PATHS and
# MDATP_SCAN_FULL_ROOTS (passed to mdatpd), MDATP_SHIPPED_DEFINITIONS and MDATP_DEFINITIONS_KEY
# (another definition pack and its public key, e.g. for benchmarks), MDATP_DEFINITIONS_SIGNING_KEY
# (the private key tests sign packs with; default: the build directory's own generated key,
# definitions/ephemeral-key/signing-key.pem). A test can also write KEY=VALUE lines to
# $MDATP_SANDBOX_DIR/daemon.env: they apply from the daemon's next (re)start.
# COMMAND sees: MDATP_SANDBOX_DIR, MDATP_STATE_DIR, MDATP_MANAGED_DIR, MDATPD_PID_FILE,
# MDATP_BUILD_DIR, MDATP_DEFINITIONS_SIGNING_KEY, DBUS_SYSTEM_BUS_ADDRESS.
# Needs root (mount namespace for polkitd; dropping to nobody in tests).
set -euo pipefail

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$(realpath "${MDATP_BUILD_DIR:-$src_dir/build}")
keep=0

while [ $# -gt 0 ]; do
        case "$1" in
        --keep) keep=1; shift ;;
        --) shift; break ;;
        -h|--help) sed -n '3,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "sandbox.sh: unknown option '$1'; usage: sandbox.sh [--keep] -- COMMAND" >&2; exit 2 ;;
        esac
done
[ $# -gt 0 ] || { echo "sandbox.sh: no COMMAND given; usage: sandbox.sh [--keep] -- COMMAND" >&2; exit 2; }

die() { echo "sandbox.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (polkitd needs a private mount namespace)"
[ -x "$build_dir/service/mdatpd" ] || die "no mdatpd in '$build_dir'; build first (meson setup build && ninja -C build)"
command -v dbus-daemon >/dev/null || die "dbus-daemon is not installed (apt-get install dbus-daemon)"
[ -x /usr/lib/polkit-1/polkitd ] || die "polkitd is not installed (apt-get install polkitd)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/mdatp-sandbox.XXXXXX")
chmod 0755 "$dir"
mkdir -p "$dir/system.d" "$dir/actions" "$dir/rules.d" "$dir/state"
chmod 0755 "$dir/actions" "$dir/rules.d"
managed_dir=${MDATP_MANAGED_DIR:-$dir/managed}
mkdir -p "$managed_dir"
cp "$build_dir/dbus/com.microsoft.Mdatp1.conf" "$dir/system.d/"
cp "$build_dir/polkit/com.microsoft.mdatp1.policy" "$dir/actions/"
socket="$dir/system_bus_socket"

cat >"$dir/bus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=$socket</listen>
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
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>$dir/system.d</includedir>
</busconfig>
XML

bus_pid= polkit_pid= supervisor_pid= rtp_mount= state_mount=
teardown() {
        local rc=$?
        set +e
        touch "$dir/stop"
        if [ -n "$supervisor_pid" ]; then
                [ -s "$dir/mdatpd.pid" ] && kill -TERM "$(cat "$dir/mdatpd.pid")" 2>/dev/null
                wait "$supervisor_pid" 2>/dev/null
        fi
        for pid in $polkit_pid $bus_pid; do
                kill -TERM "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        [ -n "$rtp_mount" ] && umount -l "$rtp_mount"
        [ -n "$state_mount" ] && umount -l "$state_mount"
        if [ "$rc" = 0 ] && [ -s "$dir/mdatpd.status" ] && [ "$(cat "$dir/mdatpd.status")" != 0 ]; then
                echo "sandbox.sh: mdatpd exited with status $(cat "$dir/mdatpd.status") at shutdown; its log ends:" >&2
                tail -n 40 "$dir/mdatpd.log" >&2
                rc=1
        fi
        if [ "$keep" = 1 ]; then
                echo "sandbox.sh: kept '$dir'" >&2
        else
                rm -rf "$dir"
        fi
        exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

wait_for() {    # wait_for SECONDS DESCRIPTION COMMAND...
        local deadline=$((SECONDS + $1)) what=$2
        shift 2
        until "$@" >/dev/null 2>&1; do
                [ "$SECONDS" -lt "$deadline" ] || die "timed out waiting for $what"
                sleep 0.05
        done
}

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$socket"
dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile >"$dir/dbus.log" 2>&1 &
bus_pid=$!
wait_for 10 "the private system bus" test -S "$socket"

has_owner() {
        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                NameHasOwner s "$1" 2>/dev/null | grep -q true
}

unshare -m --propagation private sh -c '
        mount --bind "$1/actions" /usr/share/polkit-1/actions &&
        mount --bind "$1/rules.d" /etc/polkit-1/rules.d &&
        exec /usr/lib/polkit-1/polkitd --no-debug' sh "$dir" >"$dir/polkitd.log" 2>&1 &
polkit_pid=$!
wait_for 10 "polkitd on the private bus" has_owner org.freedesktop.PolicyKit1

export MDATP_SANDBOX_DIR="$dir" MDATP_STATE_DIR="$dir/state" MDATP_MANAGED_DIR="$managed_dir"
export MDATPD_PID_FILE="$dir/mdatpd.pid" MDATP_BUILD_DIR="$build_dir"
export MDATP_DEFINITIONS_SIGNING_KEY="${MDATP_DEFINITIONS_SIGNING_KEY:-$build_dir/definitions/ephemeral-key/signing-key.pem}"
if [ -z "${MDATP_RTP_MOUNTS:-}" ]; then
        mkdir -p "$dir/rtp"
        mount -t tmpfs -o size=512m,mode=1777 mdatp-sandbox-rtp "$dir/rtp" || die "cannot mount a tmpfs at $dir/rtp"
        rtp_mount="$dir/rtp"
        MDATP_RTP_MOUNTS="$dir/rtp"
fi
export MDATP_RTP_MOUNTS
if [ -n "${MDATP_SANDBOX_STATE_SIZE:-}" ]; then
        mount -t tmpfs -o "size=$MDATP_SANDBOX_STATE_SIZE,mode=0755" mdatp-sandbox-state "$dir/state" ||
                die "cannot mount a tmpfs of $MDATP_SANDBOX_STATE_SIZE at $dir/state"
        state_mount="$dir/state"
fi
# The daemon's self-check proves its marks against the mount namespace the tests act from (ours;
# PID 1 may be another namespace, or out of reach, on a build machine). A test may name another.
export MDATP_RTP_SELF_CHECK_PID="${MDATP_RTP_SELF_CHECK_PID:-$$}"

# Restart mdatpd whenever it exits until teardown, as Restart=always would. Before each start,
# $dir/daemon.env (KEY=VALUE lines, if a test wrote one) is added to the daemon's environment.
(
        trap '' INT
        while :; do
                env_args=()
                [ -f "$dir/daemon.env" ] && mapfile -t env_args <"$dir/daemon.env"
                env "${env_args[@]}" "$build_dir/service/mdatpd" \
                        --state-dir="$dir/state" --managed-dir="$managed_dir" \
                        --shipped-definitions="${MDATP_SHIPPED_DEFINITIONS:-$build_dir/definitions/default-pack}" \
                        --definitions-key="${MDATP_DEFINITIONS_KEY:-$build_dir/definitions/definitions-signing-key.pub.pem}" \
                        >>"$dir/mdatpd.log" 2>&1 &
                echo $! >"$dir/mdatpd.pid"
                status=0
                wait $! 2>/dev/null || status=$?
                echo "$status" >"$dir/mdatpd.status"
                [ -e "$dir/stop" ] && break
                sleep 0.2
        done
) &
supervisor_pid=$!
wait_for 15 "mdatpd to own com.microsoft.Mdatp1 (log: $dir/mdatpd.log)" has_owner com.microsoft.Mdatp1

export PATH="$build_dir/cli:$PATH"
set +e
"$@"
rc=$?
set -e
exit "$rc"
