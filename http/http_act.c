/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP actions: allow, deny, tarpit, return, set-header, add-header,
 * del-header, redirect, request line rewrites, replace-header/value,
 * set-status, set-log-level, normalize-uri; and the frontend keywords that
 * HAProxy runs before the http-request rules ("monitor-uri", "capture request
 * header", "capture response header"), which are built here as rules
 * inserted at the head of the frontend's rule list at load. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/conn.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/logformat.h"
#include "core/logctl.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stats.h"
#include "core/stream.h"
#include "core/stream_timer.h"
#include "core/util.h"
#include "core/worker.h"
#include "http/http.h"
#include "http/http_ana.h"
#include "http/http_conn.h"

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
    char *literal;        /* no '%' in it */
    struct logformat *lf; /* else a log-format string */
};

/* Parses <word> into <v>: a literal, or a log-format string such as
 * "Bearer %[var(txn.tok)]"; RC_OK or RC_ERR with *err. */
static int act_value_parse(struct act_value *v, const char *kw,
                           const char *word, char **err)
{
    if (strchr(word, '%') == NULL) {
        v->literal = xstrdup(word);
        return RC_OK;
    }
    v->lf = logformat_parse(word, LF_PARSE_HTTP | LF_PARSE_HTTP_MODE, err);
    return v->lf != NULL ? RC_OK : RC_ERR;
}

/* Evaluates <v> for <s> into memory of the stream's pool; 0 on failure. */
static int act_value_eval(const struct act_value *v, struct stream *s,
                          struct ist *out)
{
    char buf[8192];
    size_t n;

    if (v->lf == NULL) {
        *out = ist_from(v->literal);
        return 1;
    }
    n = logformat_render(v->lf, s, buf, sizeof(buf));
    out->ptr = pstrndup(s->pool, buf, n);
    out->len = n;
    return out->ptr != NULL;
}

static void act_value_free(struct act_value *v)
{
    logformat_free(v->lf);
    free(v->literal);
}

static enum act_ret allow_run(struct rule *r, struct stream *s, unsigned f)
{
    return ACT_RET_STOP;
}

/* "reject": close the connection at once, no answer; HAProxy logs it PR
 * with no request time (TR -1). */
static enum act_ret reject_run(struct rule *r, struct stream *s, unsigned f)
{
    http_txn_term(s, 'P');
    s->times.req = -1;
    stats_count_denied(s);
    return ACT_RET_ABRT;
}

/* "allow" and "reject": no argument. */
static int allow_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                       int *cur, int argc, char **args, char **err)
{
    r->run = args[0][0] == 'a' ? allow_run : reject_run;
    *cur = 1;
    return RC_OK;
}

/* Parses an HTTP status argument within [lo, hi]. */
static int parse_status(const char *word, int lo, int hi, long long *out,
                        char **err)
{
    return cfgval_int(word, lo, hi, out, err);
}

/* A prepared "return" reply. */
struct return_act {
    int status;
    char *ctype;
    char *body;
    size_t body_len;
    int nhdrs;
    char **hdrs;              /* name, value, name, value... */
    int custom;               /* deny: a reply was described, send it */
    struct act_value lf_body; /* "lf-string": rendered per request */
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
    act_value_free(&ra->lf_body);
    free(ra);
}

/* Sends the reply described by <ra>; RC_OK or RC_ERR. */
static int reply_send(struct stream *s, const struct return_act *ra)
{
    struct ist body;
    char len[24];
    int i;

    if (http_txn_get(s) == NULL ||
        http_reply_begin(s, ra->status, (struct ist){NULL, 0}) != RC_OK)
        return RC_ERR;
    if (ra->ctype != NULL)
        http_reply_header(s, IST("content-type"), ist_from(ra->ctype));
    for (i = 0; i < ra->nhdrs; i++)
        http_reply_header(s, ist_from(ra->hdrs[2 * i]),
                          ist_from(ra->hdrs[2 * i + 1]));
    body = (struct ist){ra->body, ra->body_len};
    if (ra->lf_body.lf != NULL && !act_value_eval(&ra->lf_body, s, &body))
        return RC_ERR;
    snprintf(len, sizeof(len), "%zu", body.len);
    http_reply_header(s, IST("content-length"), ist_from(len));
    http_reply_headers_end(s);
    http_reply_body(s, body.ptr, body.len);
    http_reply_end(s);
    return RC_OK;
}

static enum act_ret return_run(struct rule *r, struct stream *s, unsigned f)
{
    return reply_send(s, r->arg) == RC_OK ? ACT_RET_DONE : ACT_RET_ERR;
}

/* Parses one option of "return" at args[*i]. */
static int return_parse_opt(struct return_act *ra, const char *status_kw,
                            int *i, int argc, char **args, char **err)
{
    const char *o = args[*i];
    long long v;

    if (*i + 1 >= argc)
        return set_err(err, "'return' option '%s' expects an argument", o);
    if (strcmp(o, "status") == 0 || strcmp(o, status_kw) == 0) {
        if (parse_status(args[*i + 1], 200, 599, &v, err) != RC_OK)
            return RC_ERR;
        ra->status = (int)v;
    } else if (strcmp(o, "content-type") == 0) {
        free(ra->ctype);
        ra->ctype = xstrdup(args[*i + 1]);
    } else if (strcmp(o, "string") == 0) {
        act_value_free(&ra->lf_body);
        memset(&ra->lf_body, 0, sizeof(ra->lf_body));
        free(ra->body);
        ra->body = xstrdup(args[*i + 1]);
        ra->body_len = strlen(ra->body);
    } else if (strcmp(o, "lf-string") == 0) {
        act_value_free(&ra->lf_body);
        memset(&ra->lf_body, 0, sizeof(ra->lf_body));
        if (act_value_parse(&ra->lf_body, "lf-string", args[*i + 1], err) !=
            RC_OK)
            return RC_ERR;
        free(ra->body);
        ra->body = xstrdup(ra->lf_body.literal ? ra->lf_body.literal : "");
        ra->body_len = strlen(ra->body);
    } else if (strcmp(o, "file") == 0) {
        free(ra->body);
        ra->body = NULL;
        if (file_read_all(args[*i + 1], &ra->body, &ra->body_len, err) != RC_OK)
            return RC_ERR;
    } else if (strcmp(o, "hdr") == 0) {
        if (*i + 2 >= argc)
            return set_err(err, "'hdr' expects a name and a value");
        ra->hdrs =
            xrealloc(ra->hdrs, sizeof(char *) * 2 * (size_t)(ra->nhdrs + 1));
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

/* Parses the reply options of "return" or "deny" from args[*i] up to
 * "if"/"unless"; <status_kw> also names the status ("deny_status"). */
static int reply_parse(struct return_act *ra, const char *status_kw, int *i,
                       int argc, char **args, char **err)
{
    while (*i < argc && strcmp(args[*i], "if") != 0 &&
           strcmp(args[*i], "unless") != 0) {
        if (strcmp(args[*i], status_kw) != 0 && strcmp(args[*i], "status") != 0)
            ra->custom = 1;
        if (return_parse_opt(ra, status_kw, i, argc, args, err) != RC_OK)
            return RC_ERR;
    }
    if (ra->body != NULL && ra->ctype == NULL)
        return set_err(err, "'%s' with a body needs a 'content-type'", args[0]);
    if (ra->body == NULL)
        ra->body = xstrdup("");
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
    if (reply_parse(ra, "status", &i, argc, args, err) != RC_OK)
        return RC_ERR;
    *cur = i;
    return RC_OK;
}

/* A plain deny lets the stream answer with its built-in page; a deny that
 * describes a reply sends it, as HAProxy's http-request deny does. */
static enum act_ret deny_answer(const struct return_act *ra, struct stream *s)
{
    struct http_txn *txn = http_txn_get(s);

    if (ra->custom)
        return reply_send(s, ra) == RC_OK ? ACT_RET_DONE : ACT_RET_ERR;
    if (txn != NULL)
        txn->deny_status = ra->status;
    return ACT_RET_DENY;
}

static enum act_ret deny_run(struct rule *r, struct stream *s, unsigned f)
{
    stats_count_denied(s);
    return deny_answer(r->arg, s);
}

/* The words of deny and tarpit: [deny_status N] [content-type T]
 * [string S|file F] [hdr N V]...; <status> is the default status. */
static int deny_parse_as(struct rule *r, int status, action_run_cb run,
                         int *cur, int argc, char **args, char **err)
{
    struct return_act *ra = xcalloc(1, sizeof(*ra));
    int i = 1;

    ra->status = status;
    r->arg = ra;
    r->free = return_free;
    r->run = run;
    if (reply_parse(ra, "deny_status", &i, argc, args, err) != RC_OK)
        return RC_ERR;
    *cur = i;
    return RC_OK;
}

static int deny_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                      int *cur, int argc, char **args, char **err)
{
    return deny_parse_as(r, rs == RULESET_HTTP_REQ ? 403 : 502, deny_run, cur,
                         argc, args, err);
}

/* The tarpit of <s> ended: HAProxy logs the time held as %Tw, and no
 * request time (TR -1), since the request was never processed. */
static void tarpit_end(struct stream *s, char cause)
{
    conn_setwatermark(s->sess->conn, CONN_RD, 0, 0);
    if (s->term[0] == '-') {
        s->term[0] = cause;
        s->term[1] = 'T';
    }
    s->times.queue = stream_elapsed_ms(s);
    s->times.req = -1;
}

/* Holds the request for "timeout tarpit" (else "timeout connect"; never
 * when neither is set) on the stream timer, then denies it as "deny"
 * does; a client that closes meanwhile is dropped at once. */
static enum act_ret tarpit_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct proxy *px = s->be ? s->be : s->fe;
    unsigned tmo =
        px->timeouts.tarpit ? px->timeouts.tarpit : px->timeouts.connect;
    struct http_txn *txn = http_txn_get(s);
    int rc = 1;

    if (txn == NULL)
        return ACT_RET_ERR;
    if (f & ACT_FLAG_FIRST) /* denied now, whether the client waits or not */
        stats_count_denied(s);
    if (txn->hc->cli_eof) {
        stream_timer_stop(s);
        tarpit_end(s, 'C');
        return ACT_RET_ABRT;
    }
    if (!(f & ACT_FLAG_FINAL)) {
        rc = tmo ? stream_timer_wait(s, tmo) : 0;
        /* reading on, so that the client's close is seen, but no more than
         * a buffer of what it sends meanwhile is kept */
        conn_setwatermark(s->sess->conn, CONN_RD, 0,
                          (size_t)worker_cfg()->global.bufsize);
        conn_enable(s->sess->conn, CONN_RD);
    }
    if (rc < 0)
        return ACT_RET_ERR;
    if (rc == 0)
        return ACT_RET_YIELD;
    tarpit_end(s, 'P');
    return deny_answer(r->arg, s);
}

/* tarpit: the options of deny, answering 500 by default. */
static int tarpit_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                        int *cur, int argc, char **args, char **err)
{
    stream_timer_init();
    return deny_parse_as(r, 500, tarpit_run, cur, argc, args, err);
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
    int have;

    if (m == NULL)
        return ACT_RET_CONT;
    /* the value first: it may read the header it replaces (HAProxy's
     * order) */
    have = !ha->del_only && act_value_eval(&ha->value, s, &v);
    if (ha->del_first)
        http_hdr_del(m, ha->name);
    if (!have)
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

/* "early-hint NAME FMT": a 103 with that header, at once. */
static enum act_ret early_hint_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct hdr_act *ha = r->arg;
    struct ist v;

    if (http_txn_get(s) != NULL && act_value_eval(&ha->value, s, &v))
        http_early_hint(s, ha->name, v);
    return ACT_RET_CONT;
}

/* set-header, add-header, del-header, and early-hint (a header too). */
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
    r->run = strcmp(args[0], "early-hint") == 0 ? early_hint_run : hdr_run;
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
                             const struct http_msg *req, char *buf, size_t cap,
                             size_t *len)
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
    if (ok && ra->append_slash &&
        (path.len == 0 || path.ptr[path.len - 1] != '/'))
        ok = buf_put(buf, cap, len, IST("/"));
    if (ok && !ra->drop_query && query.len > 0)
        ok = buf_put(buf, cap, len, IST("?")) && buf_put(buf, cap, len, query);
    return ok;
}

static enum act_ret redirect_run(struct rule *r, struct stream *s, unsigned f)
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
            return set_err(err,
                           "'redirect code' must be 301, 302, 303, "
                           "307 or 308, got %lld",
                           v);
        ra->code = (int)v;
        (*i)++;
    } else {
        return set_err(err, "'redirect' option '%s' is not supported yet", o);
    }
    (*i)++;
    return RC_OK;
}

static int redirect_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                          int *cur, int argc, char **args, char **err)
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
        return set_err(err,
                       "'redirect' expects 'location', 'prefix' or "
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
static int rewrite_apply(struct stream *s, enum rewrite_part part, struct ist v)
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

static int rewrite_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                         int *cur, int argc, char **args, char **err)
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
/* replace-header, replace-value, replace-path, replace-pathq,       */
/* replace-uri                                                       */
/* ---------------------------------------------------------------- */

struct replace_act {
    char *name; /* the header; NULL for a part of the request line */
    enum rewrite_part part; /* replace-path, -pathq, -uri */
    struct sample_regex *re;
    struct act_value with; /* replacement with \1..\9 references */
    int per_value;         /* replace-value: each comma-separated value */
};

static void replace_free(struct rule *r)
{
    struct replace_act *ra = r->arg;

    if (ra == NULL)
        return;
    sample_regex_free(ra->re);
    free(ra->name);
    act_value_free(&ra->with);
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

/* Replaces all of <v> (into the stream pool) with the expansion of <with>
 * when <re> matches anywhere in it, as HAProxy does; returns 0 on memory
 * failure. */
static int replace_one(struct stream *s, const struct sample_regex *re,
                       const char *with, struct ist *v)
{
    size_t ovec[20];
    char out[8192];
    long n;

    if (!sample_regex_exec(re, v->ptr, v->len, 0, ovec, 10))
        return 1;
    n = replace_expand(with, v->ptr, ovec, out, sizeof(out));
    if (n < 0)
        return 0;
    *v = pool_join(s->pool, &(struct ist){out, (size_t)n}, 1);
    return v->ptr != NULL;
}

/* Replaces each comma-separated element of a header value, keeping the
 * text between them as it was (HAProxy edits the elements in place). */
static int replace_values(struct stream *s, const struct sample_regex *re,
                          const char *with, struct ist *v)
{
    struct ist rest = *v, elem, orig, *joined;
    const char *prev = v->ptr;
    int n = 1, k = 0;

    while (h1_list_next(&rest, &elem))
        n += 2;
    joined = palloc(s->pool, (size_t)n * sizeof(*joined));
    if (joined == NULL)
        return 0;
    for (rest = *v; h1_list_next(&rest, &elem);) {
        orig = elem;
        if (!replace_one(s, re, with, &elem))
            return 0;
        joined[k++] = (struct ist){prev, (size_t)(orig.ptr - prev)};
        joined[k++] = elem;
        prev = orig.ptr + orig.len;
    }
    joined[k++] = (struct ist){prev, (size_t)(v->ptr + v->len - prev)};
    *v = pool_join(s->pool, joined, k);
    return v->ptr != NULL;
}

int http_hdr_replace(struct stream *s, struct http_msg *m, struct ist name,
                     const struct sample_regex *re, const char *with,
                     int per_value)
{
    int i;

    for (i = http_hdr_find(m, name, 0); i >= 0;
         i = http_hdr_find(m, name, (unsigned)i + 1)) {
        int ok = per_value ? replace_values(s, re, with, &m->hdrs[i].value)
                           : replace_one(s, re, with, &m->hdrs[i].value);

        if (!ok)
            return RC_ERR;
    }
    return RC_OK;
}

/* The part of the request line a replace-path/pathq/uri works on. */
static struct ist replace_subject(struct http_msg *m, enum rewrite_part part)
{
    struct ist path = http_msg_path(m);

    if (part == REWRITE_URI)
        return m->uri;
    if (part == REWRITE_PATH)
        return path;
    return (struct ist){path.ptr, (size_t)(m->uri.ptr + m->uri.len - path.ptr)};
}

/* Rewrites the request line's <ra>->part when the regex matches it. */
static int replace_line(struct stream *s, const struct replace_act *ra,
                        const char *with)
{
    struct ist v = replace_subject(&http_txn_get(s)->req, ra->part);
    const char *before = v.ptr;

    if (!replace_one(s, ra->re, with, &v))
        return 0;
    return v.ptr == before || rewrite_apply(s, ra->part, v);
}

static enum act_ret replace_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct replace_act *ra = r->arg;
    struct http_msg *m = act_msg(s);
    struct ist with;

    if (m == NULL || !act_value_eval(&ra->with, s, &with))
        return ACT_RET_CONT;
    if (ra->name == NULL)
        return replace_line(s, ra, with.ptr) ? ACT_RET_CONT : ACT_RET_ERR;
    return http_hdr_replace(s, m, ist_from(ra->name), ra->re, with.ptr,
                            ra->per_value) == RC_OK
               ? ACT_RET_CONT
               : ACT_RET_ERR;
}

/* "replace-header|replace-value NAME REGEX FMT" and
 * "replace-path|replace-pathq|replace-uri REGEX FMT". */
static int replace_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                         int *cur, int argc, char **args, char **err)
{
    static const char *const lines[] = {"replace-path", "replace-pathq",
                                        "replace-uri"};
    static const enum rewrite_part parts[] = {REWRITE_PATH, REWRITE_PATHQ,
                                              REWRITE_URI};
    int hdr = strcmp(args[0], "replace-header") == 0 ||
              strcmp(args[0], "replace-value") == 0;
    struct replace_act *ra;
    size_t k;

    if (argc < 3 + hdr)
        return set_err(err, "'%s' expects %sa regex and a replacement", args[0],
                       hdr ? "a header name, " : "");
    ra = xcalloc(1, sizeof(*ra));
    r->arg = ra;
    r->free = replace_free;
    r->run = replace_run;
    ra->per_value = strcmp(args[0], "replace-value") == 0;
    for (k = 0; !hdr && strcmp(lines[k], args[0]) != 0; k++)
        ;
    if (hdr)
        ra->name = xstrdup(args[1]);
    else
        ra->part = parts[k];
    ra->re = sample_regex_new(args[1 + hdr], strlen(args[1 + hdr]), 0, err);
    if (ra->re == NULL ||
        act_value_parse(&ra->with, args[0], args[2 + hdr], err) != RC_OK)
        return RC_ERR;
    *cur = 3 + hdr;
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* set-status, set-log-level                                         */
/* ---------------------------------------------------------------- */

/* "set-status N [reason R]": iarg is the status, arg the reason or NULL. */
static enum act_ret set_status_run(struct rule *r, struct stream *s, unsigned f)
{
    struct http_txn *txn = http_txn_get(s);

    if (txn == NULL)
        return ACT_RET_CONT;
    txn->res.status = (int)r->iarg;
    txn->res.reason =
        ist_from(r->arg != NULL ? (const char *)r->arg
                                : http_status_reason((int)r->iarg));
    return ACT_RET_CONT;
}

/* Frees the reason. */
static void arg_free(struct rule *r)
{
    free(r->arg);
}

static int set_status_parse(struct cfg_ctx *ctx, struct rule *r,
                            enum ruleset rs, int *cur, int argc, char **args,
                            char **err)
{
    r->run = set_status_run;
    r->free = arg_free;
    if (argc < 2)
        return set_err(err, "'set-status' expects a status code");
    if (parse_status(args[1], 100, 999, &r->iarg, err) != RC_OK)
        return RC_ERR;
    *cur = 2;
    if (argc > 2 && strcmp(args[2], "reason") == 0) {
        if (argc < 4)
            return set_err(err, "'set-status' 'reason' expects a text");
        r->arg = xstrdup(args[3]);
        *cur = 4;
    }
    return RC_OK;
}

/* Records the level (or silence) for the logger; see core/logctl.h. */
static enum act_ret log_level_run(struct rule *r, struct stream *s, unsigned f)
{
    struct logctl *lc = logctl_need(s);

    if (lc != NULL)
        lc->level = (int)r->iarg;
    return ACT_RET_CONT;
}

static int log_level_parse_act(struct cfg_ctx *ctx, struct rule *r,
                               enum ruleset rs, int *cur, int argc, char **args,
                               char **err)
{
    r->run = log_level_run;
    if (argc < 2)
        return set_err(err, "'set-log-level' expects a level or 'silent'");
    if (strcmp(args[1], "silent") == 0)
        r->iarg = LOGCTL_LEVEL_SILENT;
    else if ((r->iarg = log_level_parse(args[1])) < 0)
        return set_err(err,
                       "'set-log-level' expects a level (emerg, alert, "
                       "crit, err, warning, notice, info, debug) or "
                       "'silent', got '%s'",
                       args[1]);
    logctl_init();
    *cur = 2;
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* normalize-uri                                                     */
/* ---------------------------------------------------------------- */

enum norm_kind {
    NORM_MERGE_SLASHES,
    NORM_STRIP_DOT,
    NORM_STRIP_DOTDOT,
    NORM_PERCENT_UPPER,
    NORM_QUERY_SORT,
};

/* iarg bit: "full" (path-strip-dotdot) or "strict" (percent-to-uppercase) */
#define NORM_OPT 0x100

static const char *const norm_names[] = {
    "path-merge-slashes",   "path-strip-dot",     "path-strip-dotdot",
    "percent-to-uppercase", "query-sort-by-name",
};

/* Appends the <n> bytes at <p> to <out> (room checked by the caller). */
static void out_put(char *out, size_t *len, const char *p, size_t n)
{
    memcpy(out + *len, p, n);
    *len += n;
}

/* Collapses runs of '/' into one. */
static size_t norm_merge_slashes(struct ist in, char *out)
{
    size_t i, len = 0;

    for (i = 0; i < in.len; i++)
        if (in.ptr[i] != '/' || len == 0 || out[len - 1] != '/')
            out[len++] = in.ptr[i];
    return len;
}

/* Drops "." segments: "/./" becomes "/", a final "/." becomes "/". */
static size_t norm_strip_dot(struct ist in, char *out)
{
    size_t i = 0, len = 0;

    while (i < in.len) {
        const char *slash = memchr(in.ptr + i, '/', in.len - i);
        size_t seg = slash ? (size_t)(slash - in.ptr) - i : in.len - i;

        if (!(seg == 1 && in.ptr[i] == '.')) {
            out_put(out, &len, in.ptr + i, seg);
            if (slash != NULL)
                out[len++] = '/';
        }
        i += seg + (slash != NULL);
    }
    return len;
}

/* Removes each "/.." with the segment before it; those with nothing
 * before stay at the start unless <full>, and a final "/.." leaves a
 * trailing slash (HAProxy's uri_normalizer_path_dotdot). Segments are
 * "/name" units, kept on a stack of slices of <in>. */
static size_t norm_strip_dotdot(struct ist in, int full, char *out)
{
    struct ist *stack = malloc((in.len + 1) * sizeof(*stack));
    size_t i = 0, len = 0, depth = 0, up = 0, k;

    if (stack == NULL)
        return (size_t)-1;
    while (i < in.len) {
        size_t e = i + 1;

        while (e < in.len && in.ptr[e] != '/')
            e++;
        if (in.ptr[i] != '/' || e - i != 3 || in.ptr[i + 1] != '.' ||
            in.ptr[i + 2] != '.')
            stack[depth++] = (struct ist){in.ptr + i, e - i};
        else if (depth > 0)
            depth--;
        else
            up++;
        if (e == in.len && e - i == 3 && in.ptr[i + 1] == '.' &&
            in.ptr[i + 2] == '.')
            stack[depth++] = IST("/");
        i = e;
    }
    for (k = 0; !full && k < up; k++)
        out_put(out, &len, "/..", 3);
    for (k = 0; k < depth; k++)
        out_put(out, &len, stack[k].ptr, stack[k].len);
    free(stack);
    if (len == 0)
        out[len++] = '/';
    return len;
}

/* Upper-cases the digits of %xx escapes; with <strict>, a '%' without
 * two hex digits is an error (-1). */
static long norm_percent_upper(struct ist in, int strict, char *out)
{
    size_t i;

    for (i = 0; i < in.len; i++) {
        out[i] = in.ptr[i];
        if (in.ptr[i] != '%')
            continue;
        if (i + 2 < in.len && isxdigit((unsigned char)in.ptr[i + 1]) &&
            isxdigit((unsigned char)in.ptr[i + 2])) {
            out[i + 1] = (char)toupper((unsigned char)in.ptr[i + 1]);
            out[i + 2] = (char)toupper((unsigned char)in.ptr[i + 2]);
            i += 2;
        } else if (strict) {
            return -1;
        }
    }
    return (long)in.len;
}

/* Orders parameters by name (bytes, shorter first), stable. */
static int param_cmp(const void *a, const void *b)
{
    const struct ist *pa = a, *pb = b;
    const char *ea = memchr(pa->ptr, '=', pa->len);
    const char *eb = memchr(pb->ptr, '=', pb->len);
    size_t la = ea ? (size_t)(ea - pa->ptr) : pa->len;
    size_t lb = eb ? (size_t)(eb - pb->ptr) : pb->len;
    int c = memcmp(pa->ptr, pb->ptr, la < lb ? la : lb);

    if (c != 0)
        return c;
    if (la != lb)
        return la < lb ? -1 : 1;
    return pa->ptr < pb->ptr ? -1 : pa->ptr > pb->ptr;
}

/* Sorts the '&'-separated parameters of <in> by name. */
static size_t norm_query_sort(struct ist in, char *out)
{
    size_t n = 1, i, k = 0, len = 0;
    struct ist *params;
    const char *p = in.ptr;

    for (i = 0; i < in.len; i++)
        n += in.ptr[i] == '&';
    params = malloc(n * sizeof(*params));
    if (params == NULL)
        return (size_t)-1;
    for (i = 0; i <= in.len; i++)
        if (i == in.len || in.ptr[i] == '&') {
            params[k++] = (struct ist){p, (size_t)(in.ptr + i - p)};
            p = in.ptr + i + 1;
        }
    qsort(params, n, sizeof(*params), param_cmp);
    for (i = 0; i < n; i++) {
        if (i > 0)
            out[len++] = '&';
        out_put(out, &len, params[i].ptr, params[i].len);
    }
    free(params);
    return len;
}

/* Runs one normalizer over <in> into <out> (room: in.len * 4 + 4 bytes);
 * returns the length, (size_t)-1 for invalid input. */
static size_t norm_apply(const struct rule *r, struct ist in, char *out)
{
    int opt = (r->iarg & NORM_OPT) != 0;

    switch ((enum norm_kind)(r->iarg & ~NORM_OPT)) {
    case NORM_MERGE_SLASHES:
        return norm_merge_slashes(in, out);
    case NORM_STRIP_DOT:
        return norm_strip_dot(in, out);
    case NORM_STRIP_DOTDOT:
        return norm_strip_dotdot(in, opt, out);
    case NORM_PERCENT_UPPER: {
        long n = norm_percent_upper(in, opt, out);

        return n < 0 ? (size_t)-1 : (size_t)n;
    }
    default:
        return norm_query_sort(in, out);
    }
}

/* Picks the part a normalizer works on: the query for query-sort, path
 * and query for percent-to-uppercase, else the path. */
static enum rewrite_part norm_part(const struct rule *r,
                                   const struct http_msg *m, struct ist *in)
{
    struct ist path = http_msg_path(m);

    if ((r->iarg & ~NORM_OPT) == NORM_QUERY_SORT) {
        *in = http_msg_query(m);
        return REWRITE_QUERY;
    }
    if ((r->iarg & ~NORM_OPT) == NORM_PERCENT_UPPER) {
        *in = (struct ist){path.ptr,
                           (size_t)(m->uri.ptr + m->uri.len - path.ptr)};
        return REWRITE_PATHQ;
    }
    *in = path;
    return REWRITE_PATH;
}

static enum act_ret normalize_run(struct rule *r, struct stream *s, unsigned f)
{
    struct http_txn *txn = http_txn_get(s);
    enum rewrite_part part;
    struct ist in;
    size_t n;
    char *out;

    if (txn == NULL || txn->req.uri.ptr == NULL)
        return ACT_RET_CONT;
    part = norm_part(r, &txn->req, &in);
    if (in.len == 0)
        return ACT_RET_CONT;
    out = palloc(s->pool, in.len * 4 + 4);
    if (out == NULL)
        return ACT_RET_ERR;
    n = norm_apply(r, in, out);
    if (n == (size_t)-1)
        return ACT_RET_INV;
    return rewrite_apply(s, part, (struct ist){out, n}) ? ACT_RET_CONT
                                                        : ACT_RET_ERR;
}

/* "normalize-uri NAME [full|strict]": iarg is the kind, with NORM_OPT
 * for the option. */
static int normalize_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                           int *cur, int argc, char **args, char **err)
{
    size_t k, n = sizeof(norm_names) / sizeof(norm_names[0]);
    const char *opt;

    r->run = normalize_run;
    for (k = 0; argc > 1 && k < n && strcmp(norm_names[k], args[1]) != 0; k++)
        ;
    if (argc < 2 || k == n)
        return set_err(err,
                       "'normalize-uri' expects one of path-merge-slashes, "
                       "path-strip-dot, path-strip-dotdot, "
                       "percent-to-uppercase, query-sort-by-name, got '%s'",
                       argc > 1 ? args[1] : "");
    r->iarg = (long long)k;
    *cur = 2;
    opt = k == NORM_STRIP_DOTDOT    ? "full"
          : k == NORM_PERCENT_UPPER ? "strict"
                                    : NULL;
    if (opt != NULL && argc > 2 && strcmp(args[2], opt) == 0) {
        r->iarg |= NORM_OPT;
        *cur = 3;
    }
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* Frontend keywords run as leading rules: monitor-uri, capture      */
/* ---------------------------------------------------------------- */

/* HAProxy's built-in 200 page, sent on the monitor URI. */
static const char monitor_body[] =
    "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n";

/* Answers the exact monitor URI and closes, unlogged, as HAProxy. */
static enum act_ret monitor_run(struct rule *r, struct stream *s, unsigned f)
{
    struct http_txn *txn = http_txn_get(s);
    struct logctl *lc;
    char len[24];

    if (txn == NULL || !ist_eq(txn->req.uri, ist_from(r->arg)))
        return ACT_RET_CONT;
    lc = logctl_need(s);
    if (lc != NULL)
        lc->level = LOGCTL_LEVEL_SILENT;
    txn->flags |= TXN_F_CLI_CLOSE;
    if (http_reply_begin(s, 200, (struct ist){NULL, 0}) != RC_OK)
        return ACT_RET_ERR;
    snprintf(len, sizeof(len), "%zu", sizeof(monitor_body) - 1);
    http_reply_header(s, IST("content-length"), ist_from(len));
    http_reply_header(s, IST("cache-control"), IST("no-cache"));
    http_reply_header(s, IST("content-type"), IST("text/html"));
    http_reply_headers_end(s);
    http_reply_body(s, monitor_body, sizeof(monitor_body) - 1);
    http_reply_end(s);
    return ACT_RET_DONE;
}

/* One capture slot and the rule filling it: "capture request|response
 * header NAME len N" (<name>), "declare capture request|response len N"
 * (neither), "http-request capture EXPR len N" (<expr>); or, with <by_id>,
 * "http-request|http-response capture EXPR id N", which fills slot <idx>
 * of the stream's frontend and owns no slot. */
struct capture_act {
    char *name;
    struct sample_expr *expr;
    unsigned len;
    unsigned idx;   /* slot in configuration order */
    unsigned total; /* slots of this direction in the frontend */
    int res;        /* response side */
    int by_id;
};

static void capture_free(struct rule *r)
{
    struct capture_act *ca = r->arg;

    if (ca != NULL) {
        free(ca->name);
        sample_expr_free(ca->expr);
    }
    free(ca);
}

/* Stores the last occurrence of the header, whole, cut to the length. */
static enum act_ret capture_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct capture_act *ca = r->arg;
    struct http_txn *txn = http_txn_get(s);
    struct http_msg *m;
    struct logctl *lc = logctl_need(s);
    struct logctl_caps *caps;
    struct ist v = {NULL, 0};
    int i;

    if (txn == NULL || lc == NULL)
        return ACT_RET_CONT;
    m = ca->res ? &txn->res : &txn->req;
    caps = ca->res ? &lc->res : &lc->req;
    for (i = ca->name ? http_hdr_find(m, ist_from(ca->name), 0) : -1; i >= 0;
         i = http_hdr_find(m, ist_from(ca->name), (unsigned)i + 1))
        v = m->hdrs[i].value;
    /* without the header the slots still exist: the logger prints them */
    logctl_capture(s, caps, ca->idx, ca->total, v, ca->len);
    return ACT_RET_CONT;
}

static enum act_ret capture_sample_run(struct rule *r, struct stream *s,
                                       unsigned f);

/* The capture slot rule behind <r>, or NULL if <r> fills no slot of its
 * own. */
static const struct capture_act *capture_slot_of(const struct rule *r)
{
    const struct capture_act *ca;

    if (r->run != capture_run && r->run != capture_sample_run)
        return NULL;
    ca = r->arg;
    return ca->by_id ? NULL : ca;
}

/* The slot of <px> that the "id" rule <ca> names, or NULL. */
static const struct capture_act *capture_slot_find(const struct proxy *px,
                                                   const struct capture_act *ca)
{
    const struct rule *r =
        px->rules[ca->res ? RULESET_HTTP_RES : RULESET_HTTP_REQ].first;
    const struct capture_act *slot;

    for (; r != NULL; r = r->next)
        if ((slot = capture_slot_of(r)) != NULL && slot->idx == ca->idx)
            return slot;
    return NULL;
}

unsigned http_capture_slots(const struct proxy *fe, int res)
{
    const struct rule *r =
        fe->rules[res ? RULESET_HTTP_RES : RULESET_HTTP_REQ].first;
    unsigned n = 0;

    for (; r != NULL; r = r->next)
        n += capture_slot_of(r) != NULL;
    return n;
}

/* Stores the expression's value as a string, cut to the length. */
static enum act_ret capture_sample_run(struct rule *r, struct stream *s,
                                       unsigned f)
{
    const struct capture_act *ca = r->arg;
    struct logctl *lc = logctl_need(s);
    unsigned total = ca->total, len = ca->len;
    struct ist v = {NULL, 0};
    struct smp_env env;
    struct sample smp;

    if (lc == NULL)
        return ACT_RET_CONT;
    if (ca->by_id) {
        /* the slot is the frontend's, which a backend rule cannot know */
        const struct capture_act *slot = capture_slot_find(s->fe, ca);

        if (slot == NULL)
            return ACT_RET_CONT;
        total = slot->total;
        len = slot->len;
    }
    stream_env(s, &env);
    memset(&smp, 0, sizeof(smp));
    if (sample_expr_eval(ca->expr, &env, &smp) &&
        sample_cast(&smp, SMP_T_STR, &env))
        v = smp.data.str;
    logctl_capture(s, ca->res ? &lc->res : &lc->req, ca->idx, total, v, len);
    return ACT_RET_CONT;
}

static const struct action_kw internal_kws[] = {
    {"monitor-uri", 0, 0, NULL},
    {"capture", 0, 0, NULL},
};

/* 1 if <r> is one of the leading rules built from frontend keywords. */
static int rule_is_leading(const struct rule *r)
{
    return r->run == monitor_run || r->run == capture_run;
}

/* Inserts <r> into <l> at its head (<first>) or after the leading rules
 * already there, keeping the list's tail right. */
static void rule_insert_leading(struct rule_list *l, struct rule *r, int first)
{
    struct rule **pp = &l->first;

    while (!first && *pp != NULL && rule_is_leading(*pp))
        pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
    if (r->next == NULL)
        l->tail = &r->next;
}

/* A rule for a frontend keyword at the current line. */
static struct rule *leading_rule(struct cfg_ctx *ctx,
                                 const struct action_kw *kw, action_run_cb run,
                                 void *arg, action_free_cb fr)
{
    struct rule *r = xcalloc(1, sizeof(*r));

    r->kw = kw;
    r->run = run;
    r->arg = arg;
    r->free = fr;
    r->file = xstrdup(ctx->file);
    r->line = ctx->line;
    return r;
}

/* "monitor-uri URI": an http-request rule placed before all others. */
static int parse_monitor_uri(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    struct rule_list *l = &ctx->px->rules[RULESET_HTTP_REQ];
    struct rule *r;

    if (args[1][0] != '/')
        return set_err(err, "'monitor-uri' expects an URI starting with "
                            "'/'");
    for (r = l->first; r != NULL && rule_is_leading(r); r = r->next)
        if (r->run == monitor_run)
            return set_err(err, "'monitor-uri' is already set");
    logctl_init();
    rule_insert_leading(l,
                        leading_rule(ctx, &internal_kws[0], monitor_run,
                                     xstrdup(args[1]), arg_free),
                        1);
    return RC_OK;
}

/* A new capture slot of <l>, in declaration order whatever the kind of
 * capture rule: every capture rule of the list learns the new slot count. */
static struct capture_act *capture_slot_new(struct rule_list *l, int res,
                                            const char *len_word, char **err)
{
    struct capture_act *ca;
    long long len;
    struct rule *r;
    unsigned n = 0;

    if (cfgval_int(len_word, 1, 65535, &len, err) != RC_OK)
        return NULL;
    for (r = l->first; r != NULL; r = r->next)
        n += capture_slot_of(r) != NULL;
    for (r = l->first; r != NULL; r = r->next)
        if (capture_slot_of(r) != NULL)
            ((struct capture_act *)r->arg)->total = n + 1;
    ca = xcalloc(1, sizeof(*ca));
    ca->len = (unsigned)len;
    ca->idx = n;
    ca->total = n + 1;
    ca->res = res;
    logctl_init();
    return ca;
}

/* A leading capture rule of <ctx>'s proxy owning a new slot of <len_word>
 * bytes, capturing header <name> (NULL: a declared slot). */
static int capture_leading_add(struct cfg_ctx *ctx, int res, const char *name,
                               const char *len_word, char **err)
{
    struct rule_list *l =
        &ctx->px->rules[res ? RULESET_HTTP_RES : RULESET_HTTP_REQ];
    struct capture_act *ca = capture_slot_new(l, res, len_word, err);

    if (ca == NULL)
        return RC_ERR;
    ca->name = name ? xstrdup(name) : NULL;
    rule_insert_leading(
        l, leading_rule(ctx, &internal_kws[1], capture_run, ca, capture_free),
        0);
    return RC_OK;
}

/* "capture request|response header NAME len N": a leading rule of the
 * frontend's http-request (or http-response) list. */
static int parse_capture(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    int res = strcmp(args[1], "response") == 0;

    if ((!res && strcmp(args[1], "request") != 0) ||
        strcmp(args[2], "header") != 0 || argc != 6 ||
        strcmp(args[4], "len") != 0)
        return set_err(err, "'capture' expects 'request header NAME len N' "
                            "or 'response header NAME len N'");
    return capture_leading_add(ctx, res, args[3], args[5], err);
}

/* "declare capture request|response len N": an empty slot of the
 * frontend for "capture EXPR id N" rules (of its backends too). */
static int parse_declare(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    int res = strcmp(args[2], "response") == 0;

    if (strcmp(args[1], "capture") != 0 ||
        (!res && strcmp(args[2], "request") != 0) ||
        strcmp(args[3], "len") != 0)
        return set_err(err, "'declare' expects 'capture request len N' or "
                            "'capture response len N'");
    return capture_leading_add(ctx, res, NULL, args[4], err);
}

/* The "id N" form: slot N of the frontend, checked now in a frontend and
 * when it runs in a backend (HAProxy does the same). */
static struct capture_act *capture_by_id(struct cfg_ctx *ctx, int res,
                                         const char *id_word, char **err)
{
    struct capture_act *ca;
    long long id;

    if (cfgval_int(id_word, 0, 65535, &id, err) != RC_OK)
        return NULL;
    if ((ctx->px->cap & PX_CAP_FE) && !(ctx->px->cap & PX_CAP_DEF) &&
        (unsigned)id >= http_capture_slots(ctx->px, res)) {
        set_err(err,
                "'capture' id %lld: no such %s capture slot in this "
                "proxy",
                id, res ? "response" : "request");
        return NULL;
    }
    ca = xcalloc(1, sizeof(*ca));
    ca->idx = (unsigned)id;
    ca->res = res;
    ca->by_id = 1;
    logctl_init();
    return ca;
}

/* "http-request capture EXPR len N": a new request slot of the frontend,
 * logged by %hr in declaration order with the header captures; "...
 * capture EXPR id N" (also in http-response) fills a declared slot. */
static int capture_sample_parse(struct cfg_ctx *ctx, struct rule *r,
                                enum ruleset rs, int *cur, int argc,
                                char **args, char **err)
{
    int res = rs == RULESET_HTTP_RES,
        by_id = argc >= 4 && !strcmp(args[2], "id");
    struct capture_act *ca;
    struct sample_expr *e;

    if (argc < 4 || (!by_id && (res || strcmp(args[2], "len") != 0)))
        return set_err(err, res ? "'http-response capture' expects 'EXPR id N'"
                                : "'http-request capture' expects 'EXPR len N' "
                                  "or 'EXPR id N'");
    if (!by_id && (!(ctx->px->cap & PX_CAP_FE) || (ctx->px->cap & PX_CAP_DEF)))
        return set_err(err, "'http-request capture EXPR len N' is only "
                            "allowed in a frontend or listen section");
    e = sample_expr_parse(args[1], err);
    if (e == NULL)
        return RC_ERR;
    ca = by_id ? capture_by_id(ctx, res, args[3], err)
               : capture_slot_new(&ctx->px->rules[RULESET_HTTP_REQ], 0, args[3],
                                  err);
    if (ca == NULL) {
        sample_expr_free(e);
        return RC_ERR;
    }
    ca->expr = e;
    r->arg = ca;
    r->run = capture_sample_run;
    r->free = capture_free;
    *cur = 4;
    return RC_OK;
}

const struct cfg_kw http_act_keywords[] = {
    {"monitor-uri", CFG_SEC_FRONTEND | CFG_SEC_LISTEN, 1, 1, parse_monitor_uri,
     0, 0, 0},
    {"capture", CFG_SEC_FRONTEND | CFG_SEC_LISTEN, 5, 5, parse_capture, 0, 0,
     0},
    {"declare", CFG_SEC_FRONTEND | CFG_SEC_LISTEN, 4, 4, parse_declare, 0, 0,
     0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

static const struct action_kw http_actions[] = {
    {"allow", HTTP_RULESETS, 0, allow_parse},
    {"reject", RULESET_BIT(RULESET_HTTP_REQ), 0, allow_parse},
    {"deny", RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES), 0,
     deny_parse},
    {"return", RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES), 0,
     return_parse},
    {"tarpit", RULESET_BIT(RULESET_HTTP_REQ), 0, tarpit_parse},
    {"set-header", HTTP_RULESETS, 0, hdr_parse},
    {"add-header", HTTP_RULESETS, 0, hdr_parse},
    {"del-header", HTTP_RULESETS, 0, hdr_parse},
    {"early-hint", RULESET_BIT(RULESET_HTTP_REQ), 0, hdr_parse},
    {"replace-header", HTTP_RULESETS, 0, replace_parse},
    {"replace-value", HTTP_RULESETS, 0, replace_parse},
    {"replace-path", RULESET_BIT(RULESET_HTTP_REQ), 0, replace_parse},
    {"replace-pathq", RULESET_BIT(RULESET_HTTP_REQ), 0, replace_parse},
    {"replace-uri", RULESET_BIT(RULESET_HTTP_REQ), 0, replace_parse},
    {"redirect", RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES),
     0, redirect_parse},
    {"set-method", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-path", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-pathq", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-query", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-uri", RULESET_BIT(RULESET_HTTP_REQ), 0, rewrite_parse},
    {"set-status",
     RULESET_BIT(RULESET_HTTP_RES) | RULESET_BIT(RULESET_HTTP_AFTER), 0,
     set_status_parse},
    {"set-log-level",
     HTTP_RULESETS | RULESET_BIT(RULESET_TCP_CONT) |
         RULESET_BIT(RULESET_TCP_RES),
     0, log_level_parse_act},
    {"normalize-uri", RULESET_BIT(RULESET_HTTP_REQ), 0, normalize_parse},
    {"capture", RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES),
     0, capture_sample_parse},
    {NULL, 0, 0, NULL},
};

void http_act_init(void)
{
    action_register(http_actions);
}
