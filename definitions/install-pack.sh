#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# meson install script: copies the built definition pack directory $1 to $2 (an absolute path,
# under $DESTDIR when set), replacing a pack installed there before. Files 0644, directories 0755.
set -eu

src=$1
dest=${DESTDIR:-}$2

[ -f "$src/manifest.json" ] || { echo "install-pack.sh: '$src' is not a built pack" >&2; exit 1; }
if [ -e "$dest" ]; then
        # Replace only what is recognisably a pack.
        [ -f "$dest/manifest.json" ] || { echo "install-pack.sh: '$dest' exists and is not a pack" >&2; exit 1; }
        rm -rf "$dest"
fi

mkdir -p "$dest"
chmod 0755 "$dest"
cd "$src"
find . -type d ! -name . -exec install -d -m 0755 "$dest/{}" \;
find . -type f -exec install -m 0644 "{}" "$dest/{}" \;
echo "Installing definition pack to $dest"
