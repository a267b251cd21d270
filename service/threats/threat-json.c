/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The history file in JSON: writing one record (threat_entry_serialize()) and reading a whole
 * file (threat_file_parse()). The format is in README.md beside this file.
 *
 * The reader is a yajl callback parser that builds records as it goes, rather than a document
 * tree from util/json.h: that tree is meant for hand-edited files of at most JSON_MAX_SIZE
 * (1 MiB) and feeds yajl one byte at a time for positions, while a full history is several MiB.
 * Two kinds of failure are told apart:
 *   - the file as a whole cannot be used (syntax, shape, version, nesting deeper than
 *     THREAT_JSON_MAX_DEPTH): -EBADMSG with a message and a position;
 *   - one record is wrong (a member missing, of the wrong type or out of range, a duplicate id):
 *     that record is skipped and counted, the others are kept.
 * Unknown members are ignored at every level, whatever their content, so later versions of the
 * daemon can add optional members without changing the version.
 *
 * State: a ThreatParser on threat_file_parse()'s stack; nothing global, any thread may use it.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "threats/threats-internal.h"
#include "threats/threats.h"
#include "util/macro.h"

/* ---- writing ---- */

static inline void yajl_gen_freep(yajl_gen *g) {
        if (*g)
                yajl_gen_free(*g);
}

/* yajl_gen fails only on invalid UTF-8, which the checks and the escaping keep out: -EINVAL. */
static int gen_check(yajl_gen_status s) {
        if (s == yajl_gen_status_ok)
                return 0;
        return s == yajl_gen_no_buf ? -ENOMEM : -EINVAL;
}

static int gen_string(yajl_gen g, const char *s) {
        return gen_check(yajl_gen_string(g, (const unsigned char *) s, strlen(s)));
}

static int gen_pair(yajl_gen g, const char *key, const char *value) {
        int r = gen_string(g, key);

        return r < 0 ? r : gen_string(g, value);
}

static int gen_pair_integer(yajl_gen g, const char *key, uint64_t value) {
        int r = gen_string(g, key);

        return r < 0 ? r : gen_check(yajl_gen_integer(g, (long long) value));
}

static int gen_history(yajl_gen g, const Threat *t) {
        int r = gen_string(g, "history");

        if (r >= 0)
                r = gen_check(yajl_gen_array_open(g));
        for (size_t i = 0; r >= 0 && i < t->n_history; i++) {
                const ThreatHistoryEntry *h = &t->history[i];

                r = gen_check(yajl_gen_map_open(g));
                if (r >= 0)
                        r = gen_pair_integer(g, "time", h->time);
                if (r >= 0)
                        r = gen_pair(g, "status", threat_status_to_string(h->status));
                if (r >= 0 && h->detail)
                        r = gen_pair(g, "detail", h->detail);
                if (r >= 0)
                        r = gen_check(yajl_gen_map_close(g));
        }
        return r < 0 ? r : gen_check(yajl_gen_array_close(g));
}

/* The members added by the version that keeps archive members apart from their file: the
 * member (escaped like the path) and the detected inode. Older readers ignore them. */
static int gen_location(yajl_gen g, const Threat *t) {
        _cleanup_free_ char *member = NULL;
        int escaped, r = 0;

        if (t->member) {
                escaped = threat_path_escape(t->member, &member);
                if (escaped < 0)
                        return escaped;
                r = gen_pair(g, "member", member);
                if (r >= 0 && escaped)
                        r = gen_pair(g, "member_encoding", "percent");
        }
        if (r >= 0 && t->has_identity)
                r = gen_pair_integer(g, "dev", t->dev);
        if (r >= 0 && t->has_identity)
                r = gen_pair_integer(g, "ino", t->ino);
        return r;
}

static int gen_threat(yajl_gen g, const Threat *t) {
        _cleanup_free_ char *path = NULL;
        int escaped, r;

        escaped = threat_path_escape(t->path, &path);
        if (escaped < 0)
                return escaped;

        r = gen_check(yajl_gen_map_open(g));
        if (r >= 0)
                r = gen_pair(g, "id", t->id);
        if (r >= 0)
                r = gen_pair(g, "name", t->name);
        if (r >= 0)
                r = gen_pair(g, "type", t->type);
        if (r >= 0)
                r = gen_pair(g, "path", path);
        if (r >= 0 && escaped)
                r = gen_pair(g, "path_encoding", "percent");
        if (r >= 0)
                r = gen_location(g, t);
        if (r >= 0)
                r = gen_pair(g, "sha256", t->sha256);
        if (r >= 0)
                r = gen_pair_integer(g, "detected", t->detected);
        if (r >= 0)
                r = gen_pair(g, "source", threat_source_to_string(t->source));
        if (r >= 0)
                r = gen_pair(g, "status", threat_status_to_string(t->status));
        if (r >= 0)
                r = gen_history(g, t);
        return r < 0 ? r : gen_check(yajl_gen_map_close(g));
}

ThreatJson *threat_json_ref(ThreatJson *j) {
        if (j)
                j->n_ref++;
        return j;
}

ThreatJson *threat_json_unref(ThreatJson *j) {
        if (j && --j->n_ref == 0)
                free(j);
        return NULL;
}

int threat_entry_serialize(ThreatEntry *e) {
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        const unsigned char *buf;
        size_t size;
        ThreatJson *json;
        int r;

        if (e->json)
                return 0;

        g = yajl_gen_alloc(NULL);
        if (!g)
                return -ENOMEM;
        /* A safety net: a string that is not UTF-8 fails here instead of making the file
         * unreadable. */
        if (!yajl_gen_config(g, yajl_gen_validate_utf8, 1))
                return -EINVAL;

        r = gen_threat(g, &e->threat);
        if (r < 0)
                return r;
        r = gen_check(yajl_gen_get_buf(g, &buf, &size));
        if (r < 0)
                return r;

        json = malloc(offsetof(ThreatJson, data) + size + 1);
        if (!json)
                return -ENOMEM;
        json->n_ref = 1;
        json->size = size;
        memcpy(json->data, buf, size);
        json->data[size] = '\0';
        e->json = json;
        return 0;
}

/* ---- reading ---- */

/* Where the parser is: the container it is in. */
typedef enum ThreatLevel {
        LEVEL_TOP,              /* before the root object */
        LEVEL_ROOT,             /* in the root object */
        LEVEL_THREATS,          /* in the "threats" array */
        LEVEL_RECORD,           /* in one record */
        LEVEL_HISTORY,          /* in a record's "history" array */
        LEVEL_ENTRY,            /* in one history entry */
        LEVEL_END,              /* after the root object */
} ThreatLevel;

/* The members the reader knows, at every level; the bit (1 << member) marks it seen. */
typedef enum ThreatMember {
        MEMBER_OTHER,           /* unknown: its value is skipped */
        MEMBER_VERSION,         /* root */
        MEMBER_THREATS,
        MEMBER_ID,              /* record */
        MEMBER_NAME,
        MEMBER_TYPE,
        MEMBER_PATH,
        MEMBER_PATH_ENCODING,
        MEMBER_MEMBER,          /* optional: the archive member */
        MEMBER_MEMBER_ENCODING,
        MEMBER_DEV,             /* optional, both or neither: the detected inode */
        MEMBER_INO,
        MEMBER_SHA256,
        MEMBER_DETECTED,
        MEMBER_SOURCE,
        MEMBER_STATUS,          /* record and history entry */
        MEMBER_HISTORY,
        MEMBER_TIME,            /* history entry */
        MEMBER_DETAIL,
        _MEMBER_MAX,
} ThreatMember;

typedef struct ThreatMemberName {
        ThreatLevel level;
        const char *name;
        ThreatMember member;
        size_t max_length;      /* for strings: longer ones make the record invalid */
} ThreatMemberName;

static const ThreatMemberName threat_members[] = {
        { LEVEL_ROOT, "version", MEMBER_VERSION, 0 },
        { LEVEL_ROOT, "threats", MEMBER_THREATS, 0 },
        { LEVEL_RECORD, "id", MEMBER_ID, THREAT_ID_LENGTH },
        { LEVEL_RECORD, "name", MEMBER_NAME, THREAT_NAME_MAX },
        { LEVEL_RECORD, "type", MEMBER_TYPE, THREAT_TYPE_MAX },
        { LEVEL_RECORD, "path", MEMBER_PATH, 3 * THREAT_PATH_MAX },
        { LEVEL_RECORD, "path_encoding", MEMBER_PATH_ENCODING, 16 },
        { LEVEL_RECORD, "member", MEMBER_MEMBER, 3 * THREAT_PATH_MAX },
        { LEVEL_RECORD, "member_encoding", MEMBER_MEMBER_ENCODING, 16 },
        { LEVEL_RECORD, "dev", MEMBER_DEV, 0 },
        { LEVEL_RECORD, "ino", MEMBER_INO, 0 },
        { LEVEL_RECORD, "sha256", MEMBER_SHA256, THREAT_SHA256_LENGTH },
        { LEVEL_RECORD, "detected", MEMBER_DETECTED, 0 },
        { LEVEL_RECORD, "source", MEMBER_SOURCE, 32 },
        { LEVEL_RECORD, "status", MEMBER_STATUS, 32 },
        { LEVEL_RECORD, "history", MEMBER_HISTORY, 0 },
        { LEVEL_ENTRY, "time", MEMBER_TIME, 0 },
        { LEVEL_ENTRY, "status", MEMBER_STATUS, 32 },
        { LEVEL_ENTRY, "detail", MEMBER_DETAIL, THREAT_DETAIL_MAX },
};

/* A record being read: the strings as found, checked when the record closes. */
typedef struct ThreatDraft {
        bool invalid;
        unsigned seen;                  /* bits of ThreatMember */
        char *strings[_MEMBER_MAX];     /* string members by ThreatMember */
        int64_t detected;
        int64_t dev, ino;               /* the bits of the uint64_t values */
        ThreatHistoryEntry *history;    /* THREAT_HISTORY_MAX slots once the array opens */
        size_t n_history;

        /* the history entry being read */
        bool entry_invalid;
        unsigned entry_seen;
        int64_t entry_time;
        ThreatStatus entry_status;
        char *entry_detail;
} ThreatDraft;

typedef struct ThreatParser {
        ThreatFile *file;
        ThreatLevel level;
        unsigned depth;                 /* open containers */
        unsigned skip;                  /* > 0: inside a value being skipped, its open
                                         * containers */
        ThreatMember member;            /* whose value comes next, at the current level */
        const ThreatMemberName *member_name;
        unsigned root_seen;
        int64_t version;
        ThreatDraft draft;
        size_t capacity;                /* of file->entries */

        int error;                      /* set when a callback aborts */
        char message[sizeof(((ThreatFile *) NULL)->error)];
} ThreatParser;

static void threat_draft_entry_done(ThreatDraft *d) {
        d->entry_detail = mfree(d->entry_detail);
        d->entry_invalid = false;
        d->entry_seen = 0;
        d->entry_time = -1;
        d->entry_status = _THREAT_STATUS_INVALID;
}

static void threat_draft_done(ThreatDraft *d) {
        for (size_t i = 0; i < _MEMBER_MAX; i++)
                free(d->strings[i]);
        for (size_t i = 0; i < d->n_history; i++)
                free(d->history[i].detail);
        free(d->history);
        free(d->entry_detail);
        *d = (ThreatDraft) {
                .entry_time = -1,
                .entry_status = _THREAT_STATUS_INVALID,
        };
}

static int threat_parser_fail(ThreatParser *p, int error, const char *format, ...)
        _printf_(3, 4);
static int threat_parser_fail(ThreatParser *p, int error, const char *format, ...) {
        va_list ap;

        p->error = error;
        va_start(ap, format);
        (void) vsnprintf(p->message, sizeof(p->message), format, ap);
        va_end(ap);
        return 0;       /* what a yajl callback returns to abort */
}

static int threat_parser_oom(ThreatParser *p) {
        return threat_parser_fail(p, -ENOMEM, "out of memory");
}

/* An integer as JSON writes it, in int64_t. yajl has checked the number's syntax. */
static bool threat_parse_integer(const char *s, size_t len, int64_t *ret) {
        char buf[32];
        char *end;
        long long v;

        if (len == 0 || len >= sizeof(buf) || memchr(s, '.', len) || memchr(s, 'e', len) ||
            memchr(s, 'E', len))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (errno != 0 || *end != '\0')
                return false;
        *ret = v;
        return true;
}

/* A string value fit for a member: at most max bytes, no NUL, strict UTF-8. */
static bool threat_string_ok(const char *s, size_t len, size_t max) {
        return len <= max && !memchr(s, 0, len) && threat_utf8_valid(s, len);
}

typedef enum ThreatScalar {
        SCALAR_STRING,
        SCALAR_NUMBER,          /* raw text */
        SCALAR_OTHER,           /* null, true, false */
} ThreatScalar;

static int threat_record_scalar(ThreatParser *p, ThreatScalar kind, const char *s, size_t len) {
        ThreatDraft *d = &p->draft;
        const ThreatMemberName *m = p->member_name;

        switch (p->member) {
        case MEMBER_OTHER:
                return 1;
        case MEMBER_DETECTED:
                if (kind != SCALAR_NUMBER || !threat_parse_integer(s, len, &d->detected) ||
                    d->detected < 0)
                        d->invalid = true;
                return 1;
        case MEMBER_DEV:
        case MEMBER_INO:
                if (kind != SCALAR_NUMBER ||
                    !threat_parse_integer(s, len, p->member == MEMBER_DEV ? &d->dev : &d->ino))
                        d->invalid = true;
                return 1;
        case MEMBER_HISTORY:
                d->invalid = true;
                return 1;
        default:
                if (kind != SCALAR_STRING || !threat_string_ok(s, len, m->max_length)) {
                        d->invalid = true;
                        return 1;
                }
                free(d->strings[p->member]);
                d->strings[p->member] = strndup(s, len);
                if (!d->strings[p->member])
                        return threat_parser_oom(p);
                return 1;
        }
}

static int threat_entry_scalar(ThreatParser *p, ThreatScalar kind, const char *s, size_t len) {
        ThreatDraft *d = &p->draft;
        char buf[33];

        switch (p->member) {
        case MEMBER_TIME:
                if (kind != SCALAR_NUMBER || !threat_parse_integer(s, len, &d->entry_time) ||
                    d->entry_time < 0)
                        d->entry_invalid = true;
                return 1;
        case MEMBER_STATUS:
                if (kind != SCALAR_STRING || len >= sizeof(buf)) {
                        d->entry_invalid = true;
                        return 1;
                }
                memcpy(buf, s, len);
                buf[len] = '\0';
                d->entry_status = threat_status_from_string(buf);
                if (d->entry_status < 0)
                        d->entry_invalid = true;
                return 1;
        case MEMBER_DETAIL:
                if (kind == SCALAR_OTHER && len == 0)
                        return 1;       /* null: no detail */
                if (kind != SCALAR_STRING || !threat_string_ok(s, len, THREAT_DETAIL_MAX)) {
                        d->entry_invalid = true;
                        return 1;
                }
                free(d->entry_detail);
                d->entry_detail = strndup(s, len);
                if (!d->entry_detail)
                        return threat_parser_oom(p);
                return 1;
        default:
                return 1;
        }
}

/* Every scalar value. For SCALAR_OTHER, len is 0 for null and 1 for a boolean. */
static int threat_on_scalar(ThreatParser *p, ThreatScalar kind, const char *s, size_t len) {
        if (p->skip > 0)
                return 1;

        switch (p->level) {
        case LEVEL_TOP:
                return threat_parser_fail(p, -EBADMSG, "the file is not a JSON object");
        case LEVEL_ROOT:
                if (p->member == MEMBER_THREATS)
                        return threat_parser_fail(p, -EBADMSG, "\"threats\" is not an array");
                if (p->member != MEMBER_VERSION)
                        return 1;
                if (kind != SCALAR_NUMBER || !threat_parse_integer(s, len, &p->version))
                        return threat_parser_fail(p, -EBADMSG, "\"version\" is not an integer");
                if (p->version != THREAT_FILE_VERSION)
                        return threat_parser_fail(p, -EBADMSG,
                                                  "unsupported version %" PRIi64 " (this daemon "
                                                  "reads version %d)",
                                                  p->version, THREAT_FILE_VERSION);
                return 1;
        case LEVEL_THREATS:
                p->file->n_invalid++;
                return 1;
        case LEVEL_RECORD:
                return threat_record_scalar(p, kind, s, len);
        case LEVEL_HISTORY:
                p->draft.invalid = true;
                return 1;
        case LEVEL_ENTRY:
                return threat_entry_scalar(p, kind, s, len);
        default:
                return threat_parser_fail(p, -EBADMSG, "unexpected value");
        }
}

static int threat_on_null(void *userdata) {
        return threat_on_scalar(userdata, SCALAR_OTHER, NULL, 0);
}

static int threat_on_boolean(void *userdata, _unused_ int b) {
        return threat_on_scalar(userdata, SCALAR_OTHER, NULL, 1);
}

static int threat_on_number(void *userdata, const char *s, size_t len) {
        return threat_on_scalar(userdata, SCALAR_NUMBER, s, len);
}

static int threat_on_string(void *userdata, const unsigned char *s, size_t len) {
        return threat_on_scalar(userdata, SCALAR_STRING, (const char *) s, len);
}

static int threat_on_map_key(void *userdata, const unsigned char *s, size_t len) {
        ThreatParser *p = userdata;
        ThreatDraft *d = &p->draft;
        unsigned *seen;

        if (p->skip > 0)
                return 1;

        p->member = MEMBER_OTHER;
        p->member_name = NULL;
        for (size_t i = 0; i < ELEMENTSOF(threat_members); i++)
                if (threat_members[i].level == p->level &&
                    strlen(threat_members[i].name) == len &&
                    memcmp(threat_members[i].name, s, len) == 0) {
                        p->member = threat_members[i].member;
                        p->member_name = &threat_members[i];
                        break;
                }
        if (p->member == MEMBER_OTHER)
                return 1;

        seen = p->level == LEVEL_ROOT ? &p->root_seen :
               p->level == LEVEL_RECORD ? &d->seen : &d->entry_seen;
        if (*seen & (1U << p->member)) {
                /* The second of two equal keys: which one would be meant? */
                if (p->level == LEVEL_ROOT)
                        return threat_parser_fail(p, -EBADMSG, "duplicate member \"%s\"",
                                                  p->member_name->name);
                if (p->level == LEVEL_RECORD)
                        d->invalid = true;
                else
                        d->entry_invalid = true;
        }
        *seen |= 1U << p->member;
        return 1;
}

static int threat_on_start(ThreatParser *p, bool is_map) {
        ThreatDraft *d = &p->draft;

        if (p->depth >= THREAT_JSON_MAX_DEPTH)
                return threat_parser_fail(p, -EBADMSG, "nesting deeper than %d",
                                          THREAT_JSON_MAX_DEPTH);
        p->depth++;
        if (p->skip > 0) {
                p->skip++;
                return 1;
        }

        switch (p->level) {
        case LEVEL_TOP:
                if (!is_map)
                        return threat_parser_fail(p, -EBADMSG, "the file is not a JSON object");
                p->level = LEVEL_ROOT;
                return 1;
        case LEVEL_ROOT:
                if (p->member == MEMBER_THREATS) {
                        if (is_map)
                                return threat_parser_fail(p, -EBADMSG,
                                                          "\"threats\" is not an array");
                        p->level = LEVEL_THREATS;
                        return 1;
                }
                if (p->member == MEMBER_VERSION)
                        return threat_parser_fail(p, -EBADMSG, "\"version\" is not an integer");
                p->skip = 1;
                return 1;
        case LEVEL_THREATS:
                if (!is_map) {
                        p->file->n_invalid++;
                        p->skip = 1;
                        return 1;
                }
                threat_draft_done(d);
                p->level = LEVEL_RECORD;
                return 1;
        case LEVEL_RECORD:
                if (p->member == MEMBER_HISTORY && !is_map) {
                        if (!d->history) {
                                d->history = calloc(THREAT_HISTORY_MAX,
                                                    sizeof(ThreatHistoryEntry));
                                if (!d->history)
                                        return threat_parser_oom(p);
                        }
                        p->level = LEVEL_HISTORY;
                        return 1;
                }
                if (p->member != MEMBER_OTHER)
                        d->invalid = true;
                p->skip = 1;
                return 1;
        case LEVEL_HISTORY:
                if (!is_map) {
                        d->invalid = true;
                        p->skip = 1;
                        return 1;
                }
                threat_draft_entry_done(d);
                p->level = LEVEL_ENTRY;
                return 1;
        case LEVEL_ENTRY:
                if (p->member != MEMBER_OTHER)
                        d->entry_invalid = true;
                p->skip = 1;
                return 1;
        default:
                return threat_parser_fail(p, -EBADMSG, "unexpected value");
        }
}

static int threat_on_start_map(void *userdata) {
        return threat_on_start(userdata, true);
}

static int threat_on_start_array(void *userdata) {
        return threat_on_start(userdata, false);
}

/* A history entry closed: keep it in the draft, or mark the record invalid. */
static void threat_entry_finish(ThreatDraft *d) {
        const unsigned required = 1U << MEMBER_TIME | 1U << MEMBER_STATUS;

        if (d->entry_invalid || (d->entry_seen & required) != required)
                d->invalid = true;
        else if (d->n_history >= THREAT_HISTORY_MAX)
                d->invalid = true;
        else
                d->history[d->n_history++] = (ThreatHistoryEntry) {
                        .time = (uint64_t) d->entry_time,
                        .status = d->entry_status,
                        .detail = TAKE_PTR(d->entry_detail),
                };
        threat_draft_entry_done(d);
}

/* A path or member as stored, decoded by its encoding member (NULL: as it is): 0, -EINVAL or
 * -ENOMEM. */
static int threat_draft_string(const char *s, const char *encoding, char **ret) {
        if (!encoding) {
                *ret = strdup(s);
                return *ret ? 0 : -ENOMEM;
        }
        if (!streq(encoding, "percent"))
                return -EINVAL;
        return threat_path_unescape(s, ret);
}

/* The path, member and identity of a draft into t: 0, -EINVAL or -ENOMEM. */
static int threat_draft_location(const ThreatDraft *d, Threat *t) {
        char * const *str = d->strings;
        size_t len;
        int r;

        /* The path is taken whole: records written before members were kept apart may hold
         * "a.zip->m" here, and cutting it would guess at a file (README.md, "Older records"). */
        r = threat_draft_string(str[MEMBER_PATH], str[MEMBER_PATH_ENCODING], &t->path);
        if (r < 0)
                return r;
        len = strlen(t->path);
        if (len == 0 || len > THREAT_PATH_MAX)
                return -EINVAL;
        if (str[MEMBER_MEMBER]) {
                r = threat_draft_string(str[MEMBER_MEMBER], str[MEMBER_MEMBER_ENCODING],
                                        &t->member);
                if (r < 0)
                        return r;
                len = strlen(t->member);
                if (len == 0 || len > THREAT_PATH_MAX)
                        return -EINVAL;
        } else if (str[MEMBER_MEMBER_ENCODING])
                return -EINVAL;
        if (!!(d->seen & 1U << MEMBER_DEV) != !!(d->seen & 1U << MEMBER_INO))
                return -EINVAL;
        t->has_identity = d->seen & 1U << MEMBER_DEV;
        t->dev = (uint64_t) d->dev;
        t->ino = (uint64_t) d->ino;
        return 0;
}

/* Turns a complete, valid draft into an entry in *ret: 0, -EINVAL (a field fails its check)
 * or -ENOMEM. The draft keeps what it owned unless it succeeds, in which case its history moves
 * into the entry. */
static int threat_draft_build(ThreatDraft *d, ThreatEntry **ret) {
        const unsigned required = 1U << MEMBER_ID | 1U << MEMBER_NAME | 1U << MEMBER_TYPE |
                                  1U << MEMBER_PATH | 1U << MEMBER_SHA256 |
                                  1U << MEMBER_DETECTED | 1U << MEMBER_SOURCE |
                                  1U << MEMBER_STATUS | 1U << MEMBER_HISTORY;
        char * const *str = d->strings;
        _cleanup_(threat_entry_freep) ThreatEntry *e = NULL;
        ThreatHistoryEntry *history;
        ThreatStatus status;
        ThreatSource source;
        int r;

        /* A member that was seen but has no string had a value of the wrong type, which made
         * the draft invalid; the NULL checks are for the members the checks below accept NULL
         * for. */
        if (d->invalid || (d->seen & required) != required || !str[MEMBER_PATH] ||
            !str[MEMBER_SHA256])
                return -EINVAL;
        if (!threat_id_valid(str[MEMBER_ID]) || !threat_name_valid(str[MEMBER_NAME]) ||
            !threat_type_valid(str[MEMBER_TYPE]) || d->n_history == 0)
                return -EINVAL;
        source = threat_source_from_string(str[MEMBER_SOURCE]);
        status = threat_status_from_string(str[MEMBER_STATUS]);
        if (source < 0 || status < 0 || status != d->history[d->n_history - 1].status)
                return -EINVAL;

        e = calloc(1, sizeof(ThreatEntry));
        if (!e)
                return -ENOMEM;
        if (!threat_sha256_normalize(str[MEMBER_SHA256], e->threat.sha256))
                return -EINVAL;
        for (size_t i = 0; i <= THREAT_ID_LENGTH; i++) {
                char c = str[MEMBER_ID][i];

                e->threat.id[i] = c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c;
        }

        r = threat_draft_location(d, &e->threat);
        if (r < 0)
                return r;

        e->threat.name = strdup(str[MEMBER_NAME]);
        e->threat.type = strdup(str[MEMBER_TYPE]);
        if (!e->threat.name || !e->threat.type)
                return -ENOMEM;
        e->threat.detected = (uint64_t) d->detected;
        e->threat.source = source;
        e->threat.status = status;

        /* Shrink the history to its size; keep the slots if that fails. */
        history = reallocarray(d->history, d->n_history, sizeof(ThreatHistoryEntry));
        e->threat.history = history ?: d->history;
        e->threat.n_history = d->n_history;
        d->history = NULL;
        d->n_history = 0;

        *ret = TAKE_PTR(e);
        return 0;
}

/* A record closed: add it to the file, or count it as invalid. */
static int threat_record_finish(ThreatParser *p) {
        ThreatFile *f = p->file;
        _cleanup_(threat_entry_freep) ThreatEntry *e = NULL;
        int r;

        r = threat_draft_build(&p->draft, &e);
        threat_draft_done(&p->draft);
        if (r == -ENOMEM)
                return threat_parser_oom(p);
        if (r < 0) {
                f->n_invalid++;
                return 1;
        }

        r = threat_index_add(&f->index, e);
        if (r == -EEXIST) {
                f->n_invalid++;         /* the first record with an id wins */
                return 1;
        }
        if (r < 0)
                return threat_parser_oom(p);

        if (f->n_entries == p->capacity) {
                size_t capacity = p->capacity ? p->capacity * 2 : 64;
                ThreatEntry **entries;

                entries = reallocarray(f->entries, capacity, sizeof(ThreatEntry *));
                if (!entries)
                        return threat_parser_oom(p);
                f->entries = entries;
                p->capacity = capacity;
        }
        f->entries[f->n_entries++] = TAKE_PTR(e);
        return 1;
}

static int threat_on_end(void *userdata) {
        ThreatParser *p = userdata;

        p->depth--;
        if (p->skip > 0) {
                p->skip--;
                return 1;
        }

        switch (p->level) {
        case LEVEL_ROOT:
                p->level = LEVEL_END;
                return 1;
        case LEVEL_THREATS:
                p->level = LEVEL_ROOT;
                return 1;
        case LEVEL_RECORD:
                p->level = LEVEL_THREATS;
                return threat_record_finish(p);
        case LEVEL_HISTORY:
                p->level = LEVEL_RECORD;
                return 1;
        case LEVEL_ENTRY:
                threat_entry_finish(&p->draft);
                p->level = LEVEL_HISTORY;
                return 1;
        default:
                return threat_parser_fail(p, -EBADMSG, "unexpected end of a container");
        }
}

static const yajl_callbacks threat_callbacks = {
        .yajl_null = threat_on_null,
        .yajl_boolean = threat_on_boolean,
        .yajl_number = threat_on_number,        /* raw text: big numbers are no syntax error */
        .yajl_string = threat_on_string,
        .yajl_start_map = threat_on_start_map,
        .yajl_map_key = threat_on_map_key,
        .yajl_end_map = threat_on_end,
        .yajl_start_array = threat_on_start_array,
        .yajl_end_array = threat_on_end,
};

void threat_file_done(ThreatFile *f) {
        for (size_t i = 0; i < f->n_entries; i++)
                threat_entry_free(f->entries[i]);
        f->entries = mfree(f->entries);
        f->n_entries = 0;
        threat_index_done(&f->index);
}

/* Line and column (in characters) of a byte offset, for messages. */
static void threat_file_position(ThreatFile *f, const char *data, size_t size, size_t offset) {
        f->line = f->column = 1;
        for (size_t i = 0; i < offset && i < size; i++) {
                if (data[i] == '\n') {
                        f->line++;
                        f->column = 1;
                } else if (((unsigned char) data[i] & 0xC0) != 0x80)
                        f->column++;
        }
}

/* yajl's own message ("parse error: ...\n" and more) trimmed to its first line. */
static void threat_yajl_message(yajl_handle h, ThreatParser *p) {
        unsigned char *msg;
        size_t len;

        msg = yajl_get_error(h, 0, NULL, 0);
        if (!msg) {
                snprintf(p->message, sizeof(p->message), "syntax error");
                return;
        }
        len = strcspn((char *) msg, "\n");
        while (len > 0 && strchr(" \t.", msg[len - 1]))
                len--;
        snprintf(p->message, sizeof(p->message), "%.*s", (int) len, (char *) msg);
        yajl_free_error(h, msg);
}

int threat_file_parse(const char *data, size_t size, ThreatFile *f) {
        ThreatParser p = {
                .file = f,
                .level = LEVEL_TOP,
                .version = -1,
        };
        yajl_status status;
        yajl_handle h;
        size_t offset = size;
        int r = 0;

        *f = (ThreatFile) {};
        threat_draft_done(&p.draft);

        h = yajl_alloc(&threat_callbacks, NULL, &p);
        if (!h)
                return -ENOMEM;
        status = yajl_parse(h, (const unsigned char *) data, size);
        if (status != yajl_status_ok)
                offset = yajl_get_bytes_consumed(h);
        else
                status = yajl_complete_parse(h);

        if (status == yajl_status_client_canceled)
                r = p.error;
        else if (status != yajl_status_ok) {
                threat_yajl_message(h, &p);
                r = -EBADMSG;
        } else if (!(p.root_seen & (1U << MEMBER_VERSION))) {
                snprintf(p.message, sizeof(p.message), "no \"version\" member");
                r = -EBADMSG;
        } else if (!(p.root_seen & (1U << MEMBER_THREATS))) {
                snprintf(p.message, sizeof(p.message), "no \"threats\" member");
                r = -EBADMSG;
        }
        yajl_free(h);
        threat_draft_done(&p.draft);

        if (r == -EBADMSG) {
                snprintf(f->error, sizeof(f->error), "%s", p.message);
                threat_file_position(f, data, size, offset);
        }
        return r;
}
