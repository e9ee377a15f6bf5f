/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* ACLs (HAProxy's acl.c and pattern.c): a named ACL is a sample expression
 * with a matching method and patterns ("acl api path_beg /api"); a name
 * declared twice ORs its declarations. Conditions ("if a !b || { src
 * 10.0.0.0/8 }") are parsed once at load into OR-ed suites of AND-ed,
 * possibly negated terms and evaluated per stream with HAProxy's
 * three-valued logic (pass, fail, miss = "not decidable yet"). Other
 * modules add ACL keywords (path_beg = fetch "path" + method "beg") and
 * predefined ACLs (HTTP, METH_GET...) through the registries here. */
#ifndef LUAPROXY_CORE_ACL_H
#define LUAPROXY_CORE_ACL_H

#include "core/errors.h"
#include "core/sample.h"

#define ACL_FAIL 0
#define ACL_PASS 1
#define ACL_MISS RC_AGAIN /* needs data that is not there yet */

struct acl;

/* The named ACLs of one proxy; embed it and acl_list_init() it. */
struct acl_list {
    struct acl *head;
};

/* An ACL keyword: <name> is <fetch> matched with <match> (enum pat_match),
 * e.g. {"path_beg", "path", PAT_MATCH_BEG}. Tables end with a NULL name. */
struct acl_kw {
    const char *name;
    const char *fetch;
    int match;
};

/* A predefined ACL: <words> as after "acl NAME" ({"method", "GET", "HEAD",
 * NULL}). Built only when a condition names it. Tables end with NULL. */
struct acl_default {
    const char *name;
    const char *words[8];
};

struct acl_cond;

void acl_list_init(struct acl_list *l);
/* Frees every ACL of <l>; conditions using them must not run afterwards. */
void acl_list_free(struct acl_list *l);
/* Registers ACL keywords and predefined ACLs (tables are referenced, not
 * copied; registering one twice is a no-op). TRUE, FALSE and LOCALHOST are
 * built in. */
void acl_register_keywords(const struct acl_kw *tbl);
void acl_register_defaults(const struct acl_default *tbl);
/* Parses the words after "acl": NAME FETCH [-i] [-n] [-m METHOD] [-f FILE]
 * [-M] [-u ID] [--] PATTERN... and adds the ACL to <l>. RC_OK or RC_ERR with
 * *<err> set in HAProxy's words. */
int acl_parse_line(struct acl_list *l, int argc, char **args, char **err);
/* Parses the words after "if" (<is_unless> 0) or "unless" (1): ACL names,
 * "!" prefixes, "or"/"||", implicit AND, anonymous "{ FETCH ... }" with
 * braces as separate words. Names are looked up in <l> (may be NULL), then
 * in the predefined ACLs, which are then added to <l>. Returns the
 * condition (free with acl_cond_free) or NULL with *<err> set. */
struct acl_cond *acl_cond_parse(struct acl_list *l, int argc, char **args,
                                int is_unless, char **err);
void acl_cond_free(struct acl_cond *c);
/* Evaluates <c>, "unless" included: ACL_PASS, ACL_FAIL, or ACL_MISS when a
 * term needs data not available yet (env->avail lacks what a fetch uses, or
 * a fetch said SMP_F_MAY_CHANGE) and SMP_OPT_FINAL is not set. */
int acl_cond_exec(const struct acl_cond *c, const struct smp_env *env);
/* The SMP_AVAIL_* bits some term of <c> uses (e.g. to know HTTP is needed). */
unsigned acl_cond_use(const struct acl_cond *c);

/* The "-m" name of match method <method> (enum pat_match), "?" if none. */
const char *acl_method_name(int method);

#endif
