/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp threat list|get` (see threat.h): reading the Threats replies, the text and JSON views,
 * and the verbs. Owns no state: a reply's threats belong to the verb that asked for them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus.h"
#include "format.h"
#include "report.h"
#include "threat.h"
#include "util/macro.h"

#define THREAT_SIGNATURE "ssssstss"

void threat_done(Threat *t) {
        free(t->id);
        free(t->name);
        free(t->type);
        free(t->path);
        free(t->sha256);
        free(t->source);
        free(t->status);
        for (size_t i = 0; i < t->n_history; i++)
                free(t->history[i].status);
        free(t->history);
        *t = (Threat) {};
}

void threat_list_done(ThreatList *l) {
        for (size_t i = 0; i < l->n; i++)
                threat_done(&l->items[i]);
        free(l->items);
        *l = (ThreatList) {};
}

/* Reads the members of a (ssssstss) that m has entered. */
static int threat_read_members(sd_bus_message *m, Threat *ret) {
        _cleanup_(threat_done) Threat t = {};
        const char *s[7];
        int r;

        r = sd_bus_message_read(m, THREAT_SIGNATURE, &s[0], &s[1], &s[2], &s[3], &s[4],
                                &t.detection_time, &s[5], &s[6]);
        if (r < 0)
                return r;
        t.id = strdup(s[0]);
        t.name = strdup(s[1]);
        t.type = strdup(s[2]);
        t.path = strdup(s[3]);
        t.sha256 = strdup(s[4]);
        t.source = strdup(s[5]);
        t.status = strdup(s[6]);
        if (!t.id || !t.name || !t.type || !t.path || !t.sha256 || !t.source || !t.status)
                return -ENOMEM;
        *ret = t;
        t = (Threat) {};
        return 0;
}

int threat_read(sd_bus_message *m, Threat *ret) {
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, THREAT_SIGNATURE);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;
        r = threat_read_members(m, ret);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0) {
                threat_done(ret);
                return r;
        }
        return 0;
}

int threat_list_read(sd_bus_message *m, ThreatList *ret) {
        _cleanup_(threat_list_done) ThreatList l = THREAT_LIST_INIT;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(" THREAT_SIGNATURE ")");
        if (r < 0)
                return r;
        for (;;) {
                Threat t, *items;

                r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
                r = threat_read(m, &t);
                if (r < 0)
                        return r;
                items = reallocarray(l.items, l.n + 1, sizeof(Threat));
                if (!items) {
                        threat_done(&t);
                        return -ENOMEM;
                }
                l.items = items;
                l.items[l.n++] = t;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = l;
        l = (ThreatList) {};
        return 0;
}

static Threat *threat_list_find(ThreatList *l, const char *id) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].id, id))
                        return &l->items[i];
        return NULL;
}

/* The (tss) entries of one history, into t (which may be NULL: skipped). */
static int threat_history_read(sd_bus_message *m, Threat *t) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(tss)");
        while (r >= 0) {
                const char *status, *detail;
                ThreatEvent *h;
                uint64_t time;

                r = sd_bus_message_read(m, "(tss)", &time, &status, &detail);
                if (r <= 0)
                        break;
                if (!t)
                        continue;
                h = reallocarray(t->history, t->n_history + 1, sizeof(*h));
                if (!h)
                        return -ENOMEM;
                t->history = h;
                h[t->n_history] = (ThreatEvent) { .time = time, .status = strdup(status) };
                if (!h[t->n_history++].status)
                        return -ENOMEM;
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

int threat_list_attach_history(sd_bus_message *m, ThreatList *l) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(sa(tss))");
        while (r >= 0) {
                const char *id;

                r = sd_bus_message_enter_container(m, 'r', "sa(tss)");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "s", &id);
                if (r >= 0)
                        r = threat_history_read(m, threat_list_find(l, id));
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 0;
}

/* `Label: "value"` into f, the value JSON-quoted. */
static int threat_text_line(FILE *f, const char *label, const char *value) {
        _cleanup_free_ char *quoted = NULL;
        int r;

        r = format_json_quote(value, &quoted);
        if (r < 0)
                return r;
        (void) fprintf(f, "%s: %s\n", label, quoted);
        return 0;
}

/* One threat's block into f. */
static int threat_text_block(FILE *f, const Threat *t) {
        char when[FORMAT_TIMESTAMP_MAX];
        int r;

        r = threat_text_line(f, "Id", t->id);
        if (r >= 0)
                r = threat_text_line(f, "Name", t->name);
        if (r >= 0)
                r = threat_text_line(f, "Type", t->type);
        if (r >= 0 && t->detection_time != 0) {
                r = format_timestamp(t->detection_time, when, sizeof(when));
                if (r >= 0)
                        r = threat_text_line(f, "Detection time", when);
        } else if (r >= 0)
                (void) fputs("Detection time: unavailable\n", f);
        if (r >= 0)
                r = threat_text_line(f, "Status", t->status);
        if (r >= 0)
                r = threat_text_line(f, "Path", t->path);
        return r;
}

/* The blocks of n threats, separated by empty lines. */
static int threat_text(const Threat *items, size_t n, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (i > 0)
                        (void) fputc('\n', f);
                r = threat_text_block(f, &items[i]);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

int threat_format_text(const Threat *t, char **ret) {
        return threat_text(t, 1, ret);
}

int threat_format_list_text(const ThreatList *l, char **ret) {
        if (l->n == 0) {
                *ret = strdup("No threats\n");
                return *ret ? 0 : -ENOMEM;
        }
        return threat_text(l->items, l->n, ret);
}

/* The "threat" object's members. */
static int threat_json_threat(yajl_gen g, const Threat *t) {
        int r;

        r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_pair_string(g, "tracking_id", t->id);
        if (r >= 0)
                r = format_json_pair_string(g, "name", t->name);
        if (r >= 0)
                r = format_json_pair_string(g, "type", t->type);
        if (r >= 0)
                r = format_json_pair_string(g, "path", t->path);
        if (r >= 0)
                r = format_json_pair_string(g, "sha256", t->sha256);
        if (r >= 0)
                r = format_json_pair_date(g, "detection_time", t->detection_time);
        if (r >= 0)
                r = format_json_pair_string(g, "source", t->source);
        if (r >= 0)
                r = format_json_close_object(g);
        return r;
}

static int threat_json_event(yajl_gen g, uint64_t key, const char *status) {
        int r;

        r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_pair_uint(g, "key", key);
        if (r >= 0)
                r = format_json_pair_string(g, "value", status);
        if (r >= 0)
                r = format_json_close_object(g);
        return r;
}

/* [{"key":<epoch ms>,"value":"<status>"}, ...]: keys strictly increase, so that the greatest
 * is the current status even for changes within one millisecond. */
static int threat_json_history(yajl_gen g, const Threat *t) {
        uint64_t last = 0;
        int r;

        r = format_json_open_array(g);
        if (r >= 0 && t->n_history == 0)
                r = threat_json_event(g, t->detection_time / 1000, t->status);
        for (size_t i = 0; r >= 0 && i < t->n_history; i++) {
                uint64_t key = t->history[i].time / 1000;

                if (i > 0 && key <= last)
                        key = last + 1;
                last = key;
                r = threat_json_event(g, key, t->history[i].status);
        }
        if (r >= 0)
                r = format_json_close_array(g);
        return r;
}

/* {"threat":{...},"history":[...]} into g. */
static int threat_json_entry(yajl_gen g, const Threat *t) {
        int r;

        r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_string(g, "threat");
        if (r >= 0)
                r = threat_json_threat(g, t);
        if (r >= 0)
                r = format_json_string(g, "history");
        if (r >= 0)
                r = threat_json_history(g, t);
        if (r >= 0)
                r = format_json_close_object(g);
        return r;
}

int threat_format_json(const Threat *t, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = threat_json_entry(g, t);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}

/* {"threats":[entries]}: the one scan entry that holds every threat. */
static int threat_json_scan(yajl_gen g, const ThreatList *l) {
        int r;

        r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_string(g, "threats");
        if (r >= 0)
                r = format_json_open_array(g);
        for (size_t i = 0; i < l->n && r >= 0; i++)
                r = threat_json_entry(g, &l->items[i]);
        if (r >= 0)
                r = format_json_close_array(g);
        if (r >= 0)
                r = format_json_close_object(g);
        return r;
}

/* [{"threats":[entries]}], or [] without threats. */
static int threat_json_scans(yajl_gen g, const ThreatList *l) {
        int r;

        r = format_json_open_array(g);
        if (r >= 0 && l->n > 0)
                r = threat_json_scan(g, l);
        if (r >= 0)
                r = format_json_close_array(g);
        return r;
}

int threat_format_list_json(const ThreatList *l, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_string(g, "threats");
        if (r >= 0)
                r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_string(g, "scans");
        if (r >= 0)
                r = threat_json_scans(g, l);
        if (r >= 0)
                r = format_json_close_object(g);
        if (r >= 0)
                r = format_json_close_object(g);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}

/* Threats.ListHistory into l's threats. */
static int threat_history_fetch(sd_bus *bus, ThreatList *l) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = bus_new_call(bus, MDATP_OBJECT_THREATS, MDATP_IFACE_THREATS, "ListHistory", &m);
        if (r < 0)
                return r;
        r = bus_call(bus, m, BUS_WHAT_READ_THREATS, &reply);
        if (r < 0)
                return r;
        r = threat_list_attach_history(reply, l);
        return r < 0 ? bus_report_bad_reply(r) : 0;
}

/* Prints out (text, or JSON with a newline) or reports the formatting failure r. */
static int threat_list_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(threat_list_done) ThreatList l = THREAT_LIST_INIT;
        _cleanup_free_ char *out = NULL;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = bus_call_no_args(MDATP_OBJECT_THREATS, MDATP_IFACE_THREATS, "List", BUS_WHAT_READ_THREATS, &bus, &reply);
        if (r < 0)
                return r;
        r = threat_list_read(reply, &l);
        if (r < 0)
                return bus_report_bad_reply(r);
        if (inv->json) {
                r = threat_history_fetch(bus, &l);
                if (r < 0)
                        return r;
        }
        r = inv->json ? threat_format_list_json(&l, &out) : threat_format_list_text(&l, &out);
        return bus_print_formatted(r, out, inv->json, "threats");
}

static int threat_get_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(threat_done) Threat t = {};
        _cleanup_free_ char *out = NULL;
        CliFlag flags[] = {
                { .name = "--id", .required = true },
        };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_new_call(bus, MDATP_OBJECT_THREATS, MDATP_IFACE_THREATS, "Get", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", flags[0].value);
        if (r < 0)
                return bus_report_append(r);
        /* An unknown id is the daemon's NotFound, printed as is. */
        r = bus_call(bus, m, BUS_WHAT_READ_THREATS, &reply);
        if (r < 0)
                return r;
        r = threat_read(reply, &t);
        if (r < 0)
                return bus_report_bad_reply(r);
        if (inv->json) {
                ThreatList one = { .items = &t, .n = 1 };
                r = threat_history_fetch(bus, &one);
                if (r < 0)
                        return r;
        }
        r = inv->json ? threat_format_json(&t, &out) : threat_format_text(&t, &out);
        return bus_print_formatted(r, out, inv->json, "threats");
}

const CliVerb threat_verbs[] = {
        { .name = "allowed", .description = "Threat names that are never blocked",
          .children = threat_allowed_verbs },
        { .name = "get", .description = "Details of one threat", .usage = "--id <threat-id>",
          .run = threat_get_run },
        { .name = "list", .description = "Every threat detected (protection history)",
          .usage = "[--output json]", .run = threat_list_run },
        { .name = "policy", .description = "What happens to each threat type",
          .children = threat_policy_verbs },
        { .name = "quarantine", .description = "Quarantined files",
          .children = threat_quarantine_verbs },
        {}
};
