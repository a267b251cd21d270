/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/engine: rules snapshots, plain files, archives (zip, tar.gz, tar.bz2,
 * tar.xz, gz, nested), limits and archive bombs, broken archives, special files, files changing
 * while read, snapshot swaps and concurrent scanners.
 *
 * Every sample is made at run time in a temporary directory. The EICAR test string is put
 * together from two halves, so that this source never holds it in one piece.
 */

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "engine/engine.h"
#include "util/macro.h"

/* ---------------------------------------------------------------------------------------------
 * Samples
 */

#define EICAR_HALF_1 "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR"
#define EICAR_HALF_2 "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#define EICAR_NAME "Virus:DOS/EICAR_Test_File"

#define PUA_MARKER "MDATP-TEST-PUA-MARKER"
#define PUA_NAME "PUA:Linux/TestApplication"
#define UNNAMED_MARKER "MDATP-TEST-UNNAMED-MARKER"
#define BLOCKED_CONTENT "MDATP-TEST-HASH-BLOCKED-CONTENT\n"
#define BLOCKED_NAME "Trojan:Linux/TestHash"
#define MARKER_A "MDATP-TEST-MARKER-A"
#define MARKER_B "MDATP-TEST-MARKER-B"

static char eicar[80];
static size_t eicar_len;
static char tmpdir[256];
static EngineRules *rules;      /* the default snapshot of the tests */

/* The rule's two strings are the two halves: `$a at 0 and $b at 33` is the whole string. */
static const char eicar_rule[] =
        "rule eicar_test {\n"
        "  meta:\n"
        "    threat_name = \"" EICAR_NAME "\"\n"
        "    threat_type = \"virus\"\n"
        "  strings:\n"
        "    $a = \"X5O!P%@AP[4\\\\PZX54(P^)7CC)7}$EICAR\"\n"
        "    $b = \"" EICAR_HALF_2 "\"\n"
        "  condition:\n"
        "    $a at 0 and $b at 33 and filesize <= 128\n"
        "}\n";

static const char pua_rule[] =
        "rule pua_tool {\n"
        "  meta:\n"
        "    threat_name = \"" PUA_NAME "\"\n"
        "    threat_type = \"potentially_unwanted_application\"\n"
        "  strings:\n"
        "    $ = \"" PUA_MARKER "\"\n"
        "  condition:\n"
        "    any of them\n"
        "}\n";

static const char misc_rules[] =
        "import \"console\"\n"
        "rule unnamed_marker {\n"
        "  strings:\n"
        "    $ = \"" UNNAMED_MARKER "\"\n"
        "  condition:\n"
        "    all of them\n"
        "}\n"
        "rule talkative {\n"
        "  condition:\n"
        "    console.log(\"a rule talking\") and false\n"
        "}\n";

static void sha256(const void *p, size_t n, uint8_t ret[static ENGINE_SHA256_SIZE]) {
        unsigned len = 0;

        ck_assert_int_eq(EVP_Digest(p, n, ret, &len, EVP_sha256(), NULL), 1);
        ck_assert_uint_eq(len, ENGINE_SHA256_SIZE);
}

static void sha256_hex(const void *p, size_t n, char ret[static ENGINE_SHA256_HEX_SIZE]) {
        uint8_t d[ENGINE_SHA256_SIZE];

        sha256(p, n, d);
        for (size_t i = 0; i < ENGINE_SHA256_SIZE; i++)
                sprintf(ret + 2 * i, "%02x", d[i]);
}

static EngineRules *make_rules(const char *version) {
        const EngineRuleSource sources[] = {
                { "eicar", eicar_rule },
                { "pua", pua_rule },
                { "misc", misc_rules },
        };
        EngineHashEntry hash = {
                .threat_name = BLOCKED_NAME,
                .threat_type = "trojan",
        };
        _cleanup_free_ char *error = NULL;
        EngineRules *r = NULL;

        sha256(BLOCKED_CONTENT, strlen(BLOCKED_CONTENT), hash.sha256);
        ck_assert_int_eq(engine_rules_new(sources, ELEMENTSOF(sources), &hash, 1, version, &r,
                                          &error), 0);
        ck_assert_ptr_null(error);
        ck_assert_ptr_nonnull(r);
        return r;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

static void setup(void) {
        const char *t = getenv("TMPDIR") ?: "/tmp";

        snprintf(eicar, sizeof(eicar), "%s%s", EICAR_HALF_1, EICAR_HALF_2);
        eicar_len = strlen(eicar);
        ck_assert_uint_eq(eicar_len, 68);

        snprintf(tmpdir, sizeof(tmpdir), "%s/test-engine-XXXXXX", t);
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));

        ck_assert_int_eq(engine_global_init(), 0);
        rules = make_rules("test-1");
}

static void teardown(void) {
        rules = engine_rules_unref(rules);
        engine_global_done();
        (void) nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmp_path(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, name), 0);
        return p;
}

static void write_file(const char *name, const void *data, size_t size) {
        _cleanup_free_ char *p = tmp_path(name);
        _cleanup_close_ int fd = -EBADF;

        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, size), (ssize_t) size);
}

/* A member of an archive made by make_archive(). */
typedef struct Member {
        const char *name;
        const void *data;
        size_t size;
} Member;

/*
 * An archive in memory: format "zip", "ustar" or "raw" (one member: a compressed stream),
 * filter "none", "gzip", "bzip2" or "xz"; options like "zip:compression=store" or NULL.
 * Returns a malloc()ed buffer.
 */
static void *make_archive(const char *format, const char *filter, const char *options,
                          const Member *members, size_t n, size_t *ret_size) {
        struct archive *a;
        size_t cap = 256 << 10, used = 0;
        uint8_t *buf;

        for (size_t i = 0; i < n; i++)
                cap += members[i].size + 1024;
        buf = malloc(cap);
        ck_assert_ptr_nonnull(buf);

        a = archive_write_new();
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(archive_write_set_format_by_name(a, format), ARCHIVE_OK);
        if (!streq(filter, "none"))
                ck_assert_int_eq(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
        if (options)
                ck_assert_int_eq(archive_write_set_options(a, options), ARCHIVE_OK);
        if (options && strstr(options, "encryption"))
                ck_assert_int_eq(archive_write_set_passphrase(a, "secret"), ARCHIVE_OK);
        /* No padding of tar output to 10 KiB blocks: it would only slow things down. */
        ck_assert_int_eq(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);

        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();

                archive_entry_set_pathname(e, members[i].name);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (la_int64_t) members[i].size);
                archive_entry_set_mtime(e, 1700000000, 0);
                ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
                ck_assert_int_eq(archive_write_data(a, members[i].data, members[i].size),
                                 (la_ssize_t) members[i].size);
                archive_entry_free(e);
        }
        ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);

        *ret_size = used;
        return buf;
}

/* Scans file name in tmpdir with opts (NULL: defaults) and snapshot r (NULL: `rules`). */
static void scan_with(EngineRules *r, const char *name, const EngineScanOptions *opts,
                      EngineResult *ret) {
        _cleanup_(engine_scanner_freep) EngineScanner *s = NULL;
        _cleanup_free_ char *p = tmp_path(name);
        _cleanup_close_ int fd = -EBADF;

        s = engine_scanner_new();
        ck_assert_ptr_nonnull(s);
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(engine_scan_fd(s, r ?: rules, fd, name, opts, ret), 0);
}

static void scan(const char *name, const EngineScanOptions *opts, EngineResult *ret) {
        scan_with(NULL, name, opts, ret);
}

static void assert_detected(const EngineResult *r, const char *threat_name, const char *type,
                            const char *member) {
        ck_assert_msg(r->verdict == ENGINE_VERDICT_DETECTED, "verdict %s (%s)",
                      engine_verdict_to_string(r->verdict), r->reason ?: "-");
        ck_assert_str_eq(r->threat_name, threat_name);
        ck_assert_str_eq(r->threat_type, type);
        if (member)
                ck_assert_str_eq(r->member_path, member);
        else
                ck_assert_ptr_null(r->member_path);
}

static void assert_bomb(const EngineResult *r, const char *member) {
        assert_detected(r, ENGINE_THREAT_NAME_ARCHIVE_BOMB, ENGINE_THREAT_TYPE_ARCHIVE_BOMB,
                        member);
        ck_assert_ptr_null(r->rule);
        ck_assert_ptr_nonnull(r->reason);
}

static void assert_clean(const EngineResult *r) {
        ck_assert_msg(r->verdict == ENGINE_VERDICT_CLEAN, "verdict %s: %s %s (%s)",
                      engine_verdict_to_string(r->verdict), r->threat_name ?: "-",
                      r->member_path ?: "-", r->reason ?: "-");
        ck_assert_ptr_null(r->threat_name);
        ck_assert_ptr_null(r->member_path);
}

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------------------------------------
 * Rules snapshots
 */

START_TEST(test_rules_basics) {
        ck_assert_str_eq(engine_rules_get_version(rules), "test-1");
        ck_assert_uint_eq(engine_rules_get_n_rules(rules), 4);
        ck_assert_uint_eq(engine_rules_get_n_hashes(rules), 1);
        ck_assert_uint_eq(engine_rules_get_n_refs(rules), 1);
        ck_assert_ptr_eq(engine_rules_ref(rules), rules);
        ck_assert_uint_eq(engine_rules_get_n_refs(rules), 2);
        ck_assert_ptr_null(engine_rules_unref(rules));
        ck_assert_uint_eq(engine_rules_get_n_refs(rules), 1);
        ck_assert_ptr_null(engine_rules_unref(NULL));
        ck_assert_ptr_null(engine_rules_ref(NULL));

        ck_assert(engine_threat_type_is_valid("potentially_unwanted_application"));
        ck_assert(!engine_threat_type_is_valid("Virus"));
        ck_assert(!engine_threat_type_is_valid(""));
        ck_assert(!engine_threat_type_is_valid(NULL));

        ck_assert_str_eq(engine_verdict_to_string(ENGINE_VERDICT_DETECTED), "detected");
        ck_assert_ptr_null(engine_verdict_to_string(_ENGINE_VERDICT_MAX));
        ck_assert_str_eq(engine_note_to_string(ENGINE_NOTE_ARCHIVE_LIMIT), "archive-limit");
        ck_assert_ptr_null(engine_note_to_string(ENGINE_NOTE_ARCHIVE_LIMIT | 1));
}
END_TEST

START_TEST(test_rules_compile_error) {
        const EngineRuleSource sources[] = {
                { "good", "rule fine { condition: true }\n" },
                { "broken",
                  "rule ok { condition: true }\n"
                  "rule bad {\n"
                  "  condition:\n"
                  "    true and\n"
                  "}\n" },
        };
        _cleanup_free_ char *error = NULL;
        EngineRules *r = NULL;

        ck_assert_int_eq(engine_rules_new(sources, 2, NULL, 0, "x", &r, &error), -EINVAL);
        ck_assert_ptr_null(r);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(strstr(error, "broken:5: syntax error"), "message: %s", error);
        ck_assert_msg(!strstr(error, "good"), "message: %s", error);
}
END_TEST

START_TEST(test_rules_invalid) {
        const EngineRuleSource bad_type[] = {
                { "meta", "rule t { meta: threat_type = \"Trojan!\" condition: true }" },
        };
        const EngineRuleSource bad_name[] = {
                { "meta", "rule n { meta: threat_name = 1 condition: true }" },
        };
        const EngineRuleSource include[] = {
                { "inc", "include \"/etc/passwd\"\nrule i { condition: true }" },
        };
        const EngineRuleSource unnamed[] = {
                { NULL, "rule u { condition: true }" },
        };
        EngineHashEntry hash = { .threat_name = "X:Y/Z", .threat_type = "Bad Type" };
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL;
        EngineRules *r = NULL;

        ck_assert_int_eq(engine_rules_new(bad_type, 1, NULL, 0, "x", &r, &e1), -EINVAL);
        ck_assert_msg(strstr(e1, "meta:t: meta threat_type"), "message: %s", e1);
        ck_assert_int_eq(engine_rules_new(bad_name, 1, NULL, 0, "x", &r, &e2), -EINVAL);
        ck_assert_msg(strstr(e2, "meta:n: meta threat_name"), "message: %s", e2);
        ck_assert_int_eq(engine_rules_new(include, 1, NULL, 0, "x", &r, &e3), -EINVAL);
        ck_assert_msg(strstr(e3, "inc:1:"), "message: %s", e3);
        ck_assert_int_eq(engine_rules_new(NULL, 0, &hash, 1, "x", &r, &e4), -EINVAL);
        ck_assert_msg(strstr(e4, "hash entry 0"), "message: %s", e4);
        ck_assert_int_eq(engine_rules_new(unnamed, 1, NULL, 0, "x", &r, &e5), -EINVAL);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(engine_rules_new(NULL, 0, NULL, 0, "x", NULL, NULL), -EINVAL);

        /* No sources, no hashes: a valid, empty snapshot that detects nothing. */
        ck_assert_int_eq(engine_rules_new(NULL, 0, NULL, 0, NULL, &r, NULL), 0);
        ck_assert_str_eq(engine_rules_get_version(r), "");
        ck_assert_uint_eq(engine_rules_get_n_rules(r), 0);
        {
                _cleanup_(engine_result_done) EngineResult res = ENGINE_RESULT_INIT;

                write_file("eicar.com", eicar, eicar_len);
                scan_with(r, "eicar.com", NULL, &res);
                assert_clean(&res);
        }
        engine_rules_unref(r);
}
END_TEST

START_TEST(test_rules_hash_duplicates) {
        EngineHashEntry h[3] = {
                { .threat_name = "First:Linux/One", .threat_type = "trojan" },
                { .threat_name = "Other:Linux/Two", .threat_type = "virus" },
                { .threat_name = "Second:Linux/One", .threat_type = "miner" },
        };
        _cleanup_(engine_result_done) EngineResult res = ENGINE_RESULT_INIT;
        EngineRules *r = NULL;

        sha256(BLOCKED_CONTENT, strlen(BLOCKED_CONTENT), h[0].sha256);
        sha256("other", 5, h[1].sha256);
        memcpy(h[2].sha256, h[0].sha256, ENGINE_SHA256_SIZE);
        ck_assert_int_eq(engine_rules_new(NULL, 0, h, 3, "d", &r, NULL), 0);
        ck_assert_uint_eq(engine_rules_get_n_hashes(r), 2);

        write_file("blocked", BLOCKED_CONTENT, strlen(BLOCKED_CONTENT));
        scan_with(r, "blocked", NULL, &res);
        assert_detected(&res, "First:Linux/One", "trojan", NULL);
        ck_assert_ptr_null(res.rule);
        engine_rules_unref(r);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * Plain files
 */

START_TEST(test_eicar_plain) {
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;

        write_file("eicar.com", eicar, eicar_len);
        scan("eicar.com", NULL, &r);
        assert_detected(&r, EICAR_NAME, "virus", NULL);
        ck_assert_str_eq(r.rule, "eicar:eicar_test");
        ck_assert_str_eq(r.path, "eicar.com");
        ck_assert_uint_eq(r.file_size, eicar_len);
        ck_assert_uint_eq(r.bytes_scanned, eicar_len);
        /* The block list is not empty, so the hash is there. */
        {
                char hex[ENGINE_SHA256_HEX_SIZE];

                sha256_hex(eicar, eicar_len, hex);
                ck_assert_str_eq(r.sha256, hex);
        }
}
END_TEST

START_TEST(test_clean_files) {
        _cleanup_free_ uint8_t *random_data = NULL;
        char text[4096], shifted[128];
        uint32_t x = 12345;

        for (size_t i = 0; i < sizeof(text); i++)
                text[i] = "abcdefghij klmnopqrstuvwxyz\n"[i % 28];
        write_file("text.txt", text, sizeof(text));

        random_data = malloc(1 << 20);
        ck_assert_ptr_nonnull(random_data);
        for (size_t i = 0; i < 1 << 20; i++) {
                x = x * 1103515245 + 12345;
                random_data[i] = (uint8_t) (x >> 16);
        }
        write_file("random.bin", random_data, 1 << 20);

        /* EICAR not at offset 0 is not the test file. */
        snprintf(shifted, sizeof(shifted), " %s", eicar);
        write_file("shifted.txt", shifted, strlen(shifted));

        /* Looks like a zip to the sniffer, is not one. */
        {
                static const char fake[] = "PK\003\004garbage that is no zip at all, none";

                write_file("fake.zip", fake, sizeof(fake) - 1);
        }

        /* A zip of clean files. */
        {
                const Member m[] = {
                        { "a.txt", text, sizeof(text) },
                        { "b/random.bin", random_data, 65536 },
                };
                _cleanup_free_ void *zip = NULL;
                size_t n;

                zip = make_archive("zip", "none", NULL, m, 2, &n);
                write_file("clean.zip", zip, n);
        }

        static const char *const names[] = {
                "text.txt", "random.bin", "shifted.txt", "fake.zip", "clean.zip",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;

                scan(names[i], NULL, &r);
                assert_clean(&r);
                ck_assert_uint_ge(r.bytes_scanned, 36);
        }
}
END_TEST

START_TEST(test_empty_file) {
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;

        write_file("empty", "", 0);
        o.compute_hash = true;
        scan("empty", &o, &r);
        assert_clean(&r);
        ck_assert_uint_eq(r.file_size, 0);
        ck_assert_uint_eq(r.bytes_scanned, 0);
        ck_assert_str_eq(r.sha256,
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_unnamed_rule) {
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;

        write_file("unnamed", "xx " UNNAMED_MARKER " yy", strlen(UNNAMED_MARKER) + 6);
        scan("unnamed", NULL, &r);
        assert_detected(&r, "Unknown:Generic/unnamed_marker", "virus", NULL);
        ck_assert_str_eq(r.rule, "misc:unnamed_marker");
}
END_TEST

START_TEST(test_too_many_matches) {
        const EngineRuleSource src[] = {
                { "count", "rule many { strings: $a = \"aa\" condition: #a > 5 }" },
        };
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
        _cleanup_free_ char *data = malloc(1100000);
        EngineRules *many = NULL;

        ck_assert_ptr_nonnull(data);
        memset(data, 'a', 1100000);
        write_file("aaaa", data, 1100000);
        ck_assert_int_eq(engine_rules_new(src, 1, NULL, 0, "m", &many, NULL), 0);
        /* More than libyara's 1000000 matches for one string: that string stops counting, the
         * scan goes on, the verdict stands. */
        scan_with(many, "aaaa", NULL, &r);
        assert_detected(&r, "Unknown:Generic/many", "virus", NULL);
        ck_assert(r.notes & ENGINE_NOTE_TOO_MANY_MATCHES);
        engine_rules_unref(many);
}
END_TEST

START_TEST(test_hash_block_list) {
        _cleanup_(engine_result_done) EngineResult r1 = ENGINE_RESULT_INIT, r2 = ENGINE_RESULT_INIT,
                                                   r3 = ENGINE_RESULT_INIT, r4 = ENGINE_RESULT_INIT,
                                                   r5 = ENGINE_RESULT_INIT;
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        const EngineRuleSource src[] = { { "eicar", eicar_rule } };
        char hex[ENGINE_SHA256_HEX_SIZE];
        EngineRules *nohash = NULL;

        write_file("blocked", BLOCKED_CONTENT, strlen(BLOCKED_CONTENT));
        sha256_hex(BLOCKED_CONTENT, strlen(BLOCKED_CONTENT), hex);

        /* Non-empty block list: hashed and looked up even with compute_hash off. */
        o.compute_hash = false;
        scan("blocked", &o, &r1);
        assert_detected(&r1, BLOCKED_NAME, "trojan", NULL);
        ck_assert_ptr_null(r1.rule);
        ck_assert_str_eq(r1.sha256, hex);

        /* Over max_hash_bytes: no hash, no lookup. */
        o.max_hash_bytes = 8;
        scan("blocked", &o, &r2);
        assert_clean(&r2);
        ck_assert_str_eq(r2.sha256, "");
        ck_assert(r2.notes & ENGINE_NOTE_HASH_SKIPPED);

        /* Empty block list: hash only when asked. */
        ck_assert_int_eq(engine_rules_new(src, 1, NULL, 0, "nohash", &nohash, NULL), 0);
        o = (EngineScanOptions) ENGINE_SCAN_OPTIONS_DEFAULT;
        scan_with(nohash, "blocked", &o, &r3);
        assert_clean(&r3);
        ck_assert_str_eq(r3.sha256, "");
        ck_assert(!(r3.notes & ENGINE_NOTE_HASH_SKIPPED));
        o.compute_hash = true;
        scan_with(nohash, "blocked", &o, &r4);
        assert_clean(&r4);
        ck_assert_str_eq(r4.sha256, hex);
        engine_rules_unref(nohash);

        /* A blocked member inside an archive. */
        {
                const Member m[] = {
                        { "x/blocked.txt", BLOCKED_CONTENT, strlen(BLOCKED_CONTENT) },
                };
                _cleanup_free_ void *zip = NULL;
                size_t n;

                zip = make_archive("zip", "none", NULL, m, 1, &n);
                write_file("blocked.zip", zip, n);
                scan("blocked.zip", NULL, &r5);
                assert_detected(&r5, BLOCKED_NAME, "trojan", "x/blocked.txt");
                ck_assert_str_eq(r5.path, "blocked.zip");
        }
}
END_TEST

START_TEST(test_ignored_types) {
        char *const ignore_pua[] = { (char *) ENGINE_THREAT_TYPE_PUA, NULL };
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        _cleanup_(engine_result_done) EngineResult r1 = ENGINE_RESULT_INIT, r2 = ENGINE_RESULT_INIT,
                                                   r3 = ENGINE_RESULT_INIT;

        write_file("pua.bin", "tool " PUA_MARKER " end", strlen(PUA_MARKER) + 9);

        scan("pua.bin", &o, &r1);
        assert_detected(&r1, PUA_NAME, "potentially_unwanted_application", NULL);
        ck_assert_str_eq(r1.rule, "pua:pua_tool");

        o.ignored_types = ignore_pua;
        scan("pua.bin", &o, &r2);
        assert_clean(&r2);
        ck_assert(r2.notes & ENGINE_NOTE_IGNORED_MATCH);

        /* An ignored match does not stop the scan: another rule still detects. */
        {
                const Member m[] = {
                        { "pua.bin", "tool " PUA_MARKER, strlen(PUA_MARKER) + 5 },
                        { "eicar.com", eicar, eicar_len },
                };
                _cleanup_free_ void *zip = NULL;
                size_t n;

                zip = make_archive("zip", "none", NULL, m, 2, &n);
                write_file("both.zip", zip, n);
                scan("both.zip", &o, &r3);
                assert_detected(&r3, EICAR_NAME, "virus", "eicar.com");
        }
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * Archives
 */

static void check_eicar_archive(const char *file, const char *format, const char *filter,
                                const char *member_name, const char *expected_member) {
        const Member m[] = {
                { "readme.txt", "nothing to see here\n", 20 },
                { member_name, eicar, eicar_len },
        };
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
        _cleanup_free_ void *data = NULL;
        size_t n;
        bool raw = streq(format, "raw");

        data = make_archive(format, filter, NULL, raw ? m + 1 : m, raw ? 1 : 2, &n);
        write_file(file, data, n);
        scan(file, NULL, &r);
        assert_detected(&r, EICAR_NAME, "virus", expected_member);
        /* The file and the member come apart: the path is the file's alone. */
        ck_assert_str_eq(r.path, file);

        /* Archives off: the container alone is clean. */
        {
                EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
                _cleanup_(engine_result_done) EngineResult r2 = ENGINE_RESULT_INIT;

                o.scan_archives = false;
                scan(file, &o, &r2);
                assert_clean(&r2);
        }
}

START_TEST(test_eicar_zip) {
        check_eicar_archive("sample.zip", "zip", "none", "dir/eicar.com", "dir/eicar.com");
}
END_TEST

START_TEST(test_eicar_tar_gz) {
        check_eicar_archive("sample.tar.gz", "ustar", "gzip", "a/b/eicar.com", "a/b/eicar.com");
}
END_TEST

START_TEST(test_eicar_tar_bz2) {
        check_eicar_archive("sample.tar.bz2", "ustar", "bzip2", "eicar.com", "eicar.com");
}
END_TEST

START_TEST(test_eicar_tar_xz) {
        check_eicar_archive("sample.tar.xz", "ustar", "xz", "eicar.com", "eicar.com");
}
END_TEST

START_TEST(test_eicar_tar) {
        check_eicar_archive("sample.tar", "ustar", "none", "eicar.com", "eicar.com");
}
END_TEST

START_TEST(test_eicar_gz) {
        /* A plain compressed file: its content is named after it minus the suffix. */
        check_eicar_archive("eicar.com.gz", "raw", "gzip", "ignored", "eicar.com");
        check_eicar_archive("noext", "raw", "xz", "ignored", "data");
        check_eicar_archive("sample.tgz", "raw", "gzip", "ignored", "sample.tar");
}
END_TEST

START_TEST(test_gz_zero_prefix) {
        /* Decompressed, this starts like the end of an empty tar; the content is still scanned. */
        _cleanup_free_ uint8_t *data = calloc(1, 4096);
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
        _cleanup_free_ void *gz = NULL;
        size_t n;

        ck_assert_ptr_nonnull(data);
        memcpy(data + 2048, PUA_MARKER, strlen(PUA_MARKER));
        {
                const Member m[] = { { "ignored", data, 4096 } };
                gz = make_archive("raw", "gzip", NULL, m, 1, &n);
        }
        write_file("pad.gz", gz, n);
        scan("pad.gz", NULL, &r);
        assert_detected(&r, PUA_NAME, "potentially_unwanted_application", "pad");
}
END_TEST

/* Names with the member separator in them: the file and the member are reported apart, the path
 * is exactly the file that was scanned (its identity too), and a member name is never resolved,
 * so "../x" is only a label. */
START_TEST(test_separator_in_names) {
        static const char * const files[] = { "->x", "victim.txt->", "victim.txt->a->b" };
        const Member m[] = { { "../x", eicar, eicar_len } };
        _cleanup_free_ void *zip = NULL;
        size_t n;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
                _cleanup_free_ char *p = tmp_path(files[i]);
                struct stat st;

                write_file(files[i], eicar, eicar_len);
                ck_assert_int_eq(stat(p, &st), 0);
                scan(files[i], NULL, &r);
                assert_detected(&r, EICAR_NAME, "virus", NULL);
                ck_assert_str_eq(r.path, files[i]);
                ck_assert_uint_eq(r.dev, (uint64_t) st.st_dev);
                ck_assert_uint_eq(r.ino, (uint64_t) st.st_ino);
        }

        zip = make_archive("zip", "none", NULL, m, 1, &n);
        write_file("a->b.zip", zip, n);
        {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;

                scan("a->b.zip", NULL, &r);
                assert_detected(&r, EICAR_NAME, "virus", "../x");
                ck_assert_str_eq(r.path, "a->b.zip");
                ck_assert_uint_ne(r.ino, 0);
        }
}
END_TEST


START_TEST(test_eicar_nested) {
        const Member l3[] = { { "dir/eicar.com", eicar, eicar_len } };
        _cleanup_free_ void *inner = NULL, *mid = NULL, *outer = NULL;
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
        size_t n_inner, n_mid, n_outer;

        inner = make_archive("zip", "none", NULL, l3, 1, &n_inner);
        {
                const Member l2[] = {
                        { "deep/note.txt", "hello\n", 6 },
                        { "deep/inner.zip", inner, n_inner },
                };
                mid = make_archive("ustar", "gzip", NULL, l2, 2, &n_mid);
        }
        {
                const Member l1[] = { { "inner/mid.tar.gz", mid, n_mid } };
                outer = make_archive("zip", "none", NULL, l1, 1, &n_outer);
        }
        write_file("outer.zip", outer, n_outer);

        scan("outer.zip", NULL, &r);
        assert_detected(&r, EICAR_NAME, "virus",
                        "inner/mid.tar.gz->deep/inner.zip->dir/eicar.com");
        ck_assert_str_eq(r.path, "outer.zip");
        /* outer + mid.tar.gz + (note, inner.zip) + eicar.com were all handed to YARA. */
        ck_assert_uint_eq(r.bytes_scanned, n_outer + n_mid + 6 + n_inner + eicar_len);
}
END_TEST

/* zip CLI over a sparse file of zeros: a ~200 KiB zip holding 200 MiB. */
static void make_zero_bomb(const char *zip_name, uint64_t size) {
        _cleanup_free_ char *zeros = tmp_path("zeros.bin"), *zip = tmp_path(zip_name), *cmd = NULL;
        _cleanup_close_ int fd = -EBADF;
        int status;

        fd = open(zeros, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, (off_t) size), 0);
        ck_assert_int_ge(asprintf(&cmd, "zip -q -j -1 '%s' '%s'", zip, zeros), 0);
        status = system(cmd);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "'%s' failed (zip installed?)",
                      cmd);
        ck_assert_int_eq(unlink(zeros), 0);
}

START_TEST(test_archive_through_fd) {
        /* Larger than max_scan_bytes: the archive is read through the fd, not from memory. */
        _cleanup_free_ uint8_t *noise = malloc(64 << 10);
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        _cleanup_free_ void *tar = NULL;
        size_t n;

        ck_assert_ptr_nonnull(noise);
        for (size_t i = 0; i < 64 << 10; i++)
                noise[i] = (uint8_t) (i * 13 + (i >> 8));
        {
                const Member m[] = { { "noise.bin", noise, 64 << 10 },
                                     { "z/eicar.com", eicar, eicar_len } };
                tar = make_archive("ustar", "none", NULL, m, 2, &n);
        }
        write_file("big.tar", tar, n);
        o.max_scan_bytes = 4096;
        scan("big.tar", &o, &r);
        assert_detected(&r, EICAR_NAME, "virus", "z/eicar.com");
        ck_assert(r.notes & ENGINE_NOTE_SCAN_TRUNCATED);
        ck_assert(r.notes & ENGINE_NOTE_MEMBER_TRUNCATED);
        /* The tar's head, the noise member's head, then eicar.com. */
        ck_assert_uint_eq(r.bytes_scanned, 4096 + 4096 + eicar_len);
}
END_TEST

START_TEST(test_bomb_ratio) {
        char *const ignore_bomb[] = { (char *) ENGINE_THREAT_TYPE_ARCHIVE_BOMB, NULL };
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        _cleanup_(engine_result_done) EngineResult r1 = ENGINE_RESULT_INIT, r2 = ENGINE_RESULT_INIT;
        double t;

        make_zero_bomb("bomb.zip", UINT64_C(200) << 20);

        t = now();
        scan("bomb.zip", NULL, &r1);
        assert_bomb(&r1, NULL);
        ck_assert_ptr_nonnull(strstr(r1.reason, "ratio"));
        ck_assert_ptr_null(r1.rule);
        ck_assert_str_eq(r1.path, "bomb.zip");
        ck_assert_msg(now() - t < 30, "took %.1f s", now() - t);

        o.ignored_types = ignore_bomb;
        scan("bomb.zip", &o, &r2);
        assert_clean(&r2);
        ck_assert(r2.notes & ENGINE_NOTE_ARCHIVE_LIMIT);
}
END_TEST

START_TEST(test_bomb_members) {
        _cleanup_(engine_result_done) EngineResult r1 = ENGINE_RESULT_INIT, r2 = ENGINE_RESULT_INIT;
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        char names[50][16];
        Member m[50];
        _cleanup_free_ void *zip = NULL;
        size_t n;

        for (size_t i = 0; i < 50; i++) {
                snprintf(names[i], sizeof(names[i]), "f%02zu.txt", i);
                m[i] = (Member) { names[i], "x", 1 };
        }
        /* EICAR last: past the limit, so never reached. */
        m[49] = (Member) { "eicar.com", eicar, eicar_len };
        zip = make_archive("zip", "none", NULL, m, 50, &n);
        write_file("many.zip", zip, n);

        o.max_archive_members = 20;
        scan("many.zip", &o, &r1);
        assert_bomb(&r1, NULL);
        ck_assert_ptr_nonnull(strstr(r1.reason, "max_archive_members"));

        o.max_archive_members = 50;
        scan("many.zip", &o, &r2);
        assert_detected(&r2, EICAR_NAME, "virus", "eicar.com");
}
END_TEST

START_TEST(test_bomb_depth) {
        char *const ignore_bomb[] = { (char *) ENGINE_THREAT_TYPE_ARCHIVE_BOMB, NULL };
        const Member m3[] = { { "eicar.com", eicar, eicar_len } };
        _cleanup_free_ void *z3 = NULL, *z2 = NULL, *z1 = NULL;
        _cleanup_(engine_result_done) EngineResult r1 = ENGINE_RESULT_INIT, r2 = ENGINE_RESULT_INIT,
                                                   r3 = ENGINE_RESULT_INIT;
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        size_t n3, n2, n1;

        z3 = make_archive("zip", "none", NULL, m3, 1, &n3);
        {
                const Member m2[] = { { "l3.zip", z3, n3 } };
                z2 = make_archive("zip", "none", NULL, m2, 1, &n2);
        }
        {
                const Member m1[] = { { "l2.zip", z2, n2 }, { "later.zip", z3, n3 } };
                z1 = make_archive("zip", "none", NULL, m1, 2, &n1);
        }
        write_file("deep.zip", z1, n1);

        /* eicar.com is at depth 3. */
        o.max_archive_depth = 2;
        scan("deep.zip", &o, &r1);
        assert_bomb(&r1, "l2.zip->l3.zip");
        ck_assert_ptr_nonnull(strstr(r1.reason, "max_archive_depth"));

        /* Ignored: l3.zip is not entered, but the walk goes on: later.zip->eicar.com is at
         * depth 2. */
        o.ignored_types = ignore_bomb;
        scan("deep.zip", &o, &r2);
        assert_detected(&r2, EICAR_NAME, "virus", "later.zip->eicar.com");
        ck_assert(r2.notes & ENGINE_NOTE_ARCHIVE_LIMIT);

        o.ignored_types = NULL;
        o.max_archive_depth = 3;
        scan("deep.zip", &o, &r3);
        assert_detected(&r3, EICAR_NAME, "virus", "l2.zip->l3.zip->eicar.com");
}
END_TEST

START_TEST(test_bomb_total_bytes) {
        _cleanup_free_ uint8_t *mib = calloc(1, 1 << 20);
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        _cleanup_free_ void *tar = NULL;
        size_t n;

        ck_assert_ptr_nonnull(mib);
        {
                const Member m[] = { { "a", mib, 1 << 20 }, { "b", mib, 1 << 20 },
                                     { "c", mib, 1 << 20 } };
                tar = make_archive("ustar", "gzip", NULL, m, 3, &n);
        }
        write_file("big.tar.gz", tar, n);
        o.max_archive_total_bytes = 2 << 20;
        scan("big.tar.gz", &o, &r);
        assert_bomb(&r, NULL);
        ck_assert_ptr_nonnull(strstr(r.reason, "max_archive_total_bytes"));
}
END_TEST

START_TEST(test_truncated_zip) {
        _cleanup_free_ uint8_t *filler = malloc(65536);
        _cleanup_free_ void *zip1 = NULL, *zip2 = NULL;
        _cleanup_(engine_result_done) EngineResult r1 = ENGINE_RESULT_INIT, r2 = ENGINE_RESULT_INIT;
        size_t n1, n2;

        ck_assert_ptr_nonnull(filler);
        for (size_t i = 0; i < 65536; i++)
                filler[i] = (uint8_t) (i * 7);
        {
                const Member m[] = { { "eicar.com", eicar, eicar_len },
                                     { "filler.bin", filler, 65536 } };
                zip1 = make_archive("zip", "none", "zip:compression=store", m, 2, &n1);
        }
        /* Cut in the middle of the second member: the first is still found. */
        write_file("cut.zip", zip1, n1 / 2);
        scan("cut.zip", NULL, &r1);
        assert_detected(&r1, EICAR_NAME, "virus", "eicar.com");

        {
                const Member m[] = { { "filler.bin", filler, 65536 },
                                     { "eicar.com", eicar, eicar_len } };
                zip2 = make_archive("zip", "none", NULL, m, 2, &n2);
        }
        /* Cut inside the first member: nothing complete, nothing found, no failure. */
        write_file("cut2.zip", zip2, 200);
        scan("cut2.zip", NULL, &r2);
        assert_clean(&r2);
        ck_assert(r2.notes & ENGINE_NOTE_ARCHIVE_CORRUPT);
}
END_TEST

START_TEST(test_corrupt_gzip) {
        static const uint8_t header[] = { 0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03 };
        uint8_t bad[512];
        _cleanup_free_ void *tgz = NULL;
        _cleanup_(engine_result_done) EngineResult r1 = ENGINE_RESULT_INIT, r2 = ENGINE_RESULT_INIT;
        size_t n;

        memcpy(bad, header, sizeof(header));
        for (size_t i = sizeof(header); i < sizeof(bad); i++)
                bad[i] = (uint8_t) (0xff - i);
        write_file("bad.gz", bad, sizeof(bad));
        scan("bad.gz", NULL, &r1);
        assert_clean(&r1);
        ck_assert(r1.notes & ENGINE_NOTE_ARCHIVE_CORRUPT);

        /* A tar.gz cut short: what was decompressed before the cut is still scanned. */
        {
                _cleanup_free_ uint8_t *noise = malloc(256 << 10);
                uint32_t x = 1;

                ck_assert_ptr_nonnull(noise);
                for (size_t i = 0; i < 256 << 10; i++) {
                        x = x * 1664525 + 1013904223;
                        noise[i] = (uint8_t) (x >> 24);
                }
                const Member m[] = { { "eicar.com", eicar, eicar_len },
                                     { "noise.bin", noise, 256 << 10 } };
                tgz = make_archive("ustar", "gzip", NULL, m, 2, &n);
        }
        write_file("cut.tar.gz", tgz, n / 2);
        scan("cut.tar.gz", NULL, &r2);
        assert_detected(&r2, EICAR_NAME, "virus", "eicar.com");
}
END_TEST

START_TEST(test_encrypted_member) {
        _cleanup_free_ void *zip = NULL;
        _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
        const Member m[] = { { "secret.com", eicar, eicar_len }, { "plain.txt", "hi", 2 } };
        size_t n;

        zip = make_archive("zip", "none", "zip:encryption=zipcrypt,zip:compression=store", m, 2,
                           &n);
        write_file("secret.zip", zip, n);
        scan("secret.zip", NULL, &r);
        assert_clean(&r);
        ck_assert(r.notes & ENGINE_NOTE_ENCRYPTED_SKIPPED);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * Special and changing files
 */

START_TEST(test_sparse_huge) {
        _cleanup_free_ char *p = tmp_path("sparse.bin");
        _cleanup_close_ int fd = -EBADF;
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        _cleanup_(engine_result_done) EngineResult r1 = ENGINE_RESULT_INIT, r2 = ENGINE_RESULT_INIT;
        double t;

        fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, (off_t) (UINT64_C(10) << 30)), 0);
        ck_assert_int_eq(pwrite(fd, eicar, eicar_len, 0), (ssize_t) eicar_len);

        o.max_scan_bytes = 4 << 20;
        o.max_hash_bytes = 16 << 20;
        o.compute_hash = true;
        t = now();
        scan("sparse.bin", &o, &r1);
        assert_clean(&r1);      /* EICAR's rule wants filesize <= 128 */
        ck_assert_uint_eq(r1.file_size, UINT64_C(10) << 30);
        ck_assert_uint_eq(r1.bytes_scanned, 4 << 20);
        ck_assert_str_eq(r1.sha256, "");
        ck_assert(r1.notes & ENGINE_NOTE_HASH_SKIPPED);
        ck_assert(r1.notes & ENGINE_NOTE_SCAN_TRUNCATED);
        ck_assert_msg(now() - t < 30, "took %.1f s", now() - t);

        /* Defaults: 64 MiB scanned, no hash (10 GiB > 1 GiB). */
        t = now();
        scan("sparse.bin", NULL, &r2);
        assert_clean(&r2);
        ck_assert_uint_eq(r2.bytes_scanned, ENGINE_MAX_SCAN_BYTES_DEFAULT);
        ck_assert_msg(now() - t < 60, "took %.1f s", now() - t);
}
END_TEST

START_TEST(test_special_files) {
        _cleanup_(engine_scanner_freep) EngineScanner *s = engine_scanner_new();
        _cleanup_free_ char *fifo = tmp_path("fifo");
        EngineScannerStats stats;

        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);

        {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
                _cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(engine_scan_fd(s, rules, fd, fifo, NULL, &r), 0);
                ck_assert_int_eq(r.verdict, ENGINE_VERDICT_SKIPPED);
                ck_assert_str_eq(r.reason, "fifo");
        }
        {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
                _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(engine_scan_fd(s, rules, fd, "/dev/null", NULL, &r), 0);
                ck_assert_int_eq(r.verdict, ENGINE_VERDICT_SKIPPED);
                ck_assert_str_eq(r.reason, "character device");
        }
        {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
                _cleanup_close_ int fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(engine_scan_fd(s, rules, fd, tmpdir, NULL, &r), 0);
                ck_assert_int_eq(r.verdict, ENGINE_VERDICT_SKIPPED);
                ck_assert_str_eq(r.reason, "directory");
        }
        {
                /* A write-only fd cannot be read: an ERROR verdict, not a failure. */
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
                _cleanup_free_ char *p = tmp_path("wo");
                _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(write(fd, "data", 4), 4);
                ck_assert_int_eq(engine_scan_fd(s, rules, fd, p, NULL, &r), 0);
                ck_assert_int_eq(r.verdict, ENGINE_VERDICT_ERROR);
                ck_assert_int_eq(r.error, -EBADF);
                ck_assert_str_eq(r.reason, "read failed");
        }
        {
                EngineResult r = ENGINE_RESULT_INIT;

                ck_assert_int_eq(engine_scan_fd(s, rules, -1, "x", NULL, &r), -EINVAL);
                ck_assert_int_eq(engine_scan_fd(s, NULL, 0, "x", NULL, &r), -EINVAL);
                ck_assert_int_eq(engine_scan_fd(NULL, rules, 0, "x", NULL, &r), -EINVAL);
        }

        engine_scanner_get_stats(s, &stats);
        ck_assert_uint_eq(stats.files_scanned, 4);
        ck_assert_uint_eq(stats.files_skipped, 3);
        ck_assert_uint_eq(stats.files_failed, 1);
        ck_assert_uint_eq(stats.rules_switches, 1);
}
END_TEST

typedef struct Writer {
        int fd;
        atomic_bool stop;
        bool shrink;
} Writer;

static void *writer_thread(void *userdata) {
        Writer *w = userdata;
        char block[4096];
        unsigned i = 0;

        memset(block, 'g', sizeof(block));
        while (!atomic_load(&w->stop)) {
                if (w->shrink && ++i % 16 == 0) {
                        /* Back to just the marker, then grow again. */
                        if (ftruncate(w->fd, (off_t) strlen(PUA_MARKER)) < 0)
                                break;
                }
                if (write(w->fd, block, sizeof(block)) < 0)
                        break;
        }
        return NULL;
}

static void check_changing_file(bool shrink) {
        _cleanup_(engine_scanner_freep) EngineScanner *s = engine_scanner_new();
        _cleanup_free_ char *p = tmp_path("growing");
        _cleanup_close_ int wfd = -EBADF, rfd = -EBADF;
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        Writer w = { .shrink = shrink };
        pthread_t t;

        ck_assert_ptr_nonnull(s);
        wfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
        ck_assert_int_ge(wfd, 0);
        ck_assert_int_eq(write(wfd, PUA_MARKER, strlen(PUA_MARKER)), (ssize_t) strlen(PUA_MARKER));
        rfd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(rfd, 0);

        w.fd = wfd;
        ck_assert_int_eq(pthread_create(&t, NULL, writer_thread, &w), 0);

        o.compute_hash = true;
        o.max_scan_bytes = 256 << 10;   /* keep valgrind runs short */
        for (unsigned i = 0; i < 60; i++) {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;

                ck_assert_int_eq(engine_scan_fd(s, rules, rfd, "growing", &o, &r), 0);
                /* The marker is always at the head. */
                assert_detected(&r, PUA_NAME, "potentially_unwanted_application", NULL);
                if (shrink) {
                        /* Reading past a truncation never fails nor hashes a mix. */
                        if (r.notes & ENGINE_NOTE_FILE_CHANGED)
                                ck_assert_str_eq(r.sha256, "");
                }
        }

        atomic_store(&w.stop, true);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
}

START_TEST(test_growing_file) {
        check_changing_file(false);
}
END_TEST

START_TEST(test_shrinking_file) {
        check_changing_file(true);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * Snapshots and threads
 */

static EngineRules *make_marker_rules(const char *version, const char *marker) {
        _cleanup_free_ char *text = NULL;
        EngineRules *r = NULL;

        ck_assert_int_ge(asprintf(&text,
                                  "rule marker {\n"
                                  "  meta:\n"
                                  "    threat_name = \"Test:Linux/%s\"\n"
                                  "    threat_type = \"trojan\"\n"
                                  "  strings:\n"
                                  "    $ = \"%s\"\n"
                                  "  condition:\n"
                                  "    any of them\n"
                                  "}\n", version, marker), 0);
        const EngineRuleSource src[] = { { "markers", text } };
        ck_assert_int_eq(engine_rules_new(src, 1, NULL, 0, version, &r, NULL), 0);
        return r;
}

START_TEST(test_snapshot_swap) {
        _cleanup_(engine_scanner_freep) EngineScanner *s = engine_scanner_new();
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        EngineRules *current, *held, *v1, *v2;
        EngineScannerStats stats;

        ck_assert_ptr_nonnull(s);
        write_file("markers", MARKER_A " " MARKER_B, strlen(MARKER_A) * 2 + 1);
        p = tmp_path("markers");
        fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);

        /* The main thread publishes v1; a worker takes a reference for its scan. */
        current = v1 = make_marker_rules("v1", MARKER_A);
        held = engine_rules_ref(current);
        ck_assert_uint_eq(engine_rules_get_n_refs(v1), 2);

        /* The main thread swaps in v2 and drops its reference to v1. */
        current = v2 = make_marker_rules("v2", MARKER_B);
        engine_rules_unref(v1);
        ck_assert_uint_eq(engine_rules_get_n_refs(v1), 1);

        /* The worker's scan still runs on v1. */
        {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;

                ck_assert_int_eq(engine_scan_fd(s, held, fd, "markers", NULL, &r), 0);
                assert_detected(&r, "Test:Linux/v1", "trojan", NULL);
        }
        /* The scanner keeps v1 for its YR_SCANNER; the worker's own reference goes. */
        ck_assert_uint_eq(engine_rules_get_n_refs(v1), 2);
        held = engine_rules_unref(held);
        ck_assert_uint_eq(engine_rules_get_n_refs(v1), 1);

        /* Next scan on v2: the scanner switches, and v1's last reference goes (ASan/valgrind
         * would report it otherwise). */
        held = engine_rules_ref(current);
        {
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;

                ck_assert_int_eq(engine_scan_fd(s, held, fd, "markers", NULL, &r), 0);
                assert_detected(&r, "Test:Linux/v2", "trojan", NULL);
        }
        ck_assert_uint_eq(engine_rules_get_n_refs(v2), 3);
        engine_scanner_drop_rules(s);
        ck_assert_uint_eq(engine_rules_get_n_refs(v2), 2);
        held = engine_rules_unref(held);
        engine_rules_unref(current);

        engine_scanner_get_stats(s, &stats);
        ck_assert_uint_eq(stats.rules_switches, 2);
        ck_assert_uint_eq(stats.files_detected, 2);
}
END_TEST

typedef struct SwapShared {
        pthread_mutex_t lock;
        EngineRules *current;
        atomic_bool stop;
        const char *path;
        unsigned scans;
} SwapShared;

static void *swap_worker(void *userdata) {
        SwapShared *sh = userdata;
        EngineScanner *s = engine_scanner_new();
        int fd = open(sh->path, O_RDONLY | O_CLOEXEC);
        void *ok = (void *) 1;

        if (!s || fd < 0)
                ok = NULL;
        while (ok && !atomic_load(&sh->stop)) {
                EngineResult r = ENGINE_RESULT_INIT;
                char expected[64];
                EngineRules *held;

                pthread_mutex_lock(&sh->lock);
                held = engine_rules_ref(sh->current);
                pthread_mutex_unlock(&sh->lock);

                snprintf(expected, sizeof(expected), "Test:Linux/%s",
                         engine_rules_get_version(held));
                if (engine_scan_fd(s, held, fd, "markers", NULL, &r) < 0 ||
                    r.verdict != ENGINE_VERDICT_DETECTED || !streq(r.threat_name, expected))
                        ok = NULL;
                engine_result_done(&r);
                engine_rules_unref(held);
                sh->scans++;
        }
        engine_scanner_free(s);
        if (fd >= 0)
                close(fd);
        return ok;
}

START_TEST(test_snapshot_swap_threads) {
        SwapShared sh = { .lock = PTHREAD_MUTEX_INITIALIZER };
        _cleanup_free_ char *p = NULL;
        void *ok = NULL;
        pthread_t t;

        write_file("markers", MARKER_A " " MARKER_B, strlen(MARKER_A) * 2 + 1);
        p = tmp_path("markers");
        sh.path = p;
        sh.current = make_marker_rules("v0", MARKER_A);
        ck_assert_int_eq(pthread_create(&t, NULL, swap_worker, &sh), 0);

        for (unsigned i = 1; i <= 10; i++) {
                char v[16];
                EngineRules *next, *old;

                snprintf(v, sizeof(v), "v%u", i);
                next = make_marker_rules(v, i % 2 ? MARKER_B : MARKER_A);
                pthread_mutex_lock(&sh.lock);
                old = sh.current;
                sh.current = next;
                pthread_mutex_unlock(&sh.lock);
                engine_rules_unref(old);
                usleep(20 * 1000);
        }
        atomic_store(&sh.stop, true);
        ck_assert_int_eq(pthread_join(t, &ok), 0);
        ck_assert_ptr_nonnull(ok);
        ck_assert_uint_gt(sh.scans, 0);
        ck_assert_uint_eq(engine_rules_get_n_refs(sh.current), 1);
        engine_rules_unref(sh.current);
}
END_TEST

typedef struct ConcurrentArgs {
        unsigned rounds;
        unsigned detected;
        unsigned clean;
        bool failed;
} ConcurrentArgs;

static void *concurrent_worker(void *userdata) {
        ConcurrentArgs *a = userdata;
        _cleanup_free_ char *zip = tmp_path("conc.zip"), *txt = tmp_path("conc.txt");
        EngineScanner *s = engine_scanner_new();

        if (!s) {
                a->failed = true;
                return NULL;
        }
        for (unsigned i = 0; i < a->rounds; i++) {
                const char *p = i % 2 ? txt : zip;
                EngineResult r = ENGINE_RESULT_INIT;
                int fd = open(p, O_RDONLY | O_CLOEXEC);

                if (fd < 0 || engine_scan_fd(s, rules, fd, p, NULL, &r) < 0)
                        a->failed = true;
                else if (r.verdict == ENGINE_VERDICT_DETECTED && i % 2 == 0 &&
                         streq(r.member_path, "x/eicar.com"))
                        a->detected++;
                else if (r.verdict == ENGINE_VERDICT_CLEAN && i % 2 == 1)
                        a->clean++;
                engine_result_done(&r);
                if (fd >= 0)
                        close(fd);
        }
        engine_scanner_free(s);
        return NULL;
}

START_TEST(test_concurrent_scanners) {
        const Member m[] = { { "x/eicar.com", eicar, eicar_len }, { "y", "yy", 2 } };
        ConcurrentArgs args[2] = { { .rounds = 100 }, { .rounds = 100 } };
        _cleanup_free_ void *zip = NULL;
        pthread_t t[2];
        size_t n;

        zip = make_archive("ustar", "xz", NULL, m, 2, &n);
        write_file("conc.zip", zip, n);  /* a tar.xz, whatever the name says */
        write_file("conc.txt", "just text\n", 10);

        for (size_t i = 0; i < 2; i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, concurrent_worker, &args[i]), 0);
        for (size_t i = 0; i < 2; i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert(!args[i].failed);
                ck_assert_uint_eq(args[i].detected, 50);
                ck_assert_uint_eq(args[i].clean, 50);
        }
}
END_TEST

START_TEST(test_scanner_reuse_and_stats) {
        _cleanup_(engine_scanner_freep) EngineScanner *s = engine_scanner_new();
        EngineScannerStats stats;

        ck_assert_ptr_nonnull(s);
        write_file("eicar.com", eicar, eicar_len);
        write_file("clean.txt", "clean\n", 6);
        for (unsigned i = 0; i < 10; i++) {
                const char *name = i % 2 ? "clean.txt" : "eicar.com";
                _cleanup_(engine_result_done) EngineResult r = ENGINE_RESULT_INIT;
                _cleanup_free_ char *p = tmp_path(name);
                _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);

                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(engine_scan_fd(s, rules, fd, name, NULL, &r), 0);
                ck_assert_int_eq(r.verdict, i % 2 ? ENGINE_VERDICT_CLEAN : ENGINE_VERDICT_DETECTED);
        }
        engine_scanner_get_stats(s, &stats);
        ck_assert_uint_eq(stats.files_scanned, 10);
        ck_assert_uint_eq(stats.files_detected, 5);
        ck_assert_uint_eq(stats.bytes_read, 5 * (eicar_len + 6));
        ck_assert_uint_eq(stats.bytes_scanned, 5 * (eicar_len + 6));
        ck_assert_uint_eq(stats.rules_switches, 1);
}
END_TEST

static Suite *engine_suite(void) {
        Suite *s = suite_create("engine");
        TCase *tc;

        tc = tcase_create("rules");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_rules_basics);
        tcase_add_test(tc, test_rules_compile_error);
        tcase_add_test(tc, test_rules_invalid);
        tcase_add_test(tc, test_rules_hash_duplicates);
        suite_add_tcase(s, tc);

        tc = tcase_create("files");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_eicar_plain);
        tcase_add_test(tc, test_clean_files);
        tcase_add_test(tc, test_empty_file);
        tcase_add_test(tc, test_unnamed_rule);
        tcase_add_test(tc, test_hash_block_list);
        tcase_add_test(tc, test_too_many_matches);
        tcase_add_test(tc, test_ignored_types);
        tcase_add_test(tc, test_scanner_reuse_and_stats);
        suite_add_tcase(s, tc);

        tc = tcase_create("archives");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_eicar_zip);
        tcase_add_test(tc, test_eicar_tar_gz);
        tcase_add_test(tc, test_eicar_tar_bz2);
        tcase_add_test(tc, test_eicar_tar_xz);
        tcase_add_test(tc, test_eicar_tar);
        tcase_add_test(tc, test_eicar_gz);
        tcase_add_test(tc, test_gz_zero_prefix);
        tcase_add_test(tc, test_eicar_nested);
        tcase_add_test(tc, test_separator_in_names);
        tcase_add_test(tc, test_archive_through_fd);
        tcase_add_test(tc, test_bomb_ratio);
        tcase_add_test(tc, test_bomb_members);
        tcase_add_test(tc, test_bomb_depth);
        tcase_add_test(tc, test_bomb_total_bytes);
        tcase_add_test(tc, test_truncated_zip);
        tcase_add_test(tc, test_corrupt_gzip);
        tcase_add_test(tc, test_encrypted_member);
        suite_add_tcase(s, tc);

        tc = tcase_create("special");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_sparse_huge);
        tcase_add_test(tc, test_special_files);
        tcase_add_test(tc, test_growing_file);
        tcase_add_test(tc, test_shrinking_file);
        suite_add_tcase(s, tc);

        tc = tcase_create("snapshots");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_snapshot_swap);
        tcase_add_test(tc, test_snapshot_swap_threads);
        tcase_add_test(tc, test_concurrent_scanners);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(engine_suite());
        int failed;

        srunner_run_all(sr, CK_VERBOSE);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
