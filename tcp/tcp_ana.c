/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The TCP stream state machine. Like the HTTP one, each step returns
 * RC_OK (moved on), RC_AGAIN (wait for an event or a wake) or RC_DONE (the
 * session is gone), so a content rule or an applet that waits resumes at
 * the same step. Once the server is connected, the backend's tcp-response
 * content rules judge the server's first bytes before any of them reach
 * the client; they run once per connection, as in HAProxy. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/check.h"
#include "core/conn.h"
#include "core/acl.h"
#include "core/cfg.h"
#include "core/errors.h"
#include "core/lb.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/stick_rules.h"
#include "core/stream.h"
#include "core/stream_timer.h"
#include "core/worker.h"
#include "tcp/tcp_ana.h"

#define FWD_HIGH_WATER (64 * 1024)

enum tcp_state {
    TCP_ST_CONTENT, /* tcp-request content rules */
    TCP_ST_APPLET,
    TCP_ST_CONNECT,
    TCP_ST_FORWARD,
    TCP_ST_CLOSE, /* flushing the client output, then close */
};

/* Where the tcp-response content rules stand. */
enum tcp_res_state {
    TCP_RES_IDLE,    /* not started: the server is not connected yet */
    TCP_RES_INSPECT, /* holding the server's bytes until the rules decide */
    TCP_RES_DONE,    /* accepted (or no rules): forwarding */
};

struct tcp_txn {
    struct stream *s;
    enum tcp_state state;
    /* tcp-request inspect-delay, then the queue wait, then tcp-response
     * inspect-delay: one at a time */
    struct event *timer;
    struct conn *srv;
    int inspect_expired;
    enum tcp_res_state res;
    int res_expired;
    int cli_eof, srv_eof, srv_connected, srv_failed;
    int srv_err;               /* the server connection broke (reset) */
    unsigned cli_tmo, srv_tmo; /* the inactivity timeouts in force */
    int cli_shut, srv_shut;    /* we shut our write side towards it */
    int killed;                /* its server's streams were ended */
    int srv_tmo_fail;          /* the failed connect timed out */
    int turnaround;            /* waits before connecting again */
};

static void tcp_process(struct stream *s);
static int tcp_applet_send(struct stream *s, const char *data, size_t len);

static struct evbuffer *tcp_res_buf(struct stream *s, int *more);
static void tcp_kill(struct stream *s, char cause);
static struct conn *tcp_srv_conn(const struct stream *s);

static const struct stream_ops tcp_stream_ops = {
    .name = "tcp",
    .process = tcp_process,
    .applet_send = tcp_applet_send,
    .res_buf = tcp_res_buf,
    .srv_conn = tcp_srv_conn,
    .kill = tcp_kill,
};

int tcp_stream_is(const struct stream *s)
{
    return s->ops == &tcp_stream_ops;
}

struct evbuffer *tcp_stream_res_buf(const struct stream *s)
{
    const struct tcp_txn *tt = s->proto;

    if (!tcp_stream_is(s) || tt->srv == NULL || !tt->srv_connected)
        return NULL;
    return conn_input(tt->srv);
}

/* The res_buf stream op: the server's bytes while response rules run. */
static struct evbuffer *tcp_res_buf(struct stream *s, int *more)
{
    const struct tcp_txn *tt = s->proto;

    *more = !tt->srv_eof;
    return tcp_stream_res_buf(s);
}

/* The srv_conn stream op. */
static struct conn *tcp_srv_conn(const struct stream *s)
{
    const struct tcp_txn *tt = s->proto;

    return tt->srv;
}

static struct conn *cli_conn(const struct tcp_txn *tt)
{
    return tt->s->sess->conn;
}

/* Records why the stream ended (see http_txn_term); the first stays. */
static void tcp_term(struct tcp_txn *tt, char cause, char step)
{
    if (tt->s->term[0] != '-')
        return;
    tt->s->term[0] = cause;
    tt->s->term[1] = step;
}

/* Frees the stream and the session now. */
static int tcp_end(struct tcp_txn *tt)
{
    struct session *sess = tt->s->sess;

    tt->s->times.total = stream_elapsed_ms(tt->s);
    if (tt->srv != NULL)
        conn_free(tt->srv);
    lb_release(tt->s);
    lb_dequeue(tt->s);
    event_free(tt->timer);
    stream_free(tt->s);
    session_free(sess);
    return RC_DONE;
}

/* Closes once the client output is sent. */
static int tcp_close(struct tcp_txn *tt)
{
    tt->state = TCP_ST_CLOSE;
    conn_disable(cli_conn(tt), CONN_RD);
    conn_setwatermark(cli_conn(tt), CONN_WR, 0, 0);
    if (evbuffer_get_length(conn_output(cli_conn(tt))) == 0)
        return tcp_end(tt);
    return RC_AGAIN;
}

static int tcp_applet_send(struct stream *s, const char *data, size_t len)
{
    struct tcp_txn *tt = s->proto;
    struct evbuffer *out = conn_output(cli_conn(tt));

    if (tt->cli_eof && tt->state == TCP_ST_CLOSE)
        return RC_ERR;
    if (evbuffer_get_length(out) > FWD_HIGH_WATER)
        return RC_AGAIN;
    evbuffer_add(out, data, len);
    return RC_OK;
}

/* TCP_ST_CONTENT. */
static int step_content(struct tcp_txn *tt)
{
    struct stream *s = tt->s;
    struct smp_env env;
    unsigned flags = 0;
    enum act_ret ret;

    if (s->fe->inspect_delay == 0 || tt->inspect_expired || tt->cli_eof)
        flags |= ACT_FLAG_FINAL;
    stream_env(s, &env);
    if (!(flags & ACT_FLAG_FINAL))
        env.opt &= ~SMP_OPT_FINAL;
    s->cur_rs = RULESET_TCP_CONT;
    ret =
        rules_exec(&s->fe->rules[RULESET_TCP_CONT], &s->cursor, s, &env, flags);
    if (ret == ACT_RET_YIELD)
        return RC_AGAIN;
    if (ret != ACT_RET_CONT && ret != ACT_RET_STOP && ret != ACT_RET_DONE) {
        tcp_term(tt, 'P', 'R');
        return tcp_end(tt);
    }
    evtimer_del(tt->timer);
    tt->state = s->svc.ops != NULL ? TCP_ST_APPLET : TCP_ST_CONNECT;
    return RC_OK;
}

/* TCP_ST_APPLET. */
static int step_applet(struct tcp_txn *tt)
{
    struct stream *s = tt->s;
    struct evbuffer *in = conn_input(cli_conn(tt));
    int rc;

    evbuffer_add_buffer(s->applet_in, in);
    s->applet_in_eof = tt->cli_eof;
    rc = s->svc.ops->io(s, s->svc.arg, &s->applet_ctx);
    if (rc == RC_AGAIN)
        return RC_AGAIN;
    return tcp_close(tt);
}

/* Server connection events. */
static void srv_event_cb(struct conn *conn, short what, void *arg)
{
    struct stream *s = arg;
    struct tcp_txn *tt = s->proto;

    if (what & CONN_CONNECTED) {
        unsigned tmo = s->be->timeouts.server;
        struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

        tt->srv_connected = 1;
        s->times.connect = stream_elapsed_ms(s);
        check_observe(s->srv, CHECK_OBS_L4_OK);
        stick_rules_response(s);
        conn_set_timeouts(conn, tmo ? &tv : NULL, tmo ? &tv : NULL);
    } else if ((what & (CONN_EOF | CONN_ERROR)) && tt->srv_connected) {
        /* what the server sent still goes to the client, then we close */
        tt->srv_eof = 1;
        tt->srv_err = (what & CONN_ERROR) != 0;
    } else if (tt->srv_connected) {
        tt->srv_failed = 1;
        tcp_term(tt, (what & CONN_TIMEOUT) ? 's' : 'S', 'D');
    } else { /* step_connect retries or gives up */
        tt->srv_failed = 1;
        tt->srv_tmo_fail = (what & CONN_TIMEOUT) != 0;
        check_observe(s->srv, CHECK_OBS_L4_ERR);
    }
    tcp_process(s);
}

static void srv_io_cb(struct conn *conn, void *arg)
{
    tcp_process(arg);
}

/* Waits in the backend's queue: the inspect timer, done with, now counts
 * "timeout queue" (else "timeout connect"). */
static int tcp_queue_wait(struct tcp_txn *tt)
{
    unsigned tmo = tt->s->be->timeouts.queue ? tt->s->be->timeouts.queue
                                             : tt->s->be->timeouts.connect;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

    if (!evtimer_pending(tt->timer, NULL) && tmo > 0)
        evtimer_add(tt->timer, &tv);
    return RC_AGAIN;
}

/* The connection attempt failed (refused, reset or timed out): another
 * follows as "retries" allows, after the turn-around delay when it goes to
 * the same server (lb_retry_waits); else the client's connection closes.
 * RC_OK when an attempt follows. */
static int tcp_connect_failed(struct tcp_txn *tt)
{
    struct stream *s = tt->s;

    conn_free(tt->srv);
    tt->srv = NULL;
    tt->srv_failed = 0;
    if (!(s->be->retry_on & PX_RETRY_CONN) || lb_retry(s) != RC_OK) {
        tcp_term(tt, tt->srv_tmo_fail ? 's' : 'S', 'C');
        return tcp_end(tt);
    }
    tt->turnaround = !tt->srv_tmo_fail && lb_retry_waits(s);
    return RC_OK;
}

/* TCP_ST_CONNECT. */
static int step_connect(struct tcp_txn *tt)
{
    struct stream *s = tt->s;
    struct server *srv;
    unsigned tmo;
    struct timeval tv;
    int rc;

    if (tt->srv != NULL) {
        if (tt->srv_failed)
            return tcp_connect_failed(tt);
        if (!tt->srv_connected)
            return RC_AGAIN;
        tt->state = TCP_ST_FORWARD;
        return RC_OK;
    }
    if (tt->turnaround) {
        if (stream_timer_wait(s, lb_turnaround_ms(s->be)) == 0)
            return RC_AGAIN;
        tt->turnaround = 0;
    }
    if (!s->has_slot) {
        if (s->be == NULL)
            stream_set_backend(s, proxy_choose_backend(s));
        stick_rules_request(s);
        rc = s->be ? lb_assign(s) : RC_ERR;
        if (rc == RC_AGAIN)
            return tcp_queue_wait(tt);
        if (rc != RC_OK) {
            tcp_term(tt, 'S', 'C');
            return tcp_end(tt);
        }
        evtimer_del(tt->timer);
        s->times.queue = stream_elapsed_ms(s);
    }
    srv = s->srv;
    tmo = s->be->timeouts.connect;
    tv.tv_sec = tmo / 1000;
    tv.tv_usec = (tmo % 1000) * 1000;
    tt->srv = conn_new(-1);
    if (tt->srv == NULL)
        return tcp_end(tt);
    conn_setcb(tt->srv, srv_io_cb, srv_io_cb, srv_event_cb, s);
    conn_set_timeouts(tt->srv, NULL, tmo ? &tv : NULL);
    conn_setwatermark(tt->srv, CONN_WR, 16384, 0);
    if (server_connect(srv, tt->srv, s->sess) != RC_OK)
        return tcp_end(tt);
    conn_enable(tt->srv, CONN_RD | CONN_WR);
    return RC_AGAIN;
}

/* Sets <c>'s inactivity timeout to <ms> (0: none). */
static void set_tmo(struct conn *c, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    conn_set_timeouts(c, ms ? &tv : NULL, ms ? &tv : NULL);
}

/* Applies the timeouts of an established tunnel: "timeout tunnel" on both
 * sides when set, and the -fin timeouts once a side has shut its half. */
static void forward_timeouts(struct tcp_txn *tt)
{
    const struct px_timeouts *fe = &tt->s->fe->timeouts;
    const struct px_timeouts *be = &tt->s->be->timeouts;
    unsigned cli = be->tunnel ? be->tunnel : fe->client;
    unsigned srv = be->tunnel ? be->tunnel : be->server;

    if (tt->cli_eof && fe->client_fin)
        cli = fe->client_fin;
    if (tt->srv_eof && be->server_fin)
        srv = be->server_fin;
    if (cli != tt->cli_tmo) {
        set_tmo(cli_conn(tt), cli);
        tt->cli_tmo = cli;
    }
    if (srv != tt->srv_tmo) {
        set_tmo(tt->srv, srv);
        tt->srv_tmo = srv;
    }
}

/* Starts judging the server's bytes: arms tcp-response inspect-delay and
 * caps what is read from the server meanwhile at one buffer. */
static void res_inspect_start(struct tcp_txn *tt)
{
    unsigned ms = tt->s->be->res_inspect_delay;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    tt->res = TCP_RES_INSPECT;
    if (ms > 0)
        evtimer_add(tt->timer, &tv);
    conn_setwatermark(tt->srv, CONN_RD, 0, worker_cfg()->global.bufsize);
}

/* Runs the backend's tcp-response content rules on the server's bytes not
 * forwarded yet. They wait for data (as "not final") until the
 * inspect-delay expires, the server ends or a buffer is full. RC_OK once
 * forwarding may go on, RC_AGAIN while they wait, RC_DONE when they
 * rejected the connection (both sides are closed). */
static int res_inspect(struct tcp_txn *tt)
{
    struct stream *s = tt->s;
    size_t len = evbuffer_get_length(conn_input(tt->srv));
    unsigned flags = 0;
    struct smp_env env;
    enum act_ret ret;

    if (tt->res == TCP_RES_DONE)
        return RC_OK;
    if (s->be->rules[RULESET_TCP_RES].first == NULL) {
        tt->res = TCP_RES_DONE;
        return RC_OK;
    }
    if (tt->res == TCP_RES_IDLE)
        res_inspect_start(tt);
    /* rules first run when the server has spoken (or ended, or the delay
     * ran out), never on the empty buffer of a fresh connection */
    if (len == 0 && !tt->srv_eof && !tt->res_expired)
        return RC_AGAIN;
    if (s->be->res_inspect_delay == 0 || tt->res_expired || tt->srv_eof ||
        len >= worker_cfg()->global.bufsize)
        flags |= ACT_FLAG_FINAL;
    s->cur_rs = RULESET_TCP_RES;
    stream_env(s, &env);
    if (!(flags & ACT_FLAG_FINAL))
        env.opt &= ~SMP_OPT_FINAL;
    ret =
        rules_exec(&s->be->rules[RULESET_TCP_RES], &s->cursor, s, &env, flags);
    if (ret == ACT_RET_YIELD)
        return RC_AGAIN;
    if (ret != ACT_RET_CONT && ret != ACT_RET_STOP && ret != ACT_RET_DONE) {
        tcp_term(tt, 'P', 'D');
        return tcp_end(tt);
    }
    evtimer_del(tt->timer);
    conn_setwatermark(tt->srv, CONN_RD, 0, 0);
    tt->res = TCP_RES_DONE;
    return RC_OK;
}

/* How the direction that option <dir> (PX_OPT_SPLICE_REQ or _RES) names
 * is spliced, the frontend's and the backend's options together, as in
 * HAProxy. */
static enum conn_splice splice_mode(const struct stream *s, unsigned dir)
{
    unsigned opts = s->fe->options | s->be->options;

    if (opts & dir)
        return CONN_SPLICE_ALWAYS;
    return (opts & PX_OPT_SPLICE_AUTO) ? CONN_SPLICE_AUTO : CONN_SPLICE_NEVER;
}

/* TCP_ST_FORWARD. */
static int step_forward(struct tcp_txn *tt)
{
    int rc;

    if (tt->srv_failed)
        return tcp_end(tt);
    forward_timeouts(tt);
    if (tt->srv_err) {
        /* nothing more can reach the server: drop what the client sends */
        struct evbuffer *in = conn_input(cli_conn(tt));

        evbuffer_drain(in, evbuffer_get_length(in));
        tt->srv_shut = 1;
    } else {
        conn_forward(cli_conn(tt), tt->srv, tt->cli_eof, &tt->srv_shut,
                     FWD_HIGH_WATER);
    }
    rc = res_inspect(tt);
    if (rc == RC_DONE)
        return RC_DONE;
    if (rc == RC_OK) {
        /* splicing starts once the response rules are done with */
        conn_splice(cli_conn(tt), tt->srv,
                    splice_mode(tt->s, PX_OPT_SPLICE_REQ));
        conn_splice(tt->srv, cli_conn(tt),
                    splice_mode(tt->s, PX_OPT_SPLICE_RES));
        conn_forward(tt->srv, cli_conn(tt), tt->srv_eof, &tt->cli_shut,
                     FWD_HIGH_WATER);
    }
    if (tt->srv_shut && tt->cli_shut)
        return tcp_end(tt);
    return RC_AGAIN;
}

/* The kill_op: both connections close at once, logged as HAProxy does
 * ("D-" for on-marked-down). */
static void tcp_kill(struct stream *s, char cause)
{
    struct tcp_txn *tt = s->proto;

    tcp_term(tt, cause, '-');
    tt->killed = 1;
    stream_wake(s);
}

static void tcp_process(struct stream *s)
{
    struct tcp_txn *tt = s->proto;
    int rc;

    if (tt->killed) {
        tcp_end(tt);
        return;
    }
    do {
        switch (tt->state) {
        case TCP_ST_CONTENT:
            rc = step_content(tt);
            break;
        case TCP_ST_APPLET:
            rc = step_applet(tt);
            break;
        case TCP_ST_CONNECT:
            rc = step_connect(tt);
            break;
        case TCP_ST_FORWARD:
            rc = step_forward(tt);
            break;
        default:
            rc = evbuffer_get_length(conn_output(cli_conn(tt))) ? RC_AGAIN
                                                                : tcp_end(tt);
            break;
        }
    } while (rc == RC_OK);
}

static void cli_read_cb(struct conn *conn, void *arg)
{
    tcp_process(arg);
}

static void cli_write_cb(struct conn *conn, void *arg)
{
    tcp_process(arg);
}

static void cli_event_cb(struct conn *conn, short what, void *arg)
{
    struct stream *s = arg;
    struct tcp_txn *tt = s->proto;

    if (what & (CONN_ERROR | CONN_TIMEOUT)) {
        tcp_term(tt, (what & CONN_TIMEOUT) ? 'c' : 'C', 'D');
        tcp_end(tt);
        return;
    }
    tt->cli_eof = 1;
    conn_disable(conn, CONN_RD);
    tcp_process(s);
}

/* The timer of the step in progress expired: the request or response
 * content rules now run as final, or the queue wait is over. */
static void inspect_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;
    struct tcp_txn *tt = s->proto;

    if (tt->state == TCP_ST_CONNECT && s->queue != NULL) {
        tcp_end(tt); /* no slot came in time */
        return;
    }
    if (tt->state == TCP_ST_FORWARD)
        tt->res_expired = 1;
    else
        tt->inspect_expired = 1;
    tcp_process(s);
}

/* The session_start hook of TCP frontends. */
static void tcp_session_start(struct session *sess)
{
    struct stream *s = stream_new(sess, &tcp_stream_ops);
    struct tcp_txn *tt;
    unsigned tmo = sess->fe->timeouts.client;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

    if (s == NULL || (tt = pcalloc(s->pool, sizeof(*tt))) == NULL ||
        (tt->timer = evtimer_new(worker_loop(), inspect_timer_cb, s)) == NULL) {
        if (s != NULL)
            stream_free(s);
        session_free(sess);
        return;
    }
    tt->s = s;
    s->proto = tt;
    conn_setcb(sess->conn, cli_read_cb, cli_write_cb, cli_event_cb, s);
    /* bytes a PROXY header left in the input are the stream's */
    stream_count_from(s, conn_bytes_in(sess->conn) -
                             evbuffer_get_length(conn_input(sess->conn)));
    conn_setwatermark(sess->conn, CONN_WR, 16384, 0);
    conn_set_timeouts(sess->conn, tmo ? &tv : NULL, tmo ? &tv : NULL);
    conn_enable(sess->conn, CONN_RD | CONN_WR);
    if (sess->fe->inspect_delay > 0) {
        tv.tv_sec = sess->fe->inspect_delay / 1000;
        tv.tv_usec = (sess->fe->inspect_delay % 1000) * 1000;
        evtimer_add(tt->timer, &tv);
    }
    tcp_process(s);
}

void tcp_ana_init(void)
{
    stream_timer_init(); /* the turn-around before a new connect */
    session_mode_register(PX_MODE_TCP, tcp_session_start);
}
