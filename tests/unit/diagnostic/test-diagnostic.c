/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of diagnostic/ and of what bundles rely on in util/: URL credential redaction; the
 * log ring (order, bound, long lines, several threads); a bundle written to a sealed memory file
 * and opened again with libarchive, its entry list, contents and redaction; files that cannot be
 * read noted in errors.txt; symlinks not followed; bad entry names refused; the size bound.
 */
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagnostic/diagnostic.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/redact.h"

static char *redact(const char *in, int *ret_n) {
        char *out = NULL;
        size_t size;
        int n = redact_url_credentials(in, strlen(in), &out, &size);

        ck_assert_int_ge(n, 0);
        ck_assert_uint_eq(size, strlen(out));
        if (ret_n)
                *ret_n = n;
        return out;
}

START_TEST(test_redact) {
        static const struct {
                const char *in, *out;
                int n;
        } cases[] = {
                { "http://user:pass@host:8080/", "http://***@host:8080/", 1 },
                { "\"proxy\": \"http://u:p@w@proxy.example:3128\"",
                  "\"proxy\": \"http://***@proxy.example:3128\"", 1 },
                { "http://host:8080/path@x", "http://host:8080/path@x", 0 },
                { "a https://a@b and ftp://c:d@e/f", "a https://***@b and ftp://***@e/f", 2 },
                { "no url at all", "no url at all", 0 },
                { "://@", "://@", 0 },
                { "x://", "x://", 0 },
                { "'http://a:b@c' is not", "'http://***@c' is not", 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int n;
                _cleanup_free_ char *out = redact(cases[i].in, &n);

                ck_assert_str_eq(out, cases[i].out);
                ck_assert_int_eq(n, cases[i].n);
        }
}
END_TEST

START_TEST(test_log_ring_order_and_bound) {
        _cleanup_free_ char *dump = NULL;
        char long_line[2000];
        size_t size, lines = 0;

        log_ring_clear();
        log_set_level(LOG_LEVEL_DEBUG);
        for (int i = 0; i < LOG_RING_LINES + 50; i++)
                log_debug("line %d", i);
        memset(long_line, 'x', sizeof(long_line) - 1);
        long_line[sizeof(long_line) - 1] = '\0';
        log_debug("%s", long_line);
        ck_assert_int_eq(log_ring_dump(&dump, &size), 0);
        ck_assert_uint_eq(size, strlen(dump));
        for (const char *p = dump; *p; p++)
                lines += *p == '\n';
        ck_assert_uint_eq(lines, LOG_RING_LINES);
        /* The oldest 51 are gone; the first kept is line 51, the last the cut long line. */
        ck_assert_ptr_nonnull(strstr(dump, "debug: line 51\n"));
        ck_assert_ptr_null(strstr(dump, "debug: line 50\n"));
        ck_assert_ptr_nonnull(strstr(dump, "xxxx\n"));
        ck_assert_uint_le(strlen(strrchr(dump, '\n') - 1), LOG_RING_LINE_MAX);
        ck_assert_uint_le(size, (size_t) LOG_RING_LINES * LOG_RING_LINE_MAX);
}
END_TEST

static void *log_thread(void *arg) {
        for (int i = 0; i < 300; i++)
                log_debug("thread %ld message %d", (long) (intptr_t) arg, i);
        return NULL;
}

START_TEST(test_log_ring_threads) {
        pthread_t t[4];
        _cleanup_free_ char *dump = NULL;
        size_t size;

        log_ring_clear();
        log_set_level(LOG_LEVEL_DEBUG);
        for (intptr_t i = 0; i < 4; i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, log_thread, (void *) i), 0);
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(log_ring_dump(&dump, &size), 0);
        /* Every kept line is whole: starts with a time and ends with a message number. */
        for (char *line = strtok(dump, "\n"); line; line = strtok(NULL, "\n"))
                ck_assert_ptr_nonnull(strstr(line, "Z debug: thread "));
}
END_TEST

/* A URL in a log line loses its password and query string before the journal and the ring see
 * it: a locally set update mirror with credentials or a signed token is logged when it is set. */
START_TEST(test_log_redacts_urls) {
        _cleanup_free_ char *dump = NULL;
        size_t size;

        log_ring_clear();
        log_set_level(LOG_LEVEL_INFO);
        log_info("Setting '%s' set locally to %s.", "cloudService.definitionUpdateUrl",
                 "\"https://admin:hunter2@mirror.example/defs?sig=SECRET&se=2027\"");
        log_info("no url here: user:pass@host");
        ck_assert_int_eq(log_ring_dump(&dump, &size), 0);
        ck_assert_ptr_null(strstr(dump, "hunter2"));
        ck_assert_ptr_null(strstr(dump, "SECRET"));
        ck_assert_ptr_nonnull(strstr(dump, "https://***@mirror.example/defs?***"));
        /* Text that is not a URL is left as it was. */
        ck_assert_ptr_nonnull(strstr(dump, "no url here: user:pass@host"));
}
END_TEST

/* Reads the zip at fd: entry names joined by ',' in *ret_names, and the data of entry want. */
static void read_zip(int fd, char **ret_names, const char *want, char **ret_data) {
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char *names = strdup(""), *data = NULL;

        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
        ck_assert_int_eq(archive_read_support_format_zip(a), ARCHIVE_OK);
        ck_assert_int_eq(archive_read_open_fd(a, fd, 4096), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                char *n = NULL, buf[4096];
                la_ssize_t len;
                FILE *f;
                size_t size;
                char *content = NULL;

                ck_assert_int_ge(asprintf(&n, "%s%s%s", names, *names ? "," : "",
                                          archive_entry_pathname(e)), 0);
                free(names);
                names = n;
                f = open_memstream(&content, &size);
                while ((len = archive_read_data(a, buf, sizeof(buf))) > 0)
                        fwrite(buf, 1, (size_t) len, f);
                ck_assert_int_eq(len, 0);
                fclose(f);
                if (want && streq(archive_entry_pathname(e), want)) {
                        free(data);
                        data = content;
                } else
                        free(content);
        }
        archive_read_free(a);
        *ret_names = names;
        if (ret_data)
                *ret_data = data;
        else
                free(data);
}

/* What every local user reads: user information and the query (a signed token) of update URLs. */
START_TEST(test_redact_url_secrets) {
        static const struct {
                const char *in, *out;
                int n;
        } cases[] = {
                { "https://u:p@h:9/mdatp/?sig=T0KEN", "https://***@h:9/mdatp/?***", 2 },
                { "https://h/p?a=b#frag", "https://h/p?***#frag", 1 },
                { "Testing https://h/x?se=1&sig=abc ... [OK]", "Testing https://h/x?*** ... [OK]", 1 },
                { "'https://h/p?' is", "'https://h/p?' is", 0 },
                { "/srv/mirror?x", "/srv/mirror?x", 0 },
                { "why? https://h/", "why? https://h/", 0 },
                { "", "", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = NULL;
                int n = redact_url_secrets(cases[i].in, &out);

                ck_assert_int_eq(n, cases[i].n);
                ck_assert_str_eq(out, cases[i].out);
        }
}
END_TEST

START_TEST(test_bundle_entries_and_redaction) {
        _cleanup_(diagnostic_bundle_freep) DiagnosticBundle *b = NULL;
        _cleanup_free_ char *names = NULL, *policy = NULL, *errors = NULL, *link = NULL;
        _cleanup_free_ char *log = NULL;
        char dir[] = "/tmp/test-diagnostic-XXXXXX", path[64];
        _cleanup_close_ int fd = -EBADF;
        static const char secret_policy[] =
                "{\"cloudService\":{\"proxy\":\"http://alice:s3cret@proxy.example:8080/\"}}\n";
        FILE *f;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/policy.json", dir);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(secret_policy, f);
        fclose(f);
        ck_assert_int_ge(asprintf(&link, "%s/link.json", dir), 0);
        ck_assert_int_eq(symlink(path, link), 0);

        ck_assert_int_eq(diagnostic_bundle_new(&b), 0);
        ck_assert_int_eq(diagnostic_bundle_addf(b, "version.txt", "Product version: %s\n", "1"), 0);
        ck_assert_int_eq(diagnostic_bundle_add(b, "mdatpd.log",
                         "x 'http://bob:hunter2@p:1/' is not\n", 35), 0);
        ck_assert_int_eq(diagnostic_bundle_addf(b, "settings.txt", "url %s\n",
                         "https://m.example/defs/?sig=t0ken"), 0);
        ck_assert_int_eq(diagnostic_bundle_add_file(b, "managed/mdatp_managed.json", path), 0);
        ck_assert_int_eq(diagnostic_bundle_add_file(b, "missing.txt", "/nonexistent/x"), 0);
        ck_assert_int_eq(diagnostic_bundle_add_file(b, "link.json", link), 0);
        ck_assert_int_eq(diagnostic_bundle_add(b, "../evil", "x", 1), -EINVAL);
        ck_assert_int_eq(diagnostic_bundle_add(b, "/abs", "x", 1), -EINVAL);
        ck_assert_int_eq(diagnostic_bundle_add(b, "a/../../b", "x", 1), -EINVAL);
        ck_assert_int_eq(diagnostic_bundle_add(b, "empty.txt", "", 0), 0);

        ck_assert_int_eq(diagnostic_bundle_to_memfd(b, &fd), 0);
        /* Sealed: the reader cannot change what the daemon produced. */
        ck_assert_int_eq(write(fd, "x", 1), -1);

        read_zip(fd, &names, "managed/mdatp_managed.json", &policy);
        ck_assert_str_eq(names, "version.txt,mdatpd.log,settings.txt,managed/mdatp_managed.json,"
                                "empty.txt,errors.txt");
        ck_assert_str_eq(policy, "{\"cloudService\":{\"proxy\":\"http://***@proxy.example:8080/\"}}\n");
        free(names);
        read_zip(fd, &names, "errors.txt", &errors);
        ck_assert_ptr_nonnull(strstr(errors, "'/nonexistent/x' could not be read"));
        ck_assert_ptr_nonnull(strstr(errors, "link.json' could not be read"));
        free(names);
        read_zip(fd, &names, "mdatpd.log", &log);
        ck_assert_ptr_null(strstr(log, "hunter2"));
        ck_assert_ptr_nonnull(strstr(log, "http://***@p:1/"));
        free(names);
        free(log);
        read_zip(fd, &names, "settings.txt", &log);
        /* A signed query string leaves no trace; the mirror's path stays. */
        ck_assert_str_eq(log, "url https://m.example/defs/?***\n");

        (void) unlink(link);
        (void) unlink(path);
        (void) rmdir(dir);
}
END_TEST

START_TEST(test_bundle_bound) {
        _cleanup_(diagnostic_bundle_freep) DiagnosticBundle *b = NULL;
        _cleanup_free_ char *big = malloc(DIAGNOSTIC_BUNDLE_MAX), *names = NULL, *errors = NULL;
        _cleanup_close_ int fd = -EBADF;

        ck_assert_ptr_nonnull(big);
        memset(big, 'a', DIAGNOSTIC_BUNDLE_MAX);
        ck_assert_int_eq(diagnostic_bundle_new(&b), 0);
        ck_assert_int_eq(diagnostic_bundle_add(b, "one", big, DIAGNOSTIC_BUNDLE_MAX - 10), 0);
        ck_assert_int_eq(diagnostic_bundle_add(b, "two", big, 100), 0);
        ck_assert_int_eq(diagnostic_bundle_add(b, "three", big, 100), 0);
        ck_assert_int_eq(diagnostic_bundle_to_memfd(b, &fd), 0);
        read_zip(fd, &names, "errors.txt", &errors);
        ck_assert_str_eq(names, "one,two,three,errors.txt");
        ck_assert_ptr_nonnull(strstr(errors, "'two' cut to 10 of 100 bytes"));
        ck_assert_ptr_nonnull(strstr(errors, "'three' cut to 0 of 100 bytes"));
}
END_TEST

static Suite *diagnostic_suite(void) {
        Suite *s = suite_create("diagnostic");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_redact);
        tcase_add_test(tc, test_redact_url_secrets);
        tcase_add_test(tc, test_log_ring_order_and_bound);
        tcase_add_test(tc, test_log_ring_threads);
        tcase_add_test(tc, test_log_redacts_urls);
        tcase_add_test(tc, test_bundle_entries_and_redaction);
        tcase_add_test(tc, test_bundle_bound);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(diagnostic_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
