/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rules snapshots: libyara's process set-up, compiling YARA sources into an immutable snapshot
 * with a sorted SHA-256 block list, atomic reference counting, and reading threat metadata from
 * rule metas.
 *
 * State owned: each EngineRules (immutable once engine_rules_new() returns; only n_ref changes,
 * atomically). Must not touch: scanners (engine-scan.c) — a snapshot does not know who uses it.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yara.h>

#include "engine/engine-internal.h"
#include "util/macro.h"

int engine_global_init(void) {
        int r;

        r = yr_initialize();
        if (r == ERROR_INSUFFICIENT_MEMORY)
                return -ENOMEM;
        if (r != ERROR_SUCCESS)
                return -EIO;
        return 0;
}

void engine_global_done(void) {
        (void) yr_finalize();
}

bool engine_threat_type_is_valid(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
                        return false;
        return true;
}

/* Compiler messages, collected one line each. */
typedef struct CompileErrors {
        const char *source_name;        /* the source being compiled */
        char *text;
        size_t len;
        bool oom;
} CompileErrors;

static void compile_errors_add(CompileErrors *e, const char *format, ...) _printf_(2, 3);
static void compile_errors_add(CompileErrors *e, const char *format, ...) {
        _cleanup_free_ char *line = NULL;
        va_list ap;
        size_t n;
        char *t;
        int k;

        va_start(ap, format);
        k = vasprintf(&line, format, ap);
        va_end(ap);
        if (k < 0) {
                line = NULL;
                e->oom = true;
                return;
        }

        n = (size_t) k;
        t = realloc(e->text, e->len + n + 2);
        if (!t) {
                e->oom = true;
                return;
        }
        if (e->len > 0)
                t[e->len++] = '\n';
        memcpy(t + e->len, line, n + 1);
        e->len += n;
        e->text = t;
}

static void compiler_callback(int error_level, const char *file_name, int line_number,
                              const YR_RULE *rule _unused_, const char *message,
                              void *userdata) {
        CompileErrors *e = userdata;

        /* Warnings (slow strings and the like) do not stop a definitions update. */
        if (error_level != YARA_ERROR_LEVEL_ERROR)
                return;
        compile_errors_add(e, "%s:%d: %s", file_name ?: e->source_name, line_number,
                           message ?: "error");
}

static const char *rule_meta_string(const YR_RULE *rule, const char *key, bool *ret_bad) {
        const YR_META *meta;

        yr_rule_metas_foreach(rule, meta) {
                if (!streq(meta->identifier, key))
                        continue;
                if (meta->type != META_TYPE_STRING || isempty(meta->string)) {
                        if (ret_bad)
                                *ret_bad = true;
                        return NULL;
                }
                return meta->string;
        }
        return NULL;
}

void engine_rule_get_threat(const YR_RULE *rule, const char **ret_name, const char **ret_type) {
        const char *type;

        *ret_name = rule_meta_string(rule, ENGINE_META_THREAT_NAME, NULL);
        type = rule_meta_string(rule, ENGINE_META_THREAT_TYPE, NULL);
        *ret_type = type ?: ENGINE_THREAT_TYPE_DEFAULT;
}

/* Rejects rules whose threat metadata is present but unusable, so that a definitions pack with a
 * typo fails to load instead of detecting under a wrong type. */
static void validate_rule_metas(YR_RULES *rules, CompileErrors *e, size_t *ret_n_rules) {
        const YR_RULE *rule;
        size_t n = 0;

        yr_rules_foreach(rules, rule) {
                const char *type;
                bool bad = false;

                n++;
                (void) rule_meta_string(rule, ENGINE_META_THREAT_NAME, &bad);
                if (bad)
                        compile_errors_add(e, "%s:%s: meta %s must be a non-empty string",
                                           rule->ns->name, rule->identifier,
                                           ENGINE_META_THREAT_NAME);
                bad = false;
                type = rule_meta_string(rule, ENGINE_META_THREAT_TYPE, &bad);
                if (bad || (type && !engine_threat_type_is_valid(type)))
                        compile_errors_add(e, "%s:%s: meta %s must be made of [a-z0-9_]",
                                           rule->ns->name, rule->identifier,
                                           ENGINE_META_THREAT_TYPE);
        }
        *ret_n_rules = n;
}

static int compile(const EngineRuleSource *sources, size_t n_sources, YR_RULES **ret,
                   CompileErrors *e) {
        YR_COMPILER *compiler = NULL;
        YR_RULES *rules = NULL;
        int r;

        if (yr_compiler_create(&compiler) != ERROR_SUCCESS)
                return -ENOMEM;

        yr_compiler_set_callback(compiler, compiler_callback, e);
        /* No `include`: a rule must never make us read a file of its choosing. */
        yr_compiler_set_include_callback(compiler, NULL, NULL, NULL);

        for (size_t i = 0; i < n_sources; i++) {
                e->source_name = sources[i].name;
                /* After a failed add libyara forbids more adds: stop at the first bad source. */
                if (yr_compiler_add_string(compiler, sources[i].text, sources[i].name) > 0) {
                        if (!e->text)
                                compile_errors_add(e, "%s: failed to compile", sources[i].name);
                        r = -EINVAL;
                        goto finish;
                }
        }

        r = yr_compiler_get_rules(compiler, &rules);
        if (r != ERROR_SUCCESS) {
                r = r == ERROR_INSUFFICIENT_MEMORY ? -ENOMEM : -EINVAL;
                goto finish;
        }
        *ret = rules;
        r = 0;
finish:
        yr_compiler_destroy(compiler);
        return r;
}

static int hash_item_compare(const void *a, const void *b) {
        return memcmp(((const EngineHashItem *) a)->sha256, ((const EngineHashItem *) b)->sha256,
                      ENGINE_SHA256_SIZE);
}

static void hash_items_free(EngineHashItem *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(items[i].threat_name);
                free(items[i].threat_type);
        }
        free(items);
}

static int hash_index_compare(const void *a, const void *b, void *userdata) {
        const EngineHashEntry *hashes = userdata;
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        int k;

        k = memcmp(hashes[i].sha256, hashes[j].sha256, ENGINE_SHA256_SIZE);
        if (k != 0)
                return k;
        return i < j ? -1 : i > j; /* equal hashes keep their input order: the first wins */
}

/* Copies, sorts and de-duplicates the block list (of equal hashes the first one given wins). */
static int copy_hashes(const EngineHashEntry *hashes, size_t n_hashes, EngineHashItem **ret,
                       size_t *ret_n, CompileErrors *e) {
        _cleanup_free_ size_t *order = NULL;
        EngineHashItem *items;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        if (n_hashes == 0)
                return 0;

        for (size_t i = 0; i < n_hashes; i++)
                if (isempty(hashes[i].threat_name) ||
                    !engine_threat_type_is_valid(hashes[i].threat_type)) {
                        compile_errors_add(e, "hash entry %zu: needs a threat name and a threat "
                                           "type made of [a-z0-9_]", i);
                        return -EINVAL;
                }

        order = calloc(n_hashes, sizeof(size_t));
        items = calloc(n_hashes, sizeof(EngineHashItem));
        if (!order || !items) {
                free(items);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_hashes; i++)
                order[i] = i;
        qsort_r(order, n_hashes, sizeof(size_t), hash_index_compare, (void *) hashes);

        for (size_t k = 0; k < n_hashes; k++) {
                const EngineHashEntry *h = &hashes[order[k]];

                if (n > 0 && memcmp(items[n - 1].sha256, h->sha256, ENGINE_SHA256_SIZE) == 0)
                        continue;
                memcpy(items[n].sha256, h->sha256, ENGINE_SHA256_SIZE);
                items[n].threat_name = strdup(h->threat_name);
                items[n].threat_type = strdup(h->threat_type);
                n++;
                if (!items[n - 1].threat_name || !items[n - 1].threat_type) {
                        hash_items_free(items, n);
                        return -ENOMEM;
                }
        }

        *ret = items;
        *ret_n = n;
        return 0;
}

const EngineHashItem *engine_rules_lookup_hash(const EngineRules *r,
                                               const uint8_t sha256[static ENGINE_SHA256_SIZE]) {
        EngineHashItem key = {};

        if (!r || r->n_hashes == 0)
                return NULL;
        memcpy(key.sha256, sha256, ENGINE_SHA256_SIZE);
        return bsearch(&key, r->hashes, r->n_hashes, sizeof(EngineHashItem), hash_item_compare);
}

static EngineRules *rules_free(EngineRules *r) {
        if (!r)
                return NULL;
        if (r->yara)
                (void) yr_rules_destroy(r->yara);
        hash_items_free(r->hashes, r->n_hashes);
        free(r->version);
        return mfree(r);
}

int engine_rules_new(const EngineRuleSource *sources, size_t n_sources,
                     const EngineHashEntry *hashes, size_t n_hashes,
                     const char *version,
                     EngineRules **ret, char **ret_error_message) {
        CompileErrors e = {};
        EngineRules *rules = NULL;
        int r;

        if (!ret || (n_sources > 0 && !sources) || (n_hashes > 0 && !hashes))
                return -EINVAL;
        for (size_t i = 0; i < n_sources; i++)
                if (isempty(sources[i].name) || !sources[i].text) {
                        compile_errors_add(&e, "source %zu: needs a name and a text", i);
                        r = -EINVAL;
                        goto fail;
                }

        rules = calloc(1, sizeof(EngineRules));
        if (!rules) {
                r = -ENOMEM;
                goto fail;
        }
        rules->n_ref = 1;
        rules->version = strdup(version ?: "");
        if (!rules->version) {
                r = -ENOMEM;
                goto fail;
        }

        r = compile(sources, n_sources, &rules->yara, &e);
        if (r < 0)
                goto fail;

        validate_rule_metas(rules->yara, &e, &rules->n_rules);
        if (e.text) {
                r = -EINVAL;
                goto fail;
        }

        r = copy_hashes(hashes, n_hashes, &rules->hashes, &rules->n_hashes, &e);
        if (r < 0)
                goto fail;

        if (e.oom) {
                r = -ENOMEM;
                goto fail;
        }

        free(e.text);
        *ret = rules;
        return 0;

fail:
        rules_free(rules);
        if (e.oom && r == -EINVAL && !e.text)
                r = -ENOMEM;
        if (ret_error_message)
                *ret_error_message = TAKE_PTR(e.text);
        free(e.text);
        return r;
}

EngineRules *engine_rules_ref(EngineRules *r) {
        if (r)
                __atomic_add_fetch(&r->n_ref, 1, __ATOMIC_RELAXED);
        return r;
}

EngineRules *engine_rules_unref(EngineRules *r) {
        if (!r)
                return NULL;
        /* Release our writes; the thread that frees acquires everybody's. */
        if (__atomic_sub_fetch(&r->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
                rules_free(r);
        return NULL;
}

const char *engine_rules_get_version(const EngineRules *r) {
        return r ? r->version : NULL;
}

size_t engine_rules_get_n_rules(const EngineRules *r) {
        return r ? r->n_rules : 0;
}

size_t engine_rules_get_n_hashes(const EngineRules *r) {
        return r ? r->n_hashes : 0;
}

unsigned engine_rules_get_n_refs(const EngineRules *r) {
        return r ? __atomic_load_n(&r->n_ref, __ATOMIC_RELAXED) : 0;
}
