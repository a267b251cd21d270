/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: settings_layer_parse() over arbitrary bytes, the path every managed policy file
 * takes. A successful parse is also serialised and parsed again, which must give an equal layer.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings/settings.h"
#include "util/macro.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(settings_layer_freep) SettingsLayer *l = NULL, *back = NULL;
        SettingsError e = SETTINGS_ERROR_INIT;
        _cleanup_strv_free_ char **unknown = NULL;
        _cleanup_free_ char *json = NULL;
        int r;

        r = settings_layer_parse((const char *) data, size, &l, &e, &unknown);
        settings_error_done(&e);
        if (r < 0)
                return 0;

        if (settings_layer_to_json(l, &json, NULL) < 0)
                abort();        /* a layer that parsed must serialise */
        r = settings_layer_parse(json, strlen(json), &back, &e, NULL);
        if (r < 0 || !settings_layer_equal(l, back))
                abort();
        return 0;
}
