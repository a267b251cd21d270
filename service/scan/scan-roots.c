/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where quick and full scans look: the quick list, and the mount points of the mount table
 * (mounts/) whose filesystem types are monitored. Owns no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mounts/mounts.h"
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

int scan_full_roots(char * const *unmonitored, char ***ret) {
        _cleanup_strv_free_ char **roots = NULL;
        const char *env = getenv("MDATP_SCAN_FULL_ROOTS");
        Mount *mounts = NULL;
        size_t n_mounts = 0;
        int r;

        if (env)
                return strv_split_paths(env, ret);

        r = mounts_read(-EBADF, &mounts, &n_mounts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_mounts; i++) {
                const Mount *m = &mounts[i];

                if (mounts_fstype_is_pseudo(m->fstype) ||
                    !mounts_fstype_is_monitored(m->fstype, unmonitored) ||
                    strv_contains(roots, m->mount_point))
                        continue;
                if (strv_extend(&roots, m->mount_point) < 0) {
                        mounts_free(mounts, n_mounts);
                        return -ENOMEM;
                }
        }
        mounts_free(mounts, n_mounts);
        if (!roots && !(roots = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(roots);
        return 0;
}
