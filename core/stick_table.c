/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Stick tables (core/stick_table.h): the "stick-table" keyword, the
 * shared mapping of each table, its entries (hash chains, the list by
 * last write that expiry and eviction walk) and the locked operations on
 * their data. The module entry registers the tracking actions, fetches
 * and runtime commands that stick_act.c, stick_fetch.c and stick_cli.c
 * define. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/freq_ctr.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/shm.h"
#include "core/stick_peers.h"
#include "core/stick_rules.h"
#include "core/stick_table.h"
#include "core/util.h"

#define STICK_DEFAULT_LEN 32 /* string and binary keys without "len" */

/* The mapping's header; the buckets and then the entries follow it. */
struct stick_shm {
    pthread_mutex_t lock;
    unsigned used;
    unsigned fresh;     /* entries 1..fresh were handed out once */
    unsigned free_head; /* entries given back, chained by hnext */
    unsigned lru_head;  /* most recently written */
    unsigned lru_tail;
    unsigned resets; /* times a dead worker's lock emptied the table */
};

/* An entry's header; the key then the data follow, 8-byte aligned. */
struct stick_entry {
    unsigned hnext, lprev, lnext;
    unsigned refs;
    unsigned long long expire; /* ms, 0: never */
    unsigned hash, keylen;
    unsigned char key[];
};

/* A table a fetch or converter names, and where. */
struct stick_ref {
    struct stick_ref *next;
    char *name;
    const char *file;
    int line;
};

/* The tables of one generation (the module's data), and the names the
 * fetches of its lines give, checked after parsing. */
struct stick_tables {
    struct stick_table *first, **tail;
    struct stick_ref *refs;
    void *peers;                    /* stick_peers.c's */
    struct stick_tables *live_next; /* on live_tables once mapped */
};

/* The mapped generations of this process, newest first: in the master, at
 * most the running one and the one a reload is preparing. */
static struct stick_tables *live_tables;

struct stick_dt_desc {
    const char *name;
    enum stick_dt rate; /* the rate an ADD also counts into, or COUNT */
    int is_rate;
};

static const struct stick_dt_desc dt_desc[STICK_DT_COUNT] = {
    [STICK_DT_SERVER_ID] = {"server_id", STICK_DT_COUNT, 0},
    [STICK_DT_GPT0] = {"gpt0", STICK_DT_COUNT, 0},
    [STICK_DT_GPC0] = {"gpc0", STICK_DT_GPC0_RATE, 0},
    [STICK_DT_GPC0_RATE] = {"gpc0_rate", STICK_DT_COUNT, 1},
    [STICK_DT_CONN_CNT] = {"conn_cnt", STICK_DT_CONN_RATE, 0},
    [STICK_DT_CONN_CUR] = {"conn_cur", STICK_DT_COUNT, 0},
    [STICK_DT_CONN_RATE] = {"conn_rate", STICK_DT_COUNT, 1},
    [STICK_DT_SESS_CNT] = {"sess_cnt", STICK_DT_SESS_RATE, 0},
    [STICK_DT_SESS_RATE] = {"sess_rate", STICK_DT_COUNT, 1},
    [STICK_DT_HTTP_REQ_CNT] = {"http_req_cnt", STICK_DT_HTTP_REQ_RATE, 0},
    [STICK_DT_HTTP_REQ_RATE] = {"http_req_rate", STICK_DT_COUNT, 1},
    [STICK_DT_HTTP_ERR_CNT] = {"http_err_cnt", STICK_DT_HTTP_ERR_RATE, 0},
    [STICK_DT_HTTP_ERR_RATE] = {"http_err_rate", STICK_DT_COUNT, 1},
    [STICK_DT_BYTES_IN_CNT] = {"bytes_in_cnt", STICK_DT_BYTES_IN_RATE, 0},
    [STICK_DT_BYTES_IN_RATE] = {"bytes_in_rate", STICK_DT_COUNT, 1},
    [STICK_DT_BYTES_OUT_CNT] = {"bytes_out_cnt", STICK_DT_BYTES_OUT_RATE, 0},
    [STICK_DT_BYTES_OUT_RATE] = {"bytes_out_rate", STICK_DT_COUNT, 1},
    [STICK_DT_GPC1] = {"gpc1", STICK_DT_GPC1_RATE, 0},
    [STICK_DT_GPC1_RATE] = {"gpc1_rate", STICK_DT_COUNT, 1},
};

static const char *const key_type_names[] = {"ip", "ipv6", "integer", "string",
                                             "binary"};

static const char *const cmp_names[] = {"eq", "ne", "lt", "gt", "le", "ge"};

const char *stick_dt_name(enum stick_dt dt)
{
    return dt_desc[dt].name;
}

int stick_dt_is_rate(enum stick_dt dt)
{
    return dt_desc[dt].is_rate;
}

int stick_dt_find(const char *name)
{
    int i;

    for (i = 0; i < STICK_DT_COUNT; i++)
        if (strcmp(dt_desc[i].name, name) == 0)
            return i;
    return -1;
}

const char *stick_key_type_name(enum stick_key_type type)
{
    return key_type_names[type];
}

int stick_cmp_find(const char *name)
{
    return cfg_word_index(name, cmp_names, 6);
}

int stick_cond_match(const struct stick_cond *c, const struct stick_view *v)
{
    long long x = (long long)v->val[c->dt];

    switch (c->cmp) {
    case STICK_CMP_EQ:
        return x == c->value;
    case STICK_CMP_NE:
        return x != c->value;
    case STICK_CMP_LT:
        return x < c->value;
    case STICK_CMP_GT:
        return x > c->value;
    case STICK_CMP_LE:
        return x <= c->value;
    case STICK_CMP_GE:
        return x >= c->value;
    }
    return 0;
}

/* ---- configuration */

static struct stick_tables *tables_of(const struct cfg *cfg)
{
    return *cfg_module_data((struct cfg *)cfg, &stick_module);
}

struct stick_table *stick_tables(const struct cfg *cfg)
{
    struct stick_tables *st = cfg != NULL ? tables_of(cfg) : NULL;

    return st != NULL ? st->first : NULL;
}

struct stick_table *stick_table_find(const struct cfg *cfg, const char *name)
{
    struct stick_table *t;

    for (t = stick_tables(cfg); t != NULL; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* The module's data of <cfg>, created empty if needed. */
static struct stick_tables *tables_get(struct cfg *cfg)
{
    void **slot = cfg_module_data(cfg, &stick_module);
    struct stick_tables *st = *slot;

    if (st == NULL) {
        st = *slot = xcalloc(1, sizeof(*st));
        st->tail = &st->first;
    }
    return st;
}

void **stick_peers_slot(const struct cfg *cfg)
{
    return &tables_get((struct cfg *)cfg)->peers;
}

void stick_table_ref_add(const char *name)
{
    struct cfg_ctx *ctx = cfgparse_current();
    struct stick_tables *st;
    struct stick_ref *ref;

    if (ctx == NULL) /* at run time (Lua): no table, no value */
        return;
    st = tables_get(ctx->cfg);
    ref = xcalloc(1, sizeof(*ref));
    ref->name = xstrdup(name);
    ref->file = ctx->file;
    ref->line = ctx->line;
    ref->next = st->refs;
    st->refs = ref;
}

/* Logs the table names fetches give that <cfg> lacks; their count. */
static int refs_check(struct cfg *cfg)
{
    struct stick_tables *st = tables_of(cfg);
    struct stick_ref *ref;
    int errors = 0;

    for (ref = st != NULL ? st->refs : NULL; ref != NULL; ref = ref->next)
        if (stick_table_find(cfg, ref->name) == NULL) {
            log_alert("%s:%d: unable to find stick table '%s'", ref->file,
                      ref->line, ref->name);
            errors++;
        }
    return errors;
}

/* Parses "type T [len N]" from args[*i]; RC_OK or RC_ERR with *err. */
static int parse_type(struct stick_table *t, int *i, int argc, char **args,
                      char **err)
{
    long long len;
    int type, str;

    if (*i + 1 >= argc)
        return set_err(err, "'type' expects a key type");
    type = cfg_word_index(args[*i + 1], key_type_names, 5);
    if (type < 0)
        return set_err(err,
                       "unknown key type '%s' (expects ip, ipv6, integer, "
                       "string or binary)",
                       args[*i + 1]);
    t->type = type;
    *i += 2;
    if (t->type == STICK_KEY_IP || t->type == STICK_KEY_INT)
        t->key_size = 4;
    else if (t->type == STICK_KEY_IPV6)
        t->key_size = 16;
    else
        t->key_size = STICK_DEFAULT_LEN;
    if (*i + 1 < argc && strcmp(args[*i], "len") == 0 &&
        (t->type == STICK_KEY_STR || t->type == STICK_KEY_BIN)) {
        /* a string's key_size counts its NUL, as HAProxy's */
        str = t->type == STICK_KEY_STR;
        if (cfgval_int(args[*i + 1], 1, STICK_KEY_MAX - str, &len, err) !=
            RC_OK)
            return sample_err_wrap(err, "'len': ", "");
        t->key_size = (unsigned)len + str;
        *i += 2;
    }
    return RC_OK;
}

/* Parses one "name" or "name(period)" of a store list. */
static int parse_store_one(struct stick_table *t, char *word, char **err)
{
    char *open = strchr(word, '(');
    unsigned period = 0;
    int dt;

    if (open != NULL) {
        char *close = strchr(open, ')');

        if (close == NULL || close[1] != '\0')
            return set_err(err, "missing ')' after data type '%s'", word);
        *close = '\0';
        *open = '\0';
        if (cfgval_duration_ms(open + 1, &period, err) != RC_OK)
            return sample_err_wrap(err, "data type period: ", "");
    }
    dt = stick_dt_find(word);
    if (dt < 0)
        return set_err(err, "unknown data type '%s'", word);
    if (dt_desc[dt].is_rate && (open == NULL || period == 0))
        return set_err(err, "data type '%s' expects a period, as '%s(10s)'",
                       word, word);
    if (!dt_desc[dt].is_rate && open != NULL)
        return set_err(err, "data type '%s' takes no argument", word);
    t->off[dt] = 0; /* stored: the offset is set once all are known */
    t->period[dt] = period;
    return RC_OK;
}

/* Parses "store a,b(10s),..." into <t>. */
static int parse_store(struct stick_table *t, const char *list, char **err)
{
    char *copy = xstrdup(list), *p = copy, *word;
    int rc = RC_OK;

    while (rc == RC_OK && (word = strsep(&p, ",")) != NULL)
        rc = *word == '\0' ? set_err(err, "empty data type in '%s'", list)
                           : parse_store_one(t, word, err);
    free(copy);
    return rc;
}

/* Lays out an entry: header, key, then each stored data type. */
static void table_layout(struct stick_table *t)
{
    size_t off = 0;
    int dt;

    for (dt = 0; dt < STICK_DT_COUNT; dt++) {
        if (t->off[dt] < 0)
            continue;
        t->off[dt] = (int)off;
        off += dt_desc[dt].is_rate ? sizeof(struct freq_ctr)
                                   : sizeof(unsigned long long);
    }
    t->entry_size =
        sizeof(struct stick_entry) + ((t->key_size + 7) & ~7u) + off;
    for (t->nbuckets = 1; t->nbuckets < t->size; t->nbuckets <<= 1)
        ;
}

/* Parses the words of a stick-table line after the keyword into <t>. */
static int parse_table(struct stick_table *t, int argc, char **args, char **err)
{
    unsigned long long size;
    int i = 1, have_type = 0, have_size = 0;

    while (i < argc) {
        if (strcmp(args[i], "type") == 0) {
            if (parse_type(t, &i, argc, args, err) != RC_OK)
                return RC_ERR;
            have_type = 1;
            continue;
        }
        if (i + 1 >= argc && strcmp(args[i], "nopurge") != 0)
            return set_err(err, "'%s' expects a value", args[i]);
        if (strcmp(args[i], "size") == 0) {
            if (cfgval_size(args[i + 1], &size, err) != RC_OK)
                return sample_err_wrap(err, "'size': ", "");
            if (size == 0 || size > (1u << 30))
                return set_err(err, "'size' %s out of range", args[i + 1]);
            t->size = (unsigned)size;
            have_size = 1;
        } else if (strcmp(args[i], "expire") == 0) {
            if (cfgval_duration_ms(args[i + 1], &t->expire, err) != RC_OK)
                return sample_err_wrap(err, "'expire': ", "");
        } else if (strcmp(args[i], "store") == 0) {
            if (parse_store(t, args[i + 1], err) != RC_OK)
                return RC_ERR;
        } else if (strcmp(args[i], "peers") == 0) {
            free(t->peers);
            t->peers = xstrdup(args[i + 1]);
        } else if (strcmp(args[i], "nopurge") == 0) {
            t->nopurge = 1;
            i++;
            continue;
        } else {
            return set_err(err, "unknown argument '%s'", args[i]);
        }
        i += 2;
    }
    if (!have_type || !have_size)
        return set_err(err, "'stick-table' expects 'type' and 'size'");
    return RC_OK;
}

void stick_table_free(struct stick_table *t)
{
    shm_unmap(t->shm, t->map_len);
    free(t->name);
    free(t->peers);
    free(t);
}

/* "stick-table type T size N [expire T] [nopurge] [store ...]". */
static int kw_stick_table(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    struct stick_tables *st = tables_get(ctx->cfg);
    struct stick_table *t, *old;
    int dt;

    old = stick_table_find(ctx->cfg, ctx->px->name);
    if (old != NULL)
        return set_err(err,
                       "only one stick-table per proxy; '%s' has one at "
                       "%s:%d",
                       ctx->px->name, old->file, old->line);
    t = xcalloc(1, sizeof(*t));
    for (dt = 0; dt < STICK_DT_COUNT; dt++)
        t->off[dt] = -1;
    if (parse_table(t, argc, args, err) != RC_OK) {
        stick_table_free(t);
        return RC_ERR;
    }
    t->name = xstrdup(ctx->px->name);
    t->file = ctx->file;
    t->line = ctx->line;
    *st->tail = t;
    st->tail = &t->next;
    return RC_OK;
}

static const struct cfg_kw stick_keywords[] = {
    {"stick-table", CFG_SEC_NODEF, 2, -1, kw_stick_table, 0, 0, 0},
    {"stick", CFG_SEC_BACKEND | CFG_SEC_LISTEN, 2, -1, stick_rules_parse, 0, 0,
     0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* ---- the shared mapping */

static unsigned *buckets(const struct stick_table *t)
{
    return (unsigned *)((char *)t->shm +
                        ((sizeof(struct stick_shm) + 7) & ~7u));
}

/* Entry number <e> (1..size) of the mapping. */
static struct stick_entry *entry(const struct stick_table *t, unsigned e)
{
    char *base = (char *)(buckets(t) + t->nbuckets);

    base = (char *)(((uintptr_t)base + 7) & ~(uintptr_t)7);
    return (struct stick_entry *)(base + (size_t)(e - 1) * t->entry_size);
}

/* Where data type <dt>, which <t> stores, lives in <en>. */
static void *entry_data(const struct stick_table *t, struct stick_entry *en,
                        enum stick_dt dt)
{
    return en->key + ((t->key_size + 7) & ~7u) + t->off[dt];
}

int stick_table_prepare(struct stick_table *t)
{
    table_layout(t);
    t->map_len = ((sizeof(struct stick_shm) + 7) & ~7u) +
                 t->nbuckets * sizeof(unsigned) + 8 +
                 (size_t)t->size * t->entry_size;
    t->shm = shm_map(t->map_len, "a stick table");
    if (t->shm == NULL)
        return RC_ERR;
    if (shm_mutex_init(&t->shm->lock) != RC_OK) {
        log_alert("cannot initialise the lock of stick table '%s'", t->name);
        return RC_ERR;
    }
    return RC_OK;
}

/* Empties <t> (its lock held); the handles held so far go stale. */
static void table_reset(struct stick_table *t)
{
    t->shm->resets++;
    t->shm->used = t->shm->fresh = t->shm->free_head = 0;
    t->shm->lru_head = t->shm->lru_tail = 0;
    memset(buckets(t), 0, t->nbuckets * sizeof(unsigned));
}

/* Locks <t>. A worker that died holding the lock may have left the links
 * half-written: the table then starts again empty. */
static void table_lock(struct stick_table *t)
{
    if (shm_mutex_lock(&t->shm->lock))
        table_reset(t);
}

/* Unlocks what table_lock() locked. */
static void table_unlock(struct stick_table *t)
{
    pthread_mutex_unlock(&t->shm->lock);
}

/* FNV-1a of <k>. */
static unsigned key_hash(const struct stick_key *k)
{
    unsigned h = 2166136261u, i;

    for (i = 0; i < k->len; i++)
        h = (h ^ k->data[i]) * 16777619u;
    return h;
}

/* Takes entry <e> out of the list by last write. */
static void lru_unlink(struct stick_table *t, unsigned e)
{
    struct stick_entry *en = entry(t, e);

    if (en->lprev)
        entry(t, en->lprev)->lnext = en->lnext;
    else
        t->shm->lru_head = en->lnext;
    if (en->lnext)
        entry(t, en->lnext)->lprev = en->lprev;
    else
        t->shm->lru_tail = en->lprev;
    en->lprev = en->lnext = 0;
}

/* Puts entry <e> at the head of the list by last write. */
static void lru_push(struct stick_table *t, unsigned e)
{
    struct stick_entry *en = entry(t, e);

    en->lprev = 0;
    en->lnext = t->shm->lru_head;
    if (en->lnext)
        entry(t, en->lnext)->lprev = e;
    else
        t->shm->lru_tail = e;
    t->shm->lru_head = e;
}

/* Marks entry <e> written now: it moves to the head, its expiry restarts. */
static void entry_touch(struct stick_table *t, unsigned e,
                        unsigned long long now)
{
    entry(t, e)->expire = t->expire ? now + t->expire : 0;
    lru_unlink(t, e);
    lru_push(t, e);
}

/* Unhashes and frees entry <e>. */
static void entry_remove(struct stick_table *t, unsigned e)
{
    struct stick_entry *en = entry(t, e);
    unsigned *p = &buckets(t)[en->hash & (t->nbuckets - 1)];

    while (*p != e)
        p = &entry(t, *p)->hnext;
    *p = en->hnext;
    lru_unlink(t, e);
    en->hnext = t->shm->free_head;
    t->shm->free_head = e;
    t->shm->used--;
}

/* Removes the expired entries no one tracks, oldest first. */
static void table_purge(struct stick_table *t, unsigned long long now)
{
    unsigned e = t->shm->lru_tail, prev;
    struct stick_entry *en;

    while (e != 0) {
        en = entry(t, e);
        prev = en->lprev;
        if (en->expire == 0 || en->expire > now)
            break; /* the list is in expiry order: the rest is newer */
        if (en->refs == 0)
            entry_remove(t, e);
        e = prev;
    }
}

/* Removes the least recently written untracked entry; 1 if one went. */
static int table_evict(struct stick_table *t)
{
    unsigned e;

    for (e = t->shm->lru_tail; e != 0; e = entry(t, e)->lprev)
        if (entry(t, e)->refs == 0) {
            entry_remove(t, e);
            return 1;
        }
    return 0;
}

/* The entry of <k> whose hash is <hash>, or 0. */
static unsigned entry_lookup(struct stick_table *t, const struct stick_key *k,
                             unsigned hash)
{
    unsigned e = buckets(t)[hash & (t->nbuckets - 1)];
    struct stick_entry *en;

    for (; e != 0; e = en->hnext) {
        en = entry(t, e);
        if (en->hash == hash && en->keylen == k->len &&
            memcmp(en->key, k->data, k->len) == 0)
            return e;
    }
    return 0;
}

/* A free entry, making room as HAProxy does; 0 if none. */
static unsigned entry_alloc(struct stick_table *t, unsigned long long now)
{
    unsigned e;

    table_purge(t, now);
    if (t->shm->used >= t->size && (t->nopurge || !table_evict(t)))
        return 0;
    if (t->shm->free_head != 0) {
        e = t->shm->free_head;
        t->shm->free_head = entry(t, e)->hnext;
    } else {
        e = ++t->shm->fresh;
    }
    t->shm->used++;
    return e;
}

/* The entry of <k>, created if <create>; 0 if absent or no room. */
static unsigned entry_get(struct stick_table *t, const struct stick_key *k,
                          int create, unsigned long long now)
{
    unsigned hash = key_hash(k), e = entry_lookup(t, k, hash), *b;
    struct stick_entry *en;

    if (e != 0 || !create || (e = entry_alloc(t, now)) == 0)
        return e;
    en = entry(t, e);
    memset(en, 0, t->entry_size);
    en->hash = hash;
    en->keylen = k->len;
    memcpy(en->key, k->data, k->len);
    b = &buckets(t)[hash & (t->nbuckets - 1)];
    en->hnext = *b;
    *b = e;
    lru_push(t, e);
    entry_touch(t, e, now);
    return e;
}

/* Applies <op> to <dt> of entry <e> (lock held); see stick_entry_op(). */
static int data_op(struct stick_table *t, unsigned e, enum stick_dt dt,
                   enum stick_op op, unsigned long long n,
                   unsigned long long *out, unsigned long long now)
{
    struct stick_entry *en = entry(t, e);
    unsigned long long *v, res;
    struct freq_ctr *f;

    /* a counter's rate counts even when the counter is not stored */
    if (op == STICK_OP_ADD && dt_desc[dt].rate != STICK_DT_COUNT)
        data_op(t, e, dt_desc[dt].rate, op, n, NULL, now);
    if (t->off[dt] < 0)
        return 0;
    if (dt_desc[dt].is_rate) {
        f = entry_data(t, en, dt);
        if (op == STICK_OP_ADD)
            freq_ctr_add_at(f, t->period[dt], now, (unsigned)n);
        res = freq_ctr_read_at(f, t->period[dt], now);
        if (op == STICK_OP_SET || op == STICK_OP_CLR)
            memset(f, 0, sizeof(*f));
    } else {
        v = entry_data(t, en, dt);
        res = *v;
        if (op == STICK_OP_ADD)
            res = *v += n;
        else if (op == STICK_OP_SET)
            res = *v = n;
        else if (op == STICK_OP_CLR)
            *v = 0;
    }
    if (op != STICK_OP_GET)
        entry_touch(t, e, now);
    if (out != NULL)
        *out = res;
    return 1;
}

/* Adds <n> (may be negative) to the counter <dt> of <e>, not below 0. */
static void counter_move(struct stick_table *t, unsigned e, enum stick_dt dt,
                         int n, unsigned long long now)
{
    unsigned long long v;

    if (n >= 0) {
        data_op(t, e, dt, STICK_OP_ADD, (unsigned)n, NULL, now);
        return;
    }
    if (data_op(t, e, dt, STICK_OP_GET, 0, &v, now) && v > 0)
        data_op(t, e, dt, STICK_OP_SET, v - 1, NULL, now);
}

/* The handle of entry <e>: its index and the table's resets (lock held). */
static unsigned long long handle_of(const struct stick_table *t, unsigned e)
{
    return e == 0 ? 0 : (unsigned long long)t->shm->resets << 32 | e;
}

/* Locks <t> and finds the entry of handle <h>: its index, or 0 (unlocked
 * again) when the table was emptied since the handle was given. */
static unsigned handle_lock(struct stick_table *t, unsigned long long h)
{
    table_lock(t);
    if (h >> 32 == t->shm->resets)
        return (unsigned)h;
    table_unlock(t);
    return 0;
}

unsigned long long stick_table_track(struct stick_table *t,
                                     const struct stick_key *k)
{
    unsigned long long now = freq_ctr_now_ms(), h;
    unsigned e;

    table_lock(t);
    e = entry_get(t, k, 1, now);
    if (e != 0) {
        entry(t, e)->refs++;
        counter_move(t, e, STICK_DT_CONN_CUR, 1, now);
        counter_move(t, e, STICK_DT_CONN_CNT, 1, now);
        entry_touch(t, e, now);
    }
    h = handle_of(t, e);
    table_unlock(t);
    return h;
}

void stick_table_untrack(struct stick_table *t, unsigned long long h)
{
    unsigned long long now = freq_ctr_now_ms();
    unsigned e = handle_lock(t, h);

    if (e == 0)
        return;
    entry(t, e)->refs--;
    counter_move(t, e, STICK_DT_CONN_CUR, -1, now);
    entry_touch(t, e, now);
    table_unlock(t);
}

int stick_entry_op(struct stick_table *t, unsigned long long h,
                   enum stick_dt dt, enum stick_op op, unsigned long long n,
                   unsigned long long *out)
{
    unsigned e = handle_lock(t, h);
    int rc;

    if (e == 0)
        return 0;
    rc = data_op(t, e, dt, op, n, out, freq_ctr_now_ms());
    table_unlock(t);
    return rc;
}

int stick_key_op(struct stick_table *t, const struct stick_key *k, int create,
                 enum stick_dt dt, enum stick_op op, unsigned long long n,
                 unsigned long long *out)
{
    unsigned long long now = freq_ctr_now_ms();
    enum stick_dt rate = dt_desc[dt].rate;
    unsigned e;
    int rc;

    /* nothing to do unless <dt> or (adding) its rate is stored */
    if (t->off[dt] < 0 &&
        (op != STICK_OP_ADD || rate == STICK_DT_COUNT || t->off[rate] < 0))
        return 0;
    table_lock(t);
    e = entry_get(t, k, create && op != STICK_OP_GET, now);
    rc = e != 0 ? data_op(t, e, dt, op, n, out, now) : 1;
    if (e == 0 && out != NULL)
        *out = 0;
    table_unlock(t);
    return rc;
}

int stick_entry_key(struct stick_table *t, unsigned long long h,
                    struct stick_key *k)
{
    unsigned e = handle_lock(t, h);
    struct stick_entry *en;

    if (e == 0)
        return 0;
    en = entry(t, e);
    k->len = en->keylen;
    memcpy(k->data, en->key, en->keylen);
    table_unlock(t);
    return 1;
}

unsigned stick_entry_refs(struct stick_table *t, unsigned long long h)
{
    unsigned e = handle_lock(t, h), refs;

    if (e == 0)
        return 0;
    refs = entry(t, e)->refs;
    table_unlock(t);
    return refs;
}

int stick_key_refs(struct stick_table *t, const struct stick_key *k)
{
    unsigned e;
    int refs;

    table_lock(t);
    table_purge(t, freq_ctr_now_ms());
    e = entry_lookup(t, k, key_hash(k));
    refs = e != 0 ? (int)entry(t, e)->refs : -1;
    table_unlock(t);
    return refs;
}

unsigned stick_table_used(struct stick_table *t)
{
    unsigned used;

    table_lock(t);
    table_purge(t, freq_ctr_now_ms());
    used = t->shm->used;
    table_unlock(t);
    return used;
}

/* Fills <v> with entry <e>. */
static void entry_view(struct stick_table *t, unsigned e,
                       unsigned long long now, struct stick_view *v)
{
    struct stick_entry *en = entry(t, e);
    int dt;

    v->index = e;
    v->key.len = en->keylen;
    memcpy(v->key.data, en->key, en->keylen);
    v->refs = en->refs;
    v->expire_in = en->expire == 0    ? -1
                   : en->expire > now ? (long long)(en->expire - now)
                                      : 0;
    for (dt = 0; dt < STICK_DT_COUNT; dt++)
        if (!data_op(t, e, dt, STICK_OP_GET, 0, &v->val[dt], now))
            v->val[dt] = 0;
}

int stick_key_view(struct stick_table *t, const struct stick_key *k,
                   struct stick_view *v)
{
    unsigned long long now = freq_ctr_now_ms();
    unsigned e;

    table_lock(t);
    table_purge(t, now);
    e = entry_lookup(t, k, key_hash(k));
    if (e != 0)
        entry_view(t, e, now, v);
    table_unlock(t);
    return e != 0;
}

/* 1 if entry <e> is in use (lock held): on the list by last write. */
static int entry_live(const struct stick_table *t, unsigned e)
{
    return entry(t, e)->lprev != 0 || t->shm->lru_head == e;
}

int stick_table_next(struct stick_table *t, unsigned *pos, struct stick_view *v)
{
    unsigned long long now = freq_ctr_now_ms();
    unsigned e;

    table_lock(t);
    table_purge(t, now);
    for (e = *pos + 1; e <= t->shm->fresh && !entry_live(t, e); e++)
        ;
    if (e <= t->shm->fresh)
        entry_view(t, e, now, v);
    table_unlock(t);
    *pos = e;
    return e <= t->shm->fresh;
}

void stick_table_walk(struct stick_table *t,
                      int (*fn)(const struct stick_view *v, void *arg),
                      void *arg)
{
    unsigned long long now = freq_ctr_now_ms();
    struct stick_view *v = xmalloc(sizeof(*v));
    unsigned e, next;

    table_lock(t);
    table_purge(t, now);
    for (e = t->shm->lru_head; e != 0; e = next) {
        next = entry(t, e)->lnext;
        entry_view(t, e, now, v);
        if (fn(v, arg) && v->refs == 0)
            entry_remove(t, e);
    }
    table_unlock(t);
    free(v);
}

/* ---- carrying entries over a reload */

/* Copies the data of entry <e> of <from> into entry <ne> of <to>: the
 * types both store, but conn_cur (the connections it counts belong to the
 * old workers, which count them down in <from>). */
static void entry_carry(struct stick_table *to, unsigned ne,
                        struct stick_table *from, unsigned e)
{
    int dt;

    for (dt = 0; dt < STICK_DT_COUNT; dt++)
        if (dt != STICK_DT_CONN_CUR && to->off[dt] >= 0 && from->off[dt] >= 0)
            memcpy(entry_data(to, entry(to, ne), dt),
                   entry_data(from, entry(from, e), dt),
                   dt_desc[dt].is_rate ? sizeof(struct freq_ctr)
                                       : sizeof(unsigned long long));
}

/* When an entry of <from> due at <expire> (0: never) goes from <to>. */
static unsigned long long carried_expire(const struct stick_table *to,
                                         unsigned long long expire,
                                         unsigned long long now)
{
    if (to->expire == 0)
        return 0;
    if (expire == 0 || expire > now + to->expire)
        return now + to->expire;
    return expire;
}

/* Copies the live entries of <from> into the new, unused <to>, oldest
 * first so that the order by last write (and of expiry) holds; stops
 * when <to> is full ("nopurge"), else the oldest make room. */
static void table_carry(struct stick_table *to, struct stick_table *from)
{
    unsigned long long now = freq_ctr_now_ms();
    struct stick_key *k = xmalloc(sizeof(*k));
    struct stick_entry *en;
    unsigned e, ne;

    table_lock(from);
    table_lock(to);
    table_purge(from, now);
    for (e = from->shm->lru_tail; e != 0; e = en->lprev) {
        en = entry(from, e);
        k->len = en->keylen;
        memcpy(k->data, en->key, en->keylen);
        ne = entry_get(to, k, 1, now);
        if (ne == 0)
            break;
        entry_carry(to, ne, from, e);
        entry(to, ne)->expire = carried_expire(to, en->expire, now);
    }
    table_unlock(to);
    table_unlock(from);
    free(k);
}

/* The table that <t> takes its entries from on a reload: the one of the
 * same name, key type and length, also kept, in the newest other mapped
 * generation than <self>; NULL if none. */
static struct stick_table *carry_source(const struct stick_tables *self,
                                        const struct stick_table *t)
{
    struct stick_tables *st;
    struct stick_table *old;

    for (st = live_tables; st != NULL && st == self; st = st->live_next)
        ;
    for (old = st != NULL ? st->first : NULL; old != NULL; old = old->next)
        if (strcmp(old->name, t->name) == 0)
            return old->keep && old->shm != NULL && old->type == t->type &&
                           old->key_size == t->key_size
                       ? old
                       : NULL;
    return NULL;
}

/* Resolves the peers section each table of <cfg> names; logs each
 * unknown one with file:line and returns the number of errors. */
static int peers_resolve(struct cfg *cfg)
{
    struct stick_table *t;
    int errors = stick_peers_check(cfg), found;

    for (t = stick_tables(cfg); t != NULL; t = t->next) {
        if (t->peers == NULL)
            continue;
        t->keep = stick_peers_keep(cfg, t->peers, &found);
        if (!found) {
            log_alert("%s:%d: stick-table: unknown peers section '%s'", t->file,
                      t->line, t->peers);
            errors++;
        }
    }
    return errors;
}

/* ---- keys */

int stick_key_make(const struct stick_table *t, struct sample *smp,
                   const struct smp_env *env, struct stick_key *k)
{
    static const enum smp_type cast_to[] = {SMP_T_IPV4, SMP_T_IPV6, SMP_T_SINT,
                                            SMP_T_STR, SMP_T_BIN};
    unsigned max;
    int32_t i;

    if (!sample_cast(smp, cast_to[t->type], env))
        return 0;
    memset(k->data, 0, t->key_size);
    switch (t->type) {
    case STICK_KEY_IP:
        memcpy(k->data, &smp->data.ipv4, 4);
        k->len = 4;
        break;
    case STICK_KEY_IPV6:
        memcpy(k->data, &smp->data.ipv6, 16);
        k->len = 16;
        break;
    case STICK_KEY_INT:
        i = (int32_t)smp->data.sint;
        memcpy(k->data, &i, 4);
        k->len = 4;
        break;
    case STICK_KEY_STR:
    case STICK_KEY_BIN:
        max = t->type == STICK_KEY_STR ? t->key_size - 1 : t->key_size;
        k->len = smp->data.str.len < max ? (unsigned)smp->data.str.len : max;
        memcpy(k->data, smp->data.str.ptr, k->len);
        if (t->type == STICK_KEY_BIN) /* HAProxy pads binary keys */
            k->len = t->key_size;
        break;
    }
    return 1;
}

void stick_key_print(const struct stick_table *t, const struct stick_key *k,
                     char *buf, size_t len)
{
    int32_t i;

    switch (t->type) {
    case STICK_KEY_IP:
        inet_ntop(AF_INET, k->data, buf, (socklen_t)len);
        break;
    case STICK_KEY_IPV6:
        inet_ntop(AF_INET6, k->data, buf, (socklen_t)len);
        break;
    case STICK_KEY_INT: /* HAProxy keeps integers as unsigned */
        memcpy(&i, k->data, 4);
        snprintf(buf, len, "%u", (unsigned)i);
        break;
    case STICK_KEY_STR:
        snprintf(buf, len, "%.*s", (int)k->len, (const char *)k->data);
        break;
    case STICK_KEY_BIN:
        if (len > 2 * (size_t)k->len)
            buf[hex_encode(buf, k->data, k->len)] = '\0';
        else
            snprintf(buf, len, "?");
        break;
    }
}

int stick_key_from_str(const struct stick_table *t, const char *s, size_t len,
                       struct stick_key *k)
{
    struct sample smp;

    memset(&smp, 0, sizeof(smp));
    smp.type = t->type == STICK_KEY_BIN ? SMP_T_BIN : SMP_T_STR;
    smp.data.str = (struct ist){s, len};
    return stick_key_make(t, &smp, NULL, k);
}

int stick_key_parse(const struct stick_table *t, const char *text,
                    struct stick_key *k)
{
    unsigned char bin[STICK_KEY_MAX];
    size_t len = strlen(text);
    long n;

    if (t->type != STICK_KEY_BIN)
        return stick_key_from_str(t, text, len, k);
    if (len > 2 * sizeof(bin) || (n = sample_hex2bin(text, len, bin)) < 0)
        return 0;
    return stick_key_from_str(t, (const char *)bin, (size_t)n, k);
}

/* ---- the module */

/* In the master after parsing: maps every table and resolves the rules
 * that name one. */
static int stick_post_parse(struct cfg *cfg)
{
    struct stick_tables *st = tables_of(cfg);
    struct stick_table *t, *from;
    int rc = RC_OK;

    if (stick_rules_check(cfg) != 0)
        rc = RC_ERR;
    if (peers_resolve(cfg) != 0)
        rc = RC_ERR;
    for (t = stick_tables(cfg); t != NULL; t = t->next)
        if (t->shm == NULL && stick_table_prepare(t) != RC_OK)
            rc = RC_ERR;
    if (stick_act_check(cfg) != 0 || refs_check(cfg) != 0)
        rc = RC_ERR;
    if (rc != RC_OK || st == NULL)
        return rc;
    for (t = st->first; t != NULL; t = t->next)
        if (t->keep && (from = carry_source(st, t)) != NULL)
            table_carry(t, from);
    st->live_next = live_tables;
    live_tables = st;
    return rc;
}

/* Takes <st> off the mapped generations, if it is there. */
static void live_remove(struct stick_tables *st)
{
    struct stick_tables **p;

    for (p = &live_tables; *p != NULL; p = &(*p)->live_next)
        if (*p == st) {
            *p = st->live_next;
            return;
        }
}

/* Frees the tables of <cfg> (unmapped in this process only: the workers
 * forked before keep theirs) and the names its fetches gave. */
static void stick_cfg_free(struct cfg *cfg)
{
    void **slot = cfg_module_data(cfg, &stick_module);
    struct stick_tables *st = *slot;
    struct stick_table *t, *next;
    struct stick_ref *ref, *rnext;

    if (st == NULL)
        return;
    live_remove(st);
    stick_peers_free(cfg);
    for (t = st->first; t != NULL; t = next) {
        next = t->next;
        stick_table_free(t);
    }
    for (ref = st->refs; ref != NULL; ref = rnext) {
        rnext = ref->next;
        free(ref->name);
        free(ref);
    }
    free(st);
    *slot = NULL;
}

/* Fills the registries with the actions, fetches and commands. */
static int stick_init(void)
{
    stick_act_init();
    stick_fetch_init();
    stick_cli_init();
    return RC_OK;
}

static const struct cfg_kw *const stick_keyword_tables[] = {
    stick_keywords, stick_peers_keywords, NULL};

const struct module stick_module = {
    .name = "stick",
    .keywords = stick_keyword_tables,
    .sections = stick_peers_sections,
    .init = stick_init,
    .post_parse = stick_post_parse,
    .cfg_free = stick_cfg_free,
};
