/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runtime API in the master: the "stats socket" and "stats timeout"
 * keywords, the stats sockets (bound before the workers chroot or drop
 * privileges, kept across reloads like the proxies' sockets), and the
 * client side of HAProxy's protocol: one line of commands separated by
 * ';', answered and then closed unless "prompt" made the session
 * interactive. The master never runs a command itself: it passes each one
 * to workers of the current generation (see cli.c for the transport) and
 * waits for them under "stats timeout", so a stuck or dead worker costs a
 * client an error, never the master its loop.
 *
 * Which workers: "@N <command>" (HAProxy's master CLI) goes to worker N
 * only, "@!PID" to that process. Otherwise a command that changes state
 * (a row marked CLI_F_WRITE, or a command no core row names, such as a
 * Lua command) goes to every worker, since each worker keeps its own
 * copy of maps and servers and they must agree; the client gets worker
 * 1's answer, or the first failure. A read-only command goes to worker 1
 * alone, unless it reads what each worker counts for itself (a row marked
 * CLI_F_MERGE, such as "show stat"): it goes to every worker too and the
 * row's callback merges the answers, as HAProxy's threads share their
 * counters.
 *
 * A worker's question (CHANNEL_CLI_ASK, see cli_ask_new()) is served as
 * the line of a client at level "user" on the socket the worker passed:
 * it needs no stats socket, and the same fan-out and merges apply. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/cli.h"
#include "core/channel.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/util.h"

#define CLI_MAX_TARGETS 256

struct cli_job;

/* One worker's part of a command. */
struct cli_leg {
    struct cli_job *job;
    int id, pid;
    int fd; /* -1 once done */
    struct event *ev;
    struct evbuffer *buf;
    const char *error; /* set when the worker could not answer */
};

/* A command sent to one or more workers. */
struct cli_job {
    struct cli_client *cl;
    struct event *timer;
    int nlegs, pending;
    struct cli_leg *legs;
    cli_merge_cb merge; /* the answers are merged (CLI_F_MERGE), or NULL */
};

/* A client of a stats socket. */
struct cli_client {
    struct cli_client *next, **pprev;
    struct bufferevent *bev;
    enum cli_level level;
    unsigned timeout; /* ms */
    int interactive;
    int gone;   /* the client closed while a job ran */
    char *line; /* the line being run, and where its next command starts */
    char *next_cmd;
    struct cli_job *job;
};

/* A stats socket's accept event in the master. */
struct cli_accept {
    struct cli_accept *next;
    struct listener *l;
    struct event *ev;
    unsigned timeout; /* "stats timeout" of its generation, ms */
};

static struct event_base *cli_base;
static cli_targets_cb cli_targets;
static struct cli_accept *cli_accepts;
static struct cli_client *cli_clients;
static int cli_nclients, cli_maxconn = CLI_DEFAULT_MAXCONN;
static int cli_paused; /* at "stats maxconn": the accepts wait */
static unsigned cli_timeout = CLI_DEFAULT_TIMEOUT_MS; /* the workers' */

static void cli_client_next(struct cli_client *cl);
static void cli_client_read_cb(struct bufferevent *bev, void *arg);
static void cli_client_prompt(struct cli_client *cl);

/* ------------------------------------------------------------------ */
/* Configuration                                                        */
/* ------------------------------------------------------------------ */

/* Parses "level user|operator|admin" into <l>. */
static int cli_parse_level(const char *s, int *level, char **err)
{
    static const char *const names[] = {"user", "operator", "admin"};
    int i = cfg_word_index(s, names, 3);

    if (i < 0)
        return set_err(err,
                       "'level' only supports 'user', 'operator', and "
                       "'admin' (got '%s')",
                       s);
    *level = i;
    return RC_OK;
}

/* Takes "level" and "expose-fd" out of the options args[from..argc-1];
 * returns the count of the others, moved to the front of <rest>. */
static int cli_socket_opts(struct cfg_ctx *ctx, struct listener *l, int from,
                           int argc, char **args, char **rest, char **err)
{
    int i, n = 0;

    for (i = from; i < argc; i++) {
        if (strcmp(args[i], "level") == 0 ||
            strcmp(args[i], "expose-fd") == 0) {
            if (i + 1 >= argc)
                return set_err(err, "'%s' expects an argument", args[i]);
            if (args[i][0] == 'l' &&
                cli_parse_level(args[i + 1], &l->level, err) != RC_OK)
                return RC_ERR;
            if (args[i][0] == 'e')
                cfg_warn(ctx,
                         "'expose-fd %s' ignored: workers are forked by the "
                         "master and reloads keep the sockets already",
                         args[i + 1]);
            i++;
        } else {
            rest[n++] = args[i];
        }
    }
    return n;
}

/* "stats socket <path|addr:port> [level L] [mode M] [user U] [group G]
 * [uid N] [gid N] [expose-fd listeners]". */
static int cli_kw_socket(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    static char bind_word[] = "bind"; /* as "bind" options name them */
    struct listener *l = xcalloc(1, sizeof(*l)), **pl;
    char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    int n;

    l->fd = -1;
    l->uid = l->gid = -1;
    l->level = CLI_LVL_OPER; /* HAProxy's default */
    l->file = ctx->file;
    l->line = ctx->line;
    rest[0] = bind_word;
    rest[1] = args[2];
    if (cfgval_addr(args[2], CFGVAL_ADDR_NEED_PORT, &l->addr, err) != RC_OK)
        goto fail;
    if (l->addr.family == AF_UNSPEC) {
        set_err(err, "'stats socket' does not take inherited descriptors");
        goto fail;
    }
    n = cli_socket_opts(ctx, l, 3, argc, args, rest + 2, err);
    if (n < 0 || cfgparse_bind_opts(l, 2, n + 2, rest, err) != RC_OK)
        goto fail;
    free(rest);
    if (l->name == NULL)
        l->name = xstrdup(args[2]);
    for (pl = &ctx->cfg->global.stats_sockets; *pl != NULL; pl = &(*pl)->next)
        ;
    *pl = l;
    return RC_OK;
fail:
    free(rest);
    free(l->name);
    free(l);
    return RC_ERR;
}

/* "stats timeout <duration>": not zero. */
static int cli_kw_timeout(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    unsigned ms;

    if (cfgval_duration_ms(args[2], &ms, err) != RC_OK)
        return RC_ERR;
    if (ms == 0)
        return set_err(err, "'stats timeout' expects a positive value");
    ctx->cfg->global.stats_timeout = ms;
    return RC_OK;
}

const struct cfg_kw cli_master_keywords[] = {
    {"stats socket", CFG_SEC_GLOBAL, 1, -1, cli_kw_socket, 0, 0, 0},
    {"stats timeout", CFG_SEC_GLOBAL, 1, 1, cli_kw_timeout, 0, 0, 0},
    {"stats maxconn", CFG_SEC_GLOBAL, 1, 1, cfg_set_int,
     offsetof(struct global, stats_maxconn), 1, 100000},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* ------------------------------------------------------------------ */
/* Sockets                                                              */
/* ------------------------------------------------------------------ */

/* The bound stats socket of <old> that <l> can take over, or NULL. */
static struct listener *cli_find_socket(struct cfg *old,
                                        const struct listener *l)
{
    struct listener *o;

    for (o = old ? old->global.stats_sockets : NULL; o != NULL; o = o->next)
        if (o->fd >= 0 && listener_same(o, l))
            return o;
    return NULL;
}

int cli_master_bind(struct cfg *cfg, struct cfg *old)
{
    struct listener *l, *o;
    char *err = NULL;

    for (l = cfg->global.stats_sockets; l != NULL; l = l->next) {
        if ((o = cli_find_socket(old, l)) != NULL) {
            l->fd = o->fd;
        } else if (listener_bind(l, &err) != RC_OK) {
            log_alert("%s:%d: 'stats socket': %s", l->file, l->line, err);
            free(err);
            for (l = cfg->global.stats_sockets; l != NULL; l = l->next)
                if (cli_find_socket(old, l) == NULL)
                    listener_close(l);
                else
                    l->fd = -1;
            return RC_ERR;
        }
    }
    for (l = cfg->global.stats_sockets; l != NULL; l = l->next)
        if ((o = cli_find_socket(old, l)) != NULL && o->fd == l->fd)
            o->fd = -1;
    return RC_OK;
}

void cli_master_cfg_free(struct cfg *cfg)
{
    struct listener *l, *next;

    for (l = cfg->global.stats_sockets; l != NULL; l = next) {
        next = l->next;
        listener_close(l);
        free(l->name);
        free(l);
    }
    cfg->global.stats_sockets = NULL;
}

/* ------------------------------------------------------------------ */
/* Jobs: one command in the workers                                     */
/* ------------------------------------------------------------------ */

/* Closes the descriptor of <leg>, whose part is over. */
static void cli_leg_close(struct cli_leg *leg)
{
    if (leg->fd < 0)
        return;
    event_free(leg->ev);
    leg->ev = NULL;
    close(leg->fd);
    leg->fd = -1;
    leg->job->pending--;
}

/* Frees <job> and what its legs still hold. */
static void cli_job_free(struct cli_job *job)
{
    int i;

    for (i = 0; i < job->nlegs; i++) {
        cli_leg_close(&job->legs[i]);
        if (job->legs[i].buf != NULL)
            evbuffer_free(job->legs[i].buf);
    }
    event_free(job->timer);
    free(job->legs);
    free(job);
}

/* 1 if <leg> answered with a failure or did not answer. */
static int cli_leg_failed(struct cli_leg *leg)
{
    unsigned char *s;

    if (leg->error != NULL || leg->buf == NULL)
        return 1;
    s = evbuffer_pullup(leg->buf, 1);
    if (s == NULL || (s[0] != '0' && s[0] != '1'))
        leg->error = "closed the command without answering";
    return leg->error != NULL || s[0] == '1';
}

/* Writes <leg>'s answer (or what went wrong) to the client. */
static void cli_leg_answer(struct cli_leg *leg, struct evbuffer *out)
{
    if (leg->error != NULL) {
        evbuffer_add_printf(out, "worker %d (pid %d) %s.\n", leg->id, leg->pid,
                            leg->error);
        return;
    }
    evbuffer_drain(leg->buf, 1);
    evbuffer_add_buffer(out, leg->buf);
}

/* Writes the merge of the answers of every leg of <job> to <out>. */
static void cli_job_merge(struct cli_job *job, struct evbuffer *out)
{
    struct evbuffer *in[CLI_MAX_TARGETS];
    int i;

    for (i = 0; i < job->nlegs; i++) {
        evbuffer_drain(job->legs[i].buf, 1); /* the status */
        in[i] = job->legs[i].buf;
    }
    job->merge(in, job->nlegs, out);
}

/* Every leg is over: the client gets the first failure, else the merged
 * answers or the answer of the first worker; then its next command
 * runs. */
static void cli_job_finish(struct cli_job *job)
{
    struct cli_client *cl = job->cl;
    struct cli_leg *pick = NULL;
    int i;

    for (i = 0; i < job->nlegs && pick == NULL; i++)
        if (cli_leg_failed(&job->legs[i]))
            pick = &job->legs[i];
    cl->job = NULL;
    if (!cl->gone) {
        if (pick == NULL && job->merge != NULL)
            cli_job_merge(job, bufferevent_get_output(cl->bev));
        else
            cli_leg_answer(pick ? pick : &job->legs[0],
                           bufferevent_get_output(cl->bev));
        cli_client_prompt(cl);
    }
    cli_job_free(job);
    cli_client_next(cl);
}

/* "stats timeout" passed: the workers still silent fail the command. */
static void cli_job_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cli_job *job = arg;
    int i;

    for (i = 0; i < job->nlegs; i++)
        if (job->legs[i].fd >= 0) {
            job->legs[i].error = "did not answer in time";
            cli_leg_close(&job->legs[i]);
        }
    cli_job_finish(job);
}

/* A worker's answer arrives; EOF ends it. */
static void cli_leg_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cli_leg *leg = arg;
    struct cli_job *job = leg->job;
    int n = evbuffer_read(leg->buf, fd, -1);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0 && evbuffer_get_length(leg->buf) <= CLI_ANSWER_MAX + 1)
        return;
    if (n > 0)
        leg->error = "answered more than the runtime API takes";
    else if (n < 0)
        leg->error = "closed the command without answering";
    cli_leg_close(leg);
    if (job->pending == 0)
        cli_job_finish(job);
}

/* Passes the command <cmd> to the worker of <leg>. */
static void cli_leg_start(struct cli_leg *leg, const struct cli_target *t,
                          enum cli_level level, const char *cmd)
{
    int sv[2];
    char head[16], nl = '\n';
    struct iovec iov[3];
    ssize_t want, n;

    leg->id = t->id;
    leg->pid = t->pid;
    leg->fd = -1;
    leg->buf = evbuffer_new();
    if (leg->buf == NULL ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) <
            0) {
        leg->error = "cannot be reached (out of resources)";
        return;
    }
    if (channel_send_fd(t->chan, CHANNEL_CLI, 0, sv[1]) != RC_OK) {
        close(sv[0]);
        close(sv[1]);
        leg->error = "does not take commands";
        return;
    }
    close(sv[1]);
    snprintf(head, sizeof(head), "%d\n", (int)level);
    iov[0].iov_base = head;
    iov[0].iov_len = strlen(head);
    iov[1].iov_base = (void *)cmd;
    iov[1].iov_len = strlen(cmd);
    iov[2].iov_base = &nl;
    iov[2].iov_len = 1;
    want = (ssize_t)(iov[0].iov_len + iov[1].iov_len + 1);
    /* an empty socketpair takes far more than CLI_LINE_MAX at once */
    n = writev(sv[0], iov, 3);
    shutdown(sv[0], SHUT_WR);
    if (n != want) {
        close(sv[0]);
        leg->error = "cannot be reached";
        return;
    }
    leg->ev =
        event_new(cli_base, sv[0], EV_READ | EV_PERSIST, cli_leg_read_cb, leg);
    if (leg->ev == NULL) {
        close(sv[0]);
        leg->error = "cannot be reached (out of resources)";
        return;
    }
    leg->fd = sv[0];
    event_add(leg->ev, NULL);
    leg->job->pending++;
}

/* 1 if <cmd> must go to every worker (see the comment at the top); its
 * merge callback, if its answers are merged, in *<merge>. */
static int cli_is_broadcast(const char *cmd, cli_merge_cb *merge)
{
    char *copy = xstrdup(cmd), *args[CLI_ARGS_MAX];
    int argc = cli_split(copy, args);
    const struct cli_cmd *row = cli_find(argc, args);
    int all = argc > 0 && strcmp(args[0], "help") != 0 &&
              (row == NULL || (row->flags & (CLI_F_WRITE | CLI_F_MERGE)));

    *merge = all ? cli_merge_find(row) : NULL;
    free(copy);
    return all;
}

/* Picks the workers for <cmd> addressed to <want_id> (0: by the rule,
 * else an id) or <want_pid> (0: none) into <t>; returns their count. */
static int cli_pick(const char *cmd, int want_id, int want_pid,
                    struct cli_target *t, cli_merge_cb *merge)
{
    struct cli_target all[CLI_MAX_TARGETS];
    int n = cli_targets(all, CLI_MAX_TARGETS), i, k = 0;

    for (i = 0; i < n; i++)
        if ((want_id != 0 && all[i].id == want_id) ||
            (want_pid != 0 && all[i].pid == want_pid))
            t[k++] = all[i];
    *merge = NULL;
    if (want_id != 0 || want_pid != 0 || n == 0)
        return k;
    if (!cli_is_broadcast(cmd, merge)) {
        t[0] = all[0];
        return 1;
    }
    memcpy(t, all, (size_t)n * sizeof(*t));
    return n;
}

/* Starts <cmd> for <cl> on the workers picked; returns 0 if none. */
static int cli_job_start(struct cli_client *cl, const char *cmd, int want_id,
                         int want_pid)
{
    struct cli_target t[CLI_MAX_TARGETS];
    cli_merge_cb merge;
    int n = cli_pick(cmd, want_id, want_pid, t, &merge), i;
    struct cli_job *job;
    struct timeval tv = {cl->timeout / 1000, (cl->timeout % 1000) * 1000};

    if (n == 0)
        return 0;
    job = xcalloc(1, sizeof(*job));
    job->cl = cl;
    job->merge = merge;
    job->nlegs = n;
    job->legs = xcalloc((size_t)n, sizeof(*job->legs));
    job->timer = evtimer_new(cli_base, cli_job_timeout_cb, job);
    if (job->timer == NULL) { /* the master keeps going without this one */
        free(job->legs);
        free(job);
        return 0;
    }
    cl->job = job;
    for (i = 0; i < n; i++) {
        job->legs[i].job = job;
        cli_leg_start(&job->legs[i], &t[i], cl->level, cmd);
    }
    /* even when no worker could be reached, the job ends from the loop,
     * never inside the caller's walk of the line */
    if (job->pending == 0)
        tv.tv_sec = tv.tv_usec = 0;
    evtimer_add(job->timer, &tv);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Clients                                                              */
/* ------------------------------------------------------------------ */

/* Stops (<on> 1) or resumes accepting new clients. */
static void cli_accepts_pause(int on)
{
    struct cli_accept *a;

    if (on == cli_paused)
        return;
    cli_paused = on;
    for (a = cli_accepts; a != NULL; a = a->next)
        on ? event_del(a->ev) : event_add(a->ev, NULL);
}

/* Frees <cl> and closes its connection. */
static void cli_client_free(struct cli_client *cl)
{
    if (cl->job != NULL) { /* answered later, to nobody */
        cl->gone = 1;
        return;
    }
    *cl->pprev = cl->next;
    if (cl->next != NULL)
        cl->next->pprev = cl->pprev;
    if (--cli_nclients < cli_maxconn)
        cli_accepts_pause(0);
    bufferevent_free(cl->bev);
    free(cl->line);
    free(cl);
}

/* The answer left a client that is done: closes it. */
static void cli_client_flushed_cb(struct bufferevent *bev, void *arg)
{
    cli_client_free(arg);
}

/* A client that is done went away before its answer left. */
static void cli_client_closed_cb(struct bufferevent *bev, short what, void *arg)
{
    cli_client_free(arg);
}

/* Ends an answer as HAProxy does: an empty line, then the prompt in
 * interactive mode. */
static void cli_client_prompt(struct cli_client *cl)
{
    evbuffer_add(bufferevent_get_output(cl->bev),
                 cl->interactive ? "\n> " : "\n", cl->interactive ? 3 : 1);
}

/* Takes the next command of the line, up to an unescaped ';', and
 * returns it trimmed (NULL when the line is over). */
static char *cli_next_command(struct cli_client *cl)
{
    char *s = cl->next_cmd, *p, *end;

    if (s == NULL)
        return NULL;
    for (p = s; *p != '\0' && *p != ';'; p++)
        if (*p == '\\' && p[1] != '\0')
            p++;
    cl->next_cmd = *p == ';' ? p + 1 : NULL;
    *p = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    for (end = s + strlen(s); end > s && (end[-1] == ' ' || end[-1] == '\t');)
        *--end = '\0';
    return s;
}

/* Parses an "@N " or "@!PID " prefix off <cmd>; returns the rest, or NULL
 * when the prefix is malformed. */
static char *cli_target_prefix(char *cmd, int *id, int *pid)
{
    char *end;
    long v;

    *id = *pid = 0;
    if (cmd[0] != '@')
        return cmd;
    v = strtol(cmd + 1 + (cmd[1] == '!'), &end, 10);
    if (end == cmd + 1 + (cmd[1] == '!') || v <= 0 ||
        (*end != ' ' && *end != '\t' && *end != '\0'))
        return NULL;
    *(cmd[1] == '!' ? pid : id) = (int)v;
    while (*end == ' ' || *end == '\t')
        end++;
    return end;
}

/* Runs one command of the line; 1 if a job now runs for it. */
static int cli_client_command(struct cli_client *cl, char *cmd)
{
    struct evbuffer *out = bufferevent_get_output(cl->bev);
    int id, pid;
    char *rest;

    if (strcmp(cmd, "prompt") == 0) {
        cl->interactive = !cl->interactive;
        return 0;
    }
    if ((rest = cli_target_prefix(cmd, &id, &pid)) == NULL) {
        evbuffer_add_printf(out, "Can't find the target process!\n");
        return 0;
    }
    if (*rest == '\0')
        return 0;
    if (!cli_job_start(cl, rest, id, pid))
        evbuffer_add_printf(out, id || pid ? "Can't find the target process!\n"
                                           : "No worker is running.\n");
    return cl->job != NULL;
}

/* Goes on with <cl>: the rest of its line, then the next line or the
 * end of a non-interactive session. */
static void cli_client_next(struct cli_client *cl)
{
    struct evbuffer *out;
    char *cmd;

    if (cl->gone) {
        cl->gone = 0;
        cli_client_free(cl);
        return;
    }
    out = bufferevent_get_output(cl->bev);
    while (cl->job == NULL && (cmd = cli_next_command(cl)) != NULL) {
        if (strcmp(cmd, "quit") == 0) {
            cl->interactive = 0;
            cl->next_cmd = NULL;
            break;
        }
        if (cli_client_command(cl, cmd))
            return;
        if (*cmd != '\0' || cl->interactive)
            cli_client_prompt(cl);
    }
    if (cl->job != NULL)
        return;
    xfree_null(&cl->line);
    if (!cl->interactive) {
        bufferevent_disable(cl->bev, EV_READ);
        if (evbuffer_get_length(out) == 0)
            cli_client_free(cl);
        else
            bufferevent_setcb(cl->bev, NULL, cli_client_flushed_cb,
                              cli_client_closed_cb, cl);
        return;
    }
    bufferevent_enable(cl->bev, EV_READ);
    /* a line the client sent along with the previous one */
    cli_client_read_cb(cl->bev, cl);
}

/* A line came from the client: its commands run one after the other. */
static void cli_client_read_cb(struct bufferevent *bev, void *arg)
{
    struct cli_client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len;
    char *line;

    if (cl->job != NULL || cl->line != NULL)
        return;
    line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
    if (line == NULL) {
        if (evbuffer_get_length(in) > CLI_LINE_MAX)
            cli_client_free(cl);
        return;
    }
    if (len > CLI_LINE_MAX) {
        free(line);
        cli_client_free(cl);
        return;
    }
    bufferevent_disable(bev, EV_READ);
    cl->line = line;
    cl->next_cmd = line;
    cli_client_next(cl);
}

/* The client closed, or stayed idle past "stats timeout" (a last line
 * without its newline is not run). */
static void cli_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct cli_client *cl = arg;

    /* a client that only closed its side still gets the last answer */
    if ((what & BEV_EVENT_EOF) && cl->job == NULL &&
        evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        bufferevent_disable(bev, EV_READ);
        bufferevent_setcb(bev, NULL, cli_client_flushed_cb,
                          cli_client_closed_cb, cl);
        return;
    }
    cli_client_free(cl);
}

/* Makes a client of <fd> (owned from now on) at <level> with idle timeout
 * <timeout> ms, reading its lines; NULL (fd closed) when out of
 * resources. */
static struct cli_client *cli_client_new(int fd, enum cli_level level,
                                         unsigned timeout)
{
    struct timeval tv = {timeout / 1000, (timeout % 1000) * 1000};
    struct cli_client *cl = xcalloc(1, sizeof(*cl));

    cl->bev = bufferevent_socket_new(cli_base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (cl->bev == NULL) {
        close(fd);
        free(cl);
        return NULL;
    }
    cl->timeout = timeout;
    cl->level = level;
    cl->next = cli_clients;
    if (cli_clients != NULL)
        cli_clients->pprev = &cl->next;
    cl->pprev = &cli_clients;
    cli_clients = cl;
    if (++cli_nclients >= cli_maxconn)
        cli_accepts_pause(1);
    bufferevent_set_timeouts(cl->bev, &tv, &tv);
    bufferevent_setcb(cl->bev, cli_client_read_cb, NULL, cli_client_event_cb,
                      cl);
    bufferevent_enable(cl->bev, EV_READ);
    return cl;
}

/* Accepts a client on a stats socket. */
static void cli_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cli_accept *a = arg;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (cfd >= 0)
        cli_client_new(cfd, (enum cli_level)a->l->level, a->timeout);
}

void cli_master_adopt(int fd, const char *line, size_t len)
{
    struct cli_client *cl;

    /* past "stats maxconn" the worker does without (a page shows its
     * own figures) */
    if (cli_base == NULL || cli_nclients >= cli_maxconn ||
        memchr(line, '\n', len) != NULL) {
        close(fd);
        return;
    }
    if ((cl = cli_client_new(fd, CLI_LVL_USER, cli_timeout)) == NULL)
        return;
    bufferevent_disable(cl->bev, EV_READ);
    cl->line = xmalloc(len + 1);
    memcpy(cl->line, line, len);
    cl->line[len] = '\0';
    cl->next_cmd = cl->line;
    cli_client_next(cl);
}

/* Stops accepting on the sockets of the previous generation. */
static void cli_accepts_free(void)
{
    struct cli_accept *a, *next;

    for (a = cli_accepts; a != NULL; a = next) {
        next = a->next;
        event_free(a->ev);
        free(a);
    }
    cli_accepts = NULL;
}

void cli_master_start(struct cfg *cfg, struct event_base *base,
                      cli_targets_cb targets)
{
    struct listener *l;
    struct cli_accept *a;

    cli_base = base;
    cli_targets = targets;
    cli_accepts_free();
    cli_maxconn = cfg->global.stats_maxconn;
    cli_timeout = cfg->global.stats_timeout;
    cli_paused = 0;
    for (l = cfg->global.stats_sockets; l != NULL; l = l->next) {
        a = xcalloc(1, sizeof(*a));
        a->l = l;
        a->timeout = cfg->global.stats_timeout;
        a->ev = event_new(base, l->fd, EV_READ | EV_PERSIST, cli_accept_cb, a);
        event_add(a->ev, NULL);
        a->next = cli_accepts;
        cli_accepts = a;
    }
    if (cli_nclients >= cli_maxconn)
        cli_accepts_pause(1);
}

void cli_master_stop(void)
{
    struct cli_client *cl;

    cli_accepts_free();
    while ((cl = cli_clients) != NULL) {
        if (cl->job != NULL) {
            cli_job_free(cl->job);
            cl->job = NULL;
        }
        cli_client_free(cl);
    }
}

void cli_master_forget(void)
{
    struct cli_client *cl;
    struct cli_accept *a;
    int i;

    for (a = cli_accepts; a != NULL; a = a->next)
        listener_close(a->l);
    for (cl = cli_clients; cl != NULL; cl = cl->next) {
        close(bufferevent_getfd(cl->bev));
        for (i = 0; cl->job != NULL && i < cl->job->nlegs; i++)
            if (cl->job->legs[i].fd >= 0)
                close(cl->job->legs[i].fd);
    }
    cli_clients = NULL;
    cli_accepts = NULL;
}
