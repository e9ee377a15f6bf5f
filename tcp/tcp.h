/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The tcp module: tcp-request/tcp-response keywords and actions, and the
 * TCP protocol layer for "mode tcp" frontends. */
#ifndef LUAPROXY_TCP_TCP_H
#define LUAPROXY_TCP_TCP_H

#include "core/module.h"

extern const struct module tcp_module;

/* tcp/tcp_fetch.c: req.len, req.payload, req.ssl_sni... */
void tcp_fetch_init(void);
/* tcp/tcp_act.c: silent-drop, set-nice */
void tcp_act_init(void);

#endif
