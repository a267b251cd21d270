/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where quick and full scans look: the quick list, and the mount points of the mount table
 * (scan-mounts.c) whose filesystem types are monitored. Owns no state.
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

static const char * const pseudo_fstypes[] = {
        "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs",
        "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl", "autofs",
        "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs", "selinuxfs", NULL,
};

int scan_quick_paths(char ***ret) {
        const char *env = getenv("MDATP_SCAN_QUICK_PATHS");
        char **l;

        if (env)
                return strv_split_paths(env, ret);
        l = strv_copy((char **) quick_paths);
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

bool scan_fstype_is_pseudo(const char *fstype) {
        return strv_contains((char **) pseudo_fstypes, fstype);
}

int scan_full_roots(char * const *unmonitored, char ***ret) {
        _cleanup_strv_free_ char **roots = NULL;
        const char *env = getenv("MDATP_SCAN_FULL_ROOTS");
        ScanMount *mounts = NULL;
        size_t n_mounts = 0;
        int r;

        if (env)
                return strv_split_paths(env, ret);

        r = scan_mounts_read(-EBADF, &mounts, &n_mounts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_mounts; i++) {
                const ScanMount *m = &mounts[i];

                if (scan_fstype_is_pseudo(m->fstype) ||
                    !scan_fstype_is_monitored(m->fstype, unmonitored) ||
                    strv_contains(roots, m->mount_point))
                        continue;
                if (strv_extend(&roots, m->mount_point) < 0) {
                        scan_mounts_free(mounts, n_mounts);
                        return -ENOMEM;
                }
        }
        scan_mounts_free(mounts, n_mounts);
        if (!roots && !(roots = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(roots);
        return 0;
}
