#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/systemd/root.sh: prints the path of a cached tarball of a minimal Debian 12 root with
# real systemd, building it first when the cache has none for this package list (about 50 s).
# The cache lives in /var/cache/mdatp-test/ (MDATP_TEST_CACHE overrides), one tarball per hash of
# the recipe below, so changing the list builds a new root and never reuses a stale one. Only
# run.sh reads the tarball; it unpacks a fresh copy per run, so no run inherits another's state.
set -euo pipefail

cache=${MDATP_TEST_CACHE:-/var/cache/mdatp-test}

# What the product needs to run (mdatpd's and mdatp's shared libraries), and what the checks
# need to look at the machine: auditctl, iptables-save and nft, ps, mount, useradd, setpriv;
# and Ansible and Puppet, which install the product from a repository there.
packages=(
        systemd systemd-sysv dbus polkitd
        libyajl2 libyara9 libarchive13 libcurl4 libssl3 libsystemd0
        auditd iptables nftables procps util-linux mount passwd
        # the configuration-management installs from a local apt repository
        ansible-core python3-apt python3-dbus puppet
)
suite=bookworm
variant=minbase

include=$(IFS=,; echo "${packages[*]}")
key=$(printf '%s\n' "$suite" "$variant" "$include" | sha256sum | cut -c1-16)
tarball="$cache/debian-$suite-$key.tar"

mkdir -p "$cache"
# One builder at a time; the others wait and then find the tarball.
exec 9>"$cache/.lock"
flock -w 600 9 || { echo "root.sh: could not lock $cache/.lock within 10 min" >&2; exit 1; }
if [ ! -s "$tarball" ]; then
        echo "root.sh: building $tarball (Debian $suite, $variant + ${#packages[@]} packages)" >&2
        tmp="$tarball.tmp.$$"
        trap 'rm -f "$tmp"' EXIT
        # --format=tar writes the tarball directly; no root directory is left behind.
        timeout 900 nice mmdebstrap --quiet --variant="$variant" --include="$include" \
                --format=tar "$suite" "$tmp" >&2
        mv -f "$tmp" "$tarball"
        trap - EXIT
        # Keep only this recipe's root.
        find "$cache" -maxdepth 1 -name 'debian-*.tar' ! -path "$tarball" -delete
fi
echo "$tarball"
