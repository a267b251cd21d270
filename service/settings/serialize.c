/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writing a SettingsLayer back as a document in the mdatp_managed.json shape: nested objects in
 * schema order, compact (pretty-printing made an exclusion take 260 bytes instead of 95, and
 * the file is read back with a size limit). settings_layer_parse() reads the result back into
 * an equal layer, which is how the local layer is persisted.
 *
 * Owns no state beyond the yajl_gen of one call.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "settings/settings-internal.h"
#include "settings/settings.h"
#include "util/macro.h"

static inline void yajl_gen_freep(yajl_gen *g) {
        if (*g)
                yajl_gen_free(*g);
}

/* yajl_gen fails only on invalid UTF-8 (which validation keeps out) or a bug: -EINVAL. */
static int gen_check(yajl_gen_status s) {
        return s == yajl_gen_status_ok ? 0 : -EINVAL;
}

static int gen_string(yajl_gen g, const char *s) {
        s = s ?: "";
        return gen_check(yajl_gen_string(g, (const unsigned char *) s, strlen(s)));
}

static int gen_string_n(yajl_gen g, const char *s, size_t n) {
        return gen_check(yajl_gen_string(g, (const unsigned char *) s, n));
}

static int gen_pair_list(yajl_gen g, char * const *l) {
        int r = gen_check(yajl_gen_array_open(g));

        for (size_t i = 0; r >= 0 && l && l[i] && l[i + 1]; i += 2) {
                r = gen_check(yajl_gen_map_open(g));
                if (r >= 0)
                        r = gen_string(g, "key");
                if (r >= 0)
                        r = gen_string(g, l[i]);
                if (r >= 0)
                        r = gen_string(g, "value");
                if (r >= 0)
                        r = gen_string(g, l[i + 1]);
                if (r >= 0)
                        r = gen_check(yajl_gen_map_close(g));
        }
        return r < 0 ? r : gen_check(yajl_gen_array_close(g));
}

static int gen_scopes(yajl_gen g, unsigned scopes) {
        int r = gen_check(yajl_gen_array_open(g));

        if (r >= 0 && (scopes & EXCLUSION_SCOPE_EPP))
                r = gen_string(g, "epp");
        if (r >= 0 && (scopes & EXCLUSION_SCOPE_GLOBAL))
                r = gen_string(g, "global");
        return r < 0 ? r : gen_check(yajl_gen_array_close(g));
}

/* {"$type": ..., "path"|"extension"|"name": ..., "isDirectory": ..., "scopes": [...]} */
static int gen_exclusion(yajl_gen g, const SettingExclusion *e) {
        const char *member = setting_exclusion_member(e->type);
        int r;

        if (!member)
                return -EINVAL;
        r = gen_check(yajl_gen_map_open(g));
        if (r >= 0)
                r = gen_string(g, "$type");
        if (r >= 0)
                r = gen_string(g, e->type);
        if (r >= 0)
                r = gen_string(g, member);
        if (r >= 0)
                r = gen_string(g, e->value);
        if (r >= 0 && streq(e->type, "excludedPath")) {
                r = gen_string(g, "isDirectory");
                if (r >= 0)
                        r = gen_check(yajl_gen_bool(g, e->is_directory));
        }
        if (r >= 0)
                r = gen_string(g, "scopes");
        if (r >= 0)
                r = gen_scopes(g, e->scopes);
        return r < 0 ? r : gen_check(yajl_gen_map_close(g));
}

static int gen_value(yajl_gen g, const SettingValue *v) {
        int r = 0;

        switch (v->type) {
        case SETTING_BOOL:
                return gen_check(yajl_gen_bool(g, v->b));
        case SETTING_INT:
                return gen_check(yajl_gen_integer(g, v->i));
        case SETTING_ENUM:
        case SETTING_STRING:
                return gen_string(g, v->s);
        case SETTING_STRING_LIST:
                r = gen_check(yajl_gen_array_open(g));
                for (size_t i = 0; r >= 0 && v->strv && v->strv[i]; i++)
                        r = gen_string(g, v->strv[i]);
                return r < 0 ? r : gen_check(yajl_gen_array_close(g));
        case SETTING_PAIR_LIST:
                return gen_pair_list(g, v->strv);
        case SETTING_EXCLUSION_LIST:
                r = gen_check(yajl_gen_array_open(g));
                for (size_t i = 0; r >= 0 && i < v->exclusions.n; i++)
                        r = gen_exclusion(g, &v->exclusions.items[i]);
                return r < 0 ? r : gen_check(yajl_gen_array_close(g));
        default:
                return -EINVAL;
        }
}

/* Components of a dotted name: the k-th one's start and length; 0 when there is none. */
static size_t name_component(const char *name, size_t k, const char **ret_start) {
        const char *s = name, *dot;

        *ret_start = name + strlen(name);       /* an empty component when there is none */
        for (; k > 0; k--) {
                s = strchr(s, '.');
                if (!s)
                        return 0;
                s++;
        }
        dot = strchr(s, '.');
        *ret_start = s;
        return dot ? (size_t) (dot - s) : strlen(s);
}

static size_t name_depth(const char *name) {
        size_t n = 1;

        for (const char *c = name; *c; c++)
                n += *c == '.';
        return n;
}

/* How many leading groups (all components but the last) names a and b share. */
static size_t name_common_groups(const char *a, const char *b) {
        size_t groups = MIN(name_depth(a), name_depth(b)) - 1, k;

        for (k = 0; k < groups; k++) {
                const char *sa = NULL, *sb = NULL;
                size_t la = name_component(a, k, &sa), lb = name_component(b, k, &sb);

                if (la != lb || memcmp(sa, sb, la) != 0)
                        break;
        }
        return k;
}

/* Writes the settings of l, closing and opening the objects between consecutive names. */
static int gen_layer(yajl_gen g, const SettingsLayer *l) {
        const char *open = NULL;        /* name of the last setting written */
        size_t depth = 0;               /* groups open below the top level */
        int r = 0;

        for (size_t i = 0; r >= 0 && i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                const SettingValue *v = settings_layer_get(l, def);
                size_t common, groups = name_depth(def->name) - 1;
                const char *s = NULL;
                size_t len;

                if (!v)
                        continue;
                common = open ? name_common_groups(open, def->name) : 0;
                for (; r >= 0 && depth > common; depth--)
                        r = gen_check(yajl_gen_map_close(g));
                for (; r >= 0 && depth < groups; depth++) {
                        len = name_component(def->name, depth, &s);
                        r = gen_string_n(g, s, len);
                        if (r >= 0)
                                r = gen_check(yajl_gen_map_open(g));
                }
                len = name_component(def->name, groups, &s);
                if (r >= 0)
                        r = gen_string_n(g, s, len);
                if (r >= 0)
                        r = gen_value(g, v);
                open = def->name;
        }
        for (; r >= 0 && depth > 0; depth--)
                r = gen_check(yajl_gen_map_close(g));
        return r;
}

int settings_layer_to_json(const SettingsLayer *l, char **ret, size_t *ret_size) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        const unsigned char *buf;
        size_t len;
        char *s;
        int r;

        g = yajl_gen_alloc(NULL);
        if (!g)
                return -ENOMEM;
        (void) yajl_gen_config(g, yajl_gen_validate_utf8, 1);

        r = gen_check(yajl_gen_map_open(g));
        if (r >= 0)
                r = gen_layer(g, l);
        if (r >= 0)
                r = gen_check(yajl_gen_map_close(g));
        if (r >= 0)
                r = gen_check(yajl_gen_get_buf(g, &buf, &len));
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = len;
        if (len > SETTINGS_FILE_MAX_SIZE)
                return -E2BIG;

        s = strndup((const char *) buf, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
