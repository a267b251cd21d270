/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading small files whole, writing files atomically, and creating new files durably. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads a regular file of at most max_size bytes into a NUL-terminated buffer. Refuses a
 * symlink as the final component (-ELOOP), a non-regular file (-EBADFD) and anything larger
 * (-E2BIG). Opens with O_NONBLOCK so a FIFO never blocks. */
int read_file_full(const char *path, size_t max_size, char **ret_data, size_t *ret_size);

/* Reads from an open fd until EOF into a NUL-terminated buffer; -E2BIG past max_size bytes.
 * hint (e.g. st_size) sizes the first allocation only: the file may grow while it is read, and
 * /proc files report 0. */
int read_fd_full(int fd, size_t hint, size_t max_size, char **ret_data, size_t *ret_size);

/* Writes data to path atomically: a temp file in the same directory, fsync, rename over path,
 * fsync of the directory. A crash leaves the old or the new file, never a mix. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* "a/b", or NULL on OOM. */
char *path_join(const char *a, const char *b);

/* Writes all of data to fd, retrying short writes and EINTR. 0 or a negative errno. */
int write_full(int fd, const void *data, size_t size);

/* Whether path has a ".." component. Paths the daemon acts on must say where they go: a walk
 * component by component and the kernel's resolution would disagree about "..". */
bool path_has_dot_dot(const char *path);

/* Makes directory name below dir_fd with mode (fchmod: not the umask's idea) and fsync()s dir_fd so
 * the new entry survives a crash. -EEXIST when name exists (a symlink included: it is not
 * followed), other negative errno on failure. */
int mkdirat_durable(int dir_fd, const char *name, mode_t mode);

/* Creates the new file path below dir_fd, open for writing, with mode (fchmod). path is relative,
 * "/"-separated, without empty, "." or ".." components (else -EINVAL), shorter than PATH_MAX
 * (else -ENAMETOOLONG); missing directories on the way are made with mkdirat_durable(0755).
 * Nothing is followed: a symlink as a directory on the way fails (-ENOTDIR or -ELOOP), an
 * existing file or symlink at path fails with -EEXIST. Returns the file's fd and, when
 * ret_dir_fd is not NULL, an fd of the directory holding it, for fsync_file_and_directory() once
 * the caller has written the content. */
int create_file_at(int dir_fd, const char *path, mode_t mode, int *ret_fd, int *ret_dir_fd);

/* Makes a written file durable: fsync() of the file, then of the directory that holds it. */
int fsync_file_and_directory(int fd, int dir_fd);

/* create_file_at() + writing all of data + fsync_file_and_directory(). On failure a file that was
 * created stays (the caller's work directory is removed as a whole). 0 or a negative errno. */
int write_file_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode);
