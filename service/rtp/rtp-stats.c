/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who opened a file, and per-process statistics: the name (comm) and executable of the process
 * behind an event, read from /proc when first needed, and a bounded table of files scanned and
 * scan time per process.
 *
 * Owns the statistics table: RTP_STATS_MAX entries allocated once, an open-addressing index by
 * pid, and a least-recently-updated list whose head is dropped when a new process needs room.
 * Workers update it under its mutex; the main thread copies it out. The /proc reads happen
 * outside the mutex. Nothing here touches events or answers them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtp/rtp-internal.h"

/* ---- the process behind an event ---- */

const char *rtp_process_comm(RtpProcess *p) {
        char path[64];
        ssize_t n = -1;
        int fd;

        if (!p->comm_read) {
                p->comm_read = true;
                (void) snprintf(path, sizeof(path), "/proc/%d/comm", (int) p->pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        n = read(fd, p->comm, sizeof(p->comm) - 1);
                        close(fd);
                }
                p->comm[MAX(n, (ssize_t) 0)] = '\0';
                p->comm[strcspn(p->comm, "\n")] = '\0';
        }
        return p->comm[0] ? p->comm : NULL;
}

const char *rtp_process_exe(RtpProcess *p) {
        char path[64];
        ssize_t n;

        if (!p->exe_read) {
                p->exe_read = true;
                (void) snprintf(path, sizeof(path), "/proc/%d/exe", (int) p->pid);
                n = readlink(path, p->exe, sizeof(p->exe) - 1);
                p->exe[MAX(n, (ssize_t) 0)] = '\0';
        }
        return p->exe[0] == '/' ? p->exe : NULL;
}

/* ---- the statistics table ---- */

#define RTP_STATS_SLOTS_BITS 13
#define RTP_STATS_SLOTS (1U << RTP_STATS_SLOTS_BITS)    /* index size: twice RTP_STATS_MAX */
_Static_assert(RTP_STATS_SLOTS >= 2 * RTP_STATS_MAX, "the index must stay half empty");
#define RTP_STATS_NONE UINT32_MAX

typedef struct RtpStatsEntry {
        pid_t pid;
        char name[17];
        char *path;
        uint64_t files_scanned, scan_time_ns;
        uint32_t older, newer;          /* the update-order list */
} RtpStatsEntry;

struct RtpStats {
        pthread_mutex_t lock;
        RtpStatsEntry entries[RTP_STATS_MAX];
        uint32_t index[RTP_STATS_SLOTS];        /* entry number or RTP_STATS_NONE */
        size_t n;
        uint32_t oldest, newest;
};

/* Fibonacci hashing: the top bits of the product, which every bit of the pid reaches. */
static size_t slot_home(pid_t pid) {
        return ((uint32_t) pid * UINT32_C(2654435761)) >> (32 - RTP_STATS_SLOTS_BITS);
}

/* The index slot holding pid, or the empty slot where it would go. */
static size_t slot_find(const RtpStats *s, pid_t pid) {
        size_t i = slot_home(pid);

        while (s->index[i] != RTP_STATS_NONE && s->entries[s->index[i]].pid != pid)
                i = (i + 1) & (RTP_STATS_SLOTS - 1);
        return i;
}

/* Removes the index slot i, moving later entries of the probe run back so that every entry
 * stays reachable from its home slot (linear probing without tombstones). */
static void slot_remove(RtpStats *s, size_t i) {
        size_t j = i;

        for (;;) {
                size_t home;

                j = (j + 1) & (RTP_STATS_SLOTS - 1);
                if (s->index[j] == RTP_STATS_NONE)
                        break;
                home = slot_home(s->entries[s->index[j]].pid);
                /* Entry j may fill the hole at i unless its home lies cyclically in (i, j]. */
                if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
                        continue;
                s->index[i] = s->index[j];
                i = j;
        }
        s->index[i] = RTP_STATS_NONE;
}

static void list_unlink(RtpStats *s, uint32_t e) {
        RtpStatsEntry *x = &s->entries[e];

        if (x->older != RTP_STATS_NONE)
                s->entries[x->older].newer = x->newer;
        else
                s->oldest = x->newer;
        if (x->newer != RTP_STATS_NONE)
                s->entries[x->newer].older = x->older;
        else
                s->newest = x->older;
}

static void list_append(RtpStats *s, uint32_t e) {
        s->entries[e].older = s->newest;
        s->entries[e].newer = RTP_STATS_NONE;
        if (s->newest != RTP_STATS_NONE)
                s->entries[s->newest].newer = e;
        else
                s->oldest = e;
        s->newest = e;
}

int rtp_stats_new(RtpStats **ret) {
        RtpStats *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        for (size_t i = 0; i < RTP_STATS_SLOTS; i++)
                s->index[i] = RTP_STATS_NONE;
        s->oldest = s->newest = RTP_STATS_NONE;
        *ret = s;
        return 0;
}

static void stats_clear_locked(RtpStats *s) {
        for (size_t i = 0; i < s->n; i++)
                s->entries[i].path = mfree(s->entries[i].path);
        for (size_t i = 0; i < RTP_STATS_SLOTS; i++)
                s->index[i] = RTP_STATS_NONE;
        s->n = 0;
        s->oldest = s->newest = RTP_STATS_NONE;
}

RtpStats *rtp_stats_free(RtpStats *s) {
        if (!s)
                return NULL;
        stats_clear_locked(s);
        pthread_mutex_destroy(&s->lock);
        return mfree(s);
}

void rtp_stats_clear(RtpStats *s) {
        pthread_mutex_lock(&s->lock);
        stats_clear_locked(s);
        pthread_mutex_unlock(&s->lock);
}

/* A new entry for pid at index slot `slot` (empty), taking over *path. When the table is full
 * the least recently updated process makes room. */
static RtpStatsEntry *stats_insert_locked(RtpStats *s, size_t slot, pid_t pid, const char *name,
                                          char **path) {
        uint32_t e;

        if (s->n < RTP_STATS_MAX)
                e = (uint32_t) s->n++;
        else {
                e = s->oldest;
                list_unlink(s, e);
                slot_remove(s, slot_find(s, s->entries[e].pid));
                free(s->entries[e].path);
                slot = slot_find(s, pid);       /* the removal may have moved the hole */
        }
        s->entries[e] = (RtpStatsEntry) { .pid = pid, .path = TAKE_PTR(*path) };
        (void) snprintf(s->entries[e].name, sizeof(s->entries[e].name), "%s", name);
        s->index[slot] = e;
        list_append(s, e);
        return &s->entries[e];
}

/* Moves entry e to the newest end of the update order and returns it. */
static RtpStatsEntry *stats_touch_locked(RtpStats *s, uint32_t e) {
        list_unlink(s, e);
        list_append(s, e);
        return &s->entries[e];
}

/* Adds to the counters of pid when it has an entry; false when it has none. */
static bool stats_add_if_known(RtpStats *s, pid_t pid, uint64_t scan_ns) {
        RtpStatsEntry *x = NULL;
        size_t slot;

        pthread_mutex_lock(&s->lock);
        slot = slot_find(s, pid);
        if (s->index[slot] != RTP_STATS_NONE) {
                x = stats_touch_locked(s, s->index[slot]);
                x->files_scanned++;
                x->scan_time_ns += scan_ns;
        }
        pthread_mutex_unlock(&s->lock);
        return x;
}

void rtp_stats_record(RtpStats *s, RtpProcess *p, uint64_t scan_ns) {
        _cleanup_free_ char *path = NULL;
        const char *name, *exe;
        RtpStatsEntry *x;
        size_t slot;

        if (stats_add_if_known(s, p->pid, scan_ns))
                return;

        /* A process seen for the first time: its name and executable, read without the lock
         * (another worker may add it meanwhile). */
        name = rtp_process_comm(p) ?: "unknown";
        exe = rtp_process_exe(p);
        path = exe ? strdup(exe) : NULL;

        pthread_mutex_lock(&s->lock);
        slot = slot_find(s, p->pid);
        if (s->index[slot] != RTP_STATS_NONE)
                x = stats_touch_locked(s, s->index[slot]);
        else
                x = stats_insert_locked(s, slot, p->pid, name, &path);
        x->files_scanned++;
        x->scan_time_ns += scan_ns;
        pthread_mutex_unlock(&s->lock);
}

int rtp_stats_snapshot(RtpStats *s, RtpProcessStats **ret, size_t *ret_n) {
        RtpProcessStats *l;
        size_t n = 0;

        pthread_mutex_lock(&s->lock);
        l = calloc(MAX(s->n, (size_t) 1), sizeof(RtpProcessStats));
        if (!l) {
                pthread_mutex_unlock(&s->lock);
                return -ENOMEM;
        }
        /* Most recently updated first. */
        for (uint32_t e = s->newest; e != RTP_STATS_NONE; e = s->entries[e].older) {
                const RtpStatsEntry *x = &s->entries[e];

                l[n] = (RtpProcessStats) {
                        .pid = x->pid,
                        .name = strdup(x->name),
                        .path = x->path ? strdup(x->path) : NULL,
                        .files_scanned = x->files_scanned,
                        .scan_time_ns = x->scan_time_ns,
                };
                n++;
                if (!l[n - 1].name || (x->path && !l[n - 1].path)) {
                        pthread_mutex_unlock(&s->lock);
                        rtp_process_stats_free(l, n);
                        return -ENOMEM;
                }
        }
        pthread_mutex_unlock(&s->lock);
        *ret = l;
        *ret_n = n;
        return 0;
}
