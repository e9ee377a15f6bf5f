/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The log-format tags core owns: addresses, names, dates, HAProxy's
 * timers (section 8.4) from the stream's times, byte counters, connection
 * counts and termination state. Timers follow sess_build_logline's
 * arithmetic exactly, "-1" cases included; idle and handshake times are 0
 * because a stream does not record the first byte of its request yet. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/listener.h"
#include "core/logformat.h"
#include "core/logger.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/stream.h"

/* HAProxy's t_idle and t_handshake: not measured, so 0. */
#define LF_T_IDLE      0
#define LF_T_HANDSHAKE 0

/* The stream's session addresses, or NULL. */
static const struct sockaddr *lf_src(const struct stream *s)
{
    return s != NULL && s->sess->srclen > 0 ? &s->sess->src.sa : NULL;
}

static const struct sockaddr *lf_dst(const struct stream *s)
{
    return s != NULL && s->sess->dstlen > 0 ? &s->sess->dst.sa : NULL;
}

/* HAProxy's listener id for unix sockets: its rank in the frontend. */
static int lf_listener_id(const struct stream *s)
{
    const struct listener *l;
    int id = 1;

    for (l = s->fe->listeners; l != NULL && l != s->sess->li; l = l->next)
        id++;
    return id;
}

/* A port, or the listener id when the address is a unix socket. */
static void lf_put_port_or_id(struct logformat_out *out, struct stream *s,
                              const struct sockaddr *sa, unsigned opts)
{
    if (sa != NULL && sa->sa_family == AF_UNIX)
        logformat_put_int(out, lf_listener_id(s));
    else
        logformat_put_port(out, sa, opts);
}

static void lf_ci(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_addr(out, lf_src(s), o);
}

static void lf_cp(struct logformat_out *out, struct stream *s, unsigned o)
{
    lf_put_port_or_id(out, s, lf_src(s), o);
}

static void lf_fi(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_addr(out, lf_dst(s), o);
}

static void lf_fp(struct logformat_out *out, struct stream *s, unsigned o)
{
    lf_put_port_or_id(out, s, lf_dst(s), o);
}

/* %si, %sp: the server's address. */
static const struct sockaddr *lf_srv_addr(const struct stream *s)
{
    return s != NULL && s->srv != NULL
               ? (const struct sockaddr *)&s->srv->addr.ss
               : NULL;
}

static void lf_si(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_addr(out, lf_srv_addr(s), o);
}

static void lf_sp(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_port(out, lf_srv_addr(s), o);
}

/* %bi, %bp: the local end of the server connection is not kept. */
static void lf_absent(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_text(out, NULL, 0, o);
}

static void lf_f(struct logformat_out *out, struct stream *s, unsigned o)
{
    const char *n = s ? s->fe->name : NULL;

    logformat_put_text(out, n, n ? strlen(n) : 0, o);
}

/* %ft: the frontend name, '~' appended for TLS listeners (none yet). */
static void lf_ft(struct logformat_out *out, struct stream *s, unsigned o)
{
    const char *n = s ? s->fe->name : "";

    if (o & LF_OPT_QUOTE)
        logformat_put_char(out, '"');
    logformat_put_mem(out, n, strlen(n));
    if (o & LF_OPT_QUOTE)
        logformat_put_char(out, '"');
}

/* %b: the backend, the frontend until one is chosen (HAProxy's s->be). */
static void lf_b(struct logformat_out *out, struct stream *s, unsigned o)
{
    const struct proxy *be = s ? (s->be ? s->be : s->fe) : NULL;

    logformat_put_text(out, be ? be->name : NULL, be ? strlen(be->name) : 0, o);
}

/* %s: the server, or the name an applet that answered instead gives. */
static void lf_s(struct logformat_out *out, struct stream *s, unsigned o)
{
    const char *n = "<NOSRV>";

    if (s != NULL && s->srv != NULL)
        n = s->srv->name;
    else if (s != NULL && s->svc.ops != NULL && s->svc.ops->log_name != NULL)
        n = s->svc.ops->log_name;

    logformat_put_text(out, n, strlen(n), o);
}

/* ---- dates */

/* The accept date; for HTTP the start of the stream, as HAProxy resets it
 * for every request of a connection. */
static struct timeval lf_accept_date(const struct stream *s)
{
    struct timeval tv = {0, 0};

    return s ? s->times.start : tv;
}

/* The date the request began: accept date plus idle and handshake. */
static struct timeval lf_request_date(const struct stream *s)
{
    struct timeval tv = lf_accept_date(s);
    long us = tv.tv_usec + (LF_T_IDLE + LF_T_HANDSHAKE) * 1000L;

    tv.tv_sec += us / 1000000;
    tv.tv_usec = us % 1000000;
    return tv;
}

static void lf_t(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct timeval tv = lf_accept_date(s);

    logformat_put_date_ms(out, &tv);
}

static void lf_tr(struct logformat_out *out, struct stream *s, unsigned o)
{
    struct timeval tv = lf_request_date(s);

    logformat_put_date_ms(out, &tv);
}

static void lf_T(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_date_zone(out, lf_accept_date(s).tv_sec, 0);
}

static void lf_Tl(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_date_zone(out, lf_accept_date(s).tv_sec, 1);
}

static void lf_trg(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_date_zone(out, lf_request_date(s).tv_sec, 0);
}

static void lf_trl(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_date_zone(out, lf_request_date(s).tv_sec, 1);
}

static void lf_Ts(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_counter(out, lf_accept_date(s).tv_sec, o);
}

/* %ms: the accept date's milliseconds, 3 digits ("%02X" with +X). */
static void lf_ms(struct logformat_out *out, struct stream *s, unsigned o)
{
    char tmp[8];
    int ms = (int)(lf_accept_date(s).tv_usec / 1000);
    int n = snprintf(tmp, sizeof(tmp), (o & LF_OPT_HEXA) ? "%02X" : "%03d", ms);

    logformat_put_mem(out, tmp, (size_t)n);
}

/* ---- timers, HAProxy's names: t_request (Tq), t_queue, t_connect,
 * t_data (response head), t_close */

static int lf_t_request(const struct stream *s)
{
    return s ? s->times.req : -1;
}

static int lf_t_close(const struct stream *s)
{
    if (s == NULL)
        return 0;
    return s->times.total >= 0 ? s->times.total : stream_elapsed_ms(s);
}

static void lf_Th(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, LF_T_HANDSHAKE);
}

static void lf_Ti(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, LF_T_IDLE);
}

static void lf_TR(struct logformat_out *out, struct stream *s, unsigned o)
{
    int tq = lf_t_request(s);

    logformat_put_int(out, tq >= 0 ? tq - LF_T_IDLE - LF_T_HANDSHAKE : -1);
}

static void lf_Tq(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, lf_t_request(s));
}

/* %Tw: queue minus request, so -1 + 1 in TCP mode: HAProxy's arithmetic. */
static void lf_Tw(struct logformat_out *out, struct stream *s, unsigned o)
{
    int q = s ? s->times.queue : -1;

    logformat_put_int(out, q >= 0 ? q - lf_t_request(s) : -1);
}

static void lf_Tc(struct logformat_out *out, struct stream *s, unsigned o)
{
    int c = s ? s->times.connect : -1;

    logformat_put_int(out, c >= 0 ? c - s->times.queue : -1);
}

static void lf_Tr(struct logformat_out *out, struct stream *s, unsigned o)
{
    int r = s ? s->times.resp : -1;

    logformat_put_int(out, r >= 0 ? r - s->times.connect : -1);
}

/* %Td: data transfer time, from the response head in HTTP, else from the
 * connection. */
static void lf_Td(struct logformat_out *out, struct stream *s, unsigned o)
{
    const struct proxy *be = s ? (s->be ? s->be : s->fe) : NULL;
    int from;

    if (s == NULL) {
        logformat_put_int(out, -1);
        return;
    }
    from = be->mode == PX_MODE_HTTP ? s->times.resp : s->times.connect;
    logformat_put_int(out, from >= 0 ? lf_t_close(s) - from : -1);
}

static void lf_Ta(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, lf_t_close(s) - (LF_T_IDLE + LF_T_HANDSHAKE));
}

static void lf_Tt(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, lf_t_close(s));
}

static void lf_Tu(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, lf_t_close(s) - LF_T_IDLE);
}

/* ---- counters */

static void lf_B(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, s ? (long long)stream_bytes_out(s) : 0);
}

static void lf_U(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, s ? (long long)stream_bytes_in(s) : 0);
}

static void lf_ac(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, logger_actconn());
}

static void lf_fc(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, s ? logger_feconn(s->fe) : 0);
}

/* %bc: connections of the backend, the sum over its servers (what HAProxy
 * counts once the stream released its own). */
static void lf_bc(struct logformat_out *out, struct stream *s, unsigned o)
{
    const struct server *srv;
    long long n = 0;

    if (s != NULL && s->be != NULL)
        for (srv = s->be->servers; srv != NULL; srv = srv->next)
            n += srv->cur_conns;
    logformat_put_int(out, n);
}

static void lf_sc(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, s && s->srv ? (long long)s->srv->cur_conns : 0);
}

/* %rc: '+' first when a retry went to another server, as HAProxy. */
static void lf_rc(struct logformat_out *out, struct stream *s, unsigned o)
{
    if (s != NULL && s->redispatched)
        logformat_put_char(out, '+');
    logformat_put_int(out, s ? s->retries : 0);
}

/* %sq, %bq: where the stream left the server's and the backend's queue. */
static void lf_sq(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, s != NULL ? s->srv_queue_pos : 0);
}

static void lf_bq(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_int(out, s != NULL ? s->be_queue_pos : 0);
}

static void lf_ts(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_char(out, s ? s->term[0] : '-');
    logformat_put_char(out, s ? s->term[1] : '-');
}

/* %tsc: %ts then the persistence cookie states, '-' without cookies. */
static void lf_tsc(struct logformat_out *out, struct stream *s, unsigned o)
{
    lf_ts(out, s, o);
    logformat_put_mem(out, s ? s->persist_log : "--", 2);
}

/* %rt: HAProxy's request counter starts at 0. */
static void lf_rt(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_counter(out, s ? (long long)s->id - 1 : 0, o);
}

static void lf_lc(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_counter(out, s ? logger_log_count(s->fe) : 0, o);
}

static void lf_H(struct logformat_out *out, struct stream *s, unsigned o)
{
    const char *h = logger_hostname();

    logformat_put_text(out, h, strlen(h), o);
}

static void lf_pid(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_counter(out, getpid(), o);
}

static const struct logformat_tag logformat_core_tags[] = {
    {"ci", lf_ci, 0},     {"cp", lf_cp, 0},     {"fi", lf_fi, 0},
    {"fp", lf_fp, 0},     {"si", lf_si, 0},     {"sp", lf_sp, 0},
    {"bi", lf_absent, 0}, {"bp", lf_absent, 0}, {"f", lf_f, 0},
    {"ft", lf_ft, 0},     {"b", lf_b, 0},       {"s", lf_s, 0},
    {"t", lf_t, 0},       {"tr", lf_tr, 1},     {"T", lf_T, 0},
    {"Tl", lf_Tl, 0},     {"trg", lf_trg, 1},   {"trl", lf_trl, 1},
    {"Ts", lf_Ts, 0},     {"ms", lf_ms, 0},     {"Th", lf_Th, 0},
    {"Ti", lf_Ti, 1},     {"TR", lf_TR, 1},     {"Tq", lf_Tq, 1},
    {"Tw", lf_Tw, 0},     {"Tc", lf_Tc, 0},     {"Tr", lf_Tr, 1},
    {"Td", lf_Td, 0},     {"Ta", lf_Ta, 1},     {"Tt", lf_Tt, 0},
    {"Tu", lf_Tu, 0},     {"B", lf_B, 0},       {"U", lf_U, 0},
    {"ac", lf_ac, 0},     {"fc", lf_fc, 0},     {"bc", lf_bc, 0},
    {"sc", lf_sc, 0},     {"rc", lf_rc, 0},     {"sq", lf_sq, 0},
    {"bq", lf_bq, 0},     {"ts", lf_ts, 0},     {"tsc", lf_tsc, 0},
    {"rt", lf_rt, 0},     {"lc", lf_lc, 0},     {"H", lf_H, 0},
    {"pid", lf_pid, 0},   {NULL, NULL, 0},
};

void logformat_core_init(void)
{
    logformat_register_tags(logformat_core_tags);
}
