/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Backend servers and the choice of one for a request. */
#ifndef LUAPROXY_CORE_SERVER_H
#define LUAPROXY_CORE_SERVER_H

#include <time.h>

#include "core/cfgval.h"
#include "core/lb.h"
#include "core/proxy.h"

struct proxy;
struct cfg_ctx;
struct conn;
struct session;
struct idle_conn;
struct check_run;
struct server_slots;

/* A server's health, in memory shared by every worker of a generation:
 * the worker that runs the checks writes it, the others read it. */
struct server_health {
    int up;           /* 1 up, 0 down */
    int health;       /* HAProxy's health counter (core/check.c) */
    unsigned changes; /* transitions so far */
    int paused;       /* checks disabled at runtime: the state holds */
    int nolb;         /* up, but answered 404 with http-check
                       * disable-on-404: no new traffic (NOLB) */
    unsigned long long up_since; /* ms (wall clock) the checks last brought
                                  * it up, 0: up since the start */
    /* "observe": consecutive errors seen in traffic by any worker, the
     * kind of the last (enum check_obs), and how many times they reached
     * "error-limit" (hanafail); atomics, written by every worker */
    int obs_errors;
    int obs_last;
    unsigned obs_limits;
    /* "agent-check", written by the checking worker: the agent said down
     * (down, stopped, fail); the weight and maxconn it last gave (-1:
     * none), applied by every worker when <agent_seq> moves */
    int agent_down;
    int agent_paused; /* Server:agent_disable(), "disable agent": what it
                       * said holds */
    int agent_weight, agent_maxconn;
    unsigned agent_seq;
    /* the last check, as HAProxy numbers them in "show servers state":
     * its status (HCHK_STATUS_*, 1 before the first) and result (0
     * unknown, 2 failed, 3 passed, 4 passed conditionally) */
    int check_status, check_result;
};

/* "observe": what traffic tells of a server's health. */
enum server_observe {
    SRV_OBSERVE_NONE = 0,
    SRV_OBSERVE_LAYER4,
    SRV_OBSERVE_LAYER7,
};

/* "on-error": what "error-limit" consecutive observed errors do. */
enum server_on_error {
    SRV_ON_ERROR_FAIL_CHECK = 0, /* count as a failed check (default) */
    SRV_ON_ERROR_FASTINTER,      /* only bring the next check forward */
    SRV_ON_ERROR_SUDDEN_DEATH,   /* one more failed check marks it down */
    SRV_ON_ERROR_MARK_DOWN,      /* down at once */
};

/* "init-addr" methods, tried in order for a server named by host name. */
enum server_init_addr {
    SRV_INIT_ADDR_END = 0, /* end of the list */
    SRV_INIT_ADDR_LAST,    /* the server-state file: not supported, skipped */
    SRV_INIT_ADDR_LIBC,    /* getaddrinfo() in the master, at load */
    SRV_INIT_ADDR_NONE,    /* no address: the server starts in maintenance */
    SRV_INIT_ADDR_IP,      /* the address given */
};

#define SRV_INIT_ADDR_MAX 4

struct server {
    struct server *next;
    struct proxy *px;
    char *name;
    struct cfg_addr addr; /* family AF_UNSPEC: none (init-addr none) */
    /* init-addr, in order; one address at most for the IP method */
    unsigned char init_addr[SRV_INIT_ADDR_MAX + 1];
    struct cfg_addr init_ip;
    int weight;  /* effective: what balancing uses (0 while draining) */
    int iweight; /* as configured */
    int uweight; /* as last set ("set weight"), kept while draining */
    int drain;   /* "set server ... state drain": no new traffic */
    int maxconn;
    int minconn;      /* with maxconn, the limit ramps from it to maxconn as
                       * the backend's load nears its fullconn; see
                       * server_dynamic_maxconn() */
    int maxqueue;     /* streams waiting in its queue, all workers; 0: any */
    int disabled;     /* "disabled", or maintenance ("set server ... maint") */
    int cfg_disabled; /* "disabled" in the configuration, for ever */
    int backup;
    int lb_cw; /* smooth round robin current weight */
    /* health checks ("check", "inter", "rise", "fall"...) */
    int check;
    unsigned inter, fastinter, downinter; /* ms */
    unsigned slowstart;                   /* ms, 0: none */
    char *track;     /* "track [backend/]server": its health is that one's */
    char *redir;     /* "redir PREFIX": GET and HEAD get a 302 there instead */
    int puid;        /* "id N", or the next number its backend left free */
    int puid_forced; /* numbered by "id" */
    struct cfg_addr check_addr; /* "addr": where checks go (family 0: the
                                 * server's own address) */
    struct server *tracked;     /* that server, once resolved */
    struct cfg_addr source;     /* "source": the local address of its
                                 * connections and checks (family 0: the
                                 * backend's, see server_source()) */
    int rise, fall;
    enum server_observe observe;
    int error_limit;               /* "error-limit", 10 by default */
    enum server_on_error on_error; /* "on-error" */
    int on_marked_down;            /* "on-marked-down shutdown-sessions" */
    int on_marked_up;              /* "on-marked-up
                                    * shutdown-backup-sessions" */
    unsigned seen_changes;         /* worker-local: health->changes acted on */
    struct stream *streams;        /* worker-local: streams holding one of
                                    * its slots (lb.c), which
                                    * on-marked-down/up and "shutdown
                                    * sessions" end */
    char *cookie;         /* "cookie VALUE": names it to persistence, or NULL */
    int check_port;       /* 0: the server's port */
    int check_port_moved; /* worker-local: changed by the runtime API */
    /* "agent-check": the agent's address (family 0: the checks') and
     * port, its interval (ms) and what is sent to it first */
    int agent;
    struct cfg_addr agent_addr;
    int agent_port;
    unsigned agent_inter;
    char *agent_send;
    struct check_run *agent_run; /* the checking worker's state */
    unsigned agent_seen;         /* worker-local: agent_seq applied */
    int send_proxy;      /* PROXY protocol version to send first, 0: none */
    int pool_max;        /* pool-max-conn: idle connections kept, -1: any */
    unsigned pool_purge; /* pool-purge-delay: an idle one lives this long */
    struct server_health *health; /* shared; for a tracking server, that of
                                   * the server it tracks (NULL until
                                   * resolved) */
    struct check_run *run;        /* the checking worker's state */
    unsigned cur_conns;           /* worker-local */
    struct server_slots *slots;   /* shared by every worker, see
                                   * core/server_slots.h */
    unsigned long long served;
    struct freq_ctr sess_rate; /* streams it took, worker-local */
    struct px_counters cnt;
    struct stream_queue queue; /* waiting for this server, worker-local */
    struct idle_conn *idle;    /* connections kept for reuse, worker-local */
    unsigned nidle;
    /* worker-local use of connections, which bounds the idle pool as
     * HAProxy's est_need_conns does: in use now, most in use since the
     * estimate, the estimate (idle + in use worth keeping) and its time */
    unsigned used_conns, max_used, est_need;
    struct timeval est_at;
    time_t last_change; /* worker-local: last change of state, 0: none
                         * since the worker started */
    const char *file;
    int line;
};

/* Parses "server NAME ADDR [options]" into <px>, starting from the
 * proxy's default-server settings; RC_OK or RC_ERR. */
int server_parse(struct cfg_ctx *ctx, struct proxy *px, int argc, char **args,
                 char **err);
/* Parses "dispatch ADDR:PORT" into <px>: the address (a host name is
 * resolved now) of the server that takes the streams of a backend without
 * "balance"; a later line replaces it. RC_OK or RC_ERR. */
int server_parse_dispatch(struct cfg_ctx *ctx, struct proxy *px,
                          const char *addr, char **err);
/* Parses "server-template PREFIX NUM|LOW-HIGH ADDR [options]" into <px>:
 * the servers PREFIX<n> for n in 1..NUM or LOW..HIGH, each as a "server"
 * line at <addr>; RC_OK or RC_ERR. */
int server_parse_template(struct cfg_ctx *ctx, struct proxy *px, int argc,
                          char **args, char **err);
/* The connections <srv> may have now, all workers together, 0 for no
 * limit: its maxconn, or with a minconn below it, a share of its maxconn
 * growing with the streams its backend holds in this worker up to the
 * backend's fullconn, never below the minconn (HAProxy's dynamic maxconn). */
unsigned server_dynamic_maxconn(const struct server *srv);
/* After parsing: a minconn alone or above the maxconn becomes the maxconn,
 * and no minconn is the maxconn (a fixed limit), as HAProxy does. */
void server_limits_finish(struct server *srv);
/* Parses "source ADDR[:PORT]" with args[*i] "source": the address into
 * *<out>, <i> moved onto it; "usesrc" or "interface" after it is refused
 * as not supported. RC_OK or RC_ERR. */
int server_parse_source(int *i, int argc, char **args, struct cfg_addr *out,
                        char **err);
/* The local address <srv>'s connections and checks bind to: its own
 * "source", else its backend's, else NULL (the system's choice). */
const struct cfg_addr *server_source(const struct server *srv);
/* Parses "default-server [options]" into <px>'s template. */
int server_parse_defaults(struct proxy *px, int argc, char **args, char **err);
/* A new server template with HAProxy's defaults; the caller frees it. */
struct server *server_template_new(void);
/* A copy of the template <t>, owning its own strings; freed by
 * server_free(). */
struct server *server_template_dup(const struct server *t);
/* Returns 1 unless health checks or its agent found <srv> down. */
static inline int server_up(const struct server *srv)
{
    return srv->health == NULL || (srv->health->up && !srv->health->agent_down);
}

/* Returns 1 if checks, an agent or the server it tracks tell the health
 * of <srv> (every server but the tracking ones has a shared health, which
 * only the runtime API changes for a server without checks). */
static inline int server_checked(const struct server *srv)
{
    return srv->check || srv->agent || srv->tracked != NULL;
}

/* Returns 1 if health checks took <srv> out of balancing (NOLB). */
static inline int server_nolb(const struct server *srv)
{
    return srv->health != NULL && srv->health->nolb;
}

/* Takes a connection to <srv> kept idle by server_put_idle(), or NULL.
 * The caller owns it and sets its own callbacks. */
struct conn *server_take_idle(struct server *srv);
/* A stream starts using a connection to <srv>, new or idle. */
void server_conn_used(struct server *srv);
/* The stream using <conn>, a connection to <srv> with nothing in flight,
 * is done with it: it is kept for a later request unless the pool is full
 * (pool-max-conn) or holds what recent use says will be needed (one at
 * least, as HAProxy); a kept one is closed if the server sends anything or
 * closes, or after the server's pool-purge-delay. Takes ownership. */
void server_put_idle(struct server *srv, struct conn *conn);
/* The stream using <conn>, a connection to <srv>, closes it. */
void server_conn_close(struct server *srv, struct conn *conn);
/* Opens the new connection <conn> (conn_new(-1)) to <srv> for a client of
 * <sess>: the connect, the backend's socket options (srvtcpka,
 * nolinger), then the PROXY header if the server wants one. RC_OK, or
 * RC_ERR if the socket could not be made. */
int server_connect(struct server *srv, struct conn *conn,
                   const struct session *sess);
/* The administrative states of the runtime API ("set server ... state"). */
enum server_admin {
    SERVER_READY,
    SERVER_DRAIN,
    SERVER_MAINT,
};
/* Puts <srv> in state <st>. */
void server_set_admin(struct server *srv, enum server_admin st);
/* After the health of checked servers is in place: every tracking server
 * shares the health of the server it tracks (chains allowed); logs each
 * error with file:line and returns how many. */
int server_track_resolve(struct cfg *cfg);
/* The weight <srv> takes now for the configured <w>: 0 while draining or
 * NOLB; during its "slowstart" after checks brought it back up, with a
 * dynamic algorithm, a share of <w> growing with the time (at least 1). */
int server_effective_weight(const struct server *srv, int w);
/* The same in this worker and, through the master, in the other workers
 * of the generation (the stats page and Lua, where HAProxy's threads share
 * the state; the runtime API reaches every worker by itself). */
void server_set_admin_shared(struct server *srv, enum server_admin st);
/* The proxy with capability <cap> (in *<px>, or NULL) and its server
 * (or NULL) that <data> names as "proxy\0server\0" (what workers share
 * through the master). */
struct server *server_from_names(const char *data, size_t len, unsigned cap,
                                 struct proxy **px);
/* Applies a state another worker shared: <data> is "backend\0server\0". */
void server_admin_receive(int st, const char *data, size_t len);
/* Sets the weight of <srv> (0..256), kept aside while it drains. */
void server_set_weight(struct server *srv, int weight);
/* Ends every stream of this worker holding a slot of <srv>, logged with
 * the termination cause <cause> ('D' down, 'U' up, 'K' killed). */
void server_kill_streams(struct server *srv, char cause);
/* Registers the runtime API's server commands (core/server_cli.c). */
void server_cli_init(void);
/* Frees <srv>. */
void server_free(struct server *srv);

#endif
