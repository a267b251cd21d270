/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/mounts: mountinfo parsing (escapes, optional fields, noexec, broken
 * lines), reading the live table, and the monitored and pseudo filesystem types.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mounts/mounts.h"
#include "util/macro.h"
#include "util/strv.h"

static const char mountinfo[] =
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "36 27 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:4 - ext3 /dev/sdb rw\n"
        "40 27 0:40 / /srv/data rw,nosuid,noexec,relatime - xfs /dev/sdc rw\n"
        "41 27 0:41 / /home/u/remote rw - fuse.sshfs u@h: rw\n"
        "42 27 0:42 / /net rw - nfs4 srv:/e rw\n"
        "43 27 0:43 / /media/usb rw - vfat /dev/sdd1 rw\n"
        "this line is broken\n"
        "44 27 0:44 / /missing-separator rw ext4 /dev/x rw\n"
        "x 27 0:45 / /bad-id rw - ext4 /dev/y rw\n"
        "45 27 0:46 / /last rw - tmpfs tmpfs rw";   /* no final newline */

START_TEST(test_mounts_parse) {
        Mount *m = NULL;
        size_t n = 0;

        ck_assert_int_eq(mounts_parse(mountinfo, &m, &n), 0);
        ck_assert_uint_eq(n, 8);
        ck_assert_int_eq(m[0].id, 27);
        ck_assert_str_eq(m[0].mount_point, "/");
        ck_assert_str_eq(m[0].fstype, "ext4");
        ck_assert_str_eq(m[0].options, "rw,relatime");
        ck_assert(!m[0].noexec);
        ck_assert_str_eq(m[2].mount_point, "/mnt/with space");
        ck_assert_str_eq(m[2].fstype, "ext3");
        ck_assert_int_eq(m[2].id, 36);
        ck_assert(m[3].noexec);
        ck_assert_str_eq(m[4].fstype, "fuse.sshfs");
        ck_assert_str_eq(m[7].mount_point, "/last");
        mounts_free(m, n);

        ck_assert_int_eq(mounts_parse("", &m, &n), 0);
        ck_assert_uint_eq(n, 0);
        mounts_free(m, n);
}
END_TEST

START_TEST(test_mounts_read) {
        Mount *m = NULL;
        size_t n = 0;
        bool root = false;

        ck_assert_int_eq(mounts_read(-1, &m, &n), 0);
        ck_assert_uint_gt(n, 0);
        for (size_t i = 0; i < n; i++)
                root = root || streq(m[i].mount_point, "/");
        ck_assert(root);
        mounts_free(m, n);
}
END_TEST

START_TEST(test_fstype_monitored) {
        ck_assert(mounts_fstype_is_monitored("ext4", NULL));
        ck_assert(mounts_fstype_is_monitored("tmpfs", NULL));
        ck_assert(mounts_fstype_is_monitored("fuseblk", STRV_MAKE("fuse")));
        ck_assert(mounts_fstype_is_monitored("nfs4", NULL));
        ck_assert(!mounts_fstype_is_monitored("nfs4", STRV_MAKE("nfs")));
        ck_assert(!mounts_fstype_is_monitored("fuse.sshfs", STRV_MAKE("FUSE")));
        ck_assert(!mounts_fstype_is_monitored("XFS", NULL));
        ck_assert(!mounts_fstype_is_monitored("xfs", STRV_MAKE("Xfs")));
        ck_assert(!mounts_fstype_is_monitored("proc", NULL));
        ck_assert(!mounts_fstype_is_monitored(NULL, NULL));
}
END_TEST

START_TEST(test_fstype_pseudo) {
        ck_assert(mounts_fstype_is_pseudo("proc"));
        ck_assert(mounts_fstype_is_pseudo("cgroup2"));
        ck_assert(!mounts_fstype_is_pseudo("ext4"));
        ck_assert(!mounts_fstype_is_pseudo("tmpfs"));
        ck_assert(!mounts_fstype_is_pseudo(NULL));
}
END_TEST

/* A read through an fd kept open reads the table from its start again each time, as the marks
 * thread does after a POLLPRI. */
START_TEST(test_mounts_read_fd_again) {
        _cleanup_close_ int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        Mount *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(mounts_read(fd, &a, &na), 0);
        ck_assert_int_eq(mounts_read(fd, &b, &nb), 0);
        ck_assert_uint_gt(na, 0);
        ck_assert_uint_eq(na, nb);
        ck_assert_str_eq(a[0].mount_point, b[0].mount_point);
        mounts_free(a, na);
        mounts_free(b, nb);
        ck_assert_int_eq(mounts_read(INT_MAX - 1, &a, &na), -EBADF);
}
END_TEST

static Suite *mounts_suite(void) {
        Suite *s = suite_create("mounts");
        TCase *tc = tcase_create("table");

        tcase_add_test(tc, test_mounts_parse);
        tcase_add_test(tc, test_mounts_read);
        tcase_add_test(tc, test_mounts_read_fd_again);
        tcase_add_test(tc, test_fstype_monitored);
        tcase_add_test(tc, test_fstype_pseudo);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(mounts_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
