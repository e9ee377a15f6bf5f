/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Custom error pages: the "http-errors" section and the proxy keywords
 * errorfile, errorfiles, errorloc, errorloc302, errorloc303 and http-error
 * (HAProxy 2.2+). Every page is built at load time into a raw response in
 * the proxy's errorfile list, so that answering an error only copies bytes.
 * "errorfiles" may name a section declared further down, so references
 * stay in the list, in the order written, until the post-parse pass
 * resolves them; that pass also makes a later definition replace an
 * earlier one for the same status (the proxy's own lines come after those
 * it inherited from its defaults section). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/util.h"
#include "http/h1.h"
#include "http/http.h"
#include "http/http_ana.h"

/* One "http-errors NAME" section. */
struct http_errors {
    struct http_errors *next;
    char *name;
    const char *file; /* where it was declared (cfg_intern_file) */
    int line;
    struct errorfile *pages; /* at most one per status */
};

/* What an "http-error" line answers with. */
enum err_payload {
    PL_EMPTY,      /* the status and headers, no body */
    PL_DEFAULT,    /* "default-errorfiles": the built-in page */
    PL_ERRORFILE,  /* "errorfile FILE": a whole response */
    PL_ERRORFILES, /* "errorfiles NAME": the page of a section */
    PL_BODY,       /* "string", "file", "lf-string", "lf-file" */
};

/* An "http-error" line once read; the words stay in the parser's args. */
struct err_spec {
    int status;
    const char *ctype;
    enum err_payload kind;
    const char *arg; /* PL_ERRORFILE's path, PL_ERRORFILES's section */
    char *body;      /* PL_BODY, owned */
    size_t body_len;
    int *hdrs; /* index in args of each "hdr" name */
    int nhdrs;
};

/* The statuses luaproxy answers by itself, so a page for them makes
 * sense: HAProxy 3.1's list, plus 505 which we answer too. */
static const int handled_codes[] = {200, 400, 401, 403, 404, 405, 407,
                                    408, 410, 413, 414, 425, 429, 431,
                                    500, 501, 502, 503, 504, 505};

/* Parses a status word that must be one of handled_codes. */
static int parse_code(const char *word, int *status, char **err)
{
    long long v;
    size_t i;

    if (cfgval_int(word, 0, 999, &v, err) != RC_OK)
        return RC_ERR;
    for (i = 0; i < sizeof(handled_codes) / sizeof(handled_codes[0]); i++) {
        if (handled_codes[i] == v) {
            *status = (int)v;
            return RC_OK;
        }
    }
    return set_err(err, "status code %lld not handled", v);
}

/* A new entry for <status> at the current line; the caller fills it. */
static struct errorfile *entry_new(struct cfg_ctx *ctx, int status)
{
    struct errorfile *e = xcalloc(1, sizeof(*e));

    e->status = status;
    e->file = ctx->file;
    e->line = ctx->line;
    return e;
}

/* Makes the page for <status> from the response <raw> (taken over),
 * checked as a server's response would be, so that a page we could not
 * parse back is a configuration error. An empty one is allowed: the
 * connection just closes ("errorfile 408 /dev/null"). NULL with *err. */
static struct errorfile *page_new(struct cfg_ctx *ctx, int status, char *raw,
                                  size_t len, const char *what, char **err)
{
    struct errorfile *e;
    struct h1_msg *m;
    int framed = 0;

    if (len > 0) {
        m = xmalloc(sizeof(*m));
        h1_msg_init(m, NULL);
        if (h1_parse_response(m, raw, len) != RC_OK) {
            free(m);
            free(raw);
            set_err(err, "%s is not a valid HTTP response", what);
            return NULL;
        }
        framed = (m->flags & H1_MF_CLEN) && m->head_len + m->body_len == len;
        free(m);
    }
    e = entry_new(ctx, status);
    e->raw = raw;
    e->len = len;
    e->framed = framed;
    return e;
}

/* Reads the page for <status> from the file at <path>. */
static struct errorfile *page_load(struct cfg_ctx *ctx, int status,
                                   const char *path, char **err)
{
    struct errorfile *e;
    char *raw, *what;
    size_t len;

    if (file_read_all(path, &raw, &len, err) != RC_OK)
        return NULL;
    what = xasprintf("errorfile '%s'", path);
    e = page_new(ctx, status, raw, len, what, err);
    free(what);
    return e;
}

/* An "errorfiles NAME" reference to the page for <status> (0: all). */
static struct errorfile *ref_new(struct cfg_ctx *ctx, int status,
                                 const char *name)
{
    struct errorfile *e = entry_new(ctx, status);

    e->section = xstrdup(name);
    return e;
}

/* Appends <e> to the list at <head>, resolved after parsing. */
static void entry_append(struct errorfile **head, struct errorfile *e)
{
    while (*head != NULL)
        head = &(*head)->next;
    *head = e;
}

/* Removes the page for <status> from the list at <head>. */
static void page_remove(struct errorfile **head, int status)
{
    struct errorfile *e;

    for (; *head != NULL; head = &(*head)->next) {
        if ((*head)->status != status)
            continue;
        e = *head;
        *head = e->next;
        e->next = NULL;
        errorfiles_free(e);
        return;
    }
}

/* Puts the page <e> in the list at <head>, in place of the one for the
 * same status if any. */
static void page_set(struct errorfile **head, struct errorfile *e)
{
    page_remove(head, e->status);
    entry_append(head, e);
}

/* The http-errors sections of <cfg>, in the http module's slot. */
static struct http_errors *sections_of(struct cfg *cfg)
{
    return *cfg_module_data(cfg, &http_module);
}

/* The http-errors section of <cfg> named <name>, or NULL. */
static struct http_errors *section_find(struct cfg *cfg, const char *name)
{
    struct http_errors *he;

    for (he = sections_of(cfg); he != NULL; he = he->next)
        if (strcmp(he->name, name) == 0)
            return he;
    return NULL;
}

/* "http-errors NAME": opens a section whose errorfile lines fill it. */
static int http_errors_open(struct cfg_ctx *ctx, int argc, char **args,
                            char **err)
{
    void **slot = cfg_module_data(ctx->cfg, &http_module);
    struct http_errors *he, *last = NULL;

    if (argc != 2)
        return set_err(err, "'http-errors' expects exactly one name");
    for (he = *slot; he != NULL; last = he, he = he->next)
        if (strcmp(he->name, args[1]) == 0)
            return set_err(err,
                           "http-errors section '%s' has the same name as "
                           "the one declared at %s:%d",
                           args[1], he->file, he->line);
    he = xcalloc(1, sizeof(*he));
    he->name = xstrdup(args[1]);
    he->file = ctx->file;
    he->line = ctx->line;
    if (last == NULL)
        *slot = he;
    else
        last->next = he;
    ctx->sec_data = he;
    return RC_OK;
}

/* "errorfile CODE FILE", in a proxy or in an http-errors section. */
static int parse_errorfile(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                           int argc, char **args, char **err)
{
    struct errorfile *e;
    int status;

    if (parse_code(args[1], &status, err) != RC_OK ||
        (e = page_load(ctx, status, args[2], err)) == NULL)
        return RC_ERR;
    if (ctx->section == CFG_SEC_HTTP_ERRORS)
        page_set(&((struct http_errors *)ctx->sec_data)->pages, e);
    else
        entry_append(&ctx->px->errorfiles, e);
    return RC_OK;
}

/* "errorfiles NAME [CODE ...]": the section's pages, all or those listed;
 * the section may be declared later, so only a reference is kept. */
static int parse_errorfiles(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    int i, status;

    if (argc == 2) {
        entry_append(&ctx->px->errorfiles, ref_new(ctx, 0, args[1]));
        return RC_OK;
    }
    for (i = 2; i < argc; i++) {
        if (parse_code(args[i], &status, err) != RC_OK)
            return RC_ERR;
        entry_append(&ctx->px->errorfiles, ref_new(ctx, status, args[1]));
    }
    return RC_OK;
}

/* "errorloc CODE URL", "errorloc302" and "errorloc303" (kw->lo is the
 * redirect's status): a redirect instead of the page, as HAProxy's. */
static int parse_errorloc(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    struct errorfile *e;
    int status, code = (int)kw->lo;
    char *raw;

    if (parse_code(args[1], &status, err) != RC_OK)
        return RC_ERR;
    raw = xasprintf("HTTP/1.1 %d %s\r\ncache-control: no-cache\r\n"
                    "content-length: 0\r\nlocation: %s\r\n\r\n",
                    code, http_status_reason(code), args[2]);
    if ((e = page_new(ctx, status, raw, strlen(raw), "the redirect", err)) ==
        NULL)
        return RC_ERR;
    entry_append(&ctx->px->errorfiles, e);
    return RC_OK;
}

/* Refuses a log-format value: pages are prebuilt, so only literals. */
static int literal_only(const char *opt, const char *s, size_t len, char **err)
{
    if (memchr(s, '%', len) == NULL)
        return RC_OK;
    return set_err(err,
                   "'http-error': log-format values in '%s' are not "
                   "supported yet (only literal text)",
                   opt);
}

/* Sets the payload of <sp> to <kind>; one payload per line. */
static int spec_payload(struct err_spec *sp, enum err_payload kind,
                        const char *opt, char **err)
{
    if (sp->kind != PL_EMPTY)
        return set_err(err, "'http-error': '%s' follows another payload", opt);
    sp->kind = kind;
    return RC_OK;
}

/* Reads the body option <opt> with argument <arg> into <sp>. */
static int spec_body(struct err_spec *sp, const char *opt, const char *arg,
                     char **err)
{
    if (spec_payload(sp, PL_BODY, opt, err) != RC_OK)
        return RC_ERR;
    if (strcmp(opt, "file") == 0 || strcmp(opt, "lf-file") == 0) {
        if (file_read_all(arg, &sp->body, &sp->body_len, err) != RC_OK)
            return RC_ERR;
    } else {
        sp->body = xstrdup(arg);
        sp->body_len = strlen(arg);
    }
    if (strncmp(opt, "lf-", 3) == 0)
        return literal_only(opt, sp->body, sp->body_len, err);
    return RC_OK;
}

/* Parses the option of "http-error" at args[*i] into <sp>, moving *i past
 * it. */
static int spec_option(struct err_spec *sp, int *i, int argc, char **args,
                       char **err)
{
    const char *o = args[*i];
    int nargs = strcmp(o, "hdr") == 0                  ? 2
                : strcmp(o, "default-errorfiles") == 0 ? 0
                                                       : 1;

    if (*i + nargs >= argc)
        return set_err(err, "'http-error': '%s' expects %d argument%s", o,
                       nargs, nargs > 1 ? "s" : "");
    if (strcmp(o, "content-type") == 0) {
        sp->ctype = args[*i + 1];
    } else if (strcmp(o, "hdr") == 0) {
        if (literal_only("hdr", args[*i + 2], strlen(args[*i + 2]), err) !=
            RC_OK)
            return RC_ERR;
        sp->hdrs[sp->nhdrs++] = *i + 1;
    } else if (strcmp(o, "default-errorfiles") == 0) {
        if (spec_payload(sp, PL_DEFAULT, o, err) != RC_OK)
            return RC_ERR;
    } else if (strcmp(o, "errorfile") == 0 || strcmp(o, "errorfiles") == 0) {
        if (spec_payload(sp, o[9] == 's' ? PL_ERRORFILES : PL_ERRORFILE, o,
                         err) != RC_OK)
            return RC_ERR;
        sp->arg = args[*i + 1];
    } else if (strcmp(o, "string") == 0 || strcmp(o, "lf-string") == 0 ||
               strcmp(o, "file") == 0 || strcmp(o, "lf-file") == 0) {
        if (spec_body(sp, o, args[*i + 1], err) != RC_OK)
            return RC_ERR;
    } else {
        return set_err(err, "'http-error': unknown option '%s'", o);
    }
    *i += 1 + nargs;
    return RC_OK;
}

/* Builds the response of an http-error line with a body (or none). */
static struct errorfile *spec_build_page(struct cfg_ctx *ctx,
                                         const struct err_spec *sp, char **args,
                                         char **err)
{
    char *raw = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&raw, &len);
    int i;

    if (f == NULL) {
        set_err(err, "out of memory");
        return NULL;
    }
    fprintf(f, "HTTP/1.1 %d %s\r\n", sp->status,
            http_status_reason(sp->status));
    if (sp->ctype != NULL)
        fprintf(f, "content-type: %s\r\n", sp->ctype);
    for (i = 0; i < sp->nhdrs; i++)
        fprintf(f, "%s: %s\r\n", args[sp->hdrs[i]], args[sp->hdrs[i] + 1]);
    fprintf(f, "content-length: %zu\r\n\r\n", sp->body_len);
    if (sp->body_len > 0)
        fwrite(sp->body, 1, sp->body_len, f);
    fclose(f);
    return page_new(ctx, sp->status, raw, len, "the 'http-error' reply", err);
}

/* Makes the list entry that <sp> describes. */
static struct errorfile *spec_build(struct cfg_ctx *ctx,
                                    const struct err_spec *sp, char **args,
                                    char **err)
{
    if (sp->kind == PL_BODY || sp->kind == PL_EMPTY) {
        if (sp->body_len > 0 && sp->ctype == NULL) {
            set_err(err, "'http-error' with a body needs a 'content-type'");
            return NULL;
        }
        return spec_build_page(ctx, sp, args, err);
    }
    if (sp->ctype != NULL || sp->nhdrs > 0)
        cfg_warn(ctx, "'http-error': 'content-type' and 'hdr' are ignored "
                      "with 'errorfile', 'errorfiles' and "
                      "'default-errorfiles'");
    if (sp->kind == PL_ERRORFILE)
        return page_load(ctx, sp->status, sp->arg, err);
    if (sp->kind == PL_ERRORFILES)
        return ref_new(ctx, sp->status, sp->arg);
    return entry_new(ctx, sp->status); /* a reset to the built-in page */
}

/* "http-error status CODE [content-type T] [payload] [hdr NAME VALUE]*". */
static int parse_http_error(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    struct err_spec sp = {.kind = PL_EMPTY};
    struct errorfile *e = NULL;
    int i = 3;

    if (strcmp(args[1], "status") != 0)
        return set_err(err, "'http-error' expects 'status', got '%s'", args[1]);
    if (parse_code(args[2], &sp.status, err) != RC_OK)
        return RC_ERR;
    sp.hdrs = xcalloc((size_t)argc, sizeof(*sp.hdrs));
    while (i < argc && spec_option(&sp, &i, argc, args, err) == RC_OK)
        ;
    if (i >= argc)
        e = spec_build(ctx, &sp, args, err);
    free(sp.hdrs);
    free(sp.body);
    if (e == NULL)
        return RC_ERR;
    entry_append(&ctx->px->errorfiles, e);
    return RC_OK;
}

/* Adds the pages of the section a reference <ref> names to <out>; <ref>
 * is consumed. Returns 1 if the section is unknown (logged if <report>). */
static int ref_apply(struct cfg *cfg, const struct proxy *px,
                     struct errorfile **out, struct errorfile *ref, int report)
{
    const struct http_errors *he = section_find(cfg, ref->section);
    const struct errorfile *p;
    int found = 0;

    if (he == NULL && report)
        log_alert("%s:%d: %s%s%s%s: unknown http-errors section '%s'",
                  ref->file, ref->line, proxy_cap_name(px),
                  px->name ? " '" : " section", px->name ? px->name : "",
                  px->name ? "'" : "", ref->section);
    for (p = he ? he->pages : NULL; p != NULL; p = p->next) {
        if (ref->status != 0 && p->status != ref->status)
            continue;
        page_set(out, errorfile_dup(p));
        found = 1;
    }
    if (he != NULL && !found && ref->status != 0 && report)
        log_warning("%s:%d: status %d is not declared in http-errors "
                    "section '%s'",
                    ref->file, ref->line, ref->status, ref->section);
    errorfiles_free(ref);
    return he == NULL;
}

/* 1 if <e> was written in <px>'s own section rather than inherited from
 * its defaults, which always come before it. */
static int entry_is_own(const struct proxy *px, const struct errorfile *e)
{
    return strcmp(e->file, px->file) == 0 && e->line > px->line;
}

/* Resolves <px>'s list: references replaced by the pages they name, each
 * entry replacing the page for its status written before it, resets
 * dropping it. Returns the number of unknown sections reported. */
static int resolve_proxy(struct cfg *cfg, struct proxy *px)
{
    struct errorfile *e, *next, *out = NULL;
    int errors = 0;

    for (e = px->errorfiles; e != NULL; e = next) {
        int own = entry_is_own(px, e);

        next = e->next;
        e->next = NULL;
        if (e->section != NULL) {
            errors += ref_apply(cfg, px, &out, e, own) && own;
        } else if (e->raw == NULL) {
            page_remove(&out, e->status);
            errorfiles_free(e);
        } else {
            page_set(&out, e);
        }
    }
    px->errorfiles = out;
    return errors;
}

int http_errors_post_parse(struct cfg *cfg)
{
    struct proxy *lists[2] = {cfg->defaults, cfg->proxies}, *px;
    int i, errors = 0;

    for (i = 0; i < 2; i++)
        for (px = lists[i]; px != NULL; px = px->next)
            errors += resolve_proxy(cfg, px);
    return errors == 0 ? RC_OK : RC_ERR;
}

void http_errors_cfg_free(struct cfg *cfg)
{
    void **slot = cfg_module_data(cfg, &http_module);
    struct http_errors *he = *slot, *next;

    for (; he != NULL; he = next) {
        next = he->next;
        errorfiles_free(he->pages);
        free(he->name);
        free(he);
    }
    *slot = NULL;
}

const struct cfg_section http_errors_sections[] = {
    {"http-errors", CFG_SEC_HTTP_ERRORS, http_errors_open},
    {NULL, 0, NULL},
};

const struct cfg_kw http_errors_keywords[] = {
    {"errorfile", CFG_SEC_PROXY | CFG_SEC_HTTP_ERRORS, 2, 2, parse_errorfile, 0,
     0, 0},
    {"errorfiles", CFG_SEC_PROXY, 1, -1, parse_errorfiles, 0, 0, 0},
    {"errorloc", CFG_SEC_PROXY, 2, 2, parse_errorloc, 0, 302, 0},
    {"errorloc302", CFG_SEC_PROXY, 2, 2, parse_errorloc, 0, 302, 0},
    {"errorloc303", CFG_SEC_PROXY, 2, 2, parse_errorloc, 0, 303, 0},
    {"http-error", CFG_SEC_PROXY, 2, -1, parse_http_error, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};
