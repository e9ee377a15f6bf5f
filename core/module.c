/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The module list: main hands it over once; core walks it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>

#include "core/cfg.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/module.h"

const struct module *const *modules;

int modules_init(const struct module *const *list)
{
    const struct module *const *m;

    modules = list;
    for (m = list; *m != NULL; m++) {
        if (m - list >= CFG_MODULES_MAX) {
            log_alert("too many modules");
            return RC_ERR;
        }
        if ((*m)->init != NULL && (*m)->init() != RC_OK) {
            log_alert("module %s failed to initialise", (*m)->name);
            return RC_ERR;
        }
    }
    return RC_OK;
}

int module_index(const struct module *m)
{
    int i;

    for (i = 0; modules[i] != NULL; i++)
        if (modules[i] == m)
            return i;
    return CFG_MODULES_MAX - 1;
}
