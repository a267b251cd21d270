/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The local-directory transport of the updater: a mirror on a mounted file system (NFS, a share,
 * a directory rsync fills). The configured path itself may go through symlinks (it is the
 * administrator's); below it every component is examined without following symlinks and opened
 * with O_NOFOLLOW, the opened inode must be the one examined, only regular files are read (never
 * a FIFO or a device: O_NONBLOCK, and fstatat first), and a file is read only up to the sink's
 * limit plus one byte, the same bounds as over HTTP.
 *
 * State: an UpdateLocal owns an fd of the mirror directory. No logging.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "definitions/definitions.h"
#include "update/update-internal.h"
#include "util/macro.h"

struct UpdateLocal {
        int dir_fd;
};

#define LOCAL_CHUNK (64 * 1024)

UpdateLocal *update_local_free(UpdateLocal *l) {
        if (!l)
                return NULL;
        closep(&l->dir_fd);
        return mfree(l);
}

int update_local_new(const char *path, UpdateLocal **ret, char **ret_reason) {
        _cleanup_(update_local_freep) UpdateLocal *l = NULL;

        if (!path || path[0] != '/' || !ret)
                return update_reason(ret_reason, -EINVAL, "not an absolute directory path");
        l = calloc(1, sizeof(UpdateLocal));
        if (!l)
                return -ENOMEM;
        l->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (l->dir_fd < 0)
                return update_reason(ret_reason, negative_errno(),
                                     "cannot open the mirror directory: %m");
        *ret = TAKE_PTR(l);
        return 0;
}

/* Opens the regular file name (relative, validated) below dir_fd following no symlink. */
static int local_open(int dir_fd, const char *name, int *ret_fd, char **ret_reason) {
        _cleanup_close_ int parent = -EBADF, fd = -EBADF;
        char buf[DEFINITIONS_PATH_MAX + 1];
        char *component, *slash;
        struct stat st, st2;
        int at = dir_fd;

        if (strlen(name) >= sizeof(buf))
                return update_reason(ret_reason, -ENAMETOOLONG, "path too long");
        strcpy(buf, name);

        for (component = buf; (slash = strchr(component, '/')); component = slash + 1) {
                int d;

                *slash = '\0';
                if (fstatat(at, component, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                return update_reason(ret_reason, -ENOENT, "missing");
                        return update_reason(ret_reason, negative_errno(),
                                             "cannot examine '%s': %m", buf);
                }
                if (S_ISLNK(st.st_mode))
                        return update_reason(ret_reason, -ELOOP,
                                             "'%s' is a symbolic link, which a mirror may not "
                                             "contain", buf);
                if (!S_ISDIR(st.st_mode))
                        return update_reason(ret_reason, -ENOTDIR, "'%s' is not a directory", buf);
                d = openat(at, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        return update_reason(ret_reason, negative_errno(),
                                             "cannot open '%s': %m", buf);
                closep(&parent);
                parent = d;
                at = parent;
                *slash = '/';
        }

        if (fstatat(at, component, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return update_reason(ret_reason, -ENOENT, "missing");
                return update_reason(ret_reason, negative_errno(), "cannot examine: %m");
        }
        if (S_ISLNK(st.st_mode))
                return update_reason(ret_reason, -ELOOP,
                                     "a symbolic link, which a mirror may not contain");
        if (!S_ISREG(st.st_mode))
                return update_reason(ret_reason, -EBADFD, "not a regular file");

        fd = openat(at, component, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return update_reason(ret_reason, negative_errno(), "cannot open: %m");
        if (fstat(fd, &st2) < 0)
                return update_reason(ret_reason, negative_errno(), "cannot examine: %m");
        if (!S_ISREG(st2.st_mode) || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
                return update_reason(ret_reason, -EBUSY, "replaced while being opened");

        *ret_fd = TAKE_FD(fd);
        return 0;
}

int update_local_get(UpdateLocal *l, const char *name, UpdateSink *sink, char **ret_reason) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        int r;

        if (!l || !name || !sink)
                return update_reason(ret_reason, -EINVAL, "invalid arguments");
        r = local_open(l->dir_fd, name, &fd, ret_reason);
        if (r < 0)
                return r;

        buf = malloc(LOCAL_CHUNK);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf, LOCAL_CHUNK);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return update_reason(ret_reason, negative_errno(), "cannot read: %m");
                }
                if (n == 0)
                        return 0;
                /* The sink refuses the byte past its limit: at most limit + one chunk is read. */
                r = update_sink_write(sink, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}
