/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP authentication as HAProxy has it: the "http-request auth [realm R]"
 * action (401 with a Basic challenge), and the fetches reading the
 * Authorization header: http_auth(userlist), http_auth_group(userlist)
 * (the user's name; as an ACL keyword, the user's groups against the
 * patterns), http_auth_type, http_auth_user, http_auth_pass and
 * http_auth_bearer([header]). The lists are core's (core/auth.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/acl.h"
#include "core/action.h"
#include "core/auth.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"
#include "http/http.h"
#include "http/http_ana.h"

/* What a request's Authorization header says. */
struct http_creds {
    struct ist method;     /* "Basic", "Bearer"... as written */
    struct ist param;      /* what follows the method, blanks skipped */
    struct ist user, pass; /* Basic only, decoded into the pool */
};

/* Reads the first <hdr> header of the request of <env> into <c>; for
 * Basic, decodes "user:pass" into <env>'s pool. Returns 1 if there is one
 * with a method, 0 otherwise. */
static int creds_read(const struct smp_env *env, struct ist hdr,
                      struct http_creds *c)
{
    struct http_txn *txn = env->strm ? http_txn_get(env->strm) : NULL;
    struct ist v;
    unsigned char *dec;
    const char *colon;
    long n;
    int h;

    memset(c, 0, sizeof(*c));
    if (txn == NULL || (h = http_hdr_find(&txn->req, hdr, 0)) < 0)
        return 0;
    v = txn->req.hdrs[h].value;
    c->method.ptr = v.ptr;
    while (c->method.len < v.len && v.ptr[c->method.len] != ' ')
        c->method.len++;
    c->param = (struct ist){v.ptr + c->method.len, v.len - c->method.len};
    while (c->param.len > 0 && c->param.ptr[0] == ' ') {
        c->param.ptr++;
        c->param.len--;
    }
    if (c->method.len == 0)
        return 0;
    if (c->method.len != 5 || strncasecmp(c->method.ptr, "Basic", 5) != 0)
        return 1;
    dec = palloc(env->pool, c->param.len / 4 * 3 + 4);
    if (dec == NULL || (n = sample_b64_decode(c->param, 0, dec)) < 0 ||
        (colon = memchr(dec, ':', (size_t)n)) == NULL)
        return 1;
    c->user = (struct ist){(const char *)dec, (size_t)(colon - (char *)dec)};
    c->pass = (struct ist){colon + 1, (size_t)n - c->user.len - 1};
    return 1;
}

/* The type HAProxy reports for <c>: Basic credentials it could decode,
 * or a Bearer token; nothing for any other. */
static struct ist creds_type(const struct http_creds *c)
{
    if (c->user.ptr != NULL)
        return IST("Basic");
    if (c->method.len == 6 && strncasecmp(c->method.ptr, "Bearer", 6) == 0)
        return IST("Bearer");
    return (struct ist){NULL, 0};
}

/* Reads the request's credentials into <c> (c->user.ptr NULL without
 * Basic ones) and returns the user of the list named by args[0] they are
 * valid for, or NULL. */
static const struct auth_user *creds_user(const struct arg *args,
                                          const struct smp_env *env,
                                          struct http_creds *c)
{
    const struct userlist *ul;

    if (!creds_read(env, IST("authorization"), c) || c->user.ptr == NULL)
        return NULL;
    ul = userlist_find(worker_cfg(), args[0].data.str.ptr);
    return ul != NULL ? userlist_check(ul, c->user, c->pass) : NULL;
}

/* http_auth(userlist): whether the Basic credentials are valid; no
 * sample without any, as in HAProxy. */
static int fetch_http_auth(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    struct http_creds c;
    const struct auth_user *u = creds_user(args, env, &c);

    if (c.user.ptr == NULL)
        return 0;
    smp->type = SMP_T_BOOL;
    smp->data.sint = u != NULL;
    return 1;
}

/* http_auth_group(userlist): the name of the valid user. */
static int fetch_http_auth_group(const struct arg *args, struct sample *smp,
                                 const struct smp_env *env, const void *priv)
{
    struct http_creds c;

    if (creds_user(args, env, &c) == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = c.user;
    return 1;
}

/* Where http_auth_groups stands between its values (in sample.ctx.p). */
struct groups_iter {
    const struct auth_user *u;
    unsigned next;
};

/* http_auth_groups(userlist): each group of the valid user, one value
 * each; what the http_auth_group ACL keyword matches its patterns with.
 * The password is checked once, on the first value. */
static int fetch_http_auth_groups(const struct arg *args, struct sample *smp,
                                  const struct smp_env *env, const void *priv)
{
    struct groups_iter *it = smp->ctx.p;
    struct http_creds c;
    const char *g;

    if (it == NULL) {
        it = palloc(env->pool, sizeof(*it));
        if (it == NULL || (it->u = creds_user(args, env, &c)) == NULL)
            return 0;
        it->next = 0;
        smp->ctx.p = it;
    }
    if ((g = auth_user_group(it->u, it->next++)) == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(g);
    if (auth_user_group(it->u, it->next) != NULL)
        smp->flags |= SMP_F_NOT_LAST;
    return 1;
}

/* http_auth_type, http_auth_user, http_auth_pass: priv 't', 'u', 'p'. */
static int fetch_http_auth_part(const struct arg *args, struct sample *smp,
                                const struct smp_env *env, const void *priv)
{
    char what = *(const char *)priv;
    struct http_creds c;
    struct ist v;

    if (!creds_read(env, IST("authorization"), &c))
        return 0;
    v = what == 't' ? creds_type(&c) : what == 'u' ? c.user : c.pass;
    if (v.ptr == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = v;
    return 1;
}

/* http_auth_bearer([header]): the token of "Bearer TOKEN" in the header
 * (Authorization by default). */
static int fetch_http_auth_bearer(const struct arg *args, struct sample *smp,
                                  const struct smp_env *env, const void *priv)
{
    struct ist hdr =
        args[0].type == ARGT_STR ? args[0].data.str : IST("authorization");
    struct http_creds c;

    if (!creds_read(env, hdr, &c) || c.method.len != 6 ||
        strncasecmp(c.method.ptr, "Bearer", 6) != 0)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = c.param;
    return 1;
}

int http_auth_basic(struct stream *s, struct ist *user, struct ist *pass)
{
    struct smp_env env = {.strm = s, .pool = s->pool};
    struct http_creds c;

    if (!creds_read(&env, IST("authorization"), &c) || c.user.ptr == NULL)
        return 0;
    *user = c.user;
    *pass = c.pass;
    return 1;
}

/* A userlist argument must name a list; checked when it runs, since the
 * list may be declared after its user. */
static int check_userlist_arg(struct arg *args, char **err)
{
    return args[0].data.str.len > 0
               ? RC_OK
               : set_err(err, "expects the name of a userlist");
}

static const char auth_type = 't', auth_user = 'u', auth_pass = 'p';

static const struct sample_fetch_kw http_auth_fetches[] = {
    {.name = "http_auth",
     .fn = fetch_http_auth,
     .args = "S",
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_REQ,
     .match_method = PAT_MATCH_BOOL,
     .check = check_userlist_arg},
    {.name = "http_auth_group",
     .fn = fetch_http_auth_group,
     .args = "S",
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .match_method = PAT_MATCH_STR,
     .check = check_userlist_arg},
    {.name = "http_auth_groups",
     .fn = fetch_http_auth_groups,
     .args = "S",
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .match_method = PAT_MATCH_STR,
     .check = check_userlist_arg},
    {.name = "http_auth_type",
     .fn = fetch_http_auth_part,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .priv = &auth_type,
     .match_method = PAT_MATCH_STR},
    {.name = "http_auth_user",
     .fn = fetch_http_auth_part,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .priv = &auth_user,
     .match_method = PAT_MATCH_STR},
    {.name = "http_auth_pass",
     .fn = fetch_http_auth_part,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .priv = &auth_pass,
     .match_method = PAT_MATCH_STR},
    {.name = "http_auth_bearer",
     .fn = fetch_http_auth_bearer,
     .args = "S?",
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .match_method = PAT_MATCH_STR},
    {.name = NULL},
};

/* As an ACL, http_auth_group(L) G1 G2 matches the user's groups. */
static const struct acl_kw http_auth_acl_kws[] = {
    {"http_auth_group", "http_auth_groups", PAT_MATCH_STR},
    {NULL, NULL, 0},
};

/* "auth [realm R]": 401 with a Basic challenge for the realm (the proxy's
 * name by default). */
static enum act_ret auth_run(struct rule *r, struct stream *s, unsigned f)
{
    char value[512];
    int n = snprintf(value, sizeof(value), "Basic realm=\"%s\"",
                     (const char *)r->arg);

    if (n < 0 || (size_t)n >= sizeof(value))
        return ACT_RET_ERR;
    http_reply_error_hdr(s, 401, IST("www-authenticate"),
                         (struct ist){value, (size_t)n});
    return ACT_RET_DONE;
}

static void auth_free(struct rule *r)
{
    free(r->arg);
}

static int auth_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                      int *cur, int argc, char **args, char **err)
{
    const char *realm = ctx->px->name;

    r->run = auth_run;
    r->free = auth_free;
    *cur = 1;
    if (argc > 1 && strcmp(args[1], "realm") == 0) {
        if (argc < 3)
            return set_err(err, "'auth' 'realm' expects a name");
        realm = args[2];
        *cur = 3;
    }
    if (strlen(realm) > 400 || strchr(realm, '"') != NULL)
        return set_err(err, "'auth' realm '%s' is too long or has a '\"'",
                       realm);
    r->arg = xstrdup(realm);
    return RC_OK;
}

static const struct action_kw http_auth_actions[] = {
    {"auth", RULESET_BIT(RULESET_HTTP_REQ), 0, auth_parse},
    {NULL, 0, 0, NULL},
};

void http_auth_init(void)
{
    sample_register_fetches(http_auth_fetches);
    acl_register_keywords(http_auth_acl_kws);
    action_register(http_auth_actions);
}
