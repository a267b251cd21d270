#!/usr/bin/env bash
# A daemon told to trust the published test key (tests/meson.build sets MDATP_DEFINITIONS_KEY to
# it): it accepts packs signed with that key, and health says so, since anyone can sign those.
. "$(dirname "$0")/lib.sh"

issue="definitions signed with the public test key are trusted"

run mdatp health --field health_issues
expect_rc "health issues readable" 0
expect_contains "the test key is a health issue" "$OUT" "$issue"
expect_eq "not healthy" "$(mdatp health --field healthy)" "false"

# What makes it an issue: a pack signed with the published private key is loaded.
src=$(cd "$(dirname "$0")/../.." && pwd)
"$MDATP_BUILD_DIR/tools/mdatp-pack/mdatp-pack" build --key "$MDATP_DEFINITIONS_SIGNING_KEY" \
        --version 2.0.0.0 --out "$MDATP_STATE_DIR/definitions/current" "$src/definitions/default" >/dev/null
kill -HUP "$(cat "$MDATPD_PID_FILE")"
loaded() { [ "$(mdatp health --field definitions_version)" = '"2.0.0.0"' ]; }
if wait_until 5 loaded; then pass "a pack signed with the test key loads"; else fail "not loaded: $(mdatp health --field definitions_version)"; fi
expect_contains "the issue stays" "$(mdatp health --field health_issues)" "$issue"

finish
