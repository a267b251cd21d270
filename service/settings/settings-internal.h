/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between the .c files of service/settings/ only; not part of the module's interface.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "settings/settings.h"

/* A layer holds one slot per def, in schema order. */
struct SettingsLayer {
        SettingValue *values;
        bool *set;
        size_t n;
};

/* Position of def in the schema; aborts when def is not one of the schema's (a bug). */
size_t setting_def_index(const SettingDef *def);

/* "a boolean", "an integer", ... for messages about a value of the wrong type. */
const char *setting_type_description(SettingType t);

/* setting_value_validate(), also telling which list entry (0-based) is wrong: SIZE_MAX when the
 * problem is not with one entry. ret_entry may be NULL. */
int setting_value_validate_entry(const SettingDef *def, const SettingValue *v, char **ret_message,
                                 size_t *ret_entry);

/* Validates one entry of an exclusion list of def; index (0-based) names it in the message. */
int setting_exclusion_validate(const SettingDef *def, const SettingExclusion *e, size_t index,
                               char **ret_message);

/* s quoted for a message: 'text', control characters as \xNN, cut after 64 characters with
 * "..." (at a character boundary, so the result stays valid UTF-8). NULL on OOM. */
char *settings_quote(const char *s);

/* "a, b, c" for "is not one of: ..." messages. NULL on OOM. */
char *settings_join_allowed(const char * const *allowed);

/* Stores v in slot def of l, taking over what v owns (v is zeroed), without validation. */
void settings_layer_put(SettingsLayer *l, const SettingDef *def, SettingValue *v);

/* Exclusion $type names and the JSON member that holds each one's value. */
const char *setting_exclusion_member(const char *type);
extern const char * const setting_exclusion_types[];
