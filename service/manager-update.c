/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Definition updates as the daemon runs them: on request (Definitions.Update), on a jittered
 * timer with backoff after failures, and before scans in passive and on_demand modes. The
 * download, verification, installation and compilation run on one worker thread; the main loop
 * only swaps the compiled snapshot in when the thread is done, so neither scans nor the bus ever
 * wait for the network. One update at a time, and one connectivity test at a time in a slot of
 * its own: a test (which changes nothing) must never keep an update from running.
 *
 * The timer is re-armed after every attempt, whatever became of it, and health says when the
 * last successful update is older than the settings promise (manager_update_overdue()).
 *
 * Owns the update and connectivity jobs and their threads, the update timers and the update
 * outcome fields of Manager. A worker touches nothing but its job and, for an update, the
 * definitions store, which the main thread leaves alone while an update runs.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "manager.h"
#include "util/strv.h"

#define UPDATE_RETRY_MIN_USEC (UINT64_C(60) * 1000000)

struct UpdateJob {
        Manager *manager;
        bool connectivity_only;
        /* inputs, owned */
        char *url, *fallback_url, *proxy, *ca_file, *current_version, *work_directory;
        EVP_PKEY *key;
        /* outputs */
        int r;
        UpdateFetchResult result;
        DefinitionPack *pack;
        EngineRules *rules;
        char *error;
        char **lines;
        /* plumbing */
        pthread_t thread;
        int event_fd;
        sd_event_source *event_source;
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static UpdateJob *update_job_free(UpdateJob *j) {
        if (!j)
                return NULL;
        sd_event_source_disable_unref(j->event_source);
        closep(&j->event_fd);
        free(j->url);
        free(j->fallback_url);
        free(j->proxy);
        free(j->ca_file);
        free(j->current_version);
        free(j->work_directory);
        EVP_PKEY_free(j->key);
        update_fetch_result_done(&j->result);
        definition_pack_free(j->pack);
        engine_rules_unref(j->rules);
        free(j->error);
        strv_free(j->lines);
        return mfree(j);
}

/* Which mirror applies: the offline one when enabled and set (falling back to the update URL
 * when allowed), else the update URL. NULL url: none configured. */
static int update_source_urls(Manager *m, char **ret_url, char **ret_fallback) {
        const Policy *p = m->policy;
        bool use_offline = p->offline_update && p->offline_update_url;
        const char *url = use_offline ? p->offline_update_url : p->update_url;
        const char *fb = use_offline && p->offline_update_fallback ? p->update_url : NULL;

        *ret_url = isempty(url) ? NULL : strdup(url);
        *ret_fallback = isempty(fb) ? NULL : strdup(fb);
        if ((!isempty(url) && !*ret_url) || (!isempty(fb) && !*ret_fallback))
                return -ENOMEM;
        return 0;
}

const char *manager_update_source_uri(Manager *m) {
        if (m->policy->offline_update && m->policy->offline_update_url)
                return m->policy->offline_update_url;
        return m->policy->update_url;
}

static void update_job_source(UpdateJob *j, UpdateSource *src) {
        *src = (UpdateSource) {
                .url = j->url,
                .fallback_url = j->fallback_url,
                .proxy = j->proxy,
                .ca_file = j->ca_file,
                .public_key = j->key,
                .current_version = j->current_version,
                .engine_version = MDATP_VERSION,
                .work_directory = j->work_directory,
                .limits = {
                        .connect_timeout_usec = UPDATE_CONNECT_TIMEOUT_USEC_DEFAULT,
                        .timeout_usec = UPDATE_TIMEOUT_USEC_DEFAULT,
                        .low_speed_bytes = UPDATE_LOW_SPEED_BYTES_DEFAULT,
                        .low_speed_time_usec = UPDATE_LOW_SPEED_TIME_USEC_DEFAULT,
                        .max_manifest_size = UPDATE_MANIFEST_MAX_SIZE_DEFAULT,
                        .max_total_size = UPDATE_TOTAL_MAX_SIZE_DEFAULT,
                },
        };
        /* Tests shorten the slow-transfer guard: a stalled mirror must not hold the update. */
        const char *low = getenv("MDATP_UPDATE_LOW_SPEED_TIME");
        if (low && atoi(low) > 0)
                src->limits.low_speed_time_usec = (uint64_t) atoi(low) * 1000000;
}

static void *update_thread_main(void *userdata) {
        UpdateJob *j = userdata;
        UpdateSource src;
        uint64_t one = 1;

        update_job_source(j, &src);
        if (j->connectivity_only)
                j->r = update_test_connectivity(&src, &j->lines);
        else {
                j->r = update_fetch_and_install(&src, j->manager->definitions_store, &j->pack,
                                                &j->result, &j->error);
                /* Compiling a large rule set takes a while: here, not on the main loop. */
                if (j->r == 0 && j->pack) {
                        _cleanup_free_ char *compile_error = NULL;
                        int k = manager_rules_from_pack(j->pack, &j->rules, &compile_error);
                        if (k < 0) {
                                j->r = k;
                                free(j->error);
                                j->error = TAKE_PTR(compile_error);
                        }
                }
        }
        (void) !write(j->event_fd, &one, sizeof(one));
        return NULL;
}

/* Whoever waits for this job (the subscriber keeps the calls) hears how it ended. */
static void update_finished(UpdateJob *j, Manager *m) {
        ManagerUpdateResult result = {
                .connectivity_only = j->connectivity_only,
                .r = j->r,
                .error = j->error,
                .lines = j->lines,
        };

        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_UPDATE_FINISHED,
                                          .update = &result });
}

/* Back on the main loop: swap the new rules in, record the outcome, answer the callers. */
static int update_done_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        UpdateJob *j = userdata;
        Manager *m = j->manager;

        pthread_join(j->thread, NULL);
        if (j->connectivity_only)
                m->connectivity_job = NULL;
        else
                m->update_job = NULL;

        if (!j->connectivity_only) {
                m->last_update_usec = now_usec();
                free(m->update_fail_reason);
                m->update_fail_reason = NULL;
                if (j->r == 0 && j->rules) {
                        manager_swap_rules(m, TAKE_PTR(j->rules), j->pack, "current");
                        m->update_failures = 0;
                        m->update_success_usec = m->last_update_usec;
                        log_info("Definitions updated to %s from '%s'.", j->pack->version,
                                 j->result.endpoint ?: "?");
                } else if (j->r == UPDATE_UP_TO_DATE) {
                        m->update_failures = 0;
                        m->update_success_usec = m->last_update_usec;
                        log_info("Security intelligence is up to date (%s).",
                                 m->definitions_version ?: "none");
                } else {
                        m->update_failures++;
                        m->update_fail_reason = strdup(j->error ?: strerror(-j->r));
                        log_warning("Definition update failed: %s", j->error ?: strerror(-j->r));
                }
                manager_update_schedule(m);
                manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_DEFINITIONS_CHANGED });
                manager_health_refresh(m);
        }
        /* The scan starts before the answer, so that a client that hears "updated" also
         * finds the scan it caused. */
        if (!j->connectivity_only && j->r == 0)
                manager_scan_after_update(m);
        update_finished(j, m);
        update_job_free(j);
        return 0;
}

static int update_job_start(Manager *m, bool connectivity_only, UpdateJob **ret) {
        UpdateJob **slot = connectivity_only ? &m->connectivity_job : &m->update_job;
        UpdateJob *j;
        sigset_t all, old;
        int r;

        if (*slot)
                return -EBUSY;
        /* A reload reads the store on the executor: the update would change it underneath. */
        if (!connectivity_only && m->definitions_loads > 0)
                return -EBUSY;
        if (!m->definitions_store || !m->definitions_key)
                return -ENODEV;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->connectivity_only = connectivity_only;
        j->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r = update_source_urls(m, &j->url, &j->fallback_url);
        if (r >= 0 && !j->url)
                r = -ENOMEDIUM;
        if (r >= 0 && j->event_fd < 0)
                r = negative_errno();
        if (r >= 0) {
                const char *proxy = m->policy->proxy;
                const char *ca = getenv("MDATP_UPDATE_CA_FILE");
                j->proxy = isempty(proxy) ? NULL : strdup(proxy);
                j->ca_file = isempty(ca) ? NULL : strdup(ca);
                j->current_version = m->definitions_version ? strdup(m->definitions_version) : NULL;
                j->work_directory = strdup(m->state_dir);
                j->key = m->definitions_key;
                EVP_PKEY_up_ref(j->key);
                if (!j->work_directory)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = sd_event_add_io(m->event, &j->event_source, j->event_fd, EPOLLIN,
                                    update_done_handler, j);
        if (r >= 0) {
                /* The thread must not take the daemon's signals. */
                sigfillset(&all);
                pthread_sigmask(SIG_BLOCK, &all, &old);
                r = -pthread_create(&j->thread, NULL, update_thread_main, j);
                pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        if (r < 0) {
                update_job_free(j);
                return r;
        }
        *slot = j;
        if (!connectivity_only)  /* Status: updating */
                manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_DEFINITIONS_CHANGED });
        *ret = j;
        return 0;
}

int manager_update_start(Manager *m, bool connectivity_only) {
        UpdateJob *j;
        int r;

        r = update_job_start(m, connectivity_only, &j);
        if (r < 0)
                return r;
        if (!connectivity_only)
                log_info("Definition update started from '%s'.", j->url);
        return 0;
}

bool manager_update_running(Manager *m) {
        return m->update_job != NULL;
}

/* The interval the settings promise. $MDATP_UPDATE_INTERVAL (seconds) overrides it for tests,
 * which cannot wait the schema's minimum of a minute per round. */
static uint64_t update_interval_usec(Manager *m) {
        const char *env = getenv("MDATP_UPDATE_INTERVAL");

        if (env && atoi(env) > 0)
                return (uint64_t) atoi(env) * 1000000;
        return m->policy->update_interval_sec * 1000000;
}

/* Whether the timer runs updates: real_time mode with automatic updates and a source. */
static bool update_automatic(Manager *m) {
        return m->policy->update_automatic &&
               m->policy->enforcement == POLICY_ENFORCEMENT_REAL_TIME &&
               manager_update_source_uri(m);
}

/* When automatic updates become overdue (CLOCK_REALTIME µs), or 0 while none are promised.
 * Counted from the last success, or from when they started to apply if that is later (a
 * daemon just started, or automatic updates just enabled, owes nothing yet). */
static uint64_t update_overdue_at(Manager *m) {
        uint64_t since = MAX(m->update_success_usec, m->update_due_since_usec);

        if (!update_automatic(m) || since == 0)
                return 0;
        return since + MANAGER_UPDATE_OVERDUE_INTERVALS * update_interval_usec(m);
}

bool manager_update_overdue(Manager *m) {
        uint64_t at = update_overdue_at(m);

        return at > 0 && now_usec() >= at;
}

/* Fires when an update becomes overdue: nothing else happens then that would tell clients. */
static int update_overdue_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("Definition updates are overdue: %s.",
                    m->update_fail_reason ?: "no update has succeeded in time");
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_DEFINITIONS_CHANGED });
        manager_health_refresh(m);
        return 0;
}

static void update_overdue_schedule(Manager *m) {
        uint64_t at = update_overdue_at(m);

        if (at == 0) {
                m->update_overdue_timer = sd_event_source_disable_unref(m->update_overdue_timer);
                return;
        }
        if (m->update_overdue_timer) {
                (void) sd_event_source_set_time(m->update_overdue_timer, at);
                (void) sd_event_source_set_enabled(m->update_overdue_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_time(m->event, &m->update_overdue_timer, CLOCK_REALTIME, at,
                              UINT64_C(1000000), update_overdue_handler, m) < 0)
                log_warning("Failed to watch for overdue definition updates.");
}

/* Every firing re-arms the timer, whatever the outcome: a start refused because an update
 * already runs (its end re-arms it too) or one that failed to start must not end the
 * schedule. */
static int update_timer_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        r = manager_update_start(m, false);
        if (r < 0) {
                if (r != -ENOMEDIUM && r != -EBUSY)
                        log_warning_errno(r, "Automatic definition update not started: %m");
                manager_update_schedule(m);
        }
        return 0;
}

/* 0..999, different on every host and every call: random() unseeded gave every host of a fleet
 * the same delay, so they all reached the mirror at once. */
static uint64_t update_jitter_permille(void) {
        uint32_t v = 0;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t) sizeof(v))
                v = (uint32_t) (now_usec() ^ ((uint64_t) getpid() << 16));
        return v % 1000;
}

/* Records when the timer fires next; clients hear of it (Definitions.NextUpdate). */
static void update_next_set(Manager *m, uint64_t usec) {
        if (m->update_next_usec == usec)
                return;
        m->update_next_usec = usec;
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_DEFINITIONS_CHANGED });
}

/* Periodic updates in real_time mode: every definitionUpdatesInterval, jittered by up to a
 * tenth so that a fleet does not hit its mirror at once; after failures, sooner, backing off
 * from a minute up to the interval. */
void manager_update_schedule(Manager *m) {
        uint64_t interval = update_interval_usec(m);
        uint64_t delay = interval;

        if (!update_automatic(m)) {
                if (m->update_timer)
                        log_info("Automatic definition updates are off.");
                m->update_timer = sd_event_source_disable_unref(m->update_timer);
                m->update_due_since_usec = 0;
                m->update_delay_usec = 0;
                update_overdue_schedule(m);
                update_next_set(m, 0);
                return;
        }
        if (m->update_due_since_usec == 0)
                m->update_due_since_usec = now_usec();
        update_overdue_schedule(m);
        if (m->update_failures > 0) {
                unsigned shift = m->update_failures > 20 ? 20 : m->update_failures - 1;
                uint64_t backoff = UPDATE_RETRY_MIN_USEC << shift;
                delay = backoff < interval ? backoff : interval;
        }
        delay += update_jitter_permille() * (delay / 10) / 1000;
        m->update_delay_usec = delay;
        update_next_set(m, now_usec() + delay);
        /* Observable, so that a fleet's spread (and a change of the interval) can be seen. */
        log_info("Next automatic definition update in %" PRIu64 ".%03" PRIu64 " s.",
                 delay / 1000000, delay / 1000 % 1000);

        if (m->update_timer) {
                (void) sd_event_source_set_time_relative(m->update_timer, delay);
                (void) sd_event_source_set_enabled(m->update_timer, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_time_relative(m->event, &m->update_timer, CLOCK_MONOTONIC, delay,
                                       UINT64_C(1000000), update_timer_handler, m) < 0)
                log_warning("Failed to schedule automatic definition updates.");
}

/* In passive and on_demand modes updates come before scans instead of on a timer. The scan
 * does not wait: it uses what is in force, and the update serves the next one. */
void manager_update_before_scan(Manager *m) {
        if (!m->policy->update_automatic ||
            m->policy->enforcement == POLICY_ENFORCEMENT_REAL_TIME || !manager_update_source_uri(m))
                return;
        (void) manager_update_start(m, false);
}

int manager_definitions_restore(Manager *m, uint64_t *ret_request) {
        uint64_t request;
        int r;

        if (m->update_job || m->definitions_loads > 0)
                return -EBUSY;
        if (!m->definitions_store)
                return -EINVAL;         /* as the store's restore said when there was none */
        /* Dropping the downloaded packs and compiling the rules take seconds: on the executor,
         * answered when done. */
        request = manager_request_new(m);
        r = manager_load_definitions_restore(m, request);
        if (r < 0)
                return r;
        *ret_request = request;
        return 0;
}

void manager_update_free(Manager *m) {
        if (m->update_job) {
                /* Let a running download finish: its thread owns the job. Bounded by the
                 * transfer timeouts; the service manager's stop timeout is the backstop. */
                pthread_join(m->update_job->thread, NULL);
                update_job_free(m->update_job);
                m->update_job = NULL;
        }
        if (m->connectivity_job) {
                pthread_join(m->connectivity_job->thread, NULL);
                update_job_free(m->connectivity_job);
                m->connectivity_job = NULL;
        }
        m->update_timer = sd_event_source_disable_unref(m->update_timer);
        m->update_overdue_timer = sd_event_source_disable_unref(m->update_overdue_timer);
        free(m->update_fail_reason);
        EVP_PKEY_free(m->definitions_key);
}

const char *manager_definitions_status(Manager *m) {
        uint64_t max_age;

        if (!m->rules)
                return "unavailable";
        if (manager_update_running(m))
                return "updating";
        max_age = (uint64_t) m->policy->definitions_max_age_days * UINT64_C(86400000000);
        if (m->definitions_updated_usec + max_age < now_usec())
                return "stale";
        if (manager_update_overdue(m))
                return "overdue";
        return "up_to_date";
}
