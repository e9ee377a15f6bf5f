/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Request identifiers: see unique_id.h. Rendered as HAProxy does: a
 * missing sample is empty, the result is cut to UNIQUE_ID_MAX bytes, and
 * an empty identifier prints '-' in logs. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/logformat.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/unique_id.h"
#include "core/util.h"

/* "unique-id-format FMT": compiled at post-parse, once the mode is known. */
static int parse_uid_format(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    struct proxy *px = ctx->px;

    if (argc > 2)
        return set_err(err, "'unique-id-format' expects only one argument, "
                            "don't forget to escape spaces!");
    free(px->uid_format);
    px->uid_format = xstrdup(args[1]);
    px->uid_file = ctx->file;
    px->uid_line = ctx->line;
    return RC_OK;
}

/* "unique-id-header NAME". */
static int parse_uid_header(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    free(ctx->px->uid_header);
    ctx->px->uid_header = xstrdup(args[1]);
    return RC_OK;
}

const struct cfg_kw unique_id_keywords[] = {
    {"unique-id-format", CFG_SEC_FE, 1, -1, parse_uid_format, 0, 0, 0},
    {"unique-id-header", CFG_SEC_FE, 1, 1, parse_uid_header, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

void unique_id_inherit(struct proxy *px, const struct proxy *defaults)
{
    if (defaults->uid_format != NULL)
        px->uid_format = xstrdup(defaults->uid_format);
    px->uid_file = defaults->uid_file;
    px->uid_line = defaults->uid_line;
    if (defaults->uid_header != NULL)
        px->uid_header = xstrdup(defaults->uid_header);
}

void unique_id_release(struct proxy *px)
{
    free(px->uid_format);
    free(px->uid_header);
    logformat_free(px->uid_lf);
}

int unique_id_post_parse(struct cfg *cfg)
{
    struct proxy *px;
    int rc = RC_OK;

    for (px = cfg->proxies; px != NULL; px = px->next) {
        char *err = NULL;

        if (px->uid_format == NULL || !(px->cap & PX_CAP_FE) ||
            (px->cap & PX_CAP_DEF))
            continue;
        px->uid_lf = logformat_parse(
            px->uid_format, px->mode == PX_MODE_HTTP ? LF_PARSE_HTTP_MODE : 0,
            &err);
        if (px->uid_lf == NULL) {
            log_alert("%s:%d: failed to parse unique-id-format : %s.",
                      px->uid_file, px->uid_line, err);
            free(err);
            rc = RC_ERR;
        }
    }
    return rc;
}

const char *stream_unique_id(struct stream *s)
{
    char buf[UNIQUE_ID_MAX + 1];
    size_t len;

    if (s->unique_id != NULL || s->fe->uid_lf == NULL)
        return s->unique_id;
    /* a format naming the identifier itself (%ID, %[unique-id]) sees it
     * empty rather than asking for it again */
    s->unique_id = "";
    len = logformat_render(s->fe->uid_lf, s, buf, sizeof(buf));
    s->unique_id = pstrndup(s->pool, buf, len);
    return s->unique_id;
}

/* "unique-id": the stream's identifier; no sample without a format. */
static int fetch_unique_id(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    const char *id;

    if (env->strm == NULL || (id = stream_unique_id(env->strm)) == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(id);
    return 1;
}

static const struct sample_fetch_kw unique_id_fetches[] = {
    {.name = "unique-id",
     .fn = fetch_unique_id,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = NULL},
};

/* %ID */
static void lf_unique_id(struct logformat_out *out, struct stream *s,
                         unsigned o)
{
    const char *id = s != NULL ? stream_unique_id(s) : NULL;

    logformat_put_text(out, id, id != NULL ? strlen(id) : 0, o);
}

static const struct logformat_tag unique_id_tags[] = {
    {"ID", lf_unique_id, 0},
    {NULL, NULL, 0},
};

void unique_id_init(void)
{
    sample_register_fetches(unique_id_fetches);
    logformat_register_tags(unique_id_tags);
}
