/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Real-time protection: a fanotify permission group (FAN_CLASS_CONTENT) marking the mounts to
 * watch for FAN_OPEN_PERM and FAN_OPEN_EXEC_PERM, a reader thread that never blocks and answers
 * first, a bounded queue, scan workers with their own EngineScanner, and a watchdog that answers
 * "allow" for any event still unanswered at its deadline. shared/reference/mde-behaviour.md §2,
 * §5, §11; README.md beside this file has the design and the numbers.
 *
 * Never hang: every permission event gets exactly one answer, within the configured timeout;
 * timeouts, a full queue and internal errors answer allow and are counted; events caused by the
 * daemon's own process are allowed at once; FAN_Q_OVERFLOW is counted. Closing the group (or the
 * daemon dying) makes the kernel allow whatever is pending.
 *
 * Fast: clean verdicts put an ignore mark on the inode (the kernel drops it when the file is
 * modified) and go into the shared VerdictCache keyed by identity and definitions generation; a
 * new generation flushes the ignore marks.
 *
 * Threads: rtp_new() starts them; everything in this header is called from the daemon's main
 * thread, which owns the Rtp. The Rtp owns its threads, the fanotify fd and a snapshot of its
 * configuration, swapped whole by rtp_reconfigure() (workers finish on the snapshot they hold).
 */
#pragma once

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "exclusions/exclusions.h"
#include "restored/restored.h"
#include "util/macro.h"
#include "verdict/verdict.h"

typedef struct Rtp Rtp;

#define RTP_TIMEOUT_MS_DEFAULT 3000U    /* per permission event, then allow */
#define RTP_QUEUE_MAX 4096U             /* events waiting for a worker, then allow */
#define RTP_WORKERS_DEFAULT 2U

typedef struct RtpConfig {
        bool block;                     /* true: real_time (deny); false: passive (report) */
        EngineRules *rules;             /* required; the Rtp takes its own reference */
        uint64_t generation;            /* definitions generation (cache keys) */
        EngineScanOptions engine_options;       /* ignored_types is copied */
        ExclusionSet *exclusions;       /* NULL = none; reference taken. EPP entries: allow
                                         * without a scan; GLOBAL entries: allow at once; a
                                         * folder entry covering a mount point: mount unmarked */
        char * const *allowed_threats;  /* threat names never denied (reported as allowed) */
        char * const *audit_types;      /* threat types reported, never denied */
        RestoredSet *restored;          /* files restored lately, left alone while unchanged
                                         * and in their grace; reference taken; NULL = none */
        VerdictCache *cache;            /* shared, must outlive the Rtp; NULL = none */
        /* Which mounts: NULL = every mount of a monitored type (rtp_fstype_is_monitored())
         * except those in unmonitored_filesystems; else exactly these mount points
         * ($MDATP_RTP_MOUNTS in the daemon). Mounts appearing or going away later are followed
         * either way (the list names mount points, not moments). */
        char * const *mounts;
        char * const *unmonitored_filesystems;  /* fs type names, case-insensitive; "nfs" and
                                                 * "fuse" name their families */
        bool mute_noexec;               /* nonExecMountPolicy: mute => skip noexec mounts */
        bool statistics;                /* keep per-process counters */
        unsigned timeout_ms;            /* 0 = RTP_TIMEOUT_MS_DEFAULT */
        unsigned n_workers;             /* 0 = RTP_WORKERS_DEFAULT; fixed at rtp_new() */
        /* The self-check (rtp_get_self_check()): whose mount namespace it opens a file from
         * (0 = PID 1, the machine's), and the directory it prefers for that file (the state
         * directory; NULL = marked mount points only). */
        pid_t self_check_pid;
        const char *self_check_dir;
} RtpConfig;

/* Creates the fanotify group, marks the mounts and starts the threads. Each queued event holds
 * an fd, so the queue is sized against RLIMIT_NOFILE, whose soft limit is raised towards the
 * hard one when needed (README.md). Returns 0, -EPERM (no CAP_SYS_ADMIN), -ENOSYS/-EINVAL
 * (kernel without permission events, or no rules), -EMFILE (RLIMIT_NOFILE too low for even a
 * minimal queue), -ENOMEM, ... */
int rtp_new(const RtpConfig *config, Rtp **ret);

/* Swaps in a new configuration: mode, rules, exclusions, policies, mounts; n_workers is
 * ignored. The decision path uses the new snapshot at once (workers finish on the one they
 * hold), and a new definitions generation flushes the ignore marks at once (the flush touches no
 * mount). Everything that may wait on a mount (reading the mount table, marking and unmarking,
 * the self-check) is handed to the marks thread, so this returns without waiting for any
 * filesystem: the marks thread reports through rtp_get_fd() and rtp_get_reconfigure_state()
 * when it has applied the newest configuration. Requests made while one is being applied
 * coalesce: only the newest is applied next. *ret_sequence (optional) gets the number of this
 * request (1, 2, ... per Rtp). Returns 0 or a negative errno (then nothing changed). */
int rtp_reconfigure(Rtp *r, const RtpConfig *config, uint64_t *ret_sequence);

/* Where the marks thread is with the requests of rtp_reconfigure(). A failed application keeps
 * the previous marks (the decision path still has the new snapshot); a later request, or a
 * change of the mount table, tries again. */
typedef struct RtpReconfigureState {
        uint64_t requested;             /* sequence of the newest rtp_reconfigure() */
        uint64_t applied;               /* newest sequence the marks thread has handled */
        int error;                      /* 0, or why handling `applied` failed (-errno) */
        uint64_t failures;              /* handled requests that failed, ever */
} RtpReconfigureState;
/* Short lock only, never held by the marks thread across a system call on a mount. */
void rtp_get_reconfigure_state(Rtp *r, RtpReconfigureState *ret);

/* Stops the threads (pending events are answered allow), closes the group. NULL-safe. */
Rtp *rtp_free(Rtp *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Rtp *, rtp_free);

/* An fd (eventfd) that becomes readable when detections wait for rtp_drain(), when the
 * self-check's state changes and when the marks thread has handled a reconfiguration. */
int rtp_get_fd(Rtp *r);

typedef struct RtpDetection {
        char *path;                     /* of the file, from the event's fd */
        char *member;                   /* inside an archive: the member chain, a label only;
                                         * NULL: the file itself */
        uint64_t dev, ino;              /* the identity of the file that was scanned */
        char *threat_name;
        char *threat_type;
        char *sha256;                   /* "" when not computed */
        pid_t pid;                      /* who opened it */
        char *process_name;             /* comm, or "unknown" */
        bool denied;                    /* the open was refused */
} RtpDetection;

/* Hands every waiting detection to on_detection on the caller's thread (it copies what it
 * keeps). Returns the number handed over. */
int rtp_drain(Rtp *r, void (*on_detection)(const RtpDetection *d, void *userdata),
              void *userdata);

typedef struct RtpCounters {
        uint64_t events;                /* permission events read */
        uint64_t allowed;
        uint64_t denied;
        uint64_t scanned;               /* handed to the engine */
        uint64_t cached;                /* allowed from the verdict cache */
        uint64_t excluded;              /* allowed by an exclusion or a restored-file grace */
        uint64_t self;                  /* the daemon's own accesses, allowed at once */
        uint64_t timeouts;              /* answered allow at the deadline */
        uint64_t overloads;             /* answered allow because the queue was full */
        uint64_t errors;                /* answered allow after an internal or scan error */
        uint64_t overflows;             /* FAN_Q_OVERFLOW seen */
        uint64_t detections;
        uint64_t marked_mounts;         /* mounts marked now */
        uint64_t max_latency_us;        /* longest time from read to answer */
        uint64_t mark_syncs;            /* times the marks were brought in line with the table
                                         * (a re-mark: the mount table read and every selected
                                         * mount marked again) */
        uint64_t self_checks;           /* self-checks run */
        uint64_t ignore_flushes;        /* times every ignore mark was removed */
        uint64_t reconfigurations;      /* rtp_reconfigure() requests the marks thread handled
                                         * (coalesced ones count once) */
} RtpCounters;
void rtp_get_counters(Rtp *r, RtpCounters *ret);

typedef struct RtpProcessStats {
        pid_t pid;
        char *name;                     /* comm */
        char *path;                     /* /proc/<pid>/exe, or NULL */
        uint64_t files_scanned;
        uint64_t scan_time_ns;
} RtpProcessStats;

/* Per-process counters since statistics were enabled (empty when disabled): *ret is an array
 * of *ret_n entries the caller frees with rtp_process_stats_free(). */
int rtp_get_statistics(Rtp *r, RtpProcessStats **ret, size_t *ret_n);
void rtp_process_stats_free(RtpProcessStats *stats, size_t n);

/* The mount points marked now (caller frees the strv). Short lock only. */
int rtp_get_marked_mounts(Rtp *r, char ***ret);

/* The self-check proves that the marks see opens made in the reference mount namespace (PID
 * 1's): a forked child joins it and creates a probe file in a marked directory, and the reader
 * must report that open. It runs in rtp_new() (so a new Rtp has a result), then after every
 * re-mark, in the background; the previous result stands until the next one is known. A change
 * of state makes rtp_get_fd() readable, like a detection does. */
typedef enum RtpSelfCheckState {
        RTP_SELF_CHECK_PENDING,
        RTP_SELF_CHECK_PASSED,
        RTP_SELF_CHECK_FAILED,
} RtpSelfCheckState;

typedef struct RtpSelfCheck {
        RtpSelfCheckState state;
        char message[PATH_MAX + 256];   /* what was seen, or why it failed */
} RtpSelfCheck;
void rtp_get_self_check(Rtp *r, RtpSelfCheck *ret);

/* Whether real-time protection can run here: a fanotify permission group can be created. */
bool rtp_available(void);

/* Whether a filesystem type is one real-time protection marks by default. */
bool rtp_fstype_is_monitored(const char *fstype);

/* Other processes holding fanotify groups with mount or filesystem marks, from
 * /proc/<pid>/fdinfo: "<command line or comm> (pid <n>)" each, at most 10, excluding
 * exclude_pid. Walks /proc now, on the caller's thread (an open of the fdinfo of a process stuck
 * in the kernel can wait). Returns 0 and a strv (possibly empty) or a negative errno. */
int rtp_conflicting_applications(pid_t exclude_pid, char ***ret);

#define RTP_CONFLICTS_MAX_AGE_USEC (5U * 1000000U)

/* The same list for callers that must not wait (the daemon's health): the result of a walk at
 * most max_age_usec old (0: RTP_CONFLICTS_MAX_AGE_USEC). When it is older, a walk starts on a
 * thread of its own and the previous result is returned meanwhile; the very first call waits
 * for the first walk at most wait_ms (then returns an empty list). One process-wide cache,
 * for one exclude_pid at a time. Returns 0 and a strv, or a negative errno. */
int rtp_conflicting_applications_cached(pid_t exclude_pid, uint64_t max_age_usec,
                                        unsigned wait_ms, char ***ret);
