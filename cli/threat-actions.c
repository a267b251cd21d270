/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp threat quarantine|allowed|policy ...`: what an administrator does about threats, on
 * com.microsoft.Mdatp1.Threats. Text for people, `--output json` for scripts. Owns no state.
 *
 *   threat quarantine list | add --id ID | remove --id ID | remove-all
 *   threat quarantine restore threat-id --id ID [--destination-path DIR]
 *   threat quarantine restore threat-path --path ORIGINAL [--destination-path DIR]
 *   threat quarantine restore --id ID --path DIR          (the older form)
 *   threat allowed add|remove --name NAME | list
 *   threat policy set --type potentially_unwanted_application|archive_bomb
 *                     --action block|audit|off | list
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus.h"
#include "format.h"
#include "report.h"
#include "threat.h"
#include "util/macro.h"

#define BUS_WHAT_CHANGE_THREATS "Changing threats"

/* Threats.<member>(args by signature) and its reply. */
static int threats_call(const char *member, const char *what, sd_bus_message **ret_reply,
                        const char *signature, ...) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_new_call(bus, MDATP_OBJECT_THREATS, MDATP_IFACE_THREATS, member, &m);
        if (r < 0)
                return r;
        if (signature) {
                va_start(ap, signature);
                r = sd_bus_message_appendv(m, signature, ap);
                va_end(ap);
                if (r < 0)
                        return bus_report_append(r);
        }
        return bus_call(bus, m, what, ret_reply);
}

/* ---- list views ------------------------------------------------------------------------------ */

/* A list reply rendered both ways at once: {"<key>":[rows]} and one text block per row. */
typedef struct ListOutput {
        yajl_gen g;
        FILE *f;
        char *buf;
        size_t size;
        size_t n;                       /* rows */
} ListOutput;

/* Appends one row, read from m (positioned on it), to both outputs. > 0 a row, 0 the end. */
typedef int (*ListRow)(sd_bus_message *m, ListOutput *o);

/* Reads the array of rows (signature row_signature) from reply; *ret gets the JSON or the text
 * (empty_text when there are no rows). Caller frees. */
static int list_format(sd_bus_message *reply, const char *row_signature, const char *key,
                       ListRow row, const char *empty_text, bool json, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = format_json_new();
        ListOutput o = { .g = g };
        int r;

        o.f = open_memstream(&o.buf, &o.size);
        r = g && o.f ? 0 : -ENOMEM;
        if (r >= 0)
                r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_string(g, key);
        if (r >= 0)
                r = format_json_open_array(g);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', row_signature);
        while (r > 0 && (r = row(reply, &o)) > 0)
                o.n++;
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = format_json_close_array(g);
        if (r >= 0)
                r = format_json_close_object(g);
        if (o.f && r >= 0 && o.n == 0)
                (void) fputs(empty_text, o.f);
        if (o.f && fclose(o.f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r >= 0 && json)
                r = format_json_take(g, ret);
        if (r < 0 || json) {
                free(o.buf);
                return r < 0 ? r : 0;
        }
        *ret = o.buf;
        return 0;
}

/* ---- quarantine ------------------------------------------------------------------------------ */

static int quarantine_row(sd_bus_message *m, ListOutput *o) {
        const char *id, *name, *path, *sha;
        _cleanup_free_ char *qpath = NULL, *qname = NULL;
        char stamp[FORMAT_TIMESTAMP_MAX];
        uint64_t bytes, when;
        int r;

        r = sd_bus_message_read(m, "(sssstt)", &id, &name, &path, &sha, &bytes, &when);
        if (r <= 0)
                return r;
        r = format_json_open_object(o->g);
        if (r >= 0)
                r = format_json_pair_string(o->g, "id", id);
        if (r >= 0)
                r = format_json_pair_string(o->g, "name", name);
        if (r >= 0)
                r = format_json_pair_string(o->g, "originalPath", path);
        if (r >= 0)
                r = format_json_pair_string(o->g, "sha256", sha);
        if (r >= 0)
                r = format_json_pair_uint(o->g, "size", bytes);
        if (r >= 0)
                r = format_json_pair_date(o->g, "quarantineTime", when);
        if (r >= 0)
                r = format_json_close_object(o->g);
        if (r >= 0)
                r = format_json_quote(path, &qpath);
        if (r >= 0)
                r = format_json_quote(name, &qname);
        if (r >= 0)
                r = format_timestamp(when, stamp, sizeof(stamp));
        if (r < 0)
                return r;
        (void) fprintf(o->f, "%sId: \"%s\"\nName: %s\nOriginal path: %s\nQuarantine time: \"%s\"\n"
                       "Size: %" PRIu64 "\nSHA-256: \"%s\"\n", o->n > 0 ? "\n" : "", id, qname,
                       qpath, stamp, bytes, sha);
        return 1;
}

static int quarantine_list_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *out = NULL;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = threats_call("ListQuarantined", BUS_WHAT_READ_THREATS, &reply, NULL);
        if (r < 0)
                return r;
        r = list_format(reply, "(sssstt)", "quarantinedFiles", quarantine_row,
                        "No quarantined files\n", inv->json, &out);
        return bus_print_formatted(r, out, inv->json, "quarantined files");
}

/* add and remove: one --id, one method, one message. */
typedef struct ThreatIdVerb {
        const char *member;
        const char *done_before;        /* printed before the id ... */
        const char *done_after;         /* ... and after it */
} ThreatIdVerb;

static int threat_id_run(const CliInvocation *inv) {
        const ThreatIdVerb *v = inv->verb->userdata;
        CliFlag flags[] = { { .name = "--id", .required = true } };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        r = threats_call(v->member, BUS_WHAT_CHANGE_THREATS, NULL, "s", flags[0].value);
        if (r < 0)
                return r;
        printf("%s%s%s\n", v->done_before, flags[0].value, v->done_after);
        return 0;
}

static int quarantine_remove_all_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t n;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = threats_call("RemoveAll", BUS_WHAT_CHANGE_THREATS, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "u", &n);
        if (r < 0)
                return bus_report_bad_reply(r);
        printf("%" PRIu32 " quarantined file(s) removed\n", n);
        return 0;
}

static int quarantine_restore_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        CliFlag flags[] = {
                { .name = NULL },               /* threat-id | threat-path */
                { .name = "--id" },
                { .name = "--path" },
                { .name = "--destination-path" },
        };
        const char *form, *id, *path, *destination, *restored;
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        form = flags[0].value;
        id = flags[1].value;
        path = flags[2].value;
        destination = flags[3].value;

        if (form && streq(form, "threat-path")) {
                if (!path || id)
                        return args_usage_error(inv, "restore threat-path takes --path "
                                                "<original path> and no --id.");
                r = threats_call("RestoreByPath", BUS_WHAT_CHANGE_THREATS, &reply, "ss", path,
                                 destination ?: "");
        } else if (form && streq(form, "threat-id")) {
                if (!id || path)
                        return args_usage_error(inv, "restore threat-id takes --id <threat-id> "
                                                "and no --path.");
                r = threats_call("Restore", BUS_WHAT_CHANGE_THREATS, &reply, "ss", id,
                                 destination ?: "");
        } else if (!form) {
                /* The older form: --path names the destination folder. */
                if (!id || (!path && !destination))
                        return args_usage_error(inv, "restore takes threat-id --id <threat-id>, "
                                                "threat-path --path <original path>, or --id "
                                                "<threat-id> --path <destination folder>.");
                r = threats_call("Restore", BUS_WHAT_CHANGE_THREATS, &reply, "ss", id,
                                 destination ?: path);
        } else
                return args_invalid_value(form, "restore",
                                          (const char * const[]) { "threat-id", "threat-path",
                                                                   NULL });
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &restored);
        if (r < 0)
                return bus_report_bad_reply(r);
        printf("Threat restored to \"%s\"\n", restored);
        return 0;
}

static const ThreatIdVerb quarantine_add = { "Quarantine", "Threat ", " quarantined" };
static const ThreatIdVerb quarantine_remove = { "Remove", "Quarantined file of threat ",
                                                " removed" };

const CliVerb threat_quarantine_verbs[] = {
        { .name = "add", .description = "Quarantine a detected threat's file",
          .usage = "--id <threat-id>", .run = threat_id_run, .userdata = &quarantine_add },
        { .name = "list", .description = "Quarantined files", .usage = "[--output json]",
          .run = quarantine_list_run },
        { .name = "remove", .description = "Delete a quarantined file for good",
          .usage = "--id <threat-id>", .run = threat_id_run, .userdata = &quarantine_remove },
        { .name = "remove-all", .description = "Empty the quarantine",
          .run = quarantine_remove_all_run },
        { .name = "restore", .description = "Put a quarantined file back",
          .usage = "threat-id --id <threat-id> [--destination-path <dir>] | threat-path --path "
                   "<original path> [--destination-path <dir>]",
          .run = quarantine_restore_run },
        {}
};

/* ---- allowed names --------------------------------------------------------------------------- */

typedef struct AllowVerb {
        const char *member;
        const char *done;
} AllowVerb;

static int allowed_change_run(const CliInvocation *inv) {
        const AllowVerb *v = inv->verb->userdata;
        CliFlag flags[] = { { .name = "--name", .required = true } };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        r = threats_call(v->member, BUS_WHAT_CHANGE_THREATS, NULL, "s", flags[0].value);
        if (r < 0)
                return r;
        printf("%s\n", v->done);
        return 0;
}

static int allowed_row(sd_bus_message *m, ListOutput *o) {
        const char *name;
        int managed, r;

        r = sd_bus_message_read(m, "(sb)", &name, &managed);
        if (r <= 0)
                return r;
        r = format_json_string(o->g, name);
        if (r < 0)
                return r;
        (void) fprintf(o->f, "%s%s\n", name, managed ? " [managed]" : "");
        return 1;
}

static int allowed_list_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *out = NULL;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = threats_call("ListAllowed", BUS_WHAT_READ_THREATS, &reply, NULL);
        if (r < 0)
                return r;
        r = list_format(reply, "(sb)", "allowedThreats", allowed_row, "No allowed threats\n",
                        inv->json, &out);
        return bus_print_formatted(r, out, inv->json, "allowed threats");
}

static const AllowVerb allowed_add = { "AllowName", "Threat name allowed successfully" };
static const AllowVerb allowed_remove = { "DisallowName",
                                          "Threat name removed from the allowed list" };

const CliVerb threat_allowed_verbs[] = {
        { .name = "add", .description = "Never block threats of this name",
          .usage = "--name <threat name>", .run = allowed_change_run, .userdata = &allowed_add },
        { .name = "list", .description = "Allowed threat names", .usage = "[--output json]",
          .run = allowed_list_run },
        { .name = "remove", .description = "Block threats of this name again",
          .usage = "--name <threat name>", .run = allowed_change_run,
          .userdata = &allowed_remove },
        {}
};

/* ---- type policies --------------------------------------------------------------------------- */

static const char * const policy_types[] = { "potentially_unwanted_application", "archive_bomb",
                                             NULL };
static const char * const policy_actions[] = { "block", "audit", "off", NULL };

static int policy_set_run(const CliInvocation *inv) {
        CliFlag flags[] = {
                { .name = "--type", .required = true },
                { .name = "--action", .required = true },
        };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        if (args_lookup(policy_types, flags[0].value) < 0)
                return args_invalid_value(flags[0].value, "--type", policy_types);
        if (args_lookup(policy_actions, flags[1].value) < 0)
                return args_invalid_value(flags[1].value, "--action", policy_actions);
        r = threats_call("SetTypePolicy", BUS_WHAT_CHANGE_THREATS, NULL, "ss", flags[0].value,
                         flags[1].value);
        if (r < 0)
                return r;
        printf("Configuration property updated\n");
        return 0;
}

static int policy_row(sd_bus_message *m, ListOutput *o) {
        const char *type, *action;
        int managed, r;

        r = sd_bus_message_read(m, "(ssb)", &type, &action, &managed);
        if (r <= 0)
                return r;
        r = format_json_open_object(o->g);
        if (r >= 0)
                r = format_json_pair_string(o->g, "key", type);
        if (r >= 0)
                r = format_json_pair_string(o->g, "value", action);
        if (r >= 0)
                r = format_json_pair_bool(o->g, "managed", managed);
        if (r >= 0)
                r = format_json_close_object(o->g);
        if (r < 0)
                return r;
        (void) fprintf(o->f, "%s: %s%s\n", type, action, managed ? " [managed]" : "");
        return 1;
}

static int policy_list_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *out = NULL;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = threats_call("ListTypePolicies", BUS_WHAT_READ_THREATS, &reply, NULL);
        if (r < 0)
                return r;
        r = list_format(reply, "(ssb)", "threatTypeSettings", policy_row, "", inv->json, &out);
        return bus_print_formatted(r, out, inv->json, "threat type policies");
}

const CliVerb threat_policy_verbs[] = {
        { .name = "list", .description = "The action per threat type", .usage = "[--output json]",
          .run = policy_list_run },
        { .name = "set", .description = "Set the action for a threat type",
          .usage = "--type potentially_unwanted_application|archive_bomb --action "
                   "block|audit|off",
          .run = policy_set_run },
        {}
};
