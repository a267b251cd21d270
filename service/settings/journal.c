/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The text of the local exclusion journal: one line per exclusion added since the local
 * settings file was last written, so that an add costs the bytes of one entry instead of a
 * rewrite of every setting. The caller owns the files (manager.c); this only makes and reads
 * text, on the main thread.
 *
 * Form: a header line "mdatp-settings-journal 1 <base>\n", where base is settings_text_hash()
 * of the settings file the journal adds to, then one line per add, each a settings document
 * that sets one exclusion list to one entry ({"antivirusEngine":{"exclusions":[{...}]}}), so
 * that the one parser and validator of settings files reads it. A journal whose base is not the
 * file beside it belongs to an older file that already holds its entries (the writer replaces
 * the file first, then removes the journal): it is ignored. A last line without its newline, or
 * one that does not parse, is a write that a crash cut short: it and anything after it are
 * ignored.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/settings.h"
#include "util/hash.h"
#include "util/macro.h"

#define JOURNAL_MAGIC "mdatp-settings-journal 1 "

uint64_t settings_text_hash(const char *text, size_t size) {
        return fnv1a64(text, size);     /* not an adversary's input */
}

int settings_journal_header(uint64_t base, char **ret, size_t *ret_size) {
        int n = asprintf(ret, JOURNAL_MAGIC "%016" PRIx64 "\n", base);

        if (n < 0)
                return -ENOMEM;
        *ret_size = (size_t) n;
        return 0;
}

int settings_journal_line(const SettingDef *def, const SettingExclusion *e, char **ret,
                          size_t *ret_size) {
        _cleanup_(settings_layer_freep) SettingsLayer *l = NULL;
        SettingValue v = {
                .type = SETTING_EXCLUSION_LIST,
                .exclusions = { .items = (SettingExclusion *) e, .n = 1 },
        };
        _cleanup_free_ char *json = NULL;
        size_t size;
        char *line;
        int r;

        r = settings_layer_new(&l);
        if (r >= 0)
                r = settings_layer_set(l, def, &v, NULL);
        if (r >= 0)
                r = settings_layer_to_json(l, &json, &size);
        if (r < 0)
                return r;
        /* Compact JSON has no newline of its own: the newline ends the record. */
        line = realloc(json, size + 2);
        if (!line)
                return -ENOMEM;
        json = NULL;
        line[size] = '\n';
        line[size + 1] = '\0';
        *ret = line;
        *ret_size = size + 1;
        return 0;
}

/* Appends the exclusions the one-line document sets to the local layer of s. */
static int journal_apply_line(Settings *s, const char *line, size_t len) {
        _cleanup_(settings_error_done) SettingsError error = SETTINGS_ERROR_INIT;
        _cleanup_(settings_layer_freep) SettingsLayer *l = NULL;
        int n = 0, r;

        r = settings_layer_parse(line, len, &l, &error, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < setting_defs_count(); i++) {
                const SettingDef *def = setting_def_at(i);
                const SettingValue *v = settings_layer_get(l, def);

                if (!v || def->type != SETTING_EXCLUSION_LIST)
                        continue;
                for (size_t k = 0; k < v->exclusions.n; k++) {
                        r = settings_add_local_exclusion(s, def, &v->exclusions.items[k], NULL);
                        if (r < 0)
                                return r;
                        n++;
                }
        }
        return n;
}

int settings_journal_replay(Settings *s, const char *text, size_t size, uint64_t base,
                            size_t *ret_valid) {
        const char *p = text, *end = text + size, *nl;
        uint64_t h;
        int n = 0, r;

        *ret_valid = 0;
        nl = memchr(p, '\n', size);
        if (!nl || (size_t) (nl - p) <= strlen(JOURNAL_MAGIC) ||
            strncmp(p, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC)) != 0 ||
            sscanf(p + strlen(JOURNAL_MAGIC), "%" SCNx64, &h) != 1)
                return -EBADMSG;
        if (h != base)
                return -ESTALE;
        p = nl + 1;
        *ret_valid = (size_t) (p - text);

        for (; p < end; p = nl + 1) {
                nl = memchr(p, '\n', (size_t) (end - p));
                if (!nl)
                        break;          /* cut short by a crash */
                r = journal_apply_line(s, p, (size_t) (nl - p));
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        break;          /* garbage from a torn write: nothing after it counts */
                n += r;
                *ret_valid = (size_t) (nl + 1 - text);
        }
        return n;
}
