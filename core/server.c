/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Backend servers: parsing of "server" lines and the choice of a server
 * for a request (weighted round robin for now). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/util.h"

#define IDLE_MAX_PER_SERVER 128

/* A connection kept for reuse, linked in its server's idle list. */
struct idle_conn {
    struct idle_conn *next, *prev;
    struct server *srv;
    struct bufferevent *bev;
};

static void idle_drop(struct idle_conn *ic);

/* Parses the options after "server NAME ADDR". */
static int server_parse_opts(struct server *srv, int i, int argc, char **args,
                             char **err)
{
    long long v;

    for (; i < argc; i++) {
        const char *o = args[i];

        if (strcmp(o, "disabled") == 0) {
            srv->disabled = 1;
        } else if (strcmp(o, "backup") == 0) {
            srv->backup = 1;
        } else if (strcmp(o, "weight") == 0 || strcmp(o, "maxconn") == 0) {
            if (i + 1 >= argc)
                return set_err(err, "'server' option '%s' expects an integer",
                               o);
            if (cfgval_int(args[++i], 0, o[0] == 'w' ? 256 : 1000000, &v,
                           err) != RC_OK)
                return RC_ERR;
            *(o[0] == 'w' ? &srv->weight : &srv->maxconn) = (int)v;
        } else if (strcmp(o, "enabled") == 0) {
            srv->disabled = 0;
        } else {
            return set_err(err, "'server' option '%s' is not supported yet",
                           o);
        }
    }
    return RC_OK;
}

int server_parse(struct cfg_ctx *ctx, struct proxy *px, int argc, char **args,
                 char **err)
{
    struct server *srv, **ps;

    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (strcmp(srv->name, args[1]) == 0)
            return set_err(err, "server '%s' already declared at %s:%d",
                           args[1], srv->file, srv->line);
    srv = xcalloc(1, sizeof(*srv));
    srv->px = px;
    srv->weight = 1;
    srv->up = 1;
    srv->name = xstrdup(args[1]);
    srv->file = ctx->file;
    srv->line = ctx->line;
    if (cfgval_addr(args[2], CFGVAL_ADDR_NEED_PORT | CFGVAL_ADDR_RESOLVE,
                    &srv->addr, err) != RC_OK ||
        server_parse_opts(srv, 3, argc, args, err) != RC_OK) {
        server_free(srv);
        return RC_ERR;
    }
    for (ps = &px->servers; *ps != NULL; ps = &(*ps)->next)
        ;
    *ps = srv;
    return RC_OK;
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
    bufferevent_free(ic->bev);
    free(ic);
}

static void idle_read_cb(struct bufferevent *bev, void *arg)
{
    idle_drop(arg);
}

static void idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
    idle_drop(arg);
}

struct bufferevent *server_take_idle(struct server *srv)
{
    struct idle_conn *ic = srv->idle;
    struct bufferevent *bev;

    if (ic == NULL)
        return NULL;
    idle_unlink(ic);
    bev = ic->bev;
    free(ic);
    return bev;
}

void server_put_idle(struct server *srv, struct bufferevent *bev,
                     unsigned idle_ms)
{
    struct timeval tv = {idle_ms / 1000, (idle_ms % 1000) * 1000};
    struct idle_conn *ic;

    if (srv->nidle >= IDLE_MAX_PER_SERVER ||
        evbuffer_get_length(bufferevent_get_input(bev)) > 0 ||
        (ic = malloc(sizeof(*ic))) == NULL) {
        bufferevent_free(bev);
        return;
    }
    ic->srv = srv;
    ic->bev = bev;
    ic->prev = NULL;
    ic->next = srv->idle;
    if (srv->idle != NULL)
        srv->idle->prev = ic;
    srv->idle = ic;
    srv->nidle++;
    bufferevent_setcb(bev, idle_read_cb, NULL, idle_event_cb, ic);
    bufferevent_set_timeouts(bev, idle_ms ? &tv : NULL, NULL);
    bufferevent_enable(bev, EV_READ);
}
