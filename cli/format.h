/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Formatting helpers of the mdatp client: dates as the reference client prints them, epoch
 * milliseconds for JSON, key spelling, and thin wrappers around yajl_gen that turn its status
 * codes into negative errno so generation code reads like the rest of the project.
 *
 * Everything here is pure (no bus, no global state besides the process time zone).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

#include "util/macro.h"

/* "Mon DD, YYYY at hh:mm:ss AM/PM" in local time, the C locale's month names, e.g.
 * "Nov 23, 2026 at 01:02:03 PM". usec: microseconds since the epoch. */
#define FORMAT_TIMESTAMP_MAX 64
int format_timestamp(uint64_t usec, char *buf, size_t size);

/* "Mon DD YYYY at hh:mm:ss AM/PM" (no comma), as the reference `scan list` prints start times, e.g.
 * "Jan 05 2023 at 03:18:39 PM". */
int format_timestamp_scan(uint64_t usec, char *buf, size_t size);

/* A byte count for people, in powers of 1000: "512 B", "1.0 kB", "12.3 MB", "4.0 GB". */
#define FORMAT_BYTES_MAX 32
char *format_bytes(uint64_t bytes, char buf[static FORMAT_BYTES_MAX]);

/* A duration for people: "0s", "59s", "1m 05s", "2h 03m 04s". usec: microseconds. */
#define FORMAT_DURATION_MAX 48
char *format_duration(uint64_t usec, char buf[static FORMAT_DURATION_MAX]);

/* Milliseconds since the epoch as a decimal string, the JSON spelling of a date. */
#define FORMAT_EPOCH_MS_MAX 21
char *format_epoch_ms(uint64_t usec, char buf[static FORMAT_EPOCH_MS_MAX]);

/* Whole minutes from then to now (both µs since the epoch); 0 when then is in the future. */
int64_t format_minutes_between(uint64_t then_usec, uint64_t now_usec);

/* "up_to_date" -> "upToDate": the JSON spelling of a snake_case name. Caller frees. */
int format_snake_to_camel(const char *s, char **ret);

/* A compact (single line) generator; NULL on allocation failure. */
yajl_gen format_json_new(void);
DEFINE_TRIVIAL_CLEANUP_FUNC(yajl_gen, yajl_gen_free);

/* Each returns 0 or a negative errno (-ENOMEM, or -EINVAL for generator misuse, i.e. a bug). */
int format_json_status(yajl_gen_status s);
int format_json_string(yajl_gen g, const char *s);      /* NULL generates null */
int format_json_bool(yajl_gen g, bool b);
int format_json_int(yajl_gen g, int64_t i);
int format_json_null(yajl_gen g);
int format_json_open_object(yajl_gen g);
int format_json_close_object(yajl_gen g);
int format_json_open_array(yajl_gen g);
int format_json_close_array(yajl_gen g);
int format_json_strv(yajl_gen g, char * const *l);      /* ["a","b"]; NULL is [] */
/* An object member: the key, then the value. A date (µs) is an epoch-ms string, 0 gives null;
 * an unsigned count is clamped to INT64_MAX. */
int format_json_pair_string(yajl_gen g, const char *key, const char *s);
int format_json_pair_bool(yajl_gen g, const char *key, bool b);
int format_json_pair_uint(yajl_gen g, const char *key, uint64_t u);
int format_json_pair_date(yajl_gen g, const char *key, uint64_t usec);
/* The generated text as a new NUL-terminated string. Caller frees. */
int format_json_take(yajl_gen g, char **ret);
/* JSON-quotes s: "a \"b\"". Caller frees. */
int format_json_quote(const char *s, char **ret);
