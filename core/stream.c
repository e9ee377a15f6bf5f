/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sessions and streams: creation on accept, the per-stream wake event
 * that resumes a suspended state machine from the event loop, variables of
 * each scope, and freeing. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/conn.h"
#include "core/errors.h"
#include "core/filter.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/logger.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/proxy_protocol.h"
#include "core/sample.h"
#include "core/stats.h"
#include "core/stick_act.h"
#include "core/stream.h"
#include "core/worker.h"

/* the session, its protocol's connection state (http_conn) and a log
 * cleanup: every idle connection holds one */
#define SESSION_POOL_SIZE 256
#define STREAM_POOL_SIZE  4096
#define MODES_MAX         4

static session_start_cb mode_start[MODES_MAX];
static int stream_nslots;
static unsigned long long session_ids, stream_ids;

void session_mode_register(int mode, session_start_cb fn)
{
    if (mode >= 0 && mode < MODES_MAX)
        mode_start[mode] = fn;
}

int stream_slot_register(void)
{
    if (stream_nslots == STREAM_SLOTS) { /* a module more: raise the count */
        log_alert("out of stream slots (STREAM_SLOTS %d)", STREAM_SLOTS);
        abort();
    }
    return stream_nslots++;
}

/* Keeps what <a> needs of the <len> bytes at <sa>; returns the length
 * kept. */
static socklen_t session_addr_set(union sess_addr *a, const struct sockaddr *sa,
                                  socklen_t len)
{
    if (len > sizeof(*a))
        len = sizeof(*a);
    memcpy(a, sa, len);
    return len;
}

struct session *session_new(struct listener *li, int fd,
                            const struct sockaddr *src, socklen_t srclen)
{
    struct pool *pool = pool_new(SESSION_POOL_SIZE);
    struct session *sess;
    struct sockaddr_storage dst;
    socklen_t dstlen;

    if (pool == NULL || (sess = pcalloc(pool, sizeof(*sess))) == NULL)
        goto fail;
    sess->pool = pool;
    sess->li = li;
    sess->fe = li->px;
    sess->id = ++session_ids;
    sess->srclen = session_addr_set(&sess->src, src, srclen);
    dstlen = sizeof(dst);
    if (getsockname(fd, (struct sockaddr *)&dst, &dstlen) < 0)
        dstlen = 0;
    sess->dstlen =
        session_addr_set(&sess->dst, (struct sockaddr *)&dst, dstlen);
    vars_init(&sess->vars);
    sess->conn = conn_new(fd);
    if (sess->conn == NULL)
        goto fail;
    proxy_sock_opts(li->px, fd, 1);
    worker_session_add(sess);
    return sess;
fail:
    log_err("out of memory accepting a connection on %s", li->name);
    close(fd);
    pool_free(pool);
    return NULL;
}

/* The stream of session-level rules: they never wait. */
static void session_rules_process(struct stream *s)
{
}

static const struct stream_ops session_rules_ops = {
    .name = "session rules",
    .process = session_rules_process,
};

/* Runs the frontend's <rs> rules (tcp-request connection or session) on
 * <sess>, as final, on a stream made for them alone: HAProxy runs them
 * before any stream exists, so nothing is logged or counted for it, and
 * what they set lasts as long as the connection. Returns 1 if the
 * connection may go on. */
static int session_rules(struct session *sess, enum ruleset rs)
{
    struct stream *s;
    struct smp_env env;
    enum act_ret ret;

    if (sess->fe->rules[rs].first == NULL)
        return 1;
    if ((s = stream_new(sess, &session_rules_ops)) == NULL)
        return 0;
    s->quiet = 1;
    stream_env(s, &env);
    env.avail = SMP_AVAIL_CONN;
    s->cur_rs = rs;
    ret = rules_exec(&sess->fe->rules[rs], &s->cursor, s, &env, ACT_FLAG_FINAL);
    stream_free(s);
    return ret == ACT_RET_CONT || ret == ACT_RET_STOP;
}

void session_start(struct session *sess)
{
    session_start_cb fn = mode_start[sess->fe->mode];

    /* connection rules judge the peer itself, before a PROXY header;
     * session rules the session it makes */
    if (!sess->conn_ruled) {
        sess->conn_ruled = 1;
        if (!session_rules(sess, RULESET_TCP_CONN)) {
            session_free(sess);
            return;
        }
    }
    if (sess->li->accept_proxy && !sess->proxied) {
        proxy_protocol_accept(sess);
        return;
    }
    if (!session_rules(sess, RULESET_TCP_SESS)) {
        session_free(sess);
        return;
    }
    logger_session_accept(sess);
    if (fn == NULL) {
        session_free(sess);
        return;
    }
    fn(sess);
}

void session_free(struct session *sess)
{
    if (sess->conn != NULL)
        conn_free(sess->conn);
    vars_prune(&sess->vars);
    worker_session_remove(sess); /* it reads sess, which lives in the pool */
    pool_free(sess->pool);
}

/* The wake event's callback: resume the protocol layer. */
static void stream_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;

    s->ops->process(s);
}

struct stream *stream_new(struct session *sess, const struct stream_ops *ops)
{
    struct pool *pool = pool_new(STREAM_POOL_SIZE);
    struct stream *s;

    if (pool == NULL || (s = pcalloc(pool, sizeof(*s))) == NULL)
        goto fail;
    s->pool = pool;
    s->sess = sess;
    s->fe = sess->fe;
    s->ops = ops;
    s->id = ++stream_ids;
    event_base_gettimeofday_cached(worker_loop(), &s->times.start);
    s->times.req = s->times.queue = s->times.connect = s->times.resp =
        s->times.total = -1;
    s->term[0] = s->term[1] = '-';
    s->persist_log[0] = s->persist_log[1] = '-';
    s->wake = event_new(worker_loop(), -1, 0, stream_wake_cb, s);
    s->applet_in = evbuffer_new();
    if (s->wake == NULL || s->applet_in == NULL)
        goto fail_events;
    vars_init(&s->vars_txn);
    vars_init(&s->vars_req);
    vars_init(&s->vars_res);
    return s;
fail_events:
    if (s->wake != NULL)
        event_free(s->wake);
    if (s->applet_in != NULL)
        evbuffer_free(s->applet_in);
fail:
    pool_free(pool);
    return NULL;
}

void stream_set_backend(struct stream *s, struct proxy *be)
{
    s->be = be;
    if (be != NULL) {
        be->beconn++;
        freq_ctr_inc(&be->be_sess_rate);
    }
}

void stream_free(struct stream *s)
{
    if (!s->quiet) {
        stats_count_stream(s);
        logger_stream_end(s);
    }
    stick_stream_end(s);
    if (s->be != NULL)
        s->be->beconn--;
    if (s->flt != NULL)
        filters_release(s);
    if (s->svc.ops != NULL && s->svc.ops->release != NULL)
        s->svc.ops->release(s, s->svc.arg, s->applet_ctx);
    event_free(s->wake);
    evbuffer_free(s->applet_in);
    vars_prune(&s->vars_txn);
    vars_prune(&s->vars_req);
    vars_prune(&s->vars_res);
    pool_free(s->pool);
}

void stream_count_from(struct stream *s, unsigned long long in_base)
{
    s->in_base = in_base;
    s->out_base = conn_bytes_out(s->sess->conn);
    s->counting = 1;
}

/* The client connection lives as long as its streams. */
unsigned long long stream_bytes_in(const struct stream *s)
{
    return s->counting ? conn_bytes_in(s->sess->conn) - s->in_base : 0;
}

unsigned long long stream_bytes_out(const struct stream *s)
{
    return s->counting ? conn_bytes_out(s->sess->conn) - s->out_base : 0;
}

unsigned stream_timeout(const struct stream *s, enum stream_tmo which)
{
    const struct px_timeouts *be = &(s->be ? s->be : s->fe)->timeouts;

    if (s->tmo[which] != 0)
        return s->tmo[which];
    switch (which) {
    case STREAM_TMO_SERVER:
        return be->server;
    case STREAM_TMO_TUNNEL:
        return be->tunnel;
    default:
        return s->fe->timeouts.client;
    }
}

void stream_client_timeout_apply(struct stream *s)
{
    unsigned ms = stream_timeout(s, STREAM_TMO_CLIENT);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    conn_set_timeouts(s->sess->conn, ms ? &tv : NULL, ms ? &tv : NULL);
}

int stream_elapsed_ms(const struct stream *s)
{
    struct timeval now;

    event_base_gettimeofday_cached(worker_loop(), &now);
    return (int)((now.tv_sec - s->times.start.tv_sec) * 1000 +
                 (now.tv_usec - s->times.start.tv_usec) / 1000);
}

void stream_wake(struct stream *s)
{
    event_active(s->wake, 0, 0);
}

void stream_env(struct stream *s, struct smp_env *env)
{
    int res = s->cur_rs == RULESET_HTTP_RES ||
              s->cur_rs == RULESET_HTTP_AFTER || s->cur_rs == RULESET_TCP_RES;

    env->strm = s;
    env->pool = s->pool;
    env->avail = SMP_AVAIL_CONN | SMP_AVAIL_REQ | (res ? SMP_AVAIL_RES : 0);
    env->dir = res;
    env->opt = SMP_OPT_FINAL;
}

struct vars *stream_vars(struct stream *strm, enum vars_scope scope)
{
    switch (scope) {
    case VARS_SCOPE_PROC:
        return vars_proc();
    case VARS_SCOPE_SESS:
        return strm ? &strm->sess->vars : NULL;
    case VARS_SCOPE_TXN:
        return strm ? &strm->vars_txn : NULL;
    case VARS_SCOPE_REQ:
        return strm ? &strm->vars_req : NULL;
    case VARS_SCOPE_RES:
        return strm ? &strm->vars_res : NULL;
    }
    return NULL;
}
