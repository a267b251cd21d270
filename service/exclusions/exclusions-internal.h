/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the exclusions module, shared by its .c files only: the pattern helpers
 * (exclusion-pattern.c) and the string-keyed hash map (exclusion-keymap.c) the set is built from.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The hash a KeyMap files key[0..n) under: FNV-1a (util/hash.h), whose incremental form lets one
 * pass over a path yield the hash of each of its ancestors (exclusion-set.c). */
uint64_t excl_hash(const char *s, size_t n);

/* One key of a KeyMap and what is excluded at it. */
typedef struct KeyEntry {
        char *key;              /* owned, NUL-terminated */
        size_t len;
        uint64_t hash;          /* excl_hash(key, len) */
        unsigned exact_scopes;  /* scopes excluding the key itself (file, extension, name) */
        unsigned below_scopes;  /* scopes excluding everything strictly below the key (folder) */
        uint32_t wild_first;    /* PathIndex: wildcard patterns whose literal prefix is this key */
        uint32_t n_wild;
} KeyEntry;

/* Open addressing with linear probing, load factor at most 1/2. Grows while the set is built,
 * read-only afterwards. */
typedef struct KeyMap {
        KeyEntry *entries;
        size_t n_entries, n_allocated;
        uint32_t *slots;        /* index into entries + 1; 0 = empty */
        size_t n_slots;         /* 0 or a power of two */
        size_t min_len, max_len;/* of the keys, to skip lookups that cannot hit */
} KeyMap;

#define KEY_MAP_INIT {}

/* Finds key[0..len) or adds it with no scopes. Returns its index (>= 0) in m->entries, or
 * -ENOMEM / -E2BIG. Pointers into m->entries are invalidated by the next call. */
int keymap_add(KeyMap *m, const char *key, size_t len);
/* The entry for key[0..len), whose hash the caller passes (excl_hash(key, len)); NULL if none. */
const KeyEntry *keymap_find(const KeyMap *m, const char *key, size_t len, uint64_t hash);
void keymap_done(KeyMap *m);

/* Whether text[0..tn) matches the glob pattern[0..pn): '*' any run of bytes, '?' one UTF-8
 * character (one byte where the text is not valid UTF-8), everything else itself. The caller
 * cuts both at '/' where '/' must not be matched. */
bool excl_glob(const char *pattern, size_t pn, const char *text, size_t tn);

static inline bool excl_has_wildcard(const char *s) {
        for (; *s; s++)
                if (*s == '*' || *s == '?')
                        return true;
        return false;
}

/* Normalises an absolute path pattern without touching the filesystem: duplicate '/' and "."
 * components go, ".." removes the component before it (never above the root), no trailing '/'
 * except for the root itself. A value starting with '*' or '?' is read as if it started with '/'
 * when allow_leading_wildcard is set. *ret_folder is set when the value names a directory by its
 * form: it ends in '/', "/." or "/..", or normalises to the root. Returns 0, -EINVAL for an empty
 * or relative value, -ENOMEM. */
int excl_path_normalize(const char *value, bool allow_leading_wildcard, char **ret,
                        bool *ret_folder);

/* The extension an excludedFileExtension value stands for: without its one optional leading
 * '.'. NULL when nothing is left or it contains '/'. Points into value. */
const char *excl_extension_key(const char *value);
