/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dates, key spelling and yajl_gen wrappers for the mdatp client (see format.h). Owns no state.
 *
 * The client never calls setlocale(), so strftime() uses the C locale: month names and AM/PM
 * stay English whatever LANG says, as scripts parsing the reference client's output expect.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "util/macro.h"

/* usec in local time as "Mon DD, YYYY at hh:mm:ss AM/PM", without the comma unless comma. */
static int format_local_time(uint64_t usec, bool comma, char *buf, size_t size) {
        struct tm tm;
        size_t n;
        time_t t;

        t = (time_t) (usec / 1000000);
        if ((uint64_t) t != usec / 1000000)     /* a 32-bit time_t */
                return -ERANGE;
        if (!localtime_r(&t, &tm))
                return -EOVERFLOW;
        /* Literal formats, so that the compiler checks them. */
        if (comma)
                n = strftime(buf, size, "%b %d, %Y at %I:%M:%S %p", &tm);
        else
                n = strftime(buf, size, "%b %d %Y at %I:%M:%S %p", &tm);
        return n == 0 ? -ENOBUFS : 0;
}

int format_timestamp(uint64_t usec, char *buf, size_t size) {
        return format_local_time(usec, true, buf, size);
}

int format_timestamp_scan(uint64_t usec, char *buf, size_t size) {
        return format_local_time(usec, false, buf, size);
}

char *format_bytes(uint64_t bytes, char buf[static FORMAT_BYTES_MAX]) {
        static const char * const units[] = { "kB", "MB", "GB", "TB", "PB", "EB" };
        uint64_t tenth = 100;   /* bytes in a tenth of the unit */

        if (bytes < 1000) {
                (void) snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 " B", bytes);
                return buf;
        }
        /* The smallest unit that keeps the rounded value below 1000.0, so that 999999 bytes
         * read "1.0 MB" rather than "1000.0 kB". */
        for (size_t u = 0;; u++, tenth *= 1000) {
                uint64_t tenths = bytes / tenth + (bytes % tenth >= tenth / 2);

                if (tenths < 10000 || u + 1 == ELEMENTSOF(units)) {
                        (void) snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 ".%" PRIu64 " %s",
                                        tenths / 10, tenths % 10, units[u]);
                        return buf;
                }
        }
}

char *format_duration(uint64_t usec, char buf[static FORMAT_DURATION_MAX]) {
        uint64_t s = usec / 1000000;

        if (s < 60)
                (void) snprintf(buf, FORMAT_DURATION_MAX, "%" PRIu64 "s", s);
        else if (s < 3600)
                (void) snprintf(buf, FORMAT_DURATION_MAX, "%" PRIu64 "m %02" PRIu64 "s", s / 60,
                                s % 60);
        else
                (void) snprintf(buf, FORMAT_DURATION_MAX, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64
                                "s", s / 3600, s / 60 % 60, s % 60);
        return buf;
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
        /* Compact output, like the reference client; '/' is not escaped (yajl's default). */
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

int format_json_pair_string(yajl_gen g, const char *key, const char *s) {
        int r;

        r = format_json_string(g, key);
        if (r < 0)
                return r;
        return format_json_string(g, s);
}

int format_json_pair_bool(yajl_gen g, const char *key, bool b) {
        int r;

        r = format_json_string(g, key);
        if (r < 0)
                return r;
        return format_json_bool(g, b);
}

int format_json_pair_uint(yajl_gen g, const char *key, uint64_t u) {
        int r;

        r = format_json_string(g, key);
        if (r < 0)
                return r;
        return format_json_int(g, u > INT64_MAX ? INT64_MAX : (int64_t) u);
}

int format_json_pair_date(yajl_gen g, const char *key, uint64_t usec) {
        char buf[FORMAT_EPOCH_MS_MAX];
        int r;

        r = format_json_string(g, key);
        if (r < 0)
                return r;
        if (usec == 0)
                return format_json_null(g);
        return format_json_string(g, format_epoch_ms(usec, buf));
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
