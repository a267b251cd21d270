/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prints docs/settings.md from the settings schema, so the documentation cannot drift from what
 * the daemon accepts: a test compares this output with the committed file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "settings/settings.h"
#include "util/macro.h"
#include "util/strv.h"

static const char *type_name(const SettingDef *def) {
        switch (def->type) {
        case SETTING_BOOL:
                return "bool";
        case SETTING_INT:
                return "int";
        case SETTING_ENUM:
                return "enum";
        case SETTING_STRING:
                return "string";
        case SETTING_STRING_LIST:
                return "list of strings";
        case SETTING_PAIR_LIST:
                return "list of {key, value}";
        case SETTING_EXCLUSION_LIST:
                return "list of exclusions";
        default:
                return "?";
        }
}

static void print_allowed(const SettingDef *def) {
        _cleanup_free_ char *keys = NULL, *values = NULL;

        switch (def->type) {
        case SETTING_INT:
                printf("%" PRId64 "..%" PRId64, def->min, def->max);
                return;
        case SETTING_ENUM:
        case SETTING_STRING_LIST:
                if (def->allowed) {
                        keys = strv_join((char **) def->allowed, ", ");
                        printf("%s", keys ?: "");
                }
                return;
        case SETTING_PAIR_LIST:
                keys = def->allowed ? strv_join((char **) def->allowed, ", ") : NULL;
                values = def->allowed_values ? strv_join((char **) def->allowed_values, ", ")
                                             : NULL;
                printf("keys: %s; values: %s", keys ?: "any", values ?: "text");
                return;
        case SETTING_STRING:
                switch (def->string_kind) {
                case SETTING_STRING_PROXY_URL:
                        printf("http://host:port/");
                        return;
                case SETTING_STRING_URL_OR_PATH:
                        printf("http(s):// URL or absolute path");
                        return;
                default:
                        printf("text");
                        return;
                }
        case SETTING_EXCLUSION_LIST:
                printf("see below");
                return;
        default:
                return;
        }
}

int main(void) {
        _cleanup_(settings_freep) Settings *s = NULL;

        if (settings_new(&s) < 0)
                return EXIT_FAILURE;

        printf("# Settings\n\n"
               "Generated from the daemon's schema by `tools/settings-doc` (a test keeps this\n"
               "file in sync). Every setting is named by its dotted path in\n"
               "`/etc/opt/microsoft/mdatp/managed/mdatp_managed.json`, and the same name is used by\n"
               "`mdatp config set --name`, `mdatp config list` and the D-Bus `Settings` interface.\n\n"
               "Layers: built-in default < local (`mdatp config`, D-Bus `Set`) < managed policy. A\n"
               "key in the managed policy locks the setting. Lists with a merge policy add local\n"
               "items to managed ones under `merge`, and ignore and refuse them under `admin_only`.\n"
               "Integers may also be written as strings in the file (`\"90\"`). The legacy keys\n"
               "`antivirusEngine.enableRealTimeProtection` and `antivirusEngine.passiveMode`\n"
               "(booleans) set `enforcementLevel` when the file does not.\n\n"
               "Edge cases of the file, each handled one way:\n\n"
               "- **Unknown keys** (a misspelt or look-alike name, a key of a newer version) are\n"
               "  ignored, together with everything under them, and each is a health issue naming\n"
               "  the key, its line and column (and whether the name has non-ASCII characters), so\n"
               "  `healthy` is false until the file says what was meant. The first 10 are named,\n"
               "  the rest counted; all are logged. The `info` and `possible values` keys of the\n"
               "  reference sample files are comments and are not reported.\n"
               "- **null** as the value of a key (a setting, a section, a member of a list entry)\n"
               "  means the key is not set, as if absent, so templates can carry placeholders. A\n"
               "  list element cannot be absent: `[null]` is refused like any other wrong type.\n"
               "- **Strings** must be valid UTF-8 without NUL. A `\\u` escape of half a\n"
               "  surrogate pair (`\\ud800` or `\\udc00` alone) is refused, with its line\n"
               "  and column; write the character itself or the whole pair.\n"
               "- A file that is refused changes nothing: the previous policy stays in force and\n"
               "  `health_issues` says why. URLs in health issues are shown without credentials\n"
               "  or query strings ([security.md](security.md)).\n\n"
               "| setting | type | allowed | default | what it does |\n"
               "|---|---|---|---|---|\n");

        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                _cleanup_(setting_value_done) SettingValue v = {};
                _cleanup_free_ char *dflt = NULL;

                if (settings_get(s, def, &v, NULL) < 0)
                        return EXIT_FAILURE;
                dflt = setting_value_to_string(&v);
                printf("| `%s` | %s | ", def->name, type_name(def));
                print_allowed(def);
                printf(" | `%s` | %s%s%s |\n", dflt ?: "?", def->description ?: "",
                       def->merge_policy ? "; merge policy: " : "",
                       def->merge_policy ?: "");
        }

        printf("\n## Exclusion entries\n\n"
               "`{\"$type\": \"excludedPath\", \"path\": \"/var/log/\", \"isDirectory\": true}`,\n"
               "`{\"$type\": \"excludedFileExtension\", \"extension\": \".pdf\"}`,\n"
               "`{\"$type\": \"excludedFileName\", \"name\": \"/usr/bin/rsync\"}`, each with an optional\n"
               "`\"scopes\": [\"epp\", \"global\"]`. Entries under `antivirusEngine.exclusions` are\n"
               "`epp` only; under `exclusionSettings.exclusions` an entry without `scopes` is `global`.\n"
               "Global entries take no wildcards, no extensions, and process entries need a full\n"
               "path.\n");
        return EXIT_SUCCESS;
}
