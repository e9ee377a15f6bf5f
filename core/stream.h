/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sessions and streams. A session is one accepted client connection; a
 * stream is one transaction on it (one HTTP request/response, or the whole
 * TCP connection in TCP mode). The protocol layer that owns the frontend's
 * mode (http/, tcp/) creates and drives streams through stream_ops; other
 * layers reach a stream only through the functions here. Anything that must
 * suspend a stream (a Lua action waiting on a socket) records its state in
 * a stream slot and later calls stream_wake(), which resumes the protocol
 * layer's state machine at the point where it stopped, from the event loop
 * and never from inside the caller's stack. */
#ifndef LUAPROXY_CORE_STREAM_H
#define LUAPROXY_CORE_STREAM_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "core/action.h"
#include "core/service.h"
#include "core/vars.h"

struct pool;
struct proxy;
struct server;
struct listener;
struct conn;
struct evbuffer;
struct event;
struct smp_env;
struct stream_filters;
struct stick_trk;

/* One per module keeping per-stream state: Lua, track-sc, stick rules,
 * the stream timer, log controls, with room to spare. */
#define STREAM_SLOTS 8

/* An address as a session keeps it: IPv4 or IPv6 with its port; of a
 * unix socket only the family (the path is the listener's). A quarter of
 * a sockaddr_storage, and every idle connection holds two. */
union sess_addr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
};

struct session {
    struct pool *pool; /* lives as long as the connection */
    struct proxy *fe;
    struct listener *li;
    struct conn *conn; /* the client connection, owns the fd */
    union sess_addr src, dst;
    socklen_t srclen, dstlen;
    struct vars vars;        /* sess.* */
    struct stick_trk *stick; /* counters tracked by "tcp-request connection"
                              * rules (core/stick_act.c), or NULL */
    unsigned long long id;
    /* flags in the padding after <id>: the session and an HTTP connection
     * must fit one pool block (SESSION_POOL_SIZE) */
    unsigned char proxied;    /* the PROXY protocol header was read */
    unsigned char conn_ruled; /* its tcp-request connection rules ran */
};

/* A protocol layer's entry points for streams of its mode. */
struct stream_ops {
    const char *name;
    /* resumes the stream's state machine; may free the stream */
    void (*process)(struct stream *s);
    /* an applet's output: queues <len> bytes for the client; returns RC_OK,
     * RC_AGAIN when the output is full (call again after a wake) or RC_ERR
     * when the client is gone */
    int (*applet_send)(struct stream *s, const char *data, size_t len);
    /* the server's bytes not forwarded to the client yet, which response
     * rules judge, and in *<more> whether more may still come; NULL when
     * the layer has none to show (may be NULL) */
    struct evbuffer *(*res_buf)(struct stream *s, int *more);
    /* the status of the response the client got, 0 if none (may be NULL:
     * no status in this protocol) */
    int (*status)(const struct stream *s);
    /* the server connection, NULL before one is made (may be NULL: the
     * layer has none to show) */
    struct conn *(*srv_conn)(const struct stream *s);
    /* ends the stream soon, its server connection cut, logged with the
     * termination cause <cause> (on-marked-down, "shutdown sessions");
     * never frees it from the caller's stack */
    void (*kill)(struct stream *s, char cause);
};

/* HAProxy's log timers of a stream, in ms since it began; -1 until the
 * step is reached: TR request head, Tw queue, Tc connect, Tr response head,
 * Ta total. */
struct stream_times {
    struct timeval start; /* wall clock at the start (%t) */
    int req, queue, connect, resp, total;
};

/* The timeouts a stream may change for itself ("set-timeout"). */
enum stream_tmo {
    STREAM_TMO_SERVER,
    STREAM_TMO_TUNNEL,
    STREAM_TMO_CLIENT,
    STREAM_TMO_COUNT
};

struct stream {
    struct pool *pool; /* freed with the stream, runs its cleanups */
    struct session *sess;
    struct proxy *fe, *be;
    struct server *srv;
    const struct stream_ops *ops;
    void *proto;        /* the protocol layer's state */
    struct event *wake; /* activated by stream_wake() */
    struct rule_cursor cursor;
    enum ruleset cur_rs;    /* the ruleset being run (HTTP_REQ, HTTP_RES...) */
    struct service_ref svc; /* set by use-service */
    void *applet_ctx;
    struct evbuffer *applet_in; /* client bytes for the applet (TCP raw,
                                 * HTTP body without framing) */
    int applet_in_eof;          /* no more input will come */
    struct vars vars_txn, vars_req, vars_res;
    void *slots[STREAM_SLOTS];
    struct stream_filters *flt; /* NULL: no filter (core/filter.h) */
    unsigned long long id;
    struct stream_times times;
    const char *unique_id; /* made on first use (unique_id.h) */
    /* the client connection's byte counters when the stream began */
    unsigned long long in_base, out_base;
    int counting; /* the bases are set */
    char term[2]; /* termination cause and state ('-' when normal) */
    struct stream_queue *queue;     /* the one it waits in, or NULL */
    struct stream *q_next, *q_prev; /* in <queue> */
    unsigned long long q_taken;     /* queue->taken when it joined */
    /* its place in a queue: lower classes first, then lower keys (the
     * time it joined, in ms, plus its priority offset) */
    int prio_class, prio_offset;
    long long q_key;
    int quiet; /* made for the connection-level rules only: neither
                * logged nor counted */
    /* set-src/dst: the session's addresses that come back at the end of
     * the stream (core/stream_act.c), NULL until a rule changed them */
    struct addrs_saved *addrs_saved;
    /* streams that left the server's / the backend's queue with a slot
     * while this one waited there, plus one; 0 if it never waited there
     * (HAProxy's srv_queue / backend_queue, %sq / %bq) */
    unsigned srv_queue_pos, be_queue_pos;
    int has_slot; /* holds one of srv's maxconn slots (lb_assign) */
    struct stream *srv_next, *srv_prev; /* in srv->streams while it does */
    int retries;                        /* connection attempts retried (%rc) */
    int redispatched;                   /* a retry changed server (%rc's '+') */
    /* what the retries count in the statistics, as HAProxy: wretr one
     * per retry on the same server (and one more per layer-7 retry),
     * wredis one per retry on another server */
    unsigned stat_retries, stat_redisps;
    /* the server a retry left with "option redispatch", until lb_assign()
     * gives the next (the statistics count where it went) */
    struct server *retry_from;
    /* set by the protocol layer's persistence (http/'s "cookie"): the
     * server lb_assign() takes instead of the algorithm's, or NULL */
    struct server *prefer;
    char persist_log[2];            /* %tsc's persistence states ('-': none) */
    unsigned tmo[STREAM_TMO_COUNT]; /* set by "set-timeout", ms; 0: unset */
    /* the last rule that ended a ruleset (last_rule_file/line), or NULL */
    const struct rule *last_rule;
};

/* Starts serving a new session; the protocol layer of each proxy mode
 * registers one. */
typedef void (*session_start_cb)(struct session *sess);
/* Registers <fn> for frontends of proxy mode <mode> (enum px_mode). */
void session_mode_register(int mode, session_start_cb fn);
/* Hands <sess> to the protocol layer of its frontend's mode. */
void session_start(struct session *sess);

/* Allocates a stream slot index for a module's per-stream state. */
int stream_slot_register(void);
/* Creates a stream on <sess> driven by <ops>; NULL if out of memory. */
struct stream *stream_new(struct session *sess, const struct stream_ops *ops);
/* Hands <s> to backend <be> (NULL: none), counted in its beconn until
 * <s> ends (HAProxy's be_conn). Called once per stream. */
void stream_set_backend(struct stream *s, struct proxy *be);
/* Ends <s>: runs the applet's release and the pool's cleanups, frees it. */
void stream_free(struct stream *s);
/* From now on <s> counts the client connection's bytes as its own (%U,
 * %B), those received from <in_base> (the connection's count where this
 * stream's input starts) on. */
void stream_count_from(struct stream *s, unsigned long long in_base);
/* Bytes received from and sent to the client by <s> so far. */
unsigned long long stream_bytes_in(const struct stream *s);
unsigned long long stream_bytes_out(const struct stream *s);
/* Fills <env> to evaluate samples on <s> for the ruleset being run. */
void stream_env(struct stream *s, struct smp_env *env);
/* The <which> timeout in force for <s> in ms, 0 for none: the one a
 * "set-timeout" rule set, else the backend's (server, tunnel; the
 * frontend's before a backend is chosen) or the frontend's (client). */
unsigned stream_timeout(const struct stream *s, enum stream_tmo which);
/* Applies stream_timeout(<s>, STREAM_TMO_CLIENT) to the client connection
 * as its inactivity timeout. */
void stream_client_timeout_apply(struct stream *s);
/* Milliseconds since <s> began, from the loop's cached clock. */
int stream_elapsed_ms(const struct stream *s);
/* Schedules ops->process(s) from the event loop. */
void stream_wake(struct stream *s);
/* Creates the session for an accepted <fd>; NULL on failure (fd closed). */
struct session *session_new(struct listener *li, int fd,
                            const struct sockaddr *src, socklen_t srclen);
/* Closes the client connection and frees <sess>. */
void session_free(struct session *sess);

#endif
