/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* "filter trace [name NAME] [random-forwarding]": HAProxy's debugging
 * filter. It logs every hook it is called for, at notice level, and asks
 * for the payload of both messages, which it passes on unchanged (with
 * random-forwarding, a random part of what is offered each time), so that
 * the order of the hooks and the re-framing of a filtered payload can be
 * watched. */
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
#include "core/stream.h"
#include "core/util.h"

struct trace_conf {
    char *name;
    int random_fwd;
};

static const char *const dir_names[] = {"request", "response"};

static int trace_parse(struct cfg_ctx *ctx, int argc, char **args, void **conf,
                       char **err)
{
    struct trace_conf *tc = xcalloc(1, sizeof(*tc));
    int i;

    *conf = tc;
    for (i = 1; i < argc; i++) {
        if (strcmp(args[i], "name") == 0 && i + 1 < argc) {
            free(tc->name);
            tc->name = xstrdup(args[++i]);
        } else if (strcmp(args[i], "random-forwarding") == 0) {
            tc->random_fwd = 1;
        } else {
            return set_err(err, "'filter trace': unknown option '%s'", args[i]);
        }
    }
    if (tc->name == NULL)
        tc->name = xstrdup("trace");
    return RC_OK;
}

static void trace_conf_free(void *conf)
{
    struct trace_conf *tc = conf;

    if (tc != NULL)
        free(tc->name);
    free(tc);
}

/* The configured name of <f>. */
static const char *trace_name(const struct filter *f)
{
    return ((const struct trace_conf *)f->fc->conf)->name;
}

static int trace_stream_start(struct stream *s, struct filter *f)
{
    log_notice("[%s] stream %llu: start", trace_name(f), s->id);
    return RC_OK;
}

static void trace_stream_end(struct stream *s, struct filter *f)
{
    log_notice("[%s] stream %llu: end", trace_name(f), s->id);
}

static int trace_headers(struct stream *s, struct filter *f, enum flt_dir dir)
{
    log_notice("[%s] stream %llu: %s headers", trace_name(f), s->id,
               dir_names[dir]);
    filter_want_data(s, f, dir);
    return RC_OK;
}

static int trace_data(struct stream *s, struct filter *f, enum flt_dir dir,
                      struct evbuffer *in, struct evbuffer *out)
{
    const struct trace_conf *tc = f->fc->conf;
    size_t n = evbuffer_get_length(in);

    if (tc->random_fwd && n > 1)
        n = 1 + (size_t)random() % n;
    log_notice("[%s] stream %llu: %s data %zu bytes", tc->name, s->id,
               dir_names[dir], n);
    return evbuffer_remove_buffer(in, out, n) >= 0 ? RC_OK : RC_ERR;
}

static int trace_end(struct stream *s, struct filter *f, enum flt_dir dir,
                     struct evbuffer *out)
{
    log_notice("[%s] stream %llu: %s end", trace_name(f), s->id,
               dir_names[dir]);
    return RC_OK;
}

static const struct filter_ops trace_ops = {
    .name = "trace",
    .parse = trace_parse,
    .conf_free = trace_conf_free,
    .stream_start = trace_stream_start,
    .stream_end = trace_stream_end,
    .on_headers = trace_headers,
    .on_data = trace_data,
    .on_end = trace_end,
};

void filter_trace_init(void)
{
    filter_register(&trace_ops);
}
