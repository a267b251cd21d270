#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what building, running and testing mdatp needs on Debian 12 (run as root).
# scripts/deps.sh [--tests]
set -euo pipefail

packages=(
        # build
        gcc meson ninja-build pkg-config libsystemd-dev libyajl-dev
        libyara-dev libarchive-dev libssl-dev libcurl4-openssl-dev
        # run: the system bus and polkit
        dbus-daemon polkitd
)
test_packages=(
        check libsubunit-dev valgrind zip openssl
        # the generated man pages are checked with groff and man
        groff-base man-db
        # integration tests: nobody callers, python D-Bus client with a GLib main loop
        util-linux python3-dbus python3-gi
        # test_polkit.py: busctl's interactive-authorization flag, mdatp on a terminal (script)
        systemd bsdutils
        # integration: a FUSE mount whose server a test freezes
        libfuse3-dev fuse3
        # configuration-management modules
        ansible-core ansible-lint puppet ruby-minitest
        # tests/systemd: a Debian root booted with real systemd in a container
        mmdebstrap systemd-container procps apt-utils
)
[ "${1:-}" = "--tests" ] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
