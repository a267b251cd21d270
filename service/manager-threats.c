/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What happens to a threat after its detection (shared/reference/mde-behaviour.md §8): automatic
 * remediation by enforcement level and threat-type policy, the quarantine commands, restores and
 * the grace they give, allowed threat names and type policies (as local settings, so merge
 * policies and persistence are those of every setting), and retention.
 *
 * Owns m->quarantine, m->restored and the retention timer; keeps the threat history's statuses
 * in line with the quarantine. Main thread only.
 *
 * Order of the two stores: the quarantine changes first, the history follows. A crash in
 * between leaves the history one step behind, and manager_threats_startup() catches it up from
 * the quarantine, which is the truth about where files are.
 */
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manager.h"
#include "util/fileio.h"
#include "util/strv.h"

#define RETENTION_CHECK_USEC (UINT64_C(3600) * 1000000)

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static bool threat_action_disallowed(Manager *m, const char *action) {
        return policy_action_disallowed(m->policy, action);
}

bool manager_threat_should_quarantine(Manager *m, const Threat *t) {
        if (t->status != THREAT_STATUS_ACTIVE ||
            m->policy->enforcement == POLICY_ENFORCEMENT_PASSIVE)
                return false;
        return streq(policy_threat_type_action(m->policy, t->type), "block");
}

/* A sentence for the user about why a quarantine operation failed. */
static const char *quarantine_error_text(int r) {
        switch (r) {
        case -ENOENT:
                return "the file no longer exists";
        case -ELOOP:
                return "the path is a symbolic link or is reached through one";
        case -ESTALE:
                return "the file changed since it was detected";
        case -EINVAL:
                return "it is not a regular file";
        case -ENOSPC:
        case -EDQUOT:
                return "no space left for the quarantine";
        case -EEXIST:
                return "a file with that name already exists at the destination";
        case -ENOTDIR:
                return "the destination is not a directory";
        default:
                return NULL;
        }
}

static int refused(char **ret_message, const char *what, int r) {
        const char *text = quarantine_error_text(r);

        if (!text)
                return r;
        if (ret_message && asprintf(ret_message, "%s: %s", what, text) < 0)
                return -ENOMEM;
        return MANAGER_THREAT_REFUSED;
}

static int quarantine_unavailable(Manager *m, char **ret_message) {
        if (ret_message && asprintf(ret_message, "the quarantine is not available: %s",
                                    m->quarantine_error ?: "not opened") < 0)
                return -ENOMEM;
        return MANAGER_THREAT_REFUSED;
}

/* Whether the record says enough to tell the detected file from another one under its name: its
 * inode, or (records of older versions, restored files) its content. A restored file is a new
 * inode, so only its content can vouch for it. */
static bool threat_identity_known(const Threat *t) {
        return (t->has_identity && t->status != THREAT_STATUS_RESTORED) || !isempty(t->sha256);
}

/* Whether threat id may be quarantined now: 0 with *in filled (pointing into the record), or an
 * outcome (MANAGER_THREAT_*, *ret_message says why) or < 0. */
static int threat_quarantine_check(Manager *m, const char *id, QuarantineAddInput *in,
                                   char **ret_message) {
        const Threat *t;

        t = threat_store_get(m->threats, id);
        if (!t)
                return MANAGER_THREAT_NOT_FOUND;
        if (!m->quarantine)
                return quarantine_unavailable(m, ret_message);
        if (!IN_SET(t->status, THREAT_STATUS_ACTIVE, THREAT_STATUS_AUDITED, THREAT_STATUS_ALLOWED,
                    THREAT_STATUS_RESTORED)) {
                if (ret_message && asprintf(ret_message, "threat %s is %s, not a file in place",
                                            t->id, threat_status_to_string(t->status)) < 0)
                        return -ENOMEM;
                return MANAGER_THREAT_REFUSED;
        }
        if (!threat_identity_known(t)) {
                if (ret_message && asprintf(ret_message, "'%s' could not be quarantined: the "
                                            "record does not say which file was detected; scan "
                                            "it again", t->path) < 0)
                        return -ENOMEM;
                return MANAGER_THREAT_REFUSED;
        }
        *in = (QuarantineAddInput) {
                .id = t->id,
                /* The file, whole: a detection inside an archive quarantines the archive, which
                 * is t->path itself; the member is never part of it. */
                .path = t->path,
                .threat_name = t->name,
                /* The whole file's hash, archives included. */
                .expected_sha256 = t->sha256,
                .check_identity = t->has_identity && t->status != THREAT_STATUS_RESTORED,
                .expected_dev = t->dev,
                .expected_ino = t->ino,
        };
        return 0;
}

/* The end of a quarantine, add r of the file at path for threat id: the history follows, or a
 * failure becomes an outcome (MANAGER_THREAT_REFUSED with *ret_message, or < 0). */
static int threat_quarantine_recorded(Manager *m, const char *id, const char *path, int r,
                                      const QuarantineEntry *e, char **ret_message) {
        _cleanup_free_ char *what = NULL, *detail = NULL;

        if (r < 0) {
                if (asprintf(&what, "'%s' could not be quarantined", path) < 0)
                        return -ENOMEM;
                log_warning_errno(r, "Threat %s: %s: %m", id, what);
                return refused(ret_message, what, r);
        }
        if (e->other_links > 0 &&
            asprintf(&detail, "%u other hard link(s) to the file remain", e->other_links) < 0)
                detail = NULL;
        r = threat_store_set_status(m->threats, e->id, THREAT_STATUS_QUARANTINED, detail);
        if (r < 0) {
                /* The file is safe in the quarantine; the history follows when the disk lets
                 * it (manager_threat_remediate() catches it up), or at the next start. */
                log_error_errno(r, "Threat %s quarantined, but its history could not be saved: %m",
                                id);
                (void) manager_pending_remediation(m, e->id, r, "its quarantine is not recorded "
                                                   "in the history");
        } else
                manager_pending_wrote(m);
        log_info("Threat %s '%s': '%s' quarantined%s%s.", e->id, e->threat_name, path,
                   detail ? "; " : "", detail ?: "");
        return 0;
}

/* The manual quarantine (Threats.Quarantine) on the executor: the copy runs on the worker, the
 * list and the history follow on the main loop, and then the request is answered. */
typedef struct QuarantineJob {
        Manager *manager;
        QuarantineAdd *add;
        uint64_t request;
        char id[THREAT_ID_LENGTH + 1];
        char *path;
} QuarantineJob;

static QuarantineJob *quarantine_job_free(QuarantineJob *j) {
        if (!j)
                return NULL;
        quarantine_add_free(j->add);
        free(j->path);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(QuarantineJob *, quarantine_job_free);

static int quarantine_job_run(void *userdata) {
        QuarantineJob *j = userdata;

        return quarantine_add_run(j->add);
}

static void quarantine_job_done(int result, void *userdata) {
        _cleanup_(quarantine_job_freep) QuarantineJob *j = userdata;
        _cleanup_free_ char *message = NULL;
        Manager *m = j->manager;
        const QuarantineEntry *e = NULL;
        int r;

        r = quarantine_add_finish(m->quarantine, TAKE_PTR(j->add), &e);
        if (r >= 0 && !threat_store_get(m->threats, j->id)) {
                /* The record was pruned while its file was copied: the copy goes with it. */
                (void) quarantine_store_remove(m->quarantine, j->id);
                log_info("Threat %s: its record was dropped meanwhile; the copy of '%s' is "
                         "deleted with it.", j->id, j->path);
                manager_request_finished(m, j->request, 0, NULL, NULL);
                return;
        }
        r = threat_quarantine_recorded(m, j->id, j->path, r, e, &message);
        manager_request_finished(m, j->request, r, message, NULL);
}

int manager_threat_quarantine(Manager *m, const char *id, uint64_t *ret_request,
                              char **ret_message) {
        _cleanup_(quarantine_job_freep) QuarantineJob *j = NULL;
        QuarantineAddInput in;
        int r;

        r = threat_quarantine_check(m, id, &in, ret_message);
        if (r != 0)
                return r;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        snprintf(j->id, sizeof(j->id), "%s", in.id);
        j->path = strdup(in.path);
        if (!j->path)
                return -ENOMEM;
        r = quarantine_add_begin(m->quarantine, &in, &j->add);
        if (r < 0)
                /* An add of it under way (the detection's own) is -EEXIST, as it always was. */
                return threat_quarantine_recorded(m, j->id, j->path, r, NULL, ret_message);
        j->request = manager_request_new(m);
        r = executor_submit(m->executor, &(ExecutorJob) {
                .run = quarantine_job_run,
                .done = quarantine_job_done,
                .userdata = j,
                /* Not started at shutdown: the file stays where it is, nothing changed. */
                .cancellable = true,
        });
        if (r < 0)
                return r;
        *ret_request = TAKE_PTR(j)->request;
        return 0;
}

/* Failures that say nothing about the file, only about the disk or memory right now. */
static bool quarantine_error_is_transient(int r) {
        return IN_SET(r, -ENOSPC, -EDQUOT, -EIO, -EROFS, -ENOMEM, -EAGAIN, -ENOBUFS, -EINTR);
}

/* A remediation's quarantine on the executor: the copy (seconds for a large file) runs on the
 * worker; the list, the history and the pending list follow on the main loop in done. */
typedef struct RemediationJob {
        Manager *manager;
        QuarantineAdd *add;
        char id[THREAT_ID_LENGTH + 1];
        char *path;
        uint32_t scan_id;               /* the scan that found it, 0: none */
} RemediationJob;

static RemediationJob *remediation_job_free(RemediationJob *j) {
        if (!j)
                return NULL;
        quarantine_add_free(j->add);
        free(j->path);
        return mfree(j);
}

static int remediation_job_run(void *userdata) {
        RemediationJob *j = userdata;

        return quarantine_add_run(j->add);
}

/* ---- batched status changes ----
 *
 * A quarantine done on the executor moves its record to quarantined; in a storm those dones come
 * many per loop iteration, and each status change would rewrite the history. They are staged and
 * written together by threat_store_set_status_many() once the loop has handled them (the
 * executor calls every waiting done in one go), or before a scan reports its end. */

typedef struct StagedStatus {
        char id[THREAT_ID_LENGTH + 1];
        char *detail;
        char *path;
} StagedStatus;

/* Forgets every staged change, at once: draining a long list from its front one batch at a
 * time would move the rest each time. */
static void staged_statuses_clear(Manager *m) {
        for (size_t i = 0; i < m->n_staged_statuses; i++) {
                free(m->staged_statuses[i].detail);
                free(m->staged_statuses[i].path);
        }
        m->n_staged_statuses = 0;
}

/* Writes the staged changes, THREAT_STORE_BATCH_MAX per save. stopping: at shutdown, when
 * nothing may wait any more (the next start reconciles the history with the quarantine). */
static void staged_statuses_flush(Manager *m, bool stopping) {
        for (size_t base = 0; base < m->n_staged_statuses;) {
                size_t n = MIN(m->n_staged_statuses - base, (size_t) THREAT_STORE_BATCH_MAX);
                _cleanup_free_ ThreatStatusChange *c = calloc(n, sizeof(*c));
                int r;

                if (!c)
                        r = -ENOMEM;
                else {
                        for (size_t i = 0; i < n; i++)
                                c[i] = (ThreatStatusChange) {
                                        .id = m->staged_statuses[base + i].id,
                                        .status = THREAT_STATUS_QUARANTINED,
                                        .detail = m->staged_statuses[base + i].detail,
                                };
                        r = threat_store_set_status_many(m->threats, c, n);
                }
                for (size_t i = 0; i < n; i++) {
                        StagedStatus *st = &m->staged_statuses[base + i];

                        if (r >= 0) {
                                log_info("Threat %s: '%s' quarantined%s%s.", st->id, st->path,
                                         st->detail ? "; " : "", st->detail ?: "");
                                continue;
                        }
                        /* The file is safe in the quarantine; the history follows when the
                         * disk lets it (manager_threat_remediate() catches it up), or at the
                         * next start. */
                        log_error_errno(r, "Threat %s quarantined, but its history could not be "
                                        "saved: %m", st->id);
                        if (!stopping)
                                (void) manager_pending_remediation(m, st->id, r, "its quarantine "
                                                                   "is not recorded in the "
                                                                   "history");
                }
                if (r >= 0 && !stopping)
                        manager_pending_wrote(m);
                base += n;
        }
        staged_statuses_clear(m);
}

static int staged_statuses_handler(sd_event_source *s, void *userdata) {
        staged_statuses_flush(userdata, false);
        return 0;
}

void manager_threat_statuses_flush(Manager *m) {
        staged_statuses_flush(m, false);
}

/* Stages "quarantined" for threat id (entry e, from path); written now when it cannot be. */
static void stage_quarantined(Manager *m, const char *id, const char *path,
                              const QuarantineEntry *e) {
        StagedStatus *a;
        int r = 0;

        if (!m->staged_status_flush)
                r = sd_event_add_defer(m->event, &m->staged_status_flush, staged_statuses_handler,
                                       m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->staged_status_flush, SD_EVENT_ONESHOT);
        a = reallocarray(m->staged_statuses, m->n_staged_statuses + 1, sizeof(*a));
        if (!a) {
                log_oom();
                return;         /* the quarantine is on disk: the next start records it */
        }
        m->staged_statuses = a;
        a = &a[m->n_staged_statuses++];
        *a = (StagedStatus) { .path = strdup(path) };
        snprintf(a->id, sizeof(a->id), "%s", id);
        if (e->other_links > 0 &&
            asprintf(&a->detail, "%u other hard link(s) to the file remain", e->other_links) < 0)
                a->detail = NULL;
        if (r < 0)
                staged_statuses_flush(m, false);
}

static void remediation_job_done(int result, void *userdata) {
        RemediationJob *j = userdata;
        Manager *m = j->manager;
        const QuarantineEntry *e = NULL;
        _cleanup_free_ char *why = NULL;
        bool failed = false;
        int r;

        r = quarantine_add_finish(m->quarantine, TAKE_PTR(j->add), &e);
        if (r == -ECANCELED)
                /* The daemon stops: the file stays; the next detection of it quarantines it. */
                log_info("Threat %s: quarantine of '%s' cancelled: the daemon stops.", j->id,
                         j->path);
        else if (r >= 0 && !threat_store_get(m->threats, j->id)) {
                /* The record was pruned while its file was copied: its copy goes with it, as
                 * the prune handler does for the others. */
                (void) quarantine_store_remove(m->quarantine, j->id);
        } else if (r >= 0)
                stage_quarantined(m, j->id, j->path, e);
        else {
                int k = threat_quarantine_recorded(m, j->id, j->path, r, e, &why);
                if (k > 0 && quarantine_error_is_transient(r))
                        failed = manager_pending_remediation(m, j->id, r, why) >= 0;
                else if (k != 0)
                        log_warning("Threat %s stays active: %s.", j->id,
                                    why ?: "not quarantined");
        }
        /* Not at shutdown: finishing a scan would start the queued one. */
        if (j->scan_id > 0 && r != -ECANCELED)
                manager_scan_remediation_done(m, j->scan_id, failed);
        remediation_job_free(j);
}

/* Queues the quarantine of the threat in in. Returns 0 (queued), or < 0 (nothing queued). */
static int remediation_queue(Manager *m, const QuarantineAddInput *in) {
        RemediationJob *j;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->scan_id = m->detecting_scan;
        snprintf(j->id, sizeof(j->id), "%s", in->id);
        j->path = strdup(in->path);
        if (!j->path) {
                remediation_job_free(j);
                return -ENOMEM;
        }
        r = quarantine_add_begin(m->quarantine, in, &j->add);
        if (r >= 0)
                r = executor_submit(m->executor, &(ExecutorJob) {
                        .run = remediation_job_run,
                        .done = remediation_job_done,
                        .userdata = j,
                        .cancellable = true,
                });
        if (r < 0) {
                remediation_job_free(j);
                return r;
        }
        if (j->scan_id > 0)
                manager_scan_remediation_started(m, j->scan_id);
        return 0;
}

int manager_threat_remediate(Manager *m, const char *id) {
        _cleanup_free_ char *why = NULL;
        const Threat *t = threat_store_get(m->threats, id);
        QuarantineAddInput in;
        int r;

        if (!t)
                return 0;       /* pruned meanwhile */
        if (m->quarantine && quarantine_store_get(m->quarantine, t->id)) {
                /* In the quarantine already: only the history has to follow, unless it is
                 * about to (staged by the quarantine's done). */
                if (t->status == THREAT_STATUS_QUARANTINED)
                        return 0;
                for (size_t i = 0; i < m->n_staged_statuses; i++)
                        if (strcasecmp(m->staged_statuses[i].id, t->id) == 0)
                                return 0;
                r = threat_store_set_status(m->threats, t->id, THREAT_STATUS_QUARANTINED,
                                            "recorded late: the disk was full");
                if (r < 0)
                        return manager_pending_remediation(m, t->id, r, "its quarantine is not "
                                                           "recorded in the history") < 0 ?
                                       0 : MANAGER_DETECTION_PENDING;
                return 0;
        }
        if (!manager_threat_should_quarantine(m, t))
                return 0;
        r = threat_quarantine_check(m, t->id, &in, &why);
        if (r < 0)
                return r;
        if (r > 0) {
                log_warning("Threat %s stays active: %s.", id, why ?: "not quarantined");
                return 0;
        }
        /* The quarantine checks, on the executor, that the name still refers to the detected
         * inode with the detected content before it takes anything. */
        r = remediation_queue(m, &in);
        if (r == -EEXIST)
                return 0;       /* its quarantine is under way */
        if (r < 0 && quarantine_error_is_transient(r))
                /* The queue is full (a storm of detections) or memory short: it waits. */
                return manager_pending_remediation(m, id, r, "the quarantine queue is full") < 0 ?
                               0 : MANAGER_DETECTION_PENDING;
        if (r < 0)
                log_warning_errno(r, "Threat %s stays active: its quarantine could not be "
                                  "queued: %m", id);
        return 0;
}

int manager_threat_remove(Manager *m, const char *id, char **ret_message) {
        const QuarantineEntry *e;
        _cleanup_free_ char *eid = NULL;
        int r;

        if (!m->quarantine)
                return quarantine_unavailable(m, ret_message);
        e = quarantine_store_get(m->quarantine, id);
        if (!e)
                return MANAGER_THREAT_NOT_FOUND;
        eid = strdup(e->id);
        if (!eid)
                return -ENOMEM;
        r = quarantine_store_remove(m->quarantine, eid);
        if (r == -EBUSY) {
                if (ret_message && asprintf(ret_message, "threat %s is being restored; its "
                                            "quarantined copy goes when the restore is done",
                                            eid) < 0)
                        return -ENOMEM;
                return MANAGER_THREAT_BUSY;
        }
        if (r < 0)
                return log_error_errno(r, "Quarantined file %s could not be removed: %m", eid);
        if (threat_store_get(m->threats, eid)) {
                r = threat_store_set_status(m->threats, eid, THREAT_STATUS_REMOVED, NULL);
                if (r < 0)
                        log_error_errno(r, "Threat %s: removal not recorded in the history: %m",
                                        eid);
        }
        log_info("Quarantined copy of threat %s deleted.", eid);
        return 0;
}

int manager_threat_remove_all(Manager *m, unsigned *ret_removed) {
        _cleanup_strv_free_ char **ids = NULL;
        unsigned n = 0;
        int r;

        if (!m->quarantine)
                return quarantine_unavailable(m, NULL);
        for (size_t i = 0; i < quarantine_store_count(m->quarantine); i++)
                if (strv_extend(&ids, quarantine_store_at(m->quarantine, i)->id) < 0)
                        return -ENOMEM;
        for (char **id = ids; id && *id; id++) {
                r = manager_threat_remove(m, *id, NULL);
                if (r == MANAGER_THREAT_BUSY)
                        continue;       /* leaving the quarantine anyway, by its restore */
                if (r < 0)
                        return r;
                n++;
        }
        *ret_removed = n;
        return 0;
}

/* ---- restores and their grace ---------------------------------------------------------------- */

/* Swaps m->restored for a set without the expired entries, when there are any. Holders of the
 * old set (scan jobs, RTP) keep it: they check the expiry themselves. */
static void restored_expire(Manager *m, uint64_t now) {
        RestoredSet *s;

        if (restored_set_live(m->restored, now) == restored_set_size(m->restored))
                return;
        if (restored_set_new(m->restored, NULL, now, &s) < 0)
                return;         /* expired entries match nothing anyway */
        restored_set_unref(m->restored);
        m->restored = s;
}

static void restored_add(Manager *m, const struct stat *st) {
        uint64_t seconds = m->policy->restoration_exclusion_sec;
        uint64_t now = now_realtime_usec();
        RestoredFile f = { .expires_usec = now + seconds * 1000000 };
        RestoredSet *s;

        if (seconds == 0)
                return;
        verdict_key_from_stat(&f.key, st, 0);
        if (restored_set_new(m->restored, &f, now, &s) < 0)
                return;         /* the file will merely be detected again */
        restored_set_unref(m->restored);
        m->restored = s;
}

bool manager_threat_restored_recently(Manager *m, const char *path, uint64_t dev, uint64_t ino) {
        VerdictKey key;
        struct stat st;

        if (restored_set_size(m->restored) == 0)
                return false;
        restored_expire(m, now_realtime_usec());
        /* The grace is for the detected inode only, not for whatever has its name now. */
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_dev != dev ||
            (uint64_t) st.st_ino != ino)
                return false;
        verdict_key_from_stat(&key, &st, 0);
        return restored_set_contains(m->restored, &key, now_realtime_usec());
}

/* Whether path has a ".." component: destinations must say where they go. */

/* What was wrong with a restore and what to do, for the error quarantine_store_restore_as()
 * returned; dir is the directory the file was to go to, explicit whether the user named it. */
static int restore_error_text(int r, const char *dir, bool explicit, const QuarantineCaller *c,
                              char **ret) {
        const char *hint = explicit ? "choose another directory with --destination-path" :
                                      "restore it elsewhere with --destination-path DIR";

        switch (r) {
        case -ENOENT:
                return asprintf(ret, "%s '%s' does not exist; create it first, or %s",
                                explicit ? "the destination directory" : "its original directory",
                                dir, hint);
        case -ENOTDIR:
                return asprintf(ret, "'%s' is not a directory (or a part of that path is not); %s",
                                dir, hint);
        case -ELOOP:
                return asprintf(ret, "'%s' is a symbolic link or is reached through one; give the "
                                "real directory's path", dir);
        case -EACCES:
        case -EPERM:
                return asprintf(ret, "user %u may not create files in '%s' (a restore asked by "
                                "another user than root only goes where that user can write); %s, "
                                "or restore as root", c ? (unsigned) c->uid : 0U, dir, hint);
        case -EOPNOTSUPP:
                return asprintf(ret, "'%s' is on a virtual file system (such as /sys or /proc) "
                                "that cannot hold files; choose a directory on a disk", dir);
        case -EROFS:
                return asprintf(ret, "'%s' is on a read-only file system; %s", dir, hint);
        case -EEXIST:
                return asprintf(ret, "a file with that name already exists in '%s'; move it away, "
                                "or %s", dir, hint);
        case -EINVAL:
                return asprintf(ret, "'%s' is the quarantine's own directory; %s", dir, hint);
        case -ENOSPC:
        case -EDQUOT:
                return asprintf(ret, "no space left in '%s'; free some and try again, or %s", dir,
                                hint);
        case -EBADMSG:
                return asprintf(ret, "the quarantined copy is damaged (it no longer matches its "
                                "SHA-256) and cannot be restored");
        case -ETIMEDOUT:
                return asprintf(ret, "'%s' did not answer in time (a hung network file system?); "
                                "try again, or %s", dir, hint);
        case -ENAMETOOLONG:
                return asprintf(ret, "the path in '%s' would be too long; %s", dir, hint);
        default:
                return asprintf(ret, "%s (in '%s')", strerror(-r), dir);
        }
}

/* Fills *ret_message for a failed restore of entry id (quarantined from original);
 * MANAGER_THREAT_REFUSED or -ENOMEM. */
static int restore_refused(const char *id, const char *original, const char *destination,
                           const QuarantineCaller *c, int r, char **ret_message) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        bool explicit = !isempty(destination);

        if (explicit)
                dir = strdup(destination);
        else {
                size_t n = (size_t) (strrchr(original, '/') - original);

                dir = n == 0 ? strdup("/") : strndup(original, n);
        }
        if (!dir)
                return -ENOMEM;
        if (restore_error_text(r, dir, explicit, c, &text) < 0)
                return -ENOMEM;
        log_warning_errno(r, "Threat %s could not be restored: %s", id, text);
        if (ret_message && asprintf(ret_message, "threat %s could not be restored: %s", id,
                                    text) < 0)
                return -ENOMEM;
        return MANAGER_THREAT_REFUSED;
}

/* A restore on the executor: the destination check (a child process as the caller, up to 10 s
 * on a hung network file system) and the copy run on the worker; the quarantine's list, the
 * grace, the history and the answer follow on the main loop. The entry is busy meanwhile: it
 * is neither restored again nor removed. */
typedef struct RestoreJob {
        Manager *manager;
        QuarantineRestore *restore;
        uint64_t request;
        char id[QUARANTINE_ID_MAX + 1];
        char *original;                 /* for the error text */
        char *destination;
        QuarantineCaller caller;        /* uid only: for the error text */
        bool has_caller;
} RestoreJob;

static RestoreJob *restore_job_free(RestoreJob *j) {
        if (!j)
                return NULL;
        quarantine_restore_free(j->restore);
        free(j->original);
        free(j->destination);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(RestoreJob *, restore_job_free);

static int restore_job_run(void *userdata) {
        RestoreJob *j = userdata;

        return quarantine_restore_run(j->restore);
}

static void restore_job_done(int result, void *userdata) {
        _cleanup_(restore_job_freep) RestoreJob *j = userdata;
        _cleanup_free_ char *path = NULL, *message = NULL;
        Manager *m = j->manager;
        struct stat st, now;
        int r;

        r = quarantine_restore_finish(m->quarantine, TAKE_PTR(j->restore), &path, &st);
        if (r < 0) {
                /* The entry stays in the quarantine (a restore never started at shutdown
                 * included: nothing happened). */
                r = restore_refused(j->id, j->original, j->destination,
                                    j->has_caller ? &j->caller : NULL, r, &message);
                manager_request_finished(m, j->request, r, message, NULL);
                return;
        }
        /* The rename into place changed the inode's ctime: the grace is for what is there now,
         * if it still is the inode we made (a directory others can write may have another
         * file under that name by now, which earns no grace). */
        if (lstat(path, &now) >= 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino)
                restored_add(m, &now);
        (void) manager_commit(m, NULL, MANAGER_CHANGE_RESTORED);   /* RTP leaves it alone */
        if (threat_store_get(m->threats, j->id)) {
                r = threat_store_set_status(m->threats, j->id, THREAT_STATUS_RESTORED, path);
                if (r < 0)
                        log_error_errno(r, "Threat %s: restore not recorded in the history: %m",
                                        j->id);
        }
        log_info("Threat %s restored from the quarantine to '%s'.", j->id, path);
        manager_request_finished(m, j->request, 0, NULL, path);
}

static int restore_entry(Manager *m, const QuarantineEntry *e, const char *destination,
                         const QuarantineCaller *caller, uint64_t *ret_request,
                         char **ret_message) {
        _cleanup_(restore_job_freep) RestoreJob *j = NULL;
        int r;

        if (threat_action_disallowed(m, "restore")) {
                if (ret_message && asprintf(ret_message, "restoring from the quarantine is "
                                            "disallowed by the managed policy (%s)",
                                            m->managed_path) < 0)
                        return -ENOMEM;
                return MANAGER_THREAT_DISALLOWED;
        }
        if (!isempty(destination) && destination[0] != '/') {
                if (ret_message && asprintf(ret_message, "the destination '%s' is not an "
                                            "absolute path", destination) < 0)
                        return -ENOMEM;
                return MANAGER_THREAT_REFUSED;
        }
        if (!isempty(destination) && path_has_dot_dot(destination)) {
                if (ret_message && asprintf(ret_message, "the destination '%s' contains '..'; "
                                            "give the directory's path without '..' components",
                                            destination) < 0)
                        return -ENOMEM;
                return MANAGER_THREAT_REFUSED;
        }

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->manager = m;
        snprintf(j->id, sizeof(j->id), "%s", e->id);
        j->original = strdup(e->original_path);
        j->destination = isempty(destination) ? NULL : strdup(destination);
        if (!j->original || (!isempty(destination) && !j->destination))
                return -ENOMEM;
        if (caller) {
                j->has_caller = true;
                j->caller = (QuarantineCaller) { .uid = caller->uid, .gid = caller->gid };
        }
        r = quarantine_restore_begin(m->quarantine, &(QuarantineRestoreInput) {
                                             .id = j->id,
                                             .destination_dir = destination,
                                             .caller = caller,
                                     }, &j->restore);
        if (r == -EBUSY) {
                if (ret_message && asprintf(ret_message, "threat %s is being restored already; "
                                            "wait for that restore to finish", j->id) < 0)
                        return -ENOMEM;
                return MANAGER_THREAT_BUSY;
        }
        if (r < 0)
                return restore_refused(j->id, j->original, destination, caller, r, ret_message);

        j->request = manager_request_new(m);
        r = executor_submit(m->executor, &(ExecutorJob) {
                .run = restore_job_run,
                .done = restore_job_done,
                .userdata = j,
                /* Not started at shutdown: nothing happened, the entry stays. One that runs
                 * finishes (the store's recovery covers a kill). */
                .cancellable = true,
        });
        if (r < 0)
                return r;
        *ret_request = TAKE_PTR(j)->request;
        return 0;
}

int manager_threat_restore(Manager *m, const char *id, const char *destination,
                           const QuarantineCaller *caller, uint64_t *ret_request,
                           char **ret_message) {
        const QuarantineEntry *e;

        if (!m->quarantine)
                return quarantine_unavailable(m, ret_message);
        e = quarantine_store_get(m->quarantine, id);
        if (!e)
                return MANAGER_THREAT_NOT_FOUND;
        return restore_entry(m, e, destination, caller, ret_request, ret_message);
}

int manager_threat_restore_by_path(Manager *m, const char *original, const char *destination,
                                   const QuarantineCaller *caller, uint64_t *ret_request,
                                   char **ret_message) {
        const QuarantineEntry *e;

        if (!m->quarantine)
                return quarantine_unavailable(m, ret_message);
        e = quarantine_store_find_by_path(m->quarantine, original);
        if (!e)
                return MANAGER_THREAT_NOT_FOUND;
        return restore_entry(m, e, destination, caller, ret_request, ret_message);
}

/* ---- allowed names and type policies --------------------------------------------------------- */

int manager_threat_allow(Manager *m, const char *name, bool allow, char **ret_message,
                         char ***ret_changed) {
        const SettingDef *def = setting_def_find("antivirusEngine.allowedThreats");
        const SettingValue *cur = settings_layer_get(m->settings->local, def);
        _cleanup_(setting_value_done) SettingValue list = { .type = SETTING_STRING_LIST };
        _cleanup_strv_free_ char **kept = NULL;
        int r;

        *ret_changed = NULL;
        if (allow && threat_action_disallowed(m, "allow")) {
                if (asprintf(ret_message, "allowing threats is disallowed by the managed policy "
                             "(%s)", m->managed_path) < 0)
                        return -ENOMEM;
                return MANAGER_THREAT_DISALLOWED;
        }
        if (cur) {
                r = setting_value_copy(cur, &list);
                if (r < 0)
                        return r;
        }
        if (allow) {
                if (strv_contains(list.strv, name))
                        return MANAGER_SETTING_UNCHANGED;
                if (strv_extend(&list.strv, name) < 0)
                        return -ENOMEM;
        } else {
                if (!strv_contains(list.strv, name)) {
                        _cleanup_(setting_value_done) SettingValue eff = {};
                        if (settings_get(m->settings, def, &eff, NULL) >= 0 &&
                            strv_contains(eff.strv, name))
                                return MANAGER_SETTING_MANAGED;
                        return MANAGER_THREAT_NOT_FOUND;
                }
                for (char **s = list.strv; s && *s; s++)
                        if (!streq(*s, name) && strv_extend(&kept, *s) < 0)
                                return -ENOMEM;
                if (!kept && !(kept = calloc(1, sizeof(char *))))
                        return -ENOMEM;
                strv_free(list.strv);
                list.strv = TAKE_PTR(kept);
        }
        return manager_set_setting(m, def, &list, ret_message, ret_changed);
}

int manager_threat_type_policy_set(Manager *m, const char *type, const char *action,
                                   char **ret_message, char ***ret_changed) {
        const SettingDef *def = setting_def_find("antivirusEngine.threatTypeSettings");
        const SettingValue *cur = settings_layer_get(m->settings->local, def);
        _cleanup_(setting_value_done) SettingValue pairs = { .type = SETTING_PAIR_LIST };
        bool found = false;
        int r;

        *ret_changed = NULL;
        if (cur) {
                r = setting_value_copy(cur, &pairs);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; pairs.strv && pairs.strv[i] && pairs.strv[i + 1]; i += 2)
                if (streq(pairs.strv[i], type)) {
                        char *v = strdup(action);
                        if (!v)
                                return -ENOMEM;
                        free(pairs.strv[i + 1]);
                        pairs.strv[i + 1] = v;
                        found = true;
                }
        if (!found && (strv_extend(&pairs.strv, type) < 0 || strv_extend(&pairs.strv, action) < 0))
                return -ENOMEM;
        /* manager_set_setting() validates type and action against the schema. */
        return manager_set_setting(m, def, &pairs, ret_message, ret_changed);
}

/* ---- start, reconciliation, retention -------------------------------------------------------- */

/* Quarantined copies go with the history records the limits dropped. */
static void threats_pruned(ThreatStore *s, char * const *ids, void *userdata) {
        Manager *m = userdata;

        (void) s;
        for (char * const *id = ids; id && *id && m->quarantine; id++)
                if (quarantine_store_get(m->quarantine, *id)) {
                        if (quarantine_store_remove(m->quarantine, *id) >= 0)
                                log_info("Quarantined copy of threat %s purged with its history "
                                         "record.", *id);
                }
}

static void retention_apply(Manager *m) {
        _cleanup_strv_free_ char **ids = NULL;
        int r;

        r = threat_store_prune(m->threats, now_realtime_usec(),
                               m->policy->retention_days, m->policy->history_max_items,
                               &ids);
        if (r > 0) {
                log_info("%d threat record(s) past retention dropped.", r);
                threats_pruned(m->threats, ids, m);
        }
}

static int retention_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        retention_apply(m);
        (void) sd_event_source_set_time_relative(s, RETENTION_CHECK_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

/* The quarantine knows where files are; the history follows it. */
static void threats_reconcile(Manager *m) {
        for (size_t i = 0; i < quarantine_store_count(m->quarantine); i++) {
                const QuarantineEntry *e = quarantine_store_at(m->quarantine, i);
                const Threat *t = threat_store_get(m->threats, e->id);

                if (!t)
                        log_warning("Quarantined file %s ('%s') has no threat record; 'mdatp "
                                    "threat quarantine remove --id %s' deletes it.",
                                    e->id, e->original_path, e->id);
                else if (t->status != THREAT_STATUS_QUARANTINED)
                        (void) threat_store_set_status(m->threats, e->id,
                                                       THREAT_STATUS_QUARANTINED,
                                                       "recovered at start");
        }
        for (size_t i = 0; i < threat_store_count(m->threats); i++) {
                const Threat *t = threat_store_at(m->threats, i);
                struct stat st;

                if (t->status != THREAT_STATUS_QUARANTINED ||
                    quarantine_store_get(m->quarantine, t->id))
                        continue;
                (void) threat_store_set_status(m->threats, t->id,
                                               lstat(t->path, &st) >= 0 ?
                                               THREAT_STATUS_RESTORED : THREAT_STATUS_REMOVED,
                                               "recovered at start");
        }
}

int manager_threats_startup(Manager *m) {
        _cleanup_free_ char *dir = path_join(m->state_dir, "quarantine");
        _cleanup_strv_free_ char **notes = NULL;
        int r;

        if (!dir)
                return -ENOMEM;
        threat_store_set_prune_handler(m->threats, threats_pruned, m);
        /* The history's file is written off the main loop from here on. */
        threat_store_set_executor(m->threats, m->executor, manager_history_saved, m);
        r = quarantine_store_open(dir, &m->quarantine, &notes);
        for (char **n = notes; n && *n; n++)
                log_warning("Quarantine: %s", *n);
        if (r < 0) {
                if (asprintf(&m->quarantine_error, "the quarantine '%s' could not be opened: %s",
                             dir, strerror(-r)) < 0)
                        m->quarantine_error = NULL;
                log_error("%s", m->quarantine_error ?: "quarantine unavailable");
        } else {
                threats_reconcile(m);
                retention_apply(m);
        }
        return sd_event_add_time_relative(m->event, &m->retention_timer, CLOCK_MONOTONIC,
                                          RETENTION_CHECK_USEC, 0, retention_handler, m);
}

void manager_threats_free(Manager *m) {
        manager_detection_free(m);
        if (m->threats) {
                staged_statuses_flush(m, true);
                /* What a failed write left in memory only gets one last try. */
                if (threat_store_flush(m->threats) < 0)
                        log_error("The threat history could not be saved before the daemon "
                                  "stopped; the next scan finds what it misses again.");
        }
        staged_statuses_clear(m);
        m->staged_statuses = mfree(m->staged_statuses);
        m->staged_status_flush = sd_event_source_disable_unref(m->staged_status_flush);
        m->retention_timer = sd_event_source_disable_unref(m->retention_timer);
        m->quarantine = quarantine_store_free(m->quarantine);
        m->quarantine_error = mfree(m->quarantine_error);
        m->restored = restored_set_unref(m->restored);
}
