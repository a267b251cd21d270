/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of settings/: the schema, validation of every type, parsing of managed files
 * (positions, unknown keys, legacy keys, null), serialisation round trips, layering and merge
 * policies, local-change checks and change detection.
 */

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings/settings.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

#define AV "antivirusEngine."

/* ---- helpers ---- */

static const SettingDef *def_of(const char *name) {
        const SettingDef *def = setting_def_find(name);

        ck_assert_msg(def, "no setting '%s'", name);
        return def;
}

static SettingsLayer *parse_ok(const char *text, char ***ret_unknown) {
        SettingsError e = SETTINGS_ERROR_INIT;
        SettingsLayer *l = NULL;
        int r;

        r = settings_layer_parse(text, strlen(text), &l, &e, ret_unknown);
        ck_assert_msg(r == 0, "parse failed (%d): %s at %u:%u: %s\n%s", r, e.key ?: "-", e.line,
                      e.column, e.message ?: "-", text);
        settings_error_done(&e);
        return l;
}

/* Asserts that text fails with exactly this key and message; line 0 skips the position. */
static void parse_fails(const char *text, const char *key, unsigned line, unsigned column,
                        const char *message) {
        SettingsError e = SETTINGS_ERROR_INIT;
        SettingsLayer *l = NULL;
        char **unknown = NULL;
        int r;

        r = settings_layer_parse(text, strlen(text), &l, &e, &unknown);
        ck_assert_msg(r == -EINVAL, "expected -EINVAL, got %d for\n%s", r, text);
        ck_assert_ptr_null(l);
        ck_assert_ptr_null(unknown);
        ck_assert_msg(streq_ptr(e.key, key), "key '%s', expected '%s'", e.key ?: "(null)",
                      key ?: "(null)");
        ck_assert_msg(e.message && streq(e.message, message), "message '%s', expected '%s'",
                      e.message ?: "(null)", message);
        if (line > 0)
                ck_assert_msg(e.line == line && e.column == column,
                              "error at %u:%u, expected %u:%u (%s)", e.line, e.column, line,
                              column, e.message);
        settings_error_done(&e);
}

/* {"a": {"b": <json>}} for name "a.b"; *ret_column is json's column. */
static char *doc_for(const char *name, const char *json, unsigned *ret_column) {
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *copy = strdup(name);
        char *buf = NULL, *save = NULL;
        size_t size = 0, column;
        FILE *f;

        for (char *p = strtok_r(copy, ".", &save); p; p = strtok_r(NULL, ".", &save))
                ck_assert_int_eq(strv_extend(&parts, p), 0);
        f = open_memstream(&buf, &size);
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; parts[i]; i++)
                fprintf(f, "{\"%s\": ", parts[i]);
        column = ftell(f) + 1;
        fputs(json, f);
        for (size_t i = 0; parts[i]; i++)
                fputc('}', f);
        fclose(f);
        if (ret_column)
                *ret_column = column;
        return buf;
}

/* Asserts that setting name to json is accepted; returns the parsed value's layer. */
static SettingsLayer *set_ok(const char *name, const char *json) {
        _cleanup_free_ char *doc = doc_for(name, json, NULL);
        SettingsLayer *l = parse_ok(doc, NULL);

        ck_assert_msg(settings_layer_get(l, def_of(name)), "%s not set by %s", name, doc);
        return l;
}

static void set_accepted(const char *name, const char *json) {
        SettingsLayer *l = set_ok(name, json);
        settings_layer_free(l);
}

/* Asserts that setting name to json fails with message, at json's position. */
static void set_fails(const char *name, const char *json, const char *message) {
        unsigned column;
        _cleanup_free_ char *doc = doc_for(name, json, &column);

        parse_fails(doc, name, 1, column, message);
}

/* Like set_fails() for a problem with the first entry of a list: the error points at it. */
static void set_entry_fails(const char *name, const char *json, const char *message) {
        unsigned column;
        _cleanup_free_ char *doc = doc_for(name, json, &column);

        parse_fails(doc, name, 1, column + 1, message);
}

static const SettingValue *value_of(const SettingsLayer *l, const char *name) {
        const SettingValue *v = settings_layer_get(l, def_of(name));

        ck_assert_msg(v, "%s is not set", name);
        return v;
}

/* ---- schema ---- */

START_TEST(test_schema) {
        _cleanup_(settings_freep) Settings *s = NULL;
        size_t n = setting_defs_count();

        ck_assert_uint_ge(n, 50);
        ck_assert_int_eq(settings_new(&s), 0);
        for (size_t i = 0; i < n; i++) {
                const SettingDef *def = setting_def_at(i);
                _cleanup_(setting_value_done) SettingValue v = {};
                _cleanup_free_ char *message = NULL;

                ck_assert_ptr_eq(setting_def_find(def->name), def);
                ck_assert_ptr_nonnull(setting_type_signature(def->type));
                ck_assert_ptr_nonnull(def->description);
                /* Every default fits its own rules. */
                ck_assert_int_eq(settings_get(s, def, &v, NULL), 0);
                ck_assert_msg(setting_value_validate(def, &v, &message) == 0, "%s: %s",
                              def->name, message);
                if (def->merge_policy) {
                        const SettingDef *p = def_of(def->merge_policy);
                        ck_assert_int_eq(p->type, SETTING_ENUM);
                        ck_assert_str_eq(p->default_s, "merge");
                }
                /* Members of one object are adjacent, so serialisation opens each once. */
                for (size_t j = i + 2; j < n; j++) {
                        const char *a = def->name, *b = setting_def_at(j)->name;
                        const char *mid = setting_def_at(i + 1)->name;
                        size_t la = strrchr(a, '.') - a;

                        if (strneq(a, b, la + 1) && !strneq(a, mid, strchr(a, '.') - a))
                                ck_abort_msg("%s and %s are not adjacent", a, b);
                }
        }
        ck_assert_ptr_null(setting_def_at(n));
        ck_assert_ptr_null(setting_def_find("antivirusEngine"));
        ck_assert_ptr_null(setting_def_find(AV "passiveMode"));
        ck_assert_str_eq(setting_type_signature(SETTING_EXCLUSION_LIST), "a(ssbas)");
        ck_assert_str_eq(setting_type_signature(SETTING_PAIR_LIST), "a(ss)");
        ck_assert_str_eq(setting_source_to_string(SETTING_SOURCE_MERGED), "merged");
        ck_assert_ptr_null(setting_source_to_string(_SETTING_SOURCE_MAX));

        ck_assert_str_eq(settings_get_string(s, AV "enforcementLevel"), "real_time");
        ck_assert_int_eq(settings_get_int(s, AV "scanHistoryMaximumItems"), 10000);
        ck_assert(settings_get_bool(s, "cloudService.enabled"));
        ck_assert_ptr_null(settings_get_string(s, "cloudService.proxy"));
        ck_assert_str_eq(settings_get_string(s, "features.ebpfSupplementaryEventProvider"),
                         "enabled");
}
END_TEST

/* ---- scalars ---- */

START_TEST(test_bool) {
        SettingsLayer *l = set_ok(AV "scanArchives", "false");

        ck_assert(!value_of(l, AV "scanArchives")->b);
        settings_layer_free(l);
        set_fails(AV "scanArchives", "\"false\"", "expected a boolean, got a string");
        set_fails(AV "scanArchives", "0", "expected a boolean, got an integer");
        set_fails("cloudService.enabled", "{}", "expected a boolean, got an object");
        set_fails("cloudService.enabled", "[true]", "expected a boolean, got an array");
}
END_TEST

START_TEST(test_int_boundaries) {
        static const char *name = AV "maximumOnDemandScanThreads";
        SettingsLayer *l;

        l = set_ok(name, "1");
        ck_assert_int_eq(value_of(l, name)->i, 1);
        settings_layer_free(l);
        l = set_ok(name, "64");
        ck_assert_int_eq(value_of(l, name)->i, 64);
        settings_layer_free(l);
        set_fails(name, "0", "0 is out of range 1..64");
        set_fails(name, "65", "65 is out of range 1..64");
        set_fails(name, "-1", "-1 is out of range 1..64");
        set_fails(name, "2.5", "2.5 is not an integer");
        set_fails(name, "99999999999999999999", "1e+20 is out of range 1..64");
        set_fails(name, "-1e400", "the number is out of range 1..64");
        set_fails(name, "true", "expected an integer, got a boolean");

        set_accepted(AV "scanResultsRetentionDays", "1");
        set_accepted(AV "scanResultsRetentionDays", "180");
        set_fails(AV "scanResultsRetentionDays", "181", "181 is out of range 1..180");
        set_accepted(AV "scanHistoryMaximumItems", "5000");
        set_accepted(AV "scanHistoryMaximumItems", "15000");
        set_fails(AV "scanHistoryMaximumItems", "4999", "4999 is out of range 5000..15000");
        set_fails(AV "scanHistoryMaximumItems", "15001", "15001 is out of range 5000..15000");
        set_accepted("cloudService.definitionUpdatesInterval", "60");
        set_accepted("cloudService.definitionUpdatesInterval", "604800");
        set_fails("cloudService.definitionUpdatesInterval", "59", "59 is out of range 60..604800");
        set_accepted("logRotation.maxCurrentSizeMb", "10240");
        set_fails("logRotation.maxRotatedSizeMb", "0", "0 is out of range 1..10240");
}
END_TEST

START_TEST(test_int_numeric_strings) {
        static const char *name = AV "scanResultsRetentionDays";
        SettingsLayer *l;

        l = set_ok(name, "\"30\"");
        ck_assert_int_eq(value_of(l, name)->i, 30);
        settings_layer_free(l);
        /* An integral number is an integer. */
        l = set_ok(name, "45.0");
        ck_assert_int_eq(value_of(l, name)->i, 45);
        settings_layer_free(l);

        set_fails(name, "\"0\"", "0 is out of range 1..180");
        set_fails(name, "\"abc\"", "'abc' is not an integer");
        set_fails(name, "\"\"", "'' is not an integer");
        set_fails(name, "\" 30\"", "' 30' is not an integer");
        set_fails(name, "\"3.5\"", "'3.5' is not an integer");
        set_fails(name, "\"-\"", "'-' is not an integer");
        set_fails(name, "\"99999999999999999999\"", "99999999999999999999 is out of range 1..180");
}
END_TEST

START_TEST(test_enums) {
        size_t checked = 0;

        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                _cleanup_free_ char *bad = NULL;

                if (def->type != SETTING_ENUM)
                        continue;
                for (size_t k = 0; def->allowed[k]; k++) {
                        _cleanup_free_ char *json = NULL;
                        SettingsLayer *l;

                        ck_assert_int_ge(asprintf(&json, "\"%s\"", def->allowed[k]), 0);
                        l = set_ok(def->name, json);
                        ck_assert_str_eq(value_of(l, def->name)->s, def->allowed[k]);
                        settings_layer_free(l);
                        checked++;
                }
                /* Case matters. */
                ck_assert_int_ge(asprintf(&bad, "'%c%s' is not one of: ",
                                          def->allowed[0][0] - 32, def->allowed[0] + 1), 0);
                {
                        _cleanup_free_ char *json = NULL, *doc = NULL;
                        SettingsError e = SETTINGS_ERROR_INIT;
                        SettingsLayer *l = NULL;

                        ck_assert_int_ge(asprintf(&json, "\"%c%s\"", def->allowed[0][0] - 32,
                                                  def->allowed[0] + 1), 0);
                        doc = doc_for(def->name, json, NULL);
                        ck_assert_int_eq(settings_layer_parse(doc, strlen(doc), &l, &e, NULL),
                                         -EINVAL);
                        ck_assert_str_eq(e.key, def->name);
                        ck_assert_msg(strneq(e.message, bad, strlen(bad)), "%s", e.message);
                        settings_error_done(&e);
                }
        }
        ck_assert_uint_ge(checked, 60);

        set_fails(AV "enforcementLevel", "\"fast\"",
                  "'fast' is not one of: real_time, on_demand, passive");
        set_fails("cloudService.cloudBlockLevel", "\"highest\"",
                  "'highest' is not one of: normal, moderate, high, high_plus, zero_tolerance");
        set_fails(AV "enforcementLevel", "1", "expected a string, got an integer");
        /* Values are quoted safely for logs. */
        set_fails(AV "enforcementLevel", "\"a\\nb\"",
                  "'a\\x0ab' is not one of: real_time, on_demand, passive");
}
END_TEST

START_TEST(test_proxy_url) {
        static const char *good[] = {
                "\"http://proxy:8080\"", "\"http://proxy.example.com:8080/\"",
                "\"http://10.0.0.1:3128/\"", "\"http://[fd00::1]:3128/\"", "\"HTTP://P:1\"",
                "\"http://p:65535/\"", "\"\"",
        };
        static const char *bad[] = {
                "https://proxy:8080/", "http://proxy/", "http://proxy:0/", "http://proxy:65536/",
                "http://user:pw@proxy:8080/", "http://proxy:8080/path", "ftp://proxy:21/",
                "proxy:8080", "http://:8080/", "http://[]:80/", "http://-p:80/",
                "http://proxy:80x/", "http://proxy:000080/",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                set_accepted("cloudService.proxy", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *json = NULL, *message = NULL;

                ck_assert_int_ge(asprintf(&json, "\"%s\"", bad[i]), 0);
                /* Messages reach health, which every user reads: never the password. */
                ck_assert_int_ge(asprintf(&message,
                                          "'%s' is not a proxy URL of the form http://host:port/",
                                          strstr(bad[i], "user:pw@") ? "http://***@proxy:8080/" :
                                                                       bad[i]), 0);
                set_fails("cloudService.proxy", json, message);
        }
}
END_TEST

START_TEST(test_url_or_path) {
        static const char *name = AV "offlineDefinitionUpdateUrl";
        static const char *good[] = {
                "\"/mnt/definitions/linux/prod\"", "\"https://mirror.example/linux/prod/\"",
                "\"http://10.1.1.1:8000/linux/\"", "\"/\"",
        };
        static const char *bad[] = { "relative/path", "ftp://mirror/x", "https://",
                                     "http://mirror /x", "file:///mnt" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                set_accepted(name, good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *json = NULL, *message = NULL;

                ck_assert_int_ge(asprintf(&json, "\"%s\"", bad[i]), 0);
                ck_assert_int_ge(asprintf(&message,
                                          "'%s' is neither an http(s):// URL nor an absolute path",
                                          bad[i]), 0);
                set_fails(name, json, message);
        }
}
END_TEST

START_TEST(test_text) {
        _cleanup_free_ char *ok = NULL, *too_long = NULL;
        char buf[1026];

        memset(buf, 'g', sizeof(buf));
        buf[1024] = '\0';
        ck_assert_int_ge(asprintf(&ok, "\"%s\"", buf), 0);
        buf[1024] = 'g';
        buf[1025] = '\0';
        ck_assert_int_ge(asprintf(&too_long, "\"%s\"", buf), 0);

        set_accepted("edr.groupIds", ok);
        set_accepted("edr.groupIds", "\"Gr\xc3\xbcppe 1\"");
        set_fails("edr.groupIds", too_long, "the text is longer than 1024 bytes");
        set_fails("edr.groupIds", "\"a\\tb\"", "the text contains a control character");
}
END_TEST

/* ---- lists ---- */

START_TEST(test_string_lists) {
        static const char *fs = AV "unmonitoredFilesystems";
        char name65[70], json[100];
        SettingsLayer *l;

        l = set_ok(fs, "[\"nfs\", \"Fuse\", \"fuse.sshfs\", \"my_fs-2\"]");
        ck_assert_uint_eq(strv_length(value_of(l, fs)->strv), 4);
        ck_assert_str_eq(value_of(l, fs)->strv[1], "Fuse");     /* kept as written */
        settings_layer_free(l);
        l = set_ok(fs, "[]");
        ck_assert_uint_eq(strv_length(value_of(l, fs)->strv), 0);
        settings_layer_free(l);

        set_fails(fs, "\"nfs\"", "expected an array, got a string");
        parse_fails("{\"antivirusEngine\": {\"unmonitoredFilesystems\": [\"nfs\",\n  \"bad name\"]}}",
                    fs, 2, 3,
                    "entry 2: 'bad name' is not a filesystem name (letters, digits, '.', '_' and "
                    "'-', at most 64)");
        parse_fails("{\"antivirusEngine\": {\"unmonitoredFilesystems\": [\"\"]}}", fs, 1, 49,
                    "entry 1: the text is empty");
        parse_fails("{\"antivirusEngine\": {\"unmonitoredFilesystems\": [\"a\", 7]}}", fs, 1, 54,
                    "entry 2: expected a string, got an integer");
        memset(name65, 'x', 65);
        name65[65] = '\0';
        snprintf(json, sizeof(json), "[\"%s\"]", name65);
        {
                _cleanup_free_ char *message = NULL;
                ck_assert_int_ge(asprintf(&message, "entry 1: '%.64s...' is not a filesystem "
                                          "name (letters, digits, '.', '_' and '-', at most 64)",
                                          name65), 0);
                set_entry_fails(fs, json, message);
        }
        name65[64] = '\0';
        snprintf(json, sizeof(json), "[\"%s\"]", name65);
        set_accepted(fs, json);

        set_accepted(AV "disallowedThreatActions", "[\"allow\", \"restore\"]");
        set_entry_fails(AV "disallowedThreatActions", "[\"deny\"]",
                  "entry 1: 'deny' is not one of: allow, restore");

        set_accepted(AV "allowedThreats", "[\"EICAR-Test-File (not a virus)\"]");
        {
                char threat[300];

                memset(threat, 'T', 256);
                snprintf(threat + 256, sizeof(threat) - 256, "\"]");
                _cleanup_free_ char *j = NULL;
                ck_assert_int_ge(asprintf(&j, "[\"%s", threat), 0);
                set_accepted(AV "allowedThreats", j);
                free(j);
                j = NULL;
                threat[256] = 'T';
                snprintf(threat + 257, sizeof(threat) - 257, "\"]");
                ck_assert_int_ge(asprintf(&j, "[\"%s", threat), 0);
                set_entry_fails(AV "allowedThreats", j, "entry 1: the text is longer than 256 bytes");
        }
}
END_TEST

START_TEST(test_pair_lists) {
        static const char *tts = AV "threatTypeSettings";
        char **unknown = NULL;
        SettingsLayer *l;
        char **v;

        l = parse_ok("{\"antivirusEngine\": {\"threatTypeSettings\": ["
                     "{\"key\": \"archive_bomb\", \"value\": \"off\", \"note\": \"x\"},"
                     "{\"key\": \"potentially_unwanted_application\", \"value\": \"block\"}]}}",
                     &unknown);
        v = value_of(l, tts)->strv;
        ck_assert_uint_eq(strv_length(v), 4);
        ck_assert_str_eq(v[0], "archive_bomb");
        ck_assert_str_eq(v[1], "off");
        ck_assert_str_eq(v[3], "block");
        ck_assert_uint_eq(strv_length(unknown), 1);
        ck_assert_str_eq(unknown[0], AV "threatTypeSettings[1].note (line 1, column 93)");
        strv_free(unknown);
        settings_layer_free(l);

        parse_fails("{\"antivirusEngine\": {\"threatTypeSettings\": [\n"
                    "  {\"key\": \"archive_bomb\", \"value\": \"off\"},\n"
                    "  {\"key\": \"archive_bomb\", \"value\": \"block\"}]}}",
                    tts, 3, 3, "entry 2: 'archive_bomb' is already set by entry 1");
        set_entry_fails(tts, "[{\"key\": \"ransomware\", \"value\": \"off\"}]",
                  "entry 1: 'ransomware' is not one of: potentially_unwanted_application, "
                  "archive_bomb");
        set_entry_fails(tts, "[{\"key\": \"archive_bomb\", \"value\": \"warn\"}]",
                  "entry 1: 'warn' is not one of: audit, block, off");
        set_entry_fails(tts, "[{\"key\": \"archive_bomb\"}]", "entry 1: \"value\" is missing");
        set_entry_fails(tts, "[\"archive_bomb\"]", "entry 1: expected an object, got a string");
        parse_fails("{\"antivirusEngine\": {\"threatTypeSettings\": [{\"key\": 1, \"value\": \"off\"}]}}",
                    tts, 1, 53, "entry 1: expected a string for \"key\", got an integer");

        set_accepted("edr.tags", "[{\"key\": \"GROUP\", \"value\": \"Finance servers\"}]");
        set_entry_fails("edr.tags", "[{\"key\": \"OWNER\", \"value\": \"x\"}]",
                  "entry 1: 'OWNER' is not one of: GROUP");
        set_entry_fails("edr.tags", "[{\"key\": \"GROUP\", \"value\": \"\"}]",
                  "entry 1: the value is empty");
        {
                char tag[260];
                _cleanup_free_ char *j = NULL;

                memset(tag, 'a', 201);
                tag[201] = '\0';
                ck_assert_int_ge(asprintf(&j, "[{\"key\": \"GROUP\", \"value\": \"%s\"}]", tag), 0);
                set_entry_fails("edr.tags", j, "entry 1: the text is longer than 200 bytes");
        }
}
END_TEST

/* ---- exclusions ---- */

/* The bad entry is the second one, on line 3 starting at column 3. */
static void exclusion_fails_at(const char *section, const char *entry, unsigned column,
                               const char *message) {
        _cleanup_free_ char *doc = NULL, *key = NULL;

        ck_assert_int_ge(asprintf(&doc, "{\"%s\": {\"exclusions\": [\n"
                                  "  {\"$type\": \"excludedPath\", \"path\": \"/ok\"},\n"
                                  "  %s]}}", section, entry), 0);
        ck_assert_int_ge(asprintf(&key, "%s.exclusions", section), 0);
        parse_fails(doc, key, 3, column, message);
}

static void exclusion_fails(const char *section, const char *entry, const char *message) {
        exclusion_fails_at(section, entry, 3, message);
}

static const SettingExclusion *only_exclusion(const SettingsLayer *l, const char *name) {
        const SettingValue *v = value_of(l, name);

        ck_assert_uint_eq(v->exclusions.n, 1);
        return &v->exclusions.items[0];
}

START_TEST(test_exclusions_accepted) {
        const SettingExclusion *e;
        char **unknown = NULL;
        SettingsLayer *l;

        l = set_ok(AV "exclusions", "[{\"$type\": \"excludedPath\", \"path\": \"/var/*/tmp?\", "
                                    "\"isDirectory\": true}]");
        e = only_exclusion(l, AV "exclusions");
        ck_assert_str_eq(e->type, "excludedPath");
        ck_assert_str_eq(e->value, "/var/*/tmp?");
        ck_assert(e->is_directory);
        ck_assert_uint_eq(e->scopes, EXCLUSION_SCOPE_EPP);      /* the legacy location's */
        settings_layer_free(l);

        l = set_ok(AV "exclusions", "[{\"$type\": \"excludedFileExtension\", \"extension\": "
                                    "\"pdf\", \"scopes\": [\"epp\"]}]");
        e = only_exclusion(l, AV "exclusions");
        ck_assert_str_eq(e->value, "pdf");                     /* kept as written */
        ck_assert(!e->is_directory);
        settings_layer_free(l);

        l = set_ok("exclusionSettings.exclusions",
                   "[{\"$type\": \"excludedFileName\", \"name\": \"/bin/cat\"}]");
        e = only_exclusion(l, "exclusionSettings.exclusions");
        ck_assert_uint_eq(e->scopes, EXCLUSION_SCOPE_GLOBAL);   /* no scopes here = global */
        settings_layer_free(l);

        l = set_ok("exclusionSettings.exclusions",
                   "[{\"$type\": \"excludedFileName\", \"name\": \"c?t\", \"scopes\": [\"epp\"]}]");
        e = only_exclusion(l, "exclusionSettings.exclusions");
        ck_assert_uint_eq(e->scopes, EXCLUSION_SCOPE_EPP);
        settings_layer_free(l);

        /* Members of other types are unknown keys, ignored; isDirectory null is absent. */
        l = parse_ok("{\"exclusionSettings\": {\"exclusions\": [{\"$type\": \"excludedFileName\", "
                     "\"name\": \"/usr/bin/rsync\", \"isDirectory\": true, \"path\": \"/x\", "
                     "\"scopes\": [\"global\", \"epp\", \"global\"]}, "
                     "{\"$type\": \"excludedPath\", \"path\": \"/y\", \"isDirectory\": null}]}}",
                     &unknown);
        ck_assert_uint_eq(strv_length(unknown), 2);
        ck_assert_str_eq(unknown[0],
                         "exclusionSettings.exclusions[1].isDirectory (line 1, column 110)");
        ck_assert_str_eq(unknown[1], "exclusionSettings.exclusions[1].path (line 1, column 124)");
        e = &value_of(l, "exclusionSettings.exclusions")->exclusions.items[0];
        ck_assert(!e->is_directory);
        ck_assert_uint_eq(e->scopes, EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL);
        strv_free(unknown);
        settings_layer_free(l);
}
END_TEST

START_TEST(test_exclusions_rejected) {
        static const char *es = "exclusionSettings", *av = "antivirusEngine";
        char long_path[4200];
        _cleanup_free_ char *entry = NULL;

        exclusion_fails(es, "{\"path\": \"/x\"}", "exclusion entry 2: \"$type\" is missing");
        exclusion_fails(es, "\"/x\"", "exclusion entry 2: expected an object, got a string");
        exclusion_fails(es, "null", "exclusion entry 2: expected an object, got null");
        exclusion_fails(es, "{\"$type\": \"excludedPath\"}",
                        "exclusion entry 2: \"path\" is missing");
        exclusion_fails(es, "{\"$type\": \"excludedPath\", \"path\": \"\"}",
                        "exclusion entry 2: the path is empty");
        exclusion_fails(es, "{\"$type\": \"excludedPath\", \"path\": \"var/log\"}",
                        "exclusion entry 2: the path must be absolute ('var/log')");
        exclusion_fails(es, "{\"$type\": \"excludedPath\", \"path\": \"/a\\u0001b\"}",
                        "exclusion entry 2: the path contains a control character");
        exclusion_fails(es, "{\"$type\": \"excludedPath\", \"path\": \"/var/*/x\"}",
                        "exclusion entry 2: a global exclusion cannot use wildcards "
                        "('/var/*/x')");
        exclusion_fails(es, "{\"$type\": \"excludedPath\", \"path\": \"/var/lo?\", "
                        "\"scopes\": [\"epp\", \"global\"]}",
                        "exclusion entry 2: a global exclusion cannot use wildcards "
                        "('/var/lo?')");
        exclusion_fails(es, "{\"$type\": \"excludedFileExtension\", \"extension\": \".pdf\"}",
                        "exclusion entry 2: a global exclusion cannot be a file extension "
                        "('.pdf')");
        exclusion_fails(es, "{\"$type\": \"excludedFileName\", \"name\": \"cat\", "
                        "\"scopes\": [\"global\"]}",
                        "exclusion entry 2: a global process exclusion needs an absolute path "
                        "('cat')");
        exclusion_fails(es, "{\"$type\": \"excludedFileName\", \"name\": \"bin/cat\", "
                        "\"scopes\": [\"epp\"]}",
                        "exclusion entry 2: a process is a bare name or an absolute path "
                        "('bin/cat')");
        exclusion_fails(es, "{\"$type\": \"excludedFileExtension\", \"extension\": \"a/b\", "
                        "\"scopes\": [\"epp\"]}",
                        "exclusion entry 2: an extension cannot contain '/' ('a/b')");
        /* An unknown $type points at the $type value. */
        exclusion_fails_at(es, "{\"$type\": \"excludedFolder\", \"path\": \"/x\"}", 13,
                        "exclusion entry 2: $type 'excludedFolder' is not one of: excludedPath, "
                        "excludedFileExtension, excludedFileName");
        exclusion_fails(av, "{\"$type\": \"excludedPath\", \"path\": \"/x\", "
                        "\"scopes\": [\"global\"]}",
                        "exclusion entry 2: the global scope is not allowed in "
                        "antivirusEngine.exclusions, only epp");

        /* Problems with one member point at that member. */
        parse_fails("{\"exclusionSettings\": {\"exclusions\": [{\"$type\": \"excludedPath\", "
                    "\"path\": \"/x\", \"scopes\": [\"epp\", \"edr\"]}]}}",
                    "exclusionSettings.exclusions", 1, 97,
                    "exclusion entry 1: scope 'edr' is not one of: epp, global");
        parse_fails("{\"exclusionSettings\": {\"exclusions\": [{\"$type\": \"excludedPath\", "
                    "\"path\": \"/x\", \"scopes\": []}]}}",
                    "exclusionSettings.exclusions", 1, 89,
                    "exclusion entry 1: \"scopes\" is empty");
        parse_fails("{\"exclusionSettings\": {\"exclusions\": [{\"$type\": \"excludedPath\", "
                    "\"path\": \"/x\", \"isDirectory\": \"yes\"}]}}",
                    "exclusionSettings.exclusions", 1, 94,
                    "exclusion entry 1: expected a boolean for \"isDirectory\", got a string");
        parse_fails("{\"exclusionSettings\": {\"exclusions\": [{\"$type\": \"excludedPath\", "
                    "\"path\": 5}]}}",
                    "exclusionSettings.exclusions", 1, 73,
                    "exclusion entry 1: expected a string for \"path\", got an integer");

        long_path[0] = '/';
        memset(long_path + 1, 'p', 4096);
        long_path[4097] = '\0';
        ck_assert_int_ge(asprintf(&entry, "{\"$type\": \"excludedPath\", \"path\": \"%s\", "
                                  "\"scopes\": [\"epp\"]}", long_path), 0);
        exclusion_fails(es, entry, "exclusion entry 2: the path is longer than 4096 bytes");
        free(entry);
        long_path[4096] = '\0';
        ck_assert_int_ge(asprintf(&entry, "[{\"$type\": \"excludedPath\", \"path\": \"%s\", "
                                  "\"scopes\": [\"epp\"]}]", long_path), 0);
        set_accepted("exclusionSettings.exclusions", entry);
}
END_TEST

START_TEST(test_exclusion_values_over_dbus) {
        const SettingDef *def = def_of("exclusionSettings.exclusions");
        _cleanup_(settings_layer_freep) SettingsLayer *l = NULL;
        SettingExclusion items[] = {
                { .type = (char *) "excludedFileName", .value = (char *) "/bin/cat",
                  .is_directory = true, .scopes = EXCLUSION_SCOPE_EPP },
        };
        SettingValue v = { .type = SETTING_EXCLUSION_LIST, .exclusions = { items, 1 } };
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;

        ck_assert_int_eq(settings_layer_new(&l), 0);
        ck_assert_int_eq(settings_layer_set(l, def, &v, &m1), -EINVAL);
        ck_assert_str_eq(m1, "exclusion entry 1: isDirectory applies to excludedPath only");
        items[0].is_directory = false;
        items[0].scopes = 0;
        ck_assert_int_eq(settings_layer_set(l, def, &v, &m2), -EINVAL);
        ck_assert_str_eq(m2, "exclusion entry 1: no scope is given");
        ck_assert_ptr_null(settings_layer_get(l, def));
        items[0].scopes = EXCLUSION_SCOPE_GLOBAL;
        ck_assert_int_eq(settings_layer_set(l, def, &v, NULL), 0);
        ck_assert_str_eq(settings_layer_get(l, def)->exclusions.items[0].value, "/bin/cat");
        /* The layer holds a copy. */
        ck_assert_ptr_ne(settings_layer_get(l, def)->exclusions.items[0].value, items[0].value);

        v = (SettingValue) { .type = SETTING_BOOL, .b = true };
        ck_assert_int_eq(settings_layer_set(l, def, &v, &m3), -EINVAL);
        ck_assert_str_eq(m3, "expected a list of exclusions, got a boolean");
}
END_TEST

/* ---- legacy keys ---- */

static void legacy_maps(const char *members, const char *expected) {
        _cleanup_free_ char *doc = NULL;
        char **unknown = NULL;
        SettingsLayer *l;
        const SettingValue *v;

        ck_assert_int_ge(asprintf(&doc, "{\"antivirusEngine\": {%s}}", members), 0);
        l = parse_ok(doc, &unknown);
        v = settings_layer_get(l, def_of(AV "enforcementLevel"));
        if (expected) {
                ck_assert_msg(v, "%s: enforcementLevel not set", members);
                ck_assert_msg(streq(v->s, expected), "%s gave %s, expected %s", members, v->s,
                              expected);
        } else
                ck_assert_msg(!v, "%s set enforcementLevel", members);
        /* Legacy keys are understood, not unknown. */
        ck_assert_uint_eq(strv_length(unknown), 0);
        strv_free(unknown);
        settings_layer_free(l);
}

START_TEST(test_legacy_keys) {
        legacy_maps("\"passiveMode\": true", "passive");
        legacy_maps("\"passiveMode\": true, \"enableRealTimeProtection\": false", "passive");
        legacy_maps("\"passiveMode\": true, \"enableRealTimeProtection\": true", "passive");
        legacy_maps("\"enableRealTimeProtection\": true, \"passiveMode\": false", "real_time");
        legacy_maps("\"passiveMode\": false, \"enableRealTimeProtection\": false", "on_demand");
        legacy_maps("\"enableRealTimeProtection\": true", "real_time");
        legacy_maps("\"enableRealTimeProtection\": false", "on_demand");
        legacy_maps("\"passiveMode\": false", "real_time");
        legacy_maps("\"passiveMode\": null", NULL);
        legacy_maps("\"scanArchives\": true", NULL);
        /* enforcementLevel wins over legacy keys, before or after them. */
        legacy_maps("\"enforcementLevel\": \"on_demand\", \"passiveMode\": true", "on_demand");
        legacy_maps("\"passiveMode\": true, \"enforcementLevel\": \"real_time\"", "real_time");
        legacy_maps("\"enableRealTimeProtection\": false, \"enforcementLevel\": \"passive\"",
                    "passive");
        /* A null enforcementLevel does not count as set. */
        legacy_maps("\"enforcementLevel\": null, \"passiveMode\": true", "passive");

        parse_fails("{\"antivirusEngine\": {\n  \"passiveMode\": \"yes\"}}", AV "passiveMode", 2,
                    18, "expected a boolean, got a string");
        parse_fails("{\"antivirusEngine\": {\"enableRealTimeProtection\": 1}}",
                    AV "enableRealTimeProtection", 1, 50, "expected a boolean, got an integer");
}
END_TEST

START_TEST(test_misspelt_alias) {
        static const char *name = AV "offlineDefinitionUpdateFallbackToCloud";
        SettingsLayer *l;

        l = parse_ok("{\"antivirusEngine\": {\"offlineDefintionUpdateFallbackToCloud\": true}}",
                     NULL);
        ck_assert(value_of(l, name)->b);
        settings_layer_free(l);
        /* The right spelling wins. */
        l = parse_ok("{\"antivirusEngine\": {\"offlineDefintionUpdateFallbackToCloud\": true, "
                     "\"offlineDefinitionUpdateFallbackToCloud\": false}}", NULL);
        ck_assert(!value_of(l, name)->b);
        settings_layer_free(l);
        parse_fails("{\"antivirusEngine\": {\"offlineDefintionUpdateFallbackToCloud\": 1}}",
                    name, 1, 63, "expected a boolean, got an integer");
}
END_TEST

/* ---- document structure ---- */

START_TEST(test_unknown_keys) {
        char **unknown = NULL;
        SettingsLayer *l;

        l = parse_ok("{\"info\": \"a\", \"antivirusEngine\": {\"info\": \"x\", \"scanArchives\": "
                     "false, \"info\": \"y\", \"possible values\": \"z\", \"newThing\": {\"a\": 1}},"
                     " \"info\": \"b\", \"features\": {\"supplementarySensorConfigurations\": "
                     "{\"enableAntivirusEngineCache\": \"enabled\"}}, \"mdeAttach\": [1]}",
                     &unknown);
        ck_assert(!value_of(l, AV "scanArchives")->b);
        /* The reference's "info" and "possible values" comment keys are not reported; the
         * others are, with the position of their value, each occurrence. */
        ck_assert_uint_eq(strv_length(unknown), 3);
        ck_assert_str_eq(unknown[0], AV "newThing (line 1, column 120)");
        ck_assert_str_eq(unknown[1], "features.supplementarySensorConfigurations."
                         "enableAntivirusEngineCache (line 1, column 225)");
        ck_assert_str_eq(unknown[2], "mdeAttach (line 1, column 251)");
        /* Not set at its real location either. */
        ck_assert_ptr_null(settings_layer_get(l, def_of("features.enableAntivirusEngineCache")));
        strv_free(unknown);
        settings_layer_free(l);

        /* ret_unknown_keys may be NULL. */
        l = parse_ok("{\"whatever\": 1}", NULL);
        settings_layer_free(l);
}
END_TEST

START_TEST(test_structure_errors) {
        SettingsError e = SETTINGS_ERROR_INIT;
        SettingsLayer *l = NULL;

        parse_fails("[]", NULL, 1, 1, "expected an object at the top level, got an array");
        parse_fails("  \"x\"", NULL, 1, 3, "expected an object at the top level, got a string");
        parse_fails("{\n  \"cloudService\": [\n  ]\n}", "cloudService", 2, 19,
                    "expected an object, got an array");
        parse_fails("{\"features\": {\"supplementarySensorConfigurations\": true}}",
                    "features.supplementarySensorConfigurations", 1, 52,
                    "expected an object, got a boolean");
        parse_fails("{\n  \"antivirusEngine\": {\n    \"scanArchives\": \"yes\"\n  }\n}",
                    AV "scanArchives", 3, 21, "expected a boolean, got a string");
        parse_fails("{\"antivirusEngine\": {\"scanArchives\": true,\n \"scanArchives\": false}}",
                    AV "scanArchives", 2, 18, "duplicate key 'antivirusEngine.scanArchives'");
        parse_fails("{\"cloudService\": {},\n \"cloudService\": {}}", "cloudService", 2, 18,
                    "duplicate key 'cloudService'");

        /* Syntax errors: no key, the JSON parser's position. */
        ck_assert_int_eq(settings_layer_parse("{\n\"a\": 1,\n}", 11, &l, &e, NULL), -EINVAL);
        ck_assert_ptr_null(e.key);
        ck_assert_uint_eq(e.line, 3);
        ck_assert_uint_eq(e.column, 1);
        ck_assert_ptr_nonnull(strstr(e.message, "parse error"));
        settings_error_done(&e);
        ck_assert_int_eq(settings_layer_parse("", 0, &l, NULL, NULL), -EINVAL);
        ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_null_is_unset) {
        char **unknown = NULL;
        SettingsLayer *l;

        l = parse_ok("{\"antivirusEngine\": {\"enforcementLevel\": null, \"exclusions\": null, "
                     "\"scanArchives\": false}, \"cloudService\": null, \"edr\": {\"tags\": null}}",
                     &unknown);
        ck_assert_ptr_null(settings_layer_get(l, def_of(AV "enforcementLevel")));
        ck_assert_ptr_null(settings_layer_get(l, def_of(AV "exclusions")));
        ck_assert_ptr_null(settings_layer_get(l, def_of("edr.tags")));
        ck_assert_ptr_nonnull(settings_layer_get(l, def_of(AV "scanArchives")));
        ck_assert_uint_eq(strv_length(unknown), 0);
        strv_free(unknown);
        settings_layer_free(l);
}
END_TEST

/* ---- serialisation ---- */

/* A value for def that differs from its default. */
static void sample_value(const SettingDef *def, SettingValue *ret) {
        SettingValue v = { .type = def->type };

        switch (def->type) {
        case SETTING_BOOL:
                v.b = !def->default_b;
                break;
        case SETTING_INT:
                v.i = def->max;
                break;
        case SETTING_ENUM:
                v.s = strdup(def->allowed[strv_length((char **) def->allowed) - 1]);
                if (streq(v.s, def->default_s)) {
                        free(v.s);
                        v.s = strdup(def->allowed[0]);
                }
                break;
        case SETTING_STRING:
                v.s = strdup(def->string_kind == SETTING_STRING_PROXY_URL ?
                             "http://proxy.example:8080/" :
                             def->string_kind == SETTING_STRING_URL_OR_PATH ?
                             "https://mirror.example/linux/prod/" : "group \"q\" \\ \xc3\xa9");
                break;
        case SETTING_STRING_LIST:
                if (def->allowed)
                        v.strv = strv_copy((char **) def->allowed);
                else if (def->string_kind == SETTING_STRING_FILESYSTEM) {
                        ck_assert_int_eq(strv_extend(&v.strv, "ext4"), 0);
                        ck_assert_int_eq(strv_extend(&v.strv, "Fuse"), 0);
                } else {
                        ck_assert_int_eq(strv_extend(&v.strv, "Threat \"A\""), 0);
                        ck_assert_int_eq(strv_extend(&v.strv, "B"), 0);
                }
                break;
        case SETTING_PAIR_LIST:
                for (size_t i = 0; def->allowed[i]; i++) {
                        ck_assert_int_eq(strv_extend(&v.strv, def->allowed[i]), 0);
                        ck_assert_int_eq(strv_extend(&v.strv, def->allowed_values ?
                                                     def->allowed_values[1] : "tag value"), 0);
                }
                break;
        case SETTING_EXCLUSION_LIST: {
                bool global = def->allowed_scopes & EXCLUSION_SCOPE_GLOBAL;

                v.exclusions.n = 3;
                v.exclusions.items = calloc(3, sizeof(SettingExclusion));
                v.exclusions.items[0] = (SettingExclusion) {
                        strdup("excludedPath"), strdup("/var/lib/db/"), true,
                        global ? EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL : EXCLUSION_SCOPE_EPP,
                };
                v.exclusions.items[1] = (SettingExclusion) {
                        strdup("excludedFileExtension"), strdup(".iso"), false,
                        EXCLUSION_SCOPE_EPP,
                };
                v.exclusions.items[2] = (SettingExclusion) {
                        strdup("excludedFileName"), strdup(global ? "/usr/bin/borg" : "borg"),
                        false, global ? EXCLUSION_SCOPE_GLOBAL : EXCLUSION_SCOPE_EPP,
                };
                break;
        }
        default:
                ck_abort();
        }
        *ret = v;
}

START_TEST(test_round_trip_every_key) {
        _cleanup_(settings_layer_freep) SettingsLayer *l = NULL, *back = NULL;
        _cleanup_(settings_layer_freep) SettingsLayer *empty = NULL, *empty_back = NULL;
        _cleanup_free_ char *json = NULL, *json2 = NULL, *empty_json = NULL;
        char **unknown = NULL;

        ck_assert_int_eq(settings_layer_new(&l), 0);
        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                _cleanup_(setting_value_done) SettingValue v = {};
                _cleanup_free_ char *message = NULL;

                sample_value(def, &v);
                ck_assert_msg(settings_layer_set(l, def, &v, &message) == 0, "%s: %s", def->name,
                              message);
        }

        ck_assert_int_eq(settings_layer_to_json(l, &json, NULL), 0);
        back = parse_ok(json, &unknown);
        ck_assert_msg(strv_length(unknown) == 0, "unknown key %s", unknown[0]);
        strv_free(unknown);
        ck_assert_msg(settings_layer_equal(l, back), "round trip differs:\n%s", json);
        for (size_t i = 0; i < setting_defs_count(); i++)
                ck_assert_ptr_nonnull(settings_layer_get(back, setting_def_at(i)));
        /* Stable output, nested in schema order, scopes always written. */
        ck_assert_int_eq(settings_layer_to_json(back, &json2, NULL), 0);
        ck_assert_str_eq(json, json2);
        ck_assert(strstr(json, "\"antivirusEngine\"") < strstr(json, "\"exclusionSettings\""));
        ck_assert(strstr(json, "\"cloudService\"") < strstr(json, "\"logRotation\""));
        ck_assert_ptr_nonnull(strstr(json, "\"antivirusEngine\""));
        ck_assert_ptr_nonnull(strstr(json, "\"supplementarySensorConfigurations\":{"));
        ck_assert_ptr_nonnull(strstr(json, "\"scopes\":["));
        ck_assert_ptr_null(strstr(json, "offlineDefintion"));

        /* One key changed: no longer equal. */
        {
                SettingValue v = { .type = SETTING_INT, .i = 3 };
                ck_assert_int_eq(settings_layer_set(back, def_of(AV "maximumOnDemandScanThreads"),
                                                    &v, NULL), 0);
                ck_assert(!settings_layer_equal(l, back));
                ck_assert_int_eq(settings_layer_unset(back,
                                                      def_of(AV "maximumOnDemandScanThreads")), 1);
                ck_assert(!settings_layer_equal(l, back));
        }

        ck_assert_int_eq(settings_layer_new(&empty), 0);
        ck_assert_int_eq(settings_layer_to_json(empty, &empty_json, NULL), 0);
        empty_back = parse_ok(empty_json, NULL);
        ck_assert(settings_layer_equal(empty, empty_back));
        ck_assert(!settings_layer_equal(empty, l));
}
END_TEST

START_TEST(test_round_trip_legacy_document) {
        _cleanup_(settings_layer_freep) SettingsLayer *l = NULL, *back = NULL;
        _cleanup_free_ char *json = NULL;

        /* Legacy keys come back as enforcementLevel; pair and exclusion shapes survive. */
        l = parse_ok("{\"antivirusEngine\": {\"passiveMode\": true, \"exclusions\": "
                     "[{\"$type\": \"excludedFileExtension\", \"extension\": \"pdf\"}]},"
                     " \"edr\": {\"tags\": [{\"key\": \"GROUP\", \"value\": \"x\"}]}}", NULL);
        ck_assert_int_eq(settings_layer_to_json(l, &json, NULL), 0);
        ck_assert_ptr_null(strstr(json, "passiveMode"));
        ck_assert_ptr_nonnull(strstr(json, "\"enforcementLevel\":\"passive\""));
        back = parse_ok(json, NULL);
        ck_assert(settings_layer_equal(l, back));
}
END_TEST

START_TEST(test_value_to_string) {
        static const char *l[] = { "a", "b \"c\"", NULL };
        static const char *pairs[] = { "archive_bomb", "off", NULL };
        SettingExclusion e = { (char *) "excludedPath", (char *) "/x", true,
                               EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL };
        struct {
                SettingValue v;
                const char *expected;
        } cases[] = {
                { { .type = SETTING_BOOL, .b = true }, "true" },
                { { .type = SETTING_INT, .i = -12 }, "-12" },
                { { .type = SETTING_ENUM, .s = (char *) "real_time" }, "\"real_time\"" },
                { { .type = SETTING_STRING }, "\"\"" },
                { { .type = SETTING_STRING_LIST, .strv = (char **) l }, "[\"a\", \"b \\\"c\\\"\"]" },
                { { .type = SETTING_STRING_LIST }, "[]" },
                { { .type = SETTING_PAIR_LIST, .strv = (char **) pairs },
                  "{\"archive_bomb\": \"off\"}" },
                { { .type = SETTING_EXCLUSION_LIST, .exclusions = { &e, 1 } },
                  "[excludedPath \"/x\" (directory; epp, global)]" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = setting_value_to_string(&cases[i].v);
                ck_assert_str_eq(s, cases[i].expected);
        }
}
END_TEST

/* ---- layering ---- */

static void set_layer(SettingsLayer *l, const char *name, const char *json) {
        _cleanup_(settings_layer_freep) SettingsLayer *parsed = set_ok(name, json);
        const SettingDef *def = def_of(name);
        _cleanup_free_ char *message = NULL;

        ck_assert_msg(settings_layer_set(l, def, settings_layer_get(parsed, def), &message) == 0,
                      "%s", message);
}

static void assert_effective(const Settings *s, const char *name, const char *expected,
                             SettingSource source) {
        _cleanup_(setting_value_done) SettingValue v = {};
        _cleanup_free_ char *text = NULL;
        SettingSource got;

        ck_assert_int_eq(settings_get(s, def_of(name), &v, &got), 0);
        text = setting_value_to_string(&v);
        ck_assert_msg(streq(text, expected), "%s is %s, expected %s", name, text, expected);
        ck_assert_msg(got == source, "%s comes from %s, expected %s", name,
                      setting_source_to_string(got), setting_source_to_string(source));
}

START_TEST(test_layers) {
        _cleanup_(settings_freep) Settings *s = NULL;
        static const char *name = AV "maximumOnDemandScanThreads";

        ck_assert_int_eq(settings_new(&s), 0);
        assert_effective(s, name, "2", SETTING_SOURCE_DEFAULT);
        set_layer(s->local, name, "8");
        assert_effective(s, name, "8", SETTING_SOURCE_LOCAL);
        ck_assert_int_eq(settings_get_int(s, name), 8);
        ck_assert(!settings_is_managed(s, def_of(name)));
        set_layer(s->managed, name, "16");
        assert_effective(s, name, "16", SETTING_SOURCE_MANAGED);
        ck_assert_int_eq(settings_get_int(s, name), 16);
        ck_assert(settings_is_managed(s, def_of(name)));
        ck_assert_int_eq(settings_layer_unset(s->managed, def_of(name)), 1);
        ck_assert_int_eq(settings_layer_unset(s->managed, def_of(name)), 0);
        assert_effective(s, name, "8", SETTING_SOURCE_LOCAL);
        ck_assert_int_eq(settings_layer_unset(s->local, def_of(name)), 1);
        assert_effective(s, name, "2", SETTING_SOURCE_DEFAULT);

        /* Strings: a managed "" overrides a local proxy with "none". */
        set_layer(s->local, "cloudService.proxy", "\"http://p:3128/\"");
        ck_assert_str_eq(settings_get_string(s, "cloudService.proxy"), "http://p:3128/");
        set_layer(s->managed, "cloudService.proxy", "\"\"");
        ck_assert_ptr_null(settings_get_string(s, "cloudService.proxy"));
        assert_effective(s, "cloudService.proxy", "\"\"", SETTING_SOURCE_MANAGED);

        set_layer(s->local, "cloudService.enabled", "false");
        ck_assert(!settings_get_bool(s, "cloudService.enabled"));
}
END_TEST

#define EXCL(path) "{\"$type\": \"excludedPath\", \"path\": \"" path "\"}"

START_TEST(test_merge_exclusions) {
        _cleanup_(settings_freep) Settings *s = NULL;
        static const char *name = AV "exclusions";

        ck_assert_int_eq(settings_new(&s), 0);
        assert_effective(s, name, "[]", SETTING_SOURCE_DEFAULT);
        set_layer(s->local, name, "[" EXCL("/b") ", " EXCL("/c") "]");
        assert_effective(s, name, "[excludedPath \"/b\" (epp), excludedPath \"/c\" (epp)]",
                         SETTING_SOURCE_LOCAL);
        set_layer(s->managed, name, "[" EXCL("/a") ", " EXCL("/b") "]");
        assert_effective(s, name, "[excludedPath \"/a\" (epp), excludedPath \"/b\" (epp), "
                         "excludedPath \"/c\" (epp)]", SETTING_SOURCE_MERGED);
        ck_assert_int_eq(settings_check_local_change(s, def_of(name)), SETTINGS_CHANGE_ALLOWED);

        set_layer(s->managed, AV "exclusionsMergePolicy", "\"admin_only\"");
        assert_effective(s, name, "[excludedPath \"/a\" (epp), excludedPath \"/b\" (epp)]",
                         SETTING_SOURCE_MANAGED);
        ck_assert_int_eq(settings_check_local_change(s, def_of(name)), SETTINGS_E_ADMIN_ONLY);
        /* Either list's admin_only refuses every local exclusion, whatever list it goes to. */
        ck_assert_int_eq(settings_check_local_change(s, def_of("exclusionSettings.exclusions")),
                         SETTINGS_E_ADMIN_ONLY);

        /* admin_only with no managed list: the defaults, local items ignored. */
        ck_assert_int_eq(settings_layer_unset(s->managed, def_of(name)), 1);
        assert_effective(s, name, "[]", SETTING_SOURCE_DEFAULT);
        ck_assert_int_eq(settings_check_local_change(s, def_of(AV "exclusionsMergePolicy")),
                         SETTINGS_E_MANAGED);

        /* A local admin_only policy restricts local items too. */
        ck_assert_int_eq(settings_layer_unset(s->managed, def_of(AV "exclusionsMergePolicy")), 1);
        set_layer(s->local, AV "exclusionsMergePolicy", "\"admin_only\"");
        assert_effective(s, name, "[]", SETTING_SOURCE_DEFAULT);

        /* The newer section's admin_only: a local epp exclusion in the legacy list is ignored
         * and refused too (it would hide a sample the policy wants scanned). */
        ck_assert_int_eq(settings_layer_unset(s->local, def_of(AV "exclusionsMergePolicy")), 1);
        assert_effective(s, name, "[excludedPath \"/b\" (epp), excludedPath \"/c\" (epp)]",
                         SETTING_SOURCE_LOCAL);
        set_layer(s->managed, "exclusionSettings.mergePolicy", "\"admin_only\"");
        assert_effective(s, name, "[]", SETTING_SOURCE_DEFAULT);
        ck_assert_int_eq(settings_check_local_change(s, def_of(name)), SETTINGS_E_ADMIN_ONLY);
}
END_TEST

START_TEST(test_merge_threat_type_settings) {
        _cleanup_(settings_freep) Settings *s = NULL;
        static const char *name = AV "threatTypeSettings";

        ck_assert_int_eq(settings_new(&s), 0);
        assert_effective(s, name, "{\"potentially_unwanted_application\": \"audit\", "
                         "\"archive_bomb\": \"audit\"}", SETTING_SOURCE_DEFAULT);
        set_layer(s->local, name, "[{\"key\": \"archive_bomb\", \"value\": \"block\"}]");
        assert_effective(s, name, "{\"potentially_unwanted_application\": \"audit\", "
                         "\"archive_bomb\": \"block\"}", SETTING_SOURCE_LOCAL);
        set_layer(s->managed, name, "[{\"key\": \"potentially_unwanted_application\", "
                  "\"value\": \"off\"}]");
        assert_effective(s, name, "{\"potentially_unwanted_application\": \"off\", "
                         "\"archive_bomb\": \"block\"}", SETTING_SOURCE_MERGED);
        /* Managed wins per key. */
        set_layer(s->managed, name, "[{\"key\": \"archive_bomb\", \"value\": \"off\"}]");
        assert_effective(s, name, "{\"potentially_unwanted_application\": \"audit\", "
                         "\"archive_bomb\": \"off\"}", SETTING_SOURCE_MERGED);
        ck_assert_int_eq(settings_check_local_change(s, def_of(name)), SETTINGS_CHANGE_ALLOWED);

        set_layer(s->managed, AV "threatTypeSettingsMergePolicy", "\"admin_only\"");
        set_layer(s->managed, name, "[{\"key\": \"potentially_unwanted_application\", "
                  "\"value\": \"block\"}]");
        assert_effective(s, name, "{\"potentially_unwanted_application\": \"block\", "
                         "\"archive_bomb\": \"audit\"}", SETTING_SOURCE_MANAGED);
        ck_assert_int_eq(settings_check_local_change(s, def_of(name)), SETTINGS_E_ADMIN_ONLY);
}
END_TEST

START_TEST(test_check_local_change) {
        _cleanup_(settings_freep) Settings *s = NULL;

        ck_assert_int_eq(settings_new(&s), 0);
        for (size_t i = 0; i < setting_defs_count(); i++)
                ck_assert_int_eq(settings_check_local_change(s, setting_def_at(i)),
                                 SETTINGS_CHANGE_ALLOWED);
        set_layer(s->managed, "cloudService.enabled", "true");
        ck_assert_int_eq(settings_check_local_change(s, def_of("cloudService.enabled")),
                         SETTINGS_E_MANAGED);
        ck_assert_int_eq(settings_check_local_change(s, def_of("cloudService.diagnosticLevel")),
                         SETTINGS_CHANGE_ALLOWED);
        /* A list without merge policy is locked like a scalar. */
        set_layer(s->managed, AV "allowedThreats", "[]");
        ck_assert_int_eq(settings_check_local_change(s, def_of(AV "allowedThreats")),
                         SETTINGS_E_MANAGED);
        set_layer(s->managed, "exclusionSettings.exclusions", "[" EXCL("/srv") "]");
        ck_assert_int_eq(settings_check_local_change(s, def_of("exclusionSettings.exclusions")),
                         SETTINGS_CHANGE_ALLOWED);
        set_layer(s->managed, "exclusionSettings.mergePolicy", "\"admin_only\"");
        ck_assert_int_eq(settings_check_local_change(s, def_of("exclusionSettings.exclusions")),
                         SETTINGS_E_ADMIN_ONLY);
}
END_TEST

START_TEST(test_snapshot_changes) {
        _cleanup_(settings_snapshot_done) SettingsSnapshot before = {}, mid = {};
        _cleanup_(settings_freep) Settings *s = NULL;
        _cleanup_strv_free_ char **none = NULL, **one = NULL, **two = NULL;

        ck_assert_int_eq(settings_new(&s), 0);
        ck_assert_int_eq(settings_snapshot(s, &before), 0);
        ck_assert_uint_eq(before.n, setting_defs_count());

        /* Setting the default value locally changes nothing. */
        set_layer(s->local, AV "enforcementLevel", "\"real_time\"");
        ck_assert_int_eq(settings_changed_since(s, &before, &none), 0);
        ck_assert_ptr_nonnull(none);
        ck_assert_uint_eq(strv_length(none), 0);

        set_layer(s->local, AV "enforcementLevel", "\"passive\"");
        set_layer(s->local, AV "exclusions", "[" EXCL("/tmp/x") "]");
        ck_assert_int_eq(settings_snapshot(s, &mid), 0);
        ck_assert_int_eq(settings_changed_since(s, &before, &one), 0);
        ck_assert_uint_eq(strv_length(one), 2);
        ck_assert_str_eq(one[0], AV "enforcementLevel");
        ck_assert_str_eq(one[1], AV "exclusions");

        /* A managed merge policy hides the local list: both change. */
        set_layer(s->managed, AV "exclusionsMergePolicy", "\"admin_only\"");
        ck_assert_int_eq(settings_changed_since(s, &mid, &two), 0);
        ck_assert_uint_eq(strv_length(two), 2);
        ck_assert_str_eq(two[0], AV "exclusionsMergePolicy");
        ck_assert_str_eq(two[1], AV "exclusions");
}
END_TEST

/* ---- realistic files ---- */

/* One rule for null: the value of a key (setting, group, entry member) is "not set"; a list
 * element is refused, pointing at it. */
START_TEST(test_null_treatment) {
        static const char *const refused[] = {
                "{\"edr\": {\"tags\": [null]}}",
                "{\"antivirusEngine\": {\"allowedThreats\": [\"a\", null]}}",
                "{\"antivirusEngine\": {\"exclusions\": [null]}}",
                "{\"antivirusEngine\": {\"unmonitoredFilesystems\": [null]}}",
        };
        char **unknown = NULL;
        SettingsLayer *l;

        l = parse_ok("{\"antivirusEngine\": {\"enforcementLevel\": null, \"exclusions\": null}, "
                     "\"cloudService\": null, \"edr\": {\"tags\": [{\"key\": \"GROUP\", "
                     "\"value\": \"x\", \"note\": null}]}}", &unknown);
        ck_assert_ptr_null(settings_layer_get(l, def_of(AV "enforcementLevel")));
        ck_assert_ptr_null(settings_layer_get(l, def_of(AV "exclusions")));
        ck_assert_uint_eq(strv_length(unknown), 1);     /* an unknown key stays unknown */
        strv_free(unknown);
        settings_layer_free(l);

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                SettingsError e = SETTINGS_ERROR_INIT;

                l = NULL;
                ck_assert_int_eq(settings_layer_parse(refused[i], strlen(refused[i]), &l, &e, NULL),
                                 -EINVAL);
                ck_assert_msg(e.message && strstr(e.message, "null") && e.line == 1 &&
                              e.column > 1, "%s: %s at %u:%u", refused[i], e.message, e.line,
                              e.column);
                settings_error_done(&e);
        }
}
END_TEST

/* A look-alike group name (a Cyrillic i) drops the group: it is reported, not silently lost. */
START_TEST(test_lookalike_group_reported) {
        char **unknown = NULL;
        SettingsLayer *l;

        l = parse_ok("{\n  \"antivirusEng\xd1\x96ne\": {\"scanArchives\": false},\n"
                     "  \"cloudservice\": {\"enabled\": false}\n}", &unknown);
        ck_assert_ptr_null(settings_layer_get(l, def_of(AV "scanArchives")));
        ck_assert_uint_eq(strv_length(unknown), 2);
        ck_assert_str_eq(unknown[0], "antivirusEng\xd1\x96ne (line 2, column 22)");
        ck_assert_str_eq(unknown[1], "cloudservice (line 3, column 19)");
        strv_free(unknown);
        settings_layer_free(l);
}
END_TEST

START_TEST(test_realistic_managed_file) {
        _cleanup_(settings_freep) Settings *s = NULL;
        _cleanup_strv_free_ char **unknown = NULL;
        SettingsError e = SETTINGS_ERROR_INIT;
        const SettingValue *v;
        SettingsLayer *l = NULL;
        int r;

        r = settings_layer_load(UNIT_DATA_DIR "/mdatp_managed.json", &l, &e, &unknown);
        ck_assert_msg(r == 0, "%d: %s at %u:%u: %s", r, e.key, e.line, e.column, e.message);
        ck_assert_int_eq(settings_new(&s), 0);
        settings_layer_free(s->managed);
        s->managed = l;

        ck_assert_str_eq(settings_get_string(s, AV "enforcementLevel"), "real_time");
        ck_assert_int_eq(settings_get_int(s, AV "maximumOnDemandScanThreads"), 4);
        ck_assert_int_eq(settings_get_int(s, AV "scanResultsRetentionDays"), 30);
        ck_assert_int_eq(settings_get_int(s, AV "scanHistoryMaximumItems"), 12000);
        ck_assert(settings_get_bool(s, AV "offlineDefinitionUpdateFallbackToCloud"));
        ck_assert(!settings_get_bool(s, AV "scanArchives"));
        ck_assert_str_eq(settings_get_string(s, "cloudService.proxy"),
                         "http://proxy.example.internal:3128/");
        ck_assert_str_eq(settings_get_string(s, "features.supplementarySensorConfigurations."
                                             "enableFilePermissionEvents"), "enabled");
        ck_assert_str_eq(settings_get_string(s, "edr.groupIds"), "web-servers");
        /* Not in the file: defaults. */
        ck_assert_int_eq(settings_get_int(s, "logRotation.maxRotatedSizeMb"), 100);

        v = settings_layer_get(l, def_of(AV "exclusions"));
        ck_assert_uint_eq(v->exclusions.n, 3);
        ck_assert_str_eq(v->exclusions.items[1].value, "pdf");
        ck_assert_uint_eq(v->exclusions.items[2].scopes, EXCLUSION_SCOPE_EPP);
        v = settings_layer_get(l, def_of("exclusionSettings.exclusions"));
        ck_assert_uint_eq(v->exclusions.n, 3);
        ck_assert(v->exclusions.items[0].is_directory);
        ck_assert_uint_eq(v->exclusions.items[2].scopes, EXCLUSION_SCOPE_GLOBAL);

        assert_effective(s, AV "threatTypeSettings",
                         "{\"potentially_unwanted_application\": \"block\", "
                         "\"archive_bomb\": \"audit\"}", SETTING_SOURCE_MANAGED);
        ck_assert_int_eq(settings_check_local_change(s, def_of(AV "threatTypeSettings")),
                         SETTINGS_E_ADMIN_ONLY);
        /* exclusionSettings.mergePolicy admin_only refuses local exclusions in either list,
         * although antivirusEngine.exclusionsMergePolicy says merge. */
        ck_assert_int_eq(settings_check_local_change(s, def_of(AV "exclusions")),
                         SETTINGS_E_ADMIN_ONLY);
        ck_assert_int_eq(settings_check_local_change(s, def_of("cloudService.cloudBlockLevel")),
                         SETTINGS_E_MANAGED);
        ck_assert_int_eq(settings_check_local_change(s, def_of("edr.earlyPreview")),
                         SETTINGS_CHANGE_ALLOWED);

        /* The reference's pseudo-keys are comments: none is reported. */
        ck_assert_msg(strv_length(unknown) == 0, "unknown: %s", strv_join(unknown, ", "));
}
END_TEST

START_TEST(test_reference_sample_quirks) {
        /* The reference sample misspells "disabled" as "diabled": read as disabled. Its global
         * exclusion by bare name is refused with a message that says what to fix. */
        SettingsLayer *l = parse_ok("{\"features\": {\"supplementarySensorConfigurations\": {\n"
                                    "\t\t\"enablePseudofsCalls\":\"diabled\"}}}", NULL);
        const SettingValue *v = settings_layer_get(
                l, setting_def_find("features.supplementarySensorConfigurations.enablePseudofsCalls"));
        ck_assert_ptr_nonnull(v);
        ck_assert_str_eq(v->s, "disabled");
        settings_layer_free(l);
        parse_fails("{\"features\": {\"moduleLoad\": \"diasbled\"}}",
                    "features.moduleLoad", 1, 29, "'diasbled' is not one of: enabled, disabled");
        parse_fails("{\"exclusionSettings\": {\"exclusions\": [\n"
                    "\t{\"$type\": \"excludedFileName\", \"name\": \"cat\", "
                    "\"scopes\": [\"epp\", \"global\"]}]}}",
                    "exclusionSettings.exclusions", 2, 2,
                    "exclusion entry 1: a global process exclusion needs an absolute path "
                    "('cat')");
}
END_TEST

START_TEST(test_load_errors) {
        char dir[] = "/tmp/test-settings-XXXXXX";
        _cleanup_free_ char *file = NULL, *link = NULL, *big = NULL;
        SettingsError e = SETTINGS_ERROR_INIT;
        SettingsLayer *l = NULL;
        char *text;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_ge(asprintf(&file, "%s/mdatp_managed.json", dir), 0);
        ck_assert_int_ge(asprintf(&link, "%s/link.json", dir), 0);
        ck_assert_int_ge(asprintf(&big, "%s/big.json", dir), 0);

        ck_assert_int_eq(settings_layer_load(file, &l, &e, NULL), -ENOENT);
        ck_assert_int_eq(write_file_atomic(file, "{\"cloudService\": {\"enabled\": false}}", 36,
                                           0644), 0);
        ck_assert_int_eq(settings_layer_load(file, &l, &e, NULL), 0);
        ck_assert(!value_of(l, "cloudService.enabled")->b);
        l = settings_layer_free(l);

        ck_assert_int_eq(symlink(file, link), 0);
        ck_assert_int_eq(settings_layer_load(link, &l, &e, NULL), -ELOOP);

        text = malloc(1024 * 1024 + 2);
        memset(text, ' ', 1024 * 1024 + 2);
        text[0] = '{';
        text[1024 * 1024 + 1] = '}';
        ck_assert_int_eq(write_file_atomic(big, text, 1024 * 1024 + 2, 0644), 0);
        free(text);
        ck_assert_int_eq(settings_layer_load(big, &l, &e, NULL), -E2BIG);
        ck_assert_str_eq(e.message, "the file is larger than 1048576 bytes");
        ck_assert_ptr_null(l);
        settings_error_done(&e);

        (void) unlink(file);
        (void) unlink(link);
        (void) unlink(big);
        (void) rmdir(dir);
}
END_TEST

/* ---- misuse is a bug ---- */

START_TEST(test_get_wrong_type_aborts) {
        _cleanup_(settings_freep) Settings *s = NULL;

        ck_assert_int_eq(settings_new(&s), 0);
        (void) settings_get_bool(s, AV "maximumOnDemandScanThreads");
}
END_TEST

START_TEST(test_get_unknown_name_aborts) {
        _cleanup_(settings_freep) Settings *s = NULL;

        ck_assert_int_eq(settings_new(&s), 0);
        (void) settings_get_string(s, AV "noSuchSetting");
}
END_TEST

/* The exclusion journal: lines replay onto the local layer; a torn last line, a garbage line
 * and what follows it are ignored; a journal of another base is stale. */
START_TEST(test_journal) {
        const SettingDef *epp = setting_def_find("antivirusEngine.exclusions");
        const SettingDef *global = setting_def_find("exclusionSettings.exclusions");
        SettingExclusion a = { .type = (char *) "excludedPath", .value = (char *) "/srv/a",
                               .is_directory = true, .scopes = EXCLUSION_SCOPE_EPP };
        SettingExclusion b = { .type = (char *) "excludedFileExtension",
                               .value = (char *) "pdf", .scopes = EXCLUSION_SCOPE_EPP };
        SettingExclusion g = { .type = (char *) "excludedPath", .value = (char *) "/srv/\"q\"",
                               .scopes = EXCLUSION_SCOPE_GLOBAL };
        _cleanup_free_ char *header = NULL, *la = NULL, *lb = NULL, *lg = NULL, *text = NULL;
        size_t hn, an, bn, gn, valid, full;
        const SettingValue *v;
        Settings *s = NULL;

        ck_assert_int_eq(settings_journal_header(42, &header, &hn), 0);
        ck_assert_int_eq(settings_journal_line(epp, &a, &la, &an), 0);
        ck_assert_int_eq(settings_journal_line(epp, &b, &lb, &bn), 0);
        ck_assert_int_eq(settings_journal_line(global, &g, &lg, &gn), 0);
        ck_assert_int_eq(la[an - 1], '\n');
        ck_assert_ptr_null(memchr(la, '\n', an - 1));
        ck_assert_int_ge(asprintf(&text, "%s%s%s%s", header, la, lg, lb), 0);
        full = hn + an + gn + bn;

        /* Whole: three entries, two lists. */
        ck_assert_int_eq(settings_new(&s), 0);
        ck_assert_int_eq(settings_journal_replay(s, text, full, 42, &valid), 3);
        ck_assert_uint_eq(valid, full);
        v = settings_layer_get(s->local, epp);
        ck_assert_uint_eq(v->exclusions.n, 2);
        ck_assert_str_eq(v->exclusions.items[1].value, "pdf");
        v = settings_layer_get(s->local, global);
        ck_assert_str_eq(v->exclusions.items[0].value, "/srv/\"q\"");
        s = settings_free(s);

        /* The last line cut short anywhere, even just before its newline: the first two. */
        for (size_t cut = full - bn; cut < full; cut++) {
                ck_assert_int_eq(settings_new(&s), 0);
                ck_assert_int_eq(settings_journal_replay(s, text, cut, 42, &valid), 2);
                ck_assert_uint_eq(valid, full - bn);
                ck_assert_uint_eq(settings_layer_get(s->local, epp)->exclusions.n, 1);
                s = settings_free(s);
        }

        /* Garbage where the second line was: nothing from there on. */
        memset(text + hn + an, 'x', 10);
        ck_assert_int_eq(settings_new(&s), 0);
        ck_assert_int_eq(settings_journal_replay(s, text, full, 42, &valid), 1);
        ck_assert_uint_eq(valid, hn + an);
        s = settings_free(s);

        /* Another base, no header, a header cut short. */
        ck_assert_int_eq(settings_new(&s), 0);
        ck_assert_int_eq(settings_journal_replay(s, text, full, 43, &valid), -ESTALE);
        ck_assert_int_eq(settings_journal_replay(s, la, an, 42, &valid), -EBADMSG);
        ck_assert_int_eq(settings_journal_replay(s, header, hn - 1, 42, &valid), -EBADMSG);
        ck_assert_ptr_null(settings_layer_get(s->local, epp));
        s = settings_free(s);

        /* A line never shorter than what its entry adds to a file. */
        ck_assert_uint_gt(an, strlen("{\"$type\":\"excludedPath\",\"path\":\"/srv/a\"}"));
        ck_assert_uint_ne(settings_text_hash("a", 1), settings_text_hash("b", 1));
}
END_TEST

static Suite *settings_suite(void) {
        Suite *s = suite_create("settings");
        TCase *tc = tcase_create("core");
        const char *fork = getenv("CK_FORK");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_schema);
        tcase_add_test(tc, test_journal);
        tcase_add_test(tc, test_bool);
        tcase_add_test(tc, test_int_boundaries);
        tcase_add_test(tc, test_int_numeric_strings);
        tcase_add_test(tc, test_enums);
        tcase_add_test(tc, test_proxy_url);
        tcase_add_test(tc, test_url_or_path);
        tcase_add_test(tc, test_text);
        tcase_add_test(tc, test_string_lists);
        tcase_add_test(tc, test_pair_lists);
        tcase_add_test(tc, test_exclusions_accepted);
        tcase_add_test(tc, test_exclusions_rejected);
        tcase_add_test(tc, test_exclusion_values_over_dbus);
        tcase_add_test(tc, test_legacy_keys);
        tcase_add_test(tc, test_misspelt_alias);
        tcase_add_test(tc, test_unknown_keys);
        tcase_add_test(tc, test_null_treatment);
        tcase_add_test(tc, test_lookalike_group_reported);
        tcase_add_test(tc, test_structure_errors);
        tcase_add_test(tc, test_null_is_unset);
        tcase_add_test(tc, test_round_trip_every_key);
        tcase_add_test(tc, test_round_trip_legacy_document);
        tcase_add_test(tc, test_value_to_string);
        tcase_add_test(tc, test_layers);
        tcase_add_test(tc, test_merge_exclusions);
        tcase_add_test(tc, test_merge_threat_type_settings);
        tcase_add_test(tc, test_check_local_change);
        tcase_add_test(tc, test_snapshot_changes);
        tcase_add_test(tc, test_realistic_managed_file);
        tcase_add_test(tc, test_reference_sample_quirks);
        tcase_add_test(tc, test_load_errors);
        /* abort() would end a no-fork run (valgrind): only where each test has its process. */
        if (!fork || !streq(fork, "no")) {
                tcase_add_test_raise_signal(tc, test_get_wrong_type_aborts, SIGABRT);
                tcase_add_test_raise_signal(tc, test_get_unknown_name_aborts, SIGABRT);
        }
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(settings_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
