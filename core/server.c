/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Backend servers: parsing of "server" lines and the choice of a server
 * for a request (weighted round robin for now). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/cfg.h"
#include "core/conn.h"
#include "core/cfgparse.h"
#include "core/channel.h"
#include "core/cfgval.h"
#include "core/check.h"
#include "core/errors.h"
#include "core/freq_ctr.h"
#include "core/lb.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/proxy_protocol.h"
#include "core/server.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"

/* A connection kept for reuse, linked in its server's idle list. */
struct idle_conn {
    struct idle_conn *next, *prev;
    struct server *srv;
    struct conn *conn;
};

/* Servers one "server-template" line may make: a bound on a typo. */
#define SERVER_TEMPLATE_MAX 100000

static void idle_drop(struct idle_conn *ic);

/* Parses a duration option at args[*i + 1] into *<ms>. */
static int opt_duration(int *i, int argc, char **args, unsigned *ms, char **err)
{
    if (*i + 1 >= argc)
        return set_err(err, "'server' option '%s' expects a duration",
                       args[*i]);
    (*i)++;
    return cfgval_duration_ms(args[*i], ms, err);
}

/* Parses an integer option at args[*i + 1] within [lo, hi]. */
static int opt_int(int *i, int argc, char **args, long long lo, long long hi,
                   int *out, char **err)
{
    long long v;

    if (*i + 1 >= argc)
        return set_err(err, "'server' option '%s' expects an integer",
                       args[*i]);
    (*i)++;
    if (cfgval_int(args[*i], lo, hi, &v, err) != RC_OK)
        return RC_ERR;
    *out = (int)v;
    return RC_OK;
}

/* Parses a string option at args[*i + 1] into *<out>, replacing it. */
static int opt_string(int *i, int argc, char **args, char **out, char **err)
{
    if (*i + 1 >= argc)
        return set_err(err, "'server' option '%s' expects a value", args[*i]);
    (*i)++;
    free(*out);
    *out = xstrdup(args[*i]);
    return RC_OK;
}

/* Parses at args[*i + 1] one of the NULL-terminated <names>, whose index
 * goes to *<out>. */
static int opt_enum(int *i, int argc, char **args, const char *const *names,
                    int *out, char **err)
{
    const char *o = args[*i];
    char list[128] = "";
    size_t len = 0;
    int n;

    if (*i + 1 < argc)
        for (n = 0, (*i)++; names[n] != NULL; n++)
            if (strcmp(args[*i], names[n]) == 0) {
                *out = n;
                return RC_OK;
            }
    for (n = 0; names[n] != NULL && len < sizeof(list); n++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s'%s'",
                                n == 0         ? ""
                                : names[n + 1] ? ", "
                                               : " or ",
                                names[n]);
    return set_err(err, "'server' option '%s' expects %s", o, list);
}

/* Parses the "agent-*" options but "agent-addr". */
static int opt_agent(struct server *srv, int *i, int argc, char **args,
                     char **err)
{
    const char *o = args[*i];

    if (strcmp(o, "agent-check") == 0 || strcmp(o, "no-agent-check") == 0) {
        srv->agent = o[0] == 'a';
        return RC_OK;
    }
    if (strcmp(o, "agent-port") == 0)
        return opt_int(i, argc, args, 1, 65535, &srv->agent_port, err);
    if (strcmp(o, "agent-inter") == 0)
        return opt_duration(i, argc, args, &srv->agent_inter, err);
    return opt_string(i, argc, args, &srv->agent_send, err);
}

/* Parses "observe", "on-error", "on-marked-down", "on-marked-up". */
static int opt_observe(struct server *srv, int *i, int argc, char **args,
                       char **err)
{
    static const char *const observe[] = {"none", "layer4", "layer7", NULL};
    static const char *const on_error[] = {"fail-check", "fastinter",
                                           "sudden-death", "mark-down", NULL};
    static const char *const down[] = {"shutdown-sessions", NULL};
    static const char *const up[] = {"shutdown-backup-sessions", NULL};
    const char *o = args[*i];
    int v = 0, rc;

    if (strcmp(o, "observe") == 0) {
        rc = opt_enum(i, argc, args, observe, &v, err);
        srv->observe = (enum server_observe)v;
    } else if (strcmp(o, "on-error") == 0) {
        rc = opt_enum(i, argc, args, on_error, &v, err);
        srv->on_error = (enum server_on_error)v;
    } else if (strcmp(o, "on-marked-down") == 0) {
        rc = opt_enum(i, argc, args, down, &v, err);
        srv->on_marked_down = 1;
    } else {
        rc = opt_enum(i, argc, args, up, &v, err);
        srv->on_marked_up = 1;
    }
    return rc;
}

/* Parses one "init-addr" method <m> into <srv>'s list at <n>. */
static int init_addr_method(struct server *srv, int n, const char *m,
                            char **err)
{
    static const char *const names[] = {"", "last", "libc", "none"};
    unsigned char i;

    for (i = SRV_INIT_ADDR_LAST; i <= SRV_INIT_ADDR_NONE; i++)
        if (strcmp(m, names[i]) == 0) {
            srv->init_addr[n] = i;
            return RC_OK;
        }
    if (cfgval_addr(m, CFGVAL_ADDR_NO_PORT_OK, &srv->init_ip, NULL) != RC_OK ||
        (srv->init_ip.family != AF_INET && srv->init_ip.family != AF_INET6) ||
        srv->init_ip.port_set)
        return set_err(err,
                       "'init-addr': '%s' is not last, libc, none or an IP "
                       "address",
                       m);
    srv->init_addr[n] = SRV_INIT_ADDR_IP;
    return RC_OK;
}

/* Parses the IPv4 or IPv6 address, port optional, at args[*i + 1] for the
 * option args[*i] into *<out>. */
static int opt_inet_addr(int *i, int argc, char **args, struct cfg_addr *out,
                         char **err)
{
    const char *o = args[*i];

    if (*i + 1 >= argc)
        return set_err(err, "'%s' expects an address", o);
    if (cfgval_addr(args[++*i], CFGVAL_ADDR_NO_PORT_OK, out, err) != RC_OK)
        return RC_ERR;
    if (out->family != AF_INET && out->family != AF_INET6)
        return set_err(err, "'%s' expects an IPv4 or IPv6 address, got '%s'", o,
                       args[*i]);
    return RC_OK;
}

int server_parse_source(int *i, int argc, char **args, struct cfg_addr *out,
                        char **err)
{
    const char *next;

    if (opt_inet_addr(i, argc, args, out, err) != RC_OK)
        return RC_ERR;
    next = *i + 1 < argc ? args[*i + 1] : "";
    if (strcmp(next, "usesrc") == 0)
        return set_err(err, "'source': 'usesrc' (transparent proxying) needs "
                            "privileges and is not supported");
    if (strcmp(next, "interface") == 0)
        return set_err(err, "'source': 'interface' needs privileges and is "
                            "not supported");
    return RC_OK;
}

/* Parses "init-addr METHOD[,METHOD...]" at args[*i + 1]. */
static int opt_init_addr(struct server *srv, int *i, int argc, char **args,
                         char **err)
{
    char *list, *m, *save = NULL;
    int n = 0, rc = RC_OK;

    if (*i + 1 >= argc)
        return set_err(err, "'server' option 'init-addr' expects a list");
    list = xstrdup(args[++*i]);
    memset(srv->init_addr, SRV_INIT_ADDR_END, sizeof(srv->init_addr));
    for (m = strtok_r(list, ",", &save); m != NULL && rc == RC_OK;
         m = strtok_r(NULL, ",", &save)) {
        if (n == SRV_INIT_ADDR_MAX)
            rc = set_err(err, "'init-addr' takes at most %d methods",
                         SRV_INIT_ADDR_MAX);
        else
            rc = init_addr_method(srv, n++, m, err);
    }
    free(list);
    if (rc == RC_OK && n == 0)
        rc = set_err(err, "'server' option 'init-addr' expects a list");
    return rc;
}

/* Parses the options of "server" and "default-server" from args[i]. */
static int server_parse_opts(struct server *srv, int i, int argc, char **args,
                             char **err)
{
    for (; i < argc; i++) {
        const char *o = args[i];
        int rc = RC_OK;

        if (strcmp(o, "disabled") == 0)
            srv->disabled = srv->cfg_disabled = 1;
        else if (strcmp(o, "enabled") == 0)
            srv->disabled = srv->cfg_disabled = 0;
        else if (strcmp(o, "backup") == 0)
            srv->backup = 1;
        else if (strcmp(o, "check") == 0)
            srv->check = 1;
        else if (strcmp(o, "no-check") == 0)
            srv->check = 0;
        else if (strcmp(o, "send-proxy") == 0)
            srv->send_proxy = 1;
        else if (strcmp(o, "send-proxy-v2") == 0)
            srv->send_proxy = 2;
        else if (strcmp(o, "weight") == 0)
            rc = opt_int(&i, argc, args, 0, 256, &srv->weight, err);
        else if (strcmp(o, "maxconn") == 0)
            rc = opt_int(&i, argc, args, 0, 1000000, &srv->maxconn, err);
        else if (strcmp(o, "minconn") == 0)
            rc = opt_int(&i, argc, args, 0, 1000000, &srv->minconn, err);
        else if (strcmp(o, "init-addr") == 0)
            rc = opt_init_addr(srv, &i, argc, args, err);
        else if (strcmp(o, "maxqueue") == 0)
            rc = opt_int(&i, argc, args, 0, 1000000, &srv->maxqueue, err);
        else if (strcmp(o, "rise") == 0)
            rc = opt_int(&i, argc, args, 1, 1000, &srv->rise, err);
        else if (strcmp(o, "fall") == 0)
            rc = opt_int(&i, argc, args, 1, 1000, &srv->fall, err);
        else if (strcmp(o, "port") == 0)
            rc = opt_int(&i, argc, args, 1, 65535, &srv->check_port, err);
        else if (strcmp(o, "pool-max-conn") == 0)
            rc = opt_int(&i, argc, args, -1, 1000000, &srv->pool_max, err);
        else if (strcmp(o, "pool-purge-delay") == 0)
            rc = opt_duration(&i, argc, args, &srv->pool_purge, err);
        else if (strcmp(o, "cookie") == 0)
            rc = opt_string(&i, argc, args, &srv->cookie, err);
        else if (strcmp(o, "inter") == 0)
            rc = opt_duration(&i, argc, args, &srv->inter, err);
        else if (strcmp(o, "fastinter") == 0)
            rc = opt_duration(&i, argc, args, &srv->fastinter, err);
        else if (strcmp(o, "downinter") == 0)
            rc = opt_duration(&i, argc, args, &srv->downinter, err);
        else if (strcmp(o, "slowstart") == 0)
            rc = opt_duration(&i, argc, args, &srv->slowstart, err);
        else if (strcmp(o, "track") == 0)
            rc = opt_string(&i, argc, args, &srv->track, err);
        else if (strcmp(o, "redir") == 0)
            rc = opt_string(&i, argc, args, &srv->redir, err);
        else if (strcmp(o, "id") == 0)
            rc = opt_int(&i, argc, args, 1, INT_MAX, &srv->puid, err);
        else if (strcmp(o, "addr") == 0)
            rc = opt_inet_addr(&i, argc, args, &srv->check_addr, err);
        else if (strcmp(o, "source") == 0)
            rc = server_parse_source(&i, argc, args, &srv->source, err);
        else if (strcmp(o, "agent-addr") == 0)
            rc = opt_inet_addr(&i, argc, args, &srv->agent_addr, err);
        else if (strcmp(o, "agent-check") == 0 ||
                 strcmp(o, "no-agent-check") == 0 ||
                 strcmp(o, "agent-port") == 0 ||
                 strcmp(o, "agent-inter") == 0 || strcmp(o, "agent-send") == 0)
            rc = opt_agent(srv, &i, argc, args, err);
        else if (strcmp(o, "error-limit") == 0)
            rc = opt_int(&i, argc, args, 1, INT_MAX, &srv->error_limit, err);
        else if (strcmp(o, "observe") == 0 || strcmp(o, "on-error") == 0 ||
                 strcmp(o, "on-marked-down") == 0 ||
                 strcmp(o, "on-marked-up") == 0)
            rc = opt_observe(srv, &i, argc, args, err);
        else
            return set_err(err, "'server' option '%s' is not supported yet", o);
        if (rc != RC_OK)
            return RC_ERR;
    }
    return RC_OK;
}

/* Sets <srv>'s address to <ip> with the port already in <srv>->addr. */
static void init_addr_ip(struct server *srv, const struct cfg_addr *ip)
{
    /* sin_port and sin6_port share their offset */
    in_port_t port = ((struct sockaddr_in *)&srv->addr.ss)->sin_port;

    srv->addr = *ip;
    ((struct sockaddr_in *)&srv->addr.ss)->sin_port = port;
    srv->addr.port_set = 1;
}

/* Returns 1 if <srv>'s init-addr is the default, "last,libc", which
 * resolves as before without a word about the missing state file. */
static int server_init_addr_default(const struct server *srv)
{
    return srv->init_addr[0] == SRV_INIT_ADDR_LAST &&
           srv->init_addr[1] == SRV_INIT_ADDR_LIBC &&
           srv->init_addr[2] == SRV_INIT_ADDR_END;
}

/* Sets the address of <srv> from <text>: an IP address as it is, a host
 * name by the init-addr methods in turn, in the master at load time. */
static int server_parse_addr(struct server *srv, const char *text, char **err)
{
    const unsigned char *m;
    struct cfg_addr resolved;
    char *why = NULL;
    int rc;

    rc = cfgval_addr(text, CFGVAL_ADDR_NEED_PORT | CFGVAL_ADDR_NAME_LATER,
                     &srv->addr, err);
    if (rc != RC_DECLINED)
        return rc;
    for (m = srv->init_addr; *m != SRV_INIT_ADDR_END; m++) {
        switch (*m) {
        case SRV_INIT_ADDR_LAST:
            if (!server_init_addr_default(srv))
                log_notice("%s:%d: server '%s': init-addr 'last' needs a "
                           "server state file, not supported: skipped",
                           srv->file, srv->line, srv->name);
            break;
        case SRV_INIT_ADDR_LIBC:
            free(why);
            why = NULL;
            if (cfgval_addr(text, CFGVAL_ADDR_NEED_PORT | CFGVAL_ADDR_RESOLVE,
                            &resolved, &why) == RC_OK) {
                srv->addr = resolved;
                return RC_OK;
            }
            break;
        case SRV_INIT_ADDR_NONE:
            free(why);
            srv->addr.family = AF_UNSPEC;
            srv->addr.len = 0;
            srv->disabled = 1; /* until Lua gives it an address */
            return RC_OK;
        default:
            free(why);
            init_addr_ip(srv, &srv->init_ip);
            return RC_OK;
        }
    }
    if (why != NULL) {
        *err = why;
        return RC_ERR;
    }
    return set_err(err,
                   "'%s' is a host name and no init-addr method gave "
                   "it an address",
                   text);
}

struct server *server_template_new(void)
{
    struct server *t = xcalloc(1, sizeof(*t));

    t->weight = 1;
    t->inter = 2000;
    t->rise = 2;
    t->fall = 3;
    t->error_limit = 10;
    t->agent_inter = 2000;
    t->pool_max = -1; /* HAProxy's defaults */
    t->pool_purge = 5000;
    t->init_addr[0] = SRV_INIT_ADDR_LAST;
    t->init_addr[1] = SRV_INIT_ADDR_LIBC;
    return t;
}

struct server *server_template_dup(const struct server *t)
{
    struct server *d = xmalloc(sizeof(*d));

    *d = *t;
    d->cookie = t->cookie != NULL ? xstrdup(t->cookie) : NULL;
    d->track = t->track != NULL ? xstrdup(t->track) : NULL;
    d->redir = t->redir != NULL ? xstrdup(t->redir) : NULL;
    d->agent_send = t->agent_send != NULL ? xstrdup(t->agent_send) : NULL;
    return d;
}

int server_parse_defaults(struct proxy *px, int argc, char **args, char **err)
{
    if (px->defsrv == NULL)
        px->defsrv = server_template_new();
    return server_parse_opts(px->defsrv, 1, argc, args, err);
}

/* Adds the server <name> at <addr> to <px> with the options of args from
 * index 3, starting from the proxy's default-server settings. */
static int server_add(struct cfg_ctx *ctx, struct proxy *px, const char *name,
                      const char *addr, int argc, char **args, char **err)
{
    struct server *srv, **ps;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (strcmp(srv->name, name) == 0)
            return set_err(err, "server '%s' already declared at %s:%d", name,
                           srv->file, srv->line);
    srv = px->defsrv != NULL ? server_template_dup(px->defsrv)
                             : server_template_new();
    srv->px = px;
    srv->name = xstrdup(name);
    srv->file = ctx->file;
    srv->line = ctx->line;
    if (server_parse_opts(srv, 3, argc, args, err) != RC_OK ||
        server_parse_addr(srv, addr, err) != RC_OK ||
        (srv->agent && srv->agent_port == 0 &&
         set_err(err, "server '%s': 'agent-check' needs an 'agent-port'",
                 srv->name) != RC_OK)) {
        server_free(srv);
        return RC_ERR;
    }
    srv->iweight = srv->uweight = srv->weight;
    for (ps = &px->servers; *ps != NULL; ps = &(*ps)->next)
        ;
    *ps = srv;
    return RC_OK;
}

int server_parse(struct cfg_ctx *ctx, struct proxy *px, int argc, char **args,
                 char **err)
{
    return server_add(ctx, px, args[1], args[2], argc, args, err);
}

int server_parse_dispatch(struct cfg_ctx *ctx, struct proxy *px,
                          const char *addr, char **err)
{
    struct server *srv = server_template_new();

    srv->px = px;
    srv->name = xstrdup("<NOSRV>");
    srv->file = ctx->file;
    srv->line = ctx->line;
    if (server_parse_addr(srv, addr, err) != RC_OK) {
        server_free(srv);
        return RC_ERR;
    }
    if (px->dispatch != NULL)
        server_free(px->dispatch);
    px->dispatch = srv;
    return RC_OK;
}

/* Parses "NUM" (1..NUM) or "LOW-HIGH" into [*<lo>, *<hi>]. */
static int template_range(const char *s, long long *lo, long long *hi,
                          char **err)
{
    const char *dash = strchr(s, '-');
    char *low;
    int rc;

    if (dash == NULL) {
        *lo = 1;
        return cfgval_int(s, 1, SERVER_TEMPLATE_MAX, hi, err);
    }
    low = xstrndup(s, (size_t)(dash - s));
    rc = cfgval_int(low, 0, INT_MAX, lo, err);
    free(low);
    if (rc != RC_OK || cfgval_int(dash + 1, *lo, INT_MAX, hi, err) != RC_OK)
        return RC_ERR;
    if (*hi - *lo >= SERVER_TEMPLATE_MAX)
        return set_err(err, "range '%s' makes more than %d servers", s,
                       SERVER_TEMPLATE_MAX);
    return RC_OK;
}

int server_parse_template(struct cfg_ctx *ctx, struct proxy *px, int argc,
                          char **args, char **err)
{
    long long lo, hi, n;
    char *why = NULL, *name;
    int rc = RC_OK;

    if (template_range(args[2], &lo, &hi, &why) != RC_OK) {
        set_err(err, "'server-template': wrong number or range '%s': %s",
                args[2], why);
        free(why);
        return RC_ERR;
    }
    for (n = lo; n <= hi && rc == RC_OK; n++) {
        name = xasprintf("%s%lld", args[1], n);
        rc = server_add(ctx, px, name, args[3], argc - 1, args + 1, err);
        free(name);
    }
    return rc;
}

/* Weights changed in <srv>'s backend: algorithms that lay the weights out
 * beforehand (consistent hashing) lay them out again. */
static void server_weights_changed(struct server *srv)
{
    char *err = NULL;

    if (srv->px->lb == NULL || srv->px->lb->init == NULL)
        return;
    if (srv->px->lb->deinit != NULL)
        srv->px->lb->deinit(srv->px);
    if (srv->px->lb->init(srv->px, &err) != RC_OK) {
        log_alert("backend '%s': cannot apply the new weights: %s",
                  srv->px->name, err != NULL ? err : "out of memory");
        free(err);
    }
}

/* The server "[backend/]server" names from <srv>'s backend, or NULL. */
static struct server *server_tracked(const struct cfg *cfg,
                                     const struct server *srv)
{
    const char *slash = strchr(srv->track, '/'), *name = srv->track;
    const struct proxy *px = srv->px;
    struct server *t;
    char *be;

    if (slash != NULL) {
        be = xstrndup(srv->track, (size_t)(slash - srv->track));
        px = proxy_find(cfg, be, PX_CAP_BE);
        free(be);
        name = slash + 1;
    }
    for (t = px != NULL ? px->servers : NULL; t != NULL; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* Gives each tracking server of <cfg> whose tracked server has a health
 * that health; returns how many got one. */
static int server_track_pass(struct cfg *cfg)
{
    struct proxy *px;
    struct server *srv, *t;
    int n = 0;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (srv = px->servers; srv != NULL; srv = srv->next)
            if (srv->track != NULL && srv->health == NULL &&
                (t = server_tracked(cfg, srv)) != NULL && t->health != NULL &&
                server_checked(t)) {
                srv->health = t->health;
                srv->tracked = t;
                n++;
            }
    return n;
}

int server_track_resolve(struct cfg *cfg)
{
    struct proxy *px;
    struct server *srv;
    int errors = 0;

    while (server_track_pass(cfg) > 0)
        ;
    for (px = cfg->proxies; px != NULL; px = px->next)
        for (srv = px->servers; srv != NULL; srv = srv->next) {
            if (srv->track == NULL)
                continue;
            if (srv->check)
                log_alert("%s:%d: 'server %s/%s' : unable to enable checks "
                          "and tracking at the same time!",
                          srv->file, srv->line, px->name, srv->name);
            else if (server_tracked(cfg, srv) == NULL)
                log_alert("%s:%d: 'server %s/%s' : unable to find required "
                          "server '%s' for tracking.",
                          srv->file, srv->line, px->name, srv->name,
                          srv->track);
            else if (srv->health == NULL)
                log_alert("%s:%d: 'server %s/%s' : unable to use %s for "
                          "tracking as it does not have any check enabled.",
                          srv->file, srv->line, px->name, srv->name,
                          srv->track);
            else
                continue;
            errors++;
        }
    return errors;
}

int server_effective_weight(const struct server *srv, int w)
{
    unsigned long long since = srv->health ? srv->health->up_since : 0, now;

    if (srv->drain || server_nolb(srv))
        return 0;
    /* HAProxy ramps only the algorithms that take weights as they come */
    if (w == 0 || srv->slowstart == 0 || since == 0 || !server_up(srv) ||
        srv->px->lb == NULL || !srv->px->lb->dynamic)
        return w;
    now = freq_ctr_now_ms();
    if (now >= since + srv->slowstart)
        return w;
    w = (int)((unsigned long long)w * (now > since ? now - since : 0) /
              srv->slowstart);
    return w > 0 ? w : 1;
}

void server_set_weight(struct server *srv, int weight)
{
    srv->uweight = weight;
    srv->weight = server_effective_weight(srv, weight);
    server_weights_changed(srv);
}

void server_set_admin(struct server *srv, enum server_admin st)
{
    enum server_admin was = srv->disabled ? SERVER_MAINT
                            : srv->drain  ? SERVER_DRAIN
                                          : SERVER_READY;

    /* as HAProxy: maintenance is a way down for on-marked-down */
    if (st == SERVER_MAINT && !srv->disabled && srv->on_marked_down)
        server_kill_streams(srv, 'D');
    srv->disabled = st == SERVER_MAINT;
    srv->drain = st == SERVER_DRAIN;
    server_set_weight(srv, srv->uweight);
    if (st != was)
        srv->last_change = time(NULL);
    /* every worker makes the change, the first one says it */
    if (st != was && worker_id() == 1)
        check_log_admin(srv, was);
}

void server_set_admin_shared(struct server *srv, enum server_admin st)
{
    size_t b = strlen(srv->px->name) + 1, n = strlen(srv->name) + 1;
    char data[2 * 256];

    server_set_admin(srv, st);
    if (b + n > sizeof(data))
        return;
    memcpy(data, srv->px->name, b);
    memcpy(data + b, srv->name, n);
    if (worker_share(CHANNEL_SRV_ADMIN, (int)st, data, b + n) == RC_ERR)
        log_warning("server %s/%s: its new state could not reach the other "
                    "workers",
                    srv->px->name, srv->name);
}

struct server *server_from_names(const char *data, size_t len, unsigned cap,
                                 struct proxy **px)
{
    const char *name;
    struct server *srv;

    *px = NULL;
    if (len == 0 || data[len - 1] != '\0' ||
        (name = data + strlen(data) + 1) >= data + len ||
        (*px = proxy_find(worker_cfg(), data, cap)) == NULL)
        return NULL;
    for (srv = (*px)->servers; srv != NULL; srv = srv->next)
        if (strcmp(srv->name, name) == 0)
            return srv;
    return NULL;
}

void server_admin_receive(int st, const char *data, size_t len)
{
    struct proxy *px;
    struct server *srv = server_from_names(data, len, PX_CAP_BE, &px);

    if (srv != NULL)
        server_set_admin(srv, (enum server_admin)st);
}

void server_kill_streams(struct server *srv, char cause)
{
    struct stream *s;

    /* kill only wakes each stream: none leaves the list meanwhile */
    for (s = srv->streams; s != NULL; s = s->srv_next)
        if (s->ops->kill != NULL)
            s->ops->kill(s, cause);
}

void server_free(struct server *srv)
{
    while (srv->idle != NULL)
        idle_drop(srv->idle);
    free(srv->name);
    free(srv->cookie);
    free(srv->track);
    free(srv->redir);
    free(srv->agent_send);
    free(srv);
}

/* Unlinks <ic> from its server's list. */
static void idle_unlink(struct idle_conn *ic)
{
    if (ic->prev != NULL)
        ic->prev->next = ic->next;
    else
        ic->srv->idle = ic->next;
    if (ic->next != NULL)
        ic->next->prev = ic->prev;
    ic->srv->nidle--;
}

/* An idle connection spoke, closed or timed out: it is no longer usable. */
static void idle_drop(struct idle_conn *ic)
{
    idle_unlink(ic);
    conn_free(ic->conn);
    free(ic);
}

static void idle_read_cb(struct conn *conn, void *arg)
{
    idle_drop(arg);
}

static void idle_event_cb(struct conn *conn, short what, void *arg)
{
    idle_drop(arg);
}

struct conn *server_take_idle(struct server *srv)
{
    struct idle_conn *ic = srv->idle;
    struct conn *conn;

    if (ic == NULL)
        return NULL;
    idle_unlink(ic);
    conn = ic->conn;
    free(ic);
    return conn;
}

void server_conn_used(struct server *srv)
{
    if (++srv->used_conns > srv->max_used)
        srv->max_used = srv->used_conns;
}

unsigned server_dynamic_maxconn(const struct server *srv)
{
    const struct proxy *px = srv->px;
    unsigned ramp;

    /* no limit stays none, even if Lua dropped a maxconn over a minconn */
    if (srv->maxconn == 0 || srv->minconn == srv->maxconn ||
        px->fullconn <= 0 || px->beconn >= (unsigned)px->fullconn)
        return (unsigned)srv->maxconn;
    ramp = (unsigned)((unsigned long long)px->beconn * (unsigned)srv->maxconn /
                      (unsigned)px->fullconn);
    return ramp > (unsigned)srv->minconn ? ramp : (unsigned)srv->minconn;
}

void server_limits_finish(struct server *srv)
{
    if (srv->minconn > srv->maxconn)
        srv->maxconn = srv->minconn;
    else if (srv->minconn == 0)
        srv->minconn = srv->maxconn;
}

const struct cfg_addr *server_source(const struct server *srv)
{
    if (srv->source.family != 0)
        return &srv->source;
    return srv->px->source.family != 0 ? &srv->px->source : NULL;
}

int server_connect(struct server *srv, struct conn *conn,
                   const struct session *sess)
{
    const struct cfg_addr *from = server_source(srv);

    if (conn_connect(conn, (struct sockaddr *)&srv->addr.ss, (int)srv->addr.len,
                     from ? (const struct sockaddr *)&from->ss : NULL,
                     from ? from->len : 0) < 0)
        return RC_ERR;
    proxy_sock_opts(srv->px, conn_fd(conn), 0);
    if (srv->send_proxy)
        proxy_protocol_write(conn_output(conn), srv->send_proxy, sess);
    return RC_OK;
}

void server_conn_close(struct server *srv, struct conn *conn)
{
    srv->used_conns--;
    conn_free(conn);
}

/* Every pool-purge-delay, the connections worth keeping become the mean
 * of the last estimate and the most used since, at least the latter, as
 * HAProxy's srv_cleanup_idle_conns does. */
static void server_estimate_need(struct server *srv)
{
    struct timeval now;
    long long ms;

    event_base_gettimeofday_cached(worker_loop(), &now);
    ms = (now.tv_sec - srv->est_at.tv_sec) * 1000LL +
         (now.tv_usec - srv->est_at.tv_usec) / 1000;
    if (ms < (long long)srv->pool_purge)
        return;
    srv->est_need = (srv->est_need + srv->max_used) / 2;
    if (srv->est_need < srv->max_used)
        srv->est_need = srv->max_used;
    srv->max_used = srv->used_conns;
    srv->est_at = now;
}

/* 1 if an idle connection more is worth keeping: the first one always,
 * then while in use and idle together stay within the estimate. <conn>
 * still counts as used. */
static int server_idle_wanted(struct server *srv)
{
    unsigned bound;

    if (srv->pool_max >= 0 && srv->nidle >= (unsigned)srv->pool_max)
        return 0;
    server_estimate_need(srv);
    bound = srv->est_need > srv->used_conns ? srv->est_need : srv->used_conns;
    return srv->nidle == 0 || srv->used_conns + srv->nidle <= bound;
}

void server_put_idle(struct server *srv, struct conn *conn)
{
    unsigned idle_ms = srv->pool_purge;
    struct timeval tv = {idle_ms / 1000, (idle_ms % 1000) * 1000};
    struct idle_conn *ic;
    int wanted = server_idle_wanted(srv);

    srv->used_conns--;
    if (!wanted || evbuffer_get_length(conn_input(conn)) > 0 ||
        (ic = malloc(sizeof(*ic))) == NULL) {
        conn_free(conn);
        return;
    }
    ic->srv = srv;
    ic->conn = conn;
    ic->prev = NULL;
    ic->next = srv->idle;
    if (srv->idle != NULL)
        srv->idle->prev = ic;
    srv->idle = ic;
    srv->nidle++;
    conn_setcb(conn, idle_read_cb, NULL, idle_event_cb, ic);
    conn_set_timeouts(conn, idle_ms ? &tv : NULL, NULL);
    conn_enable(conn, CONN_RD);
    conn_idle(conn);
}
