/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The core module: global and proxy keywords, core fetches and actions.
 * Also declares the tables and init functions of core's own files that
 * only the module definition gathers. */
#ifndef LUAPROXY_CORE_CORE_H
#define LUAPROXY_CORE_CORE_H

#include "core/cfgparse.h"
#include "core/module.h"

extern const struct module core_module;

/* core/cfgparse_global.c and core/cfgparse_proxy.c */
extern const struct cfg_kw cfgparse_global_keywords[];
/* HAProxy's global TLS defaults, accepted and checked (core/tls_defaults.c). */
extern const struct cfg_kw tls_defaults_keywords[];
extern const struct cfg_kw cfgparse_proxy_keywords[];
/* core/cli_master.c: "stats socket", "stats timeout" */
extern const struct cfg_kw cli_master_keywords[];
struct listener;
/* Parses the options of "bind ADDR" (mode, user, backlog...) from
 * args[i] on into <l>; RC_OK or RC_ERR with *err (also "stats socket"). */
int cfgparse_bind_opts(struct listener *l, int i, int argc, char **args,
                       char **err);
/* core/stream_fetch.c: src, dst, fe_name... */
void stream_fetch_init(void);
/* core/vars_act.c: set-var and unset-var actions */
void vars_act_init(void);
/* core/vars_act.c: the global section's "set-var" and "set-var-fmt" */
extern const struct cfg_kw vars_act_keywords[];

#endif
