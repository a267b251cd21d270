/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the threats module, shared by its .c files and its unit test only: the record as
 * the store keeps it, field validation, the path escaping, and the JSON reader and writer of the
 * history file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "threats/threats.h"

#define THREAT_FILE_VERSION 1
#define THREAT_JSON_MAX_DEPTH 64        /* a valid file nests 5 deep */

/* A record serialised: immutable once made, shared by the entry and the writes queued on the
 * executor, so that a write snapshots the history by taking references instead of copying
 * megabytes on the main loop. n_ref is only ever changed on the main thread (writes take and
 * drop their references there); the worker only reads data. */
typedef struct ThreatJson {
        unsigned n_ref;
        size_t size;                    /* of data, without the NUL */
        char data[];
} ThreatJson;

ThreatJson *threat_json_ref(ThreatJson *j);
/* NULL-safe; frees on the last reference; returns NULL. */
ThreatJson *threat_json_unref(ThreatJson *j);

/* A record and what the store keeps beside it. The Threat comes first, so a const Threat * the
 * store handed out converts back with threat_entry_of(). */
typedef struct ThreatEntry {
        Threat threat;
        ThreatJson *json;               /* the record serialised, or NULL when not yet (or no
                                         * longer, after a change) */
} ThreatEntry;

static inline ThreatEntry *threat_entry_of(const Threat *t) {
        return (ThreatEntry *) t;
}

/* Frees an entry and everything it owns (NULL-safe); returns NULL. */
ThreatEntry *threat_entry_free(ThreatEntry *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(ThreatEntry *, threat_entry_free);

/* Entries by id: open addressing with linear probing over a power-of-two table kept at most half
 * full. Borrows the entries. Ids are compared as stored (lowercase). */
typedef struct ThreatIndex {
        ThreatEntry **slots;
        size_t capacity;                /* 0 or a power of two */
        size_t n;
} ThreatIndex;

#define THREAT_INDEX_INIT ((ThreatIndex) {})

void threat_index_done(ThreatIndex *x);
/* Makes room for count entries in all, so that adding up to that many cannot fail. 0, -ENOMEM. */
int threat_index_reserve(ThreatIndex *x, size_t count);
/* Adds e: 0, -EEXIST (an entry with that id is there) or -ENOMEM. */
int threat_index_add(ThreatIndex *x, ThreatEntry *e);
ThreatEntry *threat_index_get(const ThreatIndex *x, const char *id);
/* A new index of items[0..n) in *ret (ids known to be unique): 0 or -ENOMEM. */
int threat_index_build(ThreatEntry * const *items, size_t n, ThreatIndex *ret);

/* Length of the valid UTF-8 sequence (strict: no overlong forms, surrogates or code points above
 * U+10FFFF) that starts at s[0], given n > 0 bytes; 0 when s[0] does not start one. */
size_t threat_utf8_sequence(const unsigned char *s, size_t n);
bool threat_utf8_valid(const char *s, size_t n);

/* Field checks shared by record() and the reader. */
bool threat_id_valid(const char *s);              /* UUID form, either case */
bool threat_name_valid(const char *s);
bool threat_type_valid(const char *s);
/* "" or 64 hex digits; writes the lowercase form into out (THREAT_SHA256_LENGTH + 1 bytes). */
bool threat_sha256_normalize(const char *s, char *out);

/* Copies a detail: invalid UTF-8 bytes become U+FFFD, the result is cut at a character boundary
 * to at most THREAT_DETAIL_MAX bytes. NULL in, NULL out (returns 0). Returns 0 or -ENOMEM. */
int threat_detail_sanitize(const char *s, char **ret);

/* Fills id with a new random version-4 UUID in lowercase (THREAT_ID_LENGTH + 1 bytes) from
 * getrandom(), or /dev/urandom when getrandom() cannot answer without blocking. 0 or -errno. */
int threat_id_generate(char *id);

/* Serialises the record into e->json (one JSON object, no newline) unless it is there already.
 * Returns 0, -EINVAL (a string yajl refuses: a bug) or -ENOMEM. */
int threat_entry_serialize(ThreatEntry *e);

/* The outcome of reading a history file. */
typedef struct ThreatFile {
        ThreatEntry **entries;          /* in file order, oldest first */
        size_t n_entries;
        size_t n_invalid;               /* records skipped by validation */
        ThreatIndex index;              /* of entries */
        unsigned line, column;          /* where a fatal problem was found (0 when not known) */
        char error[256];                /* what it is; "" when the file could be used */
} ThreatFile;

/* Frees the entries; the ThreatFile itself is the caller's. */
void threat_file_done(ThreatFile *f);

/* Parses data[0..size). Returns 0 when the file can be used (some records may be skipped and
 * counted in f->n_invalid), -EBADMSG when it cannot (f->error says why and f->line/column where),
 * or -ENOMEM. f is filled either way; free it with threat_file_done(). */
int threat_file_parse(const char *data, size_t size, ThreatFile *f);

/* For tests: lowers the size a saved file may have (default THREAT_STORE_FILE_MAX). */
void threat_store_set_file_max(ThreatStore *s, size_t max);
