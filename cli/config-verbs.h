/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commands that change settings: `mdatp config ...`, `mdatp edr ...` and `mdatp log ...`.
 *
 * Each `config <name> --value V` leaf is a row of a table (ConfigProperty): the setting it
 * changes, the values it accepts and how they map onto the setting's values. Values are checked
 * here first (exit 2 with the allowed values listed) and then by the daemon.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "args.h"
#include "value.h"

typedef enum ConfigKind {
        CONFIG_KIND_BOOL,               /* enabled|disabled -> b true|false */
        CONFIG_KIND_ENUM,               /* accepted[i] -> s values[i] (or accepted[i]) */
        CONFIG_KIND_INT,                /* a decimal in min..max -> i */
        CONFIG_KIND_URL,                /* http://... -> s */
        CONFIG_KIND_REAL_TIME,          /* enabled|disabled -> enforcementLevel, see below */
        CONFIG_KIND_PASSIVE,
        _CONFIG_KIND_MAX,
        _CONFIG_KIND_INVALID = -EINVAL,
} ConfigKind;

typedef struct ConfigProperty {
        const char *name;               /* as in messages: "real-time-protection" */
        const char *flag;               /* the option carrying the value: "--value" */
        const char *setting;            /* dotted setting name */
        ConfigKind kind;
        const char * const *accepted;   /* BOOL, ENUM, REAL_TIME, PASSIVE */
        const char * const *values;     /* ENUM: what each accepted value sets; NULL: the same */
        int64_t min, max;               /* INT */
        const char *expected;           /* INT, URL: what to accept, for messages */
} ConfigProperty;

/* Looks a row up by its name (for tests); NULL when unknown. */
const ConfigProperty *config_property_find(const char *name);

/* Converts the text given on the command line into the setting's value. Not for REAL_TIME and
 * PASSIVE (see config_enforcement_level_next()). Returns 0, or -EINVAL when the text is not
 * accepted. */
int config_property_convert(const ConfigProperty *p, const char *text, CliValue *ret);

/* antivirusEngine.enforcementLevel after `config real-time-protection` (kind REAL_TIME) or
 * `config passive-mode` (PASSIVE) --value enabled|disabled, given the current level:
 *   real-time-protection enabled  -> real_time
 *   real-time-protection disabled -> on_demand if current is real_time, else current
 *   passive-mode enabled          -> passive
 *   passive-mode disabled         -> real_time if current is passive, else current
 * Returns a static string or current itself (then nothing needs to change). */
const char *config_enforcement_level_next(ConfigKind kind, bool enable, const char *current);

/* The pairs of an edr.tags value without the ones named key, in *ret. Returns 1 when something
 * was removed, 0 when key was absent, -ENOMEM. */
int config_tags_remove(const CliValue *tags, const char *key, CliValue *ret);

extern const CliVerb config_verbs[];
extern const CliVerb edr_verbs[];
extern const CliVerb log_verbs[];
