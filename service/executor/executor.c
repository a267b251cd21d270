/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The executor: one worker thread, a bounded FIFO of jobs, and an eventfd that wakes the sd-event
 * loop to call the jobs' done callbacks.
 *
 * State: the queue, the finished list and the flags are shared with the worker and guarded by
 * `lock`; the worker waits on `wake`. The event source, the eventfd's reading end and the call of
 * done callbacks belong to the loop's thread. A job's userdata belongs to the worker while run
 * runs and to the loop's thread before and after; the executor itself never looks into it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "executor/executor.h"
#include "util/macro.h"

/* The worker's nice value (per thread on Linux) and its I/O priority: best effort, lowest. */
#define EXECUTOR_NICE 10
#define IOPRIO_CLASS_BE 2
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_PRIO_VALUE(class, data) (((class) << 13) | (data))

typedef struct Job Job;
struct Job {
        Job *next;
        char *key;
        ExecutorRunFunc run;
        ExecutorDoneFunc done;
        void *userdata;
        bool cancellable;
        int result;
};

struct Executor {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        Job *queue_head, *queue_tail;   /* waiting, oldest first */
        size_t n_queued, max_queued;
        Job *done_head, *done_tail;     /* finished, done not called yet, oldest first */
        bool running;                   /* the worker is inside a run */
        bool stopping;                  /* executor_free() began: no more waiting for work */
        bool joined;                    /* the worker is gone: submissions run inline */
        bool thread_started;
        pthread_t thread;
        int event_fd;
        sd_event_source *event_source;
};

static Job *job_free(Job *j) {
        if (j) {
                free(j->key);
                free(j);
        }
        return NULL;
}

static void list_append(Job **head, Job **tail, Job *j) {
        j->next = NULL;
        if (*tail)
                (*tail)->next = j;
        else
                *head = j;
        *tail = j;
}

static Job *list_pop(Job **head, Job **tail) {
        Job *j = *head;

        if (j) {
                *head = j->next;
                if (!*head)
                        *tail = NULL;
                j->next = NULL;
        }
        return j;
}

/* Called with the lock held: hands a finished job to the loop. */
static void job_finished_locked(Executor *e, Job *j, int result) {
        uint64_t one = 1;

        j->result = result;
        list_append(&e->done_head, &e->done_tail, j);
        /* Cannot fail in a way that matters: the counter only has to be non-zero. */
        (void) !write(e->event_fd, &one, sizeof(one));
}

static void *executor_thread(void *userdata) {
        Executor *e = userdata;

        /* Background work yields to the main loop: on a busy machine the thread that answers the
         * bus gets the CPU first, and the disk serves others first. Best effort: a failure
         * leaves the thread at the daemon's priority. */
        (void) setpriority(PRIO_PROCESS, (id_t) gettid(), EXECUTOR_NICE);
        (void) syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int) gettid(),
                       IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7));

        pthread_mutex_lock(&e->lock);
        for (;;) {
                Job *j;
                int r;

                while (!e->queue_head && !e->stopping)
                        pthread_cond_wait(&e->wake, &e->lock);
                j = list_pop(&e->queue_head, &e->queue_tail);
                if (!j)
                        break;          /* stopping and nothing left */
                e->n_queued--;
                if (e->stopping && j->cancellable) {
                        job_finished_locked(e, j, -ECANCELED);
                        continue;
                }
                e->running = true;
                pthread_mutex_unlock(&e->lock);
                r = j->run(j->userdata);
                pthread_mutex_lock(&e->lock);
                e->running = false;
                job_finished_locked(e, j, r);
        }
        pthread_mutex_unlock(&e->lock);
        return NULL;
}

/* Calls the done callbacks of every finished job, oldest first, without the lock: a done may
 * submit more work. */
static void executor_dispatch(Executor *e) {
        for (;;) {
                Job *j;

                pthread_mutex_lock(&e->lock);
                j = list_pop(&e->done_head, &e->done_tail);
                pthread_mutex_unlock(&e->lock);
                if (!j)
                        return;
                j->done(j->result, j->userdata);
                job_free(j);
        }
}

static int executor_event_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Executor *e = userdata;
        uint64_t n;

        (void) !read(fd, &n, sizeof(n));
        executor_dispatch(e);
        return 0;
}

int executor_new(sd_event *event, size_t max_queued, Executor **ret) {
        Executor *e;
        sigset_t all, old;
        int r;

        if (!event || max_queued == 0 || !ret)
                return -EINVAL;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        pthread_mutex_init(&e->lock, NULL);
        pthread_cond_init(&e->wake, NULL);
        e->max_queued = max_queued;
        e->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (e->event_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = sd_event_add_io(event, &e->event_source, e->event_fd, EPOLLIN,
                            executor_event_handler, e);
        if (r < 0)
                goto fail;
        /* The worker must not take the daemon's signals: they are handled on the loop. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&e->thread, NULL, executor_thread, e);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                goto fail;
        e->thread_started = true;
        *ret = e;
        return 0;
fail:
        e->joined = true;
        executor_free(e);
        return r;
}

int executor_submit(Executor *e, const ExecutorJob *job) {
        Job *j, *superseded = NULL;
        bool inline_run;

        if (!e || !job || !job->run || !job->done)
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (Job) {
                .run = job->run,
                .done = job->done,
                .userdata = job->userdata,
                .cancellable = job->cancellable,
        };
        if (job->key && !(j->key = strdup(job->key)))
                return job_free(j), -ENOMEM;

        pthread_mutex_lock(&e->lock);
        inline_run = e->joined;
        if (!inline_run) {
                if (j->key)
                        for (Job *q = e->queue_head; q; q = q->next)
                                if (q->key && streq(q->key, j->key)) {
                                        superseded = q;
                                        break;
                                }
                if (superseded) {
                        /* The new job takes the old one's place, so that the order of
                         * everything else stays as submitted. */
                        Job tmp = *superseded;
                        superseded->run = j->run;
                        superseded->done = j->done;
                        superseded->userdata = j->userdata;
                        superseded->cancellable = j->cancellable;
                        j->run = tmp.run;
                        j->done = tmp.done;
                        j->userdata = tmp.userdata;
                        j->cancellable = tmp.cancellable;
                        job_finished_locked(e, j, EXECUTOR_SUPERSEDED);
                } else if (e->n_queued >= e->max_queued) {
                        pthread_mutex_unlock(&e->lock);
                        job_free(j);
                        return -ENOBUFS;
                } else {
                        list_append(&e->queue_head, &e->queue_tail, j);
                        e->n_queued++;
                        pthread_cond_signal(&e->wake);
                }
        }
        pthread_mutex_unlock(&e->lock);

        if (inline_run) {
                j->done(j->run(j->userdata), j->userdata);
                job_free(j);
        }
        return 0;
}

sd_event *executor_get_event(Executor *e) {
        return e ? sd_event_source_get_event(e->event_source) : NULL;
}

size_t executor_pending(Executor *e) {
        size_t n;

        if (!e)
                return 0;
        pthread_mutex_lock(&e->lock);
        n = e->n_queued + e->running;
        for (Job *j = e->done_head; j; j = j->next)
                n++;
        pthread_mutex_unlock(&e->lock);
        return n;
}

Executor *executor_free(Executor *e) {
        if (!e)
                return NULL;
        pthread_mutex_lock(&e->lock);
        e->stopping = true;
        pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(&e->lock);
        if (e->thread_started)
                pthread_join(e->thread, NULL);
        pthread_mutex_lock(&e->lock);
        e->joined = true;
        pthread_mutex_unlock(&e->lock);
        /* Everything queued has finished or been cancelled: tell the owners, in order. */
        executor_dispatch(e);
        sd_event_source_disable_unref(e->event_source);
        closep(&e->event_fd);
        pthread_cond_destroy(&e->wake);
        pthread_mutex_destroy(&e->lock);
        free(e);
        return NULL;
}
