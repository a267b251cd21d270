/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.Diagnostics on /com/microsoft/Mdatp1/Diagnostics: SetLogLevel and
 * CreateBundle.
 */
#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/macro.h"

static int method_set_log_level(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        const char *name;
        LogLevel level;
        int persist, r;

        r = sd_bus_message_read(message, "sb", &name, &persist);
        if (r < 0)
                return r;
        level = log_level_from_string(name);
        if (level < 0)
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Invalid log level '%s': expected one of error, "
                                         "warning, info, verbose, debug",
                                         name);

        r = bus_verify_polkit_async(message, MDATP_POLKIT_MANAGE_SETTINGS,
                                    "Changing the log level", &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;

        r = manager_set_log_level(m, level, persist);      /* raises LOG_LEVEL_CHANGED */
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to set the log level: %m");
        return sd_bus_reply_method_return(message, NULL);
}

/* The bundle goes back as a descriptor, never as a path: the caller writes it where it chooses,
 * with its own rights, so being allowed to collect diagnostics never means writing as root. */
static int method_create_bundle(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_close_ int fd = -EBADF;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = bus_verify_polkit_async(message, MDATP_POLKIT_DIAGNOSTICS,
                                    "Collecting diagnostics", &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;

        r = manager_diagnostic_bundle(m, &fd);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r,
                                               "Failed to create the diagnostic bundle: %m");
        log_info("Diagnostic bundle created for %s", sd_bus_message_get_sender(message) ?: "?");
        return sd_bus_reply_method_return(message, "h", fd);
}

const sd_bus_vtable bus_diagnostics_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("SetLogLevel",
                                SD_BUS_ARGS("s", level, "b", persist),
                                SD_BUS_NO_RESULT,
                                method_set_log_level, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateBundle",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("h", bundle),
                                method_create_bundle, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
