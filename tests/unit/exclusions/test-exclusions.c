/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of exclusions/: path, folder, wildcard, extension and process matching (every example
 * of mde-behaviour.md §3 and the boundary cases around them), scope filtering, subtree pruning
 * consistent with file matching, validation, reference counting, an empty set and a large one.
 */

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exclusions/exclusions-internal.h"
#include "exclusions/exclusions.h"
#include "util/macro.h"

#define EPP EXCLUSION_SCOPE_EPP
#define GLOBAL EXCLUSION_SCOPE_GLOBAL
#define BOTH (EXCLUSION_SCOPE_EPP | EXCLUSION_SCOPE_GLOBAL)
#define MAXP 12
#define NONE 0x100     /* PathCase.effective: the entry applies in no scope */

static const unsigned scope_list[] = { EPP, GLOBAL };

static SettingExclusion entry(const char *type, const char *value, bool is_directory,
                              unsigned scopes) {
        return (SettingExclusion) {
                .type = (char *) type,
                .value = (char *) value,
                .is_directory = is_directory,
                .scopes = scopes,
        };
}

/* A set of one entry; *ret_left_out gets exclusion_set_new()'s count when wanted. */
static ExclusionSet *set_of(const char *type, const char *value, bool is_directory,
                            unsigned scopes, int *ret_left_out) {
        SettingExclusion e = entry(type, value, is_directory, scopes);
        ExclusionSet *s = NULL;
        int r;

        r = exclusion_set_new(&e, 1, &s);
        ck_assert_msg(r >= 0, "exclusion_set_new('%s') failed: %d", value, r);
        ck_assert_ptr_nonnull(s);
        if (ret_left_out)
                *ret_left_out = r;
        return s;
}

/* ---- the path table ---- */

typedef struct PathCase {
        const char *value;
        bool is_directory;
        unsigned scopes;        /* of the entry */
        unsigned effective;     /* scopes in which the yes lists hold; 0 = scopes, or NONE */
        const char *yes[MAXP];  /* files excluded in the effective scopes */
        const char *no[MAXP];   /* files not excluded in any scope */
        const char *dir_yes[MAXP]; /* directories whose whole subtree is excluded */
        const char *dir_no[MAXP];  /* directories whose subtree is not (wholly) excluded */
} PathCase;

static const PathCase path_cases[] = {
        /* File: that exact file only (§3 Types). */
        { "/var/log/test.log", false, EPP, 0,
          { "/var/log/test.log" },
          { "/var/log/test.log.1", "/var/log/test.lo", "/var/log/test.log/x", "/var/log",
            "/var/log/Test.log", "/var/logs/test.log", "/var/log/x/test.log", "/test.log" },
          { },
          { "/var/log", "/var/log/test.log", "/" } },
        { "/srv/file", false, EPP, 0,
          { "/srv/file", "/srv/file/" },
          { "/srv/file/x", "/srv/filex", "/srv" },
          { },
          { "/srv/file", "/srv" } },
        /* Folder, by trailing slash, by isDirectory, or both: recursive, not /var/logs. */
        { "/var/log/", false, EPP, 0,
          { "/var/log/a", "/var/log/x/y/z", "/var/log/.hidden", "/var/log/a b" },
          { "/var/log", "/var/logs/x", "/var/lo", "/var/log.1", "/var/x/log/a", "/varlog/a",
            "/var/lo/g" },
          { "/var/log", "/var/log/x", "/var/log/x/y/" },
          { "/var", "/", "/var/logs", "/var/lo" } },
        { "/var/log", true, EPP, 0,
          { "/var/log/a", "/var/log/x/y/z" },
          { "/var/log", "/var/logs/x", "/var/log.1" },
          { "/var/log", "/var/log/x" },
          { "/var", "/var/logs" } },
        { "/var/log/", true, EPP, 0,
          { "/var/log/a" },
          { "/var/logs/x" },
          { "/var/log" },
          { "/var" } },
        { "/var", true, EPP, 0,
          { "/var/a", "/var/log/x" },
          { "/varx/a", "/va/a", "/var" },
          { "/var" },
          { "/varx", "/va", "/" } },
        /* Normalisation: duplicate slashes, ".", "..", trailing "/." and "/..". */
        { "//var///log//", false, EPP, 0,
          { "/var/log/a" },
          { "/var/logs/a", "/var/log" },
          { "/var/log" },
          { "/var" } },
        { "/var/./log/.", false, EPP, 0,
          { "/var/log/a" },
          { "/var/log", "/var/a" },
          { "/var/log" },
          { "/var" } },
        { "/var/tmp/../log/", false, EPP, 0,
          { "/var/log/a" },
          { "/var/tmp/a", "/var/tmp/log/a" },
          { "/var/log" },
          { "/var/tmp" } },
        { "/../../var/log/x", false, EPP, 0,
          { "/var/log/x" },
          { "/var/log/y", "/var/log/x/y" },
          { },
          { "/var/log" } },
        { "/var/log/sub/..", false, EPP, 0,
          { "/var/log/a", "/var/log/sub/x" },
          { "/var/log", "/var/a" },
          { "/var/log" },
          { "/var" } },
        /* The root as a folder excludes everything. */
        { "/", false, EPP, 0,
          { "/a", "/var/log/x" },
          { },
          { "/", "/var" },
          { } },
        /* '*' inside a file name, including the empty run (§3 File examples). */
        { "/var/log/*.log", false, EPP, 0,
          { "/var/log/a.log", "/var/log/.log", "/var/log/x.y.log", "/var/log/a b.log" },
          { "/var/log/a.log.1", "/var/log/sub/a.log", "/var/log/a.log/inner", "/var/log/alog",
            "/var/a.log", "/var/logs/a.log", "/var/log" },
          { },
          { "/var/log", "/var/log/a.log", "/var" } },
        /* '?' is exactly one character, never '/' (§3 File and Wildcards examples). */
        { "/var/log/install.?.log", false, EPP, 0,
          { "/var/log/install.1.log", "/var/log/install.x.log", "/var/log/install.\xc3\xa9.log",
            "/var/log/install.\xe2\x82\xac.log" },
          { "/var/log/install..log", "/var/log/install.12.log", "/var/log/install./.log",
            "/var/log/install.1.log.gz" },
          { },
          { "/var/log" } },
        { "/var/log/file?.log", false, EPP, 0,
          { "/var/log/file1.log", "/var/log/file2.log" },
          { "/var/log/file123.log", "/var/log/file.log", "/var/log/file/.log" },
          { },
          { "/var/log" } },
        { "/srv/?", false, EPP, 0,
          { "/srv/a", "/srv/\xc3\xa9", "/srv/?" },
          { "/srv/ab", "/srv", "/srv/a/b", "/srv/\xc3\xa9\xc3\xa9" },
          { },
          { "/srv", "/srv/a" } },
        /* '*' not at the end stands for exactly one component (§3 Wildcards): as a folder, the
         * documented /var/abc/tmp and everything below; as a file, /var/abc/tmp itself. */
        { "/var/*/tmp", true, EPP, 0,
          { "/var/abc/tmp/x", "/var/def/tmp/y/z", "/var/tmp/tmp/a" },
          { "/var/abc/log/x", "/var/a/b/tmp/x", "/var/tmp/x", "/var/abc/tmp", "/var/abc/tmpx/y",
            "/var/tmp" },
          { "/var/abc/tmp", "/var/abc/tmp/deeper" },
          { "/var/abc", "/var", "/var/a/b/tmp", "/var/abc/log" } },
        { "/var/*/tmp/", false, EPP, 0,
          { "/var/abc/tmp/x" },
          { "/var/abc/log/x", "/var/a/b/tmp/x" },
          { "/var/abc/tmp" },
          { "/var/abc" } },
        { "/var/*/tmp", false, EPP, 0,
          { "/var/abc/tmp", "/var/def/tmp" },
          { "/var/abc/tmp/x", "/var/abc/log", "/var/a/b/tmp", "/var/tmp" },
          { },
          { "/var/abc", "/var/abc/tmp" } },
        /* '*' at the end of a folder: everything below /var's children, not files in /var. */
        { "/var/*/", false, EPP, 0,
          { "/var/abc/x", "/var/abc/d/e" },
          { "/var/file", "/var", "/varx/abc/x", "/other/abc/x" },
          { "/var/abc", "/var/abc/d" },
          { "/var", "/" } },
        { "/var/*", true, EPP, 0,
          { "/var/abc/x" },
          { "/var/file" },
          { "/var/abc" },
          { "/var" } },
        /* '*' at the end of a file: all files and subdirectories under the wildcard's parent. */
        { "/var/log/*", false, EPP, 0,
          { "/var/log/a", "/var/log/x/y", "/var/log/.hidden", "/var/log/x/y/z" },
          { "/var/log", "/var/logs/a", "/var/a" },
          { "/var/log", "/var/log/x" },
          { "/var", "/var/logs", "/" } },
        { "/var/log/app*", false, EPP, 0,
          { "/var/log/app", "/var/log/app.log", "/var/log/appdir/x/y" },
          { "/var/log/ap", "/var/log/xapp", "/var/log/sub/app", "/var/log" },
          { "/var/log/appdir", "/var/log/app" },
          { "/var/log", "/var/log/ap" } },
        /* Paths may start with a wildcard: anchored at the root, one component. */
        { "*/tmp/", false, EPP, 0,
          { "/abc/tmp/x", "/home/tmp/a/b", "/tmp/tmp/x" },
          { "/tmp/x", "/a/b/tmp/x", "/abc/tmp", "/abc/tmpx/y" },
          { "/abc/tmp" },
          { "/abc", "/", "/tmp" } },
        { "*.log", false, EPP, 0,
          { "/a.log", "/.log" },
          { "/var/a.log", "/a.log/x", "/a.logx" },
          { },
          { "/" } },
        { "?ar/log/", false, EPP, 0,
          { "/var/log/x", "/bar/log/x/y" },
          { "/ar/log/x", "/vvar/log/x", "/var/log" },
          { "/var/log" },
          { "/var" } },
        { "*", false, EPP, 0,
          { "/a", "/a/b/c" },
          { "/" },
          { "/", "/a" },
          { } },
        /* Several wildcards. */
        { "/var/*/log/*.gz", false, EPP, 0,
          { "/var/app/log/a.gz", "/var/x/log/.gz" },
          { "/var/app/log/sub/a.gz", "/var/a/b/log/a.gz", "/var/app/log/a.gzip",
            "/var/app/logs/a.gz" },
          { },
          { "/var/app/log", "/var/app" } },
        { "/home/*/.cache/", false, EPP, 0,
          { "/home/alice/.cache/x", "/home/bob/.cache/a/b" },
          { "/home/alice/.cachex/y", "/home/.cache/x", "/home/alice/x/.cache/y" },
          { "/home/alice/.cache" },
          { "/home/alice", "/home" } },
        { "/opt/**/bin", false, EPP, 0,
          { "/opt/x/bin" },
          { "/opt/x/y/bin", "/opt/bin" },
          { },
          { "/opt/x" } },
        { "/data/a*b*c", false, EPP, 0,
          { "/data/abc", "/data/aXbYc", "/data/abbc", "/data/abcbc" },
          { "/data/acb", "/data/ab", "/data/abcd", "/data/a/bc" },
          { },
          { "/data" } },
        { "/d/*?", false, EPP, 0,
          { "/d/a", "/d/\xe2\x82\xac", "/d/ab" },
          { "/d", "/d/ab/c" },
          { },
          { "/d", "/d/a" } },
        { "/d/??*", false, EPP, 0,
          { "/d/ab", "/d/abc/x" },
          { "/d/a", "/d/\xe2\x82\xac", "/d/a/bc" },
          { "/d/ab" },
          { "/d", "/d/a" } },
        { "/e/*??", false, EPP, 0,
          { "/e/ab", "/e/a\xe2\x82\xac", "/e/\xe2\x82\xac\xc3\xa9", "/e/xyz" },
          { "/e/\xe2\x82\xac", "/e/a", "/e" },
          { },
          { "/e" } },
        /* Not UTF-8: '?' takes one byte. */
        { "/raw/?", false, EPP, 0,
          { "/raw/\xff", "/raw/\xc3" },
          { "/raw/\xff\xff" },
          { },
          { } },
        /* Global scope: literal paths only; wildcard entries are not compiled for it. */
        { "/var/log/test.log", false, GLOBAL, 0,
          { "/var/log/test.log" },
          { "/var/log/test.log2" },
          { },
          { "/var/log" } },
        { "/var/lib/docker/", false, GLOBAL, 0,
          { "/var/lib/docker/overlay2/x" },
          { "/var/lib/dockerx/a", "/var/lib/docker" },
          { "/var/lib/docker", "/var/lib/docker/overlay2" },
          { "/var/lib" } },
        { "/var/*/tmp/", false, GLOBAL, NONE,
          { },
          { "/var/abc/tmp/x", "/var/*/tmp/x" },
          { },
          { "/var/abc/tmp", "/var/*/tmp" } },
        { "/var/log/*.log", false, BOTH, EPP,
          { "/var/log/a.log" },
          { "/var/log/a.txt" },
          { },
          { "/var/log" } },
        { "/mnt/data/", false, BOTH, 0,
          { "/mnt/data/x" },
          { "/mnt/datax/x", "/mnt/data" },
          { "/mnt/data" },
          { "/mnt" } },
        /* Spaces and non-ASCII names are ordinary characters. */
        { "/home/user/My Documents/", false, EPP, 0,
          { "/home/user/My Documents/a", "/home/user/My Documents/\xc3\xa9t\xc3\xa9/b" },
          { "/home/user/My Documents2/a", "/home/user/My/a" },
          { "/home/user/My Documents" },
          { "/home/user" } },
        /* Unusable values match nothing. */
        { "var/log", true, EPP, NONE,
          { },
          { "/var/log", "/var/log/x", "/var/logx" },
          { },
          { "/var/log", "/" } },
        { "", false, EPP, NONE,
          { },
          { "/a", "/" },
          { },
          { "/" } },
};


/* The scopes in which c's yes lists hold. */
static unsigned case_effective(const PathCase *c) {
        if (c->effective == NONE)
                return 0;
        return c->effective ? c->effective : c->scopes;
}

/* Names put below a directory to check pruning against file matching. */
static const char * const children[] = {
        "anything", "x.pdf", "a/b/c", ".hidden", "\xc3\xa9", "tmp", "tmp/x", "log/a.log",
};

/* Asserts, for path and each of its ancestors d and every scope, that when the set says the
 * subtree of d is excluded, files below d are excluded. */
static void assert_pruning_consistent(const ExclusionSet *s, const char *path) {
        const unsigned scopes[] = { EPP, GLOBAL, BOTH };
        size_t len = strlen(path);
        char d[4096], f[4200];

        while (len > 1 && path[len - 1] == '/')
                len--;
        if (len == 0 || path[0] != '/' || len >= sizeof(d))
                return;

        for (size_t end = 1; end <= len; end++) {
                if (end != 1 && end != len && path[end] != '/')
                        continue;
                memcpy(d, path, end);
                d[end] = '\0';
                for (size_t k = 0; k < ELEMENTSOF(scopes); k++) {
                        if (!exclusion_set_match_directory(s, scopes[k], d))
                                continue;
                        for (size_t c = 0; c < ELEMENTSOF(children); c++) {
                                snprintf(f, sizeof(f), "%s/%s", end == 1 ? "" : d, children[c]);
                                ck_assert_msg(exclusion_set_match_file(s, scopes[k], f),
                                              "'%s' is pruned in scope %u but '%s' does not "
                                              "match", d, scopes[k], f);
                        }
                }
        }
}

static void assert_case_pruning(const ExclusionSet *s, const PathCase *c) {
        const char * const *lists[] = { c->yes, c->no, c->dir_yes, c->dir_no };

        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (size_t i = 0; i < MAXP && lists[l][i]; i++)
                        assert_pruning_consistent(s, lists[l][i]);
}

START_TEST(test_path_table) {
        const PathCase *c = &path_cases[_i];
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;
        unsigned eff = case_effective(c);

        s = set_of("excludedPath", c->value, c->is_directory, c->scopes, NULL);

        for (size_t k = 0; k < ELEMENTSOF(scope_list); k++) {
                unsigned q = scope_list[k];
                bool on = eff & q;

                for (size_t i = 0; i < MAXP && c->yes[i]; i++)
                        ck_assert_msg(exclusion_set_match_file(s, q, c->yes[i]) == on,
                                      "'%s'%s scopes %u: file '%s' in scope %u: expected %s",
                                      c->value, c->is_directory ? " (dir)" : "", c->scopes,
                                      c->yes[i], q, on ? "match" : "no match");
                for (size_t i = 0; i < MAXP && c->no[i]; i++)
                        ck_assert_msg(!exclusion_set_match_file(s, q, c->no[i]),
                                      "'%s'%s: file '%s' in scope %u: unexpected match",
                                      c->value, c->is_directory ? " (dir)" : "", c->no[i], q);
                for (size_t i = 0; i < MAXP && c->dir_yes[i]; i++)
                        ck_assert_msg(exclusion_set_match_directory(s, q, c->dir_yes[i]) == on,
                                      "'%s'%s: directory '%s' in scope %u: expected %s",
                                      c->value, c->is_directory ? " (dir)" : "", c->dir_yes[i], q,
                                      on ? "pruned" : "not pruned");
                for (size_t i = 0; i < MAXP && c->dir_no[i]; i++)
                        ck_assert_msg(!exclusion_set_match_directory(s, q, c->dir_no[i]),
                                      "'%s'%s: directory '%s' in scope %u: unexpectedly pruned",
                                      c->value, c->is_directory ? " (dir)" : "", c->dir_no[i], q);
        }
        /* A query for both scopes matches when either does. */
        for (size_t i = 0; i < MAXP && c->yes[i]; i++)
                ck_assert(exclusion_set_match_file(s, BOTH, c->yes[i]) == (eff != 0));
        ck_assert_uint_eq(exclusion_set_size(s, BOTH), eff != 0);

        assert_case_pruning(s, c);
}
END_TEST

/* All table entries in one set: every yes still matches; pruning stays consistent. */
START_TEST(test_path_table_union) {
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;
        SettingExclusion items[ELEMENTSOF(path_cases)];

        for (size_t i = 0; i < ELEMENTSOF(path_cases); i++)
                items[i] = entry("excludedPath", path_cases[i].value, path_cases[i].is_directory,
                                 path_cases[i].scopes);
        ck_assert_int_ge(exclusion_set_new(items, ELEMENTSOF(items), &s), 0);

        for (size_t i = 0; i < ELEMENTSOF(path_cases); i++) {
                const PathCase *c = &path_cases[i];
                unsigned eff = case_effective(c);

                for (size_t k = 0; k < ELEMENTSOF(scope_list); k++) {
                        if (!(eff & scope_list[k]))
                                continue;
                        for (size_t j = 0; j < MAXP && c->yes[j]; j++)
                                ck_assert_msg(exclusion_set_match_file(s, scope_list[k],
                                                                       c->yes[j]),
                                              "union: '%s' does not match", c->yes[j]);
                        for (size_t j = 0; j < MAXP && c->dir_yes[j]; j++)
                                ck_assert_msg(exclusion_set_match_directory(s, scope_list[k],
                                                                            c->dir_yes[j]),
                                              "union: '%s' not pruned", c->dir_yes[j]);
                }
                assert_case_pruning(s, c);
        }
        /* The root folder entry is in the union: everything is excluded in epp. */
        ck_assert(exclusion_set_match_file(s, EPP, "/nothing/else"));
        ck_assert(!exclusion_set_match_file(s, GLOBAL, "/nothing/else"));
}
END_TEST

/* Queries that are not absolute paths never match, not even under a root exclusion. */
START_TEST(test_bad_queries) {
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;

        s = set_of("excludedPath", "/", true, BOTH, NULL);
        ck_assert(exclusion_set_match_file(s, EPP, "/x"));
        ck_assert(!exclusion_set_match_file(s, EPP, NULL));
        ck_assert(!exclusion_set_match_file(s, EPP, ""));
        ck_assert(!exclusion_set_match_file(s, EPP, "x"));
        ck_assert(!exclusion_set_match_file(s, EPP, "var/log"));
        ck_assert(!exclusion_set_match_directory(s, EPP, NULL));
        ck_assert(!exclusion_set_match_directory(s, EPP, "relative"));
        ck_assert(!exclusion_set_match_file(s, 0, "/x"));
        ck_assert(!exclusion_set_match_directory(s, 0, "/x"));
        ck_assert(!exclusion_set_match_file(NULL, EPP, "/x"));
        ck_assert(!exclusion_set_match_directory(NULL, EPP, "/x"));
}
END_TEST

/* ---- extensions ---- */

typedef struct ExtCase {
        const char *value;
        unsigned scopes;
        unsigned effective;     /* as in PathCase */
        const char *yes[MAXP];
        const char *no[MAXP];
} ExtCase;

static const ExtCase ext_cases[] = {
        /* ".pdf" and "pdf" mean the same; case-sensitive like Linux names. */
        { ".pdf", EPP, 0,
          { "/a/b.pdf", "/x.y.pdf", "/dir.d/file.pdf", "/a/.x.pdf", "/a/b..pdf", "/a/b.pdf/" },
          { "/a/b.PDF", "/a/bpdf", "/a/b.pdf.txt", "/a/.pdf", "/a/pdf", "/a.pdf/file",
            "/a/b.pdfx", "/a/b.xpdf", "/" } },
        { "pdf", EPP, 0,
          { "/a/b.pdf", "/x.y.pdf", "/a/.x.pdf" },
          { "/a/b.PDF", "/a/.pdf", "/a/pdf", "/a.pdf/file" } },
        { ".test", EPP, 0,
          { "/tmp/eicar.test" },
          { "/tmp/eicar.test1", "/tmp/test" } },
        /* Several dots: every dot-suffix but the dot file's own. */
        { "tar.gz", EPP, 0,
          { "/a/b.tar.gz", "/a/b.c.tar.gz" },
          { "/a/b.gz", "/a/b.tgz", "/a/.tar.gz", "/a/tar.gz" } },
        { ".gz", EPP, 0,
          { "/a/b.tar.gz", "/a/.tar.gz", "/a/b.gz" },
          { "/a/.gz", "/a/b.gz.1" } },
        /* Dot files with an extension of their own. */
        { ".bashrc", EPP, 0,
          { "/home/u/x.bashrc" },
          { "/home/u/.bashrc" } },
        /* Not in the global scope: a global one is left out, a both one is epp only. */
        { ".pdf", GLOBAL, NONE,
          { },
          { "/a/b.pdf" } },
        { ".pdf", BOTH, EPP,
          { "/a/b.pdf" },
          { "/a/b.doc" } },
        /* No wildcards in extensions: '*' is a character. */
        { "*", EPP, 0,
          { "/a/b.*" },
          { "/a/b.pdf", "/a/b" } },
        /* Unusable values. */
        { ".", EPP, NONE, { }, { "/a/b.", "/a/b" } },
        { "", EPP, NONE, { }, { "/a/b.", "/a/b" } },
        { "a/b", EPP, NONE, { }, { "/x.a/b", "/x.b" } },
};

START_TEST(test_extension_table) {
        const ExtCase *c = &ext_cases[_i];
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;
        unsigned eff = c->effective == NONE ? 0 : c->effective ? c->effective : c->scopes;

        s = set_of("excludedFileExtension", c->value, false, c->scopes, NULL);
        for (size_t k = 0; k < ELEMENTSOF(scope_list); k++) {
                unsigned q = scope_list[k];

                for (size_t i = 0; i < MAXP && c->yes[i]; i++) {
                        ck_assert_msg(exclusion_set_match_file(s, q, c->yes[i]) == !!(eff & q),
                                      "extension '%s': '%s' in scope %u", c->value, c->yes[i],
                                      q);
                        /* An extension never excludes a whole directory. */
                        ck_assert(!exclusion_set_match_directory(s, q, c->yes[i]));
                }
                for (size_t i = 0; i < MAXP && c->no[i]; i++)
                        ck_assert_msg(!exclusion_set_match_file(s, q, c->no[i]),
                                      "extension '%s': '%s' in scope %u: unexpected match",
                                      c->value, c->no[i], q);
        }
}
END_TEST

/* ---- processes ---- */

typedef struct ProcCase {
        const char *value;
        unsigned scopes;        /* of the entry */
        unsigned query;
        const char *name;
        const char *exe;
        bool expected;
} ProcCase;

static const ProcCase proc_cases[] = {
        /* Bare names (§3 Process examples). */
        { "cat", EPP, EPP, "cat", "/bin/cat", true },
        { "cat", EPP, EPP, "cat", NULL, true },
        { "cat", EPP, EPP, NULL, "/usr/bin/cat", true },
        { "cat", EPP, EPP, "cats", "/bin/cats", false },
        { "cat", EPP, EPP, "ca", "/bin/ca", false },
        { "cat", EPP, EPP, "CAT", NULL, false },
        { "cat", EPP, EPP, NULL, "/bin/cat/", true },
        { "cat", EPP, EPP, NULL, "/", false },
        { "cat", EPP, EPP, NULL, NULL, false },
        { "cat", EPP, EPP, "", "/bin/dog", false },
        /* The name given wins over the executable's file name. */
        { "cat", EPP, EPP, "dog", "/bin/cat", false },
        { "cat", EPP, GLOBAL, "cat", "/bin/cat", false },
        { "c?t", EPP, EPP, "cat", NULL, true },
        { "c?t", EPP, EPP, "cut", NULL, true },
        { "c?t", EPP, EPP, "ct", NULL, false },
        { "c?t", EPP, EPP, "coat", NULL, false },
        { "c?t", EPP, EPP, NULL, "/usr/bin/cot", true },
        { "crm_*", EPP, EPP, "crm_mon", NULL, true },
        { "crm_*", EPP, EPP, "crm_", NULL, true },
        { "crm_*", EPP, EPP, "crm", NULL, false },
        { "crm_*", EPP, EPP, "xcrm_mon", NULL, false },
        { "crm_*", EPP, GLOBAL, "crm_mon", "/usr/sbin/crm_mon", false },
        /* In names, wildcards may match '/' (kernel threads' names have one). */
        { "kworker*", EPP, EPP, "kworker/0:1", NULL, true },
        /* A bare name is epp only. */
        { "cat", GLOBAL, GLOBAL, "cat", "/bin/cat", false },
        { "cat", BOTH, GLOBAL, "cat", "/bin/cat", false },
        { "cat", BOTH, EPP, "cat", "/bin/cat", true },
        /* Full paths match the executable, not the name. */
        { "/bin/cat", EPP, EPP, "cat", "/bin/cat", true },
        { "/bin/cat", EPP, EPP, "anything", "/bin/cat", true },
        { "/bin/cat", EPP, EPP, "cat", "/usr/bin/cat", false },
        { "/bin/cat", EPP, EPP, "cat", NULL, false },
        { "/bin/cat", EPP, EPP, "/bin/cat", NULL, false },
        { "/bin/cat", EPP, EPP, NULL, "/bin/cat2", false },
        { "/bin/cat", EPP, GLOBAL, NULL, "/bin/cat", false },
        { "/bin/cat", GLOBAL, GLOBAL, "x", "/bin/cat", true },
        { "/bin/cat", GLOBAL, EPP, "x", "/bin/cat", false },
        { "/bin/cat", BOTH, GLOBAL, NULL, "/bin/cat", true },
        { "/bin/cat", BOTH, EPP, NULL, "/bin/cat", true },
        { "/usr//bin/./cat", EPP, EPP, NULL, "/usr/bin/cat", true },
        /* Full paths with wildcards: epp only, matched like file patterns. */
        { "/usr/bin/*", EPP, EPP, NULL, "/usr/bin/python3", true },
        { "/usr/bin/*", EPP, EPP, NULL, "/usr/bin/sub/x", true },
        { "/usr/bin/*", EPP, EPP, NULL, "/usr/sbin/x", false },
        { "/usr/bin/*", EPP, EPP, NULL, "/usr/bin", false },
        { "/usr/bin/*", GLOBAL, GLOBAL, NULL, "/usr/bin/python3", false },
        { "/usr/bin/*", BOTH, GLOBAL, NULL, "/usr/bin/python3", false },
        { "/usr/bin/*", BOTH, EPP, NULL, "/usr/bin/python3", true },
        { "/opt/*/bin/run", EPP, EPP, "run", "/opt/app/bin/run", true },
        { "/opt/*/bin/run", EPP, EPP, "run", "/opt/a/b/bin/run", false },
        { "/usr/bin/python?", EPP, EPP, NULL, "/usr/bin/python3", true },
        { "/usr/bin/python?", EPP, EPP, NULL, "/usr/bin/python3.11", false },
        /* A full path ending in '/': every executable below it. */
        { "/opt/app/", EPP, EPP, NULL, "/opt/app/bin/x", true },
        { "/opt/app/", EPP, EPP, NULL, "/opt/application", false },
        /* Unusable: neither a name nor a full path. */
        { "bin/cat", EPP, EPP, "bin/cat", "/bin/cat", false },
        { "bin/cat", EPP, EPP, "cat", "/bin/cat", false },
        { "", EPP, EPP, "", "/bin/cat", false },
};

START_TEST(test_process_table) {
        const ProcCase *c = &proc_cases[_i];
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;

        s = set_of("excludedFileName", c->value, false, c->scopes, NULL);
        ck_assert_msg(exclusion_set_match_process(s, c->query, c->name, c->exe) == c->expected,
                      "process '%s' scopes %u: name '%s' exe '%s' in scope %u: expected %s",
                      c->value, c->scopes, c->name ?: "(null)", c->exe ?: "(null)", c->query,
                      c->expected ? "match" : "no match");
        /* Process exclusions never exclude files by path, nor the process image itself. */
        if (c->exe) {
                ck_assert(!exclusion_set_match_file(s, BOTH, c->exe));
                ck_assert(!exclusion_set_match_directory(s, BOTH, c->exe));
        }
}
END_TEST

/* Types do not leak into each other. */
START_TEST(test_types_are_separate) {
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;
        const SettingExclusion items[] = {
                entry("excludedPath", "/usr/bin/cat", false, BOTH),
                entry("excludedFileName", "/opt/x/", false, EPP),
                entry("excludedFileName", "pdf", false, EPP),
                entry("excludedFileExtension", "cat", false, EPP),
        };

        ck_assert_int_eq(exclusion_set_new(items, ELEMENTSOF(items), &s), 0);
        ck_assert(exclusion_set_match_file(s, EPP, "/usr/bin/cat"));
        ck_assert(!exclusion_set_match_process(s, BOTH, "x", "/usr/bin/cat"));
        ck_assert(!exclusion_set_match_file(s, EPP, "/opt/x/y"));
        ck_assert(exclusion_set_match_process(s, EPP, NULL, "/opt/x/y"));
        ck_assert(!exclusion_set_match_file(s, EPP, "/a/b.pdf"));
        ck_assert(exclusion_set_match_process(s, EPP, "pdf", NULL));
        ck_assert(exclusion_set_match_file(s, EPP, "/a/b.cat"));
        ck_assert(!exclusion_set_match_process(s, EPP, "cat", "/bin/cat"));
        ck_assert(!exclusion_set_match_process(NULL, EPP, "cat", "/bin/cat"));
}
END_TEST

/* ---- building: what is left out, sizes, limits ---- */

START_TEST(test_left_out_and_size) {
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;
        const SettingExclusion items[] = {
                entry("excludedPath", "/ok/epp", false, EPP),           /* epp */
                entry("excludedPath", "/ok/global/", false, GLOBAL),    /* global */
                entry("excludedPath", "/ok/both", true, BOTH),          /* both */
                entry("excludedPath", "relative", false, EPP),          /* left out */
                entry("excludedPath", "/w/*", false, GLOBAL),           /* left out */
                entry("excludedPath", "/w/*", false, BOTH),             /* epp, part left out */
                entry("excludedFileExtension", "pdf", false, GLOBAL),   /* left out */
                entry("excludedFileExtension", "doc", false, BOTH),     /* epp, part left out */
                entry("excludedFileName", "cat", false, EPP),           /* epp */
                entry("excludedFileName", "cat", false, GLOBAL),        /* left out */
                entry("excludedFileName", "/bin/cat", false, GLOBAL),   /* global */
                entry("excludedFileName", "/bin/c?t", false, GLOBAL),   /* left out */
                entry("excludedSomething", "/x", false, EPP),           /* left out */
                entry(NULL, "/x", false, EPP),                          /* left out */
                entry("excludedPath", NULL, false, EPP),                /* left out */
                entry("excludedPath", "/x", false, 0),                  /* left out */
                entry("excludedPath", "/x", false, 1U << 5),            /* left out */
                entry("excludedPath", "/y", false, EPP | (1U << 5)),    /* epp */
        };

        ck_assert_int_eq(exclusion_set_new(items, ELEMENTSOF(items), &s), 12);
        ck_assert_uint_eq(exclusion_set_size(s, EPP), 6);
        ck_assert_uint_eq(exclusion_set_size(s, GLOBAL), 3);
        ck_assert_uint_eq(exclusion_set_size(s, BOTH), 8);
        ck_assert_uint_eq(exclusion_set_size(s, 0), 0);
        ck_assert_uint_eq(exclusion_set_size(NULL, BOTH), 0);
        ck_assert(exclusion_set_match_file(s, EPP, "/y"));
        ck_assert(!exclusion_set_match_file(s, GLOBAL, "/y"));
        ck_assert(exclusion_set_match_file(s, GLOBAL, "/ok/both/z"));
        ck_assert(!exclusion_set_match_file(s, BOTH, "/x"));
}
END_TEST

START_TEST(test_new_errors) {
        SettingExclusion e = entry("excludedPath", "/x", false, EPP);
        ExclusionSet *s = NULL;

        ck_assert_int_eq(exclusion_set_new(NULL, 1, &s), -EINVAL);
        ck_assert_int_eq(exclusion_set_new(&e, (size_t) EXCLUSION_SET_MAX + 1, &s), -E2BIG);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_empty_set) {
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;

        ck_assert_int_eq(exclusion_set_new(NULL, 0, &s), 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(exclusion_set_size(s, BOTH), 0);
        ck_assert(!exclusion_set_match_file(s, BOTH, "/"));
        ck_assert(!exclusion_set_match_file(s, BOTH, "/a/b.pdf"));
        ck_assert(!exclusion_set_match_directory(s, BOTH, "/"));
        ck_assert(!exclusion_set_match_process(s, BOTH, "cat", "/bin/cat"));
        assert_pruning_consistent(s, "/a/b/c");
}
END_TEST

START_TEST(test_refcount) {
        ExclusionSet *s, *t;

        s = set_of("excludedPath", "/var/log/", false, EPP, NULL);
        t = exclusion_set_ref(s);
        ck_assert_ptr_eq(t, s);
        ck_assert_ptr_null(exclusion_set_unref(s));
        /* Still alive through t. */
        ck_assert(exclusion_set_match_file(t, EPP, "/var/log/x"));
        ck_assert_ptr_eq(exclusion_set_ref(t), t);
        ck_assert_ptr_null(exclusion_set_unref(t));
        ck_assert(exclusion_set_match_file(t, EPP, "/var/log/x"));
        ck_assert_ptr_null(exclusion_set_unref(t));     /* freed: ASan/valgrind check this */
        ck_assert_ptr_null(exclusion_set_ref(NULL));
        ck_assert_ptr_null(exclusion_set_unref(NULL));
}
END_TEST

/* Worker threads share one snapshot while the owner drops its reference. */
typedef struct Worker {
        ExclusionSet *set;
        unsigned hits;
} Worker;

static void *worker_run(void *userdata) {
        Worker *w = userdata;

        for (unsigned i = 0; i < 20000; i++) {
                w->hits += exclusion_set_match_file(w->set, EPP, "/var/log/a/b");
                w->hits += exclusion_set_match_file(w->set, EPP, "/home/u/x.pdf");
                w->hits += exclusion_set_match_process(w->set, EPP, "crm_mon", NULL);
                w->hits += exclusion_set_match_file(w->set, EPP, "/usr/bin/ls");
        }
        w->set = exclusion_set_unref(w->set);
        return NULL;
}

START_TEST(test_threads_share_snapshot) {
        const SettingExclusion items[] = {
                entry("excludedPath", "/var/*/a/", false, EPP),
                entry("excludedFileExtension", ".pdf", false, EPP),
                entry("excludedFileName", "crm_*", false, EPP),
        };
        ExclusionSet *s = NULL;
        Worker w[4] = {};
        pthread_t t[4];

        ck_assert_int_eq(exclusion_set_new(items, ELEMENTSOF(items), &s), 0);
        for (size_t i = 0; i < ELEMENTSOF(w); i++) {
                w[i].set = exclusion_set_ref(s);
                ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
        }
        s = exclusion_set_unref(s);
        for (size_t i = 0; i < ELEMENTSOF(w); i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert_uint_eq(w[i].hits, 3 * 20000);
                ck_assert_ptr_null(w[i].set);
        }
}
END_TEST

/* 10,000 entries of every kind: each one still matches exactly what it should. */
#define N_MANY 10000

START_TEST(test_many_entries) {
        _cleanup_(exclusion_set_unrefp) ExclusionSet *s = NULL;
        SettingExclusion *items;
        char **values;
        char p[256];

        items = calloc(N_MANY, sizeof(SettingExclusion));
        values = calloc(N_MANY, sizeof(char *));
        ck_assert(items && values);
        for (size_t i = 0; i < N_MANY; i++) {
                switch (i % 6) {
                case 0:
                        ck_assert_int_ge(asprintf(&values[i], "/data/f%05zu", i), 0);
                        items[i] = entry("excludedPath", values[i], false, i % 12 ? EPP : BOTH);
                        break;
                case 1:
                        ck_assert_int_ge(asprintf(&values[i], "/srv/d%05zu", i), 0);
                        items[i] = entry("excludedPath", values[i], true, GLOBAL);
                        break;
                case 2:
                        ck_assert_int_ge(asprintf(&values[i], "/w%05zu/*/tmp/", i), 0);
                        items[i] = entry("excludedPath", values[i], false, EPP);
                        break;
                case 3:
                        ck_assert_int_ge(asprintf(&values[i], ".e%05zu", i), 0);
                        items[i] = entry("excludedFileExtension", values[i], false, EPP);
                        break;
                case 4:
                        ck_assert_int_ge(asprintf(&values[i], i % 8 ? "p%05zu" : "q%05zu*", i),
                                         0);
                        items[i] = entry("excludedFileName", values[i], false, EPP);
                        break;
                default:
                        ck_assert_int_ge(asprintf(&values[i], "*/r%05zu/*.log", i), 0);
                        items[i] = entry("excludedPath", values[i], false, EPP);
                        break;
                }
        }
        ck_assert_int_eq(exclusion_set_new(items, N_MANY, &s), 0);
        ck_assert_uint_eq(exclusion_set_size(s, BOTH), N_MANY);

        for (size_t i = 0; i < N_MANY; i++) {
                switch (i % 6) {
                case 0:
                        snprintf(p, sizeof(p), "/data/f%05zu", i);
                        ck_assert(exclusion_set_match_file(s, EPP, p));
                        ck_assert(exclusion_set_match_file(s, GLOBAL, p) == (i % 12 == 0));
                        snprintf(p, sizeof(p), "/data/f%05zux", i);
                        ck_assert(!exclusion_set_match_file(s, BOTH, p));
                        break;
                case 1:
                        snprintf(p, sizeof(p), "/srv/d%05zu/a/b", i);
                        ck_assert(exclusion_set_match_file(s, GLOBAL, p));
                        ck_assert(!exclusion_set_match_file(s, EPP, p));
                        snprintf(p, sizeof(p), "/srv/d%05zu", i);
                        ck_assert(exclusion_set_match_directory(s, GLOBAL, p));
                        snprintf(p, sizeof(p), "/srv/d%05zux/a", i);
                        ck_assert(!exclusion_set_match_file(s, BOTH, p));
                        break;
                case 2:
                        snprintf(p, sizeof(p), "/w%05zu/any/tmp/x", i);
                        ck_assert(exclusion_set_match_file(s, EPP, p));
                        snprintf(p, sizeof(p), "/w%05zu/a/b/tmp/x", i);
                        ck_assert(!exclusion_set_match_file(s, EPP, p));
                        snprintf(p, sizeof(p), "/w%05zu/any/tmp", i);
                        ck_assert(exclusion_set_match_directory(s, EPP, p));
                        break;
                case 3:
                        snprintf(p, sizeof(p), "/any/where/file.e%05zu", i);
                        ck_assert(exclusion_set_match_file(s, EPP, p));
                        snprintf(p, sizeof(p), "/any/where/file.e%05zux", i);
                        ck_assert(!exclusion_set_match_file(s, EPP, p));
                        break;
                case 4:
                        snprintf(p, sizeof(p), i % 8 ? "p%05zu" : "q%05zu-suffix", i);
                        ck_assert(exclusion_set_match_process(s, EPP, p, NULL));
                        snprintf(p, sizeof(p), "x%05zu", i);
                        ck_assert(!exclusion_set_match_process(s, EPP, p, NULL));
                        break;
                default:
                        snprintf(p, sizeof(p), "/home/r%05zu/a.log", i);
                        ck_assert(exclusion_set_match_file(s, EPP, p));
                        snprintf(p, sizeof(p), "/home/r%05zu/a.txt", i);
                        ck_assert(!exclusion_set_match_file(s, EPP, p));
                        break;
                }
        }
        ck_assert(!exclusion_set_match_file(s, BOTH, "/usr/lib/x86_64-linux-gnu/libc.so.6"));
        ck_assert(!exclusion_set_match_directory(s, BOTH, "/usr"));
        assert_pruning_consistent(s, "/w00002/any/tmp/x/y");
        assert_pruning_consistent(s, "/srv/d00001/a/b");

        for (size_t i = 0; i < N_MANY; i++)
                free(values[i]);
        free(values);
        free(items);
}
END_TEST

/* ---- the glob against a reference ---- */

/* Reference: a recursive glob over code points (each "character" of the alphabet below is one
 * code point, 1 to 3 bytes), obviously right and exponential. */
static size_t char_len(const char *t) {
        unsigned char c = (unsigned char) *t;

        return c < 0x80 ? 1 : c < 0xe0 ? 2 : 3;
}

static bool reference_glob(const char *p, const char *t) {
        if (*p == '\0')
                return *t == '\0';
        if (*p == '*')
                for (const char *u = t;; u += char_len(u)) {
                        if (reference_glob(p + 1, u))
                                return true;
                        if (*u == '\0')
                                return false;
                }
        if (*t == '\0')
                return false;
        if (*p == '?')
                return reference_glob(p + 1, t + char_len(t));
        if (char_len(p) != char_len(t) || memcmp(p, t, char_len(p)) != 0)
                return false;
        return reference_glob(p + char_len(p), t + char_len(t));
}

START_TEST(test_glob_reference) {
        static const char * const pattern_chars[] = {
                "a", "b", "\xc3\xa9", "\xe2\x82\xac", "*", "?",
        };
        unsigned seed = 12345;
        char p[64], t[64];

        for (unsigned round = 0; round < 200000; round++) {
                size_t pn = 0, tn = 0, np, nt;

                seed = seed * 1103515245 + 12345;
                np = (seed >> 16) % 7;
                seed = seed * 1103515245 + 12345;
                nt = (seed >> 16) % 7;
                for (size_t i = 0; i < np; i++) {
                        const char *c;

                        seed = seed * 1103515245 + 12345;
                        c = pattern_chars[(seed >> 16) % ELEMENTSOF(pattern_chars)];
                        memcpy(p + pn, c, strlen(c));
                        pn += strlen(c);
                }
                for (size_t i = 0; i < nt; i++) {
                        const char *c;

                        seed = seed * 1103515245 + 12345;
                        c = pattern_chars[(seed >> 16) % 4];
                        memcpy(t + tn, c, strlen(c));
                        tn += strlen(c);
                }
                p[pn] = t[tn] = '\0';
                ck_assert_msg(excl_glob(p, pn, t, tn) == reference_glob(p, t),
                              "glob '%s' on '%s': %d", p, t, excl_glob(p, pn, t, tn));
        }
}
END_TEST

/* ---- validation ---- */

typedef struct ValidateCase {
        const char *type;
        const char *value;
        unsigned scopes;
        int expected;
        const char *needle;     /* in the message when invalid */
} ValidateCase;

static const ValidateCase validate_cases[] = {
        { "excludedPath", "/var/log/", EPP, 0, NULL },
        { "excludedPath", "/var/*/tmp", EPP, 0, NULL },
        { "excludedPath", "*/tmp/", EPP, 0, NULL },
        { "excludedPath", "?ar/log", EPP, 0, NULL },
        { "excludedPath", "/var/log/", GLOBAL, 0, NULL },
        { "excludedPath", "/var/log/", BOTH, 0, NULL },
        { "excludedPath", "/var/*/tmp", GLOBAL, -EINVAL, "wildcards" },
        { "excludedPath", "/var/log?", BOTH, -EINVAL, "global" },
        { "excludedPath", "*/tmp", GLOBAL, -EINVAL, "wildcards" },
        { "excludedPath", "var/log", EPP, -EINVAL, "absolute" },
        { "excludedPath", "var/*", EPP, -EINVAL, "absolute" },
        { "excludedPath", "", EPP, -EINVAL, "empty" },
        { "excludedPath", NULL, EPP, -EINVAL, "empty" },
        { "excludedPath", "/a\nb", EPP, -EINVAL, "control" },
        { "excludedPath", "/x", 0, -EINVAL, "scopes" },
        { "excludedPath", "/x", 1U << 4, -EINVAL, "scopes" },
        { "excludedFileExtension", ".pdf", EPP, 0, NULL },
        { "excludedFileExtension", "pdf", EPP, 0, NULL },
        { "excludedFileExtension", "tar.gz", EPP, 0, NULL },
        { "excludedFileExtension", ".pdf", GLOBAL, -EINVAL, "global" },
        { "excludedFileExtension", ".pdf", BOTH, -EINVAL, "global" },
        { "excludedFileExtension", ".", EPP, -EINVAL, "not a file extension" },
        { "excludedFileExtension", "a/b", EPP, -EINVAL, "not a file extension" },
        { "excludedFileName", "cat", EPP, 0, NULL },
        { "excludedFileName", "c?t", EPP, 0, NULL },
        { "excludedFileName", "crm_*", EPP, 0, NULL },
        { "excludedFileName", "/bin/cat", EPP, 0, NULL },
        { "excludedFileName", "/bin/cat", GLOBAL, 0, NULL },
        { "excludedFileName", "/usr/bin/*", EPP, 0, NULL },
        { "excludedFileName", "cat", GLOBAL, -EINVAL, "full path" },
        { "excludedFileName", "/bin/c?t", GLOBAL, -EINVAL, "wildcards" },
        { "excludedFileName", "crm_*", BOTH, -EINVAL, "wildcards" },
        { "excludedFileName", "bin/cat", EPP, -EINVAL, "neither" },
        { "excludedThing", "/x", EPP, -EINVAL, "'excludedThing' is not an exclusion type" },
        { NULL, "/x", EPP, -EINVAL, "no type" },
};

START_TEST(test_validate_table) {
        const ValidateCase *c = &validate_cases[_i];
        SettingExclusion e = entry(c->type, c->value, false, c->scopes);
        _cleanup_free_ char *message = NULL;
        int r;

        r = exclusion_validate(&e, &message);
        ck_assert_msg(r == c->expected, "validate %s '%s' scopes %u: %d (%s), expected %d",
                      c->type ?: "(null)", c->value ?: "(null)", c->scopes, r,
                      message ?: "no message", c->expected);
        if (c->expected == 0)
                ck_assert_ptr_null(message);
        else {
                ck_assert_ptr_nonnull(message);
                ck_assert_msg(strstr(message, c->needle), "message '%s' lacks '%s'", message,
                              c->needle);
        }
        /* Without a message pointer, the same verdict. */
        ck_assert_int_eq(exclusion_validate(&e, NULL), c->expected);
}
END_TEST

START_TEST(test_validate_long) {
        _cleanup_free_ char *v = malloc(5000), *message = NULL;
        SettingExclusion e;

        ck_assert_ptr_nonnull(v);
        v[0] = '/';
        memset(v + 1, 'a', 4998);
        v[4999] = '\0';
        e = entry("excludedPath", v, false, EPP);
        ck_assert_int_eq(exclusion_validate(&e, &message), -EINVAL);
        ck_assert_ptr_nonnull(strstr(message, "longer"));
        ck_assert_int_eq(exclusion_validate(NULL, NULL), -EINVAL);
}
END_TEST

/* An extension matches what its base matches plus its own entries, in every question; an
 * extension of an extension starts from the same base; the base is not changed. */
START_TEST(test_extend) {
        SettingExclusion base_items[] = {
                entry("excludedPath", "/var/log/", false, EPP),
                entry("excludedFileExtension", "pdf", false, EPP),
        };
        SettingExclusion more[] = {
                entry("excludedPath", "/srv/*/cache/", false, EPP),
                entry("excludedFileName", "rsync", false, EPP),
                entry("excludedPath", "/opt/app", true, GLOBAL),
        };
        SettingExclusion bad = entry("excludedPath", "/g/*", false, GLOBAL);
        _cleanup_(exclusion_set_unrefp) ExclusionSet *base = NULL, *one = NULL, *two = NULL,
                                                      *three = NULL;

        ck_assert_int_eq(exclusion_set_new(base_items, ELEMENTSOF(base_items), &base), 0);
        ck_assert_uint_eq(exclusion_set_extension_size(base), 0);
        ck_assert_int_eq(exclusion_set_extend(base, more, 1, &one), 0);
        ck_assert_int_eq(exclusion_set_extend(one, more + 1, 2, &two), 0);
        ck_assert_uint_eq(exclusion_set_extension_size(one), 1);
        ck_assert_uint_eq(exclusion_set_extension_size(two), 3);
        ck_assert_uint_eq(exclusion_set_size(two, BOTH), 5);
        ck_assert_uint_eq(exclusion_set_size(two, GLOBAL), 1);

        /* Base entries, through the extension. */
        ck_assert(exclusion_set_match_file(two, EPP, "/var/log/a"));
        ck_assert(exclusion_set_match_file(two, EPP, "/home/a.pdf"));
        ck_assert(exclusion_set_match_directory(two, EPP, "/var/log"));
        /* Added entries, each kind of question. */
        ck_assert(exclusion_set_match_file(two, EPP, "/srv/x/cache/f"));
        ck_assert(exclusion_set_match_file(one, EPP, "/srv/x/cache/f"));
        ck_assert(exclusion_set_match_process(two, EPP, "rsync", NULL));
        ck_assert(!exclusion_set_match_process(one, EPP, "rsync", NULL));
        ck_assert(exclusion_set_match_directory(two, GLOBAL, "/opt/app"));
        ck_assert(!exclusion_set_match_directory(two, EPP, "/opt/app"));
        /* Neither, and the base as it was. */
        ck_assert(!exclusion_set_match_file(two, BOTH, "/srv/x/other/f"));
        ck_assert(!exclusion_set_match_file(base, EPP, "/srv/x/cache/f"));
        ck_assert_uint_eq(exclusion_set_size(base, BOTH), 2);

        /* What cannot be compiled is counted for the new items only. */
        ck_assert_int_eq(exclusion_set_extend(two, &bad, 1, &three), 1);
        ck_assert_uint_eq(exclusion_set_size(three, BOTH), 5);
        ck_assert_int_eq(exclusion_set_extend(base, NULL, 1, &three), -EINVAL);
}
END_TEST

static Suite *exclusions_suite(void) {
        Suite *s = suite_create("exclusions");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_path_table, 0, ELEMENTSOF(path_cases));
        tcase_add_test(tc, test_path_table_union);
        tcase_add_test(tc, test_bad_queries);
        tcase_add_loop_test(tc, test_extension_table, 0, ELEMENTSOF(ext_cases));
        tcase_add_loop_test(tc, test_process_table, 0, ELEMENTSOF(proc_cases));
        tcase_add_test(tc, test_types_are_separate);
        tcase_add_test(tc, test_left_out_and_size);
        tcase_add_test(tc, test_new_errors);
        tcase_add_test(tc, test_empty_set);
        tcase_add_test(tc, test_refcount);
        tcase_add_test(tc, test_threads_share_snapshot);
        tcase_add_test(tc, test_many_entries);
        tcase_add_test(tc, test_extend);
        tcase_add_test(tc, test_glob_reference);
        tcase_add_loop_test(tc, test_validate_table, 0, ELEMENTSOF(validate_cases));
        tcase_add_test(tc, test_validate_long);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(exclusions_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
