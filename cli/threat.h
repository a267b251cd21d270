/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp threat list|get`: the threat history from com.microsoft.Mdatp1.Threats
 * (/com/microsoft/Mdatp1/Threats).
 *
 * Text, as the reference client prints it, one block per threat, blocks separated by an empty line,
 * values JSON-quoted (so that a file name cannot forge lines):
 *   Id: "<id>"
 *   Name: "<name>"
 *   Type: "<type>"
 *   Detection time: "<Mon DD, YYYY at hh:mm:ss AM/PM>"
 *   Status: "<status>"
 *   Path: "<path>"
 * and `No threats` for an empty history.
 *
 * JSON follows the shape scripts parse from the reference client (reference §8):
 *   {"threats":{"scans":[{"threats":[{"threat":{"tracking_id":...,"name":...,"type":...,
 *    "path":...,"sha256":...,"detection_time":"<epoch ms>","source":...},
 *    "history":[{"key":<epoch ms>,"value":"<status>"}]}]}]}}
 * where the current status is the history entry with the greatest key: every status change
 * the daemon recorded (keys made strictly increasing), and every threat sits in one scan entry; an empty history is {"threats":{"scans":[]}}. `threat get` prints the
 * one {"threat":...,"history":...} entry.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "args.h"

typedef struct ThreatEvent {
        uint64_t time;                  /* µs since the epoch */
        char *status;
} ThreatEvent;

typedef struct Threat {
        char *id;
        char *name;
        char *type;
        char *path;                     /* archive members as "a.zip->dir/member" */
        char *sha256;                   /* hex; may be empty */
        uint64_t detection_time;        /* µs since the epoch; 0: unknown */
        char *source;                   /* on_demand, real_time, behavior */
        char *status;                   /* active, quarantined, removed, restored, ... */
        ThreatEvent *history;           /* every status change, oldest first (ListHistory) */
        size_t n_history;               /* 0: only the current status is known */
} Threat;

typedef struct ThreatList {
        Threat *items;
        size_t n;
} ThreatList;
#define THREAT_LIST_INIT {}

void threat_done(Threat *t);
void threat_list_done(ThreatList *l);

/* Reads one (ssssstss) (Threats.Get's reply) into *ret. */
int threat_read(sd_bus_message *m, Threat *ret);
/* Reads an a(ssssstss) (Threats.List's reply) into *ret. */
int threat_list_read(sd_bus_message *m, ThreatList *ret);

/* Reads ListHistory's a(sa(tss)) and gives each threat of l its history. */
int threat_list_attach_history(sd_bus_message *m, ThreatList *l);

/* The text block of one threat, each line ended by a newline. Caller frees. */
int threat_format_text(const Threat *t, char **ret);
/* The blocks of every threat separated by empty lines, or "No threats\n". Caller frees. */
int threat_format_list_text(const ThreatList *l, char **ret);
/* {"threat":{...},"history":[...]} of one threat. Caller frees. */
int threat_format_json(const Threat *t, char **ret);
/* {"threats":{"scans":[...]}} of the whole history. Caller frees. */
int threat_format_list_json(const ThreatList *l, char **ret);

extern const CliVerb threat_verbs[];
/* threat-actions.c: `threat quarantine|allowed|policy ...`. */
extern const CliVerb threat_quarantine_verbs[];
extern const CliVerb threat_allowed_verbs[];
extern const CliVerb threat_policy_verbs[];
