/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Asynchronous polkit checks for method handlers.
 *
 * The first time a handler asks, a CheckAuthorization call goes to polkitd and the handler
 * returns without replying. When polkitd answers, the verdict is stored in the registry and
 * the original message is put back into the bus's read queue; the handler then runs again and
 * this time finds the verdict. The main loop never waits for polkitd.
 *
 * Owns: the registry of pending and answered queries (one per method call message). Callers
 * with euid 0, taken from the credentials the bus attached to the message, pass without a
 * query. When polkitd cannot be reached the answer is no.
 */
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/log.h"

typedef struct PolkitQuery PolkitQuery;
struct PolkitQuery {
        PolkitQuery *next;
        sd_bus_message *request;        /* the method call waiting for the verdict */
        sd_bus_slot *slot;              /* the pending CheckAuthorization, NULL once answered */
        char *action;
        bool done;
        bool authorized;
        sd_bus_error error;             /* set when polkitd could not answer */
};

struct PolkitRegistry {
        PolkitQuery *queries;
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        free(q->action);
        return mfree(q);
}

static void polkit_registry_remove(PolkitRegistry *r, PolkitQuery *q) {
        for (PolkitQuery **p = &r->queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        polkit_query_free(q);
                        return;
                }
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        if (!r)
                return NULL;
        while (r->queries)
                polkit_registry_remove(r, r->queries);
        return mfree(r);
}

static PolkitQuery *polkit_registry_find(PolkitRegistry *r, sd_bus_message *request) {
        for (PolkitQuery *q = r ? r->queries : NULL; q; q = q->next)
                if (q->request == request)
                        return q;
        return NULL;
}

static int polkit_reply_handler(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized, challenge, r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->done = true;

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("polkit could not be asked about '%s': %s", q->action, e->message);
                (void) sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "The authorization service (polkit) is unavailable "
                                         "(%s); only root can do this until it runs again",
                                         e->message ?: e->name);
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0)
                        (void) sd_bus_error_set_errnof(&q->error, r,
                                                       "Bad reply from polkit: %m");
                else
                        q->authorized = authorized;
        }

        /* Dispatch the original call again; the handler finds the verdict this time. */
        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0)
                log_error_errno(r, "Failed to requeue a method call after polkit answered: %m");
        return 0;
}

static int polkit_query_send(sd_bus_message *request, const char *action, PolkitQuery *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(request);
        const char *sender = sd_bus_message_get_sender(request);
        int r;

        if (!sender)
                return -EBADMSG;

        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority",
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender,
                                  action);
        if (r < 0)
                return r;
        /* Details, then flags: 1 = allow interaction when the caller asked for it. */
        r = sd_bus_message_append(call, "a{ss}us", 0,
                                  (uint32_t) sd_bus_message_get_allow_interactive_authorization(
                                          request),
                                  "");
        if (r < 0)
                return r;

        /* polkit may wait for an authentication agent; give it the default D-Bus timeout. */
        return sd_bus_call_async(bus, &q->slot, call, polkit_reply_handler, q, 0);
}

int bus_caller_is_root(sd_bus_message *message) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t euid;
        int r;

        /* Only what the bus itself attests counts: no /proc look-ups that a caller could
         * race. */
        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0)
                return r;
        return euid == 0;
}

/* The verdict for message and action: 1 authorised (root, or polkit said yes), 0 when a query
 * was sent (the message comes back), -EACCES with *error untouched when polkit said no, another
 * negative errno with *error set when polkit could not answer or on failure. */
static int polkit_verdict(sd_bus_message *message, const char *action, PolkitRegistry **registry,
                          sd_bus_error *error) {
        PolkitQuery *q;
        int r;

        r = bus_caller_is_root(message);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r,
                                               "Could not establish the caller's identity: %m");
        if (r > 0)
                return 1;

        q = polkit_registry_find(*registry, message);
        if (q) {
                if (!q->done)
                        return 0;       /* still waiting; should not happen */
                if (!streq(q->action, action)) {
                        polkit_registry_remove(*registry, q);
                        return sd_bus_error_set_errnof(error, -ESTALE,
                                                       "Authorization changed while asked");
                }
                if (sd_bus_error_is_set(&q->error)) {
                        r = sd_bus_error_copy(error, &q->error);
                        polkit_registry_remove(*registry, q);
                        return r < 0 ? r : -EACCES;
                }
                bool ok = q->authorized;
                polkit_registry_remove(*registry, q);
                return ok ? 1 : -EACCES;
        }

        if (!*registry) {
                *registry = calloc(1, sizeof(PolkitRegistry));
                if (!*registry)
                        return -ENOMEM;
        }
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(message);
        q->action = strdup(action);
        if (!q->action) {
                polkit_query_free(q);
                return -ENOMEM;
        }

        r = polkit_query_send(message, action, q);
        if (r < 0) {
                polkit_query_free(q);
                return sd_bus_error_set_errnof(error, r,
                                               "Could not ask the authorization service "
                                               "(polkit): %m");
        }
        q->next = (*registry)->queries;
        (*registry)->queries = q;
        return 0;
}

int bus_verify_polkit_async(sd_bus_message *message, const char *action, const char *what,
                            PolkitRegistry **registry, sd_bus_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = polkit_verdict(message, action, registry, &e);
        if (r >= 0)
                return r;
        /* polkitd's own explanation (unreachable, bad reply) is worth more than ours. */
        if (sd_bus_error_is_set(&e)) {
                (void) sd_bus_error_move(error, &e);
                return r;
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "%s requires administrator privileges (polkit action "
                                 "%s denied); run it as root or with sudo",
                                 what, action);
}

int bus_test_polkit_async(sd_bus_message *message, const char *action,
                          PolkitRegistry **registry) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = polkit_verdict(message, action, registry, &e);
        if (r == -ENOMEM)
                return r;
        /* Fail closed: no answer from polkitd, or no identity, is no grant. */
        if (r < 0)
                return BUS_POLKIT_DENIED;
        return r == 1 ? BUS_POLKIT_GRANTED : BUS_POLKIT_PENDING;
}
