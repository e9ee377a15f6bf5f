/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Traffic logs: the "log", "log-format" and "log-tag" keywords, targets and
 * their sockets, inheritance between global, defaults and proxies, syslog
 * headers (HAProxy's build_log_header), and the non-blocking emission of
 * stream lines (at the level a "set-log-level" rule chose, none when it
 * chose "silent"), "Connect from" lines and Lua messages. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/logctl.h"
#include "core/logformat.h"
#include "core/logger.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"

#define LOGGER_MAXLEN      1024      /* HAProxy's default "len" */
#define LOGGER_HDR_MAX     256       /* room for any header */
#define LOGGER_FDBUF_MAX   (1 << 20) /* buffered fd bytes before losing */
#define LOGGER_RETRY_MS    10        /* fd full: try again after this */
#define LOGGER_SYSLOG_PORT 514

enum logger_fmt {
    LOGGER_FMT_LOCAL,
    LOGGER_FMT_RFC3164,
    LOGGER_FMT_RFC5424,
    LOGGER_FMT_PRIORITY,
    LOGGER_FMT_SHORT,
    LOGGER_FMT_TIMED,
    LOGGER_FMT_ISO,
    LOGGER_FMT_RAW,
};

static const char *const logger_fmt_names[] = {
    "local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw",
};

static const char *const logger_facilities[] = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog",
    "lpr",    "news",   "uucp",   "cron",   "auth2",  "ftp",
    "ntp",    "audit",  "alert",  "cron2",  "local0", "local1",
    "local2", "local3", "local4", "local5", "local6", "local7",
};

static const char *const logger_months[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};

enum logger_kind {
    LOGGER_FD,     /* stdout, stderr, fd@N: buffered lines */
    LOGGER_DGRAM,  /* UDP or unix datagram socket */
    LOGGER_GLOBAL, /* "log global": stands for the global targets */
};

struct logger_target {
    struct logger_target *next; /* in the generation's list, which owns it */
    enum logger_kind kind;
    int fd;    /* DGRAM: our socket; FD: the configured descriptor */
    int wfd;   /* FD, worker side: where lines are written (non-blocking) */
    int wsock; /* FD: <wfd> is a socket, send() with MSG_DONTWAIT */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int connected; /* DGRAM: connect() at load succeeded */
    int maxlen;
    enum logger_fmt format;
    int format_set; /* "format" given: HAProxy's default differs from
                     * "local" in that it names the host when asked */
    int facility, level, minlvl;
    struct evbuffer *pending; /* FD, worker side */
    int warned;
};

/* The log settings of one proxy or defaults section. */
struct logger_px {
    const struct proxy *px;
    struct logger_target **own; /* "log" lines, in order */
    int nown;
    int cleared;  /* "no log": inherit nothing */
    char *format; /* "log-format" of this section */
    const char *format_file;
    int format_line;
    unsigned opts_at_format; /* httplog/tcplog bits when it was read */
    char *tag;
    /* resolved at post-parse */
    struct logger_target **eff;
    int neff;
    struct logformat *lf; /* NULL: the "Connect from" line */
    const char *eff_tag;
    /* worker-local counters */
    long feconn;
    unsigned long log_count;
};

struct logger_cfg {
    struct logger_cfg *next_gen; /* generations alive in this process */
    const struct cfg *cfg;
    struct logger_target *all;
    struct logger_target **global;
    int nglobal;
    char *global_tag;
    char *send_hostname;   /* "log-send-hostname": the host field, or NULL */
    struct logger_px *pxs; /* sorted by px once resolved */
    size_t npx, cap;
};

/* What a "log global" line points to until it is expanded. */
static struct logger_target logger_global_ref = {.kind = LOGGER_GLOBAL};

static struct logger_cfg *generations;
static struct logger_cfg *cur; /* the worker's generation */
static struct event *flush_ev;
static unsigned long dropped;
static long actconn;
static char hostname[256];

/* Appends <t> to the array *<arr> of *<n> pointers. */
static void target_push(struct logger_target ***arr, int *n,
                        struct logger_target *t)
{
    *arr = xrealloc(*arr, sizeof(**arr) * (size_t)(*n + 1));
    (*arr)[(*n)++] = t;
}

/* The logger data of <cfg>, created on first use. Kept in a list of our
 * own: the core module's data slot of a generation belongs to checks. */
static struct logger_cfg *logger_cfg_of(struct cfg *cfg)
{
    struct logger_cfg *lc;

    for (lc = generations; lc != NULL; lc = lc->next_gen)
        if (lc->cfg == cfg)
            return lc;
    lc = xcalloc(1, sizeof(*lc));
    lc->cfg = cfg;
    lc->next_gen = generations;
    generations = lc;
    return lc;
}

/* The entry of <px> in <lc>, created if missing. */
static struct logger_px *logger_px_of(struct logger_cfg *lc,
                                      const struct proxy *px)
{
    size_t i;

    for (i = 0; i < lc->npx; i++)
        if (lc->pxs[i].px == px)
            return &lc->pxs[i];
    if (lc->npx == lc->cap) {
        lc->cap = lc->cap ? lc->cap * 2 : 8;
        lc->pxs = xrealloc(lc->pxs, lc->cap * sizeof(*lc->pxs));
    }
    memset(&lc->pxs[lc->npx], 0, sizeof(lc->pxs[0]));
    lc->pxs[lc->npx].px = px;
    return &lc->pxs[lc->npx++];
}

/* Index of <name> in <names> (<n> entries), or -1. */
static int name_index(const char *name, const char *const *names, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Fills the address of <t> from the "log" address <s>. */
static int target_parse_addr(struct logger_target *t, const char *s, char **err)
{
    struct cfg_addr a;
    char *conv = NULL;
    int rc;

    t->kind = LOGGER_DGRAM;
    t->fd = -1;
    if (strcmp(s, "stdout") == 0 || strcmp(s, "stderr") == 0) {
        t->kind = LOGGER_FD;
        t->fd = s[3] == 'o' ? STDOUT_FILENO : STDERR_FILENO;
        return RC_OK;
    }
    if (strncmp(s, "ring@", 5) == 0 || strncmp(s, "tcp", 3) == 0 ||
        strncmp(s, "uxst@", 5) == 0)
        return set_err(err, "log target '%s' is not supported yet", s);
    /* cfgval_addr knows the stream prefixes; udp ones mean the same here */
    if (strncmp(s, "udp4@", 5) == 0 || strncmp(s, "udp6@", 5) == 0)
        conv = xasprintf("ipv%c@%s", s[3], s + 5);
    else if (strncmp(s, "udp@", 4) == 0 || strncmp(s, "unix@", 5) == 0)
        conv = xstrdup(strchr(s, '@') + (s[1] == 'd' ? 1 : -4));
    rc = cfgval_addr(conv ? conv : s,
                     CFGVAL_ADDR_NO_PORT_OK | CFGVAL_ADDR_RESOLVE, &a, err);
    free(conv);
    if (rc != RC_OK)
        return RC_ERR;
    if (a.family == AF_UNSPEC) {
        t->kind = LOGGER_FD;
        t->fd = a.fd;
        return RC_OK;
    }
    t->addr = a.ss;
    t->addrlen = a.len;
    if (a.family == AF_INET && !a.port_set)
        ((struct sockaddr_in *)&t->addr)->sin_port = htons(LOGGER_SYSLOG_PORT);
    else if (a.family == AF_INET6 && !a.port_set)
        ((struct sockaddr_in6 *)&t->addr)->sin6_port =
            htons(LOGGER_SYSLOG_PORT);
    return RC_OK;
}

/* Parses the options, facility and levels after the address of a "log"
 * line (<args>[0] is the address). */
static int target_parse_opts(struct logger_target *t, int argc, char **args,
                             char **err)
{
    long long v;
    int i = 1;

    for (; i + 1 < argc; i += 2) {
        if (strcmp(args[i], "len") == 0) {
            if (cfgval_int(args[i + 1], 80, 65535, &v, err) != RC_OK)
                return RC_ERR;
            t->maxlen = (int)v;
        } else if (strcmp(args[i], "format") == 0) {
            int f = name_index(args[i + 1], logger_fmt_names,
                               NELEM(logger_fmt_names));

            if (f < 0)
                return set_err(err, "unknown log format '%s'", args[i + 1]);
            t->format = (enum logger_fmt)f;
            t->format_set = 1;
        } else if (strcmp(args[i], "sample") == 0) {
            return set_err(err, "log 'sample' is not supported yet");
        } else {
            break;
        }
    }
    if (i >= argc)
        return set_err(err, "'log' expects <address> and <facility> as "
                            "arguments");
    t->facility =
        name_index(args[i], logger_facilities, NELEM(logger_facilities));
    if (t->facility < 0)
        return set_err(err, "unknown log facility '%s'", args[i]);
    if (++i < argc && (t->level = log_level_parse(args[i++])) < 0)
        return set_err(err, "unknown optional log level '%s'", args[i - 1]);
    if (i < argc && (t->minlvl = log_level_parse(args[i++])) < 0)
        return set_err(err, "unknown optional minimum log level '%s'",
                       args[i - 1]);
    if (i < argc)
        return set_err(err, "cannot handle unexpected argument '%s'", args[i]);
    return RC_OK;
}

/* Parses "ADDRESS [len N] [format F] FACILITY [LEVEL [MINLEVEL]]" into a
 * new target owned by <lc>. */
static struct logger_target *target_parse(struct logger_cfg *lc, int argc,
                                          char **args, char **err)
{
    struct logger_target *t = xcalloc(1, sizeof(*t));

    t->maxlen = LOGGER_MAXLEN;
    t->level = LOG_LVL_DEBUG;
    t->wfd = -1;
    if (target_parse_addr(t, args[0], err) != RC_OK ||
        target_parse_opts(t, argc, args, err) != RC_OK) {
        free(t);
        return NULL;
    }
    t->next = lc->all;
    lc->all = t;
    return t;
}

/* "log global", "log ADDRESS ...", "no log". */
static int parse_log(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                     char **args, char **err)
{
    struct logger_cfg *lc = logger_cfg_of(ctx->cfg);
    int global = ctx->section == CFG_SEC_GLOBAL;
    struct logger_px *lp = global ? NULL : logger_px_of(lc, ctx->px);
    struct logger_target *t;

    if (strcmp(args[0], "no") == 0) {
        if (argc > 2 || global)
            return set_err(err, "'no log' takes no argument and is only "
                                "valid in proxy sections");
        lp->cleared = 1;
        lp->nown = 0;
        return RC_OK;
    }
    if (argc < 2)
        return set_err(err, "'log' expects either <address[:port]> and "
                            "<facility> or 'global' as arguments.");
    if (strcmp(args[1], "global") == 0) {
        if (global || argc > 2)
            return set_err(err, "'log global' takes no other argument and "
                                "is only valid in proxy sections");
        target_push(&lp->own, &lp->nown, &logger_global_ref);
        return RC_OK;
    }
    t = target_parse(lc, argc - 1, args + 1, err);
    if (t == NULL)
        return RC_ERR;
    if (global)
        target_push(&lc->global, &lc->nglobal, t);
    else
        target_push(&lp->own, &lp->nown, t);
    return RC_OK;
}

/* "log-format STRING": compiled at post-parse, once the mode is known. */
static int parse_log_format(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    struct logger_px *lp = logger_px_of(logger_cfg_of(ctx->cfg), ctx->px);

    if (argc > 2)
        return set_err(err, "'log-format' expects only one argument, don't "
                            "forget to escape spaces!");
    free(lp->format);
    lp->format = xstrdup(args[1]);
    lp->format_file = ctx->file;
    lp->format_line = ctx->line;
    lp->opts_at_format = ctx->px->options & (PX_OPT_HTTPLOG | PX_OPT_TCPLOG);
    return RC_OK;
}

/* "log-tag STRING", global or per proxy. */
static int parse_log_tag(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    struct logger_cfg *lc = logger_cfg_of(ctx->cfg);
    char **slot = ctx->section == CFG_SEC_GLOBAL
                      ? &lc->global_tag
                      : &logger_px_of(lc, ctx->px)->tag;

    free(*slot);
    *slot = xstrdup(args[1]);
    return RC_OK;
}

/* "log-send-hostname [NAME]": syslog headers name the host, this one or
 * the system's. */
static int parse_send_hostname(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                               int argc, char **args, char **err)
{
    struct logger_cfg *lc = logger_cfg_of(ctx->cfg);

    free(lc->send_hostname);
    lc->send_hostname = xstrdup(argc > 1 ? args[1] : logger_hostname());
    return RC_OK;
}

const struct cfg_kw logger_keywords[] = {
    {"log", CFG_SEC_GLOBAL | CFG_SEC_PROXY, 0, -1, parse_log, 0, 0, 0},
    {"log-format", CFG_SEC_FE, 1, -1, parse_log_format, 0, 0, 0},
    {"log-tag", CFG_SEC_GLOBAL | CFG_SEC_PROXY, 1, 1, parse_log_tag, 0, 0, 0},
    {"log-send-hostname", CFG_SEC_GLOBAL, 0, 1, parse_send_hostname, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* ---- post-parse: inheritance, formats, sockets */

/* Rank of <px>'s declaration: file order, then line. */
static long long decl_rank(const struct cfg *cfg, const struct proxy *px)
{
    int i;

    for (i = 0; i < cfg->nfiles; i++)
        if (strcmp(cfg->files[i], px->file) == 0)
            break;
    return (long long)i << 32 | (unsigned)px->line;
}

/* The defaults section <px> was built from: the last one declared before
 * it. The proxy does not record a "from NAME" choice, so that case takes
 * the last one too. */
static const struct proxy *defaults_of(const struct cfg *cfg,
                                       const struct proxy *px)
{
    const struct proxy *d, *best = NULL;
    long long r = decl_rank(cfg, px);

    for (d = cfg->defaults; d != NULL; d = d->next)
        if (decl_rank(cfg, d) < r &&
            (best == NULL || decl_rank(cfg, d) > decl_rank(cfg, best)))
            best = d;
    return best;
}

/* Fills lp->eff: the inherited targets unless "no log", then its own with
 * "log global" expanded. */
static void resolve_targets(struct logger_cfg *lc, struct logger_px *lp,
                            const struct logger_px *dlp)
{
    int i, j;

    if (!lp->cleared && dlp != NULL)
        for (i = 0; i < dlp->neff; i++)
            target_push(&lp->eff, &lp->neff, dlp->eff[i]);
    for (i = 0; i < lp->nown; i++) {
        if (lp->own[i] != &logger_global_ref)
            target_push(&lp->eff, &lp->neff, lp->own[i]);
        else
            for (j = 0; j < lc->nglobal; j++)
                target_push(&lp->eff, &lp->neff, lc->global[j]);
    }
}

/* The format string of frontend <px> and where it was declared; NULL for
 * the "Connect from" line. A "log-format" yields to an "option httplog"
 * or "tcplog" set after it, in the same section or below defaults. */
static const char *pick_format(const struct proxy *px,
                               const struct logger_px *lp,
                               const struct logger_px *dlp,
                               const struct proxy *d, const char **file,
                               int *line)
{
    unsigned mask = PX_OPT_HTTPLOG | PX_OPT_TCPLOG;
    unsigned later = px->options & mask & ~lp->opts_at_format;

    *file = px->file;
    *line = px->line;
    if (lp->format != NULL && later == 0) {
        *file = lp->format_file;
        *line = lp->format_line;
        return lp->format;
    }
    if (lp->format == NULL && dlp != NULL && dlp->format != NULL &&
        (px->options & mask & ~(d->options & mask) & ~dlp->opts_at_format) ==
            0) {
        *file = dlp->format_file;
        *line = dlp->format_line;
        return dlp->format;
    }
    if ((px->options & PX_OPT_HTTPLOG) && px->mode != PX_MODE_HTTP) {
        log_warning("%s:%d: 'option httplog' not usable with %s '%s' "
                    "(needs 'mode http'). Falling back to 'option tcplog'.",
                    px->file, px->line, proxy_cap_name(px), px->name);
        return LOGGER_TCPLOG_FORMAT;
    }
    if (px->options & PX_OPT_HTTPLOG)
        return LOGGER_HTTPLOG_FORMAT;
    if (px->options & PX_OPT_TCPLOG)
        return LOGGER_TCPLOG_FORMAT;
    return NULL;
}

/* Resolves frontend or defaults <px>; returns the errors found. */
static int resolve_px(struct cfg *cfg, struct logger_cfg *lc,
                      const struct proxy *px)
{
    const struct proxy *d =
        (px->cap & PX_CAP_DEF) ? NULL : defaults_of(cfg, px);
    const struct logger_px *dlp;
    struct logger_px *lp;
    const char *fmt, *file;
    unsigned flags = LF_PARSE_LOG;
    char *err = NULL;
    int line;

    /* create both entries before taking pointers: the array may move */
    logger_px_of(lc, px);
    dlp = d ? logger_px_of(lc, d) : NULL;
    lp = logger_px_of(lc, px);
    resolve_targets(lc, lp, dlp);
    lp->eff_tag = lp->tag           ? lp->tag
                  : dlp && dlp->tag ? dlp->tag
                  : lc->global_tag  ? lc->global_tag
                                    : program_invocation_short_name;
    if (!(px->cap & PX_CAP_FE) || (px->cap & PX_CAP_DEF))
        return 0;
    fmt = pick_format(px, lp, dlp, d, &file, &line);
    if (fmt == NULL)
        return 0;
    if (px->mode == PX_MODE_HTTP)
        flags |= LF_PARSE_HTTP_MODE;
    lp->lf = logformat_parse(fmt, flags, &err);
    if (lp->lf != NULL)
        return 0;
    log_alert("%s:%d: failed to parse log-format : %s.", file, line, err);
    free(err);
    return 1;
}

/* Opens the socket of datagram target <t>; the unix ones are connected now,
 * before a chroot can hide their path. */
static int target_open(struct logger_target *t)
{
    t->fd =
        socket(t->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->fd < 0) {
        log_alert("cannot create a log socket: %s", strerror(errno));
        return RC_ERR;
    }
    if (t->addr.ss_family == AF_UNIX)
        t->connected =
            connect(t->fd, (struct sockaddr *)&t->addr, t->addrlen) == 0;
    return RC_OK;
}

/* Orders entries by proxy address, for bsearch at run time. */
static int logger_px_cmp(const void *a, const void *b)
{
    const struct proxy *pa = ((const struct logger_px *)a)->px;
    const struct proxy *pb = ((const struct logger_px *)b)->px;

    return pa < pb ? -1 : pa > pb;
}

int logger_post_parse(struct cfg *cfg)
{
    struct logger_cfg *lc = logger_cfg_of(cfg);
    struct logger_target *t;
    const struct proxy *px;
    int errors = 0;

    for (px = cfg->defaults; px != NULL; px = px->next)
        errors += resolve_px(cfg, lc, px);
    for (px = cfg->proxies; px != NULL; px = px->next)
        errors += resolve_px(cfg, lc, px);
    for (t = lc->all; t != NULL; t = t->next)
        if (t->kind == LOGGER_DGRAM && target_open(t) != RC_OK)
            errors++;
    if (lc->npx > 0) /* qsort() wants a valid pointer even for nothing */
        qsort(lc->pxs, lc->npx, sizeof(*lc->pxs), logger_px_cmp);
    return errors ? RC_ERR : RC_OK;
}

void logger_cfg_free(struct cfg *cfg)
{
    struct logger_cfg *lc, **plc;
    struct logger_target *t, *next;
    size_t i;

    for (plc = &generations; *plc != NULL && (*plc)->cfg != cfg;
         plc = &(*plc)->next_gen)
        ;
    if ((lc = *plc) == NULL)
        return;
    *plc = lc->next_gen;
    for (t = lc->all; t != NULL; t = next) {
        next = t->next;
        if (t->kind == LOGGER_DGRAM && t->fd >= 0)
            close(t->fd);
        if (t->pending != NULL)
            evbuffer_free(t->pending);
        free(t);
    }
    for (i = 0; i < lc->npx; i++) {
        free(lc->pxs[i].own);
        free(lc->pxs[i].eff);
        free(lc->pxs[i].format);
        free(lc->pxs[i].tag);
        logformat_free(lc->pxs[i].lf);
    }
    free(lc->pxs);
    free(lc->global);
    free(lc->global_tag);
    free(lc->send_hostname);
    free(lc);
    if (cur == lc)
        cur = NULL;
}

/* ---- worker side: buffered fd targets */

/* Where a worker writes the lines of fd target <t> without blocking:
 * sockets with MSG_DONTWAIT, pipes and terminals reopened non-blocking (a
 * description of our own, so the master's stays as it is), regular files
 * as they are (a write to a file does not wait on a reader). */
static void target_prepare_fd(struct logger_target *t)
{
    struct stat st;
    char path[64];

    t->wfd = t->fd;
    t->pending = evbuffer_new();
    if (fstat(t->fd, &st) < 0)
        return;
    if (S_ISSOCK(st.st_mode)) {
        t->wsock = 1;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        int fd;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd);
        fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0)
            t->wfd = fd;
    }
}

/* Writes what <t> has pending; returns 1 if some remains. */
static int target_flush(struct logger_target *t)
{
    while (evbuffer_get_length(t->pending) > 0) {
        size_t len = evbuffer_get_contiguous_space(t->pending);
        const char *p = (const char *)evbuffer_pullup(t->pending, len);
        ssize_t n = t->wsock ? send(t->wfd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL)
                             : write(t->wfd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        if (n <= 0) {
            evbuffer_drain(t->pending, evbuffer_get_length(t->pending));
            return 0; /* the reader is gone: nothing will ever go out */
        }
        evbuffer_drain(t->pending, (size_t)n);
    }
    return 0;
}

/* The flush event: writes every fd target, retries soon if one is full. */
static void logger_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct timeval retry = {0, LOGGER_RETRY_MS * 1000};
    struct logger_target *t;
    int again = 0;

    for (t = cur ? cur->all : NULL; t != NULL; t = t->next)
        if (t->kind == LOGGER_FD && t->pending != NULL)
            again |= target_flush(t);
    if (again)
        event_add(flush_ev, &retry);
}

/* Last chance at exit: what can go out without waiting. */
static void logger_flush_at_exit(void)
{
    logger_flush_cb(-1, 0, NULL);
}

int logger_worker_init(struct cfg *cfg)
{
    struct logger_target *t;

    cur = logger_cfg_of(cfg);
    for (t = cur->all; t != NULL; t = t->next)
        if (t->kind == LOGGER_FD)
            target_prepare_fd(t);
    flush_ev = evtimer_new(worker_loop(), logger_flush_cb, NULL);
    if (flush_ev == NULL)
        return RC_ERR;
    atexit(logger_flush_at_exit);
    return RC_OK;
}

/* ---- emission */

/* "2026-11-26T11:24:45.865402+00:00", local time. */
static int iso_time(char *buf, size_t size, const struct timeval *tv)
{
    struct tm tm;
    time_t t = tv->tv_sec;
    int off;

    localtime_r(&t, &tm);
    off = (int)(tm.tm_gmtoff / 60);
    return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld%c%02d:%02d",
                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                    tm.tm_min, tm.tm_sec, (long)tv->tv_usec,
                    off < 0 ? '-' : '+', abs(off) / 60 % 100, abs(off) % 60);
}

/* The host field of <t>'s header followed by a space, as HAProxy writes
 * it: the log-send-hostname name in the default, rfc3164 and rfc5424
 * formats, else "localhost " (rfc3164), "- " (rfc5424) or nothing. */
static const char *logger_host(const struct logger_target *t, char *buf,
                               size_t size)
{
    const char *name = cur != NULL ? cur->send_hostname : NULL;

    if (t->format == LOGGER_FMT_RFC5424 && name == NULL)
        return "- ";
    if (t->format == LOGGER_FMT_RFC3164 && name == NULL)
        return "localhost ";
    if (name == NULL || (t->format == LOGGER_FMT_LOCAL && t->format_set))
        return "";
    snprintf(buf, size, "%s ", name);
    return buf;
}

/* Writes the syslog header of <t>'s format into <buf>; returns its length
 * (HAProxy's build_log_header). */
static size_t logger_header(const struct logger_target *t, int level,
                            const char *tag, char *buf, size_t size)
{
    int pri = t->facility * 8 + level, pid = (int)getpid(), n = 0;
    struct timeval tv;
    struct tm tm;
    char iso[64], host[128];

    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    switch (t->format) {
    case LOGGER_FMT_LOCAL:
    case LOGGER_FMT_RFC3164:
        n = snprintf(buf, size, "<%d>%s %2d %02d:%02d:%02d %s%s[%d]: ", pri,
                     logger_months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, logger_host(t, host, sizeof(host)),
                     tag, pid);
        break;
    case LOGGER_FMT_RFC5424:
        iso_time(iso, sizeof(iso), &tv);
        n = snprintf(buf, size, "<%d>1 %s %s%s %d - - ", pri, iso,
                     logger_host(t, host, sizeof(host)), tag, pid);
        break;
    case LOGGER_FMT_PRIORITY:
        n = snprintf(buf, size, "<%d>", pri);
        break;
    case LOGGER_FMT_SHORT:
        n = snprintf(buf, size, "<%d>", level);
        break;
    case LOGGER_FMT_TIMED:
        iso_time(iso, sizeof(iso), &tv);
        n = snprintf(buf, size, "<%d>%s ", level, iso);
        break;
    case LOGGER_FMT_ISO:
        iso_time(iso, sizeof(iso), &tv);
        n = snprintf(buf, size, "%s ", iso);
        break;
    case LOGGER_FMT_RAW:
        break;
    }
    return n < 0 ? 0 : ((size_t)n < size ? (size_t)n : size - 1);
}

/* Hands one complete line (LF included) to target <t>. */
static void target_send(struct logger_target *t, const char *line, size_t len)
{
    ssize_t n;

    if (t->kind == LOGGER_FD) {
        if (t->pending == NULL ||
            evbuffer_get_length(t->pending) + len > LOGGER_FDBUF_MAX ||
            evbuffer_add(t->pending, line, len) != 0) {
            dropped++;
            return;
        }
        if (flush_ev != NULL && !evtimer_pending(flush_ev, NULL))
            event_active(flush_ev, EV_TIMEOUT, 0);
        return;
    }
    if (t->connected)
        n = send(t->fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    else
        n = sendto(t->fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                   (struct sockaddr *)&t->addr, t->addrlen);
    if (n >= 0)
        return;
    dropped++;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
        !t->warned) {
        t->warned = 1;
        log_warning("cannot send a log line: %s (counted as lost from now "
                    "on)",
                    strerror(errno));
    }
}

/* Sends <msg> of <len> bytes at <level> to <n> targets with <tag>. */
static void logger_send(struct logger_target *const *ts, int n, const char *tag,
                        int level, const char *msg, size_t len)
{
    static char line[LOGGER_HDR_MAX + 65536 + 1]; /* one worker thread */
    int i;

    for (i = 0; i < n; i++) {
        const struct logger_target *t = ts[i];
        int lvl = level < t->minlvl ? t->minlvl : level;
        size_t hl, ml;

        if (level > t->level)
            continue;
        hl = logger_header(t, lvl, tag, line, LOGGER_HDR_MAX);
        if (hl > (size_t)t->maxlen)
            hl = (size_t)t->maxlen;
        ml = len < (size_t)t->maxlen - hl ? len : (size_t)t->maxlen - hl;
        memcpy(line + hl, msg, ml);
        line[hl + ml] = '\n';
        target_send(ts[i], line, hl + ml + 1);
    }
}

static void logger_connect_line(const struct logger_px *lp,
                                struct session *sess);

/* The entry of frontend <px> in the worker's generation, or NULL. */
static struct logger_px *logger_px_find(const struct proxy *px)
{
    struct logger_px key = {.px = px};

    if (cur == NULL || cur->npx == 0)
        return NULL;
    return bsearch(&key, cur->pxs, cur->npx, sizeof(*cur->pxs), logger_px_cmp);
}

/* The longest line any target of <lp> takes. */
static size_t logger_px_maxlen(const struct logger_px *lp)
{
    size_t m = 0;
    int i;

    for (i = 0; i < lp->neff; i++)
        if ((size_t)lp->eff[i]->maxlen > m)
            m = (size_t)lp->eff[i]->maxlen;
    return m;
}

/* Returns 1 if <s> ended in what HAProxy counts as an error for
 * dontlog-normal and log-separate-errors: a termination cause other than
 * a local answer, a retry or redispatch, or a 5xx status. */
static int logger_stream_failed(const struct stream *s)
{
    int status = s->ops->status != NULL ? s->ops->status(s) : 0;

    return (s->term[0] != '-' && s->term[0] != 'L') || s->redispatched ||
           (s->term[0] == '-' && s->retries > 0) || status >= 500;
}

/* The level of the line of <s>: "info" ("err" for a failed one with
 * log-separate-errors) unless a "set-log-level" rule chose another; -1
 * when it chose "silent", or for a normal one with dontlog-normal. */
static int logger_stream_level(struct stream *s)
{
    const struct logctl *lc = logctl_get(s);
    int failed = logger_stream_failed(s);

    if (!failed && (s->fe->options & PX_OPT_DONTLOG_NORM))
        return -1;
    if (lc == NULL || lc->level == LOGCTL_LEVEL_UNSET)
        return failed && (s->fe->options & PX_OPT_LOG_SEP_ERR) ? LOG_LVL_ERR
                                                               : LOG_LVL_INFO;
    return lc->level == LOGCTL_LEVEL_SILENT ? -1 : lc->level;
}

void logger_stream_end(struct stream *s)
{
    struct logger_px *lp = logger_px_find(s->fe);
    static char line[65536];
    int level;
    size_t n;

    if (lp == NULL || lp->neff == 0)
        return;
    /* nothing received (an HTTP stream only exists then for a connection
     * closed or timed out before its first byte) */
    if (stream_bytes_in(s) == 0 && (s->fe->options & PX_OPT_DONTLOGNULL))
        return;
    /* without a format HAProxy logs "Connect from" for every stream it
     * creates; an HTTP stream exists once its request begins */
    if (lp->lf == NULL) {
        if (s->fe->mode == PX_MODE_HTTP)
            logger_connect_line(lp, s->sess);
        return;
    }
    /* the "Connect from" line above comes before any rule, as HAProxy's */
    level = logger_stream_level(s);
    if (level < 0)
        return;
    n = logformat_render(lp->lf, s, line, logger_px_maxlen(lp) + 1);
    if (n == 0)
        return;
    logger_send(lp->eff, lp->neff, lp->eff_tag, level, line, n);
    lp->log_count++;
}

/* Session cleanup: the session's connection ends. */
static void logger_session_end(void *arg)
{
    struct logger_px *lp = arg;

    actconn--;
    if (lp != NULL)
        lp->feconn--;
}

/* HAProxy's "Connect from" line of a frontend without a format. */
static void logger_connect_line(const struct logger_px *lp,
                                struct session *sess)
{
    char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8], line[512];
    const char *mode = sess->fe->mode == PX_MODE_HTTP ? "HTTP" : "TCP";
    struct logformat_out o1 = {src, sizeof(src), 0};
    struct logformat_out o2 = {dst, sizeof(dst), 0};
    int n;

    if (sess->src.sa.sa_family == AF_UNIX) {
        const struct listener *l;
        int id = 1;

        for (l = sess->fe->listeners; l != NULL && l != sess->li; l = l->next)
            id++;
        n = snprintf(line, sizeof(line), "Connect to unix:%d (%s/%s)", id,
                     sess->fe->name, mode);
    } else {
        logformat_put_addr(&o1, &sess->src.sa, 0);
        logformat_put_addr(&o2, &sess->dst.sa, 0);
        /* sin_port and sin6_port lie at the same offset */
        n = snprintf(line, sizeof(line), "Connect from %s:%d to %s:%d (%s/%s)",
                     src, ntohs(sess->src.in4.sin_port), dst,
                     ntohs(sess->dst.in4.sin_port), sess->fe->name, mode);
    }
    if (n > 0)
        logger_send(lp->eff, lp->neff, lp->eff_tag, LOG_LVL_INFO, line,
                    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void logger_session_accept(struct session *sess)
{
    struct logger_px *lp = logger_px_find(sess->fe);

    actconn++;
    if (lp != NULL)
        lp->feconn++;
    if (pool_cleanup_add(sess->pool, logger_session_end, lp) != RC_OK) {
        logger_session_end(lp);
        return;
    }
    /* a TCP stream is the connection: its line goes out at accept */
    if (lp != NULL && lp->neff > 0 && lp->lf == NULL &&
        sess->fe->mode == PX_MODE_TCP)
        logger_connect_line(lp, sess);
}

void log_emit(struct proxy *px, int level, const char *msg)
{
    const struct logger_px *lp = px ? logger_px_find(px) : NULL;
    const char *tag;

    if (cur == NULL)
        return;
    tag = lp ? lp->eff_tag
             : (cur->global_tag ? cur->global_tag
                                : program_invocation_short_name);
    if (lp != NULL)
        logger_send(lp->eff, lp->neff, tag, level, msg, strlen(msg));
    else
        logger_send(cur->global, cur->nglobal, tag, level, msg, strlen(msg));
}

int logger_has_targets(const struct proxy *px)
{
    const struct logger_px *lp = px ? logger_px_find(px) : NULL;

    if (cur == NULL)
        return 0;
    return lp != NULL ? lp->neff > 0 : cur->nglobal > 0;
}

long logger_actconn(void)
{
    return actconn;
}

long logger_feconn(const struct proxy *fe)
{
    const struct logger_px *lp = logger_px_find(fe);

    return lp ? lp->feconn : 0;
}

unsigned long logger_log_count(const struct proxy *fe)
{
    const struct logger_px *lp = logger_px_find(fe);

    return lp ? lp->log_count : 0;
}

const char *logger_hostname(void)
{
    if (hostname[0] == '\0' && gethostname(hostname, sizeof(hostname) - 1))
        memcpy(hostname, "localhost", 10);
    return hostname;
}

unsigned long logger_dropped(void)
{
    return dropped;
}
