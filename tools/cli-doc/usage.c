/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading a leaf's usage string into flags and values, and walking the command tree (see
 * cli-doc.h). Owns no state beyond the Usage it fills.
 *
 * The grammar is the one the tables use: `--flag VALUE`, `[ ... ]` around what is optional,
 * `a|b|c` for fixed values, `<words>` and UPPERCASE for placeholders, a lone `|` between
 * alternative forms, `...` for repetition, and bare lowercase words for fixed positional values.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli-doc.h"
#include "util/macro.h"

#define CLI_WALK_PATH_MAX 256

void usage_done(Usage *u) {
        u->buf = mfree(u->buf);
}

/* Splits buf into tokens in place: brackets separate and are dropped, `<...>` is one token even
 * with spaces in it. Returns the number of tokens, or -EINVAL / -E2BIG. */
static int usage_tokenize(char *buf, char **tokens) {
        int n = 0, depth = 0;
        char *p = buf;

        for (;;) {
                while (*p == ' ' || *p == '[' || *p == ']') {
                        depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
                        *p++ = 0;
                }
                if (!*p)
                        break;
                if (n >= USAGE_TOKENS_MAX)
                        return -E2BIG;
                tokens[n++] = p;
                if (*p == '<') {
                        p = strchr(p, '>');
                        if (!p)
                                return -EINVAL;
                        p++;
                } else
                        p += strcspn(p, " []");
        }
        return depth == 0 ? n : -EINVAL;
}

/* Whether t names a placeholder rather than fixed values: `<...>`, `N`, `DIR`, or anything that
 * is not a list of lowercase words (`http://host:port`). */
static bool usage_is_placeholder(const char *t) {
        bool lower = false;

        if (t[0] == '<')
                return true;
        for (const char *p = t; *p; p++) {
                if (islower((unsigned char) *p))
                        lower = true;
                else if (!isdigit((unsigned char) *p) && !strchr("-_.|", *p))
                        return true;
        }
        return !lower;
}

/* Whether a value named by placeholder t of flag is a file name. */
static bool usage_is_file(const char *flag, const char *t) {
        static const char * const hints[] = { "path", "file", "dir", "folder", "executable" };

        if (flag && (streq(flag, "--path") || streq(flag, "--destination-path")))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(hints); i++)
                if (strcasestr(t, hints[i]))
                        return true;
        return false;
}

/* Adds the words of `a|b|c` (split in place) to values[], skipping those already there. */
static int usage_add_values(char *t, const char **values, size_t *n) {
        char *state = NULL;

        for (char *w = strtok_r(t, "|", &state); w; w = strtok_r(NULL, "|", &state)) {
                bool seen = false;

                for (size_t i = 0; i < *n && !seen; i++)
                        seen = streq(values[i], w);
                if (seen)
                        continue;
                if (*n >= USAGE_VALUES_MAX)
                        return -E2BIG;
                values[(*n)++] = w;
        }
        return 0;
}

/* The flag called name in u, added when new; NULL past the limit. */
static UsageFlag *usage_flag(Usage *u, const char *name) {
        for (size_t i = 0; i < u->n_flags; i++)
                if (streq(u->flags[i].name, name))
                        return &u->flags[i];
        if (u->n_flags >= USAGE_FLAGS_MAX)
                return NULL;
        u->flags[u->n_flags] = (UsageFlag) { .name = name };
        return &u->flags[u->n_flags++];
}

/* Takes token t as the value of flag f, or as a positional word when f is NULL. */
static int usage_add_value(Usage *u, UsageFlag *f, char *t) {
        if (!f)
                return usage_is_placeholder(t) ? 0 :
                        usage_add_values(t, u->positionals, &u->n_positionals);
        f->takes_value = true;
        if (usage_is_placeholder(t)) {
                f->files = f->files || usage_is_file(f->name, t);
                return 0;
        }
        return usage_add_values(t, f->values, &f->n_values);
}

int usage_parse(const char *usage, Usage *ret) {
        char *tokens[USAGE_TOKENS_MAX];
        UsageFlag *pending = NULL;
        int n, r;

        *ret = (Usage) {};
        if (!usage)
                return 0;
        ret->buf = strdup(usage);
        if (!ret->buf)
                return -ENOMEM;
        n = usage_tokenize(ret->buf, tokens);
        if (n < 0)
                return n;

        for (int i = 0; i < n; i++) {
                char *t = tokens[i];

                if (streq(t, "|") || streq(t, "...")) {
                        pending = NULL;
                        continue;
                }
                if (strneq(t, "--", 2)) {
                        pending = usage_flag(ret, t);
                        if (!pending)
                                return -E2BIG;
                        continue;
                }
                r = usage_add_value(ret, pending, t);
                if (r < 0)
                        return r;
                pending = NULL;
        }
        return 0;
}

/* Walks the children of v; path holds v's path, of length len. */
static int cli_walk_children(const CliVerb *v, char *path, size_t len, int depth, CliWalkFn f,
                             void *userdata) {
        for (const CliVerb *c = v->children; c && c->name; c++) {
                int r, k;

                k = snprintf(path + len, CLI_WALK_PATH_MAX - len, "%s%s", len > 0 ? " " : "",
                             c->name);
                if (k < 0 || (size_t) k >= CLI_WALK_PATH_MAX - len)
                        return -E2BIG;
                r = f(c, path, depth, userdata);
                if (r < 0)
                        return r;
                r = cli_walk_children(c, path, len + (size_t) k, depth + 1, f, userdata);
                if (r < 0)
                        return r;
                path[len] = 0;
        }
        return 0;
}

int cli_walk(const CliVerb *root, CliWalkFn f, void *userdata) {
        char path[CLI_WALK_PATH_MAX] = "";

        return cli_walk_children(root, path, 0, 1, f, userdata);
}
