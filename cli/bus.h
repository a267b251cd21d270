/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client side of the D-Bus contract: connecting to the system bus, calling mdatpd, and
 * turning every failure into the one line the user sees and the matching exit status:
 *   - the daemon cannot be reached (no bus, name has no owner, no reply): BUS_MESSAGE_UNREACHABLE,
 *     exit 3;
 *   - org.freedesktop.DBus.Error.AccessDenied (polkit said no): "<What> requires administrator
 *     privileges: <daemon message>", exit 1;
 *   - anything else (ManagedByPolicy, InvalidArgument, ...): the daemon's message as is, exit 1.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include <systemd/sd-bus.h>

#include "mdatp-bus.h"
#include "value.h"

#define BUS_MESSAGE_UNREACHABLE                                                         \
        "Could not connect to the daemon: mdatpd is not running. Start it with "       \
        "'systemctl start mdatp' (or scripts/sandbox.sh in a build tree)."

/* What the user was trying to do, for the privileges message. */
#define BUS_WHAT_READ_HEALTH "Reading health"
#define BUS_WHAT_READ_SETTINGS "Reading settings"
#define BUS_WHAT_CHANGE_SETTINGS "Changing settings"
#define BUS_WHAT_CHANGE_LOG_LEVEL "Changing the log level"
#define BUS_WHAT_START_SCAN "Starting a scan"
#define BUS_WHAT_CANCEL_SCAN "Cancelling a scan"
#define BUS_WHAT_READ_SCANS "Reading scans"
#define BUS_WHAT_READ_THREATS "Reading threats"
#define BUS_WHAT_READ_EXCLUSIONS "Reading exclusions"
#define BUS_WHAT_CHANGE_EXCLUSIONS "Changing exclusions"
#define BUS_WHAT_UPDATE_DEFINITIONS "Updating definitions"
#define BUS_WHAT_RESTORE_DEFINITIONS "Restoring definitions"
#define BUS_WHAT_TEST_CONNECTIVITY "Testing connectivity"

typedef enum BusErrorClass {
        BUS_ERROR_UNREACHABLE,          /* the daemon is not there or does not answer */
        BUS_ERROR_ACCESS_DENIED,        /* the bus policy or polkit refused the call */
        BUS_ERROR_DAEMON,               /* the daemon refused, with a message for the user */
        _BUS_ERROR_CLASS_MAX,
        _BUS_ERROR_CLASS_INVALID = -EINVAL,
} BusErrorClass;

/* Classifies the failure of a call: e as filled by sd_bus_call(), r its return value. */
BusErrorClass bus_error_classify(const sd_bus_error *e, int r);
/* The line to print for that failure; what is e.g. BUS_WHAT_CHANGE_SETTINGS. Returns the exit
 * status (CliExit) and the message in *ret_message (caller frees), or -ENOMEM. */
int bus_error_message(const sd_bus_error *e, int r, const char *what, char **ret_message);
/* Reports the failure (see report.h) and returns r (negative). */
int bus_report_error(const sd_bus_error *e, int r, const char *what);
/* Reports a reply that does not have the expected shape and returns r. */
int bus_report_bad_reply(int r);
/* Reports a failure to append call arguments (only allocation failures or bugs) and returns r. */
int bus_report_append(int r);

/* Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured) and registers the errno map of
 * our named errors. Reports the failure as "unreachable". */
int bus_open(sd_bus **ret);

/* A method call to mdatpd on path/interface, ready for arguments. */
int bus_new_call(sd_bus *bus, const char *path, const char *interface, const char *member,
                 sd_bus_message **ret);
/* Sends m and waits for the reply; on failure reports it (see above) and returns < 0. */
int bus_call(sd_bus *bus, sd_bus_message *m, const char *what, sd_bus_message **ret_reply);
/* The same with a timeout (µs; 0 = sd-bus's default), for calls that wait on the network. */
int bus_call_timeout(sd_bus *bus, sd_bus_message *m, uint64_t usec, const char *what,
                     sd_bus_message **ret_reply);
/* Opens the bus and calls a method that takes no arguments: the list commands' first half. */
int bus_call_no_args(const char *path, const char *interface, const char *member,
                     const char *what, sd_bus **ret_bus, sd_bus_message **ret_reply);
int bus_call_no_args_timeout(const char *path, const char *interface, const char *member,
                             uint64_t usec, const char *what, sd_bus **ret_bus,
                             sd_bus_message **ret_reply);
/* Prints what a formatter made (r is its result); JSON gets a final newline. what names the
 * items for the error line ("threats"). */
int bus_print_formatted(int r, const char *out, bool json, const char *what);

/* Health.GetAll as a list of named values. */
int bus_health_get_all(sd_bus *bus, CliValueList *ret);
/* Settings.Get / Set / Reset / List. */
int bus_settings_get(sd_bus *bus, const char *name, CliValue *ret);
int bus_settings_set(sd_bus *bus, const char *name, const CliValue *v);
int bus_settings_reset(sd_bus *bus, const char *name);
int bus_settings_list(sd_bus *bus, CliValueList *ret);
/* Diagnostics.SetLogLevel. */
int bus_set_log_level(sd_bus *bus, const char *level, bool persist);
