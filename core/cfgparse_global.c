/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Keywords of the "global" section that core owns: process model,
 * privileges and buffer tuning. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sched.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/core.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/util.h"

#define G(f) offsetof(struct global, f)

/* "nbproc N|auto" and "nbthread N": workers are processes here. */
static int parse_nbproc(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    long long n;

    if (strcmp(args[1], "auto") == 0) {
        ctx->cfg->global.nbproc = 0;
        return RC_OK;
    }
    if (cfgval_int(args[1], 1, 256, &n, err) != RC_OK)
        return RC_ERR;
    ctx->cfg->global.nbproc = (int)n;
    return RC_OK;
}

/* "daemon" and "quiet": flags without argument. */
static int parse_global_flag(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    *(int *)((char *)&ctx->cfg->global + kw->offset) = 1;
    return RC_OK;
}

/* "setenv NAME VALUE" and "presetenv NAME VALUE" (only when NAME is not
 * set): the environment changes at once, so the next lines of the
 * configuration ("${NAME}"), the Lua code and the workers see it. */
static int parse_setenv(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    if (setenv(args[1], args[2], strcmp(args[0], "setenv") == 0) != 0)
        return set_err(err, "'%s': cannot set '%s'", args[0], args[1]);
    return RC_OK;
}

/* "unsetenv NAME...". */
static int parse_unsetenv(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    int i;

    for (i = 1; i < argc; i++)
        if (unsetenv(args[i]) != 0)
            return set_err(err, "'unsetenv': cannot unset '%s'", args[i]);
    return RC_OK;
}

/* 1 if the "NAME=value" entry <e> names one of <names>. */
static int env_named(const char *e, int n, char **names)
{
    size_t len = strcspn(e, "=");
    int i;

    for (i = 0; i < n; i++)
        if (strlen(names[i]) == len && strncmp(e, names[i], len) == 0)
            return 1;
    return 0;
}

/* "resetenv [NAME...]": every variable but the named ones goes. Names
 * are copied first: unsetenv() moves the entries of environ. */
static int parse_resetenv(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    size_t n = 0, i;
    char **drop;

    while (environ[n] != NULL)
        n++;
    drop = xcalloc(n + 1, sizeof(*drop));
    for (i = 0, n = 0; environ[i] != NULL; i++)
        if (!env_named(environ[i], argc - 1, args + 1))
            drop[n++] = xstrndup(environ[i], strcspn(environ[i], "="));
    for (i = 0; i < n; i++) {
        unsetenv(drop[i]);
        free(drop[i]);
    }
    free(drop);
    return RC_OK;
}

/* Reads "N" or "N-M" within [<min>, <max>] into *lo and *hi; RC_OK or
 * RC_ERR. */
static int parse_range(const char *s, int min, int max, int *lo, int *hi)
{
    char *end;
    long a = strtol(s, &end, 10), b = a;

    if (end == s)
        return RC_ERR;
    if (*end == '-') {
        const char *s2 = end + 1;

        b = strtol(s2, &end, 10);
        if (end == s2)
            return RC_ERR;
    }
    if (*end != '\0' || a < min || b > max || a > b)
        return RC_ERR;
    *lo = (int)a;
    *hi = (int)b;
    return RC_OK;
}

/* Reads the workers part of a "cpu-map" line: "[auto:]P[/T]", where the
 * process set P must be 1 (HAProxy 2.6 has one process) and the thread set
 * T, "all" by default, names our workers. */
static int cpu_map_workers(const char *w, struct cpu_map *m, char **err)
{
    const char *slash;
    int plo, phi;
    char *p;

    m->autom = strncmp(w, "auto:", 5) == 0;
    w += m->autom ? 5 : 0;
    slash = strchr(w, '/');
    p = xstrndup(w, slash ? (size_t)(slash - w) : strlen(w));
    if (strcmp(p, "all") != 0 &&
        (parse_range(p, 1, 64, &plo, &phi) != RC_OK || plo != 1 || phi != 1)) {
        free(p);
        return set_err(err, "'cpu-map': the process set must be 1 or 'all'");
    }
    free(p);
    m->lo = 1;
    m->hi = 64;
    if (slash != NULL && strcmp(slash + 1, "all") != 0 &&
        parse_range(slash + 1, 1, 64, &m->lo, &m->hi) != RC_OK)
        return set_err(err, "'cpu-map': bad thread set '%s'", slash + 1);
    return RC_OK;
}

/* "cpu-map [auto:]P[/T] CPUSET...": workers on CPUs (sched_setaffinity). */
static int parse_cpu_map(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err)
{
    struct cpu_map *m = xcalloc(1, sizeof(*m)), **tail;
    int i, lo, hi;

    for (tail = &ctx->cfg->global.cpu_maps; *tail != NULL;
         tail = &(*tail)->next)
        ;
    *tail = m;
    if (cpu_map_workers(args[1], m, err) != RC_OK)
        return RC_ERR;
    for (i = 2; i < argc; i++) {
        /* sched_setaffinity's set holds CPUs 0..CPU_SETSIZE-1 */
        if (parse_range(args[i], 0, CPU_SETSIZE - 1, &lo, &hi) != RC_OK)
            return set_err(err, "'cpu-map': bad CPU set '%s'", args[i]);
        for (; lo <= hi; lo++) {
            if (m->ncpus == (int)(sizeof(m->cpus) / sizeof(m->cpus[0])))
                return set_err(err, "'cpu-map': at most 64 CPUs a line");
            m->cpus[m->ncpus++] = lo;
        }
    }
    return RC_OK;
}

/* "description WORDS...": the words joined by spaces, as HAProxy. */
static int parse_description(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    size_t len = 0;
    char *d;
    int i;

    for (i = 1; i < argc; i++)
        len += strlen(args[i]) + 1;
    d = xmalloc(len);
    d[0] = '\0';
    for (i = 1; i < argc; i++) {
        strcat(d, args[i]);
        if (i + 1 < argc)
            strcat(d, " ");
    }
    free(ctx->cfg->global.description);
    ctx->cfg->global.description = d;
    return RC_OK;
}

const struct cfg_kw cfgparse_global_keywords[] = {
    {"setenv", CFG_SEC_GLOBAL, 2, 2, parse_setenv, 0, 0, 0},
    {"presetenv", CFG_SEC_GLOBAL, 2, 2, parse_setenv, 0, 0, 0},
    {"unsetenv", CFG_SEC_GLOBAL, 1, -1, parse_unsetenv, 0, 0, 0},
    {"resetenv", CFG_SEC_GLOBAL, 0, -1, parse_resetenv, 0, 0, 0},
    {"nbproc", CFG_SEC_GLOBAL, 1, 1, parse_nbproc, 0, 0, 0},
    {"nbthread", CFG_SEC_GLOBAL, 1, 1, parse_nbproc, 0, 0, 0},
    {"maxconn", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(maxconn), 1, 1000000},
    {"maxconnrate", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(maxconnrate), 0,
     INT_MAX},
    {"maxsessrate", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(maxsessrate), 0,
     INT_MAX},
    {"maxpipes", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(maxpipes), 0, 1000000},
    {"daemon", CFG_SEC_GLOBAL, 0, 0, parse_global_flag, G(daemon), 0, 0},
    {"quiet", CFG_SEC_GLOBAL, 0, 0, parse_global_flag, G(quiet), 0, 0},
    {"pidfile", CFG_SEC_GLOBAL, 1, 1, cfg_set_string, G(pidfile), 0, 0},
    {"chroot", CFG_SEC_GLOBAL, 1, 1, cfg_set_string, G(chroot), 0, 0},
    {"user", CFG_SEC_GLOBAL, 1, 1, cfg_set_string, G(user), 0, 0},
    {"group", CFG_SEC_GLOBAL, 1, 1, cfg_set_string, G(group), 0, 0},
    {"uid", CFG_SEC_GLOBAL, 1, 1, cfg_set_string, G(user), 0, 0},
    {"gid", CFG_SEC_GLOBAL, 1, 1, cfg_set_string, G(group), 0, 0},
    {"hard-stop-after", CFG_SEC_GLOBAL, 1, 1, cfg_set_duration,
     G(hard_stop_after), 0, 0},
    {"mworker-max-reloads", CFG_SEC_GLOBAL, 1, 1, cfg_set_int,
     G(mworker_max_reloads), 0, INT_MAX},
    {"master-worker", CFG_SEC_GLOBAL, 0, 1, cfg_ignore, 0, 0, 0},
    {"tune.bufsize", CFG_SEC_GLOBAL, 1, 1, cfg_set_size, G(bufsize), 1024,
     1 << 28},
    {"tune.maxrewrite", CFG_SEC_GLOBAL, 1, 1, cfg_set_size, G(maxrewrite), 0,
     1 << 27},
    {"tune.http.maxhdr", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(maxhdr), 1,
     32767},
    {"ulimit-n", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(ulimit_n), 1, INT_MAX},
    {"cpu-map", CFG_SEC_GLOBAL, 2, -1, parse_cpu_map, 0, 0, 0},
    {"tune.rcvbuf.client", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(rcvbuf_cli), 1,
     INT_MAX},
    {"tune.rcvbuf.server", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(rcvbuf_srv), 1,
     INT_MAX},
    {"tune.sndbuf.client", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(sndbuf_cli), 1,
     INT_MAX},
    {"tune.sndbuf.server", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(sndbuf_srv), 1,
     INT_MAX},
    {"spread-checks", CFG_SEC_GLOBAL, 1, 1, cfg_set_int, G(spread_checks), 0,
     50},
    {"node", CFG_SEC_GLOBAL, 1, 1, cfg_set_string, G(node), 0, 0},
    {"description", CFG_SEC_GLOBAL, 1, -1, parse_description, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};
