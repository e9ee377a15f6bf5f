/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Log-format strings: the tag registry, the parser (HAProxy's
 * parse_logformat_string, with its error messages), the renderer
 * (sess_build_logline's separator and '-' rules) and the value writers the
 * tag renderers of every layer share. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "core/errors.h"
#include "core/logformat.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/stream.h"
#include "core/util.h"

#define LF_MAX_TABLES   8
#define LF_SCRATCH_POOL 256

enum lf_node_type {
    LF_NODE_TEXT,
    LF_NODE_SEP,
    LF_NODE_TAG,
    LF_NODE_EXPR,
};

struct lf_node {
    enum lf_node_type type;
    unsigned opts; /* LF_OPT_* */
    char *text;    /* LF_NODE_TEXT, NUL-terminated */
    size_t len;
    const struct logformat_tag *tag;
    struct sample_expr *expr;
};

struct logformat {
    struct lf_node *nodes;
    size_t n, cap;
    unsigned flags; /* LF_PARSE_* */
};

static const struct logformat_tag *lf_tables[LF_MAX_TABLES];
static int lf_ntables;

static const char *const lf_months[] = {"Jan", "Feb", "Mar", "Apr",
                                        "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec"};

void logformat_register_tags(const struct logformat_tag *tbl)
{
    int i;

    for (i = 0; i < lf_ntables; i++)
        if (lf_tables[i] == tbl)
            return;
    if (lf_ntables < LF_MAX_TABLES)
        lf_tables[lf_ntables++] = tbl;
}

void logformat_registry_clear(void)
{
    lf_ntables = 0;
}

/* Finds the tag named by the <len> bytes of <name>, or NULL. */
static const struct logformat_tag *lf_tag_find(const char *name, size_t len)
{
    const struct logformat_tag *t;
    int i;

    for (i = 0; i < lf_ntables; i++)
        for (t = lf_tables[i]; t->name != NULL; t++)
            if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
                return t;
    return NULL;
}

/* ---- parsing */

/* Appends a zeroed node to <lf> and returns it. */
static struct lf_node *lf_node_add(struct logformat *lf, enum lf_node_type t)
{
    struct lf_node *n;

    if (lf->n == lf->cap) {
        lf->cap = lf->cap ? lf->cap * 2 : 8;
        lf->nodes = xrealloc(lf->nodes, lf->cap * sizeof(*lf->nodes));
    }
    n = &lf->nodes[lf->n++];
    memset(n, 0, sizeof(*n));
    n->type = t;
    return n;
}

/* Adds the literal <len> bytes at <s>, if any. */
static void lf_add_text(struct logformat *lf, const char *s, size_t len)
{
    struct lf_node *n;

    if (len == 0)
        return;
    n = lf_node_add(lf, LF_NODE_TEXT);
    n->text = xstrndup(s, len);
    n->len = len;
}

/* Applies "%{+Q,-M...}" flags in the <len> bytes at <arg> to <opts>;
 * unknown flags are ignored, as HAProxy does. */
static unsigned lf_apply_flags(const char *arg, size_t len, unsigned opts)
{
    static const struct {
        char c;
        unsigned bit;
    } names[] = {{'M', LF_OPT_MANDATORY},
                 {'Q', LF_OPT_QUOTE},
                 {'X', LF_OPT_HEXA},
                 {'E', LF_OPT_ESC}};
    size_t i = 0, j, end;

    while (i < len) {
        for (end = i; end < len && arg[end] != ','; end++)
            ;
        if (end - i == 2 && (arg[i] == '+' || arg[i] == '-'))
            for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
                if (names[j].c == arg[i + 1])
                    opts = arg[i] == '+' ? opts | names[j].bit
                                         : opts & ~names[j].bit;
        i = end + 1;
    }
    return opts;
}

/* Parses "%[expr]" at <p> (after the '['); sets *<next> past the ']'. */
static int lf_parse_expr(struct logformat *lf, const char *p, const char **next,
                         unsigned opts, char **err)
{
    struct sample_expr *e;
    const char *end;
    char *perr = NULL;

    e = sample_expr_parse_prefix(p, &end, &perr);
    if (e == NULL) {
        set_err(err, "failed to parse sample expression <%s> : %s", p,
                perr ? perr : "syntax error");
        free(perr);
        return RC_ERR;
    }
    if ((lf->flags & LF_PARSE_CONST) && !sample_expr_const(e)) {
        sample_expr_free(e);
        return set_err(err,
                       "'%.*s' needs a stream: only constant "
                       "expressions are allowed here",
                       (int)(end - p), p);
    }
    if (*end != ']') {
        sample_expr_free(e);
        if (isprint((unsigned char)*end))
            return set_err(err, "expected ']' after '%.*s', but found '%c'",
                           (int)(end - p), p, *end);
        return set_err(err, "missing ']' after '%.*s'", (int)(end - p), p);
    }
    lf_node_add(lf, LF_NODE_EXPR)->expr = e;
    lf->nodes[lf->n - 1].opts = opts;
    *next = end + 1;
    return RC_OK;
}

/* Returns 1 if <tag> renders without a stream: the process's, not a
 * stream's (%pid, %H). */
static int lf_tag_no_stream(const struct logformat_tag *tag)
{
    return strcmp(tag->name, "pid") == 0 || strcmp(tag->name, "H") == 0;
}

/* Parses the variable name at <p>; "%o" changes <*defopts> instead. */
static int lf_parse_var(struct logformat *lf, const char *p, const char **next,
                        unsigned opts, unsigned *defopts, char **err)
{
    const struct logformat_tag *tag;
    size_t len = 0;

    while (isalnum((unsigned char)p[len]))
        len++;
    *next = p + len;
    if (len == 1 && p[0] == 'o') {
        *defopts = opts;
        return RC_OK;
    }
    tag = lf_tag_find(p, len);
    if (tag == NULL)
        return set_err(err,
                       "no such format variable '%.*s'. If you wanted to "
                       "emit the '%%' character verbatim, you need to use "
                       "'%%%%'",
                       (int)len, p);
    if (tag->http_only && !(lf->flags & LF_PARSE_HTTP_MODE))
        return set_err(err, "format variable '%s' is reserved for HTTP mode",
                       tag->name);
    if ((lf->flags & LF_PARSE_CONST) && !lf_tag_no_stream(tag))
        return set_err(err,
                       "format variable '%s' needs a stream: not "
                       "allowed here",
                       tag->name);
    lf_node_add(lf, LF_NODE_TAG)->tag = tag;
    lf->nodes[lf->n - 1].opts = opts;
    return RC_OK;
}

/* Parses what follows a '%' at <p> (pointing after it), <fmt> being the
 * whole string for messages. Sets *<next> to the first byte after. */
static int lf_parse_percent(struct logformat *lf, const char *fmt,
                            const char *p, const char **next, unsigned *defopts,
                            char **err)
{
    unsigned opts = *defopts;

    if (*p == '{') {
        const char *close = strchr(p + 1, '}');

        if (close == NULL)
            return set_err(err, "truncated line after '%s'", p + 1);
        opts = lf_apply_flags(p + 1, (size_t)(close - p - 1), opts);
        if (close[1] != '[' && !isalnum((unsigned char)close[1]))
            return set_err(err,
                           "parse argument modifier without variable name "
                           "near '%%{%.*s}'",
                           (int)(close - p - 1), p + 1);
        p = close + 1;
        if (*p == '[')
            return lf_parse_expr(lf, p + 1, next, opts, err);
        return lf_parse_var(lf, p, next, opts, defopts, err);
    }
    if (*p == '[')
        return lf_parse_expr(lf, p + 1, next, opts, err);
    if (isalpha((unsigned char)*p))
        return lf_parse_var(lf, p, next, opts, defopts, err);
    if (isdigit((unsigned char)*p) || *p == ' ' || *p == '\t')
        return set_err(err,
                       "unexpected variable name near '%c' at position %d "
                       "line : '%s'. Maybe you want to write a single '%%', "
                       "use the syntax '%%%%'",
                       *p, (int)(p - fmt), fmt);
    if (*p == '\0')
        return set_err(err, "truncated line after '%%'");
    /* any other byte: HAProxy drops the '%' and keeps the byte as text */
    *next = p;
    return RC_OK;
}

struct logformat *logformat_parse(const char *fmt, unsigned flags, char **err)
{
    struct logformat *lf = xcalloc(1, sizeof(*lf));
    unsigned defopts = (flags & LF_PARSE_MANDATORY) ? LF_OPT_MANDATORY : 0;
    const char *p = fmt, *text = fmt;

    lf->flags = flags;
    while (*p != '\0') {
        if (*p == ' ' && (flags & LF_PARSE_MERGE_SPACES)) {
            lf_add_text(lf, text, (size_t)(p - text));
            if (lf->n == 0 || lf->nodes[lf->n - 1].type != LF_NODE_SEP)
                lf_node_add(lf, LF_NODE_SEP);
            text = ++p;
        } else if (*p == '%' && p[1] == '%') {
            lf_add_text(lf, text, (size_t)(p - text + 1));
            text = p += 2;
        } else if (*p == '%') {
            lf_add_text(lf, text, (size_t)(p - text));
            if (lf_parse_percent(lf, fmt, p + 1, &p, &defopts, err) != RC_OK) {
                logformat_free(lf);
                return NULL;
            }
            text = p;
        } else {
            p++;
        }
    }
    lf_add_text(lf, text, (size_t)(p - text));
    return lf;
}

void logformat_free(struct logformat *lf)
{
    size_t i;

    if (lf == NULL)
        return;
    for (i = 0; i < lf->n; i++) {
        free(lf->nodes[i].text);
        sample_expr_free(lf->nodes[i].expr);
    }
    free(lf->nodes);
    free(lf);
}

int logformat_is_empty(const struct logformat *lf)
{
    return lf == NULL || lf->n == 0;
}

/* ---- writers */

void logformat_put_char(struct logformat_out *out, char c)
{
    if (out->len + 1 < out->size) {
        out->buf[out->len++] = c;
        out->buf[out->len] = '\0';
    }
}

void logformat_put_mem(struct logformat_out *out, const char *s, size_t len)
{
    size_t room = out->size - 1 - out->len;

    if (len > room)
        len = room;
    memcpy(out->buf + out->len, s, len);
    out->len += len;
    out->buf[out->len] = '\0';
}

/* 1 if RFC 5424 wants <c> escaped inside a structured-data value. */
static int lf_is_rfc5424_special(unsigned char c)
{
    return c == '"' || c == '\\' || c == ']';
}

/* Writes <len> bytes of <s>, escaping with '\' under LF_OPT_ESC. */
static void lf_put_escaped(struct logformat_out *out, const char *s, size_t len,
                           unsigned opts)
{
    size_t i;

    if (!(opts & LF_OPT_ESC)) {
        logformat_put_mem(out, s, len);
        return;
    }
    for (i = 0; i < len; i++) {
        if (lf_is_rfc5424_special((unsigned char)s[i]))
            logformat_put_char(out, '\\');
        logformat_put_char(out, s[i]);
    }
}

void logformat_put_text(struct logformat_out *out, const char *s, size_t len,
                        unsigned opts)
{
    const char *nul = s ? memchr(s, '\0', len) : NULL;

    if (nul != NULL)
        len = (size_t)(nul - s); /* HAProxy copies C strings */
    if (opts & LF_OPT_QUOTE)
        logformat_put_char(out, '"');
    if (s != NULL && len > 0)
        lf_put_escaped(out, s, len, opts);
    else if ((opts & (LF_OPT_QUOTE | LF_OPT_MANDATORY)) == LF_OPT_MANDATORY)
        logformat_put_char(out, '-');
    if (opts & LF_OPT_QUOTE)
        logformat_put_char(out, '"');
}

/* 1 if <c> must be encoded under <enc>. */
static int lf_must_encode(unsigned char c, enum logformat_enc enc)
{
    switch (enc) {
    case LF_ENC_HTTP:
        return (c < 0x20 && c != '\t') || c == 0x7f;
    case LF_ENC_HDR:
        if (c == '{' || c == '|' || c == '}')
            return 1;
        /* fall through */
    case LF_ENC_URL:
        return c < 0x20 || c >= 0x7f || c == '"' || c == '#';
    }
    return 0;
}

void logformat_put_encoded(struct logformat_out *out, const char *s, size_t len,
                           enum logformat_enc enc, unsigned opts)
{
    char esc = enc == LF_ENC_HTTP ? '%' : '#';
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (lf_must_encode(c, enc)) {
            char hex[3] = {esc, hex_upper[c >> 4], hex_upper[c & 15]};

            logformat_put_mem(out, hex, 3);
        } else {
            lf_put_escaped(out, s + i, 1, opts);
        }
    }
}

void logformat_put_int(struct logformat_out *out, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", v);

    logformat_put_mem(out, tmp, (size_t)n);
}

void logformat_put_counter(struct logformat_out *out, long long v,
                           unsigned opts)
{
    char tmp[24];
    int n;

    if (!(opts & LF_OPT_HEXA)) {
        logformat_put_int(out, v);
        return;
    }
    n = snprintf(tmp, sizeof(tmp), "%04X", (unsigned)v);
    logformat_put_mem(out, tmp, (size_t)n);
}

/* Writes the <n> bytes at <p> as upper-case hex pairs. */
static void lf_put_hex_bytes(struct logformat_out *out, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        logformat_put_char(out, hex_upper[b[i] >> 4]);
        logformat_put_char(out, hex_upper[b[i] & 15]);
    }
}

void logformat_put_addr(struct logformat_out *out, const struct sockaddr *sa,
                        unsigned opts)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
    char pn[INET6_ADDRSTRLEN];

    if (sa == NULL) {
        logformat_put_text(out, NULL, 0, opts);
    } else if ((opts & LF_OPT_HEXA) && sa->sa_family == AF_INET) {
        lf_put_hex_bytes(out, &sin->sin_addr, 4);
    } else if ((opts & LF_OPT_HEXA) && sa->sa_family == AF_INET6) {
        lf_put_hex_bytes(out, &sin6->sin6_addr, 16);
    } else if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &sin->sin_addr, pn, sizeof(pn));
        logformat_put_text(out, pn, strlen(pn), opts);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &sin6->sin6_addr, pn, sizeof(pn));
        logformat_put_text(out, pn, strlen(pn), opts);
    } else if (sa->sa_family == AF_UNIX) {
        logformat_put_text(out, "unix", 4, opts);
    } else {
        logformat_put_text(out, NULL, 0, opts);
    }
}

void logformat_put_port(struct logformat_out *out, const struct sockaddr *sa,
                        unsigned opts)
{
    in_port_t port;

    if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
        logformat_put_text(out, NULL, 0, opts);
        return;
    }
    port = sa->sa_family == AF_INET
               ? ((const struct sockaddr_in *)sa)->sin_port
               : ((const struct sockaddr_in6 *)sa)->sin6_port;
    if (opts & LF_OPT_HEXA)
        lf_put_hex_bytes(out, &port, 2);
    else
        logformat_put_int(out, ntohs(port));
}

void logformat_put_date_ms(struct logformat_out *out, const struct timeval *tv)
{
    char tmp[40];
    struct tm tm;
    time_t t = tv->tv_sec;
    int n;

    localtime_r(&t, &tm);
    n = snprintf(tmp, sizeof(tmp), "%02d/%s/%04d:%02d:%02d:%02d.%03d",
                 tm.tm_mday, lf_months[tm.tm_mon], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv->tv_usec / 1000));
    logformat_put_mem(out, tmp, (size_t)n);
}

void logformat_put_date_zone(struct logformat_out *out, time_t t, int local)
{
    char tmp[48];
    struct tm tm;
    long off = 0;
    int n;

    if (local) {
        localtime_r(&t, &tm);
        off = tm.tm_gmtoff / 60;
    } else {
        gmtime_r(&t, &tm);
    }
    n = snprintf(tmp, sizeof(tmp), "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld",
                 tm.tm_mday, lf_months[tm.tm_mon], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
                 labs(off) / 60, labs(off) % 60);
    logformat_put_mem(out, tmp, (size_t)n);
}

/* ---- rendering */

/* Evaluates "%[expr]" on <s>: the request side first, then the response
 * side, as a string (HAProxy's sample_fetch_as_type). */
static void lf_render_expr(struct logformat_out *out, const struct lf_node *n,
                           struct stream *s, unsigned flags)
{
    struct smp_env env;
    struct sample smp;
    struct pool *scratch = NULL;
    int ok;

    memset(&env, 0, sizeof(env));
    if (s != NULL)
        stream_env(s, &env);
    else /* casts and converters need somewhere to write */
        env.pool = scratch = pool_new(LF_SCRATCH_POOL);
    env.avail = SMP_AVAIL_CONN | SMP_AVAIL_REQ | SMP_AVAIL_RES;
    env.opt = SMP_OPT_FINAL;
    env.dir = 0;
    ok = sample_expr_eval(n->expr, &env, &smp);
    if (!ok) {
        env.dir = 1;
        ok = sample_expr_eval(n->expr, &env, &smp);
    }
    if (ok && !sample_cast(&smp, SMP_T_STR, &env))
        ok = 0;
    if (flags & LF_PARSE_HTTP)
        logformat_put_encoded(out, ok ? smp.data.str.ptr : "",
                              ok ? smp.data.str.len : 0, LF_ENC_HTTP, n->opts);
    else
        logformat_put_text(out, ok ? smp.data.str.ptr : NULL,
                           ok ? smp.data.str.len : 0, n->opts);
    if (scratch != NULL)
        pool_free(scratch);
}

size_t logformat_render(const struct logformat *lf, struct stream *s, char *buf,
                        size_t size)
{
    struct logformat_out out = {buf, size, 0};
    int last_space = 1; /* no separator at the start of a line */
    size_t i;

    if (size == 0)
        return 0;
    buf[0] = '\0';
    for (i = 0; lf != NULL && i < lf->n; i++) {
        const struct lf_node *n = &lf->nodes[i];
        size_t before = out.len;

        switch (n->type) {
        case LF_NODE_SEP:
            if (!last_space)
                logformat_put_char(&out, ' ');
            last_space = 1;
            continue;
        case LF_NODE_TEXT:
            logformat_put_mem(&out, n->text, n->len);
            break;
        case LF_NODE_TAG:
            n->tag->render(&out, s, n->opts);
            break;
        case LF_NODE_EXPR:
            lf_render_expr(&out, n, s, lf->flags);
            break;
        }
        /* a node that wrote nothing keeps the pending separator merged */
        if (out.len != before)
            last_space = 0;
    }
    return out.len;
}
