/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Health checks: TCP connect checks and HTTP checks ("option httpchk",
 * "http-check expect/send"), the rise/fall state machine, HAProxy's log
 * messages for transitions, and the shared memory that carries the health
 * of each server from the checking worker to all the others. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/cfg.h"
#include "core/check.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/server.h"
#include "core/util.h"
#include "core/worker.h"

#define CHECK_MAX_RESPONSE 16384

/* The shared mapping of a generation (core's module data). */
struct check_shm {
    struct server_health *base;
    size_t len;
};

/* The checking worker's state for one server. */
struct check_run {
    struct server *srv;
    struct event *timer;
    struct bufferevent *bev;
    struct timeval start;
    struct evbuffer *resp;
};

/* ---------------------------------------------------------------- */
/* Configuration                                                     */
/* ---------------------------------------------------------------- */

/* Sets the request of <c> from method, URI, version and extra headers. */
static void check_set_request(struct px_check *c, const char *meth,
                              const char *uri, const char *ver,
                              const char *hdrs)
{
    free(c->request);
    c->request = xasprintf("%s %s %s\r\n%s\r\n", meth, uri, ver, hdrs);
    c->request_len = strlen(c->request);
}

int check_parse_httpchk(struct proxy *px, int argc, char **args, char **err)
{
    const char *meth = argc > 2 ? args[2] : "OPTIONS";
    const char *uri = argc > 3 ? args[3] : "/";
    const char *ver = argc > 4 ? args[4] : "HTTP/1.0";

    if (strcmp(args[0], "no") == 0) {
        check_px_free(px->chk);
        px->chk = NULL;
        return RC_OK;
    }
    if (argc == 3) { /* "option httpchk URI" */
        meth = "OPTIONS";
        uri = args[2];
    }
    if (px->chk == NULL)
        px->chk = xcalloc(1, sizeof(*px->chk));
    /* HAProxy's old form puts headers after the version, "\r\n" escaped */
    check_set_request(px->chk, meth, uri, ver, "");
    return RC_OK;
}

/* Parses "http-check send [meth M] [uri U] [ver V] [hdr N V]...". */
static int check_parse_send(struct px_check *c, int argc, char **args,
                            char **err)
{
    const char *meth = "GET", *uri = "/", *ver = "HTTP/1.0";
    char hdrs[2048] = "";
    size_t n = 0;
    int i;

    for (i = 2; i + 1 < argc; i += 2) {
        if (strcmp(args[i], "meth") == 0) {
            meth = args[i + 1];
        } else if (strcmp(args[i], "uri") == 0) {
            uri = args[i + 1];
        } else if (strcmp(args[i], "ver") == 0) {
            ver = args[i + 1];
        } else if (strcmp(args[i], "hdr") == 0 && i + 2 < argc) {
            int w = snprintf(hdrs + n, sizeof(hdrs) - n, "%s: %s\r\n",
                             args[i + 1], args[i + 2]);

            if (w < 0 || (size_t)w >= sizeof(hdrs) - n)
                return set_err(err, "'http-check send': headers too long");
            n += (size_t)w;
            i++;
        } else {
            return set_err(err,
                           "'http-check send': '%s' is not supported "
                           "yet",
                           args[i]);
        }
    }
    if (i < argc)
        return set_err(err, "'http-check send': '%s' expects a value", args[i]);
    check_set_request(c, meth, uri, ver, hdrs);
    return RC_OK;
}

/* Parses "http-check expect [!] KIND ARG". */
static int check_parse_expect(struct px_check *c, int argc, char **args,
                              char **err)
{
    static const char *const kinds[] = {"", "status", "rstatus", "string",
                                        "rstring"};
    int i = 2;
    size_t k;

    c->negate = i < argc && strcmp(args[i], "!") == 0;
    i += c->negate;
    if (i + 1 >= argc)
        return set_err(err, "'http-check expect' expects a kind and a "
                            "pattern");
    for (k = 1; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (strcmp(args[i], kinds[k]) == 0)
            break;
    if (k == sizeof(kinds) / sizeof(kinds[0]))
        return set_err(err,
                       "'http-check expect': '%s' is not supported "
                       "yet",
                       args[i]);
    c->expect = (enum check_expect)k;
    free(c->expect_arg);
    c->expect_arg = xstrdup(args[i + 1]);
    sample_regex_free(c->expect_re);
    c->expect_re = NULL;
    if (c->expect == CHECK_EXPECT_RSTATUS ||
        c->expect == CHECK_EXPECT_RSTRING) {
        c->expect_re =
            sample_regex_new(args[i + 1], strlen(args[i + 1]), 0, err);
        if (c->expect_re == NULL)
            return RC_ERR;
    }
    return RC_OK;
}

int check_parse_http_check(struct proxy *px, int argc, char **args, char **err)
{
    if (px->chk == NULL) {
        px->chk = xcalloc(1, sizeof(*px->chk));
        check_set_request(px->chk, "OPTIONS", "/", "HTTP/1.0", "");
    }
    if (strcmp(args[1], "expect") == 0)
        return check_parse_expect(px->chk, argc, args, err);
    if (strcmp(args[1], "send") == 0)
        return check_parse_send(px->chk, argc, args, err);
    return set_err(err, "'http-check %s' is not supported yet", args[1]);
}

struct px_check *check_dup(const struct px_check *src)
{
    struct px_check *c;
    char *err = NULL;

    if (src == NULL)
        return NULL;
    c = xcalloc(1, sizeof(*c));
    *c = *src;
    c->request = src->request ? xstrdup(src->request) : NULL;
    c->expect_arg = src->expect_arg ? xstrdup(src->expect_arg) : NULL;
    c->expect_re =
        src->expect_re
            ? sample_regex_new(c->expect_arg, strlen(c->expect_arg), 0, &err)
            : NULL;
    free(err);
    return c;
}

void check_px_free(struct px_check *c)
{
    if (c == NULL)
        return;
    free(c->request);
    free(c->expect_arg);
    sample_regex_free(c->expect_re);
    free(c);
}

/* ---------------------------------------------------------------- */
/* Shared health                                                     */
/* ---------------------------------------------------------------- */

/* Calls <fn> on every checked server of <cfg>. */
static void each_checked(struct cfg *cfg, void (*fn)(struct server *, void *),
                         void *arg)
{
    struct proxy *px;
    struct server *srv;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (srv = px->servers; srv != NULL; srv = srv->next)
            if (srv->check)
                fn(srv, arg);
}

static void count_one(struct server *srv, void *arg)
{
    (*(size_t *)arg)++;
}

static void attach_one(struct server *srv, void *arg)
{
    struct server_health **next = arg;

    srv->health = (*next)++;
    srv->health->up = 1; /* servers start up, as in HAProxy */
}

int check_prepare(struct cfg *cfg)
{
    struct check_shm *shm;
    struct server_health *next;
    size_t n = 0;

    each_checked(cfg, count_one, &n);
    if (n == 0)
        return RC_OK;
    shm = xcalloc(1, sizeof(*shm));
    shm->len = n * sizeof(*shm->base);
    shm->base = mmap(NULL, shm->len, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm->base == MAP_FAILED) {
        log_alert("cannot map the health of %zu servers: %s", n,
                  strerror(errno));
        free(shm);
        return RC_ERR;
    }
    next = shm->base;
    each_checked(cfg, attach_one, &next);
    *cfg_module_data(cfg, &core_module) = shm;
    return RC_OK;
}

void check_release(struct cfg *cfg)
{
    struct check_shm *shm = *cfg_module_data(cfg, &core_module);

    if (shm == NULL)
        return;
    munmap(shm->base, shm->len);
    free(shm);
    *cfg_module_data(cfg, &core_module) = NULL;
}

/* ---------------------------------------------------------------- */
/* Running checks (worker 1)                                         */
/* ---------------------------------------------------------------- */

/* Counts the usable servers of <px>: active and backup. */
static void count_usable(const struct proxy *px, int *act, int *bck)
{
    const struct server *srv;

    *act = *bck = 0;
    for (srv = px->servers; srv != NULL; srv = srv->next)
        if (server_up(srv) && !srv->disabled)
            (*(srv->backup ? bck : act))++;
}

/* Logs a transition in HAProxy's words. */
static void check_log_change(struct check_run *run, const char *reason, long ms)
{
    struct server *srv = run->srv;
    int act, bck;

    count_usable(srv->px, &act, &bck);
    if (srv->health->up)
        log_warning("Server %s/%s is UP, reason: %s, check duration: %ldms. "
                    "%d active and %d backup servers online. 0 sessions "
                    "requeued, %u total in queue.",
                    srv->px->name, srv->name, reason, ms, act, bck,
                    srv->px->queue_len);
    else
        log_warning("Server %s/%s is DOWN, reason: %s, check duration: "
                    "%ldms. %d active and %d backup servers left. %u "
                    "sessions active, 0 requeued, %u remaining in queue.",
                    srv->px->name, srv->name, reason, ms, act, bck,
                    srv->cur_conns, srv->px->queue_len);
    if (act + bck == 0)
        log_alert("backend '%s' has no server available!", srv->px->name);
}

/* Arms the next check of <run> after its interval. */
static void check_schedule(struct check_run *run)
{
    struct server *srv = run->srv;
    unsigned ms = srv->inter;
    struct timeval tv;

    if (srv->health->streak > 0 && srv->fastinter)
        ms = srv->fastinter; /* a change is under way */
    else if (!srv->health->up && srv->downinter)
        ms = srv->downinter;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(run->timer, &tv);
}

/* Records one result and applies rise/fall. */
static void check_result(struct check_run *run, int ok, const char *reason)
{
    struct server_health *h = run->srv->health;
    struct timeval now;
    long ms;

    if (run->bev != NULL) {
        bufferevent_free(run->bev);
        run->bev = NULL;
    }
    gettimeofday(&now, NULL);
    ms = (now.tv_sec - run->start.tv_sec) * 1000 +
         (now.tv_usec - run->start.tv_usec) / 1000;
    if (ok == h->up) {
        h->streak = 0;
    } else if (++h->streak >= (h->up ? run->srv->fall : run->srv->rise)) {
        h->up = ok;
        h->streak = 0;
        h->changes++;
        check_log_change(run, reason, ms);
    }
    check_schedule(run);
}

/* Returns 1 if the response in <buf> passes the backend's expectation;
 * writes what it saw into <why>. */
static int check_http_verdict(const struct px_check *c, const char *buf,
                              size_t len, char *why, size_t cap)
{
    int status = 0, ok;
    char code[4] = "";

    if (len >= 12 && memcmp(buf, "HTTP/1.", 7) == 0) {
        memcpy(code, buf + 9, 3);
        status = atoi(code);
    }
    if (status < 100) {
        snprintf(why, cap, "Layer7 invalid response");
        return 0;
    }
    switch (c->expect) {
    case CHECK_EXPECT_STATUS:
        ok = strcmp(code, c->expect_arg) == 0;
        break;
    case CHECK_EXPECT_RSTATUS:
        ok = sample_regex_match(c->expect_re, code, 3);
        break;
    case CHECK_EXPECT_STRING:
        ok = memmem(buf, len, c->expect_arg, strlen(c->expect_arg)) != NULL;
        break;
    case CHECK_EXPECT_RSTRING:
        ok = sample_regex_match(c->expect_re, buf, len);
        break;
    default:
        ok = status >= 200 && status < 400;
        break;
    }
    ok ^= c->negate;
    snprintf(why, cap,
             ok ? "Layer7 check passed, code: %d"
                : "Layer7 wrong status, code: %d",
             status);
    return ok;
}

/* Evaluates the HTTP response gathered so far. */
static void check_http_done(struct check_run *run)
{
    const struct px_check *c = run->srv->px->chk;
    size_t len = evbuffer_get_length(run->resp);
    const char *p = (const char *)evbuffer_pullup(run->resp, -1);
    char why[128];
    int ok = check_http_verdict(c, p ? p : "", len, why, sizeof(why));

    evbuffer_drain(run->resp, len);
    check_result(run, ok, why);
}

/* Response bytes of an HTTP check. */
static void check_read_cb(struct bufferevent *bev, void *arg)
{
    struct check_run *run = arg;
    const struct px_check *c = run->srv->px->chk;

    evbuffer_add_buffer(run->resp, bufferevent_get_input(bev));
    /* status checks need only the status line; body checks need it all */
    if ((c->expect != CHECK_EXPECT_STRING &&
         c->expect != CHECK_EXPECT_RSTRING &&
         evbuffer_get_length(run->resp) >= 12) ||
        evbuffer_get_length(run->resp) >= CHECK_MAX_RESPONSE)
        check_http_done(run);
}

/* Connection events of a check. */
static void check_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct check_run *run = arg;
    const struct px_check *c = run->srv->px->chk;
    char why[160];

    if (what & BEV_EVENT_CONNECTED) {
        if (c == NULL) {
            check_result(run, 1, "Layer4 check passed");
            return;
        }
        bufferevent_write(bev, c->request, c->request_len);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        check_result(run, 0,
                     c && evbuffer_get_length(run->resp) == 0 &&
                             (what & BEV_EVENT_READING)
                         ? "Layer7 timeout"
                         : "Layer4 timeout");
        return;
    }
    if ((what & BEV_EVENT_EOF) && c != NULL) {
        check_http_done(run);
        return;
    }
    snprintf(
        why, sizeof(why), "Layer4 connection problem, info: \"%s\"",
        strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : ECONNRESET));
    check_result(run, 0, why);
}

/* Starts one check of <run>'s server. */
static void check_begin(evutil_socket_t fd, short what, void *arg)
{
    struct check_run *run = arg;
    struct server *srv = run->srv;
    struct sockaddr_storage ss = srv->addr.ss;
    unsigned tmo =
        srv->px->timeouts.check ? srv->px->timeouts.check : srv->inter;
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};

    gettimeofday(&run->start, NULL);
    if (srv->check_port != 0 && ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons(srv->check_port);
    else if (srv->check_port != 0 && ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(srv->check_port);
    run->bev = bufferevent_socket_new(worker_loop(), -1, BEV_OPT_CLOSE_ON_FREE);
    if (run->bev == NULL) {
        check_result(run, 0,
                     "Layer4 connection problem, info: \"out of "
                     "memory\"");
        return;
    }
    bufferevent_setcb(run->bev, check_read_cb, NULL, check_event_cb, run);
    bufferevent_set_timeouts(run->bev, &tv, &tv);
    bufferevent_enable(run->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(run->bev, (struct sockaddr *)&ss,
                                   (int)srv->addr.len) < 0)
        check_result(run, 0,
                     "Layer4 connection problem, info: \"Connection "
                     "refused\"");
}

/* Creates the check state of <srv> and runs its first check soon. */
static void start_one(struct server *srv, void *arg)
{
    struct check_run *run = xcalloc(1, sizeof(*run));
    struct timeval tv = {0, 1000};

    run->srv = srv;
    run->resp = evbuffer_new();
    run->timer = evtimer_new(worker_loop(), check_begin, run);
    srv->run = run;
    evtimer_add(run->timer, &tv);
}

int check_start(struct cfg *cfg)
{
    if (worker_id() == 1)
        each_checked(cfg, start_one, NULL);
    return RC_OK;
}
