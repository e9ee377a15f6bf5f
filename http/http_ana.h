/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The HTTP/1 stream: one transaction's state machine (head, rules,
 * applet or server, response, body forwarding), and what other layers may
 * do to a transaction: read and edit its messages, answer it. Every step
 * can stop and resume: a rule or an applet that must wait returns, and the
 * stream is resumed at the same step by stream_wake(). */
#ifndef LUAPROXY_HTTP_HTTP_ANA_H
#define LUAPROXY_HTTP_HTTP_ANA_H

#include <stddef.h>
#include <stdint.h>

#include "core/ist.h"
#include "http/h1.h"

struct stream;
struct sample_regex;
struct conn;
struct event;
struct http_conn;

/* A header in an editable message; name and value live in the stream's
 * pool (or in the head copy, which lives there too). */
struct http_hdr {
    struct ist name;
    struct ist value;
};

/* An editable view of a message head. */
struct http_msg {
    struct ist meth, uri, ver; /* request line */
    int status;                /* response line */
    struct ist reason;
    struct http_hdr *hdrs;
    unsigned nhdrs, cap;
    unsigned h1flags; /* H1_MF_* of the parsed head */
    int body_kind;    /* enum h1_body_kind */
    uint64_t body_len;
};

enum http_state {
    HTTP_ST_WAIT_REQ,  /* reading the request head */
    HTTP_ST_REQ_RULES, /* http-request rules of the frontend */
    HTTP_ST_BE_RULES,  /* http-request rules of the backend */
    HTTP_ST_REQ_FLT,   /* the filters see the request head */
    HTTP_ST_APPLET,    /* a service answers */
    HTTP_ST_CONNECT,   /* connecting to the server */
    HTTP_ST_WAIT_RES,  /* request going out, waiting for the response head */
    HTTP_ST_RES_RULES, /* http-response rules */
    HTTP_ST_RES_FLT,   /* the filters see the response head */
    HTTP_ST_FWD_RES,   /* response body going out */
    HTTP_ST_TUNNEL,    /* after a 101: bytes both ways until both close */
    HTTP_ST_DONE,      /* answered: finish the request body, then next */
};

/* How much of a body the engine lets wait at one point before it stops
 * reading that side. */
#define HTTP_FWD_WINDOW (64 * 1024)

/* Transaction flags. */
#define TXN_F_CLI_CLOSE   0x0001   /* close the client connection after this */
#define TXN_F_RES_STARTED 0x0002   /* status line sent to the client */
#define TXN_F_RES_CHUNKED 0x0004   /* response to client is chunk-framed */
#define TXN_F_RES_DONE    0x0008   /* response complete on the client side */
#define TXN_F_REQ_DONE    0x0010   /* request body completely read */
#define TXN_F_HEAD        0x0020   /* request method is HEAD */
#define TXN_F_SRV_EOF     0x0040   /* the server closed */
#define TXN_F_SRV_ERR     0x0080   /* the server connection failed */
#define TXN_F_SRV_TMO     0x0100   /* the server timed out */
#define TXN_F_RES_CLOSE   0x0200   /* response body ends at server close */
#define TXN_F_SRV_REUSED  0x0400   /* the server connection was an idle one */
#define TXN_F_SRV_KAL     0x0800   /* the server keeps the connection open */
#define TXN_F_SRV_DONE    0x1000   /* the whole response was read */
#define TXN_F_NO_REUSE    0x2000   /* a reused connection failed: new one */
#define TXN_F_UPGRADE     0x4000   /* the request asks for a protocol switch */
#define TXN_F_REQ_FLT     0x8000   /* filters transform the request body */
#define TXN_F_RES_FLT     0x10000  /* filters transform the response body */
#define TXN_F_REQ_READ    0x20000  /* filtered request body read whole */
#define TXN_F_RES_READ    0x40000  /* filtered response body read whole */
#define TXN_F_NO_AFTER    0x80000  /* http-after-response failed: not again */
#define TXN_F_CONNECT     0x100000 /* a CONNECT request */
#define TXN_F_NO_L7_RETRY 0x200000 /* never sent again once a server saw it */
#define TXN_F_ERR_REPLY   0x400000 /* the error page that replaces a reply */
#define TXN_F_KILLED      0x40000000 /* its server's streams were ended */
#define TXN_F_TURNAROUND  0x20000000 /* waits before connecting again */

struct http_txn {
    struct stream *s;
    struct http_conn *hc;
    enum http_state state;
    struct h1_msg *parser; /* head parser state, in the stream pool */
    struct http_msg req, res;
    char *req_head, *res_head; /* copies of the raw heads */
    unsigned flags;
    int status;                  /* status sent to the client */
    int deny_status;             /* status an ACT_RET_DENY answers with */
    uint64_t req_left, res_left; /* Content-Length bytes still to move */
    struct h1_chunked req_chunk, res_chunk;
    struct conn *srv;       /* server connection */
    struct event *qtimer;   /* timeout queue, while queued */
    int phase;              /* which rule list of a step runs now */
    int cli_shut, srv_shut; /* tunnel: our write sides shut */
    /* with TXN_F_*_FLT, per direction (enum flt_dir): the payload without
     * its framing, and what the filters made of it, framed again */
    struct evbuffer *flt_in[2], *flt_out[2];
    /* the dates of the request's persistence cookie, Unix seconds, 0 if
     * none (http_cookie.c: maxidle, maxlife) */
    long long ck_last, ck_first;
    /* the request body as sent, kept for layer-7 retries (http_retry.c),
     * or NULL; and how many more bytes of it one buffer has room for */
    struct evbuffer *req_copy;
    size_t req_copy_room;
};

/* Returns the transaction of an HTTP stream, or NULL for other streams. */
struct http_txn *http_txn_get(struct stream *s);
/* 1 if message <res> (0: the request) of <txn> has a body still to come
 * once its head is complete. */
int http_txn_has_body(const struct http_txn *txn, int res);
/* 1 once the filtered body of message <res> has been read whole. */
int http_txn_body_read(const struct http_txn *txn, int res);

/* Editing a message (the request: <m> = &txn->req; the response: &txn->res).
 * Returns RC_OK, or RC_ERR when out of memory. */
int http_hdr_add(struct stream *s, struct http_msg *m, struct ist name,
                 struct ist value);
/* Removes every header named <name>; returns how many. */
int http_hdr_del(struct http_msg *m, struct ist name);
/* Index of the first header named <name> from <start>, or -1. */
int http_hdr_find(const struct http_msg *m, struct ist name, unsigned start);
/* Calls <fn> on each comma-separated element of every header <name> of
 * <m>, blanks trimmed, until it returns non-zero; returns that value, or 0
 * when every element was seen. */
int http_hdr_each_element(const struct http_msg *m, struct ist name,
                          int (*fn)(struct ist e, void *arg), void *arg);
/* Replaces every value of header <name> that <re> matches whole (each
 * comma-separated element with <per_value>) with <with>, where \1..\9
 * name the groups; replace-header/-value and the Lua rep_* functions.
 * RC_OK, or RC_ERR when out of memory. */
int http_hdr_replace(struct stream *s, struct http_msg *m, struct ist name,
                     const struct sample_regex *re, const char *with,
                     int per_value);
/* Walks the chunked request body received so far without consuming it,
 * copying the payload to <dst> (NULL: only measure; it needs no more room
 * than the bytes received) and its length to *<dlen>. RC_OK when the whole
 * body is in, RC_AGAIN when more is to come, RC_ERR on bad framing. */
int http_req_chunked_peek(struct http_txn *txn, char *dst, size_t *dlen);
/* 1 while the request body is still to come (and reading is enabled):
 * neither complete, nor a buffer full, nor <at_least> payload bytes when
 * that is not 0, and the client has not closed. A client that expects
 * "100-continue" is sent it (once). */
int http_req_body_waiting(struct http_txn *txn, size_t at_least);
/* The path of the request (no query string, no scheme and authority). */
struct ist http_msg_path(const struct http_msg *m);
/* The query string without '?', or an empty slice. */
struct ist http_msg_query(const struct http_msg *m);

/* Answering from a rule or an applet. The response goes to the client in
 * order: http_reply_begin, http_reply_header..., http_reply_headers_end,
 * http_reply_body..., http_reply_end. The head is built in txn->res and
 * sent by http_reply_headers_end once the http-after-response rules ran on
 * it; the reason and the header names and values are not copied, so they
 * must live until then (the message's headers are emptied once sent).
 * Without a content-length header an HTTP/1.1 response is chunk-framed, an
 * HTTP/1.0 one is delimited by the connection's close. */
int http_reply_begin(struct stream *s, int status, struct ist reason);
int http_reply_header(struct stream *s, struct ist name, struct ist value);
int http_reply_headers_end(struct stream *s);
/* Queues body bytes; RC_OK, RC_AGAIN when the output is full (wait for a
 * wake), RC_ERR when the client is gone. */
int http_reply_body(struct stream *s, const char *data, size_t len);
int http_reply_end(struct stream *s);
/* Answers <status> with the errorfile page for it, else HAProxy's built-in
 * one, through the http-after-response rules; 5xx, 400 and 408 (and the
 * other statuses of a request that cannot go on) close the connection. If
 * a response was already started, only marks the connection to close. */
void http_reply_error(struct stream *s, int status);
/* Sends an interim "103 Early Hints" with the header <name>: <value> to
 * an HTTP/1.1 client, before any response (http-request early-hint). */
void http_early_hint(struct stream *s, struct ist name, struct ist value);
/* The same with one more header <xname>: <xvalue> (after the page's own,
 * a custom errorfile's included), e.g. WWW-Authenticate for a 401. */
void http_reply_error_hdr(struct stream *s, int status, struct ist xname,
                          struct ist xvalue);
/* HAProxy's reason phrase for <status>. */
const char *http_status_reason(int status);

/* Starts a transaction on <hc> (a new stream waiting for its request
 * head); RC_OK or RC_ERR when out of memory. */
int http_txn_new(struct http_conn *hc);
/* Frees the transaction <s> and its server connection. */
void http_txn_free(struct stream *s);

/* Records why <s> ended (HAProxy's termination cause: 'C' client abort,
 * 'c' client timeout, 'S' server abort or refusal, 's' server timeout, 'P'
 * proxy refusal or protocol error, 'L' local answer, 'I' internal error)
 * with the step it was in; the first cause recorded stays. */
void http_txn_term(struct stream *s, char cause);

/* Registers the HTTP protocol layer (http module init). */
void http_ana_init(void);

#endif
