/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mdatp(1): fixed prose around a COMMANDS section walked from the client's command table, so
 * that every group and leaf the client accepts is documented with the usage line it prints.
 * Owns no state.
 */
#include <errno.h>
#include <string.h>

#include "cli-doc.h"
#include "roff.h"
#include "util/macro.h"

/* The build's configuration: MDATP_VERSION, MDATP_MANAGED_DIR_DEFAULT, MDATP_STATE_DIR_DEFAULT. */
#include "config.h"

/* Whether p starts a word of capitals (`N`, `DIR`): a placeholder, like `<path>`. */
static size_t man_capitals(const char *usage, const char *p) {
        size_t n = strcspn(p, " []|");

        if (p != usage && !strchr(" [|", p[-1]))
                return 0;
        if (n == 0 || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
                return 0;
        return n;
}

/* A usage string with flags in bold and placeholders in italics. */
static void man_usage(FILE *f, const char *usage) {
        const char *p = usage;

        while (p && *p) {
                size_t n;

                if ((n = man_capitals(usage, p)) > 0) {
                        (void) fputs("\\fI", f);
                        roff_escape_n(f, p, n);
                        (void) fputs("\\fR", f);
                        p += n;
                } else if (*p == '<') {
                        n = strcspn(p + 1, ">");
                        (void) fputs("\\fI", f);
                        roff_escape_n(f, p + 1, n);
                        (void) fputs("\\fR", f);
                        p += 1 + n + (p[1 + n] == '>');
                } else if (strneq(p, "--", 2) && (p == usage || strchr(" [|", p[-1]))) {
                        n = strcspn(p, " []|");
                        (void) fputs("\\fB", f);
                        roff_escape_n(f, p, n);
                        (void) fputs("\\fR", f);
                        p += n;
                } else {
                        roff_escape_n(f, p, 1);
                        p++;
                }
        }
}

/* The tag line of a command: its full path in bold, then its usage. */
static void man_command_tag(FILE *f, const CliVerb *v, const char *path) {
        (void) fputs(".TP\n\\fBmdatp ", f);
        roff_escape(f, path);
        (void) fputs("\\fR", f);
        if (!v->run)
                (void) fputs(" \\fIcommand\\fR", f);
        else if (v->usage) {
                (void) fputc(' ', f);
                man_usage(f, v->usage);
        }
        (void) fputc('\n', f);
}

/* One entry of COMMANDS: a subsection per top-level name, a tagged paragraph per command. */
static int man_command(const CliVerb *v, const char *path, int depth, void *userdata) {
        FILE *f = userdata;

        if (depth == 1) {
                (void) fputs(".SS \"", f);
                roff_escape(f, v->name);
                (void) fputs("\"\n", f);
                if (!v->run)
                        return 0;
        }
        man_command_tag(f, v, path);
        roff_line(f, v->description ?: "");
        (void) fputs(v->run ? ".\n" : "; one of the commands below.\n", f);
        return 0;
}

static const char man_head[] =
".SH NAME\n"
"mdatp \\- command\\-line client of the mdatpd endpoint protection daemon\n"
".SH SYNOPSIS\n"
".B mdatp\n"
".I group\n"
"[\\fIcommand\\fR...] [\\fIoptions\\fR] [\\fB\\-\\-output json\\fR]\n"
".br\n"
".B mdatp\n"
".I group\n"
".B \\-\\-help\n"
".br\n"
".B mdatp help\n"
".SH DESCRIPTION\n"
".B mdatp\n"
"reads and changes the state of\n"
".BR mdatpd (8)\n"
"over the D\\-Bus system bus: product health, settings, on\\-demand scans, exclusions,\n"
"detected threats and the quarantine, security intelligence updates and diagnostics.\n"
"Every command is a thin call to the daemon; when the daemon cannot be reached, commands fail\n"
"with exit status 3 (except\n"
".BR \"mdatp version\" ,\n"
"which then prints the client's own version).\n"
".PP\n"
"Reading is open to every local user.\n"
"Commands that change state need root, or a polkit grant for the action that covers them\n"
"(see\n"
".BR mdatpd (8)).\n"
"A setting that the managed policy sets cannot be changed with\n"
".BR mdatp ;\n"
"such settings are shown with the suffix\n"
".B [managed]\n"
"(see\n"
".BR mdatp_managed.json (5)).\n"
".PP\n"
"A group given without a command, or with an unknown one, prints\n"
".B Expected one of:\n"
"followed by one line per command, its name and description separated by a tab.\n"
".SH COMMANDS\n";

static const char man_tail[] =
".SH OPTIONS\n"
"These options are accepted with every command.\n"
".TP\n"
"\\fB\\-\\-output json\\fR, \\fB\\-\\-output=json\\fR\n"
"Print machine\\-readable JSON instead of text.\n"
"The option may appear anywhere on the command line; no other value is accepted.\n"
".TP\n"
"\\fB\\-\\-help\\fR, \\fB\\-h\\fR\n"
"Print the commands of a group, or the usage and description of a command.\n"
"Given alone, the same as\n"
".BR \"mdatp help\" .\n"
".SS \"Legacy syntax\"\n"
"The syntax of older clients is still understood, for scripts written against them:\n"
".TP\n"
".B mdatp \\-\\-health\n"
"The same as\n"
".BR \"mdatp health\" .\n"
".TP\n"
"\\fBmdatp \\-\\-health\\fR \\fIfield\\fR\n"
"The same as\n"
"\\fBmdatp health \\-\\-field\\fR \\fIfield\\fR.\n"
".TP\n"
".B mdatp \\-\\-version\n"
"The same as\n"
".BR \"mdatp version\" .\n"
".SH \"EXIT STATUS\"\n"
".TP\n"
".B 0\n"
"Success.\n"
".TP\n"
".B 1\n"
"The operation failed: the daemon refused it, or its reply could not be used.\n"
"A scan also ends with 1 when it was cancelled or failed, or when threats it found could not be\n"
"recorded or remediated yet (the daemon retries; see\n"
".BR \"mdatp health\" ).\n"
".TP\n"
".B 2\n"
"Usage error: an unknown command or flag, a missing or invalid value.\n"
".TP\n"
".B 3\n"
"The daemon cannot be reached.\n"
".PP\n"
"A failed command prints one message on standard error; a usage error adds the usage of the\n"
"group or command below it.\n";

/* FILES, with the paths this build was configured with. */
static void man_files(FILE *f) {
        (void) fputs(".SH FILES\n.TP\n.I ", f);
        roff_escape(f, MDATP_MANAGED_DIR_DEFAULT "/mdatp_managed.json");
        (void) fputs("\nThe managed policy; settings it sets are locked against\n.BR mdatp .\n"
                     ".TP\n.I ", f);
        roff_escape(f, MDATP_STATE_DIR_DEFAULT);
        (void) fputs("\nThe daemon's state: local settings, threat history, quarantine, "
                     "definitions.\n", f);
}

int man_mdatp(FILE *f) {
        int r;

        roff_header(f, "mdatp", "1", MDATP_VERSION);
        (void) fputs(man_head, f);
        r = cli_walk(cli_root(), man_command, f);
        if (r < 0)
                return r;
        (void) fputs(man_tail, f);
        man_files(f);
        (void) fputs(".SH \"SEE ALSO\"\n.BR mdatpd (8),\n.BR mdatp_managed.json (5),\n"
                     ".BR busctl (1)\n", f);
        return 0;
}
