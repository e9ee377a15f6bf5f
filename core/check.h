/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Health checks. One worker (number 1) runs the checks of every server
 * with "check"; the outcome lives in memory that the master maps shared
 * before forking, so every worker of the generation sees a server go down
 * or up at once, and N workers send the check traffic of one. A respawned
 * worker 1 takes over from the states already there. */
#ifndef LUAPROXY_CORE_CHECK_H
#define LUAPROXY_CORE_CHECK_H

#include <stddef.h>

#include "core/cfgparse.h"

struct cfg;
struct server;
struct proxy;
struct sample_regex;
struct tcpchk_rule;
struct check_proto_step;

enum check_expect {
    CHECK_EXPECT_DEFAULT, /* a 2xx or 3xx status */
    CHECK_EXPECT_STATUS,
    CHECK_EXPECT_RSTATUS,
    CHECK_EXPECT_STRING,
    CHECK_EXPECT_RSTRING,
};

/* What a backend's checks do beyond the connect (px->chk NULL: only the
 * connect). */
enum check_type {
    CHECK_TYPE_HTTP = 0, /* option httpchk, http-check */
    CHECK_TYPE_TCP,      /* option tcp-check: the tcp-check sequence */
    CHECK_TYPE_PROTO,    /* a protocol option: its predefined sequence */
};

/* "option httpchk" and "http-check" settings of a backend, and its
 * "tcp-check" sequence (kept even when another check type is in force, as
 * HAProxy keeps the lines). */
struct px_check {
    enum check_type type;
    char *request; /* the request sent */
    size_t request_len;
    enum check_expect expect;
    int negate;
    char *expect_arg;
    struct sample_regex *expect_re;
    struct tcpchk_rule *tcp_rules;   /* in order, comments resolved after
                                      * parsing (check_prepare) */
    int tcp_nlines;                  /* tcp-check lines so far: step numbers */
    struct tcpchk_rule *proto_rules; /* the sequence of a protocol option
                                      * (core/check_proto.c) */
    int disable_on_404; /* http-check disable-on-404: 404 drains (NOLB) */
};

/* What traffic showed of a server, for "observe" (HAProxy's analyze
 * statuses). */
enum check_obs {
    CHECK_OBS_L4_OK,
    CHECK_OBS_L4_ERR,
    CHECK_OBS_HTTP_OK,
    CHECK_OBS_HTTP_STS, /* a 5xx other than 501 and 505 */
    CHECK_OBS_HTTP_HDRRSP,
    CHECK_OBS_HTTP_READ_ERROR,
    CHECK_OBS_HTTP_READ_TIMEOUT,
    CHECK_OBS_HTTP_BROKEN_PIPE,
    CHECK_OBS_COUNT
};

/* Any worker: counts <what> against or for <srv>'s health when it has
 * "observe" and checks; the checking worker applies "on-error" once
 * "error-limit" errors in a row are reached. */
void check_observe(struct server *srv, enum check_obs what);

/* HAProxy's numbers for the last check in "show servers state": its
 * status before the first check (HCHK_STATUS_INI), and its results. */
#define CHECK_ST_INI 1
enum check_res {
    CHECK_RES_UNKNOWN = 0,
    CHECK_RES_FAILED = 2,
    CHECK_RES_PASSED = 3,
    CHECK_RES_CONDPASS = 4,
};

/* What a Lua script (Server:check_force_*, agent_force_*) or the runtime
 * API ("set server ... health|agent") forces of a server's health. */
enum check_force {
    CHECK_FORCE_UP,
    CHECK_FORCE_STOPPING, /* up, health full, no new traffic */
    CHECK_FORCE_DOWN,
    CHECK_FORCE_NOLB, /* no new traffic if up */
    CHECK_FORCE_AGENT_UP,
    CHECK_FORCE_AGENT_DOWN,
};

/* One worker: forces <what> on <srv>'s shared health (every server but a
 * tracking one has one), logged ", changed from <by>" ("Lua script",
 * "CLI") when its state changes, as HAProxy does; the other workers
 * follow within a poll. */
void check_force(struct server *srv, enum check_force what, const char *by);

/* Logs, as HAProxy words it, that <srv> left the administrative state
 * <was> (enum server_admin) for the one it is in. */
void check_log_admin(const struct server *srv, int was);

/* Keywords of health checks: "option tcp-check", "tcp-check", the
 * protocol options ("option redis-check"...). */
extern const struct cfg_kw check_keywords[];

/* "option httpchk [METHOD] [URI] [VERSION]". */
int check_parse_httpchk(struct proxy *px, int argc, char **args, char **err);
/* "http-check expect [!] status|rstatus|string|rstring X", "http-check
 * send [meth M] [uri U] [ver V] [hdr N V]...". */
int check_parse_http_check(struct proxy *px, int argc, char **args, char **err);
/* Makes <px> check with the <n> protocol steps <steps> (their data
 * taken over); <steps> NULL: "no option X", back to connect checks if a
 * protocol check was in force. */
void check_set_proto(struct proxy *px, struct check_proto_step *steps, int n);
/* Appends <len> bytes of <s> to the string <out> (<cap> bytes) as HAProxy
 * quotes them in a log line's info: non-printable bytes and '"' as \xHH. */
void check_quote_info(char *out, size_t cap, const char *s, size_t len);
/* Copies <src> for a proxy inheriting it from a defaults section. */
struct px_check *check_dup(const struct px_check *src);
void check_px_free(struct px_check *c);

/* Master, after parsing: resolves the tcp-check comments of every proxy,
 * maps the shared health of every checked server of <cfg>. RC_OK or
 * RC_ERR. */
int check_prepare(struct cfg *cfg);
/* Master: unmaps it when the generation is freed. */
void check_release(struct cfg *cfg);
/* Worker: starts the checks if this worker runs them. */
int check_start(struct cfg *cfg);

#endif
