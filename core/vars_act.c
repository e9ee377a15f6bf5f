/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The "set-var(scope.name) EXPR" and "unset-var(scope.name)" actions, in
 * every ruleset. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cfgparse.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/vars.h"

struct var_act {
    enum vars_scope scope;
    char *name;
    struct sample_expr *expr; /* NULL for unset-var */
};

/* Runs set-var / unset-var. */
static enum act_ret var_act_run(struct rule *r, struct stream *s,
                                unsigned flags)
{
    const struct var_act *va = r->arg;
    struct vars *v = stream_vars(s, va->scope);
    struct smp_env env;
    struct sample smp;

    if (v == NULL)
        return ACT_RET_CONT;
    if (va->expr == NULL) {
        vars_unset(v, ist_from(va->name));
        return ACT_RET_CONT;
    }
    stream_env(s, &env);
    memset(&smp, 0, sizeof(smp));
    if (sample_expr_eval(va->expr, &env, &smp))
        vars_set(v, ist_from(va->name), &smp);
    return ACT_RET_CONT;
}

static void var_act_free(struct rule *r)
{
    struct var_act *va = r->arg;

    if (va == NULL)
        return;
    sample_expr_free(va->expr);
    free(va->name);
    free(va);
}

/* Parses "set-var(scope.name) EXPR" or "unset-var(scope.name)". */
static int var_act_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                         int *cur, int argc, char **args, char **err)
{
    int unset = args[0][0] == 'u';
    const char *open = strchr(args[0], '(');
    const char *close = strrchr(args[0], ')');
    struct var_act *va;
    struct ist name;

    if (open == NULL || close == NULL || close < open || close[1] != '\0')
        return set_err(err, "'%s': expects '%s(scope.name)'", args[0],
                       unset ? "unset-var" : "set-var");
    va = xcalloc(1, sizeof(*va));
    r->arg = va;
    r->free = var_act_free;
    r->run = var_act_run;
    if (vars_parse_name(open + 1, (size_t)(close - open - 1), &va->scope, &name,
                        err) != RC_OK)
        return RC_ERR;
    va->name = xstrndup(name.ptr, name.len);
    *cur = 1;
    if (unset)
        return RC_OK;
    if (argc < 2)
        return set_err(err, "'%s' expects a sample expression", args[0]);
    va->expr = sample_expr_parse(args[1], err);
    if (va->expr == NULL)
        return RC_ERR;
    *cur = 2;
    return RC_OK;
}

#define ALL_RULESETS ((1u << RULESET_COUNT) - 1)

static const struct action_kw var_actions[] = {
    {"set-var(", ALL_RULESETS, 1, var_act_parse},
    {"unset-var(", ALL_RULESETS, 1, var_act_parse},
    {NULL, 0, 0, NULL},
};

void vars_act_init(void)
{
    action_register(var_actions);
}
