/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small JSON document tree built with yajl, in which every node remembers the line and column
 * where it starts, so that validation errors can point at the offending key in a file an admin
 * edits by hand. Objects keep their keys in document order; duplicate keys are an error.
 *
 * Used for every JSON file the product reads (managed policy, local settings, later definition
 * manifests). Input is untrusted: sizes and nesting depth are bounded.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64
#define JSON_MAX_SIZE (1024 * 1024)

typedef enum JsonType {
        JSON_NULL,
        JSON_BOOL,
        JSON_INTEGER,   /* a number without fraction or exponent that fits int64_t */
        JSON_REAL,      /* any other number */
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
        _JSON_TYPE_MAX,
        _JSON_TYPE_INVALID = -22,
} JsonType;

typedef struct JsonNode JsonNode;
struct JsonNode {
        JsonType type;
        unsigned line, column;          /* 1-based position of the node's first byte; the
                                         * column counts characters */
        union {
                bool boolean;
                int64_t integer;
                double real;
                char *string;           /* NUL-terminated, valid UTF-8, may not contain NUL */
                struct {
                        JsonNode **items;
                        size_t n;
                } array;
                struct {
                        char **keys;    /* keys[i] names values[i] */
                        JsonNode **values;
                        size_t n;
                } object;
        };
};

typedef struct JsonError {
        unsigned line, column;          /* 1-based; where the problem was found */
        char message[256];              /* what is wrong, without position */
} JsonError;

/* Parses text[0..size). Returns 0 and the root in *ret, or -EINVAL (syntax error, duplicate key,
 * too deep), -E2BIG (over JSON_MAX_SIZE) or -ENOMEM; on -EINVAL/-E2BIG *ret_error says where and
 * what (ret_error may be NULL). The caller owns the tree.
 * Columns count characters (UTF-8 sequences), not bytes, so they match what an editor shows. */
int json_parse(const char *text, size_t size, JsonNode **ret, JsonError *ret_error);

typedef enum JsonParseFlags {
        /* Keep every member of an object, duplicates included, in document order, instead of
         * failing. the reference's annotated mdatp_managed.json samples repeat "info" and
         * "possible values" in one object; the settings parser checks duplicates of the keys it
         * knows itself. json_object_get() returns the first of duplicates. */
        JSON_PARSE_ALLOW_DUPLICATE_KEYS = 1 << 0,
} JsonParseFlags;

/* json_parse() with flags. */
int json_parse_full(const char *text, size_t size, JsonParseFlags flags, JsonNode **ret,
                    JsonError *ret_error);

JsonNode *json_node_free(JsonNode *n);
static inline void json_node_freep(JsonNode **n) {
        if (*n)
                (void) json_node_free(*n);
}

/* Returns the member of an object named key, or NULL when absent or n is not an object. */
const JsonNode *json_object_get(const JsonNode *n, const char *key);

/* "null", "boolean", "integer", "number", "string", "array", "object" — for error messages. */
const char *json_type_to_string(JsonType t);
