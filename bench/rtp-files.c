/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bench/rtp-files.c - the small-file workload of bench/run-rtp-bench.sh.
 *
 *   rtp-files make DIR N [--size MIN:MAX]   write N small files: DIR/dNNN/fNNNNN.txt, 500 a
 *                                           directory, MIN..MAX bytes each (default 200:600),
 *                                           text, the same bytes on every run
 *   rtp-files read DIR N [--out FILE]       open(O_RDONLY), read to EOF, close every one of them,
 *                                           in the order they were made
 *
 * read times the whole loop and every open() apart (CLOCK_MONOTONIC): a permission event holds
 * the opener inside open(), so the open's own time is what an on-access scanner adds per file.
 * It prints one JSON line (and appends it to FILE with --out):
 *   {"files":N,"errors":E,"bytes":B,"secs":S,"open_us_sum":..,"open_us_p50":..,"open_us_p99":..,
 *    "open_us_max":..,"max_file":"PATH","slow_opens_1ms":..,"slow_opens_10ms":..}
 * A file that cannot be opened or read counts in "errors" (the first three are named on stderr);
 * the exit status is 0 all the same, so a timed run goes on.
 * Paths are made from DIR and N, so no directory is listed while timing.
 * Build: cc -O2 -Wall -o rtp-files rtp-files.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PER_DIR 500

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void file_path(char *buf, size_t len, const char *dir, long i) {
        snprintf(buf, len, "%s/d%03ld/f%05ld.txt", dir, i / PER_DIR, i);
}

/* A small deterministic generator: file i gets the same bytes on every run. */
static uint32_t next_rand(uint32_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

static const char *const words[] = {
        "static", "int", "return", "const", "char", "buffer", "length", "struct", "value",
        "error", "file", "open", "read", "write", "close", "config", "include", "define",
        "pointer", "size", "index", "count", "result", "status", "flags", "mount", "event",
};

static int make_files(const char *dir, long n, long min, long max) {
        char path[4096], text[8192];

        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "rtp-files: mkdir %s: %s\n", dir, strerror(errno));
                return 1;
        }
        for (long i = 0; i < n; i++) {
                uint32_t s = (uint32_t) i * 2654435761u + 1u;
                long want = min + (long) (next_rand(&s) % (uint32_t) (max - min + 1)), len = 0;
                int fd;

                if (i % PER_DIR == 0) {
                        snprintf(path, sizeof(path), "%s/d%03ld", dir, i / PER_DIR);
                        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                                fprintf(stderr, "rtp-files: mkdir %s: %s\n", path, strerror(errno));
                                return 1;
                        }
                }
                len = snprintf(text, sizeof(text), "/* file %ld */\n", i);
                while (len < want) {
                        const char *w = words[next_rand(&s) % (sizeof(words) / sizeof(words[0]))];
                        len += snprintf(text + len, sizeof(text) - (size_t) len, "%s%s", w,
                                        next_rand(&s) % 8 == 0 ? ";\n" : " ");
                }
                len = want;
                text[len - 1] = '\n';
                file_path(path, sizeof(path), dir, i);
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || write(fd, text, (size_t) len) != len) {
                        fprintf(stderr, "rtp-files: %s: %s\n", path, strerror(errno));
                        return 1;
                }
                close(fd);
        }
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static int read_files(const char *dir, long n, const char *out) {
        uint64_t *open_ns = calloc((size_t) n, sizeof(*open_ns));
        uint64_t t0, t1, sum = 0, bytes = 0, max = 0, slow1 = 0, slow10 = 0;
        long errors = 0, done = 0, max_i = -1;
        char path[4096], buf[65536], line[8192];
        FILE *f;

        if (!open_ns)
                return 1;
        t0 = now_ns();
        for (long i = 0; i < n; i++) {
                uint64_t a, b;
                ssize_t k;
                int fd;

                file_path(path, sizeof(path), dir, i);
                a = now_ns();
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                b = now_ns();
                open_ns[done++] = b - a;
                sum += b - a;
                if (b - a > max) {
                        max = b - a;
                        max_i = i;
                }
                slow1 += b - a >= 1000000u;
                slow10 += b - a >= 10000000u;
                if (fd < 0) {
                        if (errors++ < 3)
                                fprintf(stderr, "rtp-files: open %s: %s\n", path, strerror(errno));
                        continue;
                }
                while ((k = read(fd, buf, sizeof(buf))) > 0)
                        bytes += (uint64_t) k;
                if (k < 0 && errors++ < 3)
                        fprintf(stderr, "rtp-files: read %s: %s\n", path, strerror(errno));
                close(fd);
        }
        t1 = now_ns();
        qsort(open_ns, (size_t) done, sizeof(*open_ns), cmp_u64);
        if (max_i >= 0)
                file_path(path, sizeof(path), dir, max_i);
        else
                path[0] = '\0';
        snprintf(line, sizeof(line),
                 "{\"files\":%ld,\"errors\":%ld,\"bytes\":%" PRIu64 ",\"secs\":%.6f,"
                 "\"open_us_sum\":%.1f,\"open_us_p50\":%.1f,\"open_us_p99\":%.1f,"
                 "\"open_us_max\":%.1f,\"max_file\":\"%s\",\"slow_opens_1ms\":%" PRIu64 ","
                 "\"slow_opens_10ms\":%" PRIu64 "}\n",
                 n, errors, bytes, (double) (t1 - t0) / 1e9, (double) sum / 1e3,
                 done ? (double) open_ns[done / 2] / 1e3 : 0.0,
                 done ? (double) open_ns[(size_t) ((double) done * 0.99)] / 1e3 : 0.0,
                 (double) max / 1e3, path, slow1, slow10);
        free(open_ns);
        fputs(line, stdout);
        if (out) {
                if (!(f = fopen(out, "a"))) {
                        fprintf(stderr, "rtp-files: %s: %s\n", out, strerror(errno));
                        return 1;
                }
                fputs(line, f);
                fclose(f);
        }
        return 0;
}

static int usage(void) {
        fputs("usage: rtp-files make DIR N [--size MIN:MAX] | read DIR N [--out FILE]\n", stderr);
        return 2;
}

int main(int argc, char **argv) {
        const char *out = NULL;
        long n, min = 200, max = 600;

        if (argc < 4)
                return usage();
        n = strtol(argv[3], NULL, 10);
        if (n <= 0)
                return usage();
        for (int i = 4; i < argc; i++) {
                if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
                        out = argv[++i];
                else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc &&
                         sscanf(argv[++i], "%ld:%ld", &min, &max) == 2 && min > 16 &&
                         max >= min && max < 8000)
                        ;
                else
                        return usage();
        }
        if (strcmp(argv[1], "make") == 0)
                return make_files(argv[2], n, min, max);
        if (strcmp(argv[1], "read") == 0)
                return read_files(argv[2], n, out);
        return usage();
}
