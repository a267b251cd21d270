/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's one context: the event loop, the settings layers, the policy snapshot built from
 * them and the state that `mdatp health` reports. Everything here is owned and changed by the
 * main thread only.
 *
 * The manager_* functions are the product logic behind the D-Bus adapters in bus/: they
 * validate, apply, persist and return outcomes. Every change ends in manager_commit(), which
 * rebuilds the policy, reapplies what depends on the aspects that changed and raises typed
 * events (ManagerEvent) for the one subscriber, bus/, which alone turns them into signals,
 * PropertiesChanged and deferred replies. Nothing here knows D-Bus.
 */
#pragma once

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "definitions/definitions.h"
#include "engine/engine.h"
#include "policy/policy.h"
#include "executor/executor.h"
#include "quarantine/quarantine.h"
#include "rtp/rtp.h"
#include "scan/scan.h"
#include "settings/settings.h"
#include "threats/threats.h"
#include "update/update.h"
#include "util/log.h"

typedef struct Manager Manager;
typedef struct UpdateJob UpdateJob;

typedef struct ManagerConfig {
        const char *state_dir;          /* local settings, machine id, persisted log level */
        const char *managed_dir;        /* directory of mdatp_managed.json */
        const char *shipped_definitions_dir;    /* the pack installed with the product */
        const char *definitions_key;    /* PEM public key that signs definition packs */
} ManagerConfig;

/* One on-demand scan, running or recently finished; published as Scans/<id>. */
typedef struct ManagerScan ManagerScan;

/* What the manager tells its subscriber, raised at the end of each state change (after the
 * state is consistent), in the order the changes happened: a settings change comes before the
 * health change it causes. */
typedef enum ManagerEventType {
        MANAGER_EVENT_SETTINGS_CHANGED,         /* .names: settings whose effective value changed */
        MANAGER_EVENT_HEALTH_CHANGED,           /* the health issues changed (Healthy too) */
        MANAGER_EVENT_LOG_LEVEL_CHANGED,
        MANAGER_EVENT_DEFINITIONS_CHANGED,      /* version, status, update times or errors */
        MANAGER_EVENT_RTP_CHANGED,              /* enabled, mode or error */
        MANAGER_EVENT_SCAN_ADDED,               /* .scan: new, by a client or the daemon */
        MANAGER_EVENT_SCAN_CHANGED,             /* .scan, .names: its properties that changed */
        MANAGER_EVENT_SCAN_FINISHED,            /* .scan: ended; the last scan changed too */
        MANAGER_EVENT_SCANS_RUNNING_CHANGED,    /* whether a scan runs changed */
        MANAGER_EVENT_THREAT_DETECTED,          /* .threat */
        MANAGER_EVENT_UPDATE_FINISHED,          /* .update: an update or connectivity test */
        MANAGER_EVENT_REQUEST_FINISHED,         /* .request: a command that answers later */
        _MANAGER_EVENT_MAX,
        _MANAGER_EVENT_INVALID = -EINVAL,
} ManagerEventType;

/* The outcome of an update or connectivity test, for the calls that waited on it. */
typedef struct ManagerUpdateResult {
        bool connectivity_only;
        int r;                  /* 0 updated, UPDATE_UP_TO_DATE, < 0 failed; connectivity:
                                 * the number of failed endpoints, or < 0 */
        const char *error;      /* why an update failed, or NULL */
        char **lines;           /* connectivity: one line per endpoint tried */
} ManagerUpdateResult;

/* The end of a command whose slow part ran on the executor (a restore, the manual quarantine,
 * Definitions.Restore): the function that started it handed back id; the subscriber answers
 * whoever asked with what the synchronous call would have returned. */
typedef struct ManagerRequestResult {
        uint64_t id;
        int r;                  /* 0, an outcome of the command (MANAGER_THREAT_*), or < 0 */
        const char *message;    /* why, with an outcome; or NULL */
        const char *result;     /* on success: a restore's path, the definitions' version */
} ManagerRequestResult;

/* Valid only during the call to the handler: copy what must outlive it. */
typedef struct ManagerEvent {
        ManagerEventType type;
        char **names;
        const ManagerScan *scan;
        const Threat *threat;
        const ManagerUpdateResult *update;
        const ManagerRequestResult *request;
} ManagerEvent;

typedef void (*ManagerEventHandler)(Manager *m, const ManagerEvent *e, void *userdata);
const char *manager_event_type_to_string(ManagerEventType t);
struct ManagerScan {
        Manager *manager;
        ManagerScan *next;              /* newest first */
        uint32_t id;
        ScanKind kind;
        char **paths;
        ScanState state;
        ScanCounters counters;          /* as last published */
        uint64_t start_usec, end_usec;
        char *error;
        /* Started by the daemon for itself (after a definition update), not by a client: it
         * yields to a client's scan and is started again afterwards (manager-scan.c). */
        bool by_daemon;
        bool cancel_requested;          /* someone asked it to stop: it is not started again */
        /* Detections not recorded, or not remediated as the policy asks, by the time the scan
         * ended (the disk was full, ...): they wait in manager-pending.c. */
        uint64_t threats_failed;
        /* Quarantines of its detections still on the executor: the scan finishes after them,
         * in finish_state, once its job has ended (finish_waiting). */
        unsigned remediations_running;
        bool finish_waiting;
        ScanState finish_state;
        ScanJob *job;                   /* while running */
        sd_event_source *job_source;
        sd_event_source *progress_timer;
};

/* A threat waiting to be quarantined (or its quarantine to be recorded) again. */
typedef struct PendingRemediation {
        char id[THREAT_ID_LENGTH + 1];
} PendingRemediation;

/* Jobs that may wait for the executor: a storm of detections queues one quarantine copy each;
 * beyond this they wait in manager-pending.c like copies the disk refused. */
#define MANAGER_EXECUTOR_MAX_QUEUED 16384

/* How many finished scans keep their D-Bus object (the history keeps more). */
#define MANAGER_SCANS_KEPT 16

struct Manager {
        sd_event *event;
        /* The one subscriber to change events (bus/), or NULL: see manager_set_event_handler(). */
        ManagerEventHandler event_handler;
        void *event_userdata;
        /* The policy in force, rebuilt by manager_commit() after every change (never NULL
         * after manager_new()). */
        Policy *policy;
        /* Slow work off the main loop (executor/): history writes, quarantine copies, the
         * verdict cache save, compiles. Freed first: its done callbacks use the rest. */
        Executor *executor;
        uint64_t last_request;          /* the id of the newest deferred command */

        Settings *settings;
        char *state_dir;
        char *managed_dir;
        char *managed_path;             /* managed_dir/mdatp_managed.json */
        char *local_settings_path;      /* state_dir/settings.json */
        /* state_dir/settings.json.journal: exclusions added since settings.json was written
         * (settings.h, settings_journal_*), so that an add writes one line, not every
         * setting. The hash and size are of settings.json as last written or read; journal
         * size 0 means there is no journal yet; not usable after a failed append, until the
         * next whole write. */
        char *local_journal_path;
        uint64_t local_settings_hash;
        size_t local_settings_size;
        size_t local_journal_size;
        bool local_journal_usable;
        char *log_level_path;           /* state_dir/log_level */

        /* Why the last managed policy load failed, or NULL when it did not: a health issue. */
        char *managed_policy_error;
        char **managed_policy_warnings; /* unknown keys of the policy in force, as health issues */
        /* Why the local settings could not be loaded at start, or NULL. */
        char *local_settings_error;

        char *machine_guid;
        /* The health issues as last announced (HEALTH_CHANGED), kept by manager_health_refresh()
         * only to tell when they change. */
        char **health_issues;
        /* The effective exclusions, compiled when first asked for (manager-exclusions.c) and
         * extended in place of a recompilation when one is added; NULL until then. */
        ExclusionSet *exclusions;           /* as last published, to emit changes exactly */

        sd_event_source *managed_watch;         /* inotify on managed_dir */
        sd_event_source *managed_poll;          /* while managed_dir does not exist */
        sd_event_source *managed_reload;        /* debounce of inotify bursts */

        /* Detection: the current definitions, compiled. Swapped whole; scans hold their own
         * reference, so a swap never disturbs one in flight. */
        char *shipped_definitions_dir;
        char *definitions_key_path;
        DefinitionsStore *definitions_store;
        EngineRules *rules;             /* NULL when no pack could be loaded */
        uint64_t rules_generation;      /* names the loaded definitions; part of cache keys */
        char *definitions_version;
        uint64_t definitions_updated_usec;
        const char *definitions_source; /* "current", "previous", "shipped" */
        char *definitions_error;        /* why none could be loaded: a health issue */
        EVP_PKEY *definitions_key;      /* verifies packs, installed and downloaded */
        uint64_t definitions_swaps;     /* rules swapped in so far: a reload read before is stale */
        /* Reloads (SIGHUP) queued or running on the executor, which reads the store meanwhile:
         * no update or Restore may change it then. */
        unsigned definitions_loads;
        bool definitions_key_is_test;   /* it is the published test key: a health issue */

        /* Updates (manager-update.c). */
        UpdateJob *update_job;          /* the running update */
        UpdateJob *connectivity_job;    /* the running connectivity test: never blocks an update */
        sd_event_source *update_timer;
        sd_event_source *update_overdue_timer;  /* re-evaluates health when one becomes overdue */
        unsigned update_failures;       /* in a row, for the backoff */
        char *update_fail_reason;       /* of the last update; NULL after a success */
        uint64_t last_update_usec;
        uint64_t update_success_usec;   /* last successful update (or "up to date"), 0 = none */
        uint64_t update_due_since_usec; /* when automatic updates last started to apply */
        uint64_t update_delay_usec;     /* the timer's last chosen delay (jittered), 0: none */
        uint64_t update_next_usec;      /* when the timer fires (CLOCK_REALTIME µs), 0: none */

        VerdictCache *verdict_cache;
        char *verdict_cache_path;
        ThreatStore *threats;
        char *threats_error;            /* the threat history could not be read */
        ScanHistory scan_history;
        ManagerScan *scans;             /* newest first */
        ManagerScan *running_scan;
        uint32_t detecting_scan;        /* the scan whose detection is being handled, 0: none */
        /* Detections waiting for the next batched write of the threat history, and the
         * deferred event that writes them (manager-detection.c). */
        ThreatBacklog *staged_records;
        sd_event_source *staged_flush;
        /* Detections recorded in memory whose write of the history has not landed yet: told
         * and remediated once it has (manager-detection.c). */
        struct HistoryWait *history_waits;
        size_t n_history_waits;
        sd_event_source *history_tell;  /* tells the rest of a long list at the next turn */
        /* Quarantines done on the executor whose records move to quarantined at the next
         * batched write (manager-threats.c). */
        struct StagedStatus *staged_statuses;
        size_t n_staged_statuses;
        sd_event_source *staged_status_flush;
        /* The daemon's own scan waiting for the running scan to end, because it yielded to a
         * client's scan or was asked for while one ran: the newest request only. */
        bool scan_queued;
        ScanKind scan_queued_kind;
        char **scan_queued_paths;
        uint32_t scan_queued_from;      /* the scan that yielded, 0: none */

        /* Threat handling (manager-threats.c). */
        QuarantineStore *quarantine;
        char *quarantine_error;         /* the quarantine could not be opened: a health issue */
        RestoredSet *restored;          /* files restored lately, left alone until they expire;
                                         * swapped whole, shared with scan jobs and RTP */
        sd_event_source *retention_timer;

        /* What the state directory could not take yet (manager-pending.c). */
        ThreatBacklog *pending_records; /* detections the history could not record */
        int pending_record_error;       /* why, for health */
        PendingRemediation *pending_remediations;
        size_t n_pending_remediations;
        uint64_t pending_remediations_dropped;
        int pending_remediation_error;
        int scan_history_error;         /* < 0: the scan history in memory is not saved */
        sd_event_source *pending_timer;
        uint64_t pending_backoff_usec;  /* 0: nothing failed since the last success */

        /* Real-time protection (manager-rtp.c). */
        Rtp *rtp;                       /* NULL while off or failed */
        sd_event_source *rtp_source;
        bool rtp_available;
        char *rtp_error;                /* why it is not running although asked for */
        RtpSelfCheckState rtp_self_check_state; /* the last one taken into rtp_error */
};

int manager_new(const ManagerConfig *config, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        if (*m)
                (void) manager_free(*m);
}

/* Loads persisted state (local settings, log level, machine id) and the managed policy, and
 * starts watching the policy. Failures to read a file become health issues, not errors. */
int manager_startup(Manager *m);

/* Re-reads the managed policy. On success the new policy replaces the old one; on failure the
 * old one stays and managed_policy_error says why. *ret_changed gets the names of settings
 * whose effective value changed (may be NULL). */
int manager_reload_managed(Manager *m, char ***ret_changed);

/* Outcomes of manager_set_setting()/manager_reset_setting() besides 0 (changed) and < 0. */
enum {
        MANAGER_SETTING_UNCHANGED = 1,  /* the local value already was that */
        MANAGER_SETTING_MANAGED,        /* locked by the managed policy */
        MANAGER_SETTING_ADMIN_ONLY,     /* merge policy admin_only refuses local items */
        MANAGER_SETTING_INVALID,        /* *ret_message says why */
        MANAGER_SETTING_TOO_LARGE,      /* the local settings would not fit the file that is read
                                         * back at start: nothing changed; *ret_message says so */
};

/* Sets the local value of def and persists it atomically; on a failed write nothing changes.
 * Returns 0, one of the outcomes above, or < 0. *ret_changed: settings whose effective value
 * changed. */
int manager_set_setting(Manager *m, const SettingDef *def, const SettingValue *value,
                        char **ret_message, char ***ret_changed);
int manager_reset_setting(Manager *m, const SettingDef *def, char ***ret_changed);
/* Adds e to the local exclusion list def without rewriting the list: validates e alone, appends
 * it, persists, and rolls back on a failed write. The caller has made sure e is not there yet.
 * Same outcomes as manager_set_setting(). */
int manager_add_local_exclusion(Manager *m, const SettingDef *def, const SettingExclusion *e,
                                char **ret_message, char ***ret_changed);

/* Sets the log level now; with persist, also across restarts. */
int manager_set_log_level(Manager *m, LogLevel level, bool persist);

/* Diagnostics (manager-diagnostic.c): the support bundle, a zip archive in a sealed anonymous
 * file positioned at its start (*ret_fd, the caller's). Changes nothing. */
int manager_diagnostic_bundle(Manager *m, int *ret_fd);

/* The current health issues, one sentence each (caller frees). */
int manager_health_issues(Manager *m, char ***ret);

/* Detection (manager-detection.c): loads the best definition pack and compiles it. A failure
 * leaves the previous rules in place and sets definitions_error. */
int manager_load_definitions(Manager *m);
/* The same, read and compiled on the executor and swapped in on the main loop when done
 * (Definitions.* change then); -EBUSY while an update runs. */
int manager_load_definitions_async(Manager *m);
/* Definitions.Restore's slow half (manager_definitions_restore()): on the executor, drops the
 * downloaded packs, then loads and compiles the best one left; raises REQUEST_FINISHED with
 * request (result: the version in force; message: why not). -EBUSY while an update or a load
 * runs. */
int manager_load_definitions_restore(Manager *m, uint64_t request);
int manager_rules_from_pack(const DefinitionPack *pack, EngineRules **ret, char **ret_error);
void manager_swap_rules(Manager *m, EngineRules *rules, const DefinitionPack *pack,
                        const char *source);
void manager_scan_after_update(Manager *m);

/* Updates (manager-update.c). manager_update_start() raises UPDATE_FINISHED when done (the
 * subscriber answers whoever waits); -EBUSY while one of the same kind runs (an update and a
 * connectivity test run side by side), -ENOMEDIUM without a source. */
int manager_update_start(Manager *m, bool connectivity_only);
bool manager_update_running(Manager *m);
void manager_update_schedule(Manager *m);
void manager_update_before_scan(Manager *m);
const char *manager_update_source_uri(Manager *m);
/* Definitions.Restore: back to the shipped pack, on the executor. 0 with *ret_request (the
 * REQUEST_FINISHED that answers it), -EBUSY while an update or a reload runs, or < 0. */
int manager_definitions_restore(Manager *m, uint64_t *ret_request);
void manager_update_free(Manager *m);
/* An update is overdue when the last successful one is this many intervals old: one whole
 * interval missed, with room for the jitter (a tenth) and a slow download. */
#define MANAGER_UPDATE_OVERDUE_INTERVALS 2
/* Whether automatic updates are promised and the last successful one is older than
 * MANAGER_UPDATE_OVERDUE_INTERVALS intervals (a health issue). */
bool manager_update_overdue(Manager *m);
/* up_to_date, updating, stale, overdue or unavailable. */
const char *manager_definitions_status(Manager *m);

/* Records a detection in the threat history, tells clients and remediates by the enforcement
 * level and the threat's policy. A new detection is staged and recorded with the others of the
 * same loop iteration in one write (manager_threats_flush()); a failure then is counted in the
 * result of its scan (manager->detecting_scan when it was staged). Returns 0, or
 * MANAGER_DETECTION_PENDING when the record or the remediation could not be made for now: it
 * waits in manager-pending.c, and health says so. */
int manager_threat_detected(Manager *m, const ScanDetection *d, const char *source);
enum {
        MANAGER_DETECTION_PENDING = 300,
};
/* Records the detections manager_threat_detected() staged now, rather than at the end of this
 * loop iteration (a scan that ends reports what they became). */
void manager_threats_flush(Manager *m);
/* Writes the staged "quarantined" status changes now (manager_threats_flush() does too). */
void manager_threat_statuses_flush(Manager *m);
/* Records what is staged (without remediation) and frees the stage: at shutdown. */
void manager_detection_free(Manager *m);
/* Called by the threat store after each write it ran on the executor (a ThreatStoreSaveHandler):
 * tells and remediates the detections that write put on disk; a failure counts the others in
 * their scans' results and lets them wait (manager-pending.c) in memory. */
void manager_history_saved(ThreatStore *s, int result, void *userdata);
/* How many recorded detections wait for a write of the history that failed (health). */
size_t manager_history_unsaved(Manager *m);
/* The history's write failed: it waits, retried with backoff (manager-pending.c). */
void manager_pending_history(Manager *m, int error);
/* A record just made (after waiting): tells clients, logs and remediates as
 * manager_threat_detected() would have. Returns 0 or MANAGER_DETECTION_PENDING. */
int manager_threat_recorded(Manager *m, const char *id);
/* Quarantines the threat with this id if the policy says so and it still is active (or records
 * a quarantine the history missed). A transient failure (no space, I/O error) puts it in
 * the pending list: returns MANAGER_DETECTION_PENDING; otherwise 0 (done, not needed, or
 * impossible: then the threat stays active and the log says why). */
int manager_threat_remediate(Manager *m, const char *id);

/* Writes that wait for the disk (manager-pending.c). Each keeps what failed (bounded), retries on
 * a timer with backoff and reports itself in health until it is written. error: why it failed. */
int manager_pending_record(Manager *m, const ThreatRecordInput *in, int error);
int manager_pending_remediation(Manager *m, const char *id, int error, const char *why);
/* The result of a scan history save: a failure waits, a success is like manager_pending_wrote(). */
void manager_pending_scan_history(Manager *m, int error);
/* A write to the state directory succeeded: whatever waits is tried again soon. */
void manager_pending_wrote(Manager *m);
/* Appends a sentence per kind of waiting write to *issues. */
int manager_pending_health(Manager *m, char ***issues);
void manager_pending_free(Manager *m);

/* Threat handling (manager-threats.c). Outcomes besides 0 and < 0 (*ret_message says more): */
enum {
        MANAGER_THREAT_NOT_FOUND = 200, /* no such threat, or no quarantined copy of it */
        MANAGER_THREAT_DISALLOWED,      /* antivirusEngine.disallowedThreatActions forbids it */
        MANAGER_THREAT_REFUSED,         /* the operation cannot be done: *ret_message says why */
        MANAGER_THREAT_BUSY,            /* a restore of that file is under way */
};
/* Opens the quarantine, reconciles it with the threat history, starts the retention timer. */
int manager_threats_startup(Manager *m);
void manager_threats_free(Manager *m);
/* Whether the policy makes this detection one to move into the quarantine. */
bool manager_threat_should_quarantine(Manager *m, const Threat *t);
/* The commands below whose work is slow answer later: 0 means started, with *ret_request the
 * id of the REQUEST_FINISHED event that tells the outcome (0, or MANAGER_THREAT_REFUSED with its
 * message). Any other return is the outcome now (MANAGER_THREAT_*, *ret_message says why) or
 * < 0. The quarantine, the history and the grace change on the main loop when the work is done;
 * the copy runs on the executor. */
int manager_threat_quarantine(Manager *m, const char *id, uint64_t *ret_request,
                              char **ret_message);
int manager_threat_remove(Manager *m, const char *id, char **ret_message);
int manager_threat_remove_all(Manager *m, unsigned *ret_removed);
/* destination NULL or "": the original path. caller: who asked (NULL: root); anyone but root
 * gets the file only where they could create it, as their own, without setuid/setgid bits.
 * The finished event's result: where the file now is. A restore of an entry whose restore is
 * under way is MANAGER_THREAT_BUSY, as is its removal. */
int manager_threat_restore(Manager *m, const char *id, const char *destination,
                           const QuarantineCaller *caller, uint64_t *ret_request,
                           char **ret_message);
int manager_threat_restore_by_path(Manager *m, const char *original, const char *destination,
                                   const QuarantineCaller *caller, uint64_t *ret_request,
                                   char **ret_message);
/* Whether the file at path, while it is still the inode dev/ino, was restored lately and is
 * unchanged since (left alone). */
bool manager_threat_restored_recently(Manager *m, const char *path, uint64_t dev, uint64_t ino);
/* allowedThreats and threatTypeSettings through the local settings; outcomes are those of
 * manager_set_setting() plus MANAGER_THREAT_*. */
int manager_threat_allow(Manager *m, const char *name, bool allow, char **ret_message,
                         char ***ret_changed);
int manager_threat_type_policy_set(Manager *m, const char *type, const char *action,
                                   char **ret_message, char ***ret_changed);

/* The threat types whose policy (threatTypeSettings) is action; *ret may be NULL (none). */
int manager_threat_types_with_action(Manager *m, const char *action, char ***ret);

/* Engine options from the settings, shared by scans and real-time protection: *ret_ignored
 * (caller frees) backs opts->ignored_types; *ret_generation names the definitions and the
 * options a clean verdict was made under. */
int manager_engine_options(Manager *m, EngineScanOptions *opts, char ***ret_ignored,
                           uint64_t *ret_generation);

/* Real-time protection (manager-rtp.c): brings it in line with the settings, definitions and
 * exclusions (started, reconfigured or stopped). Failures become rtp_error. */
void manager_rtp_apply(Manager *m);
/* Tells the service manager (STATUS=, shown by `systemctl status`) how the machine is
 * protected now. */
void manager_rtp_notify_status(Manager *m);
/* The other processes holding fanotify marks, for health: a cached walk of /proc (rtp.h). */
int manager_rtp_conflicting_applications(Manager *m, char ***ret);
void manager_rtp_free(Manager *m);

/* The one subscriber to change events: handler(m, e, userdata) for every event, on the main
 * thread; NULL stops them. */
void manager_set_event_handler(Manager *m, ManagerEventHandler handler, void *userdata);
void *manager_event_userdata(Manager *m);
/* Raises one event (for the manager's own files). */
void manager_emit(Manager *m, const ManagerEvent *e);
/* A new id for a deferred command (never 0), and the REQUEST_FINISHED event that ends it. */
uint64_t manager_request_new(Manager *m);
void manager_request_finished(Manager *m, uint64_t id, int r, const char *message,
                              const char *result);

/* What changed besides settings, for manager_commit(). */
enum {
        MANAGER_CHANGE_DEFINITIONS = 1u << 0,   /* new rules were swapped in */
        MANAGER_CHANGE_EXCLUSION_ADDED = 1u << 1, /* the kept exclusion set was extended */
        MANAGER_CHANGE_RESTORED = 1u << 2,      /* a file was restored: RTP must leave it be */
};
/* Where every change ends: rebuilds the policy snapshot from the settings, diffs it with the one
 * in force, hands reapply work to the subsystems that declared interest in the aspects that
 * changed (a table in manager.c), then raises SETTINGS_CHANGED for changed (the names whose
 * effective value changed, may be NULL) and HEALTH_CHANGED if the issues changed. Returns the
 * aspects (POLICY_ASPECT_*) that were reapplied, or < 0 when the snapshot could not be built
 * (the old one stays; nothing is reapplied). */
int manager_commit(Manager *m, char **changed, unsigned flags);
/* Which aspect handlers manager_commit() runs for these aspects (for tests): a bitmask of
 * MANAGER_REAPPLY_*. */
enum {
        MANAGER_REAPPLY_EXCLUSIONS = 1u << 0,
        MANAGER_REAPPLY_UPDATE_TIMER = 1u << 1,
        MANAGER_REAPPLY_THREAT_LIMITS = 1u << 2,
        MANAGER_REAPPLY_RTP = 1u << 3,
};
unsigned manager_reapply_for(uint64_t aspects, unsigned flags);
/* Recomputes the health issues and raises HEALTH_CHANGED when they differ from the last. */
void manager_health_refresh(Manager *m);

/* Scans (manager-scan.c). A client's scan never waits for the daemon's own: while one of those
 * runs, manager_scan_start() cancels it and queues it again to start once no scan runs.
 * Outcomes besides 0 and < 0: */
enum {
        MANAGER_SCAN_BUSY = 1,          /* another on-demand scan runs */
        MANAGER_SCAN_NO_DEFINITIONS,    /* nothing to scan with */
        MANAGER_SCAN_INVALID,           /* *ret_message says why */
        MANAGER_SCAN_QUEUED,            /* the daemon's scan starts when the running one ends */
};
/* A client's scan: 0 (*ret set), BUSY only while another client's scan runs,
 * NO_DEFINITIONS, INVALID, or < 0. */
int manager_scan_start(Manager *m, ScanKind kind, char * const *paths, bool ignore_exclusions,
                       ManagerScan **ret, char **ret_message);
/* The daemon's own scan (exclusions apply): 0 (*ret set), QUEUED while any scan runs,
 * NO_DEFINITIONS, INVALID, or < 0. */
int manager_scan_start_daemon(Manager *m, ScanKind kind, char * const *paths, ManagerScan **ret,
                              char **ret_message);
void manager_scan_cancel(ManagerScan *s);
/* A quarantine of a detection of scan id was queued / is done (failed: it waits in
 * manager-pending.c). The scan finishes once its job and these are done. */
void manager_scan_remediation_started(Manager *m, uint32_t id);
void manager_scan_remediation_done(Manager *m, uint32_t id, bool failed);
/* A detection of scan id could not be recorded or remediated for now: its result says so. */
void manager_scan_threat_failed(Manager *m, uint32_t id);
ManagerScan *manager_scan_find(Manager *m, uint32_t id);
void manager_scans_free(Manager *m);
/* The most recent finished scan, for health: from memory or the persisted history. */
const ScanRecord *manager_last_scan(Manager *m);

/* Exclusions (manager-exclusions.c). The effective set for scans and real-time protection: a
 * new reference to the compiled set, compiling it when no set is kept. */
int manager_exclusion_set(Manager *m, ExclusionSet **ret);
/* The settings named in changed changed: forgets the kept set when an exclusion list is one. */
void manager_exclusions_changed(Manager *m, char **changed);
/* The effective exclusions gained e, and nothing else changed: extends the kept set. */
void manager_exclusions_added(Manager *m, const SettingExclusion *e);
/* kind: extension, file, folder, process; scope: epp or global. Outcomes besides 0 and < 0
 * are those of manager_set_setting(), plus: */
enum {
        MANAGER_EXCLUSION_NOT_FOUND = 100,      /* Remove: no such local exclusion */
        MANAGER_EXCLUSION_MANAGED,              /* Remove: it comes from the managed policy */
};
int manager_exclusion_add(Manager *m, const char *kind, const char *value, const char *scope,
                          char **ret_message, char ***ret_changed);
int manager_exclusion_remove(Manager *m, const char *kind, const char *value, const char *scope,
                             char **ret_message, char ***ret_changed);
