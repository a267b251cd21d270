/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * manifest.json of a definition pack: parsing and validating it (after its signature has been
 * checked, by pack.c), writing it (for mdatp-pack and the tests), and the small syntaxes it uses:
 * versions, RFC 3339 times, listed paths.
 *
 * Input is untrusted as far as this file is concerned (the fuzzer feeds it anything): every
 * message quotes values with definition_quote(), every size is bounded.
 * No state; no logging.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "definitions/definitions-internal.h"
#include "util/json.h"
#include "util/macro.h"

static const char * const file_kind_table[_DEFINITION_FILE_KIND_MAX] = {
        [DEFINITION_FILE_YARA] = "yara",
        [DEFINITION_FILE_SHA256_LIST] = "sha256-list",
};

const char *definition_file_kind_to_string(DefinitionFileKind k) {
        if (k < 0 || k >= _DEFINITION_FILE_KIND_MAX)
                return NULL;
        return file_kind_table[k];
}

DefinitionFileKind definition_file_kind_from_string(const char *s) {
        if (!s)
                return _DEFINITION_FILE_KIND_INVALID;
        for (int k = 0; k < _DEFINITION_FILE_KIND_MAX; k++)
                if (streq(s, file_kind_table[k]))
                        return k;
        return _DEFINITION_FILE_KIND_INVALID;
}

int definition_error(char **ret_error, int error, const char *format, ...) {
        va_list ap;
        char *m;

        if (!ret_error)
                return error;
        va_start(ap, format);
        if (vasprintf(&m, format, ap) < 0)
                m = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = m;
        return error;
}

char *definition_quote(const char *s, size_t len) {
        const size_t max = 64;
        size_t n = MIN(len, max);
        char *q, *p;

        /* Worst case: every byte as \xNN, two quotes, "...", NUL. */
        q = malloc(n * 4 + 2 + 3 + 1);
        if (!q)
                return NULL;
        p = q;
        *p++ = '\'';
        for (size_t i = 0; i < n; i++) {
                unsigned char c = s[i];

                if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
                        *p++ = c;
                else
                        p += sprintf(p, "\\x%02x", c);
        }
        *p++ = '\'';
        if (len > max)
                p = stpcpy(p, "...");
        *p = '\0';
        return q;
}

/* Parses v into parts; returns the number of parts, or -EINVAL. */
static int version_parse(const char *v, uint32_t parts[DEFINITIONS_VERSION_MAX_PARTS]) {
        size_t n = 0;
        const char *p = v;

        if (!v || strlen(v) > DEFINITIONS_VERSION_MAX)
                return -EINVAL;
        for (;;) {
                uint64_t x = 0;
                const char *start = p;

                if (n >= DEFINITIONS_VERSION_MAX_PARTS)
                        return -EINVAL;
                while (*p >= '0' && *p <= '9') {
                        x = x * 10 + (uint64_t) (*p - '0');
                        if (x > UINT32_MAX)
                                return -EINVAL;
                        p++;
                }
                if (p == start)                 /* empty part */
                        return -EINVAL;
                if (*start == '0' && p - start > 1)     /* leading zero */
                        return -EINVAL;
                parts[n++] = (uint32_t) x;
                if (*p == '\0')
                        return (int) n;
                if (*p != '.')
                        return -EINVAL;
                p++;
        }
}

bool definitions_version_is_valid(const char *v) {
        uint32_t parts[DEFINITIONS_VERSION_MAX_PARTS];

        return version_parse(v, parts) > 0;
}

int definitions_version_compare(const char *a, const char *b) {
        uint32_t pa[DEFINITIONS_VERSION_MAX_PARTS], pb[DEFINITIONS_VERSION_MAX_PARTS];
        int na = version_parse(a, pa), nb = version_parse(b, pb);

        if (na < 0 || nb < 0)
                return (na >= 0) - (nb >= 0);

        for (int i = 0; i < MAX(na, nb); i++) {
                uint32_t x = i < na ? pa[i] : 0, y = i < nb ? pb[i] : 0;

                if (x != y)
                        return x < y ? -1 : 1;
        }
        return 0;
}

static bool is_leap(unsigned y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads exactly n digits at *p, advancing it. */
static bool read_digits(const char **p, unsigned n, unsigned *ret) {
        unsigned x = 0;

        for (unsigned i = 0; i < n; i++) {
                char c = (*p)[i];

                if (c < '0' || c > '9')
                        return false;
                x = x * 10 + (unsigned) (c - '0');
        }
        *p += n;
        *ret = x;
        return true;
}

static bool expect_char(const char **p, char c) {
        if (**p != c)
                return false;
        (*p)++;
        return true;
}

int definition_time_parse(const char *s, uint64_t *ret_usec) {
        static const unsigned days_in_month[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        unsigned year, month, day, hour, minute, second, usec = 0;
        const char *p = s;
        struct tm tm;
        time_t t;

        if (!s)
                return -EINVAL;
        if (!read_digits(&p, 4, &year) || !expect_char(&p, '-') ||
            !read_digits(&p, 2, &month) || !expect_char(&p, '-') ||
            !read_digits(&p, 2, &day) || !expect_char(&p, 'T') ||
            !read_digits(&p, 2, &hour) || !expect_char(&p, ':') ||
            !read_digits(&p, 2, &minute) || !expect_char(&p, ':') ||
            !read_digits(&p, 2, &second))
                return -EINVAL;
        if (*p == '.') {
                unsigned digits = 0;

                p++;
                while (*p >= '0' && *p <= '9') {
                        if (digits < 6)
                                usec = usec * 10 + (unsigned) (*p - '0');
                        digits++;
                        p++;
                }
                if (digits == 0 || digits > 9)
                        return -EINVAL;
                for (; digits < 6; digits++)
                        usec *= 10;
        }
        if (!expect_char(&p, 'Z') || *p != '\0')
                return -EINVAL;

        if (year < 1970 || month < 1 || month > 12 || day < 1 ||
            day > days_in_month[month - 1] + (month == 2 && is_leap(year)) ||
            hour > 23 || minute > 59 || second > 59)
                return -EINVAL;

        tm = (struct tm) {
                .tm_year = (int) year - 1900,
                .tm_mon = (int) month - 1,
                .tm_mday = (int) day,
                .tm_hour = (int) hour,
                .tm_min = (int) minute,
                .tm_sec = (int) second,
        };
        t = timegm(&tm);
        if (t < 0)
                return -EINVAL;
        *ret_usec = (uint64_t) t * UINT64_C(1000000) + usec;
        return 0;
}

int definition_time_format(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / UINT64_C(1000000));
        unsigned frac = (unsigned) (usec % UINT64_C(1000000));
        struct tm tm;
        int n;

        if (usec / UINT64_C(1000000) > INT64_MAX || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
                return -ERANGE;
        if (frac == 0)
                n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        else
                n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return 0;
}

static bool path_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-' || c == '+';
}

const char *definition_path_invalid_reason(const char *path) {
        size_t depth = 0, len;
        const char *p;

        if (isempty(path))
                return "is empty";
        len = strlen(path);
        if (len > DEFINITIONS_PATH_MAX)
                return "is longer than 255 bytes";
        if (path[0] == '/')
                return "is an absolute path";

        /* ".." first, so that it is named even when the path has other problems too. */
        for (p = path;;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && strneq(p, "..", 2))
                        return "contains '..'";
                if (p[n] == '\0')
                        break;
                p += n + 1;
        }

        for (p = path;;) {
                size_t n = strcspn(p, "/");

                if (n == 0)
                        return "has an empty component (\"//\" or a trailing '/')";
                if (n == 1 && p[0] == '.')
                        return "has a '.' component";
                if (p[0] == '.')
                        return "has a component starting with '.'";
                for (size_t i = 0; i < n; i++)
                        if (!path_char_ok(p[i]))
                                return "contains a character other than A-Z a-z 0-9 . _ + -";
                if (++depth > DEFINITIONS_PATH_MAX_DEPTH)
                        return "has more than 8 components";
                if (p[n] == '\0')
                        break;
                p += n + 1;
        }

        if (streq(path, DEFINITIONS_MANIFEST_NAME) || streq(path, DEFINITIONS_SIGNATURE_NAME))
                return "names the manifest or its signature";
        return NULL;
}

DefinitionManifest *definition_manifest_free(DefinitionManifest *m) {
        if (!m)
                return NULL;
        free(m->version);
        free(m->minimum_engine_version);
        for (size_t i = 0; i < m->n_files; i++)
                free(m->files[i].path);
        free(m->files);
        return mfree(m);
}

/* Sets *ret_error to "manifest.json:LINE:COLUMN: <message>" for node n. */
static int manifest_fail(char **ret_error, int error, const JsonNode *n, const char *format, ...)
        _printf_(4, 5);
static int manifest_fail(char **ret_error, int error, const JsonNode *n, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int k;

        if (!ret_error)
                return error;
        va_start(ap, format);
        k = vasprintf(&m, format, ap);
        va_end(ap);
        if (k < 0) {
                m = NULL;       /* undefined after a failure */
                return error;
        }
        return definition_error(ret_error, error, DEFINITIONS_MANIFEST_NAME ":%u:%u: %s",
                                n->line, n->column, m);
}

/* Gets member key of object o as a node of the given type; what names it in messages. */
static int manifest_member(const JsonNode *o, const char *key, JsonType type, const char *what,
                           const JsonNode **ret, char **ret_error) {
        const JsonNode *n = json_object_get(o, key);

        if (!n)
                return manifest_fail(ret_error, -EBADMSG, o, "%s: missing \"%s\"", what, key);
        if (n->type != type)
                return manifest_fail(ret_error, -EBADMSG, n, "\"%s\": expected %s, found %s",
                                     key, type == JSON_STRING ? "a string" :
                                     type == JSON_INTEGER ? "an integer" :
                                     type == JSON_ARRAY ? "an array" : "an object",
                                     json_type_to_string(n->type));
        *ret = n;
        return 0;
}

/* Gets a version-valued member. */
static int manifest_version(const JsonNode *o, const char *key, char **ret, char **ret_error) {
        _cleanup_free_ char *q = NULL;
        const JsonNode *n = NULL;
        int r;

        r = manifest_member(o, key, JSON_STRING, "manifest", &n, ret_error);
        if (r < 0)
                return r;
        if (!definitions_version_is_valid(n->string)) {
                q = definition_quote(n->string, strlen(n->string));
                return manifest_fail(ret_error, -EBADMSG, n,
                                     "\"%s\": %s is not a version (dotted numbers such as 1.2.3.4)",
                                     key, strnull(q));
        }
        *ret = strdup(n->string);
        return *ret ? 0 : -ENOMEM;
}

static int manifest_parse_file(const JsonNode *e, size_t index, DefinitionManifestFile *f,
                               char **ret_error) {
        _cleanup_free_ char *q = NULL;
        const JsonNode *path = NULL, *sha = NULL, *kind = NULL, *size = NULL;
        const char *reason;
        char what[32];
        int r;

        (void) snprintf(what, sizeof(what), "file %zu", index + 1);
        if (e->type != JSON_OBJECT)
                return manifest_fail(ret_error, -EBADMSG, e, "%s: expected an object, found %s",
                                     what, json_type_to_string(e->type));

        r = manifest_member(e, "path", JSON_STRING, what, &path, ret_error);
        if (r < 0)
                return r;
        reason = definition_path_invalid_reason(path->string);
        if (reason) {
                q = definition_quote(path->string, strlen(path->string));
                return manifest_fail(ret_error, -EBADMSG, path, "%s: path %s %s", what,
                                     strnull(q), reason);
        }

        r = manifest_member(e, "sha256", JSON_STRING, what, &sha, ret_error);
        if (r < 0)
                return r;
        if (definition_sha256_from_hex(sha->string, strlen(sha->string), f->sha256) < 0) {
                q = definition_quote(sha->string, strlen(sha->string));
                return manifest_fail(ret_error, -EBADMSG, sha,
                                     "%s: sha256 %s is not 64 hex digits", what, strnull(q));
        }

        r = manifest_member(e, "kind", JSON_STRING, what, &kind, ret_error);
        if (r < 0)
                return r;
        f->kind = definition_file_kind_from_string(kind->string);
        if (f->kind < 0) {
                q = definition_quote(kind->string, strlen(kind->string));
                return manifest_fail(ret_error, -EBADMSG, kind,
                                     "%s: kind %s is not one of: yara, sha256-list", what,
                                     strnull(q));
        }

        r = manifest_member(e, "size", JSON_INTEGER, what, &size, ret_error);
        if (r < 0)
                return r;
        if (size->integer < 0)
                return manifest_fail(ret_error, -EBADMSG, size, "%s: size is negative", what);
        if ((uint64_t) size->integer > DEFINITIONS_FILE_MAX_SIZE)
                return manifest_fail(ret_error, -E2BIG, size,
                                     "%s: size %" PRIi64 " is over the limit of %" PRIu64 " bytes",
                                     what, size->integer, DEFINITIONS_FILE_MAX_SIZE);
        f->size = (uint64_t) size->integer;

        f->path = strdup(path->string);
        return f->path ? 0 : -ENOMEM;
}

typedef struct PathIndex {
        const char *path;
        size_t index;
} PathIndex;

static int path_index_compare(const void *a, const void *b) {
        const PathIndex *x = a, *y = b;
        int c = strcmp(x->path, y->path);

        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Refuses a path listed twice, and a path that is also a directory of another listed path. */
static int manifest_check_paths(const DefinitionManifest *m, const JsonNode *files,
                                char **ret_error) {
        _cleanup_free_ PathIndex *sorted = NULL;

        if (m->n_files == 0)
                return 0;
        sorted = calloc(m->n_files, sizeof(PathIndex));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_files; i++)
                sorted[i] = (PathIndex) { .path = m->files[i].path, .index = i };
        qsort(sorted, m->n_files, sizeof(PathIndex), path_index_compare);

        for (size_t i = 1; i < m->n_files; i++)
                if (streq(sorted[i - 1].path, sorted[i].path)) {
                        size_t later = sorted[i].index;

                        return manifest_fail(ret_error, -EBADMSG, files->array.items[later],
                                             "file %zu: path '%s' is listed twice (also file %zu)",
                                             later + 1, sorted[i].path, sorted[i - 1].index + 1);
                }

        for (size_t i = 0; i < m->n_files; i++) {
                const char *path = m->files[i].path;

                for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
                        char prefix[DEFINITIONS_PATH_MAX + 1];
                        PathIndex key = { .path = prefix, .index = 0 };
                        PathIndex *hit;
                        size_t lo = 0, hi = m->n_files;

                        memcpy(prefix, path, s - path);
                        prefix[s - path] = '\0';
                        /* Lower bound of (prefix, 0): any entry with that path sorts there. */
                        while (lo < hi) {
                                size_t mid = lo + (hi - lo) / 2;

                                if (path_index_compare(&sorted[mid], &key) < 0)
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                        hit = lo < m->n_files && streq(sorted[lo].path, prefix) ? &sorted[lo] : NULL;
                        if (hit)
                                return manifest_fail(ret_error, -EBADMSG, files->array.items[i],
                                                     "file %zu: path '%s' is inside '%s', which "
                                                     "is listed as a file (file %zu)",
                                                     i + 1, path, prefix, hit->index + 1);
                }
        }
        return 0;
}

static int manifest_parse_tree(const JsonNode *root, DefinitionManifest *m, char **ret_error) {
        _cleanup_free_ char *q = NULL;
        const JsonNode *format = NULL, *created = NULL, *files = NULL;
        uint64_t total = 0;
        int r;

        if (root->type != JSON_OBJECT)
                return manifest_fail(ret_error, -EBADMSG, root, "expected an object, found %s",
                                     json_type_to_string(root->type));

        /* The format decides what the rest means: check it before anything else. */
        r = manifest_member(root, "format", JSON_INTEGER, "manifest", &format, ret_error);
        if (r < 0)
                return r;
        if (format->integer != DEFINITIONS_MANIFEST_FORMAT)
                return manifest_fail(ret_error, -EPROTONOSUPPORT, format,
                                     "format %" PRIi64 " is not supported (this engine reads "
                                     "format %d)", format->integer, DEFINITIONS_MANIFEST_FORMAT);

        r = manifest_version(root, "version", &m->version, ret_error);
        if (r < 0)
                return r;

        r = manifest_member(root, "created", JSON_STRING, "manifest", &created, ret_error);
        if (r < 0)
                return r;
        if (definition_time_parse(created->string, &m->created_usec) < 0) {
                q = definition_quote(created->string, strlen(created->string));
                return manifest_fail(ret_error, -EBADMSG, created,
                                     "\"created\": %s is not an RFC 3339 UTC time such as "
                                     "2026-11-23T00:00:00Z", strnull(q));
        }

        r = manifest_version(root, "minimumEngineVersion", &m->minimum_engine_version, ret_error);
        if (r < 0)
                return r;

        r = manifest_member(root, "files", JSON_ARRAY, "manifest", &files, ret_error);
        if (r < 0)
                return r;
        if (files->array.n == 0)
                return manifest_fail(ret_error, -EBADMSG, files, "\"files\": the pack lists no files");
        if (files->array.n > DEFINITIONS_MAX_FILES)
                return manifest_fail(ret_error, -E2BIG, files,
                                     "\"files\": %zu files, over the limit of %d",
                                     files->array.n, DEFINITIONS_MAX_FILES);

        m->files = calloc(files->array.n, sizeof(DefinitionManifestFile));
        if (!m->files)
                return -ENOMEM;
        for (size_t i = 0; i < files->array.n; i++) {
                r = manifest_parse_file(files->array.items[i], i, &m->files[i], ret_error);
                if (r < 0)
                        return r;
                m->n_files++;
                total += m->files[i].size;
                if (total > DEFINITIONS_TOTAL_MAX_SIZE)
                        return manifest_fail(ret_error, -E2BIG, files->array.items[i],
                                             "file %zu: the files add up to more than the limit "
                                             "of %" PRIu64 " bytes", i + 1,
                                             DEFINITIONS_TOTAL_MAX_SIZE);
        }

        return manifest_check_paths(m, files, ret_error);
}

int definition_manifest_parse(const char *text, size_t size, DefinitionManifest **ret,
                              char **ret_error) {
        _cleanup_(definition_manifest_freep) DefinitionManifest *m = NULL;
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        JsonError e = {};
        int r;

        if (size > DEFINITIONS_MANIFEST_MAX_SIZE)
                return definition_error(ret_error, -E2BIG,
                                        DEFINITIONS_MANIFEST_NAME ": larger than the limit of %d "
                                        "bytes", DEFINITIONS_MANIFEST_MAX_SIZE);

        r = json_parse(text, size, &root, &e);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return definition_error(ret_error, r == -E2BIG ? -E2BIG : -EBADMSG,
                                        DEFINITIONS_MANIFEST_NAME ":%u:%u: %s",
                                        e.line, e.column, e.message);

        m = calloc(1, sizeof(DefinitionManifest));
        if (!m)
                return -ENOMEM;
        r = manifest_parse_tree(root, m, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

static bool manifest_is_valid(const DefinitionManifest *m) {
        if (!definitions_version_is_valid(m->version) ||
            !definitions_version_is_valid(m->minimum_engine_version) ||
            m->n_files == 0 || m->n_files > DEFINITIONS_MAX_FILES)
                return false;
        for (size_t i = 0; i < m->n_files; i++)
                if (definition_path_invalid_reason(m->files[i].path) ||
                    !definition_file_kind_to_string(m->files[i].kind) ||
                    m->files[i].size > DEFINITIONS_FILE_MAX_SIZE)
                        return false;
        return true;
}

int definition_manifest_format(const DefinitionManifest *m, char **ret_text, size_t *ret_size) {
        _cleanup_free_ char *text = NULL;
        char created[64];
        size_t size = 0;
        bool failed;
        FILE *f;
        int r;

        /* Every string written is validated to need no JSON escaping. */
        if (!manifest_is_valid(m))
                return -EINVAL;
        r = definition_time_format(m->created_usec, created, sizeof(created));
        if (r < 0)
                return -EINVAL;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "{\n"
                "  \"format\": %d,\n"
                "  \"version\": \"%s\",\n"
                "  \"created\": \"%s\",\n"
                "  \"minimumEngineVersion\": \"%s\",\n"
                "  \"files\": [\n",
                DEFINITIONS_MANIFEST_FORMAT, m->version, created, m->minimum_engine_version);
        for (size_t i = 0; i < m->n_files; i++) {
                char hex[65];

                definition_sha256_to_hex(m->files[i].sha256, hex);
                fprintf(f, "    { \"path\": \"%s\", \"sha256\": \"%s\", \"kind\": \"%s\", "
                        "\"size\": %" PRIu64 " }%s\n",
                        m->files[i].path, hex, definition_file_kind_to_string(m->files[i].kind),
                        m->files[i].size, i + 1 < m->n_files ? "," : "");
        }
        fprintf(f, "  ]\n}\n");
        failed = ferror(f);
        if (fclose(f) != 0 || failed)
                return -ENOMEM;

        *ret_text = TAKE_PTR(text);
        if (ret_size)
                *ret_size = size;
        return 0;
}
