/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mdatp definitions update, mdatp definitions restore and mdatp connectivity test: each one call
 * to com.microsoft.Mdatp1.Definitions. Update and the connectivity test wait on the network, so
 * they get a longer D-Bus timeout than the daemon's own transfer limits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "definitions.h"
#include "mdatp-bus.h"
#include "report.h"
#include "util/strv.h"

#define NETWORK_CALL_USEC (UINT64_C(15) * 60 * 1000000)

static int definitions_update_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *outcome, *version;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = bus_call_no_args_timeout(MDATP_OBJECT_DEFINITIONS, MDATP_IFACE_DEFINITIONS, "Update",
                                     NETWORK_CALL_USEC, BUS_WHAT_UPDATE_DEFINITIONS, &bus,
                                     &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "ss", &outcome, &version);
        if (r < 0)
                return bus_report_bad_reply(r);
        /* The reference's wording, which scripts look for. */
        if (strcmp(outcome, "up_to_date") == 0)
                printf("Security intelligence is up to date\n");
        else
                printf("Security intelligence updated to version %s\n", version);
        return 0;
}

static int definitions_restore_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *version;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = bus_call_no_args(MDATP_OBJECT_DEFINITIONS, MDATP_IFACE_DEFINITIONS, "Restore",
                             BUS_WHAT_RESTORE_DEFINITIONS, &bus, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &version);
        if (r < 0)
                return bus_report_bad_reply(r);
        printf("Security intelligence restored to the shipped version %s\n", version);
        return 0;
}

static int connectivity_test_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        uint32_t failures;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = bus_call_no_args_timeout(MDATP_OBJECT_DEFINITIONS, MDATP_IFACE_DEFINITIONS,
                                     "TestConnectivity", NETWORK_CALL_USEC,
                                     BUS_WHAT_TEST_CONNECTIVITY, &bus, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(reply, &lines);
        if (r >= 0)
                r = sd_bus_message_read(reply, "u", &failures);
        if (r < 0)
                return bus_report_bad_reply(r);
        for (char **l = lines; l && *l; l++)
                printf("%s\n", *l);
        if (failures > 0)
                return report_status_only(CLI_EXIT_FAILURE, -EHOSTUNREACH);
        return 0;
}

const CliVerb definitions_verbs[] = {
        { .name = "restore", .description = "Roll back to the definitions shipped with the product",
          .run = definitions_restore_run },
        { .name = "update", .description = "Update security intelligence now",
          .run = definitions_update_run },
        {}
};

const CliVerb connectivity_verbs[] = {
        { .name = "test", .description = "Check the configured update endpoints",
          .run = connectivity_test_run },
        {}
};
