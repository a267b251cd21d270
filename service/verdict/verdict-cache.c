/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdict cache: a set of VerdictKeys of files found clean.
 *
 * A fixed number of shards, chosen by the key's hash, each with its own mutex and a
 * preallocated array of buckets of VERDICT_WAYS keys (set-associative). A key lives only in its
 * one bucket, so a lookup or an insert compares at most VERDICT_WAYS keys under one shard lock.
 * A full bucket makes room with CLOCK (second chance): a way looked up since the hand last
 * passed is spared once. Nothing ever grows, rehashes or clears the whole table under a lock:
 * the memory is allocated at verdict_cache_new() and a clear or a save takes one shard at a
 * time.
 *
 * Owns its shards and their statistics. Touches no other state; never logs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fileio.h"
#include "verdict/verdict-internal.h"

#define VERDICT_WAYS 8
#define VERDICT_SHARDS_MAX 256
#define VERDICT_ENTRIES_MAX ((size_t) 1 << 28)

/* The file: header, count keys, then a checksum of everything before it. Native byte order:
 * the file never leaves the machine, and a foreign one fails the version check. Files of the
 * older single-table format have another magic and are refused (the cache starts empty). */
#define VERDICT_FILE_MAGIC "MDATPVCS"
#define VERDICT_FILE_VERSION 2U

typedef struct VerdictFileHeader {
        char magic[8];
        uint32_t version;
        uint32_t key_size;              /* sizeof(VerdictKey): a changed key is another format */
        uint64_t count;
} VerdictFileHeader;

typedef struct VerdictBucket {
        VerdictKey keys[VERDICT_WAYS];
        uint8_t used;                   /* bit i: keys[i] holds an entry */
        uint8_t referenced;             /* bit i: keys[i] was looked up since the hand passed */
        uint8_t hand;                   /* the way CLOCK looks at next */
} VerdictBucket;

/* Aligned so that two shards' locks never share a cache line. */
typedef struct __attribute__((aligned(64))) VerdictShard {
        pthread_mutex_t lock;
        VerdictBucket *buckets;         /* n_buckets of them, allocated once */
        size_t n_entries;
        uint64_t hits, misses, evictions;
} VerdictShard;

struct VerdictCache {
        VerdictShard *shards;
        size_t n_shards;                /* a power of two */
        size_t n_buckets;               /* per shard */
        size_t capacity;                /* n_shards * n_buckets * VERDICT_WAYS */
        pthread_mutex_t save_lock;      /* saves take turns; lookups never take it */
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
        /* splitmix64 finaliser: the shard and the bucket come from different bits, so spread
         * everything into all of them. */
        h ^= h >> 30;
        h *= UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 27;
        h *= UINT64_C(0x94d049bb133111eb);
        return h ^ (h >> 31);
}

static bool verdict_key_equal(const VerdictKey *a, const VerdictKey *b) {
        return verdict_key_same_file(a, b) && a->generation == b->generation;
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

bool verdict_key_same_file(const VerdictKey *a, const VerdictKey *b) {
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int verdict_cache_new(size_t max_entries, VerdictCache **ret) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        size_t n_buckets_total;

        if (max_entries == 0)
                max_entries = VERDICT_CACHE_MAX_DEFAULT;
        if (max_entries > VERDICT_ENTRIES_MAX)
                return -EINVAL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        pthread_mutex_init(&c->save_lock, NULL);

        /* As many shards as there are buckets, up to VERDICT_SHARDS_MAX; the buckets spread
         * evenly over them, rounded up. */
        n_buckets_total = (max_entries + VERDICT_WAYS - 1) / VERDICT_WAYS;
        c->n_shards = 1;
        while (c->n_shards * 2 <= MIN(n_buckets_total, (size_t) VERDICT_SHARDS_MAX))
                c->n_shards *= 2;
        c->n_buckets = (n_buckets_total + c->n_shards - 1) / c->n_shards;
        c->capacity = c->n_shards * c->n_buckets * VERDICT_WAYS;

        c->shards = aligned_alloc(64, c->n_shards * sizeof(VerdictShard));
        if (!c->shards)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_shards; i++) {
                c->shards[i] = (VerdictShard) {};
                pthread_mutex_init(&c->shards[i].lock, NULL);
        }
        /* calloc: pages the cache never fills are never touched, so cost no memory. */
        for (size_t i = 0; i < c->n_shards; i++) {
                c->shards[i].buckets = calloc(c->n_buckets, sizeof(VerdictBucket));
                if (!c->shards[i].buckets)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

VerdictCache *verdict_cache_free(VerdictCache *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; c->shards && i < c->n_shards; i++) {
                pthread_mutex_destroy(&c->shards[i].lock);
                free(c->shards[i].buckets);
        }
        free(c->shards);
        pthread_mutex_destroy(&c->save_lock);
        return mfree(c);
}

/* The shard and bucket of k; the caller takes the shard's lock. */
static VerdictShard *verdict_cache_locate(VerdictCache *c, const VerdictKey *k,
                                          VerdictBucket **ret_bucket) {
        uint64_t h = verdict_key_hash(k);
        VerdictShard *s = &c->shards[(h >> 48) & (c->n_shards - 1)];

        *ret_bucket = &s->buckets[(h & UINT64_C(0xffffffffffff)) % c->n_buckets];
        return s;
}

/* The way of b holding k, or -1. Needs the shard's lock. */
static int bucket_find(const VerdictBucket *b, const VerdictKey *k) {
        for (int i = 0; i < VERDICT_WAYS; i++)
                if ((b->used & (1U << i)) && verdict_key_equal(&b->keys[i], k))
                        return i;
        return -1;
}

bool verdict_cache_lookup(VerdictCache *c, const VerdictKey *k) {
        VerdictBucket *b;
        VerdictShard *s = verdict_cache_locate(c, k, &b);
        int way;

        pthread_mutex_lock(&s->lock);
        way = bucket_find(b, k);
        if (way >= 0) {
                b->referenced |= 1U << way;
                s->hits++;
        } else
                s->misses++;
        pthread_mutex_unlock(&s->lock);
        return way >= 0;
}

/* Needs the shard's lock. */
static void shard_insert(VerdictShard *s, VerdictBucket *b, const VerdictKey *k) {
        int way;

        if (bucket_find(b, k) >= 0)
                return;
        if (b->used != (1U << VERDICT_WAYS) - 1) {
                for (way = 0; b->used & (1U << way); way++)
                        ;
                s->n_entries++;
        } else {
                /* CLOCK: at most one lap clears the referenced bits, so this ends within two. */
                for (;;) {
                        way = b->hand;
                        b->hand = (b->hand + 1) % VERDICT_WAYS;
                        if (!(b->referenced & (1U << way)))
                                break;
                        b->referenced &= ~(1U << way);
                }
                s->evictions++;
        }
        b->keys[way] = *k;
        b->used |= 1U << way;
        b->referenced &= ~(1U << way);
}

void verdict_cache_insert(VerdictCache *c, const VerdictKey *k) {
        VerdictBucket *b;
        VerdictShard *s = verdict_cache_locate(c, k, &b);

        pthread_mutex_lock(&s->lock);
        shard_insert(s, b, k);
        pthread_mutex_unlock(&s->lock);
}

void verdict_cache_clear(VerdictCache *c) {
        for (size_t i = 0; i < c->n_shards; i++) {
                VerdictShard *s = &c->shards[i];

                /* One shard is 1/n_shards of the table: a short hold, never the whole. */
                pthread_mutex_lock(&s->lock);
                memset(s->buckets, 0, c->n_buckets * sizeof(VerdictBucket));
                s->n_entries = 0;
                pthread_mutex_unlock(&s->lock);
        }
}

void verdict_cache_get_stats(VerdictCache *c, VerdictCacheStats *ret) {
        VerdictCacheStats st = { .capacity = c->capacity };

        for (size_t i = 0; i < c->n_shards; i++) {
                VerdictShard *s = &c->shards[i];

                pthread_mutex_lock(&s->lock);
                st.entries += s->n_entries;
                st.hits += s->hits;
                st.misses += s->misses;
                st.evictions += s->evictions;
                pthread_mutex_unlock(&s->lock);
        }
        *ret = st;
}

size_t verdict_cache_size(VerdictCache *c) {
        VerdictCacheStats st;

        verdict_cache_get_stats(c, &st);
        return st.entries;
}

/* FNV-1a over 64-bit words (the file is a whole number of them): a check against truncation,
 * bit rot and foreign files, not against an adversary, who could write any entry anyway. */
static uint64_t checksum(const void *data, size_t size) {
        const uint8_t *p = data;
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i + 8 <= size; i += 8) {
                uint64_t w;

                memcpy(&w, p + i, 8);
                h ^= w;
                h *= UINT64_C(1099511628211);
        }
        return h;
}

static size_t file_size_for(size_t count) {
        return sizeof(VerdictFileHeader) + count * sizeof(VerdictKey) + sizeof(uint64_t);
}

/* Copies shard s's entries to out under its lock; returns how many. out has room for all of a
 * shard and is written already (no page faults while the lock is held). */
static size_t shard_copy(VerdictCache *c, VerdictShard *s, uint8_t *out) {
        size_t n = 0;

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < c->n_buckets; i++) {
                const VerdictBucket *b = &s->buckets[i];

                if (b->used == 0)
                        continue;
                for (int w = 0; w < VERDICT_WAYS; w++)
                        if (b->used & (1U << w)) {
                                memcpy(out + n * sizeof(VerdictKey), &b->keys[w],
                                       sizeof(VerdictKey));
                                n++;
                        }
        }
        pthread_mutex_unlock(&s->lock);
        return n;
}

int verdict_cache_save(VerdictCache *c, const char *path) {
        _cleanup_free_ uint8_t *buf = NULL, *scratch = NULL;
        size_t shard_bytes = c->n_buckets * VERDICT_WAYS * sizeof(VerdictKey), size;
        VerdictFileHeader h = {
                .version = VERDICT_FILE_VERSION,
                .key_size = sizeof(VerdictKey),
        };
        uint64_t sum;
        int r;

        if (!path)
                return -EINVAL;
        memcpy(h.magic, VERDICT_FILE_MAGIC, sizeof(h.magic));

        pthread_mutex_lock(&c->save_lock);
        /* Room for a full cache; malloc leaves pages that a smaller one never reaches
         * untouched. Each shard goes first to a scratch buffer that is faulted in before any
         * lock is taken, then to buf with no lock held. */
        buf = malloc(file_size_for(c->capacity));
        scratch = calloc(1, shard_bytes);
        if (!buf || !scratch) {
                pthread_mutex_unlock(&c->save_lock);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_shards; i++) {
                size_t n = shard_copy(c, &c->shards[i], scratch);

                memcpy(buf + sizeof(h) + h.count * sizeof(VerdictKey), scratch,
                       n * sizeof(VerdictKey));
                h.count += n;
        }
        memcpy(buf, &h, sizeof(h));
        size = file_size_for(h.count);
        sum = checksum(buf, size - sizeof(sum));
        memcpy(buf + size - sizeof(sum), &sum, sizeof(sum));

        r = write_file_atomic(path, buf, size, 0600);
        pthread_mutex_unlock(&c->save_lock);
        return r;
}

int verdict_cache_load_data(VerdictCache *c, const void *data, size_t size) {
        const uint8_t *p = data;
        VerdictFileHeader h;
        uint64_t sum;

        if (!data || size < file_size_for(0))
                return -EBADMSG;
        memcpy(&h, p, sizeof(h));
        if (memcmp(h.magic, VERDICT_FILE_MAGIC, sizeof(h.magic)) != 0 ||
            h.version != VERDICT_FILE_VERSION || h.key_size != sizeof(VerdictKey))
                return -EBADMSG;
        /* Compare counts, not sizes: a huge count would overflow the multiplication. */
        if ((size - file_size_for(0)) % sizeof(VerdictKey) != 0 ||
            h.count != (size - file_size_for(0)) / sizeof(VerdictKey) || h.count > c->capacity)
                return -EBADMSG;
        memcpy(&sum, p + size - sizeof(sum), sizeof(sum));
        if (sum != checksum(p, size - sizeof(sum)))
                return -EBADMSG;

        /* Checked whole before the first insert: a bad file adds nothing. */
        for (uint64_t i = 0; i < h.count; i++) {
                VerdictKey k;

                memcpy(&k, p + sizeof(h) + i * sizeof(VerdictKey), sizeof(k));
                verdict_cache_insert(c, &k);
        }
        return 0;
}

int verdict_cache_load(VerdictCache *c, const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        r = read_file_full(path, file_size_for(c->capacity), &buf, &size);
        if (r < 0)
                return r;
        return verdict_cache_load_data(c, buf, size);
}
