/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/cli.c's pure parts: splitting a command line into
 * words (blanks, backslash escapes) and finding the row with the most
 * matching words. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <check.h>

#include "core/cli.h"
#include "core/errors.h"
#include "t/unit/unit.h"

START_TEST(test_cli__split_blanks_and_escapes)
{
    char line[] = "  set map\t#1  a\\ b  c\\\\d\\;  ";
    char *args[CLI_ARGS_MAX];
    int n = cli_split(line, args);

    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(args[0], "set");
    ck_assert_str_eq(args[1], "map");
    ck_assert_str_eq(args[2], "#1");
    ck_assert_str_eq(args[3], "a b");
    ck_assert_str_eq(args[4], "c\\d;");
}
END_TEST

START_TEST(test_cli__split_empty)
{
    char line[] = " \t ";
    char *args[CLI_ARGS_MAX];

    ck_assert_int_eq(cli_split(line, args), 0);
}
END_TEST

/* A row for the registry tests. */
static int cli_test_cmd(struct cli_req *req, int argc, char **args, void *arg)
{
    return RC_OK;
}

static const struct cli_cmd cli_test_rows[] = {
    {{"zzshow", NULL}, NULL, CLI_LVL_USER, 0, cli_test_cmd, NULL},
    {{"zzshow", "thing", NULL}, NULL, CLI_LVL_USER, 0, cli_test_cmd, NULL},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

START_TEST(test_cli__find_most_words)
{
    char w1[] = "zzshow", w2[] = "thing", w3[] = "x", w4[] = "other",
         w5[] = "zzother";
    char *a1[] = {w1, w2, w3}, *a2[] = {w1, w4}, *a3[] = {w5};

    ck_assert_int_eq(cli_register(cli_test_rows), RC_OK);
    ck_assert_ptr_eq(cli_find(3, a1), &cli_test_rows[1]);
    ck_assert_ptr_eq(cli_find(2, a2), &cli_test_rows[0]);
    ck_assert_ptr_null(cli_find(1, a3));
    ck_assert_ptr_null(cli_find(0, a3));
}
END_TEST

Suite *suite_core_cli(void)
{
    Suite *s = suite_create("core_cli");
    TCase *tc = tcase_create("cli_split");

    tcase_add_test(tc, test_cli__split_blanks_and_escapes);
    tcase_add_test(tc, test_cli__split_empty);
    suite_add_tcase(s, tc);
    tc = tcase_create("cli_find");
    tcase_add_test(tc, test_cli__find_most_words);
    suite_add_tcase(s, tc);
    return s;
}
