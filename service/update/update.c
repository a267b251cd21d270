/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fetching a definition pack from a mirror (see update.h for the steps and the guarantees):
 * choosing the transport for an endpoint, the order of fetch → verify → parse → decide →
 * download, writing the files into the destination directory, the fallback endpoint, the
 * fetch-and-install convenience and the connectivity test.
 *
 * Nothing here trusts the mirror: the manifest's signature is verified before the manifest is
 * parsed, every file is bounded by the size the signed manifest gives and hashed as it is written,
 * and the destination only ever receives files the manifest lists, created with O_EXCL below a
 * directory we own.
 *
 * State: none of its own; a call owns what it creates (curl handle, sinks, the temporary
 * directory) and writes only below the directory it was given. The store is the caller's (see
 * update_fetch_and_install()). No logging: messages are returned.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "definitions/definitions.h"
#include "update/update-internal.h"
#include "update/update.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

#define WORK_PREFIX ".update-"

int update_reason(char **ret_reason, int error, const char *format, ...) {
        va_list ap;
        char *m;

        if (!ret_reason)
                return error;
        /* %m in the format names the error being returned, whatever errno is now. */
        errno = error < 0 ? -error : error;
        va_start(ap, format);
        if (vasprintf(&m, format, ap) < 0)
                m = NULL;
        va_end(ap);
        free(*ret_reason);
        *ret_reason = m;
        return error;
}

UpdateLimits update_limits_resolve(const UpdateLimits *l) {
        UpdateLimits r = l ? *l : (UpdateLimits) {};

        if (r.connect_timeout_usec == 0)
                r.connect_timeout_usec = UPDATE_CONNECT_TIMEOUT_USEC_DEFAULT;
        if (r.timeout_usec == 0)
                r.timeout_usec = UPDATE_TIMEOUT_USEC_DEFAULT;
        if (r.low_speed_bytes == 0)
                r.low_speed_bytes = UPDATE_LOW_SPEED_BYTES_DEFAULT;
        if (r.low_speed_time_usec == 0)
                r.low_speed_time_usec = UPDATE_LOW_SPEED_TIME_USEC_DEFAULT;
        if (r.max_manifest_size == 0 || r.max_manifest_size > UPDATE_MANIFEST_MAX_SIZE_DEFAULT)
                r.max_manifest_size = UPDATE_MANIFEST_MAX_SIZE_DEFAULT;
        if (r.max_total_size == 0 || r.max_total_size > UPDATE_TOTAL_MAX_SIZE_DEFAULT)
                r.max_total_size = UPDATE_TOTAL_MAX_SIZE_DEFAULT;
        return r;
}

void update_fetch_result_done(UpdateFetchResult *r) {
        if (!r)
                return;
        free(r->version);
        free(r->minimum_engine_version);
        free(r->endpoint);
        free(r->fallback_reason);
        *r = (UpdateFetchResult) UPDATE_FETCH_RESULT_INIT;
}

int update_global_init(void) {
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void update_global_done(void) {
        curl_global_cleanup();
}

/* One endpoint, opened: either transport, and the base its names are appended to. */
typedef struct Transport {
        UpdateHttp *http;
        UpdateLocal *local;
        char *base;                     /* "https://host/path/" or "/dir/", for messages */
} Transport;

static void transport_done(Transport *t) {
        t->http = update_http_free(t->http);
        t->local = update_local_free(t->local);
        t->base = mfree(t->base);
}

static bool has_prefix_nocase(const char *s, const char *prefix) {
        return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Opens endpoint (a URL or an absolute path). The reason for a failure does not repeat the
 * endpoint. */
static int transport_open(const UpdateSource *src, const char *endpoint, Transport *t,
                          char **ret_reason) {
        bool url;
        size_t n;
        int r;

        *t = (Transport) {};
        if (isempty(endpoint))
                return update_reason(ret_reason, -EINVAL, "no mirror URL configured");

        url = has_prefix_nocase(endpoint, "https://") || has_prefix_nocase(endpoint, "http://");
        if (!url && endpoint[0] != '/')
                return update_reason(ret_reason, -EINVAL,
                                     "not an http:// or https:// URL, nor an absolute directory "
                                     "path");
        for (const char *p = endpoint; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return update_reason(ret_reason, -EINVAL,
                                             "contains a space or a control character");
        if (url && strpbrk(endpoint, "?#"))
                return update_reason(ret_reason, -EINVAL,
                                     "must name the pack directory, without a query or a "
                                     "fragment");

        n = strlen(endpoint);
        if (asprintf(&t->base, "%s%s", endpoint, endpoint[n - 1] == '/' ? "" : "/") < 0) {
                t->base = NULL;         /* undefined after a failure */
                return -ENOMEM;
        }

        if (url)
                r = update_http_new(src, t->base, &t->http, ret_reason);
        else
                r = update_local_new(t->base, &t->local, ret_reason);
        if (r < 0)
                return r;
        return 0;
}

static int transport_get(Transport *t, const char *name, UpdateSink *sink, char **ret_reason) {
        if (t->http)
                return update_http_get(t->http, name, sink, ret_reason);
        return update_local_get(t->local, name, sink, ret_reason);
}

/* The message for a transport failure of name: "HTTP 404 for <url>", else "<url>: <reason>". */
static int transport_fail(Transport *t, const char *name, int error, const char *reason,
                          char **ret_error) {
        if (error == -ENOMEM)
                return error;
        if (reason && strneq(reason, "HTTP ", 5))
                return update_reason(ret_error, error, "%s for %s%s", reason, t->base, name);
        return update_reason(ret_error, error, "%s%s: %s", t->base, name,
                             reason ?: strerror(-error));
}

/* Writes a whole file of bytes we hold (the manifest and its signature), durably. */
static int write_small_file(int dir_fd, const char *name, const void *data, size_t size,
                            char **ret_error) {
        int r;

        r = write_file_at(dir_fd, name, data, size, 0644);
        if (r < 0)
                return update_reason(ret_error, r, "%s: cannot write: %m", name);
        return 0;
}

/* Downloads the listed file e into dir_fd: bounded by its size, hashed while written. */
static int download_file(Transport *t, int dir_fd, const DefinitionsManifestEntry *e,
                         char **ret_error) {
        _cleanup_(update_sink_done) UpdateSink sink = { .fd = -EBADF };
        _cleanup_free_ char *reason = NULL;
        _cleanup_close_ int fd = -EBADF, parent = -EBADF;
        uint8_t sha256[32];
        int r;

        r = create_file_at(dir_fd, e->path, 0644, &fd, &parent);
        if (r < 0)
                return update_reason(ret_error, r, "%s: cannot create: %m", e->path);
        r = update_sink_init_file(&sink, fd, e->size);
        if (r < 0)
                return r;

        r = transport_get(t, e->path, &sink, &reason);
        if (r < 0) {
                if (sink.overflow)
                        return update_reason(ret_error, -EBADMSG,
                                             "%s: larger than the manifest says (%" PRIu64
                                             " bytes)", e->path, e->size);
                if (sink.error < 0)
                        return update_reason(ret_error, sink.error, "%s: cannot write: %m",
                                             e->path);
                return transport_fail(t, e->path, r, reason, ret_error);
        }
        if (sink.received != e->size)
                return update_reason(ret_error, -EBADMSG,
                                     "%s: smaller than the manifest says (%" PRIu64 " of %" PRIu64
                                     " bytes)", e->path, sink.received, e->size);
        r = update_sink_sha256(&sink, sha256);
        if (r < 0)
                return r;
        if (memcmp(sha256, e->sha256, sizeof(sha256)) != 0)
                return update_reason(ret_error, -EBADMSG,
                                     "%s: SHA-256 mismatch (the mirror's file is not the one the "
                                     "signed manifest lists)", e->path);
        /* Durable as the store's own files are: the file and the directory entry naming it. */
        r = fsync_file_and_directory(fd, parent);
        if (r < 0)
                return update_reason(ret_error, r, "%s: cannot write: %m", e->path);
        return 0;
}

/* Fetches name into a memory sink bounded by limit. On overflow: -E2BIG, no message. */
static int fetch_small(Transport *t, const char *name, uint64_t limit, UpdateSink *sink,
                       char **ret_error) {
        _cleanup_free_ char *reason = NULL;
        int r;

        update_sink_init_memory(sink, limit);
        r = transport_get(t, name, sink, &reason);
        if (r < 0 && sink->overflow)
                return -E2BIG;
        if (r < 0)
                return transport_fail(t, name, r, reason, ret_error);
        return 0;
}

static int result_fill(UpdateFetchResult *ret, const DefinitionsManifestInfo *m) {
        ret->version = strdup(m->version);
        ret->minimum_engine_version = strdup(m->minimum_engine_version);
        return ret->version && ret->minimum_engine_version ? 0 : -ENOMEM;
}

/* The whole fetch from one endpoint into the empty directory dest_fd. *ret is filled on success
 * (0 or UPDATE_UP_TO_DATE) and left as it is otherwise. */
static int fetch_one(const UpdateSource *src, const char *endpoint, int dest_fd,
                     UpdateFetchResult *ret, char **ret_error) {
        _cleanup_(definitions_manifest_info_freep) DefinitionsManifestInfo *m = NULL;
        _cleanup_(update_sink_done) UpdateSink manifest = { .fd = -EBADF };
        _cleanup_(update_sink_done) UpdateSink sig = { .fd = -EBADF };
        _cleanup_(update_fetch_result_done) UpdateFetchResult result = UPDATE_FETCH_RESULT_INIT;
        _cleanup_(transport_done) Transport t = {};
        UpdateLimits limits = update_limits_resolve(&src->limits);
        _cleanup_free_ char *reason = NULL;
        int r;

        r = transport_open(src, endpoint, &t, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return update_reason(ret_error, r, "%s: %s", endpoint, reason ?: strerror(-r));

        /* 1. Manifest and signature, into memory, bounded; verify before anything else. */
        r = fetch_small(&t, DEFINITIONS_MANIFEST_NAME, limits.max_manifest_size, &manifest,
                        ret_error);
        if (r == -E2BIG)
                return update_reason(ret_error, r,
                                     DEFINITIONS_MANIFEST_NAME ": larger than the limit of %"
                                     PRIu64 " bytes", limits.max_manifest_size);
        if (r < 0)
                return r;
        r = fetch_small(&t, DEFINITIONS_SIGNATURE_NAME, DEFINITIONS_SIGNATURE_SIZE, &sig,
                        ret_error);
        if (r == -E2BIG)
                return update_reason(ret_error, -EBADMSG,
                                     DEFINITIONS_SIGNATURE_NAME ": not a raw %d-byte Ed25519 "
                                     "signature (longer)", DEFINITIONS_SIGNATURE_SIZE);
        if (r < 0)
                return r;
        r = definitions_manifest_verify(src->public_key, manifest.data, manifest.received,
                                        sig.data, sig.received, ret_error);
        if (r < 0)
                return r;

        /* 2. What the signed manifest says, and whether we want it. */
        r = definitions_manifest_parse_info(manifest.data, manifest.received, &m, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_files; i++)
                if (streq(m->files[i].path, DEFINITIONS_MANIFEST_NAME) ||
                    streq(m->files[i].path, DEFINITIONS_SIGNATURE_NAME))
                        return update_reason(ret_error, -EBADMSG,
                                             DEFINITIONS_MANIFEST_NAME ": lists '%s', a name "
                                             "the pack format reserves", m->files[i].path);

        r = result_fill(&result, m);
        if (r < 0)
                return r;
        if (src->current_version &&
            definitions_version_compare(m->version, src->current_version) <= 0) {
                *ret = result;
                result = (UpdateFetchResult) UPDATE_FETCH_RESULT_INIT;
                return UPDATE_UP_TO_DATE;
        }
        if (definitions_version_compare(m->minimum_engine_version, src->engine_version) > 0)
                return update_reason(ret_error, -EPROTONOSUPPORT,
                                     DEFINITIONS_MANIFEST_NAME ": pack %s needs engine version "
                                     "%s or newer; this engine is %s", m->version,
                                     m->minimum_engine_version, src->engine_version);
        if (m->total_size > limits.max_total_size)
                return update_reason(ret_error, -E2BIG,
                                     DEFINITIONS_MANIFEST_NAME ": the pack's files add up to %"
                                     PRIu64 " bytes, over the limit of %" PRIu64,
                                     m->total_size, limits.max_total_size);

        /* 3. Exactly the listed files, each checked as it is written; the manifest last. */
        for (size_t i = 0; i < m->n_files; i++) {
                r = download_file(&t, dest_fd, &m->files[i], ret_error);
                if (r < 0)
                        return r;
        }
        r = write_small_file(dest_fd, DEFINITIONS_MANIFEST_NAME, manifest.data, manifest.received,
                             ret_error);
        if (r < 0)
                return r;
        r = write_small_file(dest_fd, DEFINITIONS_SIGNATURE_NAME, sig.data, sig.received,
                             ret_error);
        if (r < 0)
                return r;

        result.n_files = m->n_files;
        result.n_bytes = m->total_size;
        *ret = result;
        result = (UpdateFetchResult) UPDATE_FETCH_RESULT_INIT;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* The names in the directory dir_fd that start with prefix (every name for ""), "." and ".."
 * aside. */
static int dir_list(int dir_fd, const char *prefix, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();

                (void) close(fd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (!strneq(de->d_name, prefix, strlen(prefix)))
                        continue;
                if (strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (errno != 0)
                return negative_errno();
        *ret = TAKE_PTR(names);
        return 0;
}

/* Removes everything in dir_fd whose name starts with prefix. Best effort: the first error. */
static int dir_clear(int dir_fd, const char *prefix) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = dir_list(dir_fd, prefix, &names);
        if (r < 0)
                return r;
        for (char **n = names; n && *n; n++) {
                int k = definitions_remove_tree_at(dir_fd, *n);

                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

static int source_check(const UpdateSource *src, char **ret_error) {
        if (!src || isempty(src->url) || !src->public_key)
                return update_reason(ret_error, -EINVAL, "invalid arguments");
        if (!definitions_version_is_valid(src->engine_version))
                return update_reason(ret_error, -EINVAL, "engine version '%s' is not a version",
                                     src->engine_version ?: "(null)");
        if (src->current_version && !definitions_version_is_valid(src->current_version))
                return update_reason(ret_error, -EINVAL,
                                     "installed version '%s' is not a version",
                                     src->current_version);
        return 0;
}

int update_fetch(const UpdateSource *src, int dest_dir_fd, UpdateFetchResult *ret,
                 char **ret_error) {
        _cleanup_(update_fetch_result_done) UpdateFetchResult result = UPDATE_FETCH_RESULT_INIT;
        _cleanup_free_ char *error = NULL, *fallback_error = NULL;
        _cleanup_strv_free_ char **names = NULL;
        const char *endpoint;
        int r;

        r = source_check(src, ret_error);
        if (r < 0)
                return r;
        if (dest_dir_fd < 0)
                return update_reason(ret_error, -EBADF, "invalid arguments");
        r = dir_list(dest_dir_fd, "", &names);
        if (r < 0)
                return update_reason(ret_error, r, "cannot read the download directory: %m");
        if (names)
                return update_reason(ret_error, -ENOTEMPTY,
                                     "the download directory is not empty");

        endpoint = src->url;
        r = fetch_one(src, endpoint, dest_dir_fd, &result, &error);
        if (r < 0 && r != -ENOMEM && !isempty(src->fallback_url)) {
                int k;

                (void) dir_clear(dest_dir_fd, "");
                endpoint = src->fallback_url;
                k = fetch_one(src, endpoint, dest_dir_fd, &result, &fallback_error);
                if (k >= 0) {
                        result.fallback_reason = TAKE_PTR(error);
                        result.from_fallback = true;
                        r = k;
                } else if (k == -ENOMEM)
                        r = k;
                else if (fallback_error && strneq(fallback_error, endpoint, strlen(endpoint)))
                        /* The message names the fallback already. */
                        (void) update_reason(&error, r, "%s; fallback: %s",
                                             error ?: strerror(-r), fallback_error);
                else
                        (void) update_reason(&error, r, "%s; fallback %s: %s",
                                             error ?: strerror(-r), endpoint,
                                             fallback_error ?: strerror(-k));
        }
        if (r < 0) {
                (void) dir_clear(dest_dir_fd, "");
                if (ret_error && error) {
                        free(*ret_error);
                        *ret_error = TAKE_PTR(error);
                }
                return r;
        }

        result.endpoint = strdup(endpoint);
        if (!result.endpoint) {
                (void) dir_clear(dest_dir_fd, "");
                return -ENOMEM;
        }
        if (ret) {
                *ret = result;
                result = (UpdateFetchResult) UPDATE_FETCH_RESULT_INIT;
        }
        return r;
}

/* Makes <work_fd>/.update-<16 hex>, mode 0700, and opens it. */
static int work_mkdtemp(int work_fd, char **ret_name, int *ret_fd) {
        for (unsigned attempt = 0; attempt < 64; attempt++) {
                _cleanup_free_ char *name = NULL;
                uint64_t x;
                int fd, r;

                if (getrandom(&x, sizeof(x), 0) != sizeof(x))
                        return errno > 0 ? -errno : -EIO;
                if (asprintf(&name, WORK_PREFIX "%016" PRIx64, x) < 0) {
                        name = NULL;    /* undefined after a failure */
                        return -ENOMEM;
                }
                r = mkdirat_durable(work_fd, name, 0700);
                if (r == -EEXIST)
                        continue;
                if (r < 0) {
                        (void) definitions_remove_tree_at(work_fd, name);
                        return r;
                }
                fd = openat(work_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = negative_errno();
                        (void) definitions_remove_tree_at(work_fd, name);
                        return r;
                }
                *ret_name = TAKE_PTR(name);
                *ret_fd = fd;
                return 0;
        }
        return -EEXIST;
}

int update_fetch_and_install(const UpdateSource *src, DefinitionsStore *store,
                             DefinitionPack **ret_pack, UpdateFetchResult *ret, char **ret_error) {
        _cleanup_(update_fetch_result_done) UpdateFetchResult result = UPDATE_FETCH_RESULT_INIT;
        _cleanup_(definition_pack_freep) DefinitionPack *pack = NULL;
        _cleanup_close_ int work_fd = -EBADF, tmp_fd = -EBADF;
        _cleanup_free_ char *name = NULL, *error = NULL;
        int r;

        r = source_check(src, ret_error);
        if (r < 0)
                return r;
        if (!store || isempty(src->work_directory))
                return update_reason(ret_error, -EINVAL, "invalid arguments");

        work_fd = open(src->work_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (work_fd < 0)
                return update_reason(ret_error, negative_errno(),
                                     "'%s': cannot open the work directory: %m",
                                     src->work_directory);
        /* An update that crashed left its download behind; nothing else uses these names. */
        (void) dir_clear(work_fd, WORK_PREFIX);
        r = work_mkdtemp(work_fd, &name, &tmp_fd);
        if (r < 0)
                return update_reason(ret_error, r,
                                     "'%s': cannot create a download directory: %m",
                                     src->work_directory);

        r = update_fetch(src, tmp_fd, &result, ret_error);
        if (r == 0) {
                r = definitions_store_install(store, tmp_fd, ret_pack ? &pack : NULL, &error);
                if (r < 0)
                        (void) update_reason(ret_error, r, "cannot install the pack: %s",
                                             error ?: strerror(-r));
        }

        /* Whatever happened. A directory that cannot be removed now is removed by the next
         * update; it is not a failure of this one. */
        closep(&tmp_fd);
        tmp_fd = -EBADF;
        (void) definitions_remove_tree_at(work_fd, name);
        if (r < 0)
                return r;

        if (ret_pack)
                *ret_pack = TAKE_PTR(pack);
        if (ret) {
                *ret = result;
                result = (UpdateFetchResult) UPDATE_FETCH_RESULT_INIT;
        }
        return r;
}

int update_test_connectivity(const UpdateSource *src, char ***ret_lines) {
        const char *endpoints[2];
        int failures = 0;

        if (!src || isempty(src->url) || !ret_lines)
                return -EINVAL;
        endpoints[0] = src->url;
        endpoints[1] = isempty(src->fallback_url) ? NULL : src->fallback_url;

        for (size_t i = 0; i < ELEMENTSOF(endpoints); i++) {
                _cleanup_(update_sink_done) UpdateSink sink = { .fd = -EBADF };
                _cleanup_free_ char *reason = NULL, *target = NULL;
                _cleanup_(transport_done) Transport t = {};
                UpdateLimits limits = update_limits_resolve(&src->limits);
                char *line;
                int r;

                if (!endpoints[i])
                        continue;

                r = transport_open(src, endpoints[i], &t, &reason);
                /* The URL tried, once the endpoint is one (even if it cannot be opened). */
                if (t.base && asprintf(&target, "%s%s", t.base, DEFINITIONS_MANIFEST_NAME) < 0) {
                        target = NULL;          /* undefined after a failure */
                        return -ENOMEM;
                }
                if (r >= 0) {
                        update_sink_init_memory(&sink, limits.max_manifest_size);
                        reason = mfree(reason);
                        r = transport_get(&t, DEFINITIONS_MANIFEST_NAME, &sink, &reason);
                        if (r < 0 && sink.overflow)
                                r = update_reason(&reason, -E2BIG,
                                                  "larger than the limit of %" PRIu64 " bytes",
                                                  limits.max_manifest_size);
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        failures++;

                if (r >= 0)
                        r = asprintf(&line, "Testing connection with %s ... [OK]", target);
                else
                        r = asprintf(&line, "Testing connection with %s ... [ERROR] %s",
                                     target ?: endpoints[i], reason ?: strerror(-r));
                if (r < 0 || strv_consume(ret_lines, line) < 0)
                        return -ENOMEM;
        }
        return failures;
}
