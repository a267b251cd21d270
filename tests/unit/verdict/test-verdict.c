/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/verdict: insert and lookup, the generation in the key, eviction at the
 * bound, concurrent lookups and inserts while saves run (each save loads back), files that must
 * be refused (truncated, wrong magic, version or checksum, a huge count, the older format), and
 * that a lookup does not wait for a save.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <valgrind/valgrind.h>

#include "util/fileio.h"
#include "util/macro.h"
#include "verdict/verdict-internal.h"

static char *tmp_dir;

static void setup(void) {
        const char *base = getenv("TMPDIR") ?: "/tmp";

        ck_assert_int_ge(asprintf(&tmp_dir, "%s/test-verdict.XXXXXX", base), 0);
        ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

/* The tests write no other names than these. */
static void teardown(void) {
        static const char * const names[] = { "scan-cache.bin", "bad.bin" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = path_join(tmp_dir, names[i]);

                (void) unlink(p);
        }
        ck_assert_int_eq(rmdir(tmp_dir), 0);
        tmp_dir = mfree(tmp_dir);
}

static char *tmp_path(const char *name) {
        char *p = path_join(tmp_dir, name);

        ck_assert_ptr_nonnull(p);
        return p;
}

static VerdictKey key(uint64_t ino, uint64_t generation) {
        return (VerdictKey) {
                .dev = 0x801, .ino = ino, .size = 4096 + ino % 7,
                .mtime_ns = 1700000000000000000 + (int64_t) ino,
                .ctime_ns = 1700000000000000001 + (int64_t) ino,
                .generation = generation,
        };
}

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

START_TEST(test_insert_lookup) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        VerdictKey a = key(1, 7), b = key(2, 7);
        VerdictCacheStats st;

        ck_assert_int_eq(verdict_cache_new(1000, &c), 0);
        ck_assert(!verdict_cache_lookup(c, &a));
        verdict_cache_insert(c, &a);
        verdict_cache_insert(c, &a);
        ck_assert(verdict_cache_lookup(c, &a));
        ck_assert(!verdict_cache_lookup(c, &b));
        ck_assert_uint_eq(verdict_cache_size(c), 1);

        verdict_cache_get_stats(c, &st);
        ck_assert_uint_eq(st.entries, 1);
        ck_assert_uint_eq(st.hits, 1);
        ck_assert_uint_eq(st.misses, 2);
        ck_assert_uint_eq(st.evictions, 0);
        ck_assert_uint_ge(st.capacity, 1000);

        /* Any changed part of the identity is another file. */
        b = a;
        b.ctime_ns++;
        ck_assert(!verdict_cache_lookup(c, &b));
        b = a;
        b.size++;
        ck_assert(!verdict_cache_lookup(c, &b));

        verdict_cache_clear(c);
        ck_assert_uint_eq(verdict_cache_size(c), 0);
        ck_assert(!verdict_cache_lookup(c, &a));

        ck_assert_int_eq(verdict_cache_new((size_t) 1 << 29, &c), -EINVAL);
        ck_assert_ptr_null(verdict_cache_free(NULL));
}
END_TEST

START_TEST(test_generation_mismatch) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        VerdictKey old = key(42, 1), now = key(42, 2);

        ck_assert_int_eq(verdict_cache_new(0, &c), 0);
        verdict_cache_insert(c, &old);
        ck_assert(verdict_cache_lookup(c, &old));
        /* Judged by older definitions: a miss, though it is the same unchanged file. */
        ck_assert(!verdict_cache_lookup(c, &now));
        ck_assert(verdict_key_same_file(&old, &now));
        now.mtime_ns++;
        ck_assert(!verdict_key_same_file(&old, &now));
}
END_TEST

START_TEST(test_key_from_stat) {
        struct stat st = {
                .st_dev = 3, .st_ino = 4, .st_size = 5,
                .st_mtim = { .tv_sec = 6, .tv_nsec = 7 },
                .st_ctim = { .tv_sec = 8, .tv_nsec = 9 },
        };
        VerdictKey k;

        verdict_key_from_stat(&k, &st, 10);
        ck_assert_uint_eq(k.dev, 3);
        ck_assert_uint_eq(k.ino, 4);
        ck_assert_uint_eq(k.size, 5);
        ck_assert_int_eq(k.mtime_ns, 6000000007);
        ck_assert_int_eq(k.ctime_ns, 8000000009);
        ck_assert_uint_eq(k.generation, 10);
}
END_TEST

START_TEST(test_eviction_bound) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        VerdictCacheStats st;
        const size_t n = 100000;
        VerdictKey last;

        ck_assert_int_eq(verdict_cache_new(4096, &c), 0);
        for (size_t i = 0; i < n; i++) {
                last = key(i, 1);
                verdict_cache_insert(c, &last);
                ck_assert_uint_le(verdict_cache_size(c), 4096 + 4095);
        }
        verdict_cache_get_stats(c, &st);
        /* The bound is max_entries rounded up to whole buckets, never twice it. */
        ck_assert_uint_ge(st.capacity, 4096);
        ck_assert_uint_lt(st.capacity, 2 * 4096);
        ck_assert_uint_le(st.entries, st.capacity);
        /* Every bucket is full long before 100000 inserts into ~4096 places. */
        ck_assert_uint_eq(st.entries, st.capacity);
        ck_assert_uint_eq(st.evictions, n - st.entries);
        ck_assert(verdict_cache_lookup(c, &last));
}
END_TEST

/* CLOCK spares what is looked up: a key looked up often outlives a flood of inserts, one never
 * looked up again does not. */
START_TEST(test_eviction_spares_hot) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        VerdictKey hot = key(UINT64_C(1) << 40, 1), cold = key((UINT64_C(1) << 40) + 1, 1);

        ck_assert_int_eq(verdict_cache_new(4096, &c), 0);
        verdict_cache_insert(c, &hot);
        verdict_cache_insert(c, &cold);
        for (size_t round = 0; round < 1000; round++) {
                for (size_t i = 0; i < 50; i++) {
                        VerdictKey k = key(round * 50 + i, 1);

                        verdict_cache_insert(c, &k);
                }
                ck_assert_msg(verdict_cache_lookup(c, &hot), "hot key evicted in round %zu",
                              round);
        }
        ck_assert(!verdict_cache_lookup(c, &cold));
}
END_TEST

/* ---- concurrency ---------------------------------------------------------------------------- */

typedef struct Worker {
        VerdictCache *cache;
        atomic_bool *stop;
        unsigned seed;
        uint64_t operations, hits;
} Worker;

static void *worker_run(void *userdata) {
        Worker *w = userdata;

        while (!atomic_load(w->stop)) {
                VerdictKey k = key(rand_r(&w->seed) % 200000, 1);

                if (verdict_cache_lookup(w->cache, &k))
                        w->hits++;
                else
                        verdict_cache_insert(w->cache, &k);
                w->operations++;
        }
        return NULL;
}

START_TEST(test_concurrent_save) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL, *loaded = NULL;
        _cleanup_free_ char *path = tmp_path("scan-cache.bin");
        atomic_bool stop = false;
        Worker workers[4];
        pthread_t threads[ELEMENTSOF(workers)];
        uint64_t operations = 0, hits = 0;
        VerdictKey marker = key(UINT64_C(1) << 50, 9);

        ck_assert_int_eq(verdict_cache_new(1 << 16, &c), 0);
        for (size_t i = 0; i < ELEMENTSOF(workers); i++) {
                workers[i] = (Worker) { .cache = c, .stop = &stop, .seed = (unsigned) i + 1 };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
        }
        for (int i = 0; i < 10; i++) {
                _cleanup_(verdict_cache_freep) VerdictCache *check = NULL;

                ck_assert_int_eq(verdict_cache_save(c, path), 0);
                /* Whatever moment it caught, a save is a whole file. */
                ck_assert_int_eq(verdict_cache_new(1 << 16, &check), 0);
                ck_assert_int_eq(verdict_cache_load(check, path), 0);
                ck_assert_uint_le(verdict_cache_size(check), verdict_cache_size(c));
        }
        atomic_store(&stop, true);
        for (size_t i = 0; i < ELEMENTSOF(workers); i++) {
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
                operations += workers[i].operations;
                hits += workers[i].hits;
        }
        ck_assert_uint_gt(operations, 0);
        ck_assert_uint_gt(hits, 0);

        /* Every lock was given back: the main thread takes each shard again, and the result
         * loads back whole into a cache of the same shape. */
        verdict_cache_insert(c, &marker);
        ck_assert_int_eq(verdict_cache_save(c, path), 0);
        ck_assert_int_eq(verdict_cache_new(1 << 16, &loaded), 0);
        ck_assert_int_eq(verdict_cache_load(loaded, path), 0);
        ck_assert_uint_gt(verdict_cache_size(loaded), 0);
        ck_assert_uint_eq(verdict_cache_size(loaded), verdict_cache_size(c));
        ck_assert(verdict_cache_lookup(loaded, &marker));
}
END_TEST

/* ---- files ---------------------------------------------------------------------------------- */

static void write_bytes(const char *path, const void *data, size_t size) {
        ck_assert_int_eq(write_file_atomic(path, data, size, 0600), 0);
}

static void assert_refused(const char *path, const void *data, size_t size, int error) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;

        write_bytes(path, data, size);
        ck_assert_int_eq(verdict_cache_new(1000, &c), 0);
        ck_assert_int_eq(verdict_cache_load(c, path), error);
        ck_assert_uint_eq(verdict_cache_size(c), 0);
}

START_TEST(test_bad_files) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL, *good = NULL;
        _cleanup_free_ char *path = tmp_path("scan-cache.bin"), *bad = tmp_path("bad.bin");
        _cleanup_free_ char *data = NULL, *copy = NULL;
        size_t size;
        uint64_t count;

        ck_assert_int_eq(verdict_cache_new(1000, &c), 0);
        for (uint64_t i = 0; i < 10; i++) {
                VerdictKey k = key(i, 3);

                verdict_cache_insert(c, &k);
        }
        ck_assert_int_eq(verdict_cache_save(c, path), 0);
        ck_assert_int_eq(read_file_full(path, 1 << 20, &data, &size), 0);
        /* header (24) + 10 keys + checksum (8) */
        ck_assert_uint_eq(size, 24 + 10 * sizeof(VerdictKey) + 8);
        ck_assert_int_eq(verdict_cache_new(1000, &good), 0);
        ck_assert_int_eq(verdict_cache_load(good, path), 0);
        ck_assert_uint_eq(verdict_cache_size(good), 10);

        copy = malloc(size + 4096);
        ck_assert_ptr_nonnull(copy);

        /* Truncated anywhere. */
        assert_refused(bad, data, 0, -EBADMSG);
        assert_refused(bad, data, 10, -EBADMSG);
        assert_refused(bad, data, 24, -EBADMSG);
        assert_refused(bad, data, size - 1, -EBADMSG);
        assert_refused(bad, data, size - 8, -EBADMSG);
        assert_refused(bad, data, size - sizeof(VerdictKey), -EBADMSG);

        /* Wrong magic; the older single-table format. */
        memcpy(copy, data, size);
        memcpy(copy, "MDATPXXX", 8);
        assert_refused(bad, copy, size, -EBADMSG);
        memcpy(copy, data, size);
        memcpy(copy, "MDATPVC1", 8);
        assert_refused(bad, copy, size, -EBADMSG);

        /* Another version, another key size. */
        memcpy(copy, data, size);
        copy[8] ^= 0x7f;
        assert_refused(bad, copy, size, -EBADMSG);
        memcpy(copy, data, size);
        copy[12] ^= 0x01;
        assert_refused(bad, copy, size, -EBADMSG);

        /* One bit of one key, or of the checksum. */
        memcpy(copy, data, size);
        copy[24 + 3 * sizeof(VerdictKey) + 5] ^= 0x10;
        assert_refused(bad, copy, size, -EBADMSG);
        memcpy(copy, data, size);
        copy[size - 1] ^= 0x80;
        assert_refused(bad, copy, size, -EBADMSG);

        /* A huge count, and a count one off from the size. */
        memcpy(copy, data, size);
        count = UINT64_MAX;
        memcpy(copy + 16, &count, sizeof(count));
        assert_refused(bad, copy, size, -EBADMSG);
        count = (UINT64_MAX / sizeof(VerdictKey)) + 1;  /* wraps to a small size if multiplied */
        memcpy(copy + 16, &count, sizeof(count));
        assert_refused(bad, copy, size, -EBADMSG);
        count = 11;
        memcpy(copy + 16, &count, sizeof(count));
        assert_refused(bad, copy, size, -EBADMSG);

        /* Trailing garbage. */
        memcpy(copy, data, size);
        memset(copy + size, 0, sizeof(VerdictKey));
        assert_refused(bad, copy, size + sizeof(VerdictKey), -EBADMSG);

        /* Larger than the cache could hold: not even read. */
        {
                _cleanup_(verdict_cache_freep) VerdictCache *small = NULL;

                ck_assert_int_eq(verdict_cache_new(8, &small), 0);
                ck_assert_int_eq(verdict_cache_load(small, path), -E2BIG);
                ck_assert_uint_eq(verdict_cache_size(small), 0);
        }

        ck_assert_int_eq(verdict_cache_load(c, "/nonexistent/scan-cache.bin"), -ENOENT);
        ck_assert_int_eq(verdict_cache_load_data(c, NULL, 0), -EBADMSG);
        ck_assert_int_eq(verdict_cache_save(c, "/nonexistent/dir/scan-cache.bin"), -ENOENT);
}
END_TEST

/* ---- a lookup does not wait for a save ------------------------------------------------------ */

typedef struct Timer {
        VerdictCache *cache;
        uint64_t range;                 /* keys 0..range were inserted */
        atomic_bool stop;
        atomic_ulong lookups;
        uint64_t max_ns;                /* the slowest lookup not preempted */
        uint64_t hits, preempted;
} Timer;

static void *timer_run(void *userdata) {
        Timer *t = userdata;
        unsigned seed = 7;

        while (!atomic_load(&t->stop)) {
                VerdictKey k = key((uint64_t) rand_r(&seed) % t->range, 1);
                struct rusage before, after;
                uint64_t start, d;

                ck_assert_int_eq(getrusage(RUSAGE_THREAD, &before), 0);
                start = now_ns();
                t->hits += verdict_cache_lookup(t->cache, &k);
                d = now_ns() - start;
                ck_assert_int_eq(getrusage(RUSAGE_THREAD, &after), 0);
                /* A lookup that waits for a lock sleeps (a voluntary switch) and always counts;
                 * one the scheduler only preempted for another process of a busy machine
                 * measures the machine, not the cache, and does not. */
                if (after.ru_nvcsw != before.ru_nvcsw || after.ru_nivcsw == before.ru_nivcsw)
                        t->max_ns = MAX(t->max_ns, d);
                else
                        t->preempted++;
                atomic_fetch_add(&t->lookups, 1);
        }
        return NULL;
}

/* One trial: a full cache saved on this thread while another times lookups. Returns whether
 * the slowest lookup was at least `factor` times shorter than the save. */
static bool trial(VerdictCache *c, uint64_t range, const char *path, unsigned factor) {
        Timer t = { .cache = c, .range = range };
        pthread_t thread;
        uint64_t start, save_ns;
        unsigned long before;

        ck_assert_int_eq(pthread_create(&thread, NULL, timer_run, &t), 0);
        while (atomic_load(&t.lookups) < 1000)
                sched_yield();
        before = atomic_load(&t.lookups);
        start = now_ns();
        ck_assert_int_eq(verdict_cache_save(c, path), 0);
        save_ns = now_ns() - start;
        atomic_store(&t.stop, true);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);

        /* The timing thread ran during the save, and found the keys the cache holds. */
        ck_assert_uint_gt(atomic_load(&t.lookups), before);
        ck_assert_uint_gt(t.hits, 0);
        fprintf(stderr, "save %.3f ms, slowest lookup %.3f ms, %lu lookups during the save, "
                "%" PRIu64 " preempted\n",
                save_ns / 1e6, t.max_ns / 1e6, atomic_load(&t.lookups) - before, t.preempted);
        return t.max_ns * factor < save_ns;
}

START_TEST(test_lookup_during_save) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL, *loaded = NULL;
        _cleanup_free_ char *path = tmp_path("scan-cache.bin");
        /* valgrind runs one thread at a time, so a lookup may wait for a whole time slice of
         * the saving thread: there only one order of magnitude less is asked, and a smaller
         * cache keeps the run short. */
        bool valgrind = RUNNING_ON_VALGRIND;
        size_t n = valgrind ? (size_t) 1 << 17 : VERDICT_CACHE_MAX_DEFAULT;
        unsigned factor = valgrind ? 2 : 10;
        bool ok = false;

        ck_assert_int_eq(verdict_cache_new(n, &c), 0);
        /* Eight times the bound: every bucket is full, whatever the hash did. */
        for (size_t i = 0; i < 8 * n; i++) {
                VerdictKey k = key(i, 1);

                verdict_cache_insert(c, &k);
        }
        ck_assert_uint_eq(verdict_cache_size(c), n);

        /* A loaded two-core machine may preempt the timing thread for a few milliseconds in
         * one trial; a design that holds a lock for the save loses every trial. */
        for (int i = 0; i < 3 && !ok; i++)
                ok = trial(c, 8 * n, path, factor);
        ck_assert_msg(ok, "a lookup waited for a good part of the save");

        ck_assert_int_eq(verdict_cache_new(n, &loaded), 0);
        ck_assert_int_eq(verdict_cache_load(loaded, path), 0);
        ck_assert_uint_eq(verdict_cache_size(loaded), n);
}
END_TEST

static Suite *verdict_suite(void) {
        Suite *s = suite_create("verdict");
        TCase *tc = tcase_create("cache");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_insert_lookup);
        tcase_add_test(tc, test_generation_mismatch);
        tcase_add_test(tc, test_key_from_stat);
        tcase_add_test(tc, test_eviction_bound);
        tcase_add_test(tc, test_eviction_spares_hot);
        tcase_add_test(tc, test_concurrent_save);
        tcase_add_test(tc, test_bad_files);
        tcase_add_test(tc, test_lookup_during_save);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(verdict_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
