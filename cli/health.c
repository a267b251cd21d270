/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp health` (see health.h): the field table, the views, and rendering as text or JSON.
 * Owns no state: the table and views are constant; the daemon's answers belong to health_run().
 *
 * Layout rules, after the reference client: `key` padded to 44 columns, then `: value`; strings
 * JSON-quoted, booleans and integers bare, lists in compact JSON, dates as
 * "Nov 23, 2026 at 01:02:03 PM" (local time), missing values as the bare word unavailable, and
 * " [managed]" after a setting that the managed policy sets. In JSON, settings are
 * {"displayValue","isManaged","value"}, dates are epoch-millisecond strings, enum tags are
 * {"$type":"camelCase"} and missing values are null.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "format.h"
#include "health.h"
#include "report.h"
#include "util/macro.h"

#define HEALTH_KEY_WIDTH 44

/* A fact the daemon reports as a Health property. */
#define PROPERTY(key, json, prop, k)                                            \
        { .text_key = key, .json_key = json, .source = HEALTH_SOURCE_PROPERTY,  \
          .source_name = prop, .kind = HEALTH_KIND_##k }
/* A Health property that shows a setting: managed flag from that setting. */
#define PROPERTY_SETTING(key, json, prop, k, setting_name)                      \
        { .text_key = key, .json_key = json, .source = HEALTH_SOURCE_PROPERTY,  \
          .source_name = prop, .kind = HEALTH_KIND_##k, .setting = true,        \
          .managed_by = setting_name }
/* A setting's effective value, from Settings.List. */
#define SETTING(key, json, setting_name, k)                                     \
        { .text_key = key, .json_key = json, .source = HEALTH_SOURCE_SETTING,   \
          .source_name = setting_name, .kind = HEALTH_KIND_##k, .setting = true, \
          .managed_by = setting_name }
#define CONSTANT(key, json, text)                                               \
        { .text_key = key, .json_key = json, .source = HEALTH_SOURCE_CONSTANT,  \
          .source_name = text, .kind = HEALTH_KIND_STRING }
#define UNAVAILABLE(key, json, k)                                               \
        { .text_key = key, .json_key = json, .source = HEALTH_SOURCE_UNAVAILABLE, \
          .kind = HEALTH_KIND_##k }

#define SENSOR "features.supplementarySensorConfigurations."

const HealthField health_fields[] = {
        /* Default view. */
        PROPERTY("healthy", "healthy", "Healthy", BOOL),
        PROPERTY("health_issues", "healthIssues", "HealthIssues", STRING_LIST),
        PROPERTY("licensed", "licensed", "Licensed", BOOL),
        PROPERTY("engine_version", "engineVersion", "EngineVersion", STRING),
        PROPERTY("engine_load_status", "engineLoadStatus", "EngineLoadStatus", STRING),
        PROPERTY("app_version", "appVersion", "AppVersion", STRING),
        PROPERTY("org_id", "orgId", "OrgId", STRING),
        PROPERTY("log_level", "logLevel", "LogLevel", STRING),
        PROPERTY("machine_guid", "machineGuid", "MachineGuid", STRING),
        PROPERTY("release_ring", "releaseRing", "ReleaseRing", STRING),
        PROPERTY("product_expiration", "productExpiration", "ProductExpiration", DATE),
        PROPERTY_SETTING("cloud_enabled", "cloudEnabled", "CloudEnabled", BOOL,
                         "cloudService.enabled"),
        PROPERTY_SETTING("cloud_automatic_sample_submission_consent",
                         "cloudAutomaticSampleSubmissionConsent",
                         "CloudAutomaticSampleSubmissionConsent", STRING,
                         "cloudService.automaticSampleSubmissionConsent"),
        PROPERTY_SETTING("cloud_diagnostic_enabled", "cloudDiagnosticEnabled",
                         "CloudDiagnosticEnabled", BOOL, "cloudService.diagnosticLevel"),
        PROPERTY_SETTING("passive_mode_enabled", "passiveModeEnabled", "PassiveModeEnabled", BOOL,
                         "antivirusEngine.enforcementLevel"),
        PROPERTY_SETTING("behavior_monitoring", "behaviorMonitoring", "BehaviorMonitoring", STRING,
                         "antivirusEngine.behaviorMonitoring"),
        PROPERTY_SETTING("real_time_protection_enabled", "realTimeProtectionEnabled",
                         "RealTimeProtectionEnabled", BOOL, "antivirusEngine.enforcementLevel"),
        PROPERTY("real_time_protection_available", "realTimeProtectionAvailable",
                 "RealTimeProtectionAvailable", BOOL),
        PROPERTY("real_time_protection_subsystem", "realTimeProtectionSubsystem",
                 "RealTimeProtectionSubsystem", STRING),
        PROPERTY("supplementary_events_subsystem", "supplementaryEventsSubsystem",
                 "SupplementaryEventsSubsystem", STRING),
        /* A setting in the reference's JSON, but no setting of ours can change it. */
        PROPERTY_SETTING("tamper_protection", "tamperProtection", "TamperProtection", STRING, NULL),
        PROPERTY_SETTING("automatic_definition_update_enabled", "automaticDefinitionUpdateEnabled",
                         "AutomaticDefinitionUpdateEnabled", BOOL,
                         "cloudService.automaticDefinitionUpdateEnabled"),
        PROPERTY("definitions_updated", "definitionsUpdated", "DefinitionsUpdated", DATE),
        { .text_key = "definitions_updated_minutes_ago", .json_key = "definitionsUpdatedMinutesAgo",
          .source = HEALTH_SOURCE_MINUTES_AGO, .source_name = "DefinitionsUpdated",
          .kind = HEALTH_KIND_INT },
        PROPERTY("definitions_version", "definitionsVersion", "DefinitionsVersion", STRING),
        PROPERTY("definitions_status", "definitionsStatus", "DefinitionsStatus", ENUM_TAG),
        PROPERTY_SETTING("edr_early_preview_enabled", "edrEarlyPreviewEnabled",
                         "EdrEarlyPreviewEnabled", STRING, "edr.earlyPreview"),
        PROPERTY_SETTING("edr_device_tags", "edrDeviceTags", "EdrDeviceTags", PAIR_LIST,
                         "edr.tags"),
        /* An unset group id prints as "" rather than unavailable, as scripts expect. */
        { .text_key = "edr_group_ids", .json_key = "edrGroupIds",
          .source = HEALTH_SOURCE_PROPERTY, .source_name = "EdrGroupIds",
          .kind = HEALTH_KIND_STRING, .setting = true, .managed_by = "edr.groupIds",
          .if_empty = "" },
        PROPERTY("edr_configuration_version", "edrConfigurationVersion", "EdrConfigurationVersion",
                 STRING),
        PROPERTY("edr_machine_id", "edrMachineId", "EdrMachineId", STRING),
        PROPERTY("conflicting_applications", "conflictingApplications", "ConflictingApplications",
                 STRING_LIST),
        PROPERTY("network_protection_status", "networkProtectionStatus",
                 "NetworkProtectionStatus", STRING),
        PROPERTY_SETTING("network_protection_enforcement_level",
                         "networkProtectionEnforcementLevel", "NetworkProtectionEnforcementLevel",
                         STRING, "networkProtection.enforcementLevel"),
        PROPERTY("troubleshooting_mode", "troubleshootingMode", "TroubleshootingMode", BOOL),
        /* JSON only, as in the reference client's output; "None" when no proxy is set. */
        { .text_key = "proxy", .json_key = "proxy", .source = HEALTH_SOURCE_PROPERTY,
          .source_name = "Proxy", .kind = HEALTH_KIND_STRING, .setting = true, .hidden = true,
          .managed_by = "cloudService.proxy", .if_empty = "None" },
        { .text_key = "functionality_mode", .json_key = "functionalityMode",
          .source = HEALTH_SOURCE_CONSTANT, .source_name = "default", .kind = HEALTH_KIND_STRING,
          .setting = true, .hidden = true },

        /* antivirus. The last on-demand scan: Health properties (0 / "" before the first scan);
         * a daemon that lacks them leaves them out of GetAll, and they read unavailable. */
        SETTING("enforcement_level", "enforcementLevel", "antivirusEngine.enforcementLevel",
                STRING),
        SETTING("scan_archives", "scanArchives", "antivirusEngine.scanArchives", BOOL),
        SETTING("scan_after_definition_update", "scanAfterDefinitionUpdate",
                "antivirusEngine.scanAfterDefinitionUpdate", BOOL),
        SETTING("scan_results_retention_days", "scanResultsRetentionDays",
                "antivirusEngine.scanResultsRetentionDays", INT),
        SETTING("scan_history_maximum_items", "scanHistoryMaximumItems",
                "antivirusEngine.scanHistoryMaximumItems", INT),
        SETTING("enable_file_hash_computation", "enableFileHashComputation",
                "antivirusEngine.enableFileHashComputation", BOOL),
        SETTING("maximum_on_demand_scan_threads", "maximumOnDemandScanThreads",
                "antivirusEngine.maximumOnDemandScanThreads", INT),
        SETTING("exclusions_merge_policy", "exclusionsMergePolicy",
                "antivirusEngine.exclusionsMergePolicy", STRING),
        SETTING("threat_type_settings_merge_policy", "threatTypeSettingsMergePolicy",
                "antivirusEngine.threatTypeSettingsMergePolicy", STRING),
        SETTING("non_exec_mount_policy", "nonExecMountPolicy", "antivirusEngine.nonExecMountPolicy",
                STRING),
        SETTING("unmonitored_filesystems", "unmonitoredFilesystems",
                "antivirusEngine.unmonitoredFilesystems", STRING_LIST),
        SETTING("real_time_protection_statistics_enabled", "realTimeProtectionStatisticsEnabled",
                "antivirusEngine.realTimeProtectionStatistics", BOOL),
        PROPERTY("last_on_demand_scan_start_time", "lastOnDemandScanStartTime",
                 "LastOnDemandScanStartTime", DATE),
        PROPERTY("last_on_demand_scan_end_time", "lastOnDemandScanEndTime",
                 "LastOnDemandScanEndTime", DATE),
        PROPERTY("last_on_demand_scan_type", "lastOnDemandScanType", "LastOnDemandScanType",
                 STRING),
        PROPERTY("last_on_demand_scan_threat_count", "lastOnDemandScanThreatCount",
                 "LastOnDemandScanThreatCount", INT),
        PROPERTY("last_on_demand_scan_files_scanned", "lastOnDemandScanFilesScanned",
                 "LastOnDemandScanFilesScanned", INT),

        /* definitions */
        PROPERTY("definitions_update_source_uri", "definitionsUpdateSourceUri",
                 "DefinitionsUpdateSourceUri", STRING),
        /* Empty after a successful update, as the reference prints it. */
        { .text_key = "definitions_update_fail_reason", .json_key = "definitionsUpdateFailReason",
          .source = HEALTH_SOURCE_PROPERTY, .source_name = "DefinitionsUpdateFailReason",
          .kind = HEALTH_KIND_STRING, .if_empty = "" },
        SETTING("offline_definition_url_configured", "offlineDefinitionUrlConfigured",
                "antivirusEngine.offlineDefinitionUpdateUrl", STRING),
        SETTING("offline_definition_update", "offlineDefinitionUpdate",
                "antivirusEngine.offlineDefinitionUpdate", STRING),
        /* Deprecated in favour of always-on signature verification, which the product does. */
        CONSTANT("offline_definition_update_verify_sig", "offlineDefinitionUpdateVerifySig",
                 "DEPRECATED"),
        CONSTANT("engine_signature_verification", "engineSignatureVerification", "enabled"),
        SETTING("offline_definition_update_fallback_to_cloud",
                "offlineDefinitionUpdateFallbackToCloud",
                "antivirusEngine.offlineDefinitionUpdateFallbackToCloud", BOOL),
        SETTING("definition_updates_interval", "definitionUpdatesInterval",
                "cloudService.definitionUpdatesInterval", INT),

        /* edr */
        UNAVAILABLE("edr_sense_guid", "edrSenseGuid", STRING),
        UNAVAILABLE("edr_preferred_geo", "edrPreferredGeo", STRING),

        /* features */
        SETTING("module_load", "moduleLoad", "features.moduleLoad", STRING),
        SETTING("enable_file_permission_events", "enableFilePermissionEvents",
                SENSOR "enableFilePermissionEvents", STRING),
        SETTING("enable_file_ownership_events", "enableFileOwnershipEvents",
                SENSOR "enableFileOwnershipEvents", STRING),
        SETTING("enable_raw_socket_event", "enableRawSocketEvent", SENSOR "enableRawSocketEvent",
                STRING),
        SETTING("enable_boot_loader_calls", "enableBootLoaderCalls", SENSOR "enableBootLoaderCalls",
                STRING),
        SETTING("enable_process_calls", "enableProcessCalls", SENSOR "enableProcessCalls", STRING),
        SETTING("enable_pseudofs_calls", "enablePseudofsCalls", SENSOR "enablePseudofsCalls",
                STRING),
        SETTING("enable_ebpf_module_load_events", "enableEbpfModuleLoadEvents",
                SENSOR "enableEbpfModuleLoadEvents", STRING),
        SETTING("enable_other_fs_open_events", "enableOtherFsOpenEvents",
                SENSOR "enableOtherFsOpenEvents", STRING),
        SETTING("enable_ebpf_source_enrichment", "enableEbpfSourceEnrichment",
                SENSOR "enableEbpfSourceEnrichment", STRING),
        SETTING("send_lowfi_events", "sendLowfiEvents", SENSOR "sendLowfiEvents", STRING),
        SETTING("enable_antivirus_engine_cache", "enableAntivirusEngineCache",
                "features.enableAntivirusEngineCache", STRING),
        SETTING("ebpf_supplementary_event_provider", "ebpfSupplementaryEventProvider",
                "features.ebpfSupplementaryEventProvider", STRING),
        SETTING("remediate_infected_file", "remediateInfectedFile",
                "features.remediateInfectedFile", STRING),
};
const size_t health_fields_count = ELEMENTSOF(health_fields);

static const char * const health_view_default[] = {
        "healthy",
        "health_issues",
        "licensed",
        "engine_version",
        "engine_load_status",
        "app_version",
        "org_id",
        "log_level",
        "machine_guid",
        "release_ring",
        "product_expiration",
        "cloud_enabled",
        "cloud_automatic_sample_submission_consent",
        "cloud_diagnostic_enabled",
        "passive_mode_enabled",
        "behavior_monitoring",
        "real_time_protection_enabled",
        "real_time_protection_available",
        "real_time_protection_subsystem",
        "supplementary_events_subsystem",
        "tamper_protection",
        "automatic_definition_update_enabled",
        "definitions_updated",
        "definitions_updated_minutes_ago",
        "definitions_version",
        "definitions_status",
        "edr_early_preview_enabled",
        "edr_device_tags",
        "edr_group_ids",
        "edr_configuration_version",
        "edr_machine_id",
        "conflicting_applications",
        "network_protection_status",
        "network_protection_enforcement_level",
        "troubleshooting_mode",
        "proxy",
        "functionality_mode",
        NULL
};

static const char * const health_view_antivirus[] = {
        "enforcement_level",
        "passive_mode_enabled",
        "real_time_protection_enabled",
        "real_time_protection_available",
        "real_time_protection_subsystem",
        "behavior_monitoring",
        "scan_archives",
        "scan_after_definition_update",
        "scan_results_retention_days",
        "scan_history_maximum_items",
        "enable_file_hash_computation",
        "maximum_on_demand_scan_threads",
        "exclusions_merge_policy",
        "threat_type_settings_merge_policy",
        "non_exec_mount_policy",
        "unmonitored_filesystems",
        "real_time_protection_statistics_enabled",
        "last_on_demand_scan_start_time",
        "last_on_demand_scan_end_time",
        "last_on_demand_scan_type",
        "last_on_demand_scan_threat_count",
        "last_on_demand_scan_files_scanned",
        NULL
};

static const char * const health_view_definitions[] = {
        "automatic_definition_update_enabled",
        "definitions_updated",
        "definitions_updated_minutes_ago",
        "definitions_version",
        "definitions_status",
        "definitions_update_source_uri",
        "definitions_update_fail_reason",
        "offline_definition_url_configured",
        "offline_definition_update",
        "offline_definition_update_verify_sig",
        "engine_signature_verification",
        "offline_definition_update_fallback_to_cloud",
        "definition_updates_interval",
        NULL
};

static const char * const health_view_edr[] = {
        "edr_early_preview_enabled",
        "edr_device_tags",
        "edr_group_ids",
        "edr_configuration_version",
        "edr_machine_id",
        "edr_sense_guid",
        "edr_preferred_geo",
        NULL
};

static const char * const health_view_features[] = {
        "behavior_monitoring",
        "module_load",
        "enable_file_permission_events",
        "enable_file_ownership_events",
        "enable_raw_socket_event",
        "enable_boot_loader_calls",
        "enable_process_calls",
        "enable_pseudofs_calls",
        "enable_ebpf_module_load_events",
        "enable_other_fs_open_events",
        "enable_ebpf_source_enrichment",
        "send_lowfi_events",
        "enable_antivirus_engine_cache",
        "ebpf_supplementary_event_provider",
        "offline_definition_update_verify_sig",
        "engine_signature_verification",
        "remediate_infected_file",
        NULL
};

static const struct {
        const char *name;
        const char *description;
        const char * const *keys;
} health_views[_HEALTH_VIEW_MAX] = {
        [HEALTH_VIEW_DEFAULT] = { NULL, "Product health", health_view_default },
        [HEALTH_VIEW_ANTIVIRUS] = { "antivirus",
                "Antivirus engine: enforcement level, scan settings, last on-demand scan",
                health_view_antivirus },
        [HEALTH_VIEW_DEFINITIONS] = { "definitions",
                "Security intelligence: version, age, status and update settings",
                health_view_definitions },
        [HEALTH_VIEW_EDR] = { "edr", "Endpoint detection and response: tags, group ids, ids",
                health_view_edr },
        [HEALTH_VIEW_FEATURES] = { "features", "Optional sensors and features and their state",
                health_view_features },
};

const HealthField *health_field_find(const char *name) {
        for (size_t i = 0; i < health_fields_count; i++)
                if (streq(health_fields[i].text_key, name))
                        return &health_fields[i];
        for (size_t i = 0; i < health_fields_count; i++)
                if (streq(health_fields[i].json_key, name))
                        return &health_fields[i];
        return NULL;
}

const char *health_view_to_string(HealthView v) {
        if (v < 0 || v >= _HEALTH_VIEW_MAX)
                return NULL;
        return health_views[v].name;
}

HealthView health_view_from_string(const char *s) {
        for (HealthView v = 0; v < _HEALTH_VIEW_MAX; v++)
                if (health_views[v].name && streq(health_views[v].name, s))
                        return v;
        return _HEALTH_VIEW_INVALID;
}

const char *health_view_description(HealthView v) {
        if (v < 0 || v >= _HEALTH_VIEW_MAX)
                return NULL;
        return health_views[v].description;
}

const char * const *health_view_keys(HealthView v) {
        if (v < 0 || v >= _HEALTH_VIEW_MAX)
                return NULL;
        return health_views[v].keys;
}

int health_field_resolve(const HealthField *f, const HealthData *d, CliValue *ret,
                         bool *ret_managed) {
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        const CliNamedValue *nv = NULL;
        bool managed = false;
        int r;

        if (f->managed_by && d->settings) {
                nv = cli_value_list_find(d->settings, f->managed_by);
                managed = nv && nv->managed;
        }

        switch (f->source) {
        case HEALTH_SOURCE_PROPERTY:
        case HEALTH_SOURCE_SETTING:
                nv = NULL;
                if (f->source == HEALTH_SOURCE_PROPERTY && d->properties)
                        nv = cli_value_list_find(d->properties, f->source_name);
                else if (f->source == HEALTH_SOURCE_SETTING && d->settings)
                        nv = cli_value_list_find(d->settings, f->source_name);
                if (nv) {
                        r = cli_value_copy(&nv->value, &v);
                        if (r < 0)
                                return r;
                }
                break;
        case HEALTH_SOURCE_CONSTANT:
                r = cli_value_new_string(f->source_name, &v);
                if (r < 0)
                        return r;
                break;
        case HEALTH_SOURCE_MINUTES_AGO:
                nv = d->properties ? cli_value_list_find(d->properties, f->source_name) : NULL;
                if (nv && nv->value.type == CLI_VALUE_UINT64 && nv->value.u != 0)
                        v = cli_value_int(format_minutes_between(nv->value.u, d->now_usec));
                break;
        default:
                break;
        }

        /* The contract's conventions for "unavailable": an empty string, a 0 timestamp. A value
         * whose type does not match the kind is shown as it is rather than hidden. */
        switch (f->kind) {
        case HEALTH_KIND_STRING:
        case HEALTH_KIND_ENUM_TAG:
                if (v.type != CLI_VALUE_STRING || v.s[0] != 0)
                        break;
                cli_value_done(&v);
                if (f->kind == HEALTH_KIND_STRING && f->if_empty) {
                        r = cli_value_new_string(f->if_empty, &v);
                        if (r < 0)
                                return r;
                }
                break;
        case HEALTH_KIND_DATE:
                if (v.type == CLI_VALUE_INT && v.i >= 0)
                        v = (CliValue) { .type = CLI_VALUE_UINT64, .u = (uint64_t) v.i };
                if (v.type == CLI_VALUE_UINT64 && v.u == 0)
                        v = (CliValue) {};
                break;
        default:
                break;
        }

        *ret = v;
        v = (CliValue) {};
        *ret_managed = managed;
        return 0;
}

int health_field_format_text(const HealthField *f, const CliValue *v, char **ret) {
        char buf[FORMAT_TIMESTAMP_MAX];
        char *s;
        int r;

        if (f->kind == HEALTH_KIND_DATE && v->type == CLI_VALUE_UINT64) {
                r = format_timestamp(v->u, buf, sizeof(buf));
                if (r < 0)
                        return r;
                s = strdup(buf);
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }
        /* Enum tags read "up_to_date" in text: a plain quoted string. */
        return cli_value_to_text(v, ret);
}

int health_field_format_line(const HealthField *f, const CliValue *v, bool managed, char **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = health_field_format_text(f, v, &text);
        if (r < 0)
                return r;
        if (asprintf(ret, "%-*s: %s%s", HEALTH_KEY_WIDTH, f->text_key, text,
                     managed ? " [managed]" : "") < 0)
                return -ENOMEM;
        return 0;
}

/* The JSON of the value itself, without the setting wrapper. */
static int health_field_format_json_value(yajl_gen g, const HealthField *f, const CliValue *v) {
        char buf[FORMAT_EPOCH_MS_MAX];
        int r;

        if (f->kind == HEALTH_KIND_DATE && v->type == CLI_VALUE_UINT64)
                return format_json_string(g, format_epoch_ms(v->u, buf));

        if (f->kind == HEALTH_KIND_ENUM_TAG && v->type == CLI_VALUE_STRING) {
                _cleanup_free_ char *tag = NULL;

                r = format_snake_to_camel(v->s, &tag);
                if (r < 0)
                        return r;
                r = format_json_open_object(g);
                if (r < 0)
                        return r;
                r = format_json_string(g, "$type");
                if (r < 0)
                        return r;
                r = format_json_string(g, tag);
                if (r < 0)
                        return r;
                return format_json_close_object(g);
        }

        return cli_value_to_json(g, v);
}

int health_field_format_json(yajl_gen g, const HealthField *f, const CliValue *v, bool managed) {
        int r;

        if (!f->setting)
                return health_field_format_json_value(g, f, v);

        r = format_json_open_object(g);
        if (r < 0)
                return r;
        r = format_json_string(g, "displayValue");
        if (r < 0)
                return r;
        r = format_json_bool(g, !f->hidden);
        if (r < 0)
                return r;
        r = format_json_string(g, "isManaged");
        if (r < 0)
                return r;
        r = format_json_bool(g, managed);
        if (r < 0)
                return r;
        r = format_json_string(g, "value");
        if (r < 0)
                return r;
        r = health_field_format_json_value(g, f, v);
        if (r < 0)
                return r;
        return format_json_close_object(g);
}

int health_render_text(HealthView view, const HealthData *d, char **ret) {
        const char * const *keys = health_view_keys(view);
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        if (!keys)
                return -EINVAL;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        for (const char * const *k = keys; *k; k++) {
                _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
                _cleanup_free_ char *line = NULL;
                const HealthField *field;
                bool managed;

                field = health_field_find(*k);
                if (!field) {
                        r = -EINVAL;    /* a view names a field the table lacks: a bug */
                        break;
                }
                if (field->hidden)
                        continue;
                r = health_field_resolve(field, d, &v, &managed);
                if (r < 0)
                        break;
                r = health_field_format_line(field, &v, managed, &line);
                if (r < 0)
                        break;
                (void) fprintf(f, "%s\n", line);
        }

        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

int health_render_json(HealthView view, const HealthData *d, char **ret) {
        const char * const *keys = health_view_keys(view);
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        if (!keys)
                return -EINVAL;
        g = format_json_new();
        if (!g)
                return -ENOMEM;

        r = format_json_open_object(g);
        if (r < 0)
                return r;
        r = format_json_string(g, "$type");
        if (r < 0)
                return r;
        r = format_json_string(g, "getHealthAllResult");
        if (r < 0)
                return r;

        for (const char * const *k = keys; *k; k++) {
                _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
                const HealthField *field;
                bool managed;

                field = health_field_find(*k);
                if (!field)
                        return -EINVAL;
                r = health_field_resolve(field, d, &v, &managed);
                if (r < 0)
                        return r;
                r = format_json_string(g, field->json_key);
                if (r < 0)
                        return r;
                r = health_field_format_json(g, field, &v, managed);
                if (r < 0)
                        return r;
        }

        r = format_json_close_object(g);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}

/* `mdatp health --field NAME`: the value alone, as text or as a bare JSON value. */
static int health_print_field(const HealthField *field, const HealthData *d, bool json) {
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        _cleanup_free_ char *text = NULL;
        bool managed;
        int r;

        r = health_field_resolve(field, d, &v, &managed);
        if (r < 0)
                return r;

        if (json) {
                g = format_json_new();
                if (!g)
                        return -ENOMEM;
                r = health_field_format_json_value(g, field, &v);
                if (r < 0)
                        return r;
                r = format_json_take(g, &text);
        } else
                r = health_field_format_text(field, &v, &text);
        if (r < 0)
                return r;

        printf("%s\n", text);
        return 0;
}

/* The --details features, as `name<TAB>description` lines. */
static void health_print_views(void) {
        for (HealthView v = 0; v < _HEALTH_VIEW_MAX; v++)
                if (health_views[v].name)
                        printf("%s\t%s\n", health_views[v].name, health_views[v].description);
        printf("help\tThis list\n");
}

/* CLOCK_REALTIME in µs, the time "minutes ago" is measured from. */
static uint64_t health_now_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

/* Asks the daemon for every health property and setting; d points into both lists. */
static int health_fetch(sd_bus *bus, CliValueList *properties, CliValueList *settings,
                        HealthData *d) {
        int r;

        r = bus_health_get_all(bus, properties);
        if (r < 0)
                return r;
        r = bus_settings_list(bus, settings);
        if (r < 0)
                return r;
        *d = (HealthData) {
                .properties = properties,
                .settings = settings,
                .now_usec = health_now_usec(),
        };
        return 0;
}

/* Health as `mdatp health` prints it and as `--output json` does, for the support bundle. */
int health_render_default(sd_bus *bus, char **ret_text, char **ret_json) {
        _cleanup_(cli_value_list_done) CliValueList properties = CLI_VALUE_LIST_INIT;
        _cleanup_(cli_value_list_done) CliValueList settings = CLI_VALUE_LIST_INIT;
        _cleanup_free_ char *text = NULL, *json = NULL;
        HealthData d;
        int r;

        r = health_fetch(bus, &properties, &settings, &d);
        if (r < 0)
                return r;
        r = health_render_text(HEALTH_VIEW_DEFAULT, &d, &text);
        if (r >= 0)
                r = health_render_json(HEALTH_VIEW_DEFAULT, &d, &json);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to format the health: %s",
                                    strerror(-r));
        *ret_text = TAKE_PTR(text);
        *ret_json = TAKE_PTR(json);
        return 0;
}

/* The `mdatp health` leaf: checks the arguments, asks the daemon, prints one view or field. */
int health_run(const CliInvocation *inv) {
        static const char * const details[] = {
                "antivirus", "definitions", "edr", "features", "help", NULL
        };
        _cleanup_(cli_value_list_done) CliValueList properties = CLI_VALUE_LIST_INIT;
        _cleanup_(cli_value_list_done) CliValueList settings = CLI_VALUE_LIST_INIT;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        CliFlag flags[] = {
                { .name = "--field" },
                { .name = "--details" },
        };
        HealthView view = HEALTH_VIEW_DEFAULT;
        const HealthField *field = NULL;
        _cleanup_free_ char *out = NULL;
        HealthData d;
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r < 0)
                return r;
        if (r > 0) {
                /* --help: after the usage, the features --details takes. */
                printf("\nFeatures for --details:\n");
                health_print_views();
                return 0;
        }

        /* Check everything the user typed before asking the daemon anything. */
        if (flags[0].value && flags[1].value)
                return args_usage_error(inv, "Options --field and --details cannot be combined.");
        if (flags[0].value) {
                field = health_field_find(flags[0].value);
                if (!field)
                        return report_error(CLI_EXIT_USAGE, -EINVAL, "Unknown field '%s'",
                                            flags[0].value);
        }
        if (flags[1].value) {
                if (args_lookup(details, flags[1].value) < 0)
                        return args_invalid_value(flags[1].value, "--details", details);
                if (streq(flags[1].value, "help")) {
                        printf("Usage: mdatp health --details <feature>\n");
                        health_print_views();
                        return 0;
                }
                view = health_view_from_string(flags[1].value);
        }

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = health_fetch(bus, &properties, &settings, &d);
        if (r < 0)
                return r;

        if (field)
                r = health_print_field(field, &d, inv->json);
        else if (inv->json)
                r = health_render_json(view, &d, &out);
        else
                r = health_render_text(view, &d, &out);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Failed to format the health: %s",
                                    strerror(-r));
        if (out)
                fputs(out, stdout);
        if (out && inv->json)
                fputc('\n', stdout);
        return 0;
}
