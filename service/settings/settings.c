/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Settings layers and the effective value of each setting.
 *
 * A SettingsLayer holds the values one document sets. Settings stacks three of them: the
 * built-in defaults (every setting, never changed), the local layer (owned by whoever handles
 * Settings.Set/Reset, who persists it) and the managed layer (the last good policy file).
 * Effective values are computed on demand; snapshots of them let the caller find which settings
 * changed after a Set, a Reset or a policy reload.
 *
 * Used on the main thread only; hands out copies, never references into layers, except
 * settings_get_string(), whose result lives until the layer it came from changes.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "settings/settings-internal.h"
#include "settings/settings.h"
#include "util/macro.h"
#include "util/strv.h"

void settings_error_done(SettingsError *e) {
        if (!e)
                return;
        free(e->key);
        free(e->message);
        *e = (SettingsError) SETTINGS_ERROR_INIT;
}

/* ---- layers ---- */

int settings_layer_new(SettingsLayer **ret) {
        size_t n = setting_defs_count();
        SettingsLayer *l;

        l = calloc(1, sizeof(SettingsLayer));
        if (!l)
                return -ENOMEM;
        l->n = n;
        l->values = calloc(n, sizeof(SettingValue));
        l->set = calloc(n, sizeof(bool));
        if (!l->values || !l->set) {
                settings_layer_free(l);
                return -ENOMEM;
        }
        *ret = l;
        return 0;
}

SettingsLayer *settings_layer_free(SettingsLayer *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; l->values && i < l->n; i++)
                setting_value_done(&l->values[i]);
        free(l->values);
        free(l->set);
        free(l);
        return NULL;
}

const SettingValue *settings_layer_get(const SettingsLayer *l, const SettingDef *def) {
        size_t i = setting_def_index(def);

        return l && l->set[i] ? &l->values[i] : NULL;
}

void settings_layer_put(SettingsLayer *l, const SettingDef *def, SettingValue *v) {
        size_t i = setting_def_index(def);

        setting_value_done(&l->values[i]);
        l->values[i] = *v;
        l->set[i] = true;
        *v = (SettingValue) { .type = v->type };
}

int settings_layer_set(SettingsLayer *l, const SettingDef *def, const SettingValue *v,
                       char **ret_message) {
        SettingValue copy;
        int r;

        r = setting_value_validate(def, v, ret_message);
        if (r < 0)
                return r;
        r = setting_value_copy(v, &copy);
        if (r < 0)
                return r;
        settings_layer_put(l, def, &copy);
        return 0;
}

int settings_layer_unset(SettingsLayer *l, const SettingDef *def) {
        size_t i = setting_def_index(def);

        if (!l->set[i])
                return 0;
        setting_value_done(&l->values[i]);
        l->set[i] = false;
        return 1;
}

bool settings_layer_equal(const SettingsLayer *a, const SettingsLayer *b) {
        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                const SettingValue *va = settings_layer_get(a, def), *vb = settings_layer_get(b, def);

                if (!va != !vb)
                        return false;
                if (va && !setting_value_equal(va, vb))
                        return false;
        }
        return true;
}

/* ---- defaults ---- */

static int settings_default_value(const SettingDef *def, SettingValue *ret) {
        SettingValue v = { .type = def->type };

        switch (def->type) {
        case SETTING_BOOL:
                v.b = def->default_b;
                break;
        case SETTING_INT:
                v.i = def->default_i;
                break;
        case SETTING_ENUM:
        case SETTING_STRING:
                v.s = def->default_s ? strdup(def->default_s) : NULL;
                if (def->default_s && !v.s)
                        return -ENOMEM;
                break;
        case SETTING_STRING_LIST:
        case SETTING_PAIR_LIST:
                v.strv = strv_copy((char * const *) def->default_strv);
                if (!v.strv)
                        return -ENOMEM;
                break;
        default:        /* EXCLUSION_LIST: none */
                break;
        }
        *ret = v;
        return 0;
}

static int settings_defaults_new(SettingsLayer **ret) {
        _cleanup_(settings_layer_freep) SettingsLayer *l = NULL;
        int r;

        r = settings_layer_new(&l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < setting_defs_count(); i++) {
                SettingValue v;

                r = settings_default_value(setting_def_at(i), &v);
                if (r < 0)
                        return r;
                settings_layer_put(l, setting_def_at(i), &v);
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int settings_new(Settings **ret) {
        _cleanup_(settings_freep) Settings *s = NULL;
        int r;

        s = calloc(1, sizeof(Settings));
        if (!s)
                return -ENOMEM;
        r = settings_defaults_new(&s->defaults);
        if (r < 0)
                return r;
        r = settings_layer_new(&s->local);
        if (r < 0)
                return r;
        r = settings_layer_new(&s->managed);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Settings *settings_free(Settings *s) {
        if (!s)
                return NULL;
        settings_layer_free(s->defaults);
        settings_layer_free(s->local);
        settings_layer_free(s->managed);
        free(s);
        return NULL;
}

/* ---- effective values ---- */

/* The highest layer that sets def, for scalars. */
static const SettingValue *settings_pick(const Settings *s, const SettingDef *def,
                                         SettingSource *ret_source) {
        const SettingValue *v;
        SettingSource source;

        if ((v = settings_layer_get(s->managed, def)))
                source = SETTING_SOURCE_MANAGED;
        else if ((v = settings_layer_get(s->local, def)))
                source = SETTING_SOURCE_LOCAL;
        else {
                v = settings_layer_get(s->defaults, def);
                source = SETTING_SOURCE_DEFAULT;
        }
        if (ret_source)
                *ret_source = source;
        return v;
}

static bool merge_policy_is_admin_only(const Settings *s, const char *policy_name) {
        const char *policy = settings_get_string(s, policy_name);

        return policy && streq(policy, "admin_only");
}

/* Whether def's merge policy is admin_only; false for settings without one. Exclusions are one
 * list to whoever adds them, wherever they are kept (the legacy antivirusEngine list takes the
 * epp ones the CLI adds): admin_only in either place refuses and ignores every local
 * exclusion, whatever its scope, or a local epp exclusion would hide what the policy scans. */
static bool settings_admin_only(const Settings *s, const SettingDef *def) {
        if (!def->merge_policy)
                return false;
        if (def->type == SETTING_EXCLUSION_LIST)
                return merge_policy_is_admin_only(s, "antivirusEngine.exclusionsMergePolicy") ||
                       merge_policy_is_admin_only(s, "exclusionSettings.mergePolicy");
        return merge_policy_is_admin_only(s, def->merge_policy);
}

static bool exclusions_contain(const SettingValue *v, const SettingExclusion *e) {
        for (size_t i = 0; i < v->exclusions.n; i++) {
                const SettingExclusion *x = &v->exclusions.items[i];

                if (streq_ptr(x->type, e->type) && streq_ptr(x->value, e->value) &&
                    x->is_directory == e->is_directory && x->scopes == e->scopes)
                        return true;
        }
        return false;
}

/* managed items, then local items not already present. */
static int settings_merge_exclusions(const SettingValue *managed, const SettingValue *local,
                                     SettingValue *ret) {
        _cleanup_(setting_value_done) SettingValue v = { .type = SETTING_EXCLUSION_LIST };
        SettingExclusion *items;
        size_t n = managed->exclusions.n;
        int r;

        r = setting_value_copy(managed, &v);
        if (r < 0)
                return r;
        items = reallocarray(v.exclusions.items, MAX(n + local->exclusions.n, (size_t) 1),
                             sizeof(SettingExclusion));
        if (!items)
                return -ENOMEM;
        v.exclusions.items = items;

        for (size_t i = 0; i < local->exclusions.n; i++) {
                const SettingExclusion *e = &local->exclusions.items[i];

                if (exclusions_contain(&v, e))
                        continue;
                items[v.exclusions.n] = (SettingExclusion) {
                        .type = strdup(e->type),
                        .value = strdup(e->value),
                        .is_directory = e->is_directory,
                        .scopes = e->scopes,
                };
                v.exclusions.n++;       /* counted before the check, so it is freed */
                if (!items[v.exclusions.n - 1].type || !items[v.exclusions.n - 1].value)
                        return -ENOMEM;
        }
        *ret = v;
        v = (SettingValue) { .type = SETTING_EXCLUSION_LIST };
        return 0;
}

/* Sets key to value in the pair strv *l, replacing an existing key's value in place. */
static int pairs_put(char ***l, const char *key, const char *value) {
        for (size_t i = 0; *l && (*l)[i] && (*l)[i + 1]; i += 2)
                if (streq((*l)[i], key)) {
                        char *copy = strdup(value);

                        if (!copy)
                                return -ENOMEM;
                        free((*l)[i + 1]);
                        (*l)[i + 1] = copy;
                        return 0;
                }
        if (strv_extend(l, key) < 0 || strv_extend(l, value) < 0)
                return -ENOMEM;
        return 0;
}

static int pairs_apply(char ***l, const SettingValue *v) {
        for (size_t i = 0; v && v->strv && v->strv[i] && v->strv[i + 1]; i += 2) {
                int r = pairs_put(l, v->strv[i], v->strv[i + 1]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Pair lists merge per key over the defaults: default < local (under merge) < managed. Under
 * admin_only the defaults still fill the keys the policy does not name, so that every key has
 * an action. */
static int settings_get_pairs(const Settings *s, const SettingDef *def, SettingValue *ret,
                              SettingSource *ret_source) {
        const SettingValue *m = settings_layer_get(s->managed, def);
        const SettingValue *l = settings_admin_only(s, def) ? NULL : settings_layer_get(s->local, def);
        _cleanup_(setting_value_done) SettingValue v = { .type = SETTING_PAIR_LIST };
        int r;

        r = setting_value_copy(settings_layer_get(s->defaults, def), &v);
        if (r >= 0)
                r = pairs_apply(&v.strv, l);
        if (r >= 0)
                r = pairs_apply(&v.strv, m);
        if (r < 0)
                return r;

        if (ret_source)
                *ret_source = m && l ? SETTING_SOURCE_MERGED : m ? SETTING_SOURCE_MANAGED :
                        l ? SETTING_SOURCE_LOCAL : SETTING_SOURCE_DEFAULT;
        *ret = v;
        v = (SettingValue) { .type = SETTING_PAIR_LIST };
        return 0;
}

static int settings_get_exclusions(const Settings *s, const SettingDef *def, SettingValue *ret,
                                   SettingSource *ret_source) {
        const SettingValue *m = settings_layer_get(s->managed, def);
        const SettingValue *l = settings_admin_only(s, def) ? NULL : settings_layer_get(s->local, def);
        SettingSource source;
        int r;

        if (m && l) {
                r = settings_merge_exclusions(m, l, ret);
                source = SETTING_SOURCE_MERGED;
        } else if (m || l) {
                r = setting_value_copy(m ?: l, ret);
                source = m ? SETTING_SOURCE_MANAGED : SETTING_SOURCE_LOCAL;
        } else {
                r = setting_value_copy(settings_layer_get(s->defaults, def), ret);
                source = SETTING_SOURCE_DEFAULT;
        }
        if (r >= 0 && ret_source)
                *ret_source = source;
        return r;
}

int settings_get(const Settings *s, const SettingDef *def, SettingValue *ret,
                 SettingSource *ret_source) {
        if (def->merge_policy && def->type == SETTING_PAIR_LIST)
                return settings_get_pairs(s, def, ret, ret_source);
        if (def->merge_policy)
                return settings_get_exclusions(s, def, ret, ret_source);
        return setting_value_copy(settings_pick(s, def, ret_source), ret);
}

/* The def named name, which must exist and have one of the types: else a bug, abort. */
static const SettingDef *settings_def_expect(const char *name, SettingType a, SettingType b) {
        const SettingDef *def = setting_def_find(name);

        if (!def || (def->type != a && def->type != b))
                abort();
        return def;
}

bool settings_get_bool(const Settings *s, const char *name) {
        const SettingDef *def = settings_def_expect(name, SETTING_BOOL, SETTING_BOOL);

        return settings_pick(s, def, NULL)->b;
}

int64_t settings_get_int(const Settings *s, const char *name) {
        const SettingDef *def = settings_def_expect(name, SETTING_INT, SETTING_INT);

        return settings_pick(s, def, NULL)->i;
}

const char *settings_get_string(const Settings *s, const char *name) {
        const SettingDef *def = settings_def_expect(name, SETTING_ENUM, SETTING_STRING);
        const char *v = settings_pick(s, def, NULL)->s;

        return isempty(v) ? NULL : v;
}

bool settings_is_managed(const Settings *s, const SettingDef *def) {
        return settings_layer_get(s->managed, def);
}

int settings_check_local_change(const Settings *s, const SettingDef *def) {
        /* Lists with a merge policy: local items add to managed ones unless admin_only. */
        if (def->merge_policy)
                return settings_admin_only(s, def) ? SETTINGS_E_ADMIN_ONLY :
                        SETTINGS_CHANGE_ALLOWED;
        return settings_is_managed(s, def) ? SETTINGS_E_MANAGED : SETTINGS_CHANGE_ALLOWED;
}

/* ---- appending ---- */

int settings_add_local_exclusion(Settings *s, const SettingDef *def, const SettingExclusion *e,
                                 char **ret_message) {
        size_t i = setting_def_index(def);
        SettingValue *v = &s->local->values[i];
        const SettingValue *managed = settings_layer_get(s->managed, def);
        SettingExclusion *items;
        size_t n;
        int r;

        if (def->type != SETTING_EXCLUSION_LIST)
                return -EINVAL;
        n = s->local->set[i] ? v->exclusions.n : 0;
        r = setting_exclusion_validate(def, e, n, ret_message);
        if (r < 0)
                return r;
        if (!s->local->set[i]) {
                setting_value_done(v);
                *v = (SettingValue) { .type = SETTING_EXCLUSION_LIST };
        }
        /* realloc grows large blocks in place or by remapping: no copy of the entries. */
        items = reallocarray(v->exclusions.items, n + 1, sizeof(SettingExclusion));
        if (!items)
                return -ENOMEM;
        v->exclusions.items = items;
        items[n] = (SettingExclusion) {
                .type = strdup(e->type), .value = strdup(e->value),
                .is_directory = e->is_directory, .scopes = e->scopes,
        };
        if (!items[n].type || !items[n].value) {
                free(items[n].type);
                free(items[n].value);
                return -ENOMEM;
        }
        v->exclusions.n = n + 1;
        s->local->set[i] = true;
        /* The effective list is the managed one plus local items it lacks (the caller made
         * sure local items apply at all). */
        return !(managed && exclusions_contain(managed, e));
}

void settings_drop_last_local_exclusion(Settings *s, const SettingDef *def, bool was_set) {
        size_t i = setting_def_index(def);
        SettingValue *v = &s->local->values[i];
        SettingExclusion *last;

        if (!s->local->set[i] || v->exclusions.n == 0)
                return;
        last = &v->exclusions.items[--v->exclusions.n];
        free(last->type);
        free(last->value);
        if (!was_set)
                (void) settings_layer_unset(s->local, def);
}

/* ---- snapshots ---- */

void settings_snapshot_done(SettingsSnapshot *snap) {
        if (!snap)
                return;
        for (size_t i = 0; i < snap->n; i++)
                setting_value_done(&snap->values[i]);
        free(snap->values);
        *snap = (SettingsSnapshot) {};
}

int settings_snapshot(const Settings *s, SettingsSnapshot *ret) {
        _cleanup_(settings_snapshot_done) SettingsSnapshot snap = {};
        size_t n = setting_defs_count();

        snap.values = calloc(n, sizeof(SettingValue));
        if (!snap.values)
                return -ENOMEM;
        for (; snap.n < n; snap.n++) {
                int r = settings_get(s, setting_def_at(snap.n), &snap.values[snap.n], NULL);
                if (r < 0)
                        return r;
        }
        *ret = snap;
        snap = (SettingsSnapshot) {};
        return 0;
}

int settings_changed_since(const Settings *s, const SettingsSnapshot *before, char ***ret_names) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        /* An empty list, not NULL, so callers can emit it as is. */
        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;

        for (size_t i = 0; i < setting_defs_count(); i++) {
                _cleanup_(setting_value_done) SettingValue now = {};

                r = settings_get(s, setting_def_at(i), &now, NULL);
                if (r < 0)
                        return r;
                if (i < before->n && setting_value_equal(&before->values[i], &now))
                        continue;
                r = strv_extend(&names, setting_def_at(i)->name);
                if (r < 0)
                        return r;
        }
        *ret_names = TAKE_PTR(names);
        return 0;
}
