/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NULL-terminated string vectors ("strv"): small helpers over char **, which own their strings.
 * A NULL vector is a valid empty one everywhere. No state of its own.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strv.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

bool strv_contains(char * const *l, const char *s) {
        if (!l)
                return false;
        for (char * const *i = l; *i; i++)
                if (streq(*i, s))
                        return true;
        return false;
}

int strv_consume(char ***l, char *s) {
        size_t n;
        char **c;

        if (!s)
                return -ENOMEM; /* strv_consume(&l, strdup(x)) passes the strdup failure on */

        n = strv_length(*l);
        c = reallocarray(*l, n + 2, sizeof(char *));
        if (!c) {
                free(s);
                return -ENOMEM;
        }
        c[n] = s;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

char **strv_copy(char * const *l) {
        size_t n = strv_length(l);
        char **c;

        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return strv_free(c);
        }
        return c;
}

bool strv_equal(char * const *a, char * const *b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

char *strv_join(char * const *l, const char *separator) {
        size_t n = strv_length(l), sep = strlen(separator), total = 1;
        char *s, *p;

        for (size_t i = 0; i < n; i++)
                total += strlen(l[i]) + (i > 0 ? sep : 0);

        s = malloc(total);
        if (!s)
                return NULL;
        p = s;
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        p = mempcpy(p, separator, sep);
                p = stpcpy(p, l[i]);
        }
        *p = '\0';
        return s;
}

int strv_split_paths(const char *value, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = strdup(value);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
                if (p[0] == '/' && strv_extend(&l, p) < 0)
                        return -ENOMEM;
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}
