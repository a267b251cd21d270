/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bash completion of mdatp, generated from the command table (see cli-doc.h). The script
 * has three lookup functions written from the table (children of a group, flags and positional
 * words of a leaf, values of a leaf's flag) and one fixed completion function that walks the
 * words typed so far. Owns no state.
 */
#include <errno.h>
#include <string.h>

#include "cli-doc.h"
#include "util/macro.h"

/* Everything the script quotes comes from our tables; a character that would need more than
 * single quotes is refused, so the build fails rather than the shell. */
static int completion_word_ok(const char *w) {
        if (!w || !*w || w[strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789._:/=+@-")])
                return -EINVAL;
        return 0;
}

/* `'path') REPLY='child child ...' ;;` for a group. */
static int completion_children_case(const CliVerb *v, const char *path, int depth, void *f) {
        if (v->run)
                return 0;
        (void) fprintf(f, "        '%s') REPLY='", path);
        for (const CliVerb *c = v->children; c && c->name; c++) {
                if (completion_word_ok(c->name) < 0)
                        return -EINVAL;
                (void) fprintf(f, "%s%s", c == v->children ? "" : " ", c->name);
        }
        (void) fputs("' ;;\n", f);
        return 0;
}

/* Writes the words of l[0..n) separated by spaces. */
static int completion_words(FILE *f, const char * const *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (completion_word_ok(l[i]) < 0)
                        return -EINVAL;
                (void) fprintf(f, "%s%s", i > 0 ? " " : "", l[i]);
        }
        return 0;
}

/* `'path') REPLY='--flag ... word ...' ;;` for a leaf: what may follow it. */
static int completion_leaf_case(const CliVerb *v, const char *path, int depth, void *f) {
        _cleanup_(usage_done) Usage u = {};
        int r;

        if (!v->run)
                return 0;
        r = usage_parse(v->usage, &u);
        if (r < 0)
                return r;
        (void) fprintf(f, "        '%s') REPLY='--help", path);
        for (size_t i = 0; i < u.n_flags; i++) {
                if (completion_word_ok(u.flags[i].name) < 0)
                        return -EINVAL;
                (void) fprintf(f, " %s", u.flags[i].name);
        }
        if (u.n_positionals > 0)
                (void) fputc(' ', f);
        r = completion_words(f, u.positionals, u.n_positionals);
        if (r < 0)
                return r;
        (void) fputs("' ;;\n", f);
        return 0;
}

/* `'path|--flag') REPLY='a b' ;;` for each flag of a leaf that takes a value; `@files` for a
 * file name, nothing for free text. */
static int completion_value_case(const CliVerb *v, const char *path, int depth, void *f) {
        _cleanup_(usage_done) Usage u = {};
        int r;

        if (!v->run)
                return 0;
        r = usage_parse(v->usage, &u);
        if (r < 0)
                return r;
        for (size_t i = 0; i < u.n_flags; i++) {
                const UsageFlag *fl = &u.flags[i];

                if (!fl->takes_value)
                        continue;
                (void) fprintf(f, "        '%s|%s') REPLY='", path, fl->name);
                if (fl->files)
                        (void) fputs("@files", f);
                else {
                        r = completion_words(f, fl->values, fl->n_values);
                        if (r < 0)
                                return r;
                }
                (void) fputs("' ;;\n", f);
        }
        return 0;
}

/* One lookup function: `name() { case "$1" in <cases> *) return 1 ;; esac; }`. */
static int completion_function(FILE *f, const char *name, const char *comment, CliWalkFn fn) {
        int r;

        (void) fprintf(f, "# %s\n%s() {\n        case \"$1\" in\n", comment, name);
        /* The root itself, whose path is empty; the walk starts below it. */
        r = fn(cli_root(), "", 0, f);
        if (r < 0)
                return r;
        r = cli_walk(cli_root(), fn, f);
        if (r < 0)
                return r;
        (void) fputs("        *) return 1 ;;\n        esac\n}\n\n", f);
        return 0;
}

/* The fixed part: walk the typed words through the groups, then complete a child, a flag, a
 * flag's value or a positional word. `--output json` is global and may sit anywhere. */
static const char completion_main[] =
"_mdatp() {\n"
"        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
"        local path= word i=1 REPLY=\n"
"        COMPREPLY=()\n"
"        while (( i < COMP_CWORD )); do\n"
"                word=${COMP_WORDS[i]}\n"
"                if [[ $word == --output ]]; then (( i += 2 )); continue; fi\n"
"                if [[ $word == --output=* ]]; then (( i += 1 )); continue; fi\n"
"                _mdatp_children \"$path\" || break\n"
"                [[ \" $REPLY \" == *\" $word \"* ]] || return 0\n"
"                path=${path:+$path }$word\n"
"                (( i += 1 ))\n"
"        done\n"
"        if [[ $prev == --output ]]; then\n"
"                mapfile -t COMPREPLY < <(compgen -W json -- \"$cur\")\n"
"                return 0\n"
"        fi\n"
"        if _mdatp_children \"$path\"; then\n"
"                # Legacy spellings and the global options, only where they are accepted.\n"
"                [[ -z $path && $cur == -* ]] && REPLY='--output --help --health --version'\n"
"                mapfile -t COMPREPLY < <(compgen -W \"$REPLY\" -- \"$cur\")\n"
"                return 0\n"
"        fi\n"
"        if (( i < COMP_CWORD )) && _mdatp_value \"$path|$prev\"; then\n"
"                if [[ $REPLY == @files ]]; then\n"
"                        compopt -o filenames 2>/dev/null\n"
"                        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
"                else\n"
"                        mapfile -t COMPREPLY < <(compgen -W \"$REPLY\" -- \"$cur\")\n"
"                fi\n"
"                return 0\n"
"        fi\n"
"        _mdatp_leaf \"$path\" || return 0\n"
"        mapfile -t COMPREPLY < <(compgen -W \"$REPLY\" -- \"$cur\")\n"
"}\n"
"\n"
"complete -F _mdatp mdatp\n";

int completion_bash(FILE *f) {
        int r;

        (void) fputs("# bash completion for mdatp. Generated by tools/cli-doc from the command "
                     "table\n# of the mdatp client; do not edit.\n\n", f);
        r = completion_function(f, "_mdatp_children", "The children of a group.",
                                completion_children_case);
        if (r < 0)
                return r;
        r = completion_function(f, "_mdatp_leaf", "What may follow a leaf: its flags and fixed "
                                "positional words.", completion_leaf_case);
        if (r < 0)
                return r;
        r = completion_function(f, "_mdatp_value", "The values of a leaf's flag (\"leaf|flag\"); "
                                "@files for file names.", completion_value_case);
        if (r < 0)
                return r;
        (void) fputs(completion_main, f);
        return 0;
}
