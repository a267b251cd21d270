/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp diagnostic create [--path DIR] [--output json]`: the support bundle.
 *
 * The daemon builds the archive and hands it over as a descriptor (Diagnostics.CreateBundle);
 * this command, running with the caller's own rights, copies it into a new file in DIR together
 * with health.txt and health.json, rendered by the code `mdatp health` runs so they read exactly
 * as the user would see them. Being allowed to collect diagnostics therefore never lets anyone
 * write as root where they choose.
 *
 * DIR defaults to the product's diagnostic directory when run as root, the current directory
 * otherwise; a missing DIR is created 0700. DIR must not be a symbolic link; the file is created
 * with O_EXCL|O_NOFOLLOW under a new name and removed again when anything fails.
 * Prints `Diagnostic file created: <path>`, or {"path":"<path>"} with --output json.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus.h"
#include "config.h"
#include "diagnostic.h"
#include "format.h"
#include "health.h"
#include "report.h"
#include "util/macro.h"
#include "util/redact.h"

#define BUS_WHAT_DIAGNOSTICS "Collecting diagnostics"
#define DIAGNOSTIC_DEFAULT_DIR MDATP_STATE_DIR_DEFAULT "/wdavdiag"
/* The daemon bounds its archive; this bounds what we accept from the descriptor all the same. */
#define DIAGNOSTIC_COPY_MAX (64ULL * 1024 * 1024)

/* Opens dir, creating it 0700 when missing (with its parents only for the default directory).
 * Refuses a symbolic link or anything but a directory with a message naming it. */
static int open_target_dir(const char *dir, bool is_default, int *ret_fd) {
        struct stat st;
        int fd, r;

        for (unsigned attempt = 0;; attempt++) {
                fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        break;
                r = -errno;
                /* O_DIRECTORY is checked before O_NOFOLLOW: a symlink gives ENOTDIR too. */
                if (IN_SET(r, -ELOOP, -ENOTDIR) && lstat(dir, &st) >= 0 && S_ISLNK(st.st_mode))
                        return report_error(CLI_EXIT_FAILURE, -ELOOP, "Cannot write the "
                                            "diagnostic file: '%s' is a symbolic link.", dir);
                if (IN_SET(r, -ELOOP, -ENOTDIR))
                        return report_error(CLI_EXIT_FAILURE, r, "Cannot write the diagnostic "
                                            "file: '%s' is not a directory.", dir);
                if (r != -ENOENT || attempt > 0)
                        return report_error(CLI_EXIT_FAILURE, r, "Cannot open '%s': %s", dir,
                                            strerror(-r));
                if (is_default) {
                        /* The parents are the product's state directory: 0755 like it. */
                        _cleanup_free_ char *parent = strdup(dir);
                        if (!parent)
                                return -ENOMEM;
                        for (char *p = strchr(parent + 1, '/'); p; p = strchr(p + 1, '/')) {
                                *p = '\0';
                                (void) mkdir(parent, 0755);
                                *p = '/';
                        }
                }
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return report_error(CLI_EXIT_FAILURE, -errno, "Cannot create '%s': %m",
                                            dir);
        }
        *ret_fd = fd;
        return 0;
}

/* Creates a new file in dfd: mdatp-diagnostic-<UTC time>[-<n>].zip, never an existing one. */
static int create_bundle_file(int dfd, const char *dir, char **ret_name, int *ret_fd) {
        char stamp[32], name[64];
        time_t now = time(NULL);
        struct tm tm;

        if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm) == 0)
                return -EINVAL;
        for (unsigned n = 0; n < 100; n++) {
                int fd;

                if (n == 0)
                        (void) snprintf(name, sizeof(name), "mdatp-diagnostic-%s.zip", stamp);
                else
                        (void) snprintf(name, sizeof(name), "mdatp-diagnostic-%s-%u.zip", stamp,
                                        n);
                fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            0600);
                if (fd >= 0) {
                        *ret_name = strdup(name);
                        if (!*ret_name) {
                                (void) unlinkat(dfd, name, 0);
                                (void) close(fd);
                                return -ENOMEM;
                        }
                        *ret_fd = fd;
                        return 0;
                }
                if (errno != EEXIST)
                        return report_error(CLI_EXIT_FAILURE, -errno, "Cannot create a file in "
                                            "'%s': %m", dir);
        }
        return report_error(CLI_EXIT_FAILURE, -EEXIST, "Cannot create a file in '%s': too many "
                            "diagnostic files of this second exist.", dir);
}

/* Adds a text entry the client produced, redacted like the daemon's own entries. */
static int bundle_add_text(struct archive *w, const char *name, const char *text) {
        _cleanup_free_ char *copy = NULL;
        struct archive_entry *e;
        size_t size;
        int r;

        r = redact_url_secrets(text, &copy);
        if (r < 0)
                return r;
        size = strlen(copy);
        e = archive_entry_new();
        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0600);
        archive_entry_set_size(e, (la_int64_t) size);
        archive_entry_set_mtime(e, time(NULL), 0);
        r = archive_write_header(w, e) == ARCHIVE_OK &&
            archive_write_data(w, copy, size) == (la_ssize_t) size &&
            archive_write_finish_entry(w) == ARCHIVE_OK ? 0 : -EIO;
        archive_entry_free(e);
        return r;
}

/* Copies the regular files of the daemon's archive into w, at most DIAGNOSTIC_COPY_MAX bytes. */
static int bundle_copy_entries(struct archive *rd, struct archive *w) {
        struct archive_entry *e;
        uint64_t total = 0;
        char buf[64 * 1024];
        int ar;

        while ((ar = archive_read_next_header(rd, &e)) == ARCHIVE_OK) {
                if (archive_entry_filetype(e) != AE_IFREG)
                        continue;
                if (archive_write_header(w, e) != ARCHIVE_OK)
                        return -EIO;
                for (;;) {
                        la_ssize_t n = archive_read_data(rd, buf, sizeof(buf));

                        if (n < 0)
                                return -EBADMSG;
                        if (n == 0)
                                break;
                        total += (uint64_t) n;
                        if (total > DIAGNOSTIC_COPY_MAX)
                                return -EFBIG;
                        if (archive_write_data(w, buf, (size_t) n) != n)
                                return -EIO;
                }
                if (archive_write_finish_entry(w) != ARCHIVE_OK)
                        return -EIO;
        }
        return ar == ARCHIVE_EOF ? 0 : -EBADMSG;
}

/* Writes the final zip to out_fd: the daemon's entries from in_fd, then the health files. */
static int bundle_write(int in_fd, int out_fd, const char *health_text, const char *health_json) {
        struct archive *rd = archive_read_new(), *w = archive_write_new();
        int r = 0;

        if (!rd || !w)
                r = -ENOMEM;
        else if (lseek(in_fd, 0, SEEK_SET) < 0)
                r = -errno;
        else if (archive_read_support_format_zip(rd) != ARCHIVE_OK ||
                 archive_read_open_fd(rd, in_fd, 64 * 1024) != ARCHIVE_OK)
                r = -EBADMSG;
        else if (archive_write_set_format_zip(w) != ARCHIVE_OK ||
                 archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK ||
                 archive_write_open_fd(w, out_fd) != ARCHIVE_OK)
                r = -EIO;
        if (r >= 0)
                r = bundle_copy_entries(rd, w);
        if (r >= 0)
                r = bundle_add_text(w, "health.txt", health_text);
        if (r >= 0)
                r = bundle_add_text(w, "health.json", health_json);
        if (w && archive_write_close(w) != ARCHIVE_OK && r >= 0)
                r = -EIO;
        archive_write_free(w);
        archive_read_free(rd);
        return r;
}

/* The path to print: absolute, so that it can be used from anywhere. */
static char *bundle_path(const char *dir, const char *name) {
        _cleanup_free_ char *cwd = NULL, *d = strdup(dir);
        char *p = NULL;
        size_t len;
        int r;

        if (!d)
                return NULL;
        len = strlen(d);
        while (len > 1 && d[len - 1] == '/')
                d[--len] = '\0';
        if (d[0] != '/') {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return NULL;
        }
        if (!cwd)
                r = asprintf(&p, "%s%s%s", d, streq(d, "/") ? "" : "/", name);
        else if (streq(d, "."))
                r = asprintf(&p, "%s/%s", cwd, name);
        else
                r = asprintf(&p, "%s/%s/%s", cwd, d, name);
        if (r < 0)
                return NULL;
        return p;
}

static int print_created(const char *path, bool json) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        _cleanup_free_ char *out = NULL;
        int r;

        if (!json) {
                printf("Diagnostic file created: %s\n", path);
                return 0;
        }
        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = format_json_open_object(g);
        if (r >= 0)
                r = format_json_pair_string(g, "path", path);
        if (r >= 0)
                r = format_json_close_object(g);
        if (r >= 0)
                r = format_json_take(g, &out);
        return bus_print_formatted(r, out, true, "diagnostic file");
}

int diagnostic_create_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL, *name = NULL, *path = NULL;
        _cleanup_close_ int dfd = -EBADF, out = -EBADF;
        CliFlag flags[] = { { .name = "--path" } };
        const char *dir;
        int bundle_fd, r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        dir = flags[0].value ?: geteuid() == 0 ? DIAGNOSTIC_DEFAULT_DIR : ".";
        if (!*dir)
                return args_usage_error(inv, "Invalid value '' for --path: expected a directory.");

        /* The daemon first: a caller it refuses leaves nothing behind, not even a directory. */
        r = bus_call_no_args(MDATP_OBJECT_DIAGNOSTICS, MDATP_IFACE_DIAGNOSTICS, "CreateBundle",
                             BUS_WHAT_DIAGNOSTICS, &bus, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "h", &bundle_fd);       /* owned by reply */
        if (r < 0)
                return bus_report_bad_reply(r);
        r = health_render_default(bus, &text, &json);
        if (r < 0)
                return r;

        r = open_target_dir(dir, !flags[0].value, &dfd);
        if (r < 0)
                return r;
        r = create_bundle_file(dfd, dir, &name, &out);
        if (r < 0)
                return r;
        r = bundle_write(bundle_fd, out, text, json);
        if (r >= 0 && fsync(out) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dfd, name, 0);
                return report_error(CLI_EXIT_FAILURE, r, "Failed to write the diagnostic file "
                                    "in '%s': %s", dir, strerror(-r));
        }
        path = bundle_path(dir, name);
        if (!path)
                return -ENOMEM;
        return print_created(path, inv->json);
}
