/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mdatp-pack: builds, signs and verifies mdatp definition packs, and makes signing keys.
 *
 *   mdatp-pack build --key PRIVATE.pem --version V [--minimum-engine-version X]
 *                    --out OUTDIR [--stamp FILE] SRCDIR
 *   mdatp-pack verify --key PUBLIC.pem [--engine-version X] DIR
 *   mdatp-pack keygen --out-private PRIVATE.pem --out-public PUBLIC.pem
 *
 * `build` packs SRCDIR/rules/NAME.yar and SRCDIR/hashes/NAME.tsv (sorted by name; other files are not
 * packed), validates them with the daemon's own parsers (and compiles the rules with libyara
 * when built with it), writes them with manifest.json and manifest.json.sig into a temporary
 * directory beside OUTDIR, verifies that with the daemon's loader, and only then replaces
 * OUTDIR. "created" is the current time, or $SOURCE_DATE_EPOCH for reproducible builds.
 *
 * Exit status: 0 success, 1 failure, 2 usage error. Messages go to stderr, prefixed with
 * "mdatp-pack: ".
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#if HAVE_YARA
#include <yara.h>
#endif

#include "definitions/definitions-internal.h"
#include "definitions/definitions.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

#define EXIT_USAGE 2
#define KEY_FILE_MAX (16 * 1024)
/* The first engine that reads manifest format 1. */
#define DEFAULT_MINIMUM_ENGINE_VERSION "0.1.0"

#ifndef MDATP_PACK_ENGINE_VERSION
#error "MDATP_PACK_ENGINE_VERSION must be defined by the build"
#endif

/* asprintf() that leaves *ret NULL on failure (glibc leaves it undefined). */
static int xasprintf(char **ret, const char *format, ...) _printf_(2, 3);
static int xasprintf(char **ret, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(ret, format, ap);
        va_end(ap);
        if (r < 0)
                *ret = NULL;
        return r;
}

static void error(const char *format, ...) _printf_(1, 2);
static void error(const char *format, ...) {
        va_list ap;

        fputs("mdatp-pack: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static int usage_error(const char *format, ...) _printf_(1, 2);
static int usage_error(const char *format, ...) {
        va_list ap;

        fputs("mdatp-pack: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputs("\nTry 'mdatp-pack --help'.\n", stderr);
        return EXIT_USAGE;
}

static void help(void) {
        printf("Usage:\n"
               "  mdatp-pack build --key PRIVATE.pem --version V [--minimum-engine-version X]\n"
               "                   --out OUTDIR [--stamp FILE] SRCDIR\n"
               "  mdatp-pack verify --key PUBLIC.pem [--engine-version X] DIR\n"
               "  mdatp-pack keygen --out-private PRIVATE.pem --out-public PUBLIC.pem\n"
               "\n"
               "Builds and signs mdatp definition packs, verifies them, makes Ed25519 keys.\n"
               "\n"
               "build   packs SRCDIR/rules/*.yar and SRCDIR/hashes/*.tsv into OUTDIR with a\n"
               "        manifest.json signed by PRIVATE.pem (manifest.json.sig). \"created\" is\n"
               "        now, or $SOURCE_DATE_EPOCH when set. The minimum engine version\n"
               "        defaults to %s. --stamp writes FILE after success (for build systems).\n"
               "verify  checks a pack as the daemon does (engine version %s by default).\n"
               "keygen  writes a new private key (mode 0600) and its public key; refuses to\n"
               "        overwrite files.\n"
               "\n"
               "Exit status: 0 success, 1 failure, 2 usage error.\n",
               DEFAULT_MINIMUM_ENGINE_VERSION, MDATP_PACK_ENGINE_VERSION);
}

/* Reads a small file whole (following symlinks: these are the user's own files). */
static int read_small_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return read_fd_full(fd, 0, max, ret, ret_size);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);

static int load_private_key(const char *path, EVP_PKEY **ret) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *k = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        _cleanup_free_ char *pem = NULL;
        size_t size;
        int r;

        r = read_small_file(path, KEY_FILE_MAX, &pem, &size);
        if (r < 0) {
                error("'%s': cannot read the key: %s", path, strerror(-r));
                return r;
        }
        bio = BIO_new_mem_buf(pem, (int) size);
        if (!bio)
                return -ENOMEM;
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        ERR_clear_error();
        if (!k) {
                error("'%s': not a PEM private key", path);
                return -EBADMSG;
        }
        if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
                error("'%s': not an Ed25519 key", path);
                return -EINVAL;
        }
        *ret = TAKE_PTR(k);
        return 0;
}

/* The public half of an Ed25519 private key, as the daemon would load it. */
static int public_of(EVP_PKEY *private_key, EVP_PKEY **ret) {
        uint8_t raw[DEFINITIONS_PUBLIC_KEY_SIZE];
        size_t len = sizeof(raw);

        if (EVP_PKEY_get_raw_public_key(private_key, raw, &len) != 1 || len != sizeof(raw)) {
                ERR_clear_error();
                return -EIO;
        }
        return definitions_public_key_from_raw(raw, ret);
}

/* One file to pack. */
typedef struct SourceFile {
        char *path;                     /* in the pack: "rules/eicar.yar" */
        DefinitionFileKind kind;
        char *data;
        size_t size;
} SourceFile;

typedef struct Build {
        SourceFile *files;
        size_t n_files;
} Build;

static void build_done(Build *b) {
        for (size_t i = 0; i < b->n_files; i++) {
                free(b->files[i].path);
                free(b->files[i].data);
        }
        free(b->files);
        *b = (Build) {};
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* Adds SRCDIR/subdir/<name><suffix> files, sorted. A missing subdir adds nothing. */
static int build_collect(Build *b, const char *srcdir, const char *subdir, const char *suffix,
                         DefinitionFileKind kind) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        size_t n;
        DIR *d;

        if (xasprintf(&dir, "%s/%s", srcdir, subdir) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                int r = negative_errno();

                if (r == -ENOENT)
                        return 0;
                error("'%s': %s", dir, strerror(-r));
                return r;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name), slen = strlen(suffix);

                /* Hidden files are editors' and VCS's, not rules. */
                if (de->d_name[0] == '.' || len <= slen || !streq(de->d_name + len - slen, suffix))
                        continue;
                if (strv_extend(&names, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);

        n = strv_length(names);
        if (n == 0)
                return 0;
        qsort(names, n, sizeof(char *), compare_strings);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *full = NULL, *data = NULL;
                const char *reason;
                SourceFile *files;
                size_t size;
                int r;

                if (xasprintf(&path, "%s/%s", subdir, names[i]) < 0 ||
                    xasprintf(&full, "%s/%s", srcdir, path) < 0)
                        return -ENOMEM;
                reason = definition_path_invalid_reason(path);
                if (reason) {
                        error("'%s': the name %s", full, reason);
                        return -EINVAL;
                }
                r = read_small_file(full, DEFINITIONS_FILE_MAX_SIZE, &data, &size);
                if (r == -EBADFD) {
                        error("'%s': not a regular file", full);
                        return r;
                }
                if (r < 0) {
                        error("'%s': %s", full, r == -E2BIG ? "too large" : strerror(-r));
                        return r;
                }
                if (b->n_files >= DEFINITIONS_MAX_FILES) {
                        error("'%s': more than %d files", srcdir, DEFINITIONS_MAX_FILES);
                        return -E2BIG;
                }

                files = reallocarray(b->files, b->n_files + 1, sizeof(SourceFile));
                if (!files)
                        return -ENOMEM;
                b->files = files;
                b->files[b->n_files++] = (SourceFile) {
                        .path = TAKE_PTR(path),
                        .kind = kind,
                        .data = TAKE_PTR(data),
                        .size = size,
                };
        }
        return 0;
}

/* Validates the content of every file with the daemon's parsers. */
static int build_validate(const Build *b) {
        uint64_t total = 0;

        for (size_t i = 0; i < b->n_files; i++) {
                const SourceFile *f = &b->files[i];

                total += f->size;
                if (f->kind == DEFINITION_FILE_YARA && memchr(f->data, '\0', f->size)) {
                        error("%s: contains a NUL byte; YARA sources are text", f->path);
                        return -EBADMSG;
                }
                if (f->kind == DEFINITION_FILE_SHA256_LIST) {
                        _cleanup_free_ char *message = NULL;
                        DefinitionHashList l = {};
                        int r;

                        r = definition_hash_list_parse(f->path, f->data, f->size, &l, &message);
                        definition_hash_list_done(&l);
                        if (r < 0) {
                                error("%s", message ?: strerror(-r));
                                return r;
                        }
                }
        }
        if (total > DEFINITIONS_TOTAL_MAX_SIZE) {
                error("the files add up to more than %" PRIu64 " bytes",
                      DEFINITIONS_TOTAL_MAX_SIZE);
                return -E2BIG;
        }
        return 0;
}

#if HAVE_YARA
typedef struct YaraContext {
        const char *path;
        unsigned errors;
} YaraContext;

static void yara_message(int level, const char *file_name, int line, const YR_RULE *rule,
                         const char *message, void *userdata) {
        YaraContext *c = userdata;

        if (level == YARA_ERROR_LEVEL_ERROR)
                c->errors++;
        fprintf(stderr, "mdatp-pack: %s:%d: %s: %s\n", c->path, line,
                level == YARA_ERROR_LEVEL_ERROR ? "error" : "warning", message);
}

/* Compiles all rules as the engine does: one compiler, each file its own namespace named by its
 * path. */
static int build_compile_rules(const Build *b) {
        YR_COMPILER *compiler = NULL;
        YaraContext c = {};
        YR_RULES *rules = NULL;
        int r = 0;

        if (yr_initialize() != ERROR_SUCCESS) {
                error("cannot initialise libyara");
                return -EIO;
        }
        if (yr_compiler_create(&compiler) != ERROR_SUCCESS) {
                (void) yr_finalize();
                return -ENOMEM;
        }
        yr_compiler_set_callback(compiler, yara_message, &c);
        for (size_t i = 0; i < b->n_files && c.errors == 0; i++) {
                if (b->files[i].kind != DEFINITION_FILE_YARA)
                        continue;
                c.path = b->files[i].path;
                /* After a failed add the compiler cannot be used further: stop at the first. */
                if (yr_compiler_add_string(compiler, b->files[i].data, c.path) > 0 &&
                    c.errors == 0)
                        c.errors++;
        }
        if (c.errors == 0 && yr_compiler_get_rules(compiler, &rules) != ERROR_SUCCESS) {
                error("cannot compile the rules");
                c.errors++;
        }
        if (c.errors > 0)
                r = -EBADMSG;
        if (rules)
                yr_rules_destroy(rules);
        yr_compiler_destroy(compiler);
        (void) yr_finalize();
        return r;
}
#endif

/* "created": $SOURCE_DATE_EPOCH (decimal seconds) when set, else now. */
static int build_created(uint64_t *ret_usec) {
        const char *e = getenv("SOURCE_DATE_EPOCH");
        unsigned long long t;
        char *end;

        if (isempty(e)) {
                struct timespec ts;

                if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                        return negative_errno();
                *ret_usec = (uint64_t) ts.tv_sec * UINT64_C(1000000);
                return 0;
        }
        errno = 0;
        t = strtoull(e, &end, 10);
        if (errno != 0 || *end != '\0' || e[0] < '0' || e[0] > '9' ||
            t > UINT64_C(253402300799)) {      /* 9999-12-31T23:59:59Z */
                error("SOURCE_DATE_EPOCH='%s' is not a number of seconds", e);
                return -EINVAL;
        }
        *ret_usec = (uint64_t) t * UINT64_C(1000000);
        return 0;
}

/* Creates name below dir_fd (O_EXCL) with data and mode. */
static int write_new_file_at(int dir_fd, const char *name, const void *data, size_t size,
                             mode_t mode) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        r = write_full(fd, data, size);
        if (r < 0)
                return r;
        if (fchmod(fd, mode) < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

/* Writes a pack's files below dir_fd. */
static int build_write(int dir_fd, const Build *b, const char *manifest, size_t manifest_size,
                       const uint8_t sig[DEFINITIONS_SIGNATURE_SIZE]) {
        int r;

        for (size_t i = 0; i < b->n_files; i++) {
                const char *slash = strchr(b->files[i].path, '/');
                _cleanup_free_ char *subdir = strndup(b->files[i].path,
                                                      (size_t) (slash - b->files[i].path));
                _cleanup_close_ int d = -EBADF;

                if (!subdir)
                        return -ENOMEM;
                if (mkdirat(dir_fd, subdir, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                d = openat(dir_fd, subdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        return negative_errno();
                r = write_new_file_at(d, slash + 1, b->files[i].data, b->files[i].size, 0644);
                if (r < 0)
                        return r;
        }
        r = write_new_file_at(dir_fd, DEFINITIONS_MANIFEST_NAME, manifest, manifest_size, 0644);
        if (r < 0)
                return r;
        return write_new_file_at(dir_fd, DEFINITIONS_SIGNATURE_NAME, sig,
                                 DEFINITIONS_SIGNATURE_SIZE, 0644);
}

/* Replaces outdir by the directory tmp (both absolute or relative to the cwd, same parent).
 * Refuses to replace anything but an empty directory or a pack. */
static int replace_outdir(const char *tmp, const char *outdir) {
        _cleanup_free_ char *manifest = NULL;
        struct stat st;
        DIR *d;
        bool empty = true;
        struct dirent *de;

        if (lstat(outdir, &st) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                return rename(tmp, outdir) < 0 ? negative_errno() : 0;
        }
        if (!S_ISDIR(st.st_mode)) {
                error("'%s': exists and is not a directory", outdir);
                return -EEXIST;
        }
        if (xasprintf(&manifest, "%s/%s", outdir, DEFINITIONS_MANIFEST_NAME) < 0)
                return -ENOMEM;
        d = opendir(outdir);
        if (!d)
                return negative_errno();
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        empty = false;
        closedir(d);
        if (!empty && access(manifest, F_OK) < 0) {
                error("'%s': refusing to replace a directory that is neither empty nor a pack",
                      outdir);
                return -EEXIST;
        }

        /* Swap the names, then remove the old pack under the temporary name. */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, outdir, RENAME_EXCHANGE) < 0) {
                /* No RENAME_EXCHANGE here: remove, then rename. */
                int r = definition_rm_rf_at(AT_FDCWD, outdir);

                if (r < 0)
                        return r;
                return rename(tmp, outdir) < 0 ? negative_errno() : 0;
        }
        return definition_rm_rf_at(AT_FDCWD, tmp);
}

static int verb_build(int argc, char *argv[]) {
        static const struct option options[] = {
                { "key", required_argument, NULL, 'k' },
                { "version", required_argument, NULL, 'V' },
                { "minimum-engine-version", required_argument, NULL, 'm' },
                { "out", required_argument, NULL, 'o' },
                { "stamp", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *key_path = NULL, *version = NULL, *stamp = NULL;
        const char *min_engine = DEFAULT_MINIMUM_ENGINE_VERSION, *srcdir;
        _cleanup_free_ char *outdir = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL, *public_key = NULL;
        _cleanup_(definition_manifest_freep) DefinitionManifest *m = NULL;
        _cleanup_(definition_pack_freep) DefinitionPack *pack = NULL;
        _cleanup_free_ char *manifest = NULL, *tmp = NULL, *message = NULL;
        _cleanup_close_ int tmp_fd = -EBADF;
        uint8_t sig[DEFINITIONS_SIGNATURE_SIZE];
        size_t manifest_size;
        Build b = {};
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'k':
                        key_path = optarg;
                        break;
                case 'V':
                        version = optarg;
                        break;
                case 'm':
                        min_engine = optarg;
                        break;
                case 'o':
                        free(outdir);
                        outdir = strdup(optarg);
                        if (!outdir)
                                return EXIT_FAILURE;
                        /* "out/" must name out itself: the temporary goes beside it. */
                        for (size_t n = strlen(outdir); n > 1 && outdir[n - 1] == '/'; n--)
                                outdir[n - 1] = '\0';
                        break;
                case 's':
                        stamp = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return usage_error("build: invalid option");
                }
        if (!key_path || !version || !outdir)
                return usage_error("build: --key, --version and --out are required");
        if (optind + 1 != argc)
                return usage_error("build: expected one source directory");
        srcdir = argv[optind];
        if (!definitions_version_is_valid(version))
                return usage_error("build: '%s' is not a version (dotted numbers such as "
                                   "1.2.3.4)", version);
        if (!definitions_version_is_valid(min_engine))
                return usage_error("build: '%s' is not a version", min_engine);

        if (load_private_key(key_path, &key) < 0 || public_of(key, &public_key) < 0)
                return EXIT_FAILURE;

        r = build_collect(&b, srcdir, "rules", ".yar", DEFINITION_FILE_YARA);
        if (r >= 0)
                r = build_collect(&b, srcdir, "hashes", ".tsv", DEFINITION_FILE_SHA256_LIST);
        if (r >= 0 && b.n_files == 0) {
                error("'%s': no rules/*.yar and no hashes/*.tsv", srcdir);
                r = -ENOENT;
        }
        if (r >= 0)
                r = build_validate(&b);
#if HAVE_YARA
        if (r >= 0)
                r = build_compile_rules(&b);
#endif
        if (r < 0)
                goto finish;

        m = calloc(1, sizeof(DefinitionManifest));
        if (!m || !(m->version = strdup(version)) ||
            !(m->minimum_engine_version = strdup(min_engine)) ||
            !(m->files = calloc(b.n_files, sizeof(DefinitionManifestFile)))) {
                r = -ENOMEM;
                goto finish;
        }
        r = build_created(&m->created_usec);
        if (r < 0)
                goto finish;
        for (size_t i = 0; i < b.n_files; i++) {
                m->files[i] = (DefinitionManifestFile) {
                        .path = strdup(b.files[i].path),
                        .kind = b.files[i].kind,
                        .size = b.files[i].size,
                };
                m->n_files++;
                if (!m->files[i].path) {
                        r = -ENOMEM;
                        goto finish;
                }
                definition_sha256(b.files[i].data, b.files[i].size, m->files[i].sha256);
        }
        r = definition_manifest_format(m, &manifest, &manifest_size);
        if (r >= 0)
                r = definition_signature_create(key, manifest, manifest_size, sig);
        if (r < 0) {
                error("cannot write and sign the manifest: %s", strerror(-r));
                goto finish;
        }

        /* Write beside OUTDIR, verify, then replace OUTDIR: never a half-built OUTDIR. */
        if (xasprintf(&tmp, "%s.tmp-XXXXXX", outdir) < 0) {
                r = -ENOMEM;
                goto finish;
        }
        if (!mkdtemp(tmp) || chmod(tmp, 0755) < 0) {
                r = negative_errno();
                error("'%s': cannot create: %s", tmp, strerror(-r));
                goto finish;
        }
        tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tmp_fd < 0) {
                r = negative_errno();
                goto finish_tmp;
        }
        r = build_write(tmp_fd, &b, manifest, manifest_size, sig);
        if (r < 0) {
                error("'%s': cannot write the pack: %s", tmp, strerror(-r));
                goto finish_tmp;
        }
        r = definitions_pack_load_at(tmp_fd, public_key, min_engine, &pack, &message);
        if (r < 0) {
                error("the built pack does not verify: %s", message ?: strerror(-r));
                goto finish_tmp;
        }
        r = replace_outdir(tmp, outdir);
        if (r < 0) {
                error("'%s': cannot replace: %s", outdir, strerror(-r));
                goto finish_tmp;
        }
        if (stamp) {
                _cleanup_free_ char *text = NULL;
                int n = xasprintf(&text, "%s\n", version);

                if (n < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                (void) unlink(stamp);
                r = write_new_file_at(AT_FDCWD, stamp, text, (size_t) n, 0644);
                if (r < 0) {
                        error("'%s': %s", stamp, strerror(-r));
                        goto finish;
                }
        }
        printf("Built definition pack %s: %zu rule files, %zu hashes, in '%s'.\n", version,
               pack->n_rules, pack->n_hashes, outdir);
        r = 0;
        goto finish;

finish_tmp:
        (void) definition_rm_rf_at(AT_FDCWD, tmp);
finish:
        build_done(&b);
        return r < 0 ? EXIT_FAILURE : 0;
}

static int verb_verify(int argc, char *argv[]) {
        static const struct option options[] = {
                { "key", required_argument, NULL, 'k' },
                { "engine-version", required_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *key_path = NULL, *engine = MDATP_PACK_ENGINE_VERSION, *dir;
        _cleanup_(definition_pack_freep) DefinitionPack *pack = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ char *message = NULL;
        char created[64];
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'k':
                        key_path = optarg;
                        break;
                case 'e':
                        engine = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return usage_error("verify: invalid option");
                }
        if (!key_path)
                return usage_error("verify: --key is required");
        if (optind + 1 != argc)
                return usage_error("verify: expected one pack directory");
        dir = argv[optind];
        if (!definitions_version_is_valid(engine))
                return usage_error("verify: '%s' is not a version", engine);

        r = definitions_public_key_load_pem(key_path, &key);
        if (r < 0) {
                error("'%s': cannot load the public key: %s", key_path,
                      r == -EBADMSG ? "not a PEM public key" :
                      r == -EINVAL ? "not an Ed25519 key" : strerror(-r));
                return EXIT_FAILURE;
        }
        r = definitions_pack_load(dir, key, engine, &pack, &message);
        if (r < 0) {
                error("'%s': %s", dir, message ?: strerror(-r));
                return EXIT_FAILURE;
        }
        if (definition_time_format(pack->created_usec, created, sizeof(created)) < 0)
                strcpy(created, "?");
        printf("'%s': valid definition pack\n"
               "version: %s\n"
               "created: %s\n"
               "minimum engine version: %s\n"
               "rule files: %zu\n"
               "hashes: %zu\n",
               dir, pack->version, created, pack->minimum_engine_version, pack->n_rules,
               pack->n_hashes);
        return 0;
}

/* Writes key as PEM (PKCS#8 private key, or SubjectPublicKeyInfo) into a new file at path. */
static int write_pem(const char *path, EVP_PKEY *key, bool private, mode_t mode) {
        _cleanup_(BIO_freep) BIO *bio = NULL;
        char *data;
        long size;
        int ok, r;

        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return -ENOMEM;
        ok = private ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) :
                       PEM_write_bio_PUBKEY(bio, key);
        if (ok != 1) {
                ERR_clear_error();
                return -EIO;
        }
        size = BIO_get_mem_data(bio, &data);
        if (size <= 0)
                return -EIO;
        r = write_new_file_at(AT_FDCWD, path, data, (size_t) size, mode);
        OPENSSL_cleanse(data, (size_t) size);
        return r;
}

static int verb_keygen(int argc, char *argv[]) {
        static const struct option options[] = {
                { "out-private", required_argument, NULL, 'p' },
                { "out-public", required_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *private_path = NULL, *public_path = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'p':
                        private_path = optarg;
                        break;
                case 'q':
                        public_path = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return usage_error("keygen: invalid option");
                }
        if (!private_path || !public_path)
                return usage_error("keygen: --out-private and --out-public are required");
        if (optind != argc)
                return usage_error("keygen: unexpected argument '%s'", argv[optind]);

        key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        if (!key) {
                ERR_clear_error();
                error("cannot generate an Ed25519 key");
                return EXIT_FAILURE;
        }
        r = write_pem(private_path, key, true, 0600);
        if (r < 0) {
                error("'%s': %s", private_path, strerror(-r));
                return EXIT_FAILURE;
        }
        r = write_pem(public_path, key, false, 0644);
        if (r < 0) {
                error("'%s': %s", public_path, strerror(-r));
                (void) unlink(private_path);
                return EXIT_FAILURE;
        }
        printf("Wrote the private key to '%s' and the public key to '%s'.\n", private_path,
               public_path);
        return 0;
}

int main(int argc, char *argv[]) {
        const char *verb;

        if (argc < 2)
                return usage_error("expected a command: build, verify or keygen");
        verb = argv[1];
        if (streq(verb, "--help") || streq(verb, "-h") || streq(verb, "help")) {
                help();
                return 0;
        }
        if (streq(verb, "--version")) {
                printf("mdatp-pack %s\n", MDATP_PACK_ENGINE_VERSION);
                return 0;
        }

        /* getopt_long over the verb's own arguments. */
        argc--;
        argv++;
        if (streq(verb, "build"))
                return verb_build(argc, argv);
        if (streq(verb, "verify"))
                return verb_verify(argc, argv);
        if (streq(verb, "keygen"))
                return verb_keygen(argc, argv);
        return usage_error("unknown command '%s'", verb);
}
