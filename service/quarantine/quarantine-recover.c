/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Recovery at open: reading the store's directory, finishing or rolling back whatever an
 * interrupted add or restore left (the rule for each state is in README.md), setting aside
 * metadata that cannot be used, deleting temp files and orphaned copies, and loading the
 * entries that are quarantined.
 *
 * Works on the store being opened, before anyone else can see it. Outside the store's
 * directory it only looks at a name (the original path of an interrupted add) and deletes a
 * restore temp file it can identify as its own; it never deletes anything it cannot.
 *
 * Paths in notes are escaped as in the metadata, so a note is always valid UTF-8.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quarantine/quarantine-internal.h"
#include "quarantine/quarantine.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

#define QUARANTINE_ASIDE_MAX 100        /* "<name>.invalid", "<name>.invalid-1" ... "-99" */

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

_printf_(2, 3)
static int note(char ***notes, const char *format, ...) {
        va_list ap;
        char *s;
        int n;

        va_start(ap, format);
        n = vasprintf(&s, format, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        return strv_consume(notes, s);
}

/* A note about the interrupted operation on r: "quarantine of <id> from '<path>' <what>" or
 * "restore of <id> to '<path>' <what>", the path escaped. */
static int note_entry(char ***notes, const QuarantineRecord *r, const char *what,
                      const char *path) {
        bool restoring = r->state == QUARANTINE_STATE_RESTORING;
        _cleanup_free_ char *escaped = NULL;
        int k;

        k = quarantine_escape(path, &escaped);
        if (k < 0)
                return k;
        return note(notes, "%s of %s %s '%s' %s", restoring ? "restore" : "quarantine",
                    r->entry.id, restoring ? "to" : "from", escaped, what);
}

/* The names in the store's directory, read before anything in it changes. */
static int list_directory(QuarantineStore *q, char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        int fd, k;

        fd = openat(q->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                k = negative_errno();
                (void) close(fd);
                return k;
        }
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                k = strv_extend(&names, de->d_name);
                if (k < 0)
                        return k;
        }
        if (errno != 0)
                return negative_errno();
        *ret = TAKE_PTR(names);
        return 0;
}

/* The id in "<id><suffix>", or false when name is not of that form. */
static bool name_to_id(const char *name, const char *suffix, char ret[QUARANTINE_ID_MAX + 1]) {
        size_t n = strlen(name), s = strlen(suffix);

        if (n <= s || n - s > QUARANTINE_ID_MAX || !streq(name + n - s, suffix))
                return false;
        memcpy(ret, name, n - s);
        ret[n - s] = '\0';
        return quarantine_id_valid(ret);
}

static bool exists_in(int dir_fd, const char *name) {
        return faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) >= 0;
}

/* Renames "<id>.json" and "<id>.data" (when there) to "<id>.json.invalid[-n]" and
 * "<id>.data.invalid[-n]" with the first n free for both, and notes it. Never deletes. */
static int set_aside(QuarantineStore *q, const char *id, const char *why, char ***notes) {
        char json[QUARANTINE_NAME_MAX], data[QUARANTINE_NAME_MAX];

        quarantine_metadata_name(id, json);
        quarantine_data_name(id, data);
        for (unsigned n = 0; n < QUARANTINE_ASIDE_MAX; n++) {
                char json_aside[QUARANTINE_NAME_MAX + 16], data_aside[QUARANTINE_NAME_MAX + 16];
                char suffix[16] = ".invalid";

                if (n > 0)
                        (void) snprintf(suffix, sizeof(suffix), ".invalid-%u", n);
                (void) snprintf(json_aside, sizeof(json_aside), "%s%s", json, suffix);
                (void) snprintf(data_aside, sizeof(data_aside), "%s%s", data, suffix);
                if (exists_in(q->dir_fd, json_aside) || exists_in(q->dir_fd, data_aside))
                        continue;

                if (renameat(q->dir_fd, json, q->dir_fd, json_aside) < 0)
                        return note(notes, "metadata '%s' %s, and could not be moved aside: %s",
                                    json, why, strerror(errno));
                if (renameat(q->dir_fd, data, q->dir_fd, data_aside) < 0 && errno != ENOENT)
                        (void) note(notes, "copy '%s' could not be moved aside: %s", data,
                                    strerror(errno));
                (void) fsync(q->dir_fd);
                return note(notes, "metadata '%s' %s: moved aside to '%s' with its copy",
                            json, why, json_aside);
        }
        return note(notes, "metadata '%s' %s, and left in place: no free name to move it to",
                    json, why);
}

/* Reads and parses "<id>.json". -EBADMSG when it is not usable metadata (not a regular file,
 * too large, not parseable); other errors when it could not be read. */
static int load_record(QuarantineStore *q, const char *id, QuarantineRecord **ret) {
        char name[QUARANTINE_NAME_MAX];
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t size;
        int k;

        quarantine_metadata_name(id, name);
        fd = openat(q->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size > QUARANTINE_METADATA_MAX)
                return -EBADMSG;
        k = read_fd_full(fd, st.st_size, QUARANTINE_METADATA_MAX, &text, &size);
        if (k == -E2BIG)
                return -EBADMSG;
        if (k < 0)
                return k;
        return quarantine_record_from_json(text, size, id, ret);
}

/* Whether the copy of r is there, a regular file of the recorded size. */
static bool copy_present(QuarantineStore *q, const QuarantineRecord *r) {
        char name[QUARANTINE_NAME_MAX];
        struct stat st;

        quarantine_data_name(r->entry.id, name);
        return fstatat(q->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode) &&
                (uint64_t) st.st_size == r->entry.size;
}

/* Whether the copy of r decodes to the recorded bytes: read whole, hashed. */
static bool copy_intact(QuarantineStore *q, const QuarantineRecord *r) {
        char name[QUARANTINE_NAME_MAX], sha[QUARANTINE_SHA256_LENGTH + 1];
        _cleanup_close_ int fd = -EBADF;
        uint64_t size;

        quarantine_data_name(r->entry.id, name);
        fd = openat(q->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return false;
        return quarantine_transcode(fd, -1, r->key, false, sha, &size) >= 0 &&
                size == r->entry.size && streq(sha, r->entry.sha256);
}

/* Keeps r as a quarantined entry, its copy checked for presence. Takes r. */
static int keep_entry(QuarantineStore *q, QuarantineRecord *r, char ***notes) {
        _cleanup_(quarantine_record_freep) QuarantineRecord *owned = r;
        int k;

        if (!copy_present(q, r))
                return set_aside(q, r->entry.id, "has no intact copy", notes);
        k = quarantine_store_reserve(q);
        if (k < 0)
                return k;
        quarantine_store_insert(q, TAKE_PTR(owned));
        return 0;
}

/* 1 when path names the inode dev/ino now (reached without symlinks), 0 when it names nothing
 * or something else, < 0 when that cannot be told. */
static int path_names_inode(const char *path, uint64_t dev, uint64_t ino) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        struct stat st;
        int k;

        k = quarantine_split_path(path, &dir, &name);
        if (k < 0)
                return k;
        dir_fd = quarantine_open_directory(dir);
        if (IN_SET(dir_fd, -ENOENT, -ENOTDIR, -ELOOP))
                return 0;
        if (dir_fd < 0)
                return dir_fd;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return st.st_dev == dev && st.st_ino == ino;
}

/* "adding": the copy and the metadata are complete (they are written before it), so only the
 * removal of the name is in question. Still there: roll back. Gone: complete the add, once the
 * copy is checked to hold what the metadata says. */
static int recover_adding(QuarantineStore *q, QuarantineRecord *r, char ***notes) {
        _cleanup_(quarantine_record_freep) QuarantineRecord *owned = r;
        int k;

        k = path_names_inode(r->entry.original_path, r->original_dev, r->original_ino);
        if (k < 0)
                return note_entry(notes, r, "left for a later start: its file cannot be checked",
                                  r->entry.original_path);
        if (k > 0) {
                k = quarantine_store_delete_files(q, r->entry.id);
                if (k < 0)
                        return note_entry(notes, r, "could not be rolled back",
                                          r->entry.original_path);
                return note_entry(notes, r, "rolled back: the file is still in place",
                                  r->entry.original_path);
        }

        if (!copy_intact(q, r))
                return set_aside(q, r->entry.id, "was being added and has no intact copy",
                                 notes);
        r->state = QUARANTINE_STATE_QUARANTINED;
        (void) quarantine_store_save(q, r);
        k = note_entry(notes, r, "completed", r->entry.original_path);
        if (k < 0)
                return k;
        return keep_entry(q, TAKE_PTR(owned), notes);
}

/* Removes the restore temp file of r in dir_fd if it is ours: a regular file, and the very
 * inode once the metadata recorded it. */
static void remove_restore_temp(const QuarantineRecord *r, int dir_fd) {
        struct stat st;

        if (fstatat(dir_fd, r->restore_temp, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode))
                return;
        if (r->restore_identified && (st.st_dev != r->restore_dev || st.st_ino != r->restore_ino))
                return;
        if (unlinkat(dir_fd, r->restore_temp, 0) >= 0)
                (void) fsync(dir_fd);
}

/* "restoring": finished when the final name is the temp file recorded complete (the rename
 * happens only after that record is on disk); otherwise roll back: the temp file goes, the
 * entry stays quarantined. */
static int recover_restoring(QuarantineStore *q, QuarantineRecord *r, char ***notes) {
        _cleanup_(quarantine_record_freep) QuarantineRecord *owned = r;
        _cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        struct stat st;
        int k;

        k = quarantine_split_path(r->restore_path, &dir, &name);
        if (k < 0)
                return k;
        dir_fd = quarantine_open_directory(dir);
        if (dir_fd < 0 && !IN_SET(dir_fd, -ENOENT, -ENOTDIR, -ELOOP))
                return note_entry(notes, r, "left for a later start: its destination cannot "
                                  "be checked", r->restore_path);

        if (dir_fd >= 0 && r->restore_identified &&
            fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
            st.st_dev == r->restore_dev && st.st_ino == r->restore_ino) {
                /* A crash between link() and unlink() of the fallback leaves the temp name. */
                remove_restore_temp(r, dir_fd);
                (void) fsync(dir_fd);
                k = quarantine_store_delete_files(q, r->entry.id);
                if (k < 0)
                        return note_entry(notes, r, "finished, but the entry could not be "
                                          "deleted", r->restore_path);
                return note_entry(notes, r, "finished", r->restore_path);
        }

        if (dir_fd >= 0)
                remove_restore_temp(r, dir_fd);
        path = TAKE_PTR(r->restore_path);
        k = note_entry(notes, r, "rolled back", path);
        if (k < 0)
                return k;
        r->state = QUARANTINE_STATE_QUARANTINED;
        quarantine_record_clear_restore(r);
        (void) quarantine_store_save(q, r);
        return keep_entry(q, TAKE_PTR(owned), notes);
}

/* Settles and loads the entry whose metadata is "<id>.json". */
static int recover_entry(QuarantineStore *q, const char *id, char ***notes) {
        QuarantineRecord *r = NULL;
        int k;

        k = load_record(q, id, &r);
        if (k == -ENOMEM)
                return k;
        if (k == -EBADMSG)
                return set_aside(q, id, "is not valid", notes);
        if (k < 0)
                return note(notes, "metadata '%s.json' could not be read, left for a later "
                            "start: %s", id, strerror(-k));

        switch (r->state) {
        case QUARANTINE_STATE_ADDING:
                return recover_adding(q, r, notes);
        case QUARANTINE_STATE_RESTORING:
                return recover_restoring(q, r, notes);
        default:
                return keep_entry(q, r, notes);
        }
}

/* Deletes a temp file of an interrupted operation (".<id>.data.tmp", or the ".#<id>.json…" of
 * write_file_atomic()): a dot file in our directory is never anything else. */
static int remove_temp(QuarantineStore *q, const char *name, char ***notes) {
        struct stat st;

        if (fstatat(q->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return 0;
        if (unlinkat(q->dir_fd, name, 0) < 0)
                return 0;
        return note(notes, "temp file '%s' of an interrupted operation deleted", name);
}

/* Deletes "<id>.data" when no "<id>.json" describes it: an add that failed before its metadata
 * was written, with the file still in place, or a removal interrupted after its commit. */
static int remove_orphan(QuarantineStore *q, const char *id, char ***notes) {
        char json[QUARANTINE_NAME_MAX], data[QUARANTINE_NAME_MAX];

        quarantine_metadata_name(id, json);
        quarantine_data_name(id, data);
        if (exists_in(q->dir_fd, json))
                return 0;
        if (unlinkat(q->dir_fd, data, 0) < 0)
                return 0;
        return note(notes, "copy '%s' without metadata deleted", data);
}

static int compare_items(const void *a, const void *b) {
        const QuarantineEntry *x = &(*(QuarantineRecord * const *) a)->entry,
                              *y = &(*(QuarantineRecord * const *) b)->entry;

        if (x->quarantined_usec != y->quarantined_usec)
                return x->quarantined_usec < y->quarantined_usec ? -1 : 1;
        return strcmp(x->id, y->id);
}

int quarantine_store_recover(QuarantineStore *q, char ***notes) {
        _cleanup_strv_free_ char **names = NULL;
        char id[QUARANTINE_ID_MAX + 1];
        bool saw_temp = false;
        int k;

        k = list_directory(q, &names);
        if (k < 0)
                return k;

        for (char **n = names; n && *n; n++) {
                k = 0;
                if ((*n)[0] == '.') {
                        k = remove_temp(q, *n, notes);
                        saw_temp = true;
                } else if (name_to_id(*n, ".json", id))
                        k = recover_entry(q, id, notes);
                if (k < 0)
                        return k;
        }
        /* Copies are looked at once every metadata file has been dealt with. */
        for (char **n = names; n && *n; n++)
                if (name_to_id(*n, ".data", id)) {
                        k = remove_orphan(q, id, notes);
                        if (k < 0)
                                return k;
                }
        if (saw_temp)
                (void) fsync(q->dir_fd);

        if (q->n_items > 1)
                qsort(q->items, q->n_items, sizeof(*q->items), compare_items);
        return 0;
}
