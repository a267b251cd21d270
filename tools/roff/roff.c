/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * roff escaping and the page header for the generated man pages (see roff.h). Owns no state.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "roff.h"

void roff_escape(FILE *f, const char *s) {
        roff_escape_n(f, s, s ? strlen(s) : 0);
}

void roff_escape_n(FILE *f, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                switch (s[i]) {
                case '\\':
                        (void) fputs("\\e", f);
                        break;
                case '-':
                        (void) fputs("\\-", f);
                        break;
                default:
                        (void) fputc(s[i], f);
                }
}

void roff_line(FILE *f, const char *s) {
        (void) fputs("\\&", f);
        roff_escape(f, s);
}

void roff_header(FILE *f, const char *name, const char *section, const char *version) {
        (void) fputs(".TH \"", f);
        for (const char *p = name; *p; p++)
                (void) fputc(toupper((unsigned char) *p), f);
        (void) fprintf(f, "\" \"%s\" \"\" \"mdatp %s\" \"mdatp\"\n", section, version);
}
