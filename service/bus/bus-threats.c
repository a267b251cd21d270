/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.Threats on /com/microsoft/Mdatp1/Threats: the threat history and the
 * ThreatDetected signal.
 */
#include "bus/bus.h"
#include "mdatp-bus.h"

#define THREATS_PATH "/com/microsoft/Mdatp1/Threats"
#define THREATS_IFACE "com.microsoft.Mdatp1.Threats"

/* D-Bus strings are UTF-8 and Linux file names need not be: such paths travel percent-escaped
 * (threat_path_escape()), which is reversible and readable. */
static int append_threat(sd_bus_message *reply, const Threat *t) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = threat_path_escape(t->path, &path);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "(ssssstss)", t->id, t->name, t->type, path,
                                     t->sha256, t->detected, threat_source_to_string(t->source),
                                     threat_status_to_string(t->status));
}

static int method_list(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssssstss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < threat_store_count(m->threats); i++) {
                r = append_threat(reply, threat_store_at(m->threats, i));
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const Threat *t;
        const char *id;
        int r;

        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        t = threat_store_get(m->threats, id);
        if (!t)
                return sd_bus_error_setf(error, MDATP_ERROR_NOT_FOUND,
                                         "No threat with id '%s'; 'mdatp threat list' shows them",
                                         id);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = append_threat(reply, t);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable bus_threats_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("List",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssssstss)", threats),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Get",
                                SD_BUS_ARGS("s", id),
                                SD_BUS_RESULT("(ssssstss)", threat),
                                method_get, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("ThreatDetected",
                                SD_BUS_ARGS("s", id, "s", name, "s", type, "s", path,
                                            "s", source),
                                0),
        SD_BUS_VTABLE_END
};

int bus_threat_emit_detected(Manager *m, const Threat *t) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!m->bus)
                return 0;
        r = threat_path_escape(t->path, &path);
        if (r < 0)
                return r;
        return sd_bus_emit_signal(m->bus, THREATS_PATH, THREATS_IFACE, "ThreatDetected",
                                  "sssss", t->id, t->name, t->type, path,
                                  threat_source_to_string(t->source));
}
