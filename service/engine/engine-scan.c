/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scanners: one per worker thread. Reads the fd it is handed with pread() into its own buffer,
 * hashes what it reads, runs YARA over that memory, hands archives to engine-archive.c, and turns
 * the outcome into an EngineResult.
 *
 * Why memory and not yr_scanner_scan_fd(): libyara 4.2.3 maps files and, around every scan,
 * swaps the process-wide SIGSEGV/SIGBUS handlers without a lock; with several scanning threads
 * a fault (a truncated mapped file) can turn into a hang. Scanning our own buffers with
 * SCAN_FLAGS_NO_TRYCATCH needs no handler at all, and a file that shrinks under us is just a
 * short read.
 *
 * State owned: the EngineScanner (its YR_SCANNER, buffers, member path and counters) and the
 * ScanContext of the call in progress. Must not touch: the snapshot's content (read-only, shared
 * by every thread) beyond its reference count; no global state; no locks; no logging.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yara.h>

#include "engine/engine-internal.h"
#include "util/macro.h"
#include "util/strv.h"

/* Member path components are cut at this length; the whole path at this many bytes. */
#define PATH_COMPONENT_MAX 4096U
#define PATH_MAX_TOTAL ((size_t) (ENGINE_MAX_ARCHIVE_DEPTH_LIMIT + 1) * (PATH_COMPONENT_MAX + 2))

static const char *const verdict_table[_ENGINE_VERDICT_MAX] = {
        [ENGINE_VERDICT_CLEAN] = "clean",
        [ENGINE_VERDICT_DETECTED] = "detected",
        [ENGINE_VERDICT_SKIPPED] = "skipped",
        [ENGINE_VERDICT_ERROR] = "error",
};

const char *engine_verdict_to_string(EngineVerdict v) {
        if (v < 0 || v >= _ENGINE_VERDICT_MAX)
                return NULL;
        return verdict_table[v];
}

const char *engine_note_to_string(EngineNote n) {
        switch (n) {
        case ENGINE_NOTE_SCAN_TRUNCATED:
                return "scan-truncated";
        case ENGINE_NOTE_HASH_SKIPPED:
                return "hash-skipped";
        case ENGINE_NOTE_FILE_CHANGED:
                return "file-changed";
        case ENGINE_NOTE_TOO_MANY_MATCHES:
                return "too-many-matches";
        case ENGINE_NOTE_ARCHIVE_CORRUPT:
                return "archive-corrupt";
        case ENGINE_NOTE_ENCRYPTED_SKIPPED:
                return "encrypted-skipped";
        case ENGINE_NOTE_ARCHIVE_LIMIT:
                return "archive-limit";
        case ENGINE_NOTE_MEMBER_TRUNCATED:
                return "member-truncated";
        case ENGINE_NOTE_IGNORED_MATCH:
                return "ignored-match";
        }
        return NULL;
}

void engine_result_done(EngineResult *r) {
        if (!r)
                return;
        free(r->threat_name);
        free(r->threat_type);
        free(r->rule);
        free(r->member_path);
        free(r->path);
        *r = (EngineResult) ENGINE_RESULT_INIT;
}

EngineScanner *engine_scanner_new(void) {
        EngineScanner *s;

        s = calloc(1, sizeof(EngineScanner));
        if (!s)
                return NULL;
        if (engine_hash_setup(s) < 0)
                return mfree(s);
        return s;
}

void engine_scanner_drop_rules(EngineScanner *s) {
        if (!s)
                return;
        if (s->yara) {
                yr_scanner_destroy(s->yara);
                s->yara = NULL;
        }
        s->rules = engine_rules_unref(s->rules);
}

EngineScanner *engine_scanner_free(EngineScanner *s) {
        if (!s)
                return NULL;
        engine_scanner_drop_rules(s);
        free(s->file.data);
        for (size_t i = 0; i < ELEMENTSOF(s->levels); i++)
                free(s->levels[i].data);
        free(s->chunk);
        free(s->discard);
        free(s->path);
        engine_hash_teardown(s);
        return mfree(s);
}

void engine_scanner_get_stats(const EngineScanner *s, EngineScannerStats *ret) {
        *ret = s ? s->stats : (EngineScannerStats) {};
}

static int yara_error_to_errno(int r) {
        switch (r) {
        case ERROR_SUCCESS:
                return 0;
        case ERROR_INSUFFICIENT_MEMORY:
                return -ENOMEM;
        case ERROR_SCAN_TIMEOUT:
                return -ETIME;
        case ERROR_CALLBACK_ERROR:
                return -ECANCELED;
        case ERROR_TOO_MANY_MATCHES:
                return -E2BIG;
        default:
                return -EIO;
        }
}

/* Makes the scanner's YR_SCANNER belong to rules, re-creating it when the snapshot changed. The
 * scanner holds a reference on the snapshot its YR_SCANNER was made for, so a pointer compare is
 * enough: that snapshot cannot be freed and its address reused meanwhile. */
static int scanner_use_rules(EngineScanner *s, EngineRules *rules) {
        YR_SCANNER *y = NULL;
        int r;

        if (s->rules == rules && s->yara)
                return 0;

        engine_scanner_drop_rules(s);
        r = yr_scanner_create(rules->yara, &y);
        if (r != ERROR_SUCCESS)
                return yara_error_to_errno(r);
        yr_scanner_set_flags(y, SCAN_FLAGS_NO_TRYCATCH | SCAN_FLAGS_FAST_MODE);
        s->yara = y;
        s->rules = engine_rules_ref(rules);
        s->stats.rules_switches++;
        return 0;
}

int engine_buffer_reserve(EngineBuffer *b, size_t size, size_t max) {
        size_t n;
        uint8_t *p;

        if (size <= b->size)
                return 0;
        /* Grow geometrically from 64 KiB, but never past max unless size itself is larger. */
        n = MAX(b->size * 2, (size_t) 64 << 10);
        n = MIN(n, max);
        n = MAX(n, size);
        p = realloc(b->data, n);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->size = n;
        return 0;
}

bool engine_context_type_ignored(const ScanContext *c, const char *type) {
        return strv_contains(c->opts->ignored_types, type);
}

int engine_path_push(EngineScanner *s, const char *name, size_t *ret_saved) {
        size_t sep = s->path_len > 0 ? strlen(ENGINE_MEMBER_SEPARATOR) : 0;
        size_t n = strnlen(name, PATH_COMPONENT_MAX), need;
        char *p;

        need = s->path_len + sep + n + 1;
        if (need > PATH_MAX_TOTAL)
                return -ENAMETOOLONG;
        if (need > s->path_size) {
                size_t m = MAX(need, MAX(s->path_size * 2, (size_t) 256));

                p = realloc(s->path, m);
                if (!p)
                        return -ENOMEM;
                s->path = p;
                s->path_size = m;
        }

        *ret_saved = s->path_len;
        p = s->path + s->path_len;
        memcpy(p, ENGINE_MEMBER_SEPARATOR, sep);
        p += sep;
        /* Names come from the archive: keep control characters out of reports and logs. */
        for (size_t i = 0; i < n; i++)
                p[i] = (unsigned char) name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
        p[n] = '\0';
        s->path_len += sep + n;
        return 0;
}

void engine_path_pop(EngineScanner *s, size_t saved) {
        s->path_len = saved;
        if (s->path)
                s->path[saved] = '\0';
}

void engine_context_detect(ScanContext *c, const char *name, const char *type,
                           const YR_RULE *rule) {
        EngineScanner *s = c->scanner;

        c->detected = true;
        c->stop = true;
        c->threat_name = name;
        c->threat_type = type;
        c->rule = rule;
        if (s->path_len > 0) {
                c->member_path = strndup(s->path, s->path_len);
                if (!c->member_path)
                        c->error = -ENOMEM;
        }
}

void engine_context_check_hash(ScanContext *c, const uint8_t sha256[static ENGINE_SHA256_SIZE]) {
        const EngineHashItem *item;

        item = engine_rules_lookup_hash(c->rules, sha256);
        if (!item)
                return;
        if (engine_context_type_ignored(c, item->threat_type)) {
                c->notes |= ENGINE_NOTE_IGNORED_MATCH;
                return;
        }
        engine_context_detect(c, item->threat_name, item->threat_type, NULL);
}

static int yara_callback(YR_SCAN_CONTEXT *context _unused_, int message,
                         void *message_data, void *userdata) {
        ScanContext *c = userdata;

        switch (message) {
        case CALLBACK_MSG_RULE_MATCHING: {
                const YR_RULE *rule = message_data;
                const char *name, *type;

                engine_rule_get_threat(rule, &name, &type);
                if (engine_context_type_ignored(c, type)) {
                        /* Policy "off" for this type: as if it had not matched; go on. */
                        c->notes |= ENGINE_NOTE_IGNORED_MATCH;
                        return CALLBACK_CONTINUE;
                }
                c->yara_matched = true;
                c->rule = rule;
                c->threat_name = name;
                c->threat_type = type;
                return CALLBACK_ABORT; /* the first match decides */
        }

        case CALLBACK_MSG_TOO_MANY_MATCHES:
                /* Continuing makes libyara disable that one string for the rest of this scan;
                 * the other strings and rules still count. */
                c->notes |= ENGINE_NOTE_TOO_MANY_MATCHES;
                return CALLBACK_CONTINUE;

        case CALLBACK_MSG_CONSOLE_LOG:
                /* console.log() of a rule: never printed from a scanning thread. */
                return CALLBACK_CONTINUE;

        default:
                return CALLBACK_CONTINUE;
        }
}

int engine_scan_memory(ScanContext *c, const uint8_t *data, size_t size) {
        static const uint8_t empty[1];
        EngineScanner *s = c->scanner;
        int r;

        c->yara_matched = false;
        yr_scanner_set_callback(s->yara, yara_callback, c);
        yr_scanner_set_timeout(s->yara, MAX(c->opts->timeout_seconds, 0));

        r = yr_scanner_scan_mem(s->yara, size > 0 ? data : empty, size);
        c->bytes_scanned += size;
        if (r == ERROR_TOO_MANY_MATCHES) {
                /* Only when the callback did not ask to go on; the verdict stands as is. */
                c->notes |= ENGINE_NOTE_TOO_MANY_MATCHES;
                r = ERROR_SUCCESS;
        }
        if (r != ERROR_SUCCESS) {
                c->error = yara_error_to_errno(r);
                c->error_reason = r == ERROR_SCAN_TIMEOUT ? "scan timed out" : "YARA scan failed";
                c->stop = true;
                return c->error;
        }

        if (c->yara_matched) {
                engine_context_detect(c, c->threat_name, c->threat_type, c->rule);
                if (c->error < 0)
                        return c->error;
        }
        return 0;
}

static const char *file_type_reason(mode_t mode) {
        if (S_ISDIR(mode))
                return "directory";
        if (S_ISFIFO(mode))
                return "fifo";
        if (S_ISSOCK(mode))
                return "socket";
        if (S_ISCHR(mode))
                return "character device";
        if (S_ISBLK(mode))
                return "block device";
        if (S_ISLNK(mode))
                return "symbolic link";
        return "not a regular file";
}

static bool stat_changed(const struct stat *a, const struct stat *b) {
        return a->st_size != b->st_size ||
                a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
                a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
                a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
                a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

static int ensure_chunk(EngineScanner *s) {
        if (!s->chunk) {
                s->chunk = malloc(ENGINE_CHUNK_SIZE);
                if (!s->chunk)
                        return -ENOMEM;
        }
        return 0;
}

/*
 * Reads the regular file: the first max_scan_bytes into s->file, and on to its end when hashing
 * (through s->chunk). Stops at the size fstat() gave at the start: a growing file is not chased.
 * Then: hash block list, YARA, archives. Failures that concern the file become c->error; only
 * -ENOMEM is returned.
 */
static int scan_regular(ScanContext *c, int fd, const struct stat *st, EngineResult *result) {
        EngineScanner *s = c->scanner;
        const EngineScanOptions *o = c->opts;
        uint64_t size = (uint64_t) st->st_size, scan_len, target, off = 0;
        bool want_hash, hashing, shrank = false;
        uint8_t digest[ENGINE_SHA256_SIZE];
        struct stat st2;
        size_t got;
        int r;

        scan_len = MIN(size, o->max_scan_bytes);
        if (scan_len > SIZE_MAX / 2)
                return -ENOMEM;
        if (size > scan_len)
                c->notes |= ENGINE_NOTE_SCAN_TRUNCATED;

        want_hash = o->compute_hash || c->rules->n_hashes > 0;
        hashing = want_hash && size <= o->max_hash_bytes;
        if (want_hash && !hashing)
                c->notes |= ENGINE_NOTE_HASH_SKIPPED;
        target = hashing ? size : scan_len;

        r = engine_buffer_reserve(&s->file, (size_t) scan_len,
                                  (size_t) MIN(o->max_scan_bytes, (uint64_t) SIZE_MAX / 2));
        if (r < 0)
                return r;
        if (target > scan_len) {
                r = ensure_chunk(s);
                if (r < 0)
                        return r;
        }
        if (hashing) {
                r = engine_hash_begin(s);
                if (r < 0) {
                        c->error = r;
                        c->error_reason = "hashing failed";
                        return 0;
                }
        }

        while (off < target) {
                uint8_t *dst;
                size_t want;
                ssize_t n;

                if (off < scan_len) {
                        dst = s->file.data + off;
                        want = (size_t) MIN(scan_len - off, (uint64_t) ENGINE_CHUNK_SIZE);
                } else {
                        dst = s->chunk;
                        want = (size_t) MIN(target - off, (uint64_t) ENGINE_CHUNK_SIZE);
                }

                n = pread(fd, dst, want, (off_t) off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        c->error = negative_errno();
                        c->error_reason = "read failed";
                        return 0;
                }
                if (n == 0) {
                        /* Shorter than fstat() said: truncated meanwhile. Scan what there is. */
                        shrank = true;
                        c->notes |= ENGINE_NOTE_FILE_CHANGED;
                        break;
                }
                if (hashing) {
                        r = engine_hash_update(s, dst, (size_t) n);
                        if (r < 0) {
                                c->error = r;
                                c->error_reason = "hashing failed";
                                return 0;
                        }
                }
                off += (uint64_t) n;
                s->stats.bytes_read += (uint64_t) n;
        }
        got = (size_t) MIN(off, scan_len);

        if (fstat(fd, &st2) < 0 || stat_changed(st, &st2))
                c->notes |= ENGINE_NOTE_FILE_CHANGED;

        /* A hash is only worth reporting for content that was one file version from 0 to end. */
        if (hashing && off == size && !(c->notes & ENGINE_NOTE_FILE_CHANGED)) {
                r = engine_hash_end(s, digest);
                if (r < 0) {
                        c->error = r;
                        c->error_reason = "hashing failed";
                        return 0;
                }
                engine_sha256_to_hex(digest, result->sha256);
                engine_context_check_hash(c, digest);
                if (c->stop)
                        return c->error == -ENOMEM ? -ENOMEM : 0;
        }

        if (o->max_scan_bytes > 0) {
                r = engine_scan_memory(c, s->file.data, got);
                if (r == -ENOMEM)
                        return r;
                if (c->stop)
                        return 0;
        }

        if (!o->scan_archives || !engine_archive_sniff(s->file.data, got))
                return 0;

        /* The whole (current) content is in memory: walk it there; else read through the fd. */
        if (got == off && (off == size || shrank))
                r = engine_archive_walk_memory(c, s->file.data, got, 1);
        else {
                r = ensure_chunk(s);
                if (r < 0)
                        return r;
                r = engine_archive_walk_fd(c, fd, size);
        }
        return r == -ENOMEM ? r : 0;
}

/* Turns the context into the result's verdict and owned strings. */
static int build_result(ScanContext *c, EngineResult *res) {
        if (c->error == -ENOMEM)
                return -ENOMEM;

        res->notes = c->notes;
        res->bytes_scanned = c->bytes_scanned;

        if (c->detected) {
                res->verdict = ENGINE_VERDICT_DETECTED;
                res->reason = c->reason;
                if (c->threat_name)
                        res->threat_name = strdup(c->threat_name);
                else if (asprintf(&res->threat_name, "%s%s", ENGINE_THREAT_NAME_UNKNOWN_PREFIX,
                                  c->rule->identifier) < 0)
                        res->threat_name = NULL;
                res->threat_type = strdup(c->threat_type);
                if (c->rule && asprintf(&res->rule, "%s:%s", c->rule->ns->name,
                                        c->rule->identifier) < 0) {
                        res->rule = NULL;
                        return -ENOMEM;
                }
                /* The file and the member stay apart: a file name may contain the separator,
                 * so a joined string could not be split back. */
                res->member_path = TAKE_PTR(c->member_path);
                res->path = strdup(c->display_path);
                if (!res->threat_name || !res->threat_type || !res->path)
                        return -ENOMEM;
        } else if (c->error < 0) {
                res->verdict = ENGINE_VERDICT_ERROR;
                res->error = c->error;
                res->reason = c->error_reason;
        }
        /* else: CLEAN or SKIPPED, as set by the caller. */
        return 0;
}

int engine_scan_fd(EngineScanner *s, EngineRules *rules, int fd, const char *display_path,
                   const EngineScanOptions *opts, EngineResult *ret) {
        static const EngineScanOptions defaults = ENGINE_SCAN_OPTIONS_DEFAULT;
        _cleanup_(engine_result_done) EngineResult result = ENGINE_RESULT_INIT;
        ScanContext c;
        struct stat st;
        int r;

        if (!s || !rules || fd < 0 || !ret)
                return -EINVAL;
        if (!opts)
                opts = &defaults;

        r = scanner_use_rules(s, rules);
        if (r < 0)
                return r;

        c = (ScanContext) {
                .scanner = s,
                .rules = rules,
                .opts = opts,
                .display_path = display_path ?: "",
                .want_member_hash = rules->n_hashes > 0,
        };
        engine_path_pop(s, 0);

        if (fstat(fd, &st) < 0) {
                c.error = negative_errno();
                c.error_reason = "fstat failed";
        } else if (!S_ISREG(st.st_mode)) {
                /* Never read these: a FIFO or a tty would block, a device would never end. */
                result.verdict = ENGINE_VERDICT_SKIPPED;
                result.reason = file_type_reason(st.st_mode);
        } else {
                result.file_size = (uint64_t) st.st_size;
                result.dev = (uint64_t) st.st_dev;
                result.ino = (uint64_t) st.st_ino;
                r = scan_regular(&c, fd, &st, &result);
                if (r < 0)
                        c.error = r;
        }

        r = build_result(&c, &result);
        free(c.member_path);
        engine_path_pop(s, 0);
        if (r < 0)
                return r;

        s->stats.files_scanned++;
        s->stats.bytes_scanned += c.bytes_scanned;
        s->stats.archive_members += c.archive_members;
        switch (result.verdict) {
        case ENGINE_VERDICT_DETECTED:
                s->stats.files_detected++;
                break;
        case ENGINE_VERDICT_SKIPPED:
                s->stats.files_skipped++;
                break;
        case ENGINE_VERDICT_ERROR:
                s->stats.files_failed++;
                break;
        default:
                break;
        }

        *ret = result;
        result = (EngineResult) ENGINE_RESULT_INIT;
        return 0;
}
