/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp scan quick|full|custom|cancel|list`: on-demand scans through
 * com.microsoft.Mdatp1.ScanManager (/com/microsoft/Mdatp1/Scans) and the
 * com.microsoft.Mdatp1.Scan object each scan gets.
 *
 *   scan.c         the verbs: arguments, Start/CancelRunning/List calls, the final report
 *   scan-format.c  pure parts: reading Scan properties and List replies, the summary, the
 *                  progress line, the history as text and JSON
 *   scan-follow.c  following a started scan to its end on sd-event: progress, Finished,
 *                  SIGINT/SIGTERM turned into Scan.Cancel()
 *
 * Output after the reference client: a blocking scan ends with
 *   Scan has finished
 *   <TAB>N file(s) scanned
 *   <TAB>M threat(s) detected
 * and exits 0 even when threats were found. A cancelled scan prints `Scan was cancelled` and the
 * same counts and exits 1; a failed one reports `Scan failed: <why>` and exits 1.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "args.h"

/* What the client knows of one scan: the Scan object's properties, or a line of
 * ScanManager.List (which has no bytes, progress or error). */
typedef struct ScanInfo {
        uint32_t id;
        char *kind;                     /* quick, full, custom; NULL while unknown */
        char *state;                    /* running, succeeded, failed, cancelled; NULL: unknown */
        char *error;                    /* why a failed scan failed; NULL or empty otherwise */
        uint64_t files_scanned;
        uint64_t bytes_scanned;
        uint64_t threats_found;
        uint64_t threats_failed;        /* not recorded or remediated when the scan ended */
        double progress;                /* 0..1 once known, < 0 before */
        uint64_t start_time;            /* µs since the epoch; 0: unknown */
        uint64_t end_time;              /* µs since the epoch; 0 while running */
} ScanInfo;
#define SCAN_INFO_INIT { .progress = -1 }

/* Frees what info owns and leaves it SCAN_INFO_INIT. Usable as _cleanup_(scan_info_done). */
void scan_info_done(ScanInfo *info);
/* Updates info from an a{sv} of Scan properties (GetAll's reply, or the changed properties of
 * PropertiesChanged): known names with the contract's types are taken, anything else is skipped
 * so that a newer daemon does not break an older client. Returns 0 or a negative errno (m is not
 * an a{sv}, or out of memory); info may be partly updated then. */
int scan_info_read_properties(sd_bus_message *m, ScanInfo *info);
/* Whether info's state is known and final (anything but running). */
bool scan_info_is_finished(const ScanInfo *info);

/* The closing text of a scan, three lines with their newlines: `Scan has finished` (or
 * `Scan was cancelled` when state is cancelled), then the tab-indented counts. Caller frees. */
int scan_format_summary(const ScanInfo *info, char **ret);
/* The progress line, without newline: "Scanning: 1234 file(s), 12.3 MB, 0 threat(s)", with
 * ", 45%" when the progress is known; "Cancelling:" instead of "Scanning:" once a cancellation
 * was asked for. Caller frees. */
int scan_format_progress(const ScanInfo *info, bool cancelling, char **ret);
/* One scan as a JSON object: id, kind, state, filesScanned, bytesScanned, threatsFound,
 * startTime, endTime (epoch-ms strings, null while unknown). Caller frees. */
int scan_format_json(const ScanInfo *info, char **ret);

/* ScanManager.List, newest first. */
typedef struct ScanInfoList {
        ScanInfo *items;
        size_t n;
} ScanInfoList;
#define SCAN_INFO_LIST_INIT {}

void scan_info_list_done(ScanInfoList *l);
/* Reads an a(ustttt) (id, kind, state, start, end, files, threats) into *ret. */
int scan_info_list_read(sd_bus_message *m, ScanInfoList *ret);
/* The history as text: one block per scan (Id, Type, Start time, Duration, State, Files scanned,
 * Threats detected), blocks separated by an empty line; "No scans\n" when empty. */
int scan_format_list_text(const ScanInfoList *l, char **ret);
/* The history as a JSON array of the objects of scan_format_json() without bytesScanned. */
int scan_format_list_json(const ScanInfoList *l, char **ret);

/* "quick" -> "Quick", "succeeded" -> "Succeeded": a word of the contract as a heading. Caller
 * frees. */
int scan_capitalize(const char *word, char **ret);

/* The path the daemon gets for a path given to `scan custom`: an absolute path as is; a relative
 * one joined to cwd, dropping empty and "." components (".." is kept: removing it would be wrong
 * across symbolic links, which are not resolved). Returns 0, -EINVAL for an empty path or a
 * relative cwd, -ENOMEM. Caller frees. */
int scan_path_absolute(const char *cwd, const char *path, char **ret);

/* Blocks SIGINT and SIGTERM, so that from now on they wait for scan_follow() to turn them into a
 * cancellation. Call before starting the scan. Returns 0 or a negative errno. */
int scan_follow_block_signals(void);
/* Follows the scan object path until it finishes: subscribes to its PropertiesChanged and
 * Finished signals, reads its properties (a scan may end before the subscription), shows a
 * progress line on stdout when show_progress, and asks Scan.Cancel() at the first SIGINT or
 * SIGTERM (a second one stops waiting). *info receives the final properties. Returns 0 once the
 * scan has finished (whatever its state), or a negative errno after reporting. */
int scan_follow(sd_bus *bus, const char *path, bool show_progress, ScanInfo *info);

extern const CliVerb scan_verbs[];
