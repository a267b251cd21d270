/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.RealTimeProtection on /com/microsoft/Mdatp1/RealTimeProtection: whether
 * real-time protection runs, its counters and per-process statistics. Read-only; the
 * enforcement level is a setting (manager-rtp.c does the work).
 */
#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/strv.h"

static int property_get_enabled(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;

        return sd_bus_message_append(reply, "b", m->rtp != NULL);
}

static int property_get_available(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *reply, void *userdata,
                                  sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;

        return sd_bus_message_append(reply, "b", m->rtp_available);
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;

        if (streq(property, "Subsystem"))
                return sd_bus_message_append(reply, "s", "fanotify");
        if (streq(property, "Error"))
                return sd_bus_message_append(reply, "s", m->rtp_error ?: "");
        return sd_bus_message_append(reply, "s", !m->rtp ? "off" :
                                     m->policy->enforcement == POLICY_ENFORCEMENT_REAL_TIME ?
                                     "block" : "audit");
}

static int property_get_mounts(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error) {
        _cleanup_strv_free_ char **mounts = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        if (m->rtp) {
                r = rtp_get_marked_mounts(m->rtp, &mounts);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_append_strv(reply, mounts);
}

static int method_get_counters(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        RtpCounters c = {};
        int r;

        if (m->rtp)
                rtp_get_counters(m->rtp, &c);
        const struct {
                const char *name;
                uint64_t value;
        } counters[] = {
                { "events", c.events },         { "allowed", c.allowed },
                { "denied", c.denied },         { "scanned", c.scanned },
                { "cached", c.cached },         { "excluded", c.excluded },
                { "self", c.self },             { "timeouts", c.timeouts },
                { "overloads", c.overloads },   { "errors", c.errors },
                { "overflows", c.overflows },   { "detections", c.detections },
                { "marked_mounts", c.marked_mounts },
                { "max_latency_us", c.max_latency_us },
                { "mark_syncs", c.mark_syncs }, { "self_checks", c.self_checks },
                { "ignore_flushes", c.ignore_flushes },
                { "reconfigurations", c.reconfigurations },
        };

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(counters); i++) {
                r = sd_bus_message_append(reply, "{st}", counters[i].name, counters[i].value);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_statistics(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        RtpProcessStats *stats = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        size_t n = 0;
        int r;

        /* Which processes every user runs, and what they execute, is not for everyone. */
        r = bus_verify_polkit_async(message, MDATP_POLKIT_READ_DETAILS,
                                    "Reading per-process statistics", &b->polkit_registry,
                                    error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        if (m->rtp) {
                r = rtp_get_statistics(m->rtp, &stats, &n);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(usstt)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(usstt)", (uint32_t) stats[i].pid,
                                          stats[i].name ?: "unknown", stats[i].path ?: "",
                                          stats[i].files_scanned, stats[i].scan_time_ns);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        rtp_process_stats_free(stats, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

const sd_bus_vtable bus_rtp_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Enabled", "b", property_get_enabled, 0, CHANGES),
        SD_BUS_PROPERTY("Available", "b", property_get_available, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Subsystem", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mode", "s", property_get_string, 0, CHANGES),
        SD_BUS_PROPERTY("MarkedMounts", "as", property_get_mounts, 0, 0),
        SD_BUS_PROPERTY("Error", "s", property_get_string, 0, CHANGES),
        SD_BUS_METHOD_WITH_ARGS("GetCounters",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a{st}", counters),
                                method_get_counters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetStatistics",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(usstt)", processes),
                                method_get_statistics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/* Enabled, Mode and Error follow the manager's state after each manager_rtp_apply(). */
int bus_rtp_emit_changed(BusContext *b) {
        if (!b->bus)
                return 0;
        return sd_bus_emit_properties_changed(b->bus, MDATP_OBJECT_RTP, MDATP_IFACE_RTP,
                                              "Enabled", "Mode", "Error", NULL);
}
