/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Other applications holding fanotify groups with mount or filesystem marks: two products
 * answering permission events on the same files can hang each other. Found the way an
 * administrator would: /proc/<pid>/fd entries that are fanotify groups, whose
 * /proc/<pid>/fdinfo/<fd> has a "fanotify mnt_id:" (mount mark) or "fanotify sdev:"
 * (filesystem mark) line; inode marks ("fanotify ino:") alone are not a conflict.
 *
 * Owns no state; runs on the caller's thread (the main thread, on request) and reads /proc
 * only, so it can never wait on a watched file.
 */
#include <dirent.h>
#include <fcntl.h>
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
