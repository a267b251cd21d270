/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The D-Bus adapters: one file per interface, each a vtable with argument parsing, polkit
 * checks and replies only; the logic is in the manager and the modules below it.
 *
 * BusContext is the bus side's own state: the connection, the polkit registry, the
 * Update()/TestConnectivity() calls waiting for their job and the calls waiting for a request
 * (a restore, the manual quarantine, Definitions.Restore) the manager runs on its executor. It subscribes to the manager's
 * change events (bus_on_manager_event(), bus-events.c) and alone turns them into signals,
 * PropertiesChanged and the deferred replies. Every vtable's userdata is the BusContext.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

typedef struct PolkitRegistry PolkitRegistry;

/* Which command a call waiting for MANAGER_EVENT_REQUEST_FINISHED was, for its answer. */
typedef enum BusRequestKind {
        BUS_REQUEST_THREAT_QUARANTINE,
        BUS_REQUEST_THREAT_RESTORE,             /* Restore and RestoreByPath */
        BUS_REQUEST_DEFINITIONS_RESTORE,
} BusRequestKind;

typedef struct BusRequest {
        uint64_t id;                    /* the manager's request id */
        BusRequestKind kind;
        sd_bus_message *call;           /* ours */
} BusRequest;

typedef struct BusContext {
        Manager *manager;
        sd_bus *bus;
        PolkitRegistry *polkit_registry;
        /* Calls answered on MANAGER_EVENT_UPDATE_FINISHED, one list per kind of job. */
        sd_bus_message **update_waiters;
        size_t n_update_waiters;
        sd_bus_message **connectivity_waiters;
        size_t n_connectivity_waiters;
        /* Calls answered on MANAGER_EVENT_REQUEST_FINISHED with their id. */
        BusRequest *requests;
        size_t n_requests;
} BusContext;

/* Connects to the system bus, registers every object and subscribes to m's events. The name
 * is requested by the caller once everything is in place. */
int bus_context_new(Manager *m, BusContext **ret);
/* Unsubscribes, answers nobody (the waiting calls are dropped with the connection), closes. */
BusContext *bus_context_free(BusContext *b);
static inline void bus_context_freep(BusContext **b) {
        if (*b)
                (void) bus_context_free(*b);
}
/* Registers every object and interface on b->bus. */
int bus_register_objects(BusContext *b);
/* The manager's event handler; userdata is the BusContext. */
void bus_on_manager_event(Manager *m, const ManagerEvent *e, void *userdata);
/* Keeps call to be answered when the job of this kind finishes: 0 or -ENOMEM. */
int bus_context_add_waiter(BusContext *b, bool connectivity_only, sd_bus_message *call);
/* Keeps call to be answered when the manager's request id finishes: 0 or -ENOMEM (then the
 * caller answers with the error; the finished event finds nobody waiting and is dropped). */
int bus_context_add_request(BusContext *b, uint64_t id, BusRequestKind kind,
                            sd_bus_message *call);

/* Tells clients which settings changed: Settings.Changed and PropertiesChanged on Health for
 * exactly the properties that depend on them. */
int bus_notify_settings_changed(BusContext *b, char **names);
/* Healthy and HealthIssues changed (the manager computed them). */
int bus_health_emit_issues(BusContext *b);
/* Emits PropertiesChanged for LogLevel. */
int bus_notify_log_level_changed(BusContext *b);

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
int bus_scans_register(BusContext *b);
int bus_scan_emit_changed(BusContext *b, const ManagerScan *s, char **properties);
int bus_scan_emit_finished(BusContext *b, const ManagerScan *s);
/* ScanManager.Running changed. */
int bus_scans_emit_running(BusContext *b);
/* Threats (bus-threats.c). */
int bus_threat_emit_detected(BusContext *b, const Threat *t);
/* Answers call, a Quarantine (kind BUS_REQUEST_THREAT_QUARANTINE) or Restore/RestoreByPath, with
 * the outcome of its request, as the command always answered. */
int bus_reply_threat_request(BusContext *b, sd_bus_message *call, BusRequestKind kind,
                             const ManagerRequestResult *res);
/* Health (bus-health.c): the LastOnDemandScan* properties changed. */
int bus_health_emit_last_scan(BusContext *b);
/* Health: the definitions changed (version, status, engine load). */
int bus_health_emit_definitions(BusContext *b);

/* Definitions (bus-definitions.c): answers for calls that waited on an update. */
int bus_reply_update(Manager *m, sd_bus_message *call, int r, const char *error);
int bus_reply_connectivity(sd_bus_message *call, char **lines, unsigned failures, int r);
int bus_definitions_emit_changed(BusContext *b);
int bus_reply_definitions_restore(BusContext *b, sd_bus_message *call,
                                  const ManagerRequestResult *res);

extern const sd_bus_vtable bus_health_vtable[];
extern const sd_bus_vtable bus_definitions_vtable[];
extern const sd_bus_vtable bus_threats_vtable[];
extern const sd_bus_vtable bus_exclusions_vtable[];
extern const sd_bus_vtable bus_settings_vtable[];
extern const sd_bus_vtable bus_diagnostics_vtable[];
extern const sd_bus_vtable bus_rtp_vtable[];

/* Real-time protection (bus-rtp.c): Enabled, Mode and Error may have changed. */
int bus_rtp_emit_changed(BusContext *b);
