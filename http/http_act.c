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

/* set-header / add-header / del-header: arg = name, value. */
struct hdr_act {
    struct ist name, value;
    int del_first;
};

static enum act_ret hdr_run(struct rule *r, struct stream *s, unsigned f)
{
    const struct hdr_act *ha = r->arg;
    struct http_msg *m = act_msg(s);

    if (m == NULL)
        return ACT_RET_CONT;
    if (ha->del_first)
        http_hdr_del(m, ha->name);
    if (ha->value.ptr != NULL && http_hdr_add(s, m, ha->name, ha->value) != RC_OK)
        return ACT_RET_ERR;
    return ACT_RET_CONT;
}

static void hdr_free(struct rule *r)
{
    struct hdr_act *ha = r->arg;

    if (ha == NULL)
        return;
    free((char *)ha->name.ptr);
    free((char *)ha->value.ptr);
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
    if (!del && strchr(args[2], '%') != NULL)
        return set_err(err, "'%s': log-format values are not supported yet",
                       args[0]);
    ha = xcalloc(1, sizeof(*ha));
    ha->name = ist_from(xstrdup(args[1]));
    if (!del)
        ha->value = ist_from(xstrdup(args[2]));
    ha->del_first = strcmp(args[0], "add-header") != 0;
    r->arg = ha;
    r->run = hdr_run;
    r->free = hdr_free;
    *cur = del ? 2 : 3;
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
    {NULL, 0, 0, NULL},
};

void http_act_init(void)
{
    action_register(http_actions);
}
