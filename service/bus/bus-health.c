/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.Health on /com/microsoft/Mdatp1: one read-only property per health fact.
 * Getters read the manager's state and emitters send PropertiesChanged when bus-events.c
 * passes on a manager event; nothing here changes or keeps state. The health issues are the
 * manager's (manager_health_issues(), announced by HEALTH_CHANGED). Facts of features this
 * build does not have read as empty strings, 0 or false, which clients show as
 * "unavailable".
 */
#include <string.h>

#include "bus/bus.h"
#include "config.h"
#include "mdatp-bus.h"
#include "util/strv.h"

/* Which setting each settings-backed property shows or derives from, so that a change of the
 * setting emits PropertiesChanged for exactly those properties. */
static const struct {
        const char *property;
        const char *setting;
} health_setting_deps[] = {
        { "CloudEnabled", "cloudService.enabled" },
        { "CloudAutomaticSampleSubmissionConsent", "cloudService.automaticSampleSubmissionConsent" },
        { "CloudDiagnosticEnabled", "cloudService.diagnosticLevel" },
        { "EnforcementLevel", "antivirusEngine.enforcementLevel" },
        { "PassiveModeEnabled", "antivirusEngine.enforcementLevel" },
        { "RealTimeProtectionEnabled", "antivirusEngine.enforcementLevel" },
        { "BehaviorMonitoring", "antivirusEngine.behaviorMonitoring" },
        { "AutomaticDefinitionUpdateEnabled", "cloudService.automaticDefinitionUpdateEnabled" },
        { "EdrEarlyPreviewEnabled", "edr.earlyPreview" },
        { "EdrDeviceTags", "edr.tags" },
        { "EdrGroupIds", "edr.groupIds" },
        { "NetworkProtectionEnforcementLevel", "networkProtection.enforcementLevel" },
        { "Proxy", "cloudService.proxy" },
};

static const char *setting_for_property(const char *property) {
        for (size_t i = 0; i < ELEMENTSOF(health_setting_deps); i++)
                if (streq(health_setting_deps[i].property, property))
                        return health_setting_deps[i].setting;
        return NULL;
}

/* Properties that show a setting's value unchanged. */
static int property_get_setting(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        _cleanup_(setting_value_done) SettingValue value = {};
        BusContext *b = userdata;
        Manager *m = b->manager;
        const SettingDef *def;
        int r;

        def = setting_def_find(setting_for_property(property));
        if (!def)
                return -ENOENT;
        r = settings_get(m->settings, def, &value, NULL);
        if (r < 0)
                return r;
        /* Health is for everyone: a proxy URL is shown without credentials. */
        r = bus_setting_value_redact(def, &value);
        if (r < 0)
                return r;
        return bus_message_append_setting_contents(reply, &value);
}


static int property_get_derived_bool(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply,
                                     void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        bool v = false;

        if (streq(property, "PassiveModeEnabled"))
                v = m->policy->enforcement == POLICY_ENFORCEMENT_PASSIVE;
        else if (streq(property, "RealTimeProtectionEnabled"))
                v = m->policy->enforcement == POLICY_ENFORCEMENT_REAL_TIME;
        else if (streq(property, "CloudDiagnosticEnabled"))
                v = m->policy->diagnostic_optional;
        return sd_bus_message_append(reply, "b", v);
}

static int property_get_healthy(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        _cleanup_strv_free_ char **issues = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = manager_health_issues(m, &issues);
        if (r < 0)
                return r;
        if (streq(property, "Healthy"))
                return sd_bus_message_append(reply, "b", strv_length(issues) == 0);
        /* Issues quote the values they complain about, URLs with credentials included. */
        return bus_append_redacted_strv(reply, issues);
}

static int property_get_log_level(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *reply, void *userdata,
                                  sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", log_level_to_string(log_get_level()));
}

static int property_get_manager_string(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply,
                                       void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;

        if (streq(property, "MachineGuid"))
                return sd_bus_message_append(reply, "s", m->machine_guid);
        return sd_bus_message_append(reply, "s", m->managed_path);
}

/* Facts that are constant in this build, or that later subsystems will fill in. */
static int property_get_const_string(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply,
                                     void *userdata, sd_bus_error *error) {
        static const struct {
                const char *property;
                const char *value;
        } facts[] = {
                { "AppVersion", MDATP_VERSION },
                { "OrgId", "" },
                { "ReleaseRing", "" },
                { "RealTimeProtectionSubsystem", "fanotify" },
                { "SupplementaryEventsSubsystem", "" },
                { "TamperProtection", "disabled" },
                { "EdrConfigurationVersion", "" },
                { "EdrMachineId", "" },
                { "NetworkProtectionStatus", "stopped" },
        };

        for (size_t i = 0; i < ELEMENTSOF(facts); i++)
                if (streq(facts[i].property, property))
                        return sd_bus_message_append(reply, "s", facts[i].value);
        return -ENOENT;
}

/* The engine and definitions facts: loaded or not. */
static int property_get_definitions(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply,
                                    void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        bool loaded = m->rules != NULL;

        if (streq(property, "EngineVersion"))
                return sd_bus_message_append(reply, "s", loaded ? MDATP_VERSION : "");
        if (streq(property, "EngineLoadStatus"))
                return sd_bus_message_append(reply, "s", loaded ? "Engine load succeeded" :
                                                                  "Engine not loaded");
        if (streq(property, "DefinitionsVersion"))
                return sd_bus_message_append(reply, "s", loaded ? m->definitions_version : "");
        if (streq(property, "DefinitionsStatus"))
                return sd_bus_message_append(reply, "s", manager_definitions_status(m));
        if (streq(property, "DefinitionsUpdateSourceUri"))
                return bus_append_redacted_string(reply, manager_update_source_uri(m));
        if (streq(property, "DefinitionsUpdateFailReason"))
                return bus_append_redacted_string(reply, m->update_fail_reason);
        if (streq(property, "DefinitionsUpdated"))
                return sd_bus_message_append(reply, "t",
                                             loaded ? m->definitions_updated_usec : 0);
        return -ENOENT;
}

static int property_get_last_scan(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *reply, void *userdata,
                                  sd_bus_error *error) {
        const ScanRecord *s = manager_last_scan(((BusContext *) userdata)->manager);

        if (streq(property, "LastOnDemandScanType"))
                return sd_bus_message_append(reply, "s", s ? scan_kind_to_string(s->kind) : "");
        return sd_bus_message_append(
                reply, "t",
                !s ? 0 :
                streq(property, "LastOnDemandScanStartTime") ? s->start_usec :
                streq(property, "LastOnDemandScanEndTime") ? s->end_usec :
                streq(property, "LastOnDemandScanThreatCount") ? s->threats_found :
                                                                 s->files_scanned);
}

int bus_health_emit_last_scan(BusContext *b) {
        if (!b->bus)
                return 0;
        return sd_bus_emit_properties_changed(
                b->bus, MDATP_OBJECT_ROOT, MDATP_IFACE_HEALTH, "LastOnDemandScanStartTime",
                "LastOnDemandScanEndTime", "LastOnDemandScanType", "LastOnDemandScanThreatCount",
                "LastOnDemandScanFilesScanned", NULL);
}

int bus_health_emit_definitions(BusContext *b) {
        if (!b->bus)
                return 0;
        return sd_bus_emit_properties_changed(b->bus, MDATP_OBJECT_ROOT, MDATP_IFACE_HEALTH,
                                              "EngineVersion", "EngineLoadStatus",
                                              "DefinitionsVersion", "DefinitionsStatus",
                                              "DefinitionsUpdated", "DefinitionsUpdateFailReason",
                                              NULL);
}

static int property_get_true(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", true);
}

static int property_get_false(sd_bus *bus, const char *path, const char *interface,
                              const char *property, sd_bus_message *reply, void *userdata,
                              sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", false);
}

static int property_get_zero(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", UINT64_C(0));
}

static int property_get_rtp_available(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply,
                                      void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;

        return sd_bus_message_append(reply, "b", m->rtp_available);
}

static int property_get_conflicting(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        BusContext *b = userdata;

        if (manager_rtp_conflicting_applications(b->manager, &l) < 0)
                l = strv_free(l);
        return sd_bus_message_append_strv(reply, l);
}

int bus_health_emit_issues(BusContext *b) {
        if (!b->bus)
                return 0;
        return sd_bus_emit_properties_changed(b->bus, MDATP_OBJECT_ROOT, MDATP_IFACE_HEALTH,
                                              "Healthy", "HealthIssues", NULL);
}

int bus_notify_settings_changed(BusContext *b, char **names) {
        _cleanup_strv_free_ char **props = NULL;
        int r;

        if (!b->bus)
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(health_setting_deps); i++)
                if (strv_contains(names, health_setting_deps[i].setting)) {
                        r = strv_extend(&props, health_setting_deps[i].property);
                        if (r < 0)
                                return r;
                }

        if (props) {
                r = sd_bus_emit_properties_changed_strv(b->bus, MDATP_OBJECT_ROOT,
                                                        MDATP_IFACE_HEALTH, props);
                if (r < 0)
                        return r;
        }
        if (strv_length(names) > 0) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;

                r = sd_bus_message_new_signal(b->bus, &signal, MDATP_OBJECT_ROOT,
                                              MDATP_IFACE_SETTINGS, "Changed");
                if (r < 0)
                        return r;
                r = sd_bus_message_append_strv(signal, names);
                if (r < 0)
                        return r;
                return sd_bus_send(b->bus, signal, NULL);
        }
        return 0;
}

int bus_notify_log_level_changed(BusContext *b) {
        if (!b->bus)
                return 0;
        return sd_bus_emit_properties_changed(b->bus, MDATP_OBJECT_ROOT, MDATP_IFACE_HEALTH,
                                              "LogLevel", NULL);
}

#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

const sd_bus_vtable bus_health_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Healthy", "b", property_get_healthy, 0, CHANGES),
        SD_BUS_PROPERTY("HealthIssues", "as", property_get_healthy, 0, CHANGES),
        SD_BUS_PROPERTY("Licensed", "b", property_get_true, 0, CONST),
        SD_BUS_PROPERTY("AppVersion", "s", property_get_const_string, 0, CONST),
        SD_BUS_PROPERTY("EngineVersion", "s", property_get_definitions, 0, CHANGES),
        SD_BUS_PROPERTY("EngineLoadStatus", "s", property_get_definitions, 0, CHANGES),
        SD_BUS_PROPERTY("OrgId", "s", property_get_const_string, 0, CONST),
        SD_BUS_PROPERTY("LogLevel", "s", property_get_log_level, 0, CHANGES),
        SD_BUS_PROPERTY("MachineGuid", "s", property_get_manager_string, 0, CONST),
        SD_BUS_PROPERTY("ReleaseRing", "s", property_get_const_string, 0, CONST),
        SD_BUS_PROPERTY("ProductExpiration", "t", property_get_zero, 0, CONST),
        SD_BUS_PROPERTY("CloudEnabled", "b", property_get_setting, 0, CHANGES),
        SD_BUS_PROPERTY("CloudAutomaticSampleSubmissionConsent", "s", property_get_setting, 0,
                        CHANGES),
        SD_BUS_PROPERTY("CloudDiagnosticEnabled", "b", property_get_derived_bool, 0, CHANGES),
        SD_BUS_PROPERTY("EnforcementLevel", "s", property_get_setting, 0, CHANGES),
        SD_BUS_PROPERTY("PassiveModeEnabled", "b", property_get_derived_bool, 0, CHANGES),
        SD_BUS_PROPERTY("BehaviorMonitoring", "s", property_get_setting, 0, CHANGES),
        SD_BUS_PROPERTY("RealTimeProtectionEnabled", "b", property_get_derived_bool, 0, CHANGES),
        SD_BUS_PROPERTY("RealTimeProtectionAvailable", "b", property_get_rtp_available, 0,
                        CHANGES),
        SD_BUS_PROPERTY("RealTimeProtectionSubsystem", "s", property_get_const_string, 0,
                        CHANGES),
        SD_BUS_PROPERTY("SupplementaryEventsSubsystem", "s", property_get_const_string, 0,
                        CHANGES),
        SD_BUS_PROPERTY("TamperProtection", "s", property_get_const_string, 0, CONST),
        SD_BUS_PROPERTY("AutomaticDefinitionUpdateEnabled", "b", property_get_setting, 0,
                        CHANGES),
        SD_BUS_PROPERTY("DefinitionsUpdated", "t", property_get_definitions, 0, CHANGES),
        SD_BUS_PROPERTY("DefinitionsVersion", "s", property_get_definitions, 0, CHANGES),
        SD_BUS_PROPERTY("DefinitionsStatus", "s", property_get_definitions, 0, CHANGES),
        SD_BUS_PROPERTY("DefinitionsUpdateSourceUri", "s", property_get_definitions, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("DefinitionsUpdateFailReason", "s", property_get_definitions, 0, CHANGES),
        SD_BUS_PROPERTY("EdrEarlyPreviewEnabled", "s", property_get_setting, 0, CHANGES),
        SD_BUS_PROPERTY("EdrDeviceTags", "a(ss)", property_get_setting, 0, CHANGES),
        SD_BUS_PROPERTY("EdrGroupIds", "s", property_get_setting, 0, CHANGES),
        SD_BUS_PROPERTY("EdrConfigurationVersion", "s", property_get_const_string, 0, CHANGES),
        SD_BUS_PROPERTY("EdrMachineId", "s", property_get_const_string, 0, CHANGES),
        SD_BUS_PROPERTY("ConflictingApplications", "as", property_get_conflicting, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("NetworkProtectionStatus", "s", property_get_const_string, 0, CHANGES),
        SD_BUS_PROPERTY("NetworkProtectionEnforcementLevel", "s", property_get_setting, 0,
                        CHANGES),
        SD_BUS_PROPERTY("TroubleshootingMode", "b", property_get_false, 0, CONST),
        SD_BUS_PROPERTY("Proxy", "s", property_get_setting, 0, CHANGES),
        SD_BUS_PROPERTY("LastOnDemandScanStartTime", "t", property_get_last_scan, 0, CHANGES),
        SD_BUS_PROPERTY("LastOnDemandScanEndTime", "t", property_get_last_scan, 0, CHANGES),
        SD_BUS_PROPERTY("LastOnDemandScanType", "s", property_get_last_scan, 0, CHANGES),
        SD_BUS_PROPERTY("LastOnDemandScanThreatCount", "t", property_get_last_scan, 0, CHANGES),
        SD_BUS_PROPERTY("LastOnDemandScanFilesScanned", "t", property_get_last_scan, 0, CHANGES),
        SD_BUS_PROPERTY("ManagedPolicyPath", "s", property_get_manager_string, 0, CONST),
        SD_BUS_VTABLE_END
};
