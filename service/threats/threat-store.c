/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ThreatStore: the threat history in memory and in its file.
 *
 * Owns every record (an array of ThreatEntry pointers, oldest first, and an index by id), the
 * file at its path, its temp files and the "<path>.invalid-*" files it creates. It does not
 * touch the quarantine: records dropped by the limits are reported to the prune handler, whose
 * owner deals with what belonged to them.
 *
 * Every change follows one pattern: work out the new state beside the current one (allocating
 * everything the switch will need), write it to disk, and only then switch to it, which cannot
 * fail. When the write fails, the new state is thrown away and the store is as it was.
 * A change rewrites the whole file, but each record's JSON is cached in its entry, so a save
 * costs one serialisation of the changed records, one copy of the others and the atomic write.
 *
 * Main thread only; no locks. Modules below bus/ do not log: callers get errors and messages.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "threats/threats-internal.h"
#include "threats/threats.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_DAY (UINT64_C(86400) * USEC_PER_SEC)

struct ThreatStore {
        char *path;
        bool loaded;                    /* threat_store_load() succeeded once */
        bool busy;                      /* in the prune handler: no changes */

        ThreatEntry **items;            /* oldest first */
        size_t n_items;
        ThreatIndex index;

        unsigned retention_days;        /* 0: no limit */
        size_t max_items;               /* 0: no limit */
        size_t file_max;

        ThreatStorePruneHandler prune_handler;
        void *prune_userdata;
};

static uint64_t threat_now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

int threat_store_new(const char *path, ThreatStore **ret) {
        ThreatStore *s;

        if (isempty(path))
                return -EINVAL;

        s = calloc(1, sizeof(ThreatStore));
        if (!s)
                return -ENOMEM;
        *s = (ThreatStore) {
                .path = strdup(path),
                .index = THREAT_INDEX_INIT,
                .retention_days = THREAT_STORE_RETENTION_DAYS_DEFAULT,
                .max_items = THREAT_STORE_MAX_ITEMS_DEFAULT,
                .file_max = THREAT_STORE_FILE_MAX,
        };
        if (!s->path) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

static void threat_store_clear(ThreatStore *s) {
        for (size_t i = 0; i < s->n_items; i++)
                threat_entry_free(s->items[i]);
        s->items = mfree(s->items);
        s->n_items = 0;
        threat_index_done(&s->index);
}

ThreatStore *threat_store_free(ThreatStore *s) {
        if (!s)
                return NULL;
        threat_store_clear(s);
        free(s->path);
        return mfree(s);
}

void threat_store_set_limits(ThreatStore *s, unsigned retention_days, size_t max_items) {
        s->retention_days = retention_days;
        s->max_items = max_items;
}

void threat_store_set_prune_handler(ThreatStore *s, ThreatStorePruneHandler handler,
                                    void *userdata) {
        s->prune_handler = handler;
        s->prune_userdata = userdata;
}

void threat_store_set_file_max(ThreatStore *s, size_t max) {
        s->file_max = MIN(max, (size_t) THREAT_STORE_FILE_MAX);
}

/* ---- saving ---- */

static const char threat_file_head[] = "{\"version\":1,\"threats\":[\n";
static const char threat_file_tail[] = "]}\n";

/* Writes items[0..n) as the file: one record per line, so the file reads well with grep and
 * diff. Fills the entries' JSON caches on the way (harmless when the save then fails: a cache
 * always matches its record). Returns 0, -E2BIG (larger than the store's file_max, which keeps
 * every saved file loadable), -ENOMEM or write_file_atomic()'s error. */
static int threat_store_save(ThreatStore *s, ThreatEntry * const *items, size_t n) {
        size_t size = strlen(threat_file_head) + strlen(threat_file_tail), o = 0;
        _cleanup_free_ char *buf = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = threat_entry_serialize(items[i]);
                if (r < 0)
                        return r;
                size += items[i]->json_size + 2;        /* ",\n" or "\n" */
                if (size > s->file_max)
                        return -E2BIG;
        }
        if (size > s->file_max)
                return -E2BIG;

        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, threat_file_head, strlen(threat_file_head));
        o += strlen(threat_file_head);
        for (size_t i = 0; i < n; i++) {
                memcpy(buf + o, items[i]->json, items[i]->json_size);
                o += items[i]->json_size;
                if (i + 1 < n)
                        buf[o++] = ',';
                buf[o++] = '\n';
        }
        memcpy(buf + o, threat_file_tail, strlen(threat_file_tail));
        o += strlen(threat_file_tail);

        return write_file_atomic(s->path, buf, o, 0600);
}

/* ---- changing ---- */

/* A change being prepared: the records the store will hold, the dropped ones, and the index. */
typedef struct ThreatChange {
        ThreatEntry **items;            /* the new array (capacity n_items) */
        size_t n_items;
        ThreatEntry **added;            /* the new entries, owned by the change until it is
                                         * committed */
        size_t n_added;
        char **dropped_ids;             /* strv, oldest first; empty when none */
        bool *drop;                     /* per current item */
        size_t n_dropped;
        ThreatIndex index;              /* the new index, built when records are dropped */
} ThreatChange;

static void threat_change_done(ThreatChange *c) {
        for (size_t i = 0; i < c->n_added; i++)
                threat_entry_free(c->added[i]);
        free(c->added);
        free(c->items);
        strv_free(c->dropped_ids);
        free(c->drop);
        threat_index_done(&c->index);
        *c = (ThreatChange) {};
}

/* Marks in c->drop the current records to drop: those detected more than retention_days
 * before now, then the oldest beyond max_items, counting the c->n_added records about to be
 * added (which are never dropped). Returns 0 or -ENOMEM. */
static int threat_change_plan(ThreatChange *c, const ThreatStore *s, uint64_t now,
                              unsigned retention_days, size_t max_items) {
        size_t n_new = c->n_added, remaining;

        c->drop = calloc(MAX(s->n_items, (size_t) 1), sizeof(bool));
        if (!c->drop)
                return -ENOMEM;

        if (retention_days > 0) {
                uint64_t limit = (uint64_t) retention_days * USEC_PER_DAY;

                for (size_t i = 0; i < s->n_items; i++) {
                        uint64_t detected = s->items[i]->threat.detected;

                        if (detected < now && now - detected > limit) {
                                c->drop[i] = true;
                                c->n_dropped++;
                        }
                }
        }

        remaining = s->n_items - c->n_dropped + n_new;
        for (size_t i = 0; max_items > 0 && i < s->n_items && remaining > max_items; i++)
                if (!c->drop[i]) {
                        c->drop[i] = true;
                        c->n_dropped++;
                        remaining--;
                }
        return 0;
}

/* Builds the new array (kept records, then the added ones), the dropped ids and, when records
 * go, the new index; when none go, reserves room in the store's index so that adding to it
 * cannot fail. Returns 0 or -ENOMEM. */
static int threat_change_prepare(ThreatChange *c, ThreatStore *s) {
        size_t n = s->n_items - c->n_dropped + c->n_added, o = 0, d = 0;

        c->items = reallocarray(NULL, MAX(n, (size_t) 1), sizeof(ThreatEntry *));
        if (!c->items)
                return -ENOMEM;
        c->dropped_ids = calloc(c->n_dropped + 1, sizeof(char *));
        if (!c->dropped_ids)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_items; i++) {
                if (!c->drop[i]) {
                        c->items[o++] = s->items[i];
                        continue;
                }
                if (d >= c->n_dropped)
                        return -EINVAL;         /* cannot happen: the plan counted them */
                c->dropped_ids[d] = strdup(s->items[i]->threat.id);
                if (!c->dropped_ids[d])
                        return -ENOMEM;
                d++;
        }
        for (size_t i = 0; i < c->n_added; i++)
                c->items[o++] = c->added[i];
        c->n_items = o;

        if (c->n_dropped > 0)
                return threat_index_build(c->items, c->n_items, &c->index);
        return threat_index_reserve(&s->index, c->n_items);
}

/* Switches the store to the prepared state; cannot fail. Hands the dropped ids to the caller. */
static char **threat_change_commit(ThreatChange *c, ThreatStore *s) {
        for (size_t i = 0; i < s->n_items; i++)
                if (c->drop[i])
                        threat_entry_free(s->items[i]);
        free(s->items);
        s->items = TAKE_PTR(c->items);
        s->n_items = c->n_items;

        if (c->n_dropped > 0) {
                threat_index_done(&s->index);
                s->index = c->index;
                c->index = THREAT_INDEX_INIT;
        } else
                /* Room was reserved and the ids were checked: this cannot fail. */
                for (size_t i = 0; i < c->n_added; i++)
                        (void) threat_index_add(&s->index, c->added[i]);

        c->added = mfree(c->added);
        c->n_added = 0;
        return TAKE_PTR(c->dropped_ids);
}

/* Tells the prune handler which records the limits dropped; the store may not change meanwhile. */
static void threat_store_notify_pruned(ThreatStore *s, char * const *ids) {
        if (!ids || !ids[0] || !s->prune_handler)
                return;
        s->busy = true;
        s->prune_handler(s, ids, s->prune_userdata);
        s->busy = false;
}

/* Checks whether the store may change now: 0, -ESTALE (not loaded) or -EBUSY. */
static int threat_store_writable(const ThreatStore *s) {
        if (!s->loaded)
                return -ESTALE;
        if (s->busy)
                return -EBUSY;
        return 0;
}

/* A new entry from a detection, without its id: 0, -EINVAL, -ENAMETOOLONG or -ENOMEM. */
static int threat_entry_new(const ThreatRecordInput *in, uint64_t now, ThreatEntry **ret) {
        _cleanup_(threat_entry_freep) ThreatEntry *e = NULL;
        _cleanup_free_ char *detail = NULL;
        size_t path_len;
        int r;

        if (!threat_name_valid(in->name) || !threat_type_valid(in->type) || isempty(in->path) ||
            !threat_source_to_string(in->source) || !threat_status_to_string(in->status) ||
            in->detected > INT64_MAX)
                return -EINVAL;
        path_len = strnlen(in->path, THREAT_PATH_MAX + 1);
        if (path_len > THREAT_PATH_MAX)
                return -ENAMETOOLONG;
        if (in->member && isempty(in->member))
                return -EINVAL;
        if (in->member && strnlen(in->member, THREAT_PATH_MAX + 1) > THREAT_PATH_MAX)
                return -ENAMETOOLONG;

        e = calloc(1, sizeof(ThreatEntry));
        if (!e)
                return -ENOMEM;
        if (!threat_sha256_normalize(in->sha256, e->threat.sha256))
                return -EINVAL;
        r = threat_detail_sanitize(in->detail, &detail);
        if (r < 0)
                return r;

        e->threat.name = strdup(in->name);
        e->threat.type = strdup(in->type);
        e->threat.path = strndup(in->path, path_len);
        e->threat.member = in->member ? strdup(in->member) : NULL;
        e->threat.history = calloc(1, sizeof(ThreatHistoryEntry));
        if (!e->threat.name || !e->threat.type || !e->threat.path || !e->threat.history ||
            (in->member && !e->threat.member))
                return -ENOMEM;
        e->threat.has_identity = in->has_identity;
        e->threat.dev = in->has_identity ? in->dev : 0;
        e->threat.ino = in->has_identity ? in->ino : 0;
        e->threat.detected = in->detected ?: now;
        e->threat.source = in->source;
        e->threat.status = in->status;
        e->threat.history[0] = (ThreatHistoryEntry) {
                .time = e->threat.detected,
                .status = in->status,
                .detail = TAKE_PTR(detail),
        };
        e->threat.n_history = 1;

        *ret = TAKE_PTR(e);
        return 0;
}

/* Gives e an id that is in neither the store nor batch, and adds it to batch. */
static int threat_store_assign_id(const ThreatStore *s, ThreatIndex *batch, ThreatEntry *e) {
        int r;

        /* 122 random bits: a repeat means a broken random source; give it a few chances. */
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                r = threat_id_generate(e->threat.id);
                if (r < 0)
                        return r;
                if (threat_index_get(&s->index, e->threat.id))
                        continue;
                r = threat_index_add(batch, e);
                if (r != -EEXIST)
                        return r;
        }
        return -EIO;
}

int threat_store_record_many(ThreatStore *s, const ThreatRecordInput *in, size_t n,
                             const Threat **ret) {
        _cleanup_(threat_change_done) ThreatChange c = {};
        _cleanup_(threat_index_done) ThreatIndex batch = THREAT_INDEX_INIT;
        _cleanup_strv_free_ char **dropped = NULL;
        uint64_t now = threat_now();
        int r;

        r = threat_store_writable(s);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        if (!in)
                return -EINVAL;
        if (n > THREAT_STORE_BATCH_MAX)
                return -E2BIG;

        c.added = calloc(n, sizeof(ThreatEntry *));
        if (!c.added)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = threat_entry_new(&in[i], now, &c.added[i]);
                if (r < 0)
                        return r;
                c.n_added++;
                r = threat_store_assign_id(s, &batch, c.added[i]);
                if (r < 0)
                        return r;
        }

        r = threat_change_plan(&c, s, now, s->retention_days, s->max_items);
        if (r < 0)
                return r;
        r = threat_change_prepare(&c, s);
        if (r < 0)
                return r;
        r = threat_store_save(s, c.items, c.n_items);
        if (r < 0)
                return r;

        for (size_t i = 0; ret && i < n; i++)
                ret[i] = &c.added[i]->threat;
        dropped = threat_change_commit(&c, s);
        threat_store_notify_pruned(s, dropped);
        return 0;
}

int threat_store_record(ThreatStore *s, const ThreatRecordInput *in, const Threat **ret) {
        if (!in)
                return -EINVAL;
        return threat_store_record_many(s, in, 1, ret);
}

static ThreatEntry *threat_store_lookup(const ThreatStore *s, const char *id) {
        char key[THREAT_ID_LENGTH + 1];

        if (!s || !threat_id_valid(id))
                return NULL;
        for (size_t i = 0; i <= THREAT_ID_LENGTH; i++)
                key[i] = id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i];
        return threat_index_get(&s->index, key);
}

/* What a status change in memory replaced, to undo it when the save fails. */
typedef struct ThreatStatusUndo {
        ThreatEntry *entry;
        ThreatHistoryEntry removed;     /* the history entry forgotten to make room */
        bool full;
        ThreatStatus old_status;
} ThreatStatusUndo;

/* Applies a status change to e in memory (not saved). Returns 1 (changed, *undo filled), 0 (the
 * status already was that), -EINVAL or -ENOMEM (nothing changed). */
static int threat_status_apply(ThreatEntry *e, ThreatStatus status, const char *detail,
                               ThreatStatusUndo *undo) {
        _cleanup_free_ char *copy = NULL;
        Threat *t = &e->threat;
        int r;

        if (t->status == status)
                return 0;
        r = threat_detail_sanitize(detail, &copy);
        if (r < 0)
                return r;

        *undo = (ThreatStatusUndo) { .entry = e, .old_status = t->status };
        /* Make room: grow the array, or forget the oldest change after the detection. */
        undo->full = t->n_history >= THREAT_HISTORY_MAX;
        if (undo->full) {
                undo->removed = t->history[1];
                memmove(&t->history[1], &t->history[2],
                        (t->n_history - 2) * sizeof(ThreatHistoryEntry));
                t->n_history--;
        } else {
                ThreatHistoryEntry *h;

                h = reallocarray(t->history, t->n_history + 1, sizeof(ThreatHistoryEntry));
                if (!h)
                        return -ENOMEM;
                t->history = h;
        }
        t->history[t->n_history++] = (ThreatHistoryEntry) {
                .time = threat_now(),
                .status = status,
                .detail = TAKE_PTR(copy),
        };
        t->status = status;
        e->json = mfree(e->json);
        return 1;
}

/* Undoes threat_status_apply(), in the reverse order. */
static void threat_status_undo(ThreatStatusUndo *undo) {
        ThreatEntry *e = undo->entry;
        Threat *t = &e->threat;

        t->n_history--;
        free(t->history[t->n_history].detail);
        if (undo->full) {
                memmove(&t->history[2], &t->history[1],
                        (t->n_history - 1) * sizeof(ThreatHistoryEntry));
                t->history[1] = undo->removed;
                t->n_history++;
        }
        t->status = undo->old_status;
        e->json = mfree(e->json);
}

int threat_store_set_status(ThreatStore *s, const char *id, ThreatStatus status,
                            const char *detail) {
        ThreatStatusUndo undo;
        ThreatEntry *e;
        int r;

        r = threat_store_writable(s);
        if (r < 0)
                return r;
        if (!threat_status_to_string(status))
                return -EINVAL;
        e = threat_store_lookup(s, id);
        if (!e)
                return -ENOENT;
        r = threat_status_apply(e, status, detail, &undo);
        if (r <= 0)
                return r;
        r = threat_store_save(s, s->items, s->n_items);
        if (r < 0) {
                threat_status_undo(&undo);
                return r;
        }
        free(undo.removed.detail);
        return 1;
}

int threat_store_set_status_many(ThreatStore *s, const ThreatStatusChange *changes, size_t n) {
        _cleanup_free_ ThreatStatusUndo *undo = NULL;
        size_t n_undo = 0;
        int r;

        r = threat_store_writable(s);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        if (!changes)
                return -EINVAL;
        if (n > THREAT_STORE_BATCH_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                if (!threat_status_to_string(changes[i].status))
                        return -EINVAL;
        undo = calloc(n, sizeof(*undo));
        if (!undo)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                ThreatEntry *e = threat_store_lookup(s, changes[i].id);

                if (!e)
                        continue;       /* pruned meanwhile */
                r = threat_status_apply(e, changes[i].status, changes[i].detail, &undo[n_undo]);
                if (r < 0)
                        goto undo;
                if (r > 0)
                        n_undo++;
        }
        if (n_undo == 0)
                return 0;
        r = threat_store_save(s, s->items, s->n_items);
        if (r < 0)
                goto undo;
        for (size_t i = 0; i < n_undo; i++)
                free(undo[i].removed.detail);
        return (int) n_undo;
undo:
        while (n_undo > 0)
                threat_status_undo(&undo[--n_undo]);
        return r;
}

int threat_store_prune(ThreatStore *s, uint64_t now, unsigned retention_days, size_t max_items,
                       char ***ret_ids) {
        _cleanup_(threat_change_done) ThreatChange c = {};
        _cleanup_strv_free_ char **dropped = NULL;
        size_t n;
        int r;

        r = threat_store_writable(s);
        if (r < 0)
                return r;

        r = threat_change_plan(&c, s, now, retention_days, max_items);
        if (r < 0)
                return r;
        if (c.n_dropped == 0) {
                if (ret_ids)
                        *ret_ids = NULL;
                return 0;
        }
        r = threat_change_prepare(&c, s);
        if (r < 0)
                return r;
        r = threat_store_save(s, c.items, c.n_items);
        if (r < 0)
                return r;

        n = c.n_dropped;
        dropped = threat_change_commit(&c, s);
        if (ret_ids)
                *ret_ids = TAKE_PTR(dropped);
        return (int) MIN(n, (size_t) INT32_MAX);
}

/* ---- reading ---- */

/* A name "<path>.invalid-<seconds>[-<k>]" that does not exist yet, for keeping a file we
 * cannot use. Returns 0, -EEXIST (too many such files this second) or -ENOMEM. */
static int threat_store_aside_name(const ThreatStore *s, char **ret) {
        uint64_t now = threat_now() / USEC_PER_SEC;

        for (unsigned k = 0; k < 100; k++) {
                _cleanup_free_ char *name = NULL;
                struct stat st;
                int r;

                if (k == 0)
                        r = asprintf(&name, "%s.invalid-%" PRIu64, s->path, now);
                else
                        r = asprintf(&name, "%s.invalid-%" PRIu64 "-%u", s->path, now, k);
                if (r < 0)
                        return -ENOMEM;
                if (lstat(name, &st) < 0) {
                        if (errno != ENOENT)
                                return negative_errno();
                        *ret = TAKE_PTR(name);
                        return 0;
                }
        }
        return -EEXIST;
}

/* Renames the unusable file aside; *ret_message gets the sentence for health. */
static int threat_store_move_aside(ThreatStore *s, const char *reason, char **ret_message) {
        _cleanup_free_ char *aside = NULL, *message = NULL;
        int r;

        r = threat_store_aside_name(s, &aside);
        if (r < 0)
                return r;
        if (asprintf(&message, "Threat history '%s' could not be used (%s); it was moved to "
                     "'%s' and the history starts empty", s->path, reason, aside) < 0)
                return -ENOMEM;
        if (rename(s->path, aside) < 0)
                return negative_errno();
        *ret_message = TAKE_PTR(message);
        return 0;
}

/* Copies the file as read (data) aside and saves the records of f that passed validation in its
 * place. *ret_message gets the sentence for health. */
static int threat_store_keep_valid(ThreatStore *s, const ThreatFile *f, const char *data,
                                   size_t size, char **ret_message) {
        _cleanup_free_ char *aside = NULL, *message = NULL;
        int r;

        r = threat_store_aside_name(s, &aside);
        if (r < 0)
                return r;
        if (asprintf(&message, "Threat history '%s': %zu invalid record%s skipped, %zu kept; "
                     "the file as read was saved as '%s'", s->path, f->n_invalid,
                     f->n_invalid == 1 ? "" : "s", f->n_entries, aside) < 0)
                return -ENOMEM;
        r = write_file_atomic(aside, data, size, 0600);
        if (r < 0)
                return r;
        r = threat_store_save(s, f->entries, f->n_entries);
        if (r < 0)
                return r;
        *ret_message = TAKE_PTR(message);
        return 0;
}

/* Why a file read_file_full() refused cannot be used at all, or NULL when the error says
 * nothing about the file (EACCES, EIO, ...): then it is left alone. */
static const char *threat_unusable_reason(int r) {
        switch (r) {
        case -E2BIG:
                return "it is larger than 64 MiB";
        case -ELOOP:
                return "it is a symbolic link";
        case -EBADFD:
                return "it is not a regular file";
        default:
                return NULL;
        }
}

int threat_store_load(ThreatStore *s, char **ret_message) {
        _cleanup_(threat_file_done) ThreatFile f = {};
        _cleanup_free_ char *data = NULL, *message = NULL;
        size_t size = 0;
        int r;

        if (s->busy)
                return -EBUSY;

        r = read_file_full(s->path, THREAT_STORE_FILE_MAX, &data, &size);
        if (r == -ENOENT)
                ;       /* no history yet */
        else if (r < 0) {
                const char *reason = threat_unusable_reason(r);

                if (!reason)
                        return r;
                r = threat_store_move_aside(s, reason, &message);
                if (r < 0)
                        return r;
        } else {
                r = threat_file_parse(data, size, &f);
                if (r == -EBADMSG) {
                        _cleanup_free_ char *reason = NULL;

                        if (asprintf(&reason, "line %u, column %u: %s", f.line, f.column,
                                     f.error) < 0)
                                return -ENOMEM;
                        r = threat_store_move_aside(s, reason, &message);
                        if (r < 0)
                                return r;
                        threat_file_done(&f);   /* what was read before the error */
                } else if (r < 0)
                        return r;
                else if (f.n_invalid > 0) {
                        r = threat_store_keep_valid(s, &f, data, size, &message);
                        if (r < 0)
                                return r;
                }
        }

        /* Switch to what was read (nothing, when the file was missing or moved aside). */
        threat_store_clear(s);
        s->items = TAKE_PTR(f.entries);
        s->n_items = f.n_entries;
        f.n_entries = 0;
        s->index = f.index;
        f.index = THREAT_INDEX_INIT;
        s->loaded = true;

        if (ret_message)
                *ret_message = TAKE_PTR(message);
        return (int) MIN(s->n_items, (size_t) INT32_MAX);
}

const Threat *threat_store_get(const ThreatStore *s, const char *id) {
        ThreatEntry *e = threat_store_lookup(s, id);

        return e ? &e->threat : NULL;
}

size_t threat_store_count(const ThreatStore *s) {
        return s ? s->n_items : 0;
}

const Threat *threat_store_at(const ThreatStore *s, size_t i) {
        if (!s || i >= s->n_items)
                return NULL;
        return &s->items[s->n_items - 1 - i]->threat;
}

static const Threat *find_by_path(const ThreatStore *s, const char *path, bool any_member,
                                  const char *member, size_t *index) {
        if (!s || !path)
                return NULL;
        for (size_t i = index ? *index : 0; i < s->n_items; i++) {
                const Threat *t = &s->items[s->n_items - 1 - i]->threat;

                if (streq(t->path, path) && (any_member || streq_ptr(t->member, member))) {
                        if (index)
                                *index = i;
                        return t;
                }
        }
        return NULL;
}

const Threat *threat_store_find_by_path(const ThreatStore *s, const char *path, size_t *index) {
        return find_by_path(s, path, true, NULL, index);
}

const Threat *threat_store_find_by_location(const ThreatStore *s, const char *path,
                                            const char *member, size_t *index) {
        return find_by_path(s, path, false, member, index);
}
