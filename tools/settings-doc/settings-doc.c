/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prints docs/settings.md (no argument) or the man page mdatp_managed.json(5) (`--man`) from the
 * settings schema, so the documentation cannot drift from what the daemon accepts: a test
 * compares the Markdown with the committed file, and the build generates the man page. Both
 * come from one walk of the schema (settings_doc_walk()); only the formatting differs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roff.h"
#include "settings/settings.h"
#include "util/macro.h"
#include "util/strv.h"

/* The build's configuration: MDATP_VERSION, MDATP_MANAGED_DIR_DEFAULT. */
#include "config.h"

/* One setting as both formats print it; def is the schema's, dflt the default as JSON. */
typedef struct SettingRow {
        const SettingDef *def;
        const char *dflt;
} SettingRow;

typedef void (*SettingRowFn)(FILE *f, const SettingRow *row);

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

/* The values def accepts, in words. */
static void print_allowed(FILE *f, const SettingDef *def) {
        _cleanup_free_ char *keys = NULL, *values = NULL;

        switch (def->type) {
        case SETTING_INT:
                fprintf(f, "%" PRId64 "..%" PRId64, def->min, def->max);
                return;
        case SETTING_ENUM:
        case SETTING_STRING_LIST:
                if (def->allowed) {
                        keys = strv_join((char **) def->allowed, ", ");
                        fprintf(f, "%s", keys ?: "");
                }
                return;
        case SETTING_PAIR_LIST:
                keys = def->allowed ? strv_join((char **) def->allowed, ", ") : NULL;
                values = def->allowed_values ? strv_join((char **) def->allowed_values, ", ")
                                             : NULL;
                fprintf(f, "keys: %s; values: %s", keys ?: "any", values ?: "text");
                return;
        case SETTING_STRING:
                switch (def->string_kind) {
                case SETTING_STRING_PROXY_URL:
                        fprintf(f, "http://host:port/");
                        return;
                case SETTING_STRING_URL_OR_PATH:
                        fprintf(f, "http(s):// URL or absolute path");
                        return;
                default:
                        fprintf(f, "text");
                        return;
                }
        case SETTING_EXCLUSION_LIST:
                fprintf(f, "see below");
                return;
        default:
                return;
        }
}

/* print_allowed() into a new string, for the man page to escape; NULL on OOM. */
static char *allowed_string(const SettingDef *def) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        print_allowed(f, def);
        if (fclose(f) != 0)
                return mfree(buf);
        return buf;
}

/* Calls fn for every setting of the schema, in schema order, with its default. Returns 0 or a
 * negative errno. */
static int settings_doc_walk(FILE *f, SettingRowFn fn) {
        _cleanup_(settings_freep) Settings *s = NULL;
        int r;

        r = settings_new(&s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                _cleanup_(setting_value_done) SettingValue v = {};
                _cleanup_free_ char *dflt = NULL;

                r = settings_get(s, def, &v, NULL);
                if (r < 0)
                        return r;
                dflt = setting_value_to_string(&v);
                fn(f, &(SettingRow) { .def = def, .dflt = dflt ?: "?" });
        }
        return 0;
}

static void markdown_row(FILE *f, const SettingRow *row) {
        const SettingDef *def = row->def;

        fprintf(f, "| `%s` | %s | ", def->name, type_name(def));
        print_allowed(f, def);
        fprintf(f, " | `%s` | %s%s%s |\n", row->dflt, def->description ?: "",
                def->merge_policy ? "; merge policy: " : "", def->merge_policy ?: "");
}

static int markdown(FILE *f) {
        int r;

        fprintf(f, "# Settings\n\n"
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

        r = settings_doc_walk(f, markdown_row);
        if (r < 0)
                return r;

        fprintf(f, "\n## Exclusion entries\n\n"
               "`{\"$type\": \"excludedPath\", \"path\": \"/var/log/\", \"isDirectory\": true}`,\n"
               "`{\"$type\": \"excludedFileExtension\", \"extension\": \".pdf\"}`,\n"
               "`{\"$type\": \"excludedFileName\", \"name\": \"/usr/bin/rsync\"}`, each with an optional\n"
               "`\"scopes\": [\"epp\", \"global\"]`. Entries under `antivirusEngine.exclusions` are\n"
               "`epp` only; under `exclusionSettings.exclusions` an entry without `scopes` is `global`.\n"
               "Global entries take no wildcards, no extensions, and process entries need a full\n"
               "path.\n");
        fprintf(f, "\n## How local settings are kept\n\n"
               "Local settings live in `settings.json` in the state directory, written whole and\n"
               "atomically (temporary file, fsync, rename, fsync of the directory) on every `Set`,\n"
               "`Reset` and exclusion removal. An exclusion `Add` (`mdatp exclusion ... add`) instead\n"
               "appends one line, its entry, to `settings.json.journal` beside it and syncs it\n"
               "before replying: a reply still means the change is applied and survives a restart\n"
               "or a crash, and an add costs the same at 10 exclusions as at 10,000. Writes are not\n"
               "coalesced, because a reply that came before its write could be lost. The journal\n"
               "names the `settings.json` it adds to (by a hash of its bytes), so after a whole\n"
               "write an old journal is never replayed; a last line cut short by a crash is\n"
               "ignored (that add was never answered). The journal is folded into `settings.json`\n"
               "at each start and whenever it would pass 64 KiB. The journal's size bounds what it\n"
               "adds to the file, so the one limit keeps its meaning: local settings never grow\n"
               "past what can be read back at the next start (1 MiB, about 10,000 exclusions); an\n"
               "add past it is refused and nothing changes.\n");
        return 0;
}

/* A tagged paragraph per setting: its name, then type, allowed values, default, description. */
static void man_row(FILE *f, const SettingRow *row) {
        const SettingDef *def = row->def;
        _cleanup_free_ char *allowed = allowed_string(def);

        fputs(".TP\n.B ", f);
        roff_escape(f, def->name);
        fputs("\n\\&", f);
        roff_escape(f, def->description ?: "");
        fputs(".\n.br\nType: ", f);
        roff_escape(f, type_name(def));
        if (allowed && *allowed) {
                fputs("; allowed: ", f);
                roff_escape(f, allowed);
        }
        fputs("; default: \\fB", f);
        roff_escape(f, row->dflt);
        fputs("\\fR", f);
        if (def->merge_policy) {
                fputs("; merge policy: ", f);
                roff_escape(f, def->merge_policy);
        }
        fputs(".\n", f);
}

static const char man_head[] =
".SH NAME\n"
"mdatp_managed.json \\- managed policy of the mdatpd endpoint protection daemon\n"
".SH SYNOPSIS\n";

static const char man_description[] =
".SH DESCRIPTION\n"
"The managed policy is a JSON object written by the administrator or a configuration\n"
"management tool.\n"
".BR mdatpd (8)\n"
"watches it and applies it a moment after it changes.\n"
"Each setting below is named by its dotted path: \\fBcloudService.proxy\\fR is the key\n"
"\\fBproxy\\fR of the object \\fBcloudService\\fR.\n"
"The same names are used by \\fBmdatp config set \\-\\-name\\fR, \\fBmdatp config list\\fR\n"
"and the D\\-Bus \\fBSettings\\fR interface.\n"
".PP\n"
"Settings come from three layers: built\\-in defaults, local changes (\\fBmdatp config\\fR,\n"
"D\\-Bus \\fBSet\\fR) and this policy, which wins: a key set here cannot be changed locally.\n"
"Lists with a merge policy add local items to managed ones under \\fBmerge\\fR, and ignore\n"
"and refuse them under \\fBadmin_only\\fR.\n"
"Integers may also be written as strings (\\fB\"90\"\\fR).\n"
"Unknown keys are ignored and logged.\n"
"The legacy keys \\fBantivirusEngine.enableRealTimeProtection\\fR and\n"
"\\fBantivirusEngine.passiveMode\\fR (booleans) set \\fBenforcementLevel\\fR when the file\n"
"does not.\n"
".PP\n"
"A file that cannot be read, does not parse or does not validate changes nothing: the\n"
"previous policy stays, and \\fBmdatp health\\fR names the file, line, column and key.\n"
"A file that is a symbolic link, or is writable by anyone but root, is refused the same way.\n"
".SH SETTINGS\n";

static const char man_tail[] =
".SH \"EXCLUSION ENTRIES\"\n"
"Each entry of an exclusion list is an object with a \\fB$type\\fR:\n"
".TP\n"
".B excludedPath\n"
"\\fBpath\\fR, and \\fBisDirectory\\fR (true for a folder).\n"
".TP\n"
".B excludedFileExtension\n"
"\\fBextension\\fR, such as \\fB.pdf\\fR.\n"
".TP\n"
".B excludedFileName\n"
"\\fBname\\fR: a process name, or the full path of an executable.\n"
".PP\n"
"Each may carry \\fB\"scopes\": [\"epp\", \"global\"]\\fR.\n"
"Entries under \\fBantivirusEngine.exclusions\\fR are \\fBepp\\fR only; under\n"
"\\fBexclusionSettings.exclusions\\fR an entry without scopes is \\fBglobal\\fR.\n"
"Global entries take no wildcards and no extensions, and process entries need a full path.\n"
".SH EXAMPLE\n"
".nf\n"
"{\n"
"  \"antivirusEngine\": {\n"
"    \"enforcementLevel\": \"real_time\",\n"
"    \"exclusions\": [\n"
"      { \"$type\": \"excludedPath\", \"path\": \"/var/lib/postgresql/\", \"isDirectory\": true }\n"
"    ]\n"
"  },\n"
"  \"cloudService\": { \"proxy\": \"http://proxy:3128/\" }\n"
"}\n"
".fi\n"
".SH \"SEE ALSO\"\n"
".BR mdatp (1),\n"
".BR mdatpd (8)\n";

static int man(FILE *f) {
        int r;

        roff_header(f, "mdatp_managed.json", "5", MDATP_VERSION);
        fputs(man_head, f);
        fputs(".I ", f);
        roff_escape(f, MDATP_MANAGED_DIR_DEFAULT "/mdatp_managed.json");
        fputc('\n', f);
        fputs(man_description, f);
        r = settings_doc_walk(f, man_row);
        if (r < 0)
                return r;
        fputs(man_tail, f);
        return 0;
}

int main(int argc, char *argv[]) {
        int r;

        if (argc > 2 || (argc == 2 && !streq(argv[1], "--man"))) {
                fprintf(stderr, "Usage: settings-doc [--man]\n");
                return EXIT_FAILURE;
        }
        r = argc == 2 ? man(stdout) : markdown(stdout);
        /* A truncated page must fail the build, not install. */
        if (r < 0 || fflush(stdout) != 0)
                return EXIT_FAILURE;
        return EXIT_SUCCESS;
}
