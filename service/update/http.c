/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP(S) transport of the updater, on libcurl: one easy handle per mirror, set up once with
 * every restriction (see update.h) and reused for each file, so that a keep-alive connection
 * serves the whole pack. Turns libcurl's result into an errno and a short reason an administrator
 * can act on.
 *
 * State: an UpdateHttp owns its curl handle and copies of the strings it was configured with. It
 * is used by one thread at a time and touches no global state (curl_global_init() is the
 * daemon's, see update_global_init()). No logging.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "update/update-internal.h"
#include "util/macro.h"

struct UpdateHttp {
        CURL *curl;
        char *base_url;                 /* ends in '/' */
        char *proxy;                    /* NULL: direct */
        bool https;
        bool connected;                 /* the current request got past connecting */
        UpdateLimits limits;            /* resolved */
        char errbuf[CURL_ERROR_SIZE];
};

#define USER_AGENT "mdatp/" MDATP_VERSION

UpdateHttp *update_http_free(UpdateHttp *h) {
        if (!h)
                return NULL;
        if (h->curl)
                curl_easy_cleanup(h->curl);
        free(h->base_url);
        free(h->proxy);
        return mfree(h);
}

static bool has_prefix_nocase(const char *s, const char *prefix) {
        return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* libcurl counts the low-speed time in whole seconds; at least 1. */
static long usec_to_sec_ceil(uint64_t usec) {
        uint64_t s = (usec + 999999) / 1000000;

        return (long) MAX(MIN(s, (uint64_t) LONG_MAX), (uint64_t) 1);
}

static long usec_to_msec(uint64_t usec) {
        return (long) MIN(MAX(usec / 1000, (uint64_t) 1), (uint64_t) LONG_MAX);
}

/* Called once the connection (TCP, proxy tunnel, TLS) is ready, before the request is sent. */
static int http_prereq(void *userdata, char *conn_primary_ip, char *conn_local_ip,
                       int conn_primary_port, int conn_local_port) {
        UpdateHttp *h = userdata;

        h->connected = true;
        return CURL_PREREQFUNC_OK;
}

static size_t http_write(char *data, size_t size, size_t n, void *userdata) {
        UpdateSink *sink = userdata;

        /* size is always 1 for write callbacks; anything short of n aborts the transfer. */
        if (update_sink_write(sink, data, size * n) < 0)
                return 0;
        return size * n;
}

/* Applies the options that do not change between requests. Returns the failing option's
 * CURLcode: every one of them matters (a libcurl too old for one must not run without it). */
static CURLcode http_setup(UpdateHttp *h, const UpdateSource *src, bool https) {
        CURL *c = h->curl;
        CURLcode e;

#define SET(option, value)                                                      \
        do {                                                                    \
                e = curl_easy_setopt(c, option, value);                         \
                if (e != CURLE_OK)                                              \
                        return e;                                               \
        } while (false)

        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_ERRORBUFFER, h->errbuf);
        SET(CURLOPT_USERAGENT, USER_AGENT);
        /* Only http(s), and https only for a https mirror: a redirect cannot reach file://,
         * another scheme, or downgrade the transport of a mirror the admin configured as TLS. */
        SET(CURLOPT_PROTOCOLS_STR, https ? "https" : "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, (long) UPDATE_MAX_REDIRECTS);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        if (src->ca_file) {
                /* Exactly these CAs: no default directory on top. */
                SET(CURLOPT_CAINFO, src->ca_file);
                SET(CURLOPT_CAPATH, NULL);
        }
        /* "" disables proxies altogether, including http_proxy & co. from the environment. */
        SET(CURLOPT_PROXY, h->proxy ?: "");
        if (h->proxy) {
                /* An https:// proxy is verified against the system store. */
                SET(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
                SET(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
        }
        SET(CURLOPT_NETRC, (long) CURL_NETRC_IGNORED);
        SET(CURLOPT_FAILONERROR, 1L);
        SET(CURLOPT_CONNECTTIMEOUT_MS, usec_to_msec(h->limits.connect_timeout_usec));
        SET(CURLOPT_TIMEOUT_MS, usec_to_msec(h->limits.timeout_usec));
        SET(CURLOPT_LOW_SPEED_LIMIT, (long) MIN(h->limits.low_speed_bytes, (uint64_t) LONG_MAX));
        SET(CURLOPT_LOW_SPEED_TIME, usec_to_sec_ceil(h->limits.low_speed_time_usec));
        SET(CURLOPT_WRITEFUNCTION, http_write);
        SET(CURLOPT_PREREQFUNCTION, http_prereq);
        SET(CURLOPT_PREREQDATA, h);
#undef SET
        return CURLE_OK;
}

int update_http_new(const UpdateSource *src, const char *base_url, UpdateHttp **ret,
                    char **ret_reason) {
        _cleanup_(update_http_freep) UpdateHttp *h = NULL;
        bool https;
        CURLcode e;

        if (!src || !base_url || !ret)
                return update_reason(ret_reason, -EINVAL, "invalid arguments");
        https = has_prefix_nocase(base_url, "https://");
        if (!https && !has_prefix_nocase(base_url, "http://"))
                return update_reason(ret_reason, -EINVAL, "not an http:// or https:// URL");
        if (!isempty(src->proxy) && !has_prefix_nocase(src->proxy, "http://") &&
            !has_prefix_nocase(src->proxy, "https://"))
                return update_reason(ret_reason, -EINVAL,
                                     "proxy '%s' is not an http://host:port/ URL", src->proxy);
        if (src->ca_file && access(src->ca_file, R_OK) < 0)
                return update_reason(ret_reason, negative_errno(),
                                     "cannot read the CA file '%s': %m", src->ca_file);

        h = calloc(1, sizeof(UpdateHttp));
        if (!h)
                return -ENOMEM;
        h->limits = update_limits_resolve(&src->limits);
        h->https = https;
        h->base_url = strdup(base_url);
        h->proxy = isempty(src->proxy) ? NULL : strdup(src->proxy);
        if (!h->base_url || (!isempty(src->proxy) && !h->proxy))
                return -ENOMEM;
        h->curl = curl_easy_init();
        if (!h->curl)
                return -ENOMEM;

        e = http_setup(h, src, https);
        if (e == CURLE_OUT_OF_MEMORY)
                return -ENOMEM;
        if (e != CURLE_OK)
                return update_reason(ret_reason, -EOPNOTSUPP,
                                     "libcurl %s lacks a required feature: %s",
                                     curl_version_info(CURLVERSION_NOW)->version,
                                     curl_easy_strerror(e));

        *ret = TAKE_PTR(h);
        return 0;
}

/* curl's message, or its generic text for the code when the buffer is empty. */
static const char *http_detail(const UpdateHttp *h, CURLcode e) {
        return h->errbuf[0] ? h->errbuf : curl_easy_strerror(e);
}

/* " to the proxy 'P'" when a proxy is in use, else "". */
static int http_via_proxy(const UpdateHttp *h, char *buf, size_t size) {
        if (!h->proxy) {
                buf[0] = '\0';
                return 0;
        }
        return snprintf(buf, size, " to the proxy '%s'", h->proxy);
}

static int http_status_error(long code) {
        switch (code) {
        case 404:
        case 410:
                return -ENOENT;
        case 401:
        case 403:
        case 407:
                return -EACCES;
        default:
                return -EREMOTEIO;
        }
}

/* Turns a failed transfer into an errno and a reason. */
static int http_failure(UpdateHttp *h, CURLcode e, UpdateSink *sink, char **ret_reason) {
        curl_off_t connect_usec = 0, total_usec = 0, announced = -1;
        long os_errno = 0, status = 0, connect_status = 0;
        curl_off_t tls_usec = 0;
        char via[512];

        (void) curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);
        (void) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        (void) curl_easy_getinfo(h->curl, CURLINFO_HTTP_CONNECTCODE, &connect_status);
        (void) curl_easy_getinfo(h->curl, CURLINFO_CONNECT_TIME_T, &connect_usec);
        (void) curl_easy_getinfo(h->curl, CURLINFO_APPCONNECT_TIME_T, &tls_usec);
        (void) curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME_T, &total_usec);
        (void) curl_easy_getinfo(h->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
        (void) http_via_proxy(h, via, sizeof(via));

        /* A proxy that would not open the tunnel answers the CONNECT with an error status. */
        if (h->proxy && connect_status >= 300)
                return update_reason(ret_reason, connect_status == 407 ? -EACCES : -EPROTO,
                                     "the proxy '%s' refused the connection: HTTP %ld",
                                     h->proxy, connect_status);

        switch (e) {
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;

        case CURLE_FILESIZE_EXCEEDED:
                /* The announced Content-Length is over the limit: as if the sink had refused. */
                sink->overflow = true;
                return -EFBIG;

        case CURLE_WRITE_ERROR:
                /* The sink refused; the caller words it. */
                if (sink->overflow)
                        return -EFBIG;
                if (sink->error < 0)
                        return sink->error;
                return update_reason(ret_reason, -EIO, "%s", http_detail(h, e));

        case CURLE_URL_MALFORMAT:
                return update_reason(ret_reason, -EINVAL, "not a valid URL: %s",
                                     http_detail(h, e));

        case CURLE_COULDNT_RESOLVE_PROXY:
                return update_reason(ret_reason, -EHOSTUNREACH,
                                     "cannot resolve the host name of the proxy '%s'",
                                     h->proxy ?: "");

        case CURLE_COULDNT_RESOLVE_HOST:
                return update_reason(ret_reason, -EHOSTUNREACH, "cannot resolve the host name");

        case CURLE_COULDNT_CONNECT:
                if (os_errno > 0)
                        return update_reason(ret_reason, -(int) os_errno, "cannot connect%s: %s",
                                             via, strerror((int) os_errno));
                return update_reason(ret_reason, -ECONNREFUSED, "cannot connect%s: %s", via,
                                     http_detail(h, e));

        case CURLE_OPERATION_TIMEDOUT:
                if (!h->connected && connect_usec > 0 && h->https && tls_usec == 0)
                        return update_reason(ret_reason, -ETIMEDOUT,
                                             "the TLS handshake did not complete in time");
                if (!h->connected)
                        return update_reason(ret_reason, -ETIMEDOUT,
                                             "cannot connect%s: timed out after %" PRIu64 " s",
                                             via, h->limits.connect_timeout_usec / 1000000);
                /* curl gives the same code for both limits; the elapsed time tells which. */
                if ((uint64_t) total_usec + 500000 < h->limits.timeout_usec)
                        return update_reason(ret_reason, -ETIMEDOUT,
                                             "download too slow: less than %" PRIu64 " bytes/s "
                                             "for %ld s", h->limits.low_speed_bytes,
                                             usec_to_sec_ceil(h->limits.low_speed_time_usec));
                return update_reason(ret_reason, -ETIMEDOUT, "timed out after %" PRIu64 " s",
                                     (h->limits.timeout_usec + 999999) / 1000000);

        case CURLE_PEER_FAILED_VERIFICATION:
                return update_reason(ret_reason, -EKEYREJECTED,
                                     "TLS certificate verification failed: %s",
                                     http_detail(h, e));

        case CURLE_SSL_CACERT_BADFILE:
                return update_reason(ret_reason, -EBADMSG, "the CA file is not usable: %s",
                                     http_detail(h, e));

        case CURLE_SSL_CONNECT_ERROR:
                return update_reason(ret_reason, -EPROTO, "TLS handshake failed: %s",
                                     http_detail(h, e));

        case CURLE_HTTP_RETURNED_ERROR:
                return update_reason(ret_reason, http_status_error(status), "HTTP %ld", status);

        case CURLE_TOO_MANY_REDIRECTS:
                return update_reason(ret_reason, -ELOOP, "more than %d redirects",
                                     UPDATE_MAX_REDIRECTS);

        case CURLE_UNSUPPORTED_PROTOCOL:
                /* Our own URL is http(s): only a redirect can lead elsewhere. */
                return update_reason(ret_reason, -EPROTONOSUPPORT,
                                     "redirected to a URL of a protocol that is not allowed "
                                     "(only http and https, https only from https): %s",
                                     http_detail(h, e));

        case CURLE_PARTIAL_FILE:
                if (announced >= 0)
                        return update_reason(ret_reason, -ECONNABORTED,
                                             "the connection closed after %" PRIu64 " of the %"
                                             PRIu64 " bytes announced", sink->received,
                                             (uint64_t) announced);
                return update_reason(ret_reason, -ECONNABORTED,
                                     "the connection closed before the transfer was complete");

        case CURLE_GOT_NOTHING:
                return update_reason(ret_reason, -ECONNABORTED, "the server sent no reply");

        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
                return update_reason(ret_reason, -ECONNRESET, "connection lost: %s",
                                     http_detail(h, e));

        case CURLE_WEIRD_SERVER_REPLY:
                return update_reason(ret_reason, -EPROTO, "the reply is not HTTP: %s",
                                     http_detail(h, e));

        case CURLE_PROXY:
                return update_reason(ret_reason, -EPROTO, "the proxy '%s' failed: %s",
                                     h->proxy ?: "", http_detail(h, e));

        default:
                if (IN_SET(e, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
                           CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_INITFAILED,
                           CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE,
                           CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
                           CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT))
                        return update_reason(ret_reason, -EPROTO, "TLS error: %s",
                                             http_detail(h, e));
                return update_reason(ret_reason, -EIO, "%s", http_detail(h, e));
        }
}

int update_http_get(UpdateHttp *h, const char *name, UpdateSink *sink, char **ret_reason) {
        _cleanup_free_ char *url = NULL;
        long status = 0;
        CURLcode e;

        if (!h || !name || !sink)
                return update_reason(ret_reason, -EINVAL, "invalid arguments");
        if (asprintf(&url, "%s%s", h->base_url, name) < 0) {
                url = NULL;             /* undefined after a failure */
                return -ENOMEM;
        }

        h->errbuf[0] = '\0';
        h->connected = false;
        if (curl_easy_setopt(h->curl, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, sink) != CURLE_OK ||
            /* An announced Content-Length over the limit stops the transfer before its body;
             * the sink stops one that does not announce its size. */
            curl_easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE,
                             (curl_off_t) MIN(sink->limit, (uint64_t) INT64_MAX)) != CURLE_OK)
                return -ENOMEM;

        e = curl_easy_perform(h->curl);
        if (e != CURLE_OK)
                return http_failure(h, e, sink, ret_reason);

        /* FAILONERROR turned >= 400 into an error; what is left must be a plain 200 (a 3xx here
         * had no Location, a 2xx other than 200 is not a whole file). */
        (void) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
                return update_reason(ret_reason, -EREMOTEIO, "HTTP %ld", status);
        return 0;
}
