/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sha256-list files of a definition pack: one block-list entry per line,
 *
 *   <64 hex digits> TAB <threat name> TAB <threat type>
 *
 * with '#' comment lines (the '#' in the first column) and blank lines. Validation is strict, so
 * that a typo in a list fails the pack build (mdatp-pack uses this parser) rather than quietly
 * dropping an entry.
 *
 * No state; no logging. Input is untrusted here (the fuzzer feeds it anything).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "definitions/definitions-internal.h"
#include "util/macro.h"

#define HASH_LIST_LINE_MAX 1024

static bool is_alnum_(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
}

/* Length of the run of [A-Za-z0-9_] at s. */
static size_t span_word(const char *s) {
        size_t n = 0;

        while (is_alnum_(s[n]))
                n++;
        return n;
}

bool definition_threat_name_is_valid(const char *s) {
        size_t n;

        if (!s || strlen(s) > DEFINITIONS_THREAT_NAME_MAX)
                return false;
        n = span_word(s);               /* Type */
        if (n == 0 || s[n] != ':')
                return false;
        s += n + 1;
        n = span_word(s);               /* Platform */
        if (n == 0 || s[n] != '/')
                return false;
        s += n + 1;
        if (*s == '\0')                 /* Family, variant and suffixes: "Mirai.B!MTB" */
                return false;
        for (; *s; s++)
                if (!is_alnum_(*s) && !strchr(".!#@+-", *s))
                        return false;
        return true;
}

bool definition_threat_type_is_valid(const char *s) {
        if (!s || !(s[0] >= 'a' && s[0] <= 'z') || strlen(s) > DEFINITIONS_THREAT_TYPE_MAX)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
                        return false;
        return true;
}

void definition_hash_list_done(DefinitionHashList *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->entries[i].name);
                free(l->entries[i].type);
        }
        free(l->entries);
        free(l->lines);
        *l = (DefinitionHashList) {};
}

typedef struct HashListParser {
        const char *name;
        DefinitionHashList list;
        size_t capacity;
        char **ret_error;
} HashListParser;

/* Appends an entry, taking over name and type (freed on failure too). */
static int hash_list_append(HashListParser *p, const uint8_t sha256[32], char *name, char *type,
                            unsigned line) {
        if (p->list.n == p->capacity) {
                size_t c = MAX(p->capacity * 2, (size_t) 16);
                DefinitionHashEntry *entries;
                unsigned *lines;

                entries = reallocarray(p->list.entries, c, sizeof(DefinitionHashEntry));
                if (!entries)
                        goto oom;
                p->list.entries = entries;
                lines = reallocarray(p->list.lines, c, sizeof(unsigned));
                if (!lines)
                        goto oom;
                p->list.lines = lines;
                p->capacity = c;
        }

        p->list.entries[p->list.n] = (DefinitionHashEntry) { .name = name, .type = type };
        memcpy(p->list.entries[p->list.n].sha256, sha256, 32);
        p->list.lines[p->list.n] = line;
        p->list.n++;
        return 0;

oom:
        free(name);
        free(type);
        return -ENOMEM;
}

/* Parses one non-blank, non-comment line of len bytes (no '\n'). */
static int hash_list_line(HashListParser *p, const char *s, size_t len, unsigned line) {
        _cleanup_free_ char *tname = NULL, *ttype = NULL, *q = NULL;
        const char *f[3] = { s };
        size_t n = 0, flen[3] = {};
        uint8_t sha256[32];

        /* Split at TABs: f[i] starts field i, flen[i] is its length; n counts the fields. */
        for (size_t i = 0; i <= len; i++)
                if (i == len || s[i] == '\t') {
                        if (n < 3)
                                flen[n] = (size_t) (s + i - f[n]);
                        n++;
                        if (n < 3)
                                f[n] = s + i + 1;
                }
        if (n != 3)
                return definition_error(p->ret_error, -EBADMSG,
                                        "%s:%u: expected 3 TAB-separated fields (SHA-256, threat "
                                        "name, threat type), found %zu", p->name, line, n);

        if (definition_sha256_from_hex(f[0], flen[0], sha256) < 0) {
                q = definition_quote(f[0], flen[0]);
                return definition_error(p->ret_error, -EBADMSG,
                                        "%s:%u: %s is not a SHA-256 (64 hex digits)", p->name,
                                        line, strnull(q));
        }

        tname = strndup(f[1], flen[1]);
        ttype = strndup(f[2], flen[2]);
        if (!tname || !ttype)
                return -ENOMEM;
        if (!definition_threat_name_is_valid(tname)) {
                q = definition_quote(f[1], flen[1]);
                return definition_error(p->ret_error, -EBADMSG,
                                        "%s:%u: threat name %s is not of the form "
                                        "Type:Platform/Family (letters, digits, '_'; the family "
                                        "may also use . ! # @ + -)", p->name, line, strnull(q));
        }
        if (!definition_threat_type_is_valid(ttype)) {
                q = definition_quote(f[2], flen[2]);
                return definition_error(p->ret_error, -EBADMSG,
                                        "%s:%u: threat type %s is not lowercase letters, digits "
                                        "and '_' (starting with a letter)", p->name, line,
                                        strnull(q));
        }

        return hash_list_append(p, sha256, TAKE_PTR(tname), TAKE_PTR(ttype), line);
}

/* Orders entry indices by SHA-256, then by position. qsort_r() (glibc) carries the list. */
static int entry_index_compare(const void *a, const void *b, void *userdata) {
        const DefinitionHashList *l = userdata;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;
        int c = memcmp(l->entries[x].sha256, l->entries[y].sha256, 32);

        if (c != 0)
                return c;
        return x < y ? -1 : x > y;
}

/* Refuses a SHA-256 listed twice, naming both lines. */
static int hash_list_check_duplicates(HashListParser *p) {
        _cleanup_free_ size_t *order = NULL;
        DefinitionHashList *l = &p->list;

        if (l->n < 2)
                return 0;
        order = calloc(l->n, sizeof(size_t));
        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++)
                order[i] = i;
        qsort_r(order, l->n, sizeof(size_t), entry_index_compare, l);

        for (size_t i = 1; i < l->n; i++) {
                size_t first = order[i - 1], later = order[i];
                char hex[65];

                if (memcmp(l->entries[first].sha256, l->entries[later].sha256, 32) != 0)
                        continue;
                definition_sha256_to_hex(l->entries[later].sha256, hex);
                return definition_error(p->ret_error, -EBADMSG,
                                        "%s:%u: SHA-256 %s is already listed on line %u",
                                        p->name, l->lines[later], hex, l->lines[first]);
        }
        return 0;
}

int definition_hash_list_parse(const char *name, const char *text, size_t size,
                               DefinitionHashList *ret, char **ret_error) {
        HashListParser p = {
                .name = name,
                .ret_error = ret_error,
        };
        unsigned line = 0;
        int r = 0;

        for (size_t off = 0; off < size;) {
                const char *s = text + off, *nl = memchr(s, '\n', size - off);
                size_t len = nl ? (size_t) (nl - s) : size - off;
                bool blank = true;

                off += len + (nl ? 1 : 0);
                if (++line == 0) {              /* more than 4G lines; cannot be in a 64 MiB file */
                        r = -E2BIG;
                        break;
                }

                if (len > HASH_LIST_LINE_MAX) {
                        r = definition_error(ret_error, -EBADMSG,
                                             "%s:%u: line is longer than %d bytes", name, line,
                                             HASH_LIST_LINE_MAX);
                        break;
                }
                if (memchr(s, '\0', len)) {
                        r = definition_error(ret_error, -EBADMSG, "%s:%u: contains a NUL byte",
                                             name, line);
                        break;
                }
                if (memchr(s, '\r', len)) {
                        r = definition_error(ret_error, -EBADMSG,
                                             "%s:%u: contains a carriage return (use Unix line "
                                             "endings)", name, line);
                        break;
                }
                for (size_t i = 0; i < len && blank; i++)
                        blank = s[i] == ' ' || s[i] == '\t';
                if (blank || s[0] == '#')
                        continue;

                r = hash_list_line(&p, s, len, line);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = hash_list_check_duplicates(&p);
        if (r < 0) {
                definition_hash_list_done(&p.list);
                return r;
        }

        *ret = p.list;
        return 0;
}
