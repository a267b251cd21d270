/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where quick and full scans look. Reads /proc/self/mountinfo; owns no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/scan.h"
#include "util/strv.h"

/* Places where malware lands or is made to start on a Linux server; docs/scans.md says why each
 * is here. Kept short so that a quick scan stays quick on database and build servers. */
static const char * const quick_paths[] = {
        "/tmp", "/var/tmp", "/dev/shm", "/run/user",
        "/root", "/home",
        "/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly",
        "/etc/cron.monthly", "/etc/crontab", "/var/spool/cron",
        "/etc/init.d", "/etc/rc.local", "/etc/systemd/system", "/etc/profile.d",
        "/etc/ld.so.preload", "/etc/update-motd.d", "/etc/xdg/autostart",
        "/usr/local/bin", "/usr/local/sbin",
        "/var/www", "/srv",
        NULL,
};

/* Filesystem types real-time protection monitors, and hence full scans cover. */
static const char * const monitored_fstypes[] = {
        "btrfs", "ecryptfs", "ext2", "ext3", "ext4", "fuseblk", "jfs", "overlay", "ramfs",
        "reiserfs", "tmpfs", "vfat", "xfs", "nfs", "nfs4", "fuse", NULL,
};

static const char * const pseudo_fstypes[] = {
        "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs",
        "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl", "autofs",
        "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs", "selinuxfs", NULL,
};

static int split_env_paths(const char *value, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = strdup(value);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
                if (p[0] == '/' && strv_extend(&l, p) < 0)
                        return -ENOMEM;
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int scan_quick_paths(char ***ret) {
        const char *env = getenv("MDATP_SCAN_QUICK_PATHS");
        char **l;

        if (env)
                return split_env_paths(env, ret);
        l = strv_copy((char **) quick_paths);
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

bool scan_fstype_is_pseudo(const char *fstype) {
        return strv_contains((char **) pseudo_fstypes, fstype);
}

/* "fuse.sshfs" is a fuse filesystem, "nfs4" an nfs one, for monitoring purposes. */
static const char *fstype_family(const char *fstype) {
        if (strneq(fstype, "fuse.", 5) || streq(fstype, "fuse"))
                return "fuse";
        if (streq(fstype, "nfs4"))
                return "nfs";
        return fstype;
}

static bool fstype_is_unmonitored(const char *fstype, char * const *unmonitored) {
        const char *family = fstype_family(fstype);

        for (char * const *u = unmonitored; u && *u; u++)
                if (strcasecmp(*u, fstype) == 0 || strcasecmp(*u, family) == 0)
                        return true;
        return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;

        for (char *r = s; *r; r++, w++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else
                        *w = *r;
        }
        *w = '\0';
}

int scan_full_roots(char * const *unmonitored, char ***ret) {
        _cleanup_strv_free_ char **roots = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        const char *env = getenv("MDATP_SCAN_FULL_ROOTS");
        size_t len = 0;

        if (env)
                return split_env_paths(env, ret);

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &len, f) > 0) {
                char mountpoint[4096], fstype[256];
                char *sep = strstr(line, " - ");

                /* ID parent major:minor root mountpoint options ... - fstype source ... */
                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mountpoint) != 1 ||
                    sscanf(sep + 3, "%255s", fstype) != 1)
                        continue;
                unescape_octal(mountpoint);
                if (scan_fstype_is_pseudo(fstype) ||
                    !strv_contains((char **) monitored_fstypes, fstype_family(fstype)) ||
                    fstype_is_unmonitored(fstype, unmonitored))
                        continue;
                if (!strv_contains(roots, mountpoint) && strv_extend(&roots, mountpoint) < 0)
                        return -ENOMEM;
        }
        if (!roots && !(roots = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(roots);
        return 0;
}
