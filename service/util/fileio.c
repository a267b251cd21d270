/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading small files whole and replacing files atomically (the managed policy, the local
 * settings, the state files), and creating new files durably below a directory fd (the
 * definitions store and the downloads of an update). No state of its own; no logging (callers
 * log).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/macro.h"

int read_fd_full(int fd, size_t hint, size_t max_size, char **ret_data, size_t *ret_size) {
        /* Room for one byte more than allowed, to notice a file that grew past the limit. */
        size_t limit = max_size + 1, size = 0, capacity;
        _cleanup_free_ char *buf = NULL;

        capacity = MIN(MAX(hint, (size_t) 4096), limit) + 1;
        buf = malloc(capacity);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t n;

                if (size == capacity - 1) {
                        char *b;

                        capacity = MIN(capacity * 2, limit + 1);
                        b = realloc(buf, capacity);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                n = read(fd, buf + size, capacity - 1 - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += n;
                if (size > max_size)
                        return -E2BIG;
        }

        buf[size] = '\0';
        *ret_data = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int read_file_full(const char *path, size_t max_size, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max_size)
                return -E2BIG;

        return read_fd_full(fd, st.st_size, max_size, ret_data, ret_size);
}

int write_full(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                size -= n;
        }
        return 0;
}

/* Splits path into a directory to fsync and the temp-file template "<dir>/.#<name>XXXXXX". */
static int atomic_paths(const char *path, char **ret_dir, char **ret_template) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
        char *template;

        if (isempty(name) || streq(name, ".") || streq(name, ".."))
                return -EISDIR;

        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, slash - path);
        if (!dir)
                return -ENOMEM;

        if (asprintf(&template, "%s/.#%sXXXXXX", streq(dir, "/") ? "" : dir, name) < 0)
                return -ENOMEM;

        *ret_dir = TAKE_PTR(dir);
        *ret_template = template;
        return 0;
}

/* Everything after mkostemp(): on failure the caller unlinks the temp file. */
static int write_and_rename(int fd, const char *template, const char *path, const void *data,
                            size_t size, mode_t mode) {
        int r;

        r = write_full(fd, data, size);
        if (r < 0)
                return r;
        /* fchmod, not umask: the caller's mode is what the file gets. */
        if (fchmod(fd, mode) < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        if (rename(template, path) < 0)
                return negative_errno();
        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *dir = NULL, *template = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        int r;

        r = atomic_paths(path, &dir, &template);
        if (r < 0)
                return r;

        fd = mkostemp(template, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        r = write_and_rename(fd, template, path, data, size, mode);
        if (r < 0) {
                (void) unlink(template);
                return r;
        }

        /* The rename is durable only once the directory is on disk. The new content is in
         * place already, so failing here reports an error about durability only. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (fsync(dfd) < 0)
                return negative_errno();
        return 0;
}

int mkdirat_durable(int dir_fd, const char *name, mode_t mode) {
        _cleanup_close_ int fd = -EBADF;

        if (mkdirat(dir_fd, name, mode) < 0)
                return negative_errno();
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fchmod(fd, mode) < 0)               /* not the umask's idea */
                return negative_errno();
        if (fsync(dir_fd) < 0)
                return negative_errno();
        return 0;
}

/* Whether path is relative and each of its components names an entry (not empty, ".", ".."). */
static bool relative_path_valid(const char *path) {
        if (isempty(path) || path[0] == '/')
                return false;
        for (const char *c = path, *end; *c; c = *end ? end + 1 : end) {
                size_t n;

                end = strchrnul(c, '/');
                n = end - c;
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (*end && !end[1])
                        return false;           /* a trailing slash: no file name */
        }
        return true;
}

int create_file_at(int dir_fd, const char *path, mode_t mode, int *ret_fd, int *ret_dir_fd) {
        _cleanup_close_ int parent = -EBADF, fd = -EBADF;
        char buf[PATH_MAX];
        char *component, *slash;
        int at = dir_fd, r;

        /* Checked whole before anything is made, so a bad path leaves no directory behind. */
        if (!relative_path_valid(path))
                return -EINVAL;
        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, path);

        for (component = buf; (slash = strchr(component, '/')); component = slash + 1) {
                int d;

                *slash = '\0';
                r = mkdirat_durable(at, component, 0755);
                if (r < 0 && r != -EEXIST)
                        return r;
                d = openat(at, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        return negative_errno();
                closep(&parent);
                parent = d;
                at = parent;
        }
        fd = openat(at, component, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        if (fchmod(fd, mode) < 0)               /* not the umask's idea */
                return negative_errno();
        if (ret_dir_fd) {
                if (parent < 0) {
                        parent = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
                        if (parent < 0)
                                return negative_errno();
                }
                *ret_dir_fd = TAKE_FD(parent);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int fsync_file_and_directory(int fd, int dir_fd) {
        if (fsync(fd) < 0)
                return negative_errno();
        if (fsync(dir_fd) < 0)
                return negative_errno();
        return 0;
}

int write_file_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_close_ int fd = -EBADF, parent = -EBADF;
        int r;

        r = create_file_at(dir_fd, path, mode, &fd, &parent);
        if (r < 0)
                return r;
        r = write_full(fd, data, size);
        if (r < 0)
                return r;
        return fsync_file_and_directory(fd, parent);
}

char *path_join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s/%s", a, b) < 0)
                return NULL;
        return p;
}

bool path_has_dot_dot(const char *path) {
        for (const char *p = path; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p += n;
        }
        return false;
}
