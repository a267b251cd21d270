/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the mountinfo parser over arbitrary bytes. Mount points are named by whoever
 * mounts (a user's FUSE mount, a container's mount namespace), and the table is re-read at
 * every mount change.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mounts/mounts.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = malloc(size + 1);
        Mount *mounts = NULL;
        size_t n = 0;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (mounts_parse(text, &mounts, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                assert(mounts[i].id >= 0);
                assert(mounts[i].mount_point && mounts[i].fstype && mounts[i].options);
                (void) mounts_fstype_is_monitored(mounts[i].fstype, NULL);
                (void) mounts_fstype_is_pseudo(mounts[i].fstype);
        }
        mounts_free(mounts, n);
        return 0;
}
