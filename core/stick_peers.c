/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The "peers" section as far as one host goes. HAProxy's peers copy
 * stick tables between hosts and, through the local peer, from the old
 * process to the new one on a reload. There is no peer protocol here: a
 * section whose only peer is the local one ("peer NAME ADDR:PORT", NAME
 * being the global "localpeer" or else the host name) is accepted with
 * the second meaning alone, and the tables that name it keep their
 * entries across a reload (stick_table.c copies them). A remote peer is
 * an error; nothing listens on the local peer's address. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/stick_peers.h"
#include "core/util.h"

/* The section's bit among the module sections. */
#define CFG_SEC_PEERS CFG_SEC_MODULE(5)
#define HOST_NAME_LEN 256

/* A "peer" line, told local or remote once every file is read. */
struct peer_line {
    struct peer_line *next;
    char *name;
    const char *file;
    int line;
};

/* A "peers NAME" section. */
struct peers_sec {
    struct peers_sec *next;
    char *name;
    const char *file;
    int line;
    int disabled;
    int has_local; /* set by stick_peers_check() */
    struct peer_line *peers;
};

/* What a generation holds, in the slot stick_peers_slot() gives. */
struct peers_data {
    struct peers_sec *first;
    char *localpeer; /* global "localpeer", NULL: the host name */
};

/* The data of <cfg>, created empty if <create>; NULL if none. */
static struct peers_data *peers_data(const struct cfg *cfg, int create)
{
    void **slot = stick_peers_slot(cfg);

    if (*slot == NULL && create)
        *slot = xcalloc(1, sizeof(struct peers_data));
    return *slot;
}

/* The section named <name> in <cfg>, or NULL. */
static struct peers_sec *peers_find(const struct cfg *cfg, const char *name)
{
    struct peers_data *pd = peers_data(cfg, 0);
    struct peers_sec *ps;

    for (ps = pd != NULL ? pd->first : NULL; ps != NULL; ps = ps->next)
        if (strcmp(ps->name, name) == 0)
            return ps;
    return NULL;
}

/* "peers NAME" opens a section. */
static int peers_open(struct cfg_ctx *ctx, int argc, char **args, char **err)
{
    struct peers_data *pd = peers_data(ctx->cfg, 1);
    struct peers_sec *ps, **tail = &pd->first;

    if (argc != 2)
        return set_err(err, "'peers' expects exactly one name");
    ps = peers_find(ctx->cfg, args[1]);
    if (ps != NULL)
        return set_err(err,
                       "peers section '%s' has the same name as the one "
                       "declared at %s:%d",
                       args[1], ps->file, ps->line);
    while (*tail != NULL)
        tail = &(*tail)->next;
    ps = *tail = xcalloc(1, sizeof(*ps));
    ps->name = xstrdup(args[1]);
    ps->file = ctx->file;
    ps->line = ctx->line;
    ctx->sec_data = ps;
    return RC_OK;
}

/* "peer NAME ADDR:PORT": the address is checked, the name kept. */
static int kw_peer(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                   char **args, char **err)
{
    struct peers_sec *ps = ctx->sec_data;
    struct peer_line *p;
    struct cfg_addr addr;

    (void)kw;
    (void)argc;
    if (cfgval_addr(args[2], CFGVAL_ADDR_NEED_PORT, &addr, err) != RC_OK)
        return RC_ERR;
    p = xcalloc(1, sizeof(*p));
    p->name = xstrdup(args[1]);
    p->file = ctx->file;
    p->line = ctx->line;
    p->next = ps->peers;
    ps->peers = p;
    return RC_OK;
}

/* "disabled" and "enable": whether the section keeps its tables. */
static int kw_disabled(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                       char **args, char **err)
{
    (void)argc;
    (void)args;
    (void)err;
    ((struct peers_sec *)ctx->sec_data)->disabled = kw->lo != 0;
    return RC_OK;
}

/* Global "localpeer NAME": the local peer's name instead of the host's. */
static int kw_localpeer(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                        char **args, char **err)
{
    struct peers_data *pd = peers_data(ctx->cfg, 1);

    (void)kw;
    (void)argc;
    (void)err;
    free(pd->localpeer);
    pd->localpeer = xstrdup(args[1]);
    return RC_OK;
}

const struct cfg_section stick_peers_sections[] = {
    {"peers", CFG_SEC_PEERS, peers_open},
    {NULL, 0, NULL},
};

const struct cfg_kw stick_peers_keywords[] = {
    {"peer", CFG_SEC_PEERS, 2, 2, kw_peer, 0, 0, 0},
    {"disabled", CFG_SEC_PEERS, 0, 0, kw_disabled, 0, 1, 0},
    {"enable", CFG_SEC_PEERS, 0, 0, kw_disabled, 0, 0, 0},
    {"localpeer", CFG_SEC_GLOBAL, 1, 1, kw_localpeer, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

/* Tells the local peer of <ps> (named <local>) from the remote ones, each
 * an error; the number of errors. */
static int peers_sec_check(struct peers_sec *ps, const char *local)
{
    struct peer_line *p;
    int errors = 0;

    for (p = ps->peers; p != NULL; p = p->next) {
        if (strcmp(p->name, local) == 0) {
            ps->has_local = 1;
            continue;
        }
        log_alert("%s:%d: peers section '%s': peer '%s' is a remote peer "
                  "(the local one is '%s'); remote peers are not supported",
                  p->file, p->line, ps->name, p->name, local);
        errors++;
    }
    if (!ps->has_local && errors == 0)
        log_warning("%s:%d: peers section '%s' has no local peer '%s': the "
                    "tables naming it start empty on a reload",
                    ps->file, ps->line, ps->name, local);
    return errors;
}

int stick_peers_check(struct cfg *cfg)
{
    struct peers_data *pd = peers_data(cfg, 0);
    char host[HOST_NAME_LEN] = "";
    const char *local = host;
    struct peers_sec *ps;
    int errors = 0;

    if (pd == NULL)
        return 0;
    if (pd->localpeer != NULL)
        local = pd->localpeer;
    else if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    for (ps = pd->first; ps != NULL; ps = ps->next)
        errors += peers_sec_check(ps, local);
    return errors;
}

int stick_peers_keep(const struct cfg *cfg, const char *name, int *found)
{
    struct peers_sec *ps = peers_find(cfg, name);

    *found = ps != NULL;
    return ps != NULL && !ps->disabled && ps->has_local;
}

void stick_peers_free(struct cfg *cfg)
{
    void **slot = stick_peers_slot(cfg);
    struct peers_data *pd = *slot;
    struct peers_sec *ps, *next;
    struct peer_line *p, *pnext;

    if (pd == NULL)
        return;
    for (ps = pd->first; ps != NULL; ps = next) {
        next = ps->next;
        for (p = ps->peers; p != NULL; p = pnext) {
            pnext = p->next;
            free(p->name);
            free(p);
        }
        free(ps->name);
        free(ps);
    }
    free(pd->localpeer);
    free(pd);
    *slot = NULL;
}
