/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conversion between setting values and D-Bus variants, for every type of the schema. Holds no
 * state.
 */
#include <string.h>

#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/strv.h"

static int append_exclusions(sd_bus_message *m, const SettingValue *v) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(ssbas)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->exclusions.n; i++) {
                const SettingExclusion *e = &v->exclusions.items[i];

                r = sd_bus_message_open_container(m, 'r', "ssbas");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "ssb", e->type, e->value, e->is_directory);
                if (r < 0)
                        return r;
                const char *scopes[3] = {};
                size_t n = 0;
                if (e->scopes & EXCLUSION_SCOPE_EPP)
                        scopes[n++] = "epp";
                if (e->scopes & EXCLUSION_SCOPE_GLOBAL)
                        scopes[n++] = "global";
                r = sd_bus_message_append_strv(m, (char **) scopes);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int append_pairs(sd_bus_message *m, char * const *strv) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; strv && strv[i] && strv[i + 1]; i += 2) {
                r = sd_bus_message_append(m, "(ss)", strv[i], strv[i + 1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int bus_message_append_setting_contents(sd_bus_message *m, const SettingValue *v) {
        switch (v->type) {
        case SETTING_BOOL:
                return sd_bus_message_append(m, "b", v->b);
        case SETTING_INT:
                return sd_bus_message_append(m, "i", (int32_t) v->i);
        case SETTING_ENUM:
        case SETTING_STRING:
                return sd_bus_message_append(m, "s", v->s ?: "");
        case SETTING_STRING_LIST:
                return sd_bus_message_append_strv(m, v->strv);
        case SETTING_PAIR_LIST:
                return append_pairs(m, v->strv);
        case SETTING_EXCLUSION_LIST:
                return append_exclusions(m, v);
        default:
                return -EINVAL;
        }
}

int bus_message_append_setting_value(sd_bus_message *m, const SettingValue *v) {
        int r;

        r = sd_bus_message_open_container(m, 'v', setting_type_signature(v->type));
        if (r < 0)
                return r;
        r = bus_message_append_setting_contents(m, v);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int read_pairs(sd_bus_message *m, SettingValue *v) {
        const char *key, *value;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ss)", &key, &value)) > 0) {
                if (strv_extend(&v->strv, key) < 0 || strv_extend(&v->strv, value) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        if (!v->strv) {
                v->strv = calloc(1, sizeof(char *));
                if (!v->strv)
                        return -ENOMEM;
        }
        return sd_bus_message_exit_container(m);
}

static int read_scopes(sd_bus_message *m, unsigned *ret) {
        _cleanup_strv_free_ char **scopes = NULL;
        unsigned mask = 0;
        int r;

        r = sd_bus_message_read_strv(m, &scopes);
        if (r < 0)
                return r;
        for (char **s = scopes; s && *s; s++) {
                if (streq(*s, "epp"))
                        mask |= EXCLUSION_SCOPE_EPP;
                else if (streq(*s, "global"))
                        mask |= EXCLUSION_SCOPE_GLOBAL;
                else
                        return -EDOM;
        }
        *ret = mask;
        return 0;
}

static int read_exclusions(sd_bus_message *m, const SettingDef *def, SettingValue *v) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ssbas)");
        if (r < 0)
                return r;
        for (;;) {
                const char *type, *value;
                int is_dir;
                unsigned scopes;
                SettingExclusion *items;

                r = sd_bus_message_enter_container(m, 'r', "ssbas");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "ssb", &type, &value, &is_dir);
                if (r < 0)
                        return r;
                r = read_scopes(m, &scopes);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;

                items = reallocarray(v->exclusions.items, v->exclusions.n + 1, sizeof(*items));
                if (!items)
                        return -ENOMEM;
                v->exclusions.items = items;
                items[v->exclusions.n] = (SettingExclusion) {
                        .type = strdup(type),
                        .value = strdup(value),
                        .is_directory = is_dir,
                        .scopes = scopes ?: def->default_scopes,
                };
                v->exclusions.n++;
                if (!items[v->exclusions.n - 1].type || !items[v->exclusions.n - 1].value)
                        return -ENOMEM;
        }
        return sd_bus_message_exit_container(m);
}

int bus_message_read_setting_value(sd_bus_message *m, const SettingDef *def, SettingValue *ret,
                                   sd_bus_error *error) {
        _cleanup_(setting_value_done) SettingValue v = { .type = def->type };
        const char *sig = setting_type_signature(def->type);
        const char *s;
        int b, r;
        int32_t i;

        r = sd_bus_message_enter_container(m, 'v', sig);
        if (r == -ENXIO || r == -EBADMSG) {
                char type;
                const char *contents = NULL;

                (void) sd_bus_message_peek_type(m, &type, &contents);
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Setting '%s' takes a value of D-Bus type '%s', not "
                                         "'%s'",
                                         def->name, sig, contents ?: "?");
        }
        if (r < 0)
                return r;

        switch (def->type) {
        case SETTING_BOOL:
                r = sd_bus_message_read(m, "b", &b);
                v.b = b;
                break;
        case SETTING_INT:
                r = sd_bus_message_read(m, "i", &i);
                v.i = i;
                break;
        case SETTING_ENUM:
        case SETTING_STRING:
                r = sd_bus_message_read(m, "s", &s);
                if (r >= 0 && !isempty(s) && !(v.s = strdup(s)))
                        r = -ENOMEM;
                break;
        case SETTING_STRING_LIST:
                r = sd_bus_message_read_strv(m, &v.strv);
                if (r >= 0 && !v.strv && !(v.strv = calloc(1, sizeof(char *))))
                        r = -ENOMEM;
                break;
        case SETTING_PAIR_LIST:
                r = read_pairs(m, &v);
                break;
        case SETTING_EXCLUSION_LIST:
                r = read_exclusions(m, def, &v);
                if (r == -EDOM)
                        return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                                 "Exclusion scopes must be 'epp' or 'global'");
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = v;
        v = (SettingValue) {};
        return 0;
}
