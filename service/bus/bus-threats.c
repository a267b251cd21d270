/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * com.microsoft.Mdatp1.Threats on /com/microsoft/Mdatp1/Threats: the threat history, the
 * quarantine, allowed threat names, type policies and the ThreatDetected signal. Parsing, polkit
 * and replies only; manager-threats.c does the work.
 */
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/strv.h"

#define THREATS_PATH MDATP_OBJECT_THREATS
#define THREATS_IFACE "com.microsoft.Mdatp1.Threats"

/* D-Bus strings are UTF-8 and Linux file names need not be: such paths travel percent-escaped
 * (threat_path_escape()), which is reversible and readable. */

/* The "path" of List, Get and ThreatDetected, whose signatures predate the member field: the
 * file, and "->" and the member for a detection inside an archive. A display string built here,
 * at the last step, for people and older clients; the daemon never reads it back (a file name
 * may contain "->" too), and ListLocations gives the two apart. */
static int threat_display_path(const Threat *t, char **ret) {
        _cleanup_free_ char *path = NULL, *member = NULL;
        int r;

        r = threat_path_escape(t->path, &path);
        if (r < 0)
                return r;
        if (!t->member) {
                *ret = TAKE_PTR(path);
                return 0;
        }
        r = threat_path_escape(t->member, &member);
        if (r < 0)
                return r;
        return asprintf(ret, "%s->%s", path, member) < 0 ? -ENOMEM : 0;
}

static int append_threat(sd_bus_message *reply, const Threat *t) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = threat_display_path(t, &path);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "(ssssstss)", t->id, t->name, t->type, path,
                                     t->sha256, t->detected, threat_source_to_string(t->source),
                                     threat_status_to_string(t->status));
}

/* Paths and hashes of detections say what is in other users' private directories: reading
 * them needs root or the read-details action. 1 allowed, 0 polkit asked, negative refused. */
static int verify_read(sd_bus_message *message, BusContext *b, sd_bus_error *error) {
        return bus_verify_polkit_async(message, MDATP_POLKIT_READ_DETAILS,
                                       "Reading threat details (paths and hashes)",
                                       &b->polkit_registry, error);
}

static int method_list(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = verify_read(message, b, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssssstss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < threat_store_count(m->threats); i++) {
                r = append_threat(reply, threat_store_at(m->threats, i));
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        const Threat *t;
        const char *id;
        int r;

        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        r = verify_read(message, b, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        t = threat_store_get(m->threats, id);
        if (!t)
                return sd_bus_error_setf(error, MDATP_ERROR_NOT_FOUND,
                                         "No threat with id '%s'; 'mdatp threat list' shows them",
                                         id);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = append_threat(reply, t);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_history(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = verify_read(message, b, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sa(tss))");
        for (size_t i = 0; r >= 0 && i < threat_store_count(m->threats); i++) {
                const Threat *t = threat_store_at(m->threats, i);

                r = sd_bus_message_open_container(reply, 'r', "sa(tss)");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", t->id);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "(tss)");
                for (size_t k = 0; r >= 0 && k < t->n_history; k++)
                        r = sd_bus_message_append(reply, "(tss)", t->history[k].time,
                                                  threat_status_to_string(t->history[k].status),
                                                  t->history[k].detail ?: "");
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Outcomes of the manager's threat functions as D-Bus errors; 0 is for the caller. */
static int threat_error(Manager *m, int r, const char *what, const char *text,
                        sd_bus_error *error) {
        switch (r) {
        case MANAGER_THREAT_NOT_FOUND:
                return sd_bus_error_setf(error, MDATP_ERROR_NOT_FOUND, "%s", what);
        case MANAGER_THREAT_DISALLOWED:
                return sd_bus_error_setf(error, MDATP_ERROR_ACTION_DISALLOWED, "%s",
                                         text ?: "disallowed by the managed policy");
        case MANAGER_THREAT_REFUSED:
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", text ?: what);
        case MANAGER_THREAT_BUSY:
                return sd_bus_error_setf(error, MDATP_ERROR_BUSY, "%s", text ?: what);
        case MANAGER_SETTING_MANAGED:
        case MANAGER_SETTING_ADMIN_ONLY:
                return sd_bus_error_setf(error, MDATP_ERROR_MANAGED_BY_POLICY,
                                         "The managed policy ('%s') sets this; only that file "
                                         "can change it", m->managed_path);
        case MANAGER_SETTING_INVALID:
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT, "%s",
                                         text ?: what);
        case MANAGER_SETTING_TOO_LARGE:
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "%s",
                                         text ?: what);
        default:
                return r < 0 ? r : -EIO;
        }
}

static int verify(sd_bus_message *message, BusContext *b, const char *what, sd_bus_error *error) {
        return bus_verify_polkit_async(message, MDATP_POLKIT_MANAGE_THREATS, what,
                                       &b->polkit_registry, error);
}

/* The command was started: the answer comes with its REQUEST_FINISHED. */
static int request_wait(BusContext *b, uint64_t request, BusRequestKind kind,
                        sd_bus_message *message) {
        int r = bus_context_add_request(b, request, kind, message);

        return r < 0 ? r : 1;
}

static int method_quarantine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        uint64_t request = 0;
        const char *id;
        int r;

        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        r = verify(message, b, "Quarantining a threat", error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = manager_threat_quarantine(m, id, &request, &text);
        if (r == MANAGER_THREAT_NOT_FOUND)
                return sd_bus_error_setf(error, MDATP_ERROR_NOT_FOUND, "No threat with id '%s'; "
                                         "'mdatp threat list' shows them", id);
        if (r != 0)
                return threat_error(m, r, "Not quarantined", text, error);
        return request_wait(b, request, BUS_REQUEST_THREAT_QUARANTINE, message);
}

static int method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL, *what = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        const char *id;
        int r;

        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        r = verify(message, b, "Deleting a quarantined file", error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = manager_threat_remove(m, id, &text);
        if (r != 0) {
                if (asprintf(&what, "No quarantined file for threat '%s'; 'mdatp threat "
                             "quarantine list' shows them", id) < 0)
                        return -ENOMEM;
                return threat_error(m, r, what, text, error);
        }
        return sd_bus_reply_method_return(message, NULL);
}

static int method_remove_all(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BusContext *b = userdata;
        Manager *m = b->manager;
        unsigned n = 0;
        int r;

        r = verify(message, b, "Emptying the quarantine", error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = manager_threat_remove_all(m, &n);
        if (r != 0)
                return threat_error(m, r, "The quarantine is not available", NULL, error);
        return sd_bus_reply_method_return(message, "u", n);
}

static int reply_restored(sd_bus_message *message, const char *path) {
        _cleanup_free_ char *escaped = NULL;
        int r;

        r = threat_path_escape(path, &escaped);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "s", escaped);
}

/* The caller's groups as the bus daemon attests them (GetConnectionCredentials' UnixGroupIDs:
 * primary and supplementary, from the kernel's SO_PEERGROUPS or the group database). sd-bus does
 * not pass them on, so ask the bus daemon directly, as sd_bus_query_sender_creds() itself does for
 * the uid. *ret_groups is the caller's. -ENODATA when the bus daemon does not say. */
static int caller_groups(sd_bus_message *message, gid_t **ret_groups, size_t *ret_n,
                         sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const uint32_t *ids;
        const char *key;
        size_t size;
        int r;

        r = sd_bus_call_method(sd_bus_message_get_bus(message), "org.freedesktop.DBus",
                               "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionCredentials", error, &reply, "s",
                               sd_bus_message_get_sender(message));
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0 && streq(key, "UnixGroupIDs")) {
                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r >= 0)
                                r = sd_bus_message_read_array(reply, 'u', (const void **) &ids,
                                                              &size);
                        if (r < 0)
                                return r;
                        if (size == 0)
                                return -ENODATA;
                        *ret_groups = malloc(size);
                        if (!*ret_groups)
                                return -ENOMEM;
                        memcpy(*ret_groups, ids, size);
                        *ret_n = size / sizeof(uint32_t);
                        return 0;
                }
                if (r >= 0)
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        return r < 0 ? r : -ENODATA;
}

/* Who asked for a restore, from the credentials the bus attests (never from /proc, which the
 * caller could race): the file goes only where that user could create it. The gid the file gets
 * is the original's when the caller belongs to that group, else the first of the caller's
 * groups: the bus does not say which is the primary one, and the caller could chown the file to
 * any of them. *ret's group list points into *ret_groups, which the caller frees. */
static int restore_caller(sd_bus_message *message, QuarantineCaller *ret, gid_t **ret_groups,
                          sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        size_t n = 0;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Could not establish the caller's "
                                               "identity: %m");
        if (uid == 0) {
                *ret = (QuarantineCaller) {};
                return 0;
        }
        /* Without its groups the caller's rights are unknown: refuse rather than guess. */
        r = caller_groups(message, &groups, &n, error);
        if (r < 0)
                return sd_bus_error_is_set(error) ? r :
                       sd_bus_error_set_errnof(error, r, "The bus did not say which groups the "
                                               "caller is in, so not where they may write "
                                               "(%m); restore as root");
        *ret = (QuarantineCaller) { .uid = uid, .gid = groups[0], .groups = groups,
                                    .n_groups = n };
        *ret_groups = TAKE_PTR(groups);
        return 0;
}

static int method_restore(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL, *what = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        QuarantineCaller caller;
        BusContext *b = userdata;
        Manager *m = b->manager;
        uint64_t request = 0;
        const char *id, *destination;
        int r;

        r = sd_bus_message_read(message, "ss", &id, &destination);
        if (r < 0)
                return r;
        r = verify(message, b, "Restoring a quarantined file", error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = restore_caller(message, &caller, &groups, error);
        if (r < 0)
                return r;
        r = manager_threat_restore(m, id, destination, &caller, &request, &text);
        if (r != 0) {
                if (asprintf(&what, "No quarantined file for threat '%s'; 'mdatp threat "
                             "quarantine list' shows them", id) < 0)
                        return -ENOMEM;
                return threat_error(m, r, what, text, error);
        }
        return request_wait(b, request, BUS_REQUEST_THREAT_RESTORE, message);
}

static int method_restore_by_path(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL, *what = NULL, *decoded = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        QuarantineCaller caller;
        BusContext *b = userdata;
        Manager *m = b->manager;
        uint64_t request = 0;
        const char *original, *destination;
        int r;

        r = sd_bus_message_read(message, "ss", &original, &destination);
        if (r < 0)
                return r;
        r = verify(message, b, "Restoring a quarantined file", error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = restore_caller(message, &caller, &groups, error);
        if (r < 0)
                return r;
        /* A path is listed as it is when it is UTF-8 (a '%' in it included) and percent-escaped
         * when not: the path as given first, then as decoded. */
        r = manager_threat_restore_by_path(m, original, destination, &caller, &request, &text);
        if (r == MANAGER_THREAT_NOT_FOUND && threat_path_unescape(original, &decoded) >= 0 &&
            !streq(decoded, original))
                r = manager_threat_restore_by_path(m, decoded, destination, &caller, &request,
                                                   &text);
        if (r != 0) {
                if (asprintf(&what, "No quarantined file was at '%s'; 'mdatp threat quarantine "
                             "list' shows them", original) < 0)
                        return -ENOMEM;
                return threat_error(m, r, what, text, error);
        }
        return request_wait(b, request, BUS_REQUEST_THREAT_RESTORE, message);
}

int bus_reply_threat_request(BusContext *b, sd_bus_message *call, BusRequestKind kind,
                             const ManagerRequestResult *res) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (res->r == 0)
                return kind == BUS_REQUEST_THREAT_RESTORE ?
                       reply_restored(call, res->result) :
                       sd_bus_reply_method_return(call, NULL);
        /* Only refusals and errors come this late: the lookups answered at once. */
        r = threat_error(b->manager, res->r, kind == BUS_REQUEST_THREAT_RESTORE ?
                         "Not restored" : "Not quarantined", res->message, &error);
        if (sd_bus_error_is_set(&error))
                return sd_bus_reply_method_error(call, &error);
        return sd_bus_reply_method_errno(call, r, NULL);
}

/* Where each threat is, as separate fields: id, the file (the archive for a detection inside
 * one) and the member inside it ("" for the file itself). */
static int method_list_locations(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = verify_read(message, b, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < threat_store_count(m->threats); i++) {
                const Threat *t = threat_store_at(m->threats, i);
                _cleanup_free_ char *path = NULL, *member = NULL;

                r = threat_path_escape(t->path, &path);
                if (r >= 0 && t->member)
                        r = threat_path_escape(t->member, &member);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "(sss)", t->id, path, member ?: "");
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_quarantined(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        int r;

        r = verify_read(message, b, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssstt)");
        if (r < 0)
                return r;
        for (size_t i = 0; m->quarantine && i < quarantine_store_count(m->quarantine); i++) {
                const QuarantineEntry *e = quarantine_store_at(m->quarantine, i);
                _cleanup_free_ char *path = NULL;

                r = threat_path_escape(e->original_path, &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "(sssstt)", e->id, e->threat_name, path,
                                          e->sha256, e->size, e->quarantined_usec);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_allow(sd_bus_message *message, BusContext *b, bool allow, sd_bus_error *error) {
        Manager *m = b->manager;
        _cleanup_strv_free_ char **changed = NULL;
        _cleanup_free_ char *text = NULL, *what = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (isempty(name))
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "A threat name is required");
        r = verify(message, b, allow ? "Allowing a threat" : "Disallowing a threat", error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = manager_threat_allow(m, name, allow, &text, &changed);
        if (r == 0)
        if (r == 0 || r == MANAGER_SETTING_UNCHANGED)
                return sd_bus_reply_method_return(message, NULL);
        if (asprintf(&what, "'%s' is not an allowed threat name; 'mdatp threat allowed list' "
                     "shows them", name) < 0)
                return -ENOMEM;
        return threat_error(m, r, what, text, error);
}

static int method_allow_name(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_allow(message, userdata, true, error);
}

static int method_disallow_name(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_allow(message, userdata, false, error);
}

static int method_list_allowed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(setting_value_done) SettingValue v = {};
        BusContext *b = userdata;
        Manager *m = b->manager;
        const SettingDef *def = setting_def_find("antivirusEngine.allowedThreats");
        const SettingValue *managed = settings_layer_get(m->settings->managed, def);
        int r;

        r = settings_get(m->settings, def, &v, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sb)");
        if (r < 0)
                return r;
        for (char **s = v.strv; s && *s; s++) {
                r = sd_bus_message_append(reply, "(sb)", *s,
                                          managed && strv_contains(managed->strv, *s));
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_set_type_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const SettingDef *def = setting_def_find("antivirusEngine.threatTypeSettings");
        _cleanup_strv_free_ char **changed = NULL;
        _cleanup_free_ char *text = NULL;
        BusContext *b = userdata;
        Manager *m = b->manager;
        const char *type, *action;
        int r;

        r = sd_bus_message_read(message, "ss", &type, &action);
        if (r < 0)
                return r;
        /* The schema's lists of types and actions, so that both stay one. */
        if (!strv_contains((char **) def->allowed, type))
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Unknown threat type '%s': expected "
                                         "potentially_unwanted_application or archive_bomb", type);
        if (!strv_contains((char **) def->allowed_values, action))
                return sd_bus_error_setf(error, MDATP_ERROR_INVALID_ARGUMENT,
                                         "Unknown action '%s': expected block, audit or off",
                                         action);
        r = verify(message, b, "Changing a threat type policy", error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = manager_threat_type_policy_set(m, type, action, &text, &changed);
        if (r == 0)
        if (r == 0 || r == MANAGER_SETTING_UNCHANGED)
                return sd_bus_reply_method_return(message, NULL);
        return threat_error(m, r, "Invalid threat type policy", text, error);
}

static int method_list_type_policies(sd_bus_message *message, void *userdata,
                                     sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(setting_value_done) SettingValue v = {};
        BusContext *b = userdata;
        Manager *m = b->manager;
        const SettingDef *def = setting_def_find("antivirusEngine.threatTypeSettings");
        const SettingValue *managed = settings_layer_get(m->settings->managed, def);
        int r;

        r = settings_get(m->settings, def, &v, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssb)");
        if (r < 0)
                return r;
        for (size_t i = 0; v.strv && v.strv[i] && v.strv[i + 1]; i += 2) {
                bool is_managed = false;

                for (size_t j = 0; managed && managed->strv && managed->strv[j] &&
                                   managed->strv[j + 1]; j += 2)
                        if (streq(managed->strv[j], v.strv[i]))
                                is_managed = true;
                r = sd_bus_message_append(reply, "(ssb)", v.strv[i], v.strv[i + 1], is_managed);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable bus_threats_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("List",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssssstss)", threats),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Get",
                                SD_BUS_ARGS("s", id),
                                SD_BUS_RESULT("(ssssstss)", threat),
                                method_get, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListLocations",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sss)", locations),
                                method_list_locations, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListHistory",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sa(tss))", histories),
                                method_list_history, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Quarantine",
                                SD_BUS_ARGS("s", id),
                                SD_BUS_NO_RESULT,
                                method_quarantine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Remove",
                                SD_BUS_ARGS("s", id),
                                SD_BUS_NO_RESULT,
                                method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveAll",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("u", removed),
                                method_remove_all, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Restore",
                                SD_BUS_ARGS("s", id, "s", destination),
                                SD_BUS_RESULT("s", path),
                                method_restore, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RestoreByPath",
                                SD_BUS_ARGS("s", original, "s", destination),
                                SD_BUS_RESULT("s", path),
                                method_restore_by_path, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListQuarantined",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sssstt)", files),
                                method_list_quarantined, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AllowName",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_NO_RESULT,
                                method_allow_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DisallowName",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_NO_RESULT,
                                method_disallow_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListAllowed",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sb)", names),
                                method_list_allowed, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetTypePolicy",
                                SD_BUS_ARGS("s", type, "s", action),
                                SD_BUS_NO_RESULT,
                                method_set_type_policy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTypePolicies",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssb)", policies),
                                method_list_type_policies, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("ThreatDetected",
                                SD_BUS_ARGS("s", id, "s", name, "s", type, "s", path,
                                            "s", source),
                                0),
        SD_BUS_VTABLE_END
};

int bus_threat_emit_detected(BusContext *b, const Threat *t) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!b->bus)
                return 0;
        r = threat_display_path(t, &path);
        if (r < 0)
                return r;
        return sd_bus_emit_signal(b->bus, THREATS_PATH, THREATS_IFACE, "ThreatDetected",
                                  "sssss", t->id, t->name, t->type, path,
                                  threat_source_to_string(t->source));
}
