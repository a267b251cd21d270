/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RestoredSet: an immutable array of RestoredFile with an atomic reference count.
 *
 * Owns each set's array. A set never changes after restored_set_new() returns it, which is what
 * lets worker threads read it without a lock; only the reference count is written, atomically.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "restored/restored.h"

struct RestoredSet {
        unsigned n_ref;
        size_t n;
        RestoredFile files[];
};

int restored_set_new(const RestoredSet *old, const RestoredFile *add, uint64_t now_usec,
                     RestoredSet **ret) {
        size_t n_old = old ? old->n : 0;
        RestoredSet *s;

        s = malloc(sizeof(RestoredSet) + (n_old + 1) * sizeof(RestoredFile));
        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        s->n = 0;
        for (size_t i = 0; i < n_old; i++)
                if (old->files[i].expires_usec > now_usec)
                        s->files[s->n++] = old->files[i];
        if (add && s->n < RESTORED_SET_MAX)
                s->files[s->n++] = *add;
        *ret = s;
        return 0;
}

RestoredSet *restored_set_ref(RestoredSet *s) {
        if (s)
                __atomic_add_fetch(&s->n_ref, 1, __ATOMIC_RELAXED);
        return s;
}

RestoredSet *restored_set_unref(RestoredSet *s) {
        /* Release what this thread did with the set before another frees it. */
        if (s && __atomic_sub_fetch(&s->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
                free(s);
        return NULL;
}

bool restored_set_contains(const RestoredSet *s, const VerdictKey *key, uint64_t now_usec) {
        for (size_t i = 0; s && i < s->n; i++)
                if (s->files[i].expires_usec > now_usec &&
                    verdict_key_same_file(&s->files[i].key, key))
                        return true;
        return false;
}

size_t restored_set_size(const RestoredSet *s) {
        return s ? s->n : 0;
}

size_t restored_set_live(const RestoredSet *s, uint64_t now_usec) {
        size_t n = 0;

        for (size_t i = 0; s && i < s->n; i++)
                n += s->files[i].expires_usec > now_usec;
        return n;
}
