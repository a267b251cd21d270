/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The D-Bus adapters: one file per interface, each a vtable with argument parsing, polkit
 * checks and replies only; the logic is in the manager and the modules below it.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* Registers every object and interface on m->bus. */
int bus_register_objects(Manager *m);

/* Tells clients which settings changed: Settings.Changed and PropertiesChanged on Health for
 * exactly the properties that depend on them (and Healthy/HealthIssues when those changed). */
int bus_notify_settings_changed(Manager *m, char **names);
/* Emits PropertiesChanged for LogLevel. */
int bus_notify_log_level_changed(Manager *m);

/* polkit, asynchronously (systemd's pattern). Returns 1 when the caller is authorised, 0 when
 * a CheckAuthorization query was sent and the message will be dispatched again once polkit
 * answers (the handler must then return 1 without replying), or a negative errno with *error
 * set when not: AccessDenied (polkit said no, or is unreachable), InteractiveAuthorizationRequired
 * (polkit would ask the caller to authenticate, and the message does not allow interaction), or
 * LimitsExceeded (too many queries pending). Callers with euid 0 pass at once. */
int bus_verify_polkit_async(sd_bus_message *message, const char *action, const char *what,
                            PolkitRegistry **registry, sd_bus_error *error);
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);

/* Outcomes of bus_test_polkit_async(). */
enum {
        BUS_POLKIT_PENDING,     /* asked; the message is dispatched again: return 1, no reply */
        BUS_POLKIT_GRANTED,
        BUS_POLKIT_DENIED,      /* polkit said no or could not answer: not an error for reads */
};
/* For methods that answer everyone but show protected details only to the authorised: the
 * same asynchronous check as bus_verify_polkit_async(), with "no" as an outcome rather than an
 * error. Returns one of the BUS_POLKIT_* outcomes, or -ENOMEM. */
int bus_test_polkit_async(sd_bus_message *message, const char *action,
                          PolkitRegistry **registry);
/* Whether the caller's effective uid, as the bus attests it, is 0: 1 yes, 0 no, negative errno
 * when the bus cannot say. For property getters, which cannot wait for polkit. */
int bus_caller_is_root(sd_bus_message *message);

/* Reading and writing setting values of any of the schema's types (bus-setting-value.c):
 * _value wraps the value in a variant, _contents appends it bare (for properties). */
int bus_message_append_setting_contents(sd_bus_message *m, const SettingValue *v);
int bus_message_append_setting_value(sd_bus_message *m, const SettingValue *v);
/* Reads a variant holding a value for def; -EINVAL with *error set on a type mismatch. */
int bus_message_read_setting_value(sd_bus_message *m, const SettingDef *def, SettingValue *ret,
                                   sd_bus_error *error);

/* Redaction for what any local user reads (bus-redact.c): URL user information and query
 * strings become "***". The _append_ functions append "s"/"as"; bus_redact_strv() gives a copy
 * (caller frees); bus_setting_value_redact() redacts v in place when def holds a URL. Return
 * the number of redactions, or a negative errno. */
int bus_append_redacted_string(sd_bus_message *reply, const char *s);
int bus_append_redacted_strv(sd_bus_message *reply, char **l);
int bus_redact_strv(char **l, char ***ret);
int bus_setting_value_redact(const SettingDef *def, SettingValue *v);

/* Scans (bus-scans.c): ScanManager, one object per scan, and their signals. */
int bus_scans_register(Manager *m);
int bus_scan_emit_changed(Manager *m, ManagerScan *s, char **properties);
int bus_scan_emit_finished(Manager *m, ManagerScan *s);
/* ScanManager.Running changed: for scans the daemon starts without a Start call. */
int bus_scans_emit_running(Manager *m);
/* Threats (bus-threats.c). */
int bus_threat_emit_detected(Manager *m, const Threat *t);
/* Health (bus-health.c): the LastOnDemandScan* properties changed. */
int bus_health_emit_last_scan(Manager *m);
/* Health: the definitions changed (version, status, engine load). */
int bus_health_emit_definitions(Manager *m);

/* Definitions (bus-definitions.c): answers for calls that waited on an update. */
int bus_reply_update(Manager *m, sd_bus_message *call, int r, const char *error);
int bus_reply_connectivity(sd_bus_message *call, char **lines, unsigned failures, int r);
int bus_definitions_emit_changed(Manager *m);

extern const sd_bus_vtable bus_health_vtable[];
extern const sd_bus_vtable bus_definitions_vtable[];
extern const sd_bus_vtable bus_threats_vtable[];
extern const sd_bus_vtable bus_exclusions_vtable[];
extern const sd_bus_vtable bus_settings_vtable[];
extern const sd_bus_vtable bus_diagnostics_vtable[];
extern const sd_bus_vtable bus_rtp_vtable[];

/* Real-time protection (bus-rtp.c): Enabled, Mode and Error may have changed. */
int bus_rtp_emit_changed(Manager *m);
