/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Signed definition packs: loading and verifying them, and the on-disk store of installed packs.
 *
 * A pack is a directory:
 *
 *   manifest.json        what the pack is and which files belong to it (see docs below)
 *   manifest.json.sig    the raw 64-byte Ed25519 signature (RFC 8032, "pure" Ed25519, no
 *                        pre-hash) of the exact bytes of manifest.json; no PEM, no base64
 *   rules/eicar.yar ...  the files the manifest lists, each with its size and SHA-256
 *
 * manifest.json, format 1:
 *
 *   {
 *     "format": 1,
 *     "version": "1.2.3.4",                  dotted numbers, compared numerically
 *     "created": "2026-11-23T00:00:00Z",     RFC 3339 in UTC ("Z"), optional fraction
 *     "minimumEngineVersion": "0.1.0",       the oldest engine that may load the pack
 *     "files": [
 *       { "path": "rules/eicar.yar", "sha256": "<64 hex>", "kind": "yara", "size": 123 },
 *       { "path": "hashes/blocklist.tsv", "sha256": "...", "kind": "sha256-list", "size": 45 }
 *     ]
 *   }
 *
 * Unknown members are ignored (later versions of format 1 may add some); an unknown "kind" is an
 * error. A sha256-list file has one entry per line, "<sha256 hex> TAB <threat name> TAB <threat
 * type>", '#' comment lines and blank lines; anything else is an error.
 *
 * Nothing is loaded unless everything verifies: the signature is checked before anything else is
 * parsed, then every listed file is opened without following any symlink, and its size and
 * SHA-256 compared with the manifest. Files in the directory that the manifest does not list are
 * ignored.
 *
 * Errors are negative errno values. Functions with a `char **ret_error` argument put a message in
 * it on failure ("rules/x.yar: SHA-256 mismatch"); it may stay NULL on -ENOMEM, and the argument
 * may be NULL. Nothing here logs; the caller does.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define DEFINITIONS_MANIFEST_NAME "manifest.json"
#define DEFINITIONS_SIGNATURE_NAME "manifest.json.sig"
#define DEFINITIONS_MANIFEST_FORMAT 1
#define DEFINITIONS_SIGNATURE_SIZE 64
#define DEFINITIONS_PUBLIC_KEY_SIZE 32

/* Limits on what a pack may contain. A signed pack is trusted, but bounds keep a mistake from
 * taking the daemon's memory. */
#define DEFINITIONS_MANIFEST_MAX_SIZE (1024 * 1024)
#define DEFINITIONS_MAX_FILES 4096
#define DEFINITIONS_FILE_MAX_SIZE (UINT64_C(64) * 1024 * 1024)
#define DEFINITIONS_TOTAL_MAX_SIZE (UINT64_C(256) * 1024 * 1024)
#define DEFINITIONS_PATH_MAX 255                /* bytes of a listed path */
#define DEFINITIONS_PATH_MAX_DEPTH 8            /* components of a listed path */
#define DEFINITIONS_VERSION_MAX 64              /* bytes of a version string */
#define DEFINITIONS_VERSION_MAX_PARTS 8
#define DEFINITIONS_THREAT_NAME_MAX 255
#define DEFINITIONS_THREAT_TYPE_MAX 64

/* A YARA source file of the pack. */
typedef struct DefinitionRuleSource {
        char *name;                     /* its path in the pack: "rules/eicar.yar" */
        char *text;                     /* the whole file, NUL-terminated, contains no NUL */
        size_t size;                    /* strlen(text) */
} DefinitionRuleSource;

/* One entry of the pack's SHA-256 block list. */
typedef struct DefinitionHashEntry {
        uint8_t sha256[32];
        char *name;                     /* threat name, "Virus:Linux/MdatpHashTest" */
        char *type;                     /* threat type, "virus" */
} DefinitionHashEntry;

/* A loaded, verified pack. Immutable once returned; owns everything it points to. */
typedef struct DefinitionPack {
        char *version;                  /* "1.0.0.0" */
        uint64_t created_usec;          /* "created", microseconds since the epoch */
        char *minimum_engine_version;
        DefinitionRuleSource *rules;    /* in manifest order */
        size_t n_rules;
        DefinitionHashEntry *hashes;    /* of all sha256-list files, sorted by sha256, unique */
        size_t n_hashes;
} DefinitionPack;

DefinitionPack *definition_pack_free(DefinitionPack *p);
static inline void definition_pack_freep(DefinitionPack **p) {
        if (*p)
                (void) definition_pack_free(*p);
}

/* Loads and verifies the pack in the directory dir_fd (not consumed) with the Ed25519 public key
 * `key`, for an engine of version engine_version. On success *ret owns the pack. Errors:
 * -EKEYREJECTED signature does not verify (or missing/short: -ENOENT/-EBADMSG); -ENOENT a file is
 * missing; -ELOOP a symlink where a file or directory was expected; -EBADFD not a regular file;
 * -E2BIG over a limit; -EPROTONOSUPPORT unsupported format or engine too old; -EBADMSG anything
 * else wrong with the content (syntax, size or SHA-256 mismatch); -EINVAL bad arguments. */
int definitions_pack_load_at(int dir_fd, EVP_PKEY *key, const char *engine_version,
                             DefinitionPack **ret, char **ret_error);
/* The same for a directory named by path (the path itself may go through symlinks; nothing
 * inside the pack may). */
int definitions_pack_load(const char *path, EVP_PKEY *key, const char *engine_version,
                          DefinitionPack **ret, char **ret_error);

/* Compares two versions numerically part by part, missing parts counting as 0 ("1.2" ==
 * "1.2.0"). Returns <0, 0 or >0. An invalid version sorts before every valid one; two invalid
 * versions compare equal. */
int definitions_version_compare(const char *a, const char *b);
/* 1 to DEFINITIONS_VERSION_MAX_PARTS decimal numbers (0..4294967295, no leading zeros) joined by
 * single dots. */
bool definitions_version_is_valid(const char *v);

/* Reads an Ed25519 public key from a PEM file ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo,
 * as `openssl pkey -pubout` writes). -EBADMSG not a PEM public key, -EINVAL a key of another
 * type, -E2BIG file too large, or the errno of opening/reading it. */
int definitions_public_key_load_pem(const char *path, EVP_PKEY **ret_key);
/* Makes a key object of 32 raw Ed25519 public key bytes. */
int definitions_public_key_from_raw(const uint8_t raw[DEFINITIONS_PUBLIC_KEY_SIZE],
                                    EVP_PKEY **ret_key);

/* Whether key is the public key whose DER SubjectPublicKeyInfo spki_base64 encodes (the middle
 * line of a one-line PEM public key). Returns 1 same key, 0 another, -EINVAL spki_base64 is not
 * such a key. */
int definitions_public_key_equals_spki(EVP_PKEY *key, const char *spki_base64);

static inline void evp_pkey_freep(EVP_PKEY **k) {
        if (*k)
                EVP_PKEY_free(*k);
}

/*
 * The store: the directory the daemon keeps installed packs in (default
 * /var/opt/microsoft/mdatp/definitions/), plus the pack shipped with the package, read-only and
 * elsewhere (e.g. /usr/share/mdatp/definitions/default/):
 *
 *   <store>/current/       the pack installed last
 *   <store>/previous/      the one before it, kept as a fallback
 *   <store>/.install-*     work directories of an install; removed when the store is opened
 *   <store>/.trash-*       directories being removed; removed when the store is opened
 *
 * The store is not thread-safe and assumes it is the only writer of the directory (the daemon's
 * main thread).
 */
typedef struct DefinitionsStore DefinitionsStore;

typedef struct DefinitionsStoreConfig {
        const char *directory;          /* created (mode 0755) when missing; parent must exist */
        const char *shipped_directory;  /* the package's pack; NULL when there is none */
        EVP_PKEY *public_key;           /* the store takes a reference */
        const char *engine_version;     /* copied */
} DefinitionsStoreConfig;

typedef enum DefinitionsSource {
        DEFINITIONS_SOURCE_CURRENT,
        DEFINITIONS_SOURCE_PREVIOUS,
        DEFINITIONS_SOURCE_SHIPPED,
        _DEFINITIONS_SOURCE_MAX,
        _DEFINITIONS_SOURCE_INVALID = -EINVAL,
} DefinitionsSource;

/* "current", "previous", "shipped". */
const char *definitions_source_to_string(DefinitionsSource s);

/* Opens (creating it if needed) the store and removes work directories a crash left behind. */
int definitions_store_open(const DefinitionsStoreConfig *config, DefinitionsStore **ret,
                           char **ret_error);
DefinitionsStore *definitions_store_free(DefinitionsStore *s);
static inline void definitions_store_freep(DefinitionsStore **s) {
        if (*s)
                (void) definitions_store_free(*s);
}

/* Loads the newest pack that verifies among current, previous and shipped (on equal versions
 * that order decides). Each pack that was tried and failed adds "<source>: <reason>" to *errors
 * (a strv the caller owns and may pass in non-empty), on success and on failure, so the daemon
 * can report it in health; an absent current or previous is not a failure, an absent shipped
 * pack is. Returns 0 with *ret_pack and *ret_source (may be NULL) set, -ENOENT when no pack
 * verifies, -ENOMEM. */
int definitions_store_load_best(DefinitionsStore *s, DefinitionPack **ret_pack,
                                DefinitionsSource *ret_source, char ***errors);

/* Verifies the pack in src_dir_fd, copies what was verified into the store and makes it current
 * (the old current becomes previous, the old previous is removed), crash-safely: see store.c.
 * The copy is verified again before it is made current; *ret_pack (may be NULL) is the pack as
 * loaded from the copy. */
int definitions_store_install(DefinitionsStore *s, int src_dir_fd, DefinitionPack **ret_pack,
                              char **ret_error);

/* Removes current and previous, so that the shipped pack applies (`mdatp definitions restore`). */
int definitions_store_restore_shipped(DefinitionsStore *s);

/*
 * A manifest on its own, for the updater (service/update/), which verifies and reads a mirror's
 * manifest before it downloads the files the manifest lists. Implemented in manifest-public.c on
 * top of the same verifier and parser the pack loader uses.
 */

/* One file a manifest lists. */
typedef struct DefinitionsManifestEntry {
        char *path;                     /* validated: relative, no "..", no '.'-components */
        uint64_t size;                  /* <= DEFINITIONS_FILE_MAX_SIZE */
        uint8_t sha256[32];
} DefinitionsManifestEntry;

/* What a parsed manifest says. Owns everything it points to. */
typedef struct DefinitionsManifestInfo {
        char *version;
        uint64_t created_usec;
        char *minimum_engine_version;
        DefinitionsManifestEntry *files;        /* in manifest order */
        size_t n_files;
        uint64_t total_size;                    /* sum of the sizes, <= DEFINITIONS_TOTAL_MAX_SIZE */
} DefinitionsManifestInfo;

DefinitionsManifestInfo *definitions_manifest_info_free(DefinitionsManifestInfo *m);
static inline void definitions_manifest_info_freep(DefinitionsManifestInfo **m) {
        if (*m)
                (void) definitions_manifest_info_free(*m);
}

/* Checks that signature (signature_size bytes, as read from manifest.json.sig) is a valid Ed25519
 * signature of the manifest bytes by key, exactly as the pack loader does. Returns 0 when it is;
 * -EBADMSG when the signature is not 64 bytes; -EKEYREJECTED when it does not verify; -EINVAL for
 * a key that is not Ed25519; -ENOMEM/-EIO. Messages start with "manifest.json.sig: ". */
int definitions_manifest_verify(EVP_PKEY *key, const void *manifest, size_t manifest_size,
                                const void *signature, size_t signature_size, char **ret_error);

/* Parses and validates manifest.json text (manifest[0..size), need not be NUL-terminated) with
 * the pack loader's parser: format, syntax, versions, paths, sizes and limits. Call it only on
 * bytes whose signature verified (the parser is hardened and fuzzed, but nothing unsigned should
 * be acted on). Errors as the loader's: -EPROTONOSUPPORT format, -E2BIG over a limit, -EBADMSG
 * anything else wrong, -ENOMEM; messages start with "manifest.json". The engine version is not
 * checked here: compare minimum_engine_version with definitions_version_compare(). */
int definitions_manifest_parse_info(const void *manifest, size_t size,
                                    DefinitionsManifestInfo **ret, char **ret_error);

/* Removes name below dir_fd and, if it is a directory, everything in it, following no symlink
 * (the store's own removal, at most 16 levels deep). 0 also when name did not exist. For the
 * updater's work directories. */
int definitions_remove_tree_at(int dir_fd, const char *name);
