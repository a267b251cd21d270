/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the quarantine module, shared by its .c files and its unit test only: the entry as
 * the store keeps it, the metadata reader and writer, the neutralising copy, the opening of paths
 * without symlinks, and the switches the test uses to reach code paths a healthy kernel never
 * takes.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "quarantine/quarantine.h"

#define QUARANTINE_METADATA_VERSION 1
#define QUARANTINE_KEY_SIZE 32
#define QUARANTINE_THREAT_NAME_MAX 1024U        /* bytes, before escaping */
#define QUARANTINE_PATH_MAX 4095U               /* bytes of an absolute path, before escaping */
/* "<id>.data", "<id>.json", ".<id>.data.tmp", ".mdatp-restore-<id>-<16 hex>", with room to
 * spare; the id is at most QUARANTINE_ID_MAX. */
#define QUARANTINE_NAME_MAX (QUARANTINE_ID_MAX + 48)
#define QUARANTINE_RESTORE_TEMP_PREFIX ".mdatp-restore-"

/* Where an entry is in its life on disk (the "state" member of <id>.json). Only QUARANTINED
 * entries live in a store's memory; the other two exist on disk while an operation runs, and
 * quarantine_store_open() settles what a crash left in them. */
typedef enum QuarantineState {
        QUARANTINE_STATE_ADDING,
        QUARANTINE_STATE_QUARANTINED,
        QUARANTINE_STATE_RESTORING,
        _QUARANTINE_STATE_MAX,
        _QUARANTINE_STATE_INVALID = -EINVAL,
} QuarantineState;

const char *quarantine_state_to_string(QuarantineState s);
QuarantineState quarantine_state_from_string(const char *s);

/* An entry and what the store keeps beside it. The QuarantineEntry comes first, so the const
 * pointer the store hands out converts back with quarantine_record_of(). */
typedef struct QuarantineRecord {
        QuarantineEntry entry;
        QuarantineState state;
        uint8_t key[QUARANTINE_KEY_SIZE];
        uint64_t original_dev, original_ino;    /* the inode that was read */
        /* A restore of it has begun and is not finished: another restore or a removal is
         * refused (-EBUSY), and the record stays in the list for the restore's run. */
        bool busy;

        /* QUARANTINE_STATE_RESTORING only: */
        char *restore_path;                     /* the final path */
        char *restore_temp;                     /* temp file name in the final path's directory */
        bool restore_identified;                /* the temp file is complete and is: */
        uint64_t restore_dev, restore_ino;
} QuarantineRecord;

static inline QuarantineRecord *quarantine_record_of(const QuarantineEntry *e) {
        return (QuarantineRecord *) e;
}

/* Frees a record and everything it owns (NULL-safe); returns NULL. */
QuarantineRecord *quarantine_record_free(QuarantineRecord *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(QuarantineRecord *, quarantine_record_free);
/* Drops the restore_* members (back to a plain quarantined record). */
void quarantine_record_clear_restore(QuarantineRecord *r);

bool quarantine_id_valid(const char *id);
bool quarantine_sha256_valid(const char *s);    /* 64 hex digits, either case */

/* The escaping of paths and threat names in the metadata: every byte outside printable ASCII
 * (0x20..0x7E) and every '%' becomes "%XY" (uppercase hex). The result is always ASCII, so it is
 * valid JSON string content and valid UTF-8 for D-Bus and logs. -ENOMEM. */
int quarantine_escape(const char *s, char **ret);
/* percent_unescape() (util/hexdecode.h) undoes it. */

/* Serialises r as the text of <id>.json (one line, ending in a newline). Caller frees. 0,
 * -ENOMEM, -E2BIG (over QUARANTINE_METADATA_MAX), -EINVAL (a field out of range). */
int quarantine_record_to_json(const QuarantineRecord *r, char **ret, size_t *ret_size);
/* Parses the text of <id>.json; expected_id is the id its file name says. 0 and a new record, or
 * -EBADMSG (not valid metadata: syntax, shape, a member missing or out of range, an id that is
 * not the file's), -ENOMEM. */
int quarantine_record_from_json(const char *text, size_t size, const char *expected_id,
                                QuarantineRecord **ret);

/* Copies in_fd to EOF into out_fd, XOR-ing every byte with key[offset % QUARANTINE_KEY_SIZE], and
 * hashes the plain side: the input when encode is true (quarantining), the output otherwise
 * (restoring or checking). out_fd < 0 only hashes. ret_sha256 gets lowercase hex; ret_size the
 * bytes copied. 0 or a negative errno of read/write, -ENOMEM, -EIO (digest failure). */
int quarantine_transcode(int in_fd, int out_fd, const uint8_t key[QUARANTINE_KEY_SIZE],
                         bool encode, char ret_sha256[QUARANTINE_SHA256_LENGTH + 1],
                         uint64_t *ret_size);

/* Fills buf with random bytes from the kernel. 0 or a negative errno. */
int quarantine_random_bytes(void *buf, size_t size);

/* Splits an absolute path into its directory (for quarantine_open_directory()) and its last
 * component. -EINVAL when path is not absolute, has no last component ("/", a trailing slash) or
 * its last component is "." or "..". Both outputs are the caller's. */
int quarantine_split_path(const char *path, char **ret_dir, char **ret_name);

/* Opens the directory at absolute path for reading (O_RDONLY|O_DIRECTORY, so it can be fsync-ed)
 * without following a symlink in any component: openat2() with RESOLVE_NO_SYMLINKS, or, on
 * kernels without it, one openat(O_PATH|O_NOFOLLOW) per component from "/". Empty and "."
 * components are skipped; ".." is refused (-EINVAL) so both ways resolve the same paths.
 * Returns an fd, or -ELOOP (a symlink on the way), -ENOENT, -ENOTDIR, -EINVAL, ... */
int quarantine_open_directory(const char *path);

/* quarantine_open_directory() as caller c would do it, in a child process with c's uid, gid and
 * groups only (quarantine-caller.c says why a process), then checks that c may create files in
 * the directory. Returns the fd (opened by the child, handed over), or what the open returned,
 * -EACCES (c may not create files there), -EROFS, -ETIMEDOUT (the child did not answer in
 * QUARANTINE_CALLER_TIMEOUT_MS, e.g. a hung network file system), -ECHILD (no answer). */
int quarantine_open_directory_as(const char *path, const QuarantineCaller *c);
#define QUARANTINE_CALLER_TIMEOUT_MS 10000

/* Whether fd is on a virtual file system (sysfs, procfs, cgroupfs, ...) that cannot hold a
 * restored file. */
bool quarantine_is_virtual_fs(int fd);

/* Tests only: points at which a store calls its test hook, so a test can change the file system
 * at the instant an attacker or a crash would. */
typedef enum QuarantineTestPoint {
        QUARANTINE_TEST_ADD_BEFORE_UNLINK,      /* copy and metadata on disk, name not checked */
        QUARANTINE_TEST_RESTORE_BEFORE_RENAME,  /* temp file complete, final name not taken */
        _QUARANTINE_TEST_POINT_MAX,
} QuarantineTestPoint;
typedef void (*QuarantineTestHook)(QuarantineStore *q, QuarantineTestPoint point, void *userdata);

struct QuarantineStore {
        char *dir;                      /* as given to quarantine_store_open() */
        int dir_fd;

        QuarantineRecord **items;       /* all QUARANTINE_STATE_QUARANTINED, oldest first */
        size_t n_items, n_allocated;
        char **adding;                  /* ids of adds begun and not finished */

        QuarantineTestHook test_hook;
        void *test_userdata;
};

/* "<id>.json", "<id>.data" and ".<id>.data.tmp" in the store's directory. */
void quarantine_metadata_name(const char *id, char ret[static QUARANTINE_NAME_MAX]);
void quarantine_data_name(const char *id, char ret[static QUARANTINE_NAME_MAX]);
void quarantine_data_temp_name(const char *id, char ret[static QUARANTINE_NAME_MAX]);

/* Writes r's metadata atomically (write_file_atomic(), mode 0600, directory synced). */
int quarantine_store_save(QuarantineStore *q, const QuarantineRecord *r);
/* Deletes the metadata of id (the commit point of a removal), then its copy, and syncs the
 * directory. Fails only when the metadata cannot be deleted: then nothing was. */
int quarantine_store_delete_files(QuarantineStore *q, const char *id);
/* Makes room for one more item, so that quarantine_store_insert() cannot fail. */
int quarantine_store_reserve(QuarantineStore *q);
/* Inserts r after every item quarantined at the same time or before; takes r. Needs room. */
void quarantine_store_insert(QuarantineStore *q, QuarantineRecord *r);
/* Takes item i out of the list and frees it. */
void quarantine_store_drop(QuarantineStore *q, size_t i);
/* The index of the entry with this id (case-insensitive), or -ENOENT. */
ssize_t quarantine_store_index(const QuarantineStore *q, const char *id);
void quarantine_store_test_point(QuarantineStore *q, QuarantineTestPoint point);
/* Whether dir_fd is the store's own directory, where no file is added from or restored to. */
bool quarantine_store_is_own_directory(QuarantineStore *q, int dir_fd);

/* Settles what interrupted operations left in the store's directory and loads the entries
 * (quarantine-recover.c). Appends a sentence per thing done to *notes. 0 or -ENOMEM, or an
 * error listing the directory. */
int quarantine_store_recover(QuarantineStore *q, char ***notes);

/* Tests only: force the code paths a kernel of today does not take. */
typedef struct QuarantineTestOptions {
        bool no_openat2;                /* walk components as if openat2() gave ENOSYS */
        bool no_rename_noreplace;       /* as if renameat2(RENAME_NOREPLACE) gave EINVAL */
        bool no_preallocate;            /* as if fallocate() gave EOPNOTSUPP */
} QuarantineTestOptions;
extern QuarantineTestOptions quarantine_test_options;

void quarantine_store_set_test_hook(QuarantineStore *q, QuarantineTestHook hook, void *userdata);
