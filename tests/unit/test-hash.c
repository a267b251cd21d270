/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of util/hash.h (FNV-1a, 64 bit) and of the values persisted with it. */

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings/settings.h"
#include "util/hash.h"

/* The published FNV-1a 64 test vectors. */
static const struct {
        const char *text;
        uint64_t hash;
} vectors[] = {
        { "", UINT64_C(0xcbf29ce484222325) },
        { "a", UINT64_C(0xaf63dc4c8601ec8c) },
        { "foobar", UINT64_C(0x85944171f73967e8) },
};

START_TEST(test_vectors) {
        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                const char *t = vectors[i].text;

                ck_assert_uint_eq(fnv1a64(t, strlen(t)), vectors[i].hash);
                ck_assert_uint_eq(fnv1a64_add_string(FNV1A64_INIT, t), vectors[i].hash);
        }
        ck_assert_uint_eq(fnv1a64(NULL, 0), FNV1A64_INIT);
}
END_TEST

START_TEST(test_incremental) {
        uint64_t h = FNV1A64_INIT;

        /* Bytes, strings and buffers in any split give the hash of the whole. */
        h = fnv1a64_add_byte(h, 'f');
        h = fnv1a64_add_string(h, "oo");
        h = fnv1a64_add(h, "ba", 2);
        h = fnv1a64_add_string(h, NULL);
        h = fnv1a64_add_string(h, "");
        h = fnv1a64_add_byte(h, 'r');
        ck_assert_uint_eq(h, UINT64_C(0x85944171f73967e8));

        /* Bytes above 0x7f are taken unsigned. */
        ck_assert_uint_eq(fnv1a64_add_string(FNV1A64_INIT, "\xff"),
                          fnv1a64_add_byte(FNV1A64_INIT, 0xff));
        ck_assert_uint_eq(fnv1a64_add_byte(FNV1A64_INIT, 0xff),
                          (FNV1A64_INIT ^ 0xff) * UINT64_C(0x100000001b3));

        /* A seed changes the value. */
        ck_assert_uint_ne(fnv1a64_add_string(FNV1A64_INIT ^ 1, "a"), UINT64_C(0xaf63dc4c8601ec8c));
}
END_TEST

/* The settings journal names settings.json by this value on disk: it must not change. */
START_TEST(test_settings_text_hash) {
        ck_assert_uint_eq(settings_text_hash("foobar", 6), UINT64_C(0x85944171f73967e8));
        ck_assert_uint_eq(settings_text_hash("", 0), UINT64_C(0xcbf29ce484222325));
        /* Sized, not NUL-terminated: an embedded NUL counts. */
        ck_assert_uint_ne(settings_text_hash("a\0b", 3), settings_text_hash("a", 1));
}
END_TEST

int main(void) {
        Suite *s = suite_create("hash");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_vectors);
        tcase_add_test(tc, test_incremental);
        tcase_add_test(tc, test_settings_text_hash);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
