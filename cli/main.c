/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mdatp, the command-line client of mdatpd: main(), which rewrites legacy and global arguments,
 * dispatches through the command tree (root.c), and turns the result into the exit status (0
 * success, 1 failed operation, 2 usage error, 3 daemon unreachable).
 *
 * The client never calls setlocale(): its output is the C locale's, like the scripts that parse
 * the reference client expect.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "report.h"
#include "util/macro.h"

int main(int argc, char *argv[]) {
        _cleanup_free_ char **args = NULL;
        bool json = false;
        int n, r;

        r = args_rewrite_legacy(argc - 1, argv + 1, &n, &args);
        if (r < 0)
                return report_exit_status(report_error(CLI_EXIT_FAILURE, r, "Out of memory."));

        r = args_extract_output(&n, args, &json);
        if (r >= 0) {
                if (n > 0 && (streq(args[0], "--help") || streq(args[0], "-h")))
                        args[0] = (char *) "help";
                r = args_dispatch(cli_root(), n, args, json);
        }

        /* Output that did not reach its reader (full disk, closed pipe) is a failure too. */
        if (fflush(stdout) != 0 && r >= 0)
                r = report_error(CLI_EXIT_FAILURE, negative_errno(), "Failed to write output: %s",
                                 strerror(errno));
        return report_exit_status(r);
}
