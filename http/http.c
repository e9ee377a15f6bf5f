/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The http module's entry in main's module list: the http-request,
 * http-response and http-after-response keywords (their actions come from
 * every module's action tables), and the HTTP registries' rows. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdlib.h>

#include "core/action.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/util.h"
#include "core/proxy.h"
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

/* "redirect ..." in a proxy section: an http-request redirect rule. */
static int parse_redirect(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    return rule_parse(ctx, &ctx->px->rules[RULESET_HTTP_REQ], RULESET_HTTP_REQ,
                      argc, args, err);
}

/* "errorfile CODE FILE": the file holds a whole HTTP response, checked
 * here so that a broken one is a configuration error, not a bad answer. */
static int parse_errorfile(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                           int argc, char **args, char **err)
{
    struct h1_msg *m;
    struct errorfile *e, **pe;
    long long code;
    char *raw;
    size_t len;
    int rc;

    if (cfgval_int(args[1], 200, 599, &code, err) != RC_OK ||
        file_read_all(args[2], &raw, &len, err) != RC_OK)
        return RC_ERR;
    m = xmalloc(sizeof(*m));
    h1_msg_init(m, NULL);
    rc = h1_parse_response(m, raw, len);
    if (rc != RC_OK) {
        free(m);
        free(raw);
        return set_err(err, "errorfile '%s' is not a valid HTTP response",
                       args[2]);
    }
    e = xcalloc(1, sizeof(*e));
    e->status = (int)code;
    e->raw = raw;
    e->len = len;
    e->framed = (m->flags & H1_MF_CLEN) && m->head_len + m->body_len == len;
    free(m);
    for (pe = &ctx->px->errorfiles; *pe != NULL; pe = &(*pe)->next)
        ;
    *pe = e;
    return RC_OK;
}

static const struct cfg_kw http_keywords[] = {
    {"errorfile", CFG_SEC_PROXY, 2, 2, parse_errorfile, 0, 0, 0},
    {"redirect", CFG_SEC_FRONTEND | CFG_SEC_LISTEN | CFG_SEC_BACKEND, 2, -1,
     parse_redirect, 0, 0, 0},
    {"http-request", CFG_SEC_NODEF, 1, -1, parse_http_rule, 0, RULESET_HTTP_REQ,
     0},
    {"http-response", CFG_SEC_NODEF, 1, -1, parse_http_rule, 0,
     RULESET_HTTP_RES, 0},
    {"http-after-response", CFG_SEC_NODEF, 1, -1, parse_http_rule, 0,
     RULESET_HTTP_AFTER, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

static const struct cfg_kw *const http_keyword_tables[] = {
    http_keywords, http_act_keywords, NULL};

/* Fills the registries with what the HTTP layer provides. */
static int http_init(void)
{
    http_act_init();
    http_fetch_init();
    http_log_init();
    http_ana_init();
    return RC_OK;
}

const struct module http_module = {
    .name = "http",
    .keywords = http_keyword_tables,
    .init = http_init,
};
