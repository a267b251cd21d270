/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backlog of detections the history could not take yet (a full or failing disk): copies of
 * their ThreatRecordInput, bounded, without repeats, with a count of those that did not fit.
 * The daemon records them later with threat_store_record_many(), so that a detection is never
 * lost while the disk refuses writes.
 *
 * Owns its copies only; knows nothing of the store. Main thread only, like the store.
 */
#include <stdlib.h>
#include <string.h>

#include "threats/threats.h"

typedef struct ThreatBacklogItem {
        ThreatRecordInput in;           /* every string below belongs to the item */
        uint32_t tag;
} ThreatBacklogItem;

struct ThreatBacklog {
        ThreatBacklogItem *items;       /* oldest first */
        ThreatRecordInput *inputs;      /* items[i].in, contiguous for threat_store_record_many() */
        size_t n, max;
        uint64_t dropped;
};

static void item_done(ThreatBacklogItem *it) {
        free((char *) it->in.name);
        free((char *) it->in.type);
        free((char *) it->in.path);
        free((char *) it->in.member);
        free((char *) it->in.sha256);
        free((char *) it->in.detail);
        *it = (ThreatBacklogItem) {};
}

static int strdup_opt(const char *s, const char **ret) {
        char *c;

        *ret = NULL;
        if (!s)
                return 0;
        c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

/* Copies in into it; on failure it holds what was copied (item_done() frees it). */
static int item_copy(ThreatBacklogItem *it, const ThreatRecordInput *in, uint32_t tag) {
        *it = (ThreatBacklogItem) { .in = *in, .tag = tag };
        it->in.name = it->in.type = it->in.path = it->in.member = it->in.sha256 =
                it->in.detail = NULL;
        if (strdup_opt(in->name, &it->in.name) < 0 || strdup_opt(in->type, &it->in.type) < 0 ||
            strdup_opt(in->path, &it->in.path) < 0 ||
            strdup_opt(in->member, &it->in.member) < 0 ||
            strdup_opt(in->sha256, &it->in.sha256) < 0 ||
            strdup_opt(in->detail, &it->in.detail) < 0)
                return -ENOMEM;
        return 0;
}

/* The same detection again: the same file, member, inode, content and name. */
static bool input_same(const ThreatRecordInput *a, const ThreatRecordInput *b) {
        return streq_ptr(a->path, b->path) && streq_ptr(a->member, b->member) &&
               a->has_identity == b->has_identity && a->dev == b->dev && a->ino == b->ino &&
               streq(a->sha256 ?: "", b->sha256 ?: "") && streq_ptr(a->name, b->name);
}

int threat_backlog_new(size_t max, ThreatBacklog **ret) {
        ThreatBacklog *b;

        if (max == 0)
                return -EINVAL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->max = max;
        *ret = b;
        return 0;
}

ThreatBacklog *threat_backlog_free(ThreatBacklog *b) {
        if (!b)
                return NULL;
        threat_backlog_clear(b);
        free(b->items);
        free(b->inputs);
        return mfree(b);
}

/* Grows the arrays by one slot when they are full; memory grows with the backlog only. */
static int backlog_reserve(ThreatBacklog *b) {
        ThreatBacklogItem *items;
        ThreatRecordInput *inputs;

        items = reallocarray(b->items, b->n + 1, sizeof(*items));
        if (!items)
                return -ENOMEM;
        b->items = items;
        inputs = reallocarray(b->inputs, b->n + 1, sizeof(*inputs));
        if (!inputs)
                return -ENOMEM;
        b->inputs = inputs;
        return 0;
}

int threat_backlog_add(ThreatBacklog *b, const ThreatRecordInput *in, uint32_t tag) {
        ThreatBacklogItem it;
        int r;

        for (size_t i = 0; i < b->n; i++)
                if (input_same(&b->items[i].in, in))
                        return 0;
        if (b->n >= b->max) {
                b->dropped++;
                return -ENOBUFS;
        }
        r = backlog_reserve(b);
        if (r < 0) {
                b->dropped++;
                return r;
        }
        r = item_copy(&it, in, tag);
        if (r < 0) {
                item_done(&it);
                b->dropped++;
                return r;
        }
        b->items[b->n] = it;
        b->inputs[b->n] = it.in;
        b->n++;
        return 1;
}

size_t threat_backlog_count(const ThreatBacklog *b) {
        return b ? b->n : 0;
}

uint64_t threat_backlog_dropped(const ThreatBacklog *b) {
        return b ? b->dropped : 0;
}

const ThreatRecordInput *threat_backlog_inputs(const ThreatBacklog *b) {
        return b && b->n > 0 ? b->inputs : NULL;
}

uint32_t threat_backlog_tag(const ThreatBacklog *b, size_t i) {
        return i < threat_backlog_count(b) ? b->items[i].tag : 0;
}

void threat_backlog_clear(ThreatBacklog *b) {
        for (size_t i = 0; i < b->n; i++)
                item_done(&b->items[i]);
        b->n = 0;
}
