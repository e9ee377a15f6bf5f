/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* A client connection in HTTP mode: it carries one transaction (stream) at
 * a time, keeps the connection alive between them, enforces the head and
 * keep-alive timeouts, and closes cleanly (lingering) when told to. */
#ifndef LUAPROXY_HTTP_HTTP_CONN_H
#define LUAPROXY_HTTP_HTTP_CONN_H

struct session;
struct stream;
struct event;

struct http_conn {
    struct session *sess;
    struct stream *cur;            /* the transaction in progress, or NULL */
    struct event *timer;           /* head, keep-alive and lingering timer */
    struct http_conn *prev, *next; /* every connection of the worker */
    unsigned nreq;                 /* transactions served */
    int cli_eof;                   /* the client shut its side */
    int closing;                   /* flushing output, then lingering close */
    int lingering;                 /* output sent, reading and discarding */
    unsigned long long in_mark; /* input count where the next stream starts */
    int trimming;               /* the timer is the idle trim step */
    unsigned trim_rest;         /* keep-alive ms left after it (0: none) */
};

/* Starts serving <sess> (the session_start hook of HTTP frontends). */
void http_conn_start(struct session *sess);
/* Called by the transaction when it ends: starts the next request, or
 * closes the connection when <close> is set. */
void http_conn_txn_done(struct http_conn *hc, int close);
/* Closes <hc> now, dropping anything unsent. */
void http_conn_abort(struct http_conn *hc);
/* Arms the head timer for a new request (<keepalive>: between requests). */
void http_conn_arm_head_timer(struct http_conn *hc, int keepalive);
/* Disarms it once the head is complete. */
void http_conn_disarm_timer(struct http_conn *hc);
/* Registers the drain hook that closes idle connections. */
void http_conn_init(void);

#endif
