/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading small files whole and writing files atomically. */
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
