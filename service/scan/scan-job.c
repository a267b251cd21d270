/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One on-demand scan: a walker thread and N worker threads joined by a bounded queue of open
 * files.
 *
 * The walker owns the directory descriptors; it opens each candidate file itself with
 * openat(O_NOFOLLOW) relative to its already-open parent, so no symlink anywhere below a root is
 * ever followed and no path is resolved twice. Workers own each queued fd from dequeue to close;
 * they scan through it and never reopen by path. Counters are atomics the main thread reads;
 * detections wait in a list guarded by a mutex until the main thread drains them. The job never
 * touches daemon state.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "scan/scan.h"
#include "util/strv.h"

#define SCAN_QUEUE_SIZE 256
#define SCAN_MAX_DEPTH 256

typedef struct ScanItem {
        int fd;
        char *path;
        struct stat st;
} ScanItem;

typedef struct PendingDetection PendingDetection;
struct PendingDetection {
        PendingDetection *next;
        ScanDetection d;
};

struct ScanJob {
        char **roots;
        bool one_filesystem;
        unsigned n_threads;
        EngineRules *rules;
        uint64_t generation;
        ExclusionSet *exclusions;
        EngineScanOptions options;
        char **ignored_types;
        VerdictCache *cache;
        RestoredSet *restored;          /* a reference of the job's own */

        pthread_t walker;
        pthread_t *workers;
        unsigned n_started;             /* walker + workers that were created */
        atomic_uint n_running;          /* threads that have not finished yet */
        bool joined;

        pthread_mutex_t lock;           /* the queue, walk_done and the detections */
        pthread_cond_t not_empty, not_full;
        ScanItem queue[SCAN_QUEUE_SIZE];
        size_t head, count;
        bool walk_done;
        PendingDetection *detections, **detections_tail;

        atomic_bool cancelled;
        atomic_bool walk_failed;        /* no root could be opened */
        atomic_uint_fast64_t files_scanned, files_cached, files_failed, files_excluded;
        atomic_uint_fast64_t bytes_scanned, threats_found, files_total;
        atomic_bool walk_finished;

        int event_fd;
};

static const char * const scan_kind_names[_SCAN_KIND_MAX] = {
        [SCAN_KIND_QUICK] = "quick",
        [SCAN_KIND_FULL] = "full",
        [SCAN_KIND_CUSTOM] = "custom",
};

static const char * const scan_state_names[_SCAN_STATE_MAX] = {
        [SCAN_STATE_RUNNING] = "running",
        [SCAN_STATE_SUCCEEDED] = "succeeded",
        [SCAN_STATE_FAILED] = "failed",
        [SCAN_STATE_CANCELLED] = "cancelled",
};

const char *scan_kind_to_string(ScanKind k) {
        return k >= 0 && k < _SCAN_KIND_MAX ? scan_kind_names[k] : NULL;
}

ScanKind scan_kind_from_string(const char *s) {
        for (ScanKind k = 0; s && k < _SCAN_KIND_MAX; k++)
                if (streq(s, scan_kind_names[k]))
                        return k;
        return _SCAN_KIND_INVALID;
}

const char *scan_state_to_string(ScanState s) {
        return s >= 0 && s < _SCAN_STATE_MAX ? scan_state_names[s] : NULL;
}

ScanState scan_state_from_string(const char *s) {
        for (ScanState k = 0; s && k < _SCAN_STATE_MAX; k++)
                if (streq(s, scan_state_names[k]))
                        return k;
        return _SCAN_STATE_INVALID;
}

static void scan_job_wake(ScanJob *job) {
        uint64_t one = 1;

        (void) !write(job->event_fd, &one, sizeof(one));
}

/* ---- the queue ---- */

/* Takes ownership of item's fd and path; false (and nothing taken) when cancelled. */
static bool queue_push(ScanJob *job, ScanItem *item) {
        pthread_mutex_lock(&job->lock);
        while (job->count == SCAN_QUEUE_SIZE && !atomic_load(&job->cancelled))
                pthread_cond_wait(&job->not_full, &job->lock);
        if (atomic_load(&job->cancelled)) {
                pthread_mutex_unlock(&job->lock);
                return false;
        }
        job->queue[(job->head + job->count) % SCAN_QUEUE_SIZE] = *item;
        job->count++;
        /* Workers sleep only on an empty queue: waking one per item beyond that is wasted. */
        if (job->count <= job->n_threads)
                pthread_cond_signal(&job->not_empty);
        pthread_mutex_unlock(&job->lock);
        return true;
}

/* False when there is nothing more to do. */
static bool queue_pop(ScanJob *job, ScanItem *ret) {
        pthread_mutex_lock(&job->lock);
        while (job->count == 0 && !job->walk_done)
                pthread_cond_wait(&job->not_empty, &job->lock);
        if (job->count == 0) {
                pthread_mutex_unlock(&job->lock);
                return false;
        }
        *ret = job->queue[job->head];
        job->head = (job->head + 1) % SCAN_QUEUE_SIZE;
        job->count--;
        /* The walker sleeps only on a full queue: wake it once half has drained, not per file
         * (a context switch per file was measurable in the benchmark). */
        if (job->count == SCAN_QUEUE_SIZE / 2)
                pthread_cond_signal(&job->not_full);
        pthread_mutex_unlock(&job->lock);
        return true;
}

static void queue_close(ScanJob *job) {
        pthread_mutex_lock(&job->lock);
        job->walk_done = true;
        pthread_cond_broadcast(&job->not_empty);
        pthread_mutex_unlock(&job->lock);
}

static void thread_exit(ScanJob *job) {
        if (atomic_fetch_sub(&job->n_running, 1) == 1)
                scan_job_wake(job);
}

/* ---- the walker ---- */

static bool statfs_is_pseudo(int fd) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return false;
        switch ((unsigned long) sfs.f_type) {
        case PROC_SUPER_MAGIC:
        case SYSFS_MAGIC:
        case DEVPTS_SUPER_MAGIC:
        case CGROUP_SUPER_MAGIC:
        case CGROUP2_SUPER_MAGIC:
        case SECURITYFS_MAGIC:
        case DEBUGFS_MAGIC:
        case TRACEFS_MAGIC:
        case PSTOREFS_MAGIC:
        case BPF_FS_MAGIC:
        case HUGETLBFS_MAGIC:
        case BINFMTFS_MAGIC:
        case EFIVARFS_MAGIC:
        case NSFS_MAGIC:
        case SELINUX_MAGIC:
                return true;
        default:
                return false;
        }
}

static char *path_child(const char *parent, const char *name) {
        char *p;
        size_t n = strlen(parent);

        if (asprintf(&p, "%s%s%s", parent, n > 0 && parent[n - 1] == '/' ? "" : "/", name) < 0)
                return NULL;
        return p;
}

/* A file restored from the quarantine lately and unchanged since. */
static bool scan_job_restored(ScanJob *job, const VerdictKey *key) {
        struct timespec ts;

        if (restored_set_size(job->restored) == 0)
                return false;
        clock_gettime(CLOCK_REALTIME, &ts);
        return restored_set_contains(job->restored, key,
                                     (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000);
}

/* Opens a regular file found by the walk and queues it, unless excluded or cached. */
static void walk_file(ScanJob *job, int dir_fd, const char *name, char *path,
                      const struct stat *st) {
        ScanItem item = { .fd = -EBADF, .path = path };
        VerdictKey key;

        atomic_fetch_add(&job->files_total, 1);
        if (job->exclusions &&
            exclusion_set_match_file(job->exclusions, EXCLUSION_SCOPE_EPP, path)) {
                atomic_fetch_add(&job->files_excluded, 1);
                free(path);
                return;
        }
        verdict_key_from_stat(&key, st, job->generation);
        if (scan_job_restored(job, &key)) {
                atomic_fetch_add(&job->files_excluded, 1);
                free(path);
                return;
        }
        if (job->cache && verdict_cache_lookup(job->cache, &key)) {
                atomic_fetch_add(&job->files_cached, 1);
                free(path);
                return;
        }

        /* O_NONBLOCK: the entry may have been swapped for a FIFO since fstatat(). */
        item.fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (item.fd < 0 || fstat(item.fd, &item.st) < 0) {
                atomic_fetch_add(&job->files_failed, 1);
                closep(&item.fd);
                free(path);
                return;
        }
        if (!queue_push(job, &item)) {
                close(item.fd);
                free(path);
        }
}

typedef struct WalkFrame {
        DIR *dir;
        char *path;
} WalkFrame;

/* Depth-first over one directory tree, with an explicit stack so that depth costs no C stack. */
static void walk_tree(ScanJob *job, int root_fd, const char *root_path, dev_t root_dev) {
        WalkFrame stack[SCAN_MAX_DEPTH];
        size_t depth = 0;

        stack[0].dir = fdopendir(root_fd);
        if (!stack[0].dir) {
                close(root_fd);
                atomic_fetch_add(&job->files_failed, 1);
                return;
        }
        stack[0].path = strdup(root_path);
        if (!stack[0].path) {
                closedir(stack[0].dir);
                return;
        }

        for (;;) {
                WalkFrame *top = &stack[depth];
                struct dirent *de;
                struct stat st;
                char *child;
                int fd;

                if (atomic_load(&job->cancelled) || !(de = readdir(top->dir))) {
                        closedir(top->dir);
                        free(top->path);
                        if (depth == 0)
                                return;
                        depth--;
                        continue;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(top->dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        atomic_fetch_add(&job->files_failed, 1);
                        continue;
                }
                if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                        continue;       /* symlinks, devices, FIFOs, sockets */
                child = path_child(top->path, de->d_name);
                if (!child) {
                        atomic_fetch_add(&job->files_failed, 1);
                        continue;
                }
                if (S_ISREG(st.st_mode)) {
                        walk_file(job, dirfd(top->dir), de->d_name, child, &st);
                        continue;
                }

                /* A directory: stay on one filesystem if asked; skip excluded trees whole. */
                if ((job->one_filesystem && st.st_dev != root_dev) ||
                    (job->exclusions && exclusion_set_match_directory(
                                                job->exclusions, EXCLUSION_SCOPE_EPP, child))) {
                        free(child);
                        continue;
                }
                fd = openat(dirfd(top->dir), de->d_name,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || depth + 1 >= SCAN_MAX_DEPTH ||
                    (st.st_dev != root_dev && statfs_is_pseudo(fd))) {
                        if (fd < 0 || depth + 1 >= SCAN_MAX_DEPTH)
                                atomic_fetch_add(&job->files_failed, 1);
                        closep(&fd);
                        free(child);
                        continue;
                }
                stack[depth + 1].dir = fdopendir(fd);
                if (!stack[depth + 1].dir) {
                        close(fd);
                        free(child);
                        atomic_fetch_add(&job->files_failed, 1);
                        continue;
                }
                stack[depth + 1].path = child;
                depth++;
        }
}

/* A root is what the user or the scan kind named: it is opened as named (a symlink given as a
 * root is followed, deliberately); nothing below it is. */
static bool walk_root(ScanJob *job, const char *root) {
        struct stat st;
        int fd;

        fd = open(root, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return false;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return false;
        }
        if (S_ISDIR(st.st_mode)) {
                if (statfs_is_pseudo(fd)) {
                        close(fd);
                        return true;
                }
                walk_tree(job, fd, root, st.st_dev);
        } else if (S_ISREG(st.st_mode)) {
                char *path = strdup(root);
                ScanItem item = { .fd = fd, .path = path, .st = st };
                VerdictKey key;

                atomic_fetch_add(&job->files_total, 1);
                verdict_key_from_stat(&key, &st, job->generation);
                if (!path || scan_job_restored(job, &key) ||
                    (job->exclusions && exclusion_set_match_file(job->exclusions,
                                                                 EXCLUSION_SCOPE_EPP, root))) {
                        if (path)
                                atomic_fetch_add(&job->files_excluded, 1);
                        close(fd);
                        free(path);
                } else if (job->cache && verdict_cache_lookup(job->cache, &key)) {
                        atomic_fetch_add(&job->files_cached, 1);
                        close(fd);
                        free(path);
                } else if (!queue_push(job, &item)) {
                        close(fd);
                        free(path);
                }
        } else
                close(fd);
        return true;
}

static void *walker_main(void *userdata) {
        ScanJob *job = userdata;
        bool any = false;

        for (char **r = job->roots; r && *r && !atomic_load(&job->cancelled); r++)
                any = walk_root(job, *r) || any;
        if (!any && strv_length(job->roots) > 0 && !atomic_load(&job->cancelled))
                atomic_store(&job->walk_failed, true);
        atomic_store(&job->walk_finished, true);
        queue_close(job);
        thread_exit(job);
        return NULL;
}

/* ---- the workers ---- */

static void detection_push(ScanJob *job, const EngineResult *res) {
        PendingDetection *p = calloc(1, sizeof(*p));

        if (!p)
                return;
        p->d.path = strdup(res->path ?: "");
        /* A member that could not be copied makes the detection incomplete: dropped at the
         * drain like any other failed copy, never reported as the file itself. */
        p->d.member = res->member_path ? strdup(res->member_path) : NULL;
        p->d.threat_name = strdup(res->threat_name ?: "");
        p->d.threat_type = strdup(res->threat_type ?: "");
        p->d.sha256 = strdup(res->sha256);
        p->d.dev = res->dev;
        p->d.ino = res->ino;
        if (res->member_path && !p->d.member)
                p->d.path = mfree(p->d.path);
        pthread_mutex_lock(&job->lock);
        *job->detections_tail = p;
        job->detections_tail = &p->next;
        pthread_mutex_unlock(&job->lock);
        scan_job_wake(job);
}

static void worker_scan(ScanJob *job, EngineScanner *scanner, ScanItem *item) {
        EngineResult res = ENGINE_RESULT_INIT;
        VerdictKey key;
        int r;

        r = engine_scan_fd(scanner, job->rules, item->fd, item->path, &job->options, &res);
        if (r < 0) {
                atomic_fetch_add(&job->files_failed, 1);
                return;
        }
        switch (res.verdict) {
        case ENGINE_VERDICT_DETECTED:
                atomic_fetch_add(&job->files_scanned, 1);
                atomic_fetch_add(&job->threats_found, 1);
                detection_push(job, &res);
                break;
        case ENGINE_VERDICT_CLEAN:
                atomic_fetch_add(&job->files_scanned, 1);
                if (job->cache && !(res.notes & ENGINE_NOTE_FILE_CHANGED)) {
                        verdict_key_from_stat(&key, &item->st, job->generation);
                        verdict_cache_insert(job->cache, &key);
                }
                break;
        case ENGINE_VERDICT_ERROR:
                atomic_fetch_add(&job->files_failed, 1);
                break;
        default:
                break;
        }
        atomic_fetch_add(&job->bytes_scanned, res.bytes_scanned);
        engine_result_done(&res);
}

static void *worker_main(void *userdata) {
        ScanJob *job = userdata;
        EngineScanner *scanner = engine_scanner_new();
        ScanItem item;

        while (queue_pop(job, &item)) {
                if (scanner && !atomic_load(&job->cancelled))
                        worker_scan(job, scanner, &item);
                else if (!scanner)
                        atomic_fetch_add(&job->files_failed, 1);
                close(item.fd);
                free(item.path);
        }
        engine_scanner_free(scanner);
        thread_exit(job);
        return NULL;
}

/* ---- the job ---- */

static int thread_create(pthread_t *t, void *(*fn)(void *), void *arg) {
        sigset_t all, old;
        int r;

        /* Threads must not take the daemon's signals: those go to the main loop's signalfd. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(t, NULL, fn, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return r;
}

static ScanJob *scan_job_alloc(const ScanJobConfig *c) {
        ScanJob *job = calloc(1, sizeof(*job));

        if (!job)
                return NULL;
        job->event_fd = -EBADF;
        pthread_mutex_init(&job->lock, NULL);
        pthread_cond_init(&job->not_empty, NULL);
        pthread_cond_init(&job->not_full, NULL);
        job->detections_tail = &job->detections;
        job->roots = strv_copy(c->roots);
        job->ignored_types = c->engine_options.ignored_types ?
                                     strv_copy(c->engine_options.ignored_types) : NULL;
        job->workers = calloc(c->n_threads, sizeof(pthread_t));
        job->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        job->one_filesystem = c->one_filesystem;
        job->n_threads = c->n_threads;
        job->rules = engine_rules_ref(c->rules);
        job->generation = c->generation;
        job->exclusions = exclusion_set_ref(c->exclusions);
        job->options = c->engine_options;
        job->options.ignored_types = job->ignored_types;
        job->cache = c->cache;
        job->joined = true;     /* until threads exist */
        job->restored = restored_set_ref(c->restored);
        return job;
}

int scan_job_start(const ScanJobConfig *config, ScanJob **ret) {
        _cleanup_(scan_job_freep) ScanJob *job = NULL;
        int r;

        if (!config->rules || config->n_threads < 1 || config->n_threads > 64)
                return -EINVAL;
        job = scan_job_alloc(config);
        if (!job)
                return -ENOMEM;
        if (!job->roots || !job->workers || job->event_fd < 0 ||
            (config->engine_options.ignored_types && !job->ignored_types))
                return job->event_fd < 0 ? negative_errno() : -ENOMEM;

        job->joined = false;
        atomic_store(&job->n_running, config->n_threads + 1);
        r = thread_create(&job->walker, walker_main, job);
        if (r < 0) {
                atomic_store(&job->n_running, 0);
                job->joined = true;
                return r;
        }
        job->n_started = 1;
        for (unsigned i = 0; i < config->n_threads; i++) {
                r = thread_create(&job->workers[i], worker_main, job);
                if (r < 0) {
                        /* Without a single worker nothing would be scanned: fail (the cleanup
                         * stops the walker). With some, they finish the job. */
                        atomic_fetch_sub(&job->n_running, config->n_threads - i);
                        if (i == 0)
                                return r;
                        break;
                }
                job->n_started++;
        }
        *ret = TAKE_PTR(job);
        return 0;
}

void scan_job_cancel(ScanJob *job) {
        atomic_store(&job->cancelled, true);
        pthread_mutex_lock(&job->lock);
        pthread_cond_broadcast(&job->not_full);
        pthread_cond_broadcast(&job->not_empty);
        pthread_mutex_unlock(&job->lock);
}

int scan_job_get_fd(ScanJob *job) {
        return job->event_fd;
}

static void scan_job_join(ScanJob *job) {
        if (job->joined)
                return;
        if (job->n_started > 0)
                pthread_join(job->walker, NULL);
        for (unsigned i = 1; i < job->n_started; i++)
                pthread_join(job->workers[i - 1], NULL);
        job->joined = true;
}

static void detection_free(PendingDetection *p) {
        free(p->d.path);
        free(p->d.member);
        free(p->d.threat_name);
        free(p->d.threat_type);
        free(p->d.sha256);
        free(p);
}

int scan_job_drain(ScanJob *job, void (*on_detection)(const ScanDetection *d, void *userdata),
                   void *userdata, ScanState *ret_state) {
        PendingDetection *list;
        uint64_t v;
        bool ended;

        (void) !read(job->event_fd, &v, sizeof(v));
        ended = atomic_load(&job->n_running) == 0;

        pthread_mutex_lock(&job->lock);
        list = job->detections;
        job->detections = NULL;
        job->detections_tail = &job->detections;
        pthread_mutex_unlock(&job->lock);

        while (list) {
                PendingDetection *next = list->next;

                if (on_detection && list->d.path && list->d.threat_name && list->d.threat_type &&
                    list->d.sha256)
                        on_detection(&list->d, userdata);
                detection_free(list);
                list = next;
        }
        if (!ended)
                return 0;

        scan_job_join(job);
        if (ret_state)
                *ret_state = atomic_load(&job->cancelled) ? SCAN_STATE_CANCELLED :
                             atomic_load(&job->walk_failed) ? SCAN_STATE_FAILED :
                                                              SCAN_STATE_SUCCEEDED;
        return 1;
}

void scan_job_get_counters(ScanJob *job, ScanCounters *ret) {
        bool done = atomic_load(&job->walk_finished);

        *ret = (ScanCounters) {
                .files_scanned = atomic_load(&job->files_scanned),
                .files_cached = atomic_load(&job->files_cached),
                .files_failed = atomic_load(&job->files_failed),
                .files_excluded = atomic_load(&job->files_excluded),
                .bytes_scanned = atomic_load(&job->bytes_scanned),
                .threats_found = atomic_load(&job->threats_found),
                .files_total = done ? atomic_load(&job->files_total) : 0,
                .walk_done = done,
        };
}

ScanJob *scan_job_free(ScanJob *job) {
        if (!job)
                return NULL;
        scan_job_cancel(job);
        scan_job_join(job);
        /* Files still queued after a cancel were never scanned. */
        for (size_t i = 0; i < job->count; i++) {
                ScanItem *it = &job->queue[(job->head + i) % SCAN_QUEUE_SIZE];
                close(it->fd);
                free(it->path);
        }
        while (job->detections) {
                PendingDetection *next = job->detections->next;
                detection_free(job->detections);
                job->detections = next;
        }
        closep(&job->event_fd);
        engine_rules_unref(job->rules);
        exclusion_set_unref(job->exclusions);
        strv_free(job->ignored_types);
        strv_free(job->roots);
        restored_set_unref(job->restored);
        free(job->workers);
        pthread_cond_destroy(&job->not_full);
        pthread_cond_destroy(&job->not_empty);
        pthread_mutex_destroy(&job->lock);
        return mfree(job);
}
