/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP sample fetches: method, path, url, query, base, req.ver, headers of
 * the request and the response, status. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "core/acl.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/stream.h"
#include "http/http.h"
#include "http/http_ana.h"

/* The transaction of <env>, or NULL. */
static struct http_txn *env_txn(const struct smp_env *env)
{
    return env->strm ? http_txn_get(env->strm) : NULL;
}

/* Sets a string sample. */
static int smp_str(struct sample *smp, struct ist v, enum smp_type t)
{
    smp->type = t;
    smp->data.str = v;
    return 1;
}

static int fetch_method(const struct arg *args, struct sample *smp,
                        const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);

    return txn ? smp_str(smp, txn->req.meth, SMP_T_METH) : 0;
}

/* priv selects the part: 'p' path, 'u' url, 'q' query. */
static int fetch_uri_part(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);
    char part = *(const char *)priv;
    struct ist v;

    if (txn == NULL || txn->req.uri.ptr == NULL)
        return 0;
    if (part == 'p')
        v = http_msg_path(&txn->req);
    else if (part == 'q')
        v = http_msg_query(&txn->req);
    else
        v = txn->req.uri;
    if (part == 'q' && v.len == 0 &&
        memchr(txn->req.uri.ptr, '?', txn->req.uri.len) == NULL)
        return 0;
    return smp_str(smp, v, SMP_T_STR);
}

/* "base": Host header followed by the path. */
static int fetch_base(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);
    struct ist path;
    int h;
    char *p;

    if (txn == NULL || (h = http_hdr_find(&txn->req, IST("host"), 0)) < 0)
        return 0;
    path = http_msg_path(&txn->req);
    p = palloc(env->pool, txn->req.hdrs[h].value.len + path.len + 1);
    if (p == NULL)
        return 0;
    memcpy(p, txn->req.hdrs[h].value.ptr, txn->req.hdrs[h].value.len);
    memcpy(p + txn->req.hdrs[h].value.len, path.ptr, path.len);
    return smp_str(smp,
                   (struct ist){p, txn->req.hdrs[h].value.len + path.len},
                   SMP_T_STR);
}

static int fetch_req_ver(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);
    struct ist v;

    if (txn == NULL || txn->req.ver.len < 5)
        return 0;
    v = txn->req.ver; /* "HTTP/1.1" -> "1.1" */
    return smp_str(smp, (struct ist){v.ptr + 5, v.len - 5}, SMP_T_STR);
}

/* The message of a header fetch: priv 'q' request, 's' response. */
static struct http_msg *hdr_msg(const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);

    if (txn == NULL)
        return NULL;
    if (*(const char *)priv == 's')
        return (env->avail & SMP_AVAIL_RES) ? &txn->res : NULL;
    return &txn->req;
}

/* hdr(name[,occ]): occurrence <occ> (1 = first, -1 = last, default last). */
static int fetch_hdr(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv)
{
    struct http_msg *m = hdr_msg(env, priv);
    long long occ = -1;
    int i, n = 0, last = -1;

    if (m == NULL || args[0].type != ARGT_STR)
        return 0;
    if (args[1].type == ARGT_SINT)
        occ = args[1].data.sint;
    for (i = http_hdr_find(m, args[0].data.str, 0); i >= 0;
         i = http_hdr_find(m, args[0].data.str, (unsigned)i + 1)) {
        n++;
        last = i;
        if (occ > 0 && n == occ)
            return smp_str(smp, m->hdrs[i].value, SMP_T_STR);
    }
    if (occ > 0 || last < 0)
        return 0;
    return smp_str(smp, m->hdrs[last].value, SMP_T_STR);
}

static int fetch_hdr_cnt(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    struct http_msg *m = hdr_msg(env, priv);
    int i, n = 0;

    if (m == NULL)
        return 0;
    for (i = 0; i < (int)m->nhdrs; i++)
        if (args[0].type != ARGT_STR ||
            ist_ieq(m->hdrs[i].name, args[0].data.str))
            n++;
    smp->type = SMP_T_SINT;
    smp->data.sint = n;
    return 1;
}

static int fetch_status(const struct arg *args, struct sample *smp,
                        const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);

    if (txn == NULL || !(env->avail & SMP_AVAIL_RES) || txn->res.status == 0)
        return 0;
    smp->type = SMP_T_SINT;
    smp->data.sint = txn->res.status;
    return 1;
}

static const char part_path = 'p', part_url = 'u', part_query = 'q';
static const char msg_req = 'q', msg_res = 's';

#define REQ SMP_AVAIL_REQ
#define RES SMP_AVAIL_RES

static const struct sample_fetch_kw http_fetches[] = {
    {.name = "method", .fn = fetch_method, .out = SMP_T_METH, .use = REQ,
     .match_method = PAT_MATCH_METH},
    {.name = "path", .fn = fetch_uri_part, .out = SMP_T_STR, .use = REQ,
     .priv = &part_path, .match_method = PAT_MATCH_STR},
    {.name = "url", .fn = fetch_uri_part, .out = SMP_T_STR, .use = REQ,
     .priv = &part_url, .match_method = PAT_MATCH_STR},
    {.name = "query", .fn = fetch_uri_part, .out = SMP_T_STR, .use = REQ,
     .priv = &part_query, .match_method = PAT_MATCH_STR},
    {.name = "base", .fn = fetch_base, .out = SMP_T_STR, .use = REQ,
     .match_method = PAT_MATCH_STR},
    {.name = "req.ver", .fn = fetch_req_ver, .out = SMP_T_STR, .use = REQ,
     .match_method = PAT_MATCH_STR},
    {.name = "req.hdr", .fn = fetch_hdr, .args = "S?,I?", .out = SMP_T_STR,
     .use = REQ, .priv = &msg_req, .match_method = PAT_MATCH_STR},
    {.name = "hdr", .fn = fetch_hdr, .args = "S?,I?", .out = SMP_T_STR,
     .use = REQ, .priv = &msg_req, .match_method = PAT_MATCH_STR},
    {.name = "req.fhdr", .fn = fetch_hdr, .args = "S?,I?", .out = SMP_T_STR,
     .use = REQ, .priv = &msg_req, .match_method = PAT_MATCH_STR},
    {.name = "req.hdr_cnt", .fn = fetch_hdr_cnt, .args = "S?",
     .out = SMP_T_SINT, .use = REQ, .priv = &msg_req,
     .match_method = PAT_MATCH_INT},
    {.name = "res.hdr", .fn = fetch_hdr, .args = "S?,I?", .out = SMP_T_STR,
     .use = RES, .priv = &msg_res, .match_method = PAT_MATCH_STR},
    {.name = "res.hdr_cnt", .fn = fetch_hdr_cnt, .args = "S?",
     .out = SMP_T_SINT, .use = RES, .priv = &msg_res,
     .match_method = PAT_MATCH_INT},
    {.name = "status", .fn = fetch_status, .out = SMP_T_SINT, .use = RES,
     .match_method = PAT_MATCH_INT},
    {.name = NULL},
};

/* HAProxy's ACL shorthands over the fetches above. */
static const struct acl_kw http_acl_kws[] = {
    {"path_beg", "path", PAT_MATCH_BEG}, {"path_end", "path", PAT_MATCH_END},
    {"path_sub", "path", PAT_MATCH_SUB}, {"path_dir", "path", PAT_MATCH_DIR},
    {"path_dom", "path", PAT_MATCH_DOM}, {"path_reg", "path", PAT_MATCH_REG},
    {"path_len", "path", PAT_MATCH_LEN}, {"url_beg", "url", PAT_MATCH_BEG},
    {"url_end", "url", PAT_MATCH_END},   {"url_sub", "url", PAT_MATCH_SUB},
    {"url_dir", "url", PAT_MATCH_DIR},   {"url_dom", "url", PAT_MATCH_DOM},
    {"url_reg", "url", PAT_MATCH_REG},   {"url_len", "url", PAT_MATCH_LEN},
    {"hdr_beg", "hdr", PAT_MATCH_BEG},   {"hdr_end", "hdr", PAT_MATCH_END},
    {"hdr_sub", "hdr", PAT_MATCH_SUB},   {"hdr_dir", "hdr", PAT_MATCH_DIR},
    {"hdr_dom", "hdr", PAT_MATCH_DOM},   {"hdr_reg", "hdr", PAT_MATCH_REG},
    {"hdr_len", "hdr", PAT_MATCH_LEN},   {"base_beg", "base", PAT_MATCH_BEG},
    {"base_sub", "base", PAT_MATCH_SUB}, {"base_reg", "base", PAT_MATCH_REG},
    {NULL, NULL, 0},
};

/* HAProxy's predefined HTTP ACLs. */
static const struct acl_default http_acl_defaults[] = {
    {"METH_CONNECT", {"method", "CONNECT", NULL}},
    {"METH_DELETE", {"method", "DELETE", NULL}},
    {"METH_GET", {"method", "GET", "HEAD", NULL}},
    {"METH_HEAD", {"method", "HEAD", NULL}},
    {"METH_OPTIONS", {"method", "OPTIONS", NULL}},
    {"METH_POST", {"method", "POST", NULL}},
    {"METH_PUT", {"method", "PUT", NULL}},
    {"METH_TRACE", {"method", "TRACE", NULL}},
    {"HTTP_1.0", {"req.ver", "1.0", NULL}},
    {"HTTP_1.1", {"req.ver", "1.1", NULL}},
    {"HTTP_URL_ABS", {"url_reg", "^[^/:]*://", NULL}},
    {"HTTP_URL_SLASH", {"url_beg", "/", NULL}},
    {"HTTP_URL_STAR", {"url", "*", NULL}},
    {"HTTP_CONTENT", {"req.hdr_cnt(content-length)", "gt", "0", NULL}},
    {NULL, {NULL}},
};

void http_fetch_init(void)
{
    sample_register_fetches(http_fetches);
    acl_register_keywords(http_acl_kws);
    acl_register_defaults(http_acl_defaults);
}
