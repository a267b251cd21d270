/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diagnostic bundles: named text entries, redacted as they are added, written as one zip
 * archive into an anonymous file that the daemon hands to its caller as a descriptor.
 *
 * The module knows nothing of the daemon: the caller (manager-diagnostic.c) renders its facts
 * into entries, and this module bounds, redacts and archives them. It never logs.
 */
#pragma once

#include <stddef.h>

#include "util/macro.h"

/* Bounds: one file copied into the bundle, and all entries together (input bytes, before
 * compression). What does not fit is cut and the cut is named in errors.txt. */
#define DIAGNOSTIC_FILE_MAX (1024U * 1024U)
#define DIAGNOSTIC_BUNDLE_MAX (8U * 1024U * 1024U)

typedef struct DiagnosticBundle DiagnosticBundle;

int diagnostic_bundle_new(DiagnosticBundle **ret);
DiagnosticBundle *diagnostic_bundle_free(DiagnosticBundle *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(DiagnosticBundle *, diagnostic_bundle_free);

/* Adds the entry name (a relative path inside the archive) holding data[0..size), with every
 * URL credential redacted. Data beyond what the bundle may still hold is cut (and noted).
 * Returns 0 or -ENOMEM / -EINVAL (a bad name). */
int diagnostic_bundle_add(DiagnosticBundle *b, const char *name, const char *data, size_t size);
/* The same with printf-style text. */
int diagnostic_bundle_addf(DiagnosticBundle *b, const char *name, const char *format, ...)
        _printf_(3, 4);
/* Adds a copy of the regular file at path (not following a final symlink, at most
 * DIAGNOSTIC_FILE_MAX bytes). A file that cannot be read is noted in errors.txt instead, so a
 * missing file never fails the bundle. Returns 0, or -ENOMEM. */
int diagnostic_bundle_add_file(DiagnosticBundle *b, const char *name, const char *path);
/* Records a problem met while collecting, for errors.txt. */
int diagnostic_bundle_note(DiagnosticBundle *b, const char *format, ...) _printf_(2, 3);

/* Writes the zip archive of all entries (and errors.txt when there are notes) to fd. */
int diagnostic_bundle_write_zip(DiagnosticBundle *b, int fd);
/* Writes the archive into a new anonymous memory file, sealed against changes and positioned at
 * its start; *ret_fd is the caller's. */
int diagnostic_bundle_to_memfd(DiagnosticBundle *b, int *ret_fd);
