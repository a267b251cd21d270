/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The support bundle: renders what the daemon knows (settings with their layer, the managed
 * policy as found, exclusions, definitions, real-time protection, scans, health issues, the
 * recent log) and the system it runs on into a diagnostic bundle, and returns the archive as an
 * anonymous file. Health as `mdatp health` prints it is added by the client, which renders it.
 *
 * Runs on the main loop and changes nothing. It does not need a thread of its own because all it
 * reads is in memory or small files with bounded reads (DIAGNOSTIC_FILE_MAX each), and the whole
 * input is capped at DIAGNOSTIC_BUNDLE_MAX: compressing that is a few tens of milliseconds at
 * worst, less than one polkit round trip.
 */
#include <string.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "diagnostic/diagnostic.h"
#include "manager.h"
#include "util/fileio.h"
#include "util/strv.h"

/* Builds text with fprintf into a memory stream; the result goes into the bundle. */
typedef struct TextBuf {
        char *data;
        size_t size;
        FILE *f;
} TextBuf;

static void text_done(TextBuf *t) {
        if (t->f)
                (void) fclose(t->f);
        free(t->data);
        *t = (TextBuf) {};
}

/* Opens t for writing; what t held before (a previous entry's text) is freed first. */
static int text_open(TextBuf *t) {
        text_done(t);
        t->f = open_memstream(&t->data, &t->size);
        return t->f ? 0 : -ENOMEM;
}

/* Closes the stream and adds what it holds as the entry name. */
static int text_add(TextBuf *t, DiagnosticBundle *b, const char *name) {
        int r = fclose(t->f) == 0 ? 0 : -ENOMEM;

        t->f = NULL;
        return r < 0 ? r : diagnostic_bundle_add(b, name, t->data, t->size);
}

static int collect_system(DiagnosticBundle *b) {
        struct utsname u;
        int r;

        r = diagnostic_bundle_addf(b, "version.txt", "Product version: %s\n", MDATP_VERSION);
        if (r < 0)
                return r;
        if (uname(&u) < 0)
                r = diagnostic_bundle_note(b, "uname failed: %m");
        else
                r = diagnostic_bundle_addf(b, "system/uname.txt", "%s %s %s %s %s\n", u.sysname,
                                           u.nodename, u.release, u.version, u.machine);
        if (r < 0)
                return r;
        /* os-release(5): /etc first, /usr/lib when /etc has none. /etc/os-release is usually a
         * symlink into /usr/lib, and both belong to root, so resolving it is safe here; the
         * bundle itself never follows a final symlink. */
        _cleanup_free_ char *os_release = realpath("/etc/os-release", NULL);
        return diagnostic_bundle_add_file(b, "system/os-release",
                                          os_release ?: "/usr/lib/os-release");
}

static void print_exclusions(FILE *f, const char *setting, const SettingValue *v) {
        for (size_t i = 0; i < v->exclusions.n; i++) {
                const SettingExclusion *e = &v->exclusions.items[i];

                fprintf(f, "%s\t%s\t'%s'\t%s%s%s%s\n", setting, e->type, e->value,
                        e->is_directory ? "directory " : "",
                        e->scopes & EXCLUSION_SCOPE_EPP ? "epp" : "",
                        (e->scopes & EXCLUSION_SCOPE_EPP) && (e->scopes & EXCLUSION_SCOPE_GLOBAL) ?
                        "," : "",
                        e->scopes & EXCLUSION_SCOPE_GLOBAL ? "global" : "");
        }
}

/* settings.txt: every setting, its effective value and the layer it comes from; exclusions.txt:
 * the effective exclusion lists one item a line. */
static int collect_settings(Manager *m, DiagnosticBundle *b) {
        _cleanup_(text_done) TextBuf s = {}, x = {};
        int r;

        if (text_open(&s) < 0 || text_open(&x) < 0)
                return -ENOMEM;
        fprintf(s.f, "# setting\tlayer\teffective value\n");
        fprintf(x.f, "# setting\ttype\tvalue\tscopes\n");
        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                _cleanup_(setting_value_done) SettingValue v = {};
                _cleanup_free_ char *text = NULL;
                SettingSource source;

                r = settings_get(m->settings, def, &v, &source);
                if (r < 0)
                        return r;
                text = setting_value_to_string(&v);
                if (!text)
                        return -ENOMEM;
                fprintf(s.f, "%s\t%s\t%s\n", def->name, setting_source_to_string(source), text);
                if (def->type == SETTING_EXCLUSION_LIST)
                        print_exclusions(x.f, def->name, &v);
        }
        r = text_add(&s, b, "settings.txt");
        if (r >= 0)
                r = text_add(&x, b, "exclusions.txt");
        if (r < 0)
                return r;

        r = diagnostic_bundle_addf(b, "managed/status.txt", "%s\n",
                                   m->managed_policy_error ?: "The managed policy in effect "
                                   "is the one in this directory, or none when it is absent.");
        if (r >= 0)
                r = diagnostic_bundle_add_file(b, "managed/mdatp_managed.json", m->managed_path);
        if (r >= 0)
                r = diagnostic_bundle_add_file(b, "local/settings.json",
                                               m->local_settings_path);
        return r;
}

static int collect_definitions(Manager *m, DiagnosticBundle *b) {
        return diagnostic_bundle_addf(b, "definitions.txt",
                                      "status: %s\nversion: %s\nsource: %s\n"
                                      "updated_usec: %" PRIu64 "\nlast_update_usec: %" PRIu64
                                      "\nerror: %s\nlast_update_failure: %s\n",
                                      manager_definitions_status(m),
                                      m->definitions_version ?: "",
                                      m->definitions_source ?: "",
                                      m->definitions_updated_usec, m->last_update_usec,
                                      m->definitions_error ?: "",
                                      m->update_fail_reason ?: "");
}

/* State, counters and per-process statistics of real-time protection, and the other fanotify
 * users that may conflict with it. */
static int collect_rtp(Manager *m, DiagnosticBundle *b) {
        _cleanup_strv_free_ char **conflicting = NULL;
        _cleanup_(text_done) TextBuf t = {};
        RtpProcessStats *stats = NULL;
        RtpCounters c = {};
        size_t n = 0;
        int r;

        if (text_open(&t) < 0)
                return -ENOMEM;
        if (m->rtp)
                rtp_get_counters(m->rtp, &c);
        fprintf(t.f, "running: %s\navailable: %s\nerror: %s\n", m->rtp ? "yes" : "no",
                m->rtp_available ? "yes" : "no", m->rtp_error ?: "");
        fprintf(t.f, "events: %" PRIu64 "\nallowed: %" PRIu64 "\ndenied: %" PRIu64
                "\nscanned: %" PRIu64 "\ncached: %" PRIu64 "\nexcluded: %" PRIu64
                "\nself: %" PRIu64 "\ntimeouts: %" PRIu64 "\noverloads: %" PRIu64
                "\nerrors: %" PRIu64 "\noverflows: %" PRIu64 "\ndetections: %" PRIu64
                "\nmarked_mounts: %" PRIu64 "\nmax_latency_us: %" PRIu64 "\n",
                c.events, c.allowed, c.denied, c.scanned, c.cached, c.excluded, c.self,
                c.timeouts, c.overloads, c.errors, c.overflows, c.detections, c.marked_mounts,
                c.max_latency_us);
        r = text_add(&t, b, "real_time_protection/counters.txt");
        if (r < 0)
                return r;

        if (text_open(&t) < 0)
                return -ENOMEM;
        fprintf(t.f, "# pid\tfiles scanned\tscan time (ns)\tname\tpath\n");
        if (m->rtp && rtp_get_statistics(m->rtp, &stats, &n) >= 0) {
                for (size_t i = 0; i < n; i++)
                        fprintf(t.f, "%d\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\n", (int) stats[i].pid,
                                stats[i].files_scanned, stats[i].scan_time_ns, stats[i].name,
                                stats[i].path ?: "");
                rtp_process_stats_free(stats, n);
        }
        r = text_add(&t, b, "real_time_protection/statistics.txt");
        if (r < 0)
                return r;

        r = rtp_conflicting_applications(getpid(), &conflicting);
        if (r < 0)
                return diagnostic_bundle_note(b, "Conflicting applications could not be listed: %s",
                                              strerror(-r));
        _cleanup_free_ char *text = strv_join(conflicting, "\n");
        if (!text)
                return -ENOMEM;
        return diagnostic_bundle_addf(b, "conflicting_applications.txt", "%s%s", text,
                                      *text ? "\n" : "");
}

/* The scan list: running and recent scans as the daemon holds them, then the history. */
static int collect_scans(Manager *m, DiagnosticBundle *b) {
        _cleanup_(text_done) TextBuf t = {};

        if (text_open(&t) < 0)
                return -ENOMEM;
        fprintf(t.f, "# id\tkind\tstate\tstart_usec\tend_usec\tfiles scanned\tthreats\n");
        for (size_t i = 0; i < m->scan_history.n; i++) {
                const ScanRecord *s = &m->scan_history.items[i];

                fprintf(t.f, "%" PRIu32 "\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%"
                        PRIu64 "\n", s->id, scan_kind_to_string(s->kind),
                        scan_state_to_string(s->state), s->start_usec, s->end_usec,
                        s->files_scanned, s->threats_found);
        }
        for (ManagerScan *s = m->scans; s; s = s->next)
                if (s->state == SCAN_STATE_RUNNING)
                        fprintf(t.f, "%" PRIu32 "\t%s\trunning\t%" PRIu64 "\t0\t%" PRIu64 "\t%"
                                PRIu64 "\n", s->id, scan_kind_to_string(s->kind), s->start_usec,
                                s->counters.files_scanned, s->counters.threats_found);
        return text_add(&t, b, "scans.txt");
}

static int collect_health_and_log(Manager *m, DiagnosticBundle *b) {
        _cleanup_strv_free_ char **issues = NULL;
        _cleanup_free_ char *text = NULL, *log = NULL;
        size_t log_size = 0;
        int r;

        r = manager_health_issues(m, &issues);
        if (r < 0)
                return r;
        text = strv_join(issues, "\n");
        if (!text)
                return -ENOMEM;
        r = diagnostic_bundle_addf(b, "health_issues.txt", "%s%s", text, *text ? "\n" : "");
        if (r < 0)
                return r;
        r = log_ring_dump(&log, &log_size);
        if (r < 0)
                return r;
        return diagnostic_bundle_add(b, "mdatpd.log", log, log_size);
}

int manager_diagnostic_bundle(Manager *m, int *ret_fd) {
        _cleanup_(diagnostic_bundle_freep) DiagnosticBundle *b = NULL;
        int r;

        r = diagnostic_bundle_new(&b);
        if (r < 0)
                return r;
        r = collect_system(b);
        if (r >= 0)
                r = collect_settings(m, b);
        if (r >= 0)
                r = collect_definitions(m, b);
        if (r >= 0)
                r = collect_rtp(m, b);
        if (r >= 0)
                r = collect_scans(m, b);
        if (r >= 0)
                r = collect_health_and_log(m, b);
        if (r < 0)
                return r;
        return diagnostic_bundle_to_memfd(b, ret_fd);
}
