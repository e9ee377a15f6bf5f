/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Stick table fetches and converters: sc_<verb>(ctr[,table]),
 * sc0_..sc2_<verb>([table]), src_<verb>([table]), sc_tracked,
 * table_avl, table_cnt, in_table(table) and table_<data>(table). The
 * fetch names are built from one list of verbs at start-up. A table the
 * fetch names must be declared (checked once the configuration is
 * parsed) and is looked up in the worker's generation; without a name,
 * src_* use the table of the stream's backend, else of its frontend. A
 * data type the table does not store gives no sample, as in HAProxy. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stick_act.h"
#include "core/stick_table.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"

enum verb_kind {
    VERB_DATA,     /* <op> on <dt> */
    VERB_KBYTES,   /* a byte count read in kilobytes */
    VERB_TRACKERS, /* the entry's trackers */
    VERB_TRACKED,  /* whether the counter is tracked (sc only) */
};

struct stick_verb {
    const char *name;
    enum verb_kind kind;
    enum stick_dt dt;
    enum stick_op op;
    int src_only;
};

static const struct stick_verb verbs[] = {
    {"get_gpt0", VERB_DATA, STICK_DT_GPT0, STICK_OP_GET, 0},
    {"get_gpc0", VERB_DATA, STICK_DT_GPC0, STICK_OP_GET, 0},
    {"get_gpc1", VERB_DATA, STICK_DT_GPC1, STICK_OP_GET, 0},
    {"gpc0_rate", VERB_DATA, STICK_DT_GPC0_RATE, STICK_OP_GET, 0},
    {"gpc1_rate", VERB_DATA, STICK_DT_GPC1_RATE, STICK_OP_GET, 0},
    {"inc_gpc0", VERB_DATA, STICK_DT_GPC0, STICK_OP_ADD, 0},
    {"inc_gpc1", VERB_DATA, STICK_DT_GPC1, STICK_OP_ADD, 0},
    {"clr_gpc0", VERB_DATA, STICK_DT_GPC0, STICK_OP_CLR, 0},
    {"clr_gpc1", VERB_DATA, STICK_DT_GPC1, STICK_OP_CLR, 0},
    {"conn_cnt", VERB_DATA, STICK_DT_CONN_CNT, STICK_OP_GET, 0},
    {"conn_cur", VERB_DATA, STICK_DT_CONN_CUR, STICK_OP_GET, 0},
    {"conn_rate", VERB_DATA, STICK_DT_CONN_RATE, STICK_OP_GET, 0},
    {"sess_cnt", VERB_DATA, STICK_DT_SESS_CNT, STICK_OP_GET, 0},
    {"sess_rate", VERB_DATA, STICK_DT_SESS_RATE, STICK_OP_GET, 0},
    {"http_req_cnt", VERB_DATA, STICK_DT_HTTP_REQ_CNT, STICK_OP_GET, 0},
    {"http_req_rate", VERB_DATA, STICK_DT_HTTP_REQ_RATE, STICK_OP_GET, 0},
    {"http_err_cnt", VERB_DATA, STICK_DT_HTTP_ERR_CNT, STICK_OP_GET, 0},
    {"http_err_rate", VERB_DATA, STICK_DT_HTTP_ERR_RATE, STICK_OP_GET, 0},
    {"kbytes_in", VERB_KBYTES, STICK_DT_BYTES_IN_CNT, STICK_OP_GET, 0},
    {"bytes_in_rate", VERB_DATA, STICK_DT_BYTES_IN_RATE, STICK_OP_GET, 0},
    {"kbytes_out", VERB_KBYTES, STICK_DT_BYTES_OUT_CNT, STICK_OP_GET, 0},
    {"bytes_out_rate", VERB_DATA, STICK_DT_BYTES_OUT_RATE, STICK_OP_GET, 0},
    {"trackers", VERB_TRACKERS, STICK_DT_COUNT, STICK_OP_GET, 0},
    {"tracked", VERB_TRACKED, STICK_DT_COUNT, STICK_OP_GET, -1},
    {"updt_conn_cnt", VERB_DATA, STICK_DT_CONN_CNT, STICK_OP_ADD, 1},
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

/* table_<name> converters: a GET of one data type (or the trackers). */
static const struct stick_verb conv_verbs[] = {
    {"bytes_in_rate", VERB_DATA, STICK_DT_BYTES_IN_RATE, STICK_OP_GET, 0},
    {"bytes_out_rate", VERB_DATA, STICK_DT_BYTES_OUT_RATE, STICK_OP_GET, 0},
    {"conn_cnt", VERB_DATA, STICK_DT_CONN_CNT, STICK_OP_GET, 0},
    {"conn_cur", VERB_DATA, STICK_DT_CONN_CUR, STICK_OP_GET, 0},
    {"conn_rate", VERB_DATA, STICK_DT_CONN_RATE, STICK_OP_GET, 0},
    {"gpt0", VERB_DATA, STICK_DT_GPT0, STICK_OP_GET, 0},
    {"gpc0", VERB_DATA, STICK_DT_GPC0, STICK_OP_GET, 0},
    {"gpc0_rate", VERB_DATA, STICK_DT_GPC0_RATE, STICK_OP_GET, 0},
    {"gpc1", VERB_DATA, STICK_DT_GPC1, STICK_OP_GET, 0},
    {"gpc1_rate", VERB_DATA, STICK_DT_GPC1_RATE, STICK_OP_GET, 0},
    {"http_err_cnt", VERB_DATA, STICK_DT_HTTP_ERR_CNT, STICK_OP_GET, 0},
    {"http_err_rate", VERB_DATA, STICK_DT_HTTP_ERR_RATE, STICK_OP_GET, 0},
    {"http_req_cnt", VERB_DATA, STICK_DT_HTTP_REQ_CNT, STICK_OP_GET, 0},
    {"http_req_rate", VERB_DATA, STICK_DT_HTTP_REQ_RATE, STICK_OP_GET, 0},
    {"kbytes_in", VERB_KBYTES, STICK_DT_BYTES_IN_CNT, STICK_OP_GET, 0},
    {"kbytes_out", VERB_KBYTES, STICK_DT_BYTES_OUT_CNT, STICK_OP_GET, 0},
    {"server_id", VERB_DATA, STICK_DT_SERVER_ID, STICK_OP_GET, 0},
    {"sess_cnt", VERB_DATA, STICK_DT_SESS_CNT, STICK_OP_GET, 0},
    {"sess_rate", VERB_DATA, STICK_DT_SESS_RATE, STICK_OP_GET, 0},
    {"trackers", VERB_TRACKERS, STICK_DT_COUNT, STICK_OP_GET, 0},
};
#define NCONVS (sizeof(conv_verbs) / sizeof(conv_verbs[0]))

/* Where a fetch finds its entry: counter <ctr> (-1: the first argument),
 * or the source address (SRC). */
#define SRC 3
struct fetch_desc {
    const struct stick_verb *verb;
    int ctr;
};

/* sc_, sc0_, sc1_, sc2_, src_ for each verb, then the end marker. */
static struct fetch_desc descs[5 * NVERBS];
static struct sample_fetch_kw fetch_kws[5 * NVERBS + 3];
static struct sample_conv_kw conv_kws[NCONVS + 2];

/* The table named <name> in the worker's generation, or NULL. */
static struct stick_table *table_named(const char *name)
{
    return stick_table_find(worker_cfg(), name);
}

/* The table of the stream's backend, else of its frontend. */
static struct stick_table *table_default(const struct stream *s)
{
    struct stick_table *t = NULL;

    if (s->be != NULL)
        t = table_named(s->be->name);
    return t != NULL ? t : table_named(s->fe->name);
}

/* The table in string argument <a> (may be ARGT_STOP: <s>'s default). */
static struct stick_table *table_arg(const struct arg *a,
                                     const struct stream *s)
{
    if (a->type == ARGT_STR)
        return table_named(a->data.str.ptr);
    return s != NULL ? table_default(s) : NULL;
}

/* Sets <smp> to the result <v> of <verb>. */
static int verb_result(const struct stick_verb *verb, unsigned long long v,
                       struct sample *smp)
{
    smp->type = SMP_T_SINT;
    smp->data.sint = (long long)(verb->kind == VERB_KBYTES ? v >> 10 : v);
    return 1;
}

/* Runs <verb> on the entry of <k> in <t>. */
static int verb_on_key(const struct stick_verb *verb, struct stick_table *t,
                       const struct stick_key *k, struct sample *smp)
{
    unsigned long long v;
    int refs;

    if (verb->kind == VERB_TRACKERS) {
        refs = stick_key_refs(t, k);
        return verb_result(verb, refs > 0 ? (unsigned)refs : 0, smp);
    }
    if (!stick_key_op(t, k, 1, verb->dt, verb->op, 1, &v))
        return 0;
    return verb_result(verb, v, smp);
}

/* Runs <verb> on tracked counter <c>. */
static int verb_on_ctr(const struct stick_verb *verb, const struct stick_ctr *c,
                       struct sample *smp)
{
    unsigned long long v;

    if (verb->kind == VERB_TRACKERS)
        return verb_result(verb, stick_entry_refs(c->t, c->h), smp);
    if (!stick_entry_op(c->t, c->h, verb->dt, verb->op, 1, &v))
        return 0;
    return verb_result(verb, v, smp);
}

/* The key of the client's address in <t>; 1, or 0. */
static int src_key(struct stream *s, struct stick_table *t,
                   const struct smp_env *env, struct stick_key *k)
{
    const union sess_addr *a = &s->sess->src;
    struct sample smp;

    memset(&smp, 0, sizeof(smp));
    if (a->sa.sa_family == AF_INET) {
        smp.type = SMP_T_IPV4;
        smp.data.ipv4 = a->in4.sin_addr;
    } else if (a->sa.sa_family == AF_INET6) {
        smp.type = SMP_T_IPV6;
        smp.data.ipv6 = a->in6.sin6_addr;
    } else {
        return 0;
    }
    return stick_key_make(t, &smp, env, k);
}

/* src_<verb>([table]). */
static int fetch_src(const struct fetch_desc *d, const struct arg *args,
                     struct sample *smp, const struct smp_env *env)
{
    struct stick_table *t = table_arg(&args[0], env->strm);
    struct stick_key k;

    if (t == NULL || !src_key(env->strm, t, env, &k))
        return 0;
    return verb_on_key(d->verb, t, &k, smp);
}

/* sc_<verb>(ctr[,table]) and scN_<verb>([table]). */
static int fetch_sc(const struct fetch_desc *d, const struct arg *args,
                    struct sample *smp, const struct smp_env *env)
{
    const struct arg *targ = d->ctr < 0 ? &args[1] : &args[0];
    long long n = d->ctr < 0 ? args[0].data.sint : d->ctr;
    const struct stick_ctr *c;
    struct stick_table *t;
    struct stick_key k;

    c = stick_ctr_get(env->strm, (int)n);
    if (d->verb->kind == VERB_TRACKED) {
        smp->type = SMP_T_BOOL;
        smp->data.sint = c != NULL;
        return 1;
    }
    if (c == NULL)
        return 0;
    if (targ->type != ARGT_STR || (t = table_arg(targ, NULL)) == c->t)
        return verb_on_ctr(d->verb, c, smp);
    /* another table: the tracked key, looked up there */
    if (t == NULL || !stick_entry_key(c->t, c->h, &k))
        return 0;
    return verb_on_key(d->verb, t, &k, smp);
}

/* Every sc_*, scN_* and src_* fetch: <priv> says which. */
static int fetch_stick(const struct arg *args, struct sample *smp,
                       const struct smp_env *env, const void *priv)
{
    const struct fetch_desc *d = priv;

    if (env->strm == NULL)
        return 0;
    return d->ctr == SRC ? fetch_src(d, args, smp, env)
                         : fetch_sc(d, args, smp, env);
}

/* table_avl([table]) and table_cnt([table]). */
static int fetch_table_room(const struct arg *args, struct sample *smp,
                            const struct smp_env *env, const void *priv)
{
    struct stick_table *t = table_arg(&args[0], env->strm);
    unsigned used;

    if (t == NULL || t->shm == NULL)
        return 0;
    used = stick_table_used(t);
    smp->type = SMP_T_SINT;
    smp->data.sint = priv != NULL ? (long long)(t->size - used) : used;
    return 1;
}

/* in_table(table) and table_<data>(table): the input is the key. */
static int conv_table(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    const struct stick_verb *verb = priv;
    struct stick_table *t = table_named(args[0].data.str.ptr);
    struct stick_key k;

    if (t == NULL || !stick_key_make(t, smp, env, &k))
        return 0;
    if (verb == NULL) {
        smp->type = SMP_T_BOOL;
        smp->data.sint = stick_key_refs(t, &k) >= 0;
        return 1;
    }
    return verb_on_key(verb, t, &k, smp);
}

/* The load-time check of a table name in <a>: noted, to be found once
 * the configuration is parsed. */
static int check_table(struct arg *a, char **err)
{
    if (a->type == ARGT_STR)
        stick_table_ref_add(a->data.str.ptr);
    return RC_OK;
}

/* The load-time check of fetches and converters whose first argument
 * may name a table. */
static int check_table0(struct arg *args, char **err)
{
    return check_table(&args[0], err);
}

/* The load-time check of sc_*(ctr[,table]): the counter exists. */
static int check_ctr(struct arg *args, char **err)
{
    if (args[0].data.sint < 0 || args[0].data.sint >= STICK_CTRS)
        return set_err(err, "invalid stick counter %lld (expects 0 to %d)",
                       args[0].data.sint, STICK_CTRS - 1);
    return check_table(&args[1], err);
}

/* Adds fetch <name> for <d>. */
static void fetch_add(int i, char *name, const struct fetch_desc *d)
{
    fetch_kws[i] = (struct sample_fetch_kw){
        .name = name,
        .fn = fetch_stick,
        .args = d->ctr < 0 ? "I,S?" : "S?",
        .out = d->verb->kind == VERB_TRACKED ? SMP_T_BOOL : SMP_T_SINT,
        .use = SMP_AVAIL_CONN,
        .priv = d,
        .check = d->ctr < 0 ? check_ctr : check_table0,
    };
}

void stick_fetch_init(void)
{
    static const char *const prefixes[] = {"sc_", "sc0_", "sc1_", "sc2_",
                                           "src_"};
    size_t v;
    int p, n = 0;

    if (fetch_kws[0].name != NULL)
        return;
    for (v = 0; v < NVERBS; v++)
        for (p = 0; p < 5; p++) {
            if ((verbs[v].src_only > 0 && p != SRC + 1) ||
                (verbs[v].src_only < 0 && p == SRC + 1))
                continue;
            descs[n] = (struct fetch_desc){&verbs[v], p - 1};
            fetch_add(n, xasprintf("%s%s", prefixes[p], verbs[v].name),
                      &descs[n]);
            n++;
        }
    fetch_kws[n++] = (struct sample_fetch_kw){.name = "table_avl",
                                              .fn = fetch_table_room,
                                              .args = "S?",
                                              .out = SMP_T_SINT,
                                              .priv = "avl",
                                              .check = check_table0};
    fetch_kws[n] = (struct sample_fetch_kw){.name = "table_cnt",
                                            .fn = fetch_table_room,
                                            .args = "S?",
                                            .out = SMP_T_SINT,
                                            .check = check_table0};
    conv_kws[0] = (struct sample_conv_kw){
        "in_table", conv_table, "S", SMP_T_ANY, SMP_T_BOOL, NULL, check_table0};
    for (v = 0; v < NCONVS; v++)
        conv_kws[v + 1] =
            (struct sample_conv_kw){xasprintf("table_%s", conv_verbs[v].name),
                                    conv_table,
                                    "S",
                                    SMP_T_ANY,
                                    SMP_T_SINT,
                                    &conv_verbs[v],
                                    check_table0};
    sample_register_fetches(fetch_kws);
    sample_register_convs(conv_kws);
}
