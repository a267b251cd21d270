/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of quarantine/: add and restore round trips, both in their three steps (bytes, mode with setuid, owner, times),
 * the neutralised copy, refusals (existing names, symlinks on the way or at the end, changed
 * content, bad input), hard links, other file systems, a full disk, names swapped at the worst
 * instant, recovery from every state a crash can leave, persistence and order.
 *
 * The tests need root (chown, mount) and fail, not skip, without it. Each works in a fresh
 * temporary directory and unmounts what it mounted.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "quarantine/quarantine-internal.h"
#include "quarantine/quarantine.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/hexdecode.h"
#include "util/strv.h"
#include "../sample.h"

/* The EICAR string, joined from its halves on first use (see sample.h). */
static const char *eicar_sample(void) {
        static char buf[69];

        if (!buf[0])
                sample_join(buf, sizeof(buf), SAMPLE_EICAR_1, SAMPLE_EICAR_2, NULL);
        return buf;
}

#define EICAR_NAME "Virus:DOS/EICAR_Test_File"
#define EICAR eicar_sample()
#define SHA_EICAR "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
#define SAMPLE_UID 1234
#define SAMPLE_GID 1234
#define ATIME_NS INT64_C(1500000000123456789)
#define MTIME_NS INT64_C(1600000000987654321)

static char dir[PATH_MAX];              /* the test's temporary directory */
static char qdir[PATH_MAX + 32];        /* the quarantine, dir/q unless a test moves it */
static char mounts[4][PATH_MAX + 32];
static size_t n_mounts;

static void setup(void) {
        const char *tmp = getenv("TMPDIR") ?: "/tmp";

        /* Not a skip: a run without root would pass without testing anything. */
        ck_assert_msg(geteuid() == 0, "the quarantine tests must run as root (chown, mount)");
        snprintf(dir, sizeof(dir), "%s/test-quarantine-XXXXXX", tmp);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(qdir, sizeof(qdir), "%s/q", dir);
        quarantine_test_options = (QuarantineTestOptions) {};
        n_mounts = 0;
}

static void remove_tree(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char p[PATH_MAX * 2];
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        remove_tree(p);
                else
                        (void) unlink(p);
        }
        if (d)
                closedir(d);
        (void) rmdir(path);
}

static void teardown(void) {
        while (n_mounts > 0)
                (void) umount2(mounts[--n_mounts], MNT_DETACH);
        quarantine_test_options = (QuarantineTestOptions) {};
        remove_tree(dir);
}

/* ---- helpers ---- */

static const char *strna(const char *s) {
        return s ?: "(null)";
}

static char *path_in(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static void make_dir(const char *path) {
        ck_assert_msg(mkdir(path, 0755) == 0, "mkdir '%s': %m", path);
}

/* A tmpfs of the given size (e.g. "64k") at path, unmounted by teardown. */
static void mount_tmpfs(const char *path, const char *size) {
        char options[64];

        ck_assert_uint_lt(n_mounts, ELEMENTSOF(mounts));
        make_dir(path);
        snprintf(options, sizeof(options), "size=%s,mode=0755", size);
        ck_assert_msg(mount("tmpfs", path, "tmpfs", 0, options) == 0, "mount '%s': %m", path);
        snprintf(mounts[n_mounts++], sizeof(mounts[0]), "%s", path);
}

static void write_bytes(const char *path, const void *data, size_t size) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_msg(fd >= 0, "open '%s': %m", path);
        ck_assert_int_eq(write(fd, data, size), (ssize_t) size);
}

static void write_string(const char *path, const char *s) {
        write_bytes(path, s, strlen(s));
}

static char *read_bytes(const char *path, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        char *data = NULL;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_msg(fd >= 0, "open '%s': %m", path);
        ck_assert_int_eq(read_fd_full(fd, 0, 64 * 1024 * 1024, &data, ret_size), 0);
        return data;
}

static void assert_content(const char *path, const void *expected, size_t size) {
        _cleanup_free_ char *data = NULL;
        size_t n;

        data = read_bytes(path, &n);
        ck_assert_uint_eq(n, size);
        ck_assert(memcmp(data, expected, size) == 0);
}

static dev_t stat_dev(const char *path) {
        struct stat st;

        ck_assert_int_eq(stat(path, &st), 0);
        return st.st_dev;
}

static bool exists(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0;
}

/* EICAR at path, owned by SAMPLE_UID:SAMPLE_GID, mode 04755 (chmod after chown, which clears
 * setuid), with set atime and mtime. */
static void make_sample(const char *path) {
        struct timespec times[2] = {
                { .tv_sec = ATIME_NS / 1000000000, .tv_nsec = ATIME_NS % 1000000000 },
                { .tv_sec = MTIME_NS / 1000000000, .tv_nsec = MTIME_NS % 1000000000 },
        };

        write_string(path, EICAR);
        ck_assert_int_eq(chown(path, SAMPLE_UID, SAMPLE_GID), 0);
        ck_assert_int_eq(chmod(path, 04755), 0);
        ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void assert_sample_metadata(const struct stat *st) {
        ck_assert_uint_eq(st->st_mode & 07777, 04755);
        ck_assert_uint_eq(st->st_uid, SAMPLE_UID);
        ck_assert_uint_eq(st->st_gid, SAMPLE_GID);
        ck_assert_int_eq((int64_t) st->st_atim.tv_sec * 1000000000 + st->st_atim.tv_nsec,
                         ATIME_NS);
        ck_assert_int_eq((int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
                         MTIME_NS);
}

/* path is the sample again: metadata first (reading it may change the atime), then bytes. */
static void assert_sample_at(const char *path, struct stat *ret_st) {
        struct stat st;

        ck_assert_msg(lstat(path, &st) == 0, "lstat '%s': %m", path);
        ck_assert(S_ISREG(st.st_mode));
        assert_sample_metadata(&st);
        assert_content(path, EICAR, strlen(EICAR));
        if (ret_st)
                *ret_st = st;
}

static char *sha256_of(const void *data, size_t size) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char *hex = malloc(65);

        ck_assert_ptr_nonnull(hex);
        ck_assert_int_eq(EVP_Digest(data, size, md, &n, EVP_sha256(), NULL), 1);
        ck_assert_uint_eq(n, 32);
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return hex;
}

/* The names in path, sorted, as a strv (NULL when empty). */
static char **list_dir(const char *path) {
        _cleanup_strv_free_ char **l = NULL;
        DIR *d = opendir(path);
        struct dirent *de;
        size_t n;

        ck_assert_msg(d, "opendir '%s': %m", path);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        ck_assert_int_eq(strv_extend(&l, de->d_name), 0);
        closedir(d);
        n = strv_length(l);
        for (size_t i = 0; i + 1 < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (strcmp(l[i], l[j]) > 0) {
                                char *x = l[i];

                                l[i] = l[j];
                                l[j] = x;
                        }
        return TAKE_PTR(l);
}

static void assert_dir_names(const char *path, char **expected) {
        _cleanup_strv_free_ char **l = list_dir(path);
        _cleanup_free_ char *got = strv_join(l, " "), *want = strv_join(expected, " ");

        ck_assert_msg(strv_equal(l, expected), "'%s' holds [%s], expected [%s]", path,
                      strna(got), strna(want));
}

static void assert_dir_empty(const char *path) {
        assert_dir_names(path, NULL);
}

static QuarantineStore *open_store(void) {
        _cleanup_strv_free_ char **notes = NULL;
        QuarantineStore *q = NULL;

        ck_assert_int_eq(quarantine_store_open(qdir, &q, &notes), 0);
        ck_assert_msg(!notes, "unexpected note: %s", notes ? notes[0] : "");
        return q;
}

/* Opens the store and expects exactly one note, containing each of the given words. */
static QuarantineStore *open_store_noting(const char *word1, const char *word2) {
        _cleanup_strv_free_ char **notes = NULL;
        _cleanup_free_ char *all = NULL;
        QuarantineStore *q = NULL;

        ck_assert_int_eq(quarantine_store_open(qdir, &q, &notes), 0);
        all = strv_join(notes, " | ");
        ck_assert_msg(strv_length(notes) == 1, "expected one note, got: %s", strna(all));
        ck_assert_msg(strstr(notes[0], word1), "note without '%s': %s", word1, notes[0]);
        ck_assert_msg(!word2 || strstr(notes[0], word2), "note without '%s': %s", word2,
                      notes[0]);
        return q;
}

static int add(QuarantineStore *q, const char *id, const char *path, const char *sha) {
        QuarantineAddInput in = {
                .id = id,
                .path = path,
                .threat_name = EICAR_NAME,
                .expected_sha256 = sha,
        };

        return quarantine_store_add(q, &in, NULL);
}

static char *qfile(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", qdir, name), 0);
        return p;
}

/* Replaces the first `from` in the quarantine file name with `to`. */
static void edit_qfile(const char *name, const char *from, const char *to) {
        _cleanup_free_ char *path = qfile(name), *text = NULL, *edited = NULL;
        size_t size;
        char *at;

        text = read_bytes(path, &size);
        at = strstr(text, from);
        ck_assert_msg(at, "'%s' not in %s: %s", from, name, text);
        ck_assert_int_ge(asprintf(&edited, "%.*s%s%s", (int) (at - text), text, to,
                                  at + strlen(from)), 0);
        ck_assert_int_eq(write_file_atomic(path, edited, strlen(edited), 0600), 0);
}

/* ---- the round trip ---- */

START_TEST(test_open_creates_directory) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        struct stat st;

        ck_assert_int_eq(stat(qdir, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0700);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        ck_assert_ptr_null(quarantine_store_at(q, 0));
        ck_assert_ptr_null(quarantine_store_get(q, "x"));
}
END_TEST

START_TEST(test_open_refuses_unsafe_directory) {
        _cleanup_free_ char *real = path_in("real"), *file = path_in("file");
        QuarantineStore *q = NULL;

        make_dir(real);
        ck_assert_int_eq(symlink(real, qdir), 0);
        ck_assert_int_eq(quarantine_store_open(qdir, &q, NULL), -ELOOP);
        ck_assert_int_eq(unlink(qdir), 0);

        ck_assert_int_eq(mkdir(qdir, 0700), 0);
        ck_assert_int_eq(chmod(qdir, 0777), 0);
        ck_assert_int_eq(quarantine_store_open(qdir, &q, NULL), -EPERM);
        ck_assert_int_eq(chmod(qdir, 0720), 0);
        ck_assert_int_eq(quarantine_store_open(qdir, &q, NULL), -EPERM);
        ck_assert_int_eq(chmod(qdir, 0700), 0);
        ck_assert_int_eq(chown(qdir, SAMPLE_UID, 0), 0);
        ck_assert_int_eq(quarantine_store_open(qdir, &q, NULL), -EPERM);
        ck_assert_ptr_null(q);

        write_string(file, "x");
        ck_assert_int_eq(quarantine_store_open(file, &q, NULL), -ENOTDIR);
        ck_assert_int_eq(quarantine_store_open("", &q, NULL), -EINVAL);
}
END_TEST

START_TEST(test_round_trip) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *data = NULL, *copy = NULL,
                            *json = NULL, *restored = NULL;
        const QuarantineEntry *e = NULL;
        QuarantineAddInput in = {
                .id = "Threat-1",
                .path = sample,
                .threat_name = EICAR_NAME,
                /* Either case is accepted. */
                .expected_sha256 = "275A021BBFB6489E54D471899F7DB9D1"
                                   "663FC695EC2FE2A2C4538AABF651FD0F",
        };
        struct stat st, st_restored;
        size_t size;

        make_sample(sample);
        ck_assert_int_eq(quarantine_store_add(q, &in, &e), 0);
        ck_assert_ptr_nonnull(e);
        ck_assert(!exists(sample));

        ck_assert_str_eq(e->id, "Threat-1");
        ck_assert_str_eq(e->original_path, sample);
        ck_assert_str_eq(e->threat_name, EICAR_NAME);
        ck_assert_str_eq(e->sha256, SHA_EICAR);
        ck_assert_uint_eq(e->size, strlen(EICAR));
        ck_assert_uint_eq(e->mode, 04755);
        ck_assert_uint_eq(e->uid, SAMPLE_UID);
        ck_assert_uint_eq(e->gid, SAMPLE_GID);
        ck_assert_int_eq(e->atime_ns, ATIME_NS);
        ck_assert_int_eq(e->mtime_ns, MTIME_NS);
        ck_assert_uint_eq(e->other_links, 0);
        ck_assert_uint_gt(e->quarantined_usec, 0);
        ck_assert_ptr_eq(quarantine_store_get(q, "THREAT-1"), e);
        ck_assert_ptr_eq(quarantine_store_get(q, "threat-1"), e);
        ck_assert_ptr_eq(quarantine_store_find_by_path(q, sample), e);
        ck_assert_ptr_eq(quarantine_store_at(q, 0), e);
        ck_assert_uint_eq(quarantine_store_count(q), 1);

        /* The copy: neutralised, read-only, beside its metadata. */
        assert_dir_names(qdir, STRV_MAKE("Threat-1.data", "Threat-1.json"));
        copy = qfile("Threat-1.data");
        ck_assert_int_eq(stat(copy, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0400);
        ck_assert_uint_eq(st.st_size, strlen(EICAR));
        data = read_bytes(copy, &size);
        ck_assert_ptr_null(memmem(data, size, "EICAR", 5));
        ck_assert(memcmp(data, EICAR, strlen(EICAR)) != 0);
        json = qfile("Threat-1.json");
        ck_assert_int_eq(stat(json, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        data = mfree(data);
        data = read_bytes(json, &size);
        ck_assert_ptr_nonnull(strstr(data, "\"state\":\"quarantined\""));

        /* Back in place with everything it had. */
        ck_assert_int_eq(quarantine_store_restore(q, "threat-1", NULL, &restored, &st_restored),
                         0);
        ck_assert_str_eq(restored, sample);
        assert_sample_at(sample, &st);
        ck_assert_uint_eq(st_restored.st_ino, st.st_ino);
        ck_assert_uint_eq(st_restored.st_mode, st.st_mode);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        ck_assert_ptr_null(quarantine_store_get(q, "Threat-1"));
        assert_dir_empty(qdir);
        assert_dir_names(dir, STRV_MAKE("eicar.com", "q"));
}
END_TEST

START_TEST(test_restore_to_destination) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *out = path_in("out"),
                            *out_slash = NULL, *expected = path_in("out/eicar.com"),
                            *restored = NULL;

        make_sample(sample);
        make_dir(out);
        ck_assert_int_eq(add(q, "a", sample, NULL), 0);
        ck_assert_int_ge(asprintf(&out_slash, "%s//", out), 0);
        ck_assert_int_eq(quarantine_store_restore(q, "a", out_slash, &restored, NULL), 0);
        ck_assert_str_eq(restored, expected);
        assert_sample_at(expected, NULL);
        ck_assert(!exists(sample));
        assert_dir_names(out, STRV_MAKE("eicar.com"));
        assert_dir_empty(qdir);

        /* Relative destinations and missing ones are refused, and leave the entry. */
        write_string(sample, "other");
        ck_assert_int_eq(add(q, "b", sample, NULL), 0);
        ck_assert_int_eq(quarantine_store_restore(q, "b", "out", NULL, NULL), -EINVAL);
        ck_assert_int_eq(quarantine_store_restore(q, "b", "/nonexistent-dir/x", NULL, NULL),
                         -ENOENT);
        ck_assert_int_eq(quarantine_store_restore(q, "b", expected, NULL, NULL), -ENOTDIR);
        ck_assert_ptr_nonnull(quarantine_store_get(q, "b"));
        ck_assert_int_eq(quarantine_store_restore(q, "nope", NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(quarantine_store_restore(q, "b", NULL, NULL, NULL), 0);
        assert_content(sample, "other", 5);
}
END_TEST

/* A caller other than root restores only where that user could create the file, and gets it as
 * their own file without setuid/setgid bits; root still restores exactly. */
#define CALLER_UID 65534
#define CALLER_GID 65534
START_TEST(test_restore_as_caller) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *rootonly = path_in("rootonly"),
                            *private = path_in("private"), *open_below = path_in("private/open"),
                            *mine = path_in("mine"), *ro = path_in("ro"),
                            *expected = path_in("mine/eicar.com");
        const gid_t groups[] = { CALLER_GID };
        const QuarantineCaller caller = {
                .uid = CALLER_UID, .gid = CALLER_GID, .groups = groups, .n_groups = 1,
        };
        QuarantineRestoreInput in = { .id = "a", .caller = &caller };
        struct stat st;

        /* The test directory is 0700 for root: let the caller search it, as /tmp would. */
        ck_assert_int_eq(chmod(dir, 0755), 0);
        make_sample(sample);
        make_dir(rootonly);                                     /* root's, 0755 */
        make_dir(private);
        ck_assert_int_eq(chmod(private, 0700), 0);
        make_dir(open_below);                                   /* 0777 below a 0700 parent */
        ck_assert_int_eq(chmod(open_below, 0777), 0);
        make_dir(mine);
        ck_assert_int_eq(chown(mine, CALLER_UID, CALLER_GID), 0);
        mount_tmpfs(ro, "1M");
        ck_assert_int_eq(chmod(ro, 0777), 0);
        ck_assert_int_eq(mount("tmpfs", ro, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL), 0);
        ck_assert_int_eq(add(q, "a", sample, NULL), 0);

        /* Its original place, the test directory, is root's: not for the caller. */
        ck_assert_int_eq(quarantine_store_restore_as(q, &in, NULL, NULL), -EACCES);
        in.destination_dir = rootonly;
        ck_assert_int_eq(quarantine_store_restore_as(q, &in, NULL, NULL), -EACCES);
        in.destination_dir = open_below;
        ck_assert_int_eq(quarantine_store_restore_as(q, &in, NULL, NULL), -EACCES);
        in.destination_dir = ro;
        ck_assert_int_eq(quarantine_store_restore_as(q, &in, NULL, NULL), -EROFS);
        in.destination_dir = "/proc";
        ck_assert_int_eq(quarantine_store_restore_as(q, &in, NULL, NULL), -EACCES);
        ck_assert(!exists(sample));
        assert_dir_empty(rootonly);
        assert_dir_empty(open_below);
        ck_assert_ptr_nonnull(quarantine_store_get(q, "a"));

        /* Where the caller may write: the file is theirs, setuid gone, bytes and times kept. */
        in.destination_dir = mine;
        ck_assert_int_eq(quarantine_store_restore_as(q, &in, NULL, &st), 0);
        ck_assert_int_eq(lstat(expected, &st), 0);
        ck_assert_uint_eq(st.st_uid, CALLER_UID);
        ck_assert_uint_eq(st.st_gid, CALLER_GID);
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
        ck_assert_int_eq((int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, MTIME_NS);
        assert_content(expected, EICAR, strlen(EICAR));
        ck_assert_ptr_null(quarantine_store_get(q, "a"));
        assert_dir_names(mine, STRV_MAKE("eicar.com"));

        /* A caller whose uid is 0 is root: exact owner and setuid bit, at the original place. */
        make_sample(sample);
        ck_assert_int_eq(add(q, "b", sample, NULL), 0);
        in = (QuarantineRestoreInput) {
                .id = "b", .caller = &(QuarantineCaller) { .uid = 0, .gid = 0 },
        };
        ck_assert_int_eq(quarantine_store_restore_as(q, &in, NULL, NULL), 0);
        assert_sample_at(sample, NULL);
}
END_TEST

/* Virtual file systems are refused by name, for root too. */
START_TEST(test_restore_virtual_fs) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com");

        make_sample(sample);
        ck_assert_int_eq(add(q, "a", sample, NULL), 0);
        ck_assert_int_eq(quarantine_store_restore(q, "a", "/sys", NULL, NULL), -EOPNOTSUPP);
        ck_assert_int_eq(quarantine_store_restore(q, "a", "/proc/sys", NULL, NULL), -EOPNOTSUPP);
        ck_assert_ptr_nonnull(quarantine_store_get(q, "a"));
        ck_assert_int_eq(quarantine_store_restore(q, "a", NULL, NULL, NULL), 0);
        assert_sample_at(sample, NULL);
}
END_TEST

START_TEST(test_restore_refuses_existing) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *json = qfile("x.json"),
                            *text = NULL;
        const QuarantineEntry *e;
        size_t size;

        make_sample(sample);
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);
        write_string(sample, "someone else's file");
        ck_assert_int_eq(quarantine_store_restore(q, "x", NULL, NULL, NULL), -EEXIST);

        assert_content(sample, "someone else's file", 19);
        assert_dir_names(dir, STRV_MAKE("eicar.com", "q"));     /* no temp file left */
        e = quarantine_store_get(q, "x");
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->sha256, SHA_EICAR);
        text = read_bytes(json, &size);
        ck_assert_ptr_nonnull(strstr(text, "\"state\":\"quarantined\""));
        assert_dir_names(qdir, STRV_MAKE("x.data", "x.json"));

        /* A symlink at the final name is a name taken too. */
        ck_assert_int_eq(unlink(sample), 0);
        ck_assert_int_eq(symlink("/nonexistent", sample), 0);
        ck_assert_int_eq(quarantine_store_restore(q, "x", NULL, NULL, NULL), -EEXIST);
        ck_assert_ptr_nonnull(quarantine_store_get(q, "x"));
}
END_TEST

/* Loop tests run once with openat2() and once with the component walk. */
static void choose_resolver(int i) {
        quarantine_test_options.no_openat2 = i == 1;
}

START_TEST(test_restore_through_symlink) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *real = path_in("real"),
                            *sub = path_in("real/sub"), *alias = path_in("link"),
                            *through = path_in("link/sub"), *last = path_in("lastlink");

        choose_resolver(_i);
        make_sample(sample);
        make_dir(real);
        make_dir(sub);
        ck_assert_int_eq(symlink("real", alias), 0);
        ck_assert_int_eq(symlink(sub, last), 0);
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);

        ck_assert_int_eq(quarantine_store_restore(q, "x", through, NULL, NULL), -ELOOP);
        ck_assert_int_eq(quarantine_store_restore(q, "x", last, NULL, NULL), -ELOOP);
        assert_dir_empty(sub);
        ck_assert_ptr_nonnull(quarantine_store_get(q, "x"));
        assert_dir_names(qdir, STRV_MAKE("x.data", "x.json"));

        /* And through a symlink on the way back to the original place. */
        {
                _cleanup_free_ char *in_real = path_in("real/eicar.com"), *moved = path_in("moved");
                QuarantineAddInput in = { .id = "y", .path = in_real, .threat_name = "T" };

                make_sample(in_real);
                ck_assert_int_eq(quarantine_store_add(q, &in, NULL), 0);
                ck_assert_int_eq(rename(real, moved), 0);
                ck_assert_int_eq(symlink("moved", real), 0);
                ck_assert_int_eq(quarantine_store_restore(q, "y", NULL, NULL, NULL), -ELOOP);
                ck_assert_ptr_nonnull(quarantine_store_get(q, "y"));
        }
}
END_TEST

/* The add in three calls, as the daemon runs it with the copy on another thread: nothing is in
 * the list until finish, a second add of the id in flight is refused, and a begun add that never
 * ran leaves nothing behind. */
START_TEST(test_add_in_steps) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *other = path_in("other.com");
        const QuarantineEntry *e = NULL;
        QuarantineAdd *a = NULL, *b = NULL;
        QuarantineAddInput in = {
                .id = "Threat-1", .path = sample, .threat_name = EICAR_NAME,
                .expected_sha256 = SHA_EICAR,
        };

        make_sample(sample);
        make_sample(other);
        ck_assert_int_eq(quarantine_add_begin(q, &in, &a), 0);
        ck_assert_int_eq(quarantine_add_begin(q, &in, &b), -EEXIST);
        ck_assert_int_eq(add(q, "Threat-1", other, NULL), -EEXIST);

        ck_assert_int_eq(quarantine_add_run(a), 0);
        ck_assert(!exists(sample));
        /* Copied and on disk, not yet in the list. */
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        ck_assert_ptr_null(quarantine_store_get(q, "Threat-1"));
        ck_assert_int_eq(quarantine_add_finish(q, TAKE_PTR(a), &e), 0);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->original_path, sample);
        ck_assert_ptr_eq(quarantine_store_get(q, "Threat-1"), e);

        /* Begun, never run: finish says so, and the id is free again. */
        in = (QuarantineAddInput) { .id = "Threat-2", .path = other, .threat_name = EICAR_NAME };
        ck_assert_int_eq(quarantine_add_begin(q, &in, &a), 0);
        ck_assert_int_eq(quarantine_add_finish(q, TAKE_PTR(a), NULL), -ECANCELED);
        ck_assert(exists(other));
        ck_assert_int_eq(quarantine_add_begin(q, &in, &a), 0);
        a = quarantine_add_free(a);
        ck_assert_int_eq(add(q, "Threat-2", other, NULL), 0);
        ck_assert_uint_eq(quarantine_store_count(q), 2);

        /* A failed run: the error at finish, nothing in the list or the directory. */
        in = (QuarantineAddInput) { .id = "Threat-3", .path = sample, .threat_name = EICAR_NAME };
        ck_assert_int_eq(quarantine_add_begin(q, &in, &a), 0);
        ck_assert_int_eq(quarantine_add_run(a), -ENOENT);
        ck_assert_int_eq(quarantine_add_finish(q, TAKE_PTR(a), NULL), -ENOENT);
        ck_assert_uint_eq(quarantine_store_count(q), 2);
}
END_TEST

START_TEST(test_restore_in_steps) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *other = path_in("other.com"),
                            *out = path_in("out"), *copy = qfile("y.data"), *data = NULL,
                            *restored = NULL;
        QuarantineRestore *a = NULL, *b = NULL;
        QuarantineRestoreInput in = { .id = "X" };
        struct stat st;
        size_t size;

        make_sample(sample);
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);

        /* Begun: the entry is busy. A second restore and a removal are refused; the list
         * still has it while the run works on it. */
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &a), 0);
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &b), -EBUSY);
        ck_assert_int_eq(quarantine_store_restore(q, "x", NULL, NULL, NULL), -EBUSY);
        ck_assert_int_eq(quarantine_store_remove(q, "x"), -EBUSY);
        ck_assert_int_eq(quarantine_restore_run(a), 0);
        /* In place and gone from the directory, still in the list until the finish. */
        assert_sample_at(sample, &st);
        ck_assert(!exists(copy));
        ck_assert_ptr_nonnull(quarantine_store_get(q, "x"));
        ck_assert_int_eq(quarantine_restore_finish(q, TAKE_PTR(a), &restored, &st), 0);
        ck_assert_str_eq(restored, sample);
        ck_assert_ptr_null(quarantine_store_get(q, "x"));
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_names(qdir, NULL);
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &a), -ENOENT);

        /* A failure in the run: the error at the finish, the entry stays in the quarantine
         * and is no longer busy, nothing is left at the destination. */
        make_dir(out);
        write_string(other, "other");
        ck_assert_int_eq(add(q, "y", other, NULL), 0);
        data = read_bytes(copy, &size);
        data[0] ^= 1;
        write_bytes(copy, data, size);
        in = (QuarantineRestoreInput) { .id = "y", .destination_dir = out };
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &a), 0);
        ck_assert_int_eq(quarantine_restore_run(a), -EBADMSG);
        ck_assert_ptr_nonnull(quarantine_store_get(q, "y"));
        ck_assert_int_eq(quarantine_restore_finish(q, TAKE_PTR(a), NULL, NULL), -EBADMSG);
        ck_assert_ptr_nonnull(quarantine_store_get(q, "y"));
        assert_dir_empty(out);
        assert_dir_names(qdir, STRV_MAKE("y.data", "y.json"));

        /* Begun, never run (cancelled at shutdown): -ECANCELED, the entry stays and may be
         * restored or removed again; so after a restore freed without its finish. */
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &a), 0);
        ck_assert_int_eq(quarantine_restore_finish(q, TAKE_PTR(a), NULL, NULL), -ECANCELED);
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &a), 0);
        a = quarantine_restore_free(a);

        /* A finish after the entry was removed: the removal waits for the restore (-EBUSY),
         * and once a failed restore finished it goes through. */
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &a), 0);
        ck_assert_int_eq(quarantine_store_remove(q, "y"), -EBUSY);
        ck_assert_int_eq(quarantine_restore_run(a), -EBADMSG);
        ck_assert_int_eq(quarantine_restore_finish(q, TAKE_PTR(a), NULL, NULL), -EBADMSG);
        ck_assert_int_eq(quarantine_store_remove(q, "y"), 0);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_names(qdir, NULL);

        /* Bad input is refused at the begin, before the entry is busy. */
        ck_assert_int_eq(add(q, "z", sample, NULL), 0);
        in = (QuarantineRestoreInput) { .id = "z", .destination_dir = "relative" };
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &a), -EINVAL);
        ck_assert_int_eq(quarantine_store_remove(q, "z"), 0);
}
END_TEST

/* A restore whose run is done but whose finish never comes (its job freed): the entry leaves
 * the list with it, so the list never names files that are gone. */
START_TEST(test_restore_freed_after_run) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com");
        QuarantineRestore *a = NULL;
        QuarantineRestoreInput in = { .id = "x" };

        make_sample(sample);
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);
        ck_assert_int_eq(quarantine_restore_begin(q, &in, &a), 0);
        ck_assert_int_eq(quarantine_restore_run(a), 0);
        a = quarantine_restore_free(a);
        ck_assert_ptr_null(quarantine_store_get(q, "x"));
        assert_sample_at(sample, NULL);
        assert_dir_names(qdir, NULL);
}
END_TEST

START_TEST(test_add_symlink) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *target = path_in("target"), *alias = path_in("link");
        char buf[PATH_MAX];
        ssize_t n;

        choose_resolver(_i);
        write_string(target, EICAR);
        ck_assert_int_eq(symlink(target, alias), 0);
        ck_assert_int_eq(add(q, "x", alias, NULL), -ELOOP);

        n = readlink(alias, buf, sizeof(buf) - 1);
        ck_assert_int_eq(n, (ssize_t) strlen(target));
        buf[n] = '\0';
        ck_assert_str_eq(buf, target);
        assert_content(target, EICAR, strlen(EICAR));
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);
}
END_TEST

START_TEST(test_add_symlinked_parent) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *real = path_in("real"), *sub = path_in("real/sub"),
                            *file = path_in("real/sub/eicar.com"), *alias = path_in("link"),
                            *last = path_in("link/eicar.com"),
                            *middle = path_in("link/sub/eicar.com"),
                            *dotdot = path_in("real/sub/../sub/eicar.com");

        choose_resolver(_i);
        make_dir(real);
        make_dir(sub);
        write_string(file, EICAR);
        ck_assert_int_eq(symlink("real/sub", alias), 0);
        ck_assert_int_eq(add(q, "x", last, NULL), -ELOOP);      /* the parent is the link */
        ck_assert_int_eq(unlink(alias), 0);
        ck_assert_int_eq(symlink("real", alias), 0);
        ck_assert_int_eq(add(q, "x", middle, NULL), -ELOOP);    /* a link further up */
        ck_assert_int_eq(add(q, "x", dotdot, NULL), -EINVAL);   /* ".." is refused */

        assert_content(file, EICAR, strlen(EICAR));
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);
}
END_TEST

START_TEST(test_add_changed_content) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com");
        struct stat before, after;

        make_sample(sample);
        ck_assert_int_eq(stat(sample, &before), 0);
        ck_assert_int_eq(add(q, "x", sample,
                             "0000000000000000000000000000000000000000000000000000000000000000"),
                         -ESTALE);
        /* Untouched: not even the access time changed by our read. */
        assert_sample_at(sample, &after);
        ck_assert_uint_eq(after.st_ino, before.st_ino);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);

        ck_assert_int_eq(add(q, "x", sample, SHA_EICAR), 0);
        ck_assert(!exists(sample));
}
END_TEST

/* The name must still refer to the inode that was detected: another file put under the name
 * (the same content even) is -ESTALE and left alone; names with "->" are files like any other,
 * and the clean file whose name is their prefix is never touched. */
START_TEST(test_add_identity) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *victim = path_in("victim.txt"), *sample = path_in("victim.txt->x"),
                            *other = path_in("other");
        struct stat detected, now;
        QuarantineAddInput in = {
                .id = "x",
                .path = sample,
                .threat_name = EICAR_NAME,
                .check_identity = true,
        };

        write_string(victim, "clean");
        make_sample(sample);
        ck_assert_int_eq(stat(sample, &detected), 0);
        make_sample(other);
        ck_assert_int_eq(rename(other, sample), 0);     /* a new inode under the name */
        in.expected_dev = (uint64_t) detected.st_dev;
        in.expected_ino = (uint64_t) detected.st_ino;
        ck_assert_int_eq(quarantine_store_add(q, &in, NULL), -ESTALE);
        ck_assert_int_eq(stat(sample, &now), 0);
        ck_assert_uint_ne(now.st_ino, detected.st_ino);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);

        in.expected_ino = (uint64_t) now.st_ino;
        ck_assert_int_eq(quarantine_store_add(q, &in, NULL), 0);
        ck_assert(!exists(sample));
        assert_content(victim, "clean", 5);
        ck_assert_str_eq(quarantine_store_get(q, "x")->original_path, sample);
}
END_TEST

START_TEST(test_add_hard_link) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *other = path_in("other-name");
        const QuarantineEntry *e = NULL;
        QuarantineAddInput in = { .id = "x", .path = sample, .threat_name = EICAR_NAME };
        struct stat st;

        write_string(sample, EICAR);
        ck_assert_int_eq(link(sample, other), 0);
        ck_assert_int_eq(quarantine_store_add(q, &in, &e), 0);
        ck_assert_uint_eq(e->other_links, 1);
        ck_assert(!exists(sample));
        ck_assert_int_eq(stat(other, &st), 0);
        ck_assert_uint_eq(st.st_nlink, 1);
        assert_content(other, EICAR, strlen(EICAR));

        /* The restored file is a new inode, not a link back. */
        ck_assert_int_eq(quarantine_store_restore(q, "x", NULL, NULL, NULL), 0);
        assert_content(sample, EICAR, strlen(EICAR));
        ck_assert_int_eq(stat(other, &st), 0);
        ck_assert_uint_eq(st.st_nlink, 1);
}
END_TEST

START_TEST(test_other_file_systems) {
        _cleanup_free_ char *qmount = path_in("qfs"), *samples = path_in("samplefs"),
                            *on_disk = path_in("eicar.com"), *on_tmpfs = path_in("samplefs/e.com"),
                            *out = path_in("out");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        struct stat st;

        /* Quarantine on one tmpfs, samples on the disk and on another tmpfs. */
        mount_tmpfs(qmount, "1m");
        mount_tmpfs(samples, "1m");
        snprintf(qdir, sizeof(qdir), "%s/q", qmount);
        q = open_store();
        make_sample(on_disk);
        make_sample(on_tmpfs);
        ck_assert_int_eq(add(q, "disk", on_disk, SHA_EICAR), 0);
        ck_assert_int_eq(add(q, "tmpfs", on_tmpfs, SHA_EICAR), 0);
        ck_assert(!exists(on_disk) && !exists(on_tmpfs));

        /* Back across: the tmpfs one to the disk, the disk one to where it was. */
        make_dir(out);
        ck_assert_int_eq(quarantine_store_restore(q, "tmpfs", out, NULL, NULL), 0);
        ck_assert_int_eq(quarantine_store_restore(q, "disk", NULL, NULL, NULL), 0);
        {
                _cleanup_free_ char *restored = path_in("out/e.com");

                assert_sample_at(restored, &st);
                ck_assert_uint_ne(st.st_dev, stat_dev(qdir));
        }
        assert_sample_at(on_disk, &st);
        ck_assert_uint_ne(st.st_dev, stat_dev(qdir));
        assert_dir_empty(qdir);
}
END_TEST

/* What fills the 64 KiB file system: 0, the copy (found by the reservation); 1, the copy (found
 * by the writes); 2, the metadata after a copy that just fits. */
static const size_t disk_full_sizes[] = { 512 * 1024, 512 * 1024, 64 * 1024 };

START_TEST(test_disk_full) {
        _cleanup_free_ char *small = path_in("small"), *big = path_in("big.bin"),
                            *sha = NULL, *data = NULL, *out = path_in("small/out"),
                            *filler = path_in("small/filler");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        size_t size = disk_full_sizes[_i];
        struct stat before, after;

        data = malloc(size);
        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < size; i++)
                data[i] = (char) (i * 7 + i / 4096);
        sha = sha256_of(data, size);
        write_bytes(big, data, size);
        ck_assert_int_eq(stat(big, &before), 0);

        quarantine_test_options.no_preallocate = _i == 1;
        mount_tmpfs(small, "64k");
        snprintf(qdir, sizeof(qdir), "%s/q", small);
        q = open_store();
        ck_assert_int_eq(add(q, "big", big, sha), -ENOSPC);
        ck_assert_int_eq(stat(big, &after), 0);
        ck_assert_uint_eq(after.st_ino, before.st_ino);
        ck_assert_int_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
        assert_content(big, data, size);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);
        ck_assert_ptr_null(quarantine_store_get(q, "big"));

        /* Restoring onto a full file system: the entry stays, nothing is left there. */
        quarantine_store_free(q);
        snprintf(qdir, sizeof(qdir), "%s/q", dir);
        q = open_store();
        ck_assert_int_eq(add(q, "big", big, sha), 0);
        make_dir(out);
        write_bytes(filler, data, 16 * 1024);  /* so that even 64 KiB no longer fit */
        ck_assert_int_eq(quarantine_store_restore(q, "big", out, NULL, NULL), -ENOSPC);
        assert_dir_empty(out);
        ck_assert_ptr_nonnull(quarantine_store_get(q, "big"));
        ck_assert_int_eq(quarantine_store_restore(q, "big", NULL, NULL, NULL), 0);
        assert_content(big, data, size);
}
END_TEST

START_TEST(test_add_read_only) {
        _cleanup_free_ char *ro = path_in("ro"), *sample = path_in("ro/eicar.com");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();

        /* The copy is made, then the name cannot be removed: all of it is undone. */
        mount_tmpfs(ro, "1m");
        make_sample(sample);
        ck_assert_int_eq(mount("tmpfs", ro, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL), 0);
        ck_assert_int_eq(add(q, "x", sample, SHA_EICAR), -EROFS);
        assert_sample_at(sample, NULL);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);
}
END_TEST

START_TEST(test_own_directory) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *copy = qfile("x.data");

        make_sample(sample);
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);
        ck_assert_int_eq(add(q, "y", copy, NULL), -EINVAL);
        ck_assert_int_eq(quarantine_store_restore(q, "x", qdir, NULL, NULL), -EINVAL);
        assert_dir_names(qdir, STRV_MAKE("x.data", "x.json"));
        ck_assert_uint_eq(quarantine_store_count(q), 1);
}
END_TEST

/* ---- names swapped at the worst instant ---- */

typedef struct SwapContext {
        QuarantineTestPoint point;
        const char *from, *to;          /* rename(from, to) at point, or write to when no from */
        int calls;
} SwapContext;

static void swap_hook(QuarantineStore *q, QuarantineTestPoint point, void *userdata) {
        SwapContext *c = userdata;

        if (point != c->point)
                return;
        c->calls++;
        if (c->from)
                ck_assert_int_eq(rename(c->from, c->to), 0);
        else
                write_string(c->to, "taken meanwhile");
}

START_TEST(test_add_name_replaced_meanwhile) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *decoy = path_in("decoy");
        SwapContext c = { QUARANTINE_TEST_ADD_BEFORE_UNLINK, decoy, sample, 0 };

        make_sample(sample);
        write_string(decoy, "innocent");
        quarantine_store_set_test_hook(q, swap_hook, &c);
        ck_assert_int_eq(add(q, "x", sample, NULL), -ESTALE);
        ck_assert_int_eq(c.calls, 1);
        assert_content(sample, "innocent", 8);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);
}
END_TEST

START_TEST(test_restore_name_taken_meanwhile) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com");
        SwapContext c = { QUARANTINE_TEST_RESTORE_BEFORE_RENAME, NULL, sample, 0 };

        quarantine_test_options.no_rename_noreplace = _i == 1;
        make_sample(sample);
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);
        quarantine_store_set_test_hook(q, swap_hook, &c);
        ck_assert_int_eq(quarantine_store_restore(q, "x", NULL, NULL, NULL), -EEXIST);
        ck_assert_int_eq(c.calls, 1);
        assert_content(sample, "taken meanwhile", 15);
        assert_dir_names(dir, STRV_MAKE("eicar.com", "q"));
        ck_assert_ptr_nonnull(quarantine_store_get(q, "x"));
        assert_dir_names(qdir, STRV_MAKE("x.data", "x.json"));

        /* Where the file system has no RENAME_NOREPLACE, link() and unlink() do. */
        quarantine_store_set_test_hook(q, NULL, NULL);
        ck_assert_int_eq(unlink(sample), 0);
        ck_assert_int_eq(quarantine_store_restore(q, "x", NULL, NULL, NULL), 0);
        assert_content(sample, EICAR, strlen(EICAR));
        assert_dir_names(dir, STRV_MAKE("eicar.com", "q"));
        assert_dir_empty(qdir);
}
END_TEST

/* ---- input and lookups ---- */

START_TEST(test_invalid_input) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *sub = path_in("sub"),
                            *fifo = path_in("fifo"), *member = path_in("a.zip->inner.exe"),
                            *arrow = path_in("really->named"), *long_id = NULL,
                            *missing = path_in("missing"), *dot = NULL;
        QuarantineAddInput in = { .id = "x", .path = sample, .threat_name = NULL };

        write_string(sample, EICAR);
        make_dir(sub);
        ck_assert_int_eq(mkfifo(fifo, 0644), 0);

        ck_assert_int_eq(quarantine_store_add(q, &in, NULL), -EINVAL);  /* no threat name */
        long_id = malloc(QUARANTINE_ID_MAX + 2);
        memset(long_id, 'a', QUARANTINE_ID_MAX + 1);
        long_id[QUARANTINE_ID_MAX + 1] = '\0';
        ck_assert_int_eq(add(q, long_id, sample, NULL), -EINVAL);
        long_id[QUARANTINE_ID_MAX] = '\0';
        ck_assert_int_eq(add(q, "", sample, NULL), -EINVAL);
        ck_assert_int_eq(add(q, "a/b", sample, NULL), -EINVAL);
        ck_assert_int_eq(add(q, "..", sample, NULL), -EINVAL);
        ck_assert_int_eq(add(q, "a b", sample, NULL), -EINVAL);
        ck_assert_int_eq(add(q, "x", "eicar.com", NULL), -EINVAL);
        ck_assert_int_eq(add(q, "x", sample, "abc"), -EINVAL);
        ck_assert_int_eq(add(q, "x", sub, NULL), -EINVAL);
        ck_assert_int_eq(add(q, "x", fifo, NULL), -EINVAL);
        ck_assert_int_eq(add(q, "x", "/", NULL), -EINVAL);
        ck_assert_int_ge(asprintf(&dot, "%s/.", dir), 0);
        ck_assert_int_eq(add(q, "x", dot, NULL), -EINVAL);
        /* A path is a file: "a.zip->inner.exe" names no archive member, just a missing file. */
        ck_assert_int_eq(add(q, "x", member, NULL), -ENOENT);
        ck_assert_int_eq(add(q, "x", missing, NULL), -ENOENT);
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);

        /* A file whose name really has "->" in it is a file like any other. */
        write_string(arrow, EICAR);
        ck_assert_int_eq(add(q, long_id, arrow, NULL), 0);
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);
        write_string(sample, EICAR);
        ck_assert_int_eq(add(q, "X", sample, NULL), -EEXIST);
        assert_content(sample, EICAR, strlen(EICAR));
        ck_assert_uint_eq(quarantine_store_count(q), 2);
}
END_TEST

START_TEST(test_remove) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *a = path_in("a"), *b = path_in("b");

        write_string(a, "a");
        write_string(b, "b");
        ck_assert_int_eq(add(q, "a", a, NULL), 0);
        ck_assert_int_eq(add(q, "b", b, NULL), 0);
        ck_assert_int_eq(quarantine_store_remove(q, "A"), 0);
        ck_assert_ptr_null(quarantine_store_get(q, "a"));
        ck_assert_uint_eq(quarantine_store_count(q), 1);
        ck_assert_str_eq(quarantine_store_at(q, 0)->id, "b");
        assert_dir_names(qdir, STRV_MAKE("b.data", "b.json"));
        ck_assert_int_eq(quarantine_store_remove(q, "a"), -ENOENT);
        ck_assert_int_eq(quarantine_store_remove(q, NULL), -ENOENT);
        ck_assert(!exists(a));

        /* The id is free again. */
        write_string(a, "a again");
        ck_assert_int_eq(add(q, "a", a, NULL), 0);
        ck_assert_str_eq(quarantine_store_at(q, 1)->id, "a");
}
END_TEST

static void assert_entries_equal(const QuarantineEntry *a, const QuarantineEntry *b) {
        ck_assert_str_eq(a->id, b->id);
        ck_assert_str_eq(a->original_path, b->original_path);
        ck_assert_str_eq(a->threat_name, b->threat_name);
        ck_assert_str_eq(a->sha256, b->sha256);
        ck_assert_uint_eq(a->size, b->size);
        ck_assert_uint_eq(a->mode, b->mode);
        ck_assert_uint_eq(a->uid, b->uid);
        ck_assert_uint_eq(a->gid, b->gid);
        ck_assert_int_eq(a->atime_ns, b->atime_ns);
        ck_assert_int_eq(a->mtime_ns, b->mtime_ns);
        ck_assert_uint_eq(a->quarantined_usec, b->quarantined_usec);
        ck_assert_uint_eq(a->other_links, b->other_links);
}

START_TEST(test_persistence_and_order) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store(), *q2 = NULL;
        _cleanup_free_ char *plain = path_in("plain"), *odd = path_in("caf\xe9 100%\n\x01.bin"),
                            *text = NULL, *json = qfile("odd.json"), *alias = path_in("l");
        QuarantineAddInput in = {
                .id = "odd", .path = odd, .threat_name = "Trojan:Linux/\xff\"quoted\"",
        };
        const QuarantineEntry *first, *again;
        size_t size;

        make_sample(plain);
        ck_assert_int_eq(add(q, "first", plain, NULL), 0);
        write_string(odd, "odd bytes");
        ck_assert_int_eq(link(odd, alias), 0);
        ck_assert_int_eq(quarantine_store_add(q, &in, NULL), 0);
        write_string(plain, "second at the same path");
        ck_assert_int_eq(add(q, "second", plain, NULL), 0);

        /* Any byte of a path or name is stored escaped, as ASCII. */
        text = read_bytes(json, &size);
        ck_assert_ptr_nonnull(strstr(text, "caf%E9 100%25%0A%01.bin"));
        ck_assert_ptr_nonnull(strstr(text, "Trojan:Linux/%FF\\\"quoted\\\""));

        first = quarantine_store_get(q, "first");
        again = quarantine_store_get(q, "second");
        ck_assert_ptr_eq(quarantine_store_find_by_path(q, plain), again);
        ck_assert_uint_le(first->quarantined_usec, again->quarantined_usec);

        q2 = open_store();
        ck_assert_uint_eq(quarantine_store_count(q2), 3);
        for (size_t i = 0; i < 3; i++)
                assert_entries_equal(quarantine_store_at(q, i), quarantine_store_at(q2, i));
        ck_assert_str_eq(quarantine_store_at(q2, 0)->id, "first");
        ck_assert_str_eq(quarantine_store_at(q2, 1)->id, "odd");
        ck_assert_str_eq(quarantine_store_at(q2, 2)->id, "second");
        ck_assert_uint_eq(quarantine_store_get(q2, "odd")->other_links, 1);
        ck_assert_ptr_eq(quarantine_store_find_by_path(q2, plain),
                         quarantine_store_get(q2, "second"));
        ck_assert_ptr_null(quarantine_store_find_by_path(q2, "/nonexistent"));

        /* The reopened store restores what the first one quarantined. */
        ck_assert_int_eq(quarantine_store_restore(q2, "odd", NULL, NULL, NULL), 0);
        assert_content(odd, "odd bytes", 9);
}
END_TEST

START_TEST(test_empty_file) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *empty = path_in("empty");

        write_string(empty, "");
        ck_assert_int_eq(add(q, "e", empty, NULL), 0);
        ck_assert_str_eq(quarantine_store_get(q, "e")->sha256,
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ck_assert_int_eq(quarantine_store_restore(q, "e", NULL, NULL, NULL), 0);
        assert_content(empty, "", 0);
}
END_TEST

START_TEST(test_restore_damaged_copy) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();
        _cleanup_free_ char *sample = path_in("eicar.com"), *copy = qfile("x.data"),
                            *data = NULL;
        size_t size;

        make_sample(sample);
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);
        data = read_bytes(copy, &size);
        data[10] ^= 1;
        write_bytes(copy, data, size);
        ck_assert_int_eq(quarantine_store_restore(q, "x", NULL, NULL, NULL), -EBADMSG);
        ck_assert(!exists(sample));
        assert_dir_names(dir, STRV_MAKE("q"));
        ck_assert_ptr_nonnull(quarantine_store_get(q, "x"));
}
END_TEST

/* ---- recovery: the states a crash leaves ---- */

/* Quarantines a sample as "x", keeping a hard link "keep" to its inode, and closes the store. */
static void quarantine_with_link(const char *sample, const char *keep) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = open_store();

        make_sample(sample);
        ck_assert_int_eq(link(sample, keep), 0);
        ck_assert_int_eq(add(q, "x", sample, SHA_EICAR), 0);
}

START_TEST(test_recover_adding_original_in_place) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;

        /* A crash before the name was removed: the name still is the inode that was read. */
        quarantine_with_link(sample, keep);
        ck_assert_int_eq(link(keep, sample), 0);
        edit_qfile("x.json", "\"state\":\"quarantined\"", "\"state\":\"adding\"");

        q = open_store_noting("quarantine of x from", "rolled back");
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);
        assert_content(sample, EICAR, strlen(EICAR));
}
END_TEST

START_TEST(test_recover_adding_original_gone) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep"),
                            *text = NULL, *json = qfile("x.json");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        size_t size;

        quarantine_with_link(sample, keep);
        edit_qfile("x.json", "\"state\":\"quarantined\"", "\"state\":\"adding\"");
        /* Another inode at the name is not the original either. */
        write_string(sample, "new file at the name");

        q = open_store_noting("quarantine of x from", "completed");
        ck_assert_uint_eq(quarantine_store_count(q), 1);
        ck_assert_str_eq(quarantine_store_get(q, "x")->sha256, SHA_EICAR);
        text = read_bytes(json, &size);
        ck_assert_ptr_nonnull(strstr(text, "\"state\":\"quarantined\""));
        assert_content(sample, "new file at the name", 20);
        quarantine_store_free(TAKE_PTR(q));
        q = open_store();
        ck_assert_uint_eq(quarantine_store_count(q), 1);
}
END_TEST

START_TEST(test_recover_adding_damaged_copy) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep"),
                            *copy = qfile("x.data"), *data = NULL;
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        size_t size;

        quarantine_with_link(sample, keep);
        edit_qfile("x.json", "\"state\":\"quarantined\"", "\"state\":\"adding\"");
        data = read_bytes(copy, &size);
        data[0] ^= 0x55;
        write_bytes(copy, data, size);

        q = open_store_noting("x.json", "moved aside");
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_names(qdir, STRV_MAKE("x.data.invalid", "x.json.invalid"));
}
END_TEST

/* Makes the metadata of "x" say an interrupted restore to path with temp name temp, identified
 * as dev/ino when ino is not 0. */
static void make_restoring(const char *path, const char *temp, dev_t dev, ino_t ino) {
        _cleanup_free_ char *members = NULL;

        if (ino != 0)
                ck_assert_int_ge(asprintf(&members, "\"state\":\"restoring\",\"restore_path\":"
                                          "\"%s\",\"restore_temp\":\"%s\",\"restore_dev\":%llu,"
                                          "\"restore_ino\":%llu", path, temp,
                                          (unsigned long long) dev, (unsigned long long) ino),
                                 0);
        else
                ck_assert_int_ge(asprintf(&members, "\"state\":\"restoring\",\"restore_path\":"
                                          "\"%s\",\"restore_temp\":\"%s\"", path, temp), 0);
        edit_qfile("x.json", "\"state\":\"quarantined\"", members);
}

#define TEMP_NAME ".mdatp-restore-x-0123456789abcdef"

START_TEST(test_recover_restoring_temp_only) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep"),
                            *temp = path_in(TEMP_NAME), *text = NULL, *json = qfile("x.json");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        struct stat st;
        size_t size;

        quarantine_with_link(sample, keep);
        ck_assert_int_eq(unlink(keep), 0);
        write_string(temp, "partial");
        ck_assert_int_eq(stat(temp, &st), 0);
        /* _i == 0: the crash came while the temp file was written; 1: after it was complete
         * and recorded, before the rename. */
        make_restoring(sample, TEMP_NAME, st.st_dev, _i == 1 ? st.st_ino : 0);

        q = open_store_noting("restore of x to", "rolled back");
        ck_assert(!exists(temp));
        ck_assert(!exists(sample));
        ck_assert_uint_eq(quarantine_store_count(q), 1);
        text = read_bytes(json, &size);
        ck_assert_ptr_nonnull(strstr(text, "\"state\":\"quarantined\""));
        ck_assert_ptr_null(strstr(text, "restore_path"));
        ck_assert_int_eq(quarantine_store_restore(q, "x", NULL, NULL, NULL), 0);
        assert_content(sample, EICAR, strlen(EICAR));
}
END_TEST

START_TEST(test_recover_restoring_finished) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep"),
                            *temp = path_in(TEMP_NAME);
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        struct stat st;

        quarantine_with_link(sample, keep);
        ck_assert_int_eq(unlink(keep), 0);
        /* The crash came after the rename (_i == 0) or, in the link() fallback, between the
         * link and the unlink of the temp name (_i == 1). */
        write_string(sample, EICAR);
        ck_assert_int_eq(stat(sample, &st), 0);
        if (_i == 1)
                ck_assert_int_eq(link(sample, temp), 0);
        make_restoring(sample, TEMP_NAME, st.st_dev, st.st_ino);

        q = open_store_noting("restore of x to", "finished");
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_empty(qdir);
        ck_assert(!exists(temp));
        assert_content(sample, EICAR, strlen(EICAR));
}
END_TEST

START_TEST(test_recover_restoring_final_not_ours) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep"),
                            *temp = path_in(TEMP_NAME);
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        struct stat st;

        /* The final name exists, with the same bytes even, but it is not the temp file that
         * was recorded: the restore did not happen, so the copy stays. */
        quarantine_with_link(sample, keep);
        ck_assert_int_eq(unlink(keep), 0);
        write_string(temp, EICAR);
        ck_assert_int_eq(stat(temp, &st), 0);
        write_string(sample, EICAR);
        make_restoring(sample, TEMP_NAME, st.st_dev, st.st_ino);

        q = open_store_noting("restore of x to", "rolled back");
        ck_assert_uint_eq(quarantine_store_count(q), 1);
        ck_assert(!exists(temp));
        assert_content(sample, EICAR, strlen(EICAR));
        assert_dir_names(qdir, STRV_MAKE("x.data", "x.json"));
}
END_TEST

START_TEST(test_recover_restoring_foreign_temp) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep"),
                            *temp = path_in(TEMP_NAME), *other = path_in("other");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        struct stat st;

        /* What sits at the temp name is not what was recorded (nor a regular file): left. */
        quarantine_with_link(sample, keep);
        ck_assert_int_eq(unlink(keep), 0);
        write_string(other, "x");
        ck_assert_int_eq(stat(other, &st), 0);
        if (_i == 0)
                write_string(temp, "someone else's");
        else
                ck_assert_int_eq(mkdir(temp, 0755), 0);
        make_restoring(sample, TEMP_NAME, st.st_dev, _i == 0 ? st.st_ino : 0);

        q = open_store_noting("restore of x to", "rolled back");
        ck_assert_uint_eq(quarantine_store_count(q), 1);
        ck_assert(exists(temp));
}
END_TEST

START_TEST(test_recover_leftovers) {
        _cleanup_free_ char *orphan = qfile("orphan.data"), *temp = qfile(".y.data.tmp"),
                            *json_temp = qfile(".#y.jsonAbC123"), *aside = qfile("z.json.invalid"),
                            *unknown = qfile("README");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        _cleanup_strv_free_ char **notes = NULL;
        _cleanup_free_ char *all = NULL;

        ck_assert_int_eq(mkdir(qdir, 0700), 0);
        write_string(orphan, "neutralised bytes");
        write_string(temp, "partial copy");
        write_string(json_temp, "{\"partial");
        write_string(aside, "kept for an admin");
        write_string(unknown, "not ours to judge");

        ck_assert_int_eq(quarantine_store_open(qdir, &q, &notes), 0);
        all = strv_join(notes, " | ");
        ck_assert_msg(strv_length(notes) == 3, "notes: %s", strna(all));
        ck_assert_ptr_nonnull(strstr(all, "'orphan.data' without metadata deleted"));
        ck_assert_ptr_nonnull(strstr(all, "'.y.data.tmp'"));
        ck_assert_ptr_nonnull(strstr(all, "'.#y.jsonAbC123'"));
        assert_dir_names(qdir, STRV_MAKE("README", "z.json.invalid"));
        ck_assert_uint_eq(quarantine_store_count(q), 0);
}
END_TEST

static const char *const corrupt_metadata[] = {
        "not json at all",
        "{}",
        "[1, 2, 3]",
        "{\"version\":1,\"id\":\"x\"",                                     /* truncated */
        NULL,                                           /* the real one with another id */
        NULL,                                           /* the real one with a bad escape */
        NULL,                                           /* the real one, state unknown */
        NULL,                                           /* over QUARANTINE_METADATA_MAX */
};

START_TEST(test_recover_corrupt_metadata) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep"),
                            *json = qfile("x.json"), *big = NULL;
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        size_t n = QUARANTINE_METADATA_MAX + 10;

        quarantine_with_link(sample, keep);
        switch (_i) {
        case 4:
                edit_qfile("x.json", "\"id\":\"x\"", "\"id\":\"y\"");
                break;
        case 5:
                edit_qfile("x.json", "\"original_path\":\"/", "\"original_path\":\"/%zz");
                break;
        case 6:
                edit_qfile("x.json", "\"quarantined\"", "\"frozen\"");
                break;
        case 7:
                big = malloc(n + 1);
                memset(big, ' ', n);
                big[n] = '\0';
                big[0] = '{';
                big[n - 1] = '}';
                write_string(json, big);
                break;
        default:
                write_string(json, corrupt_metadata[_i]);
        }

        q = open_store_noting("'x.json' is not valid", "moved aside to 'x.json.invalid'");
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_names(qdir, STRV_MAKE("x.data.invalid", "x.json.invalid"));
        quarantine_store_free(TAKE_PTR(q));

        /* A second one with the same id goes beside the first, which is kept. */
        ck_assert_int_eq(link(keep, sample), 0);
        q = open_store();
        ck_assert_int_eq(add(q, "x", sample, NULL), 0);
        quarantine_store_free(TAKE_PTR(q));
        write_string(json, "garbage");
        q = open_store_noting("'x.json' is not valid", "'x.json.invalid-1'");
        assert_dir_names(qdir, STRV_MAKE("x.data.invalid", "x.data.invalid-1", "x.json.invalid",
                                         "x.json.invalid-1"));
}
END_TEST

START_TEST(test_recover_missing_copy) {
        _cleanup_free_ char *sample = path_in("eicar.com"), *keep = path_in("keep"),
                            *copy = qfile("x.data");
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;

        quarantine_with_link(sample, keep);
        ck_assert_int_eq(unlink(copy), 0);
        q = open_store_noting("'x.json' has no intact copy", "moved aside");
        ck_assert_uint_eq(quarantine_store_count(q), 0);
        assert_dir_names(qdir, STRV_MAKE("x.json.invalid"));
}
END_TEST

/* ---- internals ---- */

START_TEST(test_escape) {
        char all[256];
        _cleanup_free_ char *e = NULL, *d = NULL;

        for (int i = 1; i < 256; i++)
                all[i - 1] = (char) i;
        all[255] = '\0';
        ck_assert_int_eq(quarantine_escape(all, &e), 0);
        for (const char *p = e; *p; p++)
                ck_assert(*p >= 0x20 && *p <= 0x7E);
        ck_assert_int_eq(percent_unescape(e, &d), 0);
        ck_assert_str_eq(d, all);
        d = mfree(d);

        ck_assert_int_eq(percent_unescape("/a%2fb%2Fc", &d), 0);
        ck_assert_str_eq(d, "/a/b/c");
        d = mfree(d);
        ck_assert_int_eq(percent_unescape("%", &d), -EINVAL);
        ck_assert_int_eq(percent_unescape("%4", &d), -EINVAL);
        ck_assert_int_eq(percent_unescape("%zz", &d), -EINVAL);
        ck_assert_int_eq(percent_unescape("a%00b", &d), -EINVAL);
        ck_assert_ptr_null(d);
}
END_TEST

START_TEST(test_open_directory) {
        _cleanup_free_ char *a = path_in("a"), *b = path_in("a/b"), *alias = path_in("link"),
                            *file = path_in("file"), *p = NULL;
        int fd;

        choose_resolver(_i);
        make_dir(a);
        make_dir(b);
        write_string(file, "x");
        ck_assert_int_eq(symlink("a", alias), 0);

        ck_assert_int_ge(asprintf(&p, "/%s//./a/b/", dir), 0);
        fd = quarantine_open_directory(p);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fsync(fd), 0);        /* readable, not O_PATH */
        (void) close(fd);
        fd = quarantine_open_directory("/");
        ck_assert_int_ge(fd, 0);
        (void) close(fd);

        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/link/b", dir), 0);
        ck_assert_int_eq(quarantine_open_directory(p), -ELOOP);
        ck_assert_int_eq(quarantine_open_directory(alias), -ELOOP);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/a/../a", dir), 0);
        ck_assert_int_eq(quarantine_open_directory(p), -EINVAL);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/file/x", dir), 0);
        ck_assert_int_eq(quarantine_open_directory(p), -ENOTDIR);
        ck_assert_int_eq(quarantine_open_directory(file), -ENOTDIR);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/missing/x", dir), 0);
        ck_assert_int_eq(quarantine_open_directory(p), -ENOENT);
        ck_assert_int_eq(quarantine_open_directory("relative"), -EINVAL);
}
END_TEST

static Suite *quarantine_suite(void) {
        Suite *s = suite_create("quarantine");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_open_creates_directory);
        tcase_add_test(tc, test_open_refuses_unsafe_directory);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_restore_to_destination);
        tcase_add_test(tc, test_restore_as_caller);
        tcase_add_test(tc, test_restore_virtual_fs);
        tcase_add_test(tc, test_restore_refuses_existing);
        tcase_add_test(tc, test_restore_in_steps);
        tcase_add_test(tc, test_restore_freed_after_run);
        tcase_add_loop_test(tc, test_restore_through_symlink, 0, 2);
        tcase_add_loop_test(tc, test_add_symlink, 0, 2);
        tcase_add_loop_test(tc, test_add_symlinked_parent, 0, 2);
        tcase_add_test(tc, test_add_changed_content);
        tcase_add_test(tc, test_add_identity);
        tcase_add_test(tc, test_add_hard_link);
        tcase_add_test(tc, test_other_file_systems);
        tcase_add_loop_test(tc, test_disk_full, 0, ELEMENTSOF(disk_full_sizes));
        tcase_add_test(tc, test_add_read_only);
        tcase_add_test(tc, test_own_directory);
        tcase_add_test(tc, test_add_name_replaced_meanwhile);
        tcase_add_loop_test(tc, test_restore_name_taken_meanwhile, 0, 2);
        tcase_add_test(tc, test_invalid_input);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_persistence_and_order);
        tcase_add_test(tc, test_empty_file);
        tcase_add_test(tc, test_restore_damaged_copy);
        tcase_add_test(tc, test_recover_adding_original_in_place);
        tcase_add_test(tc, test_recover_adding_original_gone);
        tcase_add_test(tc, test_recover_adding_damaged_copy);
        tcase_add_loop_test(tc, test_recover_restoring_temp_only, 0, 2);
        tcase_add_loop_test(tc, test_recover_restoring_finished, 0, 2);
        tcase_add_test(tc, test_recover_restoring_final_not_ours);
        tcase_add_loop_test(tc, test_recover_restoring_foreign_temp, 0, 2);
        tcase_add_test(tc, test_recover_leftovers);
        tcase_add_loop_test(tc, test_recover_corrupt_metadata, 0, ELEMENTSOF(corrupt_metadata));
        tcase_add_test(tc, test_recover_missing_copy);
        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_add_in_steps);
        tcase_add_loop_test(tc, test_open_directory, 0, 2);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(quarantine_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
