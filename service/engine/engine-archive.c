/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The archive walker: zip, tar, gzip, bzip2, xz and their combinations (tar.gz, zip in tar.xz,
 * ...), recognised by content through libarchive's bidders, never by file name. Each regular
 * member is read into the scanner's buffer for its depth and scanned in memory (hash block list,
 * YARA), then walked in turn if it is an archive itself. The outermost archive is read from the
 * scanner's buffer when the whole file is there, else through a read callback doing pread() on
 * the fd (never a path).
 *
 * Limits (depth, members, uncompressed total, compression ratio) end the walk with an
 * archive_bomb detection, or with ENGINE_NOTE_ARCHIVE_LIMIT when that type is ignored. Broken
 * input never fails the file: what could be read is scanned and ENGINE_NOTE_ARCHIVE_CORRUPT is
 * noted. Encrypted members are skipped with ENGINE_NOTE_ENCRYPTED_SKIPPED.
 *
 * Zip is read with libarchive's streaming reader only (local headers, in file order): memory use
 * stays bounded by what the limits allow, whatever a central directory claims. Zips that need the
 * central directory (self-extracting, some stored entries) are then read as far as possible.
 *
 * State owned: the struct archive of each level (on the stack of the walk), the scanner's level
 * buffers, discard buffer and member path while walking. Must not touch: the fd's offset (pread
 * only), the snapshot, anything global.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "engine/engine-internal.h"
#include "util/macro.h"

/* A raw (compressed, not archived) stream's member is named after its container minus the
 * compression suffix; failing that, this. */
#define RAW_MEMBER_NAME_FALLBACK "data"
#define RAW_MEMBER_NAME_MAX 256U

static bool tar_header_valid(const uint8_t *h) {
        uint64_t stored = 0, sum_unsigned = 0;
        int64_t sum_signed = 0;
        bool digits = false;
        size_t i = 148;

        if (memcmp(h + 257, "ustar", 5) == 0)
                return true;

        /* Old (v7) headers: only the checksum tells. Octal, space/NUL padded, at 148..155. */
        while (i < 156 && h[i] == ' ')
                i++;
        for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++) {
                stored = stored * 8 + (uint64_t) (h[i] - '0');
                digits = true;
        }
        if (!digits)
                return false;
        for (i = 0; i < 512; i++) {
                uint8_t b = i >= 148 && i < 156 ? ' ' : h[i];

                sum_unsigned += b;
                sum_signed += (int8_t) b;
        }
        return stored == sum_unsigned || (int64_t) stored == sum_signed;
}

bool engine_archive_sniff(const uint8_t *p, size_t n) {
        static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };

        if (!p)
                return false;
        /* zip: local header, empty archive, spanning markers */
        if (n >= 4 && p[0] == 'P' && p[1] == 'K' &&
            ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6) || (p[2] == 7 && p[3] == 8) ||
             (p[2] == '0' && p[3] == '0')))
                return true;
        if (n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8)
                return true;
        if (n >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9')
                return true;
        if (n >= sizeof(xz_magic) && memcmp(p, xz_magic, sizeof(xz_magic)) == 0)
                return true;
        if (n >= 512 && tar_header_valid(p))
                return true;
        return false;
}

/* A reader for our formats; raw_only: decompressors in front of the raw format, nothing else. */
static struct archive *reader_new(bool raw_only) {
        struct archive *a;

        a = archive_read_new();
        if (!a)
                return NULL;
        /* ARCHIVE_WARN would mean "through an external program": not acceptable either. */
        if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
            archive_read_support_filter_xz(a) != ARCHIVE_OK ||
            (!raw_only && archive_read_support_format_zip_streamable(a) != ARCHIVE_OK) ||
            (!raw_only && archive_read_support_format_tar(a) != ARCHIVE_OK) ||
            archive_read_support_format_raw(a) != ARCHIVE_OK) {
                archive_read_free(a);
                return NULL;
        }
        return a;
}

/* A limit was hit by the archive at the scanner's current member path (none: the file). */
static void archive_limit(ScanContext *c, const char *reason, bool stop_walk) {
        if (engine_context_type_ignored(c, ENGINE_THREAT_TYPE_ARCHIVE_BOMB)) {
                c->notes |= ENGINE_NOTE_ARCHIVE_LIMIT | ENGINE_NOTE_IGNORED_MATCH;
                if (stop_walk)
                        c->stop_archives = true;
                return;
        }
        c->reason = reason;
        engine_context_detect(c, ENGINE_THREAT_NAME_ARCHIVE_BOMB, ENGINE_THREAT_TYPE_ARCHIVE_BOMB,
                              NULL);
}

static bool strip_suffix(char *s, const char *suffix, const char *replacement) {
        size_t n = strlen(s), m = strlen(suffix);

        if (n <= m || strcasecmp(s + n - m, suffix) != 0)
                return false;
        s[n - m] = '\0';
        if (replacement && n - m + strlen(replacement) < RAW_MEMBER_NAME_MAX)
                strcat(s, replacement);
        return true;
}

/* "dir/x.gz" (the innermost container) holds "x"; "y.tgz" holds "y.tar". */
static void raw_member_name(const ScanContext *c, char ret[static RAW_MEMBER_NAME_MAX]) {
        static const struct {
                const char *suffix, *replacement;
        } table[] = {
                { ".tgz", ".tar" }, { ".tbz2", ".tar" }, { ".tbz", ".tar" }, { ".txz", ".tar" },
                { ".gz", NULL },    { ".bz2", NULL },    { ".xz", NULL },
        };
        const size_t sep = strlen(ENGINE_MEMBER_SEPARATOR);
        const EngineScanner *s = c->scanner;
        const char *container = c->display_path, *p;

        if (s->path_len > 0) {
                container = s->path;
                for (p = s->path; (p = strstr(p, ENGINE_MEMBER_SEPARATOR)); p += sep)
                        container = p + sep;
        }
        p = strrchr(container, '/');
        if (p)
                container = p + 1;

        snprintf(ret, RAW_MEMBER_NAME_MAX, "%s", container);
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strip_suffix(ret, table[i].suffix, table[i].replacement) && ret[0])
                        return;
        snprintf(ret, RAW_MEMBER_NAME_MAX, "%s", RAW_MEMBER_NAME_FALLBACK);
}

typedef enum MemberEnd {
        MEMBER_END_OK,
        MEMBER_END_BROKEN,      /* this member's data is bad; the archive may go on */
        MEMBER_END_FATAL,       /* the archive cannot be read past this member */
        MEMBER_END_LIMIT,       /* a limit was hit: *ret_reason says which */
} MemberEnd;

/* The state of one archive level while its members are read. */
typedef struct Level {
        struct archive *archive;
        unsigned depth;
        uint64_t compressed;    /* size of the archive itself (its bytes, as stored) */
        uint64_t produced;      /* uncompressed member bytes it has produced so far */
        uint64_t entries;       /* headers read */
        bool filtered;          /* a decompressor is in front of the format */
} Level;

/*
 * Reads the current member: its first max_scan_bytes into levels[depth], the rest into the
 * discard buffer; everything is counted against the limits and hashed when the block list needs
 * it. Returns a MemberEnd, or a negative errno.
 */
static int read_member(ScanContext *c, Level *l, size_t *ret_len, bool *ret_hashed,
                       uint8_t ret_digest[static ENGINE_SHA256_SIZE], const char **ret_reason) {
        EngineScanner *s = c->scanner;
        const EngineScanOptions *o = c->opts;
        EngineBuffer *b = &s->levels[l->depth];
        size_t max_keep = (size_t) MIN(o->max_scan_bytes, (uint64_t) SIZE_MAX / 2);
        uint64_t total = 0;
        bool hashing = c->want_member_hash;
        MemberEnd end = MEMBER_END_OK;
        size_t len = 0;
        int r;

        *ret_hashed = false;
        if (hashing) {
                r = engine_hash_begin(s);
                if (r < 0)
                        return r;
        }

        for (;;) {
                la_ssize_t n;
                uint8_t *dst;
                size_t want;

                if (len < max_keep) {
                        r = engine_buffer_reserve(b, len + MIN(max_keep - len, (size_t) 64 << 10),
                                                  max_keep);
                        if (r < 0)
                                return r;
                        dst = b->data + len;
                        want = MIN(b->size, max_keep) - len;
                } else {
                        if (!s->discard) {
                                s->discard = malloc(ENGINE_DISCARD_SIZE);
                                if (!s->discard)
                                        return -ENOMEM;
                        }
                        dst = s->discard;
                        want = ENGINE_DISCARD_SIZE;
                }

                n = archive_read_data(l->archive, dst, want);
                if (n == 0)
                        break;
                if (n < 0) {
                        /* WARN: a bad checksum at the end and the like; FAILED: this entry
                         * cannot be decoded (method, encryption); FATAL: the stream is gone. */
                        c->notes |= ENGINE_NOTE_ARCHIVE_CORRUPT;
                        if (n == ARCHIVE_FATAL)
                                end = MEMBER_END_FATAL;
                        else if (n != ARCHIVE_WARN)
                                end = MEMBER_END_BROKEN;
                        break;
                }

                if (dst != s->discard)
                        len += (size_t) n;
                total += (uint64_t) n;
                if (hashing) {
                        if (total > o->max_hash_bytes)
                                hashing = false;
                        else {
                                r = engine_hash_update(s, dst, (size_t) n);
                                if (r < 0)
                                        return r;
                        }
                }

                l->produced += (uint64_t) n;
                c->archive_total_bytes += (uint64_t) n;
                if (c->archive_total_bytes > o->max_archive_total_bytes) {
                        *ret_reason = "uncompressed content larger than max_archive_total_bytes";
                        return MEMBER_END_LIMIT;
                }
                if (o->max_compression_ratio > 0 && l->produced > ENGINE_BOMB_RATIO_MIN_BYTES &&
                    l->produced / o->max_compression_ratio > l->compressed) {
                        *ret_reason = "compression ratio above max_compression_ratio";
                        return MEMBER_END_LIMIT;
                }
        }

        if (total > len)
                c->notes |= ENGINE_NOTE_MEMBER_TRUNCATED;
        if (hashing && end == MEMBER_END_OK) {
                r = engine_hash_end(s, ret_digest);
                if (r < 0)
                        return r;
                *ret_hashed = true;
        }
        *ret_len = len;
        return end;
}

/* Scans one member that read_member() has put into levels[depth]. */
static int scan_member(ScanContext *c, Level *l, size_t len, bool hashed,
                       const uint8_t digest[static ENGINE_SHA256_SIZE]) {
        const uint8_t *data = c->scanner->levels[l->depth].data;
        int r;

        if (hashed) {
                engine_context_check_hash(c, digest);
                if (c->stop)
                        return c->error < 0 ? c->error : 0;
        }

        if (c->opts->max_scan_bytes > 0) {
                r = engine_scan_memory(c, data, len);
                if (r < 0 || c->stop)
                        return r;
        }

        if (!engine_archive_sniff(data, len))
                return 0;
        return engine_archive_walk_memory(c, data, len, l->depth + 1);
}

/* Walks the members of an opened archive. Returns 0 or a negative errno (-ENOMEM). */
static int walk(ScanContext *c, Level *l) {
        EngineScanner *s = c->scanner;
        const EngineScanOptions *o = c->opts;
        bool first = true, raw = false;
        int r;

        for (;;) {
                uint8_t digest[ENGINE_SHA256_SIZE];
                char raw_name[RAW_MEMBER_NAME_MAX];
                struct archive_entry *e;
                const char *name, *reason = NULL;
                bool hashed = false;
                size_t saved, len = 0;

                if (c->stop || c->stop_archives)
                        return 0;

                r = archive_read_next_header(l->archive, &e);
                if (first)
                        l->filtered = archive_filter_code(l->archive, 0) != ARCHIVE_FILTER_NONE;
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                        /* Truncated or garbage: keep what was scanned. Data that merely looked
                         * like an archive to the sniffer, and that no decompressor or format
                         * took, is simply no archive. */
                        if (!first || archive_filter_code(l->archive, 0) != ARCHIVE_FILTER_NONE ||
                            archive_format(l->archive) != 0)
                                c->notes |= ENGINE_NOTE_ARCHIVE_CORRUPT;
                        return 0;
                }

                if (first) {
                        first = false;
                        raw = archive_format(l->archive) == ARCHIVE_FORMAT_RAW;
                        /* The raw reader takes anything: without a decompressor in front it is
                         * the plain bytes we have already scanned. */
                        if (raw && archive_filter_code(l->archive, 0) == ARCHIVE_FILTER_NONE)
                                return 0;
                        if (l->depth > MIN(o->max_archive_depth, ENGINE_MAX_ARCHIVE_DEPTH_LIMIT)) {
                                /* Not descending: the rest of the parent goes on (if ignored). */
                                archive_limit(c, "archives nested deeper than max_archive_depth",
                                              false);
                                return c->error < 0 ? c->error : 0;
                        }
                }

                l->entries++;
                c->archive_members++;
                if (c->archive_members > o->max_archive_members) {
                        archive_limit(c, "more entries than max_archive_members", true);
                        return c->error < 0 ? c->error : 0;
                }

                /* Directories, links, devices: no content. A tar hard link's content is another
                 * member's. */
                if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
                        continue;
                if (archive_entry_is_encrypted(e)) {
                        c->notes |= ENGINE_NOTE_ENCRYPTED_SKIPPED;
                        continue;
                }

                if (raw) {
                        raw_member_name(c, raw_name);
                        name = raw_name;
                } else {
                        name = archive_entry_pathname(e) ?: archive_entry_pathname_utf8(e);
                        if (!name)
                                name = "?";
                }
                r = engine_path_push(s, name, &saved);
                if (r < 0)
                        return r;

                r = read_member(c, l, &len, &hashed, digest, &reason);
                if (r < 0) {
                        engine_path_pop(s, saved);
                        return r;
                }
                if (r == MEMBER_END_LIMIT) {
                        /* The bomb is the archive, not the member. */
                        engine_path_pop(s, saved);
                        archive_limit(c, reason, true);
                        return c->error < 0 ? c->error : 0;
                }

                {
                        int k;

                        k = scan_member(c, l, len, hashed, digest);
                        engine_path_pop(s, saved);
                        if (k < 0)
                                return k;
                }
                if (r == MEMBER_END_FATAL)
                        return 0;
        }
}

typedef struct FdSource {
        EngineScanner *scanner;
        int fd;
        uint64_t size;  /* read no further than this: the size when the scan began */
        uint64_t pos;
} FdSource;

static la_ssize_t fd_source_read(struct archive *a, void *userdata, const void **ret_buf) {
        FdSource *f = userdata;

        for (;;) {
                size_t want;
                ssize_t n;

                if (f->pos >= f->size)
                        return 0;
                want = (size_t) MIN(f->size - f->pos, (uint64_t) ENGINE_CHUNK_SIZE);
                n = pread(f->fd, f->scanner->chunk, want, (off_t) f->pos);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        archive_set_error(a, errno, "read failed");
                        return ARCHIVE_FATAL;
                }
                if (n == 0) {
                        f->size = f->pos;       /* shrank meanwhile */
                        return 0;
                }
                f->pos += (uint64_t) n;
                f->scanner->stats.bytes_read += (uint64_t) n;
                *ret_buf = f->scanner->chunk;
                return n;
        }
}

static la_int64_t fd_source_skip(struct archive *a _unused_, void *userdata,
                                 la_int64_t request) {
        FdSource *f = userdata;
        uint64_t n;

        if (request <= 0)
                return 0;
        n = MIN((uint64_t) request, f->size - f->pos);
        f->pos += n;
        return (la_int64_t) n;
}

/* Where an archive's bytes come from: memory (data, size) or the fd (fd != NULL). */
typedef struct Source {
        const uint8_t *data;
        size_t size;
        FdSource *fd;
} Source;

static int open_source(struct archive *a, const Source *src) {
        if (!src->fd)
                return archive_read_open_memory(a, src->data, src->size);

        src->fd->pos = 0;
        if (archive_read_set_read_callback(a, fd_source_read) != ARCHIVE_OK ||
            archive_read_set_skip_callback(a, fd_source_skip) != ARCHIVE_OK ||
            archive_read_set_callback_data(a, src->fd) != ARCHIVE_OK)
                return ARCHIVE_FATAL;
        return archive_read_open1(a);
}

/* One pass over src; *ret_retry_raw tells whether a raw pass is worth it (see below). */
static int walk_source(ScanContext *c, const Source *src, unsigned depth, bool raw_only,
                       bool *ret_retry_raw) {
        Level l = {
                .depth = depth,
                .compressed = src->fd ? src->fd->size : src->size,
        };

        *ret_retry_raw = false;
        l.archive = reader_new(raw_only);
        if (!l.archive) {
                c->error = -ENOMEM;
                c->stop = true;
                return -ENOMEM;
        }
        if (open_source(l.archive, src) != ARCHIVE_OK)
                c->notes |= ENGINE_NOTE_ARCHIVE_CORRUPT;
        else {
                int r = walk(c, &l);

                if (r < 0 && c->error >= 0) {
                        /* Our own failure (memory, hashing), not the archive's. */
                        c->error = r;
                        c->error_reason = "archive walk failed";
                        c->stop = true;
                }
                /* A compressed stream whose content a format reader took without finding a single
                 * entry (zeros read as the end of an empty tar, an empty zip's end record, a
                 * broken header) still decompresses to bytes somebody may run: scan those. */
                *ret_retry_raw = !raw_only && l.filtered && l.entries == 0;
        }
        archive_read_free(l.archive);
        return c->error == -ENOMEM ? -ENOMEM : 0;
}

static int walk_any(ScanContext *c, const Source *src, unsigned depth) {
        bool retry_raw;
        int r;

        if (c->stop || c->stop_archives)
                return 0;
        /* walk() reports the depth limit before reading any member, and the limit is clamped to
         * ENGINE_MAX_ARCHIVE_DEPTH_LIMIT: levels[] is never indexed past it. */
        if (depth > ENGINE_MAX_ARCHIVE_DEPTH_LIMIT + 1)
                return 0;

        r = walk_source(c, src, depth, false, &retry_raw);
        if (r < 0 || !retry_raw || c->stop || c->stop_archives)
                return r;
        return walk_source(c, src, depth, true, &retry_raw);
}

int engine_archive_walk_memory(ScanContext *c, const uint8_t *data, size_t size, unsigned depth) {
        const Source src = {
                .data = data,
                .size = size,
        };

        return walk_any(c, &src, depth);
}

int engine_archive_walk_fd(ScanContext *c, int fd, uint64_t size) {
        FdSource f = {
                .scanner = c->scanner,
                .fd = fd,
                .size = size,
        };
        const Source src = {
                .fd = &f,
        };

        return walk_any(c, &src, 1);
}
