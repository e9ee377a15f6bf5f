/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Cookie-based server persistence, HAProxy 2.6's "cookie" keyword of
 * backends with the servers' "cookie VALUE" option. On the request, the
 * persistence cookie names the server to use (handed to core's balancing
 * as the stream's preferred server) and is stripped or un-prefixed for the
 * server as the mode says; on the response, the server's own cookie is
 * kept, deleted, rewritten or prefixed, and insert mode adds one naming
 * the server. With maxidle or maxlife an inserted cookie carries the
 * dates it was last refreshed and first set, after '|' (HAProxy's
 * format: 4-second units in five base64 digits), and a request whose
 * cookie is too idle or too old is balanced. The two states land in
 * %tsc's last characters (request: N none, I invalid, D down server, V
 * valid, E expired, O too old; response: N none, P passed, D deleted, I
 * inserted, U refreshed, R rewritten). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/lb.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/stream.h"
#include "core/util.h"
#include "http/http.h"
#include "http/http_ana.h"

enum cookie_mode {
    CK_PASSIVE = 0, /* none given: the server sets the cookie itself */
    CK_INSERT,
    CK_REWRITE,
    CK_PREFIX,
};

#define CK_INDIRECT 0x01
#define CK_NOCACHE  0x02
#define CK_POSTONLY 0x04
#define CK_PRESERVE 0x08
#define CK_HTTPONLY 0x10
#define CK_SECURE   0x20

/* A backend's "cookie" line. <attrs> is what follows "NAME=VALUE" in an
 * inserted cookie: "; path=/", the domains, HttpOnly, Secure, then the
 * "attr" values, in HAProxy's order whatever the line's. */
struct cookie_conf {
    char *name;
    enum cookie_mode mode;
    unsigned flags;
    char *attrs;
    unsigned maxidle, maxlife; /* seconds, 0: none */
};

/* A cookie date further in the future than this is not believed. */
#define CK_DATE_SKEW 86400

/* The prefix mode's delimiter between the server's value and the
 * application's; in the other modes the value ends at '|' (HAProxy's
 * date fields, which we do not write). */
#define CK_PREFIX_DELIM '~'
#define CK_DATE_DELIM   '|'

static void *cookie_conf_dup(const void *conf)
{
    const struct cookie_conf *c = conf;
    struct cookie_conf *d = xmalloc(sizeof(*d));

    *d = *c;
    d->name = xstrdup(c->name);
    d->attrs = xstrdup(c->attrs);
    return d;
}

static void cookie_conf_free(void *conf)
{
    struct cookie_conf *c = conf;

    free(c->name);
    free(c->attrs);
    free(c);
}

static const struct px_persist_ops cookie_persist_ops = {
    cookie_conf_dup,
    cookie_conf_free,
};

/* Appends "; <what><arg>" to the string <*attrs>. */
static void attrs_add(char **attrs, const char *what, const char *arg)
{
    size_t len = strlen(*attrs) + strlen(what) + strlen(arg) + 3;
    char *s = xmalloc(len);

    snprintf(s, len, "%s; %s%s", *attrs, what, arg);
    free(*attrs);
    *attrs = s;
}

/* Parses duration <arg> into *<sec>: seconds unless a unit says
 * otherwise, as HAProxy's maxidle and maxlife. */
static int cookie_duration(const char *arg, unsigned *sec, char **err)
{
    char buf[64];
    unsigned ms;

    if (arg[0] != '\0' && strspn(arg, "0123456789") == strlen(arg) &&
        strlen(arg) < sizeof(buf) - 1) {
        snprintf(buf, sizeof(buf), "%ss", arg);
        arg = buf;
    }
    if (cfgval_duration_ms(arg, &ms, err) != RC_OK)
        return RC_ERR;
    *sec = ms / 1000;
    return RC_OK;
}

/* Parses the option at args[*i] of a "cookie" line into <c> (the "attr"
 * values into <*late>), moving *<i> past its argument if it has one. */
static int cookie_opt(struct cookie_conf *c, int *i, int argc, char **args,
                      char **late, char **err)
{
    static const char *const modes[] = {"", "insert", "rewrite", "prefix"};
    static const char *const flags[] = {"indirect", "nocache",  "postonly",
                                        "preserve", "httponly", "secure"};
    const char *o = args[*i];
    int m;

    for (m = CK_INSERT; m <= CK_PREFIX; m++)
        if (strcmp(o, modes[m]) == 0) {
            if (c->mode != CK_PASSIVE && c->mode != (enum cookie_mode)m)
                return set_err(err, "'cookie' supports only one of "
                                    "'rewrite', 'insert' and 'prefix'");
            c->mode = (enum cookie_mode)m;
            return RC_OK;
        }
    for (m = 0; m < (int)(sizeof(flags) / sizeof(flags[0])); m++)
        if (strcmp(o, flags[m]) == 0) {
            c->flags |= 1u << m;
            return RC_OK;
        }
    if (strcmp(o, "domain") == 0 || strcmp(o, "attr") == 0) {
        if (*i + 1 >= argc)
            return set_err(err, "'cookie' option '%s' expects a value", o);
        (*i)++;
        if (o[0] == 'a' && strpbrk(args[*i], ";\r\n") != NULL)
            return set_err(err,
                           "'cookie' option 'attr': '%s' must not "
                           "contain ';' or line breaks",
                           args[*i]);
        if (o[0] == 'd')
            attrs_add(&c->attrs, "domain=", args[*i]);
        else
            attrs_add(late, args[*i], "");
        return RC_OK;
    }
    if (strcmp(o, "maxidle") == 0 || strcmp(o, "maxlife") == 0) {
        if (*i + 1 >= argc)
            return set_err(err, "'cookie' option '%s' expects a duration", o);
        (*i)++;
        return cookie_duration(args[*i],
                               o[3] == 'i' ? &c->maxidle : &c->maxlife, err);
    }
    if (strcmp(o, "dynamic") == 0)
        return set_err(err, "'cookie' option '%s' is not supported yet", o);
    return set_err(err, "'cookie': unknown option '%s'", o);
}

/* "cookie NAME [rewrite|insert|prefix] [indirect] [nocache] [postonly]
 * [preserve] [httponly] [secure] [domain D]* [attr V]*" */
static int parse_cookie(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    struct cookie_conf *c = xcalloc(1, sizeof(*c));
    char *late = xstrdup("");
    int i, rc = RC_OK;

    c->name = xstrdup(args[1]);
    c->attrs = xstrdup("; path=/");
    for (i = 2; i < argc && rc == RC_OK; i++)
        rc = cookie_opt(c, &i, argc, args, &late, err);
    if (rc == RC_OK && (c->flags & CK_PRESERVE) && c->mode != CK_INSERT &&
        !(c->flags & CK_INDIRECT))
        rc = set_err(err, "'cookie' option 'preserve' requires 'insert' or "
                          "'indirect'");
    if (c->flags & CK_HTTPONLY)
        attrs_add(&c->attrs, "HttpOnly", "");
    if (c->flags & CK_SECURE)
        attrs_add(&c->attrs, "Secure", "");
    if (*late != '\0')
        attrs_add(&c->attrs, late + 2, "");
    free(late);
    if (rc != RC_OK) {
        cookie_conf_free(c);
        return RC_ERR;
    }
    if (ctx->px->persist != NULL)
        ctx->px->persist_ops->free(ctx->px->persist);
    ctx->px->persist = c;
    ctx->px->persist_ops = &cookie_persist_ops;
    return RC_OK;
}

const struct cfg_kw http_cookie_keywords[] = {
    {"cookie", CFG_SEC_BE, 1, -1, parse_cookie, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* The cookie settings of <s>'s backend, or NULL. */
static const struct cookie_conf *cookie_conf_of(const struct stream *s)
{
    if (s->be == NULL || s->be->persist_ops != &cookie_persist_ops)
        return NULL;
    return s->be->persist;
}

/* ---------------------------------------------------------------- */
/* Request                                                           */
/* ---------------------------------------------------------------- */

/* One "name=value" of a Cookie header. */
struct cookie_pair {
    struct ist name, value;
};

/* Takes the next ';'-separated pair of <*rest> into <p>, trimmed; 0 when
 * nothing is left. */
static int cookie_next(struct ist *rest, struct cookie_pair *p)
{
    const char *s = rest->ptr, *end = rest->ptr + rest->len, *e, *eq;

    while (s < end && (*s == ' ' || *s == '\t' || *s == ';'))
        s++;
    if (s == end)
        return 0;
    e = memchr(s, ';', (size_t)(end - s));
    if (e == NULL)
        e = end;
    rest->ptr = e;
    rest->len = (size_t)(end - e);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    eq = memchr(s, '=', (size_t)(e - s));
    if (eq == NULL) {
        p->name = (struct ist){s, (size_t)(e - s)};
        p->value = (struct ist){e, 0};
    } else {
        p->name = (struct ist){s, (size_t)(eq - s)};
        p->value = (struct ist){eq + 1, (size_t)(e - eq - 1)};
    }
    while (p->name.len > 0 && (p->name.ptr[p->name.len - 1] == ' ' ||
                               p->name.ptr[p->name.len - 1] == '\t'))
        p->name.len--;
    return 1;
}

static const char b64_digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes the date <t> (Unix seconds) as HAProxy does in cookies: 4-second
 * units, 30 bits in five base64 digits, the high ones first. */
static void date_encode(long long t, char out[5])
{
    unsigned v = (unsigned)(t >> 2) & 0x3fffffffu;
    int i;

    for (i = 0; i < 5; i++)
        out[i] = b64_digits[(v >> (24 - 6 * i)) & 0x3f];
}

/* The date written by date_encode() at <p> (five digits), or 0. */
static long long date_decode(const char *p)
{
    long long v = 0;
    int i;

    for (i = 0; i < 5; i++) {
        const char *d = p[i] != '\0' ? strchr(b64_digits, p[i]) : NULL;

        if (d == NULL)
            return 0;
        v = (v << 6) | (d - b64_digits);
    }
    return v << 2;
}

/* Reads the dates after the server's part <v> (from <bar>, its first
 * '|') into <txn>. */
static void cookie_dates(struct http_txn *txn, struct ist v, const char *bar)
{
    const char *end = v.ptr + v.len, *bar2;

    if (end - (bar + 1) >= 5)
        txn->ck_last = date_decode(bar + 1);
    bar2 = memchr(bar + 1, CK_DATE_DELIM, (size_t)(end - bar - 1));
    if (bar2 != NULL && end - bar2 > 5)
        txn->ck_first = date_decode(bar2 + 1);
}

/* Returns 1 if <date> is more than <max> seconds old, or too far ahead. */
static int date_past(long long date, unsigned max, long long now)
{
    return now - date > (long long)max || date - now > CK_DATE_SKEW;
}

/* The request state of a cookie whose dates <txn> holds: 'O' too old for
 * maxlife, 'E' idle beyond maxidle (both forget the dates), else 0. */
static char cookie_age(struct http_txn *txn, const struct cookie_conf *c)
{
    long long now = (long long)time(NULL);
    char st = 0;

    if (txn->ck_first != 0 && c->maxlife != 0 &&
        date_past(txn->ck_first, c->maxlife, now))
        st = 'O';
    else if (txn->ck_last != 0 && c->maxidle != 0 &&
             date_past(txn->ck_last, c->maxidle, now))
        st = 'E';
    if (st != 0)
        txn->ck_last = txn->ck_first = 0;
    return st;
}

/* Returns 1 if <srv> may take a persistent request: up and not in
 * maintenance, or "option persist". */
static int cookie_server_ok(const struct server *srv)
{
    return server_takes_persistent(srv) || (srv->px->options & PX_OPT_PERSIST);
}

/* The server of <s>'s backend whose cookie value is <v>, or NULL. */
static struct server *cookie_server(const struct stream *s, struct ist v)
{
    struct server *srv;

    for (srv = s->be->servers; srv != NULL; srv = srv->next)
        if (srv->cookie != NULL && ist_eq(ist_from(srv->cookie), v))
            return srv;
    return NULL;
}

/* The persistence cookie <value> came: records what it names (the first
 * one naming a server that may take the request decides). */
static void cookie_choose(struct http_txn *txn, const struct cookie_conf *c,
                          struct ist value)
{
    struct stream *s = txn->s;
    const char *bar = memchr(value.ptr, CK_DATE_DELIM, value.len);
    const char *d = c->mode == CK_PREFIX
                        ? memchr(value.ptr, CK_PREFIX_DELIM, value.len)
                        : bar;
    struct server *srv;
    char age;

    if (s->prefer != NULL)
        return;
    if (bar != NULL)
        cookie_dates(txn, value, bar);
    if ((age = cookie_age(txn, c)) != 0) {
        s->persist_log[0] = age;
        return;
    }
    if (d != NULL)
        value.len = (size_t)(d - value.ptr);
    srv = cookie_server(s, value);
    if (srv == NULL) {
        s->persist_log[0] = 'I';
        return;
    }
    s->persist_log[0] = server_takes_persistent(srv) ? 'V' : 'D';
    if (cookie_server_ok(srv))
        s->prefer = srv;
}

/* Appends <p> (<value> in place of its own) to <out> at *<len>. */
static void cookie_put(char *out, size_t *len, struct ist name,
                       struct ist value, int has_eq)
{
    if (*len > 0) {
        memcpy(out + *len, "; ", 2);
        *len += 2;
    }
    memcpy(out + *len, name.ptr, name.len);
    *len += name.len;
    if (has_eq)
        out[(*len)++] = '=';
    memcpy(out + *len, value.ptr, value.len);
    *len += value.len;
}

/* Reads the Cookie header <h> of <txn>'s request, rewriting it for the
 * server when the mode says (prefix: the server's part goes; insert with
 * indirect: the whole cookie goes). Returns 0 when nothing is left of it,
 * -1 when out of memory. */
static int cookie_req_header(struct http_txn *txn, const struct cookie_conf *c,
                             struct http_hdr *h)
{
    struct stream *s = txn->s;
    struct ist rest = h->value, name = ist_from(c->name);
    struct cookie_pair p;
    char *out = palloc(s->pool, h->value.len * 2 + 2);
    size_t len = 0;
    int changed = 0;

    if (out == NULL)
        return -1;
    while (cookie_next(&rest, &p)) {
        int has_eq = p.value.ptr > p.name.ptr + p.name.len;

        if (ist_eq(p.name, name)) {
            const char *d = memchr(p.value.ptr, CK_PREFIX_DELIM, p.value.len);

            cookie_choose(txn, c, p.value);
            if (c->mode == CK_INSERT && (c->flags & CK_INDIRECT)) {
                changed = 1;
                continue;
            }
            if (c->mode == CK_PREFIX && d != NULL) {
                changed = 1;
                p.value.len -= (size_t)(d + 1 - p.value.ptr);
                p.value.ptr = d + 1;
            }
        }
        cookie_put(out, &len, p.name, p.value, has_eq);
    }
    if (changed)
        h->value = (struct ist){out, len};
    return len > 0 || !changed;
}

int http_cookie_request(struct http_txn *txn)
{
    struct stream *s = txn->s;
    struct http_msg *m = &txn->req;
    const struct cookie_conf *c = cookie_conf_of(s);
    unsigned i, j = 0;
    int rc = RC_OK;

    s->prefer = NULL;
    if (c == NULL)
        return RC_OK;
    if (c->mode != CK_PASSIVE)
        s->persist_log[0] = s->persist_log[1] = 'N';
    for (i = 0; i < m->nhdrs; i++) {
        int kept = 1;

        if (ist_ieq(m->hdrs[i].name, IST("cookie")))
            kept = cookie_req_header(txn, c, &m->hdrs[i]);
        if (kept < 0)
            rc = RC_ERR;
        if (kept != 0)
            m->hdrs[j++] = m->hdrs[i];
    }
    m->nhdrs = j;
    if (c->mode == CK_PASSIVE)
        s->persist_log[0] = '-';
    return rc;
}

/* ---------------------------------------------------------------- */
/* Response                                                          */
/* ---------------------------------------------------------------- */

/* Returns 1 if element <e> of a Cache-Control header is <what>. */
static int cc_is(struct ist e, const char *what)
{
    size_t n = strlen(what);

    return e.len == n && strncasecmp(e.ptr, what, n) == 0;
}

/* Returns 1 if element <e> starts with <what>. */
static int cc_starts(struct ist e, const char *what)
{
    size_t n = strlen(what);

    return e.len > n && strncasecmp(e.ptr, what, n) == 0;
}

/* Reads one Cache-Control value: 0 if it forbids caching, else 1, with
 * *<fresh> set when it gives a lifetime. */
static int cc_allows(struct ist v, int *fresh)
{
    struct cookie_pair p;

    /* the elements are ','-separated; cookie_next splits on ';' */
    while (v.len > 0) {
        const char *comma = memchr(v.ptr, ',', v.len);
        struct ist e = {v.ptr, comma ? (size_t)(comma - v.ptr) : v.len};

        v.len -= e.len + (comma != NULL);
        v.ptr += e.len + (comma != NULL);
        if (!cookie_next(&e, &p))
            continue;
        e = (struct ist){p.name.ptr,
                         (size_t)(p.value.ptr + p.value.len - p.name.ptr)};
        if (cc_is(e, "private") || cc_is(e, "no-cache") ||
            cc_is(e, "no-store") || cc_is(e, "max-age=0") ||
            cc_is(e, "s-maxage=0"))
            return 0;
        if (cc_starts(e, "max-age=") || cc_starts(e, "s-maxage="))
            *fresh = 1;
    }
    return 1;
}

/* Returns 1 if a shared cache could store the response to <txn>: a safe
 * method, a status cacheable by default, nothing that forbids it, and a
 * lifetime or a validator (HAProxy's test before "nocache" acts). */
static int res_cacheable(const struct http_txn *txn)
{
    static const int statuses[] = {200, 203, 204, 206, 300, 301,
                                   404, 405, 410, 414, 501};
    const struct http_msg *m = &txn->res;
    struct ist meth = txn->req.meth;
    int fresh = 0, ok = 0;
    unsigned i;

    if (!ist_eq(meth, IST("GET")) && !ist_eq(meth, IST("HEAD")) &&
        !ist_eq(meth, IST("OPTIONS")) && !ist_eq(meth, IST("TRACE")))
        return 0;
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        ok |= m->status == statuses[i];
    if (!ok)
        return 0;
    for (i = 0; i < m->nhdrs; i++) {
        struct ist n = m->hdrs[i].name, v = m->hdrs[i].value;

        if (ist_ieq(n, IST("pragma")) && cc_is(v, "no-cache"))
            return 0;
        if (ist_ieq(n, IST("cache-control")) && !cc_allows(v, &fresh))
            return 0;
        if (ist_ieq(n, IST("expires")) || ist_ieq(n, IST("etag")) ||
            ist_ieq(n, IST("last-modified")))
            fresh = 1;
    }
    return fresh;
}

/* Returns 1 if <s> went to the server its cookie named. */
static int cookie_direct(const struct stream *s)
{
    return s->prefer != NULL && s->prefer == s->srv;
}

/* The server set the persistence cookie in Set-Cookie header <h>: keeps,
 * rewrites or prefixes it (RC_OK), or asks for its removal (RC_DONE). */
static int cookie_res_header(struct stream *s, const struct cookie_conf *c,
                             struct http_hdr *h)
{
    const char *v = memchr(h->value.ptr, '=', h->value.len);
    const char *end = h->value.ptr + h->value.len, *ve;
    const char *own = s->srv->cookie;
    size_t len;
    char *out;

    s->persist_log[1] = 'P';
    if (c->flags & CK_PRESERVE)
        return RC_OK;
    if (c->mode == CK_INSERT ||
        (cookie_direct(s) && (c->flags & CK_INDIRECT))) {
        s->persist_log[1] = 'D';
        return RC_DONE;
    }
    if (own == NULL || (c->mode != CK_REWRITE && c->mode != CK_PREFIX))
        return RC_OK;
    v++;
    ve = memchr(v, ';', (size_t)(end - v));
    if (ve == NULL)
        ve = end;
    len = h->value.len + strlen(own) + 1;
    out = palloc(s->pool, len + 1);
    if (out == NULL)
        return RC_ERR;
    if (c->mode == CK_REWRITE)
        len = (size_t)snprintf(out, len + 1, "%.*s%s%.*s",
                               (int)(v - h->value.ptr), h->value.ptr, own,
                               (int)(end - ve), ve);
    else
        len = (size_t)snprintf(out, len + 1, "%.*s%s%c%.*s",
                               (int)(v - h->value.ptr), h->value.ptr, own,
                               CK_PREFIX_DELIM, (int)(end - v), v);
    h->value = (struct ist){out, len};
    s->persist_log[1] = 'R';
    return RC_OK;
}

/* Returns 1 if the Set-Cookie value <v> sets cookie <name>. */
static int sets_cookie(struct ist v, struct ist name)
{
    struct cookie_pair p;

    return cookie_next(&v, &p) && p.value.ptr > p.name.ptr + p.name.len &&
           ist_eq(p.name, name);
}

/* Returns 1 if the request came by its cookie and that cookie's dates
 * need no refresh: the last one still ahead (HAProxy rounds it up), and a
 * first one exactly when maxlife asks for it. */
static int cookie_fresh(const struct http_txn *txn, const struct cookie_conf *c)
{
    if (!cookie_direct(txn->s))
        return 0;
    if ((c->maxidle != 0 || txn->ck_last != 0) &&
        (txn->ck_last == 0 || txn->ck_last < (long long)time(NULL)))
        return 0;
    return (c->maxlife != 0) == (txn->ck_first != 0);
}

/* Writes "|LAST[|FIRST]" for an inserted cookie into <out> (12 bytes at
 * least); returns its length. */
static int cookie_date_fields(const struct http_txn *txn,
                              const struct cookie_conf *c, char *out)
{
    long long now = (long long)time(NULL) + 3; /* rounded up, as HAProxy */

    if (c->maxidle == 0 && c->maxlife == 0)
        return 0;
    out[0] = CK_DATE_DELIM;
    date_encode(now, out + 1);
    if (c->maxlife == 0)
        return 6;
    out[6] = CK_DATE_DELIM;
    date_encode(txn->ck_first != 0 ? txn->ck_first : now, out + 7);
    return 12;
}

/* Insert mode: adds the cookie naming <s>'s server (an expired empty one
 * when the server has no cookie value, as HAProxy). */
static int cookie_insert(struct http_txn *txn, const struct cookie_conf *c)
{
    struct stream *s = txn->s;
    const char *own = s->srv->cookie;
    size_t len = strlen(c->name) + strlen(c->attrs) +
                 (own != NULL ? strlen(own) : 0) + 64;
    char *v = palloc(s->pool, len), dates[12];
    int n;

    if (v == NULL)
        return RC_ERR;
    if (own != NULL)
        n = snprintf(v, len, "%s=%s%.*s%s", c->name, own,
                     cookie_date_fields(txn, c, dates), dates, c->attrs);
    else
        n = snprintf(v, len, "%s=; Expires=Thu, 01-Jan-1970 00:00:01 GMT%s",
                     c->name, c->attrs);
    s->persist_log[1] = own != NULL && cookie_direct(s) ? 'U' : 'I';
    if (http_hdr_add(s, &txn->res, IST("set-cookie"),
                     (struct ist){v, (size_t)n}) != RC_OK)
        return RC_ERR;
    if ((c->flags & CK_NOCACHE) && res_cacheable(txn))
        return http_hdr_add(s, &txn->res, IST("cache-control"), IST("private"));
    return RC_OK;
}

int http_cookie_response(struct http_txn *txn)
{
    struct stream *s = txn->s;
    const struct cookie_conf *c = cookie_conf_of(s);
    struct http_msg *m = &txn->res;
    unsigned i, j = 0;
    int rc = RC_OK, found = 0;

    if (c == NULL || s->srv == NULL)
        return RC_OK;
    for (i = 0; i < m->nhdrs; i++) {
        int r = RC_OK;

        if (ist_ieq(m->hdrs[i].name, IST("set-cookie")) &&
            sets_cookie(m->hdrs[i].value, ist_from(c->name))) {
            found = 1;
            r = cookie_res_header(s, c, &m->hdrs[i]);
        }
        if (r == RC_ERR)
            rc = RC_ERR;
        if (r != RC_DONE)
            m->hdrs[j++] = m->hdrs[i];
    }
    m->nhdrs = j;
    if (c->mode == CK_INSERT && !(found && (c->flags & CK_PRESERVE)) &&
        !cookie_fresh(txn, c) &&
        (!(c->flags & CK_POSTONLY) || ist_eq(txn->req.meth, IST("POST"))) &&
        cookie_insert(txn, c) != RC_OK)
        rc = RC_ERR;
    if (c->mode == CK_PASSIVE)
        s->persist_log[1] = '-';
    return rc;
}
