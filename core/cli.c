/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runtime API's command registry and its worker side. For each
 * command the master passes the worker one end of a fresh socketpair on
 * the channel; on it come the client's level and the command line, and
 * back go one status byte ('0' done, '1' failed) and the answer, then the
 * worker closes it. Each command is a connection of its own in the
 * worker's loop, so a command that waits (a Lua command on a socket)
 * holds up nothing else. The other way round, a worker may ask the master
 * to run a line for it as a stats socket client would (cli_ask_new()):
 * the answer, merged over every worker, comes back on a socketpair whose
 * end the worker passed. Also core's own commands: help and show info. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/cli.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/util.h"
#include "core/worker.h"

#define CLI_TABLES_MAX    16
#define CLI_MERGES_MAX    8
#define CLI_HELP_MAX      256
#define CLI_WRITE_TIMEOUT 10

/* The worker's end of one command. */
struct cli_conn {
    struct bufferevent *bev;
    struct cli_req req;
};

static const struct cli_cmd *cli_tables[CLI_TABLES_MAX];
static int cli_ntables;

int cli_register(const struct cli_cmd *tbl)
{
    if (cli_ntables == CLI_TABLES_MAX)
        return RC_ERR;
    cli_tables[cli_ntables++] = tbl;
    return RC_OK;
}

/* The merge callbacks of CLI_F_MERGE rows, by the rows' functions. */
static struct {
    cli_cmd_cb fn;
    cli_merge_cb merge;
} cli_merges[CLI_MERGES_MAX];
static int cli_nmerges;

int cli_merge_register(cli_cmd_cb fn, cli_merge_cb merge)
{
    if (cli_nmerges == CLI_MERGES_MAX)
        return RC_ERR;
    cli_merges[cli_nmerges].fn = fn;
    cli_merges[cli_nmerges++].merge = merge;
    return RC_OK;
}

cli_merge_cb cli_merge_find(const struct cli_cmd *row)
{
    int i;

    for (i = 0; row != NULL && (row->flags & CLI_F_MERGE) && i < cli_nmerges;
         i++)
        if (cli_merges[i].fn == row->fn)
            return cli_merges[i].merge;
    return NULL;
}

/* Number of leading words of <args> that <cmd>'s words match, -1 when it
 * has more words than match. */
static int cli_match(const struct cli_cmd *cmd, int argc, char **args)
{
    int i;

    for (i = 0; cmd->words[i] != NULL; i++)
        if (i >= argc || strcmp(cmd->words[i], args[i]) != 0)
            return -1;
    return i;
}

const struct cli_cmd *cli_find(int argc, char **args)
{
    const struct cli_cmd *best = NULL, *c;
    int t, n, best_n = 0;

    for (t = 0; t < cli_ntables; t++)
        for (c = cli_tables[t]; c->words[0] != NULL; c++)
            if ((n = cli_match(c, argc, args)) > best_n) {
                best = c;
                best_n = n;
            }
    return best;
}

int cli_split(char *line, char **args)
{
    char *r = line, *w = line;
    int n = 0;

    while (*r != '\0' && n < CLI_ARGS_MAX) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (*r == '\0')
            break;
        args[n++] = w;
        while (*r != '\0' && *r != ' ' && *r != '\t') {
            if (*r == '\\' && r[1] != '\0')
                r++;
            *w++ = *r++;
        }
        if (*r != '\0')
            r++;
        *w++ = '\0';
    }
    return n;
}

void cli_printf(struct cli_req *req, const char *fmt, ...)
{
    va_list ap;

    if (evbuffer_get_length(req->out) > CLI_ANSWER_MAX) {
        req->failed = 1; /* the master refuses more anyway */
        return;
    }
    va_start(ap, fmt);
    evbuffer_add_vprintf(req->out, fmt, ap);
    va_end(ap);
}

int cli_fail(struct cli_req *req, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    evbuffer_add_vprintf(req->out, fmt, ap);
    va_end(ap);
    req->failed = 1;
    return RC_ERR;
}

/* ------------------------------------------------------------------ */
/* help and unknown commands                                            */
/* ------------------------------------------------------------------ */

/* qsort order of usage lines. */
static int cli_usage_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists, after <title>, the usage of the commands allowed at the request's
 * level whose first <nwords> words are those of <args>, then the three
 * commands every level has (HAProxy's help layout). */
static void cli_usage(struct cli_req *req, const char *title, int nwords,
                      char **args)
{
    const char *lines[CLI_HELP_MAX];
    const struct cli_cmd *c;
    int t, i, n = 0;

    cli_printf(req, "%s\n", title);
    for (t = 0; t < cli_ntables; t++)
        for (c = cli_tables[t]; c->words[0] != NULL; c++) {
            if (c->usage == NULL || c->level > req->level || n == CLI_HELP_MAX)
                continue;
            for (i = 0; i < nwords && c->words[i] != NULL; i++)
                if (strcmp(c->words[i], args[i]) != 0)
                    break;
            if (i == nwords)
                lines[n++] = c->usage;
        }
    qsort(lines, (size_t)n, sizeof(lines[0]), cli_usage_cmp);
    for (i = 0; i < n; i++)
        cli_printf(req, "  %s\n", lines[i]);
    cli_printf(req, "  help [<command>]                        : list "
                    "matching or all commands\n"
                    "  prompt                                  : toggle "
                    "interactive mode with prompt\n"
                    "  quit                                    : "
                    "disconnect\n");
}

/* The longest run of leading words of <args> that some visible command
 * starts with. */
static int cli_known_words(const struct cli_req *req, int argc, char **args)
{
    const struct cli_cmd *c;
    int t, i, best = 0;

    for (t = 0; t < cli_ntables; t++)
        for (c = cli_tables[t]; c->words[0] != NULL; c++) {
            if (c->usage == NULL || c->level > req->level)
                continue;
            for (i = 0; i < argc && c->words[i] != NULL; i++)
                if (strcmp(c->words[i], args[i]) != 0)
                    break;
            if (i > best)
                best = i;
        }
    return best;
}

/* "help [words]", and the answer to a command nobody knows. */
static void cli_help(struct cli_req *req, int argc, char **args, int ishelp)
{
    int n = cli_known_words(req, argc, args);

    if (ishelp)
        cli_usage(req, "The following commands are valid at this level:", n,
                  args);
    else if (n == 0)
        cli_usage(req,
                  "Unknown command. Please enter one of the following "
                  "commands only:",
                  0, args);
    else
        cli_usage(req,
                  "Unknown command, but maybe one of the following ones "
                  "is a better match:",
                  n, args);
}

/* ------------------------------------------------------------------ */
/* show info                                                            */
/* ------------------------------------------------------------------ */

/* "show info": HAProxy's "Name: value" lines (core/stats.c). */
static int cli_show_info(struct cli_req *req, int argc, char **args, void *arg)
{
    struct stats_info info[STATS_INFO_MAX];
    size_t i, n = stats_info(info);

    for (i = 0; i < n; i++)
        cli_printf(req, "%s: %s\n", info[i].name, info[i].value);
    return RC_OK;
}

/* The "show info" fields each worker counts for itself: summed. */
static const char *const cli_info_summed[] = {"CurrConns", "CumConns", "CumReq",
                                              NULL};

/* Appends the field <line> (<len> bytes, "Name: value") of the first
 * worker, made the whole's: summed over the <n> answers <in> for the
 * counts, the number of workers for Nbthread (HAProxy's threads are our
 * workers), else as it is. */
static void cli_info_field(const char *line, size_t len, char **in, int n,
                           struct evbuffer *out)
{
    size_t nlen = strcspn(line, ":");
    const char *const *k;
    unsigned long long sum = 0;
    const char *p;
    int i;

    if (nlen == 8 && memcmp(line, "Nbthread", 8) == 0) {
        evbuffer_add_printf(out, "Nbthread: %d\n", n);
        return;
    }
    for (k = cli_info_summed; *k != NULL; k++)
        if (strlen(*k) == nlen && memcmp(*k, line, nlen) == 0)
            break;
    if (*k == NULL || nlen >= len) {
        evbuffer_add_printf(out, "%.*s\n", (int)len, line);
        return;
    }
    for (i = 0; i < n; i++)
        for (p = in[i]; (p = strstr(p, *k)) != NULL; p += nlen)
            if ((p == in[i] || p[-1] == '\n') && p[nlen] == ':') {
                sum += strtoull(p + nlen + 1, NULL, 10);
                break;
            }
    evbuffer_add_printf(out, "%s: %llu\n", *k, sum);
}

/* The CLI_F_MERGE callback of "show info": the first worker's fields,
 * with the counts of all of them. */
static void cli_info_merge(struct evbuffer **in, int n, struct evbuffer *out)
{
    char **text = xcalloc((size_t)n, sizeof(*text));
    const char *line, *end;
    size_t len;
    int i;

    for (i = 0; i < n; i++) {
        len = evbuffer_get_length(in[i]);
        text[i] = xmalloc(len + 1);
        evbuffer_remove(in[i], text[i], len);
        text[i][len] = '\0';
    }
    for (line = text[0]; *line != '\0'; line = *end ? end + 1 : end) {
        end = line + strcspn(line, "\n");
        cli_info_field(line, (size_t)(end - line), text, n, out);
    }
    for (i = 0; i < n; i++)
        free(text[i]);
    free(text);
}

static const struct cli_cmd cli_core_cmds[] = {
    {{"show", "info", NULL},
     "show info                               : report information about the "
     "running process",
     CLI_LVL_USER,
     CLI_F_MERGE,
     cli_show_info,
     NULL},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

void cli_init(void)
{
    cli_register(cli_core_cmds);
    cli_merge_register(cli_show_info, cli_info_merge);
}

/* ------------------------------------------------------------------ */
/* Worker side of one command                                           */
/* ------------------------------------------------------------------ */

/* Frees <c> once its answer is out (or the master went away). */
static void cli_conn_free(struct cli_conn *c)
{
    bufferevent_free(c->bev);
    evbuffer_free(c->req.out);
    free(c);
}

/* The answer left: the command is over. */
static void cli_conn_written_cb(struct bufferevent *bev, void *arg)
{
    cli_conn_free(arg);
}

/* The master closed before the answer left, or writing timed out. */
static void cli_conn_write_event_cb(struct bufferevent *bev, short what,
                                    void *arg)
{
    cli_conn_free(arg);
}

void cli_req_done(struct cli_req *req)
{
    struct cli_conn *c = req->conn;
    char status = req->failed ? '1' : '0';
    struct timeval tv = {CLI_WRITE_TIMEOUT, 0};

    bufferevent_setcb(c->bev, NULL, cli_conn_written_cb,
                      cli_conn_write_event_cb, c);
    bufferevent_set_timeouts(c->bev, NULL, &tv);
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_write(c->bev, &status, 1);
    bufferevent_write_buffer(c->bev, req->out);
    bufferevent_enable(c->bev, EV_WRITE);
}

/* Runs the command line <line> at <req>'s level. */
static void cli_run(struct cli_conn *c, char *line)
{
    struct cli_req *req = &c->req;
    char *args[CLI_ARGS_MAX];
    const struct cli_cmd *cmd;
    int argc = cli_split(line, args), rc;

    if (argc > 0 && strcmp(args[0], "help") == 0) {
        cli_help(req, argc - 1, args + 1, 1);
    } else if ((cmd = cli_find(argc, args)) == NULL) {
        cli_help(req, argc, args, 0);
        req->failed = 1;
    } else if (cmd->level > req->level) {
        cli_fail(req, "Permission denied\n");
    } else {
        rc = cmd->fn(req, argc, args, cmd->arg);
        if (rc == RC_AGAIN)
            return;
        if (rc != RC_OK)
            req->failed = 1;
    }
    cli_req_done(req);
}

/* The whole request came ("LEVEL\nLINE\n" then EOF): runs it. */
static void cli_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct cli_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    char *text, *nl;

    if (!(what & BEV_EVENT_EOF) || len == 0 || len > CLI_LINE_MAX + 8) {
        cli_conn_free(c);
        return;
    }
    text = malloc(len + 1);
    if (text == NULL) {
        cli_conn_free(c);
        return;
    }
    evbuffer_remove(in, text, len);
    text[len] = '\0';
    if (text[len - 1] == '\n')
        text[len - 1] = '\0'; /* the command line's own newline */
    if ((nl = strchr(text, '\n')) != NULL) {
        *nl = '\0';
        c->req.level = (enum cli_level)atoi(text);
        if (c->req.level > CLI_LVL_ADMIN)
            c->req.level = CLI_LVL_USER;
        cli_run(c, nl + 1);
    } else {
        cli_conn_free(c);
    }
    free(text);
}

/* ------------------------------------------------------------------ */
/* Worker side of a question to the master                              */
/* ------------------------------------------------------------------ */

struct cli_ask {
    int fd; /* the worker's end, -1 once the answer is over */
    struct event *ev, *timer;
    struct evbuffer *answer;
    cli_ask_cb cb;
    void *arg;
};

/* Stops listening and calls back once, with the answer or NULL. */
static void cli_ask_end(struct cli_ask *a, int ok)
{
    event_del(a->ev);
    evtimer_del(a->timer);
    close(a->fd);
    a->fd = -1;
    a->cb(ok ? a->answer : NULL, a->arg);
}

/* The master's answer arrives; its EOF ends it. */
static void cli_ask_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cli_ask *a = arg;
    int n = evbuffer_read(a->answer, fd, -1);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0 && evbuffer_get_length(a->answer) <= CLI_ANSWER_MAX)
        return;
    cli_ask_end(a, n == 0);
}

/* The master did not answer in time. */
static void cli_ask_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    cli_ask_end(arg, 0);
}

struct cli_ask *cli_ask_new(const char *line, unsigned timeout_ms,
                            cli_ask_cb cb, void *arg)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct cli_ask *a;
    int sv[2];

    if (strlen(line) > CLI_LINE_MAX ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) <
            0)
        return NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL || worker_tell_master(CHANNEL_CLI_ASK, sv[1], line,
                                        strlen(line)) != RC_OK) {
        free(a);
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    close(sv[1]);
    a->fd = sv[0];
    a->cb = cb;
    a->arg = arg;
    a->answer = evbuffer_new();
    a->ev = event_new(worker_loop(), a->fd, EV_READ | EV_PERSIST,
                      cli_ask_read_cb, a);
    a->timer = evtimer_new(worker_loop(), cli_ask_timeout_cb, a);
    if (a->answer == NULL || a->ev == NULL || a->timer == NULL) {
        cli_ask_free(a);
        return NULL;
    }
    event_add(a->ev, NULL);
    evtimer_add(a->timer, &tv);
    return a;
}

void cli_ask_free(struct cli_ask *a)
{
    if (a == NULL)
        return;
    if (a->ev != NULL)
        event_free(a->ev);
    if (a->timer != NULL)
        event_free(a->timer);
    if (a->answer != NULL)
        evbuffer_free(a->answer);
    if (a->fd >= 0)
        close(a->fd);
    free(a);
}

/* Requests are small: nothing to do until EOF. */
static void cli_conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct cli_conn *c = arg;

    if (evbuffer_get_length(bufferevent_get_input(bev)) > CLI_LINE_MAX + 8)
        cli_conn_free(c);
}

void cli_worker_serve(int fd)
{
    struct cli_conn *c = calloc(1, sizeof(*c));

    if (c != NULL)
        c->req.out = evbuffer_new();
    if (c != NULL && c->req.out != NULL)
        c->bev =
            bufferevent_socket_new(worker_loop(), fd, BEV_OPT_CLOSE_ON_FREE);
    if (c == NULL || c->req.out == NULL || c->bev == NULL) {
        log_alert("worker %d: runtime API: out of memory", worker_id());
        if (c != NULL && c->req.out != NULL)
            evbuffer_free(c->req.out);
        free(c);
        close(fd);
        return;
    }
    c->req.conn = c;
    bufferevent_setcb(c->bev, cli_conn_read_cb, NULL, cli_conn_event_cb, c);
    bufferevent_enable(c->bev, EV_READ);
}
