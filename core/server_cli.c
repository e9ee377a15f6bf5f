/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runtime API's server commands (HAProxy's names and answers): get
 * and set weight; set server addr, agent, check-port, health, state and
 * weight; set maxconn server; enable and disable server, health and
 * agent; shutdown sessions server; show servers state and show backend.
 * Each worker balances on its own copy; the master sends the changes to
 * every worker (CLI_F_WRITE). The health and the agent's state are shared
 * (core/check.c): the checking worker, worker 1, forces them and the
 * others follow. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cfg.h"
#include "core/check.h"
#include "core/cli.h"
#include "core/conn.h"
#include "core/errors.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/worker.h"

/* The server "<backend>/<server>" names, or NULL after the complaint. */
static struct server *server_cli_find(struct cli_req *req, char *name)
{
    char *slash = strchr(name, '/');
    struct proxy *px;
    struct server *srv;

    if (slash == NULL)
        return cli_fail(req, "Require 'backend/server'.\n"), NULL;
    *slash = '\0';
    px = proxy_find(worker_cfg(), name, PX_CAP_BE);
    *slash = '/';
    if (px == NULL)
        return cli_fail(req, "No such backend.\n"), NULL;
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (strcmp(srv->name, slash + 1) == 0)
            return srv;
    return cli_fail(req, "No such server.\n"), NULL;
}

/* Applies "N" (absolute) or "N%" (of the configured weight) to <srv>. */
static int server_cli_weight(struct cli_req *req, struct server *srv,
                             const char *s)
{
    char *end;
    long w = strtol(s, &end, 10);

    if (end == s || (*end != '\0' && strcmp(end, "%") != 0))
        return cli_fail(req, "Require <weight> or <weight%%>.\n");
    if (*end == '%') {
        if (w < 0)
            return cli_fail(req, "Relative weight must be positive.\n");
        if (w > 25600) /* 256 at most, whatever the configured weight */
            w = 25600;
        w = w * srv->iweight / 100;
        if (w > 256)
            w = 256;
    } else if (w < 0 || w > 256) {
        return cli_fail(req, "Absolute weight can only be between 0 and 256 "
                             "inclusive.\n");
    }
    server_set_weight(srv, (int)w);
    return RC_OK;
}

/* The server of a "<command> <command> <backend>/<server>" line, or NULL
 * after the complaint. */
static struct server *server_cli_target(struct cli_req *req, int argc,
                                        char **args)
{
    if (argc != 3)
        return cli_fail(req, "Require 'backend/server'.\n"), NULL;
    return server_cli_find(req, args[2]);
}

/* "get weight <backend>/<server>". */
static int server_cli_get_weight(struct cli_req *req, int argc, char **args,
                                 void *arg)
{
    struct server *srv = server_cli_target(req, argc, args);

    if (srv == NULL)
        return RC_ERR;
    cli_printf(req, "%d (initial %d)\n", srv->uweight, srv->iweight);
    return RC_OK;
}

/* "set weight <backend>/<server> <weight>[%]". */
static int server_cli_set_weight(struct cli_req *req, int argc, char **args,
                                 void *arg)
{
    struct server *srv;

    if (argc != 4)
        return cli_fail(req, "Require 'backend/server' and 'weight' or "
                             "'weight%%'.\n");
    if ((srv = server_cli_find(req, args[2])) == NULL)
        return RC_ERR;
    return server_cli_weight(req, srv, args[3]);
}

/* The IP of <a> as text in <buf> (INET6_ADDRSTRLEN bytes), or "-". */
static const char *server_cli_ip(const struct cfg_addr *a, char *buf)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

    if (a->family == AF_INET)
        return inet_ntop(AF_INET, &sin->sin_addr, buf, INET6_ADDRSTRLEN);
    if (a->family == AF_INET6)
        return inet_ntop(AF_INET6, &sin6->sin6_addr, buf, INET6_ADDRSTRLEN);
    return "-";
}

/* The port of <a>, 0 for none. */
static int server_cli_port(const struct cfg_addr *a)
{
    if (a->family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

/* Makes <a> the address <ip> (text), port 0; RC_ERR if <ip> is not an
 * IPv4 or IPv6 address. */
static int server_cli_set_ip(struct cfg_addr *a, const char *ip)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

    memset(a, 0, sizeof(*a));
    a->fd = -1;
    a->port_set = 1;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
        a->family = sin->sin_family = AF_INET;
        a->len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
        a->family = sin6->sin6_family = AF_INET6;
        a->len = sizeof(*sin6);
    } else {
        return RC_ERR;
    }
    return RC_OK;
}

/* Sets the port of <a>, an IPv4 or IPv6 address. */
static void server_cli_set_port(struct cfg_addr *a, int port)
{
    if (a->family == AF_INET)
        ((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)port);
    else if (a->family == AF_INET6)
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((uint16_t)port);
}

/* Reads the port <s>, 0 to 65535; -1 if it is not one. */
static int server_cli_parse_port(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < 0 || v > 65535)
        return -1;
    return (int)v;
}

/* The port part of "set server ... addr <ip> port <port>": appends to the
 * answer what became of the port <s> of <srv>; RC_ERR if it was refused. */
static int server_cli_addr_port(struct cli_req *req, struct server *srv,
                                const char *s)
{
    int port = server_cli_parse_port(s), was = server_cli_port(&srv->addr);

    if ((s[0] == '+' || s[0] == '-') && srv->check && srv->check_port == 0) {
        cli_printf(req, "can't change <port> to port map because it is "
                        "incompatible with current health check port "
                        "configuration (use 'port' statement from the "
                        "'server' directive.");
        return RC_ERR;
    }
    if (s[0] == '+' || s[0] == '-') {
        cli_printf(req, "can't change <port> to port map: port maps are not "
                        "supported");
        return RC_ERR;
    }
    if (port < 0) {
        cli_printf(req, "problem converting port '%s' to an int", s);
        return RC_ERR;
    }
    if (port == was) {
        cli_printf(req, "no need to change the port");
        return RC_OK;
    }
    server_cli_set_port(&srv->addr, port);
    cli_printf(req, "port changed from '%d' to '%d'", was, port);
    return RC_OK;
}

/* Closes the connections to <srv> kept for reuse: they lead to the address
 * it had. */
static void server_cli_drop_idle(struct server *srv)
{
    struct conn *conn;

    while ((conn = server_take_idle(srv)) != NULL)
        conn_free(conn);
}

/* "set server <b>/<s> addr <ip> [port <port>]": checks and new
 * connections go to the new address; HAProxy's answer says what changed,
 * "by 'stats socket command'". */
static int server_cli_addr(struct cli_req *req, struct server *srv, int argc,
                           char **args)
{
    char was[INET6_ADDRSTRLEN], now[INET6_ADDRSTRLEN];
    struct cfg_addr n;
    const char *port = NULL;
    int rc = RC_OK, i;

    if (argc < 5)
        return cli_fail(req, "set server <b>/<s> addr requires an address "
                             "and optionally a port.\n");
    for (i = 5; i < argc; i++)
        if (strcmp(args[i], "port") == 0)
            port = i + 1 < argc ? args[i + 1] : "";
    if (server_cli_set_ip(&n, args[4]) != RC_OK)
        return cli_fail(req, "Invalid addr '%s' by 'stats socket command'\n",
                        args[4]);
    /* as HAProxy: a server without an address (init-addr none) gets one
     * from the configuration only */
    if (srv->addr.family != AF_INET && srv->addr.family != AF_INET6)
        return cli_fail(req, "Update for the current server address family "
                             "is only supported through configuration file "
                             "by 'stats socket command'\n");
    server_cli_set_port(&n, server_cli_port(&srv->addr));
    if (strcmp(server_cli_ip(&srv->addr, was), server_cli_ip(&n, now)) != 0)
        cli_printf(req, "IP changed from '%s' to '%s'", was, now);
    else
        cli_printf(req, "no need to change the addr");
    srv->addr = n;
    if (port != NULL) {
        cli_printf(req, ", ");
        rc = server_cli_addr_port(req, srv, port);
    }
    cli_printf(req, " by 'stats socket command'\n");
    srv->last_change = time(NULL);
    server_cli_drop_idle(srv);
    if (rc != RC_OK)
        req->failed = 1;
    return rc;
}

/* "set server <b>/<s> health up|stopping|down": in the checking worker. */
static int server_cli_health(struct cli_req *req, struct server *srv, int argc,
                             char **args)
{
    static const char *const words[] = {"up", "stopping", "down"};
    static const enum check_force force[] = {
        CHECK_FORCE_UP, CHECK_FORCE_STOPPING, CHECK_FORCE_DOWN};
    int i;

    if (srv->tracked != NULL)
        return cli_fail(req, "cannot change health on a tracking server.\n");
    for (i = 0; i < 3; i++)
        if (argc == 5 && strcmp(args[4], words[i]) == 0) {
            if (worker_id() == 1)
                check_force(srv, force[i], "CLI");
            return RC_OK;
        }
    return cli_fail(req, "'set server <srv> health' expects 'up', "
                         "'stopping', or 'down'.\n");
}

/* "set server <b>/<s> agent up|down": in the checking worker. */
static int server_cli_agent(struct cli_req *req, struct server *srv, int argc,
                            char **args)
{
    int down;

    if (!srv->agent || srv->health->agent_paused)
        return cli_fail(req, "agent checks are not enabled on this server.\n");
    if (argc != 5 ||
        (strcmp(args[4], "up") != 0 && strcmp(args[4], "down") != 0))
        return cli_fail(req, "'set server <srv> agent' expects 'up' or "
                             "'down'.\n");
    down = strcmp(args[4], "down") == 0;
    if (worker_id() == 1)
        check_force(srv, down ? CHECK_FORCE_AGENT_DOWN : CHECK_FORCE_AGENT_UP,
                    "CLI");
    return RC_OK;
}

/* "set server <b>/<s> check-port <port>": the next checks go there (0:
 * the server's port). */
static int server_cli_check_port(struct cli_req *req, struct server *srv,
                                 int argc, char **args)
{
    char *end;
    long v;

    if (argc != 5)
        return cli_fail(req, "set server <b>/<s> check-port requires a "
                             "port.\n");
    if (!srv->check || srv->health->paused)
        return cli_fail(req, "health checks are not enabled on this server");
    v = strtol(args[4], &end, 10);
    if (end == args[4] || *end != '\0')
        return cli_fail(req, "provided port is not an integer");
    if (v < 0 || v > 65535)
        return cli_fail(req, "provided port is invalid");
    /* as HAProxy: a server without an agent port shows the configured
     * check port as its agent's, whatever the runtime API sets later */
    if (srv->agent_port == 0 && !srv->check_port_moved)
        srv->agent_port = srv->check_port;
    srv->check_port_moved = 1;
    srv->check_port = (int)v;
    return RC_OK;
}

/* "set server <b>/<s> state ready|drain|maint". */
static int server_cli_state(struct cli_req *req, struct server *srv, int argc,
                            char **args)
{
    static const char *const states[] = {"ready", "drain", "maint"};
    int i;

    for (i = 0; i < 3; i++)
        if (argc == 5 && strcmp(args[4], states[i]) == 0) {
            server_set_admin(srv, (enum server_admin)i);
            return RC_OK;
        }
    return cli_fail(req, "'set server <srv> state' expects 'ready', 'drain' "
                         "and 'maint'.\n");
}

/* "set server <b>/<s> weight <weight>[%]". */
static int server_cli_server_weight(struct cli_req *req, struct server *srv,
                                    int argc, char **args)
{
    if (argc != 5)
        return cli_fail(req, "Require <weight> or <weight%%>.\n");
    return server_cli_weight(req, srv, args[4]);
}

/* What "set server <b>/<s> <what> ..." does, by <what>. */
static const struct {
    const char *what;
    int (*fn)(struct cli_req *req, struct server *srv, int argc, char **args);
} server_cli_sets[] = {
    {"addr", server_cli_addr},
    {"agent", server_cli_agent},
    {"check-port", server_cli_check_port},
    {"health", server_cli_health},
    {"state", server_cli_state},
    {"weight", server_cli_server_weight},
};

/* "set server <backend>/<server> <what> ...". */
static int server_cli_set_server(struct cli_req *req, int argc, char **args,
                                 void *arg)
{
    struct server *srv;
    size_t i;

    if (argc < 3)
        return cli_fail(req, "Require 'backend/server'.\n");
    if ((srv = server_cli_find(req, args[2])) == NULL)
        return RC_ERR;
    for (i = 0;
         argc > 3 && i < sizeof(server_cli_sets) / sizeof(server_cli_sets[0]);
         i++)
        if (strcmp(args[3], server_cli_sets[i].what) == 0)
            return server_cli_sets[i].fn(req, srv, argc, args);
    return cli_fail(req, "usage: set server <backend>/<server> addr | agent | "
                         "agent-addr | agent-port | agent-send | check-addr | "
                         "check-port | fqdn | health | ssl | state | "
                         "weight\n");
}

/* "set maxconn server <backend>/<server> <maxconn>": 0 for no limit; a
 * dynamic limit (minconn) ramps up to the new maxconn. */
static int server_cli_set_maxconn(struct cli_req *req, int argc, char **args,
                                  void *arg)
{
    struct server *srv;
    char *end;
    long v;

    if (argc < 4)
        return cli_fail(req, "Require 'backend/server'.\n");
    if ((srv = server_cli_find(req, args[3])) == NULL)
        return RC_ERR;
    if (argc < 5 || args[4][0] == '\0')
        return cli_fail(req, "Require <maxconn>.\n");
    v = strtol(args[4], &end, 10);
    if (end == args[4])
        return cli_fail(req, "maxconn string empty or preceded by garbage");
    if (*end != '\0')
        return cli_fail(req, "Trailing garbage in maxconn string");
    if (v < 0)
        v = 0;
    else if (v > INT_MAX)
        v = INT_MAX;
    /* as HAProxy: a fixed limit (no minconn below it) stays fixed */
    if (srv->minconn == srv->maxconn)
        srv->minconn = (int)v;
    srv->maxconn = (int)v;
    return RC_OK;
}

/* "enable|disable health|agent <backend>/<server>": the checks (the
 * agent) stop or start again; the state they gave holds meanwhile. */
static int server_cli_checks(struct cli_req *req, int argc, char **args,
                             void *arg)
{
    struct server *srv = server_cli_target(req, argc, args);
    int off = args[0][0] == 'd';

    if (srv == NULL)
        return RC_ERR;
    if (srv->tracked != NULL)
        return RC_OK; /* nothing checks it: as HAProxy, nothing to say */
    if (args[1][0] == 'h')
        srv->health->paused = off;
    else
        srv->health->agent_paused = off;
    return RC_OK;
}

/* "enable server" / "disable server" <backend>/<server>. */
static int server_cli_enable(struct cli_req *req, int argc, char **args,
                             void *arg)
{
    struct server *srv = server_cli_target(req, argc, args);

    if (srv == NULL)
        return RC_ERR;
    server_set_admin(srv, args[0][0] == 'e' ? SERVER_READY : SERVER_MAINT);
    return RC_OK;
}

/* "shutdown sessions server <backend>/<server>": every stream using it
 * ends, logged with the termination cause K. */
static int server_cli_shutdown(struct cli_req *req, int argc, char **args,
                               void *arg)
{
    struct server *srv;

    if (argc != 4)
        return cli_fail(req, "Require 'backend/server'.\n");
    if ((srv = server_cli_find(req, args[3])) == NULL)
        return RC_ERR;
    server_kill_streams(srv, 'K');
    return RC_OK;
}

/* HAProxy's operational states (SRV_ST_*), administrative flags
 * (SRV_ADMF_*) and check state flags (CHK_ST_*) as "show servers state"
 * prints them. */
enum {
    SRV_STATE_STOPPED = 0,
    SRV_STATE_STARTING,
    SRV_STATE_RUNNING,
    SRV_STATE_STOPPING,
};
#define SRV_ADMIN_FMAINT   0x01
#define SRV_ADMIN_CMAINT   0x04
#define SRV_ADMIN_FDRAIN   0x08
#define SRV_ADMIN_RMAINT   0x20
#define SRV_CHK_CONFIGURED 0x02
#define SRV_CHK_ENABLED    0x04
#define SRV_CHK_PAUSED     0x08
#define SRV_CHK_AGENT      0x10

/* The operational state of <srv> as HAProxy numbers it: ramping up in
 * its slowstart is starting. */
static int server_cli_op_state(const struct server *srv)
{
    if (srv->disabled || !server_up(srv))
        return SRV_STATE_STOPPED;
    if (server_nolb(srv))
        return SRV_STATE_STOPPING;
    if (!srv->drain && srv->uweight > 0 &&
        server_effective_weight(srv, srv->uweight) < srv->uweight)
        return SRV_STATE_STARTING;
    return SRV_STATE_RUNNING;
}

/* The administrative flags of <srv>: without an address (init-addr
 * none) its maintenance is the resolver's, as in HAProxy. */
static int server_cli_admin_state(const struct server *srv)
{
    int maint =
        srv->addr.family == AF_UNSPEC ? SRV_ADMIN_RMAINT : SRV_ADMIN_FMAINT;

    return (srv->disabled ? maint : 0) |
           (srv->cfg_disabled ? SRV_ADMIN_CMAINT : 0) |
           (srv->drain ? SRV_ADMIN_FDRAIN : 0);
}

/* The flags of the checks (<agent> 0) or of the agent of <srv>. */
static int server_cli_chk_state(const struct server *srv, int agent)
{
    int on = agent ? srv->agent : srv->check;
    int paused =
        on && (agent ? srv->health->agent_paused : srv->health->paused);
    int st = on ? SRV_CHK_CONFIGURED | (paused ? 0 : SRV_CHK_ENABLED) : 0;

    if (agent)
        return on ? st | SRV_CHK_AGENT : 0;
    return st | (srv->cfg_disabled ? SRV_CHK_PAUSED : 0);
}

/* When this worker started. */
static time_t server_cli_started(void)
{
    struct worker_counts wc;

    worker_get_counts(&wc);
    return wc.started;
}

/* The line of <srv> in "show servers state", HAProxy 2.6's format 1. */
static void server_cli_state_line(struct cli_req *req, const struct server *srv,
                                  time_t now)
{
    const struct server_health *h = srv->check ? srv->health : NULL;
    const struct cfg_addr *agent_addr =
        srv->agent_addr.family != 0 ? &srv->agent_addr : &srv->check_addr;
    char addr[INET6_ADDRSTRLEN], chk[INET6_ADDRSTRLEN], agt[INET6_ADDRSTRLEN];
    time_t since = srv->last_change ? srv->last_change : server_cli_started();

    cli_printf(
        req,
        "%d %s %d %s %s %d %d %d %d %lld %d %d %d %d %d %d %d - %d - 0 %d %s "
        "%s %d\n",
        srv->px->uuid, srv->px->name, srv->puid, srv->name,
        server_cli_ip(&srv->addr, addr), server_cli_op_state(srv),
        server_cli_admin_state(srv), srv->uweight, srv->iweight,
        (long long)(now > since ? now - since : 0),
        h != NULL ? h->check_status : CHECK_ST_INI,
        h != NULL ? h->check_result : CHECK_RES_UNKNOWN,
        srv->tracked == NULL ? srv->health->health : srv->rise,
        server_cli_chk_state(srv, 0), server_cli_chk_state(srv, 1),
        srv->px->uuid_forced, srv->puid_forced, server_cli_port(&srv->addr),
        srv->check_port, server_cli_ip(&srv->check_addr, chk),
        server_cli_ip(agent_addr, agt),
        srv->agent_port         ? srv->agent_port
        : srv->check_port_moved ? 0
                                : srv->check_port);
}

/* "show servers state [<backend>]": HAProxy's format version 1, the
 * columns it has; what luaproxy lacks (FQDN, SRV records, SSL) is left as
 * HAProxy prints it unset. */
static int server_cli_show_state(struct cli_req *req, int argc, char **args,
                                 void *arg)
{
    const struct proxy *px = NULL, *p;
    const struct server *srv;
    time_t now = time(NULL);

    if (argc > 3 && (px = proxy_find(worker_cfg(), args[3], PX_CAP_BE)) == NULL)
        return cli_fail(req, "Can't find backend.\n");
    cli_printf(req, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
                    "srv_admin_state srv_uweight srv_iweight "
                    "srv_time_since_last_change srv_check_status "
                    "srv_check_result srv_check_health srv_check_state "
                    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn "
                    "srv_port srvrecord srv_use_ssl srv_check_port "
                    "srv_check_addr srv_agent_addr srv_agent_port\n");
    for (p = worker_cfg()->proxies; p != NULL; p = p->next)
        if ((px == NULL && (p->cap & PX_CAP_BE)) || p == px)
            for (srv = p->servers; srv != NULL; srv = srv->next)
                server_cli_state_line(req, srv, now);
    return RC_OK;
}

/* "show backend": the names of the backends. */
static int server_cli_show_backend(struct cli_req *req, int argc, char **args,
                                   void *arg)
{
    const struct proxy *px;

    cli_printf(req, "# name\n");
    for (px = worker_cfg()->proxies; px != NULL; px = px->next)
        if (px->cap & PX_CAP_BE)
            cli_printf(req, "%s\n", px->name);
    return RC_OK;
}

static const struct cli_cmd server_cli_cmds[] = {
    {{"get", "weight", NULL},
     "get weight <bk>/<srv>                   : report a server's current "
     "weight",
     CLI_LVL_USER,
     0,
     server_cli_get_weight,
     NULL},
    {{"set", "weight", NULL},
     "set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_set_weight,
     NULL},
    {{"set", "server", NULL},
     "set server <bk>/<srv> [opts]            : change a server's state, "
     "weight, address or health",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_set_server,
     NULL},
    {{"enable", "server", NULL},
     "enable server (DEPRECATED)              : enable a disabled server",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_enable,
     NULL},
    {{"disable", "server", NULL},
     "disable server (DEPRECATED)             : disable a server for "
     "maintenance",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_enable,
     NULL},
    {{"set", "maxconn", "server", NULL},
     "set maxconn server <bk>/<srv>           : change a server's maxconn "
     "setting",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_set_maxconn,
     NULL},
    {{"enable", "health", NULL},
     "enable health <bk>/<srv>                : enable health checks",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_checks,
     NULL},
    {{"disable", "health", NULL},
     "disable health <bk>/<srv>               : disable health checks",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_checks,
     NULL},
    {{"enable", "agent", NULL},
     "enable agent <bk>/<srv>                 : enable agent checks",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_checks,
     NULL},
    {{"disable", "agent", NULL},
     "disable agent <bk>/<srv>                : disable agent checks",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_checks,
     NULL},
    {{"show", "servers", "state", NULL},
     "show servers state [<backend>]          : dump volatile server "
     "information (all or for a single backend)",
     CLI_LVL_USER,
     0,
     server_cli_show_state,
     NULL},
    {{"show", "backend", NULL},
     "show backend                            : list backends in the current "
     "running config",
     CLI_LVL_USER,
     0,
     server_cli_show_backend,
     NULL},
    {{"shutdown", "sessions", "server", NULL},
     "shutdown sessions server <bk>/<srv>     : kill sessions on a server",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     server_cli_shutdown,
     NULL},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

void server_cli_init(void)
{
    cli_register(server_cli_cmds);
}
