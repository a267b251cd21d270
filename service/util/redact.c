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
