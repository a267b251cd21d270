#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Chef cookbook chef/mdatp. Chef is not installable here (not in Debian 12), so: ruby -wc on
# every .rb file, and minitest (chef/test_chef.rb) of the D-Bus helper and of the custom
# resources, run on a minimal stand-in for Chef's resource DSL, against the real daemon of
# scripts/sandbox.sh.
. "$(dirname "$0")/../lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)

command -v ruby >/dev/null && ruby -e 'require "minitest"' 2>/dev/null || {
        echo "not ok - ruby with minitest is not installed (apt-get install ruby ruby-minitest)"
        echo "0 passed, 1 failed"
        exit 1
}
command -v busctl >/dev/null || { echo "not ok - busctl is missing"; echo "0 passed, 1 failed"; exit 1; }

for rb in $(find "$src/chef" "$here/chef" -name '*.rb' | sort); do
        run ruby -wc "$rb"
        if [ "$RC" = 0 ] && [ "$OUT" = "Syntax OK" ]; then pass "ruby -wc ${rb#"$src"/}"; else fail "ruby -wc $rb: $OUT"; fi
done
if cmp -s "$src/chef/mdatp/libraries/dbus_helper.rb" "$src/puppet/mdatp/lib/puppet_x/mdatp/dbus_helper.rb"; then
        pass "the Chef and Puppet D-Bus helpers are the same file"
else
        fail "chef/mdatp/libraries/dbus_helper.rb differs from the Puppet copy; copy it again"
fi

log="$MDATP_SANDBOX_DIR/test_chef.log"
ruby -w "$here/chef/test_chef.rb" -v >"$log" 2>&1
rc=$?
# minitest -v: "Class#test_x = 0.12 s = ." (F: failure, E: error, S: skip).
while IFS= read -r line; do
        case "$line" in
        *"#test_"*" = ." ) pass "${line%% = *}" ;;
        *"#test_"*" = "[FES]) fail "$line" ;;
        esac
done <"$log"
summary=$(grep -E '^[0-9]+ runs, ' "$log")
if [ "$rc" != 0 ] || [ -z "$summary" ]; then
        fail "minitest exited $rc: ${summary:-no summary}"
        grep -v '^MdatpHelperTest#' "$log" | head -120
fi
finish
