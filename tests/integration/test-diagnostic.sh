#!/usr/bin/env bash
# `mdatp diagnostic create`: root gets a zip with the expected entries in the directory it names
# (created 0700 when missing); nobody is refused and nothing is written; --path to a symlink or a
# non-directory fails clearly and writes nothing; credentials never reach the bundle, not even the
# copy of a managed policy that holds them; --output json prints the path.
. "$(dirname "$0")/lib.sh"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# entries ZIP: the entry names, one a line, sorted.
entries() { python3 -c 'import sys, zipfile; print("\n".join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))' "$1"; }
# extract ZIP DIR
extract() { python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; }
created_path() { sed -n 's/^Diagnostic file created: //p' <<<"$1"; }

# A valid managed policy first, to see the layers.
write_managed '{"antivirusEngine":{"scanArchives":false}}'
wait_until 10 sh -c 'mdatp health --field scan_archives | grep -q false' \
        || fail "the managed policy was not picked up"
run mdatp diagnostic create --path "$WORK/layers"
expect_rc "root creates a bundle into a new directory" 0
extract "$(created_path "$OUT")" "$WORK/layers-x"
expect_contains "settings name their layer" "$(cat "$WORK/layers-x/settings.txt")" \
        "antivirusEngine.scanArchives	managed	false"
expect_contains "and the defaults theirs" "$(cat "$WORK/layers-x/settings.txt")" \
        "antivirusEngine.scanAfterDefinitionUpdate	default	true"

# Then one with a proxy password: the daemon refuses it (and says so, quoting the value in its
# health issues and log), the bundle copies the file as found; neither may show the password.
write_managed '{"cloudService":{"proxy":"http://alice:s3cretPW@proxy.example:8080/"}}'
wait_until 10 sh -c 'mdatp health --field health_issues | grep -q proxy' \
        || fail "the managed policy with a password was not read"

# Root, into a directory that does not exist yet.
run mdatp diagnostic create --path "$WORK/out"
expect_rc "root creates a bundle" 0
expect_contains "the reference's message" "$OUT" "Diagnostic file created: $WORK/out/mdatp-diagnostic-"
ZIP=$(created_path "$OUT")
[ -f "$ZIP" ] && pass "the file is where it says" || fail "no file at '$ZIP'"
expect_eq "the missing directory is created 0700" "$(stat -c %a "$WORK/out")" "700"
expect_eq "the file is 0600 and the caller's" "$(stat -c '%a %U' "$ZIP")" "600 root"
LIST=$(entries "$ZIP" 2>&1)
for e in version.txt system/uname.txt system/os-release settings.txt exclusions.txt \
        managed/mdatp_managed.json managed/status.txt definitions.txt \
        real_time_protection/counters.txt real_time_protection/statistics.txt \
        conflicting_applications.txt scans.txt health_issues.txt mdatpd.log health.txt health.json; do
        expect_contains "the bundle holds $e" "$LIST" "$e"
done

extract "$ZIP" "$WORK/x"
expect_eq "health.txt is what mdatp health prints" "$(sed -n 1p "$WORK/x/health.txt")" \
        "$(mdatp health | sed -n 1p)"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$WORK/x/health.json" \
        && pass "health.json is JSON" || fail "health.json does not parse"
expect_contains "the refusal is in the bundle, redacted" "$(cat "$WORK/x/health_issues.txt")" \
        "http://***@proxy.example:8080/"
expect_contains "the version" "$(cat "$WORK/x/version.txt")" "Product version: "
expect_contains "the daemon log is recent" "$(cat "$WORK/x/mdatpd.log")" "started"
run grep -r -l "s3cretPW" "$WORK/x"
expect_eq "the password appears nowhere in the extracted bundle" "$OUT" ""
run grep -c "s3cretPW" "$ZIP"
expect_eq "nor in the archive itself" "$OUT" "0"
expect_contains "the managed policy copy is redacted" "$(cat "$WORK/x/managed/mdatp_managed.json")" \
        "http://***@proxy.example:8080/"

# --output json
run mdatp diagnostic create --path "$WORK/out" --output json
expect_rc "--output json" 0
JPATH=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["path"])' <<<"$OUT" 2>&1)
[ -f "$JPATH" ] && [ "$JPATH" != "$ZIP" ] && pass "--output json prints the new file's path" \
        || fail "--output json: '$OUT'"

# Refusals: nobody, a symlink, a file.
mkdir -m 0777 "$WORK/open"
run_nobody mdatp diagnostic create --path "$WORK/open"
expect_rc "nobody is refused" 1
expect_contains "nobody is told why" "$OUT" "requires administrator privileges"
expect_eq "nobody's refusal writes nothing" "$(ls -A "$WORK/open")" ""

ln -s "$WORK/open" "$WORK/link"
run mdatp diagnostic create --path "$WORK/link"
expect_rc "--path to a symlink fails" 1
expect_contains "--path to a symlink says so" "$OUT" "is a symbolic link"
expect_eq "and writes nothing" "$(ls -A "$WORK/open")" ""

touch "$WORK/plain"
run mdatp diagnostic create --path "$WORK/plain"
expect_rc "--path to a file fails" 1
expect_contains "--path to a file says so" "$OUT" "is not a directory"
expect_eq "and leaves the file alone" "$(stat -c %s "$WORK/plain")" "0"

# The method itself is gated too, not only the CLI.
run_nobody busctl --system call com.microsoft.Mdatp1 /com/microsoft/Mdatp1/Diagnostics \
        com.microsoft.Mdatp1.Diagnostics CreateBundle
expect_contains "CreateBundle refuses nobody" "$OUT" "Access denied"

rm -f "$MDATP_MANAGED_DIR/mdatp_managed.json"
finish
