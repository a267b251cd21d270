/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Typed values as the daemon sends them: Health properties and settings (D-Bus b, i, t, s, as,
 * a(ss), a(ssbas)). One reader turns a message element or variant of any of these signatures
 * into a CliValue; one writer appends a CliValue as a variant; two printers render it as text
 * (health style: true, 12, "text", ["a","b"], [{"key":"GROUP","value":"x"}]) or as JSON.
 *
 * Also the named-value lists the client gets from Health.GetAll and Settings.List.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <yajl/yajl_gen.h>

typedef enum CliValueType {
        CLI_VALUE_NULL,         /* absent or of a signature the client does not know */
        CLI_VALUE_BOOL,         /* b */
        CLI_VALUE_INT,          /* i, and the other integer types except t */
        CLI_VALUE_UINT64,       /* t: timestamps and counters */
        CLI_VALUE_STRING,       /* s, o, g */
        CLI_VALUE_STRV,         /* as */
        CLI_VALUE_PAIRS,        /* a(ss): key/value lists (edr.tags, threatTypeSettings) */
        CLI_VALUE_EXCLUSIONS,   /* a(ssbas): $type, value, isDirectory, scopes */
        _CLI_VALUE_TYPE_MAX,
        _CLI_VALUE_TYPE_INVALID = -EINVAL,
} CliValueType;

typedef struct CliExclusion {
        char *type;             /* excludedPath, excludedFileExtension, excludedFileName */
        char *value;
        bool is_directory;
        char **scopes;          /* "epp", "global" */
} CliExclusion;

typedef struct CliValue {
        CliValueType type;
        union {
                bool b;
                int64_t i;
                uint64_t u;
                char *s;
                char **strv;            /* STRV; PAIRS as key0, value0, key1, value1, ..., NULL */
                struct {
                        CliExclusion *items;
                        size_t n;
                } exclusions;
        };
} CliValue;
#define CLI_VALUE_INIT {}

/* Frees what v owns and leaves it CLI_VALUE_NULL. Usable as _cleanup_(cli_value_done). */
void cli_value_done(CliValue *v);
int cli_value_copy(const CliValue *src, CliValue *ret);
/* Constructors for owned values; -ENOMEM on failure. */
int cli_value_new_string(const char *s, CliValue *ret);
int cli_value_new_strv(char * const *l, CliValue *ret);
static inline CliValue cli_value_bool(bool b) {
        return (CliValue) { .type = CLI_VALUE_BOOL, .b = b };
}
static inline CliValue cli_value_int(int64_t i) {
        return (CliValue) { .type = CLI_VALUE_INT, .i = i };
}

/* Number of pairs of a PAIRS value, and the value of key in it (NULL when absent). */
size_t cli_value_pairs_count(const CliValue *v);
const char *cli_value_pairs_get(const CliValue *v, const char *key);

/* The D-Bus signature a value is sent with ("b", "i", "t", "s", "as", "a(ss)", "a(ssbas)");
 * NULL for CLI_VALUE_NULL. */
const char *cli_value_signature(const CliValue *v);

/* Reads the next complete element of m. Elements of a signature the client does not know are
 * skipped and give CLI_VALUE_NULL, so a newer daemon does not break an older client. Returns 0,
 * or -ENXIO at the end of the enclosing container, or a negative errno from sd-bus. */
int cli_value_read(sd_bus_message *m, CliValue *ret);
/* Enters a variant, reads what it holds, leaves it. */
int cli_value_read_variant(sd_bus_message *m, CliValue *ret);
/* Appends v as a variant; -EINVAL for CLI_VALUE_NULL or an INT outside int32. */
int cli_value_append_variant(sd_bus_message *m, const CliValue *v);

/* Health-style text: true, 12, "quoted", ["a","b"], [{"key":"k","value":"v"}], and the bare word
 * unavailable for CLI_VALUE_NULL. Caller frees. */
int cli_value_to_text(const CliValue *v, char **ret);
/* The JSON value: true, 12, "s", [...], null. */
int cli_value_to_json(yajl_gen g, const CliValue *v);

/* Converts command-line text into a value of the given D-Bus signature:
 *   b      true, false, enabled, disabled
 *   i      a decimal integer that fits int32
 *   s      the text as is
 *   as     comma-separated items; empty text is an empty list
 *   a(ss)  comma-separated key=value items
 * Returns 0, -EINVAL when text does not fit (see cli_value_text_expected()), -EOPNOTSUPP for
 * another signature. */
int cli_value_from_text(const char *signature, const char *text, CliValue *ret);
/* What cli_value_from_text() accepts for signature, for error messages; NULL when unsupported. */
const char *cli_value_text_expected(const char *signature);

/* A name with a value: a Health property, or a setting with its managed flag and source. */
typedef struct CliNamedValue {
        char *name;
        CliValue value;
        bool managed;           /* settings: the managed policy sets it */
        char *source;           /* settings: default, local, managed or merged; else NULL */
} CliNamedValue;

typedef struct CliValueList {
        CliNamedValue *items;
        size_t n;
} CliValueList;
#define CLI_VALUE_LIST_INIT {}

void cli_value_list_done(CliValueList *l);
/* Appends an empty item named name and returns it in *ret (owned by the list). */
int cli_value_list_add(CliValueList *l, const char *name, CliNamedValue **ret);
/* NULL when absent. */
const CliNamedValue *cli_value_list_find(const CliValueList *l, const char *name);

/* Reads an a{sv} (Properties.GetAll) or an a(svbs) (Settings.List) reply into *ret. */
int cli_value_list_read_properties(sd_bus_message *m, CliValueList *ret);
int cli_value_list_read_settings(sd_bus_message *m, CliValueList *ret);
