/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the verdict cache file (state_dir/scan-cache.bin) over arbitrary bytes. The file
 * is the daemon's own, but a disk error, a crash or a hand edit can leave anything in it, and
 * the daemon reads it at every start.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "verdict/verdict-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(verdict_cache_freep) VerdictCache *c = NULL;
        VerdictCacheStats st;

        if (verdict_cache_new(4096, &c) < 0)
                return 0;
        if (verdict_cache_load_data(c, data, size) < 0) {
                /* Refused whole: nothing was added. */
                assert(verdict_cache_size(c) == 0);
                return 0;
        }
        verdict_cache_get_stats(c, &st);
        assert(st.entries <= st.capacity);
        return 0;
}
