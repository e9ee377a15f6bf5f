/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The unit test binary of lua_api/: every suite of a lua_api source file
 * with pure pieces (conversions, tokenize, addresses and dates). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include "t/unit/unit.h"

int main(void)
{
    static Suite *(*const suites[])(void) = {
        suite_lua_api_util,
        suite_lua_api_fetches,
        suite_lua_api_core,
        suite_lua_api_httpclient,
        NULL,
    };

    return unit_run(suites);
}
