/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount table and the filesystem types the product watches: parses /proc/self/mountinfo
 * into Mount entries and says which filesystem types real-time protection monitors (and so
 * which mounts a full scan covers). Shared by scan (full scan roots) and rtp (which mounts to
 * mark).
 *
 * Owns no state: every call reads the table afresh and hands the caller an array it frees.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mounts/mounts.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

/* A mount table larger than this is refused rather than read into memory (about 100 bytes a
 * line: far beyond any real system). */
#define MOUNTINFO_MAX (UINT64_C(64) << 20)

/* Filesystem types real-time protection monitors, and hence full scans cover. */
static const char * const monitored_fstypes[] = {
        "btrfs", "ecryptfs", "ext2", "ext3", "ext4", "fuseblk", "jfs", "overlay", "ramfs",
        "reiserfs", "tmpfs", "vfat", "xfs", "nfs", "nfs4", "fuse", NULL,
};

/* Filesystems of the kernel's own state, never of files worth scanning. */
static const char * const pseudo_fstypes[] = {
        "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs",
        "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl", "autofs",
        "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs", "selinuxfs", NULL,
};

bool mounts_fstype_is_pseudo(const char *fstype) {
        return fstype && strv_contains((char **) pseudo_fstypes, fstype);
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

bool mounts_fstype_is_monitored(const char *fstype, char * const *unmonitored) {
        if (!fstype)
                return false;
        return strv_contains((char **) monitored_fstypes, fstype_family(fstype)) &&
               !fstype_is_unmonitored(fstype, unmonitored);
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

/* Whether the comma-separated list holds the option `name` exactly. */
static bool options_contain(const char *options, const char *name) {
        size_t n = strlen(name);

        for (const char *p = options; p && *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t) (comma - p) : strlen(p);

                if (len == n && strneq(p, name, n))
                        return true;
                p = comma ? comma + 1 : NULL;
        }
        return false;
}

static void mount_done(Mount *m) {
        m->mount_point = mfree(m->mount_point);
        m->fstype = mfree(m->fstype);
        m->options = mfree(m->options);
}

void mounts_free(Mount *mounts, size_t n) {
        for (size_t i = 0; mounts && i < n; i++)
                mount_done(&mounts[i]);
        free(mounts);
}

/* Parses one line, modifying it in place:
 *   ID parent major:minor root mount-point options [optional fields...] - fstype source super
 * Returns 1 and fills *ret (strings owned by it), 0 for a line that does not parse, -ENOMEM. */
static int parse_line(char *line, Mount *ret) {
        char *fields[6], *fstype = NULL, *save = NULL, *p, *end;
        size_t n = 0;
        long id;

        for (p = strtok_r(line, " \n", &save); p; p = strtok_r(NULL, " \n", &save)) {
                if (n < ELEMENTSOF(fields))
                        fields[n++] = p;
                else if (streq(p, "-")) {
                        fstype = strtok_r(NULL, " \n", &save);
                        break;
                }
        }
        if (n < ELEMENTSOF(fields) || !fstype)
                return 0;
        errno = 0;
        id = strtol(fields[0], &end, 10);
        if (errno != 0 || *end != '\0' || id < 0 || id > INT32_MAX)
                return 0;

        unescape_octal(fields[4]);
        *ret = (Mount) {
                .id = (int) id,
                .mount_point = strdup(fields[4]),
                .fstype = strdup(fstype),
                .options = strdup(fields[5]),
                .noexec = options_contain(fields[5], "noexec"),
        };
        if (!ret->mount_point || !ret->fstype || !ret->options) {
                mount_done(ret);
                return -ENOMEM;
        }
        return 1;
}

int mounts_parse(const char *text, Mount **ret, size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(text ?: "");
        Mount *mounts = NULL;
        size_t n = 0, allocated = 0;
        char *line, *next;

        if (!copy)
                return -ENOMEM;
        for (line = copy; line && *line; line = next) {
                Mount m;
                int r;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                r = parse_line(line, &m);
                if (r < 0) {
                        mounts_free(mounts, n);
                        return r;
                }
                if (r == 0)
                        continue;
                if (n == allocated) {
                        size_t a = MAX(allocated * 2, (size_t) 32);
                        Mount *grown = reallocarray(mounts, a, sizeof(Mount));

                        if (!grown) {
                                mount_done(&m);
                                mounts_free(mounts, n);
                                return -ENOMEM;
                        }
                        mounts = grown;
                        allocated = a;
                }
                mounts[n++] = m;
        }
        *ret = mounts;
        *ret_n = n;
        return 0;
}

int mounts_read(int fd, Mount **ret, size_t *ret_n) {
        _cleanup_close_ int own_fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        int r;

        if (fd < 0) {
                own_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
                if (own_fd < 0)
                        return negative_errno();
                fd = own_fd;
        } else if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();

        r = read_fd_full(fd, 0, MOUNTINFO_MAX, &text, NULL);
        if (r < 0)
                return r;
        return mounts_parse(text, ret, ret_n);
}
