/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between the .c files of service/update/ (and its unit test); not part of the module's
 * interface.
 *
 * A transfer writes into an UpdateSink, which bounds it and (for files) hashes and stores it; a
 * transport (HTTP through libcurl, or a local directory) fetches one name of a mirror into a sink.
 * Transports report failures as a negative errno and a reason WITHOUT the URL ("HTTP 404",
 * "TLS certificate verification failed: ..."); update.c names the URL or the file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "update/update.h"
#include "util/macro.h"

/* Where the bytes of one transfer go: into memory (fd < 0) or into a file, hashed as they pass.
 * Accepts at most `limit` bytes; one more sets `overflow` and fails the transfer. */
typedef struct UpdateSink {
        int fd;                         /* not owned; -EBADF: memory */
        char *data;                     /* memory: the bytes, NUL-terminated */
        size_t capacity;
        EVP_MD_CTX *sha256;             /* file: running SHA-256 */
        uint64_t limit;
        uint64_t received;              /* bytes accepted so far */
        bool overflow;                  /* more than limit was offered */
        int error;                      /* negative errno of a failed write or allocation */
} UpdateSink;

void update_sink_init_memory(UpdateSink *s, uint64_t limit);
/* For a file: fd stays the caller's. -ENOMEM. */
int update_sink_init_file(UpdateSink *s, int fd, uint64_t limit);
void update_sink_done(UpdateSink *s);
/* Takes n more bytes. 0; -EFBIG (overflow set) past the limit; the write's negative errno (error
 * set); -ENOMEM. */
int update_sink_write(UpdateSink *s, const void *data, size_t n);
/* The SHA-256 of a file sink's bytes (once, at the end). */
int update_sink_sha256(UpdateSink *s, uint8_t ret[32]);

/* Limits with the defaults filled in and the sizes cut to the format's limits. */
UpdateLimits update_limits_resolve(const UpdateLimits *l);

/* HTTP(S) through libcurl: one easy handle, reused (keep-alive) for every name of one mirror. */
typedef struct UpdateHttp UpdateHttp;

/* base_url must end in '/'. The proxy, the CA file and the limits come from src. Reasons for
 * failures (a proxy or CA file that is not usable) in *ret_reason. */
int update_http_new(const UpdateSource *src, const char *base_url, UpdateHttp **ret,
                    char **ret_reason);
UpdateHttp *update_http_free(UpdateHttp *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(UpdateHttp *, update_http_free);
/* Fetches base_url + name into sink; 0 only for a complete HTTP 200 body. When the sink
 * overflowed or failed to write, returns -EFBIG or its error with no reason: the caller looks at
 * the sink. Otherwise the errno and a reason (see update.h). */
int update_http_get(UpdateHttp *h, const char *name, UpdateSink *sink, char **ret_reason);

/* A mirror in a local directory: the directory's path may go through symlinks, nothing inside
 * it may (as for a pack). */
typedef struct UpdateLocal UpdateLocal;

int update_local_new(const char *path, UpdateLocal **ret, char **ret_reason);
UpdateLocal *update_local_free(UpdateLocal *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(UpdateLocal *, update_local_free);
/* As update_http_get(), for the file name (relative, validated) below the directory. */
int update_local_get(UpdateLocal *l, const char *name, UpdateSink *sink, char **ret_reason);

/* Sets *ret_reason (if not NULL) to a formatted message; returns error. */
int update_reason(char **ret_reason, int error, const char *format, ...) _printf_(3, 4);
