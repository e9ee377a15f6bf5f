/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for lua_api/luab_core.c, through a bare Lua state with the
 * core table: core.tokenize (separators, blanks kept or dropped) and the
 * log level constants. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <check.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_api/luab.h"

Suite *suite_lua_api_core(void);

static lua_State *L;

/* A Lua state with the standard libraries and "core". */
static void setup(void)
{
    L = luaL_newstate();
    ck_assert_ptr_nonnull(L);
    luaL_openlibs(L);
    luab_core_register(L);
}

/* Closes it. */
static void teardown(void)
{
    lua_close(L);
}

/* Runs <code> returning one string; returns it (valid until teardown). */
static const char *eval(const char *code)
{
    ck_assert_msg(luaL_dostring(L, code) == LUA_OK, "%s", lua_tostring(L, -1));
    return lua_tostring(L, -1);
}

START_TEST(test_core__tokenize)
{
    ck_assert_str_eq(eval("return table.concat(core.tokenize("
                          "'a,b;;c', ',;'), '|')"),
                     "a|b||c");
    ck_assert_str_eq(eval("return table.concat(core.tokenize("
                          "'a,b;;c', ',;', true), '|')"),
                     "a|b|c");
    ck_assert_str_eq(eval("return tostring(#core.tokenize('', ','))"), "1");
    ck_assert_str_eq(eval("return tostring(#core.tokenize('', ',', true))"),
                     "0");
    ck_assert_str_eq(eval("return table.concat(core.tokenize("
                          "',x,', ','), '|')"),
                     "|x|");
}
END_TEST

START_TEST(test_core__levels)
{
    ck_assert_str_eq(eval("return core.emerg .. core.alert .. core.err .. "
                          "core.info .. core.debug .. core.silent"),
                     "01367-1");
    ck_assert_str_eq(eval("return tostring(core.thread)"), "0");
}
END_TEST

Suite *suite_lua_api_core(void)
{
    Suite *s = suite_create("lua_api_core");
    TCase *tc = tcase_create("core_tokenize");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_core__tokenize);
    suite_add_tcase(s, tc);
    tc = tcase_create("core_constants");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_core__levels);
    suite_add_tcase(s, tc);
    return s;
}
