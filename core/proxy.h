/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Proxies: frontends, backends, listen sections and defaults sections.
 * A proxy is built at configuration time, belongs to one configuration
 * generation and is immutable once the generation is validated. */
#ifndef LUAPROXY_CORE_PROXY_H
#define LUAPROXY_CORE_PROXY_H

#include "core/acl.h"
#include "core/action.h"
#include "core/cfgval.h"
#include "core/freq_ctr.h"
#include "core/lb.h"

struct listener;
struct rate_limit;
struct server;
struct stick_rule;
struct event;
struct sample_expr;
struct cfg;
struct stream;
struct lb_ops;
struct px_check;
struct logformat;

/* Traffic a proxy or a server saw, worker-local ("show stat" and Lua's
 * get_stats() show them): bytes from and to clients, HTTP requests and
 * responses by class, failed connections, retries, redispatches, the
 * transfers a client or a server cut short, the requests rules denied, and
 * the cache lookups and hits. */
struct px_counters {
    unsigned long long bytes_in, bytes_out;
    unsigned long long req_tot;
    unsigned long long hrsp[6]; /* 1xx..5xx, other */
    unsigned long long failed_conns, failed_resp;
    unsigned long long retries, redispatches;
    unsigned long long cli_aborts, srv_aborts;
    unsigned long long denied_req;  /* denied by a rule (dreq) */
    unsigned long long denied_resp; /* by tcp-response reject (dresp) */
    /* rejected by tcp-request connection and session rules (dcon, dses) */
    unsigned long long denied_conn, denied_sess;
    /* HTTP cache: lookups its cache-use rules made, and their hits */
    unsigned long long cache_lookups, cache_hits;
};
struct flt_conf;

#define PX_CAP_FE  0x1
#define PX_CAP_BE  0x2
#define PX_CAP_DEF 0x4

enum px_mode {
    PX_MODE_TCP = 0,
    PX_MODE_HTTP,
};

/* option flags */
#define PX_OPT_HTTPLOG      0x0001
#define PX_OPT_TCPLOG       0x0002
#define PX_OPT_DONTLOGNULL  0x0004
#define PX_OPT_FORWARDFOR   0x0008
#define PX_OPT_HTTPCLOSE    0x0010
#define PX_OPT_SRV_CLOSE    0x0020
#define PX_OPT_REDISPATCH   0x0040
#define PX_OPT_IGNORE_PROBE 0x0080
#define PX_OPT_ALLBACKUPS   0x0100
#define PX_OPT_BUFFER_REQ   0x0200   /* option http-buffer-request */
#define PX_OPT_SPLICE_AUTO  0x0400   /* option splice-auto */
#define PX_OPT_SPLICE_REQ   0x0800   /* option splice-request */
#define PX_OPT_SPLICE_RES   0x1000   /* option splice-response */
#define PX_OPT_HTTP_CONNECT 0x2000   /* option http-connect (http/) */
#define PX_OPT_PERSIST      0x4000   /* option persist (to down servers too) */
#define PX_OPT_CLITCPKA     0x8000   /* option clitcpka (tcpka) */
#define PX_OPT_SRVTCPKA     0x10000  /* option srvtcpka (tcpka) */
#define PX_OPT_NOLINGER     0x20000  /* option nolinger: close with a reset */
#define PX_OPT_DONTLOG_NORM 0x40000  /* option dontlog-normal */
#define PX_OPT_LOG_SEP_ERR  0x80000  /* option log-separate-errors */
#define PX_OPT_PRETEND_KA   0x100000 /* option http-pretend-keepalive */
#define PX_OPT_LOG_HEALTH   0x40000000 /* option log-health-checks */

/* "retry-on" (http/http_retry.c): the failures after which a request is
 * sent again. All but PX_RETRY_CONN need a copy of the request. */
#define PX_RETRY_CONN      0x0001 /* conn-failure (the default) */
#define PX_RETRY_EMPTY     0x0002 /* empty-response */
#define PX_RETRY_JUNK      0x0004 /* junk-response */
#define PX_RETRY_TIMEOUT   0x0008 /* response-timeout */
#define PX_RETRY_0RTT      0x0010 /* 0rtt-rejected: only with TLS early data */
#define PX_RETRY_STATUS(i) (0x0100u << (i)) /* http_retry.c's i-th status */
#define PX_RETRY_L7        (~(unsigned)PX_RETRY_CONN)

/* http-reuse: when a request may use an idle server connection. */
enum px_reuse {
    PX_REUSE_SAFE = 0, /* not for the first request of a client connection */
    PX_REUSE_NEVER,
    PX_REUSE_AGGRESSIVE,
    PX_REUSE_ALWAYS,
};

/* Timeouts in ms; 0 means not set. */
struct px_timeouts {
    unsigned client, server, connect, http_request, http_keep_alive, queue,
        tunnel, client_fin, server_fin, check, tarpit;
};

/* "option forwardfor [except NET] [header NAME] [if-none]" (the client's
 * address) and "option originalto [except NET] [header NAME]" (the address
 * it connected to): a request header naming an address of the session,
 * unless that address is in the excepted network. */
struct px_addr_hdr {
    char *header;      /* NULL: option off */
    int if_none;       /* only when the request has none (forwardfor) */
    int except_family; /* AF_INET / AF_INET6, 0: no exception */
    unsigned char except_addr[16];
    int except_bits;
};

/* "errorfile CODE FILE" (and errorloc, http-error...): a whole response
 * that replaces a built-in error page. http/ fills and uses it; core only
 * copies it from defaults and frees it. While parsing, the list also holds
 * "errorfiles NAME" references (<section> set, <raw> NULL; <status> 0 for
 * every page of the section) and resets to the built-in page (both NULL),
 * in the order written; http/ resolves them after parsing. */
struct errorfile {
    struct errorfile *next;
    int status;
    char *raw; /* status line, headers and body, as in the file */
    size_t len;
    int framed;       /* it has a Content-Length: the connection may stay */
    char *section;    /* an unresolved "errorfiles" reference, or NULL */
    const char *file; /* where it was written (cfg_intern_file) */
    int line;
};

/* Settings a protocol layer keeps in a proxy (http/'s "cookie"
 * persistence, its "stats" page): core copies them from defaults and frees
 * them through these, never reads them. */
struct px_persist_ops {
    void *(*dup)(const void *conf);
    void (*free)(void *conf);
};

/* "use_backend NAME [if COND]". */
struct switching_rule {
    struct switching_rule *next;
    char *be_name;
    struct proxy *be;              /* resolved after parsing */
    struct sample_expr *name_expr; /* "%[expr]": the name, per stream */
    struct acl_cond *cond;
    char *file;
    int line;
};

/* What the runtime API made of a frontend (worker-local). */
enum px_fe_state {
    PX_FE_READY = 0,
    PX_FE_PAUSED,  /* "disable frontend": accepts nothing for now */
    PX_FE_STOPPED, /* "shutdown frontend": for good */
};

struct proxy {
    struct proxy *next; /* in the generation's list */
    char *name;
    int uuid;        /* "id N", or the next number no proxy took (proxy_ids) */
    int uuid_forced; /* numbered by "id" */
    unsigned cap;
    enum px_mode mode;
    unsigned options;
    struct px_timeouts timeouts;
    unsigned inspect_delay;     /* tcp-request inspect-delay, ms */
    unsigned res_inspect_delay; /* tcp-response inspect-delay, ms */
    int maxconn;
    enum px_fe_state fe_state;
    int rate_sess; /* "rate-limit sessions": per second, 0: none */
    struct rate_limit *sess_rate; /* its shared counter (rate_limit.c) */
    int fullconn; /* the backend load (streams) at which servers reach
                   * their maxconn; 0 until set or derived after parsing */
    int retries;
    unsigned retry_on; /* PX_RETRY_* */
    enum px_reuse reuse;
    struct px_addr_hdr fwdfor, origto;
    /* TCP keep-alive probes of client and server sockets (clitcpka-*,
     * srvtcpka-*): count, idle and interval in ms; 0: the system's */
    struct px_tcpka {
        int cnt;
        unsigned idle, intvl;
    } cli_ka, srv_ka;
    char *send_name_hdr;         /* http-send-name-header, or NULL */
    struct cfg_addr source;      /* "source": local address of the connections
                                  * to the servers and checks; family 0: none */
    struct stick_rule *sticking; /* "stick" rules (core/stick_rules.h) */
    /* option http-restrict-req-hdr-names: 0 preserve, 1 delete, 2 reject */
    int restrict_hdr_names;
    /* "unique-id-format" (compiled at post-parse) and "unique-id-header" */
    char *uid_format;
    const char *uid_file;
    int uid_line;
    struct logformat *uid_lf;
    char *uid_header;
    struct listener *listeners;
    struct server *servers;
    struct server *defsrv; /* default-server settings, or NULL */
    /* "dispatch ADDR:PORT": without "balance", every stream not sent to a
     * server by persistence goes there; not in <servers> (no statistics,
     * no checks), named "<NOSRV>" in logs as in HAProxy. NULL: none */
    struct server *dispatch;
    struct px_check *chk; /* option httpchk, or NULL: connect only */
    struct errorfile *errorfiles;
    struct flt_conf *filters; /* "filter" lines, in order (core/filter.h) */
    void *persist;            /* persistence settings, or NULL */
    const struct px_persist_ops *persist_ops;
    void *stats; /* the statistics page's settings ("stats ..."), or NULL */
    const struct px_persist_ops *stats_ops;
    struct acl_list acls;
    struct rule_list rules[RULESET_COUNT];
    struct switching_rule *switching;
    char *default_backend_name;
    struct proxy *default_backend;
    char *file;
    int line;
    /* load balancing ("balance", "hash-type"), see core/lb.h */
    const struct lb_ops *lb;
    struct sample_expr *lb_key; /* hashed by hashing algorithms */
    int lb_consistent;          /* hash-type consistent */
    int lb_uri_whole, lb_uri_len, lb_uri_depth;
    int lb_draws;           /* random(N) */
    void *lb_data;          /* the algorithm's state, worker-local */
    unsigned rr_next;       /* static round robin position */
    unsigned feconn;        /* sessions of a frontend, worker-local */
    unsigned beconn;        /* streams a backend took, worker-local */
    struct px_counters cnt; /* as a frontend, and as a backend */
    struct px_counters be_cnt;
    /* worker-local rates: sessions of a frontend, its HTTP requests,
     * streams a backend took */
    struct freq_ctr fe_sess_rate, fe_req_rate, be_sess_rate;
    struct stream_queue queue; /* waiting for any server's slot */
    struct event *queue_poll;  /* looks for slots freed by other workers */
};

/* Copies the one errorfile entry <src> (its next is not followed). */
struct errorfile *errorfile_dup(const struct errorfile *src);
/* Frees the errorfile list <e> and everything its entries own. */
void errorfiles_free(struct errorfile *e);

/* Creates a proxy named <name> with capabilities <cap>, inheriting the
 * settings of <defaults> (may be NULL). */
struct proxy *proxy_new(const char *name, unsigned cap,
                        const struct proxy *defaults, const char *file,
                        int line);
/* Frees <px> and everything it owns. */
void proxy_free(struct proxy *px);
/* Applies <px>'s socket options to the connected socket <fd>: the client
 * side (<client> 1: clitcpka, its probes, nolinger) or the server side
 * (srvtcpka, its probes, nolinger), and the global buffer sizes of that
 * side (tune.rcvbuf/sndbuf.*). Failures are ignored. */
void proxy_sock_opts(const struct proxy *px, int fd, int client);
/* Finds a proxy of <cfg> named <name> with at least capability <cap>. */
struct proxy *proxy_find(const struct cfg *cfg, const char *name, unsigned cap);
/* Registers the runtime API's frontend commands (core/proxy_cli.c). */
void proxy_cli_init(void);
/* Pauses, resumes or stops (for good) the accepts of frontend <px> in
 * this worker; nothing for a stopped one. */
void proxy_fe_set_state(struct proxy *px, enum px_fe_state st);
/* What one worker makes every worker do to a proxy. */
enum proxy_op {
    PROXY_OP_PAUSE,
    PROXY_OP_RESUME,
    PROXY_OP_STOP,
    PROXY_OP_KILL_BACKUP, /* end the streams on its backup servers */
    PROXY_OP_KILL_SERVER, /* end the streams on one of its servers */
};
struct server;
/* Applies <op> to <px> (<srv>: the server of PROXY_OP_KILL_SERVER, else
 * NULL) here, and has the master relay it to the other workers. */
void proxy_op_shared(struct proxy *px, struct server *srv, enum proxy_op op);
/* Applies an operation relayed by the master (CHANNEL_PX_OP). */
void proxy_op_receive(int op, const char *data, size_t len);
/* Returns "frontend", "backend", "listen" or "defaults". */
const char *proxy_cap_name(const struct proxy *px);
/* The backend for stream <s> of a frontend: its use_backend rules in
 * order, then default_backend; NULL if none applies. */
struct proxy *proxy_choose_backend(struct stream *s);
/* Gives every proxy of <cfg> and every server its number as HAProxy does:
 * the one its "id" says, else the next one counting in order past the ids
 * taken; logs each clash with file:line and returns how many. */
int proxy_ids_assign(struct cfg *cfg);
/* Post-parse checks of every proxy (backends resolved, servers present);
 * logs each problem with file:line and returns the number of errors. */
int proxies_check(struct cfg *cfg);

#endif
