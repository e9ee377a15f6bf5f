/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Listening sockets. The master binds each configured address once and
 * keeps the socket across reloads when the address and options are
 * unchanged (same fd), so no connection waiting in the kernel's accept
 * queue is lost; workers inherit the sockets by fork and accept on them. */
#ifndef LUAPROXY_CORE_LISTENER_H
#define LUAPROXY_CORE_LISTENER_H

#include "core/cfgval.h"

struct proxy;
struct event;

struct listener {
    struct listener *next; /* in the proxy's list */
    struct proxy *px;
    struct cfg_addr addr;
    char *name;       /* the address as written, for logs and Lua */
    int named;        /* <name> comes from the "name" option */
    int id;           /* "id", 0 if not set (see listener_id()) */
    int fd;           /* -1 until bound */
    int backlog;      /* 0: the proxy's maxconn or the default */
    int maxconn;      /* 0: unlimited */
    unsigned mode;    /* unix socket permissions, 0 = default */
    int uid, gid;     /* unix socket owner, -1 = unchanged */
    int inherited;    /* fd@N: not ours to bind nor close at reload */
    int accept_proxy; /* a PROXY protocol header comes first */
    int level;        /* stats socket: enum cli_level of its clients */
    struct event *ev; /* worker side: accept event */
    unsigned nconn;   /* worker side: its sessions now */
    int watched;      /* worker side: its accept event is added (not at
                         its or its frontend's maxconn, not draining) */
    const char *file; /* where it was declared */
    int line;
};

/* Binds <l> unless <l>->fd is already set; RC_OK or RC_ERR with *err. */
int listener_bind(struct listener *l, char **err);
/* <l>'s "id", else HAProxy's number for it: counting from 1 in the
 * order of its proxy's "bind" lines, skipping the ids set explicitly. */
int listener_id(const struct listener *l);
/* Returns 1 if <a> and <b> would produce the same socket. */
int listener_same(const struct listener *a, const struct listener *b);
/* Closes <l>'s socket if we own it. */
void listener_close(struct listener *l);

#endif
