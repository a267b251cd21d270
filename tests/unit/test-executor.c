/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of service/executor without a bus: a real sd-event loop and the real worker thread.
 * Order, done on the loop's thread, merging by key, the bound, errors, and shutdown with jobs
 * still queued.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "executor/executor.h"
#include "util/macro.h"

#define MAX_EVENTS 128

/* What the jobs saw, shared by all jobs of one test. */
typedef struct Log {
        pthread_mutex_t lock;
        int ran[MAX_EVENTS];            /* ids, in the order run was called */
        size_t n_ran;
        int done_ids[MAX_EVENTS];       /* ids, in the order done was called */
        int done_results[MAX_EVENTS];
        size_t n_done;
        pthread_t loop_thread;
        bool run_on_loop_thread;        /* a run was called on the loop's thread */
        bool done_off_loop_thread;      /* a done was called elsewhere */
        int gate[2];                    /* a pipe: the gate job waits until it can read */
        Executor *executor;             /* for done callbacks that submit more */
        unsigned gate_waiters;          /* gate jobs that reached the gate */
} Log;

typedef struct TestJob {
        Log *log;
        int id;
        int result;                     /* what run returns */
        bool gate;                      /* wait for the gate first */
        bool submit_more;               /* done submits job id + 100 */
} TestJob;

static Log *log_new(void) {
        Log *l = calloc(1, sizeof(*l));

        ck_assert_ptr_nonnull(l);
        pthread_mutex_init(&l->lock, NULL);
        l->loop_thread = pthread_self();
        ck_assert_int_eq(pipe(l->gate), 0);
        return l;
}

static void log_free(Log *l) {
        close(l->gate[0]);
        close(l->gate[1]);
        pthread_mutex_destroy(&l->lock);
        free(l);
}

static void gate_open(Log *l) {
        char c = 'x';

        ck_assert_int_eq(write(l->gate[1], &c, 1), 1);
}

static int test_run(void *userdata) {
        TestJob *j = userdata;
        char c;

        if (j->gate) {
                pthread_mutex_lock(&j->log->lock);
                j->log->gate_waiters++;
                pthread_mutex_unlock(&j->log->lock);
                ck_assert_int_eq(read(j->log->gate[0], &c, 1), 1);
        }
        pthread_mutex_lock(&j->log->lock);
        if (pthread_equal(pthread_self(), j->log->loop_thread))
                j->log->run_on_loop_thread = true;
        j->log->ran[j->log->n_ran++] = j->id;
        pthread_mutex_unlock(&j->log->lock);
        return j->result;
}

static void submit(Log *l, int id, int result, const char *key, bool cancellable, bool gate,
                   int expect);

static void test_done(int result, void *userdata) {
        TestJob *j = userdata;
        Log *l = j->log;

        pthread_mutex_lock(&l->lock);
        if (!pthread_equal(pthread_self(), l->loop_thread))
                l->done_off_loop_thread = true;
        l->done_ids[l->n_done] = j->id;
        l->done_results[l->n_done++] = result;
        pthread_mutex_unlock(&l->lock);
        if (j->submit_more)
                submit(l, j->id + 100, 0, NULL, true, false, 0);
        free(j);
}

static TestJob *test_job(Log *l, int id, int result, bool gate) {
        TestJob *j = calloc(1, sizeof(*j));

        ck_assert_ptr_nonnull(j);
        *j = (TestJob) { .log = l, .id = id, .result = result, .gate = gate };
        return j;
}

static void submit(Log *l, int id, int result, const char *key, bool cancellable, bool gate,
                   int expect) {
        TestJob *j = test_job(l, id, result, gate);
        int r = executor_submit(l->executor, &(ExecutorJob) {
                .key = key, .run = test_run, .done = test_done, .userdata = j,
                .cancellable = cancellable,
        });

        ck_assert_int_eq(r, expect);
        if (r < 0)
                free(j);
}

/* Waits until n gate jobs are running on the worker (so no longer queued). */
static void wait_gate_waiters(Log *l, unsigned n) {
        unsigned k = 0;

        for (int i = 0; i < 10000; i++) {
                pthread_mutex_lock(&l->lock);
                k = l->gate_waiters;
                pthread_mutex_unlock(&l->lock);
                if (k >= n)
                        break;
                usleep(1000);
        }
        ck_assert_uint_ge(k, n);
}

static size_t log_n_done(Log *l) {
        size_t n;

        pthread_mutex_lock(&l->lock);
        n = l->n_done;
        pthread_mutex_unlock(&l->lock);
        return n;
}

/* Runs the loop until n done callbacks were called (or 10 s passed: a failure). */
static void loop_until_done(sd_event *ev, Log *l, size_t n) {
        for (int i = 0; i < 1000 && log_n_done(l) < n; i++)
                ck_assert_int_ge(sd_event_run(ev, 10 * 1000), 0);
        ck_assert_uint_eq(log_n_done(l), n);
}

static sd_event *event_new(void) {
        sd_event *ev = NULL;

        ck_assert_int_ge(sd_event_new(&ev), 0);
        return ev;
}

START_TEST(test_order_and_threads) {
        sd_event *ev = event_new();
        Log *l = log_new();

        ck_assert_int_eq(executor_new(ev, 64, &l->executor), 0);
        for (int i = 0; i < 50; i++)
                submit(l, i, i % 3 == 0 ? -EIO : i, NULL, false, false, 0);
        loop_until_done(ev, l, 50);
        ck_assert_uint_eq(l->n_ran, 50);
        for (int i = 0; i < 50; i++) {
                ck_assert_int_eq(l->ran[i], i);
                ck_assert_int_eq(l->done_ids[i], i);
                /* Errors and positive results reach done unchanged. */
                ck_assert_int_eq(l->done_results[i], i % 3 == 0 ? -EIO : i);
        }
        ck_assert(!l->run_on_loop_thread);
        ck_assert(!l->done_off_loop_thread);
        ck_assert_uint_eq(executor_pending(l->executor), 0);
        l->executor = executor_free(l->executor);
        log_free(l);
        sd_event_unref(ev);
}
END_TEST

START_TEST(test_merge_by_key) {
        sd_event *ev = event_new();
        Log *l = log_new();

        ck_assert_int_eq(executor_new(ev, 8, &l->executor), 0);
        /* The gate job holds the worker, so everything after it stays queued. */
        submit(l, 1, 0, NULL, false, true, 0);
        submit(l, 2, 0, "history", false, false, 0);
        submit(l, 3, 0, NULL, false, false, 0);
        submit(l, 4, 0, "history", false, false, 0);
        submit(l, 5, 0, "other", false, false, 0);
        submit(l, 6, 0, "history", false, false, 0);
        /* 2 and 4 were superseded: their done came without run. */
        loop_until_done(ev, l, 2);
        ck_assert_int_eq(l->done_ids[0], 2);
        ck_assert_int_eq(l->done_results[0], EXECUTOR_SUPERSEDED);
        ck_assert_int_eq(l->done_ids[1], 4);
        ck_assert_int_eq(l->done_results[1], EXECUTOR_SUPERSEDED);
        gate_open(l);
        loop_until_done(ev, l, 6);
        /* 6 ran where 2 was queued: before 3. */
        ck_assert_uint_eq(l->n_ran, 4);
        ck_assert_int_eq(l->ran[0], 1);
        ck_assert_int_eq(l->ran[1], 6);
        ck_assert_int_eq(l->ran[2], 3);
        ck_assert_int_eq(l->ran[3], 5);
        /* A job with the key of the running one is queued, not merged: the running one may
         * have read its input already. */
        submit(l, 7, 0, "history", false, true, 0);
        wait_gate_waiters(l, 2);
        submit(l, 8, 0, "history", false, false, 0);
        gate_open(l);
        loop_until_done(ev, l, 8);
        ck_assert_int_eq(l->ran[4], 7);
        ck_assert_int_eq(l->ran[5], 8);
        ck_assert(!l->done_off_loop_thread);
        l->executor = executor_free(l->executor);
        log_free(l);
        sd_event_unref(ev);
}
END_TEST

START_TEST(test_bounded) {
        sd_event *ev = event_new();
        Log *l = log_new();

        ck_assert_int_eq(executor_new(ev, 3, &l->executor), 0);
        submit(l, 1, 0, NULL, false, true, 0);
        /* Wait until the worker holds the gate job, so that it no longer counts as queued. */
        wait_gate_waiters(l, 1);
        submit(l, 2, 0, "k", false, false, 0);
        submit(l, 3, 0, NULL, false, false, 0);
        submit(l, 4, 0, NULL, false, false, 0);
        submit(l, 5, 0, NULL, false, false, -ENOBUFS);
        /* A merge takes no new place: accepted although the queue is full. */
        submit(l, 6, 0, "k", false, false, 0);
        ck_assert_int_eq(executor_submit(l->executor, &(ExecutorJob) { .run = test_run }),
                         -EINVAL);
        gate_open(l);
        loop_until_done(ev, l, 5);
        ck_assert_uint_eq(l->n_ran, 4);
        ck_assert_int_eq(l->ran[1], 6);
        l->executor = executor_free(l->executor);
        log_free(l);
        sd_event_unref(ev);
}
END_TEST

static void *open_gate_later(void *userdata) {
        usleep(200 * 1000);
        gate_open(userdata);
        return NULL;
}

START_TEST(test_shutdown_with_jobs_queued) {
        sd_event *ev = event_new();
        Log *l = log_new();
        pthread_t opener;
        TestJob *j;

        ck_assert_int_eq(executor_new(ev, 16, &l->executor), 0);
        submit(l, 1, 0, NULL, false, true, 0);
        submit(l, 2, 0, NULL, true, false, 0);          /* cancelled */
        submit(l, 3, -ENOSPC, "w", false, false, 0);    /* runs: a write must reach the disk */
        j = test_job(l, 4, 0, false);                   /* runs, and its done submits 104 */
        j->submit_more = true;
        ck_assert_int_eq(executor_submit(l->executor, &(ExecutorJob) {
                .run = test_run, .done = test_done, .userdata = j,
        }), 0);
        submit(l, 5, 0, NULL, true, false, 0);          /* cancelled */
        /* The gate opens only once executor_free() has begun, which must wait for it. */
        ck_assert_int_eq(pthread_create(&opener, NULL, open_gate_later, l), 0);
        l->executor = executor_free(l->executor);
        pthread_join(opener, NULL);

        /* Every done was called before executor_free() returned, in order, on this thread. */
        ck_assert_uint_eq(l->n_done, 6);
        ck_assert_int_eq(l->done_ids[0], 1);
        ck_assert_int_eq(l->done_results[0], 0);
        ck_assert_int_eq(l->done_ids[1], 2);
        ck_assert_int_eq(l->done_results[1], -ECANCELED);
        ck_assert_int_eq(l->done_ids[2], 3);
        ck_assert_int_eq(l->done_results[2], -ENOSPC);
        ck_assert_int_eq(l->done_ids[3], 4);
        ck_assert_int_eq(l->done_results[3], 0);
        /* Submitted by a done during shutdown: run inline. */
        ck_assert_int_eq(l->done_ids[4], 104);
        ck_assert_int_eq(l->done_results[4], 0);
        ck_assert_int_eq(l->done_ids[5], 5);
        ck_assert_int_eq(l->done_results[5], -ECANCELED);
        ck_assert_uint_eq(l->n_ran, 4);
        ck_assert_int_eq(l->ran[0], 1);
        ck_assert_int_eq(l->ran[1], 3);
        ck_assert_int_eq(l->ran[2], 4);
        ck_assert_int_eq(l->ran[3], 104);
        ck_assert(!l->done_off_loop_thread);
        log_free(l);
        sd_event_unref(ev);
}
END_TEST

START_TEST(test_invalid) {
        sd_event *ev = event_new();
        Executor *e = NULL;

        ck_assert_int_eq(executor_new(ev, 0, &e), -EINVAL);
        ck_assert_ptr_null(e);
        ck_assert_int_eq(executor_new(NULL, 4, &e), -EINVAL);
        ck_assert_ptr_null(executor_free(NULL));
        ck_assert_int_eq(executor_submit(NULL, &(ExecutorJob) {}), -EINVAL);
        sd_event_unref(ev);
}
END_TEST

static Suite *executor_suite(void) {
        Suite *s = suite_create("executor");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_order_and_threads);
        tcase_add_test(tc, test_merge_by_key);
        tcase_add_test(tc, test_bounded);
        tcase_add_test(tc, test_shutdown_with_jobs_queued);
        tcase_add_test(tc, test_invalid);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(executor_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
