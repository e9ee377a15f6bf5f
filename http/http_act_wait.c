/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP actions about time: "wait-for-body", which holds the request rules
 * until the body is in (sharing the wait of "option http-buffer-request"),
 * and "set-timeout", which changes the server, tunnel or client timeout of
 * one stream (core/stream.h stream_timeout). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/stream_timer.h"
#include "core/util.h"
#include "http/http.h"
#include "http/http_ana.h"

/* "wait-for-body time T [at-least SIZE]". */
struct wait_body_act {
    unsigned ms;
    size_t at_least; /* 0: the whole body (or a buffer full) */
};

/* Yields until the body is in, or <at_least> of it, or the client closed;
 * after <ms> of waiting answers 408 as HAProxy does (a client timeout, the
 * request never processed: TR -1). */
static enum act_ret wait_body_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct wait_body_act *wb = r->arg;
    struct http_txn *txn = http_txn_get(s);
    int rc;

    if (txn == NULL || !http_req_body_waiting(txn, wb->at_least)) {
        stream_timer_stop(s);
        return ACT_RET_CONT;
    }
    rc = (f & ACT_FLAG_FINAL) ? 1 : stream_timer_wait(s, wb->ms);
    if (rc < 0)
        return ACT_RET_ERR;
    if (rc == 0)
        return ACT_RET_YIELD;
    http_txn_term(s, 'c');
    s->times.req = -1;
    http_reply_error(s, 408);
    return ACT_RET_DONE;
}

static void wait_body_free(struct rule *r)
{
    free(r->arg);
}

static int wait_body_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                           int *cur, int argc, char **args, char **err)
{
    struct wait_body_act *wb;
    unsigned long long size = 0;
    unsigned ms;
    int i = 3;

    if (argc < 3 || strcmp(args[1], "time") != 0)
        return set_err(err, "'wait-for-body' expects 'time <time>'");
    if (cfgval_duration_ms(args[2], &ms, err) != RC_OK)
        return RC_ERR;
    if (i < argc && strcmp(args[i], "at-least") == 0) {
        if (i + 1 >= argc)
            return set_err(err, "'at-least' expects a size");
        if (cfgval_size(args[i + 1], &size, err) != RC_OK)
            return RC_ERR;
        i += 2;
    }
    wb = xcalloc(1, sizeof(*wb));
    wb->ms = ms;
    wb->at_least = (size_t)size;
    r->arg = wb;
    r->free = wait_body_free;
    r->run = wait_body_run;
    stream_timer_init();
    *cur = i;
    return RC_OK;
}

/* "set-timeout server|tunnel|client TIMEOUT|EXPR". */
struct set_timeout_act {
    enum stream_tmo which;
    unsigned ms;              /* a fixed value, or */
    struct sample_expr *expr; /* one taken per stream, in ms */
};

static void set_timeout_free(struct rule *r)
{
    struct set_timeout_act *ta = r->arg;

    if (ta == NULL)
        return;
    sample_expr_free(ta->expr);
    free(ta);
}

/* An expression without a positive integer leaves the timeout as it is:
 * HAProxy needs a non-null one. */
static enum act_ret set_timeout_run(struct rule *r, struct stream *s,
                                    unsigned f)
{
    const struct set_timeout_act *ta = r->arg;
    unsigned ms = ta->ms;
    struct smp_env env;
    struct sample smp;

    if (ta->expr != NULL) {
        stream_env(s, &env);
        memset(&smp, 0, sizeof(smp));
        if (!sample_expr_eval(ta->expr, &env, &smp) ||
            !sample_cast(&smp, SMP_T_SINT, &env) || smp.data.sint <= 0)
            return ACT_RET_CONT;
        ms = smp.data.sint > INT_MAX ? INT_MAX : (unsigned)smp.data.sint;
    }
    s->tmo[ta->which] = ms;
    if (ta->which == STREAM_TMO_CLIENT)
        stream_client_timeout_apply(s);
    return ACT_RET_CONT;
}

static int set_timeout_parse(struct cfg_ctx *ctx, struct rule *r,
                             enum ruleset rs, int *cur, int argc, char **args,
                             char **err)
{
    static const char *const names[] = {"server", "tunnel", "client"};
    struct set_timeout_act *ta;
    char *derr = NULL;
    int which;

    if (argc < 3)
        return set_err(err, "'set-timeout' expects 'server', 'tunnel' or "
                            "'client' and a timeout or an expression");
    for (which = 0; which < STREAM_TMO_COUNT; which++)
        if (strcmp(args[1], names[which]) == 0)
            break;
    if (which == STREAM_TMO_COUNT)
        return set_err(err,
                       "'set-timeout' expects 'server', 'tunnel' or "
                       "'client', got '%s'",
                       args[1]);
    if (!(ctx->px->cap & (which == STREAM_TMO_CLIENT ? PX_CAP_FE : PX_CAP_BE)))
        return set_err(err, "'set-timeout %s': proxy '%s' has no %s capability",
                       args[1], ctx->px->name,
                       which == STREAM_TMO_CLIENT ? "frontend" : "backend");
    ta = xcalloc(1, sizeof(*ta));
    ta->which = (enum stream_tmo)which;
    r->arg = ta;
    r->free = set_timeout_free;
    r->run = set_timeout_run;
    *cur = 3;
    if (cfgval_duration_ms(args[2], &ta->ms, &derr) == RC_OK) {
        if (ta->ms == 0)
            return set_err(err, "'set-timeout' needs a non-null timeout");
        return RC_OK;
    }
    free(derr);
    ta->expr = sample_expr_parse(args[2], err);
    return ta->expr != NULL ? RC_OK : RC_ERR;
}

static const struct action_kw http_wait_actions[] = {
    {"wait-for-body", RULESET_BIT(RULESET_HTTP_REQ), 0, wait_body_parse},
    {"set-timeout", RULESET_BIT(RULESET_HTTP_REQ), 0, set_timeout_parse},
    {NULL, 0, 0, NULL},
};

void http_act_wait_init(void)
{
    action_register(http_wait_actions);
}
