/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening a restore's destination directory with the credentials of the user who asked for the
 * restore, so that a polkit grant to manage threats never lets a user create a file where they
 * could not create it themselves.
 *
 * Why a child process: the check must be the kernel's own (search permission on every parent,
 * the mode, POSIX ACLs, read-only mounts, LSMs), which only a process holding the caller's
 * credentials gets. Changing credentials in a thread of the daemon is no option: glibc's
 * setgroups()/setresuid() change every thread of the process (the fanotify reader and the scan
 * workers would run as the caller meanwhile), and raw per-thread system calls would leave a
 * thread with foreign credentials that any later code on it inherits. A mode-bit check on an fd
 * opened as root misses ACLs and the parents' search bits. So a forked child, which has one
 * thread, drops to the caller's uid, gid and groups for good (all three uids, no capabilities
 * left), opens the directory the way quarantine_open_directory() does, checks W_OK|X_OK with
 * access() semantics, and hands the fd back over a socketpair (SCM_RIGHTS). Only system calls run
 * in the child: the daemon is multithreaded. The fork costs a millisecond or two, once per
 * restore by a user other than root.
 *
 * Owns nothing beyond the call: the socketpair and the child, both gone when it returns.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quarantine/quarantine-internal.h"
#include "quarantine/quarantine.h"
#include "util/macro.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Drops to c's credentials for good: groups, then gid, then uid (after the uid change there is
 * no right left to change the others), then any capability that survived (securebits). Raw
 * system calls: this runs in the child of a multithreaded process. 0 or -errno. */
static int caller_drop(const QuarantineCaller *c) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

#ifdef SYS_setgroups32
        if (syscall(SYS_setgroups32, c->n_groups, c->groups) < 0 ||
            syscall(SYS_setresgid32, c->gid, c->gid, c->gid) < 0 ||
            syscall(SYS_setresuid32, c->uid, c->uid, c->uid) < 0)
                return -errno;
#else
        if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0 ||
            syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
            syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
                return -errno;
#endif
        if (syscall(SYS_capset, &header, data) < 0)
                return -errno;
        return 0;
}

/* The child: its answer is one int (0 or -errno) and, when the directory opened, its fd. */
_Noreturn static void caller_child(int sock, const char *path, const QuarantineCaller *c) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        int error, fd = -EBADF;
        struct iovec iov = { .iov_base = &error, .iov_len = sizeof(error) };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

        error = caller_drop(c);
        if (error == 0) {
                fd = quarantine_open_directory(path);
                if (fd < 0)
                        error = fd;
                /* Real ids are the caller's now, so faccessat() asks exactly for them. */
                else if (faccessat(fd, ".", W_OK | X_OK, 0) < 0)
                        error = -errno;
        }
        if (fd >= 0) {
                struct cmsghdr *cm;

                msg.msg_control = control.buf;
                msg.msg_controllen = sizeof(control.buf);
                cm = CMSG_FIRSTHDR(&msg);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        _exit(sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? 1 : 0);
}

/* Reads the child's answer: the fd, or the child's error. */
static int caller_receive(int sock) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } control = {};
        struct pollfd p = { .fd = sock, .events = POLLIN };
        int error = -ECHILD, fd = -EBADF;
        struct iovec iov = { .iov_base = &error, .iov_len = sizeof(error) };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1,
                .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
        };
        ssize_t n;
        int k;

        k = poll(&p, 1, QUARANTINE_CALLER_TIMEOUT_MS);
        if (k < 0)
                return -errno;
        if (k == 0)
                return -ETIMEDOUT;
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                                int got;

                                memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                                if (fd < 0)
                                        fd = got;
                                else
                                        (void) close(got);
                        }
        if (n != (ssize_t) sizeof(error) || error > 0)
                error = -ECHILD;
        if (error < 0) {
                if (fd >= 0)
                        (void) close(fd);
                return error;
        }
        return fd >= 0 ? fd : -ECHILD;
}

int quarantine_open_directory_as(const char *path, const QuarantineCaller *c) {
        int sv[2], k;
        pid_t pid;

        if (!path || !c)
                return -EINVAL;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                k = -errno;
                (void) close(sv[0]);
                (void) close(sv[1]);
                return k;
        }
        if (pid == 0) {
                (void) close(sv[0]);
                caller_child(sv[1], path, c);
        }
        (void) close(sv[1]);
        k = caller_receive(sv[0]);
        (void) close(sv[0]);
        /* A child stuck on a hung file system still goes. */
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return k;
}

bool quarantine_is_virtual_fs(int fd) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return false;
        switch ((unsigned long) sfs.f_type) {
        case SYSFS_MAGIC:
        case PROC_SUPER_MAGIC:
        case CGROUP_SUPER_MAGIC:
        case CGROUP2_SUPER_MAGIC:
        case DEBUGFS_MAGIC:
        case SECURITYFS_MAGIC:
        case TRACEFS_MAGIC:
        case BPF_FS_MAGIC:
        case PSTOREFS_MAGIC:
        case EFIVARFS_MAGIC:
                return true;
        default:
                return false;
        }
}
