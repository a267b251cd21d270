/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files restored from the quarantine lately: scans and real-time protection leave such a file
 * alone until its grace period ends, while it is unchanged.
 *
 * A RestoredSet is an immutable, refcounted snapshot. The main thread, which alone owns the
 * current one, builds a new set beside the old when a file is restored or entries expire and
 * swaps it whole; scan jobs and real-time protection take a reference and read it from any
 * thread without a lock. References may be dropped from any thread. This module never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"
#include "verdict/verdict.h"

/* More restored files than this at once are not remembered (the file is merely detected
 * again). */
#define RESTORED_SET_MAX 1024U

/* One restored file: its identity (key.generation is ignored) and the end of its grace,
 * CLOCK_REALTIME µs. */
typedef struct RestoredFile {
        VerdictKey key;
        uint64_t expires_usec;
} RestoredFile;

typedef struct RestoredSet RestoredSet;

/* A new set holding the entries of old (NULL: none) still in their grace at now_usec, and add
 * (NULL: nothing). When old is full, add is left out. Returns 0 and a set with one reference,
 * or -ENOMEM. old is left as it was. */
int restored_set_new(const RestoredSet *old, const RestoredFile *add, uint64_t now_usec,
                     RestoredSet **ret);
/* Takes a reference (atomically). NULL-safe; returns s. */
RestoredSet *restored_set_ref(RestoredSet *s);
/* Drops a reference, freeing the set with the last one. NULL-safe; returns NULL. */
RestoredSet *restored_set_unref(RestoredSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(RestoredSet *, restored_set_unref);

/* Whether key names an unchanged file of s still in its grace at now_usec. NULL-safe (false). */
bool restored_set_contains(const RestoredSet *s, const VerdictKey *key, uint64_t now_usec);
/* Entries held, expired or not. NULL-safe (0). */
size_t restored_set_size(const RestoredSet *s);
/* Entries still in their grace at now_usec. NULL-safe (0). */
size_t restored_set_live(const RestoredSet *s, uint64_t now_usec);
