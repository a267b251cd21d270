/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The metadata file of an entry, <id>.json: writing it from a record and reading it back
 * (format in README.md beside this file), with the checks and the escaping of its fields.
 *
 * Written with yajl's generator, read with the document tree of util/json.h (the file is at most
 * QUARANTINE_METADATA_MAX bytes, far below JSON_MAX_SIZE). Members the reader does not know are
 * ignored, so a later version can add optional members without changing "version".
 *
 * State: none; records are the caller's. No logging.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_gen.h>

#include "quarantine/quarantine-internal.h"
#include "util/hexdecode.h"
#include "util/json.h"
#include "util/macro.h"

static const char * const quarantine_state_table[_QUARANTINE_STATE_MAX] = {
        [QUARANTINE_STATE_ADDING] = "adding",
        [QUARANTINE_STATE_QUARANTINED] = "quarantined",
        [QUARANTINE_STATE_RESTORING] = "restoring",
};

const char *quarantine_state_to_string(QuarantineState s) {
        if (s < 0 || s >= _QUARANTINE_STATE_MAX)
                return NULL;
        return quarantine_state_table[s];
}

QuarantineState quarantine_state_from_string(const char *s) {
        for (QuarantineState i = 0; i < _QUARANTINE_STATE_MAX; i++)
                if (s && streq(s, quarantine_state_table[i]))
                        return i;
        return _QUARANTINE_STATE_INVALID;
}

void quarantine_record_clear_restore(QuarantineRecord *r) {
        r->restore_path = mfree(r->restore_path);
        r->restore_temp = mfree(r->restore_temp);
        r->restore_identified = false;
        r->restore_dev = r->restore_ino = 0;
}

QuarantineRecord *quarantine_record_free(QuarantineRecord *r) {
        if (!r)
                return NULL;
        free(r->entry.original_path);
        free(r->entry.threat_name);
        quarantine_record_clear_restore(r);
        free(r);
        return NULL;
}

bool quarantine_id_valid(const char *id) {
        size_t n;

        if (!id)
                return false;
        n = strlen(id);
        if (n < 1 || n > QUARANTINE_ID_MAX)
                return false;
        return strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") == n;
}

bool quarantine_sha256_valid(const char *s) {
        if (!s || strlen(s) != QUARANTINE_SHA256_LENGTH)
                return false;
        for (size_t i = 0; i < QUARANTINE_SHA256_LENGTH; i++)
                if (!hex_digit_is_valid(s[i]))
                        return false;
        return true;
}

static bool byte_needs_escape(unsigned char c) {
        return c < 0x20 || c > 0x7E || c == '%';
}

int quarantine_escape(const char *s, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s), o = 0;
        char *e;

        e = malloc(3 * n + 1);
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = s[i];

                if (byte_needs_escape(c)) {
                        e[o++] = '%';
                        e[o++] = hex[c >> 4];
                        e[o++] = hex[c & 0x0F];
                } else
                        e[o++] = (char) c;
        }
        e[o] = '\0';
        *ret = e;
        return 0;
}

/* ---- writing ---- */

static void yajl_gen_freep(yajl_gen *g) {
        if (*g)
                yajl_gen_free(*g);
}

static int gen_check(yajl_gen_status s) {
        if (s == yajl_gen_status_ok)
                return 0;
        return s == yajl_gen_no_buf ? -ENOMEM : -EINVAL;
}

static int gen_pair_string(yajl_gen g, const char *key, const char *value) {
        int r = gen_check(yajl_gen_string(g, (const unsigned char *) key, strlen(key)));

        return r < 0 ? r : gen_check(yajl_gen_string(g, (const unsigned char *) value,
                                                     strlen(value)));
}

static int gen_pair_escaped(yajl_gen g, const char *key, const char *value) {
        _cleanup_free_ char *e = NULL;
        int r;

        r = quarantine_escape(value, &e);
        return r < 0 ? r : gen_pair_string(g, key, e);
}

static int gen_pair_integer(yajl_gen g, const char *key, int64_t value) {
        int r = gen_check(yajl_gen_string(g, (const unsigned char *) key, strlen(key)));

        return r < 0 ? r : gen_check(yajl_gen_integer(g, (long long) value));
}

static void key_to_hex(const uint8_t key[QUARANTINE_KEY_SIZE],
                       char ret[2 * QUARANTINE_KEY_SIZE + 1]) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < QUARANTINE_KEY_SIZE; i++) {
                ret[2 * i] = hex[key[i] >> 4];
                ret[2 * i + 1] = hex[key[i] & 0x0F];
        }
        ret[2 * QUARANTINE_KEY_SIZE] = '\0';
}

/* The members every state has. dev and ino are unsigned 64-bit values stored as the int64_t
 * with the same bits (JSON integers here are int64_t). */
static int gen_entry(yajl_gen g, const QuarantineRecord *r) {
        const QuarantineEntry *e = &r->entry;
        char key[2 * QUARANTINE_KEY_SIZE + 1];
        int k;

        key_to_hex(r->key, key);
        k = gen_pair_integer(g, "version", QUARANTINE_METADATA_VERSION);
        if (k >= 0)
                k = gen_pair_string(g, "id", e->id);
        if (k >= 0)
                k = gen_pair_string(g, "state", quarantine_state_to_string(r->state));
        if (k >= 0)
                k = gen_pair_escaped(g, "original_path", e->original_path);
        if (k >= 0)
                k = gen_pair_escaped(g, "threat_name", e->threat_name);
        if (k >= 0)
                k = gen_pair_string(g, "sha256", e->sha256);
        if (k >= 0)
                k = gen_pair_integer(g, "size", (int64_t) e->size);
        if (k >= 0)
                k = gen_pair_integer(g, "mode", e->mode);
        if (k >= 0)
                k = gen_pair_integer(g, "uid", e->uid);
        if (k >= 0)
                k = gen_pair_integer(g, "gid", e->gid);
        if (k >= 0)
                k = gen_pair_integer(g, "atime_ns", e->atime_ns);
        if (k >= 0)
                k = gen_pair_integer(g, "mtime_ns", e->mtime_ns);
        if (k >= 0)
                k = gen_pair_integer(g, "quarantined_usec", (int64_t) e->quarantined_usec);
        if (k >= 0)
                k = gen_pair_integer(g, "other_links", e->other_links);
        if (k >= 0)
                k = gen_pair_string(g, "key", key);
        if (k >= 0)
                k = gen_pair_integer(g, "original_dev", (int64_t) r->original_dev);
        if (k >= 0)
                k = gen_pair_integer(g, "original_ino", (int64_t) r->original_ino);
        return k;
}

static int gen_restore(yajl_gen g, const QuarantineRecord *r) {
        int k;

        if (!r->restore_path || !r->restore_temp)
                return -EINVAL;
        k = gen_pair_escaped(g, "restore_path", r->restore_path);
        if (k >= 0)
                k = gen_pair_string(g, "restore_temp", r->restore_temp);
        if (k >= 0 && r->restore_identified)
                k = gen_pair_integer(g, "restore_dev", (int64_t) r->restore_dev);
        if (k >= 0 && r->restore_identified)
                k = gen_pair_integer(g, "restore_ino", (int64_t) r->restore_ino);
        return k;
}

int quarantine_record_to_json(const QuarantineRecord *r, char **ret, size_t *ret_size) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        const unsigned char *buf;
        size_t size;
        char *text;
        int k;

        if (!quarantine_state_to_string(r->state))
                return -EINVAL;

        g = yajl_gen_alloc(NULL);
        if (!g)
                return -ENOMEM;
        if (!yajl_gen_config(g, yajl_gen_validate_utf8, 1))
                return -ENOMEM;

        k = gen_check(yajl_gen_map_open(g));
        if (k >= 0)
                k = gen_entry(g, r);
        if (k >= 0 && r->state == QUARANTINE_STATE_RESTORING)
                k = gen_restore(g, r);
        if (k >= 0)
                k = gen_check(yajl_gen_map_close(g));
        if (k >= 0)
                k = gen_check(yajl_gen_get_buf(g, &buf, &size));
        if (k < 0)
                return k;
        if (size + 1 > QUARANTINE_METADATA_MAX)
                return -E2BIG;

        text = malloc(size + 2);
        if (!text)
                return -ENOMEM;
        memcpy(text, buf, size);
        text[size] = '\n';
        text[size + 1] = '\0';

        *ret = text;
        *ret_size = size + 1;
        return 0;
}

/* ---- reading ---- */

static const char *member_string(const JsonNode *root, const char *key) {
        const JsonNode *n = json_object_get(root, key);

        return n && n->type == JSON_STRING ? n->string : NULL;
}

/* The integer member key within [min, max] into *ret, or -EBADMSG. */
static int member_integer(const JsonNode *root, const char *key, int64_t min, int64_t max,
                          int64_t *ret) {
        const JsonNode *n = json_object_get(root, key);

        if (!n || n->type != JSON_INTEGER || n->integer < min || n->integer > max)
                return -EBADMSG;
        *ret = n->integer;
        return 0;
}

static int member_unescaped(const JsonNode *root, const char *key, size_t max, char **ret) {
        const char *s = member_string(root, key);
        _cleanup_free_ char *d = NULL;
        int r;

        if (!s)
                return -EBADMSG;
        r = percent_unescape(s, &d);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || strlen(d) > max)
                return -EBADMSG;
        *ret = TAKE_PTR(d);
        return 0;
}

static int parse_key(const char *hex, uint8_t key[QUARANTINE_KEY_SIZE]) {
        if (!hex || strlen(hex) != 2 * QUARANTINE_KEY_SIZE)
                return -EBADMSG;
        return hex_decode(hex, QUARANTINE_KEY_SIZE, key) < 0 ? -EBADMSG : 0;
}

/* An absolute path with a last component to act on, as quarantine_split_path() accepts. */
static bool path_valid(const char *path) {
        const char *base = strrchr(path, '/');

        return path[0] == '/' && !isempty(base + 1) && !streq(base + 1, ".") &&
                !streq(base + 1, "..");
}

/* The fields of QuarantineEntry and the state, key and original inode. */
static int parse_entry(const JsonNode *root, const char *expected_id, QuarantineRecord *r) {
        QuarantineEntry *e = &r->entry;
        const char *id, *sha;
        int64_t v[11];
        int k = 0;

        id = member_string(root, "id");
        if (!quarantine_id_valid(id) || !streq(id, expected_id))
                return -EBADMSG;
        strcpy(e->id, id);

        r->state = quarantine_state_from_string(member_string(root, "state"));
        if (r->state < 0)
                return -EBADMSG;

        sha = member_string(root, "sha256");
        if (!quarantine_sha256_valid(sha))
                return -EBADMSG;
        for (size_t i = 0; i <= QUARANTINE_SHA256_LENGTH; i++)
                e->sha256[i] = (char) tolower((unsigned char) sha[i]);

        if (parse_key(member_string(root, "key"), r->key) < 0)
                return -EBADMSG;

        k = member_unescaped(root, "original_path", QUARANTINE_PATH_MAX, &e->original_path);
        if (k >= 0)
                k = member_unescaped(root, "threat_name", QUARANTINE_THREAT_NAME_MAX,
                                     &e->threat_name);
        if (k < 0)
                return k;
        if (!path_valid(e->original_path))
                return -EBADMSG;

        if (member_integer(root, "version", 1, QUARANTINE_METADATA_VERSION, &v[0]) < 0 ||
            member_integer(root, "size", 0, INT64_MAX, &v[1]) < 0 ||
            member_integer(root, "mode", 0, 07777, &v[2]) < 0 ||
            member_integer(root, "uid", 0, UINT32_MAX - 1, &v[3]) < 0 ||
            member_integer(root, "gid", 0, UINT32_MAX - 1, &v[4]) < 0 ||
            member_integer(root, "atime_ns", INT64_MIN, INT64_MAX, &v[5]) < 0 ||
            member_integer(root, "mtime_ns", INT64_MIN, INT64_MAX, &v[6]) < 0 ||
            member_integer(root, "quarantined_usec", 0, INT64_MAX, &v[7]) < 0 ||
            member_integer(root, "other_links", 0, UINT_MAX, &v[8]) < 0 ||
            member_integer(root, "original_dev", INT64_MIN, INT64_MAX, &v[9]) < 0 ||
            member_integer(root, "original_ino", INT64_MIN, INT64_MAX, &v[10]) < 0)
                return -EBADMSG;

        e->size = (uint64_t) v[1];
        e->mode = (mode_t) v[2];
        e->uid = (uid_t) v[3];
        e->gid = (gid_t) v[4];
        e->atime_ns = v[5];
        e->mtime_ns = v[6];
        e->quarantined_usec = (uint64_t) v[7];
        e->other_links = (unsigned) v[8];
        r->original_dev = (uint64_t) v[9];
        r->original_ino = (uint64_t) v[10];
        return 0;
}

/* A restore temp name is a plain name with our prefix: recovery deletes it, so a damaged file
 * must not be able to name anything else. */
static bool restore_temp_valid(const char *s) {
        size_t prefix = strlen(QUARANTINE_RESTORE_TEMP_PREFIX);

        return s && strneq(s, QUARANTINE_RESTORE_TEMP_PREFIX, prefix) && strlen(s) > prefix &&
                strlen(s) <= NAME_MAX && !strchr(s, '/');
}

static int parse_restore(const JsonNode *root, QuarantineRecord *r) {
        const char *temp = member_string(root, "restore_temp");
        const JsonNode *dev, *ino;
        int64_t v;
        int k;

        k = member_unescaped(root, "restore_path", QUARANTINE_PATH_MAX, &r->restore_path);
        if (k < 0)
                return k;
        if (!path_valid(r->restore_path) || !restore_temp_valid(temp))
                return -EBADMSG;
        r->restore_temp = strdup(temp);
        if (!r->restore_temp)
                return -ENOMEM;

        dev = json_object_get(root, "restore_dev");
        ino = json_object_get(root, "restore_ino");
        if (!dev && !ino)
                return 0;
        if (member_integer(root, "restore_dev", INT64_MIN, INT64_MAX, &v) < 0)
                return -EBADMSG;
        r->restore_dev = (uint64_t) v;
        if (member_integer(root, "restore_ino", INT64_MIN, INT64_MAX, &v) < 0)
                return -EBADMSG;
        r->restore_ino = (uint64_t) v;
        r->restore_identified = true;
        return 0;
}

int quarantine_record_from_json(const char *text, size_t size, const char *expected_id,
                                QuarantineRecord **ret) {
        _cleanup_(quarantine_record_freep) QuarantineRecord *r = NULL;
        _cleanup_(json_node_freep) JsonNode *root = NULL;
        int k;

        if (size > QUARANTINE_METADATA_MAX)
                return -EBADMSG;
        k = json_parse(text, size, &root, NULL);
        if (k == -ENOMEM)
                return k;
        if (k < 0 || root->type != JSON_OBJECT)
                return -EBADMSG;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        k = parse_entry(root, expected_id, r);
        if (k >= 0 && r->state == QUARANTINE_STATE_RESTORING)
                k = parse_restore(root, r);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(r);
        return 0;
}
