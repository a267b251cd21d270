/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bus side's context: connects, registers every object the daemon publishes and
 * subscribes to the manager's events. Owns the connection, the polkit registry and the calls
 * that wait for an update or a request; never changes the manager's state.
 */
#include <stdlib.h>

#include "bus/bus.h"
#include "mdatp-bus.h"

int bus_register_objects(BusContext *b) {
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
                r = sd_bus_add_object_vtable(b->bus, NULL, objects[i].path, objects[i].interface,
                                             objects[i].vtable, b);
                if (r < 0)
                        return r;
        }
        return bus_scans_register(b);
}

static void waiters_free(sd_bus_message **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                sd_bus_message_unref(l[i]);
        free(l);
}

BusContext *bus_context_free(BusContext *b) {
        if (!b)
                return NULL;
        if (b->manager && manager_event_userdata(b->manager) == b)
                manager_set_event_handler(b->manager, NULL, NULL);
        waiters_free(b->update_waiters, b->n_update_waiters);
        waiters_free(b->connectivity_waiters, b->n_connectivity_waiters);
        for (size_t i = 0; i < b->n_requests; i++)
                sd_bus_message_unref(b->requests[i].call);
        free(b->requests);
        polkit_registry_free(b->polkit_registry);
        sd_bus_flush_close_unref(b->bus);
        free(b);
        return NULL;
}

int bus_context_new(Manager *m, BusContext **ret) {
        _cleanup_(bus_context_freep) BusContext *b = NULL;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->manager = m;
        r = sd_bus_open_system_with_description(&b->bus, "mdatpd");
        if (r < 0)
                return r;
        r = bus_register_objects(b);
        if (r < 0)
                return r;
        manager_set_event_handler(m, bus_on_manager_event, b);
        *ret = TAKE_PTR(b);
        return 0;
}

int bus_context_add_waiter(BusContext *b, bool connectivity_only, sd_bus_message *call) {
        sd_bus_message ***l = connectivity_only ? &b->connectivity_waiters : &b->update_waiters;
        size_t *n = connectivity_only ? &b->n_connectivity_waiters : &b->n_update_waiters;
        sd_bus_message **w;

        w = reallocarray(*l, *n + 1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *l = w;
        w[(*n)++] = sd_bus_message_ref(call);
        return 0;
}

int bus_context_add_request(BusContext *b, uint64_t id, BusRequestKind kind,
                            sd_bus_message *call) {
        BusRequest *l;

        l = reallocarray(b->requests, b->n_requests + 1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        b->requests = l;
        l[b->n_requests++] = (BusRequest) { .id = id, .kind = kind,
                                            .call = sd_bus_message_ref(call) };
        return 0;
}
