/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The "set-var(scope.name[,cond...]) EXPR", "set-var-fmt(scope.name
 * [,cond...]) FMT" (a log-format string, stored as a string) and
 * "unset-var(scope.name)" actions, in every ruleset, and the global
 * section's "set-var proc.NAME EXPR" and "set-var-fmt proc.NAME FMT". */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/logformat.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/vars.h"

#define VAR_ACT_FMT_MAX 8192 /* bytes of a set-var-fmt value */

struct var_act {
    enum vars_scope scope;
    char *name;
    unsigned cond;            /* VARS_IF_* */
    struct sample_expr *expr; /* set-var */
    struct logformat *fmt;    /* set-var-fmt; neither: unset-var */
};

/* Evaluates the value of set-var-fmt into <smp>, a string in <buf>. */
static void var_act_render(const struct var_act *va, struct stream *s,
                           char *buf, size_t size, struct sample *smp)
{
    smp->type = SMP_T_STR;
    smp->data.str.ptr = buf;
    smp->data.str.len = logformat_render(va->fmt, s, buf, size);
}

/* Runs set-var / set-var-fmt / unset-var. */
static enum act_ret var_act_run(struct rule *r, struct stream *s,
                                unsigned flags)
{
    const struct var_act *va = r->arg;
    struct vars *v = stream_vars(s, va->scope);
    char buf[VAR_ACT_FMT_MAX];
    struct smp_env env;
    struct sample smp;

    if (v == NULL)
        return ACT_RET_CONT;
    if (va->expr == NULL && va->fmt == NULL) {
        vars_unset(v, ist_from(va->name));
        return ACT_RET_CONT;
    }
    memset(&smp, 0, sizeof(smp));
    if (va->fmt != NULL) {
        var_act_render(va, s, buf, sizeof(buf), &smp);
    } else {
        stream_env(s, &env);
        if (!sample_expr_eval(va->expr, &env, &smp))
            return ACT_RET_CONT;
    }
    vars_set_cond(v, ist_from(va->name), &smp, va->cond);
    return ACT_RET_CONT;
}

static void var_act_free(struct rule *r)
{
    struct var_act *va = r->arg;

    if (va == NULL)
        return;
    sample_expr_free(va->expr);
    logformat_free(va->fmt);
    free(va->name);
    free(va);
}

/* Parses "scope.name[,cond...]", the <len> bytes at <s>, into <va>;
 * conditions only when <conds>. */
static int var_act_parse_target(struct var_act *va, const char *s, size_t len,
                                int conds, char **err)
{
    const char *end = s + len, *comma = memchr(s, ',', len);
    struct ist name;

    if (comma != NULL && !conds)
        return set_err(err, "'unset-var' does not take conditions");
    if (vars_parse_name(s, (size_t)((comma ? comma : end) - s), &va->scope,
                        &name, err) != RC_OK)
        return RC_ERR;
    va->name = xstrndup(name.ptr, name.len);
    while (comma != NULL) {
        s = comma + 1;
        comma = memchr(s, ',', (size_t)(end - s));
        if (vars_parse_cond(s, (size_t)((comma ? comma : end) - s), &va->cond,
                            err) != RC_OK)
            return RC_ERR;
    }
    return RC_OK;
}

/* Parses "set-var(scope.name[,cond...]) EXPR", "set-var-fmt(scope.name
 * [,cond...]) FMT" or "unset-var(scope.name)". */
static int var_act_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                         int *cur, int argc, char **args, char **err)
{
    const char *open = strchr(args[0], '(');
    const char *close = strrchr(args[0], ')');
    int kwlen = (int)(open - args[0]);
    int unset = args[0][0] == 'u',
        fmt = strncmp(args[0], "set-var-fmt(", 12) == 0;
    unsigned flags = 0;
    struct var_act *va;

    if (close == NULL || close < open || close[1] != '\0')
        return set_err(err, "'%s': expects '%.*s(scope.name)'", args[0], kwlen,
                       args[0]);
    va = xcalloc(1, sizeof(*va));
    r->arg = va;
    r->free = var_act_free;
    r->run = var_act_run;
    if (var_act_parse_target(va, open + 1, (size_t)(close - open - 1), !unset,
                             err) != RC_OK)
        return RC_ERR;
    *cur = 1;
    if (unset)
        return RC_OK;
    if (fmt) {
        /* HAProxy takes a missing format as an empty one */
        if (rs <= RULESET_HTTP_AFTER || ctx->px->mode == PX_MODE_HTTP)
            flags |= LF_PARSE_HTTP_MODE;
        va->fmt = logformat_parse(argc > 1 ? args[1] : "", flags, err);
        *cur = argc > 1 ? 2 : 1;
        return va->fmt != NULL ? RC_OK : RC_ERR;
    }
    if (argc < 2)
        return set_err(err, "'%s' expects a sample expression", args[0]);
    va->expr = sample_expr_parse(args[1], err);
    if (va->expr == NULL)
        return RC_ERR;
    *cur = 2;
    return RC_OK;
}

/* Stores <smp> as the process variable <name>, here and in <cfg> for its
 * workers. */
static int global_var_store(struct cfg *cfg, struct ist name,
                            const struct sample *smp, char **err)
{
    if (vars_set(vars_proc(), name, smp) != RC_OK ||
        vars_set(&cfg->proc_vars, name, smp) != RC_OK)
        return set_err(err, "out of memory");
    return RC_OK;
}

/* Sets <name> to the value of the format <text>, rendered without a
 * stream. */
static int global_var_fmt(struct cfg *cfg, struct ist name, const char *text,
                          char **err)
{
    struct var_act va = {.fmt = NULL, .expr = NULL};
    char buf[VAR_ACT_FMT_MAX];
    struct sample smp;
    int rc;

    va.fmt = logformat_parse(text, LF_PARSE_CONST, err);
    if (va.fmt == NULL)
        return RC_ERR;
    memset(&smp, 0, sizeof(smp));
    var_act_render(&va, NULL, buf, sizeof(buf), &smp);
    rc = global_var_store(cfg, name, &smp, err);
    logformat_free(va.fmt);
    return rc;
}

/* Sets <name> to the value of the constant expression <text>; an
 * expression that gives none leaves it unset, as HAProxy does. */
static int global_var_expr(struct cfg *cfg, struct ist name, const char *text,
                           char **err)
{
    struct sample_expr *e = sample_expr_parse(text, err);
    struct smp_env env = {.pool = NULL, .opt = SMP_OPT_FINAL};
    struct sample smp;
    int rc = RC_OK;

    if (e == NULL)
        return RC_ERR;
    if (!sample_expr_const(e)) {
        sample_expr_free(e);
        return set_err(err,
                       "'%s' needs a stream: only constant expressions are "
                       "allowed in the global section",
                       text);
    }
    env.pool = pool_new(4096);
    memset(&smp, 0, sizeof(smp));
    if (sample_expr_eval(e, &env, &smp))
        rc = global_var_store(cfg, name, &smp, err);
    pool_free(env.pool);
    sample_expr_free(e);
    return rc;
}

/* "set-var proc.NAME EXPR" and "set-var-fmt proc.NAME FMT" in the global
 * section: evaluated now, as HAProxy does; the value goes to the
 * generation, whose workers start with it, and to this process for the
 * lines and the Lua code that follow. */
static int parse_global_set_var(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                                int argc, char **args, char **err)
{
    enum vars_scope scope;
    struct ist name;

    if (vars_parse_name(args[1], strlen(args[1]), &scope, &name, err) != RC_OK)
        return RC_ERR;
    if (scope != VARS_SCOPE_PROC)
        return set_err(err,
                       "'%s': only process-wide variables ('proc.') may be "
                       "set in the global section",
                       args[0]);
    if (strcmp(args[0], "set-var-fmt") == 0)
        return global_var_fmt(ctx->cfg, name, args[2], err);
    return global_var_expr(ctx->cfg, name, args[2], err);
}

const struct cfg_kw vars_act_keywords[] = {
    {"set-var", CFG_SEC_GLOBAL, 2, 2, parse_global_set_var, 0, 0, 0},
    {"set-var-fmt", CFG_SEC_GLOBAL, 2, 2, parse_global_set_var, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

#define ALL_RULESETS ((1u << RULESET_COUNT) - 1)

static const struct action_kw var_actions[] = {
    {"set-var(", ALL_RULESETS, 1, var_act_parse},
    {"set-var-fmt(", ALL_RULESETS, 1, var_act_parse},
    {"unset-var(", ALL_RULESETS, 1, var_act_parse},
    {NULL, 0, 0, NULL},
};

void vars_act_init(void)
{
    action_register(var_actions);
}
