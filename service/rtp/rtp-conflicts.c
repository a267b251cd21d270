/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Other applications holding fanotify groups with mount or filesystem marks: two products
 * answering permission events on the same files can hang each other. Found the way an
 * administrator would: /proc/<pid>/fd entries that are fanotify groups, whose
 * /proc/<pid>/fdinfo/<fd> has a "fanotify mnt_id:" (mount mark) or "fanotify sdev:"
 * (filesystem mark) line; inode marks ("fanotify ino:") alone are not a conflict.
 *
 * rtp_conflicting_applications() walks on the caller's thread and reads /proc only, so it can
 * never wait on a watched file; it can still wait on a process stuck in the kernel (its fdinfo).
 * So the daemon's health uses rtp_conflicting_applications_cached(), which owns the one piece
 * of state here: the last walk's result, refreshed every few seconds on a thread of its own.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtp/rtp-internal.h"
#include "util/fileio.h"
#include "util/strv.h"

#define RTP_CONFLICTS_MAX 10
#define RTP_CMDLINE_MAX 4096

/* Whether the fdinfo of one fanotify fd shows a mount or filesystem mark. */
static bool fdinfo_has_wide_marks(int fdinfo_dir, const char *fd_name) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        int fd;

        fd = openat(fdinfo_dir, fd_name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        f = fdopen(fd, "re");
        if (!f) {
                close(fd);
                return false;
        }
        while (getline(&line, &size, f) > 0)
                if (strstr(line, "fanotify mnt_id") || strstr(line, "fanotify sdev"))
                        return true;
        return false;
}

/* Whether process pid holds a fanotify group with mount or filesystem marks. */
static bool process_has_wide_marks(pid_t pid) {
        _cleanup_close_ int fdinfo_dir = -EBADF;
        char path[64];
        DIR *d;
        struct dirent *de;
        bool found = false;

        (void) snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        d = opendir(path);
        if (!d)
                return false;   /* gone, or a kernel thread */
        (void) snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int) pid);
        fdinfo_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        while (!found && fdinfo_dir >= 0 && (de = readdir(d))) {
                char target[64];
                ssize_t n;

                if (de->d_name[0] == '.')
                        continue;
                n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                found = streq(target, "anon_inode:[fanotify]") &&
                        fdinfo_has_wide_marks(fdinfo_dir, de->d_name);
        }
        closedir(d);
        return found;
}

/* "<command line> (pid <n>)", the command line's NULs as spaces; comm when it has none. */
static char *process_describe(pid_t pid) {
        _cleanup_free_ char *cmdline = NULL;
        char path[64], *s = NULL;
        size_t n = 0;

        (void) snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        if (read_file_full(path, RTP_CMDLINE_MAX, &cmdline, &n) == -E2BIG)
                n = 0;
        for (size_t i = 0; cmdline && i < n; i++)
                if (cmdline[i] == '\0')
                        cmdline[i] = ' ';
        while (n > 0 && cmdline[n - 1] == ' ')
                cmdline[--n] = '\0';
        if (n == 0) {
                RtpProcess p = RTP_PROCESS_INIT(pid);
                const char *comm = rtp_process_comm(&p);

                free(cmdline);
                cmdline = strdup(comm ?: "unknown");
                if (!cmdline)
                        return NULL;
        }
        if (asprintf(&s, "%s (pid %d)", cmdline, (int) pid) < 0)
                return NULL;
        return s;
}

int rtp_conflicting_applications(pid_t exclude_pid, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        struct dirent *de;
        DIR *proc;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        proc = opendir("/proc");
        if (!proc)
                return negative_errno();
        while (strv_length(l) < RTP_CONFLICTS_MAX && (de = readdir(proc))) {
                char *end;
                long pid;

                errno = 0;
                pid = strtol(de->d_name, &end, 10);
                if (errno != 0 || *end != '\0' || pid <= 0 || pid == exclude_pid)
                        continue;
                if (!process_has_wide_marks((pid_t) pid))
                        continue;
                if (strv_consume(&l, process_describe((pid_t) pid)) < 0) {
                        closedir(proc);
                        return -ENOMEM;
                }
        }
        closedir(proc);
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- the cache for health ---- */

/* One walk's result, process-wide: health asks on every GetAll, and a walk opens the fdinfo of
 * every fanotify fd of every process, any of which may belong to a process stuck in the kernel.
 * The walk runs on a thread of its own; callers get the last result. The lock is held for
 * copies only. */
static struct {
        pthread_mutex_t lock;
        pthread_cond_t done;            /* a walk finished */
        char **list;                    /* NULL before the first walk finished */
        int error;                      /* of the last walk */
        uint64_t walked_usec;           /* when the last walk started (CLOCK_MONOTONIC) */
        pid_t exclude_pid;              /* of the last walk */
        bool walking;
} conflicts_cache = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .done = PTHREAD_COND_INITIALIZER,
};

static void *conflicts_walk(void *userdata) {
        pid_t exclude_pid = (pid_t) (intptr_t) userdata;
        char **l = NULL;
        int k;

        k = rtp_conflicting_applications(exclude_pid, &l);
        pthread_mutex_lock(&conflicts_cache.lock);
        if (k >= 0) {
                strv_free(conflicts_cache.list);
                conflicts_cache.list = l;
        }
        conflicts_cache.error = k < 0 ? k : 0;
        conflicts_cache.walking = false;
        pthread_cond_broadcast(&conflicts_cache.done);
        pthread_mutex_unlock(&conflicts_cache.lock);
        return NULL;
}

/* Starts a walk on a detached thread. Called with the lock held. */
static int conflicts_walk_start_locked(pid_t exclude_pid) {
        pthread_attr_t attr;
        pthread_t t;
        int k;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        k = -pthread_create(&t, &attr, conflicts_walk, (void *) (intptr_t) exclude_pid);
        pthread_attr_destroy(&attr);
        if (k < 0)
                return k;
        conflicts_cache.walking = true;
        conflicts_cache.walked_usec = rtp_now_usec();
        conflicts_cache.exclude_pid = exclude_pid;
        return 0;
}

int rtp_conflicting_applications_cached(pid_t exclude_pid, uint64_t max_age_usec,
                                        unsigned wait_ms, char ***ret) {
        _cleanup_strv_free_ char **copy = NULL;
        uint64_t now = rtp_now_usec();
        int k = 0;

        if (!ret)
                return -EINVAL;
        if (max_age_usec == 0)
                max_age_usec = RTP_CONFLICTS_MAX_AGE_USEC;
        pthread_mutex_lock(&conflicts_cache.lock);
        if (!conflicts_cache.walking &&
            (!conflicts_cache.list || conflicts_cache.exclude_pid != exclude_pid ||
             now - conflicts_cache.walked_usec >= max_age_usec))
                k = conflicts_walk_start_locked(exclude_pid);
        if (k >= 0 && !conflicts_cache.list && conflicts_cache.walking && wait_ms > 0) {
                /* The first answer is worth a short wait; a walk that takes longer is stuck. */
                struct timespec until;

                (void) clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += wait_ms / 1000;
                until.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000L;
                }
                while (conflicts_cache.walking &&
                       pthread_cond_timedwait(&conflicts_cache.done, &conflicts_cache.lock,
                                              &until) == 0)
                        ;
        }
        if (k >= 0 && conflicts_cache.list)
                copy = strv_copy(conflicts_cache.list);
        else if (k >= 0)
                copy = calloc(1, sizeof(char *));
        if (k >= 0 && !conflicts_cache.list && conflicts_cache.error < 0)
                k = conflicts_cache.error;
        pthread_mutex_unlock(&conflicts_cache.lock);
        if (k < 0)
                return k;
        if (!copy)
                return -ENOMEM;
        *ret = TAKE_PTR(copy);
        return 0;
}
