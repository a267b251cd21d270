/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QuarantineStore: the quarantine directory, the entries in memory, and the operations that add
 * and remove entries. Restoring is in quarantine-restore.c, recovery at open in
 * quarantine-recover.c; README.md gives the steps of each transaction and why they are safe.
 *
 * Owns the quarantine directory and every file in it ("<id>.data", "<id>.json", their temp files
 * and the "*.invalid*" files recovery sets aside), and the list of entries, oldest first. Touches
 * a detected file only through its parent directory's fd, and only to read it and to remove the
 * name while it still refers to the inode that was read.
 *
 * Main thread only; no locks. No logging: callers get errors, and recovery notes from open.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quarantine/quarantine-internal.h"
#include "quarantine/quarantine.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

void quarantine_metadata_name(const char *id, char ret[static QUARANTINE_NAME_MAX]) {
        (void) snprintf(ret, QUARANTINE_NAME_MAX, "%s.json", id);
}

void quarantine_data_name(const char *id, char ret[static QUARANTINE_NAME_MAX]) {
        (void) snprintf(ret, QUARANTINE_NAME_MAX, "%s.data", id);
}

void quarantine_data_temp_name(const char *id, char ret[static QUARANTINE_NAME_MAX]) {
        (void) snprintf(ret, QUARANTINE_NAME_MAX, ".%s.data.tmp", id);
}

/* ---- the directory and the list ---- */

/* Opens dir (creating it, 0700) and checks that only its owner, we, can change it. */
static int open_store_directory(const char *dir) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                /* O_NOFOLLOW with O_DIRECTORY fails with ENOTDIR on a symlink. */
                if (errno == ENOTDIR && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
                        return -ELOOP;
                return negative_errno();
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
                return -EPERM;
        return TAKE_FD(fd);
}

int quarantine_store_open(const char *dir, QuarantineStore **ret, char ***ret_notes) {
        _cleanup_(quarantine_store_freep) QuarantineStore *q = NULL;
        _cleanup_strv_free_ char **notes = NULL;
        int fd, r;

        if (isempty(dir) || !ret)
                return -EINVAL;

        fd = open_store_directory(dir);
        if (fd < 0)
                return fd;
        q = calloc(1, sizeof(*q));
        if (!q) {
                (void) close(fd);
                return -ENOMEM;
        }
        q->dir_fd = fd;
        q->dir = strdup(dir);
        if (!q->dir)
                return -ENOMEM;

        r = quarantine_store_recover(q, &notes);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(q);
        if (ret_notes)
                *ret_notes = TAKE_PTR(notes);
        return 0;
}

QuarantineStore *quarantine_store_free(QuarantineStore *q) {
        if (!q)
                return NULL;
        for (size_t i = 0; i < q->n_items; i++)
                quarantine_record_free(q->items[i]);
        free(q->items);
        if (q->dir_fd >= 0)
                (void) close(q->dir_fd);
        strv_free(q->adding);
        free(q->dir);
        free(q);
        return NULL;
}

int quarantine_store_reserve(QuarantineStore *q) {
        QuarantineRecord **items;
        size_t n;

        if (q->n_items < q->n_allocated)
                return 0;
        n = MAX(q->n_allocated * 2, (size_t) 16);
        items = reallocarray(q->items, n, sizeof(*items));
        if (!items)
                return -ENOMEM;
        q->items = items;
        q->n_allocated = n;
        return 0;
}

void quarantine_store_insert(QuarantineStore *q, QuarantineRecord *r) {
        size_t i = q->n_items;

        /* Usually the newest: search from the end. */
        while (i > 0 && q->items[i - 1]->entry.quarantined_usec > r->entry.quarantined_usec)
                i--;
        memmove(q->items + i + 1, q->items + i, (q->n_items - i) * sizeof(*q->items));
        q->items[i] = r;
        q->n_items++;
}

void quarantine_store_drop(QuarantineStore *q, size_t i) {
        quarantine_record_free(q->items[i]);
        memmove(q->items + i, q->items + i + 1, (q->n_items - i - 1) * sizeof(*q->items));
        q->n_items--;
}

ssize_t quarantine_store_index(const QuarantineStore *q, const char *id) {
        if (!q || !id)
                return -ENOENT;
        for (size_t i = 0; i < q->n_items; i++)
                if (strcasecmp(q->items[i]->entry.id, id) == 0)
                        return (ssize_t) i;
        return -ENOENT;
}

const QuarantineEntry *quarantine_store_get(const QuarantineStore *q, const char *id) {
        ssize_t i = quarantine_store_index(q, id);

        return i < 0 ? NULL : &q->items[i]->entry;
}

const QuarantineEntry *quarantine_store_find_by_path(const QuarantineStore *q, const char *path) {
        if (!q || !path)
                return NULL;
        for (size_t i = q->n_items; i > 0; i--)
                if (streq(q->items[i - 1]->entry.original_path, path))
                        return &q->items[i - 1]->entry;
        return NULL;
}

size_t quarantine_store_count(const QuarantineStore *q) {
        return q ? q->n_items : 0;
}

const QuarantineEntry *quarantine_store_at(const QuarantineStore *q, size_t i) {
        if (!q || i >= q->n_items)
                return NULL;
        return &q->items[i]->entry;
}

void quarantine_store_set_test_hook(QuarantineStore *q, QuarantineTestHook hook, void *userdata) {
        q->test_hook = hook;
        q->test_userdata = userdata;
}

void quarantine_store_test_point(QuarantineStore *q, QuarantineTestPoint point) {
        if (q->test_hook)
                q->test_hook(q, point, q->test_userdata);
}

bool quarantine_store_is_own_directory(QuarantineStore *q, int dir_fd) {
        struct stat a, b;

        return fstat(q->dir_fd, &a) >= 0 && fstat(dir_fd, &b) >= 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino;
}

/* ---- files of an entry ---- */

int quarantine_store_save(QuarantineStore *q, const QuarantineRecord *r) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t size;
        int k;

        k = quarantine_record_to_json(r, &text, &size);
        if (k < 0)
                return k;
        if (asprintf(&path, "%s/%s.json", q->dir, r->entry.id) < 0)
                return -ENOMEM;
        return write_file_atomic(path, text, size, 0600);
}

int quarantine_store_delete_files(QuarantineStore *q, const char *id) {
        char name[QUARANTINE_NAME_MAX];

        quarantine_metadata_name(id, name);
        if (unlinkat(q->dir_fd, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        /* From here the entry is gone: a copy left behind is an orphan that the next open
         * deletes. */
        quarantine_data_name(id, name);
        (void) unlinkat(q->dir_fd, name, 0);
        (void) fsync(q->dir_fd);
        return 0;
}

int quarantine_store_remove(QuarantineStore *q, const char *id) {
        ssize_t i;
        int r;

        i = quarantine_store_index(q, id);
        if (i < 0)
                return -ENOENT;
        /* A restore's run uses the record and the files: they go with the restore. */
        if (q->items[i]->busy)
                return -EBUSY;
        r = quarantine_store_delete_files(q, q->items[i]->entry.id);
        if (r < 0)
                return r;
        quarantine_store_drop(q, i);
        return 0;
}

/* ---- adding ---- */

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

static int64_t timespec_to_ns(const struct timespec *ts) {
        return (int64_t) ts->tv_sec * INT64_C(1000000000) + ts->tv_nsec;
}

/* Whether any file of entry id exists, in memory or on disk (an entry whose recovery was
 * postponed is on disk only). */
static bool id_taken(QuarantineStore *q, const char *id) {
        char name[QUARANTINE_NAME_MAX];

        if (quarantine_store_index(q, id) >= 0)
                return true;
        quarantine_metadata_name(id, name);
        if (faccessat(q->dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return true;
        quarantine_data_name(id, name);
        return faccessat(q->dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int add_input_check(QuarantineStore *q, const QuarantineAddInput *in) {
        if (!q || !in || !quarantine_id_valid(in->id) || !in->path || isempty(in->threat_name))
                return -EINVAL;
        if (in->path[0] != '/' || strlen(in->path) > QUARANTINE_PATH_MAX ||
            strlen(in->threat_name) > QUARANTINE_THREAT_NAME_MAX)
                return -EINVAL;
        if (!isempty(in->expected_sha256) && !quarantine_sha256_valid(in->expected_sha256))
                return -EINVAL;
        if (id_taken(q, in->id))
                return -EEXIST;
        return 0;
}

/* Step 1: the parent directory reached without symlinks, and the file in it opened without
 * following a symlink, checked to be a regular file before it is opened (no open of a device
 * or FIFO) and again after (the same inode). ret_st is the opened file's. */
static int open_detected_file(const char *parent, const char *name, int *ret_parent_fd,
                              int *ret_fd, struct stat *ret_st) {
        const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
        _cleanup_close_ int parent_fd = -EBADF, fd = -EBADF;
        struct stat before, st;

        parent_fd = quarantine_open_directory(parent);
        if (parent_fd < 0)
                return parent_fd;
        if (fstatat(parent_fd, name, &before, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (S_ISLNK(before.st_mode))
                return -ELOOP;
        if (!S_ISREG(before.st_mode))
                return -EINVAL;

        /* O_NOATIME: reading it must not change what a restore puts back, or what a failed
         * add leaves. Only the owner and root may ask for it. */
        fd = openat(parent_fd, name, flags | O_NOATIME);
        if (fd < 0 && errno == EPERM)
                fd = openat(parent_fd, name, flags);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_dev != before.st_dev || st.st_ino != before.st_ino)
                return -ESTALE;

        *ret_parent_fd = TAKE_FD(parent_fd);
        *ret_fd = TAKE_FD(fd);
        *ret_st = st;
        return 0;
}

/* A record in state "adding" for the file described by st, with a fresh key. */
static int add_record_new(const QuarantineAddInput *in, const struct stat *st,
                          QuarantineRecord **ret) {
        _cleanup_(quarantine_record_freep) QuarantineRecord *r = NULL;
        int k;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        strcpy(r->entry.id, in->id);
        r->entry.original_path = strdup(in->path);
        r->entry.threat_name = strdup(in->threat_name);
        if (!r->entry.original_path || !r->entry.threat_name)
                return -ENOMEM;
        k = quarantine_random_bytes(r->key, sizeof(r->key));
        if (k < 0)
                return k;

        r->state = QUARANTINE_STATE_ADDING;
        r->entry.mode = st->st_mode & 07777;
        r->entry.uid = st->st_uid;
        r->entry.gid = st->st_gid;
        r->entry.atime_ns = timespec_to_ns(&st->st_atim);
        r->entry.mtime_ns = timespec_to_ns(&st->st_mtim);
        r->entry.quarantined_usec = now_usec();
        r->original_dev = st->st_dev;
        r->original_ino = st->st_ino;

        *ret = TAKE_PTR(r);
        return 0;
}

/* Reserves room for the copy up front, so a full disk is found before anything is copied.
 * File systems without fallocate() are found out by the writes instead. */
static int reserve_space(int fd, off_t size) {
        if (size <= 0 || quarantine_test_options.no_preallocate)
                return 0;
        if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size) < 0 &&
            !IN_SET(errno, EOPNOTSUPP, ENOSYS, EINVAL))
                return negative_errno();
        return 0;
}

/* Step 2 after the temp file is open: the neutralised copy, its hash checked against the
 * expected one, synced. Fills in the entry's sha256 and size. */
static int write_copy(QuarantineRecord *r, int fd, int out_fd, off_t size_hint,
                      const char *expected_sha256) {
        char sha[QUARANTINE_SHA256_LENGTH + 1];
        uint64_t size;
        int k;

        k = reserve_space(out_fd, size_hint);
        if (k < 0)
                return k;
        k = quarantine_transcode(fd, out_fd, r->key, true, sha, &size);
        if (k < 0)
                return k;
        if (!isempty(expected_sha256) && strcasecmp(sha, expected_sha256) != 0)
                return -ESTALE;
        /* Drop what the reservation holds past the end when the file shrank meanwhile. */
        if (ftruncate(out_fd, (off_t) size) < 0)
                return negative_errno();
        if (fsync(out_fd) < 0)
                return negative_errno();

        memcpy(r->entry.sha256, sha, sizeof(sha));
        r->entry.size = size;
        return 0;
}

/* Step 2: ".<id>.data.tmp" written and renamed to "<id>.data"; on failure nothing is left. */
static int add_copy(QuarantineStore *q, QuarantineRecord *r, int fd, const struct stat *st,
                    const char *expected_sha256) {
        char temp[QUARANTINE_NAME_MAX], data[QUARANTINE_NAME_MAX];
        _cleanup_close_ int out_fd = -EBADF;
        int k;

        quarantine_data_temp_name(r->entry.id, temp);
        quarantine_data_name(r->entry.id, data);

        /* A leftover of a failed unlink: ours, in our directory. */
        (void) unlinkat(q->dir_fd, temp, 0);
        out_fd = openat(q->dir_fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0400);
        if (out_fd < 0)
                return negative_errno();

        k = fchmod(out_fd, 0400) < 0 ? negative_errno() : 0;   /* whatever the umask took */
        if (k >= 0)
                k = write_copy(r, fd, out_fd, st->st_size, expected_sha256);
        if (k >= 0 && renameat(q->dir_fd, temp, q->dir_fd, data) < 0)
                k = negative_errno();
        if (k < 0)
                (void) unlinkat(q->dir_fd, temp, 0);
        return k;
}

/* Step 4: removes name from its directory if it still names the inode that was read. */
static int remove_detected_name(int parent_fd, const char *name, const struct stat *st) {
        struct stat now;

        if (fstatat(parent_fd, name, &now, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? -ESTALE : negative_errno();
        if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
                return -ESTALE;
        if (unlinkat(parent_fd, name, 0) < 0)
                return negative_errno();
        /* The name is gone: there is no undoing it, so a failed sync of the directory can
         * only be ignored (the metadata says "adding", which recovery settles either way). */
        (void) fsync(parent_fd);
        return 0;
}

/* Undoes steps 2 and 3 after a failure. */
static void add_roll_back(QuarantineStore *q, const char *id) {
        (void) quarantine_store_delete_files(q, id);
}

/* An add between quarantine_add_begin() and quarantine_add_finish(). */
struct QuarantineAdd {
        QuarantineStore *store;         /* only its directory is used by the run */
        QuarantineAddInput in;          /* strings owned below */
        char *id, *path, *threat_name, *expected_sha256;
        char *adding_id;                /* our string in store->adding */
        bool ran;
        int result;
        QuarantineRecord *record;       /* quarantined, not yet in the list */
};

QuarantineAdd *quarantine_add_free(QuarantineAdd *a) {
        if (!a)
                return NULL;
        if (a->store && a->store->adding) {
                /* Out of the list of adds in flight: the id may be added again. */
                char **w = a->store->adding;
                for (char **i = a->store->adding; *i; i++)
                        if (*i == a->adding_id)
                                free(*i);
                        else
                                *w++ = *i;
                *w = NULL;
        }
        free(a->id);
        free(a->path);
        free(a->threat_name);
        free(a->expected_sha256);
        quarantine_record_free(a->record);
        return mfree(a);
}

static bool id_adding(QuarantineStore *q, const char *id) {
        for (char **i = q->adding; i && *i; i++)
                if (strcasecmp(*i, id) == 0)
                        return true;
        return false;
}

int quarantine_add_begin(QuarantineStore *q, const QuarantineAddInput *in, QuarantineAdd **ret) {
        _cleanup_(quarantine_add_freep) QuarantineAdd *a = NULL;
        int k;

        if (!ret)
                return -EINVAL;
        k = add_input_check(q, in);
        if (k < 0)
                return k;
        if (id_adding(q, in->id))
                return -EEXIST;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->id = strdup(in->id);
        a->path = strdup(in->path);
        a->threat_name = strdup(in->threat_name);
        a->expected_sha256 = in->expected_sha256 ? strdup(in->expected_sha256) : NULL;
        if (!a->id || !a->path || !a->threat_name || (in->expected_sha256 && !a->expected_sha256))
                return -ENOMEM;
        a->in = *in;
        a->in.id = a->id;
        a->in.path = a->path;
        a->in.threat_name = a->threat_name;
        a->in.expected_sha256 = a->expected_sha256;
        if (strv_extend(&q->adding, a->id) < 0)
                return -ENOMEM;
        a->adding_id = q->adding[strv_length(q->adding) - 1];
        a->store = q;
        *ret = TAKE_PTR(a);
        return 0;
}

int quarantine_add_run(QuarantineAdd *a) {
        _cleanup_(quarantine_record_freep) QuarantineRecord *r = NULL;
        _cleanup_free_ char *parent = NULL, *name = NULL;
        _cleanup_close_ int parent_fd = -EBADF, fd = -EBADF;
        QuarantineStore *q = a->store;
        const QuarantineAddInput *in = &a->in;
        struct stat st, after;
        int k;

        a->ran = true;
        k = quarantine_split_path(in->path, &parent, &name);
        if (k < 0)
                return a->result = k;
        /* in->path is a file, taken whole: "->" in it is part of a name, never an archive
         * member (the caller keeps members apart and quarantines their archive). */
        k = open_detected_file(parent, name, &parent_fd, &fd, &st);
        if (k < 0)
                return a->result = k;
        if (in->check_identity &&
            ((uint64_t) st.st_dev != in->expected_dev || (uint64_t) st.st_ino != in->expected_ino))
                return a->result = -ESTALE;
        /* Our own files are not detections: taking one would break its entry. */
        if (quarantine_store_is_own_directory(q, parent_fd))
                return a->result = -EINVAL;

        k = add_record_new(in, &st, &r);
        if (k < 0)
                return a->result = k;

        k = add_copy(q, r, fd, &st, in->expected_sha256);
        if (k < 0)
                return a->result = k;
        k = quarantine_store_save(q, r);
        if (k < 0) {
                add_roll_back(q, r->entry.id);
                return a->result = k;
        }

        quarantine_store_test_point(q, QUARANTINE_TEST_ADD_BEFORE_UNLINK);
        k = remove_detected_name(parent_fd, name, &st);
        if (k < 0) {
                add_roll_back(q, r->entry.id);
                return a->result = k;
        }

        /* Step 5. The file is quarantined from here whatever happens: should this write fail,
         * the metadata on disk says "adding" and the next open completes it. */
        r->entry.other_links = fstat(fd, &after) == 0 ? (unsigned) after.st_nlink : 0;
        r->state = QUARANTINE_STATE_QUARANTINED;
        (void) quarantine_store_save(q, r);

        a->record = TAKE_PTR(r);
        return a->result = 0;
}

int quarantine_add_finish(QuarantineStore *q, QuarantineAdd *a, const QuarantineEntry **ret) {
        _cleanup_(quarantine_add_freep) QuarantineAdd *owned = a;
        QuarantineRecord *added;
        int k;

        if (!q || !a || a->store != q)
                return -EINVAL;
        if (!a->ran)
                return -ECANCELED;
        if (a->result < 0)
                return a->result;
        /* The file is in the quarantine on disk: should the list not grow now, the next open
         * of the store finds the entry there. */
        k = quarantine_store_reserve(q);
        if (k < 0)
                return k;
        added = TAKE_PTR(a->record);
        quarantine_store_insert(q, added);
        if (ret)
                *ret = &added->entry;
        return 0;
}

int quarantine_store_add(QuarantineStore *q, const QuarantineAddInput *in,
                         const QuarantineEntry **ret) {
        QuarantineAdd *a = NULL;
        int k;

        k = quarantine_add_begin(q, in, &a);
        if (k < 0)
                return k;
        (void) quarantine_add_run(a);
        return quarantine_add_finish(q, a, ret);
}
