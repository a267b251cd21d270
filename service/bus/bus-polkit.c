/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Asynchronous polkit checks for method handlers.
 *
 * The first time a handler asks, a CheckAuthorization call goes to polkitd and the handler
 * returns without replying. When polkitd answers, the verdict is stored in the registry and
 * the original message is put back into the bus's read queue; the handler then runs again and
 * this time finds the verdict. The main loop never waits for polkitd.
 *
 * Interaction: polkitd may only ask the caller to authenticate (an agent such as pkttyagent)
 * when the method call carries ALLOW_INTERACTIVE_AUTHORIZATION; then CheckAuthorization gets
 * AllowUserInteraction. Without it, an action that needs authentication ("challenge") is refused
 * with org.freedesktop.DBus.Error.InteractiveAuthorizationRequired, so that the client knows
 * that asking again interactively could succeed.
 *
 * Owns: the registry of pending and answered queries, one per method call, keyed by the call's
 * identity on the bus (sender's unique name and the message cookie) in a fixed open-addressing
 * table: lookups are O(1) and the number of queries is bounded. At most POLKIT_IN_FLIGHT_MAX
 * CheckAuthorization calls are on the bus at once (dbus-daemon refuses more pending replies
 * than max_replies_per_connection, 128 by default, which would read as "polkit unavailable");
 * the rest wait in order and go out as answers come back. A query is freed when its call
 * comes back and reads the verdict, when it cannot be re-queued, or (answered but never read)
 * when the table fills up. Callers with euid 0, taken from the credentials the bus attached to
 * the message, pass without a query. When polkitd cannot be reached the answer is no.
 */
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "mdatp-bus.h"
#include "util/hash.h"
#include "util/log.h"

/* Queries held at once, all callers together: more unanswered calls than this is a flood, not
 * users, and a call beyond it is refused with LimitsExceeded. */
#define POLKIT_QUERIES_MAX 1024U
#define POLKIT_SLOTS (POLKIT_QUERIES_MAX * 2)   /* a power of two; load at most 1/2 */
/* CheckAuthorization calls on the bus at once: well below dbus-daemon's default
 * max_replies_per_connection (128), which counts every pending call of ours. */
#define POLKIT_IN_FLIGHT_MAX 64U

typedef struct PolkitQuery {
        PolkitRegistry *registry;       /* the table holding it */
        struct PolkitQuery *next_waiting; /* in the registry's queue of unsent queries */
        sd_bus_message *request;        /* the method call waiting for the verdict */
        char *sender;                   /* key: the caller's unique name ... */
        uint64_t cookie;                /* ... and the call's cookie */
        uint64_t hash;
        sd_bus_slot *slot;              /* the CheckAuthorization in flight, else NULL */
        char *action;                   /* what was asked: a call that asks another is stale */
        bool done;
        bool authorized;
        bool challenge;                 /* polkit would allow it after authentication */
        sd_bus_error error;             /* set when polkitd could not answer */
} PolkitQuery;

struct PolkitRegistry {
        PolkitQuery *slots[POLKIT_SLOTS];
        unsigned n;
        unsigned n_in_flight;
        PolkitQuery *waiting, *waiting_tail;    /* not sent yet, oldest first */
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        free(q->sender);
        free(q->action);
        return mfree(q);
}

static uint64_t polkit_key_hash(const char *sender, uint64_t cookie) {
        uint64_t h = fnv1a64_add_string(FNV1A64_INIT, sender);

        h = fnv1a64_add(h, &cookie, sizeof(cookie));
        /* FNV's low bits are weak for short keys: mix before masking. */
        h ^= h >> 31;
        h *= UINT64_C(0xbf58476d1ce4e5b9);
        return h ^ (h >> 29);
}

/* The slot holding the query for (sender, cookie), or the empty slot where it would go. */
static size_t polkit_registry_slot(const PolkitRegistry *r, const char *sender, uint64_t cookie,
                                   uint64_t hash) {
        size_t i = hash & (POLKIT_SLOTS - 1);

        /* Terminates: the table is never more than half full. */
        for (;; i = (i + 1) & (POLKIT_SLOTS - 1)) {
                const PolkitQuery *q = r->slots[i];

                if (!q || (q->hash == hash && q->cookie == cookie && streq(q->sender, sender)))
                        return i;
        }
}

/* Takes q out of the table and frees it. Linear probing: later entries of the same run move
 * back so that every lookup still finds its entry without tombstones. */
static void polkit_registry_remove(PolkitRegistry *r, PolkitQuery *q) {
        size_t i = polkit_registry_slot(r, q->sender, q->cookie, q->hash), j = i;

        /* Only answered queries leave the table (pending ones at polkit_registry_free()), so
         * q is on neither the waiting queue nor the bus. */
        if (r->slots[i] != q || !q->done)
                return;
        r->slots[i] = NULL;
        r->n--;
        for (;;) {
                size_t home;

                j = (j + 1) & (POLKIT_SLOTS - 1);
                if (!r->slots[j])
                        break;
                home = r->slots[j]->hash & (POLKIT_SLOTS - 1);
                /* Move j to the hole at i unless its home lies cyclically in (i, j]. */
                if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
                        r->slots[i] = r->slots[j];
                        r->slots[j] = NULL;
                        i = j;
                }
        }
        polkit_query_free(q);
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < POLKIT_SLOTS; i++)
                polkit_query_free(r->slots[i]);
        return mfree(r);
}

/* Frees the answered queries whose call has not come back: when the table is full they are the
 * ones a handler abandoned (a call that does come back just asks again). */
static void polkit_registry_drop_answered(PolkitRegistry *r) {
        for (size_t i = 0; i < POLKIT_SLOTS;) {
                PolkitQuery *q = r->slots[i];

                /* Removal may move a later entry into slot i: look at it again. */
                if (q && q->done)
                        polkit_registry_remove(r, q);
                else
                        i++;
        }
}

/* Dispatches q's method call again, now that q has its verdict; the handler reads it. */
static void polkit_query_requeue(PolkitQuery *q) {
        int r;

        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to requeue a method call after polkit answered: %m");
                /* The call will never come back for it: do not keep it. */
                polkit_registry_remove(q->registry, q);
        }
}

static int polkit_query_send(PolkitQuery *q);

/* Sends waiting queries while there is room on the bus. One that cannot be sent is answered
 * at once with the reason, so that its call is refused rather than left waiting. */
static void polkit_registry_send_waiting(PolkitRegistry *reg) {
        while (reg->waiting && reg->n_in_flight < POLKIT_IN_FLIGHT_MAX) {
                PolkitQuery *q = reg->waiting;
                int r;

                reg->waiting = q->next_waiting;
                if (!reg->waiting)
                        reg->waiting_tail = NULL;
                q->next_waiting = NULL;

                r = polkit_query_send(q);
                if (r < 0) {
                        q->done = true;
                        (void) sd_bus_error_set_errnof(&q->error, r,
                                                       "Could not ask the authorization service "
                                                       "(polkit): %m");
                        polkit_query_requeue(q);
                } else
                        reg->n_in_flight++;
        }
}

static int polkit_reply_handler(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized, challenge, r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->done = true;
        q->registry->n_in_flight--;

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
                else {
                        q->authorized = authorized;
                        q->challenge = challenge;
                }
        }

        polkit_registry_send_waiting(q->registry);
        polkit_query_requeue(q);
        return 0;
}

static int polkit_query_send(PolkitQuery *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus_message *request = q->request;
        sd_bus *bus = sd_bus_message_get_bus(request);
        int r;

        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority",
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                  q->sender, q->action);
        if (r < 0)
                return r;
        /* Details, then flags: AllowUserInteraction (1) only when the caller allowed it, as
         * the message says; the empty cancellation id. */
        r = sd_bus_message_append(call, "a{ss}us", 0,
                                  (uint32_t) !!sd_bus_message_get_allow_interactive_authorization(
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

/* Outcomes of polkit_verdict() besides errors. */
enum {
        POLKIT_VERDICT_PENDING,         /* a query was sent; the message comes back */
        POLKIT_VERDICT_GRANTED,
        POLKIT_VERDICT_DENIED,
        POLKIT_VERDICT_NEEDS_INTERACTION, /* would be granted after authenticating, which the
                                           * call did not allow */
};

/* The verdict for message and action: one of POLKIT_VERDICT_*, or a negative errno with *error
 * set when polkit could not answer, the call changed its question, or on failure. */
static int polkit_verdict(sd_bus_message *message, const char *action, PolkitRegistry **registry,
                          sd_bus_error *error) {
        _cleanup_free_ char *sender_copy = NULL;
        const char *sender;
        PolkitRegistry *reg;
        PolkitQuery *q;
        uint64_t cookie, hash;
        size_t i;
        int r;

        r = bus_caller_is_root(message);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r,
                                               "Could not establish the caller's identity: %m");
        if (r > 0)
                return POLKIT_VERDICT_GRANTED;

        sender = sd_bus_message_get_sender(message);
        r = sd_bus_message_get_cookie(message, &cookie);
        if (!sender || r < 0)
                return sd_bus_error_set_errnof(error, EBADMSG,
                                               "A method call without sender or cookie");
        hash = polkit_key_hash(sender, cookie);

        if (!*registry) {
                *registry = calloc(1, sizeof(PolkitRegistry));
                if (!*registry)
                        return -ENOMEM;
        }
        reg = *registry;

        i = polkit_registry_slot(reg, sender, cookie, hash);
        q = reg->slots[i];
        if (q) {
                if (!q->done)
                        return POLKIT_VERDICT_PENDING;  /* still waiting; should not happen */
                if (!streq(q->action, action)) {
                        polkit_registry_remove(reg, q);
                        return sd_bus_error_set_errnof(error, ESTALE,
                                                       "Authorization changed while asked");
                }
                if (sd_bus_error_is_set(&q->error)) {
                        r = sd_bus_error_copy(error, &q->error);
                        polkit_registry_remove(reg, q);
                        return r < 0 ? r : -EACCES;
                }
                r = q->authorized ? POLKIT_VERDICT_GRANTED :
                    q->challenge && !sd_bus_message_get_allow_interactive_authorization(message) ?
                    POLKIT_VERDICT_NEEDS_INTERACTION : POLKIT_VERDICT_DENIED;
                polkit_registry_remove(reg, q);
                return r;
        }

        if (reg->n >= POLKIT_QUERIES_MAX) {
                polkit_registry_drop_answered(reg);
                if (reg->n >= POLKIT_QUERIES_MAX)
                        return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                "Too many authorization queries are pending; "
                                                "try again");
                i = polkit_registry_slot(reg, sender, cookie, hash);
        }

        sender_copy = strdup(sender);
        q = calloc(1, sizeof(*q));
        if (!q || !sender_copy) {
                free(q);
                return -ENOMEM;
        }
        *q = (PolkitQuery) {
                .registry = reg,
                .request = sd_bus_message_ref(message),
                .sender = TAKE_PTR(sender_copy),
                .cookie = cookie,
                .hash = hash,
                .action = strdup(action),
                .error = SD_BUS_ERROR_NULL,
        };
        if (!q->action) {
                polkit_query_free(q);
                return -ENOMEM;
        }

        if (reg->n_in_flight < POLKIT_IN_FLIGHT_MAX) {
                r = polkit_query_send(q);
                if (r < 0) {
                        polkit_query_free(q);
                        return sd_bus_error_set_errnof(error, r,
                                                       "Could not ask the authorization service "
                                                       "(polkit): %m");
                }
                reg->n_in_flight++;
        } else {
                /* Asked once the queries before it are answered. */
                if (reg->waiting_tail)
                        reg->waiting_tail->next_waiting = q;
                else
                        reg->waiting = q;
                reg->waiting_tail = q;
        }
        reg->slots[i] = q;
        reg->n++;
        return POLKIT_VERDICT_PENDING;
}

int bus_verify_polkit_async(sd_bus_message *message, const char *action, const char *what,
                            PolkitRegistry **registry, sd_bus_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = polkit_verdict(message, action, registry, &e);
        switch (r) {
        case POLKIT_VERDICT_PENDING:
                return 0;
        case POLKIT_VERDICT_GRANTED:
                return 1;
        case POLKIT_VERDICT_NEEDS_INTERACTION:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "%s requires administrator privileges (polkit "
                                         "action %s needs authentication, which this call did "
                                         "not allow); run it as root or with sudo, or from a "
                                         "terminal where an authentication agent runs",
                                         what, action);
        case POLKIT_VERDICT_DENIED:
                break;
        default:
                /* polkitd's own explanation (unreachable, bad reply) is worth more than ours. */
                if (sd_bus_error_is_set(&e)) {
                        (void) sd_bus_error_move(error, &e);
                        return r;
                }
                if (r != -EACCES)
                        return r;
                break;
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
        switch (r) {
        case POLKIT_VERDICT_PENDING:
                return BUS_POLKIT_PENDING;
        case POLKIT_VERDICT_GRANTED:
                return BUS_POLKIT_GRANTED;
        default:
                /* Fail closed: no answer from polkitd, or no identity, is no grant; a read
                 * that needs authentication shows what everyone sees. */
                return BUS_POLKIT_DENIED;
        }
}
