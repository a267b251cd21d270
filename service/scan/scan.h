/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * On-demand scans: where a scan looks (quick list, mounted filesystems, given paths), the
 * directory walk, the worker threads that hand files to the engine, the verdict cache and the
 * scan history.
 *
 * A ScanJob runs on its own threads: one walker that opens files (never following symlinks,
 * staying on one filesystem where asked) and feeds a bounded queue, and N workers that scan. It
 * shares only immutable snapshots (engine rules, exclusions) and the thread-safe verdict cache
 * with the rest of the daemon. Results go back to the main thread through scan_job_drain(),
 * which the main loop calls when scan_job_get_fd() is readable. This module knows nothing of
 * D-Bus or sd-event.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "exclusions/exclusions.h"
#include "util/macro.h"

typedef enum ScanKind {
        SCAN_KIND_QUICK,
        SCAN_KIND_FULL,
        SCAN_KIND_CUSTOM,
        _SCAN_KIND_MAX,
        _SCAN_KIND_INVALID = -EINVAL,
} ScanKind;

typedef enum ScanState {
        SCAN_STATE_RUNNING,
        SCAN_STATE_SUCCEEDED,
        SCAN_STATE_FAILED,
        SCAN_STATE_CANCELLED,
        _SCAN_STATE_MAX,
        _SCAN_STATE_INVALID = -EINVAL,
} ScanState;

const char *scan_kind_to_string(ScanKind k);
ScanKind scan_kind_from_string(const char *s);
const char *scan_state_to_string(ScanState s);
ScanState scan_state_from_string(const char *s);

/* ---- verdict cache -------------------------------------------------------------------------
 * Clean verdicts keyed by the file's identity: (device, inode, size, mtime, ctime) and the
 * definitions generation. ctime is in the key because mtime can be set by anyone who can write
 * the file; ctime cannot. Thread-safe; bounded. */

typedef struct VerdictCache VerdictCache;

typedef struct VerdictKey {
        uint64_t dev, ino, size;
        int64_t mtime_ns, ctime_ns;
        uint64_t generation;            /* which definitions the verdict was made with */
} VerdictKey;

#define VERDICT_CACHE_MAX_DEFAULT (1U << 20)

int verdict_cache_new(size_t max_entries, VerdictCache **ret);
VerdictCache *verdict_cache_free(VerdictCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(VerdictCache *, verdict_cache_free);
bool verdict_cache_lookup(VerdictCache *c, const VerdictKey *k);
void verdict_cache_insert(VerdictCache *c, const VerdictKey *k);
void verdict_cache_clear(VerdictCache *c);
size_t verdict_cache_size(VerdictCache *c);
/* Persisted across restarts (binary, versioned; a bad file is ignored, -EBADMSG). */
int verdict_cache_save(VerdictCache *c, const char *path);
int verdict_cache_load(VerdictCache *c, const char *path);
/* A key from a stat buffer. */
void verdict_key_from_stat(VerdictKey *k, const struct stat *st, uint64_t generation);
/* Whether two keys name the same unchanged file, whatever definitions judged it. */
bool verdict_key_same_file(const VerdictKey *a, const VerdictKey *b);

/* A file restored from the quarantine: scans and real-time protection leave it alone until
 * expires_usec (CLOCK_REALTIME µs) while it is unchanged (key.generation is ignored). */
typedef struct RestoredFile {
        VerdictKey key;
        uint64_t expires_usec;
} RestoredFile;
/* Whether key is one of files[0..n) and still in its grace period at now_usec. */
bool restored_file_find(const RestoredFile *files, size_t n, const VerdictKey *key,
                        uint64_t now_usec);

/* ---- where scans look ----------------------------------------------------------------------- */

/* The places a quick scan covers (docs/scans.md explains the choice): NULL-terminated, caller
 * frees. $MDATP_SCAN_QUICK_PATHS (colon-separated) replaces the list, for tests. */
int scan_quick_paths(char ***ret);
/* Mount points of every local filesystem a full scan covers: types real-time protection
 * monitors (minus `unmonitored`), never pseudo filesystems. $MDATP_SCAN_FULL_ROOTS
 * (colon-separated) replaces the list, for tests. */
int scan_full_roots(char * const *unmonitored, char ***ret);
/* Whether a filesystem type is a pseudo filesystem that holds no files worth scanning. */
bool scan_fstype_is_pseudo(const char *fstype);

/* ---- the mount table (shared with real-time protection) ------------------------------------ */

/* One line of /proc/self/mountinfo. */
typedef struct ScanMount {
        int id;                         /* mount id (the one statx() reports as STATX_MNT_ID) */
        char *mount_point;              /* unescaped */
        char *fstype;                   /* "ext4", "fuse.sshfs", ... */
        char *options;                  /* per-mount options, "rw,nosuid,noexec,relatime" */
        bool noexec;                    /* "noexec" is among options */
} ScanMount;

/* Parses mountinfo text into a new array of *ret_n entries (caller frees with
 * scan_mounts_free()); lines that do not parse are skipped. Returns 0 or -ENOMEM. */
int scan_mounts_parse(const char *text, ScanMount **ret, size_t *ret_n);
/* Reads the mount table: from fd, an open /proc/self/mountinfo read again from its start (what
 * a poll() on it asks for after POLLPRI), or, when fd < 0, from a fresh open. Returns 0 or a
 * negative errno. */
int scan_mounts_read(int fd, ScanMount **ret, size_t *ret_n);
void scan_mounts_free(ScanMount *mounts, size_t n);
/* Whether mounts of this filesystem type are watched by real-time protection and covered by
 * full scans: btrfs, ecryptfs, ext2/3/4, fuseblk, jfs, overlay, ramfs, reiserfs, tmpfs, vfat,
 * xfs and the nfs and fuse families, except a type named in unmonitored (case-insensitively;
 * "nfs" and "fuse" also name their families: nfs4, fuse.sshfs). */
bool scan_fstype_is_monitored(const char *fstype, char * const *unmonitored);

/* ---- jobs ----------------------------------------------------------------------------------- */

typedef struct ScanJobConfig {
        ScanKind kind;
        char **roots;                   /* absolute paths: files or directories */
        bool one_filesystem;            /* do not cross into other mounts below a root */
        unsigned n_threads;             /* workers, 1..64 */
        EngineRules *rules;             /* the job takes its own reference */
        uint64_t generation;            /* definitions generation, for the cache */
        ExclusionSet *exclusions;       /* NULL = none (or --ignore-exclusions) */
        EngineScanOptions engine_options; /* ignored_types is copied */
        VerdictCache *cache;            /* shared; must outlive the job; NULL = none */
        const RestoredFile *restored;   /* left alone, counted as excluded; copied */
        size_t n_restored;
} ScanJobConfig;

typedef struct ScanCounters {
        uint64_t files_scanned;         /* handed to the engine */
        uint64_t files_cached;          /* skipped: clean and unchanged since */
        uint64_t files_failed;          /* could not be opened or scanned */
        uint64_t files_excluded;
        uint64_t bytes_scanned;
        uint64_t threats_found;
        uint64_t files_total;           /* known once the walk has finished, else 0 */
        bool walk_done;
} ScanCounters;

/* A detection: the file and, apart from it, the archive member. Nothing joins them into one
 * string, since a file name may contain anything a separator could be. */
typedef struct ScanDetection {
        char *path;                     /* the file, as the walker named it */
        char *member;                   /* the member chain inside the file ("dir/b.zip->c"), a
                                         * label only and never a path; NULL: the file itself */
        char *threat_name;
        char *threat_type;
        char *sha256;                   /* of the whole file; "" when not computed */
        uint64_t dev, ino;              /* the identity of the file that was scanned */
} ScanDetection;

typedef struct ScanJob ScanJob;

/* Starts the threads. Returns 0 or a negative errno (nothing started then). */
int scan_job_start(const ScanJobConfig *config, ScanJob **ret);
/* Asks the threads to stop; scan_job_drain() reports the end. Safe to call more than once. */
void scan_job_cancel(ScanJob *job);
/* An eventfd that becomes readable when detections wait or the job has ended. */
int scan_job_get_fd(ScanJob *job);
/* Hands every waiting detection to on_detection (called on the caller's thread; it takes
 * ownership of nothing: copy what you keep) and returns 1 when the job has ended (threads
 * joined; *ret_state set), 0 while it runs. */
int scan_job_drain(ScanJob *job, void (*on_detection)(const ScanDetection *d, void *userdata),
                   void *userdata, ScanState *ret_state);
void scan_job_get_counters(ScanJob *job, ScanCounters *ret);
/* Cancels, joins the threads and frees. NULL-safe. */
ScanJob *scan_job_free(ScanJob *job);
DEFINE_TRIVIAL_CLEANUP_FUNC(ScanJob *, scan_job_free);

/* ---- history -------------------------------------------------------------------------------- */

typedef struct ScanRecord {
        uint32_t id;
        ScanKind kind;
        ScanState state;
        uint64_t start_usec, end_usec;
        uint64_t files_scanned, threats_found;
} ScanRecord;

#define SCAN_HISTORY_MAX 100

typedef struct ScanHistory {
        ScanRecord items[SCAN_HISTORY_MAX];     /* items[0] is the oldest */
        size_t n;
        uint32_t next_id;
        char *path;
} ScanHistory;

/* Loads the history file (a missing or corrupt one gives an empty history; corrupt files are
 * moved aside and -EBADMSG returned so the caller can say so). */
int scan_history_load(ScanHistory *h, const char *path);
/* Appends or replaces the record with r->id, drops the oldest beyond SCAN_HISTORY_MAX, saves
 * atomically. When the save fails (a full disk) the record stays in memory and the error is
 * returned: scan_history_save() writes it later. */
int scan_history_put(ScanHistory *h, const ScanRecord *r);
/* Writes the history as memory has it, atomically. Returns 0 or a negative errno. */
int scan_history_save(const ScanHistory *h);
void scan_history_done(ScanHistory *h);
