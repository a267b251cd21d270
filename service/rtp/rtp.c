/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Real-time protection: the Rtp object's life (create, reconfigure, free), its configuration
 * snapshots and what the main thread reads back (counters, detections, statistics).
 *
 * Owns the Rtp allocation, its fds (fanotify group, eventfds, mountinfo) and the snapshot
 * pointer, which it swaps under config_lock. It starts and stops the threads through
 * rtp-events.c and rtp-marks.c and must not touch their state (queue, workers, marks) itself.
 * Everything here runs on the daemon's main thread, except rtp_snapshot_get/ref/unref, which
 * any thread calls. rtp_reconfigure() swaps the snapshot and leaves every step that may wait on
 * a mount to the marks thread (rtp-marks.c), which reports back through notify_fd.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rtp/rtp-internal.h"
#include "util/strv.h"

uint64_t rtp_now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

int rtp_thread_create(pthread_t *t, void *(*fn)(void *), void *arg) {
        sigset_t all, old;
        int r;

        /* Threads must not take the daemon's signals: those go to the main loop's signalfd. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(t, NULL, fn, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return r;
}

/* ---- snapshots ---- */

RtpSnapshot *rtp_snapshot_ref(RtpSnapshot *s) {
        if (s)
                atomic_fetch_add(&s->n_ref, 1);
        return s;
}

RtpSnapshot *rtp_snapshot_unref(RtpSnapshot *s) {
        if (!s || atomic_fetch_sub(&s->n_ref, 1) != 1)
                return NULL;
        engine_rules_unref(s->rules);
        exclusion_set_unref(s->exclusions);
        strv_free(s->ignored_types);
        strv_free(s->allowed_threats);
        strv_free(s->audit_types);
        strv_free(s->mounts);
        strv_free(s->unmonitored_filesystems);
        free(s->self_check_dir);
        restored_set_unref(s->restored);
        free(s);
        return NULL;
}

RtpSnapshot *rtp_snapshot_get(Rtp *r) {
        RtpSnapshot *s;

        pthread_mutex_lock(&r->config_lock);
        s = rtp_snapshot_ref(r->snapshot);
        pthread_mutex_unlock(&r->config_lock);
        return s;
}

/* A copy of l, where NULL stays NULL; false on OOM. */
static bool strv_copy_nullable(char * const *l, char ***ret) {
        *ret = l ? strv_copy(l) : NULL;
        return !l || *ret;
}

static int rtp_snapshot_new(const RtpConfig *c, RtpSnapshot **ret) {
        _cleanup_(rtp_snapshot_unrefp) RtpSnapshot *s = NULL;

        if (!c || !c->rules)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        atomic_init(&s->n_ref, 1);
        s->block = c->block;
        s->rules = engine_rules_ref(c->rules);
        s->generation = c->generation;
        s->exclusions = exclusion_set_ref(c->exclusions);
        s->n_exclusions_epp = exclusion_set_size(c->exclusions, EXCLUSION_SCOPE_EPP);
        s->n_exclusions_global = exclusion_set_size(c->exclusions, EXCLUSION_SCOPE_GLOBAL);
        s->cache = c->cache;
        s->mute_noexec = c->mute_noexec;
        s->statistics = c->statistics;
        s->timeout_ms = c->timeout_ms ?: RTP_TIMEOUT_MS_DEFAULT;
        s->self_check_pid = c->self_check_pid;
        if (c->self_check_dir && !(s->self_check_dir = strdup(c->self_check_dir)))
                return -ENOMEM;
        if (!strv_copy_nullable(c->engine_options.ignored_types, &s->ignored_types) ||
            !strv_copy_nullable(c->allowed_threats, &s->allowed_threats) ||
            !strv_copy_nullable(c->audit_types, &s->audit_types) ||
            !strv_copy_nullable(c->mounts, &s->mounts) ||
            !strv_copy_nullable(c->unmonitored_filesystems, &s->unmonitored_filesystems))
                return -ENOMEM;
        s->engine_options = c->engine_options;
        s->engine_options.ignored_types = s->ignored_types;
        s->restored = restored_set_ref(c->restored);
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- the object ---- */

/* How many events may wait for a worker. Each holds an fd, and an event whose fd the kernel
 * cannot create is denied, not allowed: so the queue is sized against RLIMIT_NOFILE, whose soft
 * limit is raised towards the hard one when it is too low for RTP_QUEUE_MAX (systemd starts
 * services with a soft limit of 1024). */
static int rtp_queue_capacity(unsigned n_workers, size_t *ret) {
        rlim_t wanted = RTP_QUEUE_MAX + n_workers + 2 * RTP_FD_RESERVE;
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return negative_errno();
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted) {
                struct rlimit raised = rl;

                raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? wanted : MIN(rl.rlim_max, wanted);
                if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0)
                        rl = raised;
        }
        if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= wanted)
                *ret = RTP_QUEUE_MAX;
        else if (rl.rlim_cur < RTP_QUEUE_MIN + n_workers + 2 * RTP_FD_RESERVE)
                return -EMFILE;
        else
                *ret = rl.rlim_cur - n_workers - 2 * RTP_FD_RESERVE;
        return 0;
}

/* Half of fs.fanotify.max_user_marks: the rest stays for mount marks and other fanotify users
 * of root. */
static unsigned ignore_marks_limit(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/sys/fs/fanotify/max_user_marks", "re");
        unsigned long v = 0;

        if (!f || fscanf(f, "%lu", &v) != 1)
                return RTP_IGNORE_MARKS_MIN;
        return (unsigned) MIN(MAX(v / 2, (unsigned long) RTP_IGNORE_MARKS_MIN),
                              (unsigned long) RTP_IGNORE_MARKS_MAX);
}

static Rtp *rtp_alloc(unsigned n_workers) {
        Rtp *r = calloc(1, sizeof(*r));
        pthread_condattr_t attr;

        if (!r)
                return NULL;
        r->fanotify_fd = r->stop_fd = r->notify_fd = r->mountinfo_fd = -EBADF;
        r->placeholder_fd = r->self_check_fd = r->reconfigure_fd = -EBADF;
        r->self_pid = getpid();
        pthread_mutex_init(&r->config_lock, NULL);
        pthread_mutex_init(&r->reconfigure_lock, NULL);
        pthread_mutex_init(&r->lock, NULL);
        pthread_mutex_init(&r->detections_lock, NULL);
        pthread_mutex_init(&r->sync_lock, NULL);
        pthread_mutex_init(&r->marks_lock, NULL);
        pthread_mutex_init(&r->self_check_run_lock, NULL);
        pthread_mutex_init(&r->self_check_lock, NULL);
        pthread_rwlock_init(&r->ignore_lock, NULL);
        /* The watchdog sleeps until a deadline on the monotonic clock. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&r->watchdog_cond, &attr);
        pthread_cond_init(&r->work_cond, &attr);
        pthread_condattr_destroy(&attr);
        r->detections_tail = &r->detections;
        atomic_init(&r->ignore_evictable, true);
        r->ignore_marks_limit = ignore_marks_limit();
        r->n_workers = n_workers;
        r->workers = calloc(n_workers, sizeof(RtpWorker));
        if (!r->workers)
                return mfree(r);
        return r;
}

static int rtp_open_fds(Rtp *r) {
        r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r->self_check_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r->reconfigure_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (r->stop_fd < 0 || r->notify_fd < 0 || r->self_check_fd < 0 || r->reconfigure_fd < 0)
                return negative_errno();
        /* Opened before the first read of the table: a mount appearing in between still makes
         * the first poll() report POLLPRI. */
        r->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (r->mountinfo_fd < 0)
                return negative_errno();
        r->placeholder_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (r->placeholder_fd < 0)
                return negative_errno();

        /* A queue of the kernel's default size (no FAN_UNLIMITED_QUEUE): the reader drains it
         * at once, and should it ever fill, the kernel allows the events it cannot queue and
         * reports FAN_Q_OVERFLOW, which is counted. Event fds are O_NONBLOCK so that the
         * kernel's open of a FIFO for us never waits for a writer. */
        r->fanotify_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
                                       O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
        if (r->fanotify_fd < 0)
                return negative_errno();
        return 0;
}

int rtp_new(const RtpConfig *config, Rtp **ret) {
        _cleanup_(rtp_freep) Rtp *r = NULL;
        RtpSnapshot *s = NULL;
        unsigned n_workers;
        int k;

        if (!config || !config->rules || !ret)
                return -EINVAL;
        n_workers = config->n_workers ?: RTP_WORKERS_DEFAULT;
        if (n_workers > RTP_WORKERS_MAX)
                return -EINVAL;
        r = rtp_alloc(n_workers);
        if (!r)
                return -ENOMEM;
        k = rtp_queue_capacity(n_workers, &r->queue_capacity);
        if (k < 0)
                return k;
        r->queue = calloc(r->queue_capacity, sizeof(RtpEvent));
        if (!r->queue)
                return -ENOMEM;
        k = rtp_snapshot_new(config, &s);
        if (k < 0)
                return k;
        r->snapshot = s;
        atomic_store(&r->timeout_ms, s->timeout_ms);
        r->ignore_generation = s->generation;
        k = rtp_stats_new(&r->stats);
        if (k < 0)
                return k;
        k = rtp_open_fds(r);
        if (k < 0)
                return k;

        /* Threads first, marks second: a marked mount must never wait for a reader. */
        k = rtp_events_start(r);
        if (k < 0)
                return k;
        k = rtp_marks_sync(r);
        if (k < 0)
                return k;
        /* A new Rtp has a verdict on itself before anyone asks (the marks thread is not
         * running yet, so nothing re-marks underneath). */
        rtp_self_check_run(r);
        k = rtp_marks_start(r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int rtp_reconfigure(Rtp *r, const RtpConfig *config, uint64_t *ret_sequence) {
        _cleanup_(rtp_snapshot_unrefp) RtpSnapshot *old = NULL;
        RtpSnapshot *s = NULL;
        uint64_t sequence;
        int k;

        if (!r || !config)
                return -EINVAL;
        k = rtp_snapshot_new(config, &s);
        if (k < 0)
                return k;

        /* The decision path takes the new snapshot now: a new exclusion or mode must not wait
         * for a mount that does not answer. The sequence is set before the snapshot is
         * published, so that the marks thread reads both together. */
        pthread_mutex_lock(&r->config_lock);
        sequence = s->sequence = ++r->reconfigure_requested;
        old = r->snapshot;
        r->snapshot = s;
        pthread_mutex_unlock(&r->config_lock);

        if (old->timeout_ms != s->timeout_ms) {
                atomic_store(&r->timeout_ms, s->timeout_ms);
                rtp_events_timeout_changed(r);
        }
        /* Here, not on the marks thread: the flush touches no mount (it only drops the group's
         * inode marks), and a file judged clean by the old definitions must not keep its ignore
         * mark while the marks thread waits on a stalled mount. */
        if (old->generation != s->generation)
                rtp_ignore_marks_flush(r, s->generation);
        if (!s->statistics)
                rtp_stats_clear(r->stats);
        /* The marks thread applies the newest snapshot whenever it gets to it: several requests
         * in a row are one wake-up and one application. */
        if (eventfd_write(r->reconfigure_fd, 1) < 0)
                return negative_errno();
        if (ret_sequence)
                *ret_sequence = sequence;
        return 0;
}

void rtp_get_reconfigure_state(Rtp *r, RtpReconfigureState *ret) {
        pthread_mutex_lock(&r->reconfigure_lock);
        *ret = r->reconfigure_state;
        pthread_mutex_unlock(&r->reconfigure_lock);
        pthread_mutex_lock(&r->config_lock);
        ret->requested = r->reconfigure_requested;
        pthread_mutex_unlock(&r->config_lock);
}

Rtp *rtp_free(Rtp *r) {
        if (!r)
                return NULL;
        /* Wake every thread that polls: the reader and the marks thread. */
        atomic_store(&r->stop_requested, true);
        if (r->stop_fd >= 0)
                (void) !eventfd_write(r->stop_fd, 1);
        rtp_marks_stop(r);
        rtp_events_stop(r);

        rtp_marks_free(r);
        rtp_detections_free(r);
        rtp_stats_free(r->stats);
        rtp_snapshot_unref(r->snapshot);
        closep(&r->fanotify_fd);
        closep(&r->stop_fd);
        closep(&r->notify_fd);
        closep(&r->mountinfo_fd);
        closep(&r->placeholder_fd);
        closep(&r->self_check_fd);
        closep(&r->reconfigure_fd);
        pthread_cond_destroy(&r->work_cond);
        pthread_cond_destroy(&r->watchdog_cond);
        pthread_rwlock_destroy(&r->ignore_lock);
        pthread_mutex_destroy(&r->marks_lock);
        pthread_mutex_destroy(&r->self_check_lock);
        pthread_mutex_destroy(&r->self_check_run_lock);
        pthread_mutex_destroy(&r->sync_lock);
        pthread_mutex_destroy(&r->detections_lock);
        pthread_mutex_destroy(&r->lock);
        pthread_mutex_destroy(&r->config_lock);
        pthread_mutex_destroy(&r->reconfigure_lock);
        free(r->queue);
        free(r->workers);
        return mfree(r);
}

int rtp_get_fd(Rtp *r) {
        return r->notify_fd;
}

void rtp_pending_detection_free(RtpPendingDetection *p) {
        free(p->d.path);
        free(p->d.member);
        free(p->d.threat_name);
        free(p->d.threat_type);
        free(p->d.sha256);
        free(p->d.process_name);
        free(p);
}

void rtp_detections_free(Rtp *r) {
        while (r->detections) {
                RtpPendingDetection *next = r->detections->next;

                rtp_pending_detection_free(r->detections);
                r->detections = next;
        }
        r->detections_tail = &r->detections;
        r->n_detections = 0;
}

int rtp_drain(Rtp *r, void (*on_detection)(const RtpDetection *d, void *userdata),
              void *userdata) {
        RtpPendingDetection *list;
        eventfd_t v;
        int n = 0;

        (void) eventfd_read(r->notify_fd, &v);
        pthread_mutex_lock(&r->detections_lock);
        list = r->detections;
        r->detections = NULL;
        r->detections_tail = &r->detections;
        r->n_detections = 0;
        pthread_mutex_unlock(&r->detections_lock);

        while (list) {
                RtpPendingDetection *next = list->next;

                if (on_detection)
                        on_detection(&list->d, userdata);
                rtp_pending_detection_free(list);
                list = next;
                n++;
        }
        return n;
}

void rtp_get_counters(Rtp *r, RtpCounters *ret) {
        RtpAtomicCounters *c = &r->counters;

        *ret = (RtpCounters) {
                .events = atomic_load(&c->events),
                .allowed = atomic_load(&c->allowed),
                .denied = atomic_load(&c->denied),
                .scanned = atomic_load(&c->scanned),
                .cached = atomic_load(&c->cached),
                .excluded = atomic_load(&c->excluded),
                .self = atomic_load(&c->self),
                .timeouts = atomic_load(&c->timeouts),
                .overloads = atomic_load(&c->overloads),
                .errors = atomic_load(&c->errors),
                .overflows = atomic_load(&c->overflows),
                .detections = atomic_load(&c->detections),
                .marked_mounts = atomic_load(&r->n_marked),
                .max_latency_us = atomic_load(&c->max_latency_us),
                .mark_syncs = atomic_load(&c->mark_syncs),
                .self_checks = atomic_load(&c->self_checks),
                .ignore_flushes = atomic_load(&c->ignore_flushes),
                .reconfigurations = atomic_load(&c->reconfigurations),
        };
}

int rtp_get_statistics(Rtp *r, RtpProcessStats **ret, size_t *ret_n) {
        return rtp_stats_snapshot(r->stats, ret, ret_n);
}

void rtp_process_stats_free(RtpProcessStats *stats, size_t n) {
        for (size_t i = 0; stats && i < n; i++) {
                free(stats[i].name);
                free(stats[i].path);
        }
        free(stats);
}

bool rtp_available(void) {
        int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

bool rtp_fstype_is_monitored(const char *fstype) {
        return mounts_fstype_is_monitored(fstype, NULL);
}
