/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The tcp module's entry in main's module list: "tcp-request connection",
 * "tcp-request session", "tcp-request content", "tcp-request inspect-delay",
 * "tcp-response content", "tcp-response inspect-delay", and the accept/reject
 * actions. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <string.h>

#include "core/action.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/proxy.h"
#include "core/stats.h"
#include "core/util.h"
#include "tcp/tcp.h"
#include "tcp/tcp_ana.h"

#define TCP_RULESETS                                                           \
    (RULESET_BIT(RULESET_TCP_CONN) | RULESET_BIT(RULESET_TCP_SESS) |           \
     RULESET_BIT(RULESET_TCP_CONT) | RULESET_BIT(RULESET_TCP_RES))

/* "tcp-request connection|content|inspect-delay ...". */
static int parse_tcp_request(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    enum ruleset rs;

    if (strcmp(args[1], "inspect-delay") == 0) {
        if (argc != 3)
            return set_err(err, "'tcp-request inspect-delay' expects a "
                                "duration");
        return cfgval_duration_ms(args[2], &ctx->px->inspect_delay, err);
    }
    if (strcmp(args[1], "connection") == 0)
        rs = RULESET_TCP_CONN;
    else if (strcmp(args[1], "content") == 0)
        rs = RULESET_TCP_CONT;
    else if (strcmp(args[1], "session") == 0)
        rs = RULESET_TCP_SESS;
    else
        return set_err(err,
                       "'tcp-request' expects 'connection', 'session', "
                       "'content' or 'inspect-delay', got '%s'",
                       args[1]);
    if (ruleset_of_session(rs) && (ctx->px->cap & 0x1) == 0)
        return set_err(err, "'tcp-request %s' is only allowed in frontends",
                       args[1]);
    return rule_parse(ctx, &ctx->px->rules[rs], rs, argc - 2, args + 2, err);
}

/* "tcp-response content ACTION ...": rules on what the server sends, in
 * backends ("tcp-response inspect-delay" has its own row). */
static int parse_tcp_response(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                              int argc, char **args, char **err)
{
    if (strcmp(args[1], "content") != 0)
        return set_err(err,
                       "'tcp-response' expects 'content' or "
                       "'inspect-delay', got '%s'",
                       args[1]);
    if ((ctx->px->cap & PX_CAP_BE) == 0)
        return set_err(err, "'tcp-response content' is only allowed in "
                            "backends and listen sections");
    return rule_parse(ctx, &ctx->px->rules[RULESET_TCP_RES], RULESET_TCP_RES,
                      argc - 2, args + 2, err);
}

static enum act_ret accept_run(struct rule *r, struct stream *s, unsigned f)
{
    return ACT_RET_STOP;
}

static enum act_ret reject_run(struct rule *r, struct stream *s, unsigned f)
{
    stats_count_reject(s);
    return ACT_RET_ABRT;
}

/* "accept" and "reject". */
static int accept_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                        int *cur, int argc, char **args, char **err)
{
    r->run = strcmp(args[0], "accept") == 0 ? accept_run : reject_run;
    *cur = 1;
    return RC_OK;
}

static const struct action_kw tcp_actions[] = {
    {"accept", TCP_RULESETS, 0, accept_parse},
    {"reject", TCP_RULESETS, 0, accept_parse},
    {NULL, 0, 0, NULL},
};

static const struct cfg_kw tcp_keywords[] = {
    {"tcp-request", CFG_SEC_PROXY & ~CFG_SEC_DEFAULTS, 1, -1, parse_tcp_request,
     0, 0, 0},
    {"tcp-request inspect-delay", CFG_SEC_PROXY, 1, 1, cfg_set_duration,
     offsetof(struct proxy, inspect_delay), 0, 0},
    {"tcp-response", CFG_SEC_NODEF, 1, -1, parse_tcp_response, 0, 0, 0},
    {"tcp-response inspect-delay", CFG_SEC_BE, 1, 1, cfg_set_duration,
     offsetof(struct proxy, res_inspect_delay), 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

static const struct cfg_kw *const tcp_keyword_tables[] = {tcp_keywords, NULL};

/* Fills the registries with what the TCP layer provides. */
static int tcp_init(void)
{
    action_register(tcp_actions);
    tcp_act_init();
    tcp_fetch_init();
    tcp_ana_init();
    return RC_OK;
}

const struct module tcp_module = {
    .name = "tcp",
    .keywords = tcp_keyword_tables,
    .init = tcp_init,
};
