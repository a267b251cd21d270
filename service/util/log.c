/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log output. Owns the current level and the choice of sink (journald or stderr). Called from
 * the main thread; worker threads that must never block (the fanotify reader) do not log
 * through here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-journal.h>

#include "util/log.h"

static LogLevel log_level = LOG_LEVEL_INFO;
static bool log_to_journal = false;

static const char * const log_level_names[_LOG_LEVEL_MAX] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_VERBOSE] = "verbose",
        [LOG_LEVEL_DEBUG] = "debug",
};

static const int log_level_priority[_LOG_LEVEL_MAX] = {
        [LOG_LEVEL_ERROR] = LOG_ERR,
        [LOG_LEVEL_WARNING] = LOG_WARNING,
        [LOG_LEVEL_INFO] = LOG_INFO,
        [LOG_LEVEL_VERBOSE] = LOG_INFO,
        [LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

const char *log_level_to_string(LogLevel l) {
        if (l < 0 || l >= _LOG_LEVEL_MAX)
                return NULL;
        return log_level_names[l];
}

LogLevel log_level_from_string(const char *s) {
        if (!s)
                return _LOG_LEVEL_INVALID;
        for (LogLevel l = 0; l < _LOG_LEVEL_MAX; l++)
                if (streq(s, log_level_names[l]))
                        return l;
        return _LOG_LEVEL_INVALID;
}

void log_set_level(LogLevel l) {
        if (l >= 0 && l < _LOG_LEVEL_MAX)
                log_level = l;
}

LogLevel log_get_level(void) {
        return log_level;
}

void log_open(void) {
        /* systemd sets JOURNAL_STREAM when stderr is a journal stream; only then are structured
         * records worth sending, otherwise a terminal or a test harness reads stderr. */
        log_to_journal = getenv("JOURNAL_STREAM") != NULL;
}

int log_internal(LogLevel level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char buf[2048];
        va_list ap;

        if (level > log_level)
                return error < 0 ? error : -abs(error);

        /* %m must print the error we were handed, not whatever errno happens to hold. */
        if (error != 0)
                errno = abs(error);

        va_start(ap, format);
        (void) vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (log_to_journal)
                (void) sd_journal_send("MESSAGE=%s", buf,
                                       "PRIORITY=%i", log_level_priority[level],
                                       "CODE_FILE=%s", file,
                                       "CODE_LINE=%i", line,
                                       "CODE_FUNC=%s", func,
                                       "SYSLOG_IDENTIFIER=mdatpd",
                                       error != 0 ? "ERRNO=%i" : NULL, abs(error),
                                       NULL);
        else
                (void) fprintf(stderr, "mdatpd[%s]: %s\n", log_level_names[level], buf);

        return error < 0 ? error : -abs(error);
}
