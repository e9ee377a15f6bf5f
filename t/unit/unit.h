/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Check suites of the unit test binaries, one per source file. */
#ifndef LUAPROXY_T_UNIT_UNIT_H
#define LUAPROXY_T_UNIT_UNIT_H

#include <check.h>

Suite *suite_core_cfgtok(void);
Suite *suite_core_cfgval(void);
Suite *suite_core_cfgcond(void);
Suite *suite_core_sample(void);
Suite *suite_core_acl(void);
Suite *suite_core_vars(void);
Suite *suite_core_logformat(void);
Suite *suite_core_map(void);
Suite *suite_core_cli(void);
Suite *suite_core_filter(void);
Suite *suite_core_freq_ctr(void);
Suite *suite_core_stick_table(void);
Suite *suite_core_shcache(void);
Suite *suite_http_h1(void);
Suite *suite_lua_api_util(void);
Suite *suite_lua_api_fetches(void);
Suite *suite_lua_api_core(void);
Suite *suite_lua_api_httpclient(void);

/* Runs <suites> (NULL-terminated) with TAP output; returns the exit code. */
int unit_run(Suite *(*const *suites)(void));

#endif
