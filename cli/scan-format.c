/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure parts of `mdatp scan` (see scan.h): reading Scan properties and ScanManager.List
 * replies, and every text and JSON the scan verbs print. Owns no state; no bus calls, no output.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "scan.h"
#include "util/macro.h"

void scan_info_done(ScanInfo *info) {
        free(info->kind);
        free(info->state);
        free(info->error);
        *info = (ScanInfo) SCAN_INFO_INIT;
}

bool scan_info_is_finished(const ScanInfo *info) {
        return info->state && !streq(info->state, "running");
}

/* The Scan properties the client reads: name, D-Bus type, where it goes in ScanInfo. */
static const struct {
        const char *name;
        char type;
        size_t offset;
} scan_properties[] = {
        { "Id", SD_BUS_TYPE_UINT32, offsetof(ScanInfo, id) },
        { "Kind", SD_BUS_TYPE_STRING, offsetof(ScanInfo, kind) },
        { "State", SD_BUS_TYPE_STRING, offsetof(ScanInfo, state) },
        { "Error", SD_BUS_TYPE_STRING, offsetof(ScanInfo, error) },
        { "FilesScanned", SD_BUS_TYPE_UINT64, offsetof(ScanInfo, files_scanned) },
        { "BytesScanned", SD_BUS_TYPE_UINT64, offsetof(ScanInfo, bytes_scanned) },
        { "ThreatsFound", SD_BUS_TYPE_UINT64, offsetof(ScanInfo, threats_found) },
        { "ThreatsFailed", SD_BUS_TYPE_UINT64, offsetof(ScanInfo, threats_failed) },
        { "Progress", SD_BUS_TYPE_DOUBLE, offsetof(ScanInfo, progress) },
        { "StartTime", SD_BUS_TYPE_UINT64, offsetof(ScanInfo, start_time) },
        { "EndTime", SD_BUS_TYPE_UINT64, offsetof(ScanInfo, end_time) },
};

/* Reads the variant at m's position into field (of the given type) when it holds that type,
 * else skips it. Strings replace the previous value. */
static int scan_property_read(sd_bus_message *m, char type, void *field) {
        const char *contents;
        char t;
        int r;

        r = sd_bus_message_peek_type(m, &t, &contents);
        if (r < 0)
                return r;
        if (t != SD_BUS_TYPE_VARIANT || contents[0] != type || contents[1] != 0)
                return sd_bus_message_skip(m, "v");

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;
        if (type == SD_BUS_TYPE_STRING) {
                const char *s;
                char *copy;

                r = sd_bus_message_read_basic(m, type, &s);
                if (r < 0)
                        return r;
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
                free(*(char **) field);
                *(char **) field = copy;
        } else {
                r = sd_bus_message_read_basic(m, type, field);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

/* Reads one {sv} entry whose dict entry m has entered. */
static int scan_info_read_entry(sd_bus_message *m, ScanInfo *info) {
        const char *name;
        int r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(scan_properties); i++)
                if (streq(scan_properties[i].name, name))
                        return scan_property_read(m, scan_properties[i].type,
                                                  (char *) info + scan_properties[i].offset);
        return sd_bus_message_skip(m, "v");
}

int scan_info_read_properties(sd_bus_message *m, ScanInfo *info) {
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = scan_info_read_entry(m, info);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 0;
}

void scan_info_list_done(ScanInfoList *l) {
        for (size_t i = 0; i < l->n; i++)
                scan_info_done(&l->items[i]);
        free(l->items);
        *l = (ScanInfoList) {};
}

/* Reads one (ustttt) that m has entered into a new item of l. */
static int scan_info_list_read_one(sd_bus_message *m, ScanInfoList *l) {
        ScanInfo *items, *info;
        const char *kind, *state;
        int r;

        items = reallocarray(l->items, l->n + 1, sizeof(ScanInfo));
        if (!items)
                return -ENOMEM;
        l->items = items;
        info = &l->items[l->n++];
        *info = (ScanInfo) SCAN_INFO_INIT;

        r = sd_bus_message_read(m, "usstttt", &info->id, &kind, &state, &info->start_time,
                                &info->end_time, &info->files_scanned, &info->threats_found);
        if (r < 0)
                return r;
        info->kind = strdup(kind);
        info->state = strdup(state);
        if (!info->kind || !info->state)
                return -ENOMEM;
        return 0;
}

int scan_info_list_read(sd_bus_message *m, ScanInfoList *ret) {
        _cleanup_(scan_info_list_done) ScanInfoList l = SCAN_INFO_LIST_INIT;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(usstttt)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "usstttt")) > 0) {
                r = scan_info_list_read_one(m, &l);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = l;
        l = (ScanInfoList) {};
        return 0;
}

int scan_capitalize(const char *word, char **ret) {
        char *s;

        s = strdup(word ?: "");
        if (!s)
                return -ENOMEM;
        s[0] = (char) toupper((unsigned char) s[0]);
        *ret = s;
        return 0;
}

int scan_format_summary(const ScanInfo *info, char **ret) {
        bool cancelled = info->state && streq(info->state, "cancelled");
        _cleanup_free_ char *failed = NULL;

        /* Detections the daemon could not record or remediate yet are never hidden in a plain
         * "finished". */
        if (info->threats_failed > 0 &&
            asprintf(&failed, "\t%" PRIu64 " threat(s) not yet recorded or remediated; the "
                     "daemon retries (see 'mdatp health')\n", info->threats_failed) < 0)
                return -ENOMEM;
        if (asprintf(ret, "%s\n\t%" PRIu64 " file(s) scanned\n\t%" PRIu64 " threat(s) detected\n%s",
                     cancelled ? "Scan was cancelled" : "Scan has finished", info->files_scanned,
                     info->threats_found, failed ?: "") < 0)
                return -ENOMEM;
        return 0;
}

int scan_format_progress(const ScanInfo *info, bool cancelling, char **ret) {
        char bytes[FORMAT_BYTES_MAX], percent[16] = "";

        /* Whole percents, rounded down; NaN fails the test and shows none. */
        if (info->progress >= 0)
                (void) snprintf(percent, sizeof(percent), ", %d%%",
                                (int) (MIN(info->progress, 1.0) * 100));
        if (asprintf(ret, "%s: %" PRIu64 " file(s), %s, %" PRIu64 " threat(s)%s",
                     cancelling ? "Cancelling" : "Scanning", info->files_scanned,
                     format_bytes(info->bytes_scanned, bytes), info->threats_found, percent) < 0)
                return -ENOMEM;
        return 0;
}

/* The members of a scan's JSON object; bytesScanned only when with_bytes. */
static int scan_json_members(yajl_gen g, const ScanInfo *info, bool with_bytes) {
        int r;

        r = format_json_pair_uint(g, "id", info->id);
        if (r >= 0)
                r = format_json_pair_string(g, "kind", info->kind);
        if (r >= 0)
                r = format_json_pair_string(g, "state", info->state);
        if (r >= 0)
                r = format_json_pair_uint(g, "filesScanned", info->files_scanned);
        if (r >= 0 && with_bytes)
                r = format_json_pair_uint(g, "bytesScanned", info->bytes_scanned);
        if (r >= 0)
                r = format_json_pair_uint(g, "threatsFound", info->threats_found);
        if (r >= 0 && info->threats_failed > 0)
                r = format_json_pair_uint(g, "threatsFailed", info->threats_failed);
        if (r >= 0)
                r = format_json_pair_date(g, "startTime", info->start_time);
        if (r >= 0)
                r = format_json_pair_date(g, "endTime", info->end_time);
        return r;
}

/* One scan as a JSON object in g. */
static int scan_json_object(yajl_gen g, const ScanInfo *info, bool with_bytes) {
        int r;

        r = format_json_open_object(g);
        if (r < 0)
                return r;
        r = scan_json_members(g, info, with_bytes);
        if (r < 0)
                return r;
        return format_json_close_object(g);
}

int scan_format_json(const ScanInfo *info, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = scan_json_object(g, info, true);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}

int scan_format_list_json(const ScanInfoList *l, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = format_json_open_array(g);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n; i++) {
                r = scan_json_object(g, &l->items[i], false);
                if (r < 0)
                        return r;
        }
        r = format_json_close_array(g);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}

/* One block of `scan list` into f. */
static int scan_list_block(FILE *f, const ScanInfo *info) {
        _cleanup_free_ char *type = NULL, *state = NULL;
        char start[FORMAT_TIMESTAMP_MAX] = "unavailable", duration[FORMAT_DURATION_MAX];
        int r;

        r = scan_capitalize(info->kind, &type);
        if (r < 0)
                return r;
        r = scan_capitalize(info->state, &state);
        if (r < 0)
                return r;
        if (info->start_time != 0) {
                r = format_timestamp_scan(info->start_time, start, sizeof(start));
                if (r < 0)
                        return r;
        }

        (void) fprintf(f, "Id: %" PRIu32 "\nType: %s\nStart time: %s\n", info->id, type, start);
        /* A running scan has no duration yet. */
        if (info->start_time != 0 && info->end_time >= info->start_time)
                (void) fprintf(f, "Duration: %s\n",
                               format_duration(info->end_time - info->start_time, duration));
        (void) fprintf(f, "State: %s\nFiles scanned: %" PRIu64 "\nThreats detected: %" PRIu64 "\n",
                       state, info->files_scanned, info->threats_found);
        return 0;
}

int scan_format_list_text(const ScanInfoList *l, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        if (l->n == 0) {
                *ret = strdup("No scans\n");
                return *ret ? 0 : -ENOMEM;
        }

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < l->n && r >= 0; i++) {
                if (i > 0)
                        (void) fputc('\n', f);
                r = scan_list_block(f, &l->items[i]);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

int scan_path_absolute(const char *cwd, const char *path, char **ret) {
        _cleanup_free_ char *copy = NULL;
        char *buf, *p, *q, *save = NULL;
        size_t len;

        if (isempty(path))
                return -EINVAL;
        if (path[0] == '/') {
                *ret = strdup(path);
                return *ret ? 0 : -ENOMEM;
        }
        if (isempty(cwd) || cwd[0] != '/')
                return -EINVAL;

        copy = strdup(path);
        len = strlen(cwd);
        buf = malloc(len + strlen(path) + 2);
        if (!copy || !buf) {
                free(buf);
                return -ENOMEM;
        }
        /* cwd without its trailing slashes ("/" becomes ""), then "/component" for each kept
         * component of path. */
        while (len > 0 && cwd[len - 1] == '/')
                len--;
        q = mempcpy(buf, cwd, len);
        for (p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
                if (streq(p, "."))
                        continue;
                *q++ = '/';
                q = stpcpy(q, p);
        }
        if (q == buf)
                *q++ = '/';
        *q = 0;
        *ret = buf;
        return 0;
}
