/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP sample fetches: method, path, url, query, base, req.ver, res.ver,
 * headers of the request and the response (split on commas or whole lines,
 * every value in turn for ACLs, as text, addresses or integers), cookies,
 * URL parameters, url_ip and url_port, the request body (whole, its
 * lengths, its form parameters), http_first_req, status, txn.status,
 * pathq, the base32/url32 hashes, req.proto_http (in TCP streams too) and
 * HAProxy's old response names (scook, shdr...). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "core/acl.h"
#include "core/conn.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"
#include "http/http.h"
#include "http/http_ana.h"
#include "http/http_conn.h"

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

/* The path and the query string of the request: from the first slash of
 * the path (an absolute URI loses its scheme and authority) to the end. */
static struct ist uri_pathq(const struct http_txn *txn)
{
    struct ist path = http_msg_path(&txn->req);

    path.len = (size_t)(txn->req.uri.ptr + txn->req.uri.len - path.ptr);
    return path;
}

/* "base": the first Host header followed by the path (the path alone
 * without a Host header, as HAProxy); "baseq" (priv non-NULL) keeps the
 * query string. */
static int fetch_base(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);
    struct ist host = IST(""), path;
    int h;
    char *p;

    if (txn == NULL || txn->req.uri.ptr == NULL)
        return 0;
    if ((h = http_hdr_find(&txn->req, IST("host"), 0)) >= 0)
        host = txn->req.hdrs[h].value;
    path = priv != NULL ? uri_pathq(txn) : http_msg_path(&txn->req);
    p = palloc(env->pool, host.len + path.len + 1);
    if (p == NULL)
        return 0;
    memcpy(p, host.ptr, host.len);
    memcpy(p + host.len, path.ptr, path.len);
    return smp_str(smp, (struct ist){p, host.len + path.len}, SMP_T_STR);
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

/* req.ver, res.ver: the version without "HTTP/"; priv as hdr_msg(). */
static int fetch_ver(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv)
{
    struct http_msg *m = hdr_msg(env, priv);
    struct ist v;

    if (m == NULL || m->ver.len < 5)
        return 0;
    v = m->ver; /* "HTTP/1.1" -> "1.1" */
    return smp_str(smp, (struct ist){v.ptr + 5, v.len - 5}, SMP_T_STR);
}

/* Where an iteration over header values stands, kept in sample.ctx.pos
 * between calls: header index + 1 in the high half, byte offset in the
 * value in the low half; 0 before the first value. */
#define POS_MAKE(idx, off) (((size_t)(idx) + 1) << 32 | (size_t)(off))
#define POS_IDX(pos)       ((int)((pos) >> 32) - 1)
#define POS_OFF(pos)       ((size_t)((pos)&0xffffffffU))

/* Returns 1 if header <h> is named <name>; an empty name matches all. */
static int hdr_named(const struct http_hdr *h, struct ist name)
{
    return name.len == 0 || ist_ieq(h->name, name);
}

/* Trims blanks at both ends of <v>. */
static struct ist trim(struct ist v)
{
    while (v.len > 0 && (*v.ptr == ' ' || *v.ptr == '\t')) {
        v.ptr++;
        v.len--;
    }
    while (v.len > 0 && (v.ptr[v.len - 1] == ' ' || v.ptr[v.len - 1] == '\t'))
        v.len--;
    return v;
}

/* Steps to the next value of the headers named <name> after *<pos>: a
 * whole line when <full>, else one element of a comma-separated list,
 * blanks trimmed and empty elements kept (as HAProxy's req.hdr). Returns
 * 1 with <out> set and *<pos> advanced. */
static int hdr_next(const struct http_msg *m, struct ist name, int full,
                    size_t *pos, struct ist *out)
{
    int i = *pos ? POS_IDX(*pos) : 0;
    size_t off = *pos ? POS_OFF(*pos) : 0;

    for (; i < (int)m->nhdrs; i++, off = 0) {
        struct ist v = m->hdrs[i].value;
        const char *comma;
        size_t end;

        if (!hdr_named(&m->hdrs[i], name) || off > v.len)
            continue;
        comma = full ? NULL : memchr(v.ptr + off, ',', v.len - off);
        end = comma ? (size_t)(comma - v.ptr) : v.len;
        *out = trim((struct ist){v.ptr + off, end - off});
        *pos = POS_MAKE(i, end + 1);
        return 1;
    }
    return 0;
}

/* Counts the values hdr_next() would return. */
static long long hdr_count(const struct http_msg *m, struct ist name, int full)
{
    size_t pos = 0;
    struct ist v;
    long long n = 0;

    while (hdr_next(m, name, full, &pos, &v))
        n++;
    return n;
}

/* The name argument of a header fetch, or an empty slice for all. */
static struct ist hdr_arg_name(const struct arg *args)
{
    return args[0].type == ARGT_STR ? args[0].data.str : IST("");
}

/* Value number <occ> (1 first, -1 last, -2 the one before...). */
static int hdr_occ(const struct http_msg *m, struct ist name, int full,
                   long long occ, struct ist *out)
{
    size_t pos = 0;
    long long n = 0;

    if (occ < 0)
        occ += hdr_count(m, name, full) + 1;
    if (occ <= 0)
        return 0;
    while (hdr_next(m, name, full, &pos, out))
        if (++n == occ)
            return 1;
    return 0;
}

/* priv of header fetches: the message and whether lines are whole. */
struct hdr_fetch {
    char msg; /* 'q' request, 's' response */
    int full; /* fhdr: no comma splitting */
};

/* hdr(name[,occ]): in an ACL without <occ>, every value in turn (HAProxy
 * iterates); otherwise value <occ>, the last one by default. */
static int fetch_hdr(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv)
{
    const struct hdr_fetch *hf = priv;
    struct http_msg *m = hdr_msg(env, &hf->msg);
    struct ist name = hdr_arg_name(args), v;

    if (m == NULL)
        return 0;
    if (args[0].type == ARGT_STR && args[1].type == ARGT_SINT) {
        if (!hdr_occ(m, name, hf->full, args[1].data.sint, &v))
            return 0;
    } else if (env->opt & SMP_OPT_ITERATE) {
        smp->flags &= ~SMP_F_NOT_LAST;
        if (!hdr_next(m, name, hf->full, &smp->ctx.pos, &v))
            return 0;
        smp->flags |= SMP_F_NOT_LAST;
    } else if (!hdr_occ(m, name, hf->full, -1, &v)) {
        return 0;
    }
    return smp_str(smp, v, SMP_T_STR);
}

static int fetch_hdr_cnt(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    const struct hdr_fetch *hf = priv;
    struct http_msg *m = hdr_msg(env, &hf->msg);

    if (m == NULL)
        return 0;
    smp->type = SMP_T_SINT;
    smp->data.sint = hdr_count(m, hdr_arg_name(args), hf->full);
    return 1;
}

/* hdr_val(name[,occ]): the value's leading integer, 0 when it has none. */
static int fetch_hdr_val(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    if (!fetch_hdr(args, smp, env, priv))
        return 0;
    if (smp->data.str.len == 0) {
        smp->type = SMP_T_SINT;
        smp->data.sint = 0;
        return 1;
    }
    return sample_cast(smp, SMP_T_SINT, env);
}

/* Parses a header value as HAProxy's hdr_ip: a leading IPv4 address
 * (what follows, e.g. ":port", is ignored), else a whole IPv6 one. */
static int smp_set_ip(struct sample *smp, struct ist v)
{
    size_t n = 0;

    while (n < v.len &&
           ((v.ptr[n] >= '0' && v.ptr[n] <= '9') || v.ptr[n] == '.'))
        n++;
    smp->type = SMP_T_STR;
    smp->data.str = (struct ist){v.ptr, n};
    if (n > 0 && sample_cast(smp, SMP_T_IPV4, NULL))
        return 1;
    smp->type = SMP_T_STR;
    smp->data.str = v;
    return sample_cast(smp, SMP_T_IPV6, NULL);
}

/* hdr_ip(name[,occ]): like hdr, values that are not addresses skipped
 * while iterating. */
static int fetch_hdr_ip(const struct arg *args, struct sample *smp,
                        const struct smp_env *env, const void *priv)
{
    struct sample tmp;

    while (fetch_hdr(args, smp, env, priv)) {
        tmp = *smp;
        if (smp_set_ip(&tmp, smp->data.str)) {
            smp->type = tmp.type;
            smp->data = tmp.data;
            return 1;
        }
        if (!(smp->flags & SMP_F_NOT_LAST))
            return 0;
    }
    return 0;
}

/* req.hdrs, res.hdrs: the header block as received, final empty line
 * included; priv as hdr_msg(). */
static int fetch_hdrs(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    const struct http_msg *m = hdr_msg(env, priv);
    size_t len = 2, off = 0;
    unsigned i;
    char *p;

    if (m == NULL)
        return 0;
    for (i = 0; i < m->nhdrs; i++)
        len += m->hdrs[i].name.len + m->hdrs[i].value.len + 4;
    p = sample_alloc(env, len + 1);
    if (p == NULL)
        return 0;
    for (i = 0; i < m->nhdrs; i++) {
        const struct http_hdr *h = &m->hdrs[i];

        memcpy(p + off, h->name.ptr, h->name.len);
        off += h->name.len;
        memcpy(p + off, ": ", 2);
        memcpy(p + off + 2, h->value.ptr, h->value.len);
        off += 2 + h->value.len;
        memcpy(p + off, "\r\n", 2);
        off += 2;
    }
    memcpy(p + off, "\r\n", 2);
    return smp_str(smp, (struct ist){p, len}, SMP_T_STR);
}

/* req.hdr_names([delim]), res.hdr_names: lower-case names, as HAProxy's
 * HTX has them; priv as hdr_msg(). */
static int fetch_hdr_names(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    const struct http_msg *m = hdr_msg(env, priv);
    struct ist d = args[0].type == ARGT_STR ? args[0].data.str : IST(",");
    size_t len = 0, off = 0, k;
    unsigned i;
    char *p;

    if (m == NULL)
        return 0;
    for (i = 0; i < m->nhdrs; i++)
        len += m->hdrs[i].name.len + (i ? d.len : 0);
    p = sample_alloc(env, len + 1);
    if (p == NULL)
        return 0;
    for (i = 0; i < m->nhdrs; i++) {
        const struct ist n = m->hdrs[i].name;

        if (i > 0) {
            memcpy(p + off, d.ptr, d.len);
            off += d.len;
        }
        for (k = 0; k < n.len; k++)
            p[off++] = (char)tolower((unsigned char)n.ptr[k]);
    }
    return smp_str(smp, (struct ist){p, len}, SMP_T_STR);
}

/* ---------------------------------------------------------------- */
/* Cookies                                                           */
/* ---------------------------------------------------------------- */

/* Steps to the next cookie named <name> (any when empty) after *<pos>.
 * Request "Cookie" lines hold ';'-separated cookies; a response
 * "Set-Cookie" line holds one cookie followed by attributes, which count
 * as cookies too with <res> 2 (HAProxy's res.cook_cnt without a name).
 * Returns 1 with the value in <out>. */
static int cook_next(const struct http_msg *m, int res, struct ist name,
                     size_t *pos, struct ist *out)
{
    struct ist hname = res ? IST("set-cookie") : IST("cookie");
    int i = *pos ? POS_IDX(*pos) : 0;
    size_t off = *pos ? POS_OFF(*pos) : 0;

    for (; i < (int)m->nhdrs; i++, off = 0) {
        struct ist v = m->hdrs[i].value;

        if (!ist_ieq(m->hdrs[i].name, hname))
            continue;
        while (off < v.len) {
            const char *b = v.ptr + off, *semi = memchr(b, ';', v.len - off);
            size_t clen = semi ? (size_t)(semi - b) : v.len - off;
            const char *eq = memchr(b, '=', clen);

            off = res == 1 ? v.len : off + clen + 1;
            if (eq == NULL)
                continue;
            if (name.len == 0 ||
                ist_eq(trim((struct ist){b, (size_t)(eq - b)}), name)) {
                *out = trim((struct ist){eq + 1, clen - (size_t)(eq - b) - 1});
                *pos = POS_MAKE(i, off);
                return 1;
            }
        }
    }
    return 0;
}

/* priv of cookie fetches: 'q' request, 's' response. */
static int cook_is_res(const void *priv)
{
    return *(const char *)priv == 's';
}

/* req.cook(name): every value in an ACL; else the last one, or the first
 * cookie when no name is given (HAProxy). */
static int fetch_cook(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    struct http_msg *m = hdr_msg(env, priv);
    struct ist name = hdr_arg_name(args), v, last;
    size_t pos = 0;
    int found = 0;

    if (m == NULL)
        return 0;
    if (env->opt & SMP_OPT_ITERATE) {
        smp->flags &= ~SMP_F_NOT_LAST;
        if (!cook_next(m, cook_is_res(priv), name, &smp->ctx.pos, &v))
            return 0;
        smp->flags |= SMP_F_NOT_LAST;
        return smp_str(smp, v, SMP_T_STR);
    }
    while (cook_next(m, cook_is_res(priv), name, &pos, &v)) {
        last = v;
        found = 1;
        if (name.len == 0)
            break;
    }
    return found ? smp_str(smp, last, SMP_T_STR) : 0;
}

/* req.cook_cnt([name]), res.cook_cnt([name]). */
static int fetch_cook_cnt(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    struct http_msg *m = hdr_msg(env, priv);
    struct ist v, name = hdr_arg_name(args);
    int res = cook_is_res(priv) ? 1 + (name.len == 0) : 0;
    size_t pos = 0;
    long long n = 0;

    if (m == NULL)
        return 0;
    while (cook_next(m, res, name, &pos, &v))
        n++;
    smp->type = SMP_T_SINT;
    smp->data.sint = n;
    return 1;
}

/* req.cook_val(name): the cookie's value as an integer. */
static int fetch_cook_val(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    return fetch_cook(args, smp, env, priv) &&
           sample_cast(smp, SMP_T_SINT, env);
}

/* ---------------------------------------------------------------- */
/* URL parameters                                                    */
/* ---------------------------------------------------------------- */

/* Steps to the next parameter named <name> (any when empty; compared
 * without case with <icase>) of the query string <q> after *<pos>; params
 * are split on <delim>. */
static int param_next(struct ist q, struct ist name, char delim, int icase,
                      size_t *pos, struct ist *out)
{
    size_t off = *pos;

    while (off < q.len) {
        const char *b = q.ptr + off, *d = memchr(b, delim, q.len - off);
        size_t plen = d ? (size_t)(d - b) : q.len - off;
        const char *eq = memchr(b, '=', plen);

        off += plen + 1;
        if (eq == NULL)
            continue;
        struct ist n = {b, (size_t)(eq - b)};

        if (name.len == 0 || (icase ? ist_ieq(n, name) : ist_eq(n, name))) {
            *out = (struct ist){eq + 1, plen - (size_t)(eq - b) - 1};
            *pos = off;
            return 1;
        }
    }
    return 0;
}

/* url_param([name[,delim]]) / urlp: the first value, or each in an ACL. */
static int fetch_url_param(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);
    char delim = args[0].type == ARGT_STR && args[1].type == ARGT_STR &&
                         args[1].data.str.len > 0
                     ? args[1].data.str.ptr[0]
                     : '&';
    struct ist v;

    smp->flags &= ~SMP_F_NOT_LAST;
    if (txn == NULL || txn->req.uri.ptr == NULL ||
        !param_next(http_msg_query(&txn->req), hdr_arg_name(args), delim, 0,
                    &smp->ctx.pos, &v))
        return 0;
    if (env->opt & SMP_OPT_ITERATE)
        smp->flags |= SMP_F_NOT_LAST;
    return smp_str(smp, v, SMP_T_STR);
}

/* urlp_val(name[,delim]): the parameter as an integer. */
static int fetch_url_param_val(const struct arg *args, struct sample *smp,
                               const struct smp_env *env, const void *priv)
{
    return fetch_url_param(args, smp, env, priv) &&
           sample_cast(smp, SMP_T_SINT, env);
}

/* The IPv4 host and the port of an absolute "http://" or "https://" URI;
 * 0 for any other URI or host (HAProxy's url_ip and url_port see only
 * these). The port defaults to the scheme's. */
static int uri_ipv4(struct ist u, struct sample *ip, long long *port)
{
    size_t n, skip = 7;
    const char *p, *end = u.ptr + u.len;

    if (u.len > 8 && strncasecmp(u.ptr, "https://", 8) == 0) {
        *port = 443;
        skip = 8;
    } else if (u.len > 7 && strncasecmp(u.ptr, "http://", 7) == 0) {
        *port = 80;
    } else {
        return 0;
    }
    p = u.ptr + skip;
    for (n = 0; p + n < end && p[n] != ':' && p[n] != '/' && p[n] != '?'; n++)
        ;
    ip->type = SMP_T_STR;
    ip->data.str = (struct ist){p, n};
    if (n == 0 || !sample_cast(ip, SMP_T_IPV4, NULL))
        return 0;
    if (p + n < end && p[n] == ':') {
        unsigned v = 0; /* wraps as HAProxy's: 99999 gives 34463 */

        for (p += n + 1; p < end && *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (unsigned)(*p - '0');
        *port = v & 0xffff;
    }
    return 1;
}

/* url_ip (priv NULL), url_port (priv non-NULL). */
static int fetch_url_addr(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);
    long long port;

    if (txn == NULL || txn->req.uri.ptr == NULL ||
        !uri_ipv4(txn->req.uri, smp, &port))
        return 0;
    if (priv != NULL) {
        smp->type = SMP_T_SINT;
        smp->data.sint = port;
    }
    return 1;
}

/* http_first_req: the first request of its client connection. */
static int fetch_first_req(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);

    if (txn == NULL)
        return 0;
    smp->type = SMP_T_BOOL;
    smp->data.sint = txn->hc->nreq == 0;
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

/* txn.status: the status sent to the client, else the server's once its
 * response head is in (HAProxy's own replies included). */
static int fetch_txn_status(const struct arg *args, struct sample *smp,
                            const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);
    int status = txn ? txn->status : 0;

    if (status == 0 && txn != NULL && (env->avail & SMP_AVAIL_RES))
        status = txn->res.status;
    if (status == 0)
        return 0;
    smp->type = SMP_T_SINT;
    smp->data.sint = status;
    return 1;
}

/* pathq: see uri_pathq(); no sample without a path. */
static int fetch_pathq(const struct arg *args, struct sample *smp,
                       const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);

    if (txn == NULL || txn->req.uri.ptr == NULL ||
        http_msg_path(&txn->req).len == 0)
        return 0;
    return smp_str(smp, uri_pathq(txn), SMP_T_STR);
}

/* base32 (priv 'b') and url32 ('u'): HAProxy's hash of the first Host
 * header followed by the path (base32) or the whole URI (url32); 0 with no
 * request. */
static int uri_hash32(const struct smp_env *env, char what, uint32_t *out)
{
    struct http_txn *txn = env_txn(env);
    struct ist part;
    uint32_t h = 0;
    int i;

    if (txn == NULL || txn->req.uri.ptr == NULL)
        return 0;
    if ((i = http_hdr_find(&txn->req, IST("host"), 0)) >= 0)
        h = sample_hash_sdbm_add(
            h, (const unsigned char *)txn->req.hdrs[i].value.ptr,
            txn->req.hdrs[i].value.len);
    part = what == 'u' ? txn->req.uri : http_msg_path(&txn->req);
    h = sample_hash_sdbm_add(h, (const unsigned char *)part.ptr, part.len);
    *out = sample_hash_avalanche(h);
    return 1;
}

static int fetch_hash32(const struct arg *args, struct sample *smp,
                        const struct smp_env *env, const void *priv)
{
    uint32_t h;

    if (!uri_hash32(env, *(const char *)priv, &h))
        return 0;
    smp->type = SMP_T_SINT;
    smp->data.sint = h;
    return 1;
}

/* base32+src, url32+src: the hash in 4 bytes, most significant first,
 * then the client's address (4 or 16 bytes), as binary. */
static int fetch_hash32_src(const struct arg *args, struct sample *smp,
                            const struct smp_env *env, const void *priv)
{
    const union sess_addr *src;
    unsigned char *p;
    size_t alen;
    uint32_t h;

    if (!uri_hash32(env, *(const char *)priv, &h))
        return 0;
    src = &env->strm->sess->src;
    if (src->sa.sa_family == AF_INET)
        alen = 4;
    else if (src->sa.sa_family == AF_INET6)
        alen = 16;
    else
        return 0;
    if ((p = sample_alloc(env, 4 + alen)) == NULL)
        return 0;
    p[0] = (unsigned char)(h >> 24);
    p[1] = (unsigned char)(h >> 16);
    p[2] = (unsigned char)(h >> 8);
    p[3] = (unsigned char)h;
    memcpy(p + 4,
           alen == 4 ? (const void *)&src->in4.sin_addr
                     : (const void *)&src->in6.sin6_addr,
           alen);
    return smp_str(smp, (struct ist){(const char *)p, 4 + alen}, SMP_T_BIN);
}

/* req.proto_http (req_proto_http): true once the request parsed as HTTP:
 * always in an HTTP stream; in a TCP one, when the client's bytes make a
 * whole valid request head (no sample if they do not, none yet while they
 * may). */
static int fetch_proto_http(const struct arg *args, struct sample *smp,
                            const struct smp_env *env, const void *priv)
{
    /* a scratch parser: a worker runs one fetch at a time */
    static struct h1_msg probe;
    struct h1_msg *m = &probe;
    struct evbuffer *in;
    size_t len;
    int rc;

    if (env_txn(env) == NULL) {
        if (env->strm == NULL || env->strm->sess->conn == NULL)
            return 0;
        in = conn_input(env->strm->sess->conn);
        len = in ? evbuffer_get_length(in) : 0;
        h1_msg_init(m, NULL);
        rc = len ? h1_parse_request(m, (const char *)evbuffer_pullup(in, -1),
                                    len)
                 : RC_AGAIN;
        if (rc == RC_ERR)
            return 0;
        if (rc == RC_AGAIN) {
            if (!(env->opt & SMP_OPT_FINAL))
                smp->flags |= SMP_F_MAY_CHANGE;
            return 0;
        }
    }
    smp->type = SMP_T_BOOL;
    smp->data.sint = 1;
    return 1;
}

/* The payload of a chunked request received so far, without framing, in
 * a copy the stream's pool owns. */
static int req_body_dechunked(struct http_txn *txn, struct ist *out)
{
    size_t len = evbuffer_get_length(conn_input(txn->hc->sess->conn));
    char *copy = palloc(txn->s->pool, len + 1);

    if (copy == NULL || http_req_chunked_peek(txn, copy, &len) == RC_ERR)
        return 0;
    *out = (struct ist){copy, len};
    return 1;
}

/* The request body bytes received and not forwarded yet (all of it with
 * "option http-buffer-request" and a body that fits a buffer), without
 * the chunked framing; empty without a body. 0 once the request went on
 * to the server, or out of memory. */
static int req_body_get(const struct smp_env *env, struct ist *out)
{
    struct http_txn *txn = env_txn(env);
    struct evbuffer *in;
    size_t len;

    if (txn == NULL || txn->state > HTTP_ST_BE_RULES)
        return 0;
    *out = (struct ist){"", 0};
    if (txn->req.body_kind == H1_BODY_NONE)
        return 1;
    if (txn->req.body_kind == H1_BODY_CHUNKED)
        return req_body_dechunked(txn, out);
    in = conn_input(txn->hc->sess->conn);
    len = evbuffer_get_length(in);
    if (len > txn->req_left)
        len = (size_t)txn->req_left;
    out->ptr = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    out->len = len;
    return out->ptr != NULL || len == 0;
}

/* req.body: no sample without a body. */
static int fetch_req_body(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);
    struct ist v;

    if (txn == NULL || txn->req.body_kind == H1_BODY_NONE ||
        !req_body_get(env, &v))
        return 0;
    return smp_str(smp, v, SMP_T_BIN);
}

/* req.body_len: the bytes req.body has now; 0 without a body. */
static int fetch_req_body_len(const struct arg *args, struct sample *smp,
                              const struct smp_env *env, const void *priv)
{
    struct ist v;

    if (!req_body_get(env, &v))
        return 0;
    smp->type = SMP_T_SINT;
    smp->data.sint = (long long)v.len;
    return 1;
}

/* req.body_size: the announced Content-Length, or what a chunked body
 * brought so far. */
static int fetch_req_body_size(const struct arg *args, struct sample *smp,
                               const struct smp_env *env, const void *priv)
{
    struct http_txn *txn = env_txn(env);

    if (txn == NULL || !fetch_req_body_len(args, smp, env, priv))
        return 0;
    if (txn->req.body_kind == H1_BODY_CLEN)
        smp->data.sint = (long long)txn->req.body_len;
    return 1;
}

/* req.body_param([name[,i]]): the body as a form ("a=1&b=2"), the first
 * value or each in an ACL; "i" compares names without case. */
static int fetch_req_body_param(const struct arg *args, struct sample *smp,
                                const struct smp_env *env, const void *priv)
{
    int icase = args[0].type == ARGT_STR && args[1].type == ARGT_STR &&
                args[1].data.str.len == 1 && args[1].data.str.ptr[0] == 'i';
    struct ist body, v;

    smp->flags &= ~SMP_F_NOT_LAST;
    if (!req_body_get(env, &body) ||
        !param_next(body, hdr_arg_name(args), '&', icase, &smp->ctx.pos, &v))
        return 0;
    if (env->opt & SMP_OPT_ITERATE)
        smp->flags |= SMP_F_NOT_LAST;
    return smp_str(smp, v, SMP_T_BIN);
}

/* Rejects a flag other than "i" at load. */
static int check_body_param(struct arg *args, char **err)
{
    if (args[0].type == ARGT_STR && args[1].type == ARGT_STR &&
        strcmp(args[1].data.str.ptr, "i") != 0)
        return set_err(err, "unsupported flag '%s' (only 'i')",
                       args[1].data.str.ptr);
    return RC_OK;
}

static const char part_path = 'p', part_url = 'u', part_query = 'q';
static const char msg_req = 'q', msg_res = 's';
static const char hash_base = 'b', hash_url = 'u';
static const struct hdr_fetch hf_req = {'q', 0}, hf_req_full = {'q', 1},
                              hf_res = {'s', 0}, hf_res_full = {'s', 1};

#define REQ SMP_AVAIL_REQ
#define RES SMP_AVAIL_RES

#define HDR_ROW(n, f, a, o, u, p, mm)                                          \
    {                                                                          \
        .name = n, .fn = f, .args = a, .out = o, .use = u, .priv = p,          \
        .match_method = mm                                                     \
    }

static const struct sample_fetch_kw http_fetches[] = {
    {.name = "method",
     .fn = fetch_method,
     .out = SMP_T_METH,
     .use = REQ,
     .match_method = PAT_MATCH_METH},
    {.name = "path",
     .fn = fetch_uri_part,
     .out = SMP_T_STR,
     .use = REQ,
     .priv = &part_path,
     .match_method = PAT_MATCH_STR},
    {.name = "url",
     .fn = fetch_uri_part,
     .out = SMP_T_STR,
     .use = REQ,
     .priv = &part_url,
     .match_method = PAT_MATCH_STR},
    {.name = "query",
     .fn = fetch_uri_part,
     .out = SMP_T_STR,
     .use = REQ,
     .priv = &part_query,
     .match_method = PAT_MATCH_STR},
    {.name = "baseq",
     .fn = fetch_base,
     .out = SMP_T_STR,
     .use = REQ,
     .priv = &part_query,
     .match_method = PAT_MATCH_STR},
    {.name = "base",
     .fn = fetch_base,
     .out = SMP_T_STR,
     .use = REQ,
     .match_method = PAT_MATCH_STR},
    {.name = "req.body",
     .fn = fetch_req_body,
     .out = SMP_T_BIN,
     .use = REQ,
     .match_method = PAT_MATCH_BIN},
    HDR_ROW("req.body_len", fetch_req_body_len, NULL, SMP_T_SINT, REQ, NULL,
            PAT_MATCH_INT),
    HDR_ROW("req.body_size", fetch_req_body_size, NULL, SMP_T_SINT, REQ, NULL,
            PAT_MATCH_INT),
    {.name = "req.body_param",
     .fn = fetch_req_body_param,
     .args = "S?,S?",
     .out = SMP_T_BIN,
     .use = REQ,
     .match_method = PAT_MATCH_BIN,
     .check = check_body_param},
    HDR_ROW("req.ver", fetch_ver, NULL, SMP_T_STR, REQ, &msg_req,
            PAT_MATCH_STR),
    HDR_ROW("res.ver", fetch_ver, NULL, SMP_T_STR, RES, &msg_res,
            PAT_MATCH_STR),
    HDR_ROW("req.hdr", fetch_hdr, "S?,I?", SMP_T_STR, REQ, &hf_req,
            PAT_MATCH_STR),
    HDR_ROW("hdr", fetch_hdr, "S?,I?", SMP_T_STR, REQ, &hf_req, PAT_MATCH_STR),
    HDR_ROW("req.fhdr", fetch_hdr, "S?,I?", SMP_T_STR, REQ, &hf_req_full,
            PAT_MATCH_STR),
    HDR_ROW("req.hdr_cnt", fetch_hdr_cnt, "S?", SMP_T_SINT, REQ, &hf_req,
            PAT_MATCH_INT),
    HDR_ROW("hdr_cnt", fetch_hdr_cnt, "S?", SMP_T_SINT, REQ, &hf_req,
            PAT_MATCH_INT),
    HDR_ROW("req.fhdr_cnt", fetch_hdr_cnt, "S?", SMP_T_SINT, REQ, &hf_req_full,
            PAT_MATCH_INT),
    HDR_ROW("req.hdr_ip", fetch_hdr_ip, "S?,I?", SMP_T_ADDR, REQ, &hf_req,
            PAT_MATCH_IP),
    HDR_ROW("hdr_ip", fetch_hdr_ip, "S?,I?", SMP_T_ADDR, REQ, &hf_req,
            PAT_MATCH_IP),
    HDR_ROW("res.hdr", fetch_hdr, "S?,I?", SMP_T_STR, RES, &hf_res,
            PAT_MATCH_STR),
    HDR_ROW("res.fhdr", fetch_hdr, "S?,I?", SMP_T_STR, RES, &hf_res_full,
            PAT_MATCH_STR),
    HDR_ROW("res.hdr_cnt", fetch_hdr_cnt, "S?", SMP_T_SINT, RES, &hf_res,
            PAT_MATCH_INT),
    HDR_ROW("res.fhdr_cnt", fetch_hdr_cnt, "S?", SMP_T_SINT, RES, &hf_res_full,
            PAT_MATCH_INT),
    HDR_ROW("res.hdr_ip", fetch_hdr_ip, "S?,I?", SMP_T_ADDR, RES, &hf_res,
            PAT_MATCH_IP),
    HDR_ROW("req.hdrs", fetch_hdrs, NULL, SMP_T_STR, REQ, &msg_req,
            PAT_MATCH_STR),
    HDR_ROW("res.hdrs", fetch_hdrs, NULL, SMP_T_STR, RES, &msg_res,
            PAT_MATCH_STR),
    HDR_ROW("req.hdr_names", fetch_hdr_names, "S?", SMP_T_STR, REQ, &msg_req,
            PAT_MATCH_STR),
    HDR_ROW("res.hdr_names", fetch_hdr_names, "S?", SMP_T_STR, RES, &msg_res,
            PAT_MATCH_STR),
    {.name = "http_first_req",
     .fn = fetch_first_req,
     .out = SMP_T_BOOL,
     .use = REQ,
     .match_method = PAT_MATCH_BOOL},
    HDR_ROW("req.cook", fetch_cook, "S?", SMP_T_STR, REQ, &msg_req,
            PAT_MATCH_STR),
    HDR_ROW("cook", fetch_cook, "S?", SMP_T_STR, REQ, &msg_req, PAT_MATCH_STR),
    HDR_ROW("req.cook_cnt", fetch_cook_cnt, "S?", SMP_T_SINT, REQ, &msg_req,
            PAT_MATCH_INT),
    HDR_ROW("cook_cnt", fetch_cook_cnt, "S?", SMP_T_SINT, REQ, &msg_req,
            PAT_MATCH_INT),
    HDR_ROW("req.cook_val", fetch_cook_val, "S?", SMP_T_SINT, REQ, &msg_req,
            PAT_MATCH_INT),
    HDR_ROW("cook_val", fetch_cook_val, "S?", SMP_T_SINT, REQ, &msg_req,
            PAT_MATCH_INT),
    HDR_ROW("res.cook", fetch_cook, "S?", SMP_T_STR, RES, &msg_res,
            PAT_MATCH_STR),
    HDR_ROW("res.cook_cnt", fetch_cook_cnt, "S?", SMP_T_SINT, RES, &msg_res,
            PAT_MATCH_INT),
    HDR_ROW("res.cook_val", fetch_cook_val, "S?", SMP_T_SINT, RES, &msg_res,
            PAT_MATCH_INT),
    HDR_ROW("url_param", fetch_url_param, "S?,S?", SMP_T_STR, REQ, NULL,
            PAT_MATCH_STR),
    HDR_ROW("urlp", fetch_url_param, "S?,S?", SMP_T_STR, REQ, NULL,
            PAT_MATCH_STR),
    HDR_ROW("urlp_val", fetch_url_param_val, "S?,S?", SMP_T_SINT, REQ, NULL,
            PAT_MATCH_INT),
    HDR_ROW("hdr_val", fetch_hdr_val, "S?,I?", SMP_T_SINT, REQ, &hf_req,
            PAT_MATCH_INT),
    HDR_ROW("req.hdr_val", fetch_hdr_val, "S?,I?", SMP_T_SINT, REQ, &hf_req,
            PAT_MATCH_INT),
    HDR_ROW("res.hdr_val", fetch_hdr_val, "S?,I?", SMP_T_SINT, RES, &hf_res,
            PAT_MATCH_INT),
    HDR_ROW("url_ip", fetch_url_addr, NULL, SMP_T_IPV4, REQ, NULL,
            PAT_MATCH_IP),
    HDR_ROW("url_port", fetch_url_addr, NULL, SMP_T_SINT, REQ, &part_url,
            PAT_MATCH_INT),
    {.name = "txn.status",
     .fn = fetch_txn_status,
     .out = SMP_T_SINT,
     .match_method = PAT_MATCH_INT},
    {.name = "pathq",
     .fn = fetch_pathq,
     .out = SMP_T_STR,
     .use = REQ,
     .match_method = PAT_MATCH_STR},
    HDR_ROW("base32", fetch_hash32, NULL, SMP_T_SINT, REQ, &hash_base,
            PAT_MATCH_INT),
    HDR_ROW("url32", fetch_hash32, NULL, SMP_T_SINT, REQ, &hash_url,
            PAT_MATCH_INT),
    HDR_ROW("base32+src", fetch_hash32_src, NULL, SMP_T_BIN, REQ, &hash_base,
            PAT_MATCH_BIN),
    HDR_ROW("url32+src", fetch_hash32_src, NULL, SMP_T_BIN, REQ, &hash_url,
            PAT_MATCH_BIN),
    HDR_ROW("req.proto_http", fetch_proto_http, NULL, SMP_T_BOOL,
            SMP_AVAIL_CONN, NULL, PAT_MATCH_BOOL),
    HDR_ROW("req_proto_http", fetch_proto_http, NULL, SMP_T_BOOL,
            SMP_AVAIL_CONN, NULL, PAT_MATCH_BOOL),
    HDR_ROW("scook", fetch_cook, "S?", SMP_T_STR, RES, &msg_res, PAT_MATCH_STR),
    HDR_ROW("scook_cnt", fetch_cook_cnt, "S?", SMP_T_SINT, RES, &msg_res,
            PAT_MATCH_INT),
    HDR_ROW("scook_val", fetch_cook_val, "S?", SMP_T_SINT, RES, &msg_res,
            PAT_MATCH_INT),
    HDR_ROW("shdr", fetch_hdr, "S?,I?", SMP_T_STR, RES, &hf_res, PAT_MATCH_STR),
    HDR_ROW("shdr_cnt", fetch_hdr_cnt, "S?", SMP_T_SINT, RES, &hf_res,
            PAT_MATCH_INT),
    HDR_ROW("shdr_ip", fetch_hdr_ip, "S?,I?", SMP_T_ADDR, RES, &hf_res,
            PAT_MATCH_IP),
    HDR_ROW("shdr_val", fetch_hdr_val, "S?,I?", SMP_T_SINT, RES, &hf_res,
            PAT_MATCH_INT),
    {.name = "status",
     .fn = fetch_status,
     .out = SMP_T_SINT,
     .use = RES,
     .match_method = PAT_MATCH_INT},
    {.name = NULL},
};

/* HAProxy's ACL shorthands over the fetches above. */
static const struct acl_kw http_acl_kws[] = {
    {"path_beg", "path", PAT_MATCH_BEG},
    {"path_end", "path", PAT_MATCH_END},
    {"path_sub", "path", PAT_MATCH_SUB},
    {"path_dir", "path", PAT_MATCH_DIR},
    {"path_dom", "path", PAT_MATCH_DOM},
    {"path_reg", "path", PAT_MATCH_REG},
    {"path_len", "path", PAT_MATCH_LEN},
    {"url_beg", "url", PAT_MATCH_BEG},
    {"url_end", "url", PAT_MATCH_END},
    {"url_sub", "url", PAT_MATCH_SUB},
    {"url_dir", "url", PAT_MATCH_DIR},
    {"url_dom", "url", PAT_MATCH_DOM},
    {"url_reg", "url", PAT_MATCH_REG},
    {"url_len", "url", PAT_MATCH_LEN},
    {"hdr_beg", "hdr", PAT_MATCH_BEG},
    {"hdr_end", "hdr", PAT_MATCH_END},
    {"hdr_sub", "hdr", PAT_MATCH_SUB},
    {"hdr_dir", "hdr", PAT_MATCH_DIR},
    {"hdr_dom", "hdr", PAT_MATCH_DOM},
    {"hdr_reg", "hdr", PAT_MATCH_REG},
    {"hdr_len", "hdr", PAT_MATCH_LEN},
    {"base_beg", "base", PAT_MATCH_BEG},
    {"base_sub", "base", PAT_MATCH_SUB},
    {"base_reg", "base", PAT_MATCH_REG},
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
    {"HTTP", {"req.proto_http", NULL}},
    {"HTTP_1.0", {"req.ver", "1.0", NULL}},
    {"HTTP_1.1", {"req.ver", "1.1", NULL}},
    {"HTTP_2.0", {"req.ver", "2.0", NULL}},
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
