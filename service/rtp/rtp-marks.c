/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which mounts the group watches: choosing them from the mount table and the snapshot, marking
 * and unmarking them (FAN_MARK_MOUNT), and a thread that follows mounts appearing and going
 * away through POLLPRI on /proc/self/mountinfo.
 *
 * Owns the list of marked mounts (Rtp.marks: published under marks_lock, changed only under
 * sync_lock), the snapshot the marks follow (Rtp.marks_snapshot), the marks thread and the
 * application of rtp_reconfigure()'s requests. Resolving a mount point may wait on its
 * filesystem (a stalled network or FUSE mount), which is why this is a thread of its own: the
 * reader must never wait for it, nor the main thread, which only ever takes marks_lock and
 * reconfigure_lock (held for copies, never across a system call). Nothing here touches events,
 * the queue or the snapshot pointer.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rtp/rtp-internal.h"
#include "util/strv.h"

/* Whether a folder exclusion covers the whole mount: nothing below it would ever be scanned,
 * so the mount need raise no events at all. */
static bool mount_point_excluded(const RtpSnapshot *s, const char *mount_point) {
        return exclusion_set_match_directory(s->exclusions,
                                             EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL,
                                             mount_point);
}

/* The selection before exclusions: the mount list or the monitored types, and noexec. */
static bool mount_is_wanted(const RtpSnapshot *s, const Mount *m) {
        if (s->mounts) {
                /* Named mount points: exactly those, whatever their type. */
                if (!strv_contains(s->mounts, m->mount_point))
                        return false;
        } else if (mounts_fstype_is_pseudo(m->fstype) ||
                   !mounts_fstype_is_monitored(m->fstype, s->unmonitored_filesystems))
                return false;
        return !(s->mute_noexec && m->noexec);
}

bool rtp_mount_is_selected(const RtpSnapshot *s, const Mount *m) {
        return mount_is_wanted(s, m) && !mount_point_excluded(s, m->mount_point);
}

bool rtp_marks_unaffected_locked(Rtp *r, const RtpSnapshot *old, const RtpSnapshot *s) {
        /* Not known before the first application, or after an OOM there. NULL mounts means
         * "every monitored mount", unlike an empty list. */
        if (!r->excluded_mounts || !old->mounts != !s->mounts || !strv_equal(old->mounts, s->mounts) ||
            !strv_equal(old->unmonitored_filesystems, s->unmonitored_filesystems) ||
            old->mute_noexec != s->mute_noexec)
                return false;
        /* Only a folder exclusion on a mount point moves a mark: check the points we know. An
         * exclusion set of thousands costs a few hash lookups per mount here. */
        for (size_t i = 0; i < r->n_marks; i++)
                if (mount_point_excluded(s, r->marks[i].mount_point))
                        return false;
        for (char **p = r->excluded_mounts; p && *p; p++)
                if (!mount_point_excluded(s, *p))
                        return false;
        return true;
}

/* Adds or removes (flag FAN_MARK_ADD or FAN_MARK_REMOVE) the mount mark on mount m. The mount
 * point is opened O_PATH (no open event, no content read) and its mount id checked, so that a
 * mount hidden under another one, or gone since the table was read, is never confused with the
 * one now at that path; the mark then goes through /proc/self/fd, which names exactly that
 * mount. Returns 0, -ESTALE (not the mount at that path now) or a negative errno. */
static int mount_mark(Rtp *r, const Mount *m, unsigned flag) {
        _cleanup_close_ int fd = -EBADF;
        struct statx stx;
        char path[64];

        fd = open(m->mount_point, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (statx(fd, "", AT_EMPTY_PATH | AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) < 0)
                return negative_errno();
        if (!(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id != (uint64_t) m->id)
                return -ESTALE;
        (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (fanotify_mark(r->fanotify_fd, flag | FAN_MARK_MOUNT, RTP_EVENT_MASK, AT_FDCWD,
                          path) < 0)
                return negative_errno();
        return 0;
}

static const Mount *mounts_find(const Mount *mounts, size_t n, const RtpMark *mark) {
        for (size_t i = 0; i < n; i++)
                if (mounts[i].id == mark->mount_id && streq(mounts[i].mount_point,
                                                            mark->mount_point))
                        return &mounts[i];
        return NULL;
}

static void marks_list_free(RtpMark *marks, size_t n) {
        for (size_t i = 0; marks && i < n; i++)
                free(marks[i].mount_point);
        free(marks);
}

/* Whether two lists of marks name the same mounts in the same order (both are built in
 * mount-table order). */
static bool marks_equal(const RtpMark *a, size_t n_a, const RtpMark *b, size_t n_b) {
        if (n_a != n_b)
                return false;
        for (size_t i = 0; i < n_a; i++)
                if (a[i].mount_id != b[i].mount_id || !streq(a[i].mount_point, b[i].mount_point))
                        return false;
        return true;
}

/* The mounts of the table that are wanted but covered by a folder exclusion. NULL on OOM: then
 * the next reconfiguration walks the table, as rtp_marks_unaffected_locked() reads NULL as
 * "not known". */
static char **excluded_mounts_list(const RtpSnapshot *s, const Mount *mounts, size_t n) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        for (size_t i = 0; l && i < n; i++)
                if (mount_is_wanted(s, &mounts[i]) &&
                    mount_point_excluded(s, mounts[i].mount_point) &&
                    strv_extend(&l, mounts[i].mount_point) < 0)
                        return NULL;
        return TAKE_PTR(l);
}

bool rtp_marks_apply_locked(Rtp *r, const RtpSnapshot *s, const Mount *mounts, size_t n) {
        RtpMark *marked, *old;
        size_t n_marked = 0, n_old;
        bool changed;

        atomic_fetch_add(&r->counters.mark_syncs, 1);
        /* What was marked and is still mounted but no longer wanted (a new exclusion, a new
         * mount list): unmark. Mounts that went away took their marks with them. */
        for (size_t i = 0; i < r->n_marks; i++) {
                const Mount *m = mounts_find(mounts, n, &r->marks[i]);

                if (m && !rtp_mount_is_selected(s, m))
                        (void) mount_mark(r, m, FAN_MARK_REMOVE);
        }

        /* Everything wanted is marked again: a mark that exists already is left as it is, and
         * a mount id reused by a new mount since the last look cannot leave that mount out. */
        marked = calloc(MAX(n, (size_t) 1), sizeof(RtpMark));
        for (size_t i = 0; i < n; i++) {
                if (!rtp_mount_is_selected(s, &mounts[i]) ||
                    mount_mark(r, &mounts[i], FAN_MARK_ADD) < 0)
                        continue;
                if (!marked)
                        continue;       /* marked, but we cannot list it (OOM) */
                marked[n_marked].mount_id = mounts[i].id;
                marked[n_marked].mount_point = strdup(mounts[i].mount_point);
                if (marked[n_marked].mount_point)
                        n_marked++;
        }
        strv_free(r->excluded_mounts);
        r->excluded_mounts = marked ? excluded_mounts_list(s, mounts, n) : NULL;

        pthread_mutex_lock(&r->marks_lock);
        old = r->marks;
        n_old = r->n_marks;
        changed = !marked || !marks_equal(old, n_old, marked, n_marked);
        r->marks = marked;
        r->n_marks = n_marked;
        atomic_store(&r->n_marked, n_marked);
        pthread_mutex_unlock(&r->marks_lock);
        marks_list_free(old, n_old);
        return changed;
}

/* Records s as the snapshot the marks follow now. Called with sync_lock held. */
static void marks_snapshot_set_locked(Rtp *r, RtpSnapshot *s) {
        RtpSnapshot *old = r->marks_snapshot;

        r->marks_snapshot = rtp_snapshot_ref(s);
        rtp_snapshot_unref(old);
}

int rtp_marks_sync(Rtp *r) {
        _cleanup_(rtp_snapshot_unrefp) RtpSnapshot *s = NULL;
        Mount *mounts = NULL;
        size_t n = 0;
        int k;

        pthread_mutex_lock(&r->sync_lock);
        k = mounts_read(r->mountinfo_fd, &mounts, &n);
        if (k >= 0) {
                /* The newest snapshot, whatever a reconfiguration still waiting asks: it asks
                 * for this same snapshot, and then finds nothing left to do. */
                s = rtp_snapshot_get(r);
                k = rtp_marks_apply_locked(r, s, mounts, n);
                marks_snapshot_set_locked(r, s);
                mounts_free(mounts, n);
        }
        pthread_mutex_unlock(&r->sync_lock);
        return k;
}

/* Publishes the outcome of the reconfiguration with this sequence and wakes the main loop. */
static void reconfigure_publish(Rtp *r, uint64_t sequence, int error) {
        pthread_mutex_lock(&r->reconfigure_lock);
        /* A sequence older than one reported already (rtp_new()'s snapshot, 0) reports
         * nothing new. */
        if (sequence >= r->reconfigure_state.applied) {
                r->reconfigure_state.applied = sequence;
                r->reconfigure_state.error = error;
        }
        if (error < 0)
                r->reconfigure_state.failures++;
        pthread_mutex_unlock(&r->reconfigure_lock);
        atomic_fetch_add(&r->counters.reconfigurations, 1);
        (void) eventfd_write(r->notify_fd, 1);
}

bool rtp_marks_reconfigure(Rtp *r) {
        _cleanup_(rtp_snapshot_unrefp) RtpSnapshot *s = rtp_snapshot_get(r);
        const RtpSnapshot *old;
        Mount *mounts = NULL;
        size_t n = 0;
        bool check = false;
        int k = 0;

        pthread_mutex_lock(&r->sync_lock);
        old = r->marks_snapshot;
        if (old == s)
                ;       /* a change of the mount table applied it already */
        else if (old && rtp_marks_unaffected_locked(r, old, s))
                /* An exclusion below the mount points, a new verdict policy...: the kernel keeps
                 * raising the same events; only a new namespace to prove needs a check. */
                check = old->self_check_pid != s->self_check_pid ||
                        !streq_ptr(old->self_check_dir, s->self_check_dir);
        else {
                /* Read before anything changes, so that a failure leaves the marks whole. */
                k = mounts_read(-EBADF, &mounts, &n);
                if (k >= 0) {
                        check = rtp_marks_apply_locked(r, s, mounts, n) || !old ||
                                old->self_check_pid != s->self_check_pid ||
                                !streq_ptr(old->self_check_dir, s->self_check_dir);
                        mounts_free(mounts, n);
                }
        }
        if (k >= 0)
                marks_snapshot_set_locked(r, s);
        pthread_mutex_unlock(&r->sync_lock);
        reconfigure_publish(r, s->sequence, k < 0 ? k : 0);
        return check;
}

static void *marks_main(void *userdata) {
        Rtp *r = userdata;
        struct pollfd fds[] = {
                /* mountinfo reports a change of the mount table as POLLPRI (with POLLERR). */
                { .fd = r->mountinfo_fd, .events = POLLPRI },
                { .fd = r->stop_fd, .events = POLLIN },
                { .fd = r->self_check_fd, .events = POLLIN },
                { .fd = r->reconfigure_fd, .events = POLLIN },
        };

        for (;;) {
                eventfd_t v;
                bool check = false;

                if (poll(fds, ELEMENTSOF(fds), -1) < 0) {
                        if (errno != EINTR)
                                (void) usleep(10000);
                        continue;
                }
                if (fds[1].revents || atomic_load(&r->stop_requested))
                        break;
                /* Read the request before the snapshot: a request made after this read wakes
                 * us again, so the newest snapshot is always applied. */
                if (fds[3].revents & POLLIN) {
                        (void) eventfd_read(r->reconfigure_fd, &v);
                        check = rtp_marks_reconfigure(r);
                }
                if (fds[0].revents & (POLLPRI | POLLERR)) {
                        (void) rtp_marks_sync(r);
                        check = true;
                }
                if (fds[2].revents & POLLIN) {
                        (void) eventfd_read(r->self_check_fd, &v);
                        check = true;
                }
                /* Every new set of marks proves itself again. */
                if (check)
                        rtp_self_check_run(r);
        }
        return NULL;
}

int rtp_marks_start(Rtp *r) {
        int k = rtp_thread_create(&r->marker, marks_main, r);

        if (k < 0)
                return k;
        r->marker_started = true;
        return 0;
}

void rtp_marks_stop(Rtp *r) {
        if (!r->marker_started)
                return;
        pthread_join(r->marker, NULL);
        r->marker_started = false;
}

void rtp_marks_free(Rtp *r) {
        r->marks_snapshot = rtp_snapshot_unref(r->marks_snapshot);
        r->excluded_mounts = strv_free(r->excluded_mounts);
        marks_list_free(r->marks, r->n_marks);
        r->marks = NULL;
        r->n_marks = 0;
}

int rtp_get_marked_mounts(Rtp *r, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        pthread_mutex_lock(&r->marks_lock);
        for (size_t i = 0; i < r->n_marks; i++)
                if (!strv_contains(l, r->marks[i].mount_point) &&
                    strv_extend(&l, r->marks[i].mount_point) < 0) {
                        pthread_mutex_unlock(&r->marks_lock);
                        return -ENOMEM;
                }
        pthread_mutex_unlock(&r->marks_lock);
        *ret = TAKE_PTR(l);
        return 0;
}
