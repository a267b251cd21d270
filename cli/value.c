/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Typed values of the D-Bus contract (see value.h): reading any of our setting and property
 * signatures, appending them as variants, rendering them as text or JSON, and parsing command-line
 * text into them. Owns no state; every CliValue owns its strings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "util/macro.h"
#include "util/strv.h"
#include "value.h"

static void cli_exclusion_done(CliExclusion *e) {
        free(e->type);
        free(e->value);
        strv_free(e->scopes);
        *e = (CliExclusion) {};
}

void cli_value_done(CliValue *v) {
        switch (v->type) {
        case CLI_VALUE_STRING:
                free(v->s);
                break;
        case CLI_VALUE_STRV:
        case CLI_VALUE_PAIRS:
                strv_free(v->strv);
                break;
        case CLI_VALUE_EXCLUSIONS:
                for (size_t i = 0; i < v->exclusions.n; i++)
                        cli_exclusion_done(&v->exclusions.items[i]);
                free(v->exclusions.items);
                break;
        default:
                break;
        }
        *v = (CliValue) {};
}

/* strv_copy() of a list that may be NULL (our empty list). */
static int value_strv_copy(char * const *l, char ***ret) {
        char **c = NULL;

        if (l) {
                c = strv_copy(l);
                if (!c)
                        return -ENOMEM;
        }
        *ret = c;
        return 0;
}

int cli_value_copy(const CliValue *src, CliValue *ret) {
        _cleanup_(cli_value_done) CliValue v = { .type = src->type };
        int r;

        switch (src->type) {
        case CLI_VALUE_STRING:
                v.s = strdup(src->s);
                if (!v.s)
                        return -ENOMEM;
                break;
        case CLI_VALUE_STRV:
        case CLI_VALUE_PAIRS:
                r = value_strv_copy(src->strv, &v.strv);
                if (r < 0)
                        return r;
                break;
        case CLI_VALUE_EXCLUSIONS:
                if (src->exclusions.n == 0)
                        break;
                v.exclusions.items = calloc(src->exclusions.n, sizeof(CliExclusion));
                if (!v.exclusions.items)
                        return -ENOMEM;
                for (size_t i = 0; i < src->exclusions.n; i++) {
                        const CliExclusion *s = &src->exclusions.items[i];
                        CliExclusion *d = &v.exclusions.items[i];

                        /* Count it first so that cleanup frees a half-copied item too. */
                        v.exclusions.n++;
                        d->type = strdup(s->type);
                        d->value = strdup(s->value);
                        d->is_directory = s->is_directory;
                        if (!d->type || !d->value)
                                return -ENOMEM;
                        r = value_strv_copy(s->scopes, &d->scopes);
                        if (r < 0)
                                return r;
                }
                break;
        default:
                v = *src;       /* scalars own nothing */
                break;
        }

        *ret = v;
        v = (CliValue) {};
        return 0;
}

int cli_value_new_string(const char *s, CliValue *ret) {
        char *c;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = (CliValue) { .type = CLI_VALUE_STRING, .s = c };
        return 0;
}

int cli_value_new_strv(char * const *l, CliValue *ret) {
        char **c;
        int r;

        r = value_strv_copy(l, &c);
        if (r < 0)
                return r;
        *ret = (CliValue) { .type = CLI_VALUE_STRV, .strv = c };
        return 0;
}

size_t cli_value_pairs_count(const CliValue *v) {
        if (v->type != CLI_VALUE_PAIRS)
                return 0;
        return strv_length(v->strv) / 2;
}

const char *cli_value_pairs_get(const CliValue *v, const char *key) {
        if (v->type != CLI_VALUE_PAIRS || !v->strv)
                return NULL;
        for (char **p = v->strv; p[0] && p[1]; p += 2)
                if (streq(p[0], key))
                        return p[1];
        return NULL;
}

const char *cli_value_signature(const CliValue *v) {
        static const char * const table[_CLI_VALUE_TYPE_MAX] = {
                [CLI_VALUE_BOOL] = "b",
                [CLI_VALUE_INT] = "i",
                [CLI_VALUE_UINT64] = "t",
                [CLI_VALUE_STRING] = "s",
                [CLI_VALUE_STRV] = "as",
                [CLI_VALUE_PAIRS] = "a(ss)",
                [CLI_VALUE_EXCLUSIONS] = "a(ssbas)",
        };

        if (v->type < 0 || v->type >= _CLI_VALUE_TYPE_MAX)
                return NULL;
        return table[v->type];
}

static int value_read_pairs(sd_bus_message *m, CliValue *ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *k, *v;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ss)", &k, &v)) > 0) {
                r = strv_extend(&l, k);
                if (r < 0)
                        return r;
                r = strv_extend(&l, v);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = (CliValue) { .type = CLI_VALUE_PAIRS, .strv = TAKE_PTR(l) };
        return 0;
}

static int value_read_exclusions(sd_bus_message *m, CliValue *ret) {
        _cleanup_(cli_value_done) CliValue v = { .type = CLI_VALUE_EXCLUSIONS };
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(ssbas)");
        if (r < 0)
                return r;
        for (;;) {
                const char *type, *value;
                CliExclusion *items, *e;
                int is_directory;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "ssbas");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                items = reallocarray(v.exclusions.items, v.exclusions.n + 1, sizeof(CliExclusion));
                if (!items)
                        return -ENOMEM;
                v.exclusions.items = items;
                /* Counted before it is filled, so that cleanup frees a half-read item too. */
                e = &items[v.exclusions.n++];
                *e = (CliExclusion) {};

                r = sd_bus_message_read(m, "ssb", &type, &value, &is_directory);
                if (r < 0)
                        return r;
                e->type = strdup(type);
                e->value = strdup(value);
                e->is_directory = is_directory;
                if (!e->type || !e->value)
                        return -ENOMEM;
                r = sd_bus_message_read_strv(m, &e->scopes);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = v;
        v = (CliValue) {};
        return 0;
}

/* Any D-Bus integer type: read into the member of its width, widen to our value. */
static int read_integer(sd_bus_message *m, char type, CliValue *ret) {
        union {
                uint8_t y;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
        } v = {};
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case SD_BUS_TYPE_BYTE:
                *ret = cli_value_int(v.y);
                break;
        case SD_BUS_TYPE_INT16:
                *ret = cli_value_int(v.n);
                break;
        case SD_BUS_TYPE_UINT16:
                *ret = cli_value_int(v.q);
                break;
        case SD_BUS_TYPE_INT32:
                *ret = cli_value_int(v.i);
                break;
        case SD_BUS_TYPE_UINT32:
                *ret = cli_value_int(v.u);
                break;
        case SD_BUS_TYPE_INT64:
                *ret = cli_value_int(v.x);
                break;
        default:
                *ret = (CliValue) { .type = CLI_VALUE_UINT64, .u = v.t };
                break;
        }
        return 0;
}

int cli_value_read(sd_bus_message *m, CliValue *ret) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;

        switch (type) {
        case SD_BUS_TYPE_BOOLEAN: {
                int b;

                r = sd_bus_message_read_basic(m, type, &b);
                if (r < 0)
                        return r;
                *ret = cli_value_bool(b);
                return 0;
        }
        case SD_BUS_TYPE_BYTE:
        case SD_BUS_TYPE_INT16:
        case SD_BUS_TYPE_UINT16:
        case SD_BUS_TYPE_INT32:
        case SD_BUS_TYPE_UINT32:
        case SD_BUS_TYPE_INT64:
        case SD_BUS_TYPE_UINT64:
                return read_integer(m, type, ret);
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE: {
                const char *s;

                r = sd_bus_message_read_basic(m, type, &s);
                if (r < 0)
                        return r;
                return cli_value_new_string(s, ret);
        }
        case SD_BUS_TYPE_ARRAY:
                if (streq(contents, "s")) {
                        char **l = NULL;

                        r = sd_bus_message_read_strv(m, &l);
                        if (r < 0)
                                return r;
                        *ret = (CliValue) { .type = CLI_VALUE_STRV, .strv = l };
                        return 0;
                }
                if (streq(contents, "(ss)"))
                        return value_read_pairs(m, ret);
                if (streq(contents, "(ssbas)"))
                        return value_read_exclusions(m, ret);
                break;
        case SD_BUS_TYPE_VARIANT:
                return cli_value_read_variant(m, ret);
        default:
                break;
        }

        /* A signature this client does not know: skip it, show it as unavailable. */
        r = sd_bus_message_skip(m, NULL);
        if (r < 0)
                return r;
        *ret = (CliValue) {};
        return 0;
}

int cli_value_read_variant(sd_bus_message *m, CliValue *ret) {
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;
        if (type != SD_BUS_TYPE_VARIANT)
                return -EBADMSG;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;
        r = cli_value_read(m, &v);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = v;
        v = (CliValue) {};
        return 0;
}

static int value_append_pairs(sd_bus_message *m, char **l) {
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(ss)");
        if (r < 0)
                return r;
        for (char **p = l; p && p[0] && p[1]; p += 2) {
                r = sd_bus_message_append(m, "(ss)", p[0], p[1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int value_append_exclusions(sd_bus_message *m, const CliValue *v) {
        static char *empty[] = { NULL };
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(ssbas)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->exclusions.n; i++) {
                const CliExclusion *e = &v->exclusions.items[i];

                r = sd_bus_message_open_container(m, SD_BUS_TYPE_STRUCT, "ssbas");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "ssb", e->type, e->value, (int) e->is_directory);
                if (r < 0)
                        return r;
                r = sd_bus_message_append_strv(m, e->scopes ?: empty);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int cli_value_append_variant(sd_bus_message *m, const CliValue *v) {
        static char *empty[] = { NULL };
        const char *signature;
        int r;

        signature = cli_value_signature(v);
        if (!signature)
                return -EINVAL;
        if (v->type == CLI_VALUE_INT && (v->i < INT32_MIN || v->i > INT32_MAX))
                return -EINVAL;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, signature);
        if (r < 0)
                return r;

        switch (v->type) {
        case CLI_VALUE_BOOL:
                r = sd_bus_message_append(m, "b", (int) v->b);
                break;
        case CLI_VALUE_INT:
                r = sd_bus_message_append(m, "i", (int32_t) v->i);
                break;
        case CLI_VALUE_UINT64:
                r = sd_bus_message_append(m, "t", v->u);
                break;
        case CLI_VALUE_STRING:
                r = sd_bus_message_append(m, "s", v->s);
                break;
        case CLI_VALUE_STRV:
                r = sd_bus_message_append_strv(m, v->strv ?: empty);
                break;
        case CLI_VALUE_PAIRS:
                r = value_append_pairs(m, v->strv);
                break;
        case CLI_VALUE_EXCLUSIONS:
                r = value_append_exclusions(m, v);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;

        return sd_bus_message_close_container(m);
}

/* The JSON member that carries an exclusion's value, after the managed file's spelling. */
static const char *value_exclusion_key(const char *type) {
        if (streq(type, "excludedPath"))
                return "path";
        if (streq(type, "excludedFileExtension"))
                return "extension";
        if (streq(type, "excludedFileName"))
                return "name";
        return "value";
}

static int value_exclusions_to_json(yajl_gen g, const CliValue *v) {
        int r;

        r = format_json_open_array(g);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->exclusions.n; i++) {
                const CliExclusion *e = &v->exclusions.items[i];

                r = format_json_open_object(g);
                if (r < 0)
                        return r;
                r = format_json_string(g, "$type");
                if (r < 0)
                        return r;
                r = format_json_string(g, e->type);
                if (r < 0)
                        return r;
                r = format_json_string(g, value_exclusion_key(e->type));
                if (r < 0)
                        return r;
                r = format_json_string(g, e->value);
                if (r < 0)
                        return r;
                if (streq(e->type, "excludedPath")) {
                        r = format_json_string(g, "isDirectory");
                        if (r < 0)
                                return r;
                        r = format_json_bool(g, e->is_directory);
                        if (r < 0)
                                return r;
                }
                r = format_json_string(g, "scopes");
                if (r < 0)
                        return r;
                r = format_json_strv(g, e->scopes);
                if (r < 0)
                        return r;
                r = format_json_close_object(g);
                if (r < 0)
                        return r;
        }
        return format_json_close_array(g);
}

static int value_pairs_to_json(yajl_gen g, char **l) {
        int r;

        r = format_json_open_array(g);
        if (r < 0)
                return r;
        for (char **p = l; p && p[0] && p[1]; p += 2) {
                r = format_json_open_object(g);
                if (r < 0)
                        return r;
                r = format_json_string(g, "key");
                if (r < 0)
                        return r;
                r = format_json_string(g, p[0]);
                if (r < 0)
                        return r;
                r = format_json_string(g, "value");
                if (r < 0)
                        return r;
                r = format_json_string(g, p[1]);
                if (r < 0)
                        return r;
                r = format_json_close_object(g);
                if (r < 0)
                        return r;
        }
        return format_json_close_array(g);
}

int cli_value_to_json(yajl_gen g, const CliValue *v) {
        char buf[FORMAT_EPOCH_MS_MAX];

        switch (v->type) {
        case CLI_VALUE_NULL:
                return format_json_null(g);
        case CLI_VALUE_BOOL:
                return format_json_bool(g, v->b);
        case CLI_VALUE_INT:
                return format_json_int(g, v->i);
        case CLI_VALUE_UINT64:
                /* yajl_gen_integer() takes a signed long long; digits keep all 64 bits. */
                (void) snprintf(buf, sizeof(buf), "%" PRIu64, v->u);
                return format_json_status(yajl_gen_number(g, buf, strlen(buf)));
        case CLI_VALUE_STRING:
                return format_json_string(g, v->s);
        case CLI_VALUE_STRV:
                return format_json_strv(g, v->strv);
        case CLI_VALUE_PAIRS:
                return value_pairs_to_json(g, v->strv);
        case CLI_VALUE_EXCLUSIONS:
                return value_exclusions_to_json(g, v);
        default:
                return -EINVAL;
        }
}

int cli_value_to_text(const CliValue *v, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        /* Text differs from JSON only in how a missing value reads. */
        if (v->type == CLI_VALUE_NULL) {
                char *s = strdup("unavailable");

                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }

        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = cli_value_to_json(g, v);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}

/* Splits text at commas; "" gives an empty (NULL) list, "a," gives ["a", ""]. */
static int value_split_commas(const char *text, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = text;
        int r;

        if (*text == 0) {
                *ret = NULL;
                return 0;
        }
        for (;;) {
                size_t n = strcspn(p, ",");
                char *item = strndup(p, n);

                if (!item)
                        return -ENOMEM;
                r = strv_consume(&l, item);
                if (r < 0)
                        return r;
                if (p[n] == 0)
                        break;
                p += n + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int value_parse_int32(const char *text, int64_t *ret) {
        char *end;
        long long x;

        /* strtoll() would skip leading blanks and accept an empty string as 0. */
        if (*text == 0 || (*text != '-' && *text != '+' && (*text < '0' || *text > '9')))
                return -EINVAL;
        errno = 0;
        x = strtoll(text, &end, 10);
        if (errno != 0 || *end != 0 || x < INT32_MIN || x > INT32_MAX)
                return -EINVAL;
        *ret = x;
        return 0;
}

int cli_value_from_text(const char *signature, const char *text, CliValue *ret) {
        _cleanup_strv_free_ char **l = NULL;
        int64_t i;
        int r;

        if (streq(signature, "b")) {
                if (streq(text, "true") || streq(text, "enabled"))
                        *ret = cli_value_bool(true);
                else if (streq(text, "false") || streq(text, "disabled"))
                        *ret = cli_value_bool(false);
                else
                        return -EINVAL;
                return 0;
        }
        if (streq(signature, "i")) {
                r = value_parse_int32(text, &i);
                if (r < 0)
                        return r;
                *ret = cli_value_int(i);
                return 0;
        }
        if (streq(signature, "s"))
                return cli_value_new_string(text, ret);
        if (streq(signature, "as")) {
                r = value_split_commas(text, &l);
                if (r < 0)
                        return r;
                *ret = (CliValue) { .type = CLI_VALUE_STRV, .strv = TAKE_PTR(l) };
                return 0;
        }
        if (streq(signature, "a(ss)")) {
                _cleanup_strv_free_ char **pairs = NULL;

                r = value_split_commas(text, &l);
                if (r < 0)
                        return r;
                for (char **p = l; p && *p; p++) {
                        char *eq = strchr(*p, '=');

                        if (!eq || eq == *p)
                                return -EINVAL;
                        *eq = 0;
                        r = strv_extend(&pairs, *p);
                        if (r < 0)
                                return r;
                        r = strv_extend(&pairs, eq + 1);
                        if (r < 0)
                                return r;
                }
                *ret = (CliValue) { .type = CLI_VALUE_PAIRS, .strv = TAKE_PTR(pairs) };
                return 0;
        }
        return -EOPNOTSUPP;
}

const char *cli_value_text_expected(const char *signature) {
        if (streq(signature, "b"))
                return "one of true, false, enabled, disabled";
        if (streq(signature, "i"))
                return "a decimal integer";
        if (streq(signature, "s"))
                return "text";
        if (streq(signature, "as"))
                return "a comma-separated list";
        if (streq(signature, "a(ss)"))
                return "comma-separated key=value pairs";
        return NULL;
}

void cli_value_list_done(CliValueList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].name);
                cli_value_done(&l->items[i].value);
                free(l->items[i].source);
        }
        free(l->items);
        *l = (CliValueList) {};
}

int cli_value_list_add(CliValueList *l, const char *name, CliNamedValue **ret) {
        CliNamedValue *items;
        char *n;

        n = strdup(name);
        if (!n)
                return -ENOMEM;
        items = reallocarray(l->items, l->n + 1, sizeof(CliNamedValue));
        if (!items) {
                free(n);
                return -ENOMEM;
        }
        l->items = items;
        items[l->n] = (CliNamedValue) { .name = n };
        *ret = &items[l->n++];
        return 0;
}

const CliNamedValue *cli_value_list_find(const CliValueList *l, const char *name) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].name, name))
                        return &l->items[i];
        return NULL;
}

int cli_value_list_read_properties(sd_bus_message *m, CliValueList *ret) {
        _cleanup_(cli_value_list_done) CliValueList l = CLI_VALUE_LIST_INIT;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                CliNamedValue *item;
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = cli_value_list_add(&l, name, &item);
                if (r < 0)
                        return r;
                r = cli_value_read_variant(m, &item->value);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = l;
        l = (CliValueList) {};
        return 0;
}

int cli_value_list_read_settings(sd_bus_message *m, CliValueList *ret) {
        _cleanup_(cli_value_list_done) CliValueList l = CLI_VALUE_LIST_INIT;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(svbs)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "svbs")) > 0) {
                CliNamedValue *item;
                const char *name, *source;
                int managed;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = cli_value_list_add(&l, name, &item);
                if (r < 0)
                        return r;
                r = cli_value_read_variant(m, &item->value);
                if (r < 0)
                        return r;
                r = sd_bus_message_read(m, "bs", &managed, &source);
                if (r < 0)
                        return r;
                item->managed = managed;
                item->source = strdup(source);
                if (!item->source)
                        return -ENOMEM;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = l;
        l = (CliValueList) {};
        return 0;
}
