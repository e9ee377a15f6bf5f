/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runtime API (HAProxy's "stats socket" CLI). The master accepts on
 * the stats sockets and hands each command to one or every worker; a
 * worker runs it from its event loop against the command registry that
 * modules fill with rows (maps from core/map_cli.c, servers from
 * core/server_cli.c, Lua commands from lua_api/luab_cli.c). Commands may
 * answer at once or later (a Lua command waiting on a socket). */
#ifndef LUAPROXY_CORE_CLI_H
#define LUAPROXY_CORE_CLI_H

#include <stdarg.h>

struct cfg;
struct cfg_kw;
struct evbuffer;
struct listener;

/* Access levels of a stats socket, in HAProxy's order. */
enum cli_level {
    CLI_LVL_USER = 0,
    CLI_LVL_OPER,
    CLI_LVL_ADMIN,
};

/* Default "stats timeout": idle client, and the longest a worker may take
 * to answer one command. */
#define CLI_DEFAULT_TIMEOUT_MS 10000
#define CLI_DEFAULT_MAXCONN    10 /* "stats maxconn", as HAProxy */
#define CLI_WORDS_MAX          5  /* words naming a command */
#define CLI_ARGS_MAX           64 /* words of one command line */
#define CLI_LINE_MAX           16384
#define CLI_ANSWER_MAX         (64 << 20) /* bytes of one worker's answer */

/* The command changes state: without "@N" it goes to every worker. */
#define CLI_F_WRITE 0x1
/* The command reads what each worker counts for itself: without "@N" it
 * goes to every worker and the row's merge callback makes one answer. */
#define CLI_F_MERGE 0x2

/* One command being run in a worker. The command writes its answer into
 * <out> (cli_printf); cli_fail() marks it as failed, so that the master
 * prefers it when it merges the answers of several workers. */
struct cli_req {
    struct evbuffer *out;
    enum cli_level level;
    int failed;
    struct cli_conn *conn; /* the worker's end of the command */
};

/* Runs <args>[0..argc-1] (the command's words come first). Returns RC_OK
 * or RC_ERR when the answer is complete, RC_AGAIN when the command goes
 * on and will call cli_req_done() later from the event loop. */
typedef int (*cli_cmd_cb)(struct cli_req *req, int argc, char **args,
                          void *arg);

/* Makes, in the master, the one answer of the <n> workers' answers <in>
 * (each drained at will) into <out>. */
typedef void (*cli_merge_cb)(struct evbuffer **in, int n, struct evbuffer *out);

struct cli_cmd {
    const char *words[CLI_WORDS_MAX + 1]; /* NULL-terminated */
    const char *usage;                    /* for "help"; NULL: hidden */
    enum cli_level level;                 /* the least level allowed */
    unsigned flags;                       /* CLI_F_* */
    cli_cmd_cb fn;
    void *arg;
};

/* Adds the rows of <tbl> (ended by a row whose words[0] is NULL), which
 * the caller keeps alive; RC_OK, or RC_ERR when the registry is full. */
int cli_register(const struct cli_cmd *tbl);
/* The answers of the CLI_F_MERGE rows run by <fn> are merged by <merge>;
 * RC_OK, or RC_ERR when the registry is full. */
int cli_merge_register(cli_cmd_cb fn, cli_merge_cb merge);
/* The merge callback of <row>, or NULL. */
cli_merge_cb cli_merge_find(const struct cli_cmd *row);
/* The row the first words of <args> name, or NULL. */
const struct cli_cmd *cli_find(int argc, char **args);
/* Splits <line> in place into at most CLI_ARGS_MAX words (blanks
 * separate, a backslash escapes the next character); returns the count. */
int cli_split(char *line, char **args);

/* Appends to the answer. */
void cli_printf(struct cli_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends to the answer and marks the command failed; returns RC_ERR. */
int cli_fail(struct cli_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends a command that returned RC_AGAIN: sends its answer. */
void cli_req_done(struct cli_req *req);

/* Registers core's own commands (help is built in; show info). */
void cli_init(void);
/* Worker side: serves the command the master sent on <fd> (owned from
 * now on). */
void cli_worker_serve(int fd);

/* Worker side: a question to the master. Only the master sees every
 * worker, so a figure of the whole (a page of statistics, say) is asked
 * of it as a stats socket client would: it runs <line> at level "user"
 * (read-only: the question can change nothing) with the same fan-out and
 * merges as for its clients, even without any "stats socket". <cb> is
 * called once, from the loop, with the whole answer (drained at will),
 * or with NULL when none came within <timeout_ms> (or the master is
 * gone). The caller owns the question: cli_ask_free() it, before or
 * after <cb>. NULL when it could not be asked. */
struct cli_ask;
typedef void (*cli_ask_cb)(struct evbuffer *answer, void *arg);
struct cli_ask *cli_ask_new(const char *line, unsigned timeout_ms,
                            cli_ask_cb cb, void *arg);
/* Frees <a> (NULL accepted); its callback is no longer called. */
void cli_ask_free(struct cli_ask *a);

/* ---- cli_master.c: the stats sockets, in the master */
/* Binds the stats sockets of <cfg>, taking over those of <old> (may be
 * NULL) at the same address; RC_OK, or RC_ERR with nothing of <old>
 * touched. */
int cli_master_bind(struct cfg *cfg, struct cfg *old);
/* What the master knows of a worker it can send commands to. */
struct cli_target {
    int id;   /* 1..N */
    int pid;  /* process id */
    int chan; /* the channel to pass the command on */
};
/* Fills <t> with the workers of the current generation, by increasing id;
 * returns their count (at most <max>). */
typedef int (*cli_targets_cb)(struct cli_target *t, int max);
struct event_base;
/* Serves the stats sockets of <cfg> in the master's loop <base> from now
 * on, sending commands to the workers <targets> lists; the sockets of the
 * previous generation are no longer watched (the caller frees it). */
void cli_master_start(struct cfg *cfg, struct event_base *base,
                      cli_targets_cb targets);
/* Serves the question of a worker (CHANNEL_CLI_ASK): <line> (<len>
 * bytes) at level user, answered on <fd> (owned from now on), which is
 * then closed. */
void cli_master_adopt(int fd, const char *line, size_t len);
/* At the master's exit: closes every client and stops accepting. */
void cli_master_stop(void);
/* In a new worker: closes the master's CLI descriptors. */
void cli_master_forget(void);
/* Frees the stats sockets <cfg> owns. */
void cli_master_cfg_free(struct cfg *cfg);

#endif
