/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP compression, the "compression" filter and its keywords (HAProxy
 * 2.6's flt_http_comp): "compression algo|type|offload|direction" in any
 * proxy section, "filter compression" to place it among other filters. A
 * proxy with compression keywords and no "filter" line gets the filter
 * implicitly. On the request, the algorithm is chosen from Accept-Encoding
 * (its q-values, the backend's algorithms first, else the frontend's); on
 * the response, HAProxy's conditions decide, the head is edited (no
 * Content-Length, Content-Encoding, Vary, weak ETag) and the payload is
 * deflated as it streams, flushed at every pass so that nothing waits in
 * the compressor. Locally generated replies are not compressed (HAProxy
 * does not either). res.comp and res.comp_algo tell what was done. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/filter.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"
#include "http/http.h"
#include "http/http_ana.h"

/* HAProxy's tune.comp.maxlevel default, and zlib's window and memory. */
#define COMP_LEVEL    1
#define COMP_WBITS    15
#define COMP_MEMLEVEL 8
#define COMP_OUT_STEP 16384
#define COMP_ALGOS    4

struct comp_algo {
    const char *name;    /* in the configuration */
    const char *ua_name; /* in Accept-Encoding and Content-Encoding */
    int wbits;           /* zlib's windowBits; 0: identity, no zlib */
};

static const struct comp_algo comp_algos[COMP_ALGOS] = {
    {"identity", "identity", 0},
    {"deflate", "deflate", COMP_WBITS},
    {"raw-deflate", "deflate", -COMP_WBITS},
    {"gzip", "gzip", COMP_WBITS + 16},
};

/* A proxy's compression settings (the filter's configuration). */
struct comp_conf {
    const struct comp_algo *algos[8]; /* in the order written */
    int nalgos;
    char **types; /* Content-Type prefixes; none: every type */
    int ntypes;
    int offload;
};

/* A stream's compression. */
struct comp_state {
    const struct comp_algo *algo; /* chosen on the request, or NULL */
    int active;                   /* compressing the response */
    int zinit;                    /* zs needs deflateEnd */
    z_stream zs;
};

static const struct filter_ops comp_ops;

/* ---------------------------------------------------------------- */
/* Configuration                                                     */
/* ---------------------------------------------------------------- */

static void comp_conf_free(void *conf)
{
    struct comp_conf *cc = conf;
    int i;

    if (cc == NULL)
        return;
    for (i = 0; i < cc->ntypes; i++)
        free(cc->types[i]);
    free(cc->types);
    free(cc);
}

static void *comp_conf_dup(const void *conf)
{
    const struct comp_conf *src = conf;
    struct comp_conf *cc = xcalloc(1, sizeof(*cc));
    int i;

    if (src == NULL)
        return cc;
    *cc = *src;
    cc->types =
        src->ntypes ? xcalloc((size_t)src->ntypes, sizeof(char *)) : NULL;
    for (i = 0; i < src->ntypes; i++)
        cc->types[i] = xstrdup(src->types[i]);
    return cc;
}

/* "filter compression": no argument; its settings come from the
 * "compression" lines, before or after it. */
static int comp_parse(struct cfg_ctx *ctx, int argc, char **args, void **conf,
                      char **err)
{
    if (argc > 1)
        return set_err(err, "'filter compression' takes no argument");
    if (*conf == NULL)
        *conf = xcalloc(1, sizeof(struct comp_conf));
    return RC_OK;
}

/* One compression filter per proxy, and an implicit one only when the
 * proxy declares no filter at all (HAProxy's rule). */
static int comp_check(struct proxy *px, void *conf, char **err)
{
    const struct flt_conf *fc, *mine = NULL;
    int others = 0, comps = 0;

    for (fc = px->filters; fc != NULL; fc = fc->next) {
        if (fc->ops == &comp_ops) {
            comps++;
            if (fc->conf == conf)
                mine = fc;
        } else if (!fc->implicit || strcmp(fc->ops->name, "cache") != 0) {
            others++; /* the cache's implicit filter goes with ours */
        }
    }
    if (comps > 1)
        return set_err(err, "only one compression filter per proxy");
    if (mine != NULL && mine->implicit && others > 0)
        return set_err(err, "'filter' lines require an explicit 'filter "
                            "compression' to use HTTP compression");
    return RC_OK;
}

/* The settings of <px>, created as an implicit filter when needed. */
static struct comp_conf *comp_conf_of(struct proxy *px)
{
    struct flt_conf *fc = flt_conf_find(px, &comp_ops);

    if (fc == NULL)
        fc = flt_conf_add(px, &comp_ops, xcalloc(1, sizeof(struct comp_conf)),
                          1);
    if (fc->conf == NULL)
        fc->conf = xcalloc(1, sizeof(struct comp_conf));
    return fc->conf;
}

/* "compression algo ALGO..." */
static int comp_add_algos(struct comp_conf *cc, int argc, char **args,
                          char **err)
{
    int i, a;

    for (i = 0; i < argc; i++) {
        for (a = 0; a < COMP_ALGOS; a++)
            if (strcmp(args[i], comp_algos[a].name) == 0)
                break;
        if (a == COMP_ALGOS)
            return set_err(err,
                           "'compression algo': unknown algorithm '%s' "
                           "(expects identity, deflate, raw-deflate or gzip)",
                           args[i]);
        if (cc->nalgos == (int)(sizeof(cc->algos) / sizeof(cc->algos[0])))
            return set_err(err, "'compression algo': too many algorithms");
        cc->algos[cc->nalgos++] = &comp_algos[a];
    }
    return RC_OK;
}

/* "compression type MIME..." */
static void comp_add_types(struct comp_conf *cc, int argc, char **args)
{
    int i;

    cc->types =
        xrealloc(cc->types, (size_t)(cc->ntypes + argc) * sizeof(*cc->types));
    for (i = 0; i < argc; i++)
        cc->types[cc->ntypes++] = xstrdup(args[i]);
}

/* "compression algo|algo-res|type|type-res|offload|direction ..." */
static int parse_compression(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    const char *sub = args[1];
    struct comp_conf *cc = comp_conf_of(ctx->px);

    if (strcmp(sub, "offload") == 0) {
        if (argc != 2)
            return set_err(err, "'compression offload' takes no argument");
        cc->offload = 1;
        return RC_OK;
    }
    if (argc < 3)
        return set_err(err, "'compression %s' expects an argument", sub);
    if (strcmp(sub, "algo") == 0 || strcmp(sub, "algo-res") == 0)
        return comp_add_algos(cc, argc - 2, args + 2, err);
    if (strcmp(sub, "type") == 0 || strcmp(sub, "type-res") == 0) {
        comp_add_types(cc, argc - 2, args + 2);
        return RC_OK;
    }
    if (strcmp(sub, "direction") == 0) {
        if (argc == 3 && strcmp(args[2], "response") == 0)
            return RC_OK;
        if (argc == 3 &&
            (strcmp(args[2], "request") == 0 || strcmp(args[2], "both") == 0))
            return set_err(err,
                           "'compression direction %s' is not "
                           "supported yet (only 'response')",
                           args[2]);
        return set_err(err, "'compression direction' expects 'request', "
                            "'response' or 'both'");
    }
    return set_err(err,
                   "'compression' expects 'algo', 'type', 'offload' or "
                   "'direction', not '%s'",
                   sub);
}

const struct cfg_kw http_comp_keywords[] = {
    {"compression", CFG_SEC_PROXY, 1, -1, parse_compression, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* ---------------------------------------------------------------- */
/* Choosing                                                          */
/* ---------------------------------------------------------------- */

/* The settings that apply to <s>: the backend's when it has algorithms
 * (or, for <types>, types), else the frontend's; NULL if neither. */
static const struct comp_conf *conf_for(const struct stream *s, int types)
{
    const struct proxy *pxs[2] = {s->be, s->fe};
    const struct flt_conf *fc;
    int i;

    for (i = 0; i < 2; i++) {
        if (pxs[i] == NULL || (fc = flt_conf_find(pxs[i], &comp_ops)) == NULL ||
            fc->conf == NULL)
            continue;
        if (types ? ((const struct comp_conf *)fc->conf)->ntypes > 0
                  : ((const struct comp_conf *)fc->conf)->nalgos > 0)
            return fc->conf;
    }
    return NULL;
}

/* HAProxy's exclusion of old browsers announcing "Mozilla/4", unless
 * MSIE 6 with SV1, or MSIE 7 and later. */
static int old_browser(struct ist ua)
{
    if (ua.len < 9 || memcmp(ua.ptr, "Mozilla/4", 9) != 0)
        return 0;
    if (ua.len < 31 || memcmp(ua.ptr + 25, "MSIE ", 5) != 0 || ua.ptr[30] < '6')
        return 1;
    return ua.ptr[30] == '6' &&
           (ua.len < 54 || memcmp(ua.ptr + 51, "SV1", 3) != 0);
}

/* An HTTP q-value ("0.5", "1", "1.000") in thousandths. */
static int qvalue(const char *p, const char *end)
{
    int q, scale = 100;

    if (p >= end || (*p != '0' && *p != '1'))
        return 0;
    q = (*p++ - '0') * 1000;
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9' && scale > 0; p++) {
            q += (*p - '0') * scale;
            scale /= 10;
        }
    return q > 1000 ? 1000 : q;
}

/* The q-value of one Accept-Encoding element <e> (its "q=" parameter,
 * 1000 without one), and its coding's length in *<toklen>. */
static int element_q(struct ist e, size_t *toklen)
{
    const char *p = e.ptr, *end = e.ptr + e.len;

    while (p < end && *p != ';' && *p != ' ' && *p != '\t')
        p++;
    *toklen = (size_t)(p - e.ptr);
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
            return qvalue(p + 2, end);
        while (p < end && *p != ';')
            p++;
    }
    return 1000;
}

/* The best algorithm so far while reading Accept-Encoding. */
struct ae_pick {
    const struct comp_conf *cc;
    const struct comp_algo *algo;
    int best_q;
};

/* Keeps the element <e> if it names an algorithm of the configuration
 * with a q-value above the best so far ('*' takes the first one). */
static int ae_element(struct ist e, void *arg)
{
    struct ae_pick *pk = arg;
    size_t toklen;
    int q = element_q(e, &toklen), i;

    if (q <= pk->best_q)
        return 0;
    for (i = 0; i < pk->cc->nalgos; i++) {
        const struct comp_algo *a = pk->cc->algos[i];

        if (e.ptr[0] == '*' || (toklen == strlen(a->ua_name) &&
                                strncasecmp(e.ptr, a->ua_name, toklen) == 0)) {
            pk->algo = a;
            pk->best_q = q;
            return 0;
        }
    }
    return 0;
}

/* The algorithm for the request <m>, or NULL. */
static const struct comp_algo *request_algo(const struct comp_conf *cc,
                                            const struct http_msg *m)
{
    struct ae_pick pk = {cc, NULL, 0};
    int ua = http_hdr_find(m, IST("user-agent"), 0), i;

    if (ua >= 0 && old_browser(m->hdrs[ua].value))
        return NULL;
    http_hdr_each_element(m, IST("accept-encoding"), ae_element, &pk);
    if (pk.algo != NULL)
        return pk.algo;
    /* identity needs no header */
    for (i = 0; i < cc->nalgos; i++)
        if (cc->algos[i]->wbits == 0)
            return cc->algos[i];
    return NULL;
}

/* Sets the flag at <arg> when <e> is "no-transform". */
static int no_transform_element(struct ist e, void *arg)
{
    if (ist_ieq(e, IST("no-transform")))
        *(int *)arg = 1;
    return 0;
}

/* Returns 1 if <v> is a well-formed entity tag ("x" or W/"x"). */
static int etag_valid(struct ist v)
{
    if (v.len >= 2 && v.ptr[0] == 'W' && v.ptr[1] == '/') {
        v.ptr += 2;
        v.len -= 2;
    }
    return v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"';
}

/* Returns 1 if the content type <m> declares is to be compressed. */
static int type_allowed(const struct stream *s, const struct http_msg *m)
{
    const struct comp_conf *cc = conf_for(s, 1);
    int h = http_hdr_find(m, IST("content-type"), 0), i;
    struct ist ct;

    if (h < 0)
        return cc == NULL; /* configured types need a Content-Type */
    ct = m->hdrs[h].value;
    if (ct.len >= 9 && strncasecmp(ct.ptr, "multipart", 9) == 0)
        return 0;
    if (cc == NULL)
        return 1;
    for (i = 0; i < cc->ntypes; i++) {
        size_t n = strlen(cc->types[i]);

        if (ct.len >= n && strncasecmp(ct.ptr, cc->types[i], n) == 0)
            return 1;
    }
    return 0;
}

/* HAProxy's conditions on the response (and on its request). */
static int response_compressible(const struct stream *s,
                                 const struct http_txn *txn)
{
    const struct http_msg *m = &txn->res;
    int st = m->status, no_transform = 0, e;

    if (st < 200 || st > 203)
        return 0;
    if ((m->body_kind != H1_BODY_CLEN && m->body_kind != H1_BODY_CHUNKED) ||
        (txn->flags & TXN_F_HEAD))
        return 0;
    if (!(m->h1flags & H1_MF_VER_11) || !(txn->req.h1flags & H1_MF_VER_11))
        return 0;
    if (http_hdr_find(m, IST("content-encoding"), 0) >= 0)
        return 0;
    http_hdr_each_element(m, IST("cache-control"), no_transform_element,
                          &no_transform);
    if (no_transform)
        return 0;
    e = http_hdr_find(m, IST("etag"), 0);
    if (e >= 0 && (!etag_valid(m->hdrs[e].value) ||
                   http_hdr_find(m, IST("etag"), (unsigned)e + 1) >= 0))
        return 0;
    return type_allowed(s, m);
}

/* ---------------------------------------------------------------- */
/* The filter                                                        */
/* ---------------------------------------------------------------- */

static int comp_stream_start(struct stream *s, struct filter *f)
{
    f->ctx = pcalloc(s->pool, sizeof(struct comp_state));
    return f->ctx != NULL ? RC_OK : RC_ERR;
}

static void comp_stream_end(struct stream *s, struct filter *f)
{
    struct comp_state *st = f->ctx;

    if (st != NULL && st->zinit)
        deflateEnd(&st->zs);
}

/* Returns 1 if another compression filter of <s> compresses already. */
static int compressed_elsewhere(const struct stream *s, const struct filter *f)
{
    int i;

    for (i = 0; i < s->flt->n; i++) {
        const struct filter *o = &s->flt->v[i];

        if (o != f && o->fc->ops == &comp_ops &&
            ((const struct comp_state *)o->ctx)->active)
            return 1;
    }
    return 0;
}

/* Rewrites the response head for the compressed body. */
static int response_head_edit(struct stream *s, struct http_msg *m,
                              const struct comp_algo *a)
{
    int e = http_hdr_find(m, IST("etag"), 0);

    http_hdr_del(m, IST("content-length"));
    if (e >= 0 && m->hdrs[e].value.ptr[0] == '"') {
        size_t n = m->hdrs[e].value.len + 2;
        char *w = palloc(s->pool, n);

        if (w == NULL)
            return RC_ERR;
        memcpy(w, "W/", 2);
        memcpy(w + 2, m->hdrs[e].value.ptr, n - 2);
        m->hdrs[e].value = (struct ist){w, n};
    }
    if (http_hdr_add(s, m, IST("vary"), IST("Accept-Encoding")) != RC_OK)
        return RC_ERR;
    if (a->wbits != 0 && http_hdr_add(s, m, IST("content-encoding"),
                                      ist_from(a->ua_name)) != RC_OK)
        return RC_ERR;
    return RC_OK;
}

/* On the request: choose the algorithm ("offload": the server must not
 * compress). On the response: decide, edit the head, take the payload. */
static int comp_headers(struct stream *s, struct filter *f, enum flt_dir dir)
{
    struct http_txn *txn = http_txn_get(s);
    struct comp_state *st = f->ctx;
    const struct comp_conf *cc = conf_for(s, 0);

    if (txn == NULL || cc == NULL)
        return RC_OK;
    if (dir == FLT_DIR_REQ) {
        const struct flt_conf *fe = flt_conf_find(s->fe, &comp_ops);
        const struct flt_conf *be = flt_conf_find(s->be, &comp_ops);

        st->algo = request_algo(cc, &txn->req);
        if (st->algo != NULL &&
            ((fe && fe->conf && ((struct comp_conf *)fe->conf)->offload) ||
             (be && be->conf && ((struct comp_conf *)be->conf)->offload)))
            http_hdr_del(&txn->req, IST("accept-encoding"));
        return RC_OK;
    }
    if (st->algo == NULL || compressed_elsewhere(s, f) ||
        !response_compressible(s, txn))
        return RC_OK;
    if (st->algo->wbits != 0) {
        if (deflateInit2(&st->zs, COMP_LEVEL, Z_DEFLATED, st->algo->wbits,
                         COMP_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
            return RC_OK; /* as HAProxy: not compressed */
        st->zinit = 1;
    }
    if (response_head_edit(s, &txn->res, st->algo) != RC_OK)
        return RC_ERR;
    st->active = 1;
    filter_want_data(s, f, dir);
    return RC_OK;
}

/* Deflates <len> bytes at <p> into <out> with zlib's <flush>. */
static int zs_run(z_stream *zs, const void *p, size_t len, int flush,
                  struct evbuffer *out)
{
    struct evbuffer_iovec v;
    int rc;

    zs->next_in = (Bytef *)(uintptr_t)p;
    zs->avail_in = (uInt)len;
    do {
        if (evbuffer_reserve_space(out, COMP_OUT_STEP, &v, 1) < 1)
            return RC_ERR;
        zs->next_out = v.iov_base;
        zs->avail_out =
            (uInt)(v.iov_len < COMP_OUT_STEP ? v.iov_len : COMP_OUT_STEP);
        v.iov_len = zs->avail_out;
        rc = deflate(zs, flush);
        if (rc == Z_STREAM_ERROR)
            return RC_ERR;
        v.iov_len -= zs->avail_out;
        if (evbuffer_commit_space(out, &v, 1) < 0)
            return RC_ERR;
    } while (zs->avail_in > 0 || zs->avail_out == 0);
    return RC_OK;
}

/* Compresses every byte of <in>, then flushes, so that what came is out. */
static int comp_data(struct stream *s, struct filter *f, enum flt_dir dir,
                     struct evbuffer *in, struct evbuffer *out)
{
    struct comp_state *st = f->ctx;
    struct evbuffer_iovec v[8];
    int n, i;

    if (!st->zinit)
        return evbuffer_add_buffer(out, in) == 0 ? RC_OK : RC_ERR;
    while ((n = evbuffer_peek(in, -1, NULL, v, 8)) > 0) {
        size_t done = 0;

        if (n > 8)
            n = 8;
        for (i = 0; i < n; i++) {
            if (zs_run(&st->zs, v[i].iov_base, v[i].iov_len, Z_NO_FLUSH, out) !=
                RC_OK)
                return RC_ERR;
            done += v[i].iov_len;
        }
        evbuffer_drain(in, done);
    }
    return zs_run(&st->zs, NULL, 0, Z_SYNC_FLUSH, out);
}

/* Ends the compressed stream (gzip's trailer). */
static int comp_end(struct stream *s, struct filter *f, enum flt_dir dir,
                    struct evbuffer *out)
{
    struct comp_state *st = f->ctx;

    return st->zinit ? zs_run(&st->zs, NULL, 0, Z_FINISH, out) : RC_OK;
}

static const struct filter_ops comp_ops = {
    .name = "compression",
    .parse = comp_parse,
    .check = comp_check,
    .conf_dup = comp_conf_dup,
    .conf_free = comp_conf_free,
    .stream_start = comp_stream_start,
    .stream_end = comp_stream_end,
    .on_headers = comp_headers,
    .on_data = comp_data,
    .on_end = comp_end,
};

/* ---------------------------------------------------------------- */
/* Fetches                                                           */
/* ---------------------------------------------------------------- */

/* The algorithm compressing the response of <s>, or NULL. */
static const struct comp_algo *active_algo(const struct stream *s)
{
    int i;

    for (i = 0; s != NULL && s->flt != NULL && i < s->flt->n; i++) {
        const struct filter *f = &s->flt->v[i];
        const struct comp_state *st = f->ctx;

        if (f->fc->ops == &comp_ops && st != NULL && st->active)
            return st->algo;
    }
    return NULL;
}

/* res.comp: whether we compress the response (decided after the
 * http-response rules, as in HAProxy: for logs). */
static int fetch_res_comp(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_BOOL;
    smp->data.sint = active_algo(env->strm) != NULL;
    return 1;
}

/* res.comp_algo: the configured name of that algorithm, if any. */
static int fetch_res_comp_algo(const struct arg *args, struct sample *smp,
                               const struct smp_env *env, const void *priv)
{
    const struct comp_algo *a = active_algo(env->strm);

    if (a == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(a->name);
    return 1;
}

static const struct sample_fetch_kw comp_fetches[] = {
    {.name = "res.comp",
     .fn = fetch_res_comp,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_RES,
     .match_method = PAT_MATCH_BOOL},
    {.name = "res.comp_algo",
     .fn = fetch_res_comp_algo,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_RES,
     .match_method = PAT_MATCH_STR},
    {.name = NULL},
};

void http_comp_init(void)
{
    filter_register(&comp_ops);
    sample_register_fetches(comp_fetches);
}
