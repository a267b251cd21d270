#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A generated man page must format without a single warning, with groff at its strictest and
# with man-db as users will read it. Usage: test-man-lint.sh PAGE
set -euo pipefail

page=$1
fail=0

out=$(groff -man -ww -z "$page" 2>&1) || fail=1
if [ -n "$out" ]; then
        printf 'groff warns about %s:\n%s\n' "$page" "$out"
        fail=1
fi

# MANWIDTH fixes the line length, so that the result does not depend on the terminal.
out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null) || fail=1
if [ -n "$out" ]; then
        printf 'man warns about %s:\n%s\n' "$page" "$out"
        fail=1
fi

[ "$fail" = 0 ] && echo "ok: $page"
exit "$fail"
