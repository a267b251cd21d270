/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the threat history parser over arbitrary bytes. The file is the daemon's own,
 * but a disk error, a crash of another tool or a hand edit can leave anything in it, and the
 * daemon reads it at every start.
 */
#include <stddef.h>
#include <stdint.h>

#include "threats/threats-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ThreatFile f = {};

        (void) threat_file_parse((const char *) data, size, &f);
        /* Whatever was accepted must be serialisable again. */
        for (size_t i = 0; i < f.n_entries; i++)
                (void) threat_entry_serialize(f.entries[i]);
        threat_file_done(&f);
        return 0;
}
