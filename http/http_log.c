/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The HTTP tags of log-format strings, rendered as HAProxy's
 * sess_build_logline does: the request line as the client sent it (before
 * any rule rewrote it) with '"', '#' and non-printable bytes as "#XX",
 * "<BADREQ>" when there is none, the status sent, and the headers that
 * "capture request|response header" stored in the stream's log controls
 * (core/logctl.h): "{v1|v2}" for %hr and %hs, "v1 v2" for %hrl and %hsl,
 * one slot per capture the frontend declares, whether or not its rule ran,
 * and nothing at all without captures. %CC and %CS print '-': cookies are
 * not captured. The capture.* fetches return the same data as samples. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <string.h>

#include "core/action.h"
#include "core/ist.h"
#include "core/logctl.h"
#include "core/logformat.h"
#include "core/sample.h"
#include "core/proxy.h"
#include "core/stream.h"
#include "http/http.h"
#include "http/http_ana.h"
#include "http/http_log.h"

#define BADREQ "<BADREQ>"

/* 1 for HTTP's SP and HT. */
static int is_spht(char c)
{
    return c == ' ' || c == '\t';
}

/* The request line as received, without its CRLF; empty if none. */
static struct ist req_line(struct stream *s)
{
    struct http_txn *txn = s ? http_txn_get(s) : NULL;
    struct ist l = {NULL, 0};

    if (txn == NULL || txn->req_head == NULL)
        return l;
    l.ptr = txn->req_head;
    while (l.ptr[l.len] != '\r' && l.ptr[l.len] != '\n')
        l.len++;
    return l;
}

/* Splits <l> into its words: method, URI and the rest (the version).
 * Returns the number of blanks runs seen after the method (0: no URI). */
static int req_split(struct ist l, struct ist *meth, struct ist *uri,
                     struct ist *ver)
{
    size_t i = 0, j;
    int nspaces = 0;

    while (i < l.len && !is_spht(l.ptr[i]))
        i++;
    *meth = (struct ist){l.ptr, i};
    while (i < l.len && is_spht(l.ptr[i])) {
        i++;
        nspaces++;
    }
    for (j = i; j < l.len && !is_spht(l.ptr[j]); j++)
        ;
    *uri = (struct ist){l.ptr + i, j - i};
    while (j < l.len && is_spht(l.ptr[j]))
        j++;
    *ver = (struct ist){l.ptr + j, l.len - j};
    return nspaces;
}

/* Writes <v> URL-encoded, between quotes with LF_OPT_QUOTE. */
static void put_url(struct logformat_out *out, struct ist v, unsigned o)
{
    if (o & LF_OPT_QUOTE)
        logformat_put_char(out, '"');
    logformat_put_encoded(out, v.ptr, v.len, LF_ENC_URL, o);
    if (o & LF_OPT_QUOTE)
        logformat_put_char(out, '"');
}

static const struct ist badreq = {BADREQ, sizeof(BADREQ) - 1};

static void lf_r(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct ist l = req_line(s);

    put_url(out, l.ptr ? l : badreq, o);
}

static void lf_HM(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct ist l = req_line(s), m, u, v;

    req_split(l, &m, &u, &v);
    /* only a verb, or no request at all */
    put_url(out, l.ptr && m.len < l.len ? m : badreq, o);
}

/* The URI word, or <BADREQ> when the line has none. */
static struct ist req_uri(struct stream *s)
{
    struct ist l = req_line(s), m, u, v;

    if (l.ptr == NULL || req_split(l, &m, &u, &v) == 0)
        return badreq;
    return u;
}

/* <u> up to its '?'. */
static struct ist before_query(struct ist u)
{
    const char *q = memchr(u.ptr, '?', u.len);

    return q ? (struct ist){u.ptr, (size_t)(q - u.ptr)} : u;
}

static void lf_HU(struct logformat_out *out, struct stream *s, unsigned o)
{
    put_url(out, req_uri(s), o);
}

static void lf_HP(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct ist u = req_uri(s);

    put_url(out, u.ptr == badreq.ptr ? u : before_query(u), o);
}

/* %HPO: the path alone, without the scheme and authority of an absolute
 * URI nor the query string. */
static void lf_HPO(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct ist u = req_uri(s);
    const char *sep;

    if (u.ptr != badreq.ptr && u.len > 0 && u.ptr[0] != '/' &&
        (sep = memchr(u.ptr, ':', u.len)) != NULL &&
        (size_t)(sep - u.ptr) + 2 < u.len && sep[1] == '/' && sep[2] == '/') {
        const char *auth = sep + 3, *end = u.ptr + u.len;
        const char *path = memchr(auth, '/', (size_t)(end - auth));

        u = path ? (struct ist){path, (size_t)(end - path)}
                 : (struct ist){end, 0};
    }
    put_url(out, u.ptr == badreq.ptr ? u : before_query(u), o);
}

/* %HQ: from the '?' (included) to the end of the URI; empty if none. */
static void lf_HQ(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct ist l = req_line(s), m, u, v;
    const char *q;

    if (l.ptr == NULL) {
        put_url(out, badreq, o);
        return;
    }
    req_split(l, &m, &u, &v);
    q = u.len ? memchr(u.ptr, '?', u.len) : NULL;
    put_url(out,
            q ? (struct ist){q, (size_t)(u.ptr + u.len - q)}
              : (struct ist){"", 0},
            o);
}

static void lf_HV(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct ist l = req_line(s), m, u, v;
    static const struct ist v09 = {"HTTP/0.9", 8};

    if (l.ptr == NULL || req_split(l, &m, &u, &v) == 0)
        v = badreq;
    else if (v.len == 0)
        v = v09;
    put_url(out, v, o);
}

/* %ST: the status sent; -1 before any, 0 outside HTTP (HAProxy's). */
static void lf_ST(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct http_txn *txn = s ? http_txn_get(s) : NULL;

    logformat_put_int(out, txn == NULL ? 0 : txn->status ? txn->status : -1);
}

/* ---- captures */

/* The capture slots of <s> for one direction (<res>: the response's):
 * the "capture" rules http/http_act.c puts at the head of the frontend's
 * http-request or http-response rules, whether they ran or not. As
 * HAProxy, none before the request line is parsed (a bad request). */
static unsigned cap_count(struct stream *s, int res)
{
    if (s == NULL || req_line(s).ptr == NULL)
        return 0;
    return http_capture_slots(s->fe, res);
}

/* What slot <i> holds: ptr NULL when its rule did not run or found no
 * header (HAProxy's NULL capture). */
static struct ist cap_value(const struct stream *s, int res, unsigned i)
{
    struct logctl *lc = logctl_get((struct stream *)s);
    const struct logctl_caps *caps = lc ? (res ? &lc->res : &lc->req) : NULL;
    struct ist none = {NULL, 0};

    return caps != NULL && i < caps->n ? caps->v[i] : none;
}

/* Writes a captured value with '"', '{', '|', '}' and controls as #XX. */
static void put_cap(struct logformat_out *out, struct ist v, unsigned o)
{
    logformat_put_encoded(out, v.ptr, v.len, LF_ENC_HDR, o);
}

/* %hr, %hs: "{v1|v2}", quoted as a whole with +Q; nothing without
 * captures. */
static void put_caps_braced(struct logformat_out *out, struct stream *s,
                            int res, unsigned o)
{
    unsigned i, n = cap_count(s, res);

    if (n == 0)
        return;
    if (o & LF_OPT_QUOTE)
        logformat_put_char(out, '"');
    logformat_put_char(out, '{');
    for (i = 0; i < n; i++) {
        struct ist v = cap_value(s, res, i);

        if (i > 0)
            logformat_put_char(out, '|');
        if (v.ptr != NULL)
            put_cap(out, v, o);
    }
    logformat_put_char(out, '}');
    if (o & LF_OPT_QUOTE)
        logformat_put_char(out, '"');
}

/* %hrl, %hsl: the values separated by spaces, each quoted with +Q; a
 * missing one is '-' unquoted and "" quoted. */
static void put_caps_list(struct logformat_out *out, struct stream *s, int res,
                          unsigned o)
{
    unsigned i, n = cap_count(s, res);

    for (i = 0; i < n; i++) {
        struct ist v = cap_value(s, res, i);

        if (i > 0)
            logformat_put_char(out, ' ');
        if (o & LF_OPT_QUOTE)
            logformat_put_char(out, '"');
        if (v.ptr != NULL)
            put_cap(out, v, o);
        else if (!(o & LF_OPT_QUOTE))
            logformat_put_char(out, '-');
        if (o & LF_OPT_QUOTE)
            logformat_put_char(out, '"');
    }
}

static void lf_hr(struct logformat_out *out, struct stream *s, unsigned o)
{
    put_caps_braced(out, s, 0, o);
}

static void lf_hs(struct logformat_out *out, struct stream *s, unsigned o)
{
    put_caps_braced(out, s, 1, o);
}

static void lf_hrl(struct logformat_out *out, struct stream *s, unsigned o)
{
    put_caps_list(out, s, 0, o);
}

static void lf_hsl(struct logformat_out *out, struct stream *s, unsigned o)
{
    put_caps_list(out, s, 1, o);
}

/* %CC, %CS: no captured cookie. */
static void lf_absent(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_text(out, NULL, 0, o);
}

static const struct logformat_tag http_log_tags[] = {
    {"ST", lf_ST, 0},     {"r", lf_r, 1},       {"HM", lf_HM, 1},
    {"HU", lf_HU, 1},     {"HP", lf_HP, 1},     {"HPO", lf_HPO, 1},
    {"HQ", lf_HQ, 1},     {"HV", lf_HV, 1},     {"hr", lf_hr, 0},
    {"hs", lf_hs, 0},     {"hrl", lf_hrl, 0},   {"hsl", lf_hsl, 0},
    {"CC", lf_absent, 1}, {"CS", lf_absent, 1}, {NULL, NULL, 0},
};

/* ---- capture.* fetches: the same data as samples */

/* Sets a string sample; 0 for a missing value. */
static int smp_cap(struct sample *smp, struct ist v)
{
    if (v.ptr == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = v;
    return 1;
}

/* capture.req.hdr(idx), capture.res.hdr(idx): priv NULL for the request,
 * non-NULL for the response; slots count from 0. */
static int fetch_cap_hdr(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    int res = priv != NULL;
    long long i = args[0].data.sint;

    if (env->strm == NULL || i < 0 || i >= cap_count(env->strm, res))
        return 0;
    return smp_cap(smp, cap_value(env->strm, res, (unsigned)i));
}

/* capture.req.method and capture.req.ver: words of the request line as
 * received; priv 'm' method, 'v' version. */
static int fetch_cap_req_word(const struct arg *args, struct sample *smp,
                              const struct smp_env *env, const void *priv)
{
    struct ist l = req_line(env->strm), m, u, v;

    if (l.ptr == NULL || req_split(l, &m, &u, &v) == 0)
        return 0;
    if (*(const char *)priv == 'm')
        return smp_cap(smp, m);
    return v.len > 0 && smp_cap(smp, v);
}

/* capture.req.uri: the URI as received from its path on (scheme and
 * authority of an absolute URI left out), query string included. */
static int fetch_cap_req_uri(const struct arg *args, struct sample *smp,
                             const struct smp_env *env, const void *priv)
{
    struct ist l = req_line(env->strm), m, u, v;
    const char *end, *p;

    if (l.ptr == NULL || req_split(l, &m, &u, &v) == 0 || u.len == 0)
        return 0;
    end = u.ptr + u.len;
    if (u.ptr[0] != '/') {
        p = memchr(u.ptr, ':', u.len);
        if (p == NULL || end - p < 3 || p[1] != '/' || p[2] != '/')
            return 0;
        p = memchr(p + 3, '/', (size_t)(end - p - 3));
        if (p == NULL)
            return 0;
        u = (struct ist){p, (size_t)(end - p)};
    }
    return smp_cap(smp, u);
}

/* capture.res.ver: the version of the status line as received. */
static int fetch_cap_res_ver(const struct arg *args, struct sample *smp,
                             const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env->strm ? http_txn_get(env->strm) : NULL;

    if (txn == NULL || !(env->avail & SMP_AVAIL_RES) || txn->res.ver.len == 0)
        return 0;
    return smp_cap(smp, txn->res.ver);
}

static const char word_meth = 'm', word_ver = 'v', dir_res = 1;

static const struct sample_fetch_kw http_log_fetches[] = {
    {.name = "capture.req.hdr",
     .fn = fetch_cap_hdr,
     .args = "I",
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .match_method = PAT_MATCH_STR},
    {.name = "capture.res.hdr",
     .fn = fetch_cap_hdr,
     .args = "I",
     .out = SMP_T_STR,
     .use = SMP_AVAIL_RES,
     .priv = &dir_res,
     .match_method = PAT_MATCH_STR},
    {.name = "capture.req.method",
     .fn = fetch_cap_req_word,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .priv = &word_meth,
     .match_method = PAT_MATCH_STR},
    {.name = "capture.req.ver",
     .fn = fetch_cap_req_word,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .priv = &word_ver,
     .match_method = PAT_MATCH_STR},
    {.name = "capture.req.uri",
     .fn = fetch_cap_req_uri,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_REQ,
     .match_method = PAT_MATCH_STR},
    {.name = "capture.res.ver",
     .fn = fetch_cap_res_ver,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_RES,
     .match_method = PAT_MATCH_STR},
    {.name = NULL},
};

void http_log_init(void)
{
    logformat_register_tags(http_log_tags);
    sample_register_fetches(http_log_fetches);
}
