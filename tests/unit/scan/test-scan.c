/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/scan's mount table: mountinfo parsing (escapes, optional fields,
 * noexec, broken lines), the monitored filesystem types and full scan roots.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan.h"
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
        ScanMount *m = NULL;
        size_t n = 0;

        ck_assert_int_eq(scan_mounts_parse(mountinfo, &m, &n), 0);
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
        scan_mounts_free(m, n);

        ck_assert_int_eq(scan_mounts_parse("", &m, &n), 0);
        ck_assert_uint_eq(n, 0);
        scan_mounts_free(m, n);
}
END_TEST

START_TEST(test_mounts_read) {
        ScanMount *m = NULL;
        size_t n = 0;
        bool root = false;

        ck_assert_int_eq(scan_mounts_read(-1, &m, &n), 0);
        ck_assert_uint_gt(n, 0);
        for (size_t i = 0; i < n; i++)
                root = root || streq(m[i].mount_point, "/");
        ck_assert(root);
        scan_mounts_free(m, n);
}
END_TEST

START_TEST(test_fstype_monitored) {
        ck_assert(scan_fstype_is_monitored("ext4", NULL));
        ck_assert(scan_fstype_is_monitored("tmpfs", NULL));
        ck_assert(scan_fstype_is_monitored("fuseblk", STRV_MAKE("fuse")));
        ck_assert(scan_fstype_is_monitored("nfs4", NULL));
        ck_assert(!scan_fstype_is_monitored("nfs4", STRV_MAKE("nfs")));
        ck_assert(!scan_fstype_is_monitored("fuse.sshfs", STRV_MAKE("FUSE")));
        ck_assert(!scan_fstype_is_monitored("XFS", NULL));
        ck_assert(!scan_fstype_is_monitored("xfs", STRV_MAKE("Xfs")));
        ck_assert(!scan_fstype_is_monitored("proc", NULL));
        ck_assert(!scan_fstype_is_monitored(NULL, NULL));
}
END_TEST

START_TEST(test_full_roots) {
        _cleanup_strv_free_ char **roots = NULL, **env_roots = NULL;
        ScanMount *m = NULL;
        size_t n = 0;

        ck_assert_int_eq(unsetenv("MDATP_SCAN_FULL_ROOTS"), 0);
        ck_assert_int_eq(scan_full_roots(STRV_MAKE("nfs", "fuse"), &roots), 0);
        ck_assert_int_eq(scan_mounts_read(-1, &m, &n), 0);
        /* Every root is a monitored mount point; every monitored mount point is a root. */
        for (size_t i = 0; i < n; i++) {
                bool wanted = scan_fstype_is_monitored(m[i].fstype, STRV_MAKE("nfs", "fuse")) &&
                              !scan_fstype_is_pseudo(m[i].fstype);

                if (wanted)
                        ck_assert_msg(strv_contains(roots, m[i].mount_point), "%s",
                                      m[i].mount_point);
        }
        for (char **r = roots; *r; r++) {
                bool found = false;

                for (size_t i = 0; i < n; i++)
                        found = found || streq(m[i].mount_point, *r);
                ck_assert(found);
                for (char **s = r + 1; *s; s++)
                        ck_assert_str_ne(*r, *s);
        }
        scan_mounts_free(m, n);

        ck_assert_int_eq(setenv("MDATP_SCAN_FULL_ROOTS", "/a:relative:/b", 1), 0);
        ck_assert_int_eq(scan_full_roots(NULL, &env_roots), 0);
        ck_assert(strv_equal(env_roots, STRV_MAKE("/a", "/b")));
        ck_assert_int_eq(unsetenv("MDATP_SCAN_FULL_ROOTS"), 0);
}
END_TEST

static Suite *scan_suite(void) {
        Suite *s = suite_create("scan");
        TCase *tc = tcase_create("mounts");

        tcase_add_test(tc, test_mounts_parse);
        tcase_add_test(tc, test_mounts_read);
        tcase_add_test(tc, test_fstype_monitored);
        tcase_add_test(tc, test_full_roots);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(scan_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
