/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the files of service/rtp share: the Rtp object, the configuration snapshot, the event
 * slots and the helpers each file exports to the others. Nothing here is public; the daemon uses
 * rtp.h only. README.md beside this file explains the threads and who owns what.
 */
#pragma once

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/fanotify.h>
#include <sys/types.h>

#include "mounts/mounts.h"
#include "rtp/rtp.h"

/* Events the group asks for on every marked mount: never FAN_ACCESS_PERM (one round trip per
 * read() would be ruinous), never notification events (they would need a second group). */
#define RTP_EVENT_MASK (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)

/* File descriptors kept free for the rest of the daemon when the queue is sized against
 * RLIMIT_NOFILE: an event whose fd cannot be created is denied by the kernel, so the queue must
 * never be allowed to exhaust the table. */
#define RTP_FD_RESERVE 512U
/* Smallest queue worth running with; below this rtp_new() fails with -EMFILE. */
#define RTP_QUEUE_MIN 16U
#define RTP_WORKERS_MAX 64U
/* Detections waiting for rtp_drain(); beyond this they are dropped (still counted). */
#define RTP_DETECTIONS_MAX 1024U
/* Inode ignore marks added since the last flush; past this they are all flushed, so that a big
 * tree does not use up the user's fanotify mark budget (shared with other fanotify users). */
/* Ignore marks kept before starting over: half of the kernel's per-user budget
 * (fs.fanotify.max_user_marks, shared with every other fanotify user of root), within these
 * bounds. */
#define RTP_IGNORE_MARKS_MIN 16384U
#define RTP_IGNORE_MARKS_MAX (1U << 20)
/* Processes with statistics; the least recently updated is dropped beyond this. (The index in
 * rtp-stats.c has twice as many slots.) */
#define RTP_STATS_MAX 4096U

/* ---- configuration snapshot (rtp.c) -------------------------------------------------------- */

/* An immutable copy of an RtpConfig. Workers hold a reference for one event, the marks code for
 * one synchronisation; rtp_reconfigure() swaps the pointer under Rtp.config_lock. */
typedef struct RtpSnapshot {
        atomic_uint n_ref;
        bool block;
        EngineRules *rules;
        uint64_t generation;
        EngineScanOptions engine_options;       /* .ignored_types points to ignored_types */
        char **ignored_types;
        ExclusionSet *exclusions;
        size_t n_exclusions_epp, n_exclusions_global;
        char **allowed_threats;
        char **audit_types;
        RestoredSet *restored;                  /* a reference of the snapshot's own */
        VerdictCache *cache;
        char **mounts;                          /* NULL: every monitored mount */
        char **unmonitored_filesystems;
        bool mute_noexec;
        bool statistics;
        unsigned timeout_ms;
        pid_t self_check_pid;
        char *self_check_dir;
        uint64_t sequence;                      /* rtp_reconfigure()'s number; 0 for rtp_new()'s.
                                                 * Set before the snapshot is published */
} RtpSnapshot;

RtpSnapshot *rtp_snapshot_ref(RtpSnapshot *s);
RtpSnapshot *rtp_snapshot_unref(RtpSnapshot *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(RtpSnapshot *, rtp_snapshot_unref);
/* The current snapshot, with a reference the caller drops. Any thread. */
RtpSnapshot *rtp_snapshot_get(Rtp *r);

/* ---- events (rtp-events.c) ----------------------------------------------------------------- */

/* One permission event from read to answer. `answered` is guarded by Rtp.lock: whoever sets it
 * (worker, watchdog, shutdown) writes the one response; fd stays open until the owner (queue,
 * then worker) closes it after the answer. */
typedef struct RtpEvent {
        int fd;
        pid_t pid;
        uint64_t mask;
        uint64_t read_usec;             /* CLOCK_MONOTONIC, when read() returned it */
        bool answered;
} RtpEvent;

typedef struct RtpWorker {
        Rtp *rtp;
        pthread_t thread;
        bool started;
        EngineScanner *scanner;         /* this thread's only */
        const EngineRules *scanner_rules;       /* what the scanner last scanned with (no ref) */
        RtpEvent current;               /* guarded by Rtp.lock while busy */
        bool busy;
} RtpWorker;

/* Counters, each an atomic so that the main thread reads them without a lock. */
typedef struct RtpAtomicCounters {
        atomic_uint_fast64_t events, allowed, denied, scanned, cached, excluded, self;
        atomic_uint_fast64_t timeouts, overloads, errors, overflows, detections;
        atomic_uint_fast64_t max_latency_us;
        atomic_uint_fast64_t mark_syncs, self_checks, ignore_flushes, reconfigurations;
} RtpAtomicCounters;

typedef struct RtpPendingDetection RtpPendingDetection;
struct RtpPendingDetection {
        RtpPendingDetection *next;
        RtpDetection d;
};

typedef struct RtpMark {
        int mount_id;
        char *mount_point;
} RtpMark;

typedef struct RtpStats RtpStats;

struct Rtp {
        int fanotify_fd;
        int stop_fd;                    /* eventfd, written once by rtp_free(), never read */
        int notify_fd;                  /* eventfd: detections wait for rtp_drain() */
        int mountinfo_fd;               /* /proc/self/mountinfo, polled for POLLPRI */
        int placeholder_fd;             /* /dev/null, dup3()ed over fanotify_fd at shutdown */
        pid_t self_pid;
        atomic_bool stop_requested;

        pthread_mutex_t config_lock;    /* snapshot pointer and reconfigure_requested only */
        RtpSnapshot *snapshot;
        uint64_t reconfigure_requested; /* the newest snapshot's sequence */
        int reconfigure_fd;             /* eventfd: the marks thread applies the newest snapshot */
        /* What the marks thread reports of reconfigurations: held for a copy, never across a
         * system call. */
        pthread_mutex_t reconfigure_lock;
        RtpReconfigureState reconfigure_state;  /* .requested unused here */
        atomic_uint timeout_ms;         /* of the current snapshot, for the watchdog */

        /* Events: the queue, the workers' current events, the answered flags, stopping. Held
         * for pointer moves and response writes only, never across a scan or a /proc read. */
        pthread_mutex_t lock;
        pthread_cond_t work_cond;       /* workers: the queue is not empty, or stopping */
        pthread_cond_t watchdog_cond;   /* watchdog: a first deadline appeared, or stopping */
        RtpEvent *queue;                /* ring, read order */
        size_t queue_capacity, queue_head, queue_count;
        unsigned n_idle_workers;
        bool watchdog_idle;             /* waiting without a deadline */
        bool stopping;                  /* no response is written once set */

        RtpWorker *workers;
        unsigned n_workers;
        pthread_t reader, watchdog, marker;
        bool reader_started, watchdog_started, marker_started;

        /* Ignore marks: added under the read side, flushed under the write side, so that no
         * worker adds a mark for a verdict of an older generation after the flush. */
        pthread_rwlock_t ignore_lock;
        uint64_t ignore_generation;     /* guarded by ignore_lock */
        atomic_uint n_ignore_marks;     /* added since the last flush (an upper bound) */
        unsigned ignore_marks_limit;    /* fixed at rtp_new() */
        atomic_bool ignore_flush_wanted;        /* the limit was reached: a worker flushes
                                                 * once its event is answered */
        atomic_bool ignore_evictable;   /* FAN_MARK_EVICTABLE works here */

        /* Detections for the main thread. */
        pthread_mutex_t detections_lock;
        RtpPendingDetection *detections, **detections_tail;
        size_t n_detections;

        /* Marks: sync_lock serialises synchronisations (all on the marks thread, but for the
         * first in rtp_new()) and may be held across a path lookup on a stalled mount: nothing
         * the main thread calls after rtp_new() takes it. marks_lock guards the published list
         * only, so readers never wait for a path lookup. */
        pthread_mutex_t sync_lock;
        pthread_mutex_t marks_lock;
        RtpMark *marks;
        size_t n_marks;
        atomic_uint_fast64_t n_marked;
        /* Mounts left unmarked only because a folder exclusion covers them, as of the last
         * application (guarded by sync_lock): with the marked list, the mount points an
         * exclusion change can affect. */
        char **excluded_mounts;
        /* The snapshot the marks were last brought in line with (guarded by sync_lock): what
         * a reconfiguration is compared with to know whether any mark can move. NULL before the
         * first application. */
        RtpSnapshot *marks_snapshot;

        RtpStats *stats;
        RtpAtomicCounters counters;

        /* The self-check (rtp-self-check.c): the probing child's pid while one runs (0 when
         * none), which the reader answers at once and reports through self_check_seen. */
        atomic_int self_check_pid;
        atomic_bool self_check_seen;
        int self_check_fd;              /* eventfd: the marks thread runs a check when readable */
        pthread_mutex_t self_check_run_lock;    /* one check at a time */
        pthread_mutex_t self_check_lock;        /* self_check */
        RtpSelfCheck self_check;
};

uint64_t rtp_now_usec(void);            /* CLOCK_MONOTONIC */
int rtp_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

/* Starts the reader, the watchdog and the workers. */
int rtp_events_start(Rtp *r);
/* Stops them: the reader first, then every pending event is answered allow, the group is
 * released (the kernel allows what was never read), then the rest is joined. */
void rtp_events_stop(Rtp *r);
/* Wakes the watchdog so it re-reads the timeout. */
void rtp_events_timeout_changed(Rtp *r);
/* Removes every ignore mark, for a new generation (or when there are too many). */
void rtp_ignore_marks_flush(Rtp *r, uint64_t generation);
void rtp_pending_detection_free(RtpPendingDetection *p);
void rtp_detections_free(Rtp *r);

/* ---- marks (rtp-marks.c) ------------------------------------------------------------------- */

/* Whether a mount of the table is to be marked under snapshot s. */
bool rtp_mount_is_selected(const RtpSnapshot *s, const Mount *m);
/* Brings the marks in line with s and the mount table mounts[0..n): marks what is selected
 * (again: marking is idempotent, and a mount id may have been reused since the last look),
 * unmarks what was marked and is no longer selected, publishes the list. Called with
 * Rtp.sync_lock held. Returns whether the list of marked mounts differs from the one before. */
bool rtp_marks_apply_locked(Rtp *r, const RtpSnapshot *s, const Mount *mounts, size_t n);
/* Whether going from snapshot old to s leaves the mount selection as it is, so that the mount
 * table need not be read nor the marks touched: the same mount list, unmonitored types and
 * noexec policy, and no known mount point (marked, or unmarked for an exclusion) whose coverage
 * by a folder exclusion changes. Called with Rtp.sync_lock held. */
bool rtp_marks_unaffected_locked(Rtp *r, const RtpSnapshot *old, const RtpSnapshot *s);
/* Reads the mount table and applies it with the current snapshot, under Rtp.sync_lock.
 * Returns 1 when the set of marked mounts changed, 0 when not, or a negative errno (the marks
 * stay as they were). */
int rtp_marks_sync(Rtp *r);
/* On the marks thread: brings the marks in line with the current snapshot for
 * rtp_reconfigure(), publishes the result in Rtp.reconfigure_state and wakes the main loop.
 * Returns whether a self-check has something new to prove. */
bool rtp_marks_reconfigure(Rtp *r);
int rtp_marks_start(Rtp *r);            /* the thread following mount changes */
void rtp_marks_stop(Rtp *r);            /* joins it (after stop_fd was written) */
void rtp_marks_free(Rtp *r);

/* ---- the self-check (rtp-self-check.c) ----------------------------------------------------- */

/* Probes now and publishes the result (on the calling thread; waits for the probe, at most a
 * few seconds). */
void rtp_self_check_run(Rtp *r);
/* Asks the marks thread to run a check soon. */
void rtp_self_check_request(Rtp *r);

/* ---- processes and statistics (rtp-stats.c) ------------------------------------------------ */

/* What is known of the process behind an event, read from /proc lazily and at most once. */
typedef struct RtpProcess {
        pid_t pid;
        bool comm_read, exe_read;
        char comm[17];                  /* "" when unknown */
        char exe[PATH_MAX];             /* "" when unknown */
} RtpProcess;

#define RTP_PROCESS_INIT(p) { .pid = (p) }

/* The process name (comm), or NULL when it cannot be read. */
const char *rtp_process_comm(RtpProcess *p);
/* The executable path (/proc/<pid>/exe), or NULL. */
const char *rtp_process_exe(RtpProcess *p);

int rtp_stats_new(RtpStats **ret);
RtpStats *rtp_stats_free(RtpStats *s);
/* Adds one scan of scan_ns nanoseconds to the process's counters, creating its entry (reading
 * its name and executable outside the lock) when it has none. */
void rtp_stats_record(RtpStats *s, RtpProcess *p, uint64_t scan_ns);
void rtp_stats_clear(RtpStats *s);
int rtp_stats_snapshot(RtpStats *s, RtpProcessStats **ret, size_t *ret_n);
