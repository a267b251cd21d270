/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mdatpd: start-up, the sd-event main loop, signals and readiness notification.
 *
 * Owns the process: arguments, signal mask, the bus context's lifetime (bus/, the manager's
 * one event subscriber). Everything else belongs to the Manager.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "bus/bus.h"
#include "config.h"
#include "definitions-config.h"
#include "manager.h"
#include "mdatp-bus.h"
#include "util/strv.h"

static const char *arg_state_dir = MDATP_STATE_DIR_DEFAULT;
static const char *arg_managed_dir = MDATP_MANAGED_DIR_DEFAULT;
static const char *arg_shipped_definitions = MDATP_DEFINITIONS_SHIPPED_DIR;
static const char *arg_definitions_key = MDATP_DEFINITIONS_PUBLIC_KEY_PATH;
static LogLevel arg_log_level = _LOG_LEVEL_INVALID;

static void help(void) {
        printf("mdatpd %s — endpoint protection daemon\n\n"
               "Publishes %s on the D-Bus system bus. Use the 'mdatp' command to talk to it.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n"
               "     --state-dir=DIR      State directory (default %s)\n"
               "     --managed-dir=DIR    Directory of mdatp_managed.json (default %s)\n"
               "     --shipped-definitions=DIR\n"
               "                          The definition pack installed with the product\n"
               "                          (default %s)\n"
               "     --definitions-key=PEM\n"
               "                          Public key that signs definition packs (default %s)\n"
               "     --log-level=LEVEL    error, warning, info, verbose or debug\n",
               MDATP_VERSION, MDATP_BUS_NAME, MDATP_STATE_DIR_DEFAULT,
               MDATP_MANAGED_DIR_DEFAULT, MDATP_DEFINITIONS_SHIPPED_DIR,
               MDATP_DEFINITIONS_PUBLIC_KEY_PATH);
}

/* Returns 1 to go on, 0 to exit successfully, < 0 on a usage error. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_STATE_DIR,
                ARG_MANAGED_DIR,
                ARG_SHIPPED_DEFINITIONS,
                ARG_DEFINITIONS_KEY,
                ARG_LOG_LEVEL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "managed-dir", required_argument, NULL, ARG_MANAGED_DIR },
                { "shipped-definitions", required_argument, NULL, ARG_SHIPPED_DEFINITIONS },
                { "definitions-key", required_argument, NULL, ARG_DEFINITIONS_KEY },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mdatpd %s\n", MDATP_VERSION);
                        return 0;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_MANAGED_DIR:
                        arg_managed_dir = optarg;
                        break;
                case ARG_SHIPPED_DEFINITIONS:
                        arg_shipped_definitions = optarg;
                        break;
                case ARG_DEFINITIONS_KEY:
                        arg_definitions_key = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        arg_log_level = log_level_from_string(optarg);
                        if (arg_log_level < 0) {
                                fprintf(stderr, "Invalid log level '%s'.\n", optarg);
                                return -EINVAL;
                        }
                        break;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                fprintf(stderr, "mdatpd takes no positional arguments.\n");
                return -EINVAL;
        }
        if (arg_state_dir[0] != '/' || arg_managed_dir[0] != '/') {
                fprintf(stderr, "--state-dir and --managed-dir need absolute paths.\n");
                return -EINVAL;
        }
        return 1;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Reloading the managed configuration and the definitions on SIGHUP.");
        (void) manager_reload_managed(m, NULL);
        /* Read and compiled on the executor, swapped in (and committed) when done; a failed
         * reload keeps the rules in force. The store is the update thread's while an update
         * runs. */
        (void) manager_load_definitions_async(m);
        return 0;
}

static int setup_signals(Manager *m) {
        sigset_t mask;
        int r;

        /* A peer that goes away mid-transfer (a mirror, a bus client) is an error to handle,
         * not a reason to die. */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return negative_errno();

        /* Signals arrive through signalfd on the main loop; no thread ever runs a handler. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();

        r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return r;
        return sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
}

static int setup_bus(Manager *m, BusContext **ret) {
        _cleanup_(bus_context_freep) BusContext *b = NULL;
        int r;

        (void) sd_bus_error_add_map(mdatp_bus_error_map);
        r = bus_context_new(m, &b);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus and register "
                                       "D-Bus objects: %m");
        r = sd_bus_attach_event(b->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        /* Without the bus nobody can reach us: exit and let the service manager restart. */
        r = sd_bus_set_exit_on_disconnect(b->bus, true);
        if (r < 0)
                return r;

        /* Objects first, then the name: a client that sees the name finds everything. */
        r = sd_bus_request_name(b->bus, MDATP_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "Another mdatpd already owns %s.", MDATP_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire %s (is the bus policy "
                                       "com.microsoft.Mdatp1.conf installed?): %m",
                                       MDATP_BUS_NAME);
        *ret = TAKE_PTR(b);
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        /* Freed before the manager (declared after it): it unsubscribes first. */
        _cleanup_(bus_context_freep) BusContext *b = NULL;
        int r;

        log_open();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        if (arg_log_level >= 0)
                log_set_level(arg_log_level);

        r = engine_global_init();
        if (r < 0)
                return log_error_errno(r, "Failed to initialise the detection engine: %m");
        r = update_global_init();
        if (r < 0)
                return log_error_errno(r, "Failed to initialise the update client: %m");

        r = manager_new(&(ManagerConfig) {
                                .state_dir = arg_state_dir,
                                .managed_dir = arg_managed_dir,
                                .shipped_definitions_dir = arg_shipped_definitions,
                                .definitions_key = arg_definitions_key,
                        }, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up: %m");

        r = setup_signals(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up signal handling: %m");
        r = manager_startup(m);
        if (r < 0)
                return r;
        /* The command line wins over a persisted level. */
        if (arg_log_level >= 0)
                log_set_level(arg_log_level);
        r = setup_bus(m, &b);
        if (r < 0)
                return r;

        log_info("mdatpd %s started (state '%s', managed policy '%s').", MDATP_VERSION,
                 m->state_dir, m->managed_path);
        (void) sd_notifyf(false, "READY=1\nMAINPID=%lu", (unsigned long) getpid());
        manager_rtp_notify_status(m);

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        log_info("mdatpd stopped.");
        return r == 0 ? 0 : -ECONNRESET;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        update_global_done();
        engine_global_done();
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
