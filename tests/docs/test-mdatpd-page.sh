#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mdatpd(8) names every environment variable the daemon reads ("MDATP_..." in service/) and
# every polkit action it asks for, so that a new knob or action cannot go undocumented.
# Usage: test-mdatpd-page.sh SOURCE_ROOT PAGE
set -euo pipefail
export LC_ALL=C

src=$1
page=$2
text=$(groff -Tascii -P-c -P-b -P-u -rLL=400n -rHY=0 -man "$page" 2>/dev/null)
fail=0
n=0

for name in $(grep -rhoE '"MDATP_[A-Z0-9_]+"' "$src/service" --include='*.c' | tr -d '"' | sort -u) \
            $(grep -oE 'action id="[^"]+"' "$src/polkit/com.microsoft.mdatp1.policy" | cut -d'"' -f2); do
        n=$((n + 1))
        if ! grep -qwF -- "$name" <<<"$text"; then
                echo "mdatpd(8) does not mention '$name'"
                fail=1
        fi
done
# Nothing found would pass everything above.
if [ "$n" -lt 8 ]; then
        echo "found only $n names to look for"
        fail=1
fi
[ "$fail" = 0 ] && echo "ok: $n environment variables and polkit actions documented"
exit "$fail"
