/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * UpdateSink: the bounded destination of one transfer. Memory sinks hold a manifest or a
 * signature (at most a few MiB, grown as needed); file sinks write a listed file as it arrives and
 * hash it on the way, so that a file is never read back to be checked.
 *
 * The limit is enforced here, whatever the transport announced: a transfer that offers a byte
 * more than the limit is refused (the transport then aborts it).
 *
 * State: the sink it is given; the file descriptor belongs to the caller. No logging.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "update/update-internal.h"
#include "util/macro.h"

void update_sink_init_memory(UpdateSink *s, uint64_t limit) {
        *s = (UpdateSink) {
                .fd = -EBADF,
                .limit = limit,
        };
}

int update_sink_init_file(UpdateSink *s, int fd, uint64_t limit) {
        EVP_MD_CTX *ctx;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                ERR_clear_error();
                return -EIO;
        }
        *s = (UpdateSink) {
                .fd = fd,
                .sha256 = ctx,
                .limit = limit,
        };
        return 0;
}

void update_sink_done(UpdateSink *s) {
        free(s->data);
        EVP_MD_CTX_free(s->sha256);
        *s = (UpdateSink) { .fd = -EBADF };
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Makes room for n more bytes and the NUL; the total is at most limit + 1. */
static int sink_reserve(UpdateSink *s, size_t n) {
        size_t need = (size_t) s->received + n + 1, c;
        char *d;

        if (need <= s->capacity)
                return 0;
        c = MAX(need, MAX(s->capacity * 2, (size_t) 4096));
        c = MIN(c, (size_t) s->limit + 1);
        d = realloc(s->data, c);
        if (!d)
                return -ENOMEM;
        s->data = d;
        s->capacity = c;
        return 0;
}

int update_sink_write(UpdateSink *s, const void *data, size_t n) {
        int r;

        if (s->overflow)
                return -EFBIG;
        if (s->error < 0)
                return s->error;
        if (n > s->limit - s->received) {
                s->overflow = true;
                return -EFBIG;
        }
        if (n == 0)
                return 0;

        if (s->fd < 0) {
                r = sink_reserve(s, n);
                if (r < 0) {
                        s->error = r;
                        return r;
                }
                memcpy(s->data + s->received, data, n);
                s->data[s->received + n] = '\0';
        } else {
                r = write_all(s->fd, data, n);
                if (r < 0) {
                        s->error = r;
                        return r;
                }
                if (EVP_DigestUpdate(s->sha256, data, n) != 1) {
                        ERR_clear_error();
                        s->error = -EIO;
                        return -EIO;
                }
        }
        s->received += n;
        return 0;
}

int update_sink_sha256(UpdateSink *s, uint8_t ret[32]) {
        unsigned len = 0;

        if (!s->sha256)
                return -EINVAL;
        if (EVP_DigestFinal_ex(s->sha256, ret, &len) != 1 || len != 32) {
                ERR_clear_error();
                return -EIO;
        }
        return 0;
}
