/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.Settings on /com/microsoft/Mdatp1: Get, List, Set, Reset and the Changed
 * signal. Parsing, polkit and replies only; manager_set_setting() and friends do the work.
 */
#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/strv.h"

static const SettingDef *setting_def_or_error(const char *name, sd_bus_error *error) {
        const SettingDef *def = setting_def_find(name);

        if (!def)
                (void) sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Unknown setting '%s'; 'mdatp config list' shows the "
                                         "settings there are",
                                         name);
        return def;
}

/* URL settings may carry credentials: for callers that are neither root nor granted
 * read-details, *v is redacted. Returns 1 to go on, 0 when polkit was asked (the handler
 * returns 1 and runs again), or a negative errno. */
static int redact_unless_allowed(sd_bus_message *message, BusContext *b, const SettingDef *def,
                                 SettingValue *v) {
        _cleanup_(setting_value_done) SettingValue copy = {};
        int r;

        r = setting_value_copy(v, &copy);
        if (r < 0)
                return r;
        r = bus_setting_value_redact(def, &copy);
        if (r <= 0)
                return r < 0 ? r : 1;   /* nothing to hide: no need to ask */
        r = bus_test_polkit_async(message, MDATP_POLKIT_READ_DETAILS, &b->polkit_registry);
        if (r < 0 || r == BUS_POLKIT_PENDING)
                return r < 0 ? r : 0;
        if (r == BUS_POLKIT_DENIED) {
                setting_value_done(v);
                *v = copy;
                copy = (SettingValue) {};
        }
        return 1;
}

/* Whether any setting shows differently redacted: then List asks polkit once. */
static int settings_need_redaction(Manager *m) {
        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                _cleanup_(setting_value_done) SettingValue value = {};
                int r;

                r = settings_get(m->settings, def, &value, NULL);
                if (r >= 0)
                        r = bus_setting_value_redact(def, &value);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int method_get(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(setting_value_done) SettingValue value = {};
        BusContext *b = userdata;
        Manager *m = b->manager;
        const SettingDef *def;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        def = setting_def_or_error(name, error);
        if (!def)
                return -EINVAL;

        r = settings_get(m->settings, def, &value, NULL);
        if (r < 0)
                return r;
        r = redact_unless_allowed(message, b, def, &value);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = bus_message_append_setting_value(reply, &value);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        bool redact = false;
        int r;

        r = settings_need_redaction(m);
        if (r > 0) {
                r = bus_test_polkit_async(message, MDATP_POLKIT_READ_DETAILS,
                                          &b->polkit_registry);
                if (r == BUS_POLKIT_PENDING)
                        return 1;
                redact = r == BUS_POLKIT_DENIED;
        }
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(svbs)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                _cleanup_(setting_value_done) SettingValue value = {};
                SettingSource source;

                r = settings_get(m->settings, def, &value, &source);
                if (r >= 0 && redact)
                        r = bus_setting_value_redact(def, &value);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(reply, 'r', "svbs");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "s", def->name);
                if (r < 0)
                        return r;
                r = bus_message_append_setting_value(reply, &value);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "bs", policy_is_managed(m->policy, def->name),
                                          setting_source_to_string(source));
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Turns a manager outcome into the reply the caller gets. */
static int reply_for_outcome(sd_bus_message *message, Manager *m, const SettingDef *def, int r,
                             const char *message_text, sd_bus_error *error) {
        switch (r) {
        case 0:                 /* manager_commit() told clients */
        case MANAGER_SETTING_UNCHANGED:
                return sd_bus_reply_method_return(message, NULL);
        case MANAGER_SETTING_MANAGED:
                return sd_bus_error_setf(error, MDATP_ERROR_MANAGED_BY_POLICY,
                                         "The setting '%s' is managed by policy ('%s') and "
                                         "cannot be changed locally; change it in that file",
                                         def->name, m->managed_path);
        case MANAGER_SETTING_ADMIN_ONLY:
                return sd_bus_error_setf(error, MDATP_ERROR_MANAGED_BY_POLICY,
                                         "Local changes to '%s' are not allowed: the managed "
                                         "policy ('%s') sets its merge policy to admin_only",
                                         def->name, m->managed_path);
        case MANAGER_SETTING_INVALID:
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Invalid value for '%s': %s", def->name,
                                         message_text ?: "not allowed");
        case MANAGER_SETTING_TOO_LARGE:
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "'%s' not changed: %s", def->name,
                                         message_text ?: "the local settings would be too large");
        default:
                return r < 0 ? r : -EIO;
        }
}

static int method_set(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(setting_value_done) SettingValue value = {};
        _cleanup_strv_free_ char **changed = NULL;
        _cleanup_free_ char *text = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        const SettingDef *def;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        def = setting_def_or_error(name, error);
        if (!def)
                return -EINVAL;
        r = bus_message_read_setting_value(message, def, &value, error);
        if (r < 0)
                return r;
        if (setting_value_validate(def, &value, &text) < 0)
                return reply_for_outcome(message, m, def, MANAGER_SETTING_INVALID, text,
                                         error);

        r = bus_verify_polkit_async(message, MDATP_POLKIT_MANAGE_SETTINGS, "Changing settings",
                                    &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;

        r = manager_set_setting(m, def, &value, &text, &changed);
        return reply_for_outcome(message, m, def, r, text, error);
}

static int method_reset(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **changed = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        const SettingDef *def;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        def = setting_def_or_error(name, error);
        if (!def)
                return -EINVAL;

        r = bus_verify_polkit_async(message, MDATP_POLKIT_MANAGE_SETTINGS, "Changing settings",
                                    &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;

        r = manager_reset_setting(m, def, &changed);
        return reply_for_outcome(message, m, def, r, NULL, error);
}

const sd_bus_vtable bus_settings_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Get",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_RESULT("v", value),
                                method_get, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("List",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(svbs)", settings),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Set",
                                SD_BUS_ARGS("s", name, "v", value),
                                SD_BUS_NO_RESULT,
                                method_set, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reset",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_NO_RESULT,
                                method_reset, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Changed", SD_BUS_ARGS("as", names), 0),
        SD_BUS_VTABLE_END
};
