/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * On-demand scans: where a scan looks (quick list, mounted filesystems, given paths), the
 * directory walk, the worker threads that hand files to the engine, and the scan history. The
 * verdict cache (verdict/), the restored files (restored/) and the mount table (mounts/) are
 * modules of their own.
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
#include "restored/restored.h"
#include "util/macro.h"
#include "verdict/verdict.h"

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

/* ---- where scans look ----------------------------------------------------------------------- */

/* The places a quick scan covers (docs/scans.md explains the choice): NULL-terminated, caller
 * frees. $MDATP_SCAN_QUICK_PATHS (colon-separated) replaces the list, for tests. */
int scan_quick_paths(char ***ret);
/* Mount points of every local filesystem a full scan covers: types real-time protection
 * monitors (minus `unmonitored`), never pseudo filesystems. $MDATP_SCAN_FULL_ROOTS
 * (colon-separated) replaces the list, for tests. */
int scan_full_roots(char * const *unmonitored, char ***ret);

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
        RestoredSet *restored;          /* left alone, counted as excluded; the job takes its
                                         * own reference; NULL = none */
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
