/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* "show stat": HAProxy's CSV, with its header and its columns in its
 * order, one line per frontend, server and backend. The fields this
 * worker tracks are filled; the others stay empty, as HAProxy leaves the
 * fields that do not apply. Figures are the answering worker's own. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/resource.h>

#include <event2/buffer.h>

#include "core/cfg.h"
#include "core/cli.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/freq_ctr.h"
#include "core/proxy.h"
#include "core/server.h"
#include "core/stats.h"
#include "core/stream.h"
#include "core/util.h"
#include "core/worker.h"

/* HAProxy 2.6's columns. */
static const char *const stats_cols[] = {
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
    "srid",
    "sess_other",
    "h1sess",
    "h2sess",
    "h3sess",
    "req_other",
    "h1req",
    "h2req",
    "h3req",
    "proto",
};

_Static_assert(sizeof(stats_cols) / sizeof(stats_cols[0]) == STATS_NCOLS,
               "STATS_NCOLS is the number of columns");

const char *stats_col_name(size_t i)
{
    return i < STATS_NCOLS ? stats_cols[i] : NULL;
}

/* Sets column <name> of <ln>. */
static void stats_set(struct stats_line *ln, const char *name, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
static void stats_set(struct stats_line *ln, const char *name, const char *fmt,
                      ...)
{
    va_list ap;
    size_t i;

    for (i = 0; i < STATS_NCOLS; i++)
        if (strcmp(stats_cols[i], name) == 0) {
            va_start(ap, fmt);
            vsnprintf(ln->f[i], STATS_FIELD, fmt, ap);
            va_end(ap);
            return;
        }
}

void stats_csv_line(struct evbuffer *out, const struct stats_line *ln)
{
    size_t i;

    for (i = 0; i < STATS_NCOLS; i++)
        evbuffer_add_printf(out, "%s,", ln->f[i]);
    evbuffer_add(out, "\n", 1);
}

/* The columns every line of proxy <px> (numbered <iid>) has. */
static void stats_common(struct stats_line *ln, const struct proxy *px, int iid,
                         const char *svname, int type)
{
    memset(ln, 0, sizeof(*ln));
    stats_set(ln, "pxname", "%s", px->name);
    stats_set(ln, "svname", "%s", svname);
    stats_set(ln, "pid", "%d", worker_id());
    stats_set(ln, "iid", "%d", iid);
    stats_set(ln, "type", "%d", type);
    stats_set(ln, "mode", "%s", px->mode == PX_MODE_HTTP ? "http" : "tcp");
}

/* The traffic columns of <c>; the HTTP ones in mode http. */
static void stats_counters(struct stats_line *ln, const struct proxy *px,
                           const struct px_counters *c)
{
    static const char *const hrsp[6] = {"hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
                                        "hrsp_4xx", "hrsp_5xx", "hrsp_other"};
    int i;

    stats_set(ln, "bin", "%llu", c->bytes_in);
    stats_set(ln, "bout", "%llu", c->bytes_out);
    stats_set(ln, "cli_abrt", "%llu", c->cli_aborts);
    stats_set(ln, "srv_abrt", "%llu", c->srv_aborts);
    if (px->mode != PX_MODE_HTTP)
        return;
    stats_set(ln, "req_tot", "%llu", c->req_tot);
    for (i = 0; i < 6; i++)
        stats_set(ln, hrsp[i], "%llu", c->hrsp[i]);
}

/* The cache columns of a proxy's frontend or backend line. */
static void stats_cache(struct stats_line *ln, const struct proxy *px,
                        const struct px_counters *c)
{
    if (px->mode != PX_MODE_HTTP)
        return;
    stats_set(ln, "cache_lookups", "%llu", c->cache_lookups);
    stats_set(ln, "cache_hits", "%llu", c->cache_hits);
}

/* The columns about talking to servers (backends and servers). */
static void stats_server_side(struct stats_line *ln,
                              const struct px_counters *c)
{
    stats_set(ln, "econ", "%llu", c->failed_conns);
    stats_set(ln, "eresp", "%llu", c->failed_resp);
    stats_set(ln, "wretr", "%llu", c->retries);
    stats_set(ln, "wredis", "%llu", c->redispatches);
}

void stats_line_server(struct stats_line *ln, const struct proxy *px, int iid,
                       const struct server *srv, int sid)
{
    stats_common(ln, px, iid, srv->name, 2);
    stats_set(ln, "sid", "%d", sid);
    stats_set(ln, "qcur", "%u", srv->queue.len);
    stats_set(ln, "scur", "%u", srv->cur_conns);
    if (srv->maxconn > 0)
        stats_set(ln, "slim", "%d", srv->maxconn);
    stats_set(ln, "stot", "%llu", srv->served);
    stats_set(ln, "lbtot", "%llu", srv->served);
    stats_counters(ln, px, &srv->cnt);
    stats_server_side(ln, &srv->cnt);
    /* as HAProxy: an agent marks the states it may have caused */
    stats_set(ln, "status", "%s%s",
              srv->disabled      ? "MAINT"
              : !server_up(srv)  ? "DOWN"
              : srv->drain       ? "DRAIN"
              : server_nolb(srv) ? "NOLB"
              : (srv->check && !srv->health->paused) || srv->tracked
                  ? "UP"
                  : "no check",
              !srv->disabled && ((!server_up(srv) && srv->health->agent_down) ||
                                 (server_up(srv) && srv->drain && srv->agent))
                  ? " (agent)"
                  : "");
    /* as HAProxy: a draining server shows the weight it keeps aside */
    stats_set(ln, "weight", "%d", srv->drain ? srv->uweight : srv->weight);
    stats_set(ln, "uweight", "%d", srv->uweight);
    stats_set(ln, "act", "%d", !srv->backup);
    stats_set(ln, "bck", "%d", srv->backup);
    if (server_checked(srv)) {
        stats_set(ln, "chkdown", "%u", srv->health->changes / 2);
        stats_set(ln, "check_rise", "%d", srv->rise);
        stats_set(ln, "check_fall", "%d", srv->fall);
        if (srv->observe != SRV_OBSERVE_NONE)
            stats_set(ln, "hanafail", "%u", srv->health->obs_limits);
    }
}

void stats_line_backend(struct stats_line *ln, const struct proxy *px, int iid)
{
    const struct server *srv;
    unsigned long long stot = 0;
    unsigned scur = 0;
    int act = 0, bck = 0, weight = 0;

    for (srv = px->servers; srv != NULL; srv = srv->next) {
        stot += srv->served;
        scur += srv->cur_conns;
        if (server_up(srv) && !srv->disabled) {
            *(srv->backup ? &bck : &act) += 1;
            weight += srv->backup ? 0 : srv->weight;
        }
    }
    stats_common(ln, px, iid, "BACKEND", 1);
    stats_set(ln, "sid", "0");
    stats_set(ln, "qcur", "%u", px->queue.len);
    stats_set(ln, "scur", "%u", scur);
    stats_set(ln, "stot", "%llu", stot);
    stats_set(ln, "lbtot", "%llu", stot);
    stats_counters(ln, px, &px->be_cnt);
    stats_server_side(ln, &px->be_cnt);
    stats_set(ln, "dreq", "%llu", px->be_cnt.denied_req);
    stats_set(ln, "dresp", "%llu", px->be_cnt.denied_resp);
    stats_cache(ln, px, &px->be_cnt);
    stats_set(ln, "rate", "%u", freq_ctr_read(&px->be_sess_rate));
    stats_set(ln, "status", "%s", act + bck > 0 ? "UP" : "DOWN");
    stats_set(ln, "weight", "%d", weight);
    stats_set(ln, "act", "%d", act);
    stats_set(ln, "bck", "%d", bck);
}

void stats_line_frontend(struct stats_line *ln, const struct proxy *px, int iid)
{
    stats_common(ln, px, iid, "FRONTEND", 0);
    stats_set(ln, "sid", "0");
    stats_set(ln, "scur", "%u", px->feconn);
    if (px->maxconn > 0)
        stats_set(ln, "slim", "%d", px->maxconn);
    stats_counters(ln, px, &px->cnt);
    stats_set(ln, "dreq", "%llu", px->cnt.denied_req);
    stats_set(ln, "dresp", "%llu", px->cnt.denied_resp);
    stats_set(ln, "dcon", "%llu", px->cnt.denied_conn);
    stats_set(ln, "dses", "%llu", px->cnt.denied_sess);
    stats_cache(ln, px, &px->cnt);
    stats_set(ln, "rate", "%u", freq_ctr_read(&px->fe_sess_rate));
    if (px->mode == PX_MODE_HTTP)
        stats_set(ln, "req_rate", "%u", freq_ctr_read(&px->fe_req_rate));
    stats_set(ln, "status", "%s",
              worker_draining() || px->fe_state == PX_FE_STOPPED ? "STOP"
              : px->fe_state == PX_FE_PAUSED                     ? "PAUSED"
                                                                 : "OPEN");
}

/* Counts <s> into <c>: its bytes, its HTTP response and how it ended. */
static void stats_add(struct px_counters *c, const struct stream *s, int status)
{
    c->bytes_in += stream_bytes_in(s);
    c->bytes_out += stream_bytes_out(s);
    if (status > 0) {
        c->req_tot++;
        c->hrsp[status >= 100 && status < 600 ? status / 100 - 1 : 5]++;
    }
    /* HAProxy's termination states: C/S cause, D during the data */
    if (s->term[0] == 'C' && s->term[1] == 'D')
        c->cli_aborts++;
    if (s->term[0] == 'S' && s->term[1] == 'D')
        c->srv_aborts++;
}

/* The part of <s> that concerns its backend or server <c>. */
static void stats_add_server_side(struct px_counters *c, const struct stream *s)
{
    c->retries += s->stat_retries;
    c->redispatches += s->stat_redisps;
    if (s->term[0] == 'S' && s->term[1] == 'C')
        c->failed_conns++;
    if (s->term[0] == 'S' && (s->term[1] == 'H' || s->term[1] == 'D'))
        c->failed_resp++;
}

void stats_count_reject(const struct stream *s)
{
    switch (s->cur_rs) {
    case RULESET_TCP_CONN:
        s->fe->cnt.denied_conn++;
        break;
    case RULESET_TCP_SESS:
        s->fe->cnt.denied_sess++;
        break;
    case RULESET_TCP_RES:
        s->fe->cnt.denied_resp++;
        if (s->be != NULL)
            s->be->be_cnt.denied_resp++;
        break;
    default:
        stats_count_denied(s);
    }
}

void stats_count_denied(const struct stream *s)
{
    s->fe->cnt.denied_req++;
    if (s->be != NULL)
        s->be->be_cnt.denied_req++;
}

void stats_count_stream(const struct stream *s)
{
    int status = s->ops->status != NULL ? s->ops->status(s) : 0;

    stats_add(&s->fe->cnt, s, status);
    if (s->be != NULL) {
        stats_add(&s->be->be_cnt, s, status);
        stats_add_server_side(&s->be->be_cnt, s);
    }
    if (s->srv != NULL) {
        stats_add(&s->srv->cnt, s, status);
        stats_add_server_side(&s->srv->cnt, s);
    }
}

/* Appends field <name> to <out> at *<n>. */
static void stats_info_set(struct stats_info *out, size_t *n, const char *name,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void stats_info_set(struct stats_info *out, size_t *n, const char *name,
                           const char *fmt, ...)
{
    va_list ap;

    if (*n >= STATS_INFO_MAX)
        return;
    out[*n].name = name;
    va_start(ap, fmt);
    vsnprintf(out[*n].value, sizeof(out[*n].value), fmt, ap);
    va_end(ap);
    (*n)++;
}

size_t stats_info(struct stats_info *out)
{
    const struct cfg *cfg = worker_cfg();
    const struct proxy *px;
    unsigned long long req = 0;
    struct worker_counts wc;
    struct rlimit rl;
    char host[64];
    size_t n = 0;
    long up;

    worker_get_counts(&wc);
    up = wc.started != 0 ? (long)(time(NULL) - wc.started) : 0;
    for (px = cfg != NULL ? cfg->proxies : NULL; px != NULL; px = px->next)
        req += px->cnt.req_tot;
    if (gethostname(host, sizeof(host)) != 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    getrlimit(RLIMIT_NOFILE, &rl);
    stats_info_set(out, &n, "Name", "luaproxy");
    stats_info_set(out, &n, "Version", "%s", PACKAGE_VERSION);
    stats_info_set(out, &n, "Nbthread", "1");
    stats_info_set(out, &n, "Nbproc", "%d",
                   cfg != NULL ? cfg->global.nbproc : 1);
    stats_info_set(out, &n, "Process_num", "%d", worker_id());
    stats_info_set(out, &n, "Pid", "%d", (int)getpid());
    stats_info_set(out, &n, "Uptime", "%ldd %ldh%02ldm%02lds", up / 86400,
                   (up / 3600) % 24, (up / 60) % 60, up % 60);
    stats_info_set(out, &n, "Uptime_sec", "%ld", up);
    stats_info_set(out, &n, "Ulimit-n", "%lu", (unsigned long)rl.rlim_cur);
    if (cfg != NULL) {
        stats_info_set(out, &n, "Maxconn", "%d", cfg->global.maxconn);
        stats_info_set(out, &n, "Hard_maxconn", "%d", wc.hard_maxconn);
    }
    stats_info_set(out, &n, "CurrConns", "%lu", wc.cur_conns);
    stats_info_set(out, &n, "CumConns", "%llu", wc.cum_conns);
    stats_info_set(out, &n, "CumReq", "%llu", req);
    stats_info_set(out, &n, "Stopping", "%d", worker_draining());
    stats_info_set(out, &n, "node", "%s",
                   cfg != NULL && cfg->global.node ? cfg->global.node : host);
    if (cfg != NULL && cfg->global.description != NULL)
        stats_info_set(out, &n, "description", "%s", cfg->global.description);
    return n;
}

/* What "show stat <iid|proxy> <type> <sid>" keeps. */
struct stats_filter {
    long iid;         /* -1: any */
    const char *name; /* a proxy named instead of numbered, or NULL */
    long types;       /* bits: 1 frontends, 2 backends, 4 servers */
    long sid;         /* -1: any */
};

/* Reads the optional filter words of "show stat"; RC_OK or RC_ERR. */
static int stats_parse_filter(struct cli_req *req, int argc, char **args,
                              struct stats_filter *f)
{
    char *end;

    f->iid = f->types = f->sid = -1;
    f->name = NULL;
    if (argc < 5)
        return RC_OK;
    f->iid = strtol(args[2], &end, 10);
    if (*end != '\0')
        f->name = args[2];
    f->types = strtol(args[3], &end, 10);
    if (*end == '\0')
        f->sid = strtol(args[4], &end, 10);
    if (*end != '\0')
        return cli_fail(req, "Expects <iid> <type> <sid>.\n");
    return RC_OK;
}

/* 1 if proxy <px>, numbered <iid>, passes <f>. */
static int stats_px_wanted(const struct stats_filter *f, const struct proxy *px,
                           int iid)
{
    if (f->name != NULL)
        return strcmp(f->name, px->name) == 0;
    return f->iid == -1 || f->iid == iid;
}

void stats_csv_header(struct evbuffer *out)
{
    size_t i;

    evbuffer_add(out, "# ", 2);
    for (i = 0; i < STATS_NCOLS; i++)
        evbuffer_add_printf(out, "%s,", stats_cols[i]);
    evbuffer_add(out, "\n", 1);
}

void stats_csv_proxy(struct evbuffer *out, const struct proxy *px, int iid,
                     long types, long sid)
{
    const struct server *srv;
    struct stats_line ln;

    if ((px->cap & PX_CAP_FE) && (types & 1)) {
        stats_line_frontend(&ln, px, iid);
        stats_csv_line(out, &ln);
    }
    if (!(px->cap & PX_CAP_BE))
        return;
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if ((types & 4) && (sid == -1 || sid == srv->puid)) {
            stats_line_server(&ln, px, iid, srv, srv->puid);
            stats_csv_line(out, &ln);
        }
    if (types & 2) {
        stats_line_backend(&ln, px, iid);
        stats_csv_line(out, &ln);
    }
}

/* ---------------------------------------------------------------- */
/* One answer from every worker's                                    */
/* ---------------------------------------------------------------- */

/* The columns each worker counts for itself: summed over the workers. */
static const char *const stats_summed[] = {
    "qcur",       "scur",     "stot",        "bin",           "bout",
    "dreq",       "dresp",    "ereq",        "econ",          "eresp",
    "wretr",      "wredis",   "rate",        "req_rate",      "req_tot",
    "hrsp_1xx",   "hrsp_2xx", "hrsp_3xx",    "hrsp_4xx",      "hrsp_5xx",
    "hrsp_other", "cli_abrt", "srv_abrt",    "lbtot",         "comp_in",
    "comp_out",   "comp_byp", "comp_rsp",    "dcon",          "dses",
    "conn_rate",  "conn_tot", "intercepted", "cache_lookups", "cache_hits",
    NULL,
};

/* Those whose largest value over the workers is the answer. */
static const char *const stats_maxed[] = {
    "qmax", "smax", "rate_max", "req_rate_max", "conn_rate_max", NULL};

/* How the column <name> is merged: 1 summed, 2 the largest, 0 the first
 * worker's (configuration, and the state shared by every worker). */
static int stats_merge_kind(const char *name, size_t len)
{
    const char *const *k;

    for (k = stats_summed; *k != NULL; k++)
        if (strlen(*k) == len && memcmp(*k, name, len) == 0)
            return 1;
    for (k = stats_maxed; *k != NULL; k++)
        if (strlen(*k) == len && memcmp(*k, name, len) == 0)
            return 2;
    return 0;
}

/* The <i>th comma-separated field of <line> and its length in *<len>;
 * NULL past the last. */
static const char *stats_field(const char *line, int i, size_t *len)
{
    const char *p = line, *e;

    while (i-- > 0 && (p = strchr(p, ',')) != NULL)
        p++;
    if (p == NULL)
        return NULL;
    e = p + strcspn(p, ",");
    *len = (size_t)(e - p);
    return p;
}

/* Merges field <c> of the <n> rows <rows> (the same row of each worker)
 * of kind <kind> into <out>. */
static void stats_merge_field(char **rows, int n, int c, int kind,
                              struct evbuffer *out)
{
    unsigned long long v, acc = 0;
    const char *f;
    size_t len;
    int i, any = 0;

    for (i = 0; i < n && kind != 0; i++) {
        f = stats_field(rows[i], c, &len);
        if (f == NULL || len == 0)
            continue;
        if (len > 20 || strspn(f, "0123456789") != len)
            break; /* not a count: the first worker's */
        v = strtoull(f, NULL, 10);
        acc = kind == 1 ? acc + v : (v > acc ? v : acc);
        any = 1;
    }
    if (kind != 0 && i == n) {
        if (any)
            evbuffer_add_printf(out, "%llu", acc);
        return;
    }
    f = stats_field(rows[0], c, &len);
    if (f != NULL)
        evbuffer_add(out, f, len);
}

/* Splits <text> into lines, in place; returns them (freed by the caller)
 * and their count in *<n>. */
static char **stats_lines(char *text, int *n)
{
    char **lines, *save = NULL, *l, *p;
    int max = 1;

    for (p = text; (p = strchr(p, '\n')) != NULL; p++)
        max++;
    lines = xcalloc((size_t)max, sizeof(*lines));
    *n = 0;
    for (l = strtok_r(text, "\n", &save); l != NULL && *n < max;
         l = strtok_r(NULL, "\n", &save))
        lines[(*n)++] = l;
    return lines;
}

/* 1 if the rows <a> and <b> name the same proxy and server. */
static int stats_same_row(const char *a, const char *b)
{
    size_t la = strcspn(a, ","), lb;

    if (la != strcspn(b, ",") || memcmp(a, b, la) != 0)
        return 0;
    if (a[la] == '\0' || b[la] == '\0')
        return a[la] == b[la];
    a += la + 1;
    b += la + 1;
    la = strcspn(a, ",");
    lb = strcspn(b, ",");
    return la == lb && memcmp(a, b, la) == 0;
}

#define STATS_MERGE_WORKERS 256

/* The CLI_F_MERGE callback of "show stat": every worker lists the same
 * rows in the same order; a row's counters are summed (or their largest
 * kept), the rest is the first worker's. A worker whose rows differ (a
 * reload in between) is left out. */
static void stats_merge(struct evbuffer **in, int n, struct evbuffer *out)
{
    char **text, ***lines, *rows[STATS_MERGE_WORKERS];
    int *nl, *kinds, i, r, c, k, ncols;
    size_t len;

    if (n > STATS_MERGE_WORKERS)
        n = STATS_MERGE_WORKERS;
    text = xcalloc((size_t)n, sizeof(*text));
    lines = xcalloc((size_t)n, sizeof(*lines));
    nl = xcalloc((size_t)n, sizeof(*nl));
    for (i = 0; i < n; i++) {
        len = evbuffer_get_length(in[i]);
        text[i] = xmalloc(len + 1);
        evbuffer_remove(in[i], text[i], len);
        text[i][len] = '\0';
        lines[i] = stats_lines(text[i], &nl[i]);
    }
    for (ncols = 0; nl[0] > 0 && stats_field(lines[0][0], ncols, &len);)
        ncols++;
    kinds = xcalloc((size_t)ncols + 1, sizeof(*kinds));
    for (c = 0; c < ncols; c++) {
        const char *name = stats_field(lines[0][0], c, &len);

        kinds[c] = stats_merge_kind(name, len);
    }
    for (r = 0; r < nl[0]; r++) {
        for (i = k = 0; i < n; i++)
            if (r < nl[i] && stats_same_row(lines[0][r], lines[i][r]))
                rows[k++] = lines[i][r];
        for (c = 0; c < ncols; c++) {
            if (c > 0)
                evbuffer_add(out, ",", 1);
            stats_merge_field(rows, k, c,
                              r == 0 || lines[0][r][0] == '#' ? 0 : kinds[c],
                              out);
        }
        evbuffer_add(out, "\n", 1);
    }
    free(kinds);
    for (i = 0; i < n; i++) {
        free(lines[i]);
        free(text[i]);
    }
    free(lines);
    free(text);
    free(nl);
}

/* "show stat [<iid>|<proxy> <type> <sid>]". */
static int stats_cli_show(struct cli_req *req, int argc, char **args, void *arg)
{
    const struct proxy *px;
    struct stats_filter f;

    if (stats_parse_filter(req, argc, args, &f) != RC_OK)
        return RC_ERR;
    stats_csv_header(req->out);
    for (px = worker_cfg()->proxies; px != NULL; px = px->next)
        if (stats_px_wanted(&f, px, px->uuid))
            stats_csv_proxy(req->out, px, px->uuid, f.types, f.sid);
    if (evbuffer_get_length(req->out) > CLI_ANSWER_MAX)
        req->failed = 1; /* as cli_printf() marks it: the master refuses it */
    return RC_OK;
}

/* "clear counters": HAProxy resets the maximum values, which luaproxy does
 * not keep; "clear counters all": every counter of every proxy and server
 * of this worker (each worker runs it). */
static int stats_cli_clear(struct cli_req *req, int argc, char **args,
                           void *arg)
{
    struct proxy *px;
    struct server *srv;

    if (argc < 3 || strcmp(args[2], "all") != 0)
        return RC_OK;
    for (px = worker_cfg()->proxies; px != NULL; px = px->next) {
        memset(&px->cnt, 0, sizeof(px->cnt));
        memset(&px->be_cnt, 0, sizeof(px->be_cnt));
        for (srv = px->servers; srv != NULL; srv = srv->next) {
            memset(&srv->cnt, 0, sizeof(srv->cnt));
            srv->served = 0;
        }
    }
    return RC_OK;
}

static const struct cli_cmd stats_cli_cmds[] = {
    {{"show", "stat", NULL},
     "show stat [<iid>|<px> <type> <sid>]     : report counters for each "
     "proxy and server",
     CLI_LVL_USER,
     CLI_F_MERGE,
     stats_cli_show,
     NULL},
    {{"clear", "counters", NULL},
     "clear counters [all]                    : clear max statistics counters "
     "(or all counters)",
     CLI_LVL_OPER,
     CLI_F_WRITE,
     stats_cli_clear,
     NULL},
    {{"clear", "counters", "all", NULL},
     NULL,
     CLI_LVL_ADMIN,
     CLI_F_WRITE,
     stats_cli_clear,
     NULL},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

void stats_cli_init(void)
{
    cli_register(stats_cli_cmds);
    cli_merge_register(stats_cli_show, stats_merge);
}
