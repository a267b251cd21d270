/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loading one definition pack from a directory, in an order that never trusts what has not been
 * checked yet:
 *
 *   1. read manifest.json (bounded) and manifest.json.sig (exactly 64 bytes);
 *   2. verify the signature of the manifest bytes with the installed key: nothing else of the
 *      pack is parsed before this succeeds;
 *   3. parse and validate the manifest (manifest.c), check minimumEngineVersion;
 *   4. open every listed file beneath the pack directory one component at a time, refusing a
 *      symlink at any component (fstatat(AT_SYMLINK_NOFOLLOW) first, so that a device or FIFO is
 *      never even opened; then openat(O_NOFOLLOW|O_NONBLOCK) and a check that the opened inode
 *      is the one examined); read it whole, compare size and SHA-256 of the bytes read — the
 *      same bytes that are then used, so a file changed after the check cannot slip in;
 *   5. YARA sources are kept as text; sha256-list files are parsed (hashlist.c) and merged into
 *      one sorted table without duplicates.
 *
 * Any failure frees everything and reports one message naming the file and the problem.
 * No state; no logging.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "definitions/definitions-internal.h"
#include "util/fileio.h"
#include "util/macro.h"

/* Opens the regular file `path` (relative, already validated) beneath dir_fd without following
 * a symlink anywhere. Messages start with path. */
static int pack_open_file(int dir_fd, const char *path, int *ret_fd, char **ret_error) {
        _cleanup_close_ int parent = -EBADF, fd = -EBADF;
        char buf[DEFINITIONS_PATH_MAX + 1];
        struct stat st, st2;
        int at = dir_fd;
        char *component, *slash;

        if (strlen(path) >= sizeof(buf))
                return definition_error(ret_error, -ENAMETOOLONG, "%s: path too long", path);
        strcpy(buf, path);

        for (component = buf; (slash = strchr(component, '/')); component = slash + 1) {
                int d;

                *slash = '\0';
                if (fstatat(at, component, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                return definition_error(ret_error, -ENOENT,
                                                        "%s: listed in the manifest but missing",
                                                        path);
                        return definition_error(ret_error, negative_errno(),
                                                "%s: cannot examine '%s': %m", path, buf);
                }
                if (S_ISLNK(st.st_mode))
                        return definition_error(ret_error, -ELOOP,
                                                "%s: '%s' is a symbolic link, which a pack may "
                                                "not contain", path, buf);
                if (!S_ISDIR(st.st_mode))
                        return definition_error(ret_error, -ENOTDIR, "%s: '%s' is not a directory",
                                                path, buf);
                d = openat(at, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        return definition_error(ret_error, negative_errno(),
                                                "%s: cannot open '%s': %m", path, buf);
                closep(&parent);
                parent = d;
                at = parent;
                *slash = '/';
        }

        if (fstatat(at, component, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return definition_error(ret_error, -ENOENT,
                                                "%s: listed in the manifest but missing", path);
                return definition_error(ret_error, negative_errno(), "%s: cannot examine: %m",
                                        path);
        }
        if (S_ISLNK(st.st_mode))
                return definition_error(ret_error, -ELOOP,
                                        "%s: is a symbolic link, which a pack may not contain",
                                        path);
        if (!S_ISREG(st.st_mode))
                return definition_error(ret_error, -EBADFD, "%s: not a regular file", path);

        fd = openat(at, component, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return definition_error(ret_error, negative_errno(), "%s: cannot open: %m", path);
        if (fstat(fd, &st2) < 0)
                return definition_error(ret_error, negative_errno(), "%s: cannot examine: %m",
                                        path);
        if (!S_ISREG(st2.st_mode) || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
                return definition_error(ret_error, -EBUSY,
                                        "%s: replaced while being opened", path);

        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Reads the file `path` beneath dir_fd, at most max_size bytes. */
static int pack_read_file(int dir_fd, const char *path, size_t max_size, char **ret_data,
                          size_t *ret_size, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = pack_open_file(dir_fd, path, &fd, ret_error);
        if (r < 0)
                return r;
        r = read_fd_full(fd, 0, max_size, ret_data, ret_size);
        if (r == -E2BIG)
                return definition_error(ret_error, r, "%s: larger than the limit of %zu bytes",
                                        path, max_size);
        if (r < 0)
                return definition_error(ret_error, r, "%s: cannot read: %s", path, strerror(-r));
        return 0;
}

DefinitionPack *definition_pack_free(DefinitionPack *p) {
        if (!p)
                return NULL;
        free(p->version);
        free(p->minimum_engine_version);
        for (size_t i = 0; i < p->n_rules; i++) {
                free(p->rules[i].name);
                free(p->rules[i].text);
        }
        free(p->rules);
        for (size_t i = 0; i < p->n_hashes; i++) {
                free(p->hashes[i].name);
                free(p->hashes[i].type);
        }
        free(p->hashes);
        return mfree(p);
}

DefinitionPackRaw *definition_pack_raw_free(DefinitionPackRaw *r) {
        if (!r)
                return NULL;
        if (r->data && r->manifest)
                for (size_t i = 0; i < r->manifest->n_files; i++)
                        free(r->data[i]);
        free(r->data);
        free(r->manifest_text);
        definition_manifest_free(r->manifest);
        return mfree(r);
}

/* Reads manifest and signature, verifies, parses (steps 1-3). */
static int pack_load_manifest(int dir_fd, EVP_PKEY *key, const char *engine_version,
                              DefinitionPackRaw *raw, char **ret_error) {
        _cleanup_free_ char *sig = NULL;
        size_t sig_size;
        int r;

        r = pack_read_file(dir_fd, DEFINITIONS_MANIFEST_NAME, DEFINITIONS_MANIFEST_MAX_SIZE,
                           &raw->manifest_text, &raw->manifest_size, ret_error);
        if (r == -ENOENT)
                return definition_error(ret_error, r, DEFINITIONS_MANIFEST_NAME ": missing");
        if (r < 0)
                return r;

        /* One byte more than a signature, to tell "too long" from "just right". */
        r = pack_read_file(dir_fd, DEFINITIONS_SIGNATURE_NAME, DEFINITIONS_SIGNATURE_SIZE + 1,
                           &sig, &sig_size, ret_error);
        if (r == -ENOENT)
                return definition_error(ret_error, r,
                                        DEFINITIONS_SIGNATURE_NAME ": missing (the pack is not "
                                        "signed)");
        if (r == -E2BIG)
                return definition_error(ret_error, -EBADMSG,
                                        DEFINITIONS_SIGNATURE_NAME ": not a raw %d-byte Ed25519 "
                                        "signature (longer)", DEFINITIONS_SIGNATURE_SIZE);
        if (r >= 0 && sig_size != DEFINITIONS_SIGNATURE_SIZE)
                return definition_error(ret_error, -EBADMSG,
                                        DEFINITIONS_SIGNATURE_NAME ": not a raw %d-byte Ed25519 "
                                        "signature (%zu bytes)", DEFINITIONS_SIGNATURE_SIZE,
                                        sig_size);
        if (r < 0)
                return r;
        memcpy(raw->signature, sig, DEFINITIONS_SIGNATURE_SIZE);

        r = definition_signature_verify(key, raw->manifest_text, raw->manifest_size,
                                        raw->signature);
        if (r < 0)
                return definition_error(ret_error, r,
                                        DEFINITIONS_SIGNATURE_NAME ": cannot verify: %s",
                                        strerror(-r));
        if (r == 0)
                return definition_error(ret_error, -EKEYREJECTED,
                                        DEFINITIONS_SIGNATURE_NAME ": signature does not verify "
                                        "with the installed key");

        r = definition_manifest_parse(raw->manifest_text, raw->manifest_size, &raw->manifest,
                                      ret_error);
        if (r < 0)
                return r;

        if (definitions_version_compare(raw->manifest->minimum_engine_version,
                                        engine_version) > 0)
                return definition_error(ret_error, -EPROTONOSUPPORT,
                                        DEFINITIONS_MANIFEST_NAME ": the pack needs engine "
                                        "version %s or newer; this engine is %s",
                                        raw->manifest->minimum_engine_version, engine_version);
        return 0;
}

/* Reads and checks every listed file (step 4). */
static int pack_load_files(int dir_fd, DefinitionPackRaw *raw, char **ret_error) {
        const DefinitionManifest *m = raw->manifest;

        raw->data = calloc(m->n_files, sizeof(char *));
        if (!raw->data)
                return -ENOMEM;

        for (size_t i = 0; i < m->n_files; i++) {
                const DefinitionManifestFile *f = &m->files[i];
                uint8_t sha256[32];
                size_t size = 0;
                int r;

                r = pack_read_file(dir_fd, f->path, (size_t) f->size, &raw->data[i], &size,
                                   ret_error);
                if (r == -E2BIG || (r >= 0 && size != f->size))
                        return definition_error(ret_error, -EBADMSG,
                                                "%s: size does not match the manifest's %" PRIu64
                                                " bytes", f->path, f->size);
                if (r < 0)
                        return r;

                definition_sha256(raw->data[i], size, sha256);
                if (memcmp(sha256, f->sha256, 32) != 0)
                        return definition_error(ret_error, -EBADMSG, "%s: SHA-256 mismatch",
                                                f->path);
        }
        return 0;
}

typedef struct HashOrigin {
        const DefinitionHashList *lists;
        const DefinitionManifest *manifest;
        const size_t *list_file;        /* lists[i] is of manifest->files[list_file[i]] */
} HashOrigin;

typedef struct HashRef {
        size_t list, entry;
} HashRef;

static int hash_ref_compare(const void *a, const void *b, void *userdata) {
        const HashOrigin *o = userdata;
        const HashRef *x = a, *y = b;
        int c = memcmp(o->lists[x->list].entries[x->entry].sha256,
                       o->lists[y->list].entries[y->entry].sha256, 32);

        if (c != 0)
                return c;
        if (x->list != y->list)
                return x->list < y->list ? -1 : 1;
        return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Merges the parsed lists into p->hashes, sorted, refusing a SHA-256 in two files. Takes over
 * the entries' strings. */
static int pack_merge_hashes(DefinitionPack *p, DefinitionHashList *lists, size_t n_lists,
                             const HashOrigin *o, char **ret_error) {
        _cleanup_free_ HashRef *refs = NULL;
        size_t n = 0, k = 0;

        for (size_t i = 0; i < n_lists; i++)
                n += lists[i].n;
        if (n == 0)
                return 0;

        refs = calloc(n, sizeof(HashRef));
        p->hashes = calloc(n, sizeof(DefinitionHashEntry));
        if (!refs || !p->hashes)
                return -ENOMEM;
        for (size_t i = 0; i < n_lists; i++)
                for (size_t j = 0; j < lists[i].n; j++)
                        refs[k++] = (HashRef) { .list = i, .entry = j };
        qsort_r(refs, n, sizeof(HashRef), hash_ref_compare, (void *) o);

        for (size_t i = 1; i < n; i++) {
                const HashRef *a = &refs[i - 1], *b = &refs[i];
                char hex[65];

                if (memcmp(lists[a->list].entries[a->entry].sha256,
                           lists[b->list].entries[b->entry].sha256, 32) != 0)
                        continue;
                definition_sha256_to_hex(lists[b->list].entries[b->entry].sha256, hex);
                return definition_error(ret_error, -EBADMSG,
                                        "%s:%u: SHA-256 %s is already listed in %s:%u",
                                        o->manifest->files[o->list_file[b->list]].path,
                                        lists[b->list].lines[b->entry], hex,
                                        o->manifest->files[o->list_file[a->list]].path,
                                        lists[a->list].lines[a->entry]);
        }

        for (size_t i = 0; i < n; i++) {
                DefinitionHashEntry *e = &lists[refs[i].list].entries[refs[i].entry];

                p->hashes[i] = *e;
                *e = (DefinitionHashEntry) {};
        }
        p->n_hashes = n;
        return 0;
}

/* Builds the pack of the verified files (step 5). With steal, raw->data is taken over where
 * possible instead of copied. */
static int pack_build(DefinitionPackRaw *raw, bool steal, DefinitionPack **ret,
                      char **ret_error) {
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        const DefinitionManifest *m = raw->manifest;
        _cleanup_free_ DefinitionHashList *lists = NULL;
        _cleanup_free_ size_t *list_file = NULL;
        size_t n_lists = 0;
        HashOrigin origin;
        int r = 0;

        p = calloc(1, sizeof(DefinitionPack));
        if (!p)
                return -ENOMEM;
        p->version = strdup(m->version);
        p->minimum_engine_version = strdup(m->minimum_engine_version);
        p->created_usec = m->created_usec;
        p->rules = calloc(m->n_files, sizeof(DefinitionRuleSource));
        lists = calloc(m->n_files, sizeof(DefinitionHashList));
        list_file = calloc(m->n_files, sizeof(size_t));
        if (!p->version || !p->minimum_engine_version || !p->rules || !lists || !list_file)
                return -ENOMEM;

        for (size_t i = 0; i < m->n_files && r >= 0; i++) {
                const DefinitionManifestFile *f = &m->files[i];
                DefinitionRuleSource *s;

                switch (f->kind) {
                case DEFINITION_FILE_YARA:
                        if (memchr(raw->data[i], '\0', f->size)) {
                                r = definition_error(ret_error, -EBADMSG,
                                                     "%s: contains a NUL byte; YARA sources are "
                                                     "text", f->path);
                                break;
                        }
                        s = &p->rules[p->n_rules];
                        s->name = strdup(f->path);
                        s->text = steal ? TAKE_PTR(raw->data[i]) : strdup(raw->data[i]);
                        s->size = f->size;
                        p->n_rules++;
                        if (!s->name || !s->text)
                                r = -ENOMEM;
                        break;

                case DEFINITION_FILE_SHA256_LIST:
                        r = definition_hash_list_parse(f->path, raw->data[i], f->size,
                                                       &lists[n_lists], ret_error);
                        if (r >= 0)
                                list_file[n_lists++] = i;
                        break;

                default:
                        r = -EINVAL;    /* the manifest parser admits no other kind */
                }
        }

        origin = (HashOrigin) { .lists = lists, .manifest = m, .list_file = list_file };
        if (r >= 0)
                r = pack_merge_hashes(p, lists, n_lists, &origin, ret_error);
        for (size_t i = 0; i < n_lists; i++)
                definition_hash_list_done(&lists[i]);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}

static int pack_check_arguments(int dir_fd, EVP_PKEY *key, const char *engine_version,
                                char **ret_error) {
        if (dir_fd < 0 || !key)
                return definition_error(ret_error, -EINVAL, "invalid arguments");
        if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
                return definition_error(ret_error, -EINVAL,
                                        "the installed key is not an Ed25519 key");
        if (!definitions_version_is_valid(engine_version))
                return definition_error(ret_error, -EINVAL, "engine version '%s' is not a "
                                        "version", strnull(engine_version));
        return 0;
}

int definition_pack_load_full(int dir_fd, EVP_PKEY *key, const char *engine_version,
                              DefinitionPack **ret, DefinitionPackRaw **ret_raw,
                              char **ret_error) {
        _cleanup_(definition_pack_raw_freep) DefinitionPackRaw *raw = NULL;
        _cleanup_(definition_pack_freep) DefinitionPack *p = NULL;
        int r;

        if (!ret)
                return definition_error(ret_error, -EINVAL, "invalid arguments");
        r = pack_check_arguments(dir_fd, key, engine_version, ret_error);
        if (r < 0)
                return r;

        raw = calloc(1, sizeof(DefinitionPackRaw));
        if (!raw)
                return -ENOMEM;
        r = pack_load_manifest(dir_fd, key, engine_version, raw, ret_error);
        if (r < 0)
                return r;
        r = pack_load_files(dir_fd, raw, ret_error);
        if (r < 0)
                return r;
        r = pack_build(raw, !ret_raw, &p, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        if (ret_raw)
                *ret_raw = TAKE_PTR(raw);
        return 0;
}

int definition_pack_peek(int dir_fd, EVP_PKEY *key, const char *engine_version,
                         DefinitionManifest **ret, char **ret_error) {
        _cleanup_(definition_pack_raw_freep) DefinitionPackRaw *raw = NULL;
        int r;

        r = pack_check_arguments(dir_fd, key, engine_version, ret_error);
        if (r < 0)
                return r;
        raw = calloc(1, sizeof(DefinitionPackRaw));
        if (!raw)
                return -ENOMEM;
        r = pack_load_manifest(dir_fd, key, engine_version, raw, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(raw->manifest);
        return 0;
}

int definitions_pack_load_at(int dir_fd, EVP_PKEY *key, const char *engine_version,
                             DefinitionPack **ret, char **ret_error) {
        return definition_pack_load_full(dir_fd, key, engine_version, ret, NULL, ret_error);
}

int definitions_pack_load(const char *path, EVP_PKEY *key, const char *engine_version,
                          DefinitionPack **ret, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;

        if (!path)
                return definition_error(ret_error, -EINVAL, "invalid arguments");
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                int r = negative_errno();

                return definition_error(ret_error, r, "'%s': cannot open the pack directory: %s",
                                        path, strerror(-r));
        }
        return definitions_pack_load_at(fd, key, engine_version, ret, ret_error);
}
