/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runner shared by the unit test binaries: TAP or Check's own output,
 * as the CK_* environment variables say. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include "t/unit/unit.h"

int unit_run(Suite *(*const *suites)(void))
{
    SRunner *sr = srunner_create(NULL);
    int failed;

    for (; *suites != NULL; suites++)
        srunner_add_suite(sr, (*suites)());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
