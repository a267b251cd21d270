/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.ScanManager on /com/microsoft/Mdatp1/Scans and
 * com.microsoft.Mdatp1.Scan on /com/microsoft/Mdatp1/Scans/<id> (one object per scan the daemon
 * still holds: the running one and the last few finished ones). Parsing, polkit and replies
 * only; manager-scan.c runs the scans.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/strv.h"

#define SCANS_PATH MDATP_OBJECT_SCANS
/* The object path of scan s, in a buffer that lives until the end of the full expression. */
#define SCAN_PATH(s) mdatp_scan_object_path((s)->id, (char[MDATP_OBJECT_SCAN_PATH_MAX]) {})
#define SCAN_IFACE "com.microsoft.Mdatp1.Scan"

static int method_start(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *text = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int ignore_exclusions = false;
        const char *kind_name, *key;
        ManagerScan *s;
        ScanKind kind;
        int r;

        r = sd_bus_message_read(message, "s", &kind_name);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(message, &paths);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(message, 'e', "sv")) > 0) {
                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "ignore_exclusions")) {
                        const char *contents = NULL;

                        /* A wrong type would otherwise surface as sd-bus's bare -ENXIO. */
                        r = sd_bus_message_peek_type(message, NULL, &contents);
                        if (r < 0)
                                return r;
                        if (!streq_ptr(contents, "b"))
                                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                                         "Scan option 'ignore_exclusions' must "
                                                         "be a boolean (D-Bus type 'b'), not "
                                                         "type '%s'; pass true or false",
                                                         contents ?: "?");
                        r = sd_bus_message_read(message, "v", "b", &ignore_exclusions);
                } else
                        return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                                 "Unknown scan option '%s'; known: "
                                                 "ignore_exclusions", key);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        kind = scan_kind_from_string(kind_name);
        if (kind < 0)
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Unknown scan kind '%s': expected quick, full or custom",
                                         kind_name);
        if (kind != SCAN_KIND_CUSTOM && !strv_isempty(paths))
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Only custom scans take paths");

        r = bus_verify_polkit_async(message, MDATP_POLKIT_SCAN, "Starting a scan",
                                    &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;

        r = manager_scan_start(m, kind, paths, ignore_exclusions, &s, &text);
        switch (r) {
        case 0:
                return sd_bus_reply_method_return(message, "o", SCAN_PATH(s));
        case MANAGER_SCAN_BUSY:
                return sd_bus_error_setf(error, MDATP_ERROR_BUSY,
                                         "Scan %u is already running; wait for it or cancel it "
                                         "with 'mdatp scan cancel'",
                                         m->running_scan->id);
        case MANAGER_SCAN_NO_DEFINITIONS:
                return sd_bus_error_setf(error, MDATP_ERROR_UNAVAILABLE,
                                         "No definitions are loaded, so nothing can be "
                                         "detected: %s",
                                         m->definitions_error ?: "see 'mdatp health'");
        case MANAGER_SCAN_INVALID:
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT, "Cannot scan: %s",
                                         text ?: "invalid request");
        default:
                return sd_bus_error_set_errnof(error, r, "Failed to start the scan: %m");
        }
}

static int method_list(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(usstttt)");
        if (r < 0)
                return r;
        for (size_t i = m->scan_history.n; i > 0; i--) {
                const ScanRecord *s = &m->scan_history.items[i - 1];
                const ManagerScan *live = manager_scan_find(m, s->id);
                uint64_t files = s->files_scanned, threats = s->threats_found;

                if (live && live->state == SCAN_STATE_RUNNING) {
                        files = live->counters.files_scanned + live->counters.files_cached;
                        threats = live->counters.threats_found;
                }
                r = sd_bus_message_append(reply, "(usstttt)", s->id, scan_kind_to_string(s->kind),
                                          scan_state_to_string(s->state), s->start_usec,
                                          s->end_usec, files, threats);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_cancel_running(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = bus_verify_polkit_async(message, MDATP_POLKIT_SCAN, "Cancelling a scan",
                                    &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        if (m->running_scan)
                manager_scan_cancel(m->running_scan);
        return sd_bus_reply_method_return(message, "b", m->running_scan != NULL);
}

static int property_get_running(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;

        return sd_bus_message_append(reply, "o",
                                     m->running_scan ? SCAN_PATH(m->running_scan) : "/");
}

const sd_bus_vtable bus_scan_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Start",
                                SD_BUS_ARGS("s", kind, "as", paths, "a{sv}", options),
                                SD_BUS_RESULT("o", scan),
                                method_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("List",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(usstttt)", scans),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CancelRunning",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("b", cancelled),
                                method_cancel_running, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("Running", "o", property_get_running, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END
};

/* ---- one scan ---- */

static int scan_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                     void **found, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        const char *id_text;
        char *end;
        unsigned long id;
        ManagerScan *s;

        if (strncmp(path, SCANS_PATH "/", strlen(SCANS_PATH "/")) != 0)
                return 0;
        id_text = path + strlen(SCANS_PATH "/");
        errno = 0;
        id = strtoul(id_text, &end, 10);
        if (errno != 0 || end == id_text || *end || id > UINT32_MAX)
                return 0;
        s = manager_scan_find(m, (uint32_t) id);
        if (!s)
                return 0;
        *found = s;
        return 1;
}

static int scan_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret,
                          sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;

        for (ManagerScan *s = m->scans; s; s = s->next)
                if (strv_extend(&l, SCAN_PATH(s)) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static double scan_progress(const ManagerScan *s) {
        const ScanCounters *c = &s->counters;

        if (s->state != SCAN_STATE_RUNNING)
                return 1.0;
        if (!c->walk_done)
                return -1.0;
        if (c->files_total == 0)
                return 1.0;
        return (double) (c->files_scanned + c->files_cached + c->files_failed +
                         c->files_excluded) / (double) c->files_total;
}

/* What root scanned may be in other users' private directories, and a property getter cannot
 * wait for polkit: only root reads the paths of custom scans, everyone else an empty list. Quick
 * and full scans cover fixed roots and show them to all. */
static int append_paths(sd_bus *bus, sd_bus_message *reply, const ManagerScan *s) {
        sd_bus_message *call = sd_bus_get_current_message(bus);
        int r;

        if (s->kind != SCAN_KIND_CUSTOM)
                return sd_bus_message_append_strv(reply, s->paths);
        /* Only a Properties call is the reader; a signal built while some call is dispatched
         * (root's Start) goes to everyone. */
        if (!call || !sd_bus_message_is_method_call(call, "org.freedesktop.DBus.Properties", NULL))
                return sd_bus_message_append_strv(reply, NULL);
        r = bus_caller_is_root(call);
        if (r < 0)
                return r;
        return sd_bus_message_append_strv(reply, r > 0 ? s->paths : NULL);
}

static int scan_property_get(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        ManagerScan *s = userdata;

        if (streq(property, "Id"))
                return sd_bus_message_append(reply, "u", s->id);
        if (streq(property, "Kind"))
                return sd_bus_message_append(reply, "s", scan_kind_to_string(s->kind));
        if (streq(property, "Paths"))
                return append_paths(bus, reply, s);
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", scan_state_to_string(s->state));
        if (streq(property, "FilesScanned"))
                return sd_bus_message_append(reply, "t",
                                             s->counters.files_scanned + s->counters.files_cached);
        if (streq(property, "BytesScanned"))
                return sd_bus_message_append(reply, "t", s->counters.bytes_scanned);
        if (streq(property, "ThreatsFound"))
                return sd_bus_message_append(reply, "t", s->counters.threats_found);
        if (streq(property, "ThreatsFailed"))
                return sd_bus_message_append(reply, "t", s->threats_failed);
        if (streq(property, "FilesCached"))
                return sd_bus_message_append(reply, "t", s->counters.files_cached);
        if (streq(property, "FilesFailed"))
                return sd_bus_message_append(reply, "t", s->counters.files_failed);
        if (streq(property, "Progress"))
                return sd_bus_message_append(reply, "d", scan_progress(s));
        if (streq(property, "StartTime"))
                return sd_bus_message_append(reply, "t", s->start_usec);
        if (streq(property, "EndTime"))
                return sd_bus_message_append(reply, "t", s->end_usec);
        if (streq(property, "Error"))
                return sd_bus_message_append(reply, "s", s->error ?: "");
        return -ENOENT;
}

static int scan_method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ManagerScan *s = userdata;
        BusContext *b = manager_event_userdata(s->manager);     /* the subscriber: us */
        int r;

        r = bus_verify_polkit_async(message, MDATP_POLKIT_SCAN, "Cancelling a scan",
                                    &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        manager_scan_cancel(s);
        return sd_bus_reply_method_return(message, NULL);
}

#define SCAN_PROP(name, sig, flags) \
        SD_BUS_PROPERTY(name, sig, scan_property_get, 0, flags)

const sd_bus_vtable bus_scan_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SCAN_PROP("Id", "u", SD_BUS_VTABLE_PROPERTY_CONST),
        SCAN_PROP("Kind", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        SCAN_PROP("Paths", "as", SD_BUS_VTABLE_PROPERTY_CONST),
        SCAN_PROP("State", "s", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("FilesScanned", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("BytesScanned", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("ThreatsFound", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("ThreatsFailed", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("FilesCached", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("FilesFailed", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("Progress", "d", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("StartTime", "t", SD_BUS_VTABLE_PROPERTY_CONST),
        SCAN_PROP("EndTime", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SCAN_PROP("Error", "s", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, scan_method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Finished", SD_BUS_ARGS("s", state), 0),
        SD_BUS_VTABLE_END
};

/* sd-bus wants every vtable on one path to be a fallback or none to be: the manager is a
 * fallback that exists on the Scans path itself only. */
static int scan_manager_find(sd_bus *bus, const char *path, const char *interface,
                             void *userdata, void **found, sd_bus_error *error) {
        if (!streq(path, SCANS_PATH))
                return 0;
        *found = userdata;
        return 1;
}

int bus_scans_register(BusContext *b) {
        int r;

        r = sd_bus_add_fallback_vtable(b->bus, NULL, SCANS_PATH,
                                       "com.microsoft.Mdatp1.ScanManager",
                                       bus_scan_manager_vtable, scan_manager_find, b);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(b->bus, NULL, SCANS_PATH, SCAN_IFACE, bus_scan_vtable,
                                       scan_find, b);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(b->bus, NULL, SCANS_PATH, scan_enumerate, b);
}

int bus_scan_emit_changed(BusContext *b, const ManagerScan *s, char **properties) {
        if (!b->bus)
                return 0;
        return sd_bus_emit_properties_changed_strv(b->bus, SCAN_PATH(s), SCAN_IFACE,
                                                   properties);
}

int bus_scan_emit_finished(BusContext *b, const ManagerScan *s) {
        static const char * const props[] = { "State", "EndTime", "Error", "Progress",
                                              "ThreatsFailed", NULL };
        int r;

        if (!b->bus)
                return 0;
        r = sd_bus_emit_properties_changed_strv(b->bus, SCAN_PATH(s), SCAN_IFACE,
                                                (char **) props);
        if (r < 0)
                return r;
        r = sd_bus_emit_signal(b->bus, SCAN_PATH(s), SCAN_IFACE, "Finished", "s",
                               scan_state_to_string(s->state));
        if (r < 0)
                return r;
        return bus_health_emit_last_scan(b);
}

int bus_scans_emit_running(BusContext *b) {
        if (!b->bus)
                return 0;
        return sd_bus_emit_properties_changed(b->bus, SCANS_PATH,
                                              "com.microsoft.Mdatp1.ScanManager", "Running",
                                              NULL);
}
