/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp exclusion ...` (see exclusion.h): reading and merging Exclusions.List, the text and JSON
 * views, checking the options of add/remove, and the verbs. Owns no state besides the constant
 * kind table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus.h"
#include "exclusion.h"
#include "format.h"
#include "report.h"
#include "util/macro.h"
#include "util/strv.h"

#define EXCLUSION_SEPARATOR "====================================="

/* How each kind is named in messages, text and JSON. */
typedef struct ExclusionKind {
        const char *kind;               /* on the bus */
        const char *label;              /* "Extension exclusion configured successfully" */
        const char *heading;            /* text block heading */
        const char *value_label;        /* text label of the value */
        const char *json_type;          /* $type */
        const char *json_key;           /* key of the value */
        bool takes_path;                /* --path */
        bool takes_name;                /* --name */
} ExclusionKind;

static const ExclusionKind exclusion_kinds[] = {
        { "extension", "Extension", "Excluded file extension", "Extension",
          "excludedFileExtension", "extension", false, true },
        { "file", "File", "Excluded file", "Path", "excludedPath", "path", true, false },
        { "folder", "Folder", "Excluded folder", "Path", "excludedPath", "path", true, false },
        { "process", "Process", "Excluded process", "Process name", "excludedFileName", "name",
          true, true },
};

static const char * const exclusion_scopes[] = { "epp", "global", NULL };

/* The row of kind, or NULL. */
static const ExclusionKind *exclusion_kind_find(const char *kind) {
        for (size_t i = 0; i < ELEMENTSOF(exclusion_kinds); i++)
                if (streq_ptr(exclusion_kinds[i].kind, kind))
                        return &exclusion_kinds[i];
        return NULL;
}

void exclusion_list_done(ExclusionList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].kind);
                free(l->items[i].value);
                strv_free(l->items[i].scopes);
        }
        free(l->items);
        *l = (ExclusionList) {};
}

/* Appends a copy of src's kind, value and managed flag, without scopes, and returns it. */
static int exclusion_list_append(ExclusionList *l, const Exclusion *src, Exclusion **ret) {
        Exclusion *items, *e;

        items = reallocarray(l->items, l->n + 1, sizeof(Exclusion));
        if (!items)
                return -ENOMEM;
        l->items = items;
        e = &l->items[l->n++];
        *e = (Exclusion) {
                .kind = strdup(src->kind),
                .value = strdup(src->value),
                .managed = src->managed,
        };
        if (!e->kind || !e->value)
                return -ENOMEM;         /* the list owns the half-built item */
        *ret = e;
        return 0;
}

int exclusion_list_add(ExclusionList *l, const char *kind, const char *value, const char *scope,
                       bool managed) {
        Exclusion *e;
        int r;

        r = exclusion_list_append(l, &(Exclusion) {
                        .kind = (char *) kind,
                        .value = (char *) value,
                        .managed = managed,
                }, &e);
        if (r < 0)
                return r;
        return strv_extend(&e->scopes, scope);
}

int exclusion_list_read(sd_bus_message *m, ExclusionList *ret) {
        _cleanup_(exclusion_list_done) ExclusionList l = EXCLUSION_LIST_INIT;
        const char *kind, *value, *scope;
        int managed, r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(sssb)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(sssb)", &kind, &value, &scope, &managed)) > 0) {
                r = exclusion_list_add(&l, kind, value, scope, managed);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = l;
        l = (ExclusionList) {};
        return 0;
}

/* The item of l with e's kind, value and managed flag, or NULL. */
static Exclusion *exclusion_list_find_same(const ExclusionList *l, const Exclusion *e) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].kind, e->kind) && streq(l->items[i].value, e->value) &&
                    l->items[i].managed == e->managed)
                        return &l->items[i];
        return NULL;
}

int exclusion_list_merge(const ExclusionList *l, ExclusionList *ret) {
        _cleanup_(exclusion_list_done) ExclusionList merged = EXCLUSION_LIST_INIT;
        int r;

        for (size_t i = 0; i < l->n; i++) {
                Exclusion *e = exclusion_list_find_same(&merged, &l->items[i]);

                if (!e) {
                        r = exclusion_list_append(&merged, &l->items[i], &e);
                        if (r < 0)
                                return r;
                }
                for (char **s = l->items[i].scopes; s && *s; s++) {
                        if (strv_contains(e->scopes, *s))
                                continue;
                        r = strv_extend(&e->scopes, *s);
                        if (r < 0)
                                return r;
                }
        }
        *ret = merged;
        merged = (ExclusionList) {};
        return 0;
}

/* One block of the text view into f. */
static int exclusion_text_block(FILE *f, const Exclusion *e) {
        const ExclusionKind *k = exclusion_kind_find(e->kind);
        _cleanup_free_ char *quoted = NULL, *scopes = NULL;
        const char *label = k ? k->value_label : "Value";
        int r;

        /* A process given by its full path reads as a path. */
        if (k && streq(k->kind, "process") && e->value[0] == '/')
                label = "Path";
        r = format_json_quote(e->value, &quoted);
        if (r < 0)
                return r;
        scopes = strv_join(e->scopes, ", ");
        if (!scopes)
                return -ENOMEM;

        (void) fprintf(f, EXCLUSION_SEPARATOR "\n");
        if (k)
                (void) fprintf(f, "%s\n", k->heading);
        else
                (void) fprintf(f, "Excluded %s\n", e->kind);
        (void) fprintf(f, "%s: %s\nScope: %s\nIs managed: %s\n", label, quoted, scopes,
                       e->managed ? "true" : "false");
        return 0;
}

int exclusion_format_text(const ExclusionList *l, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        if (l->n == 0) {
                *ret = strdup("No exclusions\n");
                return *ret ? 0 : -ENOMEM;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < l->n && r >= 0; i++)
                r = exclusion_text_block(f, &l->items[i]);
        (void) fprintf(f, EXCLUSION_SEPARATOR "\n");
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

/* One merged item as a JSON object into g. */
static int exclusion_json_object(yajl_gen g, const Exclusion *e) {
        const ExclusionKind *k = exclusion_kind_find(e->kind);
        int r;

        r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_pair_string(g, "$type", k ? k->json_type : e->kind);
        if (r >= 0)
                r = format_json_pair_string(g, k ? k->json_key : "value", e->value);
        if (r >= 0 && k && streq(k->json_type, "excludedPath"))
                r = format_json_pair_bool(g, "isDirectory", streq(k->kind, "folder"));
        if (r >= 0)
                r = format_json_string(g, "scopes");
        if (r >= 0)
                r = format_json_strv(g, e->scopes);
        if (r >= 0)
                r = format_json_pair_bool(g, "isManaged", e->managed);
        if (r >= 0)
                r = format_json_close_object(g);
        return r;
}

int exclusion_format_json(const ExclusionList *l, char **ret) {
        _cleanup_(exclusion_list_done) ExclusionList merged = EXCLUSION_LIST_INIT;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        r = exclusion_list_merge(l, &merged);
        if (r < 0)
                return r;
        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = format_json_open_array(g);
        for (size_t i = 0; i < merged.n && r >= 0; i++)
                r = exclusion_json_object(g, &merged.items[i]);
        if (r >= 0)
                r = format_json_close_array(g);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}

int exclusion_request_check(const char *kind, const ExclusionOptions *o, ExclusionRequest *ret) {
        const ExclusionKind *k = exclusion_kind_find(kind);
        const char *path, *name, *scope = o->scope ?: "epp";

        if (!k)
                return -EINVAL;
        /* Options a kind does not take never reach here: the parser refuses them. */
        path = k->takes_path ? o->path : NULL;
        name = k->takes_name ? o->name : NULL;

        if (path && name)
                return EXCLUSION_CHECK_PATH_AND_NAME;
        if (!path && !name)
                return EXCLUSION_CHECK_MISSING;
        if (args_lookup(exclusion_scopes, scope) < 0)
                return EXCLUSION_CHECK_BAD_SCOPE;
        if (streq(scope, "global") && streq(kind, "extension"))
                return EXCLUSION_CHECK_GLOBAL_EXTENSION;
        if (streq(scope, "global") && name)
                return EXCLUSION_CHECK_GLOBAL_NAME;

        *ret = (ExclusionRequest) {
                .kind = k->kind,
                .value = path ?: name,
                .scope = scope,
        };
        return EXCLUSION_CHECK_OK;
}

const char *exclusion_check_message(ExclusionCheck c, const char *kind) {
        const ExclusionKind *k = exclusion_kind_find(kind);

        switch (c) {
        case EXCLUSION_CHECK_MISSING:
                if (k && k->takes_path && k->takes_name)
                        return "Missing option --path or --name.";
                return k && k->takes_name ? "Missing option --name." : "Missing option --path.";
        case EXCLUSION_CHECK_PATH_AND_NAME:
                return "Options --path and --name cannot be combined.";
        case EXCLUSION_CHECK_BAD_SCOPE:
                return "Invalid value for --scope: expected one of epp, global.";
        case EXCLUSION_CHECK_GLOBAL_EXTENSION:
                return "Extension exclusions apply to the epp scope only.";
        case EXCLUSION_CHECK_GLOBAL_NAME:
                return "Process exclusions in the global scope need the full path: "
                       "use --path.";
        default:
                return NULL;
        }
}

const char *exclusion_success_message(const char *kind, bool add) {
        static const char * const messages[][2] = {
                { "Extension exclusion removed successfully",
                  "Extension exclusion configured successfully" },
                { "File exclusion removed successfully", "File exclusion configured successfully" },
                { "Folder exclusion removed successfully",
                  "Folder exclusion configured successfully" },
                { "Process exclusion removed successfully",
                  "Process exclusion configured successfully" },
        };
        const ExclusionKind *k = exclusion_kind_find(kind);

        if (!k)
                return NULL;
        return messages[k - exclusion_kinds][add];
}

static int exclusion_list_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(exclusion_list_done) ExclusionList l = EXCLUSION_LIST_INIT;
        _cleanup_free_ char *out = NULL;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        r = bus_call_no_args(MDATP_OBJECT_EXCLUSIONS, MDATP_IFACE_EXCLUSIONS, "List", BUS_WHAT_READ_EXCLUSIONS, &bus, &reply);
        if (r < 0)
                return r;
        r = exclusion_list_read(reply, &l);
        if (r < 0)
                return bus_report_bad_reply(r);
        r = inv->json ? exclusion_format_json(&l, &out) : exclusion_format_text(&l, &out);
        return bus_print_formatted(r, out, inv->json, "exclusions");
}

/* A leaf `exclusion <kind> add|remove`: the kind and the method. */
typedef struct ExclusionVerb {
        const char *kind;
        bool add;
} ExclusionVerb;

/* Exclusions.Add or Remove with req. */
static int exclusion_change(const ExclusionRequest *req, bool add) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_new_call(bus, MDATP_OBJECT_EXCLUSIONS, MDATP_IFACE_EXCLUSIONS,
                         add ? "Add" : "Remove", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sss", req->kind, req->value, req->scope);
        if (r < 0)
                return bus_report_append(r);
        return bus_call(bus, m, BUS_WHAT_CHANGE_EXCLUSIONS, NULL);
}

static int exclusion_change_run(const CliInvocation *inv) {
        const ExclusionVerb *v = inv->verb->userdata;
        const ExclusionKind *k = exclusion_kind_find(v->kind);
        CliFlag flags[3], *path = NULL, *name = NULL, *scope;
        ExclusionRequest req;
        size_t n = 0;
        int c, r;

        if (!k)         /* the verb table names a kind the kind table lacks: a bug */
                return report_error(CLI_EXIT_FAILURE, -EINVAL, "Unknown exclusion kind '%s'.",
                                    v->kind);
        /* Only the options the kind takes: any other is an unknown option. */
        if (k->takes_path) {
                flags[n] = (CliFlag) { .name = "--path" };
                path = &flags[n++];
        }
        if (k->takes_name) {
                flags[n] = (CliFlag) { .name = "--name" };
                name = &flags[n++];
        }
        flags[n] = (CliFlag) { .name = "--scope" };
        scope = &flags[n++];
        r = args_parse(inv, flags, n);
        if (r != 0)
                return r < 0 ? r : 0;

        c = exclusion_request_check(v->kind, &(ExclusionOptions) {
                        .path = path ? path->value : NULL,
                        .name = name ? name->value : NULL,
                        .scope = scope->value,
                }, &req);
        if (c == EXCLUSION_CHECK_BAD_SCOPE)
                return args_invalid_value(scope->value, "--scope", exclusion_scopes);
        if (c != EXCLUSION_CHECK_OK)
                return args_usage_error(inv, "%s", exclusion_check_message(c, v->kind) ?: "");

        r = exclusion_change(&req, v->add);
        if (r < 0)
                return r;
        printf("%s\n", exclusion_success_message(v->kind, v->add));
        return 0;
}

#define EXCLUSION_VERBS(prefix, kind_name, use)                                         \
        static const ExclusionVerb prefix##_add = { .kind = kind_name, .add = true };     \
        static const ExclusionVerb prefix##_remove = { .kind = kind_name, .add = false }; \
        static const CliVerb prefix##_verbs[] = {                                         \
                { .name = "add", .description = "Add an exclusion", .usage = use,         \
                  .run = exclusion_change_run, .userdata = &prefix##_add },               \
                { .name = "remove", .description = "Remove an exclusion", .usage = use,   \
                  .run = exclusion_change_run, .userdata = &prefix##_remove },            \
                {}                                                                        \
        }

EXCLUSION_VERBS(exclusion_extension, "extension", "--name <.ext> [--scope epp]");
EXCLUSION_VERBS(exclusion_file, "file", "--path <file> [--scope epp|global]");
EXCLUSION_VERBS(exclusion_folder, "folder", "--path <folder> [--scope epp|global]");
EXCLUSION_VERBS(exclusion_process, "process",
                "--path <executable> [--scope epp|global] | --name <name> [--scope epp]");

const CliVerb exclusion_verbs[] = {
        { .name = "extension", .description = "File extensions excluded from scanning",
          .children = exclusion_extension_verbs },
        { .name = "file", .description = "Files excluded from scanning",
          .children = exclusion_file_verbs },
        { .name = "folder", .description = "Folders excluded from scanning (recursively)",
          .children = exclusion_folder_verbs },
        { .name = "list", .description = "Every exclusion, managed and local",
          .usage = "[--output json]", .run = exclusion_list_run },
        { .name = "process", .description = "Processes whose file activity is not scanned",
          .children = exclusion_process_verbs },
        {}
};
