/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `mdatp scan` verbs (see scan.h): argument checks, the ScanManager calls, and the report of
 * a finished scan. Owns no state: the bus connection lives for one verb; following a running scan
 * is scan-follow.c's, formatting scan-format.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus.h"
#include "report.h"
#include "scan.h"
#include "util/macro.h"
#include "util/strv.h"

/* What to scan: the arguments of ScanManager.Start. */
typedef struct ScanRequest {
        const char *kind;               /* quick, full, custom */
        char **paths;                   /* custom: absolute paths; else NULL */
        bool ignore_exclusions;
} ScanRequest;

/* ScanManager.Start(kind, paths, {"ignore_exclusions": b}); the new scan's object in *ret_path
 * (caller frees). Reports failures (Error.Busy: the daemon's message as is). */
static int scan_start(sd_bus *bus, const ScanRequest *req, char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        r = bus_new_call(bus, MDATP_OBJECT_SCANS, MDATP_IFACE_SCAN_MANAGER, "Start", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", req->kind);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, req->paths);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 1, "ignore_exclusions", "b",
                                          (int) req->ignore_exclusions);
        if (r < 0)
                return bus_report_append(r);
        r = bus_call(bus, m, BUS_WHAT_START_SCAN, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return bus_report_bad_reply(r);
        *ret_path = strdup(path);
        if (!*ret_path)
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");
        return 0;
}

/* Prints how the scan ended and returns the command's result: 0 when it succeeded (threats or
 * not) and every threat was recorded and remediated as the policy asks, < 0 with exit status 1
 * when it was cancelled or failed, or some threats wait to be recorded or remediated. */
static int scan_report(const ScanInfo *info, bool json) {
        _cleanup_free_ char *out = NULL;
        bool cancelled = streq_ptr(info->state, "cancelled");
        bool succeeded = streq_ptr(info->state, "succeeded");
        int r;

        if (json)
                r = scan_format_json(info, &out);
        else if (succeeded || cancelled)
                r = scan_format_summary(info, &out);
        else
                r = 0;
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Out of memory.");
        if (out)
                printf("%s%s", out, json ? "\n" : "");

        if (succeeded && info->threats_failed > 0)
                return report_error(CLI_EXIT_FAILURE, -EIO, "%" PRIu64 " of the threats found "
                                    "could not be recorded or remediated yet: %s",
                                    info->threats_failed, "see 'mdatp health'");
        if (succeeded)
                return 0;
        if (cancelled)
                return report_status_only(CLI_EXIT_FAILURE, -ECANCELED);
        if (streq_ptr(info->state, "failed"))
                return report_error(CLI_EXIT_FAILURE, -EIO, "Scan failed: %s",
                                    isempty(info->error) ? "unknown error" : info->error);
        return report_error(CLI_EXIT_FAILURE, -EIO, "Scan ended in an unknown state '%s'.",
                            info->state ?: "");
}

/* Starts the scan req describes and follows it to its end. */
static int scan_execute(const CliInvocation *inv, const ScanRequest *req) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(scan_info_done) ScanInfo info = SCAN_INFO_INIT;
        _cleanup_free_ char *path = NULL;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        /* Before Start: a Ctrl-C from now on cancels the scan rather than orphaning it. */
        r = scan_follow_block_signals();
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to block signals: %s",
                                    strerror(-r));
        r = scan_start(bus, req, &path);
        if (r < 0)
                return r;
        r = scan_follow(bus, path, !inv->json && isatty(STDOUT_FILENO), &info);
        if (r < 0)
                return r;
        return scan_report(&info, inv->json);
}

/* `scan quick`, `scan full`: userdata is the kind. */
static int scan_kind_run(const CliInvocation *inv) {
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        return scan_execute(inv, &(ScanRequest) { .kind = inv->verb->userdata });
}

/* The paths of `scan custom` made absolute against the working directory, in *ret. */
static int scan_custom_paths(const CliInvocation *inv, const char * const *given, size_t n,
                             char ***ret) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *cwd = NULL;

        for (size_t i = 0; i < n; i++) {
                char *p;
                int r;

                if (isempty(given[i]))
                        return args_usage_error(inv, "Option --path needs a non-empty value.");
                if (given[i][0] != '/' && !cwd) {
                        cwd = getcwd(NULL, 0);
                        if (!cwd) {
                                r = negative_errno();
                                return report_error(CLI_EXIT_FAILURE, r,
                                                    "Failed to get the working directory: %s",
                                                    strerror(-r));
                        }
                }
                /* getcwd() gives a relative "(unreachable)/..." outside our root: -EINVAL. */
                r = scan_path_absolute(cwd, given[i], &p);
                if (r >= 0)
                        r = strv_consume(&paths, p);
                if (r < 0)
                        return report_error(CLI_EXIT_FAILURE, r,
                                            "Failed to make '%s' an absolute path: %s", given[i],
                                            strerror(-r));
        }
        *ret = TAKE_PTR(paths);
        return 0;
}

static int scan_custom_run(const CliInvocation *inv) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ const char **given = NULL;
        CliFlag flags[] = {
                { .name = "--path", .required = true },
                { .name = "--ignore-exclusions", .is_switch = true },
        };
        int r;

        given = calloc((size_t) inv->argc + 1, sizeof(char *));
        if (!given)
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");
        flags[0].values = given;
        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        r = scan_custom_paths(inv, given, flags[0].n_values, &paths);
        if (r < 0)
                return r;
        return scan_execute(inv, &(ScanRequest) {
                .kind = "custom",
                .paths = paths,
                .ignore_exclusions = flags[1].value != NULL,
        });
}

static int scan_cancel_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int cancelled, r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_new_call(bus, MDATP_OBJECT_SCANS, MDATP_IFACE_SCAN_MANAGER, "CancelRunning", &m);
        if (r < 0)
                return r;
        r = bus_call(bus, m, BUS_WHAT_CANCEL_SCAN, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "b", &cancelled);
        if (r < 0)
                return bus_report_bad_reply(r);
        printf("%s\n", cancelled ? "Scan cancelled" : "No scan is running");
        return 0;
}

static int scan_list_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(scan_info_list_done) ScanInfoList l = SCAN_INFO_LIST_INIT;
        _cleanup_free_ char *out = NULL;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = bus_call_no_args(MDATP_OBJECT_SCANS, MDATP_IFACE_SCAN_MANAGER, "List", BUS_WHAT_READ_SCANS, &bus, &reply);
        if (r < 0)
                return r;
        r = scan_info_list_read(reply, &l);
        if (r < 0)
                return bus_report_bad_reply(r);
        r = inv->json ? scan_format_list_json(&l, &out) : scan_format_list_text(&l, &out);
        return bus_print_formatted(r, out, inv->json, "scans");
}

const CliVerb scan_verbs[] = {
        { .name = "cancel", .description = "Cancel the running on-demand scan",
          .run = scan_cancel_run },
        { .name = "custom", .description = "Scan files and directories",
          .usage = "--path <path> [--path <path> ...] [--ignore-exclusions]",
          .run = scan_custom_run },
        { .name = "full", .description = "Scan every local file system",
          .run = scan_kind_run, .userdata = "full" },
        { .name = "list", .description = "History of on-demand scans", .usage = "[--output json]",
          .run = scan_list_run },
        { .name = "quick", .description = "Scan the places malware usually lives",
          .run = scan_kind_run, .userdata = "quick" },
        {}
};
