/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The self-check: proof that the marks see the accesses of the rest of the machine, not only
 * the daemon's own. Mount marks belong to mounts, and a mount namespace has mounts of its own:
 * a daemon given a private namespace (a unit's ProtectSystem=, PrivateTmp=, ...) marks its
 * copies and sees nothing of what other processes open, while everything else about it looks
 * fine. So after the marks are placed, and after every re-mark, a forked child joins the mount
 * namespace of a reference process (PID 1: the one users' shells and services live in), creates
 * a probe file in a marked directory, and the reader must report that open. Until it has, the
 * protection is not claimed.
 *
 * The child is recognised by its pid (Rtp.self_check_pid, set before it may act) and answered
 * at once by the reader. It does only system calls after fork(): the daemon is multithreaded.
 * It closes every inherited fd first: a child holding a copy of the group would keep a daemon
 * killed mid-check from ever releasing its pending events.
 *
 * Runs on the thread that asks (rtp_new() on the main thread for the first check, then the
 * marks thread); self_check_lock serialises checks and guards the published result.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rtp/rtp-internal.h"
#include "util/strv.h"

#define SELF_CHECK_TIMEOUT_MS 2000
#define SELF_CHECK_PROBE_NAME ".mdatp-rtp-self-check"

/* What the child reports: the step that failed (or SELF_CHECK_CREATED) and its errno. */
enum { SELF_CHECK_JOIN = 1, SELF_CHECK_CREATE, SELF_CHECK_CREATED };
typedef struct SelfCheckReply {
        int step;
        int error;
} SelfCheckReply;

/* In the child: wait for the go (the parent has published our pid), join the namespace, create
 * and remove the probe. Async-signal-safe calls only. */
_Noreturn static void self_check_child(int sock, int ns_fd, const char *path, pid_t parent) {
        SelfCheckReply reply = { .step = SELF_CHECK_JOIN };
        int lo = MIN(sock, ns_fd), hi = MAX(sock, ns_fd);
        char go;
        int fd;

        /* Never outlive the daemon: an orphan blocked in open() by another group would wait
         * for nobody to kill it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(1);
        /* Hold nothing but our two fds, above all no copy of the fanotify group: should the
         * daemon die after its reader took our event and before it answered, the kernel answers
         * only once the last fd of the group is closed, and a copy here would make this child
         * wait for itself, unkillably, forever. */
        if ((lo > 0 && close_range(0, lo - 1, 0) < 0) ||
            (hi > lo + 1 && close_range(lo + 1, hi - 1, 0) < 0) ||
            close_range(hi + 1, ~0U, 0) < 0)
                _exit(1);
        if (read(sock, &go, 1) != 1)
                _exit(1);
        if (setns(ns_fd, CLONE_NEWNS) < 0) {
                reply.error = errno;
        } else {
                (void) unlink(path);    /* left over from a daemon that died mid-check */
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                          0600);
                if (fd < 0) {
                        reply = (SelfCheckReply) { SELF_CHECK_CREATE, errno };
                } else {
                        close(fd);
                        (void) unlink(path);
                        reply.step = SELF_CHECK_CREATED;
                }
        }
        (void) !write(sock, &reply, sizeof(reply));
        _exit(0);
}

/* Whether dir is a directory (not a symlink) on a mount marked now. */
static bool dir_is_marked(Rtp *r, const char *dir) {
        struct statx stx;
        bool found = false;

        if (statx(AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
                  STATX_TYPE | STATX_MNT_ID, &stx) < 0 ||
            !(stx.stx_mask & STATX_MNT_ID) || !S_ISDIR(stx.stx_mode))
                return false;
        pthread_mutex_lock(&r->marks_lock);
        for (size_t i = 0; i < r->n_marks && !found; i++)
                found = (uint64_t) r->marks[i].mount_id == stx.stx_mnt_id;
        pthread_mutex_unlock(&r->marks_lock);
        return found;
}

/* Runs one probe of dir from the namespace ns_fd. Returns the child's reply; step 0 when the
 * child could not be run or did not answer in time (error says why). */
static SelfCheckReply self_check_probe(Rtp *r, int ns_fd, const char *dir) {
        SelfCheckReply reply = {};
        char path[PATH_MAX];
        pid_t pid, parent;
        int sv[2];

        if (snprintf(path, sizeof(path), "%s/%s-%d", dir, SELF_CHECK_PROBE_NAME,
                     (int) r->self_pid) >= (int) sizeof(path))
                return (SelfCheckReply) { .error = ENAMETOOLONG };
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return (SelfCheckReply) { .error = errno };

        parent = getpid();
        pid = fork();
        if (pid < 0) {
                reply.error = errno;
                goto out;
        }
        if (pid == 0) {
                close(sv[0]);
                self_check_child(sv[1], ns_fd, path, parent);
        }

        atomic_store(&r->self_check_seen, false);
        atomic_store(&r->self_check_pid, pid);
        if (write(sv[0], "", 1) == 1) {
                struct pollfd p = { .fd = sv[0], .events = POLLIN };

                if (poll(&p, 1, SELF_CHECK_TIMEOUT_MS) > 0 &&
                    read(sv[0], &reply, sizeof(reply)) == (ssize_t) sizeof(reply))
                        ;
                else
                        reply = (SelfCheckReply) { .error = ETIMEDOUT };
        } else
                reply.error = errno;
        /* A child blocked in open() by somebody else's permission event still dies. */
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        atomic_store(&r->self_check_pid, 0);
out:
        close(sv[0]);
        close(sv[1]);
        return reply;
}

static void self_check_publish(Rtp *r, RtpSelfCheckState state, const char *format, ...)
        _printf_(3, 4);
static void self_check_publish(Rtp *r, RtpSelfCheckState state, const char *format, ...) {
        va_list ap;
        bool changed;

        pthread_mutex_lock(&r->self_check_lock);
        changed = r->self_check.state != state;
        r->self_check.state = state;
        va_start(ap, format);
        (void) vsnprintf(r->self_check.message, sizeof(r->self_check.message), format, ap);
        va_end(ap);
        pthread_mutex_unlock(&r->self_check_lock);
        /* The main loop re-reads the result when it wakes for detections. */
        if (changed)
                (void) eventfd_write(r->notify_fd, 1);
}

/* The directories to probe, best first: the configured one (the state directory, so nothing is
 * created anywhere else on an ordinary machine), then every marked mount point. */
static char **self_check_candidates(Rtp *r) {
        _cleanup_(rtp_snapshot_unrefp) RtpSnapshot *s = rtp_snapshot_get(r);
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_strv_free_ char **mounts = NULL;

        if (s->self_check_dir && strv_extend(&dirs, s->self_check_dir) < 0)
                return NULL;
        if (rtp_get_marked_mounts(r, &mounts) < 0)
                return NULL;
        for (size_t i = 0; mounts[i]; i++)
                if (!strv_contains(dirs, mounts[i]) && strv_extend(&dirs, mounts[i]) < 0)
                        return NULL;
        return TAKE_PTR(dirs);
}

void rtp_self_check_run(Rtp *r) {
        _cleanup_(rtp_snapshot_unrefp) RtpSnapshot *s = rtp_snapshot_get(r);
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_close_ int ns_fd = -EBADF;
        char ns_path[64], who[32];
        const char *last = NULL;
        int last_error = ENOENT;

        pthread_mutex_lock(&r->self_check_run_lock);
        atomic_fetch_add(&r->counters.self_checks, 1);
        if (s->self_check_pid > 0)
                (void) snprintf(who, sizeof(who), "process %d", (int) s->self_check_pid);
        else
                (void) snprintf(who, sizeof(who), "PID 1");
        (void) snprintf(ns_path, sizeof(ns_path), "/proc/%d/ns/mnt",
                        s->self_check_pid > 0 ? (int) s->self_check_pid : 1);
        ns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0) {
                self_check_publish(r, RTP_SELF_CHECK_FAILED,
                                   "its self-check cannot open the mount namespace of %s (%s)",
                                   who, strerror(errno));
                goto done;
        }

        dirs = self_check_candidates(r);
        if (!dirs) {
                self_check_publish(r, RTP_SELF_CHECK_FAILED, "its self-check ran out of memory");
                goto done;
        }
        for (char **d = dirs; *d; d++) {
                SelfCheckReply reply;

                if (!dir_is_marked(r, *d))
                        continue;
                reply = self_check_probe(r, ns_fd, *d);
                if (reply.step == SELF_CHECK_CREATED) {
                        if (atomic_load(&r->self_check_seen))
                                self_check_publish(r, RTP_SELF_CHECK_PASSED,
                                                   "an open in the mount namespace of %s on %s "
                                                   "was seen", who, *d);
                        else
                                self_check_publish(r, RTP_SELF_CHECK_FAILED,
                                                   "an open in the mount namespace of %s on %s "
                                                   "raised no event: the daemon's marks do not "
                                                   "see that namespace's mounts (does the "
                                                   "service have a private mount namespace?)",
                                                   who, *d);
                        goto done;
                }
                if (reply.step == SELF_CHECK_JOIN) {
                        self_check_publish(r, RTP_SELF_CHECK_FAILED,
                                           "its self-check cannot join the mount namespace of "
                                           "%s (%s)", who, strerror(reply.error));
                        goto done;
                }
                /* No answer in time: stop here, so that a check never holds its thread for more
                 * than one timeout (the first one runs on the main loop). */
                if (reply.step == 0 && reply.error == ETIMEDOUT) {
                        self_check_publish(r, RTP_SELF_CHECK_FAILED,
                                           "its self-check's open on %s from the mount namespace "
                                           "of %s did not finish within %d ms", *d, who,
                                           SELF_CHECK_TIMEOUT_MS);
                        goto done;
                }
                /* Read-only, or not there in that namespace: try the next one. */
                last = *d;
                last_error = reply.error;
        }
        if (last)
                self_check_publish(r, RTP_SELF_CHECK_FAILED,
                                   "its self-check found no monitored directory it could create "
                                   "a file in from the mount namespace of %s (last: %s: %s)",
                                   who, last, strerror(last_error));
        else if (atomic_load(&r->n_marked) == 0)
                /* Everything is excluded or unmonitored: there is no protection to claim. */
                self_check_publish(r, RTP_SELF_CHECK_PASSED, "no mount is marked");
        else
                self_check_publish(r, RTP_SELF_CHECK_FAILED,
                                   "its self-check found no marked mount to probe");
done:
        pthread_mutex_unlock(&r->self_check_run_lock);
}

void rtp_self_check_request(Rtp *r) {
        (void) eventfd_write(r->self_check_fd, 1);
}

void rtp_get_self_check(Rtp *r, RtpSelfCheck *ret) {
        pthread_mutex_lock(&r->self_check_lock);
        *ret = r->self_check;
        pthread_mutex_unlock(&r->self_check_lock);
}
