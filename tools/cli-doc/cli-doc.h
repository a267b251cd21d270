/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli-doc: generates mdatp(1), mdatpd(8) and the bash completion of mdatp at build time, from
 * the command table the client dispatches on (cli_root()) and from the build's configuration.
 *
 * A leaf's flags and their values are read from its usage string, the line `--help` and usage
 * errors print, rather than from a second description in the table: the usage is what users
 * already see, a second list could disagree with it, and a new leaf gets its completion from the
 * one line its author writes anyway. usage_parse() refuses syntax it does not understand, so a
 * usage line it would misread fails the build instead of completing wrongly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/args.h"

#define USAGE_FLAGS_MAX 16
#define USAGE_VALUES_MAX 16
#define USAGE_TOKENS_MAX 64

typedef struct UsageFlag {
        const char *name;                       /* "--value" */
        bool takes_value;                       /* false: a switch (`--ignore-exclusions`) */
        bool files;                             /* its value is a file name */
        const char *values[USAGE_VALUES_MAX];   /* fixed values (`enabled|disabled`), if any */
        size_t n_values;
} UsageFlag;

typedef struct Usage {
        char *buf;                              /* the tokens point into this copy */
        UsageFlag flags[USAGE_FLAGS_MAX];
        size_t n_flags;
        const char *positionals[USAGE_VALUES_MAX];      /* fixed positional words (`threat-id`) */
        size_t n_positionals;
} Usage;

/* Parses a leaf's usage string (NULL: no arguments) into ret, which the caller frees with
 * usage_done(), also on failure. Returns 0, -EINVAL on syntax it does not understand (an
 * unclosed `<` or `[`), -E2BIG past the limits above, -ENOMEM. */
int usage_parse(const char *usage, Usage *ret);
void usage_done(Usage *u);

/* Calls f for every verb below root, depth first in table order, with its path ("config proxy
 * set") and depth (1 for root's children). Returns 0, the first negative return of f, -E2BIG
 * for a path longer than the walker's buffer. */
typedef int (*CliWalkFn)(const CliVerb *v, const char *path, int depth, void *userdata);
int cli_walk(const CliVerb *root, CliWalkFn f, void *userdata);

/* The generators; each writes one file to f and returns 0 or a negative errno. */
int man_mdatp(FILE *f);
int man_mdatpd(FILE *f, const char *polkit_policy_path);
int completion_bash(FILE *f);
