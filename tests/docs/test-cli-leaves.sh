#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every leaf of the client's command table is documented in mdatp(1) and completed by the bash
# completion, with every flag its usage line names. The list of leaves comes from the table
# itself (`cli-doc leaves`); the flags are read here with grep, independently of the generator's
# own parser. Usage: test-cli-leaves.sh CLI_DOC MDATP_1 COMPLETION
set -euo pipefail
export LC_ALL=C

cli_doc=$1
page=$2
completion=$3

# shellcheck source=/dev/null
source "$completion"

# The page as plain text, on lines long enough that no command is broken across two.
text=$(groff -Tascii -P-c -P-b -P-u -rLL=400n -rHY=0 -man "$page" 2>/dev/null)

# The words `mdatp WORDS... <TAB>` completes to, one per line.
complete_words() {
        COMP_WORDS=(mdatp "$@")
        COMP_CWORD=$#
        COMPREPLY=()
        _mdatp
        printf '%s\n' "${COMPREPLY[@]}"
}

n=0
fail=0
while IFS=$'\t' read -r leaf usage; do
        n=$((n + 1))
        read -r -a words <<<"$leaf"
        last=${words[-1]}

        if ! grep -qF "mdatp $leaf" <<<"$text"; then
                echo "mdatp(1) does not document 'mdatp $leaf'"
                fail=1
        fi
        # Captured first: grep -q would stop reading early, and pipefail would count that.
        offered=$(complete_words "${words[@]:0:${#words[@]}-1}" "${last:0:1}")
        if ! grep -qxF -- "$last" <<<"$offered"; then
                echo "'mdatp ${words[*]:0:${#words[@]}-1} ${last:0:1}<TAB>' does not offer '$last'"
                fail=1
        fi
        offered=$(complete_words "${words[@]}" "")
        for flag in $(grep -oE -- '--[a-z][a-z-]*' <<<"$usage" | sort -u); do
                if ! grep -qxF -- "$flag" <<<"$offered"; then
                        echo "'mdatp $leaf <TAB>' does not offer '$flag'"
                        fail=1
                fi
        done
done < <("$cli_doc" leaves)

# An empty table would pass everything above.
if [ "$n" -lt 40 ]; then
        echo "only $n leaves in the command table"
        fail=1
fi
[ "$fail" = 0 ] && echo "ok: $n leaves documented and completed"
exit "$fail"
