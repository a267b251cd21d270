#!/usr/bin/env bash
# Definition updates against a real HTTPS server on 127.0.0.1 with a test CA: a good pack
# installs and swaps in, the same version is "up to date", and a tampered file, a signature by
# another key, a version rollback and an untrusted certificate each leave the pack in force and
# say why; a plain directory mirror; the connectivity test; restore; nobody refused; a daemon
# killed during an update starts on a whole pack.
. "$(dirname "$0")/lib.sh"

src=$(cd "$(dirname "$0")/../.." && pwd)
pack_tool="$MDATP_BUILD_DIR/tools/mdatp-pack/mdatp-pack"
key="$MDATP_DEFINITIONS_SIGNING_KEY"
work="$MDATP_SANDBOX_DIR/update"
mirror="$work/mirror"
mkdir -p "$work" "$mirror"

# A test CA and a server certificate for 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mdatp test CA" \
        -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$work/server.key" \
        -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
        -CAcreateserial -days 2 -extfile "$work/san.ext" -out "$work/server.pem" 2>/dev/null

# The HTTPS mirror, serving $mirror; it prints its port.
/usr/bin/python3 - "$mirror" "$work/server.pem" "$work/server.key" >"$work/port" 2>"$work/server.log" <<'PY' &
import functools, http.server, ssl, sys
d, cert, key = sys.argv[1:4]
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=d)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_until 10 test -s "$work/port" || fail "the test HTTPS server did not start"
url="https://127.0.0.1:$(cat "$work/port")/"

publish() {     # publish VERSION [KEY]: a pack of the default rules, served by the mirror
        rm -rf "$mirror"/* 
        "$pack_tool" build --key "${2:-$key}" --version "$1" --out "$work/pack" "$src/definitions/default" >/dev/null &&
                cp -r "$work/pack/." "$mirror/"
}
version() { mdatp health --field definitions_version; }

printf 'MDATP_UPDATE_CA_FILE=%s\n' "$work/ca.pem" >"$MDATP_SANDBOX_DIR/daemon.env"
restart_daemon || fail "restart"
run mdatp definitions update
expect_rc "update without a source fails" 1
expect_contains "and says what to configure" "$OUT" "cloudService.definitionUpdateUrl"

run mdatp config set --name cloudService.definitionUpdateUrl --value "$url"
expect_rc "update URL set" 0
expect_eq "health shows the source" "$(mdatp health --details definitions --field definitions_update_source_uri 2>/dev/null || mdatp health --field definitions_update_source_uri)" "\"$url\""

publish 2.0.0.0
run mdatp definitions update
expect_rc "update over HTTPS" 0
expect_eq "new version printed" "$OUT" "Security intelligence updated to version 2.0.0.0"
expect_eq "new version in force" "$(version)" '"2.0.0.0"'
expect_eq "no fail reason" "$(mdatp health --field definitions_update_fail_reason)" '""'
run mdatp definitions update
expect_eq "same version: up to date" "$OUT" "Security intelligence is up to date"

# scanAfterDefinitionUpdate (on by default in real_time): running executables were scanned.
no_scan() { busctl --system get-property com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Scans com.microsoft.Mdatp1.ScanManager Running | grep -q '"/"'; }
wait_until 60 no_scan
expect_contains "running executables scanned after the update" "$(mdatp scan list)" "Custom"

# The new pack detects: an EICAR file is found with it.
mkdir -p "$work/s"
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' >"$work/s/e"
run mdatp scan custom --path "$work/s"
expect_contains "scans work with the updated pack" "$OUT" "	1 threat(s) detected"

# Tampered file on the mirror.
publish 3.0.0.0
echo "rule tampered { condition: true }" >>"$mirror/rules/eicar.yar"
run mdatp definitions update
expect_rc "tampered pack refused" 1
expect_contains "the reason names the file" "$OUT" "eicar.yar"
expect_eq "tampered: version unchanged" "$(version)" '"2.0.0.0"'
reason=$(mdatp health --field definitions_update_fail_reason)
[ "$reason" != '""' ] && pass "health keeps the fail reason" || fail "no fail reason in health"

# Signed with another key.
"$pack_tool" keygen --out-private "$work/other.pem" --out-public "$work/other.pub.pem" >/dev/null
publish 3.0.0.1 "$work/other.pem"
run mdatp definitions update
expect_rc "pack signed by another key refused" 1
expect_contains "the signature is named" "$OUT" "signature"
expect_eq "wrong key: version unchanged" "$(version)" '"2.0.0.0"'

# Version rollback.
publish 1.5.0.0
run mdatp definitions update
expect_eq "an older pack is not installed" "$OUT" "Security intelligence is up to date"
expect_eq "rollback: version unchanged" "$(version)" '"2.0.0.0"'

# Truncated download: the manifest lists a file the mirror cut short.
publish 3.0.0.2
truncate -s 10 "$mirror/rules/webshells.yar"
run mdatp definitions update
expect_rc "truncated file refused" 1
expect_eq "truncated: version unchanged" "$(version)" '"2.0.0.0"'

# Connectivity test.
publish 2.0.0.0
run mdatp connectivity test
expect_rc "connectivity test passes" 0
expect_contains "connectivity line" "$OUT" "[OK]"
run mdatp config set --name cloudService.definitionUpdateUrl --value "https://127.0.0.1:1/"
run mdatp connectivity test
expect_rc "connectivity test fails on a closed port" 1
expect_contains "connectivity error line" "$OUT" "[ERROR]"

# An untrusted certificate: the daemon without the test CA.
run mdatp config set --name cloudService.definitionUpdateUrl --value "$url"
: >"$MDATP_SANDBOX_DIR/daemon.env"
restart_daemon || fail "restart"
publish 3.0.0.3
run mdatp definitions update
expect_rc "TLS failure refused" 1
expect_contains "TLS is named" "$OUT" "certificate"
expect_eq "TLS failure: version unchanged" "$(version)" '"2.0.0.0"'

# A directory mirror, as organisations without a web server use.
"$pack_tool" build --key "$key" --version 4.0.0.0 --out "$work/dirmirror" "$src/definitions/default" >/dev/null
run mdatp config set --name cloudService.definitionUpdateUrl --value "$work/dirmirror"
run mdatp definitions update
expect_eq "directory mirror" "$OUT" "Security intelligence updated to version 4.0.0.0"

# nobody may not update.
run_nobody mdatp definitions update
expect_rc "nobody cannot update" 1
expect_contains "nobody: administrator privileges" "$OUT" "requires administrator privileges"

# Killed while updating: the next start loads a whole pack, never a half-written one.
"$pack_tool" build --key "$key" --version 5.0.0.0 --out "$work/dirmirror5" "$src/definitions/default" >/dev/null
run mdatp config set --name cloudService.definitionUpdateUrl --value "$work/dirmirror5"
busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Definitions com.microsoft.Mdatp1.Definitions Update >/dev/null 2>&1 &
sleep 0.05
old=$(cat "$MDATPD_PID_FILE")
kill -KILL "$old"
# The name may linger a moment after the kill: wait for the new process, then for its name.
wait_until 20 sh -c "[ \"\$(cat '$MDATPD_PID_FILE')\" != '$old' ]" && wait_until 30 daemon_up ||
        fail "daemon did not come back"
v=$(version)
case "$v" in
'"4.0.0.0"'|'"5.0.0.0"') pass "after SIGKILL mid-update a whole pack is in force ($v)" ;;
*) fail "after SIGKILL: $v" ;;
esac
left=$(find "$MDATP_STATE_DIR/definitions" -maxdepth 1 -name '.*' | wc -l)
wait_until 5 sh -c "[ \$(find '$MDATP_STATE_DIR/definitions' -maxdepth 1 -name '.*' | wc -l) = 0 ]" && pass "no half-written pack left" || fail "leftovers: $(ls -a "$MDATP_STATE_DIR/definitions")"

# Restore the shipped pack.
run mdatp definitions restore
expect_rc "restore" 0
expect_eq "shipped version back" "$(version)" '"1.0.0.0"'

finish
