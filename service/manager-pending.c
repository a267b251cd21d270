/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the state directory could not take yet (a full or failing disk): detections the threat
 * history could not record, threats that could not be quarantined, the scan history. Nothing is
 * dropped: it waits here, bounded, and is written again on a timer with backoff, and soon after
 * any write that succeeds; meanwhile health says so. A file whose quarantine failed stays where
 * it is (the quarantine never deletes what it could not copy) and is quarantined once a retry
 * succeeds, after checking that it still is the detected inode with the detected content.
 *
 * Owns m->pending_* and m->scan_history_error; records through the threat store and
 * remediates through manager-threats.c, never touching the quarantine itself. Main thread only;
 * a retry does what the original attempt would have done, in bounded batches.
 */
#include <inttypes.h>
#include <string.h>

#include "manager.h"
#include "util/strv.h"

#define PENDING_RETRY_FIRST_USEC (UINT64_C(1) * 1000000)
#define PENDING_RETRY_MAX_USEC (UINT64_C(30) * 1000000)
#define PENDING_RETRY_SOON_USEC (UINT64_C(100) * 1000)
#define PENDING_RECORDS_MAX THREAT_STORE_BATCH_MAX      /* one save takes them all */
#define PENDING_REMEDIATIONS_MAX 1024U
#define PENDING_REMEDIATIONS_PER_RUN 32U                /* copies of whole files: a few a run */

static bool pending_any(const Manager *m) {
        return threat_backlog_count(m->pending_records) > 0 || m->n_pending_remediations > 0 ||
               m->scan_history_error < 0 || threat_store_save_error(m->threats) < 0;
}

/* Health follows at once: whether anything waits, and why. */
static void pending_changed(Manager *m) {
        manager_health_refresh(m);
}

static int pending_handler(sd_event_source *s, uint64_t usec, void *userdata);

/* Arms the retry timer to fire in usec, unless it fires sooner already. */
static void pending_schedule(Manager *m, uint64_t usec) {
        uint64_t now, next;
        int enabled = SD_EVENT_OFF;

        if (!m->event)
                return;
        if (!m->pending_timer) {
                if (sd_event_add_time_relative(m->event, &m->pending_timer, CLOCK_MONOTONIC, usec,
                                               0, pending_handler, m) < 0)
                        log_error("The retry of pending writes could not be scheduled.");
                return;
        }
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                now = 0;
        if (sd_event_source_get_enabled(m->pending_timer, &enabled) >= 0 &&
            enabled != SD_EVENT_OFF && sd_event_source_get_time(m->pending_timer, &next) >= 0 &&
            next <= now + usec)
                return;
        (void) sd_event_source_set_time_relative(m->pending_timer, usec);
        (void) sd_event_source_set_enabled(m->pending_timer, SD_EVENT_ONESHOT);
}

/* Something failed to be written: the first retry comes soon, later ones back off. */
static void pending_added(Manager *m) {
        if (m->pending_backoff_usec == 0) {
                m->pending_backoff_usec = PENDING_RETRY_FIRST_USEC;
                pending_schedule(m, m->pending_backoff_usec);
        }
        pending_changed(m);
}

int manager_pending_record(Manager *m, const ThreatRecordInput *in, int error) {
        int r;

        if (!m->pending_records) {
                r = threat_backlog_new(PENDING_RECORDS_MAX, &m->pending_records);
                if (r < 0)
                        return r;
        }
        r = threat_backlog_add(m->pending_records, in, 0);
        if (r < 0)
                log_error_errno(r, "Threat '%s' in '%s' is lost: %" PRIu64 " detection(s) "
                                "could not be kept until the threat history can be written: %m",
                                in->name, in->path, threat_backlog_dropped(m->pending_records));
        else
                log_error_errno(error, "Threat '%s' found in '%s' could not be recorded yet "
                                "(%zu waiting): %m; retrying", in->name, in->path,
                                threat_backlog_count(m->pending_records));
        m->pending_record_error = error;
        pending_added(m);
        return r;
}

int manager_pending_remediation(Manager *m, const char *id, int error, const char *why) {
        PendingRemediation *a;

        for (size_t i = 0; i < m->n_pending_remediations; i++)
                if (streq(m->pending_remediations[i].id, id))
                        goto done;
        if (m->n_pending_remediations >= PENDING_REMEDIATIONS_MAX) {
                /* The record stays active: 'threat quarantine add' can still do it. */
                m->pending_remediations_dropped++;
                log_error("Threat %s stays active: %s; too many wait already to retry it.", id,
                          why ?: strerror(-error));
                pending_changed(m);
                return -ENOBUFS;
        }
        a = reallocarray(m->pending_remediations, m->n_pending_remediations + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        m->pending_remediations = a;
        a = &a[m->n_pending_remediations++];
        *a = (PendingRemediation) {};
        memcpy(a->id, id, MIN(strlen(id), sizeof(a->id) - 1));
done:
        log_warning("Threat %s stays active for now: %s; retrying.", id, why ?: strerror(-error));
        m->pending_remediation_error = error;
        pending_added(m);
        return 0;
}

void manager_pending_history(Manager *m, int error) {
        size_t n = manager_history_unsaved(m);

        if (n > 0)
                log_error_errno(error, "%zu detection(s) are recorded in memory only: the threat "
                                "history could not be written: %m; retrying", n);
        else
                log_error_errno(error, "The threat history could not be written: %m; retrying");
        m->pending_record_error = error;
        pending_added(m);
}

void manager_pending_scan_history(Manager *m, int error) {
        if (error >= 0) {
                manager_pending_wrote(m);
                return;
        }
        log_warning_errno(error, "Failed to save the scan history: %m; retrying");
        m->scan_history_error = error;
        pending_added(m);
}

void manager_pending_wrote(Manager *m) {
        if (!pending_any(m))
                return;
        m->pending_backoff_usec = PENDING_RETRY_FIRST_USEC;
        pending_schedule(m, PENDING_RETRY_SOON_USEC);
}

/* Records the waiting detections with one save, then tells and remediates as a first
 * attempt would have. Returns 0 or the save's error (then they keep waiting). */
static int pending_retry_records(Manager *m) {
        size_t n = threat_backlog_count(m->pending_records);
        _cleanup_free_ const Threat **got = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        int r;

        r = threat_store_save_error(m->threats);
        if (r < 0) {
                /* The history in memory is newer than its file: write it again. How that goes
                 * is known when the write ends (manager_history_saved()); until then this run
                 * counts as failed, so that the retries back off while the disk refuses. */
                int k = threat_store_flush(m->threats);

                return k < 0 ? k : r;
        }
        if (n == 0)
                return 0;
        got = calloc(n, sizeof(*got));
        if (!got)
                return -ENOMEM;
        r = threat_store_record_many(m->threats, threat_backlog_inputs(m->pending_records), n,
                                     got);
        if (r < 0) {
                m->pending_record_error = r;
                return r;
        }
        /* Remediation may change the store (and move records): by id from here on. */
        for (size_t i = 0; i < n; i++)
                if (strv_extend(&ids, got[i]->id) < 0)
                        return -ENOMEM;
        threat_backlog_clear(m->pending_records);
        m->pending_record_error = 0;
        log_info("%zu detection(s) recorded after waiting for the disk.", n);
        for (char **id = ids; *id; id++)
                manager_threat_recorded(m, *id);
        return 0;
}

/* Quarantines up to PENDING_REMEDIATIONS_PER_RUN waiting threats; what fails again for a
 * transient reason comes back into the list. Returns 0, or the last failure. */
static int pending_retry_remediations(Manager *m) {
        size_t n = MIN(m->n_pending_remediations, (size_t) PENDING_REMEDIATIONS_PER_RUN);
        _cleanup_free_ PendingRemediation *batch = NULL;
        int r, ret = 0;

        if (n == 0)
                return 0;
        batch = malloc(n * sizeof(*batch));
        if (!batch)
                return -ENOMEM;
        memcpy(batch, m->pending_remediations, n * sizeof(*batch));
        memmove(m->pending_remediations, m->pending_remediations + n,
                (m->n_pending_remediations - n) * sizeof(*batch));
        m->n_pending_remediations -= n;
        for (size_t i = 0; i < n; i++) {
                r = manager_threat_remediate(m, batch[i].id);
                if (r == MANAGER_DETECTION_PENDING)
                        ret = m->pending_remediation_error ?: -EIO;
                else if (r < 0)
                        ret = r;
        }
        if (m->n_pending_remediations == 0)
                m->pending_remediation_error = 0;
        return ret;
}

static int pending_retry_scan_history(Manager *m) {
        int r;

        if (m->scan_history_error >= 0)
                return 0;
        r = scan_history_save(&m->scan_history);
        m->scan_history_error = MIN(r, 0);
        return r;
}

static int pending_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        bool failed;

        failed = pending_retry_scan_history(m) < 0;
        failed = pending_retry_records(m) < 0 || failed;
        /* Quarantining needs the records; they wait for the next run when those failed. */
        if (!failed)
                failed = pending_retry_remediations(m) < 0;
        pending_changed(m);
        if (!pending_any(m)) {
                m->pending_backoff_usec = 0;
                log_info("Everything that waited for the disk is written.");
                return 0;
        }
        if (failed)
                m->pending_backoff_usec = MIN(MAX(m->pending_backoff_usec * 2,
                                                  PENDING_RETRY_FIRST_USEC),
                                              PENDING_RETRY_MAX_USEC);
        /* More to do, and the last run worked: carry on at once. */
        pending_schedule(m, failed ? m->pending_backoff_usec : 0);
        return 0;
}

/* One sentence for a health issue, appended to *issues. */
static int issue_add(char ***issues, char *s) {
        if (!s)
                return -ENOMEM;
        return strv_consume(issues, s);
}

int manager_pending_health(Manager *m, char ***issues) {
        size_t n = threat_backlog_count(m->pending_records) + manager_history_unsaved(m);
        uint64_t dropped = threat_backlog_dropped(m->pending_records);
        char *s;
        int r;

        if (n > 0) {
                r = issue_add(issues, asprintf(&s, "%zu detection(s) could not be recorded: %s; "
                                               "retrying", n,
                                               strerror(-(m->pending_record_error ?: -EIO))) < 0 ?
                                              NULL : s);
                if (r < 0)
                        return r;
        }
        if (n == 0 && threat_store_save_error(m->threats) < 0) {
                r = issue_add(issues, asprintf(&s, "the threat history could not be saved: %s; "
                                               "retrying",
                                               strerror(-threat_store_save_error(m->threats))) < 0 ?
                                              NULL : s);
                if (r < 0)
                        return r;
        }
        if (dropped > 0) {
                r = issue_add(issues, asprintf(&s, "%" PRIu64 " detection(s) were lost: no more "
                                               "than %u can wait to be recorded", dropped,
                                               PENDING_RECORDS_MAX) < 0 ? NULL : s);
                if (r < 0)
                        return r;
        }
        if (m->n_pending_remediations > 0) {
                r = issue_add(issues, asprintf(&s, "%zu threat(s) could not be quarantined: %s; "
                                               "retrying", m->n_pending_remediations,
                                               strerror(-(m->pending_remediation_error ?: -EIO))) < 0 ?
                                              NULL : s);
                if (r < 0)
                        return r;
        }
        if (m->pending_remediations_dropped > 0) {
                r = issue_add(issues, asprintf(&s, "%" PRIu64 " threat(s) stay active: no more "
                                               "than %u can wait to be quarantined; 'mdatp threat "
                                               "quarantine add' does it", m->pending_remediations_dropped,
                                               PENDING_REMEDIATIONS_MAX) < 0 ? NULL : s);
                if (r < 0)
                        return r;
        }
        if (m->scan_history_error < 0) {
                r = issue_add(issues, asprintf(&s, "the scan history could not be saved: %s; "
                                               "retrying", strerror(-m->scan_history_error)) < 0 ?
                                              NULL : s);
                if (r < 0)
                        return r;
        }
        return 0;
}

void manager_pending_free(Manager *m) {
        m->pending_timer = sd_event_source_disable_unref(m->pending_timer);
        m->pending_records = threat_backlog_free(m->pending_records);
        m->pending_remediations = mfree(m->pending_remediations);
        m->n_pending_remediations = 0;
}
