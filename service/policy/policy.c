/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The typed policy snapshot and its diff. Owns nothing but the snapshots it builds; reads the
 * Settings it is given and never changes them. The table below is the one place that names
 * settings for the daemon's logic: which aspects each belongs to, and which typed field it
 * fills.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "util/macro.h"
#include "util/strv.h"

#define RTP POLICY_ASPECT_RTP
#define UPD POLICY_ASPECT_UPDATE
#define LIM POLICY_ASPECT_THREAT_LIMITS
#define ACT POLICY_ASPECT_THREAT_ACTIONS
#define SCN POLICY_ASPECT_SCAN_DEFAULTS
#define EXC POLICY_ASPECT_EXCLUSIONS
#define EDR POLICY_ASPECT_EDR
#define NET POLICY_ASPECT_NETWORK_PROTECTION
#define CLD POLICY_ASPECT_CLOUD
#define LOG POLICY_ASPECT_LOGGING
#define FEA POLICY_ASPECT_FEATURES

/* Settings with a typed field; the others only take part in the diff. */
typedef enum PolicyField {
        F_NONE,
        F_ENFORCEMENT,
        F_BEHAVIOR_MONITORING,
        F_SCAN_ARCHIVES,
        F_COMPUTE_HASH,
        F_RTP_STATISTICS,
        F_NOEXEC,
        F_DIAGNOSTIC_LEVEL,
        F_SCAN_AFTER_UPDATE,
        F_SCAN_THREADS,
        F_ALLOWED_THREATS,
        F_DISALLOWED_ACTIONS,
        F_THREAT_TYPE_ACTIONS,
        F_UNMONITORED_FS,
        F_UPDATE_AUTOMATIC,
        F_UPDATE_INTERVAL,
        F_UPDATE_URL,
        F_OFFLINE_UPDATE,
        F_OFFLINE_UPDATE_URL,
        F_OFFLINE_FALLBACK,
        F_PROXY,
        F_MAX_AGE_DAYS,
        F_RETENTION_DAYS,
        F_HISTORY_MAX,
        F_RESTORATION_TIME,
        F_EDR_TAGS,
        F_NETWORK_LEVEL,
} PolicyField;

#define SSC "features.supplementarySensorConfigurations."

/* Every setting of the schema, once: its aspects and its typed field. Enforcement feeds the
 * update schedule too: automatic updates run on a timer only in real_time mode. Exclusion
 * lists that real-time protection applies (epp and global) belong to RTP as well; the merge
 * policies change what the lists hold, so they belong where the lists do. */
static const struct {
        const char *name;
        uint64_t aspects;
        PolicyField field;
} policy_table[] = {
        { "antivirusEngine.enforcementLevel",              RTP | UPD | ACT, F_ENFORCEMENT },
        { "antivirusEngine.behaviorMonitoring",            RTP,            F_BEHAVIOR_MONITORING },
        { "antivirusEngine.scanArchives",                  RTP | SCN,      F_SCAN_ARCHIVES },
        { "antivirusEngine.enableFileHashComputation",     RTP | SCN,      F_COMPUTE_HASH },
        { "antivirusEngine.realTimeProtectionStatistics",  RTP,            F_RTP_STATISTICS },
        { "antivirusEngine.nonExecMountPolicy",            RTP,            F_NOEXEC },
        { "antivirusEngine.unmonitoredFilesystems",        RTP,            F_UNMONITORED_FS },
        { "antivirusEngine.scanNetworkSocketEvent",        RTP,            F_NONE },
        { "antivirusEngine.scanFileModifyOwnership",       RTP,            F_NONE },
        { "antivirusEngine.scanFileModifyPermissions",     RTP,            F_NONE },
        { "antivirusEngine.allowedThreats",                RTP | ACT,      F_ALLOWED_THREATS },
        { "antivirusEngine.threatTypeSettings",            RTP | ACT | SCN, F_THREAT_TYPE_ACTIONS },
        { "antivirusEngine.threatTypeSettingsMergePolicy", RTP | ACT | SCN, F_NONE },
        { "antivirusEngine.disallowedThreatActions",       ACT,            F_DISALLOWED_ACTIONS },
        { "antivirusEngine.exclusions",                    RTP | EXC,      F_NONE },
        { "antivirusEngine.exclusionsMergePolicy",         RTP | EXC,      F_NONE },
        { "exclusionSettings.exclusions",                  RTP | EXC,      F_NONE },
        { "exclusionSettings.mergePolicy",                 RTP | EXC,      F_NONE },
        { "antivirusEngine.maximumOnDemandScanThreads",    SCN,            F_SCAN_THREADS },
        { "antivirusEngine.scanAfterDefinitionUpdate",     SCN | UPD,      F_SCAN_AFTER_UPDATE },
        { "antivirusEngine.scanResultsRetentionDays",      LIM,            F_RETENTION_DAYS },
        { "antivirusEngine.scanHistoryMaximumItems",       LIM,            F_HISTORY_MAX },
        { "antivirusEngine.threatRestorationExclusionTime", ACT,           F_RESTORATION_TIME },
        { "antivirusEngine.offlineDefinitionUpdate",       UPD,            F_OFFLINE_UPDATE },
        { "antivirusEngine.offlineDefinitionUpdateUrl",    UPD,            F_OFFLINE_UPDATE_URL },
        { "antivirusEngine.offlineDefinitionUpdateFallbackToCloud", UPD,   F_OFFLINE_FALLBACK },
        { "cloudService.automaticDefinitionUpdateEnabled", UPD,            F_UPDATE_AUTOMATIC },
        { "cloudService.definitionUpdatesInterval",        UPD,            F_UPDATE_INTERVAL },
        { "cloudService.definitionUpdateUrl",              UPD,            F_UPDATE_URL },
        { "cloudService.definitionsMaxAgeDays",            UPD,            F_MAX_AGE_DAYS },
        { "cloudService.enabled",                          CLD,            F_NONE },
        { "cloudService.automaticSampleSubmissionConsent", CLD,            F_NONE },
        { "cloudService.cloudBlockLevel",                  CLD,            F_NONE },
        { "cloudService.diagnosticLevel",                  CLD,            F_DIAGNOSTIC_LEVEL },
        { "cloudService.proxy",                            CLD | UPD,      F_PROXY },
        { "edr.earlyPreview",                              EDR,            F_NONE },
        { "edr.groupIds",                                  EDR,            F_NONE },
        { "edr.tags",                                      EDR,            F_EDR_TAGS },
        { "networkProtection.enforcementLevel",            NET,            F_NETWORK_LEVEL },
        { "networkProtection.disableIcmpInspection",       NET,            F_NONE },
        { "logRotation.maxCurrentSizeMb",                  LOG,            F_NONE },
        { "logRotation.maxRotatedSizeMb",                  LOG,            F_NONE },
        { "features.ebpfSupplementaryEventProvider",       FEA,            F_NONE },
        { "features.enableAntivirusEngineCache",           FEA | RTP | SCN, F_NONE },
        { "features.moduleLoad",                           FEA,            F_NONE },
        { "features.offlineDefinitionUpdateVerifySig",     FEA | UPD,      F_NONE },
        { "features.remediateInfectedFile",                FEA | ACT,      F_NONE },
        { SSC "enableFilePermissionEvents",  EDR | FEA,      F_NONE },
        { SSC "enableFileOwnershipEvents",   EDR | FEA,      F_NONE },
        { SSC "enableRawSocketEvent",        EDR | FEA,      F_NONE },
        { SSC "enableBootLoaderCalls",       EDR | FEA,      F_NONE },
        { SSC "enableProcessCalls",          EDR | FEA,      F_NONE },
        { SSC "enablePseudofsCalls",         EDR | FEA,      F_NONE },
        { SSC "enableEbpfModuleLoadEvents",  EDR | FEA,      F_NONE },
        { SSC "enableOtherFsOpenEvents",     EDR | FEA,      F_NONE },
        { SSC "enableEbpfSourceEnrichment",  EDR | FEA,      F_NONE },
        { SSC "sendLowfiEvents",             EDR | FEA,      F_NONE },
};

struct PolicyEntry {
        const SettingDef *def;          /* NULL: the schema does not have it in this build */
        SettingValue value;             /* not kept for exclusion lists (see policy.h) */
        bool managed;
};

static const char * const enforcement_names[_POLICY_ENFORCEMENT_MAX] = {
        [POLICY_ENFORCEMENT_REAL_TIME] = "real_time",
        [POLICY_ENFORCEMENT_PASSIVE] = "passive",
        [POLICY_ENFORCEMENT_ON_DEMAND] = "on_demand",
};

const char *policy_enforcement_to_string(PolicyEnforcement e) {
        return e >= 0 && e < _POLICY_ENFORCEMENT_MAX ? enforcement_names[e] : NULL;
}

PolicyEnforcement policy_enforcement_from_string(const char *s) {
        for (int i = 0; s && i < _POLICY_ENFORCEMENT_MAX; i++)
                if (streq(enforcement_names[i], s))
                        return i;
        return _POLICY_ENFORCEMENT_INVALID;
}

const char *policy_aspect_to_string(uint64_t aspect) {
        static const char * const names[] = {
                "rtp", "update", "threat-limits", "threat-actions", "scan-defaults",
                "exclusions", "edr", "network-protection", "cloud", "logging", "features",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (aspect == UINT64_C(1) << i)
                        return names[i];
        return NULL;
}

static ssize_t table_index(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(policy_table); i++)
                if (streq(policy_table[i].name, name))
                        return (ssize_t) i;
        return -1;
}

bool policy_knows(const char *name) {
        return table_index(name) >= 0;
}

uint64_t policy_aspects_of(const char *name) {
        ssize_t i = table_index(name);

        return i < 0 ? 0 : policy_table[i].aspects;
}

uint64_t policy_aspects_of_names(char * const *names) {
        uint64_t a = 0;

        for (char * const *n = names; n && *n; n++)
                a |= policy_aspects_of(*n);
        return a;
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_entries; i++)
                setting_value_done(&p->entries[i].value);
        free(p->entries);
        free(p);
        return NULL;
}

/* Fills the typed field of entry i; the field points into the entry's value, which lives as
 * long as the snapshot. */
static void policy_fill(Policy *p, size_t i) {
        const SettingValue *v = &p->entries[i].value;

        switch (policy_table[i].field) {
        case F_NONE:
                break;
        case F_ENFORCEMENT:
                p->enforcement = policy_enforcement_from_string(v->s);
                /* The schema refuses anything else; an unset level protects the most. */
                if (p->enforcement < 0)
                        p->enforcement = POLICY_ENFORCEMENT_REAL_TIME;
                break;
        case F_BEHAVIOR_MONITORING:
                p->behavior_monitoring = v->s && streq(v->s, "enabled");
                break;
        case F_SCAN_ARCHIVES:
                p->scan_archives = v->b;
                break;
        case F_COMPUTE_HASH:
                p->compute_hash = v->b;
                break;
        case F_RTP_STATISTICS:
                p->rtp_statistics = v->b;
                break;
        case F_DIAGNOSTIC_LEVEL:
                p->diagnostic_optional = v->s && streq(v->s, "optional");
                break;
        case F_NOEXEC:
                p->mute_noexec_mounts = v->s && streq(v->s, "mute");
                break;
        case F_SCAN_AFTER_UPDATE:
                p->scan_after_update = v->b;
                break;
        case F_SCAN_THREADS:
                p->scan_threads = (unsigned) v->i;
                break;
        case F_ALLOWED_THREATS:
                p->allowed_threats = v->strv;
                break;
        case F_DISALLOWED_ACTIONS:
                p->disallowed_actions = v->strv;
                break;
        case F_THREAT_TYPE_ACTIONS:
                p->threat_type_actions = v->strv;
                break;
        case F_UNMONITORED_FS:
                p->unmonitored_filesystems = v->strv;
                break;
        case F_UPDATE_AUTOMATIC:
                p->update_automatic = v->b;
                break;
        case F_UPDATE_INTERVAL:
                p->update_interval_sec = (uint64_t) v->i;
                break;
        case F_UPDATE_URL:
                p->update_url = v->s && *v->s ? v->s : NULL;
                break;
        case F_OFFLINE_UPDATE:
                p->offline_update = v->s ? streq(v->s, "enabled") : v->b;
                break;
        case F_OFFLINE_UPDATE_URL:
                p->offline_update_url = v->s && *v->s ? v->s : NULL;
                break;
        case F_OFFLINE_FALLBACK:
                p->offline_update_fallback = v->b;
                break;
        case F_PROXY:
                p->proxy = v->s && *v->s ? v->s : NULL;
                break;
        case F_MAX_AGE_DAYS:
                p->definitions_max_age_days = (unsigned) v->i;
                break;
        case F_RETENTION_DAYS:
                p->retention_days = (unsigned) v->i;
                break;
        case F_HISTORY_MAX:
                p->history_max_items = (unsigned) v->i;
                break;
        case F_RESTORATION_TIME:
                p->restoration_exclusion_sec = (unsigned) v->i;
                break;
        case F_EDR_TAGS:
                p->edr_tags = v->strv;
                break;
        case F_NETWORK_LEVEL:
                p->network_protection_level = v->s;
                break;
        }
}

int policy_new(const Settings *settings, Policy **ret) {
        _cleanup_(policy_freep) Policy *p = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->entries = calloc(ELEMENTSOF(policy_table), sizeof(*p->entries));
        if (!p->entries)
                return -ENOMEM;
        p->n_entries = ELEMENTSOF(policy_table);
        p->enforcement = POLICY_ENFORCEMENT_REAL_TIME;

        for (size_t i = 0; i < p->n_entries; i++) {
                struct PolicyEntry *e = &p->entries[i];

                e->def = setting_def_find(policy_table[i].name);
                if (!e->def)
                        continue;
                e->managed = settings_is_managed(settings, e->def);
                e->value.type = e->def->type;
                if (e->def->type == SETTING_EXCLUSION_LIST)
                        continue;
                r = settings_get(settings, e->def, &e->value, NULL);
                if (r < 0)
                        return r;
                policy_fill(p, i);
        }
        *ret = TAKE_PTR(p);
        return 0;
}

uint64_t policy_diff(const Policy *old, const Policy *new) {
        uint64_t a = 0;

        if (!old || !new)
                return _POLICY_ASPECT_ALL;
        for (size_t i = 0; i < new->n_entries && i < old->n_entries; i++) {
                const struct PolicyEntry *o = &old->entries[i], *n = &new->entries[i];

                if (!n->def || (a & policy_table[i].aspects) == policy_table[i].aspects)
                        continue;
                /* Whether an item is managed changes what clients may do, not what runs. */
                if (!setting_value_equal(&o->value, &n->value))
                        a |= policy_table[i].aspects;
        }
        return a;
}

bool policy_is_managed(const Policy *p, const char *name) {
        ssize_t i = table_index(name);

        return p && i >= 0 && (size_t) i < p->n_entries && p->entries[i].managed;
}

const char *policy_threat_type_action(const Policy *p, const char *type) {
        char **l = p->threat_type_actions;

        for (size_t i = 0; type && l && l[i] && l[i + 1]; i += 2)
                if (streq(l[i], type))
                        return l[i + 1];
        return "block";
}

bool policy_threat_allowed(const Policy *p, const char *name) {
        return name && strv_contains(p->allowed_threats, name);
}

bool policy_action_disallowed(const Policy *p, const char *action) {
        return action && strv_contains(p->disallowed_actions, action);
}
