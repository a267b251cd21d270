/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine: detection. An fd in, a verdict out.
 *
 * The engine knows nothing of D-Bus, settings files or paths on disk: it is handed an open fd and
 * a path used for reporting only, reads the file itself with pread() and scans that memory with
 * YARA, a SHA-256 block list and, optionally, an archive walker (zip, tar, gzip, bzip2, xz and
 * their combinations). It never logs: outcomes are returned in an EngineResult.
 *
 * Objects:
 *   EngineRules    an immutable, reference-counted snapshot: compiled YARA rules, a SHA-256 block
 *                  list and a version string. Built once (off the main loop: compiling may take a
 *                  while), shared read-only by every worker; swapping definitions = building a new
 *                  snapshot, publishing the pointer, and dropping the publisher's reference. Scans
 *                  in flight finish on the snapshot they hold.
 *   EngineScanner  per worker thread, never shared: a YR_SCANNER for the current snapshot,
 *                  reusable read buffers, counters. No locks on the scan path.
 *
 * Threading: engine_global_init() once, before any thread uses the engine; everything else is
 * thread-safe as long as each EngineScanner is used by one thread at a time. Rules refcounting
 * is atomic.
 *
 * Errors are negative errno. Outcomes about the scanned file (clean, detected, skipped, could
 * not be read) are not errors: they are verdicts in EngineResult.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Threat names and types the engine itself produces. */
#define ENGINE_THREAT_TYPE_DEFAULT "virus"
#define ENGINE_THREAT_TYPE_PUA "potentially_unwanted_application"
#define ENGINE_THREAT_TYPE_ARCHIVE_BOMB "archive_bomb"
#define ENGINE_THREAT_NAME_ARCHIVE_BOMB "Behavior:Archive/Bomb"
#define ENGINE_THREAT_NAME_UNKNOWN_PREFIX "Unknown:Generic/"

/* Rule `meta:` keys read for threat metadata. */
#define ENGINE_META_THREAT_NAME "threat_name"
#define ENGINE_META_THREAT_TYPE "threat_type"

/* Separator between the members of nested archives in EngineResult.member_path:
 * "dir/b.tar.gz->c". For display only: a file name may hold it too, so nothing splits on it. */
#define ENGINE_MEMBER_SEPARATOR "->"

#define ENGINE_SHA256_SIZE 32
#define ENGINE_SHA256_HEX_SIZE (ENGINE_SHA256_SIZE * 2 + 1)

/* Process-wide set-up and tear-down of libyara (yr_initialize/yr_finalize). Call init once
 * before any other engine function and done after the last snapshot and scanner are gone.
 * Returns 0 or a negative errno. */
int engine_global_init(void);
void engine_global_done(void);

/* ----------------------------------------------------------------------------------------------
 * Rules snapshots
 */

/* One YARA source text; name becomes the YARA namespace and prefixes compiler errors. */
typedef struct EngineRuleSource {
        const char *name;
        const char *text;
} EngineRuleSource;

/* One block-list entry: a file (or archive member) whose SHA-256 equals sha256 is detected as
 * threat_name of type threat_type. */
typedef struct EngineHashEntry {
        uint8_t sha256[ENGINE_SHA256_SIZE];
        const char *threat_name;
        const char *threat_type;
} EngineHashEntry;

typedef struct EngineRules EngineRules;

/*
 * Compiles sources (each with yr_compiler_add_string(), namespace = name; `include` is disabled)
 * and copies the hash entries (duplicates by hash: the first wins) into a new snapshot with one
 * reference. The engine only ever uses rules it compiled itself: compiled rules from disk are
 * never accepted.
 *
 * Threat metadata comes from each rule's `meta:` section: threat_name ("Type:Platform/Family",
 * e.g. "Virus:DOS/EICAR_Test_File"; default "Unknown:Generic/<rule identifier>") and threat_type
 * (virus, trojan, backdoor, exploit, hacktool, webshell, miner, potentially_unwanted_application,
 * ...; default "virus"). A threat_type, in a rule or a hash entry, must be made of [a-z0-9_].
 *
 * Returns 0, -EINVAL (bad arguments, compile errors, invalid metadata: then *ret_error_message,
 * if given, is set to a newly allocated text such as "eicar:4: syntax error, unexpected '}'",
 * one line per error), or -ENOMEM. *ret is written on success only.
 */
int engine_rules_new(const EngineRuleSource *sources, size_t n_sources,
                     const EngineHashEntry *hashes, size_t n_hashes,
                     const char *version,
                     EngineRules **ret, char **ret_error_message);

/* Atomic reference counting; both accept NULL. unref returns NULL; the last unref frees. */
EngineRules *engine_rules_ref(EngineRules *r);
EngineRules *engine_rules_unref(EngineRules *r);
static inline void engine_rules_unrefp(EngineRules **r) {
        if (*r)
                (void) engine_rules_unref(*r);
}

const char *engine_rules_get_version(const EngineRules *r);
size_t engine_rules_get_n_rules(const EngineRules *r);
size_t engine_rules_get_n_hashes(const EngineRules *r);
/* Current reference count; for diagnostics and tests only (racy by nature). */
unsigned engine_rules_get_n_refs(const EngineRules *r);

/* Whether s is an acceptable threat type ([a-z0-9_]+). */
bool engine_threat_type_is_valid(const char *s);

/* ----------------------------------------------------------------------------------------------
 * Scan options
 */

/* Defaults, see README.md. */
#define ENGINE_MAX_SCAN_BYTES_DEFAULT (UINT64_C(64) << 20)
#define ENGINE_MAX_HASH_BYTES_DEFAULT (UINT64_C(1) << 30)
#define ENGINE_MAX_ARCHIVE_DEPTH_DEFAULT 5U
#define ENGINE_MAX_ARCHIVE_MEMBERS_DEFAULT UINT64_C(10000)
#define ENGINE_MAX_ARCHIVE_TOTAL_BYTES_DEFAULT (UINT64_C(1) << 30)
#define ENGINE_MAX_COMPRESSION_RATIO_DEFAULT 100U
#define ENGINE_TIMEOUT_SECONDS_DEFAULT 10

/* Hard ceiling on max_archive_depth, whatever the options say. */
#define ENGINE_MAX_ARCHIVE_DEPTH_LIMIT 16U
/* The compression ratio is only judged once one archive has produced this many bytes, so that
 * small, very compressible files (logs, sparse data) are not bombs. */
#define ENGINE_BOMB_RATIO_MIN_BYTES (UINT64_C(32) << 20)

typedef struct EngineScanOptions {
        /* YARA scans at most the first max_scan_bytes of a file (and of each archive member);
         * a rule's `filesize` is then the number of bytes scanned. 0 scans nothing. */
        uint64_t max_scan_bytes;
        /* SHA-256 of the whole file is computed when compute_hash is set or the snapshot's block
         * list is non-empty, and only for files of at most max_hash_bytes: above that there is
         * no hash and no block-list lookup (ENGINE_NOTE_HASH_SKIPPED). */
        uint64_t max_hash_bytes;
        bool compute_hash;
        /* Walk zip, tar, gzip, bzip2 and xz content (recognised by content, never by name). */
        bool scan_archives;
        /* Members of the outermost archive are at depth 1. An archive whose members would be
         * deeper, more than max_archive_members entries in one file, more than
         * max_archive_total_bytes uncompressed in one file, or one archive expanding more than
         * max_compression_ratio times its size (past ENGINE_BOMB_RATIO_MIN_BYTES; 0 = no ratio
         * limit) is detected as ENGINE_THREAT_NAME_ARCHIVE_BOMB, unless "archive_bomb" is in
         * ignored_types: then that archive (depth) or all archive content (other limits) is not
         * scanned further, ENGINE_NOTE_ARCHIVE_LIMIT. */
        unsigned max_archive_depth;
        uint64_t max_archive_members;
        uint64_t max_archive_total_bytes;
        unsigned max_compression_ratio;
        /* YARA's own timeout per scanned buffer, whole seconds, 0 = none; a backstop only:
         * callers with deadlines keep their own timer. */
        int timeout_seconds;
        /* NULL-terminated threat types that never produce a detection (e.g. the PUA policy is
         * "off"); scanning goes on for other rules. NULL = none. */
        char * const *ignored_types;
} EngineScanOptions;

#define ENGINE_SCAN_OPTIONS_DEFAULT                                                     \
        {                                                                               \
                .max_scan_bytes = ENGINE_MAX_SCAN_BYTES_DEFAULT,                        \
                .max_hash_bytes = ENGINE_MAX_HASH_BYTES_DEFAULT,                        \
                .compute_hash = false,                                                  \
                .scan_archives = true,                                                  \
                .max_archive_depth = ENGINE_MAX_ARCHIVE_DEPTH_DEFAULT,                  \
                .max_archive_members = ENGINE_MAX_ARCHIVE_MEMBERS_DEFAULT,              \
                .max_archive_total_bytes = ENGINE_MAX_ARCHIVE_TOTAL_BYTES_DEFAULT,      \
                .max_compression_ratio = ENGINE_MAX_COMPRESSION_RATIO_DEFAULT,          \
                .timeout_seconds = ENGINE_TIMEOUT_SECONDS_DEFAULT,                      \
                .ignored_types = NULL,                                                  \
        }

/* ----------------------------------------------------------------------------------------------
 * Results
 */

typedef enum EngineVerdict {
        ENGINE_VERDICT_CLEAN,
        ENGINE_VERDICT_DETECTED,
        ENGINE_VERDICT_SKIPPED,  /* not a regular file: nothing was read */
        ENGINE_VERDICT_ERROR,    /* the file could not be scanned: read error, YARA timeout, ... */
        _ENGINE_VERDICT_MAX,
        _ENGINE_VERDICT_INVALID = -EINVAL,
} EngineVerdict;

/* Remarks on how a scan went, OR-ed into EngineResult.notes. */
typedef enum EngineNote {
        ENGINE_NOTE_SCAN_TRUNCATED    = 1U << 0, /* file above max_scan_bytes: head scanned */
        ENGINE_NOTE_HASH_SKIPPED      = 1U << 1, /* hash wanted, file above max_hash_bytes */
        ENGINE_NOTE_FILE_CHANGED      = 1U << 2, /* size/times changed or short read: no hash */
        ENGINE_NOTE_TOO_MANY_MATCHES  = 1U << 3, /* a YARA string hit the match limit */
        ENGINE_NOTE_ARCHIVE_CORRUPT   = 1U << 4, /* truncated/corrupt archive: read what could be */
        ENGINE_NOTE_ENCRYPTED_SKIPPED = 1U << 5, /* encrypted member(s) not scanned */
        ENGINE_NOTE_ARCHIVE_LIMIT     = 1U << 6, /* a limit was hit, archive_bomb ignored: rest
                                                  * of the archive content not scanned */
        ENGINE_NOTE_MEMBER_TRUNCATED  = 1U << 7, /* member above max_scan_bytes: head scanned */
        ENGINE_NOTE_IGNORED_MATCH     = 1U << 8, /* something matched with an ignored type */
} EngineNote;

typedef struct EngineResult {
        EngineVerdict verdict;
        /* DETECTED only (else NULL), owned by the result: */
        char *threat_name;      /* "Virus:DOS/EICAR_Test_File" */
        char *threat_type;      /* "virus" */
        char *rule;             /* "namespace:identifier" of the YARA rule; NULL for hash hits and
                                 * archive limits */
        char *path;             /* the file scanned: display_path as given, never joined with
                                 * the member */
        char *member_path;      /* inside an archive: the member chain "dir/b.tar.gz->c", for
                                 * display only and never a path on disk (NULL: the file
                                 * itself) */
        /* SHA-256 of the whole file, lower-case hex; "" when not computed. */
        char sha256[ENGINE_SHA256_HEX_SIZE];
        uint64_t file_size;     /* st_size when the scan started */
        /* The identity of the file scanned (fstat() of the fd), so that whoever acts on a
         * detection can check the name still refers to it; 0/0 when fstat() failed. */
        uint64_t dev, ino;
        uint64_t bytes_scanned; /* bytes handed to YARA: the file's head plus archive members */
        unsigned notes;         /* EngineNote */
        /* SKIPPED/ERROR: why (static text, e.g. "fifo", "scan timed out"); DETECTED: for
         * archive bombs, which limit was hit; else NULL. */
        const char *reason;
        int error;              /* ERROR: the negative errno behind it */
} EngineResult;

#define ENGINE_RESULT_INIT { .verdict = ENGINE_VERDICT_CLEAN }

/* Frees what the result owns and resets it to ENGINE_RESULT_INIT. NULL-safe. Usable as
 * _cleanup_(engine_result_done) on an EngineResult variable. */
void engine_result_done(EngineResult *r);

/* "clean", "detected", "skipped", "error"; NULL when out of range. */
const char *engine_verdict_to_string(EngineVerdict v);
/* Text of one EngineNote bit ("scan-truncated", ...); NULL when not exactly one known bit. */
const char *engine_note_to_string(EngineNote n);

/* ----------------------------------------------------------------------------------------------
 * Scanners
 */

typedef struct EngineScanner EngineScanner;

typedef struct EngineScannerStats {
        uint64_t files_scanned;         /* engine_scan_fd() calls that produced a result */
        uint64_t files_detected;
        uint64_t files_skipped;
        uint64_t files_failed;          /* ERROR verdicts */
        uint64_t bytes_read;            /* read from fds */
        uint64_t bytes_scanned;         /* handed to YARA */
        uint64_t archive_members;       /* archive entries seen */
        uint64_t rules_switches;        /* YR_SCANNER re-created for a new snapshot */
} EngineScannerStats;

/* A scanner for one thread. NULL on OOM. */
EngineScanner *engine_scanner_new(void);
/* Frees the scanner and drops its snapshot reference. NULL-safe; returns NULL. */
EngineScanner *engine_scanner_free(EngineScanner *s);
static inline void engine_scanner_freep(EngineScanner **s) {
        if (*s)
                (void) engine_scanner_free(*s);
}

/* A scanner keeps a reference to the snapshot of its last scan (to reuse its YR_SCANNER). An
 * idle worker calls this to let an old snapshot go before its next scan. */
void engine_scanner_drop_rules(EngineScanner *s);

/* Counters since engine_scanner_new(). Read them on the scanner's own thread. */
void engine_scanner_get_stats(const EngineScanner *s, EngineScannerStats *ret);

/*
 * Scans the open file fd with rules; display_path (may be NULL) is used for reporting only and
 * for naming the content of a plain compressed file ("x.gz" holds "x"). opts NULL = defaults.
 * The caller holds a reference to rules for the duration of the call; the scanner takes its own.
 *
 * Only regular files are read (fstat; FIFOs, sockets, devices, directories are SKIPPED without a
 * read). The file is never reopened: it is read with pread() from offset 0 in chunks into the
 * scanner's buffer; a file that changes meanwhile is scanned as read (ENGINE_NOTE_FILE_CHANGED).
 * YARA scans that memory (never a mapping of the file) with SCAN_FLAGS_NO_TRYCATCH |
 * SCAN_FLAGS_FAST_MODE; the first match whose type is not ignored decides. Order: hash block
 * list, YARA on the file, then archive members (each: hash block list, YARA, then nested
 * archives).
 *
 * Returns 0 and fills *ret (which the caller then engine_result_done()s; its previous content is
 * overwritten, not freed) with a verdict; -EINVAL for bad arguments or -ENOMEM, with *ret
 * untouched.
 */
int engine_scan_fd(EngineScanner *s, EngineRules *rules, int fd, const char *display_path,
                   const EngineScanOptions *opts, EngineResult *ret);
