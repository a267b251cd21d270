/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy in force: a typed, immutable snapshot of the effective settings, built once per
 * change from the Settings layers. Readers get enums, booleans, numbers and string sets instead
 * of looking settings up by name, and "is this setting managed" is answered here.
 *
 * policy_diff() tells which aspects of the daemon (real-time protection, the update schedule,
 * ...) a change touches, from one table in policy.c that names every setting once with the
 * aspects it belongs to: a new setting is one line there.
 *
 * A Policy is never changed after policy_new(); the manager swaps the whole snapshot.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "settings/settings.h"

typedef enum PolicyEnforcement {
        POLICY_ENFORCEMENT_REAL_TIME,   /* blocks on access */
        POLICY_ENFORCEMENT_PASSIVE,     /* reports on access, never blocks or remediates */
        POLICY_ENFORCEMENT_ON_DEMAND,   /* no real-time protection */
        _POLICY_ENFORCEMENT_MAX,
        _POLICY_ENFORCEMENT_INVALID = -22,
} PolicyEnforcement;

/* Aspects of the daemon that settings feed, a bit mask. */
enum {
        POLICY_ASPECT_RTP = UINT64_C(1) << 0,           /* real-time protection's configuration */
        POLICY_ASPECT_UPDATE = UINT64_C(1) << 1,        /* the update timer and sources */
        POLICY_ASPECT_THREAT_LIMITS = UINT64_C(1) << 2, /* history retention and size */
        POLICY_ASPECT_THREAT_ACTIONS = UINT64_C(1) << 3,/* remediation and allowed threats */
        POLICY_ASPECT_SCAN_DEFAULTS = UINT64_C(1) << 4, /* engine options, threads */
        POLICY_ASPECT_EXCLUSIONS = UINT64_C(1) << 5,
        POLICY_ASPECT_EDR = UINT64_C(1) << 6,
        POLICY_ASPECT_NETWORK_PROTECTION = UINT64_C(1) << 7,
        POLICY_ASPECT_CLOUD = UINT64_C(1) << 8,         /* cloud service, proxy, diagnostics */
        POLICY_ASPECT_LOGGING = UINT64_C(1) << 9,       /* log rotation */
        POLICY_ASPECT_FEATURES = UINT64_C(1) << 10,     /* feature switches */
        _POLICY_ASPECT_ALL = (UINT64_C(1) << 11) - 1,
};

typedef struct Policy {
        PolicyEnforcement enforcement;
        bool behavior_monitoring;
        bool scan_archives;
        bool compute_hash;
        bool rtp_statistics;
        bool mute_noexec_mounts;        /* nonExecMountPolicy "mute" */
        bool scan_after_update;
        unsigned scan_threads;          /* maximumOnDemandScanThreads */
        char **allowed_threats;         /* threat names left alone */
        char **disallowed_actions;      /* threat actions a client may not take */
        char **threat_type_actions;     /* type, action, type, action, ... NULL */
        char **unmonitored_filesystems;

        bool update_automatic;          /* automaticDefinitionUpdateEnabled */
        uint64_t update_interval_sec;
        const char *update_url;         /* NULL: none */
        bool offline_update;
        const char *offline_update_url; /* NULL: none */
        bool offline_update_fallback;   /* to update_url when the offline mirror fails */
        const char *proxy;              /* NULL: none */
        unsigned definitions_max_age_days;

        unsigned retention_days;        /* scanResultsRetentionDays */
        unsigned history_max_items;     /* scanHistoryMaximumItems */
        unsigned restoration_exclusion_sec;

        char **edr_tags;                /* key, value, ... NULL */
        const char *network_protection_level;
        bool diagnostic_optional;       /* cloudService.diagnosticLevel "optional" */

        /* Internal: the effective value and "managed" of every setting, in the table's order. */
        struct PolicyEntry *entries;
        size_t n_entries;
} Policy;

/* Builds the snapshot of settings. Returns 0, or < 0 (-ENOMEM); *ret is the caller's. */
int policy_new(const Settings *settings, Policy **ret);
Policy *policy_free(Policy *p);
static inline void policy_freep(Policy **p) {
        if (*p)
                (void) policy_free(*p);
}

/* The aspects whose settings differ between old and new (old NULL: every aspect). Exclusion
 * lists are not kept in the snapshot (they are compiled into an ExclusionSet and can be long):
 * their changes come from the names the settings layer reports, through
 * policy_aspects_of_names(). */
uint64_t policy_diff(const Policy *old, const Policy *new);
/* The aspects the named settings belong to; unknown names belong to none. */
uint64_t policy_aspects_of_names(char * const *names);
/* The aspects of one setting, or 0 when the name is not in the table. */
uint64_t policy_aspects_of(const char *name);
/* Whether the managed policy sets this setting (false for unknown names). */
bool policy_is_managed(const Policy *p, const char *name);
/* Whether the table names this setting (every setting of the schema must be there). */
bool policy_knows(const char *name);

/* The action threatTypeSettings names for a threat type: "block" when it names none. */
const char *policy_threat_type_action(const Policy *p, const char *type);
/* Whether allowedThreats names this threat. */
bool policy_threat_allowed(const Policy *p, const char *name);
/* Whether disallowedThreatActions forbids this action ("allow", "restore", ...). */
bool policy_action_disallowed(const Policy *p, const char *action);

const char *policy_enforcement_to_string(PolicyEnforcement e);
PolicyEnforcement policy_enforcement_from_string(const char *s);
/* One word per aspect ("rtp", "update", ...): for logs and tests. */
const char *policy_aspect_to_string(uint64_t aspect);
