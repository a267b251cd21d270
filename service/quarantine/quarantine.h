/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The quarantine: detected files taken out of their place, neutralised, and kept with what it
 * takes to put them back exactly (shared/reference/mde-behaviour.md §8).
 *
 * A QuarantineStore is one directory (mode 0700, owned by root) holding, per entry:
 *   <id>.data   the file's bytes XOR-ed with a random 32-byte key of the entry (mode 0400), so
 *               neither another scanner nor a careless `cat | sh` sees the original bytes;
 *   <id>.json   the metadata (state, original path, mode, owner, times, SHA-256, threat name,
 *               key, time of quarantine) written atomically.
 * Temporary files in the directory while an operation runs start with "." (".<id>.data.tmp",
 * and write_file_atomic()'s ".#<id>.json…"); a restore's temp file in the destination directory
 * is ".mdatp-restore-<id>-<random>".
 *
 * Every operation is a transaction: at every instant the file is either in place or fully in
 * quarantine with its metadata, and quarantine_store_open() finishes or rolls back whatever an
 * interrupted operation (crash, SIGKILL, power loss) left. README.md beside this file gives the
 * steps and the recovery rule for each.
 *
 * Files are reached without following symlinks: every component of a path is opened with
 * O_NOFOLLOW (openat2 RESOLVE_NO_SYMLINKS where the kernel has it), content is read through the
 * opened fd, and the name is removed only while it still refers to the inode that was read.
 *
 * A QuarantineStore belongs to the daemon's main thread: no locks, no other thread, except for
 * the copy of an add (quarantine_add_run()) and of a restore (quarantine_restore_run()), which
 * touch only the directory and the one entry they work on.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/macro.h"

#define QUARANTINE_ID_MAX 64            /* [0-9a-zA-Z-]{1,64}: the daemon uses threat ids */
#define QUARANTINE_METADATA_MAX (64U * 1024U)   /* bytes of one <id>.json */
#define QUARANTINE_SHA256_LENGTH 64

typedef struct QuarantineEntry {
        char id[QUARANTINE_ID_MAX + 1];
        char *original_path;            /* absolute, any bytes but NUL */
        char *threat_name;
        char sha256[QUARANTINE_SHA256_LENGTH + 1];     /* of the original bytes, lowercase hex */
        uint64_t size;
        mode_t mode;                    /* permission bits and setuid/setgid/sticky */
        uid_t uid;
        gid_t gid;
        int64_t atime_ns, mtime_ns;     /* ns since the epoch */
        uint64_t quarantined_usec;      /* µs since the epoch */
        unsigned other_links;           /* hard links the file still had elsewhere */
} QuarantineEntry;

typedef struct QuarantineStore QuarantineStore;

/* Opens (creating it, mode 0700, when missing) the quarantine in directory dir and recovers
 * interrupted operations. *ret_notes (when not NULL) gets one sentence per thing recovery did
 * ("restore of <id> to '<path>' rolled back", "unreadable metadata '<file>' moved aside"), or
 * NULL; caller frees. Refuses (-ELOOP) a dir that is a symlink and (-EPERM) one not owned by
 * the caller's euid or writable by group/others. Returns 0 or a negative errno. */
int quarantine_store_open(const char *dir, QuarantineStore **ret, char ***ret_notes);
QuarantineStore *quarantine_store_free(QuarantineStore *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(QuarantineStore *, quarantine_store_free);

typedef struct QuarantineAddInput {
        const char *id;                 /* required, unique in the store */
        const char *path;               /* required: absolute path of the detected file */
        const char *threat_name;        /* required */
        /* When not NULL or "": the file must still have this content (lowercase or uppercase
         * hex), else -ESTALE: it changed since the detection. */
        const char *expected_sha256;
        /* When set: the name must still refer to this inode, else -ESTALE: the file acted on
         * must be the file that was detected, not whatever now has its name. */
        bool check_identity;
        uint64_t expected_dev, expected_ino;
} QuarantineAddInput;

/* Moves the file at in->path into the quarantine: reads it through an fd opened with O_NOFOLLOW
 * below a parent reached without symlinks, writes the neutralised copy and the metadata, syncs
 * them, then removes the name (only if it still names the inode that was read) and syncs its
 * directory. Works across filesystems (the content is copied, never renamed).
 * Returns 0 and, when ret is not NULL, the entry (valid until it is removed or the store freed);
 * or: -EINVAL (bad input, relative path, not a regular file, a file of the quarantine itself),
 * -EEXIST (id already in the store), -ENOENT (no such file), -ELOOP (a symlink on the way or at
 * the end), -ESTALE (not the expected inode or content, or the name was replaced meanwhile),
 * -ENOSPC/-EDQUOT/-EIO (writing the copy failed), any error of the removal. On every failure the
 * file is untouched and the store has no trace of the attempt. */
int quarantine_store_add(QuarantineStore *q, const QuarantineAddInput *in,
                         const QuarantineEntry **ret);

/* quarantine_store_add() in three steps, so that the copy (seconds for a large file) can run on
 * another thread:
 *   quarantine_add_begin()   on the store's thread: checks and copies *in; until the add is
 *                            finished or freed, another add of the same id fails (-EEXIST);
 *   quarantine_add_run()     on any one thread: steps 1-5 of the add; it touches the add and the
 *                            store's directory only, never the list (so the store's thread may go
 *                            on using the store meanwhile, but must not free it);
 *   quarantine_add_finish()  on the store's thread: takes the add (frees it) and returns what
 *                            quarantine_store_add() would have, -ECANCELED when it never ran.
 * Returns of begin: 0 or the input errors of quarantine_store_add(). */
typedef struct QuarantineAdd QuarantineAdd;
int quarantine_add_begin(QuarantineStore *q, const QuarantineAddInput *in, QuarantineAdd **ret);
int quarantine_add_run(QuarantineAdd *a);
int quarantine_add_finish(QuarantineStore *q, QuarantineAdd *a, const QuarantineEntry **ret);
QuarantineAdd *quarantine_add_free(QuarantineAdd *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(QuarantineAdd *, quarantine_add_free);

/* Puts the bytes, mode, owner and times of entry id back: into the directory destination_dir
 * (absolute, reached without symlinks) under the original file name, or when destination_dir is
 * NULL or "" at the original path. Never overwrites: the file appears atomically under its name
 * or not at all. On success the entry is gone from the store; *ret_path (when not NULL) gets the
 * path restored to (caller frees), and *ret_st (when not NULL) its stat.
 * Returns 0, -ENOENT (no such id), -ENOTDIR/-ENOENT (destination directory missing), -ELOOP
 * (a symlink on the way), -EEXIST (a file with that name exists), -EINVAL (a relative
 * destination, or the quarantine directory), -EBADMSG (the copy does not decode to the recorded
 * SHA-256), -ENOSPC, ... On failure the entry stays in the store and nothing is left at the
 * destination. */
int quarantine_store_restore(QuarantineStore *q, const char *id, const char *destination_dir,
                             char **ret_path, struct stat *ret_st);

/* Whom a restore is for, from the credentials the bus attached to the request. root (uid 0)
 * restores exactly, owner and setuid/setgid bits included. Anyone else (a polkit grantee) gets
 * the file only in a directory they could have created it in themselves, owned by them and
 * without setuid, setgid or sticky bits: the grant to manage threats is no way to write as root. */
typedef struct QuarantineCaller {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;            /* supplementary groups */
        size_t n_groups;
} QuarantineCaller;

typedef struct QuarantineRestoreInput {
        const char *id;
        const char *destination_dir;    /* as for quarantine_store_restore() */
        const QuarantineCaller *caller; /* NULL: root */
} QuarantineRestoreInput;

/* quarantine_store_restore() on behalf of in->caller. For a caller other than root the
 * destination directory is opened and checked by a short-lived child process running with the
 * caller's uid, gid and groups only, so the kernel applies every rule it would apply to the
 * caller (search permission on each parent, mode, ACLs, read-only mounts, LSMs). Returns what
 * quarantine_store_restore() returns, plus -EACCES (the caller may not create files there),
 * -EOPNOTSUPP (the destination is on a virtual file system such as sysfs or procfs, which cannot
 * hold regular files), -EROFS. */
int quarantine_store_restore_as(QuarantineStore *q, const QuarantineRestoreInput *in,
                                char **ret_path, struct stat *ret_st);

/* quarantine_store_restore_as() in three steps, so that the directory check (a child process,
 * up to QUARANTINE_CALLER_TIMEOUT_MS) and the copy (seconds for a large file) can run on another
 * thread:
 *   quarantine_restore_begin()   on the store's thread: finds the entry and copies *in; the
 *                                entry is busy until the restore is finished or freed: another
 *                                restore of it, and its removal, fail with -EBUSY, so the record
 *                                the run works on stays in the list;
 *   quarantine_restore_run()     on any one thread: the steps of the restore on disk; it touches
 *                                the busy entry and the store's directory, never the list;
 *   quarantine_restore_finish()  on the store's thread: takes the restore (frees it), drops the
 *                                entry from the list on success, and returns what
 *                                quarantine_store_restore_as() would have (-ECANCELED when it
 *                                never ran: the entry stays).
 * Returns of begin: 0, -ENOENT, -EBUSY, -EINVAL (a relative destination), -ENAMETOOLONG,
 * -ENOMEM. Freeing a restore without finishing it does what the finish would have done to the
 * list (the store must outlive it). */
typedef struct QuarantineRestore QuarantineRestore;
int quarantine_restore_begin(QuarantineStore *q, const QuarantineRestoreInput *in,
                             QuarantineRestore **ret);
int quarantine_restore_run(QuarantineRestore *a);
int quarantine_restore_finish(QuarantineStore *q, QuarantineRestore *a, char **ret_path,
                              struct stat *ret_st);
QuarantineRestore *quarantine_restore_free(QuarantineRestore *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(QuarantineRestore *, quarantine_restore_free);

/* Deletes entry id and its copy. 0, -ENOENT, or -EBUSY (a restore of it is under way). */
int quarantine_store_remove(QuarantineStore *q, const char *id);

/* The entry with this id (case-insensitive), or NULL. */
const QuarantineEntry *quarantine_store_get(const QuarantineStore *q, const char *id);
/* The newest entry whose original path is exactly path, or NULL. */
const QuarantineEntry *quarantine_store_find_by_path(const QuarantineStore *q, const char *path);
/* Entries, oldest quarantined first; NULL when i >= count. Indexes shift on add/remove. */
size_t quarantine_store_count(const QuarantineStore *q);
const QuarantineEntry *quarantine_store_at(const QuarantineStore *q, size_t i);
