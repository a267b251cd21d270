/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diagnostic bundles (see diagnostic.h).
 *
 * Owns: the entries of one bundle (names and redacted copies of their data) and the notes for
 * errors.txt. Touches no daemon state; the descriptor it creates is handed to the caller.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diagnostic/diagnostic.h"
#include "util/fileio.h"
#include "util/redact.h"
#include "util/strv.h"

typedef struct DiagnosticEntry {
        char *name;
        char *data;
        size_t size;
} DiagnosticEntry;

struct DiagnosticBundle {
        DiagnosticEntry *entries;
        size_t n;
        size_t total;                   /* bytes of all entries' data */
        char **notes;
};

int diagnostic_bundle_new(DiagnosticBundle **ret) {
        DiagnosticBundle *b = calloc(1, sizeof(*b));

        if (!b)
                return -ENOMEM;
        *ret = b;
        return 0;
}

DiagnosticBundle *diagnostic_bundle_free(DiagnosticBundle *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n; i++) {
                free(b->entries[i].name);
                free(b->entries[i].data);
        }
        free(b->entries);
        strv_free(b->notes);
        return mfree(b);
}

int diagnostic_bundle_note(DiagnosticBundle *b, const char *format, ...) {
        char *line = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&line, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = strv_consume(&b->notes, line);
        return r < 0 ? r : 0;
}

/* An entry name is a relative path of plain components: the archive must never tell an
 * extracting tool to write outside its directory. */
static bool entry_name_valid(const char *name) {
        if (!name || !*name || name[0] == '/' || strlen(name) > 200)
                return false;
        for (const char *p = name; *p; p = strchrnul(p, '/'), p += !!*p)
                if (strneq(p, "..", 2) && (p[2] == '/' || p[2] == '\0'))
                        return false;
        return !strstr(name, "//") && name[strlen(name) - 1] != '/';
}

int diagnostic_bundle_add(DiagnosticBundle *b, const char *name, const char *data, size_t size) {
        _cleanup_free_ char *copy = NULL, *n = NULL;
        DiagnosticEntry *entries;
        size_t room = DIAGNOSTIC_BUNDLE_MAX - b->total, copy_size;
        int r;

        if (!entry_name_valid(name))
                return -EINVAL;
        if (size > room) {
                r = diagnostic_bundle_note(b, "'%s' cut to %zu of %zu bytes: the bundle is full",
                                           name, room, size);
                if (r < 0)
                        return r;
                size = room;
        }
        r = redact_url_credentials(data ?: "", size, &copy, &copy_size);
        if (r < 0)
                return r;
        /* Text (no NUL inside) also loses URL query strings: an update mirror's often carries a
         * signed token, and a bundle leaves the machine. */
        if (!memchr(copy, '\0', copy_size)) {
                _cleanup_free_ char *text = TAKE_PTR(copy);

                r = redact_url_secrets(text, &copy);
                if (r < 0)
                        return r;
                copy_size = strlen(copy);
        }
        n = strdup(name);
        if (!n)
                return -ENOMEM;
        entries = reallocarray(b->entries, b->n + 1, sizeof(*entries));
        if (!entries)
                return -ENOMEM;
        b->entries = entries;
        b->entries[b->n++] = (DiagnosticEntry) {
                .name = TAKE_PTR(n), .data = TAKE_PTR(copy), .size = copy_size,
        };
        /* Count what was asked for, not the redacted size, so the bound holds on input. */
        b->total += size;
        return 0;
}

int diagnostic_bundle_addf(DiagnosticBundle *b, const char *name, const char *format, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&text, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return diagnostic_bundle_add(b, name, text, (size_t) r);
}

int diagnostic_bundle_add_file(DiagnosticBundle *b, const char *name, const char *path) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t size = 0;
        int r;

        /* O_NONBLOCK: a FIFO planted where a file is expected must not stall the daemon. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                r = -errno;
        else if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = -EBADFD;
        else
                r = read_fd_full(fd, (size_t) st.st_size, DIAGNOSTIC_FILE_MAX, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return diagnostic_bundle_note(b, "'%s' could not be read: %s", path,
                                              r == -EBADFD ? "not a regular file" :
                                              strerror(-r));
        return diagnostic_bundle_add(b, name, data, size);
}

/* One stored file in the archive, owned by root-less readers: 0600, the time of the bundle. */
static int zip_add(struct archive *a, const char *name, const char *data, size_t size,
                   time_t now) {
        struct archive_entry *e = archive_entry_new();
        int r = -EIO;

        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0600);
        archive_entry_set_size(e, (la_int64_t) size);
        archive_entry_set_mtime(e, now, 0);
        if (archive_write_header(a, e) == ARCHIVE_OK &&
            (size == 0 || archive_write_data(a, data, size) == (la_ssize_t) size) &&
            archive_write_finish_entry(a) == ARCHIVE_OK)
                r = 0;
        archive_entry_free(e);
        return r;
}

int diagnostic_bundle_write_zip(DiagnosticBundle *b, int fd) {
        struct archive *a = archive_write_new();
        time_t now = time(NULL);
        int r = 0;

        if (!a)
                return -ENOMEM;
        /* No padding after the central directory: zip readers look for it at the very end. */
        if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
            archive_write_open_fd(a, fd) != ARCHIVE_OK)
                r = -EIO;
        for (size_t i = 0; r >= 0 && i < b->n; i++)
                r = zip_add(a, b->entries[i].name, b->entries[i].data, b->entries[i].size, now);
        if (r >= 0 && b->notes) {
                _cleanup_free_ char *text = strv_join(b->notes, "\n");

                r = text ? zip_add(a, "errors.txt", text, strlen(text), now) : -ENOMEM;
        }
        if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
                r = -EIO;
        archive_write_free(a);
        return r;
}

int diagnostic_bundle_to_memfd(DiagnosticBundle *b, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = memfd_create("mdatp-diagnostic", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        r = diagnostic_bundle_write_zip(b, fd);
        if (r < 0)
                return r;
        /* The reader shares this file: sealed, it cannot change what the daemon produced. */
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
