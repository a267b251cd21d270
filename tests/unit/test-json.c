/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of util/json: node positions, errors and their positions, limits. */

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/macro.h"

static JsonNode *parse_ok(const char *text) {
        JsonError e = {};
        JsonNode *n = NULL;
        int r;

        r = json_parse(text, strlen(text), &n, &e);
        ck_assert_msg(r == 0, "parse failed (%d) at %u:%u: %s", r, e.line, e.column, e.message);
        ck_assert_ptr_nonnull(n);
        return n;
}

/* Asserts that text fails with error at line:column and a message containing needle. */
static void parse_fails(const char *text, size_t size, int error, unsigned line, unsigned column,
                        const char *needle) {
        JsonError e = {};
        JsonNode *n = NULL;
        int r;

        r = json_parse(text, size, &n, &e);
        ck_assert_int_eq(r, error);
        ck_assert_ptr_null(n);
        ck_assert_msg(e.line == line && e.column == column, "error at %u:%u, expected %u:%u (%s)",
                      e.line, e.column, line, column, e.message);
        ck_assert_msg(strstr(e.message, needle), "message '%s' lacks '%s'", e.message, needle);
}

static void assert_at(const JsonNode *n, JsonType type, unsigned line, unsigned column) {
        ck_assert_ptr_nonnull(n);
        ck_assert_int_eq(n->type, type);
        ck_assert_msg(n->line == line && n->column == column, "node at %u:%u, expected %u:%u",
                      n->line, n->column, line, column);
}

START_TEST(test_positions_multiline) {
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        const JsonNode *b, *d;

        root = parse_ok("{\n"
                        "  \"a\": 1,\n"
                        "  \"b\": [true, false, null],\n"
                        "  \"c\": \"x\\\"y\",\n"
                        "\t\"d\": {\"e\": -12.5e3}\n"
                        "}\n");
        assert_at(root, JSON_OBJECT, 1, 1);
        ck_assert_uint_eq(root->object.n, 4);
        ck_assert_str_eq(root->object.keys[2], "c");
        assert_at(json_object_get(root, "a"), JSON_INTEGER, 2, 8);
        ck_assert_int_eq(json_object_get(root, "a")->integer, 1);
        b = json_object_get(root, "b");
        assert_at(b, JSON_ARRAY, 3, 8);
        ck_assert_uint_eq(b->array.n, 3);
        assert_at(b->array.items[0], JSON_BOOL, 3, 9);
        ck_assert(b->array.items[0]->boolean);
        assert_at(b->array.items[1], JSON_BOOL, 3, 15);
        ck_assert(!b->array.items[1]->boolean);
        assert_at(b->array.items[2], JSON_NULL, 3, 22);
        assert_at(json_object_get(root, "c"), JSON_STRING, 4, 8);
        ck_assert_str_eq(json_object_get(root, "c")->string, "x\"y");
        d = json_object_get(root, "d");
        assert_at(d, JSON_OBJECT, 5, 7);
        assert_at(json_object_get(d, "e"), JSON_REAL, 5, 13);
        ck_assert(json_object_get(d, "e")->real == -12500.0);
        ck_assert_ptr_null(json_object_get(root, "missing"));
        ck_assert_ptr_null(json_object_get(b, "a"));
}
END_TEST

START_TEST(test_positions_numbers_at_line_end) {
        _cleanup_(json_node_freep) JsonNode *root = NULL, *top = NULL;

        root = parse_ok("[1,\n22\n,\n-3.5\n]");
        assert_at(root->array.items[0], JSON_INTEGER, 1, 2);
        assert_at(root->array.items[1], JSON_INTEGER, 2, 1);
        ck_assert_int_eq(root->array.items[1]->integer, 22);
        assert_at(root->array.items[2], JSON_REAL, 4, 1);

        /* A number ending the text fires in yajl_complete_parse(). */
        top = parse_ok("\n  42");
        assert_at(top, JSON_INTEGER, 2, 3);
        ck_assert_int_eq(top->integer, 42);
}
END_TEST

START_TEST(test_positions_escapes) {
        _cleanup_(json_node_freep) JsonNode *root = NULL;

        /* ["a\\", "b\"c\\\"", "\"", x] with x = "q" */
        root = parse_ok("[\"a\\\\\", \"b\\\"c\\\\\\\"\", \"\\\"\", \"q\"]");
        ck_assert_str_eq(root->array.items[0]->string, "a\\");
        assert_at(root->array.items[0], JSON_STRING, 1, 2);
        ck_assert_str_eq(root->array.items[1]->string, "b\"c\\\"");
        assert_at(root->array.items[1], JSON_STRING, 1, 9);
        ck_assert_str_eq(root->array.items[2]->string, "\"");
        assert_at(root->array.items[2], JSON_STRING, 1, 21);
        assert_at(root->array.items[3], JSON_STRING, 1, 27);
}
END_TEST

START_TEST(test_positions_count_characters) {
        _cleanup_(json_node_freep) JsonNode *root = NULL;

        /* "é" is two bytes but one column. */
        root = parse_ok("{\"\xc3\xa9\": \"\xe2\x82\xac\", \"k\": 5}");
        assert_at(json_object_get(root, "\xc3\xa9"), JSON_STRING, 1, 7);
        assert_at(json_object_get(root, "k"), JSON_INTEGER, 1, 17);
}
END_TEST

START_TEST(test_syntax_errors) {
        static const char trailing_comma[] = "{\n  \"a\": 1,\n}";
        static const char no_colon[] = "{\"a\" 1}";
        static const char garbage[] = "[1] x";
        static const char eof[] = "{\n\"a\": [1,";
        static const char comment[] = "[1 /* no */]";
        static const char two_numbers[] = "[1\n  23 4]";

        parse_fails(trailing_comma, strlen(trailing_comma), -EINVAL, 3, 1, "parse error");
        parse_fails(no_colon, strlen(no_colon), -EINVAL, 1, 6, "colon");
        parse_fails(garbage, strlen(garbage), -EINVAL, 1, 5, "trailing garbage");
        parse_fails(eof, strlen(eof), -EINVAL, 2, 9, "premature EOF");
        parse_fails("", 0, -EINVAL, 1, 1, "premature EOF");
        parse_fails(comment, strlen(comment), -EINVAL, 1, 4, "comment");
        /* yajl notices the unexpected number at the byte after it: point at its start. */
        parse_fails(two_numbers, strlen(two_numbers), -EINVAL, 2, 3, "parse error");
}
END_TEST

START_TEST(test_duplicate_keys) {
        static const char text[] = "{\"a\": 1,\n \"b\": {\"x\": 1, \"x\": 2},\n \"a\": 3}";
        static const char outer[] = "{\"a\": 1, \"b\": 2,\n  \"b\": 3, \"a\": 4}";
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        JsonError e = {};

        /* The inner object closes first, so its duplicate is the one reported. */
        parse_fails(text, strlen(text), -EINVAL, 2, 16, "duplicate key 'x'");
        /* Of two duplicated keys, the earliest repetition. */
        parse_fails(outer, strlen(outer), -EINVAL, 2, 3, "duplicate key 'b'");

        ck_assert_int_eq(json_parse_full(outer, strlen(outer), JSON_PARSE_ALLOW_DUPLICATE_KEYS,
                                         &root, &e), 0);
        ck_assert_uint_eq(root->object.n, 4);
        ck_assert_int_eq(json_object_get(root, "b")->integer, 2);
        ck_assert_str_eq(root->object.keys[3], "a");
        ck_assert_int_eq(root->object.values[3]->integer, 4);
}
END_TEST

START_TEST(test_many_keys) {
        /* 60000 distinct keys: duplicate detection must not be quadratic. */
        const size_t n = 60000;
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        _cleanup_free_ char *text = NULL;
        JsonError e = {};
        size_t len = 0;

        text = malloc(n * 16 + 16);
        ck_assert_ptr_nonnull(text);
        text[len++] = '{';
        for (size_t i = 0; i < n; i++)
                len += sprintf(text + len, "%s\"k%zu\":%zu", i ? "," : "", i, i);
        text[len++] = '}';
        ck_assert_int_eq(json_parse(text, len, &root, &e), 0);
        ck_assert_uint_eq(root->object.n, n);

        /* Repeat the first key at the end. */
        root = json_node_free(root);
        strcpy(text + len - 1, ",\"k0\":1}");
        len += strlen(",\"k0\":1}") - 1;
        ck_assert_int_eq(json_parse(text, len, &root, &e), -EINVAL);
        ck_assert_str_eq(e.message, "duplicate key 'k0'");
}
END_TEST

static char *nested(size_t depth) {
        char *s = malloc(depth * 2 + 1);

        ck_assert_ptr_nonnull(s);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[depth * 2] = '\0';
        return s;
}

START_TEST(test_depth_limit) {
        _cleanup_free_ char *ok = nested(JSON_MAX_DEPTH), *deep = nested(JSON_MAX_DEPTH + 1);
        _cleanup_free_ char *mixed = NULL;
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        const JsonNode *n;
        size_t depth = 0;

        root = parse_ok(ok);
        for (n = root; n->array.n > 0; n = n->array.items[0])
                depth++;
        ck_assert_uint_eq(depth + 1, JSON_MAX_DEPTH);
        parse_fails(deep, strlen(deep), -EINVAL, 1, JSON_MAX_DEPTH + 1, "nesting deeper than 64");

        /* Objects count too. */
        ck_assert_int_ge(asprintf(&mixed, "%.*s{\"a\": [1]}%.*s", JSON_MAX_DEPTH - 1, deep,
                                  JSON_MAX_DEPTH - 1, deep + JSON_MAX_DEPTH + 1), 0);
        parse_fails(mixed, strlen(mixed), -EINVAL, 1, JSON_MAX_DEPTH + 6, "nesting deeper");
}
END_TEST

START_TEST(test_size_limit) {
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        _cleanup_free_ char *text = NULL;
        JsonError e = {};

        text = malloc(JSON_MAX_SIZE + 1);
        ck_assert_ptr_nonnull(text);
        memset(text, ' ', JSON_MAX_SIZE + 1);
        memcpy(text, "[1]", 3);

        ck_assert_int_eq(json_parse(text, JSON_MAX_SIZE, &root, &e), 0);
        ck_assert_int_eq(root->array.items[0]->integer, 1);
        root = json_node_free(root);

        ck_assert_int_eq(json_parse(text, JSON_MAX_SIZE + 1, &root, &e), -E2BIG);
        ck_assert_ptr_null(root);
        ck_assert_ptr_nonnull(strstr(e.message, "larger than"));
}
END_TEST

START_TEST(test_integers) {
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        JsonNode **v;

        root = parse_ok("[9223372036854775807, 9223372036854775808, -9223372036854775808,"
                        " -9223372036854775809, 1.0, 1e2, -0, 100000000000000000000000]");
        v = root->array.items;
        ck_assert_int_eq(v[0]->type, JSON_INTEGER);
        ck_assert(v[0]->integer == INT64_MAX);
        ck_assert_int_eq(v[1]->type, JSON_REAL);
        ck_assert(v[1]->real == 9223372036854775808.0);
        ck_assert_int_eq(v[2]->type, JSON_INTEGER);
        ck_assert(v[2]->integer == INT64_MIN);
        ck_assert_int_eq(v[3]->type, JSON_REAL);
        ck_assert(v[3]->real < -9.2e18);
        ck_assert_int_eq(v[4]->type, JSON_REAL);
        ck_assert_int_eq(v[5]->type, JSON_REAL);
        ck_assert(v[5]->real == 100.0);
        ck_assert_int_eq(v[6]->type, JSON_INTEGER);
        ck_assert_int_eq(v[6]->integer, 0);
        ck_assert_int_eq(v[7]->type, JSON_REAL);
        ck_assert(v[7]->real == 1e23);
}
END_TEST

START_TEST(test_nul_rejected) {
        static const char value[] = "{\"a\":\n  \"x\\u0000y\"}";
        static const char key[] = "{\"a\\u0000\": 1}";
        static const char raw[] = "[\"a\0b\"]";

        parse_fails(value, strlen(value), -EINVAL, 2, 3, "NUL");
        parse_fails(key, strlen(key), -EINVAL, 1, 2, "NUL");
        /* A raw NUL byte is a control character for yajl. */
        parse_fails(raw, sizeof(raw) - 1, -EINVAL, 1, 4, "error");
}
END_TEST

START_TEST(test_invalid_utf8_rejected) {
        static const char bad_byte[] = "[\"ab\xff\"]";
        static const char overlong[] = "[\n\"\xc0\xaf\"]";
        static const char surrogate[] = "[\"\xed\xa0\x80\"]";
        static const char too_big[] = "[\"\xf4\x90\x80\x80\"]";
        static const char truncated[] = "[\"\xe2\x82\"]";
        _cleanup_(json_node_freep) JsonNode *root = NULL;

        parse_fails(bad_byte, strlen(bad_byte), -EINVAL, 1, 5, "UTF8");
        parse_fails(overlong, strlen(overlong), -EINVAL, 2, 1, "UTF-8");
        parse_fails(surrogate, strlen(surrogate), -EINVAL, 1, 2, "UTF-8");
        parse_fails(too_big, strlen(too_big), -EINVAL, 1, 2, "UTF-8");
        parse_fails(truncated, strlen(truncated), -EINVAL, 1, 4, "UTF");

        root = parse_ok("[\"\xf0\x9f\x98\x80 \\u00e9\"]");
        ck_assert_str_eq(root->array.items[0]->string, "\xf0\x9f\x98\x80 \xc3\xa9");
}
END_TEST

/* yajl read "\ud800" as '?' and refused "\udc00": both lone halves are refused, at the escape,
 * in strings and keys; pairs and escaped backslashes before a 'u' are fine. */
START_TEST(test_lone_surrogates_rejected) {
        static const char *const lone[] = {
                "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\uDBFF x\"]", "[\"\\ud800\\u0041\"]",
                "[\"\\ud800\\ud800\"]", "{\"\\udfff\": 1}",
        };
        _cleanup_(json_node_freep) JsonNode *pair = NULL, *escaped = NULL;

        for (size_t i = 0; i < ELEMENTSOF(lone); i++)
                parse_fails(lone[i], strlen(lone[i]), -EINVAL, 1, 3, "lone surrogate");
        pair = parse_ok("[\"a\\ud83d\\ude00\"]");
        ck_assert_str_eq(pair->array.items[0]->string, "a\xf0\x9f\x98\x80");
        escaped = parse_ok("[\"\\\\ud800\"]");
        ck_assert_str_eq(escaped->array.items[0]->string, "\\ud800");
}
END_TEST

START_TEST(test_type_names) {
        ck_assert_str_eq(json_type_to_string(JSON_NULL), "null");
        ck_assert_str_eq(json_type_to_string(JSON_INTEGER), "integer");
        ck_assert_str_eq(json_type_to_string(JSON_REAL), "number");
        ck_assert_str_eq(json_type_to_string(JSON_OBJECT), "object");
        ck_assert_ptr_null(json_type_to_string(_JSON_TYPE_MAX));
        ck_assert_ptr_null(json_type_to_string(_JSON_TYPE_INVALID));
        ck_assert_ptr_null(json_node_free(NULL));
}
END_TEST

static Suite *json_suite(void) {
        Suite *s = suite_create("json");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_positions_multiline);
        tcase_add_test(tc, test_positions_numbers_at_line_end);
        tcase_add_test(tc, test_positions_escapes);
        tcase_add_test(tc, test_positions_count_characters);
        tcase_add_test(tc, test_syntax_errors);
        tcase_add_test(tc, test_duplicate_keys);
        tcase_add_test(tc, test_many_keys);
        tcase_add_test(tc, test_depth_limit);
        tcase_add_test(tc, test_size_limit);
        tcase_add_test(tc, test_integers);
        tcase_add_test(tc, test_nul_rejected);
        tcase_add_test(tc, test_invalid_utf8_rejected);
        tcase_add_test(tc, test_lone_surrogates_rejected);
        tcase_add_test(tc, test_type_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(json_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
