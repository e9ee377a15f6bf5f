/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HAProxy's small-object HTTP cache: "cache NAME" sections, the
 * "http-request cache-use" and "http-response cache-store" actions, the
 * "cache" filter that cache-store declares implicitly, the fetches
 * res.cache_hit and res.cache_name, and "show cache". The objects live in
 * a core/shcache.c store that the master maps before forking, so every
 * worker serves what any of them stored. The key is the SHA-1 of the Host
 * header and the URI (the method does not count: HEAD is served from what
 * a GET stored). HAProxy 2.6's rules decide: only GET requests of
 * HTTP/1.1 clients without Authorization, only 200 responses with an
 * explicit lifetime or a validator, no Vary, no private/no-cache/no-store,
 * no bigger than max-object-size (head and body). A hit is sent with an
 * Age header, or as a 304 when If-None-Match or If-Modified-Since match. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/cli.h"
#include "core/errors.h"
#include "core/filter.h"
#include "core/log.h"
#include "core/module.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/service.h"
#include "core/shcache.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"
#include "http/http.h"
#include "http/http_ana.h"

#define CFG_SEC_CACHE       CFG_SEC_MODULE(2)
#define CACHE_MAX_MB        4095 /* HAProxy's bound on total-max-size */
#define CACHE_DEFAULT_AGE   60
#define CACHE_DEFAULT_SECND 10

/* One "cache NAME" section. */
struct http_cache {
    struct http_cache *next;
    char *name;
    char *file; /* where it was declared, for post-parse errors */
    int line;
    long long total_mb;   /* total-max-size; 0: missing */
    long long max_obj;    /* max-object-size in bytes; 0: a 256th */
    long long max_age;    /* seconds */
    int process_vary;     /* accepted; Vary responses are not stored */
    long long max_second; /* max-secondary-entries */
    struct shcache *store;
};

/* "cache-use NAME" / "cache-store NAME", resolved after parsing. */
struct cache_act {
    struct cache_act *next_ref; /* in the generation's list to resolve */
    struct proxy *px;           /* whose rule it is (its counters) */
    char *name;
    char *file;
    int line;
    struct http_cache *cache;
};

/* What the module hangs on a configuration generation. */
struct cache_cfg {
    struct http_cache *caches;
    struct cache_act *refs;
};

/* A stream's use of the caches (in its pool). */
struct cache_txn {
    unsigned char key[SHCACHE_KEY_LEN];
    int has_key;
    const struct http_cache *hit;  /* the response comes from it */
    char *obj;                     /* the hit, copied out (malloc) */
    struct shcache_info info;      /* of the hit */
    const struct http_cache *into; /* cache-store decided to store */
    struct evbuffer *copy;         /* the stored form being built */
    long long expire;              /* of the response being stored */
};

/* The stored form: this head, the reason, <nhdrs> times (name length,
 * value length, name, value), then the payload. */
struct stored_head {
    uint32_t status;
    uint32_t reason_len;
    uint32_t nhdrs;
    uint32_t pad;
    int64_t origin_age; /* the Age the server announced */
};

static const struct filter_ops cache_filter_ops;
static const struct applet_ops cache_applet_ops;
static int txn_slot = -1;

/* ---------------------------------------------------------------- */
/* Configuration                                                     */
/* ---------------------------------------------------------------- */

/* The module's data of <cfg>, created empty on first use. */
static struct cache_cfg *cache_cfg_of(struct cfg *cfg)
{
    void **slot = cfg_module_data(cfg, &http_cache_module);

    if (*slot == NULL)
        *slot = xcalloc(1, sizeof(struct cache_cfg));
    return *slot;
}

/* The cache section of <cfg> named <name>, or NULL. */
static struct http_cache *cache_find(struct cfg *cfg, const char *name)
{
    struct http_cache *c;

    for (c = cache_cfg_of(cfg)->caches; c != NULL; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* "cache NAME" */
static int cache_open(struct cfg_ctx *ctx, int argc, char **args, char **err)
{
    struct cache_cfg *cc = cache_cfg_of(ctx->cfg);
    struct http_cache *c, **tail = &cc->caches;

    if (argc != 2)
        return set_err(err, "'cache' expects exactly one name");
    if (cache_find(ctx->cfg, args[1]) != NULL)
        return set_err(err, "duplicate cache name '%s'", args[1]);
    while (*tail != NULL)
        tail = &(*tail)->next;
    c = xcalloc(1, sizeof(*c));
    c->name = xstrdup(args[1]);
    c->file = xstrdup(ctx->file);
    c->line = ctx->line;
    c->max_age = CACHE_DEFAULT_AGE;
    c->max_second = CACHE_DEFAULT_SECND;
    *tail = c;
    ctx->sec_data = c;
    return RC_OK;
}

/* total-max-size, max-object-size, max-age, max-secondary-entries: an
 * integer within [kw->lo, kw->hi] stored at kw->offset. */
static int parse_cache_int(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                           int argc, char **args, char **err)
{
    long long v;

    if (cfgval_int(args[1], kw->lo, kw->hi, &v, err) != RC_OK)
        return set_err(err, "'%s' expects an integer between %lld and %lld",
                       kw->name, kw->lo, kw->hi);
    *(long long *)((char *)ctx->sec_data + kw->offset) = v;
    return RC_OK;
}

/* "process-vary on|off" */
static int parse_process_vary(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                              int argc, char **args, char **err)
{
    static const char *const words[] = {"off", "on"};
    int i = cfg_word_index(args[1], words, 2);

    if (i < 0)
        return set_err(err, "'process-vary' expects 'on' or 'off'");
    ((struct http_cache *)ctx->sec_data)->process_vary = i;
    return RC_OK;
}

/* The HTTP rulesets' action: "cache-use NAME" or "cache-store NAME". */
static void cache_act_free(struct rule *r)
{
    struct cache_act *a = r->arg;

    if (a == NULL)
        return;
    free(a->name);
    free(a->file);
    free(a);
}

static enum act_ret cache_use_run(struct rule *r, struct stream *s,
                                  unsigned flags);
static enum act_ret cache_store_run(struct rule *r, struct stream *s,
                                    unsigned flags);

/* "cache-use NAME" (hreq) or "cache-store NAME" (hres); the name is
 * resolved after parsing, a section may come later. */
static int cache_act_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                           int *cur, int argc, char **args, char **err)
{
    struct cache_cfg *cc = cache_cfg_of(ctx->cfg);
    struct cache_act *a;
    const char *word = args[*cur];

    if (*cur + 1 >= argc || strcmp(args[*cur + 1], "if") == 0 ||
        strcmp(args[*cur + 1], "unless") == 0)
        return set_err(err, "'%s' expects a cache name", word);
    a = xcalloc(1, sizeof(*a));
    a->name = xstrdup(args[*cur + 1]);
    a->px = ctx->px;
    a->file = xstrdup(ctx->file);
    a->line = ctx->line;
    a->next_ref = cc->refs;
    cc->refs = a;
    r->arg = a;
    r->free = cache_act_free;
    if (rs == RULESET_HTTP_REQ) {
        r->run = cache_use_run;
    } else {
        r->run = cache_store_run;
        /* before compression, which must see what the cache stored */
        if (flt_conf_find(ctx->px, &cache_filter_ops) == NULL)
            flt_conf_add_first(ctx->px, &cache_filter_ops, NULL);
    }
    *cur += 2;
    return RC_OK;
}

/* Checks a cache section once parsed; returns the error count. */
static int cache_check(struct http_cache *c)
{
    long long total = c->total_mb * 1024 * 1024;

    if (c->total_mb == 0) {
        log_alert("%s:%d: size not specified for cache '%s' (total-max-size)",
                  c->file, c->line, c->name);
        return 1;
    }
    if (c->max_obj == 0)
        c->max_obj = total / 256;
    else if (c->max_obj > total / 2) {
        log_alert("%s:%d: cache '%s': 'max-object-size' is limited to half "
                  "of 'total-max-size' (%lld)",
                  c->file, c->line, c->name, total / 2);
        return 1;
    }
    return 0;
}

/* After parsing: every cache is checked and mapped (the workers inherit
 * the mappings), every action finds its cache. */
static int cache_post_parse(struct cfg *cfg)
{
    struct cache_cfg *cc = cache_cfg_of(cfg);
    struct http_cache *c;
    struct cache_act *a;
    int errors = 0;

    for (c = cc->caches; c != NULL; c = c->next) {
        char what[128];

        if (cache_check(c) != 0) {
            errors++;
            continue;
        }
        snprintf(what, sizeof(what), "cache '%s'", c->name);
        c->store = shcache_new((size_t)c->total_mb * 1024 * 1024, what);
        if (c->store == NULL)
            errors++;
    }
    for (a = cc->refs; a != NULL; a = a->next_ref) {
        a->cache = cache_find(cfg, a->name);
        if (a->cache == NULL) {
            log_alert("%s:%d: unable to find cache '%s'", a->file, a->line,
                      a->name);
            errors++;
        }
    }
    return errors ? RC_ERR : RC_OK;
}

/* Frees the cache sections of <cfg> and unmaps their stores (the workers
 * keep their own mappings). */
static void cache_cfg_free(struct cfg *cfg)
{
    void **slot = cfg_module_data(cfg, &http_cache_module);
    struct cache_cfg *cc = *slot;
    struct http_cache *c, *next;

    if (cc == NULL)
        return;
    for (c = cc->caches; c != NULL; c = next) {
        next = c->next;
        shcache_free(c->store);
        free(c->name);
        free(c->file);
        free(c);
    }
    free(cc);
    *slot = NULL;
}

/* ---------------------------------------------------------------- */
/* HTTP rules of caching                                             */
/* ---------------------------------------------------------------- */

/* Forgets what <ct> was storing. */
static void store_abandon(struct cache_txn *ct)
{
    if (ct->copy != NULL)
        evbuffer_free(ct->copy);
    ct->copy = NULL;
    ct->into = NULL;
}

/* Frees what a stream's cache state holds (stream pool cleanup), however
 * the stream ended. */
static void cache_txn_release(void *arg)
{
    struct cache_txn *ct = arg;

    free(ct->obj);
    ct->obj = NULL;
    store_abandon(ct);
}

/* The cache state of <s>; created if <create>, else NULL. */
static struct cache_txn *cache_txn_of(struct stream *s, int create)
{
    struct cache_txn *ct;

    if (s->slots[txn_slot] != NULL || !create)
        return s->slots[txn_slot];
    ct = pcalloc(s->pool, sizeof(*ct));
    if (ct == NULL || pool_cleanup_add(s->pool, cache_txn_release, ct) != RC_OK)
        return NULL;
    s->slots[txn_slot] = ct;
    return ct;
}

/* 1 if the element <e> is "no-cache". */
static int is_no_cache(struct ist e, void *arg)
{
    return ist_ieq(e, IST("no-cache"));
}

/* 1 if the request's Cache-Control element <e> asks for a fresh answer
 * ("no-cache", "max-age=0"). */
static int is_revalidate(struct ist e, void *arg)
{
    return ist_ieq(e, IST("no-cache")) || ist_ieq(e, IST("max-age=0"));
}

/* 1 if the element <e> is "no-store". */
static int is_no_store(struct ist e, void *arg)
{
    return ist_ieq(e, IST("no-store"));
}

/* 1 if the request of <txn> may be answered from a cache (HAProxy: GET
 * or HEAD, HTTP/1.1, no Authorization, no "no-cache" or "max-age=0"). */
static int request_lookup_allowed(const struct http_txn *txn)
{
    const struct http_msg *m = &txn->req;

    if (!ist_eq(m->meth, IST("GET")) && !ist_eq(m->meth, IST("HEAD")))
        return 0;
    if (!(m->h1flags & H1_MF_VER_11) ||
        http_hdr_find(m, IST("authorization"), 0) >= 0)
        return 0;
    if (http_hdr_each_element(m, IST("cache-control"), is_revalidate, NULL))
        return 0;
    /* RFC 7234 5.4: Pragma counts only without Cache-Control */
    return http_hdr_find(m, IST("cache-control"), 0) >= 0 ||
           !http_hdr_each_element(m, IST("pragma"), is_no_cache, NULL);
}

/* The key of the request <m>: the SHA-1 of its Host and its URI (an
 * absolute URI alone). RC_OK, or RC_ERR when out of memory. */
static int request_key(const struct http_msg *m, unsigned char *key)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int h = http_hdr_find(m, IST("host"), 0), ok;

    if (md == NULL)
        return RC_ERR;
    ok = EVP_DigestInit_ex(md, EVP_sha1(), NULL) &&
         (m->uri.len == 0 || m->uri.ptr[0] != '/' || h < 0 ||
          EVP_DigestUpdate(md, m->hdrs[h].value.ptr, m->hdrs[h].value.len)) &&
         EVP_DigestUpdate(md, m->uri.ptr, m->uri.len) &&
         EVP_DigestFinal_ex(md, key, NULL);
    EVP_MD_CTX_free(md);
    return ok ? RC_OK : RC_ERR;
}

/* "http-request cache-use NAME": computes the key and, on a fresh hit,
 * has the cache answer in place of a server. */
static enum act_ret cache_use_run(struct rule *r, struct stream *s,
                                  unsigned flags)
{
    const struct cache_act *a = r->arg;
    struct http_txn *txn = http_txn_get(s);
    struct px_counters *cnt;
    struct cache_txn *ct;

    if (txn == NULL || (ct = cache_txn_of(s, 1)) == NULL)
        return ACT_RET_CONT;
    if (request_key(&txn->req, ct->key) != RC_OK)
        return ACT_RET_CONT;
    ct->has_key = 1;
    if (!request_lookup_allowed(txn) || ct->obj != NULL || s->svc.ops != NULL)
        return ACT_RET_CONT;
    /* counted as the frontend's when the rule is the frontend's */
    cnt = a->px == s->fe ? &a->px->cnt : &a->px->be_cnt;
    cnt->cache_lookups++;
    ct->obj =
        shcache_get(a->cache->store, ct->key, (long long)time(NULL), &ct->info);
    if (ct->obj == NULL)
        return ACT_RET_CONT;
    cnt->cache_hits++;
    ct->hit = a->cache;
    s->svc = (struct service_ref){&cache_applet_ops, NULL};
    return ACT_RET_CONT;
}

/* Cache-Control of a response, as far as storing goes. */
struct res_cc {
    int refuse;        /* private, no-cache, no-store, max-age=0... */
    long long max_age; /* s-maxage, else max-age; -1: none */
    int s_maxage;      /* max_age came from s-maxage */
};

/* A decimal "NAME=N" directive's value, or -1. */
static long long directive_value(struct ist e, struct ist name)
{
    long long v = 0;
    size_t i;

    if (e.len <= name.len + 1 || strncasecmp(e.ptr, name.ptr, name.len) != 0 ||
        e.ptr[name.len] != '=')
        return -1;
    for (i = name.len + 1; i < e.len; i++) {
        if (e.ptr[i] < '0' || e.ptr[i] > '9' || v > 100000000000LL)
            return -1;
        v = v * 10 + (e.ptr[i] - '0');
    }
    return v;
}

/* Records one Cache-Control element of a response. */
static int res_cc_element(struct ist e, void *arg)
{
    struct res_cc *cc = arg;
    long long v;

    if (ist_ieq(e, IST("private")) || ist_ieq(e, IST("no-cache")) ||
        ist_ieq(e, IST("no-store")) ||
        (e.len >= 9 && strncasecmp(e.ptr, "no-cache=", 9) == 0)) {
        cc->refuse = 1;
        return 0;
    }
    if ((v = directive_value(e, IST("s-maxage"))) >= 0) {
        cc->max_age = v;
        cc->s_maxage = 1;
    } else if ((v = directive_value(e, IST("max-age"))) >= 0 && !cc->s_maxage)
        cc->max_age = v;
    if (v == 0)
        cc->refuse = 1;
    return 0;
}

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") as Unix seconds, or
 * -1 for anything else. */
static long long http_date_parse(struct ist v)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    const char *p = v.ptr, *m;
    int i;

    if (v.len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' ||
        p[11] != ' ' || p[16] != ' ' || p[19] != ':' || p[22] != ':' ||
        memcmp(p + 25, " GMT", 4) != 0)
        return -1;
    for (i = 0; i < 29; i++)
        if ((i == 5 || i == 6 || (i >= 12 && i <= 15) || i == 17 || i == 18 ||
             i == 20 || i == 21 || i == 23 || i == 24) &&
            (p[i] < '0' || p[i] > '9'))
            return -1;
    m = strstr(months, (char[]){p[8], p[9], p[10], 0});
    if (m == NULL || (m - months) % 3 != 0)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_mday = (p[5] - '0') * 10 + (p[6] - '0');
    tm.tm_mon = (int)((m - months) / 3);
    tm.tm_year = atoi(p + 12) - 1900;
    tm.tm_hour = (p[17] - '0') * 10 + (p[18] - '0');
    tm.tm_min = (p[20] - '0') * 10 + (p[21] - '0');
    tm.tm_sec = (p[23] - '0') * 10 + (p[24] - '0');
    return (long long)timegm(&tm);
}

/* The value of the first header <name> of <m>, or an empty slice. */
static struct ist hdr_value(const struct http_msg *m, struct ist name)
{
    int h = http_hdr_find(m, name, 0);

    return h >= 0 ? m->hdrs[h].value : (struct ist){NULL, 0};
}

/* How long the response <m> may be served from <c>, in seconds; -1 if
 * HAProxy's rules say it must not be stored. *<announced> is the lifetime
 * the response gave (s-maxage, max-age, Expires), -1 if none. */
static long long response_lifetime(const struct http_cache *c,
                                   const struct http_msg *m, long long now,
                                   long long *announced)
{
    struct res_cc cc = {0, -1, 0};
    long long life = -1;

    *announced = -1;
    if (http_hdr_each_element(m, IST("pragma"), is_no_cache, NULL))
        return -1;
    http_hdr_each_element(m, IST("cache-control"), res_cc_element, &cc);
    if (cc.refuse)
        return -1;
    if (cc.max_age >= 0) {
        life = cc.max_age;
    } else if (http_hdr_find(m, IST("expires"), 0) >= 0) {
        long long exp = http_date_parse(hdr_value(m, IST("expires")));

        if (exp >= 0 && (life = exp - now) <= 0)
            return -1;
    } else if (http_hdr_find(m, IST("etag"), 0) < 0 &&
               http_hdr_find(m, IST("last-modified"), 0) < 0) {
        return -1; /* neither a lifetime nor a validator (RFC 7234 3) */
    }
    *announced = life;
    return life < 0 || life > c->max_age ? c->max_age : life;
}

/* The Age the server gave <m>: 0 without one; -1 when HAProxy would not
 * store the response: an Age that is not a positive number, or that is
 * over the lifetime <announced>. */
static long long response_age(const struct http_msg *m, long long announced)
{
    struct ist v = hdr_value(m, IST("age"));
    long long age = 0;
    size_t i;

    if (http_hdr_find(m, IST("age"), 0) < 0)
        return 0;
    if (v.len == 0 || v.len > 12)
        return -1;
    for (i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        age = age * 10 + (v.ptr[i] - '0');
    }
    return age > 0 && age <= announced ? age : -1;
}

/* 1 for the headers a stored response does not keep (per hop, or
 * recomputed on every hit). */
static int hdr_not_stored(struct ist name)
{
    return ist_ieq(name, IST("connection")) ||
           ist_ieq(name, IST("keep-alive")) ||
           ist_ieq(name, IST("transfer-encoding")) || ist_ieq(name, IST("age"));
}

/* Writes the head of the stored form of <m> to <out>. */
static int stored_head_write(struct evbuffer *out, const struct http_msg *m,
                             long long origin_age)
{
    struct stored_head sh;
    unsigned i, n = 0;

    for (i = 0; i < m->nhdrs; i++)
        n += !hdr_not_stored(m->hdrs[i].name);
    memset(&sh, 0, sizeof(sh));
    sh.status = (uint32_t)m->status;
    sh.reason_len = (uint32_t)m->reason.len;
    sh.nhdrs = n;
    sh.origin_age = origin_age;
    if (evbuffer_add(out, &sh, sizeof(sh)) != 0 ||
        evbuffer_add(out, m->reason.ptr, m->reason.len) != 0)
        return RC_ERR;
    for (i = 0; i < m->nhdrs; i++) {
        uint32_t len[2] = {(uint32_t)m->hdrs[i].name.len,
                           (uint32_t)m->hdrs[i].value.len};

        if (hdr_not_stored(m->hdrs[i].name))
            continue;
        if (evbuffer_add(out, len, sizeof(len)) != 0 ||
            evbuffer_add(out, m->hdrs[i].name.ptr, len[0]) != 0 ||
            evbuffer_add(out, m->hdrs[i].value.ptr, len[1]) != 0)
            return RC_ERR;
    }
    return RC_OK;
}

/* A successful unsafe method drops what the cache holds for its URI
 * (RFC 7234 4.4, as HAProxy). */
static void unsafe_invalidate(const struct http_cache *c,
                              const struct http_txn *txn,
                              const struct cache_txn *ct)
{
    static const struct ist safe[] = {IST("GET"), IST("HEAD"), IST("OPTIONS"),
                                      IST("TRACE")};
    size_t i;

    if (txn->res.status < 200 || txn->res.status >= 400)
        return;
    for (i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (ist_eq(txn->req.meth, safe[i]))
            return;
    shcache_del(c->store, ct->key);
}

/* "http-response cache-store NAME": decides on the head; the filter
 * copies the payload and stores the whole at its end. */
static enum act_ret cache_store_run(struct rule *r, struct stream *s,
                                    unsigned flags)
{
    const struct cache_act *a = r->arg;
    struct http_txn *txn = http_txn_get(s);
    struct cache_txn *ct = txn ? cache_txn_of(s, 0) : NULL;
    const struct http_msg *m;
    long long now = (long long)time(NULL), life, announced, age;

    if (ct == NULL || !ct->has_key || ct->hit != NULL || ct->into != NULL)
        return ACT_RET_CONT;
    m = &txn->res;
    if (!ist_eq(txn->req.meth, IST("GET"))) {
        unsafe_invalidate(a->cache, txn, ct);
        return ACT_RET_CONT;
    }
    if (!(txn->req.h1flags & H1_MF_VER_11) || m->status != 200 ||
        http_hdr_find(&txn->req, IST("authorization"), 0) >= 0 ||
        http_hdr_each_element(&txn->req, IST("cache-control"), is_no_store,
                              NULL) ||
        http_hdr_find(m, IST("vary"), 0) >= 0)
        return ACT_RET_CONT;
    if (m->body_kind == H1_BODY_CLEN &&
        m->body_len > (uint64_t)a->cache->max_obj)
        return ACT_RET_CONT;
    life = response_lifetime(a->cache, m, now, &announced);
    if (life <= 0 || (age = response_age(m, announced)) < 0)
        return ACT_RET_CONT;
    ct->copy = evbuffer_new();
    if (ct->copy == NULL || stored_head_write(ct->copy, m, age) != RC_OK) {
        store_abandon(ct);
        return ACT_RET_CONT;
    }
    if (evbuffer_get_length(ct->copy) > (size_t)a->cache->max_obj) {
        store_abandon(ct);
        return ACT_RET_CONT;
    }
    /* as HAProxy: the client sees the Age a hit would show, none yet */
    http_hdr_del(&txn->res, IST("age"));
    ct->into = a->cache;
    ct->expire = now + life;
    return ACT_RET_CONT;
}

/* ---------------------------------------------------------------- */
/* The filter: copies the payload of a response being stored         */
/* ---------------------------------------------------------------- */

/* "filter cache [NAME]" is accepted; the actions name the cache. */
static int cache_filter_parse(struct cfg_ctx *ctx, int argc, char **args,
                              void **conf, char **err)
{
    if (argc > 2)
        return set_err(err, "'filter cache' takes at most a cache name");
    return RC_OK;
}

/* HAProxy's rules on the filter's place: an implicit one goes with no
 * other filter but an implicit compression; no compression before it. */
static int cache_filter_check(struct proxy *px, void *conf, char **err)
{
    const struct flt_conf *fc, *mine = NULL;

    for (fc = px->filters; fc != NULL; fc = fc->next) {
        int comp = strcmp(fc->ops->name, "compression") == 0;

        if (fc->ops == &cache_filter_ops) {
            if (mine == NULL)
                mine = fc;
            continue;
        }
        if (!fc->implicit && !comp && mine != NULL && mine->implicit)
            return set_err(err,
                           "proxy '%s': an explicit 'filter cache' is "
                           "needed with other filters",
                           px->name);
        if (comp && !fc->implicit && (mine == NULL || mine->implicit))
            return set_err(err,
                           "proxy '%s': the compression filter cannot "
                           "come before the cache filter",
                           px->name);
    }
    return RC_OK;
}

/* A response being stored: watch its payload. */
static int cache_filter_headers(struct stream *s, struct filter *f,
                                enum flt_dir dir)
{
    struct cache_txn *ct = cache_txn_of(s, 0);

    if (dir == FLT_DIR_RES && ct != NULL && ct->into != NULL)
        filter_watch_data(s, f, dir);
    return RC_OK;
}

/* Appends a copy of the bytes of <in> to <dst>; RC_OK or RC_ERR. */
static int buffer_copy(struct evbuffer *dst, struct evbuffer *in)
{
    size_t n = evbuffer_get_length(in);
    struct evbuffer_iovec v;

    if (n == 0)
        return RC_OK;
    if (evbuffer_reserve_space(dst, (ev_ssize_t)n, &v, 1) != 1 ||
        evbuffer_copyout(in, v.iov_base, n) != (ev_ssize_t)n)
        return RC_ERR;
    v.iov_len = n;
    return evbuffer_commit_space(dst, &v, 1) == 0 ? RC_OK : RC_ERR;
}

/* Copies the payload going through; past max-object-size the response
 * is no longer stored. */
static int cache_filter_data(struct stream *s, struct filter *f,
                             enum flt_dir dir, struct evbuffer *in,
                             struct evbuffer *out)
{
    struct cache_txn *ct = cache_txn_of(s, 0);
    size_t n = evbuffer_get_length(in);

    if (ct != NULL && ct->into != NULL) {
        if (evbuffer_get_length(ct->copy) + n > (size_t)ct->into->max_obj)
            store_abandon(ct);
        else if (buffer_copy(ct->copy, in) != RC_OK)
            store_abandon(ct);
    }
    return evbuffer_add_buffer(out, in) == 0 ? RC_OK : RC_ERR;
}

/* The whole payload went through: the object is stored. */
static int cache_filter_finish(struct stream *s, struct filter *f,
                               enum flt_dir dir, struct evbuffer *out)
{
    struct cache_txn *ct = cache_txn_of(s, 0);
    struct shcache_info info;
    struct iovec v;

    if (ct == NULL || ct->into == NULL)
        return RC_OK;
    v.iov_len = evbuffer_get_length(ct->copy);
    v.iov_base = evbuffer_pullup(ct->copy, -1);
    memset(&info, 0, sizeof(info));
    info.stored = (long long)time(NULL);
    info.expire = ct->expire;
    if (v.iov_base != NULL)
        shcache_put(ct->into->store, ct->key, &v, 1, &info);
    store_abandon(ct);
    return RC_OK;
}

static const struct filter_ops cache_filter_ops = {
    .name = "cache",
    .parse = cache_filter_parse,
    .check = cache_filter_check,
    .on_headers = cache_filter_headers,
    .on_data = cache_filter_data,
    .on_end = cache_filter_finish,
};

/* ---------------------------------------------------------------- */
/* Answering from the cache                                          */
/* ---------------------------------------------------------------- */

/* A stored form read back. */
struct stored_view {
    struct stored_head sh;
    struct ist reason;
    const char *hdrs; /* the header records */
    struct ist body;
};

/* Reads the stored form of <len> bytes at <p> into <sv>; RC_OK, or
 * RC_ERR when it is truncated. */
static int stored_parse(const char *p, size_t len, struct stored_view *sv)
{
    const char *end = p + len, *q;
    uint32_t i, l[2];

    if (len < sizeof(sv->sh))
        return RC_ERR;
    memcpy(&sv->sh, p, sizeof(sv->sh));
    q = p + sizeof(sv->sh);
    if ((size_t)(end - q) < sv->sh.reason_len)
        return RC_ERR;
    sv->reason = (struct ist){q, sv->sh.reason_len};
    q += sv->sh.reason_len;
    sv->hdrs = q;
    for (i = 0; i < sv->sh.nhdrs; i++) {
        if ((size_t)(end - q) < sizeof(l))
            return RC_ERR;
        memcpy(l, q, sizeof(l));
        q += sizeof(l);
        if ((size_t)(end - q) < (size_t)l[0] + l[1])
            return RC_ERR;
        q += l[0] + l[1];
    }
    sv->body = (struct ist){q, (size_t)(end - q)};
    return RC_OK;
}

/* Header <i>'s name and value of <sv>; <pos> walks the records. */
static void stored_hdr(const char **pos, struct ist *name, struct ist *value)
{
    uint32_t l[2];

    memcpy(l, *pos, sizeof(l));
    *name = (struct ist){*pos + sizeof(l), l[0]};
    *value = (struct ist){*pos + sizeof(l) + l[0], l[1]};
    *pos += sizeof(l) + l[0] + l[1];
}

/* The stored header <want> of <sv>, or an empty slice. */
static struct ist stored_find(const struct stored_view *sv, struct ist want)
{
    const char *pos = sv->hdrs;
    struct ist n, v;
    uint32_t i;

    for (i = 0; i < sv->sh.nhdrs; i++) {
        stored_hdr(&pos, &n, &v);
        if (ist_ieq(n, want))
            return v;
    }
    return (struct ist){NULL, 0};
}

/* Compares entity tags weakly (W/ ignored), as If-None-Match does. */
static int etag_weak_eq(struct ist a, struct ist b)
{
    if (a.len >= 2 && a.ptr[0] == 'W' && a.ptr[1] == '/')
        a = (struct ist){a.ptr + 2, a.len - 2};
    if (b.len >= 2 && b.ptr[0] == 'W' && b.ptr[1] == '/')
        b = (struct ist){b.ptr + 2, b.len - 2};
    return ist_eq(a, b);
}

/* 1 if the If-None-Match element <e> matches the ETag at <arg>. */
static int inm_element(struct ist e, void *arg)
{
    const struct ist *etag = arg;

    return ist_eq(e, IST("*")) || etag_weak_eq(e, *etag);
}

/* 1 if the conditional request <req> is answered 304 by <sv>: an
 * If-None-Match naming its ETag, else an If-Modified-Since not older
 * than its Last-Modified (its Date, else its time of storage). */
static int not_modified(const struct http_msg *req,
                        const struct stored_view *sv, long long stored)
{
    struct ist etag = stored_find(sv, IST("etag")), v;
    long long since, modified;

    if (http_hdr_find(req, IST("if-none-match"), 0) >= 0)
        return etag.len > 0 && http_hdr_each_element(req, IST("if-none-match"),
                                                     inm_element, &etag);
    v = hdr_value(req, IST("if-modified-since"));
    if (v.len == 0 || (since = http_date_parse(v)) < 0)
        return 0;
    modified = http_date_parse(stored_find(sv, IST("last-modified")));
    if (modified < 0)
        modified = http_date_parse(stored_find(sv, IST("date")));
    if (modified < 0)
        modified = stored;
    return modified <= since;
}

/* Sends the stored response; the body goes out as the output drains. */
static int cache_applet_io(struct stream *s, void *arg, void **ctx)
{
    struct cache_txn *ct = cache_txn_of(s, 0);
    struct http_txn *txn = http_txn_get(s);
    struct stored_view sv;
    size_t *sent = *ctx;
    int rc;

    if (ct == NULL || ct->obj == NULL ||
        stored_parse(ct->obj, ct->info.len, &sv) != RC_OK)
        return RC_ERR;
    if (sent == NULL) {
        const char *pos = sv.hdrs;
        char age[24];
        struct ist n, v;
        uint32_t i;
        int status = (int)sv.sh.status;
        long long a =
            sv.sh.origin_age + (long long)time(NULL) - ct->info.stored;

        if ((sent = pcalloc(s->pool, sizeof(*sent))) == NULL)
            return RC_ERR;
        *ctx = sent;
        if (not_modified(&txn->req, &sv, ct->info.stored)) {
            status = 304;
            *sent = sv.body.len;
        }
        if (http_reply_begin(s, status,
                             status == 304 ? (struct ist){NULL, 0}
                                           : sv.reason) != RC_OK)
            return RC_ERR;
        for (i = 0; i < sv.sh.nhdrs; i++) {
            stored_hdr(&pos, &n, &v);
            http_reply_header(s, n, v);
        }
        snprintf(age, sizeof(age), "%lld", a < 0 ? 0 : a);
        http_reply_header(s, IST("age"), ist_from(age));
        http_reply_headers_end(s);
    }
    while (*sent < sv.body.len) {
        size_t k = sv.body.len - *sent > 16384 ? 16384 : sv.body.len - *sent;

        rc = http_reply_body(s, sv.body.ptr + *sent, k);
        if (rc != RC_OK)
            return rc;
        *sent += k;
    }
    return RC_DONE;
}

static const struct applet_ops cache_applet_ops = {
    .kind = APPLET_HTTP,
    .log_name = "<CACHE>",
    .io = cache_applet_io,
};

/* ---------------------------------------------------------------- */
/* Fetches and the runtime API                                       */
/* ---------------------------------------------------------------- */

/* The cache that answered the stream of <env>, or NULL. */
static const struct http_cache *stream_hit(const struct smp_env *env)
{
    const struct cache_txn *ct =
        env->strm != NULL ? cache_txn_of(env->strm, 0) : NULL;

    return ct != NULL ? ct->hit : NULL;
}

/* res.cache_hit */
static int fetch_cache_hit(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_BOOL;
    smp->data.sint = stream_hit(env) != NULL;
    return 1;
}

/* res.cache_name */
static int fetch_cache_name(const struct arg *args, struct sample *smp,
                            const struct smp_env *env, const void *priv)
{
    const struct http_cache *c = stream_hit(env);

    smp->type = SMP_T_STR;
    smp->data.str = c != NULL ? ist_from(c->name) : (struct ist){"", 0};
    return 1;
}

static const struct sample_fetch_kw cache_fetches[] = {
    {.name = "res.cache_hit",
     .fn = fetch_cache_hit,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_RES,
     .match_method = PAT_MATCH_BOOL},
    {.name = "res.cache_name",
     .fn = fetch_cache_name,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_RES,
     .match_method = PAT_MATCH_STR},
    {.name = NULL},
};

/* One line of "show cache", collected to be sorted by hash. */
struct show_row {
    const void *at;
    uint32_t hash;
    size_t len;
    unsigned blocks;
    long long expire;
};

struct show_rows {
    struct show_row *v;
    size_t n, cap;
    long long now;
};

/* Adds an object of the store to the rows of "show cache". */
static void show_collect(const unsigned char *key,
                         const struct shcache_info *info, void *arg)
{
    struct show_rows *rows = arg;
    uint32_t hash;

    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 64;
        struct show_row *v = realloc(rows->v, cap * sizeof(*v));

        if (v == NULL)
            return;
        rows->v = v;
        rows->cap = cap;
    }
    /* HAProxy shows the first four bytes of the key read as a number */
    memcpy(&hash, key, sizeof(hash));
    rows->v[rows->n++] = (struct show_row){
        info->at, hash, info->len, info->blocks, info->expire - rows->now};
}

/* Orders rows by hash, as HAProxy's tree does. */
static int show_row_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct show_row *)a)->hash;
    uint32_t y = ((const struct show_row *)b)->hash;

    return x < y ? -1 : x > y;
}

/* "show cache": each cache, then its live objects by hash. */
static int cli_show_cache(struct cli_req *req, int argc, char **args, void *arg)
{
    struct cache_cfg *cc = *cfg_module_data(worker_cfg(), &http_cache_module);
    struct http_cache *c;
    size_t i;

    for (c = cc != NULL ? cc->caches : NULL; c != NULL; c = c->next) {
        struct show_rows rows = {NULL, 0, 0, (long long)time(NULL)};

        cli_printf(req, "%p: %s (shctx:%p, available blocks:%u)\n", (void *)c,
                   c->name, (void *)c->store, shcache_blocks(c->store));
        shcache_walk(c->store, rows.now, show_collect, &rows);
        qsort(rows.v, rows.n, sizeof(*rows.v), show_row_cmp);
        for (i = 0; i < rows.n; i++)
            cli_printf(req,
                       "%p hash:%u vary:0x0000000000000000 size:%zu (%u "
                       "blocks), refcount:0, expire:%lld\n",
                       rows.v[i].at, rows.v[i].hash, rows.v[i].len,
                       rows.v[i].blocks, rows.v[i].expire);
        free(rows.v);
    }
    return RC_OK;
}

static const struct cli_cmd cache_cli_cmds[] = {
    {{"show", "cache", NULL},
     "show cache                              : show cache status",
     CLI_LVL_OPER,
     0,
     cli_show_cache,
     NULL},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

/* ---------------------------------------------------------------- */
/* The module                                                        */
/* ---------------------------------------------------------------- */

static const struct action_kw cache_actions[] = {
    {"cache-use", RULESET_BIT(RULESET_HTTP_REQ), 0, cache_act_parse},
    {"cache-store", RULESET_BIT(RULESET_HTTP_RES), 0, cache_act_parse},
    {NULL, 0, 0, NULL},
};

static const struct cfg_kw cache_keywords[] = {
    {"total-max-size", CFG_SEC_CACHE, 1, 1, parse_cache_int,
     offsetof(struct http_cache, total_mb), 1, CACHE_MAX_MB},
    {"max-object-size", CFG_SEC_CACHE, 1, 1, parse_cache_int,
     offsetof(struct http_cache, max_obj), 1, 2147483647LL},
    {"max-age", CFG_SEC_CACHE, 1, 1, parse_cache_int,
     offsetof(struct http_cache, max_age), 0, 2147483647LL},
    {"max-secondary-entries", CFG_SEC_CACHE, 1, 1, parse_cache_int,
     offsetof(struct http_cache, max_second), 1, 2147483647LL},
    {"process-vary", CFG_SEC_CACHE, 1, 1, parse_process_vary, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

static const struct cfg_kw *const cache_keyword_tables[] = {
    cache_keywords,
    NULL,
};

static const struct cfg_section cache_sections[] = {
    {"cache", CFG_SEC_CACHE, cache_open},
    {NULL, 0, NULL},
};

/* Fills the registries (module init). */
static int cache_init(void)
{
    txn_slot = stream_slot_register();
    action_register(cache_actions);
    filter_register(&cache_filter_ops);
    sample_register_fetches(cache_fetches);
    cli_register(cache_cli_cmds);
    return txn_slot < 0 ? RC_ERR : RC_OK;
}

const struct module http_cache_module = {
    .name = "http-cache",
    .keywords = cache_keyword_tables,
    .sections = cache_sections,
    .init = cache_init,
    .post_parse = cache_post_parse,
    .cfg_free = cache_cfg_free,
};
