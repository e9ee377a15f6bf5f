/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The filter registry, the "filter" keyword, and the calls that run the
 * hooks of a stream's filters in order (see filter.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/filter.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/stream.h"
#include "core/util.h"

#define FILTER_TYPES_MAX 16

/* filter.flags: on_end already ran for the direction */
#define FLT_F_ENDED(dir) (0x10u << (dir))

static const struct filter_ops *types[FILTER_TYPES_MAX];
static int ntypes;

void filter_register(const struct filter_ops *ops)
{
    if (ntypes < FILTER_TYPES_MAX)
        types[ntypes++] = ops;
    else
        log_alert("too many filter types, '%s' ignored", ops->name);
}

const struct filter_ops *filter_find(const char *name)
{
    int i;
    size_t n;

    for (i = 0; i < ntypes; i++) {
        n = strlen(types[i]->name);
        if (n > 0 && types[i]->name[n - 1] == '.'
                ? strncmp(types[i]->name, name, n) == 0 && name[n] != '\0'
                : strcmp(types[i]->name, name) == 0)
            return types[i];
    }
    return NULL;
}

struct flt_conf *flt_conf_find(const struct proxy *px,
                               const struct filter_ops *ops)
{
    struct flt_conf *fc;

    for (fc = px->filters; fc != NULL; fc = fc->next)
        if (fc->ops == ops)
            return fc;
    return NULL;
}

/* Appends <fc> to <px>'s list. */
static void flt_conf_append(struct proxy *px, struct flt_conf *fc)
{
    struct flt_conf **tail = &px->filters;

    while (*tail != NULL)
        tail = &(*tail)->next;
    fc->next = NULL;
    *tail = fc;
}

struct flt_conf *flt_conf_add(struct proxy *px, const struct filter_ops *ops,
                              void *conf, int implicit)
{
    struct flt_conf *fc = xcalloc(1, sizeof(*fc));

    fc->ops = ops;
    fc->conf = conf;
    fc->implicit = implicit;
    flt_conf_append(px, fc);
    return fc;
}

/* Unlinks <fc> from <px>'s list. */
static void flt_conf_unlink(struct proxy *px, struct flt_conf *fc)
{
    struct flt_conf **p;

    for (p = &px->filters; *p != NULL; p = &(*p)->next) {
        if (*p == fc) {
            *p = fc->next;
            fc->next = NULL;
            return;
        }
    }
}

struct flt_conf *flt_conf_add_first(struct proxy *px,
                                    const struct filter_ops *ops, void *conf)
{
    struct flt_conf *fc = flt_conf_add(px, ops, conf, 1);

    flt_conf_unlink(px, fc);
    fc->next = px->filters;
    px->filters = fc;
    return fc;
}

void flt_confs_inherit(struct proxy *dst, const struct proxy *src)
{
    const struct flt_conf *fc;

    for (fc = src->filters; fc != NULL; fc = fc->next)
        if (fc->implicit)
            flt_conf_add(dst, fc->ops,
                         fc->ops->conf_dup ? fc->ops->conf_dup(fc->conf) : NULL,
                         1);
}

void flt_confs_free(struct proxy *px)
{
    struct flt_conf *fc, *next;

    for (fc = px->filters; fc != NULL; fc = next) {
        next = fc->next;
        if (fc->ops->conf_free != NULL)
            fc->ops->conf_free(fc->conf);
        free(fc);
    }
    px->filters = NULL;
}

int filters_check(struct proxy *px)
{
    struct flt_conf *fc;
    int errors = 0, warned = 0;

    for (fc = px->filters; fc != NULL; fc = fc->next) {
        char *err = NULL;

        /* implicit ones may come from a defaults section shared with
         * HTTP proxies: only a "filter" line deserves the warning */
        if (px->mode == PX_MODE_TCP && !fc->implicit && !warned++)
            log_warning("%s:%d: %s '%s' is in tcp mode: its filters are "
                        "ignored",
                        px->file, px->line, proxy_cap_name(px), px->name);

        if (fc->ops->check == NULL ||
            fc->ops->check(px, fc->conf, &err) == RC_OK)
            continue;
        log_alert("%s:%d: %s '%s': %s", px->file, px->line, proxy_cap_name(px),
                  px->name, err);
        free(err);
        errors++;
    }
    return errors;
}

/* "filter NAME [args]": a type's instance, in the order written. An
 * implicit filter of the same type (declared by its module's keywords,
 * which may come first) becomes this one, at this place, with its
 * settings. */
static int parse_filter(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    const struct filter_ops *ops = filter_find(args[1]);
    struct flt_conf *fc;
    void *conf = NULL;
    int rc = RC_OK;

    if (ops == NULL)
        return set_err(err, "unknown filter '%s'", args[1]);
    fc = flt_conf_find(ctx->px, ops);
    if (fc != NULL && !fc->implicit)
        fc = NULL;
    if (fc != NULL)
        conf = fc->conf;
    if (ops->parse != NULL)
        rc = ops->parse(ctx, argc - 1, args + 1, &conf, err);
    if (fc == NULL) {
        if (rc == RC_OK)
            flt_conf_add(ctx->px, ops, conf, 0);
        else if (ops->conf_free != NULL)
            ops->conf_free(conf);
        return rc;
    }
    fc->conf = conf;
    fc->implicit = 0;
    flt_conf_unlink(ctx->px, fc);
    flt_conf_append(ctx->px, fc);
    return rc;
}

const struct cfg_kw filter_keywords[] = {
    {"filter", CFG_SEC_NODEF, 1, -1, parse_filter, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* ---------------------------------------------------------------- */
/* A stream's filters                                                */
/* ---------------------------------------------------------------- */

int filters_attach(struct stream *s, const struct proxy *px)
{
    struct stream_filters *sf = s->flt;
    const struct flt_conf *fc;
    struct filter *v;
    int n = 0, old = sf ? sf->n : 0, i;

    for (fc = px->filters; fc != NULL; fc = fc->next)
        n++;
    if (n == 0)
        return RC_OK;
    if (sf == NULL && (sf = pcalloc(s->pool, sizeof(*sf))) == NULL)
        return RC_ERR;
    s->flt = sf;
    v = pcalloc(s->pool, (size_t)(old + n) * sizeof(*v));
    if (v == NULL)
        return RC_ERR;
    if (old > 0)
        memcpy(v, sf->v, (size_t)old * sizeof(*v));
    sf->v = v;
    for (fc = px->filters, i = old; fc != NULL; fc = fc->next, i++) {
        v[i].fc = fc;
        sf->n = i + 1;
        if (fc->ops->stream_start != NULL &&
            fc->ops->stream_start(s, &v[i]) != RC_OK)
            return RC_ERR;
    }
    return RC_OK;
}

void filters_release(struct stream *s)
{
    struct stream_filters *sf = s->flt;
    int i;

    if (sf == NULL)
        return;
    for (i = 0; i < sf->n; i++) {
        if (sf->v[i].fc->ops->stream_end != NULL)
            sf->v[i].fc->ops->stream_end(s, &sf->v[i]);
        if (sf->v[i].data_out != NULL)
            evbuffer_free(sf->v[i].data_out);
    }
    s->flt = NULL;
}

void filter_want_data(struct stream *s, struct filter *f, enum flt_dir dir)
{
    if (f->flags & FLT_F_DATA(dir))
        return;
    f->flags |= FLT_F_DATA(dir);
    s->flt->ndata[dir]++;
}

void filter_watch_data(struct stream *s, struct filter *f, enum flt_dir dir)
{
    if (f->flags & FLT_F_DATA(dir))
        return;
    filter_want_data(s, f, dir);
    f->flags |= FLT_F_WATCH(dir);
    s->flt->nwatch[dir]++;
}

int filters_keep_length(const struct stream *s, enum flt_dir dir)
{
    return s->flt == NULL || s->flt->ndata[dir] == s->flt->nwatch[dir];
}

int filters_headers(struct stream *s, enum flt_dir dir)
{
    struct stream_filters *sf = s->flt;
    int rc;

    if (sf == NULL)
        return RC_OK;
    for (; sf->resume < sf->n; sf->resume++) {
        struct filter *f = &sf->v[sf->resume];

        if (f->fc->ops->on_headers == NULL)
            continue;
        rc = f->fc->ops->on_headers(s, f, dir);
        if (rc == RC_AGAIN)
            return RC_AGAIN;
        if (rc != RC_OK) {
            sf->resume = 0;
            return RC_ERR;
        }
    }
    sf->resume = 0;
    return RC_OK;
}

size_t filters_held(const struct stream *s, enum flt_dir dir)
{
    size_t n = 0;
    int i;

    for (i = 0; s->flt != NULL && i < s->flt->n; i++)
        if ((s->flt->v[i].flags & FLT_F_DATA(dir)) &&
            s->flt->v[i].data_out != NULL)
            n += evbuffer_get_length(s->flt->v[i].data_out);
    return n;
}

int filters_want_data(const struct stream *s, enum flt_dir dir)
{
    return s->flt != NULL && s->flt->ndata[dir] > 0;
}

/* The buffer between filter <i> and the next one wanting <dir>'s payload,
 * or <out> after the last; NULL when out of memory. */
static struct evbuffer *stage_out(struct stream_filters *sf, int i,
                                  enum flt_dir dir, struct evbuffer *out)
{
    int j;

    for (j = i + 1; j < sf->n; j++)
        if (sf->v[j].flags & FLT_F_DATA(dir))
            break;
    if (j == sf->n)
        return out;
    if (sf->v[i].data_out == NULL)
        sf->v[i].data_out = evbuffer_new();
    return sf->v[i].data_out;
}

/* Offers the bytes of <in> to <f> as long as it takes some. */
static int feed(struct stream *s, struct filter *f, enum flt_dir dir,
                struct evbuffer *in, struct evbuffer *out)
{
    size_t left;
    int rc;

    if (f->fc->ops->on_data == NULL)
        return evbuffer_add_buffer(out, in) == 0 ? RC_OK : RC_ERR;
    while ((left = evbuffer_get_length(in)) > 0) {
        rc = f->fc->ops->on_data(s, f, dir, in, out);
        if (rc != RC_OK)
            return rc;
        if (evbuffer_get_length(in) == left)
            break;
    }
    return RC_OK;
}

/* Runs the payload chain of <dir>; with <end>, each filter's on_end too,
 * once, after its input is drained. */
static int run_chain(struct stream *s, enum flt_dir dir, struct evbuffer *in,
                     struct evbuffer *out, int end)
{
    struct stream_filters *sf = s->flt;
    int i, rc;

    for (i = 0; i < sf->n; i++) {
        struct filter *f = &sf->v[i];
        const struct filter_ops *ops = f->fc->ops;
        struct evbuffer *o;

        if (!(f->flags & FLT_F_DATA(dir)))
            continue;
        if ((o = stage_out(sf, i, dir, out)) == NULL)
            return RC_ERR;
        if ((rc = feed(s, f, dir, in, o)) != RC_OK)
            return rc;
        if (end && !(f->flags & FLT_F_ENDED(dir))) {
            if (evbuffer_get_length(in) > 0)
                return RC_AGAIN;
            rc = ops->on_end != NULL ? ops->on_end(s, f, dir, o) : RC_OK;
            if (rc != RC_OK)
                return rc;
            f->flags |= FLT_F_ENDED(dir);
        }
        in = o;
    }
    return RC_OK;
}

int filters_data(struct stream *s, enum flt_dir dir, struct evbuffer *in,
                 struct evbuffer *out)
{
    if (!filters_want_data(s, dir)) {
        evbuffer_add_buffer(out, in);
        return RC_OK;
    }
    return run_chain(s, dir, in, out, 0);
}

int filters_end(struct stream *s, enum flt_dir dir, struct evbuffer *in,
                struct evbuffer *out)
{
    if (!filters_want_data(s, dir)) {
        evbuffer_add_buffer(out, in);
        return RC_OK;
    }
    return run_chain(s, dir, in, out, 1);
}
