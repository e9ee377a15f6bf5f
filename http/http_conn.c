/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HTTP client connections: the callbacks of the client connection, the
 * succession of transactions on one connection, the head and keep-alive
 * timers, and the close (flush, then shutdown and a short lingering read so
 * that unread client bytes do not turn our last response into a reset). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/conn.h"
#include "core/errors.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/stream.h"
#include "core/worker.h"
#include "http/http_ana.h"
#include "http/http_conn.h"

#define LINGER_MS           1000
#define DRAIN_IDLE_GRACE_MS 500
#define WRITE_LOWAT         16384
/* An idle keep-alive connection frees its buffers after this long: a
 * client sending its next request at once reuses them, one that waits
 * costs only the connection itself. */
#define IDLE_TRIM_MS 200

static struct http_conn *all_conns;

/* Arms <hc>'s timer for <ms> milliseconds. */
static void hc_timer_add(struct http_conn *hc, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    hc->trimming = 0;
    evtimer_add(hc->timer, &tv);
}

/* Starts the next transaction; the bytes received since the last one
 * ended are its own (%U). */
static int hc_txn_new(struct http_conn *hc)
{
    if (http_txn_new(hc) != RC_OK)
        return RC_ERR;
    stream_count_from(hc->cur, hc->in_mark);
    return RC_OK;
}

/* Frees <hc> and its session; the transaction must be gone. */
static void hc_free(struct http_conn *hc)
{
    if (hc->prev != NULL)
        hc->prev->next = hc->next;
    else
        all_conns = hc->next;
    if (hc->next != NULL)
        hc->next->prev = hc->prev;
    event_free(hc->timer);
    session_free(hc->sess);
}

void http_conn_abort(struct http_conn *hc)
{
    if (hc->cur != NULL) {
        struct stream *s = hc->cur;

        http_txn_term(s, 'C'); /* kept if a cause was already set */
        hc->cur = NULL;
        http_txn_free(s);
    }
    hc_free(hc);
}

/* Output flushed: stop sending, read and discard a little, then close. */
static void hc_linger(struct http_conn *hc)
{
    struct conn *conn = hc->sess->conn;

    if (hc->cli_eof) { /* the client is done sending: nothing to linger on */
        http_conn_abort(hc);
        return;
    }
    shutdown(conn_fd(conn), SHUT_WR);
    /* option nolinger: the FIN, then a reset at once rather than a wait
     * for the client's close (HAProxy's order) */
    if (hc->sess->fe->options & PX_OPT_NOLINGER) {
        http_conn_abort(hc);
        return;
    }
    hc->lingering = 1;
    evbuffer_drain(conn_input(conn), evbuffer_get_length(conn_input(conn)));
    conn_setwatermark(conn, CONN_RD, 0, 0);
    conn_enable(conn, CONN_RD);
    hc_timer_add(hc, LINGER_MS);
}

/* Closes <hc> once its output is sent. */
static void hc_close(struct http_conn *hc)
{
    struct conn *conn = hc->sess->conn;

    hc->closing = 1;
    conn_disable(conn, CONN_RD);
    conn_setwatermark(conn, CONN_WR, 0, 0);
    if (evbuffer_get_length(conn_output(conn)) == 0)
        hc_linger(hc);
}

/* Client bytes arrived. */
static void hc_read_cb(struct conn *conn, void *arg)
{
    struct http_conn *hc = arg;

    if (hc->lingering) {
        evbuffer_drain(conn_input(conn), evbuffer_get_length(conn_input(conn)));
        return;
    }
    if (hc->cur == NULL) {
        if (hc_txn_new(hc) != RC_OK) {
            http_conn_abort(hc);
            return;
        }
    }
    if (hc->cur != NULL)
        hc->cur->ops->process(hc->cur);
}

/* Client output drained below the low watermark. */
static void hc_write_cb(struct conn *conn, void *arg)
{
    struct http_conn *hc = arg;

    if (hc->closing) {
        if (!hc->lingering)
            hc_linger(hc);
        return;
    }
    if (hc->cur != NULL)
        hc->cur->ops->process(hc->cur);
}

/* 1 if <hc>, closed by its client before sending a byte, gets a stream
 * to log it (400 CR, "<BADREQ>"), as HAProxy does unless it is told to
 * take it for a browser's probe ("option http-ignore-probes"); an idle
 * keep-alive connection closes silently. */
static int hc_null_logged(const struct http_conn *hc)
{
    return hc->nreq == 0 && !hc->closing &&
           conn_bytes_in(hc->sess->conn) == 0 &&
           !(hc->sess->fe->options & PX_OPT_IGNORE_PROBE);
}

/* Client closed, failed or timed out. */
static void hc_event_cb(struct conn *conn, short what, void *arg)
{
    struct http_conn *hc = arg;

    if (hc->lingering || (what & (CONN_ERROR | CONN_TIMEOUT))) {
        http_conn_abort(hc);
        return;
    }
    hc->cli_eof = 1;
    if (hc->cur == NULL && hc_null_logged(hc) && hc_txn_new(hc) != RC_OK) {
        http_conn_abort(hc);
        return;
    }
    if (hc->cur == NULL) {
        /* between requests: the last response may still be queued (its
         * write comes after this event in the same loop turn), so close
         * gracefully rather than drop it */
        if (!hc->closing)
            hc_close(hc);
        return;
    }
    /* EOF with a transaction running: let it finish what it can */
    conn_disable(conn, CONN_RD);
    hc->cur->applet_in_eof = 1;
    hc->cur->ops->process(hc->cur);
}

/* 1 if the client has sent bytes that we have not read yet. */
static int hc_client_sent(struct http_conn *hc)
{
    char c;

    return recv(conn_fd(hc->sess->conn), &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* The first keep-alive timer step: still idle, the buffers go; then the
 * rest of the keep-alive timeout. */
static void hc_trim(struct http_conn *hc)
{
    unsigned rest = hc->trim_rest;

    if (hc->cur == NULL)
        conn_idle(hc->sess->conn);
    hc->trimming = 0;
    if (rest > 0)
        hc_timer_add(hc, rest);
}

/* Head, keep-alive or lingering timer. */
static void hc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *hc = arg;
    struct conn *conn = hc->sess->conn;

    if (hc->trimming) {
        hc_trim(hc);
        return;
    }
    if (hc->lingering || hc->closing) {
        http_conn_abort(hc);
        return;
    }
    /* draining and idle: a request that is already on its way is served
     * (the read event comes next); otherwise close with a FIN and linger,
     * so a request sent at this very moment is not answered by a reset */
    if (worker_draining() && hc->cur == NULL) {
        if (hc_client_sent(hc))
            hc_timer_add(hc, DRAIN_IDLE_GRACE_MS);
        else
            hc_close(hc);
        return;
    }
    /* nothing received: an idle keep-alive closes silently; a fresh
     * connection gets its 408, as in HAProxy, unless it is told to take
     * it for a browser's probe ("option http-ignore-probes") */
    if (evbuffer_get_length(conn_input(conn)) == 0 &&
        (hc->nreq > 0 || (hc->sess->fe->options & PX_OPT_IGNORE_PROBE))) {
        http_conn_abort(hc);
        return;
    }
    if (hc->cur == NULL && hc_txn_new(hc) != RC_OK) {
        http_conn_abort(hc);
        return;
    }
    http_txn_term(hc->cur, 'c');
    http_reply_error(hc->cur, 408);
    http_txn_free(hc->cur);
    hc->cur = NULL;
    hc_close(hc);
}

void http_conn_arm_head_timer(struct http_conn *hc, int keepalive)
{
    const struct px_timeouts *t = &hc->sess->fe->timeouts;
    unsigned ms = t->http_request ? t->http_request : t->client;

    if (keepalive && t->http_keep_alive)
        ms = t->http_keep_alive;
    if (worker_draining() && keepalive)
        ms = DRAIN_IDLE_GRACE_MS;
    else if (keepalive && (ms == 0 || ms > IDLE_TRIM_MS)) {
        hc_timer_add(hc, IDLE_TRIM_MS);
        hc->trimming = 1;
        hc->trim_rest = ms ? ms - IDLE_TRIM_MS : 0;
        return;
    }
    if (ms > 0)
        hc_timer_add(hc, ms);
}

void http_conn_disarm_timer(struct http_conn *hc)
{
    hc->trimming = 0;
    evtimer_del(hc->timer);
}

void http_conn_start(struct session *sess)
{
    struct http_conn *hc = pcalloc(sess->pool, sizeof(*hc));
    unsigned tmo = sess->fe->timeouts.client;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

    if (hc == NULL)
        goto fail;
    hc->sess = sess;
    hc->timer = evtimer_new(worker_loop(), hc_timer_cb, hc);
    if (hc->timer == NULL)
        goto fail;
    hc->next = all_conns;
    if (all_conns != NULL)
        all_conns->prev = hc;
    all_conns = hc;
    conn_setcb(sess->conn, hc_read_cb, hc_write_cb, hc_event_cb, hc);
    conn_setwatermark(sess->conn, CONN_WR, WRITE_LOWAT, 0);
    conn_set_timeouts(sess->conn, tmo ? &tv : NULL, tmo ? &tv : NULL);
    conn_enable(sess->conn, CONN_RD | CONN_WR);
    http_conn_arm_head_timer(hc, 0);
    return;
fail:
    session_free(sess);
}

void http_conn_txn_done(struct http_conn *hc, int close)
{
    struct conn *conn = hc->sess->conn;

    hc->cur = NULL;
    hc->in_mark = conn_bytes_in(conn);
    hc->nreq++;
    if (close || hc->cli_eof) {
        hc_close(hc);
        return;
    }
    conn_enable(conn, CONN_RD);
    http_conn_arm_head_timer(hc, 1);
    /* a pipelined request may be waiting in the buffer already */
    if (evbuffer_get_length(conn_input(conn)) > 0)
        hc_read_cb(conn, hc);
}

/* Drain hook: idle connections get a short grace, then close. */
static void http_conn_drain(void)
{
    struct http_conn *hc;

    for (hc = all_conns; hc != NULL; hc = hc->next)
        if (hc->cur == NULL && !hc->closing)
            hc_timer_add(hc, DRAIN_IDLE_GRACE_MS);
}

void http_conn_init(void)
{
    worker_drain_register(http_conn_drain);
}
