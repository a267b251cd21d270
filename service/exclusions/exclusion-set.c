/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The compiled exclusion set and its matching.
 *
 * Layout. Path-like entries (excludedPath, and excludedFileName full paths) go into a PathIndex:
 * a hash map from a literal path to what is excluded there (the path itself, or everything
 * below it), and an array of wildcard patterns, each filed under the longest literal prefix it
 * has ("/var/" + "*" + "/tmp" under "/var"; a pattern starting with a wildcard under "/"). A
 * lookup hashes the queried path once, left to right; at each '/' the hash is that of an
 * ancestor, which is looked up: the literal folders above the path and the wildcard patterns
 * that can apply to it are found in one pass, and only those patterns are matched one by one.
 * Extensions and bare process names without wildcards are hash-map keys too; bare process names
 * with wildcards are a short list.
 *
 * Each map entry carries the scopes for which it excludes, so one set answers epp and global
 * queries. Wildcards only exist in epp: the global part of a wildcard entry is not compiled.
 *
 * Threads: a set is built by one thread (the main thread) and immutable once exclusion_set_new()
 * returns; the match functions only read it, take no lock and allocate nothing. The reference
 * count is atomic, so the last unref may happen on any thread. Owns the set's memory, nothing
 * else.
 */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exclusions/exclusions-internal.h"
#include "exclusions/exclusions.h"
#include "util/hash.h"
#include "util/macro.h"

#define SCOPES_ALL (EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL)

/* A path pattern with wildcards, past its literal prefix. */
typedef struct WildPattern {
        char *components;       /* "c1/c2/...", at least one, the first one has a wildcard */
        uint32_t prefix;        /* index of its literal prefix in PathIndex.keys */
        unsigned scopes;
        bool folder;            /* matches what is strictly below what the components match */
        bool trailing_star;     /* a file pattern ending in '*': matches below as well */
        bool last_all_stars;    /* the last component is only '*'s: it matches any name */
} WildPattern;

typedef struct PathIndex {
        KeyMap keys;
        WildPattern *wild;      /* sorted by prefix once built */
        size_t n_wild, n_wild_allocated;
} PathIndex;

typedef struct WildName {
        char *pattern;
        size_t len;
        unsigned scopes;
} WildName;

struct ExclusionSet {
        unsigned n_ref;
        PathIndex paths;                /* excludedPath */
        PathIndex process_paths;        /* excludedFileName with a full path */
        KeyMap extensions;              /* excludedFileExtension, without the dot */
        KeyMap process_names;           /* excludedFileName, bare names without wildcards */
        WildName *wild_names;           /* excludedFileName, bare names with wildcards */
        size_t n_wild_names, n_wild_names_allocated;
        size_t n_by_scopes[SCOPES_ALL + 1]; /* entries by the scopes they were compiled for,
                                             * base's included */
        /* An extension (exclusion_set_extend()): what is compiled here adds to base, a set
         * without a base, and delta[] are the entries compiled here (owned copies), so that the
         * next extension can compile them again without going back to the base's entries. */
        ExclusionSet *base;
        SettingExclusion *delta;
        size_t n_delta;
};

static void path_index_done(PathIndex *x) {
        keymap_done(&x->keys);
        for (size_t i = 0; i < x->n_wild; i++)
                free(x->wild[i].components);
        x->wild = mfree(x->wild);
        x->n_wild = x->n_wild_allocated = 0;
}

static ExclusionSet *exclusion_set_free(ExclusionSet *s) {
        if (!s)
                return NULL;
        path_index_done(&s->paths);
        path_index_done(&s->process_paths);
        keymap_done(&s->extensions);
        keymap_done(&s->process_names);
        for (size_t i = 0; i < s->n_wild_names; i++)
                free(s->wild_names[i].pattern);
        free(s->wild_names);
        for (size_t i = 0; i < s->n_delta; i++) {
                free(s->delta[i].type);
                free(s->delta[i].value);
        }
        free(s->delta);
        exclusion_set_unref(s->base);
        return mfree(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ExclusionSet *, exclusion_set_free);

ExclusionSet *exclusion_set_ref(ExclusionSet *s) {
        if (!s)
                return NULL;
        assert(__atomic_load_n(&s->n_ref, __ATOMIC_RELAXED) > 0);
        __atomic_add_fetch(&s->n_ref, 1, __ATOMIC_RELAXED);
        return s;
}

ExclusionSet *exclusion_set_unref(ExclusionSet *s) {
        if (!s)
                return NULL;
        assert(__atomic_load_n(&s->n_ref, __ATOMIC_RELAXED) > 0);
        /* Release our writes before the count drops; acquire all others' before freeing. */
        if (__atomic_sub_fetch(&s->n_ref, 1, __ATOMIC_ACQ_REL) == 0)
                exclusion_set_free(s);
        return NULL;
}

size_t exclusion_set_size(const ExclusionSet *s, unsigned scope) {
        size_t n = 0;

        if (!s)
                return 0;
        for (unsigned m = 1; m <= SCOPES_ALL; m++)
                if (m & scope)
                        n += s->n_by_scopes[m];
        return n;
}

/* ---- building ---- */

/* Grows *array (of *n_allocated elements of size) so that one more fits after n. */
static int grow(void **array, size_t *n_allocated, size_t n, size_t size) {
        size_t m;
        void *p;

        if (n < *n_allocated)
                return 0;
        m = *n_allocated ? *n_allocated * 2 : 8;
        p = reallocarray(*array, m, size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *n_allocated = m;
        return 0;
}

/* Adds a normalised path without wildcards, excluding the path itself (file) or everything
 * below it (folder) for scopes. */
static int path_index_add_literal(PathIndex *x, const char *path, bool folder, unsigned scopes) {
        int i;

        i = keymap_add(&x->keys, path, strlen(path));
        if (i < 0)
                return i;
        if (folder)
                x->keys.entries[i].below_scopes |= scopes;
        else
                x->keys.entries[i].exact_scopes |= scopes;
        return 0;
}

/* Adds a normalised pattern that has a wildcard: split at the first component with one. */
static int path_index_add_wild(PathIndex *x, const char *path, bool folder, unsigned scopes) {
        const char *w = path + strcspn(path, "*?"), *slash, *last;
        size_t prefix_len;
        WildPattern *p;
        int i, r;

        /* The '/' that starts the component holding the first wildcard. */
        for (slash = w; slash > path && *slash != '/'; slash--)
                ;
        prefix_len = slash == path ? 1 : (size_t) (slash - path);

        i = keymap_add(&x->keys, path, prefix_len);
        if (i < 0)
                return i;
        r = grow((void **) &x->wild, &x->n_wild_allocated, x->n_wild, sizeof(WildPattern));
        if (r < 0)
                return r;

        p = &x->wild[x->n_wild];
        *p = (WildPattern) {
                .components = strdup(slash + 1),
                .prefix = (uint32_t) i,
                .scopes = scopes,
                .folder = folder,
        };
        if (!p->components)
                return -ENOMEM;
        x->n_wild++;

        last = strrchr(p->components, '/');
        last = last ? last + 1 : p->components;
        p->last_all_stars = last[strspn(last, "*")] == '\0';
        p->trailing_star = !folder && p->components[strlen(p->components) - 1] == '*';
        return 0;
}

/* Compiles one path value (excludedPath, or an excludedFileName full path) into x. Returns the
 * scopes it was compiled for (possibly fewer than asked, possibly none), or -ENOMEM. */
static int path_index_add(PathIndex *x, const char *value, bool is_directory, unsigned scopes,
                          bool allow_leading_wildcard) {
        _cleanup_free_ char *norm = NULL;
        bool folder;
        int r;

        r = excl_path_normalize(value, allow_leading_wildcard, &norm, &folder);
        if (r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        folder = folder || is_directory;

        if (!excl_has_wildcard(norm)) {
                r = path_index_add_literal(x, norm, folder, scopes);
                return r < 0 ? r : (int) scopes;
        }
        /* Wildcards are epp only: the global part is not compiled. */
        if (!(scopes & EXCLUSION_SCOPE_EPP))
                return 0;
        r = path_index_add_wild(x, norm, folder, EXCLUSION_SCOPE_EPP);
        return r < 0 ? r : EXCLUSION_SCOPE_EPP;
}

static int cmp_wild_prefix(const void *a, const void *b) {
        const WildPattern *x = a, *y = b;

        return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

/* Files the wildcard patterns under their prefixes: sort, then record each run. */
static void path_index_seal(PathIndex *x) {
        if (x->n_wild == 0)
                return;
        qsort(x->wild, x->n_wild, sizeof(WildPattern), cmp_wild_prefix);
        for (size_t i = 0; i < x->n_wild;) {
                KeyEntry *e = &x->keys.entries[x->wild[i].prefix];
                size_t j = i;

                while (j < x->n_wild && x->wild[j].prefix == x->wild[i].prefix)
                        j++;
                e->wild_first = (uint32_t) i;
                e->n_wild = (uint32_t) (j - i);
                i = j;
        }
}

static int set_add_extension(ExclusionSet *s, const char *value, unsigned scopes) {
        const char *ext = excl_extension_key(value);
        int i;

        /* Extensions are epp only. */
        scopes &= EXCLUSION_SCOPE_EPP;
        if (!ext || !scopes)
                return 0;
        i = keymap_add(&s->extensions, ext, strlen(ext));
        if (i < 0)
                return i;
        s->extensions.entries[i].exact_scopes |= scopes;
        return (int) scopes;
}

static int set_add_process(ExclusionSet *s, const char *value, unsigned scopes) {
        int i, r;

        if (isempty(value))
                return 0;
        if (value[0] == '/')
                return path_index_add(&s->process_paths, value, false, scopes, false);

        /* A bare name: epp only, never with a '/'. */
        scopes &= EXCLUSION_SCOPE_EPP;
        if (!scopes || strchr(value, '/'))
                return 0;

        if (!excl_has_wildcard(value)) {
                i = keymap_add(&s->process_names, value, strlen(value));
                if (i < 0)
                        return i;
                s->process_names.entries[i].exact_scopes |= scopes;
                return (int) scopes;
        }

        r = grow((void **) &s->wild_names, &s->n_wild_names_allocated, s->n_wild_names,
                 sizeof(WildName));
        if (r < 0)
                return r;
        s->wild_names[s->n_wild_names] = (WildName) {
                .pattern = strdup(value),
                .len = strlen(value),
                .scopes = scopes,
        };
        if (!s->wild_names[s->n_wild_names].pattern)
                return -ENOMEM;
        s->n_wild_names++;
        return (int) scopes;
}

/* Compiles one entry; returns the scopes it was compiled for, or -ENOMEM. */
static int set_add(ExclusionSet *s, const SettingExclusion *e) {
        unsigned scopes = e->scopes & SCOPES_ALL;

        if (!e->type || !e->value || !scopes)
                return 0;
        if (streq(e->type, "excludedPath"))
                return path_index_add(&s->paths, e->value, e->is_directory, scopes, true);
        if (streq(e->type, "excludedFileExtension"))
                return set_add_extension(s, e->value, scopes);
        if (streq(e->type, "excludedFileName"))
                return set_add_process(s, e->value, scopes);
        return 0;
}

/* Compiles items[0..n) into s, counting the entries by scopes; returns how many were left out
 * wholly or in part, or -ENOMEM. The caller seals s once everything is in. */
static int set_add_all(ExclusionSet *s, const SettingExclusion *items, size_t n) {
        int left_out = 0;

        for (size_t i = 0; i < n; i++) {
                int r = set_add(s, &items[i]);

                if (r < 0)
                        return r;
                if (r > 0)
                        s->n_by_scopes[r]++;
                if (r == 0 || (unsigned) r != (items[i].scopes & SCOPES_ALL))
                        left_out++;
        }
        return left_out;
}

static void set_seal(ExclusionSet *s) {
        path_index_seal(&s->paths);
        path_index_seal(&s->process_paths);
}

int exclusion_set_new(const SettingExclusion *items, size_t n, ExclusionSet **ret) {
        _cleanup_(exclusion_set_freep) ExclusionSet *s = NULL;
        int left_out;

        if (n > EXCLUSION_SET_MAX)
                return -E2BIG;
        if (n > 0 && !items)
                return -EINVAL;

        s = calloc(1, sizeof(ExclusionSet));
        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        left_out = set_add_all(s, items, n);
        if (left_out < 0)
                return left_out;
        set_seal(s);
        *ret = TAKE_PTR(s);
        return left_out;
}

/* Appends deep copies of items[0..n) to s->delta. */
static int delta_append(ExclusionSet *s, const SettingExclusion *items, size_t n) {
        SettingExclusion *d = reallocarray(s->delta, s->n_delta + n ?: 1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        s->delta = d;
        for (size_t i = 0; i < n; i++) {
                d[s->n_delta] = (SettingExclusion) {
                        .type = items[i].type ? strdup(items[i].type) : NULL,
                        .value = items[i].value ? strdup(items[i].value) : NULL,
                        .is_directory = items[i].is_directory,
                        .scopes = items[i].scopes,
                };
                /* Counted before the check, so that the free releases what was copied. */
                s->n_delta++;
                if ((items[i].type && !d[s->n_delta - 1].type) ||
                    (items[i].value && !d[s->n_delta - 1].value))
                        return -ENOMEM;
        }
        return 0;
}

int exclusion_set_extend(ExclusionSet *s, const SettingExclusion *items, size_t n,
                         ExclusionSet **ret) {
        _cleanup_(exclusion_set_freep) ExclusionSet *x = NULL;
        ExclusionSet *base = s->base ?: s;
        size_t n_base = 0;
        int r, left_out = 0;

        for (unsigned m = 1; m <= SCOPES_ALL; m++)
                n_base += base->n_by_scopes[m];
        if (n > 0 && !items)
                return -EINVAL;
        if (n_base + s->n_delta + n > EXCLUSION_SET_MAX)
                return -E2BIG;

        x = calloc(1, sizeof(ExclusionSet));
        if (!x)
                return -ENOMEM;
        x->n_ref = 1;
        x->base = exclusion_set_ref(base);
        /* One level only: an extension of an extension starts again from its base, so a
         * lookup never costs more than two. */
        r = delta_append(x, s->delta, s->n_delta);
        if (r >= 0)
                r = delta_append(x, items, n);
        if (r < 0)
                return r;
        /* What s left out was counted when s was made: count the new items only. */
        r = set_add_all(x, x->delta, s->n_delta);
        if (r >= 0)
                r = left_out = set_add_all(x, x->delta + s->n_delta, n);
        if (r < 0)
                return r;
        set_seal(x);
        for (unsigned m = 1; m <= SCOPES_ALL; m++)
                x->n_by_scopes[m] += base->n_by_scopes[m];
        *ret = TAKE_PTR(x);
        return left_out;
}

size_t exclusion_set_extension_size(const ExclusionSet *s) {
        return s ? s->n_delta : 0;
}

/* ---- matching: no allocation, no locks, no system calls ---- */

/* Matches the components of w against tail[0..n): "" or "/c1/c2...", the components of the
 * queried path below w's prefix. dir: whether everything below the queried directory is
 * excluded, rather than whether the queried file is. */
static bool wild_match(const WildPattern *w, const char *tail, size_t n, bool dir) {
        const char *p = w->components;
        size_t i = 0;

        for (;;) {
                const char *pe = strchrnul(p, '/');
                size_t start, end;

                if (i >= n)
                        /* The directory is the parent of what the last component matches:
                         * everything below it is covered when that is any name. */
                        return dir && *pe == '\0' && w->trailing_star && w->last_all_stars;

                start = end = i + 1;    /* tail[i] is '/' */
                while (end < n && tail[end] != '/')
                        end++;
                if (!excl_glob(p, (size_t) (pe - p), tail + start, end - start))
                        return false;
                i = end;
                if (*pe == '\0')
                        break;
                p = pe + 1;
        }

        if (dir)
                return w->folder || w->trailing_star;
        if (w->folder)
                return i < n;           /* strictly below */
        if (w->trailing_star)
                return true;            /* the match itself and everything below */
        return i == n;                  /* that path only */
}

/* Checks the ancestor-or-self path[0..plen) (hash h) of path[0..len). */
static bool path_index_check(const PathIndex *x, unsigned scope, const char *path, size_t len,
                             size_t plen, uint64_t h, bool dir) {
        const KeyEntry *e;
        const char *tail;
        size_t tail_len;

        if (plen < x->keys.min_len || plen > x->keys.max_len)
                return false;
        e = keymap_find(&x->keys, path, plen, h);
        if (!e)
                return false;

        if (plen < len || dir) {
                if (e->below_scopes & scope)
                        return true;
        } else if (e->exact_scopes & scope)
                return true;

        if (e->n_wild == 0)
                return false;
        /* The components below the prefix; the root "/" has them all. */
        tail = plen == 1 ? path : path + plen;
        tail_len = len == 1 ? 0 : len - (size_t) (tail - path);
        for (uint32_t k = 0; k < e->n_wild; k++) {
                const WildPattern *w = &x->wild[e->wild_first + k];

                if ((w->scopes & scope) && wild_match(w, tail, tail_len, dir))
                        return true;
        }
        return false;
}

/* Checks path[0..len) (absolute) and each of its ancestors, hashing the path once. */
static bool path_index_match(const PathIndex *x, unsigned scope, const char *path, size_t len,
                             bool dir) {
        uint64_t h;

        if (x->keys.n_entries == 0)
                return false;

        h = fnv1a64_add_byte(FNV1A64_INIT, '/');
        if (path_index_check(x, scope, path, len, 1, h, dir))
                return true;
        for (size_t i = 1; i < len; i++) {
                if (path[i] == '/' && path_index_check(x, scope, path, len, i, h, dir))
                        return true;
                h = fnv1a64_add_byte(h, (unsigned char) path[i]);
        }
        return len > 1 && path_index_check(x, scope, path, len, len, h, dir);
}

/* Length of an absolute path without trailing slashes (the root keeps its one); 0 when the path
 * is not absolute. */
static size_t path_length(const char *path) {
        size_t len;

        if (!path || path[0] != '/')
                return 0;
        len = strlen(path);
        while (len > 1 && path[len - 1] == '/')
                len--;
        return len;
}

static bool match_extension(const ExclusionSet *s, unsigned scope, const char *path, size_t len) {
        const KeyMap *m = &s->extensions;
        const char *base;
        size_t blen;

        if (m->n_entries == 0)
                return false;
        base = memrchr(path, '/', len);
        base = base ? base + 1 : path;
        blen = len - (size_t) (base - path);

        /* Every dot-suffix, except that a leading dot makes a dot file, not an extension. */
        for (size_t k = 1; k < blen; k++) {
                const char *ext = base + k + 1;
                size_t elen = blen - k - 1;
                const KeyEntry *e;

                if (base[k] != '.' || elen < m->min_len || elen > m->max_len)
                        continue;
                e = keymap_find(m, ext, elen, excl_hash(ext, elen));
                if (e && (e->exact_scopes & scope))
                        return true;
        }
        return false;
}

/* Every question is "does any entry match": an extension answers yes when it or its base
 * does. */
bool exclusion_set_match_file(const ExclusionSet *s, unsigned scope, const char *path) {
        size_t len = path_length(path);

        if (!s || len == 0)
                return false;
        for (; s; s = s->base)
                if (path_index_match(&s->paths, scope, path, len, false) ||
                    match_extension(s, scope, path, len))
                        return true;
        return false;
}

bool exclusion_set_match_directory(const ExclusionSet *s, unsigned scope, const char *dir) {
        size_t len = path_length(dir);

        if (!s || len == 0)
                return false;
        for (; s; s = s->base)
                if (path_index_match(&s->paths, scope, dir, len, true))
                        return true;
        return false;
}

/* Matches the process name name[0..len) against the bare-name entries. */
static bool match_process_name(const ExclusionSet *s, unsigned scope, const char *name,
                               size_t len) {
        const KeyEntry *e;

        if (len == 0)
                return false;
        if (s->process_names.n_entries > 0) {
                e = keymap_find(&s->process_names, name, len, excl_hash(name, len));
                if (e && (e->exact_scopes & scope))
                        return true;
        }
        for (size_t i = 0; i < s->n_wild_names; i++) {
                const WildName *w = &s->wild_names[i];

                if ((w->scopes & scope) && excl_glob(w->pattern, w->len, name, len))
                        return true;
        }
        return false;
}

static bool match_process_one(const ExclusionSet *s, unsigned scope, const char *name,
                              const char *exe_path) {
        size_t exe_len = path_length(exe_path);

        if (name) {
                if (match_process_name(s, scope, name, strlen(name)))
                        return true;
        } else if (exe_len > 1) {
                /* No name given: the executable's file name. */
                const char *base = (const char *) memrchr(exe_path, '/', exe_len) + 1;

                if (match_process_name(s, scope, base, exe_len - (size_t) (base - exe_path)))
                        return true;
        }

        return exe_len > 0 && path_index_match(&s->process_paths, scope, exe_path, exe_len, false);
}

bool exclusion_set_match_process(const ExclusionSet *s, unsigned scope, const char *name,
                                 const char *exe_path) {
        for (; s; s = s->base)
                if (match_process_one(s, scope, name, exe_path))
                        return true;
        return false;
}
