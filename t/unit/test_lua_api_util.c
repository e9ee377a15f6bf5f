/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for lua_api/luab_util.c: network parsing (IPv4, IPv6,
 * prefix lengths, dotted masks, rejects), overlap of networks across
 * families, and the three HTTP date formats. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <string.h>

#include <check.h>

#include "core/errors.h"
#include "lua_api/luab.h"

Suite *suite_lua_api_util(void);

/* Parses <s>, asserting success; fills the outputs. */
static void parse_ok(const char *s, int *fam, unsigned char *addr, int *bits)
{
    ck_assert_int_eq(luab_util_parse_net(s, fam, addr, bits), RC_OK);
}

START_TEST(test_util__parse_net_forms)
{
    unsigned char a[16];
    int fam, bits;

    parse_ok("10.1.2.3", &fam, a, &bits);
    ck_assert_int_eq(fam, AF_INET);
    ck_assert_int_eq(bits, 32);
    ck_assert_int_eq(a[0], 10);
    ck_assert_int_eq(a[3], 3);
    parse_ok("192.168.0.0/255.255.0.0", &fam, a, &bits);
    ck_assert_int_eq(bits, 16);
    parse_ok("2001:db8::/32", &fam, a, &bits);
    ck_assert_int_eq(fam, AF_INET6);
    ck_assert_int_eq(bits, 32);
    ck_assert_int_eq(a[1], 0x01);
}
END_TEST

START_TEST(test_util__parse_net_rejects)
{
    unsigned char a[16];
    int fam, bits;

    ck_assert_int_eq(luab_util_parse_net("", &fam, a, &bits), RC_ERR);
    ck_assert_int_eq(luab_util_parse_net("host", &fam, a, &bits), RC_ERR);
    ck_assert_int_eq(luab_util_parse_net("1.2.3.4/33", &fam, a, &bits), RC_ERR);
    ck_assert_int_eq(luab_util_parse_net("1.2.3.4/255.0.255.0", &fam, a, &bits),
                     RC_ERR);
    ck_assert_int_eq(luab_util_parse_net("::1/129", &fam, a, &bits), RC_ERR);
    ck_assert_int_eq(luab_util_parse_net("1.2.3.4/", &fam, a, &bits), RC_ERR);
}
END_TEST

/* luab_util_net_match on two textual networks. */
static int match(const char *x, const char *y)
{
    unsigned char a[16], b[16];
    int fa, fb, ba, bb;

    parse_ok(x, &fa, a, &ba);
    parse_ok(y, &fb, b, &bb);
    return luab_util_net_match(fa, a, ba, fb, b, bb);
}

START_TEST(test_util__net_match)
{
    ck_assert_int_eq(match("10.0.0.0/8", "10.200.1.1"), 1);
    ck_assert_int_eq(match("10.200.1.1", "10.0.0.0/8"), 1);
    ck_assert_int_eq(match("10.0.0.0/8", "11.0.0.1"), 0);
    ck_assert_int_eq(match("10.0.0.0/9", "10.128.0.1"), 0);
    ck_assert_int_eq(match("10.0.0.0/9", "10.127.0.1"), 1);
    ck_assert_int_eq(match("2001:db8::/32", "2001:db8:1::1"), 1);
    ck_assert_int_eq(match("2001:db8::/32", "2001:db9::1"), 0);
    ck_assert_int_eq(match("::ffff:10.0.0.0/104", "10.1.1.1"), 1);
    ck_assert_int_eq(match("10.1.1.1", "2001:db8::1"), 0);
}
END_TEST

START_TEST(test_util__http_date)
{
    long long t = 0;

    ck_assert_int_eq(
        luab_util_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 29, 0, &t), RC_OK);
    ck_assert_int_eq(t, 784111777);
    t = 0;
    ck_assert_int_eq(
        luab_util_http_date("Sunday, 06-Nov-94 08:49:37 GMT", 30, 2, &t),
        RC_OK);
    ck_assert_int_eq(t, 784111777);
    t = 0;
    ck_assert_int_eq(luab_util_http_date("Sun Nov  6 08:49:37 1994", 24, 3, &t),
                     RC_OK);
    ck_assert_int_eq(t, 784111777);
    /* the wrong format for the kind, trailing bytes, garbage */
    ck_assert_int_eq(luab_util_http_date("Sun Nov  6 08:49:37 1994", 24, 1, &t),
                     RC_ERR);
    ck_assert_int_eq(
        luab_util_http_date("Sun, 06 Nov 1994 08:49:37 GMTx", 30, 0, &t),
        RC_ERR);
    ck_assert_int_eq(luab_util_http_date("yesterday", 9, 0, &t), RC_ERR);
    ck_assert_int_eq(luab_util_http_date("", 0, 0, &t), RC_ERR);
}
END_TEST

Suite *suite_lua_api_util(void)
{
    Suite *s = suite_create("lua_api_util");
    TCase *tc = tcase_create("luab_util_parse_net");

    tcase_add_test(tc, test_util__parse_net_forms);
    tcase_add_test(tc, test_util__parse_net_rejects);
    suite_add_tcase(s, tc);
    tc = tcase_create("luab_util_net_match");
    tcase_add_test(tc, test_util__net_match);
    suite_add_tcase(s, tc);
    tc = tcase_create("luab_util_http_date");
    tcase_add_test(tc, test_util__http_date);
    suite_add_tcase(s, tc);
    return s;
}
