/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The history of on-demand scans, newest last in memory, persisted as JSON in the state
 * directory (atomically). Main thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_gen.h>

#include "scan/scan.h"
#include "util/fileio.h"
#include "util/json.h"

#define SCAN_HISTORY_FILE_MAX (1024 * 1024)

static int record_from_json(const JsonNode *n, ScanRecord *r) {
        const JsonNode *id = json_object_get(n, "id"), *kind = json_object_get(n, "kind"),
                       *state = json_object_get(n, "state"), *start = json_object_get(n, "start"),
                       *end = json_object_get(n, "end"), *files = json_object_get(n, "files"),
                       *threats = json_object_get(n, "threats");

        if (!id || !kind || !state || !start || !end || !files || !threats ||
            id->type != JSON_INTEGER || kind->type != JSON_STRING ||
            state->type != JSON_STRING || start->type != JSON_INTEGER ||
            end->type != JSON_INTEGER || files->type != JSON_INTEGER ||
            threats->type != JSON_INTEGER || id->integer <= 0 || id->integer > UINT32_MAX ||
            start->integer < 0 || end->integer < 0 || files->integer < 0 || threats->integer < 0)
                return -EBADMSG;
        *r = (ScanRecord) {
                .id = (uint32_t) id->integer,
                .kind = scan_kind_from_string(kind->string),
                .state = scan_state_from_string(state->string),
                .start_usec = (uint64_t) start->integer,
                .end_usec = (uint64_t) end->integer,
                .files_scanned = (uint64_t) files->integer,
                .threats_found = (uint64_t) threats->integer,
        };
        if (r->kind < 0 || r->state < 0)
                return -EBADMSG;
        /* A scan that was running when the daemon stopped did not finish. */
        if (r->state == SCAN_STATE_RUNNING)
                r->state = SCAN_STATE_FAILED;
        return 0;
}

int scan_history_load(ScanHistory *h, const char *path) {
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        _cleanup_free_ char *data = NULL;
        const JsonNode *scans;
        size_t size;
        int r;

        *h = (ScanHistory) { .next_id = 1, .path = strdup(path) };
        if (!h->path)
                return -ENOMEM;
        r = read_file_full(path, SCAN_HISTORY_FILE_MAX, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = json_parse(data, size, &root, NULL);
        scans = r >= 0 ? json_object_get(root, "scans") : NULL;
        if (r >= 0 && (!scans || scans->type != JSON_ARRAY))
                r = -EBADMSG;
        for (size_t i = 0; r >= 0 && i < scans->array.n && h->n < SCAN_HISTORY_MAX; i++)
                r = record_from_json(scans->array.items[i], &h->items[h->n++]);
        if (r < 0) {
                _cleanup_free_ char *aside = NULL;

                h->n = 0;
                if (asprintf(&aside, "%s.invalid-%lld", path, (long long) time(NULL)) >= 0)
                        (void) rename(path, aside);
                return -EBADMSG;
        }
        for (size_t i = 0; i < h->n; i++)
                if (h->items[i].id >= h->next_id)
                        h->next_id = h->items[i].id + 1;
        return 0;
}

int scan_history_save(const ScanHistory *h) {
        yajl_gen g = yajl_gen_alloc(NULL);
        const unsigned char *buf;
        size_t len;
        int r;

        if (!g)
                return -ENOMEM;
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_map_open(g);
        yajl_gen_string(g, (const unsigned char *) "scans", 5);
        yajl_gen_array_open(g);
        for (size_t i = 0; i < h->n; i++) {
                const ScanRecord *s = &h->items[i];
                const char *kind = scan_kind_to_string(s->kind);
                const char *state = scan_state_to_string(s->state);

                yajl_gen_map_open(g);
                yajl_gen_string(g, (const unsigned char *) "id", 2);
                yajl_gen_integer(g, s->id);
                yajl_gen_string(g, (const unsigned char *) "kind", 4);
                yajl_gen_string(g, (const unsigned char *) kind, strlen(kind));
                yajl_gen_string(g, (const unsigned char *) "state", 5);
                yajl_gen_string(g, (const unsigned char *) state, strlen(state));
                yajl_gen_string(g, (const unsigned char *) "start", 5);
                yajl_gen_integer(g, (long long) s->start_usec);
                yajl_gen_string(g, (const unsigned char *) "end", 3);
                yajl_gen_integer(g, (long long) s->end_usec);
                yajl_gen_string(g, (const unsigned char *) "files", 5);
                yajl_gen_integer(g, (long long) s->files_scanned);
                yajl_gen_string(g, (const unsigned char *) "threats", 7);
                yajl_gen_integer(g, (long long) s->threats_found);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
                yajl_gen_free(g);
                return -ENOMEM;
        }
        r = write_file_atomic(h->path, buf, len, 0644);
        yajl_gen_free(g);
        return r;
}

int scan_history_put(ScanHistory *h, const ScanRecord *r) {
        size_t i;

        for (i = 0; i < h->n; i++)
                if (h->items[i].id == r->id)
                        break;
        if (i == h->n) {
                if (h->n == SCAN_HISTORY_MAX) {
                        memmove(h->items, h->items + 1, (h->n - 1) * sizeof(ScanRecord));
                        h->n--;
                }
                i = h->n++;
        }
        h->items[i] = *r;
        if (r->id >= h->next_id)
                h->next_id = r->id + 1;
        return scan_history_save(h);
}

void scan_history_done(ScanHistory *h) {
        h->path = mfree(h->path);
        h->n = 0;
}
