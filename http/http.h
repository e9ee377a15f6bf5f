/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The http module: HTTP rule keywords, actions, fetches, and the HTTP
 * protocol layer for "mode http" frontends. */
#ifndef LUAPROXY_HTTP_HTTP_H
#define LUAPROXY_HTTP_HTTP_H

#include "core/cfgparse.h"
#include "core/module.h"

extern const struct module http_module;

/* http/http_act.c */
void http_act_init(void);
/* monitor-uri, capture: frontend keywords built as leading rules */
extern const struct cfg_kw http_act_keywords[];
/* http/http_fetch.c */
void http_fetch_init(void);

#endif
