/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verb tree walker, the flag parser and the argument rewriting of mdatp (see args.h). Owns no
 * state; usage errors go through report.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "report.h"
#include "util/macro.h"

#define ARGS_COMMAND_MAX 256

/* Whether a names the help option. */
static bool args_is_help(const char *a) {
        return streq(a, "--help") || streq(a, "-h");
}

void args_print_children(FILE *f, const CliVerb *group) {
        for (const CliVerb *c = group->children; c && c->name; c++)
                (void) fprintf(f, "%s\t%s\n", c->name, c->description ?: "");
}

/* Reports a text built with a memstream as one usage failure. */
static int args_report_stream(char *buf, size_t size) {
        int r;

        /* report_error() ends the message itself. */
        while (size > 0 && buf[size - 1] == '\n')
                buf[--size] = 0;
        r = report_error(CLI_EXIT_USAGE, -EINVAL, "%s", buf);
        free(buf);
        return r;
}

/* A group was given no subcommand (bad == NULL) or an unknown one. */
static int args_group_error(const CliVerb *group, const char *command, const char *bad) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");
        if (bad)
                (void) fprintf(f, "Unknown command '%s' for '%s'.\n", bad, command);
        (void) fputs("Expected one of:\n", f);
        args_print_children(f, group);
        if (fclose(f) != 0) {
                free(buf);
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");
        }
        return args_report_stream(buf, size);
}

int args_usage_error(const CliInvocation *inv, const char *format, ...) {
        char *message = NULL;
        va_list ap;
        int k, r;

        va_start(ap, format);
        k = vasprintf(&message, format, ap);
        va_end(ap);
        if (k < 0)
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");

        r = report_error(CLI_EXIT_USAGE, -EINVAL, "%s\nUsage: %s%s%s", message, inv->command,
                         inv->verb->usage ? " " : "", inv->verb->usage ?: "");
        free(message);
        return r;
}

int args_lookup(const char * const *allowed, const char *value) {
        for (int i = 0; allowed && allowed[i]; i++)
                if (streq(allowed[i], value))
                        return i;
        return -EINVAL;
}

int args_invalid_value(const char *value, const char *what, const char * const *allowed) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");
        (void) fprintf(f, "Invalid value '%s' for %s: expected one of ", value, what);
        for (size_t i = 0; allowed && allowed[i]; i++)
                (void) fprintf(f, "%s%s", i > 0 ? ", " : "", allowed[i]);
        if (fclose(f) != 0) {
                free(buf);
                return report_error(CLI_EXIT_FAILURE, -ENOMEM, "Out of memory.");
        }
        return args_report_stream(buf, size);
}

/* The flag spelled name[0..len), or NULL. */
static CliFlag *args_find_flag(CliFlag *flags, size_t n_flags, const char *name, size_t len) {
        for (size_t k = 0; k < n_flags; k++)
                if (flags[k].name && strlen(flags[k].name) == len &&
                    strneq(flags[k].name, name, len))
                        return &flags[k];
        return NULL;
}

/* Stores value in f: the last value, and one more entry of a repeatable flag. */
static void args_flag_store(CliFlag *f, const char *value) {
        f->value = value;
        if (f->values)
                f->values[f->n_values++] = value;
}

/* Parses the option a (argv[*i]) into its flag; consumes its value from argv[*i + 1] when the
 * value is not given as `--name=value`. Returns 0 or -EINVAL after reporting. */
static int args_parse_option(const CliInvocation *inv, CliFlag *flags, size_t n_flags, int *i) {
        const char *a = inv->argv[*i];
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t) (eq - a) : strlen(a);
        CliFlag *f;

        f = args_find_flag(flags, n_flags, a, len);
        if (!f)
                return args_usage_error(inv, "Unknown option '%.*s'.", (int) len, a);
        if (f->value && !f->values)
                return args_usage_error(inv, "Option %s given more than once.", f->name);
        if (f->is_switch) {
                if (eq)
                        return args_usage_error(inv, "Option %s takes no value.", f->name);
                args_flag_store(f, "true");
        } else if (eq)
                args_flag_store(f, eq + 1);
        else if (*i + 1 < inv->argc)
                args_flag_store(f, inv->argv[++*i]);
        else
                return args_usage_error(inv, "Option %s needs a value.", f->name);
        return 0;
}

int args_parse(const CliInvocation *inv, CliFlag *flags, size_t n_flags) {
        int r;

        for (size_t k = 0; k < n_flags; k++) {
                flags[k].value = NULL;
                flags[k].n_values = 0;
        }

        for (int i = 0; i < inv->argc; i++) {
                const char *a = inv->argv[i];
                CliFlag *f;

                if (args_is_help(a)) {
                        printf("Usage: %s%s%s\n", inv->command, inv->verb->usage ? " " : "",
                               inv->verb->usage ?: "");
                        if (inv->verb->description)
                                printf("%s\n", inv->verb->description);
                        return 1;
                }

                if (strneq(a, "--", 2) && a[2]) {
                        r = args_parse_option(inv, flags, n_flags, &i);
                        if (r < 0)
                                return r;
                        continue;
                }

                /* The positional argument, when the leaf takes one. */
                f = NULL;
                for (size_t k = 0; k < n_flags && !f; k++)
                        if (!flags[k].name)
                                f = &flags[k];
                if (!f || f->value)
                        return args_usage_error(inv, "Unexpected argument '%s'.", a);
                f->value = a;
        }

        for (size_t k = 0; k < n_flags; k++) {
                if (!flags[k].required || flags[k].value)
                        continue;
                if (flags[k].name)
                        return args_usage_error(inv, "Missing option %s.", flags[k].name);
                return args_usage_error(inv, "Missing argument.");
        }
        return 0;
}

int args_extract_output(int *argc, char **argv, bool *ret_json) {
        static const char * const allowed[] = { "json", NULL };
        bool json = false;
        int i = 0, n = *argc;

        while (i < n) {
                const char *value;
                int drop;

                if (streq(argv[i], "--output")) {
                        if (i + 1 >= n)
                                return report_error(CLI_EXIT_USAGE, -EINVAL,
                                                    "Option --output needs a value: json.");
                        value = argv[i + 1];
                        drop = 2;
                } else if (strneq(argv[i], "--output=", strlen("--output="))) {
                        value = argv[i] + strlen("--output=");
                        drop = 1;
                } else {
                        i++;
                        continue;
                }

                if (args_lookup(allowed, value) < 0)
                        return args_invalid_value(value, "--output", allowed);
                json = true;
                /* Shift the rest down, including the terminating NULL when argv has one. */
                memmove(argv + i, argv + i + drop, sizeof(char *) * (size_t) (n - i - drop));
                n -= drop;
                argv[n] = NULL;
        }

        *argc = n;
        *ret_json = json;
        return 0;
}

int args_rewrite_legacy(int argc, char **argv, int *ret_argc, char ***ret_argv) {
        char **l;
        int n = 0, i = 0;

        l = calloc((size_t) argc + 2, sizeof(char *));
        if (!l)
                return -ENOMEM;

        if (argc > 0 && streq(argv[0], "--health")) {
                l[n++] = (char *) "health";
                i = 1;
                /* `mdatp --health realTimeProtectionEnabled` named one field. */
                if (argc > 1 && argv[1][0] != '-') {
                        l[n++] = (char *) "--field";
                        l[n++] = argv[1];
                        i = 2;
                }
        } else if (argc > 0 && streq(argv[0], "--version")) {
                l[n++] = (char *) "version";
                i = 1;
        }
        for (; i < argc; i++)
                l[n++] = argv[i];
        l[n] = NULL;

        *ret_argc = n;
        *ret_argv = l;
        return 0;
}

/* The child of group called name, or NULL. */
static const CliVerb *args_find_child(const CliVerb *group, const char *name) {
        for (const CliVerb *c = group->children; c && c->name; c++)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

int args_dispatch(const CliVerb *root, int argc, char **argv, bool json) {
        char command[ARGS_COMMAND_MAX];
        const CliVerb *v = root;
        CliInvocation inv;
        int i = 0;

        (void) snprintf(command, sizeof(command), "%s", root->name);
        while (!v->run) {
                const CliVerb *child;
                size_t len;

                if (i >= argc)
                        return args_group_error(v, command, NULL);
                if (args_is_help(argv[i])) {
                        printf("Expected one of:\n");
                        args_print_children(stdout, v);
                        return 0;
                }
                child = args_find_child(v, argv[i]);
                if (!child)
                        return args_group_error(v, command, argv[i]);

                len = strlen(command);
                if (len + 1 + strlen(child->name) >= sizeof(command))
                        return report_error(CLI_EXIT_USAGE, -E2BIG, "Command too long.");
                (void) snprintf(command + len, sizeof(command) - len, " %s", child->name);
                v = child;
                i++;
        }

        inv = (CliInvocation) {
                .verb = v,
                .command = command,
                .argc = argc - i,
                .argv = argv + i,
                .json = json,
        };
        return v->run(&inv);
}
