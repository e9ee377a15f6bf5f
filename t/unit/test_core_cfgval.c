/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/cfgval.c: durations in every unit with rounding and
 * overflow, sizes, bounded integers, and every address form with the
 * resulting family, address, port and length, plus their errors. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>

#include "core/cfgval.h"
#include "core/errors.h"

Suite *suite_core_cfgval(void);

/* Checks that <s> parses as a duration of <expect> ms. */
static void expect_ms(int at, const char *s, unsigned int expect)
{
    unsigned int ms = 12345;
    char *err = NULL;

    ck_assert_msg(cfgval_duration_ms(s, &ms, &err) == RC_OK,
                  "line %d: <%s> failed: %s", at, s, err ? err : "?");
    ck_assert_msg(ms == expect, "line %d: <%s> gave %u, expected %u", at, s, ms,
                  expect);
}

/* Checks that <rc> is RC_ERR with a message containing <what>, then frees
 * the message. */
static void expect_err(int at, int rc, char *err, const char *s,
                       const char *what)
{
    ck_assert_msg(rc == RC_ERR, "line %d: <%s> should fail", at, s);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, what) != NULL,
                  "line %d: <%s> error <%s> lacks <%s>", at, s, err, what);
    free(err);
}

/* Checks that duration <s> fails with <what> and leaves the output alone. */
static void expect_ms_err(int at, const char *s, const char *what)
{
    unsigned int ms = 777;
    char *err = NULL;
    int rc;

    rc = cfgval_duration_ms(s, &ms, &err);
    expect_err(at, rc, err, s, what);
    ck_assert_uint_eq(ms, 777);
}

#define MS(s, v)        expect_ms(__LINE__, (s), (v))
#define MS_ERR(s, what) expect_ms_err(__LINE__, (s), (what))

START_TEST(test_cfgval__duration_units)
{
    MS("0", 0);
    MS("250", 250);
    MS("100ms", 100);
    MS("5s", 5000);
    MS("1m", 60000);
    MS("2h", 7200000);
    MS("1d", 86400000);
    MS("0s", 0);
    MS("24d", 2073600000);
}
END_TEST

START_TEST(test_cfgval__duration_microseconds_round_up)
{
    MS("10us", 1);
    MS("1000us", 1);
    MS("1001us", 2);
    MS("1500us", 2);
    MS("0us", 0);
    MS("2000000us", 2000);
}
END_TEST

START_TEST(test_cfgval__duration_overflow)
{
    MS("2147483647", INT_MAX);
    MS("2147483647ms", INT_MAX);
    MS_ERR("2147483648", "timer overflow in '2147483648'");
    MS_ERR("25d", "timer overflow");
    MS_ERR("596524h", "timer overflow");
    MS_ERR("99999999999999999999999s", "timer overflow");
    MS_ERR("18446744073709551615d", "timer overflow");
}
END_TEST

START_TEST(test_cfgval__duration_bad_input)
{
    MS_ERR("", "empty duration");
    MS_ERR(NULL, "empty duration");
    MS_ERR("ms", "invalid duration 'ms'");
    MS_ERR("-1", "invalid duration '-1'");
    MS_ERR(" 5s", "invalid duration");
    MS_ERR("5x", "invalid unit 'x' in duration '5x'");
    MS_ERR("5S", "invalid unit 'S'");
    MS_ERR("5 s", "invalid unit ' s'");
    MS_ERR("1.5s", "invalid unit '.5s'");
    MS_ERR("5ms5", "invalid unit 'ms5'");
    MS_ERR("5sec", "invalid unit 'sec'");
}
END_TEST

/* Checks that <s> parses as <expect> bytes. */
static void expect_size(int at, const char *s, unsigned long long expect)
{
    unsigned long long v = 12345;
    char *err = NULL;

    ck_assert_msg(cfgval_size(s, &v, &err) == RC_OK, "line %d: <%s> failed: %s",
                  at, s, err ? err : "?");
    ck_assert_msg(v == expect, "line %d: <%s> gave %llu, expected %llu", at, s,
                  v, expect);
}

/* Checks that size <s> fails with <what> and leaves the output alone. */
static void expect_size_err(int at, const char *s, const char *what)
{
    unsigned long long v = 777;
    char *err = NULL;
    int rc;

    rc = cfgval_size(s, &v, &err);
    expect_err(at, rc, err, s, what);
    ck_assert_uint_eq(v, 777);
}

START_TEST(test_cfgval__size_units)
{
    expect_size(__LINE__, "0", 0);
    expect_size(__LINE__, "123", 123);
    expect_size(__LINE__, "16k", 16384);
    expect_size(__LINE__, "16K", 16384);
    expect_size(__LINE__, "1m", 1048576);
    expect_size(__LINE__, "3M", 3145728);
    expect_size(__LINE__, "2g", 2147483648ULL);
    expect_size(__LINE__, "2G", 2147483648ULL);
    expect_size(__LINE__, "18446744073709551615", 18446744073709551615ULL);
    expect_size(__LINE__, "17179869183g", 17179869183ULL << 30);
}
END_TEST

START_TEST(test_cfgval__size_errors)
{
    expect_size_err(__LINE__, "", "empty size");
    expect_size_err(__LINE__, "k", "invalid size 'k'");
    expect_size_err(__LINE__, "-1", "invalid size");
    expect_size_err(__LINE__, "1kb", "invalid unit 'kb' in size '1kb'");
    expect_size_err(__LINE__, "1t", "invalid unit 't'");
    expect_size_err(__LINE__, "1.5k", "invalid unit");
    expect_size_err(__LINE__, "17179869184g",
                    "size '17179869184g' is too "
                    "large");
    expect_size_err(__LINE__, "18446744073709551616", "too large");
}
END_TEST

/* Checks that <s> parses in [<min>, <max>] as <expect>. */
static void expect_int(int at, const char *s, long long min, long long max,
                       long long expect)
{
    long long v = 12345;
    char *err = NULL;

    ck_assert_msg(cfgval_int(s, min, max, &v, &err) == RC_OK,
                  "line %d: <%s> failed: %s", at, s, err ? err : "?");
    ck_assert_msg(v == expect, "line %d: <%s> gave %lld", at, s, v);
}

/* Checks that integer <s> fails in [<min>, <max>] with <what>. */
static void expect_int_err(int at, const char *s, long long min, long long max,
                           const char *what)
{
    long long v = 777;
    char *err = NULL;
    int rc;

    rc = cfgval_int(s, min, max, &v, &err);
    expect_err(at, rc, err, s, what);
    ck_assert_int_eq(v, 777);
}

START_TEST(test_cfgval__int_in_range)
{
    expect_int(__LINE__, "42", 0, 100, 42);
    expect_int(__LINE__, "0", 0, 100, 0);
    expect_int(__LINE__, "100", 0, 100, 100);
    expect_int(__LINE__, "-5", -10, 10, -5);
    expect_int(__LINE__, "+7", -10, 10, 7);
    expect_int(__LINE__, "007", 0, 10, 7);
    expect_int(__LINE__, "-9223372036854775808", LLONG_MIN, LLONG_MAX,
               LLONG_MIN);
}
END_TEST

START_TEST(test_cfgval__int_errors)
{
    expect_int_err(__LINE__, "101", 0, 100,
                   "value '101' is out of range "
                   "[0, 100]");
    expect_int_err(__LINE__, "-1", 0, 100, "out of range");
    expect_int_err(__LINE__, "9223372036854775808", 0, LLONG_MAX,
                   "out of range");
    expect_int_err(__LINE__, "", 0, 10, "empty integer");
    expect_int_err(__LINE__, "abc", 0, 10, "'abc' is not a valid integer");
    expect_int_err(__LINE__, "4x", 0, 10, "not a valid integer");
    expect_int_err(__LINE__, " 4", 0, 10, "not a valid integer");
    expect_int_err(__LINE__, "4 ", 0, 10, "not a valid integer");
    expect_int_err(__LINE__, "0x10", 0, 100, "not a valid integer");
    expect_int_err(__LINE__, "-", 0, 100, "not a valid integer");
}
END_TEST

/* Parses <s> with <flags>, expecting success. */
static struct cfg_addr parse_addr(int at, const char *s, unsigned flags)
{
    struct cfg_addr a;
    char *err = NULL;

    ck_assert_msg(cfgval_addr(s, flags, &a, &err) == RC_OK,
                  "line %d: <%s> failed: %s", at, s, err ? err : "?");
    return a;
}

/* Checks an IPv4/IPv6 result: family, textual address, port (-1: none). */
static void expect_inet(int at, const char *s, unsigned flags, int family,
                        const char *ip, int port)
{
    struct cfg_addr a = parse_addr(at, s, flags);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
    char buf[INET6_ADDRSTRLEN];

    ck_assert_msg(a.family == family, "line %d: <%s> family %d", at, s,
                  a.family);
    ck_assert_int_eq(a.ss.ss_family, family);
    ck_assert_int_eq(a.fd, -1);
    if (family == AF_INET) {
        inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
        ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in));
    } else {
        inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
        ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in6));
    }
    ck_assert_msg(strcmp(buf, ip) == 0, "line %d: <%s> gave ip %s", at, s, buf);
    ck_assert_int_eq(a.port_set, port >= 0);
    ck_assert_int_eq(ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port),
                     port >= 0 ? port : 0);
}

#define NEED CFGVAL_ADDR_NEED_PORT
#define OPT  CFGVAL_ADDR_NO_PORT_OK

START_TEST(test_cfgval__addr_ipv4)
{
    expect_inet(__LINE__, "1.2.3.4:80", NEED, AF_INET, "1.2.3.4", 80);
    expect_inet(__LINE__, "10.0.0.1:65535", NEED, AF_INET, "10.0.0.1", 65535);
    expect_inet(__LINE__, "*:80", NEED, AF_INET, "0.0.0.0", 80);
    expect_inet(__LINE__, ":8080", NEED, AF_INET, "0.0.0.0", 8080);
    expect_inet(__LINE__, "ipv4@:80", NEED, AF_INET, "0.0.0.0", 80);
    expect_inet(__LINE__, "tcp4@127.0.0.1:1", NEED, AF_INET, "127.0.0.1", 1);
    expect_inet(__LINE__, "tcp@1.2.3.4:9", NEED, AF_INET, "1.2.3.4", 9);
}
END_TEST

START_TEST(test_cfgval__addr_ipv6)
{
    expect_inet(__LINE__, "[::1]:443", NEED, AF_INET6, "::1", 443);
    expect_inet(__LINE__, "::1:80", NEED, AF_INET6, "::1", 80);
    expect_inet(__LINE__, "2001:db8::2:8080", NEED, AF_INET6, "2001:db8::2",
                8080);
    expect_inet(__LINE__, "[2001:db8::2]:80", NEED, AF_INET6, "2001:db8::2",
                80);
    expect_inet(__LINE__, "ipv6@:80", NEED, AF_INET6, "::", 80);
    expect_inet(__LINE__, "ipv6@*:80", NEED, AF_INET6, "::", 80);
    expect_inet(__LINE__, "ipv6@[::1]:81", NEED, AF_INET6, "::1", 81);
    expect_inet(__LINE__, "tcp6@::1:82", NEED, AF_INET6, "::1", 82);
}
END_TEST

START_TEST(test_cfgval__addr_optional_port)
{
    expect_inet(__LINE__, "1.2.3.4", OPT, AF_INET, "1.2.3.4", -1);
    expect_inet(__LINE__, "1.2.3.4", 0, AF_INET, "1.2.3.4", -1);
    expect_inet(__LINE__, "1.2.3.4:", OPT, AF_INET, "1.2.3.4", -1);
    expect_inet(__LINE__, "1.2.3.4:0", OPT, AF_INET, "1.2.3.4", 0);
    expect_inet(__LINE__, "[2001:db8::1]", OPT, AF_INET6, "2001:db8::1", -1);
    expect_inet(__LINE__, "::1:", OPT, AF_INET6, "::1", -1);
    expect_inet(__LINE__, "*", OPT, AF_INET, "0.0.0.0", -1);
}
END_TEST

START_TEST(test_cfgval__addr_unix)
{
    struct cfg_addr a = parse_addr(__LINE__, "unix@/run/x.sock", NEED);
    const struct sockaddr_un *sau = (const struct sockaddr_un *)&a.ss;

    ck_assert_int_eq(a.family, AF_UNIX);
    ck_assert_int_eq(sau->sun_family, AF_UNIX);
    ck_assert_str_eq(sau->sun_path, "/run/x.sock");
    ck_assert_uint_eq(a.len, offsetof(struct sockaddr_un, sun_path) +
                                 strlen("/run/x.sock") + 1);
    ck_assert_int_eq(a.port_set, 0);
    ck_assert_int_eq(a.fd, -1);

    a = parse_addr(__LINE__, "/var/lib/h.sock", NEED);
    sau = (const struct sockaddr_un *)&a.ss;
    ck_assert_int_eq(a.family, AF_UNIX);
    ck_assert_str_eq(sau->sun_path, "/var/lib/h.sock");

    a = parse_addr(__LINE__, "unix@rel/a:b", 0);
    sau = (const struct sockaddr_un *)&a.ss;
    ck_assert_str_eq(sau->sun_path, "rel/a:b");
}
END_TEST

START_TEST(test_cfgval__addr_fd)
{
    struct cfg_addr a = parse_addr(__LINE__, "fd@3", NEED);

    ck_assert_int_eq(a.family, AF_UNSPEC);
    ck_assert_int_eq(a.fd, 3);
    ck_assert_int_eq(a.len, 0);
    a = parse_addr(__LINE__, "fd@0", 0);
    ck_assert_int_eq(a.fd, 0);
}
END_TEST

START_TEST(test_cfgval__addr_resolve)
{
    struct cfg_addr a =
        parse_addr(__LINE__, "ipv4@localhost:80", NEED | CFGVAL_ADDR_RESOLVE);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;

    ck_assert_int_eq(a.family, AF_INET);
    ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr) >> 24, 127);
    ck_assert_uint_eq(ntohs(sin->sin_port), 80);
}
END_TEST

/* Checks that address <s> fails with <flags> and <what>, leaving <out>
 * empty. */
static void expect_addr_err(int at, const char *s, unsigned flags,
                            const char *what)
{
    struct cfg_addr a;
    char *err = NULL;
    int rc;

    rc = cfgval_addr(s, flags, &a, &err);
    expect_err(at, rc, err, s, what);
    ck_assert_int_eq(a.family, AF_UNSPEC);
    ck_assert_int_eq(a.fd, -1);
    ck_assert_int_eq(a.port_set, 0);
}

#define ADDR_ERR(s, f, what) expect_addr_err(__LINE__, (s), (f), (what))

START_TEST(test_cfgval__addr_port_errors)
{
    ADDR_ERR("1.2.3.4", NEED, "missing port specification in '1.2.3.4'");
    ADDR_ERR("1.2.3.4:", NEED, "missing port specification");
    ADDR_ERR("[::1]", NEED, "missing port specification");
    ADDR_ERR("1.2.3.4:0", NEED, "invalid port '0' in '1.2.3.4:0'");
    ADDR_ERR("1.2.3.4:65536", NEED, "invalid port '65536'");
    ADDR_ERR("1.2.3.4:65536", OPT, "invalid port '65536'");
    ADDR_ERR("1.2.3.4:99999999999999999999", OPT, "invalid port");
    ADDR_ERR("1.2.3.4:8a", NEED, "invalid port '8a'");
    ADDR_ERR("1.2.3.4:http", OPT, "invalid port 'http'");
    ADDR_ERR("1.2.3.4:80-90", NEED, "port ranges are not supported");
    ADDR_ERR("1.2.3.4:+1", NEED, "port offsets are not supported");
    ADDR_ERR("1.2.3.4:-1", OPT, "port offsets are not supported");
}
END_TEST

START_TEST(test_cfgval__addr_host_errors)
{
    ADDR_ERR("", NEED, "missing address");
    ADDR_ERR("256.1.1.1:80", NEED, "invalid address '256.1.1.1'");
    ADDR_ERR("1.2.3:80", NEED, "invalid address '1.2.3'");
    ADDR_ERR("[::g]:80", NEED, "invalid IPv6 address '::g'");
    ADDR_ERR("[::1:80", NEED, "invalid address");
    ADDR_ERR("[::1]80", OPT, "invalid address '[::1]80'");
    ADDR_ERR("1:2:3:4:5:6:7:8:9:80", NEED, "invalid address");
    /* the last colon separates the port, so "::1" is host ":" port 1 */
    ADDR_ERR("::1", OPT, "invalid address ':' in '::1'");
    ADDR_ERR("[1.2.3.4]:80", NEED, "invalid IPv6 address");
    ADDR_ERR("ipv4@::1:80", NEED, "invalid address '::1'");
    ADDR_ERR("ipv4@[::1]:80", NEED, "invalid address");
    ADDR_ERR("ipv6@1.2.3.4:80", NEED, "invalid address '1.2.3.4'");
    ADDR_ERR("localhost:80", NEED,
             "host names need resolving, not "
             "supported here");
    ADDR_ERR("www.example.com", OPT, "host names need resolving");
}
END_TEST

START_TEST(test_cfgval__addr_prefix_errors)
{
    char longpath[200];

    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    ADDR_ERR("fd@x", NEED, "invalid file descriptor 'x' in 'fd@x'");
    ADDR_ERR("fd@", NEED, "invalid file descriptor");
    ADDR_ERR("fd@-1", NEED, "invalid file descriptor");
    ADDR_ERR("fd@3x", NEED, "invalid file descriptor");
    ADDR_ERR("fd@99999999999", NEED, "invalid file descriptor");
    ADDR_ERR("unix@", NEED, "missing unix socket path");
    ADDR_ERR(longpath, NEED, "is too long");
    ADDR_ERR("abns@foo", NEED, "address family 'abns@' is not supported");
    ADDR_ERR("udp@1.2.3.4:53", NEED,
             "address family 'udp@' is not "
             "supported");
    ADDR_ERR("sockpair@3", NEED, "not supported");
}
END_TEST

/* Parses <s> and checks that cfgval_addr_str() writes <expect>. */
static void expect_str(int at, const char *s, unsigned flags,
                       const char *expect)
{
    struct cfg_addr a = parse_addr(at, s, flags);
    char buf[128];

    ck_assert_msg(strcmp(cfgval_addr_str(&a, buf, sizeof(buf)), expect) == 0,
                  "line %d: <%s> printed as <%s>", at, s, buf);
}

START_TEST(test_cfgval__addr_str_forms)
{
    struct cfg_addr a = parse_addr(__LINE__, "192.168.10.20:8080", NEED);
    char small[6];

    expect_str(__LINE__, "1.2.3.4:80", NEED, "1.2.3.4:80");
    expect_str(__LINE__, ":80", NEED, "0.0.0.0:80");
    expect_str(__LINE__, "::1:80", NEED, "[::1]:80");
    expect_str(__LINE__, "ipv6@:443", NEED, "[::]:443");
    expect_str(__LINE__, "1.2.3.4", OPT, "1.2.3.4");
    expect_str(__LINE__, "[::1]", OPT, "[::1]");
    expect_str(__LINE__, "/tmp/s", 0, "unix@/tmp/s");
    expect_str(__LINE__, "fd@7", 0, "fd@7");
    ck_assert_str_eq(cfgval_addr_str(&a, small, sizeof(small)), "192.1");
}
END_TEST

Suite *suite_core_cfgval(void)
{
    Suite *s = suite_create("core_cfgval");
    TCase *td = tcase_create("cfgval_duration_ms");
    TCase *ts = tcase_create("cfgval_size");
    TCase *ti = tcase_create("cfgval_int");
    TCase *ta = tcase_create("cfgval_addr");
    TCase *tp = tcase_create("cfgval_addr_str");

    tcase_add_test(td, test_cfgval__duration_units);
    tcase_add_test(td, test_cfgval__duration_microseconds_round_up);
    tcase_add_test(td, test_cfgval__duration_overflow);
    tcase_add_test(td, test_cfgval__duration_bad_input);
    suite_add_tcase(s, td);
    tcase_add_test(ts, test_cfgval__size_units);
    tcase_add_test(ts, test_cfgval__size_errors);
    suite_add_tcase(s, ts);
    tcase_add_test(ti, test_cfgval__int_in_range);
    tcase_add_test(ti, test_cfgval__int_errors);
    suite_add_tcase(s, ti);
    tcase_add_test(ta, test_cfgval__addr_ipv4);
    tcase_add_test(ta, test_cfgval__addr_ipv6);
    tcase_add_test(ta, test_cfgval__addr_optional_port);
    tcase_add_test(ta, test_cfgval__addr_unix);
    tcase_add_test(ta, test_cfgval__addr_fd);
    tcase_add_test(ta, test_cfgval__addr_resolve);
    tcase_add_test(ta, test_cfgval__addr_port_errors);
    tcase_add_test(ta, test_cfgval__addr_host_errors);
    tcase_add_test(ta, test_cfgval__addr_prefix_errors);
    suite_add_tcase(s, ta);
    tcase_add_test(tp, test_cfgval__addr_str_forms);
    suite_add_tcase(s, tp);
    return s;
}
