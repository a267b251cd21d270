/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ThreatIndex: finding a record by id in constant time, which threat_store_get() and the
 * uniqueness check of new and loaded ids need with up to 15,000 records.
 *
 * Owns only its slot table; the entries belong to the store (or to the ThreatFile being read).
 * Entries are never removed one by one: the store builds a new index when records are dropped.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "threats/threats-internal.h"
#include "util/hash.h"
#include "util/macro.h"

/* FNV-1a, 64 bit: ids are random, any decent mix will do. */
static uint64_t threat_index_hash(const char *id) {
        return fnv1a64_add_string(FNV1A64_INIT, id);
}

void threat_index_done(ThreatIndex *x) {
        x->slots = mfree(x->slots);
        x->capacity = x->n = 0;
}

/* Inserts without checks; the table has a free slot. */
static void threat_index_put(ThreatEntry **slots, size_t capacity, ThreatEntry *e) {
        size_t i = threat_index_hash(e->threat.id) & (capacity - 1);

        while (slots[i])
                i = (i + 1) & (capacity - 1);
        slots[i] = e;
}

int threat_index_reserve(ThreatIndex *x, size_t count) {
        ThreatEntry **slots;
        size_t capacity = 16;

        while (capacity / 2 < count) {
                if (capacity > SIZE_MAX / 4)
                        return -ENOMEM;
                capacity *= 2;
        }
        if (capacity <= x->capacity)
                return 0;

        slots = calloc(capacity, sizeof(ThreatEntry *));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < x->capacity; i++)
                if (x->slots[i])
                        threat_index_put(slots, capacity, x->slots[i]);
        free(x->slots);
        x->slots = slots;
        x->capacity = capacity;
        return 0;
}

ThreatEntry *threat_index_get(const ThreatIndex *x, const char *id) {
        size_t i;

        if (x->capacity == 0)
                return NULL;
        for (i = threat_index_hash(id) & (x->capacity - 1); x->slots[i];
             i = (i + 1) & (x->capacity - 1))
                if (streq(x->slots[i]->threat.id, id))
                        return x->slots[i];
        return NULL;
}

int threat_index_add(ThreatIndex *x, ThreatEntry *e) {
        int r;

        if (threat_index_get(x, e->threat.id))
                return -EEXIST;
        r = threat_index_reserve(x, x->n + 1);
        if (r < 0)
                return r;
        threat_index_put(x->slots, x->capacity, e);
        x->n++;
        return 0;
}

int threat_index_build(ThreatEntry * const *items, size_t n, ThreatIndex *ret) {
        ThreatIndex x = THREAT_INDEX_INIT;
        int r;

        r = threat_index_reserve(&x, n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                threat_index_put(x.slots, x.capacity, items[i]);
        x.n = n;
        *ret = x;
        return 0;
}
