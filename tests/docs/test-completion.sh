#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sources the generated bash completion and checks what a user gets at a few places: groups,
# leaves, flags, fixed values, file names, the global --output. Usage: test-completion.sh FILE
set -euo pipefail
export LC_ALL=C

# shellcheck source=/dev/null
source "$1"

fail=0

# Completes the words given (the last is the word under the cursor); prints the candidates on
# one line, sorted.
complete_line() {
        COMP_WORDS=(mdatp "$@")
        COMP_CWORD=$#
        COMPREPLY=()
        _mdatp
        printf '%s\n' "${COMPREPLY[@]}" | sort | xargs
}

expect() {
        local want=$1 got
        shift
        got=$(complete_line "$@")
        if [ "$got" != "$want" ]; then
                printf "'mdatp %s<TAB>': expected '%s', got '%s'\n" "$*" "$want" "$got"
                fail=1
        fi
}

expect "threat" thr
expect "config connectivity" con
expect "add list remove remove-all restore" threat quarantine ""
expect "disabled enabled" config real-time-protection --value ""
expect "audit block disabled" config network-protection enforcement-level --value ""
expect "antivirus definitions edr features help" health --details ""
expect "--destination-path --help --id --path threat-id threat-path" threat quarantine restore ""
expect "epp global" exclusion folder add --path /tmp --scope ""
expect "json" --output ""
expect "add list remove remove-all restore" --output json threat quarantine ""
expect "--health --help --output --version" --
expect "" nosuchgroup ""

# File names for --path and --destination-path.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
touch "$dir/sample.bin"
expect "$dir/sample.bin" scan custom --path "$dir/sam"
expect "$dir/sample.bin" threat quarantine restore threat-path --destination-path "$dir/s"

[ "$fail" = 0 ] && echo "ok: completions"
exit "$fail"
