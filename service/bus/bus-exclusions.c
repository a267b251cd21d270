/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.Exclusions on /com/microsoft/Mdatp1/Exclusions: the effective exclusions
 * and local changes to them (manager-exclusions.c does the work).
 */
#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/strv.h"

static const char *exclusion_kind(const SettingExclusion *e) {
        if (streq(e->type, "excludedFileExtension"))
                return "extension";
        if (streq(e->type, "excludedFileName"))
                return "process";
        return e->is_directory ? "folder" : "file";
}

/* Appends one entry per scope, marking those the managed policy contributes. */
static int append_list(sd_bus_message *reply, Manager *m, const char *name) {
        _cleanup_(setting_value_done) SettingValue v = {};
        const SettingDef *def = setting_def_find(name);
        const SettingValue *managed = settings_layer_get(m->settings->managed, def);
        int r;

        r = settings_get(m->settings, def, &v, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v.exclusions.n; i++) {
                const SettingExclusion *e = &v.exclusions.items[i];
                static const struct {
                        unsigned bit;
                        const char *name;
                } scopes[] = { { EXCLUSION_SCOPE_EPP, "epp" }, { EXCLUSION_SCOPE_GLOBAL, "global" } };

                for (size_t k = 0; k < ELEMENTSOF(scopes); k++) {
                        bool is_managed = false;

                        if (!(e->scopes & scopes[k].bit))
                                continue;
                        for (size_t j = 0; managed && j < managed->exclusions.n; j++) {
                                const SettingExclusion *me = &managed->exclusions.items[j];
                                if (streq(me->type, e->type) && streq(me->value, e->value) &&
                                    me->is_directory == e->is_directory &&
                                    (me->scopes & scopes[k].bit))
                                        is_managed = true;
                        }
                        r = sd_bus_message_append(reply, "(sssb)", exclusion_kind(e), e->value,
                                                  scopes[k].name, is_managed);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int method_list(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssb)");
        if (r < 0)
                return r;
        r = append_list(reply, m, "antivirusEngine.exclusions");
        if (r < 0)
                return r;
        r = append_list(reply, m, "exclusionSettings.exclusions");
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int reply_for_outcome(sd_bus_message *message, Manager *m, int r, const char *value,
                             const char *text, sd_bus_error *error) {
        switch (r) {
        case 0:                 /* manager_commit() told clients */
        case MANAGER_SETTING_UNCHANGED:
                return sd_bus_reply_method_return(message, NULL);
        case MANAGER_SETTING_MANAGED:
        case MANAGER_SETTING_ADMIN_ONLY:
                return sd_bus_error_setf(error, MDATP_ERROR_MANAGED_BY_POLICY,
                                         "Local exclusions are not allowed: the managed policy "
                                         "('%s') sets the exclusion merge policy to admin_only",
                                         m->managed_path);
        case MANAGER_SETTING_INVALID:
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Invalid exclusion '%s': %s", value,
                                         text ?: "not allowed");
        case MANAGER_SETTING_TOO_LARGE:
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Exclusion '%s' not added: %s", value,
                                         text ?: "the local settings would be too large");
        case MANAGER_EXCLUSION_NOT_FOUND:
                return sd_bus_error_setf(error, MDATP_ERROR_NOT_FOUND,
                                         "No local exclusion '%s' with that kind and scope; "
                                         "'mdatp exclusion list' shows them",
                                         value);
        case MANAGER_EXCLUSION_MANAGED:
                return sd_bus_error_setf(error, MDATP_ERROR_MANAGED_BY_POLICY,
                                         "The exclusion '%s' comes from the managed policy "
                                         "('%s'); only that file can remove it",
                                         value, m->managed_path);
        default:
                return r < 0 ? r : -EIO;
        }
}

static int method_change(sd_bus_message *message, BusContext *b, bool add, sd_bus_error *error) {
        Manager *m = b->manager;
        _cleanup_strv_free_ char **changed = NULL;
        _cleanup_free_ char *text = NULL;
        const char *kind, *value, *scope;
        int r;

        r = sd_bus_message_read(message, "sss", &kind, &value, &scope);
        if (r < 0)
                return r;
        if (!strv_contains(STRV_MAKE("extension", "file", "folder", "process"), kind))
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Unknown exclusion kind '%s': expected extension, file, "
                                         "folder or process", kind);
        if (!strv_contains(STRV_MAKE("epp", "global"), scope))
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Unknown scope '%s': expected epp or global", scope);

        r = bus_verify_polkit_async(message, MDATP_POLKIT_MANAGE_EXCLUSIONS,
                                    "Changing exclusions", &b->polkit_registry, error);
        if (r <= 0)
                return r == 0 ? 1 : r;

        if (add)
                r = manager_exclusion_add(m, kind, value, scope, &text, &changed);
        else
                r = manager_exclusion_remove(m, kind, value, scope, &text, &changed);
        return reply_for_outcome(message, m, r, value, text, error);
}

static int method_add(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_change(message, userdata, true, error);
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_change(message, userdata, false, error);
}

const sd_bus_vtable bus_exclusions_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("List",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sssb)", exclusions),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Add",
                                SD_BUS_ARGS("s", kind, "s", value, "s", scope),
                                SD_BUS_NO_RESULT,
                                method_add, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Remove",
                                SD_BUS_ARGS("s", kind, "s", value, "s", scope),
                                SD_BUS_NO_RESULT,
                                method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
