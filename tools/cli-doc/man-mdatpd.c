/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mdatpd(8): mostly fixed prose, with the paths this build was configured with and the polkit
 * actions read from the project's .policy file, so that neither can drift from what is
 * installed. Owns no state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli-doc.h"
#include "roff.h"
#include "util/fileio.h"
#include "util/macro.h"

/* MDATP_VERSION, MDATP_STATE_DIR_DEFAULT, MDATP_MANAGED_DIR_DEFAULT, MDATPD_PATH. */
#include "config.h"
/* MDATP_DEFINITIONS_SHIPPED_DIR, MDATP_DEFINITIONS_PUBLIC_KEY_PATH, MDATP_DEFINITIONS_STORE_DIR. */
#include "definitions-config.h"

#define POLICY_SIZE_MAX (256 * 1024)

/* The text between open and close after *p, advancing *p past it; NULL when absent. */
static const char *policy_between(const char **p, const char *open, const char *close,
                                  size_t *ret_len) {
        const char *s = strstr(*p, open), *e;

        if (!s)
                return NULL;
        s += strlen(open);
        e = strstr(s, close);
        if (!e)
                return NULL;
        *p = e + strlen(close);
        *ret_len = (size_t) (e - s);
        return s;
}

/* A tagged paragraph per `<action id="...">` of the policy, with its description. The file is
 * ours and flat, so finding the two strings in order is enough; anything else is -EBADMSG. */
static int man_polkit_actions(FILE *f, const char *policy) {
        const char *p = policy;
        size_t n_actions = 0;

        for (;;) {
                const char *id, *description;
                size_t id_len, description_len;

                id = policy_between(&p, "<action id=\"", "\"", &id_len);
                if (!id)
                        break;
                description = policy_between(&p, "<description>", "</description>",
                                             &description_len);
                if (!description)
                        return -EBADMSG;
                (void) fputs(".TP\n.B ", f);
                roff_escape_n(f, id, id_len);
                (void) fputs("\n\\&", f);
                roff_escape_n(f, description, description_len);
                (void) fputs(".\n", f);
                n_actions++;
        }
        return n_actions > 0 ? 0 : -EBADMSG;
}

static const char man_head[] =
".SH NAME\n"
"mdatpd \\- endpoint protection daemon\n"
".SH SYNOPSIS\n"
".B mdatpd\n"
"[\\fIoptions\\fR]\n"
".SH DESCRIPTION\n"
".B mdatpd\n"
"protects the machine it runs on: real\\-time protection (files are scanned when they are\n"
"opened or executed, and refused when they carry a threat), on\\-demand scans, detection\n"
"with signed security intelligence updated over HTTPS, remediation into a quarantine, and\n"
"exclusions.\n"
"It runs as root and publishes the name\n"
".B com.microsoft.Mdatp1\n"
"on the D\\-Bus system bus; the\n"
".BR mdatp (1)\n"
"command, busctl and configuration\\-management modules talk to it there.\n"
".PP\n"
"Settings come from three layers: built\\-in defaults, local changes (made with\n"
".BR mdatp (1)\n"
"or over D\\-Bus, kept in the state directory) and the managed policy, which wins and locks\n"
"what it sets (see\n"
".BR mdatp_managed.json (5)).\n"
"The managed policy is watched and applied a moment after it is written; a policy that does\n"
"not parse or validate changes nothing and is reported in\n"
".BR \"mdatp health\" .\n"
".SH OPTIONS\n"
".TP\n"
"\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n"
"Print a short help.\n"
".TP\n"
".B \\-\\-version\n"
"Print the version.\n"
".TP\n"
"\\fB\\-\\-state\\-dir=\\fR\\fIdir\\fR\n"
"The state directory.\n"
".TP\n"
"\\fB\\-\\-managed\\-dir=\\fR\\fIdir\\fR\n"
"The directory of\n"
".IR mdatp_managed.json .\n"
".TP\n"
"\\fB\\-\\-shipped\\-definitions=\\fR\\fIdir\\fR\n"
"The definition pack installed with the product.\n"
".TP\n"
"\\fB\\-\\-definitions\\-key=\\fR\\fIpem\\fR\n"
"The public key that signs definition packs.\n"
".TP\n"
"\\fB\\-\\-log\\-level=\\fR\\fIlevel\\fR\n"
"One of error, warning, info, verbose, debug.\n"
".PP\n"
"The defaults are the paths under FILES; the daemon is normally started without options.\n"
".SH \"RUNNING\"\n"
"The daemon is run by systemd as\n"
".BR mdatp.service ,\n"
"a\n"
".B Type=notify\n"
"unit: it tells systemd when it serves its bus name.\n"
"It is also started by D\\-Bus activation: the first call to\n"
".B com.microsoft.Mdatp1\n"
"starts\n"
".BR mdatp.service .\n"
"It logs to the journal under systemd (it recognises\n"
".B JOURNAL_STREAM\n"
"in its environment) and to standard error otherwise.\n"
".SH SIGNALS\n"
".TP\n"
".B SIGHUP\n"
"Reload the managed policy and the definitions\n"
"(\\fBsystemctl reload mdatp\\fR).\n"
".TP\n"
"\\fBSIGTERM\\fR, \\fBSIGINT\\fR\n"
"Stop (\\fBsystemctl stop mdatp\\fR).\n"
".SH ENVIRONMENT\n"
"Set these with a drop\\-in for\n"
".B mdatp.service\n"
"(\\fBsystemctl edit mdatp\\fR):\n"
".TP\n"
".B MDATP_UPDATE_CA_FILE\n"
"A file of CA certificates to trust instead of the system's, for a definitions mirror whose\n"
"certificate comes from a private authority.\n"
".TP\n"
".B MDATP_RTP_TIMEOUT_MS\n"
"The deadline of a real\\-time protection decision in milliseconds (default 3000, at most\n"
"600000); an open whose scan takes longer is allowed and counted.\n"
".PP\n"
".BR MDATP_RTP_MOUNTS ,\n"
".BR MDATP_RTP_SELF_CHECK_PID ,\n"
".BR MDATP_SCAN_QUICK_PATHS ,\n"
".BR MDATP_SCAN_FULL_ROOTS ,\n"
".B MDATP_UPDATE_INTERVAL\n"
"and\n"
".B MDATP_UPDATE_LOW_SPEED_TIME\n"
"exist for the test suite and its sandbox, which confine the daemon to the files they plant.\n"
"Do not set them on a protected machine: they narrow what is protected.\n";

/* FILES, with the paths this build was configured with. */
static void man_files(FILE *f) {
        static const struct {
                const char *path;
                const char *what;
        } files[] = {
                { MDATPD_PATH, "The daemon." },
                { MDATP_MANAGED_DIR_DEFAULT "/mdatp_managed.json",
                  "The managed policy, see mdatp_managed.json(5)." },
                { MDATP_STATE_DIR_DEFAULT,
                  "The state directory: local settings, log level, threat history, scan "
                  "history, the verdict cache and the quarantine." },
                { MDATP_DEFINITIONS_STORE_DIR,
                  "Installed security intelligence: the current and the previous pack." },
                { MDATP_DEFINITIONS_SHIPPED_DIR,
                  "The definition pack shipped with the product, used when no installed pack "
                  "verifies." },
                { MDATP_DEFINITIONS_PUBLIC_KEY_PATH,
                  "The public key every definition pack must be signed with." },
        };

        (void) fputs(".SH FILES\n", f);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                (void) fputs(".TP\n.I ", f);
                roff_escape(f, files[i].path);
                (void) fputc('\n', f);
                roff_line(f, files[i].what);
                (void) fputc('\n', f);
        }
}

int man_mdatpd(FILE *f, const char *polkit_policy_path) {
        _cleanup_free_ char *policy = NULL;
        int r;

        r = read_file_full(polkit_policy_path, POLICY_SIZE_MAX, &policy, NULL);
        if (r < 0)
                return r;

        roff_header(f, "mdatpd", "8", MDATP_VERSION);
        (void) fputs(man_head, f);
        man_files(f);
        (void) fputs(".SH AUTHORIZATION\n"
                     "Reading (health, lists, settings, statistics) is open to every local "
                     "user.\nChanges are allowed to root at once, and to other users when "
                     "polkit grants the\naction that covers them:\n", f);
        r = man_polkit_actions(f, policy);
        if (r < 0)
                return r;
        (void) fputs(".SH \"SEE ALSO\"\n.BR mdatp (1),\n.BR mdatp_managed.json (5),\n"
                     ".BR systemctl (1),\n.BR polkit (8)\n", f);
        return 0;
}
