/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's one context: the event loop, the bus, the settings layers and the state that
 * `mdatp health` reports. Everything here is owned and changed by the main thread only.
 *
 * The manager_* functions are the product logic behind the D-Bus adapters in bus/: they
 * validate, apply, persist and return outcomes; they never build D-Bus replies.
 */
#pragma once

#include <stdbool.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "settings/settings.h"
#include "util/log.h"

typedef struct PolkitRegistry PolkitRegistry;

typedef struct ManagerConfig {
        const char *state_dir;          /* local settings, machine id, persisted log level */
        const char *managed_dir;        /* directory of mdatp_managed.json */
} ManagerConfig;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        PolkitRegistry *polkit_registry;

        Settings *settings;
        char *state_dir;
        char *managed_dir;
        char *managed_path;             /* managed_dir/mdatp_managed.json */
        char *local_settings_path;      /* state_dir/settings.json */
        char *log_level_path;           /* state_dir/log_level */

        /* Why the last managed policy load failed, or NULL when it did not: a health issue. */
        char *managed_policy_error;
        /* Why the local settings could not be loaded at start, or NULL. */
        char *local_settings_error;

        char *machine_guid;
        char **health_issues;           /* as last published, to emit changes exactly */

        sd_event_source *managed_watch;         /* inotify on managed_dir */
        sd_event_source *managed_poll;          /* while managed_dir does not exist */
        sd_event_source *managed_reload;        /* debounce of inotify bursts */
} Manager;

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
};

/* Sets the local value of def and persists it atomically; on a failed write nothing changes.
 * Returns 0, one of the outcomes above, or < 0. *ret_changed: settings whose effective value
 * changed. */
int manager_set_setting(Manager *m, const SettingDef *def, const SettingValue *value,
                        char **ret_message, char ***ret_changed);
int manager_reset_setting(Manager *m, const SettingDef *def, char ***ret_changed);

/* Sets the log level now; with persist, also across restarts. */
int manager_set_log_level(Manager *m, LogLevel level, bool persist);

/* The current health issues, one sentence each (caller frees). */
int manager_health_issues(Manager *m, char ***ret);
