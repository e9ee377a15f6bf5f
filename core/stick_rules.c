/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sticking rules (core/stick_rules.h). A server is remembered by its id
 * ("id", or HAProxy's automatic number). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/acl.h"
#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/lb.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/stick_rules.h"
#include "core/stick_table.h"
#include "core/stream.h"
#include "core/util.h"

#define STICK_MATCH     0x1
#define STICK_STORE_REQ 0x2
#define STICK_STORE_RES 0x4

struct stick_rule {
    struct stick_rule *next;
    unsigned flags; /* STICK_* */
    struct sample_expr *expr;
    char *table_name; /* NULL: the backend's own table */
    struct stick_table *t;
    struct acl_cond *cond;
    const char *file;
    int line;
};

/* At most this many keys a stream stores, as in HAProxy. */
#define STICK_STORES 8

/* What a stream keeps between its request and the server's answer. */
struct stick_pending {
    int n;
    struct {
        struct stick_table *t;
        unsigned len;
        unsigned char *data;
    } key[STICK_STORES];
};

static int stream_slot = -1;

static const struct {
    const char *word;
    unsigned flags;
} stick_kinds[] = {
    {"on", STICK_MATCH | STICK_STORE_REQ},
    {"match", STICK_MATCH},
    {"store-request", STICK_STORE_REQ},
    {"store-response", STICK_STORE_RES},
};

void stick_rules_free(struct stick_rule *r)
{
    struct stick_rule *next;

    for (; r != NULL; r = next) {
        next = r->next;
        sample_expr_free(r->expr);
        free(r->table_name);
        acl_cond_free(r->cond);
        free(r);
    }
}

/* Parses the words after "stick KIND EXPR" into <r>. */
static int stick_rule_opts(struct cfg_ctx *ctx, struct stick_rule *r, int argc,
                           char **args, char **err)
{
    int i = 3;

    if (i < argc && strcmp(args[i], "table") == 0) {
        if (i + 1 >= argc)
            return set_err(err, "'stick %s': 'table' expects a table name",
                           args[1]);
        r->table_name = xstrdup(args[i + 1]);
        i += 2;
    }
    return rule_cond_parse(ctx, i, argc, args, &r->cond, err);
}

int stick_rules_parse(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                      char **args, char **err)
{
    struct stick_rule *r, **tail = &ctx->px->sticking;
    size_t k = 0;

    while (k < sizeof(stick_kinds) / sizeof(stick_kinds[0]) &&
           strcmp(stick_kinds[k].word, args[1]) != 0)
        k++;
    if (k == sizeof(stick_kinds) / sizeof(stick_kinds[0]))
        return set_err(err,
                       "'stick' expects 'on', 'match', 'store-request' or "
                       "'store-response', got '%s'",
                       args[1]);
    if (argc < 3)
        return set_err(err, "'stick %s' expects a sample expression", args[1]);
    r = xcalloc(1, sizeof(*r));
    r->flags = stick_kinds[k].flags;
    r->file = ctx->file;
    r->line = ctx->line;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = r;
    r->expr = sample_expr_parse(args[2], err);
    if (r->expr == NULL)
        return RC_ERR;
    return stick_rule_opts(ctx, r, argc, args, err);
}

int stick_rules_check(struct cfg *cfg)
{
    struct stick_rule *r;
    struct proxy *px;
    int errors = 0;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (r = px->sticking; r != NULL; r = r->next) {
            const char *name = r->table_name ? r->table_name : px->name;

            r->t = stick_table_find(cfg, name);
            if (r->t == NULL) {
                log_alert("%s:%d: 'stick': unable to find table '%s'", r->file,
                          r->line, name);
                errors++;
                continue;
            }
            /* HAProxy stores server_id in a table sticking rules use */
            if (r->t->off[STICK_DT_SERVER_ID] < 0)
                r->t->off[STICK_DT_SERVER_ID] = 0;
        }
    if (errors == 0 && stream_slot < 0)
        stream_slot = stream_slot_register();
    return errors;
}

/* The key <r> makes of the request (or response) of <s>, or 0. */
static int rule_key(const struct stick_rule *r, struct stream *s, int res,
                    struct stick_key *k)
{
    struct smp_env env;
    struct sample smp;

    stream_env(s, &env);
    if (res) {
        env.avail |= SMP_AVAIL_RES;
        env.dir = 1;
    }
    if (r->cond != NULL && acl_cond_exec(r->cond, &env) != ACL_PASS)
        return 0;
    memset(&smp, 0, sizeof(smp));
    return sample_expr_eval(r->expr, &env, &smp) &&
           stick_key_make(r->t, &smp, &env, k);
}

/* The server of <px> whose id is <id>, or NULL. */
static struct server *server_by_id(const struct proxy *px,
                                   unsigned long long id)
{
    struct server *srv = px->servers;

    while (srv != NULL && (unsigned long long)srv->puid != id)
        srv = srv->next;
    return srv;
}

/* Keeps key <k> of <t> in the pending stores of <s>. */
static void pending_add(struct stream *s, struct stick_table *t,
                        const struct stick_key *k)
{
    struct stick_pending *p = s->slots[stream_slot];

    if (p == NULL)
        p = s->slots[stream_slot] = pcalloc(s->pool, sizeof(*p));
    if (p == NULL || p->n == STICK_STORES)
        return;
    p->key[p->n].data = palloc(s->pool, k->len ? k->len : 1);
    if (p->key[p->n].data == NULL)
        return;
    memcpy(p->key[p->n].data, k->data, k->len);
    p->key[p->n].len = k->len;
    p->key[p->n++].t = t;
}

/* A match found <srv> for <s>: it goes there if it takes persistent
 * traffic (or the backend says "option persist"), as in HAProxy. */
static int match_takes(struct stream *s, struct server *srv)
{
    if (srv == NULL ||
        !(server_takes_persistent(srv) || (s->be->options & PX_OPT_PERSIST)))
        return 0;
    s->prefer = srv;
    return 1;
}

void stick_rules_request(struct stream *s)
{
    const struct stick_rule *r;
    struct stick_key k;
    unsigned long long id;
    int matched = s->prefer != NULL; /* a cookie chose already */

    if (s->be == NULL || s->be->sticking == NULL ||
        s->slots[stream_slot] != NULL)
        return;
    /* an empty record marks the rules as run for this stream */
    s->slots[stream_slot] = pcalloc(s->pool, sizeof(struct stick_pending));
    for (r = s->be->sticking; r != NULL; r = r->next) {
        if (!(r->flags & (STICK_MATCH | STICK_STORE_REQ)) ||
            !rule_key(r, s, 0, &k))
            continue;
        if ((r->flags & STICK_MATCH) && !matched &&
            stick_key_op(r->t, &k, 0, STICK_DT_SERVER_ID, STICK_OP_GET, 0,
                         &id) &&
            id > 0)
            matched = match_takes(s, server_by_id(s->be, id));
        if (r->flags & STICK_STORE_REQ)
            pending_add(s, r->t, &k);
    }
}

void stick_rules_response(struct stream *s)
{
    const struct stick_rule *r;
    struct stick_pending *p;
    struct stick_key k;
    unsigned long long id;
    int i;

    if (s->be == NULL || s->be->sticking == NULL || s->srv == NULL)
        return;
    for (r = s->be->sticking; r != NULL; r = r->next)
        if ((r->flags & STICK_STORE_RES) && rule_key(r, s, 1, &k))
            pending_add(s, r->t, &k);
    p = s->slots[stream_slot];
    id = (unsigned long long)s->srv->puid;
    for (i = 0; p != NULL && i < p->n; i++) {
        k.len = p->key[i].len;
        memcpy(k.data, p->key[i].data, k.len);
        stick_key_op(p->key[i].t, &k, 1, STICK_DT_SERVER_ID, STICK_OP_SET, id,
                     NULL);
    }
    if (p != NULL)
        p->n = 0; /* stored once */
}
