/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The core module's entry in main's module list: it registers the
 * keywords, fetches, converters and actions that core owns. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>

#include "core/cfg.h"
#include "core/check.h"
#include "core/cli.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/filter.h"
#include "core/logformat.h"
#include "core/logger.h"
#include "core/map.h"
#include "core/proxy.h"
#include "core/rate_limit.h"
#include "core/server.h"
#include "core/sample.h"
#include "core/server_slots.h"
#include "core/service.h"
#include "core/stats.h"
#include "core/stream_act.h"
#include "core/unique_id.h"

/* Fills the registries with what core provides. */
static int core_init(void)
{
    sample_fetch_register_builtin();
    sample_conv_register_builtin();
    stream_fetch_init();
    vars_act_init();
    stream_act_init();
    service_init();
    filter_trace_init();
    logformat_core_init();
    unique_id_init();
    cli_init();
    map_cli_init();
    map_act_init();
    server_cli_init();
    proxy_cli_init();
    stats_cli_init();
    return RC_OK;
}

/* After parsing, in the master: log targets and formats, request
 * identifier formats, the files map actions name, the server connection
 * counters and the shared health of checked servers. */
static int core_post_parse(struct cfg *cfg)
{
    int rc = proxy_ids_assign(cfg) == 0 ? RC_OK : RC_ERR;

    if (logger_post_parse(cfg) != RC_OK)
        rc = RC_ERR;

    if (unique_id_post_parse(cfg) != RC_OK)
        rc = RC_ERR;
    map_act_post_parse(cfg);
    if (server_slots_prepare(cfg) != RC_OK)
        rc = RC_ERR;
    if (check_prepare(cfg) != RC_OK || server_track_resolve(cfg) != 0)
        rc = RC_ERR;
    if (rate_limit_prepare(cfg) != RC_OK)
        rc = RC_ERR;
    return rc;
}

/* In each worker: the process variables of its generation, log flushing;
 * the checking worker starts its checks. */
static int core_worker_init(struct cfg *cfg)
{
    if (vars_copy(vars_proc(), &cfg->proc_vars) != RC_OK)
        return RC_ERR;
    if (logger_worker_init(cfg) != RC_OK)
        return RC_ERR;
    return check_start(cfg);
}

/* Frees what core hangs on <cfg>: log targets and formats, check state. */
static void core_cfg_free(struct cfg *cfg)
{
    logger_cfg_free(cfg);
    check_release(cfg);
    rate_limit_release(cfg);
    cli_master_cfg_free(cfg);
}

static const struct cfg_kw *const core_keywords[] = {
    cfgparse_global_keywords, cfgparse_proxy_keywords,
    check_keywords,           logger_keywords,
    unique_id_keywords,       cli_master_keywords,
    filter_keywords,          vars_act_keywords,
    tls_defaults_keywords,    NULL,
};

const struct module core_module = {
    .name = "core",
    .keywords = core_keywords,
    .init = core_init,
    .post_parse = core_post_parse,
    .worker_init = core_worker_init,
    .cfg_free = core_cfg_free,
};
