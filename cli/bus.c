/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * D-Bus calls of the mdatp client and the mapping of their failures to messages (see bus.h).
 * Owns no state: the connection belongs to the caller. Every failure is reported here, where the
 * error is understood, so callers only propagate the negative errno.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "mdatp-bus.h"
#include "report.h"
#include "util/macro.h"

/* sd-bus turns local failures into "System.Error.<ERRNO>" names, or into a few standard ones. */
static bool bus_errno_is_unreachable(int e) {
        switch (e) {
        case ECONNREFUSED:
        case ECONNRESET:
        case ECONNABORTED:
        case ENOTCONN:
        case ETIMEDOUT:
        case EHOSTUNREACH:
        case ENXIO:
        case EPIPE:
        case ESHUTDOWN:
        case ENOENT:            /* the bus socket does not exist */
                return true;
        default:
                return false;
        }
}

BusErrorClass bus_error_classify(const sd_bus_error *e, int r) {
        if (sd_bus_error_has_names(e,
                                   SD_BUS_ERROR_SERVICE_UNKNOWN,
                                   SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                   SD_BUS_ERROR_NO_REPLY,
                                   SD_BUS_ERROR_TIMEOUT,
                                   SD_BUS_ERROR_DISCONNECTED,
                                   SD_BUS_ERROR_NO_SERVER,
                                   "org.freedesktop.DBus.Error.TimedOut"))
                return BUS_ERROR_UNREACHABLE;
        /* Bus activation of a daemon that failed to start. */
        if (sd_bus_error_is_set(e) && strneq(e->name, "org.freedesktop.DBus.Error.Spawn.",
                                             strlen("org.freedesktop.DBus.Error.Spawn.")))
                return BUS_ERROR_UNREACHABLE;
        if (sd_bus_error_has_names(e,
                                   SD_BUS_ERROR_ACCESS_DENIED,
                                   SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                return BUS_ERROR_ACCESS_DENIED;

        /* A local failure rather than an answer: judge by errno. Names in our namespace are the
         * daemon's answers even when their errno looks like a transport one (NotFound = ENOENT). */
        if (!sd_bus_error_is_set(e) || strneq(e->name, "System.Error.", strlen("System.Error."))) {
                int err = sd_bus_error_is_set(e) ? sd_bus_error_get_errno(e) : -r;

                if (bus_errno_is_unreachable(err))
                        return BUS_ERROR_UNREACHABLE;
        }
        return BUS_ERROR_DAEMON;
}

int bus_error_message(const sd_bus_error *e, int r, const char *what, char **ret_message) {
        bool has_message = sd_bus_error_is_set(e) && e->message && *e->message;
        char *s = NULL;
        int status, k;

        switch (bus_error_classify(e, r)) {
        case BUS_ERROR_UNREACHABLE:
                s = strdup(BUS_MESSAGE_UNREACHABLE);
                k = s ? 0 : -1;
                status = CLI_EXIT_UNREACHABLE;
                break;
        case BUS_ERROR_ACCESS_DENIED:
                /* mdatpd's own refusals already say so; the bus's or polkit's may not. */
                if (has_message && strstr(e->message, "requires administrator privileges"))
                        k = asprintf(&s, "%s", e->message);
                else if (has_message)
                        k = asprintf(&s, "%s requires administrator privileges: %s",
                                     what, e->message);
                else
                        k = asprintf(&s, "%s requires administrator privileges.", what);
                status = CLI_EXIT_FAILURE;
                break;
        default:
                /* The daemon's message already says what was wrong and what to do. */
                if (has_message)
                        k = asprintf(&s, "%s", e->message);
                else if (sd_bus_error_is_set(e))
                        k = asprintf(&s, "%s failed: %s", what, e->name);
                else
                        k = asprintf(&s, "%s failed: %s", what, strerror(r < 0 ? -r : EIO));
                status = CLI_EXIT_FAILURE;
                break;
        }
        if (k < 0)
                return -ENOMEM;

        *ret_message = s;
        return status;
}

int bus_report_error(const sd_bus_error *e, int r, const char *what) {
        _cleanup_free_ char *message = NULL;
        int status;

        if (r >= 0)
                r = -EIO;
        status = bus_error_message(e, r, what, &message);
        if (status < 0)
                return report_error(CLI_EXIT_FAILURE, status, "Out of memory.");
        return report_error(status, r, "%s", message);
}

int bus_report_bad_reply(int r) {
        return report_error(CLI_EXIT_FAILURE, r, "Unexpected reply from the daemon: %s",
                            strerror(r < 0 ? -r : EIO));
}

int bus_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        /* So that sd_bus_error_get_errno() gives a meaningful errno for our named errors. */
        r = sd_bus_error_add_map(mdatp_bus_error_map);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to register D-Bus errors: %s",
                                    strerror(-r));

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return report_error(CLI_EXIT_UNREACHABLE, r, "%s", BUS_MESSAGE_UNREACHABLE);
        /* At a terminal a person may answer an authentication agent (pkttyagent), so polkit may
         * ask; from a script it must not wait for one, and the daemon says that authentication
         * was needed instead. Every call made on this connection carries the flag. */
        r = sd_bus_set_allow_interactive_authorization(bus, isatty(STDIN_FILENO));
        if (r < 0) {
                sd_bus_unref(bus);
                return report_error(CLI_EXIT_FAILURE, r,
                                    "Failed to set up the D-Bus connection: %s", strerror(-r));
        }

        *ret = bus;
        return 0;
}

int bus_new_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                 sd_bus_message **ret) {
        int r;

        r = sd_bus_message_new_method_call(bus, ret, MDATP_BUS_NAME, path, interface, member);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to create a D-Bus call: %s",
                                    strerror(-r));
        return 0;
}

int bus_call(sd_bus *bus, sd_bus_message *m, const char *what, sd_bus_message **ret_reply) {
        return bus_call_timeout(bus, m, 0, what, ret_reply);
}

int bus_call_timeout(sd_bus *bus, sd_bus_message *m, uint64_t usec, const char *what,
                     sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call(bus, m, usec, &error, ret_reply);
        if (r < 0)
                return bus_report_error(&error, r, what);
        return 0;
}

int bus_report_append(int r) {
        return report_error(CLI_EXIT_FAILURE, r, "Failed to build a D-Bus call: %s", strerror(-r));
}

int bus_health_get_all(sd_bus *bus, CliValueList *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = bus_new_call(bus, MDATP_OBJECT_ROOT, "org.freedesktop.DBus.Properties", "GetAll", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", MDATP_IFACE_HEALTH);
        if (r < 0)
                return bus_report_append(r);
        r = bus_call(bus, m, BUS_WHAT_READ_HEALTH, &reply);
        if (r < 0)
                return r;
        r = cli_value_list_read_properties(reply, ret);
        if (r < 0)
                return bus_report_bad_reply(r);
        return 0;
}

int bus_settings_get(sd_bus *bus, const char *name, CliValue *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = bus_new_call(bus, MDATP_OBJECT_ROOT, MDATP_IFACE_SETTINGS, "Get", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return bus_report_append(r);
        r = bus_call(bus, m, BUS_WHAT_READ_SETTINGS, &reply);
        if (r < 0)
                return r;
        r = cli_value_read_variant(reply, ret);
        if (r < 0)
                return bus_report_bad_reply(r);
        return 0;
}

int bus_settings_set(sd_bus *bus, const char *name, const CliValue *v) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_call(bus, MDATP_OBJECT_ROOT, MDATP_IFACE_SETTINGS, "Set", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return bus_report_append(r);
        r = cli_value_append_variant(m, v);
        if (r < 0)
                return bus_report_append(r);
        return bus_call(bus, m, BUS_WHAT_CHANGE_SETTINGS, NULL);
}

int bus_settings_reset(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_call(bus, MDATP_OBJECT_ROOT, MDATP_IFACE_SETTINGS, "Reset", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return bus_report_append(r);
        return bus_call(bus, m, BUS_WHAT_CHANGE_SETTINGS, NULL);
}

int bus_settings_list(sd_bus *bus, CliValueList *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = bus_new_call(bus, MDATP_OBJECT_ROOT, MDATP_IFACE_SETTINGS, "List", &m);
        if (r < 0)
                return r;
        r = bus_call(bus, m, BUS_WHAT_READ_SETTINGS, &reply);
        if (r < 0)
                return r;
        r = cli_value_list_read_settings(reply, ret);
        if (r < 0)
                return bus_report_bad_reply(r);
        return 0;
}

int bus_set_log_level(sd_bus *bus, const char *level, bool persist) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_new_call(bus, MDATP_OBJECT_DIAGNOSTICS, MDATP_IFACE_DIAGNOSTICS, "SetLogLevel", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sb", level, (int) persist);
        if (r < 0)
                return bus_report_append(r);
        return bus_call(bus, m, BUS_WHAT_CHANGE_LOG_LEVEL, NULL);
}

int bus_call_no_args(const char *path, const char *interface, const char *member,
                     const char *what, sd_bus **ret_bus, sd_bus_message **ret_reply) {
        return bus_call_no_args_timeout(path, interface, member, 0, what, ret_bus, ret_reply);
}

int bus_call_no_args_timeout(const char *path, const char *interface, const char *member,
                             uint64_t usec, const char *what, sd_bus **ret_bus,
                             sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_new_call(bus, path, interface, member, &m);
        if (r < 0)
                return r;
        r = bus_call_timeout(bus, m, usec, what, ret_reply);
        if (r < 0)
                return r;
        *ret_bus = TAKE_PTR(bus);
        return 0;
}

int bus_print_formatted(int r, const char *out, bool json, const char *what) {
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to format the %s: %s", what,
                                    strerror(-r));
        printf("%s%s", out, json ? "\n" : "");
        return 0;
}
