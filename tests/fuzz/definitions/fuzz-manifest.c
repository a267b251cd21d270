/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the parsers of definition packs that see untrusted bytes: manifest.json
 * (after the signature, but a parser must not depend on that) and sha256-list files. The
 * signature check is not fuzzed: it is OpenSSL's.
 *
 * Every input goes to both parsers. Beyond "no crash, no leak", it checks properties:
 *   - a manifest that parses is written back by definition_manifest_format() into text that
 *     parses to the same manifest;
 *   - every hash-list entry that parses has a valid threat name and type, and its line number
 *     is within the input.
 * A violated property aborts, which libFuzzer and the standalone runner report as a crash.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "definitions/definitions-internal.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_manifest_round_trip(const DefinitionManifest *m) {
        _cleanup_(definition_manifest_freep) DefinitionManifest *again = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size;

        if (definition_manifest_format(m, &text, &size) < 0)
                abort();
        if (definition_manifest_parse(text, size, &again, NULL) < 0)
                abort();
        if (!streq(again->version, m->version) ||
            !streq(again->minimum_engine_version, m->minimum_engine_version) ||
            again->n_files != m->n_files)
                abort();
        /* Whole seconds only: the writer keeps microseconds, so they must survive. */
        if (again->created_usec != m->created_usec)
                abort();
        for (size_t i = 0; i < m->n_files; i++)
                if (!streq(again->files[i].path, m->files[i].path) ||
                    again->files[i].kind != m->files[i].kind ||
                    again->files[i].size != m->files[i].size ||
                    memcmp(again->files[i].sha256, m->files[i].sha256, 32) != 0)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(definition_manifest_freep) DefinitionManifest *m = NULL;
        _cleanup_free_ char *message = NULL, *message2 = NULL;
        DefinitionHashList l = {};
        size_t lines = 1;

        if (size > DEFINITIONS_MANIFEST_MAX_SIZE + 16)
                return 0;

        if (definition_manifest_parse((const char *) data, size, &m, &message) >= 0)
                check_manifest_round_trip(m);
        else if (!message)
                abort();        /* every failure but OOM explains itself */

        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        if (definition_hash_list_parse("fuzz.tsv", (const char *) data, size, &l,
                                       &message2) >= 0) {
                for (size_t i = 0; i < l.n; i++)
                        if (!definition_threat_name_is_valid(l.entries[i].name) ||
                            !definition_threat_type_is_valid(l.entries[i].type) ||
                            l.lines[i] < 1 || l.lines[i] > lines)
                                abort();
                definition_hash_list_done(&l);
        } else if (!message2)
                abort();

        return 0;
}
