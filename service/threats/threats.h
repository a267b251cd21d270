/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The threat history: every detection the daemon made (shared/reference/mde-behaviour.md §8), its
 * current status and the history of its status changes, kept in one JSON file in the state
 * directory and rewritten atomically on every change.
 *
 * A ThreatStore belongs to the daemon's main thread: nothing here takes a lock, and no other
 * thread may call into it or keep a pointer it returned. Memory and disk agree: every function
 * that changes the store saves it before it returns, and when the save fails the change is
 * undone, so the caller sees the error and the store as it was.
 *
 * The file format, the escaping of file names that are not UTF-8 and the limits are described in
 * README.md beside this file.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor/executor.h"
#include "util/macro.h"

/* Who found it. */
typedef enum ThreatSource {
        THREAT_SOURCE_ON_DEMAND,        /* "on_demand" */
        THREAT_SOURCE_REAL_TIME,        /* "real_time" */
        THREAT_SOURCE_BEHAVIOR,         /* "behavior" */
        _THREAT_SOURCE_MAX,
        _THREAT_SOURCE_INVALID = -EINVAL,
} ThreatSource;

/* Where it stands. A record's status is the status of its newest history entry. */
typedef enum ThreatStatus {
        THREAT_STATUS_ACTIVE,           /* "active": detected, nothing done (yet) */
        THREAT_STATUS_QUARANTINED,      /* "quarantined" */
        THREAT_STATUS_REMOVED,          /* "removed": the quarantined copy was deleted */
        THREAT_STATUS_RESTORED,         /* "restored" */
        THREAT_STATUS_ALLOWED,          /* "allowed" */
        THREAT_STATUS_AUDITED,          /* "audited": reported only, by threat-type policy */
        _THREAT_STATUS_MAX,
        _THREAT_STATUS_INVALID = -EINVAL,
} ThreatStatus;

/* Both return NULL for a value out of range. */
const char *threat_source_to_string(ThreatSource s);
const char *threat_status_to_string(ThreatStatus s);
/* Both return _..._INVALID for NULL or an unknown name. Names are matched exactly. */
ThreatSource threat_source_from_string(const char *s);
ThreatStatus threat_status_from_string(const char *s);

#define THREAT_ID_LENGTH 36             /* a UUID: xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx */
#define THREAT_NAME_MAX 512             /* bytes */
#define THREAT_TYPE_MAX 64
#define THREAT_PATH_MAX 16384           /* bytes of the raw path, at most; archive members
                                         * make paths long */
#define THREAT_DETAIL_MAX 1024
#define THREAT_HISTORY_MAX 64           /* entries per record, the detection included */
#define THREAT_SHA256_LENGTH 64

/* One status change. */
typedef struct ThreatHistoryEntry {
        uint64_t time;                  /* µs since the epoch */
        ThreatStatus status;
        char *detail;                   /* free text (valid UTF-8), or NULL */
} ThreatHistoryEntry;

/* One detection, as the store hands it out: read-only for everybody but the store. A pointer
 * stays valid until the record is pruned or the store is reloaded or freed; the history array
 * may move when the status changes. */
typedef struct Threat {
        char id[THREAT_ID_LENGTH + 1];  /* lowercase random UUID, unique in the store */
        char *name;                     /* "Virus:DOS/EICAR_Test_File" (UTF-8, no control
                                         * characters) */
        char *type;                     /* "virus", "potentially_unwanted_application", ...:
                                         * [a-z0-9_]+ */
        char *path;                     /* the file's path, any bytes but NUL: for a detection
                                         * inside an archive, the archive. Never holds the member
                                         * and is never cut: "->" in it is part of a name. */
        char *member;                   /* inside an archive: the member chain ("dir/b.zip->c"),
                                         * a label for people, never a path; NULL: the file */
        char sha256[THREAT_SHA256_LENGTH + 1]; /* of the whole file, lowercase hex, or "" when
                                                * unknown */
        bool has_identity;              /* dev and ino are known (records of older versions
                                         * lack them) */
        uint64_t dev, ino;              /* the inode that was detected */
        uint64_t detected;              /* µs since the epoch */
        ThreatSource source;
        ThreatStatus status;            /* == history[n_history - 1].status */
        ThreatHistoryEntry *history;    /* oldest first; history[0] is the detection */
        size_t n_history;               /* 1..THREAT_HISTORY_MAX */
} Threat;

/* What a detection brings; all strings are borrowed for the duration of the call. */
typedef struct ThreatRecordInput {
        const char *name;               /* required, <= THREAT_NAME_MAX bytes, valid UTF-8 */
        const char *type;               /* required, [a-z0-9_]{1,THREAT_TYPE_MAX} */
        const char *path;               /* required, 1..THREAT_PATH_MAX bytes: the file */
        const char *member;             /* NULL (the file itself), or 1..THREAT_PATH_MAX bytes */
        const char *sha256;             /* NULL or "" when unknown, else 64 hex digits */
        bool has_identity;              /* dev and ino are the detected inode's */
        uint64_t dev, ino;
        uint64_t detected;              /* µs since the epoch; 0 = now */
        ThreatSource source;
        ThreatStatus status;            /* initial status; zero-initialised = active */
        const char *detail;             /* optional text of the first history entry */
} ThreatRecordInput;

/* The escaping of paths that are not UTF-8 (README.md), used in the file and available to
 * anything else that needs the path as UTF-8, such as D-Bus strings. A path that is valid UTF-8
 * is copied as it is: returns 0. Otherwise every byte outside a valid UTF-8 sequence and every
 * '%' becomes "%XY" (uppercase hex): returns 1, and the caller must keep that fact (the file
 * writes "path_encoding": "percent") to decode. -ENOMEM on failure. */
int threat_path_escape(const char *path, char **ret);
/* Undoes threat_path_escape() for an escaped path: every "%XY" (either case) becomes the byte.
 * -EINVAL on a '%' not followed by two hex digits or on "%00", -ENOMEM. */
int threat_path_unescape(const char *s, char **ret);

typedef struct ThreatStore ThreatStore;

/* Called after a save that dropped records by the store's own limits (in threat_store_record()
 * and threat_store_record_many()), with the ids of the dropped records, oldest first; the vector
 * belongs to the store. Lets the quarantine delete what belonged to them. The handler may read
 * the store; changing it fails with -EBUSY. */
typedef void (*ThreatStorePruneHandler)(ThreatStore *s, char * const *ids, void *userdata);

#define THREAT_STORE_FILE_MAX (64U * 1024U * 1024U)    /* bytes; larger files are not read, and
                                                        * a save that would be larger fails */
#define THREAT_STORE_BATCH_MAX 1024U                   /* records per threat_store_record_many() */
#define THREAT_STORE_RETENTION_DAYS_DEFAULT 90U        /* scanResultsRetentionDays */
#define THREAT_STORE_MAX_ITEMS_DEFAULT 10000U          /* scanHistoryMaximumItems */

/* Creates an empty store that will live in the file at path. Touches nothing on disk: call
 * threat_store_load() before anything else. Returns 0, -EINVAL (empty path) or -ENOMEM. */
int threat_store_new(const char *path, ThreatStore **ret);

/* Frees the store and every record (NULL-safe); returns NULL. Nothing is saved. */
ThreatStore *threat_store_free(ThreatStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ThreatStore *, threat_store_free);

/* Reads the file, replacing what the store held. Must succeed once before the store can be
 * changed (until then changes fail with -ESTALE, so a store that could not read its file never
 * overwrites it).
 *   - A missing file is an empty history.
 *   - A file that cannot be used at all (not JSON, wrong shape, unsupported version, larger than
 *     THREAT_STORE_FILE_MAX, not a regular file) is renamed to "<path>.invalid-<seconds>" and
 *     the history starts empty.
 *   - Records that fail validation are skipped; the file as read is first copied to
 *     "<path>.invalid-<seconds>" and the valid records are saved in its place.
 * In the last two cases *ret_message (when ret_message is not NULL) gets a sentence for the
 * health issues saying what happened and where the old file is (caller frees); otherwise NULL.
 * Returns the number of records loaded (>= 0), or a negative errno when the file could not be
 * read (-EACCES, -EIO, ...) or could not be moved aside: then the store is unchanged and
 * *ret_message untouched. */
int threat_store_load(ThreatStore *s, char **ret_message);

/* Sets the limits threat_store_record() and threat_store_record_many() apply to the records
 * already in the store: those detected more than retention_days days ago go, then the oldest
 * beyond max_items. 0 means no limit. The product's ranges (1..180 days, 5000..15000 items) are
 * the settings module's business. Nothing is pruned until the next record. */
void threat_store_set_limits(ThreatStore *s, unsigned retention_days, size_t max_items);

/* Sets (or with NULL clears) the handler told about records dropped by the limits. */
void threat_store_set_prune_handler(ThreatStore *s, ThreatStorePruneHandler handler,
                                    void *userdata);

/* Appends a new threat (the newest), with a fresh id and one history entry holding the initial
 * status, prunes older records by the limits, and saves. A detail with invalid UTF-8 is kept
 * with U+FFFD in place of the bad bytes and cut at THREAT_DETAIL_MAX bytes.
 * Returns 0 and, when ret is not NULL, the record in *ret; or -EINVAL (an input field is
 * invalid), -ENAMETOOLONG (path too long), -ESTALE (not loaded), -EBUSY (called from the prune
 * handler), -E2BIG (the file would exceed THREAT_STORE_FILE_MAX), -ENOMEM or the error of the
 * save: then nothing changed, in memory or on disk. */
int threat_store_record(ThreatStore *s, const ThreatRecordInput *in, const Threat **ret);

/* threat_store_record() for n (<= THREAT_STORE_BATCH_MAX) threats at once, with one save: all
 * are recorded, in the order given (in[n - 1] is the newest), or none. ret, when not NULL, has
 * room for n pointers. Same returns; -E2BIG also for n > THREAT_STORE_BATCH_MAX. */
int threat_store_record_many(ThreatStore *s, const ThreatRecordInput *in, size_t n,
                             const Threat **ret);

/* Appends a status change to the record with this id and saves. Setting the status the record
 * already has does nothing and returns 0; a change returns 1. When the history is full, its
 * oldest entry after the detection is dropped. detail as in threat_store_record(); may be NULL.
 * Errors: -ENOENT (no such id), -EINVAL (status out of range), -ESTALE, -EBUSY, -E2BIG,
 * -ENOMEM or the save's: then the record is unchanged. */
int threat_store_set_status(ThreatStore *s, const char *id, ThreatStatus status,
                            const char *detail);

/* threat_store_set_status() for n (<= THREAT_STORE_BATCH_MAX) changes at once, with one save:
 * all are made, in the order given, or none. Ids not in the store (pruned meanwhile) and
 * changes to the status a record already has are skipped. Returns the number of records
 * changed (0: nothing saved), or the errors of threat_store_set_status() but -ENOENT, and
 * -E2BIG also for n > THREAT_STORE_BATCH_MAX: then nothing changed. */
typedef struct ThreatStatusChange {
        const char *id;
        ThreatStatus status;
        const char *detail;             /* may be NULL */
} ThreatStatusChange;
int threat_store_set_status_many(ThreatStore *s, const ThreatStatusChange *changes, size_t n);

/* ---- writing on the executor ------------------------------------------------------------------
 *
 * Without an executor every change writes the file before it returns, as described above. With
 * one, a change is made in memory (after checking that the file it makes stays within
 * THREAT_STORE_FILE_MAX) and the write of the whole file, with its fsyncs and rename, is queued
 * on the executor at the end of the loop's turn (or by threat_store_flush()): writes queued
 * while another waits merge into one with the newest content, and they land in the order they
 * were queued. Changes are then counted by generation: the
 * content in memory has threat_store_generation(), the file threat_store_saved_generation().
 * A change that returned success is on disk once the saved generation reaches the generation
 * it made. A write that fails leaves the records in memory, unsaved: threat_store_save_error()
 * says why until a later write succeeds; threat_store_flush() queues one. */

/* Called on the loop's thread after each write queued on the executor ended: result 0 (the
 * saved generation moved forward) or the write's -errno. The handler may change the store. */
typedef void (*ThreatStoreSaveHandler)(ThreatStore *s, int result, void *userdata);

/* Makes changes write on e (NULL: on the calling thread again, after the executor is gone), and
 * tells handler (may be NULL) how each write went. Writes already queued stay queued. */
void threat_store_set_executor(ThreatStore *s, Executor *e, ThreatStoreSaveHandler handler,
                               void *userdata);

/* Writes what memory holds when it is newer than the file and no write of it is queued: on the
 * executor when there is one, else now. Returns 0 (queued, written, or nothing to do), -ESTALE,
 * -EBUSY, or the error of queueing or of the write. */
int threat_store_flush(ThreatStore *s);

uint64_t threat_store_generation(const ThreatStore *s);
uint64_t threat_store_saved_generation(const ThreatStore *s);
/* While memory is newer than the file: the error of the last write that failed (or could not
 * be queued); 0 otherwise. */
int threat_store_save_error(const ThreatStore *s);
/* A write is due at the end of the loop's turn, queued or running. */
bool threat_store_saving(const ThreatStore *s);

/* The record with this id (lowercase or uppercase hex), or NULL. */
const Threat *threat_store_get(const ThreatStore *s, const char *id);

/* The number of records, and the i-th newest (i = 0 is the newest), or NULL when i >= count.
 * Records are ordered by the time they were recorded. */
size_t threat_store_count(const ThreatStore *s);
const Threat *threat_store_at(const ThreatStore *s, size_t i);

/* The newest record whose path is exactly path, searching from the index *index (newest-first,
 * as threat_store_at()) or from 0 when index is NULL; on a match *index gets its index. To visit
 * all matches: for (size_t i = 0; (t = threat_store_find_by_path(s, p, &i)); i++) ...
 * Records of members of the archive at path match too. */
const Threat *threat_store_find_by_path(const ThreatStore *s, const char *path, size_t *index);
/* The same, for the records of exactly this file and member (NULL: the file itself). */
const Threat *threat_store_find_by_location(const ThreatStore *s, const char *path,
                                            const char *member, size_t *index);

/* Drops the records detected more than retention_days days before now (µs since the epoch) and
 * then the oldest beyond max_items (0: no such limit), and saves. Returns the number dropped and
 * in *ret_ids (when not NULL) their ids, oldest first, as a strv the caller frees, or NULL when
 * none were dropped. On failure (-ESTALE, -EBUSY, -ENOMEM, the save's error) nothing is dropped
 * and *ret_ids is untouched. The prune handler is not called: the caller has the ids. */
int threat_store_prune(ThreatStore *s, uint64_t now, unsigned retention_days, size_t max_items,
                       char ***ret_ids);

/* ---- the backlog ------------------------------------------------------------------------------ */

/* Detections the store could not record yet (its save failed: a full disk, an I/O error), kept
 * in memory until a later threat_store_record_many() takes them: copies of their inputs,
 * oldest first, each with the caller's tag (the daemon's scan id), without repeats, at most max
 * of them. What does not fit is counted, never silently forgotten. Main thread only. */
typedef struct ThreatBacklog ThreatBacklog;

/* Returns 0, -EINVAL (max 0) or -ENOMEM. */
int threat_backlog_new(size_t max, ThreatBacklog **ret);
/* NULL-safe; returns NULL. */
ThreatBacklog *threat_backlog_free(ThreatBacklog *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(ThreatBacklog *, threat_backlog_free);
/* Keeps a copy of in (its strings are copied). Returns 1 (kept), 0 (the same detection, by
 * file, member, inode, content and name, is already there), or -ENOBUFS (full) / -ENOMEM: then
 * the detection is counted in threat_backlog_dropped(). */
int threat_backlog_add(ThreatBacklog *b, const ThreatRecordInput *in, uint32_t tag);
/* NULL-safe: an absent backlog is empty. */
size_t threat_backlog_count(const ThreatBacklog *b);
/* How many detections did not fit, since the backlog was made. */
uint64_t threat_backlog_dropped(const ThreatBacklog *b);
/* The kept inputs as one array of threat_backlog_count() elements, oldest first, for
 * threat_store_record_many(); valid until the next add or clear. NULL when empty. */
const ThreatRecordInput *threat_backlog_inputs(const ThreatBacklog *b);
uint32_t threat_backlog_tag(const ThreatBacklog *b, size_t i);
/* Forgets every kept detection (after they were recorded); the dropped count stays. */
void threat_backlog_clear(ThreatBacklog *b);
