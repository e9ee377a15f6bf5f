/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for lua_api/luab_fetches.c: HAProxy's conversions between
 * samples and Lua values (integers, booleans as integers, addresses as
 * text, failures as nil or "" in string mode; numbers to their integer
 * part, anything else to boolean false). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <string.h>

#include <check.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/sample.h"
#include "lua_api/luab.h"

Suite *suite_lua_api_fetches(void);

static lua_State *L;

/* A fresh Lua state. */
static void setup(void)
{
    L = luaL_newstate();
    ck_assert_ptr_nonnull(L);
}

/* Closes it. */
static void teardown(void)
{
    lua_close(L);
}

START_TEST(test_fetches__smp_push_types)
{
    struct sample smp;

    memset(&smp, 0, sizeof(smp));
    smp.type = SMP_T_SINT;
    smp.data.sint = -42;
    luab_smp_push(L, &smp, 1, 0, NULL);
    ck_assert(lua_isinteger(L, -1));
    ck_assert_int_eq(lua_tointeger(L, -1), -42);
    smp.type = SMP_T_BOOL;
    smp.data.sint = 1;
    luab_smp_push(L, &smp, 1, 0, NULL);
    ck_assert(lua_isinteger(L, -1)); /* pre-3.1 boolean conversion */
    luab_smp_push(L, &smp, 1, 1, NULL);
    ck_assert_str_eq(lua_tostring(L, -1), "1");
    smp.type = SMP_T_IPV4;
    inet_pton(AF_INET, "192.0.2.7", &smp.data.ipv4);
    luab_smp_push(L, &smp, 1, 0, NULL);
    ck_assert_str_eq(lua_tostring(L, -1), "192.0.2.7");
    smp.type = SMP_T_STR;
    smp.data.str.ptr = "abcdef";
    smp.data.str.len = 3;
    luab_smp_push(L, &smp, 1, 0, NULL);
    ck_assert_str_eq(lua_tostring(L, -1), "abc");
}
END_TEST

START_TEST(test_fetches__smp_push_failure)
{
    struct sample smp;

    memset(&smp, 0, sizeof(smp));
    luab_smp_push(L, &smp, 0, 0, NULL);
    ck_assert(lua_isnil(L, -1));
    luab_smp_push(L, &smp, 0, 1, NULL);
    ck_assert_str_eq(lua_tostring(L, -1), "");
}
END_TEST

START_TEST(test_fetches__smp_from_lua)
{
    struct sample smp;

    lua_pushnumber(L, 0.7);
    ck_assert_int_eq(luab_smp_from_lua(L, -1, &smp, NULL), 1);
    ck_assert_int_eq(smp.type, SMP_T_SINT);
    ck_assert_int_eq(smp.data.sint, 0);
    /* HAProxy 2.6 reads numbers with lua_tointeger: inexact floats are 0 */
    lua_pushnumber(L, -3.9);
    luab_smp_from_lua(L, -1, &smp, NULL);
    ck_assert_int_eq(smp.data.sint, 0);
    lua_pushnumber(L, -3.0);
    luab_smp_from_lua(L, -1, &smp, NULL);
    ck_assert_int_eq(smp.data.sint, -3);
    lua_pushboolean(L, 1);
    luab_smp_from_lua(L, -1, &smp, NULL);
    ck_assert_int_eq(smp.type, SMP_T_BOOL);
    ck_assert_int_eq(smp.data.sint, 1);
    lua_pushliteral(L, "xyz");
    luab_smp_from_lua(L, -1, &smp, NULL);
    ck_assert_int_eq(smp.type, SMP_T_STR);
    ck_assert_int_eq((int)smp.data.str.len, 3);
    ck_assert(memcmp(smp.data.str.ptr, "xyz", 3) == 0);
    lua_pushnil(L);
    luab_smp_from_lua(L, -1, &smp, NULL);
    ck_assert_int_eq(smp.type, SMP_T_BOOL);
    ck_assert_int_eq(smp.data.sint, 0);
    lua_newtable(L);
    luab_smp_from_lua(L, -1, &smp, NULL);
    ck_assert_int_eq(smp.type, SMP_T_BOOL);
    ck_assert_int_eq(smp.data.sint, 0);
}
END_TEST

Suite *suite_lua_api_fetches(void)
{
    Suite *s = suite_create("lua_api_fetches");
    TCase *tc = tcase_create("luab_smp_push");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fetches__smp_push_types);
    tcase_add_test(tc, test_fetches__smp_push_failure);
    suite_add_tcase(s, tc);
    tc = tcase_create("luab_smp_from_lua");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fetches__smp_from_lua);
    suite_add_tcase(s, tc);
    return s;
}
