/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/rtp against the real kernel: each test mounts a tmpfs of its own, marks
 * only that mount (RtpConfig.mounts), and has files opened by another process, because the
 * process holding the Rtp is always allowed (`self`).
 *
 * Those other processes are this binary run again with --helper (open, exec, append, loop,
 * hold): fork + exec at once, so that under valgrind they run natively and fast, and report on
 * stdout. `hold` creates an Rtp of its own, for the tests of a second group (SIGKILL under
 * load, conflicting applications).
 *
 * Needs root (mount, fanotify permission events): without it every test fails, loudly. The run
 * has a mount namespace of its own, so its mounts go away with it whatever happens.
 * The EICAR test string is put together from two halves, so that this source never holds it
 * in one piece.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <valgrind/valgrind.h>

#include "rtp/rtp-internal.h"
#include "rtp/rtp.h"
#include "util/fileio.h"
#include "util/strv.h"
#include "../sample.h"

#define EICAR_HALF_1 "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR"
#define EICAR_HALF_2 "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#define EICAR_NAME "Virus:DOS/EICAR_Test_File"
#define MARKER "MDATP-RTP-TEST-HACKTOOL-MARKER"
#define MARKER_NAME "HackTool:Linux/RtpTestMarker"
#define MARKER_TYPE "hacktool"
#define HELPER_NAME "test-rtp"      /* comm of the helper processes */

static const char rules_text[] =
        "rule eicar_test {\n"
        "  meta:\n"
        "    threat_name = \"" EICAR_NAME "\"\n"
        "    threat_type = \"virus\"\n"
        "  strings:\n"
        "    $a = \"X5O!P%@AP[4\\\\PZX54(P^)7CC)7}$EICAR\"\n"
        "    $b = \"" EICAR_HALF_2 "\"\n"
        "  condition:\n"
        "    $a and $b\n"
        "}\n"
        "rule rtp_marker {\n"
        "  meta:\n"
        "    threat_name = \"" MARKER_NAME "\"\n"
        "    threat_type = \"" MARKER_TYPE "\"\n"
        "  strings:\n"
        "    $ = \"" MARKER "\"\n"
        "  condition:\n"
        "    any of them\n"
        "}\n";

static char self_path[PATH_MAX];        /* this binary, for the helpers */
static char base[96];                   /* holds the mount points: $TMPDIR/test-rtp-run-XXXXXX */
static char mnt[128];                   /* the test's tmpfs */
static EngineRules *rules;

static EngineRules *rules_compile(void) {
        const EngineRuleSource source = { "rtp", rules_text };
        EngineRules *r = NULL;

        if (engine_rules_new(&source, 1, NULL, 0, "test", &r, NULL) < 0)
                return NULL;
        return r;
}

/* ---------------------------------------------------------------------------------------------
 * Helpers run in other processes (argv[1] == "--helper")
 */

/* Starts `self --helper args...` with its stdout on a pipe; *ret_fd is the read end. Returns
 * the pid or -1. (No ck_assert here: helpers run outside the test runner.) */
static pid_t spawn_self(const char * const *args, int *ret_fd) {
        char *argv[64] = { self_path, (char *) "--helper" };
        size_t n = 2;
        int p[2];
        pid_t pid;

        for (; args[n - 2] && n < ELEMENTSOF(argv) - 1; n++)
                argv[n] = (char *) args[n - 2];
        argv[n] = NULL;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                execv(self_path, argv);
                _exit(127);
        }
        close(p[1]);
        if (pid < 0)
                close(p[0]);
        else
                *ret_fd = p[0];
        return pid;
}

/* Runs a helper to the end: its exit status (-1 when it could not run) and its whole output
 * (caller frees). */
static int run_self(const char * const *args, char **ret_out, pid_t *ret_pid) {
        int fd, status, r;
        pid_t pid = spawn_self(args, &fd);

        if (pid < 0)
                return -1;
        r = read_fd_full(fd, 0, 1 << 20, ret_out, NULL);
        close(fd);
        if (waitpid(pid, &status, 0) != pid || r < 0)
                return -1;
        if (ret_pid)
                *ret_pid = pid;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* open [-n] PATH...: prints one line per path, 0 or the errno of open(). -n: O_NONBLOCK. */
static int helper_open(int argc, char **argv) {
        int flags = O_RDONLY | O_CLOEXEC;

        if (argc > 0 && streq(argv[0], "-n")) {
                flags |= O_NONBLOCK;
                argc--, argv++;
        }
        for (int i = 0; i < argc; i++) {
                int fd = open(argv[i], flags);

                printf("%d\n", fd < 0 ? errno : 0);
                if (fd >= 0)
                        close(fd);
        }
        return 0;
}

static void *open_thread(void *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return (void *) (intptr_t) errno;
        close(fd);
        return NULL;
}

/* parallel PATH...: opens every path at once, one thread each; prints the number of failed
 * opens. */
static int helper_parallel(int argc, char **argv) {
        pthread_t threads[128];
        int failed = 0, n = MIN(argc, (int) ELEMENTSOF(threads));

        for (int i = 0; i < n; i++)
                if (pthread_create(&threads[i], NULL, open_thread, argv[i]) != 0)
                        return 1;
        for (int i = 0; i < n; i++) {
                void *result;

                pthread_join(threads[i], &result);
                failed += result != NULL;
        }
        printf("%d\n", failed);
        return 0;
}

/* exec PATH: runs it (a script that prints "ran") or prints the errno of execv(). */
static int helper_exec(char *path) {
        char *args[] = { path, NULL };

        fflush(stdout);
        execv(path, args);
        printf("%d\n", errno);
        return 0;
}

/* append PATH TEXT: prints 0 or the errno. */
static int helper_append(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        int r = 0;

        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                r = errno;
        if (fd >= 0)
                close(fd);
        printf("%d\n", r);
        return 0;
}

/* open(), timed: the longest so far goes to *longest; false when it failed. */
static bool timed_open(const char *path, int flags, uint64_t *longest) {
        uint64_t start = now_ms();
        int fd = open(path, flags | O_CLOEXEC);

        *longest = MAX(*longest, now_ms() - start);
        if (fd < 0)
                return false;
        if ((flags & O_ACCMODE) != O_RDONLY)
                (void) !write(fd, "x", 1);
        close(fd);
        return true;
}

/* loop DIR N MS: goes round DIR/f<i>, i < N, for at least MS milliseconds, each file opened
 * for writing (and written: the write clears its ignore mark) then for reading, so that every
 * round raises events again. Says "started" after the first open, then prints the number of
 * failed opens and the longest open in ms. */
static int helper_loop(const char *dir, int n, int ms) {
        uint64_t longest = 0, end = now_ms() + ms;
        int failed = 0;

        for (bool started = false; !started || now_ms() < end;) {
                for (int i = 0; i < n; i++) {
                        char path[PATH_MAX];

                        snprintf(path, sizeof(path), "%s/f%d", dir, i);
                        failed += !timed_open(path, O_WRONLY | O_APPEND, &longest);
                        failed += !timed_open(path, O_RDONLY, &longest);
                        if (!started) {
                                printf("started\n");
                                fflush(stdout);
                                started = true;
                        }
                }
        }
        printf("%d %llu\n", failed, (unsigned long long) longest);
        return 0;
}

/* overload MOUNT BIG FILE...: an Rtp of its own with one worker and a file table so small
 * (the hard limit, which cannot be raised again without CAP_SYS_RESOURCE: hence a helper) that
 * only RTP_QUEUE_MIN events can wait; BIG is opened by one process, hashed whole so that the
 * worker stays busy, and meanwhile the FILEs all at once by another. Prints the failed opens,
 * the overloads and the timeouts. */
static int helper_overload(char *mount, char *big, int argc, char **argv) {
        struct rlimit low = {
                .rlim_cur = RTP_QUEUE_MIN + 1 + 2 * RTP_FD_RESERVE,
                .rlim_max = RTP_QUEUE_MIN + 1 + 2 * RTP_FD_RESERVE,
        };
        char *mounts[] = { mount, NULL };
        RtpConfig config = {
                .block = true,
                .mounts = mounts,
                .engine_options = ENGINE_SCAN_OPTIONS_DEFAULT,
                .n_workers = 1,
                .timeout_ms = 60000,
        };
        const char *parallel[64] = { "parallel" };
        _cleanup_free_ char *out = NULL;
        RtpCounters c;
        Rtp *r = NULL;
        pid_t slow;
        int fd;

        config.engine_options.compute_hash = true;
        config.engine_options.max_hash_bytes = UINT64_MAX;
        if (setrlimit(RLIMIT_NOFILE, &low) < 0 || engine_global_init() < 0 ||
            !(config.rules = rules_compile()) || rtp_new(&config, &r) < 0)
                return 1;
        slow = spawn_self((const char *[]) { "open", big, NULL }, &fd);
        if (slow < 0)
                return 1;
        for (uint64_t deadline = now_ms() + 5000; rtp_get_counters(r, &c), c.events == 0;)
                if (now_ms() > deadline)
                        return 1;
        for (int i = 0; i < argc && i < (int) ELEMENTSOF(parallel) - 2; i++)
                parallel[i + 1] = argv[i];
        if (run_self(parallel, &out, NULL) != 0)
                return 1;
        rtp_get_counters(r, &c);
        printf("%d %llu %llu\n", atoi(out), (unsigned long long) c.overloads,
               (unsigned long long) c.timeouts);
        close(fd);
        (void) waitpid(slow, NULL, 0);
        rtp_free(r);
        engine_rules_unref(config.rules);
        engine_global_done();
        return 0;
}

/* hold MOUNT: an Rtp of its own on MOUNT; says "ready" and waits to be killed. */
static int helper_hold(char *mount) {
        char *mounts[] = { mount, NULL };
        RtpConfig config = {
                .block = true,
                .mounts = mounts,
                .engine_options = ENGINE_SCAN_OPTIONS_DEFAULT,
        };
        Rtp *r = NULL;

        if (engine_global_init() < 0 || !(config.rules = rules_compile()) ||
            rtp_new(&config, &r) < 0) {
                printf("failed\n");
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        for (;;)
                pause();
}

static int helper_main(int argc, char **argv) {
        if (argc >= 1 && streq(argv[0], "open"))
                return helper_open(argc - 1, argv + 1);
        if (argc >= 1 && streq(argv[0], "parallel"))
                return helper_parallel(argc - 1, argv + 1);
        if (argc == 2 && streq(argv[0], "exec"))
                return helper_exec(argv[1]);
        if (argc == 3 && streq(argv[0], "append"))
                return helper_append(argv[1], argv[2]);
        if (argc == 4 && streq(argv[0], "loop"))
                return helper_loop(argv[1], atoi(argv[2]), atoi(argv[3]));
        if (argc >= 3 && streq(argv[0], "overload"))
                return helper_overload(argv[1], argv[2], argc - 3, argv + 3);
        if (argc == 2 && streq(argv[0], "hold"))
                return helper_hold(argv[1]);
        return 2;
}

/* ---------------------------------------------------------------------------------------------
 * Running helpers from the tests
 */

static pid_t helper_spawn(const char * const *args, int *ret_fd) {
        pid_t pid = spawn_self(args, ret_fd);

        ck_assert_int_gt(pid, 0);
        return pid;
}

/* Reads one line (without '\n') from the helper, waiting up to timeout_ms. */
static bool helper_read_line(int fd, char *buf, size_t size, int timeout_ms) {
        size_t n = 0;

        while (n < size - 1) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                char c;

                if (poll(&pfd, 1, timeout_ms) <= 0 || read(fd, &c, 1) != 1)
                        break;
                if (c == '\n') {
                        buf[n] = '\0';
                        return true;
                }
                buf[n++] = c;
        }
        buf[n] = '\0';
        return false;
}

/* Runs a helper to the end; returns its whole output (caller frees) and checks it exited 0. */
static char *helper_run(const char * const *args, pid_t *ret_pid) {
        char *out = NULL;
        int status = run_self(args, &out, ret_pid);

        ck_assert_msg(status == 0, "helper %s: status %d", args[0], status);
        return out;
}

/* open(path) in another process: 0 or its errno. */
static int other_open(const char *path, pid_t *ret_pid) {
        _cleanup_free_ char *out = helper_run((const char *[]) { "open", path, NULL }, ret_pid);

        return atoi(out);
}

static int other_append(const char *path, const char *text) {
        _cleanup_free_ char *out = helper_run((const char *[]) { "append", path, text, NULL },
                                              NULL);

        return atoi(out);
}

/* ---------------------------------------------------------------------------------------------
 * Fixture: a tmpfs of the test's own, files in it, an Rtp on it
 */

static void setup(void) {
        ck_assert_msg(geteuid() == 0, "test-rtp must run as root (mount, fanotify permission "
                                      "events); it does not skip");
        snprintf(mnt, sizeof(mnt), "%s/test-rtp-XXXXXX", base);
        ck_assert_ptr_nonnull(mkdtemp(mnt));
        ck_assert_int_eq(mount("test-rtp", mnt, "tmpfs", 0, "size=256m,mode=0755"), 0);
}

static void teardown(void) {
        /* Lazy: takes whatever a test mounted below mnt along. */
        (void) umount2(mnt, MNT_DETACH);
        (void) rmdir(mnt);
}

static char *path_in(const char *name) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", mnt, name), 0);
        return p;
}

/* Writes a file from this process (ours: never held by our own Rtp). */
static char *make_file(const char *name, const char *content, mode_t mode) {
        char *p = path_in(name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        ck_assert_int_eq(close(fd), 0);
        ck_assert_int_eq(chmod(p, mode), 0);
        return p;
}

static char *make_eicar(const char *name) {
        char eicar[70];

        return make_file(name, sample_join(eicar, sizeof(eicar), EICAR_HALF_1, EICAR_HALF_2, "\n",
                                           NULL), 0644);
}

static RtpConfig config_default(char **mounts) {
        return (RtpConfig) {
                .block = true,
                .rules = rules,
                .generation = 1,
                .engine_options = ENGINE_SCAN_OPTIONS_DEFAULT,
                .mounts = mounts,
        };
}

static Rtp *rtp_start(const RtpConfig *config) {
        Rtp *r = NULL;

        ck_assert_int_eq(rtp_new(config, &r), 0);
        return r;
}

/* rtp_reconfigure() and a wait (at most 10 s) until the marks thread has handled it: 0 and
 * *ret_state (optional), -ETIMEDOUT, or rtp_reconfigure()'s error. No ck_assert: children use
 * it too. */
static int reconfigure_and_wait(Rtp *r, const RtpConfig *config, RtpReconfigureState *ret_state) {
        RtpReconfigureState st;
        uint64_t seq, deadline = now_ms() + 10000;
        int k = rtp_reconfigure(r, config, &seq);

        if (k < 0)
                return k;
        for (;;) {
                rtp_get_reconfigure_state(r, &st);
                if (st.applied >= seq)
                        break;
                if (now_ms() > deadline)
                        return -ETIMEDOUT;
                (void) usleep(2000);
        }
        if (ret_state)
                *ret_state = st;
        return 0;
}

/* The same for tests: the newest reconfiguration is applied, without error. */
static void reconfigure_wait(Rtp *r, const RtpConfig *config) {
        RtpReconfigureState st = {};

        ck_assert_int_eq(reconfigure_and_wait(r, config, &st), 0);
        ck_assert_int_eq(st.error, 0);
}

static RtpCounters counters(Rtp *r) {
        RtpCounters c;

        rtp_get_counters(r, &c);
        return c;
}

static ExclusionSet *exclusions_one(const char *type, const char *value, bool dir,
                                    unsigned scopes) {
        SettingExclusion e = {
                .type = (char *) type,
                .value = (char *) value,
                .is_directory = dir,
                .scopes = scopes,
        };
        ExclusionSet *s = NULL;

        ck_assert_int_eq(exclusion_set_new(&e, 1, &s), 0);
        return s;
}

/* Detections drained from an Rtp, copied. */
typedef struct Seen {
        size_t n;
        RtpDetection d[8];
} Seen;

static void on_detection(const RtpDetection *d, void *userdata) {
        Seen *seen = userdata;

        if (seen->n >= ELEMENTSOF(seen->d))
                return;
        seen->d[seen->n++] = (RtpDetection) {
                .path = strdup(d->path),
                .member = d->member ? strdup(d->member) : NULL,
                .dev = d->dev,
                .ino = d->ino,
                .threat_name = strdup(d->threat_name),
                .threat_type = strdup(d->threat_type),
                .sha256 = strdup(d->sha256),
                .pid = d->pid,
                .process_name = strdup(d->process_name),
                .denied = d->denied,
        };
}

/* Drains until `want` detections were seen or 5 s passed. */
static void seen_wait(Rtp *r, Seen *seen, size_t want) {
        uint64_t deadline = now_ms() + 5000;

        while (seen->n < want && now_ms() < deadline) {
                struct pollfd pfd = { .fd = rtp_get_fd(r), .events = POLLIN };

                (void) poll(&pfd, 1, 100);
                (void) rtp_drain(r, on_detection, seen);
        }
}

static void seen_done(Seen *seen) {
        for (size_t i = 0; i < seen->n; i++) {
                free(seen->d[i].path);
                free(seen->d[i].member);
                free(seen->d[i].threat_name);
                free(seen->d[i].threat_type);
                free(seen->d[i].sha256);
                free(seen->d[i].process_name);
        }
        seen->n = 0;
}

/* Waits up to 3 s for the marked mounts to contain (or not) path. */
static bool marked_wait(Rtp *r, const char *path, bool present) {
        uint64_t deadline = now_ms() + 3000;

        for (;;) {
                _cleanup_strv_free_ char **l = NULL;

                ck_assert_int_eq(rtp_get_marked_mounts(r, &l), 0);
                if (strv_contains(l, path) == present)
                        return true;
                if (now_ms() > deadline)
                        return false;
                usleep(10000);
        }
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 */

START_TEST(test_available) {
        ck_assert(rtp_available());
        ck_assert(rtp_fstype_is_monitored("ext4"));
        ck_assert(rtp_fstype_is_monitored("tmpfs"));
        ck_assert(rtp_fstype_is_monitored("nfs4"));
        ck_assert(!rtp_fstype_is_monitored("proc"));
        ck_assert(!rtp_fstype_is_monitored("cgroup2"));
}
END_TEST

START_TEST(test_bad_config) {
        RtpConfig config = config_default(NULL);
        Rtp *r = NULL;

        config.rules = NULL;
        ck_assert_int_eq(rtp_new(&config, &r), -EINVAL);
        ck_assert_int_eq(rtp_new(NULL, &r), -EINVAL);
        config.rules = rules;
        config.n_workers = RTP_WORKERS_MAX + 1;
        ck_assert_int_eq(rtp_new(&config, &r), -EINVAL);
        ck_assert_ptr_null(r);
        ck_assert_ptr_null(rtp_free(NULL));
}
END_TEST

START_TEST(test_mount_selection) {
        Mount m[] = {
                { .id = 1, .mount_point = (char *) "/", .fstype = (char *) "ext4" },
                { .id = 2, .mount_point = (char *) "/proc", .fstype = (char *) "proc" },
                { .id = 3, .mount_point = (char *) "/net", .fstype = (char *) "nfs4" },
                { .id = 4, .mount_point = (char *) "/home/u/r", .fstype = (char *) "fuse.sshfs" },
                { .id = 5, .mount_point = (char *) "/data", .fstype = (char *) "xfs",
                  .noexec = true },
                { .id = 6, .mount_point = (char *) "/srv/x", .fstype = (char *) "tmpfs" },
                { .id = 7, .mount_point = (char *) "/sys/fs/cgroup", .fstype = (char *) "tmpfs" },
        };
        _cleanup_(exclusion_set_unrefp) ExclusionSet *ex =
                exclusions_one("excludedPath", "/srv/x", true, EXCLUSION_SCOPE_EPP);
        RtpSnapshot s = { .unmonitored_filesystems = STRV_MAKE("nfs", "fuse") };

        ck_assert(rtp_mount_is_selected(&s, &m[0]));
        ck_assert(!rtp_mount_is_selected(&s, &m[1]));
        ck_assert(!rtp_mount_is_selected(&s, &m[2]));
        ck_assert(!rtp_mount_is_selected(&s, &m[3]));
        ck_assert(rtp_mount_is_selected(&s, &m[4]));
        ck_assert(rtp_mount_is_selected(&s, &m[5]));
        s.mute_noexec = true;
        ck_assert(!rtp_mount_is_selected(&s, &m[4]));
        s.exclusions = ex;
        ck_assert(!rtp_mount_is_selected(&s, &m[5]));
        ck_assert(rtp_mount_is_selected(&s, &m[6]));
        s.unmonitored_filesystems = NULL;
        ck_assert(rtp_mount_is_selected(&s, &m[2]));
        ck_assert(rtp_mount_is_selected(&s, &m[3]));

        /* A list: exactly those mount points, whatever their type; policies still apply. */
        s.mounts = STRV_MAKE("/proc", "/srv/x", "/data");
        ck_assert(!rtp_mount_is_selected(&s, &m[0]));
        ck_assert(rtp_mount_is_selected(&s, &m[1]));
        ck_assert(!rtp_mount_is_selected(&s, &m[4]));
        ck_assert(!rtp_mount_is_selected(&s, &m[5]));
}
END_TEST

/* A process as the statistics see it, without /proc (the pids are made up). */
static RtpProcess fake_process(pid_t pid) {
        RtpProcess p = { .pid = pid, .comm_read = true, .exe_read = true };

        snprintf(p.comm, sizeof(p.comm), "p%d", (int) pid);
        snprintf(p.exe, sizeof(p.exe), "/usr/bin/p%d", (int) pid);
        return p;
}

START_TEST(test_stats_table) {
        enum { EXTRA = 1000 };
        RtpStats *stats = NULL;
        RtpProcessStats *l = NULL;
        size_t n = 0;

        ck_assert_int_eq(rtp_stats_new(&stats), 0);
        /* More processes than the table holds (pids far apart, as after pid wrap-around). */
        for (pid_t pid = 1; pid <= (pid_t) (RTP_STATS_MAX + EXTRA); pid++) {
                RtpProcess p = fake_process(pid * 8192);

                rtp_stats_record(stats, &p, 10);
        }
        /* Every survivor is still found (the removals kept the probe runs whole): a second
         * record adds to its entry instead of making a new one. */
        for (pid_t pid = EXTRA + 1; pid <= (pid_t) (RTP_STATS_MAX + EXTRA); pid++) {
                RtpProcess p = fake_process(pid * 8192);

                rtp_stats_record(stats, &p, 5);
        }
        ck_assert_int_eq(rtp_stats_snapshot(stats, &l, &n), 0);
        ck_assert_uint_eq(n, RTP_STATS_MAX);
        for (size_t i = 0; i < n; i++) {
                char name[32];

                ck_assert_int_gt(l[i].pid, EXTRA * 8192);
                ck_assert_uint_eq(l[i].files_scanned, 2);
                ck_assert_uint_eq(l[i].scan_time_ns, 15);
                snprintf(name, sizeof(name), "p%d", (int) l[i].pid);
                ck_assert_str_eq(l[i].name, name);
                ck_assert_ptr_nonnull(l[i].path);
        }
        /* Most recently updated first. */
        ck_assert_int_eq(l[0].pid, (pid_t) (RTP_STATS_MAX + EXTRA) * 8192);
        rtp_process_stats_free(l, n);

        rtp_stats_clear(stats);
        ck_assert_int_eq(rtp_stats_snapshot(stats, &l, &n), 0);
        ck_assert_uint_eq(n, 0);
        rtp_process_stats_free(l, n);
        rtp_stats_free(stats);
}
END_TEST

START_TEST(test_eicar_denied) {
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = rtp_start(&config);
        _cleanup_strv_free_ char **marked = NULL;
        Seen seen = {};
        pid_t pid;

        ck_assert_int_eq(rtp_get_marked_mounts(r, &marked), 0);
        ck_assert(strv_equal(marked, STRV_MAKE(mnt)));
        ck_assert_uint_eq(counters(r).marked_mounts, 1);

        ck_assert_int_eq(other_open(eicar, &pid), EPERM);
        seen_wait(r, &seen, 1);
        ck_assert_uint_eq(seen.n, 1);
        ck_assert_str_eq(seen.d[0].path, eicar);
        /* The file itself, and the identity of exactly the inode that was opened. */
        ck_assert_ptr_null(seen.d[0].member);
        {
                struct stat st;

                ck_assert_int_eq(lstat(eicar, &st), 0);
                ck_assert_uint_eq(seen.d[0].dev, (uint64_t) st.st_dev);
                ck_assert_uint_eq(seen.d[0].ino, (uint64_t) st.st_ino);
        }
        ck_assert_str_eq(seen.d[0].threat_name, EICAR_NAME);
        ck_assert_str_eq(seen.d[0].threat_type, "virus");
        ck_assert_str_eq(seen.d[0].process_name, HELPER_NAME);
        ck_assert_int_eq(seen.d[0].pid, pid);
        ck_assert(seen.d[0].denied);
        ck_assert_uint_eq(counters(r).denied, 1);
        ck_assert_uint_eq(counters(r).detections, 1);
        ck_assert_uint_ge(counters(r).scanned, 1);

        /* Denied again: a detection is never cached nor ignore-marked. */
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);
        ck_assert_uint_eq(counters(r).denied, 2);
        seen_wait(r, &seen, 2);
        seen_done(&seen);
}
END_TEST

START_TEST(test_exec_denied) {
        _cleanup_free_ char *evil = make_file("evil.sh", "#!/bin/sh\necho ran\n# " MARKER "\n",
                                              0755);
        _cleanup_free_ char *good = make_file("good.sh", "#!/bin/sh\necho ran\n", 0755);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = rtp_start(&config);
        _cleanup_free_ char *out_evil = NULL, *out_good = NULL;
        Seen seen = {};

        out_evil = helper_run((const char *[]) { "exec", evil, NULL }, NULL);
        ck_assert_str_eq(out_evil, "1\n");      /* EPERM from execve() */
        out_good = helper_run((const char *[]) { "exec", good, NULL }, NULL);
        ck_assert_str_eq(out_good, "ran\n");
        seen_wait(r, &seen, 1);
        ck_assert_uint_ge(seen.n, 1);
        ck_assert_str_eq(seen.d[0].threat_name, MARKER_NAME);
        ck_assert(seen.d[0].denied);
        seen_done(&seen);
}
END_TEST

START_TEST(test_passive) {
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        Seen seen = {};

        config.block = false;
        r = rtp_start(&config);
        ck_assert_int_eq(other_open(eicar, NULL), 0);
        seen_wait(r, &seen, 1);
        ck_assert_uint_eq(seen.n, 1);
        ck_assert_str_eq(seen.d[0].threat_name, EICAR_NAME);
        ck_assert(!seen.d[0].denied);
        ck_assert_uint_eq(counters(r).denied, 0);
        seen_done(&seen);

        /* Switched to blocking while running: the next open is refused. */
        config.block = true;
        reconfigure_wait(r, &config);
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);
        seen_wait(r, &seen, 1);
        ck_assert(seen.d[0].denied);
        seen_done(&seen);
}
END_TEST

START_TEST(test_clean_cached) {
        _cleanup_free_ char *clean = make_file("clean.txt", "hello\n", 0644);
        _cleanup_(verdict_cache_freep) VerdictCache *cache = NULL;
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        RtpCounters c1, c2, c3;

        ck_assert_int_eq(verdict_cache_new(0, &cache), 0);
        config.cache = cache;
        r = rtp_start(&config);

        ck_assert_int_eq(other_open(clean, NULL), 0);
        c1 = counters(r);
        ck_assert_uint_eq(c1.scanned, 1);
        ck_assert_uint_eq(verdict_cache_size(cache), 1);

        /* The ignore mark: the kernel does not even ask. */
        ck_assert_int_eq(other_open(clean, NULL), 0);
        c2 = counters(r);
        ck_assert_uint_eq(c2.scanned, 1);
        ck_assert_uint_eq(c2.events, c1.events);

        /* Without the mark (flushed, same generation), the verdict cache answers. */
        rtp_ignore_marks_flush(r, config.generation);
        ck_assert_int_eq(other_open(clean, NULL), 0);
        c3 = counters(r);
        ck_assert_uint_eq(c3.scanned, 1);
        ck_assert_uint_eq(c3.cached, c2.cached + 1);
        ck_assert_uint_eq(c3.events, c2.events + 1);
        /* ... and puts the mark back. */
        ck_assert_int_eq(other_open(clean, NULL), 0);
        ck_assert_uint_eq(counters(r).events, c3.events);
}
END_TEST

START_TEST(test_modified_rescanned) {
        _cleanup_free_ char *clean = make_file("clean.txt", "hello\n", 0644);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = rtp_start(&config);

        ck_assert_int_eq(other_open(clean, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 1);
        ck_assert_int_eq(other_open(clean, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 1);
        ck_assert_int_eq(other_append(clean, "more, still clean\n"), 0);
        ck_assert_int_eq(other_open(clean, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 2);
}
END_TEST

START_TEST(test_becomes_malicious) {
        _cleanup_free_ char *file = make_file("file.txt", "hello\n", 0644);
        char eicar[70];
        _cleanup_(verdict_cache_freep) VerdictCache *cache = NULL;
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;

        ck_assert_int_eq(verdict_cache_new(0, &cache), 0);
        config.cache = cache;
        r = rtp_start(&config);
        ck_assert_int_eq(other_open(file, NULL), 0);
        ck_assert_int_eq(other_append(file, sample_join(eicar, sizeof(eicar), EICAR_HALF_1,
                                                        EICAR_HALF_2, "\n", NULL)), 0);
        ck_assert_int_eq(other_open(file, NULL), EPERM);
        ck_assert_uint_eq(counters(r).denied, 1);
}
END_TEST

START_TEST(test_allowed_threat) {
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        _cleanup_free_ char *marker = make_file("marker.txt", MARKER "\n", 0644);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        Seen seen = {};

        config.allowed_threats = STRV_MAKE(EICAR_NAME);
        r = rtp_start(&config);
        ck_assert_int_eq(other_open(eicar, NULL), 0);
        ck_assert_int_eq(other_open(marker, NULL), EPERM);
        seen_wait(r, &seen, 2);
        ck_assert_uint_eq(seen.n, 2);
        ck_assert_str_eq(seen.d[0].threat_name, EICAR_NAME);
        ck_assert(!seen.d[0].denied);
        ck_assert_str_eq(seen.d[1].threat_name, MARKER_NAME);
        ck_assert(seen.d[1].denied);
        seen_done(&seen);
}
END_TEST

START_TEST(test_audit_type) {
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        _cleanup_free_ char *marker = make_file("marker.txt", MARKER "\n", 0644);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        Seen seen = {};

        config.audit_types = STRV_MAKE(MARKER_TYPE);
        r = rtp_start(&config);
        ck_assert_int_eq(other_open(marker, NULL), 0);
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);
        seen_wait(r, &seen, 2);
        ck_assert_uint_eq(seen.n, 2);
        ck_assert_str_eq(seen.d[0].threat_type, MARKER_TYPE);
        ck_assert(!seen.d[0].denied);
        ck_assert(seen.d[1].denied);
        seen_done(&seen);
}
END_TEST

START_TEST(test_path_exclusion) {
        _cleanup_free_ char *excluded = make_eicar("excluded.com");
        _cleanup_free_ char *other = make_eicar("other.com");
        _cleanup_free_ char *dir = path_in("exdir"), *below = NULL;
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        SettingExclusion items[] = {
                { (char *) "excludedPath", excluded, false, EXCLUSION_SCOPE_EPP },
                { (char *) "excludedPath", dir, true, EXCLUSION_SCOPE_EPP },
        };
        _cleanup_(exclusion_set_unrefp) ExclusionSet *ex = NULL;

        ck_assert_int_eq(mkdir(dir, 0755), 0);
        below = make_eicar("exdir/deep.com");
        ck_assert_int_eq(exclusion_set_new(items, ELEMENTSOF(items), &ex), 0);
        config.exclusions = ex;
        r = rtp_start(&config);

        ck_assert_int_eq(other_open(excluded, NULL), 0);
        ck_assert_int_eq(other_open(below, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 0);
        ck_assert_uint_eq(counters(r).excluded, 2);
        ck_assert_int_eq(other_open(other, NULL), EPERM);
}
END_TEST

START_TEST(test_extension_exclusion) {
        _cleanup_free_ char *com = make_eicar("eicar.com");
        _cleanup_free_ char *txt = make_eicar("eicar.txt");
        _cleanup_(exclusion_set_unrefp) ExclusionSet *ex =
                exclusions_one("excludedFileExtension", ".com", false, EXCLUSION_SCOPE_EPP);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;

        config.exclusions = ex;
        r = rtp_start(&config);
        ck_assert_int_eq(other_open(com, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 0);
        ck_assert_int_eq(other_open(txt, NULL), EPERM);
        ck_assert_uint_eq(counters(r).scanned, 1);
}
END_TEST

START_TEST(test_process_exclusion) {
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        _cleanup_(exclusion_set_unrefp) ExclusionSet *by_name =
                exclusions_one("excludedFileName", HELPER_NAME, false, EXCLUSION_SCOPE_EPP);
        _cleanup_(exclusion_set_unrefp) ExclusionSet *by_path =
                exclusions_one("excludedFileName", self_path, false, EXCLUSION_SCOPE_EPP);
        _cleanup_(exclusion_set_unrefp) ExclusionSet *other =
                exclusions_one("excludedFileName", "someone-else", false, EXCLUSION_SCOPE_EPP);

        config.exclusions = by_name;
        r = rtp_start(&config);
        ck_assert_int_eq(other_open(eicar, NULL), 0);
        config.exclusions = by_path;
        reconfigure_wait(r, &config);
        ck_assert_int_eq(other_open(eicar, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 0);
        ck_assert_uint_eq(counters(r).excluded, 2);
        config.exclusions = other;
        reconfigure_wait(r, &config);
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);
}
END_TEST

START_TEST(test_global_exclusion) {
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        _cleanup_free_ char *other = make_eicar("other.com");
        _cleanup_(exclusion_set_unrefp) ExclusionSet *ex =
                exclusions_one("excludedPath", eicar, false, EXCLUSION_SCOPE_GLOBAL);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;

        config.exclusions = ex;
        r = rtp_start(&config);
        ck_assert_int_eq(other_open(eicar, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 0);
        ck_assert_uint_eq(counters(r).excluded, 1);
        ck_assert_int_eq(other_open(other, NULL), EPERM);
}
END_TEST

START_TEST(test_mount_exclusion) {
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        _cleanup_(exclusion_set_unrefp) ExclusionSet *ex =
                exclusions_one("excludedPath", mnt, true, EXCLUSION_SCOPE_EPP);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        _cleanup_strv_free_ char **marked = NULL;

        config.exclusions = ex;
        r = rtp_start(&config);
        ck_assert_int_eq(rtp_get_marked_mounts(r, &marked), 0);
        ck_assert(strv_isempty(marked));
        ck_assert_uint_eq(counters(r).marked_mounts, 0);
        ck_assert_int_eq(other_open(eicar, NULL), 0);
        ck_assert_uint_eq(counters(r).events, 0);

        /* The exclusion goes: marked; it comes back: unmarked, and the kernel stops asking. */
        config.exclusions = NULL;
        reconfigure_wait(r, &config);
        ck_assert(marked_wait(r, mnt, true));
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);
        config.exclusions = ex;
        reconfigure_wait(r, &config);
        ck_assert(marked_wait(r, mnt, false));
        ck_assert_int_eq(other_open(eicar, NULL), 0);
        ck_assert_uint_eq(counters(r).events, 1);
}
END_TEST

START_TEST(test_restored_grace) {
        _cleanup_free_ char *eicar = make_eicar("restored.com");
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        _cleanup_(restored_set_unrefp) RestoredSet *set = NULL, *expired = NULL;
        RestoredFile restored;
        struct stat st;
        struct timespec now;
        uint64_t now_usec;

        ck_assert_int_eq(stat(eicar, &st), 0);
        clock_gettime(CLOCK_REALTIME, &now);
        now_usec = (uint64_t) now.tv_sec * 1000000;
        verdict_key_from_stat(&restored.key, &st, 0);
        restored.expires_usec = now_usec + 60 * 1000000;
        ck_assert_int_eq(restored_set_new(NULL, &restored, now_usec, &set), 0);
        config.restored = set;
        r = rtp_start(&config);
        ck_assert_int_eq(other_open(eicar, NULL), 0);
        ck_assert_uint_eq(counters(r).excluded, 1);
        ck_assert_uint_eq(counters(r).scanned, 0);

        /* Changed since the restore: no more grace. */
        ck_assert_int_eq(other_append(eicar, "changed\n"), 0);
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);

        /* Expired grace. */
        restored.expires_usec = now_usec - 1;
        ck_assert_int_eq(stat(eicar, &st), 0);
        verdict_key_from_stat(&restored.key, &st, 0);
        /* Built with an earlier now, so that the set keeps the already expired entry. */
        ck_assert_int_eq(restored_set_new(NULL, &restored, now_usec - 2, &expired), 0);
        ck_assert_uint_eq(restored_set_size(expired), 1);
        config.restored = expired;
        reconfigure_wait(r, &config);
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);
}
END_TEST

START_TEST(test_generation_flush) {
        _cleanup_free_ char *clean = make_file("clean.txt", "hello\n", 0644);
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = rtp_start(&config);

        ck_assert_int_eq(other_open(clean, NULL), 0);
        ck_assert_int_eq(other_open(clean, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 1);

        /* New definitions: the ignore marks go (FAN_MARK_FLUSH), the mount mark stays. */
        config.generation = 2;
        reconfigure_wait(r, &config);
        ck_assert_int_eq(other_open(clean, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 2);
        ck_assert_uint_eq(counters(r).marked_mounts, 1);
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);

        /* Same generation again: the marks stay. */
        reconfigure_wait(r, &config);
        ck_assert_int_eq(other_open(clean, NULL), 0);
        ck_assert_uint_eq(counters(r).scanned, 3);
}
END_TEST

/* Writes a file of size bytes (not detected) from this process. */
static char *make_big_file(const char *name, size_t size) {
        _cleanup_free_ char *data = malloc(size);
        char *p = path_in(name);
        int fd;

        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < size; i++)
                data[i] = (char) ('a' + i % 23);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, size), (ssize_t) size);
        ck_assert_int_eq(close(fd), 0);
        return p;
}

START_TEST(test_overload) {
        enum { N = 40 };
        _cleanup_free_ char *big = make_big_file("big.bin", 128 << 20);
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_free_ char *out = NULL;
        const char *args[N + 4] = { "overload", mnt, big };
        unsigned long long overloads = 0, timeouts = 1;
        int failed = -1;

        for (int i = 0; i < N; i++) {
                char name[16];

                snprintf(name, sizeof(name), "s%d", i);
                ck_assert_int_eq(strv_consume(&files, make_file(name, "small\n", 0644)), 0);
                args[i + 3] = files[i];
        }
        /* 40 opens at once while the only worker hashes the big file: RTP_QUEUE_MIN wait,
         * the rest are let through at once. */
        out = helper_run(args, NULL);
        ck_assert_int_eq(sscanf(out, "%d %llu %llu", &failed, &overloads, &timeouts), 3);
        ck_assert_int_eq(failed, 0);
        ck_assert_uint_ge(overloads, N - RTP_QUEUE_MIN);
        ck_assert_uint_eq(timeouts, 0);
}
END_TEST

START_TEST(test_timeout) {
        /* Big enough that the scan takes far longer than the deadline. */
        _cleanup_free_ char *big = make_big_file("big.bin", (RUNNING_ON_VALGRIND ? 4 : 50) << 20);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        uint64_t start;

        config.timeout_ms = 1;
        r = rtp_start(&config);
        start = now_ms();
        ck_assert_int_eq(other_open(big, NULL), 0);
        ck_assert_uint_lt(now_ms() - start, 2000);
        ck_assert_uint_ge(counters(r).timeouts, 1);
        ck_assert_uint_ge(counters(r).allowed, 1);
        ck_assert_uint_eq(counters(r).denied, 0);
}
END_TEST

START_TEST(test_self) {
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        _cleanup_free_ char *clean = make_file("clean.txt", "hello\n", 0644);
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = rtp_start(&config);
        _cleanup_free_ char *content = NULL;

        /* Our own opens, even of a detected file, are allowed at once and never scanned. */
        for (int i = 0; i < 50; i++) {
                int fd = open(eicar, O_RDONLY | O_CLOEXEC);

                ck_assert_int_ge(fd, 0);
                close(fd);
        }
        ck_assert_int_eq(read_file_full(clean, 4096, &content, NULL), 0);
        ck_assert_str_eq(content, "hello\n");
        ck_assert_uint_ge(counters(r).self, 51);
        ck_assert_uint_eq(counters(r).scanned, 0);
}
END_TEST

START_TEST(test_fifo) {
        _cleanup_free_ char *fifo = path_in("fifo");
        _cleanup_free_ char *eicar = make_eicar("eicar.com");
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = rtp_start(&config);
        _cleanup_free_ char *out = NULL;

        /* The kernel opens the FIFO for us too: that must not wait for a writer. */
        ck_assert_int_eq(mkfifo(fifo, 0644), 0);
        out = helper_run((const char *[]) { "open", "-n", fifo, NULL }, NULL);
        ck_assert_str_eq(out, "0\n");
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);
        ck_assert_uint_eq(counters(r).scanned, 1);
}
END_TEST

START_TEST(test_statistics) {
        enum { N = 12 };
        _cleanup_strv_free_ char **files = NULL;
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        _cleanup_free_ char *out = NULL;
        const char *args[N + 2] = { "open" };
        RtpProcessStats *stats = NULL;
        size_t n = 0;
        pid_t pid;

        for (int i = 0; i < N; i++) {
                char name[32], content[64];

                snprintf(name, sizeof(name), "f%d", i);
                snprintf(content, sizeof(content), "file %d\n", i);
                ck_assert_int_eq(strv_consume(&files, make_file(name, content, 0644)), 0);
                args[i + 1] = files[i];
        }
        config.statistics = true;
        r = rtp_start(&config);
        out = helper_run(args, &pid);
        ck_assert_int_eq(rtp_get_statistics(r, &stats, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(stats[0].pid, pid);
        ck_assert_str_eq(stats[0].name, HELPER_NAME);
        ck_assert_str_eq(stats[0].path, self_path);
        ck_assert_uint_eq(stats[0].files_scanned, N);
        ck_assert_uint_gt(stats[0].scan_time_ns, 0);
        rtp_process_stats_free(stats, n);

        /* Turned off: nothing kept. */
        config.statistics = false;
        reconfigure_wait(r, &config);
        ck_assert_int_eq(rtp_get_statistics(r, &stats, &n), 0);
        ck_assert_uint_eq(n, 0);
        rtp_process_stats_free(stats, n);
}
END_TEST

/* Starts a helper holding an Rtp on mnt and waits until it has marked it. */
static pid_t holder_start(void) {
        char line[64];
        int fd;
        pid_t pid = helper_spawn((const char *[]) { "hold", mnt, NULL }, &fd);

        ck_assert(helper_read_line(fd, line, sizeof(line), 10000));
        ck_assert_str_eq(line, "ready");
        close(fd);
        return pid;
}

static void holder_kill(pid_t pid) {
        int status;

        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static bool strv_find_substring(char **l, const char *needle) {
        for (; l && *l; l++)
                if (strstr(*l, needle))
                        return true;
        return false;
}

START_TEST(test_conflicts) {
        _cleanup_strv_free_ char **all = NULL, **others = NULL, **none = NULL;
        char needle[64];
        pid_t holder;
        bool found = false;

        ck_assert_int_eq(rtp_conflicting_applications(getpid(), &none), 0);
        holder = holder_start();
        snprintf(needle, sizeof(needle), "(pid %d)", (int) holder);
        ck_assert_int_eq(rtp_conflicting_applications(getpid(), &all), 0);
        for (char **l = all; *l; l++)
                found = found || (strstr(*l, needle) && strstr(*l, HELPER_NAME));
        ck_assert_msg(found, "holder %d not listed", (int) holder);
        ck_assert_uint_le(strv_length(all), 10);
        ck_assert_int_eq(rtp_conflicting_applications(holder, &others), 0);
        for (char **l = others; *l; l++)
                ck_assert_ptr_null(strstr(*l, needle));
        holder_kill(holder);
        for (char **l = none; *l; l++)
                ck_assert_ptr_null(strstr(*l, needle));
}
END_TEST

START_TEST(test_killed_holder) {
        enum { N = 2000 };
        char line[64], count[16];
        pid_t holder, looper;
        int fd, status, failed = -1;
        unsigned long long longest = ULLONG_MAX;

        for (int i = 0; i < N; i++) {
                char name[16];

                snprintf(name, sizeof(name), "f%d", i);
                free(make_file(name, "clean\n", 0644));
        }
        holder = holder_start();
        snprintf(count, sizeof(count), "%d", N);
        /* Killed 100 ms into a loop of 400 ms. */
        looper = helper_spawn((const char *[]) { "loop", mnt, count, "400", NULL }, &fd);
        ck_assert(helper_read_line(fd, line, sizeof(line), 10000));
        ck_assert_str_eq(line, "started");
        usleep(100000);
        holder_kill(holder);

        ck_assert(helper_read_line(fd, line, sizeof(line), 20000));
        ck_assert_int_eq(sscanf(line, "%d %llu", &failed, &longest), 2);
        close(fd);
        ck_assert_int_eq(waitpid(looper, &status, 0), looper);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_int_eq(failed, 0);
        ck_assert_uint_lt(longest, 2000);
}
END_TEST

START_TEST(test_new_mount_followed) {
        _cleanup_free_ char *sub = path_in("sub"), *eicar = NULL;
        RtpConfig config = config_default(STRV_MAKE(mnt, sub));
        _cleanup_(rtp_freep) Rtp *r = NULL;

        ck_assert_int_eq(mkdir(sub, 0755), 0);
        r = rtp_start(&config);
        ck_assert(marked_wait(r, mnt, true));
        ck_assert(marked_wait(r, sub, false));

        /* Mounted while running: followed through mountinfo's POLLPRI. */
        ck_assert_int_eq(mount("test-rtp-sub", sub, "tmpfs", 0, "size=16m"), 0);
        ck_assert(marked_wait(r, sub, true));
        ck_assert_uint_eq(counters(r).marked_mounts, 2);
        eicar = make_eicar("sub/eicar.com");
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);

        /* A worker may hold the event fd of that open a moment longer (the mount is busy
         * while it does): retry. */
        for (uint64_t deadline = now_ms() + 2000; umount2(sub, 0) < 0;) {
                ck_assert_int_eq(errno, EBUSY);
                ck_assert_uint_lt(now_ms(), deadline);
                usleep(1000);
        }
        ck_assert(marked_wait(r, sub, false));
        ck_assert_uint_eq(counters(r).marked_mounts, 1);

        /* Again at the same place (the mount id may well be the same): marked again. */
        ck_assert_int_eq(mount("test-rtp-sub", sub, "tmpfs", 0, "size=16m"), 0);
        ck_assert(marked_wait(r, sub, true));
        free(eicar);
        eicar = make_eicar("sub/eicar.com");
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);
}
END_TEST

START_TEST(test_default_selection) {
        /* Every monitored type but ramfs is unmonitored, and ramfs mounts of the system are
         * excluded: whatever the machine, only the two ramfs mounts made here are candidates,
         * and of those the noexec one is muted. */
        char * const unmonitored[] = {
                (char *) "btrfs", (char *) "ecryptfs", (char *) "ext2", (char *) "ext3",
                (char *) "ext4", (char *) "fuseblk", (char *) "jfs", (char *) "overlay",
                (char *) "reiserfs", (char *) "tmpfs", (char *) "vfat", (char *) "xfs",
                (char *) "nfs", (char *) "fuse", NULL,
        };
        _cleanup_free_ char *ram = path_in("ram"), *ramnx = path_in("ramnx"), *eicar = NULL;
        _cleanup_free_ SettingExclusion *items = NULL;
        _cleanup_(exclusion_set_unrefp) ExclusionSet *ex = NULL;
        _cleanup_strv_free_ char **marked = NULL;
        RtpConfig config = config_default(NULL);
        _cleanup_(rtp_freep) Rtp *r = NULL;
        Mount *mounts = NULL;
        size_t n = 0, n_items = 0;

        ck_assert_int_eq(mounts_read(-1, &mounts, &n), 0);
        items = calloc(n + 1, sizeof(SettingExclusion));
        ck_assert_ptr_nonnull(items);
        for (size_t i = 0; i < n; i++)
                if (streq(mounts[i].fstype, "ramfs"))
                        items[n_items++] = (SettingExclusion) {
                                (char *) "excludedPath", mounts[i].mount_point, true,
                                EXCLUSION_SCOPE_EPP,
                        };
        ck_assert_int_ge(exclusion_set_new(items, n_items, &ex), 0);
        mounts_free(mounts, n);

        ck_assert_int_eq(mkdir(ram, 0755), 0);
        ck_assert_int_eq(mkdir(ramnx, 0755), 0);
        ck_assert_int_eq(mount("test-rtp-ram", ram, "ramfs", 0, NULL), 0);
        ck_assert_int_eq(mount("test-rtp-ramnx", ramnx, "ramfs", MS_NOEXEC, NULL), 0);
        config.unmonitored_filesystems = (char **) unmonitored;
        config.exclusions = ex;
        config.mute_noexec = true;
        r = rtp_start(&config);
        ck_assert_int_eq(rtp_get_marked_mounts(r, &marked), 0);
        ck_assert(strv_equal(marked, STRV_MAKE(ram)));
        eicar = make_eicar("ram/eicar.com");
        ck_assert_int_eq(other_open(eicar, NULL), EPERM);

        /* Not muted any more: the noexec mount is marked too. */
        config.mute_noexec = false;
        reconfigure_wait(r, &config);
        ck_assert(marked_wait(r, ramnx, true));
        ck_assert_uint_eq(counters(r).marked_mounts, 2);
}
END_TEST

START_TEST(test_free_under_load) {
        enum { N = 300 };
        char count[16], line[64];
        RtpConfig config = config_default(STRV_MAKE(mnt));
        Rtp *r;
        pid_t looper;
        int fd, status, failed = -1;
        unsigned long long longest = ULLONG_MAX;

        for (int i = 0; i < N; i++) {
                char name[16];

                snprintf(name, sizeof(name), "f%d", i);
                free(make_file(name, "clean\n", 0644));
        }
        r = rtp_start(&config);
        snprintf(count, sizeof(count), "%d", N);
        looper = helper_spawn((const char *[]) { "loop", mnt, count, "300", NULL }, &fd);
        ck_assert(helper_read_line(fd, line, sizeof(line), 10000));
        ck_assert_str_eq(line, "started");
        usleep(50000);
        /* Freed while opens are in flight: they are answered, none hangs. */
        ck_assert_uint_gt(counters(r).scanned, 0);
        r = rtp_free(r);
        ck_assert(helper_read_line(fd, line, sizeof(line), 20000));
        ck_assert_int_eq(sscanf(line, "%d %llu", &failed, &longest), 2);
        close(fd);
        ck_assert_int_eq(waitpid(looper, &status, 0), looper);
        ck_assert_int_eq(failed, 0);
        ck_assert_uint_lt(longest, 2000);
}
END_TEST

/* ---- the self-check ---- */

/* A process in a mount namespace of its own (a private copy of ours): what a unit with
 * PrivateTmp= or ProtectSystem= gives a service. Killed with holder_kill(). */
static pid_t private_namespace_start(void) {
        int p[2];
        char c;
        pid_t pid;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 ||
                    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(1);
                (void) !write(p[1], "x", 1);
                for (;;)
                        pause();
        }
        close(p[1]);
        ck_assert_int_eq(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

static RtpSelfCheck self_check_of(Rtp *r) {
        RtpSelfCheck sc;

        rtp_get_self_check(r, &sc);
        return sc;
}

/* Whether a probe file was left behind in dir. */
static bool probe_left(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        bool found = false;

        ck_assert_ptr_nonnull(d);
        while (!found && (de = readdir(d)))
                found = strstr(de->d_name, "mdatp-rtp-self-check") != NULL;
        closedir(d);
        return found;
}

START_TEST(test_self_check_passes) {
        _cleanup_free_ char *state = path_in("state");
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        RtpSelfCheck sc;

        /* Our own namespace stands for the machine's: the open is seen, in the preferred
         * directory, and nothing is left behind. */
        ck_assert_int_eq(mkdir(state, 0700), 0);
        config.self_check_pid = getpid();
        config.self_check_dir = state;
        r = rtp_start(&config);
        sc = self_check_of(r);
        ck_assert_msg(sc.state == RTP_SELF_CHECK_PASSED, "%s", sc.message);
        ck_assert_msg(strstr(sc.message, state), "%s", sc.message);
        ck_assert(!probe_left(state));
        ck_assert_uint_eq(counters(r).denied, 0);
}
END_TEST

START_TEST(test_self_check_falls_back_to_mount_point) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        RtpSelfCheck sc;

        /* The preferred directory is not on a marked mount (nor there at all): the mount
         * point is probed instead. */
        config.self_check_pid = getpid();
        config.self_check_dir = "/nonexistent-mdatp-state";
        r = rtp_start(&config);
        sc = self_check_of(r);
        ck_assert_msg(sc.state == RTP_SELF_CHECK_PASSED, "%s", sc.message);
        ck_assert_msg(strstr(sc.message, mnt), "%s", sc.message);
        ck_assert(!probe_left(mnt));
}
END_TEST

START_TEST(test_self_check_private_namespace_fails) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        pid_t other = private_namespace_start();
        RtpSelfCheck sc;

        /* The reference process opens through its own copy of the mount, which our mark does
         * not cover: exactly the blindness of a namespaced service. */
        config.self_check_pid = other;
        r = rtp_start(&config);
        sc = self_check_of(r);
        holder_kill(other);
        ck_assert_msg(sc.state == RTP_SELF_CHECK_FAILED, "%s", sc.message);
        ck_assert_msg(strstr(sc.message, "raised no event"), "%s", sc.message);
}
END_TEST

START_TEST(test_self_check_unreachable_namespace_fails) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        RtpSelfCheck sc;
        pid_t gone = fork();

        ck_assert_int_ge(gone, 0);
        if (gone == 0)
                _exit(0);
        ck_assert_int_eq(waitpid(gone, NULL, 0), gone);
        config.self_check_pid = gone;
        r = rtp_start(&config);
        sc = self_check_of(r);
        ck_assert_msg(sc.state == RTP_SELF_CHECK_FAILED, "%s", sc.message);
        ck_assert_msg(strstr(sc.message, "cannot open the mount namespace"), "%s", sc.message);
}
END_TEST

START_TEST(test_self_check_timeout) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        _cleanup_close_ int other = -EBADF;
        uint64_t start;
        RtpSelfCheck sc;

        /* Another permission listener that never answers holds the probe's open: the check
         * gives up after one timeout instead of trying every other mount, and says why. */
        other = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(other, 0);
        ck_assert_int_eq(fanotify_mark(other, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_PERM,
                                       AT_FDCWD, mnt), 0);
        config.self_check_pid = getpid();
        start = now_ms();
        r = rtp_start(&config);
        sc = self_check_of(r);
        ck_assert_uint_lt(now_ms() - start, 5000);
        ck_assert_msg(sc.state == RTP_SELF_CHECK_FAILED, "%s", sc.message);
        ck_assert_msg(strstr(sc.message, "did not finish"), "%s", sc.message);
}
END_TEST

START_TEST(test_self_check_after_remark) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        pid_t other = private_namespace_start();
        struct pollfd p = {};
        RtpSelfCheck sc;

        config.self_check_pid = getpid();
        r = rtp_start(&config);
        ck_assert(self_check_of(r).state == RTP_SELF_CHECK_PASSED);

        /* A reconfiguration re-marks, and the check runs again in the background; its new
         * verdict wakes the owner's fd. */
        config.self_check_pid = other;
        reconfigure_wait(r, &config);
        p = (struct pollfd) { .fd = rtp_get_fd(r), .events = POLLIN };
        for (uint64_t deadline = now_ms() + 5000;
             (sc = self_check_of(r)).state == RTP_SELF_CHECK_PASSED;) {
                ck_assert_uint_lt(now_ms(), deadline);
                usleep(5000);
        }
        ck_assert_int_eq(poll(&p, 1, 1000), 1);
        holder_kill(other);
        ck_assert_msg(sc.state == RTP_SELF_CHECK_FAILED, "%s", sc.message);
}
END_TEST

/* The body of test_unrelated_exclusion_no_remark, in a child of its own. The run's private mount
 * namespace keeps the machine's mounts from waking the marks thread (which would re-mark and
 * re-check, rightly). Returns 0, or the number of the step that failed. */
static int unrelated_exclusion_steps(void) {
        _cleanup_free_ char *below = path_in("sub");
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(exclusion_set_unrefp) ExclusionSet *unrelated =
                exclusions_one("excludedPath", below, true, EXCLUSION_SCOPE_EPP);
        _cleanup_(exclusion_set_unrefp) ExclusionSet *whole =
                exclusions_one("excludedPath", mnt, true, EXCLUSION_SCOPE_EPP);
        _cleanup_(rtp_freep) Rtp *r = NULL;
        RtpCounters c;

        /* The counters must move for this test's reasons only: in a mount namespace of its own
         * (mounts private), a mount made elsewhere on the machine does not re-sync the marks. */
        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                return 11;
        config.self_check_pid = getpid();
        if (rtp_new(&config, &r) < 0)
                return 2;
        rtp_get_counters(r, &c);
        if (c.mark_syncs != 1 || c.self_checks != 1 || c.marked_mounts != 1)
                return 3;

        /* A folder below the mount point: the snapshot changes, the marks do not. */
        config.exclusions = unrelated;
        if (reconfigure_and_wait(r, &config, NULL) < 0)
                return 4;
        (void) usleep(300 * 1000);      /* a requested check would have started by now */
        rtp_get_counters(r, &c);
        if (c.mark_syncs != 1 || c.self_checks != 1 || c.marked_mounts != 1)
                return 5;

        /* The control: the mount point itself is excluded, so the mount is unmarked and the
         * new set of marks proves itself. */
        config.exclusions = whole;
        if (reconfigure_and_wait(r, &config, NULL) < 0)
                return 6;
        for (uint64_t deadline = now_ms() + 5000; rtp_get_counters(r, &c), c.self_checks < 2;) {
                if (now_ms() > deadline)
                        return 7;
                (void) usleep(5000);
        }
        if (c.mark_syncs != 2 || c.marked_mounts != 0)
                return 8;

        /* Excluded mounts are known too: dropping that exclusion marks the mount again. */
        config.exclusions = unrelated;
        if (reconfigure_and_wait(r, &config, NULL) < 0)
                return 9;
        rtp_get_counters(r, &c);
        if (c.mark_syncs != 3 || c.marked_mounts != 1)
                return 10;
        return 0;
}

START_TEST(test_unrelated_exclusion_no_remark) {
        pid_t pid = fork();
        int status;

        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(unrelated_exclusion_steps());
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "step %d failed (status 0x%x)", WEXITSTATUS(status), status);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * Reconfiguration on the marks thread
 */

START_TEST(test_reconfigure_reported) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        struct pollfd p;
        RtpReconfigureState st;
        uint64_t seq1 = 0, seq2 = 0;

        config.self_check_pid = getpid();
        r = rtp_start(&config);
        (void) rtp_drain(r, NULL, NULL);        /* the first self-check's wake-up */
        rtp_get_reconfigure_state(r, &st);
        ck_assert_uint_eq(st.requested, 0);
        ck_assert_uint_eq(st.applied, 0);

        /* A new mount list: the marks move (our mount is unmarked), on the marks thread, and the
         * outcome arrives on the same fd as detections, with the request's number. */
        config.mounts = (char *[]) { NULL };
        ck_assert_int_eq(rtp_reconfigure(r, &config, &seq1), 0);
        ck_assert_uint_eq(seq1, 1);
        p = (struct pollfd) { .fd = rtp_get_fd(r), .events = POLLIN };
        ck_assert_int_eq(poll(&p, 1, 5000), 1);
        for (uint64_t deadline = now_ms() + 5000;; usleep(2000)) {
                rtp_get_reconfigure_state(r, &st);
                if (st.applied == seq1)
                        break;
                ck_assert_uint_lt(now_ms(), deadline);
        }
        ck_assert_uint_eq(st.requested, 1);
        ck_assert_int_eq(st.error, 0);
        ck_assert_uint_eq(st.failures, 0);
        ck_assert(marked_wait(r, mnt, false));
        ck_assert_uint_eq(counters(r).reconfigurations, 1);
        ck_assert_uint_eq(counters(r).mark_syncs, 2);

        /* The next one has the next number, and marks the mount again. */
        config.mounts = STRV_MAKE(mnt);
        ck_assert_int_eq(rtp_reconfigure(r, &config, &seq2), 0);
        ck_assert_uint_eq(seq2, 2);
        reconfigure_wait(r, &config);
        ck_assert(marked_wait(r, mnt, true));
        rtp_get_reconfigure_state(r, &st);
        ck_assert_uint_eq(st.applied, 3);
        ck_assert_uint_eq(counters(r).mark_syncs, 3);
}
END_TEST

START_TEST(test_reconfigure_generation_flush_counted) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        RtpCounters c;

        r = rtp_start(&config);
        ck_assert_uint_eq(counters(r).ignore_flushes, 0);
        /* Same generation, same mounts: no flush, no re-mark, one reconfiguration. */
        config.block = false;
        reconfigure_wait(r, &config);
        c = counters(r);
        ck_assert_uint_eq(c.ignore_flushes, 0);
        ck_assert_uint_eq(c.mark_syncs, 1);
        ck_assert_uint_eq(c.reconfigurations, 1);
        /* New definitions: every ignore mark goes, the marks stay. */
        config.generation = 2;
        reconfigure_wait(r, &config);
        c = counters(r);
        ck_assert_uint_eq(c.ignore_flushes, 1);
        ck_assert_uint_eq(c.mark_syncs, 1);
        ck_assert_uint_eq(c.reconfigurations, 2);
}
END_TEST

/* "At once" for a call that waits for nothing: generous under valgrind, which slows every
 * instruction down tens of times. */
#define QUICK_MS (RUNNING_ON_VALGRIND ? 2000U : 100U)

/* Each call a main loop makes must come back at once while the marks thread is held. */
static void assert_quick_reads(Rtp *r) {
        _cleanup_strv_free_ char **l = NULL;
        RtpReconfigureState st;
        RtpSelfCheck sc;
        RtpCounters c;
        uint64_t start = now_ms();

        ck_assert_int_eq(rtp_get_marked_mounts(r, &l), 0);
        rtp_get_counters(r, &c);
        rtp_get_self_check(r, &sc);
        rtp_get_reconfigure_state(r, &st);
        ck_assert_uint_lt(now_ms() - start, QUICK_MS);
}

START_TEST(test_reconfigure_coalesces) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_close_ int other = -EBADF;
        _cleanup_(rtp_freep) Rtp *r = NULL;
        RtpReconfigureState st;
        RtpCounters c;
        uint64_t seq = 0;

        /* Another permission listener that never answers holds the self-check's probe for its
         * whole timeout (2 s): the marks thread is busy, as it is on a stalled mount. */
        other = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(other, 0);
        ck_assert_int_eq(fanotify_mark(other, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_PERM,
                                       AT_FDCWD, mnt), 0);
        config.self_check_pid = getpid();
        r = rtp_start(&config);

        /* A new directory for the check: no mark moves, but the check runs again. */
        config.self_check_dir = mnt;
        ck_assert_int_eq(rtp_reconfigure(r, &config, &seq), 0);
        for (uint64_t deadline = now_ms() + 5000; counters(r).self_checks < 2; usleep(2000))
                ck_assert_uint_lt(now_ms(), deadline);

        /* Three more while it waits: each returns at once, as does every read. */
        for (int i = 0; i < 3; i++) {
                uint64_t start = now_ms();

                config.block = i % 2 == 0;
                ck_assert_int_eq(rtp_reconfigure(r, &config, &seq), 0);
                ck_assert_uint_lt(now_ms() - start, QUICK_MS);
                assert_quick_reads(r);
        }
        ck_assert_uint_eq(seq, 4);
        rtp_get_reconfigure_state(r, &st);
        ck_assert_uint_eq(st.requested, 4);
        ck_assert_uint_eq(st.applied, 1);

        /* Once free, the marks thread applies the newest only: one more application. */
        for (uint64_t deadline = now_ms() + 10000;; usleep(5000)) {
                rtp_get_reconfigure_state(r, &st);
                if (st.applied == 4)
                        break;
                ck_assert_uint_lt(now_ms(), deadline);
        }
        ck_assert_int_eq(st.error, 0);
        c = counters(r);
        ck_assert_uint_eq(c.reconfigurations, 2);
        /* Re-marks and self-checks are bounded below only: a mount made or removed anywhere on
         * the machine meanwhile (another test's tmpfs) re-syncs the marks and checks them too. */
        ck_assert_uint_ge(c.self_checks, 2);
}
END_TEST

START_TEST(test_reconfigure_failure_keeps_marks) {
        RtpConfig config = config_default(STRV_MAKE(mnt));
        _cleanup_(rtp_freep) Rtp *r = NULL;
        _cleanup_free_ char *big = path_in("mountinfo-too-big");
        char own[64];
        RtpReconfigureState st = {};
        uint64_t syncs;
        int fd;

        r = rtp_start(&config);
        ck_assert(marked_wait(r, mnt, true));

        /* A mount table the daemon refuses to read (larger than its 64 MiB bound) in place of
         * this process's own: the next re-mark cannot know the mounts. Sparse, so cheap. */
        fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, (off_t) (65 << 20)), 0);
        ck_assert_int_eq(close(fd), 0);
        snprintf(own, sizeof(own), "/proc/%d/mountinfo", (int) getpid());
        syncs = counters(r).mark_syncs;
        /* A type, although a bind mount ignores it: valgrind checks the argument. */
        ck_assert_int_eq(mount(big, own, "none", MS_BIND, NULL), 0);
        /* The bind mount is itself a change of the table, which the marks thread follows
         * through the fd it opened before: let that finish first. */
        for (uint64_t deadline = now_ms() + 5000; counters(r).mark_syncs == syncs; usleep(2000))
                ck_assert_uint_lt(now_ms(), deadline);
        usleep(100 * 1000);

        /* Nothing to mark any more: refused, reported, and the previous marks stay. */
        config.mounts = (char *[]) { NULL };
        ck_assert_int_eq(reconfigure_and_wait(r, &config, &st), 0);
        ck_assert_int_eq(st.error, -E2BIG);
        ck_assert_uint_eq(st.failures, 1);
        ck_assert(marked_wait(r, mnt, true));
        ck_assert_uint_eq(counters(r).marked_mounts, 1);

        /* The table readable again (a change of the table itself): the newest configuration
         * is applied then. */
        ck_assert_int_eq(umount2(own, MNT_DETACH), 0);
        ck_assert(marked_wait(r, mnt, false));
}
END_TEST

START_TEST(test_conflicts_cached) {
        _cleanup_strv_free_ char **first = NULL, **fresh = NULL, **stale = NULL;
        char needle[64];
        pid_t holder = holder_start();
        uint64_t start;

        snprintf(needle, sizeof(needle), "(pid %d)", (int) holder);
        /* The first call waits for the first walk. */
        ck_assert_int_eq(rtp_conflicting_applications_cached(getpid(), 60 * 1000000ULL, 5000,
                                                             &first), 0);
        ck_assert(strv_find_substring(first, needle));
        holder_kill(holder);

        /* Within its age the result stands, although the holder is gone. */
        ck_assert_int_eq(rtp_conflicting_applications_cached(getpid(), 60 * 1000000ULL, 0,
                                                             &fresh), 0);
        ck_assert(strv_find_substring(fresh, needle));

        /* Too old: a walk starts elsewhere, and the caller gets the last result at once. */
        start = now_ms();
        ck_assert_int_eq(rtp_conflicting_applications_cached(getpid(), 1, 0, &stale), 0);
        ck_assert_uint_lt(now_ms() - start, QUICK_MS);
        ck_assert(strv_find_substring(stale, needle));

        /* That walk's result follows. */
        for (uint64_t deadline = now_ms() + 5000;; usleep(10000)) {
                _cleanup_strv_free_ char **l = NULL;

                ck_assert_int_eq(rtp_conflicting_applications_cached(getpid(),
                                                                     60 * 1000000ULL, 0, &l), 0);
                if (!strv_find_substring(l, needle))
                        break;
                ck_assert_uint_lt(now_ms(), deadline);
        }
}
END_TEST

static Suite *rtp_suite(void) {
        Suite *s = suite_create("rtp");
        TCase *basics = tcase_create("basics");
        TCase *tc = tcase_create("fanotify");

        tcase_add_test(basics, test_available);
        tcase_add_test(basics, test_bad_config);
        tcase_add_test(basics, test_mount_selection);
        tcase_add_test(basics, test_stats_table);
        suite_add_tcase(s, basics);

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_eicar_denied);
        tcase_add_test(tc, test_exec_denied);
        tcase_add_test(tc, test_passive);
        tcase_add_test(tc, test_clean_cached);
        tcase_add_test(tc, test_modified_rescanned);
        tcase_add_test(tc, test_becomes_malicious);
        tcase_add_test(tc, test_allowed_threat);
        tcase_add_test(tc, test_audit_type);
        tcase_add_test(tc, test_path_exclusion);
        tcase_add_test(tc, test_extension_exclusion);
        tcase_add_test(tc, test_process_exclusion);
        tcase_add_test(tc, test_global_exclusion);
        tcase_add_test(tc, test_mount_exclusion);
        tcase_add_test(tc, test_restored_grace);
        tcase_add_test(tc, test_generation_flush);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_overload);
        tcase_add_test(tc, test_self);
        tcase_add_test(tc, test_fifo);
        tcase_add_test(tc, test_statistics);
        tcase_add_test(tc, test_conflicts);
        tcase_add_test(tc, test_killed_holder);
        tcase_add_test(tc, test_new_mount_followed);
        tcase_add_test(tc, test_default_selection);
        tcase_add_test(tc, test_free_under_load);
        tcase_add_test(tc, test_self_check_passes);
        tcase_add_test(tc, test_self_check_falls_back_to_mount_point);
        tcase_add_test(tc, test_self_check_private_namespace_fails);
        tcase_add_test(tc, test_self_check_unreachable_namespace_fails);
        tcase_add_test(tc, test_self_check_after_remark);
        tcase_add_test(tc, test_self_check_timeout);
        tcase_add_test(tc, test_unrelated_exclusion_no_remark);
        tcase_add_test(tc, test_reconfigure_reported);
        tcase_add_test(tc, test_reconfigure_generation_flush_counted);
        tcase_add_test(tc, test_reconfigure_coalesces);
        tcase_add_test(tc, test_reconfigure_failure_keeps_marks);
        tcase_add_test(tc, test_conflicts_cached);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv) {
        SRunner *sr;
        int failed;

        /* The helpers are this very binary; argv[0] (not /proc/self/exe, which is valgrind's
         * own binary under valgrind). */
        if (!realpath(argv[0], self_path)) {
                perror("realpath");
                return EXIT_FAILURE;
        }
        if (argc >= 2 && streq(argv[1], "--helper"))
                return helper_main(argc - 2, argv + 2);

        /* A mount namespace of our own, and a directory for the test mounts with a tmpfs of
         * its own: the mounts and files of the tests are invisible to the rest of the machine,
         * and vanish with the last process of the run even when a failing test never reaches
         * its teardown. (Without root this fails; the tests then say why.) */
        (void) snprintf(base, sizeof(base), "%s/test-rtp-run-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(base) || unshare(CLONE_NEWNS) < 0 ||
            mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("test-rtp-base", base, "tmpfs", 0, "size=16m,mode=0755") < 0)
                fprintf(stderr, "Failed to make a private mount namespace: %m\n");

        if (engine_global_init() < 0 || !(rules = rules_compile())) {
                fprintf(stderr, "Failed to set up the engine\n");
                return EXIT_FAILURE;
        }
        sr = srunner_create(rtp_suite());
        srunner_run_all(sr, CK_VERBOSE);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        engine_rules_unref(rules);
        engine_global_done();
        (void) umount2(base, MNT_DETACH);
        (void) rmdir(base);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
