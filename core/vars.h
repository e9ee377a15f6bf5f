/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Variables (HAProxy's vars.c): named samples kept in one of five scopes,
 * "proc" (process-wide), "sess" (client session), "txn" (one transaction),
 * "req" and "res" (one direction of a transaction). A struct vars holds the
 * variables of one scope; the session and the stream embed theirs, and
 * stream_vars() (core/stream.c) says which set serves a scope for a stream.
 * Values are copied in with malloc, never taken from a pool, because a set
 * outlives the pools of the streams that write it (sess, proc). */
#ifndef LUAPROXY_CORE_VARS_H
#define LUAPROXY_CORE_VARS_H

#include <stddef.h>

#include "core/ist.h"

enum vars_scope {
    VARS_SCOPE_PROC,
    VARS_SCOPE_SESS,
    VARS_SCOPE_TXN,
    VARS_SCOPE_REQ,
    VARS_SCOPE_RES,
};

/* A variable reference resolved at load time (argument "txn.name"). <name>
 * excludes the scope and belongs to whoever parsed it. */
struct var_ref {
    enum vars_scope scope;
    struct ist name;
};

struct var;
struct sample;
struct stream;

/* One scope's variables: a short list, as HAProxy (a few tens at most). */
struct vars {
    struct var *head;
    size_t count;
    size_t bytes; /* names and values, for future tune.vars.* limits */
};

/* set-var conditions (HAProxy's "ifexists", "ifnotempty"...), OR-ed. */
#define VARS_IF_EXISTS    0x01
#define VARS_IF_NOTEXISTS 0x02
#define VARS_IF_EMPTY     0x04
#define VARS_IF_NOTEMPTY  0x08
#define VARS_IF_SET       0x10
#define VARS_IF_NOTSET    0x20
#define VARS_IF_GT        0x40
#define VARS_IF_LT        0x80

/* Makes <v> an empty set. */
void vars_init(struct vars *v);
/* Frees every variable of <v>, leaving it empty and reusable. */
void vars_prune(struct vars *v);
/* Parses "txn.name" (<len> bytes of <s>) into <scope> and <name>, which
 * points into <s>. RC_OK, or RC_ERR with *<err> set (HAProxy's wording). */
int vars_parse_name(const char *s, size_t len, enum vars_scope *scope,
                    struct ist *name, char **err);
/* Parses one set-var condition word into the VARS_IF_* bit it names and ORs
 * it into *<cond>. RC_OK or RC_ERR with *<err> set. */
int vars_parse_cond(const char *s, size_t len, unsigned *cond, char **err);
/* Provided by core/stream.c: the set holding <scope> for <strm>, or NULL if
 * the stream has none (e.g. "res" before the response). */
struct vars *stream_vars(struct stream *strm, enum vars_scope scope);
/* Returns the set for <scope>: the process set for "proc", else
 * stream_vars(); NULL when <strm> is NULL for a per-stream scope. */
struct vars *vars_of(struct stream *strm, enum vars_scope scope);
/* Replaces the stream_vars() lookup (unit tests, embedders); NULL restores
 * it. */
void vars_set_resolver(struct vars *(*fn)(struct stream *strm,
                                          enum vars_scope scope));
/* Stores a copy of <smp> under <name>. RC_OK, or RC_ERR when out of
 * memory or <smp> has no storable type. */
int vars_set(struct vars *v, struct ist name, const struct sample *smp);
/* Same, only if the VARS_IF_* conditions in <cond> hold: RC_OK when stored,
 * RC_DECLINED when a condition refused it, RC_ERR when out of memory. */
int vars_set_cond(struct vars *v, struct ist name, const struct sample *smp,
                  unsigned cond);
/* Removes <name> from <v>; RC_OK whether or not it existed. */
int vars_unset(struct vars *v, struct ist name);
/* Returns 1 and fills <out> if <name> is set, else 0. String data in <out>
 * belongs to the variable: copy it before the variable may change. */
int vars_get(const struct vars *v, struct ist name, struct sample *out);
/* Makes <dst> a copy of <src>. RC_OK, or RC_ERR when out of memory. */
int vars_copy(struct vars *dst, const struct vars *src);
/* The process-wide set ("proc." variables). */
struct vars *vars_proc(void);

#endif
