/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one subscriber to the manager's change events: turns each into the signals,
 * PropertiesChanged and deferred replies clients expect. Reads the manager's state; changes
 * nothing of it. Owns the waiting Update()/TestConnectivity() calls (in BusContext) until their
 * job's UPDATE_FINISHED, and the restore, quarantine and Definitions.Restore calls until their
 * REQUEST_FINISHED.
 */
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"

static void update_finished(BusContext *b, const ManagerUpdateResult *u) {
        sd_bus_message ***l = u->connectivity_only ? &b->connectivity_waiters : &b->update_waiters;
        size_t *n = u->connectivity_only ? &b->n_connectivity_waiters : &b->n_update_waiters;
        sd_bus_message **calls = TAKE_PTR(*l);
        size_t n_calls = *n;

        *n = 0;
        for (size_t i = 0; i < n_calls; i++) {
                if (u->connectivity_only)
                        (void) bus_reply_connectivity(calls[i], u->lines,
                                                      u->r < 0 ? 0 : (unsigned) u->r,
                                                      u->r < 0 ? u->r : 0);
                else
                        (void) bus_reply_update(b->manager, calls[i], u->r, u->error);
                sd_bus_message_unref(calls[i]);
        }
        free(calls);
}

/* Answers the call waiting for request res->id, if any: a caller that went away meanwhile was
 * still kept until now (sd-bus tells nothing of it); the answer is dropped by the bus. */
static void request_finished(BusContext *b, const ManagerRequestResult *res) {
        BusRequest q;
        size_t i;

        for (i = 0; i < b->n_requests; i++)
                if (b->requests[i].id == res->id)
                        break;
        if (i == b->n_requests)
                return;         /* nobody waits: the call could not be kept */
        q = b->requests[i];
        memmove(b->requests + i, b->requests + i + 1,
                (b->n_requests - i - 1) * sizeof(*b->requests));
        b->n_requests--;
        if (q.kind == BUS_REQUEST_DEFINITIONS_RESTORE)
                (void) bus_reply_definitions_restore(b, q.call, res);
        else
                (void) bus_reply_threat_request(b, q.call, q.kind, res);
        sd_bus_message_unref(q.call);
}

void bus_on_manager_event(Manager *m, const ManagerEvent *e, void *userdata) {
        BusContext *b = userdata;

        if (!b->bus)
                return;
        switch (e->type) {
        case MANAGER_EVENT_SETTINGS_CHANGED:
                (void) bus_notify_settings_changed(b, e->names);
                break;
        case MANAGER_EVENT_HEALTH_CHANGED:
                (void) bus_health_emit_issues(b);
                break;
        case MANAGER_EVENT_LOG_LEVEL_CHANGED:
                (void) bus_notify_log_level_changed(b);
                break;
        case MANAGER_EVENT_DEFINITIONS_CHANGED:
                (void) bus_definitions_emit_changed(b);
                break;
        case MANAGER_EVENT_RTP_CHANGED:
                (void) bus_rtp_emit_changed(b);
                break;
        case MANAGER_EVENT_SCAN_ADDED:
                /* Scans/<id> appears through the node enumerator: nothing to send. */
                break;
        case MANAGER_EVENT_SCAN_CHANGED:
                (void) bus_scan_emit_changed(b, e->scan, e->names);
                break;
        case MANAGER_EVENT_SCAN_FINISHED:
                (void) bus_scan_emit_finished(b, e->scan);
                break;
        case MANAGER_EVENT_SCANS_RUNNING_CHANGED:
                (void) bus_scans_emit_running(b);
                break;
        case MANAGER_EVENT_THREAT_DETECTED:
                (void) bus_threat_emit_detected(b, e->threat);
                break;
        case MANAGER_EVENT_UPDATE_FINISHED:
                update_finished(b, e->update);
                break;
        case MANAGER_EVENT_REQUEST_FINISHED:
                request_finished(b, e->request);
                break;
        default:
                break;
        }
}
