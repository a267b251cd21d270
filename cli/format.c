/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dates, key spelling and yajl_gen wrappers for the mdatp client (see format.h). Owns no state.
 *
 * The client never calls setlocale(), so strftime() uses the C locale: month names and AM/PM
 * stay English whatever LANG says, as scripts parsing Microsoft's output expect.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"

int format_timestamp(uint64_t usec, char *buf, size_t size) {
        struct tm tm;
        time_t t;

        t = (time_t) (usec / 1000000);
        if ((uint64_t) t != usec / 1000000)     /* a 32-bit time_t */
                return -ERANGE;
        if (!localtime_r(&t, &tm))
                return -EOVERFLOW;
        if (strftime(buf, size, "%b %d, %Y at %I:%M:%S %p", &tm) == 0)
                return -ENOBUFS;
        return 0;
}

char *format_epoch_ms(uint64_t usec, char buf[static FORMAT_EPOCH_MS_MAX]) {
        (void) snprintf(buf, FORMAT_EPOCH_MS_MAX, "%" PRIu64, usec / 1000);
        return buf;
}

int64_t format_minutes_between(uint64_t then_usec, uint64_t now_usec) {
        if (then_usec >= now_usec)
                return 0;
        return (int64_t) ((now_usec - then_usec) / (60 * UINT64_C(1000000)));
}

int format_snake_to_camel(const char *s, char **ret) {
        char *out, *p;
        bool upper = false;

        out = malloc(strlen(s) + 1);
        if (!out)
                return -ENOMEM;

        for (p = out; *s; s++) {
                if (*s == '_') {
                        /* A leading underscore or a doubled one has nothing to capitalise. */
                        upper = p != out;
                        continue;
                }
                *p++ = upper ? (char) toupper((unsigned char) *s) : *s;
                upper = false;
        }
        *p = 0;
        *ret = out;
        return 0;
}

yajl_gen format_json_new(void) {
        yajl_gen g;

        g = yajl_gen_alloc(NULL);
        if (!g)
                return NULL;
        /* Compact output, like Microsoft's client; '/' is not escaped (yajl's default). */
        (void) yajl_gen_config(g, yajl_gen_beautify, 0);
        return g;
}

int format_json_status(yajl_gen_status s) {
        /* yajl has no status for allocation failure; every other status is generator misuse:
         * keys that are not strings, unbalanced containers, output after completion. */
        return s == yajl_gen_status_ok ? 0 : -EINVAL;
}

int format_json_string(yajl_gen g, const char *s) {
        if (!s)
                return format_json_null(g);
        return format_json_status(yajl_gen_string(g, (const unsigned char *) s, strlen(s)));
}

int format_json_bool(yajl_gen g, bool b) {
        return format_json_status(yajl_gen_bool(g, b));
}

int format_json_int(yajl_gen g, int64_t i) {
        return format_json_status(yajl_gen_integer(g, (long long) i));
}

int format_json_null(yajl_gen g) {
        return format_json_status(yajl_gen_null(g));
}

int format_json_open_object(yajl_gen g) {
        return format_json_status(yajl_gen_map_open(g));
}

int format_json_close_object(yajl_gen g) {
        return format_json_status(yajl_gen_map_close(g));
}

int format_json_open_array(yajl_gen g) {
        return format_json_status(yajl_gen_array_open(g));
}

int format_json_close_array(yajl_gen g) {
        return format_json_status(yajl_gen_array_close(g));
}

int format_json_strv(yajl_gen g, char * const *l) {
        int r;

        r = format_json_open_array(g);
        if (r < 0)
                return r;
        for (char * const *i = l; i && *i; i++) {
                r = format_json_string(g, *i);
                if (r < 0)
                        return r;
        }
        return format_json_close_array(g);
}

int format_json_take(yajl_gen g, char **ret) {
        const unsigned char *buf;
        size_t len;
        char *s;
        int r;

        r = format_json_status(yajl_gen_get_buf(g, &buf, &len));
        if (r < 0)
                return r;
        s = strndup((const char *) buf, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int format_json_quote(const char *s, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = format_json_string(g, s);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}
