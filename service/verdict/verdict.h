/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdict cache: clean verdicts keyed by a file's identity, (device, inode, size, mtime,
 * ctime) and the definitions generation. ctime is in the key because mtime can be set by anyone
 * who can write the file; ctime cannot.
 *
 * Shared by real-time protection workers (on the fanotify permission decision path: a blocked
 * open waits for the lookup), scan workers, the scan walker, the main thread and the background
 * executor that saves it. Every call is thread-safe, and none makes a lookup wait for more than
 * one shard's O(1) work: the table is sharded and preallocated, never grows, rehashes or clears
 * as a whole, and a save copies one shard at a time. See README.md for the design and the bound.
 * This module never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/macro.h"

typedef struct VerdictCache VerdictCache;

typedef struct VerdictKey {
        uint64_t dev, ino, size;
        int64_t mtime_ns, ctime_ns;
        uint64_t generation;            /* which definitions the verdict was made with */
} VerdictKey;

/* Entries a cache made with max_entries 0 holds: 48 MiB of keys. */
#define VERDICT_CACHE_MAX_DEFAULT (1U << 20)

typedef struct VerdictCacheStats {
        size_t entries;                 /* held now */
        size_t capacity;                /* the most it holds: max_entries rounded up */
        uint64_t hits, misses;          /* lookups since the cache was made */
        uint64_t evictions;             /* entries replaced to make room */
} VerdictCacheStats;

/* Makes a cache of at least max_entries entries (0: VERDICT_CACHE_MAX_DEFAULT), all of its
 * memory allocated here and never again. Returns 0, -EINVAL for a bound beyond 2^28 entries, or
 * -ENOMEM. */
int verdict_cache_new(size_t max_entries, VerdictCache **ret);
/* Frees the cache. No other thread may use it any more. NULL-safe; returns NULL. */
VerdictCache *verdict_cache_free(VerdictCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(VerdictCache *, verdict_cache_free);

/* Whether k was inserted and is still held. */
bool verdict_cache_lookup(VerdictCache *c, const VerdictKey *k);
/* Remembers k as clean. When its bucket is full, an entry not looked up lately makes room
 * (a cache, not a record: forgetting costs a rescan, never a wrong verdict). */
void verdict_cache_insert(VerdictCache *c, const VerdictKey *k);
/* Forgets everything, one shard at a time. */
void verdict_cache_clear(VerdictCache *c);
size_t verdict_cache_size(VerdictCache *c);
void verdict_cache_get_stats(VerdictCache *c, VerdictCacheStats *ret);

/* Writes the cache to path atomically (temp file, fsync, rename, directory fsync). Copies one
 * shard at a time under that shard's lock and writes with no lock held, so it may run on any
 * thread while lookups and inserts go on; concurrent saves take turns. Returns 0 or a negative
 * errno. */
int verdict_cache_save(VerdictCache *c, const char *path);
/* Adds the entries of a file verdict_cache_save() wrote. A file that is not one (wrong magic,
 * version, key size or checksum, truncated, a count that does not fit) is refused whole with
 * -EBADMSG and the cache left as it was; one larger than the cache could hold with -E2BIG; a
 * missing one with -ENOENT. */
int verdict_cache_load(VerdictCache *c, const char *path);

/* A key from a stat buffer. */
void verdict_key_from_stat(VerdictKey *k, const struct stat *st, uint64_t generation);
/* Whether two keys name the same unchanged file, whatever definitions judged it. */
bool verdict_key_same_file(const VerdictKey *a, const VerdictKey *b);
