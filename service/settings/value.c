/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SettingValue: freeing, copying, comparing, validating against a SettingDef, and formatting
 * for humans. Validation is the single place that decides what a setting may hold, for values
 * from files (parse.c) and from D-Bus (settings_layer_set()) alike; its messages are shown to
 * admins, so they say what is wrong and what is allowed.
 *
 * An unset STRING may be NULL or ""; both mean "no value" (empty string on the bus).
 * An empty STRING_LIST or PAIR_LIST may be a NULL strv.
 *
 * Owns no state.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "settings/settings-internal.h"
#include "settings/settings.h"
#include "util/macro.h"
#include "util/redact.h"
#include "util/strv.h"

#define SETTING_TEXT_MAX 1024
#define SETTING_FILESYSTEM_MAX 64
#define SETTING_EXCLUSION_VALUE_MAX 4096

static void setting_exclusions_free(SettingExclusion *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(items[i].type);
                free(items[i].value);
        }
        free(items);
}

void setting_value_done(SettingValue *v) {
        if (!v)
                return;

        switch (v->type) {
        case SETTING_ENUM:
        case SETTING_STRING:
                free(v->s);
                break;
        case SETTING_STRING_LIST:
        case SETTING_PAIR_LIST:
                strv_free(v->strv);
                break;
        case SETTING_EXCLUSION_LIST:
                setting_exclusions_free(v->exclusions.items, v->exclusions.n);
                break;
        default:
                break;
        }
        *v = (SettingValue) { .type = v->type };
}

static int setting_exclusion_copy(const SettingExclusion *src, SettingExclusion *ret) {
        SettingExclusion e = {
                .type = src->type ? strdup(src->type) : NULL,
                .value = src->value ? strdup(src->value) : NULL,
                .is_directory = src->is_directory,
                .scopes = src->scopes,
        };

        if ((src->type && !e.type) || (src->value && !e.value)) {
                free(e.type);
                free(e.value);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

static int setting_exclusions_copy(const SettingValue *src, SettingValue *ret) {
        size_t n = src->exclusions.n;
        SettingExclusion *items;

        items = calloc(MAX(n, (size_t) 1), sizeof(SettingExclusion));
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (setting_exclusion_copy(&src->exclusions.items[i], &items[i]) < 0) {
                        setting_exclusions_free(items, i);
                        return -ENOMEM;
                }
        *ret = (SettingValue) { .type = src->type, .exclusions = { items, n } };
        return 0;
}

int setting_value_copy(const SettingValue *src, SettingValue *ret) {
        SettingValue v = { .type = src->type };

        switch (src->type) {
        case SETTING_BOOL:
        case SETTING_INT:
                v = *src;
                break;
        case SETTING_ENUM:
        case SETTING_STRING:
                if (src->s) {
                        v.s = strdup(src->s);
                        if (!v.s)
                                return -ENOMEM;
                }
                break;
        case SETTING_STRING_LIST:
        case SETTING_PAIR_LIST:
                if (src->strv) {
                        v.strv = strv_copy(src->strv);
                        if (!v.strv)
                                return -ENOMEM;
                }
                break;
        case SETTING_EXCLUSION_LIST:
                return setting_exclusions_copy(src, ret);
        default:
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static bool setting_exclusion_equal(const SettingExclusion *a, const SettingExclusion *b) {
        return streq_ptr(a->type, b->type) && streq_ptr(a->value, b->value) &&
                a->is_directory == b->is_directory && a->scopes == b->scopes;
}

bool setting_value_equal(const SettingValue *a, const SettingValue *b) {
        if (a->type != b->type)
                return false;

        switch (a->type) {
        case SETTING_BOOL:
                return a->b == b->b;
        case SETTING_INT:
                return a->i == b->i;
        case SETTING_ENUM:
        case SETTING_STRING:
                if (isempty(a->s) || isempty(b->s))
                        return isempty(a->s) && isempty(b->s);
                return streq(a->s, b->s);
        case SETTING_STRING_LIST:
        case SETTING_PAIR_LIST:
                return strv_equal(a->strv, b->strv);
        case SETTING_EXCLUSION_LIST:
                if (a->exclusions.n != b->exclusions.n)
                        return false;
                for (size_t i = 0; i < a->exclusions.n; i++)
                        if (!setting_exclusion_equal(&a->exclusions.items[i],
                                                     &b->exclusions.items[i]))
                                return false;
                return true;
        default:
                return false;
        }
}

/* ---- messages ---- */

static bool is_continuation(char c) {
        return ((unsigned char) c & 0xC0) == 0x80;
}

char *settings_quote(const char *s) {
        char *buf = NULL;
        size_t size = 0, chars = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        fputc('\'', f);
        for (const char *p = s ?: ""; *p; p++) {
                unsigned char c = *p;

                if (!is_continuation(*p) && ++chars > 64) {
                        fputs("...", f);
                        break;
                }
                if (c < 0x20 || c == 0x7f)
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
        fputc('\'', f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

char *settings_join_allowed(const char * const *allowed) {
        return strv_join((char * const *) allowed, ", ");
}

/* Builds a message: "<prefix><formatted>"; prefix is "" or e.g. "entry 2: ". */
static int setting_message(char **ret_message, const char *prefix, const char *format, ...)
        _printf_(3, 4);
static int setting_message(char **ret_message, const char *prefix, const char *format, ...) {
        _cleanup_free_ char *body = NULL;
        va_list ap;
        int r;

        if (!ret_message)
                return -EINVAL;
        va_start(ap, format);
        r = vasprintf(&body, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(ret_message, "%s%s", prefix, body) < 0)
                return -ENOMEM;
        return -EINVAL;
}

static bool strv_contains_const(const char * const *l, const char *s) {
        return s && strv_contains((char * const *) l, s);
}

/* "'x' is not one of: a, b". */
static int setting_not_one_of(char **ret_message, const char *prefix, const char *value,
                              const char * const *allowed) {
        _cleanup_free_ char *q = settings_quote(value), *list = settings_join_allowed(allowed);

        if (!q || !list)
                return -ENOMEM;
        return setting_message(ret_message, prefix, "%s is not one of: %s", q, list);
}

/* ---- string kinds ---- */

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static bool is_hostname_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-';
}

/* Skips "host" or "[v6]" at *p; false when there is none. */
static bool skip_host(const char **p) {
        const char *s = *p;

        if (*s == '[') {
                const char *end = strchr(s, ']');

                if (!end || end == s + 1)
                        return false;
                for (const char *c = s + 1; c < end; c++)
                        if (!strchr("0123456789abcdefABCDEF:.", *c))
                                return false;
                *p = end + 1;
                return true;
        }
        if (!is_hostname_char(*s) || *s == '.' || *s == '-')
                return false;
        while (is_hostname_char(*s))
                s++;
        *p = s;
        return true;
}

/* http://host:port or http://host:port/ — the only form of static proxy MDE supports (no
 * credentials, no path). */
static bool proxy_url_valid(const char *s) {
        unsigned long port;
        char *end;

        if (strncasecmp(s, "http://", strlen("http://")) != 0)
                return false;
        s += strlen("http://");
        if (!skip_host(&s) || *s != ':' || !(s[1] >= '0' && s[1] <= '9'))
                return false;
        errno = 0;
        port = strtoul(s + 1, &end, 10);
        if (errno != 0 || port < 1 || port > 65535 || end - s > 6)
                return false;
        return streq(end, "") || streq(end, "/");
}

static bool url_or_path_valid(const char *s) {
        const char *rest;

        if (s[0] == '/')
                return true;
        if (strncasecmp(s, "https://", strlen("https://")) == 0)
                rest = s + strlen("https://");
        else if (strncasecmp(s, "http://", strlen("http://")) == 0)
                rest = s + strlen("http://");
        else
                return false;
        if (!skip_host(&rest))
                return false;
        return !strpbrk(s, " \t");
}

static bool filesystem_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > SETTING_FILESYSTEM_MAX)
                return false;
        for (; *s; s++)
                if (!is_hostname_char(*s) && *s != '_')
                        return false;
        return true;
}

/* Checks one string of def (a STRING value, a list element or a pair value). prefix starts the
 * message ("" or "entry N: "); empty strings are the caller's business. */
static int setting_string_check(const SettingDef *def, const char *s, const char *prefix,
                                char **ret_message) {
        size_t max = def->max_length ?: SETTING_TEXT_MAX;
        _cleanup_free_ char *q = NULL;

        if (strlen(s) > max)
                return setting_message(ret_message, prefix, "the text is longer than %zu bytes",
                                       max);
        if (has_control(s))
                return setting_message(ret_message, prefix, "the text contains a control character");

        /* Messages end up in health issues and logs that other users read: a URL is quoted
         * without its credentials or signed query. */
        if (def->string_kind == SETTING_STRING_PROXY_URL ||
            def->string_kind == SETTING_STRING_URL_OR_PATH) {
                _cleanup_free_ char *redacted = NULL;

                if (redact_url_secrets(s, &redacted) < 0)
                        return -ENOMEM;
                q = settings_quote(redacted);
        } else
                q = settings_quote(s);
        if (!q)
                return -ENOMEM;

        switch (def->string_kind) {
        case SETTING_STRING_TEXT:
                return 0;
        case SETTING_STRING_PROXY_URL:
                if (proxy_url_valid(s))
                        return 0;
                return setting_message(ret_message, prefix,
                                       "%s is not a proxy URL of the form http://host:port/", q);
        case SETTING_STRING_URL_OR_PATH:
                if (url_or_path_valid(s))
                        return 0;
                return setting_message(ret_message, prefix,
                                       "%s is neither an http(s):// URL nor an absolute path", q);
        case SETTING_STRING_FILESYSTEM:
                if (filesystem_valid(s))
                        return 0;
                return setting_message(ret_message, prefix,
                                       "%s is not a filesystem name (letters, digits, '.', '_' "
                                       "and '-', at most %d)", q, SETTING_FILESYSTEM_MAX);
        default:
                return setting_message(ret_message, prefix, "unknown string kind");
        }
}

/* ---- validation per type ---- */

static int setting_validate_int(const SettingDef *def, int64_t i, char **ret_message) {
        if (i >= def->min && i <= def->max)
                return 0;
        return setting_message(ret_message, "", "%lld is out of range %lld..%lld", (long long) i,
                               (long long) def->min, (long long) def->max);
}

static int setting_validate_string_list(const SettingDef *def, char * const *l,
                                        char **ret_message, size_t *ret_entry) {
        for (size_t i = 0; l && l[i]; i++) {
                char prefix[32];
                int r;

                snprintf(prefix, sizeof(prefix), "entry %zu: ", i + 1);
                *ret_entry = i;
                if (isempty(l[i]))
                        return setting_message(ret_message, prefix, "the text is empty");
                if (def->allowed) {
                        if (!strv_contains_const(def->allowed, l[i]))
                                return setting_not_one_of(ret_message, prefix, l[i],
                                                          def->allowed);
                        continue;
                }
                r = setting_string_check(def, l[i], prefix, ret_message);
                if (r < 0)
                        return r;
        }
        *ret_entry = SIZE_MAX;
        return 0;
}

/* A pair list is a map: keys from allowed[], each at most once. */
static int setting_validate_pairs(const SettingDef *def, char * const *l, char **ret_message,
                                  size_t *ret_entry) {
        size_t n = strv_length(l);

        if (n % 2 != 0)
                return setting_message(ret_message, "", "a key has no value");

        for (size_t i = 0; i < n / 2; i++) {
                const char *key = l[2 * i], *value = l[2 * i + 1];
                char prefix[32];

                snprintf(prefix, sizeof(prefix), "entry %zu: ", i + 1);
                *ret_entry = i;
                if (def->allowed && !strv_contains_const(def->allowed, key))
                        return setting_not_one_of(ret_message, prefix, key, def->allowed);
                for (size_t j = 0; j < i; j++)
                        if (streq(l[2 * j], key)) {
                                _cleanup_free_ char *q = settings_quote(key);

                                if (!q)
                                        return -ENOMEM;
                                return setting_message(ret_message, prefix,
                                                       "%s is already set by entry %zu", q,
                                                       j + 1);
                        }
                if (isempty(value))
                        return setting_message(ret_message, prefix, "the value is empty");
                if (def->allowed_values) {
                        if (!strv_contains_const(def->allowed_values, value))
                                return setting_not_one_of(ret_message, prefix, value,
                                                          def->allowed_values);
                } else {
                        int r = setting_string_check(def, value, prefix, ret_message);
                        if (r < 0)
                                return r;
                }
        }
        *ret_entry = SIZE_MAX;
        return 0;
}

static int setting_validate_scopes(const SettingDef *def, unsigned scopes, const char *prefix,
                                   char **ret_message) {
        unsigned allowed = def->allowed_scopes ?: EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL;

        if (scopes == 0)
                return setting_message(ret_message, prefix, "no scope is given");
        if (scopes & ~(EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL))
                return setting_message(ret_message, prefix, "unknown scope bits 0x%x", scopes);
        if (scopes & ~allowed)
                return setting_message(ret_message, prefix,
                                       "the global scope is not allowed in %s, only epp",
                                       def->name);
        return 0;
}

/* The rules for the value of one exclusion, by type and scope. */
static int setting_validate_exclusion_value(const SettingExclusion *e, const char *member,
                                            const char *prefix, char **ret_message) {
        bool global = e->scopes & EXCLUSION_SCOPE_GLOBAL;
        _cleanup_free_ char *q = settings_quote(e->value);

        if (!q)
                return -ENOMEM;

        if (streq(e->type, "excludedPath") && e->value[0] != '/')
                return setting_message(ret_message, prefix, "the path must be absolute (%s)", q);
        if (streq(e->type, "excludedFileExtension") && strchr(e->value, '/'))
                return setting_message(ret_message, prefix,
                                       "an extension cannot contain '/' (%s)", q);
        if (streq(e->type, "excludedFileName") && strchr(e->value, '/') && e->value[0] != '/')
                return setting_message(ret_message, prefix,
                                       "a process is a bare name or an absolute path (%s)", q);
        if (!streq(e->type, "excludedPath") && e->is_directory)
                return setting_message(ret_message, prefix,
                                       "isDirectory applies to excludedPath only");
        if (!global)
                return 0;

        /* Global exclusions mute events at the sensor: exact paths only. */
        if (streq(e->type, "excludedFileExtension"))
                return setting_message(ret_message, prefix,
                                       "a global exclusion cannot be a file extension (%s)", q);
        if (strpbrk(e->value, "*?"))
                return setting_message(ret_message, prefix,
                                       "a global exclusion cannot use wildcards (%s)", q);
        if (streq(e->type, "excludedFileName") && e->value[0] != '/')
                return setting_message(ret_message, prefix,
                                       "a global process exclusion needs an absolute path (%s)",
                                       q);
        return 0;
}

static int setting_validate_exclusion(const SettingDef *def, const SettingExclusion *e,
                                      size_t index, char **ret_message) {
        const char *member = setting_exclusion_member(e->type);
        char prefix[48];
        int r;

        snprintf(prefix, sizeof(prefix), "exclusion entry %zu: ", index + 1);
        if (!member) {
                _cleanup_free_ char *list = settings_join_allowed(setting_exclusion_types);
                _cleanup_free_ char *q = settings_quote(e->type);

                if (!list || !q)
                        return -ENOMEM;
                return setting_message(ret_message, prefix, "$type %s is not one of: %s", q,
                                       list);
        }
        if (isempty(e->value))
                return setting_message(ret_message, prefix, "the %s is empty", member);
        if (strlen(e->value) > SETTING_EXCLUSION_VALUE_MAX)
                return setting_message(ret_message, prefix, "the %s is longer than %d bytes",
                                       member, SETTING_EXCLUSION_VALUE_MAX);
        if (has_control(e->value))
                return setting_message(ret_message, prefix, "the %s contains a control character",
                                       member);
        r = setting_validate_scopes(def, e->scopes, prefix, ret_message);
        if (r < 0)
                return r;
        return setting_validate_exclusion_value(e, member, prefix, ret_message);
}

int setting_exclusion_validate(const SettingDef *def, const SettingExclusion *e, size_t index,
                               char **ret_message) {
        return setting_validate_exclusion(def, e, index, ret_message);
}

static int setting_validate_exclusions(const SettingDef *def, const SettingValue *v,
                                       char **ret_message, size_t *ret_entry) {
        for (size_t i = 0; i < v->exclusions.n; i++) {
                int r;

                *ret_entry = i;
                r = setting_validate_exclusion(def, &v->exclusions.items[i], i, ret_message);
                if (r < 0)
                        return r;
        }
        *ret_entry = SIZE_MAX;
        return 0;
}

int setting_value_validate_entry(const SettingDef *def, const SettingValue *v, char **ret_message,
                                 size_t *ret_entry) {
        size_t entry_dummy;

        if (!ret_entry)
                ret_entry = &entry_dummy;
        *ret_entry = SIZE_MAX;

        if (v->type != def->type)
                return setting_message(ret_message, "", "expected %s, got %s",
                                       setting_type_description(def->type),
                                       setting_type_description(v->type));

        switch (def->type) {
        case SETTING_BOOL:
                return 0;
        case SETTING_INT:
                return setting_validate_int(def, v->i, ret_message);
        case SETTING_ENUM:
                if (strv_contains_const(def->allowed, v->s))
                        return 0;
                return setting_not_one_of(ret_message, "", v->s, def->allowed);
        case SETTING_STRING:
                /* Empty means unset: e.g. a managed "proxy": "" forces "no proxy". */
                if (isempty(v->s))
                        return 0;
                return setting_string_check(def, v->s, "", ret_message);
        case SETTING_STRING_LIST:
                return setting_validate_string_list(def, v->strv, ret_message, ret_entry);
        case SETTING_PAIR_LIST:
                return setting_validate_pairs(def, v->strv, ret_message, ret_entry);
        case SETTING_EXCLUSION_LIST:
                return setting_validate_exclusions(def, v, ret_message, ret_entry);
        default:
                return setting_message(ret_message, "", "unknown setting type");
        }
}

int setting_value_validate(const SettingDef *def, const SettingValue *v, char **ret_message) {
        return setting_value_validate_entry(def, v, ret_message, NULL);
}

/* ---- formatting ---- */

static void fput_quoted(FILE *f, const char *s) {
        fputc('"', f);
        for (; s && *s; s++) {
                unsigned char c = *s;

                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

static void fput_exclusion(FILE *f, const SettingExclusion *e) {
        fprintf(f, "%s ", e->type ?: "?");
        fput_quoted(f, e->value);
        fprintf(f, " (%s%s%s%s)", e->is_directory ? "directory; " : "",
                e->scopes & EXCLUSION_SCOPE_EPP ? "epp" : "",
                (e->scopes & EXCLUSION_SCOPE_EPP) && (e->scopes & EXCLUSION_SCOPE_GLOBAL) ?
                        ", " : "",
                e->scopes & EXCLUSION_SCOPE_GLOBAL ? "global" : "");
}

static void fput_value(FILE *f, const SettingValue *v) {
        switch (v->type) {
        case SETTING_BOOL:
                fputs(v->b ? "true" : "false", f);
                break;
        case SETTING_INT:
                fprintf(f, "%lld", (long long) v->i);
                break;
        case SETTING_ENUM:
        case SETTING_STRING:
                fput_quoted(f, v->s);
                break;
        case SETTING_STRING_LIST:
                fputc('[', f);
                for (size_t i = 0; v->strv && v->strv[i]; i++) {
                        fputs(i > 0 ? ", " : "", f);
                        fput_quoted(f, v->strv[i]);
                }
                fputc(']', f);
                break;
        case SETTING_PAIR_LIST:
                fputc('{', f);
                for (size_t i = 0; v->strv && v->strv[i] && v->strv[i + 1]; i += 2) {
                        fputs(i > 0 ? ", " : "", f);
                        fput_quoted(f, v->strv[i]);
                        fputs(": ", f);
                        fput_quoted(f, v->strv[i + 1]);
                }
                fputc('}', f);
                break;
        case SETTING_EXCLUSION_LIST:
                fputc('[', f);
                for (size_t i = 0; i < v->exclusions.n; i++) {
                        fputs(i > 0 ? ", " : "", f);
                        fput_exclusion(f, &v->exclusions.items[i]);
                }
                fputc(']', f);
                break;
        default:
                fputs("?", f);
                break;
        }
}

char *setting_value_to_string(const SettingValue *v) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        fput_value(f, v);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}
