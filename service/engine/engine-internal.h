/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the files of service/engine/. Nothing here is used outside the module.
 *
 *   engine-rules.c    snapshots: compile, hash list, refcount, rule metadata
 *   engine-hash.c     SHA-256 (OpenSSL EVP) on the scanner's digest context
 *   engine-scan.c     scanners, reading the fd, YARA on memory, results
 *   engine-archive.c  the archive walker (libarchive over memory or over the fd)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <yara.h>

#include "engine/engine.h"

/* Reads from the fd (hash tail, archives read through the fd) go through a buffer of this size. */
#define ENGINE_CHUNK_SIZE ((size_t) 1 << 20)
/* Archive member bytes past max_scan_bytes are read (to count and hash them) into this. */
#define ENGINE_DISCARD_SIZE ((size_t) 64 << 10)

typedef struct EngineHashItem {
        uint8_t sha256[ENGINE_SHA256_SIZE];
        char *threat_name;
        char *threat_type;
} EngineHashItem;

struct EngineRules {
        unsigned n_ref;                 /* atomic */
        YR_RULES *yara;
        size_t n_rules;
        EngineHashItem *hashes;         /* sorted by sha256, unique */
        size_t n_hashes;
        char *version;
};

/* A growable byte buffer owned by a scanner, reused from scan to scan. */
typedef struct EngineBuffer {
        uint8_t *data;
        size_t size;                    /* allocated */
} EngineBuffer;

struct EngineScanner {
        EngineRules *rules;             /* the snapshot `yara` was made for; one reference */
        YR_SCANNER *yara;

        EngineBuffer file;              /* the head of the file being scanned */
        /* levels[d]: the member being read at archive depth d (1 ≤ d ≤ the depth limit). */
        EngineBuffer levels[ENGINE_MAX_ARCHIVE_DEPTH_LIMIT + 1];
        uint8_t *chunk;                 /* ENGINE_CHUNK_SIZE, lazily */
        uint8_t *discard;               /* ENGINE_DISCARD_SIZE, lazily */
        char *path;                     /* member path being walked: "a.zip->b/c" */
        size_t path_size;               /* allocated */
        size_t path_len;

        EVP_MD *md;                     /* SHA-256, fetched once */
        EVP_MD_CTX *md_ctx;

        EngineScannerStats stats;
};

/* State of one engine_scan_fd() call; lives on its stack. */
typedef struct ScanContext {
        EngineScanner *scanner;
        EngineRules *rules;
        const EngineScanOptions *opts;
        const char *display_path;       /* never NULL */
        bool want_member_hash;          /* block list non-empty: hash members too */

        /* Outcome so far. */
        bool detected;
        bool stop;                      /* detected, or a failure: unwind everything */
        bool stop_archives;             /* a limit was hit with archive_bomb ignored */
        bool yara_matched;              /* set by the YARA callback */
        const YR_RULE *rule;            /* the rule that matched, when from YARA */
        const char *threat_name;        /* borrowed from the snapshot (or static) */
        const char *threat_type;
        char *member_path;              /* owned; set on a detection inside an archive */
        const char *reason;
        unsigned notes;
        int error;                      /* < 0: an ERROR verdict (or -ENOMEM: no verdict) */
        const char *error_reason;

        uint64_t bytes_scanned;
        uint64_t archive_members;
        uint64_t archive_total_bytes;
} ScanContext;

/* engine-rules.c */
const EngineHashItem *engine_rules_lookup_hash(const EngineRules *r,
                                               const uint8_t sha256[static ENGINE_SHA256_SIZE]);
/* Threat name and type of a rule from its metas; *ret_name is NULL when the rule has no
 * threat_name (the caller formats the "Unknown:Generic/" name). */
void engine_rule_get_threat(const YR_RULE *rule, const char **ret_name, const char **ret_type);

/* engine-hash.c */
int engine_hash_setup(EngineScanner *s);
void engine_hash_teardown(EngineScanner *s);
int engine_hash_begin(EngineScanner *s);
int engine_hash_update(EngineScanner *s, const void *p, size_t n);
int engine_hash_end(EngineScanner *s, uint8_t ret[static ENGINE_SHA256_SIZE]);
void engine_sha256_to_hex(const uint8_t sha256[static ENGINE_SHA256_SIZE],
                          char ret[static ENGINE_SHA256_HEX_SIZE]);

/* engine-scan.c */
int engine_buffer_reserve(EngineBuffer *b, size_t size, size_t max);
bool engine_context_type_ignored(const ScanContext *c, const char *type);
/* YARA on data; on a match that is not ignored, records the detection (with the scanner's current
 * member path, if any) and sets c->stop. Returns 0, or a negative errno (also recorded in c). */
int engine_scan_memory(ScanContext *c, const uint8_t *data, size_t size);
/* Records a detection by name/type, from a rule when rule is not NULL, at the scanner's current
 * member path (none at the top level), and sets c->stop. */
void engine_context_detect(ScanContext *c, const char *name, const char *type, const YR_RULE *rule);
/* Hash block-list check of a complete hash: records a detection unless its type is ignored. */
void engine_context_check_hash(ScanContext *c, const uint8_t sha256[static ENGINE_SHA256_SIZE]);
/* Appends ENGINE_MEMBER_SEPARATOR (unless the path is empty) and name to the member path.
 * Returns the previous length for engine_path_pop(), or a negative errno. */
int engine_path_push(EngineScanner *s, const char *name, size_t *ret_saved);
void engine_path_pop(EngineScanner *s, size_t saved);

/* engine-archive.c */
/* Cheap look at the first bytes: might this be zip, tar, gzip, bzip2 or xz? libarchive has the
 * final word; this only spares opening it for everything else. */
bool engine_archive_sniff(const uint8_t *p, size_t n);
/* Walks an archive held in memory / readable through fd (first size bytes) whose members are at
 * depth. Records detections, notes and limits in c. Returns 0 or a negative errno (ENOMEM). */
int engine_archive_walk_memory(ScanContext *c, const uint8_t *data, size_t size, unsigned depth);
int engine_archive_walk_fd(ScanContext *c, int fd, uint64_t size);
