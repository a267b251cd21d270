/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * URL credential redaction. Stateless: owns nothing beyond the copy it returns.
 *
 * A URL's authority runs from "://" to the next '/', '?', '#', whitespace, quote or end; when it
 * holds an '@', everything before the last '@' is user information (RFC 3986 allows '@' only
 * there, but a password typed by hand may contain one, hence the last). Scheme characters before
 * "://" are not checked: a false positive only hides text, a false negative leaks a password.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/redact.h"

#define REDACTED "***"

static bool authority_end(char c) {
        return c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '\\' ||
               c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0' || c == '<' ||
               c == '>' || c == ',';
}

int redact_url_credentials(const char *data, size_t size, char **ret, size_t *ret_size) {
        size_t i = 0, o = 0;
        int n = 0;
        char *out;

        /* Each redaction needs "://" plus at least one byte of user information (4 bytes) and
         * writes at most 2 more than it replaces: twice the input always fits. */
        if (size > (SIZE_MAX - 1) / 2)
                return -ENOMEM;
        out = malloc(size * 2 + 1);
        if (!out)
                return -ENOMEM;
        while (i < size) {
                size_t start, end, at = 0;

                if (i + 3 > size || memcmp(data + i, "://", 3) != 0) {
                        out[o++] = data[i++];
                        continue;
                }
                memcpy(out + o, "://", 3);
                o += 3;
                start = i += 3;
                for (end = start; end < size && !authority_end(data[end]); end++)
                        if (data[end] == '@')
                                at = end;
                if (at > start) {
                        memcpy(out + o, REDACTED, strlen(REDACTED));
                        o += strlen(REDACTED);
                        i = at;         /* the '@' and the host follow as they are */
                        n++;
                }
        }
        out[o] = '\0';
        *ret = out;
        if (ret_size)
                *ret_size = o;
        return n;
}

static bool query_end(char c) {
        return c == '#' || c == '"' || c == '\'' || c == '\\' || c == ' ' || c == '\t' ||
               c == '\n' || c == '\r' || c == '\0' || c == '<' || c == '>';
}

/* Replaces the query of every URL in s with "***"; returns the count, or -ENOMEM. */
static int redact_url_queries(const char *s, char **ret) {
        size_t size = strlen(s), o = 0;
        char *out;
        int n = 0;

        /* A query is at least one byte and becomes three: three times the input always fits. */
        if (size > (SIZE_MAX - 1) / 3)
                return -ENOMEM;
        out = malloc(size * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < size;) {
                if (i + 3 > size || memcmp(s + i, "://", 3) != 0) {
                        out[o++] = s[i++];
                        continue;
                }
                /* Copy the authority and the path, up to a '?' that starts the query. */
                for (; i < size && !query_end(s[i]) && s[i] != '?' && s[i] != ','; i++)
                        out[o++] = s[i];
                if (i < size && s[i] == '?' && i + 1 < size && !query_end(s[i + 1])) {
                        out[o++] = '?';
                        memcpy(out + o, REDACTED, strlen(REDACTED));
                        o += strlen(REDACTED);
                        for (i++; i < size && !query_end(s[i]); i++)
                                ;
                        n++;
                }
        }
        out[o] = '\0';
        *ret = out;
        return n;
}

int redact_url_secrets(const char *text, char **ret) {
        _cleanup_free_ char *step = NULL;
        int n, k;

        n = redact_url_credentials(text, strlen(text), &step, NULL);
        if (n < 0)
                return n;
        k = redact_url_queries(step, ret);
        if (k < 0)
                return k;
        return n + k;
}
