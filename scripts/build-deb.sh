#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# scripts/build-deb.sh (--signing-key PRIVATE.pem | --ephemeral-key) [--out DIR] [--version V]
#
# Builds the Debian packages mdatp and mdatp-pack (dpkg-buildpackage -b -us -uc, no tests, a
# parallel build) from a copy of this tree, checks them with lintian (errors fail the build) and
# prints the directory they are in (default: build-deb/ in the source tree).
#
#   --signing-key PRIVATE.pem   the release Ed25519 key that signs the shipped definition pack;
#                               the package gets only its public half, derived here with openssl
#   --ephemeral-key             a throwaway key pair made for this build and deleted after it:
#                               for tests and a developer's own machine, never for a release
#   --out DIR                   where the .deb, .buildinfo and .changes files go
#   --version V                 package version instead of debian/changelog's (an entry for it
#                               is added to the copy only), e.g. to test upgrades
#
# Installs the build dependencies with apt-get when some are missing (needs root then).
# See docs/packaging.md.
set -euo pipefail

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out_dir=$src_dir/build-deb
signing_key= ephemeral=0 version=

die() { echo "build-deb.sh: $*" >&2; exit 1; }
usage() { sed -n '4,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
        case "$1" in
        --signing-key) [ $# -ge 2 ] || die "--signing-key needs a file"; signing_key=$2; shift 2 ;;
        --ephemeral-key) ephemeral=1; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory"; out_dir=$2; shift 2 ;;
        --version) [ $# -ge 2 ] || die "--version needs a version"; version=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
        esac
done
if [ -z "$signing_key" ] && [ "$ephemeral" = 0 ]; then
        die "no definitions signing key: give the release key with --signing-key PRIVATE.pem, or --ephemeral-key for a test build (see docs/packaging.md)"
fi
[ -z "$signing_key" ] || [ "$ephemeral" = 0 ] || die "--signing-key and --ephemeral-key exclude each other"

install_build_deps() {
        local p missing=()
        for p in debhelper dpkg-dev fakeroot lintian openssl git \
                 gcc meson ninja-build pkg-config libsystemd-dev libyajl-dev \
                 libyara-dev libarchive-dev libssl-dev libcurl4-openssl-dev; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
                        missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        [ "$(id -u)" = 0 ] || die "missing build dependencies (run as root to install them): ${missing[*]}"
        echo "build-deb.sh: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}
install_build_deps

work=$(mktemp -d /var/tmp/mdatp-deb.XXXXXX)
# The work directory holds the ephemeral private key: it goes whatever happens.
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/src" "$work/keys"
chmod 0700 "$work/keys"

# The keys. Only the public half enters the package; the private one only signs the pack.
if [ "$ephemeral" = 1 ]; then
        (umask 077 && openssl genpkey -algorithm ed25519 -out "$work/keys/signing-key.pem")
        signing_key=$work/keys/signing-key.pem
        echo "build-deb.sh: EPHEMERAL definitions key: these packages accept only the definitions shipped in them; its private half is deleted after the build. Not for release."
else
        [ -r "$signing_key" ] || die "cannot read the signing key '$signing_key'"
        signing_key=$(realpath "$signing_key")
fi
openssl pkey -in "$signing_key" -pubout -out "$work/keys/signing-key.pub.pem" 2>/dev/null ||
        die "'$signing_key' is not a private key openssl can read"
openssl pkey -pubin -in "$work/keys/signing-key.pub.pem" -noout -text 2>/dev/null | grep -q ED25519 ||
        die "'$signing_key' is not an Ed25519 key"
# Its private half is published: a package trusting it accepts definitions from anyone.
cmp -s "$work/keys/signing-key.pub.pem" "$src_dir/definitions/keys/test-signing-key.pub.pem" &&
        die "'$signing_key' is the published test key; use a release key or --ephemeral-key"

# A copy of the tree, so that the build writes nothing here or beside it (dpkg-buildpackage puts
# its results in the parent directory): tracked and new files, not the build directories.
if git -C "$src_dir" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$src_dir" && git ls-files -z --cached --others --exclude-standard |
                xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
                tar --null -T - -cf -) | tar -xf - -C "$work/src"
else
        tar -C "$src_dir" --exclude='./build*' -cf - . | tar -xf - -C "$work/src"
fi

if [ -n "$version" ]; then
        { printf 'mdatp (%s) unstable; urgency=medium\n\n  * Build of version %s.\n\n -- %s  %s\n\n' \
                "$version" "$version" \
                "$(dpkg-parsechangelog -l "$work/src/debian/changelog" -S Maintainer)" "$(date -R)"
          cat "$work/src/debian/changelog"; } >"$work/changelog"
        mv "$work/changelog" "$work/src/debian/changelog"
fi

echo "build-deb.sh: building in $work (log: $work/build.log)"
if ! (cd "$work/src" &&
      DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
      MDATP_DEFINITIONS_SIGNING_KEY="$signing_key" \
      MDATP_DEFINITIONS_PUBLIC_KEY="$work/keys/signing-key.pub.pem" \
      dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1; then
        tail -n 60 "$work/build.log" >&2
        die "dpkg-buildpackage failed (the log above is the end of $work/build.log, deleted on exit)"
fi

mkdir -p "$out_dir"
out_dir=$(realpath "$out_dir")
rm -f "$out_dir"/mdatp_*.deb "$out_dir"/mdatp-pack_*.deb "$out_dir"/mdatp_*.changes "$out_dir"/mdatp_*.buildinfo
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out_dir/"
mv "$work/build.log" "$out_dir/mdatp-build-deb.log"

echo "build-deb.sh: lintian:"
lintian --fail-on error "$out_dir"/mdatp_*.changes || die "lintian found errors"
echo "build-deb.sh: packages in:"
echo "$out_dir"
