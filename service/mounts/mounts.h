/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount table and the filesystem types the product watches: parses /proc/self/mountinfo
 * and says which filesystem types real-time protection monitors (and so which mounts a full
 * scan covers). Shared by scan/ (full scan roots) and rtp/ (which mounts to mark).
 *
 * Owns no state: every call reads the table afresh and hands the caller an array it frees.
 * Thread-safe; never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One line of /proc/self/mountinfo. */
typedef struct Mount {
        int id;                         /* mount id (the one statx() reports as STATX_MNT_ID) */
        char *mount_point;              /* unescaped */
        char *fstype;                   /* "ext4", "fuse.sshfs", ... */
        char *options;                  /* per-mount options, "rw,nosuid,noexec,relatime" */
        bool noexec;                    /* "noexec" is among options */
} Mount;

/* Parses mountinfo text into a new array of *ret_n entries (caller frees with mounts_free());
 * lines that do not parse are skipped. Returns 0 or -ENOMEM. */
int mounts_parse(const char *text, Mount **ret, size_t *ret_n);
/* Reads the mount table: from fd, an open /proc/self/mountinfo read again from its start (what
 * a poll() on it asks for after POLLPRI), or, when fd < 0, from a fresh open. Returns 0 or a
 * negative errno. */
int mounts_read(int fd, Mount **ret, size_t *ret_n);
/* Frees n entries and the array. NULL-safe. */
void mounts_free(Mount *mounts, size_t n);
/* Whether mounts of this filesystem type are watched by real-time protection and covered by
 * full scans: btrfs, ecryptfs, ext2/3/4, fuseblk, jfs, overlay, ramfs, reiserfs, tmpfs, vfat,
 * xfs and the nfs and fuse families, except a type named in unmonitored (case-insensitively;
 * "nfs" and "fuse" also name their families: nfs4, fuse.sshfs). */
bool mounts_fstype_is_monitored(const char *fstype, char * const *unmonitored);
/* Whether a filesystem type is a pseudo filesystem that holds no files worth scanning (proc,
 * sysfs, cgroup, ...). */
bool mounts_fstype_is_pseudo(const char *fstype);
