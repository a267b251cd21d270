/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error reporting and exit statuses of the mdatp client.
 *
 * A failed command prints exactly one message on stderr (a usage error may add its usage lines
 * below it) and exits with a status that tells scripts what kind of failure it was. Functions
 * below main() never exit: they report once, where the failure is understood, and return a
 * negative errno; main() then asks report_exit_status() for the status recorded with the message.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "util/macro.h"

typedef enum CliExit {
        CLI_EXIT_SUCCESS = 0,
        CLI_EXIT_FAILURE = 1,           /* the operation failed (daemon said no, bad reply, ...) */
        CLI_EXIT_USAGE = 2,             /* unknown command or flag, missing or invalid value */
        CLI_EXIT_UNREACHABLE = 3,       /* the daemon cannot be reached */
        _CLI_EXIT_MAX,
        _CLI_EXIT_INVALID = -EINVAL,
} CliExit;

/* Prints the message (a trailing newline is added) on stderr and records status, unless an
 * earlier report did so already: only the first failure is shown. Returns r when it is negative,
 * -EIO otherwise, so that callers can write `return report_error(...)`. */
int report_error(CliExit status, int r, const char *format, ...) _printf_(3, 4);

/* Records status like report_error() but prints nothing: for an outcome the command's own output
 * already told (`Scan was cancelled`). Returns r when it is negative, -EIO otherwise. */
int report_status_only(CliExit status, int r);

/* Whether a failure has been reported. */
bool report_pending(void);

/* The exit status for the final result r of a command: 0 when r >= 0, else the recorded status.
 * A failure nobody reported (a bug or an allocation failure) is reported here, generically. */
int report_exit_status(int r);

/* Forgets the recorded failure; for tests. */
void report_reset(void);
