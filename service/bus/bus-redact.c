/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every local user may read: strings that can carry credentials (update mirror and proxy
 * URLs, and texts that quote them: health issues, fail reasons, connectivity lines) are appended
 * with their URL user information and query strings redacted (util/redact.c). Owns no state.
 */
#include <stdlib.h>

#include "bus/bus.h"
#include "util/redact.h"
#include "util/strv.h"

int bus_append_redacted_string(sd_bus_message *reply, const char *s) {
        _cleanup_free_ char *copy = NULL;
        int r;

        r = redact_url_secrets(s ?: "", &copy);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "s", copy);
}

int bus_append_redacted_strv(sd_bus_message *reply, char **l) {
        _cleanup_strv_free_ char **copy = NULL;
        int r;

        r = bus_redact_strv(l, &copy);
        if (r < 0)
                return r;
        return sd_bus_message_append_strv(reply, copy);
}

int bus_redact_strv(char **l, char ***ret) {
        _cleanup_strv_free_ char **copy = NULL;
        int n = 0, r;

        for (char **s = l; s && *s; s++) {
                char *item = NULL;

                r = redact_url_secrets(*s, &item);
                if (r < 0)
                        return r;
                n += r;
                r = strv_consume(&copy, item);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(copy);
        return n;
}

int bus_setting_value_redact(const SettingDef *def, SettingValue *v) {
        char *copy = NULL;
        int r;

        /* Only URLs carry credentials; enums and plain text are shown as they are. */
        if (def->type != SETTING_STRING || !v->s ||
            (def->string_kind != SETTING_STRING_PROXY_URL &&
             def->string_kind != SETTING_STRING_URL_OR_PATH))
                return 0;
        r = redact_url_secrets(v->s, &copy);
        if (r <= 0) {
                free(copy);
                return r;
        }
        free(v->s);
        v->s = copy;
        return r;
}
