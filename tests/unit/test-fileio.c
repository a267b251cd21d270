/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of util/fileio, in a fresh temporary directory per test. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

/* Removes the test directory with everything below it (tests make subdirectories and links). */
static void teardown(void) {
        (void) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
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

/* Opens the test directory as the dir_fd the *_at helpers take. */
static int open_dir(void) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        return fd;
}

static void assert_file_is(const char *name, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *p = path_in(name), *got = NULL;
        size_t got_size;
        struct stat st;

        ck_assert_int_eq(lstat(p, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, mode);
        ck_assert_int_eq(read_file_full(p, 1 << 20, &got, &got_size), 0);
        ck_assert_uint_eq(got_size, size);
        ck_assert_mem_eq(got, data, size);
}

START_TEST(test_write_at_exact_bytes) {
        _cleanup_close_ int dfd = open_dir();
        static const char data[] = { 'a', 0, 'b', '\n', (char) 0xff };
        _cleanup_free_ char *sub = path_in("x/y");
        struct stat st;
        mode_t old = umask(077);

        /* Directories on the way are made; mode is the caller's, not the umask's. */
        ck_assert_int_eq(write_file_at(dfd, "x/y/z.bin", data, sizeof(data), 0644), 0);
        ck_assert_int_eq(write_file_at(dfd, "top", "", 0, 0600), 0);
        /* A second file in an existing directory. */
        ck_assert_int_eq(write_file_at(dfd, "x/y/w", "w", 1, 0640), 0);
        umask(old);
        assert_file_is("x/y/z.bin", data, sizeof(data), 0644);
        assert_file_is("top", "", 0, 0600);
        assert_file_is("x/y/w", "w", 1, 0640);
        ck_assert_int_eq(stat(sub, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
}
END_TEST

START_TEST(test_write_at_refuses_existing) {
        _cleanup_close_ int dfd = open_dir();

        ck_assert_int_eq(write_file_at(dfd, "f", "old", 3, 0644), 0);
        ck_assert_int_eq(write_file_at(dfd, "f", "new!", 4, 0644), -EEXIST);
        assert_file_is("f", "old", 3, 0644);
        /* A directory where a file should go. */
        ck_assert_int_eq(mkdirat_durable(dfd, "d", 0755), 0);
        ck_assert_int_eq(write_file_at(dfd, "d", "x", 1, 0644), -EEXIST);
        /* A file where a directory should be. */
        ck_assert_int_eq(write_file_at(dfd, "f/g", "x", 1, 0644), -ENOTDIR);
}
END_TEST

START_TEST(test_write_at_refuses_symlink) {
        _cleanup_close_ int dfd = open_dir();
        _cleanup_free_ char *target = path_in("target"), *tdir = path_in("tdir"),
                            *in_tdir = path_in("tdir/f");
        int r;

        /* A symlink in place of the file, dangling: nothing is created through it. */
        ck_assert_int_eq(symlinkat(target, dfd, "link"), 0);
        ck_assert_int_eq(write_file_at(dfd, "link", "x", 1, 0644), -EEXIST);
        ck_assert_int_eq(access(target, F_OK), -1);
        ck_assert_int_eq(errno, ENOENT);

        /* A symlink in place of a directory on the way: refused, nothing written through it. */
        ck_assert_int_eq(mkdir(tdir, 0755), 0);
        ck_assert_int_eq(symlinkat(tdir, dfd, "dlink"), 0);
        r = write_file_at(dfd, "dlink/f", "x", 1, 0644);
        ck_assert_msg(r == -ENOTDIR || r == -ELOOP, "got %d", r);
        ck_assert_int_eq(access(in_tdir, F_OK), -1);

        /* mkdirat_durable() does not follow one either. */
        ck_assert_int_eq(mkdirat_durable(dfd, "link", 0755), -EEXIST);
        ck_assert_int_eq(access(target, F_OK), -1);
}
END_TEST

START_TEST(test_write_at_bad_input) {
        _cleanup_close_ int dfd = open_dir();
        static const char * const bad[] = {
                "", "/abs", "a//b", "../x", "a/../b", "a/./b", "a/", ".", "..",
        };
        _cleanup_free_ char *longp = malloc(PATH_MAX + 2);
        int fd = -EBADF;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(write_file_at(dfd, bad[i], "x", 1, 0644) == -EINVAL, "'%s'", bad[i]);
        ck_assert_uint_eq(dir_entries(), 0);     /* nothing made on the way either */

        ck_assert_ptr_nonnull(longp);
        memset(longp, 'a', PATH_MAX + 1);
        longp[PATH_MAX + 1] = '\0';
        ck_assert_int_eq(write_file_at(dfd, longp, "x", 1, 0644), -ENAMETOOLONG);

        ck_assert_int_eq(write_file_at(-1, "f", "x", 1, 0644), -EBADF);
        ck_assert_int_eq(create_file_at(dfd, "no/such/../x", 0644, &fd, NULL), -EINVAL);
        ck_assert_int_eq(fd, -EBADF);           /* not written on failure */
        ck_assert_int_eq(mkdirat_durable(dfd, "missing/sub", 0755), -ENOENT);
}
END_TEST

START_TEST(test_create_at_returns_directory) {
        _cleanup_close_ int dfd = open_dir(), fd = -EBADF, parent = -EBADF, fd2 = -EBADF,
                            parent2 = -EBADF;
        _cleanup_free_ char *sub = path_in("p/q");
        struct stat a, b;

        ck_assert_int_eq(create_file_at(dfd, "p/q/f", 0644, &fd, &parent), 0);
        ck_assert_int_eq(write_full(fd, "abc", 3), 0);
        ck_assert_int_eq(fsync_file_and_directory(fd, parent), 0);
        ck_assert_int_eq(fstat(parent, &a), 0);
        ck_assert_int_eq(stat(sub, &b), 0);
        ck_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
        assert_file_is("p/q/f", "abc", 3, 0644);

        /* At the top: the directory fd is a descriptor of dir_fd's directory, the caller's own. */
        ck_assert_int_eq(create_file_at(dfd, "g", 0600, &fd2, &parent2), 0);
        ck_assert_int_ne(parent2, dfd);
        ck_assert_int_eq(fstat(parent2, &a), 0);
        ck_assert_int_eq(fstat(dfd, &b), 0);
        ck_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
        ck_assert_int_eq(fsync_file_and_directory(-1, parent2), -EBADF);
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
        tcase_add_test(tc, test_write_at_exact_bytes);
        tcase_add_test(tc, test_write_at_refuses_existing);
        tcase_add_test(tc, test_write_at_refuses_symlink);
        tcase_add_test(tc, test_write_at_bad_input);
        tcase_add_test(tc, test_create_at_returns_directory);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
