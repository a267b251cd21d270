/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small string-keyed hash map for the exclusion set: open addressing, linear probing, keys owned
 * by the map. It is filled while a set is compiled (main thread) and only read afterwards, from
 * any thread, without locks; nothing here is thread-aware.
 *
 * Owns the KeyMap it is given; touches nothing else.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exclusions/exclusions-internal.h"
#include "util/hash.h"
#include "util/macro.h"

uint64_t excl_hash(const char *s, size_t n) {
        return fnv1a64(s, n);
}

/* FNV's low bits are weak for short keys: mix before masking. */
static size_t slot_of(uint64_t h, size_t n_slots) {
        h ^= h >> 31;
        h *= UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 29;
        return (size_t) h & (n_slots - 1);
}

/* Puts entry index i (0-based) into a slot of a table with room for it. */
static void slots_insert(uint32_t *slots, size_t n_slots, uint64_t hash, uint32_t i) {
        size_t s = slot_of(hash, n_slots);

        while (slots[s])
                s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
}

/* Doubles the slot table (or creates it) and rehashes every entry. */
static int keymap_grow_slots(KeyMap *m) {
        size_t n = m->n_slots ? m->n_slots * 2 : 16;
        uint32_t *slots;

        if (n > SIZE_MAX / sizeof(uint32_t))
                return -E2BIG;
        slots = calloc(n, sizeof(uint32_t));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_entries; i++)
                slots_insert(slots, n, m->entries[i].hash, (uint32_t) i);
        free(m->slots);
        m->slots = slots;
        m->n_slots = n;
        return 0;
}

const KeyEntry *keymap_find(const KeyMap *m, const char *key, size_t len, uint64_t hash) {
        if (m->n_slots == 0)
                return NULL;
        for (size_t s = slot_of(hash, m->n_slots);; s = (s + 1) & (m->n_slots - 1)) {
                uint32_t i = m->slots[s];
                const KeyEntry *e;

                if (i == 0)
                        return NULL;
                e = &m->entries[i - 1];
                if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
                        return e;
        }
}

int keymap_add(KeyMap *m, const char *key, size_t len) {
        uint64_t hash = excl_hash(key, len);
        const KeyEntry *found;
        char *copy;
        int r;

        found = keymap_find(m, key, len, hash);
        if (found)
                return (int) (found - m->entries);

        if (m->n_entries >= INT32_MAX - 1)
                return -E2BIG;
        if ((m->n_entries + 1) * 2 > m->n_slots) {
                r = keymap_grow_slots(m);
                if (r < 0)
                        return r;
        }
        if (m->n_entries == m->n_allocated) {
                size_t n = m->n_allocated ? m->n_allocated * 2 : 8;
                KeyEntry *entries = reallocarray(m->entries, n, sizeof(KeyEntry));

                if (!entries)
                        return -ENOMEM;
                m->entries = entries;
                m->n_allocated = n;
        }
        copy = strndup(key, len);
        if (!copy)
                return -ENOMEM;

        m->entries[m->n_entries] = (KeyEntry) {
                .key = copy,
                .len = len,
                .hash = hash,
        };
        slots_insert(m->slots, m->n_slots, hash, (uint32_t) m->n_entries);
        if (m->n_entries == 0 || len < m->min_len)
                m->min_len = len;
        if (m->n_entries == 0 || len > m->max_len)
                m->max_len = len;
        return (int) m->n_entries++;
}

void keymap_done(KeyMap *m) {
        for (size_t i = 0; i < m->n_entries; i++)
                free(m->entries[i].key);
        m->entries = mfree(m->entries);
        m->slots = mfree(m->slots);
        *m = (KeyMap) KEY_MAP_INIT;
}
