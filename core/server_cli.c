/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runtime API's server commands (HAProxy's names and answers): get
 * and set weight, set server state/weight, enable and disable server,
 * shutdown sessions server.
 * Each worker balances on its own copy; the master sends the changes to
 * every worker (CLI_F_WRITE). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/cli.h"
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

/* "set server <backend>/<server> state ready|drain|maint" and
 * "set server <backend>/<server> weight <weight>[%]". */
static int server_cli_set_server(struct cli_req *req, int argc, char **args,
                                 void *arg)
{
    static const char *const states[] = {"ready", "drain", "maint"};
    struct server *srv;
    int i;

    if (argc < 4)
        return cli_fail(req, "'set server <srv>' only supports 'state' and "
                             "'weight'.\n");
    if ((srv = server_cli_find(req, args[2])) == NULL)
        return RC_ERR;
    if (strcmp(args[3], "weight") == 0 && argc == 5)
        return server_cli_weight(req, srv, args[4]);
    if (strcmp(args[3], "state") != 0 || argc != 5)
        return cli_fail(req, "'set server <srv>' only supports 'state' and "
                             "'weight'.\n");
    for (i = 0; i < 3; i++)
        if (strcmp(args[4], states[i]) == 0) {
            server_set_admin(srv, (enum server_admin)i);
            return RC_OK;
        }
    return cli_fail(req, "'set server <srv> state' expects 'ready', 'drain' "
                         "and 'maint'.\n");
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
     "set server <bk>/<srv> [opts]            : change a server's state or "
     "weight",
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
