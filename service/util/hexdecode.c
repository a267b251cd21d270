/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hex and percent decoding shared by the modules that keep hashes, keys and escaped paths in
 * their state files (threats, quarantine, definitions). No state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hexdecode.h"
#include "util/macro.h"

int hex_digit_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int hex_decode(const char *s, size_t n, uint8_t *ret) {
        for (size_t i = 0; i < n; i++) {
                /* s[2i + 1] is read only when s[2i] is a digit, so not past a terminator. */
                int hi = hex_digit_value(s[2 * i]), lo = hi < 0 ? -1 : hex_digit_value(s[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                ret[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

int percent_unescape(const char *s, char **ret) {
        size_t n = strlen(s), o = 0;
        _cleanup_free_ char *d = malloc(n + 1);

        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;

                if (s[i] != '%') {
                        d[o++] = s[i];
                        continue;
                }
                /* s is NUL-terminated and NUL is no hex digit: s[i + 2] is read only when
                 * s[i + 1] is not the terminator. */
                hi = hex_digit_value(s[i + 1]);
                lo = hi < 0 ? -1 : hex_digit_value(s[i + 2]);
                if (hi < 0 || lo < 0 || (hi | lo) == 0)
                        return -EINVAL;
                d[o++] = (char) (hi << 4 | lo);
                i += 2;
        }
        d[o] = '\0';
        *ret = TAKE_PTR(d);
        return 0;
}
