/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exclusions: which files, folders and processes the scanner, real-time protection and the sensor
 * leave alone (shared/reference/mde-behaviour.md §2.3 and §3).
 *
 * An ExclusionSet is compiled once from the effective exclusion list (the union of
 * antivirusEngine.exclusions and exclusionSettings.exclusions) and is then immutable and
 * reference counted: the main thread builds a new set when the settings change and publishes it;
 * worker threads keep their reference to the old one for as long as they use it. The match
 * functions take no lock, allocate nothing and never touch the filesystem.
 *
 * The matching rules, with examples, are in README.md beside this file. In short: file entries
 * match one path, folder entries everything strictly below the folder; wildcards ('*' any run of
 * characters, '?' one character, neither matching '/') work per path component and in epp scope
 * only; extensions and bare process names are epp only; global entries are literal full paths.
 *
 * Paths passed to the match functions are absolute and already resolved by the caller (no "//",
 * "." or ".." components; one trailing '/' is tolerated). Nothing here resolves symlinks: a
 * symlinked path is not matched, as with the reference product.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "settings/settings.h"
#include "util/macro.h"

typedef struct ExclusionSet ExclusionSet;

/* Compiles items[0..n) (items may be NULL when n is 0) into a new set with one reference.
 * Entries, or parts of entries for one scope, that cannot match anything (unknown type, empty or
 * relative value, wildcards or an extension or a bare process name in global scope, no known
 * scope) are left out and counted. Returns that count (>= 0) on success, with *ret set;
 * -ENOMEM or -E2BIG (more than EXCLUSION_SET_MAX entries) on failure, *ret untouched. Callers
 * that want to log what was left out run exclusion_validate() on each item. */
int exclusion_set_new(const SettingExclusion *items, size_t n, ExclusionSet **ret);

#define EXCLUSION_SET_MAX (1U << 20)

/* A new set (one reference) matching what s matches plus items[0..n), without compiling s's
 * entries again: it shares s's compiled form (or, when s is itself an extension, its base's)
 * and compiles only the entries added since that base, which it keeps. A lookup costs at most
 * two; building costs O(exclusion_set_extension_size(s) + n), so a caller that extends one by
 * one compiles afresh with exclusion_set_new() once the extension grows past a bound of its
 * choosing. Returns how many of items were left out (as exclusion_set_new() does), or
 * -ENOMEM, -EINVAL, -E2BIG; s is not changed. */
int exclusion_set_extend(ExclusionSet *s, const SettingExclusion *items, size_t n,
                         ExclusionSet **ret);
/* How many entries an extension compiled itself (0 for a set made by exclusion_set_new()). */
size_t exclusion_set_extension_size(const ExclusionSet *s);

/* Reference counting, safe from any thread. Both accept NULL; unref returns NULL. */
ExclusionSet *exclusion_set_ref(ExclusionSet *s);
ExclusionSet *exclusion_set_unref(ExclusionSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExclusionSet *, exclusion_set_unref);

/* Number of entries of the set that apply to any scope in the mask `scope` after compilation
 * (0 for a NULL set): lets a caller skip all matching when it is 0. */
size_t exclusion_set_size(const ExclusionSet *s, unsigned scope);

/* Whether the regular file at `path` is excluded for a scope in the mask `scope`
 * (EXCLUSION_SCOPE_EPP for scans and RTP verdicts, EXCLUSION_SCOPE_GLOBAL for sensor muting):
 * excludedPath file and folder entries and excludedFileExtension entries. A NULL set, a NULL or
 * relative path match nothing. */
bool exclusion_set_match_file(const ExclusionSet *s, unsigned scope, const char *path);

/* Whether everything below the directory `dir` is excluded for `scope`, so a walker can skip the
 * subtree without listing it. Whenever this is true, exclusion_set_match_file() is true for every
 * path below dir. It may be false although every file below happens to be excluded (e.g. by
 * extension). */
bool exclusion_set_match_directory(const ExclusionSet *s, unsigned scope, const char *dir);

/* Whether files opened by a process are excluded for `scope` (excludedFileName entries). name is
 * the process name the caller trusts most (the executable's file name, or the kernel's comm,
 * which is truncated to 15 bytes); when NULL, the last component of exe_path is used. exe_path
 * is the resolved executable path (/proc/<pid>/exe) or NULL. */
bool exclusion_set_match_process(const ExclusionSet *s, unsigned scope, const char *name,
                                 const char *exe_path);

/* Checks one exclusion as the D-Bus Add method and the settings files should: 0 when it is
 * valid, or -EINVAL with a message for the user in *ret_message (caller frees; may be NULL when
 * not wanted), -ENOMEM. Rules: a known $type; a non-empty value of at most PATH_MAX - 1 bytes
 * without control characters; scopes a non-empty subset of epp|global; excludedPath absolute (or
 * starting with a wildcard in epp); excludedFileExtension epp only, not empty after the optional
 * leading '.', no '/'; excludedFileName a full path or a name without '/'; no '*' or '?' in
 * global scope, where process exclusions must be full paths. */
int exclusion_validate(const SettingExclusion *e, char **ret_message);
