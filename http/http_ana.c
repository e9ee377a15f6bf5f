/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The HTTP/1 transaction state machine. http_process() runs the current
 * step until one must wait; each step returns RC_OK (moved on: run the next
 * step), RC_AGAIN (wait for an event: bytes, a timer, a wake from a rule or
 * an applet) or RC_DONE (the transaction is over and freed). Because a step
 * only moves forward once it is complete, a stream woken later resumes
 * exactly where it stopped. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/conn.h"
#include "core/cfg.h"
#include "core/check.h"
#include "core/errors.h"
#include "core/filter.h"
#include "core/lb.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/stick_act.h"
#include "core/stick_rules.h"
#include "core/stream.h"
#include "core/stream_timer.h"
#include "core/unique_id.h"
#include "core/worker.h"
#include "http/http.h"
#include "http/http_ana.h"
#include "http/http_conn.h"

/* Forwarding stops reading a side whose peer holds this much unsent. */
#define FWD_HIGH_WATER HTTP_FWD_WINDOW

static void http_process(struct stream *s);
static void srv_release(struct http_txn *txn);
static void res_head_send(struct http_txn *txn);
static int res_bodyless(const struct http_txn *txn);
static void txn_env(struct http_txn *txn, struct smp_env *env, int dir);
static int http_applet_send(struct stream *s, const char *data, size_t len);

static int http_stream_status(const struct stream *s);
static void http_kill(struct stream *s, char cause);
static struct conn *http_stream_srv_conn(const struct stream *s);

static const struct stream_ops http_stream_ops = {
    .name = "http",
    .process = http_process,
    .applet_send = http_applet_send,
    .status = http_stream_status,
    .srv_conn = http_stream_srv_conn,
    .kill = http_kill,
};

/* The status_op of HTTP streams: the status sent to the client (%ST). */
static int http_stream_status(const struct stream *s)
{
    const struct http_txn *txn = s->proto;

    return txn->status;
}

/* The srv_conn op of HTTP streams. */
static struct conn *http_stream_srv_conn(const struct stream *s)
{
    const struct http_txn *txn = s->proto;

    return txn->srv;
}

struct http_txn *http_txn_get(struct stream *s)
{
    return s->ops == &http_stream_ops ? s->proto : NULL;
}

/* The client's output buffer. */
static struct evbuffer *cli_out(const struct http_txn *txn)
{
    return conn_output(txn->hc->sess->conn);
}

/* The client's input buffer. */
static struct evbuffer *cli_in(const struct http_txn *txn)
{
    return conn_input(txn->hc->sess->conn);
}

/* Limits of the head parser, from the generation's tuning. */
static void txn_limits(struct h1_limits *lim)
{
    const struct global *g = &worker_cfg()->global;

    lim->max_head = (size_t)(g->bufsize - g->maxrewrite);
    lim->max_hdrs = (unsigned)g->maxhdr;
}

int http_txn_new(struct http_conn *hc)
{
    struct stream *s = stream_new(hc->sess, &http_stream_ops);
    struct http_txn *txn;
    struct h1_limits lim;

    if (s == NULL)
        return RC_ERR;
    txn = pcalloc(s->pool, sizeof(*txn));
    if (txn == NULL ||
        (txn->parser = palloc(s->pool, sizeof(*txn->parser))) == NULL) {
        stream_free(s);
        return RC_ERR;
    }
    txn_limits(&lim);
    h1_msg_init(txn->parser, &lim);
    txn->s = s;
    txn->hc = hc;
    txn->state = HTTP_ST_WAIT_REQ;
    s->proto = txn;
    s->cur_rs = RULESET_HTTP_REQ;
    hc->cur = s;
    return RC_OK;
}

void http_txn_free(struct stream *s)
{
    struct http_txn *txn = s->proto;

    int i;

    s->times.total = stream_elapsed_ms(s);
    if (s->tmo[STREAM_TMO_CLIENT] != 0) { /* "set-timeout client": ours only */
        s->tmo[STREAM_TMO_CLIENT] = 0;
        stream_client_timeout_apply(s);
    }
    for (i = 0; i < 2 && (txn->flags & (TXN_F_REQ_FLT | TXN_F_RES_FLT)); i++) {
        if (txn->flt_in[i] != NULL)
            evbuffer_free(txn->flt_in[i]);
        if (txn->flt_out[i] != NULL)
            evbuffer_free(txn->flt_out[i]);
    }
    srv_release(txn);
    http_retry_free(txn);
    lb_release(s);
    lb_dequeue(s);
    if (txn->qtimer != NULL)
        event_free(txn->qtimer);
    if (txn->status >= 400 && txn->status < 500)
        stick_count_http_err(s);
    stream_free(s);
}

void http_txn_term(struct stream *s, char cause)
{
    static const char steps[] = {
        [HTTP_ST_WAIT_REQ] = 'R',  [HTTP_ST_REQ_RULES] = 'R',
        [HTTP_ST_BE_RULES] = 'R',  [HTTP_ST_REQ_FLT] = 'R',
        [HTTP_ST_APPLET] = 'R',    [HTTP_ST_RES_FLT] = 'H',
        [HTTP_ST_CONNECT] = 'C',   [HTTP_ST_WAIT_RES] = 'H',
        [HTTP_ST_RES_RULES] = 'H', [HTTP_ST_FWD_RES] = 'D',
        [HTTP_ST_TUNNEL] = 'D',    [HTTP_ST_DONE] = 'L',
    };
    struct http_txn *txn = s->proto;

    if (s->term[0] != '-')
        return;
    s->term[0] = cause;
    s->term[1] = s->queue != NULL ? 'Q' : steps[txn->state];
}

/* Ends the transaction; returns RC_DONE. */
static int txn_finish(struct http_txn *txn)
{
    struct http_conn *hc = txn->hc;
    int close =
        (txn->flags & TXN_F_CLI_CLOSE) != 0 || !(txn->flags & TXN_F_REQ_DONE);

    http_txn_free(txn->s);
    http_conn_txn_done(hc, close);
    return RC_DONE;
}

/* Ends the transaction and the connection at once; returns RC_DONE. */
static int txn_abort(struct http_txn *txn)
{
    http_conn_abort(txn->hc);
    return RC_DONE;
}

/* ---------------------------------------------------------------- */
/* Editable messages                                                 */
/* ---------------------------------------------------------------- */

/* Appends the header <name>: <value> to <m> without copying them: the
 * caller keeps them alive as long as <m> holds them. */
static int msg_hdr_push(struct stream *s, struct http_msg *m, struct ist name,
                        struct ist value)
{
    if (m->nhdrs == m->cap) {
        unsigned cap = m->cap ? m->cap * 2 : 16;
        struct http_hdr *v = palloc(s->pool, cap * sizeof(*v));

        if (v == NULL)
            return RC_ERR;
        if (m->nhdrs > 0)
            memcpy(v, m->hdrs, m->nhdrs * sizeof(*v));
        m->hdrs = v;
        m->cap = cap;
    }
    m->hdrs[m->nhdrs].name = name;
    m->hdrs[m->nhdrs].value = value;
    m->nhdrs++;
    return RC_OK;
}

int http_hdr_add(struct stream *s, struct http_msg *m, struct ist name,
                 struct ist value)
{
    /* one block for both, each NUL-terminated */
    char *p = palloc(s->pool, name.len + value.len + 2);

    if (p == NULL)
        return RC_ERR;
    memcpy(p, name.ptr, name.len);
    p[name.len] = '\0';
    memcpy(p + name.len + 1, value.ptr, value.len);
    p[name.len + 1 + value.len] = '\0';
    return msg_hdr_push(s, m, (struct ist){p, name.len},
                        (struct ist){p + name.len + 1, value.len});
}

int http_hdr_del(struct http_msg *m, struct ist name)
{
    unsigned i, j = 0;
    int n = 0;

    for (i = 0; i < m->nhdrs; i++) {
        if (ist_ieq(m->hdrs[i].name, name)) {
            n++;
            continue;
        }
        m->hdrs[j++] = m->hdrs[i];
    }
    m->nhdrs = j;
    return n;
}

int http_hdr_find(const struct http_msg *m, struct ist name, unsigned start)
{
    unsigned i;

    for (i = start; i < m->nhdrs; i++)
        if (ist_ieq(m->hdrs[i].name, name))
            return (int)i;
    return -1;
}

int http_hdr_each_element(const struct http_msg *m, struct ist name,
                          int (*fn)(struct ist e, void *arg), void *arg)
{
    int h, rc;

    for (h = http_hdr_find(m, name, 0); h >= 0;
         h = http_hdr_find(m, name, (unsigned)h + 1)) {
        const char *p = m->hdrs[h].value.ptr;
        const char *end = p + m->hdrs[h].value.len;

        while (p < end) {
            const char *b, *e;

            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            b = p;
            while (p < end && *p != ',')
                p++;
            e = p;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (e > b && (rc = fn((struct ist){b, (size_t)(e - b)}, arg)) != 0)
                return rc;
        }
    }
    return 0;
}

/* Skips "scheme://authority" of an absolute-form target. */
static struct ist uri_origin_part(struct ist uri)
{
    const char *p = uri.ptr, *end = uri.ptr + uri.len;

    if (uri.len == 0 || uri.ptr[0] == '/' || uri.ptr[0] == '*')
        return uri;
    p = memchr(uri.ptr, ':', uri.len);
    if (p == NULL || end - p < 3 || p[1] != '/' || p[2] != '/')
        return uri;
    p += 3;
    while (p < end && *p != '/' && *p != '?')
        p++;
    return (struct ist){p, (size_t)(end - p)};
}

struct ist http_msg_path(const struct http_msg *m)
{
    struct ist u = uri_origin_part(m->uri);
    const char *q = memchr(u.ptr, '?', u.len);

    if (q != NULL)
        u.len = (size_t)(q - u.ptr);
    return u;
}

struct ist http_msg_query(const struct http_msg *m)
{
    struct ist u = uri_origin_part(m->uri);
    const char *q = memchr(u.ptr, '?', u.len);

    if (q == NULL)
        return (struct ist){u.ptr + u.len, 0};
    q++;
    return (struct ist){q, (size_t)(u.ptr + u.len - q)};
}

/* Fills the editable view <m> from the parser's result. */
static int msg_from_parser(struct stream *s, struct http_msg *m,
                           const struct h1_msg *p)
{
    unsigned i;

    m->meth = p->method;
    m->uri = p->uri;
    m->ver = p->version;
    m->status = p->status;
    m->reason = p->reason;
    m->h1flags = p->flags;
    m->body_kind = h1_msg_body_kind(p);
    m->body_len = p->body_len;
    m->cap = p->nb_hdrs + 8;
    m->nhdrs = p->nb_hdrs;
    m->hdrs = palloc(s->pool, m->cap * sizeof(*m->hdrs));
    if (m->hdrs == NULL)
        return RC_ERR;
    for (i = 0; i < p->nb_hdrs; i++) {
        m->hdrs[i].name = p->hdrs[i].name;
        m->hdrs[i].value = p->hdrs[i].value;
    }
    return RC_OK;
}

/* Returns 1 if header <name> is hop-by-hop for message <m>. */
static int hdr_hop_by_hop(const struct http_msg *m, struct ist name)
{
    static const struct ist hop[] = {
        IST("connection"),        IST("keep-alive"),
        IST("proxy-connection"),  IST("te"),
        IST("upgrade"),           IST("trailer"),
        IST("transfer-encoding"),
    };
    size_t i;
    int c;

    for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (ist_ieq(name, hop[i]))
            return 1;
    for (c = http_hdr_find(m, IST("connection"), 0); c >= 0;
         c = http_hdr_find(m, IST("connection"), (unsigned)c + 1))
        if (h1_conn_has_token(m->hdrs[c].value, name))
            return 1;
    return 0;
}

/* Writes the header line "<name>: <value>" into <out>. */
static void hdr_line_write(struct evbuffer *out, struct ist name,
                           struct ist value)
{
    evbuffer_add(out, name.ptr, name.len);
    evbuffer_add(out, ": ", 2);
    evbuffer_add(out, value.ptr, value.len);
    evbuffer_add(out, "\r\n", 2);
}

/* Writes the end-to-end headers of <m> into <out>, but those named
 * <skip> (when not empty). */
static void msg_write_headers(const struct http_msg *m, struct evbuffer *out,
                              struct ist skip)
{
    unsigned i;

    for (i = 0; i < m->nhdrs; i++)
        if (!hdr_hop_by_hop(m, m->hdrs[i].name) &&
            (skip.len == 0 || !ist_ieq(m->hdrs[i].name, skip)))
            hdr_line_write(out, m->hdrs[i].name, m->hdrs[i].value);
}

/* ---------------------------------------------------------------- */
/* Replies                                                           */
/* ---------------------------------------------------------------- */

const char *http_status_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 421:
        return "Misdirected Request";
    case 425:
        return "Too Early";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 200   ? "Informational"
               : status < 300 ? "OK"
               : status < 400 ? "Redirection"
               : status < 500 ? "Client Error"
                              : "Server Error";
    }
}

/* The reason phrase of HAProxy's built-in error pages: three differ from
 * the usual ones. */
static const char *error_reason(int status)
{
    switch (status) {
    case 400:
        return "Bad request";
    case 408:
        return "Request Time-out";
    case 504:
        return "Gateway Time-out";
    default:
        return http_status_reason(status);
    }
}

/* HAProxy's built-in error page texts. */
static const char *error_text(int status)
{
    switch (status) {
    case 400:
        return "Your browser sent an invalid request.";
    case 401:
    case 407:
        return "You need a valid user and password to access this content.";
    case 403:
        return "Request forbidden by administrative rules.";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Your browser didn't send a complete request in time.";
    case 410:
        return "The resource is no longer available and will not be "
               "available again.";
    case 413:
        return "The request is too large.";
    case 414:
        return "The request URI is too long.";
    case 425:
        return "Your browser sent a request that was too early.";
    case 429:
        return "You have sent too many requests in a given amount of "
               "time.";
    case 431:
        return "The request header fields are too large.";
    case 500:
        return "An internal server error occurred.";
    case 501:
        return "The server does not support the functionality "
               "required to fulfill the request.";
    case 502:
        return "The server returned an invalid or incomplete "
               "response.";
    case 503:
        return "No server is available to handle this request.";
    case 504:
        return "The server didn't respond in time.";
    case 505:
        return "The HTTP version of the request is not supported.";
    default:
        return http_status_reason(status);
    }
}

int http_reply_begin(struct stream *s, int status, struct ist reason)
{
    struct http_txn *txn = s->proto;

    if (txn->flags & TXN_F_RES_STARTED)
        return RC_ERR;
    if (reason.len == 0)
        reason = ist_from(http_status_reason(status));
    txn->status = status;
    txn->flags |= TXN_F_RES_STARTED;
    txn->res.status = status;
    txn->res.reason = reason;
    txn->res.nhdrs = 0;
    txn->res.h1flags = 0;
    return RC_OK;
}

int http_reply_header(struct stream *s, struct ist name, struct ist value)
{
    struct http_txn *txn = s->proto;

    return msg_hdr_push(s, &txn->res, name, value);
}

/* Returns 1 if http-after-response rules apply to a reply now: not to
 * the answer to a request that could not be parsed (HAProxy's multiplexer
 * answers those before any HTTP analysis), nor after they failed once. */
static int reply_after_applies(const struct http_txn *txn)
{
    return txn->state != HTTP_ST_WAIT_REQ && !(txn->flags & TXN_F_NO_AFTER);
}

/* Runs the rules of the reply being built, as final (they cannot wait):
 * when a service makes it, the http-response rules, as HAProxy analyses
 * what an applet (a Lua service, a cache hit) answers like a server's
 * response; then the http-after-response rules; the backend's before
 * the frontend's. Returns the verdict, with the ruleset that gave it in
 * *<rs>. */
static enum act_ret reply_rules(struct http_txn *txn, enum ruleset *rs)
{
    static const enum ruleset sets[2] = {RULESET_HTTP_RES, RULESET_HTTP_AFTER};
    struct stream *s = txn->s;
    const struct proxy *pxs[2] = {s->be != s->fe ? s->be : NULL, s->fe};
    enum ruleset saved = s->cur_rs;
    enum act_ret ret = ACT_RET_CONT;
    struct smp_env env;
    int i, j, have_env = 0;

    for (j = txn->state == HTTP_ST_APPLET && !(txn->flags & TXN_F_ERR_REPLY)
                 ? 0
                 : 1;
         j < 2; j++) {
        if (sets[j] == RULESET_HTTP_AFTER && !reply_after_applies(txn))
            break;
        for (i = 0; i < 2; i++) {
            struct rule_cursor cursor = {NULL, 0};

            if (pxs[i] == NULL || pxs[i]->rules[sets[j]].first == NULL)
                continue;
            if (!have_env++) /* most replies meet no rule: no env then */
                txn_env(txn, &env, 1);
            *rs = s->cur_rs = sets[j];
            ret = rules_exec(&pxs[i]->rules[sets[j]], &cursor, s, &env,
                             ACT_FLAG_FINAL);
            if (ret != ACT_RET_CONT && ret != ACT_RET_STOP)
                goto out;
        }
    }
out:
    s->cur_rs = saved;
    return ret;
}

/* Writes the head of the reply in txn->res to the client, deciding
 * keep-alive and framing. */
static void reply_head_write(struct http_txn *txn)
{
    struct http_msg *m = &txn->res;
    struct evbuffer *out = cli_out(txn);
    int bodyless = m->status < 200 || m->status == 204 || m->status == 304;

    txn->status = m->status;
    if (worker_draining())
        txn->flags |= TXN_F_CLI_CLOSE;
    if (http_hdr_find(m, IST("content-length"), 0) < 0 && !bodyless) {
        if (txn->req.h1flags & H1_MF_VER_11)
            txn->flags |= TXN_F_RES_CHUNKED;
        else
            txn->flags |= TXN_F_CLI_CLOSE;
    }
    evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\n", m->status,
                        (int)m->reason.len, m->reason.ptr);
    msg_write_headers(m, out, (struct ist){NULL, 0});
    if (txn->flags & TXN_F_RES_CHUNKED)
        evbuffer_add(out, "transfer-encoding: chunked\r\n", 28);
    if (txn->flags & TXN_F_CLI_CLOSE)
        evbuffer_add(out, "connection: close\r\n", 19);
    evbuffer_add(out, "\r\n", 2);
    /* its slices point into the caller's memory, which goes away next */
    m->nhdrs = 0;
    m->reason = (struct ist){NULL, 0};
}

/* Builds a reply head and runs the http-after-response rules on it; on
 * failure, the client gets a plain 500 and the reply's body is dropped
 * (HAProxy's rule). */
int http_reply_headers_end(struct stream *s)
{
    struct http_txn *txn = s->proto;
    enum ruleset rs = RULESET_HTTP_AFTER;
    enum act_ret ret = reply_rules(txn, &rs);
    int after = rs == RULESET_HTTP_AFTER;

    if (ret != ACT_RET_CONT && ret != ACT_RET_STOP) {
        /* as after a server's response: a rule's refusal is a 502, a
         * failing http-after-response a plain 500 (and no more of them) */
        txn->flags |= (after ? TXN_F_NO_AFTER : 0) | TXN_F_ERR_REPLY;
        txn->flags &= ~TXN_F_RES_STARTED;
        http_txn_term(s, after || ret == ACT_RET_ERR ? 'I' : 'P');
        http_reply_error(s, after ? 500 : 502);
        txn->flags &= ~TXN_F_ERR_REPLY;
        return RC_OK;
    }
    reply_head_write(txn);
    return RC_OK;
}

int http_reply_body(struct stream *s, const char *data, size_t len)
{
    struct http_txn *txn = s->proto;
    struct evbuffer *out = cli_out(txn);

    if (txn->hc->cli_eof && evbuffer_get_length(out) > 0)
        return RC_ERR;
    if (evbuffer_get_length(out) > FWD_HIGH_WATER)
        return RC_AGAIN;
    if (len == 0 || (txn->flags & (TXN_F_HEAD | TXN_F_RES_DONE)))
        return RC_OK;
    if (txn->flags & TXN_F_RES_CHUNKED)
        evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, data, len);
    if (txn->flags & TXN_F_RES_CHUNKED)
        evbuffer_add(out, "\r\n", 2);
    return RC_OK;
}

int http_reply_end(struct stream *s)
{
    struct http_txn *txn = s->proto;

    if ((txn->flags & TXN_F_RES_CHUNKED) &&
        !(txn->flags & (TXN_F_HEAD | TXN_F_RES_DONE)))
        evbuffer_add(cli_out(txn), "0\r\n\r\n", 5);
    txn->flags |= TXN_F_RES_DONE;
    return RC_OK;
}

/* The "errorfile" for <status>: the backend's once chosen, else the
 * frontend's; NULL for the built-in page. */
static const struct errorfile *errorfile_find(const struct stream *s,
                                              int status)
{
    const struct proxy *pxs[2] = {s->be, s->fe};
    const struct errorfile *e;
    int i;

    for (i = 0; i < 2; i++)
        for (e = pxs[i] ? pxs[i]->errorfiles : NULL; e; e = e->next)
            if (e->status == status)
                return e;
    return NULL;
}

/* Sends the errorfile page <ef> as a reply: its head is parsed so that
 * the http-after-response rules see it; a page that does not parse goes
 * out as it is. */
static void reply_errorfile(struct http_txn *txn, const struct errorfile *ef,
                            struct ist xname, struct ist xvalue)
{
    struct stream *s = txn->s;
    struct h1_msg *p = palloc(s->pool, sizeof(*p));
    struct h1_limits lim;
    unsigned i;

    if (!ef->framed)
        txn->flags |= TXN_F_CLI_CLOSE;
    if (p != NULL) {
        txn_limits(&lim);
        h1_msg_init(p, &lim);
    }
    if (p == NULL || h1_parse_response(p, ef->raw, ef->len) != RC_OK) {
        txn->flags |= TXN_F_RES_STARTED | TXN_F_RES_DONE;
        evbuffer_add(cli_out(txn), ef->raw, ef->len);
        return;
    }
    http_reply_begin(s, p->status, p->reason);
    for (i = 0; i < p->nb_hdrs; i++)
        http_reply_header(s, p->hdrs[i].name, p->hdrs[i].value);
    if (xname.len > 0)
        http_reply_header(s, xname, xvalue);
    http_reply_headers_end(s);
    http_reply_body(s, ef->raw + p->head_len, ef->len - p->head_len);
    http_reply_end(s);
}

void http_early_hint(struct stream *s, struct ist name, struct ist value)
{
    struct http_txn *txn = s->proto;
    struct evbuffer *out = cli_out(txn);

    if (!(txn->req.h1flags & H1_MF_VER_11) || (txn->flags & TXN_F_RES_STARTED))
        return;
    evbuffer_add(out, "HTTP/1.1 103 Early Hints\r\n", 26);
    hdr_line_write(out, name, value);
    evbuffer_add(out, "\r\n", 2);
}

void http_reply_error(struct stream *s, int status)
{
    http_reply_error_hdr(s, status, (struct ist){NULL, 0},
                         (struct ist){NULL, 0});
}

void http_reply_error_hdr(struct stream *s, int status, struct ist xname,
                          struct ist xvalue)
{
    struct http_txn *txn = s->proto;
    const char *reason = error_reason(status);
    const struct errorfile *ef;
    char body[512], len[24];
    int n;

    if (txn->flags & TXN_F_RES_STARTED) {
        txn->flags |= TXN_F_CLI_CLOSE | TXN_F_RES_DONE;
        return;
    }
    if (status >= 500 || status == 400 || status == 408)
        txn->flags |= TXN_F_CLI_CLOSE;
    if ((ef = errorfile_find(s, status)) != NULL) {
        reply_errorfile(txn, ef, xname, xvalue);
        return;
    }
    if (status == 414 || status == 431 || status == 505 || status == 501)
        txn->flags |= TXN_F_CLI_CLOSE;
    n = snprintf(body, sizeof(body),
                 "<html><body><h1>%d %s</h1>\n%s\n</body></html>\n", status,
                 reason, error_text(status));
    snprintf(len, sizeof(len), "%d", n);
    http_reply_begin(s, status, ist_from(reason));
    http_reply_header(s, IST("content-length"), ist_from(len));
    http_reply_header(s, IST("cache-control"), IST("no-cache"));
    http_reply_header(s, IST("content-type"), IST("text/html"));
    if (xname.len > 0)
        http_reply_header(s, xname, xvalue);
    http_reply_headers_end(s);
    http_reply_body(s, body, (size_t)n);
    http_reply_end(s);
}

/* The applet's output path (stream_ops.applet_send). */
static int http_applet_send(struct stream *s, const char *data, size_t len)
{
    return http_reply_body(s, data, len);
}

/* ---------------------------------------------------------------- */
/* Request body                                                      */
/* ---------------------------------------------------------------- */

/* Moves the body bytes of a message framed as <kind> from <in> to <dst>:
 * the Content-Length bytes still due (*<left>), or whole chunks parsed
 * with <ck> (with <dechunk>, only their payload). Returns RC_DONE when the
 * message is complete, RC_OK, or RC_ERR on bad chunked framing. A
 * close-delimited body moves whole and ends with the connection. */
static int body_move(struct evbuffer *in, struct evbuffer *dst, int kind,
                     uint64_t *left, struct h1_chunked *ck, int dechunk)
{
    size_t avail = evbuffer_get_length(in);

    if (kind == H1_BODY_NONE)
        return RC_DONE;
    if (kind == H1_BODY_CLEN) {
        if (avail > *left)
            avail = (size_t)*left;
        evbuffer_remove_buffer(in, dst, avail);
        *left -= avail;
        return *left == 0 ? RC_DONE : RC_OK;
    }
    if (kind != H1_BODY_CHUNKED) {
        evbuffer_add_buffer(dst, in);
        return RC_OK;
    }
    while ((avail = evbuffer_get_length(in)) > 0) {
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)avail);
        size_t used, off, dlen;
        int rc = h1_chunked_parse(ck, p, avail, &used, &off, &dlen);

        if (rc == RC_ERR)
            return RC_ERR;
        if (dechunk) {
            evbuffer_add(dst, p + off, dlen);
            evbuffer_drain(in, used);
        } else {
            evbuffer_remove_buffer(in, dst, used);
        }
        if (rc == RC_OK)
            return RC_DONE;
        if (used == 0)
            break;
    }
    return RC_OK;
}

/* Moves request body bytes from the client to <dst> (the server output, or
 * the applet input with <dechunk>); sets TXN_F_REQ_DONE at the end.
 * RC_OK, or RC_ERR on bad chunked framing. */
static int req_body_move(struct http_txn *txn, struct evbuffer *dst,
                         int dechunk)
{
    int rc;

    if (txn->flags & TXN_F_REQ_DONE)
        return RC_OK;
    /* the filters have read the whole body; what follows is not ours */
    if (txn->flags & TXN_F_REQ_READ) {
        txn->flags |= TXN_F_REQ_DONE;
        return RC_OK;
    }
    rc = body_move(cli_in(txn), dst, txn->req.body_kind, &txn->req_left,
                   &txn->req_chunk, dechunk);
    if (rc == RC_DONE)
        txn->flags |= TXN_F_REQ_DONE;
    return rc == RC_ERR ? RC_ERR : RC_OK;
}

/* Appends <data> to <out>, as one chunk when <chunked>. */
static void chunk_put(struct evbuffer *out, struct evbuffer *data, int chunked)
{
    size_t n = evbuffer_get_length(data);

    if (n == 0)
        return;
    if (chunked)
        evbuffer_add_printf(out, "%zx\r\n", n);
    evbuffer_add_buffer(out, data);
    if (chunked)
        evbuffer_add(out, "\r\n", 2);
}

/* Sets up the filtering of the body of <dir>: the filters change its
 * length, so it goes out chunked (HTTP/1.1) or close-delimited; a
 * response whose filters only watch it keeps its Content-Length. */
static int body_filter_init(struct http_txn *txn, enum flt_dir dir)
{
    struct http_msg *m = dir == FLT_DIR_REQ ? &txn->req : &txn->res;

    /* the flag first: http_txn_free frees what was allocated */
    txn->flags |= dir == FLT_DIR_REQ ? TXN_F_REQ_FLT : TXN_F_RES_FLT;
    txn->flt_in[dir] = evbuffer_new();
    txn->flt_out[dir] = evbuffer_new();
    if (txn->flt_in[dir] == NULL || txn->flt_out[dir] == NULL)
        return RC_ERR;
    if (dir == FLT_DIR_REQ || m->body_kind != H1_BODY_CLEN ||
        !filters_keep_length(txn->s, dir))
        http_hdr_del(m, IST("content-length"));
    return RC_OK;
}

/* 1 when the filters of <dir> hold back more than a window of its body
 * (a filter waiting for the whole of it): reading that side pauses. */
static int flt_backlog(const struct http_txn *txn, enum flt_dir dir)
{
    return txn->flt_in[dir] != NULL &&
           evbuffer_get_length(txn->flt_in[dir]) + filters_held(txn->s, dir) >
               FWD_HIGH_WATER;
}

/* A filtered body on its way: framed bytes come from <in>, go without
 * their framing through the filters of <dir>, and out to <out> framed
 * again (as chunks with <chunked>). <eof>: a close-delimited body ended.
 * Returns RC_DONE once the body and the filters' last bytes are out,
 * RC_OK, RC_AGAIN while a filter waits, or RC_ERR. */
static int body_filter(struct http_txn *txn, enum flt_dir dir,
                       struct evbuffer *in, struct evbuffer *out, int chunked,
                       int eof)
{
    struct http_msg *m = dir == FLT_DIR_REQ ? &txn->req : &txn->res;
    unsigned read = dir == FLT_DIR_REQ ? TXN_F_REQ_READ : TXN_F_RES_READ;
    int rc = RC_DONE, frc;

    if (!(txn->flags & read)) {
        rc = body_move(in, txn->flt_in[dir], m->body_kind,
                       dir == FLT_DIR_REQ ? &txn->req_left : &txn->res_left,
                       dir == FLT_DIR_REQ ? &txn->req_chunk : &txn->res_chunk,
                       1);
        if (rc == RC_ERR)
            return RC_ERR;
        if (rc == RC_DONE || (m->body_kind == H1_BODY_CLOSE && eof))
            txn->flags |= read;
    }
    if (txn->flags & read)
        frc = filters_end(txn->s, dir, txn->flt_in[dir], txn->flt_out[dir]);
    else
        frc = filters_data(txn->s, dir, txn->flt_in[dir], txn->flt_out[dir]);
    chunk_put(out, txn->flt_out[dir], chunked);
    if (frc != RC_OK)
        return frc;
    if (!(txn->flags & read))
        return RC_OK;
    if (chunked)
        evbuffer_add(out, "0\r\n\r\n", 5);
    return RC_DONE;
}

int http_req_chunked_peek(struct http_txn *txn, char *dst, size_t *dlen)
{
    struct evbuffer *in = cli_in(txn);
    size_t avail = evbuffer_get_length(in), pos = 0, used, off, len;
    struct h1_chunked c = txn->req_chunk;
    const char *p;
    int rc = RC_AGAIN;

    *dlen = 0;
    if (avail == 0)
        return RC_AGAIN;
    p = (const char *)evbuffer_pullup(in, (ev_ssize_t)avail);
    while (pos < avail && rc == RC_AGAIN) {
        rc = h1_chunked_parse(&c, p + pos, avail - pos, &used, &off, &len);
        if (rc == RC_ERR)
            return RC_ERR;
        if (dst != NULL)
            memcpy(dst + *dlen, p + pos + off, len);
        *dlen += len;
        if (used == 0)
            break;
        pos += used;
    }
    return rc;
}

/* Reads the rest of the request body into nowhere (after a local answer).
 * RC_OK when done, RC_AGAIN, or RC_ERR. */
static int req_body_discard(struct http_txn *txn)
{
    struct evbuffer *sink;
    int rc;

    if (txn->flags & TXN_F_REQ_DONE)
        return RC_OK;
    sink = evbuffer_new();
    if (sink == NULL)
        return RC_ERR;
    rc = req_body_move(txn, sink, 1);
    evbuffer_free(sink);
    if (rc != RC_OK)
        return RC_ERR;
    return (txn->flags & TXN_F_REQ_DONE) ? RC_OK : RC_AGAIN;
}

/* ---------------------------------------------------------------- */
/* Steps                                                             */
/* ---------------------------------------------------------------- */

/* Sets up the transaction once the request head is complete. */
static int req_head_done(struct http_txn *txn, size_t head_len)
{
    struct stream *s = txn->s;
    struct http_msg *m = &txn->req;

    freq_ctr_inc(&s->fe->fe_req_rate); /* fe_req_rate */
    stick_count_http_req(s);
    txn->req_head = palloc(s->pool, head_len);
    if (txn->req_head == NULL)
        return RC_ERR;
    evbuffer_remove(cli_in(txn), txn->req_head, head_len);
    /* refill the slices over our copy: the parser allows it after RC_OK */
    h1_parse_request(txn->parser, txn->req_head, head_len);
    if (msg_from_parser(s, m, txn->parser) != RC_OK)
        return RC_ERR;
    if (m->body_kind == H1_BODY_CLEN)
        txn->req_left = m->body_len;
    else if (m->body_kind == H1_BODY_CHUNKED)
        h1_chunked_init(&txn->req_chunk);
    if (m->body_kind == H1_BODY_NONE ||
        (m->body_kind == H1_BODY_CLEN && m->body_len == 0))
        txn->flags |= TXN_F_REQ_DONE;
    if (ist_eq(m->meth, IST("HEAD")))
        txn->flags |= TXN_F_HEAD;
    if ((m->h1flags & H1_MF_CONN_UPGRADE) && (m->h1flags & H1_MF_VER_11) &&
        http_hdr_find(m, IST("upgrade"), 0) >= 0)
        txn->flags |= TXN_F_UPGRADE;
    if ((m->h1flags & H1_MF_CONN_CLOSE) ||
        (!(m->h1flags & H1_MF_VER_11) &&
         !(m->h1flags & H1_MF_CONN_KEEPALIVE)) ||
        (s->fe->options & PX_OPT_HTTPCLOSE))
        txn->flags |= TXN_F_CLI_CLOSE;
    return RC_OK;
}

/* HTTP_ST_WAIT_REQ: parse the request head as it arrives. */
static int step_wait_req(struct http_txn *txn)
{
    struct evbuffer *in = cli_in(txn);
    size_t len = evbuffer_get_length(in), n;
    const char *p;
    int rc;

    if (len == 0 && !txn->hc->cli_eof)
        return RC_AGAIN;
    if (len == 0) { /* gone before a byte: logged 400 CR, as HAProxy */
        txn->status = 400;
        http_txn_term(txn->s, 'C');
        return txn_abort(txn);
    }
    /* the frontend's filters attach with the first byte of a request, when
     * HAProxy makes its stream */
    if (txn->s->fe->filters != NULL && txn->s->flt == NULL &&
        filters_attach(txn->s, txn->s->fe) != RC_OK)
        return txn_abort(txn);
    n = len < txn->parser->max_head + 1 ? len : txn->parser->max_head + 1;
    p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    rc = h1_parse_request(txn->parser, p, n);
    if (rc == RC_AGAIN) {
        if (txn->hc->cli_eof)
            return txn_abort(txn);
        return RC_AGAIN;
    }
    http_conn_disarm_timer(txn->hc);
    if (rc == RC_ERR) {
        txn->flags |= TXN_F_CLI_CLOSE;
        http_txn_term(txn->s, 'P');
        http_reply_error(txn->s, txn->parser->err_status);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    if (req_head_done(txn, txn->parser->head_len) != RC_OK) {
        http_reply_error(txn->s, 500);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    txn->s->times.req = stream_elapsed_ms(txn->s);
    if (ist_eq(txn->req.meth, IST("CONNECT")))
        txn->flags |= TXN_F_CONNECT;
    txn->state = HTTP_ST_REQ_RULES;
    return RC_OK;
}

/* Turns a ruleset's final verdict into the next step. */
static int rules_verdict(struct http_txn *txn, enum act_ret ret, int next)
{
    switch (ret) {
    case ACT_RET_CONT:
    case ACT_RET_STOP:
        txn->state = next;
        return RC_OK;
    case ACT_RET_YIELD:
        return RC_AGAIN;
    case ACT_RET_DONE:
        http_txn_term(txn->s, 'L');
        break;
    case ACT_RET_DENY:
        http_txn_term(txn->s, 'P');
        http_reply_error(txn->s, txn->deny_status ? txn->deny_status : 403);
        break;
    case ACT_RET_ERR:
        http_txn_term(txn->s, 'I');
        http_reply_error(txn->s, 500);
        break;
    case ACT_RET_INV:
        http_txn_term(txn->s, 'P');
        http_reply_error(txn->s, 400);
        break;
    case ACT_RET_ABRT:
        return txn_abort(txn);
    }
    txn->state = HTTP_ST_DONE;
    return RC_OK;
}

/* The sample environment of a transaction on the request side. */
static void txn_env(struct http_txn *txn, struct smp_env *env, int dir)
{
    env->strm = txn->s;
    env->pool = txn->s->pool;
    env->avail = SMP_AVAIL_CONN | SMP_AVAIL_REQ | (dir ? SMP_AVAIL_RES : 0);
    env->dir = dir;
    env->opt = SMP_OPT_FINAL;
}

/* After the request rules: a service, or a backend. */
/* 1 if header name <n> has only letters, digits and hyphens. */
static int hdr_name_plain(struct ist n)
{
    size_t i;

    for (i = 0; i < n.len; i++)
        if (!isalnum((unsigned char)n.ptr[i]) && n.ptr[i] != '-')
            return 0;
    return 1;
}

/* "option http-restrict-req-hdr-names" of <px>: deletes the request
 * headers whose names have other characters, or returns 0 when <px>
 * rejects the request for them (403, as HAProxy). */
static int req_hdr_names_allowed(struct http_txn *txn, const struct proxy *px)
{
    struct http_msg *m = &txn->req;
    unsigned i, j;

    if (px->restrict_hdr_names == 0)
        return 1;
    for (i = j = 0; i < m->nhdrs; i++) {
        if (hdr_name_plain(m->hdrs[i].name)) {
            m->hdrs[j++] = m->hdrs[i];
            continue;
        }
        if (px->restrict_hdr_names == 2)
            return 0;
    }
    m->nhdrs = j;
    return 1;
}

/* Answers 403 for a request <px> refuses for its header names; RC_OK. */
static int req_hdr_names_refused(struct http_txn *txn)
{
    http_txn_term(txn->s, 'P');
    http_reply_error(txn->s, 403);
    txn->state = HTTP_ST_DONE;
    return RC_OK;
}

static int after_req_rules(struct http_txn *txn, int be_done)
{
    struct stream *s = txn->s;

    /* the statistics page of the proxy whose rules just ran */
    http_stats_select(s, be_done ? s->be : s->fe);
    if (s->svc.ops != NULL) {
        txn->state = HTTP_ST_APPLET;
        return RC_OK;
    }
    if (!be_done) {
        if (!req_hdr_names_allowed(txn, s->fe))
            return req_hdr_names_refused(txn);
        stream_set_backend(s, proxy_choose_backend(s));
        if (s->be == NULL) {
            txn->state = HTTP_ST_CONNECT;
            http_txn_term(s, 'S');
            http_reply_error(s, 503);
            txn->state = HTTP_ST_DONE;
            return RC_OK;
        }
        if (s->be != s->fe && s->be->filters != NULL &&
            filters_attach(s, s->be) != RC_OK) {
            http_txn_term(s, 'I');
            http_reply_error(s, 500);
            txn->state = HTTP_ST_DONE;
            return RC_OK;
        }
        if (s->be != s->fe && s->be->rules[RULESET_HTTP_REQ].first != NULL) {
            txn->state = HTTP_ST_BE_RULES;
            return RC_OK;
        }
        if (s->be != s->fe && http_stats_select(s, s->be)) {
            txn->state = HTTP_ST_APPLET;
            return RC_OK;
        }
    }
    /* a reverse proxy opens no tunnel for its clients unless the backend
     * says that its servers take CONNECT ("option http-connect") */
    if ((txn->flags & TXN_F_CONNECT) &&
        !(s->be->options & PX_OPT_HTTP_CONNECT)) {
        txn->flags |= TXN_F_CLI_CLOSE;
        http_txn_term(s, 'P');
        http_reply_error(s, 405);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    /* the backend's restriction, after its rules (the frontend's ran
     * before the backend was chosen, as in HAProxy) */
    if (s->be != s->fe && !req_hdr_names_allowed(txn, s->be))
        return req_hdr_names_refused(txn);
    if (http_cookie_request(txn) != RC_OK) {
        http_txn_term(s, 'I');
        http_reply_error(s, 500);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    txn->state = s->flt != NULL ? HTTP_ST_REQ_FLT : HTTP_ST_CONNECT;
    return RC_OK;
}

/* HTTP_ST_REQ_FLT and HTTP_ST_RES_FLT: the filters' on_headers hooks for
 * the message of <dir>; a filter that wants the body gets it. */
static int step_flt_headers(struct http_txn *txn, enum flt_dir dir)
{
    int rc = filters_headers(txn->s, dir);
    int body = dir == FLT_DIR_REQ ? !(txn->flags & TXN_F_REQ_DONE)
                                  : !res_bodyless(txn);

    if (rc == RC_AGAIN)
        return RC_AGAIN;
    if (rc == RC_OK && body && filters_want_data(txn->s, dir))
        rc = body_filter_init(txn, dir);
    if (rc != RC_OK) { /* as HAProxy: a bad request, or a bad response */
        http_txn_term(txn->s, 'I');
        http_reply_error(txn->s, dir == FLT_DIR_REQ ? 400 : 502);
        txn->flags |= TXN_F_CLI_CLOSE;
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    if (dir == FLT_DIR_REQ) {
        txn->state = HTTP_ST_CONNECT;
        return RC_OK;
    }
    res_head_send(txn);
    txn->state = HTTP_ST_FWD_RES;
    return RC_OK;
}

int http_req_body_waiting(struct http_txn *txn, size_t at_least)
{
    size_t have = evbuffer_get_length(cli_in(txn)), dlen = have;
    size_t room = (size_t)worker_cfg()->global.bufsize;

    if (txn->req.body_kind == H1_BODY_NONE || txn->hc->cli_eof || have >= room)
        return 0;
    if (txn->req.body_kind == H1_BODY_CLEN
            ? have >= txn->req_left
            : http_req_chunked_peek(txn, NULL, &dlen) != RC_AGAIN)
        return 0;
    if (at_least > 0 && dlen >= at_least)
        return 0;
    /* a client waiting for our go-ahead gets it, and the server no
     * question it would answer a second time */
    if (txn->req.h1flags & H1_MF_EXPECT_100) {
        txn->req.h1flags &= ~H1_MF_EXPECT_100;
        http_hdr_del(&txn->req, IST("expect"));
        evbuffer_add(cli_out(txn), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    conn_enable(txn->hc->sess->conn, CONN_RD);
    return 1;
}

/* "option http-buffer-request": before the frontend's rules, wait until
 * the request body is in (as far as one buffer holds it), so that rules
 * can look at it (req.body). Returns 1 while waiting. */
static int body_wait(struct http_txn *txn)
{
    return ((txn->s->fe->options | (txn->s->be ? txn->s->be->options : 0)) &
            PX_OPT_BUFFER_REQ) &&
           http_req_body_waiting(txn, 0);
}

/* One rule list of a step, and the ruleset its actions run as. */
struct rule_step {
    const struct proxy *px;
    enum ruleset rs;
};

/* Runs the lists of <steps> in order from txn->phase on, resumably: a list
 * that waits is resumed at its rule, and the lists before it are not run
 * again. Returns the first stopping verdict, or ACT_RET_CONT. */
static enum act_ret run_rule_steps(struct http_txn *txn,
                                   const struct rule_step *steps, int n,
                                   const struct smp_env *env)
{
    struct stream *s = txn->s;
    enum act_ret ret;

    for (; txn->phase < n; txn->phase++) {
        s->cur_rs = steps[txn->phase].rs;
        ret = rules_exec(&steps[txn->phase].px->rules[steps[txn->phase].rs],
                         &s->cursor, s, env, 0);
        if (ret == ACT_RET_YIELD)
            return ret;
        /* "allow"/"accept" (STOP) ends only its own list */
        if (ret != ACT_RET_CONT && ret != ACT_RET_STOP) {
            txn->phase = 0;
            return ret;
        }
    }
    txn->phase = 0;
    return ACT_RET_CONT;
}

/* HTTP_ST_REQ_RULES and HTTP_ST_BE_RULES: in a frontend, its
 * "tcp-request content" rules first (they run once the head is in, as
 * final), then its http-request rules. */
static int step_req_rules(struct http_txn *txn, int backend)
{
    struct stream *s = txn->s;
    struct rule_step steps[2];
    struct smp_env env;
    enum act_ret ret;
    int rc, n = 0;

    if (!backend && txn->phase == 0 && body_wait(txn))
        return RC_AGAIN;
    if (!backend && s->fe->rules[RULESET_TCP_CONT].first != NULL)
        steps[n++] = (struct rule_step){s->fe, RULESET_TCP_CONT};
    steps[n++] = (struct rule_step){backend ? s->be : s->fe, RULESET_HTTP_REQ};
    txn_env(txn, &env, 0);
    ret = run_rule_steps(txn, steps, n, &env);
    s->cur_rs = RULESET_HTTP_REQ;
    rc = rules_verdict(txn, ret, txn->state);
    if (rc != RC_OK || txn->state == HTTP_ST_DONE)
        return rc;
    return after_req_rules(txn, backend);
}

/* HTTP_ST_APPLET: run the service until it finishes. */
static int step_applet(struct http_txn *txn)
{
    struct stream *s = txn->s;
    int rc;

    if (req_body_move(txn, s->applet_in, 1) != RC_OK) {
        txn->flags |= TXN_F_CLI_CLOSE;
        http_reply_error(s, 400);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    if (txn->flags & TXN_F_REQ_DONE)
        s->applet_in_eof = 1;
    rc = s->svc.ops->io(s, s->svc.arg, &s->applet_ctx);
    if (rc == RC_AGAIN)
        return RC_AGAIN;
    http_txn_term(s, rc == RC_DONE ? 'L' : 'I');
    if (rc == RC_DONE && (txn->flags & TXN_F_RES_STARTED))
        http_reply_end(s);
    else
        http_reply_error(s, 500); /* closes if the response had started */
    txn->state = HTTP_ST_DONE;
    return RC_OK;
}

/* Server connection events. */
static void srv_event_cb(struct conn *conn, short what, void *arg)
{
    struct stream *s = arg;
    struct http_txn *txn = s->proto;

    if (what & CONN_CONNECTED) {
        unsigned tmo = stream_timeout(s, STREAM_TMO_SERVER);
        struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

        conn_set_timeouts(conn, tmo ? &tv : NULL, tmo ? &tv : NULL);
        s->times.connect = stream_elapsed_ms(s);
        check_observe(s->srv, CHECK_OBS_L4_OK);
        txn->state = HTTP_ST_WAIT_RES;
    } else if (what & CONN_TIMEOUT) {
        txn->flags |= TXN_F_SRV_TMO;
    } else if (what & CONN_EOF) {
        txn->flags |= TXN_F_SRV_EOF;
    } else {
        txn->flags |= TXN_F_SRV_ERR;
    }
    http_process(s);
}

/* Server bytes arrived or the server output drained. */
static void srv_io_cb(struct conn *conn, void *arg)
{
    http_process(arg);
}

/* Returns 1 if the server connection ends with each response ("option
 * http-server-close" or "option httpclose" on either proxy). */
static int srv_close_each(const struct http_txn *txn)
{
    unsigned o = txn->s->fe->options | txn->s->be->options;

    return (o & (PX_OPT_SRV_CLOSE | PX_OPT_HTTPCLOSE)) != 0;
}

/* Returns 1 if the request tells the server the connection closes after
 * it: a closing mode, unless "option http-pretend-keepalive" hides it
 * (for servers that stop chunking their answers when they see it). */
static int srv_tells_close(const struct http_txn *txn)
{
    unsigned o = txn->s->fe->options | txn->s->be->options;

    return srv_close_each(txn) && !(o & PX_OPT_PRETEND_KA);
}

/* Returns 1 if <addr> is in the "except" network of <f>. */
static int addr_hdr_excepted(const struct px_addr_hdr *f,
                             const union sess_addr *addr)
{
    const unsigned char *a;
    int bits = f->except_bits, i;

    if (f->except_family == 0 || addr->sa.sa_family != f->except_family)
        return 0;
    a = addr->sa.sa_family == AF_INET
            ? (const unsigned char *)&addr->in4.sin_addr
            : (const unsigned char *)&addr->in6.sin6_addr;
    for (i = 0; bits > 0; i++, bits -= 8) {
        unsigned char mask =
            bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));

        if ((a[i] & mask) != (f->except_addr[i] & mask))
            return 0;
    }
    return 1;
}

/* Adds the header of "option forwardfor" or "option originalto" (<fe>'s
 * and <be>'s settings of one of them; the backend's first) naming <addr>. */
static void addr_hdr_write(struct http_txn *txn, const struct px_addr_hdr *fe,
                           const struct px_addr_hdr *be,
                           const union sess_addr *addr, struct evbuffer *out)
{
    const struct px_addr_hdr *f = be->header != NULL ? be : fe;
    char ip[INET6_ADDRSTRLEN];
    const void *a;

    if (f->header == NULL || addr_hdr_excepted(f, addr) ||
        (f->if_none && http_hdr_find(&txn->req, ist_from(f->header), 0) >= 0))
        return;
    if (addr->sa.sa_family == AF_INET)
        a = &addr->in4.sin_addr;
    else if (addr->sa.sa_family == AF_INET6)
        a = &addr->in6.sin6_addr;
    else
        return;
    if (inet_ntop(addr->sa.sa_family, a, ip, sizeof(ip)) != NULL)
        evbuffer_add_printf(out, "%s: %s\r\n", f->header, ip);
}

/* Adds "unique-id-header" naming the stream's identifier, even empty. */
static void unique_id_write(struct http_txn *txn, struct evbuffer *out)
{
    const char *id;

    if (txn->s->fe->uid_header != NULL &&
        (id = stream_unique_id(txn->s)) != NULL)
        evbuffer_add_printf(out, "%s: %s\r\n", txn->s->fe->uid_header, id);
}

/* Writes "connection: upgrade" and the Upgrade header of <m>, which the
 * hop-by-hop filter removed, so that a protocol switch can pass. */
static void upgrade_write(const struct http_msg *m, struct evbuffer *out)
{
    int u = http_hdr_find(m, IST("upgrade"), 0);

    evbuffer_add(out, "connection: upgrade\r\n", 21);
    if (u >= 0)
        evbuffer_add_printf(out, "upgrade: %.*s\r\n", (int)m->hdrs[u].value.len,
                            m->hdrs[u].value.ptr);
}

/* Writes the request head for the server into its output. */
static void req_head_send(struct http_txn *txn)
{
    struct evbuffer *out = conn_output(txn->srv);
    const struct http_msg *m = &txn->req;
    const char *nh = txn->s->be->send_name_hdr;
    struct ist name_hdr = nh != NULL ? ist_from(nh) : (struct ist){NULL, 0};

    evbuffer_add(out, m->meth.ptr, m->meth.len);
    evbuffer_add(out, " ", 1);
    evbuffer_add(out, m->uri.ptr, m->uri.len);
    evbuffer_add(out, " ", 1);
    evbuffer_add(out, m->ver.ptr, m->ver.len);
    evbuffer_add(out, "\r\n", 2);
    msg_write_headers(m, out, name_hdr);
    /* http-send-name-header: the server's name replaces any such header */
    if (name_hdr.len > 0)
        hdr_line_write(out, name_hdr, ist_from(txn->s->srv->name));
    addr_hdr_write(txn, &txn->s->fe->fwdfor, &txn->s->be->fwdfor,
                   &txn->s->sess->src, out);
    addr_hdr_write(txn, &txn->s->fe->origto, &txn->s->be->origto,
                   &txn->s->sess->dst, out);
    unique_id_write(txn, out);
    if (m->body_kind == H1_BODY_CHUNKED || (txn->flags & TXN_F_REQ_FLT))
        evbuffer_add(out, "transfer-encoding: chunked\r\n", 28);
    if (txn->flags & TXN_F_UPGRADE)
        upgrade_write(m, out);
    else if (!(txn->flags & TXN_F_CONNECT) &&
             (txn->s->be->reuse == PX_REUSE_NEVER || srv_tells_close(txn)))
        evbuffer_add(out, "connection: close\r\n", 19);
    evbuffer_add(out, "\r\n", 2);
}

/* Returns 1 if this request may use an idle connection (http-reuse). */
static int srv_may_reuse(const struct http_txn *txn)
{
    enum px_reuse mode = txn->s->be->reuse;

    /* a connection that began with a PROXY header belongs to its client */
    if (mode == PX_REUSE_NEVER || (txn->flags & TXN_F_NO_REUSE) ||
        txn->s->srv->send_proxy || srv_close_each(txn))
        return 0;
    return mode != PX_REUSE_SAFE || txn->hc->nreq > 0;
}

/* Sets the callbacks and the server timeouts of a connection in use. */
static void srv_attach(struct http_txn *txn, struct conn *conn)
{
    struct stream *s = txn->s;

    txn->srv = conn;
    server_conn_used(s->srv);
    conn_setcb(conn, srv_io_cb, srv_io_cb, srv_event_cb, s);
    conn_setwatermark(conn, CONN_WR, 16384, 0);
}

/* Gets a connection to a server of the backend: an idle one when allowed,
 * else a new one. RC_OK when it can be written to at once (reused),
 * RC_AGAIN while connecting, RC_ERR when none can be had. */
static int srv_connect(struct http_txn *txn)
{
    struct stream *s = txn->s;
    unsigned tmo = s->be->timeouts.connect;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};
    struct server *srv = s->srv; /* assigned by lb_assign() */
    struct conn *conn = NULL;
    struct h1_limits lim;
    size_t before;

    if (srv_may_reuse(txn))
        conn = server_take_idle(srv);
    if (conn != NULL) {
        unsigned stmo = stream_timeout(s, STREAM_TMO_SERVER);
        struct timeval stv = {stmo / 1000, (stmo % 1000) * 1000};

        srv_attach(txn, conn);
        conn_set_timeouts(conn, stmo ? &stv : NULL, stmo ? &stv : NULL);
        txn->flags |= TXN_F_SRV_REUSED;
    } else {
        conn = conn_new(-1);
        if (conn == NULL)
            return RC_ERR;
        srv_attach(txn, conn);
        conn_set_timeouts(conn, NULL, tmo ? &tv : NULL);
        if (server_connect(srv, conn, s->sess) != RC_OK) {
            server_conn_close(srv, conn);
            txn->srv = NULL;
            return RC_ERR;
        }
    }
    txn_limits(&lim);
    h1_msg_init(txn->parser, &lim); /* now for the response head */
    before = evbuffer_get_length(conn_output(conn));
    req_head_send(txn);
    http_retry_head_sent(txn, conn_output(conn),
                         evbuffer_get_length(conn_output(conn)) - before);
    conn_enable(txn->srv, CONN_RD | CONN_WR);
    if (txn->flags & TXN_F_SRV_REUSED) {
        s->times.connect = stream_elapsed_ms(s);
        return RC_OK;
    }
    return RC_AGAIN;
}

/* Gives the server connection back: to the idle pool when the exchange
 * ended cleanly and the server keeps it open, else closed. */
static void srv_release(struct http_txn *txn)
{
    struct stream *s = txn->s;
    unsigned f = txn->flags;
    if (txn->srv == NULL)
        return;
    if ((f & TXN_F_SRV_KAL) && (f & TXN_F_SRV_DONE) && (f & TXN_F_REQ_DONE) &&
        s->srv != NULL && !s->srv->send_proxy && !srv_close_each(txn) &&
        !(f & (TXN_F_SRV_EOF | TXN_F_SRV_ERR | TXN_F_SRV_TMO)) &&
        !worker_draining())
        server_put_idle(s->srv, txn->srv);
    else
        server_conn_close(s->srv, txn->srv);
    txn->srv = NULL;
    lb_release(s); /* s->srv stays set for the log line */
    txn->flags &= ~TXN_F_SRV_KAL;
}

/* Returns 1 if the client shut its side before sending the whole body:
 * the request can never complete, so the server must not wait for it
 * (HAProxy's client abort during data, "CD"). */
static int client_left_mid_body(const struct http_txn *txn)
{
    return txn->hc->cli_eof && !(txn->flags & TXN_F_REQ_DONE) &&
           evbuffer_get_length(cli_in(txn)) == 0;
}

/* The queue timer fired: no slot came in time ("timeout queue"). */
static void queue_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;
    struct http_txn *txn = s->proto;

    http_txn_term(s, 's');
    lb_dequeue(s);
    http_reply_error(s, 503);
    txn->state = HTTP_ST_DONE;
    http_process(s);
}

/* Waits in the backend's queue, arming "timeout queue" (else "timeout
 * connect", as HAProxy falls back) the first time. */
static int queue_wait(struct http_txn *txn)
{
    struct stream *s = txn->s;
    unsigned tmo =
        s->be->timeouts.queue ? s->be->timeouts.queue : s->be->timeouts.connect;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

    if (txn->qtimer == NULL) {
        txn->qtimer = evtimer_new(worker_loop(), queue_timeout_cb, s);
        if (txn->qtimer == NULL)
            return RC_ERR;
        if (tmo > 0)
            evtimer_add(txn->qtimer, &tv);
    }
    return RC_AGAIN;
}

/* The attempt on the server failed: closes its connection and prepares
 * another (lb_retry); RC_OK when one may start, RC_ERR when no retry is
 * left. */
static int srv_retry(struct http_txn *txn)
{
    struct stream *s = txn->s;
    struct server *srv = s->srv;

    if ((txn->flags & TXN_F_KILLED) || lb_retry(s) != RC_OK)
        return RC_ERR;
    server_conn_close(srv, txn->srv);
    txn->srv = NULL;
    txn->flags &= ~(TXN_F_SRV_ERR | TXN_F_SRV_EOF | TXN_F_SRV_TMO |
                    TXN_F_SRV_REUSED | TXN_F_SRV_KAL);
    return RC_OK;
}

/* The server's "redir PREFIX": a 302 to the prefix followed by the path
 * and query, instead of the request, and the connection closes (HAProxy
 * logs it LC with the server's name). */
static int srv_redirect(struct http_txn *txn)
{
    struct stream *s = txn->s;
    struct ist path = http_msg_path(&txn->req);
    size_t plen = strlen(s->srv->redir);
    size_t tail = (size_t)(txn->req.uri.ptr + txn->req.uri.len - path.ptr);
    char *loc = palloc(s->pool, plen + tail);

    lb_release(s);
    http_txn_term(s, 'L');
    txn->flags |= TXN_F_CLI_CLOSE;
    txn->state = HTTP_ST_DONE;
    if (loc == NULL) {
        http_reply_error(s, 500);
        return RC_OK;
    }
    memcpy(loc, s->srv->redir, plen);
    memcpy(loc + plen, path.ptr, tail);
    http_reply_begin(s, 302, IST("Found"));
    http_reply_header(s, IST("cache-control"), IST("no-cache"));
    http_reply_header(s, IST("content-length"), IST("0"));
    http_reply_header(s, IST("location"), (struct ist){loc, plen + tail});
    http_reply_headers_end(s);
    http_reply_end(s);
    return RC_OK;
}

/* A connection attempt failed (refused, reset or timed out): another
 * one follows as "retries" and "retry-on" allow, after the turn-around
 * delay when it goes to the same server (lb_retry_waits); else a 503.
 * RC_OK when an attempt follows. */
static int srv_connect_failed(struct http_txn *txn)
{
    struct stream *s = txn->s;
    int tmo = (txn->flags & TXN_F_SRV_TMO) != 0;

    if (!(s->be->retry_on & PX_RETRY_CONN) || srv_retry(txn) != RC_OK) {
        http_txn_term(s, tmo ? 's' : 'S');
        http_reply_error(s, 503);
        txn->state = HTTP_ST_DONE;
        return RC_ERR;
    }
    if (!tmo && lb_retry_waits(s))
        txn->flags |= TXN_F_TURNAROUND;
    return RC_OK;
}

/* HTTP_ST_CONNECT: take a server slot (maybe after queueing), connect,
 * retry on failure; the connect event moves on to HTTP_ST_WAIT_RES. */
static int step_connect(struct http_txn *txn)
{
    struct stream *s = txn->s;
    int rc;

    if (client_left_mid_body(txn)) {
        http_txn_term(s, 'C');
        return txn_abort(txn);
    }
    if (txn->srv != NULL) {
        if (!(txn->flags & (TXN_F_SRV_ERR | TXN_F_SRV_EOF | TXN_F_SRV_TMO)))
            return RC_AGAIN;
        if (!(txn->flags & TXN_F_KILLED))
            check_observe(s->srv, CHECK_OBS_L4_ERR);
        if (srv_connect_failed(txn) != RC_OK)
            return RC_OK;
    }
    if (txn->flags & TXN_F_TURNAROUND) {
        if (stream_timer_wait(s, lb_turnaround_ms(s->be)) == 0)
            return RC_AGAIN;
        txn->flags &= ~TXN_F_TURNAROUND;
    }
    if (!s->has_slot) {
        stick_rules_request(s);
        rc = lb_assign(s);
        if (rc == RC_AGAIN)
            return queue_wait(txn);
        if (rc != RC_OK) {
            http_txn_term(s, 'S');
            http_reply_error(s, 503);
            txn->state = HTTP_ST_DONE;
            return RC_OK;
        }
        if (txn->qtimer != NULL)
            evtimer_del(txn->qtimer);
        s->times.queue = stream_elapsed_ms(s);
    }
    if (s->srv->redir != NULL && (ist_eq(txn->req.meth, IST("GET")) ||
                                  ist_eq(txn->req.meth, IST("HEAD"))))
        return srv_redirect(txn);
    switch (srv_connect(txn)) {
    case RC_OK:
        txn->state = HTTP_ST_WAIT_RES;
        return RC_OK;
    case RC_AGAIN:
        return RC_AGAIN;
    default:
        http_reply_error(s, 503);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
}

/* Forwards request body bytes to the server, with back-pressure. */
static int req_body_forward(struct http_txn *txn)
{
    struct evbuffer *out = conn_output(txn->srv);
    struct conn *cli = txn->hc->sess->conn;
    size_t before = evbuffer_get_length(out);
    int rc;

    if (txn->flags & TXN_F_REQ_DONE)
        return RC_OK;
    if (txn->flags & TXN_F_REQ_FLT) {
        rc = body_filter(txn, FLT_DIR_REQ, cli_in(txn), out, 1, 0);
        if (rc == RC_DONE)
            txn->flags |= TXN_F_REQ_DONE;
    } else {
        rc = req_body_move(txn, out, 0);
    }
    if (rc == RC_ERR)
        return RC_ERR;
    http_retry_body_sent(txn, out, before);
    if (txn->flags & TXN_F_REQ_DONE)
        conn_disable(cli, CONN_RD);
    else if (evbuffer_get_length(out) > FWD_HIGH_WATER ||
             flt_backlog(txn, FLT_DIR_REQ))
        conn_disable(cli, CONN_RD);
    else if (!txn->hc->cli_eof)
        conn_enable(cli, CONN_RD);
    return RC_OK;
}

/* Tells "observe" how the server failed to give a response head. */
static void srv_observe_failure(const struct http_txn *txn)
{
    enum check_obs what = CHECK_OBS_HTTP_READ_ERROR;

    if (txn->flags & TXN_F_KILLED)
        return;
    if (txn->s->term[0] == 'P')
        what = CHECK_OBS_HTTP_HDRRSP;
    else if (txn->flags & TXN_F_SRV_TMO)
        what = CHECK_OBS_HTTP_READ_TIMEOUT;
    else if (txn->flags & TXN_F_SRV_EOF)
        what = CHECK_OBS_HTTP_BROKEN_PIPE;
    check_observe(txn->s->srv, what);
}

/* After the failure <cond> (PX_RETRY_*) of the server that had the whole
 * request, sends it again when "retry-on" names that failure and a retry
 * is left: the failed response never reaches the client. RC_OK when a
 * new attempt starts. */
static int srv_retry_l7(struct http_txn *txn, unsigned cond)
{
    if (!http_retry_allowed(txn, cond) || srv_retry(txn) != RC_OK)
        return RC_ERR;
    txn->s->stat_retries++; /* HAProxy counts a layer-7 retry on its own */
    txn->state = HTTP_ST_CONNECT;
    return RC_OK;
}

/* Reports a server failure <cond> (PX_RETRY_*, 0 for none that
 * "retry-on" names) before the response head to the client, or sends the
 * request again: on a new connection when an idle one turned out to be
 * closed (the server closed it as we reused it) and nothing but the
 * request head went out, or as "retry-on" says. */
static int srv_failed(struct http_txn *txn, unsigned cond)
{
    if ((txn->flags & TXN_F_SRV_REUSED) && !(txn->flags & TXN_F_SRV_TMO) &&
        txn->req.body_kind != H1_BODY_CHUNKED &&
        !(txn->req.body_kind == H1_BODY_CLEN && txn->req.body_len > 0)) {
        srv_release(txn);
        txn->flags &= ~(TXN_F_SRV_REUSED | TXN_F_SRV_EOF | TXN_F_SRV_ERR);
        txn->flags |= TXN_F_NO_REUSE;
        txn->state = HTTP_ST_CONNECT;
        return RC_OK;
    }
    srv_observe_failure(txn);
    if (srv_retry_l7(txn, cond) == RC_OK)
        return RC_OK;
    http_txn_term(txn->s, (txn->flags & TXN_F_SRV_TMO) ? 's' : 'S');
    http_reply_error(txn->s, (txn->flags & TXN_F_SRV_TMO) ? 504 : 502);
    txn->flags |= TXN_F_CLI_CLOSE;
    txn->state = HTTP_ST_DONE;
    return RC_OK;
}

/* Waits for the response head unless the server closed, failed or timed
 * out. As HAProxy, a server that closes before a whole head came, even
 * after a part of one, gave an empty response, not a junk one. */
static int srv_stopped(struct http_txn *txn)
{
    unsigned f = txn->flags;

    if (!(f & (TXN_F_SRV_EOF | TXN_F_SRV_ERR | TXN_F_SRV_TMO)))
        return RC_AGAIN;
    return srv_failed(txn,
                      (f & TXN_F_SRV_TMO) ? PX_RETRY_TIMEOUT : PX_RETRY_EMPTY);
}

/* The server switched protocols (101, with its Upgrade header) or opened
 * the tunnel a CONNECT asked for (2xx, whose length headers mean nothing):
 * the response goes to the client, then the connection becomes a tunnel. */
static int switch_protocols(struct http_txn *txn, struct evbuffer *in)
{
    struct stream *s = txn->s;
    unsigned tt = stream_timeout(s, STREAM_TMO_TUNNEL);
    unsigned ct = tt ? tt : stream_timeout(s, STREAM_TMO_CLIENT);
    unsigned st = tt ? tt : stream_timeout(s, STREAM_TMO_SERVER);
    struct timeval ctv = {ct / 1000, (ct % 1000) * 1000};
    struct timeval stv = {st / 1000, (st % 1000) * 1000};
    struct evbuffer *out = cli_out(txn);

    txn->res_head = palloc(s->pool, txn->parser->head_len);
    if (txn->res_head == NULL)
        return srv_failed(txn, 0);
    evbuffer_remove(in, txn->res_head, txn->parser->head_len);
    h1_parse_response(txn->parser, txn->res_head, txn->parser->head_len);
    if (msg_from_parser(s, &txn->res, txn->parser) != RC_OK)
        return srv_failed(txn, 0);
    s->times.resp = stream_elapsed_ms(s);
    txn->status = txn->res.status;
    txn->flags |= TXN_F_RES_STARTED | TXN_F_CLI_CLOSE;
    if (txn->status != 101)
        http_hdr_del(&txn->res, IST("content-length"));
    evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\n", txn->status,
                        (int)txn->res.reason.len, txn->res.reason.ptr);
    msg_write_headers(&txn->res, out, (struct ist){NULL, 0});
    if (txn->status == 101)
        upgrade_write(&txn->res, out);
    evbuffer_add(out, "\r\n", 2);
    conn_set_timeouts(txn->hc->sess->conn, ct ? &ctv : NULL, ct ? &ctv : NULL);
    conn_set_timeouts(txn->srv, st ? &stv : NULL, st ? &stv : NULL);
    txn->state = HTTP_ST_TUNNEL;
    return RC_OK;
}

/* HTTP_ST_TUNNEL: forward both ways until both sides are shut. */
static int step_tunnel(struct http_txn *txn)
{
    struct conn *cli = txn->hc->sess->conn;

    if (txn->flags & (TXN_F_SRV_ERR | TXN_F_SRV_TMO)) {
        http_txn_term(txn->s, (txn->flags & TXN_F_SRV_TMO) ? 's' : 'S');
        return txn_finish(txn);
    }
    conn_forward(cli, txn->srv, txn->hc->cli_eof, &txn->srv_shut,
                 FWD_HIGH_WATER);
    conn_forward(txn->srv, cli, (txn->flags & TXN_F_SRV_EOF) != 0,
                 &txn->cli_shut, FWD_HIGH_WATER);
    if (txn->cli_shut && txn->srv_shut)
        return txn_finish(txn);
    return RC_AGAIN;
}

/* HTTP_ST_WAIT_RES: send the body, read the response head. */
static int step_wait_res(struct http_txn *txn)
{
    struct evbuffer *in = conn_input(txn->srv);
    size_t len = evbuffer_get_length(in), n;
    const char *p;
    int rc;

    if (req_body_forward(txn) != RC_OK) {
        txn->flags |= TXN_F_CLI_CLOSE;
        http_reply_error(txn->s, 400);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    if (client_left_mid_body(txn)) {
        http_txn_term(txn->s, 'C');
        return txn_abort(txn);
    }
    if (len == 0)
        return srv_stopped(txn);
    n = len < txn->parser->max_head + 1 ? len : txn->parser->max_head + 1;
    p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    rc = h1_parse_response(txn->parser, p, n);
    if (rc == RC_AGAIN)
        return srv_stopped(txn);
    if (rc == RC_ERR) {
        txn->flags &= ~(TXN_F_SRV_TMO | TXN_F_SRV_REUSED);
        if (srv_retry_l7(txn, PX_RETRY_JUNK) == RC_OK)
            return RC_OK;
        http_txn_term(txn->s, 'P');
        return srv_failed(txn, 0);
    }
    if ((txn->parser->status == 101 && (txn->flags & TXN_F_UPGRADE)) ||
        (txn->parser->status / 100 == 2 && (txn->flags & TXN_F_CONNECT)))
        return switch_protocols(txn, in);
    if (txn->parser->status < 200) {
        /* interim response: pass it on, then wait for the final one */
        struct h1_limits lim;

        evbuffer_remove_buffer(in, cli_out(txn), txn->parser->head_len);
        txn_limits(&lim);
        h1_msg_init(txn->parser, &lim);
        return RC_OK;
    }
    if (srv_retry_l7(txn, http_retry_status_cond(txn->parser->status)) == RC_OK)
        return RC_OK;
    txn->res_head = palloc(txn->s->pool, txn->parser->head_len);
    if (txn->res_head == NULL)
        return srv_failed(txn, 0);
    evbuffer_remove(in, txn->res_head, txn->parser->head_len);
    h1_parse_response(txn->parser, txn->res_head, txn->parser->head_len);
    if (msg_from_parser(txn->s, &txn->res, txn->parser) != RC_OK)
        return srv_failed(txn, 0);
    if ((txn->res.h1flags & H1_MF_VER_11) &&
        !(txn->res.h1flags & H1_MF_CONN_CLOSE) &&
        txn->res.body_kind != H1_BODY_CLOSE)
        txn->flags |= TXN_F_SRV_KAL;
    txn->flags &= ~TXN_F_SRV_REUSED; /* it answered: no retry from now */
    check_observe(txn->s->srv, txn->res.status >= 500 &&
                                       txn->res.status != 501 &&
                                       txn->res.status != 505
                                   ? CHECK_OBS_HTTP_STS
                                   : CHECK_OBS_HTTP_OK);
    txn->s->cursor.cur = NULL;
    txn->s->times.resp = stream_elapsed_ms(txn->s);
    stick_rules_response(txn->s);
    txn->state = HTTP_ST_RES_RULES;
    return RC_OK;
}

/* Returns 1 if the response to the client has no body (whatever its
 * head says). */
static int res_bodyless(const struct http_txn *txn)
{
    return (txn->flags & TXN_F_HEAD) || txn->res.status == 204 ||
           txn->res.status == 304 || txn->res.body_kind == H1_BODY_NONE;
}

int http_txn_has_body(const struct http_txn *txn, int res)
{
    return res ? !res_bodyless(txn) : !(txn->flags & TXN_F_REQ_DONE);
}

int http_txn_body_read(const struct http_txn *txn, int res)
{
    return (txn->flags & (res ? TXN_F_RES_READ : TXN_F_REQ_READ)) != 0;
}

/* Sends the response head to the client and prepares the body. */
static void res_head_send(struct http_txn *txn)
{
    struct http_msg *m = &txn->res;
    struct evbuffer *out = cli_out(txn);
    int bodyless = res_bodyless(txn);

    if (worker_draining())
        txn->flags |= TXN_F_CLI_CLOSE;
    if (bodyless)
        m->body_kind = H1_BODY_NONE;
    if ((txn->flags & TXN_F_RES_FLT) &&
        (m->body_kind != H1_BODY_CLEN ||
         !filters_keep_length(txn->s, FLT_DIR_RES))) {
        if (txn->req.h1flags & H1_MF_VER_11)
            txn->flags |= TXN_F_RES_CHUNKED;
        else
            txn->flags |= TXN_F_CLI_CLOSE;
    }
    if (m->body_kind == H1_BODY_CLOSE) {
        txn->flags |= TXN_F_RES_CLOSE;
        if (txn->req.h1flags & H1_MF_VER_11)
            txn->flags |= TXN_F_RES_CHUNKED;
        else
            txn->flags |= TXN_F_CLI_CLOSE;
    }
    txn->status = m->status;
    txn->flags |= TXN_F_RES_STARTED;
    evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\n", m->status,
                        (int)m->reason.len, m->reason.ptr);
    msg_write_headers(m, out, (struct ist){NULL, 0});
    if ((m->body_kind == H1_BODY_CHUNKED && !(txn->flags & TXN_F_RES_FLT)) ||
        (txn->flags & TXN_F_RES_CHUNKED))
        evbuffer_add(out, "transfer-encoding: chunked\r\n", 28);
    if (txn->flags & TXN_F_CLI_CLOSE)
        evbuffer_add(out, "connection: close\r\n", 19);
    evbuffer_add(out, "\r\n", 2);
    if (m->body_kind == H1_BODY_CLEN)
        txn->res_left = m->body_len;
    else if (m->body_kind == H1_BODY_CHUNKED)
        h1_chunked_init(&txn->res_chunk);
    if (m->body_kind == H1_BODY_NONE ||
        (m->body_kind == H1_BODY_CLEN && m->body_len == 0 &&
         !(txn->flags & TXN_F_RES_FLT)))
        txn->flags |= TXN_F_RES_DONE;
}

/* HTTP_ST_RES_RULES: backend's then frontend's http-response rules. */
static int step_res_rules(struct http_txn *txn)
{
    struct stream *s = txn->s;
    struct smp_env env;
    struct rule_step steps[4];
    enum act_ret ret;
    int n = 0;

    /* http-response of the backend then the frontend, then their
     * http-after-response (replies made here run these in the reply) */
    if (s->be != s->fe)
        steps[n++] = (struct rule_step){s->be, RULESET_HTTP_RES};
    steps[n++] = (struct rule_step){s->fe, RULESET_HTTP_RES};
    if (s->be != s->fe)
        steps[n++] = (struct rule_step){s->be, RULESET_HTTP_AFTER};
    steps[n++] = (struct rule_step){s->fe, RULESET_HTTP_AFTER};
    txn_env(txn, &env, 1);
    ret = run_rule_steps(txn, steps, n, &env);
    if (ret == ACT_RET_YIELD)
        return RC_AGAIN;
    if (ret == ACT_RET_DONE) { /* "return" or "redirect" answered */
        http_txn_term(s, 'L');
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    if (ret == ACT_RET_DENY || ret == ACT_RET_ERR || ret == ACT_RET_INV) {
        /* a failing http-after-response gets a plain 500, as HAProxy */
        int after = s->cur_rs == RULESET_HTTP_AFTER;

        http_txn_term(s, ret == ACT_RET_ERR || after ? 'I' : 'P');
        txn->flags |= TXN_F_CLI_CLOSE | (after ? TXN_F_NO_AFTER : 0);
        http_reply_error(s, after ? 500 : 502);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    if (ret == ACT_RET_ABRT)
        return txn_abort(txn);
    if (http_cookie_response(txn) != RC_OK) {
        http_txn_term(s, 'I');
        txn->flags |= TXN_F_CLI_CLOSE;
        http_reply_error(s, 500);
        txn->state = HTTP_ST_DONE;
        return RC_OK;
    }
    if (s->flt != NULL) {
        txn->state = HTTP_ST_RES_FLT;
        return RC_OK;
    }
    res_head_send(txn);
    txn->state = HTTP_ST_FWD_RES;
    return RC_OK;
}

/* Moves response body bytes from the server to the client. RC_OK, or
 * RC_ERR on bad chunked framing. */
static int res_body_move(struct http_txn *txn)
{
    struct evbuffer *in = conn_input(txn->srv);
    struct evbuffer *out = cli_out(txn);
    int rc;

    if (txn->flags & TXN_F_RES_FLT) {
        rc = body_filter(txn, FLT_DIR_RES, in, out,
                         (txn->flags & TXN_F_RES_CHUNKED) != 0,
                         (txn->flags & TXN_F_SRV_EOF) != 0);
    } else if (txn->res.body_kind == H1_BODY_CLOSE) {
        /* close-delimited: re-framed as chunks for an HTTP/1.1 client */
        chunk_put(out, in, (txn->flags & TXN_F_RES_CHUNKED) != 0);
        rc = RC_OK;
    } else {
        rc = body_move(in, out, txn->res.body_kind, &txn->res_left,
                       &txn->res_chunk, 0);
    }
    if (rc == RC_DONE)
        txn->flags |= TXN_F_RES_DONE;
    return rc == RC_ERR ? RC_ERR : RC_OK;
}

/* HTTP_ST_FWD_RES: stream the response body to the client. */
static int step_fwd_res(struct http_txn *txn)
{
    /* a bad or cut response: send what came, then close, so the client
     * sees the truncation and never a fake end */
    if (!(txn->flags & TXN_F_RES_DONE) && res_body_move(txn) != RC_OK) {
        txn->flags |= TXN_F_CLI_CLOSE;
        http_txn_term(txn->s, 'P');
        return txn_finish(txn);
    }
    if (!(txn->flags & TXN_F_RES_DONE)) {
        if ((txn->flags & TXN_F_RES_CLOSE) && !(txn->flags & TXN_F_RES_FLT)) {
            if (txn->flags & (TXN_F_SRV_EOF)) {
                http_reply_end(txn->s);
                txn->state = HTTP_ST_DONE;
                return RC_OK;
            }
        }
        if ((txn->flags & (TXN_F_SRV_EOF | TXN_F_SRV_ERR | TXN_F_SRV_TMO)) &&
            !(txn->flags & TXN_F_RES_READ)) {
            txn->flags |= TXN_F_CLI_CLOSE;
            http_txn_term(txn->s, (txn->flags & TXN_F_SRV_TMO) ? 's' : 'S');
            return txn_finish(txn);
        }
        if (evbuffer_get_length(cli_out(txn)) > FWD_HIGH_WATER ||
            flt_backlog(txn, FLT_DIR_RES))
            conn_disable(txn->srv, CONN_RD);
        else
            conn_enable(txn->srv, CONN_RD);
        return RC_AGAIN;
    }
    txn->flags |= TXN_F_SRV_DONE;
    txn->state = HTTP_ST_DONE;
    return RC_OK;
}

/* HTTP_ST_DONE: finish reading the request, then end the transaction. */
static int step_done(struct http_txn *txn)
{
    int rc;

    srv_release(txn);
    if (txn->flags & TXN_F_CLI_CLOSE)
        return txn_finish(txn);
    rc = req_body_discard(txn);
    if (rc == RC_AGAIN && !txn->hc->cli_eof) {
        conn_enable(txn->hc->sess->conn, CONN_RD);
        return RC_AGAIN;
    }
    if (rc != RC_OK)
        txn->flags |= TXN_F_CLI_CLOSE;
    return txn_finish(txn);
}

/* Runs the steps of <s> until one waits or the transaction ends. */
/* The kill_op: before the response head, the server is as good as failed
 * (502, as HAProxy); once it flows, both connections are cut. */
static void http_kill(struct stream *s, char cause)
{
    struct http_txn *txn = s->proto;

    http_txn_term(s, cause);
    txn->flags &= ~TXN_F_SRV_REUSED;
    txn->flags |= TXN_F_SRV_ERR | TXN_F_KILLED;
    stream_wake(s);
}

static void http_process(struct stream *s)
{
    struct http_txn *txn = s->proto;
    int rc;

    if ((txn->flags & TXN_F_KILLED) &&
        (txn->state == HTTP_ST_RES_RULES || txn->state == HTTP_ST_RES_FLT ||
         txn->state == HTTP_ST_FWD_RES || txn->state == HTTP_ST_TUNNEL)) {
        txn_abort(txn);
        return;
    }
    do {
        switch (txn->state) {
        case HTTP_ST_WAIT_REQ:
            rc = step_wait_req(txn);
            break;
        case HTTP_ST_REQ_RULES:
            rc = step_req_rules(txn, 0);
            break;
        case HTTP_ST_BE_RULES:
            rc = step_req_rules(txn, 1);
            break;
        case HTTP_ST_REQ_FLT:
            rc = step_flt_headers(txn, FLT_DIR_REQ);
            break;
        case HTTP_ST_APPLET:
            rc = step_applet(txn);
            break;
        case HTTP_ST_CONNECT:
            rc = step_connect(txn);
            break;
        case HTTP_ST_WAIT_RES:
            rc = step_wait_res(txn);
            break;
        case HTTP_ST_RES_RULES:
            rc = step_res_rules(txn);
            break;
        case HTTP_ST_RES_FLT:
            rc = step_flt_headers(txn, FLT_DIR_RES);
            break;
        case HTTP_ST_FWD_RES:
            rc = step_fwd_res(txn);
            break;
        case HTTP_ST_TUNNEL:
            rc = step_tunnel(txn);
            break;
        default:
            rc = step_done(txn);
            break;
        }
    } while (rc == RC_OK);
}

void http_ana_init(void)
{
    stream_timer_init(); /* the turn-around before a new connect */
    session_mode_register(PX_MODE_HTTP, http_conn_start);
    http_conn_init();
}
