/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Rules and the action registry. A rule is "ACTION [args] [if|unless COND]"
 * in one of a proxy's rulesets. Modules register action keywords for the
 * rulesets they serve; the rule runner here is the same for all of them and
 * is resumable: an action that must wait returns ACT_RET_YIELD and the next
 * run starts again at that same rule, without re-testing its condition and
 * without re-running the rules before it. */
#ifndef LUAPROXY_CORE_ACTION_H
#define LUAPROXY_CORE_ACTION_H

struct rule;
struct stream;
struct cfg_ctx;
struct acl_cond;
struct smp_env;

/* The rulesets of a proxy (HAProxy's names). */
enum ruleset {
    RULESET_HTTP_REQ = 0, /* http-request */
    RULESET_HTTP_RES,     /* http-response */
    RULESET_HTTP_AFTER,   /* http-after-response */
    RULESET_TCP_CONN,     /* tcp-request connection */
    RULESET_TCP_SESS,     /* tcp-request session */
    RULESET_TCP_CONT,     /* tcp-request content */
    RULESET_TCP_RES,      /* tcp-response content */
    RULESET_COUNT
};
#define RULESET_BIT(r) (1u << (r))

/* 1 if <rs> runs once for the whole connection, before any request
 * (tcp-request connection and session): what its actions set lasts as
 * long as the connection. */
static inline int ruleset_of_session(int rs)
{
    return rs == RULESET_TCP_CONN || rs == RULESET_TCP_SESS;
}

/* What running an action tells the rule runner. */
enum act_ret {
    ACT_RET_CONT,  /* go on with the next rule */
    ACT_RET_STOP,  /* stop this ruleset, go on with processing */
    ACT_RET_YIELD, /* wait: run this same rule again when woken */
    ACT_RET_DONE,  /* the action answered: stop processing the message */
    ACT_RET_DENY,  /* refuse (403 on a request, 502 on a response) */
    ACT_RET_ABRT,  /* abort: the connection is closed, nothing sent */
    ACT_RET_ERR,   /* internal error (500 on a request) */
    ACT_RET_INV,   /* invalid message (400 on a request, 502 response) */
};

/* Flags for action_run_cb. */
#define ACT_FLAG_FINAL 0x1 /* last evaluation: the action must not yield */
#define ACT_FLAG_FIRST 0x2 /* first call of this rule for this message */

/* Runs <r> on <s>. Owns nothing; per-stream state goes in the stream. */
typedef enum act_ret (*action_run_cb)(struct rule *r, struct stream *s,
                                      unsigned flags);
/* Frees what parse put in <r>->arg. */
typedef void (*action_free_cb)(struct rule *r);
/* Parses the words of an action starting at args[*cur] (the action word),
 * fills <r> (run, arg, free) and advances *cur past the words it used. It
 * stops at "if"/"unless". RC_OK or RC_ERR with *err. */
typedef int (*action_parse_cb)(struct cfg_ctx *ctx, struct rule *r,
                               enum ruleset rs, int *cur, int argc, char **args,
                               char **err);

struct action_kw {
    const char *name;
    unsigned rulesets; /* RULESET_BIT()s where it may appear */
    int prefix;        /* name is a prefix ("lua.") */
    action_parse_cb parse;
};

struct rule {
    struct rule *next;
    const struct action_kw *kw;
    action_run_cb run;
    action_free_cb free;
    void *arg;             /* owned by the action, freed by <free> */
    long long iarg;        /* a small integer argument (e.g. deny status) */
    struct acl_cond *cond; /* NULL: always */
    char *file;
    int line;
};

struct rule_list {
    struct rule *first;
    struct rule **tail;
};

/* Where a stream stands in a ruleset; lives in the stream. */
struct rule_cursor {
    struct rule *cur; /* the rule to resume at, NULL: from the start */
    int started;      /* its condition passed and its action yielded */
};

/* Registers a NULL-name terminated table of actions. */
void action_register(const struct action_kw *tbl);
/* Finds the action named <word> allowed in <rs>; NULL if none. */
const struct action_kw *action_find(enum ruleset rs, const char *word);
/* Returns 1 if <word> names an action in any ruleset. */
int action_exists(const char *word);

/* Parses an optional "if COND" / "unless COND" starting at args[<i>] with
 * the ACLs of the current proxy; *cond stays NULL when there is none. */
int rule_cond_parse(struct cfg_ctx *ctx, int i, int argc, char **args,
                    struct acl_cond **cond, char **err);
void rule_list_init(struct rule_list *l);
void rule_list_free(struct rule_list *l);
/* Parses a full rule line (args start at the action word) into <l>. */
int rule_parse(struct cfg_ctx *ctx, struct rule_list *l, enum ruleset rs,
               int argc, char **args, char **err);
/* Runs the rules of <l> from <cur> on for <s>; returns the last action's
 * verdict: ACT_RET_CONT when the list ended, ACT_RET_YIELD when an action
 * waits (the cursor then points at it), or the stopping verdict. A condition
 * that needs data not there yet also yields unless <flags> has FINAL. */
enum act_ret rules_exec(const struct rule_list *l, struct rule_cursor *cur,
                        struct stream *s, const struct smp_env *env,
                        unsigned flags);

#endif
