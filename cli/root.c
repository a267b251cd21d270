/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The root of mdatp's command tree, and its two leaves that belong to no group (`help`,
 * `version`). The tree lives in a library, not beside main(), so that the build-time generators
 * of the man page and the bash completion walk the very table the client dispatches on. Owns no
 * mutable state.
 */
#include <stdio.h>

#include <systemd/sd-bus.h>

#include "args.h"
#include "config-verbs.h"
#include "definitions.h"
#include "diagnostic.h"
#include "exclusion.h"
#include "health.h"
#include "mdatp-bus.h"
#include "scan.h"
#include "threat.h"
#include "util/macro.h"

/* The build's configuration: MDATP_VERSION. */
#include "config.h"

static int help_run(const CliInvocation *inv);
static int version_run(const CliInvocation *inv);

static const CliVerb root_children[] = {
        { .name = "config", .description = "Change the product's settings",
          .children = config_verbs },
        { .name = "connectivity", .description = "Check the update endpoints",
          .children = connectivity_verbs },
        { .name = "definitions", .description = "Security intelligence updates",
          .children = definitions_verbs },
        { .name = "diagnostic", .description = "Diagnostics",
          .children = diagnostic_verbs },
        { .name = "edr", .description = "Endpoint detection and response settings",
          .children = edr_verbs },
        { .name = "exclusion", .description = "Antivirus exclusions",
          .children = exclusion_verbs },
        { .name = "health", .description = "Product health and effective settings",
          .usage = "[--field <name>] [--details antivirus|definitions|edr|features|help]",
          .run = health_run },
        { .name = "help", .description = "This list", .run = help_run },
        { .name = "log", .description = "Logging", .children = log_verbs },
        { .name = "scan", .description = "On-demand scans", .children = scan_verbs },
        { .name = "threat", .description = "Detected threats (protection history)",
          .children = threat_verbs },
        { .name = "version", .description = "Product version", .run = version_run },
        {}
};

static const CliVerb root = {
        .name = "mdatp",
        .children = root_children,
};

static int help_run(const CliInvocation *inv) {
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;

        printf("Usage: mdatp <group> <command> [options] [--output json]\n\n");
        args_print_children(stdout, cli_root());
        return 0;
}

/* The daemon's version when it answers, else the client's own: `version` never fails, so that
 * inventory scripts get an answer on a machine whose daemon is down. */
static int version_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;

        if (sd_bus_open_system(&bus) >= 0)
                (void) sd_bus_get_property_string(bus, MDATP_BUS_NAME, MDATP_OBJECT_ROOT,
                                                  MDATP_IFACE_HEALTH, "AppVersion", &error,
                                                  &version);
        printf("Product version: %s\n", version && *version ? version : MDATP_VERSION);
        return 0;
}

const CliVerb *cli_root(void) {
        return &root;
}
