/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exclusions as users change them: `mdatp exclusion ... add|remove` and D-Bus Exclusions.Add/
 * Remove become changes of the local antivirusEngine.exclusions (scope epp) or
 * exclusionSettings.exclusions (scope global) lists, so that merge policies, persistence and
 * change notification are those of every other setting. Main thread only.
 */
#include <string.h>
#include <sys/stat.h>

#include "exclusions/exclusions.h"
#include "manager.h"
#include "util/strv.h"

#define EPP_LIST "antivirusEngine.exclusions"
#define GLOBAL_LIST "exclusionSettings.exclusions"

/* Entries an extension of the kept set may compile itself before the whole set is compiled
 * afresh: each add then costs this many entries at most, and a full compilation once per this
 * many adds, instead of the whole list each time (5,000 entries took about 2 ms). */
#define EXCLUSIONS_EXTENSION_MAX 128U

/* Compiles the effective lists into a new set. */
static int exclusion_set_compile(Manager *m, ExclusionSet **ret) {
        _cleanup_(setting_value_done) SettingValue epp = {}, global = {};
        _cleanup_free_ SettingExclusion *all = NULL;
        size_t n;
        int r;

        r = settings_get(m->settings, setting_def_find(EPP_LIST), &epp, NULL);
        if (r >= 0)
                r = settings_get(m->settings, setting_def_find(GLOBAL_LIST), &global, NULL);
        if (r < 0)
                return r;

        /* A shallow concatenation: the set copies what it keeps. */
        n = epp.exclusions.n + global.exclusions.n;
        all = calloc(n ?: 1, sizeof(SettingExclusion));
        if (!all)
                return -ENOMEM;
        if (epp.exclusions.n)
                memcpy(all, epp.exclusions.items, epp.exclusions.n * sizeof(SettingExclusion));
        if (global.exclusions.n)
                memcpy(all + epp.exclusions.n, global.exclusions.items,
                       global.exclusions.n * sizeof(SettingExclusion));
        r = exclusion_set_new(all, n, ret);
        if (r > 0)
                log_warning("%d exclusion(s) could not be applied in full; see "
                            "'mdatp exclusion list'.", r);
        return r < 0 ? r : 0;
}

int manager_exclusion_set(Manager *m, ExclusionSet **ret) {
        int r;

        if (!m->exclusions) {
                r = exclusion_set_compile(m, &m->exclusions);
                if (r < 0)
                        return r;
        }
        *ret = exclusion_set_ref(m->exclusions);
        return 0;
}

void manager_exclusions_changed(Manager *m, char **changed) {
        if (strv_contains(changed, EPP_LIST) || strv_contains(changed, GLOBAL_LIST))
                m->exclusions = exclusion_set_unref(m->exclusions);
}

void manager_exclusions_added(Manager *m, const SettingExclusion *e) {
        ExclusionSet *x = NULL;
        int r;

        if (!m->exclusions)
                return;         /* compiled whole when next asked for */
        if (exclusion_set_extension_size(m->exclusions) >= EXCLUSIONS_EXTENSION_MAX) {
                m->exclusions = exclusion_set_unref(m->exclusions);
                return;
        }
        r = exclusion_set_extend(m->exclusions, e, 1, &x);
        if (r < 0) {
                /* The next ask compiles afresh, and says so if that fails too. */
                m->exclusions = exclusion_set_unref(m->exclusions);
                return;
        }
        if (r > 0)
                log_warning("Exclusion '%s' could not be applied in full; see "
                            "'mdatp exclusion list'.", e->value);
        exclusion_set_unref(m->exclusions);
        m->exclusions = x;
}

/* Builds the entry an exclusion command describes. */
static int exclusion_from_command(const char *kind, const char *value, const char *scope,
                                  SettingExclusion *ret, char **ret_message) {
        unsigned scopes;

        if (streq(scope, "epp"))
                scopes = EXCLUSION_SCOPE_EPP;
        else if (streq(scope, "global"))
                scopes = EXCLUSION_SCOPE_GLOBAL;
        else
                return asprintf(ret_message, "unknown scope '%s': expected epp or global",
                                scope) < 0 ? -ENOMEM : -EINVAL;

        *ret = (SettingExclusion) { .value = (char *) value, .scopes = scopes };
        if (streq(kind, "extension"))
                ret->type = (char *) "excludedFileExtension";
        else if (streq(kind, "file"))
                ret->type = (char *) "excludedPath";
        else if (streq(kind, "folder")) {
                ret->type = (char *) "excludedPath";
                ret->is_directory = true;
        } else if (streq(kind, "process"))
                ret->type = (char *) "excludedFileName";
        else
                return asprintf(ret_message, "unknown exclusion kind '%s': expected extension, "
                                "file, folder or process", kind) < 0 ? -ENOMEM : -EINVAL;
        return 0;
}

static bool exclusion_same(const SettingExclusion *a, const SettingExclusion *b) {
        return streq(a->type, b->type) && streq(a->value, b->value) &&
               a->is_directory == b->is_directory;
}

static const SettingDef *list_for_scope(unsigned scopes) {
        return setting_def_find(scopes == EXCLUSION_SCOPE_GLOBAL ? GLOBAL_LIST : EPP_LIST);
}

static int local_list_copy(Manager *m, const SettingDef *def, SettingValue *ret) {
        const SettingValue *cur = settings_layer_get(m->settings->local, def);

        if (cur)
                return setting_value_copy(cur, ret);
        *ret = (SettingValue) { .type = SETTING_EXCLUSION_LIST };
        return 0;
}

/* Whether the local list def already has e (in one of e's scopes). A scan of the entries in
 * place, without copying the list: microseconds at the sizes the settings file can hold. */
static bool local_list_has(Manager *m, const SettingDef *def, const SettingExclusion *e) {
        const SettingValue *cur = settings_layer_get(m->settings->local, def);

        for (size_t i = 0; cur && i < cur->exclusions.n; i++)
                if (exclusion_same(&cur->exclusions.items[i], e) &&
                    (cur->exclusions.items[i].scopes & e->scopes))
                        return true;
        return false;
}

/* Appends to the local list in place (manager_add_local_exclusion()): no copy, re-validation
 * or snapshot of the whole list per call, which made each add cost time in proportion to the
 * list (26 ms at 7,000 entries). */
int manager_exclusion_add(Manager *m, const char *kind, const char *value, const char *scope,
                          char **ret_message, char ***ret_changed) {
        SettingExclusion e;
        const SettingDef *def;
        struct stat st;
        int r;

        *ret_changed = NULL;
        r = exclusion_from_command(kind, value, scope, &e, ret_message);
        if (r < 0)
                return r == -EINVAL ? MANAGER_SETTING_INVALID : r;
        r = exclusion_validate(&e, ret_message);
        if (r < 0)
                return r == -EINVAL ? MANAGER_SETTING_INVALID : r;
        /* Global exclusions act at the sensor, by exact path: the file must be there. */
        if (e.scopes == EXCLUSION_SCOPE_GLOBAL && streq(kind, "file") &&
            (lstat(value, &st) < 0 || !S_ISREG(st.st_mode)))
                return asprintf(ret_message, "a global file exclusion needs an existing regular "
                                "file, and '%s' is not one", value) < 0 ? -ENOMEM :
                                                                         MANAGER_SETTING_INVALID;

        def = list_for_scope(e.scopes);
        if (local_list_has(m, def, &e))
                return MANAGER_SETTING_UNCHANGED;
        r = manager_add_local_exclusion(m, def, &e, ret_message, ret_changed);
        if (r == 0)
                log_info("Exclusion %s '%s' (%s) added locally.", kind, value, scope);
        return r;
}

static bool effective_has(Manager *m, const SettingDef *def, const SettingExclusion *e) {
        _cleanup_(setting_value_done) SettingValue v = {};

        if (settings_get(m->settings, def, &v, NULL) < 0)
                return false;
        for (size_t i = 0; i < v.exclusions.n; i++)
                if (exclusion_same(&v.exclusions.items[i], e) &&
                    (v.exclusions.items[i].scopes & e->scopes))
                        return true;
        return false;
}

int manager_exclusion_remove(Manager *m, const char *kind, const char *value, const char *scope,
                             char **ret_message, char ***ret_changed) {
        _cleanup_(setting_value_done) SettingValue list = {};
        const SettingDef *def;
        SettingExclusion e;
        size_t i;
        int r;

        *ret_changed = NULL;
        r = exclusion_from_command(kind, value, scope, &e, ret_message);
        if (r < 0)
                return r == -EINVAL ? MANAGER_SETTING_INVALID : r;
        def = list_for_scope(e.scopes);
        r = local_list_copy(m, def, &list);
        if (r < 0)
                return r;

        for (i = 0; i < list.exclusions.n; i++)
                if (exclusion_same(&list.exclusions.items[i], &e) &&
                    (list.exclusions.items[i].scopes & e.scopes))
                        break;
        if (i == list.exclusions.n)
                return effective_has(m, def, &e) ? MANAGER_EXCLUSION_MANAGED :
                                                   MANAGER_EXCLUSION_NOT_FOUND;

        list.exclusions.items[i].scopes &= ~e.scopes;
        if (list.exclusions.items[i].scopes == 0) {
                free(list.exclusions.items[i].type);
                free(list.exclusions.items[i].value);
                memmove(list.exclusions.items + i, list.exclusions.items + i + 1,
                        (list.exclusions.n - i - 1) * sizeof(SettingExclusion));
                list.exclusions.n--;
        }
        return manager_set_setting(m, def, &list, ret_message, ret_changed);
}
