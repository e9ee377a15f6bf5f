/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The unit test binary of core/: every suite of a core source file. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include "t/unit/unit.h"

int main(void)
{
    static Suite *(*const suites[])(void) = {
        suite_core_cfgtok,    suite_core_cfgval,
        suite_core_cfgcond,   suite_core_sample,
        suite_core_acl,       suite_core_vars,
        suite_core_logformat, suite_core_map,
        suite_core_cli,       suite_core_filter,
        suite_core_freq_ctr,  suite_core_stick_table,
        suite_core_shcache,   NULL,
    };

    return unit_run(suites);
}
