/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A background executor for slow work the main loop must not wait for (file copies with fsync,
 * rewrites of state files, rule compiles).
 *
 * Jobs run one after another, in the order they were submitted, on one worker thread: `run`
 * there, then `done` on the thread that runs the sd-event loop the executor was attached to,
 * with run's result. One thread, not a pool: the work is bound by one disk, the machine may have
 * two cores shared with scans and real-time protection, and a single thread keeps the order of
 * writes to the same file the order of submission without any per-file locking.
 *
 * A job may carry a key. A job submitted while another with the same key is still queued (not
 * yet started) takes that job's place in the queue; the older job is not run, and its `done`
 * gets EXECUTOR_SUPERSEDED. That is how writes of a whole state file batch: only the newest
 * content is written, once, however many changes came in while the worker was busy.
 *
 * `done` is called exactly once for every job executor_submit() accepted, always on the loop's
 * thread (or the thread calling executor_free()), and owns the job's userdata from then on.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

typedef struct Executor Executor;

/* Runs on the worker thread; touches only its userdata. Returns 0/positive or -errno. */
typedef int (*ExecutorRunFunc)(void *userdata);
/* Runs on the loop's thread with run's result, EXECUTOR_SUPERSEDED or -ECANCELED. */
typedef void (*ExecutorDoneFunc)(int result, void *userdata);

enum {
        /* A newer job with the same key took this one's place before it started. */
        EXECUTOR_SUPERSEDED = 1000,
};

typedef struct ExecutorJob {
        const char *key;                /* NULL: never merged; copied */
        ExecutorRunFunc run;            /* required */
        ExecutorDoneFunc done;          /* required */
        void *userdata;
        /* At shutdown a cancellable job that has not started is not run: done gets
         * -ECANCELED. Others (writes that must reach the disk) run to their end. */
        bool cancellable;
} ExecutorJob;

/* Attaches a new executor with its worker thread to event. max_queued bounds the jobs waiting
 * (not counting the running one), >= 1. */
int executor_new(sd_event *event, size_t max_queued, Executor **ret);

/* Queues a copy of *job. Returns 0, -ENOBUFS when max_queued jobs wait already (a merge never
 * fails that way), -EINVAL for a job without run or done, -ENOMEM. On failure done is never
 * called and the caller keeps userdata. After executor_free() started to shut down, the job
 * runs at once on the calling thread (run, then done) and 0 is returned. */
int executor_submit(Executor *e, const ExecutorJob *job);

/* The event loop done callbacks run on (for owners that batch their submissions per turn). */
sd_event *executor_get_event(Executor *e);

/* How many jobs wait or run (for health and tests). */
size_t executor_pending(Executor *e);

/* Shuts down deterministically: the running job finishes; the queued ones are taken in order,
 * cancellable ones get done(-ECANCELED), the others run; the worker is joined, and every done
 * not yet called is called, in submission order, on the calling thread, before this returns.
 * A done that submits more work has it run inline. NULL-safe; returns NULL. */
Executor *executor_free(Executor *e);
static inline void executor_freep(Executor **e) {
        if (*e)
                (void) executor_free(*e);
}
