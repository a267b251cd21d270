/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hex digits and percent-escapes, as the state files write them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
int hex_digit_value(char c);
static inline bool hex_digit_is_valid(char c) {
        return hex_digit_value(c) >= 0;
}

/* Decodes 2 * n hex digits of s into ret[0..n); -EINVAL on anything else (ret may then be
 * partly written). */
int hex_decode(const char *s, size_t n, uint8_t *ret);

/* Undoes a percent-escape: every "%XY" (either case) becomes that byte; other bytes are kept.
 * -EINVAL on a '%' not followed by two hex digits, or on "%00" (no NUL inside a C string);
 * -ENOMEM. */
int percent_unescape(const char *s, char **ret);
