/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The action registry and the rule runner shared by every ruleset. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/acl.h"
#include "core/action.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"

#define ACTION_MAX_TABLES 16

static const struct action_kw *action_tables[ACTION_MAX_TABLES];
static int action_ntables;

static const char *const ruleset_names[RULESET_COUNT] = {
    [RULESET_HTTP_REQ] = "http-request",
    [RULESET_HTTP_RES] = "http-response",
    [RULESET_HTTP_AFTER] = "http-after-response",
    [RULESET_TCP_CONN] = "tcp-request connection",
    [RULESET_TCP_SESS] = "tcp-request session",
    [RULESET_TCP_CONT] = "tcp-request content",
    [RULESET_TCP_RES] = "tcp-response content",
};

void action_register(const struct action_kw *tbl)
{
    if (action_ntables < ACTION_MAX_TABLES)
        action_tables[action_ntables++] = tbl;
}

/* Returns 1 if <kw> is named by <word>. */
static int action_matches(const struct action_kw *kw, const char *word)
{
    if (kw->prefix)
        return strncmp(word, kw->name, strlen(kw->name)) == 0;
    return strcmp(word, kw->name) == 0;
}

const struct action_kw *action_find(enum ruleset rs, const char *word)
{
    const struct action_kw *kw;
    int i;

    for (i = 0; i < action_ntables; i++)
        for (kw = action_tables[i]; kw->name != NULL; kw++)
            if ((kw->rulesets & RULESET_BIT(rs)) && action_matches(kw, word))
                return kw;
    return NULL;
}

int action_exists(const char *word)
{
    int rs;

    for (rs = 0; rs < RULESET_COUNT; rs++)
        if (action_find(rs, word) != NULL)
            return 1;
    return 0;
}

void rule_list_init(struct rule_list *l)
{
    l->first = NULL;
    l->tail = &l->first;
}

void rule_list_free(struct rule_list *l)
{
    struct rule *r, *next;

    for (r = l->first; r != NULL; r = next) {
        next = r->next;
        if (r->free != NULL)
            r->free(r);
        acl_cond_free(r->cond);
        free(r->file);
        free(r);
    }
    rule_list_init(l);
}

int rule_cond_parse(struct cfg_ctx *ctx, int i, int argc, char **args,
                    struct acl_cond **cond, char **err)
{
    int unless;

    *cond = NULL;
    if (i >= argc)
        return RC_OK;
    unless = strcmp(args[i], "unless") == 0;
    if (!unless && strcmp(args[i], "if") != 0)
        return set_err(err, "unexpected word '%s' (expects 'if' or 'unless')",
                       args[i]);
    if (i + 1 >= argc)
        return set_err(err, "missing condition after '%s'", args[i]);
    *cond =
        acl_cond_parse(&ctx->px->acls, argc - i - 1, args + i + 1, unless, err);
    return *cond ? RC_OK : RC_ERR;
}

int rule_parse(struct cfg_ctx *ctx, struct rule_list *l, enum ruleset rs,
               int argc, char **args, char **err)
{
    const struct action_kw *kw;
    struct rule *r;
    int cur = 0;

    if (argc < 1)
        return set_err(err, "'%s' expects an action", ruleset_names[rs]);
    kw = action_find(rs, args[0]);
    if (kw == NULL) {
        if (action_exists(args[0]))
            return set_err(err, "action '%s' is not allowed in '%s' rules",
                           args[0], ruleset_names[rs]);
        return set_err(err, "unknown action '%s' in '%s' rules", args[0],
                       ruleset_names[rs]);
    }
    r = xcalloc(1, sizeof(*r));
    r->kw = kw;
    r->file = xstrdup(ctx->file);
    r->line = ctx->line;
    if (kw->parse(ctx, r, rs, &cur, argc, args, err) != RC_OK ||
        rule_cond_parse(ctx, cur, argc, args, &r->cond, err) != RC_OK) {
        if (r->free != NULL)
            r->free(r);
        free(r->file);
        free(r);
        return RC_ERR;
    }
    *l->tail = r;
    l->tail = &r->next;
    return RC_OK;
}

/* Tests <r>'s condition: ACT_RET_CONT to run it, ACT_RET_STOP to skip it,
 * ACT_RET_YIELD when data is missing and waiting is allowed. */
static enum act_ret rule_cond_test(const struct rule *r,
                                   const struct smp_env *env, unsigned flags)
{
    int res;

    if (r->cond == NULL)
        return ACT_RET_CONT;
    res = acl_cond_exec(r->cond, env);
    if (res == ACL_MISS)
        return (flags & ACT_FLAG_FINAL) ? ACT_RET_STOP : ACT_RET_YIELD;
    return res == ACL_PASS ? ACT_RET_CONT : ACT_RET_STOP;
}

enum act_ret rules_exec(const struct rule_list *l, struct rule_cursor *cur,
                        struct stream *s, const struct smp_env *env,
                        unsigned flags)
{
    struct rule *r = cur->cur ? cur->cur : l->first;
    int resuming = cur->cur != NULL && cur->started;
    enum act_ret ret;

    for (; r != NULL; r = r->next, resuming = 0) {
        if (!resuming) {
            ret = rule_cond_test(r, env, flags);
            if (ret == ACT_RET_STOP)
                continue;
            if (ret == ACT_RET_YIELD) {
                cur->cur = r;
                cur->started = 0;
                return ACT_RET_YIELD;
            }
        }
        ret = r->run(r, s, flags | (resuming ? 0 : ACT_FLAG_FIRST));
        if (ret == ACT_RET_YIELD) {
            cur->cur = r;
            cur->started = 1;
            return ACT_RET_YIELD;
        }
        if (ret != ACT_RET_CONT) {
            cur->cur = NULL;
            s->last_rule = r;
            return ret;
        }
    }
    cur->cur = NULL;
    return ACT_RET_CONT;
}
