# SPDX-License-Identifier: GPL-2.0-or-later
"""What the Python integration tests print: "ok - ..." or "not ok - ..." per check, counted, and
"N passed, N failed" at the end (the same as lib.sh for the shell tests)."""
import sys

passed = failed = 0


def ok(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what}{': ' + str(detail) if detail else ''}")


def finish():
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)
