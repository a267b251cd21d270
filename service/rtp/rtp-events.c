/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Permission events from read to answer: the reader thread, the bounded queue, the workers that
 * decide, the watchdog that answers whatever is late, ignore marks and the detections handed to
 * the main thread.
 *
 * Who owns what:
 *   - The reader owns an event from read() until it is queued (or answered at once: our own
 *     process, a full queue). It never scans, never reads /proc, never logs, and takes Rtp.lock
 *     only to append to the queue.
 *   - The queue owns queued events; a worker owns the one it popped (Rtp.workers[i].current)
 *     and closes its fd when done. Rtp.lock guards the queue, the workers' current events and
 *     every `answered` flag: the one who flips `answered` writes the one response, under the
 *     lock, so an fd is never answered twice nor answered after its owner closed it.
 *   - The watchdog answers allow for any event, queued or being scanned, older than the
 *     timeout; it pops late queued events itself (they are never scanned) and leaves scanned
 *     ones to their worker, who carries on to record the verdict but no longer answers.
 * Nothing here touches the marks list, the statistics table's internals or the snapshot pointer.
 * No thread here logs: journald may itself open a file we are deciding on. Outcomes are counted.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rtp/rtp-internal.h"
#include "util/strv.h"

/* One read() takes up to this many bytes of events: about 340, each carrying an fd. */
#define RTP_READ_BUFFER 8192

static void counter_inc(atomic_uint_fast64_t *c) {
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t now_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

static uint64_t realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* ---- answers ---- */

/* Writes the response for an event that nobody else can answer any more. Counted before the
 * write, under `reason` too when given (timeouts, errors, ...): the opener may look at the
 * counters as soon as its open returns. */
static void response_write(Rtp *r, const RtpEvent *ev, uint32_t response,
                           atomic_uint_fast64_t *reason) {
        struct fanotify_response resp = { .fd = ev->fd, .response = response };
        atomic_uint_fast64_t *max = &r->counters.max_latency_us;
        uint64_t latency = rtp_now_usec() - ev->read_usec, seen;
        ssize_t n;

        if (reason)
                counter_inc(reason);
        counter_inc(response == FAN_DENY ? &r->counters.denied : &r->counters.allowed);
        seen = atomic_load_explicit(max, memory_order_relaxed);
        while (latency > seen &&
               !atomic_compare_exchange_weak_explicit(max, &seen, latency, memory_order_relaxed,
                                                      memory_order_relaxed))
                ;

        /* ENOENT: the kernel no longer waits for this answer (the opener was killed). */
        do
                n = write(r->fanotify_fd, &resp, sizeof(resp));
        while (n < 0 && errno == EINTR);
}

/* Answers ev unless somebody already did. Called with Rtp.lock held. True when this call
 * answered it. */
static bool event_answer_locked(Rtp *r, RtpEvent *ev, uint32_t response,
                                atomic_uint_fast64_t *reason) {
        if (ev->answered || r->stopping)
                return false;
        ev->answered = true;
        response_write(r, ev, response, reason);
        return true;
}

/* The worker's answer for its current event; false when the watchdog was first. */
static bool worker_answer(RtpWorker *w, uint32_t response) {
        Rtp *r = w->rtp;
        bool answered;

        pthread_mutex_lock(&r->lock);
        answered = event_answer_locked(r, &w->current, response, NULL);
        pthread_mutex_unlock(&r->lock);
        return answered;
}

/* ---- the reader ---- */

/* Queues ev for a worker; false when the queue is full or we are stopping. */
static bool queue_push(Rtp *r, const RtpEvent *ev) {
        pthread_mutex_lock(&r->lock);
        if (r->stopping || r->queue_count == r->queue_capacity) {
                pthread_mutex_unlock(&r->lock);
                return false;
        }
        r->queue[(r->queue_head + r->queue_count) % r->queue_capacity] = *ev;
        r->queue_count++;
        if (r->n_idle_workers > 0)
                pthread_cond_signal(&r->work_cond);
        if (r->watchdog_idle)
                pthread_cond_signal(&r->watchdog_cond);
        pthread_mutex_unlock(&r->lock);
        return true;
}

static void reader_handle(Rtp *r, const struct fanotify_event_metadata *m, uint64_t now) {
        RtpEvent ev = { .fd = m->fd, .pid = m->pid, .mask = m->mask, .read_usec = now };

        if (m->vers != FANOTIFY_METADATA_VERSION)
                /* fd, pid and mask have kept their places in every version: carry on. */
                counter_inc(&r->counters.errors);
        if (m->mask & FAN_Q_OVERFLOW)
                counter_inc(&r->counters.overflows);
        if (m->fd < 0)
                return;
        if (!(m->mask & RTP_EVENT_MASK)) {
                close(m->fd);
                return;
        }
        counter_inc(&r->counters.events);

        /* Our own accesses (the workers' /proc reads, the main loop's files) are never held:
         * waiting on ourselves is the classic fanotify deadlock. */
        /* The self-check's probe: proof enough that the marks see it; never held. */
        if (m->pid == atomic_load(&r->self_check_pid)) {
                atomic_store(&r->self_check_seen, true);
                response_write(r, &ev, FAN_ALLOW, &r->counters.self);
                close(m->fd);
                return;
        }
        if (m->pid == r->self_pid) {
                response_write(r, &ev, FAN_ALLOW, &r->counters.self);
                close(m->fd);
                return;
        }
        /* From here the queue owns the fd; when it is full, we answer at once. */
        if (!queue_push(r, &ev)) {
                response_write(r, &ev, FAN_ALLOW, &r->counters.overloads);
                close(m->fd);
        }
}

/* Reads and dispatches until the group has nothing more (FAN_NONBLOCK) or we are stopping. */
static void reader_drain(Rtp *r) {
        _Alignas(struct fanotify_event_metadata) char buf[RTP_READ_BUFFER];

        for (;;) {
                const struct fanotify_event_metadata *m;
                ssize_t n;
                uint64_t now;

                n = read(r->fanotify_fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* EAGAIN: drained. Anything else (EMFILE, ENFILE: the kernel could
                         * not make an event fd, and has denied that event) is counted. */
                        if (errno != EAGAIN)
                                counter_inc(&r->counters.errors);
                        return;
                }
                if (n == 0)
                        return;
                now = rtp_now_usec();
                for (m = (const void *) buf; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n))
                        reader_handle(r, m, now);
                if (atomic_load(&r->stop_requested))
                        return;
        }
}

static void *reader_main(void *userdata) {
        Rtp *r = userdata;
        struct pollfd fds[] = {
                { .fd = r->fanotify_fd, .events = POLLIN },
                { .fd = r->stop_fd, .events = POLLIN },
        };

        for (;;) {
                if (poll(fds, ELEMENTSOF(fds), -1) < 0) {
                        /* Only a stop ends the reader: events it does not read would wait
                         * for nobody (the watchdog only sees what was read). */
                        if (errno != EINTR) {
                                counter_inc(&r->counters.errors);
                                (void) usleep(1000);
                        }
                        continue;
                }
                if (fds[1].revents || atomic_load(&r->stop_requested))
                        break;
                if (fds[0].revents & POLLIN)
                        reader_drain(r);
        }
        return NULL;
}

/* ---- ignore marks ---- */

void rtp_ignore_marks_flush(Rtp *r, uint64_t generation) {
        pthread_rwlock_wrlock(&r->ignore_lock);
        r->ignore_generation = generation;
        /* FAN_MARK_FLUSH without FAN_MARK_MOUNT removes inode marks only: the mount marks
         * stay. */
        (void) fanotify_mark(r->fanotify_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
        atomic_store(&r->n_ignore_marks, 0);
        pthread_rwlock_unlock(&r->ignore_lock);
        atomic_fetch_add(&r->counters.ignore_flushes, 1);
}

/* Puts an ignore mark on the inode behind fd, so that its next opens raise no event until it
 * is modified (no FAN_MARK_IGNORED_SURV_MODIFY: the kernel clears the mark on write). Evictable
 * where the kernel can (5.19): the mark then does not pin the inode in memory. Nothing is added
 * for a verdict of a generation older than the last flush. */
static int ignore_mark_add(Rtp *r, const RtpSnapshot *s, int fd) {
        unsigned flags = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK;
        int k = -ESTALE;

        /* A flush in progress holds the lock for tens of milliseconds: skip the mark rather
         * than make the open being decided wait (the mark is only a shortcut). */
        if (pthread_rwlock_tryrdlock(&r->ignore_lock) != 0)
                return -EBUSY;
        if (s->generation == r->ignore_generation) {
                bool evictable = atomic_load(&r->ignore_evictable);

                k = fanotify_mark(r->fanotify_fd, flags | (evictable ? FAN_MARK_EVICTABLE : 0),
                                  RTP_EVENT_MASK, fd, NULL);
                if (k < 0 && errno == EINVAL && evictable) {
                        atomic_store(&r->ignore_evictable, false);
                        k = fanotify_mark(r->fanotify_fd, flags, RTP_EVENT_MASK, fd, NULL);
                }
                k = k < 0 ? negative_errno() : 0;
        }
        pthread_rwlock_unlock(&r->ignore_lock);

        /* Too many marks, ours or the user's (ENOSPC: max_user_marks): start over, but not
         * here: a flush of many marks takes tens of milliseconds, and the open being decided
         * would wait for it. worker_finish() flushes once the event is answered. */
        if (k == -ENOSPC ||
            (k == 0 && atomic_fetch_add(&r->n_ignore_marks, 1) + 1 >= r->ignore_marks_limit))
                atomic_store(&r->ignore_flush_wanted, true);
        return k;
}

static void ignore_mark_remove(Rtp *r, int fd) {
        /* Busy: a flush holds the lock, and it removes this mark too. */
        if (pthread_rwlock_tryrdlock(&r->ignore_lock) != 0)
                return;
        (void) fanotify_mark(r->fanotify_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK,
                             RTP_EVENT_MASK, fd, NULL);
        pthread_rwlock_unlock(&r->ignore_lock);
}

/* Marks the file clean: ignore mark first, then a second look at its identity. A write that
 * came after the mark clears it (the kernel does); one that came between our scan and the mark
 * shows in size, mtime or ctime, and then the mark goes and nothing is cached. True when the
 * file is still the one that was judged. */
static bool mark_clean(Rtp *r, const RtpSnapshot *s, int fd, const VerdictKey *judged) {
        struct stat st;
        VerdictKey now;
        int k;

        /* An empty file is mostly one being created or truncated for writing: its first write
         * would drop the mark at once, so it would only count against the limit. */
        k = judged->size > 0 ? ignore_mark_add(r, s, fd) : -ENODATA;
        if (fstat(fd, &st) < 0)
                return false;
        verdict_key_from_stat(&now, &st, s->generation);
        if (!verdict_key_same_file(&now, judged)) {
                if (k == 0)
                        ignore_mark_remove(r, fd);
                return false;
        }
        return true;
}

/* ---- detections ---- */

static void detection_push(Rtp *r, const EngineResult *res, RtpProcess *proc, bool denied) {
        const char *comm = rtp_process_comm(proc);
        RtpPendingDetection *p;

        counter_inc(&r->counters.detections);
        p = calloc(1, sizeof(*p));
        if (!p)
                return;
        p->d = (RtpDetection) {
                .path = strdup(res->path ?: ""),
                .member = res->member_path ? strdup(res->member_path) : NULL,
                .dev = res->dev,
                .ino = res->ino,
                .threat_name = strdup(res->threat_name ?: ""),
                .threat_type = strdup(res->threat_type ?: ""),
                .sha256 = strdup(res->sha256),
                .pid = proc->pid,
                .process_name = strdup(comm && comm[0] ? comm : "unknown"),
                .denied = denied,
        };
        if (!p->d.path || (res->member_path && !p->d.member) || !p->d.threat_name || !p->d.threat_type || !p->d.sha256 ||
            !p->d.process_name) {
                rtp_pending_detection_free(p);
                counter_inc(&r->counters.errors);
                return;
        }

        pthread_mutex_lock(&r->detections_lock);
        if (r->n_detections < RTP_DETECTIONS_MAX) {
                *r->detections_tail = TAKE_PTR(p);
                r->detections_tail = &(*r->detections_tail)->next;
                r->n_detections++;
        }
        pthread_mutex_unlock(&r->detections_lock);
        /* Still ours when the main thread is RTP_DETECTIONS_MAX behind: dropped, counted. */
        if (p)
                rtp_pending_detection_free(p);
        (void) eventfd_write(r->notify_fd, 1);
}

/* ---- the workers ---- */

/* The file's path from the event fd (as the kernel names it in our mount namespace). */
static const char *fd_path(int fd, char buf[static PATH_MAX]) {
        char link[64];
        ssize_t n;

        (void) snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, buf, PATH_MAX - 1);
        if (n <= 0 || buf[0] != '/')
                return NULL;
        buf[n] = '\0';
        return buf;
}

/* A restored file still in its grace period and unchanged since it was restored. */
static bool restored_match(const RtpSnapshot *s, const VerdictKey *k) {
        return restored_set_size(s->restored) > 0 &&
               restored_set_contains(s->restored, k, realtime_usec());
}

static bool exclusions_match(const ExclusionSet *set, unsigned scope, const char *path,
                             RtpProcess *proc) {
        const char *exe, *comm;

        if (path && exclusion_set_match_file(set, scope, path))
                return true;
        /* The executable's full name first (comm is cut at 15 bytes), then comm. */
        exe = rtp_process_exe(proc);
        if (exe && exclusion_set_match_process(set, scope, NULL, exe))
                return true;
        comm = rtp_process_comm(proc);
        return comm && comm[0] && exclusion_set_match_process(set, scope, comm, NULL);
}

static bool event_excluded(const RtpSnapshot *s, const char *path, RtpProcess *proc) {
        if (s->n_exclusions_global > 0 &&
            exclusions_match(s->exclusions, EXCLUSION_SCOPE_GLOBAL, path, proc))
                return true;
        return s->n_exclusions_epp > 0 &&
               exclusions_match(s->exclusions, EXCLUSION_SCOPE_EPP, path, proc);
}

static bool detection_is_denied(const RtpSnapshot *s, const EngineResult *res) {
        return s->block && !strv_contains(s->allowed_threats, res->threat_name) &&
               !strv_contains(s->audit_types, res->threat_type);
}

/* Scans the current event's file through its fd and answers by the verdict. */
static void worker_scan(RtpWorker *w, const RtpSnapshot *s, const char *path,
                        const VerdictKey *key, RtpProcess *proc) {
        Rtp *r = w->rtp;
        EngineResult res = ENGINE_RESULT_INIT;
        uint64_t start = now_ns();
        bool deny, answered;
        int k;

        k = engine_scan_fd(w->scanner, s->rules, w->current.fd, path, &s->engine_options, &res);
        if (k < 0) {
                counter_inc(&r->counters.errors);
                (void) worker_answer(w, FAN_ALLOW);
                return;
        }
        w->scanner_rules = s->rules;
        counter_inc(&r->counters.scanned);
        if (s->statistics)
                rtp_stats_record(r->stats, proc, now_ns() - start);

        switch (res.verdict) {
        case ENGINE_VERDICT_CLEAN:
                if (!(res.notes & ENGINE_NOTE_FILE_CHANGED) &&
                    mark_clean(r, s, w->current.fd, key) && s->cache)
                        verdict_cache_insert(s->cache, key);
                (void) worker_answer(w, FAN_ALLOW);
                break;
        case ENGINE_VERDICT_DETECTED:
                /* Who it was, read while the opener still waits for us: once answered it may
                 * exit at once (a denied open often ends the process). */
                (void) rtp_process_comm(proc);
                deny = detection_is_denied(s, &res);
                answered = worker_answer(w, deny ? FAN_DENY : FAN_ALLOW);
                detection_push(r, &res, proc, deny && answered);
                break;
        case ENGINE_VERDICT_ERROR:
                counter_inc(&r->counters.errors);
                _fallthrough_;
        default:
                (void) worker_answer(w, FAN_ALLOW);
                break;
        }
        engine_result_done(&res);
}

/* Decides the current event: the cheap ways out first (not a regular file, a restored file,
 * the verdict cache, exclusions), then a scan. */
static void worker_decide(RtpWorker *w, const RtpSnapshot *s) {
        Rtp *r = w->rtp;
        RtpProcess proc = RTP_PROCESS_INIT(w->current.pid);
        char buf[PATH_MAX];
        const char *path;
        struct stat st;
        VerdictKey key;

        if (fstat(w->current.fd, &st) < 0) {
                counter_inc(&r->counters.errors);
                (void) worker_answer(w, FAN_ALLOW);
                return;
        }
        if (!S_ISREG(st.st_mode)) {
                (void) worker_answer(w, FAN_ALLOW);
                return;
        }
        verdict_key_from_stat(&key, &st, s->generation);
        if (restored_match(s, &key)) {
                counter_inc(&r->counters.excluded);
                (void) worker_answer(w, FAN_ALLOW);
                return;
        }
        if (s->cache && verdict_cache_lookup(s->cache, &key)) {
                counter_inc(&r->counters.cached);
                (void) mark_clean(r, s, w->current.fd, &key);
                (void) worker_answer(w, FAN_ALLOW);
                return;
        }
        path = fd_path(w->current.fd, buf);
        if (event_excluded(s, path, &proc)) {
                counter_inc(&r->counters.excluded);
                (void) worker_answer(w, FAN_ALLOW);
                return;
        }
        worker_scan(w, s, path, &key, &proc);
}

/* Takes the next event into w->current. Returns 1, 0 when stopping, or -EAGAIN when the queue
 * is empty and may_sleep is false. */
static int worker_next(RtpWorker *w, bool may_sleep) {
        Rtp *r = w->rtp;

        pthread_mutex_lock(&r->lock);
        while (r->queue_count == 0 && !r->stopping) {
                if (!may_sleep) {
                        pthread_mutex_unlock(&r->lock);
                        return -EAGAIN;
                }
                r->n_idle_workers++;
                pthread_cond_wait(&r->work_cond, &r->lock);
                r->n_idle_workers--;
        }
        if (r->stopping) {
                pthread_mutex_unlock(&r->lock);
                return 0;
        }
        w->current = r->queue[r->queue_head];
        r->queue_head = (r->queue_head + 1) % r->queue_capacity;
        r->queue_count--;
        w->busy = true;
        pthread_mutex_unlock(&r->lock);
        return 1;
}

/* Ends the current event: answered allow if nothing answered it yet (no path may leave an
 * event hanging), then the fd is closed. */
static void worker_finish(RtpWorker *w) {
        Rtp *r = w->rtp;
        int fd;

        pthread_mutex_lock(&r->lock);
        (void) event_answer_locked(r, &w->current, FAN_ALLOW, &r->counters.errors);
        w->busy = false;
        fd = w->current.fd;
        w->current.fd = -EBADF;
        pthread_mutex_unlock(&r->lock);
        close(fd);
        if (atomic_exchange(&r->ignore_flush_wanted, false)) {
                _cleanup_(rtp_snapshot_unrefp) RtpSnapshot *s = rtp_snapshot_get(r);
                rtp_ignore_marks_flush(r, s->generation);
        }
}

/* Before sleeping: let go of a snapshot of rules that has been replaced, so that it can be
 * freed while the worker is idle. */
static void worker_release_stale_rules(RtpWorker *w) {
        _cleanup_(rtp_snapshot_unrefp) RtpSnapshot *s = NULL;

        if (!w->scanner_rules)
                return;
        s = rtp_snapshot_get(w->rtp);
        if (s->rules != w->scanner_rules) {
                engine_scanner_drop_rules(w->scanner);
                w->scanner_rules = NULL;
        }
}

static void *worker_main(void *userdata) {
        RtpWorker *w = userdata;

        for (;;) {
                RtpSnapshot *s;
                int k;

                k = worker_next(w, false);
                if (k == -EAGAIN) {
                        worker_release_stale_rules(w);
                        k = worker_next(w, true);
                }
                if (k <= 0)
                        break;
                s = rtp_snapshot_get(w->rtp);
                worker_decide(w, s);
                rtp_snapshot_unref(s);
                worker_finish(w);
        }
        return NULL;
}

/* ---- the watchdog ---- */

/* Late queued events taken off the queue by one pass of the watchdog; their fds are closed
 * after the lock is dropped (closing a file can wait on its filesystem: FUSE flushes). */
typedef struct RtpCloseBatch {
        int fds[64];
        size_t n;
} RtpCloseBatch;

static void close_batch(RtpCloseBatch *b) {
        for (size_t i = 0; i < b->n; i++)
                close(b->fds[i]);
        b->n = 0;
}

/* Answers allow for every event past its deadline and returns the earliest deadline still to
 * come (UINT64_MAX: none; 0: call again, the batch filled up). Deadlines follow read order,
 * and the queue is in read order, so only its head needs looking at. Called with Rtp.lock
 * held. */
static uint64_t watchdog_expire_locked(Rtp *r, uint64_t now, uint64_t timeout_us,
                                       RtpCloseBatch *closing) {
        uint64_t next = UINT64_MAX;

        for (unsigned i = 0; i < r->n_workers; i++) {
                RtpWorker *w = &r->workers[i];
                uint64_t deadline = w->current.read_usec + timeout_us;

                if (!w->busy || w->current.answered)
                        continue;
                if (deadline > now)
                        next = MIN(next, deadline);
                else
                        /* The worker goes on with its scan, to report, but answers no more. */
                        (void) event_answer_locked(r, &w->current, FAN_ALLOW,
                                                   &r->counters.timeouts);
        }
        while (r->queue_count > 0) {
                RtpEvent *ev = &r->queue[r->queue_head];
                uint64_t deadline = ev->read_usec + timeout_us;

                if (deadline > now) {
                        next = MIN(next, deadline);
                        break;
                }
                if (closing->n == ELEMENTSOF(closing->fds))
                        return 0;
                /* Late before a worker took it: answered and dropped, never scanned. */
                (void) event_answer_locked(r, ev, FAN_ALLOW, &r->counters.timeouts);
                closing->fds[closing->n++] = ev->fd;
                r->queue_head = (r->queue_head + 1) % r->queue_capacity;
                r->queue_count--;
        }
        return next;
}

static void *watchdog_main(void *userdata) {
        Rtp *r = userdata;
        RtpCloseBatch closing = {};

        pthread_mutex_lock(&r->lock);
        while (!r->stopping) {
                uint64_t timeout_us = (uint64_t) atomic_load(&r->timeout_ms) * 1000;
                uint64_t next = watchdog_expire_locked(r, rtp_now_usec(), timeout_us, &closing);
                struct timespec ts;

                if (closing.n > 0) {
                        pthread_mutex_unlock(&r->lock);
                        close_batch(&closing);
                        pthread_mutex_lock(&r->lock);
                        continue;
                }
                if (next == UINT64_MAX) {
                        r->watchdog_idle = true;
                        pthread_cond_wait(&r->watchdog_cond, &r->lock);
                        r->watchdog_idle = false;
                        continue;
                }
                ts = (struct timespec) {
                        .tv_sec = (time_t) (next / 1000000),
                        .tv_nsec = (long) (next % 1000000) * 1000,
                };
                (void) pthread_cond_timedwait(&r->watchdog_cond, &r->lock, &ts);
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

void rtp_events_timeout_changed(Rtp *r) {
        pthread_mutex_lock(&r->lock);
        pthread_cond_signal(&r->watchdog_cond);
        pthread_mutex_unlock(&r->lock);
}

/* ---- start and stop ---- */

int rtp_events_start(Rtp *r) {
        int k;

        for (unsigned i = 0; i < r->n_workers; i++) {
                r->workers[i].rtp = r;
                r->workers[i].current.fd = -EBADF;
                r->workers[i].scanner = engine_scanner_new();
                if (!r->workers[i].scanner)
                        return -ENOMEM;
        }
        k = rtp_thread_create(&r->watchdog, watchdog_main, r);
        if (k < 0)
                return k;
        r->watchdog_started = true;
        for (unsigned i = 0; i < r->n_workers; i++) {
                k = rtp_thread_create(&r->workers[i].thread, worker_main, &r->workers[i]);
                if (k < 0)
                        return k;
                r->workers[i].started = true;
        }
        k = rtp_thread_create(&r->reader, reader_main, r);
        if (k < 0)
                return k;
        r->reader_started = true;
        return 0;
}

/* Lets the fanotify group go while keeping its fd number taken: a worker finishing a scan
 * may still call fanotify_mark() on that number, which must not reach whatever file the
 * daemon opens next. The kernel allows every event still waiting to be read. */
static void release_group(Rtp *r) {
        /* Should dup3() fail, the group lives on until rtp_free() closes it after the joins:
         * later, but never wrong. */
        if (r->fanotify_fd >= 0 && r->placeholder_fd >= 0)
                (void) dup3(r->placeholder_fd, r->fanotify_fd, O_CLOEXEC);
}

void rtp_events_stop(Rtp *r) {
        atomic_store(&r->stop_requested, true);
        if (r->reader_started) {
                pthread_join(r->reader, NULL);
                r->reader_started = false;
        }

        /* The reader is gone: answer everything it handed over, and let no one answer again. */
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < r->queue_count; i++)
                (void) event_answer_locked(r, &r->queue[(r->queue_head + i) % r->queue_capacity],
                                           FAN_ALLOW, NULL);
        for (unsigned i = 0; i < r->n_workers; i++)
                if (r->workers[i].busy)
                        (void) event_answer_locked(r, &r->workers[i].current, FAN_ALLOW,
                                                   NULL);
        r->stopping = true;
        pthread_cond_broadcast(&r->work_cond);
        pthread_cond_broadcast(&r->watchdog_cond);
        pthread_mutex_unlock(&r->lock);

        /* Nobody takes from the queue once stopping is set: its fds are ours to close, without
         * the lock. */
        for (; r->queue_count > 0; r->queue_count--) {
                close(r->queue[r->queue_head].fd);
                r->queue_head = (r->queue_head + 1) % r->queue_capacity;
        }

        release_group(r);

        if (r->watchdog_started) {
                pthread_join(r->watchdog, NULL);
                r->watchdog_started = false;
        }
        for (unsigned i = 0; r->workers && i < r->n_workers; i++) {
                if (r->workers[i].started) {
                        pthread_join(r->workers[i].thread, NULL);
                        r->workers[i].started = false;
                }
                r->workers[i].scanner = engine_scanner_free(r->workers[i].scanner);
        }
}
