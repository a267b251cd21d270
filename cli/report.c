/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error reporting for the mdatp client: owns the recorded exit status of this process (one
 * variable, set by the first report). Nothing else here keeps state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* -1 until the first failure is reported. */
static int report_status = -1;

int report_error(CliExit status, int r, const char *format, ...) {
        va_list ap;

        if (r >= 0)
                r = -EIO;
        if (report_status >= 0)
                return r;

        report_status = status;
        va_start(ap, format);
        (void) vfprintf(stderr, format, ap);
        va_end(ap);
        (void) fputc('\n', stderr);
        return r;
}

int report_status_only(CliExit status, int r) {
        if (r >= 0)
                r = -EIO;
        if (report_status < 0)
                report_status = status;
        return r;
}

bool report_pending(void) {
        return report_status >= 0;
}

int report_exit_status(int r) {
        if (r >= 0)
                return CLI_EXIT_SUCCESS;
        if (report_status < 0)
                (void) report_error(CLI_EXIT_FAILURE, r, "Failed: %s", strerror(-r));
        return report_status;
}

void report_reset(void) {
        report_status = -1;
}
