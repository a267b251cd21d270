/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli-doc: writes one generated file on stdout (see cli-doc.h).
 *
 *   cli-doc mdatp.1                 the client's man page
 *   cli-doc mdatpd.8 POLICY         the daemon's man page; POLICY is the polkit .policy file
 *   cli-doc completion              the bash completion of mdatp
 *   cli-doc leaves                  `path<TAB>usage` per leaf, for the tests
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-doc.h"
#include "util/macro.h"

/* `path<TAB>usage` of a leaf. */
static int leaf_line(const CliVerb *v, const char *path, int depth, void *userdata) {
        if (v->run)
                printf("%s\t%s\n", path, v->usage ?: "");
        return 0;
}

static int run(int argc, char *argv[]) {
        if (argc == 2 && streq(argv[1], "mdatp.1"))
                return man_mdatp(stdout);
        if (argc == 3 && streq(argv[1], "mdatpd.8"))
                return man_mdatpd(stdout, argv[2]);
        if (argc == 2 && streq(argv[1], "completion"))
                return completion_bash(stdout);
        if (argc == 2 && streq(argv[1], "leaves"))
                return cli_walk(cli_root(), leaf_line, NULL);
        fprintf(stderr, "Usage: cli-doc mdatp.1 | mdatpd.8 POLICY | completion | leaves\n");
        return -EINVAL;
}

int main(int argc, char *argv[]) {
        int r;

        r = run(argc, argv);
        if (r < 0) {
                fprintf(stderr, "cli-doc: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        /* A truncated page must fail the build, not install. */
        if (fflush(stdout) != 0) {
                fprintf(stderr, "cli-doc: failed to write: %m\n");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
