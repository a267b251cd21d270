/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsing a document in the mdatp_managed.json shape into a SettingsLayer.
 *
 * The document is walked along the schema: a member whose dotted path names a setting is
 * converted and validated; one whose path is a prefix of settings ("antivirusEngine",
 * "features.supplementarySensorConfigurations") must be an object and is walked in turn;
 * anything else is skipped and reported as unknown with its position, so that a misspelt or
 * look-alike group name, which drops the whole group, is found (the caller makes it a health
 * issue). The reference samples carry "info" and "possible values" pseudo-keys, repeated in one
 * object, as comments: they are skipped silently, so duplicate keys are tolerated by the JSON
 * parser and only refused here for keys we know.
 *
 * null as the value of a key (a setting, a group, a member of a list entry) means "not set":
 * the key is treated as absent, so that templates can carry "key": null placeholders. A list
 * has no absent elements: null as a list element is refused like any other wrong type.
 *
 * Unknown members inside list entries are reported as "<setting>[N].<member>" with N counted
 * from 1, like the "entry N" of messages.
 *
 * The first problem stops the parse; its key and position go into the SettingsError.
 * Owns no state beyond one ParseContext per call.
 */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/settings-internal.h"
#include "settings/settings.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/strv.h"

/* Keys accepted in files that are not settings themselves. */
#define LEGACY_RTP "antivirusEngine.enableRealTimeProtection"
#define LEGACY_PASSIVE "antivirusEngine.passiveMode"
#define ENFORCEMENT_LEVEL "antivirusEngine.enforcementLevel"
/* The reference sample misspells this key; accept it unless the right spelling is present. */
#define MISSPELT_FALLBACK "antivirusEngine.offlineDefintionUpdateFallbackToCloud"
#define FALLBACK "antivirusEngine.offlineDefinitionUpdateFallbackToCloud"

#define KNOWN(...) ((const char * const[]) { __VA_ARGS__, NULL })

typedef struct ParseContext {
        SettingsLayer *layer;
        SettingsError *error;           /* may be NULL */
        char **unknown;
        bool *seen;                     /* per def: set already in this document */
        char **seen_groups;
        const JsonNode *legacy_rtp, *legacy_passive;
} ParseContext;

/* "a string", "an object", ... */
static const char *json_description(JsonType t) {
        switch (t) {
        case JSON_NULL:
                return "null";
        case JSON_BOOL:
                return "a boolean";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_STRING:
                return "a string";
        case JSON_ARRAY:
                return "an array";
        case JSON_OBJECT:
                return "an object";
        default:
                return "an unknown value";
        }
}

/* Fills the error (key may be NULL, at may be NULL for "no position") and returns -EINVAL, or
 * -ENOMEM when the message cannot be built. */
static int parse_fail(ParseContext *c, const char *key, const JsonNode *at, const char *format,
                      ...) _printf_(4, 5);
static int parse_fail(ParseContext *c, const char *key, const JsonNode *at, const char *format,
                      ...) {
        SettingsError e = {
                .line = at ? at->line : 0,
                .column = at ? at->column : 0,
        };
        va_list ap;
        int r;

        if (!c->error)
                return -EINVAL;

        va_start(ap, format);
        r = vasprintf(&e.message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (key) {
                e.key = strdup(key);
                if (!e.key) {
                        free(e.message);
                        return -ENOMEM;
                }
        }
        *c->error = e;          /* the first problem ends the parse: set once */
        return -EINVAL;
}

/* Fails with a message that validation built; takes message. */
static int parse_fail_message(ParseContext *c, const char *key, const JsonNode *at,
                              char *message) {
        _cleanup_free_ char *m = message;

        if (!m)
                return -ENOMEM;
        return parse_fail(c, key, at, "%s", m);
}

static int parse_wrong_type(ParseContext *c, const char *key, const JsonNode *n,
                            const char *expected) {
        return parse_fail(c, key, n, "expected %s, got %s", expected, json_description(n->type));
}

/* Keys of the reference's sample files that document the keys next to them, like comments. */
static bool parse_is_pseudo_key(const char *path) {
        const char *last = strrchr(path, '.');

        last = last ? last + 1 : path;
        return streq(last, "info") || streq(last, "possible values");
}

/* Records "path (line L, column C)", n being the key's value: a misspelt or look-alike name
 * must be findable in the file, and it drops everything under it. */
static int parse_unknown(ParseContext *c, const char *path, const JsonNode *n) {
        char *entry;

        if (parse_is_pseudo_key(path))
                return 0;
        if (asprintf(&entry, "%s (line %u, column %u)", path, n->line, n->column) < 0)
                return -ENOMEM;
        return strv_consume(&c->unknown, entry);
}

/* ---- scalars ---- */

static int parse_int_string(ParseContext *c, const SettingDef *def, const JsonNode *n,
                            int64_t *ret) {
        const char *s = n->string, *digits = s[0] == '-' ? s + 1 : s;
        long long i;
        char *end;

        if (digits[0] == '\0' || strspn(digits, "0123456789") != strlen(digits)) {
                _cleanup_free_ char *q = settings_quote(s);
                if (!q)
                        return -ENOMEM;
                return parse_fail(c, def->name, n, "%s is not an integer", q);
        }
        errno = 0;
        i = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return parse_fail(c, def->name, n, "%s is out of range %lld..%lld", s,
                                  (long long) def->min, (long long) def->max);
        *ret = i;
        return 0;
}

/* An integer: a JSON integer, a string of decimal digits (the managed-file documentation gives some numbers as
 * strings), or a number with an integral value (2.0). */
static int parse_int(ParseContext *c, const SettingDef *def, const JsonNode *n, int64_t *ret) {
        switch (n->type) {
        case JSON_INTEGER:
                *ret = n->integer;
                return 0;
        case JSON_STRING:
                return parse_int_string(c, def, n, ret);
        case JSON_REAL:
                if (!isfinite(n->real))         /* 1e400: strtod() gave HUGE_VAL */
                        return parse_fail(c, def->name, n, "the number is out of range %lld..%lld",
                                          (long long) def->min, (long long) def->max);
                /* Doubles this large are all integral; no libm needed to tell. */
                if (n->real < -9.2e18 || n->real > 9.2e18)
                        return parse_fail(c, def->name, n, "%g is out of range %lld..%lld",
                                          n->real, (long long) def->min, (long long) def->max);
                if ((double) (int64_t) n->real != n->real)
                        return parse_fail(c, def->name, n, "%g is not an integer", n->real);
                *ret = (int64_t) n->real;
                return 0;
        default:
                return parse_wrong_type(c, def->name, n, "an integer");
        }
}

static int parse_scalar(ParseContext *c, const SettingDef *def, const JsonNode *n,
                        SettingValue *v) {
        switch (def->type) {
        case SETTING_BOOL:
                if (n->type != JSON_BOOL)
                        return parse_wrong_type(c, def->name, n, "a boolean");
                v->b = n->boolean;
                return 0;
        case SETTING_INT:
                return parse_int(c, def, n, &v->i);
        default:        /* ENUM, STRING */
                if (n->type != JSON_STRING)
                        return parse_wrong_type(c, def->name, n, "a string");
                /* The published sample policy spells "disabled" as "diabled"; admins
                 * copy it, and rejecting their whole policy for it would help nobody. */
                if (def->type == SETTING_ENUM && streq(n->string, "diabled"))
                        v->s = strdup("disabled");
                else
                        v->s = strdup(n->string);
                return v->s ? 0 : -ENOMEM;
        }
}

/* ---- lists ---- */

static int parse_string_list(ParseContext *c, const SettingDef *def, const JsonNode *n,
                             SettingValue *v) {
        for (size_t i = 0; i < n->array.n; i++) {
                const JsonNode *item = n->array.items[i];
                int r;

                if (item->type != JSON_STRING)
                        return parse_fail(c, def->name, item, "entry %zu: expected a string, got %s",
                                          i + 1, json_description(item->type));
                r = strv_extend(&v->strv, item->string);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Reports the members of entry i of a list other than those in known. */
static int parse_unknown_members(ParseContext *c, const SettingDef *def, size_t i,
                                 const JsonNode *entry, const char * const *known) {
        for (size_t k = 0; k < entry->object.n; k++) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (strv_contains((char * const *) known, entry->object.keys[k]))
                        continue;
                if (asprintf(&path, "%s[%zu].%s", def->name, i + 1, entry->object.keys[k]) < 0)
                        return -ENOMEM;
                r = parse_unknown(c, path, entry->object.values[k]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The string member name of entry i; NULL member or null is "missing". */
static int parse_member_string(ParseContext *c, const SettingDef *def, const char *what,
                               size_t i, const JsonNode *entry, const char *name,
                               const char **ret) {
        const JsonNode *m = json_object_get(entry, name);

        if (!m || m->type == JSON_NULL)
                return parse_fail(c, def->name, entry, "%s %zu: \"%s\" is missing", what, i + 1,
                                  name);
        if (m->type != JSON_STRING)
                return parse_fail(c, def->name, m, "%s %zu: expected a string for \"%s\", got %s",
                                  what, i + 1, name, json_description(m->type));
        *ret = m->string;
        return 0;
}

static int parse_pair_list(ParseContext *c, const SettingDef *def, const JsonNode *n,
                           SettingValue *v) {
        for (size_t i = 0; i < n->array.n; i++) {
                const JsonNode *item = n->array.items[i];
                const char *key, *value;
                int r;

                if (item->type != JSON_OBJECT)
                        return parse_fail(c, def->name, item,
                                          "entry %zu: expected an object, got %s", i + 1,
                                          json_description(item->type));
                r = parse_member_string(c, def, "entry", i, item, "key", &key);
                if (r < 0)
                        return r;
                r = parse_member_string(c, def, "entry", i, item, "value", &value);
                if (r < 0)
                        return r;
                r = strv_extend(&v->strv, key);
                if (r < 0)
                        return r;
                r = strv_extend(&v->strv, value);
                if (r < 0)
                        return r;
                r = parse_unknown_members(c, def, i, item, KNOWN("key", "value"));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_scopes(ParseContext *c, const SettingDef *def, size_t i, const JsonNode *n,
                        unsigned *ret) {
        unsigned scopes = 0;

        if (n->type != JSON_ARRAY)
                return parse_fail(c, def->name, n,
                                  "exclusion entry %zu: expected an array for \"scopes\", got %s",
                                  i + 1, json_description(n->type));
        if (n->array.n == 0)
                return parse_fail(c, def->name, n, "exclusion entry %zu: \"scopes\" is empty",
                                  i + 1);
        for (size_t k = 0; k < n->array.n; k++) {
                const JsonNode *s = n->array.items[k];

                if (s->type == JSON_STRING && streq(s->string, "epp"))
                        scopes |= EXCLUSION_SCOPE_EPP;
                else if (s->type == JSON_STRING && streq(s->string, "global"))
                        scopes |= EXCLUSION_SCOPE_GLOBAL;
                else if (s->type == JSON_STRING) {
                        _cleanup_free_ char *q = settings_quote(s->string);
                        if (!q)
                                return -ENOMEM;
                        return parse_fail(c, def->name, s,
                                          "exclusion entry %zu: scope %s is not one of: epp, "
                                          "global", i + 1, q);
                } else
                        return parse_fail(c, def->name, s,
                                          "exclusion entry %zu: expected a string for a scope, "
                                          "got %s", i + 1, json_description(s->type));
        }
        *ret = scopes;
        return 0;
}

/* The optional members of an exclusion: isDirectory (excludedPath only) and scopes. */
static int parse_exclusion_options(ParseContext *c, const SettingDef *def, size_t i,
                                   const JsonNode *item, SettingExclusion *e) {
        const JsonNode *dir = json_object_get(item, "isDirectory");
        const JsonNode *scopes = json_object_get(item, "scopes");

        e->scopes = def->default_scopes;
        if (streq(e->type, "excludedPath") && dir && dir->type != JSON_NULL) {
                if (dir->type != JSON_BOOL)
                        return parse_fail(c, def->name, dir,
                                          "exclusion entry %zu: expected a boolean for "
                                          "\"isDirectory\", got %s", i + 1,
                                          json_description(dir->type));
                e->is_directory = dir->boolean;
        }
        if (scopes && scopes->type != JSON_NULL)
                return parse_scopes(c, def, i, scopes, &e->scopes);
        return 0;
}

static int parse_exclusion(ParseContext *c, const SettingDef *def, size_t i,
                           const JsonNode *item, SettingExclusion *e) {
        const char *type, *member, *value;
        int r;

        if (item->type != JSON_OBJECT)
                return parse_fail(c, def->name, item,
                                  "exclusion entry %zu: expected an object, got %s", i + 1,
                                  json_description(item->type));
        r = parse_member_string(c, def, "exclusion entry", i, item, "$type", &type);
        if (r < 0)
                return r;
        member = setting_exclusion_member(type);
        if (!member) {
                _cleanup_free_ char *q = settings_quote(type);
                _cleanup_free_ char *list = settings_join_allowed(setting_exclusion_types);
                if (!q || !list)
                        return -ENOMEM;
                return parse_fail(c, def->name, json_object_get(item, "$type"),
                                  "exclusion entry %zu: $type %s is not one of: %s", i + 1, q,
                                  list);
        }
        r = parse_member_string(c, def, "exclusion entry", i, item, member, &value);
        if (r < 0)
                return r;

        e->type = strdup(type);
        e->value = strdup(value);
        if (!e->type || !e->value)
                return -ENOMEM;
        r = parse_exclusion_options(c, def, i, item, e);
        if (r < 0)
                return r;
        return parse_unknown_members(c, def, i, item,
                                     streq(type, "excludedPath") ?
                                     KNOWN("$type", "path", "isDirectory", "scopes") :
                                     KNOWN("$type", member, "scopes"));
}

static int parse_exclusion_list(ParseContext *c, const SettingDef *def, const JsonNode *n,
                                SettingValue *v) {
        v->exclusions.items = calloc(MAX(n->array.n, (size_t) 1), sizeof(SettingExclusion));
        if (!v->exclusions.items)
                return -ENOMEM;

        for (size_t i = 0; i < n->array.n; i++) {
                int r;

                /* Count the entry first, so setting_value_done() frees a half-parsed one. */
                v->exclusions.n = i + 1;
                r = parse_exclusion(c, def, i, n->array.items[i], &v->exclusions.items[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_list(ParseContext *c, const SettingDef *def, const JsonNode *n,
                      SettingValue *v) {
        if (n->type != JSON_ARRAY)
                return parse_wrong_type(c, def->name, n, "an array");

        switch (def->type) {
        case SETTING_STRING_LIST:
                return parse_string_list(c, def, n, v);
        case SETTING_PAIR_LIST:
                return parse_pair_list(c, def, n, v);
        default:
                return parse_exclusion_list(c, def, n, v);
        }
}

/* ---- the walk ---- */

static int parse_setting(ParseContext *c, const SettingDef *def, const JsonNode *n) {
        _cleanup_(setting_value_done) SettingValue v = { .type = def->type };
        char *message = NULL;
        size_t entry;
        int r;

        if (c->seen[setting_def_index(def)])
                return parse_fail(c, def->name, n, "duplicate key '%s'", def->name);
        c->seen[setting_def_index(def)] = true;
        if (n->type == JSON_NULL)
                return 0;

        if (def->type == SETTING_STRING_LIST || def->type == SETTING_PAIR_LIST ||
            def->type == SETTING_EXCLUSION_LIST)
                r = parse_list(c, def, n, &v);
        else
                r = parse_scalar(c, def, n, &v);
        if (r < 0)
                return r;

        r = setting_value_validate_entry(def, &v, &message, &entry);
        if (r == -EINVAL)
                return parse_fail_message(c, def->name,
                                          entry < n->array.n && n->type == JSON_ARRAY ?
                                          n->array.items[entry] : n, message);
        if (r < 0)
                return r;

        settings_layer_put(c->layer, def, &v);
        return 0;
}

static int parse_legacy(ParseContext *c, const char *path, const JsonNode *n,
                        const JsonNode **slot) {
        if (*slot)
                return parse_fail(c, path, n, "duplicate key '%s'", path);
        if (n->type == JSON_NULL)
                return 0;
        if (n->type != JSON_BOOL)
                return parse_wrong_type(c, path, n, "a boolean");
        *slot = n;
        return 0;
}

/* Whether path names an object that holds settings. */
static bool parse_is_group(const char *path) {
        size_t len = strlen(path);

        for (size_t i = 0; i < setting_defs_count(); i++) {
                const char *name = setting_def_at(i)->name;

                if (strneq(name, path, len) && name[len] == '.')
                        return true;
        }
        return false;
}

static int parse_object(ParseContext *c, const JsonNode *o, const char *prefix);

static int parse_group(ParseContext *c, const char *path, const JsonNode *n) {
        if (strv_contains(c->seen_groups, path))
                return parse_fail(c, path, n, "duplicate key '%s'", path);
        if (strv_extend(&c->seen_groups, path) < 0)
                return -ENOMEM;
        if (n->type == JSON_NULL)
                return 0;
        if (n->type != JSON_OBJECT)
                return parse_wrong_type(c, path, n, "an object");
        return parse_object(c, n, path);
}

static int parse_member(ParseContext *c, const JsonNode *o, const char *path, const JsonNode *n) {
        const SettingDef *def = setting_def_find(path);
        const JsonNode *right;

        if (def)
                return parse_setting(c, def, n);
        if (streq(path, LEGACY_RTP))
                return parse_legacy(c, path, n, &c->legacy_rtp);
        if (streq(path, LEGACY_PASSIVE))
                return parse_legacy(c, path, n, &c->legacy_passive);
        if (streq(path, MISSPELT_FALLBACK)) {
                right = json_object_get(o, strrchr(FALLBACK, '.') + 1);
                if (right)
                        return 0;       /* the right spelling wins, even when null */
                return parse_setting(c, setting_def_find(FALLBACK), n);
        }
        if (parse_is_group(path))
                return parse_group(c, path, n);
        return parse_unknown(c, path, n);
}

static int parse_object(ParseContext *c, const JsonNode *o, const char *prefix) {
        for (size_t i = 0; i < o->object.n; i++) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (prefix)
                        r = asprintf(&path, "%s.%s", prefix, o->object.keys[i]);
                else
                        r = asprintf(&path, "%s", o->object.keys[i]);
                if (r < 0)
                        return -ENOMEM;
                r = parse_member(c, o, path, o->object.values[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* passiveMode true wins; else enableRealTimeProtection decides; passiveMode false alone means
 * real-time protection. Only when the document does not set enforcementLevel itself. */
static int parse_apply_legacy(ParseContext *c) {
        const SettingDef *def = setting_def_find(ENFORCEMENT_LEVEL);
        SettingValue v = { .type = SETTING_ENUM };
        const char *level;

        if (settings_layer_get(c->layer, def))
                return 0;
        if (c->legacy_passive && c->legacy_passive->boolean)
                level = "passive";
        else if (c->legacy_rtp)
                level = c->legacy_rtp->boolean ? "real_time" : "on_demand";
        else if (c->legacy_passive)
                level = "real_time";
        else
                return 0;

        v.s = strdup(level);
        if (!v.s)
                return -ENOMEM;
        settings_layer_put(c->layer, def, &v);
        return 0;
}

static int parse_compare_index(const void *a, const void *b, void *userdata) {
        char **l = userdata;
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        int r = strcmp(l[i], l[j]);

        if (r != 0)
                return r;
        return i < j ? -1 : i > j;
}

/* Drops repeated paths ("info" is repeated a lot), keeping first occurrences in order. Sorting
 * keeps this O(n log n) for a hostile file with 100000 unknown keys. */
static int parse_unique(char **l) {
        size_t n = strv_length(l), k = 0;
        _cleanup_free_ size_t *order = NULL;

        if (n < 2)
                return 0;
        order = reallocarray(NULL, n, sizeof(size_t));
        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                order[i] = i;
        qsort_r(order, n, sizeof(size_t), parse_compare_index, l);
        /* Equal paths are adjacent now, the first occurrence first: drop the others. */
        for (size_t i = 1, kept = order[0]; i < n; i++) {
                if (streq(l[kept], l[order[i]]))
                        l[order[i]] = mfree(l[order[i]]);
                else
                        kept = order[i];
        }
        for (size_t i = 0; i < n; i++)
                if (l[i])
                        l[k++] = l[i];
        l[k] = NULL;
        return 0;
}

static int parse_document(ParseContext *c, const char *text, size_t size) {
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        JsonError e = {};
        int r;

        r = json_parse_full(text, size, JSON_PARSE_ALLOW_DUPLICATE_KEYS, &root, &e);
        if (r == -EINVAL || r == -E2BIG) {
                SettingsError *saved = c->error;
                int q = parse_fail(c, NULL, NULL, "%s", e.message);

                if (saved) {
                        saved->line = e.line;
                        saved->column = e.column;
                }
                return q == -EINVAL ? r : q;
        }
        if (r < 0)
                return r;

        if (root->type != JSON_OBJECT)
                return parse_fail(c, NULL, root, "expected an object at the top level, got %s",
                                  json_description(root->type));
        r = parse_object(c, root, NULL);
        if (r < 0)
                return r;
        return parse_apply_legacy(c);
}

int settings_layer_parse(const char *text, size_t size, SettingsLayer **ret,
                         SettingsError *ret_error, char ***ret_unknown_keys) {
        _cleanup_(settings_layer_freep) SettingsLayer *l = NULL;
        _cleanup_free_ bool *seen = NULL;
        ParseContext c = { .error = ret_error };
        int r;

        r = settings_layer_new(&l);
        if (r < 0)
                return r;
        seen = calloc(setting_defs_count(), sizeof(bool));
        if (!seen)
                return -ENOMEM;
        c.layer = l;
        c.seen = seen;

        r = parse_document(&c, text, size);
        if (r >= 0)
                r = parse_unique(c.unknown);
        strv_free(c.seen_groups);
        if (r < 0) {
                strv_free(c.unknown);
                return r;
        }

        if (ret_unknown_keys)
                *ret_unknown_keys = c.unknown;
        else
                strv_free(c.unknown);
        *ret = TAKE_PTR(l);
        return 0;
}

int settings_layer_load(const char *path, SettingsLayer **ret, SettingsError *ret_error,
                        char ***ret_unknown_keys) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_file_full(path, SETTINGS_FILE_MAX_SIZE, &text, &size);
        if (r == -E2BIG) {
                ParseContext c = { .error = ret_error };
                int q = parse_fail(&c, NULL, NULL, "the file is larger than %d bytes",
                                   SETTINGS_FILE_MAX_SIZE);
                return q == -EINVAL ? r : q;
        }
        if (r < 0)
                return r;
        return settings_layer_parse(text, size, ret, ret_error, ret_unknown_keys);
}
