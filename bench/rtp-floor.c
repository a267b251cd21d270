/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * bench/rtp-floor.c - the least any fanotify permission-event scanner can cost, for
 * bench/run-rtp-bench.sh.
 *
 *   rtp-floor MOUNTPOINT [READY-FILE]
 *
 * One thread, one FAN_CLASS_CONTENT group with a mount mark for FAN_OPEN_PERM |
 * FAN_OPEN_EXEC_PERM on MOUNTPOINT: every event is answered FAN_ALLOW at once, after an inode
 * ignore mark on the file (FAN_MARK_EVICTABLE where the kernel has it), the same two system calls
 * a real scanner makes for a clean file, without the scan, the queue or any other thread. So an
 * open that raises an event costs here what the kernel round trip to user space costs on this
 * machine, and later opens of the same unchanged file raise none.
 * Writes "ready" to READY-FILE (or stdout) once the mount is marked; runs until SIGTERM/SIGINT.
 * On exit it prints "events=N" to stderr. Needs CAP_SYS_ADMIN.
 * Build: cc -O2 -Wall -o rtp-floor rtp-floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

int main(int argc, char **argv) {
        const uint64_t mask = FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM;
        unsigned evictable = FAN_MARK_EVICTABLE;
        struct sigaction sa = { .sa_handler = on_signal };
        char buf[16384] __attribute__((aligned(8)));
        unsigned long events = 0;
        int g;

        if (argc < 2 || argc > 3) {
                fputs("usage: rtp-floor MOUNTPOINT [READY-FILE]\n", stderr);
                return 2;
        }
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        g = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
                          O_RDONLY | O_LARGEFILE | O_CLOEXEC);
        if (g < 0 || fanotify_mark(g, FAN_MARK_ADD | FAN_MARK_MOUNT, mask, AT_FDCWD, argv[1]) < 0) {
                fprintf(stderr, "rtp-floor: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        if (argc == 3) {
                FILE *f = fopen(argv[2], "w");

                if (!f || fputs("ready\n", f) < 0 || fclose(f) != 0) {
                        fprintf(stderr, "rtp-floor: %s: %s\n", argv[2], strerror(errno));
                        return 1;
                }
        } else {
                puts("ready");
                fflush(stdout);
        }

        while (!stop) {
                struct pollfd p = { .fd = g, .events = POLLIN };
                struct fanotify_event_metadata *ev;
                ssize_t n;

                if (poll(&p, 1, -1) < 0)
                        continue;       /* EINTR: a signal, checked above */
                n = read(g, buf, sizeof(buf));
                if (n <= 0)
                        continue;
                for (ev = (void *) buf; FAN_EVENT_OK(ev, n); ev = FAN_EVENT_NEXT(ev, n)) {
                        struct fanotify_response r = { .fd = ev->fd, .response = FAN_ALLOW };

                        if (ev->fd < 0)
                                continue;
                        if (fanotify_mark(g, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | evictable,
                                          mask, ev->fd, NULL) < 0 && errno == EINVAL && evictable) {
                                evictable = 0;
                                (void) fanotify_mark(g, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK,
                                                     mask, ev->fd, NULL);
                        }
                        if (ev->mask & mask)
                                (void) write(g, &r, sizeof(r));
                        close(ev->fd);
                        events++;
                }
        }
        fprintf(stderr, "rtp-floor: events=%lu\n", events);
        close(g);
        return 0;
}
