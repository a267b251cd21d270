/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The schema: every key of mdatp_managed.json the product understands, with its type, allowed
 * values and default (see shared/reference/mde-behaviour.md §2). The table is constant; its order
 * is the order of `mdatp config` listings, of snapshots and of serialised files, so keys of one
 * JSON object must stay next to each other.
 *
 * Where our default differs from the reference's it is on purpose: enforcementLevel is
 * real_time here (the reference's is passive since 101.23062).
 *
 * Owns no mutable state.
 */

#include <stdlib.h>
#include <string.h>

#include "settings/settings-internal.h"
#include "settings/settings.h"
#include "util/macro.h"

#define STRV(...) ((const char * const[]) { __VA_ARGS__, NULL })

#define ENABLED_DISABLED STRV("enabled", "disabled")
#define MERGE_POLICIES STRV("merge", "admin_only")

#define DEF_BOOL(n, d, desc) \
        { .name = (n), .type = SETTING_BOOL, .default_b = (d), .description = (desc) }
#define DEF_INT(n, lo, hi, d, desc)                                                         \
        { .name = (n), .type = SETTING_INT, .min = (lo), .max = (hi), .default_i = (d), \
          .description = (desc) }
#define DEF_ENUM(n, values, d, desc) \
        { .name = (n), .type = SETTING_ENUM, .allowed = (values), .default_s = (d), \
          .description = (desc) }
#define DEF_SWITCH(n, d, desc) DEF_ENUM(n, ENABLED_DISABLED, d, desc)
#define DEF_STRING(n, kind, desc) \
        { .name = (n), .type = SETTING_STRING, .string_kind = (kind), .description = (desc) }

static const SettingDef setting_defs[] = {
        /* antivirusEngine */
        DEF_ENUM("antivirusEngine.enforcementLevel", STRV("real_time", "on_demand", "passive"),
             "real_time", "real-time protection, on-demand scans only, or passive mode"),
        DEF_SWITCH("antivirusEngine.behaviorMonitoring", "disabled",
               "behaviour monitoring (real_time only)"),
        DEF_BOOL("antivirusEngine.scanAfterDefinitionUpdate", true,
             "scan running processes after a definition update (real_time only)"),
        DEF_BOOL("antivirusEngine.scanArchives", true, "look inside archives in on-demand scans"),
        DEF_INT("antivirusEngine.maximumOnDemandScanThreads", 1, 64, 2,
            "threads of one on-demand scan"),
        DEF_ENUM("antivirusEngine.exclusionsMergePolicy", MERGE_POLICIES, "merge",
             "whether local antivirus exclusions add to managed ones (merge) or are ignored"),
        {
                .name = "antivirusEngine.exclusions",
                .type = SETTING_EXCLUSION_LIST,
                .merge_policy = "antivirusEngine.exclusionsMergePolicy",
                .default_scopes = EXCLUSION_SCOPE_EPP,
                /* The legacy location predates scopes: antivirus exclusions only. */
                .allowed_scopes = EXCLUSION_SCOPE_EPP,
                .description = "antivirus (epp) exclusions, the legacy location",
        },
        DEF_ENUM("antivirusEngine.nonExecMountPolicy", STRV("unmute", "mute"), "unmute",
             "mute: real-time protection skips noexec mounts"),
        {
                .name = "antivirusEngine.unmonitoredFilesystems",
                .type = SETTING_STRING_LIST,
                .string_kind = SETTING_STRING_FILESYSTEM,
                .default_strv = STRV("nfs", "fuse"),
                /* Users of the value compare names case-insensitively ("Fuse" = "fuse"); the
                 * value is kept as written so it round-trips. */
                .description = "filesystem types real-time protection does not watch",
        },
        DEF_BOOL("antivirusEngine.enableFileHashComputation", false,
             "compute hashes of scanned files (needed by file indicators)"),
        {
                .name = "antivirusEngine.allowedThreats",
                .type = SETTING_STRING_LIST,
                .string_kind = SETTING_STRING_TEXT,
                .max_length = 256,
                .description = "threat names that are not blocked",
        },
        {
                .name = "antivirusEngine.disallowedThreatActions",
                .type = SETTING_STRING_LIST,
                .allowed = STRV("allow", "restore"),
                .description = "threat actions local users may not take",
        },
        {
                .name = "antivirusEngine.threatTypeSettings",
                .type = SETTING_PAIR_LIST,
                .allowed = STRV("potentially_unwanted_application", "archive_bomb"),
                .allowed_values = STRV("audit", "block", "off"),
                .default_strv = STRV("potentially_unwanted_application", "audit",
                                     "archive_bomb", "audit"),
                .merge_policy = "antivirusEngine.threatTypeSettingsMergePolicy",
                .description = "action per threat type",
        },
        DEF_ENUM("antivirusEngine.threatTypeSettingsMergePolicy", MERGE_POLICIES, "merge",
             "whether local threat type settings add to managed ones (merge) or are ignored"),
        DEF_INT("antivirusEngine.scanResultsRetentionDays", 1, 180, 90,
            "days scan results and quarantined files are kept"),
        DEF_INT("antivirusEngine.scanHistoryMaximumItems", 5000, 15000, 10000,
            "entries kept in the scan history"),
        DEF_INT("antivirusEngine.threatRestorationExclusionTime", 0, 86400, 600,
            "seconds a file restored from quarantine is left alone by scans and real-time "
            "protection while it is unchanged (0: detected again at once)"),
        DEF_BOOL("antivirusEngine.scanFileModifyPermissions", false,
             "scan files whose execute bit is set"),
        DEF_BOOL("antivirusEngine.scanFileModifyOwnership", false,
             "scan files whose owner changes"),
        DEF_BOOL("antivirusEngine.scanNetworkSocketEvent", false,
             "scan on raw and packet socket events"),
        DEF_SWITCH("antivirusEngine.offlineDefinitionUpdate", "disabled",
               "update definitions from an offline mirror"),
        DEF_STRING("antivirusEngine.offlineDefinitionUpdateUrl", SETTING_STRING_URL_OR_PATH,
               "the offline mirror: an http(s) URL or an absolute path"),
        DEF_BOOL("antivirusEngine.offlineDefinitionUpdateFallbackToCloud", false,
             "fall back to the cloud when the offline mirror fails"),
        DEF_BOOL("antivirusEngine.realTimeProtectionStatistics", false,
             "collect real-time protection statistics"),

        /* exclusionSettings */
        DEF_ENUM("exclusionSettings.mergePolicy", MERGE_POLICIES, "merge",
             "whether local exclusions add to managed ones (merge) or are ignored"),
        {
                .name = "exclusionSettings.exclusions",
                .type = SETTING_EXCLUSION_LIST,
                .merge_policy = "exclusionSettings.mergePolicy",
                .default_scopes = EXCLUSION_SCOPE_GLOBAL,
                .allowed_scopes = EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL,
                .description = "exclusions with scopes (epp, global)",
        },

        /* cloudService */
        DEF_BOOL("cloudService.enabled", true, "cloud-delivered protection"),
        DEF_ENUM("cloudService.diagnosticLevel", STRV("required", "optional"), "required",
             "how much diagnostic data the product keeps and reports"),
        DEF_ENUM("cloudService.cloudBlockLevel",
             STRV("normal", "moderate", "high", "high_plus", "zero_tolerance"), "normal",
             "how aggressively unknown files are blocked"),
        DEF_ENUM("cloudService.automaticSampleSubmissionConsent", STRV("none", "safe", "all"),
             "safe", "which suspicious samples are submitted"),
        DEF_BOOL("cloudService.automaticDefinitionUpdateEnabled", true,
             "install definition updates automatically"),
        DEF_STRING("cloudService.proxy", SETTING_STRING_PROXY_URL,
               "static proxy, http://host:port/"),
        DEF_INT("cloudService.definitionUpdatesInterval", 60, 604800, 28800,
            "seconds between definition update checks"),
        DEF_STRING("cloudService.definitionUpdateUrl", SETTING_STRING_URL_OR_PATH,
               "where definition updates come from when no offline mirror applies "
               "(https://, http:// or a directory)"),
        DEF_INT("cloudService.definitionsMaxAgeDays", 1, 365, 7,
            "definitions older than this many days are reported stale"),

        /* features */
        DEF_SWITCH("features.moduleLoad", "disabled", "monitor shared library loads"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enableFilePermissionEvents",
               "disabled", "monitor chmod of the execute bit"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enableFileOwnershipEvents",
               "disabled", "monitor chown"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enableRawSocketEvent", "disabled",
               "monitor raw and packet sockets"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enableBootLoaderCalls", "disabled",
               "monitor boot loader changes"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enableProcessCalls", "disabled",
               "monitor ptrace"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enablePseudofsCalls", "disabled",
               "monitor pseudo-filesystem events"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enableEbpfModuleLoadEvents",
               "disabled", "monitor module loads with eBPF"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enableOtherFsOpenEvents", "disabled",
               "monitor procfs opens with eBPF"),
        DEF_SWITCH("features.supplementarySensorConfigurations.enableEbpfSourceEnrichment",
               "disabled", "enrich events with metadata in eBPF"),
        DEF_SWITCH("features.supplementarySensorConfigurations.sendLowfiEvents", "disabled",
               "report suspicious antivirus events to EDR"),
        DEF_SWITCH("features.enableAntivirusEngineCache", "disabled",
               "cache metadata of scanned files"),
        DEF_SWITCH("features.ebpfSupplementaryEventProvider", "enabled",
               "eBPF event provider (disabled: netlink fallback)"),
        DEF_SWITCH("features.offlineDefinitionUpdateVerifySig", "enabled",
               "deprecated, kept for compatibility: signatures are always verified"),
        DEF_SWITCH("features.remediateInfectedFile", "disabled",
               "remediate processes that open infected files"),

        /* networkProtection */
        DEF_ENUM("networkProtection.enforcementLevel", STRV("disabled", "audit", "block"), "disabled",
             "network protection"),
        DEF_BOOL("networkProtection.disableIcmpInspection", true, "skip ICMP inspection"),

        /* edr */
        DEF_STRING("edr.groupIds", SETTING_STRING_TEXT, "device group identifier"),
        {
                .name = "edr.tags",
                .type = SETTING_PAIR_LIST,
                .allowed = STRV("GROUP"),
                .string_kind = SETTING_STRING_TEXT,
                .max_length = 200,
                .description = "device tags (key GROUP)",
        },
        DEF_SWITCH("edr.earlyPreview", "disabled", "early preview features"),

        /* logRotation */
        DEF_INT("logRotation.maxCurrentSizeMb", 1, 10240, 10, "size of the current log, MiB"),
        DEF_INT("logRotation.maxRotatedSizeMb", 1, 10240, 100, "size of all rotated logs, MiB"),
};

size_t setting_defs_count(void) {
        return ELEMENTSOF(setting_defs);
}

const SettingDef *setting_def_at(size_t i) {
        return i < ELEMENTSOF(setting_defs) ? &setting_defs[i] : NULL;
}

const SettingDef *setting_def_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(setting_defs); i++)
                if (streq(setting_defs[i].name, name))
                        return &setting_defs[i];
        return NULL;
}

size_t setting_def_index(const SettingDef *def) {
        if (def < setting_defs || def >= setting_defs + ELEMENTSOF(setting_defs))
                abort();        /* not a def of ours: a bug in the caller */
        return def - setting_defs;
}

static const char * const setting_type_signatures[_SETTING_TYPE_MAX] = {
        [SETTING_BOOL] = "b",
        [SETTING_INT] = "i",
        [SETTING_ENUM] = "s",
        [SETTING_STRING] = "s",
        [SETTING_STRING_LIST] = "as",
        [SETTING_PAIR_LIST] = "a(ss)",
        [SETTING_EXCLUSION_LIST] = "a(ssbas)",
};

const char *setting_type_signature(SettingType t) {
        if (t < 0 || t >= _SETTING_TYPE_MAX)
                return NULL;
        return setting_type_signatures[t];
}

static const char * const setting_type_descriptions[_SETTING_TYPE_MAX] = {
        [SETTING_BOOL] = "a boolean",
        [SETTING_INT] = "an integer",
        [SETTING_ENUM] = "a string",
        [SETTING_STRING] = "a string",
        [SETTING_STRING_LIST] = "a list of strings",
        [SETTING_PAIR_LIST] = "a list of key/value pairs",
        [SETTING_EXCLUSION_LIST] = "a list of exclusions",
};

const char *setting_type_description(SettingType t) {
        if (t < 0 || t >= _SETTING_TYPE_MAX)
                return "an unknown type";
        return setting_type_descriptions[t];
}

static const char * const setting_source_table[_SETTING_SOURCE_MAX] = {
        [SETTING_SOURCE_DEFAULT] = "default",
        [SETTING_SOURCE_LOCAL] = "local",
        [SETTING_SOURCE_MANAGED] = "managed",
        [SETTING_SOURCE_MERGED] = "merged",
};

const char *setting_source_to_string(SettingSource s) {
        if (s < 0 || s >= _SETTING_SOURCE_MAX)
                return NULL;
        return setting_source_table[s];
}

const char * const setting_exclusion_types[] = {
        "excludedPath", "excludedFileExtension", "excludedFileName", NULL,
};

const char *setting_exclusion_member(const char *type) {
        if (!type)
                return NULL;
        if (streq(type, "excludedPath"))
                return "path";
        if (streq(type, "excludedFileExtension"))
                return "extension";
        if (streq(type, "excludedFileName"))
                return "name";
        return NULL;
}
