/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Backend servers: parsing of "server" lines and the choice of a server
 * for a request (weighted round robin for now). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/conn.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/lb.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/util.h"

/* A connection kept for reuse, linked in its server's idle list. */
struct idle_conn {
    struct idle_conn *next, *prev;
    struct server *srv;
    struct conn *conn;
};

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

/* Parses the options of "server" and "default-server" from args[i]. */
static int server_parse_opts(struct server *srv, int i, int argc, char **args,
                             char **err)
{
    for (; i < argc; i++) {
        const char *o = args[i];
        int rc = RC_OK;

        if (strcmp(o, "disabled") == 0)
            srv->disabled = 1;
        else if (strcmp(o, "enabled") == 0)
            srv->disabled = 0;
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
        else if (strcmp(o, "inter") == 0)
            rc = opt_duration(&i, argc, args, &srv->inter, err);
        else if (strcmp(o, "fastinter") == 0)
            rc = opt_duration(&i, argc, args, &srv->fastinter, err);
        else if (strcmp(o, "downinter") == 0)
            rc = opt_duration(&i, argc, args, &srv->downinter, err);
        else
            return set_err(err, "'server' option '%s' is not supported yet", o);
        if (rc != RC_OK)
            return RC_ERR;
    }
    return RC_OK;
}

struct server *server_template_new(void)
{
    struct server *t = xcalloc(1, sizeof(*t));

    t->weight = 1;
    t->inter = 2000;
    t->rise = 2;
    t->fall = 3;
    t->pool_max = -1; /* HAProxy's defaults */
    t->pool_purge = 5000;
    return t;
}

int server_parse_defaults(struct proxy *px, int argc, char **args, char **err)
{
    if (px->defsrv == NULL)
        px->defsrv = server_template_new();
    return server_parse_opts(px->defsrv, 1, argc, args, err);
}

int server_parse(struct cfg_ctx *ctx, struct proxy *px, int argc, char **args,
                 char **err)
{
    struct server *srv, **ps;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (strcmp(srv->name, args[1]) == 0)
            return set_err(err, "server '%s' already declared at %s:%d",
                           args[1], srv->file, srv->line);
    srv = server_template_new();
    if (px->defsrv != NULL)
        *srv = *px->defsrv; /* a template owns no pointer */
    srv->px = px;
    srv->name = xstrdup(args[1]);
    srv->file = ctx->file;
    srv->line = ctx->line;
    if (cfgval_addr(args[2], CFGVAL_ADDR_NEED_PORT | CFGVAL_ADDR_RESOLVE,
                    &srv->addr, err) != RC_OK ||
        server_parse_opts(srv, 3, argc, args, err) != RC_OK) {
        server_free(srv);
        return RC_ERR;
    }
    srv->iweight = srv->uweight = srv->weight;
    for (ps = &px->servers; *ps != NULL; ps = &(*ps)->next)
        ;
    *ps = srv;
    return RC_OK;
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

void server_set_weight(struct server *srv, int weight)
{
    srv->uweight = weight;
    srv->weight = srv->drain ? 0 : weight;
    server_weights_changed(srv);
}

void server_set_admin(struct server *srv, enum server_admin st)
{
    srv->disabled = st == SERVER_MAINT;
    srv->drain = st == SERVER_DRAIN;
    server_set_weight(srv, srv->uweight);
}

void server_free(struct server *srv)
{
    while (srv->idle != NULL)
        idle_drop(srv->idle);
    free(srv->name);
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

void server_put_idle(struct server *srv, struct conn *conn)
{
    unsigned idle_ms = srv->pool_purge;
    struct timeval tv = {idle_ms / 1000, (idle_ms % 1000) * 1000};
    struct idle_conn *ic;

    if ((srv->pool_max >= 0 && srv->nidle >= (unsigned)srv->pool_max) ||
        evbuffer_get_length(conn_input(conn)) > 0 ||
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
}
