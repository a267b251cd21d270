/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mdatp config`, `mdatp edr` and `mdatp log` (see config.h). Owns no state: the tables are
 * constant, and each handler opens its own bus connection.
 *
 * Success prints the reference's exact strings ("Configuration property updated." and "Log level
 * configured successfully"): scripts compare them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "config-verbs.h"
#include "format.h"
#include "report.h"
#include "util/macro.h"
#include "util/strv.h"

#define CONFIG_UPDATED "Configuration property updated."
#define LOG_LEVEL_CONFIGURED "Log level configured successfully"

#define SETTING_ENFORCEMENT_LEVEL "antivirusEngine.enforcementLevel"
#define SETTING_EDR_TAGS "edr.tags"
#define EDR_TAG_KEY "GROUP"

static const char * const config_enabled_disabled[] = { "enabled", "disabled", NULL };

/* Rows of config_properties[], named so that the verb tables below can point at them. */
enum {
        CONFIG_REAL_TIME_PROTECTION,
        CONFIG_PASSIVE_MODE,
        CONFIG_BEHAVIOR_MONITORING,
        CONFIG_CLOUD,
        CONFIG_CLOUD_DIAGNOSTIC,
        CONFIG_CLOUD_SAMPLE_SUBMISSION,
        CONFIG_SCAN_THREADS,
        CONFIG_SCAN_AFTER_UPDATE,
        CONFIG_SCAN_ARCHIVES,
        CONFIG_FILE_HASH,
        CONFIG_RTP_STATISTICS,
        CONFIG_EBPF_PROVIDER,
        CONFIG_NETWORK_PROTECTION,
        CONFIG_PROXY,
        CONFIG_LOG_MAX_CURRENT,
        CONFIG_LOG_MAX_ROTATED,
        _CONFIG_PROPERTY_MAX,
};

/* An enabled|disabled option of one setting. */
#define TOGGLE(cli_name, setting_name, k)                                       \
        { .name = cli_name, .flag = "--value", .setting = setting_name,         \
          .kind = k, .accepted = config_enabled_disabled }

static const ConfigProperty config_properties[_CONFIG_PROPERTY_MAX] = {
        [CONFIG_REAL_TIME_PROTECTION] = TOGGLE("real-time-protection", SETTING_ENFORCEMENT_LEVEL,
                                               CONFIG_KIND_REAL_TIME),
        [CONFIG_PASSIVE_MODE] = TOGGLE("passive-mode", SETTING_ENFORCEMENT_LEVEL,
                                       CONFIG_KIND_PASSIVE),
        [CONFIG_BEHAVIOR_MONITORING] = TOGGLE("behavior-monitoring",
                                              "antivirusEngine.behaviorMonitoring",
                                              CONFIG_KIND_ENUM),
        [CONFIG_CLOUD] = TOGGLE("cloud", "cloudService.enabled", CONFIG_KIND_BOOL),
        [CONFIG_CLOUD_DIAGNOSTIC] = {
                .name = "cloud-diagnostic", .flag = "--value",
                .setting = "cloudService.diagnosticLevel", .kind = CONFIG_KIND_ENUM,
                .accepted = config_enabled_disabled,
                .values = (const char * const[]) { "optional", "required", NULL },
        },
        [CONFIG_CLOUD_SAMPLE_SUBMISSION] = {
                .name = "cloud-automatic-sample-submission", .flag = "--value",
                .setting = "cloudService.automaticSampleSubmissionConsent",
                .kind = CONFIG_KIND_ENUM,
                .accepted = (const char * const[]) {
                        "enabled", "disabled", "none", "safe", "all", NULL },
                .values = (const char * const[]) { "safe", "none", "none", "safe", "all", NULL },
        },
        [CONFIG_SCAN_THREADS] = {
                .name = "maximum-on-demand-scan-threads", .flag = "--value",
                .setting = "antivirusEngine.maximumOnDemandScanThreads", .kind = CONFIG_KIND_INT,
                .min = 1, .max = 64, .expected = "an integer from 1 to 64",
        },
        [CONFIG_SCAN_AFTER_UPDATE] = TOGGLE("scan-after-definition-update",
                                            "antivirusEngine.scanAfterDefinitionUpdate",
                                            CONFIG_KIND_BOOL),
        [CONFIG_SCAN_ARCHIVES] = TOGGLE("scan-archives", "antivirusEngine.scanArchives",
                                        CONFIG_KIND_BOOL),
        [CONFIG_FILE_HASH] = TOGGLE("enable-file-hash-computation",
                                    "antivirusEngine.enableFileHashComputation", CONFIG_KIND_BOOL),
        [CONFIG_RTP_STATISTICS] = TOGGLE("real-time-protection-statistics",
                                         "antivirusEngine.realTimeProtectionStatistics",
                                         CONFIG_KIND_BOOL),
        [CONFIG_EBPF_PROVIDER] = TOGGLE("ebpf-supplementary-event-provider",
                                        "features.ebpfSupplementaryEventProvider",
                                        CONFIG_KIND_ENUM),
        [CONFIG_NETWORK_PROTECTION] = {
                .name = "enforcement-level", .flag = "--value",
                .setting = "networkProtection.enforcementLevel", .kind = CONFIG_KIND_ENUM,
                .accepted = (const char * const[]) { "disabled", "audit", "block", NULL },
        },
        [CONFIG_PROXY] = {
                .name = "proxy", .flag = "--value", .setting = "cloudService.proxy",
                .kind = CONFIG_KIND_URL, .expected = "a URL of the form http://host:port",
        },
        /* The range of the settings schema; the daemon checks it again. */
        [CONFIG_LOG_MAX_CURRENT] = {
                .name = "max-current-size", .flag = "--size",
                .setting = "logRotation.maxCurrentSizeMb", .kind = CONFIG_KIND_INT,
                .min = 1, .max = 10240, .expected = "a size in megabytes from 1 to 10240",
        },
        [CONFIG_LOG_MAX_ROTATED] = {
                .name = "max-rotated-size", .flag = "--size",
                .setting = "logRotation.maxRotatedSizeMb", .kind = CONFIG_KIND_INT,
                .min = 1, .max = 10240, .expected = "a size in megabytes from 1 to 10240",
        },
};

const ConfigProperty *config_property_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(config_properties); i++)
                if (streq(config_properties[i].name, name))
                        return &config_properties[i];
        return NULL;
}

int config_property_convert(const ConfigProperty *p, const char *text, CliValue *ret) {
        CliValue v;
        int i, r;

        switch (p->kind) {
        case CONFIG_KIND_BOOL:
                i = args_lookup(p->accepted, text);
                if (i < 0)
                        return -EINVAL;
                *ret = cli_value_bool(streq(text, "enabled"));
                return 0;
        case CONFIG_KIND_ENUM:
                i = args_lookup(p->accepted, text);
                if (i < 0)
                        return -EINVAL;
                return cli_value_new_string(p->values ? p->values[i] : p->accepted[i], ret);
        case CONFIG_KIND_INT:
                r = cli_value_from_text("i", text, &v);
                if (r < 0)
                        return r;
                if (v.i < p->min || v.i > p->max)
                        return -EINVAL;
                *ret = v;
                return 0;
        case CONFIG_KIND_URL:
                /* Only the shape: the daemon checks host and port and says what is wrong. */
                if (!strneq(text, "http://", strlen("http://")) || !text[strlen("http://")])
                        return -EINVAL;
                return cli_value_new_string(text, ret);
        default:
                return -EINVAL;
        }
}

const char *config_enforcement_level_next(ConfigKind kind, bool enable, const char *current) {
        if (kind == CONFIG_KIND_REAL_TIME) {
                if (enable)
                        return "real_time";
                /* Turning RTP off from passive stays passive: passive is already off. */
                return streq(current, "real_time") ? "on_demand" : current;
        }
        if (enable)
                return "passive";
        return streq(current, "passive") ? "real_time" : current;
}

int config_tags_remove(const CliValue *tags, const char *key, CliValue *ret) {
        _cleanup_strv_free_ char **l = NULL;
        bool removed = false;
        int r;

        for (char **p = tags->type == CLI_VALUE_PAIRS ? tags->strv : NULL; p && p[0] && p[1];
             p += 2) {
                if (streq(p[0], key)) {
                        removed = true;
                        continue;
                }
                r = strv_extend(&l, p[0]);
                if (r < 0)
                        return r;
                r = strv_extend(&l, p[1]);
                if (r < 0)
                        return r;
        }

        *ret = (CliValue) { .type = CLI_VALUE_PAIRS, .strv = TAKE_PTR(l) };
        return removed;
}

/* Reports a value the command line gave that a row does not accept. */
static int config_report_invalid(const ConfigProperty *p, const char *text) {
        if (p->accepted)
                return args_invalid_value(text, p->name, p->accepted);
        return report_error(CLI_EXIT_USAGE, -EINVAL, "Invalid value '%s' for %s: expected %s",
                            text, p->name, p->expected);
}

/* Sets one setting and says so; every failure is reported on the way. */
static int config_set(const char *setting, const CliValue *v) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_settings_set(bus, setting, v);
        if (r < 0)
                return r;
        printf("%s\n", CONFIG_UPDATED);
        return 0;
}

/* real-time-protection and passive-mode: both move antivirusEngine.enforcementLevel. */
static int config_enforcement_run(const ConfigProperty *p, bool enable) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(cli_value_done) CliValue current = CLI_VALUE_INIT, next = CLI_VALUE_INIT;
        const char *level;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_settings_get(bus, p->setting, &current);
        if (r < 0)
                return r;
        if (current.type != CLI_VALUE_STRING)
                return bus_report_bad_reply(-EBADMSG);

        level = config_enforcement_level_next(p->kind, enable, current.s);
        if (!streq(level, current.s)) {
                r = cli_value_new_string(level, &next);
                if (r < 0)
                        return report_error(CLI_EXIT_FAILURE, r, "Out of memory.");
                r = bus_settings_set(bus, p->setting, &next);
                if (r < 0)
                        return r;
        }
        printf("%s\n", CONFIG_UPDATED);
        return 0;
}

/* Every table-driven leaf: `config <name> --value V` and friends; userdata is the row. */
static int config_property_run(const CliInvocation *inv) {
        const ConfigProperty *p = inv->verb->userdata;
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        CliFlag flags[] = {
                { .name = p->flag, .required = true },
        };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;

        if (p->kind == CONFIG_KIND_REAL_TIME || p->kind == CONFIG_KIND_PASSIVE) {
                if (args_lookup(p->accepted, flags[0].value) < 0)
                        return config_report_invalid(p, flags[0].value);
                return config_enforcement_run(p, streq(flags[0].value, "enabled"));
        }

        r = config_property_convert(p, flags[0].value, &v);
        if (r == -EINVAL)
                return config_report_invalid(p, flags[0].value);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Out of memory.");
        return config_set(p->setting, &v);
}

/* Leaves that reset one setting to its managed or default value; userdata is its name. */
static int config_reset_setting(const char *setting) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_settings_reset(bus, setting);
        if (r < 0)
                return r;
        printf("%s\n", CONFIG_UPDATED);
        return 0;
}

static int config_reset_fixed_run(const CliInvocation *inv) {
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;
        return config_reset_setting(inv->verb->userdata);
}

/* `config set --name <setting> --value <text>`: the type comes from the current value. */
static int config_generic_set_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(cli_value_done) CliValue current = CLI_VALUE_INIT, v = CLI_VALUE_INIT;
        CliFlag flags[] = {
                { .name = "--name", .required = true },
                { .name = "--value", .required = true },
        };
        const char *signature;
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_settings_get(bus, flags[0].value, &current);
        if (r < 0)
                return r;

        signature = cli_value_signature(&current);
        if (!signature)
                return bus_report_bad_reply(-EBADMSG);
        r = cli_value_from_text(signature, flags[1].value, &v);
        if (r == -EOPNOTSUPP)
                return report_error(CLI_EXIT_USAGE, r,
                                    "Setting '%s' holds values of type %s, which "
                                    "'mdatp config set' cannot build from text.",
                                    flags[0].value, signature);
        if (r == -EINVAL)
                return report_error(CLI_EXIT_USAGE, r, "Invalid value '%s' for %s: expected %s",
                                    flags[1].value, flags[0].value,
                                    cli_value_text_expected(signature));
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Out of memory.");

        r = bus_settings_set(bus, flags[0].value, &v);
        if (r < 0)
                return r;
        printf("%s\n", CONFIG_UPDATED);
        return 0;
}

/* `config reset --name <setting>`. */
static int config_generic_reset_run(const CliInvocation *inv) {
        CliFlag flags[] = {
                { .name = "--name", .required = true },
        };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        return config_reset_setting(flags[0].value);
}

/* Settings.List as a JSON array of {name, value, isManaged, source}. Caller frees. */
static int config_list_json(const CliValueList *l, char **ret) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        g = format_json_new();
        if (!g)
                return -ENOMEM;
        r = format_json_open_array(g);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n; i++) {
                r = format_json_open_object(g);
                if (r < 0)
                        return r;
                r = format_json_string(g, "name");
                if (r < 0)
                        return r;
                r = format_json_string(g, l->items[i].name);
                if (r < 0)
                        return r;
                r = format_json_string(g, "value");
                if (r < 0)
                        return r;
                r = cli_value_to_json(g, &l->items[i].value);
                if (r < 0)
                        return r;
                r = format_json_string(g, "isManaged");
                if (r < 0)
                        return r;
                r = format_json_bool(g, l->items[i].managed);
                if (r < 0)
                        return r;
                r = format_json_string(g, "source");
                if (r < 0)
                        return r;
                r = format_json_string(g, l->items[i].source);
                if (r < 0)
                        return r;
                r = format_json_close_object(g);
                if (r < 0)
                        return r;
        }
        r = format_json_close_array(g);
        if (r < 0)
                return r;
        return format_json_take(g, ret);
}

/* `config list`: `name : value [managed]` lines, or JSON. */
static int config_list_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(cli_value_list_done) CliValueList l = CLI_VALUE_LIST_INIT;
        _cleanup_free_ char *json = NULL;
        int r;

        r = args_parse(inv, NULL, 0);
        if (r != 0)
                return r < 0 ? r : 0;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_settings_list(bus, &l);
        if (r < 0)
                return r;

        if (inv->json) {
                r = config_list_json(&l, &json);
                if (r < 0)
                        return report_error(CLI_EXIT_FAILURE, r, "Failed to format settings: %s",
                                            strerror(-r));
                printf("%s\n", json);
                return 0;
        }

        for (size_t i = 0; i < l.n; i++) {
                _cleanup_free_ char *text = NULL;

                r = cli_value_to_text(&l.items[i].value, &text);
                if (r < 0)
                        return report_error(CLI_EXIT_FAILURE, r, "Out of memory.");
                printf("%s : %s%s\n", l.items[i].name, text,
                       l.items[i].managed ? " [managed]" : "");
        }
        return 0;
}

/* `edr tag set --name GROUP --value TAG`: edr.tags becomes [(GROUP, TAG)]. */
static int edr_tag_set_run(const CliInvocation *inv) {
        static const char * const keys[] = { EDR_TAG_KEY, NULL };
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        CliFlag flags[] = {
                { .name = "--name", .required = true },
                { .name = "--value", .required = true },
        };
        char **l;
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        if (args_lookup(keys, flags[0].value) < 0)
                return args_invalid_value(flags[0].value, "--name", keys);

        /* Only one key exists, so setting it replaces the whole list. */
        l = strv_copy((char * const[]) { (char *) EDR_TAG_KEY, (char *) flags[1].value, NULL });
        if (!l)
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");
        v = (CliValue) { .type = CLI_VALUE_PAIRS, .strv = l };
        return config_set(SETTING_EDR_TAGS, &v);
}

/* `edr tag remove --tag-name NAME`: edr.tags without NAME. */
static int edr_tag_remove_run(const CliInvocation *inv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(cli_value_done) CliValue current = CLI_VALUE_INIT, next = CLI_VALUE_INIT;
        CliFlag flags[] = {
                { .name = "--tag-name", .required = true },
        };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;

        r = bus_open(&bus);
        if (r < 0)
                return r;
        r = bus_settings_get(bus, SETTING_EDR_TAGS, &current);
        if (r < 0)
                return r;
        if (current.type != CLI_VALUE_PAIRS)
                return bus_report_bad_reply(-EBADMSG);

        r = config_tags_remove(&current, flags[0].value, &next);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Out of memory.");
        /* Removing a tag that is not there leaves nothing to do; that is still success. */
        if (r > 0) {
                r = bus_settings_set(bus, SETTING_EDR_TAGS, &next);
                if (r < 0)
                        return r;
        }
        printf("%s\n", CONFIG_UPDATED);
        return 0;
}

/* `edr group-ids --group-id ID`. */
static int edr_group_ids_run(const CliInvocation *inv) {
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        CliFlag flags[] = {
                { .name = "--group-id", .required = true },
        };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        r = cli_value_new_string(flags[0].value, &v);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Out of memory.");
        return config_set("edr.groupIds", &v);
}

/* `edr early-preview enabled|disabled`. */
static int edr_early_preview_run(const CliInvocation *inv) {
        _cleanup_(cli_value_done) CliValue v = CLI_VALUE_INIT;
        /* The reference syntax is positional; --value is accepted like every other toggle. */
        CliFlag flags[] = {
                { .name = NULL },
                { .name = "--value" },
        };
        const char *value;
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        if (flags[0].value && flags[1].value)
                return args_usage_error(inv, "Give the value once.");
        value = flags[0].value ?: flags[1].value;
        if (!value)
                return args_usage_error(inv, "Missing argument.");
        if (args_lookup(config_enabled_disabled, value) < 0)
                return args_invalid_value(value, "early-preview", config_enabled_disabled);

        r = cli_value_new_string(value, &v);
        if (r < 0)
                return report_error(CLI_EXIT_FAILURE, r, "Out of memory.");
        return config_set("edr.earlyPreview", &v);
}

/* `log level set|persist --level L`: Diagnostics.SetLogLevel(L, persist). */
static int log_level_run(const CliInvocation *inv) {
        static const char * const levels[] = {
                "error", "warning", "info", "verbose", "debug", NULL
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        CliFlag flags[] = {
                { .name = "--level", .required = true },
        };
        int r;

        r = args_parse(inv, flags, ELEMENTSOF(flags));
        if (r != 0)
                return r < 0 ? r : 0;
        if (args_lookup(levels, flags[0].value) < 0)
                return args_invalid_value(flags[0].value, "--level", levels);

        r = bus_open(&bus);
        if (r < 0)
                return r;
        /* userdata is non-NULL for `persist`. */
        r = bus_set_log_level(bus, flags[0].value, inv->verb->userdata != NULL);
        if (r < 0)
                return r;
        printf("%s\n", LOG_LEVEL_CONFIGURED);
        return 0;
}

#define PROPERTY_VERB(verb_name, row, use, desc)                                \
        { .name = verb_name, .description = desc, .usage = use,                 \
          .run = config_property_run, .userdata = &config_properties[row] }
#define TOGGLE_USAGE "--value enabled|disabled"

static const CliVerb config_network_protection_verbs[] = {
        PROPERTY_VERB("enforcement-level", CONFIG_NETWORK_PROTECTION,
                      "--value disabled|audit|block", "Network protection mode"),
        {}
};

static const CliVerb config_proxy_verbs[] = {
        { .name = "clear", .description = "Stop using the static proxy",
          .run = config_reset_fixed_run, .userdata = "cloudService.proxy" },
        PROPERTY_VERB("set", CONFIG_PROXY, "--value http://host:port",
                      "Use a static proxy for cloud traffic"),
        {}
};

static const CliVerb config_log_rotation_verbs[] = {
        PROPERTY_VERB("max-current-size", CONFIG_LOG_MAX_CURRENT, "--size <MB>",
                      "Size of the current log file"),
        PROPERTY_VERB("max-rotated-size", CONFIG_LOG_MAX_ROTATED, "--size <MB>",
                      "Total size of rotated log files"),
        {}
};

const CliVerb config_verbs[] = {
        PROPERTY_VERB("behavior-monitoring", CONFIG_BEHAVIOR_MONITORING, TOGGLE_USAGE,
                      "Behavior monitoring (with real-time protection)"),
        PROPERTY_VERB("cloud", CONFIG_CLOUD, TOGGLE_USAGE, "Cloud-delivered protection"),
        PROPERTY_VERB("cloud-automatic-sample-submission", CONFIG_CLOUD_SAMPLE_SUBMISSION,
                      "--value enabled|disabled|none|safe|all", "Automatic sample submission"),
        PROPERTY_VERB("cloud-diagnostic", CONFIG_CLOUD_DIAGNOSTIC, TOGGLE_USAGE,
                      "Optional diagnostic data"),
        PROPERTY_VERB("ebpf-supplementary-event-provider", CONFIG_EBPF_PROVIDER, TOGGLE_USAGE,
                      "eBPF as the supplementary event provider"),
        PROPERTY_VERB("enable-file-hash-computation", CONFIG_FILE_HASH, TOGGLE_USAGE,
                      "Compute hashes of scanned files"),
        { .name = "list", .description = "Every setting, its value and whether it is managed",
          .usage = "[--output json]", .run = config_list_run },
        { .name = "log-rotation-parameters", .description = "Log file sizes",
          .children = config_log_rotation_verbs },
        PROPERTY_VERB("maximum-on-demand-scan-threads", CONFIG_SCAN_THREADS, "--value <1-64>",
                      "Parallelism of on-demand scans"),
        { .name = "network-protection", .description = "Network protection",
          .children = config_network_protection_verbs },
        PROPERTY_VERB("passive-mode", CONFIG_PASSIVE_MODE, TOGGLE_USAGE,
                      "Antivirus passive mode"),
        { .name = "proxy", .description = "Static proxy for cloud traffic",
          .children = config_proxy_verbs },
        PROPERTY_VERB("real-time-protection", CONFIG_REAL_TIME_PROTECTION, TOGGLE_USAGE,
                      "Real-time protection"),
        PROPERTY_VERB("real-time-protection-statistics", CONFIG_RTP_STATISTICS, TOGGLE_USAGE,
                      "Per-process real-time protection counters"),
        { .name = "reset", .description = "Reset a setting to its managed or default value",
          .usage = "--name <setting>", .run = config_generic_reset_run },
        PROPERTY_VERB("scan-after-definition-update", CONFIG_SCAN_AFTER_UPDATE, TOGGLE_USAGE,
                      "Scan running processes after a definitions update"),
        PROPERTY_VERB("scan-archives", CONFIG_SCAN_ARCHIVES, TOGGLE_USAGE,
                      "Scan inside archives during on-demand scans"),
        { .name = "set", .description = "Set any setting by its name in mdatp_managed.json",
          .usage = "--name <setting> --value <value>", .run = config_generic_set_run },
        {}
};

static const CliVerb edr_tag_verbs[] = {
        { .name = "set", .description = "Set the device tag", .usage = "--name GROUP --value <tag>",
          .run = edr_tag_set_run },
        { .name = "remove", .description = "Remove a device tag", .usage = "--tag-name <name>",
          .run = edr_tag_remove_run },
        {}
};

const CliVerb edr_verbs[] = {
        { .name = "early-preview", .description = "EDR early-preview features",
          .usage = "enabled|disabled", .run = edr_early_preview_run },
        { .name = "group-ids", .description = "Set the EDR group id", .usage = "--group-id <id>",
          .run = edr_group_ids_run },
        { .name = "tag", .description = "Device tags", .children = edr_tag_verbs },
        {}
};

static const CliVerb log_level_verbs[] = {
        { .name = "persist", .description = "Set the log level and keep it across restarts",
          .usage = "--level error|warning|info|verbose|debug", .run = log_level_run,
          .userdata = "persist" },
        { .name = "set", .description = "Set the log level until the daemon restarts",
          .usage = "--level error|warning|info|verbose|debug", .run = log_level_run },
        {}
};

const CliVerb log_verbs[] = {
        { .name = "level", .description = "The daemon's log level", .children = log_level_verbs },
        {}
};
