/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Restoring an entry: the decoded bytes, mode, owner and times put back under a name that did
 * not exist, atomically, then the entry deleted. The steps and their recovery are in README.md.
 *
 * Owns, for the duration of one restore, the temp file ".mdatp-restore-<id>-<random>" it creates
 * in the destination directory; touches nothing else there but the final name, which it only
 * ever creates (RENAME_NOREPLACE, or link(), which never replaces). The entry's files in the
 * store belong to quarantine-store.c's helpers.
 *
 * The store's thread, except quarantine_restore_run(), which may run on another thread: it
 * touches the entry being restored (marked busy, so the store's thread neither restores nor
 * removes it meanwhile) and the store's directory, never the list. No logging.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quarantine/quarantine-internal.h"
#include "quarantine/quarantine.h"
#include "util/macro.h"

/* Where entry r goes: destination_dir/<basename of the original>, or the original path. */
static int restore_target(const QuarantineRecord *r, const char *destination_dir, char **ret) {
        const char *base = strrchr(r->entry.original_path, '/') + 1;
        size_t n;
        char *p;

        if (isempty(destination_dir)) {
                p = strdup(r->entry.original_path);
                if (!p)
                        return -ENOMEM;
                *ret = p;
                return 0;
        }
        if (destination_dir[0] != '/')
                return -EINVAL;

        n = strlen(destination_dir);
        while (n > 1 && destination_dir[n - 1] == '/')
                n--;
        if (asprintf(&p, "%.*s/%s", (int) n, n == 1 ? "" : destination_dir, base) < 0)
                return -ENOMEM;
        if (strlen(p) > QUARANTINE_PATH_MAX) {
                free(p);
                return -ENAMETOOLONG;
        }
        *ret = p;
        return 0;
}

/* A temp name no other process can guess in advance, so nobody can block the restore by
 * creating it first in a directory they share with the destination. */
static int restore_temp_name(const char *id, char **ret) {
        uint64_t random;
        int k;

        k = quarantine_random_bytes(&random, sizeof(random));
        if (k < 0)
                return k;
        return asprintf(ret, QUARANTINE_RESTORE_TEMP_PREFIX "%s-%016llx", id,
                        (unsigned long long) random) < 0 ? -ENOMEM : 0;
}

static struct timespec ns_to_timespec(int64_t ns) {
        int64_t sec = ns / 1000000000, rest = ns % 1000000000;

        if (rest < 0) {
                sec--;
                rest += 1000000000;
        }
        return (struct timespec) { .tv_sec = sec, .tv_nsec = rest };
}

/* Decodes the copy into out_fd and checks it is the original, byte for byte by its hash. */
static int restore_decode(QuarantineStore *q, const QuarantineRecord *r, int out_fd) {
        char data[QUARANTINE_NAME_MAX], sha[QUARANTINE_SHA256_LENGTH + 1];
        _cleanup_close_ int fd = -EBADF;
        uint64_t size;
        int k;

        quarantine_data_name(r->entry.id, data);
        fd = openat(q->dir_fd, data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        k = quarantine_transcode(fd, out_fd, r->key, false, sha, &size);
        if (k < 0)
                return k;
        if (size != r->entry.size || !streq(sha, r->entry.sha256))
                return -EBADMSG;
        return 0;
}

/* Who the restored file belongs to and its mode: the original's for root; for anyone else the
 * caller's own uid and gid and no setuid, setgid or sticky bit, so a restore never hands out a
 * file owned by somebody else or one that runs with somebody else's rights. */
typedef struct RestoreOwner {
        uid_t uid;
        gid_t gid;
        mode_t mode;
} RestoreOwner;

static RestoreOwner restore_owner(const QuarantineEntry *e, const QuarantineCaller *caller) {
        RestoreOwner o = { caller ? caller->uid : 0, caller ? caller->gid : 0, e->mode & 0777 };

        if (!caller || caller->uid == 0)
                return (RestoreOwner) { e->uid, e->gid, e->mode & 07777 };
        /* The original group when the caller is in it: they could chown the file to it. */
        for (size_t i = 0; i < caller->n_groups; i++)
                if (caller->groups[i] == e->gid)
                        o.gid = e->gid;
        return o;
}

/* Writes the complete file under the temp name: content, then owner, then mode (chown clears
 * setuid and setgid bits, so the mode comes after it), then times, synced. ret_st is its stat.
 * Removes the temp file again on failure. */
static int restore_write_temp(QuarantineStore *q, const QuarantineRecord *r, int dir_fd,
                              const RestoreOwner *o, struct stat *ret_st) {
        const QuarantineEntry *e = &r->entry;
        const char *temp = r->restore_temp;
        _cleanup_close_ int fd = -EBADF;
        struct timespec times[2] = { ns_to_timespec(e->atime_ns), ns_to_timespec(e->mtime_ns) };
        int k = 0;

        fd = openat(dir_fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();

        k = restore_decode(q, r, fd);
        if (k >= 0 && fchown(fd, o->uid, o->gid) < 0)
                k = negative_errno();
        if (k >= 0 && fchmod(fd, o->mode) < 0)
                k = negative_errno();
        if (k >= 0 && futimens(fd, times) < 0)
                k = negative_errno();
        if (k >= 0 && fsync(fd) < 0)
                k = negative_errno();
        if (k >= 0 && fstat(fd, ret_st) < 0)
                k = negative_errno();
        if (k < 0)
                (void) unlinkat(dir_fd, temp, 0);
        return k;
}

/* Gives the temp file its final name, never replacing one. Where the file system has no
 * RENAME_NOREPLACE, link() (which never replaces either) and unlink() of the temp name. */
static int restore_publish(int dir_fd, const char *temp, const char *name) {
        int k;

        if (!quarantine_test_options.no_rename_noreplace &&
            renameat2(dir_fd, temp, dir_fd, name, RENAME_NOREPLACE) >= 0)
                return 0;
        k = quarantine_test_options.no_rename_noreplace ? -EINVAL : negative_errno();
        if (k != -EINVAL)
                return k;

        if (linkat(dir_fd, temp, dir_fd, name, 0) < 0)
                return negative_errno();
        /* The file is in place; a temp name left beside it is a second link, no harm. */
        (void) unlinkat(dir_fd, temp, 0);
        return 0;
}

/* Puts r's on-disk state back to "quarantined" after a failed restore. Should the write fail,
 * the metadata still says "restoring" and the next open rolls it back the same way. */
static void restore_roll_back(QuarantineStore *q, QuarantineRecord *r) {
        r->state = QUARANTINE_STATE_QUARANTINED;
        quarantine_record_clear_restore(r);
        (void) quarantine_store_save(q, r);
}

/* The restore from the "restoring" metadata on: temp file, its identity recorded, final name,
 * directory synced. Returns 1 when the directory could not be synced: the file is in place but
 * not yet durable, and the entry must stay on disk for recovery to settle. */
static int restore_run(QuarantineStore *q, QuarantineRecord *r, int dir_fd, const char *name,
                       const RestoreOwner *o, struct stat *ret_st) {
        int k;

        k = restore_write_temp(q, r, dir_fd, o, ret_st);
        if (k < 0)
                return k;

        r->restore_identified = true;
        r->restore_dev = ret_st->st_dev;
        r->restore_ino = ret_st->st_ino;
        k = quarantine_store_save(q, r);
        if (k >= 0) {
                quarantine_store_test_point(q, QUARANTINE_TEST_RESTORE_BEFORE_RENAME);
                k = restore_publish(dir_fd, r->restore_temp, name);
        }
        if (k < 0) {
                (void) unlinkat(dir_fd, r->restore_temp, 0);
                return k;
        }
        return fsync(dir_fd) < 0 ? 1 : 0;
}

/* Opens the destination directory: as root, or as a caller who is not root. Refuses virtual
 * file systems up front: creating a file there fails with a misleading EACCES, even for root. */
static int restore_open_directory(const char *dir, const QuarantineCaller *caller) {
        _cleanup_close_ int fd = -EBADF;

        if (caller && caller->uid != 0)
                fd = quarantine_open_directory_as(dir, caller);
        else
                fd = quarantine_open_directory(dir);
        if (fd < 0)
                return fd;
        if (quarantine_is_virtual_fs(fd))
                return -EOPNOTSUPP;
        return TAKE_FD(fd);
}

/* A restore between quarantine_restore_begin() and quarantine_restore_finish(). */
struct QuarantineRestore {
        QuarantineStore *store;
        QuarantineRecord *record;       /* in the store's list, busy until finished or freed */
        bool has_caller;
        QuarantineCaller caller;        /* its groups are ours: */
        gid_t *groups;
        RestoreOwner owner;
        char *target;                   /* the final path */
        bool ran;
        int result;
        struct stat st;                 /* of the restored file */
};

static void restore_drop(QuarantineStore *q, const QuarantineRecord *r) {
        for (size_t i = 0; i < q->n_items; i++)
                if (q->items[i] == r) {
                        quarantine_store_drop(q, i);
                        return;
                }
}

QuarantineRestore *quarantine_restore_free(QuarantineRestore *a) {
        if (!a)
                return NULL;
        /* The entry is the store's again: it may be restored or removed. A restore that was
         * done on disk takes it out of the list, finished or not. */
        if (a->record) {
                a->record->busy = false;
                if (a->ran && a->result >= 0)
                        restore_drop(a->store, a->record);
        }
        free(a->groups);
        free(a->target);
        return mfree(a);
}

int quarantine_restore_begin(QuarantineStore *q, const QuarantineRestoreInput *in,
                             QuarantineRestore **ret) {
        _cleanup_(quarantine_restore_freep) QuarantineRestore *a = NULL;
        QuarantineRecord *r;
        ssize_t i;
        int k;

        if (!q || !in || !ret)
                return -EINVAL;
        i = quarantine_store_index(q, in->id);
        if (i < 0)
                return -ENOENT;
        r = q->items[i];
        if (r->busy)
                return -EBUSY;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->store = q;
        if (in->caller) {
                a->has_caller = true;
                a->caller = *in->caller;
                if (in->caller->n_groups > 0) {
                        a->groups = reallocarray(NULL, in->caller->n_groups, sizeof(gid_t));
                        if (!a->groups)
                                return -ENOMEM;
                        memcpy(a->groups, in->caller->groups,
                               in->caller->n_groups * sizeof(gid_t));
                }
                a->caller.groups = a->groups;
        }
        a->owner = restore_owner(&r->entry, a->has_caller ? &a->caller : NULL);
        k = restore_target(r, in->destination_dir, &a->target);
        if (k < 0)
                return k;
        r->busy = true;
        a->record = r;
        *ret = TAKE_PTR(a);
        return 0;
}

int quarantine_restore_run(QuarantineRestore *a) {
        _cleanup_free_ char *dir = NULL, *name = NULL, *temp = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        QuarantineStore *q = a->store;
        QuarantineRecord *r = a->record;
        int k;

        a->ran = true;
        k = quarantine_split_path(a->target, &dir, &name);
        if (k < 0)
                return a->result = k;
        dir_fd = restore_open_directory(dir, a->has_caller ? &a->caller : NULL);
        if (dir_fd < 0)
                return a->result = dir_fd;
        if (quarantine_store_is_own_directory(q, dir_fd))
                return a->result = -EINVAL;
        /* Fail early on the common case; the final rename refuses a name taken meanwhile. */
        if (fstatat(dir_fd, name, &a->st, AT_SYMLINK_NOFOLLOW) >= 0)
                return a->result = -EEXIST;
        if (errno != ENOENT)
                return a->result = negative_errno();

        k = restore_temp_name(r->entry.id, &temp);
        if (k < 0)
                return a->result = k;
        r->state = QUARANTINE_STATE_RESTORING;
        r->restore_path = strdup(a->target);
        r->restore_temp = TAKE_PTR(temp);
        if (!r->restore_path) {
                restore_roll_back(q, r);
                return a->result = -ENOMEM;
        }
        k = quarantine_store_save(q, r);
        if (k >= 0)
                k = restore_run(q, r, dir_fd, name, &a->owner, &a->st);
        if (k < 0) {
                restore_roll_back(q, r);
                return a->result = k;
        }

        /* The file is in place. Delete the entry's files, unless the directory could not be
         * synced: then its metadata stays on disk, saying "restoring", so the next open deletes
         * the copy only if the file made it to disk. The list follows in the finish. */
        if (k == 0)
                (void) quarantine_store_delete_files(q, r->entry.id);
        return a->result = 0;
}

int quarantine_restore_finish(QuarantineStore *q, QuarantineRestore *a, char **ret_path,
                              struct stat *ret_st) {
        _cleanup_(quarantine_restore_freep) QuarantineRestore *owned = a;

        if (!q || !a || a->store != q)
                return -EINVAL;
        if (!a->ran)
                return -ECANCELED;
        if (a->result < 0)
                return a->result;

        /* The entry is busy, so it is still in the list: nobody could remove it meanwhile. */
        restore_drop(q, TAKE_PTR(a->record));
        if (ret_st)
                *ret_st = a->st;
        if (ret_path)
                *ret_path = TAKE_PTR(a->target);
        return 0;
}

int quarantine_store_restore(QuarantineStore *q, const char *id, const char *destination_dir,
                             char **ret_path, struct stat *ret_st) {
        return quarantine_store_restore_as(q, &(QuarantineRestoreInput) {
                                                   .id = id,
                                                   .destination_dir = destination_dir,
                                           }, ret_path, ret_st);
}

int quarantine_store_restore_as(QuarantineStore *q, const QuarantineRestoreInput *in,
                                char **ret_path, struct stat *ret_st) {
        QuarantineRestore *a = NULL;
        int k;

        k = quarantine_restore_begin(q, in, &a);
        if (k < 0)
                return k;
        (void) quarantine_restore_run(a);
        return quarantine_restore_finish(q, a, ret_path, ret_st);
}
