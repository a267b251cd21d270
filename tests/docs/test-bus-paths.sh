#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Object paths are spelled only in dbus/mdatp-bus.h: a path literal anywhere else in the C
# sources (daemon, CLI, tools, tests) drifts the day one of them is renamed.
# Usage: test-bus-paths.sh SOURCE_ROOT
set -euo pipefail
export LC_ALL=C

src=$1
header=dbus/mdatp-bus.h

# The header itself must still define them, or the grep below proves nothing.
if ! grep -qF '#define MDATP_OBJECT_ROOT "/com/microsoft/Mdatp1"' "$src/$header"; then
        echo "$header no longer defines MDATP_OBJECT_ROOT"
        exit 1
fi

hits=$(cd "$src" && grep -rnF --include='*.c' --include='*.h' '"/com/microsoft/Mdatp1' \
               cli service dbus tools tests definitions 2>/dev/null | grep -v "^$header:" || true)
if [ -n "$hits" ]; then
        echo "object path literals outside $header (use its MDATP_OBJECT_* names):"
        echo "$hits"
        exit 1
fi
echo "ok: object paths only in $header"
