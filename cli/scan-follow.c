/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Following a started scan to its end (see scan.h): an sd-event loop with the bus attached, two
 * signal matches on the scan object (PropertiesChanged, Finished), one on the daemon's name
 * (NameOwnerChanged: it went away), and signalfd sources for SIGINT and SIGTERM (blocked first
 * by scan_follow_block_signals(), so nothing runs in a signal handler).
 *
 * Owns the ScanFollow state of one call of scan_follow(): the loop, the slots, whether a
 * cancellation was asked for, and the width of the progress line on screen. It must not touch the
 * bus connection beyond attaching it to its loop: the caller owns it.
 *
 * The race with a quick scan: the matches are added first, then the properties are read with
 * GetAll; a scan that finished before the matches existed shows its final State in that answer,
 * and one that finishes later sends a signal we do receive. Once the scan has finished, the
 * properties are read once more so that the counters are the final ones whatever the order of
 * the signals.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus.h"
#include "report.h"
#include "scan.h"
#include "util/macro.h"

typedef struct ScanFollow {
        sd_bus *bus;                    /* the caller's */
        sd_event *event;
        const char *path;               /* the scan object */
        ScanInfo *info;                 /* the caller's; updated from signals and GetAll */
        bool show_progress;
        size_t columns;                 /* of the terminal; 0 when unknown */
        size_t progress_width;          /* characters of the progress line on screen */
        bool cancelling;                /* Scan.Cancel() was sent */
        bool done;                      /* the loop was left on purpose (not a disconnect) */
        int result;                     /* < 0: following failed, already reported */
        sd_bus_slot *cancel_slot;
} ScanFollow;

int scan_follow_block_signals(void) {
        sigset_t mask;

        if (sigemptyset(&mask) < 0 || sigaddset(&mask, SIGINT) < 0 ||
            sigaddset(&mask, SIGTERM) < 0)
                return -EINVAL;
        /* Never unblocked: a signal that arrives after the loop (during the final GetAll) stays
         * pending until the process exits, instead of killing it with its output half done. */
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();
        return 0;
}

/* Leaves the loop with result r (0: the scan finished; < 0: already reported). */
static int scan_follow_stop(ScanFollow *f, int r) {
        f->done = true;
        if (r < 0 && f->result == 0)
                f->result = r;
        return sd_event_exit(f->event, 0);
}

/* Overwrites the progress line with spaces and returns the cursor to its start. */
static void scan_follow_clear_progress(ScanFollow *f) {
        if (f->progress_width == 0)
                return;
        printf("\r%*s\r", (int) f->progress_width, "");
        (void) fflush(stdout);
        f->progress_width = 0;
}

/* Rewrites the progress line in place. */
static void scan_follow_show_progress(ScanFollow *f) {
        _cleanup_free_ char *line = NULL;
        size_t len;

        if (!f->show_progress || scan_format_progress(f->info, f->cancelling, &line) < 0)
                return;
        len = strlen(line);
        /* A line that wraps cannot be rewritten with \r: cut it to the terminal's width. */
        if (f->columns > 1 && len > f->columns - 1) {
                len = f->columns - 1;
                line[len] = 0;
        }
        /* Pad with spaces over what a longer previous line left behind. */
        printf("\r%s%*s", line, f->progress_width > len ? (int) (f->progress_width - len) : 0, "");
        (void) fflush(stdout);
        f->progress_width = MAX(f->progress_width, len);
}

static int scan_follow_on_properties(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ScanFollow *f = userdata;
        const char *interface;
        int r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &interface);
        if (r < 0 || !streq(interface, MDATP_IFACE_SCAN))
                return 0;
        r = scan_info_read_properties(m, f->info);
        if (r < 0)
                return scan_follow_stop(f, bus_report_bad_reply(r));
        if (scan_info_is_finished(f->info))
                return scan_follow_stop(f, 0);
        scan_follow_show_progress(f);
        return 0;
}

static int scan_follow_on_finished(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ScanFollow *f = userdata;
        const char *state;
        char *copy;
        int r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &state);
        if (r < 0)
                return scan_follow_stop(f, bus_report_bad_reply(r));
        copy = strdup(state);
        if (!copy)
                return scan_follow_stop(f, report_error(CLI_EXIT_FAILURE, -ENOMEM,
                                                        "Out of memory."));
        free(f->info->state);
        f->info->state = copy;
        return scan_follow_stop(f, 0);
}

static int scan_follow_on_owner(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ScanFollow *f = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r < 0 || !isempty(new_owner))
                return 0;
        scan_follow_clear_progress(f);
        return scan_follow_stop(f, report_error(CLI_EXIT_FAILURE, -ECONNRESET,
                                                "The daemon stopped before the scan finished."));
}

static int scan_follow_on_cancel_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        ScanFollow *f = userdata;
        const sd_bus_error *e;

        f->cancel_slot = sd_bus_slot_unref(f->cancel_slot);
        e = sd_bus_message_get_error(m);
        /* A scan that ended meanwhile cannot be cancelled any more: its Finished comes first. */
        if (!e || scan_info_is_finished(f->info))
                return 0;
        scan_follow_clear_progress(f);
        return scan_follow_stop(f, bus_report_error(e, -sd_bus_message_get_errno(m),
                                                    BUS_WHAT_CANCEL_SCAN));
}

static int scan_follow_on_signal(sd_event_source *s, const struct signalfd_siginfo *si,
                                 void *userdata) {
        ScanFollow *f = userdata;
        int r;

        if (f->cancelling) {
                scan_follow_clear_progress(f);
                return scan_follow_stop(f, report_error(CLI_EXIT_FAILURE, -EINTR,
                                                        "Interrupted; the scan is being "
                                                        "cancelled."));
        }
        f->cancelling = true;
        r = sd_bus_call_method_async(f->bus, &f->cancel_slot, MDATP_BUS_NAME, f->path,
                                     MDATP_IFACE_SCAN, "Cancel", scan_follow_on_cancel_reply, f,
                                     NULL);
        if (r < 0) {
                scan_follow_clear_progress(f);
                return scan_follow_stop(f, report_error(CLI_EXIT_FAILURE, r,
                                                        "Failed to cancel the scan: %s",
                                                        strerror(-r)));
        }
        scan_follow_show_progress(f);
        return 0;
}

/* Scan properties via GetAll into f->info; reports failures unless quiet. */
static int scan_follow_get_all(ScanFollow *f, bool quiet) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(f->bus, MDATP_BUS_NAME, f->path, "org.freedesktop.DBus.Properties",
                               "GetAll", &error, &reply, "s", MDATP_IFACE_SCAN);
        if (r < 0)
                return quiet ? r : bus_report_error(&error, r, BUS_WHAT_READ_SCANS);
        r = scan_info_read_properties(reply, f->info);
        if (r < 0)
                return quiet ? r : bus_report_bad_reply(r);
        return 0;
}

/* Reads the final counters. The values from the signals stand if the object is gone already,
 * and so does the final state if the daemon still said running. */
static int scan_follow_final(ScanFollow *f) {
        _cleanup_free_ char *state = NULL;

        if (!f->info->state) {
                (void) scan_follow_get_all(f, true);
                return 0;
        }
        state = strdup(f->info->state);
        if (!state)
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");
        (void) scan_follow_get_all(f, true);
        if (!scan_info_is_finished(f->info)) {
                free(f->info->state);
                f->info->state = TAKE_PTR(state);
        }
        return 0;
}

/* The three matches; slots go to the caller's array. */
static int scan_follow_add_matches(ScanFollow *f, sd_bus_slot *slots[static 3]) {
        _cleanup_free_ char *owner_match = NULL;
        int r;

        r = sd_bus_match_signal(f->bus, &slots[0], MDATP_BUS_NAME, f->path,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                scan_follow_on_properties, f);
        if (r >= 0)
                r = sd_bus_match_signal(f->bus, &slots[1], MDATP_BUS_NAME, f->path,
                                        MDATP_IFACE_SCAN, "Finished", scan_follow_on_finished, f);
        if (r >= 0 && asprintf(&owner_match, "type='signal',sender='org.freedesktop.DBus',"
                               "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
                               "member='NameOwnerChanged',arg0='%s'", MDATP_BUS_NAME) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = sd_bus_add_match(f->bus, &slots[2], owner_match, scan_follow_on_owner, f);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to follow the scan: %s",
                                    strerror(-r));
        return 0;
}

/* The event loop with its signal sources; runs until the scan finishes or following fails. */
static int scan_follow_loop(ScanFollow *f) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *sigint = NULL, *sigterm = NULL;
        int r;

        r = sd_event_add_signal(f->event, &sigint, SIGINT, scan_follow_on_signal, f);
        if (r >= 0)
                r = sd_event_add_signal(f->event, &sigterm, SIGTERM, scan_follow_on_signal, f);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to watch for signals: %s",
                                    strerror(-r));

        scan_follow_show_progress(f);
        r = sd_event_loop(f->event);
        scan_follow_clear_progress(f);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to follow the scan: %s",
                                    strerror(-r));
        if (f->result < 0)
                return f->result;
        /* The loop ends without us when the connection closes (exit-on-disconnect). */
        if (!f->done)
                return report_error(CLI_EXIT_UNREACHABLE, -ECONNRESET, "%s",
                                    BUS_MESSAGE_UNREACHABLE);
        return 0;
}

int scan_follow(sd_bus *bus, const char *path, bool show_progress, ScanInfo *info) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        sd_bus_slot *slots[3] = {};
        struct winsize ws;
        ScanFollow f = {
                .bus = bus,
                .path = path,
                .info = info,
                .show_progress = show_progress,
        };
        int r;

        r = sd_event_new(&event);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to create an event loop: %s",
                                    strerror(-r));
        f.event = event;
        if (show_progress && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0)
                f.columns = ws.ws_col;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to attach the bus: %s",
                                    strerror(-r));
        (void) sd_bus_set_exit_on_disconnect(bus, true);

        r = scan_follow_add_matches(&f, slots);
        if (r >= 0)
                r = scan_follow_get_all(&f, false);
        /* A scan that ended before the matches existed: what GetAll said is final. */
        if (r >= 0 && !scan_info_is_finished(info)) {
                r = scan_follow_loop(&f);
                if (r >= 0)
                        r = scan_follow_final(&f);
        }

        f.cancel_slot = sd_bus_slot_unref(f.cancel_slot);
        for (size_t i = 0; i < ELEMENTSOF(slots); i++)
                slots[i] = sd_bus_slot_unref(slots[i]);
        (void) sd_bus_detach_event(bus);
        return r;
}
