/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of policy/: every setting of the schema has its line in the aspect table, the
 * typed fields follow the layers, policy_diff() names each aspect a change touches (every aspect
 * at least once) and only those, and "managed" is answered per setting.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "util/macro.h"
#include "util/strv.h"

/* A managed-file document that sets the dotted name to json. */
static char *doc_for(const char *name, const char *json) {
        _cleanup_free_ char *copy = strdup(name);
        char *doc = NULL, *open = strdup(""), *close = strdup("");
        char *save = NULL;

        ck_assert_ptr_nonnull(copy);
        for (char *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
                char *o = NULL, *c = NULL;

                ck_assert_int_ge(asprintf(&o, "%s{\"%s\":", open, part), 0);
                ck_assert_int_ge(asprintf(&c, "}%s", close), 0);
                free(open);
                free(close);
                open = o;
                close = c;
        }
        ck_assert_int_ge(asprintf(&doc, "%s%s%s", open, json, close), 0);
        free(open);
        free(close);
        return doc;
}

/* Sets name to json in layer l (the local or the managed one). */
static void set(SettingsLayer *l, const char *name, const char *json) {
        _cleanup_(settings_layer_freep) SettingsLayer *parsed = NULL;
        SettingsError e = SETTINGS_ERROR_INIT;
        _cleanup_free_ char *doc = doc_for(name, json), *message = NULL;
        const SettingDef *def = setting_def_find(name);

        ck_assert_msg(def, "no setting '%s'", name);
        ck_assert_msg(settings_layer_parse(doc, strlen(doc), &parsed, &e, NULL) == 0,
                      "%s does not parse: %s", doc, e.message ?: "?");
        settings_error_done(&e);
        ck_assert_msg(settings_layer_set(l, def, settings_layer_get(parsed, def), &message) == 0,
                      "%s: %s", name, message ?: "?");
}

/* The aspects a change of name to json makes policy_diff() report, against the defaults. */
static uint64_t diff_of(const char *name, const char *json) {
        _cleanup_(settings_freep) Settings *s = NULL;
        _cleanup_(policy_freep) Policy *before = NULL, *after = NULL;

        ck_assert_int_eq(settings_new(&s), 0);
        ck_assert_int_eq(policy_new(s, &before), 0);
        set(s->local, name, json);
        ck_assert_int_eq(policy_new(s, &after), 0);
        return policy_diff(before, after);
}

START_TEST(test_every_setting_in_table) {
        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);

                ck_assert_msg(policy_knows(def->name),
                              "'%s' has no line in policy.c's table", def->name);
                ck_assert_msg(policy_aspects_of(def->name) != 0, "'%s' belongs to no aspect",
                              def->name);
        }
        ck_assert(!policy_knows("antivirusEngine.noSuchThing"));
        ck_assert_uint_eq(policy_aspects_of("antivirusEngine.noSuchThing"), 0);
        ck_assert_uint_eq(policy_aspects_of(NULL), 0);
}
END_TEST

START_TEST(test_typed_fields) {
        _cleanup_(settings_freep) Settings *s = NULL;
        _cleanup_(policy_freep) Policy *p = NULL;

        ck_assert_int_eq(settings_new(&s), 0);
        set(s->local, "antivirusEngine.enforcementLevel", "\"passive\"");
        set(s->local, "cloudService.definitionUpdatesInterval", "3600");
        set(s->local, "cloudService.automaticDefinitionUpdateEnabled", "false");
        set(s->local, "cloudService.definitionUpdateUrl", "\"https://mirror.example/defs\"");
        set(s->local, "antivirusEngine.allowedThreats", "[\"EICAR-Test-File (not a virus)\"]");
        set(s->local, "antivirusEngine.disallowedThreatActions", "[\"restore\"]");
        set(s->local, "antivirusEngine.threatTypeSettings",
            "[{\"key\": \"potentially_unwanted_application\", \"value\": \"audit\"}]");
        set(s->local, "antivirusEngine.scanResultsRetentionDays", "7");
        set(s->local, "antivirusEngine.maximumOnDemandScanThreads", "3");
        set(s->managed, "edr.tags", "[{\"key\": \"GROUP\", \"value\": \"lab\"}]");
        set(s->local, "antivirusEngine.nonExecMountPolicy", "\"mute\"");
        set(s->local, "cloudService.diagnosticLevel", "\"optional\"");
        set(s->local, "antivirusEngine.unmonitoredFilesystems", "[\"nfs\"]");
        ck_assert_int_eq(policy_new(s, &p), 0);

        ck_assert_int_eq(p->enforcement, POLICY_ENFORCEMENT_PASSIVE);
        ck_assert_uint_eq(p->update_interval_sec, 3600);
        ck_assert(!p->update_automatic);
        ck_assert_str_eq(p->update_url, "https://mirror.example/defs");
        ck_assert_ptr_null(p->offline_update_url);
        ck_assert(policy_threat_allowed(p, "EICAR-Test-File (not a virus)"));
        ck_assert(!policy_threat_allowed(p, "Other"));
        ck_assert(policy_action_disallowed(p, "restore"));
        ck_assert(!policy_action_disallowed(p, "allow"));
        ck_assert_str_eq(policy_threat_type_action(p, "potentially_unwanted_application"),
                         "audit");
        ck_assert_str_eq(policy_threat_type_action(p, "virus"), "block");
        ck_assert_uint_eq(p->retention_days, 7);
        ck_assert_uint_eq(p->scan_threads, 3);
        ck_assert(p->mute_noexec_mounts);
        ck_assert(p->diagnostic_optional);
        ck_assert_str_eq(p->unmonitored_filesystems[0], "nfs");
        ck_assert_ptr_null(p->unmonitored_filesystems[1]);
        ck_assert_str_eq(p->edr_tags[0], "GROUP");
        ck_assert_str_eq(p->edr_tags[1], "lab");
        ck_assert(policy_is_managed(p, "edr.tags"));
        ck_assert(!policy_is_managed(p, "antivirusEngine.enforcementLevel"));
        ck_assert(!policy_is_managed(p, "no.such"));
}
END_TEST

START_TEST(test_enforcement_names) {
        for (int e = 0; e < _POLICY_ENFORCEMENT_MAX; e++)
                ck_assert_int_eq(policy_enforcement_from_string(policy_enforcement_to_string(e)),
                                 e);
        ck_assert_int_eq(policy_enforcement_from_string("blocking"),
                         _POLICY_ENFORCEMENT_INVALID);
        ck_assert_int_eq(policy_enforcement_from_string(NULL), _POLICY_ENFORCEMENT_INVALID);
        ck_assert_ptr_null(policy_enforcement_to_string(_POLICY_ENFORCEMENT_MAX));
}
END_TEST

/* Every aspect at least once, and exactly the aspects of the setting's table line. */
START_TEST(test_diff_per_aspect) {
        ck_assert_uint_eq(diff_of("antivirusEngine.unmonitoredFilesystems", "[\"nfs\"]"),
                          POLICY_ASPECT_RTP);
        ck_assert_uint_eq(diff_of("cloudService.definitionUpdatesInterval", "120"),
                          POLICY_ASPECT_UPDATE);
        ck_assert_uint_eq(diff_of("cloudService.automaticDefinitionUpdateEnabled", "false"),
                          POLICY_ASPECT_UPDATE);
        ck_assert_uint_eq(diff_of("antivirusEngine.enforcementLevel", "\"on_demand\""),
                          POLICY_ASPECT_RTP | POLICY_ASPECT_UPDATE |
                          POLICY_ASPECT_THREAT_ACTIONS);
        ck_assert_uint_eq(diff_of("antivirusEngine.scanResultsRetentionDays", "30"),
                          POLICY_ASPECT_THREAT_LIMITS);
        ck_assert_uint_eq(diff_of("antivirusEngine.disallowedThreatActions", "[\"allow\"]"),
                          POLICY_ASPECT_THREAT_ACTIONS);
        ck_assert_uint_eq(diff_of("antivirusEngine.maximumOnDemandScanThreads", "5"),
                          POLICY_ASPECT_SCAN_DEFAULTS);
        ck_assert_uint_eq(diff_of("edr.tags", "[{\"key\": \"GROUP\", \"value\": \"x\"}]"),
                          POLICY_ASPECT_EDR);
        ck_assert_uint_eq(diff_of("networkProtection.enforcementLevel", "\"audit\""),
                          POLICY_ASPECT_NETWORK_PROTECTION);
        ck_assert_uint_eq(diff_of("cloudService.enabled", "false"), POLICY_ASPECT_CLOUD);
        ck_assert_uint_eq(diff_of("logRotation.maxCurrentSizeMb", "20"), POLICY_ASPECT_LOGGING);
        ck_assert_uint_eq(diff_of("features.moduleLoad", "\"enabled\""), POLICY_ASPECT_FEATURES);
        /* Exclusion lists are not in the snapshot: their names say it. */
        ck_assert_uint_eq(policy_aspects_of_names(STRV_MAKE("exclusionSettings.exclusions")),
                          POLICY_ASPECT_EXCLUSIONS | POLICY_ASPECT_RTP);
        ck_assert_uint_eq(policy_aspects_of_names(STRV_MAKE("edr.tags", "cloudService.proxy")),
                          POLICY_ASPECT_EDR | POLICY_ASPECT_CLOUD | POLICY_ASPECT_UPDATE);
        ck_assert_uint_eq(policy_aspects_of_names(NULL), 0);
        /* Setting the default value explicitly changes nothing. */
        ck_assert_uint_eq(diff_of("cloudService.definitionUpdatesInterval", "28800"), 0);
}
END_TEST

START_TEST(test_diff_edges) {
        _cleanup_(settings_freep) Settings *s = NULL;
        _cleanup_(policy_freep) Policy *a = NULL, *b = NULL;

        ck_assert_int_eq(settings_new(&s), 0);
        ck_assert_int_eq(policy_new(s, &a), 0);
        ck_assert_int_eq(policy_new(s, &b), 0);
        ck_assert_uint_eq(policy_diff(a, b), 0);
        /* No previous snapshot: everything is new. */
        ck_assert_uint_eq(policy_diff(NULL, b), _POLICY_ASPECT_ALL);
        /* Managed or local with the same value: nothing runs differently. */
        set(s->managed, "edr.tags", "[{\"key\": \"GROUP\", \"value\": \"x\"}]");
        a = policy_free(a);
        ck_assert_int_eq(policy_new(s, &a), 0);
        set(s->local, "edr.tags", "[{\"key\": \"GROUP\", \"value\": \"x\"}]");
        b = policy_free(b);
        ck_assert_int_eq(policy_new(s, &b), 0);
        ck_assert_uint_eq(policy_diff(a, b), 0);
        ck_assert(policy_is_managed(b, "edr.tags"));
}
END_TEST

START_TEST(test_aspect_names) {
        for (uint64_t a = 1; a & _POLICY_ASPECT_ALL; a <<= 1)
                ck_assert_ptr_nonnull(policy_aspect_to_string(a));
        ck_assert_str_eq(policy_aspect_to_string(POLICY_ASPECT_RTP), "rtp");
        ck_assert_ptr_null(policy_aspect_to_string(POLICY_ASPECT_RTP | POLICY_ASPECT_EDR));
        ck_assert_ptr_null(policy_aspect_to_string(0));
}
END_TEST

static Suite *policy_suite(void) {
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_every_setting_in_table);
        tcase_add_test(tc, test_typed_fields);
        tcase_add_test(tc, test_enforcement_names);
        tcase_add_test(tc, test_diff_per_aspect);
        tcase_add_test(tc, test_diff_edges);
        tcase_add_test(tc, test_aspect_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(policy_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
