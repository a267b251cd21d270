/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Definition updates: fetching a signed pack from a mirror, for `mdatp definitions update`, the
 * periodic update (definitionUpdatesInterval) and offline mirrors (offlineDefinitionUpdateUrl).
 *
 * A mirror is the pack directory itself, served statically (see tools/mdatp-pack/README.md):
 *
 *   <url>manifest.json  <url>manifest.json.sig  <url><listed path>...
 *
 * where <url> is "https://host/path/", "http://host/path/" (a missing final '/' is added) or an
 * absolute local directory ("/mnt/mirror/linux/prod", an NFS export or a share). The transport
 * is not trusted: the signature is. update_fetch() therefore
 *
 *   1. fetches manifest.json (at most 1 MiB) and manifest.json.sig into memory and verifies the
 *      signature with the installed key before it parses or downloads anything else;
 *   2. parses the manifest with the pack loader's parser; a version that is not newer than the
 *      installed one is UPDATE_UP_TO_DATE (this also refuses a rollback to an older signed
 *      pack); a pack that needs a newer engine is refused;
 *   3. downloads exactly the listed files into an empty directory, each bounded by the size the
 *      manifest announces and hashed while it is written, then writes manifest.json and its
 *      signature last.
 *
 * The caller then installs the directory with definitions_store_install(), which verifies it all
 * again from disk; update_fetch_and_install() does both in a temporary directory.
 *
 * A local mirror is read with the same bounds and checks, but without timeouts: a hung network
 * file system blocks the calling thread until it answers (which is why the daemon calls this on a
 * worker thread).
 *
 * Transfers (libcurl) are bounded in every way a hostile or broken mirror could abuse: a connect
 * timeout, a timeout per request, a low-speed limit (a slow-loris server), the announced size of
 * every file (an endless or huge response), at most 3 redirects and only to http/https (https
 * only, when the mirror is https: never file:// or anything else), TLS peer and host name
 * verification always on, no cookies, no .netrc, no proxy from the environment: only the proxy
 * configured (cloudService.proxy).
 *
 * Threads: update_global_init() must be called once, at start, before any thread exists (it runs
 * curl_global_init()). Then update_fetch() and update_test_connectivity() BLOCK (for minutes at
 * worst) and are meant for a worker thread; each call has its own curl handle, nothing is shared
 * between calls. libcurl is told not to use signals (CURLOPT_NOSIGNAL), so it does not ignore
 * SIGPIPE for us: the process should ignore SIGPIPE (a peer closing a TLS connection while it is
 * written could otherwise kill it). update_fetch_and_install() also writes to the store, which has
 * one owner at a time: the caller hands the store over for the call's duration.
 *
 * Errors are negative errno values with a message in *ret_error (may stay NULL on -ENOMEM; the
 * argument may be NULL), short and meant for an administrator, naming the URL or the file:
 *
 *   -EINVAL          bad arguments, a URL of another scheme, with a query, or a relative path
 *   -ENOTEMPTY       the download directory is not empty
 *   -EOPNOTSUPP      the libcurl in use lacks an option this module relies on
 *   -EHOSTUNREACH    a host name (of the mirror or the proxy) does not resolve
 *   -ECONNREFUSED    (or another connect errno) cannot connect to the mirror or the proxy
 *   -ETIMEDOUT       connect timeout, request timeout, or below the low-speed limit
 *   -EKEYREJECTED    the mirror is not trusted: TLS certificate verification failed, or the
 *                    manifest's signature does not verify with the installed key
 *   -EPROTO          TLS handshake failure, a reply that is not HTTP, a proxy that fails
 *   -ECONNABORTED    the connection closed before the announced body was complete
 *   -ECONNRESET      the connection broke
 *   -ELOOP           more than 3 redirects; a symbolic link in a local mirror
 *   -EBADFD, -EBUSY  a local mirror's file is not a regular file, or changed while opened
 *   -EPROTONOSUPPORT a redirect to a protocol that is not allowed; a pack for a newer engine or
 *                    of an unsupported format
 *   -ENOENT          HTTP 404/410, or a missing file in a local mirror
 *   -EACCES          HTTP 401/403/407
 *   -EREMOTEIO       any other HTTP status but 200
 *   -E2BIG           the manifest or the pack over a limit
 *   -EBADMSG         a file's size or SHA-256 differs from the manifest's; a malformed manifest
 *                    or signature file
 *   -ENOSPC, -EFBIG, -EIO ...  writing the download failed
 *
 * Logging: none; the caller logs the message.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "definitions/definitions.h"

#define UPDATE_CONNECT_TIMEOUT_USEC_DEFAULT (UINT64_C(30) * 1000000)
#define UPDATE_TIMEOUT_USEC_DEFAULT (UINT64_C(600) * 1000000)      /* one request: one file */
#define UPDATE_LOW_SPEED_BYTES_DEFAULT UINT64_C(1024)               /* bytes per second ... */
#define UPDATE_LOW_SPEED_TIME_USEC_DEFAULT (UINT64_C(60) * 1000000) /* ... sustained this long */
#define UPDATE_MANIFEST_MAX_SIZE_DEFAULT ((uint64_t) DEFINITIONS_MANIFEST_MAX_SIZE)
#define UPDATE_TOTAL_MAX_SIZE_DEFAULT DEFINITIONS_TOTAL_MAX_SIZE
#define UPDATE_MAX_REDIRECTS 3

/* The expected outcome that is not an error: the mirror has nothing newer. */
typedef enum UpdateOutcome {
        UPDATE_UP_TO_DATE = 1,
} UpdateOutcome;

/* Bounds of a fetch; 0 means the default above. The sizes may only be lowered: values over the
 * defaults (the pack format's own limits) are cut to them. curl counts the low-speed time in whole
 * seconds (at least 1). */
typedef struct UpdateLimits {
        uint64_t connect_timeout_usec;
        uint64_t timeout_usec;                  /* whole request, per file: size it for the
                                                 * largest file at the slowest link accepted */
        uint64_t low_speed_bytes;               /* abort below this many bytes per second... */
        uint64_t low_speed_time_usec;           /* ...for this long */
        uint64_t max_manifest_size;
        uint64_t max_total_size;                /* of all listed files together */
} UpdateLimits;

/* Where and how to fetch. Nothing is copied or owned; the strings must outlive the call. */
typedef struct UpdateSource {
        const char *url;                /* "https://host/path/", "http://...", or "/abs/dir" */
        const char *fallback_url;       /* tried when url fails (offlineDefinitionUpdate with
                                         * offlineDefinitionUpdateFallbackToCloud); NULL: none */
        const char *proxy;              /* "http://host:port/" for every http(s) endpoint; NULL
                                         * or "": direct, *_proxy environment variables ignored */
        const char *ca_file;            /* PEM CA bundle trusted instead of the system store;
                                         * NULL: the system store */
        EVP_PKEY *public_key;           /* Ed25519 key the manifest must be signed with */
        const char *current_version;    /* the installed pack's version; NULL: none */
        const char *engine_version;     /* this engine, for minimumEngineVersion */
        const char *work_directory;     /* update_fetch_and_install() only: an existing
                                         * directory on the store's file system for the
                                         * temporary download (.update-* inside it) */
        UpdateLimits limits;
} UpdateSource;

/* What a fetch found. Embedded: initialise with UPDATE_FETCH_RESULT_INIT, release with
 * update_fetch_result_done(). */
typedef struct UpdateFetchResult {
        char *version;                  /* the mirror's pack version */
        char *minimum_engine_version;   /* of the mirror's pack */
        char *endpoint;                 /* the url or fallback_url it came from, as given */
        bool from_fallback;
        char *fallback_reason;          /* from_fallback: why url failed */
        size_t n_files;                 /* listed files downloaded (0 when up to date) */
        uint64_t n_bytes;               /* their total size */
} UpdateFetchResult;

#define UPDATE_FETCH_RESULT_INIT {}

void update_fetch_result_done(UpdateFetchResult *r);

/* Once per process, before any thread starts (curl_global_init()). 0 or -EIO. */
int update_global_init(void);
/* At exit, after every update has finished (curl_global_cleanup()). */
void update_global_done(void);

/* Fetches the pack src->url serves (then src->fallback_url, if that fails) into dest_dir_fd, an
 * empty directory (not consumed). Returns 0 when the pack was downloaded and its files checked
 * against the verified manifest, UPDATE_UP_TO_DATE when the mirror's pack is not newer than
 * src->current_version (nothing is written), or a negative errno (see the top). *ret (may be
 * NULL) is filled on 0 and UPDATE_UP_TO_DATE only. On failure dest_dir_fd is emptied again. */
int update_fetch(const UpdateSource *src, int dest_dir_fd, UpdateFetchResult *ret,
                 char **ret_error);

/* update_fetch() into a new directory <src->work_directory>/.update-<random>, then
 * definitions_store_install() from it; the directory is always removed (and leftovers of an
 * earlier crash too: run one update per work directory at a time). Returns 0 with *ret_pack (may
 * be NULL) the installed pack as loaded back from the store, UPDATE_UP_TO_DATE, or a negative
 * errno; *ret (may be NULL) as for update_fetch(). */
int update_fetch_and_install(const UpdateSource *src, DefinitionsStore *store,
                             DefinitionPack **ret_pack, UpdateFetchResult *ret, char **ret_error);

/* For `mdatp connectivity test`: fetches manifest.json (bounded as in a fetch, not verified) of
 * src->url and src->fallback_url and describes each in a line,
 *   "Testing connection with https://host/path/manifest.json ... [OK]"
 *   "Testing connection with https://host/path/manifest.json ... [ERROR] HTTP 404"
 * appended to *ret_lines (a strv the caller owns, may be non-empty). Returns the number of
 * endpoints that failed (0 all good), or -EINVAL/-ENOMEM. */
int update_test_connectivity(const UpdateSource *src, char ***ret_lines);
