/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The public face of a lone manifest (see the end of definitions.h): verifying its signature and
 * parsing it from memory for the updater, which must decide what to download before there is a
 * pack directory to load. Thin wrappers: the verifier (crypto.c), the parser (manifest.c) and the
 * tree removal (store.c) are the ones the pack loader and the store use, so a manifest the updater
 * accepts is one the loader accepts too, and the messages are the same.
 *
 * No state; no logging.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "definitions/definitions-internal.h"
#include "definitions/definitions.h"
#include "util/macro.h"

DefinitionsManifestInfo *definitions_manifest_info_free(DefinitionsManifestInfo *m) {
        if (!m)
                return NULL;
        free(m->version);
        free(m->minimum_engine_version);
        for (size_t i = 0; i < m->n_files; i++)
                free(m->files[i].path);
        free(m->files);
        return mfree(m);
}

int definitions_manifest_verify(EVP_PKEY *key, const void *manifest, size_t manifest_size,
                                const void *signature, size_t signature_size, char **ret_error) {
        int r;

        if (!key || (!manifest && manifest_size > 0) || (!signature && signature_size > 0))
                return definition_error(ret_error, -EINVAL, "invalid arguments");
        if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
                return definition_error(ret_error, -EINVAL,
                                        "the installed key is not an Ed25519 key");
        if (signature_size != DEFINITIONS_SIGNATURE_SIZE)
                return definition_error(ret_error, -EBADMSG,
                                        DEFINITIONS_SIGNATURE_NAME ": not a raw %d-byte Ed25519 "
                                        "signature (%zu bytes)", DEFINITIONS_SIGNATURE_SIZE,
                                        signature_size);

        r = definition_signature_verify(key, manifest ?: "", manifest_size, signature);
        if (r < 0)
                return definition_error(ret_error, r,
                                        DEFINITIONS_SIGNATURE_NAME ": cannot verify: %s",
                                        strerror(-r));
        if (r == 0)
                return definition_error(ret_error, -EKEYREJECTED,
                                        DEFINITIONS_SIGNATURE_NAME ": signature does not verify "
                                        "with the installed key");
        return 0;
}

int definitions_manifest_parse_info(const void *manifest, size_t size,
                                    DefinitionsManifestInfo **ret, char **ret_error) {
        _cleanup_(definitions_manifest_info_freep) DefinitionsManifestInfo *info = NULL;
        _cleanup_(definition_manifest_freep) DefinitionManifest *m = NULL;
        int r;

        if (!ret || (!manifest && size > 0))
                return definition_error(ret_error, -EINVAL, "invalid arguments");

        r = definition_manifest_parse(manifest ?: "", size, &m, ret_error);
        if (r < 0)
                return r;

        info = calloc(1, sizeof(DefinitionsManifestInfo));
        if (!info)
                return -ENOMEM;
        info->files = calloc(m->n_files, sizeof(DefinitionsManifestEntry));
        if (!info->files)
                return -ENOMEM;
        /* Take the strings over rather than copy them: m is thrown away. */
        info->version = TAKE_PTR(m->version);
        info->minimum_engine_version = TAKE_PTR(m->minimum_engine_version);
        info->created_usec = m->created_usec;
        for (size_t i = 0; i < m->n_files; i++) {
                DefinitionsManifestEntry *e = &info->files[i];

                e->path = TAKE_PTR(m->files[i].path);
                e->size = m->files[i].size;
                memcpy(e->sha256, m->files[i].sha256, sizeof(e->sha256));
                info->n_files++;
                info->total_size += e->size;    /* bounded by the parser */
        }

        *ret = TAKE_PTR(info);
        return 0;
}

int definitions_remove_tree_at(int dir_fd, const char *name) {
        if (dir_fd < 0 && dir_fd != AT_FDCWD)
                return -EBADF;
        if (isempty(name))
                return -EINVAL;
        return definition_rm_rf_at(dir_fd, name);
}
