/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Stick tables (HAProxy's "stick-table"): per-key counters that every
 * worker of a generation shares. A proxy declares at most one table,
 * named after it. The master maps each table before forking: a header
 * with a process-shared robust lock, a hash of entry indices and <size>
 * fixed-size entries (links, key, the stored data types). Entries expire
 * <expire> ms after they were last written; when the table is full, the
 * least recently written entry that no stream tracks makes room. A reload
 * maps new, empty tables (HAProxy without peers does the same), except
 * that a table naming a peers section with the local peer gets a copy of
 * the entries of the table of the same name and key in the generation it
 * replaces (HAProxy's local peer does that on a reload).
 *
 * A tracker names its entry by a handle (0: none) that stays valid while
 * it holds the entry (stick_table_track() takes a reference). A worker
 * killed while holding a table's lock may leave its links half-written:
 * the next locker empties the table, and the handles given before go
 * stale (the operations on them do nothing). Any other look-up and use
 * happens under one lock, in stick_key_op(). */
#ifndef LUAPROXY_CORE_STICK_TABLE_H
#define LUAPROXY_CORE_STICK_TABLE_H

#include <stddef.h>

#include "core/module.h"

struct cfg;
struct proxy;
struct sample;
struct smp_env;
struct stick_shm;

/* Counters a stream may track at once: track-sc0..2. */
#define STICK_CTRS 3
/* Longest key (string and binary tables' "len"). */
#define STICK_KEY_MAX 1024

enum stick_key_type {
    STICK_KEY_IP = 0,
    STICK_KEY_IPV6,
    STICK_KEY_INT,
    STICK_KEY_STR,
    STICK_KEY_BIN,
};

/* Data types, in HAProxy's order ("show table" prints them so). */
enum stick_dt {
    STICK_DT_SERVER_ID = 0,
    STICK_DT_GPT0,
    STICK_DT_GPC0,
    STICK_DT_GPC0_RATE,
    STICK_DT_CONN_CNT,
    STICK_DT_CONN_CUR,
    STICK_DT_CONN_RATE,
    STICK_DT_SESS_CNT,
    STICK_DT_SESS_RATE,
    STICK_DT_HTTP_REQ_CNT,
    STICK_DT_HTTP_REQ_RATE,
    STICK_DT_HTTP_ERR_CNT,
    STICK_DT_HTTP_ERR_RATE,
    STICK_DT_BYTES_IN_CNT,
    STICK_DT_BYTES_IN_RATE,
    STICK_DT_BYTES_OUT_CNT,
    STICK_DT_BYTES_OUT_RATE,
    STICK_DT_GPC1,
    STICK_DT_GPC1_RATE,
    STICK_DT_COUNT
};

/* What stick_entry_op() does to one data type. */
enum stick_op {
    STICK_OP_GET, /* read (a rate: its value over the period now) */
    STICK_OP_ADD, /* add; a counter with a rate counts into both */
    STICK_OP_SET, /* overwrite */
    STICK_OP_CLR, /* read, then zero */
};

/* A key as the table stores it: <len> bytes. */
struct stick_key {
    unsigned len;
    unsigned char data[STICK_KEY_MAX];
};

/* One proxy's table: configuration, and the mapping once prepared. */
struct stick_table {
    struct stick_table *next;
    char *name; /* the proxy's */
    const char *file;
    int line;
    enum stick_key_type type;
    unsigned key_size;       /* HAProxy's: a string's counts its NUL */
    unsigned size;           /* entries */
    unsigned expire;         /* ms, 0: never */
    int nopurge;             /* full: refuse new keys instead of evicting */
    char *peers;             /* the "peers" section it names, or NULL */
    int keep;                /* its entries are carried over a reload */
    int off[STICK_DT_COUNT]; /* in an entry's data; -1: not stored */
    unsigned period[STICK_DT_COUNT]; /* ms, of the rates */
    size_t entry_size, nbuckets, map_len;
    struct stick_shm *shm; /* NULL until stick_tables_prepare() */
};

/* A copy of an entry for the runtime API, taken under the lock. */
struct stick_view {
    unsigned index;
    struct stick_key key;
    unsigned refs;
    long long expire_in; /* ms, -1: never */
    unsigned long long val[STICK_DT_COUNT];
};

/* How a condition compares, in HAProxy's words: eq, ne, lt, gt, le, ge. */
enum stick_cmp {
    STICK_CMP_EQ = 0,
    STICK_CMP_NE,
    STICK_CMP_LT,
    STICK_CMP_GT,
    STICK_CMP_LE,
    STICK_CMP_GE,
};

/* A condition on a stored data type of an entry ("show table"'s data
 * filter, the Lua dump's): the value compares as a signed number. */
struct stick_cond {
    enum stick_dt dt;
    enum stick_cmp cmp;
    long long value;
};

extern const struct module stick_module;

/* HAProxy's name of a data type or key type. */
const char *stick_dt_name(enum stick_dt dt);
const char *stick_key_type_name(enum stick_key_type type);
/* The data type named <name>, or -1. */
int stick_dt_find(const char *name);
/* 1 if <dt> is a rate (its name takes a period). */
int stick_dt_is_rate(enum stick_dt dt);
/* The comparison named <name> ("eq"...), or -1. */
int stick_cmp_find(const char *name);
/* 1 if entry <v> meets <c>. */
int stick_cond_match(const struct stick_cond *c, const struct stick_view *v);

/* The tables of <cfg>, in declaration order; the table named <name>, or
 * that of proxy <px>: NULL if none. */
struct stick_table *stick_tables(const struct cfg *cfg);
struct stick_table *stick_table_find(const struct cfg *cfg, const char *name);

/* Notes that the line being parsed (if any) names table <name>: it is
 * looked for once the generation is parsed, an error if absent. */
void stick_table_ref_add(const char *name);

/* Lays out the entries of <t> (type, size, stored types and expire set)
 * and maps it, shared with the processes forked afterwards; RC_OK or
 * RC_ERR (logged). The master does it after parsing. */
int stick_table_prepare(struct stick_table *t);
/* Unmaps <t> and frees it. */
void stick_table_free(struct stick_table *t);

/* Turns <smp> into a key of <t>'s type (casting it); 1, or 0 if it cannot
 * be one. */
int stick_key_make(const struct stick_table *t, struct sample *smp,
                   const struct smp_env *env, struct stick_key *k);
/* Writes <k> of <t> as "show table" does into <buf> of <len> bytes. */
void stick_key_print(const struct stick_table *t, const struct stick_key *k,
                     char *buf, size_t len);
/* Parses <text> as a key of <t>'s type (runtime API: binary keys in
 * hexadecimal); 1, or 0. */
int stick_key_parse(const struct stick_table *t, const char *text,
                    struct stick_key *k);
/* Casts the <len> bytes at <s>, a string, to a key of <t>'s type as a
 * string sample is cast (binary keys: the bytes themselves); 1, or 0. */
int stick_key_from_str(const struct stick_table *t, const char *s, size_t len,
                       struct stick_key *k);

/* Finds or creates the entry of <k> and holds it for a tracker: counts a
 * connection into it (conn_cur, conn_cnt, conn_rate). Returns its handle,
 * or 0 when the table is full of tracked entries (or "nopurge"). */
unsigned long long stick_table_track(struct stick_table *t,
                                     const struct stick_key *k);
/* Releases what stick_table_track() took: one less conn_cur. */
void stick_table_untrack(struct stick_table *t, unsigned long long h);
/* Applies <op> with <n> to data type <dt> of the tracked entry <h>.
 * Returns 1 with *<out> (may be NULL) the value after (before, for CLR),
 * or 0 if <t> does not store <dt> or <h> is stale. */
int stick_entry_op(struct stick_table *t, unsigned long long h,
                   enum stick_dt dt, enum stick_op op, unsigned long long n,
                   unsigned long long *out);
/* Same on the entry of <k>: GET and an absent key give 0; other ops
 * create the entry when <create> is set. */
int stick_key_op(struct stick_table *t, const struct stick_key *k, int create,
                 enum stick_dt dt, enum stick_op op, unsigned long long n,
                 unsigned long long *out);
/* Copies the key of tracked entry <h> into <k>; 1, or 0 if stale. */
int stick_entry_key(struct stick_table *t, unsigned long long h,
                    struct stick_key *k);
/* Trackers of tracked entry <h> (HAProxy's "use"), 0 if stale. */
unsigned stick_entry_refs(struct stick_table *t, unsigned long long h);
/* Trackers of the entry of <k>, -1 if absent. */
int stick_key_refs(struct stick_table *t, const struct stick_key *k);
/* Entries in use now. */
unsigned stick_table_used(struct stick_table *t);
/* Copies the entry of <k> into <v>; 1, or 0 if absent. */
int stick_key_view(struct stick_table *t, const struct stick_key *k,
                   struct stick_view *v);
/* Copies into <v> the live entry after position *<pos> (start at 0) and
 * moves *<pos> past it; 1, or 0 when none is left. Each call takes the
 * lock once, so a walk sees the entries that live through it, in no
 * particular order, and the caller may do anything between calls. */
int stick_table_next(struct stick_table *t, unsigned *pos,
                     struct stick_view *v);
/* Calls <fn> on a copy of each live entry, most recently written first;
 * when it returns 1 the entry is removed unless tracked. <fn> runs under
 * the table's lock: it must not call back into the table. */
void stick_table_walk(struct stick_table *t,
                      int (*fn)(const struct stick_view *v, void *arg),
                      void *arg);

/* In stick_act.c and stick_fetch.c, called from the module's init. */
void stick_act_init(void);
void stick_fetch_init(void);
void stick_cli_init(void);
/* Resolves the tables the track and sc-* rules of <cfg> name; logs each
 * problem with file:line and returns the number of errors. */
int stick_act_check(struct cfg *cfg);

#endif
