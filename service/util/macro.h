/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ownership helpers shared by the daemon, the CLI and the tests.
 *
 * _cleanup_(f) runs f(&var) when var leaves scope; TAKE_PTR()/TAKE_FD() hand ownership over by
 * returning the value and clearing the variable, so the cleanup does nothing.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _fallthrough_ __attribute__((fallthrough))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Declares name##p(type *p) that calls func(*p) when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type *p) {                   \
                if (*p)                                         \
                        (void) func(*p);                        \
        }

#define TAKE_PTR(p)                                             \
        ({                                                      \
                __typeof__(p) _tp = (p);                        \
                (p) = NULL;                                     \
                _tp;                                            \
        })

#define TAKE_FD(fd)                                             \
        ({                                                      \
                int _tfd = (fd);                                \
                (fd) = -EBADF;                                  \
                _tfd;                                           \
        })

/* Convert a libc -1/errno result into a negative errno right at the call. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)

/* free() that returns NULL, for `p = mfree(p);`. */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline int isempty(const char *s) {
        return !s || !s[0];
}

/* streq() that accepts NULL: two NULLs are equal, NULL and a string are not. */
#define streq_ptr(a, b) ((!(a) && !(b)) || ((a) && (b) && streq((a), (b))))

/* Arguments are evaluated twice: pass plain values. <sys/param.h> has the same definitions. */
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Whether x equals one of the (integer) values that follow. */
#define IN_SET(x, ...)                                                  \
        ({                                                              \
                const __typeof__(x) _values[] = { __VA_ARGS__ };        \
                bool _found = false;                                    \
                for (size_t _i = 0; _i < ELEMENTSOF(_values); _i++)     \
                        if (_values[_i] == (x)) {                       \
                                _found = true;                          \
                                break;                                  \
                        }                                               \
                _found;                                                 \
        })
