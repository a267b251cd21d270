/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A yajl 2.1 callback parser that builds a JsonNode tree in which every node knows its line and
 * column.
 *
 * yajl tells us about values but not where they are. We feed it one byte per yajl_parse() call,
 * so every callback runs while we know the offset of the byte being parsed, and work out the
 * node's first byte from there:
 *   - '{' and '[' fire on their own byte;
 *   - true/false/null fire on their last letter;
 *   - strings and keys fire on the closing quote: we scan back to the unescaped opening quote;
 *   - numbers fire on the byte after them (yajl must see it to know the number ended), or in
 *     yajl_complete_parse() at the end of the text: we scan back over the number's characters.
 * A call per byte costs little for the at most JSON_MAX_SIZE bytes of the files we read.
 * JSON tokens never contain a newline, so a token always lies on the line of the byte that
 * completed it and its column can be derived from the current column (see json_position_back()).
 *
 * State: a JsonParser on json_parse_full()'s stack holds everything for one parse; the module
 * has no global state and is safe to use from any thread.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "util/json.h"
#include "util/macro.h"

/* An array or object still being filled. The node is already linked into its parent (or is the
 * root), so freeing the root frees it; only the bookkeeping below is the frame's own. */
typedef struct JsonFrame {
        JsonNode *node;
        size_t capacity;                /* slots allocated in node's arrays */
        char *pending_key;              /* objects: the key whose value comes next */
        size_t pending_key_offset;
        size_t *key_offsets;            /* objects: byte offset of each key, for errors */
} JsonFrame;

typedef struct JsonParser {
        const char *text;
        size_t size;
        JsonParseFlags flags;

        size_t offset;                  /* byte yajl is parsing now (size in complete_parse) */
        unsigned line, column;          /* position of that byte */

        JsonFrame stack[JSON_MAX_DEPTH];
        size_t depth;
        JsonNode *root;

        /* Set by a callback that returns 0 to abort the parse. */
        int error;
        size_t error_offset;
        char error_message[sizeof(((JsonError *) NULL)->message)];
} JsonParser;

static const char * const json_type_table[_JSON_TYPE_MAX] = {
        [JSON_NULL] = "null",
        [JSON_BOOL] = "boolean",
        [JSON_INTEGER] = "integer",
        [JSON_REAL] = "number",
        [JSON_STRING] = "string",
        [JSON_ARRAY] = "array",
        [JSON_OBJECT] = "object",
};

const char *json_type_to_string(JsonType t) {
        if (t < 0 || t >= _JSON_TYPE_MAX)
                return NULL;
        return json_type_table[t];
}

JsonNode *json_node_free(JsonNode *n) {
        if (!n)
                return NULL;

        switch (n->type) {
        case JSON_STRING:
                free(n->string);
                break;
        case JSON_ARRAY:
                for (size_t i = 0; i < n->array.n; i++)
                        json_node_free(n->array.items[i]);
                free(n->array.items);
                break;
        case JSON_OBJECT:
                for (size_t i = 0; i < n->object.n; i++) {
                        free(n->object.keys[i]);
                        json_node_free(n->object.values[i]);
                }
                free(n->object.keys);
                free(n->object.values);
                break;
        default:
                break;
        }
        free(n);
        return NULL;
}

const JsonNode *json_object_get(const JsonNode *n, const char *key) {
        if (!n || n->type != JSON_OBJECT)
                return NULL;
        for (size_t i = 0; i < n->object.n; i++)
                if (streq(n->object.keys[i], key))
                        return n->object.values[i];
        return NULL;
}

static bool json_is_continuation(char c) {
        return ((unsigned char) c & 0xC0) == 0x80;
}

/* Line and column of any offset, by counting from the start: used for errors only. */
static void json_offset_to_position(const char *text, size_t size, size_t offset,
                                    unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset && i < size; i++) {
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else if (!json_is_continuation(text[i]))
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

/* Column of start, which lies on the line of the current byte at or before it. */
static unsigned json_position_back(const JsonParser *p, size_t start) {
        unsigned column = p->column;

        for (size_t i = start; i < p->offset && i < p->size; i++)
                if (!json_is_continuation(p->text[i]))
                        column--;
        return column;
}

static int json_fail(JsonParser *p, int error, size_t offset, const char *format, ...)
        _printf_(4, 5);
static int json_fail(JsonParser *p, int error, size_t offset, const char *format, ...) {
        va_list ap;

        p->error = error;
        p->error_offset = offset;
        va_start(ap, format);
        (void) vsnprintf(p->error_message, sizeof(p->error_message), format, ap);
        va_end(ap);
        return 0;       /* what a yajl callback returns to abort */
}

/* Offset of the opening quote of the string whose closing quote is at end. A quote is escaped
 * when an odd number of backslashes precedes it. */
static size_t json_string_start(const JsonParser *p, size_t end) {
        size_t j = MIN(end, p->size);

        while (j > 0) {
                size_t backslashes = 0;

                j--;
                if (p->text[j] != '"')
                        continue;
                while (backslashes < j && p->text[j - 1 - backslashes] == '\\')
                        backslashes++;
                if (backslashes % 2 == 0)
                        return j;
        }
        return 0;
}

static size_t json_number_start(const JsonParser *p) {
        size_t j = MIN(p->offset, p->size);

        while (j > 0 && strchr("0123456789+-.eE", p->text[j - 1]) && p->text[j - 1] != '\0')
                j--;
        return j;
}

/* Literals fire on their last letter; fall back to the byte after it, should yajl change. */
static size_t json_literal_start(const JsonParser *p, const char *literal) {
        size_t len = strlen(literal);

        if (p->offset + 1 >= len && p->offset < p->size &&
            memcmp(p->text + p->offset + 1 - len, literal, len) == 0)
                return p->offset + 1 - len;
        return p->offset >= len ? p->offset - len : 0;
}

static JsonNode *json_node_new(const JsonParser *p, JsonType type, size_t start) {
        JsonNode *n;

        n = calloc(1, sizeof(JsonNode));
        if (!n)
                return NULL;
        n->type = type;
        n->line = p->line;
        n->column = json_position_back(p, start);
        return n;
}

static size_t json_container_size(const JsonNode *n) {
        return n->type == JSON_ARRAY ? n->array.n : n->object.n;
}

static int json_frame_grow(JsonFrame *f) {
        size_t capacity;

        if (json_container_size(f->node) < f->capacity)
                return 0;

        capacity = f->capacity ? f->capacity * 2 : 8;
        if (f->node->type == JSON_ARRAY) {
                JsonNode **items = reallocarray(f->node->array.items, capacity, sizeof(JsonNode *));
                if (!items)
                        return -ENOMEM;
                f->node->array.items = items;
        } else {
                char **keys;
                JsonNode **values;
                size_t *offsets;

                keys = reallocarray(f->node->object.keys, capacity, sizeof(char *));
                if (!keys)
                        return -ENOMEM;
                f->node->object.keys = keys;
                values = reallocarray(f->node->object.values, capacity, sizeof(JsonNode *));
                if (!values)
                        return -ENOMEM;
                f->node->object.values = values;
                offsets = reallocarray(f->key_offsets, capacity, sizeof(size_t));
                if (!offsets)
                        return -ENOMEM;
                f->key_offsets = offsets;
        }
        f->capacity = capacity;
        return 0;
}

/* Links n into the innermost open container, or makes it the root. Takes ownership of n, also on
 * failure. Returns 1 to continue, 0 to abort (the yajl callback convention). */
static int json_attach(JsonParser *p, JsonNode *n) {
        JsonFrame *f;

        if (!n)
                return json_fail(p, -ENOMEM, p->offset, "out of memory");

        if (p->depth == 0) {
                p->root = n;    /* yajl allows one top-level value only */
                return 1;
        }

        f = &p->stack[p->depth - 1];
        if (json_frame_grow(f) < 0) {
                json_node_free(n);
                return json_fail(p, -ENOMEM, p->offset, "out of memory");
        }
        if (f->node->type == JSON_ARRAY)
                f->node->array.items[f->node->array.n++] = n;
        else {
                size_t i = f->node->object.n++;

                f->node->object.keys[i] = TAKE_PTR(f->pending_key);
                f->node->object.values[i] = n;
                f->key_offsets[i] = f->pending_key_offset;
        }
        return 1;
}

static int json_on_null(void *userdata) {
        JsonParser *p = userdata;

        return json_attach(p, json_node_new(p, JSON_NULL, json_literal_start(p, "null")));
}

static int json_on_boolean(void *userdata, int b) {
        JsonParser *p = userdata;
        JsonNode *n;

        n = json_node_new(p, JSON_BOOL, json_literal_start(p, b ? "true" : "false"));
        if (n)
                n->boolean = b;
        return json_attach(p, n);
}

/* yajl has checked the syntax. Integers that do not fit int64_t become reals. */
static int json_on_number(void *userdata, const char *s, size_t len) {
        JsonParser *p = userdata;
        _cleanup_free_ char *copy = NULL;
        JsonNode *n;

        n = json_node_new(p, JSON_INTEGER, json_number_start(p));
        copy = strndup(s, len);
        if (!n || !copy) {
                json_node_free(n);
                return json_fail(p, -ENOMEM, p->offset, "out of memory");
        }

        if (!strpbrk(copy, ".eE")) {
                errno = 0;
                n->integer = strtoll(copy, NULL, 10);
                if (errno == 0)
                        return json_attach(p, n);
        }
        n->type = JSON_REAL;
        n->real = strtod(copy, NULL);
        return json_attach(p, n);
}

/* Strict UTF-8: yajl lets overlong forms, surrogates and code points past U+10FFFF through. */
static bool json_utf8_valid(const unsigned char *s, size_t len) {
        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                uint32_t cp, min;
                size_t n;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        n = 2, cp = c & 0x1F, min = 0x80;
                } else if ((c & 0xF0) == 0xE0) {
                        n = 3, cp = c & 0x0F, min = 0x800;
                } else if ((c & 0xF8) == 0xF0) {
                        n = 4, cp = c & 0x07, min = 0x10000;
                } else
                        return false;
                if (len - i < n)
                        return false;
                for (size_t k = 1; k < n; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += n;
        }
        return true;
}

static int json_hex4(const char *s, size_t avail) {
        int v = 0;

        if (avail < 4)
                return -1;
        for (size_t i = 0; i < 4; i++) {
                char c = s[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= c - '0';
                else if (c >= 'a' && c <= 'f')
                        v |= c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        v |= c - 'A' + 10;
                else
                        return -1;
        }
        return v;
}

/* yajl turns a lone high surrogate escape ("\ud800") into '?' and a lone low one into bytes our
 * UTF-8 check refuses: one rule for both, on the raw text of the string starting at start (its
 * opening quote). Returns false with the escape's offset in *ret_offset. */
static bool json_surrogates_paired(const JsonParser *p, size_t start, size_t *ret_offset) {
        for (size_t i = start + 1; i < p->size && p->text[i] != '"'; i++) {
                int hi, lo;

                if (p->text[i] != '\\')
                        continue;
                if (i + 1 >= p->size)
                        break;
                if (p->text[i + 1] != 'u') {
                        i++;    /* a one-character escape, "\\" and "\"" included */
                        continue;
                }
                hi = json_hex4(p->text + i + 2, p->size - (i + 2));
                if (hi < 0xD800 || hi > 0xDFFF) {
                        i += 1;
                        continue;
                }
                lo = hi <= 0xDBFF && i + 7 < p->size && p->text[i + 6] == '\\' &&
                     p->text[i + 7] == 'u' ? json_hex4(p->text + i + 8, p->size - (i + 8)) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                        *ret_offset = i;
                        return false;
                }
                i += 11;        /* the pair; the loop steps past its last digit */
        }
        return true;
}

/* Copies a string or key after checking what yajl does not: NUL, strict UTF-8 and paired
 * surrogate escapes. */
static char *json_string_dup(JsonParser *p, const unsigned char *s, size_t len, size_t start) {
        size_t bad;
        char *copy;

        if (!json_surrogates_paired(p, start, &bad)) {
                json_fail(p, -EINVAL, bad, "string contains a lone surrogate escape (\\u%.4s); "
                          "write the character itself", p->text + bad + 2);
                return NULL;
        }

        if (memchr(s, 0, len)) {
                json_fail(p, -EINVAL, start, "string contains a NUL character (\\u0000)");
                return NULL;
        }
        if (!json_utf8_valid(s, len)) {
                json_fail(p, -EINVAL, start, "string is not valid UTF-8");
                return NULL;
        }
        copy = strndup((const char *) s, len);
        if (!copy)
                json_fail(p, -ENOMEM, start, "out of memory");
        return copy;
}

static int json_on_string(void *userdata, const unsigned char *s, size_t len) {
        JsonParser *p = userdata;
        size_t start = json_string_start(p, p->offset);
        JsonNode *n;
        char *copy;

        copy = json_string_dup(p, s, len, start);
        if (!copy)
                return 0;
        n = json_node_new(p, JSON_STRING, start);
        if (!n) {
                free(copy);
                return json_fail(p, -ENOMEM, p->offset, "out of memory");
        }
        n->string = copy;
        return json_attach(p, n);
}

static int json_on_map_key(void *userdata, const unsigned char *s, size_t len) {
        JsonParser *p = userdata;
        JsonFrame *f = &p->stack[p->depth - 1];
        size_t start = json_string_start(p, p->offset);
        char *copy;

        copy = json_string_dup(p, s, len, start);
        if (!copy)
                return 0;
        free(f->pending_key);
        f->pending_key = copy;
        f->pending_key_offset = start;
        return 1;
}

static int json_push(JsonParser *p, JsonType type) {
        JsonNode *n;

        if (p->depth >= JSON_MAX_DEPTH)
                return json_fail(p, -EINVAL, p->offset, "nesting deeper than %d",
                                 JSON_MAX_DEPTH);

        n = json_node_new(p, type, p->offset);
        if (!json_attach(p, n))
                return 0;
        p->stack[p->depth++] = (JsonFrame) { .node = n };
        return 1;
}

static int json_on_start_map(void *userdata) {
        return json_push(userdata, JSON_OBJECT);
}

static int json_on_start_array(void *userdata) {
        return json_push(userdata, JSON_ARRAY);
}

static int json_compare_key_index(const void *a, const void *b, void *userdata) {
        const JsonFrame *f = userdata;
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        int r;

        r = strcmp(f->node->object.keys[i], f->node->object.keys[j]);
        if (r != 0)
                return r;
        return i < j ? -1 : i > j;
}

/* Finds the earliest repeated key of a closed object. Sorting keeps this O(n log n): a linear
 * search per key would let a hostile 1 MiB file with 100000 keys spin for minutes. */
static int json_check_duplicates(JsonParser *p, const JsonFrame *f) {
        const JsonNode *o = f->node;
        _cleanup_free_ size_t *order = NULL;
        size_t found = SIZE_MAX;

        if (o->object.n < 2)
                return 1;

        order = reallocarray(NULL, o->object.n, sizeof(size_t));
        if (!order)
                return json_fail(p, -ENOMEM, p->offset, "out of memory");
        for (size_t i = 0; i < o->object.n; i++)
                order[i] = i;
        qsort_r(order, o->object.n, sizeof(size_t), json_compare_key_index, (void *) f);

        for (size_t i = 1; i < o->object.n; i++)
                if (streq(o->object.keys[order[i - 1]], o->object.keys[order[i]]) &&
                    (found == SIZE_MAX || order[i] < found))
                        found = order[i];
        if (found == SIZE_MAX)
                return 1;

        /* Quote at most 64 bytes of the key, without control characters: it goes into logs. */
        char shown[65];
        size_t len = strlen(o->object.keys[found]);

        snprintf(shown, sizeof(shown), "%s", o->object.keys[found]);
        if (len >= sizeof(shown)) {
                /* Cut at a character boundary, the message must stay valid UTF-8. */
                len = sizeof(shown) - 1;
                while (len > 0 && json_is_continuation(o->object.keys[found][len]))
                        len--;
                shown[len] = '\0';
        }
        for (char *c = shown; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = '?';
        return json_fail(p, -EINVAL, f->key_offsets[found], "duplicate key '%s'", shown);
}

static int json_pop(JsonParser *p) {
        JsonFrame *f = &p->stack[p->depth - 1];
        int r = 1;

        if (f->node->type == JSON_OBJECT && !(p->flags & JSON_PARSE_ALLOW_DUPLICATE_KEYS))
                r = json_check_duplicates(p, f);

        f->pending_key = mfree(f->pending_key);
        f->key_offsets = mfree(f->key_offsets);
        p->depth--;
        return r;
}

static int json_on_end(void *userdata) {
        return json_pop(userdata);
}

static const yajl_callbacks json_callbacks = {
        .yajl_null = json_on_null,
        .yajl_boolean = json_on_boolean,
        .yajl_number = json_on_number,  /* raw text, so we decide integer vs real ourselves */
        .yajl_string = json_on_string,
        .yajl_start_map = json_on_start_map,
        .yajl_map_key = json_on_map_key,
        .yajl_end_map = json_on_end,
        .yajl_start_array = json_on_start_array,
        .yajl_end_array = json_on_end,
};

static void json_parser_done(JsonParser *p) {
        while (p->depth > 0) {
                JsonFrame *f = &p->stack[--p->depth];

                free(f->pending_key);
                free(f->key_offsets);
        }
        p->root = json_node_free(p->root);
}

/* Records yajl's error: its message ("parse error: ...\n") trimmed, and the offset of the
 * offending byte. yajl_get_bytes_consumed() tells how much of our one-byte chunk it took before
 * failing: a lexical error un-reads the bad byte (0), so it is the current one; a parse error
 * consumes the unusable token's last byte (1), except for a number, which yajl recognises only
 * at the byte after it (0): then we point at the number's start. In yajl_complete_parse() the
 * offset is the end of the text. */
static void json_yajl_error(yajl_handle h, JsonParser *p) {
        unsigned char *msg;
        size_t len;

        p->error = -EINVAL;
        p->error_offset = p->offset;

        msg = yajl_get_error(h, 0, NULL, 0);
        if (!msg) {
                snprintf(p->error_message, sizeof(p->error_message), "syntax error");
                return;
        }
        len = strlen((char *) msg);
        while (len > 0 && strchr(" \t\n.", msg[len - 1]))
                len--;
        snprintf(p->error_message, sizeof(p->error_message), "%.*s", (int) len, msg);
        yajl_free_error(h, msg);

        if (p->offset < p->size && yajl_get_bytes_consumed(h) == 0 &&
            !strneq(p->error_message, "lexical error", strlen("lexical error")))
                p->error_offset = json_number_start(p);
}

/* Feeds text to yajl byte by byte, keeping p->offset/line/column on the byte being parsed. */
static int json_feed(yajl_handle h, JsonParser *p) {
        yajl_status status = yajl_status_ok;

        for (p->offset = 0; p->offset < p->size; p->offset++) {
                status = yajl_parse(h, (const unsigned char *) p->text + p->offset, 1);
                if (status != yajl_status_ok)
                        break;
                if (p->text[p->offset] == '\n') {
                        p->line++;
                        p->column = 1;
                } else if (!json_is_continuation(p->text[p->offset]))
                        p->column++;
        }
        if (status == yajl_status_ok)
                status = yajl_complete_parse(h);

        if (status == yajl_status_client_canceled)
                return p->error;
        if (status != yajl_status_ok) {
                json_yajl_error(h, p);
                return -EINVAL;
        }
        return 0;
}

static void json_error_set(JsonError *e, const JsonParser *p) {
        if (!e)
                return;
        *e = (JsonError) {};
        json_offset_to_position(p->text, p->size, p->error_offset, &e->line, &e->column);
        snprintf(e->message, sizeof(e->message), "%s", p->error_message);
}

int json_parse_full(const char *text, size_t size, JsonParseFlags flags, JsonNode **ret,
                    JsonError *ret_error) {
        JsonParser p = {
                .text = text,
                .size = size,
                .flags = flags,
                .line = 1,
                .column = 1,
        };
        yajl_handle h;
        int r;

        if (size > JSON_MAX_SIZE) {
                (void) json_fail(&p, -E2BIG, JSON_MAX_SIZE,
                                 "document is larger than %d bytes", JSON_MAX_SIZE);
                json_error_set(ret_error, &p);
                return -E2BIG;
        }

        h = yajl_alloc(&json_callbacks, NULL, &p);
        if (!h)
                return -ENOMEM;
        r = json_feed(h, &p);
        yajl_free(h);

        if (r < 0) {
                if (r != -ENOMEM)
                        json_error_set(ret_error, &p);
                json_parser_done(&p);
                return r;
        }
        *ret = TAKE_PTR(p.root);
        return 0;
}

int json_parse(const char *text, size_t size, JsonNode **ret, JsonError *ret_error) {
        return json_parse_full(text, size, 0, ret, ret_error);
}
