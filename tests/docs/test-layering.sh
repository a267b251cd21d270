#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The layering of the daemon (docs/architecture.md): only service/bus/ and service/main.c speak
# D-Bus. The manager and the modules below it raise typed events instead; a sd-bus include or
# call anywhere else brings back the cycle where nobody owns "when to notify".
# Usage: test-layering.sh SOURCE_ROOT
set -euo pipefail
export LC_ALL=C

src=$1
cd "$src/service"

# The bus adapters must still use sd-bus, or the grep below proves nothing.
if ! grep -qF 'sd_bus_' bus/bus-health.c; then
        echo "service/bus/bus-health.c no longer uses sd-bus: is the grep below still right?"
        exit 1
fi

hits=$(grep -rnE --include='*.c' --include='*.h' \
               'sd-bus\.h|sd_bus_|mdatp-bus\.h|"bus/bus\.h"' . |
               grep -vE '^\./(bus/|main\.c:)' || true)
if [ -n "$hits" ]; then
        echo "D-Bus below service/bus/ (raise a manager event instead, manager.h):"
        echo "$hits"
        exit 1
fi
echo "ok: sd-bus only in service/bus/ and service/main.c"
