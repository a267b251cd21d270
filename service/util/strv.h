/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NULL-terminated string vectors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        (void) strv_free(*l);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

size_t strv_length(char * const *l);
bool strv_contains(char * const *l, const char *s);
/* Appends a copy of s; -ENOMEM on failure (l unchanged). */
int strv_extend(char ***l, const char *s);
/* Appends s itself, taking ownership (freed on failure too). */
int strv_consume(char ***l, char *s);
char **strv_copy(char * const *l);
bool strv_equal(char * const *a, char * const *b);
/* "a, b, c"; caller frees. */
char *strv_join(char * const *l, const char *separator);
static inline bool strv_isempty(char * const *l) { return !l || !*l; }

/* A NULL-terminated literal list: STRV_MAKE("a", "b"). */
#define STRV_MAKE(...) ((char **) ((const char *[]) { __VA_ARGS__, NULL }))

/* The absolute paths of a colon-separated list ("/a:/b"; other entries are dropped), as a strv
 * that may be empty but is never NULL. 0 or -ENOMEM. */
int strv_split_paths(const char *value, char ***ret);
