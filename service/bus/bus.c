/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Registers every object the daemon publishes. */
#include "bus/bus.h"
#include "mdatp-bus.h"

int bus_register_objects(Manager *m) {
        static const struct {
                const char *path;
                const char *interface;
                const sd_bus_vtable *vtable;
        } objects[] = {
                { MDATP_OBJECT_ROOT, MDATP_IFACE_HEALTH, bus_health_vtable },
                { MDATP_OBJECT_ROOT, MDATP_IFACE_SETTINGS, bus_settings_vtable },
                { MDATP_OBJECT_DIAGNOSTICS, MDATP_IFACE_DIAGNOSTICS, bus_diagnostics_vtable },
                { MDATP_OBJECT_THREATS, MDATP_IFACE_THREATS, bus_threats_vtable },
                { MDATP_OBJECT_EXCLUSIONS, MDATP_IFACE_EXCLUSIONS, bus_exclusions_vtable },
                { MDATP_OBJECT_DEFINITIONS, MDATP_IFACE_DEFINITIONS, bus_definitions_vtable },
                { MDATP_OBJECT_RTP, MDATP_IFACE_RTP, bus_rtp_vtable },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(objects); i++) {
                r = sd_bus_add_object_vtable(m->bus, NULL, objects[i].path, objects[i].interface,
                                             objects[i].vtable, m);
                if (r < 0)
                        return r;
        }
        return bus_scans_register(m);
}
