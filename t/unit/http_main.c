/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The unit test binary of http/. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include "t/unit/unit.h"

int main(void)
{
    static Suite *(*const suites[])(void) = {suite_http_h1, NULL};

    return unit_run(suites);
}
