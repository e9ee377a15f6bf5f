/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Health checks: TCP connect checks, HTTP checks ("option httpchk",
 * "http-check expect/send/disable-on-404") and tcp-check sequences
 * ("option tcp-check", "tcp-check connect/send/send-binary/expect/comment",
 * and the protocol sequences core/check_proto.c builds), the rise/fall
 * state machine and NOLB, HAProxy's log messages for transitions, and
 * the shared memory that carries the health of each server from the
 * checking worker to all the others. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/check.h"
#include "core/check_proto.h"
#include "core/conn.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/freq_ctr.h"
#include "core/log.h"
#include "core/logger.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/util.h"
#include "core/worker.h"

#define CHECK_MAX_RESPONSE 16384

/* How often a worker looks for servers that the checking worker took out
 * of balancing or put back (http-check disable-on-404), moves the weights
 * of servers in their slowstart, ends the streams of servers that went
 * down (on-marked-down), and, in the checking worker, acts on the errors
 * other workers observed. Balancing reads each worker's own weights, so
 * the shared state must be copied into them; a timer, armed when a
 * server has a shared health, bounds the delay. */
#define CHECK_POLL_MS 50

/* The results of one check. */
enum check_outcome {
    CHECK_FAILED = 0,
    CHECK_PASSED = 1,
    CHECK_CONDPASS = 2, /* 404 with disable-on-404: passed, no new traffic */
};

/* The shared mapping of a generation (core's module data). */
struct check_shm {
    struct server_health *base;
    size_t len;
};

struct tcpchk_rule;

/* The checking worker's state for one server. */
struct check_run {
    struct server *srv;
    struct event *timer;
    struct bufferevent *bev;
    struct timeval start;
    struct evbuffer *resp; /* what the server sent (since the last send) */
    /* tcp-check: the step running (NULL: the implicit connect), the one
     * to go on with, and the state of the connection */
    const struct tcpchk_rule *cur, *resume;
    int connected, eof;
    int finishing; /* every step passed: the output drains, then done */
    char why[256]; /* a protocol check: the last verdict's reason */
};

/* ---------------------------------------------------------------- */
/* Configuration                                                     */
/* ---------------------------------------------------------------- */

/* Sets the request of <c> from method, URI, version and extra headers. */
static void check_set_request(struct px_check *c, const char *meth,
                              const char *uri, const char *ver,
                              const char *hdrs)
{
    free(c->request);
    c->request = xasprintf("%s %s %s\r\n%s\r\n", meth, uri, ver, hdrs);
    c->request_len = strlen(c->request);
}

int check_parse_httpchk(struct proxy *px, int argc, char **args, char **err)
{
    const char *meth = argc > 2 ? args[2] : "OPTIONS";
    const char *uri = argc > 3 ? args[3] : "/";
    const char *ver = argc > 4 ? args[4] : "HTTP/1.0";

    if (strcmp(args[0], "no") == 0) {
        check_px_free(px->chk);
        px->chk = NULL;
        return RC_OK;
    }
    if (argc == 3) { /* "option httpchk URI" */
        meth = "OPTIONS";
        uri = args[2];
    }
    if (px->chk == NULL)
        px->chk = xcalloc(1, sizeof(*px->chk));
    px->chk->type = CHECK_TYPE_HTTP;
    /* HAProxy's old form puts headers after the version, "\r\n" escaped */
    check_set_request(px->chk, meth, uri, ver, "");
    return RC_OK;
}

/* Parses "http-check send [meth M] [uri U] [ver V] [hdr N V]...". */
static int check_parse_send(struct px_check *c, int argc, char **args,
                            char **err)
{
    const char *meth = "GET", *uri = "/", *ver = "HTTP/1.0";
    char hdrs[2048] = "";
    size_t n = 0;
    int i;

    for (i = 2; i + 1 < argc; i += 2) {
        if (strcmp(args[i], "meth") == 0) {
            meth = args[i + 1];
        } else if (strcmp(args[i], "uri") == 0) {
            uri = args[i + 1];
        } else if (strcmp(args[i], "ver") == 0) {
            ver = args[i + 1];
        } else if (strcmp(args[i], "hdr") == 0 && i + 2 < argc) {
            int w = snprintf(hdrs + n, sizeof(hdrs) - n, "%s: %s\r\n",
                             args[i + 1], args[i + 2]);

            if (w < 0 || (size_t)w >= sizeof(hdrs) - n)
                return set_err(err, "'http-check send': headers too long");
            n += (size_t)w;
            i++;
        } else {
            return set_err(err,
                           "'http-check send': '%s' is not supported "
                           "yet",
                           args[i]);
        }
    }
    if (i < argc)
        return set_err(err, "'http-check send': '%s' expects a value", args[i]);
    check_set_request(c, meth, uri, ver, hdrs);
    return RC_OK;
}

/* Parses "http-check expect [!] KIND ARG". */
static int check_parse_expect(struct px_check *c, int argc, char **args,
                              char **err)
{
    static const char *const kinds[] = {"", "status", "rstatus", "string",
                                        "rstring"};
    int i = 2;
    size_t k;

    c->negate = i < argc && strcmp(args[i], "!") == 0;
    i += c->negate;
    if (i + 1 >= argc)
        return set_err(err, "'http-check expect' expects a kind and a "
                            "pattern");
    for (k = 1; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (strcmp(args[i], kinds[k]) == 0)
            break;
    if (k == sizeof(kinds) / sizeof(kinds[0]))
        return set_err(err,
                       "'http-check expect': '%s' is not supported "
                       "yet",
                       args[i]);
    c->expect = (enum check_expect)k;
    free(c->expect_arg);
    c->expect_arg = xstrdup(args[i + 1]);
    sample_regex_free(c->expect_re);
    c->expect_re = NULL;
    if (c->expect == CHECK_EXPECT_RSTATUS ||
        c->expect == CHECK_EXPECT_RSTRING) {
        c->expect_re =
            sample_regex_new(args[i + 1], strlen(args[i + 1]), 0, err);
        if (c->expect_re == NULL)
            return RC_ERR;
    }
    return RC_OK;
}

int check_parse_http_check(struct proxy *px, int argc, char **args, char **err)
{
    if (px->chk == NULL) {
        px->chk = xcalloc(1, sizeof(*px->chk));
        check_set_request(px->chk, "OPTIONS", "/", "HTTP/1.0", "");
    }
    if (strcmp(args[1], "expect") == 0)
        return check_parse_expect(px->chk, argc, args, err);
    if (strcmp(args[1], "send") == 0)
        return check_parse_send(px->chk, argc, args, err);
    if (strcmp(args[1], "disable-on-404") == 0) {
        if (argc > 2)
            return set_err(err,
                           "'http-check' cannot handle unexpected "
                           "argument '%s'",
                           args[2]);
        px->chk->disable_on_404 = 1;
        return RC_OK;
    }
    return set_err(err, "'http-check %s' is not supported yet", args[1]);
}

/* ---------------------------------------------------------------- */
/* tcp-check configuration                                           */
/* ---------------------------------------------------------------- */

enum tcpchk_act {
    TCPCHK_CONNECT,
    TCPCHK_SEND,
    TCPCHK_EXPECT,
    TCPCHK_COMMENT, /* removed after parsing, its text given to rules */
};

enum tcpchk_match {
    TCPCHK_STRING,
    TCPCHK_RSTRING,
    TCPCHK_BINARY,
    TCPCHK_CUSTOM, /* a protocol check's verdict */
};

/* One "tcp-check" line. */
struct tcpchk_rule {
    struct tcpchk_rule *next;
    enum tcpchk_act act;
    int step;      /* HAProxy's step number: the line's rank, from 1 */
    char *comment; /* NULL if none */
    int port;      /* connect: 0 for the server's (or its check port) */
    /* send: the bytes; expect: the pattern (decoded for binary) */
    char *data;
    size_t len;
    /* expect */
    enum tcpchk_match match;
    int negate;
    long long min_recv; /* -1: wait for a match until the end */
    char *text;         /* the pattern as written */
    struct sample_regex *re;
    const struct tcpchk_rule *head; /* where a waiting expect starts again */
    check_verdict_cb verdict;       /* custom */
};

static void tcpchk_rule_free(struct tcpchk_rule *r)
{
    free(r->comment);
    free(r->data);
    free(r->text);
    sample_regex_free(r->re);
    free(r);
}

static void tcpchk_rules_free(struct tcpchk_rule *r)
{
    struct tcpchk_rule *next;

    for (; r != NULL; r = next) {
        next = r->next;
        tcpchk_rule_free(r);
    }
}

/* Returns the px_check of <px>, created as a connect-only HTTP default. */
static struct px_check *check_get(struct proxy *px)
{
    if (px->chk == NULL) {
        px->chk = xcalloc(1, sizeof(*px->chk));
        check_set_request(px->chk, "OPTIONS", "/", "HTTP/1.0", "");
    }
    return px->chk;
}

/* "option tcp-check": the tcp-check sequence runs; "no option tcp-check"
 * goes back to connect-only checks. */
static int parse_option_tcpcheck(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                                 int argc, char **args, char **err)
{
    struct px_check *c;

    if (strcmp(args[0], "no") == 0) {
        if (ctx->px->chk != NULL && ctx->px->chk->type == CHECK_TYPE_TCP) {
            check_px_free(ctx->px->chk);
            ctx->px->chk = NULL;
        }
        return RC_OK;
    }
    c = check_get(ctx->px);
    c->type = CHECK_TYPE_TCP;
    return RC_OK;
}

/* Parses the options of "tcp-check connect": "port N", "comment TEXT". */
static int tcpchk_parse_connect(struct tcpchk_rule *r, int argc, char **args,
                                char **err)
{
    long long port;
    int i;

    for (i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return set_err(err, "'tcp-check connect': '%s' expects a value",
                           args[i]);
        if (strcmp(args[i], "port") == 0) {
            if (cfgval_int(args[i + 1], 1, 65535, &port, err) != RC_OK)
                return RC_ERR;
            r->port = (int)port;
        } else if (strcmp(args[i], "comment") == 0) {
            free(r->comment);
            r->comment = xstrdup(args[i + 1]);
        } else {
            return set_err(err,
                           "'tcp-check connect': '%s' is not supported "
                           "yet",
                           args[i]);
        }
    }
    return RC_OK;
}

/* Parses "tcp-check send DATA" and "tcp-check send-binary HEX", with an
 * optional "comment TEXT". */
static int tcpchk_parse_send(struct tcpchk_rule *r, int argc, char **args,
                             char **err)
{
    size_t n;

    if (argc < 3 || args[2][0] == '\0')
        return set_err(err, "'tcp-check %s' expects the data to send", args[1]);
    if (argc == 5 && strcmp(args[3], "comment") == 0)
        r->comment = xstrdup(args[4]);
    else if (argc != 3)
        return set_err(err, "'tcp-check %s': unexpected '%s'", args[1],
                       args[3]);
    n = strlen(args[2]);
    if (strcmp(args[1], "send") == 0) {
        r->data = xstrndup(args[2], n);
        r->len = n;
        return RC_OK;
    }
    r->data = xcalloc(1, n / 2 + 1);
    if (sample_hex2bin(args[2], n, (unsigned char *)r->data) < 0)
        return set_err(err,
                       "'tcp-check send-binary': '%s' is not a hex "
                       "string of even length",
                       args[2]);
    r->len = n / 2;
    return RC_OK;
}

/* Sets the pattern of an expect rule: "string", "rstring" or "binary". */
static int tcpchk_set_pattern(struct tcpchk_rule *r, const char *kind,
                              const char *pat, char **err)
{
    size_t n = strlen(pat);

    if (r->text != NULL)
        return set_err(err, "'tcp-check expect': only one pattern");
    r->text = xstrdup(pat);
    if (strcmp(kind, "string") == 0) {
        r->match = TCPCHK_STRING;
        r->data = xstrndup(pat, n);
        r->len = n;
    } else if (strcmp(kind, "rstring") == 0) {
        r->match = TCPCHK_RSTRING;
        r->re = sample_regex_new(pat, n, 0, err);
        if (r->re == NULL)
            return RC_ERR;
    } else {
        r->match = TCPCHK_BINARY;
        r->data = xcalloc(1, n / 2 + 1);
        if (sample_hex2bin(pat, n, (unsigned char *)r->data) < 0)
            return set_err(err,
                           "'tcp-check expect binary': '%s' is not a "
                           "hex string of even length",
                           pat);
        r->len = n / 2;
    }
    if (n == 0)
        return set_err(err, "'tcp-check expect %s' expects a pattern", kind);
    return RC_OK;
}

/* Parses "tcp-check expect [min-recv N] [comment TEXT] [!] string|rstring|
 * binary PATTERN" (HAProxy takes the options in any order). */
static int tcpchk_parse_expect(struct tcpchk_rule *r, int argc, char **args,
                               char **err)
{
    int i;

    r->min_recv = -1;
    for (i = 2; i < argc; i++) {
        const char *a = args[i];

        if (strcmp(a, "!") == 0) {
            r->negate = 1;
            continue;
        }
        if (i + 1 >= argc)
            return set_err(err, "'tcp-check expect': '%s' expects a value", a);
        if (strcmp(a, "min-recv") == 0) {
            if (cfgval_int(args[++i], -1, 1 << 30, &r->min_recv, err) != RC_OK)
                return RC_ERR;
        } else if (strcmp(a, "comment") == 0) {
            free(r->comment);
            r->comment = xstrdup(args[++i]);
        } else if (strcmp(a, "string") == 0 || strcmp(a, "rstring") == 0 ||
                   strcmp(a, "binary") == 0) {
            if (tcpchk_set_pattern(r, a, args[++i], err) != RC_OK)
                return RC_ERR;
        } else {
            return set_err(err, "'tcp-check expect': '%s' is not supported yet",
                           a);
        }
    }
    if (r->text == NULL)
        return set_err(err, "'tcp-check expect' expects [!] string|rstring|"
                            "binary and a pattern");
    return RC_OK;
}

/* Returns 1 if a connect may be added after the rules <first>: HAProxy
 * wants the first step to be a connect when there is one. */
static int tcpchk_connect_allowed(const struct tcpchk_rule *first)
{
    for (; first != NULL; first = first->next) {
        if (first->act == TCPCHK_CONNECT)
            return 1;
        if (first->act != TCPCHK_COMMENT)
            return 0;
    }
    return 1;
}

/* Parses the words of one "tcp-check" line into <r>. */
static int tcpchk_parse_rule(struct px_check *c, struct tcpchk_rule *r,
                             int argc, char **args, char **err)
{
    const char *a = args[1];

    if (strcmp(a, "connect") == 0) {
        r->act = TCPCHK_CONNECT;
        if (!tcpchk_connect_allowed(c->tcp_rules))
            return set_err(err, "first step MUST also be a 'connect', "
                                "optionally preceded by a 'comment', when "
                                "there is a 'connect' step in the "
                                "tcp-check ruleset");
        return tcpchk_parse_connect(r, argc, args, err);
    }
    if (strcmp(a, "send") == 0 || strcmp(a, "send-binary") == 0) {
        r->act = TCPCHK_SEND;
        return tcpchk_parse_send(r, argc, args, err);
    }
    if (strcmp(a, "expect") == 0) {
        r->act = TCPCHK_EXPECT;
        return tcpchk_parse_expect(r, argc, args, err);
    }
    if (strcmp(a, "comment") == 0) {
        r->act = TCPCHK_COMMENT;
        if (argc != 3)
            return set_err(err, "'tcp-check comment' expects one text");
        r->comment = xstrdup(args[2]);
        return RC_OK;
    }
    return set_err(err, "'tcp-check %s' is not supported yet", a);
}

/* "tcp-check connect|send|send-binary|expect|comment ...". */
static int parse_tcpcheck(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    struct px_check *c = check_get(ctx->px);
    struct tcpchk_rule *r = xcalloc(1, sizeof(*r)), **tail;

    if (tcpchk_parse_rule(c, r, argc, args, err) != RC_OK) {
        tcpchk_rule_free(r);
        return RC_ERR;
    }
    r->step = ++c->tcp_nlines;
    for (tail = &c->tcp_rules; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = r;
    return RC_OK;
}

/* Copies the rule list <src> (heads are set later, by tcpchk_resolve). */
static struct tcpchk_rule *tcpchk_rules_dup(const struct tcpchk_rule *src)
{
    struct tcpchk_rule *first = NULL, **tail = &first, *r;
    char *err = NULL;

    for (; src != NULL; src = src->next) {
        r = xcalloc(1, sizeof(*r));
        *r = *src;
        r->next = NULL;
        r->comment = src->comment ? xstrdup(src->comment) : NULL;
        r->data = src->data ? xstrndup(src->data, src->len) : NULL;
        r->text = src->text ? xstrdup(src->text) : NULL;
        r->re = src->re ? sample_regex_new(r->text, strlen(r->text), 0, &err)
                        : NULL;
        free(err);
        err = NULL;
        *tail = r;
        tail = &r->next;
    }
    return first;
}

/* Gives comment lines' text to the rules after them as HAProxy does (the
 * next rule, and the ones after it while the action stays the same; a
 * connect ends it), drops the comment lines and sets each expect's head:
 * the first negated expect of the chain of expects it ends, or itself. */
static void tcpchk_resolve(struct px_check *c)
{
    struct tcpchk_rule **pr = &c->tcp_rules, *r, *chain = NULL;
    const char *comment = NULL;
    char *owned = NULL;
    int prev = -1;

    while ((r = *pr) != NULL) {
        if (r->act == TCPCHK_COMMENT) {
            free(owned);
            owned = r->comment;
            r->comment = NULL;
            comment = owned;
            prev = TCPCHK_COMMENT;
            *pr = r->next;
            tcpchk_rule_free(r);
            continue;
        }
        if (prev != TCPCHK_COMMENT && (int)r->act != prev)
            comment = NULL;
        if (r->comment == NULL && comment != NULL)
            r->comment = xstrdup(comment);
        if (r->act == TCPCHK_CONNECT)
            comment = NULL;
        prev = (int)r->act;
        if (r->act != TCPCHK_EXPECT)
            chain = NULL;
        else if (chain == NULL && r->negate)
            chain = r;
        r->head = r->act == TCPCHK_EXPECT && chain ? chain : r;
        pr = &r->next;
    }
    free(owned);
}

/* A protocol sequence has no negated expect: each waits on its own. */
static void tcpchk_set_heads(struct tcpchk_rule *r)
{
    for (; r != NULL; r = r->next)
        r->head = r;
}

void check_set_proto(struct proxy *px, struct check_proto_step *steps, int n)
{
    struct tcpchk_rule *first = NULL, **tail = &first, *r;
    struct px_check *c;
    int i;

    if (steps == NULL) {
        if (px->chk != NULL && px->chk->type == CHECK_TYPE_PROTO) {
            check_px_free(px->chk);
            px->chk = NULL;
        }
        return;
    }
    for (i = 0; i < n; i++) {
        r = xcalloc(1, sizeof(*r));
        r->step = i + 2; /* the connect is step 1, as HAProxy counts */
        r->act = steps[i].data != NULL ? TCPCHK_SEND : TCPCHK_EXPECT;
        r->data = steps[i].data;
        r->len = steps[i].len;
        r->match = TCPCHK_CUSTOM;
        r->min_recv = -1;
        r->verdict = steps[i].verdict;
        *tail = r;
        tail = &r->next;
    }
    tcpchk_set_heads(first);
    c = check_get(px);
    tcpchk_rules_free(c->proto_rules);
    c->proto_rules = first;
    c->type = CHECK_TYPE_PROTO;
}

/* A protocol option's row (core/check_proto.c parses it). */
#define PROTO_OPTION(name)                                                     \
    {                                                                          \
        "option " name, CFG_SEC_BE, 0, -1, check_proto_parse_option, 0, 0, 0   \
    }

const struct cfg_kw check_keywords[] = {
    {"option tcp-check", CFG_SEC_BE, 0, 0, parse_option_tcpcheck, 0, 0, 0},
    {"tcp-check", CFG_SEC_BE, 1, -1, parse_tcpcheck, 0, 0, 0},
    PROTO_OPTION("redis-check"),
    PROTO_OPTION("smtpchk"),
    PROTO_OPTION("mysql-check"),
    PROTO_OPTION("pgsql-check"),
    PROTO_OPTION("ldap-check"),
    PROTO_OPTION("ssl-hello-chk"),
    PROTO_OPTION("spop-check"),
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

struct px_check *check_dup(const struct px_check *src)
{
    struct px_check *c;
    char *err = NULL;

    if (src == NULL)
        return NULL;
    c = xcalloc(1, sizeof(*c));
    *c = *src;
    c->request = src->request ? xstrdup(src->request) : NULL;
    c->expect_arg = src->expect_arg ? xstrdup(src->expect_arg) : NULL;
    c->expect_re =
        src->expect_re
            ? sample_regex_new(c->expect_arg, strlen(c->expect_arg), 0, &err)
            : NULL;
    free(err);
    c->tcp_rules = tcpchk_rules_dup(src->tcp_rules);
    c->proto_rules = tcpchk_rules_dup(src->proto_rules);
    tcpchk_set_heads(c->proto_rules);
    return c;
}

void check_px_free(struct px_check *c)
{
    if (c == NULL)
        return;
    free(c->request);
    free(c->expect_arg);
    sample_regex_free(c->expect_re);
    tcpchk_rules_free(c->tcp_rules);
    tcpchk_rules_free(c->proto_rules);
    free(c);
}

/* ---------------------------------------------------------------- */
/* Shared health                                                     */
/* ---------------------------------------------------------------- */

/* Calls <fn> on every server of <cfg> with a health of its own: all but
 * the tracking ones, which share the health of the server they track (the
 * runtime API may force the health of a server without checks, as
 * HAProxy's). */
static void each_own_health(struct cfg *cfg,
                            void (*fn)(struct server *, void *), void *arg)
{
    struct proxy *px;
    struct server *srv;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (srv = px->servers; srv != NULL; srv = srv->next)
            if (srv->track == NULL)
                fn(srv, arg);
}

static void count_one(struct server *srv, void *arg)
{
    (*(size_t *)arg)++;
}

static void attach_one(struct server *srv, void *arg)
{
    struct server_health **next = arg;

    srv->health = (*next)++;
    srv->health->up = 1;             /* servers start up, as in HAProxy, */
    srv->health->health = srv->rise; /* a failure from down */
    if (!srv->check && srv->cfg_disabled)
        srv->health->health = 0; /* as HAProxy shows it */
    srv->health->check_status = CHECK_ST_INI;
    srv->health->agent_weight = srv->health->agent_maxconn = -1;
}

int check_prepare(struct cfg *cfg)
{
    struct check_shm *shm;
    struct server_health *next;
    struct proxy *px;
    size_t n = 0;

    for (px = cfg->proxies; px != NULL; px = px->next)
        if (px->chk != NULL)
            tcpchk_resolve(px->chk);
    each_own_health(cfg, count_one, &n);
    if (n == 0)
        return RC_OK;
    shm = xcalloc(1, sizeof(*shm));
    shm->len = n * sizeof(*shm->base);
    shm->base = mmap(NULL, shm->len, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm->base == MAP_FAILED) {
        log_alert("cannot map the health of %zu servers: %s", n,
                  strerror(errno));
        free(shm);
        return RC_ERR;
    }
    next = shm->base;
    each_own_health(cfg, attach_one, &next);
    *cfg_module_data(cfg, &core_module) = shm;
    return RC_OK;
}

void check_release(struct cfg *cfg)
{
    struct check_shm *shm = *cfg_module_data(cfg, &core_module);

    if (shm == NULL)
        return;
    munmap(shm->base, shm->len);
    free(shm);
    *cfg_module_data(cfg, &core_module) = NULL;
}

/* ---------------------------------------------------------------- */
/* Running checks (worker 1)                                         */
/* ---------------------------------------------------------------- */

/* Counts the usable servers of <px>: active and backup. */
static void count_usable(const struct proxy *px, int *act, int *bck)
{
    const struct server *srv;

    *act = *bck = 0;
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (server_up(srv) && !srv->disabled && srv->weight > 0)
            (*(srv->backup ? bck : act))++;
}

/* Says <fmt> about a server of <px> in HAProxy's words: on the process
 * log (as its warnings) and to the proxy's log targets at <level>, as
 * HAProxy sends server state changes (alert when one goes down, notice
 * when it comes up). */
static void check_announce(const struct proxy *px, int level, const char *fmt,
                           ...) __attribute__((format(printf, 3, 4)));
static void check_announce(const struct proxy *px, int level, const char *fmt,
                           ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_at(level == LOG_LVL_EMERG ? LOG_LVL_ALERT : LOG_LVL_WARNING, "%s", msg);
    log_emit((struct proxy *)px, level, msg);
}

/* Says that backend <px> has no usable server left (on the process log
 * only: HAProxy 2.6 does not send it to the log targets). */
static void check_announce_empty(const struct proxy *px)
{
    log_alert("backend '%s' has no server available!", px->name);
}

/* What HAProxy adds to the counts of servers when only backups serve. */
static const char *on_backup(int act, int bck)
{
    return act == 0 && bck > 0 ? " Running on backup." : "";
}

/* Announces that <t> went up or down with <h>: "via" the server it
 * tracks. */
static void check_announce_via(const struct proxy *px, const struct server *t,
                               int up, int act, int bck)
{
    if (up)
        check_announce(px, LOG_LVL_NOTICE,
                       "Server %s/%s is %s via %s/%s. %d active and %d "
                       "backup servers online.%s 0 sessions requeued, %u "
                       "total in queue.",
                       px->name, t->name, t->health->nolb ? "stopping" : "UP",
                       t->tracked->px->name, t->tracked->name, act, bck,
                       on_backup(act, bck), px->queue.len);
    else
        check_announce(px, LOG_LVL_ALERT,
                       "Server %s/%s is DOWN via %s/%s. %d active and %d "
                       "backup servers left.%s %u sessions active, 0 "
                       "requeued, %u remaining in queue.",
                       px->name, t->name, t->tracked->px->name,
                       t->tracked->name, act, bck, on_backup(act, bck),
                       t->cur_conns, px->queue.len);
}

/* The servers tracking <srv>, directly or through others (they share its
 * health), changed with it: each is announced "via" the server it tracks,
 * and each other backend left without a server once. */
static void check_log_trackers(const struct server *srv)
{
    const struct proxy *px;
    const struct server *t;
    int act, bck;

    for (px = worker_cfg()->proxies; px != NULL; px = px->next) {
        int told = 0;

        count_usable(px, &act, &bck);
        for (t = px->servers; t != NULL; t = t->next)
            if (t->tracked != NULL && t->health == srv->health) {
                check_announce_via(px, t, srv->health->up, act, bck);
                told = 1;
            }
        if (told && act + bck == 0 && px != srv->px)
            check_announce_empty(px);
    }
}

static void check_log_state(struct server *srv, const char *why);

/* ", check duration: <ms>ms", or nothing for a result that traffic gave
 * ("observe", <ms> -1); in a static buffer. */
static const char *check_took(long ms)
{
    static char dur[48];

    if (ms < 0)
        return "";
    snprintf(dur, sizeof(dur), ", check duration: %ldms", ms);
    return dur;
}

/* Announces a transition of the checked server of <run>; with "option
 * log-health-checks" the check's own line said why. */
static void check_log_change(struct check_run *run, const char *reason, long ms)
{
    char why[512] = "";

    if (!(run->srv->px->options & PX_OPT_LOG_HEALTH))
        snprintf(why, sizeof(why), ", reason: %s%s", reason, check_took(ms));
    check_log_state(run->srv, why);
}

/* Announces the state <srv> is now in, <why> following its name. */
static void check_log_state(struct server *srv, const char *why)
{
    int act, bck;

    srv->last_change = time(NULL);
    count_usable(srv->px, &act, &bck);
    if (server_up(srv))
        check_announce(srv->px, LOG_LVL_NOTICE,
                       "Server %s/%s is %s%s. %d active and %d backup servers "
                       "online.%s 0 sessions requeued, %u total in queue.",
                       srv->px->name, srv->name,
                       srv->health->nolb ? "stopping" : "UP", why, act, bck,
                       on_backup(act, bck), srv->px->queue.len);
    else
        check_announce(srv->px, LOG_LVL_ALERT,
                       "Server %s/%s is DOWN%s. %d active and %d backup "
                       "servers left.%s %u sessions active, 0 requeued, %u "
                       "remaining in queue.",
                       srv->px->name, srv->name, why, act, bck,
                       on_backup(act, bck), srv->cur_conns, srv->px->queue.len);
    if (act + bck == 0)
        check_announce_empty(srv->px);
    check_log_trackers(srv);
}

void check_log_admin(const struct server *srv, int was)
{
    const struct proxy *px = srv->px;
    int act, bck;

    count_usable(px, &act, &bck);
    if (was == SERVER_MAINT)
        check_announce(px, LOG_LVL_NOTICE,
                       "Server %s/%s is %s (leaving forced maintenance).",
                       px->name, srv->name,
                       server_up(srv) ? "UP/READY" : "DOWN");
    else if (was == SERVER_DRAIN && !srv->disabled)
        check_announce(px, LOG_LVL_NOTICE,
                       "Server %s/%s is UP (leaving forced drain).", px->name,
                       srv->name);
    if (srv->disabled) {
        check_announce(px, LOG_LVL_ALERT,
                       "Server %s/%s is going DOWN for maintenance. %d active "
                       "and %d backup servers left.%s %u sessions active, 0 "
                       "requeued, %u remaining in queue.",
                       px->name, srv->name, act, bck, on_backup(act, bck),
                       srv->cur_conns, px->queue.len);
        if (act + bck == 0)
            check_announce_empty(px);
    } else if (srv->drain) {
        check_announce(px, LOG_LVL_NOTICE,
                       "Server %s/%s enters drain state. %d active and %d "
                       "backup servers online.%s 0 sessions requeued, %u total "
                       "in queue.",
                       px->name, srv->name, act, bck, on_backup(act, bck),
                       px->queue.len);
    }
}

/* "option log-health-checks": a check that moved the health of the
 * server of <run> is logged, with the health it left. */
static void check_log_health(struct check_run *run, int ok, const char *reason,
                             long ms)
{
    struct server *srv = run->srv;
    const struct server_health *h = srv->health;
    int up = h->health >= srv->rise;
    char msg[1024];

    if (!(srv->px->options & PX_OPT_LOG_HEALTH))
        return;
    snprintf(msg, sizeof(msg),
             "Health check for server %s/%s %s, reason: %s%s, status: %d/%d "
             "%s.",
             srv->px->name, srv->name, ok ? "succeeded" : "failed", reason,
             check_took(ms), up ? h->health - srv->rise + 1 : h->health,
             up ? srv->fall : srv->rise, up ? "UP" : "DOWN");
    check_announce(srv->px, LOG_LVL_NOTICE, "%s", msg);
}

/* <ms> moved by a random share of up to "spread-checks" percent either
 * way, so that checks of many servers do not go out together. */
static unsigned check_spread(unsigned ms)
{
    int pct = worker_cfg()->global.spread_checks;
    long long d;

    if (pct == 0 || ms == 0)
        return ms;
    d = (long long)ms * pct / 100;
    return (unsigned)((long long)ms - d + (long long)(random() % (2 * d + 1)));
}

/* Arms the next check of <run> after its interval. */
static void check_schedule(struct check_run *run)
{
    struct server *srv = run->srv;
    const struct server_health *h = srv->health;
    unsigned ms = srv->inter;
    struct timeval tv;

    if (h->health == srv->rise + srv->fall - 1)
        ms = srv->inter; /* settled up */
    else if (!h->up && h->health == 0)
        ms = srv->downinter ? srv->downinter : srv->inter; /* settled down */
    else if (srv->fastinter)
        ms = srv->fastinter; /* a change is under way */
    ms = check_spread(ms);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(run->timer, &tv);
}

/* Brings the balancing weight of <srv> in this worker in line with its
 * shared NOLB flag and slowstart ramp. */
static void check_sync_weight(struct server *srv)
{
    if (srv->weight != server_effective_weight(srv, srv->uweight))
        server_set_weight(srv, srv->uweight);
}

void check_force(struct server *srv, enum check_force what, const char *by)
{
    struct server_health *h = srv->health;
    int was_up, was_nolb;
    char why[64];

    if (h == NULL)
        return; /* a tracking server not resolved: nothing to force */
    was_up = server_up(srv);
    was_nolb = h->nolb;
    switch (what) {
    case CHECK_FORCE_UP:
    case CHECK_FORCE_STOPPING:
        h->health = srv->rise + srv->fall - 1;
        if (!h->up) /* back up: a slowstart ramps from now */
            h->up_since = freq_ctr_now_ms();
        h->up = 1;
        h->nolb = what == CHECK_FORCE_STOPPING;
        break;
    case CHECK_FORCE_DOWN:
        h->health = 0;
        h->up = 0;
        h->nolb = 0;
        break;
    case CHECK_FORCE_NOLB:
        h->nolb = h->up;
        break;
    case CHECK_FORCE_AGENT_UP:
    case CHECK_FORCE_AGENT_DOWN:
        h->agent_down = what == CHECK_FORCE_AGENT_DOWN;
        break;
    }
    if (server_up(srv) != was_up)
        h->changes++;
    else if (h->nolb == was_nolb)
        return;
    check_sync_weight(srv);
    snprintf(why, sizeof(why), ", changed from %s", by);
    check_log_state(srv, why);
}

/* Takes the server of <run> out of balancing (<nolb> 1) or puts it back,
 * and logs it. */
static void check_set_nolb(struct check_run *run, int nolb, const char *reason,
                           long ms)
{
    run->srv->health->nolb = nolb;
    check_sync_weight(run->srv);
    check_log_change(run, reason, ms);
}

/* The checks or the agent of the server of <run>, up before if <was_up>,
 * may have changed its state (down when either says so): counted,
 * followed by this worker's weights, logged. */
static void check_changed(struct check_run *run, int was_up, const char *reason,
                          long ms)
{
    struct server *srv = run->srv;

    if (server_up(srv) == was_up)
        return;
    srv->health->changes++;
    check_sync_weight(srv);
    check_log_change(run, reason, ms);
}

/* HAProxy's status codes of a check (HCHK_STATUS_*), by the words its
 * reason starts with. */
static const struct {
    const char *words;
    int status;
} check_statuses[] = {
    {"Health analyze", 4},
    {"Socket error", 5},
    {"Layer4 check passed", 6},
    {"Layer4 timeout", 7},
    {"Layer4 connection problem", 8},
    {"Layer6 check passed", 9},
    {"Layer6 timeout", 10},
    {"Layer6 invalid response", 11},
    {"Layer7 timeout", 12},
    {"Layer7 invalid response", 13},
    {"Layer7 check passed", 15},
    {"Layer7 check conditionally passed", 16},
    {"Layer7 wrong status", 17},
};

/* Keeps the status and result of a check, <ok> (enum check_outcome) for
 * <reason>, in <h> for "show servers state". */
static void check_keep_status(struct server_health *h, int ok,
                              const char *reason)
{
    size_t i;

    for (i = 0; i < sizeof(check_statuses) / sizeof(check_statuses[0]); i++)
        if (strncmp(reason, check_statuses[i].words,
                    strlen(check_statuses[i].words)) == 0)
            h->check_status = check_statuses[i].status;
    h->check_result = ok == CHECK_FAILED   ? CHECK_RES_FAILED
                      : ok == CHECK_PASSED ? CHECK_RES_PASSED
                                           : CHECK_RES_CONDPASS;
}

/* Records one result (enum check_outcome) in HAProxy's health counter:
 * from 0 (down) to rise + fall - 1 (settled up). A failure takes one off,
 * and the whole of it below "rise" (down); a success adds one, and the
 * whole range from "rise" on (up). A server starts at "rise": up, and down
 * on its first failure until a check passed. A server up and answering
 * 404 under disable-on-404 leaves balancing at once and comes back on its
 * first good answer; a down one stays down. <ms> is the check's duration,
 * -1 for a result that traffic gave ("observe"). */
static void check_record(struct check_run *run, int ok, const char *reason,
                         long ms)
{
    struct server *srv = run->srv;
    struct server_health *h = srv->health;
    int max = srv->rise + srv->fall - 1, was = h->health;
    int was_up = server_up(srv);

    check_keep_status(h, ok, reason);
    if (ok == CHECK_CONDPASS && !h->up)
        return;
    if (ok == CHECK_FAILED) {
        if (h->health > 0)
            h->health--;
        if (h->health < srv->rise)
            h->health = 0;
    } else {
        if (h->health < max && ++h->health >= srv->rise)
            h->health = max;
        /* as HAProxy: a good check forgets the errors traffic showed */
        __atomic_store_n(&h->obs_errors, 0, __ATOMIC_RELAXED);
    }
    if (h->health != was)
        check_log_health(run, ok != CHECK_FAILED, reason, ms);
    if (h->up && ok != CHECK_FAILED) {
        if (h->nolb != (ok == CHECK_CONDPASS))
            check_set_nolb(run, ok == CHECK_CONDPASS, reason, ms);
        return;
    }
    if (h->up == (h->health >= srv->rise))
        return;
    h->up = !h->up;
    if (h->up) /* back up: a slowstart ramps from now */
        h->up_since = freq_ctr_now_ms();
    h->nolb = 0;
    check_changed(run, was_up, reason, ms);
}

/* Ends the check of <run> in flight with its result (enum
 * check_outcome), and arms the next. */
static void check_result(struct check_run *run, int ok, const char *reason)
{
    struct timeval now;

    if (run->bev != NULL) {
        bufferevent_free(run->bev);
        run->bev = NULL;
    }
    gettimeofday(&now, NULL);
    check_record(run, ok, reason,
                 (now.tv_sec - run->start.tv_sec) * 1000 +
                     (now.tv_usec - run->start.tv_usec) / 1000);
    check_schedule(run);
}

/* ---------------------------------------------------------------- */
/* What traffic shows ("observe", "error-limit", "on-error")          */
/* ---------------------------------------------------------------- */

/* What an observed event means at each level of "observe". */
enum obs_verdict {
    OBS_IGNORED = 0,
    OBS_FAILED,
    OBS_PASSED,
};

static const struct {
    const char *desc;         /* HAProxy's words, in the log */
    unsigned char verdict[2]; /* layer4, layer7 */
} obs_kinds[CHECK_OBS_COUNT] = {
    [CHECK_OBS_L4_OK] = {"L4 successful connection", {OBS_PASSED, 0}},
    [CHECK_OBS_L4_ERR] = {"L4 unsuccessful connection",
                          {OBS_FAILED, OBS_FAILED}},
    [CHECK_OBS_HTTP_OK] = {"Correct http response", {0, OBS_PASSED}},
    [CHECK_OBS_HTTP_STS] = {"Wrong http response", {0, OBS_FAILED}},
    [CHECK_OBS_HTTP_HDRRSP] = {"Invalid http response (headers)",
                               {0, OBS_FAILED}},
    [CHECK_OBS_HTTP_READ_ERROR] = {"Read error (http)", {0, OBS_FAILED}},
    [CHECK_OBS_HTTP_READ_TIMEOUT] = {"Read timeout (http)", {0, OBS_FAILED}},
    [CHECK_OBS_HTTP_BROKEN_PIPE] = {"Connection reset by peer (http)",
                                    {0, OBS_FAILED}},
};

/* Brings the next check of <run> forward to "fastinter" from now, if it
 * was due later and none runs. */
static void check_hasten(struct check_run *run)
{
    unsigned ms = run->srv->fastinter;
    struct timeval due, now, tv = {ms / 1000, (ms % 1000) * 1000};

    if (ms == 0 || run->bev != NULL || !evtimer_pending(run->timer, &due))
        return;
    gettimeofday(&now, NULL);
    timeradd(&now, &tv, &now);
    if (timercmp(&due, &now, >))
        evtimer_add(run->timer, &tv);
}

/* Checking worker: "error-limit" consecutive errors of the server of <run>
 * reached, its "on-error" applies: fail-check counts a failed check,
 * sudden-death leaves one failure to go, mark-down goes down at once; all
 * but fastinter bring the next check forward to "fastinter". */
static void check_obs_limit(struct check_run *run)
{
    struct server *srv = run->srv;
    struct server_health *h = srv->health;
    int n = __atomic_load_n(&h->obs_errors, __ATOMIC_RELAXED);
    int last = __atomic_load_n(&h->obs_last, __ATOMIC_RELAXED);
    char reason[160];

    do {
        if (n < srv->error_limit)
            return;
    } while (!__atomic_compare_exchange_n(&h->obs_errors, &n, 0, 0,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    __atomic_add_fetch(&h->obs_limits, 1, __ATOMIC_RELAXED);
    snprintf(reason, sizeof(reason),
             "Health analyze, info: \"Detected %d consecutive errors, last "
             "one was: %s\"",
             srv->error_limit, obs_kinds[last].desc);
    switch (srv->on_error) {
    case SRV_ON_ERROR_FASTINTER:
        break;
    case SRV_ON_ERROR_SUDDEN_DEATH:
        if (h->health > srv->rise)
            h->health = srv->rise + 1;
        check_record(run, CHECK_FAILED, reason, -1);
        break;
    case SRV_ON_ERROR_FAIL_CHECK:
        check_record(run, CHECK_FAILED, reason, -1);
        break;
    case SRV_ON_ERROR_MARK_DOWN:
        h->health = srv->rise;
        check_record(run, CHECK_FAILED, reason, -1);
        break;
    }
    check_hasten(run);
}

void check_observe(struct server *srv, enum check_obs what)
{
    struct server_health *h = srv->health;

    if (srv->observe == SRV_OBSERVE_NONE || h == NULL)
        return;
    switch (obs_kinds[what].verdict[srv->observe - 1]) {
    case OBS_PASSED:
        if (__atomic_load_n(&h->obs_errors, __ATOMIC_RELAXED) != 0)
            __atomic_store_n(&h->obs_errors, 0, __ATOMIC_RELAXED);
        break;
    case OBS_FAILED:
        __atomic_store_n(&h->obs_last, (int)what, __ATOMIC_RELAXED);
        if (__atomic_add_fetch(&h->obs_errors, 1, __ATOMIC_RELAXED) >=
                srv->error_limit &&
            srv->run != NULL)
            check_obs_limit(srv->run); /* the checking worker: at once */
        break;
    }
}

/* Returns the outcome (enum check_outcome) of the response in <buf>;
 * writes what it saw into <why>. */
static int check_http_verdict(const struct px_check *c, const char *buf,
                              size_t len, char *why, size_t cap)
{
    int status = 0, ok;
    char code[4] = "";

    if (len >= 12 && memcmp(buf, "HTTP/1.", 7) == 0) {
        memcpy(code, buf + 9, 3);
        status = atoi(code);
    }
    if (status < 100) {
        snprintf(why, cap, "Layer7 invalid response");
        return CHECK_FAILED;
    }
    if (status == 404 && c->disable_on_404) { /* before any expect */
        snprintf(why, cap, "Layer7 check conditionally passed, code: 404");
        return CHECK_CONDPASS;
    }
    switch (c->expect) {
    case CHECK_EXPECT_STATUS:
        ok = strcmp(code, c->expect_arg) == 0;
        break;
    case CHECK_EXPECT_RSTATUS:
        ok = sample_regex_match(c->expect_re, code, 3);
        break;
    case CHECK_EXPECT_STRING:
        ok = memmem(buf, len, c->expect_arg, strlen(c->expect_arg)) != NULL;
        break;
    case CHECK_EXPECT_RSTRING:
        ok = sample_regex_match(c->expect_re, buf, len);
        break;
    default:
        ok = status >= 200 && status < 400;
        break;
    }
    ok ^= c->negate;
    snprintf(why, cap,
             ok ? "Layer7 check passed, code: %d"
                : "Layer7 wrong status, code: %d",
             status);
    return ok;
}

/* Evaluates the HTTP response gathered so far. */
static void check_http_done(struct check_run *run)
{
    const struct px_check *c = run->srv->px->chk;
    size_t len = evbuffer_get_length(run->resp);
    const char *p = (const char *)evbuffer_pullup(run->resp, -1);
    char why[128];
    int ok = check_http_verdict(c, p ? p : "", len, why, sizeof(why));

    evbuffer_drain(run->resp, len);
    check_result(run, ok, why);
}

/* Response bytes of an HTTP check. */
static void check_read_cb(struct bufferevent *bev, void *arg)
{
    struct check_run *run = arg;
    const struct px_check *c = run->srv->px->chk;

    evbuffer_add_buffer(run->resp, bufferevent_get_input(bev));
    /* status checks need only the status line; body checks need it all */
    if ((c->expect != CHECK_EXPECT_STRING &&
         c->expect != CHECK_EXPECT_RSTRING &&
         evbuffer_get_length(run->resp) >= 12) ||
        evbuffer_get_length(run->resp) >= CHECK_MAX_RESPONSE)
        check_http_done(run);
}

/* Connection events of a check. */
static void check_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct check_run *run = arg;
    const struct px_check *c = run->srv->px->chk;
    char why[160];

    if (what & BEV_EVENT_CONNECTED) {
        if (c == NULL) {
            check_result(run, 1, "Layer4 check passed");
            return;
        }
        bufferevent_write(bev, c->request, c->request_len);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        check_result(run, 0,
                     c && evbuffer_get_length(run->resp) == 0 &&
                             (what & BEV_EVENT_READING)
                         ? "Layer7 timeout"
                         : "Layer4 timeout");
        return;
    }
    if ((what & BEV_EVENT_EOF) && c != NULL) {
        check_http_done(run);
        return;
    }
    snprintf(
        why, sizeof(why), "Layer4 connection problem, info: \"%s\"",
        strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : ECONNRESET));
    check_result(run, 0, why);
}

static int check_connect(struct check_run *run, const struct cfg_addr *to,
                         int port, unsigned tmo, bufferevent_data_cb rd,
                         bufferevent_data_cb wr, bufferevent_event_cb ev);

/* Makes the socket and bufferevent of <run>'s check, bound to its
 * server's source address if it has one. RC_OK, or RC_ERR (errno set)
 * without a socket: a check from another address would prove nothing. */
static int check_socket(struct check_run *run, int family)
{
    const struct cfg_addr *from = server_source(run->srv);
    int fd = -1;

    if (from != NULL) {
        fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return RC_ERR;
        if (conn_bind_source(fd, (const struct sockaddr *)&from->ss,
                             from->len) != RC_OK) {
            int e = errno;

            close(fd);
            errno = e;
            return RC_ERR;
        }
    }
    run->bev = bufferevent_socket_new(worker_loop(), fd, BEV_OPT_CLOSE_ON_FREE);
    if (run->bev == NULL) {
        if (fd >= 0)
            close(fd);
        return RC_ERR;
    }
    return RC_OK;
}

/* Opens the check connection of <run> to its server (its "addr" if set),
 * on <port> if not 0 (else the server's "port" setting, else its own
 * port), with the callbacks of the check type. RC_OK, or RC_ERR when no
 * connection could be started. */
static int check_open(struct check_run *run, int port, bufferevent_data_cb rd,
                      bufferevent_data_cb wr, bufferevent_event_cb ev)
{
    struct server *srv = run->srv;
    const struct cfg_addr *to =
        srv->check_addr.family != 0 ? &srv->check_addr : &srv->addr;
    unsigned tmo =
        srv->px->timeouts.check ? srv->px->timeouts.check : srv->inter;

    if (port == 0)
        port = srv->check_port;
    if (port == 0 && to != &srv->addr) /* "addr" keeps the server's port */
        port = ntohs(srv->addr.ss.ss_family == AF_INET6
                         ? ((struct sockaddr_in6 *)&srv->addr.ss)->sin6_port
                         : ((struct sockaddr_in *)&srv->addr.ss)->sin_port);
    return check_connect(run, to, port, tmo, rd, wr, ev);
}

/* Opens a connection of <run> to <to>, on <port> unless 0, bounded by
 * <tmo> ms of inactivity, with these callbacks. RC_OK, or RC_ERR when none
 * could be started. */
static int check_connect(struct check_run *run, const struct cfg_addr *to,
                         int port, unsigned tmo, bufferevent_data_cb rd,
                         bufferevent_data_cb wr, bufferevent_event_cb ev)
{
    struct sockaddr_storage ss = to->ss;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

    if (port != 0 && ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else if (port != 0 && ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    if (check_socket(run, ss.ss_family) != RC_OK)
        return RC_ERR;
    bufferevent_setcb(run->bev, rd, wr, ev, run);
    bufferevent_set_timeouts(run->bev, &tv, &tv);
    bufferevent_enable(run->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(run->bev, (struct sockaddr *)&ss,
                                   (int)to->len) < 0)
        return RC_ERR;
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* Running a tcp-check sequence                                      */
/* ---------------------------------------------------------------- */

void check_quote_info(char *out, size_t cap, const char *s, size_t len)
{
    size_t n = strlen(out), i;

    for (i = 0; i < len && n + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch >= 0x7f || ch == '"')
            n += (size_t)snprintf(out + n, cap - n, "\\x%02X", ch);
        else
            out[n++] = (char)ch;
    }
    out[n] = '\0';
}

/* Describes where the sequence of <run> stands, as HAProxy does after an
 * error: " at step N of tcp-check (expect string 'X')". */
static void tcpchk_where(const struct check_run *run, char *out, size_t cap)
{
    const struct tcpchk_rule *r = run->cur;
    size_t n;

    if (r == NULL) {
        snprintf(out, cap, " at initial connection step of tcp-check");
        return;
    }
    n = (size_t)snprintf(out, cap, " at step %d of tcp-check", r->step);
    if (r->act == TCPCHK_CONNECT && r->port)
        snprintf(out + n, cap - n, " (connect port %d)", r->port);
    else if (r->act == TCPCHK_CONNECT)
        snprintf(out + n, cap - n, " (connect)");
    else if (r->act == TCPCHK_SEND)
        snprintf(out + n, cap - n, " (send)");
    else if (r->match == TCPCHK_RSTRING)
        snprintf(out + n, cap - n, " (expect regex)");
    else
        snprintf(out + n, cap - n, " (expect %s '%s')",
                 r->match == TCPCHK_STRING ? "string" : "binary", r->text);
    if (r->comment != NULL) {
        n = strlen(out);
        snprintf(out + n, cap - n, " comment: '%s'", r->comment);
    }
}

/* Ends the check of <run> on a connection error or timeout <what>. */
static void tcpchk_conn_fail(struct check_run *run, short what)
{
    char where[320], info[384], why[512];
    int err = EVUTIL_SOCKET_ERROR();

    /* HAProxy names the step of the sequences written in the
     * configuration only */
    if (run->srv->px->chk->type == CHECK_TYPE_PROTO)
        where[0] = '\0';
    else
        tcpchk_where(run, where, sizeof(where));
    info[0] = '\0';
    if (what & BEV_EVENT_TIMEOUT)
        snprintf(info, sizeof(info), "%s", where);
    else
        snprintf(info, sizeof(info), "%s%s",
                 strerror(err              ? err
                          : run->connected ? ECONNRESET
                                           : ECONNREFUSED),
                 where);
    snprintf(why, sizeof(why), info[0] ? "%s, info: \"" : "%s",
             !run->connected
                 ? ((what & BEV_EVENT_TIMEOUT) ? "Layer4 timeout"
                                               : "Layer4 connection problem")
             : (what & BEV_EVENT_TIMEOUT) ? "Layer7 timeout"
                                          : "Socket error");
    if (info[0] != '\0') {
        check_quote_info(why, sizeof(why) - 1, info, strlen(info));
        strncat(why, "\"", sizeof(why) - strlen(why) - 1);
    }
    check_result(run, 0, why);
}

/* Ends the check of <run> on the expect rule <r> that failed, <match>
 * telling whether the pattern was found (negated rules fail then). */
static void tcpchk_expect_fail(struct check_run *run,
                               const struct tcpchk_rule *r, int match,
                               int empty)
{
    char info[384], why[512];
    size_t n;

    if (empty)
        n = (size_t)snprintf(info, sizeof(info),
                             "TCPCHK got an empty response at step %d",
                             r->step);
    else if (r->match == TCPCHK_STRING)
        n = (size_t)snprintf(info, sizeof(info), "TCPCHK %s '%s' at step %d",
                             match ? "matched unwanted content"
                                   : "did not match content",
                             r->text, r->step);
    else
        n = (size_t)snprintf(
            info, sizeof(info), "TCPCHK %s (%s) at step %d",
            match ? "matched unwanted content" : "did not match content",
            r->match == TCPCHK_BINARY ? "binary" : "regex", r->step);
    if (r->comment != NULL && n < sizeof(info))
        snprintf(info + n, sizeof(info) - n,
                 empty ? " comment: '%s'" : " comment: %s", r->comment);
    snprintf(why, sizeof(why), "Layer7 invalid response, info: \"");
    check_quote_info(why, sizeof(why) - 1, info, strlen(info));
    strncat(why, "\"", sizeof(why) - strlen(why) - 1);
    check_result(run, 0, why);
}

/* Evaluates the protocol verdict of <r> on the <len> bytes at <p>, as
 * tcpchk_expect does. */
static int tcpchk_custom(struct check_run *run, const struct tcpchk_rule *r,
                         const char *p, size_t len, int last)
{
    char why[sizeof(run->why)];
    int rc;

    if (len == 0) /* nothing to judge yet (and <p> is NULL) */
        return RC_AGAIN;
    rc = r->verdict(p, len, last, why, sizeof(why));
    if (rc == RC_AGAIN)
        return RC_AGAIN;
    if (rc == RC_OK) {
        memcpy(run->why, why, sizeof(why));
        return RC_OK;
    }
    check_result(run, 0, why);
    return RC_ERR;
}

/* Evaluates the expect rule <r> on what the server sent since the last
 * send: RC_OK when it passes, RC_AGAIN to wait for more, RC_ERR when it
 * failed (the result is recorded). */
static int tcpchk_expect(struct check_run *run, const struct tcpchk_rule *r)
{
    size_t len = evbuffer_get_length(run->resp);
    const char *p = (const char *)evbuffer_pullup(run->resp, -1);
    int last = run->eof || len >= CHECK_MAX_RESPONSE, match;

    if (!last && r->match != TCPCHK_RSTRING && len < r->len)
        return RC_AGAIN;
    if (!last && r->min_recv > 0 && len < (size_t)r->min_recv)
        return RC_AGAIN;
    if (len == 0 && last) {
        tcpchk_expect_fail(run, r, 0, 1);
        return RC_ERR;
    }
    if (r->match == TCPCHK_CUSTOM)
        return tcpchk_custom(run, r, p, len, last);
    if (r->match == TCPCHK_RSTRING)
        match = len > 0 && sample_regex_match(r->re, p, len);
    else
        match = len >= r->len && memmem(p, len, r->data, r->len) != NULL;
    if (!match && !last && r->min_recv < 0)
        return RC_AGAIN;
    if (match ^ r->negate)
        return RC_OK;
    tcpchk_expect_fail(run, r, match, 0);
    return RC_ERR;
}

/* The sequence of <run> ended well: HAProxy's words for its last step. */
static void tcpchk_pass(struct check_run *run)
{
    const struct tcpchk_rule *r = run->cur;

    if (run->srv->px->chk->type == CHECK_TYPE_PROTO && run->why[0] != '\0')
        check_result(run, 1, run->why);
    else if (r == NULL)
        check_result(run, 1, "Layer4 check passed");
    else if (r->act == TCPCHK_CONNECT)
        check_result(run, 1, "Layer4 check passed, info: \"(tcp-check)\"");
    else
        check_result(run, 1,
                     "Layer7 check passed, code: 0, info: \"(tcp-check)\"");
}

static void tcpchk_connect(struct check_run *run, const struct tcpchk_rule *r);

/* Runs the steps of <run> from run->resume until one must wait for the
 * network or the sequence ends. */
static void tcpchk_go(struct check_run *run)
{
    const struct tcpchk_rule *r;

    for (r = run->resume; r != NULL; r = r->next) {
        run->cur = r;
        if (r->act == TCPCHK_CONNECT) {
            run->resume = r->next;
            tcpchk_connect(run, r);
            return;
        }
        if (r->act == TCPCHK_SEND) {
            /* an expect judges the answer to the last send only */
            evbuffer_drain(run->resp, evbuffer_get_length(run->resp));
            bufferevent_write(run->bev, r->data, r->len);
            continue;
        }
        switch (tcpchk_expect(run, r)) {
        case RC_OK:
            continue;
        case RC_AGAIN:
            run->resume = r->head;
            return;
        default:
            return;
        }
    }
    /* the last bytes sent leave before the connection closes */
    run->resume = NULL;
    run->finishing = 1;
    if (evbuffer_get_length(bufferevent_get_output(run->bev)) == 0)
        tcpchk_pass(run);
}

/* Server bytes of a tcp-check. */
static void tcpchk_read_cb(struct bufferevent *bev, void *arg)
{
    struct check_run *run = arg;

    evbuffer_add_buffer(run->resp, bufferevent_get_input(bev));
    if (!run->finishing && run->connected)
        tcpchk_go(run);
}

/* The output of a tcp-check drained: a finished sequence passes now. */
static void tcpchk_write_cb(struct bufferevent *bev, void *arg)
{
    struct check_run *run = arg;

    if (run->finishing)
        tcpchk_pass(run);
}

/* Connection events of a tcp-check. */
static void tcpchk_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct check_run *run = arg;

    if (what & BEV_EVENT_CONNECTED) {
        run->connected = 1;
        tcpchk_go(run);
        return;
    }
    if (run->finishing) {
        tcpchk_pass(run); /* the server closed first: all was said */
        return;
    }
    /* a reset right after the last bytes still lets them be judged */
    if (run->connected && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) &&
        ((what & BEV_EVENT_EOF) || evbuffer_get_length(run->resp) > 0) &&
        run->cur != NULL && run->cur->act == TCPCHK_EXPECT) {
        run->eof = 1;
        tcpchk_go(run);
        return;
    }
    tcpchk_conn_fail(run, what);
}

/* Opens the connection of the connect step <r> (NULL: the implicit one
 * before a sequence that does not start with a connect). */
static void tcpchk_connect(struct check_run *run, const struct tcpchk_rule *r)
{
    run->cur = r;
    run->connected = 0;
    run->eof = 0;
    evbuffer_drain(run->resp, evbuffer_get_length(run->resp));
    if (run->bev != NULL) {
        bufferevent_free(run->bev);
        run->bev = NULL;
    }
    if (check_open(run, r ? r->port : 0, tcpchk_read_cb, tcpchk_write_cb,
                   tcpchk_event_cb) != RC_OK)
        tcpchk_conn_fail(run, BEV_EVENT_ERROR);
}

/* Starts the tcp-check sequence of <run>'s backend. */
static void tcpchk_start(struct check_run *run)
{
    const struct px_check *c = run->srv->px->chk;
    const struct tcpchk_rule *first =
        c->type == CHECK_TYPE_PROTO ? c->proto_rules : c->tcp_rules;

    run->finishing = 0;
    run->why[0] = '\0';
    if (first != NULL && first->act == TCPCHK_CONNECT) {
        run->resume = first;
        tcpchk_go(run);
        return;
    }
    run->resume = first;
    tcpchk_connect(run, NULL);
}

/* Starts one check of <run>'s server. */
static void check_begin(evutil_socket_t fd, short what, void *arg)
{
    struct check_run *run = arg;
    const struct px_check *c = run->srv->px->chk;

    if (run->srv->addr.family == AF_UNSPEC || run->srv->health->paused) {
        /* init-addr none: nothing to check until Lua gives an address */
        check_schedule(run);
        return;
    }
    gettimeofday(&run->start, NULL);
    if (c != NULL && c->type != CHECK_TYPE_HTTP) {
        tcpchk_start(run);
        return;
    }
    if (check_open(run, 0, check_read_cb, NULL, check_event_cb) != RC_OK)
        check_result(run, 0,
                     "Layer4 connection problem, info: \"Connection "
                     "refused\"");
}

/* ---------------------------------------------------------------- */
/* Agent checks ("agent-check")                                      */
/* ---------------------------------------------------------------- */

#define AGENT_MAX_REPLY 1024

/* What one line of an agent asks for (-1 or NULL: nothing). */
struct agent_reply {
    int weight;        /* percent of the configured weight */
    int maxconn;       /* "maxconn:N" */
    int admin;         /* enum server_admin: ready, drain, maint */
    const char *state; /* up, down, stopped or fail */
    const char *desc;  /* after '#' */
};

/* Reads one word <w> of an agent's line into <r>; RC_ERR if unknown (it
 * is ignored, as HAProxy does). */
static int agent_word(const char *w, struct agent_reply *r)
{
    static const char *const admin[] = {"ready", "drain", "maint", NULL};
    static const char *const state[] = {"up", "down", "stopped", "fail", NULL};
    size_t n = strlen(w), i;
    char *end;
    long v;

    for (i = 0; admin[i] != NULL; i++)
        if (strcmp(w, admin[i]) == 0)
            return r->admin = (int)i, RC_OK;
    for (i = 0; state[i] != NULL; i++)
        if (strcmp(w, state[i]) == 0)
            return r->state = state[i], RC_OK;
    if (n > 1 && w[n - 1] == '%') {
        v = strtol(w, &end, 10);
        if (end != w + n - 1 || v < 0 || w[0] == '-')
            return RC_ERR;
        r->weight = v > 25600 ? 25600 : (int)v;
        return RC_OK;
    }
    if (strncmp(w, "maxconn:", 8) == 0) {
        v = strtol(w + 8, &end, 10);
        if (end == w + 8 || *end != '\0' || v < 0 || v > 1000000)
            return RC_ERR;
        r->maxconn = (int)v;
        return RC_OK;
    }
    return RC_ERR;
}

/* Reads the agent's <line> (words separated by spaces, tabs or commas, a
 * word starting with '#' begins the description) into <r>. */
static void agent_parse(char *line, struct agent_reply *r)
{
    char *p = line, *end;
    int last;

    r->weight = r->maxconn = r->admin = -1;
    r->state = r->desc = NULL;
    for (;;) {
        p += strspn(p, " \t,");
        if (*p == '\0')
            return;
        if (*p == '#') {
            r->desc = p + 1 + strspn(p + 1, " \t");
            return;
        }
        end = p + strcspn(p, " \t,");
        last = *end == '\0';
        *end = '\0';
        agent_word(p, r);
        if (last)
            return;
        p = end + 1;
    }
}

/* Every worker: applies the weight and maxconn the agent of <srv> last
 * gave, once. */
static void agent_follow(struct server *srv)
{
    const struct server_health *h = srv->health;

    if (srv->agent_seen == h->agent_seq)
        return;
    srv->agent_seen = h->agent_seq;
    if (h->agent_weight >= 0)
        server_set_weight(srv, h->agent_weight);
    if (h->agent_maxconn >= 0)
        srv->maxconn = h->agent_maxconn;
}

/* The checking worker: does what the agent of <run> said, <ms> after it
 * was asked. */
static void agent_apply(struct check_run *run, const struct agent_reply *r,
                        long ms)
{
    struct server *srv = run->srv;
    struct server_health *h = srv->health;
    enum server_admin now = srv->disabled ? SERVER_MAINT
                            : srv->drain  ? SERVER_DRAIN
                                          : SERVER_READY;
    int was_up = server_up(srv), w;
    char reason[512];

    if (r->weight >= 0 || r->maxconn >= 0) {
        w = srv->iweight * r->weight / 100;
        if (r->weight >= 0)
            h->agent_weight = w > 256 ? 256 : w;
        if (r->maxconn >= 0)
            h->agent_maxconn = r->maxconn;
        h->agent_seq++;
        agent_follow(srv);
    }
    if (r->admin >= 0 && (enum server_admin)r->admin != now)
        server_set_admin_shared(srv, (enum server_admin)r->admin);
    if (r->state == NULL || (strcmp(r->state, "up") != 0) == h->agent_down)
        return;
    h->agent_down = !h->agent_down;
    snprintf(reason, sizeof(reason),
             "Layer7 %s, code: 0, info: \"via agent : %s%s%s%s\"",
             h->agent_down ? "wrong status" : "check passed", r->state,
             r->desc ? " (" : "", r->desc ? r->desc : "", r->desc ? ")" : "");
    check_changed(run, was_up, reason, ms);
}

/* Ends the exchange of the agent of <run> and arms the next. */
static void agent_done(struct check_run *run)
{
    unsigned ms = check_spread(run->srv->agent_inter);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (run->bev != NULL) {
        bufferevent_free(run->bev);
        run->bev = NULL;
    }
    evbuffer_drain(run->resp, evbuffer_get_length(run->resp));
    evtimer_add(run->timer, &tv);
}

/* The agent of <run> sent its line (or closed after a part of it). */
static void agent_reply(struct check_run *run)
{
    char line[AGENT_MAX_REPLY + 1];
    ev_ssize_t n = evbuffer_copyout(run->resp, line, AGENT_MAX_REPLY);
    struct agent_reply r;
    struct timeval now;

    line[n > 0 ? n : 0] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    gettimeofday(&now, NULL);
    agent_parse(line, &r);
    agent_apply(run, &r,
                (now.tv_sec - run->start.tv_sec) * 1000 +
                    (now.tv_usec - run->start.tv_usec) / 1000);
    agent_done(run);
}

static void agent_read_cb(struct bufferevent *bev, void *arg)
{
    struct check_run *run = arg;
    struct evbuffer_ptr eol;
    size_t n;

    evbuffer_add_buffer(run->resp, bufferevent_get_input(bev));
    eol = evbuffer_search_eol(run->resp, NULL, &n, EVBUFFER_EOL_ANY);
    if (eol.pos >= 0 || evbuffer_get_length(run->resp) >= AGENT_MAX_REPLY)
        agent_reply(run);
}

/* Connection events of an agent check: a failure changes nothing. */
static void agent_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct check_run *run = arg;
    const char *send = run->srv->agent_send;

    if (what & BEV_EVENT_CONNECTED) {
        if (send != NULL)
            bufferevent_write(bev, send, strlen(send));
        return;
    }
    if ((what & BEV_EVENT_EOF) && evbuffer_get_length(run->resp) > 0)
        agent_reply(run);
    else
        agent_done(run);
}

/* The agent's turn: connects to its address ("agent-addr", else the
 * checks') on "agent-port". */
static void agent_begin(evutil_socket_t fd, short what, void *arg)
{
    struct check_run *run = arg;
    struct server *srv = run->srv;
    const struct cfg_addr *to = srv->agent_addr.family != 0   ? &srv->agent_addr
                                : srv->check_addr.family != 0 ? &srv->check_addr
                                                              : &srv->addr;
    unsigned tmo =
        srv->px->timeouts.check ? srv->px->timeouts.check : srv->agent_inter;

    gettimeofday(&run->start, NULL);
    if (to->family == AF_UNSPEC || srv->health->agent_paused ||
        check_connect(run, to, srv->agent_port, tmo, agent_read_cb, NULL,
                      agent_event_cb) != RC_OK)
        agent_done(run);
}

/* A new check state for <srv> whose timer runs <fn>, due soon. */
static struct check_run *run_new(struct server *srv, event_callback_fn fn)
{
    struct check_run *run = xcalloc(1, sizeof(*run));
    struct timeval tv = {0, 1000};

    run->srv = srv;
    run->resp = evbuffer_new();
    run->timer = evtimer_new(worker_loop(), fn, run);
    evtimer_add(run->timer, &tv);
    return run;
}

/* Starts the checks and the agent of <srv>, in the checking worker. */
static void start_one(struct server *srv, void *arg)
{
    if (srv->check)
        srv->run = run_new(srv, check_begin);
    if (srv->agent)
        srv->agent_run = run_new(srv, agent_begin);
}

/* A transition of <srv> this worker had not seen: on-marked-down ends its
 * streams here, on-marked-up those of the backend's backup servers. */
static void check_follow_change(struct server *srv)
{
    struct server *b;

    srv->seen_changes = srv->health->changes;
    srv->last_change = time(NULL);
    if (!server_up(srv) && srv->on_marked_down)
        server_kill_streams(srv, 'D');
    if (server_up(srv) && srv->on_marked_up && !srv->backup)
        for (b = srv->px->servers; b != NULL; b = b->next)
            if (b->backup)
                server_kill_streams(b, 'U');
}

/* Brings this worker in line with the shared state of <cfg>'s servers:
 * NOLB flags (disable-on-404, forced ones) and slowstart ramps into the
 * weights, transitions into the streams; the checking worker applies
 * "on-error" to errors any worker observed. */
static void check_poll(evutil_socket_t fd, short what, void *arg)
{
    struct cfg *cfg = arg;
    struct proxy *px;
    struct server *srv;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (srv = px->servers; srv != NULL; srv = srv->next) {
            if (srv->health == NULL)
                continue;
            check_sync_weight(srv);
            if (srv->seen_changes != srv->health->changes)
                check_follow_change(srv);
            if (srv->agent)
                agent_follow(srv);
            if (srv->run != NULL && srv->observe != SRV_OBSERVE_NONE)
                check_obs_limit(srv->run);
        }
}

/* Arms the poll of this worker if a server of <cfg> needs it (the
 * checking worker also applies its changes at once; it polls too, for
 * the state a respawned one inherits). */
static void check_poll_start(struct cfg *cfg)
{
    static struct event *poll;
    const struct timeval tv = {0, CHECK_POLL_MS * 1000};
    struct proxy *px;
    struct server *srv = NULL;

    for (px = cfg->proxies; px != NULL && srv == NULL; px = px->next)
        for (srv = px->servers; srv != NULL; srv = srv->next)
            if (srv->health != NULL)
                break;
    if (srv == NULL || poll != NULL)
        return;
    poll = event_new(worker_loop(), -1, EV_PERSIST, check_poll, cfg);
    if (poll != NULL)
        event_add(poll, &tv);
}

int check_start(struct cfg *cfg)
{
    if (worker_id() == 1)
        each_own_health(cfg, start_one, NULL);
    check_poll_start(cfg);
    return RC_OK;
}
