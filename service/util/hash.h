/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FNV-1a, 64 bit: the one non-cryptographic hash of the daemon. It is incremental (start from
 * FNV1A64_INIT, add bytes or strings, read the value at any point), so a single pass over a path
 * gives the hash of each of its ancestors, and a seed can be mixed into the start value.
 *
 * Values computed with it are persisted (the settings journal names settings.json by it): the
 * arithmetic must never change. Not for input chosen by an adversary who gains from collisions.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT UINT64_C(0xcbf29ce484222325)
#define FNV1A64_PRIME UINT64_C(0x100000001b3)

/* h with one more byte. */
static inline uint64_t fnv1a64_add_byte(uint64_t h, unsigned char c) {
        return (h ^ c) * FNV1A64_PRIME;
}

/* h with n more bytes from p (p may be NULL when n is 0). */
static inline uint64_t fnv1a64_add(uint64_t h, const void *p, size_t n) {
        const unsigned char *b = p;

        for (size_t i = 0; i < n; i++)
                h = fnv1a64_add_byte(h, b[i]);
        return h;
}

/* h with the bytes of s, without its NUL; a NULL s adds nothing. */
static inline uint64_t fnv1a64_add_string(uint64_t h, const char *s) {
        for (; s && *s; s++)
                h = fnv1a64_add_byte(h, (unsigned char) *s);
        return h;
}

/* The hash of n bytes at p. */
static inline uint64_t fnv1a64(const void *p, size_t n) {
        return fnv1a64_add(FNV1A64_INIT, p, n);
}
