/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Configuration generations: creation with HAProxy's defaults, the
 * modules' data slots, and freeing a generation as a whole. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/cli.h"
#include "core/module.h"
#include "core/proxy.h"
#include "core/util.h"

struct cfg *cfg_new(void)
{
    static unsigned generation;
    struct cfg *cfg = xcalloc(1, sizeof(*cfg));

    cfg->px_tail = &cfg->proxies;
    cfg->global.bufsize = 16384;
    cfg->global.maxrewrite = 1024;
    cfg->global.maxhdr = 101;
    cfg->global.stats_timeout = CLI_DEFAULT_TIMEOUT_MS;
    cfg->global.stats_maxconn = CLI_DEFAULT_MAXCONN;
    cfg->global.maxconn = 4096;
    cfg->global.maxpipes = -1;
    cfg->generation = ++generation;
    /* its global set-var lines see the variables of none before it */
    vars_prune(vars_proc());
    return cfg;
}

/* Frees a list of proxies linked by next. */
static void proxy_list_free(struct proxy *px)
{
    while (px != NULL) {
        struct proxy *next = px->next;

        proxy_free(px);
        px = next;
    }
}

void cfg_free(struct cfg *cfg)
{
    const struct module *const *m;

    if (cfg == NULL)
        return;
    for (m = modules; m != NULL && *m != NULL; m++)
        if ((*m)->cfg_free != NULL)
            (*m)->cfg_free(cfg);
    proxy_list_free(cfg->proxies);
    proxy_list_free(cfg->defaults);
    vars_prune(&cfg->proc_vars);
    free(cfg->global.pidfile);
    free(cfg->global.node);
    while (cfg->global.cpu_maps != NULL) {
        struct cpu_map *next = cfg->global.cpu_maps->next;

        free(cfg->global.cpu_maps);
        cfg->global.cpu_maps = next;
    }
    free(cfg->global.description);
    free(cfg->global.chroot);
    free(cfg->global.user);
    free(cfg->global.group);
    while (cfg->nfiles > 0)
        free(cfg->files[--cfg->nfiles]);
    free(cfg->files);
    free(cfg);
}

void **cfg_module_data(struct cfg *cfg, const struct module *m)
{
    return &cfg->mod_data[module_index(m)];
}

const char *cfg_intern_file(struct cfg *cfg, const char *path)
{
    int i;

    for (i = 0; i < cfg->nfiles; i++)
        if (strcmp(cfg->files[i], path) == 0)
            return cfg->files[i];
    cfg->files =
        xrealloc(cfg->files, sizeof(char *) * (size_t)(cfg->nfiles + 1));
    cfg->files[cfg->nfiles] = xstrdup(path);
    return cfg->files[cfg->nfiles++];
}
