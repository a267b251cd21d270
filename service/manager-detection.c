/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Definitions and detections as the daemon handles them: the best verified definition pack is
 * compiled into an engine snapshot and swapped in whole; each detection becomes a record in the
 * threat history and a ThreatDetected signal. Main thread only.
 */
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "definitions-config.h"
#include "manager.h"
#include "util/hash.h"
#include "util/strv.h"

static uint64_t detection_time_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* FNV-1a over s, seeded with seed. */
static uint64_t hash64_string(const char *s, uint64_t seed) {
        return fnv1a64_add_string(FNV1A64_INIT ^ seed, s);
}

static int definitions_store_setup(Manager *m) {
        EVP_PKEY *key = NULL;
        _cleanup_free_ char *dir = NULL, *error = NULL;
        int r;

        if (m->definitions_store)
                return 0;
        r = definitions_public_key_load_pem(m->definitions_key_path, &key);
        if (r < 0)
                return asprintf(&m->definitions_error, "the definitions signing key '%s' could "
                                "not be loaded: %s", m->definitions_key_path,
                                strerror(-r)) < 0 ? -ENOMEM : r;
        m->definitions_key = key;       /* kept: updates verify with it too */
        /* Its private half is published, so anyone could sign what this daemon loads; only a
         * test setup should ever trust it. */
        m->definitions_key_is_test =
                definitions_public_key_equals_spki(key, MDATP_DEFINITIONS_TEST_PUBLIC_KEY_SPKI) > 0;
        if (m->definitions_key_is_test)
                log_warning("The definitions signing key '%s' is the published test key: anyone "
                            "can sign definitions this daemon accepts.", m->definitions_key_path);
        if (asprintf(&dir, "%s/definitions", m->state_dir) < 0)
                return -ENOMEM;
        r = definitions_store_open(&(DefinitionsStoreConfig) {
                                           .directory = dir,
                                           .shipped_directory = m->shipped_definitions_dir,
                                           .public_key = key,
                                           .engine_version = MDATP_VERSION,
                                   }, &m->definitions_store, &error);
        if (r < 0)
                return asprintf(&m->definitions_error, "the definitions store '%s' could not be "
                                "opened: %s", dir, error ?: strerror(-r)) < 0 ? -ENOMEM : r;
        return 0;
}

/* Compiles a verified pack into an engine snapshot. Thread-safe: updates call it off the main
 * loop. */
int manager_rules_from_pack(const DefinitionPack *pack, EngineRules **ret, char **ret_error) {
        _cleanup_free_ EngineRuleSource *sources = calloc(pack->n_rules ?: 1, sizeof(*sources));
        _cleanup_free_ EngineHashEntry *hashes = calloc(pack->n_hashes ?: 1, sizeof(*hashes));

        if (!sources || !hashes)
                return -ENOMEM;
        for (size_t i = 0; i < pack->n_rules; i++)
                sources[i] = (EngineRuleSource) { pack->rules[i].name, pack->rules[i].text };
        for (size_t i = 0; i < pack->n_hashes; i++) {
                memcpy(hashes[i].sha256, pack->hashes[i].sha256, sizeof(hashes[i].sha256));
                hashes[i].threat_name = pack->hashes[i].name;
                hashes[i].threat_type = pack->hashes[i].type;
        }
        return engine_rules_new(sources, pack->n_rules, hashes, pack->n_hashes, pack->version,
                                ret, ret_error);
}

/* The swap: scans in flight keep the snapshot they hold. The generation names these
 * definitions across restarts too, since cached verdicts are persisted. Takes rules. */
void manager_swap_rules(Manager *m, EngineRules *rules, const DefinitionPack *pack,
                        const char *source) {
        engine_rules_unref(m->rules);
        m->rules = rules;
        m->rules_generation = hash64_string(pack->version, pack->created_usec);
        free(m->definitions_version);
        m->definitions_version = strdup(pack->version);
        m->definitions_updated_usec = pack->created_usec;
        m->definitions_source = source;
        m->definitions_error = mfree(m->definitions_error);
        m->definitions_swaps++;
        /* Real-time protection follows at once (its ignore marks go with the old generation),
         * and clients hear of the new definitions: the commit does both. */
        (void) manager_commit(m, NULL, MANAGER_CHANGE_DEFINITIONS);
}

/* The slow half of a load, safe on a worker thread: picks the best pack of the store and
 * compiles it. Reads only the store, which the main thread leaves alone meanwhile. */
typedef struct DefinitionsLoad {
        Manager *manager;               /* for the done half only */
        DefinitionsStore *store;
        uint64_t swaps;                 /* manager->definitions_swaps when it was asked for */
        /* Definitions.Restore: the store's downloaded packs are dropped first, and the load
         * ends request (REQUEST_FINISHED); 0 for a plain reload. */
        uint64_t request;
        bool restore_failed;            /* the packs could not be dropped: nothing to load */
        int r;
        DefinitionPack *pack;
        DefinitionsSource source;
        char **errors;                  /* packs refused on the way */
        char *compile_error;
        EngineRules *rules;
} DefinitionsLoad;

static DefinitionsLoad *definitions_load_free(DefinitionsLoad *l) {
        if (!l)
                return NULL;
        definition_pack_free(l->pack);
        strv_free(l->errors);
        free(l->compile_error);
        engine_rules_unref(l->rules);
        return mfree(l);
}

static int definitions_load_run(void *userdata) {
        DefinitionsLoad *l = userdata;

        if (l->request != 0) {
                l->r = definitions_store_restore_shipped(l->store);
                if (l->r < 0) {
                        l->restore_failed = true;
                        return l->r;
                }
        }
        l->r = definitions_store_load_best(l->store, &l->pack, &l->source, &l->errors);
        if (l->r >= 0)
                l->r = manager_rules_from_pack(l->pack, &l->rules, &l->compile_error);
        return l->r;
}

/* The main-loop half: swaps the compiled rules in, or records why none could be loaded. */
static int definitions_load_apply(Manager *m, DefinitionsLoad *l) {
        if (l->r < 0) {
                _cleanup_free_ char *why = l->errors ? strv_join(l->errors, "; ") : NULL;
                for (char **e = l->errors; e && *e; e++)
                        log_warning("Definition pack refused: %s", *e);
                m->definitions_error = mfree(m->definitions_error);
                if (asprintf(&m->definitions_error, "no valid definition pack could be loaded%s%s",
                             why || l->compile_error ? ": " : "",
                             l->compile_error ?: why ?: "") < 0)
                        m->definitions_error = NULL;
                return log_error_errno(l->r, "Failed to load definitions: %s",
                                       m->definitions_error ?: "");
        }
        for (char **e = l->errors; e && *e; e++)
                log_warning("Definition pack refused: %s", *e);

        manager_swap_rules(m, TAKE_PTR(l->rules), l->pack, definitions_source_to_string(l->source));
        /* Packs that were refused on the way (tampered, wrong key) are worth an admin's look
         * even though an older one protects. */
        if (l->errors) {
                _cleanup_free_ char *why = strv_join(l->errors, "; ");
                if (asprintf(&m->definitions_error, "definition pack(s) refused, using %s %s: %s",
                             m->definitions_source, l->pack->version, why ?: "") < 0)
                        m->definitions_error = NULL;
        }
        log_info("Definitions %s loaded from the %s pack: %zu rule file(s), %zu hash(es).",
                 l->pack->version, m->definitions_source, l->pack->n_rules, l->pack->n_hashes);
        return 0;
}

static int definitions_load_new(Manager *m, DefinitionsLoad **ret) {
        DefinitionsLoad *l;
        int r;

        r = definitions_store_setup(m);
        if (r < 0)
                return log_error_errno(r, "No definitions: %s", m->definitions_error ?: "");
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *l = (DefinitionsLoad) {
                .manager = m, .store = m->definitions_store, .swaps = m->definitions_swaps,
        };
        *ret = l;
        return 0;
}

int manager_load_definitions(Manager *m) {
        DefinitionsLoad *l = NULL;
        int r;

        r = definitions_load_new(m, &l);
        if (r < 0)
                return r;
        (void) definitions_load_run(l);
        r = definitions_load_apply(m, l);
        definitions_load_free(l);
        return r;
}

/* The end of a Definitions.Restore: it ran alone (no update or reload could start meanwhile),
 * so what it loaded is the newest; the request is answered either way. */
static void definitions_restore_done(Manager *m, DefinitionsLoad *l, int result) {
        int r = result == -ECANCELED ? -ECANCELED : l->r;

        if (result != -ECANCELED && !l->restore_failed) {
                /* The restore on disk was done: load what it left, or record why not. */
                r = definitions_load_apply(m, l);
                /* A swap commits (and tells clients) itself; a failure changes status. */
                if (r < 0)
                        manager_emit(m, &(ManagerEvent) {
                                .type = MANAGER_EVENT_DEFINITIONS_CHANGED });
                manager_health_refresh(m);
        }
        manager_request_finished(m, l->request, r, r < 0 ? m->definitions_error : NULL,
                                 r < 0 ? NULL : m->definitions_version ?: "");
        definitions_load_free(l);
}

static void definitions_load_done(int result, void *userdata) {
        DefinitionsLoad *l = userdata;
        Manager *m = l->manager;

        m->definitions_loads--;
        if (l->request != 0) {
                definitions_restore_done(m, l, result);
                return;
        }
        /* Cancelled at shutdown, superseded by a later SIGHUP's reload before it started, or
         * rules swapped in meanwhile (an update finished): those are newer than what this load
         * read, so it is dropped. */
        if (IN_SET(result, -ECANCELED, EXECUTOR_SUPERSEDED) || m->definitions_swaps != l->swaps) {
                if (!IN_SET(result, -ECANCELED, EXECUTOR_SUPERSEDED))
                        log_info("Definitions changed while they were being reloaded; keeping "
                                 "the newer ones.");
                definitions_load_free(l);
                return;
        }
        /* A swap commits (clients hear of the new definitions); health follows either way,
         * for packs refused on the way or why none could be loaded. */
        (void) definitions_load_apply(m, l);
        manager_health_refresh(m);
        definitions_load_free(l);
}

int manager_load_definitions_restore(Manager *m, uint64_t request) {
        DefinitionsLoad *l = NULL;
        int r;

        if (m->update_job || m->definitions_loads > 0)
                return -EBUSY;
        r = definitions_load_new(m, &l);
        if (r < 0)
                return r;
        l->request = request;
        /* No key: a SIGHUP's reload queued later must not take its place. Cancellable: not
         * started at shutdown, nothing changed. */
        r = executor_submit(m->executor, &(ExecutorJob) {
                .run = definitions_load_run,
                .done = definitions_load_done,
                .userdata = l,
                .cancellable = true,
        });
        if (r < 0) {
                definitions_load_free(l);
                return r;
        }
        /* Updates and other reloads wait for it (-EBUSY), as for any load of the store. */
        m->definitions_loads++;
        return 0;
}

int manager_load_definitions_async(Manager *m) {
        DefinitionsLoad *l = NULL;
        int r;

        if (m->update_job)
                return -EBUSY;
        r = definitions_load_new(m, &l);
        if (r < 0)
                return r;
        r = executor_submit(m->executor, &(ExecutorJob) {
                .key = "definitions-load",
                .run = definitions_load_run,
                .done = definitions_load_done,
                .userdata = l,
                .cancellable = true,
        });
        if (r < 0) {
                definitions_load_free(l);
                return log_warning_errno(r, "Failed to queue the definitions reload: %m");
        }
        /* A reload asked for while one waits takes its place (same key): the store is read
         * once, as it is when the worker gets to it. */
        m->definitions_loads++;
        return 0;
}

/* What the policy says happens to a detection before any remediation: allowed names and
 * audit-only types are recorded as such. */
static ThreatStatus detection_status(Manager *m, const ScanDetection *d) {
        if (policy_threat_allowed(m->policy, d->threat_name))
                return THREAT_STATUS_ALLOWED;
        if (streq(policy_threat_type_action(m->policy, d->threat_type), "audit"))
                return THREAT_STATUS_AUDITED;
        return THREAT_STATUS_ACTIVE;
}

/* The same content found again at the same place (file, member and, when the record knows it,
 * inode) is the same threat, not a new record. Another inode under the name is a new record, so
 * that remediation checks the inode that was found now. */
static const Threat *threat_seen_before(Manager *m, const ScanDetection *d) {
        const Threat *t = threat_store_find_by_location(m->threats, d->path, d->member, NULL);

        if (t && t->has_identity && (t->dev != d->dev || t->ino != d->ino))
                return NULL;
        if (t && !isempty(d->sha256) && streq(t->sha256, d->sha256) &&
            streq(t->name, d->threat_name) &&
            IN_SET(t->status, THREAT_STATUS_ACTIVE, THREAT_STATUS_AUDITED, THREAT_STATUS_ALLOWED))
                return t;
        return NULL;
}

/* Remediation by the enforcement level and the type's policy; a failure leaves the threat
 * active in the history, with the reason in the log, and one for lack of space waits to be
 * tried again. Returns 0 or MANAGER_DETECTION_PENDING. */
static int threat_remediate(Manager *m, const Threat *t) {
        _cleanup_free_ char *id = NULL;
        int r;

        if (!manager_threat_should_quarantine(m, t))
                return 0;
        id = strdup(t->id);
        if (!id)
                return -ENOMEM;
        r = manager_threat_remediate(m, id);
        return r == MANAGER_DETECTION_PENDING ? r : 0;
}

int manager_threat_recorded(Manager *m, const char *id) {
        const Threat *t = threat_store_get(m->threats, id);

        if (!t)
                return 0;
        log_warning("Threat '%s' (%s) found in '%s'%s%s%s by %s scan, %s.", t->name, t->type,
                    t->path, t->member ? " (archive member '" : "", t->member ?: "",
                    t->member ? "')" : "", threat_source_to_string(t->source),
                    threat_status_to_string(t->status));
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_THREAT_DETECTED, .threat = t });
        return threat_remediate(m, t);
}

/* A detection seen before: the record follows the policy, then remediation. */
static int threat_found_again(Manager *m, const Threat *t, const ScanDetection *d) {
        ThreatStatus now = detection_status(m, d);
        _cleanup_free_ char *id = strdup(t->id);

        if (!id)
                return -ENOMEM;
        log_info("Threat '%s' in '%s' found again (%s).", t->name, t->path, t->id);
        /* The policy may have changed since (a name no longer allowed, a type now blocked): the
         * record follows it before remediation. */
        if (now != t->status &&
            threat_store_set_status(m->threats, id, now, "policy changed") >= 0)
                t = threat_store_get(m->threats, id);
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_THREAT_DETECTED, .threat = t });
        return threat_remediate(m, t);
}

/* ---- batched recording ------------------------------------------------------------------------
 *
 * Every change of the threat history rewrites and syncs its whole file, so a storm of
 * detections (a scan of a directory of samples, an RTP burst) recorded one by one would cost one
 * rewrite each. Detections are staged instead (a ThreatBacklog: copies, without repeats, each
 * tagged with its scan) and recorded together by threat_store_record_many() once the loop has
 * handled what woke it: the scan's eventfd drains every waiting detection before the flush runs,
 * so a batch holds up to THREAT_STORE_BATCH_MAX of them. The record is made in memory at once;
 * the store writes the file on the executor (merging writes queued meanwhile), and only when that
 * write has landed is the detection told and remediated: a file is never moved into the
 * quarantine before its record is on disk, and a scan ends after its records are. */

/* Detections told (a signal, a log line, a quarantine queued each) at a time, and the pause
 * before the next ones: a write that lands after a long wait may make thousands ready at once,
 * and telling them all in one go would queue thousands of signals ahead of every reply on the
 * bus, holding it for hundreds of ms. */
#define HISTORY_TELL_PER_TURN 32U
#define HISTORY_TELL_PAUSE_USEC (UINT64_C(2) * 1000)

/* A recorded detection waiting for the history's write. */
typedef struct HistoryWait {
        char id[THREAT_ID_LENGTH + 1];
        uint32_t scan;                  /* 0: none, or its result was already counted */
        uint64_t generation;            /* the store's content that holds it */
} HistoryWait;

/* One detection of the flushed batch that could not be recorded: it waits (manager-pending.c),
 * and its scan's result says so. */
static void staged_failed(Manager *m, const ThreatRecordInput *in, uint32_t scan, int r,
                          bool stopping) {
        if (stopping) {
                /* Nothing waits any more: the next scan finds the file again. */
                log_error_errno(r, "Threat '%s' found in '%s' could not be recorded before the "
                                "daemon stopped: %m", in->name, in->path);
                return;
        }
        if (IN_SET(r, -EINVAL, -ENAMETOOLONG)) {
                /* The detection itself cannot be recorded, now or later. */
                log_error_errno(r, "Threat '%s' found in '%s' could not be recorded: %m",
                                in->name, in->path);
                return;
        }
        /* The disk (or the history) refuses it for now: it waits in memory, with its
         * detection time, and its file stays where it is until it is recorded. */
        (void) manager_pending_record(m, in, r);
        if (scan > 0)
                manager_scan_threat_failed(m, scan);
}

/* Logs records made at shutdown: nothing is remediated any more. */
static void history_told_stopping(Manager *m, const char *id) {
        const Threat *t = threat_store_get(m->threats, id);

        if (t)
                log_warning("Threat '%s' found in '%s' recorded, %s.", t->name, t->path,
                            threat_status_to_string(t->status));
}

/* Tells and remediates the records whose write landed, by id (remediation may move records);
 * each one's scan hears that its remediation (the record) is done. */
static void history_tell(Manager *m, const HistoryWait *w, size_t n) {
        manager_pending_wrote(m);
        for (size_t i = 0; i < n; i++) {
                /* The quarantine a remediation queues belongs to the detection's scan. */
                m->detecting_scan = w[i].scan;
                if (manager_threat_recorded(m, w[i].id) == MANAGER_DETECTION_PENDING &&
                    w[i].scan > 0)
                        manager_scan_threat_failed(m, w[i].scan);
                m->detecting_scan = 0;
                /* After the remediation it may have started: the scan does not end between. */
                if (w[i].scan > 0)
                        manager_scan_remediation_done(m, w[i].scan, false);
        }
}

/* Looks at what the history's writes did: tells the waiting detections that are on disk now;
 * after a failed write, counts the others as failed in their scans (once) and lets the pending
 * retry write them. */
static void history_check(Manager *m);

static int history_tell_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        history_check(userdata);
        return 0;
}

static void history_check(Manager *m) {
        uint64_t saved = threat_store_saved_generation(m->threats);
        int error = threat_store_save_error(m->threats);
        _cleanup_free_ HistoryWait *ready = NULL;
        _cleanup_free_ uint32_t *failed = NULL;
        size_t n_ready = 0, n_failed = 0, o = 0;

        if (m->n_history_waits == 0) {
                if (error < 0)
                        manager_pending_history(m, error);
                return;
        }
        /* Copied out first: telling and scans that end stage and record more. */
        ready = malloc(m->n_history_waits * sizeof(HistoryWait));
        failed = malloc(m->n_history_waits * sizeof(uint32_t));
        if (!ready || !failed) {
                log_oom();
                return;         /* they stay and are told at the next write */
        }
        for (size_t i = 0; i < m->n_history_waits; i++) {
                HistoryWait *w = &m->history_waits[i];

                if (w->generation <= saved && n_ready < HISTORY_TELL_PER_TURN) {
                        ready[n_ready++] = *w;
                        continue;
                }
                if (w->generation <= saved) {
                        /* The rest after a pause. */
                        if (!m->history_tell) {
                                if (sd_event_add_time_relative(m->event, &m->history_tell,
                                                               CLOCK_MONOTONIC,
                                                               HISTORY_TELL_PAUSE_USEC, 0,
                                                               history_tell_handler, m) < 0)
                                        log_oom();
                        } else {
                                (void) sd_event_source_set_time_relative(m->history_tell,
                                                                         HISTORY_TELL_PAUSE_USEC);
                                (void) sd_event_source_set_enabled(m->history_tell,
                                                                   SD_EVENT_ONESHOT);
                        }
                } else if (error < 0 && w->scan > 0) {
                        failed[n_failed++] = w->scan;
                        w->scan = 0;
                }
                m->history_waits[o++] = *w;
        }
        m->n_history_waits = o;

        if (error < 0)
                manager_pending_history(m, error);
        for (size_t i = 0; i < n_failed; i++)
                manager_scan_remediation_done(m, failed[i], true);
        if (n_ready > 0)
                history_tell(m, ready, n_ready);
}

void manager_history_saved(ThreatStore *s, int result, void *userdata) {
        Manager *m = userdata;

        (void) s;
        history_check(m);
        /* The write that ends a failure clears its health issue now, not at the next refresh. */
        if (result >= 0 && threat_store_save_error(m->threats) == 0 &&
            m->pending_record_error != 0) {
                if (threat_backlog_count(m->pending_records) == 0)
                        m->pending_record_error = 0;
                manager_health_refresh(m);
        }
}

size_t manager_history_unsaved(Manager *m) {
        return threat_store_save_error(m->threats) < 0 ? m->n_history_waits : 0;
}

/* Makes the records of a flushed batch wait for their write. stopping: at shutdown, they are
 * only logged. */
static void staged_recorded(Manager *m, char **ids, const uint32_t *scans, bool stopping) {
        size_t n = strv_length(ids);
        HistoryWait *a;

        if (n == 0)
                return;
        if (stopping) {
                for (size_t i = 0; i < n; i++)
                        history_told_stopping(m, ids[i]);
                return;
        }
        a = reallocarray(m->history_waits, m->n_history_waits + n, sizeof(HistoryWait));
        if (!a) {
                /* Told at once rather than never: the write is queued. */
                log_oom();
                for (size_t i = 0; i < n; i++)
                        (void) manager_threat_recorded(m, ids[i]);
                return;
        }
        m->history_waits = a;
        for (size_t i = 0; i < n; i++) {
                HistoryWait *w = &a[m->n_history_waits++];

                *w = (HistoryWait) {
                        .scan = scans[i],
                        .generation = threat_store_generation(m->threats),
                };
                snprintf(w->id, sizeof(w->id), "%s", ids[i]);
                /* The scan ends after its records are on disk, as after its quarantines. */
                if (w->scan > 0)
                        manager_scan_remediation_started(m, w->scan);
        }
        history_check(m);
}

/* Records the staged detections with one change of the history; one by one when an input is
 * invalid, so that one bad detection does not hold the others back. remediate: false at
 * shutdown, when nothing may wait any more either. */
static void staged_flush(Manager *m, bool remediate) {
        size_t n = threat_backlog_count(m->staged_records);
        const ThreatRecordInput *in = threat_backlog_inputs(m->staged_records);
        _cleanup_free_ const Threat **got = NULL;
        _cleanup_free_ uint32_t *scans = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        size_t n_ids = 0;
        int r;

        if (n == 0)
                return;
        got = calloc(n, sizeof(*got));
        scans = calloc(n, sizeof(*scans));
        if (!got || !scans)
                r = -ENOMEM;
        else
                r = threat_store_record_many(m->threats, in, n, got);
        if (IN_SET(r, -EINVAL, -ENAMETOOLONG)) {
                for (size_t i = 0; i < n; i++) {
                        uint32_t scan = threat_backlog_tag(m->staged_records, i);
                        const Threat *t;
                        int k = threat_store_record(m->threats, &in[i], &t);

                        if (k < 0)
                                staged_failed(m, &in[i], scan, k, !remediate);
                        else if (strv_extend(&ids, t->id) >= 0)
                                scans[n_ids++] = scan;
                }
        } else if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        staged_failed(m, &in[i], threat_backlog_tag(m->staged_records, i), r,
                                      !remediate);
        } else {
                for (size_t i = 0; i < n; i++) {
                        if (strv_extend(&ids, got[i]->id) < 0) {
                                log_oom();
                                break;
                        }
                        scans[n_ids++] = threat_backlog_tag(m->staged_records, i);
                }
        }
        /* The inputs are copied where they wait; the ids are ours: the stage can go now. */
        threat_backlog_clear(m->staged_records);
        staged_recorded(m, ids, scans, !remediate);
}

static int staged_flush_handler(sd_event_source *s, void *userdata) {
        staged_flush(userdata, true);
        return 0;
}

void manager_threats_flush(Manager *m) {
        staged_flush(m, true);
        manager_threat_statuses_flush(m);
}

void manager_detection_free(Manager *m) {
        /* What was found is recorded before the daemon goes: it cannot be remediated now. */
        if (m->threats) {
                staged_flush(m, false);
                for (size_t i = 0; i < m->n_history_waits; i++)
                        history_told_stopping(m, m->history_waits[i].id);
        }
        m->history_waits = mfree(m->history_waits);
        m->n_history_waits = 0;
        m->history_tell = sd_event_source_disable_unref(m->history_tell);
        m->staged_flush = sd_event_source_disable_unref(m->staged_flush);
        m->staged_records = threat_backlog_free(m->staged_records);
}

/* Stages in for the next flush. Returns 0, or MANAGER_DETECTION_PENDING when it could not be
 * staged (then it waits in manager-pending.c). */
static int stage_record(Manager *m, ThreatRecordInput *in) {
        int r;

        if (!m->staged_records) {
                r = threat_backlog_new(THREAT_STORE_BATCH_MAX, &m->staged_records);
                if (r < 0)
                        goto fail;
        }
        if (!m->staged_flush) {
                r = sd_event_add_defer(m->event, &m->staged_flush, staged_flush_handler, m);
                if (r < 0)
                        goto fail;
        }
        /* A full batch is written now, and the detection starts the next one. */
        if (threat_backlog_count(m->staged_records) >= THREAT_STORE_BATCH_MAX)
                staged_flush(m, true);
        r = threat_backlog_add(m->staged_records, in, m->detecting_scan);
        if (r < 0)
                goto fail;
        return sd_event_source_set_enabled(m->staged_flush, SD_EVENT_ONESHOT) < 0 ?
                (staged_flush(m, true), 0) : 0;
fail:
        (void) manager_pending_record(m, in, r);
        return MANAGER_DETECTION_PENDING;
}

int manager_threat_detected(Manager *m, const ScanDetection *d, const char *source) {
        const Threat *t;
        ThreatRecordInput in;

        if (manager_threat_restored_recently(m, d->path, d->dev, d->ino)) {
                log_info("Threat '%s' in '%s' ignored: restored from the quarantine lately.",
                         d->threat_name, d->path);
                return 0;
        }
        t = threat_seen_before(m, d);
        if (t)
                return threat_found_again(m, t, d);

        in = (ThreatRecordInput) {
                .name = d->threat_name,
                .type = d->threat_type,
                .path = d->path,
                .member = d->member,
                .sha256 = d->sha256,
                .has_identity = d->ino != 0,
                .dev = d->dev,
                .ino = d->ino,
                .source = threat_source_from_string(source),
                .status = detection_status(m, d),
                .detected = detection_time_usec(),
        };
        return stage_record(m, &in);
}

/* scanAfterDefinitionUpdate: in real_time mode, the executables of running processes are
 * scanned with the new definitions (they were loaded before the update could judge them). */
void manager_scan_after_update(Manager *m) {
        _cleanup_strv_free_ char **exes = NULL;
        _cleanup_free_ char *msg = NULL;
        ManagerScan *s;
        DIR *d;
        struct dirent *de;
        int r;

        if (!m->policy->scan_after_update ||
            m->policy->enforcement != POLICY_ENFORCEMENT_REAL_TIME)
                return;
        d = opendir("/proc");
        if (!d)
                return;
        while ((de = readdir(d))) {
                char path[sizeof("/proc//exe") + sizeof(de->d_name)], exe[PATH_MAX];
                ssize_t n;

                if (strspn(de->d_name, "0123456789") != strlen(de->d_name))
                        continue;
                (void) snprintf(path, sizeof(path), "/proc/%s/exe", de->d_name);
                /* The executable itself, once each: a process may exit before the scan starts,
                 * its file stays. Kernel threads have none; deleted ones cannot be scanned. */
                n = readlink(path, exe, sizeof(exe) - 1);
                if (n <= 0 || exe[0] != '/')
                        continue;
                exe[n] = '\0';
                if (access(exe, F_OK) == 0 && !strv_contains(exes, exe) &&
                    strv_extend(&exes, exe) < 0)
                        break;
        }
        closedir(d);
        if (!exes)
                return;
        /* The daemon's own scan: it waits for a running scan and gives way to a client's. */
        r = manager_scan_start_daemon(m, SCAN_KIND_CUSTOM, exes, &s, &msg);
        if (r == 0)
                log_info("Scanning %zu running executables after the definition update (scan %u).",
                         strv_length(exes), s->id);
        else if (r == MANAGER_SCAN_QUEUED)
                log_info("Scanning %zu running executables after the definition update once the "
                         "running scan ends.", strv_length(exes));
        else
                log_warning("Running executables not scanned after the definition update: %s",
                            msg ?: r < 0 ? strerror(-r) : "refused");
}
