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
 * everything the switch will need), write it to disk (or, with an executor, check that it can
 * be written), and only then switch to it, which cannot fail. When the write fails, the new
 * state is thrown away and the store is as it was. A change rewrites the whole file, but each
 * record's JSON is cached in its entry (immutable, reference-counted), so a save costs one
 * serialisation of the changed records and the atomic write of all of them.
 *
 * With an executor, the write runs there from a snapshot of references to those serialised
 * records (ThreatSaveJob), one write at a time, queued at the end of the loop's turn; the store
 * counts generations of its content to say what is on disk.
 *
 * Main thread only; no locks: the worker reads only its job's snapshot, whose records nobody
 * changes, and reference counts move only on the main thread. Modules below bus/ do not log:
 * callers get errors and messages.
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

#include "executor/executor.h"
#include "threats/threats-internal.h"
#include "threats/threats.h"
#include "util/fileio.h"
#include "util/hash.h"
#include "util/macro.h"
#include "util/strv.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_DAY (UINT64_C(86400) * USEC_PER_SEC)
/* Buckets of the path filter: with the most records allowed (15,000 and a batch), about 6 % of
 * them are taken, so most lookups of a path never seen are answered without a scan. */
#define THREAT_PATH_FILTER_BUCKETS (UINT32_C(1) << 18)

typedef struct ThreatSaveJob ThreatSaveJob;

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

        /* Writes on the executor (threat_store_set_executor()); NULL: each change is written
         * before it returns. */
        Executor *executor;
        ThreatStoreSaveHandler save_handler;
        void *save_userdata;
        ThreatSaveJob *jobs, *jobs_tail;        /* queued or running, oldest first */
        sd_event_source *queue_source;  /* queues the write at the end of the loop's turn */
        /* The file's size at the last full measure, and how much the changes since can have
         * added at most: a change that keeps their sum within file_max needs no new measure of
         * every record. */
        size_t measured_size, growth_bound;
        /* How many records have a path hashing to each bucket (a counting filter): a detection
         * of a file with no record, the usual case, is found new without comparing its path
         * with every record's, which made a storm of detections quadratic. NULL: not built
         * (out of memory), every lookup scans. */
        uint16_t *path_filter;
        uint64_t generation;            /* counts the changes of the content in memory */
        uint64_t saved_generation;      /* the newest of them on disk */
        int save_error;                 /* of the newest write that ended, 0: it worked */
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

static uint32_t threat_path_bucket(const char *path) {
        return (uint32_t) (fnv1a64(path, strlen(path)) & (THREAT_PATH_FILTER_BUCKETS - 1));
}

/* Rebuilds the filter from the records (after a load or a prune). */
static void threat_store_filter_rebuild(ThreatStore *s) {
        if (!s->path_filter)
                s->path_filter = calloc(THREAT_PATH_FILTER_BUCKETS, sizeof(uint16_t));
        else
                memset(s->path_filter, 0, THREAT_PATH_FILTER_BUCKETS * sizeof(uint16_t));
        for (size_t i = 0; s->path_filter && i < s->n_items; i++)
                s->path_filter[threat_path_bucket(s->items[i]->threat.path)]++;
}

static void threat_store_clear(ThreatStore *s) {
        for (size_t i = 0; i < s->n_items; i++)
                threat_entry_free(s->items[i]);
        s->items = mfree(s->items);
        s->n_items = 0;
        threat_index_done(&s->index);
}

static void threat_save_job_unlink(ThreatSaveJob *j);

ThreatStore *threat_store_free(ThreatStore *s) {
        if (!s)
                return NULL;
        /* Queued writes keep their snapshot and still run; their done finds no store. */
        while (s->jobs)
                threat_save_job_unlink(s->jobs);
        s->queue_source = sd_event_source_disable_unref(s->queue_source);
        threat_store_clear(s);
        free(s->path_filter);
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

/* Serialises what is not cached yet of items[0..n) and returns the size of the file they make
 * in *ret_size. Returns 0, -E2BIG (larger than the store's file_max, which keeps every saved file
 * loadable), -EINVAL or -ENOMEM. A cache filled for a change that then fails is harmless: a
 * cache always matches its record. */
static int threat_store_measure(ThreatStore *s, ThreatEntry * const *items, size_t n,
                                size_t *ret_size) {
        size_t size = strlen(threat_file_head) + strlen(threat_file_tail);
        int r;

        for (size_t i = 0; i < n; i++) {
                r = threat_entry_serialize(items[i]);
                if (r < 0)
                        return r;
                size += items[i]->json->size + 2;       /* ",\n" or "\n" */
                if (size > s->file_max)
                        return -E2BIG;
        }
        *ret_size = size;
        return 0;
}

/* The bound a change of n entries (new or changed, e[0..n)) adds to the file's size: their whole
 * serialised size, as if the old forms stayed. Serialises them. */
static int threat_store_growth(ThreatEntry * const *e, size_t n, size_t *ret) {
        size_t g = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = threat_entry_serialize(e[i]);
                if (r < 0)
                        return r;
                g += e[i]->json->size + 2;
        }
        *ret = g;
        return 0;
}

/* Writes the records json[0..n) as the file at path: one record per line, so the file reads
 * well with grep and diff. size comes from threat_store_measure(). Touches nothing but its
 * arguments, so it runs on the executor's worker as well as on the main thread. Returns 0,
 * -ENOMEM or write_file_atomic()'s error. */
static int threat_file_write(const char *path, ThreatJson * const *json, size_t n, size_t size) {
        _cleanup_free_ char *buf = NULL;
        size_t o = 0;

        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, threat_file_head, strlen(threat_file_head));
        o += strlen(threat_file_head);
        for (size_t i = 0; i < n; i++) {
                memcpy(buf + o, json[i]->data, json[i]->size);
                o += json[i]->size;
                if (i + 1 < n)
                        buf[o++] = ',';
                buf[o++] = '\n';
        }
        memcpy(buf + o, threat_file_tail, strlen(threat_file_tail));
        o += strlen(threat_file_tail);   /* size less the comma the last record goes without */

        return write_file_atomic(path, buf, o, 0600);
}

/* Writes items[0..n) as the file now, on the calling thread (a store without an executor, and
 * the rewrite of a partly invalid file at load). Returns 0 or the errors of
 * threat_store_measure() and threat_file_write(). */
static int threat_store_save_now(ThreatStore *s, ThreatEntry * const *items, size_t n) {
        _cleanup_free_ ThreatJson **json = NULL;
        size_t size;
        int r;

        r = threat_store_measure(s, items, n, &size);
        if (r < 0)
                return r;
        json = reallocarray(NULL, MAX(n, (size_t) 1), sizeof(ThreatJson *));
        if (!json)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                json[i] = items[i]->json;       /* borrowed: nothing changes them meanwhile */
        s->measured_size = size;
        s->growth_bound = 0;
        return threat_file_write(s->path, json, n, size);
}

/* A write of the whole file queued on the executor: a snapshot of the records (references to
 * their serialised form, which never changes) taken on the main thread. The worker reads only
 * this; the main thread frees it in the job's done. */
struct ThreatSaveJob {
        ThreatStore *store;             /* NULL once the store is freed */
        ThreatSaveJob *prev, *next;     /* in store->jobs, oldest first */
        char *path;
        ThreatJson **json;
        size_t n_json;
        size_t size;
        uint64_t generation;            /* of the content it writes */
};

static ThreatSaveJob *threat_save_job_free(ThreatSaveJob *j) {
        if (!j)
                return NULL;
        for (size_t i = 0; i < j->n_json; i++)
                threat_json_unref(j->json[i]);
        free(j->json);
        free(j->path);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ThreatSaveJob *, threat_save_job_free);

static void threat_save_job_unlink(ThreatSaveJob *j) {
        ThreatStore *s = j->store;

        if (!s)
                return;
        if (j->prev)
                j->prev->next = j->next;
        else
                s->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        else
                s->jobs_tail = j->prev;
        j->prev = j->next = NULL;
        j->store = NULL;
}

/* On the worker. */
static int threat_save_job_run(void *userdata) {
        ThreatSaveJob *j = userdata;

        return threat_file_write(j->path, j->json, j->n_json, j->size);
}

static int threat_store_queue_save(ThreatStore *s);

/* On the main thread, in the order the jobs were queued. */
static void threat_save_job_done(int result, void *userdata) {
        _cleanup_(threat_save_job_freep) ThreatSaveJob *j = userdata;
        ThreatStore *s = j->store;

        if (!s)
                return;
        threat_save_job_unlink(j);
        if (result == EXECUTOR_SUPERSEDED)
                return;         /* a newer snapshot took its place and will say how it went */
        if (result >= 0) {
                /* Jobs end in queue order, so this is the newest content on disk so far. */
                s->saved_generation = MAX(s->saved_generation, j->generation);
                s->save_error = 0;
                /* What changed while it ran follows at once. After a failure, the owner's
                 * retry (threat_store_flush()) or the next change decides when to try again. */
                if (s->saved_generation != s->generation && !s->jobs)
                        (void) threat_store_queue_save(s);
        } else
                s->save_error = result;
        if (s->save_handler)
                s->save_handler(s, result < 0 ? result : 0, s->save_userdata);
}

/* Queues a write of what the store holds now, after a change made in memory. The executor
 * merges it with a write of this file that has not started yet, so however many changes come
 * while the worker is busy, the newest content is written once; writes that did start land in
 * the order they were queued, so an older content never replaces a newer one. A job that cannot
 * be queued (-ENOMEM, -ENOBUFS) is remembered in save_error, like a failed write: the owner's
 * retry (threat_store_flush()) queues the content again. Returns 0 or that error. */
static int threat_store_queue_save(ThreatStore *s) {
        _cleanup_(threat_save_job_freep) ThreatSaveJob *j = NULL;
        int r;

        j = calloc(1, sizeof(ThreatSaveJob));
        if (!j)
                goto nomem;
        j->path = strdup(s->path);
        j->json = reallocarray(NULL, MAX(s->n_items, (size_t) 1), sizeof(ThreatJson *));
        if (!j->path || !j->json)
                goto nomem;
        r = threat_store_measure(s, s->items, s->n_items, &j->size);
        if (r < 0)
                goto fail;
        s->measured_size = j->size;
        s->growth_bound = 0;
        for (size_t i = 0; i < s->n_items; i++)
                j->json[j->n_json++] = threat_json_ref(s->items[i]->json);
        j->generation = s->generation;

        /* Linked first: an executor shutting down runs the job and its done at once. */
        j->store = s;
        j->prev = s->jobs_tail;
        if (s->jobs_tail)
                s->jobs_tail->next = j;
        else
                s->jobs = j;
        s->jobs_tail = j;
        r = executor_submit(s->executor, &(ExecutorJob) {
                                    .key = s->path,
                                    .run = threat_save_job_run,
                                    .done = threat_save_job_done,
                                    .userdata = j,
                            });
        if (r < 0) {
                threat_save_job_unlink(j);
                goto fail;
        }
        /* Accepted: done owns it now. */
        TAKE_PTR(j);
        return 0;

nomem:
        r = -ENOMEM;
fail:
        s->save_error = r;
        return r;
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

        if (c->n_dropped > 0)
                threat_store_filter_rebuild(s);
        else
                for (size_t i = 0; s->path_filter && i < c->n_added; i++)
                        s->path_filter[threat_path_bucket(c->added[i]->threat.path)]++;

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

/* Checks, before a change is made, that its content can be saved: with an executor the file is
 * only measured now and written later, without one it is written now. items[0..n) is the
 * content after the change. Returns 0 or the errors of threat_store_save_now(). */
static int threat_store_save_or_measure(ThreatStore *s, ThreatEntry * const *items, size_t n,
                                        ThreatEntry * const *changed, size_t n_changed) {
        size_t size, growth;
        int r;

        if (!s->executor)
                return threat_store_save_now(s, items, n);
        /* Measuring every record for every change would cost O(records) per detection: what
         * changed is bounded instead, and everything is measured only near the limit. */
        r = threat_store_growth(changed, n_changed, &growth);
        if (r < 0)
                return r;
        if (s->measured_size > 0 && s->measured_size + s->growth_bound + growth <= s->file_max) {
                s->growth_bound += growth;
                return 0;
        }
        r = threat_store_measure(s, items, n, &size);
        if (r < 0)
                return r;
        s->measured_size = size;
        s->growth_bound = 0;
        return 0;
}

static int threat_store_queue_handler(sd_event_source *source, void *userdata) {
        (void) threat_store_flush(userdata);
        return 0;
}

/* After a change was made in memory: counts it and, with an executor, has its write queued at
 * the end of the loop's turn, so that the changes of one turn (a batch of detections, the
 * remediations it starts) cost one snapshot and one submission. */
static void threat_store_changed(ThreatStore *s) {
        sd_event *event;

        s->generation++;
        if (!s->executor) {
                s->saved_generation = s->generation;
                return;
        }
        event = executor_get_event(s->executor);
        if (!s->queue_source && event &&
            sd_event_add_defer(event, &s->queue_source, threat_store_queue_handler, s) < 0)
                s->queue_source = NULL;
        if (!s->queue_source ||
            sd_event_source_set_enabled(s->queue_source, SD_EVENT_ONESHOT) < 0)
                (void) threat_store_queue_save(s);      /* at once, then */
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

/* What a batch call checks first: < 0 refused, 0 nothing to do, 1 go on. */
static int batch_check(ThreatStore *s, const void *items, size_t n) {
        int r = threat_store_writable(s);

        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        if (!items)
                return -EINVAL;
        return n > THREAT_STORE_BATCH_MAX ? -E2BIG : 1;
}

int threat_store_record_many(ThreatStore *s, const ThreatRecordInput *in, size_t n,
                             const Threat **ret) {
        _cleanup_(threat_change_done) ThreatChange c = {};
        _cleanup_(threat_index_done) ThreatIndex batch = THREAT_INDEX_INIT;
        _cleanup_strv_free_ char **dropped = NULL;
        uint64_t now = threat_now();
        int r;

        r = batch_check(s, in, n);
        if (r <= 0)
                return r;

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
        r = threat_store_save_or_measure(s, c.items, c.n_items, c.added, c.n_added);
        if (r < 0)
                return r;

        for (size_t i = 0; ret && i < n; i++)
                ret[i] = &c.added[i]->threat;
        dropped = threat_change_commit(&c, s);
        threat_store_changed(s);
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
        e->json = threat_json_unref(e->json);
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
        e->json = threat_json_unref(e->json);
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
        r = threat_store_save_or_measure(s, s->items, s->n_items, &e, 1);
        if (r < 0) {
                threat_status_undo(&undo);
                return r;
        }
        free(undo.removed.detail);
        threat_store_changed(s);
        return 1;
}

int threat_store_set_status_many(ThreatStore *s, const ThreatStatusChange *changes, size_t n) {
        _cleanup_free_ ThreatStatusUndo *undo = NULL;
        _cleanup_free_ ThreatEntry **changed = NULL;
        size_t n_undo = 0;
        int r;

        r = batch_check(s, changes, n);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (!threat_status_to_string(changes[i].status))
                        return -EINVAL;
        undo = calloc(n, sizeof(*undo));
        changed = calloc(n, sizeof(*changed));
        if (!undo || !changed)
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
        for (size_t i = 0; i < n_undo; i++)
                changed[i] = undo[i].entry;
        r = threat_store_save_or_measure(s, s->items, s->n_items, changed, n_undo);
        if (r < 0)
                goto undo;
        for (size_t i = 0; i < n_undo; i++)
                free(undo[i].removed.detail);
        threat_store_changed(s);
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
        r = threat_store_save_or_measure(s, c.items, c.n_items, NULL, 0);
        if (r < 0)
                return r;

        n = c.n_dropped;
        dropped = threat_change_commit(&c, s);
        threat_store_changed(s);
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
        r = threat_store_save_now(s, f->entries, f->n_entries);
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

        /* A write still queued would land after what a load reads or rewrites. */
        if (s->busy || s->jobs)
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
        threat_store_filter_rebuild(s);
        /* Memory is what the file holds (or, after a rewrite, will hold when read again). */
        s->generation++;
        s->saved_generation = s->generation;
        s->save_error = 0;

        if (ret_message)
                *ret_message = TAKE_PTR(message);
        return (int) MIN(s->n_items, (size_t) INT32_MAX);
}

void threat_store_set_executor(ThreatStore *s, Executor *e, ThreatStoreSaveHandler handler,
                               void *userdata) {
        /* A write deferred to the end of the turn is queued on the executor it was meant for. */
        if (s->executor && s->queue_source && s->executor != e)
                (void) threat_store_flush(s);
        s->queue_source = sd_event_source_disable_unref(s->queue_source);
        s->executor = e;
        s->save_handler = handler;
        s->save_userdata = userdata;
}

int threat_store_flush(ThreatStore *s) {
        int r;

        if (s->queue_source)
                (void) sd_event_source_set_enabled(s->queue_source, SD_EVENT_OFF);
        r = threat_store_writable(s);
        if (r < 0)
                return r;
        if (s->saved_generation == s->generation)
                return 0;
        if (!s->executor) {
                r = threat_store_save_now(s, s->items, s->n_items);
                if (r < 0)
                        return (s->save_error = r);
                s->saved_generation = s->generation;
                s->save_error = 0;
                return 0;
        }
        /* One write at a time: the one queued or running queues the newest content when it
         * ends. However many changes come meanwhile, they cost one snapshot and one write, and
         * an older content can never land after a newer one. */
        if (s->jobs)
                return 0;
        return threat_store_queue_save(s);
}

uint64_t threat_store_generation(const ThreatStore *s) {
        return s ? s->generation : 0;
}

uint64_t threat_store_saved_generation(const ThreatStore *s) {
        return s ? s->saved_generation : 0;
}

int threat_store_save_error(const ThreatStore *s) {
        return s && s->saved_generation != s->generation ? s->save_error : 0;
}

bool threat_store_saving(const ThreatStore *s) {
        int enabled = SD_EVENT_OFF;

        if (!s)
                return false;
        if (s->queue_source)
                (void) sd_event_source_get_enabled(s->queue_source, &enabled);
        return s->jobs || enabled != SD_EVENT_OFF;
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
        if (s->path_filter && s->path_filter[threat_path_bucket(path)] == 0)
                return NULL;    /* no record has this path */
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
