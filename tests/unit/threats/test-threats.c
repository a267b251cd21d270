/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of threats/: recording, lookup and order; the file round trip field by field;
 * corrupt files moved aside and partly invalid files cleaned with a message; saves that fail
 * leaving memory as it was; pruning by age and count; unique ids; hostile JSON; paths with any
 * bytes; the cost of a save with 15,000 records; writes on a real executor (merged, in order,
 * newest content last, a failed write keeping the records unsaved until a later one lands).
 * Each test works in a fresh temporary directory.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND (getenv("MDATP_TEST_SLOW") != NULL)
#endif

#include "executor/executor.h"
#include "threats/threats-internal.h"
#include "threats/threats.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/strv.h"

#define USEC_PER_DAY (UINT64_C(86400) * UINT64_C(1000000))
#define EICAR "Virus:DOS/EICAR_Test_File"
#define SHA_EICAR "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"

static char dir[PATH_MAX];
static char store_path[PATH_MAX + 32];

static void setup(void) {
        const char *tmp = getenv("TMPDIR") ?: "/tmp";

        snprintf(dir, sizeof(dir), "%s/test-threats-XXXXXX", tmp);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(store_path, sizeof(store_path), "%s/threats.json", dir);
}

/* Removes dir and everything below it (the tests create at most one level of subdirectories,
 * and maybe a directory where the store file belongs). */
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
        _cleanup_free_ char *fs = NULL;

        /* what test_backlog_full_disk mounted, should it have stopped half-way */
        if (asprintf(&fs, "%s/fs", dir) >= 0)
                (void) umount2(fs, MNT_DETACH);
        remove_tree(dir);
}

static const char *strna(const char *s) {
        return s ?: "(null)";
}

static char *path_in(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static double elapsed_ms(const struct timespec *start) {
        struct timespec end;

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &end), 0);
        return (end.tv_sec - start->tv_sec) * 1e3 + (end.tv_nsec - start->tv_nsec) / 1e6;
}

/* A new store on path, loaded; expects the given number of records and no message. */
static ThreatStore *open_store(const char *path, int expect) {
        _cleanup_free_ char *message = NULL;
        ThreatStore *s = NULL;

        ck_assert_int_eq(threat_store_new(path, &s), 0);
        ck_assert_int_eq(threat_store_load(s, &message), expect);
        ck_assert_msg(!message, "unexpected message: %s", message);
        return s;
}

static ThreatRecordInput input(const char *name, const char *path) {
        return (ThreatRecordInput) {
                .name = name,
                .type = "virus",
                .path = path,
                .source = THREAT_SOURCE_REAL_TIME,
        };
}

static const Threat *record(ThreatStore *s, const ThreatRecordInput *in) {
        const Threat *t = NULL;
        int r;

        r = threat_store_record(s, in, &t);
        ck_assert_msg(r == 0, "threat_store_record('%s') failed: %d", in->path, r);
        ck_assert_ptr_nonnull(t);
        return t;
}

static char *read_all(const char *path, size_t *ret_size) {
        char *data = NULL;

        ck_assert_int_eq(read_file_full(path, THREAT_STORE_FILE_MAX, &data, ret_size), 0);
        return data;
}

static void write_all(const char *path, const char *data, size_t size) {
        ck_assert_int_eq(write_file_atomic(path, data, size, 0600), 0);
}

/* The names in dir, sorted, as a strv. */
static char **list_dir(const char *path) {
        _cleanup_strv_free_ char **l = NULL;
        DIR *d = opendir(path);
        struct dirent *de;
        size_t n;

        ck_assert_ptr_nonnull(d);
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

/* The one "threats.json.invalid-*" file in dir, or fails. */
static char *invalid_file(void) {
        _cleanup_strv_free_ char **l = list_dir(dir);
        char *found = NULL;

        for (char **i = l; i && *i; i++)
                if (strneq(*i, "threats.json.invalid-", strlen("threats.json.invalid-"))) {
                        ck_assert_msg(!found, "two invalid files: %s", *i);
                        found = path_in(*i);
                }
        ck_assert_msg(found, "no threats.json.invalid-* file");
        return found;
}

static void assert_threat_equal(const Threat *a, const Threat *b) {
        ck_assert_str_eq(a->id, b->id);
        ck_assert_str_eq(a->name, b->name);
        ck_assert_str_eq(a->type, b->type);
        ck_assert_uint_eq(strlen(a->path), strlen(b->path));
        ck_assert(memcmp(a->path, b->path, strlen(a->path)) == 0);
        ck_assert(streq_ptr(a->member, b->member));
        ck_assert_int_eq(a->has_identity, b->has_identity);
        ck_assert_uint_eq(a->dev, b->dev);
        ck_assert_uint_eq(a->ino, b->ino);
        ck_assert_str_eq(a->sha256, b->sha256);
        ck_assert_uint_eq(a->detected, b->detected);
        ck_assert_int_eq(a->source, b->source);
        ck_assert_int_eq(a->status, b->status);
        ck_assert_uint_eq(a->n_history, b->n_history);
        for (size_t i = 0; i < a->n_history; i++) {
                ck_assert_uint_eq(a->history[i].time, b->history[i].time);
                ck_assert_int_eq(a->history[i].status, b->history[i].status);
                ck_assert(streq_ptr(a->history[i].detail, b->history[i].detail));
        }
}

/* Every record of a equals the record of b at the same place. */
static void assert_stores_equal(const ThreatStore *a, const ThreatStore *b) {
        ck_assert_uint_eq(threat_store_count(a), threat_store_count(b));
        for (size_t i = 0; i < threat_store_count(a); i++)
                assert_threat_equal(threat_store_at(a, i), threat_store_at(b, i));
}

/* What the file holds equals what the store holds. */
static void assert_disk_matches(const ThreatStore *s, const char *path) {
        _cleanup_(threat_store_freep) ThreatStore *again = NULL;

        again = open_store(path, (int) threat_store_count(s));
        assert_stores_equal(s, again);
}

/* ---- names ---- */

START_TEST(test_enum_names) {
        for (int i = 0; i < _THREAT_SOURCE_MAX; i++)
                ck_assert_int_eq(threat_source_from_string(threat_source_to_string(i)), i);
        for (int i = 0; i < _THREAT_STATUS_MAX; i++)
                ck_assert_int_eq(threat_status_from_string(threat_status_to_string(i)), i);
        ck_assert_str_eq(threat_source_to_string(THREAT_SOURCE_ON_DEMAND), "on_demand");
        ck_assert_str_eq(threat_source_to_string(THREAT_SOURCE_REAL_TIME), "real_time");
        ck_assert_str_eq(threat_source_to_string(THREAT_SOURCE_BEHAVIOR), "behavior");
        ck_assert_str_eq(threat_status_to_string(THREAT_STATUS_QUARANTINED), "quarantined");
        ck_assert_ptr_null(threat_source_to_string(_THREAT_SOURCE_MAX));
        ck_assert_ptr_null(threat_status_to_string(-1));
        ck_assert_int_eq(threat_status_from_string("Active"), _THREAT_STATUS_INVALID);
        ck_assert_int_eq(threat_status_from_string(NULL), _THREAT_STATUS_INVALID);
        ck_assert_int_eq(threat_source_from_string("cloud"), _THREAT_SOURCE_INVALID);
}
END_TEST

/* ---- recording, lookup, order ---- */

START_TEST(test_record_get_order) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        const Threat *a, *b, *c, *t;
        ThreatRecordInput in;
        char upper[THREAT_ID_LENGTH + 1];
        uint64_t before = now_usec();
        size_t i;

        s = open_store(store_path, 0);
        ck_assert_uint_eq(threat_store_count(s), 0);
        ck_assert_ptr_null(threat_store_at(s, 0));

        in = input(EICAR, "/tmp/eicar.com");
        in.sha256 = "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F";
        a = record(s, &in);
        in = input("PUA:Win32/Example", "/home/u/tool.zip->bin/tool.exe");
        in.type = "potentially_unwanted_application";
        in.source = THREAT_SOURCE_ON_DEMAND;
        in.status = THREAT_STATUS_AUDITED;
        in.detected = before - 86400000000;
        in.detail = "audit by threat-type policy";
        b = record(s, &in);
        in = input(EICAR, "/tmp/eicar.com");
        in.source = THREAT_SOURCE_BEHAVIOR;
        c = record(s, &in);

        ck_assert_uint_eq(threat_store_count(s), 3);
        ck_assert_ptr_eq(threat_store_at(s, 0), c);
        ck_assert_ptr_eq(threat_store_at(s, 1), b);
        ck_assert_ptr_eq(threat_store_at(s, 2), a);
        ck_assert_ptr_null(threat_store_at(s, 3));

        /* Fields as given, or defaulted. */
        ck_assert_str_eq(a->name, EICAR);
        ck_assert_str_eq(a->type, "virus");
        ck_assert_str_eq(a->sha256, SHA_EICAR);
        ck_assert_int_eq(a->source, THREAT_SOURCE_REAL_TIME);
        ck_assert_int_eq(a->status, THREAT_STATUS_ACTIVE);
        ck_assert_uint_ge(a->detected, before);
        ck_assert_uint_le(a->detected, now_usec());
        ck_assert_uint_eq(a->n_history, 1);
        ck_assert_uint_eq(a->history[0].time, a->detected);
        ck_assert_int_eq(a->history[0].status, THREAT_STATUS_ACTIVE);
        ck_assert_ptr_null(a->history[0].detail);
        ck_assert_str_eq(b->type, "potentially_unwanted_application");
        ck_assert_str_eq(b->sha256, "");
        ck_assert_int_eq(b->status, THREAT_STATUS_AUDITED);
        ck_assert_uint_eq(b->detected, before - 86400000000);
        ck_assert_str_eq(b->history[0].detail, "audit by threat-type policy");
        ck_assert_int_eq(c->source, THREAT_SOURCE_BEHAVIOR);

        /* Ids: random version-4 UUIDs, lowercase; found in either case. */
        for (i = 0; i < 3; i++) {
                t = threat_store_at(s, i);
                ck_assert(threat_id_valid(t->id));
                ck_assert_int_eq(t->id[14], '4');
                ck_assert_ptr_nonnull(strchr("89ab", t->id[19]));
                for (const char *p = t->id; *p; p++)
                        ck_assert(!(*p >= 'A' && *p <= 'F'));
                ck_assert_ptr_eq(threat_store_get(s, t->id), t);
        }
        ck_assert_str_ne(a->id, b->id);
        ck_assert_str_ne(a->id, c->id);
        for (i = 0; i <= THREAT_ID_LENGTH; i++)
                upper[i] = b->id[i] >= 'a' && b->id[i] <= 'f' ? b->id[i] - 'a' + 'A' : b->id[i];
        ck_assert_ptr_eq(threat_store_get(s, upper), b);
        ck_assert_ptr_null(threat_store_get(s, "00000000-0000-4000-8000-000000000000"));
        ck_assert_ptr_null(threat_store_get(s, "not-an-id"));
        ck_assert_ptr_null(threat_store_get(s, ""));

        /* By path: the newest first, then the others. */
        ck_assert_ptr_eq(threat_store_find_by_path(s, "/tmp/eicar.com", NULL), c);
        i = 0;
        ck_assert_ptr_eq(threat_store_find_by_path(s, "/tmp/eicar.com", &i), c);
        ck_assert_uint_eq(i, 0);
        i++;
        ck_assert_ptr_eq(threat_store_find_by_path(s, "/tmp/eicar.com", &i), a);
        ck_assert_uint_eq(i, 2);
        i++;
        ck_assert_ptr_null(threat_store_find_by_path(s, "/tmp/eicar.com", &i));
        ck_assert_ptr_eq(threat_store_find_by_path(s, "/home/u/tool.zip->bin/tool.exe", NULL), b);
        ck_assert_ptr_null(threat_store_find_by_path(s, "/tmp/eicar", NULL));
        ck_assert_ptr_null(threat_store_find_by_path(s, "/tmp/eicar.com/", NULL));
}
END_TEST

START_TEST(test_not_loaded) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        ThreatRecordInput in = input(EICAR, "/tmp/x");
        char **ids = NULL;

        ck_assert_int_eq(threat_store_new("", &s), -EINVAL);
        ck_assert_int_eq(threat_store_new(store_path, &s), 0);
        ck_assert_int_eq(threat_store_record(s, &in, NULL), -ESTALE);
        ck_assert_int_eq(threat_store_record_many(s, &in, 1, NULL), -ESTALE);
        ck_assert_int_eq(threat_store_set_status(s, "00000000-0000-4000-8000-000000000000",
                                                 THREAT_STATUS_REMOVED, NULL), -ESTALE);
        ck_assert_int_eq(threat_store_prune(s, now_usec(), 1, 1, &ids), -ESTALE);
        ck_assert_ptr_null(ids);
        ck_assert_int_eq(access(store_path, F_OK), -1);
        ck_assert_ptr_null(threat_store_free(NULL));
}
END_TEST

START_TEST(test_input_validation) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *long_path = NULL, *max_path = NULL, *long_name = NULL;
        char long_type[THREAT_TYPE_MAX + 2];
        const Threat *t = NULL;
        ThreatRecordInput in;

        s = open_store(store_path, 0);

        long_path = malloc(THREAT_PATH_MAX + 2);
        ck_assert_ptr_nonnull(long_path);
        memset(long_path, 'p', THREAT_PATH_MAX + 1);
        long_path[0] = '/';
        long_path[THREAT_PATH_MAX + 1] = '\0';
        max_path = strndup(long_path, THREAT_PATH_MAX);
        long_name = malloc(THREAT_NAME_MAX + 2);
        ck_assert_ptr_nonnull(long_name);
        memset(long_name, 'n', THREAT_NAME_MAX + 1);
        long_name[THREAT_NAME_MAX + 1] = '\0';
        memset(long_type, 'a', THREAT_TYPE_MAX + 1);
        long_type[THREAT_TYPE_MAX + 1] = '\0';

        struct {
                const char *field;
                const char *value;
                int expect;
        } cases[] = {
                { "name", NULL, -EINVAL },
                { "name", "", -EINVAL },
                { "name", "Virus:X\n", -EINVAL },
                { "name", "Virus:\x1b[31mX", -EINVAL },
                { "name", "Virus:\xff", -EINVAL },
                { "name", "Virus:\xc0\xaf", -EINVAL },
                { "name", long_name, -EINVAL },
                { "type", NULL, -EINVAL },
                { "type", "", -EINVAL },
                { "type", "Virus", -EINVAL },
                { "type", "virus type", -EINVAL },
                { "type", long_type, -EINVAL },
                { "path", NULL, -EINVAL },
                { "path", "", -EINVAL },
                { "path", long_path, -ENAMETOOLONG },
                { "sha256", "abc", -EINVAL },
                { "sha256", SHA_EICAR "0", -EINVAL },
                { "sha256", "g75a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
                  -EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                in = input(EICAR, "/tmp/x");
                if (streq(cases[i].field, "name"))
                        in.name = cases[i].value;
                else if (streq(cases[i].field, "type"))
                        in.type = cases[i].value;
                else if (streq(cases[i].field, "path"))
                        in.path = cases[i].value;
                else
                        in.sha256 = cases[i].value;
                ck_assert_msg(threat_store_record(s, &in, &t) == cases[i].expect,
                              "case %zu (%s)", i, cases[i].field);
        }
        in = input(EICAR, "/tmp/x");
        in.source = _THREAT_SOURCE_MAX;
        ck_assert_int_eq(threat_store_record(s, &in, &t), -EINVAL);
        in.source = -1;
        ck_assert_int_eq(threat_store_record(s, &in, &t), -EINVAL);
        in = input(EICAR, "/tmp/x");
        in.status = _THREAT_STATUS_MAX;
        ck_assert_int_eq(threat_store_record(s, &in, &t), -EINVAL);
        in = input(EICAR, "/tmp/x");
        in.detected = UINT64_MAX;
        ck_assert_int_eq(threat_store_record(s, &in, &t), -EINVAL);
        ck_assert_int_eq(threat_store_record(s, NULL, &t), -EINVAL);
        ck_assert_int_eq(threat_store_record_many(s, NULL, 1, NULL), -EINVAL);

        /* Nothing was recorded, nothing written, ret untouched. */
        ck_assert_ptr_null(t);
        ck_assert_uint_eq(threat_store_count(s), 0);
        ck_assert_int_eq(access(store_path, F_OK), -1);

        /* A batch with one bad input records none. */
        ThreatRecordInput batch[3] = {
                input(EICAR, "/a"), input(EICAR, ""), input(EICAR, "/c"),
        };
        ck_assert_int_eq(threat_store_record_many(s, batch, 3, NULL), -EINVAL);
        ck_assert_uint_eq(threat_store_count(s), 0);

        /* The longest path and name pass. */
        in = input(long_name + 1, max_path);
        t = record(s, &in);
        ck_assert_uint_eq(strlen(t->path), THREAT_PATH_MAX);
        ck_assert_uint_eq(strlen(t->name), THREAT_NAME_MAX);
        assert_disk_matches(s, store_path);
}
END_TEST

/* ---- status changes ---- */

START_TEST(test_set_status) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *long_detail = NULL;
        ThreatRecordInput in = input(EICAR, "/tmp/eicar.com");
        const Threat *t;
        uint64_t first_time;
        char id[THREAT_ID_LENGTH + 1];

        s = open_store(store_path, 0);
        t = record(s, &in);
        first_time = t->history[0].time;
        memcpy(id, t->id, sizeof(id));

        ck_assert_int_eq(threat_store_set_status(s, id, THREAT_STATUS_QUARANTINED,
                                                 "moved to quarantine"), 1);
        ck_assert_int_eq(t->status, THREAT_STATUS_QUARANTINED);
        ck_assert_uint_eq(t->n_history, 2);
        ck_assert_int_eq(t->history[1].status, THREAT_STATUS_QUARANTINED);
        ck_assert_str_eq(t->history[1].detail, "moved to quarantine");
        ck_assert_uint_ge(t->history[1].time, first_time);

        /* The same status again: nothing to do. */
        ck_assert_int_eq(threat_store_set_status(s, id, THREAT_STATUS_QUARANTINED, "again"), 0);
        ck_assert_uint_eq(t->n_history, 2);

        ck_assert_int_eq(threat_store_set_status(s, "00000000-0000-4000-8000-000000000000",
                                                 THREAT_STATUS_REMOVED, NULL), -ENOENT);
        ck_assert_int_eq(threat_store_set_status(s, "bogus", THREAT_STATUS_REMOVED, NULL),
                         -ENOENT);
        ck_assert_int_eq(threat_store_set_status(s, id, _THREAT_STATUS_MAX, NULL), -EINVAL);
        ck_assert_int_eq(threat_store_set_status(s, id, -1, NULL), -EINVAL);

        /* A detail that is not UTF-8 keeps U+FFFD in place of each bad byte; a long one is cut
         * at a character boundary. */
        ck_assert_int_eq(threat_store_set_status(s, id, THREAT_STATUS_RESTORED,
                                                 "to '/x/\xff\xfe'"), 1);
        ck_assert_str_eq(t->history[2].detail, "to '/x/\xEF\xBF\xBD\xEF\xBF\xBD'");
        long_detail = malloc(2 * THREAT_DETAIL_MAX + 2);
        ck_assert_ptr_nonnull(long_detail);
        /* "x" then é é é ...: the cut cannot fall on an even byte count */
        long_detail[0] = 'x';
        for (size_t i = 1; i + 1 < 2 * THREAT_DETAIL_MAX; i += 2)
                memcpy(long_detail + i, "\xc3\xa9", 2);
        long_detail[2 * THREAT_DETAIL_MAX - 1] = '\0';
        ck_assert_int_eq(threat_store_set_status(s, id, THREAT_STATUS_QUARANTINED,
                                                 long_detail), 1);
        ck_assert_uint_le(strlen(t->history[3].detail), THREAT_DETAIL_MAX);
        ck_assert_uint_ge(strlen(t->history[3].detail), THREAT_DETAIL_MAX - 1);
        ck_assert(threat_utf8_valid(t->history[3].detail, strlen(t->history[3].detail)));

        /* A full history forgets the oldest change after the detection. */
        for (unsigned i = 0; i < 2 * THREAT_HISTORY_MAX; i++)
                ck_assert_int_eq(threat_store_set_status(s, id, i % 2 ? THREAT_STATUS_QUARANTINED :
                                                         THREAT_STATUS_RESTORED, NULL), 1);
        ck_assert_uint_eq(t->n_history, THREAT_HISTORY_MAX);
        ck_assert_uint_eq(t->history[0].time, first_time);
        ck_assert_int_eq(t->history[0].status, THREAT_STATUS_ACTIVE);
        ck_assert_int_eq(t->status, THREAT_STATUS_QUARANTINED);
        ck_assert_int_eq(t->history[THREAT_HISTORY_MAX - 1].status, THREAT_STATUS_QUARANTINED);
        ck_assert_int_eq(t->history[THREAT_HISTORY_MAX - 2].status, THREAT_STATUS_RESTORED);

        assert_disk_matches(s, store_path);
}
END_TEST

/* ---- persistence ---- */

START_TEST(test_round_trip) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL, *again = NULL;
        _cleanup_free_ char *data = NULL;
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        const Threat *t;
        size_t size;

        s = open_store(store_path, 0);
        threat_store_set_limits(s, 0, 0);       /* the detection times are long past */
        for (unsigned i = 0; i < 20; i++) {
                char path[64], detail[64];
                ThreatRecordInput in = input(i % 3 ? EICAR : "Trojan:Linux/Example.A!MTB", path);

                snprintf(path, sizeof(path), "/srv/data/file-%u.bin", i);
                snprintf(detail, sizeof(detail), "detail \"%u\"\n\tline two", i);
                in.type = i % 2 ? "virus" : "trojan";
                in.sha256 = i % 4 ? SHA_EICAR : NULL;
                in.detected = 1700000000000000 + i * UINT64_C(1000003);
                in.source = i % _THREAT_SOURCE_MAX;
                in.status = i % 5 == 0 ? THREAT_STATUS_AUDITED : THREAT_STATUS_ACTIVE;
                in.detail = i % 2 ? detail : NULL;
                t = record(s, &in);
                if (i % 3 == 0) {
                        ck_assert_int_eq(threat_store_set_status(s, t->id,
                                                                 THREAT_STATUS_QUARANTINED,
                                                                 "quarantined as 'x'"), 1);
                        ck_assert_int_eq(threat_store_set_status(s, t->id,
                                                                 THREAT_STATUS_REMOVED, NULL),
                                         1);
                }
        }

        again = open_store(store_path, 20);
        assert_stores_equal(s, again);
        ck_assert_int_eq(threat_store_at(again, 19)->n_history, 3);
        ck_assert_str_eq(threat_store_at(again, 19)->history[1].detail, "quarantined as 'x'");
        ck_assert_ptr_null(threat_store_at(again, 19)->history[2].detail);

        /* The second store carries on where the first stopped. */
        t = threat_store_at(again, 5);
        ck_assert_int_ge(threat_store_set_status(again, t->id, THREAT_STATUS_ALLOWED, "by admin"),
                         1);
        assert_disk_matches(again, store_path);

        /* The file is strict JSON (util/json.h rejects invalid UTF-8 and more), mode 0600, one
         * record per line, with the version first. */
        data = read_all(store_path, &size);
        ck_assert_int_eq(json_parse(data, size, &root, NULL), 0);
        ck_assert_int_eq(root->type, JSON_OBJECT);
        ck_assert_str_eq(root->object.keys[0], "version");
        ck_assert_int_eq(json_object_get(root, "version")->integer, 1);
        ck_assert_int_eq(json_object_get(root, "threats")->array.n, 20);
        ck_assert(strneq(data, "{\"version\":1,\"threats\":[\n{\"id\":\"",
                         strlen("{\"version\":1,\"threats\":[\n{\"id\":\"")));
        size_t lines = 0;
        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        ck_assert_uint_eq(lines, 22);

        struct stat st;
        ck_assert_int_eq(stat(store_path, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0600);
}
END_TEST

START_TEST(test_reload_replaces) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL, *other = NULL;
        ThreatRecordInput in = input(EICAR, "/a");

        s = open_store(store_path, 0);
        record(s, &in);
        other = open_store(store_path, 1);
        in.path = "/b";
        record(other, &in);
        record(other, &in);
        ck_assert_int_eq(threat_store_load(s, NULL), 3);
        assert_stores_equal(s, other);
}
END_TEST

START_TEST(test_no_temp_files) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_strv_free_ char **names = NULL;

        s = open_store(store_path, 0);
        for (unsigned i = 0; i < 50; i++) {
                ThreatRecordInput in = input(EICAR, "/tmp/eicar.com");
                const Threat *t = record(s, &in);

                if (i % 5 == 0)
                        ck_assert_int_eq(threat_store_set_status(s, t->id,
                                                                 THREAT_STATUS_QUARANTINED,
                                                                 NULL), 1);
        }
        ck_assert_int_eq(threat_store_prune(s, now_usec(), 0, 10, NULL), 40);
        names = list_dir(dir);
        ck_assert_uint_eq(strv_length(names), 1);
        ck_assert_str_eq(names[0], "threats.json");
}
END_TEST

/* ---- failing saves ---- */

START_TEST(test_failed_save_keeps_memory) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *sub = path_in("sub"), *gone = path_in("gone"), *path = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        ThreatRecordInput in = input(EICAR, "/tmp/eicar.com");
        ThreatRecordInput batch[2] = { input(EICAR, "/a"), input(EICAR, "/b") };
        const Threat *t, *newest, *ret = NULL;
        size_t before_size, after_size, n_history;
        char old_id[THREAT_ID_LENGTH + 1];
        char **ids = NULL;

        /* The store lives in dir/sub/; taking the directory away makes every save fail, as a
         * full or failing disk would. Root ignores permissions, so a read-only directory would
         * not do. */
        ck_assert_int_eq(mkdir(sub, 0700), 0);
        ck_assert_int_ge(asprintf(&path, "%s/threats.json", sub), 0);
        s = open_store(path, 0);
        threat_store_set_limits(s, 0, 0);
        in.detected = now_usec() - 100 * USEC_PER_DAY;
        t = record(s, &in);
        in.detected = 0;
        newest = record(s, &in);
        before = read_all(path, &before_size);
        n_history = t->n_history;

        ck_assert_int_eq(rename(sub, gone), 0);

        ck_assert_int_eq(threat_store_record(s, &in, &ret), -ENOENT);
        ck_assert_ptr_null(ret);
        ck_assert_int_eq(threat_store_record_many(s, batch, 2, NULL), -ENOENT);
        ck_assert_uint_eq(threat_store_count(s), 2);
        ck_assert_ptr_eq(threat_store_at(s, 0), newest);
        ck_assert_ptr_eq(threat_store_at(s, 1), t);
        ck_assert_ptr_null(threat_store_find_by_path(s, "/a", NULL));

        ck_assert_int_eq(threat_store_set_status(s, t->id, THREAT_STATUS_QUARANTINED, "x"),
                         -ENOENT);
        ck_assert_int_eq(t->status, THREAT_STATUS_ACTIVE);
        ck_assert_uint_eq(t->n_history, n_history);

        ck_assert_int_eq(threat_store_prune(s, now_usec(), 90, 0, &ids), -ENOENT);
        ck_assert_ptr_null(ids);
        ck_assert_uint_eq(threat_store_count(s), 2);
        ck_assert_ptr_eq(threat_store_get(s, t->id), t);

        /* Back in place: the file is as it was, memory agrees with it, and saving works. */
        ck_assert_int_eq(rename(gone, sub), 0);
        after = read_all(path, &after_size);
        ck_assert_uint_eq(before_size, after_size);
        ck_assert(memcmp(before, after, before_size) == 0);
        assert_disk_matches(s, path);
        ck_assert_int_eq(threat_store_set_status(s, t->id, THREAT_STATUS_QUARANTINED, "x"), 1);
        memcpy(old_id, t->id, sizeof(old_id));
        ck_assert_int_eq(threat_store_prune(s, now_usec(), 90, 0, &ids), 1);
        ck_assert_str_eq(ids[0], old_id);
        ck_assert_uint_eq(strv_length(ids), 1);
        ck_assert_ptr_null(threat_store_get(s, old_id));
        ids = strv_free(ids);
        record(s, &in);
        assert_disk_matches(s, path);
}
END_TEST

/* A history that would outgrow the size every saved file must stay within is refused. */
START_TEST(test_file_size_limit) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        ThreatRecordInput in = input(EICAR, "/tmp/eicar.com");
        const Threat *t;
        size_t size;
        _cleanup_free_ char *data = NULL;

        s = open_store(store_path, 0);
        t = record(s, &in);
        data = read_all(store_path, &size);
        threat_store_set_file_max(s, size + 10);
        ck_assert_int_eq(threat_store_record(s, &in, NULL), -E2BIG);
        ck_assert_int_eq(threat_store_set_status(s, t->id, THREAT_STATUS_QUARANTINED,
                                                 "a detail long enough to exceed the limit"),
                         -E2BIG);
        ck_assert_int_eq(t->status, THREAT_STATUS_ACTIVE);
        ck_assert_uint_eq(threat_store_count(s), 1);
        assert_disk_matches(s, store_path);
}
END_TEST

/* Several status changes, one save: all or none. */
START_TEST(test_set_status_many) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        ThreatRecordInput in = input(EICAR, "/tmp/eicar.com");
        char a[THREAT_ID_LENGTH + 1], b[THREAT_ID_LENGTH + 1];
        _cleanup_free_ char *data = NULL;
        size_t size;

        s = open_store(store_path, 0);
        memcpy(a, record(s, &in)->id, sizeof(a));
        memcpy(b, record(s, &in)->id, sizeof(b));

        ck_assert_int_eq(threat_store_set_status_many(s, (ThreatStatusChange[]) {
                { a, THREAT_STATUS_QUARANTINED, "one" },
                { "00000000-0000-4000-8000-000000000000", THREAT_STATUS_REMOVED, NULL },
                { b, THREAT_STATUS_ACTIVE, NULL },              /* already: skipped */
                { b, THREAT_STATUS_QUARANTINED, NULL },
        }, 4), 2);
        ck_assert_int_eq(threat_store_get(s, a)->status, THREAT_STATUS_QUARANTINED);
        ck_assert_str_eq(threat_store_get(s, a)->history[1].detail, "one");
        ck_assert_int_eq(threat_store_get(s, b)->status, THREAT_STATUS_QUARANTINED);
        assert_disk_matches(s, store_path);

        /* Nothing to change: no save, 0. */
        ck_assert_int_eq(threat_store_set_status_many(s, (ThreatStatusChange[]) {
                { a, THREAT_STATUS_QUARANTINED, NULL },
        }, 1), 0);
        ck_assert_int_eq(threat_store_set_status_many(s, (ThreatStatusChange[]) {
                { a, _THREAT_STATUS_MAX, NULL },
        }, 1), -EINVAL);

        /* A save that fails undoes every change of the batch, the same record twice included. */
        data = read_all(store_path, &size);
        threat_store_set_file_max(s, size + 10);
        ck_assert_int_eq(threat_store_set_status_many(s, (ThreatStatusChange[]) {
                { a, THREAT_STATUS_REMOVED, "a detail long enough to exceed the limit" },
                { b, THREAT_STATUS_RESTORED, "to '/tmp/eicar.com'" },
                { a, THREAT_STATUS_RESTORED, NULL },
        }, 3), -E2BIG);
        ck_assert_int_eq(threat_store_get(s, a)->status, THREAT_STATUS_QUARANTINED);
        ck_assert_uint_eq(threat_store_get(s, a)->n_history, 2);
        ck_assert_int_eq(threat_store_get(s, b)->status, THREAT_STATUS_QUARANTINED);
        ck_assert_uint_eq(threat_store_get(s, b)->n_history, 2);
        assert_disk_matches(s, store_path);
}
END_TEST

/* ---- pruning ---- */

START_TEST(test_prune) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        uint64_t now = now_usec();
        const uint64_t age[] = {
                100 * USEC_PER_DAY, 2 * USEC_PER_DAY, 90 * USEC_PER_DAY + 1, 91 * USEC_PER_DAY,
                90 * USEC_PER_DAY, 10 * USEC_PER_DAY, 0,
        };
        char ids[ELEMENTSOF(age)][THREAT_ID_LENGTH + 1];
        char **dropped = NULL;

        s = open_store(store_path, 0);
        threat_store_set_limits(s, 0, 0);
        for (size_t i = 0; i < ELEMENTSOF(age); i++) {
                ThreatRecordInput in = input(EICAR, "/tmp/eicar.com");

                in.detected = now - age[i];
                memcpy(ids[i], record(s, &in)->id, sizeof(ids[i]));
        }

        /* Nothing to do: no save, no ids. */
        dropped = (char **) 0x1;
        ck_assert_int_eq(threat_store_prune(s, now, 180, 0, &dropped), 0);
        ck_assert_ptr_null(dropped);

        /* By age: more than 90 days; exactly 90 days stays. Oldest (in recording order) first. */
        ck_assert_int_eq(threat_store_prune(s, now, 90, 0, &dropped), 3);
        ck_assert_uint_eq(strv_length(dropped), 3);
        ck_assert_str_eq(dropped[0], ids[0]);
        ck_assert_str_eq(dropped[1], ids[2]);
        ck_assert_str_eq(dropped[2], ids[3]);
        dropped = strv_free(dropped);
        ck_assert_uint_eq(threat_store_count(s), 4);
        ck_assert_ptr_null(threat_store_get(s, ids[0]));
        ck_assert_ptr_nonnull(threat_store_get(s, ids[4]));

        /* By count: the oldest beyond 2. */
        ck_assert_int_eq(threat_store_prune(s, now, 0, 2, &dropped), 2);
        ck_assert_uint_eq(strv_length(dropped), 2);
        ck_assert_str_eq(dropped[0], ids[1]);
        ck_assert_str_eq(dropped[1], ids[4]);
        dropped = strv_free(dropped);
        ck_assert_uint_eq(threat_store_count(s), 2);
        ck_assert_str_eq(threat_store_at(s, 0)->id, ids[6]);
        ck_assert_str_eq(threat_store_at(s, 1)->id, ids[5]);
        assert_disk_matches(s, store_path);

        /* Both at once, ids not wanted; a record from the future is not "old". */
        ThreatRecordInput in = input(EICAR, "/future");
        in.detected = now + USEC_PER_DAY;
        record(s, &in);
        ck_assert_int_eq(threat_store_prune(s, now, 1, 0, NULL), 1);
        ck_assert_uint_eq(threat_store_count(s), 2);
        ck_assert_str_eq(threat_store_at(s, 0)->path, "/future");
        ck_assert_str_eq(threat_store_at(s, 1)->id, ids[6]);
        ck_assert_int_eq(threat_store_prune(s, now, 1, 2, NULL), 0);
        assert_disk_matches(s, store_path);
}
END_TEST

typedef struct PruneLog {
        char **ids;
        unsigned calls;
        int record_result;
} PruneLog;

static void on_pruned(ThreatStore *s, char * const *ids, void *userdata) {
        PruneLog *log = userdata;
        ThreatRecordInput in = input(EICAR, "/from/handler");
        char **copy = NULL;

        log->calls++;
        for (char * const *i = ids; *i; i++)
                ck_assert_int_eq(strv_extend(&log->ids, *i), 0);
        /* Reading is fine, changing is not. */
        ck_assert_ptr_null(threat_store_get(s, ids[0]));
        log->record_result = threat_store_record(s, &in, NULL);
        ck_assert_int_eq(threat_store_prune(s, 0, 0, 1, &copy), -EBUSY);
        ck_assert_int_eq(threat_store_load(s, NULL), -EBUSY);
}

START_TEST(test_prune_on_record) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        PruneLog log = {};
        uint64_t now = now_usec();
        char ids[7][THREAT_ID_LENGTH + 1];
        ThreatRecordInput batch[7];
        const Threat *ret[7];
        ThreatRecordInput in = input(EICAR, "/new");

        s = open_store(store_path, 0);
        threat_store_set_limits(s, 0, 0);
        threat_store_set_prune_handler(s, on_pruned, &log);
        for (size_t i = 0; i < 7; i++) {
                batch[i] = input(EICAR, "/batch");
                batch[i].detected = i < 3 ? now - 40 * USEC_PER_DAY : now - USEC_PER_DAY;
        }
        ck_assert_int_eq(threat_store_record_many(s, batch, 7, ret), 0);
        for (size_t i = 0; i < 7; i++)
                memcpy(ids[i], ret[i]->id, sizeof(ids[i]));
        ck_assert_str_eq(threat_store_at(s, 0)->id, ids[6]);
        ck_assert_uint_eq(log.calls, 0);

        /* Age first: the three old ones go, which leaves room for the new one. */
        threat_store_set_limits(s, 30, 5);
        record(s, &in);
        ck_assert_uint_eq(log.calls, 1);
        ck_assert_int_eq(log.record_result, -EBUSY);
        ck_assert_uint_eq(strv_length(log.ids), 3);
        for (size_t i = 0; i < 3; i++)
                ck_assert_str_eq(log.ids[i], ids[i]);
        ck_assert_uint_eq(threat_store_count(s), 5);

        /* Then count: one more pushes out the oldest. */
        record(s, &in);
        ck_assert_uint_eq(log.calls, 2);
        ck_assert_uint_eq(strv_length(log.ids), 4);
        ck_assert_str_eq(log.ids[3], ids[3]);
        ck_assert_uint_eq(threat_store_count(s), 5);

        /* A new record that is already old is kept: it was just found. */
        in.detected = now - 100 * USEC_PER_DAY;
        record(s, &in);
        ck_assert_uint_eq(threat_store_count(s), 5);
        ck_assert_uint_eq(threat_store_at(s, 0)->detected, now - 100 * USEC_PER_DAY);
        ck_assert_uint_eq(log.calls, 3);

        /* A batch larger than max_items keeps the whole batch. */
        threat_store_set_limits(s, 0, 2);
        ck_assert_int_eq(threat_store_record_many(s, batch, 3, NULL), 0);
        ck_assert_uint_eq(threat_store_count(s), 3);
        ck_assert_uint_eq(strv_length(log.ids), 4 + 1 + 5);
        assert_disk_matches(s, store_path);

        /* Without a handler, pruning still happens. */
        threat_store_set_prune_handler(s, NULL, NULL);
        record(s, &in);
        ck_assert_uint_eq(threat_store_count(s), 2);
        ck_assert_uint_eq(log.calls, 4);
        strv_free(log.ids);
}
END_TEST

/* ---- ids ---- */

static int compare_ids(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

START_TEST(test_ids_unique) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        static ThreatRecordInput batch[THREAT_STORE_BATCH_MAX + 1];
        const size_t total = 10000, chunk = 1000;
        _cleanup_free_ const char **ids = calloc(total, sizeof(char *));

        ck_assert_ptr_nonnull(ids);
        s = open_store(store_path, 0);
        threat_store_set_limits(s, 0, 0);
        for (size_t i = 0; i < ELEMENTSOF(batch); i++)
                batch[i] = input(EICAR, "/tmp/eicar.com");
        ck_assert_int_eq(threat_store_record_many(s, batch, THREAT_STORE_BATCH_MAX + 1, NULL),
                         -E2BIG);
        ck_assert_int_eq(threat_store_record_many(s, batch, 0, NULL), 0);
        for (size_t i = 0; i < total; i += chunk)
                ck_assert_int_eq(threat_store_record_many(s, batch, chunk, NULL), 0);
        ck_assert_uint_eq(threat_store_count(s), total);

        for (size_t i = 0; i < total; i++) {
                ids[i] = threat_store_at(s, i)->id;
                ck_assert(threat_id_valid(ids[i]));
                ck_assert_int_eq(ids[i][14], '4');
        }
        qsort(ids, total, sizeof(char *), compare_ids);
        for (size_t i = 1; i < total; i++)
                ck_assert_str_ne(ids[i - 1], ids[i]);
}
END_TEST

/* ---- corrupt files ---- */

static char *deep_nesting(size_t depth) {
        char *s = malloc(2 * depth + 1);

        ck_assert_ptr_nonnull(s);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = '\0';
        return s;
}

#define REC(id) \
        "{\"id\":\"" id "\",\"name\":\"" EICAR "\",\"type\":\"virus\",\"path\":\"/tmp/e\"," \
        "\"sha256\":\"\",\"detected\":1700000000000000,\"source\":\"real_time\"," \
        "\"status\":\"active\",\"history\":[{\"time\":1700000000000000,\"status\":\"active\"}]}"
#define ID1 "11111111-1111-4111-8111-111111111111"
#define ID2 "22222222-2222-4222-8222-222222222222"

static const struct {
        const char *data;
        const char *reason;     /* part of the message */
} corrupt_cases[] = {
        { "", "premature EOF" },
        { "   \n", "premature EOF" },
        { "{not json", "line 1, column 3: lexical error" },
        { "[]", "not a JSON object" },
        { "\"threats\"", "not a JSON object" },
        { "{}", "no \"version\"" },
        { "{\"version\":1}", "no \"threats\"" },
        { "{\"threats\":[]}", "no \"version\"" },
        { "{\"version\":2,\"threats\":[]}", "unsupported version 2" },
        { "{\"version\":\"1\",\"threats\":[]}", "\"version\" is not an integer" },
        { "{\"version\":1.0,\"threats\":[]}", "\"version\" is not an integer" },
        { "{\"version\":[1],\"threats\":[]}", "\"version\" is not an integer" },
        { "{\"version\":1,\"threats\":{}}", "\"threats\" is not an array" },
        { "{\"version\":1,\"threats\":null}", "\"threats\" is not an array" },
        { "{\"version\":1,\"threats\":[],\"threats\":[]}", "duplicate member" },
        { "{\"version\":1,\"threats\":[]} []", "trailing garbage" },
        { "{\"version\":1,\"threats\":[" REC(ID1) "", "premature EOF" },
        { "{\"version\":1,\"threats\":[" REC(ID1) ",]}", "line 1" },
        { "{\"version\":1,\"threats\":[],\"x\":\"\xff\"}", "invalid bytes in UTF8" },
        { "{\"version\":1,\"threats\":[]}\n\n{", "line 3, column 2" },
        { "\xef\xbb\xbf{\"version\":1,\"threats\":[]}", "line 1" },
        { "{\"version\":1,\"threats\":[], /* c */ \"a\":1}", "line 1" },
        { NULL, "nesting deeper than 64" },     /* filled in: deep nesting at the top */
        { NULL, "nesting deeper than 64" },     /* and inside a record's unknown member */
};

START_TEST(test_corrupt_file_moved_aside) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *generated = NULL, *message = NULL, *aside = NULL, *kept = NULL;
        const char *data = corrupt_cases[_i].data;
        ThreatRecordInput in = input(EICAR, "/tmp/eicar.com");
        size_t size;

        if (!data && _i == ELEMENTSOF(corrupt_cases) - 2) {
                _cleanup_free_ char *n = deep_nesting(100000);

                ck_assert_int_ge(asprintf(&generated, "{\"version\":1,\"threats\":%s}", n), 0);
                data = generated;
        } else if (!data) {
                _cleanup_free_ char *n = deep_nesting(70);

                ck_assert_int_ge(asprintf(&generated, "{\"version\":1,\"threats\":["
                                          "{\"x\":%s}]}", n), 0);
                data = generated;
        }
        write_all(store_path, data, strlen(data));

        ck_assert_int_eq(threat_store_new(store_path, &s), 0);
        ck_assert_int_eq(threat_store_load(s, &message), 0);
        ck_assert_ptr_nonnull(message);
        ck_assert_msg(strstr(message, corrupt_cases[_i].reason),
                      "case %d: message '%s' lacks '%s'", _i, message, corrupt_cases[_i].reason);
        ck_assert_msg(strstr(message, "moved to '"), "%s", message);
        ck_assert_msg(strstr(message, store_path), "%s", message);
        ck_assert_uint_eq(threat_store_count(s), 0);

        /* The file is aside, byte for byte, and named in the message. */
        aside = invalid_file();
        ck_assert_ptr_nonnull(strstr(message, aside));
        ck_assert_int_eq(access(store_path, F_OK), -1);
        kept = read_all(aside, &size);
        ck_assert_uint_eq(size, strlen(data));
        ck_assert(memcmp(kept, data, size) == 0);

        /* The store works, and the aside file stays. */
        record(s, &in);
        assert_disk_matches(s, store_path);
        ck_assert_int_eq(access(aside, F_OK), 0);
}
END_TEST

/* Not a regular file, a symlink, a file over 64 MiB: set aside without being read. */
START_TEST(test_unusable_file_moved_aside) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *message = NULL, *aside = NULL, *target = path_in("target");
        struct stat st;

        switch (_i) {
        case 0:
                ck_assert_int_eq(mkdir(store_path, 0700), 0);
                break;
        case 1:
                write_all(target, "{\"version\":1,\"threats\":[]}", 26);
                ck_assert_int_eq(symlink(target, store_path), 0);
                break;
        default: {
                int fd = open(store_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(ftruncate(fd, (off_t) THREAT_STORE_FILE_MAX + 1), 0);
                close(fd);
        }
        }

        ck_assert_int_eq(threat_store_new(store_path, &s), 0);
        ck_assert_int_eq(threat_store_load(s, &message), 0);
        ck_assert_ptr_nonnull(message);
        ck_assert_msg(strstr(message, (const char *[]) { "not a regular file",
                                                         "symbolic link",
                                                         "larger than 64 MiB" }[_i]),
                      "%s", message);
        aside = invalid_file();
        ck_assert_int_eq(lstat(aside, &st), 0);
        ck_assert(_i == 0 ? S_ISDIR(st.st_mode) : _i == 1 ? S_ISLNK(st.st_mode) :
                  S_ISREG(st.st_mode));
        if (_i == 1)
                ck_assert_int_eq(access(target, F_OK), 0);
        ck_assert_int_eq(lstat(store_path, &st), -1);
}
END_TEST

/* A second corrupt file in the same second gets its own name. */
START_TEST(test_aside_names_unique) {
        for (unsigned i = 0; i < 3; i++) {
                _cleanup_(threat_store_freep) ThreatStore *s = NULL;
                _cleanup_free_ char *message = NULL;

                write_all(store_path, "junk", 4);
                ck_assert_int_eq(threat_store_new(store_path, &s), 0);
                ck_assert_int_eq(threat_store_load(s, &message), 0);
                ck_assert_ptr_nonnull(message);
        }
        _cleanup_strv_free_ char **names = list_dir(dir);
        ck_assert_uint_eq(strv_length(names), 3);
}
END_TEST

/* A file that cannot be read for another reason is left alone and the store stays unusable. */
START_TEST(test_unreadable_file_left_alone) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *message = NULL, *path = NULL;
        ThreatRecordInput in = input(EICAR, "/x");

        /* A path through a regular file: ENOTDIR. */
        write_all(store_path, "{}", 2);
        ck_assert_int_ge(asprintf(&path, "%s/inner.json", store_path), 0);
        ck_assert_int_eq(threat_store_new(path, &s), 0);
        ck_assert_int_eq(threat_store_load(s, &message), -ENOTDIR);
        ck_assert_ptr_null(message);
        ck_assert_int_eq(threat_store_record(s, &in, NULL), -ESTALE);
        _cleanup_strv_free_ char **names = list_dir(dir);
        ck_assert_uint_eq(strv_length(names), 1);
}
END_TEST

/* ---- partly invalid files ---- */

#define REC_WITH(id, middle) \
        "{\"id\":\"" id "\",\"name\":\"" EICAR "\",\"type\":\"virus\"," middle "," \
        "\"detected\":1700000000000000,\"source\":\"real_time\"," \
        "\"status\":\"active\",\"history\":[{\"time\":1700000000000000,\"status\":\"active\"}]}"

static const char * const invalid_records[] = {
        "42", "\"x\"", "null", "true", "[1,2]", "[]", "{}",
        /* missing members */
        "{\"name\":\"" EICAR "\",\"type\":\"virus\",\"path\":\"/p\",\"sha256\":\"\","
        "\"detected\":1,\"source\":\"real_time\",\"status\":\"active\","
        "\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        REC_WITH("33333333-3333-4333-8333-333333333333", "\"path\":\"/p\""),     /* no sha256 */
        /* bad values */
        REC_WITH("abc", "\"path\":\"/p\",\"sha256\":\"\""),
        REC_WITH("33333333-3333-4333-8333-33333333333g", "\"path\":\"/p\",\"sha256\":\"\""),
        REC_WITH("33333333-3333-4333-8333-3333333333333", "\"path\":\"/p\",\"sha256\":\"\""),
        REC_WITH(ID1, "\"path\":\"/p\",\"sha256\":\"\""),                       /* duplicate id */
        REC_WITH("44444444-4444-4444-8444-444444444444", "\"path\":\"\",\"sha256\":\"\""),
        REC_WITH("44444444-4444-4444-8444-444444444444", "\"path\":42,\"sha256\":\"\""),
        REC_WITH("44444444-4444-4444-8444-444444444444", "\"path\":{\"a\":1},\"sha256\":\"\""),
        REC_WITH("44444444-4444-4444-8444-444444444444",
                 "\"path\":\"/p\",\"path_encoding\":\"base64\",\"sha256\":\"\""),
        REC_WITH("44444444-4444-4444-8444-444444444444",
                 "\"path\":\"/p%zz\",\"path_encoding\":\"percent\",\"sha256\":\"\""),
        REC_WITH("44444444-4444-4444-8444-444444444444",
                 "\"path\":\"/p%00\",\"path_encoding\":\"percent\",\"sha256\":\"\""),
        REC_WITH("44444444-4444-4444-8444-444444444444",
                 "\"path\":\"/p%4\",\"path_encoding\":\"percent\",\"sha256\":\"\""),
        REC_WITH("44444444-4444-4444-8444-444444444444", "\"path\":\"/p\\u0000x\",\"sha256\":\"\""),
        REC_WITH("44444444-4444-4444-8444-444444444444", "\"path\":\"/p\",\"sha256\":\"abc\""),
        REC_WITH("44444444-4444-4444-8444-444444444444", "\"path\":\"/p\",\"sha256\":null"),
        REC_WITH("44444444-4444-4444-8444-444444444444",
                 "\"path\":\"/p\",\"sha256\":\"\",\"name\":\"dup\""),
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":42,\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"a\\u0000b\","
        "\"type\":\"virus\",\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,"
        "\"source\":\"real_time\",\"status\":\"active\","
        "\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"a\\nb\","
        "\"type\":\"virus\",\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,"
        "\"source\":\"real_time\",\"status\":\"active\","
        "\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"Virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":-1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1.5,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":\"1\",\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":99999999999999999999999,"
        "\"source\":\"real_time\",\"status\":\"active\","
        "\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"cloud\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"gone\",\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        /* status and history disagree */
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"quarantined\",\"history\":[{\"time\":1,\"status\":\"active\"}]}",
        /* bad histories */
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":{\"time\":1,\"status\":\"active\"}}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":\"active\"}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"status\":\"active\"}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":5}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":\"active\",\"time\":2}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[{\"time\":1,\"status\":\"active\",\"detail\":7}]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[7]}",
        "{\"id\":\"55555555-5555-4555-8555-555555555555\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
        "\"status\":\"active\",\"history\":[[{\"time\":1,\"status\":\"active\"}]]}",
        NULL,   /* generated: a 65-entry history */
        NULL,   /* generated: a 2 MiB name */
        NULL,   /* generated: a detail over the limit */
};

/* Valid records with things the reader must tolerate: unknown members of any shape, an
 * uppercase id and digest, a null detail, a 64-entry history. */
static const char * const tolerated_records[] = {
        REC(ID1),
        "{\"future\":{\"a\":[1,{\"b\":"
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]},"
        "\"id\":\"" ID2 "\",\"name\":\"n\",\"type\":\"virus\",\"path\":\"/p\",\"sha256\":\"\","
        "\"detected\":1,\"source\":\"real_time\",\"status\":\"active\",\"also\":null,"
        "\"history\":[{\"time\":1,\"status\":\"active\",\"who\":[\"x\"],\"detail\":null}]}",
        "{\"id\":\"ABCDEFAB-CDEF-4ABC-8DEF-ABCDEFABCDEF\",\"name\":\"n\",\"type\":\"virus\","
        "\"path\":\"/p\",\"sha256\":"
        "\"275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F\","
        "\"detected\":1,\"source\":\"on_demand\",\"status\":\"removed\","
        "\"history\":[{\"time\":1,\"status\":\"active\"},{\"time\":2,\"status\":\"quarantined\","
        "\"detail\":\"q\"},{\"time\":3,\"status\":\"removed\"}]}",
        NULL,   /* generated: a 64-entry history */
};

static char *history_record(const char *id, unsigned entries) {
        _cleanup_free_ char *h = NULL;
        char *r;
        size_t o = 0;

        h = malloc(64 * entries + 1);
        ck_assert_ptr_nonnull(h);
        for (unsigned i = 0; i < entries; i++)
                o += sprintf(h + o, "%s{\"time\":%u,\"status\":\"%s\"}", i ? "," : "", i,
                             i % 2 ? "quarantined" : "restored");
        ck_assert_int_ge(asprintf(&r, "{\"id\":\"%s\",\"name\":\"n\",\"type\":\"virus\","
                                  "\"path\":\"/p\",\"sha256\":\"\",\"detected\":1,"
                                  "\"source\":\"real_time\",\"status\":\"%s\",\"history\":[%s]}",
                                  id, (entries - 1) % 2 ? "quarantined" : "restored", h), 0);
        return r;
}

START_TEST(test_partly_invalid_file) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL, *again = NULL;
        _cleanup_free_ char *doc = NULL, *message = NULL, *aside = NULL, *kept = NULL;
        _cleanup_free_ char *long_history = NULL, *max_history = NULL, *big_name = NULL;
        _cleanup_free_ char *long_detail = NULL, *filler = NULL, *detail_text = NULL;
        size_t n_invalid = ELEMENTSOF(invalid_records), n_valid = ELEMENTSOF(tolerated_records);
        size_t o = 0, cap = 8 * 1024 * 1024, size;
        char expect[64];
        const Threat *t;
        int r;

        long_history = history_record("66666666-6666-4666-8666-666666666666",
                                      THREAT_HISTORY_MAX + 1);
        max_history = history_record("77777777-7777-4777-8777-777777777777", THREAT_HISTORY_MAX);
        filler = malloc(2 * 1024 * 1024 + 1);
        ck_assert_ptr_nonnull(filler);
        memset(filler, 'A', 2 * 1024 * 1024);
        filler[2 * 1024 * 1024] = '\0';
        ck_assert_int_ge(asprintf(&big_name, "{\"id\":\"88888888-8888-4888-8888-888888888888\","
                                  "\"name\":\"%s\",\"type\":\"virus\",\"path\":\"/p\","
                                  "\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
                                  "\"status\":\"active\",\"history\":[{\"time\":1,"
                                  "\"status\":\"active\"}]}", filler), 0);
        detail_text = strndup(filler, THREAT_DETAIL_MAX + 1);
        ck_assert_int_ge(asprintf(&long_detail, "{\"id\":\"99999999-9999-4999-8999-999999999999\","
                                  "\"name\":\"n\",\"type\":\"virus\",\"path\":\"/p\","
                                  "\"sha256\":\"\",\"detected\":1,\"source\":\"real_time\","
                                  "\"status\":\"active\",\"history\":[{\"time\":1,"
                                  "\"status\":\"active\",\"detail\":\"%s\"}]}", detail_text), 0);

        doc = malloc(cap);
        ck_assert_ptr_nonnull(doc);
        o += sprintf(doc, "{\"comment\":\"ignored\",\"version\":1,\"threats\":[\n");
        /* Interleave: valid, invalid, valid, ... so that neither kind depends on its place. */
        for (size_t i = 0; i < MAX(n_invalid, n_valid); i++) {
                const char *v = i < n_valid ? tolerated_records[i] ?: max_history : NULL;
                const char *bad = NULL;

                if (i < n_invalid)
                        bad = invalid_records[i] ?: (i == n_invalid - 3 ? long_history :
                                                     i == n_invalid - 2 ? big_name :
                                                     long_detail);
                if (v)
                        o += snprintf(doc + o, cap - o, "%s%s\n", o > 60 ? "," : "", v);
                if (bad)
                        o += snprintf(doc + o, cap - o, "%s%s\n", o > 60 ? "," : "", bad);
                ck_assert_uint_lt(o, cap);
        }
        o += snprintf(doc + o, cap - o, "],\"more\":{\"x\":[1,2,3]}}\n");
        write_all(store_path, doc, o);

        ck_assert_int_eq(threat_store_new(store_path, &s), 0);
        r = threat_store_load(s, &message);
        ck_assert_msg(r == (int) n_valid, "%d: %s", r, strna(message));
        ck_assert_ptr_nonnull(message);
        snprintf(expect, sizeof(expect), "%zu invalid records skipped, %zu kept", n_invalid,
                 n_valid);
        ck_assert_msg(strstr(message, expect), "'%s' lacks '%s'", message, expect);

        /* The file as read is kept; the file in place has the valid records only. */
        aside = invalid_file();
        ck_assert_ptr_nonnull(strstr(message, aside));
        kept = read_all(aside, &size);
        ck_assert_uint_eq(size, o);
        ck_assert(memcmp(kept, doc, size) == 0);
        again = open_store(store_path, (int) n_valid);
        assert_stores_equal(s, again);

        /* What was tolerated came through right. */
        t = threat_store_get(s, ID1);
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t->path, "/tmp/e");
        ck_assert_str_eq(threat_store_at(s, n_valid - 1)->id, ID1);
        t = threat_store_get(s, ID2);
        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_null(t->history[0].detail);
        t = threat_store_get(s, "abcdefab-cdef-4abc-8def-abcdefabcdef");
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t->id, "abcdefab-cdef-4abc-8def-abcdefabcdef");
        ck_assert_str_eq(t->sha256, SHA_EICAR);
        ck_assert_int_eq(t->status, THREAT_STATUS_REMOVED);
        ck_assert_uint_eq(t->n_history, 3);
        ck_assert_str_eq(t->history[1].detail, "q");
        t = threat_store_get(s, "77777777-7777-4777-8777-777777777777");
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->n_history, THREAT_HISTORY_MAX);
        ck_assert_ptr_null(threat_store_get(s, "66666666-6666-4666-8666-666666666666"));
        ck_assert_ptr_null(threat_store_get(s, "88888888-8888-4888-8888-888888888888"));
}
END_TEST

/* Every prefix of a valid file, and every single-byte change to it, either parses or is refused
 * with a message: no crash, no leak (checked by the sanitizer and valgrind runs). */
START_TEST(test_mutated_files) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *data = NULL, *copy = NULL;
        const char replacements[] = { '"', '{', '}', '[', ']', ',', ':', '\\', '0', 'x', '\xff',
                                      '\0', ' ', '-', 'e' };
        size_t size, usable = 0, refused = 0;

        s = open_store(store_path, 0);
        for (unsigned i = 0; i < 3; i++) {
                ThreatRecordInput in = input(EICAR, i ? "/tmp/\xff\"x\"" : "/tmp/e");
                const Threat *t = record(s, &in);

                ck_assert_int_eq(threat_store_set_status(s, t->id, THREAT_STATUS_QUARANTINED,
                                                         "d"), 1);
        }
        data = read_all(store_path, &size);
        copy = malloc(size);
        ck_assert_ptr_nonnull(copy);

        for (size_t len = 0; len <= size; len++) {
                ThreatFile f;
                int r = threat_file_parse(data, len, &f);

                ck_assert(r == 0 || r == -EBADMSG);
                if (r < 0)
                        ck_assert(f.error[0] != '\0' && f.line >= 1);
                threat_file_done(&f);
        }
        for (size_t i = 0; i < size; i++)
                for (size_t k = 0; k < ELEMENTSOF(replacements); k++) {
                        ThreatFile f;
                        int r;

                        memcpy(copy, data, size);
                        copy[i] = replacements[k];
                        r = threat_file_parse(copy, size, &f);
                        ck_assert(r == 0 || r == -EBADMSG);
                        if (r == 0) {
                                usable++;
                                ck_assert_uint_le(f.n_entries, 3);
                                ck_assert_uint_eq(f.n_entries, f.index.n);
                        } else
                                refused++;
                        threat_file_done(&f);
                }
        ck_assert_uint_gt(usable, 0);
        ck_assert_uint_gt(refused, 0);
}
END_TEST

/* ---- paths ---- */

static const char * const hostile_paths[] = {
        "/tmp/plain.txt",
        "/tmp/with \"quotes\" and 'single'",
        "/tmp/back\\slash\\\\",
        "/tmp/new\nline\r\n",
        "/tmp/tab\there\x01\x1f\x7f",
        "/tmp/percent%41%%25",
        "/tmp/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89",      /* valid UTF-8 */
        "/tmp/caf\xe9",                                 /* Latin-1 */
        "/tmp/\xff\xfe\x80",
        "/tmp/overlong-\xc0\xaf",
        "/tmp/surrogate-\xed\xa0\x80",
        "/tmp/too-big-\xf4\x90\x80\x80",
        "/tmp/cut-\xe2\x82",
        "\xe2\x82",
        "/tmp/mixed-%41\xff%\xc3\xa9\"\n",
        "/tmp/a.zip->dir/\xff member \"x\"",
        "/",
        "%",
        "%25",
};

START_TEST(test_path_round_trip) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL, *again = NULL;
        _cleanup_free_ char *data = NULL;
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        const JsonNode *threats;
        size_t size, n = ELEMENTSOF(hostile_paths);

        s = open_store(store_path, 0);
        for (size_t i = 0; i < n; i++) {
                ThreatRecordInput in = input(EICAR, hostile_paths[i]);

                ck_assert_str_eq(record(s, &in)->path, hostile_paths[i]);
        }
        again = open_store(store_path, (int) n);
        assert_stores_equal(s, again);
        for (size_t i = 0; i < n; i++) {
                const Threat *t = threat_store_at(again, n - 1 - i);

                ck_assert_uint_eq(strlen(t->path), strlen(hostile_paths[i]));
                ck_assert(memcmp(t->path, hostile_paths[i], strlen(t->path)) == 0);
                ck_assert_ptr_eq(threat_store_find_by_path(again, hostile_paths[i], NULL), t);
        }

        /* On disk: strict UTF-8 JSON; UTF-8 paths as they are, the others percent-escaped and
         * marked. */
        data = read_all(store_path, &size);
        ck_assert_int_eq(json_parse(data, size, &root, NULL), 0);
        threats = json_object_get(root, "threats");
        ck_assert_uint_eq(threats->array.n, n);
        for (size_t i = 0; i < n; i++) {
                const JsonNode *rec = threats->array.items[i];
                const JsonNode *path = json_object_get(rec, "path");
                const JsonNode *enc = json_object_get(rec, "path_encoding");
                bool utf8 = threat_utf8_valid(hostile_paths[i], strlen(hostile_paths[i]));

                ck_assert_int_eq(path->type, JSON_STRING);
                if (utf8) {
                        ck_assert_ptr_null(enc);
                        ck_assert_str_eq(path->string, hostile_paths[i]);
                } else {
                        ck_assert_ptr_nonnull(enc);
                        ck_assert_str_eq(enc->string, "percent");
                }
        }
        ck_assert_str_eq(json_object_get(threats->array.items[7], "path")->string,
                         "/tmp/caf%E9");
        ck_assert_str_eq(json_object_get(threats->array.items[14], "path")->string,
                         "/tmp/mixed-%2541%FF%25\xc3\xa9\"\n");
        ck_assert_str_eq(json_object_get(threats->array.items[5], "path")->string,
                         "/tmp/percent%41%%25");
}
END_TEST

START_TEST(test_path_escaping) {
        static const struct {
                const char *raw, *escaped;
                int kind;
        } cases[] = {
                { "/a/b", "/a/b", 0 },
                { "/a%b", "/a%b", 0 },
                { "/a%b\xff", "/a%25b%FF", 1 },
                { "\x80", "%80", 1 },
                { "\xc3\xa9\xc3", "\xc3\xa9%C3", 1 },
                { "\xf0\x9f\x8e\x89\xf0\x9f\x8e", "\xf0\x9f\x8e\x89%F0%9F%8E", 1 },
        };
        static const char * const bad[] = { "%", "%4", "%zz", "a%0", "%00", "%g1" };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = NULL, *d = NULL;

                ck_assert_int_eq(threat_path_escape(cases[i].raw, &e), cases[i].kind);
                ck_assert_str_eq(e, cases[i].escaped);
                ck_assert(threat_utf8_valid(e, strlen(e)));
                if (cases[i].kind) {
                        ck_assert_int_eq(threat_path_unescape(e, &d), 0);
                        ck_assert_str_eq(d, cases[i].raw);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *d = NULL;

                ck_assert_int_eq(threat_path_unescape(bad[i], &d), -EINVAL);
                ck_assert_ptr_null(d);
        }

        /* Every byte value but NUL, alone and among others, round-trips. */
        for (unsigned b = 1; b < 256; b++) {
                char raw[] = { '/', (char) b, 'x', (char) b, '\0' };
                _cleanup_free_ char *e = NULL, *d = NULL;
                int kind = threat_path_escape(raw, &e);

                ck_assert_int_ge(kind, 0);
                ck_assert(threat_utf8_valid(e, strlen(e)));
                if (kind == 1) {
                        ck_assert_int_eq(threat_path_unescape(e, &d), 0);
                        ck_assert_str_eq(d, raw);
                } else
                        ck_assert_str_eq(e, raw);
        }
}
END_TEST

/* ---- cost ---- */

START_TEST(test_many_records_timing) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL, *again = NULL;
        static ThreatRecordInput batch[1000];
        static char paths[1000][64];
        ThreatRecordInput in = input(EICAR, "/home/user/Downloads/eicar.com");
        const size_t total = 15000;
        struct timespec start;
        double record_ms, status_ms, load_ms, prune_ms, first_ms;
        bool slow = RUNNING_ON_VALGRIND;
        size_t size;
        struct stat st;

#if defined(__SANITIZE_ADDRESS__)
        slow = true;
#endif
        s = open_store(store_path, 0);
        threat_store_set_limits(s, 90, 15000);
        for (size_t i = 0; i < total; i += ELEMENTSOF(batch)) {
                for (size_t k = 0; k < ELEMENTSOF(batch); k++) {
                        snprintf(paths[k], sizeof(paths[k]),
                                 "/home/user%zu/projects/src/module-%zu/file-%zu.bin", i % 7,
                                 k % 13, i + k);
                        batch[k] = input(k % 2 ? EICAR : "Trojan:Linux/Mirai.B!MTB", paths[k]);
                        batch[k].sha256 = SHA_EICAR;
                        batch[k].source = k % 2 ? THREAT_SOURCE_ON_DEMAND :
                                                  THREAT_SOURCE_REAL_TIME;
                        batch[k].detail = "found by a full scan";
                }
                ck_assert_int_eq(threat_store_record_many(s, batch, ELEMENTSOF(batch), NULL), 0);
        }
        ck_assert_uint_eq(threat_store_count(s), total);
        ck_assert_int_eq(stat(store_path, &st), 0);
        size = st.st_size;

        /* One more record: the 15,001st pushes out the oldest and rewrites the file. */
        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &start), 0);
        record(s, &in);
        record_ms = elapsed_ms(&start);
        ck_assert_uint_eq(threat_store_count(s), total);

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &start), 0);
        ck_assert_int_eq(threat_store_set_status(s, threat_store_at(s, 7000)->id,
                                                 THREAT_STATUS_QUARANTINED, "q"), 1);
        status_ms = elapsed_ms(&start);

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &start), 0);
        again = open_store(store_path, (int) total);
        load_ms = elapsed_ms(&start);
        threat_store_set_limits(again, 90, 15000);

        /* The first change after a load serialises every record once. */
        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &start), 0);
        record(again, &in);
        first_ms = elapsed_ms(&start);

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &start), 0);
        ck_assert_int_eq(threat_store_prune(again, now_usec(), 0, total - 1, NULL), 1);
        prune_ms = elapsed_ms(&start);

        fprintf(stderr, "threats: %zu records, file %zu bytes; one more record %.1f ms, status "
                "change %.1f ms, load %.1f ms, first record after load %.1f ms, prune %.1f ms%s\n",
                total, size, record_ms, status_ms, load_ms, first_ms, prune_ms,
                slow ? " (instrumented build: not held to the bound)" : "");
        if (!slow) {
                ck_assert_msg(record_ms < 100, "one record took %.1f ms", record_ms);
                ck_assert_msg(status_ms < 100, "a status change took %.1f ms", status_ms);
        }
}
END_TEST

/* ---- the file and the archive member apart ---- */

/* A file whose name holds "->" and archives with members: each record keeps its file whole, its
 * member apart (escaped when not UTF-8) and its inode, across a reload; lookups by location tell
 * them apart; a member is never mistaken for part of the path. */
START_TEST(test_member_apart) {
        static const struct {
                const char *path, *member;
                uint64_t dev, ino;
        } cases[] = {
                { "/s/victim.txt->x", NULL, 2049, 131090 },
                { "/s/->x", NULL, 1, 2 },
                { "/s/victim.txt->a->b", NULL, UINT64_MAX, UINT64_MAX - 1 },
                { "/s/a.zip", "../victim.txt", 7, 8 },
                { "/s/b.zip", "d/x.tar->\xff->", 9, 10 },
        };
        _cleanup_(threat_store_freep) ThreatStore *s = NULL, *again = NULL;
        _cleanup_free_ char *data = NULL;
        size_t n = ELEMENTSOF(cases), size;

        s = open_store(store_path, 0);
        for (size_t i = 0; i < n; i++) {
                ThreatRecordInput in = input(EICAR, cases[i].path);
                const Threat *t;

                in.member = cases[i].member;
                in.has_identity = true;
                in.dev = cases[i].dev;
                in.ino = cases[i].ino;
                t = record(s, &in);
                ck_assert_str_eq(t->path, cases[i].path);
                ck_assert(streq_ptr(t->member, cases[i].member));
        }
        again = open_store(store_path, (int) n);
        assert_stores_equal(s, again);
        for (size_t i = 0; i < n; i++) {
                const Threat *t = threat_store_at(again, n - 1 - i);

                ck_assert(t->has_identity);
                ck_assert_uint_eq(t->dev, cases[i].dev);
                ck_assert_uint_eq(t->ino, cases[i].ino);
                ck_assert_ptr_eq(threat_store_find_by_location(again, cases[i].path,
                                                               cases[i].member, NULL), t);
                ck_assert_ptr_eq(threat_store_find_by_path(again, cases[i].path, NULL), t);
        }
        ck_assert_ptr_null(threat_store_find_by_path(again, "/s/victim.txt", NULL));
        ck_assert_ptr_null(threat_store_find_by_location(again, "/s/a.zip", NULL, NULL));
        ck_assert_ptr_null(threat_store_find_by_location(again, "/s/victim.txt", "x", NULL));

        data = read_all(store_path, &size);
        ck_assert_ptr_nonnull(strstr(data, "\"member\":\"../victim.txt\""));
        ck_assert_ptr_nonnull(strstr(data, "\"member\":\"d/x.tar->%FF->\","
                                           "\"member_encoding\":\"percent\""));
        ck_assert_ptr_nonnull(strstr(data, "\"dev\":2049,\"ino\":131090"));
        ck_assert_ptr_null(strstr(data, "a.zip->"));

        {
                ThreatRecordInput in = input(EICAR, "/s/c.zip");

                in.member = "";
                ck_assert_int_eq(threat_store_record(s, &in, NULL), -EINVAL);
        }
}
END_TEST

/* Records of versions that joined "file->member" in the path: read whole, never cut, with no
 * member and no identity. A record with half an identity, or a member encoding without a member,
 * is invalid. */
START_TEST(test_member_older_records) {
        static const char doc[] =
                "{\"version\":1,\"threats\":[\n"
                "{\"id\":\"11111111-1111-4111-8111-111111111111\",\"name\":\"n\","
                "\"type\":\"virus\",\"path\":\"/s/victim.txt->x\",\"sha256\":\"\","
                "\"detected\":1,\"source\":\"on_demand\",\"status\":\"active\","
                "\"history\":[{\"time\":1,\"status\":\"active\"}]},\n"
                "{\"id\":\"22222222-2222-4222-8222-222222222222\",\"name\":\"n\","
                "\"type\":\"virus\",\"path\":\"/s/a.zip->../x\",\"sha256\":\"\","
                "\"detected\":1,\"source\":\"on_demand\",\"status\":\"active\","
                "\"history\":[{\"time\":1,\"status\":\"active\"}]},\n"
                "{\"id\":\"33333333-3333-4333-8333-333333333333\",\"name\":\"n\","
                "\"type\":\"virus\",\"path\":\"/s/d\",\"dev\":1,\"sha256\":\"\","
                "\"detected\":1,\"source\":\"on_demand\",\"status\":\"active\","
                "\"history\":[{\"time\":1,\"status\":\"active\"}]},\n"
                "{\"id\":\"44444444-4444-4444-8444-444444444444\",\"name\":\"n\","
                "\"type\":\"virus\",\"path\":\"/s/e\",\"member_encoding\":\"percent\","
                "\"sha256\":\"\",\"detected\":1,\"source\":\"on_demand\",\"status\":\"active\","
                "\"history\":[{\"time\":1,\"status\":\"active\"}]}\n"
                "]}\n";
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *message = NULL;
        const Threat *t;

        write_all(store_path, doc, strlen(doc));
        ck_assert_int_eq(threat_store_new(store_path, &s), 0);
        ck_assert_int_eq(threat_store_load(s, &message), 2);
        ck_assert_ptr_nonnull(message);
        t = threat_store_get(s, "11111111-1111-4111-8111-111111111111");
        ck_assert_str_eq(t->path, "/s/victim.txt->x");
        ck_assert_ptr_null(t->member);
        ck_assert(!t->has_identity);
        t = threat_store_get(s, "22222222-2222-4222-8222-222222222222");
        ck_assert_str_eq(t->path, "/s/a.zip->../x");
        ck_assert_ptr_null(t->member);
        ck_assert_ptr_null(threat_store_find_by_path(s, "/s/victim.txt", NULL));
        ck_assert_ptr_null(threat_store_find_by_path(s, "/s/a.zip", NULL));
}
END_TEST

/* ---- the backlog ---- */

/* The backlog keeps copies, drops repeats, and counts what did not fit. */
START_TEST(test_backlog_bounded) {
        _cleanup_(threat_backlog_freep) ThreatBacklog *b = NULL;
        char path[64] = "/tmp/x0";
        ThreatRecordInput in = input(EICAR, path);

        ck_assert_int_eq(threat_backlog_new(0, &b), -EINVAL);
        ck_assert_int_eq(threat_backlog_new(3, &b), 0);
        ck_assert_ptr_null(threat_backlog_inputs(b));
        in.sha256 = SHA_EICAR;
        in.has_identity = true;
        in.dev = 1;
        in.ino = 2;
        in.member = "dir/m";
        ck_assert_int_eq(threat_backlog_add(b, &in, 7), 1);
        /* The copy is the backlog's: the caller's buffer may change. */
        path[6] = '1';
        ck_assert_str_eq(threat_backlog_inputs(b)[0].path, "/tmp/x0");
        ck_assert_str_eq(threat_backlog_inputs(b)[0].member, "dir/m");
        ck_assert_int_eq(threat_backlog_add(b, &in, 8), 1);
        ck_assert_int_eq(threat_backlog_add(b, &in, 9), 0);     /* the same again */
        in.ino = 3;                                             /* another inode: another one */
        ck_assert_int_eq(threat_backlog_add(b, &in, 9), 1);
        in.ino = 4;
        ck_assert_int_eq(threat_backlog_add(b, &in, 10), -ENOBUFS);
        ck_assert_int_eq(threat_backlog_add(b, &in, 10), -ENOBUFS);
        ck_assert_uint_eq(threat_backlog_count(b), 3);
        ck_assert_uint_eq(threat_backlog_dropped(b), 2);
        ck_assert_uint_eq(threat_backlog_tag(b, 0), 7);
        ck_assert_uint_eq(threat_backlog_tag(b, 2), 9);
        ck_assert_uint_eq(threat_backlog_tag(b, 3), 0);
        threat_backlog_clear(b);
        ck_assert_uint_eq(threat_backlog_count(b), 0);
        ck_assert_uint_eq(threat_backlog_dropped(b), 2);
        ck_assert_int_eq(threat_backlog_add(b, &in, 10), 1);
        ck_assert_ptr_null(threat_backlog_free(NULL));
}
END_TEST

/* Fills the file system at path with one file, name, until it refuses more. */
static void fill_up(const char *name) {
        static const char block[4096];
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ck_assert_int_ge(fd, 0);
        while (write(fd, block, sizeof(block)) > 0)
                ;
        /* tmpfs may still take a partial page */
        while (write(fd, block, 1) > 0)
                ;
        ck_assert_int_eq(close(fd), 0);
}

/* On a full disk a detection cannot be recorded; the backlog keeps it, and once there is space
 * again it is recorded with the others in one save, nothing lost. */
START_TEST(test_backlog_full_disk) {
        _cleanup_(threat_backlog_freep) ThreatBacklog *b = NULL;
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_free_ char *fs = path_in("fs"), *path = NULL, *filler = NULL;
        const Threat *got[3] = {};
        char name[32];
        int r;

        ck_assert_msg(geteuid() == 0, "this test mounts a tmpfs: run it as root");
        ck_assert_int_eq(mkdir(fs, 0700), 0);
        ck_assert_msg(mount("tmpfs", fs, "tmpfs", 0, "size=256k") == 0, "mount: %m");
        ck_assert_int_ge(asprintf(&path, "%s/threats.json", fs), 0);
        ck_assert_int_ge(asprintf(&filler, "%s/filler", fs), 0);
        s = open_store(path, 0);
        record(s, &(ThreatRecordInput) { .name = EICAR, .type = "virus", .path = "/old" });
        ck_assert_int_eq(threat_backlog_new(THREAT_STORE_BATCH_MAX, &b), 0);
        fill_up(filler);

        for (unsigned i = 0; i < 3; i++) {
                ThreatRecordInput in = input(EICAR, name);

                snprintf(name, sizeof(name), "/samples/%u", i);
                r = threat_store_record(s, &in, NULL);
                ck_assert_msg(r == -ENOSPC, "record on a full disk: %d", r);
                ck_assert_int_eq(threat_backlog_add(b, &in, i + 1), 1);
        }
        ck_assert_uint_eq(threat_store_count(s), 1);
        ck_assert_int_eq(threat_store_record_many(s, threat_backlog_inputs(b),
                                                  threat_backlog_count(b), got), -ENOSPC);

        ck_assert_int_eq(unlink(filler), 0);
        ck_assert_int_eq(threat_store_record_many(s, threat_backlog_inputs(b),
                                                  threat_backlog_count(b), got), 0);
        ck_assert_str_eq(got[0]->path, "/samples/0");
        ck_assert_str_eq(got[2]->path, "/samples/2");
        threat_backlog_clear(b);
        ck_assert_uint_eq(threat_store_count(s), 4);
        assert_disk_matches(s, path);
        s = threat_store_free(s);
        ck_assert_int_eq(umount2(fs, MNT_DETACH), 0);
}
END_TEST

/* ---- writes on the executor ---- */

/* What the save handler heard. */
typedef struct SaveLog {
        unsigned calls;
        int last;
        uint64_t saved[64];             /* the saved generation after each successful write */
        unsigned n_saved;
} SaveLog;

static void save_logged(ThreatStore *s, int result, void *userdata) {
        SaveLog *l = userdata;

        l->calls++;
        l->last = result;
        if (result >= 0 && l->n_saved < ELEMENTSOF(l->saved))
                l->saved[l->n_saved++] = threat_store_saved_generation(s);
}

/* Runs the loop until the store has no write queued or running. */
static void run_until_saved(sd_event *e, ThreatStore *s) {
        for (unsigned i = 0; threat_store_saving(s); i++) {
                ck_assert_uint_lt(i, 10000);
                ck_assert_int_ge(sd_event_run(e, 5 * 1000000), 0);
        }
}

/* A job that holds the worker until a byte arrives on its pipe, so that writes queued behind it
 * wait (and merge) deterministically. */
static int gate_run(void *userdata) {
        char c;

        return read(*(int *) userdata, &c, 1) == 1 ? 0 : -EIO;
}

static void gate_done(int result, void *userdata) {
        (void) userdata;
        ck_assert_int_eq(result, 0);
}

START_TEST(test_executor_writes_merge) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_(executor_freep) Executor *x = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        SaveLog log = {};
        size_t before_size, after_size;
        int gate[2];
        uint64_t g0;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(executor_new(e, 16, &x), 0);
        s = open_store(store_path, 0);
        record(s, &(ThreatRecordInput) { .name = EICAR, .type = "virus", .path = "/first" });
        before = read_all(store_path, &before_size);
        threat_store_set_executor(s, x, save_logged, &log);
        g0 = threat_store_generation(s);
        ck_assert_uint_eq(threat_store_saved_generation(s), g0);

        ck_assert_int_eq(pipe(gate), 0);
        ck_assert_int_eq(executor_submit(x, &(ExecutorJob) { .run = gate_run, .done = gate_done,
                                                             .userdata = &gate[0] }), 0);
        /* Five changes while the worker is held: memory has them at once, the file none. */
        for (unsigned i = 0; i < 4; i++) {
                char name[32];

                snprintf(name, sizeof(name), "/queued/%u", i);
                record(s, &(ThreatRecordInput) { .name = EICAR, .type = "virus", .path = name });
                /* Asked for now rather than at the end of the turn: the first is queued, the
                 * others wait for it to end and become one write of the newest content. */
                ck_assert_int_eq(threat_store_flush(s), 0);
        }
        ck_assert_int_eq(threat_store_set_status(s, threat_store_at(s, 4)->id,
                                                 THREAT_STATUS_QUARANTINED, "merged"), 1);
        ck_assert_int_eq(threat_store_flush(s), 0);
        ck_assert_uint_eq(threat_store_count(s), 5);
        ck_assert_uint_eq(threat_store_generation(s), g0 + 5);
        ck_assert_uint_eq(threat_store_saved_generation(s), g0);
        ck_assert(threat_store_saving(s));
        after = read_all(store_path, &after_size);
        ck_assert_uint_eq(after_size, before_size);
        ck_assert_mem_eq(after, before, before_size);

        ck_assert_int_eq(write(gate[1], "x", 1), 1);
        run_until_saved(e, s);
        /* Two writes ran, in order: the first change, then the four others merged into one
         * with the newest content. */
        ck_assert_uint_eq(log.calls, 2);
        ck_assert_int_eq(log.last, 0);
        ck_assert_uint_eq(log.saved[0], g0 + 1);
        ck_assert_uint_eq(log.saved[1], g0 + 5);
        ck_assert_int_eq(threat_store_save_error(s), 0);
        assert_disk_matches(s, store_path);
        after = mfree(after);
        after = read_all(store_path, &after_size);
        ck_assert_ptr_nonnull(strstr(after, "\"merged\""));
        close(gate[0]);
        close(gate[1]);
}
END_TEST

START_TEST(test_executor_writes_ordered) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_(executor_freep) Executor *x = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        SaveLog log = {};

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(executor_new(e, 16, &x), 0);
        s = open_store(store_path, 0);
        threat_store_set_executor(s, x, save_logged, &log);

        /* Changes with the loop turning now and then: some writes run while others queue. */
        for (unsigned i = 0; i < 200; i++) {
                char name[32];

                snprintf(name, sizeof(name), "/ordered/%u", i);
                record(s, &(ThreatRecordInput) { .name = EICAR, .type = "virus", .path = name });
                if (i % 7 == 0)
                        ck_assert_int_ge(sd_event_run(e, 0), 0);
        }
        run_until_saved(e, s);
        ck_assert_uint_ge(log.n_saved, 1);
        ck_assert_uint_lt(log.n_saved, 200);
        /* Every write that landed was newer than the one before, and the last is the newest. */
        for (unsigned i = 1; i < log.n_saved; i++)
                ck_assert_uint_gt(log.saved[i], log.saved[i - 1]);
        ck_assert_uint_eq(log.saved[log.n_saved - 1], threat_store_generation(s));
        assert_disk_matches(s, store_path);

        /* At shutdown, the write due at the end of the turn is queued on the executor when the
         * store leaves it, and lands when the executor shuts down. */
        record(s, &(ThreatRecordInput) { .name = EICAR, .type = "virus", .path = "/last" });
        ck_assert(threat_store_saving(s));
        threat_store_set_executor(s, NULL, NULL, NULL);
        x = executor_free(x);
        ck_assert(!threat_store_saving(s));
        ck_assert_uint_eq(threat_store_saved_generation(s), threat_store_generation(s));
        assert_disk_matches(s, store_path);
}
END_TEST

START_TEST(test_executor_failed_write_keeps_records) {
        _cleanup_(threat_store_freep) ThreatStore *s = NULL;
        _cleanup_(executor_freep) Executor *x = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ char *sub = path_in("sub"), *gone = path_in("gone"), *path = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        size_t before_size, after_size;
        SaveLog log = {};
        const Threat *t;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(executor_new(e, 16, &x), 0);
        ck_assert_int_eq(mkdir(sub, 0700), 0);
        ck_assert_int_ge(asprintf(&path, "%s/threats.json", sub), 0);
        s = open_store(path, 0);
        record(s, &(ThreatRecordInput) { .name = EICAR, .type = "virus", .path = "/kept" });
        before = read_all(path, &before_size);
        threat_store_set_executor(s, x, save_logged, &log);

        /* The directory taken away: the write fails, as on a full or failing disk. */
        ck_assert_int_eq(rename(sub, gone), 0);
        t = record(s, &(ThreatRecordInput) { .name = EICAR, .type = "virus", .path = "/unsaved" });
        run_until_saved(e, s);
        ck_assert_uint_eq(log.calls, 1);
        ck_assert_int_eq(log.last, -ENOENT);
        ck_assert_int_eq(threat_store_save_error(s), -ENOENT);
        ck_assert_uint_lt(threat_store_saved_generation(s), threat_store_generation(s));
        /* Kept in memory, unsaved. */
        ck_assert_uint_eq(threat_store_count(s), 2);
        ck_assert_ptr_eq(threat_store_get(s, t->id), t);
        ck_assert_ptr_eq(threat_store_find_by_path(s, "/unsaved", NULL), t);

        /* A status change meanwhile is kept too, and another failed try changes nothing. */
        ck_assert_int_eq(threat_store_set_status(s, t->id, THREAT_STATUS_QUARANTINED, NULL), 1);
        ck_assert_int_eq(threat_store_flush(s), 0);
        run_until_saved(e, s);
        ck_assert_int_eq(log.last, -ENOENT);
        ck_assert_int_eq(threat_store_save_error(s), -ENOENT);

        /* Back in place: the file is as it was, and a flush writes what memory holds. */
        ck_assert_int_eq(rename(gone, sub), 0);
        after = read_all(path, &after_size);
        ck_assert_uint_eq(after_size, before_size);
        ck_assert_mem_eq(after, before, before_size);
        ck_assert_int_eq(threat_store_flush(s), 0);
        ck_assert(threat_store_saving(s));
        run_until_saved(e, s);
        ck_assert_int_eq(log.last, 0);
        ck_assert_int_eq(threat_store_save_error(s), 0);
        ck_assert_uint_eq(threat_store_saved_generation(s), threat_store_generation(s));
        /* Nothing left to write. */
        ck_assert_int_eq(threat_store_flush(s), 0);
        ck_assert(!threat_store_saving(s));
        assert_disk_matches(s, path);
        x = executor_free(x);
}
END_TEST

START_TEST(test_executor_store_freed_first) {
        _cleanup_(executor_freep) Executor *x = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        ThreatStore *s;
        SaveLog log = {};

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(executor_new(e, 16, &x), 0);
        s = open_store(store_path, 0);
        threat_store_set_executor(s, x, save_logged, &log);
        record(s, &(ThreatRecordInput) { .name = EICAR, .type = "virus", .path = "/orphan" });
        ck_assert_int_eq(threat_store_flush(s), 0);
        /* The write keeps its snapshot: it lands, and its done finds no store. */
        s = threat_store_free(s);
        x = executor_free(x);
        ck_assert_uint_eq(log.calls, 0);
        s = open_store(store_path, 1);
        ck_assert_ptr_nonnull(threat_store_find_by_path(s, "/orphan", NULL));
        s = threat_store_free(s);
}
END_TEST

static Suite *threats_suite(void) {
        Suite *s = suite_create("threats");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_enum_names);
        tcase_add_test(tc, test_record_get_order);
        tcase_add_test(tc, test_not_loaded);
        tcase_add_test(tc, test_input_validation);
        tcase_add_test(tc, test_set_status);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_reload_replaces);
        tcase_add_test(tc, test_no_temp_files);
        tcase_add_test(tc, test_failed_save_keeps_memory);
        tcase_add_test(tc, test_file_size_limit);
        tcase_add_test(tc, test_prune);
        tcase_add_test(tc, test_prune_on_record);
        tcase_add_test(tc, test_ids_unique);
        tcase_add_loop_test(tc, test_corrupt_file_moved_aside, 0, ELEMENTSOF(corrupt_cases));
        tcase_add_loop_test(tc, test_unusable_file_moved_aside, 0, 3);
        tcase_add_test(tc, test_aside_names_unique);
        tcase_add_test(tc, test_unreadable_file_left_alone);
        tcase_add_test(tc, test_partly_invalid_file);
        tcase_add_test(tc, test_mutated_files);
        tcase_add_test(tc, test_path_round_trip);
        tcase_add_test(tc, test_path_escaping);
        tcase_add_test(tc, test_member_apart);
        tcase_add_test(tc, test_member_older_records);
        tcase_add_test(tc, test_many_records_timing);
        tcase_add_test(tc, test_backlog_bounded);
        tcase_add_test(tc, test_backlog_full_disk);
        tcase_add_test(tc, test_set_status_many);
        tcase_add_test(tc, test_executor_writes_merge);
        tcase_add_test(tc, test_executor_writes_ordered);
        tcase_add_test(tc, test_executor_failed_write_keeps_records);
        tcase_add_test(tc, test_executor_store_freed_first);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(threats_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
