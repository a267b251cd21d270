/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for the daemon: to journald with structured fields when stderr is connected to the
 * journal (JOURNAL_STREAM), plain lines on stderr otherwise. The level is the product's
 * (error, warning, info, verbose, debug) and can be changed at run time.
 *
 * log_*_errno(r, ...) log and return r (negative), so callers can write
 * `return log_error_errno(r, "Failed to …: %m");` — %m prints strerror(-r).
 *
 * Every message that is logged also lands in a bounded in-memory ring of recent lines, whatever
 * the sink, so that a diagnostic bundle carries the daemon's recent log under systemd and
 * outside it alike. The ring is safe to use from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

typedef enum LogLevel {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_INFO,
        LOG_LEVEL_VERBOSE,
        LOG_LEVEL_DEBUG,
        _LOG_LEVEL_MAX,
        _LOG_LEVEL_INVALID = -EINVAL,
} LogLevel;

const char *log_level_to_string(LogLevel l);
LogLevel log_level_from_string(const char *s);

void log_set_level(LogLevel l);
LogLevel log_get_level(void);
/* Decides journald or stderr; call once at start-up. */
void log_open(void);

int log_internal(LogLevel level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) log_full_errno((level), 0, __VA_ARGS__)

#define log_error(...) log_full(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_full(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_verbose(...) log_full(LOG_LEVEL_VERBOSE, __VA_ARGS__)
#define log_debug(...) log_full(LOG_LEVEL_DEBUG, __VA_ARGS__)

#define log_error_errno(error, ...) log_full_errno(LOG_LEVEL_ERROR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_LEVEL_WARNING, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_LEVEL_INFO, (error), __VA_ARGS__)
#define log_debug_errno(error, ...) log_full_errno(LOG_LEVEL_DEBUG, (error), __VA_ARGS__)

/* The ring of recent lines: at most LOG_RING_LINES lines of LOG_RING_LINE_MAX - 1 bytes each
 * (longer messages are cut), oldest dropped first. */
#define LOG_RING_LINES 400
#define LOG_RING_LINE_MAX 512
/* A copy of the ring, oldest line first, one "<UTC time> <level>: <message>\n" per line,
 * NUL-terminated; *ret_size (may be NULL) excludes the NUL. Caller frees. */
int log_ring_dump(char **ret, size_t *ret_size);
/* Empties the ring (for tests). */
void log_ring_clear(void);

/* For OOM on paths that cannot do anything better. */
#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
