/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.Definitions on /com/microsoft/Mdatp1/Definitions: the definitions in
 * force, Update, Restore and TestConnectivity. Update and TestConnectivity answer when their
 * worker thread is done, Restore when the executor has dropped the downloaded packs and compiled
 * the shipped one (bus-events.c calls back here), not before.
 */
#include "bus/bus.h"
#include "mdatp-bus.h"

#define DEFINITIONS_PATH MDATP_OBJECT_DEFINITIONS
#define DEFINITIONS_IFACE "com.microsoft.Mdatp1.Definitions"

static int property_get(sd_bus *bus, const char *path, const char *interface,
                        const char *property, sd_bus_message *reply, void *userdata,
                        sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;

        if (streq(property, "Version"))
                return sd_bus_message_append(reply, "s", m->rules ? m->definitions_version : "");
        if (streq(property, "Updated"))
                return sd_bus_message_append(reply, "t", m->rules ? m->definitions_updated_usec : 0);
        if (streq(property, "Status"))
                return sd_bus_message_append(reply, "s", manager_definitions_status(m));
        if (streq(property, "Source"))
                return sd_bus_message_append(reply, "s", m->rules ? m->definitions_source : "");
        /* Readable by every local user: without the mirror's credentials or signed query. */
        if (streq(property, "UpdateSourceUri"))
                return bus_append_redacted_string(reply, manager_update_source_uri(m));
        if (streq(property, "FailReason"))
                return bus_append_redacted_string(reply, m->update_fail_reason);
        if (streq(property, "LastUpdate"))
                return sd_bus_message_append(reply, "t", m->last_update_usec);
        if (streq(property, "NextUpdate"))
                return sd_bus_message_append(reply, "t", m->update_next_usec);
        return -ENOENT;
}

/* what: "A definition update" or "A connectivity test", the kind that is busy. */
static int start_error(Manager *m, int r, const char *what, sd_bus_error *error) {
        switch (r) {
        case -EBUSY:
                return sd_bus_error_setf(error, MDATP_ERROR_BUSY,
                                         "%s is already running; try again when it is done",
                                         what);
        case -ENOMEDIUM:
                return sd_bus_error_setf(error, MDATP_ERROR_UNAVAILABLE,
                                         "No update source is configured: set "
                                         "cloudService.definitionUpdateUrl, or "
                                         "antivirusEngine.offlineDefinitionUpdateUrl with "
                                         "offlineDefinitionUpdate enabled");
        case -ENODEV:
                return sd_bus_error_setf(error, MDATP_ERROR_UNAVAILABLE,
                                         "Definitions cannot be updated: %s",
                                         m->definitions_error ?: "the definitions store is not "
                                                                  "available");
        default:
                return sd_bus_error_set_errnof(error, r, "Failed to start: %m");
        }
}

static int method_update(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = bus_verify_polkit_async(message, MDATP_POLKIT_UPDATE_DEFINITIONS,
                                    "Updating definitions", &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = manager_update_start(m, false);
        if (r < 0)
                return start_error(m, r, "A definition update", error);
        r = bus_context_add_waiter(b, false, message);
        if (r < 0)
                return r;
        return 1;       /* answered by bus_reply_update() on UPDATE_FINISHED */
}

int bus_reply_update(Manager *m, sd_bus_message *call, int r, const char *error) {
        if (r == UPDATE_UP_TO_DATE)
                return sd_bus_reply_method_return(call, "ss", "up_to_date",
                                                  m->definitions_version ?: "");
        if (r == 0)
                return sd_bus_reply_method_return(call, "ss", "updated",
                                                  m->definitions_version ?: "");
        return sd_bus_reply_method_errorf(call, MDATP_ERROR_UNAVAILABLE,
                                          "Definition update failed: %s; the definitions in "
                                          "force (%s) stay",
                                          error ?: strerror(r < 0 ? -r : EIO),
                                          m->definitions_version ?: "none");
}

static int method_restore(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        uint64_t request = 0;
        int r;

        r = bus_verify_polkit_async(message, MDATP_POLKIT_UPDATE_DEFINITIONS,
                                    "Restoring definitions", &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = manager_definitions_restore(m, &request);
        if (r == -EBUSY)
                return start_error(m, r, "A definition update", error);
        if (r < 0)
                return sd_bus_error_setf(error, MDATP_ERROR_UNAVAILABLE,
                                         "Restoring the shipped definitions failed: %s",
                                         m->definitions_error ?: strerror(-r));
        r = bus_context_add_request(b, request, BUS_REQUEST_DEFINITIONS_RESTORE, message);
        if (r < 0)
                return r;
        return 1;       /* answered by bus_reply_definitions_restore() on REQUEST_FINISHED */
}

int bus_reply_definitions_restore(BusContext *b, sd_bus_message *call,
                                  const ManagerRequestResult *res) {
        if (res->r < 0)
                return sd_bus_reply_method_errorf(call, MDATP_ERROR_UNAVAILABLE,
                                                  "Restoring the shipped definitions failed: %s",
                                                  res->message ?: strerror(-res->r));
        return sd_bus_reply_method_return(call, "s", res->result ?: "");
}

static int method_test_connectivity(sd_bus_message *message, void *userdata,
                                    sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        /* The diagnostics action, not update-definitions: the test changes nothing, and whoever
         * may troubleshoot the product may see whether its mirror answers. It is still gated,
         * as it makes the daemon open connections to the mirror and the proxy on request. */
        r = bus_verify_polkit_async(message, MDATP_POLKIT_DIAGNOSTICS, "Testing connectivity",
                                    &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = manager_update_start(m, true);
        if (r < 0)
                return start_error(m, r, "A connectivity test", error);
        r = bus_context_add_waiter(b, true, message);
        if (r < 0)
                return r;
        return 1;       /* answered by bus_reply_connectivity() on UPDATE_FINISHED */
}

int bus_reply_connectivity(sd_bus_message *call, char **lines, unsigned failures, int r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int k;

        if (r < 0)
                return sd_bus_reply_method_errnof(call, r, "Connectivity test failed: %m");
        k = sd_bus_message_new_method_return(call, &reply);
        if (k < 0)
                return k;
        /* The lines name the mirror and the proxy; whoever may run the test reads them. */
        k = bus_append_redacted_strv(reply, lines);
        if (k < 0)
                return k;
        k = sd_bus_message_append(reply, "u", failures);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_definitions_emit_changed(BusContext *b) {
        if (!b->bus)
                return 0;
        (void) sd_bus_emit_properties_changed(b->bus, DEFINITIONS_PATH, DEFINITIONS_IFACE,
                                              "Version", "Updated", "Status", "Source",
                                              "FailReason", "LastUpdate", "NextUpdate", NULL);
        return bus_health_emit_definitions(b);
}

#define PROP(name, sig) \
        SD_BUS_PROPERTY(name, sig, property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

const sd_bus_vtable bus_definitions_vtable[] = {
        SD_BUS_VTABLE_START(0),
        PROP("Version", "s"),
        PROP("Updated", "t"),
        PROP("Status", "s"),
        PROP("Source", "s"),
        SD_BUS_PROPERTY("UpdateSourceUri", "s", property_get, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        PROP("FailReason", "s"),
        PROP("LastUpdate", "t"),
        PROP("NextUpdate", "t"),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", outcome, "s", version),
                                method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Restore", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", version),
                                method_restore, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("TestConnectivity", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("as", lines, "u", failures),
                                method_test_connectivity, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
