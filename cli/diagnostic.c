/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp diagnostic real-time-protection-statistics [--output json] [--sort [--top N]]`: the
 * per-process counters of real-time protection (reference §5), from
 * com.microsoft.Mdatp1.RealTimeProtection.GetStatistics.
 *
 * Text: one block per process, blocks separated by a line of 37 '=':
 *   Process id: <pid>
 *   Name: <comm>
 *   Path: "<exe>"
 *   Total files scanned: <n>
 *   Scan time (ns): "<n>"
 *   Status: Active
 * JSON: {"counters":[{"id":..,"name":..,"path":..,"totalFilesScanned":..,"scanTime":..}]}
 * --sort orders by files scanned, most first; --top N keeps the first N (needs --sort).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus.h"
#include "diagnostic.h"
#include "format.h"
#include "report.h"
#include "util/macro.h"

#define BUS_WHAT_READ_RTP "Reading real-time protection statistics"
#define SEPARATOR "====================================="

void rtp_stats_done(RtpStatsList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].name);
                free(l->items[i].path);
        }
        free(l->items);
        *l = (RtpStatsList) {};
}

int rtp_stats_read(sd_bus_message *m, RtpStatsList *ret) {
        _cleanup_(rtp_stats_done) RtpStatsList l = {};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(usstt)");
        while (r >= 0) {
                RtpStats s = {}, *items;
                const char *name, *path;

                r = sd_bus_message_read(m, "(usstt)", &s.pid, &name, &path, &s.files_scanned,
                                        &s.scan_time_ns);
                if (r <= 0)
                        break;
                items = reallocarray(l.items, l.n + 1, sizeof(*items));
                if (!items)
                        return -ENOMEM;
                l.items = items;
                s.name = strdup(name);
                s.path = strdup(path);
                l.items[l.n++] = s;
                if (!s.name || !s.path)
                        return -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = l;
        l = (RtpStatsList) {};
        return 0;
}

static int by_files_scanned(const void *a, const void *b) {
        const RtpStats *x = a, *y = b;

        if (x->files_scanned != y->files_scanned)
                return x->files_scanned < y->files_scanned ? 1 : -1;
        return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void rtp_stats_sort(RtpStatsList *l, size_t top) {
        qsort(l->items, l->n, sizeof(*l->items), by_files_scanned);
        for (size_t i = top; top > 0 && i < l->n; i++) {
                free(l->items[i].name);
                free(l->items[i].path);
        }
        if (top > 0 && top < l->n)
                l->n = top;
}

int rtp_stats_format(const RtpStatsList *l, bool json, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        if (json) {
                g = format_json_new();
                if (!g)
                        return -ENOMEM;
                r = format_json_open_object(g);
                if (r >= 0)
                        r = format_json_string(g, "counters");
                if (r >= 0)
                        r = format_json_open_array(g);
                for (size_t i = 0; i < l->n && r >= 0; i++) {
                        const RtpStats *s = &l->items[i];
                        r = format_json_open_object(g);
                        if (r >= 0)
                                r = format_json_pair_uint(g, "id", s->pid);
                        if (r >= 0)
                                r = format_json_pair_string(g, "name", s->name);
                        if (r >= 0)
                                r = format_json_pair_string(g, "path", s->path);
                        if (r >= 0)
                                r = format_json_pair_uint(g, "totalFilesScanned",
                                                          s->files_scanned);
                        if (r >= 0)
                                r = format_json_pair_uint(g, "scanTime", s->scan_time_ns);
                        if (r >= 0)
                                r = format_json_close_object(g);
                }
                if (r >= 0)
                        r = format_json_close_array(g);
                if (r >= 0)
                        r = format_json_close_object(g);
                return r < 0 ? r : format_json_take(g, ret);
        }

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < l->n && r >= 0; i++) {
                const RtpStats *s = &l->items[i];
                _cleanup_free_ char *path = NULL;

                r = format_json_quote(s->path, &path);
                if (r >= 0)
                        (void) fprintf(f, "%sProcess id: %" PRIu32 "\nName: %s\nPath: %s\n"
                                       "Total files scanned: %" PRIu64 "\n"
                                       "Scan time (ns): \"%" PRIu64 "\"\nStatus: Active\n",
                                       i > 0 ? SEPARATOR "\n" : "", s->pid, s->name, path,
                                       s->files_scanned, s->scan_time_ns);
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

static int rtp_statistics_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(rtp_stats_done) RtpStatsList l = {};
        _cleanup_free_ char *out = NULL;
        CliFlag flags[] = {
                { .name = "--sort", .is_switch = true },
                { .name = "--top" },
        };
        unsigned long top = 0;
        char *end;
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        if (flags[1].value) {
                if (!flags[0].value)
                        return args_usage_error(inv, "--top needs --sort.");
                errno = 0;
                top = strtoul(flags[1].value, &end, 10);
                if (errno || *end || top == 0 || flags[1].value[0] == '-')
                        return args_usage_error(inv, "Invalid value '%s' for --top: expected a "
                                                "positive number.", flags[1].value);
        }
        r = bus_call_no_args(MDATP_OBJECT_RTP, MDATP_IFACE_RTP, "GetStatistics",
                             BUS_WHAT_READ_RTP, &bus, &reply);
        if (r < 0)
                return r;
        r = rtp_stats_read(reply, &l);
        if (r < 0)
                return bus_report_bad_reply(r);
        if (flags[0].value)
                rtp_stats_sort(&l, (size_t) top);
        r = rtp_stats_format(&l, inv->json, &out);
        return bus_print_formatted(r, out, inv->json, "statistics");
}

const CliVerb diagnostic_verbs[] = {
        { .name = "create",
          .description = "Create a diagnostic file (a zip archive) for support",
          .usage = "[--path DIR] [--output json]", .run = diagnostic_create_run },
        { .name = "real-time-protection-statistics",
          .description = "Per-process real-time protection counters",
          .usage = "[--output json] [--sort [--top N]]", .run = rtp_statistics_run },
        {}
};
