/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of util/strv. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strv.h"

START_TEST(test_extend_length_contains) {
        _cleanup_strv_free_ char **l = NULL;

        ck_assert_uint_eq(strv_length(NULL), 0);
        ck_assert(!strv_contains(NULL, "a"));
        ck_assert_int_eq(strv_extend(&l, "a"), 0);
        ck_assert_int_eq(strv_extend(&l, "b"), 0);
        ck_assert_int_eq(strv_consume(&l, strdup("c")), 0);
        ck_assert_uint_eq(strv_length(l), 3);
        ck_assert_str_eq(l[2], "c");
        ck_assert_ptr_null(l[3]);
        ck_assert(strv_contains(l, "b"));
        ck_assert(!strv_contains(l, "B"));
        /* A failed strdup passed to strv_consume is reported, l unchanged. */
        ck_assert_int_eq(strv_consume(&l, NULL), -ENOMEM);
        ck_assert_uint_eq(strv_length(l), 3);
}
END_TEST

START_TEST(test_copy_equal_join) {
        _cleanup_strv_free_ char **a = NULL, **b = NULL, **empty = NULL;
        _cleanup_free_ char *j = NULL, *j0 = NULL;

        ck_assert_int_eq(strv_extend(&a, "x"), 0);
        ck_assert_int_eq(strv_extend(&a, "yy"), 0);
        b = strv_copy(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_ptr_ne(a[0], b[0]);
        ck_assert(strv_equal(a, b));
        ck_assert_int_eq(strv_extend(&b, "z"), 0);
        ck_assert(!strv_equal(a, b));
        ck_assert(!strv_equal(b, a));
        free(b[2]);
        b[2] = NULL;
        free(b[1]);
        b[1] = strdup("yY");
        ck_assert(!strv_equal(a, b));

        empty = strv_copy(NULL);
        ck_assert_ptr_nonnull(empty);
        ck_assert(strv_equal(empty, NULL));

        j = strv_join(a, ", ");
        ck_assert_str_eq(j, "x, yy");
        j0 = strv_join(NULL, ", ");
        ck_assert_str_eq(j0, "");
        ck_assert_ptr_null(strv_free(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("strv");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_extend_length_contains);
        tcase_add_test(tc, test_copy_equal_join);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
