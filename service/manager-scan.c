/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * On-demand scans as the daemon runs them: one at a time, with the current definitions and
 * exclusions, their progress published a few times a second, their detections recorded as they
 * come, their end written to the history. Main thread only; the scan itself runs on the job's
 * threads (scan/).
 *
 * Scans the daemon starts for itself (after a definition update) never refuse a client's: a
 * client's Start while one runs cancels it and queues it again, and it starts from the beginning
 * once no scan runs (the verdict cache spares it what it already judged). Two clients' scans
 * still exclude each other (Busy). Owns m->scans, m->running_scan and the queued daemon scan.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>

#include "exclusions/exclusions.h"
#include "manager.h"
#include "util/hash.h"
#include "util/strv.h"

#define SCAN_PROGRESS_USEC (250 * 1000)

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static ManagerScan *manager_scan_free(ManagerScan *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->progress_timer);
        sd_event_source_disable_unref(s->job_source);
        scan_job_free(s->job);
        strv_free(s->paths);
        free(s->error);
        return mfree(s);
}

static void scan_queue_drop(Manager *m) {
        m->scan_queued = false;
        m->scan_queued_paths = strv_free(m->scan_queued_paths);
        m->scan_queued_from = 0;
}

void manager_scans_free(Manager *m) {
        scan_queue_drop(m);
        while (m->scans) {
                ManagerScan *next = m->scans->next;
                manager_scan_free(m->scans);
                m->scans = next;
        }
        m->running_scan = NULL;
}

ManagerScan *manager_scan_find(Manager *m, uint32_t id) {
        for (ManagerScan *s = m->scans; s; s = s->next)
                if (s->id == id)
                        return s;
        return NULL;
}

const ScanRecord *manager_last_scan(Manager *m) {
        for (size_t i = m->scan_history.n; i > 0; i--)
                if (m->scan_history.items[i - 1].state != SCAN_STATE_RUNNING)
                        return &m->scan_history.items[i - 1];
        return NULL;
}

/* Publishes the counters that changed since last time. */
static void scan_publish_progress(ManagerScan *s) {
        static const char *names[] = { "FilesScanned", "BytesScanned", "ThreatsFound",
                                       "FilesCached", "FilesFailed", "Progress" };
        _cleanup_strv_free_ char **changed = NULL;
        ScanCounters c;

        if (!s->job)
                return;
        scan_job_get_counters(s->job, &c);
        const bool differs[] = {
                c.files_scanned != s->counters.files_scanned,
                c.bytes_scanned != s->counters.bytes_scanned,
                c.threats_found != s->counters.threats_found,
                c.files_cached != s->counters.files_cached,
                c.files_failed != s->counters.files_failed,
                memcmp(&c, &s->counters, sizeof(c)) != 0,
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (differs[i] && strv_extend(&changed, names[i]) < 0)
                        return;
        s->counters = c;
        if (changed)
                manager_emit(s->manager, &(ManagerEvent) { .type = MANAGER_EVENT_SCAN_CHANGED,
                                                     .scan = s, .names = changed });
}

static int scan_progress_handler(sd_event_source *src, uint64_t usec, void *userdata) {
        ManagerScan *s = userdata;

        scan_publish_progress(s);
        /* A time source fires once: arm it again. */
        (void) sd_event_source_set_time_relative(src, SCAN_PROGRESS_USEC);
        return sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

static void scan_on_detection(const ScanDetection *d, void *userdata) {
        ManagerScan *s = userdata;
        int r;

        /* What could not be recorded or remediated now waits to be retried; the scan's result
         * says how much, so that it never reads as plain success. A quarantine queued on the
         * executor counts itself when done (manager_scan_remediation_done()): detecting_scan
         * tells it whose it is. */
        s->manager->detecting_scan = s->id;
        r = manager_threat_detected(s->manager, d, "on_demand");
        s->manager->detecting_scan = 0;
        if (r == MANAGER_DETECTION_PENDING)
                s->threats_failed++;
}

/* The verdict cache is saved on the executor: up to tens of MB and an fsync. The cache's own
 * mutex makes a save safe beside lookups and inserts; cache and path outlive the executor
 * (manager_free() frees it first). Keyed: scans ending back to back write it once. */
typedef struct CacheSave {
        VerdictCache *cache;
        const char *path;
} CacheSave;

static int cache_save_run(void *userdata) {
        CacheSave *c = userdata;

        return verdict_cache_save(c->cache, c->path);
}

static void cache_save_done(int result, void *userdata) {
        if (result < 0 && result != -ECANCELED)
                log_warning_errno(result, "Failed to save the verdict cache: %m");
        free(userdata);
}

static void verdict_cache_save_queue(Manager *m) {
        CacheSave *c;
        int r;

        if (!m->verdict_cache || !m->verdict_cache_path)
                return;
        c = malloc(sizeof(*c));
        if (!c)
                return (void) log_oom();
        *c = (CacheSave) { .cache = m->verdict_cache, .path = m->verdict_cache_path };
        r = executor_submit(m->executor, &(ExecutorJob) {
                .key = "verdict-cache-save", .run = cache_save_run, .done = cache_save_done,
                .userdata = c,
        });
        if (r < 0) {
                free(c);
                log_warning_errno(r, "Failed to queue the verdict cache save, skipping: %m");
        }
}

/* Keeps the objects of the last few finished scans; older ones live on in the history. */
static void scans_trim(Manager *m) {
        size_t n = 0;

        for (ManagerScan **p = &m->scans; *p;) {
                if ((*p)->state != SCAN_STATE_RUNNING && ++n > MANAGER_SCANS_KEPT) {
                        ManagerScan *dead = *p;
                        *p = dead->next;
                        manager_scan_free(dead);
                } else
                        p = &(*p)->next;
        }
}

static void scan_run_queued(Manager *m);

static void scan_finish(ManagerScan *s, ScanState state) {
        Manager *m = s->manager;
        ScanRecord rec;

        scan_publish_progress(s);
        s->state = state;
        s->end_usec = now_usec();
        s->progress_timer = sd_event_source_disable_unref(s->progress_timer);
        s->job_source = sd_event_source_disable_unref(s->job_source);
        s->job = scan_job_free(s->job);
        if (m->running_scan == s)
                m->running_scan = NULL;
        if (state == SCAN_STATE_FAILED && !s->error)
                s->error = strdup("none of the paths to scan could be opened");

        rec = (ScanRecord) {
                .id = s->id, .kind = s->kind, .state = state,
                .start_usec = s->start_usec, .end_usec = s->end_usec,
                .files_scanned = s->counters.files_scanned + s->counters.files_cached,
                .threats_found = s->counters.threats_found,
        };
        /* A failed save keeps the entry in memory; it is written when the disk lets it. */
        manager_pending_scan_history(m, scan_history_put(&m->scan_history, &rec));
        verdict_cache_save_queue(m);

        log_info("Scan %u (%s) %s: %" PRIu64 " file(s) scanned, %" PRIu64 " from cache, %"
                 PRIu64 " failed, %" PRIu64 " threat(s), %" PRIu64 " not yet recorded or "
                 "remediated.",
                 s->id, scan_kind_to_string(s->kind), scan_state_to_string(state),
                 s->counters.files_scanned, s->counters.files_cached, s->counters.files_failed,
                 s->counters.threats_found, s->threats_failed);
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_SCAN_FINISHED, .scan = s });
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_SCANS_RUNNING_CHANGED });
        /* A yielded scan that got to its end before it heard the cancel need not run again. */
        if (state == SCAN_STATE_SUCCEEDED && m->scan_queued && m->scan_queued_from == s->id)
                scan_queue_drop(m);
        scans_trim(m);
        if (!m->running_scan)
                scan_run_queued(m);
}

static int scan_job_handler(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        ManagerScan *s = userdata;
        ScanState state;

        if (scan_job_drain(s->job, scan_on_detection, s, &state) <= 0)
                return 0;
        /* Its last detections are recorded (and their quarantines queued) before it ends. */
        manager_threats_flush(s->manager);
        if (s->remediations_running > 0) {
                /* A scan ends when what it found is where the policy puts it: a client that
                 * hears "finished" finds the files quarantined. */
                s->finish_waiting = true;
                s->finish_state = state;
                return sd_event_source_set_enabled(src, SD_EVENT_OFF);
        }
        scan_finish(s, state);
        return 0;
}

void manager_scan_threat_failed(Manager *m, uint32_t id) {
        ManagerScan *s = manager_scan_find(m, id);

        if (s && s->state == SCAN_STATE_RUNNING)
                s->threats_failed++;
}

void manager_scan_remediation_started(Manager *m, uint32_t id) {
        ManagerScan *s = manager_scan_find(m, id);

        if (s && s->state == SCAN_STATE_RUNNING)
                s->remediations_running++;
}

void manager_scan_remediation_done(Manager *m, uint32_t id, bool failed) {
        ManagerScan *s = manager_scan_find(m, id);

        if (!s || s->state != SCAN_STATE_RUNNING || s->remediations_running == 0)
                return;
        if (failed)
                s->threats_failed++;
        if (--s->remediations_running == 0 && s->finish_waiting) {
                s->finish_waiting = false;
                /* What its quarantines did is in the history before it is said to be over. */
                manager_threats_flush(m);
                scan_finish(s, s->finish_state);
        }
}

/* Where the scan goes: the kind's places, or the caller's paths (absolute, existing). */
static int scan_roots(Manager *m, ScanKind kind, char * const *paths, char ***ret,
                      char **ret_message) {
        struct stat st;

        switch (kind) {
        case SCAN_KIND_QUICK:
                return scan_quick_paths(ret);
        case SCAN_KIND_FULL:
                return scan_full_roots(m->policy->unmonitored_filesystems, ret);
        case SCAN_KIND_CUSTOM:
                if (strv_length((char **) paths) == 0)
                        return asprintf(ret_message, "a custom scan needs at least one path") < 0 ?
                                       -ENOMEM : MANAGER_SCAN_INVALID;
                for (char * const *p = paths; *p; p++) {
                        if ((*p)[0] != '/')
                                return asprintf(ret_message, "path '%s' is not absolute", *p) < 0 ?
                                               -ENOMEM : MANAGER_SCAN_INVALID;
                        if (stat(*p, &st) < 0)
                                return asprintf(ret_message, "path '%s' cannot be scanned: %s", *p,
                                                strerror(errno)) < 0 ? -ENOMEM :
                                                                       MANAGER_SCAN_INVALID;
                }
                *ret = strv_copy((char **) paths);
                return *ret ? 0 : -ENOMEM;
        default:
                return -EINVAL;
        }
}

int manager_threat_types_with_action(Manager *m, const char *action, char ***ret) {
        char **v = m->policy->threat_type_actions;
        _cleanup_strv_free_ char **l = NULL;

        for (size_t i = 0; v && v[i] && v[i + 1]; i += 2)
                if (streq(v[i + 1], action) && strv_extend(&l, v[i]) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}
int manager_engine_options(Manager *m, EngineScanOptions *opts, char ***ret_ignored,
                           uint64_t *ret_generation) {
        _cleanup_strv_free_ char **ignored = NULL;
        uint64_t generation;
        int r;

        r = manager_threat_types_with_action(m, "off", &ignored);  /* never detected */
        if (r < 0)
                return r;
        *opts = (EngineScanOptions) ENGINE_SCAN_OPTIONS_DEFAULT;
        opts->scan_archives = m->policy->scan_archives;
        opts->compute_hash = m->policy->compute_hash;
        opts->ignored_types = ignored;
        /* A clean verdict holds only for the options it was made under: a PUA found "clean"
         * while its policy was off, or an archive while archives were not opened, must be
         * scanned again once that changes. */
        generation = m->rules_generation ^ (opts->scan_archives ? 0x5a : 0);
        for (char **t = ignored; t && *t; t++)
                generation = fnv1a64_add_string(generation, *t);
        *ret_generation = generation;
        *ret_ignored = TAKE_PTR(ignored);
        return 0;
}

static int scan_job_config(Manager *m, ManagerScan *s, bool ignore_exclusions,
                           ScanJobConfig *c, char ***ignored, ExclusionSet **excl) {
        EngineScanOptions opts;
        uint64_t generation;
        int r;

        r = manager_engine_options(m, &opts, ignored, &generation);
        if (r < 0)
                return r;
        if (!ignore_exclusions) {
                r = manager_exclusion_set(m, excl);
                if (r < 0)
                        return r;
        }
        *c = (ScanJobConfig) {
                .kind = s->kind,
                .roots = s->paths,
                .one_filesystem = s->kind != SCAN_KIND_CUSTOM,
                .n_threads = m->policy->scan_threads,
                .rules = m->rules,
                .generation = generation,
                .exclusions = *excl,
                .engine_options = opts,
                .cache = m->verdict_cache,
                .restored = m->restored,
        };
        return 0;
}

static int scan_attach(Manager *m, ManagerScan *s) {
        int r;

        r = sd_event_add_io(m->event, &s->job_source, scan_job_get_fd(s->job), EPOLLIN,
                            scan_job_handler, s);
        if (r < 0)
                return r;
        return sd_event_add_time_relative(m->event, &s->progress_timer, CLOCK_MONOTONIC,
                                          SCAN_PROGRESS_USEC, 0, scan_progress_handler, s);
}

/* Builds a scan and starts its job, without publishing it: nothing in m changes. Returns 0
 * (*ret owned by the caller), or an outcome or error as manager_scan_start(). */
static int scan_new(Manager *m, ScanKind kind, char * const *paths, bool ignore_exclusions,
                    ManagerScan **ret, char **ret_message) {
        _cleanup_(exclusion_set_unrefp) ExclusionSet *excl = NULL;
        _cleanup_strv_free_ char **ignored = NULL;
        ManagerScan *s;
        ScanJobConfig config;
        int r;

        if (!m->rules)
                return MANAGER_SCAN_NO_DEFINITIONS;
        manager_update_before_scan(m);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (ManagerScan) { .manager = m, .kind = kind, .state = SCAN_STATE_RUNNING,
                             .id = m->scan_history.next_id, .start_usec = now_usec() };
        r = scan_roots(m, kind, paths, &s->paths, ret_message);
        if (r == 0)
                r = scan_job_config(m, s, ignore_exclusions, &config, &ignored, &excl);
        if (r == 0)
                r = scan_job_start(&config, &s->job);
        if (r == 0)
                r = scan_attach(m, s);
        if (r != 0) {
                manager_scan_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

/* Makes s the running scan. */
static void scan_publish(Manager *m, ManagerScan *s, bool ignore_exclusions) {
        /* Recorded as running now: a daemon killed mid-scan shows it failed, and never reuses
         * its id. */
        manager_pending_scan_history(m, scan_history_put(&m->scan_history, &(ScanRecord) {
                                                     .id = s->id, .kind = s->kind,
                                                     .state = SCAN_STATE_RUNNING,
                                                     .start_usec = s->start_usec }));
        s->next = m->scans;
        m->scans = s;
        m->running_scan = s;
        log_info("Scan %u (%s) started%s%s.", s->id, scan_kind_to_string(s->kind),
                 s->by_daemon ? " by the daemon" : "",
                 ignore_exclusions ? ", ignoring exclusions" : "");
        /* Announced the same whoever started it: a client's scan or the daemon's own. */
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_SCAN_ADDED, .scan = s });
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_SCANS_RUNNING_CHANGED });
}

/* Remembers the daemon's scan to start once no scan runs; a newer request replaces an older
 * one, since it would run with the newest definitions anyway. from: the scan that yielded, or
 * 0. Returns 0 or -ENOMEM. */
static int scan_queue(Manager *m, ScanKind kind, char * const *paths, uint32_t from) {
        char **copy = NULL;

        if (paths) {
                copy = strv_copy(paths);
                if (!copy)
                        return -ENOMEM;
        }
        scan_queue_drop(m);
        m->scan_queued = true;
        m->scan_queued_kind = kind;
        m->scan_queued_paths = copy;
        m->scan_queued_from = from;
        return 0;
}

/* The daemon's scan d gives way to the client's scan by: it stops, and is queued to start again
 * unless someone had asked it to stop. */
static void scan_yield(ManagerScan *d, const ManagerScan *by) {
        Manager *m = d->manager;
        int r;

        if (d->cancel_requested) {
                log_info("Scan %u, cancelled already, gives way to scan %u.", d->id, by->id);
                return;
        }
        r = scan_queue(m, d->kind, d->paths, d->id);
        if (r < 0)
                log_warning_errno(r, "Scan %u gives way to scan %u and cannot be queued again, "
                                  "ignoring: %m", d->id, by->id);
        else
                log_info("Scan %u (the daemon's) gives way to scan %u; it starts again once no "
                         "scan runs.", d->id, by->id);
        free(d->error);
        if (asprintf(&d->error, "gave way to scan %u%s", by->id,
                     r < 0 ? "" : "; started again after it") < 0)
                d->error = NULL;        /* the state still says cancelled */
        scan_job_cancel(d->job);
}

int manager_scan_start(Manager *m, ScanKind kind, char * const *paths, bool ignore_exclusions,
                       ManagerScan **ret, char **ret_message) {
        ManagerScan *yielding = NULL, *s;
        int r;

        if (m->running_scan) {
                if (!m->running_scan->by_daemon)
                        return MANAGER_SCAN_BUSY;
                yielding = m->running_scan;
        }
        /* The daemon's scan is stopped only once the client's can start. */
        r = scan_new(m, kind, paths, ignore_exclusions, &s, ret_message);
        if (r != 0)
                return r;
        if (yielding)
                scan_yield(yielding, s);
        scan_publish(m, s, ignore_exclusions);
        *ret = s;
        return 0;
}

int manager_scan_start_daemon(Manager *m, ScanKind kind, char * const *paths, ManagerScan **ret,
                              char **ret_message) {
        ManagerScan *s;
        int r;

        if (m->running_scan) {
                r = scan_queue(m, kind, paths, 0);
                return r < 0 ? r : MANAGER_SCAN_QUEUED;
        }
        r = scan_new(m, kind, paths, false, &s, ret_message);
        if (r != 0)
                return r;
        s->by_daemon = true;
        scan_publish(m, s, false);
        *ret = s;
        return 0;
}

/* Starts the queued daemon scan, now that no scan runs. */
static void scan_run_queued(Manager *m) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *msg = NULL;
        uint32_t from = m->scan_queued_from;
        ScanKind kind = m->scan_queued_kind;
        ManagerScan *s;
        int r;

        if (!m->scan_queued)
                return;
        paths = TAKE_PTR(m->scan_queued_paths);
        scan_queue_drop(m);
        r = manager_scan_start_daemon(m, kind, paths, &s, &msg);
        if (r == 0) {
                if (from > 0)
                        log_info("Scan %u starts again, as scan %u.", from, s->id);
        } else
                log_warning("The daemon's queued scan did not start: %s",
                            msg ?: r < 0 ? strerror(-r) : "refused");
}

void manager_scan_cancel(ManagerScan *s) {
        if (s->job && s->state == SCAN_STATE_RUNNING) {
                log_info("Scan %u cancel requested.", s->id);
                s->cancel_requested = true;
                scan_job_cancel(s->job);
        }
}
