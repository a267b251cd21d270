/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp exclusion list` and `mdatp exclusion extension|file|folder|process add|remove`, over
 * com.microsoft.Mdatp1.Exclusions (/com/microsoft/Mdatp1/Exclusions).
 *
 * The daemon lists each (kind, value, scope, managed) once per scope. The text view keeps that
 * (one block per entry, with the words scripts grep for: "Excluded folder", "Path:", "Process
 * name:"); the JSON view merges entries that differ only by scope into one object shaped like the
 * managed configuration's exclusion objects:
 *   {"$type":"excludedPath","path":"/var/log/","isDirectory":true,"scopes":["epp","global"],
 *    "isManaged":false}
 * ($type excludedFileExtension with "extension", excludedFileName with "name" for processes).
 *
 * Options are checked here before anything is sent (exit 2): --path or --name as the kind needs,
 * --scope epp|global (default epp), no global scope for extensions or process names. Values are
 * passed as given: no globbing, no path resolution.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-bus.h>

#include "args.h"

typedef struct Exclusion {
        char *kind;                     /* extension, file, folder, process */
        char *value;
        char **scopes;                  /* epp, global */
        bool managed;
} Exclusion;

typedef struct ExclusionList {
        Exclusion *items;
        size_t n;
} ExclusionList;
#define EXCLUSION_LIST_INIT {}

void exclusion_list_done(ExclusionList *l);
/* Reads an a(sssb) (Exclusions.List's reply) into *ret, one scope per item. */
int exclusion_list_read(sd_bus_message *m, ExclusionList *ret);
/* Appends an item with one scope; for building lists in tests. */
int exclusion_list_add(ExclusionList *l, const char *kind, const char *value, const char *scope,
                       bool managed);
/* The items of l with those differing only by scope merged into one (scopes in first-seen order,
 * each once), in *ret. */
int exclusion_list_merge(const ExclusionList *l, ExclusionList *ret);

/* The text view of l (not merged), or "No exclusions\n". Caller frees. */
int exclusion_format_text(const ExclusionList *l, char **ret);
/* The JSON array of l merged. Caller frees. */
int exclusion_format_json(const ExclusionList *l, char **ret);

/* What the user gave to `exclusion <kind> add|remove`; NULL for absent options. */
typedef struct ExclusionOptions {
        const char *path;
        const char *name;
        const char *scope;
} ExclusionOptions;

/* The arguments of Exclusions.Add/Remove. */
typedef struct ExclusionRequest {
        const char *kind;
        const char *value;              /* borrowed from the options */
        const char *scope;              /* "epp" when none was given */
} ExclusionRequest;

/* Outcomes of exclusion_request_check(): everything but OK is a usage error. */
typedef enum ExclusionCheck {
        EXCLUSION_CHECK_OK,
        EXCLUSION_CHECK_MISSING,        /* no --path / --name as the kind needs */
        EXCLUSION_CHECK_PATH_AND_NAME,  /* process: both --path and --name */
        EXCLUSION_CHECK_BAD_SCOPE,      /* --scope is not epp or global */
        EXCLUSION_CHECK_GLOBAL_EXTENSION, /* extension with --scope global */
        EXCLUSION_CHECK_GLOBAL_NAME,    /* process --name with --scope global */
        _EXCLUSION_CHECK_MAX,
        _EXCLUSION_CHECK_INVALID = -EINVAL,
} ExclusionCheck;

/* Checks o for an exclusion of kind (extension, file, folder, process) and fills *ret when it is
 * valid. Returns an ExclusionCheck; -EINVAL for an unknown kind (a bug). */
int exclusion_request_check(const char *kind, const ExclusionOptions *o, ExclusionRequest *ret);
/* The message for a usage outcome of kind's check; NULL for OK. (The verbs report BAD_SCOPE
 * with the list of accepted values instead.) */
const char *exclusion_check_message(ExclusionCheck c, const char *kind);
/* "Extension exclusion configured successfully" and the like. NULL for an unknown kind. */
const char *exclusion_success_message(const char *kind, bool add);

extern const CliVerb exclusion_verbs[];
