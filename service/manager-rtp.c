/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Real-time protection as the settings want it: antivirusEngine.enforcementLevel real_time
 * blocks, passive reports, on_demand places no marks. Every change of settings, definitions,
 * exclusions or restored files comes through manager_rtp_apply(), which starts, reconfigures or
 * stops the Rtp (rtp/) and keeps rtp_error for health. Detections come back on the main loop
 * through the Rtp's eventfd and go the way of every detection (manager_threat_detected()).
 *
 * Reconfiguring returns at once: the Rtp's marks thread applies the new marks and reports its
 * outcome on the same eventfd as detections, and a failure becomes rtp_error then.
 *
 * Protection is claimed only once proven: the Rtp's self-check (rtp.h) must have seen an open
 * made in PID 1's mount namespace; until then, or when it fails, rtp_error says why and health
 * is not healthy.
 *
 * Owns m->rtp, m->rtp_source, m->rtp_error and m->rtp_self_check_state. Main thread only.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "manager.h"
#include "util/strv.h"

/* $MDATP_RTP_MOUNTS (colon-separated mount points) limits the marks, for tests and sandboxes. */
static int rtp_mounts_from_env(char ***ret) {
        const char *env = getenv("MDATP_RTP_MOUNTS");

        *ret = NULL;
        return env ? strv_split_paths(env, ret) : 0;
}
/* An unsigned number from the environment variable name, at most max; 0 when unset or bad. */
static unsigned long number_from_env(const char *name, unsigned long max) {
        const char *env = getenv(name);
        char *end;
        unsigned long v;

        if (!env || !*env)
                return 0;
        v = strtoul(env, &end, 10);
        return *end || v > max ? 0 : v;
}

/* The self-check proves the marks against PID 1's mount namespace, the one the machine's
 * processes share. $MDATP_RTP_SELF_CHECK_PID names another process whose namespace stands for
 * "the machine": a sandbox whose PID 1 is out of reach, or a test that proves the check fails
 * against a namespace of its own. */
static pid_t rtp_self_check_pid_from_env(void) {
        return (pid_t) number_from_env("MDATP_RTP_SELF_CHECK_PID", INT32_MAX);
}

/* Takes the self-check's verdict into rtp_error: protection that is not proven is reported as
 * not running. Returns whether the state changed since the last call. */
static bool rtp_self_check_follow(Manager *m) {
        RtpSelfCheck sc;
        bool changed;

        if (!m->rtp)
                return false;
        rtp_get_self_check(m->rtp, &sc);
        changed = sc.state != m->rtp_self_check_state;
        m->rtp_self_check_state = sc.state;
        if (sc.state == RTP_SELF_CHECK_PASSED) {
                if (changed)
                        log_info("Real-time protection self-check passed: %s.", sc.message);
                m->rtp_error = mfree(m->rtp_error);
                return changed;
        }
        if (changed || !m->rtp_error || !streq(m->rtp_error, sc.message)) {
                free(m->rtp_error);
                m->rtp_error = strdup(sc.message);
                log_error("Real-time protection is not proven to see file accesses: %s.",
                          sc.message);
        }
        return changed;
}

/* Takes into rtp_error the outcome of the newest reconfiguration the marks thread has handled
 * (rtp_reconfigure() returns before the marks move) and, when it went well, the self-check's
 * verdict. Returns whether rtp_error or the self-check state changed. */
static bool rtp_follow(Manager *m) {
        _cleanup_free_ char *before = NULL, *failure = NULL;
        RtpReconfigureState st;
        bool changed;

        if (!m->rtp)
                return false;
        before = m->rtp_error ? strdup(m->rtp_error) : NULL;
        rtp_get_reconfigure_state(m->rtp, &st);
        if (st.error < 0) {
                if (asprintf(&failure, "reconfiguring the marks failed, the previous marks stay "
                             "(%s)", strerror(-st.error)) < 0)
                        failure = NULL;
                if (failure && !streq_ptr(failure, m->rtp_error)) {
                        log_error("Real-time protection: %s.", failure);
                        free(m->rtp_error);
                        m->rtp_error = TAKE_PTR(failure);
                }
                changed = false;
        } else
                changed = rtp_self_check_follow(m);
        return changed || !streq_ptr(before, m->rtp_error);
}

static void rtp_on_detection(const RtpDetection *d, void *userdata) {
        Manager *m = userdata;
        ScanDetection sd = {
                .path = d->path,
                .member = d->member,
                .threat_name = d->threat_name,
                .threat_type = d->threat_type,
                .sha256 = d->sha256,
                .dev = d->dev,
                .ino = d->ino,
        };

        log_warning("Real-time protection: '%s' opened by %s (pid %d) holds '%s': access %s.",
                    d->path, d->process_name, (int) d->pid, d->threat_name,
                    d->denied ? "denied" : "allowed");
        (void) manager_threat_detected(m, &sd, "real_time");
}

static int rtp_event_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        if (!m->rtp)
                return 0;
        (void) rtp_drain(m->rtp, rtp_on_detection, m);
        if (rtp_follow(m)) {
                manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_RTP_CHANGED });
                manager_health_refresh(m);
                manager_rtp_notify_status(m);
        }
        return 0;
}

void manager_rtp_free(Manager *m) {
        m->rtp_source = sd_event_source_disable_unref(m->rtp_source);
        m->rtp = rtp_free(m->rtp);
}

/* Keeps why for health; returns r for the caller to return. */
static int rtp_set_error(Manager *m, const char *what, int r) {
        free(m->rtp_error);
        if (asprintf(&m->rtp_error, "%s (%s)", what, strerror(-r)) < 0)
                m->rtp_error = NULL;
        log_error("Real-time protection is not running: %s", m->rtp_error ?: strerror(-r));
        return r;
}

/* The Rtp copies what it keeps: the policy's sets are lent for the call. */
static int rtp_config_build(Manager *m, bool block, RtpConfig *c, char ***ignored,
                            ExclusionSet **excl, char ***audit, char ***mounts) {
        EngineScanOptions opts;
        uint64_t generation;
        int r;

        r = manager_engine_options(m, &opts, ignored, &generation);
        if (r >= 0)
                r = manager_exclusion_set(m, excl);
        if (r >= 0)
                r = manager_threat_types_with_action(m, "audit", audit);  /* reported, never denied */
        if (r >= 0)
                r = rtp_mounts_from_env(mounts);
        if (r < 0)
                return r;
        *c = (RtpConfig) {
                .block = block,
                .rules = m->rules,
                .generation = generation,
                .engine_options = opts,
                .exclusions = *excl,
                .allowed_threats = m->policy->allowed_threats,
                .audit_types = *audit,
                .restored = m->restored,
                .cache = m->verdict_cache,
                .mounts = *mounts,
                .unmonitored_filesystems = m->policy->unmonitored_filesystems,
                .mute_noexec = m->policy->mute_noexec_mounts,
                .statistics = m->policy->rtp_statistics,
                .timeout_ms = (unsigned) number_from_env("MDATP_RTP_TIMEOUT_MS", 600000),
                .self_check_pid = rtp_self_check_pid_from_env(),
                .self_check_dir = m->state_dir,
        };
        return 0;
}

static int rtp_apply(Manager *m) {
        PolicyEnforcement level = m->policy->enforcement;
        _cleanup_strv_free_ char **ignored = NULL, **audit = NULL, **mounts = NULL;
        _cleanup_(exclusion_set_unrefp) ExclusionSet *excl = NULL;
        bool block;
        RtpConfig c;
        int r;

        if (level == POLICY_ENFORCEMENT_ON_DEMAND) {
                if (m->rtp)
                        log_info("Real-time protection stopped (enforcement level %s).",
                                 policy_enforcement_to_string(level));
                manager_rtp_free(m);
                m->rtp_error = mfree(m->rtp_error);
                return 0;
        }
        block = level == POLICY_ENFORCEMENT_REAL_TIME;
        if (!m->rtp_available) {
                manager_rtp_free(m);
                return rtp_set_error(m, "fanotify permission events are not available here",
                                     -EOPNOTSUPP);
        }
        if (!m->rules) {
                manager_rtp_free(m);
                return rtp_set_error(m, "no definitions are loaded", -ENOENT);
        }
        r = rtp_config_build(m, block, &c, &ignored, &excl, &audit, &mounts);
        if (r < 0) {
                manager_rtp_free(m);
                return rtp_set_error(m, "its configuration could not be built", r);
        }

        if (m->rtp) {
                /* Returns at once: the marks thread moves the marks and reports on the Rtp's
                 * fd (rtp_event_handler()), so that a stalled mount never holds the main loop. */
                r = rtp_reconfigure(m->rtp, &c, NULL);
                if (r < 0)
                        return rtp_set_error(m, "reconfiguring failed, the previous "
                                             "configuration stays", r);
                /* The last self-check, and the last reconfiguration's outcome, stand until the
                 * marks thread reports on this one. */
                m->rtp_error = mfree(m->rtp_error);
                (void) rtp_follow(m);
                return 0;
        }
        r = rtp_new(&c, &m->rtp);
        if (r < 0)
                return rtp_set_error(m, "fanotify could not be set up", r);
        r = sd_event_add_io(m->event, &m->rtp_source, rtp_get_fd(m->rtp), EPOLLIN,
                            rtp_event_handler, m);
        if (r < 0) {
                manager_rtp_free(m);
                return rtp_set_error(m, "its events cannot be watched", r);
        }
        m->rtp_error = mfree(m->rtp_error);
        m->rtp_self_check_state = RTP_SELF_CHECK_PENDING;
        log_info("Real-time protection started (%s).", block ? "blocking" : "reporting only");
        (void) rtp_self_check_follow(m);
        return 0;
}

/* Another product's fanotify group can come and go at any time: a walk of /proc at most a few
 * seconds old, made off the main loop (a process stuck in the kernel can hold the walk); the
 * first one is waited for briefly. */
int manager_rtp_conflicting_applications(Manager *m, char ***ret) {
        (void) m;
        return rtp_conflicting_applications_cached(getpid(), 0, 200, ret);
}

void manager_rtp_notify_status(Manager *m) {
        if (m->rtp_error)
                (void) sd_notifyf(false, "STATUS=Not protecting in real time: %.200s",
                                  m->rtp_error);
        else if (!m->rtp)
                (void) sd_notify(false, "STATUS=Protecting (on-demand scans only; enforcement "
                                        "level on_demand)");
        else
                (void) sd_notifyf(false, "STATUS=Protecting (real-time protection %s)",
                                  m->policy->enforcement == POLICY_ENFORCEMENT_REAL_TIME ?
                                  "blocking" :
                                  "reporting only, passive");
}

void manager_rtp_apply(Manager *m) {
        (void) rtp_apply(m);
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_RTP_CHANGED });
        manager_rtp_notify_status(m);
}
