/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The http module's entry in main's module list: the http-request,
 * http-response and http-after-response keywords (their actions come from
 * every module's action tables), the error page keywords and section of
 * http_errors.c, and the HTTP registries' rows. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>

#include "core/action.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/proxy.h"
#include "core/util.h"
#include "http/http.h"
#include "http/http_ana.h"
#include "http/http_log.h"

/* "http-request ACTION ...", "http-response ...", "http-after-response". */
static int parse_http_rule(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                           int argc, char **args, char **err)
{
    enum ruleset rs = (enum ruleset)kw->lo;

    return rule_parse(ctx, &ctx->px->rules[rs], rs, argc - 1, args + 1, err);
}

/* "option http-restrict-req-hdr-names preserve|delete|reject". */
static int parse_restrict_hdr_names(struct cfg_ctx *ctx,
                                    const struct cfg_kw *kw, int argc,
                                    char **args, char **err)
{
    static const char *const modes[] = {"preserve", "delete", "reject"};
    int i = argc == 3 ? cfg_word_index(args[2], modes, 3) : -1;

    if (i < 0)
        return set_err(err, "'%s %s' expects 'preserve', 'delete' or 'reject'",
                       args[0], args[1]);
    ctx->px->restrict_hdr_names = i;
    return RC_OK;
}

/* "redirect ..." in a proxy section: an http-request redirect rule. */
static int parse_redirect(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    return rule_parse(ctx, &ctx->px->rules[RULESET_HTTP_REQ], RULESET_HTTP_REQ,
                      argc, args, err);
}

static const struct cfg_kw http_keywords[] = {
    {"redirect", CFG_SEC_FRONTEND | CFG_SEC_LISTEN | CFG_SEC_BACKEND, 2, -1,
     parse_redirect, 0, 0, 0},
    {"http-request", CFG_SEC_NODEF, 1, -1, parse_http_rule, 0, RULESET_HTTP_REQ,
     0},
    {"http-response", CFG_SEC_NODEF, 1, -1, parse_http_rule, 0,
     RULESET_HTTP_RES, 0},
    {"http-after-response", CFG_SEC_NODEF, 1, -1, parse_http_rule, 0,
     RULESET_HTTP_AFTER, 0},
    {"option http-connect", CFG_SEC_BE, 0, 0, cfg_set_flag,
     offsetof(struct proxy, options), PX_OPT_HTTP_CONNECT, 0},
    {"option http-restrict-req-hdr-names", CFG_SEC_PROXY, 1, 1,
     parse_restrict_hdr_names, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

static const struct cfg_kw *const http_keyword_tables[] = {
    http_keywords,        http_act_keywords,
    http_errors_keywords, http_comp_keywords,
    http_cookie_keywords, http_retry_keywords,
    http_stats_keywords,  NULL,
};

/* Fills the registries with what the HTTP layer provides. */
static int http_init(void)
{
    http_act_init();
    http_auth_init();
    http_act_wait_init();
    http_retry_init();
    http_comp_init();
    http_fetch_init();
    http_log_init();
    http_ana_init();
    return RC_OK;
}

const struct module http_module = {
    .name = "http",
    .keywords = http_keyword_tables,
    .sections = http_errors_sections,
    .init = http_init,
    .post_parse = http_errors_post_parse,
    .cfg_free = http_errors_cfg_free,
};
