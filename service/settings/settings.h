/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Product settings: the schema of every key of mdatp_managed.json, parsing and validation of
 * documents in that shape, and the three layers (built-in defaults < local < managed policy).
 *
 * A setting is named by its dotted path in the managed file, e.g.
 * "antivirusEngine.enforcementLevel" or
 * "features.supplementarySensorConfigurations.enableRawSocketEvent".
 *
 * This module knows nothing of D-Bus, files' locations or logging: the caller passes text or
 * paths, and logs what it returns. It is used on the main thread only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/json.h"

/* The largest settings document settings_layer_load() reads, and so the largest a layer may be
 * written that is to be read back: settings_layer_to_json() refuses to produce more. */
#define SETTINGS_FILE_MAX_SIZE JSON_MAX_SIZE

typedef enum SettingType {
        SETTING_BOOL,           /* D-Bus "b" */
        SETTING_INT,            /* D-Bus "i", within [min, max]; numeric strings accepted in files */
        SETTING_ENUM,           /* D-Bus "s", one of allowed[] */
        SETTING_STRING,         /* D-Bus "s", checked by SettingStringKind */
        SETTING_STRING_LIST,    /* D-Bus "as", each element in allowed[] when allowed is set */
        SETTING_PAIR_LIST,      /* D-Bus "a(ss)", [{ "key": k, "value": v }] in files */
        SETTING_EXCLUSION_LIST, /* D-Bus "a(ssbas)", exclusion objects in files */
        _SETTING_TYPE_MAX,
        _SETTING_TYPE_INVALID = -22,
} SettingType;

/* How a string is checked: a STRING setting, the elements of a STRING_LIST without allowed[],
 * the values of a PAIR_LIST without allowed_values[]. */
typedef enum SettingStringKind {
        SETTING_STRING_TEXT,            /* printable text, at most max_length (1024) bytes */
        SETTING_STRING_PROXY_URL,       /* http://host:port[/] */
        SETTING_STRING_URL_OR_PATH,     /* http(s)://... or an absolute path */
        SETTING_STRING_FILESYSTEM,      /* a filesystem type name: [A-Za-z0-9._-], at most 64 */
        _SETTING_STRING_KIND_MAX,
} SettingStringKind;

typedef enum SettingSource {
        SETTING_SOURCE_DEFAULT,
        SETTING_SOURCE_LOCAL,
        SETTING_SOURCE_MANAGED,
        SETTING_SOURCE_MERGED,          /* a merge-policy list with managed and local items */
        _SETTING_SOURCE_MAX,
        _SETTING_SOURCE_INVALID = -22,
} SettingSource;

/* Exclusion scopes, a bit mask. */
enum {
        EXCLUSION_SCOPE_EPP = 1 << 0,
        EXCLUSION_SCOPE_GLOBAL = 1 << 1,
};

typedef struct SettingExclusion {
        char *type;             /* "excludedPath", "excludedFileExtension", "excludedFileName" */
        char *value;            /* the path, extension or process name */
        bool is_directory;      /* excludedPath only */
        unsigned scopes;        /* EXCLUSION_SCOPE_* */
} SettingExclusion;

typedef struct SettingValue {
        SettingType type;
        union {
                bool b;
                int64_t i;
                char *s;                /* ENUM, STRING */
                char **strv;            /* STRING_LIST; PAIR_LIST as key0, value0, key1, ... NULL */
                struct {
                        SettingExclusion *items;
                        size_t n;
                } exclusions;
        };
} SettingValue;

typedef struct SettingDef {
        const char *name;               /* dotted managed-file path */
        SettingType type;
        SettingStringKind string_kind;  /* STRING; list elements and pair values, see above */
        const char * const *allowed;    /* ENUM values; STRING_LIST elements; PAIR_LIST keys */
        const char * const *allowed_values; /* PAIR_LIST values, NULL = any text */
        int64_t min, max;               /* INT only */
        bool default_b;
        int64_t default_i;
        const char *default_s;          /* NULL = unset (empty string on the bus) */
        const char * const *default_strv;
        const char *merge_policy;       /* lists only: name of the ENUM setting (merge|admin_only)
                                         * that decides whether local items add to managed ones */
        unsigned default_scopes;        /* EXCLUSION_LIST: scope of items that name none */
        const char *description;        /* one line, for docs and `mdatp help` */
        /* Added after the first draft of this header: */
        unsigned max_length;            /* SETTING_STRING_TEXT strings: bytes; 0 = 1024 */
        unsigned allowed_scopes;        /* EXCLUSION_LIST: scopes its items may have; 0 = any */
} SettingDef;

/* The schema, in a stable order. */
size_t setting_defs_count(void);
const SettingDef *setting_def_at(size_t i);
/* NULL when the name is not a setting. */
const SettingDef *setting_def_find(const char *name);
/* D-Bus signature of a type: "b", "i", "s", "as", "a(ss)", "a(ssbas)". */
const char *setting_type_signature(SettingType t);
const char *setting_source_to_string(SettingSource s);  /* "default", "local", "managed", "merged" */

void setting_value_done(SettingValue *v);       /* frees what v owns; v may be zeroed memory */
int setting_value_copy(const SettingValue *src, SettingValue *ret);
bool setting_value_equal(const SettingValue *a, const SettingValue *b);
/* 0 when v fits def; -EINVAL with a message ("'x' is not one of: a, b" / "100 is out of range
 * 1..64" / ...) in *ret_message (caller frees) otherwise. */
int setting_value_validate(const SettingDef *def, const SettingValue *v, char **ret_message);
/* The value formatted for humans and logs: true, 12, "text", ["a", "b"], ... Caller frees. */
char *setting_value_to_string(const SettingValue *v);

/* One parsed document: the values of the keys it sets. */
typedef struct SettingsLayer SettingsLayer;

typedef struct SettingsError {
        char *key;              /* dotted path of the offending key; NULL for a syntax error */
        unsigned line, column;  /* 1-based; 0 when unknown */
        char *message;          /* what is wrong */
} SettingsError;
#define SETTINGS_ERROR_INIT {}
void settings_error_done(SettingsError *e);

int settings_layer_new(SettingsLayer **ret);   /* an empty layer */
SettingsLayer *settings_layer_free(SettingsLayer *l);
static inline void settings_layer_freep(SettingsLayer **l) {
        if (*l)
                (void) settings_layer_free(*l);
}

/* Parses and validates a document in the mdatp_managed.json shape. Unknown keys are skipped and
 * returned in *ret_unknown_keys as "dotted.path (line L, column C)", the position of the key's
 * value (NULL-terminated, in document order; members of list entries as
 * "antivirusEngine.exclusions[2].foo", counted from 1; the reference's "info" and "possible
 * values" comment keys are not reported; may be NULL when not wanted) so the caller can report
 * them. A null value of a key means "not set"; null as a list element is an error. Legacy
 * antivirusEngine.enableRealTimeProtection and passiveMode map onto enforcementLevel when the
 * document does not set it; the reference's misspelt offlineDefintionUpdateFallbackToCloud is read
 * too. Returns 0, or -EINVAL with *ret_error filled (file position and key of the first problem),
 * or -ENOMEM/-E2BIG. *ret_error is overwritten, not freed: pass it empty. */
int settings_layer_parse(const char *text, size_t size, SettingsLayer **ret,
                         SettingsError *ret_error, char ***ret_unknown_keys);
/* settings_layer_parse() on a file, read with read_file_full(): -ENOENT when it does not exist,
 * -ELOOP when it is a symlink, -EBADFD when it is not a regular file, -E2BIG (with *ret_error)
 * when it is larger than SETTINGS_FILE_MAX_SIZE. */
int settings_layer_load(const char *path, SettingsLayer **ret, SettingsError *ret_error,
                        char ***ret_unknown_keys);
/* Serialises the layer back into the nested mdatp_managed.json shape (compact, so that about
 * 10,000 typical exclusions fit), keys in schema order; settings_layer_parse() of the result
 * gives an equal layer. -E2BIG when the result would be larger than SETTINGS_FILE_MAX_SIZE and
 * so could not be read back; *ret_size (may be NULL) then says how large it would be. */
int settings_layer_to_json(const SettingsLayer *l, char **ret, size_t *ret_size);
/* Whether both layers set the same defs to equal values (e.g. a reloaded policy that did not
 * change). */
bool settings_layer_equal(const SettingsLayer *a, const SettingsLayer *b);

/* The value the layer sets for def, or NULL. */
const SettingValue *settings_layer_get(const SettingsLayer *l, const SettingDef *def);
/* Copies v in after validating it; -EINVAL with *ret_message when it does not fit def. */
int settings_layer_set(SettingsLayer *l, const SettingDef *def, const SettingValue *v,
                       char **ret_message);
/* 1 when the layer set def and no longer does, 0 when it did not set it. */
int settings_layer_unset(SettingsLayer *l, const SettingDef *def);

typedef struct Settings {
        SettingsLayer *defaults;        /* built from the schema, never changes */
        SettingsLayer *local;           /* set over D-Bus, persisted by the caller */
        SettingsLayer *managed;         /* the last good managed policy, empty when none */
} Settings;

int settings_new(Settings **ret);
Settings *settings_free(Settings *s);
static inline void settings_freep(Settings **s) {
        if (*s)
                (void) settings_free(*s);
}

/* The effective value of def, as a copy the caller must setting_value_done(). Scalars: managed,
 * else local, else default. Lists with a merge policy: under "merge", managed items followed by
 * local items not already present (pair lists merge per key, managed winning, over the
 * defaults' pairs); under "admin_only", managed items only (defaults when managed does not set
 * it; pair lists: managed pairs over the defaults' pairs). The policy is itself a setting
 * (managed, else local, else default). */
int settings_get(const Settings *s, const SettingDef *def, SettingValue *ret,
                 SettingSource *ret_source);
/* Shortcuts for scalar settings by name; they abort on a name or type mismatch (a bug). */
bool settings_get_bool(const Settings *s, const char *name);
int64_t settings_get_int(const Settings *s, const char *name);
const char *settings_get_string(const Settings *s, const char *name); /* NULL when unset */

/* Whether the managed layer sets def. */
bool settings_is_managed(const Settings *s, const SettingDef *def);

/* Outcomes of settings_check_local_change(). */
enum {
        SETTINGS_CHANGE_ALLOWED = 0,
        SETTINGS_E_MANAGED = 1,         /* the managed policy sets this key */
        SETTINGS_E_ADMIN_ONLY = 2,      /* a list whose merge policy is admin_only */
};
/* Whether a local Set/Reset of def may happen now: one of the outcomes above. A list with a
 * merge policy is ALLOWED under "merge" even when the managed policy sets it (local items add to
 * the managed ones), ADMIN_ONLY under "admin_only"; any other setting is MANAGED when the managed
 * policy sets it. */
int settings_check_local_change(const Settings *s, const SettingDef *def);

/* Appends a copy of e to the local layer's exclusion list def (creating it), validating e alone:
 * what is already there was validated when it was set, so adding costs the same at any length.
 * Returns 1 when the effective value of def changed, 0 when the managed list already has e (the
 * local layer still gets it), -EINVAL with *ret_message when e does not fit def, or -ENOMEM.
 * The caller checks settings_check_local_change() and duplicates first. */
int settings_add_local_exclusion(Settings *s, const SettingDef *def, const SettingExclusion *e,
                                 char **ret_message);
/* Undoes the last settings_add_local_exclusion() of def (when saving it failed); was_set: whether
 * the local layer set def before it, so that an explicitly empty list stays one. */
void settings_drop_last_local_exclusion(Settings *s, const SettingDef *def, bool was_set);

/* The effective values of every def, in schema order, for change detection. */
typedef struct SettingsSnapshot {
        SettingValue *values;
        size_t n;
} SettingsSnapshot;
int settings_snapshot(const Settings *s, SettingsSnapshot *ret);
void settings_snapshot_done(SettingsSnapshot *snap);
/* Names of the defs whose effective value differs between before and s now (NULL-terminated,
 * possibly empty, caller frees with strv_free). */
int settings_changed_since(const Settings *s, const SettingsSnapshot *before, char ***ret_names);

/* The local exclusion journal (journal.c): one line per exclusion added since the local
 * settings file was last written, so that an add writes one entry, not every setting. The
 * caller keeps the file beside the settings file and replaces both by writing the settings
 * file whole (which makes the journal stale) when the journal grows past a bound. */

/* FNV-1a of a settings file's bytes: what a journal names as its base. */
uint64_t settings_text_hash(const char *text, size_t size);
/* The first line of a journal adding to the file whose hash is base. Caller frees *ret. */
int settings_journal_header(uint64_t base, char **ret, size_t *ret_size);
/* The line recording that e was appended to the exclusion list def, newline included: a
 * settings document setting def to [e], so it is never shorter than what e adds to the
 * settings file. Caller frees *ret. -EINVAL when e does not fit def. */
int settings_journal_line(const SettingDef *def, const SettingExclusion *e, char **ret,
                          size_t *ret_size);
/* Appends the exclusions of journal text[0..size) to the local layer of s, as
 * settings_add_local_exclusion() does. A last line without its newline or a line that does
 * not parse (a write cut short) ends the replay. Returns the number of exclusions appended,
 * with *ret_valid the length of the journal up to the last line applied; -ESTALE when the
 * journal's base is not base (it adds to another version of the file: ignore it), -EBADMSG
 * when there is no valid header, -ENOMEM. */
int settings_journal_replay(Settings *s, const char *text, size_t size, uint64_t base,
                            size_t *ret_valid);
