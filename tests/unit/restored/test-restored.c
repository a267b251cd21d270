/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/restored: what a set matches (unchanged file, any generation, in its
 * grace), how a new set is built from the old (expired entries dropped, the bound kept, the old
 * set untouched), and references dropped on other threads.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "restored/restored.h"

static RestoredFile restored(uint64_t ino, uint64_t expires_usec) {
        return (RestoredFile) {
                .key = { .dev = 9, .ino = ino, .size = 68, .mtime_ns = 5, .ctime_ns = 6 },
                .expires_usec = expires_usec,
        };
}

START_TEST(test_contains) {
        _cleanup_(restored_set_unrefp) RestoredSet *s = NULL;
        RestoredFile f = restored(1, 1000);
        VerdictKey k = f.key;

        ck_assert(!restored_set_contains(NULL, &k, 0));
        ck_assert_uint_eq(restored_set_size(NULL), 0);
        ck_assert_int_eq(restored_set_new(NULL, &f, 0, &s), 0);
        ck_assert_uint_eq(restored_set_size(s), 1);

        ck_assert(restored_set_contains(s, &k, 999));
        /* Whatever definitions judge it. */
        k.generation = 77;
        ck_assert(restored_set_contains(s, &k, 999));
        /* Not once the grace is over. */
        ck_assert(!restored_set_contains(s, &k, 1000));
        ck_assert_uint_eq(restored_set_live(s, 999), 1);
        ck_assert_uint_eq(restored_set_live(s, 1000), 0);
        /* Not once the file changed. */
        k.ctime_ns++;
        ck_assert(!restored_set_contains(s, &k, 0));
}
END_TEST

START_TEST(test_new_from_old) {
        _cleanup_(restored_set_unrefp) RestoredSet *a = NULL, *b = NULL, *c = NULL;
        RestoredFile f1 = restored(1, 100), f2 = restored(2, 300), f3 = restored(3, 400);

        ck_assert_int_eq(restored_set_new(NULL, &f1, 0, &a), 0);
        ck_assert_int_eq(restored_set_new(a, &f2, 50, &b), 0);
        /* The old set is immutable: still one entry. */
        ck_assert_uint_eq(restored_set_size(a), 1);
        ck_assert_uint_eq(restored_set_size(b), 2);
        ck_assert(restored_set_contains(b, &f1.key, 50));
        ck_assert(restored_set_contains(b, &f2.key, 50));

        /* f1 expired at 100: left out of the next set. */
        ck_assert_int_eq(restored_set_new(b, &f3, 200, &c), 0);
        ck_assert_uint_eq(restored_set_size(c), 2);
        ck_assert(!restored_set_contains(c, &f1.key, 0));
        ck_assert(restored_set_contains(c, &f3.key, 200));
}
END_TEST

START_TEST(test_bound) {
        _cleanup_(restored_set_unrefp) RestoredSet *s = NULL;
        RestoredFile extra = restored(UINT64_MAX, 10);

        for (uint64_t i = 0; i < RESTORED_SET_MAX + 5; i++) {
                RestoredFile f = restored(i, 10);
                RestoredSet *n;

                ck_assert_int_eq(restored_set_new(s, &f, 0, &n), 0);
                restored_set_unref(s);
                s = n;
        }
        ck_assert_uint_eq(restored_set_size(s), RESTORED_SET_MAX);
        {
                _cleanup_(restored_set_unrefp) RestoredSet *full = NULL, *after = NULL;

                ck_assert_int_eq(restored_set_new(s, &extra, 0, &full), 0);
                ck_assert(!restored_set_contains(full, &extra.key, 0));
                /* Once the old entries expire there is room again. */
                ck_assert_int_eq(restored_set_new(s, &extra, 10, &after), 0);
                ck_assert_uint_eq(restored_set_size(after), 1);
                ck_assert(restored_set_contains(after, &extra.key, 9));
        }
}
END_TEST

static void *unref_on_thread(void *s) {
        for (int i = 0; i < 1000; i++)
                restored_set_unref(s);
        return NULL;
}

START_TEST(test_refs_across_threads) {
        RestoredSet *s = NULL;
        RestoredFile f = restored(1, 10);
        pthread_t threads[4];

        ck_assert_int_eq(restored_set_new(NULL, &f, 0, &s), 0);
        for (int i = 0; i < 4 * 1000; i++)
                ck_assert_ptr_eq(restored_set_ref(s), s);
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(pthread_create(&threads[i], NULL, unref_on_thread, s), 0);
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        /* One reference left, the first: the set is still whole. */
        ck_assert_uint_eq(restored_set_size(s), 1);
        ck_assert_ptr_null(restored_set_unref(s));
}
END_TEST

static Suite *restored_suite(void) {
        Suite *s = suite_create("restored");
        TCase *tc = tcase_create("set");

        tcase_add_test(tc, test_contains);
        tcase_add_test(tc, test_new_from_old);
        tcase_add_test(tc, test_bound);
        tcase_add_test(tc, test_refs_across_threads);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(restored_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
