/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the scan, threat and exclusion commands of the mdatp client: the scan summary,
 * progress line and history, the threat views, the exclusion views (merged by scope in JSON),
 * the option checks of the exclusion verbs, switch and repeatable options, relative paths of
 * `scan custom`, and the last on-demand scan fields of `health --details antivirus`.
 *
 * No daemon is needed. Replies are built on a bus over a socketpair and sealed; the verbs are run
 * through args_dispatch() with DBUS_SYSTEM_BUS_ADDRESS pointing nowhere, so a command whose
 * options pass the checks ends as "daemon unreachable" (exit 3) and one that fails them as a
 * usage error (exit 2). Run with TZ=UTC (meson sets it) so that dates are predictable.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <check.h>
#include <systemd/sd-bus.h>

#include "args.h"
#include "diagnostic.h"
#include "exclusion.h"
#include "format.h"
#include "health.h"
#include "mdatp-bus.h"
#include "report.h"
#include "scan.h"
#include "threat.h"
#include "util/macro.h"
#include "util/strv.h"
#include "value.h"

/* Jan 05 2023 at 03:18:39 PM and 65 s later, in µs. */
#define T_START (UINT64_C(1672931919) * 1000000)
#define T_END (UINT64_C(1672931984) * 1000000)

/* A bus over a socketpair, enough to build and read back messages; never connected. */
typedef struct TestBus {
        sd_bus *bus;
        int peer;
} TestBus;

static sd_bus_message *test_message(TestBus *tb) {
        sd_bus_message *m = NULL;
        int fds[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        tb->peer = fds[1];
        ck_assert_int_ge(sd_bus_new(&tb->bus), 0);
        ck_assert_int_ge(sd_bus_set_fd(tb->bus, fds[0], fds[0]), 0);
        ck_assert_int_ge(sd_bus_start(tb->bus), 0);
        ck_assert_int_ge(sd_bus_message_new_method_call(tb->bus, &m, MDATP_BUS_NAME,
                                                        MDATP_OBJECT_SCANS, MDATP_IFACE_SCAN,
                                                        "Test"), 0);
        return m;
}

static void test_bus_done(TestBus *tb) {
        tb->bus = sd_bus_close_unref(tb->bus);
        closep(&tb->peer);
}

static void assert_prefix(const char *s, const char *prefix) {
        ck_assert_msg(strneq(s, prefix, strlen(prefix)), "'%s' does not start with '%s'", s,
                      prefix);
}

static void seal(sd_bus_message *m) {
        ck_assert_int_ge(sd_bus_message_seal(m, 1, 0), 0);
        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
}

/* ---- format ---- */

START_TEST(test_format_scan_time_bytes_duration) {
        char t[FORMAT_TIMESTAMP_MAX], b[FORMAT_BYTES_MAX], d[FORMAT_DURATION_MAX];

        ck_assert_int_eq(format_timestamp_scan(T_START, t, sizeof(t)), 0);
        ck_assert_str_eq(t, "Jan 05 2023 at 03:18:39 PM");
        ck_assert_int_eq(format_timestamp_scan(T_START, t, 5), -ENOBUFS);

        ck_assert_str_eq(format_bytes(0, b), "0 B");
        ck_assert_str_eq(format_bytes(999, b), "999 B");
        ck_assert_str_eq(format_bytes(1000, b), "1.0 kB");
        ck_assert_str_eq(format_bytes(12345678, b), "12.3 MB");
        ck_assert_str_eq(format_bytes(999949, b), "999.9 kB");
        ck_assert_str_eq(format_bytes(999950, b), "1.0 MB");
        ck_assert_str_eq(format_bytes(UINT64_C(4) * 1000000000, b), "4.0 GB");
        ck_assert_str_eq(format_bytes(UINT64_MAX, b), "18.4 EB");

        ck_assert_str_eq(format_duration(0, d), "0s");
        ck_assert_str_eq(format_duration(59999999, d), "59s");
        ck_assert_str_eq(format_duration(65 * 1000000, d), "1m 05s");
        ck_assert_str_eq(format_duration(UINT64_C(7384) * 1000000, d), "2h 03m 04s");
}
END_TEST

/* ---- scan ---- */

static ScanInfo scan_fixture(const char *state) {
        ScanInfo info = SCAN_INFO_INIT;

        info.id = 7;
        info.kind = strdup("quick");
        info.state = strdup(state);
        ck_assert(info.kind && info.state);
        info.files_scanned = 1234;
        info.bytes_scanned = 12345678;
        info.threats_found = 2;
        info.start_time = T_START;
        info.end_time = T_END;
        return info;
}

START_TEST(test_scan_summary) {
        _cleanup_(scan_info_done) ScanInfo ok = scan_fixture("succeeded");
        _cleanup_(scan_info_done) ScanInfo cancelled = scan_fixture("cancelled");
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(scan_format_summary(&ok, &a), 0);
        ck_assert_str_eq(a, "Scan has finished\n\t1234 file(s) scanned\n\t2 threat(s) detected\n");
        ck_assert_int_eq(scan_format_summary(&cancelled, &b), 0);
        ck_assert_str_eq(b, "Scan was cancelled\n\t1234 file(s) scanned\n\t2 threat(s) detected\n");
        free(a);
        ok.threats_failed = 2;
        ck_assert_int_eq(scan_format_summary(&ok, &a), 0);
        ck_assert_str_eq(a, "Scan has finished\n\t1234 file(s) scanned\n\t2 threat(s) detected\n"
                         "\t2 threat(s) not yet recorded or remediated; the daemon retries (see "
                         "'mdatp health')\n");
}
END_TEST

START_TEST(test_scan_progress) {
        _cleanup_(scan_info_done) ScanInfo info = scan_fixture("running");
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        ck_assert_int_eq(scan_format_progress(&info, false, &a), 0);
        ck_assert_str_eq(a, "Scanning: 1234 file(s), 12.3 MB, 2 threat(s)");

        info.progress = 0.456;
        ck_assert_int_eq(scan_format_progress(&info, false, &b), 0);
        ck_assert_str_eq(b, "Scanning: 1234 file(s), 12.3 MB, 2 threat(s), 45%");

        info.progress = 7.0;    /* clamped */
        ck_assert_int_eq(scan_format_progress(&info, true, &c), 0);
        ck_assert_str_eq(c, "Cancelling: 1234 file(s), 12.3 MB, 2 threat(s), 100%");

        info.progress = NAN;
        ck_assert_int_eq(scan_format_progress(&info, false, &d), 0);
        ck_assert_ptr_null(strchr(d, '%'));
}
END_TEST

START_TEST(test_scan_json) {
        _cleanup_(scan_info_done) ScanInfo info = scan_fixture("succeeded");
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(scan_format_json(&info, &a), 0);
        ck_assert_str_eq(a, "{\"id\":7,\"kind\":\"quick\",\"state\":\"succeeded\","
                            "\"filesScanned\":1234,\"bytesScanned\":12345678,\"threatsFound\":2,"
                            "\"startTime\":\"1672931919000\",\"endTime\":\"1672931984000\"}");

        /* Still running: no end time. */
        info.end_time = 0;
        ck_assert_int_eq(scan_format_json(&info, &b), 0);
        ck_assert_ptr_nonnull(strstr(b, "\"endTime\":null}"));
}
END_TEST

START_TEST(test_scan_read_properties) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(scan_info_done) ScanInfo info = SCAN_INFO_INIT;
        TestBus tb = {};

        m = test_message(&tb);
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 12,
                                               "Id", "u", 3,
                                               "Kind", "s", "custom",
                                               "Paths", "as", 1, "/tmp",
                                               "State", "s", "running",
                                               "FilesScanned", "t", UINT64_C(10),
                                               "BytesScanned", "t", UINT64_C(2048),
                                               "ThreatsFound", "t", UINT64_C(1),
                                               "Progress", "d", 0.5,
                                               "StartTime", "t", T_START,
                                               "EndTime", "t", UINT64_C(0),
                                               "Error", "s", "",
                                               /* A newer daemon's property, and a known
                                                * one with the wrong type: both skipped. */
                                               "FilesCached", "u", 5), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2,
                                               "State", "s", "failed",
                                               "ThreatsFound", "s", "many"), 0);
        seal(m);

        ck_assert_int_eq(scan_info_read_properties(m, &info), 0);
        ck_assert_uint_eq(info.id, 3);
        ck_assert_str_eq(info.kind, "custom");
        ck_assert_str_eq(info.state, "running");
        ck_assert(!scan_info_is_finished(&info));
        ck_assert_uint_eq(info.files_scanned, 10);
        ck_assert_uint_eq(info.bytes_scanned, 2048);
        ck_assert_uint_eq(info.threats_found, 1);
        ck_assert(info.progress == 0.5);
        ck_assert_uint_eq(info.start_time, T_START);
        ck_assert_str_eq(info.error, "");

        /* An update changes what it names only. */
        ck_assert_int_eq(scan_info_read_properties(m, &info), 0);
        ck_assert_str_eq(info.state, "failed");
        ck_assert(scan_info_is_finished(&info));
        ck_assert_uint_eq(info.threats_found, 1);
        ck_assert_str_eq(info.kind, "custom");

        ck_assert_int_lt(scan_info_read_properties(m, &info), 0);
        test_bus_done(&tb);
}
END_TEST

START_TEST(test_scan_list) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(scan_info_list_done) ScanInfoList l = SCAN_INFO_LIST_INIT;
        _cleanup_free_ char *text = NULL, *json = NULL, *none = NULL, *none_json = NULL;
        const ScanInfoList empty = SCAN_INFO_LIST_INIT;
        TestBus tb = {};

        m = test_message(&tb);
        ck_assert_int_ge(sd_bus_message_append(m, "a(usstttt)", 2,
                                               2, "full", "running", T_END, UINT64_C(0),
                                               UINT64_C(50), UINT64_C(0),
                                               1, "quick", "succeeded", T_START, T_END,
                                               UINT64_C(1234), UINT64_C(2)), 0);
        seal(m);
        ck_assert_int_eq(scan_info_list_read(m, &l), 0);
        ck_assert_uint_eq(l.n, 2);

        ck_assert_int_eq(scan_format_list_text(&l, &text), 0);
        ck_assert_str_eq(text,
                         "Id: 2\n"
                         "Type: Full\n"
                         "Start time: Jan 05 2023 at 03:19:44 PM\n"
                         "State: Running\n"
                         "Files scanned: 50\n"
                         "Threats detected: 0\n"
                         "\n"
                         "Id: 1\n"
                         "Type: Quick\n"
                         "Start time: Jan 05 2023 at 03:18:39 PM\n"
                         "Duration: 1m 05s\n"
                         "State: Succeeded\n"
                         "Files scanned: 1234\n"
                         "Threats detected: 2\n");

        ck_assert_int_eq(scan_format_list_json(&l, &json), 0);
        ck_assert_str_eq(json,
                         "[{\"id\":2,\"kind\":\"full\",\"state\":\"running\",\"filesScanned\":50,"
                         "\"threatsFound\":0,\"startTime\":\"1672931984000\",\"endTime\":null},"
                         "{\"id\":1,\"kind\":\"quick\",\"state\":\"succeeded\","
                         "\"filesScanned\":1234,\"threatsFound\":2,"
                         "\"startTime\":\"1672931919000\",\"endTime\":\"1672931984000\"}]");

        ck_assert_int_eq(scan_format_list_text(&empty, &none), 0);
        ck_assert_str_eq(none, "No scans\n");
        ck_assert_int_eq(scan_format_list_json(&empty, &none_json), 0);
        ck_assert_str_eq(none_json, "[]");
        test_bus_done(&tb);
}
END_TEST

START_TEST(test_scan_path_absolute) {
        static const struct { const char *cwd, *path, *out; } cases[] = {
                { "/home/u", "/etc/passwd", "/etc/passwd" },
                { NULL, "/abs/./kept//as/given/", "/abs/./kept//as/given/" },
                { "/home/u", "x", "/home/u/x" },
                { "/home/u", "./x/./y/", "/home/u/x/y" },
                { "/home/u", ".", "/home/u" },
                { "/home/u/", "a//b", "/home/u/a/b" },
                { "/home/u", "../v", "/home/u/../v" },  /* not resolved: symlinks */
                { "/", "x", "/x" },
                { "/", ".", "/" },
                { "/home/u", "*.txt", "/home/u/*.txt" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = NULL;

                ck_assert_int_eq(scan_path_absolute(cases[i].cwd, cases[i].path, &p), 0);
                ck_assert_str_eq(p, cases[i].out);
        }
        ck_assert_int_eq(scan_path_absolute("/home/u", "", &(char *) { NULL }), -EINVAL);
        ck_assert_int_eq(scan_path_absolute("relative", "x", &(char *) { NULL }), -EINVAL);
        ck_assert_int_eq(scan_path_absolute(NULL, "x", &(char *) { NULL }), -EINVAL);
}
END_TEST

START_TEST(test_scan_capitalize) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(scan_capitalize("cancelled", &a), 0);
        ck_assert_str_eq(a, "Cancelled");
        ck_assert_int_eq(scan_capitalize(NULL, &b), 0);
        ck_assert_str_eq(b, "");
}
END_TEST

/* ---- threat ---- */

/* Appends one (ssssstss). */
static void append_threat(sd_bus_message *m, const char *id, const char *path, const char *status,
                          uint64_t when) {
        ck_assert_int_ge(sd_bus_message_append(m, "(ssssstss)", id, "Virus:DOS/EICAR_Test_File",
                                               "virus", path, "275a021b", when, "on_demand",
                                               status), 0);
}

START_TEST(test_threat_views) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(threat_list_done) ThreatList l = THREAT_LIST_INIT;
        _cleanup_(threat_done) Threat one = {};
        _cleanup_free_ char *text = NULL, *json = NULL, *single = NULL, *single_json = NULL;
        TestBus tb = {};

        m = test_message(&tb);
        ck_assert_int_ge(sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(ssssstss)"), 0);
        append_threat(m, "b2", "/tmp/a.zip->dir/e\"icar", "quarantined",
                      UINT64_C(1795438923) * 1000000);
        append_threat(m, "a1", "/tmp/evil\nId: \"forged\"", "active", 0);
        ck_assert_int_ge(sd_bus_message_close_container(m), 0);
        append_threat(m, "c3", "/srv/x", "removed", T_START);
        seal(m);

        ck_assert_int_eq(threat_list_read(m, &l), 0);
        ck_assert_uint_eq(l.n, 2);
        ck_assert_int_eq(threat_read(m, &one), 0);
        ck_assert_str_eq(one.id, "c3");

        ck_assert_int_eq(threat_format_list_text(&l, &text), 0);
        ck_assert_str_eq(text,
                         "Id: \"b2\"\n"
                         "Name: \"Virus:DOS/EICAR_Test_File\"\n"
                         "Type: \"virus\"\n"
                         "Detection time: \"Nov 23, 2026 at 01:02:03 PM\"\n"
                         "Status: \"quarantined\"\n"
                         "Path: \"/tmp/a.zip->dir/e\\\"icar\"\n"
                         "\n"
                         "Id: \"a1\"\n"
                         "Name: \"Virus:DOS/EICAR_Test_File\"\n"
                         "Type: \"virus\"\n"
                         "Detection time: unavailable\n"
                         "Status: \"active\"\n"
                         /* A newline in a file name cannot forge a line. */
                         "Path: \"/tmp/evil\\nId: \\\"forged\\\"\"\n");

        ck_assert_int_eq(threat_format_list_json(&l, &json), 0);
        assert_prefix(json, "{\"threats\":{\"scans\":[{\"threats\":[{\"threat\":"
                      "{\"tracking_id\":\"b2\",\"name\":\"Virus:DOS/EICAR_Test_File\","
                      "\"type\":\"virus\",\"path\":\"/tmp/a.zip->dir/e\\\"icar\","
                      "\"sha256\":\"275a021b\",\"detection_time\":\"1795438923000\","
                      "\"source\":\"on_demand\"},\"history\":[{\"key\":1795438923000,"
                      "\"value\":\"quarantined\"}]},{\"threat\":{\"tracking_id\":\"a1\"");
        ck_assert_ptr_nonnull(strstr(json, "\"detection_time\":null"));
        ck_assert(streq(json + strlen(json) - 6, "}]}]}}"));

        ck_assert_int_eq(threat_format_text(&one, &single), 0);
        ck_assert_ptr_nonnull(strstr(single, "Detection time: \"Jan 05, 2023 at 03:18:39 PM\"\n"));
        ck_assert_int_eq(threat_format_json(&one, &single_json), 0);
        ck_assert(strneq(single_json, "{\"threat\":{\"tracking_id\":\"c3\",", 30));
        ck_assert_ptr_nonnull(strstr(single_json, "\"history\":[{\"key\":1672931919000,"
                                                  "\"value\":\"removed\"}]}"));
        test_bus_done(&tb);
}
END_TEST

/* ListHistory gives every status change; JSON keys strictly increase so the last is current. */
START_TEST(test_threat_history) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *h = NULL;
        _cleanup_(threat_list_done) ThreatList l = THREAT_LIST_INIT;
        _cleanup_free_ char *json = NULL;
        TestBus tb = {}, tb_history = {};

        m = test_message(&tb);
        ck_assert_int_ge(sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(ssssstss)"), 0);
        append_threat(m, "b2", "/tmp/x", "restored", UINT64_C(1795438923) * 1000000);
        ck_assert_int_ge(sd_bus_message_close_container(m), 0);
        seal(m);
        ck_assert_int_eq(threat_list_read(m, &l), 0);

        h = test_message(&tb_history);
        ck_assert_int_ge(sd_bus_message_append(h, "a(sa(tss))", 2,
                                               "zz", 1, UINT64_C(1), "active", "",
                                               "b2", 3,
                                               UINT64_C(1795438923000000), "active", "",
                                               UINT64_C(1795438923000100), "quarantined", "",
                                               UINT64_C(1795438925000000), "restored",
                                               "/tmp/x"), 0);
        seal(h);
        ck_assert_int_eq(threat_list_attach_history(h, &l), 0);
        ck_assert_uint_eq(l.items[0].n_history, 3);
        ck_assert_int_eq(threat_format_list_json(&l, &json), 0);
        ck_assert_ptr_nonnull(strstr(json, "\"history\":[{\"key\":1795438923000,\"value\":\"active\"},"
                                           "{\"key\":1795438923001,\"value\":\"quarantined\"},"
                                           "{\"key\":1795438925000,\"value\":\"restored\"}]"));
        test_bus_done(&tb);
        test_bus_done(&tb_history);
}
END_TEST

/* ---- diagnostic real-time-protection-statistics ---- */

START_TEST(test_rtp_statistics) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(rtp_stats_done) RtpStatsList l = {};
        _cleanup_free_ char *text = NULL, *json = NULL;
        TestBus tb = {};

        m = test_message(&tb);
        ck_assert_int_ge(sd_bus_message_append(m, "a(usstt)", 3,
                                               10, "cat", "/usr/bin/cat", UINT64_C(5), UINT64_C(900),
                                               20, "make", "/usr/bin/make", UINT64_C(50), UINT64_C(7),
                                               30, "cc\"1", "", UINT64_C(7), UINT64_C(1)), 0);
        seal(m);
        ck_assert_int_eq(rtp_stats_read(m, &l), 0);
        ck_assert_uint_eq(l.n, 3);
        rtp_stats_sort(&l, 2);
        ck_assert_uint_eq(l.n, 2);
        ck_assert_str_eq(l.items[0].name, "make");
        ck_assert_str_eq(l.items[1].name, "cc\"1");
        ck_assert_int_eq(rtp_stats_format(&l, false, &text), 0);
        ck_assert_str_eq(text,
                         "Process id: 20\nName: make\nPath: \"/usr/bin/make\"\n"
                         "Total files scanned: 50\nScan time (ns): \"7\"\nStatus: Active\n"
                         "=====================================\n"
                         "Process id: 30\nName: cc\"1\nPath: \"\"\n"
                         "Total files scanned: 7\nScan time (ns): \"1\"\nStatus: Active\n");
        ck_assert_int_eq(rtp_stats_format(&l, true, &json), 0);
        ck_assert_str_eq(json, "{\"counters\":[{\"id\":20,\"name\":\"make\",\"path\":"
                               "\"/usr/bin/make\",\"totalFilesScanned\":50,\"scanTime\":7},"
                               "{\"id\":30,\"name\":\"cc\\\"1\",\"path\":\"\","
                               "\"totalFilesScanned\":7,\"scanTime\":1}]}");
        test_bus_done(&tb);
}
END_TEST

START_TEST(test_threat_empty) {
        const ThreatList empty = THREAT_LIST_INIT;
        _cleanup_free_ char *text = NULL, *json = NULL;

        ck_assert_int_eq(threat_format_list_text(&empty, &text), 0);
        ck_assert_str_eq(text, "No threats\n");
        ck_assert_int_eq(threat_format_list_json(&empty, &json), 0);
        ck_assert_str_eq(json, "{\"threats\":{\"scans\":[]}}");
}
END_TEST

/* ---- exclusion ---- */

START_TEST(test_exclusion_views) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(exclusion_list_done) ExclusionList l = EXCLUSION_LIST_INIT;
        _cleanup_free_ char *text = NULL, *json = NULL;
        TestBus tb = {};

        m = test_message(&tb);
        ck_assert_int_ge(sd_bus_message_append(m, "a(sssb)", 7,
                                               "folder", "/var/log/", "epp", 0,
                                               "extension", ".pdf", "epp", 1,
                                               "process", "cat", "epp", 0,
                                               "folder", "/var/log/", "global", 0,
                                               "process", "/bin/cat", "global", 0,
                                               "file", "/srv/a.log", "epp", 1,
                                               "file", "/srv/a.log", "global", 0), 0);
        seal(m);
        ck_assert_int_eq(exclusion_list_read(m, &l), 0);
        ck_assert_uint_eq(l.n, 7);

        ck_assert_int_eq(exclusion_format_text(&l, &text), 0);
        assert_prefix(text,
                      "=====================================\n"
                      "Excluded folder\n"
                      "Path: \"/var/log/\"\n"
                      "Scope: epp\n"
                      "Is managed: false\n"
                      "=====================================\n"
                      "Excluded file extension\n"
                      "Extension: \".pdf\"\n"
                      "Scope: epp\n"
                      "Is managed: true\n"
                      "=====================================\n"
                      "Excluded process\n"
                      "Process name: \"cat\"\n"
                      "Scope: epp\n"
                      "Is managed: false\n");
        /* A process given by its full path reads as a path. */
        ck_assert_ptr_nonnull(strstr(text,
                                     "Excluded process\nPath: \"/bin/cat\"\nScope: global\n"));
        ck_assert(streq(text + strlen(text) - 38, "=====================================\n"));

        /* Merged by scope, not across the managed flag. */
        ck_assert_int_eq(exclusion_format_json(&l, &json), 0);
        ck_assert_str_eq(json,
                         "[{\"$type\":\"excludedPath\",\"path\":\"/var/log/\",\"isDirectory\":true,"
                         "\"scopes\":[\"epp\",\"global\"],\"isManaged\":false},"
                         "{\"$type\":\"excludedFileExtension\",\"extension\":\".pdf\","
                         "\"scopes\":[\"epp\"],\"isManaged\":true},"
                         "{\"$type\":\"excludedFileName\",\"name\":\"cat\",\"scopes\":[\"epp\"],"
                         "\"isManaged\":false},"
                         "{\"$type\":\"excludedFileName\",\"name\":\"/bin/cat\","
                         "\"scopes\":[\"global\"],\"isManaged\":false},"
                         "{\"$type\":\"excludedPath\",\"path\":\"/srv/a.log\","
                         "\"isDirectory\":false,\"scopes\":[\"epp\"],\"isManaged\":true},"
                         "{\"$type\":\"excludedPath\",\"path\":\"/srv/a.log\","
                         "\"isDirectory\":false,\"scopes\":[\"global\"],\"isManaged\":false}]");
        test_bus_done(&tb);
}
END_TEST

START_TEST(test_exclusion_merge_and_empty) {
        _cleanup_(exclusion_list_done) ExclusionList l = EXCLUSION_LIST_INIT, merged = {};
        const ExclusionList empty = EXCLUSION_LIST_INIT;
        _cleanup_free_ char *text = NULL, *json = NULL, *unknown = NULL;

        ck_assert_int_eq(exclusion_list_add(&l, "folder", "/a/", "global", false), 0);
        ck_assert_int_eq(exclusion_list_add(&l, "file", "/a/", "epp", false), 0);
        ck_assert_int_eq(exclusion_list_add(&l, "folder", "/a/", "epp", false), 0);
        ck_assert_int_eq(exclusion_list_add(&l, "folder", "/a/", "epp", false), 0);
        ck_assert_int_eq(exclusion_list_merge(&l, &merged), 0);
        ck_assert_uint_eq(merged.n, 2);
        ck_assert_str_eq(merged.items[0].kind, "folder");
        /* First-seen order, each scope once. */
        ck_assert(strv_equal(merged.items[0].scopes,
                             (char *[]) { (char *) "global", (char *) "epp", NULL }));
        ck_assert(strv_equal(merged.items[1].scopes, (char *[]) { (char *) "epp", NULL }));

        ck_assert_int_eq(exclusion_format_text(&empty, &text), 0);
        ck_assert_str_eq(text, "No exclusions\n");
        ck_assert_int_eq(exclusion_format_json(&empty, &json), 0);
        ck_assert_str_eq(json, "[]");

        /* A kind from a newer daemon is shown rather than dropped. */
        exclusion_list_done(&l);
        ck_assert_int_eq(exclusion_list_add(&l, "mount", "/mnt", "epp", false), 0);
        ck_assert_int_eq(exclusion_format_text(&l, &unknown), 0);
        ck_assert_ptr_nonnull(strstr(unknown, "Excluded mount\nValue: \"/mnt\"\n"));
}
END_TEST

START_TEST(test_exclusion_request_check) {
        static const struct {
                const char *kind, *path, *name, *scope;
                int result;
                const char *value, *out_scope;
        } cases[] = {
                { "extension", NULL, ".pdf", NULL, EXCLUSION_CHECK_OK, ".pdf", "epp" },
                { "extension", NULL, ".pdf", "epp", EXCLUSION_CHECK_OK, ".pdf", "epp" },
                { "extension", NULL, ".pdf", "global", EXCLUSION_CHECK_GLOBAL_EXTENSION },
                { "extension", NULL, NULL, NULL, EXCLUSION_CHECK_MISSING },
                { "file", "/var/log/*.log", NULL, NULL, EXCLUSION_CHECK_OK, "/var/log/*.log",
                  "epp" },
                { "file", "/srv/a", NULL, "global", EXCLUSION_CHECK_OK, "/srv/a", "global" },
                { "file", "/srv/a", NULL, "Global", EXCLUSION_CHECK_BAD_SCOPE },
                { "file", "/srv/a", NULL, "", EXCLUSION_CHECK_BAD_SCOPE },
                { "folder", NULL, NULL, "epp", EXCLUSION_CHECK_MISSING },
                { "folder", "relative/", NULL, NULL, EXCLUSION_CHECK_OK, "relative/", "epp" },
                { "process", "/bin/cat", NULL, "global", EXCLUSION_CHECK_OK, "/bin/cat",
                  "global" },
                { "process", NULL, "cat", NULL, EXCLUSION_CHECK_OK, "cat", "epp" },
                { "process", NULL, "cat", "global", EXCLUSION_CHECK_GLOBAL_NAME },
                { "process", "/bin/cat", "cat", NULL, EXCLUSION_CHECK_PATH_AND_NAME },
                { "process", NULL, NULL, NULL, EXCLUSION_CHECK_MISSING },
                { "bogus", "/x", NULL, NULL, -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ExclusionOptions o = {
                        .path = cases[i].path, .name = cases[i].name, .scope = cases[i].scope,
                };
                ExclusionRequest req = {};
                int c = exclusion_request_check(cases[i].kind, &o, &req);

                ck_assert_msg(c == cases[i].result, "case %zu: %d", i, c);
                if (c != EXCLUSION_CHECK_OK)
                        continue;
                ck_assert_str_eq(req.kind, cases[i].kind);
                ck_assert_str_eq(req.value, cases[i].value);
                ck_assert_str_eq(req.scope, cases[i].out_scope);
        }

        ck_assert_str_eq(exclusion_check_message(EXCLUSION_CHECK_MISSING, "process"),
                         "Missing option --path or --name.");
        ck_assert_str_eq(exclusion_check_message(EXCLUSION_CHECK_MISSING, "extension"),
                         "Missing option --name.");
        ck_assert_str_eq(exclusion_check_message(EXCLUSION_CHECK_MISSING, "folder"),
                         "Missing option --path.");
        ck_assert_ptr_null(exclusion_check_message(EXCLUSION_CHECK_OK, "folder"));
        for (int c = EXCLUSION_CHECK_MISSING; c < _EXCLUSION_CHECK_MAX; c++)
                ck_assert_ptr_nonnull(exclusion_check_message(c, "file"));

        ck_assert_str_eq(exclusion_success_message("extension", true),
                         "Extension exclusion configured successfully");
        ck_assert_str_eq(exclusion_success_message("extension", false),
                         "Extension exclusion removed successfully");
        ck_assert_str_eq(exclusion_success_message("file", true),
                         "File exclusion configured successfully");
        ck_assert_str_eq(exclusion_success_message("folder", false),
                         "Folder exclusion removed successfully");
        ck_assert_str_eq(exclusion_success_message("process", true),
                         "Process exclusion configured successfully");
        ck_assert_ptr_null(exclusion_success_message("mount", true));
}
END_TEST

/* ---- the verbs, through the dispatcher ---- */

static const CliVerb test_children[] = {
        { .name = "exclusion", .children = exclusion_verbs },
        { .name = "scan", .children = scan_verbs },
        { .name = "threat", .children = threat_verbs },
        {}
};
static const CliVerb test_root = { .name = "mdatp", .children = test_children };

/* Runs `mdatp <args>` and returns its exit status. */
static int run(const char *args) {
        _cleanup_free_ char *copy = strdup(args);
        char *argv[16], *save = NULL;
        int argc = 0, r;

        ck_assert_ptr_nonnull(copy);
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                ck_assert_int_lt(argc, 15);
                argv[argc++] = w;
        }
        argv[argc] = NULL;
        report_reset();
        r = args_dispatch(&test_root, argc, argv, false);
        return report_exit_status(r);
}

START_TEST(test_verbs_usage) {
        static const struct { const char *args; int status; } cases[] = {
                /* Groups without a command list their children. */
                { "scan", CLI_EXIT_USAGE },
                { "threat", CLI_EXIT_USAGE },
                { "exclusion", CLI_EXIT_USAGE },
                { "exclusion folder", CLI_EXIT_USAGE },
                { "scan --help", CLI_EXIT_SUCCESS },
                /* Checked before the daemon is asked. */
                { "exclusion extension add", CLI_EXIT_USAGE },
                { "exclusion extension add --name .pdf --scope global", CLI_EXIT_USAGE },
                { "exclusion extension add --path /x", CLI_EXIT_USAGE },
                { "exclusion file add", CLI_EXIT_USAGE },
                { "exclusion file add --path /x --scope local", CLI_EXIT_USAGE },
                { "exclusion file remove --name x", CLI_EXIT_USAGE },
                { "exclusion folder add --path /x --path /y", CLI_EXIT_USAGE },
                { "exclusion process add", CLI_EXIT_USAGE },
                { "exclusion process add --name cat --scope global", CLI_EXIT_USAGE },
                { "exclusion process add --name cat --path /bin/cat", CLI_EXIT_USAGE },
                { "exclusion list extra", CLI_EXIT_USAGE },
                { "scan custom", CLI_EXIT_USAGE },
                { "scan custom --path", CLI_EXIT_USAGE },
                { "scan custom --path= ", CLI_EXIT_USAGE },
                { "scan custom --path x --ignore-exclusions=yes", CLI_EXIT_USAGE },
                { "scan custom --ignore-exclusions", CLI_EXIT_USAGE },
                { "scan quick --path /x", CLI_EXIT_USAGE },
                { "threat get", CLI_EXIT_USAGE },
                /* Valid: they get as far as the (absent) daemon. */
                { "exclusion extension add --name .pdf", CLI_EXIT_UNREACHABLE },
                { "exclusion extension remove --name .pdf --scope epp", CLI_EXIT_UNREACHABLE },
                { "exclusion file add --path /var/log/*.log", CLI_EXIT_UNREACHABLE },
                { "exclusion folder remove --path /var/log/ --scope global",
                  CLI_EXIT_UNREACHABLE },
                { "exclusion process add --name cat", CLI_EXIT_UNREACHABLE },
                { "exclusion process add --path /bin/cat --scope global", CLI_EXIT_UNREACHABLE },
                { "exclusion list", CLI_EXIT_UNREACHABLE },
                { "scan custom --path a --path /b --ignore-exclusions", CLI_EXIT_UNREACHABLE },
                { "scan quick", CLI_EXIT_UNREACHABLE },
                { "scan cancel", CLI_EXIT_UNREACHABLE },
                { "scan list", CLI_EXIT_UNREACHABLE },
                { "threat list", CLI_EXIT_UNREACHABLE },
                { "threat get --id x", CLI_EXIT_UNREACHABLE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_msg(run(cases[i].args) == cases[i].status, "'%s' did not exit %d",
                              cases[i].args, cases[i].status);
}
END_TEST

/* ---- options ---- */

START_TEST(test_args_switch_and_repeat) {
        char *argv[] = { (char *) "--path", (char *) "a", (char *) "--ignore-exclusions",
                         (char *) "--path=b", NULL };
        const char *values[5] = {};
        CliFlag flags[] = {
                { .name = "--path", .required = true, .values = values },
                { .name = "--ignore-exclusions", .is_switch = true },
        };
        const CliVerb verb = { .name = "custom", .usage = "--path <p>" };
        CliInvocation inv = {
                .verb = &verb, .command = "mdatp scan custom", .argc = 4, .argv = argv,
        };

        report_reset();
        ck_assert_int_eq(args_parse(&inv, flags, ELEMENTSOF(flags)), 0);
        ck_assert_uint_eq(flags[0].n_values, 2);
        ck_assert_str_eq(values[0], "a");
        ck_assert_str_eq(values[1], "b");
        ck_assert_str_eq(flags[0].value, "b");
        ck_assert_str_eq(flags[1].value, "true");

        /* Parsing again starts afresh; a switch given twice is refused like any flag. */
        argv[0] = (char *) "--ignore-exclusions";
        argv[1] = (char *) "--ignore-exclusions";
        inv.argc = 2;
        ck_assert_int_eq(args_parse(&inv, flags, ELEMENTSOF(flags)), -EINVAL);
        ck_assert_int_eq(report_exit_status(-EINVAL), CLI_EXIT_USAGE);
        report_reset();
        inv.argc = 1;
        ck_assert_int_eq(args_parse(&inv, flags, ELEMENTSOF(flags)), -EINVAL);
        ck_assert_uint_eq(flags[0].n_values, 0);
}
END_TEST

START_TEST(test_report_status_only) {
        /* A cancelled scan exits 1 without a second message; an earlier report still wins. */
        report_reset();
        ck_assert_int_eq(report_status_only(CLI_EXIT_FAILURE, 0), -EIO);
        ck_assert(report_pending());
        ck_assert_int_eq(report_exit_status(-ECANCELED), CLI_EXIT_FAILURE);
        report_reset();
        (void) report_error(CLI_EXIT_UNREACHABLE, -ECONNRESET, "first");
        ck_assert_int_eq(report_status_only(CLI_EXIT_FAILURE, -ECANCELED), -ECANCELED);
        ck_assert_int_eq(report_exit_status(-ECANCELED), CLI_EXIT_UNREACHABLE);
        report_reset();
}
END_TEST

/* ---- health: the last on-demand scan ---- */

static void add_u64(CliValueList *l, const char *name, uint64_t u) {
        CliNamedValue *item;

        ck_assert_int_eq(cli_value_list_add(l, name, &item), 0);
        item->value = (CliValue) { .type = CLI_VALUE_UINT64, .u = u };
}

START_TEST(test_health_last_scan) {
        _cleanup_(cli_value_list_done) CliValueList props = CLI_VALUE_LIST_INIT;
        _cleanup_(cli_value_list_done) CliValueList none = CLI_VALUE_LIST_INIT;
        _cleanup_free_ char *text = NULL, *json = NULL, *missing = NULL;
        CliNamedValue *item;
        HealthData d = { .properties = &props, .settings = &none };

        add_u64(&props, "LastOnDemandScanStartTime", T_START);
        add_u64(&props, "LastOnDemandScanEndTime", T_END);
        ck_assert_int_eq(cli_value_list_add(&props, "LastOnDemandScanType", &item), 0);
        ck_assert_int_eq(cli_value_new_string("quick", &item->value), 0);
        add_u64(&props, "LastOnDemandScanThreatCount", 2);
        add_u64(&props, "LastOnDemandScanFilesScanned", 1234);

        ck_assert_int_eq(health_render_text(HEALTH_VIEW_ANTIVIRUS, &d, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "last_on_demand_scan_start_time              : "
                                           "Jan 05, 2023 at 03:18:39 PM\n"));
        ck_assert_ptr_nonnull(strstr(text, "last_on_demand_scan_end_time                : "
                                           "Jan 05, 2023 at 03:19:44 PM\n"));
        ck_assert_ptr_nonnull(strstr(text, "last_on_demand_scan_type                    : "
                                           "\"quick\"\n"));
        ck_assert_ptr_nonnull(strstr(text, "last_on_demand_scan_threat_count            : 2\n"));
        ck_assert_ptr_nonnull(strstr(text, "last_on_demand_scan_files_scanned           : "
                                           "1234\n"));

        ck_assert_int_eq(health_render_json(HEALTH_VIEW_ANTIVIRUS, &d, &json), 0);
        ck_assert_ptr_nonnull(strstr(json, "\"lastOnDemandScanStartTime\":\"1672931919000\""));
        ck_assert_ptr_nonnull(strstr(json, "\"lastOnDemandScanFilesScanned\":1234"));

        /* An older daemon without them: unavailable, not an error. */
        d.properties = &none;
        ck_assert_int_eq(health_render_text(HEALTH_VIEW_ANTIVIRUS, &d, &missing), 0);
        ck_assert_ptr_nonnull(strstr(missing, "last_on_demand_scan_threat_count            : "
                                              "unavailable\n"));
}
END_TEST

static Suite *commands_suite(void) {
        Suite *s = suite_create("cli-commands");
        TCase *tc;

        tc = tcase_create("format");
        tcase_add_test(tc, test_format_scan_time_bytes_duration);
        suite_add_tcase(s, tc);

        tc = tcase_create("scan");
        tcase_add_test(tc, test_scan_summary);
        tcase_add_test(tc, test_scan_progress);
        tcase_add_test(tc, test_scan_json);
        tcase_add_test(tc, test_scan_read_properties);
        tcase_add_test(tc, test_scan_list);
        tcase_add_test(tc, test_scan_path_absolute);
        tcase_add_test(tc, test_scan_capitalize);
        suite_add_tcase(s, tc);

        tc = tcase_create("threat");
        tcase_add_test(tc, test_threat_views);
        tcase_add_test(tc, test_threat_empty);
        tcase_add_test(tc, test_threat_history);
        tcase_add_test(tc, test_rtp_statistics);
        suite_add_tcase(s, tc);

        tc = tcase_create("exclusion");
        tcase_add_test(tc, test_exclusion_views);
        tcase_add_test(tc, test_exclusion_merge_and_empty);
        tcase_add_test(tc, test_exclusion_request_check);
        suite_add_tcase(s, tc);

        tc = tcase_create("verbs");
        tcase_add_test(tc, test_verbs_usage);
        tcase_add_test(tc, test_args_switch_and_repeat);
        tcase_add_test(tc, test_report_status_only);
        suite_add_tcase(s, tc);

        tc = tcase_create("health");
        tcase_add_test(tc, test_health_last_scan);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        /* Dates in the expectations are UTC; meson sets TZ too. No daemon: nothing to reach. */
        (void) setenv("TZ", "UTC", 1);
        tzset();
        (void) setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/mdatp-test-bus", 1);

        sr = srunner_create(commands_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
