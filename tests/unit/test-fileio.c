/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of util/fileio, in a fresh temporary directory per test. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/macro.h"

static char dir[PATH_MAX];

static void setup(void) {
        const char *tmp = getenv("TMPDIR") ?: "/tmp";

        snprintf(dir, sizeof(dir), "%s/test-fileio-XXXXXX", tmp);
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char p[PATH_MAX * 2];

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                (void) unlink(p);
        }
        if (d)
                closedir(d);
        (void) rmdir(dir);
}

static char *path_in(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static size_t dir_entries(void) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

START_TEST(test_atomic_write_replaces) {
        _cleanup_free_ char *p = path_in("settings.json"), *data = NULL;
        struct stat st;
        size_t size;

        ck_assert_int_eq(write_file_atomic(p, "old content\n", 12, 0644), 0);
        ck_assert_int_eq(write_file_atomic(p, "new", 3, 0600), 0);

        ck_assert_int_eq(read_file_full(p, 1024, &data, &size), 0);
        ck_assert_uint_eq(size, 3);
        ck_assert_str_eq(data, "new");
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        /* The temp file is gone: only the target remains. */
        ck_assert_uint_eq(dir_entries(), 1);
}
END_TEST

START_TEST(test_atomic_write_mode_ignores_umask) {
        _cleanup_free_ char *p = path_in("m");
        mode_t old = umask(077);
        struct stat st;

        ck_assert_int_eq(write_file_atomic(p, "", 0, 0644), 0);
        umask(old);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_uint_eq(st.st_size, 0);
}
END_TEST

START_TEST(test_atomic_write_failure_cleans_up) {
        _cleanup_free_ char *sub = path_in("subdir"), *target = NULL;

        /* The rename fails (the target is a non-empty directory): no temp file may remain. */
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        target = path_in("subdir/x");
        ck_assert_int_eq(write_file_atomic(target, "x", 1, 0644), 0);
        ck_assert_int_lt(write_file_atomic(sub, "y", 1, 0644), 0);
        ck_assert_uint_eq(dir_entries(), 1);
        (void) unlink(target);

        ck_assert_int_eq(write_file_atomic("/nonexistent-dir-for-test/x", "y", 1, 0644),
                         -ENOENT);
        ck_assert_int_eq(write_file_atomic(sub, "y", 1, 0644), -EISDIR);
}
END_TEST

START_TEST(test_read_refuses_symlink) {
        _cleanup_free_ char *p = path_in("real"), *l = path_in("link"), *data = NULL;

        ck_assert_int_eq(write_file_atomic(p, "x", 1, 0644), 0);
        ck_assert_int_eq(symlink(p, l), 0);
        ck_assert_int_eq(read_file_full(l, 1024, &data, NULL), -ELOOP);
        ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_read_refuses_fifo_without_blocking) {
        _cleanup_free_ char *p = path_in("fifo"), *data = NULL;
        time_t start = time(NULL);

        ck_assert_int_eq(mkfifo(p, 0600), 0);
        /* No writer: a blocking open would hang here until the test times out. */
        ck_assert_int_eq(read_file_full(p, 1024, &data, NULL), -EBADFD);
        ck_assert_int_le(time(NULL) - start, 2);
        ck_assert_int_eq(read_file_full(dir, 1024, &data, NULL), -EBADFD);
}
END_TEST

START_TEST(test_read_limits) {
        _cleanup_free_ char *p = path_in("big"), *data = NULL;
        char buf[10000];
        size_t size = 0;

        memset(buf, 'a', sizeof(buf));
        ck_assert_int_eq(write_file_atomic(p, buf, sizeof(buf), 0644), 0);
        ck_assert_int_eq(read_file_full(p, sizeof(buf) - 1, &data, &size), -E2BIG);
        ck_assert_ptr_null(data);
        ck_assert_int_eq(read_file_full(p, sizeof(buf), &data, &size), 0);
        ck_assert_uint_eq(size, sizeof(buf));
        ck_assert_int_eq(data[size], '\0');
        ck_assert_int_eq(memcmp(data, buf, size), 0);
}
END_TEST

START_TEST(test_read_missing_and_empty) {
        _cleanup_free_ char *p = path_in("missing"), *e = path_in("empty"), *data = NULL;
        size_t size = 1;

        ck_assert_int_eq(read_file_full(p, 1024, &data, &size), -ENOENT);
        ck_assert_int_eq(write_file_atomic(e, "", 0, 0644), 0);
        ck_assert_int_eq(read_file_full(e, 1024, &data, &size), 0);
        ck_assert_uint_eq(size, 0);
        ck_assert_str_eq(data, "");
}
END_TEST

START_TEST(test_read_proc_file) {
        _cleanup_free_ char *data = NULL;
        size_t size;

        /* /proc files are regular but report size 0: the reader must not trust st_size. */
        ck_assert_int_eq(read_file_full("/proc/self/status", 1024 * 1024, &data, &size), 0);
        ck_assert_uint_gt(size, 0);
        ck_assert_ptr_nonnull(strstr(data, "Name:"));
}
END_TEST

int main(void) {
        Suite *s = suite_create("fileio");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_atomic_write_replaces);
        tcase_add_test(tc, test_atomic_write_mode_ignores_umask);
        tcase_add_test(tc, test_atomic_write_failure_cleans_up);
        tcase_add_test(tc, test_read_refuses_symlink);
        tcase_add_test(tc, test_read_refuses_fifo_without_blocking);
        tcase_add_test(tc, test_read_limits);
        tcase_add_test(tc, test_read_missing_and_empty);
        tcase_add_test(tc, test_read_proc_file);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
