/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs a libFuzzer-style target (LLVMFuzzerTestOneInput) once on every regular file in the
 * directories (or files) named on the command line, so seed corpora run as ordinary tests in a
 * gcc build, under ASan/UBSan and valgrind too. A crash or abort in the target fails the test.
 */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fileio.h"
#include "util/macro.h"

#define FUZZ_INPUT_MAX (4 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        _cleanup_free_ char *data = NULL, *copy = NULL;
        size_t size;
        int r;

        r = read_file_full(path, FUZZ_INPUT_MAX, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        /* An exact-size heap copy, so ASan and valgrind see reads past the end. */
        copy = malloc(MAX(size, (size_t) 1));
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, size);
        (void) LLVMFuzzerTestOneInput((const uint8_t *) copy, size);
        return 0;
}

static int compare_names(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, size_t *count) {
        struct dirent **entries = NULL;
        int n, r = 0;

        n = scandir(dir, &entries, NULL, compare_names);
        if (n < 0) {
                fprintf(stderr, "%s: %m\n", dir);
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (entries[i]->d_name[0] != '.' &&
                    asprintf(&path, "%s/%s", dir, entries[i]->d_name) >= 0 &&
                    lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        int q = run_file(path);
                        if (q < 0 && r == 0)
                                r = q;
                        (*count)++;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char **argv) {
        size_t count = 0;
        int r = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int q;

                if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
                        q = run_dir(argv[i], &count);
                else {
                        q = run_file(argv[i]);
                        count++;
                }
                if (q < 0 && r == 0)
                        r = q;
        }
        printf("%zu inputs run\n", count);
        /* An empty corpus tests nothing: treat it as a failure. */
        return r < 0 || count == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
