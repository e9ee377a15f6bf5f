/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Protocol health checks ("option redis-check", "smtpchk", "mysql-check",
 * "pgsql-check", "ldap-check", "ssl-hello-chk", "spop-check"): each is a
 * predefined tcp-check sequence, built from a table of steps, that
 * core/check.c runs like the lines of "option tcp-check". */
#ifndef LUAPROXY_CORE_CHECK_PROTO_H
#define LUAPROXY_CORE_CHECK_PROTO_H

#include <stddef.h>

#include "core/cfgparse.h"

/* Judges what the server sent after the last send, <len> bytes at <p>
 * (<last>: no more will come). Returns RC_OK (passed), RC_AGAIN (wait
 * for more; never when <last>) or RC_ERR (failed), and writes HAProxy's
 * reason for a result into <why>. */
typedef int (*check_verdict_cb)(const char *p, size_t len, int last, char *why,
                                size_t cap);

/* One step of a protocol sequence: bytes to send (<data> not NULL, owned
 * by whoever holds the step) or a verdict on the answer. */
struct check_proto_step {
    char *data;
    size_t len;
    check_verdict_cb verdict;
};

/* "[no] option redis-check|smtpchk|mysql-check|pgsql-check|ldap-check|
 * ssl-hello-chk|spop-check [arguments]": the handler of their keyword
 * rows (core/check.c's table). */
int check_proto_parse_option(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err);

#endif
