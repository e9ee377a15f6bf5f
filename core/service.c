/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The service registry and the "use-service" action, which hands a
 * stream to an applet in place of a server. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/service.h"
#include "core/stream.h"
#include "core/util.h"

#define SERVICE_MAX_TABLES 8

static const struct service_kw *service_tables[SERVICE_MAX_TABLES];
static int service_ntables;

void service_register(const struct service_kw *tbl)
{
    if (service_ntables < SERVICE_MAX_TABLES)
        service_tables[service_ntables++] = tbl;
}

int service_resolve(struct cfg_ctx *ctx, const char *name,
                    enum applet_kind kind, struct service_ref *ref, char **err)
{
    const struct service_kw *kw;
    int i;

    for (i = 0; i < service_ntables; i++) {
        for (kw = service_tables[i]; kw->prefix != NULL; kw++) {
            if (strncmp(name, kw->prefix, strlen(kw->prefix)) != 0)
                continue;
            return kw->resolve(ctx, name, kind, ref, err);
        }
    }
    return set_err(err, "unknown service '%s'", name);
}

/* Runs "use-service": the protocol layer sees svc set and starts it. */
static enum act_ret use_service_run(struct rule *r, struct stream *s,
                                    unsigned flags)
{
    s->svc = *(struct service_ref *)r->arg;
    return ACT_RET_STOP;
}

/* Frees the rule's copy of the reference. */
static void use_service_free(struct rule *r)
{
    free(r->arg);
}

/* Parses "use-service NAME". */
static int use_service_parse(struct cfg_ctx *ctx, struct rule *r,
                             enum ruleset rs, int *cur, int argc, char **args,
                             char **err)
{
    struct service_ref ref;
    enum applet_kind kind = rs == RULESET_HTTP_REQ ? APPLET_HTTP : APPLET_TCP;

    if (argc < 2)
        return set_err(err, "'use-service' expects a service name");
    if (service_resolve(ctx, args[1], kind, &ref, err) != RC_OK)
        return RC_ERR;
    r->arg = xmalloc(sizeof(ref));
    *(struct service_ref *)r->arg = ref;
    r->run = use_service_run;
    r->free = use_service_free;
    *cur = 2;
    return RC_OK;
}

static const struct action_kw service_actions[] = {
    {"use-service",
     RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_TCP_CONT), 0,
     use_service_parse},
    {NULL, 0, 0, NULL},
};

/* Registers the use-service action; called by the core module. */
void service_init(void)
{
    action_register(service_actions);
}
