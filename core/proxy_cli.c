/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runtime API's frontend commands (HAProxy's names and answers):
 * disable, enable and shutdown frontend, set maxconn frontend and set
 * maxconn global. Each worker accepts on its own copies of the listening
 * sockets; the master sends the changes to every worker (CLI_F_WRITE).
 * Also the same changes made by one worker (Lua's px:pause() and the
 * like), and ending the streams of servers: the worker applies them and
 * the master relays them to the others (CHANNEL_PX_OP), as HAProxy's
 * threads all see them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/cli.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/worker.h"

void proxy_fe_set_state(struct proxy *px, enum px_fe_state st)
{
    if (!(px->cap & PX_CAP_FE) || px->fe_state == PX_FE_STOPPED ||
        px->fe_state == st)
        return;
    px->fe_state = st;
    if (worker_id() == 0) /* the master (Lua init): the workers inherit it */
        return;
    if (st == PX_FE_STOPPED)
        worker_frontend_close(px);
    else
        worker_frontend_update(px);
}

/* Applies <op> to <px> (and its server <srv> for PROXY_OP_KILL_SERVER). */
static void proxy_op_apply(struct proxy *px, struct server *srv,
                           enum proxy_op op)
{
    switch (op) {
    case PROXY_OP_PAUSE:
        proxy_fe_set_state(px, PX_FE_PAUSED);
        break;
    case PROXY_OP_RESUME:
        proxy_fe_set_state(px, PX_FE_READY);
        break;
    case PROXY_OP_STOP:
        proxy_fe_set_state(px, PX_FE_STOPPED);
        break;
    case PROXY_OP_KILL_BACKUP:
        for (srv = px->servers; srv != NULL; srv = srv->next)
            if (srv->backup)
                server_kill_streams(srv, 'K');
        break;
    case PROXY_OP_KILL_SERVER:
        if (srv != NULL)
            server_kill_streams(srv, 'K');
        break;
    }
}

void proxy_op_shared(struct proxy *px, struct server *srv, enum proxy_op op)
{
    const char *sname = srv != NULL ? srv->name : "";
    size_t b = strlen(px->name) + 1, n = strlen(sname) + 1;
    char data[2 * 256];

    proxy_op_apply(px, srv, op);
    if (b + n > sizeof(data)) {
        log_warning("proxy %s: names too long for the other workers to "
                    "learn of a change",
                    px->name);
        return;
    }
    memcpy(data, px->name, b);
    memcpy(data + b, sname, n);
    if (worker_share(CHANNEL_PX_OP, (int)op, data, b + n) == RC_ERR)
        log_warning("proxy %s: a change could not reach the other workers",
                    px->name);
}

void proxy_op_receive(int op, const char *data, size_t len)
{
    int fe =
        op == PROXY_OP_PAUSE || op == PROXY_OP_RESUME || op == PROXY_OP_STOP;
    struct proxy *px;
    struct server *srv =
        server_from_names(data, len, fe ? PX_CAP_FE : PX_CAP_BE, &px);

    if (px != NULL)
        proxy_op_apply(px, srv, (enum proxy_op)op);
}

/* The frontend named by args[2] of a "<verb> frontend <name>" line, or
 * NULL after the complaint. */
static struct proxy *proxy_cli_frontend(struct cli_req *req, int argc,
                                        char **args)
{
    struct proxy *px;

    if (argc < 3 || args[2][0] == '\0')
        return cli_fail(req, "A frontend name is expected.\n"), NULL;
    px = proxy_find(worker_cfg(), args[2], PX_CAP_FE);
    if (px == NULL)
        return cli_fail(req, "No such frontend.\n"), NULL;
    return px;
}

/* "disable frontend <f>" (paused: clients wait in the kernel's queue)
 * and "enable frontend <f>". */
static int proxy_cli_enable(struct cli_req *req, int argc, char **args,
                            void *arg)
{
    struct proxy *px = proxy_cli_frontend(req, argc, args);
    int on = args[0][0] == 'e';

    if (px == NULL)
        return RC_ERR;
    if (px->fe_state == PX_FE_STOPPED)
        return cli_fail(req, "Frontend was previously shut down, cannot %s.\n",
                        args[0]);
    if (px->fe_state == (on ? PX_FE_READY : PX_FE_PAUSED))
        return cli_fail(req, "All sockets are already %s.\n",
                        on ? "enabled" : "disabled");
    proxy_fe_set_state(px, on ? PX_FE_READY : PX_FE_PAUSED);
    return RC_OK;
}

/* "shutdown frontend <f>": it accepts nothing more, for good. */
static int proxy_cli_shutdown(struct cli_req *req, int argc, char **args,
                              void *arg)
{
    struct proxy *px = proxy_cli_frontend(req, argc, args);

    if (px == NULL)
        return RC_ERR;
    if (px->fe_state == PX_FE_STOPPED)
        return cli_fail(req, "Frontend was already shut down.\n");
    proxy_fe_set_state(px, PX_FE_STOPPED);
    return RC_OK;
}

/* Reads the integer args[<i>] as HAProxy's atoi() does (no digits: 0);
 * RC_ERR when it is missing. */
static int proxy_cli_int(int argc, char **args, int i, long *v)
{
    if (argc <= i || args[i][0] == '\0')
        return RC_ERR;
    *v = strtol(args[i], NULL, 10);
    return RC_OK;
}

/* "set maxconn frontend <f> <n>": 0 for no limit. */
static int proxy_cli_maxconn(struct cli_req *req, int argc, char **args,
                             void *arg)
{
    struct proxy *px;
    long v;

    if (argc < 4 || args[3][0] == '\0')
        return cli_fail(req, "A frontend name is expected.\n");
    if ((px = proxy_find(worker_cfg(), args[3], PX_CAP_FE)) == NULL)
        return cli_fail(req, "No such frontend.\n");
    if (proxy_cli_int(argc, args, 4, &v) != RC_OK)
        return cli_fail(req, "Integer value expected.\n");
    if (v < 0 || v > INT_MAX)
        return cli_fail(req, "Value out of range.\n");
    px->maxconn = (int)v;
    worker_frontend_update(px);
    return RC_OK;
}

/* "set maxconn global <n>": up to the configured maxconn, which 0 (or
 * less) restores. */
static int proxy_cli_maxconn_global(struct cli_req *req, int argc, char **args,
                                    void *arg)
{
    struct worker_counts wc;
    long v;

    if (proxy_cli_int(argc, args, 3, &v) != RC_OK)
        return cli_fail(req, "Expects an integer value.\n");
    worker_get_counts(&wc);
    if (v > wc.hard_maxconn)
        return cli_fail(req, "Value out of range.\n");
    worker_set_maxconn(v <= 0 ? wc.hard_maxconn : (int)v);
    return RC_OK;
}

static const struct cli_cmd proxy_cli_cmds[] = {
    {{"disable", "frontend", NULL},
     "disable frontend <frontend>             : temporarily disable specific "
     "frontend",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     proxy_cli_enable,
     NULL},
    {{"enable", "frontend", NULL},
     "enable frontend <frontend>              : re-enable specific frontend",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     proxy_cli_enable,
     NULL},
    {{"shutdown", "frontend", NULL},
     "shutdown frontend [frontend]            : stop a specific frontend",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     proxy_cli_shutdown,
     NULL},
    {{"set", "maxconn", "frontend", NULL},
     "set maxconn frontend <frontend> <value> : change a frontend's maxconn "
     "setting",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     proxy_cli_maxconn,
     NULL},
    {{"set", "maxconn", "global", NULL},
     "set maxconn global <value>              : change the per-process "
     "maxconn setting",
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     proxy_cli_maxconn_global,
     NULL},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

void proxy_cli_init(void)
{
    cli_register(proxy_cli_cmds);
}
