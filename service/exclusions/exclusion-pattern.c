/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exclusion values on their own: normalising path patterns, glob matching of one path component
 * or one process name, the extension an excludedFileExtension value means, and the validation
 * of one exclusion as users enter it (exclusion_validate()).
 *
 * Pure functions: owns no state, never touches the filesystem, never logs.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exclusions/exclusions-internal.h"
#include "exclusions/exclusions.h"
#include "util/macro.h"

/* Bytes of the UTF-8 character at t[0..n), or 1 where t does not start a valid one. */
static size_t utf8_char_len(const char *t, size_t n) {
        unsigned char c = (unsigned char) t[0];
        size_t len;

        if (c < 0xc2)
                return 1;       /* ASCII, a stray continuation byte, or an overlong lead */
        else if (c < 0xe0)
                len = 2;
        else if (c < 0xf0)
                len = 3;
        else if (c < 0xf5)
                len = 4;
        else
                return 1;

        if (len > n)
                return 1;
        for (size_t i = 1; i < len; i++)
                if (((unsigned char) t[i] & 0xc0) != 0x80)
                        return 1;
        return len;
}

/* Iterative glob with one backtracking point (the last '*' seen): linear in practice, at worst
 * O(pn * tn). The text position only ever moves by whole characters, so '?' cannot count the
 * tail of a multi-byte character as a character of its own. */
bool excl_glob(const char *pattern, size_t pn, const char *text, size_t tn) {
        size_t p = 0, t = 0, star_p = SIZE_MAX, star_t = 0;

        while (t < tn) {
                if (p < pn && pattern[p] == '*') {
                        star_p = ++p;
                        star_t = t;
                } else if (p < pn && pattern[p] == '?') {
                        p++;
                        t += utf8_char_len(text + t, tn - t);
                } else if (p < pn && pattern[p] == text[t]) {
                        p++;
                        t++;
                } else if (star_p != SIZE_MAX) {
                        /* Let the last '*' take one more character and retry from there. */
                        star_t += utf8_char_len(text + star_t, tn - star_t);
                        p = star_p;
                        t = star_t;
                } else
                        return false;
        }
        while (p < pn && pattern[p] == '*')
                p++;
        return p == pn;
}

int excl_path_normalize(const char *value, bool allow_leading_wildcard, char **ret,
                        bool *ret_folder) {
        _cleanup_free_ char *out = NULL;
        const char *s, *last;
        size_t n = 1;
        bool folder;

        if (isempty(value))
                return -EINVAL;
        if (value[0] != '/' && !(allow_leading_wildcard && (value[0] == '*' || value[0] == '?')))
                return -EINVAL;

        out = malloc(strlen(value) + 2);
        if (!out)
                return -ENOMEM;
        out[0] = '/';

        /* Walk the components; a leading wildcard starts the first one. */
        last = value;
        for (s = value;;) {
                const char *end;
                size_t len;

                while (*s == '/')
                        s++;
                if (!*s)
                        break;
                end = strchrnul(s, '/');
                len = (size_t) (end - s);
                last = s;

                if (len == 1 && s[0] == '.')
                        ;
                else if (len == 2 && s[0] == '.' && s[1] == '.') {
                        /* Drop the last component of out, never the root. */
                        while (n > 1 && out[n - 1] != '/')
                                n--;
                        if (n > 1)
                                n--;
                } else {
                        if (n > 1)
                                out[n++] = '/';
                        memcpy(out + n, s, len);
                        n += len;
                }
                s = end;
        }
        out[n] = '\0';

        /* A directory by its form: a trailing '/', a last "." or "..", or the root itself. */
        folder = n == 1 || value[strlen(value) - 1] == '/' || streq(last, ".") ||
                 streq(last, "..");

        *ret = TAKE_PTR(out);
        *ret_folder = folder;
        return 0;
}

const char *excl_extension_key(const char *value) {
        if (!value)
                return NULL;
        if (value[0] == '.')
                value++;
        if (isempty(value) || strchr(value, '/'))
                return NULL;
        return value;
}

/* Sets *ret_message (if wanted) to the formatted text; returns -EINVAL, or -ENOMEM. */
_printf_(2, 3) static int invalid(char **ret_message, const char *format, ...) {
        va_list ap;
        int r;

        if (!ret_message)
                return -EINVAL;
        va_start(ap, format);
        r = vasprintf(ret_message, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret_message = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

int exclusion_validate(const SettingExclusion *e, char **ret_message) {
        const unsigned known = EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL;
        const char *what;
        bool global, wild;

        if (!e || !e->type)
                return invalid(ret_message, "The exclusion has no type");
        if (streq(e->type, "excludedPath"))
                what = "path";
        else if (streq(e->type, "excludedFileExtension"))
                what = "extension";
        else if (streq(e->type, "excludedFileName"))
                what = "process name";
        else
                return invalid(ret_message,
                               "'%s' is not an exclusion type (excludedPath, "
                               "excludedFileExtension, excludedFileName)", e->type);

        if (e->scopes == 0 || (e->scopes & ~known))
                return invalid(ret_message, "The scopes of an exclusion must be epp, global or "
                               "both");
        if (isempty(e->value))
                return invalid(ret_message, "The %s of the exclusion is empty", what);
        if (strlen(e->value) >= PATH_MAX)
                return invalid(ret_message, "The %s of the exclusion is longer than %d bytes",
                               what, PATH_MAX - 1);
        for (const char *p = e->value; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return invalid(ret_message, "The %s of the exclusion contains control "
                                       "characters", what);

        global = e->scopes & EXCLUSION_SCOPE_GLOBAL;
        wild = excl_has_wildcard(e->value);

        if (streq(e->type, "excludedFileExtension")) {
                if (global)
                        return invalid(ret_message, "File extension exclusions are not "
                                       "supported in the global scope");
                if (!excl_extension_key(e->value))
                        return invalid(ret_message, "'%s' is not a file extension", e->value);
                return 0;
        }

        if (global && wild)
                return invalid(ret_message, "'%s': wildcards are not supported in the global "
                               "scope", e->value);

        if (streq(e->type, "excludedPath")) {
                if (e->value[0] != '/' && !wild)
                        return invalid(ret_message, "'%s' is not an absolute path", e->value);
                if (e->value[0] != '/' && e->value[0] != '*' && e->value[0] != '?')
                        return invalid(ret_message, "'%s' is neither an absolute path nor one "
                                       "that starts with a wildcard", e->value);
                return 0;
        }

        /* excludedFileName */
        if (e->value[0] == '/')
                return 0;
        if (strchr(e->value, '/'))
                return invalid(ret_message, "'%s' is neither a process name nor the full path "
                               "of an executable", e->value);
        if (global)
                return invalid(ret_message, "'%s': process exclusions in the global scope need "
                               "the full path of the executable", e->value);
        return 0;
}
