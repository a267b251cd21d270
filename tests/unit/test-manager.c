/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the manager without a bus: a real Manager on a temporary state directory and
 * managed directory, with no definitions (so real-time protection never marks a mount), and an
 * event recorder in place of bus/. Covers the commit pipeline's fan-out table (edr.tags touches
 * nothing of RTP; the update interval re-arms the timer; the enforcement level reapplies RTP),
 * the order of events and what they carry, and a restore answered by its REQUEST_FINISHED.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager.h"
#include "util/macro.h"
#include "util/strv.h"

#define MAX_EVENTS 64

/* What bus/ would have seen. */
typedef struct Recorder {
        ManagerEventType types[MAX_EVENTS];
        char **names[MAX_EVENTS];       /* copies of SETTINGS_CHANGED names */
        size_t n;
        /* The last REQUEST_FINISHED, its strings copied. */
        unsigned n_requests;
        uint64_t request_id;
        int request_r;
        char *request_message, *request_result;
} Recorder;

static void recorder_clear(Recorder *r) {
        for (size_t i = 0; i < r->n; i++)
                strv_free(r->names[i]);
        r->n = 0;
        r->request_message = mfree(r->request_message);
        r->request_result = mfree(r->request_result);
}

static void record(Manager *m, const ManagerEvent *e, void *userdata) {
        Recorder *r = userdata;

        ck_assert_uint_lt(r->n, MAX_EVENTS);
        ck_assert_ptr_nonnull(manager_event_type_to_string(e->type));
        r->types[r->n] = e->type;
        r->names[r->n] = NULL;
        if (e->type == MANAGER_EVENT_SETTINGS_CHANGED) {
                ck_assert(!strv_isempty(e->names));
                r->names[r->n] = strv_copy(e->names);
                ck_assert_ptr_nonnull(r->names[r->n]);
        }
        if (e->type == MANAGER_EVENT_REQUEST_FINISHED) {
                ck_assert_ptr_nonnull(e->request);
                r->n_requests++;
                r->request_id = e->request->id;
                r->request_r = e->request->r;
                free(r->request_message);
                free(r->request_result);
                r->request_message = e->request->message ? strdup(e->request->message) : NULL;
                r->request_result = e->request->result ? strdup(e->request->result) : NULL;
        }
        r->n++;
}

/* The index of the first event of this type, or -1. */
static ssize_t recorder_find(const Recorder *r, ManagerEventType t) {
        for (size_t i = 0; i < r->n; i++)
                if (r->types[i] == t)
                        return (ssize_t) i;
        return -1;
}

static char tmpdir[PATH_MAX];
static Manager *m;
static Recorder rec;

static void setup(void) {
        char state[PATH_MAX + 16], managed[PATH_MAX + 16], shipped[PATH_MAX + 16],
             key[PATH_MAX + 16];

        unsetenv("MDATP_UPDATE_INTERVAL");
        snprintf(tmpdir, sizeof(tmpdir), "%s/test-manager-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        snprintf(state, sizeof(state), "%s/state", tmpdir);
        snprintf(managed, sizeof(managed), "%s/managed", tmpdir);
        snprintf(shipped, sizeof(shipped), "%s/shipped", tmpdir);
        snprintf(key, sizeof(key), "%s/no-key.pem", tmpdir);
        ck_assert_int_eq(manager_new(&(ManagerConfig) {
                                             .state_dir = state,
                                             .managed_dir = managed,
                                             .shipped_definitions_dir = shipped,
                                             .definitions_key = key,
                                     }, &m), 0);
        ck_assert_int_eq(manager_startup(m), 0);
        memset(&rec, 0, sizeof(rec));
        manager_set_event_handler(m, record, &rec);
}

static void teardown(void) {
        char cmd[PATH_MAX + 16];

        recorder_clear(&rec);
        m = manager_free(m);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

/* Sets name to the value json through the local layer, as Settings.Set does. Returns the
 * outcome of manager_set_setting(). */
static int set_setting(const char *name, const SettingValue *v) {
        _cleanup_strv_free_ char **changed = NULL;
        _cleanup_free_ char *message = NULL;
        const SettingDef *def = setting_def_find(name);

        ck_assert_msg(def, "no setting '%s'", name);
        return manager_set_setting(m, def, v, &message, &changed);
}

static void set_enum(const char *name, const char *s) {
        ck_assert_int_eq(set_setting(name, &(SettingValue) { .type = SETTING_ENUM,
                                                             .s = (char *) s }), 0);
}

static void set_int(const char *name, int64_t i) {
        ck_assert_int_eq(set_setting(name, &(SettingValue) { .type = SETTING_INT, .i = i }), 0);
}

static void set_bool(const char *name, bool b) {
        ck_assert_int_eq(set_setting(name, &(SettingValue) { .type = SETTING_BOOL, .b = b }), 0);
}

static void set_string(const char *name, const char *s) {
        ck_assert_int_eq(set_setting(name, &(SettingValue) { .type = SETTING_STRING,
                                                             .s = (char *) s }), 0);
}

/* The fan-out table, as declared. */
START_TEST(test_reapply_table) {
        ck_assert_uint_eq(manager_reapply_for(POLICY_ASPECT_EDR, 0), 0);
        ck_assert_uint_eq(manager_reapply_for(POLICY_ASPECT_NETWORK_PROTECTION |
                                              POLICY_ASPECT_CLOUD | POLICY_ASPECT_LOGGING, 0), 0);
        ck_assert_uint_eq(manager_reapply_for(POLICY_ASPECT_UPDATE, 0),
                          MANAGER_REAPPLY_UPDATE_TIMER);
        ck_assert_uint_eq(manager_reapply_for(POLICY_ASPECT_RTP, 0), MANAGER_REAPPLY_RTP);
        ck_assert_uint_eq(manager_reapply_for(POLICY_ASPECT_THREAT_LIMITS, 0),
                          MANAGER_REAPPLY_THREAT_LIMITS);
        ck_assert_uint_eq(manager_reapply_for(0, MANAGER_CHANGE_DEFINITIONS),
                          MANAGER_REAPPLY_RTP);
        ck_assert_uint_eq(manager_reapply_for(0, MANAGER_CHANGE_RESTORED), MANAGER_REAPPLY_RTP);
        ck_assert_uint_eq(manager_reapply_for(0, MANAGER_CHANGE_EXCLUSION_ADDED), 0);
        ck_assert_uint_eq(manager_reapply_for(policy_aspects_of("exclusionSettings.exclusions"),
                                              0),
                          MANAGER_REAPPLY_EXCLUSIONS | MANAGER_REAPPLY_RTP);
        ck_assert_uint_eq(manager_reapply_for(policy_aspects_of(
                                  "antivirusEngine.enforcementLevel"), 0),
                          MANAGER_REAPPLY_UPDATE_TIMER | MANAGER_REAPPLY_RTP);
}
END_TEST

/* edr.tags: the settings change is told, nothing of RTP or the update timer moves. */
START_TEST(test_edr_tags_touch_nothing) {
        _cleanup_strv_free_ char **changed = NULL;
        _cleanup_free_ char *message = NULL;
        char *pairs[] = { (char *) "GROUP", (char *) "lab", NULL };
        uint64_t delay = m->update_delay_usec;
        int r;

        r = manager_set_setting(m, setting_def_find("edr.tags"),
                                &(SettingValue) { .type = SETTING_PAIR_LIST, .strv = pairs },
                                &message, &changed);
        ck_assert_int_eq(r, 0);
        ck_assert(strv_contains(changed, "edr.tags"));
        ck_assert_int_eq(recorder_find(&rec, MANAGER_EVENT_RTP_CHANGED), -1);
        ck_assert_int_ge(recorder_find(&rec, MANAGER_EVENT_SETTINGS_CHANGED), 0);
        ck_assert(strv_contains(rec.names[recorder_find(&rec, MANAGER_EVENT_SETTINGS_CHANGED)],
                                "edr.tags"));
        ck_assert_uint_eq(m->update_delay_usec, delay);
        ck_assert_str_eq(m->policy->edr_tags[1], "lab");
}
END_TEST

/* The enforcement level reapplies RTP; the settings change comes before the health change it
 * causes (RTP not running is an issue in real_time mode, not in on_demand). */
START_TEST(test_enforcement_reapplies_rtp) {
        ssize_t rtp, settings, health;

        ck_assert_int_eq(m->policy->enforcement, POLICY_ENFORCEMENT_REAL_TIME);
        set_enum("antivirusEngine.enforcementLevel", "on_demand");
        ck_assert_int_eq(m->policy->enforcement, POLICY_ENFORCEMENT_ON_DEMAND);
        rtp = recorder_find(&rec, MANAGER_EVENT_RTP_CHANGED);
        settings = recorder_find(&rec, MANAGER_EVENT_SETTINGS_CHANGED);
        health = recorder_find(&rec, MANAGER_EVENT_HEALTH_CHANGED);
        ck_assert_int_ge(rtp, 0);
        ck_assert_int_ge(settings, 0);
        ck_assert_int_ge(health, 0);
        ck_assert_int_lt(rtp, settings);
        ck_assert_int_lt(settings, health);
        ck_assert(strv_contains(rec.names[settings], "antivirusEngine.enforcementLevel"));
        ck_assert_ptr_null(m->rtp);
        ck_assert_ptr_null(m->rtp_error);
        for (char **i = m->health_issues; i && *i; i++)
                ck_assert_msg(!strstr(*i, "real-time protection"), "issue left: %s", *i);

        /* Unchanged: no event at all. */
        recorder_clear(&rec);
        ck_assert_int_eq(set_setting("antivirusEngine.enforcementLevel",
                                     &(SettingValue) { .type = SETTING_ENUM,
                                                       .s = (char *) "on_demand" }),
                         MANAGER_SETTING_UNCHANGED);
        ck_assert_uint_eq(rec.n, 0);
}
END_TEST

/* Automatic updates, their interval and the enforcement level re-arm the timer at once. */
START_TEST(test_update_timer_follows) {
        char url[PATH_MAX + 16];

        snprintf(url, sizeof(url), "%s/mirror", tmpdir);
        set_bool("cloudService.automaticDefinitionUpdateEnabled", false);
        set_string("cloudService.definitionUpdateUrl", url);
        ck_assert_ptr_null(m->update_timer);
        ck_assert_uint_eq(m->update_delay_usec, 0);

        set_bool("cloudService.automaticDefinitionUpdateEnabled", true);
        ck_assert_ptr_nonnull(m->update_timer);
        /* The default interval (8 h) with up to a tenth of jitter. */
        ck_assert_uint_ge(m->update_delay_usec, UINT64_C(28800) * 1000000);
        ck_assert_uint_le(m->update_delay_usec, UINT64_C(28800) * 1100000);

        set_int("cloudService.definitionUpdatesInterval", 120);
        ck_assert_uint_ge(m->update_delay_usec, UINT64_C(120) * 1000000);
        ck_assert_uint_le(m->update_delay_usec, UINT64_C(120) * 1100000);

        /* Out of real_time mode updates come before scans, not on a timer. */
        set_enum("antivirusEngine.enforcementLevel", "passive");
        ck_assert_ptr_null(m->update_timer);
        ck_assert_uint_eq(m->update_delay_usec, 0);
        set_enum("antivirusEngine.enforcementLevel", "real_time");
        ck_assert_ptr_nonnull(m->update_timer);
        ck_assert_uint_le(m->update_delay_usec, UINT64_C(120) * 1100000);
}
END_TEST

/* A new definitions set reapplies RTP and tells clients of the definitions; the log level
 * event comes only when the level changes. */
START_TEST(test_definitions_and_log_level) {
        LogLevel other = log_get_level() == LOG_LEVEL_DEBUG ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
        LogLevel old = log_get_level();
        ssize_t rtp, defs;
        int ids;

        ids = manager_commit(m, NULL, MANAGER_CHANGE_DEFINITIONS);
        ck_assert_int_ge(ids, 0);
        ck_assert(ids & MANAGER_REAPPLY_RTP);
        rtp = recorder_find(&rec, MANAGER_EVENT_RTP_CHANGED);
        defs = recorder_find(&rec, MANAGER_EVENT_DEFINITIONS_CHANGED);
        ck_assert_int_ge(rtp, 0);
        ck_assert_int_gt(defs, rtp);
        ck_assert_int_eq(recorder_find(&rec, MANAGER_EVENT_SETTINGS_CHANGED), -1);

        /* Nothing changed: nothing reapplied, nothing told. */
        recorder_clear(&rec);
        ck_assert_int_eq(manager_commit(m, NULL, 0), 0);
        ck_assert_uint_eq(rec.n, 0);

        ck_assert_int_eq(manager_set_log_level(m, other, false), 0);
        ck_assert_int_eq(rec.n, 1);
        ck_assert_int_eq(rec.types[0], MANAGER_EVENT_LOG_LEVEL_CHANGED);
        ck_assert_int_eq(manager_set_log_level(m, other, false), 0);
        ck_assert_int_eq(rec.n, 1);
        ck_assert_int_eq(manager_set_log_level(m, old, false), 0);
        ck_assert_int_eq(rec.n, 2);
}
END_TEST

/* An exclusion add names its list and reapplies RTP (which re-marks only what it must); the
 * retention limit reaches the threat store. */
START_TEST(test_exclusion_and_limits) {
        _cleanup_strv_free_ char **changed = NULL;
        _cleanup_free_ char *message = NULL;
        ssize_t settings;
        int r;

        r = manager_exclusion_add(m, "folder", tmpdir, "epp", &message, &changed);
        ck_assert_int_eq(r, 0);
        settings = recorder_find(&rec, MANAGER_EVENT_SETTINGS_CHANGED);
        ck_assert_int_ge(settings, 0);
        ck_assert(strv_contains(rec.names[settings], "antivirusEngine.exclusions") ||
                  strv_contains(rec.names[settings], "exclusionSettings.exclusions"));
        ck_assert_int_ge(recorder_find(&rec, MANAGER_EVENT_RTP_CHANGED), 0);

        recorder_clear(&rec);
        set_int("antivirusEngine.scanResultsRetentionDays", 3);
        ck_assert_uint_eq(m->policy->retention_days, 3);
        ck_assert_int_eq(recorder_find(&rec, MANAGER_EVENT_RTP_CHANGED), -1);
}
END_TEST

/* A managed policy that does not parse: the old one stays, health says why, once. */
START_TEST(test_managed_error_health) {
        char path[PATH_MAX + 32];
        FILE *f;

        snprintf(path, sizeof(path), "%s/managed", tmpdir);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/managed/mdatp_managed.json", tmpdir);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("{ \"antivirusEngine\": ", f);
        ck_assert_int_eq(fclose(f), 0);

        ck_assert_int_eq(manager_reload_managed(m, NULL), 0);
        ck_assert_ptr_nonnull(m->managed_policy_error);
        ck_assert_int_eq(recorder_find(&rec, MANAGER_EVENT_SETTINGS_CHANGED), -1);
        ck_assert_int_ge(recorder_find(&rec, MANAGER_EVENT_HEALTH_CHANGED), 0);
        ck_assert(strv_contains(m->health_issues, m->managed_policy_error));

        recorder_clear(&rec);
        ck_assert_int_eq(manager_reload_managed(m, NULL), 0);
        ck_assert_uint_eq(rec.n, 0);     /* the same issue: nothing new to tell */
}
END_TEST

/* Runs the loop until n requests finished (the executor's done callbacks run there). */
static void wait_requests(unsigned n) {
        for (int i = 0; i < 600 && rec.n_requests < n; i++)
                ck_assert_int_ge(sd_event_run(m->event, 100000), 0);
        ck_assert_uint_eq(rec.n_requests, n);
}

/* A restore answers later: the call hands back a request id, the entry is busy (a second
 * restore and a removal are refused) until REQUEST_FINISHED with that id says where the file
 * is; a failure ends its request with the refusal and its message, the entry kept. */
START_TEST(test_restore_request) {
        char sample[PATH_MAX + 16], missing[PATH_MAX + 16];
        _cleanup_free_ char *message = NULL;
        const QuarantineEntry *e = NULL;
        uint64_t request = 0, other = 0;
        FILE *f;

        ck_assert_ptr_nonnull(m->quarantine);
        snprintf(sample, sizeof(sample), "%s/sample", tmpdir);
        snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
        f = fopen(sample, "we");
        ck_assert_ptr_nonnull(f);
        fputs("not a threat, but a file", f);
        fclose(f);
        ck_assert_int_eq(quarantine_store_add(m->quarantine, &(QuarantineAddInput) {
                                                      .id = "t1", .path = sample,
                                                      .threat_name = "Test",
                                              }, &e), 0);
        ck_assert_int_ne(access(sample, F_OK), 0);

        /* A destination that does not exist: refused when the executor tried it. */
        ck_assert_int_eq(manager_threat_restore(m, "t1", missing, NULL, &request, &message), 0);
        ck_assert_uint_gt(request, 0);
        wait_requests(1);
        ck_assert_uint_eq(rec.request_id, request);
        ck_assert_int_eq(rec.request_r, MANAGER_THREAT_REFUSED);
        ck_assert_ptr_nonnull(rec.request_message);
        ck_assert_msg(strstr(rec.request_message, "does not exist"), "%s", rec.request_message);
        ck_assert_ptr_nonnull(quarantine_store_get(m->quarantine, "t1"));

        /* To its original place, with a second restore and a removal refused meanwhile. */
        ck_assert_int_eq(manager_threat_restore(m, "t1", NULL, NULL, &request, &message), 0);
        ck_assert_int_eq(manager_threat_restore(m, "t1", NULL, NULL, &other, &message),
                         MANAGER_THREAT_BUSY);
        ck_assert_msg(strstr(message, "being restored"), "%s", message);
        message = mfree(message);
        ck_assert_int_eq(manager_threat_remove(m, "t1", &message), MANAGER_THREAT_BUSY);
        wait_requests(2);
        ck_assert_uint_eq(rec.request_id, request);
        ck_assert_int_eq(rec.request_r, 0);
        ck_assert_str_eq(rec.request_result, sample);
        ck_assert_int_eq(access(sample, F_OK), 0);
        ck_assert_ptr_null(quarantine_store_get(m->quarantine, "t1"));
        ck_assert_int_eq(manager_threat_restore(m, "t1", NULL, NULL, &other, &message),
                         MANAGER_THREAT_NOT_FOUND);
}
END_TEST

static Suite *manager_suite(void) {
        Suite *s = suite_create("manager");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_reapply_table);
        tcase_add_test(tc, test_edr_tags_touch_nothing);
        tcase_add_test(tc, test_enforcement_reapplies_rtp);
        tcase_add_test(tc, test_update_timer_follows);
        tcase_add_test(tc, test_definitions_and_log_level);
        tcase_add_test(tc, test_exclusion_and_limits);
        tcase_add_test(tc, test_managed_error_health);
        tcase_add_test(tc, test_restore_request);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(manager_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
