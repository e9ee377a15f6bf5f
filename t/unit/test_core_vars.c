/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/vars.c: scope parsing and its messages, set, get
 * and unset of every value type with copies independent of the caller,
 * set-var conditions, pruning, copies of a set and the scope-to-set
 * resolution. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/errors.h"
#include "core/sample.h"
#include "core/vars.h"

Suite *suite_core_vars(void);

static struct vars set;
static struct vars txn_set;

/* The fake stream resolves every scope to txn_set. */
static struct vars *test_vars(struct stream *strm, enum vars_scope scope)
{
    return &txn_set;
}

/* Two empty sets. */
static void setup(void)
{
    vars_init(&set);
    vars_init(&txn_set);
}

/* Frees every set, the process one included. */
static void teardown(void)
{
    vars_prune(&set);
    vars_prune(&txn_set);
    vars_prune(vars_proc());
    vars_set_resolver(NULL);
}

/* Parses <s>, expecting success with <scope> and <name>. */
static void name_ok(const char *s, enum vars_scope scope, const char *name)
{
    enum vars_scope sc;
    struct ist n;
    char *err = NULL;

    ck_assert_int_eq(vars_parse_name(s, strlen(s), &sc, &n, &err), RC_OK);
    ck_assert_int_eq(sc, scope);
    ck_assert_uint_eq(n.len, strlen(name));
    ck_assert_mem_eq(n.ptr, name, n.len);
}

/* Parses <s>, expecting failure with exactly <msg>. */
static void name_err(const char *s, const char *msg)
{
    enum vars_scope sc;
    struct ist n;
    char *err = NULL;

    ck_assert_int_eq(vars_parse_name(s, strlen(s), &sc, &n, &err), RC_ERR);
    ck_assert_str_eq(err, msg);
    free(err);
}

/* A sample holding the integer <v>. */
static struct sample sint(long long v)
{
    struct sample s = {.type = SMP_T_SINT};

    s.data.sint = v;
    return s;
}

/* A sample holding the string <v>. */
static struct sample str(const char *v)
{
    struct sample s = {.type = SMP_T_STR};

    s.data.str = ist_from(v);
    return s;
}

START_TEST(test_vars__parse_name_scopes)
{
    name_ok("proc.a", VARS_SCOPE_PROC, "a");
    name_ok("sess.user_id", VARS_SCOPE_SESS, "user_id");
    name_ok("txn.x.y", VARS_SCOPE_TXN, "x.y");
    name_ok("req.R2", VARS_SCOPE_REQ, "R2");
    name_ok("res.z", VARS_SCOPE_RES, "z");
    name_err("", "Empty variable name cannot be accepted");
    name_err("foo.x", "invalid variable name 'foo.x'. A variable name must "
                      "be start by its scope. The scope can be 'proc', "
                      "'sess', 'txn', 'req' or 'res'");
    name_err("txn.", "invalid variable name 'txn.'. A variable name must be "
                     "start by its scope. The scope can be 'proc', 'sess', "
                     "'txn', 'req' or 'res'");
    name_err("txn.a-b", "invalid syntax at char '-b'");
}
END_TEST

START_TEST(test_vars__set_get_types)
{
    struct sample s = str("hello"), out;
    char buf[] = "mutable";
    struct sample v4 = {.type = SMP_T_IPV4}, v6 = {.type = SMP_T_IPV6};

    ck_assert_int_eq(vars_set(&set, IST("s"), &s), RC_OK);
    s = (struct sample){.type = SMP_T_STR, .data.str = {buf, 7}};
    ck_assert_int_eq(vars_set(&set, IST("m"), &s), RC_OK);
    buf[0] = 'X'; /* the variable keeps its own copy */
    ck_assert(vars_get(&set, IST("m"), &out));
    ck_assert_int_eq(out.type, SMP_T_STR);
    ck_assert_mem_eq(out.data.str.ptr, "mutable", 7);

    s = sint(-3);
    ck_assert_int_eq(vars_set(&set, IST("i"), &s), RC_OK);
    ck_assert(vars_get(&set, IST("i"), &out));
    ck_assert_int_eq(out.type, SMP_T_SINT);
    ck_assert_int_eq(out.data.sint, -3);

    inet_pton(AF_INET, "10.0.0.1", &v4.data.ipv4);
    inet_pton(AF_INET6, "::1", &v6.data.ipv6);
    ck_assert_int_eq(vars_set(&set, IST("a4"), &v4), RC_OK);
    ck_assert_int_eq(vars_set(&set, IST("a6"), &v6), RC_OK);
    ck_assert(vars_get(&set, IST("a4"), &out));
    ck_assert_int_eq(out.type, SMP_T_IPV4);
    ck_assert_int_eq(out.data.ipv4.s_addr, v4.data.ipv4.s_addr);
    ck_assert(vars_get(&set, IST("a6"), &out));
    ck_assert_mem_eq(&out.data.ipv6, &v6.data.ipv6, 16);

    s = (struct sample){.type = SMP_T_BIN, .data.str = {"a\0b", 3}};
    ck_assert_int_eq(vars_set(&set, IST("b"), &s), RC_OK);
    ck_assert(vars_get(&set, IST("b"), &out));
    ck_assert_uint_eq(out.data.str.len, 3);
    ck_assert_mem_eq(out.data.str.ptr, "a\0b", 3);

    ck_assert(!vars_get(&set, IST("nope"), &out));
    ck_assert_uint_eq(set.count, 6);
}
END_TEST

START_TEST(test_vars__overwrite_unset_prune)
{
    struct sample s = str("long string value"), out;

    ck_assert_int_eq(vars_set(&set, IST("x"), &s), RC_OK);
    s = sint(1);
    ck_assert_int_eq(vars_set(&set, IST("x"), &s), RC_OK);
    ck_assert(vars_get(&set, IST("x"), &out));
    ck_assert_int_eq(out.type, SMP_T_SINT);
    ck_assert_uint_eq(set.count, 1);
    s = str("again");
    ck_assert_int_eq(vars_set(&set, IST("x"), &s), RC_OK);
    ck_assert_int_eq(vars_unset(&set, IST("x")), RC_OK);
    ck_assert(!vars_get(&set, IST("x"), &out));
    ck_assert_int_eq(vars_unset(&set, IST("x")), RC_OK);
    ck_assert_uint_eq(set.count, 0);

    s = str("p");
    ck_assert_int_eq(vars_set(&set, IST("y"), &s), RC_OK);
    ck_assert_int_eq(vars_set(&set, IST("z"), &s), RC_OK);
    vars_prune(&set);
    ck_assert_uint_eq(set.count, 0);
    ck_assert_uint_eq(set.bytes, 0);
    ck_assert(!vars_get(&set, IST("y"), &out));

    s = (struct sample){.type = SMP_T_ANY};
    ck_assert_int_eq(vars_set(&set, IST("any"), &s), RC_ERR);
}
END_TEST

START_TEST(test_vars__conditions)
{
    struct sample s = sint(5), e = str(""), out;
    unsigned cond = 0;
    char *err = NULL;

    ck_assert_int_eq(vars_set_cond(&set, IST("c"), &s, VARS_IF_EXISTS),
                     RC_DECLINED);
    ck_assert_int_eq(vars_set_cond(&set, IST("c"), &s, VARS_IF_NOTEXISTS),
                     RC_OK);
    ck_assert_int_eq(vars_set_cond(&set, IST("c"), &s, VARS_IF_NOTEXISTS),
                     RC_DECLINED);
    ck_assert_int_eq(vars_set_cond(&set, IST("c"), &s, VARS_IF_SET), RC_OK);
    ck_assert_int_eq(vars_set_cond(&set, IST("c"), &s, VARS_IF_NOTSET),
                     RC_DECLINED);

    s = sint(9); /* 5 > 9 is false */
    ck_assert_int_eq(vars_set_cond(&set, IST("c"), &s, VARS_IF_GT),
                     RC_DECLINED);
    ck_assert_int_eq(vars_set_cond(&set, IST("c"), &s, VARS_IF_LT), RC_OK);
    ck_assert(vars_get(&set, IST("c"), &out));
    ck_assert_int_eq(out.data.sint, 9);
    s = sint(2);
    ck_assert_int_eq(vars_set_cond(&set, IST("c"), &s, VARS_IF_GT), RC_OK);

    ck_assert_int_eq(vars_set_cond(&set, IST("e"), &e, VARS_IF_NOTEMPTY),
                     RC_DECLINED);
    ck_assert_int_eq(vars_set_cond(&set, IST("e"), &e, VARS_IF_EMPTY), RC_OK);
    ck_assert_int_eq(vars_set_cond(&set, IST("e"), &s, VARS_IF_EMPTY),
                     RC_DECLINED);

    ck_assert_int_eq(vars_parse_cond("ifgt", 4, &cond, &err), RC_OK);
    ck_assert_int_eq(vars_parse_cond("ifexists", 8, &cond, &err), RC_OK);
    ck_assert_uint_eq(cond, VARS_IF_GT | VARS_IF_EXISTS);
    ck_assert_int_eq(vars_parse_cond("ifnope", 6, &cond, &err), RC_ERR);
    ck_assert_str_eq(err, "unknown condition \"ifnope\"");
    free(err);
}
END_TEST

START_TEST(test_vars__scope_resolution)
{
    struct sample s = sint(1);
    int fake;

    ck_assert_ptr_eq(vars_of(NULL, VARS_SCOPE_PROC), vars_proc());
    ck_assert_ptr_null(vars_of(NULL, VARS_SCOPE_TXN));
    vars_set_resolver(test_vars);
    ck_assert_ptr_eq(vars_of((struct stream *)&fake, VARS_SCOPE_TXN), &txn_set);
    ck_assert_ptr_eq(vars_of((struct stream *)&fake, VARS_SCOPE_PROC),
                     vars_proc());
    ck_assert_int_eq(vars_set(vars_proc(), IST("g"), &s), RC_OK);
    ck_assert_uint_eq(vars_proc()->count, 1);
}
END_TEST

/* vars_copy: <dst> ends with <src>'s variables only, as copies that
 * outlive <src>. */
START_TEST(test_vars__copy_replaces)
{
    struct sample str = {.type = SMP_T_STR, .data.str = IST("primary")};
    struct sample num = {.type = SMP_T_SINT, .data.sint = 100};
    struct sample out;

    ck_assert_int_eq(vars_set(&txn_set, IST("stale"), &num), RC_OK);
    ck_assert_int_eq(vars_set(&set, IST("state"), &str), RC_OK);
    ck_assert_int_eq(vars_set(&set, IST("prio"), &num), RC_OK);
    ck_assert_int_eq(vars_copy(&txn_set, &set), RC_OK);
    vars_prune(&set);
    ck_assert_uint_eq(txn_set.count, 2);
    ck_assert_int_eq(vars_get(&txn_set, IST("stale"), &out), 0);
    ck_assert_int_eq(vars_get(&txn_set, IST("state"), &out), 1);
    ck_assert_int_eq(out.type, SMP_T_STR);
    ck_assert_mem_eq(out.data.str.ptr, "primary", 7);
    ck_assert_int_eq(vars_get(&txn_set, IST("prio"), &out), 1);
    ck_assert_int_eq(out.data.sint, 100);
}
END_TEST

Suite *suite_core_vars(void)
{
    Suite *s = suite_create("core_vars");
    TCase *tc;

    tc = tcase_create("vars_parse_name");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vars__parse_name_scopes);
    suite_add_tcase(s, tc);

    tc = tcase_create("vars_set");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vars__set_get_types);
    tcase_add_test(tc, test_vars__overwrite_unset_prune);
    tcase_add_test(tc, test_vars__conditions);
    suite_add_tcase(s, tc);

    tc = tcase_create("vars_copy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vars__copy_replaces);
    suite_add_tcase(s, tc);

    tc = tcase_create("vars_of");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_vars__scope_resolution);
    suite_add_tcase(s, tc);
    return s;
}
