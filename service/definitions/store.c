/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The store of installed definition packs: <store>/current and <store>/previous, plus the
 * read-only pack shipped with the package; choosing the pack to load; installing a pack;
 * restoring the shipped one.
 *
 * How an install stays crash-safe
 * -------------------------------
 * The invariant: at every instant, `current` names a complete pack — the old one or the new one,
 * never a partly written one — and every complete pack that is not reachable from `current` or
 * `previous` lives in a dot-directory that the next definitions_store_open() deletes.
 *
 *   1. Load and verify the source pack (signature, manifest, every file's size and SHA-256), and
 *      keep the bytes that were verified.
 *   2. Write exactly those bytes into a fresh <store>/.install-<random hex>: every file is
 *      created with O_EXCL, written, fsync()ed; every directory is fsync()ed after its entries
 *      were created. A crash here leaves a .install-* directory that nothing ever loads (only
 *      `current`, `previous` and the shipped directory are loaded) and that the next open removes.
 *   3. Load and verify the copy again, from disk, like any pack (catches a write that went wrong).
 *   4. renameat2(.install-X, current, RENAME_EXCHANGE): one atomic step after which `current` is
 *      the new pack and .install-X holds the old one; fsync the store directory. Without a
 *      `current` yet it is a plain rename (RENAME_NOREPLACE). From here on the install has
 *      succeeded; what follows only keeps a fallback and tidies up, and its failures are
 *      ignored (at worst a leftover work directory, removed at the next open).
 *   5. renameat2(.install-X, previous, RENAME_EXCHANGE) (or a plain rename when there is no
 *      `previous`): `previous` becomes the old current pack, .install-X holds the older previous;
 *      fsync; remove .install-X. A crash between 4 and 5 leaves current = new, previous = the
 *      older previous (still a complete pack) and .install-X with the old current, removed at
 *      next open: a consistent state that merely lost one fallback.
 *
 * On a file system without RENAME_EXCHANGE (EINVAL/ENOSYS/EOPNOTSUPP) steps 4-5 become:
 *   a. move `previous` into a .trash-* directory;  b. rename current -> previous;
 *   c. rename .install-X -> current;  d. remove the .trash-* directory;  fsync after each step.
 * Between b and c there is no `current`, but `previous` is then the old complete pack, and
 * definitions_store_load_best() loads the newest valid pack among current, previous and shipped
 * whatever slot it is in: what a crash there leaves loads exactly as before the install.
 *
 * Whatever is on disk, a pack is loaded only after its signature and every file hash verified, so
 * even a `current` damaged behind our back is refused and the next best pack is used.
 *
 * State: a DefinitionsStore owns an fd of the store directory, a reference to the public key and
 * copies of the configured paths. It assumes it is the only writer of the directory and is used
 * by one thread at a time. No logging: failures are returned as messages.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "definitions/definitions-internal.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

#define SLOT_CURRENT "current"
#define SLOT_PREVIOUS "previous"
#define INSTALL_PREFIX ".install-"
#define TRASH_PREFIX ".trash-"
/* Packs have at most DEFINITIONS_PATH_MAX_DEPTH levels; anything deeper is not ours. */
#define RM_RF_MAX_DEPTH 16

bool definitions_store_test_no_exchange = false;

struct DefinitionsStore {
        char *directory;
        char *shipped_directory;
        int dir_fd;
        EVP_PKEY *key;
        char *engine_version;
};

static const char * const source_table[_DEFINITIONS_SOURCE_MAX] = {
        [DEFINITIONS_SOURCE_CURRENT] = "current",
        [DEFINITIONS_SOURCE_PREVIOUS] = "previous",
        [DEFINITIONS_SOURCE_SHIPPED] = "shipped",
};

const char *definitions_source_to_string(DefinitionsSource s) {
        if (s < 0 || s >= _DEFINITIONS_SOURCE_MAX)
                return NULL;
        return source_table[s];
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* The errors renameat2() gives when a file system does not support a flag. */
static bool errno_is_unsupported(int e) {
        return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

static int safe_close_fd(int fd) {
        if (fd >= 0)
                (void) close(fd);
        return -EBADF;
}

static int fsync_fd(int fd) {
        return fsync(fd) < 0 ? negative_errno() : 0;
}

/* Removes name below dir_fd recursively without following symlinks. */
static int rm_rf_depth(int dir_fd, const char *name, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct stat st;
        struct dirent *de;
        int fd, r = 0;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? negative_errno() : 0;
        if (depth >= RM_RF_MAX_DEPTH)
                return -ELOOP;

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                (void) close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                int k;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                k = rm_rf_depth(dirfd(d), de->d_name, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (errno != 0 && r == 0)
                r = negative_errno();
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = negative_errno();
        return r;
}

int definition_rm_rf_at(int dir_fd, const char *name) {
        return rm_rf_depth(dir_fd, name, 0);
}

/* Removes the work directories a crash may have left (.install-*, .trash-*). Best effort. */
static int store_clean(DefinitionsStore *s) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r = 0;

        fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                (void) close(fd);
                return r;
        }
        while ((de = readdir(d)))
                if (strneq(de->d_name, INSTALL_PREFIX, strlen(INSTALL_PREFIX)) ||
                    strneq(de->d_name, TRASH_PREFIX, strlen(TRASH_PREFIX)))
                        if (strv_extend(&names, de->d_name) < 0)
                                return -ENOMEM;

        for (char **n = names; n && *n; n++) {
                int k = definition_rm_rf_at(s->dir_fd, *n);

                if (k < 0 && r == 0)
                        r = k;
        }
        if (names)
                (void) fsync_fd(s->dir_fd);
        return r;
}

/* Makes a new empty work directory <store>/<prefix>XXXXXXXXXXXXXXXX (random hex, mode 0755);
 * returns its name and an fd of it. */
static int store_mkdtemp(DefinitionsStore *s, const char *prefix, char **ret_name,
                         int *ret_fd) {
        for (unsigned attempt = 0; attempt < 64; attempt++) {
                _cleanup_free_ char *name = NULL;
                uint64_t x;
                int fd, r;

                if (getrandom(&x, sizeof(x), 0) != sizeof(x))
                        return errno > 0 ? -errno : -EIO;
                if (asprintf(&name, "%s%016" PRIx64, prefix, x) < 0) {
                        name = NULL;    /* undefined after a failure */
                        return -ENOMEM;
                }
                r = mkdirat_durable(s->dir_fd, name, 0755);
                if (r == -EEXIST)
                        continue;
                if (r < 0) {
                        (void) definition_rm_rf_at(s->dir_fd, name);
                        return r;
                }
                fd = openat(s->dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = negative_errno();
                        (void) definition_rm_rf_at(s->dir_fd, name);
                        return r;
                }
                *ret_name = TAKE_PTR(name);
                *ret_fd = fd;
                return 0;
        }
        return -EEXIST;
}

int definitions_store_open(const DefinitionsStoreConfig *config, DefinitionsStore **ret,
                           char **ret_error) {
        _cleanup_(definitions_store_freep) DefinitionsStore *s = NULL;

        if (!config || isempty(config->directory) || !config->public_key ||
            EVP_PKEY_get_id(config->public_key) != EVP_PKEY_ED25519 ||
            !definitions_version_is_valid(config->engine_version))
                return definition_error(ret_error, -EINVAL, "invalid store configuration");

        s = calloc(1, sizeof(DefinitionsStore));
        if (!s)
                return -ENOMEM;
        s->dir_fd = -EBADF;
        s->directory = strdup(config->directory);
        s->shipped_directory = config->shipped_directory ? strdup(config->shipped_directory) : NULL;
        s->engine_version = strdup(config->engine_version);
        if (!s->directory || !s->engine_version ||
            (config->shipped_directory && !s->shipped_directory))
                return -ENOMEM;
        if (EVP_PKEY_up_ref(config->public_key) != 1)
                return -ENOMEM;
        s->key = config->public_key;

        if (mkdir(s->directory, 0755) < 0 && errno != EEXIST)
                return definition_error(ret_error, negative_errno(),
                                        "'%s': cannot create the definitions directory: %m",
                                        s->directory);
        s->dir_fd = open(s->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0)
                return definition_error(ret_error, negative_errno(),
                                        "'%s': cannot open the definitions directory: %m",
                                        s->directory);

        /* Leftovers of a crash are removed if possible; one we cannot remove is harmless, as
         * nothing loads from it, so it does not stop the store from opening. */
        (void) store_clean(s);

        *ret = TAKE_PTR(s);
        return 0;
}

DefinitionsStore *definitions_store_free(DefinitionsStore *s) {
        if (!s)
                return NULL;
        if (s->dir_fd >= 0)
                (void) close(s->dir_fd);
        EVP_PKEY_free(s->key);
        free(s->directory);
        free(s->shipped_directory);
        free(s->engine_version);
        return mfree(s);
}

/* Opens the directory of a source. Returns 0 and *ret_fd, 0 and -EBADF when an optional slot is
 * absent, or an error with a message. */
static int store_open_source(DefinitionsStore *s, DefinitionsSource source, int *ret_fd,
                             char **ret_error) {
        int fd;

        if (source == DEFINITIONS_SOURCE_SHIPPED) {
                if (!s->shipped_directory) {
                        *ret_fd = -EBADF;
                        return 0;
                }
                fd = open(s->shipped_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return definition_error(ret_error, negative_errno(), "'%s': %m",
                                                s->shipped_directory);
        } else {
                const char *slot = definitions_source_to_string(source);

                fd = openat(s->dir_fd, slot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 && errno == ENOENT) {
                        *ret_fd = -EBADF;
                        return 0;
                }
                if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
                        return definition_error(ret_error, -ENOTDIR,
                                                "not a directory (symbolic links are refused)");
                if (fd < 0)
                        return definition_error(ret_error, negative_errno(), "cannot open: %m");
        }
        *ret_fd = fd;
        return 0;
}

/* Adds "<source>: <message>" to errors. */
static int store_add_error(char ***errors, DefinitionsSource source, const char *message) {
        char *m;

        if (!errors)
                return 0;
        if (asprintf(&m, "%s: %s", definitions_source_to_string(source),
                     message ?: "out of memory") < 0)
                return -ENOMEM;
        return strv_consume(errors, m);
}

int definitions_store_load_best(DefinitionsStore *s, DefinitionPack **ret_pack,
                                DefinitionsSource *ret_source, char ***errors) {
        DefinitionManifest *manifests[_DEFINITIONS_SOURCE_MAX] = {};
        int fds[_DEFINITIONS_SOURCE_MAX] = { -EBADF, -EBADF, -EBADF };
        DefinitionsSource order[_DEFINITIONS_SOURCE_MAX];
        size_t n = 0;
        int r = -ENOENT;

        if (!s || !ret_pack)
                return -EINVAL;

        /* Rank: verify signature and manifest of each source, cheaply, before loading any whole. */
        for (DefinitionsSource i = 0; i < _DEFINITIONS_SOURCE_MAX; i++) {
                _cleanup_free_ char *error = NULL;
                int k;

                k = store_open_source(s, i, &fds[i], &error);
                if (k >= 0 && fds[i] >= 0)
                        k = definition_pack_peek(fds[i], s->key, s->engine_version,
                                                 &manifests[i], &error);
                if (k == -ENOMEM) {
                        r = k;
                        goto finish;
                }
                if (k < 0) {
                        if (store_add_error(errors, i, error) < 0) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        continue;
                }
                if (fds[i] < 0)
                        continue;

                /* Insertion sort, newest first; a tie keeps the earlier source first. */
                size_t j = n++;
                for (; j > 0 && definitions_version_compare(manifests[order[j - 1]]->version,
                                                            manifests[i]->version) < 0; j--)
                        order[j] = order[j - 1];
                order[j] = i;
        }

        for (size_t j = 0; j < n; j++) {
                _cleanup_free_ char *error = NULL;
                DefinitionsSource src = order[j];
                int k;

                k = definitions_pack_load_at(fds[src], s->key, s->engine_version, ret_pack, &error);
                if (k >= 0) {
                        if (ret_source)
                                *ret_source = src;
                        r = 0;
                        break;
                }
                if (k == -ENOMEM || store_add_error(errors, src, error) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }

finish:
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                closep(&fds[i]);
        for (size_t i = 0; i < ELEMENTSOF(manifests); i++)
                manifests[i] = definition_manifest_free(manifests[i]);
        return r;
}

/* Creates the file path (relative, validated) below dir_fd with data, creating its directories;
 * every file and every directory that gained an entry is fsync()ed (util/fileio). */
static int store_write_file(int dir_fd, const char *path, const void *data, size_t size) {
        return write_file_at(dir_fd, path, data, size, 0644);
}

/* Writes the verified bytes of raw as a pack below dir_fd. */
static int store_write_pack(int dir_fd, const DefinitionPackRaw *raw) {
        int r;

        r = store_write_file(dir_fd, DEFINITIONS_MANIFEST_NAME, raw->manifest_text,
                             raw->manifest_size);
        if (r < 0)
                return r;
        r = store_write_file(dir_fd, DEFINITIONS_SIGNATURE_NAME, raw->signature,
                             sizeof(raw->signature));
        if (r < 0)
                return r;
        for (size_t i = 0; i < raw->manifest->n_files; i++) {
                r = store_write_file(dir_fd, raw->manifest->files[i].path, raw->data[i],
                                     raw->manifest->files[i].size);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* rename() that does not replace `to`; falls back to a check and a plain rename on file systems
 * without RENAME_NOREPLACE (we are the only writer of the store). */
static int rename_noreplace(int fd, const char *from, const char *to) {
        struct stat st;

        if (renameat2(fd, from, fd, to, RENAME_NOREPLACE) >= 0)
                return 0;
        if (!errno_is_unsupported(errno))
                return negative_errno();
        if (fstatat(fd, to, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                return -EEXIST;
        return renameat(fd, from, fd, to) < 0 ? negative_errno() : 0;
}

/* Moves slot into the new trash directory trash_fd, if the slot exists. Returns 1 if moved. */
static int store_trash_slot(DefinitionsStore *s, int trash_fd, const char *slot) {
        if (renameat(s->dir_fd, slot, trash_fd, slot) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return 1;
}

/* Steps 4-5 with RENAME_EXCHANGE. Returns -EOPNOTSUPP when the file system lacks it (before
 * anything changed). Once the new pack is current the install has succeeded: keeping the old
 * one as previous is best effort (a leftover is removed at the next open). */
static int store_swap_exchange(DefinitionsStore *s, const char *install) {
        int r;

        if (definitions_store_test_no_exchange)
                return -EOPNOTSUPP;

        if (renameat2(s->dir_fd, install, s->dir_fd, SLOT_CURRENT, RENAME_EXCHANGE) < 0) {
                if (errno == ENOENT) {
                        /* No current yet: the new pack just takes the name. */
                        r = rename_noreplace(s->dir_fd, install, SLOT_CURRENT);
                        if (r < 0)
                                return r;
                        (void) fsync_fd(s->dir_fd);
                        return 0;
                }
                if (errno_is_unsupported(errno))
                        return -EOPNOTSUPP;
                return negative_errno();
        }
        (void) fsync_fd(s->dir_fd);

        /* `install` now holds the old current pack: keep it as previous... */
        if (renameat2(s->dir_fd, install, s->dir_fd, SLOT_PREVIOUS, RENAME_EXCHANGE) < 0 &&
            errno == ENOENT)
                (void) rename_noreplace(s->dir_fd, install, SLOT_PREVIOUS);
        (void) fsync_fd(s->dir_fd);
        /* ...and `install` holds the older previous pack, or is gone. */
        (void) definition_rm_rf_at(s->dir_fd, install);
        (void) fsync_fd(s->dir_fd);
        return 0;
}

/* Steps 4-5 without RENAME_EXCHANGE (a-d in the comment at the top). */
static int store_swap_sequence(DefinitionsStore *s, const char *install) {
        _cleanup_free_ char *trash = NULL;
        _cleanup_close_ int trash_fd = -EBADF;
        int r;

        r = store_mkdtemp(s, TRASH_PREFIX, &trash, &trash_fd);
        if (r < 0)
                return r;
        r = store_trash_slot(s, trash_fd, SLOT_PREVIOUS);
        if (r < 0)
                return r;
        r = fsync_fd(s->dir_fd);
        if (r < 0)
                return r;
        if (renameat(s->dir_fd, SLOT_CURRENT, s->dir_fd, SLOT_PREVIOUS) < 0 && errno != ENOENT)
                return negative_errno();
        r = fsync_fd(s->dir_fd);
        if (r < 0)
                return r;
        r = rename_noreplace(s->dir_fd, install, SLOT_CURRENT);
        if (r < 0)
                return r;
        /* Installed; the rest is tidying up. */
        (void) fsync_fd(s->dir_fd);
        trash_fd = safe_close_fd(trash_fd);
        (void) definition_rm_rf_at(s->dir_fd, trash);
        (void) fsync_fd(s->dir_fd);
        return 0;
}

int definitions_store_install(DefinitionsStore *s, int src_dir_fd, DefinitionPack **ret_pack,
                              char **ret_error) {
        _cleanup_(definition_pack_raw_freep) DefinitionPackRaw *raw = NULL;
        _cleanup_(definition_pack_freep) DefinitionPack *source = NULL, *copy = NULL;
        _cleanup_free_ char *install = NULL, *error = NULL;
        _cleanup_close_ int install_fd = -EBADF;
        int r;

        if (!s || src_dir_fd < 0)
                return definition_error(ret_error, -EINVAL, "invalid arguments");

        /* 1. Verify the source and keep the verified bytes. */
        r = definition_pack_load_full(src_dir_fd, s->key, s->engine_version, &source, &raw,
                                      &error);
        if (r < 0)
                return definition_error(ret_error, r, "%s", strnull(error));

        /* 2. Copy them into a work directory and make them durable. */
        r = store_mkdtemp(s, INSTALL_PREFIX, &install, &install_fd);
        if (r < 0)
                return definition_error(ret_error, r, "'%s': cannot create a work directory: %s",
                                        s->directory, strerror(-r));
        r = store_write_pack(install_fd, raw);
        if (r >= 0)
                r = fsync_fd(install_fd);
        if (r < 0) {
                (void) definition_rm_rf_at(s->dir_fd, install);
                return definition_error(ret_error, r, "'%s': cannot write the pack: %s",
                                        s->directory, strerror(-r));
        }

        /* 3. Verify what is on disk now. */
        r = definitions_pack_load_at(install_fd, s->key, s->engine_version, &copy, &error);
        install_fd = safe_close_fd(install_fd);
        if (r < 0) {
                (void) definition_rm_rf_at(s->dir_fd, install);
                return definition_error(ret_error, r == -ENOMEM ? r : -EIO,
                                        "'%s': the copy does not verify: %s", s->directory,
                                        strnull(error));
        }

        /* 4-5. Make it current. */
        r = store_swap_exchange(s, install);
        if (r == -EOPNOTSUPP)
                r = store_swap_sequence(s, install);
        if (r < 0) {
                /* Whatever step failed, `current` is a complete pack (old or new); a leftover
                 * work directory goes at the next open. */
                (void) definition_rm_rf_at(s->dir_fd, install);
                return definition_error(ret_error, r, "'%s': cannot make the pack current: %s",
                                        s->directory, strerror(-r));
        }

        if (ret_pack)
                *ret_pack = TAKE_PTR(copy);
        return 0;
}

int definitions_store_restore_shipped(DefinitionsStore *s) {
        _cleanup_free_ char *trash = NULL;
        _cleanup_close_ int trash_fd = -EBADF;
        int r;

        if (!s)
                return -EINVAL;
        r = store_mkdtemp(s, TRASH_PREFIX, &trash, &trash_fd);
        if (r < 0)
                return r;
        /* previous first: a crash in between leaves the state as it was, not previous alone. */
        r = store_trash_slot(s, trash_fd, SLOT_PREVIOUS);
        if (r >= 0)
                r = store_trash_slot(s, trash_fd, SLOT_CURRENT);
        if (r < 0)
                return r;
        r = fsync_fd(s->dir_fd);
        if (r < 0)
                return r;
        trash_fd = safe_close_fd(trash_fd);
        r = definition_rm_rf_at(s->dir_fd, trash);
        if (r < 0)
                return r;
        return fsync_fd(s->dir_fd);
}
