/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Manager: owns the settings layers, the policy snapshot, the persisted local state and the
 * watch on the managed policy, and the commit pipeline every change ends in: manager_commit()
 * rebuilds the policy, diffs it, runs the reapply handlers of the aspects that changed (one
 * table, reapply_table) and raises change events for the subscriber (bus/). Runs on the main
 * thread only; knows nothing of D-Bus.
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

#include "manager.h"
#include "util/fileio.h"
#include "util/strv.h"

#define MANAGED_POLICY_FILE "mdatp_managed.json"
/* The journal is folded into settings.json once it would grow past this: a whole write (about
 * 350 kB at 5,000 exclusions) every 800 or so adds, and a start that replays at most this. */
#define LOCAL_JOURNAL_MAX (64 * 1024)
#define MANAGED_RELOAD_DELAY_USEC (100 * 1000)
#define MANAGED_POLL_USEC (2 * 1000 * 1000)

static int managed_watch_start(Manager *m);
static int detection_state_load(Manager *m);

int manager_new(const ManagerConfig *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        m->state_dir = strdup(config->state_dir);
        m->managed_dir = strdup(config->managed_dir);
        m->shipped_definitions_dir = strdup(config->shipped_definitions_dir);
        m->definitions_key_path = strdup(config->definitions_key);
        if (!m->state_dir || !m->managed_dir || !m->shipped_definitions_dir ||
            !m->definitions_key_path)
                return -ENOMEM;
        m->managed_path = path_join(m->managed_dir, MANAGED_POLICY_FILE);
        m->local_settings_path = path_join(m->state_dir, "settings.json");
        m->local_journal_path = path_join(m->state_dir, "settings.json.journal");
        m->log_level_path = path_join(m->state_dir, "log_level");
        m->verdict_cache_path = path_join(m->state_dir, "scan-cache.bin");
        if (!m->managed_path || !m->local_settings_path || !m->local_journal_path ||
            !m->log_level_path || !m->verdict_cache_path)
                return -ENOMEM;

        r = settings_new(&m->settings);
        if (r < 0)
                return r;
        r = policy_new(m->settings, &m->policy);
        if (r < 0)
                return r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = executor_new(m->event, MANAGER_EXECUTOR_MAX_QUEUED, &m->executor);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* The executor first: what it finishes at shutdown (history writes, the cache save)
         * still finds the state it writes; compiles and copies are cancelled. */
        if (m->threats)
                /* Its queued writes still run in executor_free(), in order, telling nobody (no
                 * remediation at shutdown); what changes after is written on this thread. */
                threat_store_set_executor(m->threats, NULL, NULL, NULL);
        m->executor = executor_free(m->executor);
        /* Real-time protection next: its workers hold the rules and the cache. */
        manager_rtp_free(m);
        free(m->rtp_error);
        manager_update_free(m);
        manager_scans_free(m);
        scan_history_done(&m->scan_history);
        manager_pending_free(m);
        manager_threats_free(m);
        threat_store_free(m->threats);
        verdict_cache_free(m->verdict_cache);
        engine_rules_unref(m->rules);
        definitions_store_free(m->definitions_store);
        free(m->definitions_version);
        free(m->definitions_error);
        free(m->threats_error);
        free(m->verdict_cache_path);
        free(m->definitions_key_path);
        free(m->shipped_definitions_dir);

        sd_event_source_disable_unref(m->managed_reload);
        sd_event_source_disable_unref(m->managed_poll);
        sd_event_source_disable_unref(m->managed_watch);
        sd_event_unref(m->event);

        exclusion_set_unref(m->exclusions);
        policy_free(m->policy);
        settings_free(m->settings);
        strv_free(m->health_issues);
        free(m->machine_guid);
        free(m->local_settings_error);
        free(m->managed_policy_error);
        strv_free(m->managed_policy_warnings);
        free(m->log_level_path);
        free(m->local_journal_path);
        free(m->local_settings_path);
        free(m->managed_path);
        free(m->managed_dir);
        free(m->state_dir);
        return mfree(m);
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* A settings file we cannot parse is moved aside, never overwritten: the admin may want what
 * was in it. */
static int local_settings_load(Manager *m) {
        _cleanup_(settings_error_done) SettingsError error = SETTINGS_ERROR_INIT;
        _cleanup_strv_free_ char **unknown = NULL;
        SettingsLayer *layer = NULL;
        int r;

        r = settings_layer_load(m->local_settings_path, &layer, &error, &unknown);
        if (r == -ENOENT)
                return 0;
        if (r >= 0) {
                settings_layer_free(m->settings->local);
                m->settings->local = layer;
                for (char **k = unknown; k && *k; k++)
                        log_warning("Local settings '%s': unknown key %s, ignoring.",
                                    m->local_settings_path, *k);
                return 0;
        }

        _cleanup_free_ char *aside = NULL;
        if (asprintf(&aside, "%s.invalid-%lld", m->local_settings_path,
                     (long long) time(NULL)) < 0)
                return log_oom();
        if (rename(m->local_settings_path, aside) < 0)
                log_warning_errno(negative_errno(), "Failed to move '%s' aside: %m",
                                  m->local_settings_path);

        free(m->local_settings_error);
        if (asprintf(&m->local_settings_error,
                     "local settings '%s' could not be read (%s%s%s), defaults apply; the file "
                     "was kept as '%s'",
                     m->local_settings_path,
                     error.message ?: strerror(-r),
                     error.key ? " at key " : "", error.key ?: "", aside) < 0)
                m->local_settings_error = NULL;
        return log_error_errno(r, "Failed to load local settings '%s': %s",
                               m->local_settings_path, error.message ?: strerror(-r));
}

/* settings.json now holds json[0..size), and with it everything the journal held: the
 * journal goes, and the next add starts a new one on this file. A journal that cannot be
 * removed names the old file as its base, so it is ignored at the next start anyway. */
static void local_journal_reset(Manager *m, const char *json, size_t size) {
        m->local_settings_hash = settings_text_hash(json, size);
        m->local_settings_size = size;
        m->local_journal_size = 0;
        m->local_journal_usable = true;
        if (unlink(m->local_journal_path) < 0 && errno != ENOENT)
                log_warning_errno(negative_errno(), "Failed to remove '%s', ignoring: %m",
                                  m->local_journal_path);
}

/* Writes the local layer. A layer too large to be read back at the next start is not written:
 * -E2BIG, with *ret_message (may be NULL) saying so; the caller rolls the change back. */
static int local_settings_save(Manager *m, char **ret_message) {
        _cleanup_free_ char *json = NULL;
        size_t size = 0;
        int r;

        r = settings_layer_to_json(m->settings->local, &json, &size);
        if (r == -E2BIG) {
                if (ret_message &&
                    asprintf(ret_message, "the local settings would take %zu bytes, more than "
                             "the %d bytes that can be read back at the next start; nothing "
                             "was changed", size, SETTINGS_FILE_MAX_SIZE) < 0)
                        return -ENOMEM;
                return r;
        }
        if (r < 0)
                return r;
        r = write_file_atomic(m->local_settings_path, json, size, 0600);
        if (r < 0)
                return r;
        local_journal_reset(m, json, size);
        return 0;
}

/* Opens the journal for appending; a new one (truncating a stale file) gets the header that
 * ties it to settings.json as it is, and its directory entry is made durable. */
static int local_journal_open(Manager *m, int *ret_fd) {
        _cleanup_free_ char *header = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        size_t size;
        int r;

        if (m->local_journal_size > 0) {
                fd = open(m->local_journal_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
        r = settings_journal_header(m->local_settings_hash, &header, &size);
        if (r < 0)
                return r;
        fd = open(m->local_journal_path,
                  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        r = write_full(fd, header, size);
        if (r < 0)
                return r;
        dfd = open(m->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return negative_errno();
        m->local_journal_size = size;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Records in the journal that e was appended to the local list def: one line, on disk before
 * this returns. Returns 1 when it was; 0 when settings.json is to be written whole instead
 * (the journal is at its bound, or the file could come near the size that can be read back:
 * the whole write then gives the exact answer); a negative errno when the append failed, after
 * which the journal is not used until the next whole write. */
static int local_journal_append(Manager *m, const SettingDef *def, const SettingExclusion *e) {
        _cleanup_free_ char *line = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        int r;

        if (!m->local_journal_usable)
                return 0;
        r = settings_journal_line(def, e, &line, &len);
        if (r < 0)
                return r;
        /* A line is longer than what its entry adds to settings.json, so the journal's size
         * bounds the growth of the file once the journal is folded in. */
        if (m->local_journal_size + len > LOCAL_JOURNAL_MAX ||
            m->local_settings_size + m->local_journal_size + len > SETTINGS_FILE_MAX_SIZE)
                return 0;
        r = local_journal_open(m, &fd);
        if (r >= 0)
                r = write_full(fd, line, len);
        if (r >= 0 && fdatasync(fd) < 0)
                r = negative_errno();
        if (r < 0) {
                /* Perhaps half a line: never append after it. */
                m->local_journal_usable = false;
                return r;
        }
        m->local_journal_size += len;
        return 1;
}

/* At start, after settings.json was read: the exclusions added since it was written, from the
 * journal that names it as its base. Then settings.json is written whole with them, so that a
 * line a crash cut short is never followed by a new one. */
static void local_journal_load(Manager *m) {
        _cleanup_free_ char *text = NULL, *journal = NULL;
        size_t size = 0, journal_size = 0, valid = 0;
        int r;

        r = read_file_full(m->local_settings_path, SETTINGS_FILE_MAX_SIZE, &text, &size);
        if (r < 0)
                size = 0;       /* none, or moved aside as unreadable: defaults apply */
        m->local_settings_hash = settings_text_hash(text ?: "", size);
        m->local_settings_size = size;
        m->local_journal_size = 0;
        m->local_journal_usable = true;

        r = read_file_full(m->local_journal_path, LOCAL_JOURNAL_MAX, &journal, &journal_size);
        if (r == -ENOENT)
                return;
        if (r >= 0)
                r = settings_journal_replay(m->settings, journal, journal_size,
                                            m->local_settings_hash, &valid);
        if (r == -ESTALE)
                log_debug("Journal '%s' is older than '%s', which holds its entries.",
                          m->local_journal_path, m->local_settings_path);
        else if (r < 0)
                log_warning_errno(r, "Failed to read the journal '%s', ignoring: %m",
                                  m->local_journal_path);
        else {
                log_info("%d exclusion(s) added since '%s' was written read from '%s'.", r,
                         m->local_settings_path, m->local_journal_path);
                if (valid < journal_size)
                        log_warning("The last %zu bytes of '%s' were cut short by a crash, "
                                    "ignoring.", journal_size - valid, m->local_journal_path);
        }
        if (r <= 0) {
                local_journal_reset(m, text ?: "", size);
                return;
        }
        r = local_settings_save(m, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to write '%s' with the journal's exclusions: %m",
                                m->local_settings_path);
                m->local_journal_usable = false;
        }
}

/* The outcome for a failed save, after the caller rolled the layer back. */
static int local_save_failed(Manager *m, int r) {
        if (r == -E2BIG) {
                log_warning("Local settings change refused: '%s' would grow past %d bytes.",
                            m->local_settings_path, SETTINGS_FILE_MAX_SIZE);
                return MANAGER_SETTING_TOO_LARGE;
        }
        return log_error_errno(r, "Failed to save local settings to '%s': %m",
                               m->local_settings_path);
}

static void log_level_load(Manager *m) {
        _cleanup_free_ char *data = NULL;
        LogLevel level;
        int r;

        r = read_file_full(m->log_level_path, 64, &data, NULL);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_warning_errno(r, "Failed to read '%s', ignoring: %m", m->log_level_path);
                return;
        }
        data[strcspn(data, "\n")] = '\0';
        level = log_level_from_string(data);
        if (level < 0) {
                log_warning("Invalid log level '%s' in '%s', ignoring.", data, m->log_level_path);
                return;
        }
        log_set_level(level);
}

/* A stable id for this machine, made once and kept in the state directory. */
static int machine_guid_load(Manager *m) {
        _cleanup_free_ char *path = path_join(m->state_dir, "machine_guid");
        _cleanup_free_ char *data = NULL;
        char guid[SD_ID128_UUID_STRING_MAX];
        sd_id128_t id;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_full(path, 64, &data, NULL);
        if (r >= 0) {
                data[strcspn(data, "\n")] = '\0';
                if (sd_id128_from_string(data, &id) < 0)
                        r = -EBADMSG;
        }
        if (r < 0) {
                if (r != -ENOENT)
                        log_warning_errno(r, "Machine id file '%s' is unreadable or invalid (%m), "
                                          "making a new one.", path);
                r = sd_id128_randomize(&id);
                if (r < 0)
                        return r;
        }

        (void) snprintf(guid, sizeof(guid), SD_ID128_UUID_FORMAT_STR, SD_ID128_FORMAT_VAL(id));
        if (!data || !streq(data, guid)) {
                r = write_file_atomic(path, guid, strlen(guid), 0644);
                if (r < 0)
                        log_warning_errno(r, "Failed to save machine id '%s': %m", path);
        }
        m->machine_guid = strdup(guid);
        return m->machine_guid ? 0 : -ENOMEM;
}

static char *managed_error_format(const Manager *m, const SettingsError *e, int r) {
        char *s = NULL;
        int k;

        if (e->line > 0)
                k = asprintf(&s,
                             "managed configuration '%s' is invalid at line %u, column %u%s%s%s: "
                             "%s; the previous policy stays in force",
                             m->managed_path, e->line, e->column,
                             e->key ? " (key '" : "", e->key ?: "", e->key ? "')" : "",
                             e->message ?: strerror(-r));
        else
                k = asprintf(&s,
                             "managed configuration '%s' could not be read: %s; the previous "
                             "policy stays in force",
                             m->managed_path, e->message ?: strerror(-r));
        return k < 0 ? NULL : s;
}

/* The policy file decides what an unprivileged user cannot change; one that someone other
 * than root could have written is not trusted. */
static int managed_file_check_owner(const char *path, char **ret_message) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return negative_errno();
        if (S_ISLNK(st.st_mode))
                return 0;       /* read_file_full() refuses it with a clear error */
        if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                if (asprintf(ret_message, "the file must be owned by root and writable by root "
                             "only (owner uid %u, mode %04o)",
                             (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777)) < 0)
                        return -ENOMEM;
                return -EPERM;
        }
        return 0;
}

/* At most this many unknown keys are named in health; the rest are counted. */
#define MANAGED_WARNINGS_MAX 10

static bool has_non_ascii(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s >= 0x80)
                        return true;
        return false;
}

/* Unknown keys of the policy now in force become health issues: a misspelt or look-alike group
 * name silently drops every setting under it, which an administrator must see. */
static int managed_warnings_format(Manager *m, char **unknown) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = strv_length(unknown);
        int r;

        for (size_t i = 0; i < n && i < MANAGED_WARNINGS_MAX; i++) {
                char *s;

                if (asprintf(&s, "managed policy '%s': unknown key %s is ignored, with everything "
                             "under it; check its spelling%s", m->managed_path, unknown[i],
                             has_non_ascii(unknown[i]) ? " (it contains non-ASCII characters)" :
                                                         "") < 0)
                        return -ENOMEM;
                r = strv_consume(&l, s);
                if (r < 0)
                        return r;
        }
        if (n > MANAGED_WARNINGS_MAX) {
                char *s;

                if (asprintf(&s, "managed policy '%s': %zu more unknown keys are ignored (see the "
                             "log)", m->managed_path, n - MANAGED_WARNINGS_MAX) < 0)
                        return -ENOMEM;
                r = strv_consume(&l, s);
                if (r < 0)
                        return r;
        }
        strv_free(m->managed_policy_warnings);
        m->managed_policy_warnings = TAKE_PTR(l);
        return 0;
}

int manager_reload_managed(Manager *m, char ***ret_changed) {
        _cleanup_(settings_error_done) SettingsError error = SETTINGS_ERROR_INIT;
        _cleanup_(settings_snapshot_done) SettingsSnapshot before = {};
        _cleanup_strv_free_ char **unknown = NULL, **changed = NULL;
        _cleanup_(settings_layer_freep) SettingsLayer *layer = NULL;
        int r;

        r = managed_file_check_owner(m->managed_path, &error.message);
        if (r >= 0)
                r = settings_layer_load(m->managed_path, &layer, &error, &unknown);
        if (r == -ENOENT) {
                log_debug("No managed policy at '%s'.", m->managed_path);
                r = settings_layer_new(&layer);
                if (r < 0)
                        return r;
        } else if (r == -ELOOP && !error.message) {
                error.message = strdup("the file is a symbolic link; refusing to follow it");
        }
        if (r < 0) {
                char *msg = managed_error_format(m, &error, r);
                if (!msg)
                        return log_oom();
                log_error("The managed configuration was not applied: %s", msg);
                free(m->managed_policy_error);
                m->managed_policy_error = msg;
                if (ret_changed)
                        *ret_changed = NULL;
                (void) manager_commit(m, NULL, 0);     /* health says why */
                return 0;
        }

        for (char **k = unknown; k && *k; k++)
                log_warning("Managed configuration '%s': unknown key %s, ignoring.",
                            m->managed_path, *k);
        r = managed_warnings_format(m, unknown);
        if (r < 0)
                return r;

        r = settings_snapshot(m->settings, &before);
        if (r < 0)
                return r;

        settings_layer_free(m->settings->managed);
        m->settings->managed = TAKE_PTR(layer);
        m->managed_policy_error = mfree(m->managed_policy_error);

        r = settings_changed_since(m->settings, &before, &changed);
        if (r < 0)
                return r;
        for (char **c = changed; c && *c; c++)
                log_info("Setting '%s' changed by the managed configuration.", *c);
        (void) manager_commit(m, changed, 0);

        if (ret_changed)
                *ret_changed = TAKE_PTR(changed);
        return 0;
}

static int managed_reload_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **changed = NULL;
        int r;

        r = manager_reload_managed(m, &changed);
        if (r < 0)
                log_error_errno(r, "Failed to reload the managed configuration: %m");
        return 0;
}

/* Editors and configuration tools write in bursts (temp file, rename, chmod): wait briefly so
 * one change is one reload. */
static void managed_reload_schedule(Manager *m) {
        int r;

        if (m->managed_reload) {
                (void) sd_event_source_set_time_relative(m->managed_reload,
                                                         MANAGED_RELOAD_DELAY_USEC);
                (void) sd_event_source_set_enabled(m->managed_reload, SD_EVENT_ONESHOT);
                return;
        }
        r = sd_event_add_time_relative(m->event, &m->managed_reload, CLOCK_MONOTONIC,
                                       MANAGED_RELOAD_DELAY_USEC, 0, managed_reload_handler, m);
        if (r < 0)
                log_error_errno(r, "Failed to schedule a reload of the managed policy: %m");
}

static int managed_inotify_handler(sd_event_source *s, const struct inotify_event *event,
                                   void *userdata) {
        Manager *m = userdata;

        if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                /* The directory itself went away: poll until it is back. */
                m->managed_watch = sd_event_source_disable_unref(m->managed_watch);
                (void) managed_watch_start(m);
                managed_reload_schedule(m);
                return 0;
        }
        if (event->len > 0 && streq(event->name, MANAGED_POLICY_FILE))
                managed_reload_schedule(m);
        return 0;
}

static int managed_poll_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        struct stat st;

        if (stat(m->managed_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                /* A time source fires once: arm it again. */
                (void) sd_event_source_set_time_relative(s, MANAGED_POLL_USEC);
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }

        m->managed_poll = sd_event_source_disable_unref(m->managed_poll);
        (void) managed_watch_start(m);
        managed_reload_schedule(m);
        return 0;
}

static int managed_watch_start(Manager *m) {
        int r;

        r = sd_event_add_inotify(m->event, &m->managed_watch, m->managed_dir,
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                 IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                 IN_ONLYDIR,
                                 managed_inotify_handler, m);
        if (r >= 0)
                return 0;
        if (r != -ENOENT && r != -ENOTDIR)
                return log_error_errno(r, "Failed to watch '%s': %m", m->managed_dir);

        log_info("Managed policy directory '%s' does not exist; checking for it every %u s.",
                 m->managed_dir, (unsigned) (MANAGED_POLL_USEC / 1000000));
        if (m->managed_poll)
                return 0;
        return sd_event_add_time_relative(m->event, &m->managed_poll, CLOCK_MONOTONIC,
                                          MANAGED_POLL_USEC, 0, managed_poll_handler, m);
}

int manager_startup(Manager *m) {
        int r;

        r = mkdir_parents(m->state_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create state directory '%s': %m",
                                       m->state_dir);

        (void) local_settings_load(m);
        local_journal_load(m);
        log_level_load(m);
        r = machine_guid_load(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the machine id: %m");

        r = managed_watch_start(m);
        if (r < 0)
                return r;
        r = manager_reload_managed(m, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to load the managed configuration: %m");

        r = detection_state_load(m);
        if (r < 0)
                return r;
        r = manager_threats_startup(m);
        if (r < 0)
                return r;
        m->rtp_available = rtp_available();
        (void) manager_load_definitions(m);     /* starts real-time protection */
        if (!m->rules)
                manager_rtp_apply(m);           /* ... or says why it cannot */
        manager_update_schedule(m);
        manager_health_refresh(m);
        return 0;
}

/* The threat history, the scan history and the verdict cache; unreadable files become health
 * issues (and are kept aside by their modules), never a reason not to start. */
static int detection_state_load(Manager *m) {
        _cleanup_free_ char *threats_path = path_join(m->state_dir, "threats.json");
        _cleanup_free_ char *scans_path = path_join(m->state_dir, "scans.json");
        int r;

        if (!threats_path || !scans_path)
                return -ENOMEM;
        r = threat_store_new(threats_path, &m->threats);
        if (r < 0)
                return r;
        threat_store_set_limits(m->threats, m->policy->retention_days,
                                m->policy->history_max_items);
        r = threat_store_load(m->threats, &m->threats_error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* The store refuses changes until it has read its file: say so in health. */
                if (!m->threats_error &&
                    asprintf(&m->threats_error, "the threat history '%s' could not be read (%s); "
                             "detections are not recorded", threats_path, strerror(-r)) < 0)
                        m->threats_error = NULL;
                log_error("Threat history: %s", m->threats_error ?: strerror(-r));
        } else if (m->threats_error)
                log_warning("Threat history: %s", m->threats_error);
        /* Retention is applied by manager_threats_startup(), with the quarantine open, so
         * that copies go with their records. */

        r = scan_history_load(&m->scan_history, scans_path);
        if (r == -EBADMSG)
                log_warning("The scan history '%s' was unreadable; kept aside, starting empty.",
                            scans_path);
        else if (r < 0)
                return r;

        r = verdict_cache_new(0, &m->verdict_cache);
        if (r < 0)
                return r;
        r = verdict_cache_load(m->verdict_cache, m->verdict_cache_path);
        if (r < 0 && r != -ENOENT)
                log_info_errno(r, "Verdict cache '%s' not used: %m", m->verdict_cache_path);
        return 0;
}

/* Applies a change to the local layer through apply(), persists it, and rolls the layer back
 * when the file cannot be written, so memory and disk never disagree. */
static int local_change(Manager *m, const SettingDef *def, const SettingValue *value,
                        char **ret_message, char ***ret_changed) {
        _cleanup_(settings_snapshot_done) SettingsSnapshot before = {};
        _cleanup_(setting_value_done) SettingValue old = {};
        const SettingValue *cur;
        bool had_old;
        int r;

        cur = settings_layer_get(m->settings->local, def);
        had_old = cur != NULL;
        if (had_old) {
                if (value && setting_value_equal(cur, value))
                        return MANAGER_SETTING_UNCHANGED;
                r = setting_value_copy(cur, &old);
                if (r < 0)
                        return r;
        } else if (!value)
                return MANAGER_SETTING_UNCHANGED;

        r = settings_snapshot(m->settings, &before);
        if (r < 0)
                return r;

        if (value) {
                r = settings_layer_set(m->settings->local, def, value, ret_message);
                if (r == -EINVAL)
                        return MANAGER_SETTING_INVALID;
        } else
                r = settings_layer_unset(m->settings->local, def);
        if (r < 0)
                return r;

        r = local_settings_save(m, ret_message);
        if (r < 0) {
                if (had_old)
                        (void) settings_layer_set(m->settings->local, def, &old, NULL);
                else
                        (void) settings_layer_unset(m->settings->local, def);
                return local_save_failed(m, r);
        }

        manager_pending_wrote(m);      /* the disk takes writes again */
        r = settings_changed_since(m->settings, &before, ret_changed);
        if (r >= 0)
                (void) manager_commit(m, *ret_changed, 0);
        return r;
}

/* Reapply handlers: each runs when an aspect it declared interest in changed. Startup applies
 * everything once loaded (m->threats is set last), so before that nothing runs. */
static void reapply_exclusions(Manager *m, char **changed, unsigned flags) {
        /* An add extended the kept set in place already (manager_exclusions_added()). */
        if (!(flags & MANAGER_CHANGE_EXCLUSION_ADDED))
                manager_exclusions_changed(m, changed);
}

static void reapply_update_timer(Manager *m, char **changed, unsigned flags) {
        if (m->threats)
                manager_update_schedule(m);
}

static void reapply_threat_limits(Manager *m, char **changed, unsigned flags) {
        if (m->threats)
                threat_store_set_limits(m->threats, m->policy->retention_days,
                                        m->policy->history_max_items);
}

static void reapply_rtp(Manager *m, char **changed, unsigned flags) {
        if (m->threats)
                manager_rtp_apply(m);
}

/* Who reapplies what, in this order (the exclusion set is up to date before RTP reads it). */
static const struct {
        unsigned id;                    /* MANAGER_REAPPLY_* */
        uint64_t aspects;               /* POLICY_ASPECT_* it declared interest in */
        unsigned flags;                 /* MANAGER_CHANGE_* it declared interest in */
        void (*reapply)(Manager *m, char **changed, unsigned flags);
} reapply_table[] = {
        { MANAGER_REAPPLY_EXCLUSIONS, POLICY_ASPECT_EXCLUSIONS, 0, reapply_exclusions },
        { MANAGER_REAPPLY_UPDATE_TIMER, POLICY_ASPECT_UPDATE, 0, reapply_update_timer },
        { MANAGER_REAPPLY_THREAT_LIMITS, POLICY_ASPECT_THREAT_LIMITS, 0, reapply_threat_limits },
        { MANAGER_REAPPLY_RTP, POLICY_ASPECT_RTP,
          MANAGER_CHANGE_DEFINITIONS | MANAGER_CHANGE_RESTORED, reapply_rtp },
};

unsigned manager_reapply_for(uint64_t aspects, unsigned flags) {
        unsigned ids = 0;

        for (size_t i = 0; i < ELEMENTSOF(reapply_table); i++)
                if ((reapply_table[i].aspects & aspects) || (reapply_table[i].flags & flags))
                        ids |= reapply_table[i].id;
        return ids;
}

int manager_commit(Manager *m, char **changed, unsigned flags) {
        _cleanup_(policy_freep) Policy *old = NULL;
        Policy *new = NULL;
        uint64_t aspects;
        unsigned ids;
        int r;

        r = policy_new(m->settings, &new);
        if (r < 0) {
                log_error_errno(r, "Failed to build the policy snapshot, keeping the one in "
                                "force: %m");
                manager_health_refresh(m);
                return r;
        }
        old = m->policy;
        m->policy = new;
        /* Exclusion lists are not in the snapshot: their names say when they changed. */
        aspects = policy_diff(old, new) | policy_aspects_of_names(changed);
        ids = manager_reapply_for(aspects, flags);
        for (uint64_t a = 1; a & _POLICY_ASPECT_ALL; a <<= 1)
                if (aspects & a)
                        log_debug("Policy aspect '%s' changed.", policy_aspect_to_string(a));
        for (size_t i = 0; i < ELEMENTSOF(reapply_table); i++)
                if (ids & reapply_table[i].id)
                        reapply_table[i].reapply(m, changed, flags);

        if (flags & MANAGER_CHANGE_DEFINITIONS)
                manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_DEFINITIONS_CHANGED });
        if (!strv_isempty(changed))
                manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_SETTINGS_CHANGED,
                                                  .names = changed });
        manager_health_refresh(m);
        return (int) ids;
}

static const char * const event_names[_MANAGER_EVENT_MAX] = {
        [MANAGER_EVENT_SETTINGS_CHANGED] = "settings-changed",
        [MANAGER_EVENT_HEALTH_CHANGED] = "health-changed",
        [MANAGER_EVENT_LOG_LEVEL_CHANGED] = "log-level-changed",
        [MANAGER_EVENT_DEFINITIONS_CHANGED] = "definitions-changed",
        [MANAGER_EVENT_RTP_CHANGED] = "rtp-changed",
        [MANAGER_EVENT_SCAN_ADDED] = "scan-added",
        [MANAGER_EVENT_SCAN_CHANGED] = "scan-changed",
        [MANAGER_EVENT_SCAN_FINISHED] = "scan-finished",
        [MANAGER_EVENT_SCANS_RUNNING_CHANGED] = "scans-running-changed",
        [MANAGER_EVENT_THREAT_DETECTED] = "threat-detected",
        [MANAGER_EVENT_UPDATE_FINISHED] = "update-finished",
        [MANAGER_EVENT_REQUEST_FINISHED] = "request-finished",
};

const char *manager_event_type_to_string(ManagerEventType t) {
        return t >= 0 && t < _MANAGER_EVENT_MAX ? event_names[t] : NULL;
}

void manager_set_event_handler(Manager *m, ManagerEventHandler handler, void *userdata) {
        m->event_handler = handler;
        m->event_userdata = userdata;
}

void *manager_event_userdata(Manager *m) {
        return m->event_userdata;
}

void manager_emit(Manager *m, const ManagerEvent *e) {
        if (m->event_handler)
                m->event_handler(m, e, m->event_userdata);
}

uint64_t manager_request_new(Manager *m) {
        return ++m->last_request;
}

void manager_request_finished(Manager *m, uint64_t id, int r, const char *message,
                              const char *result) {
        manager_emit(m, &(ManagerEvent) {
                .type = MANAGER_EVENT_REQUEST_FINISHED,
                .request = &(ManagerRequestResult) {
                        .id = id, .r = r, .message = message, .result = result,
                },
        });
}

void manager_health_refresh(Manager *m) {
        _cleanup_strv_free_ char **issues = NULL;

        if (manager_health_issues(m, &issues) < 0) {
                log_oom();
                return;
        }
        if (strv_equal(issues, m->health_issues))
                return;
        strv_free(m->health_issues);
        m->health_issues = TAKE_PTR(issues);
        manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_HEALTH_CHANGED });
}

static int check_local_change(Manager *m, const SettingDef *def) {
        switch (settings_check_local_change(m->settings, def)) {
        case SETTINGS_CHANGE_ALLOWED:
                return 0;
        case SETTINGS_E_MANAGED:
                return MANAGER_SETTING_MANAGED;
        case SETTINGS_E_ADMIN_ONLY:
                return MANAGER_SETTING_ADMIN_ONLY;
        default:
                return -EINVAL;
        }
}

/* Under a merge policy the managed pairs win per key: a local pair that contradicts one would be
 * accepted and never apply, so say it is managed instead. */
static bool pairs_contradict_managed(Manager *m, const SettingDef *def, const SettingValue *v) {
        const SettingValue *managed = settings_layer_get(m->settings->managed, def);

        if (def->type != SETTING_PAIR_LIST || !managed)
                return false;
        for (size_t i = 0; v->strv && v->strv[i] && v->strv[i + 1]; i += 2)
                for (size_t j = 0; managed->strv && managed->strv[j] && managed->strv[j + 1];
                     j += 2)
                        if (streq(v->strv[i], managed->strv[j]) &&
                            !streq(v->strv[i + 1], managed->strv[j + 1]))
                                return true;
        return false;
}

int manager_set_setting(Manager *m, const SettingDef *def, const SettingValue *value,
                        char **ret_message, char ***ret_changed) {
        int r;

        *ret_changed = NULL;
        r = setting_value_validate(def, value, ret_message);
        if (r < 0)
                return MANAGER_SETTING_INVALID;
        r = check_local_change(m, def);
        if (r != 0)
                return r;
        if (pairs_contradict_managed(m, def, value))
                return MANAGER_SETTING_MANAGED;
        r = local_change(m, def, value, ret_message, ret_changed);
        if (r == 0) {
                _cleanup_free_ char *s = setting_value_to_string(value);
                log_info("Setting '%s' set locally to %s.", def->name, s ?: "?");
        }
        return r;
}

int manager_add_local_exclusion(Manager *m, const SettingDef *def, const SettingExclusion *e,
                                char **ret_message, char ***ret_changed) {
        bool was_set = settings_layer_get(m->settings->local, def) != NULL;
        _cleanup_strv_free_ char **changed = NULL;
        int r, effective;

        *ret_changed = NULL;
        r = check_local_change(m, def);
        if (r != 0)
                return r;
        effective = settings_add_local_exclusion(m->settings, def, e, ret_message);
        if (effective == -EINVAL)
                return MANAGER_SETTING_INVALID;
        if (effective < 0)
                return effective;
        /* One line in the journal, or, every so often, settings.json whole. */
        r = local_journal_append(m, def, e);
        if (r < 0)
                log_warning_errno(r, "Failed to append to '%s', writing '%s' whole: %m",
                                  m->local_journal_path, m->local_settings_path);
        if (r <= 0)
                r = local_settings_save(m, ret_message);
        if (r < 0) {
                settings_drop_last_local_exclusion(m->settings, def, was_set);
                return local_save_failed(m, r);
        }
        /* Only def can have changed: no snapshot of every setting needed. */
        changed = calloc(1, sizeof(char *));
        if (!changed || (effective && strv_extend(&changed, def->name) < 0))
                return -ENOMEM;
        if (effective) {
                /* The set gains e instead of being compiled again. */
                manager_exclusions_added(m, e);
                (void) manager_commit(m, changed, MANAGER_CHANGE_EXCLUSION_ADDED);
        }
        *ret_changed = TAKE_PTR(changed);
        return 0;
}

int manager_reset_setting(Manager *m, const SettingDef *def, char ***ret_changed) {
        int r;

        *ret_changed = NULL;
        r = check_local_change(m, def);
        if (r != 0)
                return r;
        r = local_change(m, def, NULL, NULL, ret_changed);
        if (r == 0)
                log_info("Setting '%s' reset to its managed or default value.", def->name);
        return r;
}

int manager_set_log_level(Manager *m, LogLevel level, bool persist) {
        const char *name = log_level_to_string(level);
        bool changed;
        int r;

        if (!name)
                return -EINVAL;
        if (persist) {
                r = write_file_atomic(m->log_level_path, name, strlen(name), 0644);
                if (r < 0)
                        return log_error_errno(r, "Failed to save log level to '%s': %m",
                                               m->log_level_path);
        }
        changed = log_get_level() != level;
        log_set_level(level);
        log_info("Log level set to '%s'%s.", name, persist ? " and persisted" : "");
        if (changed)
                manager_emit(m, &(ManagerEvent) { .type = MANAGER_EVENT_LOG_LEVEL_CHANGED });
        return 0;
}

int manager_health_issues(Manager *m, char ***ret) {
        _cleanup_strv_free_ char **issues = NULL;
        int r;

        if (m->managed_policy_error) {
                r = strv_extend(&issues, m->managed_policy_error);
                if (r < 0)
                        return r;
        }
        for (char **w = m->managed_policy_warnings; w && *w; w++) {
                r = strv_extend(&issues, *w);
                if (r < 0)
                        return r;
        }
        if (m->local_settings_error) {
                r = strv_extend(&issues, m->local_settings_error);
                if (r < 0)
                        return r;
        }

        if (m->threats_error) {
                r = strv_extend(&issues, m->threats_error);
                if (r < 0)
                        return r;
        }
        if (!m->rules || m->definitions_error) {
                _cleanup_free_ char *s = NULL;
                if (!m->rules && asprintf(&s, "no security intelligence loaded: %s",
                                          m->definitions_error ?: "no definition pack") < 0)
                        return -ENOMEM;
                r = s ? strv_consume(&issues, TAKE_PTR(s)) :
                        strv_extend(&issues, m->definitions_error);
                if (r < 0)
                        return r;
        }

        if (m->rules && manager_update_overdue(m)) {
                _cleanup_free_ char *s = NULL;
                if (asprintf(&s, "definition updates are overdue: none has succeeded in the "
                             "last %d update intervals%s%s",
                             MANAGER_UPDATE_OVERDUE_INTERVALS,
                             m->update_fail_reason ? "; the last one failed: " : "",
                             m->update_fail_reason ?: "") < 0)
                        return -ENOMEM;
                r = strv_consume(&issues, TAKE_PTR(s));
                if (r < 0)
                        return r;
        }

        if (m->definitions_key_is_test) {
                r = strv_extend(&issues, "definitions signed with the public test key are trusted");
                if (r < 0)
                        return r;
        }

        if (m->quarantine_error) {
                r = strv_extend(&issues, m->quarantine_error);
                if (r < 0)
                        return r;
        }
        r = manager_pending_health(m, &issues);
        if (r < 0)
                return r;
        if (m->rtp_error && m->policy && m->policy->enforcement != POLICY_ENFORCEMENT_ON_DEMAND) {
                _cleanup_free_ char *s = NULL;
                if (asprintf(&s, "real-time protection is enabled but not running: %s",
                             m->rtp_error) < 0)
                        return -ENOMEM;
                r = strv_consume(&issues, TAKE_PTR(s));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(issues);
        return 0;
}
