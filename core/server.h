/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Backend servers and the choice of one for a request. */
#ifndef LUAPROXY_CORE_SERVER_H
#define LUAPROXY_CORE_SERVER_H

#include "core/cfgval.h"

struct proxy;
struct cfg_ctx;

struct server {
    struct server *next;
    struct proxy *px;
    char *name;
    struct cfg_addr addr;
    int weight;
    int maxconn;
    int disabled;
    int backup;
    unsigned cur_conns; /* worker-local */
    unsigned long long served;
    const char *file;
    int line;
};

/* Picks a server of <px> for a new request (round robin over usable
 * servers); NULL when none is usable. */
struct server *server_pick(struct proxy *px);
/* Parses "server NAME ADDR [options]" into <px>; RC_OK or RC_ERR. */
int server_parse(struct cfg_ctx *ctx, struct proxy *px, int argc, char **args,
                 char **err);
/* Frees <srv>. */
void server_free(struct server *srv);

#endif
