/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The statistics page of HAProxy 2.6's proxy keywords "stats enable, uri,
 * realm, auth, refresh, scope, hide-version, show-legends, show-node,
 * show-desc, admin, http-request". A request whose URI starts with the
 * proxy's "stats uri" (GET, HEAD or POST) goes to an applet that checks the
 * "stats http-request" rules and the "stats auth" users, then answers the
 * CSV of "show stat" (";csv"), an HTML page, or, for a POST allowed by
 * "stats admin", applies the form's server states and redirects (303).
 * The figures are those of every worker, as HAProxy's threads share their
 * counters: with more than one worker the applet asks the master for
 * "show info;show stat" (which it merges as for the runtime API) and
 * waits for the answer without holding up the worker's loop; should none
 * come within STATS_MERGE_WAIT_MS, the page shows the answering worker's
 * own figures rather than fail. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/acl.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/cli.h"
#include "core/errors.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/service.h"
#include "core/stats.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"
#include "http/http.h"
#include "http/http_ana.h"

#define STATS_DEFAULT_URI   "/haproxy?stats"
#define STATS_DEFAULT_REALM "HAProxy Statistics"
#define STATS_POST_MAX      16384 /* form bytes; more: ";st=EXCD" */
#define STATS_REALM_MAX     400   /* fits the challenge header */
#define STATS_MERGE_WAIT_MS 2000  /* for the master's merged figures */
#define STATS_MERGE_ASK     "show info;show stat"

/* Display flags. */
#define STATS_F_HIDE_VERSION 0x1
#define STATS_F_SHOW_LEGENDS 0x2
#define STATS_F_SHOW_NODE    0x4
#define STATS_F_SHOW_DESC    0x8

/* "stats http-request allow|deny|auth [realm R] [if|unless COND]". */
enum stats_verb {
    STATS_ALLOW,
    STATS_DENY,
    STATS_AUTH,
};

struct stats_rule {
    struct stats_rule *next;
    enum stats_verb verb;
    char *realm;           /* auth: NULL for the page's realm */
    struct acl_cond *cond; /* NULL: always */
};

/* A proxy's page. Conditions (admin, rules) are never in defaults, so a
 * copy from defaults has none. */
struct stats_conf {
    char *uri;
    char *realm;       /* NULL: STATS_DEFAULT_REALM */
    unsigned refresh;  /* seconds, 0: no Refresh header */
    unsigned flags;    /* STATS_F_* */
    char *node, *desc; /* shown with show-node/show-desc; NULL: default */
    char **users;      /* "user:password", clear, as HAProxy keeps them */
    size_t nusers;
    char **scopes; /* proxies listed; none: all; "." the page's own */
    size_t nscopes;
    struct acl_cond *admin;
    struct stats_rule *rules, **rules_tail;
};

/* Copies the string array <src> of <n> entries. */
static char **strv_dup(char *const *src, size_t n)
{
    char **dst = n ? xcalloc(n, sizeof(*dst)) : NULL;
    size_t i;

    for (i = 0; i < n; i++)
        dst[i] = xstrdup(src[i]);
    return dst;
}

/* Frees the string array <v> of <n> entries. */
static void strv_free(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Appends a copy of <s> to the array *<v> of *<n> entries. */
static void strv_add(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

static char *strdup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

static void *stats_conf_dup(const void *p)
{
    const struct stats_conf *src = p;
    struct stats_conf *c = xcalloc(1, sizeof(*c));

    c->uri = xstrdup(src->uri);
    c->realm = strdup_or_null(src->realm);
    c->refresh = src->refresh;
    c->flags = src->flags;
    c->node = strdup_or_null(src->node);
    c->desc = strdup_or_null(src->desc);
    c->users = strv_dup(src->users, src->nusers);
    c->nusers = src->nusers;
    c->scopes = strv_dup(src->scopes, src->nscopes);
    c->nscopes = src->nscopes;
    c->rules_tail = &c->rules;
    return c;
}

static void stats_conf_free(void *p)
{
    struct stats_conf *c = p;
    struct stats_rule *r;

    while ((r = c->rules) != NULL) {
        c->rules = r->next;
        free(r->realm);
        if (r->cond != NULL)
            acl_cond_free(r->cond);
        free(r);
    }
    if (c->admin != NULL)
        acl_cond_free(c->admin);
    strv_free(c->users, c->nusers);
    strv_free(c->scopes, c->nscopes);
    free(c->uri);
    free(c->realm);
    free(c->node);
    free(c->desc);
    free(c);
}

static const struct px_persist_ops stats_conf_ops = {
    stats_conf_dup,
    stats_conf_free,
};

/* The page settings of the proxy being parsed, made on its first "stats"
 * keyword: any of them enables the page, as in HAProxy. */
static struct stats_conf *stats_conf_get(struct cfg_ctx *ctx)
{
    struct stats_conf *c;

    if (ctx->px->stats != NULL)
        return ctx->px->stats;
    c = xcalloc(1, sizeof(*c));
    c->uri = xstrdup(STATS_DEFAULT_URI);
    c->rules_tail = &c->rules;
    ctx->px->stats = c;
    ctx->px->stats_ops = &stats_conf_ops;
    return c;
}

/* Replaces the string *<dst> with a copy of <s>. */
static void str_set(char **dst, const char *s)
{
    free(*dst);
    *dst = xstrdup(s);
}

/* "stats enable", "stats hide-version", "stats show-legends": kw->lo is
 * the flag to set (0 for enable). */
static int kw_stats_flag(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    stats_conf_get(ctx)->flags |= (unsigned)kw->lo;
    return RC_OK;
}

static int kw_stats_uri(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    if (args[2][0] == '\0')
        return set_err(err, "'stats uri' needs a URI prefix");
    str_set(&stats_conf_get(ctx)->uri, args[2]);
    return RC_OK;
}

/* A realm fits the challenge header: not empty, short, no quote. */
static int realm_check(const char *kw, const char *realm, char **err)
{
    if (realm[0] == '\0' || strlen(realm) > STATS_REALM_MAX ||
        strchr(realm, '"') != NULL)
        return set_err(err,
                       "'%s' expects a name without '\"' of at most %d "
                       "characters",
                       kw, STATS_REALM_MAX);
    return RC_OK;
}

static int kw_stats_realm(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    if (realm_check("stats realm", args[2], err) != RC_OK)
        return RC_ERR;
    str_set(&stats_conf_get(ctx)->realm, args[2]);
    return RC_OK;
}

static int kw_stats_auth(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    struct stats_conf *c;

    if (strchr(args[2], ':') == NULL || args[2][0] == ':')
        return set_err(err, "'stats auth' expects <user>:<password>, got '%s'",
                       args[2]);
    c = stats_conf_get(ctx);
    strv_add(&c->users, &c->nusers, args[2]);
    return RC_OK;
}

static int kw_stats_scope(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    struct stats_conf *c;

    if (args[2][0] == '\0')
        return set_err(err, "'stats scope' needs a proxy name");
    c = stats_conf_get(ctx);
    strv_add(&c->scopes, &c->nscopes, args[2]);
    return RC_OK;
}

static int kw_stats_refresh(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    const char *a = args[2];
    char *with_unit = NULL;
    unsigned ms;
    int rc;

    /* seconds when no unit is given, as HAProxy */
    if (a[0] != '\0' && a[strspn(a, "0123456789")] == '\0')
        a = with_unit = xasprintf("%ss", a);
    rc = cfgval_duration_ms(a, &ms, err);
    free(with_unit);
    if (rc != RC_OK)
        return RC_ERR;
    stats_conf_get(ctx)->refresh = (ms + 999) / 1000;
    return RC_OK;
}

/* "stats show-node [name]" and "stats show-desc [words...]". */
static int kw_stats_show(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    struct stats_conf *c = stats_conf_get(ctx);
    char **dst = kw->lo == STATS_F_SHOW_NODE ? &c->node : &c->desc;
    size_t len = 0, n;
    int i;

    c->flags |= (unsigned)kw->lo;
    free(*dst);
    *dst = NULL;
    if (argc < 3)
        return RC_OK;
    for (i = 2; i < argc; i++)
        len += strlen(args[i]) + 1;
    *dst = xmalloc(len);
    for (i = 2, len = 0; i < argc; i++) {
        n = strlen(args[i]);
        memcpy(*dst + len, args[i], n);
        len += n;
        (*dst)[len++] = i + 1 < argc ? ' ' : '\0';
    }
    return RC_OK;
}

/* Parses "if|unless COND" at args[0..argc-1] into *<cond>. */
static int stats_cond_parse(struct cfg_ctx *ctx, int argc, char **args,
                            struct acl_cond **cond, char **err)
{
    int unless;

    if (argc < 2 ||
        (strcmp(args[0], "if") != 0 && strcmp(args[0], "unless") != 0))
        return set_err(err, "expects 'if' or 'unless' followed by a "
                            "condition");
    unless = strcmp(args[0], "unless") == 0;
    *cond = acl_cond_parse(&ctx->px->acls, argc - 1, args + 1, unless, err);
    return *cond != NULL ? RC_OK : RC_ERR;
}

static int kw_stats_admin(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    struct stats_conf *c = stats_conf_get(ctx);
    struct acl_cond *cond;

    if (stats_cond_parse(ctx, argc - 2, args + 2, &cond, err) != RC_OK)
        return RC_ERR;
    if (c->admin != NULL)
        acl_cond_free(c->admin);
    c->admin = cond;
    return RC_OK;
}

static int kw_stats_http_request(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                                 int argc, char **args, char **err)
{
    static const char *const verbs[] = {"allow", "deny", "auth"};
    int v = cfg_word_index(args[2], verbs, 3), i = 3;
    const char *realm = NULL;
    struct acl_cond *cond = NULL;
    struct stats_rule *r;
    struct stats_conf *c;

    if (v < 0)
        return set_err(err,
                       "'stats http-request' expects 'allow', 'deny' or "
                       "'auth', got '%s'",
                       args[2]);
    if (v == STATS_AUTH && i < argc && strcmp(args[i], "realm") == 0) {
        if (i + 1 >= argc)
            return set_err(err, "'stats http-request auth realm' expects a "
                                "name");
        realm = args[i + 1];
        if (realm_check("stats http-request auth realm", realm, err) != RC_OK)
            return RC_ERR;
        i += 2;
    }
    if (i < argc &&
        stats_cond_parse(ctx, argc - i, args + i, &cond, err) != RC_OK)
        return RC_ERR;
    r = xcalloc(1, sizeof(*r));
    r->verb = (enum stats_verb)v;
    r->realm = strdup_or_null(realm);
    r->cond = cond;
    c = stats_conf_get(ctx);
    *c->rules_tail = r;
    c->rules_tail = &r->next;
    return RC_OK;
}

const struct cfg_kw http_stats_keywords[] = {
    {"stats enable", CFG_SEC_PROXY, 0, 0, kw_stats_flag, 0, 0, 0},
    {"stats hide-version", CFG_SEC_PROXY, 0, 0, kw_stats_flag, 0,
     STATS_F_HIDE_VERSION, 0},
    {"stats show-legends", CFG_SEC_PROXY, 0, 0, kw_stats_flag, 0,
     STATS_F_SHOW_LEGENDS, 0},
    {"stats show-node", CFG_SEC_PROXY, 0, 1, kw_stats_show, 0,
     STATS_F_SHOW_NODE, 0},
    {"stats show-desc", CFG_SEC_PROXY, 0, -1, kw_stats_show, 0,
     STATS_F_SHOW_DESC, 0},
    {"stats uri", CFG_SEC_PROXY, 1, 1, kw_stats_uri, 0, 0, 0},
    {"stats realm", CFG_SEC_PROXY, 1, 1, kw_stats_realm, 0, 0, 0},
    {"stats auth", CFG_SEC_PROXY, 1, 1, kw_stats_auth, 0, 0, 0},
    {"stats scope", CFG_SEC_PROXY, 1, 1, kw_stats_scope, 0, 0, 0},
    {"stats refresh", CFG_SEC_PROXY, 1, 1, kw_stats_refresh, 0, 0, 0},
    {"stats admin", CFG_SEC_NODEF, 2, -1, kw_stats_admin, 0, 0, 0},
    {"stats http-request", CFG_SEC_NODEF, 1, -1, kw_stats_http_request, 0, 0,
     0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* ---------------------------------------------------------------- */
/* Serving the page                                                  */
/* ---------------------------------------------------------------- */

/* The request-side sample environment of <s>, as the rules have it. */
static void stats_env(struct stream *s, struct smp_env *env)
{
    env->strm = s;
    env->pool = s->pool;
    env->avail = SMP_AVAIL_CONN | SMP_AVAIL_REQ;
    env->dir = 0;
    env->opt = SMP_OPT_FINAL;
}

/* 1 if <cond> holds for <s> (a missing condition always does). */
static int stats_cond_ok(const struct acl_cond *cond, struct stream *s)
{
    struct smp_env env;

    if (cond == NULL)
        return 1;
    stats_env(s, &env);
    return acl_cond_exec(cond, &env) == ACL_PASS;
}

/* 1 if the request of <s> carries the credentials of a "stats auth" user. */
static int stats_user_ok(const struct stats_conf *c, struct stream *s)
{
    struct ist user, pass;
    size_t i, ulen;

    if (!http_auth_basic(s, &user, &pass))
        return 0;
    for (i = 0; i < c->nusers; i++) {
        ulen = (size_t)(strchr(c->users[i], ':') - c->users[i]);
        if (ulen == user.len && memcmp(c->users[i], user.ptr, ulen) == 0 &&
            strlen(c->users[i] + ulen + 1) == pass.len &&
            memcmp(c->users[i] + ulen + 1, pass.ptr, pass.len) == 0)
            return 1;
    }
    return 0;
}

/* Answers 401 with a Basic challenge for <realm>. */
static void stats_challenge(struct stream *s, const struct stats_conf *c,
                            const char *realm)
{
    char value[STATS_REALM_MAX + 16];
    int n;

    if (realm == NULL)
        realm = c->realm != NULL ? c->realm : STATS_DEFAULT_REALM;
    n = snprintf(value, sizeof(value), "Basic realm=\"%s\"", realm);
    http_reply_error_hdr(s, 401, IST("www-authenticate"),
                         (struct ist){value, (size_t)n});
}

/* The "stats http-request" rules, then the "stats auth" users (HAProxy's
 * implicit last rule): 1 if the request may see the page, 0 after
 * answering 403 or 401. */
static int stats_access(const struct stats_conf *c, struct stream *s)
{
    const struct stats_rule *r;

    for (r = c->rules; r != NULL; r = r->next) {
        if (!stats_cond_ok(r->cond, s))
            continue;
        if (r->verb == STATS_ALLOW)
            return 1;
        if (r->verb == STATS_DENY)
            http_reply_error(s, 403);
        else
            stats_challenge(s, c, r->realm);
        return 0;
    }
    if (c->nusers == 0 || stats_user_ok(c, s))
        return 1;
    stats_challenge(s, c, NULL);
    return 0;
}

/* 1 if the page of <self> lists proxy <px> ("stats scope"). */
static int stats_in_scope(const struct stats_conf *c, const struct proxy *self,
                          const struct proxy *px)
{
    size_t i;

    if (c->nscopes == 0)
        return 1;
    for (i = 0; i < c->nscopes; i++)
        if (strcmp(c->scopes[i], px->name) == 0 ||
            (strcmp(c->scopes[i], ".") == 0 && px == self))
            return 1;
    return 0;
}

/* The request's option words after the page's URI: ";csv", ";norefresh". */
struct stats_req {
    int csv, norefresh;
    int admin;  /* "stats admin" holds: the page has the form */
    char st[5]; /* ";st=XXXX": the outcome of a form, or "" */
};

static void stats_req_read(const struct stats_conf *c, struct stream *s,
                           struct stats_req *rq)
{
    struct http_txn *txn = http_txn_get(s);
    struct ist rest = {txn->req.uri.ptr + strlen(c->uri),
                       txn->req.uri.len - strlen(c->uri)};

    const char *st = memmem(rest.ptr, rest.len, ";st=", 4);

    rq->admin = c->admin != NULL && stats_cond_ok(c->admin, s);
    rq->csv = memmem(rest.ptr, rest.len, ";csv", 4) != NULL;
    rq->norefresh = memmem(rest.ptr, rest.len, ";norefresh", 10) != NULL;
    rq->st[0] = '\0';
    if (st != NULL && (size_t)(rest.ptr + rest.len - st) >= 8)
        snprintf(rq->st, sizeof(rq->st), "%.4s", st + 4);
}

/* Appends <s> to <b>, HTML-escaped. */
static void html_put(struct evbuffer *b, const char *s)
{
    const char *p;

    for (p = s; *p != '\0'; p++) {
        switch (*p) {
        case '<':
            evbuffer_add(b, "&lt;", 4);
            break;
        case '>':
            evbuffer_add(b, "&gt;", 4);
            break;
        case '&':
            evbuffer_add(b, "&amp;", 5);
            break;
        case '"':
            evbuffer_add(b, "&quot;", 6);
            break;
        case '\'':
            evbuffer_add(b, "&#39;", 5);
            break;
        default:
            evbuffer_add(b, p, 1);
        }
    }
}

/* The field of <ln> in column <name>. */
static const char *stats_field(const struct stats_line *ln, const char *name)
{
    size_t i;

    for (i = 0; i < STATS_NCOLS; i++)
        if (strcmp(stats_col_name(i), name) == 0)
            return ln->f[i];
    return "";
}

/* The HTML table's columns: a group heading, the column's title, the CSV
 * column it shows. */
static const struct {
    const char *group, *title, *col;
} stats_html_cols[] = {
    {"Queue", "Cur", "qcur"},
    {NULL, "Max", "qmax"},
    {"Session rate", "Cur", "rate"},
    {NULL, "Max", "rate_max"},
    {"Sessions", "Cur", "scur"},
    {NULL, "Max", "smax"},
    {NULL, "Limit", "slim"},
    {NULL, "Total", "stot"},
    {"Bytes", "In", "bin"},
    {NULL, "Out", "bout"},
    {"Denied", "Req", "dreq"},
    {NULL, "Resp", "dresp"},
    {"Errors", "Req", "ereq"},
    {NULL, "Conn", "econ"},
    {NULL, "Resp", "eresp"},
    {"Warnings", "Retr", "wretr"},
    {NULL, "Redis", "wredis"},
    {"Server", "Status", "status"},
    {NULL, "Wght", "weight"},
    {NULL, "Act", "act"},
    {NULL, "Bck", "bck"},
    {NULL, "Chk", "chkfail"},
    {NULL, "Dwn", "chkdown"},
};

#define STATS_HTML_NCOLS (sizeof(stats_html_cols) / sizeof(stats_html_cols[0]))

/* The two heading rows of a proxy's table. */
static void html_table_head(struct evbuffer *b, const struct proxy *px)
{
    size_t i, span;

    evbuffer_add_printf(b,
                        "<table class=\"px\">\n<tr><th class=\"pxname\" "
                        "colspan=\"%zu\">",
                        STATS_HTML_NCOLS + 1);
    html_put(b, px->name);
    evbuffer_add_printf(b, "</th></tr>\n<tr><th rowspan=\"2\"></th>");
    for (i = 0; i < STATS_HTML_NCOLS; i += span) {
        for (span = 1; i + span < STATS_HTML_NCOLS &&
                       stats_html_cols[i + span].group == NULL;
             span++)
            ;
        evbuffer_add_printf(b, "<th colspan=\"%zu\">%s</th>", span,
                            stats_html_cols[i].group);
    }
    evbuffer_add_printf(b, "</tr>\n<tr>");
    for (i = 0; i < STATS_HTML_NCOLS; i++)
        evbuffer_add_printf(b, "<th>%s</th>", stats_html_cols[i].title);
    evbuffer_add_printf(b, "</tr>\n");
}

/* One row of a proxy's table: the line <ln>, of class <cls>; with
 * <checkbox>, the server can be picked for the admin form. */
static void html_row(struct evbuffer *b, const struct stats_line *ln,
                     const char *cls, int checkbox)
{
    size_t i;

    evbuffer_add_printf(b, "<tr class=\"%s\"><td>", cls);
    if (checkbox) {
        evbuffer_add_printf(b, "<input type=\"checkbox\" name=\"s\" value=\"");
        html_put(b, stats_field(ln, "svname"));
        evbuffer_add_printf(b, "\"> ");
    }
    html_put(b, stats_field(ln, "svname"));
    evbuffer_add_printf(b, "</td>");
    for (i = 0; i < STATS_HTML_NCOLS; i++) {
        evbuffer_add_printf(b, "<td>");
        html_put(b, stats_field(ln, stats_html_cols[i].col));
        evbuffer_add_printf(b, "</td>");
    }
    evbuffer_add_printf(b, "</tr>\n");
}

/* The admin form's end under the table of backend <iid>: its number, the
 * actions, the button. */
static void html_form_end(struct evbuffer *b, int iid)
{
    evbuffer_add_printf(
        b,
        "<input type=\"hidden\" name=\"b\" value=\"#%d\">\n"
        "<select name=\"action\"><option value=\"ready\">Set state to "
        "READY</option><option value=\"drain\">Set state to DRAIN</option>"
        "<option value=\"maint\">Set state to MAINT</option></select>\n"
        "<input type=\"submit\" value=\"Apply\">\n</form>\n",
        iid);
}

/* The value of "show info" field <name> among the <n> of <info>. */
static const char *info_get(const struct stats_info *info, size_t n,
                            const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(info[i].name, name) == 0)
            return info[i].value;
    return "";
}

/* ---------------------------------------------------------------- */
/* The figures of every worker                                       */
/* ---------------------------------------------------------------- */

/* The master's answer to STATS_MERGE_ASK, in the stream's pool. */
struct stats_merged {
    struct stats_info info[STATS_INFO_MAX];
    size_t ninfo; /* 0: none came, the page shows this worker's */
    char **rows;  /* the CSV lines, sorted by pxname, then svname */
    size_t nrows;
};

/* Compares the CSV fields at *<a> and *<b> and moves both past them. */
static int field_cmp(const char **a, const char **b)
{
    size_t la = strcspn(*a, ","), lb = strcspn(*b, ",");
    int c = strncmp(*a, *b, la < lb ? la : lb);

    if (c == 0)
        c = (la > lb) - (la < lb);
    *a += la + ((*a)[la] == ',');
    *b += lb + ((*b)[lb] == ',');
    return c;
}

/* The order of CSV lines: by proxy, then by server name. */
static int row_cmp(const void *x, const void *y)
{
    const char *a = *(char *const *)x, *b = *(char *const *)y;
    int c = field_cmp(&a, &b);

    return c != 0 ? c : field_cmp(&a, &b);
}

/* Splits off the line at <text>; returns the next one. */
static char *line_cut(char *text)
{
    char *end = text + strcspn(text, "\n");

    if (*end != '\0')
        *end++ = '\0';
    return end;
}

/* Reads the "Name: value" lines at <text>, up to an empty line, into
 * <m>; returns where the next section starts. */
static char *merged_info_read(struct stats_merged *m, char *text)
{
    char *line = text, *end, *colon;

    while (*line != '\0' && *line != '\n') {
        end = line_cut(line);
        colon = strstr(line, ": ");
        if (colon != NULL && m->ninfo < STATS_INFO_MAX) {
            *colon = '\0';
            m->info[m->ninfo].name = line;
            snprintf(m->info[m->ninfo++].value, sizeof(m->info[0].value), "%s",
                     colon + 2);
        }
        line = end;
    }
    if (info_get(m->info, m->ninfo, "Pid")[0] == '\0')
        m->ninfo = 0; /* an error instead of "show info" */
    return *line == '\n' ? line + 1 : line;
}

/* Splits the CSV line <line> into <ln>; RC_ERR unless it has every
 * column. */
static int merged_line_read(struct stats_line *ln, const char *line)
{
    size_t i, len;

    for (i = 0; i < STATS_NCOLS; i++) {
        len = strcspn(line, ",");
        if (line[len] != ',')
            return RC_ERR;
        snprintf(ln->f[i], STATS_FIELD, "%.*s", (int)len, line);
        line += len + 1;
    }
    return RC_OK;
}

/* Reads the CSV at <text> (the header, then a line per frontend, server
 * and backend, up to an empty line) into <m>, in <pool>; RC_ERR when it
 * is not the CSV of "show stat" (a worker failed). */
static int merged_csv_read(struct pool *pool, struct stats_merged *m,
                           char *text)
{
    struct stats_line ln;
    size_t i, max = 1;
    char *line, *next;

    for (line = text; (line = strchr(line, '\n')) != NULL; line++)
        max++;
    next = line_cut(text);
    if (strncmp(text, "# ", 2) != 0 || merged_line_read(&ln, text + 2) != RC_OK)
        return RC_ERR;
    for (i = 0; i < STATS_NCOLS; i++)
        if (strcmp(ln.f[i], stats_col_name(i)) != 0)
            return RC_ERR;
    if ((m->rows = palloc(pool, max * sizeof(*m->rows))) == NULL)
        return RC_ERR;
    for (line = next; *line != '\0' && m->nrows < max; line = next) {
        next = line_cut(line);
        if (*line == '\0')
            break; /* the end of the answer */
        if (merged_line_read(&ln, line) != RC_OK)
            return RC_ERR;
        m->rows[m->nrows++] = line;
    }
    qsort(m->rows, m->nrows, sizeof(*m->rows), row_cmp);
    return RC_OK;
}

/* The figures of the master's <answer>, in <pool>; NULL when it is not
 * what STATS_MERGE_ASK answers. */
static struct stats_merged *merged_read(struct pool *pool,
                                        struct evbuffer *answer)
{
    size_t len = evbuffer_get_length(answer);
    struct stats_merged *m = pcalloc(pool, sizeof(*m));
    char *text = palloc(pool, len + 1);

    if (m == NULL || text == NULL)
        return NULL;
    evbuffer_remove(answer, text, len);
    text[len] = '\0';
    text = merged_info_read(m, text);
    return merged_csv_read(pool, m, text) == RC_OK ? m : NULL;
}

/* Replaces <ln>, a line of this worker's, with the same line of <m> when
 * <m> has it. */
static void merged_take(const struct stats_merged *m, struct stats_line *ln)
{
    char key[2 * STATS_FIELD + 2], *k = key, **found;

    if (m == NULL || m->nrows == 0)
        return;
    snprintf(key, sizeof(key), "%s,%s,", ln->f[0], ln->f[1]);
    found = bsearch(&k, m->rows, m->nrows, sizeof(*m->rows), row_cmp);
    if (found != NULL)
        merged_line_read(ln, *found); /* read whole once already */
}

/* Writes a line of the page: <ln>, of class <cls>, with a checkbox for
 * the admin form when <checkbox>. */
typedef void (*stats_row_cb)(struct evbuffer *b, const struct stats_line *ln,
                             const char *cls, int checkbox);

/* The CSV writer of a line. */
static void csv_row(struct evbuffer *b, const struct stats_line *ln,
                    const char *cls, int checkbox)
{
    stats_csv_line(b, ln);
}

/* Writes with <row> the lines of proxy <px>, numbered <iid>: frontend,
 * servers (those with a checkbox when <form>), backend; each the line of
 * every worker from <m> when it has it, else this worker's. */
static void stats_rows(struct evbuffer *b, const struct proxy *px, int iid,
                       const struct stats_merged *m, int form, stats_row_cb row)
{
    const struct server *srv;
    struct stats_line ln;

    if (px->cap & PX_CAP_FE) {
        stats_line_frontend(&ln, px, iid);
        merged_take(m, &ln);
        row(b, &ln, "frontend", 0);
    }
    if (!(px->cap & PX_CAP_BE))
        return;
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        stats_line_server(&ln, px, iid, srv, srv->puid);
        merged_take(m, &ln);
        row(b, &ln, "server", form);
    }
    stats_line_backend(&ln, px, iid);
    merged_take(m, &ln);
    row(b, &ln, "backend", 0);
}

/* The table of proxy <px>, numbered <iid>, inside the admin form when the
 * page of <c> allows it. */
static void html_proxy(struct evbuffer *b, const struct stats_conf *c,
                       const struct proxy *px, int iid,
                       const struct stats_req *rq, const struct stats_merged *m)
{
    int form = rq->admin && (px->cap & PX_CAP_BE) && px->servers != NULL;

    if (form) {
        evbuffer_add_printf(b, "<form method=\"post\" action=\"");
        html_put(b, c->uri);
        evbuffer_add_printf(b, "\">\n");
    }
    html_table_head(b, px);
    stats_rows(b, px, iid, m, form, html_row);
    evbuffer_add_printf(b, "</table>\n");
    if (form)
        html_form_end(b, iid);
}

/* What the page says of the outcome <st> of a form (";st=XXXX"). */
static const char *html_outcome(const char *st)
{
    static const char *const outcomes[][2] = {
        {"DONE", "The action was applied."},
        {"PART", "The action was applied to some of the servers only."},
        {"NONE", "No server was named: nothing changed."},
        {"DENY", "The action is not allowed."},
        {"ERRP", "The action was not applied: invalid parameters."},
        {"EXCD", "The action was not applied: the form is too large."},
    };
    size_t i;

    for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
        if (strcmp(st, outcomes[i][0]) == 0)
            return outcomes[i][1];
    return "Unexpected result.";
}

/* The header block: the process (from "show info", of every worker when
 * <m> has it), node and description when shown, the legend when asked
 * for. */
static void html_header(struct evbuffer *b, const struct stats_conf *c,
                        const struct stats_req *rq,
                        const struct stats_merged *m)
{
    static const char *const shown[] = {"Pid",      "Uptime",   "Nbproc",
                                        "Maxconn",  "Ulimit-n", "CurrConns",
                                        "CumConns", "CumReq"};
    struct stats_info own[STATS_INFO_MAX];
    const struct stats_info *info = own;
    size_t i, n;

    if (m != NULL && m->ninfo > 0) {
        info = m->info;
        n = m->ninfo;
    } else
        n = stats_info(own);

    evbuffer_add_printf(b, "<h1>Statistics Report for pid %s",
                        info_get(info, n, "Pid"));
    if (c->flags & STATS_F_SHOW_NODE) {
        evbuffer_add_printf(b, " on ");
        html_put(b, c->node != NULL ? c->node : info_get(info, n, "Node"));
    }
    evbuffer_add_printf(b, "</h1>\n");
    if ((c->flags & STATS_F_SHOW_DESC) && c->desc != NULL) {
        evbuffer_add_printf(b, "<p class=\"desc\">");
        html_put(b, c->desc);
        evbuffer_add_printf(b, "</p>\n");
    }
    if (!(c->flags & STATS_F_HIDE_VERSION))
        evbuffer_add_printf(b, "<p class=\"version\">luaproxy version %s</p>\n",
                            info_get(info, n, "Version"));
    evbuffer_add_printf(b, "<h2>General process information</h2>\n<ul>\n");
    for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
        evbuffer_add_printf(b, "<li>%s: %s</li>\n", shown[i],
                            info_get(info, n, shown[i]));
    evbuffer_add_printf(b, "</ul>\n");
    if (rq->st[0] != '\0')
        evbuffer_add_printf(b, "<p class=\"outcome\">%s</p>\n",
                            html_outcome(rq->st));
    if (c->flags & STATS_F_SHOW_LEGENDS)
        evbuffer_add_printf(
            b, "<h2>Legend</h2>\n<dl class=\"legend\">\n"
               "<dt>UP</dt><dd>active or backup server up</dd>\n"
               "<dt>DOWN</dt><dd>server down (failed checks)</dd>\n"
               "<dt>DRAIN</dt><dd>server up, taking no new traffic</dd>\n"
               "<dt>MAINT</dt><dd>server in maintenance</dd>\n"
               "<dt>no check</dt><dd>server without health checks</dd>\n"
               "<dt>OPEN</dt><dd>frontend accepting connections</dd>\n"
               "<dt>STOP</dt><dd>frontend stopping</dd>\n</dl>\n");
}

/* The body of the page of <self> for <rq> into <b>, with the figures of
 * <m> (NULL: this worker's); its content type. */
static const char *stats_body(struct evbuffer *b, const struct stats_conf *c,
                              const struct proxy *self,
                              const struct stats_req *rq,
                              const struct stats_merged *m)
{
    const struct proxy *px;

    if (rq->csv)
        stats_csv_header(b);
    else {
        evbuffer_add_printf(b, "<!DOCTYPE html>\n<html><head><meta "
                               "charset=\"utf-8\"><title>Statistics Report"
                               "</title></head>\n<body>\n");
        html_header(b, c, rq, m);
    }
    for (px = worker_cfg()->proxies; px != NULL; px = px->next) {
        if (!stats_in_scope(c, self, px))
            continue;
        if (rq->csv)
            stats_rows(b, px, px->uuid, m, 0, csv_row);
        else
            html_proxy(b, c, px, px->uuid, rq, m);
    }
    if (rq->csv)
        return "text/plain";
    evbuffer_add_printf(b, "</body></html>\n");
    return "text/html";
}

/* Sends the page: status 200, its headers, the body of <b>. */
static int stats_send(struct stream *s, const struct stats_conf *c,
                      struct evbuffer *b, const char *type,
                      const struct stats_req *rq)
{
    char len[24], refresh[16];
    size_t n = evbuffer_get_length(b);
    int rc;

    snprintf(len, sizeof(len), "%zu", n);
    snprintf(refresh, sizeof(refresh), "%u", c->refresh);
    http_reply_begin(s, 200, (struct ist){NULL, 0});
    http_reply_header(s, IST("cache-control"), IST("no-cache"));
    http_reply_header(s, IST("content-type"), ist_from(type));
    http_reply_header(s, IST("content-length"), ist_from(len));
    if (c->refresh > 0 && !rq->norefresh)
        http_reply_header(s, IST("refresh"), ist_from(refresh));
    http_reply_headers_end(s);
    rc = http_reply_body(s, (const char *)evbuffer_pullup(b, -1), n);
    return rc == RC_ERR ? RC_ERR : RC_DONE;
}

/* ---------------------------------------------------------------- */
/* The admin form                                                    */
/* ---------------------------------------------------------------- */

/* What a POST form asks: backend <b>, action <action>, servers <s>. */
struct stats_form {
    char *backend, *action;
    char **servers;
    size_t nservers, cap;
};

/* Decodes the form value <v> (%XX and '+') in place. */
static void form_decode(char *v)
{
    char *w = v, hex[3] = {0};

    for (; *v != '\0'; v++, w++) {
        if (*v == '+')
            *w = ' ';
        else if (*v == '%' && v[1] != '\0' && v[2] != '\0') {
            hex[0] = v[1];
            hex[1] = v[2];
            *w = (char)strtol(hex, NULL, 16);
            v += 2;
        } else
            *w = *v;
    }
    *w = '\0';
}

/* Splits the form <body> (in the stream's pool) into <f>; RC_ERR when a
 * server list outgrows the pool. */
static int form_read(struct stream *s, char *body, struct stats_form *f)
{
    char *save = NULL, *kv, *eq;

    memset(f, 0, sizeof(*f));
    for (kv = strtok_r(body, "&", &save); kv != NULL;
         kv = strtok_r(NULL, "&", &save)) {
        if ((eq = strchr(kv, '=')) == NULL)
            continue;
        *eq++ = '\0';
        form_decode(eq);
        if (strcmp(kv, "b") == 0)
            f->backend = eq;
        else if (strcmp(kv, "action") == 0)
            f->action = eq;
        else if (strcmp(kv, "s") == 0) {
            if (f->nservers == f->cap) {
                char **more = palloc(s->pool, (f->cap * 2 + 8) * sizeof(*more));

                if (more == NULL)
                    return RC_ERR;
                if (f->nservers > 0)
                    memcpy(more, f->servers, f->nservers * sizeof(*more));
                f->servers = more;
                f->cap = f->cap * 2 + 8;
            }
            f->servers[f->nservers++] = eq;
        }
    }
    return RC_OK;
}

/* The backend the form names, "#<iid>" or its name; NULL if none. */
static struct proxy *form_backend(const char *name)
{
    struct proxy *px;

    if (name == NULL)
        return NULL;
    for (px = worker_cfg()->proxies; px != NULL; px = px->next) {
        if (!(px->cap & PX_CAP_BE))
            continue;
        if (name[0] == '#' ? atoi(name + 1) == px->uuid
                           : strcmp(name, px->name) == 0)
            return px;
    }
    return NULL;
}

/* Applies form <f>; HAProxy's status word for the redirect. */
static const char *form_apply(const struct stats_form *f)
{
    static const char *const actions[] = {"ready", "drain", "maint"};
    struct proxy *px = form_backend(f->backend);
    struct server *srv;
    size_t i, done = 0;
    int a;

    if (px == NULL || f->action == NULL)
        return "ERRP";
    if ((a = cfg_word_index(f->action, actions, 3)) < 0)
        return "ERRP";
    if (f->nservers == 0)
        return "NONE";
    for (i = 0; i < f->nservers; i++)
        for (srv = px->servers; srv != NULL; srv = srv->next)
            if (strcmp(srv->name, f->servers[i]) == 0) {
                server_set_admin_shared(srv, (enum server_admin)a);
                done++;
                break;
            }
    return done == f->nservers ? "DONE" : done > 0 ? "PART" : "ERRP";
}

/* A POST: once the form is in, applies it if "stats admin" allows, and
 * redirects to the page with the outcome (303). */
static int stats_post(struct stream *s, const struct stats_conf *c,
                      const struct stats_req *rq)
{
    size_t n = evbuffer_get_length(s->applet_in);
    char location[512];
    struct stats_form f;
    const char *st;
    char *body;

    if (n > STATS_POST_MAX)
        st = "EXCD";
    else if (!s->applet_in_eof)
        return RC_AGAIN;
    else if (!rq->admin)
        st = "DENY";
    else if ((body = palloc(s->pool, n + 1)) == NULL)
        return RC_ERR;
    else {
        evbuffer_remove(s->applet_in, body, n);
        body[n] = '\0';
        st = form_read(s, body, &f) != RC_OK ? "EXCD" : form_apply(&f);
    }
    snprintf(location, sizeof(location), "%s;st=%s%s", c->uri, st,
             rq->norefresh ? ";norefresh" : "");
    http_reply_begin(s, 303, (struct ist){NULL, 0});
    http_reply_header(s, IST("cache-control"), IST("no-cache"));
    http_reply_header(s, IST("content-type"), IST("text/plain"));
    http_reply_header(s, IST("content-length"), IST("0"));
    http_reply_header(s, IST("location"), ist_from(location));
    http_reply_headers_end(s);
    return RC_DONE;
}

/* A request let in to the page (a POST comes back while its form
 * arrives, a GET while the master answers): the question to the master
 * and what came of it. */
struct stats_ctx {
    struct stream *s;
    struct cli_ask *ask;         /* until the stream ends */
    int answered;                /* the figures to show are known */
    struct stats_merged *merged; /* every worker's, or NULL: this one's */
};

/* The master answered (<answer> NULL: not in time): the page goes on. */
static void stats_answer_cb(struct evbuffer *answer, void *arg)
{
    struct stats_ctx *sc = arg;

    sc->answered = 1;
    if (answer != NULL)
        sc->merged = merged_read(sc->s->pool, answer);
    stream_wake(sc->s);
}

/* With several workers, asks the master once for the figures of all of
 * them: RC_AGAIN until they came or will not; then sc->merged has them,
 * or is NULL and the page shows this worker's. */
static int stats_wait_merged(struct stats_ctx *sc)
{
    if (sc->answered)
        return RC_OK;
    if (sc->ask == NULL) {
        if (worker_cfg()->global.nbproc > 1)
            sc->ask = cli_ask_new(STATS_MERGE_ASK, STATS_MERGE_WAIT_MS,
                                  stats_answer_cb, sc);
        if (sc->ask == NULL) {
            sc->answered = 1;
            return RC_OK;
        }
    }
    return RC_AGAIN;
}

/* The applet; <arg> is the proxy whose page it is. */
static int stats_io(struct stream *s, void *arg, void **ctx)
{
    const struct proxy *self = arg;
    const struct stats_conf *c = self->stats;
    struct http_txn *txn = http_txn_get(s);
    struct stats_ctx *sc = *ctx;
    struct stats_req rq;
    struct evbuffer *b;
    const char *type;
    int rc;

    if (sc == NULL) {
        if (!stats_access(c, s))
            return RC_DONE;
        if ((sc = pcalloc(s->pool, sizeof(*sc))) == NULL)
            return RC_ERR;
        sc->s = s;
        *ctx = sc;
    }
    stats_req_read(c, s, &rq);
    if (ist_eq(txn->req.meth, IST("POST")))
        return stats_post(s, c, &rq);
    if (stats_wait_merged(sc) == RC_AGAIN)
        return RC_AGAIN;
    if ((b = evbuffer_new()) == NULL)
        return RC_ERR;
    type = stats_body(b, c, self, &rq, sc->merged);
    rc = stats_send(s, c, b, type, &rq);
    evbuffer_free(b);
    return rc;
}

/* The stream ends: so does the question, answered or not. */
static void stats_release(struct stream *s, void *arg, void *ctx)
{
    struct stats_ctx *sc = ctx;

    if (sc != NULL)
        cli_ask_free(sc->ask);
}

static const struct applet_ops stats_applet = {
    .kind = APPLET_HTTP,
    .io = stats_io,
    .release = stats_release,
};

int http_stats_select(struct stream *s, struct proxy *px)
{
    const struct stats_conf *c = px->stats;
    struct http_txn *txn = http_txn_get(s);
    size_t len;

    if (c == NULL || txn == NULL || s->svc.ops != NULL)
        return 0;
    if (!ist_eq(txn->req.meth, IST("GET")) &&
        !ist_eq(txn->req.meth, IST("HEAD")) &&
        !ist_eq(txn->req.meth, IST("POST")))
        return 0;
    len = strlen(c->uri);
    if (txn->req.uri.len < len || memcmp(txn->req.uri.ptr, c->uri, len) != 0)
        return 0;
    s->svc.ops = &stats_applet;
    s->svc.arg = px;
    return 1;
}
