/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/update against a real mirror: mirror-server.py, started once for the whole
 * run, serves signed packs over HTTPS (a test CA and server certificates made here with the
 * openssl CLI, nothing committed), plain HTTP and a CONNECT proxy, each on a port the kernel
 * picked, and misbehaves on request (slow loris, endless, huge and truncated bodies, 404,
 * redirects to file:// and elsewhere). Packs are built with the definitions library and keys made
 * at run time; installs go into real stores in temporary directories.
 *
 * The server is killed by its PID at exit, failed tests or not (atexit in the main process only;
 * it also dies with this process through PR_SET_PDEATHSIG and when its stdin closes).
 *
 * Disk full is tested twice in forked children: once for real, on a 64 KiB tmpfs mounted in a
 * private mount namespace (skipped, saying so, where unshare() is not permitted), once with
 * RLIMIT_FSIZE, which works anywhere.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "definitions/definitions-internal.h"
#include "definitions/definitions.h"
#include "update/update.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

#define ENGINE "0.1.0"
#define SHA_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define RULE_A "rule unit_test_update_a\n{\n    condition:\n        false\n}\n"
#define HASHES_A "# unit test list\n" SHA_1 "\tVirus:Linux/UnitTest.One\tvirus\n"

/* Set up once by main(), read by the tests. */
static char tmpdir[256];
static pid_t main_pid, server_pid = -1;
static int server_stdin = -1;
static int https_port, https_port2, https_wrong_port, http_port, proxy_port;
static EVP_PKEY *key_a, *key_b, *pub_a;

/* ---- helpers usable outside tests (main's setup): they abort instead of ck_assert ---- */

#define MUST(cond)                                                                      \
        do {                                                                            \
                if (!(cond)) {                                                          \
                        fprintf(stderr, "%s:%d: setup failed: %s (%m)\n", __FILE__,     \
                                __LINE__, #cond);                                       \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (false)

/* A path below the run's temporary directory; up to 16 live at once. */
static const char *P(const char *format, ...) _printf_(1, 2);
static const char *P(const char *format, ...) {
        static char ring[16][PATH_MAX];
        static unsigned next;
        char *buf = ring[next++ % ELEMENTSOF(ring)], rel[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(rel, sizeof(rel), format, ap);
        va_end(ap);
        snprintf(buf, PATH_MAX, "%s/%s", tmpdir, rel);
        return buf;
}

static bool mkdir_p(const char *path) {
        char buf[PATH_MAX];

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *s = buf + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return false;
                        *s = '/';
                }
        return mkdir(buf, 0755) >= 0 || errno == EEXIST;
}

static bool write_file(const char *path, const void *data, size_t size) {
        char dir[PATH_MAX];
        bool ok;
        FILE *f;

        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        if (!mkdir_p(dir))
                return false;
        f = fopen(path, "we");
        if (!f)
                return false;
        ok = fwrite(data, 1, size, f) == size;
        return fclose(f) == 0 && ok;
}

static int run_shell(const char *format, ...) _printf_(1, 2);
static int run_shell(const char *format, ...) {
        _cleanup_free_ char *command = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&command, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = system(command);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

typedef struct TestFile {
        const char *path;
        DefinitionFileKind kind;
        const char *content;            /* what the manifest describes */
        const char *served;             /* what the file holds; NULL: content */
} TestFile;

typedef struct TestPack {
        const char *name;               /* directory below www/ */
        const char *version;
        const char *min_engine;
        EVP_PKEY *signer;
        bool corrupt_signature;
        const TestFile *files;
        size_t n_files;
} TestPack;

static bool make_pack(const TestPack *t) {
        DefinitionManifestFile mf[8] = {};
        DefinitionManifest m = {
                .version = (char *) t->version,
                .created_usec = UINT64_C(1795392000) * 1000000,
                .minimum_engine_version = (char *) (t->min_engine ?: ENGINE),
                .files = mf,
                .n_files = t->n_files,
        };
        uint8_t sig[DEFINITIONS_SIGNATURE_SIZE];
        _cleanup_free_ char *text = NULL;
        size_t size;

        if (t->n_files > ELEMENTSOF(mf))
                return false;
        for (size_t i = 0; i < t->n_files; i++) {
                const TestFile *f = &t->files[i];
                const char *served = f->served ?: f->content;

                if (!write_file(P("www/%s/%s", t->name, f->path), served, strlen(served)))
                        return false;
                mf[i] = (DefinitionManifestFile) {
                        .path = (char *) f->path,
                        .kind = f->kind,
                        .size = strlen(f->content),
                };
                definition_sha256(f->content, strlen(f->content), mf[i].sha256);
        }
        if (definition_manifest_format(&m, &text, &size) < 0 ||
            definition_signature_create(t->signer, text, size, sig) < 0)
                return false;
        if (t->corrupt_signature)
                sig[7] ^= 0x20;
        return write_file(P("www/%s/manifest.json", t->name), text, size) &&
               write_file(P("www/%s/manifest.json.sig", t->name), sig, sizeof(sig));
}

static EVP_PKEY *public_of(EVP_PKEY *k) {
        uint8_t raw[DEFINITIONS_PUBLIC_KEY_SIZE];
        size_t len = sizeof(raw);
        EVP_PKEY *p = NULL;

        if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1 ||
            definitions_public_key_from_raw(raw, &p) < 0)
                return NULL;
        return p;
}

static char *big_rule_text(size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                return NULL;
        memset(s, '/', size);
        for (size_t i = 79; i < size; i += 80)
                s[i] = '\n';
        s[size] = '\0';
        return s;
}

static void make_packs(void) {
        static const TestFile files[] = {
                { "rules/a.yar", DEFINITION_FILE_YARA, RULE_A, NULL },
                { "hashes/a.tsv", DEFINITION_FILE_SHA256_LIST, HASHES_A, NULL },
        };
        /* Same size as RULE_A, one byte different. */
        static const TestFile tampered[] = {
                { "rules/a.yar", DEFINITION_FILE_YARA, RULE_A,
                  "rule unit_test_update_b\n{\n    condition:\n        false\n}\n" },
                { "hashes/a.tsv", DEFINITION_FILE_SHA256_LIST, HASHES_A, NULL },
        };
        _cleanup_free_ char *big = big_rule_text(256 * 1024);
        TestFile big_files[] = {
                { "rules/big.yar", DEFINITION_FILE_YARA, big, NULL },
        };

        MUST(big);
        MUST(make_pack(&(TestPack) { "v0", "1.0.0.0", NULL, key_a, false, files, 2 }));
        MUST(make_pack(&(TestPack) { "v1", "1.0.0.1", NULL, key_a, false, files, 2 }));
        MUST(make_pack(&(TestPack) { "v2", "1.0.0.2", NULL, key_a, false, files, 2 }));
        MUST(make_pack(&(TestPack) { "tampered", "1.0.0.3", NULL, key_a, false, tampered, 2 }));
        MUST(make_pack(&(TestPack) { "badsig", "1.0.0.3", NULL, key_a, true, files, 2 }));
        MUST(make_pack(&(TestPack) { "otherkey", "1.0.0.3", NULL, key_b, false, files, 2 }));
        MUST(make_pack(&(TestPack) { "newengine", "1.0.0.3", "99.0", key_a, false, files, 2 }));
        MUST(make_pack(&(TestPack) { "big", "1.0.0.3", NULL, key_a, false, big_files, 1 }));
        /* v1 with a listed file replaced by a symlink to the real one: for local mirrors. */
        MUST(make_pack(&(TestPack) { "links", "1.0.0.3", NULL, key_a, false, files, 2 }));
        MUST(rename(P("www/links/rules/a.yar"), P("www/links/rules/real.yar")) == 0);
        MUST(symlink("real.yar", P("www/links/rules/a.yar")) == 0);
}

/* Makes a test CA, a second unrelated CA, a certificate for 127.0.0.1 and one for another name,
 * both signed by the test CA, with EC P-256 keys (quick to make). Arguments: the directory, the
 * openssl binary. A literal, so that the compiler checks the format. */
#define MAKE_PKI_SCRIPT                                                                            \
        "set -e; cd '%s'; O='%s'\n"                                                                \
        "ca() { \"$O\" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "              \
        "  -keyout \"$1.key\" -out \"$1.crt\" -subj \"/CN=$1\" -days 2 "                           \
        "  -addext basicConstraints=critical,CA:TRUE "                                             \
        "  -addext keyUsage=critical,keyCertSign,cRLSign; }\n"                                     \
        "leaf() { \"$O\" req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "                  \
        "  -keyout \"$1.key\" -out \"$1.csr\" -subj \"/CN=$1\"\n"                                  \
        "  printf 'subjectAltName=%%s\\nbasicConstraints=CA:FALSE\\n"                              \
        "extendedKeyUsage=serverAuth\\n' \"$2\" > \"$1.ext\"\n"                                    \
        "  \"$O\" x509 -req -in \"$1.csr\" -CA ca.crt -CAkey ca.key -CAcreateserial "              \
        "  -days 2 -out \"$1.crt\" -extfile \"$1.ext\"; }\n"                                       \
        "{ ca ca; ca other-ca; leaf server IP:127.0.0.1; leaf wrong DNS:wrong.invalid; }"          \
        " >openssl.log 2>&1 || { cat openssl.log >&2; exit 1; }\n"

static void make_pki(void) {
        MUST(mkdir_p(P("pki")));
        MUST(run_shell(MAKE_PKI_SCRIPT, P("pki"), OPENSSL) == 0);
}

static void server_stop(void) {
        if (server_pid > 0) {
                (void) kill(server_pid, SIGKILL);
                (void) waitpid(server_pid, NULL, 0);
                server_pid = -1;
        }
        closep(&server_stdin);
        server_stdin = -1;
}

static void server_start(void) {
        int in[2], out[2], n = 0;
        char line[512];
        size_t len = 0;

        MUST(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
        server_pid = fork();
        MUST(server_pid >= 0);
        if (server_pid == 0) {
                /* Dies with the test, whatever kills the test. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != main_pid)
                        _exit(EXIT_FAILURE);
                if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                execl(PYTHON3, PYTHON3, MIRROR_SERVER, "--root", P("www"),
                      "--https", P("pki/server.crt"), P("pki/server.key"),
                      "--https", P("pki/server.crt"), P("pki/server.key"),
                      "--https", P("pki/wrong.crt"), P("pki/wrong.key"),
                      "--log", P("server.log"), (char *) NULL);
                _exit(127);
        }
        (void) close(in[0]);
        (void) close(out[1]);
        server_stdin = in[1];

        /* The ports, once everything listens: one JSON line, within 20 s. */
        while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
                struct pollfd p = { .fd = out[0], .events = POLLIN };
                ssize_t k;

                MUST(poll(&p, 1, 20000) == 1);
                k = read(out[0], line + len, sizeof(line) - 1 - len);
                MUST(k > 0);
                len += (size_t) k;
                line[len] = '\0';
        }
        (void) close(out[0]);
        n = sscanf(line, "{\"https\": [%d, %d, %d], \"http\": %d, \"proxy\": %d}", &https_port,
                   &https_port2, &https_wrong_port, &http_port, &proxy_port);
        MUST(n == 5);
}

static void cleanup_at_exit(void) {
        /* check forks a child per test: only the main process owns the server and the files. */
        if (getpid() != main_pid)
                return;
        server_stop();
        if (tmpdir[0] && !getenv("TEST_UPDATE_KEEP"))
                (void) definitions_remove_tree_at(AT_FDCWD, tmpdir);
}

/* ---- helpers for tests ---- */

/* An absolute path formatted into the same ring as P(). */
static const char *A(const char *format, ...) _printf_(1, 2);
static const char *A(const char *format, ...) {
        static char ring[8][PATH_MAX];
        static unsigned next;
        char *buf = ring[next++ % ELEMENTSOF(ring)];
        va_list ap;

        va_start(ap, format);
        vsnprintf(buf, PATH_MAX, format, ap);
        va_end(ap);
        return buf;
}

static char url_buf[8][256];
static unsigned url_next;

/* https://127.0.0.1:PORT/MODE/PACK/ on the main HTTPS port. */
static const char *U(const char *mode, const char *pack) {
        char *b = url_buf[url_next++ % ELEMENTSOF(url_buf)];

        snprintf(b, sizeof(url_buf[0]), "https://127.0.0.1:%d/%s/%s/", https_port, mode, pack);
        return b;
}

static const char *url_on(const char *scheme, int port, const char *mode, const char *pack) {
        char *b = url_buf[url_next++ % ELEMENTSOF(url_buf)];

        snprintf(b, sizeof(url_buf[0]), "%s://127.0.0.1:%d/%s/%s/", scheme, port, mode, pack);
        return b;
}

/* A source with the test CA, the trusted key, no installed version, small time limits. */
static UpdateSource source(const char *url) {
        return (UpdateSource) {
                .url = url,
                .ca_file = P("pki/ca.crt"),
                .public_key = pub_a,
                .engine_version = ENGINE,
                .limits = {
                        .connect_timeout_usec = 5 * 1000000,
                        .timeout_usec = 20 * 1000000,
                        .low_speed_bytes = 100,
                        .low_speed_time_usec = 2 * 1000000,
                },
        };
}

static char *new_dir(void) {
        char *d = strdup(P("t-XXXXXX"));

        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_nonnull(mkdtemp(d));
        return d;
}

static size_t dir_entries(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* update_fetch() into a fresh directory; returns r, *ret_message (if not NULL) the message;
 * checks that a failure or UPDATE_UP_TO_DATE leaves the directory empty. */
static int fetch(const UpdateSource *src, UpdateFetchResult *ret, char **ret_message,
                 char **ret_dir) {
        _cleanup_free_ char *dir = new_dir(), *message = NULL;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        ck_assert_int_ge(fd, 0);
        r = update_fetch(src, fd, ret, &message);
        if (getenv("TEST_UPDATE_VERBOSE"))
                fprintf(stderr, "%s: r=%d %s\n", src->url, r, strnull(message));
        if (r != 0)
                ck_assert_msg(dir_entries(dir) == 0, "'%s' not empty after r=%d (%s)", dir, r,
                              strnull(message));
        if (r < 0)
                ck_assert_msg(message, "no message for r=%d", r);
        if (ret_message)
                *ret_message = TAKE_PTR(message);
        if (ret_dir)
                *ret_dir = TAKE_PTR(dir);
        return r;
}

/* Expects update_fetch() to fail with error and a message containing every needle. */
static void fetch_fails(const UpdateSource *src, int error, ...) {
        _cleanup_free_ char *message = NULL;
        const char *needle;
        va_list ap;
        int r;

        r = fetch(src, NULL, &message, NULL);
        ck_assert_msg(r == error, "%s: r=%d (%s), expected %d (%s)", src->url, r,
                      strnull(message), error, strerror(-error));
        va_start(ap, error);
        while ((needle = va_arg(ap, const char *)))
                ck_assert_msg(strstr(message, needle), "message '%s' lacks '%s'", message,
                              needle);
        va_end(ap);
}

static void fetch_ok(const UpdateSource *src, const char *version) {
        _cleanup_(update_fetch_result_done) UpdateFetchResult res = UPDATE_FETCH_RESULT_INIT;
        _cleanup_free_ char *message = NULL, *dir = NULL;
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        int r;

        r = fetch(src, &res, &message, &dir);
        ck_assert_msg(r == 0, "%s: r=%d (%s)", src->url, r, strnull(message));
        ck_assert_str_eq(res.version, version);
        ck_assert_str_eq(res.endpoint, src->url);
        /* What was downloaded is a pack the loader accepts. */
        message = mfree(message);
        r = definitions_pack_load(dir, pub_a, ENGINE, &p, &message);
        ck_assert_msg(r == 0, "load: %s", strnull(message));
        ck_assert_str_eq(p->version, version);
}

static DefinitionsStore *store_new(const char *dir) {
        DefinitionsStoreConfig c = {
                .directory = dir,
                .public_key = pub_a,
                .engine_version = ENGINE,
        };
        _cleanup_free_ char *message = NULL;
        DefinitionsStore *s = NULL;

        ck_assert_msg(definitions_store_open(&c, &s, &message) == 0, "%s", strnull(message));
        return s;
}

/* The version the store loads now, and from which slot; "" when none. */
static void store_expect(DefinitionsStore *s, const char *version, DefinitionsSource source_) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        DefinitionsSource src = _DEFINITIONS_SOURCE_INVALID;

        ck_assert_int_eq(definitions_store_load_best(s, &p, &src, &errors), 0);
        ck_assert_str_eq(p->version, version);
        ck_assert_int_eq(src, source_);
}

static size_t count_in_file(const char *path, const char *needle) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t n = 0, size;

        if (fd < 0)
                return 0;
        ck_assert_int_eq(read_fd_full(fd, 0, 64 * 1024 * 1024, &data, &size), 0);
        for (const char *p = data; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

/* ---- the tests ---- */

START_TEST(test_https_install_and_upgrade) {
        _cleanup_(update_fetch_result_done) UpdateFetchResult res = UPDATE_FETCH_RESULT_INIT;
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_free_ char *dir = new_dir(), *message = NULL, *store_dir = NULL;
        UpdateSource src = source(U("ok", "v1"));
        int r;

        store_dir = strdup(A("%s/store", dir));
        ck_assert_ptr_nonnull(store_dir);
        s = store_new(store_dir);
        src.work_directory = dir;

        r = update_fetch_and_install(&src, s, &p, &res, &message);
        ck_assert_msg(r == 0, "r=%d (%s)", r, strnull(message));
        ck_assert_str_eq(p->version, "1.0.0.1");
        ck_assert_str_eq(res.version, "1.0.0.1");
        ck_assert_str_eq(res.minimum_engine_version, ENGINE);
        ck_assert_uint_eq(res.n_files, 2);
        ck_assert_uint_eq(res.n_bytes, strlen(RULE_A) + strlen(HASHES_A));
        ck_assert(!res.from_fallback);
        ck_assert_uint_eq(p->n_rules, 1);
        ck_assert_uint_eq(p->n_hashes, 1);
        store_expect(s, "1.0.0.1", DEFINITIONS_SOURCE_CURRENT);
        /* The work directory holds the store and nothing the update left behind. */
        ck_assert_uint_eq(dir_entries(dir), 1);

        /* A newer pack replaces it; the old one becomes the fallback. */
        update_fetch_result_done(&res);
        p = definition_pack_free(p);
        src = source(U("ok", "v2"));
        src.work_directory = dir;
        src.current_version = "1.0.0.1";
        r = update_fetch_and_install(&src, s, NULL, &res, &message);
        ck_assert_msg(r == 0, "r=%d (%s)", r, strnull(message));
        ck_assert_str_eq(res.version, "1.0.0.2");
        store_expect(s, "1.0.0.2", DEFINITIONS_SOURCE_CURRENT);
        ck_assert_uint_eq(dir_entries(dir), 1);
        ck_assert_int_eq(access(A("%s/previous/manifest.json", store_dir), F_OK), 0);

        /* The server saw who we are, and no cookie. */
        ck_assert_uint_gt(count_in_file(P("server.log"), "GET /ok/v2/rules/a.yar HTTP/1.1\" 200 "
                                        "- user-agent=mdatp/" MDATP_VERSION " cookie=None"), 0);
}
END_TEST

START_TEST(test_up_to_date_writes_nothing) {
        _cleanup_(update_fetch_result_done) UpdateFetchResult res = UPDATE_FETCH_RESULT_INIT;
        UpdateSource src = source(U("ok", "v1"));

        src.current_version = "1.0.0.1";
        ck_assert_int_eq(fetch(&src, &res, NULL, NULL), UPDATE_UP_TO_DATE);
        ck_assert_str_eq(res.version, "1.0.0.1");
        ck_assert_uint_eq(res.n_files, 0);
        ck_assert_str_eq(res.endpoint, src.url);

        /* "1.0.0.1.0" is the same version. */
        update_fetch_result_done(&res);
        src.current_version = "1.0.0.1.0";
        ck_assert_int_eq(fetch(&src, &res, NULL, NULL), UPDATE_UP_TO_DATE);
}
END_TEST

START_TEST(test_rollback_refused) {
        _cleanup_(update_fetch_result_done) UpdateFetchResult res = UPDATE_FETCH_RESULT_INIT;
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_free_ char *dir = new_dir(), *message = NULL;
        UpdateSource src = source(U("ok", "v2"));
        int r;

        s = store_new(A("%s/store", dir));
        src.work_directory = dir;
        ck_assert_int_eq(update_fetch_and_install(&src, s, NULL, NULL, &message), 0);

        /* The mirror now offers an older, validly signed pack: not taken. */
        src = source(U("ok", "v0"));
        src.work_directory = dir;
        src.current_version = "1.0.0.2";
        r = update_fetch_and_install(&src, s, NULL, &res, &message);
        ck_assert_int_eq(r, UPDATE_UP_TO_DATE);
        ck_assert_str_eq(res.version, "1.0.0.0");
        store_expect(s, "1.0.0.2", DEFINITIONS_SOURCE_CURRENT);
        ck_assert_int_eq(access(A("%s/store/previous", dir), F_OK), -1);
        ck_assert_uint_eq(dir_entries(dir), 1);
}
END_TEST

START_TEST(test_tampered_file_keeps_store) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_free_ char *dir = new_dir(), *message = NULL;
        UpdateSource src = source(U("ok", "v1"));
        int r;

        s = store_new(A("%s/store", dir));
        src.work_directory = dir;
        ck_assert_int_eq(update_fetch_and_install(&src, s, NULL, NULL, &message), 0);

        src = source(U("ok", "tampered"));
        src.work_directory = dir;
        src.current_version = "1.0.0.1";
        r = update_fetch_and_install(&src, s, NULL, NULL, &message);
        ck_assert_int_eq(r, -EBADMSG);
        ck_assert_msg(strstr(message, "rules/a.yar: SHA-256 mismatch"), "%s", message);
        store_expect(s, "1.0.0.1", DEFINITIONS_SOURCE_CURRENT);
        ck_assert_uint_eq(dir_entries(dir), 1);
}
END_TEST

START_TEST(test_bad_signature) {
        UpdateSource src = source(U("ok", "badsig"));

        fetch_fails(&src, -EKEYREJECTED, "manifest.json.sig: signature does not verify", NULL);
}
END_TEST

START_TEST(test_signature_by_other_key) {
        UpdateSource src = source(U("ok", "otherkey"));

        fetch_fails(&src, -EKEYREJECTED, "manifest.json.sig: signature does not verify", NULL);
}
END_TEST

START_TEST(test_engine_too_old) {
        UpdateSource src = source(U("ok", "newengine"));

        fetch_fails(&src, -EPROTONOSUPPORT, "needs engine version 99.0 or newer", NULL);
}
END_TEST

START_TEST(test_truncated) {
        UpdateSource src = source(U("truncate-data", "v1"));
        _cleanup_free_ char *expected = NULL;

        ck_assert_int_ge(asprintf(&expected, "/truncate-data/v1/rules/a.yar: the connection "
                                  "closed after %zu of the %zu bytes announced", strlen(RULE_A) / 2,
                                  strlen(RULE_A)), 0);
        fetch_fails(&src, -ECONNABORTED, expected, NULL);
        src = source(U("truncate", "v1"));
        fetch_fails(&src, -ECONNABORTED, "/truncate/v1/manifest.json: the connection closed", NULL);
}
END_TEST

START_TEST(test_endless_and_huge) {
        UpdateSource src = source(U("endless", "v1"));
        _cleanup_free_ char *expected = NULL;
        double t0 = now_sec();

        fetch_fails(&src, -E2BIG, "manifest.json: larger than the limit of 1048576 bytes", NULL);
        src = source(U("endless-data", "v1"));
        ck_assert_int_ge(asprintf(&expected, "rules/a.yar: larger than the manifest says (%zu "
                                  "bytes)", strlen(RULE_A)), 0);
        fetch_fails(&src, -EBADMSG, expected, NULL);
        src = source(U("huge-data", "v1"));
        fetch_fails(&src, -EBADMSG, "rules/a.yar: larger than the manifest says", NULL);
        src = source(U("huge", "v1"));
        src.limits.max_manifest_size = 4096;
        fetch_fails(&src, -E2BIG, "manifest.json: larger than the limit of 4096 bytes", NULL);
        ck_assert_double_lt(now_sec() - t0, 15.0);
}
END_TEST

START_TEST(test_slow_loris) {
        UpdateSource src = source(U("slow-data", "v1"));
        double t0 = now_sec(), elapsed;

        fetch_fails(&src, -ETIMEDOUT, "rules/a.yar: download too slow: less than 100 bytes/s "
                    "for 2 s", NULL);
        elapsed = now_sec() - t0;
        ck_assert_msg(elapsed >= 1.5 && elapsed < 8.0, "took %.1f s", elapsed);

        /* The request timeout, when the low-speed limit does not trigger. */
        src = source(U("slow-data", "v1"));
        src.limits.low_speed_bytes = 1;
        src.limits.low_speed_time_usec = 60 * 1000000;
        src.limits.timeout_usec = 3 * 1000000;
        t0 = now_sec();
        fetch_fails(&src, -ETIMEDOUT, "rules/a.yar: timed out after 3 s", NULL);
        elapsed = now_sec() - t0;
        ck_assert_msg(elapsed >= 2.5 && elapsed < 8.0, "took %.1f s", elapsed);
}
END_TEST

START_TEST(test_tls_untrusted) {
        UpdateSource src = source(U("ok", "v1"));

        /* A certificate the given CA did not sign. */
        src.ca_file = P("pki/other-ca.crt");
        fetch_fails(&src, -EKEYREJECTED, "/ok/v1/manifest.json: TLS certificate verification "
                    "failed: ", NULL);
        /* The system store does not know the test CA either. */
        src.ca_file = NULL;
        fetch_fails(&src, -EKEYREJECTED, "TLS certificate verification failed", NULL);
        /* A certificate of the right CA for another name. */
        src = source(url_on("https", https_wrong_port, "ok", "v1"));
        fetch_fails(&src, -EKEYREJECTED, "TLS certificate verification failed", "127.0.0.1",
                    NULL);
        /* A CA file that does not exist. */
        src = source(U("ok", "v1"));
        src.ca_file = P("pki/missing.crt");
        fetch_fails(&src, -ENOENT, "cannot read the CA file", NULL);
}
END_TEST

START_TEST(test_redirects) {
        UpdateSource src = source(U("redirect-file", "v1"));

        fetch_fails(&src, -EPROTONOSUPPORT, "redirected to a URL of a protocol that is not "
                    "allowed", NULL);
        /* An https mirror may not send us to plain http... */
        src = source(U("redirect-http", "v1"));
        fetch_fails(&src, -EPROTONOSUPPORT, "redirected", NULL);
        /* ...nor round in circles. */
        src = source(U("redirect-loop", "v1"));
        fetch_fails(&src, -ELOOP, "more than 3 redirects", NULL);
        /* Another https port (a CDN) is fine. */
        src = source(U("redirect-https", "v1"));
        fetch_ok(&src, "1.0.0.1");
        /* From plain http, a redirect to http or https is fine. */
        src = source(url_on("http", http_port, "redirect-https", "v1"));
        fetch_ok(&src, "1.0.0.1");
        src = source(url_on("http", http_port, "redirect-file", "v1"));
        fetch_fails(&src, -EPROTONOSUPPORT, "redirected", NULL);
}
END_TEST

START_TEST(test_http_404) {
        _cleanup_free_ char *expected = NULL;
        UpdateSource src = source(U("notfound", "v1"));

        ck_assert_int_ge(asprintf(&expected, "HTTP 404 for https://127.0.0.1:%d/notfound/v1/"
                                  "manifest.json", https_port), 0);
        fetch_fails(&src, -ENOENT, expected, NULL);
        src = source(U("ok", "no-such-pack"));
        fetch_fails(&src, -ENOENT, "HTTP 404 for", NULL);
        /* A URL without the final '/' names the same directory. */
        src = source(U("ok", "v1"));
        url_buf[(url_next - 1) % ELEMENTSOF(url_buf)][strlen(src.url) - 1] = '\0';
        fetch_ok(&src, "1.0.0.1");
}
END_TEST

START_TEST(test_plain_http) {
        UpdateSource src = source(url_on("http", http_port, "ok", "v1"));

        fetch_ok(&src, "1.0.0.1");
        src = source(url_on("http", http_port, "ok", "tampered"));
        fetch_fails(&src, -EBADMSG, "SHA-256 mismatch", NULL);
}
END_TEST

START_TEST(test_local_directory) {
        UpdateSource src = source(P("www/v1"));

        fetch_ok(&src, "1.0.0.1");
        src = source(P("www/tampered/"));
        fetch_fails(&src, -EBADMSG, "rules/a.yar: SHA-256 mismatch", NULL);
        src = source(P("www/badsig"));
        fetch_fails(&src, -EKEYREJECTED, "signature does not verify", NULL);
        src = source(P("www/links"));
        fetch_fails(&src, -ELOOP, "/links/rules/a.yar: a symbolic link", NULL);
        src = source(P("www/no-such-pack"));
        fetch_fails(&src, -ENOENT, "cannot open the mirror directory", NULL);
        src = source(P("www"));
        fetch_fails(&src, -ENOENT, "www/manifest.json: missing", NULL);
}
END_TEST

/* A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
static int closed_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        port = ntohs(a.sin_port);
        (void) close(fd);
        return port;
}

START_TEST(test_proxy) {
        _cleanup_free_ char *closed = NULL, *proxy = NULL, *tunnel = NULL;
        UpdateSource src = source(U("ok", "v1"));
        size_t before;

        ck_assert_int_ge(asprintf(&closed, "http://127.0.0.1:%d/", closed_port()), 0);
        ck_assert_int_ge(asprintf(&proxy, "http://127.0.0.1:%d/", proxy_port), 0);
        ck_assert_int_ge(asprintf(&tunnel, "CONNECT 127.0.0.1:%d", https_port), 0);

        /* A proxy that refuses the tunnel (ours only opens tunnels to 127.0.0.1). */
        src = source(A("https://localhost:%d/ok/v1/", https_port));
        src.proxy = proxy;
        fetch_fails(&src, -EPROTO, "the proxy 'http://127.0.0.1:", "' refused the connection: "
                    "HTTP 403", NULL);

        /* A proxy that is not there: the fetch fails and says so. */
        src = source(U("ok", "v1"));
        src.proxy = closed;
        fetch_fails(&src, -ECONNREFUSED, "cannot connect to the proxy", closed, NULL);

        /* A working proxy is used: its log shows the tunnel. */
        before = count_in_file(P("server.log"), tunnel);
        src.proxy = proxy;
        fetch_ok(&src, "1.0.0.1");
        ck_assert_uint_gt(count_in_file(P("server.log"), tunnel), before);

        /* Without a proxy setting, proxies from the environment are ignored. */
        ck_assert_int_eq(setenv("https_proxy", closed, 1), 0);
        ck_assert_int_eq(setenv("HTTPS_PROXY", closed, 1), 0);
        ck_assert_int_eq(setenv("all_proxy", closed, 1), 0);
        ck_assert_int_eq(setenv("http_proxy", closed, 1), 0);
        src.proxy = NULL;
        fetch_ok(&src, "1.0.0.1");
        src = source(url_on("http", http_port, "ok", "v1"));
        fetch_ok(&src, "1.0.0.1");
        unsetenv("https_proxy");
        unsetenv("HTTPS_PROXY");
        unsetenv("all_proxy");
        unsetenv("http_proxy");

        /* A proxy of another scheme is refused up front. */
        src = source(U("ok", "v1"));
        src.proxy = "socks5://127.0.0.1:1080/";
        fetch_fails(&src, -EINVAL, "is not an http://host:port/ URL", NULL);
}
END_TEST

/* Runs update_fetch() of the "big" pack (a 256 KiB file) into dir in a child that first calls
 * prepare(); returns the child's exit status: 0 as expected, 77 skipped, else a failure. */
static int fetch_in_child(const char *dir, int (*prepare)(const char *dir), int expected,
                          const char *needle) {
        pid_t pid;
        int status;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                _cleanup_free_ char *message = NULL;
                UpdateSource src = source(U("ok", "big"));
                int fd, r;

                r = prepare(dir);
                if (r != 0)
                        _exit(r);
                fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        _exit(2);
                r = update_fetch(&src, fd, NULL, &message);
                fprintf(stderr, "fetch into a full disk: r=%d (%s)\n", r, strnull(message));
                if (r != expected || !message || !strstr(message, needle))
                        _exit(3);
                if (dir_entries(dir) != 0)
                        _exit(4);
                _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int prepare_tmpfs(const char *dir) {
        /* A private mount namespace, so that the mount is the child's alone. */
        if (unshare(CLONE_NEWNS) < 0) {
                fprintf(stderr, "unshare(CLONE_NEWNS): %m: cannot test a real full disk here\n");
                return 77;
        }
        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0) {
                fprintf(stderr, "mount tmpfs: %m: cannot test a real full disk here\n");
                return 77;
        }
        return 0;
}

static int prepare_rlimit(const char *dir) {
        struct rlimit rl = { .rlim_cur = 16 * 1024, .rlim_max = 16 * 1024 };

        /* Past the limit, write() fails with EFBIG instead of the process getting SIGXFSZ. */
        if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR || setrlimit(RLIMIT_FSIZE, &rl) < 0)
                return 5;
        return 0;
}

START_TEST(test_disk_full) {
        char dir[PATH_MAX], dir2[PATH_MAX];
        char *d;
        int r;

        /* On the stack: the children end with _exit(), and the heap they inherit must not look
         * leaked to valgrind. */
        d = new_dir();
        snprintf(dir, sizeof(dir), "%s", d);
        free(d);
        d = new_dir();
        snprintf(dir2, sizeof(dir2), "%s", d);
        free(d);

        /* A real full disk needs a private mount namespace (root): without one this fails, it
         * does not skip, so a machine that cannot run it is noticed. */
        r = fetch_in_child(dir, prepare_tmpfs, -ENOSPC,
                           "rules/big.yar: cannot write: No space left on device");
        ck_assert_msg(r == 0, "disk-full case: %s",
                      r == 77 ? "no private mount namespace (run as root)" : "failed");

        r = fetch_in_child(dir2, prepare_rlimit, -EFBIG, "rules/big.yar: cannot write: File "
                           "too large");
        ck_assert_int_eq(r, 0);
}
END_TEST

START_TEST(test_fallback) {
        _cleanup_(update_fetch_result_done) UpdateFetchResult res = UPDATE_FETCH_RESULT_INIT;
        _cleanup_free_ char *message = NULL;
        UpdateSource src = source(U("notfound", "v1"));

        src.fallback_url = U("ok", "v1");
        ck_assert_int_eq(fetch(&src, &res, &message, NULL), 0);
        ck_assert(res.from_fallback);
        ck_assert_str_eq(res.endpoint, src.fallback_url);
        ck_assert_ptr_nonnull(strstr(res.fallback_reason, "HTTP 404 for"));

        src.fallback_url = P("www/badsig");
        ck_assert_int_eq(fetch(&src, NULL, &message, NULL), -ENOENT);
        ck_assert_msg(strstr(message, "HTTP 404 for") &&
                      strstr(message, "www/badsig: manifest.json.sig: signature does not "
                             "verify"),
                      "%s", message);

        /* The primary's success does not touch the fallback. */
        src = source(U("ok", "v1"));
        src.fallback_url = U("notfound", "v1");
        fetch_ok(&src, "1.0.0.1");
}
END_TEST

START_TEST(test_connectivity) {
        _cleanup_strv_free_ char **lines = NULL;
        _cleanup_free_ char *ok = NULL, *bad = NULL;
        UpdateSource src = source(U("ok", "v1"));

        src.fallback_url = U("notfound", "v1");
        ck_assert_int_eq(update_test_connectivity(&src, &lines), 1);
        ck_assert_uint_eq(strv_length(lines), 2);
        ck_assert_int_ge(asprintf(&ok, "Testing connection with https://127.0.0.1:%d/ok/v1/"
                                  "manifest.json ... [OK]", https_port), 0);
        ck_assert_int_ge(asprintf(&bad, "Testing connection with https://127.0.0.1:%d/notfound/"
                                  "v1/manifest.json ... [ERROR] HTTP 404", https_port), 0);
        ck_assert_str_eq(lines[0], ok);
        ck_assert_str_eq(lines[1], bad);

        /* TLS and local failures are named too; lines are appended. */
        src = source(url_on("https", https_wrong_port, "ok", "v1"));
        src.fallback_url = P("www/no-such-pack");
        ck_assert_int_eq(update_test_connectivity(&src, &lines), 2);
        ck_assert_uint_eq(strv_length(lines), 4);
        ck_assert_msg(strstr(lines[2], "... [ERROR] TLS certificate verification failed"), "%s",
                      lines[2]);
        ck_assert_str_eq(lines[3], A("Testing connection with %s/www/no-such-pack/manifest.json"
                                     " ... [ERROR] cannot open the mirror directory: No such "
                                     "file or directory", tmpdir));
        /* And an endpoint that is not one. */
        src = source("ftp://127.0.0.1/");
        ck_assert_int_eq(update_test_connectivity(&src, &lines), 1);
        ck_assert_str_eq(lines[4], "Testing connection with ftp://127.0.0.1/ ... [ERROR] not an "
                         "http:// or https:// URL, nor an absolute directory path");
}
END_TEST

START_TEST(test_invalid_arguments) {
        _cleanup_free_ char *dir = new_dir(), *message = NULL;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        UpdateSource src;

        src = source("ftp://127.0.0.1/x/");
        fetch_fails(&src, -EINVAL, "not an http:// or https:// URL", NULL);
        src = source("file:///srv/mirror/");
        fetch_fails(&src, -EINVAL, "not an http:// or https:// URL", NULL);
        src = source("relative/dir");
        fetch_fails(&src, -EINVAL, "absolute directory path", NULL);
        src = source("https://127.0.0.1/x/?token=1");
        fetch_fails(&src, -EINVAL, "without a query", NULL);
        src = source(U("ok", "v1"));
        src.engine_version = "x";
        fetch_fails(&src, -EINVAL, "engine version", NULL);

        /* The destination must be empty. */
        ck_assert_int_eq(mkdirat(fd, "something", 0755), 0);
        src = source(U("ok", "v1"));
        ck_assert_int_eq(update_fetch(&src, fd, NULL, &message), -ENOTEMPTY);
        ck_assert_int_eq(access(A("%s/something", dir), F_OK), 0);
}
END_TEST

static Suite *update_suite(void) {
        Suite *s = suite_create("update");
        TCase *tc;

        tc = tcase_create("https");
        tcase_add_test(tc, test_https_install_and_upgrade);
        tcase_add_test(tc, test_up_to_date_writes_nothing);
        tcase_add_test(tc, test_rollback_refused);
        tcase_add_test(tc, test_tampered_file_keeps_store);
        tcase_add_test(tc, test_bad_signature);
        tcase_add_test(tc, test_signature_by_other_key);
        tcase_add_test(tc, test_engine_too_old);
        suite_add_tcase(s, tc);

        tc = tcase_create("hostile-mirror");
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_endless_and_huge);
        tcase_add_test(tc, test_slow_loris);
        tcase_add_test(tc, test_tls_untrusted);
        tcase_add_test(tc, test_redirects);
        tcase_add_test(tc, test_http_404);
        suite_add_tcase(s, tc);

        tc = tcase_create("transports");
        tcase_add_test(tc, test_plain_http);
        tcase_add_test(tc, test_local_directory);
        tcase_add_test(tc, test_proxy);
        tcase_add_test(tc, test_disk_full);
        tcase_add_test(tc, test_fallback);
        tcase_add_test(tc, test_connectivity);
        tcase_add_test(tc, test_invalid_arguments);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        main_pid = getpid();
        (void) signal(SIGPIPE, SIG_IGN);
        snprintf(tmpdir, sizeof(tmpdir), "%s/test-update-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        MUST(mkdtemp(tmpdir));
        MUST(atexit(cleanup_at_exit) == 0);
        MUST(update_global_init() == 0);

        key_a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        key_b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        MUST(key_a && key_b);
        pub_a = public_of(key_a);
        MUST(pub_a);

        make_pki();
        make_packs();
        server_start();

        sr = srunner_create(update_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);

        EVP_PKEY_free(key_a);
        EVP_PKEY_free(key_b);
        EVP_PKEY_free(pub_a);
        update_global_done();
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
