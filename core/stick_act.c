/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Tracking stick counters (core/stick_act.h): the "track-sc0..2",
 * "sc-inc-gpc0/1" and "sc-set-gpt0" actions, the tracking state of
 * streams and sessions, and the counting points of connections, sessions,
 * bytes and (for the protocol layers) HTTP requests and errors. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stick_act.h"
#include "core/stick_table.h"
#include "core/stream.h"
#include "core/util.h"

/* The counters tracked by a stream, or by a session. */
struct stick_trk {
    struct stick_ctr ctr[STICK_CTRS];
};

/* "track-scN KEY [table NAME]" and "sc-*(N) [VALUE]". */
struct stick_act {
    int ctr;
    struct sample_expr *expr; /* the key, or sc-set-gpt0's value */
    long long value;          /* sc-set-gpt0's value without an expr */
    char *table_name;         /* NULL: the rule's proxy's table */
    struct stick_table *t;    /* resolved after parsing (track-sc) */
};

static int stream_slot = -1;

/* The counters <s> tracks itself; created if <create>, else NULL. */
static struct stick_trk *stream_trk(struct stream *s, int create)
{
    if (s->slots[stream_slot] == NULL && create)
        s->slots[stream_slot] = pcalloc(s->pool, sizeof(struct stick_trk));
    return s->slots[stream_slot];
}

/* Releases what session <arg>'s trackers hold (session pool cleanup). */
static void session_trk_release(void *arg)
{
    struct stick_trk *trk = arg;
    int i;

    for (i = 0; i < STICK_CTRS; i++)
        if (trk->ctr[i].t != NULL)
            stick_table_untrack(trk->ctr[i].t, trk->ctr[i].h);
}

/* The counters session <sess> tracks; created if <create>, else NULL. */
static struct stick_trk *session_trk(struct session *sess, int create)
{
    struct stick_trk *trk;

    if (sess->stick != NULL || !create)
        return sess->stick;
    trk = pcalloc(sess->pool, sizeof(*trk));
    if (trk == NULL ||
        pool_cleanup_add(sess->pool, session_trk_release, trk) != RC_OK)
        return NULL;
    return sess->stick = trk;
}

const struct stick_ctr *stick_ctr_get(struct stream *s, int n)
{
    struct stick_trk *trk = stream_trk(s, 0);

    if (trk != NULL && trk->ctr[n].t != NULL)
        return &trk->ctr[n];
    trk = session_trk(s->sess, 0);
    if (trk != NULL && trk->ctr[n].t != NULL)
        return &trk->ctr[n];
    return NULL;
}

/* Adds <n> to <dt> of every counter of <trk> (may be NULL). */
static void trk_add(struct stick_trk *trk, enum stick_dt dt,
                    unsigned long long n)
{
    int i;

    for (i = 0; trk != NULL && i < STICK_CTRS; i++)
        if (trk->ctr[i].t != NULL)
            stick_entry_op(trk->ctr[i].t, trk->ctr[i].h, dt, STICK_OP_ADD, n,
                           NULL);
}

/* Adds <n> to <dt> of every counter <s> sees. */
static void stream_add(struct stream *s, enum stick_dt dt, unsigned long long n)
{
    trk_add(stream_trk(s, 0), dt, n);
    trk_add(session_trk(s->sess, 0), dt, n);
}

void stick_count_http_req(struct stream *s)
{
    stream_add(s, STICK_DT_HTTP_REQ_CNT, 1);
}

void stick_count_http_err(struct stream *s)
{
    stream_add(s, STICK_DT_HTTP_ERR_CNT, 1);
}

void stick_stream_end(struct stream *s)
{
    struct stick_trk *trk;
    unsigned long long in, out;
    int i;

    if (stream_slot < 0 ||
        (stream_trk(s, 0) == NULL && session_trk(s->sess, 0) == NULL))
        return;
    in = stream_bytes_in(s);
    out = stream_bytes_out(s);
    if (in > 0)
        stream_add(s, STICK_DT_BYTES_IN_CNT, in);
    if (out > 0)
        stream_add(s, STICK_DT_BYTES_OUT_CNT, out);
    trk = stream_trk(s, 0);
    for (i = 0; trk != NULL && i < STICK_CTRS; i++)
        if (trk->ctr[i].t != NULL)
            stick_table_untrack(trk->ctr[i].t, trk->ctr[i].h);
}

/* ---- actions */

/* Runs "track-scN KEY": the first rule tracking counter N wins. */
static enum act_ret track_run(struct rule *r, struct stream *s, unsigned flags)
{
    const struct stick_act *a = r->arg;
    int conn = ruleset_of_session(s->cur_rs);
    struct stick_trk *trk;
    struct stick_key k;
    struct smp_env env;
    struct sample smp;
    unsigned long long h;

    if (stick_ctr_get(s, a->ctr) != NULL)
        return ACT_RET_CONT;
    stream_env(s, &env);
    memset(&smp, 0, sizeof(smp));
    if (!sample_expr_eval(a->expr, &env, &smp) ||
        !stick_key_make(a->t, &smp, &env, &k))
        return ACT_RET_CONT;
    trk = conn ? session_trk(s->sess, 1) : stream_trk(s, 1);
    if (trk == NULL || (h = stick_table_track(a->t, &k)) == 0)
        return ACT_RET_CONT;
    trk->ctr[a->ctr].t = a->t;
    trk->ctr[a->ctr].h = h;
    if (conn)
        stick_entry_op(a->t, h, STICK_DT_SESS_CNT, STICK_OP_ADD, 1, NULL);
    /* the request being tracked counts; in HTTP mode the "tcp-request
     * content" rules run once its head is in, after it was counted */
    if (s->cur_rs == RULESET_HTTP_REQ ||
        (s->cur_rs == RULESET_TCP_CONT && s->fe->mode == PX_MODE_HTTP))
        stick_entry_op(a->t, h, STICK_DT_HTTP_REQ_CNT, STICK_OP_ADD, 1, NULL);
    return ACT_RET_CONT;
}

/* Runs "sc-inc-gpc0(N)", "sc-inc-gpc1(N)" and "sc-set-gpt0(N) VALUE". */
static enum act_ret sc_run(struct rule *r, struct stream *s, unsigned flags)
{
    const struct stick_act *a = r->arg;
    const struct stick_ctr *c = stick_ctr_get(s, a->ctr);
    long long v = a->value;
    struct smp_env env;
    struct sample smp;

    if (c == NULL)
        return ACT_RET_CONT;
    if (r->iarg != STICK_DT_GPT0) {
        stick_entry_op(c->t, c->h, (enum stick_dt)r->iarg, STICK_OP_ADD, 1,
                       NULL);
        return ACT_RET_CONT;
    }
    if (a->expr != NULL) {
        stream_env(s, &env);
        memset(&smp, 0, sizeof(smp));
        if (!sample_expr_eval(a->expr, &env, &smp) ||
            !sample_cast(&smp, SMP_T_SINT, &env))
            return ACT_RET_CONT;
        v = smp.data.sint;
    }
    stick_entry_op(c->t, c->h, STICK_DT_GPT0, STICK_OP_SET,
                   (unsigned long long)(v < 0 ? 0 : v), NULL);
    return ACT_RET_CONT;
}

/* Frees what the parse of a track-sc or sc-* rule made. */
static void act_free(struct rule *r)
{
    struct stick_act *a = r->arg;

    if (a == NULL)
        return;
    sample_expr_free(a->expr);
    free(a->table_name);
    free(a);
}

/* Gives rule <r> a fresh argument, run by <run>. */
static struct stick_act *act_new(struct rule *r, action_run_cb run)
{
    struct stick_act *a = xcalloc(1, sizeof(*a));

    r->arg = a;
    r->run = run;
    r->free = act_free;
    return a;
}

/* Parses "track-scN KEY [table NAME]". */
static int track_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                       int *cur, int argc, char **args, char **err)
{
    struct stick_act *a = act_new(r, track_run);

    a->ctr = args[0][8] - '0';
    if (argc < 2 || strcmp(args[1], "if") == 0 ||
        strcmp(args[1], "unless") == 0)
        return set_err(err, "'%s' expects a key expression", args[0]);
    a->expr = sample_expr_parse(args[1], err);
    if (a->expr == NULL)
        return RC_ERR;
    *cur = 2;
    if (argc > 2 && strcmp(args[2], "table") == 0) {
        if (argc < 4)
            return set_err(err, "'%s': 'table' expects a table name", args[0]);
        a->table_name = xstrdup(args[3]);
        *cur = 4;
    }
    return RC_OK;
}

/* Parses "sc-inc-gpc0(N)", "sc-inc-gpc1(N)", "sc-set-gpt0(N) VALUE". */
static int sc_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                    int *cur, int argc, char **args, char **err)
{
    struct stick_act *a = act_new(r, sc_run);
    const char *open = strchr(args[0], '(');

    if (open == NULL || open[1] < '0' || open[1] > '2' || open[2] != ')' ||
        open[3] != '\0')
        return set_err(err,
                       "'%s': expects a counter number 0 to 2 in "
                       "parentheses",
                       args[0]);
    a->ctr = open[1] - '0';
    r->iarg = strncmp(args[0], "sc-inc-gpc0", 11) == 0   ? STICK_DT_GPC0
              : strncmp(args[0], "sc-inc-gpc1", 11) == 0 ? STICK_DT_GPC1
                                                         : STICK_DT_GPT0;
    *cur = 1;
    if (r->iarg != STICK_DT_GPT0)
        return RC_OK;
    if (argc < 2)
        return set_err(err, "'%s' expects a value or an expression", args[0]);
    *cur = 2;
    if (sample_parse_sint(args[1], strlen(args[1]), &a->value))
        return RC_OK;
    a->expr = sample_expr_parse(args[1], err);
    return a->expr != NULL ? RC_OK : RC_ERR;
}

#define TRACK_RULESETS                                                         \
    (RULESET_BIT(RULESET_TCP_CONN) | RULESET_BIT(RULESET_TCP_SESS) |           \
     RULESET_BIT(RULESET_TCP_CONT) | RULESET_BIT(RULESET_HTTP_REQ) |           \
     RULESET_BIT(RULESET_HTTP_RES))
#define SC_RULESETS                                                            \
    (TRACK_RULESETS | RULESET_BIT(RULESET_TCP_RES) |                           \
     RULESET_BIT(RULESET_HTTP_AFTER))

static const struct action_kw stick_actions[] = {
    {"track-sc0", TRACK_RULESETS, 0, track_parse},
    {"track-sc1", TRACK_RULESETS, 0, track_parse},
    {"track-sc2", TRACK_RULESETS, 0, track_parse},
    {"sc-inc-gpc0(", SC_RULESETS, 1, sc_parse},
    {"sc-inc-gpc1(", SC_RULESETS, 1, sc_parse},
    {"sc-set-gpt0(", SC_RULESETS, 1, sc_parse},
    {NULL, 0, 0, NULL},
};

/* Resolves the table of track rule <r> of proxy <px>; 1 if it failed. */
static int track_resolve(struct cfg *cfg, struct proxy *px, struct rule *r)
{
    struct stick_act *a = r->arg;
    const char *name = a->table_name ? a->table_name : px->name;

    a->t = stick_table_find(cfg, name);
    if (a->t != NULL)
        return 0;
    if (a->table_name != NULL)
        log_alert("%s:%d: '%s': unable to find table '%s'", r->file, r->line,
                  r->kw->name, name);
    else
        log_alert("%s:%d: '%s': %s '%s' has no stick-table; name one with "
                  "'table NAME'",
                  r->file, r->line, r->kw->name, proxy_cap_name(px), px->name);
    return 1;
}

int stick_act_check(struct cfg *cfg)
{
    struct proxy *px;
    struct rule *r;
    int rs, errors = 0;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (rs = 0; rs < RULESET_COUNT; rs++)
            for (r = px->rules[rs].first; r != NULL; r = r->next)
                if (r->run == track_run)
                    errors += track_resolve(cfg, px, r);
    return errors;
}

void stick_act_init(void)
{
    if (stream_slot < 0)
        stream_slot = stream_slot_register();
    action_register(stick_actions);
}
