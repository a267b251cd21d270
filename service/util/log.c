/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log output. Owns the current level, the choice of sink (journald or stderr) and the ring of
 * recent lines that diagnostic bundles include. Called from the main thread and from worker
 * threads (scans, updates); threads that must never block (the fanotify reader) do not log
 * through here. The ring has its own lock, held only for a bounded copy, so a logging thread
 * never waits on anything but another copy.
 */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "util/log.h"
#include "util/redact.h"

static LogLevel log_level = LOG_LEVEL_INFO;
static bool log_to_journal = false;

/* The ring: fixed slots, so recording a line allocates nothing and the memory is bounded
 * (LOG_RING_LINES * LOG_RING_LINE_MAX) whatever is logged. */
static struct {
        pthread_mutex_t lock;
        char lines[LOG_RING_LINES][LOG_RING_LINE_MAX];
        size_t next;            /* slot the next line goes to */
        size_t n;               /* slots in use, up to LOG_RING_LINES */
} log_ring = { .lock = PTHREAD_MUTEX_INITIALIZER };

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

/* Records one formatted message in the ring, with the wall-clock time and the level; a message
 * longer than a slot is cut. */
static void log_ring_push(LogLevel level, const char *message) {
        struct timespec ts = {};
        struct tm tm = {};
        char stamp[32];

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        if (!gmtime_r(&ts.tv_sec, &tm) ||
            strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                stamp[0] = '\0';

        pthread_mutex_lock(&log_ring.lock);
        /* Cutting a long message is intended; the return value is checked for errors only. */
        if (snprintf(log_ring.lines[log_ring.next], LOG_RING_LINE_MAX, "%s.%06ldZ %s: %s",
                     stamp, ts.tv_nsec / 1000, log_level_names[level], message) < 0)
                log_ring.lines[log_ring.next][0] = '\0';
        log_ring.next = (log_ring.next + 1) % LOG_RING_LINES;
        if (log_ring.n < LOG_RING_LINES)
                log_ring.n++;
        pthread_mutex_unlock(&log_ring.lock);
}

int log_ring_dump(char **ret, size_t *ret_size) {
        size_t size = 0, first;
        char *buf, *p;

        /* Allocate for the worst case first, so the lock is never held across malloc. */
        buf = malloc(LOG_RING_LINES * LOG_RING_LINE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        p = buf;
        pthread_mutex_lock(&log_ring.lock);
        first = (log_ring.next + LOG_RING_LINES - log_ring.n) % LOG_RING_LINES;
        for (size_t i = 0; i < log_ring.n; i++) {
                const char *line = log_ring.lines[(first + i) % LOG_RING_LINES];
                size_t len = strnlen(line, LOG_RING_LINE_MAX - 1);

                memcpy(p, line, len);
                p[len] = '\n';
                p += len + 1;
        }
        pthread_mutex_unlock(&log_ring.lock);
        size = p - buf;
        *p = '\0';
        *ret = buf;
        if (ret_size)
                *ret_size = size;
        return 0;
}

void log_ring_clear(void) {
        pthread_mutex_lock(&log_ring.lock);
        log_ring.n = 0;
        log_ring.next = 0;
        pthread_mutex_unlock(&log_ring.lock);
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

        /* A URL in a line (an update mirror, a proxy) may carry a password or a signed token:
         * the journal and the ring (which support bundles carry away) get it without them. */
        if (strstr(buf, "://")) {
                char *redacted = NULL;

                if (redact_url_secrets(buf, &redacted) < 0)
                        (void) snprintf(buf, sizeof(buf), "(a line holding a URL was dropped: "
                                        "out of memory while redacting it)");
                else if (redacted) {
                        (void) snprintf(buf, sizeof(buf), "%s", redacted);
                        free(redacted);
                }
        }

        log_ring_push(level, buf);

        if (log_to_journal) {
                char code_file[PATH_MAX + 16], code_line[32];

                /* The caller's location, once: sd_journal_send() would add this file's own
                 * CODE_* fields beside ours. */
                (void) snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", file);
                (void) snprintf(code_line, sizeof(code_line), "CODE_LINE=%i", line);
                (void) sd_journal_send_with_location(code_file, code_line, func,
                                                     "MESSAGE=%s", buf,
                                                     "PRIORITY=%i", log_level_priority[level],
                                                     "SYSLOG_IDENTIFIER=mdatpd",
                                                     error != 0 ? "ERRNO=%i" : NULL, abs(error),
                                                     NULL);
        } else
                (void) fprintf(stderr, "mdatpd[%s]: %s\n", log_level_names[level], buf);

        return error < 0 ? error : -abs(error);
}
