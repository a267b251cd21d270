#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Salt execution and state modules (salt/_modules, salt/_states, salt/_utils) and the formula
# (salt/mdatp) against the real daemon of scripts/sandbox.sh. Salt itself is not installable on
# Debian 12, so test_salt.py loads the modules as Salt's loader does, injecting __utils__,
# __salt__, __opts__ and __pillar__; every call goes over the real bus (see test_salt.py).
. "$(dirname "$0")/../lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
for mod in dbus jinja2 yaml; do
        /usr/bin/python3 -c "import $mod" 2>/dev/null || {
                echo "not ok - /usr/bin/python3 cannot import $mod (apt-get install python3-dbus python3-jinja2 python3-yaml)"
                echo "0 passed, 1 failed"
                exit 1
        }
done

export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree
log="$MDATP_SANDBOX_DIR/test_salt.log"
cd "$here" || exit 1
# (-W: python3-gi emits an ImportWarning on import that would split unittest's result lines)
/usr/bin/python3 -W ignore::ImportWarning -m unittest -v test_salt >"$log" 2>&1
rc=$?
# unittest -v: "test_x (test_salt.Class.test_x) ... ok|FAIL|ERROR", details after a ==== line.
while IFS= read -r line; do
        case "$line" in
        *" ... ok") pass "${line% ... ok}" ;;
        *" ... FAIL" | *" ... ERROR") fail "$line" ;;
        esac
done <"$log"
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} .*/\1/p' "$log")
if [ "$rc" != 0 ] || [ -z "$ran" ] || [ "$ran" != "$((PASSED + FAILED))" ] || [ "$ran" = 0 ]; then
        fail "unittest exited $rc after ${ran:-no} tests; its output:"
        sed -n '/^=====/,$p' "$log" | head -150
        [ "$ran" ] || head -50 "$log"
fi
finish
