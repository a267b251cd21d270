/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the mdatp client's pure parts: formatting, typed values and their D-Bus
 * marshalling, the health field table (checked against dbus/com.microsoft.Mdatp1.Health.xml),
 * rendering, argument parsing and dispatch, the config conversions and the enforcement-level
 * toggles, and the mapping of bus errors to messages. No bus is needed: messages are built on an
 * unconnected sd_bus object and sealed.
 *
 * Run with TZ=UTC (meson sets it) so that dates are predictable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <check.h>
#include <systemd/sd-bus.h>

#include "args.h"
#include "bus.h"
#include "config-verbs.h"
#include "format.h"
#include "health.h"
#include "mdatp-bus.h"
#include "report.h"
#include "util/macro.h"
#include "util/strv.h"
#include "value.h"

/* The text of v, for comparisons; aborts the test on failure. */
static char *text_of(const CliValue *v) {
        char *s = NULL;

        ck_assert_int_eq(cli_value_to_text(v, &s), 0);
        return s;
}

/* ---- format ---- */

START_TEST(test_format_timestamp) {
        char buf[FORMAT_TIMESTAMP_MAX];

        ck_assert_int_eq(format_timestamp(UINT64_C(1795438923) * 1000000, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "Nov 23, 2026 at 01:02:03 PM");
        ck_assert_int_eq(format_timestamp(UINT64_C(1767571209) * 1000000 + 999999, buf,
                                          sizeof(buf)), 0);
        ck_assert_str_eq(buf, "Jan 05, 2026 at 12:00:09 AM");
        ck_assert_int_eq(format_timestamp(0, buf, 4), -ENOBUFS);
}
END_TEST

START_TEST(test_format_epoch_ms_and_minutes) {
        char buf[FORMAT_EPOCH_MS_MAX];

        ck_assert_str_eq(format_epoch_ms(UINT64_C(1690000000000999), buf), "1690000000000");
        ck_assert_str_eq(format_epoch_ms(UINT64_MAX, buf), "18446744073709551");
        ck_assert_int_eq(format_minutes_between(0, 125 * 1000000), 2);
        ck_assert_int_eq(format_minutes_between(10, 5), 0);
        ck_assert_int_eq(format_minutes_between(5, 5), 0);
}
END_TEST

START_TEST(test_format_snake_to_camel) {
        static const struct { const char *in, *out; } cases[] = {
                { "up_to_date", "upToDate" },
                { "updating", "updating" },
                { "", "" },
                { "_x", "x" },
                { "a__b", "aB" },
                { "trailing_", "trailing" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = NULL;

                ck_assert_int_eq(format_snake_to_camel(cases[i].in, &s), 0);
                ck_assert_str_eq(s, cases[i].out);
        }
}
END_TEST

START_TEST(test_format_json_quote) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        ck_assert_int_eq(format_json_quote("a\"b\\c", &a), 0);
        ck_assert_str_eq(a, "\"a\\\"b\\\\c\"");
        /* Paths stay readable: yajl does not escape '/' unless asked. */
        ck_assert_int_eq(format_json_quote("/var/log", &b), 0);
        ck_assert_str_eq(b, "\"/var/log\"");
        ck_assert_int_eq(format_json_quote("x\ny\t", &c), 0);
        ck_assert_str_eq(c, "\"x\\ny\\t\"");
}
END_TEST

/* ---- values ---- */

START_TEST(test_value_text) {
        _cleanup_(cli_value_done) CliValue s = CLI_VALUE_INIT, l = CLI_VALUE_INIT,
                empty = CLI_VALUE_INIT, pairs = CLI_VALUE_INIT;
        CliValue v;
        char *t;

        v = cli_value_bool(true);
        t = text_of(&v);
        ck_assert_str_eq(t, "true");
        free(t);

        v = cli_value_int(-12);
        t = text_of(&v);
        ck_assert_str_eq(t, "-12");
        free(t);

        v = (CliValue) { .type = CLI_VALUE_UINT64, .u = UINT64_MAX };
        t = text_of(&v);
        ck_assert_str_eq(t, "18446744073709551615");
        free(t);

        v = (CliValue) {};
        t = text_of(&v);
        ck_assert_str_eq(t, "unavailable");
        free(t);

        ck_assert_int_eq(cli_value_new_string("1.2.3", &s), 0);
        t = text_of(&s);
        ck_assert_str_eq(t, "\"1.2.3\"");
        free(t);

        ck_assert_int_eq(cli_value_new_strv((char *[]) { (char *) "a", (char *) "b c", NULL }, &l),
                         0);
        t = text_of(&l);
        ck_assert_str_eq(t, "[\"a\",\"b c\"]");
        free(t);

        ck_assert_int_eq(cli_value_new_strv(NULL, &empty), 0);
        t = text_of(&empty);
        ck_assert_str_eq(t, "[]");
        free(t);

        pairs = (CliValue) {
                .type = CLI_VALUE_PAIRS,
                .strv = strv_copy((char *[]) { (char *) "GROUP", (char *) "x", NULL }),
        };
        ck_assert_ptr_nonnull(pairs.strv);
        t = text_of(&pairs);
        ck_assert_str_eq(t, "[{\"key\":\"GROUP\",\"value\":\"x\"}]");
        free(t);
        ck_assert_uint_eq(cli_value_pairs_count(&pairs), 1);
        ck_assert_str_eq(cli_value_pairs_get(&pairs, "GROUP"), "x");
        ck_assert_ptr_null(cli_value_pairs_get(&pairs, "OTHER"));
}
END_TEST

START_TEST(test_value_from_text) {
        static const char * const bad_ints[] = {
                "", " 1", "1 ", "1x", "0x10", "2147483648", "-2147483649", "abc",
        };
        CliValue v = CLI_VALUE_INIT;
        char *t;

        ck_assert_int_eq(cli_value_from_text("b", "enabled", &v), 0);
        ck_assert(v.type == CLI_VALUE_BOOL && v.b);
        ck_assert_int_eq(cli_value_from_text("b", "false", &v), 0);
        ck_assert(v.type == CLI_VALUE_BOOL && !v.b);
        ck_assert_int_eq(cli_value_from_text("b", "Enabled", &v), -EINVAL);
        ck_assert_int_eq(cli_value_from_text("b", "1", &v), -EINVAL);

        ck_assert_int_eq(cli_value_from_text("i", "-42", &v), 0);
        ck_assert(v.type == CLI_VALUE_INT && v.i == -42);
        ck_assert_int_eq(cli_value_from_text("i", "2147483647", &v), 0);
        ck_assert(v.i == INT32_MAX);
        for (size_t i = 0; i < ELEMENTSOF(bad_ints); i++)
                ck_assert_int_eq(cli_value_from_text("i", bad_ints[i], &v), -EINVAL);

        ck_assert_int_eq(cli_value_from_text("s", "", &v), 0);
        ck_assert(v.type == CLI_VALUE_STRING && v.s[0] == 0);
        cli_value_done(&v);

        ck_assert_int_eq(cli_value_from_text("as", "nfs,fuse", &v), 0);
        t = text_of(&v);
        ck_assert_str_eq(t, "[\"nfs\",\"fuse\"]");
        free(t);
        cli_value_done(&v);

        ck_assert_int_eq(cli_value_from_text("as", "", &v), 0);
        ck_assert(v.type == CLI_VALUE_STRV);
        t = text_of(&v);
        ck_assert_str_eq(t, "[]");
        free(t);
        cli_value_done(&v);

        ck_assert_int_eq(cli_value_from_text("a(ss)", "archive_bomb=block,x=", &v), 0);
        ck_assert_uint_eq(cli_value_pairs_count(&v), 2);
        ck_assert_str_eq(cli_value_pairs_get(&v, "archive_bomb"), "block");
        ck_assert_str_eq(cli_value_pairs_get(&v, "x"), "");
        cli_value_done(&v);
        ck_assert_int_eq(cli_value_from_text("a(ss)", "novalue", &v), -EINVAL);
        ck_assert_int_eq(cli_value_from_text("a(ss)", "=v", &v), -EINVAL);

        ck_assert_int_eq(cli_value_from_text("a(ssbas)", "x", &v), -EOPNOTSUPP);
        ck_assert_ptr_null(cli_value_text_expected("a(ssbas)"));
        ck_assert_ptr_nonnull(cli_value_text_expected("b"));
}
END_TEST

/* The peer end of the socketpair that test buses are "connected" to; never read. */
static int peer_fd = -EBADF;

/* A method call on a bus over a socketpair that never authenticates: sd-bus only builds
 * messages on a started bus, and marshalling and reading back needs nothing more. */
static sd_bus_message *new_message(sd_bus **ret_bus) {
        sd_bus_message *m = NULL;
        int fds[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        peer_fd = fds[1];
        ck_assert_int_ge(sd_bus_new(ret_bus), 0);
        ck_assert_int_ge(sd_bus_set_fd(*ret_bus, fds[0], fds[0]), 0);
        ck_assert_int_ge(sd_bus_start(*ret_bus), 0);
        ck_assert_int_ge(sd_bus_message_new_method_call(*ret_bus, &m, MDATP_BUS_NAME,
                                                        MDATP_OBJECT_ROOT, MDATP_IFACE_SETTINGS,
                                                        "Set"), 0);
        return m;
}

static void seal(sd_bus_message *m) {
        ck_assert_int_ge(sd_bus_message_seal(m, 1, 0), 0);
        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
}

START_TEST(test_value_variant_roundtrip) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(cli_value_done) CliValue excl = { .type = CLI_VALUE_EXCLUSIONS };
        CliValue values[7] = {};
        CliExclusion items[2] = {
                { .type = (char *) "excludedPath", .value = (char *) "/var/log",
                  .is_directory = true, .scopes = (char *[]) { (char *) "epp", NULL } },
                { .type = (char *) "excludedFileName", .value = (char *) "cat" },
        };
        const CliValue borrowed = { .type = CLI_VALUE_EXCLUSIONS,
                                    .exclusions = { .items = items, .n = 2 } };
        static const char * const expected[] = {
                "true",
                "64",
                "1690000000000000",
                "\"real_time\"",
                "[\"nfs\"]",
                "[{\"key\":\"GROUP\",\"value\":\"x\"}]",
                "[{\"$type\":\"excludedPath\",\"path\":\"/var/log\",\"isDirectory\":true,"
                "\"scopes\":[\"epp\"]},{\"$type\":\"excludedFileName\",\"name\":\"cat\","
                "\"scopes\":[]}]",
        };

        /* A deep copy, so that freeing it proves cli_value_copy() owns everything. */
        ck_assert_int_eq(cli_value_copy(&borrowed, &excl), 0);

        values[0] = cli_value_bool(true);
        values[1] = cli_value_int(64);
        values[2] = (CliValue) { .type = CLI_VALUE_UINT64, .u = UINT64_C(1690000000000000) };
        ck_assert_int_eq(cli_value_new_string("real_time", &values[3]), 0);
        ck_assert_int_eq(cli_value_from_text("as", "nfs", &values[4]), 0);
        ck_assert_int_eq(cli_value_from_text("a(ss)", "GROUP=x", &values[5]), 0);
        values[6] = excl;

        m = new_message(&bus);
        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                ck_assert_int_ge(cli_value_append_variant(m, &values[i]), 0);
        seal(m);

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
                char *t;

                ck_assert_int_eq(cli_value_read_variant(m, &v), 0);
                ck_assert_str_eq(cli_value_signature(&v), cli_value_signature(&values[i]));
                t = text_of(&v);
                ck_assert_str_eq(t, expected[i]);
                free(t);
        }
        ck_assert_int_eq(cli_value_read_variant(m, &values[0]), -ENXIO);

        for (size_t i = 0; i < 6; i++)
                cli_value_done(&values[i]);

        /* Nothing to send for a missing value; int32 is the setting type. */
        ck_assert_int_eq(cli_value_append_variant(m, &(CliValue) {}), -EINVAL);
        ck_assert_int_eq(cli_value_append_variant(m, &(CliValue) { .type = CLI_VALUE_INT,
                                                                    .i = INT64_C(1) << 40 }),
                         -EINVAL);
}
END_TEST

START_TEST(test_value_unknown_signature_skipped) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT, after = CLI_VALUE_INIT;

        m = new_message(&bus);
        ck_assert_int_ge(sd_bus_message_append(m, "v", "a{sd}", 1, "x", 1.5), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "v", "s", "next"), 0);
        seal(m);

        ck_assert_int_eq(cli_value_read_variant(m, &v), 0);
        ck_assert_int_eq(v.type, CLI_VALUE_NULL);
        ck_assert_int_eq(cli_value_read_variant(m, &after), 0);
        ck_assert_str_eq(after.s, "next");
}
END_TEST

START_TEST(test_value_lists) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(cli_value_list_done) CliValueList props = CLI_VALUE_LIST_INIT;
        _cleanup_(cli_value_list_done) CliValueList settings = CLI_VALUE_LIST_INIT;
        const CliNamedValue *nv;

        m = new_message(&bus);
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2,
                                               "Healthy", "b", 1,
                                               "HealthIssues", "as", 1, "no definitions"), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "a(svbs)", 2,
                                               "cloudService.enabled", "b", 0, 1, "managed",
                                               "edr.tags", "a(ss)", 1, "GROUP", "lab", 0,
                                               "local"), 0);
        seal(m);

        ck_assert_int_eq(cli_value_list_read_properties(m, &props), 0);
        ck_assert_uint_eq(props.n, 2);
        nv = cli_value_list_find(&props, "Healthy");
        ck_assert_ptr_nonnull(nv);
        ck_assert(nv->value.type == CLI_VALUE_BOOL && nv->value.b);
        ck_assert_ptr_null(cli_value_list_find(&props, "Licensed"));

        ck_assert_int_eq(cli_value_list_read_settings(m, &settings), 0);
        ck_assert_uint_eq(settings.n, 2);
        nv = cli_value_list_find(&settings, "cloudService.enabled");
        ck_assert(nv && nv->managed && nv->value.type == CLI_VALUE_BOOL && !nv->value.b);
        ck_assert_str_eq(nv->source, "managed");
        nv = cli_value_list_find(&settings, "edr.tags");
        ck_assert(nv && !nv->managed);
        ck_assert_str_eq(cli_value_pairs_get(&nv->value, "GROUP"), "lab");
}
END_TEST

/* ---- health table ---- */

/* The default view, in the reference order, as the CLI contract lists it. */
static const char * const default_view_expected[] = {
        "healthy", "health_issues", "licensed", "engine_version", "engine_load_status",
        "app_version", "org_id", "log_level", "machine_guid", "release_ring",
        "product_expiration", "cloud_enabled", "cloud_automatic_sample_submission_consent",
        "cloud_diagnostic_enabled", "passive_mode_enabled", "behavior_monitoring",
        "real_time_protection_enabled", "real_time_protection_available",
        "real_time_protection_subsystem", "supplementary_events_subsystem", "tamper_protection",
        "automatic_definition_update_enabled", "definitions_updated",
        "definitions_updated_minutes_ago", "definitions_version", "definitions_status",
        "edr_early_preview_enabled", "edr_device_tags", "edr_group_ids",
        "edr_configuration_version", "edr_machine_id", "conflicting_applications",
        "network_protection_status", "network_protection_enforcement_level",
        "troubleshooting_mode",
};

START_TEST(test_health_table_consistent) {
        for (size_t i = 0; i < health_fields_count; i++) {
                const HealthField *f = &health_fields[i];
                _cleanup_free_ char *camel = NULL;

                /* Keys are unique, and each JSON key is the camelCase of its text key. */
                for (size_t j = i + 1; j < health_fields_count; j++) {
                        ck_assert_str_ne(f->text_key, health_fields[j].text_key);
                        ck_assert_str_ne(f->json_key, health_fields[j].json_key);
                }
                ck_assert_int_eq(format_snake_to_camel(f->text_key, &camel), 0);
                ck_assert_msg(streq(camel, f->json_key), "%s vs %s", f->text_key, f->json_key);

                ck_assert_int_lt(strlen(f->text_key), 44);
                ck_assert(f->source >= 0 && f->source < _HEALTH_SOURCE_MAX);
                ck_assert(f->kind >= 0 && f->kind < _HEALTH_KIND_MAX);
                if (f->source != HEALTH_SOURCE_UNAVAILABLE)
                        ck_assert_ptr_nonnull(f->source_name);
                /* Only settings carry a managed flag; hidden fields are JSON-only settings. */
                if (f->managed_by || f->hidden)
                        ck_assert(f->setting);
                if (f->source == HEALTH_SOURCE_SETTING)
                        ck_assert_str_eq(f->managed_by, f->source_name);
                ck_assert_ptr_eq(health_field_find(f->text_key), f);
                ck_assert_ptr_eq(health_field_find(f->json_key), f);
        }
        ck_assert_ptr_null(health_field_find("nope"));
}
END_TEST

START_TEST(test_health_views) {
        const char * const *keys;
        size_t n = 0;

        for (HealthView v = 0; v < _HEALTH_VIEW_MAX; v++) {
                keys = health_view_keys(v);
                ck_assert_ptr_nonnull(keys);
                ck_assert_ptr_nonnull(health_view_description(v));
                for (const char * const *k = keys; *k; k++) {
                        ck_assert_msg(health_field_find(*k), "view %d names unknown '%s'", v, *k);
                        for (const char * const *j = k + 1; *j; j++)
                                ck_assert_str_ne(*k, *j);
                }
                if (v != HEALTH_VIEW_DEFAULT)
                        ck_assert_int_eq(health_view_from_string(health_view_to_string(v)), v);
        }
        ck_assert_int_eq(health_view_from_string("help"), _HEALTH_VIEW_INVALID);
        ck_assert_int_eq(health_view_from_string("default"), _HEALTH_VIEW_INVALID);

        /* The visible part of the default view is exactly the contract's list, in order. */
        keys = health_view_keys(HEALTH_VIEW_DEFAULT);
        for (const char * const *k = keys; *k; k++) {
                if (health_field_find(*k)->hidden)
                        continue;
                ck_assert_uint_lt(n, ELEMENTSOF(default_view_expected));
                ck_assert_str_eq(*k, default_view_expected[n]);
                n++;
        }
        ck_assert_uint_eq(n, ELEMENTSOF(default_view_expected));

        /* Every field is shown by some view. */
        for (size_t i = 0; i < health_fields_count; i++) {
                bool found = false;

                for (HealthView v = 0; v < _HEALTH_VIEW_MAX && !found; v++)
                        for (const char * const *k = health_view_keys(v); *k && !found; k++)
                                found = streq(*k, health_fields[i].text_key);
                ck_assert_msg(found, "'%s' is in no view", health_fields[i].text_key);
        }
}
END_TEST

/* The D-Bus signatures a kind accepts from a Health property. */
static bool kind_accepts(HealthKind k, const char *sig) {
        switch (k) {
        case HEALTH_KIND_BOOL:
                return streq(sig, "b");
        case HEALTH_KIND_INT:
                return strchr("iuxtnqy", sig[0]) && sig[1] == 0;
        case HEALTH_KIND_STRING:
        case HEALTH_KIND_ENUM_TAG:
                return streq(sig, "s");
        case HEALTH_KIND_STRING_LIST:
                return streq(sig, "as");
        case HEALTH_KIND_DATE:
                return streq(sig, "t");
        case HEALTH_KIND_PAIR_LIST:
                return streq(sig, "a(ss)");
        default:
                return false;
        }
}

/* Properties the table reads before the contract offers them (unavailable until then); none at
 * the moment. */
static const char * const future_properties[] = {
        NULL
};

START_TEST(test_health_table_matches_xml) {
        _cleanup_free_ char *path = NULL, *xml = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        const char *dir = getenv("MDATP_DBUS_DIR");
        size_t size = 0;

        ck_assert_msg(dir, "MDATP_DBUS_DIR is not set");
        ck_assert_int_ge(asprintf(&path, "%s/com.microsoft.Mdatp1.Health.xml", dir), 0);
        f = fopen(path, "re");
        ck_assert_msg(f, "cannot open %s", path);
        ck_assert_int_ge(getdelim(&xml, &size, 0, f), 0);

        for (size_t i = 0; i < health_fields_count; i++) {
                const HealthField *field = &health_fields[i];
                _cleanup_free_ char *needle = NULL;
                char sig[32] = {};
                const char *p;

                if (field->source != HEALTH_SOURCE_PROPERTY &&
                    field->source != HEALTH_SOURCE_MINUTES_AGO)
                        continue;
                ck_assert_int_ge(asprintf(&needle, "<property name=\"%s\" type=\"",
                                          field->source_name), 0);
                p = strstr(xml, needle);
                if (!p) {
                        ck_assert_msg(args_lookup(future_properties, field->source_name) >= 0,
                                      "property %s is not in the XML", field->source_name);
                        continue;
                }
                ck_assert_int_eq(sscanf(p + strlen(needle), "%31[^\"]", sig), 1);
                if (field->source == HEALTH_SOURCE_MINUTES_AGO)
                        ck_assert_str_eq(sig, "t");
                else
                        ck_assert_msg(kind_accepts(field->kind, sig), "%s has type %s",
                                      field->source_name, sig);
        }
}
END_TEST

/* A daemon's answer for the rendering tests. */
typedef struct Fixture {
        CliValueList properties, settings;
        HealthData data;
} Fixture;

static void fixture_add(CliValueList *l, const char *name, CliValue v, bool managed) {
        CliNamedValue *item;

        ck_assert_int_eq(cli_value_list_add(l, name, &item), 0);
        item->value = v;
        item->managed = managed;
}

static CliValue str(const char *s) {
        CliValue v;

        ck_assert_int_eq(cli_value_new_string(s, &v), 0);
        return v;
}

static void fixture_init(Fixture *fx) {
        const uint64_t now = UINT64_C(1795438923) * 1000000;
        CliValue v;

        *fx = (Fixture) {};
        fixture_add(&fx->properties, "Healthy", cli_value_bool(true), false);
        ck_assert_int_eq(cli_value_new_strv(NULL, &v), 0);
        fixture_add(&fx->properties, "HealthIssues", v, false);
        fixture_add(&fx->properties, "AppVersion", str("0.1.0"), false);
        fixture_add(&fx->properties, "OrgId", str(""), false);
        fixture_add(&fx->properties, "ProductExpiration", (CliValue) { .type = CLI_VALUE_UINT64 },
                    false);
        fixture_add(&fx->properties, "CloudEnabled", cli_value_bool(true), false);
        fixture_add(&fx->properties, "DefinitionsUpdated",
                    (CliValue) { .type = CLI_VALUE_UINT64, .u = now - 5 * 60 * 1000000 - 7 },
                    false);
        fixture_add(&fx->properties, "DefinitionsStatus", str("up_to_date"), false);
        fixture_add(&fx->properties, "EdrGroupIds", str(""), false);
        ck_assert_int_eq(cli_value_from_text("a(ss)", "GROUP=lab", &v), 0);
        fixture_add(&fx->properties, "EdrDeviceTags", v, false);
        fixture_add(&fx->properties, "Proxy", str(""), false);
        fixture_add(&fx->properties, "TamperProtection", str("disabled"), false);

        fixture_add(&fx->settings, "cloudService.enabled", cli_value_bool(true), true);
        fixture_add(&fx->settings, "edr.tags", (CliValue) { .type = CLI_VALUE_PAIRS }, false);
        fixture_add(&fx->settings, "antivirusEngine.enforcementLevel", str("real_time"), true);
        fixture_add(&fx->settings, "antivirusEngine.maximumOnDemandScanThreads",
                    cli_value_int(2), false);
        ck_assert_int_eq(cli_value_from_text("as", "nfs,fuse", &v), 0);
        fixture_add(&fx->settings, "antivirusEngine.unmonitoredFilesystems", v, false);
        fixture_add(&fx->settings, "antivirusEngine.offlineDefinitionUpdateUrl", str(""), false);

        fx->data = (HealthData) {
                .properties = &fx->properties,
                .settings = &fx->settings,
                .now_usec = now,
        };
}

static void fixture_done(Fixture *fx) {
        cli_value_list_done(&fx->properties);
        cli_value_list_done(&fx->settings);
}

/* The text line of a field in the fixture. */
static char *line_of(const Fixture *fx, const char *key) {
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        const HealthField *f = health_field_find(key);
        char *line = NULL;
        bool managed;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(health_field_resolve(f, &fx->data, &v, &managed), 0);
        ck_assert_int_eq(health_field_format_line(f, &v, managed, &line), 0);
        return line;
}

START_TEST(test_health_text_lines) {
        static const struct { const char *key, *line; } cases[] = {
                { "healthy", "healthy                                     : true" },
                { "health_issues", "health_issues                               : []" },
                { "app_version", "app_version                                 : \"0.1.0\"" },
                { "org_id", "org_id                                      : unavailable" },
                { "licensed", "licensed                                    : unavailable" },
                { "product_expiration",
                  "product_expiration                          : unavailable" },
                { "cloud_enabled",
                  "cloud_enabled                               : true [managed]" },
                { "definitions_updated",
                  "definitions_updated                         : Nov 23, 2026 at 12:57:02 PM" },
                { "definitions_updated_minutes_ago",
                  "definitions_updated_minutes_ago             : 5" },
                { "definitions_status",
                  "definitions_status                          : \"up_to_date\"" },
                { "edr_group_ids", "edr_group_ids                               : \"\"" },
                { "edr_device_tags",
                  "edr_device_tags                             : "
                  "[{\"key\":\"GROUP\",\"value\":\"lab\"}]" },
                { "passive_mode_enabled",
                  "passive_mode_enabled                        : unavailable [managed]" },
                { "enforcement_level",
                  "enforcement_level                           : \"real_time\" [managed]" },
                { "maximum_on_demand_scan_threads",
                  "maximum_on_demand_scan_threads              : 2" },
                { "unmonitored_filesystems",
                  "unmonitored_filesystems                     : [\"nfs\",\"fuse\"]" },
                { "offline_definition_url_configured",
                  "offline_definition_url_configured           : unavailable" },
                { "offline_definition_update_verify_sig",
                  "offline_definition_update_verify_sig        : \"DEPRECATED\"" },
                { "last_on_demand_scan_start_time",
                  "last_on_demand_scan_start_time              : unavailable" },
                { "edr_sense_guid", "edr_sense_guid                              : unavailable" },
        };
        Fixture fx;

        fixture_init(&fx);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *line = line_of(&fx, cases[i].key);

                ck_assert_str_eq(line, cases[i].line);
                /* The colon sits in column 45. */
                ck_assert_int_eq(line[44], ':');
        }
        fixture_done(&fx);
}
END_TEST

START_TEST(test_health_field_text) {
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        _cleanup_free_ char *t = NULL;
        const HealthField *f = health_field_find("cloud_enabled");
        bool managed;
        Fixture fx;

        /* --field prints the value alone: no [managed]. */
        fixture_init(&fx);
        ck_assert_int_eq(health_field_resolve(f, &fx.data, &v, &managed), 0);
        ck_assert(managed);
        ck_assert_int_eq(health_field_format_text(f, &v, &t), 0);
        ck_assert_str_eq(t, "true");
        fixture_done(&fx);
}
END_TEST

START_TEST(test_health_render) {
        _cleanup_free_ char *text = NULL, *json = NULL, *edr = NULL;
        size_t lines = 0;
        Fixture fx;

        fixture_init(&fx);
        ck_assert_int_eq(health_render_text(HEALTH_VIEW_DEFAULT, &fx.data, &text), 0);
        for (const char *p = text; *p; p++)
                lines += *p == '\n';
        /* Every visible field once, hidden ones (proxy) not at all. */
        ck_assert_uint_eq(lines, ELEMENTSOF(default_view_expected));
        ck_assert_ptr_null(strstr(text, "proxy"));
        ck_assert(strneq(text, "healthy ", 8));

        ck_assert_int_eq(health_render_json(HEALTH_VIEW_DEFAULT, &fx.data, &json), 0);
        ck_assert(strneq(json, "{\"$type\":\"getHealthAllResult\",\"healthy\":true,", 44));
        ck_assert_ptr_nonnull(strstr(json, "\"cloudEnabled\":{\"displayValue\":true,"
                                           "\"isManaged\":true,\"value\":true}"));
        ck_assert_ptr_nonnull(strstr(json, "\"definitionsStatus\":{\"$type\":\"upToDate\"}"));
        ck_assert_ptr_nonnull(strstr(json, "\"definitionsUpdated\":\"1795438622999\""));
        ck_assert_ptr_nonnull(strstr(json, "\"definitionsUpdatedMinutesAgo\":5,"));
        ck_assert_ptr_nonnull(strstr(json, "\"orgId\":null"));
        ck_assert_ptr_nonnull(strstr(json, "\"productExpiration\":null"));
        ck_assert_ptr_nonnull(strstr(json, "\"edrGroupIds\":{\"displayValue\":true,"
                                           "\"isManaged\":false,\"value\":\"\"}"));
        ck_assert_ptr_nonnull(strstr(json, "\"tamperProtection\":{\"displayValue\":true,"
                                           "\"isManaged\":false,\"value\":\"disabled\"}"));
        ck_assert_ptr_nonnull(strstr(json, "\"proxy\":{\"displayValue\":false,"
                                           "\"isManaged\":false,\"value\":\"None\"}"));
        ck_assert_ptr_nonnull(strstr(json, "\"passiveModeEnabled\":{\"displayValue\":true,"
                                           "\"isManaged\":true,\"value\":null}"));
        ck_assert(json[strlen(json) - 1] == '}');

        ck_assert_int_eq(health_render_json(HEALTH_VIEW_EDR, &fx.data, &edr), 0);
        ck_assert_ptr_nonnull(strstr(edr, "\"edrSenseGuid\":null"));
        ck_assert_ptr_null(strstr(edr, "healthy"));
        fixture_done(&fx);
}
END_TEST

/* ---- config ---- */

START_TEST(test_enforcement_level_next) {
        static const struct {
                ConfigKind kind;
                bool enable;
                const char *current, *next;
        } cases[] = {
                { CONFIG_KIND_REAL_TIME, true, "real_time", "real_time" },
                { CONFIG_KIND_REAL_TIME, true, "on_demand", "real_time" },
                { CONFIG_KIND_REAL_TIME, true, "passive", "real_time" },
                { CONFIG_KIND_REAL_TIME, false, "real_time", "on_demand" },
                { CONFIG_KIND_REAL_TIME, false, "on_demand", "on_demand" },
                { CONFIG_KIND_REAL_TIME, false, "passive", "passive" },
                { CONFIG_KIND_PASSIVE, true, "real_time", "passive" },
                { CONFIG_KIND_PASSIVE, true, "on_demand", "passive" },
                { CONFIG_KIND_PASSIVE, true, "passive", "passive" },
                { CONFIG_KIND_PASSIVE, false, "passive", "real_time" },
                { CONFIG_KIND_PASSIVE, false, "real_time", "real_time" },
                { CONFIG_KIND_PASSIVE, false, "on_demand", "on_demand" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_str_eq(config_enforcement_level_next(cases[i].kind, cases[i].enable,
                                                               cases[i].current),
                                 cases[i].next);
}
END_TEST

START_TEST(test_config_convert) {
        static const struct {
                const char *name, *text;
                int r;
                const char *result;     /* text of the value when r == 0 */
        } cases[] = {
                { "cloud", "enabled", 0, "true" },
                { "cloud", "disabled", 0, "false" },
                { "cloud", "Enabled", -EINVAL, NULL },
                { "cloud", "maybe", -EINVAL, NULL },
                { "behavior-monitoring", "enabled", 0, "\"enabled\"" },
                { "cloud-diagnostic", "enabled", 0, "\"optional\"" },
                { "cloud-diagnostic", "disabled", 0, "\"required\"" },
                { "cloud-automatic-sample-submission", "enabled", 0, "\"safe\"" },
                { "cloud-automatic-sample-submission", "disabled", 0, "\"none\"" },
                { "cloud-automatic-sample-submission", "all", 0, "\"all\"" },
                { "cloud-automatic-sample-submission", "some", -EINVAL, NULL },
                { "maximum-on-demand-scan-threads", "1", 0, "1" },
                { "maximum-on-demand-scan-threads", "64", 0, "64" },
                { "maximum-on-demand-scan-threads", "0", -EINVAL, NULL },
                { "maximum-on-demand-scan-threads", "65", -EINVAL, NULL },
                { "maximum-on-demand-scan-threads", "two", -EINVAL, NULL },
                { "enforcement-level", "audit", 0, "\"audit\"" },
                { "enforcement-level", "enabled", -EINVAL, NULL },
                { "ebpf-supplementary-event-provider", "disabled", 0, "\"disabled\"" },
                { "real-time-protection-statistics", "enabled", 0, "true" },
                { "proxy", "http://proxy:8080", 0, "\"http://proxy:8080\"" },
                { "proxy", "https://proxy:8080", -EINVAL, NULL },
                { "proxy", "http://", -EINVAL, NULL },
                { "max-current-size", "100", 0, "100" },
                { "max-rotated-size", "-1", -EINVAL, NULL },
                { "max-rotated-size", "10241", -EINVAL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
                const ConfigProperty *p = config_property_find(cases[i].name);

                ck_assert_ptr_nonnull(p);
                ck_assert_msg(config_property_convert(p, cases[i].text, &v) == cases[i].r,
                              "%s %s", cases[i].name, cases[i].text);
                if (cases[i].r == 0) {
                        _cleanup_free_ char *t = text_of(&v);

                        ck_assert_str_eq(t, cases[i].result);
                }
        }
        ck_assert_str_eq(config_property_find("real-time-protection")->setting,
                         "antivirusEngine.enforcementLevel");
        ck_assert_str_eq(config_property_find("passive-mode")->setting,
                         "antivirusEngine.enforcementLevel");
}
END_TEST

START_TEST(test_config_tags_remove) {
        _cleanup_(cli_value_done) CliValue tags = CLI_VALUE_INIT, out = CLI_VALUE_INIT,
                none = CLI_VALUE_INIT;
        _cleanup_free_ char *t = NULL;

        ck_assert_int_eq(cli_value_from_text("a(ss)", "GROUP=a,OTHER=b", &tags), 0);
        ck_assert_int_eq(config_tags_remove(&tags, "GROUP", &out), 1);
        t = text_of(&out);
        ck_assert_str_eq(t, "[{\"key\":\"OTHER\",\"value\":\"b\"}]");
        ck_assert_int_eq(config_tags_remove(&tags, "MISSING", &none), 0);
        ck_assert_uint_eq(cli_value_pairs_count(&none), 2);
}
END_TEST

/* ---- arguments ---- */

static int leaf_calls;
static int leaf_argc;
static bool leaf_json;

static int record_leaf(const CliInvocation *inv) {
        leaf_calls++;
        leaf_argc = inv->argc;
        leaf_json = inv->json;
        ck_assert_str_eq(inv->command, "mdatp group leaf");
        return 0;
}

static const CliVerb test_group_children[] = {
        { .name = "leaf", .description = "A leaf", .usage = "--value x", .run = record_leaf },
        {}
};
static const CliVerb test_root_children[] = {
        { .name = "group", .description = "A group", .children = test_group_children },
        {}
};
static const CliVerb test_root = { .name = "mdatp", .children = test_root_children };

START_TEST(test_args_dispatch) {
        char *ok[] = { (char *) "group", (char *) "leaf", (char *) "--value", (char *) "x", NULL };
        char *unknown[] = { (char *) "group", (char *) "bogus", NULL };
        char *help[] = { (char *) "group", (char *) "--help", NULL };

        leaf_calls = 0;
        ck_assert_int_eq(args_dispatch(&test_root, 4, ok, true), 0);
        ck_assert_int_eq(leaf_calls, 1);
        ck_assert_int_eq(leaf_argc, 2);
        ck_assert(leaf_json);

        report_reset();
        ck_assert_int_eq(args_dispatch(&test_root, 2, unknown, false), -EINVAL);
        ck_assert_int_eq(report_exit_status(-EINVAL), CLI_EXIT_USAGE);

        report_reset();
        ck_assert_int_eq(args_dispatch(&test_root, 1, unknown, false), -EINVAL);
        ck_assert_int_eq(report_exit_status(-EINVAL), CLI_EXIT_USAGE);

        report_reset();
        ck_assert_int_eq(args_dispatch(&test_root, 0, unknown, false), -EINVAL);
        ck_assert_int_eq(report_exit_status(-EINVAL), CLI_EXIT_USAGE);

        report_reset();
        ck_assert_int_eq(args_dispatch(&test_root, 2, help, false), 0);
        ck_assert(!report_pending());
        ck_assert_int_eq(leaf_calls, 1);
}
END_TEST

static int parse(char **argv, CliFlag *flags, size_t n) {
        CliInvocation inv = {
                .verb = &test_group_children[0],
                .command = "mdatp group leaf",
                .argc = (int) strv_length(argv),
                .argv = argv,
        };

        report_reset();
        for (size_t i = 0; i < n; i++)
                flags[i].value = "stale";
        return args_parse(&inv, flags, n);
}

START_TEST(test_args_parse) {
        CliFlag flags[] = {
                { .name = "--value", .required = true },
                { .name = "--name" },
        };
        CliFlag positional[] = {
                { .name = NULL, .required = true },
        };

        ck_assert_int_eq(parse((char *[]) { (char *) "--value", (char *) "a", NULL }, flags, 2), 0);
        ck_assert_str_eq(flags[0].value, "a");
        ck_assert_ptr_null(flags[1].value);

        ck_assert_int_eq(parse((char *[]) { (char *) "--name=n", (char *) "--value=", NULL },
                               flags, 2), 0);
        ck_assert_str_eq(flags[0].value, "");
        ck_assert_str_eq(flags[1].value, "n");

        /* A value may start with a dash: it is whatever follows the flag. */
        ck_assert_int_eq(parse((char *[]) { (char *) "--value", (char *) "-5", NULL }, flags, 2),
                         0);
        ck_assert_str_eq(flags[0].value, "-5");

        ck_assert_int_eq(parse((char *[]) { NULL }, flags, 2), -EINVAL);
        ck_assert_int_eq(report_exit_status(-EINVAL), CLI_EXIT_USAGE);
        ck_assert_int_eq(parse((char *[]) { (char *) "--value", NULL }, flags, 2), -EINVAL);
        ck_assert_int_eq(parse((char *[]) { (char *) "--bogus", (char *) "x", NULL }, flags, 2),
                         -EINVAL);
        ck_assert_int_eq(parse((char *[]) { (char *) "--value", (char *) "a", (char *) "--value",
                                            (char *) "b", NULL }, flags, 2), -EINVAL);
        ck_assert_int_eq(parse((char *[]) { (char *) "stray", NULL }, flags, 2), -EINVAL);
        ck_assert_int_eq(parse((char *[]) { (char *) "--help", NULL }, flags, 2), 1);
        ck_assert(!report_pending());

        ck_assert_int_eq(parse((char *[]) { (char *) "enabled", NULL }, positional, 1), 0);
        ck_assert_str_eq(positional[0].value, "enabled");
        ck_assert_int_eq(parse((char *[]) { (char *) "a", (char *) "b", NULL }, positional, 1),
                         -EINVAL);
        ck_assert_int_eq(parse((char *[]) { NULL }, positional, 1), -EINVAL);
}
END_TEST

START_TEST(test_args_output) {
        char *a[] = { (char *) "health", (char *) "--output", (char *) "json", (char *) "--field",
                      (char *) "healthy", NULL };
        char *b[] = { (char *) "--output=json", (char *) "version", NULL };
        char *c[] = { (char *) "health", (char *) "--output", (char *) "xml", NULL };
        char *d[] = { (char *) "health", (char *) "--output", NULL };
        char *e[] = { (char *) "health", NULL };
        int n;
        bool json;

        n = 5;
        ck_assert_int_eq(args_extract_output(&n, a, &json), 0);
        ck_assert(json);
        ck_assert_int_eq(n, 3);
        ck_assert_str_eq(a[0], "health");
        ck_assert_str_eq(a[1], "--field");
        ck_assert_str_eq(a[2], "healthy");
        ck_assert_ptr_null(a[3]);

        n = 2;
        ck_assert_int_eq(args_extract_output(&n, b, &json), 0);
        ck_assert(json);
        ck_assert_int_eq(n, 1);
        ck_assert_str_eq(b[0], "version");

        n = 1;
        ck_assert_int_eq(args_extract_output(&n, e, &json), 0);
        ck_assert(!json);

        report_reset();
        n = 3;
        ck_assert_int_eq(args_extract_output(&n, c, &json), -EINVAL);
        ck_assert_int_eq(report_exit_status(-EINVAL), CLI_EXIT_USAGE);
        report_reset();
        n = 2;
        ck_assert_int_eq(args_extract_output(&n, d, &json), -EINVAL);
}
END_TEST

START_TEST(test_args_legacy) {
        char *a[] = { (char *) "--health", NULL };
        char *b[] = { (char *) "--health", (char *) "realTimeProtectionEnabled", NULL };
        char *c[] = { (char *) "health", (char *) "--field", (char *) "x", NULL };
        _cleanup_free_ char **ra = NULL, **rb = NULL, **rc = NULL;
        int n;

        ck_assert_int_eq(args_rewrite_legacy(1, a, &n, &ra), 0);
        ck_assert_int_eq(n, 1);
        ck_assert_str_eq(ra[0], "health");
        ck_assert_ptr_null(ra[1]);

        ck_assert_int_eq(args_rewrite_legacy(2, b, &n, &rb), 0);
        ck_assert_int_eq(n, 3);
        ck_assert_str_eq(rb[0], "health");
        ck_assert_str_eq(rb[1], "--field");
        ck_assert_str_eq(rb[2], "realTimeProtectionEnabled");
        /* Old camelCase names still find their field. */
        ck_assert_ptr_eq(health_field_find(rb[2]),
                         health_field_find("real_time_protection_enabled"));

        ck_assert_int_eq(args_rewrite_legacy(3, c, &n, &rc), 0);
        ck_assert_int_eq(n, 3);
        ck_assert_ptr_eq(rc[2], c[2]);
}
END_TEST

/* ---- bus errors ---- */

START_TEST(test_bus_errors) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL, *m6 = NULL,
                            *m7 = NULL;

        ck_assert_int_ge(sd_bus_error_add_map(mdatp_bus_error_map), 0);

        sd_bus_error_set(&e, SD_BUS_ERROR_SERVICE_UNKNOWN, "The name is not activatable");
        ck_assert_int_eq(bus_error_message(&e, -EHOSTUNREACH, BUS_WHAT_READ_HEALTH, &m1),
                         CLI_EXIT_UNREACHABLE);
        ck_assert_str_eq(m1, BUS_MESSAGE_UNREACHABLE);
        sd_bus_error_free(&e);

        sd_bus_error_set(&e, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized by polkit");
        ck_assert_int_eq(bus_error_message(&e, -EACCES, BUS_WHAT_CHANGE_SETTINGS, &m2),
                         CLI_EXIT_FAILURE);
        ck_assert_str_eq(m2, "Changing settings requires administrator privileges: "
                             "Not authorized by polkit");
        sd_bus_error_free(&e);

        sd_bus_error_set(&e, MDATP_ERROR_MANAGED_BY_POLICY,
                         "'cloudService.enabled' is set by the managed policy");
        ck_assert_int_eq(sd_bus_error_get_errno(&e), EROFS);
        ck_assert_int_eq(bus_error_message(&e, -EROFS, BUS_WHAT_CHANGE_SETTINGS, &m3),
                         CLI_EXIT_FAILURE);
        ck_assert_str_eq(m3, "'cloudService.enabled' is set by the managed policy");
        sd_bus_error_free(&e);

        /* NotFound maps to ENOENT, which is also "no bus socket": the name decides. */
        sd_bus_error_set(&e, MDATP_ERROR_NOT_FOUND, "No such threat");
        ck_assert_int_eq(bus_error_classify(&e, -ENOENT), BUS_ERROR_DAEMON);
        sd_bus_error_free(&e);

        sd_bus_error_set_errno(&e, ECONNREFUSED);
        ck_assert_int_eq(bus_error_message(&e, -ECONNREFUSED, BUS_WHAT_READ_HEALTH, &m4),
                         CLI_EXIT_UNREACHABLE);
        sd_bus_error_free(&e);

        ck_assert_int_eq(bus_error_classify(&e, -ENOTCONN), BUS_ERROR_UNREACHABLE);
        sd_bus_error_set(&e, SD_BUS_ERROR_NO_REPLY, "timeout");
        ck_assert_int_eq(bus_error_classify(&e, -ETIMEDOUT), BUS_ERROR_UNREACHABLE);
        sd_bus_error_free(&e);

        /* The daemon's refusal already names the privilege: printed as is, not doubled. */
        sd_bus_error_set(&e, SD_BUS_ERROR_ACCESS_DENIED,
                         "Changing settings requires administrator privileges (polkit action x "
                         "denied); run it as root or with sudo");
        ck_assert_int_eq(bus_error_message(&e, -EACCES, BUS_WHAT_CHANGE_SETTINGS, &m7),
                         CLI_EXIT_FAILURE);
        ck_assert_str_eq(m7, e.message);
        sd_bus_error_free(&e);

        sd_bus_error_set(&e, SD_BUS_ERROR_ACCESS_DENIED, NULL);
        ck_assert_int_eq(bus_error_message(&e, -EACCES, BUS_WHAT_CHANGE_LOG_LEVEL, &m5),
                         CLI_EXIT_FAILURE);
        ck_assert_str_eq(m5, "Changing the log level requires administrator privileges.");
        sd_bus_error_free(&e);

        sd_bus_error_set(&e, SD_BUS_ERROR_UNKNOWN_METHOD, NULL);
        ck_assert_int_eq(bus_error_message(&e, -EBADR, BUS_WHAT_READ_SETTINGS, &m6),
                         CLI_EXIT_FAILURE);
        ck_assert_str_eq(m6, "Reading settings failed: " SD_BUS_ERROR_UNKNOWN_METHOD);
}
END_TEST

START_TEST(test_report_first_wins) {
        report_reset();
        ck_assert_int_eq(report_exit_status(0), CLI_EXIT_SUCCESS);
        ck_assert_int_eq(report_error(CLI_EXIT_UNREACHABLE, -ECONNREFUSED, "first"),
                         -ECONNREFUSED);
        ck_assert_int_eq(report_error(CLI_EXIT_USAGE, 0, "second"), -EIO);
        ck_assert_int_eq(report_exit_status(-EIO), CLI_EXIT_UNREACHABLE);
        report_reset();
        /* An unreported failure still exits 1. */
        ck_assert_int_eq(report_exit_status(-ENOMEM), CLI_EXIT_FAILURE);
}
END_TEST

static Suite *cli_suite(void) {
        Suite *s = suite_create("cli");
        TCase *tc;

        tc = tcase_create("format");
        tcase_add_test(tc, test_format_timestamp);
        tcase_add_test(tc, test_format_epoch_ms_and_minutes);
        tcase_add_test(tc, test_format_snake_to_camel);
        tcase_add_test(tc, test_format_json_quote);
        suite_add_tcase(s, tc);

        tc = tcase_create("value");
        tcase_add_test(tc, test_value_text);
        tcase_add_test(tc, test_value_from_text);
        tcase_add_test(tc, test_value_variant_roundtrip);
        tcase_add_test(tc, test_value_unknown_signature_skipped);
        tcase_add_test(tc, test_value_lists);
        suite_add_tcase(s, tc);

        tc = tcase_create("health");
        tcase_add_test(tc, test_health_table_consistent);
        tcase_add_test(tc, test_health_views);
        tcase_add_test(tc, test_health_table_matches_xml);
        tcase_add_test(tc, test_health_text_lines);
        tcase_add_test(tc, test_health_field_text);
        tcase_add_test(tc, test_health_render);
        suite_add_tcase(s, tc);

        tc = tcase_create("config");
        tcase_add_test(tc, test_enforcement_level_next);
        tcase_add_test(tc, test_config_convert);
        tcase_add_test(tc, test_config_tags_remove);
        suite_add_tcase(s, tc);

        tc = tcase_create("args");
        tcase_add_test(tc, test_args_dispatch);
        tcase_add_test(tc, test_args_parse);
        tcase_add_test(tc, test_args_output);
        tcase_add_test(tc, test_args_legacy);
        suite_add_tcase(s, tc);

        tc = tcase_create("errors");
        tcase_add_test(tc, test_bus_errors);
        tcase_add_test(tc, test_report_first_wins);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        /* Dates in the expectations are UTC; meson sets TZ too. */
        (void) setenv("TZ", "UTC", 1);
        tzset();

        sr = srunner_create(cli_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
