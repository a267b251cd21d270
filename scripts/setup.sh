#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sets up mdatp on a fresh Debian 12 machine, as root, the way it is normally installed: builds
# the Debian packages (scripts/build-deb.sh, with a key pair made for this machine's build: see
# docs/packaging.md for release keys) and installs the mdatp package with apt-get; starts the
# system bus and mdatpd itself where systemd is not PID 1 (the package starts the unit where it
# is), prints `mdatp health`, and scans an EICAR test file it creates.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (sudo ./scripts/setup.sh)" >&2; exit 1; }
scripts/deps.sh

scripts/build-deb.sh --ephemeral-key --out build-deb
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall ./build-deb/mdatp_*.deb

name_owned() {
        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                NameHasOwner s "$1" 2>/dev/null | grep -q true
}

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
        systemctl enable mdatp.service      # the package did both; again, in case of a preset
        systemctl restart mdatp.service
else
        # No service manager: run the system bus ourselves (polkitd is activated by it).
        if ! busctl --system status >/dev/null 2>&1; then
                mkdir -p /run/dbus
                rm -f /run/dbus/pid
                dbus-daemon --system --fork
        fi
        if name_owned com.microsoft.Mdatp1; then
                pid=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
                        org.freedesktop.DBus GetConnectionUnixProcessID s com.microsoft.Mdatp1 |
                        awk '{ print $2 }')
                kill -TERM "$pid"
                for _ in $(seq 100); do name_owned com.microsoft.Mdatp1 || break; sleep 0.1; done
        fi
        # Without a service manager, PID 1 may be out of reach (a build container): the
        # daemon's self-check proves its marks against its own mount namespace, the one this
        # shell shares (sh's $$ is the daemon's pid once it execs).
        nohup sh -c 'MDATP_RTP_SELF_CHECK_PID=$$ exec /usr/sbin/mdatpd' >>/var/log/mdatpd.log 2>&1 &
fi

for _ in $(seq 100); do name_owned com.microsoft.Mdatp1 && break; sleep 0.1; done
name_owned com.microsoft.Mdatp1 || { echo "setup.sh: mdatpd did not start; see /var/log/mdatpd.log or journalctl -u mdatp" >&2; exit 1; }
echo "mdatpd is running. mdatp health:"
mdatp health

# Prove detection end to end: an EICAR test file (assembled here, so this script is not one).
sample_dir=$(mktemp -d /tmp/mdatp-eicar.XXXXXX)
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' \
        >"$sample_dir/eicar.com"
echo
echo "Scanning an EICAR test file in $sample_dir:"
mdatp scan custom --path "$sample_dir"
mdatp threat list | grep -F -B5 "$sample_dir" | head -n 6
rm -rf "$sample_dir"
