/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Sample fetches about the connection, the proxies a stream goes through
 * and the worker process: src, src_port, dst, dst_port, fe_name, be_name,
 * srv_name, nbsrv, srv_is_up, the proxy and server counters (fe_conn,
 * be_conn, be_conn_free, queue, avg_queue, connslots, srv_conn,
 * srv_conn_free, srv_queue), the rates (fe_sess_rate, fe_req_rate,
 * be_sess_rate), server weights, ids, fe_defbe, configured timeouts,
 * nbproc, proc, thread, stopping, hostname, wait_end and ssl_fc (always
 * false until TLS lands); the listener (so_id, so_name, dst_conn), the
 * client socket (fc_src..., the TCP_INFO fetches fc_rtt...), the server
 * socket (bc_src...), src_is_local, dst_is_local, srv_sess_rate,
 * last_rule_file, last_rule_line and uptime. Proxies named in arguments are
 * looked up in the worker's configuration when the fetch runs. A server is up
 * unless "disabled" or down by its checks. Server counts come from the records
 * every worker shares (core/server_slots.h); frontend and backend counts
 * and rates are this worker's. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/conn.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/lb.h"
#include "core/listener.h"
#include "core/logger.h"
#include "core/util.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/server_slots.h"
#include "core/stream.h"
#include "core/stream_act.h"
#include "core/worker.h"

/* Fills <smp> with the address of <ss>; 0 for non-IP sockets. */
static int smp_set_addr(struct sample *smp, const union sess_addr *a)
{
    if (a->sa.sa_family == AF_INET) {
        smp->type = SMP_T_IPV4;
        smp->data.ipv4 = a->in4.sin_addr;
        return 1;
    }
    if (a->sa.sa_family == AF_INET6) {
        smp->type = SMP_T_IPV6;
        smp->data.ipv6 = a->in6.sin6_addr;
        return 1;
    }
    return 0;
}

/* Fills <smp> with the port of <ss>; 0 for non-IP sockets. */
static int smp_set_port(struct sample *smp, const union sess_addr *a)
{
    smp->type = SMP_T_SINT;
    if (a->sa.sa_family == AF_INET)
        smp->data.sint = ntohs(a->in4.sin_port);
    else if (a->sa.sa_family == AF_INET6)
        smp->data.sint = ntohs(a->in6.sin6_port);
    else
        return 0;
    return 1;
}

/* priv: 0 = source, 1 = destination. */
static int fetch_addr(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    const struct session *sess;

    if (env->strm == NULL)
        return 0;
    sess = env->strm->sess;
    return smp_set_addr(smp, priv ? &sess->dst : &sess->src);
}

static int fetch_port(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    const struct session *sess;

    if (env->strm == NULL)
        return 0;
    sess = env->strm->sess;
    return smp_set_port(smp, priv ? &sess->dst : &sess->src);
}

/* Sets <smp> to the NUL-terminated <name>, if any. */
static int smp_set_name(struct sample *smp, const char *name)
{
    if (name == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(name);
    return 1;
}

static int fetch_fe_name(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    return env->strm ? smp_set_name(smp, env->strm->fe->name) : 0;
}

static int fetch_be_name(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    return env->strm && env->strm->be ? smp_set_name(smp, env->strm->be->name)
                                      : 0;
}

static int fetch_srv_name(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    return env->strm && env->strm->srv ? smp_set_name(smp, env->strm->srv->name)
                                       : 0;
}

/* The proxy with capability <cap> named <name> in the running
 * configuration, or NULL. */
static struct proxy *proxy_named(struct ist name, unsigned cap)
{
    struct cfg *cfg = worker_cfg();
    char buf[256];

    if (cfg == NULL || name.len >= sizeof(buf))
        return NULL;
    memcpy(buf, name.ptr, name.len);
    buf[name.len] = '\0';
    return proxy_find(cfg, buf, cap);
}

static struct proxy *backend_named(struct ist name)
{
    return proxy_named(name, PX_CAP_BE);
}

/* The backend an optional argument names, else the stream's; NULL if
 * none. */
static struct proxy *backend_arg(const struct arg *args,
                                 const struct smp_env *env)
{
    if (args[0].type == ARGT_STR)
        return backend_named(args[0].data.str);
    return env->strm ? env->strm->be : NULL;
}

/* Sets <smp> to the integer <v>. */
static int smp_set_int(struct sample *smp, long long v)
{
    smp->type = SMP_T_SINT;
    smp->data.sint = v;
    return 1;
}

/* 1 if <srv> can take traffic: not "disabled" and not found down by its
 * health checks. */
static int server_usable(const struct server *srv)
{
    return !srv->disabled && server_up(srv);
}

/* nbsrv([backend]): usable servers as HAProxy counts them: the active
 * ones, else 1 if a backup can take over. */
static int fetch_nbsrv(const struct arg *args, struct sample *smp,
                       const struct smp_env *env, const void *priv)
{
    struct proxy *px = backend_arg(args, env);
    const struct server *srv;
    long long act = 0, bck = 0;

    if (px == NULL)
        return 0;
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (server_usable(srv))
            *(srv->backup ? &bck : &act) += 1;
    smp->type = SMP_T_SINT;
    smp->data.sint = act ? act : bck ? 1 : 0;
    return 1;
}

/* The server a "[backend/]server" argument names, looked up in the
 * stream's backend when none is given; NULL if there is no such server. */
static struct server *server_arg(const struct arg *args,
                                 const struct smp_env *env)
{
    struct ist a = args[0].data.str;
    const char *slash = memchr(a.ptr, '/', a.len);
    struct ist name = a;
    struct proxy *px = env->strm ? env->strm->be : NULL;
    struct server *srv;

    if (slash != NULL) {
        px = backend_named((struct ist){a.ptr, (size_t)(slash - a.ptr)});
        name = (struct ist){slash + 1, a.len - (size_t)(slash - a.ptr) - 1};
    }
    if (px == NULL)
        return NULL;
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (ist_eq(ist_from(srv->name), name))
            return srv;
    return NULL;
}

static int fetch_srv_is_up(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    const struct server *srv = server_arg(args, env);

    if (srv == NULL)
        return 0;
    smp->type = SMP_T_BOOL;
    smp->data.sint = server_usable(srv);
    return 1;
}

/* Rejects "backend/" and "/server" at load. */
static int check_server_arg(struct arg *args, char **err)
{
    struct ist a = args[0].data.str;
    const char *slash = memchr(a.ptr, '/', a.len);

    if (a.len == 0 ||
        (slash != NULL && (slash == a.ptr || slash == a.ptr + a.len - 1)))
        return set_err(err, "expects [<backend>/]<server>, got '%s'", a.ptr);
    return RC_OK;
}

/* The frontend an optional argument names, else the stream's. */
static struct proxy *frontend_arg(const struct arg *args,
                                  const struct smp_env *env)
{
    if (args[0].type == ARGT_STR)
        return proxy_named(args[0].data.str, PX_CAP_FE);
    return env->strm ? env->strm->fe : NULL;
}

/* fe_conn([frontend]): sessions of the frontend in this worker, the
 * current one included. */
static int fetch_fe_conn(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    const struct proxy *px = frontend_arg(args, env);

    return px ? smp_set_int(smp, px->feconn) : 0;
}

/* be_conn([backend]): streams of this worker the backend took, the
 * current one included once it chose the backend. */
static int fetch_be_conn(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    const struct proxy *px = backend_arg(args, env);

    return px ? smp_set_int(smp, px->beconn) : 0;
}

/* fe_sess_rate, fe_req_rate ([frontend]), be_sess_rate ([backend]):
 * events of this worker over the last second; priv 's', 'r', 'b'. */
static int fetch_rate(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    char what = *(const char *)priv;
    struct proxy *px;

    px = what == 'b' ? backend_arg(args, env) : frontend_arg(args, env);
    if (px == NULL)
        return 0;
    return smp_set_int(smp, freq_ctr_read(what == 'b'   ? &px->be_sess_rate
                                          : what == 'r' ? &px->fe_req_rate
                                                        : &px->fe_sess_rate));
}

/* 1 if <srv> of <px> is one the backend would send traffic to now: a
 * usable active server, or when none is, a usable backup (only the first
 * one without "option allbackups"). */
static int server_in_service(const struct proxy *px, const struct server *srv,
                             int any_active, const struct server *first_bck)
{
    if (!server_is_usable(srv))
        return 0;
    if (!srv->backup)
        return 1;
    return !any_active &&
           ((px->options & PX_OPT_ALLBACKUPS) || srv == first_bck);
}

/* How many servers of <px> are usable: active ones in *<act>, backups in
 * *<bck>; the first usable backup in *<first_bck>. */
static void servers_usable_count(const struct proxy *px, int *act, int *bck,
                                 const struct server **first_bck)
{
    const struct server *srv;

    *act = *bck = 0;
    *first_bck = NULL;
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        if (!server_is_usable(srv))
            continue;
        if (!srv->backup) {
            (*act)++;
        } else if ((*bck)++ == 0) {
            *first_bck = srv;
        }
    }
}

/* Free connection slots of <srv> over every worker, under its limit of
 * the moment (minconn ramp included, as HAProxy); -1 without maxconn. */
static long long server_free_slots(const struct server *srv)
{
    long long used = server_slots_used(srv);
    long long max = server_dynamic_maxconn(srv);

    if (srv->maxconn == 0)
        return -1;
    return used < max ? max - used : 0;
}

/* be_conn_free([backend]): the free slots of the servers in service; -1
 * as soon as one has no maxconn. */
static int fetch_be_conn_free(const struct arg *args, struct sample *smp,
                              const struct smp_env *env, const void *priv)
{
    const struct proxy *px = backend_arg(args, env);
    const struct server *srv, *first_bck;
    long long n = 0;
    int act, bck;

    if (px == NULL)
        return 0;
    servers_usable_count(px, &act, &bck, &first_bck);
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        if (!server_in_service(px, srv, act > 0, first_bck))
            continue;
        if (srv->maxconn == 0)
            return smp_set_int(smp, -1);
        n += server_free_slots(srv);
    }
    return smp_set_int(smp, n);
}

/* Streams waiting in <px>: its own queue (this worker's) and the queues
 * of its servers (every worker's). */
static long long backend_queued(const struct proxy *px)
{
    const struct server *srv;
    long long n = px->queue.len;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        n += server_slots_queued(srv);
    return n;
}

static int fetch_queue(const struct arg *args, struct sample *smp,
                       const struct smp_env *env, const void *priv)
{
    const struct proxy *px = backend_arg(args, env);

    return px ? smp_set_int(smp, backend_queued(px)) : 0;
}

/* avg_queue([backend]): the queued streams per server in service,
 * rounded up; twice the queue when no server is (HAProxy). */
static int fetch_avg_queue(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    const struct proxy *px = backend_arg(args, env);
    const struct server *first_bck;
    long long q, nsrv;
    int act, bck;

    if (px == NULL)
        return 0;
    servers_usable_count(px, &act, &bck, &first_bck);
    nsrv = act                                 ? act
           : bck == 0                          ? 0
           : (px->options & PX_OPT_ALLBACKUPS) ? bck
                                               : 1;
    q = backend_queued(px);
    return smp_set_int(smp, nsrv ? (q + nsrv - 1) / nsrv : q * 2);
}

/* connslots([backend]): free connection and queue slots of the servers
 * that are up, weight 0 and backups included (HAProxy); -1 as soon as one
 * lacks maxconn or maxqueue. */
static int fetch_connslots(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    const struct proxy *px = backend_arg(args, env);
    const struct server *srv;
    long long n = 0;

    if (px == NULL)
        return 0;
    for (srv = px->servers; srv != NULL; srv = srv->next) {
        if (!server_usable(srv))
            continue;
        if (srv->maxconn == 0 || srv->maxqueue == 0)
            return smp_set_int(smp, -1);
        n += (long long)srv->maxconn - server_slots_used(srv) + srv->maxqueue -
             server_slots_queued(srv);
    }
    return smp_set_int(smp, n);
}

/* What the server fetches return, by priv: 'c' srv_conn, 'q' srv_queue,
 * 'f' srv_conn_free (counted over every worker, core/server_slots.h), 'e'
 * srv_weight (effective), 'i' srv_iweight (configured), 'u' srv_uweight
 * (last set). */
static long long server_value(const struct server *srv, char what)
{
    switch (what) {
    case 'c':
        return server_slots_used(srv);
    case 'q':
        return server_slots_queued(srv);
    case 'f':
        return server_free_slots(srv);
    case 'e':
        return srv->weight;
    case 'i':
        return srv->iweight;
    default:
        return srv->uweight;
    }
}

static int fetch_srv_int(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    const struct server *srv = server_arg(args, env);

    return srv ? smp_set_int(smp, server_value(srv, *(const char *)priv)) : 0;
}

/* fe_id, be_id, srv_id: the ids of the stream's frontend, backend and
 * server ("id", or HAProxy's automatic numbers); priv 'f', 'b', 's'. */
static int fetch_id(const struct arg *args, struct sample *smp,
                    const struct smp_env *env, const void *priv)
{
    const struct stream *s = env->strm;
    char what = *(const char *)priv;

    if (s == NULL || (what == 'b' && s->be == NULL) ||
        (what == 's' && s->srv == NULL))
        return 0;
    return smp_set_int(smp, what == 'f'   ? s->fe->uuid
                            : what == 'b' ? s->be->uuid
                                          : s->srv->puid);
}

/* fe_defbe: the name of the frontend's default backend. */
static int fetch_fe_defbe(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    const struct proxy *be = env->strm ? env->strm->fe->default_backend : NULL;

    return be ? smp_set_name(smp, be->name) : 0;
}

/* fe_client_timeout, be_server_timeout, be_tunnel_timeout: as configured,
 * in ms (0: not set); priv 'c', 's', 't'. */
static int fetch_timeout(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    char what = *(const char *)priv;
    const struct proxy *px = env->strm == NULL ? NULL
                             : what == 'c'     ? env->strm->fe
                                               : env->strm->be;

    if (px == NULL)
        return 0;
    return smp_set_int(smp, what == 'c'   ? px->timeouts.client
                            : what == 's' ? px->timeouts.server
                                          : px->timeouts.tunnel);
}

/* cur_server_timeout, cur_tunnel_timeout, cur_client_timeout: in force
 * for the stream, "set-timeout" included, in ms; priv an enum stream_tmo. */
static int fetch_cur_timeout(const struct arg *args, struct sample *smp,
                             const struct smp_env *env, const void *priv)
{
    if (env->strm == NULL)
        return 0;
    return smp_set_int(
        smp, stream_timeout(env->strm, *(const enum stream_tmo *)priv));
}

/* wait_end: true once the data is final (inspect-delay over), else no
 * sample yet. */
static int fetch_wait_end(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    if (!(env->opt & SMP_OPT_FINAL)) {
        smp->flags |= SMP_F_MAY_CHANGE;
        return 0;
    }
    smp->type = SMP_T_BOOL;
    smp->data.sint = 1;
    return 1;
}

/* stopping: the worker drains after a reload or a soft stop. */
static int fetch_stopping(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_BOOL;
    smp->data.sint = worker_draining();
    return 1;
}

/* nbproc: the workers of the generation; proc: this one, from 1; thread:
 * this one, from 0 (a worker is HAProxy's process and thread alike).
 * priv 'n', 'p', 't'. */
static int fetch_worker_num(const struct arg *args, struct sample *smp,
                            const struct smp_env *env, const void *priv)
{
    const struct cfg *cfg = worker_cfg();
    char what = *(const char *)priv;

    if (what == 'n')
        return smp_set_int(smp,
                           cfg && cfg->global.nbproc ? cfg->global.nbproc : 1);
    return smp_set_int(smp, worker_id() - (what == 't'));
}

static int fetch_hostname(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    return smp_set_name(smp, logger_hostname());
}

/* No TLS yet: the connection is never ciphered. */
static int fetch_ssl_fc(const struct arg *args, struct sample *smp,
                        const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_BOOL;
    smp->data.sint = 0;
    return 1;
}

/* ---- the client connection, its listener, the host */

/* so_id: the listener's id; so_name: its "name" option, if any. */
static int fetch_so_id(const struct arg *args, struct sample *smp,
                       const struct smp_env *env, const void *priv)
{
    return env->strm ? smp_set_int(smp, listener_id(env->strm->sess->li)) : 0;
}

static int fetch_so_name(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    const struct listener *li = env->strm ? env->strm->sess->li : NULL;

    return li != NULL && li->named ? smp_set_name(smp, li->name) : 0;
}

/* dst_conn: the listener's connections in this worker, this one
 * included. */
static int fetch_dst_conn(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    return env->strm ? smp_set_int(smp, env->strm->sess->li->nconn) : 0;
}

/* 1 if <a> is an address of this host: a socket can be bound to it. */
static int addr_is_local(const union sess_addr *a)
{
    union sess_addr probe = *a;
    socklen_t len =
        a->sa.sa_family == AF_INET ? sizeof(probe.in4) : sizeof(probe.in6);
    int fd, ok;

    if (a->sa.sa_family == AF_INET)
        probe.in4.sin_port = 0;
    else
        probe.in6.sin6_port = 0;
    fd = socket(a->sa.sa_family, SOCK_DGRAM, 0);
    if (fd < 0)
        return 0;
    ok = bind(fd, &probe.sa, len) == 0;
    close(fd);
    return ok;
}

/* Sets <smp> to whether <a> is local; 0 for non-IP addresses. */
static int smp_set_local(struct sample *smp, const union sess_addr *a)
{
    if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6)
        return 0;
    smp->type = SMP_T_BOOL;
    smp->data.sint = addr_is_local(a);
    return 1;
}

/* src_is_local, dst_is_local; priv as fetch_addr(). */
static int fetch_is_local(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    const struct session *sess = env->strm ? env->strm->sess : NULL;

    return sess ? smp_set_local(smp, priv ? &sess->dst : &sess->src) : 0;
}

/* fc_rcvd_proxy: the connection began with a PROXY protocol header. */
static int fetch_fc_rcvd_proxy(const struct arg *args, struct sample *smp,
                               const struct smp_env *env, const void *priv)
{
    if (env->strm == NULL)
        return 0;
    smp->type = SMP_T_BOOL;
    smp->data.sint = env->strm->sess->proxied != 0;
    return 1;
}

/* Which address fc_src, fc_dst, bc_src, bc_dst (and their ports and
 * fc_*_is_local) read: of the client connection ('f') or the server
 * one ('b'), its source or its destination. */
struct conn_addr_sel {
    char side;
    int dst;
};

/* The local (<peer> 0) or remote address of <c>'s socket into <sa>; 1, or
 * 0 without a socket. */
static int socket_addr(struct conn *c, int peer, union sess_addr *sa)
{
    socklen_t len = sizeof(*sa);
    int fd = c ? conn_fd(c) : -1;

    if (fd < 0)
        return 0;
    memset(sa, 0, sizeof(*sa));
    return (peer ? getpeername(fd, &sa->sa, &len)
                 : getsockname(fd, &sa->sa, &len)) == 0;
}

/* The address <w> selects into <sa>: the server socket's, or the client
 * connection's as "tcp-request connection" rules left it (set-src/dst of
 * stream rules aside); a PROXY header changes src and dst, not these, as
 * in HAProxy 2.6. 1, or 0 if there is none. */
static int conn_addr_get(const struct smp_env *env,
                         const struct conn_addr_sel *w, union sess_addr *sa)
{
    const struct stream *s = env->strm;

    if (s == NULL)
        return 0;
    if (w->side == 'b')
        return socket_addr(s->ops->srv_conn ? s->ops->srv_conn(s) : NULL,
                           w->dst != 0, sa);
    if (s->sess->proxied)
        return socket_addr(s->sess->conn, !w->dst, sa);
    *sa = *stream_act_conn_addr(s, w->dst);
    return 1;
}

static int fetch_conn_addr(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    union sess_addr sa;

    return conn_addr_get(env, priv, &sa) && smp_set_addr(smp, &sa);
}

static int fetch_conn_port(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    union sess_addr sa;

    return conn_addr_get(env, priv, &sa) && smp_set_port(smp, &sa);
}

/* fc_src_is_local, fc_dst_is_local: the same of fc_src, fc_dst. */
static int fetch_fc_is_local(const struct arg *args, struct sample *smp,
                             const struct smp_env *env, const void *priv)
{
    union sess_addr sa;

    return conn_addr_get(env, priv, &sa) && smp_set_local(smp, &sa);
}

/* The TCP_INFO fetches: which field, and whether it is a time in us that
 * the optional unit argument ("ms", the default, or "us") scales. */
struct tcp_info_field {
    size_t off;
    int is_time;
};

/* fc_rtt, fc_rttvar, fc_unacked, fc_sacked, fc_retrans, fc_fackets,
 * fc_lost, fc_reordering: the kernel's view of the client socket. */
static int fetch_tcp_info(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    const struct tcp_info_field *f = priv;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    unsigned v;
    int fd;

    if (env->strm == NULL || env->strm->sess->conn == NULL)
        return 0;
    fd = conn_fd(env->strm->sess->conn);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return 0;
    memcpy(&v, (const char *)&ti + f->off, sizeof(v));
    if (f->is_time && args[0].type != ARGT_SINT)
        v /= 1000; /* ms unless told "us" (the check turned it into 1) */
    return smp_set_int(smp, v);
}

/* The unit of the TCP_INFO times: "ms" or "us", the latter kept as the
 * integer 1. */
static int check_tcp_info_unit(struct arg *args, char **err)
{
    if (args[0].type != ARGT_STR)
        return RC_OK;
    if (strcmp(args[0].data.str.ptr, "us") != 0 &&
        strcmp(args[0].data.str.ptr, "ms") != 0)
        return set_err(err, "expects 'ms' or 'us', got '%s'",
                       args[0].data.str.ptr);
    if (args[0].data.str.ptr[0] == 'm') {
        sample_args_release(args);
        return RC_OK;
    }
    free((char *)args[0].data.str.ptr);
    args[0].type = ARGT_SINT;
    args[0].data.sint = 1;
    return RC_OK;
}

/* ---- rules, the transaction, the process */

/* last_rule_file, last_rule_line: where the rule that last ended a
 * ruleset of the stream was written; priv 'f', 'l'. */
static int fetch_last_rule(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    const struct rule *r = env->strm ? env->strm->last_rule : NULL;

    if (r == NULL || r->file == NULL)
        return 0;
    if (*(const char *)priv == 'l')
        return smp_set_int(smp, r->line);
    return smp_set_name(smp, r->file);
}

/* uptime: seconds since the worker started. */
static int fetch_uptime(const struct arg *args, struct sample *smp,
                        const struct smp_env *env, const void *priv)
{
    struct worker_counts wc;

    worker_get_counts(&wc);
    return smp_set_int(smp,
                       wc.started ? (long long)(time(NULL) - wc.started) : 0);
}

/* srv_sess_rate([backend/]server): streams this worker gave the server
 * over the last second. */
static int fetch_srv_sess_rate(const struct arg *args, struct sample *smp,
                               const struct smp_env *env, const void *priv)
{
    const struct server *srv = server_arg(args, env);

    return srv ? smp_set_int(smp, freq_ctr_read(&srv->sess_rate)) : 0;
}

static const char dst_tag = 1;
static const char srv_used = 'c', srv_free = 'f', srv_queued = 'q';
static const char rate_fe_sess = 's', rate_fe_req = 'r', rate_be_sess = 'b';
static const char weight_eff = 'e', weight_init = 'i', weight_user = 'u';
static const char id_fe = 'f', id_be = 'b', id_srv = 's';
static const char tmo_client = 'c', tmo_server = 's', tmo_tunnel = 't';
static const enum stream_tmo cur_server = STREAM_TMO_SERVER,
                             cur_tunnel = STREAM_TMO_TUNNEL,
                             cur_client = STREAM_TMO_CLIENT;
static const char num_procs = 'n', num_proc = 'p', num_thread = 't';
static const char rule_file = 'f', rule_line = 'l';
static const struct conn_addr_sel sel_fc_src = {'f', 0}, sel_fc_dst = {'f', 1},
                                  sel_bc_src = {'b', 0}, sel_bc_dst = {'b', 1};
/* fc_src, fc_dst, bc_src, bc_dst. */
#define ADDR_ROW(n, p, u)                                                      \
    {                                                                          \
        .name = n, .fn = fetch_conn_addr, .out = SMP_T_ADDR, .use = u,         \
        .priv = p, .match_method = PAT_MATCH_IP                                \
    }
#define TI(field, t)                                                           \
    {                                                                          \
        offsetof(struct tcp_info, field), t                                    \
    }
static const struct tcp_info_field ti_rtt = TI(tcpi_rtt, 1),
                                   ti_rttvar = TI(tcpi_rttvar, 1),
                                   ti_unacked = TI(tcpi_unacked, 0),
                                   ti_sacked = TI(tcpi_sacked, 0),
                                   ti_retrans = TI(tcpi_retrans, 0),
                                   ti_fackets = TI(tcpi_fackets, 0),
                                   ti_lost = TI(tcpi_lost, 0),
                                   ti_reordering = TI(tcpi_reordering, 0);

#define COUNT_ROW(n, f, a, p, chk)                                             \
    {                                                                          \
        .name = n, .fn = f, .args = a, .out = SMP_T_SINT, .priv = p,           \
        .match_method = PAT_MATCH_INT, .check = chk                            \
    }

static const struct sample_fetch_kw stream_fetches[] = {
    {.name = "src",
     .fn = fetch_addr,
     .out = SMP_T_ADDR,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_IP},
    {.name = "dst",
     .fn = fetch_addr,
     .out = SMP_T_ADDR,
     .use = SMP_AVAIL_CONN,
     .priv = &dst_tag,
     .match_method = PAT_MATCH_IP},
    {.name = "src_port",
     .fn = fetch_port,
     .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_INT},
    {.name = "dst_port",
     .fn = fetch_port,
     .out = SMP_T_SINT,
     .use = SMP_AVAIL_CONN,
     .priv = &dst_tag,
     .match_method = PAT_MATCH_INT},
    {.name = "fe_name",
     .fn = fetch_fe_name,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = "be_name",
     .fn = fetch_be_name,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = "srv_name",
     .fn = fetch_srv_name,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    {.name = "nbsrv",
     .fn = fetch_nbsrv,
     .args = "S?",
     .out = SMP_T_SINT,
     .match_method = PAT_MATCH_INT},
    {.name = "srv_is_up",
     .fn = fetch_srv_is_up,
     .args = "S",
     .out = SMP_T_BOOL,
     .match_method = PAT_MATCH_BOOL,
     .check = check_server_arg},
    COUNT_ROW("fe_conn", fetch_fe_conn, "S?", NULL, NULL),
    COUNT_ROW("be_conn", fetch_be_conn, "S?", NULL, NULL),
    COUNT_ROW("be_conn_free", fetch_be_conn_free, "S?", NULL, NULL),
    COUNT_ROW("queue", fetch_queue, "S?", NULL, NULL),
    COUNT_ROW("avg_queue", fetch_avg_queue, "S?", NULL, NULL),
    COUNT_ROW("connslots", fetch_connslots, "S?", NULL, NULL),
    COUNT_ROW("srv_conn", fetch_srv_int, "S", &srv_used, check_server_arg),
    COUNT_ROW("srv_conn_free", fetch_srv_int, "S", &srv_free, check_server_arg),
    COUNT_ROW("srv_queue", fetch_srv_int, "S", &srv_queued, check_server_arg),
    COUNT_ROW("srv_weight", fetch_srv_int, "S", &weight_eff, check_server_arg),
    COUNT_ROW("srv_iweight", fetch_srv_int, "S", &weight_init,
              check_server_arg),
    COUNT_ROW("srv_uweight", fetch_srv_int, "S", &weight_user,
              check_server_arg),
    COUNT_ROW("fe_client_timeout", fetch_timeout, NULL, &tmo_client, NULL),
    COUNT_ROW("be_server_timeout", fetch_timeout, NULL, &tmo_server, NULL),
    COUNT_ROW("be_tunnel_timeout", fetch_timeout, NULL, &tmo_tunnel, NULL),
    COUNT_ROW("cur_server_timeout", fetch_cur_timeout, NULL, &cur_server, NULL),
    COUNT_ROW("cur_tunnel_timeout", fetch_cur_timeout, NULL, &cur_tunnel, NULL),
    COUNT_ROW("cur_client_timeout", fetch_cur_timeout, NULL, &cur_client, NULL),
    COUNT_ROW("fe_id", fetch_id, NULL, &id_fe, NULL),
    COUNT_ROW("be_id", fetch_id, NULL, &id_be, NULL),
    COUNT_ROW("srv_id", fetch_id, NULL, &id_srv, NULL),
    {.name = "fe_defbe",
     .fn = fetch_fe_defbe,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN},
    COUNT_ROW("fe_sess_rate", fetch_rate, "S?", &rate_fe_sess, NULL),
    COUNT_ROW("fe_req_rate", fetch_rate, "S?", &rate_fe_req, NULL),
    COUNT_ROW("be_sess_rate", fetch_rate, "S?", &rate_be_sess, NULL),
    COUNT_ROW("nbproc", fetch_worker_num, NULL, &num_procs, NULL),
    COUNT_ROW("proc", fetch_worker_num, NULL, &num_proc, NULL),
    COUNT_ROW("thread", fetch_worker_num, NULL, &num_thread, NULL),
    {.name = "wait_end",
     .fn = fetch_wait_end,
     .out = SMP_T_BOOL,
     .match_method = PAT_MATCH_BOOL},
    {.name = "stopping",
     .fn = fetch_stopping,
     .out = SMP_T_BOOL,
     .match_method = PAT_MATCH_BOOL},
    {.name = "hostname",
     .fn = fetch_hostname,
     .out = SMP_T_STR,
     .match_method = PAT_MATCH_STR},
    COUNT_ROW("so_id", fetch_so_id, NULL, NULL, NULL),
    {.name = "so_name",
     .fn = fetch_so_name,
     .out = SMP_T_STR,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_STR},
    COUNT_ROW("dst_conn", fetch_dst_conn, NULL, NULL, NULL),
    {.name = "src_is_local",
     .fn = fetch_is_local,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_BOOL},
    {.name = "dst_is_local",
     .fn = fetch_is_local,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_CONN,
     .priv = &dst_tag,
     .match_method = PAT_MATCH_BOOL},
    {.name = "fc_src_is_local",
     .fn = fetch_fc_is_local,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_CONN,
     .priv = &sel_fc_src,
     .match_method = PAT_MATCH_BOOL},
    {.name = "fc_dst_is_local",
     .fn = fetch_fc_is_local,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_CONN,
     .priv = &sel_fc_dst,
     .match_method = PAT_MATCH_BOOL},
    {.name = "fc_rcvd_proxy",
     .fn = fetch_fc_rcvd_proxy,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_BOOL},
    ADDR_ROW("fc_src", &sel_fc_src, SMP_AVAIL_CONN),
    ADDR_ROW("fc_dst", &sel_fc_dst, SMP_AVAIL_CONN),
    COUNT_ROW("fc_src_port", fetch_conn_port, NULL, &sel_fc_src, NULL),
    COUNT_ROW("fc_dst_port", fetch_conn_port, NULL, &sel_fc_dst, NULL),
    ADDR_ROW("bc_src", &sel_bc_src, SMP_AVAIL_RES),
    ADDR_ROW("bc_dst", &sel_bc_dst, SMP_AVAIL_RES),
    COUNT_ROW("bc_src_port", fetch_conn_port, NULL, &sel_bc_src, NULL),
    COUNT_ROW("bc_dst_port", fetch_conn_port, NULL, &sel_bc_dst, NULL),
    COUNT_ROW("fc_rtt", fetch_tcp_info, "S?", &ti_rtt, check_tcp_info_unit),
    COUNT_ROW("fc_rttvar", fetch_tcp_info, "S?", &ti_rttvar,
              check_tcp_info_unit),
    COUNT_ROW("fc_unacked", fetch_tcp_info, "S?", &ti_unacked,
              check_tcp_info_unit),
    COUNT_ROW("fc_sacked", fetch_tcp_info, "S?", &ti_sacked,
              check_tcp_info_unit),
    COUNT_ROW("fc_retrans", fetch_tcp_info, "S?", &ti_retrans,
              check_tcp_info_unit),
    COUNT_ROW("fc_fackets", fetch_tcp_info, "S?", &ti_fackets,
              check_tcp_info_unit),
    COUNT_ROW("fc_lost", fetch_tcp_info, "S?", &ti_lost, check_tcp_info_unit),
    COUNT_ROW("fc_reordering", fetch_tcp_info, "S?", &ti_reordering,
              check_tcp_info_unit),
    {.name = "last_rule_file",
     .fn = fetch_last_rule,
     .out = SMP_T_STR,
     .priv = &rule_file,
     .match_method = PAT_MATCH_STR},
    COUNT_ROW("last_rule_line", fetch_last_rule, NULL, &rule_line, NULL),
    COUNT_ROW("uptime", fetch_uptime, NULL, NULL, NULL),
    COUNT_ROW("srv_sess_rate", fetch_srv_sess_rate, "S", NULL,
              check_server_arg),
    {.name = "ssl_fc",
     .fn = fetch_ssl_fc,
     .out = SMP_T_BOOL,
     .use = SMP_AVAIL_CONN,
     .match_method = PAT_MATCH_BOOL},
    {.name = NULL},
};

void stream_fetch_init(void)
{
    sample_register_fetches(stream_fetches);
}
