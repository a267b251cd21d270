/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp health`: the table of health fields and the views that show them.
 *
 * Every field is one row of health_fields[]: its text key (health_issues), its JSON key
 * (healthIssues), where its value comes from (a Health property, a setting, a constant, a value
 * computed from a property, or nothing yet), how it is rendered (its kind), and whether it is a
 * setting (`[managed]` in text, {displayValue,isManaged,value} in JSON; the managed flag comes from
 * the setting named in the row). A view (the default one, antivirus, definitions, edr, features)
 * is an ordered list of text keys, so a field shown by several views is described once.
 *
 * To add a field: add a row here, then its key to the views that show it. The unit test checks
 * that every key of every view names a row.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <yajl/yajl_gen.h>

#include "args.h"
#include "value.h"

typedef enum HealthSource {
        HEALTH_SOURCE_PROPERTY,         /* the Health property named by source */
        HEALTH_SOURCE_SETTING,          /* the effective value of the setting named by source */
        HEALTH_SOURCE_CONSTANT,         /* the text in source */
        HEALTH_SOURCE_MINUTES_AGO,      /* minutes since the timestamp property named by source */
        HEALTH_SOURCE_UNAVAILABLE,      /* nothing provides it yet */
        _HEALTH_SOURCE_MAX,
        _HEALTH_SOURCE_INVALID = -EINVAL,
} HealthSource;

typedef enum HealthKind {
        HEALTH_KIND_BOOL,               /* true / false */
        HEALTH_KIND_INT,                /* bare integer (any D-Bus integer type) */
        HEALTH_KIND_STRING,             /* "quoted"; empty means unavailable unless if_empty */
        HEALTH_KIND_STRING_LIST,        /* ["a","b"] */
        HEALTH_KIND_DATE,               /* t µs; text "Nov 23, 2026 at 01:02:03 PM", JSON epoch-ms
                                         * string; 0 means unavailable */
        HEALTH_KIND_ENUM_TAG,           /* text "up_to_date", JSON {"$type":"upToDate"} */
        HEALTH_KIND_PAIR_LIST,          /* [{"key":"GROUP","value":"x"}] */
        _HEALTH_KIND_MAX,
        _HEALTH_KIND_INVALID = -EINVAL,
} HealthKind;

typedef enum HealthView {
        HEALTH_VIEW_DEFAULT,
        HEALTH_VIEW_ANTIVIRUS,
        HEALTH_VIEW_DEFINITIONS,
        HEALTH_VIEW_EDR,
        HEALTH_VIEW_FEATURES,
        _HEALTH_VIEW_MAX,
        _HEALTH_VIEW_INVALID = -EINVAL,
} HealthView;

typedef struct HealthField {
        const char *text_key;           /* snake_case, as printed and as --field takes it */
        const char *json_key;           /* camelCase */
        HealthSource source;
        const char *source_name;        /* property, setting or constant text; see HealthSource */
        HealthKind kind;
        bool setting;                   /* shown as a setting: [managed] / {displayValue,...} */
        bool hidden;                    /* JSON only (displayValue false) */
        const char *managed_by;         /* setting whose managed flag applies; NULL: never */
        const char *if_empty;           /* STRING: what an empty string shows; NULL: unavailable */
} HealthField;

/* The table, and lookups in it. health_field_find() takes a text key, or else a JSON key (old
 * scripts wrote `mdatp --health realTimeProtectionEnabled`); NULL when unknown. */
extern const HealthField health_fields[];
extern const size_t health_fields_count;
const HealthField *health_field_find(const char *name);

/* Views: their names ("antivirus", ...; NULL for the default view), descriptions and keys. */
const char *health_view_to_string(HealthView v);
HealthView health_view_from_string(const char *s);
const char *health_view_description(HealthView v);
const char * const *health_view_keys(HealthView v);

/* What the daemon said, and the time "minutes ago" is measured from. */
typedef struct HealthData {
        const CliValueList *properties; /* Health.GetAll */
        const CliValueList *settings;   /* Settings.List */
        uint64_t now_usec;              /* CLOCK_REALTIME, µs */
} HealthData;

/* The value of f in d: an owned copy in *ret (CLI_VALUE_NULL when unavailable, or when the value
 * the daemon sent does not have the type f's kind needs), and whether the managed policy sets
 * it in *ret_managed. */
int health_field_resolve(const HealthField *f, const HealthData *d, CliValue *ret,
                         bool *ret_managed);

/* The text of a resolved value, as `--field` prints it (no [managed]). Caller frees. */
int health_field_format_text(const HealthField *f, const CliValue *v, char **ret);
/* `key<padding>: value[ [managed]]`, the text line of a field (no newline). Caller frees. */
int health_field_format_line(const HealthField *f, const CliValue *v, bool managed, char **ret);
/* The JSON member value of a resolved field (wrapped for settings). */
int health_field_format_json(yajl_gen g, const HealthField *f, const CliValue *v, bool managed);

/* Renders a whole view of d as text lines or as one JSON object. Caller frees. */
int health_render_text(HealthView view, const HealthData *d, char **ret);
int health_render_json(HealthView view, const HealthData *d, char **ret);

/* The default view as `mdatp health` and `mdatp health --output json` print it, read from the
 * daemon on bus (for diagnostic bundles). Reports failures. Caller frees both. */
int health_render_default(sd_bus *bus, char **ret_text, char **ret_json);

/* The `mdatp health` leaf. */
int health_run(const CliInvocation *inv);
