/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP actions: allow, deny, return, set-header, add-header, del-header. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"
#include "http/http.h"
#include "http/http_ana.h"

#define HTTP_RULESETS                                                          \
    (RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES) |           \
     RULESET_BIT(RULESET_HTTP_AFTER))

/* The message a rule of the running ruleset edits. */
static struct http_msg *act_msg(struct stream *s)
{
    struct http_txn *txn = http_txn_get(s);

    if (txn == NULL)
        return NULL;
    return s->cur_rs == RULESET_HTTP_REQ ? &txn->req : &txn->res;
}

/* An action's value: a literal, or a whole "%[expr]" sample expression
 * (full log-format strings come with the log-format engine). */
struct act_value {
    char *literal;
    struct sample_expr *expr;
};

/* Parses <word> into <v>; RC_OK or RC_ERR with *err. */
static int act_value_parse(struct act_value *v, const char *kw,
                           const char *word, char **err)
{
    size_t n = strlen(word);

    if (strncmp(word, "%[", 2) == 0 && word[n - 1] == ']') {
        char *e = xstrndup(word + 2, n - 3);

        v->expr = sample_expr_parse(e, err);
        free(e);
        return v->expr != NULL ? RC_OK : RC_ERR;
    }
    if (strchr(word, '%') != NULL)
        return set_err(err, "'%s': log-format values other than a single "
                            "%%[expr] are not supported yet",
                       kw);
    v->literal = xstrdup(word);
    return RC_OK;
}

/* Evaluates <v> for <s>; 0 when the expression has no value. */
static int act_value_eval(const struct act_value *v, struct stream *s,
                          struct ist *out)
{
    struct smp_env env;
    struct sample smp;

    if (v->expr == NULL) {
        *out = ist_from(v->literal);
        return 1;
    }
    stream_env(s, &env);
    memset(&smp, 0, sizeof(smp));
    if (!sample_expr_eval(v->expr, &env, &smp) ||
        !sample_cast(&smp, SMP_T_STR, &env))
        return 0;
    *out = smp.data.str;
    return 1;
}

static void act_value_free(struct act_value *v)
{
    sample_expr_free(v->expr);
    free(v->literal);
}

static enum act_ret allow_run(struct rule *r, struct stream *s, unsigned f)
{
    return ACT_RET_STOP;
}

static int allow_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                       int *cur, int argc, char **args, char **err)
{
    r->run = allow_run;
    *cur = 1;
    return RC_OK;
}

static enum act_ret deny_run(struct rule *r, struct stream *s, unsigned f)
{
    struct http_txn *txn = http_txn_get(s);

    if (txn != NULL)
        txn->deny_status = (int)r->iarg;
    return ACT_RET_DENY;
}

/* Parses an HTTP status argument within [lo, hi]. */
static int parse_status(const char *word, int lo, int hi, long long *out,
                        char **err)
{
    return cfgval_int(word, lo, hi, out, err);
}

static int deny_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                      int *cur, int argc, char **args, char **err)
{
    int i = 1;

    r->run = deny_run;
    r->iarg = 403;
    if (i < argc && strcmp(args[i], "deny_status") == 0) {
        if (i + 1 >= argc)
            return set_err(err, "'deny_status' expects a status code");
        if (parse_status(args[i + 1], 200, 599, &r->iarg, err) != RC_OK)
            return RC_ERR;
        i += 2;
    }
    if (i < argc && strcmp(args[i], "if") != 0 &&
        strcmp(args[i], "unless") != 0)
        return set_err(err, "'deny' option '%s' is not supported yet",
                       args[i]);
    *cur = i;
    return RC_OK;
}

/* A prepared "return" reply. */
struct return_act {
    int status;
    char *ctype;
    char *body;
    size_t body_len;
    int nhdrs;
    char **hdrs; /* name, value, name, value... */
};

static void return_free(struct rule *r)
{
    struct return_act *ra = r->arg;
    int i;

    if (ra == NULL)
        return;
    for (i = 0; i < ra->nhdrs * 2; i++)
        free(ra->hdrs[i]);
    free(ra->hdrs);
    free(ra->ctype);
    free(ra->body);
    free(ra);
}

static enum act_ret return_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct return_act *ra = r->arg;
    char len[24];
    int i;

    if (http_txn_get(s) == NULL ||
        http_reply_begin(s, ra->status, (struct ist){NULL, 0}) != RC_OK)
        return ACT_RET_ERR;
    if (ra->ctype != NULL)
        http_reply_header(s, IST("content-type"), ist_from(ra->ctype));
    for (i = 0; i < ra->nhdrs; i++)
        http_reply_header(s, ist_from(ra->hdrs[2 * i]),
                          ist_from(ra->hdrs[2 * i + 1]));
    snprintf(len, sizeof(len), "%zu", ra->body_len);
    http_reply_header(s, IST("content-length"), ist_from(len));
    http_reply_headers_end(s);
    http_reply_body(s, ra->body, ra->body_len);
    http_reply_end(s);
    return ACT_RET_DONE;
}

/* Reads the whole file <path> for "return file". */
static int read_file(const char *path, char **out, size_t *len, char **err)
{
    FILE *fp = fopen(path, "rb");
    long n;

    if (fp == NULL)
        return set_err(err, "cannot open file '%s': %s", path,
                       strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return set_err(err, "cannot read file '%s'", path);
    }
    *out = xmalloc((size_t)n + 1);
    *len = fread(*out, 1, (size_t)n, fp);
    fclose(fp);
    return RC_OK;
}

/* Parses one option of "return" at args[*i]. */
static int return_parse_opt(struct return_act *ra, int *i, int argc,
                            char **args, char **err)
{
    const char *o = args[*i];
    long long v;

    if (*i + 1 >= argc)
        return set_err(err, "'return' option '%s' expects an argument", o);
    if (strcmp(o, "status") == 0) {
        if (parse_status(args[*i + 1], 200, 599, &v, err) != RC_OK)
            return RC_ERR;
        ra->status = (int)v;
    } else if (strcmp(o, "content-type") == 0) {
        free(ra->ctype);
        ra->ctype = xstrdup(args[*i + 1]);
    } else if (strcmp(o, "string") == 0) {
        free(ra->body);
        ra->body = xstrdup(args[*i + 1]);
        ra->body_len = strlen(ra->body);
    } else if (strcmp(o, "file") == 0) {
        free(ra->body);
        ra->body = NULL;
        if (read_file(args[*i + 1], &ra->body, &ra->body_len, err) != RC_OK)
            return RC_ERR;
    } else if (strcmp(o, "hdr") == 0) {
        if (*i + 2 >= argc)
            return set_err(err, "'hdr' expects a name and a value");
        ra->hdrs = xrealloc(ra->hdrs, sizeof(char *) * 2 *
                                          (size_t)(ra->nhdrs + 1));
        ra->hdrs[2 * ra->nhdrs] = xstrdup(args[*i + 1]);
        ra->hdrs[2 * ra->nhdrs + 1] = xstrdup(args[*i + 2]);
        ra->nhdrs++;
        (*i)++;
    } else {
        return set_err(err, "'return' option '%s' is not supported yet", o);
    }
    *i += 2;
    return RC_OK;
}

static int return_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                        int *cur, int argc, char **args, char **err)
{
    struct return_act *ra = xcalloc(1, sizeof(*ra));
    int i = 1;

    ra->status = 200;
    r->arg = ra;
    r->free = return_free;
    r->run = return_run;
    while (i < argc && strcmp(args[i], "if") != 0 &&
           strcmp(args[i], "unless") != 0)
        if (return_parse_opt(ra, &i, argc, args, err) != RC_OK)
            return RC_ERR;
    if (ra->body != NULL && ra->ctype == NULL)
        return set_err(err, "'return' with a body needs a 'content-type'");
    if (ra->body == NULL)
        ra->body = xstrdup("");
    *cur = i;
    return RC_OK;
}

/* set-header / add-header / del-header. */
struct hdr_act {
    struct ist name;
    struct act_value value; /* unset for del-header */
    int del_first;
    int del_only;
};

static enum act_ret hdr_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct hdr_act *ha = r->arg;
    struct http_msg *m = act_msg(s);
    struct ist v;

    if (m == NULL)
        return ACT_RET_CONT;
    if (ha->del_first)
        http_hdr_del(m, ha->name);
    if (ha->del_only || !act_value_eval(&ha->value, s, &v))
        return ACT_RET_CONT;
    return http_hdr_add(s, m, ha->name, v) == RC_OK ? ACT_RET_CONT
                                                     : ACT_RET_ERR;
}

static void hdr_free(struct rule *r)
{
    struct hdr_act *ha = r->arg;

    if (ha == NULL)
        return;
    free((char *)ha->name.ptr);
    act_value_free(&ha->value);
    free(ha);
}

static int hdr_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                     int *cur, int argc, char **args, char **err)
{
    int del = strcmp(args[0], "del-header") == 0;
    struct hdr_act *ha;

    if (argc < (del ? 2 : 3))
        return set_err(err, "'%s' expects %s", args[0],
                       del ? "a header name" : "a header name and a value");
    ha = xcalloc(1, sizeof(*ha));
    r->arg = ha;
    r->run = hdr_run;
    r->free = hdr_free;
    ha->name = ist_from(xstrdup(args[1]));
    ha->del_only = del;
    ha->del_first = strcmp(args[0], "add-header") != 0;
    if (!del && act_value_parse(&ha->value, args[0], args[2], err) != RC_OK)
        return RC_ERR;
    *cur = del ? 2 : 3;
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* redirect                                                          */
/* ---------------------------------------------------------------- */

enum redirect_kind {
    REDIRECT_LOCATION,
    REDIRECT_PREFIX,
    REDIRECT_SCHEME,
};

struct redirect_act {
    enum redirect_kind kind;
    char *target;
    int code;
    int drop_query;
    int append_slash;
};

static void redirect_free(struct rule *r)
{
    struct redirect_act *ra = r->arg;

    if (ra != NULL)
        free(ra->target);
    free(ra);
}

/* Appends <v> to <buf> of <cap> bytes at *<len>; 0 if it does not fit. */
static int buf_put(char *buf, size_t cap, size_t *len, struct ist v)
{
    if (*len + v.len > cap)
        return 0;
    memcpy(buf + *len, v.ptr, v.len);
    *len += v.len;
    return 1;
}

/* Builds the Location of a prefix or scheme redirect into <buf>. */
static int redirect_location(const struct redirect_act *ra,
                             const struct http_msg *req, char *buf,
                             size_t cap, size_t *len)
{
    struct ist path = http_msg_path(req), query = http_msg_query(req);
    int host = http_hdr_find(req, IST("host"), 0);
    int ok = 1;

    *len = 0;
    if (ra->kind == REDIRECT_SCHEME) {
        ok = buf_put(buf, cap, len, ist_from(ra->target)) &&
             buf_put(buf, cap, len, IST("://")) &&
             (host < 0 || buf_put(buf, cap, len, req->hdrs[host].value));
    } else if (strcmp(ra->target, "/") != 0) {
        ok = buf_put(buf, cap, len, ist_from(ra->target));
    }
    ok = ok && buf_put(buf, cap, len, path);
    if (ok && ra->append_slash && (path.len == 0 ||
                                   path.ptr[path.len - 1] != '/'))
        ok = buf_put(buf, cap, len, IST("/"));
    if (ok && !ra->drop_query && query.len > 0)
        ok = buf_put(buf, cap, len, IST("?")) &&
             buf_put(buf, cap, len, query);
    return ok;
}

static enum act_ret redirect_run(struct rule *r, struct stream *s,
                                 unsigned f)
{
    const struct redirect_act *ra = r->arg;
    struct http_txn *txn = http_txn_get(s);
    char loc[8192];
    size_t len;

    if (txn == NULL)
        return ACT_RET_CONT;
    if (ra->kind == REDIRECT_LOCATION) {
        len = strlen(ra->target);
        memcpy(loc, ra->target, len < sizeof(loc) ? len : sizeof(loc));
    } else if (!redirect_location(ra, &txn->req, loc, sizeof(loc), &len)) {
        return ACT_RET_ERR;
    }
    if (http_reply_begin(s, ra->code, (struct ist){NULL, 0}) != RC_OK)
        return ACT_RET_ERR;
    http_reply_header(s, IST("content-length"), IST("0"));
    http_reply_header(s, IST("location"), (struct ist){loc, len});
    http_reply_header(s, IST("cache-control"), IST("no-cache"));
    http_reply_headers_end(s);
    http_reply_end(s);
    return ACT_RET_DONE;
}

/* Parses one option of "redirect" at args[*i]. */
static int redirect_parse_opt(struct redirect_act *ra, int *i, int argc,
                              char **args, char **err)
{
    const char *o = args[*i];
    long long v;

    if (strcmp(o, "drop-query") == 0) {
        ra->drop_query = 1;
    } else if (strcmp(o, "append-slash") == 0) {
        ra->append_slash = 1;
    } else if (strcmp(o, "code") == 0) {
        if (*i + 1 >= argc)
            return set_err(err, "'redirect code' expects a status code");
        if (cfgval_int(args[*i + 1], 301, 308, &v, err) != RC_OK)
            return RC_ERR;
        if (v > 303 && v < 307)
            return set_err(err, "'redirect code' must be 301, 302, 303, "
                                "307 or 308, got %lld", v);
        ra->code = (int)v;
        (*i)++;
    } else {
        return set_err(err, "'redirect' option '%s' is not supported yet",
                       o);
    }
    (*i)++;
    return RC_OK;
}

static int redirect_parse(struct cfg_ctx *ctx, struct rule *r,
                          enum ruleset rs, int *cur, int argc, char **args,
                          char **err)
{
    static const char *const kinds[] = {"location", "prefix", "scheme"};
    struct redirect_act *ra = xcalloc(1, sizeof(*ra));
    size_t k;
    int i = 3;

    r->arg = ra;
    r->free = redirect_free;
    r->run = redirect_run;
    ra->code = 302;
    if (argc < 3)
        return set_err(err, "'redirect' expects 'location', 'prefix' or "
                            "'scheme' and a value");
    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (strcmp(args[1], kinds[k]) == 0)
            break;
    if (k == sizeof(kinds) / sizeof(kinds[0]))
        return set_err(err, "'redirect' expects 'location', 'prefix' or "
                            "'scheme', got '%s'",
                       args[1]);
    if (strchr(args[2], '%') != NULL)
        return set_err(err, "'redirect': log-format values are not "
                            "supported yet");
    ra->kind = (enum redirect_kind)k;
    ra->target = xstrdup(args[2]);
    while (i < argc && strcmp(args[i], "if") != 0 &&
           strcmp(args[i], "unless") != 0)
        if (redirect_parse_opt(ra, &i, argc, args, err) != RC_OK)
            return RC_ERR;
    *cur = i;
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* Request line rewrites: set-method, set-path, set-query, set-uri  */
/* ---------------------------------------------------------------- */

enum rewrite_part {
    REWRITE_METHOD,
    REWRITE_PATH,
    REWRITE_QUERY,
    REWRITE_URI,
    REWRITE_PATHQ,
};

/* Joins slices into one string of the stream's pool. */
static struct ist pool_join(struct pool *p, const struct ist *parts, int n)
{
    size_t len = 0, off = 0;
    char *buf;
    int i;

    for (i = 0; i < n; i++)
        len += parts[i].len;
    buf = palloc(p, len + 1);
    if (buf == NULL)
        return (struct ist){NULL, 0};
    for (i = 0; i < n; i++) {
        memcpy(buf + off, parts[i].ptr, parts[i].len);
        off += parts[i].len;
    }
    return (struct ist){buf, len};
}

/* Applies <v> to the <part> of the request of <s>. */
static int rewrite_apply(struct stream *s, enum rewrite_part part,
                         struct ist v)
{
    struct http_txn *txn = http_txn_get(s);
    struct http_msg *m = &txn->req;
    struct ist path = http_msg_path(m), query = http_msg_query(m);
    struct ist before = {m->uri.ptr, (size_t)(path.ptr - m->uri.ptr)};
    struct ist parts[4];
    int has_q = memchr(m->uri.ptr, '?', m->uri.len) != NULL;
    struct ist res;

    switch (part) {
    case REWRITE_METHOD:
        res = pool_join(s->pool, &v, 1);
        m->meth = res;
        return res.ptr != NULL;
    case REWRITE_URI:
        res = pool_join(s->pool, &v, 1);
        break;
    case REWRITE_PATH:
        parts[0] = before;
        parts[1] = v;
        parts[2] = has_q ? IST("?") : IST("");
        parts[3] = query;
        res = pool_join(s->pool, parts, 4);
        break;
    case REWRITE_PATHQ:
        parts[0] = before;
        parts[1] = v;
        res = pool_join(s->pool, parts, 2);
        break;
    default: /* REWRITE_QUERY: HAProxy takes the value with or without '?' */
        if (v.len > 0 && v.ptr[0] == '?') {
            v.ptr++;
            v.len--;
        }
        parts[0] = before;
        parts[1] = path;
        parts[2] = v.len ? IST("?") : IST("");
        parts[3] = v;
        res = pool_join(s->pool, parts, 4);
        break;
    }
    if (res.ptr == NULL)
        return 0;
    m->uri = res;
    return 1;
}

/* A request line rewrite. */
struct rewrite_act {
    enum rewrite_part part;
    struct act_value value;
};

static void rewrite_free(struct rule *r)
{
    struct rewrite_act *ra = r->arg;

    if (ra == NULL)
        return;
    act_value_free(&ra->value);
    free(ra);
}

static enum act_ret rewrite_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct rewrite_act *ra = r->arg;
    struct ist v;

    if (http_txn_get(s) == NULL || s->cur_rs != RULESET_HTTP_REQ ||
        !act_value_eval(&ra->value, s, &v))
        return ACT_RET_CONT;
    return rewrite_apply(s, ra->part, v) ? ACT_RET_CONT : ACT_RET_ERR;
}

static int rewrite_parse(struct cfg_ctx *ctx, struct rule *r,
                         enum ruleset rs, int *cur, int argc, char **args,
                         char **err)
{
    static const char *const names[] = {"set-method", "set-path", "set-query",
                                        "set-uri", "set-pathq"};
    struct rewrite_act *ra;
    size_t k;

    if (argc < 2)
        return set_err(err, "'%s' expects a value", args[0]);
    for (k = 0; strcmp(names[k], args[0]) != 0; k++)
        ;
    ra = xcalloc(1, sizeof(*ra));
    r->arg = ra;
    r->free = rewrite_free;
    r->run = rewrite_run;
    ra->part = (enum rewrite_part)k;
    if (act_value_parse(&ra->value, args[0], args[1], err) != RC_OK)
        return RC_ERR;
    *cur = 2;
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* replace-header, replace-value                                     */
/* ---------------------------------------------------------------- */

struct replace_act {
    char *name;
    struct sample_regex *re;
    char *with;      /* replacement with \1..\9 references */
    int per_value;   /* replace-value: each comma-separated value */
};

static void replace_free(struct rule *r)
{
    struct replace_act *ra = r->arg;

    if (ra == NULL)
        return;
    sample_regex_free(ra->re);
    free(ra->name);
    free(ra->with);
    free(ra);
}

/* Expands <with> for the match <ovec> of <src> into <out>; returns length
 * or -1 if it does not fit. */
static long replace_expand(const char *with, const char *src,
                           const size_t *ovec, char *out, size_t cap)
{
    size_t len = 0;
    const char *p;

    for (p = with; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '9') {
            int g = p[1] - '0';
            size_t a = ovec[2 * g], b = ovec[2 * g + 1];

            p++;
            if (a == (size_t)-1)
                continue;
            if (len + (b - a) > cap)
                return -1;
            memcpy(out + len, src + a, b - a);
            len += b - a;
            continue;
        }
        if (len + 1 > cap)
            return -1;
        out[len++] = *p;
    }
    return (long)len;
}

/* Replaces <v> in place (into the stream pool) when the regex matches it
 * whole, as HAProxy does; returns 0 on memory failure. */
static int replace_one(struct stream *s, const struct replace_act *ra,
                       struct ist *v)
{
    size_t ovec[20];
    char out[8192];
    long n;

    if (!sample_regex_exec(ra->re, v->ptr, v->len, 0, ovec, 10) ||
        ovec[0] != 0 || ovec[1] != v->len)
        return 1;
    n = replace_expand(ra->with, v->ptr, ovec, out, sizeof(out));
    if (n < 0)
        return 0;
    *v = pool_join(s->pool, &(struct ist){out, (size_t)n}, 1);
    return v->ptr != NULL;
}

/* Splits a header value on commas and replaces each element. */
static int replace_values(struct stream *s, const struct replace_act *ra,
                          struct ist *v)
{
    struct ist parts[64], rest = *v, elem;
    struct ist joined[127];
    int n = 0, i, k = 0;

    while (n < 64 && h1_list_next(&rest, &elem)) {
        if (!replace_one(s, ra, &elem))
            return 0;
        parts[n++] = elem;
    }
    for (i = 0; i < n; i++) {
        if (i > 0)
            joined[k++] = IST(", ");
        joined[k++] = parts[i];
    }
    *v = pool_join(s->pool, joined, k);
    return v->ptr != NULL;
}

static enum act_ret replace_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct replace_act *ra = r->arg;
    struct http_msg *m = act_msg(s);
    int i;

    if (m == NULL)
        return ACT_RET_CONT;
    for (i = http_hdr_find(m, ist_from(ra->name), 0); i >= 0;
         i = http_hdr_find(m, ist_from(ra->name), (unsigned)i + 1)) {
        int ok = ra->per_value ? replace_values(s, ra, &m->hdrs[i].value)
                               : replace_one(s, ra, &m->hdrs[i].value);

        if (!ok)
            return ACT_RET_ERR;
    }
    return ACT_RET_CONT;
}

static int replace_parse(struct cfg_ctx *ctx, struct rule *r,
                         enum ruleset rs, int *cur, int argc, char **args,
                         char **err)
{
    struct replace_act *ra;

    if (argc < 4)
        return set_err(err, "'%s' expects a header name, a regex and a "
                            "replacement",
                       args[0]);
    ra = xcalloc(1, sizeof(*ra));
    r->arg = ra;
    r->free = replace_free;
    r->run = replace_run;
    ra->per_value = strcmp(args[0], "replace-value") == 0;
    ra->name = xstrdup(args[1]);
    ra->with = xstrdup(args[3]);
    ra->re = sample_regex_new(args[2], strlen(args[2]), 0, err);
    if (ra->re == NULL)
        return RC_ERR;
    *cur = 4;
    return RC_OK;
}

static const struct action_kw http_actions[] = {
    {"allow", HTTP_RULESETS, 0, allow_parse},
    {"deny", RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES), 0,
     deny_parse},
    {"return", RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES),
     0, return_parse},
    {"set-header", HTTP_RULESETS, 0, hdr_parse},
    {"add-header", HTTP_RULESETS, 0, hdr_parse},
    {"del-header", HTTP_RULESETS, 0, hdr_parse},
    {"replace-header", HTTP_RULESETS, 0, replace_parse},
    {"replace-value", HTTP_RULESETS, 0, replace_parse},
    {"redirect", RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES),
     0, redirect_parse},
    {"set-method", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-path", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-pathq", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-query", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-uri", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {NULL, 0, 0, NULL},
};

void http_act_init(void)
{
    action_register(http_actions);
}
