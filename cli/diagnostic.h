/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mdatp diagnostic ...`: real-time protection statistics (diagnostic.c) and the support bundle
 * (diagnostic-create.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "args.h"

typedef struct RtpStats {
        uint32_t pid;
        char *name;
        char *path;
        uint64_t files_scanned;
        uint64_t scan_time_ns;
} RtpStats;

typedef struct RtpStatsList {
        RtpStats *items;
        size_t n;
} RtpStatsList;

void rtp_stats_done(RtpStatsList *l);
/* Reads GetStatistics' a(usstt). */
int rtp_stats_read(sd_bus_message *m, RtpStatsList *ret);
/* Most files scanned first; keeps the first top (0: all). */
void rtp_stats_sort(RtpStatsList *l, size_t top);
/* The text blocks or {"counters":[...]}. Caller frees. */
int rtp_stats_format(const RtpStatsList *l, bool json, char **ret);

/* `mdatp diagnostic create`. */
int diagnostic_create_run(const CliInvocation *inv);

extern const CliVerb diagnostic_verbs[];
