/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/scan: full scan roots (the monitored mounts of the table mounts/
 * reads); and what a scan job reports for names holding the archive member separator.
 */
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts/mounts.h"
#include "scan/scan.h"
#include "util/strv.h"

START_TEST(test_full_roots) {
        _cleanup_strv_free_ char **roots = NULL, **env_roots = NULL;
        Mount *m = NULL;
        size_t n = 0;

        ck_assert_int_eq(unsetenv("MDATP_SCAN_FULL_ROOTS"), 0);
        ck_assert_int_eq(scan_full_roots(STRV_MAKE("nfs", "fuse"), &roots), 0);
        ck_assert_int_eq(mounts_read(-1, &m, &n), 0);
        /* Every root is a monitored mount point; every monitored mount point is a root. */
        for (size_t i = 0; i < n; i++) {
                bool wanted = mounts_fstype_is_monitored(m[i].fstype, STRV_MAKE("nfs", "fuse")) &&
                              !mounts_fstype_is_pseudo(m[i].fstype);

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
        mounts_free(m, n);

        ck_assert_int_eq(setenv("MDATP_SCAN_FULL_ROOTS", "/a:relative:/b", 1), 0);
        ck_assert_int_eq(scan_full_roots(NULL, &env_roots), 0);
        ck_assert(strv_equal(env_roots, STRV_MAKE("/a", "/b")));
        ck_assert_int_eq(unsetenv("MDATP_SCAN_FULL_ROOTS"), 0);
}
END_TEST

/* ---- detections: the file and the member stay apart ---------------------------------------- */

#define MEMBER_MARKER "MDATP-TEST-MEMBER-MARKER"

static const char marker_rule[] =
        "rule member_marker {\n"
        "  meta:\n"
        "    threat_name = \"Test:Linux/MemberMarker\"\n"
        "  strings:\n"
        "    $ = \"" MEMBER_MARKER "\"\n"
        "  condition:\n"
        "    all of them\n"
        "}\n";

typedef struct Found {
        size_t n;
        ScanDetection d[16];
} Found;

static void found_add(const ScanDetection *d, void *userdata) {
        Found *f = userdata;

        ck_assert_uint_lt(f->n, ELEMENTSOF(f->d));
        f->d[f->n++] = (ScanDetection) {
                .path = strdup(d->path),
                .member = d->member ? strdup(d->member) : NULL,
                .dev = d->dev,
                .ino = d->ino,
        };
}

static void write_sample(const char *dir, const char *name, const void *data, size_t size) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, size), (ssize_t) size);
}

/* A zip holding one member named "../victim.txt" with the marker. */
static void write_zip(const char *dir, const char *name) {
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        char buf[4096];
        size_t used = 0;

        ck_assert_int_eq(archive_write_set_format_zip(a), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_open_memory(a, buf, sizeof(buf), &used), ARCHIVE_OK);
        archive_entry_set_pathname(e, "../victim.txt");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t) strlen(MEMBER_MARKER));
        ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_data(a, MEMBER_MARKER, strlen(MEMBER_MARKER)),
                         (la_ssize_t) strlen(MEMBER_MARKER));
        archive_entry_free(e);
        ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        write_sample(dir, name, buf, used);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
        (void) st;
        (void) flag;
        (void) f;
        return remove(p);
}

/* Runs a custom scan of root to its end and collects what it found. */
static void scan_collect(const char *root, EngineRules *rules, Found *found) {
        _cleanup_(scan_job_freep) ScanJob *job = NULL;
        ScanState state;
        int r;

        ck_assert_int_eq(scan_job_start(&(ScanJobConfig) {
                                                .kind = SCAN_KIND_CUSTOM,
                                                .roots = STRV_MAKE(root),
                                                .n_threads = 2,
                                                .rules = rules,
                                                .generation = 1,
                                                .engine_options = ENGINE_SCAN_OPTIONS_DEFAULT,
                                        }, &job), 0);
        do {
                struct pollfd pfd = { .fd = scan_job_get_fd(job), .events = POLLIN };

                (void) poll(&pfd, 1, 1000);
                r = scan_job_drain(job, found_add, found, &state);
                ck_assert_int_ge(r, 0);
        } while (r == 0);
        ck_assert_int_eq(state, SCAN_STATE_SUCCEEDED);
}

/* "->" anywhere in a file or directory name, and a member named "../victim.txt": each detection
 * names exactly the file that holds the sample (the one whose identity it carries), the member
 * apart, and the clean victim.txt beside them never. */
START_TEST(test_detections_keep_member_apart) {
        static const char * const names[] = { "victim.txt->x", "->x", "victim.txt->",
                                              "victim.txt->a->b", "victim.txt->d/sample" };
        const EngineRuleSource source = { "marker", marker_rule };
        char dir[] = "/tmp/mdatp-test-scan-XXXXXX";
        EngineRules *rules = NULL;
        Found found = {};
        size_t seen = 0;

        ck_assert_int_eq(engine_global_init(), 0);
        ck_assert_int_eq(engine_rules_new(&source, 1, NULL, 0, "test", &rules, NULL), 0);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        write_sample(dir, "victim.txt", "clean\n", 6);
        {
                _cleanup_free_ char *sub = NULL;

                ck_assert_int_ge(asprintf(&sub, "%s/victim.txt->d", dir), 0);
                ck_assert_int_eq(mkdir(sub, 0755), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                write_sample(dir, names[i], MEMBER_MARKER, strlen(MEMBER_MARKER));
        write_zip(dir, "a.zip");

        scan_collect(dir, rules, &found);
        ck_assert_uint_eq(found.n, ELEMENTSOF(names) + 1);
        for (size_t i = 0; i < found.n; i++) {
                const ScanDetection *d = &found.d[i];
                const char *name = d->path + strlen(dir) + 1;
                struct stat st;

                ck_assert(strneq(d->path, dir, strlen(dir)));
                ck_assert_str_ne(name, "victim.txt");
                ck_assert_int_eq(lstat(d->path, &st), 0);
                ck_assert_uint_eq(d->dev, (uint64_t) st.st_dev);
                ck_assert_uint_eq(d->ino, (uint64_t) st.st_ino);
                if (streq(name, "a.zip"))
                        ck_assert_str_eq(d->member, "../victim.txt");
                else {
                        ck_assert_ptr_null(d->member);
                        for (size_t j = 0; j < ELEMENTSOF(names); j++)
                                if (streq(name, names[j]))
                                        seen |= 1U << j;
                }
                free(d->path);
                free(d->member);
        }
        ck_assert_uint_eq(seen, (1U << ELEMENTSOF(names)) - 1);

        (void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        engine_rules_unref(rules);
        engine_global_done();
}
END_TEST

/* On a full disk the scan history keeps the finished scan in memory and writes it once there
 * is room again, rather than losing it. */
START_TEST(test_history_full_disk) {
        static const char block[4096];
        char fs[] = "/tmp/test-scan-history-XXXXXX", path[64], filler[64];
        ScanHistory h, again;
        int fd, r;

        ck_assert_msg(geteuid() == 0, "this test mounts a tmpfs: run it as root");
        ck_assert_ptr_nonnull(mkdtemp(fs));
        ck_assert_msg(mount("tmpfs", fs, "tmpfs", 0, "size=64k") == 0, "mount: %m");
        snprintf(path, sizeof(path), "%s/scan_history.json", fs);
        snprintf(filler, sizeof(filler), "%s/filler", fs);
        ck_assert_int_eq(scan_history_load(&h, path), 0);
        ck_assert_int_eq(scan_history_put(&h, &(ScanRecord) { .id = 1, .state = SCAN_STATE_RUNNING }), 0);

        fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        while (write(fd, block, sizeof(block)) > 0)
                ;
        while (write(fd, block, 1) > 0)
                ;
        ck_assert_int_eq(close(fd), 0);
        r = scan_history_put(&h, &(ScanRecord) { .id = 1, .state = SCAN_STATE_SUCCEEDED,
                                                 .files_scanned = 20, .threats_found = 20 });
        ck_assert_int_eq(r, -ENOSPC);
        ck_assert_uint_eq(h.n, 1);
        ck_assert_int_eq(h.items[0].state, SCAN_STATE_SUCCEEDED);
        ck_assert_int_eq(scan_history_save(&h), -ENOSPC);

        ck_assert_int_eq(unlink(filler), 0);
        ck_assert_int_eq(scan_history_save(&h), 0);
        ck_assert_int_eq(scan_history_load(&again, path), 0);
        ck_assert_uint_eq(again.n, 1);
        ck_assert_int_eq(again.items[0].state, SCAN_STATE_SUCCEEDED);
        ck_assert_uint_eq(again.items[0].threats_found, 20);
        scan_history_done(&again);
        scan_history_done(&h);
        ck_assert_int_eq(umount2(fs, MNT_DETACH), 0);
        ck_assert_int_eq(rmdir(fs), 0);
}
END_TEST

static Suite *scan_suite(void) {
        Suite *s = suite_create("scan");
        TCase *tc = tcase_create("roots");

        tcase_add_test(tc, test_full_roots);
        suite_add_tcase(s, tc);

        tc = tcase_create("detections");
        tcase_add_test(tc, test_detections_keep_member_apart);
        suite_add_tcase(s, tc);

        tc = tcase_create("history");
        tcase_add_test(tc, test_history_full_disk);
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
