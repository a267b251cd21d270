/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between the .c files of service/definitions/, the mdatp-pack tool, the unit tests and
 * the fuzzer; not part of the module's interface to the daemon.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "definitions/definitions.h"
#include "util/macro.h"

typedef enum DefinitionFileKind {
        DEFINITION_FILE_YARA,
        DEFINITION_FILE_SHA256_LIST,
        _DEFINITION_FILE_KIND_MAX,
        _DEFINITION_FILE_KIND_INVALID = -EINVAL,
} DefinitionFileKind;

/* "yara", "sha256-list" and back. */
const char *definition_file_kind_to_string(DefinitionFileKind k);
DefinitionFileKind definition_file_kind_from_string(const char *s);

typedef struct DefinitionManifestFile {
        char *path;
        uint8_t sha256[32];
        DefinitionFileKind kind;
        uint64_t size;
} DefinitionManifestFile;

typedef struct DefinitionManifest {
        char *version;
        uint64_t created_usec;
        char *minimum_engine_version;
        DefinitionManifestFile *files;
        size_t n_files;
} DefinitionManifest;

DefinitionManifest *definition_manifest_free(DefinitionManifest *m);
static inline void definition_manifest_freep(DefinitionManifest **m) {
        if (*m)
                (void) definition_manifest_free(*m);
}

/* Parses and validates manifest.json text (format, syntax and limits; no file is touched).
 * Messages start with "manifest.json:LINE:COLUMN: ". -EPROTONOSUPPORT for a format other than 1,
 * -E2BIG over a limit, -EBADMSG otherwise, -ENOMEM. */
int definition_manifest_parse(const char *text, size_t size, DefinitionManifest **ret,
                              char **ret_error);

/* Writes m as manifest.json text (two-space indentation, members in the documented order, a
 * final newline). m must be valid: -EINVAL otherwise. */
int definition_manifest_format(const DefinitionManifest *m, char **ret_text, size_t *ret_size);

/* A parsed sha256-list file: entries in file order, lines[i] the 1-based line of entries[i]. */
typedef struct DefinitionHashList {
        DefinitionHashEntry *entries;
        unsigned *lines;
        size_t n;
} DefinitionHashList;

void definition_hash_list_done(DefinitionHashList *l);

/* Parses a sha256-list file's text; name (its path) starts messages: "hashes/a.tsv:3: ...".
 * Strict: exactly three TAB-separated fields, 64 hex digits, a threat name in Type:Platform/Family
 * form, a threat type of [a-z0-9_], no CR, no trailing blanks, no SHA-256 twice. -EBADMSG, -ENOMEM.
 * On success *ret is filled (call definition_hash_list_done()). */
int definition_hash_list_parse(const char *name, const char *text, size_t size,
                               DefinitionHashList *ret, char **ret_error);

/* Checks a path listed in a manifest. Returns NULL when valid, else why not ("contains '..'"). */
const char *definition_path_invalid_reason(const char *path);
/* "Type:Platform/Family": [A-Za-z0-9_]+ ":" [A-Za-z0-9_]+ "/" then printable ASCII, no space. */
bool definition_threat_name_is_valid(const char *s);
/* [a-z][a-z0-9_]*, at most DEFINITIONS_THREAT_TYPE_MAX bytes. */
bool definition_threat_type_is_valid(const char *s);

/* RFC 3339 in UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z, 1970..9999; the fraction is cut to
 * microseconds. -EINVAL when malformed. */
int definition_time_parse(const char *s, uint64_t *ret_usec);
/* Formats whole seconds as YYYY-MM-DDTHH:MM:SSZ into buf (at least 21 bytes). */
int definition_time_format(uint64_t usec, char *buf, size_t size);

void definition_sha256(const void *data, size_t size, uint8_t ret[32]);
/* 64 lowercase hex digits + NUL into buf. */
void definition_sha256_to_hex(const uint8_t sha256[32], char buf[65]);
/* Exactly 64 hex digits of either case. -EINVAL otherwise. */
int definition_sha256_from_hex(const char *s, size_t len, uint8_t ret[32]);

/* 1 when sig is a valid signature of data by key, 0 when not, <0 on internal errors. */
int definition_signature_verify(EVP_PKEY *key, const void *data, size_t size,
                                const uint8_t sig[DEFINITIONS_SIGNATURE_SIZE]);
/* Signs data with an Ed25519 private key (for mdatp-pack and the tests). */
int definition_signature_create(EVP_PKEY *private_key, const void *data, size_t size,
                                uint8_t ret_sig[DEFINITIONS_SIGNATURE_SIZE]);

/* s quoted for a message: 'text', with bytes outside printable ASCII as \xNN and cut after 64
 * bytes with "...". NULL on OOM. */
char *definition_quote(const char *s, size_t len);

static inline const char *strnull(const char *s) {
        return s ? s : "(null)";
}

/* Sets *ret_error (if not NULL) to a formatted message, returns error. */
int definition_error(char **ret_error, int error, const char *format, ...) _printf_(3, 4);

/*
 * Everything a verified pack consists of, as read: the store writes these bytes when it installs
 * a pack, so that what is copied is exactly what was verified.
 */
typedef struct DefinitionPackRaw {
        char *manifest_text;
        size_t manifest_size;
        uint8_t signature[DEFINITIONS_SIGNATURE_SIZE];
        DefinitionManifest *manifest;
        char **data;                    /* data[i]: manifest->files[i]'s bytes, NUL-terminated */
} DefinitionPackRaw;

DefinitionPackRaw *definition_pack_raw_free(DefinitionPackRaw *r);
static inline void definition_pack_raw_freep(DefinitionPackRaw **r) {
        if (*r)
                (void) definition_pack_raw_free(*r);
}

/* definitions_pack_load_at(), also returning the raw bytes (ret_raw may be NULL). */
int definition_pack_load_full(int dir_fd, EVP_PKEY *key, const char *engine_version,
                              DefinitionPack **ret, DefinitionPackRaw **ret_raw, char **ret_error);

/* Steps 1-3 of loading only (signature, manifest, engine version): what the store uses to rank
 * packs before loading one whole. */
int definition_pack_peek(int dir_fd, EVP_PKEY *key, const char *engine_version,
                         DefinitionManifest **ret, char **ret_error);

/* Removes name below dir_fd and, if a directory, everything in it, following no symlink. 0 when
 * it did not exist. */
int definition_rm_rf_at(int dir_fd, const char *name);

/* Test hook: when set, the store behaves as on a file system without RENAME_EXCHANGE. */
extern bool definitions_store_test_no_exchange;
