#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# meson configure helper: makes sure DIR holds an Ed25519 key pair for this build directory only
# (signing-key.pem, mode 0600, and signing-key.pub.pem), generating it with openssl when either
# half is missing. A build without configured keys signs its pack and is trusted with this pair,
# so no default build trusts the published test key; the pair stays as long as the build
# directory, so a reconfigure does not invalidate packs already signed with it.
# ephemeral-key.sh OPENSSL DIR
set -eu

openssl=$1
dir=$2
priv=$dir/signing-key.pem
pub=$dir/signing-key.pub.pem

if [ -s "$priv" ] && [ -s "$pub" ]; then
        exit 0
fi
mkdir -p "$dir"
rm -f "$priv" "$pub" "$priv.tmp"
# umask first: the private half must never be readable by others, not even for a moment.
(umask 077 && "$openssl" genpkey -algorithm ed25519 -out "$priv.tmp")
"$openssl" pkey -in "$priv.tmp" -pubout -out "$pub"
mv "$priv.tmp" "$priv"
echo "Generated the build's own definitions signing key pair in $dir"
