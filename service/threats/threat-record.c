/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One threat record on its own: the names of sources and statuses, the checks every field must
 * pass (whether it comes from a detection or from the file), random ids, and the reversible
 * escaping of paths that are not UTF-8.
 *
 * No state of its own; the store (threat-store.c) owns every record.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "threats/threats-internal.h"
#include "threats/threats.h"
#include "util/hexdecode.h"
#include "util/macro.h"

static const char * const threat_source_table[_THREAT_SOURCE_MAX] = {
        [THREAT_SOURCE_ON_DEMAND] = "on_demand",
        [THREAT_SOURCE_REAL_TIME] = "real_time",
        [THREAT_SOURCE_BEHAVIOR] = "behavior",
};

static const char * const threat_status_table[_THREAT_STATUS_MAX] = {
        [THREAT_STATUS_ACTIVE] = "active",
        [THREAT_STATUS_QUARANTINED] = "quarantined",
        [THREAT_STATUS_REMOVED] = "removed",
        [THREAT_STATUS_RESTORED] = "restored",
        [THREAT_STATUS_ALLOWED] = "allowed",
        [THREAT_STATUS_AUDITED] = "audited",
};

const char *threat_source_to_string(ThreatSource s) {
        if (s < 0 || s >= _THREAT_SOURCE_MAX)
                return NULL;
        return threat_source_table[s];
}

const char *threat_status_to_string(ThreatStatus s) {
        if (s < 0 || s >= _THREAT_STATUS_MAX)
                return NULL;
        return threat_status_table[s];
}

ThreatSource threat_source_from_string(const char *s) {
        if (!s)
                return _THREAT_SOURCE_INVALID;
        for (int i = 0; i < _THREAT_SOURCE_MAX; i++)
                if (streq(s, threat_source_table[i]))
                        return i;
        return _THREAT_SOURCE_INVALID;
}

ThreatStatus threat_status_from_string(const char *s) {
        if (!s)
                return _THREAT_STATUS_INVALID;
        for (int i = 0; i < _THREAT_STATUS_MAX; i++)
                if (streq(s, threat_status_table[i]))
                        return i;
        return _THREAT_STATUS_INVALID;
}

ThreatEntry *threat_entry_free(ThreatEntry *e) {
        if (!e)
                return NULL;
        free(e->threat.name);
        free(e->threat.type);
        free(e->threat.path);
        free(e->threat.member);
        for (size_t i = 0; i < e->threat.n_history; i++)
                free(e->threat.history[i].detail);
        free(e->threat.history);
        threat_json_unref(e->json);
        free(e);
        return NULL;
}

size_t threat_utf8_sequence(const unsigned char *s, size_t n) {
        uint32_t cp, min;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xE0) == 0xC0)
                len = 2, cp = s[0] & 0x1F, min = 0x80;
        else if ((s[0] & 0xF0) == 0xE0)
                len = 3, cp = s[0] & 0x0F, min = 0x800;
        else if ((s[0] & 0xF8) == 0xF0)
                len = 4, cp = s[0] & 0x07, min = 0x10000;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t k = 1; k < len; k++) {
                if ((s[k] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return len;
}

bool threat_utf8_valid(const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *) s;

        for (size_t i = 0; i < n;) {
                size_t k = threat_utf8_sequence(u + i, n - i);

                if (k == 0)
                        return false;
                i += k;
        }
        return true;
}

bool threat_id_valid(const char *s) {
        if (!s || strlen(s) != THREAT_ID_LENGTH)
                return false;
        for (size_t i = 0; i < THREAT_ID_LENGTH; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !hex_digit_is_valid(s[i]))
                        return false;
        }
        return true;
}

/* UTF-8, 1..THREAT_NAME_MAX bytes, no C0 control characters and no DEL: names go to logs and
 * terminals. */
bool threat_name_valid(const char *s) {
        size_t n;

        if (isempty(s))
                return false;
        n = strlen(s);
        if (n > THREAT_NAME_MAX || !threat_utf8_valid(s, n))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

bool threat_type_valid(const char *s) {
        size_t n;

        if (isempty(s))
                return false;
        n = strlen(s);
        if (n > THREAT_TYPE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '_'))
                        return false;
        return true;
}

bool threat_sha256_normalize(const char *s, char *out) {
        size_t n = s ? strlen(s) : 0;

        if (n != 0 && n != THREAT_SHA256_LENGTH)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!hex_digit_is_valid(s[i]))
                        return false;
                out[i] = s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i];
        }
        out[n] = '\0';
        return true;
}

int threat_detail_sanitize(const char *s, char **ret) {
        const unsigned char *u = (const unsigned char *) s;
        size_t n, out = 0;
        char *copy;

        if (!s) {
                *ret = NULL;
                return 0;
        }

        /* Each bad byte grows to three (U+FFFD); the cut below keeps the result bounded. */
        n = strnlen(s, 3 * THREAT_DETAIL_MAX + 4);
        copy = malloc(3 * n + 1);
        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < n;) {
                size_t k = threat_utf8_sequence(u + i, n - i);
                const char *bytes = k ? s + i : "\xEF\xBF\xBD";
                size_t len = k ? k : 3;

                if (out + len > THREAT_DETAIL_MAX)
                        break;
                memcpy(copy + out, bytes, len);
                out += len;
                i += k ? k : 1;
        }
        copy[out] = '\0';
        *ret = copy;
        return 0;
}

static int threat_urandom(void *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        size_t done = 0;

        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        while (done < size) {
                ssize_t n = read(fd, (char *) buf + done, size - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EIO;
                done += n;
        }
        return 0;
}

static int threat_random_bytes(void *buf, size_t size) {
        size_t done = 0;

        while (done < size) {
                ssize_t n = getrandom((char *) buf + done, size - done, GRND_NONBLOCK);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Early boot (EAGAIN) or an old kernel: ids need uniqueness, not secrecy,
                         * and the store checks that. */
                        if (errno == EAGAIN || errno == ENOSYS)
                                return threat_urandom(buf, size);
                        return negative_errno();
                }
                done += n;
        }
        return 0;
}

int threat_id_generate(char *id) {
        static const char hex[] = "0123456789abcdef";
        uint8_t b[16];
        size_t o = 0;
        int r;

        r = threat_random_bytes(b, sizeof(b));
        if (r < 0)
                return r;
        b[6] = (b[6] & 0x0F) | 0x40;    /* version 4 */
        b[8] = (b[8] & 0x3F) | 0x80;    /* RFC 4122 variant */

        for (size_t i = 0; i < sizeof(b); i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        id[o++] = '-';
                id[o++] = hex[b[i] >> 4];
                id[o++] = hex[b[i] & 0x0F];
        }
        id[o] = '\0';
        return 0;
}

int threat_path_escape(const char *path, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        const unsigned char *u = (const unsigned char *) path;
        size_t n = strlen(path), o = 0;
        char *e;

        if (threat_utf8_valid(path, n)) {
                e = strdup(path);
                if (!e)
                        return -ENOMEM;
                *ret = e;
                return 0;
        }

        e = malloc(3 * n + 1);
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n;) {
                size_t k = threat_utf8_sequence(u + i, n - i);

                if (k == 0 || u[i] == '%') {
                        e[o++] = '%';
                        e[o++] = hex[u[i] >> 4];
                        e[o++] = hex[u[i] & 0x0F];
                        i++;
                } else {
                        memcpy(e + o, u + i, k);
                        o += k;
                        i += k;
                }
        }
        e[o] = '\0';
        *ret = e;
        return 1;
}

int threat_path_unescape(const char *s, char **ret) {
        return percent_unescape(s, ret);
}
