/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for lua_api/luab_httpclient.c: splitting http:// URLs (host,
 * port, authority for the Host header, origin-form path, IPv6, userinfo,
 * fragments, rejects) and choosing the address to connect to (an IP from
 * the URL, dst with or without its own port, unix sockets, host names
 * refused without dst). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>

#include "core/errors.h"
#include "core/ist.h"
#include "lua_api/luab.h"

Suite *suite_lua_api_httpclient(void);

/* Asserts that <s> equals the C string <want>. */
static void ist_is(struct ist s, const char *want)
{
    ck_assert_uint_eq(s.len, strlen(want));
    ck_assert(memcmp(s.ptr, want, s.len) == 0);
}

/* Parses <url>, asserting success. */
static void url_ok(const char *url, struct luab_hc_url *u)
{
    ck_assert_int_eq(luab_httpclient_url(url, u), RC_OK);
}

START_TEST(test_httpclient__url_parts)
{
    struct luab_hc_url u;

    url_ok("http://127.0.0.1:8080/a/b?x=1#frag", &u);
    ist_is(u.host, "127.0.0.1");
    ist_is(u.authority, "127.0.0.1:8080");
    ist_is(u.path, "/a/b?x=1");
    ck_assert_int_eq(u.slash, 0);
    ck_assert_int_eq(u.port, 8080);
    url_ok("HTTP://10.0.0.1", &u);
    ist_is(u.path, "");
    ck_assert_int_eq(u.slash, 1);
    ck_assert_int_eq(u.port, 80);
    url_ok("http://10.0.0.1?q", &u);
    ist_is(u.path, "?q");
    ck_assert_int_eq(u.slash, 1);
}
END_TEST

START_TEST(test_httpclient__url_ipv6_userinfo)
{
    struct luab_hc_url u;

    url_ok("http://[::1]:81/", &u);
    ist_is(u.host, "::1");
    ist_is(u.authority, "[::1]:81");
    ck_assert_int_eq(u.port, 81);
    url_ok("http://[::1]/", &u);
    ist_is(u.host, "::1");
    ck_assert_int_eq(u.port, 80);
    url_ok("http://user:pw@1.2.3.4:90/p", &u);
    ist_is(u.authority, "1.2.3.4:90");
    ist_is(u.host, "1.2.3.4");
}
END_TEST

START_TEST(test_httpclient__url_rejects)
{
    struct luab_hc_url u;

    ck_assert_int_eq(luab_httpclient_url("https://1.2.3.4/", &u), RC_ERR);
    ck_assert_int_eq(luab_httpclient_url("ftp://1.2.3.4/", &u), RC_ERR);
    ck_assert_int_eq(luab_httpclient_url("1.2.3.4/", &u), RC_ERR);
    ck_assert_int_eq(luab_httpclient_url("http:///x", &u), RC_ERR);
    ck_assert_int_eq(luab_httpclient_url("http://1.2.3.4:/", &u), RC_ERR);
    ck_assert_int_eq(luab_httpclient_url("http://1.2.3.4:70000/", &u), RC_ERR);
    ck_assert_int_eq(luab_httpclient_url("http://:80/", &u), RC_ERR);
}
END_TEST

/* The IPv4 port of <ss>. */
static int port_of(const struct sockaddr_storage *ss)
{
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

START_TEST(test_httpclient__target_choice)
{
    struct sockaddr_storage ss;
    struct luab_hc_url u;
    int len;

    url_ok("http://127.0.0.2:8080/", &u);
    ck_assert_int_eq(luab_httpclient_target(NULL, &u, &ss, &len), RC_OK);
    ck_assert_int_eq(ss.ss_family, AF_INET);
    ck_assert_int_eq(port_of(&ss), 8080);
    ck_assert_int_eq(luab_httpclient_target("127.0.0.3:9", &u, &ss, &len),
                     RC_OK);
    ck_assert_int_eq(port_of(&ss), 9);
    ck_assert_int_eq(luab_httpclient_target("127.0.0.3", &u, &ss, &len), RC_OK);
    ck_assert_int_eq(port_of(&ss), 8080);
    ck_assert_int_eq(luab_httpclient_target("unix@/tmp/s", &u, &ss, &len),
                     RC_OK);
    ck_assert_int_eq(ss.ss_family, AF_UNIX);
    ck_assert_str_eq(((struct sockaddr_un *)&ss)->sun_path, "/tmp/s");
    url_ok("http://[::1]:81/", &u);
    ck_assert_int_eq(luab_httpclient_target(NULL, &u, &ss, &len), RC_OK);
    ck_assert_int_eq(ss.ss_family, AF_INET6);
}
END_TEST

START_TEST(test_httpclient__target_no_dns)
{
    struct sockaddr_storage ss;
    struct luab_hc_url u;
    int len;

    url_ok("http://localhost:8080/", &u);
    ck_assert_int_eq(luab_httpclient_target(NULL, &u, &ss, &len), RC_ERR);
    ck_assert_int_eq(luab_httpclient_target("127.0.0.1", &u, &ss, &len), RC_OK);
    ck_assert_int_eq(port_of(&ss), 8080);
    url_ok("http://1.2.3.4.5/", &u);
    ck_assert_int_eq(luab_httpclient_target(NULL, &u, &ss, &len), RC_ERR);
}
END_TEST

Suite *suite_lua_api_httpclient(void)
{
    Suite *s = suite_create("lua_api_httpclient");
    TCase *tc = tcase_create("luab_httpclient_url");

    tcase_add_test(tc, test_httpclient__url_parts);
    tcase_add_test(tc, test_httpclient__url_ipv6_userinfo);
    tcase_add_test(tc, test_httpclient__url_rejects);
    suite_add_tcase(s, tc);
    tc = tcase_create("luab_httpclient_target");
    tcase_add_test(tc, test_httpclient__target_choice);
    tcase_add_test(tc, test_httpclient__target_no_dns);
    suite_add_tcase(s, tc);
    return s;
}
