/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdict cache: a set of VerdictKeys of files found clean. Open addressing with linear
 * probing, grown by doubling up to a bound; when the bound is reached the cache starts over
 * (a cache, not a record: forgetting costs a rescan, never a wrong verdict).
 *
 * Owns its table; one mutex guards it because lookups are a few hundred nanoseconds against
 * the milliseconds of a scan. Used by scan workers, the walker and the main thread.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/scan.h"
#include "util/fileio.h"

#define VERDICT_CACHE_MAGIC "MDATPVC1"
#define VERDICT_CACHE_MIN_SLOTS 4096

typedef struct VerdictSlot {
        VerdictKey key;
        bool used;
} VerdictSlot;

struct VerdictCache {
        pthread_mutex_t lock;
        VerdictSlot *slots;
        size_t n_slots;         /* a power of two */
        size_t n_used;
        size_t max_entries;
};

static uint64_t mix(uint64_t h, uint64_t v) {
        h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
        return h;
}

static uint64_t verdict_key_hash(const VerdictKey *k) {
        uint64_t h = 0;

        h = mix(h, k->dev);
        h = mix(h, k->ino);
        h = mix(h, k->size);
        h = mix(h, (uint64_t) k->mtime_ns);
        h = mix(h, (uint64_t) k->ctime_ns);
        h = mix(h, k->generation);
        /* splitmix64 finaliser: low bits index the table, so spread everything into them. */
        h ^= h >> 30;
        h *= UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 27;
        h *= UINT64_C(0x94d049bb133111eb);
        return h ^ (h >> 31);
}

static bool verdict_key_equal(const VerdictKey *a, const VerdictKey *b) {
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
               a->generation == b->generation;
}

void verdict_key_from_stat(VerdictKey *k, const struct stat *st, uint64_t generation) {
        *k = (VerdictKey) {
                .dev = st->st_dev,
                .ino = st->st_ino,
                .size = st->st_size,
                .mtime_ns = (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
                .ctime_ns = (int64_t) st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
                .generation = generation,
        };
}

int verdict_cache_new(size_t max_entries, VerdictCache **ret) {
        VerdictCache *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->max_entries = max_entries ?: VERDICT_CACHE_MAX_DEFAULT;
        pthread_mutex_init(&c->lock, NULL);
        *ret = c;
        return 0;
}

VerdictCache *verdict_cache_free(VerdictCache *c) {
        if (!c)
                return NULL;
        pthread_mutex_destroy(&c->lock);
        free(c->slots);
        return mfree(c);
}

/* Returns the slot holding k, or the empty slot where it would go. Needs the lock. */
static VerdictSlot *verdict_cache_find(VerdictCache *c, const VerdictKey *k) {
        size_t mask = c->n_slots - 1;

        for (size_t i = verdict_key_hash(k) & mask;; i = (i + 1) & mask)
                if (!c->slots[i].used || verdict_key_equal(&c->slots[i].key, k))
                        return &c->slots[i];
}

static int verdict_cache_resize(VerdictCache *c, size_t n_slots) {
        VerdictSlot *old = c->slots;
        size_t n_old = c->n_slots;

        c->slots = calloc(n_slots, sizeof(VerdictSlot));
        if (!c->slots) {
                c->slots = old;
                return -ENOMEM;
        }
        c->n_slots = n_slots;
        for (size_t i = 0; i < n_old; i++)
                if (old[i].used)
                        *verdict_cache_find(c, &old[i].key) = old[i];
        free(old);
        return 0;
}

bool verdict_cache_lookup(VerdictCache *c, const VerdictKey *k) {
        bool found = false;

        pthread_mutex_lock(&c->lock);
        if (c->n_slots > 0)
                found = verdict_cache_find(c, k)->used;
        pthread_mutex_unlock(&c->lock);
        return found;
}

static void verdict_cache_insert_locked(VerdictCache *c, const VerdictKey *k) {
        VerdictSlot *slot;

        if (c->n_used >= c->max_entries) {
                /* Full: start over rather than track ages on every lookup. */
                memset(c->slots, 0, c->n_slots * sizeof(VerdictSlot));
                c->n_used = 0;
        }
        /* Keep the load at most one half so probes stay short. */
        if ((c->n_used + 1) * 2 > c->n_slots &&
            verdict_cache_resize(c, c->n_slots ? c->n_slots * 2 : VERDICT_CACHE_MIN_SLOTS) < 0 &&
            (c->n_slots == 0 || c->n_used + 1 >= c->n_slots))
                return;         /* out of memory: not caching is always correct */

        slot = verdict_cache_find(c, k);
        if (slot->used)
                return;
        *slot = (VerdictSlot) { .key = *k, .used = true };
        c->n_used++;
}

void verdict_cache_insert(VerdictCache *c, const VerdictKey *k) {
        pthread_mutex_lock(&c->lock);
        verdict_cache_insert_locked(c, k);
        pthread_mutex_unlock(&c->lock);
}

void verdict_cache_clear(VerdictCache *c) {
        pthread_mutex_lock(&c->lock);
        free(c->slots);
        c->slots = NULL;
        c->n_slots = c->n_used = 0;
        pthread_mutex_unlock(&c->lock);
}

size_t verdict_cache_size(VerdictCache *c) {
        size_t n;

        pthread_mutex_lock(&c->lock);
        n = c->n_used;
        pthread_mutex_unlock(&c->lock);
        return n;
}

int verdict_cache_save(VerdictCache *c, const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t size, off;
        uint64_t n;
        int r;

        pthread_mutex_lock(&c->lock);
        n = c->n_used;
        size = 8 + sizeof(uint64_t) + n * sizeof(VerdictKey);
        buf = malloc(size);
        if (!buf) {
                pthread_mutex_unlock(&c->lock);
                return -ENOMEM;
        }
        memcpy(buf, VERDICT_CACHE_MAGIC, 8);
        memcpy(buf + 8, &n, sizeof(n));
        off = 8 + sizeof(n);
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].used) {
                        memcpy(buf + off, &c->slots[i].key, sizeof(VerdictKey));
                        off += sizeof(VerdictKey);
                }
        pthread_mutex_unlock(&c->lock);

        r = write_file_atomic(path, buf, size, 0600);
        return r;
}

int verdict_cache_load(VerdictCache *c, const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t size, max = 8 + sizeof(uint64_t) + c->max_entries * sizeof(VerdictKey);
        uint64_t n;
        int r;

        r = read_file_full(path, max, &buf, &size);
        if (r < 0)
                return r;
        if (size < 8 + sizeof(n) || memcmp(buf, VERDICT_CACHE_MAGIC, 8) != 0)
                return -EBADMSG;
        memcpy(&n, buf + 8, sizeof(n));
        if (n > c->max_entries || size != 8 + sizeof(n) + n * sizeof(VerdictKey))
                return -EBADMSG;

        pthread_mutex_lock(&c->lock);
        for (uint64_t i = 0; i < n; i++) {
                VerdictKey k;

                memcpy(&k, buf + 8 + sizeof(n) + i * sizeof(VerdictKey), sizeof(k));
                verdict_cache_insert_locked(c, &k);
        }
        pthread_mutex_unlock(&c->lock);
        return 0;
}

bool verdict_key_same_file(const VerdictKey *a, const VerdictKey *b) {
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

bool restored_file_find(const RestoredFile *files, size_t n, const VerdictKey *key,
                        uint64_t now_usec) {
        for (size_t i = 0; i < n; i++)
                if (files[i].expires_usec > now_usec && verdict_key_same_file(&files[i].key, key))
                        return true;
        return false;
}
