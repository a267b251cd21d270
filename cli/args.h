/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command-line structure of mdatp: a tree of verbs (groups such as `config`, leaves such as
 * `config cloud`), the dispatcher that walks it, the flag parser every leaf uses, and the
 * global/legacy argument rewriting done before dispatch.
 *
 * Usage errors are reported here with exit status 2: the message, then the usage of the group
 * (`Expected one of:` and `name<TAB>description` lines) or of the leaf.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/macro.h"

typedef struct CliVerb CliVerb;
typedef struct CliInvocation CliInvocation;

/* A leaf's handler: returns 0, or a negative errno after reporting the failure. */
typedef int (*CliVerbRun)(const CliInvocation *inv);

struct CliVerb {
        const char *name;
        const char *description;        /* one line, for `Expected one of:` */
        const char *usage;              /* leaf: its arguments, e.g. "--value enabled|disabled" */
        CliVerbRun run;                 /* leaf handler; NULL for a group */
        const CliVerb *children;        /* group: its verbs, ended by an entry without name */
        const void *userdata;           /* for the handler, e.g. a row of a table */
};

struct CliInvocation {
        const CliVerb *verb;
        const char *command;            /* "mdatp config cloud", for messages */
        int argc;                       /* the arguments after the verb's name */
        char **argv;
        bool json;                      /* --output json was given */
};

/* One flag of a leaf. A flag takes a value, as `--name value` or `--name=value`, unless it is a
 * switch (`--ignore-exclusions`). A flag may be given once, unless values is set. */
typedef struct CliFlag {
        const char *name;               /* "--value"; NULL for the one positional argument */
        bool required;
        bool is_switch;                 /* takes no value; value is "true" when given */
        const char **values;            /* repeatable: the caller's array with room for inv->argc
                                         * entries, filled in command-line order */
        size_t n_values;                /* out: entries filled in values */
        const char *value;              /* out: the value given (the last one), NULL when absent */
} CliFlag;

/* Parses inv's arguments into flags[]. Returns 0; 1 when --help was given (the leaf's usage is
 * printed on stdout: the caller returns 0); or -EINVAL after reporting a usage error (unknown or
 * repeated flag, missing value, a value given to a switch, unexpected or missing argument). */
int args_parse(const CliInvocation *inv, CliFlag *flags, size_t n_flags);

/* Reports a usage error for inv: the message, then the leaf's usage line. Returns -EINVAL. */
int args_usage_error(const CliInvocation *inv, const char *format, ...) _printf_(2, 3);
/* Reports "Invalid value 'v' for what: expected one of a, b" (one line, exit 2); -EINVAL. */
int args_invalid_value(const char *value, const char *what, const char * const *allowed);
/* Index of value in the NULL-terminated allowed[], or -EINVAL. Matching is exact. */
int args_lookup(const char * const *allowed, const char *value);

/* `name<TAB>description` for each child of group. */
void args_print_children(FILE *f, const CliVerb *group);

/* Removes every `--output json` / `--output=json` from argv (argc and argv are updated in place)
 * and tells whether one was there. Any other value of --output is a usage error (-EINVAL). */
int args_extract_output(int *argc, char **argv, bool *ret_json);

/* Maps the pre-2020 syntax onto today's: `--health` -> `health`, `--health FIELD` ->
 * `health --field FIELD`, `--version` -> `version`. *ret_argv is a new array (free() it; the
 * strings stay argv's). Returns 0, or -ENOMEM. */
int args_rewrite_legacy(int argc, char **argv, int *ret_argc, char ***ret_argv);

/* The root of mdatp's command tree (root.c): every group and leaf the client knows, for the
 * dispatcher and for the generators of the man page and the shell completion. */
const CliVerb *cli_root(void);

/* Walks root with argv (without the program name) and runs the leaf it names. A missing or
 * unknown subcommand is a usage error; `--help` on a group prints its children on stdout. */
int args_dispatch(const CliVerb *root, int argc, char **argv, bool json);
